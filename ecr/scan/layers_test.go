package scan

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// file is one tar entry of a test layer.
type file struct {
	name string
	body string
	link string // symlink target
	hard string // hard link target
	dir  bool
	mode int64
}

func tarOf(t testing.TB, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(f.body)), ModTime: time.Unix(0, 0)}
		switch {
		case f.dir:
			h.Typeflag, h.Size, h.Mode = tar.TypeDir, 0, 0o755
		case f.link != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, f.link, 0
		case f.hard != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeLink, f.hard, 0
		}
		if f.mode != 0 {
			h.Mode = f.mode
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := io.WriteString(tw, f.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	return buf.Bytes()
}

func layerOf(i int, data []byte) Layer {
	return Layer{
		Digest: fmt.Sprintf("sha256:%064d", i),
		Open: func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		},
	}
}

func layersOf(blobs ...[]byte) []Layer {
	out := make([]Layer, len(blobs))
	for i, b := range blobs {
		out[i] = layerOf(i+1, b)
	}
	return out
}

const debianRelease = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION_CODENAME=bookworm
ID=debian
`

const dpkgStatus = `Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library
 shared libraries

Package: removed
Status: deinstall ok config-files
Version: 1.0

Package: openssl
Status: install ok installed
Architecture: amd64
Version: 3.0.11-1~deb12u2
`

func names(inv *Inventory) map[string]Package {
	out := map[string]Package{}
	for _, p := range inv.Packages {
		out[p.Name] = p
	}
	return out
}

func TestExtractDebian(t *testing.T) {
	base := gzipped(t, tarOf(t,
		file{name: "etc/", dir: true},
		file{name: "etc/os-release", link: "../usr/lib/os-release"},
		file{name: "usr/lib/os-release", body: debianRelease},
		file{name: "var/lib/dpkg/status", body: dpkgStatus},
	))
	inv, err := Extract(context.Background(), layersOf(base), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if inv.OS.ID != "debian" || inv.OS.VersionID != "12" {
		t.Errorf("os = %+v", inv.OS)
	}
	got := names(inv)
	if len(got) != 2 {
		t.Fatalf("packages = %+v, want libc6 and openssl", inv.Packages)
	}
	libc := got["libc6"]
	if libc.Ecosystem != "Debian:12" || libc.Version != "2.36-9+deb12u4" || libc.SourceName != "glibc" || libc.Path != "/var/lib/dpkg/status" || libc.Layer != layerOf(1, nil).Digest {
		t.Errorf("libc6 = %+v", libc)
	}
}

func TestExtractWhiteoutsAndOrder(t *testing.T) {
	l1 := tarOf(t,
		file{name: "etc/os-release", body: "ID=alpine\nVERSION_ID=3.19.1\n"},
		file{name: "lib/apk/db/installed", body: "P:musl\nV:1.2.4-r2\no:musl\nA:x86_64\n\nP:busybox\nV:1.36.1-r15\no:busybox\n\n"},
		file{name: "var/lib/dpkg/status", body: dpkgStatus},
	)
	// Layer 2 deletes the dpkg database and rewrites the apk one.
	l2 := tarOf(t,
		file{name: "var/lib/dpkg/.wh.status"},
		file{name: "lib/apk/db/installed", body: "P:musl\nV:1.2.4-r3\no:musl\n\n"},
	)
	inv, err := Extract(context.Background(), layersOf(l1, gzipped(t, l2)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got := names(inv)
	if len(got) != 1 || got["musl"].Version != "1.2.4-r3" || got["musl"].Ecosystem != "Alpine:v3.19" {
		t.Errorf("packages = %+v, want musl 1.2.4-r3 only", inv.Packages)
	}

	// An opaque directory hides what is below it.
	l3 := tarOf(t, file{name: "lib/apk/db/.wh..wh..opq"})
	inv, err = Extract(context.Background(), layersOf(l1, l3), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(inv); len(got) != 2 || got["libc6"].Name == "" {
		t.Errorf("packages after opaque lib/apk/db = %+v, want the dpkg ones", inv.Packages)
	}

	// A file replacing a directory hides its content.
	l4 := tarOf(t, file{name: "lib/apk", body: "not a directory"})
	inv, err = Extract(context.Background(), layersOf(l1, l4), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(inv); got["musl"].Name != "" {
		t.Errorf("apk packages still listed after lib/apk became a file: %+v", inv.Packages)
	}
}

func TestExtractDistroless(t *testing.T) {
	l := tarOf(t,
		file{name: "etc/os-release", body: debianRelease},
		file{name: "var/lib/dpkg/status.d/base-files", body: "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n"},
		file{name: "var/lib/dpkg/status.d/base-files.md5sums", body: "abc  etc/debian_version\n"},
		file{name: "var/lib/dpkg/status.d/libssl3", body: "Package: libssl3\nSource: openssl\nVersion: 3.0.11-1~deb12u2\n"},
	)
	inv, err := Extract(context.Background(), layersOf(l), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got := names(inv)
	if len(got) != 2 || got["libssl3"].SourceName != "openssl" {
		t.Errorf("packages = %+v", inv.Packages)
	}
}

// selfBinary is this test binary: a Go program with build information.
func selfBinary(t testing.TB) []byte {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Skip(err)
	}
	return data
}

func TestFindBuildInfoAgreesWithDebugBuildinfo(t *testing.T) {
	data := selfBinary(t)
	want, err := buildinfo.Read(bytes.NewReader(data))
	if err != nil {
		t.Skipf("the test binary has no build info: %v", err)
	}
	// A copy of the magic string early in the file must not confuse it.
	fake := append(append([]byte{}, buildInfoMagic...), "xx garbage"...)
	bin, err := findBuildInfo(io.MultiReader(bytes.NewReader(fake), bytes.NewReader(data)), int64(len(data)+len(fake)))
	if err != nil {
		t.Fatal(err)
	}
	if bin.GoVersion != want.GoVersion || bin.Main.Path != want.Main.Path || len(bin.Deps) != len(want.Deps) {
		t.Errorf("findBuildInfo = %s %s %d deps; debug/buildinfo says %s %s %d deps",
			bin.GoVersion, bin.Main.Path, len(bin.Deps), want.GoVersion, want.Main.Path, len(want.Deps))
	}
	// Cut before the header: nothing found, no error.
	if _, err := findBuildInfo(bytes.NewReader(data), 1024); !errors.Is(err, errNoBuildInfo) {
		t.Errorf("with a 1 KiB limit: %v, want errNoBuildInfo", err)
	}
}

func TestExtractGoBinary(t *testing.T) {
	data := selfBinary(t)
	want, err := buildinfo.Read(bytes.NewReader(data))
	if err != nil {
		t.Skip(err)
	}
	l := tarOf(t,
		file{name: "app", body: string(data), mode: 0o755},
		file{name: "usr/bin/app2", hard: "app"},
		file{name: "gone", body: string(data), mode: 0o755},
		file{name: "script", body: "#!/bin/sh\n"},
	)
	l2 := tarOf(t, file{name: ".wh.gone"})
	var zbuf bytes.Buffer
	zw, _ := zstd.NewWriter(&zbuf)
	zw.Write(l)
	zw.Close()
	inv, err := Extract(context.Background(), layersOf(zbuf.Bytes(), l2), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	stdlib := ""
	for _, p := range inv.Packages {
		if p.Manager != ManagerGo || p.Ecosystem != "Go" {
			t.Errorf("unexpected package %+v", p)
		}
		paths[p.Path] = true
		if p.Name == "stdlib" {
			stdlib = p.Version
		}
	}
	if !paths["/app"] || !paths["/usr/bin/app2"] || paths["/gone"] || len(paths) != 2 {
		t.Errorf("Go binaries found at %v, want /app and /usr/bin/app2", paths)
	}
	if stdlib != goStdlibVersion(want.GoVersion) {
		t.Errorf("stdlib %q, want %q", stdlib, goStdlibVersion(want.GoVersion))
	}
}

func TestHostileLayers(t *testing.T) {
	okLayer := tarOf(t, file{name: "etc/os-release", body: debianRelease})
	bigTar := tarOf(t, file{name: "big", body: strings.Repeat("x", 1<<20)})
	for _, c := range []struct {
		name   string
		layers []Layer
		lim    Limits
		want   string
	}{
		{"bad gzip", layersOf(okLayer, append([]byte{0x1f, 0x8b, 8, 0}, bytes.Repeat([]byte{0xff}, 64)...)), Limits{}, "not a valid gzip stream"},
		{"truncated gzip", layersOf(gzipped(t, okLayer)[:40]), Limits{}, "ends unexpectedly"},
		{"bad tar", layersOf([]byte(strings.Repeat("this is not a tar archive ", 40))), Limits{}, "not a valid tar archive"},
		{"bad tar in gzip", layersOf(gzipped(t, []byte(strings.Repeat("garbage ", 200)))), Limits{}, "not a valid tar archive"},
		{"entry escaping", layersOf(tarOf(t, file{name: "../../etc/passwd", body: "x"})), Limits{}, "escapes the layer root"},
		{"symlink escaping", layersOf(tarOf(t,
			file{name: "var/lib/dpkg/status", link: "../../../../../etc/shadow"},
		)), Limits{}, "points outside the image root"},
		{"symlink loop", layersOf(tarOf(t,
			file{name: "etc/os-release", link: "os-release2"},
			file{name: "etc/os-release2", link: "os-release"},
		)), Limits{}, "too many levels of symbolic links"},
		{"layer too big", layersOf(gzipped(t, bigTar)), Limits{MaxLayerBytes: 64 << 10}, "larger than 64 KiB uncompressed"},
		{"database too big", layersOf(tarOf(t, file{name: "var/lib/dpkg/status", body: strings.Repeat("x", 4096)})), Limits{MaxDatabaseBytes: 1024}, "more than the 1 KiB a package database may have"},
		{"sparse", layersOf(sparseTar(t, "data/huge", 10<<30)), Limits{}, "sparse file /data/huge claims 10737418240 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Extract(context.Background(), c.layers, c.lim)
			t.Log(err)
			var le *LayerError
			if !errors.As(err, &le) || !errors.Is(err, ErrUnscannable) {
				t.Fatalf("Extract: %v, want a *LayerError", err)
			}
			if !strings.Contains(err.Error(), c.want) && !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
		})
	}
}

func TestExtractTimeout(t *testing.T) {
	// A layer that never ends: the context stops the scan.
	l := Layer{Digest: "sha256:slow", Open: func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(&endless{}), nil
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Extract(ctx, []Layer{l}, Limits{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Extract: %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to stop", d)
	}
}

// endless is a valid tar stream of one endless file.
type endless struct{ hdr []byte }

func (e *endless) Read(p []byte) (int, error) {
	if e.hdr == nil {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(&tar.Header{Name: "f", Typeflag: tar.TypeReg, Size: 1 << 40, Mode: 0o644})
		e.hdr = buf.Bytes()
	}
	if len(e.hdr) > 0 {
		n := copy(p, e.hdr)
		e.hdr = e.hdr[n:]
		return n, nil
	}
	time.Sleep(time.Millisecond)
	for i := range p {
		p[i] = 0
	}
	return len(p), nil
}

// sparseTar is a tar with one old-GNU-format sparse file of the given
// logical size holding no data at all.
func sparseTar(t testing.TB, name string, size int64) []byte {
	t.Helper()
	blk := make([]byte, 512)
	copy(blk[0:100], name)
	copy(blk[100:108], "0000644\x00")
	copy(blk[108:116], "0000000\x00")
	copy(blk[116:124], "0000000\x00")
	copy(blk[124:136], fmt.Sprintf("%011o\x00", 0)) // stored bytes
	copy(blk[136:148], fmt.Sprintf("%011o\x00", 0))
	blk[156] = 'S'
	copy(blk[257:265], "ustar  \x00")
	// One sparse entry: offset = size, length 0; then the real size.
	copy(blk[386:398], fmt.Sprintf("%011o\x00", size))
	copy(blk[398:410], fmt.Sprintf("%011o\x00", 0))
	copy(blk[483:495], fmt.Sprintf("%011o\x00", size))
	for i := 148; i < 156; i++ {
		blk[i] = ' '
	}
	sum := 0
	for _, b := range blk {
		sum += int(b)
	}
	copy(blk[148:156], fmt.Sprintf("%06o\x00 ", sum))
	out := append(blk, make([]byte, 1024)...)
	return out
}

func TestExtractLayerPanicFailsTheLayer(t *testing.T) {
	l := Layer{Digest: "sha256:boom", Open: func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(panicReader{}), nil
	}}
	_, err := Extract(context.Background(), []Layer{l}, Limits{})
	if !errors.Is(err, ErrUnscannable) || !strings.Contains(err.Error(), "could not be read") {
		t.Fatalf("Extract: %v", err)
	}
}

type panicReader struct{}

func (panicReader) Read([]byte) (int, error) { panic("hostile bytes") }
