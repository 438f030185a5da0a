package docker

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/berth-dev/berth/runtime"
)

const mib = 1 << 20

func TestEffectiveResources(t *testing.T) {
	for _, tc := range []struct {
		name string
		own  runtime.Resources
		task runtime.Limits
		want [5]int64 // shares, nanoCPUs, memory, reservation, swap
	}{
		{"no limits", runtime.Resources{}, runtime.Limits{}, [5]int64{}},
		{"own only", runtime.Resources{CPUShares: 256, MemoryBytes: 64 * mib}, runtime.Limits{},
			[5]int64{256, 0, 64 * mib, 0, 64 * mib}},
		{"task caps own", runtime.Resources{MemoryBytes: 512 * mib, NanoCPUs: 2e9}, runtime.Limits{MemoryBytes: 256 * mib, NanoCPUs: 1e9},
			[5]int64{0, 1e9, 256 * mib, 0, 256 * mib}},
		{"own below task", runtime.Resources{MemoryBytes: 128 * mib}, runtime.Limits{MemoryBytes: 256 * mib},
			[5]int64{0, 0, 128 * mib, 0, 128 * mib}},
		{"task only", runtime.Resources{MemoryReservationBytes: 64 * mib}, runtime.Limits{MemoryBytes: 256 * mib},
			[5]int64{0, 0, 256 * mib, 64 * mib, 256 * mib}},
		{"reservation above limit", runtime.Resources{MemoryBytes: 64 * mib, MemoryReservationBytes: 128 * mib}, runtime.Limits{},
			[5]int64{0, 0, 64 * mib, 64 * mib, 64 * mib}},
		{"soft only", runtime.Resources{MemoryReservationBytes: 64 * mib}, runtime.Limits{},
			[5]int64{0, 0, 0, 64 * mib, 0}},
		{"one cpu unit", runtime.Resources{CPUShares: 1}, runtime.Limits{}, [5]int64{2, 0, 0, 0, 0}},
	} {
		got, err := effectiveResources(tc.own, tc.task)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if g := [5]int64{got.CPUShares, got.NanoCPUs, got.Memory, got.MemoryReservation, got.MemorySwap}; g != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, g, tc.want)
		}
	}
	for _, bad := range []runtime.Resources{{MemoryBytes: 5 * mib}, {CPUShares: -1}, {MemoryReservationBytes: -1}} {
		if _, err := effectiveResources(bad, runtime.Limits{}); !runtime.IsInvalidArgument(err) {
			t.Errorf("%+v: %v, want invalid argument", bad, err)
		}
	}
}

func TestHealthConfig(t *testing.T) {
	h, err := healthConfig(runtime.HealthCheck{Command: []string{"CMD-SHELL", "curl -f", "http://localhost/"},
		Interval: 5 * time.Second, Timeout: 2 * time.Second, StartPeriod: 10 * time.Second, Retries: 3})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(h.Test, "|") != "CMD-SHELL|curl -f http://localhost/" || h.Interval != 5*time.Second ||
		h.Timeout != 2*time.Second || h.StartPeriod != 10*time.Second || h.Retries != 3 {
		t.Errorf("got %+v", h)
	}
	for _, bad := range []runtime.HealthCheck{
		{Command: []string{"CMD"}},
		{Command: []string{"NONE"}},
		{Command: []string{"curl", "localhost"}},
		{Command: []string{"CMD", "true"}, Interval: time.Microsecond},
		{Command: []string{"CMD", "true"}, Retries: -1},
	} {
		if _, err := healthConfig(bad); !runtime.IsInvalidArgument(err) {
			t.Errorf("%+v: %v, want invalid argument", bad, err)
		}
	}
}

func TestContainerConfigNetworkModes(t *testing.T) {
	base := runtime.ContainerSpec{Name: "c", Image: "img", Labels: map[string]string{"dev.berth.kind": "sandbox", "app": "x"}}

	spec := base
	spec.Sandbox = runtime.Sandbox{ID: "pause123", NetworkMode: runtime.NetworkAWSVPC}
	cfg, hc, err := containerConfig(spec)
	if err != nil {
		t.Fatal(err)
	}
	if hc.NetworkMode != "container:pause123" || cfg.Labels[labelSandbox] != "pause123" {
		t.Errorf("awsvpc: network mode %q, labels %v", hc.NetworkMode, cfg.Labels)
	}
	// A caller's label cannot pass a container off as a sandbox.
	if cfg.Labels[labelKind] != kindContainer || cfg.Labels["app"] != "x" || cfg.Labels[labelManaged] != "true" {
		t.Errorf("labels %v", cfg.Labels)
	}
	spec.PortMappings = []runtime.PortMapping{{ContainerPort: 80}}
	if _, _, err := containerConfig(spec); !runtime.IsInvalidArgument(err) {
		t.Errorf("awsvpc with port mappings: %v, want invalid argument", err)
	}

	spec = base
	spec.PortMappings = []runtime.PortMapping{{ContainerPort: 80}, {ContainerPort: 53, HostPort: 5353, Protocol: runtime.UDP, HostIP: "127.0.0.1"}}
	spec.DNSServers = []string{"10.0.0.2"}
	spec.ExtraHosts = []runtime.HostEntry{{Hostname: "db", IP: "10.0.0.3"}}
	spec.Mounts = []runtime.Mount{
		{Type: runtime.MountBind, Source: "/srv/data", Target: "/data", ReadOnly: true},
		{Type: runtime.MountVolume, Source: "task-vol", Target: "/vol"},
		{Type: runtime.MountTmpfs, Target: "/tmp", TmpfsSizeBytes: mib},
	}
	cfg, hc, err = containerConfig(spec)
	if err != nil {
		t.Fatal(err)
	}
	if hc.NetworkMode != "bridge" || len(cfg.ExposedPorts) != 2 || len(hc.PortBindings) != 2 {
		t.Errorf("bridge: mode %q exposed %v bindings %v", hc.NetworkMode, cfg.ExposedPorts, hc.PortBindings)
	}
	for p, bs := range hc.PortBindings {
		switch p.String() {
		case "80/tcp":
			if bs[0].HostPort != "" || bs[0].HostIP.String() != "0.0.0.0" {
				t.Errorf("80/tcp: %+v, want a dynamic IPv4 port", bs)
			}
		case "53/udp":
			if bs[0].HostPort != "5353" || bs[0].HostIP.String() != "127.0.0.1" {
				t.Errorf("53/udp: %+v", bs)
			}
		default:
			t.Errorf("unexpected port %s", p)
		}
	}
	if len(hc.DNS) != 1 || hc.ExtraHosts[0] != "db:10.0.0.3" || hc.Binds[0] != "/srv/data:/data:ro" ||
		len(hc.Mounts) != 2 || hc.LogConfig.Type != "json-file" {
		t.Errorf("host config %+v", hc)
	}

	spec = base
	spec.Sandbox = runtime.Sandbox{NetworkMode: "overlay"}
	if _, _, err := containerConfig(spec); !runtime.IsInvalidArgument(err) {
		t.Errorf("unknown mode: %v, want invalid argument", err)
	}
}

func TestParseLogLines(t *testing.T) {
	got := parseLogLines(runtime.Stderr, []byte("2025-01-02T03:04:05.123456789Z first\n2025-01-02T03:04:06.000000000Z \n2025-01-02T03:04:07.5Z partial"))
	want := []runtime.LogEntry{
		{Time: time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC), Stream: runtime.Stderr, Line: "first"},
		{Time: time.Date(2025, 1, 2, 3, 4, 6, 0, time.UTC), Stream: runtime.Stderr, Line: ""},
		{Time: time.Date(2025, 1, 2, 3, 4, 7, 5e8, time.UTC), Stream: runtime.Stderr, Line: "partial", Partial: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if !got[i].Time.Equal(want[i].Time) || got[i].Line != want[i].Line || got[i].Partial != want[i].Partial || got[i].Stream != want[i].Stream {
			t.Errorf("line %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if got := parseLogLines(runtime.Stdout, []byte("no timestamp here\n")); len(got) != 1 || got[0].Line != "no timestamp here" || !got[0].Time.IsZero() {
		t.Errorf("line without a timestamp: %+v", got)
	}
}

func frame(stream byte, payload string) []byte {
	h := make([]byte, 8)
	h[0] = stream
	binary.BigEndian.PutUint32(h[4:], uint32(len(payload)))
	return append(h, payload...)
}

func TestLogReaderDemultiplexes(t *testing.T) {
	var in bytes.Buffer
	in.Write(frame(streamStdout, "2025-01-02T03:04:05Z out\n"))
	in.Write(frame(streamStderr, "2025-01-02T03:04:06Z err\n"))
	lr := &logReader{ctx: context.Background(), rc: io.NopCloser(&in), fr: newFrameReader(&in)}
	a, err := lr.Next()
	if err != nil || a.Stream != runtime.Stdout || a.Line != "out" {
		t.Fatalf("first = %+v, %v", a, err)
	}
	b, err := lr.Next()
	if err != nil || b.Stream != runtime.Stderr || b.Line != "err" {
		t.Fatalf("second = %+v, %v", b, err)
	}
	if _, err := lr.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("end = %v, want EOF", err)
	}

	// Corrupt streams are errors, not panics or huge allocations.
	for name, data := range map[string][]byte{
		"truncated header":  {1, 0, 0},
		"truncated payload": frame(streamStdout, "hello")[:10],
		"unknown stream":    frame(7, "x"),
		"huge frame":        {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff},
	} {
		lr := &logReader{ctx: context.Background(), rc: io.NopCloser(bytes.NewReader(data)), fr: newFrameReader(bytes.NewReader(data))}
		if _, err := lr.Next(); err == nil || errors.Is(err, io.EOF) {
			t.Errorf("%s: %v, want an error", name, err)
		}
	}
	data := frame(streamSystemErr, "the engine broke")
	lr = &logReader{ctx: context.Background(), rc: io.NopCloser(bytes.NewReader(data)), fr: newFrameReader(bytes.NewReader(data))}
	if _, err := lr.Next(); err == nil || !strings.Contains(err.Error(), "the engine broke") {
		t.Errorf("system error frame: %v", err)
	}
}

func TestPullReason(t *testing.T) {
	for msg, want := range map[string]runtime.PullReason{
		"manifest for localhost:5000/x:v1 not found: manifest unknown: manifest unknown":                        runtime.PullNotFound,
		"pull access denied for x, repository does not exist or may require 'docker login': denied":             runtime.PullUnauthorized,
		"Head \"http://127.0.0.1:5000/v2/x/manifests/v1\": no basic auth credentials":                           runtime.PullUnauthorized,
		"Get \"http://127.0.0.1:1/v2/\": dial tcp 127.0.0.1:1: connect: connection refused":                     runtime.PullNetwork,
		"Get \"https://nowhere.invalid/v2/\": dial tcp: lookup nowhere.invalid: no such host":                   runtime.PullNetwork,
		"failed to register layer: Error processing tar file(exit status 1): write /x: no space left on device": runtime.PullFailed,
	} {
		if got := pullReason(errors.New(msg)); got != want {
			t.Errorf("%q: %q, want %q", msg, got, want)
		}
	}
}

func TestRepoDigest(t *testing.T) {
	const d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	const d2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	digests := []string{"localhost:4566/team/app@" + d1, "busybox@" + d2}
	for ref, want := range map[string]string{
		"localhost:4566/team/app:v1":     d1,
		"docker.io/library/busybox:1.36": d2,
		"busybox":                        d2,
		"other/app:v1":                   "",
		"localhost:4566/team/app@" + d2:  d2, // a digest reference is its own answer
	} {
		if got := repoDigest(ref, digests); got != want {
			t.Errorf("%s: %q, want %q", ref, got, want)
		}
	}
}

func TestEventOf(t *testing.T) {
	m := events.Message{
		Type:   events.ContainerEventType,
		Action: "health_status: unhealthy",
		Actor: events.Actor{ID: "abc", Attributes: map[string]string{
			"name": "web", "image": "img", labelManaged: "true", labelKind: kindContainer, "com.amazonaws.ecs.task-arn": "arn",
		}},
		TimeNano: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano(),
	}
	ev, ok := eventOf(m)
	if !ok || ev.Type != runtime.EventHealth || ev.Health != runtime.HealthUnhealthy || ev.Name != "web" || ev.ContainerID != "abc" {
		t.Errorf("health event = %+v, %t", ev, ok)
	}
	if len(ev.Labels) != 1 || ev.Labels["com.amazonaws.ecs.task-arn"] != "arn" || ev.Sandbox {
		t.Errorf("labels %v sandbox %t", ev.Labels, ev.Sandbox)
	}
	m.Action, m.Actor.Attributes["exitCode"], m.Actor.Attributes[labelKind] = "die", "137", kindSandbox
	if ev, ok := eventOf(m); !ok || ev.Type != runtime.EventDie || ev.ExitCode != 137 || !ev.Sandbox {
		t.Errorf("die event = %+v, %t", ev, ok)
	}
	m.Action = "exec_start: /bin/sh"
	if _, ok := eventOf(m); ok {
		t.Errorf("exec_start was relayed")
	}
}

func TestPauseImageIsDeterministic(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		a, err := buildPauseImage(arch)
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		b, err := buildPauseImage(arch)
		if err != nil {
			t.Fatal(err)
		}
		if a.ref != b.ref || a.id != b.id || !bytes.Equal(a.tarball, b.tarball) {
			t.Errorf("%s: two builds differ", arch)
		}
		if !strings.HasPrefix(a.ref, PauseRepository+":") {
			t.Errorf("%s: ref %q", arch, a.ref)
		}
	}
	if _, err := buildPauseImage("s390x"); !runtime.IsUnsupported(err) {
		t.Errorf("unknown architecture: %v, want unsupported", err)
	}
}
