package e2e

// Task scale-in protection and the service deployment history on real
// containers. A service of 3: one task is protected (aws CLI v2), the
// service is scaled to 0 and only the protected task keeps running; back
// at 2, v2 rolls out but cannot replace the protected v1 task, so the
// deployment stays IN_PROGRESS; ListServiceDeployments,
// DescribeServiceDeployments and DescribeServiceRevisions (aws CLI v1, as
// the CLI v2 on the test machine predates them, and boto3) show both
// deployments and revisions; StopServiceDeployment ROLLBACK brings the
// service back to v1 (the containers answer v1), and the rollback finishes
// once the protection is removed. ExecuteCommand answers AWS's errors.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

type sdBrief struct {
	ServiceDeploymentArn, ServiceArn, ClusterArn, TargetServiceRevisionArn, Status, StatusReason string
	CreatedAt, StartedAt, FinishedAt                                                             any
}

type sdRevisionSummary struct {
	Arn                                                    string
	RequestedTaskCount, RunningTaskCount, PendingTaskCount int
}

type sdFull struct {
	ServiceDeploymentArn, ServiceArn, ClusterArn, Status, StatusReason string
	CreatedAt, StartedAt, FinishedAt, UpdatedAt                        any
	SourceServiceRevisions                                             []sdRevisionSummary
	TargetServiceRevision                                              *sdRevisionSummary
	Rollback                                                           *struct{ Reason, ServiceRevisionArn string }
	DeploymentCircuitBreaker                                           *struct {
		Status                  string
		FailureCount, Threshold int
	}
	Alarms                  *struct{ Status string }
	DeploymentConfiguration *struct{ MinimumHealthyPercent, MaximumPercent int }
}

func sdList(t *testing.T, b *harness.Berth, args ...string) []sdBrief {
	t.Helper()
	var out struct {
		ServiceDeployments []sdBrief
		NextToken          string
	}
	b.AWS(t, append([]string{"ecs", "list-service-deployments", "--cluster", "tasks", "--service", "web"}, args...)...).Must(t).JSON(t, &out)
	return out.ServiceDeployments
}

func sdDescribe(t *testing.T, b *harness.Berth, arn string) sdFull {
	t.Helper()
	var out struct {
		ServiceDeployments []sdFull
		Failures           []struct{ Arn, Reason string }
	}
	b.AWS(t, "ecs", "describe-service-deployments", "--service-deployment-arns", arn).Must(t).JSON(t, &out)
	if len(out.ServiceDeployments) != 1 {
		t.Fatalf("describe-service-deployments %s: %+v", arn, out)
	}
	return out.ServiceDeployments[0]
}

func sdPoll(t *testing.T, b *harness.Berth, arn string, d time.Duration, what string, ok func(sdFull) bool) sdFull {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		x := sdDescribe(t, b, arn)
		if ok(x) {
			return x
		}
		if time.Now().After(deadline) {
			t.Fatalf("service deployment not %s after %s: %+v", what, d, x)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// svcTaskDefs maps the service's tasks desired RUNNING to their task
// definitions.
func svcTaskDefs(t *testing.T, b *harness.Berth, seen map[string]bool) map[string]string {
	t.Helper()
	out := map[string]string{}
	arns := svcTasks(t, b.AWSv2, seen)
	if len(arns) == 0 {
		return out
	}
	var desc struct {
		Tasks []struct{ TaskArn, TaskDefinitionArn string }
	}
	b.AWSv2(t, append([]string{"ecs", "describe-tasks", "--cluster", "tasks", "--tasks"}, arns...)...).Must(t).JSON(t, &desc)
	for _, task := range desc.Tasks {
		out[task.TaskArn] = task.TaskDefinitionArn
	}
	return out
}

func TestECSTaskProtectionAndServiceDeploymentsAPI(t *testing.T) {
	t.Parallel()
	b, img := tkSetup(t)
	seen := map[string]bool{}
	for _, msg := range []string{"v1", "v2"} {
		tkRegister(t, b.AWSv2, fmt.Sprintf(`{"family": "web", "containerDefinitions": [{
  "name": "web", "image": %q, "memory": 64, "command": ["serve"],
  "portMappings": [{"containerPort": 8080}],
  "environment": [{"name": "MESSAGE", "value": %q}]}]}`, img, msg))
	}
	b.AWSv2(t, "ecs", "create-service", "--cluster", "tasks", "--service-name", "web", "--task-definition", "web:1",
		"--desired-count", "3", "--enable-execute-command", "--deployment-configuration",
		"deploymentCircuitBreaker={enable=true,rollback=true},maximumPercent=200,minimumHealthyPercent=100").Must(t)
	svcWaitStable(t, b)
	svcPoll(t, b.AWSv2, 30*time.Second, "COMPLETED", func(s svcShape) bool {
		return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == "COMPLETED"
	})
	first := svcTasks(t, b.AWSv2, seen)
	if len(first) != 3 {
		t.Fatalf("tasks %v", first)
	}
	protected := first[0]

	// Protect one task (CLI v2); a task of no cluster's is a failure.
	var prot struct {
		ProtectedTasks []struct {
			TaskArn           string
			ProtectionEnabled bool
			ExpirationDate    any
		}
		Failures []struct{ Arn, Reason string }
	}
	b.AWSv2(t, "ecs", "update-task-protection", "--cluster", "tasks", "--tasks", protected, "0123456789abcdef0123456789abcdef",
		"--protection-enabled", "--expires-in-minutes", "60").Must(t).JSON(t, &prot)
	if len(prot.ProtectedTasks) != 1 || prot.ProtectedTasks[0].TaskArn != protected || !prot.ProtectedTasks[0].ProtectionEnabled ||
		prot.ProtectedTasks[0].ExpirationDate == nil || len(prot.Failures) != 1 || prot.Failures[0].Reason != "MISSING" {
		t.Fatalf("update-task-protection: %+v", prot)
	}
	if r := b.AWSv2(t, "ecs", "update-task-protection", "--cluster", "tasks", "--tasks", protected,
		"--protection-enabled", "--expires-in-minutes", "2881"); r.ErrorCode() != "InvalidParameterException" {
		t.Fatalf("expiresInMinutes 2881: %s %s", r.ErrorCode(), r.Stderr)
	}
	// boto3 reads it back: protected for about an hour, the others not.
	got := b.Python(t, `import boto3, sys, datetime
ecs = boto3.client("ecs")
out = ecs.get_task_protection(cluster="tasks", tasks=sys.argv[1:])
now = datetime.datetime.now(datetime.timezone.utc)
for p in out["protectedTasks"]:
    left = (p["expirationDate"] - now).total_seconds() if p.get("expirationDate") else 0
    print(p["taskArn"], p["protectionEnabled"], 3500 < left <= 3600)
`, first...).Must(t).Stdout
	for _, arn := range first {
		want := arn + " False False"
		if arn == protected {
			want = arn + " True True"
		}
		if !strings.Contains(got, want) {
			t.Fatalf("get_task_protection: want %q in\n%s", want, got)
		}
	}

	// Scale to 0: the two unprotected tasks stop, the protected one runs on.
	b.AWSv2(t, "ecs", "update-service", "--cluster", "tasks", "--service", "web", "--desired-count", "0").Must(t)
	s := svcPoll(t, b.AWSv2, 60*time.Second, "scaled in", func(s svcShape) bool {
		ts := svcTasks(t, b.AWSv2, seen)
		return len(ts) == 1 && ts[0] == protected && s.hasEvent("was unable to scale in due to (reason: 1 tasks under protection).")
	})
	if s.RunningCount != 1 || s.DesiredCount != 0 {
		t.Fatalf("service at 0 with a protected task: %+v", s)
	}
	for _, arn := range first[1:] {
		task := tkDescribe(t, b.AWSv2, arn)
		if task.DesiredStatus != "STOPPED" || !strings.Contains(task.StoppedReason, "Scaling activity initiated by") {
			t.Fatalf("unprotected task %s: %+v", arn, task)
		}
	}
	if task := tkDescribe(t, b.AWSv2, protected); task.LastStatus != "RUNNING" || task.DesiredStatus != "RUNNING" {
		t.Fatalf("protected task: %+v", task)
	}

	// Back at 2, then v2: the protected v1 task holds the deployment.
	b.AWSv2(t, "ecs", "update-service", "--cluster", "tasks", "--service", "web", "--desired-count", "2").Must(t)
	svcWaitStable(t, b)
	b.AWSv2(t, "ecs", "update-service", "--cluster", "tasks", "--service", "web", "--task-definition", "web:2").Must(t)
	s = svcPoll(t, b.AWSv2, 60*time.Second, "held by the protected task", func(s svcShape) bool {
		defs := svcTaskDefs(t, b, seen)
		v2 := 0
		for _, td := range defs {
			if strings.HasSuffix(td, "web:2") {
				v2++
			}
		}
		return v2 == 2 && len(defs) == 3 && strings.HasSuffix(defs[protected], "web:1") && len(s.Deployments) == 2
	})
	time.Sleep(4 * time.Second) // a few passes: the deployment stays held
	s = svcDescribe(t, b.AWSv2)
	if len(s.Deployments) != 2 || s.Deployments[0].RolloutState != "IN_PROGRESS" || !strings.HasSuffix(s.Deployments[0].TaskDefinition, "web:2") ||
		s.Deployments[1].Status != "ACTIVE" || s.Deployments[1].RunningCount != 1 {
		t.Fatalf("deployment held by protection: %+v", s)
	}

	// The history: two service deployments, newest first.
	list := sdList(t, b)
	if len(list) != 2 || list[0].Status != "IN_PROGRESS" || list[1].Status != "SUCCESSFUL" || list[1].FinishedAt == nil {
		t.Fatalf("list-service-deployments: %+v", list)
	}
	for _, x := range list {
		if !strings.Contains(x.ServiceDeploymentArn, ":service-deployment/tasks/web/") ||
			!strings.Contains(x.TargetServiceRevisionArn, ":service-revision/tasks/web/") ||
			!strings.HasSuffix(x.ServiceArn, ":service/tasks/web") || !strings.HasSuffix(x.ClusterArn, ":cluster/tasks") {
			t.Fatalf("service deployment ARNs: %+v", x)
		}
	}
	if l := sdList(t, b, "--status", "SUCCESSFUL"); len(l) != 1 || l[0].ServiceDeploymentArn != list[1].ServiceDeploymentArn {
		t.Fatalf("status filter: %+v", l)
	}
	current, previous := list[0], list[1]
	x := sdDescribe(t, b, current.ServiceDeploymentArn)
	if x.TargetServiceRevision == nil || x.TargetServiceRevision.Arn != current.TargetServiceRevisionArn ||
		x.TargetServiceRevision.RequestedTaskCount != 2 || x.TargetServiceRevision.RunningTaskCount != 2 ||
		len(x.SourceServiceRevisions) != 1 || x.SourceServiceRevisions[0].Arn != previous.TargetServiceRevisionArn ||
		x.SourceServiceRevisions[0].RunningTaskCount != 1 || x.DeploymentCircuitBreaker == nil ||
		x.DeploymentCircuitBreaker.Status != "MONITORING" || x.DeploymentCircuitBreaker.Threshold != 3 ||
		x.Alarms == nil || x.Alarms.Status != "DISABLED" || x.DeploymentConfiguration == nil || x.DeploymentConfiguration.MaximumPercent != 200 {
		t.Fatalf("describe-service-deployments: %+v", x)
	}

	// The revisions (boto3): each one's task definition and image.
	revs := b.Python(t, `import boto3, sys
ecs = boto3.client("ecs")
out = ecs.describe_service_revisions(serviceRevisionArns=sys.argv[1:] + ["arn:aws:ecs:us-east-1:000000000000:service-revision/tasks/web/1"])
for r in out["serviceRevisions"]:
    print(r["serviceRevisionArn"], r["taskDefinition"].split("/")[-1], r["launchType"], r["containerImages"][0]["image"], r["createdAt"].year > 2000)
print("failures", [f["reason"] for f in out["failures"]])
`, current.TargetServiceRevisionArn, previous.TargetServiceRevisionArn).Must(t).Stdout
	for _, want := range []string{
		current.TargetServiceRevisionArn + " web:2 EC2 " + img + " True",
		previous.TargetServiceRevisionArn + " web:1 EC2 " + img + " True",
		"failures ['MISSING']",
	} {
		if !strings.Contains(revs, want) {
			t.Fatalf("describe_service_revisions: want %q in\n%s", want, revs)
		}
	}

	// A finished deployment cannot be stopped, nor can one be continued.
	if r := b.AWS(t, "ecs", "stop-service-deployment", "--service-deployment-arn", previous.ServiceDeploymentArn, "--stop-type", "ROLLBACK"); r.ErrorCode() != "ConflictException" {
		t.Fatalf("stop of a SUCCESSFUL deployment: %s %s", r.ErrorCode(), r.Stderr)
	}
	if r := b.AWS(t, "ecs", "continue-service-deployment", "--service-deployment-arn", current.ServiceDeploymentArn, "--hook-id", "ecs-pause-x"); r.ErrorCode() != "InvalidParameterException" {
		t.Fatalf("continue-service-deployment: %s %s", r.ErrorCode(), r.Stderr)
	}
	if r := b.AWS(t, "ecs", "describe-service-deployments", "--service-deployment-arns", strings.TrimSuffix(current.ServiceDeploymentArn, "x")+"nope"); !strings.Contains(r.Stdout, "MISSING") {
		t.Fatalf("unknown service deployment: %s %s", r.Stdout, r.Stderr)
	}

	// StopServiceDeployment ROLLBACK (boto3) in the middle of the rollout.
	b.Python(t, `import boto3, sys
out = boto3.client("ecs").stop_service_deployment(serviceDeploymentArn=sys.argv[1], stopType="ROLLBACK")
assert out["serviceDeploymentArn"] == sys.argv[1], out
`, current.ServiceDeploymentArn).Must(t)
	x = sdPoll(t, b, current.ServiceDeploymentArn, 30*time.Second, "rolling back", func(x sdFull) bool {
		return x.Status == "ROLLBACK_IN_PROGRESS" || x.Status == "ROLLBACK_REQUESTED"
	})
	if x.Rollback == nil || x.Rollback.ServiceRevisionArn != previous.TargetServiceRevisionArn || x.Rollback.Reason == "" {
		t.Fatalf("rollback info: %+v", x)
	}
	// The v2 tasks go, v1 ones come; the protected task still holds the
	// rollback until its protection is removed.
	svcPoll(t, b.AWSv2, 60*time.Second, "back on v1", func(s svcShape) bool {
		defs := svcTaskDefs(t, b, seen)
		for _, td := range defs {
			if !strings.HasSuffix(td, "web:1") {
				return false
			}
		}
		return len(defs) == 3 && strings.HasSuffix(s.TaskDefinition, "web:1")
	})
	if x = sdDescribe(t, b, current.ServiceDeploymentArn); x.Status != "ROLLBACK_IN_PROGRESS" {
		t.Fatalf("rollback held by the protected task: %+v", x)
	}
	b.AWSv2(t, "ecs", "update-task-protection", "--cluster", "tasks", "--tasks", protected, "--no-protection-enabled").Must(t).JSON(t, &prot)
	if len(prot.ProtectedTasks) != 1 || prot.ProtectedTasks[0].ProtectionEnabled {
		t.Fatalf("protection removed: %+v", prot)
	}
	x = sdPoll(t, b, current.ServiceDeploymentArn, 60*time.Second, "ROLLBACK_SUCCESSFUL", func(x sdFull) bool { return x.Status == "ROLLBACK_SUCCESSFUL" })
	if x.FinishedAt == nil {
		t.Fatalf("rolled back: %+v", x)
	}
	svcWaitStable(t, b)
	s = svcDescribe(t, b.AWSv2)
	if len(s.Deployments) != 1 || !strings.HasSuffix(s.Deployments[0].TaskDefinition, "web:1") || s.Deployments[0].RolloutState != "COMPLETED" || s.RunningCount != 2 {
		t.Fatalf("service after the rollback: %+v", s)
	}
	defs := svcTaskDefs(t, b, seen)
	if _, still := defs[protected]; len(defs) != 2 || still {
		t.Fatalf("tasks after the rollback: %v", defs)
	}
	for arn := range defs {
		web := tkDescribe(t, b.AWSv2, arn).container("web")
		if code, body := tkGet(t, fmt.Sprintf("http://127.0.0.1:%d/", web.NetworkBindings[0].HostPort)); code != 200 || !strings.Contains(body, "v1") {
			t.Errorf("task %s answered %d %q after the rollback", arn, code, body)
		}
	}
	// Paged and filtered by creation time (boto3).
	paged := b.Python(t, `import boto3, datetime
ecs = boto3.client("ecs")
seen, token = [], None
while True:
    kw = {"nextToken": token} if token else {}
    out = ecs.list_service_deployments(cluster="tasks", service="web", maxResults=1, **kw)
    seen += [d["status"] for d in out["serviceDeployments"]]
    token = out.get("nextToken")
    if not token:
        break
print("pages", seen)
future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
print("after", len(ecs.list_service_deployments(cluster="tasks", service="web", createdAt={"after": future})["serviceDeployments"]))
print("before", len(ecs.list_service_deployments(cluster="tasks", service="web", createdAt={"before": future})["serviceDeployments"]))
`).Must(t).Stdout
	for _, want := range []string{"pages ['ROLLBACK_SUCCESSFUL', 'SUCCESSFUL']", "after 0", "before 2"} {
		if !strings.Contains(paged, want) {
			t.Fatalf("paging: want %q in\n%s", want, paged)
		}
	}

	// ExecuteCommand: the service's tasks have it enabled but no agent
	// answers; a task run without it gets AWS's error. A standalone task
	// cannot be protected.
	var task string
	for arn := range defs {
		task = arn
	}
	lone := tkRun(t, b.AWSv2, "--task-definition", "web:1")
	execOut := b.Python(t, `import boto3, sys
ecs = boto3.client("ecs")
for task in sys.argv[1:]:
    try:
        ecs.execute_command(cluster="tasks", task=task, container="web", command="ls", interactive=True)
        print("no error")
    except ecs.exceptions.ClientError as e:
        print(e.response["Error"]["Code"], e.response["Error"]["Message"])
p = ecs.update_task_protection(cluster="tasks", tasks=[sys.argv[2]], protectionEnabled=True)
print("standalone", [f["reason"] for f in p["failures"]])
`, task, lone).Must(t).Stdout
	for _, want := range []string{
		"TargetNotConnectedException",
		"InvalidParameterException The execute command failed because execute command was not enabled when the task was run",
		"standalone ['TASK_NOT_VALID']",
	} {
		if !strings.Contains(execOut, want) {
			t.Fatalf("execute_command: want %q in\n%s", want, execOut)
		}
	}
	b.AWSv2(t, "ecs", "stop-task", "--cluster", "tasks", "--task", lone).Must(t)

	b.AWS(t, "ecs", "delete-service", "--cluster", "tasks", "--service", "web", "--force").Must(t)
	svcPoll(t, b.AWS, 60*time.Second, "INACTIVE", func(s svcShape) bool { return s.Status == "INACTIVE" })
	for arn := range seen {
		if left := strings.Fields(harness.Docker(t, "ps", "-q", "--filter", "label=com.amazonaws.ecs.task-arn="+arn).Must(t).Stdout); len(left) != 0 {
			t.Errorf("task %s still has running containers %v", arn, left)
		}
	}
}
