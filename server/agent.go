package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"

	"github.com/berth-dev/berth/agent"
	"github.com/berth-dev/berth/agent/endpoints"
	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/ecr/token"
	"github.com/berth-dev/berth/logs"
	"github.com/berth-dev/berth/runtime"
	_ "github.com/berth-dev/berth/runtime/docker" // the default runtime
	"github.com/berth-dev/berth/secrets/resolve"
)

// Environment variables of the task agent (read by `berth up`):
//
//	BERTH_AGENT=off                  serve the ECS API without running tasks
//	BERTH_AGENT_PULL_BEHAVIOR=...    default, always, once or prefer-cached
//	                                 (the ECS agent's ECS_IMAGE_PULL_BEHAVIOR)
//	BERTH_AGENT_RESYNC=10s           how often every task is reconciled
//
// The engine is the one DOCKER_HOST names, else the local socket.
const (
	envAgent        = "BERTH_AGENT"
	envPullBehavior = "BERTH_AGENT_PULL_BEHAVIOR"
	envAgentResync  = "BERTH_AGENT_RESYNC"

	endpointsKeyFile = "task-endpoints.key"
)

// wireAgent starts the local host's task agent: the Docker runtime, the
// task credentials and metadata endpoints, and the reconcile loop that runs
// the tasks the ECS control plane assigns to this host. A Docker engine
// that cannot be reached does not keep Berth from starting: the API serves,
// tasks fail with the engine's error, and the agent recovers when the
// engine is back.
func (s *Server) wireAgent() error {
	if strings.EqualFold(os.Getenv(envAgent), "off") || s.ecs == nil {
		s.log.Info("ECS task agent is off: tasks stay PROVISIONING")
		return nil
	}
	st, err := s.store()
	if err != nil {
		return err
	}
	log := s.log.With("component", "agent")
	rt, err := runtime.Open(context.Background(), "docker", nil)
	if err != nil {
		return fmt.Errorf("container runtime: %w", err)
	}
	// The engine's /info takes tens of milliseconds; readiness need not wait
	// for it. Until it answers, the local instance keeps the resources Berth
	// detected on its own machine.
	go s.describeEngine(rt, log)

	if s.ecrTokens == nil {
		rt.Close()
		return fmt.Errorf("the task agent pulls from ECR with its tokens, and ECR is not wired")
	}
	tokens := s.ecrTokens

	o := agent.Options{
		Host:     s.ecs.LocalHostID(),
		Tasks:    s.ecs,
		Runtime:  rt,
		Secrets:  resolve.Resolver{Store: st},
		Registry: &registryResolver{host: s.cfg.RegistryHost, tokens: tokens},
		GPUs:     countGPUs(),
		Log:      log,
	}
	if s.logs != nil {
		o.Logs = logSink{s.logs}
	}
	if v := os.Getenv(envPullBehavior); v != "" {
		o.PullBehavior = agent.PullBehavior(v)
	}
	if v := os.Getenv(envAgentResync); v != "" {
		if o.Resync, err = time.ParseDuration(v); err != nil {
			rt.Close()
			return fmt.Errorf("%s: %w", envAgentResync, err)
		}
	}
	if ep, err := s.taskEndpoints(rt); err != nil {
		log.Warn("task credentials and metadata endpoints are off", "err", err)
	} else {
		o.Endpoints = ep
	}
	a, err := agent.New(o)
	if err != nil {
		rt.Close()
		return err
	}
	s.ecs.SetNotifier(a)
	log.Info("ECS task agent is on", "host", o.Host)
	s.loops = append(s.loops, a.Run)
	s.closers = append(s.closers, func() error {
		// The loops were cancelled: let the agent flush the output it was
		// shipping before the store closes. Containers keep running.
		a.Wait(10 * time.Second)
		return rt.Close()
	})
	return nil
}

// describeEngine asks the engine what the local host has (it may be
// another machine than Berth's, through DOCKER_HOST) and registers that as
// the local container instance's CPU, memory and Docker version. An engine
// that cannot be reached leaves what Berth detected on its own machine.
func (s *Server) describeEngine(rt runtime.Runtime, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	info, err := rt.Info(ctx)
	if err != nil {
		log.Warn("the Docker engine is not reachable; tasks will fail to start until it is", "err", err)
		return
	}
	log.Info("task agent on the Docker engine", "engine", info.EngineVersion, "cpus", info.CPUs,
		"memoryMiB", info.MemoryBytes>>20, "arch", info.Arch)
	version := ""
	if info.EngineVersion != "" {
		version = "DockerVersion: " + info.EngineVersion
	}
	if err := s.ecs.RefreshLocalHost(ctx, int64(info.CPUs)*1024, info.MemoryBytes>>20, version); err != nil {
		log.Warn("registering the engine's resources as the local container instance's", "err", err)
	}
}

// taskEndpoints builds the credentials and metadata endpoints tasks reach,
// on Berth's own port at the addresses containers see the host at.
func (s *Server) taskEndpoints(rt runtime.Runtime) (agent.Endpoints, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	key, err := token.LoadOrCreateKey(filepath.Join(s.cfg.DataDir, endpointsKeyFile))
	if err != nil {
		return nil, fmt.Errorf("endpoints key: %w", err)
	}
	if s.sts == nil {
		return nil, fmt.Errorf("STS is not wired, so tasks cannot get role credentials")
	}
	port := 0
	if _, p, err := net.SplitHostPort(s.cfg.Listen); err == nil {
		port, _ = strconv.Atoi(p)
	}
	srv, err := endpoints.New(context.Background(), endpoints.Options{
		Key:    key,
		Store:  st,
		Issuer: s.sts,
		Engine: rt,
		API:    s,
		Port:   port,
		Log:    s.log.With("component", "task-endpoints"),
	})
	if err != nil {
		return nil, err
	}
	s.loops = append(s.loops, srv.Run)
	s.closers = append(s.closers, srv.Close)
	return &endpoints.ForAgent{S: srv, Tasks: s.ecs, Host: s.ecs.LocalHostID()}, nil
}

// countGPUs counts the NVIDIA GPUs the kernel driver shows; 0 without one.
func countGPUs() int {
	entries, err := os.ReadDir("/proc/driver/nvidia/gpus")
	if err != nil {
		return 0
	}
	return len(entries)
}

// logSink ships task output into CloudWatch Logs.
type logSink struct{ svc *logs.Service }

func (l logSink) Append(ctx context.Context, account, region, group, stream string, events []logs.Event, createGroup bool) error {
	return l.svc.Append(ctx, account, region, group, stream, events, createGroup)
}

// LastEventTime reads the newest event of a stream, as the caller whose
// account and region the stream is in.
func (l logSink) LastEventTime(ctx context.Context, account, region, group, stream string) (time.Time, error) {
	ctx = awsapi.WithIdentity(ctx, awsapi.Identity{AccountID: account, Region: region})
	out, err := l.svc.GetLogEvents(ctx, &logsapi.GetLogEventsInput{
		LogGroupName: &group, LogStreamName: &stream, Limit: ptrTo(int32(1)),
	})
	if err != nil {
		if e := awsapi.AsError(err); e != nil && e.Code == "ResourceNotFoundException" {
			return time.Time{}, nil
		}
		return time.Time{}, err
	}
	var last int64
	for _, e := range out.Events {
		if e.Timestamp != nil && *e.Timestamp > last {
			last = *e.Timestamp
		}
	}
	if last == 0 {
		return time.Time{}, nil
	}
	return time.UnixMilli(last), nil
}

func ptrTo[T any](v T) *T { return &v }

// registryResolver gives pulls from Berth's own registry an ECR token of
// the task's account and region, as the ECS agent gets one with the task's
// execution role. An image named the AWS way
// (<account>.dkr.ecr.<region>.amazonaws.com/<repo>) is pulled from Berth's
// registry, in that account and region, so task definitions written for AWS
// run unchanged. Other registries are pulled anonymously.
type registryResolver struct {
	host   string // host:port of Berth's registry
	tokens *token.Issuer
}

var ecrHost = regexp.MustCompile(`^([0-9]{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$`)

func (r *registryResolver) Resolve(_ context.Context, account, region, image string) (string, *runtime.RegistryAuth, error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		// The runtime's pull reports the bad reference as ECS would.
		return image, nil, nil
	}
	host := reference.Domain(named)
	ref := image
	if m := ecrHost.FindStringSubmatch(host); m != nil {
		account, region = m[1], m[2]
		ref = r.host + strings.TrimPrefix(image, host)
	} else if !r.isOwn(host) {
		return image, nil, nil
	}
	pw, _ := r.tokens.Issue(account, region)
	return ref, &runtime.RegistryAuth{Username: "AWS", Password: pw, ServerAddress: r.host}, nil
}

// isOwn reports whether a registry host is Berth's: its advertised host, or
// the same port on a loopback name.
func (r *registryResolver) isOwn(host string) bool {
	if strings.EqualFold(host, r.host) {
		return true
	}
	h, p, err := net.SplitHostPort(host)
	_, ownPort, err2 := net.SplitHostPort(r.host)
	if err != nil || err2 != nil || p != ownPort {
		return false
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
