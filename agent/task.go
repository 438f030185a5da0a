package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/ecs"
	"github.com/berth-dev/berth/runtime"
)

// runner drives one task: a goroutine that reconciles the task whenever it
// is poked (by the main loop, a runtime event about one of its containers,
// or its own timers) until the task is STOPPED.
type runner struct {
	a    *Agent
	arn  string
	poke chan struct{}

	mu   sync.Mutex
	spec ecs.AssignedTask
	// cancelStart interrupts start work (a pull, a wait) once the task is
	// to stop.
	cancelStart context.CancelFunc
	// unlisted: the task left the host's work set without this runner
	// stopping it (STOPPED by another reporter, or deleted).
	unlisted bool

	// The rest belongs to the runner's goroutine. None of it is needed for
	// correctness after a restart: it saves work (pulls, secret reads) and
	// remembers reasons until they are reported.
	st            ecs.TaskStatus
	images        map[string]runtime.ImageInfo // by container name
	pullStoppedAt time.Time
	env           map[string]map[string]string // by container name
	regAuth       map[string]*runtime.RegistryAuth
	endpointEnv   map[string]map[string]string // by container name
	registered    bool
	volumes       map[string]taskVolume
	sandbox       *runtime.Sandbox
	abandoned     map[string]string // containers that will never start, and why
	reasons       map[string]string // container reasons to report
	cause         *stopCause        // why the task stops on its own
	gone          bool              // the task no longer exists
	shippers      map[runtime.ContainerID]*shipper
	timer         *time.Timer
	runCtx        context.Context // the runner's whole life
}

// stopCause is the stop code and reason of a task that stops on its own.
type stopCause struct {
	code   ecsapi.TaskStopCode
	reason string
}

func newRunner(a *Agent, t ecs.AssignedTask) *runner {
	r := &runner{
		a:         a,
		arn:       t.TaskARN,
		poke:      make(chan struct{}, 1),
		spec:      t,
		st:        t.Status,
		images:    map[string]runtime.ImageInfo{},
		abandoned: map[string]string{},
		reasons:   map[string]string{},
		shippers:  map[runtime.ContainerID]*shipper{},
	}
	r.poke <- struct{}{}
	return r
}

// setSpec gives the runner the task as the control plane now has it and
// reports whether it changed. A task that is to stop interrupts what is
// starting it.
func (r *runner) setSpec(t ecs.AssignedTask) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := t.Version != r.spec.Version
	r.spec = t
	if t.DesiredStatus == ecs.TaskStopped && r.cancelStart != nil {
		r.cancelStart()
	}
	return changed
}

func (r *runner) task() ecs.AssignedTask {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.unlisted {
		r.gone = true
	}
	return r.spec
}

// markUnlisted tells the runner its task is no longer the host's to run:
// it removes what the task left and ends.
func (r *runner) markUnlisted() {
	r.mu.Lock()
	r.unlisted = true
	if r.cancelStart != nil {
		r.cancelStart()
	}
	r.mu.Unlock()
	r.pokeNow()
}

func (r *runner) pokeNow() {
	select {
	case r.poke <- struct{}{}:
	default:
	}
}

// wakeAt pokes the runner at t (a dependency's start timeout), or sooner if
// it is poked anyway.
func (r *runner) wakeAt(t time.Time) {
	d := max(t.Sub(r.a.now()), 10*time.Millisecond)
	if r.timer != nil {
		r.timer.Stop()
	}
	r.timer = time.AfterFunc(d, r.pokeNow)
}

func (r *runner) run(ctx context.Context) {
	defer r.a.wg.Done()
	r.runCtx = ctx
	for {
		select {
		case <-ctx.Done():
			if r.timer != nil {
				r.timer.Stop()
			}
			r.finishStop(ctx)
			return
		case <-r.poke:
		}
		if r.reconcile(ctx) {
			if r.timer != nil {
				r.timer.Stop()
			}
			r.a.runnerEnded(r.arn)
			return
		}
	}
}

// shutdownGrace is how long a task that was being stopped when the agent
// itself stops gets to finish stopping (StopTask just before Berth exits
// must not leave containers behind).
const shutdownGrace = 8 * time.Second

// finishStop completes the stop of a task that is on its way out when the
// agent stops; a running task is left running, to be re-adopted.
func (r *runner) finishStop(ctx context.Context) {
	t := r.task()
	if r.st.LastStatus == ecs.TaskStopped || !r.stopping(&t) {
		return
	}
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	r.runCtx = gctx
	r.stop(gctx, &t)
}

// stopping reports whether the task is on its way out.
func (r *runner) stopping(t *ecs.AssignedTask) bool {
	return t.DesiredStatus == ecs.TaskStopped || r.gone || r.cause != nil ||
		ecs.TaskStatusRank(r.st.LastStatus) >= ecs.TaskStatusRank(ecs.TaskDeactivating)
}

// reconcile does what the task needs now and reports it; it returns true
// once the task is STOPPED and cleaned up.
func (r *runner) reconcile(ctx context.Context) bool {
	t := r.task()
	if r.st.LastStatus == ecs.TaskStopped {
		return true
	}
	if !r.stopping(&t) {
		obs, err := r.observe(ctx, &t)
		switch {
		case err == nil:
			r.checkExits(&t, obs)
		case ecs.TaskStatusRank(r.st.LastStatus) >= ecs.TaskStatusRank(ecs.TaskRunning):
			// The engine is away: a running task is not judged until it is
			// back (its containers may be alive); the events' resync wakes
			// the runner then.
			r.retry(ctx, err, 5*time.Second)
			return false
		case runtime.IsUnavailable(err):
			r.cause = &stopCause{ecsapi.TaskStopCodeTaskFailedToStart, unavailableReason(err)}
		default:
			r.retry(ctx, err, time.Second)
			return false
		}
		if !r.stopping(&t) {
			startCtx, cancel := context.WithCancel(ctx)
			r.mu.Lock()
			r.cancelStart = cancel
			if r.spec.DesiredStatus == ecs.TaskStopped {
				cancel()
			}
			r.mu.Unlock()
			retry := r.start(startCtx, &t, obs)
			r.mu.Lock()
			r.cancelStart = nil
			r.mu.Unlock()
			cancel()
			if ctx.Err() != nil {
				return false
			}
			t = r.task()
			if errors.Is(retry, ecs.ErrTaskNotFound) {
				r.gone = true
			} else if retry != nil {
				r.retry(ctx, retry, time.Second)
				return false
			}
		}
	}
	if r.stopping(&t) {
		return r.stop(ctx, &t)
	}
	return false
}

// unavailableReason is why a task could not start while the engine was
// away.
func unavailableReason(err error) string {
	return "ResourceInitializationError: the Docker engine is not reachable: " + engineMessage(err)
}

// retry logs err and pokes the runner again after d.
func (r *runner) retry(ctx context.Context, err error, d time.Duration) {
	if ctx.Err() != nil {
		return
	}
	r.a.log.Warn("agent: task reconcile will be retried", "task", r.arn, "err", err, "in", d)
	r.wakeAt(r.a.now().Add(d))
}

// observed is what the runtime shows of a task.
type observed struct {
	byName    map[string]runtime.ContainerInfo
	all       []runtime.ContainerInfo
	sandboxes []runtime.Sandbox
}

func (r *runner) observe(ctx context.Context, t *ecs.AssignedTask) (*observed, error) {
	sel := map[string]string{LabelTaskARN: t.TaskARN, LabelHost: r.a.host}
	cs, err := r.a.rt.List(ctx, sel)
	if err != nil {
		return nil, err
	}
	obs := &observed{byName: map[string]runtime.ContainerInfo{}, all: cs}
	for _, c := range cs {
		obs.byName[c.Labels[LabelContainerName]] = c
	}
	if networkMode(t) == runtime.NetworkAWSVPC {
		if obs.sandboxes, err = r.a.rt.ListSandboxes(ctx, sel); err != nil {
			return nil, err
		}
	}
	return obs, nil
}

// checkExits decides whether a running (or starting) task must stop
// because an essential container ended, or vanished.
func (r *runner) checkExits(t *ecs.AssignedTask, obs *observed) {
	for _, def := range t.Containers() {
		name := deref(def.Name)
		info, ok := obs.byName[name]
		switch {
		case ok && info.State == runtime.StateExited && started(info):
			if essential(def) {
				r.cause = &stopCause{ecsapi.TaskStopCodeEssentialContainerExited, "Essential container in task exited"}
			}
		case !ok:
			if was := r.st.Container(name); was != nil && was.RuntimeID != "" && was.LastStatus != ecs.ContainerStopped {
				r.reasons[name] = "CannotInspectContainerError: the container was removed from the engine outside of ECS"
				r.abandoned[name] = r.reasons[name]
				if essential(def) {
					r.cause = &stopCause{ecsapi.TaskStopCodeEssentialContainerExited, "Essential container in task exited"}
				}
			}
		}
	}
}

// start brings a task that should run closer to RUNNING: everything that
// can be done now, in order. It returns an error for a transient problem
// (the store was busy) to retry; problems that fail the task set r.cause.
func (r *runner) start(ctx context.Context, t *ecs.AssignedTask, obs *observed) error {
	defs := t.Containers()
	if len(defs) == 0 {
		return r.failStart(ctx, "ResourceInitializationError: the task definition "+deref(t.Definition.TaskDefinitionArn)+
			" has no containers (or no longer exists)", nil)
	}
	defsByName := map[string]ecsapi.ContainerDefinition{}
	for _, d := range defs {
		defsByName[deref(d.Name)] = d
	}
	r.registerEndpoints(ctx, t)

	var missing []ecsapi.ContainerDefinition
	for _, d := range defs {
		if _, ok := obs.byName[deref(d.Name)]; !ok && r.abandoned[deref(d.Name)] == "" {
			missing = append(missing, d)
		}
	}
	if len(missing) > 0 {
		select {
		case r.a.startSem <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		err := r.create(ctx, t, missing, obs)
		<-r.a.startSem
		if err != nil || r.cause != nil || ctx.Err() != nil {
			return err
		}
	} else if ecs.TaskStatusRank(r.st.LastStatus) < ecs.TaskStatusRank(ecs.TaskPending) {
		if err := r.reportPending(ctx, t, obs); err != nil {
			return err
		}
	}

	// Start what may start, round after round: a container started now
	// may meet the START condition of another.
	for round := 0; round <= len(defs); round++ {
		var toStart []ecsapi.ContainerDefinition
		var wake time.Time
		for _, d := range defs {
			name := deref(d.Name)
			info, ok := obs.byName[name]
			if !ok || info.State != runtime.StateCreated || r.abandoned[name] != "" {
				continue
			}
			res, why, at := checkDeps(defsByName, d, obs.byName, r.abandoned, r.a.now())
			switch res {
			case depMet:
				toStart = append(toStart, d)
			case depWait:
				if !at.IsZero() && (wake.IsZero() || at.Before(wake)) {
					wake = at
				}
			case depFailed:
				r.abandon(d, fmt.Sprintf("DependencyConditionFailed: container %s did not start: %s", name, why))
			}
		}
		if !wake.IsZero() {
			r.wakeAt(wake)
		}
		if len(toStart) == 0 || ctx.Err() != nil {
			break
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, d := range toStart {
			wg.Add(1)
			go func() {
				defer wg.Done()
				info, err := r.startContainer(ctx, t, d, obs.byName[deref(d.Name)])
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					if ctx.Err() == nil {
						r.abandon(d, err.Error())
					}
					return
				}
				obs.byName[deref(d.Name)] = info
			}()
		}
		wg.Wait()
	}
	if r.cause != nil || ctx.Err() != nil {
		return nil
	}
	r.ensureShippers(ctx, t, obs)
	return r.reportProgress(ctx, t, defs, obs)
}

// abandon gives up on starting a container; an essential one takes the
// task down with it.
func (r *runner) abandon(def ecsapi.ContainerDefinition, reason string) {
	name := deref(def.Name)
	r.abandoned[name] = reason
	r.reasons[name] = reason
	if essential(def) && r.cause == nil {
		r.cause = &stopCause{ecsapi.TaskStopCodeTaskFailedToStart, reason}
	}
}

// failStart records why the task cannot start (a container reason too,
// when one container is to blame); the stop path reports it.
func (r *runner) failStart(_ context.Context, reason string, def *ecsapi.ContainerDefinition) error {
	if def != nil {
		r.reasons[deref(def.Name)] = reason
		r.abandoned[deref(def.Name)] = reason
	}
	if r.cause == nil {
		r.cause = &stopCause{ecsapi.TaskStopCodeTaskFailedToStart, reason}
	}
	return nil
}

// registerEndpoints tells the endpoints server about the task once per
// runner (so again after a restart) and keeps the environment it returns.
// Endpoints that cannot be set up do not keep a task from running (most
// tasks never call them): the task starts without their variables, and
// registration is tried again at the next reconcile.
func (r *runner) registerEndpoints(ctx context.Context, t *ecs.AssignedTask) {
	if r.registered || r.a.o.Endpoints == nil {
		return
	}
	env, err := r.a.o.Endpoints.Register(ctx, t)
	if err != nil {
		if ctx.Err() == nil {
			r.a.log.Warn("agent: the task's credentials and metadata endpoints are not available", "task", r.arn, "err", err)
		}
		return
	}
	r.endpointEnv, r.registered = env, true
}

// reportPending moves the task to PENDING: its network is there, its
// images are being pulled.
func (r *runner) reportPending(ctx context.Context, t *ecs.AssignedTask, obs *observed) error {
	now := r.a.now()
	var ip, mac string
	if r.sandbox != nil {
		ip, mac = r.sandbox.Network.IPv4Address, r.sandbox.Network.MACAddress
	} else if len(obs.sandboxes) > 0 {
		ip, mac = obs.sandboxes[0].Network.IPv4Address, obs.sandboxes[0].Network.MACAddress
	}
	return r.report(ctx, func(st *ecs.TaskStatus) {
		advance(st, ecs.TaskPending)
		if st.PullStartedAt.IsZero() {
			st.PullStartedAt = now
		}
		if ip != "" {
			st.PrivateIPv4Address, st.MACAddress = ip, mac
		}
	})
}

// create provisions what the missing containers need (volumes, the
// sandbox, images, secrets) and creates them.
func (r *runner) create(ctx context.Context, t *ecs.AssignedTask, missing []ecsapi.ContainerDefinition, obs *observed) error {
	if r.volumes == nil {
		vols, err := r.a.planVolumes(t)
		if err != nil {
			return r.failStart(ctx, "ResourceInitializationError: "+err.Error(), nil)
		}
		for _, v := range vols {
			if v.kind == volumeTask || (v.kind == volumeShared && v.autoprovision) {
				if _, err := r.a.rt.CreateVolume(ctx, v.spec); err != nil {
					return r.failStart(ctx, "ResourceInitializationError: failed to create volume "+v.name+": "+engineMessage(err), nil)
				}
			}
		}
		r.volumes = vols
	}
	if networkMode(t) == runtime.NetworkAWSVPC && r.sandbox == nil {
		sb, err := r.ensureSandbox(ctx, t, obs)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return r.failStart(ctx, "ResourceInitializationError: failed to set up the task's network (awsvpc): "+engineMessage(err), nil)
		}
		r.sandbox = &sb
	}
	if ecs.TaskStatusRank(r.st.LastStatus) < ecs.TaskStatusRank(ecs.TaskPending) {
		if err := r.reportPending(ctx, t, obs); err != nil {
			return err
		}
	}
	if err := r.resolveEnv(ctx, t, missing); err != nil || r.cause != nil {
		return err
	}
	r.pullImages(ctx, t, missing)
	if r.cause != nil || ctx.Err() != nil {
		return nil
	}

	ordered, err := createOrder(t.Containers())
	if err != nil {
		return r.failStart(ctx, "CannotCreateContainerError: "+err.Error(), nil)
	}
	sb := runtime.Sandbox{NetworkMode: networkMode(t), Limits: taskLimits(t)}
	if r.sandbox != nil {
		sb = *r.sandbox
	}
	ids := map[string]runtime.ContainerID{}
	for name, info := range obs.byName {
		ids[name] = info.ID
	}
	for _, def := range ordered {
		name := deref(def.Name)
		if !slices.ContainsFunc(missing, func(d ecsapi.ContainerDefinition) bool { return deref(d.Name) == name }) {
			continue
		}
		gpus, err := gpuCount(def)
		if err == nil && gpus > r.a.o.GPUs {
			err = fmt.Errorf("container %s asks for %d GPUs and the host has %d", name, gpus, r.a.o.GPUs)
		}
		if err != nil {
			r.abandon(def, "CannotStartContainerError: "+err.Error())
			continue
		}
		labels := r.a.taskLabels(t)
		labels[LabelContainerName] = name
		img := r.images[name]
		spec, err := containerSpec(specInput{
			task: t, def: def, image: img.Ref, env: r.env[name], sandbox: sb,
			volumes: r.volumes, engineIDs: ids, labels: labels, gpus: gpus,
		})
		if err != nil {
			r.abandon(def, "CannotCreateContainerError: "+err.Error())
			continue
		}
		id, err := r.a.rt.CreateContainer(ctx, spec)
		var conflict *runtime.ConflictError
		if errors.As(err, &conflict) {
			// Made before a crash: adopt it.
			id, err = runtime.ContainerID(conflict.ID), nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			r.abandon(def, "CannotCreateContainerError: "+engineMessage(err))
			continue
		}
		ids[name] = id
		obs.byName[name] = runtime.ContainerInfo{ID: id, Name: spec.Name, State: runtime.StateCreated, Labels: labels}
	}
	return nil
}

// ensureSandbox finds the task's sandbox or makes it; one that is not ready
// (its holder died) is replaced.
func (r *runner) ensureSandbox(ctx context.Context, t *ecs.AssignedTask, obs *observed) (runtime.Sandbox, error) {
	for _, sb := range obs.sandboxes {
		if sb.Ready {
			return sb, nil
		}
		if err := r.a.rt.RemoveSandbox(ctx, sb.ID); err != nil {
			return runtime.Sandbox{}, err
		}
	}
	sb, err := r.a.rt.CreateSandbox(ctx, runtime.SandboxSpec{
		Name:        sandboxName(t),
		NetworkMode: runtime.NetworkAWSVPC,
		Limits:      taskLimits(t),
		Labels:      r.a.taskLabels(t),
		// Cloud Map DNS names of the task's service registries.
		NetworkAliases: t.DiscoveryNames,
	})
	var conflict *runtime.ConflictError
	if errors.As(err, &conflict) {
		return r.a.rt.InspectSandbox(ctx, runtime.SandboxID(conflict.ID))
	}
	return sb, err
}

// startContainer starts one created container, with its log stream made
// first (as the awslogs driver makes it), and returns it as it runs.
func (r *runner) startContainer(ctx context.Context, t *ecs.AssignedTask, def ecsapi.ContainerDefinition, info runtime.ContainerInfo) (runtime.ContainerInfo, error) {
	if cfg, ok := r.a.awslogs(t, def, info.ID); ok {
		if err := r.a.o.Logs.Append(ctx, cfg.account, cfg.region, cfg.group, cfg.stream, nil, cfg.create); err != nil {
			return info, errors.New("CannotStartContainerError: Error response from daemon: failed to initialize logging driver: " + logDriverMessage(err))
		}
	}
	if err := r.a.rt.StartContainer(ctx, info.ID); err != nil {
		return info, errors.New("CannotStartContainerError: " + engineMessage(err))
	}
	got, err := r.a.rt.InspectContainer(ctx, info.ID)
	if err != nil {
		info.State, info.StartedAt = runtime.StateRunning, r.a.now()
		return info, nil
	}
	return got, nil
}

// ensureShippers ships the output of every started container that is not
// being shipped yet: after a restart, from where the stream ends.
func (r *runner) ensureShippers(ctx context.Context, t *ecs.AssignedTask, obs *observed) {
	for _, def := range t.Containers() {
		info, ok := obs.byName[deref(def.Name)]
		if !ok || !started(info) {
			continue
		}
		if _, has := r.shippers[info.ID]; has {
			continue
		}
		cfg, ok := r.a.awslogs(t, def, info.ID)
		if !ok {
			continue
		}
		since, err := r.a.o.Logs.LastEventTime(ctx, cfg.account, cfg.region, cfg.group, cfg.stream)
		if err != nil {
			r.a.log.Warn("agent: reading where a log stream ends", "stream", cfg.stream, "err", err)
		}
		// Shipping lasts as long as the container, not as this pass: it
		// runs under the runner's context.
		r.shippers[info.ID] = r.a.ship(r.runCtx, cfg, info.ID, since)
	}
}

// reportProgress reports the containers as they are and, once every
// container has started (or will never start), ACTIVATING and RUNNING.
func (r *runner) reportProgress(ctx context.Context, t *ecs.AssignedTask, defs []ecsapi.ContainerDefinition, obs *observed) error {
	settled := true
	for _, d := range defs {
		name := deref(d.Name)
		if info, ok := obs.byName[name]; !(ok && started(info)) && r.abandoned[name] == "" {
			settled = false
		}
	}
	containers := r.containerStatuses(t, defs, obs)
	health := taskHealth(defs, obs)
	pulled := r.pullStoppedAt
	apply := func(st *ecs.TaskStatus, to string) {
		mergeContainers(st, containers)
		st.HealthStatus = health
		if st.PullStoppedAt.IsZero() && !pulled.IsZero() {
			st.PullStoppedAt = pulled
		}
		if to != "" {
			advance(st, to)
		}
	}
	if !settled || r.st.LastStatus == ecs.TaskRunning {
		probe := cloneStatus(r.st)
		apply(&probe, "")
		if statusEqual(probe, r.st) {
			return nil
		}
		return r.report(ctx, func(st *ecs.TaskStatus) { apply(st, "") })
	}
	if ecs.TaskStatusRank(r.st.LastStatus) < ecs.TaskStatusRank(ecs.TaskActivating) {
		if err := r.report(ctx, func(st *ecs.TaskStatus) { apply(st, ecs.TaskActivating) }); err != nil {
			return err
		}
	}
	now := r.a.now()
	return r.report(ctx, func(st *ecs.TaskStatus) {
		apply(st, ecs.TaskRunning)
		if st.StartedAt.IsZero() {
			st.StartedAt = now
		}
	})
}

// containerStatuses is what the runtime shows of each container, as ECS
// reports it.
func (r *runner) containerStatuses(t *ecs.AssignedTask, defs []ecsapi.ContainerDefinition, obs *observed) []ecs.ContainerStatus {
	mode := networkMode(t)
	out := make([]ecs.ContainerStatus, 0, len(defs))
	for _, d := range defs {
		name := deref(d.Name)
		cs := ecs.ContainerStatus{Name: name, LastStatus: ecs.ContainerPending, Reason: r.reasons[name]}
		if img, ok := r.images[name]; ok {
			cs.ImageDigest = img.Digest
		}
		info, ok := obs.byName[name]
		if ok {
			cs.RuntimeID = string(info.ID)
			cs.HealthStatus = healthOf(info)
			switch {
			case info.State == runtime.StateRunning:
				cs.LastStatus = ecs.ContainerRunning
				cs.NetworkBindings = networkBindings(mode, d, info)
			case info.State == runtime.StateExited && started(info):
				cs.LastStatus = ecs.ContainerStopped
				cs.ExitCode = ptr(int32(info.ExitCode))
				if info.OOMKilled && cs.Reason == "" {
					cs.Reason = "OutOfMemoryError: Container killed due to memory usage"
				}
			}
		}
		if r.abandoned[name] != "" && cs.LastStatus == ecs.ContainerPending {
			cs.LastStatus = ecs.ContainerStopped
		}
		out = append(out, cs)
	}
	return out
}

func healthOf(info runtime.ContainerInfo) string {
	switch info.Health.Status {
	case runtime.HealthHealthy:
		return string(ecsapi.HealthStatusHealthy)
	case runtime.HealthUnhealthy:
		return string(ecsapi.HealthStatusUnhealthy)
	}
	return string(ecsapi.HealthStatusUnknown)
}

// taskHealth is ECS's task health: HEALTHY when every essential container
// with a health check is healthy, UNHEALTHY when one of them is not, and
// UNKNOWN while they are being judged or when none has a check.
func taskHealth(defs []ecsapi.ContainerDefinition, obs *observed) string {
	checked, healthy := false, true
	for _, d := range defs {
		if !essential(d) || d.HealthCheck == nil || len(d.HealthCheck.Command) == 0 {
			continue
		}
		checked = true
		switch obs.byName[deref(d.Name)].Health.Status {
		case runtime.HealthUnhealthy:
			return string(ecsapi.HealthStatusUnhealthy)
		case runtime.HealthHealthy:
		default:
			healthy = false
		}
	}
	if checked && healthy {
		return string(ecsapi.HealthStatusHealthy)
	}
	return string(ecsapi.HealthStatusUnknown)
}

// stop takes the task down: DEACTIVATING, STOPPING (containers stopped in
// reverse dependency order, each given its stopTimeout), DEPROVISIONING
// (exit codes reported, logs flushed, everything removed), STOPPED. It
// returns true once the task is STOPPED.
func (r *runner) stop(ctx context.Context, t *ecs.AssignedTask) bool {
	cause := r.cause
	if ecs.TaskStatusRank(r.st.LastStatus) < ecs.TaskStatusRank(ecs.TaskDeactivating) {
		err := r.report(ctx, func(st *ecs.TaskStatus) {
			advance(st, ecs.TaskDeactivating)
			if cause != nil && st.StopCode == "" {
				st.StopCode, st.StoppedReason = string(cause.code), cause.reason
			}
		})
		if !r.stopReportOK(ctx, err) {
			return false
		}
	}
	if ecs.TaskStatusRank(r.st.LastStatus) < ecs.TaskStatusRank(ecs.TaskStopping) {
		if err := r.report(ctx, func(st *ecs.TaskStatus) { advance(st, ecs.TaskStopping) }); !r.stopReportOK(ctx, err) {
			return false
		}
	}

	defs := t.Containers()
	obs, err := r.observe(ctx, t)
	engineAway := err != nil
	if engineAway {
		if ctx.Err() != nil {
			return false
		}
		if !runtime.IsUnavailable(err) {
			r.retry(ctx, err, time.Second)
			return false
		}
		// Nothing can be stopped or removed while the engine is away: the
		// task is reported stopped, and the sweep removes what is left
		// once the engine is back.
		r.a.log.Warn("agent: the container engine is unavailable; the task is stopped without cleanup", "task", r.arn, "err", err)
		obs = &observed{byName: map[string]runtime.ContainerInfo{}}
	} else {
		r.stopContainers(ctx, defs, obs)
		if ctx.Err() != nil {
			return false
		}
		if fresh, err := r.observe(ctx, t); err == nil {
			obs = fresh
		}
	}

	containers := r.containerStatuses(t, defs, obs)
	execStopped := time.Time{}
	for _, c := range obs.all {
		if c.FinishedAt.After(execStopped) {
			execStopped = c.FinishedAt
		}
	}
	if execStopped.IsZero() {
		execStopped = r.a.now()
	}
	if ecs.TaskStatusRank(r.st.LastStatus) < ecs.TaskStatusRank(ecs.TaskDeprovisioning) {
		err := r.report(ctx, func(st *ecs.TaskStatus) {
			mergeContainers(st, containers)
			advance(st, ecs.TaskDeprovisioning)
			if st.ExecutionStoppedAt.IsZero() {
				st.ExecutionStoppedAt = execStopped.UTC()
			}
			if st.PullStoppedAt.IsZero() && !r.pullStoppedAt.IsZero() {
				st.PullStoppedAt = r.pullStoppedAt
			}
		})
		if !r.stopReportOK(ctx, err) {
			return false
		}
	}

	// Output written up to the end is shipped before anything is removed.
	r.waitShippers(ctx, 10*time.Second)
	if r.a.o.Endpoints != nil {
		r.a.o.Endpoints.Unregister(t.TaskARN)
	}
	if !engineAway && !r.cleanup(ctx, t, obs) {
		r.retry(ctx, errors.New("cleanup incomplete"), time.Second)
		return false
	}
	err = r.report(ctx, func(st *ecs.TaskStatus) {
		mergeContainers(st, containers)
		advance(st, ecs.TaskStopped)
	})
	if !r.stopReportOK(ctx, err) {
		return false
	}
	r.st.LastStatus = ecs.TaskStopped
	return true
}

// stopReportOK judges a report on the way out: a task already further
// along (or gone) is fine, other failures are retried.
func (r *runner) stopReportOK(ctx context.Context, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, ecs.ErrStatusRegression):
		return true
	case errors.Is(err, ecs.ErrTaskNotFound):
		r.gone = true
		return true
	}
	r.retry(ctx, err, time.Second)
	return false
}

// stopContainers stops the running containers, dependents first, each with
// its stopTimeout (SIGTERM, then SIGKILL).
func (r *runner) stopContainers(ctx context.Context, defs []ecsapi.ContainerDefinition, obs *observed) {
	byName := map[string]ecsapi.ContainerDefinition{}
	for _, d := range defs {
		byName[deref(d.Name)] = d
	}
	for _, wave := range stopWaves(defs) {
		var wg sync.WaitGroup
		for _, name := range wave {
			info, ok := obs.byName[name]
			if !ok || info.State != runtime.StateRunning {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				timeout := stopTimeout(byName[name])
				sctx, cancel := context.WithTimeout(ctx, timeout+30*time.Second)
				defer cancel()
				if err := r.a.rt.StopContainer(sctx, info.ID, timeout); err != nil && !runtime.IsNotFound(err) && ctx.Err() == nil {
					r.a.log.Warn("agent: stopping a container", "task", r.arn, "container", name, "err", err)
				}
			}()
		}
		wg.Wait()
	}
	// Containers of other revisions or names (nothing should make them)
	// are stopped too, so nothing outlives the task.
	for _, c := range obs.all {
		if _, known := byName[c.Labels[LabelContainerName]]; !known && c.State == runtime.StateRunning {
			_ = r.a.rt.StopContainer(ctx, c.ID, DefaultStopTimeout)
		}
	}
}

// cleanup removes the task's containers, sandbox and task volumes; it
// reports whether everything is gone.
func (r *runner) cleanup(ctx context.Context, t *ecs.AssignedTask, obs *observed) bool {
	ok := true
	for _, c := range obs.all {
		if err := r.a.rt.RemoveContainer(ctx, c.ID); err != nil {
			r.a.log.Warn("agent: removing a container", "task", r.arn, "container", c.Name, "err", err)
			ok = false
		}
	}
	sel := map[string]string{LabelTaskARN: t.TaskARN, LabelHost: r.a.host}
	if sbs, err := r.a.rt.ListSandboxes(ctx, sel); err == nil {
		for _, sb := range sbs {
			if err := r.a.rt.RemoveSandbox(ctx, sb.ID); err != nil {
				r.a.log.Warn("agent: removing a sandbox", "task", r.arn, "err", err)
				ok = false
			}
		}
	} else {
		ok = false
	}
	if vols, err := r.a.rt.ListVolumes(ctx, sel); err == nil {
		for _, v := range vols {
			if err := r.a.rt.RemoveVolume(ctx, v.Name); err != nil {
				r.a.log.Warn("agent: removing a task volume", "task", r.arn, "volume", v.Name, "err", err)
				ok = false
			}
		}
	} else {
		ok = false
	}
	return ok
}

func (r *runner) waitShippers(ctx context.Context, timeout time.Duration) {
	deadline := time.After(timeout)
	for id, s := range r.shippers {
		select {
		case <-s.done:
		case <-deadline:
			r.a.log.Warn("agent: log shipping did not finish in time", "task", r.arn, "container", id)
			return
		case <-ctx.Done():
			return
		}
	}
}

// report applies fn to the task's status in one transaction and keeps the
// result as the runner's view.
func (r *runner) report(ctx context.Context, fn func(*ecs.TaskStatus)) error {
	var got ecs.TaskStatus
	err := r.a.o.Tasks.UpdateTaskState(ctx, r.arn, func(st *ecs.TaskStatus) error {
		fn(st)
		got = cloneStatus(*st)
		return nil
	})
	if err == nil {
		r.st = got
	}
	return err
}

// advance moves a status forward to `to`, never back.
func advance(st *ecs.TaskStatus, to string) {
	if ecs.TaskStatusRank(st.LastStatus) < ecs.TaskStatusRank(to) {
		st.LastStatus = to
	}
}

// mergeContainers applies observed container statuses to a report: a
// container's status never moves back, and what is known is not forgotten.
func mergeContainers(st *ecs.TaskStatus, cs []ecs.ContainerStatus) {
	for _, c := range cs {
		was := st.Container(c.Name)
		if was == nil {
			continue
		}
		if ecs.ContainerStatusRank(c.LastStatus) > ecs.ContainerStatusRank(was.LastStatus) {
			was.LastStatus = c.LastStatus
		}
		if c.RuntimeID != "" {
			was.RuntimeID = c.RuntimeID
		}
		if c.ImageDigest != "" {
			was.ImageDigest = c.ImageDigest
		}
		if c.ExitCode != nil {
			was.ExitCode = ptr(*c.ExitCode)
		}
		if c.Reason != "" {
			was.Reason = c.Reason
		}
		if c.HealthStatus != "" {
			was.HealthStatus = c.HealthStatus
		}
		if c.NetworkBindings != nil || was.LastStatus == ecs.ContainerStopped {
			was.NetworkBindings = c.NetworkBindings
		}
	}
}

func cloneStatus(s ecs.TaskStatus) ecs.TaskStatus {
	c := s
	c.Containers = make([]ecs.ContainerStatus, len(s.Containers))
	for i, cs := range s.Containers {
		cs.NetworkBindings = slices.Clone(cs.NetworkBindings)
		if cs.ExitCode != nil {
			cs.ExitCode = ptr(*cs.ExitCode)
		}
		c.Containers[i] = cs
	}
	return c
}

// statusEqual compares what the agent reports of a status.
func statusEqual(a, b ecs.TaskStatus) bool {
	if a.LastStatus != b.LastStatus || a.HealthStatus != b.HealthStatus || !a.PullStoppedAt.Equal(b.PullStoppedAt) ||
		len(a.Containers) != len(b.Containers) {
		return false
	}
	for i := range a.Containers {
		x, y := a.Containers[i], b.Containers[i]
		if x.LastStatus != y.LastStatus || x.RuntimeID != y.RuntimeID || x.ImageDigest != y.ImageDigest ||
			x.Reason != y.Reason || x.HealthStatus != y.HealthStatus || (x.ExitCode == nil) != (y.ExitCode == nil) ||
			(x.ExitCode != nil && *x.ExitCode != *y.ExitCode) || len(x.NetworkBindings) != len(y.NetworkBindings) {
			return false
		}
		for j := range x.NetworkBindings {
			p, q := x.NetworkBindings[j], y.NetworkBindings[j]
			if deref(p.HostPort) != deref(q.HostPort) || deref(p.ContainerPort) != deref(q.ContainerPort) ||
				deref(p.BindIP) != deref(q.BindIP) || deref(p.Protocol) != deref(q.Protocol) {
				return false
			}
		}
	}
	return true
}
