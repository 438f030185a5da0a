package e2e

// kill -9 in the middle of a rolling deployment of a service behind an
// Application Load Balancer: 3 tasks of v1 registered in a target group,
// an update to v2 with minimumHealthyPercent 50 and maximumPercent 200,
// Berth killed while the deployment is IN_PROGRESS and restarted. The
// deployment must finish with exactly 3 tasks of v2, no v1 left, every
// task one container on the engine and every container a task, the
// target group holding exactly the v2 tasks, healthy, and the listener
// answering v2.

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

func TestECSServiceBehindALBSurvivesKillMidDeployment(t *testing.T) {
	t.Parallel()
	b, img := tkSetup(t)
	cli := b.AWSv2
	seen := map[string]bool{}
	for _, msg := range []string{"v1", "v2"} {
		tkRegister(t, cli, fmt.Sprintf(`{"family": "web", "containerDefinitions": [{
  "name": "web", "image": %q, "memory": 64, "command": ["serve"],
  "portMappings": [{"containerPort": 8080}],
  "environment": [{"name": "MESSAGE", "value": %q}]}]}`, img, msg))
	}

	// The load balancer: a target group checked every 5 s (2 successes to
	// be healthy), draining for 5 s, and a listener forwarding to it.
	subnets := defaultSubnets(t, b)
	var lb struct {
		LoadBalancers []struct{ LoadBalancerArn string }
	}
	cli(t, "elbv2", "create-load-balancer", "--name", "web", "--subnets", subnets[0], subnets[1]).Must(t).JSON(t, &lb)
	var tg struct {
		TargetGroups []struct{ TargetGroupArn string }
	}
	cli(t, "elbv2", "create-target-group", "--name", "web", "--protocol", "HTTP", "--port", "8080", "--vpc-id", vpcOf(t, b),
		"--target-type", "ip", "--health-check-path", "/health", "--health-check-interval-seconds", "5",
		"--health-check-timeout-seconds", "2", "--healthy-threshold-count", "2", "--unhealthy-threshold-count", "2").Must(t).JSON(t, &tg)
	tgARN := tg.TargetGroups[0].TargetGroupArn
	cli(t, "elbv2", "modify-target-group-attributes", "--target-group-arn", tgARN,
		"--attributes", "Key=deregistration_delay.timeout_seconds,Value=5").Must(t)
	port := freeListenerPort(t)
	cli(t, "elbv2", "create-listener", "--load-balancer-arn", lb.LoadBalancers[0].LoadBalancerArn, "--protocol", "HTTP",
		"--port", strconv.Itoa(port), "--default-actions", "Type=forward,TargetGroupArn="+tgARN).Must(t)

	cli(t, "ecs", "create-service", "--cluster", "tasks", "--service-name", "web", "--task-definition", "web:1",
		"--desired-count", "3", "--health-check-grace-period-seconds", "60",
		"--load-balancers", "targetGroupArn="+tgARN+",containerName=web,containerPort=8080").Must(t)
	svcWaitStable(t, b)
	svcPoll(t, cli, 90*time.Second, "COMPLETED", func(s svcShape) bool {
		return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == "COMPLETED"
	})
	svcTasks(t, cli, seen)
	if got := lbAnswers(t, port, 12); !maps1(got, "v1") {
		t.Fatalf("v1 through the listener: %v", got)
	}

	cli(t, "ecs", "update-service", "--cluster", "tasks", "--service", "web", "--task-definition", "web:2",
		"--deployment-configuration", "minimumHealthyPercent=50,maximumPercent=200").Must(t)
	// Crash once the deployment is under way: v2 tasks started, v1 tasks
	// still there.
	svcPoll(t, cli, 90*time.Second, "IN_PROGRESS with v2 tasks", func(s svcShape) bool {
		return len(s.Deployments) == 2 && s.Deployments[0].RolloutState == "IN_PROGRESS" &&
			strings.HasSuffix(s.Deployments[0].TaskDefinition, "web:2") && s.Deployments[0].RunningCount >= 1
	})
	svcTasks(t, cli, seen)
	b.Kill()
	b.Restart()

	// minimumHealthyPercent 50 of 3 holds across the restart: every look
	// at the target group until the deployment completes finds at least 2
	// healthy targets (the ones healthy before the crash stay healthy; the
	// scheduler stops a v1 task only while 2 others are healthy).
	for {
		healthy := 0
		for _, h := range healthOf(t, b, tgARN) {
			if h[0] == "healthy" {
				healthy++
			}
		}
		if healthy < 2 {
			t.Fatalf("%d healthy targets after the restart, want at least 2: %v", healthy, healthOf(t, b, tgARN))
		}
		if s := svcDescribe(t, cli); len(s.Deployments) == 1 && s.Deployments[0].RolloutState == "COMPLETED" {
			break
		}
	}
	svcWaitStable(t, b)
	cli(t, "ecs", "wait", "services-stable", "--cluster", "tasks", "--services", "web").Must(t)
	s := svcPoll(t, cli, 120*time.Second, "COMPLETED", func(s svcShape) bool {
		return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == "COMPLETED"
	})
	if !strings.HasSuffix(s.TaskDefinition, "web:2") || s.RunningCount != 3 || s.DesiredCount != 3 {
		t.Fatalf("service after the restart: %+v", s)
	}

	// Exactly 3 tasks, all v2, each one container, and no other container
	// of this Berth running.
	tasks := svcTasks(t, cli, seen)
	if len(tasks) != 3 {
		t.Fatalf("tasks after the restart: %v", tasks)
	}
	var described struct {
		Tasks []struct {
			TaskArn, TaskDefinitionArn, LastStatus string
			Containers                             []tkContainer
		}
	}
	cli(t, append([]string{"ecs", "describe-tasks", "--cluster", "tasks", "--tasks"}, tasks...)...).Must(t).JSON(t, &described)
	wantTargets := map[string]bool{}
	for _, task := range described.Tasks {
		if !strings.HasSuffix(task.TaskDefinitionArn, "web:2") || task.LastStatus != "RUNNING" {
			t.Errorf("task %s: %s %s", task.TaskArn, task.TaskDefinitionArn, task.LastStatus)
		}
		for _, c := range task.Containers {
			for _, nb := range c.NetworkBindings {
				wantTargets[strconv.Itoa(nb.HostPort)] = true
			}
		}
	}
	running := engineTasks(t, b)
	slices.Sort(running)
	slices.Sort(tasks)
	if !slices.Equal(running, tasks) {
		t.Fatalf("containers on the engine are of tasks %v; ListTasks says %v", running, tasks)
	}

	// The target group ends with exactly the v2 tasks, healthy (the v1
	// ones drain for 5 s, then go), and the listener answers v2.
	deadline := time.Now().Add(60 * time.Second)
	for {
		h := healthOf(t, b, tgARN)
		ok := len(h) == len(wantTargets)
		for p := range wantTargets {
			ok = ok && h[p][0] == "healthy"
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("target health %v, want exactly %v healthy", h, wantTargets)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if got := lbAnswers(t, port, 12); !maps1(got, "v2") {
		t.Fatalf("v2 through the listener: %v", got)
	}
	b.AWS(t, "ecs", "delete-service", "--cluster", "tasks", "--service", "web", "--force").Must(t)
	svcPoll(t, cli, 60*time.Second, "INACTIVE", func(s svcShape) bool { return s.Status == "INACTIVE" })
}

// lbAnswers sends n requests through the listener and counts the bodies.
func lbAnswers(t *testing.T, port, n int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for range n {
		resp, body := lbGet(t, port, "/")
		seen[strconv.Itoa(resp.StatusCode)+" "+strings.TrimSpace(body)]++
	}
	return seen
}

// maps1 reports whether every answer was a 200 whose body holds want.
func maps1(answers map[string]int, want string) bool {
	for k := range answers {
		if !strings.HasPrefix(k, "200 ") || !strings.Contains(k, want) {
			return false
		}
	}
	return len(answers) > 0
}

var agentHostRE = regexp.MustCompile(`ECS task agent is on.* host=(\S+)`)

// engineTasks returns the task ARN of every running container this Berth's
// task agent made (by its host label, which Berth logs at start), one
// entry per container.
func engineTasks(t *testing.T, b *harness.Berth) []string {
	t.Helper()
	m := agentHostRE.FindStringSubmatch(b.Log())
	if m == nil {
		t.Fatal("the Berth log does not name the agent's host")
	}
	out := harness.Docker(t, "ps", "--filter", "label=berth.agent.host="+m[1],
		"--format", `{{.Label "com.amazonaws.ecs.task-arn"}}`).Must(t).Stdout
	return strings.Fields(out)
}
