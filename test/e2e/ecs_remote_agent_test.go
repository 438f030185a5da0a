package e2e

// `berth agent`: a second process of the berth binary joins a cluster the
// way an ECS host does (RegisterContainerInstance, then ListTasks,
// DescribeTasks and SubmitTaskStateChange over the API), and runs the tasks
// placed on its container instance on the same Docker engine as Berth's
// own in-process agent, neither touching the other's containers.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

// remoteAgent is a running `berth agent` process.
type remoteAgent struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startRemoteAgent(t *testing.T, b *harness.Berth, cluster, stateDir string) *remoteAgent {
	t.Helper()
	cmd := exec.Command(harness.BerthBinary(t), "agent", "--endpoint", b.Endpoint(), "--cluster", cluster,
		"--region", b.Region(), "--state-dir", stateDir)
	cmd.Env = b.AWSEnv()
	a := &remoteAgent{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = a.out, a.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		a.signal(syscall.SIGTERM)
		if t.Failed() {
			t.Logf("berth agent log:\n%s", a.out.String())
		}
	})
	return a
}

// signal sends sig and waits for the process to end.
func (a *remoteAgent) signal(sig syscall.Signal) {
	select {
	case <-a.done:
		return
	default:
	}
	a.cmd.Process.Signal(sig)
	select {
	case <-a.done:
	case <-time.After(20 * time.Second):
		a.cmd.Process.Kill()
		<-a.done
	}
}

type remoteInstance struct {
	ContainerInstanceArn, Ec2InstanceId, Status string
	AgentConnected                              bool
	RegisteredResources                         []struct {
		Name           string
		IntegerValue   int
		StringSetValue []string
	}
	VersionInfo struct{ AgentVersion, DockerVersion string }
	Attributes  []struct{ Name, Value string }
}

// remoteInstanceOf waits for the agent's container instance (the one whose
// ec2InstanceId is the id in its state directory) to be listed.
func remoteInstanceOf(t *testing.T, b *harness.Berth, a *remoteAgent, cluster, stateDir string) remoteInstance {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st struct{ InstanceID, ContainerInstanceArn string }
		if data, err := os.ReadFile(filepath.Join(stateDir, "agent-state.json")); err == nil {
			json.Unmarshal(data, &st)
		}
		if st.ContainerInstanceArn != "" {
			var list struct{ ContainerInstanceArns []string }
			b.AWS(t, "ecs", "list-container-instances", "--cluster", cluster).Must(t).JSON(t, &list)
			var desc struct{ ContainerInstances []remoteInstance }
			b.AWS(t, append([]string{"ecs", "describe-container-instances", "--cluster", cluster, "--container-instances"},
				list.ContainerInstanceArns...)...).Must(t).JSON(t, &desc)
			for _, in := range desc.ContainerInstances {
				if in.Ec2InstanceId == st.InstanceID {
					if in.ContainerInstanceArn != st.ContainerInstanceArn {
						t.Fatalf("instance %s listed as %s, the agent keeps %s", st.InstanceID, in.ContainerInstanceArn, st.ContainerInstanceArn)
					}
					return in
				}
			}
		}
		select {
		case <-a.done:
			t.Fatalf("berth agent exited:\n%s", a.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent's container instance is not listed:\n%s", a.out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestECSRemoteAgent(t *testing.T) {
	t.Parallel()
	harness.RequireDocker(t)
	// The in-process agent sweeps orphans every second: it must leave the
	// remote agent's containers alone.
	b := harness.Start(t, harness.WithEnv("BERTH_AGENT_RESYNC=1s", "BERTH_AGENT_TIMEOUT=3s"))
	uri := createRepo(t, b, uniqueName("remote/app")) + ":v1"
	pushImage(t, uri, harness.TestImage(t, "remote"), registryAuth(t, b))
	t.Cleanup(func() { harness.Docker(t, "rmi", uri) })
	b.AWS(t, "ecs", "create-cluster", "--cluster-name", "remote").Must(t)

	stateDir := t.TempDir()
	agent := startRemoteAgent(t, b, "remote", stateDir)
	in := remoteInstanceOf(t, b, agent, "remote", stateDir)
	host := in.Ec2InstanceId
	t.Cleanup(func() {
		ids := strings.Fields(harness.Docker(t, "ps", "-aq", "--filter", "label=berth.agent.host="+host).Stdout)
		if len(ids) > 0 {
			harness.Docker(t, append([]string{"rm", "-f"}, ids...)...)
		}
	})
	if in.Status != "ACTIVE" || !in.AgentConnected {
		t.Errorf("remote instance: %+v", in)
	}
	var info struct {
		NCPU     int
		MemTotal int64
	}
	harness.Docker(t, "info", "--format", "{{json .}}").Must(t).JSON(t, &info)
	res := map[string]int{}
	for _, r := range in.RegisteredResources {
		res[r.Name] = r.IntegerValue
		if r.Name == "PORTS" && !strings.Contains(strings.Join(r.StringSetValue, ","), "51678") {
			t.Errorf("reserved ports: %v", r.StringSetValue)
		}
	}
	if res["CPU"] != info.NCPU*1024 || int64(res["MEMORY"]) != info.MemTotal>>20 {
		t.Errorf("registered resources %v, engine has %d CPUs and %d MiB", res, info.NCPU, info.MemTotal>>20)
	}
	if !strings.HasPrefix(in.VersionInfo.DockerVersion, "DockerVersion: ") || in.VersionInfo.AgentVersion != "test" {
		t.Errorf("versionInfo: %+v", in.VersionInfo)
	}
	attrs := map[string]string{}
	for _, a := range in.Attributes {
		attrs[a.Name] = a.Value
	}
	if _, ok := attrs["ecs.capability.execution-role-awslogs"]; !ok || attrs["ecs.os-type"] != "linux" {
		t.Errorf("attributes: %v", attrs)
	}

	b.AWS(t, "ecs", "register-task-definition", "--cli-input-json", fmt.Sprintf(`{"family": "remote-sleeper",
  "requiresCompatibilities": ["EC2"], "networkMode": "bridge", "containerDefinitions": [{
  "name": "app", "image": %q, "memory": 64, "command": ["sleep", "1h"], "portMappings": [{"containerPort": 8080}],
  "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/remote", "awslogs-region": %q,
    "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true"}}}]}`, uri, b.Region())).Must(t)
	var started struct {
		Tasks    []tkTask
		Failures []struct{ Arn, Reason string }
	}
	b.AWS(t, "ecs", "start-task", "--cluster", "remote", "--task-definition", "remote-sleeper",
		"--container-instances", in.ContainerInstanceArn).Must(t).JSON(t, &started)
	if len(started.Tasks) != 1 {
		t.Fatalf("start-task: %+v", started)
	}
	arn := started.Tasks[0].TaskArn
	tkCleanup(t, arn)
	describe := func() tkTask {
		t.Helper()
		var out struct{ Tasks []tkTask }
		b.AWS(t, "ecs", "describe-tasks", "--cluster", "remote", "--tasks", arn).Must(t).JSON(t, &out)
		if len(out.Tasks) != 1 {
			t.Fatalf("describe-tasks: %+v", out)
		}
		return out.Tasks[0]
	}
	if r := b.AWS(t, "ecs", "wait", "tasks-running", "--cluster", "remote", "--tasks", arn); r.ExitCode != 0 {
		t.Fatalf("wait tasks-running: %s\n%+v\n%s", r.Stderr, describe(), agent.out.String())
	}
	running := describe()
	app := running.container("app")
	if app.LastStatus != "RUNNING" || app.RuntimeId == "" || len(app.NetworkBindings) != 1 || app.NetworkBindings[0].HostPort == 0 ||
		running.PullStartedAt == nil || running.StartedAt == nil {
		t.Errorf("running task: %+v", running)
	}
	// The container is the remote agent's: labelled with its host id.
	ids := strings.Fields(harness.Docker(t, "ps", "-q", "--no-trunc", "--filter", "label=berth.agent.host="+host,
		"--filter", "label=com.amazonaws.ecs.task-arn="+arn).Must(t).Stdout)
	if len(ids) != 1 || ids[0] != app.RuntimeId {
		t.Fatalf("containers of the remote host: %v, runtimeId %s", ids, app.RuntimeId)
	}
	startedAt := strings.TrimSpace(harness.Docker(t, "inspect", "--format", "{{.State.StartedAt}}", app.RuntimeId).Must(t).Stdout)

	// kill -9 the agent: once it has been silent for the timeout its
	// instance shows agentConnected false. Start it again on the same state
	// directory: the same container instance, connected again, the task
	// re-adopted, not restarted. Several of the in-process agent's
	// one-second sweeps pass meanwhile.
	agent.signal(syscall.SIGKILL)
	connected := func() bool {
		var desc struct{ ContainerInstances []remoteInstance }
		b.AWS(t, "ecs", "describe-container-instances", "--cluster", "remote", "--container-instances", in.ContainerInstanceArn).Must(t).JSON(t, &desc)
		return len(desc.ContainerInstances) == 1 && desc.ContainerInstances[0].AgentConnected
	}
	for deadline := time.Now().Add(30 * time.Second); connected(); time.Sleep(time.Second) {
		if time.Now().After(deadline) {
			t.Fatalf("the instance of a killed agent still shows agentConnected true after 30 s (timeout 3 s)")
		}
	}
	agent = startRemoteAgent(t, b, "remote", stateDir)
	again := remoteInstanceOf(t, b, agent, "remote", stateDir)
	if again.ContainerInstanceArn != in.ContainerInstanceArn || again.Ec2InstanceId != host || !again.AgentConnected {
		t.Errorf("after the restart: instance %s (%s), was %s (%s)", again.ContainerInstanceArn, again.Ec2InstanceId, in.ContainerInstanceArn, host)
	}
	var list struct{ ContainerInstanceArns []string }
	b.AWS(t, "ecs", "list-container-instances", "--cluster", "remote").Must(t).JSON(t, &list)
	if len(list.ContainerInstanceArns) != 2 { // the local host's and the remote one
		t.Errorf("container instances after the restart: %v", list.ContainerInstanceArns)
	}
	time.Sleep(3 * time.Second)
	if task := describe(); task.LastStatus != "RUNNING" || task.container("app").RuntimeId != app.RuntimeId {
		t.Fatalf("after the agent's restart: %+v", task)
	}
	if now := strings.TrimSpace(harness.Docker(t, "inspect", "--format", "{{.State.StartedAt}}", app.RuntimeId).Must(t).Stdout); now != startedAt {
		t.Errorf("the container was restarted: started %s, then %s", startedAt, now)
	}

	b.AWS(t, "ecs", "stop-task", "--cluster", "remote", "--task", arn).Must(t)
	if r := b.AWS(t, "ecs", "wait", "tasks-stopped", "--cluster", "remote", "--tasks", arn); r.ExitCode != 0 {
		t.Fatalf("wait tasks-stopped: %s\n%+v\n%s", r.Stderr, describe(), agent.out.String())
	}
	stopped := describe()
	if c := stopped.container("app"); stopped.StopCode != "UserInitiated" || c.ExitCode == nil || *c.ExitCode != 0 ||
		stopped.ExecutionStoppedAt == nil || stopped.StoppedAt == nil {
		t.Errorf("stopped task: %+v", stopped)
	}
	if left := tkContainersOf(t, arn); len(left) != 0 {
		t.Errorf("containers left behind: %v", left)
	}

	// Its output reached CloudWatch Logs through PutLogEvents, up to the
	// SIGTERM of stop-task.
	stream := "ecs/app/" + arn[strings.LastIndex(arn, "/")+1:]
	var events struct{ Events []struct{ Message string } }
	b.AWS(t, "logs", "get-log-events", "--log-group-name", "/ecs/remote", "--log-stream-name", stream,
		"--start-from-head").Must(t).JSON(t, &events)
	var lines []string
	for _, e := range events.Events {
		lines = append(lines, e.Message)
	}
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "testapp remote sleeping") || lines[1] != "testapp: SIGTERM" {
		t.Errorf("get-log-events: %q", lines)
	}

	// The agent reports stop codes: a task whose essential container exits.
	b.AWS(t, "ecs", "register-task-definition", "--cli-input-json", fmt.Sprintf(`{"family": "remote-exit",
  "requiresCompatibilities": ["EC2"], "containerDefinitions": [{"name": "app", "image": %q, "memory": 64,
  "command": ["exit", "3"]}]}`, uri)).Must(t)
	// Placed by run-task with a memberOf constraint on the instance id.
	started.Tasks = nil
	b.AWS(t, "ecs", "run-task", "--cluster", "remote", "--task-definition", "remote-exit", "--launch-type", "EC2",
		"--placement-constraints", "type=memberOf,expression=ec2InstanceId == "+host).Must(t).JSON(t, &started)
	if len(started.Tasks) != 1 {
		t.Fatalf("start-task: %+v", started)
	}
	arn = started.Tasks[0].TaskArn
	tkCleanup(t, arn)
	if r := b.AWS(t, "ecs", "wait", "tasks-stopped", "--cluster", "remote", "--tasks", arn); r.ExitCode != 0 {
		t.Fatalf("wait tasks-stopped: %s\n%+v", r.Stderr, describe())
	}
	exited := describe()
	var placed struct {
		Tasks []struct{ ContainerInstanceArn string }
	}
	b.AWS(t, "ecs", "describe-tasks", "--cluster", "remote", "--tasks", arn).Must(t).JSON(t, &placed)
	if len(placed.Tasks) != 1 || placed.Tasks[0].ContainerInstanceArn != in.ContainerInstanceArn {
		t.Errorf("run-task placed the task on %+v, not on the remote instance %s", placed.Tasks, in.ContainerInstanceArn)
	}
	if c := exited.container("app"); exited.StopCode != "EssentialContainerExited" ||
		exited.StoppedReason != "Essential container in task exited" || c.ExitCode == nil || *c.ExitCode != 3 {
		t.Errorf("exited task: %+v", exited)
	}
	if strings.Contains(b.Log(), "removing a container of no running task") {
		t.Errorf("the in-process agent removed a container:\n%s", b.Log())
	}
}
