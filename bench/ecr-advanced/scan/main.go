// Command scan measures Berth's image scan (ecr/scan): the time to read
// an image's layers into an inventory and match it against a vulnerability
// database, for an image of 500 dpkg packages and 5 Go binaries.
//
//	go run ./bench/ecr-advanced/scan [-vulndb DIR] [-reps 9]
//
// The image is made in memory: a gzipped base layer holding etc/os-release
// (Debian 12) and a var/lib/dpkg/status of 500 packages, and five gzipped
// layers each holding one Go binary (this program's own executable, which
// carries a full module list, made distinct by a trailing byte). The
// database is -vulndb (by default golang.org/x/vulndb's data/osv, fetched
// through the Go module proxy with `go mod download`) plus 1,000 generated
// Debian records against the 500 packages. Database load time is reported
// apart; the scan time is the median of -reps runs of Extract + Match.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/berth-dev/berth/ecr/scan"
)

// vulndbVersion is the golang.org/x/vulndb version the benchmark loads.
const vulndbVersion = "v0.0.0-20261105234957-e22db6528018"

func main() {
	vulndb := flag.String("vulndb", "", "OSV directory to load besides the generated Debian records (default: golang.org/x/vulndb's data/osv via `go mod download`)")
	reps := flag.Int("reps", 9, "scan runs; the median is reported")
	packages := flag.Int("packages", 500, "dpkg packages in the image")
	binaries := flag.Int("binaries", 5, "Go binaries in the image")
	flag.Parse()
	if err := run(*vulndb, *reps, *packages, *binaries); err != nil {
		fmt.Fprintln(os.Stderr, "scan bench:", err)
		os.Exit(1)
	}
}

func run(vulndb string, reps, packages, binaries int) error {
	if vulndb == "" {
		dir, err := downloadVulndb()
		if err != nil {
			return err
		}
		vulndb = filepath.Join(dir, "data", "osv")
	}
	work, err := os.MkdirTemp("", "berth-scan-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	debDir := filepath.Join(work, "debian")
	if err := writeDebianRecords(debDir, packages); err != nil {
		return err
	}

	start := time.Now()
	db, err := scan.LoadDB([]string{vulndb, debDir})
	if err != nil {
		return err
	}
	load := time.Since(start)

	layers, size, err := makeImage(packages, binaries)
	if err != nil {
		return err
	}
	var times []time.Duration
	var inv *scan.Inventory
	var findings []scan.Finding
	var cpu time.Duration
	for range reps {
		runtime.GC()
		c0 := cpuTime()
		t0 := time.Now()
		inv, err = scan.Extract(context.Background(), layers, scan.Limits{})
		if err != nil {
			return err
		}
		findings = db.Match(inv)
		times = append(times, time.Since(t0))
		cpu += cpuTime() - c0
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	goPkgs, dpkg := 0, 0
	for _, p := range inv.Packages {
		switch p.Manager {
		case scan.ManagerGo:
			goPkgs++
		case scan.ManagerDpkg:
			dpkg++
		}
	}
	fmt.Printf("machine: %d CPUs (GOMAXPROCS %d), %s %s/%s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Printf("database: %d records (%d files skipped) loaded in %s\n", db.Records, db.Skipped, load.Round(time.Millisecond))
	fmt.Printf("image: %d layers, %.1f MB compressed; found %d dpkg packages, %d Go modules/stdlib entries, %d findings\n",
		len(layers), float64(size)/1e6, dpkg, goPkgs, len(findings))
	fmt.Printf("scan (Extract + Match), %d runs: median %s, min %s, max %s; CPU %s per run\n",
		reps, times[len(times)/2].Round(time.Millisecond), times[0].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond),
		(cpu / time.Duration(reps)).Round(time.Millisecond))
	return nil
}

// downloadVulndb returns the directory of golang.org/x/vulndb in the
// module cache, downloading it through the module proxy if needed.
func downloadVulndb() (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", "golang.org/x/vulndb@"+vulndbVersion)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GO111MODULE=on")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download golang.org/x/vulndb: %w", err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		return "", fmt.Errorf("go mod download golang.org/x/vulndb: %s %v", m.Error, err)
	}
	return m.Dir, nil
}

func pkgName(i int) string { return fmt.Sprintf("pkg%03d", i) }

// writeDebianRecords writes two records per package: one the installed
// version is affected by (fixed later), one it is not (fixed earlier).
func writeDebianRecords(dir string, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := range n {
		for j, fixed := range []string{"1.0-2", "0.9-1"} {
			id := fmt.Sprintf("DEBIAN-CVE-2099-%05d", i*2+j)
			rec := map[string]any{
				"id": id, "modified": "2026-01-01T00:00:00Z", "details": "generated",
				"affected": []any{map[string]any{
					"package": map[string]any{"ecosystem": "Debian:12", "name": pkgName(i)},
					"ranges":  []any{map[string]any{"type": "ECOSYSTEM", "events": []any{map[string]any{"introduced": "0"}, map[string]any{"fixed": fixed}}}},
				}},
				"severity": []any{map[string]any{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}},
			}
			data, _ := json.Marshal(rec)
			if err := os.WriteFile(filepath.Join(dir, id+".json"), data, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

func tgz(entries map[string][]byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		data := entries[n]
		if err := tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(data))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func makeImage(packages, binaries int) ([]scan.Layer, int, error) {
	var status strings.Builder
	for i := range packages {
		fmt.Fprintf(&status, "Package: %s\nStatus: install ok installed\nPriority: optional\nSection: libs\nInstalled-Size: 1234\nMaintainer: Nobody <nobody@example.com>\nArchitecture: amd64\nSource: %s\nVersion: 1.0-1\nDepends: libc6 (>= 2.34)\nDescription: generated package %d\n a package made up for the benchmark\n\n",
			pkgName(i), pkgName(i), i)
	}
	base, err := tgz(map[string][]byte{
		"etc/os-release":      []byte("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n"),
		"var/lib/dpkg/status": []byte(status.String()),
	})
	if err != nil {
		return nil, 0, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, 0, err
	}
	bin, err := os.ReadFile(exe)
	if err != nil {
		return nil, 0, err
	}
	blobs := [][]byte{base}
	for i := range binaries {
		b := append(append([]byte{}, bin...), byte(i))
		l, err := tgz(map[string][]byte{fmt.Sprintf("usr/local/bin/app%d", i): b})
		if err != nil {
			return nil, 0, err
		}
		blobs = append(blobs, l)
	}
	var layers []scan.Layer
	size := 0
	for i, b := range blobs {
		size += len(b)
		layers = append(layers, scan.Layer{Digest: fmt.Sprintf("layer-%d", i), Open: func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(b)), nil
		}})
	}
	return layers, size, nil
}
