package handlers_test

import (
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"testing"

	"github.com/opencontainers/go-digest"
)

// layerReader yields size bytes of incompressible, reproducible data
// without holding them in memory.
type layerReader struct {
	rng  *rand.ChaCha8
	left int64
}

func newLayer(seed byte, size int64) *layerReader {
	var s [32]byte
	s[0] = seed
	return &layerReader{rng: rand.NewChaCha8(s), left: size}
}

func (l *layerReader) Read(p []byte) (int, error) {
	if l.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, _ := l.rng.Read(p)
	l.left -= int64(n)
	return n, nil
}

// BenchmarkPushLayer pushes one layer the way docker does (POST, one
// streamed PATCH, PUT ?digest=) over loopback HTTP into the registry on a
// temporary directory. BERTH_BENCH_LAYER_SIZE sets the size (default
// 256 MiB; the published comparison uses 1 GiB).
func BenchmarkPushLayer(b *testing.B) {
	size := int64(256 << 20)
	if s := os.Getenv("BERTH_BENCH_LAYER_SIZE"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		size = n
	}
	f := newFixture(b, nil)
	f.createRepo("bench", "")
	b.SetBytes(size)
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		seed := byte(i)
		dgst, err := digest.FromReader(newLayer(seed, size))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		resp, err := http.Post(f.srv.URL+"/v2/bench/blobs/uploads/", "", nil)
		if err != nil || resp.StatusCode != http.StatusAccepted {
			b.Fatalf("POST: %v %v", resp, err)
		}
		resp.Body.Close()
		loc := f.srv.URL + resp.Header.Get("Location")
		req, _ := http.NewRequest("PATCH", loc, newLayer(seed, size))
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err = http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusAccepted {
			b.Fatalf("PATCH: %v %v", resp, err)
		}
		resp.Body.Close()
		req, _ = http.NewRequest("PUT", f.srv.URL+resp.Header.Get("Location")+"?digest="+dgst.String(), nil)
		resp, err = http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusCreated {
			b.Fatalf("PUT: %v %v", resp, err)
		}
		resp.Body.Close()
	}
}
