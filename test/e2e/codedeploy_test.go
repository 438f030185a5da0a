package e2e

// CodeDeploy blue/green deployments of an ECS service behind a real ALB,
// on real containers, with the aws CLI v2 (and boto3 for the deployment
// target): a CODE_DEPLOY service answers v1 through the production
// listener; a deployment from an AppSpec like the brief's brings up v2 as
// the green task set, which the test listener serves while production
// stays on v1 (deploymentReadyOption STOP_DEPLOYMENT), then production
// moves through the canary configuration, blue is deleted after the
// termination wait and `aws deploy wait deployment-successful` returns. A
// second deployment (v3) moves production through a linear
// configuration, with Berth killed (SIGKILL) and restarted mid-shift; a
// third is stopped with rollback mid-shift and all production traffic is
// back on v3; a fourth, whose containers exit at once, fails and rolls
// back by itself. CodeDeploy minutes last 2 s here
// (BERTH_CODEDEPLOY_MINUTE).

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

type cdDeployment struct {
	DeploymentId, Status, Creator      string
	InstanceTerminationWaitTimeStarted bool
	ErrorInformation                   *struct{ Code, Message string }
	RollbackInfo                       *struct {
		RollbackDeploymentId, RollbackTriggeringDeploymentId, RollbackMessage string
	}
}

func cdGet(t *testing.T, b *harness.Berth, id string) cdDeployment {
	t.Helper()
	var out struct{ DeploymentInfo cdDeployment }
	b.AWSv2(t, "deploy", "get-deployment", "--deployment-id", id).Must(t).JSON(t, &out)
	return out.DeploymentInfo
}

// cdShare sends n requests through a listener and returns the share of
// answers that are msg, failing on any other answer than msg or other.
func cdShare(t *testing.T, port, n int, msg, other string) float64 {
	t.Helper()
	seen := messagesThrough(t, port, n)
	for k := range seen {
		if k != msg && k != other {
			t.Fatalf("answers through port %d: %v", port, seen)
		}
	}
	return float64(seen[msg]) / float64(n)
}

func cdAppSpec(taskDef string) string {
	// The brief's AppSpec, with this test's task definition and container.
	return fmt.Sprintf(`version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: %q
        LoadBalancerInfo:
          ContainerName: "web"
          ContainerPort: 8080
Hooks:
  - AfterAllowTestTraffic: "LambdaFunctionToValidateAfterTestTrafficStarts"
`, taskDef)
}

// cdWaitStatus polls a deployment until it has status want, failing at
// once when it ends otherwise.
func cdWaitStatus(t *testing.T, b *harness.Berth, id, want string, d time.Duration) {
	t.Helper()
	tsPoll(t, d, "deployment "+id+" "+want, func() (bool, any) {
		dep := cdGet(t, b, id)
		if dep.Status != want && (dep.Status == "Failed" || dep.Status == "Stopped" || dep.Status == "Succeeded") {
			t.Fatalf("deployment %s ended %s: %+v %+v", id, dep.Status, dep.ErrorInformation, dep.RollbackInfo)
		}
		return dep.Status == want, dep.Status
	})
}

func cdCreateDeployment(t *testing.T, b *harness.Berth, taskDef string, extra map[string]any) string {
	t.Helper()
	in := map[string]any{"applicationName": "web", "deploymentGroupName": "web-dg",
		"revision": map[string]any{"revisionType": "AppSpecContent", "appSpecContent": map[string]any{"content": cdAppSpec(taskDef)}}}
	for k, v := range extra {
		in[k] = v
	}
	doc, _ := json.Marshal(in)
	var out struct{ DeploymentId string }
	b.AWSv2(t, "deploy", "create-deployment", "--cli-input-json", string(doc)).Must(t).JSON(t, &out)
	if !strings.HasPrefix(out.DeploymentId, "d-") || len(out.DeploymentId) != 11 {
		t.Fatalf("deployment id %q", out.DeploymentId)
	}
	return out.DeploymentId
}

func TestCodeDeployBlueGreenECS(t *testing.T) {
	t.Parallel()
	b, img := tkSetup(t, harness.WithEnv("BERTH_CODEDEPLOY_MINUTE=2s"))
	cli := b.AWSv2
	seen := map[string]bool{}
	tdARN := map[string]string{}
	for _, msg := range []string{"v1", "v2", "v3", "v4", "broken"} {
		command := `"serve"`
		if msg == "broken" {
			command = `"exit", "3"`
		}
		var out struct {
			TaskDefinition struct{ TaskDefinitionArn string }
		}
		cli(t, "ecs", "register-task-definition", "--cli-input-json", fmt.Sprintf(`{"family": "web", "containerDefinitions": [{
  "name": "web", "image": %q, "memory": 64, "command": [%s],
  "portMappings": [{"containerPort": 8080}],
  "environment": [{"name": "MESSAGE", "value": %q}]}]}`, img, command, msg)).Must(t).JSON(t, &out)
		tdARN[msg] = out.TaskDefinition.TaskDefinitionArn
	}

	// An ALB with the target group pair; both listeners start on blue.
	subnets := defaultSubnets(t, b)
	lbArn := str1(t, cli(t, "elbv2", "create-load-balancer", "--name", "cd-web", "--subnets", subnets[0], subnets[1]).Must(t).Map(t),
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
	blueTG := tg("cd-blue")
	tg("cd-green")
	prodPort, testPort := freeListenerPort(t), freeListenerPort(t)
	listener := func(port int) string {
		return str1(t, cli(t, "elbv2", "create-listener", "--load-balancer-arn", lbArn, "--protocol", "HTTP",
			"--port", strconv.Itoa(port), "--default-actions", "Type=forward,TargetGroupArn="+blueTG).Must(t).Map(t), "Listeners", "0", "ListenerArn")
	}
	prodListener, testListener := listener(prodPort), listener(testPort)

	// The CODE_DEPLOY service, v1 on blue.
	cli(t, "ecs", "create-service", "--cluster", "tasks", "--service-name", "web", "--task-definition", "web:1", "--desired-count", "2",
		"--deployment-controller", "type=CODE_DEPLOY", "--load-balancers", "targetGroupArn="+blueTG+",containerName=web,containerPort=8080").Must(t)
	t.Cleanup(func() { b.AWSv2(t, "ecs", "delete-service", "--cluster", "tasks", "--service", "web", "--force") })
	var blueTasks []string
	tsPoll(t, 90*time.Second, "the service steady on v1", func() (bool, any) {
		s := tsDescribeService(t, b, "web")
		for _, ts := range s.TaskSets {
			blueTasks = tsTasks(t, b, "web", ts.Id, seen)
		}
		return len(s.TaskSets) == 1 && s.TaskSets[0].StabilityStatus == "STEADY_STATE" && s.RunningCount == 2 && len(blueTasks) == 2, s
	})
	if share := cdShare(t, prodPort, 10, "v1", ""); share != 1 {
		t.Fatalf("production before any deployment: %v", share)
	}

	// The application and its deployment group.
	cli(t, "deploy", "create-application", "--application-name", "web", "--compute-platform", "ECS").Must(t)
	group := func(name, config, svc string, pair []string) string {
		doc, _ := json.Marshal(map[string]any{
			"applicationName": "web", "deploymentGroupName": name, "deploymentConfigName": config,
			"serviceRoleArn":  "arn:aws:iam::000000000000:role/ecsCodeDeployRole",
			"ecsServices":     []any{map[string]any{"serviceName": svc, "clusterName": "tasks"}},
			"deploymentStyle": map[string]any{"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
			"blueGreenDeploymentConfiguration": map[string]any{
				"deploymentReadyOption":                     map[string]any{"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 60},
				"terminateBlueInstancesOnDeploymentSuccess": map[string]any{"action": "TERMINATE", "terminationWaitTimeInMinutes": 2},
			},
			"autoRollbackConfiguration": map[string]any{"enabled": true, "events": []string{"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST"}},
			"loadBalancerInfo": map[string]any{"targetGroupPairInfoList": []any{map[string]any{
				"targetGroups": func() []any {
					var l []any
					for _, n := range pair {
						l = append(l, map[string]any{"name": n})
					}
					return l
				}(),
				"prodTrafficRoute": map[string]any{"listenerArns": []string{prodListener}},
				"testTrafficRoute": map[string]any{"listenerArns": []string{testListener}},
			}}},
		})
		return string(doc)
	}
	cli(t, "deploy", "create-deployment-group", "--cli-input-json", group("web-dg", "CodeDeployDefault.ECSCanary10Percent5Minutes", "web", []string{"cd-blue", "cd-green"})).Must(t)

	// Errors with CodeDeploy's codes.
	for _, c := range []struct {
		code string
		args []string
	}{
		{"ApplicationAlreadyExistsException", []string{"create-application", "--application-name", "web", "--compute-platform", "ECS"}},
		{"ApplicationDoesNotExistException", []string{"get-application", "--application-name", "nope"}},
		{"DeploymentGroupAlreadyExistsException", []string{"create-deployment-group", "--cli-input-json", group("web-dg", "CodeDeployDefault.ECSAllAtOnce", "web", []string{"cd-blue", "cd-green"})}},
		{"DeploymentGroupDoesNotExistException", []string{"get-deployment-group", "--application-name", "web", "--deployment-group-name", "nope"}},
		{"InvalidDeploymentConfigNameException", []string{"create-deployment-group", "--cli-input-json", group("dg2", "CodeDeployDefault.OneAtATime", "web", []string{"cd-blue", "cd-green"})}},
		{"DeploymentConfigDoesNotExistException", []string{"get-deployment-config", "--deployment-config-name", "nope"}},
		{"InvalidECSServiceException", []string{"create-deployment-group", "--cli-input-json", group("dg2", "CodeDeployDefault.ECSAllAtOnce", "nope", []string{"cd-blue", "cd-green"})}},
		{"InvalidTargetGroupPairException", []string{"create-deployment-group", "--cli-input-json", group("dg2", "CodeDeployDefault.ECSAllAtOnce", "web", []string{"cd-blue"})}},
		{"InvalidTargetGroupPairException", []string{"create-deployment-group", "--cli-input-json", group("dg2", "CodeDeployDefault.ECSAllAtOnce", "web", []string{"cd-blue", "nope"})}},
		{"ECSServiceMappingLimitExceededException", []string{"create-deployment-group", "--cli-input-json", group("dg2", "CodeDeployDefault.ECSAllAtOnce", "web", []string{"cd-blue", "cd-green"})}},
		{"DeploymentDoesNotExistException", []string{"get-deployment", "--deployment-id", "d-NOTHERE00"}},
		{"InvalidRevisionException", []string{"create-deployment", "--application-name", "web", "--deployment-group-name", "web-dg",
			"--revision", `{"revisionType": "AppSpecContent", "appSpecContent": {"content": "version: 0.0\nResources: []"}}`}},
	} {
		if r := cli(t, append([]string{"deploy"}, c.args...)...); r.ErrorCode() != c.code {
			t.Errorf("%v: %s %s, want %s", c.args[:2], r.ErrorCode(), r.Stderr, c.code)
		}
	}

	// Deployment 1: v2, canary. Green comes up, the test listener serves
	// it while production stays on v1 until continue-deployment.
	d1 := cdCreateDeployment(t, b, tdARN["v2"], nil)
	if r := cli(t, "deploy", "create-deployment", "--application-name", "web", "--deployment-group-name", "web-dg",
		"--revision", `{"revisionType": "AppSpecContent", "appSpecContent": {"content": `+strconv.Quote(cdAppSpec(tdARN["v3"]))+`}}`); r.ErrorCode() != "DeploymentLimitExceededException" {
		t.Errorf("second active deployment: %s %s", r.ErrorCode(), r.Stderr)
	}
	if r := cli(t, "deploy", "continue-deployment", "--deployment-id", d1, "--deployment-wait-type", "READY_WAIT"); r.ErrorCode() != "DeploymentIsNotInReadyStateException" {
		t.Errorf("continue before ready: %s %s", r.ErrorCode(), r.Stderr)
	}
	cdWaitStatus(t, b, d1, "Ready", 120*time.Second)
	if share := cdShare(t, testPort, 20, "v2", "v1"); share != 1 {
		t.Fatalf("test listener while Ready: %v v2", share)
	}
	if share := cdShare(t, prodPort, 20, "v2", "v1"); share != 0 {
		t.Fatalf("production while Ready: %v v2", share)
	}
	var tgt struct {
		DeploymentTarget struct {
			DeploymentTargetType string
			EcsTarget            struct {
				TargetId, Status string
				LifecycleEvents  []struct{ LifecycleEventName, Status string }
				TaskSetsInfo     []struct {
					Identifer, Status, TaskSetLabel string
					DesiredCount, RunningCount      int
					TrafficWeight                   float64
					TargetGroup                     struct{ Name string }
				}
			}
		}
	}
	cli(t, "deploy", "get-deployment-target", "--deployment-id", d1, "--target-id", "tasks:web").Must(t).JSON(t, &tgt)
	et := tgt.DeploymentTarget.EcsTarget
	events := map[string]string{}
	for _, e := range et.LifecycleEvents {
		events[e.LifecycleEventName] = e.Status
	}
	if tgt.DeploymentTarget.DeploymentTargetType != "ECSTarget" || et.Status != "Ready" || events["Install"] != "Succeeded" ||
		events["AllowTestTraffic"] != "Succeeded" || events["AfterAllowTestTraffic"] != "Skipped" || events["AllowTraffic"] != "Pending" || len(et.TaskSetsInfo) != 2 {
		t.Fatalf("target while Ready: %+v", tgt)
	}
	for _, ts := range et.TaskSetsInfo {
		if (ts.TaskSetLabel == "Green") != (ts.TargetGroup.Name == "cd-green") || ts.RunningCount != 2 {
			t.Errorf("task set info %+v", ts)
		}
	}
	cli(t, "deploy", "continue-deployment", "--deployment-id", d1, "--deployment-wait-type", "READY_WAIT").Must(t)
	// The canary: some production traffic on v2 (10%) for 5 minutes (10 s),
	// then all of it.
	var canary []float64
	tsPoll(t, 60*time.Second, "production on v2", func() (bool, any) {
		share := cdShare(t, prodPort, 100, "v2", "v1")
		canary = append(canary, share)
		return share == 1, share
	})
	t.Logf("canary observed (v2 share per 100 requests): %v", canary)
	if !slices.ContainsFunc(canary, func(sh float64) bool { return sh > 0 && sh < 0.35 }) {
		t.Errorf("production went to v2 without a canary step: %v", canary)
	}
	if r := cli(t, "deploy", "wait", "deployment-successful", "--deployment-id", d1); r.ExitCode != 0 {
		t.Fatalf("wait deployment-successful: %s %s", r.Stderr, r.Stdout)
	}
	s := tsDescribeService(t, b, "web")
	if len(s.TaskSets) != 1 || s.TaskSets[0].Status != "PRIMARY" || s.TaskSets[0].TaskDefinition != tdARN["v2"] || s.TaskDefinition != tdARN["v2"] {
		t.Fatalf("service after deployment 1: %+v", s)
	}
	// Blue was terminated: its containers are gone.
	tsPoll(t, 60*time.Second, "v1's containers stopped", func() (bool, any) {
		n := runningContainers(t, blueTasks)
		return n == 0, n
	})
	if r := cli(t, "deploy", "stop-deployment", "--deployment-id", d1); r.ErrorCode() != "DeploymentAlreadyCompletedException" {
		t.Errorf("stop of a completed deployment: %s %s", r.ErrorCode(), r.Stderr)
	}

	// Deployment 2: v3 through a linear configuration, continuing by itself.
	cli(t, "deploy", "update-deployment-group", "--application-name", "web", "--current-deployment-group-name", "web-dg",
		"--deployment-config-name", "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
		"--blue-green-deployment-configuration", "deploymentReadyOption={actionOnTimeout=CONTINUE_DEPLOYMENT},terminateBlueInstancesOnDeploymentSuccess={action=TERMINATE,terminationWaitTimeInMinutes=1}").Must(t)
	d2 := cdCreateDeployment(t, b, tdARN["v3"], nil)
	var shares []float64
	sample := func() float64 {
		share := cdShare(t, prodPort, 50, "v3", "v2")
		if share > 0 {
			shares = append(shares, share)
		}
		return share
	}
	tsPoll(t, 120*time.Second, "production partly on v3", func() (bool, any) {
		share := sample()
		return share > 0 && share < 1, shares
	})
	// Berth dies with SIGKILL in the middle of the shift and comes back:
	// the deployment continues where it was, not from the start.
	beforeKill := shares[len(shares)-1]
	b.Kill()
	b.Restart()
	afterRestart := len(shares)
	tsPoll(t, 120*time.Second, "production on v3", func() (bool, any) {
		return sample() == 1, shares
	})
	t.Logf("linear shift observed (v3 share per 50 requests; Berth killed after %d samples): %v", afterRestart, shares)
	var steps []float64
	for _, sh := range shares {
		if sh < 1 {
			steps = append(steps, sh)
		}
	}
	// Ten 10% steps of 2 s each: several intermediate shares, rising, and
	// none after the restart back near 0 (sampling noise aside).
	if len(steps) < 2 || steps[len(steps)-1] <= steps[0] {
		t.Errorf("linear shift observed as %v", shares)
	}
	for _, sh := range shares[afterRestart:] {
		if sh < beforeKill-0.2 {
			t.Errorf("after the restart production went back to %v v3 (was %v before): %v", sh, beforeKill, shares)
		}
	}
	if r := cli(t, "deploy", "wait", "deployment-successful", "--deployment-id", d2); r.ExitCode != 0 {
		t.Fatalf("wait deployment-successful: %s", r.Stderr)
	}
	// One green task set, neither lost nor doubled by the restart.
	tsPoll(t, 60*time.Second, "v3 alone", func() (bool, any) {
		s := tsDescribeService(t, b, "web")
		if len(s.TaskSets) != 1 {
			return false, s.TaskSets
		}
		ts := s.TaskSets[0]
		return ts.Status == "PRIMARY" && ts.TaskDefinition == tdARN["v3"] && ts.ExternalId == d2 && ts.RunningCount == 2 &&
			len(tsTasks(t, b, "web", ts.Id, seen)) == 2, s.TaskSets
	})

	// Deployment 3 (v4, linear every 3 minutes) stopped with rollback once
	// production traffic started moving: all of it goes back to v3.
	d3 := cdCreateDeployment(t, b, tdARN["v4"], map[string]any{"deploymentConfigName": "CodeDeployDefault.ECSLinear10PercentEvery3Minutes"})
	tsPoll(t, 120*time.Second, "production partly on v4", func() (bool, any) {
		share := cdShare(t, prodPort, 50, "v4", "v3")
		return share > 0 && share < 1, share
	})
	var stop struct{ Status, StatusMessage string }
	cli(t, "deploy", "stop-deployment", "--deployment-id", d3, "--auto-rollback-enabled").Must(t).JSON(t, &stop)
	if stop.Status != "Pending" {
		t.Errorf("stop-deployment: %+v", stop)
	}
	dep3 := cdGet(t, b, d3)
	if dep3.Status != "Stopped" || dep3.ErrorInformation == nil || dep3.RollbackInfo == nil || dep3.RollbackInfo.RollbackDeploymentId == "" {
		t.Fatalf("stopped deployment: %+v", dep3)
	}
	rb := dep3.RollbackInfo.RollbackDeploymentId
	if r := cli(t, "deploy", "wait", "deployment-successful", "--deployment-id", rb); r.ExitCode != 0 {
		t.Fatalf("rollback deployment: %s %+v", r.Stderr, cdGet(t, b, rb))
	}
	if r := cli(t, "deploy", "wait", "deployment-successful", "--deployment-id", d3); r.ExitCode == 0 {
		t.Error("wait deployment-successful on a stopped deployment succeeded")
	}
	if rd := cdGet(t, b, rb); rd.Creator != "codeDeployRollback" || rd.RollbackInfo == nil || rd.RollbackInfo.RollbackTriggeringDeploymentId != d3 {
		t.Errorf("rollback deployment: %+v", rd)
	}
	if share := cdShare(t, prodPort, 50, "v3", "v4"); share != 1 {
		t.Fatalf("production after the rollback: %v on v3", share)
	}
	tsPoll(t, 60*time.Second, "green of deployment 3 gone", func() (bool, any) {
		s := tsDescribeService(t, b, "web")
		return len(s.TaskSets) == 1 && s.TaskSets[0].Status == "PRIMARY" && s.TaskSets[0].TaskDefinition == tdARN["v3"], s.TaskSets
	})

	// Deployment 4: containers that exit at once. Its tasks keep stopping,
	// the deployment fails and, with DEPLOYMENT_FAILURE auto rollback, is
	// rolled back; production never leaves v3.
	d4 := cdCreateDeployment(t, b, tdARN["broken"], nil)
	tsPoll(t, 150*time.Second, "deployment 4 failed", func() (bool, any) {
		if share := cdShare(t, prodPort, 20, "v3", ""); share != 1 {
			t.Fatalf("production during the failing deployment: %v v3", share)
		}
		d := cdGet(t, b, d4)
		return d.Status == "Failed", d.Status
	})
	dep4 := cdGet(t, b, d4)
	if dep4.ErrorInformation == nil || dep4.ErrorInformation.Code != "ECS_UPDATE_ERROR" || dep4.RollbackInfo == nil || dep4.RollbackInfo.RollbackDeploymentId == "" {
		t.Fatalf("failed deployment: %+v %+v", dep4.ErrorInformation, dep4.RollbackInfo)
	}
	t.Logf("failed deployment: %s", dep4.ErrorInformation.Message)
	cdWaitStatus(t, b, dep4.RollbackInfo.RollbackDeploymentId, "Succeeded", 60*time.Second)
	tsPoll(t, 60*time.Second, "the broken task set gone", func() (bool, any) {
		s := tsDescribeService(t, b, "web")
		return len(s.TaskSets) == 1 && s.TaskSets[0].TaskDefinition == tdARN["v3"], s.TaskSets
	})

	// boto3 sees the same deployments.
	r := b.Python(t, fmt.Sprintf(`import boto3
cd = boto3.client("codedeploy")
ids = cd.list_deployments(applicationName="web", deploymentGroupName="web-dg")["deployments"]
print(len(ids))
print(cd.list_deployment_targets(deploymentId=%q)["targetIds"][0])
print(sorted(d["status"] for d in cd.batch_get_deployments(deploymentIds=ids)["deploymentsInfo"]))
`, d2)).Must(t)
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != 3 || lines[0] != "6" || lines[1] != "tasks:web" || lines[2] != "['Failed', 'Stopped', 'Succeeded', 'Succeeded', 'Succeeded', 'Succeeded']" {
		t.Errorf("boto3: %q", r.Stdout)
	}
}
