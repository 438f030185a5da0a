package ecs

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/ecs/deploy"
	"github.com/berth-dev/berth/store"
)

// The service controller: a level-triggered loop that, for every service,
// reads the service record and the records of its tasks and acts to close
// the difference, in one store transaction per service and pass:
//
//   - counts the tasks of each deployment (a task belongs to the deployment
//     whose id is its startedBy; its group is "service:<name>");
//   - stops RUNNING tasks that failed their container health checks once
//     healthCheckGracePeriodSeconds has passed, and counts tasks that
//     stopped on their own as failures of their deployment;
//   - trips the circuit breaker (and rolls back) when a deployment's
//     failures reach deploy.FailureThreshold;
//   - starts and stops tasks as deploy.Plan says (REPLICA), or one task per
//     container instance (DAEMON);
//   - drops deployments that have no task left, marks the primary
//     COMPLETED, and says so in the service events.
//
// It is woken when a service changes and when a service task's status
// changes, and runs on a timer besides; a pass after a restart sees what
// the last one left, so nothing depends on having seen every event.

// serviceLoop wakes the controller.
type serviceLoop struct {
	once     sync.Once
	kick     chan struct{}
	interval time.Duration // zero: a second
	// stable is how long a task without health checks must have been
	// RUNNING to count as healthy (zero: 3 s), so that a container that
	// exits at once neither completes a deployment nor resets the circuit
	// breaker's count.
	stable time.Duration
	lb     LoadBalancer
	// alarms reads CloudWatch alarm states for deployment alarms (nil:
	// they are kept but never trigger); watch names, by service, the
	// alarms the last pass found watched (deployment_alarms.go).
	alarms Alarms
	watch  map[string][]string
	mu     sync.Mutex
}

func (l *serviceLoop) ch() chan struct{} {
	l.once.Do(func() { l.kick = make(chan struct{}, 1) })
	return l.kick
}

// kickServices wakes the service controller without blocking.
func (s *Service) kickServices() {
	select {
	case s.services.ch() <- struct{}{}:
	default:
	}
}

// LoadBalancer is what the service controller needs from Elastic Load
// Balancing (elb.Service's RegisterTargetsFor, DeregisterTargetsFor and
// TargetHealth): a service's tasks are registered in its target groups
// once RUNNING, count as healthy only when every target group says
// healthy, and are deregistered and left draining before they are stopped.
// Server wiring sets it with SetLoadBalancer; without one, loadBalancers are
// stored and returned but inert.
type LoadBalancer interface {
	RegisterTargets(ctx context.Context, account, region, targetGroupARN string, targets []Target) error
	DeregisterTargets(ctx context.Context, account, region, targetGroupARN string, targets []Target) error
	// TargetHealth returns the state (initial, healthy, unhealthy,
	// draining, ...) of every target registered in the group.
	TargetHealth(ctx context.Context, account, region, targetGroupARN string) (map[Target]string, error)
}

// maxDrain bounds how long the controller waits for a deregistered target
// to finish draining before it stops the task anyway.
const maxDrain = 10 * time.Minute

// Target is a task's address in a target group.
type Target struct {
	ID   string // an IP address (awsvpc) or the host's address
	Port int32
}

// SetLoadBalancer connects the service controller to a load balancer.
func (s *Service) SetLoadBalancer(lb LoadBalancer) {
	s.services.mu.Lock()
	s.services.lb = lb
	s.services.mu.Unlock()
}

func (s *Service) loadBalancer() LoadBalancer {
	s.services.mu.Lock()
	defer s.services.mu.Unlock()
	return s.services.lb
}

// runServices runs the controller until ctx ends.
func (s *Service) runServices(ctx context.Context) {
	every := s.services.interval
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.ReconcileServices(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("ecs: reconciling services", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.services.ch():
		case <-t.C:
		}
	}
}

// ReconcileServices runs one pass over every service of every account and
// region.
func (s *Service) ReconcileServices(ctx context.Context) error {
	type ref struct {
		sc  scope
		key string
	}
	var refs []ref
	err := s.st.View(ctx, func(tx store.Tx) error {
		refs = refs[:0]
		var scopes []scope
		err := listDocs(tx, kindScope, global, "", "", func(id string, _ *struct{}) (bool, error) {
			if account, region, ok := strings.Cut(id, "/"); ok {
				scopes = append(scopes, scope{account: account, region: region})
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, sc := range scopes {
			err := listDocs(tx, KindService, sc, "", "", func(key string, _ *json.RawMessage) (bool, error) {
				refs = append(refs, ref{sc, key})
				return true, nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var first error
	for _, r := range refs {
		if err := s.reconcileService(ctx, r.sc, r.key); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// svcTask is a task of a service as one pass sees it.
type svcTask struct {
	rec       *taskRecord
	depID     string // its startedBy: the deployment it belongs to
	healthy   bool
	unhealthy bool   // failed health checks past the grace period
	why       string // the health check that failed
}

// lbAction is a load balancer call to make after the pass commits.
type lbAction struct {
	register bool
	tg       string
	target   Target
}

// reconcileService runs one pass over one service.
func (s *Service) reconcileService(ctx context.Context, sc scope, key string) error {
	var hosts []string
	var lbs []lbAction
	health := s.targetHealth(ctx, sc, key)
	regs, connectNS := s.discoveryNames(ctx, sc, key)
	alarmStates := s.deploymentAlarmStates(ctx, sc, key)
	var svc *serviceRecord
	var want map[string][]RegistryInstance
	err := s.st.Update(ctx, func(tx store.Tx) error {
		hosts, lbs, svc, want = nil, nil, nil, nil
		r, err := getDoc[serviceRecord](tx, KindService, sc, key)
		if err != nil || r == nil {
			return err
		}
		svc = r
		now := s.clock()
		if r.Status == svcInactive {
			if r.DeletedAt.Before(now.Add(-s.retention)) {
				if err := purgeServiceDeployments(tx, sc, r.Cluster, r.Name); err != nil {
					return err
				}
				return deleteDoc(tx, KindService, sc, key)
			}
			return nil
		}
		before, _ := json.Marshal(r)
		p := &servicePass{s: s, tx: tx, sc: sc, r: r, now: now, defs: map[string]*taskDefRecord{}, health: health, registries: regs, connectNS: connectNS, alarmStates: alarmStates}
		if err := p.run(); err != nil {
			return err
		}
		hosts, lbs, want = p.hosts, p.lbs, p.registrations()
		after, _ := json.Marshal(r)
		if string(before) == string(after) {
			return nil
		}
		if err := syncServiceDeployments(tx, sc, r, now); err != nil {
			return err
		}
		return putDoc(tx, KindService, sc, key, r, now)
	})
	if err != nil {
		return err
	}
	s.notifier.notify(hosts...)
	s.syncRegistrations(ctx, sc, svc, want)
	if lb := s.loadBalancer(); lb != nil {
		for _, a := range lbs {
			var err error
			if a.register {
				err = lb.RegisterTargets(ctx, sc.account, sc.region, a.tg, []Target{a.target})
			} else {
				err = lb.DeregisterTargets(ctx, sc.account, sc.region, a.tg, []Target{a.target})
			}
			if err != nil {
				s.log.Warn("ecs: load balancer target", "targetGroup", a.tg, "register", a.register, "err", err)
			}
		}
	}
	return nil
}

// targetHealth reads, outside any transaction, the target health of the
// service's target groups: nil when there is no load balancer to ask. A
// group that cannot be read maps to nil and is not waited for.
func (s *Service) targetHealth(ctx context.Context, sc scope, key string) map[string]map[Target]string {
	lb := s.loadBalancer()
	if lb == nil {
		return nil
	}
	var groups []string
	err := s.st.View(ctx, func(tx store.Tx) error {
		r, err := getDoc[serviceRecord](tx, KindService, sc, key)
		if err != nil || r == nil {
			return err
		}
		lbs := slices.Clone(r.LoadBalancers)
		if r.Controller != string(ecsapi.DeploymentControllerTypeEcs) {
			lbs = nil
			for _, ts := range r.TaskSets {
				lbs = append(lbs, ts.LoadBalancers...)
			}
		}
		for _, l := range lbs {
			if tg := deref(l.TargetGroupArn); tg != "" && !slices.Contains(groups, tg) {
				groups = append(groups, tg)
			}
		}
		return nil
	})
	if err != nil || len(groups) == 0 {
		return nil
	}
	out := map[string]map[Target]string{}
	for _, tg := range groups {
		m, err := lb.TargetHealth(ctx, sc.account, sc.region, tg)
		if err != nil {
			s.log.Warn("ecs: reading target health", "targetGroup", tg, "err", err)
			m = nil
		} else if m == nil {
			m = map[Target]string{}
		}
		out[tg] = m
	}
	return out
}

// drainingTask is a task deregistered from its target groups, to be
// stopped once they finished draining it.
type drainingTask struct {
	ID     string    `json:"id"`
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
}

// servicePass is the state of one pass over one service.
type servicePass struct {
	s     *Service
	tx    store.Tx
	sc    scope
	r     *serviceRecord
	c     *clusterRecord
	now   time.Time
	defs  map[string]*taskDefRecord
	tasks []*svcTask // not stopping
	hosts []string
	lbs   []lbAction

	started, stopped []string // task ids, for the events
	drains           int      // tasks that began draining

	// health is the target health of the service's target groups (nil:
	// no load balancer); draining the tasks deregistered from them.
	health   map[string]map[Target]string
	draining []*taskRecord

	// registries describes the service's Cloud Map registries by ARN
	// (nil: no Cloud Map).
	registries map[string]RegistryInfo
	// connectNS is the name of the Service Connect namespace ("": none).
	connectNS string
	// alarmStates are the states of the primary deployment's alarms, read
	// before the pass (nil: none to watch; deployment_alarms.go).
	alarmStates map[string]string
}

func (p *servicePass) run() error {
	r := p.r
	c, err := getDoc[clusterRecord](p.tx, kindCluster, p.sc, r.Cluster)
	if err != nil {
		return err
	}
	if c == nil {
		return nil
	}
	p.c = c
	if err := p.observe(); err != nil {
		return err
	}
	if err := p.finishDraining(); err != nil {
		return err
	}
	p.circuitBreaker()
	p.deploymentAlarms()

	// Health: replace tasks that failed their health checks.
	for _, t := range slices.Clone(p.tasks) {
		if t.unhealthy {
			if d := r.deployment(t.depID); d != nil && !slices.Contains(d.Failed, t.rec.ID) {
				d.Failed = append(d.Failed, t.rec.ID)
				d.FailedTasks++
			}
			r.event(p.now, "(task %s) failed %s.", t.rec.ID, t.why)
			if err := p.stop(t, "Task failed "+t.why); err != nil {
				return err
			}
		}
	}

	switch {
	case r.Controller != string(ecsapi.DeploymentControllerTypeEcs):
		err = p.taskSets()
	case r.Scheduling == string(ecsapi.SchedulingStrategyDaemon):
		err = p.daemon()
	default:
		err = p.replica()
	}
	if err != nil {
		return err
	}
	if len(p.started) > 0 {
		r.event(p.now, "has started %d tasks: %s.", len(p.started), taskList(p.started))
	}
	if p.drains > 0 {
		r.event(p.now, "has begun draining connections on %d tasks.", p.drains)
	}
	if len(p.stopped) > 0 {
		r.event(p.now, "has stopped %d running tasks: %s.", len(p.stopped), taskList(p.stopped))
	}
	if r.Controller != string(ecsapi.DeploymentControllerTypeEcs) {
		return p.settleTaskSets()
	}
	return p.settle()
}

func taskList(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "(task " + id + ")"
	}
	return strings.Join(parts, " ")
}

// def returns the task definition record of an ARN (cached).
func (p *servicePass) def(arn string) *taskDefRecord {
	if d, ok := p.defs[arn]; ok {
		return d
	}
	d, err := lookupTaskDef(p.tx, p.sc, arn)
	if err != nil {
		d = nil
	}
	p.defs[arn] = d
	return d
}

// hasHealthCheck reports whether any container of the definition has a
// health check (then a task is healthy only once ECS says HEALTHY).
func hasHealthCheck(d *taskDefRecord) bool {
	if d == nil {
		return false
	}
	return slices.ContainsFunc(d.Input.ContainerDefinitions, func(c ecsapi.ContainerDefinition) bool {
		return c.HealthCheck != nil && len(c.HealthCheck.Command) > 0
	})
}

// observe reads the service's tasks, counts failures and health.
func (p *servicePass) observe() error {
	r := p.r
	group := "service:" + r.Name
	deps := map[string]*deploymentRecord{}
	for i := range r.Deployments {
		d := &r.Deployments[i]
		deps[d.ID] = d
		d.RunningCount, d.PendingCount = 0, 0
	}
	for i := range r.TaskSets {
		r.TaskSets[i].RunningCount, r.TaskSets[i].PendingCount = 0, 0
	}
	seen := map[string]bool{}
	draining := map[string]bool{}
	for _, x := range r.Draining {
		draining[x.ID] = true
	}
	grace := time.Duration(deref(r.GracePeriod)) * time.Second
	stable := p.s.services.stable
	if stable <= 0 {
		stable = 3 * time.Second
	}
	err := listTasks(p.tx, p.sc, r.Cluster, store.ECSTaskFilter{Group: group}, "", func(t *taskRecord) (bool, error) {
		d := deps[t.StartedBy]
		seen[t.ID] = true
		st := &t.Status
		if t.DesiredStatus == TaskStopped || st.LastStatus == TaskStopped {
			// A task that stopped without the scheduler or a user asking
			// failed: it exited, or never started.
			if d != nil && t.StopCode == "" && !slices.Contains(d.Failed, t.ID) {
				d.Failed = append(d.Failed, t.ID)
				d.FailedTasks++
			}
			return true, nil
		}
		if draining[t.ID] {
			p.draining = append(p.draining, t)
			return true, nil
		}
		task := &svcTask{rec: t, depID: t.StartedBy}
		if st.LastStatus == TaskRunning {
			td := p.taskDefOf(t.StartedBy)
			checked := td != "" && hasHealthCheck(p.def(td))
			switch {
			case checked && st.HealthStatus == string(ecsapi.HealthStatusHealthy):
				task.healthy = true
			case !checked:
				task.healthy = !st.StartedAt.IsZero() && p.now.Sub(st.StartedAt) >= stable
			case st.HealthStatus == string(ecsapi.HealthStatusUnhealthy):
				task.unhealthy, task.why = true, "container health checks"
			}
			if state, tg := p.lbState(t); state != "healthy" {
				task.healthy = false
				if state == "unhealthy" && !task.unhealthy {
					task.unhealthy, task.why = true, "ELB health checks in (target-group "+tg+")"
				}
			}
			if task.unhealthy && !st.StartedAt.IsZero() && p.now.Sub(st.StartedAt) < grace {
				task.unhealthy = false // within healthCheckGracePeriodSeconds
			}
		}
		if ts := r.taskSet(t.StartedBy); ts != nil {
			if st.LastStatus == TaskRunning {
				ts.RunningCount++
			} else {
				ts.PendingCount++
			}
		}
		if d != nil {
			if st.LastStatus == TaskRunning {
				d.RunningCount++
			} else {
				d.PendingCount++
			}
			if task.healthy && !slices.Contains(d.Healthy, t.ID) {
				d.Healthy = append(d.Healthy, t.ID)
				d.FailedTasks = 0 // resetOnHealthyTask
			}
		}
		p.tasks = append(p.tasks, task)
		return true, nil
	})
	if err != nil {
		return err
	}
	// Forget draining tasks that stopped meanwhile, and tasks that are gone
	// (purged after the retention).
	r.Draining = slices.DeleteFunc(r.Draining, func(x drainingTask) bool {
		return !slices.ContainsFunc(p.draining, func(t *taskRecord) bool { return t.ID == x.ID })
	})
	for i := range r.Deployments {
		d := &r.Deployments[i]
		d.Failed = slices.DeleteFunc(d.Failed, func(id string) bool { return !seen[id] })
		d.Healthy = slices.DeleteFunc(d.Healthy, func(id string) bool { return !seen[id] })
	}
	return nil
}

// circuitBreaker marks the primary deployment FAILED once its failures
// reach the threshold and, with rollback, makes the last COMPLETED
// deployment's task definition primary again.
func (p *servicePass) circuitBreaker() {
	r := p.r
	d := r.primary()
	cb := r.Config.DeploymentCircuitBreaker
	if d == nil || cb == nil || !deref(cb.Enable) || d.RolloutState != string(ecsapi.DeploymentRolloutStateInProgress) {
		return
	}
	if d.FailedTasks < deploy.FailureThreshold(r.DesiredCount) {
		return
	}
	p.failDeployment(d, "ECS deployment circuit breaker: tasks failed to start.", "tasks failed to start", deref(cb.Rollback), "ECS deployment circuit breaker")
}

// failDeployment marks deployment d FAILED (it starts no more tasks) and,
// with rollback, makes the last COMPLETED deployment's task definition
// primary again; by names what failed it in the rollback's reason. The
// circuit breaker and the deployment alarms both fail deployments so.
func (p *servicePass) failDeployment(d *deploymentRecord, reason, why string, rollback bool, by string) {
	r := p.r
	d.RolloutState = string(ecsapi.DeploymentRolloutStateFailed)
	d.RolloutStateReason = reason
	d.UpdatedAt = p.now
	r.event(p.now, "(deployment %s) deployment failed: %s.", d.ID, why)
	last := r.LastCompleted
	if !rollback || last == nil || last.ID == d.ID {
		return
	}
	failedID, failedSD := d.ID, d.ServiceDeploymentID
	nd := r.newDeployment(last.TaskDefinition, p.now)
	nd.RolloutStateReason = by + ": rolling back to deploymentId " + last.ID + "."
	nd.RevisionID, nd.RollbackOf = last.RevisionID, failedSD
	r.event(p.now, "(deployment %s) rolling back to deployment %s.", failedID, last.ID)
}

func (r *serviceRecord) deployment(id string) *deploymentRecord {
	for i := range r.Deployments {
		if r.Deployments[i].ID == id {
			return &r.Deployments[i]
		}
	}
	return nil
}

// replica runs one step of deploy.Plan.
func (p *servicePass) replica() error {
	r := p.r
	d := r.primary()
	if d == nil {
		return nil
	}
	var newH, newO, oldH, oldO []*svcTask
	for _, t := range p.tasks {
		isNew := t.depID == d.ID
		switch {
		case isNew && t.healthy:
			newH = append(newH, t)
		case isNew:
			newO = append(newO, t)
		case t.healthy:
			oldH = append(oldH, t)
		default:
			oldO = append(oldO, t)
		}
	}
	cfg := r.Config
	step := deploy.Plan(deploy.Observed{
		Desired:           r.DesiredCount,
		MinHealthyPercent: int(deref(cfg.MinimumHealthyPercent)),
		MaxPercent:        int(deref(cfg.MaximumPercent)),
		NewHealthy:        len(newH),
		NewOther:          len(newO),
		OldHealthy:        len(oldH),
		OldOther:          len(oldO),
		CanStart:          d.RolloutState != string(ecsapi.DeploymentRolloutStateFailed),
	})
	reason := "Scaling activity initiated by (deployment " + d.ID + ")"
	// Scale-in protection: a protected task is passed over (an unprotected
	// one of the same kind goes instead, or none), so a scale-in leaves the
	// service above desiredCount and a deployment waits until the
	// protection is removed or expires. A deleted service stops them all.
	protected := map[string]bool{}
	if r.Status == svcActive {
		var err error
		if protected, err = protectedTasks(p.tx, p.sc, r.Cluster, p.now); err != nil {
			return err
		}
	}
	held := 0
	stopN := func(ts []*svcTask, n int) error {
		// The newest first: they have served least.
		slices.SortFunc(ts, func(a, b *svcTask) int { return b.rec.CreatedAt.Compare(a.rec.CreatedAt) })
		for _, t := range ts {
			if n == 0 {
				break
			}
			if protected[t.rec.ID] {
				continue
			}
			if err := p.stop(t, reason); err != nil {
				return err
			}
			n--
		}
		held += n
		return nil
	}
	if err := stopN(oldO, step.StopOldOther); err != nil {
		return err
	}
	if err := stopN(oldH, step.StopOldHealthy); err != nil {
		return err
	}
	if err := stopN(newO, step.StopNewOther); err != nil {
		return err
	}
	if err := stopN(newH, step.StopNewHealthy); err != nil {
		return err
	}
	if held > 0 {
		p.warn("was unable to scale in due to (reason: %d tasks under protection).", held)
	}
	if step.StartNew > 0 {
		return p.start(d, step.StartNew, nil)
	}
	return nil
}

// daemon keeps one task of the primary deployment on each ACTIVE container
// instance that satisfies the constraints.
func (p *servicePass) daemon() error {
	r := p.r
	d := r.primary()
	if d == nil {
		return nil
	}
	var insts []*instanceRecord
	if r.Status == svcActive {
		err := listDocs(p.tx, kindInstance, p.sc, r.Cluster+"/", "", func(_ string, in *instanceRecord) (bool, error) {
			if in.Status == statusActive && in.AgentConnected {
				insts = append(insts, in)
			}
			return true, nil
		})
		if err != nil {
			return err
		}
	}
	rules, err := parseConstraints(r.Constraints, nil)
	if err != nil {
		rules = nil
	}
	var eligible []*instanceRecord
	for _, in := range insts {
		ok := true
		for _, c := range rules {
			if c.memberOf != nil && !c.memberOf.match(in) {
				ok = false
			}
		}
		if ok {
			eligible = append(eligible, in)
		}
	}
	if r.DesiredCount != len(eligible) {
		r.DesiredCount = len(eligible)
	}
	d.DesiredCount = r.DesiredCount
	on := map[string][]*svcTask{}
	for _, t := range p.tasks {
		if t.rec.DesiredStatus == TaskRunning {
			on[t.rec.InstanceID] = append(on[t.rec.InstanceID], t)
		}
	}
	reason := "Scaling activity initiated by (deployment " + d.ID + ")"
	keep := map[string]bool{}
	for _, in := range eligible {
		keep[in.ID] = true
		var cur, old []*svcTask
		for _, t := range on[in.ID] {
			if t.depID == d.ID {
				cur = append(cur, t)
			} else {
				old = append(old, t)
			}
		}
		for _, t := range old {
			if err := p.stop(t, reason); err != nil {
				return err
			}
		}
		for _, t := range cur[min(1, len(cur)):] {
			if err := p.stop(t, reason); err != nil {
				return err
			}
		}
		if len(cur) == 0 && len(old) == 0 && d.RolloutState != string(ecsapi.DeploymentRolloutStateFailed) {
			if err := p.start(d, 1, in); err != nil {
				return err
			}
		}
	}
	for id, ts := range on {
		if !keep[id] {
			for _, t := range ts {
				if err := p.stop(t, reason); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// stop asks a task to stop, deregistering it from its target groups first.
func (p *servicePass) stop(t *svcTask, reason string) error {
	rec := t.rec
	if rec.DesiredStatus == TaskStopped {
		return nil
	}
	if p.targets(rec, false) {
		p.r.Draining = append(p.r.Draining, drainingTask{ID: rec.ID, Reason: reason, Since: p.now})
		p.draining = append(p.draining, rec)
		p.drains++
	} else if err := p.stopNow(rec, reason); err != nil {
		return err
	}
	p.tasks = slices.DeleteFunc(p.tasks, func(x *svcTask) bool { return x == t })
	if d := p.r.deployment(t.depID); d != nil {
		if rec.Status.LastStatus == TaskRunning {
			d.RunningCount--
		} else {
			d.PendingCount--
		}
	}
	if ts := p.r.taskSet(t.depID); ts != nil {
		if rec.Status.LastStatus == TaskRunning {
			ts.RunningCount--
		} else {
			ts.PendingCount--
		}
	}
	return nil
}

// stopNow sets a task's desired status STOPPED; its agent stops it.
func (p *servicePass) stopNow(rec *taskRecord, reason string) error {
	old := *rec
	rec.DesiredStatus = TaskStopped
	rec.StoppingAt = p.now
	rec.StopCode = string(ecsapi.TaskStopCodeServiceSchedulerInitiated)
	rec.StoppedReason = reason
	rec.Version++
	if err := p.s.saveTask(p.tx, p.sc, &old, rec); err != nil {
		return err
	}
	p.hosts = append(p.hosts, rec.HostID)
	p.stopped = append(p.stopped, rec.ID)
	return nil
}

// finishDraining stops the draining tasks whose targets have drained (are
// gone from their target groups), or that drained for maxDrain.
func (p *servicePass) finishDraining() error {
	for _, rec := range p.draining {
		i := slices.IndexFunc(p.r.Draining, func(x drainingTask) bool { return x.ID == rec.ID })
		if i < 0 {
			continue
		}
		x := p.r.Draining[i]
		done := p.now.Sub(x.Since) >= maxDrain
		if !done {
			done = true
			for _, lb := range p.loadBalancersOf(rec) {
				states := p.health[deref(lb.TargetGroupArn)]
				tgt, ok := taskTarget(rec, deref(lb.ContainerName), deref(lb.ContainerPort))
				if ok && states != nil && states[tgt] == "draining" {
					done = false
				}
			}
		}
		if done {
			if err := p.stopNow(rec, x.Reason); err != nil {
				return err
			}
			p.r.Draining = slices.Delete(p.r.Draining, i, i+1)
		}
	}
	return nil
}

// lbState is a RUNNING task's state in the service's target groups:
// "healthy" when every group (that could be read) says so or there is no
// load balancer, "unhealthy" (with the group) when one says so, "pending"
// otherwise. A task not yet registered is registered (after the pass).
func (p *servicePass) lbState(rec *taskRecord) (string, string) {
	state := "healthy"
	for _, lb := range p.loadBalancersOf(rec) {
		tg := deref(lb.TargetGroupArn)
		states := p.health[tg]
		if states == nil {
			continue
		}
		tgt, ok := taskTarget(rec, deref(lb.ContainerName), deref(lb.ContainerPort))
		if !ok {
			state = "pending"
			continue
		}
		switch st, found := states[tgt]; {
		case !found:
			p.lbs = append(p.lbs, lbAction{register: true, tg: tg, target: tgt})
			state = "pending"
		case st == "unhealthy":
			return "unhealthy", tg
		case st != "healthy":
			state = "pending"
		}
	}
	return state, ""
}

// loadBalancersOf is where a task is registered: in its task set's target
// groups, or in the service's for a service of the ECS controller.
func (p *servicePass) loadBalancersOf(rec *taskRecord) []ecsapi.LoadBalancer {
	if ts := p.r.taskSet(rec.StartedBy); ts != nil {
		return ts.LoadBalancers
	}
	if p.r.Controller != string(ecsapi.DeploymentControllerTypeEcs) {
		return nil
	}
	return p.r.LoadBalancers
}

// taskDefOf is the task definition ARN of a deployment or task set id.
func (p *servicePass) taskDefOf(id string) string {
	if d := p.r.deployment(id); d != nil {
		return d.TaskDefinition
	}
	if ts := p.r.taskSet(id); ts != nil {
		return ts.TaskDefinition
	}
	return ""
}

// targets queues the registration (or deregistration) of a task in the
// service's target groups it is in, and reports whether there was any.
func (p *servicePass) targets(rec *taskRecord, register bool) bool {
	found := false
	for _, lb := range p.loadBalancersOf(rec) {
		tg := deref(lb.TargetGroupArn)
		states := p.health[tg]
		tgt, ok := taskTarget(rec, deref(lb.ContainerName), deref(lb.ContainerPort))
		if !ok || states == nil {
			continue
		}
		if _, in := states[tgt]; in || register {
			p.lbs = append(p.lbs, lbAction{register: register, tg: tg, target: tgt})
			found = true
		}
	}
	return found
}

// taskTarget is the address a load balancer reaches a task's container
// port at: the task's IP (awsvpc) or the host port bound to it.
func taskTarget(rec *taskRecord, container string, port int32) (Target, bool) {
	if ip := rec.Status.PrivateIPv4Address; ip != "" {
		return Target{ID: ip, Port: port}, true
	}
	cs := rec.Status.Container(container)
	if cs == nil {
		return Target{}, false
	}
	for _, b := range cs.NetworkBindings {
		if deref(b.ContainerPort) == port && deref(b.HostPort) != 0 {
			ip := deref(b.BindIP)
			if ip == "" || ip == "0.0.0.0" || ip == "::" {
				ip = "127.0.0.1"
			}
			return Target{ID: ip, Port: deref(b.HostPort)}, true
		}
	}
	return Target{}, false
}

// start launches n tasks of deployment d, on instance in when given.
// Tasks that cannot be placed are told in an event, not as an error: the
// next pass tries again.
func (p *servicePass) start(d *deploymentRecord, n int, in *instanceRecord) error {
	r := p.r
	req := &taskRequest{
		cluster:              r.Cluster,
		taskDefinition:       d.TaskDefinition,
		startedBy:            d.ID,
		group:                "service:" + r.Name,
		network:              d.Network,
		platformVersion:      d.PlatformVersion,
		constraints:          r.Constraints,
		strategy:             r.Strategy,
		managedTags:          r.ManagedTags,
		enableExecuteCommand: r.EnableExecuteCommand,
	}
	switch r.PropagateTags {
	case string(ecsapi.PropagateTagsService):
		req.tags = r.Tags
	case string(ecsapi.PropagateTagsTaskDefinition):
		req.propagateTags = ecsapi.PropagateTagsTaskDefinition
	}
	prep, err := prepare(p.tx, p.sc, req, d.LaunchType)
	if err != nil {
		if e := awsapi.AsError(err); e != nil {
			p.warn("was unable to place a task. Reason: %s", e.Message)
			return nil
		}
		return err
	}
	if d.LaunchType == launchFargate {
		for range n {
			rec := p.s.newTask(p.sc, p.c, prep, launchFargate, "", nil, p.now)
			if err := p.launched(rec); err != nil {
				return err
			}
		}
		return nil
	}
	var insts []*instanceRecord
	if in != nil {
		insts = []*instanceRecord{in}
	} else {
		err := listDocs(p.tx, kindInstance, p.sc, r.Cluster+"/", "", func(_ string, x *instanceRecord) (bool, error) {
			if x.Status == statusActive {
				insts = append(insts, x)
			}
			return true, nil
		})
		if err != nil {
			return err
		}
	}
	mine := map[string]int{} // tasks of this service on each instance
	for _, t := range p.tasks {
		if t.rec.InstanceID != "" {
			mine[t.rec.InstanceID]++
		}
	}
	for range n {
		var fit []*instanceRecord
		why := "No Container Instances were found in your cluster."
		for _, x := range insts {
			if w := placementProblem(x, prep.td, prep.demand, prep.rules, mine[x.ID] > 0); w != "" {
				why = w
				continue
			}
			fit = append(fit, x)
		}
		x := chooseForService(fit, r.Strategy, mine)
		if x == nil {
			p.warn("was unable to place a task because no container instance met all of its requirements. Reason: %s", why)
			return nil
		}
		x.Used = x.Used.plus(prep.demand)
		if err := putDoc(p.tx, kindInstance, p.sc, instanceKey(x.Cluster, x.ID), x, p.now); err != nil {
			return err
		}
		rec := p.s.newTask(p.sc, p.c, prep, d.LaunchType, "", x, p.now)
		if err := p.launched(rec); err != nil {
			return err
		}
		fresh, err := getDoc[instanceRecord](p.tx, kindInstance, p.sc, instanceKey(x.Cluster, x.ID))
		if err != nil {
			return err
		}
		if fresh != nil {
			*x = *fresh
		}
		mine[x.ID]++
	}
	return nil
}

// chooseForService is choose, with spread counting the service's own tasks
// (as ECS spreads a service's tasks by instanceId).
func chooseForService(fit []*instanceRecord, strategies []ecsapi.PlacementStrategy, mine map[string]int) *instanceRecord {
	if len(fit) == 0 {
		return nil
	}
	if len(strategies) == 0 || deref(strategies[0].Type) == ecsapi.PlacementStrategyTypeSpread {
		return slices.MinFunc(fit, func(a, b *instanceRecord) int { return cmpInt(int64(mine[a.ID]), int64(mine[b.ID])) })
	}
	return choose(fit, strategies)
}

func (p *servicePass) launched(rec *taskRecord) error {
	p.nameTask(rec)
	if err := p.s.saveTask(p.tx, p.sc, nil, rec); err != nil {
		return err
	}
	p.hosts = append(p.hosts, rec.HostID)
	p.started = append(p.started, rec.ID)
	if d := p.r.deployment(rec.StartedBy); d != nil {
		d.PendingCount++
		p.tasks = append(p.tasks, &svcTask{rec: rec, depID: d.ID})
	} else if ts := p.r.taskSet(rec.StartedBy); ts != nil {
		ts.PendingCount++
		p.tasks = append(p.tasks, &svcTask{rec: rec, depID: ts.ID})
	}
	return nil
}

// warn adds an event unless one of the few newest says the same.
func (p *servicePass) warn(format string, args ...any) {
	r := p.r
	msg := "(service " + r.Name + ") " + fmt.Sprintf(format, args...)
	if slices.ContainsFunc(r.Events[:min(3, len(r.Events))], func(e serviceEvent) bool { return e.Message == msg }) {
		return
	}
	r.event(p.now, format, args...)
}

// activeTasks counts the service's tasks not yet STOPPED by what started
// them: a deployment or task set id.
func (p *servicePass) activeTasks() (map[string]int, error) {
	active := map[string]int{}
	err := listTasks(p.tx, p.sc, p.r.Cluster, store.ECSTaskFilter{Group: "service:" + p.r.Name}, "", func(t *taskRecord) (bool, error) {
		if t.Status.LastStatus != TaskStopped {
			active[t.StartedBy]++
		}
		return true, nil
	})
	return active, err
}

// settle updates counts, drops drained deployments, completes the primary
// and says when the service reached a steady state.
func (p *servicePass) settle() error {
	r := p.r
	active, err := p.activeTasks() // deployment id → tasks not yet STOPPED
	if err != nil {
		return err
	}
	healthy := 0
	if d := r.primary(); d != nil {
		for _, t := range p.tasks {
			if t.depID == d.ID && t.healthy {
				healthy++
			}
		}
	}
	var kept []deploymentRecord
	for _, x := range r.Deployments {
		if x.Status != depPrimary && active[x.ID] == 0 {
			continue
		}
		kept = append(kept, x)
	}
	r.Deployments = kept
	d := r.primary()
	r.RunningCount, r.PendingCount = 0, 0
	for _, x := range r.Deployments {
		r.RunningCount += x.RunningCount
		r.PendingCount += x.PendingCount
	}
	if d == nil {
		return nil
	}
	d.DesiredCount = r.DesiredCount
	done := len(r.Deployments) == 1 && healthy == r.DesiredCount && d.PendingCount == 0 && d.RunningCount == r.DesiredCount
	if done && d.RolloutState == string(ecsapi.DeploymentRolloutStateInProgress) {
		d.RolloutState = string(ecsapi.DeploymentRolloutStateCompleted)
		d.RolloutStateReason = "ECS deployment " + d.ID + " completed."
		d.UpdatedAt = p.now
		r.event(p.now, "(deployment %s) deployment completed.", d.ID)
		last := *d
		last.Failed, last.Healthy = nil, nil
		r.LastCompleted = &last
	}
	steady := done && active[d.ID] == r.DesiredCount
	if r.Status == svcDraining {
		if len(active) == 0 {
			r.Status = svcInactive
			countService(p.c, r.LaunchType, svcDraining, "")
			if err := putDoc(p.tx, kindCluster, p.sc, p.c.Name, p.c, p.now); err != nil {
				return err
			}
		}
		return nil
	}
	if steady && !r.Steady {
		r.event(p.now, "has reached a steady state.")
	}
	r.Steady = steady
	return nil
}
