package handlers_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/registry/blobstore/filesystem"
	"github.com/berth-dev/berth/registry/handlers"
	"github.com/berth-dev/berth/store/sqlite"
)

// fakePull serves one manifest and one blob it does not have locally; the
// blob's stream fails before its end when lie is set.
type fakePull struct {
	manifest []byte
	blob     []byte
	lie      bool
}

func (f *fakePull) Manifest(_ context.Context, repo registry.Repo, ref string, img registry.Image, body []byte, err error) (registry.Image, []byte, error) {
	if err == nil || !strings.HasPrefix(repo.Name, "cache/") {
		return img, body, err
	}
	if ref == "gone" {
		return img, body, errors.Join(handlers.ErrUpstream, errors.New("the upstream is down"))
	}
	return registry.Image{Repo: repo, Digest: digest.FromBytes(f.manifest), MediaType: ocispec.MediaTypeImageManifest}, f.manifest, nil
}

type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func (f *failingReader) Close() error { return nil }

func (f *fakePull) Blob(_ context.Context, repo registry.Repo, d digest.Digest, head bool, err error) (io.ReadCloser, ocispec.Descriptor, error) {
	if !strings.HasPrefix(repo.Name, "cache/") {
		return nil, ocispec.Descriptor{}, err
	}
	desc := ocispec.Descriptor{Digest: d, Size: int64(len(f.blob))}
	if head {
		return nil, desc, nil
	}
	if f.lie {
		return &failingReader{r: strings.NewReader(string(f.blob[:len(f.blob)-1])), err: errors.New("digest mismatch")}, desc, nil
	}
	return io.NopCloser(strings.NewReader(string(f.blob))), desc, nil
}

func TestPullThroughHook(t *testing.T) {
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
	pull := &fakePull{manifest: []byte(`{"schemaVersion":2}`), blob: []byte("0123456789")}
	srv := httptest.NewServer(handlers.New(reg, handlers.AllowAll{Account: acct, Region: region}, nil, handlers.WithPullThrough(pull)))
	t.Cleanup(func() { srv.Close(); reg.Close(); st.Close() })
	get := func(method, path string) (*http.Response, []byte, error) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}
	bd := digest.FromBytes(pull.blob).String()

	resp, body, err := get("GET", "/v2/cache/app/manifests/v1")
	if err != nil || resp.StatusCode != 200 || string(body) != string(pull.manifest) || resp.Header.Get("Docker-Content-Digest") != digest.FromBytes(pull.manifest).String() {
		t.Errorf("manifest through the hook: %v %v %q", resp, err, body)
	}
	resp, _, _ = get("GET", "/v2/cache/app/manifests/gone")
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("an upstream failure: %d, want 502", resp.StatusCode)
	}
	resp, body, err = get("GET", "/v2/cache/app/blobs/"+bd)
	if err != nil || resp.StatusCode != 200 || string(body) != string(pull.blob) {
		t.Errorf("blob through the hook: %v %v %q", resp, err, body)
	}
	resp, _, err = get("HEAD", "/v2/cache/app/blobs/"+bd)
	if err != nil || resp.StatusCode != 200 || resp.ContentLength != int64(len(pull.blob)) {
		t.Errorf("HEAD through the hook: %v %v", resp, err)
	}
	pull.lie = true
	if _, body, err := get("GET", "/v2/cache/app/blobs/"+bd); err == nil {
		t.Errorf("a stream that failed reached the client complete: %q", body)
	}
	// Repositories the hook does not fill answer as without it.
	resp, _, _ = get("GET", "/v2/other/app/manifests/v1")
	if resp.StatusCode != 404 {
		t.Errorf("a repository the hook passes on: %d", resp.StatusCode)
	}
}
