package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/berth-dev/berth/agent"
	"github.com/berth-dev/berth/agent/remote"
)

// agentCmd runs `berth agent`: this host joins a cluster of a Berth
// elsewhere as a container instance and runs the tasks placed on it.
func agentCmd(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", os.Getenv("AWS_ENDPOINT_URL"), "Berth's URL, e.g. http://host:4566 (env AWS_ENDPOINT_URL)")
	cluster := fs.String("cluster", "default", "cluster to join")
	region := fs.String("region", "", "Region of the cluster (default: the AWS configuration's, else us-east-1)")
	dockerHost := fs.String("docker-host", "", "Docker engine address (default: DOCKER_HOST, then the local socket)")
	stateDir := fs.String("state-dir", "", "directory keeping the instance's identity across restarts (default ~/.berth/agent)")
	pull := fs.String("pull-behavior", os.Getenv("BERTH_AGENT_PULL_BEHAVIOR"), "default, always, once or prefer-cached (env BERTH_AGENT_PULL_BEHAVIOR)")
	poll := fs.Duration("poll", 0, "how often the instance's tasks are listed (default 1s)")
	endpointsPort := fs.Int("endpoints-port", 0, "port of the task credentials and metadata endpoints (default 51679, another when taken)")
	noEndpoints := fs.Bool("no-task-endpoints", false, "give tasks no credentials, metadata or AWS API endpoints")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("agent takes no arguments, got %q", fs.Args())
	}
	if *endpoint == "" {
		return fmt.Errorf("agent: --endpoint is required")
	}
	if *stateDir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return fmt.Errorf("agent: --state-dir is required: %w", err)
		}
		*stateDir = filepath.Join(home, ".berth", "agent")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(*logLevel))); err != nil {
		return fmt.Errorf("agent: --log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log) // the runtime logs through the default logger

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	var opts []func(*awsconfig.LoadOptions) error
	if *region != "" {
		opts = append(opts, awsconfig.WithRegion(*region))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return fmt.Errorf("agent: AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = "us-east-1"
	}
	return remote.Run(ctx, remote.Config{
		Endpoint:      *endpoint,
		Region:        awsCfg.Region,
		Cluster:       *cluster,
		Credentials:   awsCfg.Credentials,
		StateDir:      *stateDir,
		DockerHost:    *dockerHost,
		PullBehavior:  agent.PullBehavior(*pull),
		Poll:          *poll,
		EndpointsPort: *endpointsPort,
		NoEndpoints:   *noEndpoints,
		Version:       version,
		Log:           log,
	})
}
