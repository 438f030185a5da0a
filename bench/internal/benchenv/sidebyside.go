package benchenv

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Pair is Berth and moto_server running side by side, for the benches that
// drive both with the same calls and report the ratio.
type Pair struct {
	Berth, Moto *Server
	// MotoVersion is moto's version, for the report's first line.
	MotoVersion string
	work        string // removed by Stop when StartPair made it
}

// StartPair builds Berth into a new temporary directory and starts it (agent
// off, data under data/, berthArgs added to `berth up`) and moto_server.
func StartPair(bench string, berthArgs ...string) (*Pair, error) {
	if _, err := exec.LookPath("moto_server"); err != nil {
		return nil, fmt.Errorf("moto_server is not on PATH: %w", err)
	}
	work, err := os.MkdirTemp("", "bench-"+bench+"-")
	if err != nil {
		return nil, err
	}
	bin, err := BuildBerth(work)
	if err == nil {
		var p *Pair
		if p, err = StartPairIn(work, bin, "data", "berth.log", berthArgs...); err == nil {
			p.work = work
			return p, nil
		}
	}
	os.RemoveAll(work)
	return nil, err
}

// StartPairIn starts the Berth binary bin with its data in work/dataDir and
// its log in work/logName, and moto_server, in a work directory the caller
// keeps.
func StartPairIn(work, bin, dataDir, logName string, berthArgs ...string) (*Pair, error) {
	motoBin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf("moto_server is not on PATH: %w", err)
	}
	argv := append([]string{bin, "up", "--listen", "127.0.0.1:{port}", "--data-dir", filepath.Join(work, dataDir)}, berthArgs...)
	b, err := Start(argv, []string{"BERTH_AGENT=off", "BERTH_LOG_LEVEL=warn"}, filepath.Join(work, logName), "/_berth/health")
	if err != nil {
		return nil, err
	}
	m, err := Start([]string{motoBin, "-p", "{port}"}, nil, filepath.Join(work, "moto.log"), "/")
	if err != nil {
		b.Stop()
		return nil, err
	}
	mv, _ := exec.Command("python3", "-c", "import moto; print(moto.__version__)").Output()
	return &Pair{Berth: b, Moto: m, MotoVersion: strings.TrimSpace(string(mv))}, nil
}

// Stop stops both servers (moto first, as the benches' defers did) and
// removes the work directory StartPair made.
func (p *Pair) Stop() {
	p.Moto.Stop()
	p.Berth.Stop()
	if p.work != "" {
		os.RemoveAll(p.work)
	}
}

// MeasureBoth measures one row on each server of names (Berth first, then
// moto_server), op given the server's index, printing each server's
// numbers to stdout; a row with a failed call is an error.
func MeasureBoth(stdout io.Writer, names [2]string, label string, requests, conc int, op func(server, i int) error) ([2]Result, error) {
	var res [2]Result
	for s, name := range names {
		res[s] = Measure(requests, conc, func(i int) error { return op(s, i) })
		if res[s].Errors > 0 {
			return res, fmt.Errorf("%s: %s: %d of %d requests failed, the first with: %v", name, label, res[s].Errors, requests, res[s].FirstErr)
		}
		fmt.Fprintf(stdout, "%s %s: %.1f req/s p50 %s p99 %s\n", name, label, res[s].PerSec, MS(res[s].P50), MS(res[s].P99))
	}
	return res, nil
}

// RatioHeader is the head of the Berth against moto_server table.
const RatioHeader = "| Operation | Requests | Berth req/s | Berth p50 ms | Berth p99 ms | moto req/s | moto p50 ms | moto p99 ms | Ratio |\n" +
	"|---|--:|--:|--:|--:|--:|--:|--:|--:|\n"

// RatioRow writes one row of that table: res is Berth's and moto's, and
// the ratio is Berth's throughput over moto's (no decimal from 10 up).
func RatioRow(w io.Writer, label string, requests int, res [2]Result) {
	ratio := res[0].PerSec / res[1].PerSec
	rf := "%.0f"
	if ratio < 10 {
		rf = "%.1f"
	}
	fmt.Fprintf(w, "| %s | %d | %.1f | %s | %s | %.1f | %s | %s | **"+rf+"×** |\n", label, requests,
		res[0].PerSec, MS(res[0].P50), MS(res[0].P99), res[1].PerSec, MS(res[1].P50), MS(res[1].P99), ratio)
}
