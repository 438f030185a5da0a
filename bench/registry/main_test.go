package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	maybeRunSink() // the sink child process is this test binary
	os.Exit(m.Run())
}

// TestQuick runs the whole bench in -quick mode. It starts real registries
// and takes about a minute, so it runs only with BERTH_BENCH=1; otherwise
// `go test ./...` just compiles this package.
func TestQuick(t *testing.T) {
	if os.Getenv("BERTH_BENCH") != "1" {
		t.Skip("set BERTH_BENCH=1 to run the registry benchmark smoke test")
	}
	out := filepath.Join(t.TempDir(), "registry.md")
	var stdout strings.Builder
	if err := run(options{quick: true, out: out, workDir: t.TempDir()}, &stdout); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| push | 1 |", "| pull | 8 |", "fsynced write speed", "time to ready, restart", "idle RSS"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

func TestMedian(t *testing.T) {
	if got := median([]int64{5, 1, 3}); got != 3 {
		t.Errorf("median odd = %d", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median even = %v", got)
	}
}
