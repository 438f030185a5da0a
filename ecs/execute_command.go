package ecs

import (
	"context"
	"slices"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/store"
)

// ExecuteCommand checks a request as ECS does, then answers
// TargetNotConnectedException: an ECS Exec session is an SSM Session
// Manager data channel to an SSM agent in the task, and Berth runs neither
// (the client side, session-manager-plugin, would be needed too). A task
// run without enableExecuteCommand gets AWS's InvalidParameterException.
func (s *Service) ExecuteCommand(ctx context.Context, in *ecsapi.ExecuteCommandInput) (*ecsapi.ExecuteCommandOutput, error) {
	sc := scopeOf(ctx)
	switch {
	case deref(in.Task) == "":
		return nil, ecsapi.NewInvalidParameterException("task must be specified.")
	case deref(in.Command) == "":
		return nil, ecsapi.NewInvalidParameterException("command must be specified.")
	case !deref(in.Interactive):
		return nil, ecsapi.NewInvalidParameterException("Interactive is the only mode supported currently.")
	}
	err := s.st.View(ctx, func(tx store.Tx) error {
		rec, err := lookupTask(tx, sc, deref(in.Cluster), deref(in.Task))
		if err != nil {
			return err
		}
		name := deref(in.Container)
		switch {
		case name == "" && len(rec.Containers) > 1:
			return ecsapi.NewInvalidParameterException("The task has more than one container: a container name must be specified.")
		case name != "" && !slices.ContainsFunc(rec.Containers, func(c containerRecord) bool { return c.Name == name }):
			return ecsapi.NewInvalidParameterException("The container %s does not exist in the task.", name)
		case !rec.EnableExecuteCommand:
			return ecsapi.NewInvalidParameterException("The execute command failed because execute command was not enabled when the task was run or the execute command agent isn’t running. Wait and try again or run a new task with execute command enabled and try again.")
		case rec.Status.LastStatus != TaskRunning || rec.DesiredStatus != TaskRunning:
			return ecsapi.NewInvalidParameterException("The execute command failed because the task is not RUNNING (lastStatus %s).", rec.Status.LastStatus)
		}
		return ecsapi.NewTargetNotConnectedException("The execute command failed because the execute command agent is not connected: Berth runs no SSM agent in task containers and has no Session Manager channel. Use docker exec on the task's container instead (its label com.amazonaws.ecs.task-arn is %s).", sc.taskARN(rec.Cluster, rec.ID))
	})
	return nil, err
}
