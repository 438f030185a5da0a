// Package filesystem is the blob store driver that keeps blobs in a local
// directory:
//
//	<root>/blobs/<algorithm>/<first two hex digits>/<hex>
//	<root>/uploads/<id>/data
//
// Upload data lives under the same root, so committing an upload is a
// rename within one filesystem: the data is written once, hashed as it
// arrives, fsynced once and renamed into place.
package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/registry/blobstore"
)

// DriverName is the name the driver registers under.
const DriverName = "filesystem"

func init() {
	blobstore.Register(DriverName, func(params map[string]string) (blobstore.Store, error) {
		root := params["rootdirectory"]
		if root == "" {
			return nil, errors.New("filesystem: parameter rootdirectory is required")
		}
		return New(root)
	})
}

// copyBufferSize is the unit of writes: large enough that a 1 GiB push is a
// thousand write calls, not a hundred thousand.
const copyBufferSize = 1 << 20

var bufPool = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}

// Driver is a blobstore.Store on a local directory.
type Driver struct {
	root string
}

var _ blobstore.Store = (*Driver)(nil)

// New opens (creating if needed) a blob store rooted at dir.
func New(dir string) (*Driver, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("filesystem: %w", err)
	}
	for _, sub := range []string{"blobs", "uploads"} {
		if err := mkdirAllSync(filepath.Join(root, sub)); err != nil {
			return nil, fmt.Errorf("filesystem: %w", err)
		}
	}
	return &Driver{root: root}, nil
}

// Root returns the directory the driver keeps its data in.
func (d *Driver) Root() string { return d.root }

func (d *Driver) blobPath(dgst digest.Digest) (string, error) {
	if err := blobstore.ValidateDigest(dgst); err != nil {
		return "", err
	}
	hex := dgst.Encoded()
	return filepath.Join(d.root, "blobs", string(dgst.Algorithm()), hex[:2], hex), nil
}

func (d *Driver) uploadDir(id string) (string, error) {
	if err := blobstore.ValidateID(id); err != nil {
		return "", err
	}
	return filepath.Join(d.root, "uploads", id), nil
}

func notFound(err error, what string) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s", blobstore.ErrNotFound, what)
	}
	return err
}

func (d *Driver) Stat(ctx context.Context, dgst digest.Digest) (blobstore.Info, error) {
	p, err := d.blobPath(dgst)
	if err != nil {
		return blobstore.Info{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return blobstore.Info{}, notFound(err, dgst.String())
	}
	return blobstore.Info{Digest: dgst, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Open returns the *os.File itself: callers may seek it (HTTP ranges).
func (d *Driver) Open(ctx context.Context, dgst digest.Digest) (io.ReadSeekCloser, blobstore.Info, error) {
	p, err := d.blobPath(dgst)
	if err != nil {
		return nil, blobstore.Info{}, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, blobstore.Info{}, notFound(err, dgst.String())
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, blobstore.Info{}, err
	}
	return f, blobstore.Info{Digest: dgst, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

func (d *Driver) Delete(ctx context.Context, dgst digest.Digest) error {
	p, err := d.blobPath(dgst)
	if err != nil {
		return err
	}
	return notFound(os.Remove(p), dgst.String())
}

func (d *Driver) Walk(ctx context.Context, fn func(blobstore.Info) error) error {
	blobs := filepath.Join(d.root, "blobs")
	algos, err := os.ReadDir(blobs)
	if err != nil {
		return err
	}
	for _, algo := range algos {
		if !algo.IsDir() {
			continue
		}
		prefixes, err := os.ReadDir(filepath.Join(blobs, algo.Name()))
		if err != nil {
			return err
		}
		for _, prefix := range prefixes {
			if !prefix.IsDir() {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			files, err := os.ReadDir(filepath.Join(blobs, algo.Name(), prefix.Name()))
			if err != nil {
				return err
			}
			for _, f := range files {
				dgst := digest.NewDigestFromEncoded(digest.Algorithm(algo.Name()), f.Name())
				if f.Type()&fs.ModeType != 0 || dgst.Validate() != nil || f.Name()[:2] != prefix.Name() {
					continue // not ours
				}
				fi, err := f.Info()
				if errors.Is(err, fs.ErrNotExist) {
					continue // deleted meanwhile
				}
				if err != nil {
					return err
				}
				if err := fn(blobstore.Info{Digest: dgst, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (d *Driver) CreateUpload(ctx context.Context, id string) error {
	dir, err := d.uploadDir(id)
	if err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("filesystem: create upload %s: %w", id, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "data"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("filesystem: create upload %s: %w", id, err)
	}
	return f.Close()
}

func (d *Driver) StatUpload(ctx context.Context, id string) (blobstore.UploadInfo, error) {
	dir, err := d.uploadDir(id)
	if err != nil {
		return blobstore.UploadInfo{}, err
	}
	fi, err := os.Stat(filepath.Join(dir, "data"))
	if err != nil {
		return blobstore.UploadInfo{}, notFound(err, "upload "+id)
	}
	return blobstore.UploadInfo{ID: id, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

func (d *Driver) AppendUpload(ctx context.Context, id string, offset int64, r io.Reader, digester io.Writer) (int64, error) {
	dir, err := d.uploadDir(id)
	if err != nil {
		return 0, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "data"), os.O_WRONLY, 0)
	if err != nil {
		return 0, notFound(err, "upload "+id)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := fi.Size()
	if offset >= 0 && offset != size {
		return size, fmt.Errorf("%w: upload %s holds %d bytes, append at %d", blobstore.ErrOffsetMismatch, id, size, offset)
	}
	if _, err := f.Seek(size, io.SeekStart); err != nil {
		return size, err
	}
	n, err := fill(ctx, f, size, r, digester)
	return size + n, err
}

// writebackEvery is how much data accumulates before the kernel is asked
// to start writing it out.
const writebackEvery = 8 << 20

// pipelineDepth is the number of buffers in flight per append.
const pipelineDepth = 3

// fill appends r to f (positioned at offset) and feeds digester, as a
// pipeline of three stages that run at once on whole buffers: receiving
// (network reads arrive in small pieces; a full buffer makes one write per
// megabyte), writing, and hashing what was written. A large push then costs
// about the slowest stage rather than the sum of the three.
func fill(ctx context.Context, f *os.File, offset int64, r io.Reader, digester io.Writer) (int64, error) {
	type chunk struct {
		buf *[]byte
		n   int
	}
	free := make(chan *[]byte, pipelineDepth)
	for range pipelineDepth {
		free <- bufPool.Get().(*[]byte)
	}
	toWrite := make(chan chunk, pipelineDepth)
	toHash := make(chan chunk, pipelineDepth)
	var (
		written    int64
		writeErr   error
		failed     atomic.Bool
		writerDone = make(chan struct{})
		hasherDone = make(chan struct{})
	)
	activeFills.Add(1)
	defer activeFills.Add(-1)
	go func() {
		defer close(writerDone)
		var flushed int64
		for c := range toWrite {
			if writeErr == nil {
				m, err := writeSliced(f, (*c.buf)[:c.n], writeSliceFor(activeFills.Load()))
				written += int64(m)
				c.n = m
				if err != nil {
					writeErr = err
					failed.Store(true)
				}
				if written-flushed >= writebackEvery {
					startWriteback(f, offset+flushed, written-flushed)
					flushed = written
				}
			} else {
				c.n = 0
			}
			if digester != nil && c.n > 0 {
				toHash <- c
			} else {
				free <- c.buf
			}
		}
		close(toHash)
	}()
	go func() {
		defer close(hasherDone)
		for c := range toHash {
			_, _ = digester.Write((*c.buf)[:c.n])
			free <- c.buf
		}
	}()

	var readErr error
	for !failed.Load() {
		if err := ctx.Err(); err != nil {
			readErr = err
			break
		}
		bp := <-free
		n, err := io.ReadFull(r, *bp)
		if n > 0 {
			toWrite <- chunk{buf: bp, n: n}
		} else {
			free <- bp
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			readErr = err
			break
		}
	}
	close(toWrite)
	<-writerDone
	<-hasherDone
	for range pipelineDepth {
		bufPool.Put(<-free)
	}
	if writeErr != nil {
		return written, writeErr
	}
	return written, readErr
}

func (d *Driver) OpenUpload(ctx context.Context, id string) (io.ReadCloser, error) {
	dir, err := d.uploadDir(id)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, "data"))
	if err != nil {
		return nil, notFound(err, "upload "+id)
	}
	return f, nil
}

func (d *Driver) CommitUpload(ctx context.Context, id string, dgst digest.Digest) (blobstore.Info, error) {
	dir, err := d.uploadDir(id)
	if err != nil {
		return blobstore.Info{}, err
	}
	dst, err := d.blobPath(dgst)
	if err != nil {
		return blobstore.Info{}, err
	}
	src := filepath.Join(dir, "data")
	f, err := os.Open(src)
	if err != nil {
		return blobstore.Info{}, notFound(err, "upload "+id)
	}
	defer f.Close()
	// Stored already (blobs are immutable): keep the existing file and drop
	// the upload unsynced. Looking before the fsync, not after, means
	// concurrent pushes of one layer (the caller serialises commits of a
	// digest) fsync it once instead of once each, and the duplicates'
	// dirty pages are discarded rather than written. Durability holds: a
	// file only ever appears at dst by the rename below, after its fsync;
	// the caller has verified the upload's digest.
	if fi, err := os.Stat(dst); err == nil {
		f.Close()
		if err := os.RemoveAll(dir); err != nil {
			return blobstore.Info{}, err
		}
		return blobstore.Info{Digest: dgst, Size: fi.Size(), ModTime: fi.ModTime()}, nil
	}
	// One fsync for the whole blob, however many appends built it.
	if err := f.Sync(); err != nil {
		return blobstore.Info{}, fmt.Errorf("filesystem: sync upload %s: %w", id, err)
	}
	f.Close()
	if err := mkdirAllSync(filepath.Dir(dst)); err != nil {
		return blobstore.Info{}, fmt.Errorf("filesystem: %w", err)
	}
	if err := os.Rename(src, dst); err != nil {
		return blobstore.Info{}, fmt.Errorf("filesystem: commit upload %s: %w", id, err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return blobstore.Info{}, err
	}
	fi, err := os.Stat(dst)
	if err != nil {
		return blobstore.Info{}, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return blobstore.Info{}, err
	}
	return blobstore.Info{Digest: dgst, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

func (d *Driver) DeleteUpload(ctx context.Context, id string) error {
	dir, err := d.uploadDir(id)
	if err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

func (d *Driver) WalkUploads(ctx context.Context, fn func(blobstore.UploadInfo) error) error {
	entries, err := os.ReadDir(filepath.Join(d.root, "uploads"))
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() || blobstore.ValidateID(e.Name()) != nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		info := blobstore.UploadInfo{ID: e.Name()}
		fi, err := os.Stat(filepath.Join(d.root, "uploads", e.Name(), "data"))
		switch {
		case err == nil:
			info.Size, info.ModTime = fi.Size(), fi.ModTime()
		case errors.Is(err, fs.ErrNotExist):
			// A session whose data file never got created (crash inside
			// CreateUpload): report the directory's age so it gets cleaned.
			di, err := e.Info()
			if err != nil {
				continue
			}
			info.ModTime = di.ModTime()
		default:
			return err
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

// mkdirAllSync creates dir and missing parents, fsyncing each parent that
// gained an entry so the new directories survive a power loss.
func mkdirAllSync(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAllSync(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // created concurrently
		}
		return err
	}
	return syncDir(parent)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("filesystem: sync %s: %w", dir, err)
	}
	return nil
}

// Write slices: the largest single write(2) fill issues. Reads stay large
// (fewer syscalls on the network side), but the kernel's cost per byte
// written depends on the write size and on how many writers run at once
// (page-cache folio allocation; see docs/bench-registry.md). Measured on
// the 2-vCPU bench VM, kernel CPU per GiB written with sync_file_range
// every 8 MiB:
//
//	write size        1 writer   8 writers (each)
//	32 KiB            0.38 s     0.65 s
//	256 KiB           0.24 s     0.73 s
//	1 MiB             0.74 s     1-1.7 s
//
// So a lone upload writes 256 KiB at a time (a third less kernel CPU, which
// on two cores is wall time too), and concurrent uploads 32 KiB.
const (
	writeSliceAlone      = 256 << 10
	writeSliceConcurrent = 32 << 10
)

// activeFills counts the appends running in this process.
var activeFills atomic.Int64

func writeSliceFor(active int64) int {
	if active <= 1 {
		return writeSliceAlone
	}
	return writeSliceConcurrent
}

func writeSliced(f *os.File, b []byte, slice int) (int, error) {
	var n int
	for len(b) > 0 {
		k := min(len(b), slice)
		m, err := f.Write(b[:k])
		n += m
		if err != nil {
			return n, err
		}
		b = b[k:]
	}
	return n, nil
}
