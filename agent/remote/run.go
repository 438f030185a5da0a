package remote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/berth-dev/berth/agent"
	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/ecs"
	"github.com/berth-dev/berth/runtime"
	_ "github.com/berth-dev/berth/runtime/docker" // the default runtime
)

// Config configures a remote agent.
type Config struct {
	// Endpoint is Berth's URL; Region the Region of the cluster.
	Endpoint, Region string
	// Cluster is the cluster to join (name or ARN).
	Cluster string
	// Credentials sign every call (the standard AWS chain).
	Credentials aws.CredentialsProvider
	// StateDir keeps the instance's identity across restarts.
	StateDir string
	// DockerHost is the engine's address; empty means DOCKER_HOST, then
	// the local socket.
	DockerHost string
	// PullBehavior is ECS_IMAGE_PULL_BEHAVIOR; "" is default.
	PullBehavior agent.PullBehavior
	// Poll is how often the instance's tasks are listed; zero is 1 s.
	Poll time.Duration
	// Resync is how often every task is reconciled and orphans swept; zero
	// is 10 s.
	Resync time.Duration
	// EndpointsPort is the port of the task credentials and metadata
	// endpoints on the addresses containers reach; zero is 51679 (the ECS
	// agent's), another one when that is taken.
	EndpointsPort int
	// NoEndpoints gives tasks no credentials, metadata or API endpoints.
	NoEndpoints bool
	// Version is Berth's, reported as the agent version.
	Version string
	Log     *slog.Logger
}

// state is what the agent keeps in its state directory, as the ECS agent
// keeps its checkpoint: the instance id it registers with, so that a
// restarted agent is the same container instance.
type state struct {
	InstanceID           string `json:"instanceId"`
	Cluster              string `json:"cluster,omitempty"`
	ContainerInstanceArn string `json:"containerInstanceArn,omitempty"`
}

const stateFile = "agent-state.json"

func loadState(dir string) (state, error) {
	var st state
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return st, err
	default:
		if err := json.Unmarshal(data, &st); err != nil {
			return st, fmt.Errorf("%s: %w", filepath.Join(dir, stateFile), err)
		}
	}
	if st.InstanceID == "" {
		b := make([]byte, 9)
		if _, err := rand.Read(b); err != nil {
			return st, err
		}
		st.InstanceID = "i-" + hex.EncodeToString(b)[:17]
	}
	return st, nil
}

func saveState(dir string, st state) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	data, _ := json.MarshalIndent(st, "", "  ")
	tmp := filepath.Join(dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, stateFile))
}

// Run joins the cluster and runs the instance's tasks until ctx ends.
// Containers keep running when it returns; the next Run with the same
// state directory re-adopts them.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	if cfg.Endpoint == "" || cfg.Cluster == "" || cfg.Region == "" || cfg.StateDir == "" {
		return errors.New("the endpoint, cluster, region and state directory are required")
	}
	params := map[string]string{}
	if cfg.DockerHost != "" {
		params["host"] = cfg.DockerHost
	}
	rt, err := runtime.Open(ctx, "docker", params)
	if err != nil {
		return fmt.Errorf("container runtime: %w", err)
	}
	defer rt.Close()
	ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
	info, err := rt.Info(ictx)
	cancel()
	if err != nil {
		return fmt.Errorf("the Docker engine is not reachable: %w", err)
	}

	st, err := loadState(cfg.StateDir)
	if err != nil {
		return fmt.Errorf("agent state: %w", err)
	}
	c := &Client{Endpoint: cfg.Endpoint, Region: cfg.Region, Credentials: cfg.Credentials}
	// Berth may not be up yet (or be restarting): the agent waits for it,
	// as the ECS agent does. An answer that refuses the registration ends it.
	var arn string
	for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
		arn, err = register(ctx, c, cfg, st.InstanceID, info)
		if err == nil {
			break
		}
		if ErrorCode(err) != "" || ctx.Err() != nil {
			return fmt.Errorf("RegisterContainerInstance: %w", err)
		}
		log.Warn("Berth is not reachable; retrying", "endpoint", cfg.Endpoint, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
	if st.ContainerInstanceArn != "" && st.ContainerInstanceArn != arn {
		log.Warn("registered as a new container instance", "previous", st.ContainerInstanceArn)
	}
	st.Cluster, st.ContainerInstanceArn = cfg.Cluster, arn
	if err := saveState(cfg.StateDir, st); err != nil {
		return fmt.Errorf("agent state: %w", err)
	}

	src := &TaskSource{C: c, Cluster: cfg.Cluster, Instance: arn}
	var eps agent.Endpoints
	if !cfg.NoEndpoints {
		ep, stop, err := startEndpoints(ctx, cfg, c, src, rt, log.With("component", "task-endpoints"))
		if err != nil {
			log.Warn("task credentials and metadata endpoints are off", "err", err)
		} else {
			defer stop()
			eps = ep
		}
	}
	a, err := agent.New(agent.Options{
		Host:         st.InstanceID,
		Tasks:        src,
		Runtime:      rt,
		Logs:         LogSink{C: c},
		Secrets:      Secrets{C: c},
		Registry:     &Registry{C: c},
		PullBehavior: cfg.PullBehavior,
		GPUs:         countGPUs(),
		Resync:       cfg.Resync,
		Endpoints:    eps,
		Log:          log.With("component", "agent"),
	})
	if err != nil {
		return err
	}
	log.Info("ECS remote agent is on", "host", st.InstanceID, "containerInstance", arn, "cluster", cfg.Cluster,
		"engine", info.EngineVersion, "cpus", info.CPUs, "memoryMiB", info.MemoryBytes>>20)

	// Berth offers remote agents no push channel (the ECS agent's ACS
	// websocket), so the instance's tasks are polled: a change wakes the
	// agent, which reads its work set again.
	poll := cfg.Poll
	if poll <= 0 {
		poll = time.Second
	}
	go func() {
		t := time.NewTicker(poll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				a.TasksChanged(st.InstanceID)
			}
		}
	}()
	a.Run(ctx)
	// Let the agent flush the output it was shipping; containers keep
	// running.
	a.Wait(10 * time.Second)
	return nil
}

// register makes the host a container instance of the cluster, with the
// engine's CPUs and memory, the ECS agent's reserved ports and attributes,
// and an identity document naming the instance id kept in the state
// directory, which is how Berth knows it again after a restart.
func register(ctx context.Context, c *Client, cfg Config, instanceID string, info runtime.HostInfo) (string, error) {
	arch := "x86_64"
	if info.Arch == "arm64" {
		arch = "arm64"
	}
	doc, _ := json.Marshal(map[string]string{
		"instanceId":       instanceID,
		"instanceType":     "berth.remote",
		"availabilityZone": cfg.Region + "a",
		"region":           cfg.Region,
		"architecture":     arch,
	})
	intRes := func(name string, v int64) ecsapi.Resource {
		return ecsapi.Resource{Name: ptr(name), Type: ptr("INTEGER"), IntegerValue: ptr(int32(v))}
	}
	var ports []string
	for _, p := range []int{22, 2375, 2376, 51678, 51679} {
		ports = append(ports, strconv.Itoa(p))
	}
	attrs := []ecsapi.Attribute{
		{Name: ptr("ecs.os-type"), Value: ptr("linux")},
		{Name: ptr("ecs.os-family"), Value: ptr("LINUX")},
		{Name: ptr("ecs.cpu-architecture"), Value: ptr(arch)},
	}
	for _, name := range ecs.AgentCapabilities() {
		attrs = append(attrs, ecsapi.Attribute{Name: ptr(name)})
	}
	version := cfg.Version
	if version == "" {
		version = "dev"
	}
	in := &ecsapi.RegisterContainerInstanceInput{
		Cluster:                  &cfg.Cluster,
		InstanceIdentityDocument: ptr(string(doc)),
		TotalResources: []ecsapi.Resource{
			intRes("CPU", int64(info.CPUs)*1024),
			intRes("MEMORY", info.MemoryBytes>>20),
			{Name: ptr("PORTS"), Type: ptr("STRINGSET"), StringSetValue: ports},
			{Name: ptr("PORTS_UDP"), Type: ptr("STRINGSET"), StringSetValue: []string{}},
		},
		VersionInfo: &ecsapi.VersionInfo{
			AgentVersion:  ptr(version),
			AgentHash:     ptr("berth"),
			DockerVersion: ptr("DockerVersion: " + info.EngineVersion),
		},
		Attributes: attrs,
	}
	var out ecsapi.RegisterContainerInstanceOutput
	if err := c.call(ctx, svcECS, "", "RegisterContainerInstance", in, &out); err != nil {
		return "", err
	}
	if out.ContainerInstance == nil || deref(out.ContainerInstance.ContainerInstanceArn) == "" {
		return "", errors.New("no container instance in the answer")
	}
	return *out.ContainerInstance.ContainerInstanceArn, nil
}

// countGPUs counts the NVIDIA GPUs the kernel driver shows; 0 without one.
func countGPUs() int {
	entries, err := os.ReadDir("/proc/driver/nvidia/gpus")
	if err != nil {
		return 0
	}
	return len(entries)
}
