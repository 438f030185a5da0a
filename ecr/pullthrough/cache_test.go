package pullthrough

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/registry/blobstore/filesystem"
	"github.com/berth-dev/berth/registry/handlers"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/store/sqlite"
)

const (
	acct   = "111122223333"
	region = "us-east-1"
)

func TestRuleMatchingAndNames(t *testing.T) {
	rules := []Rule{
		{Prefix: "hub"}, {Prefix: "hub/team", UpstreamPrefix: "mirror"}, {Prefix: Root}, {Prefix: "quay/"},
	}
	for _, c := range []struct{ name, prefix, upstream string }{
		{"hub/library/nginx", "hub", "library/nginx"},
		{"hub/team/app", "hub/team", "mirror/app"},
		{"hubx/app", Root, "hubx/app"},
		{"hub", Root, "hub"},
		{"quay/coreos/etcd", "quay/", "coreos/etcd"},
	} {
		r, ok := Select(rules, c.name)
		if !ok || r.Prefix != c.prefix || r.UpstreamName(c.name) != c.upstream {
			t.Errorf("%s: rule %q upstream %q, want %q %q", c.name, r.Prefix, r.UpstreamName(c.name), c.prefix, c.upstream)
		}
	}
	if _, ok := Select(rules[:2], "other/app"); ok {
		t.Error("a repository no prefix matches got a rule")
	}
	for in, want := range map[string]string{
		"registry-1.docker.io": "https://registry-1.docker.io", "http://127.0.0.1:5000/": "http://127.0.0.1:5000",
		"quay.io:443": "https://quay.io:443",
	} {
		if u, err := ParseUpstreamURL(in); err != nil || u.String() != want {
			t.Errorf("ParseUpstreamURL(%q) = %v %v, want %s", in, u, err, want)
		}
	}
	for _, bad := range []string{"", "ftp://x", "http://", "https://x/path", "http://u:p@x", "x?y=1"} {
		if _, err := ParseUpstreamURL(bad); err == nil {
			t.Errorf("ParseUpstreamURL(%q) accepted", bad)
		}
	}
}

func TestParseChallenge(t *testing.T) {
	s, p := parseChallenge(`Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"`)
	if s != "Bearer" || p["realm"] != "https://auth.example/token" || p["service"] != "registry.example" || p["scope"] != "repository:a/b:pull,push" {
		t.Errorf("bearer: %q %v", s, p)
	}
	s, p = parseChallenge(`Basic realm="http://localhost:4566/",service="ecr.amazonaws.com"`)
	if s != "Basic" || p["realm"] != "http://localhost:4566/" {
		t.Errorf("basic: %q %v", s, p)
	}
	parseChallenge(`Bearer realm="unterminated`) // must not panic
}

func TestVerifyManifest(t *testing.T) {
	body := []byte(`{"schemaVersion":2}`)
	d := digest.FromBytes(body)
	if got, err := verifyManifest("v1", upstreamManifest{Body: body, Digest: d}); err != nil || got != d {
		t.Errorf("honest tag: %s %v", got, err)
	}
	if got, err := verifyManifest("v1", upstreamManifest{Body: body}); err != nil || got != d {
		t.Errorf("tag without a digest header: %s %v", got, err)
	}
	if _, err := verifyManifest("v1", upstreamManifest{Body: body, Digest: digest.FromString("x")}); !errors.Is(err, errLied) {
		t.Errorf("lying digest header: %v", err)
	}
	if _, err := verifyManifest(digest.FromString("y").String(), upstreamManifest{Body: body}); !errors.Is(err, errLied) {
		t.Errorf("body not the digest asked for: %v", err)
	}
}

// upstream is a fake registry: one image, whose layer it may lie about.
type upstream struct {
	srv                     *httptest.Server
	manifest, config, layer []byte
	lie                     atomic.Bool
	blobGets                atomic.Int32
}

func newUpstream(t *testing.T, layerSize int) *upstream {
	u := &upstream{config: []byte(`{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[]}}`)}
	u.layer = bytes.Repeat([]byte("0123456789abcdef"), layerSize/16)
	u.manifest = []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},`+
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%d}]}`,
		digest.FromBytes(u.config), len(u.config), digest.FromBytes(u.layer), len(u.layer)))
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		var body []byte
		switch {
		case p == "/v2/":
		case strings.HasSuffix(p, "/manifests/v1"):
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Header().Set("Docker-Content-Digest", digest.FromBytes(u.manifest).String())
			body = u.manifest
		case strings.HasSuffix(p, "/blobs/"+digest.FromBytes(u.config).String()):
			body = u.config
		case strings.HasSuffix(p, "/blobs/"+digest.FromBytes(u.layer).String()):
			u.blobGets.Add(1)
			body = u.layer
			if u.lie.Load() {
				body = bytes.ToUpper(body)
			}
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		if r.Method != http.MethodHead {
			_, _ = w.Write(body)
		}
	}))
	t.Cleanup(u.srv.Close)
	return u
}

type maker struct{ reg *registry.Registry }

func (m maker) EnsureRepository(ctx context.Context, repo registry.Repo, _ string) error {
	_, err := m.reg.CreateRepository(ctx, registry.Repository{Repo: repo})
	if errors.Is(err, registry.ErrRepositoryExists) {
		return nil
	}
	return err
}

func newCache(t *testing.T, up *upstream) (*Cache, *registry.Registry) {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := filesystem.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(st, fs, registry.Options{})
	t.Cleanup(func() { reg.Close(); st.Close() })
	c, err := New(Options{Registry: reg, Store: st, Repositories: maker{reg}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(context.Background(), func(tx store.Tx) error {
		return PutRule(tx, Rule{Account: acct, Region: region, Prefix: "up", UpstreamURL: up.srv.URL, UpstreamPrefix: Root})
	}); err != nil {
		t.Fatal(err)
	}
	return c, reg
}

var repo = registry.Repo{Account: acct, Region: region, Name: "up/team/app"}

// firstPull fetches the manifest as the handler would on a miss.
func firstPull(t *testing.T, c *Cache, reg *registry.Registry) registry.Image {
	t.Helper()
	ctx := context.Background()
	img, body, err := reg.GetManifest(ctx, repo, "v1")
	img, body, err = c.Manifest(ctx, repo, "v1", img, body, err)
	if err != nil {
		t.Fatalf("manifest through the cache: %v", err)
	}
	if img.Digest != digest.FromBytes(body) {
		t.Fatalf("served manifest %s is not its digest", img.Digest)
	}
	return img
}

func openBlob(t *testing.T, c *Cache, reg *registry.Registry, d digest.Digest) io.ReadCloser {
	t.Helper()
	_, err := reg.StatBlob(context.Background(), repo, d)
	rc, desc, err := c.Blob(context.Background(), repo, d, false, err)
	if err != nil {
		t.Fatalf("blob through the cache: %v", err)
	}
	if desc.Size <= 0 {
		t.Fatalf("blob size %d", desc.Size)
	}
	return rc
}

func TestStreamCachesAndCommits(t *testing.T) {
	up := newUpstream(t, 1<<20)
	c, reg := newCache(t, up)
	img := firstPull(t, c, reg)
	if _, _, err := reg.GetManifest(context.Background(), repo, img.Digest.String()); !errors.Is(err, registry.ErrManifestUnknown) {
		t.Fatalf("the manifest is committed before its blobs: %v", err)
	}
	for _, b := range [][]byte{up.config, up.layer} {
		rc := openBlob(t, c, reg, digest.FromBytes(b))
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("streamed blob: %d bytes, %v", len(got), err)
		}
	}
	// The commit finishes behind the client.
	waitFor(t, "the image committed after its blobs", func() bool {
		_, _, err := reg.GetManifest(context.Background(), repo, "v1")
		return err == nil
	})
	// A second pull does not go upstream.
	rc := openBlob(t, c, reg, digest.FromBytes(up.layer))
	_, _ = io.Copy(io.Discard, rc)
	rc.Close()
	if n := up.blobGets.Load(); n != 1 {
		t.Errorf("the layer was fetched upstream %d times", n)
	}
}

func TestLyingBlobIsCutShortAndNotCached(t *testing.T) {
	up := newUpstream(t, 64<<10)
	up.lie.Store(true)
	c, reg := newCache(t, up)
	firstPull(t, c, reg)
	d := digest.FromBytes(up.layer)
	rc := openBlob(t, c, reg, d)
	got, err := io.ReadAll(rc)
	rc.Close()
	if err == nil || !errors.Is(err, errLied) {
		t.Fatalf("reading a lying blob: %v", err)
	}
	if len(got) >= len(up.layer) {
		t.Fatalf("the client got all %d bytes of a lying blob", len(got))
	}
	time.Sleep(100 * time.Millisecond) // the cache writer's abort
	if _, err := reg.StatBlob(context.Background(), repo, d); !errors.Is(err, registry.ErrBlobUnknown) {
		t.Errorf("the lying blob is cached: %v", err)
	}
}

func TestClientLeavingMidStreamStillCaches(t *testing.T) {
	up := newUpstream(t, 4<<20)
	c, reg := newCache(t, up)
	firstPull(t, c, reg)
	d := digest.FromBytes(up.layer)
	rc := openBlob(t, c, reg, d)
	buf := make([]byte, 1<<20)
	if _, err := io.ReadFull(rc, buf); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	waitFor(t, "the blob a client left mid-stream finished in the background", func() bool {
		_, err := reg.StatBlob(context.Background(), repo, d)
		return err == nil
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not after 10s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A second client asking for a blob while it streams to the first waits
// for the cache and is served from it; the upstream is asked once.
func TestConcurrentClientsShareOneFetch(t *testing.T) {
	up := newUpstream(t, 2<<20)
	c, reg := newCache(t, up)
	firstPull(t, c, reg)
	d := digest.FromBytes(up.layer)
	first := openBlob(t, c, reg, d)
	second := make(chan []byte)
	go func() {
		rc := openBlob(t, c, reg, d)
		b, _ := io.ReadAll(rc)
		rc.Close()
		second <- b
	}()
	got, err := io.ReadAll(first)
	first.Close()
	if err != nil || !bytes.Equal(got, up.layer) {
		t.Fatalf("first client: %d bytes %v", len(got), err)
	}
	if b := <-second; !bytes.Equal(b, up.layer) {
		t.Fatalf("second client got %d bytes", len(b))
	}
	if n := up.blobGets.Load(); n != 1 {
		t.Errorf("the upstream was asked %d times", n)
	}
}

func TestFillerCompletesUnfetchedBlobs(t *testing.T) {
	old := settle
	settle = 0
	t.Cleanup(func() { settle = old })
	up := newUpstream(t, 64<<10)
	c, reg := newCache(t, up)
	firstPull(t, c, reg)
	c.Fill(context.Background())
	if _, _, err := reg.GetManifest(context.Background(), repo, "v1"); err != nil {
		t.Fatalf("the filler did not complete the image: %v", err)
	}
	if ps, _ := c.listPending(context.Background(), ""); len(ps) != 0 {
		t.Errorf("pending records left: %d", len(ps))
	}
}

func TestUpstreamDownServesPendingAndCached(t *testing.T) {
	up := newUpstream(t, 64<<10)
	c, reg := newCache(t, up)
	img := firstPull(t, c, reg)
	up.srv.Close()
	// The manifest fetched before is served from its pending record.
	got := firstPull(t, c, reg)
	if got.Digest != img.Digest {
		t.Errorf("with the upstream down: %s, want %s", got.Digest, img.Digest)
	}
	ctx := context.Background()
	_, _, err := c.Manifest(ctx, repo, "v2", registry.Image{}, nil, registry.ErrManifestUnknown)
	if !errors.Is(err, handlers.ErrUpstream) {
		t.Errorf("an uncached tag with the upstream down: %v", err)
	}
}
