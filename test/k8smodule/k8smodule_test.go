// Package k8smodule runs the tests of the separate k8s/ Go module (the
// berth-k8s control plane and its nodes) from the main module's suite.
// `go test ./...` at the repository root does not enter a nested module,
// and CI runs exactly that command, so without this package the control
// plane's own tests (a Deployment surviving a restart, webhook tokens,
// pods with probes on Docker) would never run in CI.
package k8smodule

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestK8sModule(t *testing.T) {
	if testing.Short() {
		t.Skip("the k8s module's tests start Kubernetes control planes; skipped with -short")
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "k8s"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("k8s module not found: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-timeout", "20m", "./...")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	t.Logf("go test ./... in k8s/:\n%s", out)
	if err != nil {
		t.Fatalf("k8s module tests failed: %v", err)
	}
}
