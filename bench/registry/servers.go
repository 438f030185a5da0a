package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// A target is one registry implementation under test.
type target interface {
	// Name is the column label.
	Name() string
	// Start runs a fresh instance over dataDir and returns once it answers
	// its readiness endpoint.
	Start(ctx context.Context, dataDir, logPath string) (*instance, error)
}

// An instance is a running registry.
type instance struct {
	proc  *proc
	ready time.Duration // process start → readiness endpoint 200
	// repos creates (if the target needs it) the named repositories and
	// returns their references plus the credentials to use with them.
	repos func(ctx context.Context, names []string) ([]name.Repository, authn.Authenticator, error)
}

// proc is a child process with its log file.
type proc struct {
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error
}

func startProc(bin string, args, env []string, logPath string) (*proc, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = lf
	cmd.Stderr = lf
	cmd.Env = append(os.Environ(), env...)
	// Own process group so a Ctrl-C of the bench does not race our SIGTERM.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	p := &proc{cmd: cmd, log: lf, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// stop sends SIGTERM, waits up to 20s, then kills. Only this process is
// signalled (by pid).
func (p *proc) stop() {
	if p == nil {
		return
	}
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	p.log.Close()
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// rssKiB reads VmRSS from /proc/<pid>/status.
func (p *proc) rssKiB() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "VmRSS:" {
			return strconv.ParseInt(f[1], 10, 64)
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// cpuTime is the process's user+system CPU time so far, from
// /proc/<pid>/stat (clock ticks of 1/100 s, USER_HZ on Linux).
func (p *proc) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// After the comm field: state is field 3, utime 14, stime 15.
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("malformed /proc stat times")
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// freePort asks the kernel for an unused 127.0.0.1 port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls url every millisecond until it answers 200, the process
// exits or 60s pass. It returns the time since start.
func waitReady(p *proc, url string, start time.Time) (time.Duration, error) {
	c := &http.Client{Transport: &http.Transport{DialContext: loopbackDial, DisableKeepAlives: true}, Timeout: 2 * time.Second}
	deadline := start.Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if p.exited() {
			return 0, fmt.Errorf("process exited before ready: %v (log %s)", p.err, p.log.Name())
		}
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return 0, fmt.Errorf("%s not ready after 60s (log %s)", url, p.log.Name())
}

// loopbackDial is the only dialer the bench uses: every connection goes to
// 127.0.0.1 ("localhost" in ECR repository URIs is mapped to it).
func loopbackDial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	if host != "127.0.0.1" {
		return nil, fmt.Errorf("bench refuses to dial %s: only 127.0.0.1 is allowed", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp4", net.JoinHostPort(host, port))
}

// ---- CNCF distribution ----

type distribution struct{ bin string }

func (distribution) Name() string { return "distribution" }

const distributionConfig = `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:%d
`

func (d distribution) Start(ctx context.Context, dataDir, logPath string) (*instance, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	root := filepath.Join(dataDir, "storage")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dataDir, "config.yml")
	if err := os.WriteFile(cfgPath, fmt.Appendf(nil, distributionConfig, root, port), 0o644); err != nil {
		return nil, err
	}
	start := time.Now()
	// OTEL_TRACES_EXPORTER=none is what distribution's docs say to set when no
	// OTLP collector runs (otherwise it tries localhost:4318 in the background).
	p, err := startProc(d.bin, []string{"serve", cfgPath}, []string{"OTEL_TRACES_EXPORTER=none"}, logPath)
	if err != nil {
		return nil, err
	}
	base := fmt.Sprintf("127.0.0.1:%d", port)
	ready, err := waitReady(p, "http://"+base+"/v2/", start)
	if err != nil {
		p.stop()
		return nil, err
	}
	return &instance{
		proc:  p,
		ready: ready,
		repos: func(_ context.Context, names []string) ([]name.Repository, authn.Authenticator, error) {
			var out []name.Repository
			for _, n := range names {
				r, err := name.NewRepository(base+"/"+n, name.Insecure)
				if err != nil {
					return nil, nil, err
				}
				out = append(out, r)
			}
			return out, authn.Anonymous, nil
		},
	}, nil
}

// ---- Berth ----

type berth struct {
	bin string
	// env is extra environment for the process (the profiling wrapper reads
	// BERTH_BENCH_CPUPROFILE from it).
	env func(dataDir string) []string
}

func (berth) Name() string { return "Berth" }

func (b berth) Start(ctx context.Context, dataDir, logPath string) (*instance, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var env []string
	if b.env != nil {
		env = b.env(dataDir)
	}
	start := time.Now()
	p, err := startProc(b.bin, []string{"up", "--listen", addr, "--data-dir", filepath.Join(dataDir, "berth"), "--log-level", "warn"}, env, logPath)
	if err != nil {
		return nil, err
	}
	ready, err := waitReady(p, "http://"+addr+"/_berth/health", start)
	if err != nil {
		p.stop()
		return nil, err
	}
	return &instance{
		proc:  p,
		ready: ready,
		repos: func(ctx context.Context, names []string) ([]name.Repository, authn.Authenticator, error) {
			return berthRepos(ctx, "http://"+addr, names)
		},
	}, nil
}

// berthRepos goes the ECR way: CreateRepository for each name, then
// GetAuthorizationToken; the registry is addressed by the repositoryUri.
func berthRepos(ctx context.Context, endpoint string, names []string) ([]name.Repository, authn.Authenticator, error) {
	client := ecr.New(ecr.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", Source: "bench"}, nil
		}),
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: loopbackDial}, Timeout: 30 * time.Second},
	})
	var out []name.Repository
	for _, n := range names {
		res, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(n)})
		if err != nil {
			return nil, nil, fmt.Errorf("ecr CreateRepository %s: %w", n, err)
		}
		if res.Repository == nil || res.Repository.RepositoryUri == nil {
			return nil, nil, fmt.Errorf("ecr CreateRepository %s: no repositoryUri", n)
		}
		r, err := name.NewRepository(*res.Repository.RepositoryUri, name.Insecure)
		if err != nil {
			return nil, nil, fmt.Errorf("repositoryUri %q: %w", *res.Repository.RepositoryUri, err)
		}
		out = append(out, r)
	}
	tok, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return nil, nil, fmt.Errorf("ecr GetAuthorizationToken: %w", err)
	}
	if len(tok.AuthorizationData) == 0 || tok.AuthorizationData[0].AuthorizationToken == nil {
		return nil, nil, errors.New("ecr GetAuthorizationToken: no authorizationData")
	}
	raw, err := base64.StdEncoding.DecodeString(*tok.AuthorizationData[0].AuthorizationToken)
	if err != nil {
		return nil, nil, fmt.Errorf("authorization token: %w", err)
	}
	user, pw, ok := strings.Cut(string(raw), ":")
	if !ok || user != "AWS" {
		return nil, nil, errors.New(`authorization token is not "AWS:<password>"`)
	}
	return out, &authn.Basic{Username: "AWS", Password: pw}, nil
}
