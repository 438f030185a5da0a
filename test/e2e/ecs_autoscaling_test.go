package e2e

// Application Auto Scaling of an ECS service on real containers: a task
// burning its whole CPU reservation drives a target tracking policy at 20%
// to scale the service from 1 to its maximum of 3 (real tasks start), the
// scaling activities say why, and a scheduled action lowering the maximum
// to 1 scales it back. Bad input gets AWS's error codes; deregistering
// takes the policies and scheduled actions with the target. The aws CLI
// v1 and v2 and boto3 share the story.

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

type aasActivity struct {
	Description, Cause, StatusCode, StatusMessage, Details string
}

func aasActivities(t *testing.T, cli cliFunc) []aasActivity {
	t.Helper()
	var out struct{ ScalingActivities []aasActivity }
	cli(t, "application-autoscaling", "describe-scaling-activities", "--service-namespace", "ecs",
		"--resource-id", "service/tasks/web").Must(t).JSON(t, &out)
	return out.ScalingActivities
}

func aasHasActivity(acts []aasActivity, description, cause string) bool {
	return slices.ContainsFunc(acts, func(a aasActivity) bool {
		return a.Description == description && strings.Contains(a.Cause, cause) && a.StatusCode == "Successful"
	})
}

func TestECSAutoScaling(t *testing.T) {
	t.Parallel()
	b, img := tkSetup(t, harness.WithEnv("BERTH_AUTOSCALING_INTERVAL=2s"))
	seen := map[string]bool{}
	// Runs after the per-task cleanups svcTasks registers (which may kill
	// containers the service then replaces): remove the service first,
	// then every container of any task it had.
	t.Cleanup(func() {
		b.AWS(t, "ecs", "delete-service", "--cluster", "tasks", "--service", "web", "--force")
		arns := map[string]bool{}
		for _, status := range []string{"RUNNING", "STOPPED"} {
			var out struct{ TaskArns []string }
			b.AWS(t, "ecs", "list-tasks", "--cluster", "tasks", "--desired-status", status).JSON(t, &out)
			for _, a := range out.TaskArns {
				arns[a] = true
			}
		}
		for a := range arns {
			if ids := strings.Fields(harness.Docker(t, "ps", "-aq", "--filter", "label=com.amazonaws.ecs.task-arn="+a).Stdout); len(ids) > 0 {
				harness.Docker(t, append([]string{"rm", "-f"}, ids...)...)
			}
		}
	})
	// A quarter vCPU the container burns all of: 100% utilization.
	tkRegister(t, b.AWS, fmt.Sprintf(`{"family": "burn", "cpu": "256", "memory": "128",
  "containerDefinitions": [{"name": "burn", "image": %q, "command": ["burn"], "essential": true}]}`, img))
	b.AWS(t, "ecs", "create-service", "--cluster", "tasks", "--service-name", "web", "--task-definition", "burn",
		"--desired-count", "1").Must(t)
	svcPoll(t, b.AWS, 60*time.Second, "running 1 task", func(s svcShape) bool { return s.RunningCount == 1 })
	svcTasks(t, b.AWS, seen)

	// Bad input, AWS's codes.
	reg := func(cli cliFunc, resource, dimension, minC, maxC string) *harness.Result {
		return cli(t, "application-autoscaling", "register-scalable-target", "--service-namespace", "ecs",
			"--resource-id", resource, "--scalable-dimension", dimension, "--min-capacity", minC, "--max-capacity", maxC)
	}
	for _, c := range []struct {
		what string
		r    *harness.Result
		code string
	}{
		{"missing service", reg(b.AWS, "service/tasks/nope", "ecs:service:DesiredCount", "1", "3"), "ValidationException"},
		{"missing cluster", reg(b.AWSv2, "service/nocluster/web", "ecs:service:DesiredCount", "1", "3"), "ValidationException"},
		{"bad dimension", reg(b.AWS, "service/tasks/web", "dynamodb:table:ReadCapacityUnits", "1", "3"), "ValidationException"},
		{"min > max", reg(b.AWSv2, "service/tasks/web", "ecs:service:DesiredCount", "4", "2"), "ValidationException"},
		{"bad resource id", reg(b.AWS, "tasks/web", "ecs:service:DesiredCount", "1", "3"), "ValidationException"},
		{"other namespace, ECS resource", b.AWS(t, "application-autoscaling", "register-scalable-target", "--service-namespace", "dynamodb",
			"--resource-id", "service/tasks/web", "--scalable-dimension", "dynamodb:table:ReadCapacityUnits", "--min-capacity", "1", "--max-capacity", "3"), "ValidationException"},
		{"policy without target", b.AWS(t, "application-autoscaling", "put-scaling-policy", "--service-namespace", "ecs",
			"--resource-id", "service/tasks/web", "--scalable-dimension", "ecs:service:DesiredCount", "--policy-name", "p",
			"--policy-type", "TargetTrackingScaling", "--target-tracking-scaling-policy-configuration",
			`{"TargetValue": 20, "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}`), "ObjectNotFoundException"},
	} {
		if c.r.ErrorCode() != c.code {
			t.Errorf("%s: got %q, want %s: %s", c.what, c.r.ErrorCode(), c.code, c.r.Stderr)
		}
	}

	// Register with the aws CLI v1; the target is described with v2.
	var regOut struct{ ScalableTargetARN string }
	reg(b.AWS, "service/tasks/web", "ecs:service:DesiredCount", "1", "3").Must(t).JSON(t, &regOut)
	if !strings.HasPrefix(regOut.ScalableTargetARN, "arn:aws:application-autoscaling:us-east-1:") ||
		!strings.Contains(regOut.ScalableTargetARN, ":scalable-target/") {
		t.Fatalf("scalable target ARN %q", regOut.ScalableTargetARN)
	}
	var targets struct {
		ScalableTargets []struct {
			ResourceId, ScalableDimension, ScalableTargetARN string
			MinCapacity, MaxCapacity                         int
			SuspendedState                                   struct{ DynamicScalingInSuspended bool }
		}
	}
	// The CLI v2 on this machine (2.9) predates ScalableTargetARN: v1 shows it.
	b.AWS(t, "application-autoscaling", "describe-scalable-targets", "--service-namespace", "ecs").Must(t).JSON(t, &targets)
	if len(targets.ScalableTargets) != 1 || targets.ScalableTargets[0].ResourceId != "service/tasks/web" ||
		targets.ScalableTargets[0].MinCapacity != 1 || targets.ScalableTargets[0].MaxCapacity != 3 ||
		targets.ScalableTargets[0].ScalableTargetARN != regOut.ScalableTargetARN {
		t.Fatalf("describe-scalable-targets: %+v", targets)
	}
	b.AWS(t, "application-autoscaling", "tag-resource", "--resource-arn", regOut.ScalableTargetARN, "--tags", "team=web").Must(t)
	if tags := b.AWS(t, "application-autoscaling", "list-tags-for-resource", "--resource-arn", regOut.ScalableTargetARN).Must(t).Stdout; !strings.Contains(tags, `"team": "web"`) {
		t.Errorf("tags: %s", tags)
	}

	// The policy, with boto3: no cooldowns, so the test need not wait 300 s.
	var pol struct {
		PolicyARN string
		Alarms    []struct{ AlarmName string }
	}
	b.Python(t, `import boto3, json
out = boto3.client("application-autoscaling").put_scaling_policy(
    PolicyName="cpu20", ServiceNamespace="ecs", ResourceId="service/tasks/web",
    ScalableDimension="ecs:service:DesiredCount", PolicyType="TargetTrackingScaling",
    TargetTrackingScalingPolicyConfiguration={"TargetValue": 20.0,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
        "ScaleOutCooldown": 0, "ScaleInCooldown": 0})
print(json.dumps({"PolicyARN": out["PolicyARN"], "Alarms": out["Alarms"]}))
`).Must(t).JSON(t, &pol)
	if !strings.Contains(pol.PolicyARN, ":scalingPolicy:") || !strings.HasSuffix(pol.PolicyARN, ":resource/ecs/service/tasks/web:policyName/cpu20") ||
		len(pol.Alarms) != 2 || !strings.HasPrefix(pol.Alarms[0].AlarmName, "TargetTracking-service/tasks/web-AlarmHigh-") {
		t.Fatalf("put-scaling-policy: %+v", pol)
	}

	// The burning task pushes the service to its maximum: real tasks run.
	svcPoll(t, b.AWS, 90*time.Second, "scaled out to 3 running tasks", func(s svcShape) bool {
		return s.DesiredCount == 3 && s.RunningCount == 3
	})
	if ts := svcTasks(t, b.AWS, seen); len(ts) != 3 {
		t.Fatalf("tasks after scale-out: %v", ts)
	}
	acts := aasActivities(t, b.AWS)
	if !aasHasActivity(acts, "Setting desired count to 3.", "AlarmHigh-") ||
		!aasHasActivity(acts, "Setting desired count to 3.", "triggered policy cpu20") {
		t.Fatalf("activities after scale-out: %+v", acts)
	}

	// A scheduled action a few seconds ahead sets the maximum to 1.
	at := time.Now().UTC().Add(4 * time.Second).Format("2006-01-02T15:04:05")
	b.Python(t, fmt.Sprintf(`import boto3
boto3.client("application-autoscaling").put_scheduled_action(
    ServiceNamespace="ecs", ScheduledActionName="shrink", ResourceId="service/tasks/web",
    ScalableDimension="ecs:service:DesiredCount", Schedule="at(%s)",
    ScalableTargetAction={"MinCapacity": 1, "MaxCapacity": 1})
`, at)).Must(t)
	if r := b.AWSv2(t, "application-autoscaling", "put-scheduled-action", "--service-namespace", "ecs",
		"--scheduled-action-name", "bad", "--resource-id", "service/tasks/web", "--scalable-dimension", "ecs:service:DesiredCount",
		"--schedule", "cron(0 9 * * * *)", "--scalable-target-action", "MinCapacity=1"); r.ErrorCode() != "ValidationException" {
		t.Errorf("cron with neither day field ?: %q %s", r.ErrorCode(), r.Stderr)
	}
	var sched struct {
		ScheduledActions []struct{ ScheduledActionName, Schedule, Timezone string }
	}
	b.AWSv2(t, "application-autoscaling", "describe-scheduled-actions", "--service-namespace", "ecs").Must(t).JSON(t, &sched)
	if len(sched.ScheduledActions) != 1 || sched.ScheduledActions[0].Schedule != "at("+at+")" {
		t.Fatalf("describe-scheduled-actions: %+v", sched)
	}
	svcPoll(t, b.AWS, 60*time.Second, "scaled in to 1 running task", func(s svcShape) bool {
		return s.DesiredCount == 1 && s.RunningCount == 1
	})
	acts = aasActivities(t, b.AWSv2)
	if !aasHasActivity(acts, "Setting min capacity to 1 and max capacity to 1", "scheduled action name shrink was triggered") ||
		!aasHasActivity(acts, "Setting desired count to 1.", "maximum capacity was set to 1") {
		t.Fatalf("activities after the scheduled action: %+v", acts)
	}
	t.Logf("scaling activities: %+v", acts)
	b.AWSv2(t, "application-autoscaling", "describe-scalable-targets", "--service-namespace", "ecs").Must(t).JSON(t, &targets)
	if len(targets.ScalableTargets) != 1 || targets.ScalableTargets[0].MaxCapacity != 1 {
		t.Fatalf("target after the scheduled action: %+v", targets)
	}

	// Deregistering takes the policy and the scheduled action with it.
	b.AWS(t, "application-autoscaling", "deregister-scalable-target", "--service-namespace", "ecs",
		"--resource-id", "service/tasks/web", "--scalable-dimension", "ecs:service:DesiredCount").Must(t)
	if r := b.AWSv2(t, "application-autoscaling", "deregister-scalable-target", "--service-namespace", "ecs",
		"--resource-id", "service/tasks/web", "--scalable-dimension", "ecs:service:DesiredCount"); r.ErrorCode() != "ObjectNotFoundException" {
		t.Errorf("second deregister: %q %s", r.ErrorCode(), r.Stderr)
	}
	var left struct {
		ScalingPolicies  []any
		ScheduledActions []any
	}
	b.Python(t, `import boto3, json
c = boto3.client("application-autoscaling")
print(json.dumps({"ScalingPolicies": c.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"],
    "ScheduledActions": c.describe_scheduled_actions(ServiceNamespace="ecs")["ScheduledActions"]}))
`).Must(t).JSON(t, &left)
	if len(left.ScalingPolicies) != 0 || len(left.ScheduledActions) != 0 {
		t.Fatalf("left after deregister: %+v", left)
	}
	svcTasks(t, b.AWS, seen)
}
