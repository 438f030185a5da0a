package e2e

// ECS and Application Auto Scaling through CloudWatch, on real containers:
// a rolling deployment held IN_PROGRESS (its task's health check is still
// in its start period) fails when its deployment alarm goes to ALARM
// from metric data put with the aws CLI, and rolls back to the previous
// revision; a StepScaling policy run by an alarm's action raises the
// service's desired count and real tasks start; a target tracking
// policy's alarms exist in CloudWatch while it does; and the service's and
// cluster's AWS/ECS CPUUtilization, which ECS publishes, come back from
// GetMetricStatistics. The aws CLI makes the changes; aws-sdk-go-v2 polls
// (cheaper than a CLI process per look).

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth-dev/berth/test/harness"
)

func TestECSCloudWatchAlarmsAndMetrics(t *testing.T) {
	t.Parallel()
	b, img := tkSetup(t, harness.WithEnv("BERTH_CLOUDWATCH_INTERVAL=1s", "BERTH_ECS_METRICS_INTERVAL=1s"))
	ctx := context.Background()
	cfg := b.SDKConfig(ctx)
	ec, cw := ecs.NewFromConfig(cfg), cloudwatch.NewFromConfig(cfg)
	t.Cleanup(func() {
		ec.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("tasks"), Service: aws.String("web"), Force: aws.Bool(true)})
		for _, status := range []types.DesiredStatus{types.DesiredStatusRunning, types.DesiredStatusStopped} {
			out, err := ec.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("tasks"), DesiredStatus: status})
			if err != nil {
				continue
			}
			for _, a := range out.TaskArns {
				if ids := strings.Fields(harness.Docker(t, "ps", "-aq", "--filter", "label=com.amazonaws.ecs.task-arn="+a).Stdout); len(ids) > 0 {
					harness.Docker(t, append([]string{"rm", "-f"}, ids...)...)
				}
			}
		}
	})
	poll := func(what string, ok func(types.Service) bool) types.Service {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			out, err := ec.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("tasks"), Services: []string{"web"}})
			if err != nil || len(out.Services) != 1 {
				t.Fatalf("describe-services: %v %+v", err, out)
			}
			if ok(out.Services[0]) {
				return out.Services[0]
			}
			if time.Now().After(deadline) {
				t.Fatalf("service not %s: %+v", what, out.Services[0])
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	hasEvent := func(s types.Service, fragment string) bool {
		for _, e := range s.Events {
			if strings.Contains(aws.ToString(e.Message), fragment) {
				return true
			}
		}
		return false
	}
	tasks := func() []types.Task {
		t.Helper()
		list, err := ec.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("tasks"), ServiceName: aws.String("web")})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.TaskArns) == 0 {
			return nil
		}
		out, err := ec.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("tasks"), Tasks: list.TaskArns})
		if err != nil {
			t.Fatal(err)
		}
		return out.Tasks
	}

	// v2's health check fails, but within its start period the task is
	// neither healthy nor unhealthy: its deployment stays IN_PROGRESS.
	tkRegister(t, b.AWS, fmt.Sprintf(`{"family": "web", "cpu": "256", "memory": "128", "containerDefinitions": [{
  "name": "web", "image": %q, "command": ["serve"], "essential": true}]}`, img))
	tkRegister(t, b.AWS, fmt.Sprintf(`{"family": "web", "cpu": "256", "memory": "128", "containerDefinitions": [{
  "name": "web", "image": %q, "command": ["serve"], "essential": true,
  "healthCheck": {"command": ["CMD", "/app", "check", "http://127.0.0.1:9/"], "interval": 30, "timeout": 2, "retries": 3, "startPeriod": 300}}]}`, img))
	alarm := func(name, metric string, extra ...string) {
		b.AWS(t, append([]string{"cloudwatch", "put-metric-alarm", "--alarm-name", name, "--namespace", "Berth/Test",
			"--metric-name", metric, "--statistic", "Maximum", "--period", "60", "--evaluation-periods", "1",
			"--threshold", "50", "--comparison-operator", "GreaterThanThreshold"}, extra...)...).Must(t)
	}
	alarm("deploy-errors", "Errors")
	b.AWS(t, "ecs", "create-service", "--cluster", "tasks", "--service-name", "web", "--task-definition", "web:1",
		"--desired-count", "1", "--deployment-configuration",
		`{"maximumPercent": 200, "minimumHealthyPercent": 100, "alarms": {"alarmNames": ["deploy-errors"], "enable": true, "rollback": true}}`).Must(t)
	poll("COMPLETED", func(s types.Service) bool {
		return s.RunningCount == 1 && len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})

	// v2 starts a task that never gets healthy; the alarm fires.
	b.AWS(t, "ecs", "update-service", "--cluster", "tasks", "--service", "web", "--task-definition", "web:2").Must(t)
	poll("running v2's task", func(s types.Service) bool {
		return len(s.Deployments) == 2 && s.Deployments[0].RunningCount == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateInProgress
	})
	b.AWS(t, "cloudwatch", "put-metric-data", "--namespace", "Berth/Test", "--metric-name", "Errors", "--value", "99").Must(t)
	s := poll("rolled back to v1", func(s types.Service) bool {
		return strings.HasSuffix(aws.ToString(s.TaskDefinition), "web:1") && len(s.Deployments) == 1 &&
			s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted && s.RunningCount == 1
	})
	if !hasEvent(s, "deployment failed: alarm(s) deploy-errors in ALARM state.") || !hasEvent(s, "rolling back to deployment ecs-svc/") {
		t.Fatalf("service after the rollback: %+v", s.Events)
	}
	if ts := tasks(); len(ts) != 1 || !strings.HasSuffix(aws.ToString(ts[0].TaskDefinitionArn), "web:1") || aws.ToString(ts[0].LastStatus) != "RUNNING" {
		t.Fatalf("tasks after the rollback: %+v", ts)
	}
	list, err := ec.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("tasks"), Service: aws.String("web")})
	if err != nil || len(list.ServiceDeployments) != 2 || list.ServiceDeployments[0].Status != types.ServiceDeploymentStatusRollbackSuccessful {
		t.Fatalf("service deployments: %v %+v", err, list)
	}
	var sd struct {
		ServiceDeployments []struct {
			Alarms struct {
				Status              string
				TriggeredAlarmNames []string
			}
			Rollback struct{ Reason string }
		}
	}
	b.AWS(t, "ecs", "describe-service-deployments", "--service-deployment-arns", aws.ToString(list.ServiceDeployments[0].ServiceDeploymentArn)).Must(t).JSON(t, &sd)
	if len(sd.ServiceDeployments) != 1 || sd.ServiceDeployments[0].Alarms.Status != "TRIGGERED" ||
		strings.Join(sd.ServiceDeployments[0].Alarms.TriggeredAlarmNames, ",") != "deploy-errors" ||
		!strings.Contains(sd.ServiceDeployments[0].Rollback.Reason, "ECS deployment alarms") {
		t.Fatalf("describe-service-deployments: %+v", sd)
	}

	// Step scaling: +2 tasks when the load alarm's breach is under 100
	// over its threshold; AWS's step rules are checked.
	b.AWSv2(t, "application-autoscaling", "register-scalable-target", "--service-namespace", "ecs", "--resource-id", "service/tasks/web",
		"--scalable-dimension", "ecs:service:DesiredCount", "--min-capacity", "1", "--max-capacity", "4").Must(t)
	policy := func(name, cfg string) *harness.Result {
		return b.AWSv2(t, "application-autoscaling", "put-scaling-policy", "--service-namespace", "ecs", "--resource-id", "service/tasks/web",
			"--scalable-dimension", "ecs:service:DesiredCount", "--policy-name", name, "--policy-type", "StepScaling",
			"--step-scaling-policy-configuration", cfg)
	}
	if r := policy("gap", `{"AdjustmentType": "ChangeInCapacity", "StepAdjustments": [
  {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1}, {"MetricIntervalLowerBound": 20, "ScalingAdjustment": 2}]}`); r.ErrorCode() != "ValidationException" {
		t.Errorf("steps with a gap: %s %s", r.ErrorCode(), r.Stderr)
	}
	var pol struct{ PolicyARN string }
	policy("step-out", `{"AdjustmentType": "ChangeInCapacity", "Cooldown": 0, "MetricAggregationType": "Maximum",
  "StepAdjustments": [{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 100, "ScalingAdjustment": 2},
                      {"MetricIntervalLowerBound": 100, "ScalingAdjustment": 3}]}`).Must(t).JSON(t, &pol)
	alarm("load-high", "Load", "--alarm-actions", pol.PolicyARN)
	b.AWS(t, "cloudwatch", "put-metric-data", "--namespace", "Berth/Test", "--metric-name", "Load", "--value", "80").Must(t)
	poll("scaled out to 3", func(s types.Service) bool { return s.DesiredCount == 3 && s.RunningCount == 3 })
	if ts := tasks(); len(ts) != 3 {
		t.Fatalf("tasks after the scale-out: %+v", ts)
	}
	var acts struct{ ScalingActivities []aasActivity }
	b.AWS(t, "application-autoscaling", "describe-scaling-activities", "--service-namespace", "ecs",
		"--resource-id", "service/tasks/web").Must(t).JSON(t, &acts)
	if !aasHasActivity(acts.ScalingActivities, "Setting desired count to 3.", "monitor alarm load-high in state ALARM triggered policy step-out") {
		t.Fatalf("scaling activities: %+v", acts.ScalingActivities)
	}
	hist, err := cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("load-high"), HistoryItemType: cwtypes.HistoryItemTypeAction})
	if err != nil || len(hist.AlarmHistoryItems) == 0 || !strings.HasPrefix(aws.ToString(hist.AlarmHistoryItems[0].HistorySummary), "Successfully executed action") {
		t.Errorf("alarm action history: %v %+v", err, hist)
	}

	// A target tracking policy's alarms are CloudWatch alarms acting on
	// it, deleted with it.
	var tt struct {
		PolicyARN string
		Alarms    []struct{ AlarmName string }
	}
	b.AWS(t, "application-autoscaling", "put-scaling-policy", "--service-namespace", "ecs", "--resource-id", "service/tasks/web",
		"--scalable-dimension", "ecs:service:DesiredCount", "--policy-name", "cpu90", "--policy-type", "TargetTrackingScaling",
		"--target-tracking-scaling-policy-configuration", `{"TargetValue": 90, "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}`).Must(t).JSON(t, &tt)
	ttAlarms := func() []cwtypes.MetricAlarm {
		out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("TargetTracking-service/tasks/web-Alarm")})
		if err != nil {
			t.Fatal(err)
		}
		return out.MetricAlarms
	}
	if as := ttAlarms(); len(tt.Alarms) != 2 || len(as) != 2 || aws.ToString(as[0].Namespace) != "AWS/ECS" || aws.ToString(as[0].MetricName) != "CPUUtilization" ||
		len(as[0].AlarmActions) != 1 || as[0].AlarmActions[0] != tt.PolicyARN {
		t.Fatalf("target tracking alarms: %+v %+v", tt, as)
	}
	b.AWS(t, "application-autoscaling", "delete-scaling-policy", "--service-namespace", "ecs", "--resource-id", "service/tasks/web",
		"--scalable-dimension", "ecs:service:DesiredCount", "--policy-name", "cpu90").Must(t)
	if as := ttAlarms(); len(as) != 0 {
		t.Fatalf("target tracking alarms left: %+v", as)
	}

	// ECS publishes the service's and the cluster's utilization.
	for _, dims := range [][]cwtypes.Dimension{
		{{Name: aws.String("ClusterName"), Value: aws.String("tasks")}, {Name: aws.String("ServiceName"), Value: aws.String("web")}},
		{{Name: aws.String("ClusterName"), Value: aws.String("tasks")}},
	} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			now := time.Now().UTC()
			out, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("AWS/ECS"), MetricName: aws.String("CPUUtilization"),
				Dimensions: dims, StartTime: aws.Time(now.Add(-5 * time.Minute)), EndTime: aws.Time(now.Add(time.Minute)),
				Period: aws.Int32(60), Statistics: []cwtypes.Statistic{cwtypes.StatisticAverage, cwtypes.StatisticSampleCount}})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Datapoints) > 0 {
				if dp := out.Datapoints[0]; aws.ToFloat64(dp.Average) < 0 || dp.Unit != cwtypes.StandardUnitPercent {
					t.Errorf("CPUUtilization %+v: %+v", dims, dp)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no AWS/ECS CPUUtilization for %+v", dims)
			}
			time.Sleep(time.Second)
		}
	}
}
