package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

// ecsAutoScalingTerraformConfig scales an ECS service as Terraform users
// write it: a target whose minimum (2) is above the service's count (1),
// a target tracking policy and a scheduled action. IMAGE is filled in.
const ecsAutoScalingTerraformConfig = `
resource "aws_ecs_task_definition" "app" {
  family = "tf-scaled"
  container_definitions = jsonencode([{
    name = "app", image = "IMAGE", memory = 64, essential = true, command = ["sleep", "1h"]
  }])
}

resource "aws_ecs_service" "app" {
  name            = "tf-scaled"
  cluster         = "tasks"
  task_definition = aws_ecs_task_definition.app.arn
  desired_count   = 1
  lifecycle {
    ignore_changes = [desired_count]
  }
}

resource "aws_appautoscaling_target" "app" {
  service_namespace  = "ecs"
  resource_id        = "service/tasks/${aws_ecs_service.app.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = 2
  max_capacity       = 4
  tags = {
    team = "web"
  }
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "cpu60"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.app.service_namespace
  resource_id        = aws_appautoscaling_target.app.resource_id
  scalable_dimension = aws_appautoscaling_target.app.scalable_dimension
  target_tracking_scaling_policy_configuration {
    target_value       = 60
    scale_in_cooldown  = 120
    scale_out_cooldown = 30
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_scheduled_action" "night" {
  name               = "night"
  service_namespace  = aws_appautoscaling_target.app.service_namespace
  resource_id        = aws_appautoscaling_target.app.resource_id
  scalable_dimension = aws_appautoscaling_target.app.scalable_dimension
  schedule           = "cron(0 22 * * ? *)"
  timezone           = "Europe/Paris"
  scalable_target_action {
    min_capacity = 1
    max_capacity = 2
  }
}

output "target_arn" { value = aws_appautoscaling_target.app.arn }
output "policy_arn" { value = aws_appautoscaling_policy.cpu.arn }
`

func TestECSAutoScalingTerraform(t *testing.T) {
	t.Parallel()
	b, img := tkSetup(t)
	tf := startTerraform(t, b, strings.ReplaceAll(ecsAutoScalingTerraformConfig, "IMAGE", img))
	// The shared provider block names no endpoint for Application Auto
	// Scaling; the provider takes the service's standard variable.
	tf.env = append(tf.env, "AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING="+b.Endpoint())
	t.Cleanup(func() {
		for _, status := range []string{"RUNNING", "STOPPED"} {
			var out struct{ TaskArns []string }
			b.AWS(t, "ecs", "list-tasks", "--cluster", "tasks", "--desired-status", status).JSON(t, &out)
			for _, a := range out.TaskArns {
				if ids := strings.Fields(harness.Docker(t, "ps", "-aq", "--filter", "label=com.amazonaws.ecs.task-arn="+a).Stdout); len(ids) > 0 {
					harness.Docker(t, append([]string{"rm", "-f"}, ids...)...)
				}
			}
		}
	})
	tf.Apply(t)
	tf.NoDrift(t)
	if arn := tf.Output(t, "target_arn"); !strings.Contains(arn, ":scalable-target/") {
		t.Errorf("target arn %q", arn)
	}
	if arn := tf.Output(t, "policy_arn"); !strings.HasSuffix(arn, ":resource/ecs/service/tasks/tf-scaled:policyName/cpu60") {
		t.Errorf("policy arn %q", arn)
	}
	// The minimum of 2 raised the service's count at registration.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var out struct {
			Services []struct{ DesiredCount, RunningCount int }
		}
		b.AWS(t, "ecs", "describe-services", "--cluster", "tasks", "--services", "tf-scaled").Must(t).JSON(t, &out)
		if len(out.Services) == 1 && out.Services[0].DesiredCount == 2 && out.Services[0].RunningCount == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service not at the target's minimum: %+v", out)
		}
		time.Sleep(time.Second)
	}
	var sched struct {
		ScheduledActions []struct{ Schedule, Timezone string }
	}
	b.AWS(t, "application-autoscaling", "describe-scheduled-actions", "--service-namespace", "ecs").Must(t).JSON(t, &sched)
	if len(sched.ScheduledActions) != 1 || sched.ScheduledActions[0].Timezone != "Europe/Paris" {
		t.Errorf("scheduled actions: %+v", sched)
	}
	tf.Destroy(t)
	var targets struct{ ScalableTargets []any }
	b.AWS(t, "application-autoscaling", "describe-scalable-targets", "--service-namespace", "ecs").Must(t).JSON(t, &targets)
	if len(targets.ScalableTargets) != 0 {
		t.Errorf("targets after destroy: %s", fmt.Sprint(targets.ScalableTargets))
	}
}
