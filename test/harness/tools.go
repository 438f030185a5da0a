package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// A tool is an external client the tests drive. Each is looked up once per
// test binary.
type tool struct {
	once sync.Once
	cmd  []string // argv prefix that runs it
	err  error    // why it is unusable
	find func() ([]string, error)
}

// require returns the tool's argv prefix. A missing tool skips the test on a
// developer's machine, but under CI (env CI set) it fails the test: CI must
// have installed it, and a silent skip would hide that it did not.
func (tl *tool) require(t testing.TB, name string) []string {
	t.Helper()
	tl.once.Do(func() { tl.cmd, tl.err = tl.find() })
	if tl.err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required under CI: %v", name, tl.err)
		}
		t.Skipf("%s is not available: %v", name, tl.err)
	}
	return tl.cmd
}

var (
	// pip's aws CLI v1 (botocore), run as a module of the python3 on PATH so
	// a shell shim named aws does not matter.
	awsV1Tool = &tool{find: func() ([]string, error) {
		py, err := exec.LookPath("python3")
		if err != nil {
			return nil, err
		}
		out, err := quickOutput(py, "-m", "awscli", "--version")
		if err != nil || !strings.HasPrefix(out, "aws-cli/1.") {
			return nil, fmt.Errorf("python3 -m awscli --version: %q %v", out, err)
		}
		return []string{py, "-m", "awscli"}, nil
	}}

	// The aws CLI v2: the first aws on PATH that says it is v2, else
	// Debian's awscli package, which is v2 and installs to /usr/bin.
	awsV2Tool = &tool{find: func() ([]string, error) {
		var candidates []string
		for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
			if dir != "" {
				candidates = append(candidates, filepath.Join(dir, "aws"))
			}
		}
		candidates = append(candidates, "/usr/bin/aws")
		seen := map[string]bool{}
		for _, c := range candidates {
			if seen[c] {
				continue
			}
			seen[c] = true
			if fi, err := os.Stat(c); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
				continue
			}
			if out, err := quickOutput(c, "--version"); err == nil && strings.HasPrefix(out, "aws-cli/2.") {
				return []string{c}, nil
			}
		}
		return nil, fmt.Errorf("no aws CLI v2 found (apt-get install awscli)")
	}}

	boto3Tool = &tool{find: func() ([]string, error) {
		py, err := exec.LookPath("python3")
		if err != nil {
			return nil, err
		}
		if out, err := quickOutput(py, "-c", "import boto3"); err != nil {
			return nil, fmt.Errorf("python3 cannot import boto3: %v %s", err, out)
		}
		return []string{py}, nil
	}}

	// docker needs both the CLI and a reachable engine.
	dockerTool = &tool{find: func() ([]string, error) {
		d, err := exec.LookPath("docker")
		if err != nil {
			return nil, err
		}
		if out, err := quickOutput(d, "info", "--format", "{{.ServerVersion}}"); err != nil {
			return nil, fmt.Errorf("docker info: %v %s", err, out)
		}
		return []string{d}, nil
	}}
)

// quickOutput runs a short probe command and returns its trimmed output.
func quickOutput(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = filterEnv(os.Environ(), "AWS_")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// RequireDocker skips (or under CI fails) the test when no Docker engine is
// reachable.
func RequireDocker(t testing.TB) {
	t.Helper()
	dockerTool.require(t, "docker")
}
