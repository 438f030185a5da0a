package main

import (
	"io"
	"testing"

	"github.com/berth-dev/berth/bench/internal/benchenv"
)

// TestQuick runs the whole bench with small counts (with BERTH_BENCH=1).
func TestQuick(t *testing.T) {
	benchenv.Smoke(t, "console", func(out string, stdout io.Writer) error {
		return run(options{quick: true, out: out, tasks: 2, requests: 30}, stdout)
	}, "DescribeServices (1 service)", "GET /console/ecs/service")
}
