package e2e

// The task identity story: a program in an ECS task, using aws-sdk-go-v2
// with nothing but the environment Berth gives its container, learns the
// task role it runs as (sts GetCallerIdentity with the credentials the
// credentials endpoint vends) and its own task ARN (task metadata endpoint
// v4), in a Fargate (awsvpc) task and in an EC2 (bridge) task.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

const ecsTaskTrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
	`"Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

type identityTask struct {
	TaskArn, LastStatus, StopCode, StoppedReason string
	Containers                                   []struct {
		Name, LastStatus, Reason, RuntimeId string
		ExitCode                            *int
	}
}

func TestECSTaskIdentity(t *testing.T) {
	harness.RequireDocker(t)
	b := harness.Start(t)
	var me struct{ Account string }
	b.AWS(t, "sts", "get-caller-identity").Must(t).JSON(t, &me)

	var role struct {
		Role struct{ Arn, RoleName string }
	}
	b.AWS(t, "iam", "create-role", "--role-name", "whoami-task",
		"--assume-role-policy-document", ecsTaskTrustPolicy).Must(t).JSON(t, &role)
	var execRole struct{ Role struct{ Arn string } }
	b.AWS(t, "iam", "create-role", "--role-name", "whoami-execution",
		"--assume-role-policy-document", ecsTaskTrustPolicy).Must(t).JSON(t, &execRole)
	uri := createRepo(t, b, uniqueName("identity/whoami"))
	pushImage(t, uri+":v1", harness.TestImage(t, "whoami"), registryAuth(t, b))
	b.AWS(t, "ecs", "create-cluster", "--cluster-name", "identity").Must(t)

	cases := []struct {
		name, family, mode, compat, launch string
		runArgs                            []string
	}{
		{"fargate-awsvpc", "whoami-fargate", "awsvpc", "FARGATE", "FARGATE",
			[]string{"--network-configuration", "awsvpcConfiguration={subnets=[" + defaultSubnets(t, b)[0] + "]}"}},
		{"ec2-bridge", "whoami-ec2", "bridge", "EC2", "EC2", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			def := fmt.Sprintf(`{
  "family": %q, "networkMode": %q, "requiresCompatibilities": [%q],
  "cpu": "256", "memory": "512", "taskRoleArn": %q, "executionRoleArn": %q,
  "containerDefinitions": [{
    "name": "whoami", "image": %q, "essential": true, "command": ["whoami", "10m"],
    "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/whoami",
      "awslogs-region": "us-east-1", "awslogs-stream-prefix": %q, "awslogs-create-group": "true"}}
  }]
}`, tc.family, tc.mode, tc.compat, role.Role.Arn, execRole.Role.Arn, uri+":v1", tc.name)
			b.AWS(t, "ecs", "register-task-definition", "--cli-input-json", def).Must(t)
			var run struct{ Tasks []identityTask }
			b.AWS(t, append([]string{"ecs", "run-task", "--cluster", "identity", "--task-definition", tc.family,
				"--launch-type", tc.launch}, tc.runArgs...)...).Must(t).JSON(t, &run)
			if len(run.Tasks) != 1 {
				t.Fatalf("run-task: %+v", run)
			}
			arn := run.Tasks[0].TaskArn
			taskID := arn[strings.LastIndex(arn, "/")+1:]
			running := describeWhenRunning(t, b, "identity", arn)

			// whoami stays up after printing, so its output is read from
			// the container itself (what awslogs makes of it is the log
			// shipper's story, checked there).
			out := containerOutput(t, b, running.Containers[0].RuntimeId, "whoami task=")
			wantARN := fmt.Sprintf("whoami arn=arn:aws:sts::%s:assumed-role/%s/%s account=%s ",
				me.Account, role.Role.RoleName, taskID, me.Account)
			if !strings.Contains(out, wantARN) {
				t.Errorf("the task's output does not show its role session %q:\n%s", wantARN, out)
			}
			wantTask := fmt.Sprintf("whoami task=%s family=%s revision=1 status=RUNNING", arn, tc.family)
			if !strings.Contains(out, wantTask) {
				t.Errorf("the task's output does not show its own ARN %q:\n%s", wantTask, out)
			}

			b.AWS(t, "ecs", "stop-task", "--cluster", "identity", "--task", arn).Must(t)
			task := waitStopped(t, b, "identity", arn)
			if c := task.Containers; len(c) != 1 || c[0].ExitCode == nil || *c[0].ExitCode != 0 {
				t.Errorf("whoami did not exit 0: %+v (%s: %s)", task.Containers, task.StopCode, task.StoppedReason)
			}
			if logs := taskOutput(t, b, "/ecs/whoami", tc.name+"/whoami/"+taskID, "whoami task="); !strings.Contains(logs, wantTask) {
				t.Logf("NOTE: awslogs stream %s/whoami/%s lacks whoami's output (log shipping):\n%s", tc.name, taskID, logs)
			}
		})
	}

	// botocore has its own rule for which credentials URLs it accepts; the
	// environment of a task's container passes it too, from the host, which
	// reaches the task endpoints as containers do.
	t.Run("boto3-and-restart", func(t *testing.T) {
		python, err := exec.LookPath("python3")
		if err != nil || exec.Command(python, "-c", "import boto3").Run() != nil {
			t.Skip("python3 with boto3 is not installed")
		}
		def := fmt.Sprintf(`{"family": "sleeper", "networkMode": "bridge", "taskRoleArn": %q,
  "containerDefinitions": [{"name": "sleeper", "image": %q, "memory": 64, "command": ["sleep", "5m"]}]}`,
			role.Role.Arn, uri+":v1")
		b.AWS(t, "ecs", "register-task-definition", "--cli-input-json", def).Must(t)
		var run struct{ Tasks []identityTask }
		b.AWS(t, "ecs", "run-task", "--cluster", "identity", "--task-definition", "sleeper").Must(t).JSON(t, &run)
		if len(run.Tasks) != 1 {
			t.Fatalf("run-task: %+v", run)
		}
		arn := run.Tasks[0].TaskArn
		t.Cleanup(func() { b.AWS(t, "ecs", "stop-task", "--cluster", "identity", "--task", arn) })
		b.AWS(t, "ecs", "wait", "tasks-running", "--cluster", "identity", "--tasks", arn).Must(t)
		var desc struct{ Tasks []identityTask }
		b.AWS(t, "ecs", "describe-tasks", "--cluster", "identity", "--tasks", arn).Must(t).JSON(t, &desc)
		if len(desc.Tasks) != 1 || len(desc.Tasks[0].Containers) != 1 || desc.Tasks[0].Containers[0].RuntimeId == "" {
			t.Fatalf("describe-tasks: %+v", desc)
		}
		var inspected []struct{ Config struct{ Env []string } }
		if err := json.Unmarshal([]byte(b.Docker(t, "inspect", desc.Tasks[0].Containers[0].RuntimeId).Must(t).Stdout), &inspected); err != nil || len(inspected) != 1 {
			t.Fatalf("docker inspect: %v", err)
		}
		env := []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"),
			"AWS_CONFIG_FILE=" + filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(t.TempDir(), "none")}
		for _, kv := range inspected[0].Config.Env {
			if strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "ECS_") {
				env = append(env, kv)
			}
		}
		script := `import boto3
s = boto3.session.Session()
c = s.get_credentials()
print("method", c.method)
print("arn", s.client("sts").get_caller_identity()["Arn"])
`
		taskID := arn[strings.LastIndex(arn, "/")+1:]
		wantARN := fmt.Sprintf("arn arn:aws:sts::%s:assumed-role/whoami-task/%s", me.Account, taskID)
		boto3 := func() string {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, python, "-c", script)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("boto3 with the task's environment %v: %v\n%s", env, err, out)
			}
			return string(out)
		}
		if out := boto3(); !strings.Contains(out, "method container-role") || !strings.Contains(out, wantARN) {
			t.Errorf("boto3 with the task's environment:\n%s", out)
		}

		// Berth dies and comes back: the task runs on, re-adopted, and its
		// endpoints answer at the URLs its container was started with.
		b.Kill()
		b.Restart()
		if out := boto3(); !strings.Contains(out, wantARN) {
			t.Errorf("boto3 with the task's environment after a restart:\n%s", out)
		}
		metadata := ""
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "ECS_CONTAINER_METADATA_URI_V4="); ok {
				metadata = v
			}
		}
		var task struct{ TaskARN, KnownStatus string }
		var lastErr error
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := http.Get(metadata + "/task")
			if err == nil {
				err = json.NewDecoder(resp.Body).Decode(&task)
				resp.Body.Close()
			}
			lastErr = err
			if task.TaskARN == arn || time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if task.TaskARN != arn || task.KnownStatus != "RUNNING" {
			t.Errorf("task metadata after a restart: %+v (%v)", task, lastErr)
		}

		// Docker's stats, as ECS serves them: the container's, and the
		// task's by Docker id.
		dockerID := desc.Tasks[0].Containers[0].RuntimeId
		var stats struct {
			ID          string          `json:"id"`
			CPUStats    json.RawMessage `json:"cpu_stats"`
			MemoryStats json.RawMessage `json:"memory_stats"`
		}
		var taskStats map[string]json.RawMessage
		for path, v := range map[string]any{"/stats": &stats, "/task/stats": &taskStats} {
			resp, err := http.Get(metadata + path)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.NewDecoder(resp.Body).Decode(v); err != nil || resp.StatusCode != 200 {
				t.Errorf("GET %s: %s %v", path, resp.Status, err)
			}
			resp.Body.Close()
		}
		if stats.ID != dockerID || len(stats.CPUStats) == 0 || len(stats.MemoryStats) == 0 {
			t.Errorf("container stats: %+v", stats)
		}
		if len(taskStats) != 1 || taskStats[dockerID] == nil {
			t.Errorf("task stats keyed %v, want %s", taskStats, dockerID)
		}
	})
}

// describeWhenRunning waits until a task runs and describes it.
func describeWhenRunning(t *testing.T, b *harness.Berth, cluster, arn string) identityTask {
	t.Helper()
	if r := b.AWS(t, "ecs", "wait", "tasks-running", "--cluster", cluster, "--tasks", arn); r.ExitCode != 0 {
		t.Fatalf("the task did not run: %s\n%s", r.Stderr,
			b.AWS(t, "ecs", "describe-tasks", "--cluster", cluster, "--tasks", arn).Stdout)
	}
	var desc struct{ Tasks []identityTask }
	b.AWS(t, "ecs", "describe-tasks", "--cluster", cluster, "--tasks", arn).Must(t).JSON(t, &desc)
	if len(desc.Tasks) != 1 || len(desc.Tasks[0].Containers) != 1 || desc.Tasks[0].Containers[0].RuntimeId == "" {
		t.Fatalf("describe-tasks: %+v", desc)
	}
	return desc.Tasks[0]
}

// waitStopped waits until a task stopped and describes it.
func waitStopped(t *testing.T, b *harness.Berth, cluster, arn string) identityTask {
	t.Helper()
	if r := b.AWS(t, "ecs", "wait", "tasks-stopped", "--cluster", cluster, "--tasks", arn); r.ExitCode != 0 {
		t.Fatalf("the task did not stop: %s", r.Stderr)
	}
	var desc struct{ Tasks []identityTask }
	b.AWS(t, "ecs", "describe-tasks", "--cluster", cluster, "--tasks", arn).Must(t).JSON(t, &desc)
	if len(desc.Tasks) != 1 {
		t.Fatalf("describe-tasks: %+v", desc)
	}
	return desc.Tasks[0]
}

// containerOutput reads a running container's output until a line with
// want (or a whoami error) shows, for up to a minute.
func containerOutput(t *testing.T, b *harness.Berth, id, want string) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		r := b.Docker(t, "logs", id)
		out := r.Stdout + r.Stderr
		if strings.Contains(out, want) || strings.Contains(out, "whoami: ") || time.Now().After(deadline) {
			return out
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// taskOutput reads a task container's awslogs stream until a line with
// want shows (the agent ships output shortly after it is written).
func taskOutput(t *testing.T, b *harness.Berth, group, stream, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var out strings.Builder
	for {
		out.Reset()
		var events struct{ Events []struct{ Message string } }
		r := b.AWS(t, "logs", "get-log-events", "--log-group-name", group, "--log-stream-name", stream)
		if r.ExitCode == 0 {
			r.JSON(t, &events)
			for _, e := range events.Events {
				out.WriteString(e.Message)
				out.WriteString("\n")
			}
		}
		if strings.Contains(out.String(), want) || time.Now().After(deadline) {
			return out.String()
		}
		time.Sleep(500 * time.Millisecond)
	}
}
