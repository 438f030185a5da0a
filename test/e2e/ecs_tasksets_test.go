package e2e

// ECS task sets on real containers behind a real ALB: an EXTERNAL service
// gets task set A (blue) at 100%, answering through the listener; task
// set B (green) joins, Berth is killed with SIGKILL and restarted (no task
// lost or doubled), the listener moves to green, B becomes primary, A is
// scaled to 0 and deleted and its containers are gone. A CODE_DEPLOY
// service runs its initial PRIMARY task set behind a second listener.
// The aws CLI v2 drives the story, boto3 the CODE_DEPLOY service.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

type taskSetShape struct {
	Id, TaskSetArn, Status, TaskDefinition, StabilityStatus, ExternalId, StartedBy string
	ComputedDesiredCount, RunningCount, PendingCount                               int
	Scale                                                                          struct {
		Value float64
		Unit  string
	}
	LoadBalancers []struct{ TargetGroupArn string }
	Tags          []struct{ Key, Value string }
}

type tsServiceShape struct {
	Status, TaskDefinition     string
	DesiredCount, RunningCount int
	Deployments                []json.RawMessage
	TaskSets                   []taskSetShape
	Events                     []struct{ Message string }
}

func tsDescribeService(t *testing.T, b *harness.Berth, name string) tsServiceShape {
	t.Helper()
	var out struct{ Services []tsServiceShape }
	b.AWSv2(t, "ecs", "describe-services", "--cluster", "tasks", "--services", name).Must(t).JSON(t, &out)
	if len(out.Services) != 1 {
		t.Fatalf("describe-services %s: %+v", name, out)
	}
	return out.Services[0]
}

// tsDescribe describes one task set; ok is false when it is MISSING.
func tsDescribe(t *testing.T, b *harness.Berth, service, id string) (taskSetShape, bool) {
	t.Helper()
	var out struct {
		TaskSets []taskSetShape
		Failures []struct{ Arn, Reason string }
	}
	b.AWSv2(t, "ecs", "describe-task-sets", "--cluster", "tasks", "--service", service, "--task-sets", id, "--include", "TAGS").Must(t).JSON(t, &out)
	if len(out.TaskSets) == 1 {
		return out.TaskSets[0], true
	}
	if len(out.Failures) != 1 || out.Failures[0].Reason != "MISSING" {
		t.Fatalf("describe-task-sets %s: %+v", id, out)
	}
	return taskSetShape{}, false
}

// tsPoll runs check every half second until it passes, for at most d.
func tsPoll(t *testing.T, d time.Duration, what string, check func() (bool, any)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, last := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not %s after %s: %+v", what, d, last)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// tsTasks lists a service's tasks started by a task set and desired
// RUNNING, and has each removed from the engine when the test ends.
func tsTasks(t *testing.T, b *harness.Berth, service, startedBy string, seen map[string]bool) []string {
	t.Helper()
	var out struct{ TaskArns []string }
	b.AWSv2(t, "ecs", "list-tasks", "--cluster", "tasks", "--service-name", service, "--started-by", startedBy).Must(t).JSON(t, &out)
	for _, a := range out.TaskArns {
		if !seen[a] {
			seen[a] = true
			tkCleanup(t, a)
		}
	}
	slices.Sort(out.TaskArns)
	return out.TaskArns
}

// runningContainers counts the engine's running containers of tasks.
func runningContainers(t *testing.T, arns []string) int {
	t.Helper()
	n := 0
	for _, arn := range arns {
		n += len(strings.Fields(harness.Docker(t, "ps", "-q", "--filter", "label=com.amazonaws.ecs.task-arn="+arn).Must(t).Stdout))
	}
	return n
}

// messagesThrough sends n requests through a listener and counts the
// answers by the task's MESSAGE.
func messagesThrough(t *testing.T, port, n int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for range n {
		resp, body := lbGet(t, port, "/")
		if resp.StatusCode != http.StatusOK {
			seen[strconv.Itoa(resp.StatusCode)]++
			continue
		}
		var m struct{ Message string }
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("answer %q: %v", body, err)
		}
		seen[m.Message]++
	}
	return seen
}

func TestECSTaskSetsBlueGreenBehindALB(t *testing.T) {
	t.Parallel()
	b, img := tkSetup(t)
	cli := b.AWSv2
	seen := map[string]bool{}
	for _, msg := range []string{"blue", "green"} {
		tkRegister(t, cli, fmt.Sprintf(`{"family": "web", "containerDefinitions": [{
  "name": "web", "image": %q, "memory": 64, "command": ["serve"],
  "portMappings": [{"containerPort": 8080}],
  "environment": [{"name": "MESSAGE", "value": %q}]}]}`, img, msg))
	}

	// An ALB with a blue and a green target group; the listener starts on
	// blue. A short deregistration delay keeps draining quick.
	subnets := defaultSubnets(t, b)
	lbArn := str1(t, cli(t, "elbv2", "create-load-balancer", "--name", "ts-web", "--subnets", subnets[0], subnets[1]).Must(t).Map(t),
		"LoadBalancers", "0", "LoadBalancerArn")
	t.Cleanup(func() { b.AWSv2(t, "elbv2", "delete-load-balancer", "--load-balancer-arn", lbArn) })
	tg := func(name string) string {
		arn := str1(t, cli(t, "elbv2", "create-target-group", "--name", name, "--protocol", "HTTP", "--port", "8080", "--vpc-id", "vpc-1",
			"--target-type", "ip", "--health-check-path", "/health", "--health-check-interval-seconds", "5",
			"--health-check-timeout-seconds", "2", "--healthy-threshold-count", "2").Must(t).Map(t), "TargetGroups", "0", "TargetGroupArn")
		cli(t, "elbv2", "modify-target-group-attributes", "--target-group-arn", arn,
			"--attributes", "Key=deregistration_delay.timeout_seconds,Value=1").Must(t)
		return arn
	}
	blue, green, cd := tg("ts-blue"), tg("ts-green"), tg("ts-cd")
	port := freeListenerPort(t)
	listener := str1(t, cli(t, "elbv2", "create-listener", "--load-balancer-arn", lbArn, "--protocol", "HTTP",
		"--port", strconv.Itoa(port), "--default-actions", "Type=forward,TargetGroupArn="+blue).Must(t).Map(t), "Listeners", "0", "ListenerArn")
	// The test listener, as in a blue/green setup: green is reachable (and
	// health-checked) before production traffic moves to it.
	testPort := freeListenerPort(t)
	cli(t, "elbv2", "create-listener", "--load-balancer-arn", lbArn, "--protocol", "HTTP",
		"--port", strconv.Itoa(testPort), "--default-actions", "Type=forward,TargetGroupArn="+green).Must(t)
	lbOf := func(tg string) string { return "targetGroupArn=" + tg + ",containerName=web,containerPort=8080" }

	// An EXTERNAL service starts with no task set and no task.
	if r := cli(t, "ecs", "create-service", "--cluster", "tasks", "--service-name", "web", "--task-definition", "web:1",
		"--desired-count", "2", "--deployment-controller", "type=EXTERNAL"); r.ErrorCode() != "InvalidParameterException" || !strings.Contains(r.Stderr, "TaskDefinition must be blank.") {
		t.Fatalf("EXTERNAL service with a task definition: %s %s", r.ErrorCode(), r.Stderr)
	}
	cli(t, "ecs", "create-service", "--cluster", "tasks", "--service-name", "web", "--desired-count", "2",
		"--launch-type", "EC2", "--deployment-controller", "type=EXTERNAL").Must(t)
	if s := tsDescribeService(t, b, "web"); len(s.TaskSets) != 0 || len(s.Deployments) != 0 || s.RunningCount != 0 {
		t.Fatalf("new EXTERNAL service: %+v", s)
	}

	// Bad input gets AWS's error codes.
	for _, c := range []struct {
		code string
		args []string
	}{
		{"ServiceNotFoundException", []string{"describe-task-sets", "--cluster", "tasks", "--service", "nope"}},
		{"ClusterNotFoundException", []string{"describe-task-sets", "--cluster", "nope", "--service", "web"}},
		{"TaskSetNotFoundException", []string{"update-task-set", "--cluster", "tasks", "--service", "web", "--task-set", "ecs-svc/1234567890123456789", "--scale", "value=0,unit=PERCENT"}},
		{"TaskSetNotFoundException", []string{"delete-task-set", "--cluster", "tasks", "--service", "web", "--task-set", "ecs-svc/1234567890123456789"}},
		{"InvalidParameterException", []string{"create-task-set", "--cluster", "tasks", "--service", "web", "--task-definition", "web:1", "--scale", "value=150,unit=PERCENT"}},
		{"ClientException", []string{"create-task-set", "--cluster", "tasks", "--service", "web", "--task-definition", "nope:1"}},
	} {
		if r := cli(t, append([]string{"ecs"}, c.args...)...); r.ErrorCode() != c.code {
			t.Errorf("%v: %s %s, want %s", c.args, r.ErrorCode(), r.Stderr, c.code)
		}
	}

	// Task set A (blue) at 100%: 2 tasks, registered in blue, answering
	// through the listener.
	var created struct{ TaskSet taskSetShape }
	cli(t, "ecs", "create-task-set", "--cluster", "tasks", "--service", "web", "--task-definition", "web:1",
		"--load-balancers", lbOf(blue), "--scale", "value=100,unit=PERCENT", "--external-id", "blue",
		"--tags", "key=color,value=blue").Must(t).JSON(t, &created)
	a := created.TaskSet
	if !strings.HasPrefix(a.Id, "ecs-svc/") || a.TaskSetArn != "arn:aws:ecs:us-east-1:000000000000:task-set/tasks/web/"+a.Id ||
		a.Status != "ACTIVE" || a.ComputedDesiredCount != 2 || a.ExternalId != "blue" || a.Scale.Unit != "PERCENT" || a.Scale.Value != 100 {
		t.Fatalf("task set A: %+v", a)
	}
	tsPoll(t, 90*time.Second, "A steady", func() (bool, any) {
		ts, _ := tsDescribe(t, b, "web", a.Id)
		return ts.StabilityStatus == "STEADY_STATE" && ts.RunningCount == 2, ts
	})
	if ts, _ := tsDescribe(t, b, "web", a.TaskSetArn); len(ts.Tags) != 1 || ts.Tags[0].Value != "blue" {
		t.Errorf("task set tags: %+v", ts.Tags)
	}
	aTasks := tsTasks(t, b, "web", a.Id, seen)
	if len(aTasks) != 2 {
		t.Fatalf("task set A's tasks: %v", aTasks)
	}
	if got := messagesThrough(t, port, 10); got["blue"] != 10 {
		t.Fatalf("through the listener on blue: %v", got)
	}
	cli(t, "ecs", "update-service-primary-task-set", "--cluster", "tasks", "--service", "web", "--primary-task-set", a.Id).Must(t)
	if s := tsDescribeService(t, b, "web"); !strings.HasSuffix(s.TaskDefinition, "task-definition/web:1") || len(s.TaskSets) != 1 || s.TaskSets[0].Status != "PRIMARY" {
		t.Fatalf("service after A became primary: %+v", s)
	}

	// Task set B (green); Berth dies at once and comes back.
	cli(t, "ecs", "create-task-set", "--cluster", "tasks", "--service", "web", "--task-definition", "web:2",
		"--load-balancers", lbOf(green), "--scale", "value=100,unit=PERCENT").Must(t).JSON(t, &created)
	bs := created.TaskSet
	b.Kill()
	b.Restart()
	tsPoll(t, 90*time.Second, "A and B steady after the restart", func() (bool, any) {
		s := tsDescribeService(t, b, "web")
		steady := len(s.TaskSets) == 2
		for _, ts := range s.TaskSets {
			steady = steady && ts.StabilityStatus == "STEADY_STATE" && ts.RunningCount == 2
		}
		return steady, s.TaskSets
	})
	if got := tsTasks(t, b, "web", a.Id, seen); !slices.Equal(got, aTasks) {
		t.Fatalf("task set A's tasks changed across the restart: %v, were %v", got, aTasks)
	}
	bTasks := tsTasks(t, b, "web", bs.Id, seen)
	if len(bTasks) != 2 || runningContainers(t, append(slices.Clone(aTasks), bTasks...)) != 4 {
		t.Fatalf("B's tasks %v; %d containers for 4 tasks", bTasks, runningContainers(t, append(slices.Clone(aTasks), bTasks...)))
	}

	if got := messagesThrough(t, testPort, 6); got["green"] != 6 {
		t.Fatalf("through the test listener: %v", got)
	}

	// Traffic moves to green, then B becomes primary.
	cli(t, "elbv2", "modify-listener", "--listener-arn", listener, "--default-actions", "Type=forward,TargetGroupArn="+green).Must(t)
	if got := messagesThrough(t, port, 10); got["green"] != 10 {
		t.Fatalf("through the listener on green: %v", got)
	}
	cli(t, "ecs", "update-service-primary-task-set", "--cluster", "tasks", "--service", "web", "--primary-task-set", bs.TaskSetArn).Must(t)
	s := tsDescribeService(t, b, "web")
	status := map[string]string{}
	for _, ts := range s.TaskSets {
		status[ts.Id] = ts.Status
	}
	if !strings.HasSuffix(s.TaskDefinition, "task-definition/web:2") || status[bs.Id] != "PRIMARY" || status[a.Id] != "ACTIVE" || len(s.Deployments) != 0 {
		t.Fatalf("service after B became primary: %+v", s)
	}

	// A goes: not while scaled up, then scaled to 0, then deleted.
	if r := cli(t, "ecs", "delete-task-set", "--cluster", "tasks", "--service", "web", "--task-set", a.Id); r.ErrorCode() != "InvalidParameterException" {
		t.Fatalf("delete of a task set at 100%%: %s %s", r.ErrorCode(), r.Stderr)
	}
	cli(t, "ecs", "update-task-set", "--cluster", "tasks", "--service", "web", "--task-set", a.Id, "--scale", "value=0,unit=PERCENT").Must(t)
	tsPoll(t, 60*time.Second, "A scaled to 0", func() (bool, any) {
		ts, _ := tsDescribe(t, b, "web", a.Id)
		return ts.ComputedDesiredCount == 0 && ts.RunningCount == 0 && len(tsTasks(t, b, "web", a.Id, seen)) == 0, ts
	})
	var deleted struct{ TaskSet taskSetShape }
	cli(t, "ecs", "delete-task-set", "--cluster", "tasks", "--service", "web", "--task-set", a.TaskSetArn).Must(t).JSON(t, &deleted)
	if deleted.TaskSet.Status != "DRAINING" {
		t.Fatalf("deleted task set: %+v", deleted.TaskSet)
	}
	tsPoll(t, 60*time.Second, "A forgotten", func() (bool, any) {
		_, found := tsDescribe(t, b, "web", a.Id)
		return !found, found
	})
	tsPoll(t, 30*time.Second, "A's containers stopped", func() (bool, any) {
		n := runningContainers(t, aTasks)
		return n == 0, n
	})
	if got := messagesThrough(t, port, 10); got["green"] != 10 {
		t.Fatalf("through the listener after A went: %v", got)
	}
	if s := tsDescribeService(t, b, "web"); !slices.ContainsFunc(s.Events, func(e struct{ Message string }) bool {
		return strings.Contains(e.Message, "(service web, taskSet "+bs.Id+") updated state to STEADY_STATE.")
	}) {
		t.Errorf("events: %+v", s.Events)
	}

	// A CODE_DEPLOY service (boto3) runs its initial PRIMARY task set, and
	// only CodeDeploy may change its task definition.
	cdPort := freeListenerPort(t)
	cli(t, "elbv2", "create-listener", "--load-balancer-arn", lbArn, "--protocol", "HTTP",
		"--port", strconv.Itoa(cdPort), "--default-actions", "Type=forward,TargetGroupArn="+cd).Must(t)
	b.Python(t, fmt.Sprintf(`import boto3
boto3.client("ecs").create_service(cluster="tasks", serviceName="cd", taskDefinition="web:1", desiredCount=2,
    deploymentController={"type": "CODE_DEPLOY"},
    loadBalancers=[{"targetGroupArn": %q, "containerName": "web", "containerPort": 8080}])
`, cd)).Must(t)
	tsPoll(t, 90*time.Second, "the CODE_DEPLOY service steady", func() (bool, any) {
		s := tsDescribeService(t, b, "cd")
		return len(s.TaskSets) == 1 && s.TaskSets[0].Status == "PRIMARY" && s.TaskSets[0].StabilityStatus == "STEADY_STATE" &&
			s.TaskSets[0].RunningCount == 2 && s.TaskSets[0].Scale.Value == 100 && s.RunningCount == 2 && len(s.Deployments) == 0, s
	})
	cdTasks := tsTasks(t, b, "cd", tsDescribeService(t, b, "cd").TaskSets[0].Id, seen)
	if len(cdTasks) != 2 {
		t.Fatalf("CODE_DEPLOY tasks: %v", cdTasks)
	}
	if got := messagesThrough(t, cdPort, 6); got["blue"] != 6 {
		t.Fatalf("through the CODE_DEPLOY listener: %v", got)
	}
	r := b.Python(t, `import boto3, botocore
try:
    boto3.client("ecs").update_service(cluster="tasks", service="cd", taskDefinition="web:2")
except botocore.exceptions.ClientError as e:
    print(e.response["Error"]["Code"], e.response["Error"]["Message"])
`).Must(t)
	if want := "InvalidParameterException Unable to update task definition on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment."; strings.TrimSpace(r.Stdout) != want {
		t.Errorf("update-service of a CODE_DEPLOY service: %q", r.Stdout)
	}

	// Forced deletes stop everything.
	for _, name := range []string{"web", "cd"} {
		cli(t, "ecs", "delete-service", "--cluster", "tasks", "--service", name, "--force").Must(t)
	}
	tsPoll(t, 60*time.Second, "both services INACTIVE with no container", func() (bool, any) {
		all := slices.Concat(aTasks, bTasks, cdTasks)
		n := runningContainers(t, all)
		return tsDescribeService(t, b, "web").Status == "INACTIVE" && tsDescribeService(t, b, "cd").Status == "INACTIVE" && n == 0, n
	})
}
