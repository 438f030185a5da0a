package docker

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/runtime"
)

const mountinfoV1 = `25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

func TestFindCgroupFSV1(t *testing.T) {
	cg, note := findCgroupFS(parseCgroupMounts([]byte(mountinfoV1)), "1")
	if cg == nil {
		t.Fatalf("no cgroup fs: %s", note)
	}
	if cg.version != 1 || cg.v1["memory"] != "/sys/fs/cgroup/memory" || cg.v1["cpu"] != "/sys/fs/cgroup/cpu,cpuacct" {
		t.Errorf("cg = %+v", cg)
	}
	// Every hierarchy is cleaned, memory first.
	if len(cg.all) != 4 || cg.all[0] != "/sys/fs/cgroup/memory" {
		t.Errorf("all = %v, want the 4 cgroup mounts, memory first", cg.all)
	}
}

func TestFindCgroupFSRefuses(t *testing.T) {
	for name, c := range map[string]struct{ mountinfo, version, want string }{
		"subtree": {`35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
`, "1", "subtree"},
		"no memory":  {"32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n", "1", "no cgroup v1"},
		"no v2":      {mountinfoV1, "2", "no cgroup2 mount"},
		"garbage":    {"this is not\nmountinfo - at all\n\n", "1", "no cgroup v1"},
		"v3":         {mountinfoV1, "3", "unknown cgroup version"},
		"v2 subtree": {"41 31 0:38 /kubepods /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "2", "subtree"},
	} {
		cg, note := findCgroupFS(parseCgroupMounts([]byte(c.mountinfo)), c.version)
		if cg != nil || !strings.Contains(note, c.want) {
			t.Errorf("%s: cg %+v, note %q; want none because %q", name, cg, note, c.want)
		}
	}
}

func TestCgroupPath(t *testing.T) {
	for in, want := range map[string]string{
		"ecs-web-3-0123abcd-pause": "/berth/ecs-web-3-0123abcd-pause",
		"../../etc":                "/berth/t.._.._etc",
		"a/b c":                    "/berth/a_b_c",
		"":                         "/berth/t",
	} {
		if got := cgroupPath(in); got != want || !validCgroup(got) {
			t.Errorf("cgroupPath(%q) = %q (valid %t), want %q", in, got, validCgroup(got), want)
		}
	}
	for _, bad := range []string{"/", "/berth", "/berth/", "/berth/../x", "/berth/a/b", "/docker/x", "berth/x"} {
		if validCgroup(bad) {
			t.Errorf("validCgroup(%q) = true", bad)
		}
	}
}

// TestTaskCgroupLifecycle proves on the real engine that an awsvpc
// sandbox with limits gets its cgroup with the limits, that the task's
// containers run inside it, and that removing the sandbox removes it.
func TestTaskCgroupLifecycle(t *testing.T) {
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r.taskCgroups(ctx) // decide now; Info alone only starts deciding
	info, err := r.Info(ctx)
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("no Docker engine: %v", err)
		}
		t.Fatal(err)
	}
	if info.TaskLimits != runtime.LimitsPerSandbox {
		t.Skipf("no task cgroups on this host: %s", info.TaskLimitsNote)
	}
	cg := r.cgroupsEnabled()
	name := "berthtest-cgroup-" + randomHex(4)
	sb, err := r.CreateSandbox(ctx, runtime.SandboxSpec{Name: name, NetworkMode: runtime.NetworkAWSVPC,
		Limits: runtime.Limits{MemoryBytes: 96 << 20, NanoCPUs: 5e8}})
	if err != nil {
		t.Fatalf("CreateSandbox: %v", err)
	}
	defer r.RemoveSandbox(context.WithoutCancel(ctx), sb.ID)
	if sb.Cgroup != "/berth/"+name {
		t.Fatalf("sandbox cgroup %q, want /berth/%s", sb.Cgroup, name)
	}
	read := func(ctrl, file string) string {
		dir := cg.v2
		if cg.version == 1 {
			dir = cg.v1[ctrl]
		}
		b, err := os.ReadFile(filepath.Join(dir, sb.Cgroup, file))
		if err != nil {
			t.Fatalf("read %s: %v", file, err)
		}
		return strings.TrimSpace(string(b))
	}
	if cg.version == 1 {
		if m, q := read("memory", "memory.limit_in_bytes"), read("cpu", "cpu.cfs_quota_us"); m != "100663296" || q != "50000" {
			t.Errorf("memory.limit_in_bytes %s, cpu.cfs_quota_us %s; want 100663296, 50000", m, q)
		}
	} else if m, c := read("", "memory.max"), read("", "cpu.max"); m != "100663296" || c != "50000 100000" {
		t.Errorf("memory.max %s, cpu.max %s", m, c)
	}
	// Found again as a restarted Berth finds it.
	again, err := r.InspectSandbox(ctx, sb.ID)
	if err != nil || again.Cgroup != sb.Cgroup {
		t.Errorf("InspectSandbox: cgroup %q, %v", again.Cgroup, err)
	}
	if !cg.hasChild(sb.Cgroup, string(sb.ID)) {
		t.Errorf("the pause container is not under %s", sb.Cgroup)
	}
	// A container of the task, inside the cgroup, outlives the sandbox's
	// removal (a sandbox replaced while its containers run): the cgroup
	// stays for it and goes with it.
	pause, err := r.ensurePauseImage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ctr, err := r.CreateContainer(ctx, runtime.ContainerSpec{Name: name + "-app", Image: pause, Sandbox: sb})
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	defer r.RemoveContainer(context.WithoutCancel(ctx), ctr)
	if err := r.StartContainer(ctx, ctr); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	if !cg.hasChild(sb.Cgroup, string(ctr)) {
		t.Errorf("the task's container is not under %s", sb.Cgroup)
	}
	if err := r.RemoveSandbox(ctx, sb.ID); err != nil {
		t.Fatalf("RemoveSandbox: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cg.all[0], sb.Cgroup)); err != nil {
		t.Errorf("the cgroup went while a container of the task was in it: %v", err)
	}
	if err := r.RemoveContainer(ctx, ctr); err != nil {
		t.Fatalf("RemoveContainer: %v", err)
	}
	for _, mnt := range cg.all {
		if _, err := os.Stat(filepath.Join(mnt, sb.Cgroup)); !os.IsNotExist(err) {
			t.Errorf("%s left behind (%v)", filepath.Join(mnt, sb.Cgroup), err)
		}
	}
	if err := r.RemoveSandbox(ctx, sb.ID); err != nil {
		t.Errorf("RemoveSandbox again: %v", err)
	}
}

// TestTaskCgroupsOff is the fallback: no cgroup, a note saying why.
func TestTaskCgroupsOff(t *testing.T) {
	rt, err := runtime.Open(context.Background(), "docker", map[string]string{"task-cgroups": "off"})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rt.(*Runtime).taskCgroups(ctx) // decide now; Info alone only starts deciding
	info, err := rt.Info(ctx)
	if err != nil {
		t.Skipf("no Docker engine: %v", err)
	}
	if info.TaskLimits != runtime.LimitsPerContainer || !strings.Contains(info.TaskLimitsNote, "turned off") {
		t.Errorf("TaskLimits %q (%s), want per container, turned off", info.TaskLimits, info.TaskLimitsNote)
	}
	sb, err := rt.CreateSandbox(ctx, runtime.SandboxSpec{Name: "berthtest-nocgroup-" + randomHex(4),
		NetworkMode: runtime.NetworkAWSVPC, Limits: runtime.Limits{MemoryBytes: 64 << 20}})
	if err != nil {
		t.Fatalf("CreateSandbox: %v", err)
	}
	defer rt.RemoveSandbox(context.WithoutCancel(ctx), sb.ID)
	if sb.Cgroup != "" {
		t.Errorf("sandbox cgroup %q, want none", sb.Cgroup)
	}
	if _, err := runtime.Open(ctx, "docker", map[string]string{"task-cgroups": "maybe"}); !runtime.IsInvalidArgument(err) {
		t.Errorf("task-cgroups=maybe: %v, want invalid argument", err)
	}
}

// TestEnsureFiles checks what ensure writes, on a directory tree standing in
// for each layout (the files a kernel would provide made beforehand), since
// a host has only one of them.
func TestEnsureFiles(t *testing.T) {
	touch := func(dir string, files ...string) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	read := func(path string) string {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	limits := runtime.Limits{MemoryBytes: 512 << 20, NanoCPUs: 25e7}
	p := cgroupPath("ecs-web-1-abc-pause")

	v2 := t.TempDir()
	touch(v2, "cgroup.subtree_control")
	touch(filepath.Join(v2, "berth"), "cgroup.subtree_control")
	touch(filepath.Join(v2, p), "memory.max", "memory.swap.max", "cpu.max")
	cg := &cgroupFS{version: 2, v2: v2, all: []string{v2}}
	if err := cg.ensure(p, limits); err != nil {
		t.Fatalf("ensure v2: %v", err)
	}
	for file, want := range map[string]string{
		"memory.max": "536870912", "memory.swap.max": "0", "cpu.max": "25000 100000",
	} {
		if got := read(filepath.Join(v2, p, file)); got != want {
			t.Errorf("v2 %s = %q, want %q", file, got, want)
		}
	}

	v1 := t.TempDir()
	mem, cpu := filepath.Join(v1, "memory"), filepath.Join(v1, "cpu,cpuacct")
	touch(filepath.Join(mem, p), "memory.use_hierarchy", "memory.limit_in_bytes", "memory.memsw.limit_in_bytes")
	touch(filepath.Join(cpu, p), "cpu.cfs_period_us", "cpu.cfs_quota_us")
	if err := os.WriteFile(filepath.Join(mem, p, "memory.use_hierarchy"), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cg = &cgroupFS{version: 1, v1: map[string]string{"memory": mem, "cpu": cpu}, all: []string{mem, cpu}}
	if err := cg.ensure(p, limits); err != nil {
		t.Fatalf("ensure v1: %v", err)
	}
	for file, want := range map[string]string{
		filepath.Join(mem, p, "memory.use_hierarchy"):        "1",
		filepath.Join(mem, p, "memory.limit_in_bytes"):       "536870912",
		filepath.Join(mem, p, "memory.memsw.limit_in_bytes"): "536870912",
		filepath.Join(cpu, p, "cpu.cfs_period_us"):           "100000",
		filepath.Join(cpu, p, "cpu.cfs_quota_us"):            "25000",
	} {
		if got := read(file); got != want {
			t.Errorf("v1 %s = %q, want %q", file, got, want)
		}
	}
	if q := cfsQuota(1); q != "1000" {
		t.Errorf("cfsQuota(1) = %s, want the kernel's minimum 1000", q)
	}
}
