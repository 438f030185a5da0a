package e2e

// Task-level memory is the task's, not each container's: a Fargate task of
// 512 MiB whose two containers (no memory of their own) each take 300 MiB
// is stopped with ECS's OutOfMemoryError, and one whose containers fit
// keeps running, both containers and the task's pause container inside
// one cgroup with the task's limit.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

// tlFargate registers a Fargate task definition of 256 CPU units and 512
// MiB whose two essential containers allocate mib MiB each, and runs it.
func tlFargate(t *testing.T, b *harness.Berth, img, family string, mib int) string {
	t.Helper()
	ctr := func(name string) string {
		return fmt.Sprintf(`{"name": %q, "image": %q, "essential": true, "command": ["alloc", "%d"]}`, name, img, mib)
	}
	tkRegister(t, b.AWSv2, fmt.Sprintf(`{"family": %q, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
  "cpu": "256", "memory": "512", "containerDefinitions": [%s, %s]}`, family, ctr("first"), ctr("second")))
	return tkRun(t, b.AWSv2, "--task-definition", family, "--launch-type", "FARGATE",
		"--network-configuration", "awsvpcConfiguration={subnets=["+defaultSubnets(t, b)[0]+"]}")
}

// tlRequireTaskCgroups skips where Berth (as its log says) caps each
// container instead of making task cgroups: not root, a remote engine, the
// systemd driver.
func tlRequireTaskCgroups(t *testing.T, b *harness.Berth) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		log := b.Log()
		if strings.Contains(log, "one cgroup per task") {
			return
		}
		if i := strings.Index(log, "cap each container"); i >= 0 {
			line := log[i:]
			if j := strings.IndexByte(line, '\n'); j >= 0 {
				line = line[:j]
			}
			t.Skipf("Berth enforces task limits per container on this host: %s", line)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("Berth's log does not say how task limits are enforced:\n%s", b.Log())
}

func TestECSTaskLimitsOutOfMemory(t *testing.T) {
	t.Parallel()
	b, img := tkSetup(t)
	arn := tlFargate(t, b, img, "hungry", 300)
	tlRequireTaskCgroups(t, b)
	task := tkWait(t, b.AWSv2, "tasks-stopped", arn)
	if task.StopCode != "EssentialContainerExited" || task.StoppedReason != "Essential container in task exited" {
		t.Errorf("stopped task: code %q reason %q", task.StopCode, task.StoppedReason)
	}
	var oom []string
	for _, c := range task.Containers {
		if c.LastStatus != "STOPPED" {
			t.Errorf("container %s: %s, want STOPPED", c.Name, c.LastStatus)
		}
		if strings.HasPrefix(c.Reason, "OutOfMemoryError: Container killed due to memory usage") {
			oom = append(oom, c.Name)
			if c.ExitCode == nil || *c.ExitCode != 137 {
				t.Errorf("container %s killed for memory: exit code %s, want 137", c.Name, tlCode(c.ExitCode))
			}
		}
	}
	for _, c := range task.Containers {
		t.Logf("container %s: exit %s, reason %q", c.Name, tlCode(c.ExitCode), c.Reason)
	}
	if len(oom) == 0 {
		t.Errorf("no container stopped with OutOfMemoryError; 2 × 300 MiB fit a 512 MiB task? %+v", task.Containers)
	}
}

func TestECSTaskLimitsWithinMemory(t *testing.T) {
	t.Parallel()
	b, img := tkSetup(t)
	arn := tlFargate(t, b, img, "modest", 150)
	tlRequireTaskCgroups(t, b)
	tkWait(t, b.AWSv2, "tasks-running", arn)

	// Both containers hold their memory and the task keeps running.
	ids := tkContainersOf(t, arn)
	if len(ids) != 3 {
		t.Fatalf("task containers (two and the pause container): %v", ids)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range ids {
		kind := harness.Docker(t, "inspect", "--format", `{{index .Config.Labels "dev.berth.kind"}}`, id).Must(t).Stdout
		if strings.TrimSpace(kind) == "sandbox" {
			continue
		}
		for !strings.Contains(harness.Docker(t, "logs", id).Stdout, "allocated 150 MiB") {
			if time.Now().After(deadline) {
				t.Fatalf("container %s did not allocate its memory: %+v", id, tkDescribe(t, b.AWSv2, arn))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	time.Sleep(2 * time.Second)
	task := tkDescribe(t, b.AWSv2, arn)
	if task.LastStatus != "RUNNING" || task.container("first").LastStatus != "RUNNING" || task.container("second").LastStatus != "RUNNING" {
		t.Fatalf("task within its memory: %+v", task)
	}

	// All three run under one cgroup, which has the task's limit.
	parents := map[string]bool{}
	for _, id := range ids {
		parents[strings.TrimSpace(harness.Docker(t, "inspect", "--format", "{{.HostConfig.CgroupParent}}", id).Must(t).Stdout)] = true
	}
	var cgroup string
	for p := range parents {
		cgroup = p
	}
	if len(parents) != 1 || !strings.HasPrefix(cgroup, "/berth/") {
		t.Fatalf("cgroup parents %v, want one /berth/<task> for the whole task", parents)
	}
	limitFile := tlLimitFile(cgroup)
	if limitFile != "" {
		b, err := os.ReadFile(limitFile)
		if err != nil || strings.TrimSpace(string(b)) != "536870912" {
			t.Errorf("%s = %q, %v; want 536870912 (512 MiB)", limitFile, b, err)
		}
	}

	b.AWSv2(t, "ecs", "stop-task", "--cluster", "tasks", "--task", arn).Must(t)
	tkWait(t, b.AWSv2, "tasks-stopped", arn)
	if limitFile != "" {
		if _, err := os.Stat(filepath.Dir(limitFile)); !os.IsNotExist(err) {
			t.Errorf("task cgroup %s left behind after the task stopped (%v)", filepath.Dir(limitFile), err)
		}
	}
}

// tlLimitFile is the task cgroup's memory limit file on this host (cgroup
// v1 or v2), or "" when the hierarchy is elsewhere.
func tlLimitFile(cgroup string) string {
	for _, f := range []string{
		filepath.Join("/sys/fs/cgroup/memory", cgroup, "memory.limit_in_bytes"),
		filepath.Join("/sys/fs/cgroup", cgroup, "memory.max"),
	} {
		if _, err := os.Stat(f); err == nil {
			return f
		}
	}
	return ""
}

func tlCode(p *int) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprint(*p)
}
