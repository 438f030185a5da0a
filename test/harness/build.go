package harness

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The binaries are built once per test binary into one directory that
// harness.Main removes; tests share them read-only.
var (
	buildDirOnce sync.Once
	buildDir     string
	buildDirErr  error

	berthOnce sync.Once
	berthBin  string
	berthErr  error
)

func sharedBuildDir() (string, error) {
	buildDirOnce.Do(func() {
		buildDir, buildDirErr = os.MkdirTemp("", "berth-harness-")
	})
	return buildDir, buildDirErr
}

func removeBuildDir() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

// RepoRoot is the directory of Berth's go.mod, found by walking up from the
// test's working directory (go test runs tests in their package directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(data), []byte("module github.com/berth-dev/berth")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of github.com/berth-dev/berth above the working directory")
		}
		dir = parent
	}
}

// BerthBinary builds ./cmd/berth (once per test binary) and returns its path,
// for tests that run other berth commands than `up`.
func BerthBinary(t testing.TB) string {
	t.Helper()
	return berthBinary(t)
}

func berthBinary(t testing.TB) string {
	t.Helper()
	berthOnce.Do(func() {
		berthBin, berthErr = goBuild("berth", "./cmd/berth", nil, "-ldflags=-X main.version=test")
	})
	if berthErr != nil {
		t.Fatalf("building berth: %v", berthErr)
	}
	return berthBin
}

// goBuild builds pkg (relative to the repo root) into the shared build dir.
func goBuild(out, pkg string, env []string, flags ...string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	dir, err := sharedBuildDir()
	if err != nil {
		return "", err
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go tool is not on PATH: %w", err)
	}
	bin := filepath.Join(dir, out)
	args := append([]string{"build", "-o", bin}, flags...)
	cmd := exec.Command(goTool, append(args, pkg)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	if outp, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(cmd.Args[1:], " "), err, outp)
	}
	return bin, nil
}
