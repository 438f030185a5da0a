package scan

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Layer is one layer of an image, in order from the base up.
type Layer struct {
	Digest    string
	MediaType string
	// Open returns the layer's blob as pushed (compressed or not).
	Open func(ctx context.Context) (io.ReadCloser, error)
}

// Package databases and release files whose content the extractor keeps
// (paths relative to the image root, as they are once links are resolved).
const (
	pathOSRelease    = "etc/os-release"
	pathOSReleaseLib = "usr/lib/os-release"
	pathDpkgStatus   = "var/lib/dpkg/status"
	pathDpkgStatusD  = "var/lib/dpkg/status.d"
	pathApkInstalled = "lib/apk/db/installed"
)

var rpmSqlitePaths = []string{"var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite", "usr/share/rpm/rpmdb.sqlite"}

// rpm databases in formats Berth does not read (Berkeley DB, ndb).
var rpmOtherPaths = []string{"var/lib/rpm/Packages", "usr/lib/sysimage/rpm/Packages", "var/lib/rpm/Packages.db", "usr/lib/sysimage/rpm/Packages.db"}

// keepContent reports whether the content of the file at p (as named in
// the layer) is kept: it might be, or be the target of a link to, a
// database the extractor reads.
func keepContent(p string) bool {
	switch p {
	case pathOSRelease, pathOSReleaseLib, pathDpkgStatus, pathApkInstalled, "usr/lib/apk/db/installed":
		return true
	}
	if dir, base := path.Split(p); dir == pathDpkgStatusD+"/" {
		return !strings.HasSuffix(base, ".md5sums")
	}
	for _, q := range rpmSqlitePaths {
		if p == q {
			return true
		}
	}
	return false
}

func rpmOther(p string) bool {
	for _, q := range rpmOtherPaths {
		if p == q {
			return true
		}
	}
	return false
}

// node is a tracked file of the merged file system: a kept database, a Go
// binary, a symbolic link, or a marker of an unread rpm database.
type node struct {
	data     []byte
	bin      *goBinary
	link     string // symlink target, as written
	rpmOther bool
	layer    string
}

// entry kinds of a layer's listing.
const (
	kindDir   = 1
	kindOther = 2
)

// layerResult is what one layer contributes.
type layerResult struct {
	digest string
	// entries is every path the layer holds, directory or not: a path of a
	// lower layer that this layer writes (or whose ancestor it replaces by
	// a non-directory) is hidden.
	entries   map[string]uint8
	whiteouts []string
	opaques   []string
	nodes     map[string]*node
	hardlinks map[string]string
	notes     []string
}

// Extract reads an image's layers (in order, from the base up) and returns
// what is installed in the merged file system. Layers are read in parallel;
// the first refused layer (in layer order) fails the whole extraction with
// a *LayerError, and ctx's end stops it with ctx.Err().
func Extract(ctx context.Context, layers []Layer, lim Limits) (*Inventory, error) {
	lim = lim.withDefaults()
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]*layerResult, len(layers))
	errs := make([]error, len(layers))
	sem := make(chan struct{}, lim.Parallel)
	var wg sync.WaitGroup
	for i, l := range layers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			defer func() {
				// A decoder that panics on hostile bytes fails the layer,
				// not the process.
				if r := recover(); r != nil {
					results[i], errs[i] = nil, layerErr(l.Digest, "the layer could not be read: %v", r)
					cancel()
				}
			}()
			results[i], errs[i] = readLayer(ctx, l, lim)
			if errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	// The first failure in layer order that is not a cancellation (which
	// the failure itself caused in the other layers); else the end of the
	// caller's context.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
	}
	if err := parent.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	fs := merge(results)
	return fs.inventory(parent, lim)
}

// fileSystem is the merged view of the tracked files.
type fileSystem struct {
	nodes map[string]*node
	notes []string
}

// merge applies the layers in order: whiteouts and opaque directories
// delete what lower layers hold, a path written again replaces what it
// was, and a non-directory hides what lower layers held beneath it.
func merge(layers []*layerResult) *fileSystem {
	fs := &fileSystem{nodes: map[string]*node{}}
	for _, l := range layers {
		for _, d := range l.opaques {
			fs.removeUnder(d)
		}
		for _, w := range l.whiteouts {
			delete(fs.nodes, w)
			fs.removeUnder(w)
		}
		for p := range fs.nodes {
			if _, ok := l.entries[p]; ok {
				delete(fs.nodes, p)
				continue
			}
			for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
				if l.entries[d] == kindOther {
					delete(fs.nodes, p)
					break
				}
			}
		}
		for p, n := range l.nodes {
			fs.nodes[p] = n
		}
		for p, target := range l.hardlinks {
			if n, ok := l.nodes[target]; ok && n.link == "" {
				fs.nodes[p] = n
			}
		}
		fs.notes = append(fs.notes, l.notes...)
	}
	return fs
}

func (fs *fileSystem) removeUnder(dir string) {
	prefix := dir + "/"
	if dir == "" || dir == "." {
		prefix = ""
	}
	for p := range fs.nodes {
		if strings.HasPrefix(p, prefix) {
			delete(fs.nodes, p)
		}
	}
}

// maxLinkHops is how many symbolic links one lookup follows (Linux's
// limit).
const maxLinkHops = 40

// resolve follows symbolic links in p inside the image. A link that climbs
// above the image root is refused: Berth never follows a link out.
func (fs *fileSystem) resolve(p string) (string, error) {
	todo := strings.Split(p, "/")
	var done []string
	hops := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) == 0 {
				return "", &LayerError{Reason: fmt.Sprintf("a symbolic link on the way to %s points outside the image root", p)}
			}
			done = done[:len(done)-1]
			continue
		}
		cur := strings.Join(append(done, c), "/")
		n, ok := fs.nodes[cur]
		if !ok || n.link == "" {
			done = append(done, c)
			continue
		}
		hops++
		if hops > maxLinkHops {
			return "", &LayerError{Layer: n.layer, Reason: fmt.Sprintf("too many levels of symbolic links resolving %s", p)}
		}
		target := n.link
		if strings.HasPrefix(target, "/") {
			done = nil
		}
		if escapes(done, target) {
			return "", &LayerError{Layer: n.layer, Reason: fmt.Sprintf("symbolic link %s -> %s points outside the image root", cur, n.link)}
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return strings.Join(done, "/"), nil
}

// escapes reports whether target, relative to the directory dir (as path
// components), climbs above the root.
func escapes(dir []string, target string) bool {
	depth := len(dir)
	for _, c := range strings.Split(target, "/") {
		switch c {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}

// file returns the kept content at p, after links; ok is false when there
// is none.
func (fs *fileSystem) file(p string) (data []byte, real string, n *node, err error) {
	real, err = fs.resolve(p)
	if err != nil {
		return nil, "", nil, err
	}
	n, ok := fs.nodes[real]
	if !ok || n.data == nil {
		return nil, real, nil, nil
	}
	return n.data, real, n, nil
}

// inventory reads the merged file system's databases and binaries.
func (fs *fileSystem) inventory(ctx context.Context, lim Limits) (*Inventory, error) {
	inv := &Inventory{Packages: []Package{}, Notes: fs.notes}
	for _, p := range []string{pathOSRelease, pathOSReleaseLib} {
		data, _, _, err := fs.file(p)
		if err != nil {
			return nil, err
		}
		if data != nil {
			inv.OS = parseOSRelease(data)
			break
		}
	}
	eco := osEcosystem(inv.OS)
	var pkgs []Package

	data, real, n, err := fs.file(pathDpkgStatus)
	if err != nil {
		return nil, err
	}
	if data != nil {
		pkgs = append(pkgs, parseDpkgStatus(data, "/"+real, n.layer)...)
	}
	dir, err := fs.resolve(pathDpkgStatusD)
	if err != nil {
		return nil, err
	}
	var statusD []string
	for p, n := range fs.nodes {
		if path.Dir(p) == dir && n.data != nil {
			statusD = append(statusD, p)
		}
	}
	sort.Strings(statusD)
	for _, p := range statusD {
		n := fs.nodes[p]
		pkgs = append(pkgs, parseDpkgStatus(n.data, "/"+p, n.layer)...)
	}

	for _, p := range []string{pathApkInstalled, "usr/lib/apk/db/installed"} {
		data, real, n, err := fs.file(p)
		if err != nil {
			return nil, err
		}
		if data != nil {
			pkgs = append(pkgs, parseApkInstalled(data, "/"+real, n.layer)...)
			break
		}
	}

	rpmRead := false
	for _, p := range rpmSqlitePaths {
		data, real, n, err := fs.file(p)
		if err != nil {
			return nil, err
		}
		if data == nil || rpmRead {
			continue
		}
		got, err := parseRpmSqlite(ctx, data, "/"+real, n.layer)
		if err != nil {
			var le *LayerError
			if errors.As(err, &le) {
				return nil, err
			}
			inv.Notes = append(inv.Notes, fmt.Sprintf("the rpm database /%s could not be read: %v", real, err))
			continue
		}
		pkgs = append(pkgs, got...)
		rpmRead = true
	}
	if !rpmRead {
		for _, p := range rpmOtherPaths {
			if real, err := fs.resolve(p); err == nil {
				if n, ok := fs.nodes[real]; ok && n.rpmOther {
					inv.Notes = append(inv.Notes, "the rpm database /"+real+" is in the Berkeley DB or ndb format, which Berth does not read: rpm packages are not listed")
					break
				}
			}
		}
	}
	for i := range pkgs {
		pkgs[i].Ecosystem = eco
	}

	var bins []string
	for p, n := range fs.nodes {
		if n.bin != nil {
			bins = append(bins, p)
		}
	}
	sort.Strings(bins)
	for _, p := range bins {
		n := fs.nodes[p]
		if n.bin.Old {
			inv.Notes = append(inv.Notes, "/"+p+" is a Go binary built before Go 1.18: its modules are not listed")
			continue
		}
		pkgs = append(pkgs, goPackages(n.bin, "/"+p, n.layer)...)
	}
	if eco == "" && len(pkgs) > 0 && inv.OS.ID != "" {
		inv.Notes = append(inv.Notes, fmt.Sprintf("the distribution %q is not one Berth matches packages of", inv.OS.ID))
	}
	inv.Packages = append(inv.Packages, pkgs...)
	return inv, nil
}

// countingReader fails once more than limit bytes were read through it.
type countingReader struct {
	r     io.Reader
	n     int64
	limit int64
	layer string
}

var errLayerTooBig = errors.New("layer too big")

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n > c.limit {
		return 0, errLayerTooBig
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.limit {
		return n, errLayerTooBig
	}
	return n, err
}

// blobError marks a failure to read the blob itself (storage), as opposed
// to its content being bad.
type blobError struct{ err error }

func (e *blobError) Error() string { return "reading the layer blob: " + e.err.Error() }
func (e *blobError) Unwrap() error { return e.err }

// blobReader reads the stored blob, stops when ctx ends, and marks its
// errors as storage errors.
type blobReader struct {
	ctx context.Context
	r   io.Reader
}

func (b *blobReader) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = &blobError{err}
	}
	return n, err
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
	elfMagic  = []byte{0x7f, 'E', 'L', 'F'}
)

// readLayer reads one layer: its content is recognised by its first bytes
// (gzip, zstd, or a plain tar), whatever the media type says.
func readLayer(ctx context.Context, l Layer, lim Limits) (res *layerResult, err error) {
	rc, err := l.Open(ctx)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", l.Digest, err)
	}
	defer rc.Close()
	br := bufio.NewReaderSize(&blobReader{ctx: ctx, r: rc}, 64<<10)
	head, _ := br.Peek(4)
	var data io.Reader = br
	format := "tar"
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		format = "gzip"
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, classify(ctx, l.Digest, format, err, lim)
		}
		defer gz.Close()
		data = gz
	case bytes.HasPrefix(head, zstdMagic):
		format = "zstd"
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(256<<20), zstd.WithDecoderMaxWindow(128<<20))
		if err != nil {
			return nil, classify(ctx, l.Digest, format, err, lim)
		}
		defer zr.Close()
		data = zr
	}
	counted := &countingReader{r: data, limit: lim.MaxLayerBytes, layer: l.Digest}
	res, err = walkTar(ctx, tar.NewReader(counted), l.Digest, lim)
	if err != nil {
		return nil, classify(ctx, l.Digest, format, err, lim)
	}
	return res, nil
}

// classify turns an error met reading a layer into what the scan reports.
func classify(ctx context.Context, layer, format string, err error, lim Limits) error {
	var le *LayerError
	var be *blobError
	switch {
	case errors.As(err, &le):
		return err
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &be):
		return fmt.Errorf("layer %s: %w", layer, be)
	case errors.Is(err, errLayerTooBig):
		return layerErr(layer, "its content is larger than %s uncompressed, the most a scan reads from one layer", sizeString(lim.MaxLayerBytes))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return layerErr(layer, "the %s stream ends unexpectedly", format)
	}
	switch format {
	case "gzip", "zstd":
		var te tarError
		if errors.As(err, &te) {
			return layerErr(layer, "not a valid tar archive: %v", te.err)
		}
		return layerErr(layer, "not a valid %s stream: %v", format, err)
	}
	return layerErr(layer, "not a valid tar archive: %v", err)
}

// tarError marks an error of the tar reader (as opposed to the
// decompressor under it).
type tarError struct{ err error }

func (e tarError) Error() string { return e.err.Error() }
func (e tarError) Unwrap() error { return e.err }

func sizeString(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// cleanName makes a tar entry name relative to the layer root, refusing
// names that climb out of it.
func cleanName(name string) (string, bool) {
	p := path.Clean("/" + strings.TrimPrefix(name, "./"))
	if p == "/" {
		return "", true
	}
	// Cleaning under "/" absorbs "..": compare with a clean of the raw name
	// to see whether it tried to climb.
	raw := path.Clean(strings.TrimLeft(name, "/"))
	if raw == ".." || strings.HasPrefix(raw, "../") {
		return "", false
	}
	return p[1:], true
}

func isSparse(h *tar.Header) bool {
	if h.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// walkTar reads a layer's entries.
func walkTar(ctx context.Context, tr *tar.Reader, layer string, lim Limits) (*layerResult, error) {
	res := &layerResult{digest: layer, entries: map[string]uint8{}, nodes: map[string]*node{}, hardlinks: map[string]string{}}
	count := 0
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return res, nil
		}
		if err != nil {
			return nil, wrapTar(err)
		}
		count++
		if count > lim.MaxEntries {
			return nil, layerErr(layer, "it has more than %d entries", lim.MaxEntries)
		}
		name, ok := cleanName(hdr.Name)
		if !ok {
			return nil, layerErr(layer, "the entry %q escapes the layer root", hdr.Name)
		}
		if name == "" {
			continue
		}
		dir, base := path.Split(name)
		dir = strings.TrimSuffix(dir, "/")
		if strings.HasPrefix(base, ".wh.") {
			if base == ".wh..wh..opq" {
				res.opaques = append(res.opaques, dir)
			} else {
				res.whiteouts = append(res.whiteouts, path.Join(dir, base[len(".wh."):]))
			}
			continue
		}
		if isSparse(hdr) && hdr.Size > lim.MaxFileBytes {
			return nil, layerErr(layer, "the sparse file /%s claims %d bytes, more than the %s a scan accepts", name, hdr.Size, sizeString(lim.MaxFileBytes))
		}
		if hdr.Typeflag == tar.TypeDir {
			res.entries[name] = kindDir
			continue
		}
		res.entries[name] = kindOther
		switch hdr.Typeflag {
		case tar.TypeSymlink:
			if hdr.Linkname == "" {
				continue
			}
			res.nodes[name] = &node{link: hdr.Linkname, layer: layer}
		case tar.TypeLink:
			target, ok := cleanName(hdr.Linkname)
			if !ok || target == "" {
				return nil, layerErr(layer, "the hard link /%s -> %s points outside the layer", name, hdr.Linkname)
			}
			res.hardlinks[name] = target
		case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse:
			if err := readFile(tr, hdr, name, layer, lim, res); err != nil {
				return nil, err
			}
		}
	}
}

func wrapTar(err error) error {
	var be *blobError
	if errors.As(err, &be) || errors.Is(err, errLayerTooBig) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, tar.ErrHeader) || errors.Is(err, tar.ErrFieldTooLong) || errors.Is(err, tar.ErrInsecurePath) {
		return tarError{err}
	}
	return err
}

// readFile keeps a database's content, or reads an ELF file's Go build
// information.
func readFile(tr *tar.Reader, hdr *tar.Header, name, layer string, lim Limits, res *layerResult) error {
	switch {
	case keepContent(name):
		if hdr.Size > lim.MaxDatabaseBytes {
			return layerErr(layer, "/%s is %d bytes, more than the %s a package database may have", name, hdr.Size, sizeString(lim.MaxDatabaseBytes))
		}
		data, err := io.ReadAll(io.LimitReader(tr, lim.MaxDatabaseBytes+1))
		if err != nil {
			return wrapTar(err)
		}
		if int64(len(data)) > lim.MaxDatabaseBytes {
			return layerErr(layer, "/%s is more than the %s a package database may have", name, sizeString(lim.MaxDatabaseBytes))
		}
		res.nodes[name] = &node{data: data, layer: layer}
		return nil
	case rpmOther(name):
		res.nodes[name] = &node{rpmOther: true, layer: layer}
		return nil
	case hdr.Size < int64(len(elfMagic)):
		return nil
	}
	var head [4]byte
	if _, err := io.ReadFull(tr, head[:]); err != nil {
		return wrapTar(err)
	}
	if !bytes.Equal(head[:], elfMagic) {
		return nil
	}
	bin, err := findBuildInfo(io.MultiReader(bytes.NewReader(head[:]), tr), lim.MaxBinaryBytes)
	switch {
	case errors.Is(err, errNoBuildInfo):
		return nil
	case err != nil:
		return wrapTar(err)
	}
	res.nodes[name] = &node{bin: bin, layer: layer}
	return nil
}
