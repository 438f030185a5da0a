package agent_test

// The agent against a real Docker engine and an in-process ECS control
// plane: each test has a host of its own, so the tests run in parallel
// without one's sweep removing another's containers.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/agent"
	ecsapi "github.com/berth-dev/berth/api/ecs"
	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/ecs"
	"github.com/berth-dev/berth/logs"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/docker"
	"github.com/berth-dev/berth/runtime/runtimetest"
	"github.com/berth-dev/berth/secrets/resolve"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/store/sqlite"
	"github.com/berth-dev/berth/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

// world is one host: a control plane, its agent, CloudWatch Logs.
type world struct {
	t      *testing.T
	ctx    context.Context // the caller's identity
	svc    *ecs.Service
	logs   *logs.Service
	st     store.Store
	rt     runtime.Runtime
	agent  *agent.Agent
	host   string
	image  string
	stop   func()
	region string
}

var (
	imageOnce sync.Once
	imageTag  string
)

// testImage loads harness.TestImage into the engine once per test binary.
func testImage(t *testing.T) string {
	t.Helper()
	harness.RequireDocker(t)
	imageOnce.Do(func() {
		// One tag for every run: loading it again only moves the tag, so
		// runs leave no trail of images behind.
		tag := "berth-agent-test/app:latest"
		runtimetest.LoadImage(context.Background(), t, harness.TestImage(t, "agent-test"), tag)
		imageTag = tag
	})
	if imageTag == "" {
		t.Fatal("the test image could not be loaded")
	}
	return imageTag
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func newWorld(t *testing.T, mutate ...func(*agent.Options)) *world {
	t.Helper()
	img := testImage(t)
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	host := ecs.DetectLocalHost()
	host.ID = "i-" + randHex(8) + "t"
	svc, err := ecs.New(context.Background(), ecs.Options{Store: st, Local: &host})
	if err != nil {
		t.Fatal(err)
	}
	lg, err := logs.New(logs.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := docker.New(docker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := agent.Options{
		Host: svc.LocalHostID(), Tasks: svc, Runtime: rt, Logs: sink{lg},
		Secrets: resolve.Resolver{Store: st}, Resync: 2 * time.Second, LogFlush: 50 * time.Millisecond,
		PullBehavior: agent.PullPreferCached,
	}
	for _, m := range mutate {
		m(&o)
	}
	a, err := agent.New(o)
	if err != nil {
		t.Fatal(err)
	}
	svc.SetNotifier(a)
	ctx, cancel := context.WithCancel(context.Background())
	go a.Run(ctx)
	w := &world{
		t: t, svc: svc, logs: lg, st: st, rt: rt, agent: a, host: svc.LocalHostID(), image: img, region: "us-east-1",
		ctx: awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: "123456789012", Region: "us-east-1"}),
	}
	w.stop = func() {
		cancel()
		a.Wait(15 * time.Second)
	}
	t.Cleanup(func() {
		w.stop()
		// Whatever a failed test left behind.
		cs, _ := rt.List(context.Background(), map[string]string{agent.LabelHost: w.host})
		for _, c := range cs {
			rt.RemoveContainer(context.Background(), c.ID)
		}
		sbs, _ := rt.ListSandboxes(context.Background(), map[string]string{agent.LabelHost: w.host})
		for _, sb := range sbs {
			rt.RemoveSandbox(context.Background(), sb.ID)
		}
		vols, _ := rt.ListVolumes(context.Background(), map[string]string{agent.LabelHost: w.host})
		for _, v := range vols {
			rt.RemoveVolume(context.Background(), v.Name)
		}
		rt.Close()
		st.Close()
	})
	if _, err := svc.CreateCluster(w.ctx, &ecsapi.CreateClusterInput{ClusterName: ptr("default")}); err != nil {
		t.Fatal(err)
	}
	return w
}

// sink is the server's logs adapter, for tests.
type sink struct{ svc *logs.Service }

func (l sink) Append(ctx context.Context, account, region, group, stream string, events []logs.Event, create bool) error {
	return l.svc.Append(ctx, account, region, group, stream, events, create)
}

func (l sink) LastEventTime(ctx context.Context, account, region, group, stream string) (time.Time, error) {
	ctx = awsapi.WithIdentity(ctx, awsapi.Identity{AccountID: account, Region: region})
	out, err := l.svc.GetLogEvents(ctx, &logsapi.GetLogEventsInput{LogGroupName: &group, LogStreamName: &stream, Limit: ptr(int32(1))})
	if err != nil {
		if e := awsapi.AsError(err); e != nil && e.Code == "ResourceNotFoundException" {
			return time.Time{}, nil
		}
		return time.Time{}, err
	}
	if len(out.Events) == 0 {
		return time.Time{}, nil
	}
	return time.UnixMilli(*out.Events[0].Timestamp), nil
}

func ptr[T any](v T) *T { return &v }

// register registers a task definition of containers made by mk.
func (w *world) register(family string, mode ecsapi.NetworkMode, cs ...ecsapi.ContainerDefinition) {
	w.t.Helper()
	in := &ecsapi.RegisterTaskDefinitionInput{Family: ptr(family), ContainerDefinitions: cs}
	if mode != "" {
		in.NetworkMode = &mode
	}
	if mode == ecsapi.NetworkModeAwsvpc {
		in.Cpu, in.Memory = ptr("256"), ptr("512")
	}
	if _, err := w.svc.RegisterTaskDefinition(w.ctx, in); err != nil {
		w.t.Fatalf("RegisterTaskDefinition %s: %v", family, err)
	}
}

func (w *world) container(name string, cmd ...string) ecsapi.ContainerDefinition {
	return ecsapi.ContainerDefinition{Name: ptr(name), Image: ptr(w.image), Memory: ptr(int32(64)), Command: cmd}
}

func (w *world) run(family string, mutate ...func(*ecsapi.RunTaskInput)) string {
	w.t.Helper()
	in := &ecsapi.RunTaskInput{TaskDefinition: ptr(family)}
	for _, m := range mutate {
		m(in)
	}
	out, err := w.svc.RunTask(w.ctx, in)
	if err != nil || len(out.Tasks) != 1 {
		w.t.Fatalf("RunTask %s: %v %+v", family, err, out)
	}
	return *out.Tasks[0].TaskArn
}

func (w *world) describe(arn string) ecsapi.Task {
	w.t.Helper()
	out, err := w.svc.DescribeTasks(w.ctx, &ecsapi.DescribeTasksInput{Tasks: []string{arn}})
	if err != nil || len(out.Tasks) != 1 {
		w.t.Fatalf("DescribeTasks: %v %+v", err, out)
	}
	return out.Tasks[0]
}

// waitFor polls the task until ok says it is there, failing after d.
func (w *world) waitFor(arn string, d time.Duration, what string, ok func(ecsapi.Task) bool) ecsapi.Task {
	w.t.Helper()
	deadline := time.Now().Add(d)
	for {
		task := w.describe(arn)
		if ok(task) {
			return task
		}
		if time.Now().After(deadline) {
			doc, _ := json.MarshalIndent(task, "", "  ")
			w.t.Fatalf("task not %s after %s:\n%s", what, d, doc)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (w *world) waitStatus(arn, status string, d time.Duration) ecsapi.Task {
	w.t.Helper()
	return w.waitFor(arn, d, status, func(t ecsapi.Task) bool { return deref(t.LastStatus) == status })
}

func (w *world) containers(arn string) []runtime.ContainerInfo {
	w.t.Helper()
	cs, err := w.rt.List(context.Background(), map[string]string{agent.LabelTaskARN: arn})
	if err != nil {
		w.t.Fatal(err)
	}
	return cs
}

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

func httpGet(t *testing.T, url string) (int, string) {
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

// A bridge task serving HTTP on a dynamic host port: RUNNING with its
// binding, reachable, then stopped by the user with nothing left behind.
func TestBridgeTaskRunsAndStops(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	web := w.container("web", "serve")
	web.PortMappings = []ecsapi.PortMapping{{ContainerPort: ptr(int32(8080))}}
	web.Environment = []ecsapi.KeyValuePair{{Name: ptr("MESSAGE"), Value: ptr("hello")}}
	w.register("web", ecsapi.NetworkModeBridge, web)
	arn := w.run("web")
	task := w.waitStatus(arn, "RUNNING", 60*time.Second)
	c := task.Containers[0]
	if deref(c.LastStatus) != "RUNNING" || len(c.NetworkBindings) != 1 || deref(c.RuntimeId) == "" {
		t.Fatalf("container %+v", c)
	}
	nb := c.NetworkBindings[0]
	if deref(nb.ContainerPort) != 8080 || deref(nb.HostPort) == 0 || deref(nb.BindIP) != "0.0.0.0" {
		t.Fatalf("network binding %+v", nb)
	}
	for _, ts := range []*awsapi.Timestamp{task.PullStartedAt, task.PullStoppedAt, task.StartedAt, task.ConnectivityAt} {
		if ts == nil {
			t.Errorf("a timestamp is missing: %+v", task)
		}
	}
	code, body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", deref(nb.HostPort)))
	if code != 200 || !strings.Contains(body, `"message":"hello"`) {
		t.Fatalf("GET /: %d %s", code, body)
	}
	if _, err := w.svc.StopTask(w.ctx, &ecsapi.StopTaskInput{Task: &arn}); err != nil {
		t.Fatal(err)
	}
	task = w.waitStatus(arn, "STOPPED", 60*time.Second)
	if deref(task.StopCode) != "UserInitiated" || deref(task.StoppedReason) != "Task stopped by user" ||
		task.StoppingAt == nil || task.StoppedAt == nil || task.ExecutionStoppedAt == nil {
		t.Errorf("stopped task %+v", task)
	}
	if c := task.Containers[0]; c.ExitCode == nil || *c.ExitCode != 0 {
		t.Errorf("exit code %v, want 0 (the app handles SIGTERM)", c.ExitCode)
	}
	if cs := w.containers(arn); len(cs) != 0 {
		t.Errorf("%d containers left behind", len(cs))
	}
}

// An essential container exiting 3 stops the task: EssentialContainerExited,
// its exit code, and the others stopped with it.
func TestEssentialContainerExit(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	side := w.container("side", "sleep", "1h")
	side.Essential = ptr(false)
	w.register("crash", "", w.container("crasher", "exit", "3"), side)
	arn := w.run("crash")
	task := w.waitStatus(arn, "STOPPED", 60*time.Second)
	if deref(task.StopCode) != "EssentialContainerExited" || deref(task.StoppedReason) != "Essential container in task exited" {
		t.Errorf("stop code %q reason %q", deref(task.StopCode), deref(task.StoppedReason))
	}
	byName := map[string]ecsapi.Container{}
	for _, c := range task.Containers {
		byName[deref(c.Name)] = c
	}
	if c := byName["crasher"]; c.ExitCode == nil || *c.ExitCode != 3 || deref(c.LastStatus) != "STOPPED" {
		t.Errorf("crasher %+v", c)
	}
	if c := byName["side"]; c.ExitCode == nil || deref(c.LastStatus) != "STOPPED" {
		t.Errorf("side container %+v", c)
	}
	if cs := w.containers(arn); len(cs) != 0 {
		t.Errorf("%d containers left behind", len(cs))
	}
}

// An init container runs to completion (SUCCESS) before the app starts; a
// failing one stops the task with the reason.
func TestDependsOn(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	init := w.container("init", "print", "migrated")
	init.Essential = ptr(false)
	app := w.container("app", "serve")
	app.DependsOn = []ecsapi.ContainerDependency{{ContainerName: ptr("init"), Condition: ptr(ecsapi.ContainerConditionSuccess)}}
	w.register("chain", "", init, app)
	arn := w.run("chain")
	task := w.waitStatus(arn, "RUNNING", 60*time.Second)
	cs := w.containers(arn)
	var initInfo, appInfo runtime.ContainerInfo
	for _, c := range cs {
		switch c.Labels[agent.LabelContainerName] {
		case "init":
			initInfo = c
		case "app":
			appInfo = c
		}
	}
	if initInfo.State != runtime.StateExited || initInfo.ExitCode != 0 || appInfo.State != runtime.StateRunning {
		t.Fatalf("init %s/%d, app %s", initInfo.State, initInfo.ExitCode, appInfo.State)
	}
	if !appInfo.StartedAt.After(initInfo.FinishedAt) && !appInfo.StartedAt.Equal(initInfo.FinishedAt) {
		t.Errorf("app started at %v, before init finished at %v", appInfo.StartedAt, initInfo.FinishedAt)
	}
	if deref(task.Containers[0].LastStatus) != "STOPPED" || deref(task.Containers[0].ExitCode) != 0 {
		t.Errorf("init container %+v", task.Containers[0])
	}
	w.svc.StopTask(w.ctx, &ecsapi.StopTaskInput{Task: &arn})
	w.waitStatus(arn, "STOPPED", 60*time.Second)

	bad := w.container("init", "exit", "4")
	bad.Essential = ptr(false)
	w.register("badchain", "", bad, app)
	arn = w.run("badchain")
	task = w.waitStatus(arn, "STOPPED", 60*time.Second)
	if deref(task.StopCode) != "TaskFailedToStart" || !strings.Contains(deref(task.StoppedReason), "did not exit successfully (exit code 4)") {
		t.Errorf("stop code %q reason %q", deref(task.StopCode), deref(task.StoppedReason))
	}
	if c := task.Containers[1]; c.ExitCode != nil || !strings.Contains(deref(c.Reason), "DependencyConditionFailed") {
		t.Errorf("app container %+v", c)
	}
}

// Health checks: container and task health follow the checks.
func TestHealthCheck(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	good := w.container("web", "serve")
	good.HealthCheck = &ecsapi.HealthCheck{Command: []string{"CMD", "/app", "check", "http://127.0.0.1:8080/health"}, Interval: ptr(int32(5)), Retries: ptr(int32(1))}
	bad := w.container("web", "serve")
	bad.HealthCheck = &ecsapi.HealthCheck{Command: []string{"CMD", "/app", "check", "http://127.0.0.1:9/nothing"}, Interval: ptr(int32(5)), Retries: ptr(int32(1))}
	w.register("healthy", "", good)
	w.register("unhealthy", "", bad)
	ok, sick := w.run("healthy"), w.run("unhealthy")
	w.waitFor(ok, 60*time.Second, "HEALTHY", func(t ecsapi.Task) bool {
		return deref(t.HealthStatus) == "HEALTHY" && deref(t.Containers[0].HealthStatus) == "HEALTHY"
	})
	task := w.waitFor(sick, 60*time.Second, "UNHEALTHY", func(t ecsapi.Task) bool {
		return deref(t.HealthStatus) == "UNHEALTHY" && deref(t.Containers[0].HealthStatus) == "UNHEALTHY"
	})
	if deref(task.LastStatus) != "RUNNING" {
		t.Errorf("an unhealthy standalone task is %s, want RUNNING", deref(task.LastStatus))
	}
}

// A container that ignores SIGTERM is killed after its stopTimeout: 137.
func TestStopTimeout(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.container("stubborn", "sleep", "1h")
	c.Environment = []ecsapi.KeyValuePair{{Name: ptr("IGNORE_SIGTERM"), Value: ptr("1")}}
	c.StopTimeout = ptr(int32(2))
	w.register("stubborn", "", c)
	arn := w.run("stubborn")
	w.waitStatus(arn, "RUNNING", 60*time.Second)
	start := time.Now()
	w.svc.StopTask(w.ctx, &ecsapi.StopTaskInput{Task: &arn})
	task := w.waitStatus(arn, "STOPPED", 60*time.Second)
	if took := time.Since(start); took < 2*time.Second || took > 20*time.Second {
		t.Errorf("stopping took %s, want about the 2s stop timeout", took)
	}
	if c := task.Containers[0]; c.ExitCode == nil || *c.ExitCode != 137 {
		t.Errorf("exit code %v, want 137", c.ExitCode)
	}
}

// awslogs: a container's output lands in its stream, every line, even
// when the container exits right after writing it.
func TestAwslogs(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.container("printer", "print", "hello", "from", "the", "task")
	c.LogConfiguration = &ecsapi.LogConfiguration{LogDriver: ptr(ecsapi.LogDriverAwslogs), Options: map[string]string{
		"awslogs-group": "/ecs/printer", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true",
	}}
	w.register("printer", "", c)
	arn := w.run("printer")
	w.waitStatus(arn, "STOPPED", 60*time.Second)
	stream := "ecs/printer/" + arn[strings.LastIndex(arn, "/")+1:]
	out, err := w.logs.GetLogEvents(w.ctx, &logsapi.GetLogEventsInput{LogGroupName: ptr("/ecs/printer"), LogStreamName: &stream, StartFromHead: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range out.Events {
		lines = append(lines, deref(e.Message))
	}
	if len(lines) != 2 || lines[0] != "hello from the task" || !strings.Contains(lines[1], "printed") {
		t.Errorf("log events %q", lines)
	}

	// Without awslogs-create-group, a missing group keeps the container
	// from starting, as the awslogs driver does.
	c.LogConfiguration.Options = map[string]string{"awslogs-group": "/ecs/missing", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}
	w.register("nogroup", "", c)
	arn = w.run("nogroup")
	task := w.waitStatus(arn, "STOPPED", 60*time.Second)
	if !strings.Contains(deref(task.StoppedReason), "ResourceNotFoundException: The specified log group does not exist.") {
		t.Errorf("stopped reason %q", deref(task.StoppedReason))
	}
}

// A task whose image cannot be pulled fails with CannotPullContainerError.
func TestPullFailure(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.container("ghost", "serve")
	c.Image = ptr("127.0.0.1:1/does/not-exist:v1")
	w.register("ghost", "", c)
	arn := w.run("ghost")
	task := w.waitStatus(arn, "STOPPED", 60*time.Second)
	if deref(task.StopCode) != "TaskFailedToStart" || !strings.HasPrefix(deref(task.StoppedReason), "CannotPullContainerError: ") {
		t.Errorf("stop code %q reason %q", deref(task.StopCode), deref(task.StoppedReason))
	}
	if c := task.Containers[0]; !strings.HasPrefix(deref(c.Reason), "CannotPullContainerError: ") {
		t.Errorf("container reason %q", deref(c.Reason))
	}
	t.Logf("reason: %s", deref(task.StoppedReason))
}

// awsvpc: the task has its own IP, shown in its ENI attachment, and its
// containers reach each other on localhost.
func TestAWSVPC(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	web := w.container("web", "serve")
	web.PortMappings = []ecsapi.PortMapping{{ContainerPort: ptr(int32(8080))}}
	probe := w.container("probe", "check", "http://localhost:8080/health")
	probe.Essential = ptr(false)
	probe.DependsOn = []ecsapi.ContainerDependency{{ContainerName: ptr("web"), Condition: ptr(ecsapi.ContainerConditionStart)}}
	w.register("vpc", ecsapi.NetworkModeAwsvpc, web, probe)
	arn := w.run("vpc", func(in *ecsapi.RunTaskInput) {
		in.NetworkConfiguration = &ecsapi.NetworkConfiguration{AwsvpcConfiguration: &ecsapi.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}
	})
	task := w.waitStatus(arn, "RUNNING", 60*time.Second)
	var ip string
	for _, d := range task.Attachments[0].Details {
		if deref(d.Name) == "privateIPv4Address" {
			ip = deref(d.Value)
		}
	}
	if ip == "" || deref(task.Attachments[0].Status) != "ATTACHED" {
		t.Fatalf("attachment %+v", task.Attachments)
	}
	code, _ := httpGet(t, "http://"+ip+":8080/health")
	if code != 200 {
		t.Errorf("GET the task's IP: %d", code)
	}
	w.waitFor(arn, 30*time.Second, "probe done", func(t ecsapi.Task) bool { return deref(t.Containers[1].LastStatus) == "STOPPED" })
	if c := w.describe(arn).Containers[1]; deref(c.ExitCode) != 0 {
		t.Errorf("the probe on localhost exited %d", deref(c.ExitCode))
	}
	w.svc.StopTask(w.ctx, &ecsapi.StopTaskInput{Task: &arn})
	w.waitStatus(arn, "STOPPED", 60*time.Second)
	sbs, _ := w.rt.ListSandboxes(context.Background(), map[string]string{agent.LabelTaskARN: arn})
	if len(sbs) != 0 || len(w.containers(arn)) != 0 {
		t.Errorf("left behind: %d sandboxes, %d containers", len(sbs), len(w.containers(arn)))
	}
}

// restart replaces the world's agent with a new one on the same state, as
// a Berth restarted after kill -9 would.
func (w *world) restart(t *testing.T) {
	w.stop()
	a, err := agent.New(agent.Options{
		Host: w.host, Tasks: w.svc, Runtime: w.rt, Logs: sink{w.logs},
		Secrets: resolve.Resolver{Store: w.st}, Resync: 2 * time.Second, LogFlush: 50 * time.Millisecond,
		PullBehavior: agent.PullPreferCached,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.svc.SetNotifier(a)
	ctx, cancel := context.WithCancel(context.Background())
	go a.Run(ctx)
	w.agent = a
	w.stop = func() {
		cancel()
		a.Wait(15 * time.Second)
	}
}

// An agent that went away and came back re-adopts the running task, stops
// the one whose container died meanwhile, and removes an orphan.
func TestReadoption(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.register("keep", "", w.container("web", "serve"))
	w.register("dies", "", w.container("web", "serve"))
	keep, dies := w.run("keep"), w.run("dies")
	w.waitStatus(keep, "RUNNING", 60*time.Second)
	w.waitStatus(dies, "RUNNING", 60*time.Second)
	w.stop()

	kill := w.containers(dies)[0]
	if err := w.rt.StopContainer(context.Background(), kill.ID, 0); err != nil {
		t.Fatal(err)
	}
	// An orphan: a container of this host whose task is unknown.
	orphan, err := w.rt.CreateContainer(context.Background(), runtime.ContainerSpec{
		Name: "orphan-" + randHex(4), Image: w.image, Command: []string{"sleep"},
		Labels: map[string]string{agent.LabelHost: w.host, agent.LabelTaskARN: "arn:aws:ecs:us-east-1:123456789012:task/default/0123"},
	})
	if err != nil {
		t.Fatal(err)
	}
	w.restart(t)

	task := w.waitStatus(dies, "STOPPED", 60*time.Second)
	if deref(task.StopCode) != "EssentialContainerExited" || task.Containers[0].ExitCode == nil {
		t.Errorf("task whose container died: %q %q exit %v", deref(task.StopCode), deref(task.StoppedReason), task.Containers[0].ExitCode)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := w.rt.InspectContainer(context.Background(), orphan); runtime.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the orphan was not removed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := w.describe(keep); deref(got.LastStatus) != "RUNNING" {
		t.Fatalf("re-adopted task is %s", deref(got.LastStatus))
	}
	if cs := w.containers(keep); len(cs) != 1 || cs[0].State != runtime.StateRunning {
		t.Fatalf("re-adopted containers %+v", cs)
	}
	w.svc.StopTask(w.ctx, &ecsapi.StopTaskInput{Task: &keep})
	w.waitStatus(keep, "STOPPED", 60*time.Second)
	if cs := w.containers(keep); len(cs) != 0 {
		t.Errorf("%d containers left", len(cs))
	}
}
