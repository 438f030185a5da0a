package main

import (
	"io"
	"testing"

	"github.com/berth-dev/berth/bench/internal/benchenv"
)

// TestQuick runs the whole bench with small counts (with BERTH_BENCH=1).
func TestQuick(t *testing.T) {
	benchenv.Smoke(t, "cloudwatch", func(out string, stdout io.Writer) error {
		return run(options{quick: true, out: out, puts: 20, alarms: 20, requests: 20, conc: 4}, stdout)
	}, "PutMetricData", "GetMetricStatistics", "PutMetricAlarm", "DescribeAlarms")
}
