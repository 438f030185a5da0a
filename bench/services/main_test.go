package main

import (
	"io"
	"testing"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchenv"
)

// TestQuick runs the whole bench with small counts (with BERTH_BENCH=1).
func TestQuick(t *testing.T) {
	benchenv.Smoke(t, "services", func(out string, stdout io.Writer) error {
		return run(options{quick: true, out: out}, stdout)
	}, "load average at start", "deployment COMPLETED (steady state)", "tasks replaced", "Through the listener", "added")
}

func TestMerge(t *testing.T) {
	a := loadResult{n: 2, perSec: 2, lat: []time.Duration{1, 3}}
	b := loadResult{n: 2, perSec: 1, lat: []time.Duration{2, 4}}
	m := merge([]loadResult{a, b})
	if m.n != 4 || m.p50 != 2 || m.p99 != 4 || m.perSec < 1.33 || m.perSec > 1.34 {
		t.Errorf("merge = %+v", m)
	}
}
