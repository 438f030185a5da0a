// Package blobstore keeps content-addressed blobs, shared by every
// repository and account: a blob pushed twice is stored once. Which
// repository may see a blob is the registry's business (links in the state
// store), not the blob store's.
//
// Blobs arrive through upload sessions: data is appended to a session in
// order, then committed under its digest, atomically. Drivers register by
// name so that a deployment names its driver in configuration and the server
// never imports a concrete one.
package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
)

// Errors every driver returns, checked with errors.Is.
var (
	ErrNotFound = errors.New("blobstore: not found")
	// ErrOffsetMismatch: an append did not start at the end of the upload.
	ErrOffsetMismatch = errors.New("blobstore: offset does not match the upload size")
	ErrInvalidID      = errors.New("blobstore: invalid upload id")
	ErrInvalidDigest  = errors.New("blobstore: invalid digest")
	ErrUnknownDriver  = errors.New("blobstore: unknown driver")
)

// Info describes a stored blob.
type Info struct {
	Digest  digest.Digest
	Size    int64
	ModTime time.Time
}

// UploadInfo describes an upload session's data.
type UploadInfo struct {
	ID      string
	Size    int64
	ModTime time.Time
}

// Store is a blob store driver.
type Store interface {
	// Stat returns a blob's size; ErrNotFound when absent.
	Stat(ctx context.Context, dgst digest.Digest) (Info, error)
	// Open returns a blob for reading; it seeks, for Range requests.
	Open(ctx context.Context, dgst digest.Digest) (io.ReadSeekCloser, Info, error)
	// Delete removes a blob; ErrNotFound when absent.
	Delete(ctx context.Context, dgst digest.Digest) error
	// Walk calls fn for every stored blob, in no particular order. A blob
	// committed or deleted during the walk may or may not be seen.
	Walk(ctx context.Context, fn func(Info) error) error

	// CreateUpload starts an empty upload session with a caller-chosen id.
	CreateUpload(ctx context.Context, id string) error
	// StatUpload returns the number of bytes an upload holds.
	StatUpload(ctx context.Context, id string) (UploadInfo, error)
	// AppendUpload appends r to an upload and returns the new size. offset
	// must equal the current size (ErrOffsetMismatch, with the current size
	// returned) unless it is negative, which appends at the end. On a read
	// or write error the bytes already written stay and the returned size
	// counts them.
	//
	// digester, when not nil, receives every byte once it is written, in
	// order, and nothing else: a running hash fed this way always describes
	// exactly the upload's data. Drivers may feed it concurrently with
	// writing the next bytes; it is done when AppendUpload returns.
	AppendUpload(ctx context.Context, id string, offset int64, r io.Reader, digester io.Writer) (int64, error)
	// OpenUpload reads an upload's data from the start.
	OpenUpload(ctx context.Context, id string) (io.ReadCloser, error)
	// CommitUpload makes an upload's data durable as blob dgst and ends the
	// session. The caller has verified the digest. When the blob exists
	// already the upload's data is dropped.
	CommitUpload(ctx context.Context, id string, dgst digest.Digest) (Info, error)
	// DeleteUpload ends a session and drops its data; deleting an unknown
	// session is not an error.
	DeleteUpload(ctx context.Context, id string) error
	// WalkUploads calls fn for every upload session.
	WalkUploads(ctx context.Context, fn func(UploadInfo) error) error
}

// Factory opens a driver from its configuration parameters.
type Factory func(params map[string]string) (Store, error)

var (
	driversMu sync.RWMutex
	drivers   = map[string]Factory{}
)

// Register makes a driver available by name; drivers call it from init.
// Registering a name twice is a programming error and panics.
func Register(name string, f Factory) {
	driversMu.Lock()
	defer driversMu.Unlock()
	if _, dup := drivers[name]; dup {
		panic("blobstore: driver registered twice: " + name)
	}
	drivers[name] = f
}

// Drivers lists the registered driver names.
func Drivers() []string {
	driversMu.RLock()
	defer driversMu.RUnlock()
	names := make([]string, 0, len(drivers))
	for n := range drivers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Open opens the named driver.
func Open(name string, params map[string]string) (Store, error) {
	driversMu.RLock()
	f, ok := drivers[name]
	driversMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q (registered: %v)", ErrUnknownDriver, name, Drivers())
	}
	return f(params)
}

var validID = regexp.MustCompile(`^[A-Za-z0-9_-]+$`) // length checked apart: cheaper to compile

// ValidateID checks an upload id; drivers use ids in paths and keys.
func ValidateID(id string) error {
	if len(id) > 128 || !validID.MatchString(id) {
		return fmt.Errorf("%w: %q", ErrInvalidID, id)
	}
	return nil
}

// ValidateDigest checks that a digest is well formed and of an algorithm
// this build supports, so drivers can build paths and keys from it.
func ValidateDigest(dgst digest.Digest) error {
	if err := dgst.Validate(); err != nil {
		return fmt.Errorf("%w: %q: %v", ErrInvalidDigest, dgst, err)
	}
	return nil
}
