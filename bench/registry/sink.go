package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// The sink is the ceiling for any registry on this machine: a bare HTTP
// server (a child process, like the registries) that writes a streamed PUT
// body to a file in 1 MiB writes, optionally hashing it with SHA-256 as a
// registry must, fsyncs and renames it. The bench PUTs the large layer to
// it with the same client transport, so "registry push / sink" isolates
// what the registry adds over loopback HTTP + disk (+ hashing).

const sinkEnv = "BERTH_BENCH_SINK" // "<listen addr> <dir>": run as the sink

func maybeRunSink() {
	spec := os.Getenv(sinkEnv)
	if spec == "" {
		return
	}
	var addr, dir string
	if _, err := fmt.Sscan(spec, &addr, &dir); err != nil {
		fmt.Fprintln(os.Stderr, "sink:", err)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sink:", err)
		os.Exit(2)
	}
	var seq int
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("PUT /blob", func(w http.ResponseWriter, r *http.Request) {
		seq++ // one PUT at a time (the bench is the only client)
		tmp := filepath.Join(dir, fmt.Sprintf("up-%d", seq))
		f, err := os.Create(tmp)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		var dst io.Writer = f
		h := sha256.New()
		if r.URL.Query().Get("hash") == "1" {
			dst = io.MultiWriter(f, h)
		}
		buf := make([]byte, 1<<20)
		_, err = io.CopyBuffer(dst, struct{ io.Reader }{r.Body}, buf)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp, filepath.Join(dir, fmt.Sprintf("blob-%d", seq)))
		}
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Digest", hex.EncodeToString(h.Sum(nil)))
		w.WriteHeader(http.StatusCreated)
	})
	err = (&http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second}).Serve(ln)
	fmt.Fprintln(os.Stderr, "sink:", err)
	os.Exit(1)
}

// sinkPutMBps starts the sink over dataDir, PUTs the file at path (streamed,
// chunked, as ggcr's PATCH is) and returns MB/s including the fsync.
func sinkPutMBps(ctx context.Context, dataDir, path string, hash bool, logPath string) (float64, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	start := time.Now()
	p, err := startProc(self, nil, []string{sinkEnv + "=" + addr + " " + dataDir}, logPath)
	if err != nil {
		return 0, err
	}
	defer p.stop()
	if _, err := waitReady(p, "http://"+addr+"/ready", start); err != nil {
		return 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	u := "http://" + addr + "/blob"
	if hash {
		u += "?hash=1"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, struct{ io.Reader }{f})
	if err != nil {
		return 0, err
	}
	client := &http.Client{Transport: newTransport()}
	syscall.Sync()
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	el := time.Since(t0)
	if resp.StatusCode != http.StatusCreated {
		return 0, fmt.Errorf("sink answered %s", resp.Status)
	}
	return mbps(st.Size(), el), nil
}
