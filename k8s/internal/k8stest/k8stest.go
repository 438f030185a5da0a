// Package k8stest builds berth-k8s and kubectl once per test binary and runs
// control planes as child processes, the way Berth itself will.
package k8stest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ModuleDir is the k8s module's root (the directory holding build.sh).
func ModuleDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var (
	buildOnce             sync.Once
	buildErr              error
	berthK8sBin, kubectlB string
	buildTook             time.Duration
)

// Binaries runs build.sh once per test process into k8s/bin and returns the
// paths of berth-k8s and kubectl. The Go build cache makes a second run of
// the tests cost only the cache lookup.
func Binaries(t testing.TB) (berthK8s, kubectl string) {
	t.Helper()
	buildOnce.Do(func() {
		start := time.Now()
		dir := ModuleDir()
		out := filepath.Join(dir, "bin")
		cmd := exec.Command("bash", filepath.Join(dir, "build.sh"), out)
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("build.sh: %v\n%s", err, buf.String())
			return
		}
		berthK8sBin, kubectlB = filepath.Join(out, "berth-k8s"), filepath.Join(out, "kubectl")
		buildTook = time.Since(start)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	t.Logf("binaries ready (build.sh took %s this process)", buildTook.Round(time.Millisecond))
	return berthK8sBin, kubectlB
}

// Cluster is one running berth-k8s process.
type Cluster struct {
	Dir        string
	URL        string
	Kubeconfig string
	// ReadyAfter is the time from exec to the "berth-k8s ready" line.
	ReadyAfter time.Duration

	cmd  *exec.Cmd
	done chan error
	log  string
}

// Start runs berth-k8s on dir and waits for its ready line. The process is
// stopped at the end of the test if the test did not stop it.
func Start(t testing.TB, bin, dir string, args ...string) *Cluster {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "berth-k8s.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()

	args = append([]string{"--data-dir", dir, "--listen", "127.0.0.1:0"}, args...)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Dir: dir, Kubeconfig: filepath.Join(dir, "admin.kubeconfig"), cmd: cmd, done: make(chan error, 1), log: logPath}

	urlCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "berth-k8s ready "); ok {
				urlCh <- u
			}
		}
	}()
	go func() { c.done <- cmd.Wait() }()
	t.Cleanup(func() { c.Stop(t) })

	select {
	case c.URL = <-urlCh:
		c.ReadyAfter = time.Since(start)
	case err := <-c.done:
		c.done <- err
		t.Fatalf("berth-k8s exited before ready: %v\n%s", err, c.LogTail(40))
	case <-time.After(3 * time.Minute):
		t.Fatalf("berth-k8s not ready after 3m\n%s", c.LogTail(40))
	}
	return c
}

// Stop sends SIGTERM and waits for a clean exit; it returns how long the
// shutdown took and fails the test if the process had to be killed or
// exited non-zero.
func (c *Cluster) Stop(t testing.TB) time.Duration {
	t.Helper()
	if c.cmd.ProcessState != nil {
		return 0
	}
	start := time.Now()
	select {
	case err := <-c.done:
		c.done <- err
		return 0
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.done:
		c.done <- err
		if err != nil {
			t.Errorf("berth-k8s exited with %v after SIGTERM\n%s", err, c.LogTail(30))
		}
	case <-time.After(45 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
		t.Errorf("berth-k8s did not stop within 45s of SIGTERM\n%s", c.LogTail(30))
	}
	return time.Since(start)
}

// RSSKiB reads the resident set size of the running process.
func (c *Cluster) RSSKiB() int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

// LogTail returns the last n lines of the process's stderr log.
func (c *Cluster) LogTail(n int) string {
	data, err := os.ReadFile(c.log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// RESTConfig is the admin client configuration from admin.kubeconfig.
func (c *Cluster) RESTConfig(t testing.TB) *rest.Config {
	t.Helper()
	rc, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// Client is a clientset authenticated with the admin certificate.
func (c *Cluster) Client(t testing.TB) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.RESTConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// Eventually polls cond every 200ms until it returns true or timeout passes;
// the last error cond reported is included in the failure.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last error
	for {
		ok, err := cond(ctx)
		if ok {
			return
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, what, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
