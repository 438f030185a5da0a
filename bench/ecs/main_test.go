package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestQuick runs the whole bench with small counts. It starts real servers
// and containers, so it runs only with BERTH_BENCH=1; otherwise `go test
// ./...` just compiles this package.
func TestQuick(t *testing.T) {
	if os.Getenv("BERTH_BENCH") != "1" {
		t.Skip("set BERTH_BENCH=1 to run the ECS benchmark smoke test")
	}
	out := filepath.Join(t.TempDir(), "ecs.md")
	var stdout strings.Builder
	if err := run(options{quick: true, out: out, runs: 5, burst: 10, tasks: 200, requests: 100, conc: 4, pull: "default"}, &stdout); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"p50 of 5 sequential starts", "10 tasks at once", "DescribeTasks, 100 tasks a call", "ListTasks, first page"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

func TestPercentile(t *testing.T) {
	d := []time.Duration{5, 1, 3, 2, 4}
	if got := percentile(d, .5); got != 3 {
		t.Errorf("p50 = %d", got)
	}
	if got := percentile(d, .95); got != 5 {
		t.Errorf("p95 = %d", got)
	}
}
