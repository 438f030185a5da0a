package sts

import (
	"context"

	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/iam"
	"github.com/berth-dev/berth/iam/policy"
)

// ecsTasksService is the principal a task role trusts.
const ecsTasksService = "ecs-tasks.amazonaws.com"

// TaskRoles tells which role a task placed on a container instance runs
// with; *ecs.Service is one.
type TaskRoles interface {
	PlacedTaskRole(ctx context.Context, account, region, taskID string) (string, error)
}

// SetTaskRoles lets AssumeRole vend task roles to ECS agents that are not
// Berth's own (berth agent): on ECS the control plane assumes a task role
// for the agent, which has no other way to get it. Call it before serving.
func (s *Service) SetTaskRoles(tr TaskRoles) { s.taskRoles = tr }

// assumesForTask reports whether the caller may assume role as the ECS
// agent running task sessionName: the role trusts ECS tasks, the caller is
// of the role's account, and the task is of that account and the request's
// Region, placed on a container instance, not stopped, and runs with this
// very role. A task's agent so gets its own task's role and no other, as
// the in-process agent's endpoints check.
func (s *Service) assumesForTask(ctx context.Context, id awsapi.Identity, role iam.Role, sessionName string) (bool, error) {
	if s.taskRoles == nil || id.AccountID != role.Account {
		return false, nil
	}
	if !role.Trust.Allows("sts:AssumeRole", policy.Caller{Service: ecsTasksService}) {
		return false, nil
	}
	taskRole, err := s.taskRoles.PlacedTaskRole(ctx, id.AccountID, id.Region, sessionName)
	if err != nil || taskRole == "" {
		return false, err
	}
	return taskRole == role.ARN || taskRole == role.Name, nil
}
