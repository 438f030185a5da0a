// Package runtimetest is the suite every runtime.Runtime passes, run
// against a real engine: a new runtime is proven by the same tests as the
// old one. It also holds the test image (TestImage, a static Go program
// with a mode per behaviour) and the helpers to serve it from an in-process
// registry or load it into a Docker engine, which the ECS tests reuse.
//
// The suite needs the runtime's containers to run on this machine: it
// pulls from a registry on 127.0.0.1 and talks HTTP to published ports.
package runtimetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
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

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/runtime"
)

// Run runs the suite. newRuntime is called for every test (and more than
// once in the re-adoption test, as a restarted Berth would); each runtime
// is closed when its test ends. Everything the suite creates carries the
// label LabelRun and is removed at the end, even when tests fail.
func Run(t *testing.T, newRuntime func() runtime.Runtime) {
	s := setup(t, newRuntime)
	tests := []struct {
		name string
		fn   func(t *testing.T, s *suite)
	}{
		{"PullImage", testPull},
		{"PullErrors", testPullErrors},
		{"RunToExitCode", testExitCode},
		{"ContainerOptions", testContainerOptions},
		{"Resources", testResources},
		{"OOMKill", testOOM},
		{"SandboxMemoryShared", testSandboxMemory},
		{"DynamicHostPort", testDynamicPort},
		{"AWSVPCSandbox", testAWSVPC},
		{"Volumes", testVolumes},
		{"HealthCheck", testHealth},
		{"StopTimeout", testStop},
		{"Logs", testLogs},
		{"FollowLogs", testFollowLogs},
		{"Exec", testExec},
		{"ListReadopts", testReadopt},
		{"ConflictAndRemove", testConflictRemove},
		{"InvalidSpecs", testInvalid},
	}
	// The tests mostly wait on containers, so they run concurrently
	// whatever -test.parallel says (it defaults to the CPU count, which on
	// a small CI machine would run them nearly one by one).
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for _, tc := range tests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t.Run(tc.name, func(t *testing.T) { tc.fn(t, s) })
		}()
	}
	wg.Wait()
}

// concurrency bounds how many tests run at once.
const concurrency = 8

// LabelRun marks everything one suite run creates.
const LabelRun = "berthtest.run"

type suite struct {
	newRuntime func() runtime.Runtime
	runID      string
	arch       string
	img        v1.Image
	digest     v1.Hash
	reg        *Registry
	// ref is the test image in the public registry, pulled by setup.
	ref string
}

func setup(t *testing.T, newRuntime func() runtime.Runtime) *suite {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := &suite{newRuntime: newRuntime, runID: randomID()}
	rt := s.runtime(t)
	info, err := rt.Info(ctx)
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if info.Arch == "" || info.CPUs <= 0 || info.MemoryBytes <= 0 {
		t.Fatalf("Info = %+v, want the host's architecture, CPUs and memory", info)
	}
	s.arch = info.Arch
	s.img = TestImage(t, s.arch)
	s.reg = StartRegistry(t, "", "")
	s.ref = s.reg.Host + "/berthtest/app:" + s.runID
	s.digest = s.reg.Push(t, s.img, s.ref)
	if _, err := rt.PullImage(ctx, s.ref, nil); err != nil {
		t.Fatalf("PullImage(%s): %v", s.ref, err)
	}
	t.Cleanup(func() { s.cleanup(t) })
	return s
}

// cleanup removes whatever the run left, whatever the tests did.
func (s *suite) cleanup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rt := s.newRuntime()
	defer rt.Close()
	run := map[string]string{LabelRun: s.runID}
	cs, err := rt.List(ctx, run)
	if err != nil {
		t.Errorf("cleanup: List: %v", err)
	}
	for _, c := range cs {
		if err := rt.RemoveContainer(ctx, c.ID); err != nil {
			t.Errorf("cleanup: RemoveContainer(%s): %v", c.Name, err)
		}
	}
	sbs, err := rt.ListSandboxes(ctx, run)
	if err != nil {
		t.Errorf("cleanup: ListSandboxes: %v", err)
	}
	for _, sb := range sbs {
		if err := rt.RemoveSandbox(ctx, sb.ID); err != nil {
			t.Errorf("cleanup: RemoveSandbox(%s): %v", sb.Name, err)
		}
	}
	vols, err := rt.ListVolumes(ctx, run)
	if err != nil {
		t.Errorf("cleanup: ListVolumes: %v", err)
	}
	for _, v := range vols {
		if err := rt.RemoveVolume(ctx, v.Name); err != nil {
			t.Errorf("cleanup: RemoveVolume(%s): %v", v.Name, err)
		}
	}
	// The registry's port changes every run, so every run's tag is new:
	// drop it, or the engine collects one per run.
	if err := rt.RemoveImage(ctx, s.ref); err != nil {
		t.Errorf("cleanup: RemoveImage(%s): %v", s.ref, err)
	}
}

func randomID() string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// runtime returns a fresh runtime that is closed when the test ends.
func (s *suite) runtime(t testing.TB) runtime.Runtime {
	rt := s.newRuntime()
	t.Cleanup(func() { rt.Close() })
	return rt
}

// name is a unique, engine-valid name for an object of test t.
func (s *suite) name(t testing.TB, suffix string) string {
	n := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	return strings.ToLower("berthtest-" + s.runID + "-" + n + "-" + suffix)
}

func (s *suite) labels(extra ...string) map[string]string {
	l := map[string]string{LabelRun: s.runID}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}
	return l
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// create creates a container of the test image, named after suffix and
// labelled for the run unless the spec says otherwise.
func (s *suite) create(ctx context.Context, t testing.TB, rt runtime.Runtime, suffix string, spec runtime.ContainerSpec) runtime.ContainerID {
	t.Helper()
	if spec.Name == "" {
		spec.Name = s.name(t, suffix)
	}
	if spec.Image == "" {
		spec.Image = s.ref
	}
	if spec.Labels == nil {
		spec.Labels = s.labels()
	}
	id, err := rt.CreateContainer(ctx, spec)
	if err != nil {
		t.Fatalf("CreateContainer(%s): %v", spec.Name, err)
	}
	// Removed when the test ends, so that parallel tests clean up in
	// parallel; the suite's final sweep catches the rest.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		rm := s.newRuntime()
		defer rm.Close()
		if err := rm.RemoveContainer(ctx, id); err != nil {
			t.Errorf("cleanup: RemoveContainer(%s): %v", spec.Name, err)
		}
	})
	return id
}

func (s *suite) start(ctx context.Context, t testing.TB, rt runtime.Runtime, suffix string, spec runtime.ContainerSpec) runtime.ContainerID {
	t.Helper()
	id := s.create(ctx, t, rt, suffix, spec)
	if err := rt.StartContainer(ctx, id); err != nil {
		t.Fatalf("StartContainer(%s): %v", suffix, err)
	}
	return id
}

// runToExit starts a container and waits for it to end.
func (s *suite) runToExit(ctx context.Context, t testing.TB, rt runtime.Runtime, suffix string, spec runtime.ContainerSpec) (runtime.ContainerID, runtime.ExitStatus) {
	t.Helper()
	id := s.start(ctx, t, rt, suffix, spec)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := rt.Wait(wctx, id)
	if err != nil {
		t.Fatalf("Wait(%s): %v\n%s", suffix, err, logText(ctx, t, rt, id))
	}
	return id, st
}

// logLines returns a container's output as "stdout: line" strings.
func logLines(ctx context.Context, t testing.TB, rt runtime.Runtime, id runtime.ContainerID, opts runtime.LogOptions) []runtime.LogEntry {
	t.Helper()
	lr, err := rt.Logs(ctx, id, opts)
	if err != nil {
		t.Fatalf("Logs: %v", err)
	}
	defer lr.Close()
	var out []runtime.LogEntry
	for {
		e, err := lr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Logs: Next: %v", err)
		}
		out = append(out, e)
	}
}

func logText(ctx context.Context, t testing.TB, rt runtime.Runtime, id runtime.ContainerID) string {
	t.Helper()
	var b strings.Builder
	for _, e := range logLines(ctx, t, rt, id, runtime.LogOptions{}) {
		fmt.Fprintf(&b, "%s: %s\n", e.Stream, e.Line)
	}
	return b.String()
}

// waitLog waits until the container has printed want.
func waitLog(ctx context.Context, t testing.TB, rt runtime.Runtime, id runtime.ContainerID, want string) {
	t.Helper()
	waitFor(t, 20*time.Second, "output "+want, func() bool {
		return strings.Contains(logText(ctx, t, rt, id), want)
	})
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// httpGet fetches url from this process until it answers 200.
func httpGet(t testing.TB, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	var last error
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := c.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return string(body)
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", url, last)
	return ""
}

// events collects a runtime's events in the background.
type events struct {
	ch <-chan runtime.Event
}

func subscribe(ctx context.Context, rt runtime.Runtime) *events {
	return &events{ch: rt.Events(ctx)}
}

// await returns the first event that matches, or fails the test.
func (e *events) await(t testing.TB, what string, match func(runtime.Event) bool) runtime.Event {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-e.ch:
			if !ok {
				t.Fatalf("event stream closed while waiting for %s", what)
			}
			if match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event within 30s", what)
		}
	}
}

func testPull(t *testing.T, s *suite) {
	ctx := testCtx(t)
	rt := s.runtime(t)
	info, err := rt.PullImage(ctx, s.ref, nil)
	if err != nil {
		t.Fatalf("PullImage: %v", err)
	}
	if info.Digest != s.digest.String() {
		t.Errorf("pulled digest %q, pushed %s", info.Digest, s.digest)
	}
	if info.ID == "" || info.Arch != s.arch || info.OS != "linux" {
		t.Errorf("ImageInfo = %+v, want an id and linux/%s", info, s.arch)
	}
	again, err := rt.InspectImage(ctx, s.ref)
	if err != nil {
		t.Fatalf("InspectImage: %v", err)
	}
	if again.ID != info.ID || again.Digest != info.Digest {
		t.Errorf("InspectImage = %+v, PullImage = %+v", again, info)
	}
	if _, err := rt.InspectImage(ctx, s.reg.Host+"/berthtest/never-pulled:v1"); !runtime.IsNotFound(err) {
		t.Errorf("InspectImage of an unknown image: %v, want not found", err)
	}

	// A private registry: the credentials travel with the pull.
	priv := StartRegistry(t, "berth", "s3cret")
	privRef := priv.Host + "/berthtest/private:" + s.runID
	pushed := priv.Push(t, s.img, privRef)
	t.Cleanup(func() {
		if err := rt.RemoveImage(context.Background(), privRef); err != nil {
			t.Errorf("cleanup: RemoveImage(%s): %v", privRef, err)
		}
	})
	for _, auth := range []*runtime.RegistryAuth{nil, {Username: "berth", Password: "wrong", ServerAddress: priv.Host}} {
		_, err := rt.PullImage(ctx, privRef, auth)
		var pe *runtime.PullError
		if !errors.As(err, &pe) || pe.Reason != runtime.PullUnauthorized {
			t.Errorf("PullImage(private, %+v) = %v, want a PullError for unauthorized", auth, err)
		}
	}
	got, err := rt.PullImage(ctx, privRef, &runtime.RegistryAuth{Username: "berth", Password: "s3cret", ServerAddress: priv.Host})
	if err != nil {
		t.Fatalf("PullImage(private) with credentials: %v", err)
	}
	if got.Digest != pushed.String() {
		t.Errorf("private pull digest %q, pushed %s", got.Digest, pushed)
	}
}

func testPullErrors(t *testing.T, s *suite) {
	ctx := testCtx(t)
	rt := s.runtime(t)
	check := func(ref string, want runtime.PullReason) {
		t.Helper()
		_, err := rt.PullImage(ctx, ref, nil)
		var pe *runtime.PullError
		if !errors.As(err, &pe) {
			t.Errorf("PullImage(%s) = %v, want a *PullError", ref, err)
			return
		}
		if pe.Reason != want || !errors.Is(err, runtime.ErrPull) {
			t.Errorf("PullImage(%s): reason %q (%v), want %q", ref, pe.Reason, err, want)
		}
		if want == runtime.PullNotFound && !runtime.IsNotFound(err) {
			t.Errorf("PullImage(%s): IsNotFound is false for %v", ref, err)
		}
	}
	check(s.reg.Host+"/berthtest/missing:v1", runtime.PullNotFound)
	check(s.reg.Host+"/berthtest/app:no-such-tag", runtime.PullNotFound)

	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	check(closed+"/berthtest/app:v1", runtime.PullNetwork)
}

func testExitCode(t *testing.T, s *suite) {
	ctx := testCtx(t)
	rt := s.runtime(t)
	before := time.Now().Add(-time.Second)
	id, st := s.runToExit(ctx, t, rt, "exit3", runtime.ContainerSpec{Command: []string{"exit", "3"}})
	if st.ExitCode != 3 {
		t.Errorf("exit code %d, want 3", st.ExitCode)
	}
	info, err := rt.InspectContainer(ctx, id)
	if err != nil {
		t.Fatalf("InspectContainer: %v", err)
	}
	if info.State != runtime.StateExited || info.ExitCode != 3 || info.OOMKilled {
		t.Errorf("state %s exit %d oom %t, want exited 3", info.State, info.ExitCode, info.OOMKilled)
	}
	// The engine stamps the start after the process began, so a quick
	// program can finish "before" it started; only the order against
	// creation is certain.
	if info.StartedAt.Before(before) || info.FinishedAt.IsZero() || info.FinishedAt.Before(info.CreatedAt) || info.CreatedAt.IsZero() {
		t.Errorf("times: created %v started %v finished %v", info.CreatedAt, info.StartedAt, info.FinishedAt)
	}
	if info.Name != s.name(t, "exit3") || info.Image != s.ref || info.ImageID == "" {
		t.Errorf("name %q image %q (%q)", info.Name, info.Image, info.ImageID)
	}
	_, st = s.runToExit(ctx, t, rt, "exit0", runtime.ContainerSpec{Command: []string{"exit", "0"}})
	if st.ExitCode != 0 {
		t.Errorf("exit code %d, want 0", st.ExitCode)
	}
}

func testContainerOptions(t *testing.T, s *suite) {
	ctx := testCtx(t)
	rt := s.runtime(t)
	id, st := s.runToExit(ctx, t, rt, "opts", runtime.ContainerSpec{
		EntryPoint:     []string{"/app", "env"},
		Command:        []string{"one", "two words"},
		WorkingDir:     "/srv",
		User:           "1234:5678",
		Env:            map[string]string{"GREETING": "hello world", "EMPTY": ""},
		Hostname:       "berth-test-host",
		Init:           true,
		ReadonlyRootfs: true,
		Ulimits:        []runtime.Ulimit{{Name: "nofile", Soft: 1000, Hard: 2000}, {Name: "core", Soft: 1024, Hard: 4096}},
		ExtraHosts:     []runtime.HostEntry{{Hostname: "db.internal", IP: "10.9.8.7"}},
	})
	out := logText(ctx, t, rt, id)
	if st.ExitCode != 0 {
		t.Fatalf("exit %d\n%s", st.ExitCode, out)
	}
	for _, want := range []string{
		"args=one|two words", "cwd=/srv", "uid=1234", "gid=5678", "nofile-hard=2000", "core=1024/4096",
		"hostname=berth-test-host", "rootfs-writable=false",
		"env:GREETING=hello world", "env:EMPTY=", "env:IMAGE_ENV=from-image",
	} {
		if !strings.Contains(out, "stdout: "+want+"\n") {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// With an init process the program is not PID 1.
	if strings.Contains(out, "pid=1\n") {
		t.Errorf("the program ran as PID 1 despite Init:\n%s", out)
	}

	// Without an entrypoint override the image's stays and the command
	// replaces the image's.
	id, st = s.runToExit(ctx, t, rt, "cmd", runtime.ContainerSpec{Command: []string{"print", "from", "command"}})
	if out := logText(ctx, t, rt, id); st.ExitCode != 0 || out != "stdout: from\nstdout: command\n" {
		t.Errorf("command override: exit %d, output %q", st.ExitCode, out)
	}
	// /etc/hosts entries.
	id, _ = s.runToExit(ctx, t, rt, "hosts", runtime.ContainerSpec{
		Command:    []string{"read", "/etc/hosts"},
		ExtraHosts: []runtime.HostEntry{{Hostname: "db.internal", IP: "10.9.8.7"}},
	})
	if out := logText(ctx, t, rt, id); !strings.Contains(out, "10.9.8.7") || !strings.Contains(out, "db.internal") {
		t.Errorf("/etc/hosts lacks the extra host:\n%s", out)
	}
}

func testResources(t *testing.T, s *suite) {
	ctx := testCtx(t)
	rt := s.runtime(t)
	const mib = 1 << 20
	sb, err := rt.CreateSandbox(ctx, runtime.SandboxSpec{
		Name: s.name(t, "task"), NetworkMode: runtime.NetworkBridge, Labels: s.labels(),
		Limits: runtime.Limits{NanoCPUs: 5e8, MemoryBytes: 48 * mib},
	})
	if err != nil {
		t.Fatalf("CreateSandbox(bridge): %v", err)
	}
	if sb.ID != "" || !sb.Ready || sb.Limits.MemoryBytes != 48*mib {
		t.Errorf("bridge sandbox = %+v, want no id, ready, with its limits", sb)
	}
	// Its own limits above the task's are capped; below them they stay.
	big := s.start(ctx, t, rt, "big", runtime.ContainerSpec{Sandbox: sb, Resources: runtime.Resources{
		CPUShares: 512, MemoryBytes: 64 * mib, MemoryReservationBytes: 32 * mib}})
	small := s.start(ctx, t, rt, "small", runtime.ContainerSpec{Sandbox: sb, Resources: runtime.Resources{
		MemoryBytes: 16 * mib, NanoCPUs: 25e7}})
	none := s.start(ctx, t, rt, "none", runtime.ContainerSpec{Sandbox: sb})
	alone := s.start(ctx, t, rt, "alone", runtime.ContainerSpec{Resources: runtime.Resources{MemoryBytes: 32 * mib}})
	for _, c := range []struct {
		id   runtime.ContainerID
		want runtime.Resources
	}{
		{big, runtime.Resources{CPUShares: 512, NanoCPUs: 5e8, MemoryBytes: 48 * mib, MemoryReservationBytes: 32 * mib}},
		{small, runtime.Resources{NanoCPUs: 25e7, MemoryBytes: 16 * mib}},
		{none, runtime.Resources{NanoCPUs: 5e8, MemoryBytes: 48 * mib}},
		{alone, runtime.Resources{MemoryBytes: 32 * mib}},
	} {
		info, err := rt.InspectContainer(ctx, c.id)
		if err != nil {
			t.Fatalf("InspectContainer: %v", err)
		}
		if info.Resources != c.want {
			t.Errorf("%s: resources %+v, want %+v", info.Name, info.Resources, c.want)
		}
		if info.State != runtime.StateRunning {
			t.Errorf("%s: state %s, want running", info.Name, info.State)
		}
	}
}

func testOOM(t *testing.T, s *suite) {
	ctx := testCtx(t)
	rt := s.runtime(t)
	ev := subscribe(ctx, rt)
	id, st := s.runToExit(ctx, t, rt, "oom", runtime.ContainerSpec{
		Command:   []string{"alloc", "256"},
		Resources: runtime.Resources{MemoryBytes: 32 << 20},
	})
	if st.ExitCode != 137 {
		t.Errorf("exit %d, want 137 (is swap without swap accounting on?)", st.ExitCode)
	}
	ev.await(t, "oom", func(e runtime.Event) bool { return e.ContainerID == id && e.Type == runtime.EventOOM })
	// Engines may record the OOM kill a moment after the exit.
	waitFor(t, 5*time.Second, "the OOM kill to be recorded", func() bool {
		info, err := rt.InspectContainer(ctx, id)
		return err == nil && info.OOMKilled && info.State == runtime.StateExited
	})
}

// testSandboxMemory proves a sandbox's memory bounds its containers
// together: two containers without limits of their own, each allocating 60%
// of it, cannot both hold their memory.
func testSandboxMemory(t *testing.T, s *suite) {
	ctx := testCtx(t)
	rt := s.runtime(t)
	// A runtime may decide how it enforces limits after its first Info
	// (the docker runtime probes the engine in the background): ask until
	// the note stops saying it has not decided.
	var info runtime.HostInfo
	for {
		var err error
		if info, err = rt.Info(ctx); err != nil {
			t.Fatalf("Info: %v", err)
		}
		if info.TaskLimits == runtime.LimitsPerSandbox || !strings.HasPrefix(info.TaskLimitsNote, "not decided yet") {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the runtime did not decide how it enforces task limits: %s", info.TaskLimitsNote)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if info.TaskLimits != runtime.LimitsPerSandbox {
		t.Skipf("the runtime caps each container at the sandbox's limits, not their sum (%s): %s", info.TaskLimits, info.TaskLimitsNote)
	}
	const limit = 100 << 20
	sb, err := rt.CreateSandbox(ctx, runtime.SandboxSpec{
		Name: s.name(t, "task"), NetworkMode: runtime.NetworkAWSVPC, Labels: s.labels(),
		Limits: runtime.Limits{MemoryBytes: limit, NanoCPUs: 5e8},
	})
	if err != nil {
		t.Fatalf("CreateSandbox: %v", err)
	}
	if sb.Cgroup == "" {
		t.Errorf("sandbox %+v has no cgroup, though the runtime enforces limits per sandbox", sb)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// After the containers' own cleanups, which run first.
		rm := s.newRuntime()
		defer rm.Close()
		if err := rm.RemoveSandbox(ctx, sb.ID); err != nil {
			t.Errorf("cleanup: RemoveSandbox: %v", err)
		}
	})
	alloc := fmt.Sprint(limit * 6 / 10 >> 20)
	ids := []runtime.ContainerID{
		s.start(ctx, t, rt, "a", runtime.ContainerSpec{Sandbox: sb, Command: []string{"alloc", alloc}}),
		s.start(ctx, t, rt, "b", runtime.ContainerSpec{Sandbox: sb, Command: []string{"alloc", alloc}}),
	}
	var killed runtime.ContainerInfo
	waitFor(t, 30*time.Second, "one of the two containers to be OOM-killed", func() bool {
		for _, id := range ids {
			c, err := rt.InspectContainer(ctx, id)
			if err == nil && c.State == runtime.StateExited && c.OOMKilled {
				killed = c
				return true
			}
		}
		return false
	})
	if killed.ExitCode != 137 {
		t.Errorf("%s: exit %d, want 137 (SIGKILL by the OOM killer)", killed.Name, killed.ExitCode)
	}
	// Each alone fits: the sandbox's limit, not its own cap, killed it.
	if killed.Resources.MemoryBytes != 0 && killed.Resources.MemoryBytes < limit {
		t.Errorf("%s: its own memory limit %d is below the sandbox's", killed.Name, killed.Resources.MemoryBytes)
	}
}

func testDynamicPort(t *testing.T, s *suite) {
	ctx := testCtx(t)
	rt := s.runtime(t)
	id := s.start(ctx, t, rt, "web", runtime.ContainerSpec{
		Command:      []string{"serve", "8080"},
		Hostname:     "web-bridge",
		PortMappings: []runtime.PortMapping{{ContainerPort: 8080}, {ContainerPort: 9090, Protocol: runtime.UDP}},
	})
	info, err := rt.InspectContainer(ctx, id)
	if err != nil {
		t.Fatalf("InspectContainer: %v", err)
	}
	var tcpPort uint16
	var sawUDP bool
	for _, b := range info.PortBindings {
		switch {
		case b.ContainerPort == 8080 && b.Protocol == runtime.TCP && b.HostPort != 0:
			tcpPort = b.HostPort
		case b.ContainerPort == 9090 && b.Protocol == runtime.UDP && b.HostPort != 0:
			sawUDP = true
		}
	}
	if tcpPort == 0 || !sawUDP {
		t.Fatalf("bindings %+v, want dynamic host ports for 8080/tcp and 9090/udp", info.PortBindings)
	}
	if info.IPv4Address == "" || info.NetworkMode != runtime.NetworkBridge {
		t.Errorf("bridge container: address %q, mode %q", info.IPv4Address, info.NetworkMode)
	}
	if body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", tcpPort)); body != "hello from web-bridge\n" {
		t.Errorf("GET through the dynamic port %d (bindings %+v): %q", tcpPort, info.PortBindings, body)
	}
}

func testAWSVPC(t *testing.T, s *suite) {
	ctx := testCtx(t)
	rt := s.runtime(t)
	spec := runtime.SandboxSpec{
		Name:         s.name(t, "task"),
		NetworkMode:  runtime.NetworkAWSVPC,
		Labels:       s.labels("berthtest.task", "awsvpc"),
		Hostname:     "ip-task",
		ExtraHosts:   []runtime.HostEntry{{Hostname: "metadata.internal", IP: "169.254.170.2"}},
		PortMappings: []runtime.PortMapping{{ContainerPort: 8080}},
		Limits:       runtime.Limits{MemoryBytes: 64 << 20},
	}
	sb, err := rt.CreateSandbox(ctx, spec)
	if err != nil {
		t.Fatalf("CreateSandbox(awsvpc): %v", err)
	}
	if sb.ID == "" || !sb.Ready || net.ParseIP(sb.Network.IPv4Address) == nil || sb.Network.Subnet == "" ||
		sb.Network.MACAddress == "" || sb.Network.Hostname != "ip-task" {
		t.Fatalf("sandbox = %+v, want an id, ready, with an address", sb)
	}
	if sb.Labels["berthtest.task"] != "awsvpc" || sb.Limits.MemoryBytes != 64<<20 {
		t.Errorf("sandbox labels %v limits %+v", sb.Labels, sb.Limits)
	}
	// Creating it again names the existing one.
	_, err = rt.CreateSandbox(ctx, spec)
	var ce *runtime.ConflictError
	if !errors.As(err, &ce) || ce.ID != string(sb.ID) || !runtime.IsConflict(err) {
		t.Errorf("CreateSandbox again = %v, want a ConflictError with id %s", err, sb.ID)
	}

	web := s.start(ctx, t, rt, "web", runtime.ContainerSpec{Sandbox: sb, Command: []string{"serve", "8080"}})
	// The task's other container reaches it on localhost.
	client, st := s.runToExit(ctx, t, rt, "client", runtime.ContainerSpec{Sandbox: sb,
		Command: []string{"fetch", "http://localhost:8080/"}})
	if out := logText(ctx, t, rt, client); st.ExitCode != 0 || !strings.Contains(out, "hello from ip-task") {
		t.Errorf("fetch over localhost: exit %d\n%s", st.ExitCode, out)
	}
	// Both share the sandbox's /etc/hosts and its limits.
	hosts, _ := s.runToExit(ctx, t, rt, "hosts", runtime.ContainerSpec{Sandbox: sb, Command: []string{"read", "/etc/hosts"}})
	if out := logText(ctx, t, rt, hosts); !strings.Contains(out, "metadata.internal") {
		t.Errorf("sandbox /etc/hosts lacks the extra host:\n%s", out)
	}
	info, err := rt.InspectContainer(ctx, web)
	if err != nil {
		t.Fatalf("InspectContainer: %v", err)
	}
	if info.SandboxID != sb.ID || info.NetworkMode != runtime.NetworkAWSVPC || info.Resources.MemoryBytes != 64<<20 {
		t.Errorf("web: sandbox %q mode %q resources %+v", info.SandboxID, info.NetworkMode, info.Resources)
	}
	// The task is reachable at its own address (its ENI) and through the
	// port the sandbox published.
	if body := httpGet(t, "http://"+net.JoinHostPort(sb.Network.IPv4Address, "8080")+"/"); !strings.Contains(body, "ip-task") {
		t.Errorf("GET the task's address: %q", body)
	}
	var published uint16
	for _, b := range sb.PortBindings {
		if b.ContainerPort == 8080 && b.HostPort != 0 {
			published = b.HostPort
		}
	}
	if published == 0 {
		t.Fatalf("sandbox bindings %+v, want 8080 published", sb.PortBindings)
	}
	if body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", published)); !strings.Contains(body, "ip-task") {
		t.Errorf("GET through the sandbox's published port %d (bindings %+v): %q", published, sb.PortBindings, body)
	}

	// Found again by its labels, as after a restart.
	found, err := s.runtime(t).ListSandboxes(ctx, map[string]string{LabelRun: s.runID, "berthtest.task": "awsvpc"})
	if err != nil || len(found) != 1 || found[0].ID != sb.ID || found[0].Network.IPv4Address != sb.Network.IPv4Address {
		t.Errorf("ListSandboxes = %+v, %v; want the sandbox", found, err)
	}
	if _, err := rt.InspectContainer(ctx, runtime.ContainerID(sb.ID)); !runtime.IsNotFound(err) {
		t.Errorf("InspectContainer(sandbox) = %v, want not found: a sandbox is not a task container", err)
	}

	for _, id := range []runtime.ContainerID{web, client, hosts} {
		if err := rt.RemoveContainer(ctx, id); err != nil {
			t.Fatalf("RemoveContainer: %v", err)
		}
	}
	if err := rt.RemoveSandbox(ctx, sb.ID); err != nil {
		t.Fatalf("RemoveSandbox: %v", err)
	}
	if _, err := rt.InspectSandbox(ctx, sb.ID); !runtime.IsNotFound(err) {
		t.Errorf("InspectSandbox after removal = %v, want not found", err)
	}
	if err := rt.RemoveSandbox(ctx, sb.ID); err != nil {
		t.Errorf("RemoveSandbox again = %v, want nil", err)
	}
}

func testVolumes(t *testing.T, s *suite) {
	ctx := testCtx(t)
	rt := s.runtime(t)
	vol, err := rt.CreateVolume(ctx, runtime.VolumeSpec{Name: s.name(t, "scratch"), Labels: s.labels("berthtest.volume", "task")})
	if err != nil {
		t.Fatalf("CreateVolume: %v", err)
	}
	if again, err := rt.CreateVolume(ctx, runtime.VolumeSpec{Name: vol.Name, Labels: s.labels()}); err != nil || again.Name != vol.Name {
		t.Errorf("CreateVolume again = %+v, %v; want the same volume", again, err)
	}
	// A task-scoped volume shared by two containers of the task.
	mounts := []runtime.Mount{{Type: runtime.MountVolume, Source: vol.Name, Target: "/shared"}}
	_, st := s.runToExit(ctx, t, rt, "writer", runtime.ContainerSpec{Mounts: mounts, Command: []string{"write", "/shared/msg", "across containers"}})
	if st.ExitCode != 0 {
		t.Fatalf("writer exit %d", st.ExitCode)
	}
	reader, st := s.runToExit(ctx, t, rt, "reader", runtime.ContainerSpec{
		Mounts:  []runtime.Mount{{Type: runtime.MountVolume, Source: vol.Name, Target: "/shared", ReadOnly: true}},
		Command: []string{"read", "/shared/msg"}})
	if out := logText(ctx, t, rt, reader); st.ExitCode != 0 || out != "stdout: across containers\n" {
		t.Errorf("reader: exit %d, output %q", st.ExitCode, out)
	}
	// Read-only means read-only.
	_, st = s.runToExit(ctx, t, rt, "ro", runtime.ContainerSpec{
		Mounts:  []runtime.Mount{{Type: runtime.MountVolume, Source: vol.Name, Target: "/shared", ReadOnly: true}},
		Command: []string{"write", "/shared/other", "x"}})
	if st.ExitCode == 0 {
		t.Errorf("writing to a read-only volume succeeded")
	}

	// A bind mount of a host path (created when missing) and a tmpfs.
	parent := t.TempDir()
	host := filepath.Join(parent, "made-by-the-runtime")
	_, st = s.runToExit(ctx, t, rt, "bind", runtime.ContainerSpec{
		Mounts: []runtime.Mount{
			{Type: runtime.MountBind, Source: host, Target: "/host"},
			{Type: runtime.MountTmpfs, Target: "/scratch", TmpfsSizeBytes: 1 << 20},
		},
		Command: []string{"write", "/host/from-container", "bind"}})
	if b, err := os.ReadFile(filepath.Join(host, "from-container")); st.ExitCode != 0 || err != nil || string(b) != "bind" {
		t.Errorf("bind mount write: exit %d, host file %q, %v", st.ExitCode, b, err)
	}
	_, st = s.runToExit(ctx, t, rt, "tmpfs", runtime.ContainerSpec{
		ReadonlyRootfs: true,
		Mounts:         []runtime.Mount{{Type: runtime.MountTmpfs, Target: "/scratch", TmpfsSizeBytes: 1 << 20}},
		Command:        []string{"write", "/scratch/x", "tmpfs"}})
	if st.ExitCode != 0 {
		t.Errorf("tmpfs write on a read-only root: exit %d", st.ExitCode)
	}
	// The engine made the directory as root: remove it from a container,
	// so that a test run by another user can clean its temp dir.
	_, st = s.runToExit(ctx, t, rt, "cleanbind", runtime.ContainerSpec{
		Mounts:  []runtime.Mount{{Type: runtime.MountBind, Source: parent, Target: "/parent"}},
		Command: []string{"rm", "/parent/made-by-the-runtime"}})
	if st.ExitCode != 0 {
		t.Errorf("removing the bind source: exit %d", st.ExitCode)
	}

	vols, err := rt.ListVolumes(ctx, map[string]string{LabelRun: s.runID, "berthtest.volume": "task"})
	if err != nil || len(vols) != 1 || vols[0].Name != vol.Name || vols[0].Labels["berthtest.volume"] != "task" {
		t.Errorf("ListVolumes = %+v, %v; want the volume", vols, err)
	}
	// In use: removal is refused until its containers are gone.
	if err := rt.RemoveVolume(ctx, vol.Name); !runtime.IsConflict(err) {
		t.Errorf("RemoveVolume while used = %v, want a conflict", err)
	}
	cs, err := rt.List(ctx, map[string]string{LabelRun: s.runID})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if strings.HasPrefix(c.Name, s.name(t, "")) {
			if err := rt.RemoveContainer(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := rt.RemoveVolume(ctx, vol.Name); err != nil {
		t.Fatalf("RemoveVolume: %v", err)
	}
	if vols, _ := rt.ListVolumes(ctx, map[string]string{"berthtest.volume": "task", LabelRun: s.runID}); len(vols) != 0 {
		t.Errorf("volume still listed after removal: %+v", vols)
	}
	if err := rt.RemoveVolume(ctx, vol.Name); err != nil {
		t.Errorf("RemoveVolume again = %v, want nil", err)
	}
}

func testHealth(t *testing.T, s *suite) {
	ctx := testCtx(t)
	rt := s.runtime(t)
	ev := subscribe(ctx, rt)
	check := func(cmd ...string) *runtime.HealthCheck {
		return &runtime.HealthCheck{Command: append([]string{"CMD"}, cmd...),
			Interval: 200 * time.Millisecond, Timeout: 5 * time.Second, Retries: 2}
	}
	healthy := s.start(ctx, t, rt, "healthy", runtime.ContainerSpec{Command: []string{"serve", "8080"},
		HealthCheck: check("/app", "fetch", "http://localhost:8080/health", "1s")})
	sick := s.start(ctx, t, rt, "sick", runtime.ContainerSpec{HealthCheck: check("/app", "exit", "1")})
	ev.await(t, "healthy", func(e runtime.Event) bool {
		return e.ContainerID == healthy && e.Type == runtime.EventHealth && e.Health == runtime.HealthHealthy
	})
	ev.await(t, "unhealthy", func(e runtime.Event) bool {
		return e.ContainerID == sick && e.Type == runtime.EventHealth && e.Health == runtime.HealthUnhealthy
	})
	h, err := rt.InspectContainer(ctx, healthy)
	if err != nil || h.Health.Status != runtime.HealthHealthy {
		t.Errorf("healthy container: %+v, %v", h.Health, err)
	}
	u, err := rt.InspectContainer(ctx, sick)
	if err != nil || u.Health.Status != runtime.HealthUnhealthy || u.Health.FailingStreak < 2 {
		t.Errorf("unhealthy container: %+v, %v", u.Health, err)
	}
	if n, _ := rt.InspectContainer(ctx, s.start(ctx, t, rt, "nocheck", runtime.ContainerSpec{})); n.Health.Status != runtime.HealthNone {
		t.Errorf("container without a check: health %q, want none", n.Health.Status)
	}
}

func testStop(t *testing.T, s *suite) {
	ctx := testCtx(t)
	rt := s.runtime(t)
	ev := subscribe(ctx, rt)

	// A program that ignores SIGTERM is killed when the timeout runs out.
	stubborn := s.start(ctx, t, rt, "stubborn", runtime.ContainerSpec{Command: []string{"ignore-sigterm"}})
	waitLog(ctx, t, rt, stubborn, "ready")
	started := time.Now()
	if err := rt.StopContainer(ctx, stubborn, time.Second); err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	if took := time.Since(started); took < 900*time.Millisecond {
		t.Errorf("stop took %v, before the 1s timeout", took)
	}
	info, err := rt.InspectContainer(ctx, stubborn)
	if err != nil || info.State != runtime.StateExited || info.ExitCode != 137 {
		t.Errorf("after stop: state %s exit %d (%v), want exited 137", info.State, info.ExitCode, err)
	}
	ev.await(t, "die 137", func(e runtime.Event) bool {
		return e.ContainerID == stubborn && e.Type == runtime.EventDie && e.ExitCode == 137
	})

	// A program that handles the stop signal ends long before the timeout;
	// the spec's stop signal is the one sent.
	polite := s.start(ctx, t, rt, "polite", runtime.ContainerSpec{Command: []string{"sleep"}, StopSignal: "SIGINT"})
	waitLog(ctx, t, rt, polite, "sleeping")
	started = time.Now()
	if err := rt.StopContainer(ctx, polite, 20*time.Second); err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	if took := time.Since(started); took > 10*time.Second {
		t.Errorf("stop took %v for a program that exits on its signal", took)
	}
	info, err = rt.InspectContainer(ctx, polite)
	if err != nil || info.ExitCode != 0 {
		t.Errorf("polite stop: exit %d (%v), want 0", info.ExitCode, err)
	}
	if out := logText(ctx, t, rt, polite); !strings.Contains(out, "signal: interrupt") {
		t.Errorf("the program did not get SIGINT:\n%s", out)
	}
	// The default signal is SIGTERM; stopping a stopped container is fine.
	term := s.start(ctx, t, rt, "term", runtime.ContainerSpec{Command: []string{"sleep"}, StopTimeout: 20 * time.Second})
	waitLog(ctx, t, rt, term, "sleeping")
	if err := rt.StopContainer(ctx, term, -1); err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	if out := logText(ctx, t, rt, term); !strings.Contains(out, "signal: terminated") {
		t.Errorf("the program did not get SIGTERM:\n%s", out)
	}
	if err := rt.StopContainer(ctx, term, time.Second); err != nil {
		t.Errorf("StopContainer of a stopped container = %v, want nil", err)
	}
}

func testLogs(t *testing.T, s *suite) {
	ctx := testCtx(t)
	rt := s.runtime(t)
	id, _ := s.runToExit(ctx, t, rt, "logs", runtime.ContainerSpec{Command: []string{"logs", "3", "10ms"}})
	all := logLines(ctx, t, rt, id, runtime.LogOptions{})
	var out, errs []string
	for _, e := range all {
		if e.Time.IsZero() || e.Partial {
			t.Errorf("entry %+v: want a time, whole", e)
		}
		switch e.Stream {
		case runtime.Stdout:
			out = append(out, e.Line)
		case runtime.Stderr:
			errs = append(errs, e.Line)
		}
	}
	if strings.Join(out, ",") != "out 1,out 2,out 3" || strings.Join(errs, ",") != "err 1,err 2,err 3" {
		t.Errorf("stdout %q stderr %q", out, errs)
	}
	// Each stream is in order; across streams the engine records lines as
	// its readers of the two pipes get them.
	last := map[runtime.LogStream]time.Time{}
	for _, e := range all {
		if e.Time.Before(last[e.Stream]) {
			t.Errorf("%s entries out of order: %v after %v", e.Stream, e.Time, last[e.Stream])
		}
		last[e.Stream] = e.Time
	}
	if tail := logLines(ctx, t, rt, id, runtime.LogOptions{Tail: 2}); len(tail) != 2 || tail[1].Line != all[len(all)-1].Line {
		t.Errorf("Tail 2 = %+v", tail)
	}
	if since := logLines(ctx, t, rt, id, runtime.LogOptions{Since: all[len(all)-1].Time.Add(time.Millisecond)}); len(since) != 0 {
		t.Errorf("Since after the last line = %+v, want nothing", since)
	}
}

func testFollowLogs(t *testing.T, s *suite) {
	ctx := testCtx(t)
	rt := s.runtime(t)
	id := s.create(ctx, t, rt, "follow", runtime.ContainerSpec{Command: []string{"logs", "4", "150ms"}})
	if err := rt.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	// Follow returns lines as they come and ends when the container does.
	lines := logLines(ctx, t, rt, id, runtime.LogOptions{Follow: true})
	var got []string
	for _, l := range lines {
		got = append(got, l.Line)
	}
	if joined := strings.Join(got, ","); len(lines) != 8 || !strings.Contains(joined, "out 4") || !strings.Contains(joined, "err 4") {
		t.Errorf("followed %d lines: %q", len(lines), got)
	}
	info, err := rt.InspectContainer(ctx, id)
	if err != nil || info.State != runtime.StateExited {
		t.Errorf("follow ended while the container was %s (%v)", info.State, err)
	}
	// A cancelled follow ends with the context's error.
	sleeper := s.start(ctx, t, rt, "sleeper", runtime.ContainerSpec{Command: []string{"sleep"}})
	cctx, cancel := context.WithCancel(ctx)
	lr, err := rt.Logs(cctx, sleeper, runtime.LogOptions{Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer lr.Close()
	if e, err := lr.Next(); err != nil || e.Line != "sleeping" {
		t.Fatalf("first followed line = %+v, %v", e, err)
	}
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err := lr.Next(); !errors.Is(err, context.Canceled) {
		t.Errorf("Next after cancel = %v, want context.Canceled", err)
	}
}

func testExec(t *testing.T, s *suite) {
	ctx := testCtx(t)
	rt := s.runtime(t)
	id := s.start(ctx, t, rt, "target", runtime.ContainerSpec{Command: []string{"sleep"}})
	waitLog(ctx, t, rt, id, "sleeping")
	res, err := rt.Exec(ctx, id, runtime.ExecSpec{Command: []string{"/app", "print", "hello", "exec"}})
	if err != nil || res.ExitCode != 0 || string(res.Stdout) != "hello\nexec\n" {
		t.Errorf("Exec print = %+v (%q), %v", res, res.Stdout, err)
	}
	res, err = rt.Exec(ctx, id, runtime.ExecSpec{Command: []string{"/app", "exit", "4"}})
	if err != nil || res.ExitCode != 4 {
		t.Errorf("Exec exit 4 = %+v, %v", res, err)
	}
	res, err = rt.Exec(ctx, id, runtime.ExecSpec{Command: []string{"/app", "env"}, Env: map[string]string{"X": "1"},
		User: "4321", WorkingDir: "/srv"})
	if out := string(res.Stdout); err != nil || !strings.Contains(out, "env:X=1\n") || !strings.Contains(out, "uid=4321\n") ||
		!strings.Contains(out, "cwd=/srv\n") {
		t.Errorf("Exec env = %q, %v", out, err)
	}
	res, err = rt.Exec(ctx, id, runtime.ExecSpec{Command: []string{"/app", "read", "/nonexistent"}})
	if err != nil || res.ExitCode != 1 || !strings.Contains(string(res.Stderr), "no such file") {
		t.Errorf("Exec failing = %+v (%q), %v", res, res.Stderr, err)
	}

	// ExecStream: stdin reaches the command, which reads it to its end;
	// with a TTY the output is the terminal's (\n becomes \r\n).
	var out, errOut bytes.Buffer
	code, err := rt.ExecStream(ctx, id, runtime.ExecSpec{Command: []string{"/app", "read", "/dev/stdin"}},
		runtime.ExecIO{Stdin: strings.NewReader("from stdin"), Stdout: &out, Stderr: &errOut})
	if err != nil || code != 0 || out.String() != "from stdin" {
		t.Errorf("ExecStream with stdin = %d %q %q, %v", code, out.String(), errOut.String(), err)
	}
	out.Reset()
	resize := make(chan runtime.TermSize, 1)
	resize <- runtime.TermSize{Width: 100, Height: 40}
	code, err = rt.ExecStream(ctx, id, runtime.ExecSpec{Command: []string{"/app", "print", "tty"}}, runtime.ExecIO{TTY: true, Stdout: &out, Resize: resize})
	if err != nil || code != 0 || !strings.Contains(out.String(), "tty\r\n") {
		t.Errorf("ExecStream with a TTY = %d %q, %v", code, out.String(), err)
	}
	if code, err := rt.ExecStream(ctx, id, runtime.ExecSpec{Command: []string{"/app", "exit", "5"}}, runtime.ExecIO{}); err != nil || code != 5 {
		t.Errorf("ExecStream exit 5 = %d, %v", code, err)
	}
	if err := rt.StopContainer(ctx, id, time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Exec(ctx, id, runtime.ExecSpec{Command: []string{"/app", "exit", "0"}}); !runtime.IsConflict(err) {
		t.Errorf("Exec in a stopped container = %v, want a conflict", err)
	}
}

func testReadopt(t *testing.T, s *suite) {
	ctx := testCtx(t)
	group := randomID()
	labels := s.labels("berthtest.group", group, "com.amazonaws.ecs.task-arn", "arn:aws:ecs:us-east-1:000000000000:task/c/"+group)
	before := s.runtime(t)
	running := s.start(ctx, t, before, "running", runtime.ContainerSpec{Labels: labels, Command: []string{"sleep"}})
	created := s.create(ctx, t, before, "created", runtime.ContainerSpec{Labels: labels})
	_, _ = s.runToExit(ctx, t, before, "other", runtime.ContainerSpec{Command: []string{"exit", "0"}})
	before.Close()

	// A new runtime (a restarted Berth) finds them by their labels.
	after := s.runtime(t)
	got, err := after.List(ctx, map[string]string{"berthtest.group": group})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	byID := map[runtime.ContainerID]runtime.ContainerInfo{}
	for _, c := range got {
		byID[c.ID] = c
	}
	if len(got) != 2 || byID[running].State != runtime.StateRunning || byID[created].State != runtime.StateCreated {
		t.Fatalf("List = %+v, want the running and the created container", got)
	}
	for _, c := range got {
		if len(c.Labels) != len(labels) {
			t.Errorf("%s: labels %v, want exactly %v", c.Name, c.Labels, labels)
		}
		for k, v := range labels {
			if c.Labels[k] != v {
				t.Errorf("%s: label %s = %q, want %q", c.Name, k, c.Labels[k], v)
			}
		}
	}
	if none, err := after.List(ctx, map[string]string{"berthtest.group": "not-" + group}); err != nil || len(none) != 0 {
		t.Errorf("List of another group = %+v, %v", none, err)
	}
	// And drives them: the adopted container stops, and the stop is seen.
	ev := subscribe(ctx, after)
	if err := after.StopContainer(ctx, running, time.Second); err != nil {
		t.Fatalf("StopContainer after re-adoption: %v", err)
	}
	e := ev.await(t, "die", func(e runtime.Event) bool { return e.ContainerID == running && e.Type == runtime.EventDie })
	if e.Labels["berthtest.group"] != group || e.Sandbox || e.Name != s.name(t, "running") {
		t.Errorf("die event = %+v, want the container's labels and name", e)
	}
	if err := after.RemoveContainer(ctx, created); err != nil {
		t.Fatal(err)
	}
	ev.await(t, "destroy", func(e runtime.Event) bool { return e.ContainerID == created && e.Type == runtime.EventDestroy })
}

func testConflictRemove(t *testing.T, s *suite) {
	ctx := testCtx(t)
	rt := s.runtime(t)
	first := s.start(ctx, t, rt, "dup", runtime.ContainerSpec{Command: []string{"sleep"}})
	_, err := rt.CreateContainer(ctx, runtime.ContainerSpec{Name: s.name(t, "dup"), Image: s.ref, Labels: s.labels()})
	var ce *runtime.ConflictError
	if !errors.As(err, &ce) || ce.ID != string(first) || !runtime.IsConflict(err) {
		t.Fatalf("CreateContainer of an existing name = %v, want a ConflictError with id %s", err, first)
	}
	// Removal kills a running container and is idempotent.
	if err := rt.RemoveContainer(ctx, first); err != nil {
		t.Fatalf("RemoveContainer: %v", err)
	}
	if _, err := rt.InspectContainer(ctx, first); !runtime.IsNotFound(err) {
		t.Errorf("InspectContainer after removal = %v, want not found", err)
	}
	if err := rt.RemoveContainer(ctx, first); err != nil {
		t.Errorf("RemoveContainer again = %v, want nil", err)
	}
	for name, err := range map[string]error{
		"StartContainer": rt.StartContainer(ctx, first),
		"StopContainer":  rt.StopContainer(ctx, first, time.Second),
	} {
		if !runtime.IsNotFound(err) {
			t.Errorf("%s of a removed container = %v, want not found", name, err)
		}
	}
	if _, err := rt.Wait(ctx, first); !runtime.IsNotFound(err) {
		t.Errorf("Wait of a removed container = %v, want not found", err)
	}
	if _, err := rt.Logs(ctx, first, runtime.LogOptions{}); !runtime.IsNotFound(err) {
		t.Errorf("Logs of a removed container = %v, want not found", err)
	}
	// The name is free again.
	again := s.create(ctx, t, rt, "dup", runtime.ContainerSpec{})
	if again == first {
		t.Errorf("re-created container has the old id")
	}
}

func testInvalid(t *testing.T, s *suite) {
	ctx := testCtx(t)
	rt := s.runtime(t)
	base := func(suffix string) runtime.ContainerSpec {
		return runtime.ContainerSpec{Name: s.name(t, suffix), Image: s.ref, Labels: s.labels()}
	}
	cases := map[string]runtime.ContainerSpec{}
	c := base("noname")
	c.Name = ""
	cases["no name"] = c
	c = base("awsvpc")
	c.Sandbox = runtime.Sandbox{NetworkMode: runtime.NetworkAWSVPC}
	cases["awsvpc without a sandbox"] = c
	c = base("proto")
	c.PortMappings = []runtime.PortMapping{{ContainerPort: 80, Protocol: "sctp"}}
	cases["bad protocol"] = c
	c = base("health")
	c.HealthCheck = &runtime.HealthCheck{Command: []string{"curl", "localhost"}}
	cases["health check without CMD"] = c
	c = base("mount")
	c.Mounts = []runtime.Mount{{Type: runtime.MountBind, Source: "relative/path", Target: "/x"}}
	cases["relative bind source"] = c
	c = base("mem")
	c.Resources.MemoryBytes = 1 << 20
	cases["memory below the minimum"] = c
	c = base("env")
	c.Env = map[string]string{"A=B": "c"}
	cases["bad env name"] = c
	for what, spec := range cases {
		if _, err := rt.CreateContainer(ctx, spec); !runtime.IsInvalidArgument(err) {
			t.Errorf("%s: CreateContainer = %v, want invalid argument", what, err)
		}
	}
	c = base("noimage")
	c.Image = s.reg.Host + "/berthtest/never-pulled:v1"
	if _, err := rt.CreateContainer(ctx, c); !runtime.IsNotFound(err) {
		t.Errorf("CreateContainer of an image not pulled = %v, want not found", err)
	}
	if _, err := rt.CreateSandbox(ctx, runtime.SandboxSpec{Name: s.name(t, "sb"), NetworkMode: "overlay"}); !runtime.IsInvalidArgument(err) {
		t.Errorf("CreateSandbox(overlay) = %v, want invalid argument", err)
	}
	if _, err := rt.InspectContainer(ctx, "berthtest-no-such-container"); !runtime.IsNotFound(err) {
		t.Errorf("InspectContainer(unknown) = %v, want not found", err)
	}
}
