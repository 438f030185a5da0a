package benchenv

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Smoke runs a bench with small counts (run writes its report to out and
// its progress to stdout) and checks the report says each of want. It
// starts real servers and containers, so it runs only with BERTH_BENCH=1;
// otherwise `go test ./...` just compiles the bench.
func Smoke(t *testing.T, bench string, run func(out string, stdout io.Writer) error, want ...string) {
	t.Helper()
	if os.Getenv("BERTH_BENCH") != "1" {
		t.Skipf("set BERTH_BENCH=1 to run the %s benchmark smoke test", bench)
	}
	out := filepath.Join(t.TempDir(), bench+".md")
	var stdout strings.Builder
	if err := run(out, &stdout); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !strings.Contains(string(md), w) {
			t.Errorf("report lacks %q:\n%s", w, md)
		}
	}
}
