package ecs

import (
	"context"
	"errors"
	"fmt"
	"strings"

	ecsapi "github.com/berth-dev/berth/api/ecs"
)

// SubmitTaskStateChange and SubmitContainerStateChange are how a remote
// agent reports what UpdateTaskState takes in process. A report that would
// move a status backwards is a stale one (agents retry): it is acknowledged
// and ignored, as its newer successor has already been applied.

// taskARNOf resolves the task of a state change: an ARN, or an id in the
// request's cluster.
func taskARNOf(sc scope, cluster, ref string) (string, error) {
	if strings.HasPrefix(ref, "arn:") {
		return ref, nil
	}
	name, ok := clusterRef(sc, cluster)
	if !ok || !isID(ref) {
		return "", ecsapi.NewInvalidParameterException("The referenced task was not found.")
	}
	return sc.taskARN(name, ref), nil
}

// stateChangeErr maps UpdateTaskState's errors to the API's.
func stateChangeErr(err error) error {
	switch {
	case err == nil, errors.Is(err, ErrStatusRegression):
		return nil
	case errors.Is(err, ErrTaskNotFound):
		return ecsapi.NewInvalidParameterException("The referenced task was not found.")
	case errors.Is(err, ErrInvalidStatus):
		return ecsapi.NewInvalidParameterException("%s", strings.TrimPrefix(err.Error(), "ecs: "))
	}
	return err
}

// SubmitTaskStateChange records a task's status, with its containers'.
func (s *Service) SubmitTaskStateChange(ctx context.Context, in *ecsapi.SubmitTaskStateChangeInput) (*ecsapi.SubmitTaskStateChangeOutput, error) {
	sc := scopeOf(ctx)
	arn, err := taskARNOf(sc, deref(in.Cluster), deref(in.Task))
	if err != nil {
		return nil, err
	}
	if p, ok := parseARN(arn); !ok || !p.inScope(sc) {
		return nil, ecsapi.NewInvalidParameterException("The referenced task was not found.")
	}
	err = s.UpdateTaskState(ctx, arn, func(st *TaskStatus) error {
		if v := deref(in.Status); v != "" {
			st.LastStatus = v
		}
		// An agent gives the reason as soon as a task begins to stop on its
		// own (DEACTIVATING), not only with STOPPED; the stop code, which
		// the API has no field for, follows from it.
		if r := deref(in.Reason); r != "" && TaskStatusRank(st.LastStatus) >= TaskStatusRank(TaskDeactivating) {
			st.StoppedReason = r
			if st.StopCode == "" {
				st.StopCode = stopCodeOf(r, st.StartedAt.IsZero())
			}
		}
		if in.PullStartedAt != nil {
			st.PullStartedAt = in.PullStartedAt.Time
		}
		if in.PullStoppedAt != nil {
			st.PullStoppedAt = in.PullStoppedAt.Time
		}
		if in.ExecutionStoppedAt != nil {
			st.ExecutionStoppedAt = in.ExecutionStoppedAt.Time
		}
		for _, ch := range in.Containers {
			if err := applyContainerChange(st, deref(ch.ContainerName), ch.Status, ch.RuntimeId, ch.ImageDigest, ch.ExitCode, ch.Reason, ch.NetworkBindings); err != nil {
				return err
			}
		}
		return nil
	})
	if err := stateChangeErr(err); err != nil {
		return nil, err
	}
	return &ecsapi.SubmitTaskStateChangeOutput{Acknowledgment: ptr("true")}, nil
}

// SubmitContainerStateChange records one container's status.
func (s *Service) SubmitContainerStateChange(ctx context.Context, in *ecsapi.SubmitContainerStateChangeInput) (*ecsapi.SubmitContainerStateChangeOutput, error) {
	sc := scopeOf(ctx)
	arn, err := taskARNOf(sc, deref(in.Cluster), deref(in.Task))
	if err != nil {
		return nil, err
	}
	if p, ok := parseARN(arn); !ok || !p.inScope(sc) {
		return nil, ecsapi.NewInvalidParameterException("The referenced task was not found.")
	}
	err = s.UpdateTaskState(ctx, arn, func(st *TaskStatus) error {
		return applyContainerChange(st, deref(in.ContainerName), in.Status, in.RuntimeId, nil, in.ExitCode, in.Reason, in.NetworkBindings)
	})
	if err := stateChangeErr(err); err != nil {
		return nil, err
	}
	return &ecsapi.SubmitContainerStateChangeOutput{Acknowledgment: ptr("true")}, nil
}

func applyContainerChange(st *TaskStatus, name string, status, runtimeID, digest *string, exit *int32, reason *string, bindings []ecsapi.NetworkBinding) error {
	c := st.Container(name)
	if c == nil {
		return fmt.Errorf("%w: the task has no container %q", ErrInvalidStatus, name)
	}
	if v := deref(status); v != "" {
		c.LastStatus = v
	}
	if v := deref(runtimeID); v != "" {
		c.RuntimeID = v
	}
	if v := deref(digest); v != "" {
		c.ImageDigest = v
	}
	if exit != nil {
		c.ExitCode = ptr(*exit)
	}
	if v := deref(reason); v != "" {
		c.Reason = v
	}
	if bindings != nil {
		c.NetworkBindings = bindings
	}
	return nil
}

// stopCodeOf is the stop code of a task that stopped on its own for reason:
// EssentialContainerExited for the ECS agent's words for it, else
// TaskFailedToStart for a task that never ran.
func stopCodeOf(reason string, neverStarted bool) string {
	switch {
	case strings.HasPrefix(reason, "Essential container in task exited"):
		return string(ecsapi.TaskStopCodeEssentialContainerExited)
	case neverStarted:
		return string(ecsapi.TaskStopCodeTaskFailedToStart)
	}
	return ""
}
