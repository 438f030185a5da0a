package runtimetest

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

// TestProgram is the import path of the program in the test image; see its
// package comment for its modes.
const TestProgram = "github.com/berth-dev/berth/runtime/runtimetest/testprog"

var (
	buildMu sync.Mutex
	built   = map[string][]byte{} // arch → binary
)

// TestImage returns the test image for a GOARCH: /app (TestProgram, static)
// as its entrypoint, "sleep" as its command, and the directories /tmp,
// /srv and /data. The program is compiled once per test binary and arch, so
// the image (and its digest) is the same within a run.
func TestImage(t testing.TB, arch string) v1.Image {
	t.Helper()
	bin, err := testBinary(arch)
	if err != nil {
		t.Fatalf("building the test image: %v", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	for _, d := range []struct {
		name string
		mode int64
	}{{"tmp/", 0o1777}, {"srv/", 0o755}, {"data/", 0o777}} {
		if err := tw.WriteHeader(&tar.Header{Name: d.name, Typeflag: tar.TypeDir, Mode: d.mode, ModTime: epoch}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "app", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin)), ModTime: epoch}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(bin); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Entrypoint = []string{"/app"}
	cf.Config.Cmd = []string{"sleep"}
	cf.Config.Env = []string{"PATH=/", "IMAGE_ENV=from-image"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func testBinary(arch string) ([]byte, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	if b, ok := built[arch]; ok {
		return b, nil
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("the go tool is not on PATH: %w", err)
	}
	dir, err := os.MkdirTemp("", "berth-testprog")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "app")
	// The test's working directory is inside the module, so the import
	// path resolves without knowing where the module is checked out.
	cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags=-s -w", "-o", out, TestProgram)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if outp, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %s: %v\n%s", TestProgram, err, outp)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	built[arch] = b
	return b, nil
}

// Registry is an OCI registry running in the test process.
type Registry struct {
	// Host is "127.0.0.1:<port>", which engines treat as plain HTTP.
	Host string
	// Username and Password are required when set.
	Username, Password string
}

// StartRegistry starts an in-memory registry on 127.0.0.1 (stopped when
// the test ends). With a non-empty username it demands HTTP basic auth, the
// way a private registry does.
func StartRegistry(t testing.TB, username, password string) *Registry {
	t.Helper()
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	var h http.Handler = reg
	if username != "" {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || u != username || p != password {
				w.Header().Set("WWW-Authenticate", `Basic realm="runtimetest"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
			reg.ServeHTTP(w, r)
		})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("registry: %v", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &Registry{Host: ln.Addr().String(), Username: username, Password: password}
}

// Push uploads img as ref (which names this registry).
func (r *Registry) Push(t testing.TB, img v1.Image, ref string) v1.Hash {
	t.Helper()
	nref, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	auth := authn.Anonymous
	if r.Username != "" {
		auth = &authn.Basic{Username: r.Username, Password: r.Password}
	}
	if err := remote.Write(nref, img, remote.WithAuth(auth)); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// LoadImage puts img into the Docker engine of DOCKER_HOST (or the default
// socket) as tag, through the Engine API's image load: the way tests get
// images into the engine without any registry.
func LoadImage(ctx context.Context, t testing.TB, img v1.Image, tag string) {
	t.Helper()
	if err := loadIntoEngine(ctx, img, tag); err != nil {
		t.Fatalf("load %s: %v", tag, err)
	}
}

func loadIntoEngine(ctx context.Context, img v1.Image, tag string) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return err
	}
	defer cli.Close()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarball.Write(ref, img, pw)) }()
	resp, err := cli.ImageLoad(ctx, pr, client.ImageLoadWithQuiet(true))
	if err != nil {
		pr.CloseWithError(err)
		return err
	}
	defer resp.Close()
	dec := json.NewDecoder(resp)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if m.Error != nil {
			return errors.New(strings.TrimSpace(m.Error.Message))
		}
	}
}
