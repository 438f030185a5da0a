package endpoints

import (
	"context"
	"fmt"

	"github.com/berth-dev/berth/ecs"
)

// ForAgent is the Server as the task agent sees it: tasks come as
// ecs.AssignedTask, and their state for the metadata endpoints is read from
// the control plane.
type ForAgent struct {
	S *Server
	// Tasks and Host are where a task's current state is read.
	Tasks ecs.TaskSource
	Host  string
}

// Register registers an assigned task (again, when re-adopted) and returns
// the environment of each of its containers, by container name.
func (a *ForAgent) Register(ctx context.Context, t *ecs.AssignedTask) (Env, error) {
	arn := t.TaskARN
	return a.S.Register(ctx, FromAssignedTask(t, func(ctx context.Context) (Status, error) {
		return a.status(ctx, arn)
	}))
}

// Unregister forgets a task that stopped. Failing to forget it in the
// store only leaves a record that Tasks lists for a later clean-up.
func (a *ForAgent) Unregister(taskARN string) {
	if err := a.S.Unregister(context.Background(), taskARN); err != nil {
		a.S.log.Warn("task endpoints: unregistering", "task", taskARN, "error", err)
	}
}

// status reads a task's current state from the control plane. A task no
// longer assigned to the host has stopped.
func (a *ForAgent) status(ctx context.Context, taskARN string) (Status, error) {
	tasks, err := a.Tasks.ListTasksToReconcile(ctx, a.Host)
	if err != nil {
		return Status{}, err
	}
	for i := range tasks {
		if tasks[i].TaskARN == taskARN {
			return Status{DesiredStatus: tasks[i].DesiredStatus, TaskStatus: tasks[i].Status}, nil
		}
	}
	return Status{}, fmt.Errorf("task %s is no longer running on this host", taskARN)
}
