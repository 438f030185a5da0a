// Command berth runs AWS's container services (ECR, ECS, EKS) on your own
// machine: `berth up` serves every API and the image registry on one port.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/berth-dev/berth/config"
	"github.com/berth-dev/berth/server"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "berth:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stderr)
		return errors.New("no command given")
	}
	switch args[0] {
	case "up":
		return up(args[1:], stderr)
	case "agent":
		return agentCmd(args[1:], stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "berth", version)
		return nil
	case "help", "-h", "--help":
		usage(stdout)
		return nil
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: berth <command> [flags]

Commands:
  up        serve ECR (API and registry) on one port; state in a data directory
  agent     join a cluster of a Berth elsewhere as a container instance and run its tasks
  version   print the version

Run "berth up -h" or "berth agent -h" for their flags.
`)
}

func up(args []string, stderr io.Writer) error {
	cfg := config.Default()
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", os.Getenv("BERTH_CONFIG"), "YAML configuration file (env BERTH_CONFIG)")
	listen := fs.String("listen", "", "address to serve on (env BERTH_LISTEN, default 127.0.0.1:4566)")
	dataDir := fs.String("data-dir", "", "directory for state and blobs (env BERTH_DATA)")
	database := fs.String("database", "", "postgres:// URL keeping the state in PostgreSQL instead of the SQLite file in the data dir; blobs stay in the data dir (env BERTH_DATABASE_URL)")
	registryHost := fs.String("registry-host", "", "host[:port] advertised in repository URIs (env BERTH_REGISTRY_HOST)")
	var creds []config.Credential
	fs.Func("credentials", "ACCESS_KEY_ID:SECRET_ACCESS_KEY accepted for SigV4; repeatable; turns signature checks on (env BERTH_CREDENTIALS)", func(s string) error {
		c, err := config.ParseCredentials(s)
		creds = append(creds, c...)
		return err
	})
	logLevel := fs.String("log-level", "", "debug, info, warn or error (env BERTH_LOG_LEVEL)")
	vulnDB := fs.String("vuln-db", "", "OSV vulnerability database for ECR image scans: directories, zip or JSON files, ':'-separated (env BERTH_VULN_DB)")
	lifecycle := fs.Duration("lifecycle-interval", 0, "how often ECR lifecycle policies run (env BERTH_LIFECYCLE_INTERVAL, default 5m)")
	var remotes []string
	fs.Func("replication-remote", "REGISTRY_ID/REGION=http://ACCESS_KEY_ID:SECRET@host:port[?timeout=30s]: an ECR replication destination held by another Berth; repeatable (env BERTH_REPLICATION_REMOTES, comma-separated)", func(s string) error {
		remotes = append(remotes, s)
		return nil
	})
	k8sBinary := fs.String("k8s-binary", "", "berth-k8s executable that runs EKS clusters' Kubernetes control planes (env BERTH_K8S_BINARY, default: berth-k8s next to berth if present)")
	recheck := fs.Duration("pull-through-recheck", 0, "how long the ECR pull-through cache serves a cached tag before re-checking it upstream (env BERTH_PULL_THROUGH_RECHECK, default 24h)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("up takes no arguments, got %q", fs.Args())
	}
	if *configFile != "" {
		if err := cfg.LoadFile(*configFile); err != nil {
			return err
		}
	}
	if err := cfg.LoadEnv(os.Getenv); err != nil {
		return err
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	if *database != "" {
		cfg.Database = *database
	}
	if *registryHost != "" {
		cfg.RegistryHost = *registryHost
	}
	if *logLevel != "" {
		cfg.LogLevel = *logLevel
	}
	if *lifecycle != 0 {
		cfg.LifecycleInterval = *lifecycle
	}
	if *vulnDB != "" {
		cfg.VulnDB = *vulnDB
	}
	for _, r := range remotes {
		if err := cfg.AddReplicationRemote(r); err != nil {
			return fmt.Errorf("--replication-remote: %w", err)
		}
	}
	if *k8sBinary != "" {
		cfg.K8sBinary = *k8sBinary
	}
	if *recheck != 0 {
		cfg.PullThroughRecheck = *recheck
	}
	cfg.Credentials = append(cfg.Credentials, creds...)
	if err := cfg.Validate(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return server.Run(ctx, cfg, version, stderr)
}
