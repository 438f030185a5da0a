package main

import (
	"io"
	"testing"

	"github.com/berth-dev/berth/bench/internal/benchenv"
)

// TestQuick runs the whole bench with small counts (with BERTH_BENCH=1).
func TestQuick(t *testing.T) {
	benchenv.Smoke(t, "ecs", func(out string, stdout io.Writer) error {
		return run(options{quick: true, out: out, runs: 5, burst: 10, tasks: 200, requests: 100, conc: 4, pull: "default"}, stdout)
	}, "p50 of 5 sequential starts", "10 tasks at once", "DescribeTasks, 100 tasks a call", "ListTasks, first page")
}
