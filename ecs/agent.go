package ecs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/store"
)

// This file is the boundary between the control plane and the task agents
// that make tasks real. It is level-triggered, as a Kubernetes controller:
//
//   - An agent reads its whole work set with ListTasksToReconcile (every task
//     assigned to its host whose lastStatus is not yet STOPPED, with the
//     resolved task definition) and acts to close the difference between
//     DesiredStatus and what it observes. It may do so at any time, as often
//     as it likes: after a restart, on a timer, or when woken.
//   - It reports what it observed with UpdateTaskState, one transaction per
//     report, in which the control plane enforces the ECS status order.
//   - The control plane calls Notifier.TasksChanged(host) after committing a
//     change to what a host must run (RunTask, StartTask, StopTask), so the
//     agent wakes at once instead of at its next resync.
//
// A remote agent reaches the same two functions through the ECS API:
// RegisterContainerInstance, then SubmitTaskStateChange and
// SubmitContainerStateChange, which are implemented over UpdateTaskState.

// Task lifecycle statuses, in the order a task goes through them.
const (
	TaskProvisioning   = "PROVISIONING"
	TaskPending        = "PENDING"
	TaskActivating     = "ACTIVATING"
	TaskRunning        = "RUNNING"
	TaskDeactivating   = "DEACTIVATING"
	TaskStopping       = "STOPPING"
	TaskDeprovisioning = "DEPROVISIONING"
	TaskStopped        = "STOPPED"
)

var taskOrder = []string{TaskProvisioning, TaskPending, TaskActivating, TaskRunning,
	TaskDeactivating, TaskStopping, TaskDeprovisioning, TaskStopped}

// TaskStatusRank is the position of a task status in the lifecycle, or -1
// for a string that is none.
func TaskStatusRank(s string) int { return slices.Index(taskOrder, s) }

// Container statuses, in order.
const (
	ContainerPending = "PENDING"
	ContainerRunning = "RUNNING"
	ContainerStopped = "STOPPED"
)

var containerOrder = []string{ContainerPending, ContainerRunning, ContainerStopped}

// ContainerStatusRank is the position of a container status, or -1.
func ContainerStatusRank(s string) int { return slices.Index(containerOrder, s) }

// Errors of UpdateTaskState, checked with errors.Is.
var (
	// ErrTaskNotFound: no task has that ARN.
	ErrTaskNotFound = errors.New("ecs: task not found")
	// ErrStatusRegression: the report would move a task or container back
	// in the lifecycle (a stale report); nothing was written.
	ErrStatusRegression = errors.New("ecs: status would move backwards")
	// ErrInvalidStatus: the report names an unknown status or container, or
	// adds or removes containers; nothing was written.
	ErrInvalidStatus = errors.New("ecs: invalid status report")
)

// TaskStatus is the observed state of a task: what its agent reports. The
// control plane only ever fills timestamps the agent left empty and, once
// the task is STOPPED, marks its containers STOPPED.
type TaskStatus struct {
	LastStatus   string `json:"lastStatus"`
	HealthStatus string `json:"healthStatus,omitempty"` // HEALTHY, UNHEALTHY, UNKNOWN
	// Connectivity is CONNECTED or DISCONNECTED, with the time it last
	// became CONNECTED.
	Connectivity   string    `json:"connectivity,omitempty"`
	ConnectivityAt time.Time `json:"connectivityAt,omitzero"`

	PullStartedAt      time.Time `json:"pullStartedAt,omitzero"`
	PullStoppedAt      time.Time `json:"pullStoppedAt,omitzero"`
	StartedAt          time.Time `json:"startedAt,omitzero"`
	StoppingAt         time.Time `json:"stoppingAt,omitzero"` // when the task began stopping on its own
	StoppedAt          time.Time `json:"stoppedAt,omitzero"`
	ExecutionStoppedAt time.Time `json:"executionStoppedAt,omitzero"`

	// StopCode (EssentialContainerExited, TaskFailedToStart, ...) and
	// StoppedReason say why a task stopped on its own; a StopTask's code and
	// reason take precedence in DescribeTasks.
	StopCode      string `json:"stopCode,omitempty"`
	StoppedReason string `json:"stoppedReason,omitempty"`

	// PrivateIPv4Address and MACAddress are those of the task's network
	// namespace (awsvpc), shown in its ENI attachment.
	PrivateIPv4Address string `json:"privateIPv4Address,omitempty"`
	MACAddress         string `json:"macAddress,omitempty"`

	// Containers has one entry per container of the task definition, in its
	// order; an update may change entries but not add, drop or rename them.
	Containers []ContainerStatus `json:"containers"`
}

// ContainerStatus is the observed state of one container.
type ContainerStatus struct {
	Name            string                  `json:"name"`
	RuntimeID       string                  `json:"runtimeId,omitempty"`
	ImageDigest     string                  `json:"imageDigest,omitempty"`
	LastStatus      string                  `json:"lastStatus"`
	ExitCode        *int32                  `json:"exitCode,omitempty"`
	Reason          string                  `json:"reason,omitempty"`
	HealthStatus    string                  `json:"healthStatus,omitempty"`
	NetworkBindings []ecsapi.NetworkBinding `json:"networkBindings,omitempty"`
}

// Container returns the status entry of the named container, or nil.
func (t *TaskStatus) Container(name string) *ContainerStatus {
	for i := range t.Containers {
		if t.Containers[i].Name == name {
			return &t.Containers[i]
		}
	}
	return nil
}

func (t TaskStatus) clone() TaskStatus {
	c := t
	c.Containers = make([]ContainerStatus, len(t.Containers))
	for i, cs := range t.Containers {
		cs.NetworkBindings = slices.Clone(cs.NetworkBindings)
		if cs.ExitCode != nil {
			cs.ExitCode = ptr(*cs.ExitCode)
		}
		c.Containers[i] = cs
	}
	return c
}

// AssignedTask is a task as its agent sees it: what to run and what was last
// reported.
type AssignedTask struct {
	TaskARN              string
	ClusterARN           string
	ContainerInstanceARN string // empty for Fargate tasks
	Account              string
	Region               string
	HostID               string
	LaunchType           string
	DesiredStatus        string
	// Version increases with every change of the task record.
	Version int64
	// Definition is the task definition revision the task runs.
	Definition ecsapi.TaskDefinition
	// Overrides are RunTask's; Containers() applies them.
	Overrides ecsapi.TaskOverride
	// CPU and Memory are the task-level sizes after overrides ("" when the
	// task has none), TaskRoleArn and ExecutionRoleArn the roles after
	// overrides.
	CPU, Memory                   string
	TaskRoleArn, ExecutionRoleArn string
	NetworkMode                   string
	Awsvpc                        *ecsapi.AwsVpcConfiguration
	AttachmentID                  string
	EnableExecuteCommand          bool
	StartedBy, Group              string
	AvailabilityZone              string
	CreatedAt                     time.Time
	// StoppingAt, StopCode and StoppedReason are set once StopTask asked for
	// the task to stop.
	StoppingAt              time.Time
	StopCode, StoppedReason string
	Status                  TaskStatus
	// DiscoveryNames are DNS names the task answers to on the task
	// network: its service registries' "<service>.<namespace>".
	DiscoveryNames []string
}

// NeedsAction reports whether desired and observed state differ (a task to
// start or to stop); a RUNNING task that should run only needs watching.
func (t *AssignedTask) NeedsAction() bool {
	switch t.DesiredStatus {
	case TaskRunning:
		return t.Status.LastStatus != TaskRunning
	case TaskStopped:
		return t.Status.LastStatus != TaskStopped
	}
	return false
}

// Containers returns the task definition's containers with RunTask's
// container overrides applied: command and resource requirements replace,
// environment variables merge by name, environment files add, cpu and memory
// replace.
func (t *AssignedTask) Containers() []ecsapi.ContainerDefinition {
	out := make([]ecsapi.ContainerDefinition, len(t.Definition.ContainerDefinitions))
	copy(out, t.Definition.ContainerDefinitions)
	for i := range out {
		c := &out[i]
		for _, o := range t.Overrides.ContainerOverrides {
			if deref(o.Name) != deref(c.Name) {
				continue
			}
			if o.Command != nil {
				c.Command = slices.Clone(o.Command)
			}
			if len(o.Environment) > 0 {
				c.Environment = mergeEnv(c.Environment, o.Environment)
			}
			if len(o.EnvironmentFiles) > 0 {
				c.EnvironmentFiles = append(slices.Clone(c.EnvironmentFiles), o.EnvironmentFiles...)
			}
			if o.Cpu != nil {
				c.Cpu = ptr(*o.Cpu)
			}
			if o.Memory != nil {
				c.Memory = ptr(*o.Memory)
			}
			if o.MemoryReservation != nil {
				c.MemoryReservation = ptr(*o.MemoryReservation)
			}
			if o.ResourceRequirements != nil {
				c.ResourceRequirements = slices.Clone(o.ResourceRequirements)
			}
		}
	}
	return out
}

func mergeEnv(base, over []ecsapi.KeyValuePair) []ecsapi.KeyValuePair {
	out := slices.Clone(base)
	for _, kv := range over {
		i := slices.IndexFunc(out, func(b ecsapi.KeyValuePair) bool { return deref(b.Name) == deref(kv.Name) })
		if i >= 0 {
			out[i] = kv
		} else {
			out = append(out, kv)
		}
	}
	return out
}

// TaskSource is what an agent needs from the control plane; *Service
// implements it in process.
type TaskSource interface {
	// ListTasksToReconcile returns every task assigned to host whose
	// lastStatus is not STOPPED: the tasks to start, to stop, and the
	// running ones to watch (so a restarted agent re-adopts them).
	ListTasksToReconcile(ctx context.Context, host string) ([]AssignedTask, error)
	// UpdateTaskState applies fn to the task's observed state in one
	// transaction. fn gets a copy; returning an error from it writes
	// nothing. Moving a status backwards fails with ErrStatusRegression.
	UpdateTaskState(ctx context.Context, taskARN string, fn func(*TaskStatus) error) error
}

var _ TaskSource = (*Service)(nil)

// Notifier is implemented by task agents: the control plane calls
// TasksChanged(host) after committing a change to what host must run. It
// must not block; an agent just notes that it should reconcile.
type Notifier interface {
	TasksChanged(host string)
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(host string)

func (f NotifierFunc) TasksChanged(host string) { f(host) }

type notifierBox struct {
	mu sync.RWMutex
	n  Notifier
}

func (b *notifierBox) set(n Notifier) {
	b.mu.Lock()
	b.n = n
	b.mu.Unlock()
}

func (b *notifierBox) notify(hosts ...string) {
	b.mu.RLock()
	n := b.n
	b.mu.RUnlock()
	if n == nil {
		return
	}
	seen := map[string]bool{}
	for _, h := range hosts {
		if h != "" && !seen[h] {
			seen[h] = true
			n.TasksChanged(h)
		}
	}
}

// Wakeups is a Notifier that agents subscribe to by host: each subscriber
// holds a channel that receives (coalesced) wake-ups.
type Wakeups struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

// NewWakeups returns an empty Wakeups.
func NewWakeups() *Wakeups { return &Wakeups{subs: map[string]map[chan struct{}]struct{}{}} }

// TasksChanged wakes every subscriber of host without blocking: a
// subscriber that has a wake-up pending gets no second one.
func (w *Wakeups) TasksChanged(host string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.subs[host] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Subscribe returns a channel woken when host's tasks change, and a function
// that ends the subscription.
func (w *Wakeups) Subscribe(host string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	if w.subs[host] == nil {
		w.subs[host] = map[chan struct{}]struct{}{}
	}
	w.subs[host][ch] = struct{}{}
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		delete(w.subs[host], ch)
		if len(w.subs[host]) == 0 {
			delete(w.subs, host)
		}
		w.mu.Unlock()
	}
}

// ListTasksToReconcile implements TaskSource.
func (s *Service) ListTasksToReconcile(ctx context.Context, host string) ([]AssignedTask, error) {
	if host == "" {
		return nil, errors.New("ecs: ListTasksToReconcile needs a host id")
	}
	var out []AssignedTask
	err := s.st.View(ctx, func(tx store.Tx) error {
		out = out[:0]
		defs := map[string]*ecsapi.TaskDefinition{}
		return listDocs(tx, kindHostTask, global, host+"/", "", func(_ string, ix *hostTaskIndex) (bool, error) {
			sc := scope{account: ix.Account, region: ix.Region}
			rec, err := getTask(tx, sc, ix.Cluster, ix.TaskID)
			if err != nil || rec == nil {
				return err == nil, err
			}
			def, ok := defs[rec.TaskDefinitionArn]
			if !ok {
				if ref, refOK := parseTaskDefRef(sc, rec.TaskDefinitionArn); refOK {
					td, err := getDoc[taskDefRecord](tx, kindTaskDef, sc, taskDefKey(ref.family, ref.revision))
					if err != nil {
						return false, err
					}
					if td != nil {
						def = ptr(taskDefOutput(sc, td))
					}
				}
				defs[rec.TaskDefinitionArn] = def
			}
			out = append(out, assignedTask(sc, rec, def))
			return true, nil
		})
	})
	return out, err
}

func assignedTask(sc scope, rec *taskRecord, def *ecsapi.TaskDefinition) AssignedTask {
	a := AssignedTask{
		TaskARN:              sc.taskARN(rec.Cluster, rec.ID),
		ClusterARN:           sc.clusterARN(rec.Cluster),
		Account:              sc.account,
		Region:               sc.region,
		HostID:               rec.HostID,
		LaunchType:           rec.LaunchType,
		DesiredStatus:        rec.DesiredStatus,
		Version:              rec.Version,
		Overrides:            rec.Overrides,
		CPU:                  rec.CPU,
		Memory:               rec.Memory,
		NetworkMode:          rec.NetworkMode,
		Awsvpc:               rec.Awsvpc,
		AttachmentID:         rec.AttachmentID,
		EnableExecuteCommand: rec.EnableExecuteCommand,
		StartedBy:            rec.StartedBy,
		Group:                rec.Group,
		AvailabilityZone:     rec.AvailabilityZone,
		CreatedAt:            rec.CreatedAt,
		StoppingAt:           rec.StoppingAt,
		StopCode:             rec.StopCode,
		StoppedReason:        rec.StoppedReason,
		Status:               rec.Status.clone(),
		DiscoveryNames:       slices.Clone(rec.DiscoveryNames),
	}
	if rec.InstanceID != "" && rec.LaunchType != launchFargate {
		a.ContainerInstanceARN = sc.instanceARN(rec.Cluster, rec.InstanceID)
	}
	if def != nil {
		a.Definition = *def
		a.TaskRoleArn = deref(def.TaskRoleArn)
		a.ExecutionRoleArn = deref(def.ExecutionRoleArn)
	}
	if r := deref(rec.Overrides.TaskRoleArn); r != "" {
		a.TaskRoleArn = r
	}
	if r := deref(rec.Overrides.ExecutionRoleArn); r != "" {
		a.ExecutionRoleArn = r
	}
	return a
}

// UpdateTaskState implements TaskSource.
func (s *Service) UpdateTaskState(ctx context.Context, taskARN string, fn func(*TaskStatus) error) error {
	p, ok := parseARN(taskARN)
	if !ok || p.kind != "task" {
		return fmt.Errorf("%w: %q is not a task ARN", ErrTaskNotFound, taskARN)
	}
	sc := scope{account: p.account, region: p.region}
	cluster, id, ok := idRef(sc, "task", "", taskARN)
	if !ok || cluster == "" {
		return fmt.Errorf("%w: %q", ErrTaskNotFound, taskARN)
	}
	serviceTask := false
	defer func() {
		if serviceTask {
			s.kickServices() // its service's controller reacts at once
		}
	}()
	return s.st.Update(ctx, func(tx store.Tx) error {
		rec, err := getTask(tx, sc, cluster, id)
		if err != nil {
			return err
		}
		if rec == nil {
			return fmt.Errorf("%w: %s", ErrTaskNotFound, taskARN)
		}
		serviceTask = strings.HasPrefix(rec.Group, "service:")
		old := *rec
		st := rec.Status.clone()
		if err := fn(&st); err != nil {
			return err
		}
		if err := applyStatus(rec, st, s.clock()); err != nil {
			return fmt.Errorf("task %s: %w", taskARN, err)
		}
		return s.saveTask(tx, sc, &old, rec)
	})
}

// applyStatus checks a reported status against the record's and merges it.
func applyStatus(rec *taskRecord, st TaskStatus, now time.Time) error {
	prev := rec.Status
	if st.LastStatus == "" {
		st.LastStatus = prev.LastStatus
	}
	newRank, oldRank := TaskStatusRank(st.LastStatus), TaskStatusRank(prev.LastStatus)
	if newRank < 0 {
		return fmt.Errorf("%w: unknown task status %q", ErrInvalidStatus, st.LastStatus)
	}
	if newRank < oldRank {
		return fmt.Errorf("%w: lastStatus %s after %s", ErrStatusRegression, st.LastStatus, prev.LastStatus)
	}
	if !validHealth(st.HealthStatus) {
		return fmt.Errorf("%w: unknown health status %q", ErrInvalidStatus, st.HealthStatus)
	}
	if len(st.Containers) != len(rec.Containers) {
		return fmt.Errorf("%w: the task has %d containers, the report %d", ErrInvalidStatus, len(rec.Containers), len(st.Containers))
	}
	for i := range st.Containers {
		c, was := &st.Containers[i], prev.Containers[i]
		if c.Name != rec.Containers[i].Name {
			return fmt.Errorf("%w: container %d is %q, not %q", ErrInvalidStatus, i, rec.Containers[i].Name, c.Name)
		}
		if c.LastStatus == "" {
			c.LastStatus = was.LastStatus
		}
		r := ContainerStatusRank(c.LastStatus)
		if r < 0 {
			return fmt.Errorf("%w: unknown status %q of container %s", ErrInvalidStatus, c.LastStatus, c.Name)
		}
		if r < ContainerStatusRank(was.LastStatus) {
			return fmt.Errorf("%w: container %s lastStatus %s after %s", ErrStatusRegression, c.Name, c.LastStatus, was.LastStatus)
		}
		if !validHealth(c.HealthStatus) {
			return fmt.Errorf("%w: unknown health status %q of container %s", ErrInvalidStatus, c.HealthStatus, c.Name)
		}
	}

	// Timestamps the agent did not give are those of the report.
	if st.LastStatus == TaskRunning && st.StartedAt.IsZero() {
		st.StartedAt = now
	}
	if st.Connectivity == "" && newRank >= TaskStatusRank(TaskPending) {
		st.Connectivity = "CONNECTED"
		if st.ConnectivityAt.IsZero() {
			st.ConnectivityAt = now
		}
	}
	if newRank >= TaskStatusRank(TaskDeactivating) {
		// A task on its way out is desired STOPPED, whoever began it.
		rec.DesiredStatus = TaskStopped
		if st.StoppingAt.IsZero() && rec.StoppingAt.IsZero() {
			st.StoppingAt = now
		}
	}
	if st.LastStatus == TaskStopped {
		rec.DesiredStatus = TaskStopped
		if st.ExecutionStoppedAt.IsZero() {
			st.ExecutionStoppedAt = now
		}
		if st.StoppedAt.IsZero() {
			st.StoppedAt = now
		}
		for i := range st.Containers {
			st.Containers[i].LastStatus = ContainerStopped
		}
	}
	rec.Status = st
	rec.Version++
	return nil
}

func validHealth(h string) bool {
	switch h {
	case "", string(ecsapi.HealthStatusHealthy), string(ecsapi.HealthStatusUnhealthy), string(ecsapi.HealthStatusUnknown):
		return true
	}
	return false
}
