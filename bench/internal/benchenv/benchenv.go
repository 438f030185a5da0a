// Package benchenv is what the benchmark commands under bench/ share: the
// Berth binary and the test app image they build, the servers they start
// and stop (Berth, moto_server), the SDK configuration they drive them
// with, and the report's machine line and percentiles.
package benchenv

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Main is a bench's main: it parses the command line, with the -quick and
// -out flags of every bench (out is bench/results/<name>.md by default) set
// in quick and out, runs the bench, and exits 1 with its error.
func Main(name string, quick *bool, out *string, run func(stdout io.Writer) error) {
	flag.BoolVar(quick, "quick", false, "small counts (a smoke test, not a measurement)")
	flag.StringVar(out, "out", filepath.Join("bench", "results", name+".md"), "Markdown file to write the report to")
	flag.Parse()
	if err := run(os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "bench/%s: %v\n", name, err)
		os.Exit(1)
	}
}

// RepoRoot is the directory of Berth's go.mod, above the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(data, []byte("module github.com/berth-dev/berth")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the Berth module")
		}
		dir = parent
	}
}

// BuildBerth builds ./cmd/berth into work and returns the binary's path.
func BuildBerth(work string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(work, "berth")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/berth")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/berth: %v\n%s", err, out)
	}
	return bin, nil
}

// TestImage is the test app (test/harness/testapp) as a one-layer image.
func TestImage(work string) (v1.Image, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(work, "app")
	cmd := exec.Command("go", "build", "-ldflags=-s -w", "-o", bin, "./test/harness/testapp")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goruntime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build testapp: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777})
	tw.WriteHeader(&tar.Header{Name: "app", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(data))})
	tw.Write(data)
	tw.Close()
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerBytes)), nil })
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", goruntime.GOARCH
	cf.Config.Entrypoint, cf.Config.Cmd, cf.Config.Env = []string{"/app"}, []string{"serve"}, []string{"PATH=/"}
	return mutate.ConfigFile(img, cf)
}

// Server is a process under test.
type Server struct {
	Port int
	cmd  *exec.Cmd
	done chan struct{}
}

// FreePort returns a TCP port of 127.0.0.1 nothing listens on.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Start runs argv with env (with {port} replaced by a free port in both),
// its output in logPath, and waits until an HTTP GET of probe answers.
func Start(argv []string, env []string, logPath, probe string) (*Server, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	args := make([]string, len(argv))
	for i, a := range argv {
		args[i] = strings.ReplaceAll(a, "{port}", strconv.Itoa(port))
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	for _, kv := range env {
		cmd.Env = append(cmd.Env, strings.ReplaceAll(kv, "{port}", strconv.Itoa(port)))
	}
	cmd.Env = append(os.Environ(), cmd.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{cmd: cmd, Port: port, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(s.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, probe))
		if err == nil {
			resp.Body.Close()
			return s, nil
		}
		select {
		case <-s.done:
			data, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("%s exited:\n%s", args[0], data)
		case <-time.After(100 * time.Millisecond):
		}
	}
	s.Stop()
	return nil, fmt.Errorf("%s did not answer on %d", args[0], port)
}

// Stop interrupts the process and waits for it, killing it after 30s.
func (s *Server) Stop() {
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// Endpoint is the server's base URL.
func (s *Server) Endpoint() string { return fmt.Sprintf("http://127.0.0.1:%d", s.Port) }

// SDKConfig is an aws-sdk-go-v2 configuration for endpoint, with test
// credentials and connections kept for conc requests in flight.
func SDKConfig(endpoint string, conc int) aws.Config {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conc * 2
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
		HTTPClient:   &http.Client{Transport: tr},
	}
}

// PushImage pushes the test image to a repository bench/app of Berth's ECR
// and returns its reference.
func PushImage(ctx context.Context, cfg aws.Config, work string) (string, error) {
	img, err := TestImage(work)
	if err != nil {
		return "", err
	}
	ecrc := ecr.NewFromConfig(cfg)
	repo, err := ecrc.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("bench/app")})
	if err != nil {
		return "", err
	}
	tok, err := ecrc.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return "", err
	}
	raw, _ := base64.StdEncoding.DecodeString(*tok.AuthorizationData[0].AuthorizationToken)
	_, pw, _ := strings.Cut(string(raw), ":")
	ref := *repo.Repository.RepositoryUri + ":v1"
	tag, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.Write(tag, img, remote.WithAuth(&authn.Basic{Username: "AWS", Password: pw}), remote.WithContext(ctx)); err != nil {
		return "", err
	}
	return ref, nil
}

// Percentile of durations (nearest rank); d is left as it is.
func Percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s))*p+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

// Machine is the report's line about the machine: cores, Go, Docker and
// the load average at start.
func Machine() string {
	load, _ := os.ReadFile("/proc/loadavg")
	avg := strings.Fields(string(load))
	avg = avg[:min(3, len(avg))]
	dv, _ := exec.Command("docker", "version", "--format", "{{.Server.Version}}").Output()
	return fmt.Sprintf("Machine: %d cores, %s, Docker %s; load average at start %s.",
		goruntime.NumCPU(), goruntime.Version(), strings.TrimSpace(string(dv)), strings.Join(avg, " "))
}

// WriteReport prints the report to stdout and writes it to the file out,
// unless out is empty.
func WriteReport(out, report string, stdout io.Writer) error {
	fmt.Fprint(stdout, report)
	if out == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, []byte(report), 0o644)
}
