package sts_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdksts "github.com/aws/aws-sdk-go-v2/service/sts"
)

// placedTasks is sts.TaskRoles over a fixed set: task id → role, in acct
// and eu-west-1 (the test clients' Region).
type placedTasks map[string]string

func (p placedTasks) PlacedTaskRole(_ context.Context, account, region, taskID string) (string, error) {
	if account != acct || region != "eu-west-1" {
		return "", nil
	}
	return p[taskID], nil
}

// A remote ECS agent assumes a role that trusts only ECS tasks as the
// session of a placed task that runs with it, and gets nothing else.
func TestAssumeRoleForPlacedTask(t *testing.T) {
	w := newWorld(t, nil)
	w.createRole(acct, "tasks", ecsTrust)
	w.createRole(acct, "named", ecsTrust)
	w.createRole(acct, "other", ecsTrust)
	w.createRole(acct, "app", trustAccount(acct))
	w.sts.SetTaskRoles(placedTasks{
		"task1":   "arn:aws:iam::111111111111:role/tasks",
		"task2":   "named", // task definitions may name a role
		"appTask": "arn:aws:iam::111111111111:role/app",
	})
	ctx := context.Background()
	for _, tc := range []struct {
		name, akid, role, session, want string
	}{
		{"the task's role", acct, "tasks", "task1", "arn:aws:sts::111111111111:assumed-role/tasks/task1"},
		{"the task's role by name", acct, "named", "task2", "arn:aws:sts::111111111111:assumed-role/named/task2"},
		{"another role than the task's", acct, "other", "task1", ""},
		{"not a placed task", acct, "tasks", "task9", ""},
		{"another account", "222222222222", "tasks", "task1", ""},
		// The exception is for roles that trust ECS tasks; this one is
		// assumed by its own trust policy.
		{"a role trusting the account", acct, "app", "appTask", "arn:aws:sts::111111111111:assumed-role/app/appTask"},
	} {
		out, err := w.client(tc.akid, "x", "").AssumeRole(ctx, &sdksts.AssumeRoleInput{
			RoleArn: aws.String("arn:aws:iam::111111111111:role/" + tc.role), RoleSessionName: aws.String(tc.session)})
		switch {
		case tc.want == "" && apiCode(err) != "AccessDenied":
			t.Errorf("%s: %v, want AccessDenied", tc.name, err)
		case tc.want != "" && (err != nil || aws.ToString(out.AssumedRoleUser.Arn) != tc.want):
			t.Errorf("%s: %v %v, want %s", tc.name, out, err, tc.want)
		}
	}
}
