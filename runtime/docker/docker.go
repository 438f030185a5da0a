// Package docker runs Berth's tasks on a Docker engine, over the Engine
// API (github.com/moby/moby/client), negotiating the API version down to
// what the engine speaks (1.41 for Docker 20.10 and up).
//
// How ECS concepts land on the engine:
//
//   - An awsvpc sandbox is a pause container (berth/pause, built into Berth
//     and loaded into the engine on first use) on Berth's own bridge network
//     "berth"; the task's containers join its network namespace
//     (network mode container:<pause>), so they share its IP address and
//     reach each other on localhost. Bridge, host and none sandboxes create
//     nothing on the engine.
//   - Task-level limits of an awsvpc sandbox are one cgroup for the task,
//     /berth/<sandbox>, which the pause container and the task's containers
//     run under (see cgroups.go). Every container is also capped at the
//     task's CPU and memory (see effectiveResources), which is all that
//     holds where Berth cannot make cgroups and for the other modes.
//   - Every object carries the label dev.berth.managed=true (plus the
//     caller's labels), which is how List, ListSandboxes and Events find
//     Berth's objects among everything else on the engine.
package docker

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moby/moby/client"

	"github.com/berth-dev/berth/runtime"
)

//go:generate go run gen_pause.go

// Labels Berth puts on the engine's objects. Callers' labels never see them:
// they are stripped from what List and Inspect return.
const (
	labelPrefix   = "dev.berth."
	labelManaged  = labelPrefix + "managed"
	labelKind     = labelPrefix + "kind"
	labelSandbox  = labelPrefix + "sandbox"
	labelNetMode  = labelPrefix + "network-mode"
	labelNanoCPUs = labelPrefix + "limits.nanocpus"
	labelMemory   = labelPrefix + "limits.memory"
	labelCgroup   = labelPrefix + "cgroup"

	kindContainer = "container"
	kindSandbox   = "sandbox"
)

// DefaultNetwork is the bridge network awsvpc sandboxes are attached to.
const DefaultNetwork = "berth"

// Options configure a Runtime.
type Options struct {
	// Host is the engine's address ("unix:///var/run/docker.sock",
	// "tcp://host:2375"). Empty means DOCKER_HOST, then the platform's
	// default socket.
	Host string
	// Network is the bridge network for awsvpc sandboxes; empty means
	// DefaultNetwork.
	Network string
	// NoTaskCgroups caps each container at its task's limits instead of
	// making one cgroup per task, even where Berth could.
	NoTaskCgroups bool
	// Logger says which way task limits are enforced; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Runtime is a runtime.Runtime over one Docker engine.
type Runtime struct {
	cli     *client.Client
	network string

	// netMu serialises making Berth's network; netID caches its id.
	netMu sync.Mutex
	netID string

	// pauseMu serialises loading the pause image; pauseRef is set once it
	// is known to be in the engine.
	pauseMu  sync.Mutex
	pauseRef string

	log       *slog.Logger
	noCgroups bool
	// cgMu guards the decision on task cgroups (taskCgroups): cg is nil
	// when sandboxes fall back to per-container caps, for the reason in
	// cgNote.
	cgMu   sync.Mutex
	cgDone bool
	cg     *cgroupFS
	cgNote string
	// decided is the decision once made, read by Info without waiting for
	// a probe in flight; probing is set while Info's background probe
	// runs.
	decided atomic.Pointer[probeResult]
	probing atomic.Bool
}

var _ runtime.Runtime = (*Runtime)(nil)

func init() {
	runtime.Register("docker", func(ctx context.Context, params map[string]string) (runtime.Runtime, error) {
		var o Options
		for k, v := range params {
			switch k {
			case "host":
				o.Host = v
			case "network":
				o.Network = v
			case "task-cgroups":
				switch v {
				case "on":
				case "off":
					o.NoTaskCgroups = true
				default:
					return nil, fmt.Errorf("%w: docker runtime: task-cgroups is on or off, not %q", runtime.ErrInvalidArgument, v)
				}
			default:
				return nil, fmt.Errorf("%w: docker runtime: unknown parameter %q", runtime.ErrInvalidArgument, k)
			}
		}
		return New(o)
	})
}

// New returns a runtime for the engine at o.Host. It does not contact the
// engine: Berth must start (and serve its API) while the engine is down,
// and the API version is negotiated on the first request that reaches it.
func New(o Options) (*Runtime, error) {
	opts := []client.Opt{client.FromEnv}
	if o.Host != "" {
		opts = append(opts, client.WithHost(o.Host))
	}
	cli, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: docker client: %v", runtime.ErrInvalidArgument, err)
	}
	netName := o.Network
	if netName == "" {
		netName = DefaultNetwork
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Runtime{cli: cli, network: netName, log: log, noCgroups: o.NoTaskCgroups}, nil
}

// Close releases the client's connections.
func (r *Runtime) Close() error { return r.cli.Close() }

// Info describes the engine's host, and how task limits are enforced on
// it. Deciding that runs a probe container (see taskCgroups), which takes
// the engine most of a second: Info does not wait for it, since Berth asks
// for Info on its way to ready. The first Info starts the probe in the
// background and reports the limits as not decided yet; later calls, and
// every sandbox, see the decision.
func (r *Runtime) Info(ctx context.Context) (runtime.HostInfo, error) {
	hi, err := r.engineInfo(ctx)
	if err != nil {
		return hi, err
	}
	d := r.decided.Load()
	switch {
	case d == nil:
		hi.TaskLimitsNote = TaskLimitsUndecided
		if r.probing.CompareAndSwap(false, true) {
			go func() {
				defer r.probing.Store(false)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if _, _, err := r.taskCgroups(ctx); err != nil {
					r.log.Debug("docker runtime: task cgroups not decided yet", "err", err)
				}
			}()
		}
	case d.cg != nil:
		hi.TaskLimits = runtime.LimitsPerSandbox
	default:
		hi.TaskLimitsNote = d.note
	}
	return hi, nil
}

// TaskLimitsUndecided is Info's TaskLimitsNote until the runtime knows how
// it enforces task limits.
const TaskLimitsUndecided = "not decided yet: the engine is being probed for task cgroups"

// engineInfo is the engine's own description of its host.
func (r *Runtime) engineInfo(ctx context.Context) (runtime.HostInfo, error) {
	res, err := r.cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return runtime.HostInfo{}, wrap(err, "engine info")
	}
	info := res.Info
	hi := runtime.HostInfo{
		Hostname:      info.Name,
		OS:            info.OSType,
		Arch:          goArch(info.Architecture),
		CPUs:          info.NCPU,
		MemoryBytes:   info.MemTotal,
		Engine:        "docker",
		EngineVersion: info.ServerVersion,
		TaskLimits:    runtime.LimitsPerContainer,
	}
	return hi, nil
}

// goArch turns the engine's uname architecture into Go's (and OCI's) name.
func goArch(arch string) string {
	switch arch {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64":
		return "arm64"
	case "armv7l", "armhf":
		return "arm"
	case "i386", "i686":
		return "386"
	}
	return arch
}

// managedLabels returns the caller's labels plus Berth's own; Berth's win
// over a caller's of the same key, so a task cannot pass for a sandbox.
func managedLabels(user map[string]string, own map[string]string) map[string]string {
	out := make(map[string]string, len(user)+len(own)+1)
	for k, v := range user {
		out[k] = v
	}
	for k, v := range own {
		out[k] = v
	}
	out[labelManaged] = "true"
	return out
}

// userLabels strips Berth's own labels.
func userLabels(all map[string]string) map[string]string {
	out := make(map[string]string, len(all))
	for k, v := range all {
		if !strings.HasPrefix(k, labelPrefix) {
			out[k] = v
		}
	}
	return out
}

// labelFilters are the engine filters for Berth's objects of a kind that
// carry all the given labels.
func labelFilters(kind string, labels map[string]string) client.Filters {
	f := client.Filters{}
	f.Add("label", labelManaged+"=true")
	if kind != "" {
		f.Add("label", labelKind+"="+kind)
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f.Add("label", k+"="+labels[k])
	}
	return f
}
