package main

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// benchImage is an image prepared before timing starts: its manifest,
// config and layer digests are all computed up front.
type benchImage struct {
	img    v1.Image
	digest v1.Hash
	bytes  int64 // manifest + config + layers
}

func newBenchImage(layers []v1.Layer) (benchImage, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(img, layers...)
	if err != nil {
		return benchImage{}, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return benchImage{}, err
	}
	m, err := img.Manifest()
	if err != nil {
		return benchImage{}, err
	}
	d, err := img.Digest()
	if err != nil {
		return benchImage{}, err
	}
	n := int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	return benchImage{img: img, digest: d, bytes: n}, nil
}

// tarOf writes a one-file tar of n random bytes from rng to w.
func tarOf(w io.Writer, rng *rand.ChaCha8, n int64) error {
	tw := tar.NewWriter(w)
	if err := tw.WriteHeader(&tar.Header{Name: "data.bin", Mode: 0o644, Size: n, Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	if _, err := io.CopyN(tw, rng, n); err != nil {
		return err
	}
	return tw.Close()
}

// fileLayer is an uncompressed layer backed by a file: random bytes, so
// neither registry nor client can gain anything by compressing.
type fileLayer struct {
	path   string
	digest v1.Hash
	size   int64
}

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return types.OCIUncompressedLayer, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	return os.Open(l.path)
}

// makeLargeImage writes a tar holding n random bytes to path once.
func makeLargeImage(path string, n int64) (benchImage, error) {
	f, err := os.Create(path)
	if err != nil {
		return benchImage{}, err
	}
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	if err := tarOf(bw, rand.NewChaCha8([32]byte{'l', 'a', 'r', 'g', 'e'}), n); err != nil {
		f.Close()
		return benchImage{}, err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return benchImage{}, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return benchImage{}, err
	}
	if err := f.Close(); err != nil {
		return benchImage{}, err
	}
	d := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	return newBenchImage([]v1.Layer{&fileLayer{path: path, digest: d, size: st.Size()}})
}

// makeSmallImages builds count images of perImage layers, each a tar of
// minKiB..maxKiB random bytes; every layer is distinct.
func makeSmallImages(count, perImage, minKiB, maxKiB int) ([]benchImage, error) {
	rng := rand.NewChaCha8([32]byte{'s', 'm', 'a', 'l', 'l'})
	sizes := rand.New(rand.NewPCG(1, 2))
	out := make([]benchImage, 0, count)
	for range count {
		var layers []v1.Layer
		for range perImage {
			n := int64(minKiB+sizes.IntN(maxKiB-minKiB+1)) << 10
			var buf bytesBuffer
			if err := tarOf(&buf, rng, n); err != nil {
				return nil, err
			}
			layers = append(layers, static.NewLayer(buf.b, types.OCIUncompressedLayer))
		}
		img, err := newBenchImage(layers)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, nil
}

type bytesBuffer struct{ b []byte }

func (w *bytesBuffer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

// newTransport is the one HTTP transport configuration used for both
// registries: ggcr's default, dialing 127.0.0.1 only, enough idle
// connections for 8 workers.
func newTransport() *http.Transport {
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = loopbackDial
	tr.Proxy = nil
	tr.MaxIdleConns = 64
	tr.MaxIdleConnsPerHost = 64
	return tr
}

// job is one image to push or pull in one repository.
type job struct {
	ref name.Tag
	img benchImage
}

// pushAll pushes the jobs with conc workers; each worker has one request in
// flight at a time (layers go one by one). It returns the wall time.
func pushAll(ctx context.Context, jobs []job, conc int, auth authn.Authenticator, tr http.RoundTripper) (time.Duration, error) {
	pusher, err := remote.NewPusher(remote.WithAuth(auth), remote.WithTransport(tr), remote.WithJobs(1), remote.WithContext(ctx))
	if err != nil {
		return 0, err
	}
	return runWorkers(ctx, jobs, conc, func(j job) error {
		if err := pusher.Push(ctx, j.ref, j.img.img); err != nil {
			return fmt.Errorf("push %s: %w", j.ref, err)
		}
		return nil
	})
}

// pullAll pulls each job's image by tag: manifest, config and every layer
// read to the end (ggcr verifies each blob's digest as it reads).
func pullAll(ctx context.Context, jobs []job, conc int, auth authn.Authenticator, tr http.RoundTripper) (time.Duration, error) {
	puller, err := remote.NewPuller(remote.WithAuth(auth), remote.WithTransport(tr), remote.WithContext(ctx))
	if err != nil {
		return 0, err
	}
	return runWorkers(ctx, jobs, conc, func(j job) error {
		img, err := remote.Image(j.ref, remote.Reuse(puller), remote.WithContext(ctx))
		if err != nil {
			return fmt.Errorf("pull %s: %w", j.ref, err)
		}
		d, err := img.Digest()
		if err != nil {
			return err
		}
		if d != j.img.digest {
			return fmt.Errorf("pull %s: manifest digest %s, pushed %s", j.ref, d, j.img.digest)
		}
		if _, err := img.RawConfigFile(); err != nil {
			return fmt.Errorf("pull %s config: %w", j.ref, err)
		}
		ls, err := img.Layers()
		if err != nil {
			return err
		}
		buf := make([]byte, 256<<10)
		for _, l := range ls {
			rc, err := l.Compressed()
			if err != nil {
				return fmt.Errorf("pull %s layer: %w", j.ref, err)
			}
			_, err = io.CopyBuffer(io.Discard, struct{ io.Reader }{rc}, buf)
			rc.Close()
			if err != nil {
				return fmt.Errorf("pull %s layer: %w", j.ref, err)
			}
		}
		return nil
	})
}

func runWorkers(ctx context.Context, jobs []job, conc int, f func(job) error) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan job)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				if err := f(j); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
				}
			}
		}()
	}
	for _, j := range jobs {
		select {
		case ch <- j:
		case <-ctx.Done():
		}
	}
	close(ch)
	wg.Wait()
	el := time.Since(start)
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return el, firstErr
}
