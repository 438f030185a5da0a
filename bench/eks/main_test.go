package main

import (
	"io"
	"testing"

	"github.com/berth-dev/berth/bench/internal/benchenv"
)

// TestQuick runs the whole bench with small counts (with BERTH_BENCH=1).
func TestQuick(t *testing.T) {
	benchenv.Smoke(t, "eks", func(out string, stdout io.Writer) error {
		return run(options{quick: true, out: out, clusters: 1, nodes: 2, pods: 10, single: 3}, stdout)
	}, "CreateCluster → ACTIVE, median of 1", "p99 of 10 pods", "berth-k8s nodes (2 nodes)")
}
