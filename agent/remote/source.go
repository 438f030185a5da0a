package remote

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/ecs"
)

// TaskSource is ecs.TaskSource over the ECS API, for one container
// instance: the tasks of the instance are read with ListTasks and
// DescribeTasks (their task definitions with DescribeTaskDefinition), and
// reports go back with SubmitTaskStateChange, the calls the ECS agent makes.
type TaskSource struct {
	C *Client
	// Cluster is the cluster's name or ARN, Instance the container
	// instance's ARN.
	Cluster, Instance string

	mu   sync.Mutex
	defs map[string]ecsapi.TaskDefinition // by ARN; revisions never change
	// stopped are tasks seen STOPPED: they are never described again.
	stopped map[string]bool
}

var _ ecs.TaskSource = (*TaskSource)(nil)

// ListTasksToReconcile implements ecs.TaskSource: the instance's tasks
// desired RUNNING, and those desired STOPPED that are not STOPPED yet.
func (s *TaskSource) ListTasksToReconcile(ctx context.Context, host string) ([]ecs.AssignedTask, error) {
	var arns []string
	listed := map[string]bool{}
	for _, desired := range []ecsapi.DesiredStatus{ecsapi.DesiredStatusRunning, ecsapi.DesiredStatusStopped} {
		var token *string
		for {
			var out ecsapi.ListTasksOutput
			err := s.C.call(ctx, svcECS, "", "ListTasks", &ecsapi.ListTasksInput{
				Cluster: &s.Cluster, ContainerInstance: &s.Instance, DesiredStatus: &desired,
				NextToken: token, MaxResults: ptr(int32(100)),
			}, &out)
			if err != nil {
				return nil, err
			}
			s.mu.Lock()
			for _, a := range out.TaskArns {
				listed[a] = true
				if !s.stopped[a] {
					arns = append(arns, a)
				}
			}
			s.mu.Unlock()
			if token = out.NextToken; token == nil || *token == "" {
				break
			}
		}
	}
	// Forget the stopped tasks ListTasks no longer shows.
	s.mu.Lock()
	for a := range s.stopped {
		if !listed[a] {
			delete(s.stopped, a)
		}
	}
	s.mu.Unlock()
	slices.Sort(arns)
	arns = slices.Compact(arns)
	var out []ecs.AssignedTask
	for chunk := range slices.Chunk(arns, 100) {
		tasks, err := s.describe(ctx, chunk)
		if err != nil {
			return nil, err
		}
		for i := range tasks {
			t := &tasks[i]
			if deref(t.LastStatus) == ecs.TaskStopped {
				s.mu.Lock()
				if s.stopped == nil {
					s.stopped = map[string]bool{}
				}
				s.stopped[deref(t.TaskArn)] = true
				s.mu.Unlock()
				continue
			}
			def, err := s.definition(ctx, deref(t.TaskDefinitionArn))
			if err != nil {
				return nil, err
			}
			out = append(out, assigned(t, def, host))
		}
	}
	return out, nil
}

func (s *TaskSource) describe(ctx context.Context, arns []string) ([]ecsapi.Task, error) {
	var out ecsapi.DescribeTasksOutput
	if err := s.C.call(ctx, svcECS, "", "DescribeTasks", &ecsapi.DescribeTasksInput{Cluster: &s.Cluster, Tasks: arns}, &out); err != nil {
		return nil, err
	}
	return out.Tasks, nil
}

func (s *TaskSource) definition(ctx context.Context, arn string) (ecsapi.TaskDefinition, error) {
	s.mu.Lock()
	def, ok := s.defs[arn]
	s.mu.Unlock()
	if ok {
		return def, nil
	}
	var out ecsapi.DescribeTaskDefinitionOutput
	if err := s.C.call(ctx, svcECS, "", "DescribeTaskDefinition", &ecsapi.DescribeTaskDefinitionInput{TaskDefinition: &arn}, &out); err != nil {
		return def, fmt.Errorf("task definition %s: %w", arn, err)
	}
	if out.TaskDefinition == nil {
		return def, fmt.Errorf("task definition %s: no definition in the answer", arn)
	}
	s.mu.Lock()
	if s.defs == nil {
		s.defs = map[string]ecsapi.TaskDefinition{}
	}
	s.defs[arn] = *out.TaskDefinition
	s.mu.Unlock()
	return *out.TaskDefinition, nil
}

// assigned is a described task as the agent sees it.
func assigned(t *ecsapi.Task, def ecsapi.TaskDefinition, host string) ecs.AssignedTask {
	arn := deref(t.TaskArn)
	parts := strings.Split(arn, ":")
	a := ecs.AssignedTask{
		TaskARN:              arn,
		ClusterARN:           deref(t.ClusterArn),
		ContainerInstanceARN: deref(t.ContainerInstanceArn),
		HostID:               host,
		DesiredStatus:        deref(t.DesiredStatus),
		Version:              deref(t.Version),
		Definition:           def,
		CPU:                  deref(t.Cpu),
		Memory:               deref(t.Memory),
		TaskRoleArn:          deref(def.TaskRoleArn),
		ExecutionRoleArn:     deref(def.ExecutionRoleArn),
		NetworkMode:          string(deref(def.NetworkMode)),
		EnableExecuteCommand: deref(t.EnableExecuteCommand),
		StartedBy:            deref(t.StartedBy),
		Group:                deref(t.Group),
		AvailabilityZone:     deref(t.AvailabilityZone),
		CreatedAt:            tm(t.CreatedAt),
		StoppingAt:           tm(t.StoppingAt),
		StopCode:             string(deref(t.StopCode)),
		StoppedReason:        deref(t.StoppedReason),
		Status:               statusOf(t),
	}
	if len(parts) >= 6 {
		a.Region, a.Account = parts[3], parts[4]
	}
	if t.LaunchType != nil {
		a.LaunchType = string(*t.LaunchType)
	}
	if t.Overrides != nil {
		a.Overrides = *t.Overrides
		if r := deref(t.Overrides.TaskRoleArn); r != "" {
			a.TaskRoleArn = r
		}
		if r := deref(t.Overrides.ExecutionRoleArn); r != "" {
			a.ExecutionRoleArn = r
		}
	}
	for _, at := range t.Attachments {
		if deref(at.Type) == "ElasticNetworkInterface" {
			a.AttachmentID = deref(at.Id)
		}
	}
	return a
}

// statusOf is the observed state DescribeTasks shows.
func statusOf(t *ecsapi.Task) ecs.TaskStatus {
	st := ecs.TaskStatus{
		LastStatus:         deref(t.LastStatus),
		ConnectivityAt:     tm(t.ConnectivityAt),
		PullStartedAt:      tm(t.PullStartedAt),
		PullStoppedAt:      tm(t.PullStoppedAt),
		StartedAt:          tm(t.StartedAt),
		StoppingAt:         tm(t.StoppingAt),
		StoppedAt:          tm(t.StoppedAt),
		ExecutionStoppedAt: tm(t.ExecutionStoppedAt),
		StopCode:           string(deref(t.StopCode)),
		StoppedReason:      deref(t.StoppedReason),
		Containers:         make([]ecs.ContainerStatus, 0, len(t.Containers)),
	}
	if t.HealthStatus != nil {
		st.HealthStatus = string(*t.HealthStatus)
	}
	if t.Connectivity != nil {
		st.Connectivity = string(*t.Connectivity)
	}
	for _, c := range t.Containers {
		cs := ecs.ContainerStatus{
			Name:            deref(c.Name),
			RuntimeID:       deref(c.RuntimeId),
			ImageDigest:     deref(c.ImageDigest),
			LastStatus:      deref(c.LastStatus),
			ExitCode:        c.ExitCode,
			Reason:          deref(c.Reason),
			NetworkBindings: c.NetworkBindings,
		}
		if c.HealthStatus != nil {
			cs.HealthStatus = string(*c.HealthStatus)
		}
		if len(cs.NetworkBindings) == 0 {
			cs.NetworkBindings = nil
		}
		st.Containers = append(st.Containers, cs)
	}
	return st
}

// UpdateTaskState implements ecs.TaskSource: the task's current state is
// read with DescribeTasks, fn applied to it, and what changed sent with
// SubmitTaskStateChange. Task and container health, and the awsvpc address,
// have no field in SubmitTaskStateChange and do not reach the control plane.
func (s *TaskSource) UpdateTaskState(ctx context.Context, taskARN string, fn func(*ecs.TaskStatus) error) error {
	tasks, err := s.describe(ctx, []string{taskARN})
	if err != nil {
		return err
	}
	if len(tasks) != 1 {
		return fmt.Errorf("%w: %s", ecs.ErrTaskNotFound, taskARN)
	}
	before := statusOf(&tasks[0])
	after := statusOf(&tasks[0])
	if err := fn(&after); err != nil {
		return err
	}
	if ecs.TaskStatusRank(after.LastStatus) < ecs.TaskStatusRank(before.LastStatus) {
		return fmt.Errorf("%w: lastStatus %s after %s", ecs.ErrStatusRegression, after.LastStatus, before.LastStatus)
	}
	if len(after.Containers) != len(before.Containers) {
		return fmt.Errorf("%w: the task has %d containers, the report %d", ecs.ErrInvalidStatus, len(before.Containers), len(after.Containers))
	}
	in := &ecsapi.SubmitTaskStateChangeInput{
		Cluster: &s.Cluster,
		Task:    &taskARN,
		Status:  &after.LastStatus,
	}
	if after.StoppedReason != before.StoppedReason && after.StoppedReason != "" {
		in.Reason = &after.StoppedReason
	}
	in.PullStartedAt = changedTime(before.PullStartedAt, after.PullStartedAt)
	in.PullStoppedAt = changedTime(before.PullStoppedAt, after.PullStoppedAt)
	in.ExecutionStoppedAt = changedTime(before.ExecutionStoppedAt, after.ExecutionStoppedAt)
	for i, c := range after.Containers {
		was := before.Containers[i]
		if ecs.ContainerStatusRank(c.LastStatus) < ecs.ContainerStatusRank(was.LastStatus) {
			return fmt.Errorf("%w: container %s lastStatus %s after %s", ecs.ErrStatusRegression, c.Name, c.LastStatus, was.LastStatus)
		}
		ch := ecsapi.ContainerStateChange{
			ContainerName: ptr(c.Name),
			Status:        ptr(c.LastStatus),
			RuntimeId:     nonEmpty(c.RuntimeID),
			ImageDigest:   nonEmpty(c.ImageDigest),
			ExitCode:      c.ExitCode,
			Reason:        nonEmpty(c.Reason),
		}
		switch {
		case len(c.NetworkBindings) > 0:
			ch.NetworkBindings = c.NetworkBindings
		case len(was.NetworkBindings) > 0:
			// An empty list clears them (a stopped container has none).
			ch.NetworkBindings = []ecsapi.NetworkBinding{}
		}
		in.Containers = append(in.Containers, ch)
	}
	var out ecsapi.SubmitTaskStateChangeOutput
	err = s.C.call(ctx, svcECS, "", "SubmitTaskStateChange", in, &out)
	if err != nil && ErrorCode(err) == "InvalidParameterException" && strings.Contains(err.Error(), "not found") {
		return fmt.Errorf("%w: %s", ecs.ErrTaskNotFound, taskARN)
	}
	return err
}

func changedTime(before, after time.Time) *awsapi.Timestamp {
	if after.IsZero() || after.Equal(before) {
		return nil
	}
	return awsapi.Time(after)
}

func tm(t *awsapi.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
