package main

import (
	"io"
	"os"
	"testing"

	"github.com/berth-dev/berth/bench/internal/benchenv"
	"github.com/berth-dev/berth/store/postgres/pgtest"
)

// TestQuick runs the whole bench with small counts (with BERTH_BENCH=1 and
// a PostgreSQL database in BERTH_TEST_POSTGRES).
func TestQuick(t *testing.T) {
	if os.Getenv("BERTH_BENCH") == "1" && os.Getenv(pgtest.EnvVar) == "" {
		t.Skip(pgtest.EnvVar + " is not set: the store benchmark needs a PostgreSQL database")
	}
	benchenv.Smoke(t, "store", func(out string, stdout io.Writer) error {
		return run(options{quick: true, out: out, postgres: os.Getenv(pgtest.EnvVar)}, stdout)
	}, "load average at start", "CreateRepository", "ECS task writes", "4 clients at once", "PostgreSQL")
}
