package main_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/k8s/internal/k8stest"
	"github.com/berth-dev/berth/runtime/docker"
	"github.com/berth-dev/berth/runtime/runtimetest"
)

// startNodes runs `berth-k8s nodes` as Berth will for a node group and waits
// for its "running" line.
func startNodes(t *testing.T, bin string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"nodes"}, args...)...)
	logf, err := os.OpenFile(filepath.Join(t.TempDir(), "nodes.log"), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "berth-k8s nodes running ") {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("berth-k8s nodes: %q, %v", line, err)
	}
	return cmd
}

func stopNodes(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("berth-k8s nodes exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Error("berth-k8s nodes did not stop within 30s of SIGTERM")
	}
}

// A node group process is stopped and started again (Berth restarting, or
// the group's process replaced): the pod keeps running in the same container,
// adopted rather than restarted, and deleting it afterwards leaves nothing
// behind on the engine.
func TestNodeGroupProcessRestartAdoptsPods(t *testing.T) {
	if err := exec.Command("docker", "info").Run(); err != nil {
		t.Skip("no Docker engine:", err)
	}
	bin, _ := k8stest.Binaries(t)
	c := k8stest.Start(t, bin, t.TempDir())
	cs := c.Client(t)
	ctx := context.Background()

	image := "berth-k8s-nodes-test/app:v1"
	runtimetest.LoadImage(ctx, t, runtimetest.TestImage(t, goruntime.GOARCH), image)
	rt, err := docker.New(docker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	cluster := fmt.Sprintf("nodes-restart-%d", time.Now().UnixNano())
	sel := map[string]string{"berth.k8s.cluster": cluster}
	t.Cleanup(func() {
		bg := context.Background()
		left, _ := rt.List(bg, sel)
		for _, l := range left {
			_ = rt.RemoveContainer(bg, l.ID)
		}
		sbs, _ := rt.ListSandboxes(bg, sel)
		for _, sb := range sbs {
			_ = rt.RemoveSandbox(bg, sb.ID)
		}
	})

	args := []string{"--kubeconfig", c.Kubeconfig, "--names", "ip-10-0-3-1.ec2.internal", "--cluster", cluster,
		"--label", "eks.amazonaws.com/nodegroup=ng"}
	nodesCmd := startNodes(t, bin, args...)

	if _, err := cs.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: image, Args: []string{"serve", "8080"},
		}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	running := func(what string) corev1.ContainerStatus {
		t.Helper()
		var st corev1.ContainerStatus
		k8stest.Eventually(t, 60*time.Second, what, func(ctx context.Context) (bool, error) {
			p, err := cs.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
			if err != nil || p.Status.Phase != corev1.PodRunning || len(p.Status.ContainerStatuses) != 1 {
				return false, err
			}
			st = p.Status.ContainerStatuses[0]
			return st.State.Running != nil && st.Ready, nil
		})
		return st
	}
	before := running("pod web Running")

	stopNodes(t, nodesCmd)
	nodesCmd = startNodes(t, bin, args...)
	defer stopNodes(t, nodesCmd)

	// Wait for the new process to report the pod again, then compare.
	time.Sleep(3 * time.Second)
	after := running("pod web Running after the node process restarted")
	if after.ContainerID != before.ContainerID || after.RestartCount != 0 {
		t.Errorf("after restart container %s (restarts %d), want the same %s with no restart",
			after.ContainerID, after.RestartCount, before.ContainerID)
	}
	if list, err := rt.List(ctx, sel); err != nil || len(list) != 1 {
		t.Errorf("engine has %d containers for the cluster (%v), want exactly 1", len(list), err)
	}

	if err := cs.CoreV1().Pods("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	k8stest.Eventually(t, 60*time.Second, "the pod's container and sandbox removed", func(ctx context.Context) (bool, error) {
		left, err := rt.List(ctx, sel)
		if err != nil {
			return false, err
		}
		sbs, err := rt.ListSandboxes(ctx, sel)
		return len(left) == 0 && len(sbs) == 0, err
	})
}
