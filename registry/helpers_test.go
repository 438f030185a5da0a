package registry_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/registry/blobstore"
	"github.com/berth-dev/berth/registry/blobstore/filesystem"
	"github.com/berth-dev/berth/store/sqlite"
)

var ctx = context.Background()

type blobstoreInfo = blobstore.Info

const (
	acct   = "111122223333"
	region = "us-east-1"
)

func repoRef(name string) registry.Repo {
	return registry.Repo{Account: acct, Region: region, Name: name}
}

// env is a registry over real stores in a temporary directory; reopen
// simulates a process restart on the same data.
type env struct {
	t    *testing.T
	dir  string
	opts registry.Options
	reg  *registry.Registry
	st   *sqlite.Store
	fs   *filesystem.Driver
}

func newEnv(t *testing.T, opts registry.Options) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), opts: opts}
	e.open()
	t.Cleanup(e.close)
	return e
}

func (e *env) open() {
	e.t.Helper()
	st, err := sqlite.OpenDir(e.dir)
	if err != nil {
		e.t.Fatal(err)
	}
	fs, err := filesystem.New(filepath.Join(e.dir, "blobs"))
	if err != nil {
		e.t.Fatal(err)
	}
	e.st, e.fs = st, fs
	e.reg = registry.New(st, fs, e.opts)
}

func (e *env) close() {
	if e.reg != nil {
		e.reg.Close()
		e.st.Close()
		e.reg = nil
	}
}

func (e *env) reopen() {
	e.close()
	e.open()
}

func (e *env) createRepo(name string, mutability string, exclusions ...string) registry.Repo {
	e.t.Helper()
	ref := repoRef(name)
	if _, err := e.reg.CreateRepository(ctx, registry.Repository{Repo: ref, TagMutability: mutability, MutabilityExclusions: exclusions}); err != nil {
		e.t.Fatal(err)
	}
	return ref
}

func randomData(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *env) pushBlob(ref registry.Repo, data []byte) ocispec.Descriptor {
	e.t.Helper()
	desc, err := e.reg.PutBlob(ctx, ref, digest.FromBytes(data), bytes.NewReader(data))
	if err != nil {
		e.t.Fatalf("PutBlob: %v", err)
	}
	return desc
}

// image is a manifest with its config and layers.
type image struct {
	config []byte
	layers [][]byte
	body   []byte
	digest digest.Digest
}

func newImage(t *testing.T, layerSizes ...int) image {
	t.Helper()
	img := image{config: []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers"},"n":"` + rand.Text() + `"}`)}
	m := ocispec.Manifest{
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(img.config), Size: int64(len(img.config))},
	}
	m.SchemaVersion = 2
	for _, n := range layerSizes {
		l := randomData(t, n)
		img.layers = append(img.layers, l)
		m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.FromBytes(l), Size: int64(n)})
	}
	img.body = mustJSON(t, m)
	img.digest = digest.FromBytes(img.body)
	return img
}

func (img image) size() int64 {
	n := int64(len(img.config))
	for _, l := range img.layers {
		n += int64(len(l))
	}
	return n
}

func (img image) blobDigests() []digest.Digest {
	ds := []digest.Digest{digest.FromBytes(img.config)}
	for _, l := range img.layers {
		ds = append(ds, digest.FromBytes(l))
	}
	return ds
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *env) pushImageBlobs(ref registry.Repo, img image) {
	e.t.Helper()
	e.pushBlob(ref, img.config)
	for _, l := range img.layers {
		e.pushBlob(ref, l)
	}
}

func (e *env) pushImage(ref registry.Repo, img image, tag string) (registry.Image, registry.PutResult) {
	e.t.Helper()
	e.pushImageBlobs(ref, img)
	reference := tag
	if reference == "" {
		reference = img.digest.String()
	}
	got, res, err := e.reg.PutManifest(ctx, ref, reference, ocispec.MediaTypeImageManifest, img.body)
	if err != nil {
		e.t.Fatalf("PutManifest: %v", err)
	}
	return got, res
}

func indexOf(t *testing.T, children ...image) []byte {
	t.Helper()
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex}
	idx.SchemaVersion = 2
	for _, c := range children {
		idx.Manifests = append(idx.Manifests, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: c.digest, Size: int64(len(c.body))})
	}
	return mustJSON(t, idx)
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
