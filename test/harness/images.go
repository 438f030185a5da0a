package harness

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestAppPort is the port the test image serves HTTP on unless PORT is set.
const TestAppPort = 8080

var (
	appLayerOnce sync.Once
	appLayerTar  []byte
	appLayerErr  error
)

// testAppLayer is the uncompressed tar of the image's one layer: /app (the
// testapp binary) and /tmp. It is built once per test binary.
func testAppLayer(t testing.TB) []byte {
	t.Helper()
	appLayerOnce.Do(func() {
		// Static, so it runs in an image with nothing else in it, for the
		// local engine's architecture. Built once, so within a test run the
		// same name always gives the same digest.
		bin, err := goBuild("testapp", "./test/harness/testapp",
			[]string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + runtime.GOARCH},
			"-ldflags=-s -w")
		if err != nil {
			appLayerErr = err
			return
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			appLayerErr = err
			return
		}
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		hdrs := []struct {
			hdr  tar.Header
			data []byte
		}{
			{tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777}, nil},
			{tar.Header{Name: "app", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(data))}, data},
		}
		for _, h := range hdrs {
			if err := tw.WriteHeader(&h.hdr); err != nil {
				appLayerErr = err
				return
			}
			if _, err := tw.Write(h.data); err != nil {
				appLayerErr = err
				return
			}
		}
		appLayerErr = tw.Close()
		appLayerTar = buf.Bytes()
	})
	if appLayerErr != nil {
		t.Fatalf("building the test image: %v", appLayerErr)
	}
	return appLayerTar
}

// TestImage is a real, runnable single-layer image built without any
// registry: /app is the testapp program (see test/harness/testapp), its
// entrypoint, with default command "serve" on port 8080. name is baked into
// the config (env IMAGE_NAME, label dev.berth.test-image), so the app
// reports it and different names give different digests (v1 vs v2 of a
// service), while one name always gives the same digest.
func TestImage(t testing.TB, imageName string) v1.Image {
	t.Helper()
	layerTar := testAppLayer(t)
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithCompressedCaching)
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
	cf.OS = "linux"
	cf.Architecture = runtime.GOARCH
	cf.Config = v1.Config{
		Entrypoint:   []string{"/app"},
		Cmd:          []string{"serve"},
		Env:          []string{"PATH=/", "IMAGE_NAME=" + imageName},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		Labels:       map[string]string{"dev.berth.test-image": imageName},
		WorkingDir:   "/",
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// RandomImage is an image of layers random layers of size bytes each, for
// registry tests; it is not runnable.
func RandomImage(t testing.TB, layers int, size int64) v1.Image {
	t.Helper()
	img, err := random.Image(size, int64(layers))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// LoadIntoDocker loads img into the local Docker engine as ref (a tag such
// as "berth-test/app:v1") with `docker load`, so a test can `docker run`,
// `docker tag` and `docker push` it. The tag is removed when the test ends.
func LoadIntoDocker(t testing.TB, img v1.Image, ref string) {
	t.Helper()
	RequireDocker(t)
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatalf("LoadIntoDocker: %v", err)
	}
	path := filepath.Join(t.TempDir(), "image.tar")
	if err := tarball.WriteToFile(path, tag, img); err != nil {
		t.Fatalf("writing %s as a tarball: %v", ref, err)
	}
	loadedMu.Lock()
	defer loadedMu.Unlock()
	Docker(t, "load", "-i", path).Must(t)
	loaded[ref]++
	t.Cleanup(func() {
		loadedMu.Lock()
		defer loadedMu.Unlock()
		if loaded[ref]--; loaded[ref] == 0 {
			Docker(t, "rmi", "-f", ref)
		}
	})
}

// loaded counts the tests of this binary using each loaded reference:
// parallel tests load the same tag, and the first to end must not remove
// it from under the others' containers.
var (
	loadedMu sync.Mutex
	loaded   = map[string]int{}
)
