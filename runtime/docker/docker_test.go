package docker_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/docker"
	"github.com/berth-dev/berth/runtime/runtimetest"
)

// engine returns a runtime for the local engine. Without one the test is
// skipped, except under CI, where a missing engine is a failure.
func engine(t *testing.T) *docker.Runtime {
	t.Helper()
	rt, err := docker.New(docker.Options{})
	if err != nil {
		t.Fatalf("docker.New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := rt.Info(ctx); err != nil {
		rt.Close()
		if os.Getenv("CI") == "" {
			t.Skipf("no Docker engine: %v", err)
		}
		t.Fatalf("no Docker engine under CI: %v", err)
	}
	return rt
}

func TestSuite(t *testing.T) {
	engine(t).Close()
	runtimetest.Run(t, func() runtime.Runtime {
		rt, err := docker.New(docker.Options{})
		if err != nil {
			t.Fatalf("docker.New: %v", err)
		}
		return rt
	})
}

func TestOpenByName(t *testing.T) {
	rt, err := runtime.Open(context.Background(), "docker", map[string]string{"host": "unix:///nonexistent.sock"})
	if err != nil {
		t.Fatalf("Open(docker): %v", err)
	}
	defer rt.Close()
	// The runtime opens without an engine (Berth must serve while the
	// engine is down) and says so when used.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := rt.Info(ctx); !runtime.IsUnavailable(err) {
		t.Errorf("Info without an engine = %v, want unavailable", err)
	}
	if _, err := rt.PullImage(ctx, "localhost:1/x:y", nil); !runtime.IsUnavailable(err) {
		t.Errorf("PullImage without an engine = %v, want unavailable", err)
	}
	if _, err := runtime.Open(context.Background(), "docker", map[string]string{"hots": "x"}); !runtime.IsInvalidArgument(err) {
		t.Errorf("Open with a misspelt parameter = %v, want invalid argument", err)
	}
}

// The pause program ends on SIGTERM at once (as PID 1 it must handle the
// signal itself), so removing a task never waits for a kill timeout.
func TestPauseStopsOnSIGTERM(t *testing.T) {
	rt := engine(t)
	defer rt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sb, err := rt.CreateSandbox(ctx, runtime.SandboxSpec{Name: "berthtest-pause-" + suffix(), NetworkMode: runtime.NetworkAWSVPC})
	if err != nil {
		t.Fatalf("CreateSandbox: %v", err)
	}
	defer rt.RemoveSandbox(context.Background(), sb.ID)
	start := time.Now()
	cli := engineClient(t)
	if _, err := cli.ContainerStop(ctx, string(sb.ID), client.ContainerStopOptions{}); err != nil {
		t.Fatalf("stop pause: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("pause took %v to stop", took)
	}
	res, err := cli.ContainerInspect(ctx, string(sb.ID), client.ContainerInspectOptions{})
	if err != nil || res.Container.State.ExitCode != 0 {
		t.Errorf("pause exit: %+v, %v", res.Container.State, err)
	}
	if got, err := rt.InspectSandbox(ctx, sb.ID); err != nil || got.Ready {
		t.Errorf("stopped sandbox: ready %t, %v; want not ready", got.Ready, err)
	}
}

// A network or pause image pruned behind Berth's back is made again.
func TestSandboxSurvivesPrune(t *testing.T) {
	engine(t).Close()
	netName := "berthtest-net-" + suffix()
	rt, err := docker.New(docker.Options{Network: netName})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cli := engineClient(t)
	defer cli.NetworkRemove(context.Background(), netName, client.NetworkRemoveOptions{})

	first, err := rt.CreateSandbox(ctx, runtime.SandboxSpec{Name: "berthtest-prune1-" + suffix(), NetworkMode: runtime.NetworkAWSVPC})
	if err != nil {
		t.Fatalf("CreateSandbox: %v", err)
	}
	if err := rt.RemoveSandbox(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.NetworkRemove(ctx, netName, client.NetworkRemoveOptions{}); err != nil {
		t.Fatalf("removing the network: %v", err)
	}
	second, err := rt.CreateSandbox(ctx, runtime.SandboxSpec{Name: "berthtest-prune2-" + suffix(), NetworkMode: runtime.NetworkAWSVPC})
	if err != nil {
		t.Fatalf("CreateSandbox after the network was removed: %v", err)
	}
	defer rt.RemoveSandbox(context.Background(), second.ID)
	if second.Network.IPv4Address == "" {
		t.Errorf("sandbox without an address: %+v", second)
	}
}

// GPUs are requested from the engine; without a GPU driver the start fails
// as unsupported rather than as an anonymous engine error.
func TestGPURequest(t *testing.T) {
	rt := engine(t)
	defer rt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pause, err := rt.CreateSandbox(ctx, runtime.SandboxSpec{Name: "berthtest-gpu-sb-" + suffix(), NetworkMode: runtime.NetworkAWSVPC})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.RemoveSandbox(context.Background(), pause.ID)
	// The pause image is the one image every engine has once Berth ran.
	res, err := engineClient(t).ContainerInspect(ctx, string(pause.ID), client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id, err := rt.CreateContainer(ctx, runtime.ContainerSpec{Name: "berthtest-gpu-" + suffix(), Image: res.Container.Config.Image,
		GPUs: &runtime.GPURequest{Count: 1}})
	if err != nil {
		t.Fatalf("CreateContainer with a GPU: %v", err)
	}
	defer rt.RemoveContainer(context.Background(), id)
	err = rt.StartContainer(ctx, id)
	if err != nil && !runtime.IsUnsupported(err) {
		t.Errorf("StartContainer with a GPU = %v, want success or unsupported", err)
	}
	t.Logf("StartContainer with a GPU: %v", err)
}

func engineClient(t *testing.T) *client.Client {
	t.Helper()
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func suffix() string {
	return strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
}
