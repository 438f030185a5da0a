package main

import (
	"io"
	"testing"

	"github.com/berth-dev/berth/bench/internal/benchenv"
)

// TestQuick runs the whole bench with small counts (with BERTH_BENCH=1).
func TestQuick(t *testing.T) {
	benchenv.Smoke(t, "logs", func(out string, stdout io.Writer) error {
		return run(options{quick: true, out: out, batches: 20, batch: 100, requests: 50, queries: 5, conc: 4}, stdout)
	}, "PutLogEvents, batches of 100 events", "GetLogEvents", "FilterLogEvents", "StartQuery + GetQueryResults")
}
