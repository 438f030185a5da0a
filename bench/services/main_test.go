package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestQuick runs the whole bench with small counts. It starts a real
// Berth and containers, so it runs only with BERTH_BENCH=1; otherwise `go
// test ./...` just compiles this package.
func TestQuick(t *testing.T) {
	if os.Getenv("BERTH_BENCH") != "1" {
		t.Skip("set BERTH_BENCH=1 to run the services benchmark smoke test")
	}
	out := filepath.Join(t.TempDir(), "services.md")
	var stdout strings.Builder
	if err := run(options{quick: true, out: out}, &stdout); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"load average at start", "deployment COMPLETED (steady state)", "tasks replaced", "Through the listener", "added"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

func TestMerge(t *testing.T) {
	a := loadResult{n: 2, perSec: 2, lat: []time.Duration{1, 3}}
	b := loadResult{n: 2, perSec: 1, lat: []time.Duration{2, 4}}
	m := merge([]loadResult{a, b})
	if m.n != 4 || m.p50 != 2 || m.p99 != 4 || m.perSec < 1.33 || m.perSec > 1.34 {
		t.Errorf("merge = %+v", m)
	}
}
