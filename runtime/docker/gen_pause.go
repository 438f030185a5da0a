//go:build ignore

// gen_pause builds ./pause for every architecture Berth supports and writes
// pause_linux_<arch>.gz next to this file, reproducibly: trimmed paths, no
// build id, no gzip name or time, so regenerating with the same Go release
// changes nothing.
package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

func main() {
	tmp, err := os.MkdirTemp("", "berth-pause")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(tmp)
	for _, arch := range []string{"amd64", "arm64"} {
		bin := filepath.Join(tmp, "pause-"+arch)
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", bin, "./pause")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fail(fmt.Errorf("building pause for %s: %w", arch, err))
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			fail(err)
		}
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			fail(err)
		}
		if _, err := zw.Write(data); err != nil {
			fail(err)
		}
		if err := zw.Close(); err != nil {
			fail(err)
		}
		if err := os.WriteFile("pause_linux_"+arch+".gz", buf.Bytes(), 0o644); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gen_pause:", err)
	os.Exit(1)
}
