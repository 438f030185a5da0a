// Package k8sproc runs EKS clusters' Kubernetes control planes as berth-k8s
// processes (the k8s/ module, docs/eks-control-plane.md), one per cluster,
// behind eks.ControlPlane. The main module stays free of Kubernetes
// libraries: it only execs the binary, reads its ready line and files, and
// talks to the API server over plain HTTPS.
//
// Processes outlive a Berth that is killed (kill -9, a crash), as ECS task
// containers do: each cluster's directory records the pid and port, and
// the next Berth re-adopts the process instead of starting a second one. A
// graceful shutdown stops them (eks.Service calls Stop for each).
package k8sproc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/renameio/v2"

	"github.com/berth-dev/berth/eks"
	"github.com/berth-dev/berth/runtime"
)

// BinaryName is the control plane binary Berth looks for next to itself.
const BinaryName = "berth-k8s"

// Files of a cluster directory besides the control plane's own data dir.
const (
	dataSubdir = "k8s"           // berth-k8s --data-dir
	pidFile    = "berth-k8s.pid" // pid of the running process
	portFile   = "port"          // the API port, kept so the endpoint never changes
	logFile    = "berth-k8s.log" // stderr; the previous run's is berth-k8s.log.1
	outFile    = "berth-k8s.out" // stdout: the ready line
)

// Timeouts. stopGrace is how long SIGTERM gets before SIGKILL: berth-k8s
// needs 2–3 s to stop its controllers and close SQLite.
const (
	stopGrace     = 15 * time.Second
	adoptReadyFor = 30 * time.Second
	pollEvery     = 50 * time.Millisecond
)

// Options configure a ControlPlane.
type Options struct {
	// Binary is the berth-k8s executable.
	Binary string
	// Dir holds one directory per cluster, <Dir>/<account>/<region>/<name>.
	Dir string
	// Runtime, when set, is the container engine node groups run pods on:
	// deleting a node group or cluster removes their containers with it.
	Runtime runtime.Runtime
	// PodAWSEndpoint is Berth's AWS API as pods' containers reach it
	// (http://169.254.170.2:4566): node groups give it to pods as
	// AWS_ENDPOINT_URL, so SDKs in pods (IRSA among them) call Berth.
	PodAWSEndpoint string
	// PodIdentityAgentURI is Berth's EKS Pod Identity Agent as pods reach
	// it (http://169.254.170.23/v1/credentials) and PodIdentityLookupURL
	// where a cluster's nodes ask which service accounts have an
	// association: pods of those get the agent's URI and a token for it.
	// Empty, Pod Identity is off.
	PodIdentityAgentURI  string
	PodIdentityLookupURL func(c eks.ClusterRef) string
	// RegistryHost is Berth's ECR registry (localhost:4566) and
	// RegistryPassword mints an ECR password for an account and region:
	// node groups pull images from Berth's ECR with it, as EKS nodes use
	// the ECR credential provider. Without them pulls are anonymous.
	RegistryHost     string
	RegistryPassword func(account, region string) (string, time.Time)
	Log              *slog.Logger
}

// ControlPlane implements eks.ControlPlane with berth-k8s processes.
type ControlPlane struct {
	bin string
	dir string
	log *slog.Logger

	mu sync.Mutex
	// locks serialise the calls for one cluster: the controller already
	// does, but Stop at shutdown can overlap a Start in flight.
	locks     map[eks.ClusterRef]*sync.Mutex
	procs     map[eks.ClusterRef]*proc
	nodeProcs map[ngKey]*proc
	rt        runtime.Runtime
	podAWS    string
	registry  string
	password  func(account, region string) (string, time.Time)
	renewOnce sync.Once
	awsAuth   awsAuthCache

	// podIdentity is the agent's URI, podIdentityLookup a cluster's lookup
	// URL (see Options).
	podIdentity       string
	podIdentityLookup func(c eks.ClusterRef) string
}

var _ eks.ControlPlane = (*ControlPlane)(nil)

// New checks that the binary can be executed and returns a ControlPlane.
func New(o Options) (*ControlPlane, error) {
	if o.Binary == "" || o.Dir == "" {
		return nil, errors.New("k8sproc: Binary and Dir are required")
	}
	bin, err := filepath.Abs(o.Binary)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(bin)
	if err != nil {
		return nil, fmt.Errorf("k8sproc: %w", err)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("k8sproc: %s is not an executable file", bin)
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.RegistryPassword == nil {
		o.RegistryHost = ""
	}
	return &ControlPlane{bin: bin, dir: dir, log: o.Log, rt: o.Runtime, podAWS: o.PodAWSEndpoint,
		podIdentity: o.PodIdentityAgentURI, podIdentityLookup: o.PodIdentityLookupURL,
		registry: o.RegistryHost, password: o.RegistryPassword,
		locks: map[eks.ClusterRef]*sync.Mutex{}, procs: map[eks.ClusterRef]*proc{}, nodeProcs: map[ngKey]*proc{}}, nil
}

// FindBinary is the berth-k8s next to the running executable, or "" when
// there is none.
func FindBinary() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	p := filepath.Join(filepath.Dir(exe), BinaryName)
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return p
	}
	return ""
}

// ClusterDir is where a cluster's control plane keeps its state.
func (cp *ControlPlane) ClusterDir(c eks.ClusterRef) string {
	// Account, region and name are validated by the EKS API, but a path
	// must not be steered out of Dir whatever they hold.
	clean := func(s string) string {
		s = strings.Map(func(r rune) rune {
			if r == '/' || r == '\\' || r == 0 {
				return '_'
			}
			return r
		}, s)
		if s == "" || s == "." || s == ".." {
			s = "_" + s
		}
		return s
	}
	return filepath.Join(cp.dir, clean(c.Account), clean(c.Region), clean(c.Name))
}

func (cp *ControlPlane) lock(c eks.ClusterRef) func() {
	cp.mu.Lock()
	l, ok := cp.locks[c]
	if !ok {
		l = &sync.Mutex{}
		cp.locks[c] = l
	}
	cp.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// proc is a berth-k8s process (a control plane or a node group) this Berth
// started (cmd set, reaped by Wait) or adopted from a previous Berth (cmd
// nil, watched through /proc).
type proc struct {
	pid  int
	cmd  *exec.Cmd
	done chan struct{} // closed once the process is gone
	err  error         // how a started process ended, set before done closes
}

func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Start starts the cluster's berth-k8s, or adopts the one a previous Berth
// left running, and returns its endpoint once it is ready.
func (cp *ControlPlane) Start(ctx context.Context, spec eks.ClusterSpec) (eks.Endpoint, error) {
	defer cp.lock(spec.ClusterRef)()
	dir := cp.ClusterDir(spec.ClusterRef)
	if err := os.MkdirAll(filepath.Join(dir, dataSubdir), 0o700); err != nil {
		return eks.Endpoint{}, err
	}
	if err := cp.writePodIdentityURI(spec.ClusterRef); err != nil {
		return eks.Endpoint{}, err
	}
	args := cp.args(dir, spec)

	cp.mu.Lock()
	p := cp.procs[spec.ClusterRef]
	cp.mu.Unlock()
	if p != nil && p.alive() {
		if sameArgs(cmdline(p.pid), args) {
			if url, err := readURL(dir); err == nil {
				if ep, err := cp.ready(ctx, dir, url); err == nil {
					return ep, nil
				}
			}
		}
		// Running with other settings (a new webhook URL after Berth moved
		// to another port) or not answering: replace it.
		cp.log.Info("eks: restarting the control plane", "cluster", spec.Name, "pid", p.pid)
		cp.untrack(spec.ClusterRef)
		cp.terminate(p)
	}

	if p, url := cp.adoptable(ctx, spec.ClusterRef, dir, args); p != nil {
		ep, err := cp.ready(ctx, dir, url)
		if err == nil {
			cp.log.Info("eks: re-adopted the control plane", "cluster", spec.Name, "pid", p.pid, "endpoint", url)
			cp.track(spec, p)
			cp.resumeNodegroups(ctx, spec.ClusterRef)
			return ep, nil
		}
		cp.log.Warn("eks: a control plane left running does not answer; replacing it", "cluster", spec.Name, "pid", p.pid, "error", err,
			"stderr", tail(filepath.Join(dir, logFile), 4096))
		cp.terminate(p)
	}

	p, url, err := cp.launch(ctx, dir, args)
	if err != nil {
		return eks.Endpoint{}, err
	}
	ep, err := cp.ready(ctx, dir, url)
	if err != nil {
		cp.terminate(p)
		return eks.Endpoint{}, err
	}
	cp.log.Info("eks: control plane started", "cluster", spec.Name, "account", spec.Account, "region", spec.Region, "pid", p.pid, "endpoint", url)
	cp.track(spec, p)
	cp.resumeNodegroups(ctx, spec.ClusterRef)
	return ep, nil
}

func (cp *ControlPlane) track(spec eks.ClusterSpec, p *proc) {
	c := spec.ClusterRef
	cp.mu.Lock()
	cp.procs[c] = p
	cp.mu.Unlock()
	go func() {
		<-p.done
		if !cp.tracked(c, p) {
			return // stopped or replaced on purpose
		}
		cp.log.Error("eks: control plane exited; restarting it", "cluster", c.Name, "account", c.Account, "region", c.Region, "pid", p.pid, "error", p.err,
			"stderr", tail(filepath.Join(cp.ClusterDir(c), logFile), 2048))
		cp.revive(spec, p)
	}()
}

func (cp *ControlPlane) tracked(c eks.ClusterRef, p *proc) bool {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.procs[c] == p
}

func (cp *ControlPlane) untrack(c eks.ClusterRef) {
	cp.mu.Lock()
	delete(cp.procs, c)
	cp.mu.Unlock()
}

// revive starts a cluster whose process died while it was wanted, backing
// off between failures, until it runs again or is stopped or deleted: the
// controller only calls Start for clusters it has not started, so nobody
// else would notice.
func (cp *ControlPlane) revive(spec eks.ClusterSpec, dead *proc) {
	for backoff := time.Second; ; backoff = min(2*backoff, time.Minute) {
		time.Sleep(backoff)
		if !cp.tracked(spec.ClusterRef, dead) {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		_, err := cp.Start(ctx, spec)
		cancel()
		if err == nil {
			return
		}
		cp.log.Warn("eks: restarting a control plane that exited", "cluster", spec.Name, "error", err)
	}
}

// args is berth-k8s's command line for a cluster, without --listen.
func (cp *ControlPlane) args(dir string, spec eks.ClusterSpec) []string {
	args := []string{cp.bin, "--data-dir=" + filepath.Join(dir, dataSubdir), "--name=" + spec.Name,
		"--pod-network=" + cp.podNetwork(spec.ClusterRef)}
	if spec.TokenReviewURL != "" {
		args = append(args, "--authn-webhook="+spec.TokenReviewURL)
	}
	if spec.ServiceIPv4CIDR != "" {
		args = append(args, "--service-cidr="+spec.ServiceIPv4CIDR)
	}
	if spec.OIDCIssuer != "" {
		args = append(args, "--service-account-issuer="+spec.OIDCIssuer)
	}
	args = append(args, cp.fargateArgs(dir, spec.ClusterRef)...)
	return args
}

// sameArgs reports whether a running process's command line is args plus
// a --listen flag.
func sameArgs(running, args []string) bool {
	var rest []string
	for _, a := range running {
		if !strings.HasPrefix(a, "--listen=") {
			rest = append(rest, a)
		}
	}
	if len(rest) != len(args) {
		return false
	}
	for i := range rest {
		if rest[i] != args[i] {
			return false
		}
	}
	return true
}

// adoptable finds the process a previous Berth started for this cluster:
// the pid file names a live process whose command line is berth-k8s on
// this very data dir (so a recycled pid is never mistaken for it) and the
// port file names its API. A process with other settings is stopped here.
func (cp *ControlPlane) adoptable(ctx context.Context, c eks.ClusterRef, dir string, args []string) (*proc, string) {
	data, err := os.ReadFile(filepath.Join(dir, pidFile))
	if err != nil {
		return nil, ""
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 || !pidAlive(pid) {
		return nil, ""
	}
	running := cmdline(pid)
	if !ourProcess(running, args[1]) {
		return nil, ""
	}
	p := watch(pid)
	if !sameArgs(running, args) {
		cp.log.Info("eks: the control plane left running has other settings; restarting it", "cluster", c.Name, "pid", pid)
		cp.terminate(p)
		return nil, ""
	}
	url, err := readURL(dir)
	if err != nil {
		// Killed between exec and its ready line: it may still be coming up.
		deadline := time.Now().Add(adoptReadyFor)
		for err != nil && p.alive() && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(pollEvery * 4)
			url, err = readURL(dir)
		}
		if err != nil {
			cp.terminate(p)
			return nil, ""
		}
	}
	return p, url
}

// ourProcess reports whether argv is a berth-k8s started on dataDirArg.
func ourProcess(argv []string, dataDirArg string) bool {
	if len(argv) < 2 {
		return false
	}
	for _, a := range argv[1:] {
		if a == dataDirArg {
			return true
		}
	}
	return false
}

// launch starts berth-k8s and waits for its ready line.
func (cp *ControlPlane) launch(ctx context.Context, dir string, args []string) (*proc, string, error) {
	listen := "127.0.0.1:0"
	if data, err := os.ReadFile(filepath.Join(dir, portFile)); err == nil {
		port := strings.TrimSpace(string(data))
		// A process that just exited may hold its socket a moment longer:
		// its leader turns zombie before its other threads have closed it.
		free := portFree(port)
		for deadline := time.Now().Add(5 * time.Second); !free && time.Now().Before(deadline) && ctx.Err() == nil; free = portFree(port) {
			time.Sleep(4 * pollEvery)
		}
		if free {
			listen = "127.0.0.1:" + port
		} else {
			cp.log.Warn("eks: the cluster's API port is taken by another process; its endpoint changes", "dir", dir, "port", port)
		}
	}
	logPath := filepath.Join(dir, logFile)
	if _, err := os.Stat(logPath); err == nil {
		os.Rename(logPath, logPath+".1")
	}
	stderr, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, "", err
	}
	defer stderr.Close()
	// Files, not pipes: the process outlives a killed Berth, and a Go
	// program writing to a broken stdout or stderr pipe dies of SIGPIPE.
	stdout, err := os.OpenFile(filepath.Join(dir, outFile), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, "", err
	}
	defer stdout.Close()

	argv := append(append([]string{}, args...), "--listen="+listen)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Env = os.Environ()
	if os.Getenv("GOGC") == "" {
		// About 20 MiB less per cluster for a little CPU (docs/eks-control-plane.md).
		cmd.Env = append(cmd.Env, "GOGC=50")
	}
	// Its own process group: a Ctrl-C in Berth's terminal must not kill the
	// clusters before Berth stops them in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("starting %s: %w", cp.bin, err)
	}
	p := &proc{pid: cmd.Process.Pid, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := renameio.WriteFile(filepath.Join(dir, pidFile), []byte(strconv.Itoa(p.pid)+"\n"), 0o600); err != nil {
		cp.terminate(p)
		return nil, "", err
	}

	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		if url, err := readURL(dir); err == nil {
			u, perr := url2port(url)
			if perr != nil {
				cp.terminate(p)
				return nil, "", perr
			}
			if err := renameio.WriteFile(filepath.Join(dir, portFile), []byte(u+"\n"), 0o600); err != nil {
				cp.terminate(p)
				return nil, "", err
			}
			return p, url, nil
		}
		select {
		case <-p.done:
			return nil, "", fmt.Errorf("berth-k8s exited before it was ready (%v): %s", p.err, tail(logPath, 2048))
		case <-ctx.Done():
			cp.terminate(p)
			return nil, "", fmt.Errorf("berth-k8s was not ready in time (%w): %s", ctx.Err(), tail(logPath, 2048))
		case <-t.C:
		}
	}
}

// readURL is the URL of the ready line berth-k8s printed in dir.
func readURL(dir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, outFile))
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "berth-k8s ready "); ok {
			return strings.TrimSpace(rest), nil
		}
	}
	return "", errors.New("no ready line")
}

func url2port(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Port() == "" {
		return "", fmt.Errorf("berth-k8s printed an unexpected URL %q", raw)
	}
	return u.Port(), nil
}

// ready checks that the API server at url answers /readyz with the
// cluster's CA, makes sure the access policies' groups are bound, and
// returns the endpoint.
func (cp *ControlPlane) ready(ctx context.Context, dir, url string) (eks.Endpoint, error) {
	c, err := newAdminClient(filepath.Join(dir, dataSubdir), url)
	if err != nil {
		return eks.Endpoint{}, err
	}
	if err := c.readyz(ctx); err != nil {
		return eks.Endpoint{}, err
	}
	if err := c.bindAccessPolicies(ctx); err != nil {
		return eks.Endpoint{}, fmt.Errorf("binding the access policies' groups: %w", err)
	}
	return eks.Endpoint{URL: url, CertificateAuthority: c.caPEM}, nil
}

// Stop stops the cluster's process (SIGTERM, then SIGKILL) and keeps its
// state for the next Start.
func (cp *ControlPlane) Stop(ctx context.Context, c eks.ClusterRef) error {
	defer cp.lock(c)()
	cp.stopNodegroups(ctx, c)
	cp.mu.Lock()
	p := cp.procs[c]
	delete(cp.procs, c)
	cp.mu.Unlock()
	if p == nil {
		return nil
	}
	cp.terminateCtx(ctx, p)
	cp.log.Info("eks: control plane stopped", "cluster", c.Name, "account", c.Account, "region", c.Region, "pid", p.pid)
	return nil
}

// Delete stops the cluster's process, whoever started it, and removes its
// directory.
func (cp *ControlPlane) Delete(ctx context.Context, c eks.ClusterRef) error {
	defer cp.lock(c)()
	dir := cp.ClusterDir(c)
	cp.stopNodegroups(ctx, c)
	if err := cp.removeContainers(ctx, c, nil); err != nil {
		return fmt.Errorf("removing the cluster's containers: %w", err)
	}
	cp.mu.Lock()
	p := cp.procs[c]
	delete(cp.procs, c)
	cp.mu.Unlock()
	if p != nil {
		cp.terminateCtx(ctx, p)
	}
	// One left by a Berth that died before tracking it.
	if data, err := os.ReadFile(filepath.Join(dir, pidFile)); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 0 && pidAlive(pid) &&
			ourProcess(cmdline(pid), "--data-dir="+filepath.Join(dir, dataSubdir)) {
			cp.terminateCtx(ctx, watch(pid))
		}
	}
	// Fargate pods' nodes ran in that process: their containers are
	// removed again now that nothing can restart them.
	if err := cp.removeContainers(ctx, c, nil); err != nil {
		return fmt.Errorf("removing the cluster's Fargate containers: %w", err)
	}
	cp.cleanupServices(ctx, c)
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	cp.log.Info("eks: control plane deleted", "cluster", c.Name, "account", c.Account, "region", c.Region)
	return nil
}

func (cp *ControlPlane) terminate(p *proc) {
	ctx, cancel := context.WithTimeout(context.Background(), stopGrace+5*time.Second)
	defer cancel()
	cp.terminateCtx(ctx, p)
}

// terminateCtx sends SIGTERM and waits for the process to go, sending
// SIGKILL after stopGrace or when ctx ends first.
func (cp *ControlPlane) terminateCtx(ctx context.Context, p *proc) {
	if !p.alive() {
		return
	}
	syscall.Kill(p.pid, syscall.SIGTERM)
	grace := time.NewTimer(stopGrace)
	defer grace.Stop()
	select {
	case <-p.done:
		return
	case <-grace.C:
	case <-ctx.Done():
	}
	cp.log.Warn("eks: control plane did not stop on SIGTERM; killing it", "pid", p.pid)
	syscall.Kill(p.pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}

// watch follows a process this Berth did not start (so cannot Wait for)
// through /proc until it is gone.
func watch(pid int) *proc {
	p := &proc{pid: pid, done: make(chan struct{})}
	go func() {
		for pidAlive(pid) {
			time.Sleep(100 * time.Millisecond)
		}
		p.err = errors.New("exited")
		close(p.done)
	}()
	return p
}

// pidAlive reports whether pid runs; a zombie (dead, not yet reaped by a
// parent that is not us) does not.
func pidAlive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name, which may itself
	// hold spaces and parentheses.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return false
	}
	st := data[i+2]
	return st != 'Z' && st != 'X'
}

func cmdline(pid int) []string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(data) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
}

func portFree(port string) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// tail is the end of a log file, for errors.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(fi.Size()-n, 0)
	buf := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return ""
	}
	return strings.TrimSpace(string(buf))
}
