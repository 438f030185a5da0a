// Package agent is the task agent of one host: it makes the ECS tasks the
// control plane assigned to the host real, on a container runtime, and
// reports what it observes back.
//
// It is level-triggered, as a Kubernetes controller. The main loop reads the
// host's whole work set (ecs.TaskSource.ListTasksToReconcile) when woken by
// the control plane (Notifier), on a timer, and when the runtime's event
// stream had to be re-established; each task then has a runner that compares
// what the task should be (desiredStatus, its task definition) with what the
// runtime shows (containers found by their labels) and acts to close the
// difference, reporting every lifecycle transition with
// ecs.TaskSource.UpdateTaskState:
//
//	PROVISIONING → PENDING → ACTIVATING → RUNNING
//	  → DEACTIVATING → STOPPING → DEPROVISIONING → STOPPED
//
// Nothing is remembered that cannot be found again: every container,
// sandbox and volume carries the task's ARN and the host's id as labels, so
// an agent that was killed and restarted re-adopts running tasks, stops the
// ones whose containers died meanwhile, and removes whatever belongs to no
// task that still runs.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/berth-dev/berth/ecs"
	"github.com/berth-dev/berth/logs"
	"github.com/berth-dev/berth/runtime"
)

// LogSink is where awslogs output goes: CloudWatch Logs (*logs.Service
// through an adapter that adds LastEventTime).
type LogSink interface {
	// Append adds events to a stream, creating the stream (and the group
	// when createGroup is set); a missing group is an error otherwise.
	Append(ctx context.Context, account, region, group, stream string, events []logs.Event, createGroup bool) error
	// LastEventTime is the timestamp of the newest event of a stream, zero
	// when the stream is empty or missing: where shipping resumes after a
	// restart.
	LastEventTime(ctx context.Context, account, region, group, stream string) (time.Time, error)
}

// SecretResolver reads the values of container secrets (valueFrom a
// Secrets Manager secret or an SSM parameter); resolve.Resolver is one.
type SecretResolver interface {
	ResolveAll(ctx context.Context, account, region string, valueFroms []string) ([]string, error)
}

// RegistryResolver says how to pull an image for a task: the reference the
// runtime pulls (an ECR reference may be rewritten to Berth's registry) and
// the credentials, nil for an anonymous pull.
type RegistryResolver interface {
	Resolve(ctx context.Context, account, region, image string) (ref string, auth *runtime.RegistryAuth, err error)
}

// Endpoints serves tasks their credentials and metadata endpoints
// (agent/endpoints, through its ForAgent adapter). Register returns, by
// container name, the environment variables that point each container at
// them; it is called again for a task re-adopted after a restart.
// Unregister forgets a task that stopped.
type Endpoints interface {
	Register(ctx context.Context, t *ecs.AssignedTask) (map[string]map[string]string, error)
	Unregister(taskARN string)
}

// PullBehavior is ECS_IMAGE_PULL_BEHAVIOR of the ECS agent.
type PullBehavior string

const (
	// PullDefault pulls every time, and uses the cached image when the
	// pull fails.
	PullDefault PullBehavior = "default"
	// PullAlways pulls every time; a failed pull fails the task.
	PullAlways PullBehavior = "always"
	// PullOnce pulls an image the engine does not have yet.
	PullOnce PullBehavior = "once"
	// PullPreferCached uses a cached image and pulls only when there is none.
	PullPreferCached PullBehavior = "prefer-cached"
)

// Options configure an Agent.
type Options struct {
	// Host is the id of the host (ecs.Service.LocalHostID); required.
	Host string
	// Tasks is the control plane; required.
	Tasks ecs.TaskSource
	// Runtime runs the containers; required.
	Runtime runtime.Runtime
	// Logs receives awslogs output; without it, awslogs configurations are
	// ignored.
	Logs LogSink
	// Secrets resolves container secrets; without it a task with secrets
	// fails to start.
	Secrets SecretResolver
	// Registry gives credentials for pulls; without it every pull is
	// anonymous.
	Registry RegistryResolver
	// Endpoints, when set, is told about every task that runs, and the
	// environment it returns is given to the task's containers.
	Endpoints Endpoints
	// PullBehavior is how images are pulled; "" is PullDefault.
	PullBehavior PullBehavior
	// GPUs is the number of GPUs of the host. A container that asks for
	// GPUs fails to start on a host with fewer.
	GPUs int
	// Resync is how often every task is reconciled even when nothing woke
	// the agent; zero means 10 seconds.
	Resync time.Duration
	// LogFlush is how long a log line may wait to be shipped with others;
	// zero means 200ms.
	LogFlush time.Duration
	// StartConcurrency bounds how many tasks are started at once; zero
	// means 16.
	StartConcurrency int
	// Log receives what the agent has to say; slog.Default when nil.
	Log *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Agent runs the tasks of one host. It implements ecs.Notifier.
type Agent struct {
	o    Options
	host string
	rt   runtime.Runtime
	log  *slog.Logger
	now  func() time.Time

	wake     chan struct{}
	startSem chan struct{}
	pulls    pullGroup

	mu       sync.Mutex
	runners  map[string]*runner
	finished map[string]time.Time // task ARN → when its runner ended
	wg       sync.WaitGroup       // runners and log shippers
	running  bool
	done     chan struct{} // closed when Run has returned and its goroutines ended
}

var _ ecs.Notifier = (*Agent)(nil)

// Errors of New.
var ErrInvalidOptions = errors.New("agent: invalid options")

// New returns an Agent; Run starts it.
func New(o Options) (*Agent, error) {
	switch {
	case o.Host == "":
		return nil, fmt.Errorf("%w: Host is required", ErrInvalidOptions)
	case o.Tasks == nil:
		return nil, fmt.Errorf("%w: Tasks is required", ErrInvalidOptions)
	case o.Runtime == nil:
		return nil, fmt.Errorf("%w: Runtime is required", ErrInvalidOptions)
	}
	switch o.PullBehavior {
	case "":
		o.PullBehavior = PullDefault
	case PullDefault, PullAlways, PullOnce, PullPreferCached:
	default:
		return nil, fmt.Errorf("%w: unknown pull behavior %q", ErrInvalidOptions, o.PullBehavior)
	}
	if o.Resync <= 0 {
		o.Resync = 10 * time.Second
	}
	if o.LogFlush <= 0 {
		o.LogFlush = 200 * time.Millisecond
	}
	if o.StartConcurrency <= 0 {
		o.StartConcurrency = 16
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Agent{
		o:        o,
		host:     o.Host,
		rt:       o.Runtime,
		log:      o.Log,
		now:      func() time.Time { return o.Now().UTC() },
		wake:     make(chan struct{}, 1),
		startSem: make(chan struct{}, o.StartConcurrency),
		runners:  map[string]*runner{},
		finished: map[string]time.Time{},
		done:     make(chan struct{}),
	}, nil
}

// TasksChanged implements ecs.Notifier: the agent reconciles at once.
func (a *Agent) TasksChanged(host string) {
	if host != a.host {
		return
	}
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Run reconciles the host's tasks until ctx ends. Containers keep running
// when it returns, as they do when the ECS agent stops: the next Run
// re-adopts them.
func (a *Agent) Run(ctx context.Context) {
	a.mu.Lock()
	if a.running {
		a.mu.Unlock()
		a.log.Error("agent: Run called twice")
		return
	}
	a.running = true
	a.mu.Unlock()
	defer close(a.done)
	defer a.wg.Wait()

	events := a.rt.Events(ctx)
	tick := time.NewTicker(a.o.Resync)
	defer tick.Stop()
	a.sync(ctx, true)
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.wake:
			a.sync(ctx, false)
		case <-tick.C:
			a.sync(ctx, true)
		case ev, ok := <-events:
			if !ok {
				events = nil // the runtime's stream ended with ctx
				continue
			}
			if ev.Type == runtime.EventResync {
				a.log.Info("agent: runtime events were interrupted; reconciling every task")
				a.sync(ctx, true)
				continue
			}
			if ev.Labels[LabelHost] != a.host {
				continue
			}
			a.mu.Lock()
			r := a.runners[ev.Labels[LabelTaskARN]]
			a.mu.Unlock()
			if r != nil {
				r.pokeNow()
			}
		}
	}
}

// Wait blocks until Run has returned and every goroutine it started (task
// runners, log shippers) has ended, or until timeout; it reports whether
// they ended.
func (a *Agent) Wait(timeout time.Duration) bool {
	a.mu.Lock()
	running := a.running
	a.mu.Unlock()
	if !running {
		return true
	}
	select {
	case <-a.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// finishedMemory is how long the agent remembers that a task's runner
// ended, so that a list read just before the task's STOPPED report does
// not start a second runner for it.
const finishedMemory = time.Minute

// sync reads the work set and makes sure every task has a runner that
// knows its latest spec; with all, it pokes every runner and removes what
// belongs to no task.
func (a *Agent) sync(ctx context.Context, all bool) {
	tasks, err := a.o.Tasks.ListTasksToReconcile(ctx, a.host)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("agent: listing the host's tasks", "err", err)
		}
		return
	}
	now := a.now()
	active := make(map[string]bool, len(tasks))
	a.mu.Lock()
	for arn, at := range a.finished {
		if now.Sub(at) > finishedMemory {
			delete(a.finished, arn)
		}
	}
	for i := range tasks {
		t := tasks[i]
		active[t.TaskARN] = true
		r := a.runners[t.TaskARN]
		if r == nil {
			if _, ended := a.finished[t.TaskARN]; ended {
				continue
			}
			r = newRunner(a, t)
			a.runners[t.TaskARN] = r
			a.wg.Add(1)
			go r.run(ctx)
			continue
		}
		if r.setSpec(t) || all {
			r.pokeNow()
		}
	}
	for arn, r := range a.runners {
		if !active[arn] {
			r.markUnlisted()
		}
	}
	a.mu.Unlock()
	if all {
		a.sweep(ctx, active)
	}
}

// runnerEnded forgets a runner whose task is STOPPED (or gone).
func (a *Agent) runnerEnded(arn string) {
	a.mu.Lock()
	delete(a.runners, arn)
	a.finished[arn] = a.now()
	a.mu.Unlock()
}

// sweep removes the containers, sandboxes and task volumes of this host
// whose task is not in the work set and has no runner: left behind by a
// crash between a task's STOPPED report and its cleanup, by a task stopped
// while the engine was away, or by a task whose records were deleted.
func (a *Agent) sweep(ctx context.Context, active map[string]bool) {
	own := map[string]string{LabelHost: a.host}
	orphan := func(labels map[string]string) bool {
		arn := labels[LabelTaskARN]
		if active[arn] {
			return false
		}
		a.mu.Lock()
		_, has := a.runners[arn]
		a.mu.Unlock()
		return !has
	}
	cs, err := a.rt.List(ctx, own)
	if err != nil {
		if ctx.Err() == nil && !runtime.IsUnavailable(err) {
			a.log.Warn("agent: listing containers", "err", err)
		}
		return
	}
	for _, c := range cs {
		if orphan(c.Labels) {
			a.log.Info("agent: removing a container of no running task", "container", c.Name, "task", c.Labels[LabelTaskARN])
			if err := a.rt.RemoveContainer(ctx, c.ID); err != nil {
				a.log.Warn("agent: removing an orphaned container", "container", c.Name, "err", err)
			}
		}
	}
	sbs, err := a.rt.ListSandboxes(ctx, own)
	if err == nil {
		for _, sb := range sbs {
			if orphan(sb.Labels) {
				a.log.Info("agent: removing a sandbox of no running task", "sandbox", sb.Name)
				if err := a.rt.RemoveSandbox(ctx, sb.ID); err != nil {
					a.log.Warn("agent: removing an orphaned sandbox", "sandbox", sb.Name, "err", err)
				}
			}
		}
	}
	vols, err := a.rt.ListVolumes(ctx, own)
	if err == nil {
		for _, v := range vols {
			if orphan(v.Labels) {
				if err := a.rt.RemoveVolume(ctx, v.Name); err != nil && !runtime.IsConflict(err) {
					a.log.Warn("agent: removing an orphaned volume", "volume", v.Name, "err", err)
				}
			}
		}
	}
}

// pullGroup makes pulls of one reference with one credential share a
// single pull: concurrent ones wait for the same pull, and a pull that
// succeeded less than pullReuse ago is the answer of the ones that follow,
// so a hundred tasks of one image started together pull it once.
type pullGroup struct {
	mu    sync.Mutex
	calls map[string]*pullCall
}

// pullReuse is how long a successful pull answers for the same image.
const pullReuse = 5 * time.Second

type pullCall struct {
	done chan struct{}
	at   time.Time // when the pull ended
	info runtime.ImageInfo
	err  error
}

func (g *pullGroup) do(ctx context.Context, key string, now time.Time, fn func(context.Context) (runtime.ImageInfo, error)) (runtime.ImageInfo, error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]*pullCall{}
	}
	for k, c := range g.calls {
		select {
		case <-c.done:
			if now.Sub(c.at) > pullReuse || c.err != nil {
				delete(g.calls, k)
			}
		default:
		}
	}
	c, ok := g.calls[key]
	if !ok {
		c = &pullCall{done: make(chan struct{})}
		g.calls[key] = c
		// The pull belongs to every waiter: one giving up (its task was
		// stopped) must not cancel it for the others.
		go func() {
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Minute)
			info, err := fn(pctx)
			cancel()
			g.mu.Lock()
			c.info, c.err, c.at = info, err, time.Now().UTC()
			g.mu.Unlock()
			close(c.done)
		}()
	}
	g.mu.Unlock()
	select {
	case <-c.done:
		g.mu.Lock()
		defer g.mu.Unlock()
		return c.info, c.err
	case <-ctx.Done():
		return runtime.ImageInfo{}, ctx.Err()
	}
}
