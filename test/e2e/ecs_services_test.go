package e2e

// ECS services on real containers: a service of 2 reaches a steady state
// (boto3's and the aws CLI's services-stable waiters), a stopped task is
// replaced, v2 rolls out, a broken v3 (its container exits 1) trips the
// deployment circuit breaker and rolls back to v2, and a forced delete
// leaves no task running. The aws CLI v2 and v1 and boto3 share the story.

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

type svcShape struct {
	ServiceName, Status, TaskDefinition string
	DesiredCount, RunningCount          int
	Deployments                         []struct {
		Id, Status, TaskDefinition, RolloutState, RolloutStateReason string
		DesiredCount, RunningCount, FailedTasks                      int
	}
	Events []struct{ Message string }
}

func (s svcShape) hasEvent(fragment string) bool {
	return slices.ContainsFunc(s.Events, func(e struct{ Message string }) bool { return strings.Contains(e.Message, fragment) })
}

func svcDescribe(t *testing.T, cli cliFunc) svcShape {
	t.Helper()
	var out struct {
		Services []svcShape
		Failures []struct{ Arn, Reason string }
	}
	cli(t, "ecs", "describe-services", "--cluster", "tasks", "--services", "web").Must(t).JSON(t, &out)
	if len(out.Services) != 1 {
		t.Fatalf("describe-services: %+v", out)
	}
	return out.Services[0]
}

// svcPoll describes the service until ok, for at most d.
func svcPoll(t *testing.T, cli cliFunc, d time.Duration, what string, ok func(svcShape) bool) svcShape {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		s := svcDescribe(t, cli)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("service not %s after %s: %+v", what, d, s)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// svcTasks lists the service's tasks desired RUNNING, and has every task
// seen removed from the engine when the test ends.
func svcTasks(t *testing.T, cli cliFunc, seen map[string]bool) []string {
	t.Helper()
	var out struct{ TaskArns []string }
	cli(t, "ecs", "list-tasks", "--cluster", "tasks", "--service-name", "web").Must(t).JSON(t, &out)
	for _, a := range out.TaskArns {
		if !seen[a] {
			seen[a] = true
			tkCleanup(t, a)
		}
	}
	return out.TaskArns
}

// svcWaitStable runs boto3's services_stable waiter with a 1 s delay (the
// CLI's is 15 s).
func svcWaitStable(t *testing.T, b *harness.Berth) {
	t.Helper()
	script := `import boto3
boto3.client("ecs").get_waiter("services_stable").wait(cluster="tasks", services=["web"],
    WaiterConfig={"Delay": 1, "MaxAttempts": 120})
`
	b.Python(t, script).Must(t)
}

func TestECSServiceRollingDeploymentAndCircuitBreaker(t *testing.T) {
	t.Parallel()
	b, img := tkSetup(t)
	seen := map[string]bool{}
	def := func(message string, command ...string) string {
		return fmt.Sprintf(`{"family": "web", "containerDefinitions": [{
  "name": "web", "image": %q, "memory": 64, "command": [%s],
  "portMappings": [{"containerPort": 8080}],
  "environment": [{"name": "MESSAGE", "value": %q}]}]}`, img, `"`+strings.Join(command, `", "`)+`"`, message)
	}
	tkRegister(t, b.AWSv2, def("v1", "serve"))
	tkRegister(t, b.AWSv2, def("v2", "serve"))
	tkRegister(t, b.AWSv2, def("v3", "exit", "1"))

	// Bad input gets AWS's errors.
	if r := b.AWSv2(t, "ecs", "update-service", "--cluster", "tasks", "--service", "web", "--desired-count", "1"); r.ErrorCode() != "ServiceNotFoundException" {
		t.Fatalf("update of a missing service: %s %s", r.ErrorCode(), r.Stderr)
	}

	b.AWSv2(t, "ecs", "create-service", "--cluster", "tasks", "--service-name", "web", "--task-definition", "web:1",
		"--desired-count", "2", "--deployment-configuration",
		"deploymentCircuitBreaker={enable=true,rollback=true},maximumPercent=200,minimumHealthyPercent=100").Must(t)
	svcWaitStable(t, b)
	// Stable now, so the CLI's own waiter returns at its first look.
	b.AWSv2(t, "ecs", "wait", "services-stable", "--cluster", "tasks", "--services", "web").Must(t)
	// As on AWS, the waiter may return a moment before the deployment is
	// COMPLETED (runningCount counts tasks RUNNING, not yet healthy).
	s := svcPoll(t, b.AWSv2, 30*time.Second, "COMPLETED", func(s svcShape) bool {
		return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == "COMPLETED"
	})
	if s.RunningCount != 2 || len(s.Deployments) != 1 || s.Deployments[0].RolloutState != "COMPLETED" ||
		!strings.HasPrefix(s.Deployments[0].Id, "ecs-svc/") || !s.hasEvent("(service web) has reached a steady state.") ||
		!s.hasEvent("(service web) has started 2 tasks: (task ") {
		t.Fatalf("service after create: %+v", s)
	}
	first := svcTasks(t, b.AWSv2, seen)
	if len(first) != 2 {
		t.Fatalf("tasks %v", first)
	}

	// A task stopped by hand is replaced.
	b.AWS(t, "ecs", "stop-task", "--cluster", "tasks", "--task", first[0]).Must(t)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ts := svcTasks(t, b.AWS, seen)
		if len(ts) == 2 && !slices.Contains(ts, first[0]) && svcDescribe(t, b.AWS).RunningCount == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stopped task not replaced: %v", ts)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// v2 rolls out: new tasks first (up to 200%), old ones stopped as the
	// new ones run.
	b.AWSv2(t, "ecs", "update-service", "--cluster", "tasks", "--service", "web", "--task-definition", "web:2").Must(t)
	svcWaitStable(t, b)
	s = svcDescribe(t, b.AWSv2)
	if !strings.HasSuffix(s.TaskDefinition, "web:2") || s.Deployments[0].RolloutState != "COMPLETED" ||
		!s.hasEvent("deployment completed.") || !s.hasEvent("running tasks: (task ") {
		t.Fatalf("service after v2: %+v", s)
	}
	for _, arn := range svcTasks(t, b.AWSv2, seen) {
		task := tkDescribe(t, b.AWSv2, arn)
		web := task.container("web")
		if len(web.NetworkBindings) == 0 {
			t.Fatalf("task %s has no port: %+v", arn, task)
		}
		if code, body := tkGet(t, fmt.Sprintf("http://127.0.0.1:%d/", web.NetworkBindings[0].HostPort)); code != 200 || !strings.Contains(body, "v2") {
			t.Errorf("v2 task answered %d %q", code, body)
		}
	}

	// v3 exits at once: the circuit breaker fails it and rolls back to v2.
	b.AWSv2(t, "ecs", "update-service", "--cluster", "tasks", "--service", "web", "--task-definition", "web:3").Must(t)
	s = svcPoll(t, b.AWSv2, 120*time.Second, "rolled back", func(s svcShape) bool {
		return s.hasEvent("deployment failed: tasks failed to start.") && strings.HasSuffix(s.TaskDefinition, "web:2")
	})
	svcWaitStable(t, b)
	s = svcDescribe(t, b.AWSv2)
	if !s.hasEvent("rolling back to deployment ecs-svc/") || s.RunningCount != 2 || !strings.HasSuffix(s.Deployments[0].TaskDefinition, "web:2") {
		t.Fatalf("service after the rollback: %+v", s)
	}

	// A forced delete stops every task; the cluster can go then.
	if r := b.AWS(t, "ecs", "delete-service", "--cluster", "tasks", "--service", "web"); r.ErrorCode() != "InvalidParameterException" {
		t.Fatalf("delete of a scaled-up service: %s %s", r.ErrorCode(), r.Stderr)
	}
	b.AWS(t, "ecs", "delete-service", "--cluster", "tasks", "--service", "web", "--force").Must(t)
	svcPoll(t, b.AWS, 60*time.Second, "INACTIVE", func(s svcShape) bool { return s.Status == "INACTIVE" })
	if ts := svcTasks(t, b.AWS, seen); len(ts) != 0 {
		t.Fatalf("tasks left: %v", ts)
	}
	for arn := range seen {
		if left := strings.Fields(harness.Docker(t, "ps", "-q", "--filter", "label=com.amazonaws.ecs.task-arn="+arn).Must(t).Stdout); len(left) != 0 {
			t.Errorf("task %s still has running containers %v", arn, left)
		}
	}
	b.AWS(t, "ecs", "delete-cluster", "--cluster", "tasks").Must(t)
}

// kill -9 in the middle of a rolling deployment (boto3): after the restart
// the deployment finishes from where it was, with exactly desiredCount
// tasks of the new revision running and none doubled.
func TestECSServiceDeploymentSurvivesKill(t *testing.T) {
	t.Parallel()
	b, img := tkSetup(t)
	seen := map[string]bool{}
	for _, msg := range []string{"v1", "v2"} {
		tkRegister(t, b.AWS, fmt.Sprintf(`{"family": "web", "containerDefinitions": [{
  "name": "web", "image": %q, "memory": 64, "command": ["serve"],
  "portMappings": [{"containerPort": 8080}],
  "environment": [{"name": "MESSAGE", "value": %q}]}]}`, img, msg))
	}
	b.Python(t, `import boto3
boto3.client("ecs").create_service(cluster="tasks", serviceName="web", taskDefinition="web:1", desiredCount=2)
`).Must(t)
	svcWaitStable(t, b)
	svcTasks(t, b.AWS, seen)
	b.Python(t, `import boto3
boto3.client("ecs").update_service(cluster="tasks", service="web", taskDefinition="web:2")
`).Must(t)
	// Crash at once: the new tasks are starting, the old ones still run (a
	// task counts as healthy after 3 s RUNNING).
	b.Kill()
	b.Restart()
	svcWaitStable(t, b)
	s := svcPoll(t, b.AWS, 30*time.Second, "COMPLETED", func(s svcShape) bool {
		return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == "COMPLETED"
	})
	if !strings.HasSuffix(s.TaskDefinition, "web:2") || s.RunningCount != 2 {
		t.Fatalf("service after the restart: %+v", s)
	}
	ts := svcTasks(t, b.AWS, seen)
	if len(ts) != 2 {
		t.Fatalf("tasks after the restart: %v", ts)
	}
	running := 0
	for arn := range seen {
		running += len(strings.Fields(harness.Docker(t, "ps", "-q", "--filter", "label=com.amazonaws.ecs.task-arn="+arn).Must(t).Stdout))
	}
	if running != 2 {
		t.Fatalf("%d containers running for 2 tasks", running)
	}
	b.AWS(t, "ecs", "delete-service", "--cluster", "tasks", "--service", "web", "--force").Must(t)
	svcPoll(t, b.AWS, 60*time.Second, "INACTIVE", func(s svcShape) bool { return s.Status == "INACTIVE" })
}
