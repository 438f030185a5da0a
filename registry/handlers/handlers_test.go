package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/registry/blobstore/filesystem"
	"github.com/berth-dev/berth/registry/handlers"
	"github.com/berth-dev/berth/store/sqlite"
)

const (
	acct   = "111122223333"
	region = "us-east-1"
)

type fixture struct {
	t   testing.TB
	reg *registry.Registry
	srv *httptest.Server
}

func newFixture(t testing.TB, auth handlers.Authorizer) *fixture {
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
	if auth == nil {
		auth = handlers.AllowAll{Account: acct, Region: region}
	}
	srv := httptest.NewServer(handlers.New(reg, auth, nil))
	t.Cleanup(func() {
		srv.Close()
		reg.Close()
		st.Close()
	})
	return &fixture{t: t, reg: reg, srv: srv}
}

func (f *fixture) createRepo(name, mutability string) {
	f.t.Helper()
	if _, err := f.reg.CreateRepository(context.Background(), registry.Repository{
		Repo: registry.Repo{Account: acct, Region: region, Name: name}, TagMutability: mutability,
	}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) do(method, path string, body []byte, hdr map[string]string) *http.Response {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

type errorBody struct {
	Errors []struct {
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	} `json:"errors"`
}

func expectError(t *testing.T, resp *http.Response, status int, code string) errorBody {
	t.Helper()
	var body errorBody
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != status || len(body.Errors) != 1 || body.Errors[0].Code != code {
		t.Fatalf("got %d %+v, want %d %s", resp.StatusCode, body, status, code)
	}
	return body
}

func (f *fixture) pushBlob(name string, data []byte) digest.Digest {
	f.t.Helper()
	d := digest.FromBytes(data)
	resp := f.do("POST", "/v2/"+name+"/blobs/uploads/?digest="+d.String(), data, nil)
	if resp.StatusCode != http.StatusCreated {
		f.t.Fatalf("blob push: %d", resp.StatusCode)
	}
	return d
}

func (f *fixture) manifest(name string, layer []byte) []byte {
	f.t.Helper()
	config := []byte(`{"os":"linux","architecture":"amd64"}`)
	cd := f.pushBlob(name, config)
	ld := f.pushBlob(name, layer)
	return []byte(`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",` +
		`"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"` + cd.String() + `","size":` + itoa(len(config)) + `},` +
		`"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"` + ld.String() + `","size":` + itoa(len(layer)) + `}]}`)
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestVersionCheckAndAuth(t *testing.T) {
	f := newFixture(t, nil)
	resp := f.do("GET", "/v2/", nil, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Docker-Distribution-API-Version") != "registry/2.0" {
		t.Fatalf("GET /v2/: %d %v", resp.StatusCode, resp.Header)
	}

	var auth authFunc = func(*http.Request, string, []string) (string, string, error) {
		return "", "", &handlers.Challenge{Realm: "https://111122223333.dkr.ecr.us-east-1.amazonaws.com/"}
	}
	f = newFixture(t, auth)
	resp = f.do("GET", "/v2/", nil, nil)
	expectError(t, resp, http.StatusUnauthorized, handlers.CodeUnauthorized)
	if got := resp.Header.Get("WWW-Authenticate"); got != `Basic realm="https://111122223333.dkr.ecr.us-east-1.amazonaws.com/",service="ecr.amazonaws.com"` {
		t.Fatalf("challenge %q", got)
	}

	var gotActions []string
	auth = func(_ *http.Request, name string, actions []string) (string, string, error) {
		gotActions = actions
		if name == "busy" {
			return "", "", handlers.ErrTooManyRequests
		}
		return "", "", errors.New("not allowed to touch " + name)
	}
	f = newFixture(t, auth)
	body := expectError(t, f.do("DELETE", "/v2/app/manifests/latest", nil, nil), http.StatusForbidden, handlers.CodeDenied)
	if !strings.Contains(body.Errors[0].Message, "app") || len(gotActions) != 1 || gotActions[0] != handlers.ActionDelete {
		t.Fatalf("denied: %+v, actions %v", body, gotActions)
	}
	expectError(t, f.do("GET", "/v2/busy/tags/list", nil, nil), http.StatusTooManyRequests, handlers.CodeTooManyRequests)
}

type authFunc func(*http.Request, string, []string) (string, string, error)

func (a authFunc) Authorize(r *http.Request, name string, actions []string) (string, string, error) {
	return a(r, name, actions)
}

func TestPushPullDockerImage(t *testing.T) {
	f := newFixture(t, nil)
	f.createRepo("team/app", "")
	body := f.manifest("team/app", []byte("layer data"))
	const mt = "application/vnd.docker.distribution.manifest.v2+json"
	resp := f.do("PUT", "/v2/team/app/manifests/latest", body, map[string]string{"Content-Type": mt})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("manifest push: %d", resp.StatusCode)
	}
	d := digest.FromBytes(body)
	if resp.Header.Get("Docker-Content-Digest") != d.String() || resp.Header.Get("Location") != "/v2/team/app/manifests/"+d.String() {
		t.Fatalf("push headers %v", resp.Header)
	}
	// Served as pushed, whatever the client accepts.
	resp = f.do("GET", "/v2/team/app/manifests/latest", nil, map[string]string{"Accept": "application/vnd.oci.image.manifest.v1+json"})
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != mt || !bytes.Equal(got, body) {
		t.Fatalf("pull: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp = f.do("GET", "/v2/team/app/manifests/latest", nil, map[string]string{"If-None-Match": `"` + d.String() + `"`})
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional pull: %d", resp.StatusCode)
	}
	// Range request on a blob.
	ld := digest.FromBytes([]byte("layer data"))
	resp = f.do("GET", "/v2/team/app/blobs/"+ld.String(), nil, map[string]string{"Range": "bytes=6-9"})
	got, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusPartialContent || string(got) != "data" || resp.Header.Get("Content-Range") != "bytes 6-9/10" {
		t.Fatalf("range: %d %q %v", resp.StatusCode, got, resp.Header)
	}
	// The whole blob (the copy that is not http.ServeContent's), and a
	// conditional GET (which is).
	resp = f.do("GET", "/v2/team/app/blobs/"+ld.String(), nil, nil)
	got, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(got) != "layer data" || resp.Header.Get("Content-Length") != "10" ||
		resp.Header.Get("Accept-Ranges") != "bytes" || resp.Header.Get("Docker-Content-Digest") != ld.String() {
		t.Fatalf("blob: %d %q %v", resp.StatusCode, got, resp.Header)
	}
	resp = f.do("GET", "/v2/team/app/blobs/"+ld.String(), nil, map[string]string{"If-None-Match": resp.Header.Get("ETag")})
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional blob pull: %d", resp.StatusCode)
	}
}

func TestPushErrors(t *testing.T) {
	f := newFixture(t, nil)
	f.createRepo("app", registry.Immutable)
	f.createRepo("other", "")

	// A repository must exist before a push (ECR's CreateRepository).
	expectError(t, f.do("POST", "/v2/nope/blobs/uploads/", nil, nil), http.StatusNotFound, handlers.CodeNameUnknown)
	expectError(t, f.do("PUT", "/v2/nope/manifests/v1", []byte("{}"), nil), http.StatusNotFound, handlers.CodeNameUnknown)
	expectError(t, f.do("GET", "/v2/BAD/tags/list", nil, nil), http.StatusBadRequest, handlers.CodeNameInvalid)

	// A layer pushed to another repository is unknown here, by name.
	layer := []byte("elsewhere")
	f.pushBlob("other", layer)
	body := f.manifest("app", []byte("here"))
	body = bytes.Replace(body, []byte(digest.FromBytes([]byte("here")).String()), []byte(digest.FromBytes(layer).String()), 1)
	eb := expectError(t, f.do("PUT", "/v2/app/manifests/v1", body, nil), http.StatusBadRequest, handlers.CodeManifestBlobUnknown)
	if !strings.Contains(string(eb.Errors[0].Detail), digest.FromBytes(layer).String()) {
		t.Fatalf("detail does not name the blob: %s", eb.Errors[0].Detail)
	}

	// Immutable tag overwrite: DENIED, naming the tag.
	v1 := f.manifest("app", []byte("one"))
	if resp := f.do("PUT", "/v2/app/manifests/v1", v1, nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("first push: %d", resp.StatusCode)
	}
	v2 := f.manifest("app", []byte("two"))
	eb = expectError(t, f.do("PUT", "/v2/app/manifests/v1", v2, nil), http.StatusForbidden, handlers.CodeDenied)
	if !strings.Contains(eb.Errors[0].Message, "'v1'") {
		t.Fatalf("message does not name the tag: %s", eb.Errors[0].Message)
	}

	// Manifests are capped at 4 MiB.
	big := append([]byte(`{"schemaVersion":2,"x":"`), bytes.Repeat([]byte("a"), registry.MaxManifestSize)...)
	expectError(t, f.do("PUT", "/v2/app/manifests/big", big, nil), http.StatusRequestEntityTooLarge, handlers.CodeSizeInvalid)

	// A schema1 manifest is refused.
	expectError(t, f.do("PUT", "/v2/app/manifests/old", []byte(`{"schemaVersion":1,"fsLayers":[]}`),
		map[string]string{"Content-Type": "application/vnd.docker.distribution.manifest.v1+prettyjws"}), http.StatusBadRequest, handlers.CodeManifestInvalid)
}

func TestChunkedUploadRanges(t *testing.T) {
	f := newFixture(t, nil)
	f.createRepo("app", "")
	resp := f.do("POST", "/v2/app/blobs/uploads/", nil, nil)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || loc == "" || resp.Header.Get("Range") != "0-0" {
		t.Fatalf("start: %d %v", resp.StatusCode, resp.Header)
	}
	data := []byte("0123456789")
	resp = f.do("PATCH", loc, data[:4], map[string]string{"Content-Range": "0-3"})
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Range") != "0-3" {
		t.Fatalf("chunk: %d %v", resp.StatusCode, resp.Header)
	}
	// Out of order: 416 with the state to resume from.
	resp = f.do("PATCH", loc, data[6:], map[string]string{"Content-Range": "6-9"})
	expectError(t, resp, http.StatusRequestedRangeNotSatisfiable, handlers.CodeBlobUploadInvalid)
	if resp.Header.Get("Range") != "0-3" || resp.Header.Get("Location") != loc {
		t.Fatalf("416 headers %v", resp.Header)
	}
	// Content-Range and Content-Length disagree.
	expectError(t, f.do("PATCH", loc, data[4:6], map[string]string{"Content-Range": "4-9"}), http.StatusRequestedRangeNotSatisfiable, handlers.CodeBlobUploadInvalid)
	resp = f.do("GET", loc, nil, nil)
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Range") != "0-3" {
		t.Fatalf("status: %d %v", resp.StatusCode, resp.Header)
	}
	expectError(t, f.do("PUT", loc, data[4:], nil), http.StatusBadRequest, handlers.CodeDigestInvalid)
	d := digest.FromBytes(data)
	resp = f.do("PUT", loc+"?digest="+d.String(), data[4:], map[string]string{"Content-Range": "4-9"})
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Location") != "/v2/app/blobs/"+d.String() {
		t.Fatalf("complete: %d %v", resp.StatusCode, resp.Header)
	}
	expectError(t, f.do("GET", loc, nil, nil), http.StatusNotFound, handlers.CodeBlobUploadUnknown)
}

func TestTagListPagination(t *testing.T) {
	f := newFixture(t, nil)
	f.createRepo("app", "")
	body := f.manifest("app", []byte("layer"))
	for _, tag := range []string{"d", "a", "c", "b", "e"} {
		if resp := f.do("PUT", "/v2/app/manifests/"+tag, body, nil); resp.StatusCode != http.StatusCreated {
			t.Fatalf("push %s: %d", tag, resp.StatusCode)
		}
	}
	list := func(query string) ([]string, string) {
		resp := f.do("GET", "/v2/app/tags/list"+query, nil, nil)
		var tl struct {
			Name string   `json:"name"`
			Tags []string `json:"tags"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&tl); err != nil || resp.StatusCode != 200 || tl.Name != "app" || tl.Tags == nil {
			t.Fatalf("tags list %s: %d %+v %v", query, resp.StatusCode, tl, err)
		}
		return tl.Tags, resp.Header.Get("Link")
	}
	tags, link := list("?n=2")
	if strings.Join(tags, ",") != "a,b" || link != `</v2/app/tags/list?last=b&n=2>; rel="next"` {
		t.Fatalf("page 1: %v %q", tags, link)
	}
	tags, link = list("?n=2&last=d")
	if strings.Join(tags, ",") != "e" || link != "" {
		t.Fatalf("last page: %v %q", tags, link)
	}
	if tags, _ = list(""); len(tags) != 5 {
		t.Fatalf("all: %v", tags)
	}
	if tags, _ = list("?n=0"); len(tags) != 0 {
		t.Fatalf("n=0: %v", tags)
	}
}
