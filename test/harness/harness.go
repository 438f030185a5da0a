// Package harness runs a real `berth up` for end-to-end tests and drives it
// with the clients people use: the aws CLI (v1 and v2), boto3, docker and
// aws-sdk-go-v2. Each test gets its own process, port and data directory.
//
// A test binary using the harness should call harness.Main from TestMain so
// the binaries it builds are removed afterwards:
//
//	func TestMain(m *testing.M) { harness.Main(m) }
package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timeouts are generous because CI runs on two cores, with other test
// packages building and running at the same time.
const (
	healthTimeout = 60 * time.Second
	stopTimeout   = 30 * time.Second
)

// Default credentials clients sign with when Start was given none. A server
// without --credentials accepts any signature, so these only name the
// access key (and so the default account).
const (
	DefaultAccessKeyID     = "test"
	DefaultSecretAccessKey = "test"
	DefaultRegion          = "us-east-1"
)

// parallelDefault is how many tests marked t.Parallel run at once when
// -test.parallel is not given. go test's default is GOMAXPROCS, two on
// CI's machine, but these tests mostly wait: for containers and control
// planes to start, for clients' fixed delays (Terraform's aws_lb waits a
// minute), for controllers' next pass.
const parallelDefault = 4

// Main runs the tests and then removes what the harness built (the berth
// and test app binaries), which outlive any one test.
func Main(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given && goruntime.GOMAXPROCS(0) < parallelDefault {
		flag.Set("test.parallel", strconv.Itoa(parallelDefault))
	}
	code := m.Run()
	removeBuildDir()
	os.Exit(code)
}

// Option configures Start.
type Option func(*options)

type options struct {
	args    []string
	env     []string
	dataDir string
	creds   *Creds
}

// WithArgs adds flags to `berth up`.
func WithArgs(args ...string) Option {
	return func(o *options) { o.args = append(o.args, args...) }
}

// WithEnv adds KEY=VALUE pairs to berth's environment.
func WithEnv(kv ...string) Option {
	return func(o *options) { o.env = append(o.env, kv...) }
}

// WithDataDir runs berth on dir instead of a fresh temporary directory, e.g.
// to start a second server on the state of a first.
func WithDataDir(dir string) Option {
	return func(o *options) { o.dataDir = dir }
}

// WithCredentials turns SigV4 checking on (`--credentials AKID:SECRET`) and
// makes the clients of the returned Berth sign with that key.
func WithCredentials(accessKeyID, secret string) Option {
	return func(o *options) {
		o.args = append(o.args, "--credentials", accessKeyID+":"+secret)
		o.creds = &Creds{AccessKeyID: accessKeyID, SecretAccessKey: secret}
	}
}

// Creds is an access key pair clients sign with.
type Creds struct {
	AccessKeyID     string
	SecretAccessKey string
}

// Berth is a running `berth up` seen through one identity: the credentials
// and region its client helpers use. As and InRegion give other views of the
// same process.
type Berth struct {
	p      *process
	creds  Creds
	region string
}

// process is the berth process shared by every view of it.
type process struct {
	t         testing.TB
	bin       string
	port      int
	dataDir   string
	logPath   string
	clientDir string // empty AWS config and credentials files for clients
	args      []string
	env       []string

	mu       sync.Mutex
	cmd      *exec.Cmd
	done     chan struct{} // closed when cmd has exited
	waitErr  error
	expected bool // the current process was stopped or killed on purpose
}

// Start builds berth (once per test binary), starts `berth up` on a free
// loopback port and waits until it is healthy. It is stopped with SIGTERM
// when the test ends; an unclean exit fails the test, and on failure the
// server's log is printed.
func Start(t testing.TB, opts ...Option) *Berth {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	bin := berthBinary(t)
	if o.dataDir == "" {
		o.dataDir = t.TempDir()
	}
	scratch := t.TempDir()
	p := &process{
		t:         t,
		bin:       bin,
		dataDir:   o.dataDir,
		logPath:   filepath.Join(scratch, "berth.log"),
		clientDir: filepath.Join(scratch, "client"),
		args:      o.args,
		env:       o.env,
	}
	if err := os.MkdirAll(p.clientDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config", "credentials"} {
		if err := os.WriteFile(filepath.Join(p.clientDir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Registered after t.TempDir so it runs first: the process is stopped
	// before its data directory is removed.
	t.Cleanup(p.cleanup)

	// The free port is found by binding and releasing it, so another process
	// may take it in between; a few tries make that race harmless.
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		p.port, err = freePort()
		if err != nil {
			t.Fatal(err)
		}
		if err = p.start(); err == nil || !strings.Contains(p.logTail(4096), "address already in use") {
			break
		}
	}
	if err != nil {
		t.Fatalf("berth did not start: %v\n%s", err, p.logTail(16<<10))
	}
	b := &Berth{p: p, creds: Creds{DefaultAccessKeyID, DefaultSecretAccessKey}, region: DefaultRegion}
	if o.creds != nil {
		b.creds = *o.creds
	}
	return b
}

// As returns a view of the same server whose clients sign with another key,
// e.g. a wrong secret, or a 12-digit access key id naming another account.
func (b *Berth) As(accessKeyID, secret string) *Berth {
	c := *b
	c.creds = Creds{AccessKeyID: accessKeyID, SecretAccessKey: secret}
	return &c
}

// InRegion returns a view of the same server whose clients use region.
func (b *Berth) InRegion(region string) *Berth {
	c := *b
	c.region = region
	return &c
}

// Creds is the access key this view's clients sign with.
func (b *Berth) Creds() Creds { return b.creds }

// Region is the region this view's clients use.
func (b *Berth) Region() string { return b.region }

// Endpoint is the URL clients use as AWS_ENDPOINT_URL.
func (b *Berth) Endpoint() string { return "http://" + b.Addr() }

// Addr is the host:port berth listens on.
func (b *Berth) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.p.port)) }

// RegistryHost is the registry host in repository URIs. It is "localhost"
// because a stock Docker engine talks plain HTTP to localhost registries.
func (b *Berth) RegistryHost() string { return net.JoinHostPort("localhost", strconv.Itoa(b.p.port)) }

// DataDir is berth's data directory.
func (b *Berth) DataDir() string { return b.p.dataDir }

// LogPath is the file berth's output goes to (all runs, across restarts).
func (b *Berth) LogPath() string { return b.p.logPath }

// Log returns berth's output so far.
func (b *Berth) Log() string {
	data, _ := os.ReadFile(b.p.logPath)
	return string(data)
}

// Stop sends SIGTERM and waits for the process to exit. It returns nil when
// berth exited with status 0, its exit error otherwise, or an error when it
// did not exit within 30s (it is then killed). Stopping a stopped server
// returns how it ended.
func (b *Berth) Stop() error {
	p := b.p
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	if cmd == nil {
		p.mu.Unlock()
		return errors.New("berth was never started")
	}
	p.expected = true
	p.mu.Unlock()
	select {
	case <-done:
		return p.exitErr()
	default:
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-done:
		return p.exitErr()
	case <-time.After(stopTimeout):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("berth did not exit within %s of SIGTERM", stopTimeout)
	}
}

// Kill ends berth with SIGKILL, as a crash or power loss would, and waits
// for it to be gone.
func (b *Berth) Kill() {
	p := b.p
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.expected = true
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-done
}

// Restart stops berth (SIGTERM; an unclean exit fails the test) unless it
// is already stopped or killed, then starts it again on the same port and
// data directory with the same flags, and waits until it is healthy.
func (b *Berth) Restart() {
	p := b.p
	p.t.Helper()
	if p.running() {
		if err := b.Stop(); err != nil {
			p.t.Errorf("stopping berth for a restart: %v", err)
		}
	}
	p.appendLog("--- harness: restart ---\n")
	if err := p.start(); err != nil {
		p.t.Fatalf("berth did not restart: %v\n%s", err, p.logTail(16<<10))
	}
}

// Running reports whether the berth process is alive.
func (b *Berth) Running() bool { return b.p.running() }

func (p *process) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (p *process) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}

// start launches berth and waits for health; the process is left running
// only on success.
func (p *process) start() error {
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := append([]string{"up",
		"--listen", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)),
		"--data-dir", p.dataDir,
	}, p.args...)
	cmd := exec.Command(p.bin, args...)
	// BERTH_* from the developer's shell must not change what a test runs.
	cmd.Env = append(filterEnv(os.Environ(), "BERTH_"), p.env...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done, p.waitErr, p.expected = cmd, done, nil, false
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logf.Close()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(done)
	}()
	if err := waitHealthy(p.port, done); err != nil {
		cmd.Process.Kill()
		<-done
		return err
	}
	return nil
}

func waitHealthy(port int, exited <-chan struct{}) error {
	url := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + "/_berth/health"
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(healthTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("berth exited before it was healthy")
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			var h struct{ Status string }
			err = json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK && h.Status == "ok" {
				return nil
			}
			if err == nil {
				err = fmt.Errorf("health answered %d %q", resp.StatusCode, h.Status)
			}
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not healthy within %s: %v", healthTimeout, last)
}

// cleanup stops berth at the end of the test. Every test thereby also checks
// that berth shuts down cleanly and did not die on its own.
func (p *process) cleanup() {
	p.mu.Lock()
	cmd, done, expected := p.cmd, p.done, p.expected
	p.mu.Unlock()
	if cmd != nil {
		select {
		case <-done:
			if !expected {
				p.t.Errorf("berth exited on its own during the test: %v", p.exitErr())
			}
		default:
			if err := (&Berth{p: p}).Stop(); err != nil {
				p.t.Errorf("berth did not shut down cleanly on SIGTERM: %v", err)
			}
		}
	}
	if p.t.Failed() {
		p.t.Logf("berth log (%s):\n%s", p.logPath, p.logTail(64<<10))
	}
	p.removeTaskContainers()
}

var agentHostLine = regexp.MustCompile(`ECS task agent is on.* host=(\S+)`)

// removeTaskContainers removes the containers this Berth's task agent left
// running. The agent leaves them on purpose when Berth stops, as the ECS
// agent does, so a restart can re-adopt them; a finished test has no
// restart to come. They are found by the agent's host label, which the
// Berth logged at start.
func (p *process) removeTaskContainers() {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return
	}
	hosts := map[string]bool{}
	for _, m := range agentHostLine.FindAllStringSubmatch(string(data), -1) {
		hosts[m[1]] = true
	}
	for host := range hosts {
		out, err := exec.Command("docker", "ps", "-aq", "--filter", "label=berth.agent.host="+host).Output()
		if err != nil {
			continue
		}
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
		}
	}
}

func (p *process) appendLog(s string) {
	if f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
		f.WriteString(s)
		f.Close()
	}
}

// logTail is the last max bytes of the log, cut at a line start.
func (p *process) logTail(max int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(data) > max {
		data = data[len(data)-max:]
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
		data = append([]byte("[... earlier output cut ...]\n"), data...)
	}
	return string(data)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// filterEnv drops the variables whose names start with any of prefixes.
func filterEnv(env []string, prefixes ...string) []string {
	out := make([]string, 0, len(env))
next:
	for _, kv := range env {
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// ctxFor bounds a command by timeout and by the test's own deadline, so a
// hung client fails its test with output instead of killing the binary.
func ctxFor(t testing.TB, timeout time.Duration) (context.Context, context.CancelFunc) {
	if dt, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if d, ok := dt.Deadline(); ok && time.Until(d)-5*time.Second < timeout {
			timeout = max(time.Until(d)-5*time.Second, time.Second)
		}
	}
	return context.WithTimeout(context.Background(), timeout)
}
