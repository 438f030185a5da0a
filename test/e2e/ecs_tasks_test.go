package e2e

// ECS tasks as real containers, through the aws CLI (v1 and v2), boto3 and
// aws-sdk-go-v2: the test image is pushed to Berth's ECR, task definitions
// are registered, tasks are run and waited for with the clients' own
// waiters, and what the containers do is checked on the Docker engine, over
// HTTP and in CloudWatch Logs. Every test has a Berth of its own and runs in
// parallel with the others.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth-dev/berth/test/harness"
)

// tkTask is a task as the CLIs print it.
type tkTask struct {
	TaskArn, LastStatus, DesiredStatus, HealthStatus string
	StopCode, StoppedReason                          string
	PullStartedAt, PullStoppedAt, StartedAt          any
	StoppingAt, StoppedAt, ExecutionStoppedAt        any
	Containers                                       []tkContainer
	Attachments                                      []struct {
		Type, Status string
		Details      []struct{ Name, Value string }
	}
}

type tkContainer struct {
	Name, LastStatus, Reason, RuntimeId, ImageDigest, HealthStatus string
	ExitCode                                                       *int
	NetworkBindings                                                []struct {
		BindIP                  string
		ContainerPort, HostPort int
	}
}

func (t tkTask) container(name string) tkContainer {
	for _, c := range t.Containers {
		if c.Name == name {
			return c
		}
	}
	return tkContainer{}
}

// tkSetup starts a Berth with the test image in its ECR and a cluster
// "tasks", and returns the image URI.
func tkSetup(t *testing.T, opts ...harness.Option) (*harness.Berth, string) {
	t.Helper()
	harness.RequireDocker(t)
	b := harness.Start(t, opts...)
	uri := createRepo(t, b, uniqueName("tasks/app")) + ":v1"
	pushImage(t, uri, harness.TestImage(t, "tasks"), registryAuth(t, b))
	// The engine's copy of the image goes with the test (after the task
	// containers, which later cleanups remove first).
	t.Cleanup(func() { harness.Docker(t, "rmi", uri) })
	if _, err := ecs.NewFromConfig(b.SDKConfig(context.Background())).CreateCluster(context.Background(),
		&ecs.CreateClusterInput{ClusterName: aws.String("tasks")}); err != nil {
		t.Fatal(err)
	}
	return b, uri
}

// tkCleanup removes, when the test ends, any container a task left (a
// failed test may leave a task running).
func tkCleanup(t *testing.T, arn string) {
	t.Cleanup(func() {
		ids := harness.Docker(t, "ps", "-aq", "--filter", "label=com.amazonaws.ecs.task-arn="+arn).Stdout
		if f := strings.Fields(ids); len(f) > 0 {
			harness.Docker(t, append([]string{"rm", "-f"}, f...)...)
		}
	})
}

// tkContainersOf lists the engine's containers of a task.
func tkContainersOf(t *testing.T, arn string) []string {
	t.Helper()
	return strings.Fields(harness.Docker(t, "ps", "-aq", "--filter", "label=com.amazonaws.ecs.task-arn="+arn).Must(t).Stdout)
}

type cliFunc func(testing.TB, ...string) *harness.Result

func tkRun(t *testing.T, cli cliFunc, args ...string) string {
	t.Helper()
	var out struct {
		Tasks    []tkTask
		Failures []struct{ Arn, Reason string }
	}
	cli(t, append([]string{"ecs", "run-task", "--cluster", "tasks"}, args...)...).Must(t).JSON(t, &out)
	if len(out.Tasks) != 1 {
		t.Fatalf("run-task: %+v", out)
	}
	tkCleanup(t, out.Tasks[0].TaskArn)
	return out.Tasks[0].TaskArn
}

func tkDescribe(t *testing.T, cli cliFunc, arn string) tkTask {
	t.Helper()
	var out struct{ Tasks []tkTask }
	cli(t, "ecs", "describe-tasks", "--cluster", "tasks", "--tasks", arn).Must(t).JSON(t, &out)
	if len(out.Tasks) != 1 {
		t.Fatalf("describe-tasks %s: %+v", arn, out)
	}
	return out.Tasks[0]
}

// tkWait runs the CLI's own waiter (tasks-running or tasks-stopped).
func tkWait(t *testing.T, cli cliFunc, waiter, arn string) tkTask {
	t.Helper()
	if r := cli(t, "ecs", "wait", waiter, "--cluster", "tasks", "--tasks", arn); r.ExitCode != 0 {
		task := tkDescribe(t, cli, arn)
		t.Fatalf("ecs wait %s: %s\n%+v", waiter, r.Stderr, task)
	}
	return tkDescribe(t, cli, arn)
}

// tkPoll describes the task until ok, for at most d.
func tkPoll(t *testing.T, b *harness.Berth, arn string, d time.Duration, what string, ok func(types.Task) bool) types.Task {
	t.Helper()
	client := ecs.NewFromConfig(b.SDKConfig(context.Background()))
	deadline := time.Now().Add(d)
	for {
		out, err := client.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String("tasks"), Tasks: []string{arn}})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("DescribeTasks: %v %+v", err, out)
		}
		if ok(out.Tasks[0]) {
			return out.Tasks[0]
		}
		if time.Now().After(deadline) {
			doc, _ := json.MarshalIndent(out.Tasks[0], "", "  ")
			t.Fatalf("task not %s after %s:\n%s", what, d, doc)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tkGet(t *testing.T, url string) (int, string) {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	var last error
	for i := 0; i < 50; i++ {
		resp, err := c.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(body)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", url, last)
	return 0, ""
}

func tkRegister(t *testing.T, cli cliFunc, def string) {
	t.Helper()
	cli(t, "ecs", "register-task-definition", "--cli-input-json", def).Must(t)
}

// The web server story with the aws CLI v1: a bridge task on a dynamic
// host port, reachable there, with the lifecycle's timestamps; stopped by
// the user, it leaves no container, and the cluster can be deleted.
func TestECSTaskWebServerAWSCLI(t *testing.T) {
	t.Parallel()
	b, img := tkSetup(t)
	cli := b.AWS
	tkRegister(t, cli, fmt.Sprintf(`{"family": "web", "containerDefinitions": [{
  "name": "web", "image": %q, "memory": 64, "command": ["serve"],
  "portMappings": [{"containerPort": 8080}],
  "environment": [{"name": "MESSAGE", "value": "hello from ecs"}]}]}`, img))
	arn := tkRun(t, cli, "--task-definition", "web")
	task := tkWait(t, cli, "tasks-running", arn)
	web := task.container("web")
	if task.LastStatus != "RUNNING" || web.LastStatus != "RUNNING" || web.RuntimeId == "" || !strings.HasPrefix(web.ImageDigest, "sha256:") {
		t.Fatalf("running task: %+v", task)
	}
	if task.PullStartedAt == nil || task.PullStoppedAt == nil || task.StartedAt == nil {
		t.Errorf("timestamps missing: %+v", task)
	}
	if len(web.NetworkBindings) != 1 || web.NetworkBindings[0].ContainerPort != 8080 || web.NetworkBindings[0].HostPort == 0 {
		t.Fatalf("network bindings: %+v", web.NetworkBindings)
	}
	code, body := tkGet(t, fmt.Sprintf("http://127.0.0.1:%d/", web.NetworkBindings[0].HostPort))
	if code != 200 || !strings.Contains(body, "hello from ecs") {
		t.Errorf("GET the task: %d %s", code, body)
	}

	cli(t, "ecs", "stop-task", "--cluster", "tasks", "--task", arn, "--reason", "e2e done").Must(t)
	task = tkWait(t, cli, "tasks-stopped", arn)
	if task.StopCode != "UserInitiated" || task.StoppedReason != "e2e done" || task.StoppingAt == nil ||
		task.StoppedAt == nil || task.ExecutionStoppedAt == nil {
		t.Errorf("stopped task: %+v", task)
	}
	if c := task.container("web"); c.LastStatus != "STOPPED" || c.ExitCode == nil || *c.ExitCode != 0 {
		t.Errorf("stopped container: %+v", c)
	}
	if left := tkContainersOf(t, arn); len(left) != 0 {
		t.Errorf("containers left behind: %v", left)
	}
	cli(t, "ecs", "delete-cluster", "--cluster", "tasks").Must(t)
}

// awsvpc with the aws CLI v2: a Fargate task has an IP of its own, shown in
// its ENI attachment and reachable from the host.
func TestECSTaskAWSVPCWithAWSCLIv2(t *testing.T) {
	t.Parallel()
	b, img := tkSetup(t)
	cli := b.AWSv2
	tkRegister(t, cli, fmt.Sprintf(`{"family": "vpcweb", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
  "cpu": "256", "memory": "512", "containerDefinitions": [{
  "name": "web", "image": %q, "command": ["serve"], "portMappings": [{"containerPort": 8080}]}]}`, img))
	arn := tkRun(t, cli, "--task-definition", "vpcweb", "--launch-type", "FARGATE",
		"--network-configuration", "awsvpcConfiguration={subnets=["+defaultSubnets(t, b)[0]+"]}")
	task := tkWait(t, cli, "tasks-running", arn)
	ip := ""
	for _, a := range task.Attachments {
		for _, d := range a.Details {
			if a.Type == "ElasticNetworkInterface" && d.Name == "privateIPv4Address" {
				ip = d.Value
			}
		}
	}
	if ip == "" {
		t.Fatalf("no privateIPv4Address in the ENI attachment: %+v", task.Attachments)
	}
	if code, body := tkGet(t, "http://"+ip+":8080/health"); code != 200 {
		t.Errorf("GET the task's IP: %d %s", code, body)
	}
	cli(t, "ecs", "stop-task", "--cluster", "tasks", "--task", arn).Must(t)
	task = tkWait(t, cli, "tasks-stopped", arn)
	if task.StopCode != "UserInitiated" || task.StoppedReason != "Task stopped by user" {
		t.Errorf("stopped task: %+v", task)
	}
	if left := tkContainersOf(t, arn); len(left) != 0 {
		t.Errorf("containers left behind: %v", left)
	}
}

// A crasher with boto3: the essential container exits 3, the task stops
// with EssentialContainerExited and the exit code.
func TestECSTaskCrasherBoto3(t *testing.T) {
	t.Parallel()
	b, img := tkSetup(t)
	script := `import boto3, json, sys
ecs = boto3.client("ecs")
ecs.register_task_definition(family="crasher", containerDefinitions=[
    {"name": "crasher", "image": sys.argv[1], "memory": 64, "command": ["exit", "3"]}])
arn = ecs.run_task(cluster="tasks", taskDefinition="crasher")["tasks"][0]["taskArn"]
print(arn, file=sys.stderr)
ecs.get_waiter("tasks_stopped").wait(cluster="tasks", tasks=[arn], WaiterConfig={"Delay": 1, "MaxAttempts": 120})
t = ecs.describe_tasks(cluster="tasks", tasks=[arn])["tasks"][0]
c = t["containers"][0]
print(json.dumps({"arn": arn, "stopCode": t.get("stopCode"), "stoppedReason": t.get("stoppedReason"),
    "exitCode": c.get("exitCode"), "lastStatus": c["lastStatus"]}))
`
	var got struct {
		Arn, StopCode, StoppedReason, LastStatus string
		ExitCode                                 *int
	}
	b.Python(t, script, img).Must(t).JSON(t, &got)
	tkCleanup(t, got.Arn)
	if got.StopCode != "EssentialContainerExited" || got.StoppedReason != "Essential container in task exited" ||
		got.ExitCode == nil || *got.ExitCode != 3 || got.LastStatus != "STOPPED" {
		t.Errorf("crashed task: %+v", got)
	}
}

// A dependsOn chain with aws-sdk-go-v2: the init container completes
// (SUCCESS) before the app starts; a failing init stops the task with the
// reason.
func TestECSTaskDependsOnSDK(t *testing.T) {
	t.Parallel()
	b, img := tkSetup(t)
	ctx := context.Background()
	client := ecs.NewFromConfig(b.SDKConfig(ctx))
	register := func(family, initCmd string) {
		_, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family: aws.String(family),
			ContainerDefinitions: []types.ContainerDefinition{
				{Name: aws.String("init"), Image: aws.String(img), Memory: aws.Int32(64), Essential: aws.Bool(false),
					Command: strings.Fields(initCmd)},
				{Name: aws.String("app"), Image: aws.String(img), Memory: aws.Int32(64), Command: []string{"serve"},
					DependsOn: []types.ContainerDependency{{ContainerName: aws.String("init"), Condition: types.ContainerConditionSuccess}}},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	run := func(family string) string {
		out, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("tasks"), TaskDefinition: aws.String(family)})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("RunTask: %v", err)
		}
		tkCleanup(t, *out.Tasks[0].TaskArn)
		return *out.Tasks[0].TaskArn
	}
	describe := func(arn string) types.Task {
		out, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("tasks"), Tasks: []string{arn}})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("DescribeTasks: %v", err)
		}
		return out.Tasks[0]
	}

	register("chain", "print migrations done")
	arn := run("chain")
	if err := ecs.NewTasksRunningWaiter(client, func(o *ecs.TasksRunningWaiterOptions) { o.MinDelay = time.Second }).Wait(ctx,
		&ecs.DescribeTasksInput{Cluster: aws.String("tasks"), Tasks: []string{arn}}, 2*time.Minute); err != nil {
		t.Fatalf("tasks running: %v", err)
	}
	task := describe(arn)
	init, app := task.Containers[0], task.Containers[1]
	if aws.ToString(init.LastStatus) != "STOPPED" || aws.ToInt32(init.ExitCode) != 0 || init.ExitCode == nil ||
		aws.ToString(app.LastStatus) != "RUNNING" {
		t.Errorf("init %s/%v, app %s", aws.ToString(init.LastStatus), init.ExitCode, aws.ToString(app.LastStatus))
	}
	// The app started after init had finished.
	var inspected []struct {
		State struct{ StartedAt, FinishedAt time.Time }
	}
	doc := harness.Docker(t, "inspect", aws.ToString(init.RuntimeId), aws.ToString(app.RuntimeId)).Must(t).Stdout
	if err := json.Unmarshal([]byte(doc), &inspected); err != nil || len(inspected) != 2 {
		t.Fatalf("docker inspect: %v", err)
	}
	if inspected[1].State.StartedAt.Before(inspected[0].State.FinishedAt) {
		t.Errorf("app started at %v, before init finished at %v", inspected[1].State.StartedAt, inspected[0].State.FinishedAt)
	}
	if _, err := client.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("tasks"), Task: &arn}); err != nil {
		t.Fatal(err)
	}

	register("badchain", "exit 5")
	arn = run("badchain")
	if err := ecs.NewTasksStoppedWaiter(client, func(o *ecs.TasksStoppedWaiterOptions) { o.MinDelay = time.Second }).Wait(ctx,
		&ecs.DescribeTasksInput{Cluster: aws.String("tasks"), Tasks: []string{arn}}, 2*time.Minute); err != nil {
		t.Fatalf("tasks stopped: %v", err)
	}
	task = describe(arn)
	if task.StopCode != types.TaskStopCodeTaskFailedToStart || !strings.Contains(aws.ToString(task.StoppedReason), "did not exit successfully (exit code 5)") {
		t.Errorf("failed chain: %s %q", task.StopCode, aws.ToString(task.StoppedReason))
	}
	if app := task.Containers[1]; app.ExitCode != nil || app.RuntimeId != nil && len(tkContainersOf(t, arn)) != 0 {
		t.Errorf("the app of a failed chain: %+v", app)
	}
}

// Health checks with the aws CLI v2: a container whose check passes makes
// its task HEALTHY; one whose check fails, UNHEALTHY (and a standalone task
// keeps running).
func TestECSTaskHealthChecks(t *testing.T) {
	t.Parallel()
	b, img := tkSetup(t)
	cli := b.AWSv2
	for _, tc := range []struct{ family, url string }{
		{"healthy", "http://127.0.0.1:8080/health"},
		{"unhealthy", "http://127.0.0.1:9/nothing-listens-here"},
	} {
		tkRegister(t, cli, fmt.Sprintf(`{"family": %q, "containerDefinitions": [{
  "name": "web", "image": %q, "memory": 64, "command": ["serve"],
  "healthCheck": {"command": ["CMD", "/app", "check", %q], "interval": 5, "timeout": 2, "retries": 1}}]}`, tc.family, img, tc.url))
	}
	ok := tkRun(t, cli, "--task-definition", "healthy")
	sick := tkRun(t, cli, "--task-definition", "unhealthy")
	tkPoll(t, b, ok, time.Minute, "HEALTHY", func(t types.Task) bool {
		return t.HealthStatus == types.HealthStatusHealthy && t.Containers[0].HealthStatus == types.HealthStatusHealthy
	})
	got := tkPoll(t, b, sick, time.Minute, "UNHEALTHY", func(t types.Task) bool {
		return t.HealthStatus == types.HealthStatusUnhealthy && t.Containers[0].HealthStatus == types.HealthStatusUnhealthy
	})
	if aws.ToString(got.LastStatus) != "RUNNING" {
		t.Errorf("unhealthy standalone task is %s", aws.ToString(got.LastStatus))
	}
	task := tkDescribe(t, cli, ok)
	if task.HealthStatus != "HEALTHY" || task.container("web").HealthStatus != "HEALTHY" {
		t.Errorf("describe-tasks of the healthy task: %+v", task)
	}
	for _, arn := range []string{ok, sick} {
		cli(t, "ecs", "stop-task", "--cluster", "tasks", "--task", arn).Must(t)
	}
}

// stopTimeout: a container that ignores SIGTERM is killed (exit 137) once
// its stopTimeout has passed.
func TestECSTaskStopTimeout(t *testing.T) {
	t.Parallel()
	b, img := tkSetup(t)
	cli := b.AWS
	tkRegister(t, cli, fmt.Sprintf(`{"family": "stubborn", "containerDefinitions": [{
  "name": "stubborn", "image": %q, "memory": 64, "command": ["sleep", "1h"], "stopTimeout": 3,
  "environment": [{"name": "IGNORE_SIGTERM", "value": "1"}]}]}`, img))
	arn := tkRun(t, cli, "--task-definition", "stubborn")
	tkWait(t, cli, "tasks-running", arn)
	start := time.Now()
	cli(t, "ecs", "stop-task", "--cluster", "tasks", "--task", arn).Must(t)
	task := tkPoll(t, b, arn, time.Minute, "STOPPED", func(t types.Task) bool { return aws.ToString(t.LastStatus) == "STOPPED" })
	if took := time.Since(start); took < 3*time.Second || took > 30*time.Second {
		t.Errorf("the stop took %s; the stop timeout is 3s", took)
	}
	if c := task.Containers[0]; c.ExitCode == nil || *c.ExitCode != 137 {
		t.Errorf("exit code %v, want 137 (SIGKILL)", c.ExitCode)
	}
}

// Environment and secrets: plain variables and values from Secrets Manager
// (a JSON key of a secret) and Parameter Store reach the container; a
// secret that does not exist fails the task as ECS does.
func TestECSTaskEnvironmentAndSecrets(t *testing.T) {
	t.Parallel()
	b, img := tkSetup(t)
	cli := b.AWS
	var secret struct{ ARN string }
	cli(t, "secretsmanager", "create-secret", "--name", "db", "--secret-string", `{"user":"app","password":"s3cret"}`).Must(t).JSON(t, &secret)
	cli(t, "ssm", "put-parameter", "--name", "/app/token", "--type", "SecureString", "--value", "t0ken").Must(t)
	tkRegister(t, cli, fmt.Sprintf(`{"family": "envs", "containerDefinitions": [{
  "name": "web", "image": %q, "memory": 64, "command": ["serve"], "portMappings": [{"containerPort": 8080}],
  "environment": [{"name": "STAGE", "value": "e2e"}],
  "secrets": [{"name": "DB_PASSWORD", "valueFrom": "%s:password::"},
              {"name": "API_TOKEN", "valueFrom": "/app/token"}]}]}`, img, secret.ARN))
	arn := tkRun(t, cli, "--task-definition", "envs")
	task := tkWait(t, cli, "tasks-running", arn)
	_, body := tkGet(t, fmt.Sprintf("http://127.0.0.1:%d/env", task.container("web").NetworkBindings[0].HostPort))
	var env map[string]string
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatalf("/env: %v: %s", err, body)
	}
	if env["STAGE"] != "e2e" || env["DB_PASSWORD"] != "s3cret" || env["API_TOKEN"] != "t0ken" || env["AWS_REGION"] != "us-east-1" {
		t.Errorf("environment: STAGE=%q DB_PASSWORD=%q API_TOKEN=%q AWS_REGION=%q", env["STAGE"], env["DB_PASSWORD"], env["API_TOKEN"], env["AWS_REGION"])
	}
	cli(t, "ecs", "stop-task", "--cluster", "tasks", "--task", arn).Must(t)

	tkRegister(t, cli, fmt.Sprintf(`{"family": "nosecret", "containerDefinitions": [{
  "name": "web", "image": %q, "memory": 64, "secrets": [{"name": "X", "valueFrom": "/app/missing"}]}]}`, img))
	arn = tkRun(t, cli, "--task-definition", "nosecret")
	task = tkWait(t, cli, "tasks-stopped", arn)
	if task.StopCode != "TaskFailedToStart" || !strings.HasPrefix(task.StoppedReason, "ResourceInitializationError: unable to pull secrets") ||
		!strings.Contains(task.StoppedReason, "/app/missing") {
		t.Errorf("task with a missing secret: %s %q", task.StopCode, task.StoppedReason)
	}
}

// awslogs: every line a container writes, up to its exit, is in its log
// stream, readable with `aws logs get-log-events` and `aws logs tail`.
func TestECSTaskAwslogs(t *testing.T) {
	t.Parallel()
	b, img := tkSetup(t)
	tkRegister(t, b.AWS, fmt.Sprintf(`{"family": "printer", "containerDefinitions": [{
  "name": "printer", "image": %q, "memory": 64, "command": ["print", "line", "one"],
  "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/printer",
    "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true"}}}]}`, img))
	arn := tkRun(t, b.AWS, "--task-definition", "printer")
	tkWait(t, b.AWS, "tasks-stopped", arn)
	stream := "ecs/printer/" + arn[strings.LastIndex(arn, "/")+1:]
	var events struct{ Events []struct{ Message string } }
	b.AWS(t, "logs", "get-log-events", "--log-group-name", "/ecs/printer", "--log-stream-name", stream,
		"--start-from-head").Must(t).JSON(t, &events)
	var lines []string
	for _, e := range events.Events {
		lines = append(lines, e.Message)
	}
	if len(lines) != 2 || lines[0] != "line one" || lines[1] != "testapp tasks printed" {
		t.Errorf("get-log-events: %q", lines)
	}
	tail := b.AWSv2(t, "logs", "tail", "/ecs/printer", "--since", "1h").Must(t).Stdout
	if !strings.Contains(tail, stream) || !strings.Contains(tail, "line one") || !strings.Contains(tail, "testapp tasks printed") {
		t.Errorf("aws logs tail:\n%s", tail)
	}
}

// An image that is not in the registry: the task fails to start with
// CannotPullContainerError, as on ECS.
func TestECSTaskBadImage(t *testing.T) {
	t.Parallel()
	b, img := tkSetup(t)
	missing := strings.TrimSuffix(img, ":v1") + ":does-not-exist"
	tkRegister(t, b.AWS, fmt.Sprintf(`{"family": "ghost", "containerDefinitions": [{"name": "ghost", "image": %q, "memory": 64}]}`, missing))
	arn := tkRun(t, b.AWS, "--task-definition", "ghost")
	task := tkWait(t, b.AWS, "tasks-stopped", arn)
	if task.StopCode != "TaskFailedToStart" || !strings.HasPrefix(task.StoppedReason, "CannotPullContainerError: ") ||
		!strings.Contains(task.StoppedReason, "does-not-exist") {
		t.Errorf("stopped task: %s %q", task.StopCode, task.StoppedReason)
	}
	if c := task.container("ghost"); !strings.HasPrefix(c.Reason, "CannotPullContainerError: ") || c.ExitCode != nil {
		t.Errorf("container: %+v", c)
	}
	if task.PullStartedAt == nil {
		t.Errorf("pullStartedAt missing")
	}
}

// kill -9 while a task runs: after the restart the task is still RUNNING
// (same container, still serving), and it can be stopped.
func TestECSTaskSurvivesKill(t *testing.T) {
	t.Parallel()
	b, img := tkSetup(t)
	cli := b.AWS
	tkRegister(t, cli, fmt.Sprintf(`{"family": "durable", "containerDefinitions": [{
  "name": "web", "image": %q, "memory": 64, "command": ["serve"], "portMappings": [{"containerPort": 8080}]}]}`, img))
	arn := tkRun(t, cli, "--task-definition", "durable")
	before := tkWait(t, cli, "tasks-running", arn).container("web")
	b.Kill()
	b.Restart()
	task := tkDescribe(t, cli, arn)
	after := task.container("web")
	if task.LastStatus != "RUNNING" || after.RuntimeId != before.RuntimeId {
		t.Fatalf("after the restart: %+v", task)
	}
	if code, _ := tkGet(t, fmt.Sprintf("http://127.0.0.1:%d/health", after.NetworkBindings[0].HostPort)); code != 200 {
		t.Errorf("GET after the restart: %d", code)
	}
	// Still RUNNING a while later: the agent re-adopted it.
	time.Sleep(2 * time.Second)
	if task := tkDescribe(t, cli, arn); task.LastStatus != "RUNNING" {
		t.Fatalf("the re-adopted task is %s (%s)", task.LastStatus, task.StoppedReason)
	}
	cli(t, "ecs", "stop-task", "--cluster", "tasks", "--task", arn).Must(t)
	task = tkWait(t, cli, "tasks-stopped", arn)
	if task.StopCode != "UserInitiated" {
		t.Errorf("stopped: %+v", task)
	}
	if left := tkContainersOf(t, arn); len(left) != 0 {
		t.Errorf("containers left behind: %v", left)
	}
}

// engineProxy is a Docker socket that can be switched off and on: Berth is
// pointed at it to see the engine go away and come back without touching
// the real engine that other tests use.
type engineProxy struct {
	t      *testing.T
	path   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func newEngineProxy(t *testing.T) *engineProxy {
	target := "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		if !strings.HasPrefix(h, "unix://") {
			t.Skip("the engine is not on a unix socket")
		}
		target = strings.TrimPrefix(h, "unix://")
	}
	dir, err := os.MkdirTemp("", "engine")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &engineProxy{t: t, path: filepath.Join(dir, "docker.sock"), target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(p.down)
	return p
}

func (p *engineProxy) up() {
	p.mu.Lock()
	defer p.mu.Unlock()
	ln, err := net.Listen("unix", p.path)
	if err != nil {
		p.t.Fatal(err)
	}
	p.ln = ln
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("unix", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[u] = true, true
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
}

func (p *engineProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
	os.Remove(p.path)
}

// The Docker engine away: Berth starts and serves, a task fails with a
// clear reason; once the engine is back, tasks run again.
func TestECSTaskEngineDown(t *testing.T) {
	t.Parallel()
	harness.RequireDocker(t)
	proxy := newEngineProxy(t)
	b := harness.Start(t, harness.WithEnv("DOCKER_HOST=unix://"+proxy.path, "BERTH_AGENT_RESYNC=1s"))
	uri := createRepo(t, b, uniqueName("tasks/app")) + ":v1"
	pushImage(t, uri, harness.TestImage(t, "tasks"), registryAuth(t, b))
	t.Cleanup(func() { harness.Docker(t, "rmi", uri) })
	cli := b.AWSv2
	cli(t, "ecs", "create-cluster", "--cluster-name", "tasks").Must(t)
	tkRegister(t, cli, fmt.Sprintf(`{"family": "web", "containerDefinitions": [{
  "name": "web", "image": %q, "memory": 64, "command": ["serve"], "portMappings": [{"containerPort": 8080}]}]}`, uri))

	arn := tkRun(t, cli, "--task-definition", "web")
	task := tkWait(t, cli, "tasks-stopped", arn)
	if task.StopCode != "TaskFailedToStart" || !strings.Contains(task.StoppedReason, "the Docker engine is not reachable") {
		t.Errorf("task without an engine: %s %q", task.StopCode, task.StoppedReason)
	}

	proxy.up()
	arn = tkRun(t, cli, "--task-definition", "web")
	task = tkWait(t, cli, "tasks-running", arn)
	if code, _ := tkGet(t, fmt.Sprintf("http://127.0.0.1:%d/health", task.container("web").NetworkBindings[0].HostPort)); code != 200 {
		t.Errorf("GET once the engine is back: %d", code)
	}
	cli(t, "ecs", "stop-task", "--cluster", "tasks", "--task", arn).Must(t)
	tkWait(t, cli, "tasks-stopped", arn)
	if left := tkContainersOf(t, arn); len(left) != 0 {
		t.Errorf("containers left behind: %v", left)
	}
}
