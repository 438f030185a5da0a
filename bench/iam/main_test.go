package main

import (
	"io"
	"testing"

	"github.com/berth-dev/berth/bench/internal/benchenv"
)

// TestQuick runs the whole bench with small counts (with BERTH_BENCH=1).
func TestQuick(t *testing.T) {
	benchenv.Smoke(t, "iam", func(out string, stdout io.Writer) error {
		return run(options{quick: true, out: out, users: 30, requests: 100, conc: 4}, stdout)
	}, "iam:CreateUser", "iam:CreateAccessKey", "iam:GetUser", "sts:GetCallerIdentity")
}
