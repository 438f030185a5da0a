// Package blobstoretest is the suite every blob store driver passes.
package blobstoretest

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "crypto/sha256"
	_ "crypto/sha512"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/registry/blobstore"
)

// Opener returns a new, empty store and a function that opens the same
// storage again, as a restarted process would.
type Opener func(t *testing.T) (s blobstore.Store, reopen func() blobstore.Store)

// Run runs the suite.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"UploadAndRead", testUploadAndRead},
		{"OffsetMismatch", testOffsetMismatch},
		{"CommitDeduplicates", testDedupe},
		{"EmptyAndSHA512Blobs", testEmptyAndSHA512},
		{"Delete", testDelete},
		{"Walk", testWalk},
		{"UploadsSurviveRestart", testRestart},
		{"CancelUpload", testCancel},
		{"RejectsBadNames", testBadNames},
		{"ConcurrentUploadsOfOneBlob", testConcurrentCommit},
		{"ReadErrorKeepsDataAndDigestInStep", testReadError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

var ctx = context.Background()

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// push uploads data in chunks and commits it.
func push(t *testing.T, s blobstore.Store, id string, data []byte, chunk int) blobstore.Info {
	t.Helper()
	if err := s.CreateUpload(ctx, id); err != nil {
		t.Fatalf("CreateUpload: %v", err)
	}
	var off int64
	h := digest.Canonical.Digester()
	for off < int64(len(data)) {
		end := min(off+int64(chunk), int64(len(data)))
		n, err := s.AppendUpload(ctx, id, off, bytes.NewReader(data[off:end]), h.Hash())
		if err != nil {
			t.Fatalf("AppendUpload at %d: %v", off, err)
		}
		if n != end {
			t.Fatalf("AppendUpload returned size %d, want %d", n, end)
		}
		off = end
	}
	if h.Digest() != digest.FromBytes(data) {
		t.Fatalf("the digester did not receive exactly the data")
	}
	info, err := s.CommitUpload(ctx, id, digest.FromBytes(data))
	if err != nil {
		t.Fatalf("CommitUpload: %v", err)
	}
	return info
}

func readBlob(t *testing.T, s blobstore.Store, dgst digest.Digest) []byte {
	t.Helper()
	rc, _, err := s.Open(ctx, dgst)
	if err != nil {
		t.Fatalf("Open %s: %v", dgst, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testUploadAndRead(t *testing.T, open Opener) {
	s, _ := open(t)
	data := randomBytes(t, 3<<20+17)
	info := push(t, s, "up1", data, 1<<20)
	dgst := digest.FromBytes(data)
	if info.Digest != dgst || info.Size != int64(len(data)) {
		t.Fatalf("CommitUpload = %+v", info)
	}
	st, err := s.Stat(ctx, dgst)
	if err != nil || st.Size != int64(len(data)) {
		t.Fatalf("Stat = %+v, %v", st, err)
	}
	if got := readBlob(t, s, dgst); !bytes.Equal(got, data) {
		t.Fatal("blob content differs")
	}
	rc, _, err := s.Open(ctx, dgst)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := rc.Seek(1000, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	part := make([]byte, 100)
	if _, err := io.ReadFull(rc, part); err != nil || !bytes.Equal(part, data[1000:1100]) {
		t.Fatalf("read after seek: %v", err)
	}
	if _, err := s.StatUpload(ctx, "up1"); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("committed upload still exists: %v", err)
	}
}

func testOffsetMismatch(t *testing.T, open Opener) {
	s, _ := open(t)
	if err := s.CreateUpload(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendUpload(ctx, "u", 0, strings.NewReader("hello"), nil); err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, 3, 6} {
		n, err := s.AppendUpload(ctx, "u", off, strings.NewReader("x"), nil)
		if !errors.Is(err, blobstore.ErrOffsetMismatch) || n != 5 {
			t.Fatalf("append at %d = %d, %v; want 5, ErrOffsetMismatch", off, n, err)
		}
	}
	// A negative offset appends at the end.
	n, err := s.AppendUpload(ctx, "u", -1, strings.NewReader(" world"), nil)
	if err != nil || n != 11 {
		t.Fatalf("append at end = %d, %v", n, err)
	}
	info, err := s.StatUpload(ctx, "u")
	if err != nil || info.Size != 11 {
		t.Fatalf("StatUpload = %+v, %v", info, err)
	}
	rc, err := s.OpenUpload(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "hello world" {
		t.Fatalf("upload data %q", b)
	}
	if _, err := s.AppendUpload(ctx, "missing", 0, strings.NewReader("x"), nil); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("append to unknown upload: %v", err)
	}
}

func testDedupe(t *testing.T, open Opener) {
	s, _ := open(t)
	data := randomBytes(t, 4096)
	push(t, s, "a", data, 4096)
	info := push(t, s, "b", data, 1000)
	if info.Size != 4096 {
		t.Fatalf("second commit = %+v", info)
	}
	count := 0
	if err := s.Walk(ctx, func(blobstore.Info) error { count++; return nil }); err != nil {
		t.Fatal(err)
	}
	if count != 1 {
		t.Fatalf("%d blobs stored for one content", count)
	}
	if _, err := s.StatUpload(ctx, "b"); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("deduplicated upload still exists: %v", err)
	}
}

func testEmptyAndSHA512(t *testing.T, open Opener) {
	s, _ := open(t)
	if err := s.CreateUpload(ctx, "empty"); err != nil {
		t.Fatal(err)
	}
	empty := digest.FromBytes(nil)
	if info, err := s.CommitUpload(ctx, "empty", empty); err != nil || info.Size != 0 {
		t.Fatalf("commit empty = %+v, %v", info, err)
	}
	if got := readBlob(t, s, empty); len(got) != 0 {
		t.Fatalf("empty blob reads %d bytes", len(got))
	}
	data := []byte("sha512 content")
	if err := s.CreateUpload(ctx, "s512"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendUpload(ctx, "s512", 0, bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	d512 := digest.SHA512.FromBytes(data)
	if _, err := s.CommitUpload(ctx, "s512", d512); err != nil {
		t.Fatal(err)
	}
	if got := readBlob(t, s, d512); !bytes.Equal(got, data) {
		t.Fatal("sha512 blob content differs")
	}
	if _, err := s.Stat(ctx, digest.FromBytes(data)); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("sha512 blob visible under its sha256 digest: %v", err)
	}
}

func testDelete(t *testing.T, open Opener) {
	s, _ := open(t)
	data := []byte("delete me")
	push(t, s, "d", data, 100)
	dgst := digest.FromBytes(data)
	if err := s.Delete(ctx, dgst); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, dgst); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("Stat after Delete: %v", err)
	}
	if _, _, err := s.Open(ctx, dgst); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("Open after Delete: %v", err)
	}
	if err := s.Delete(ctx, dgst); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("second Delete: %v", err)
	}
	// The same content can be stored again.
	push(t, s, "d2", data, 100)
	if got := readBlob(t, s, dgst); !bytes.Equal(got, data) {
		t.Fatal("re-stored blob differs")
	}
}

func testWalk(t *testing.T, open Opener) {
	s, _ := open(t)
	want := map[digest.Digest]int64{}
	for i, n := range []int{1, 10, 100, 1000} {
		data := randomBytes(t, n)
		push(t, s, "w"+string(rune('a'+i)), data, 64)
		want[digest.FromBytes(data)] = int64(n)
	}
	if err := s.CreateUpload(ctx, "pending"); err != nil {
		t.Fatal(err)
	}
	got := map[digest.Digest]int64{}
	if err := s.Walk(ctx, func(i blobstore.Info) error { got[i.Digest] = i.Size; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("Walk found %d blobs, want %d", len(got), len(want))
	}
	for d, size := range want {
		if got[d] != size {
			t.Fatalf("Walk: %s size %d, want %d", d, got[d], size)
		}
	}
	var uploads []string
	if err := s.WalkUploads(ctx, func(u blobstore.UploadInfo) error { uploads = append(uploads, u.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(uploads) != 1 || uploads[0] != "pending" {
		t.Fatalf("WalkUploads = %v", uploads)
	}
	stop := errors.New("stop")
	if err := s.Walk(ctx, func(blobstore.Info) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("Walk did not return the callback's error: %v", err)
	}
}

func testRestart(t *testing.T, open Opener) {
	s, reopen := open(t)
	data := randomBytes(t, 10000)
	if err := s.CreateUpload(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendUpload(ctx, "r", 0, bytes.NewReader(data[:6000]), nil); err != nil {
		t.Fatal(err)
	}
	s = reopen()
	info, err := s.StatUpload(ctx, "r")
	if err != nil || info.Size != 6000 {
		t.Fatalf("after restart StatUpload = %+v, %v", info, err)
	}
	if _, err := s.AppendUpload(ctx, "r", info.Size, bytes.NewReader(data[6000:]), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitUpload(ctx, "r", digest.FromBytes(data)); err != nil {
		t.Fatal(err)
	}
	if got := readBlob(t, reopen(), digest.FromBytes(data)); !bytes.Equal(got, data) {
		t.Fatal("resumed blob differs")
	}
}

func testCancel(t *testing.T, open Opener) {
	s, _ := open(t)
	if err := s.CreateUpload(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendUpload(ctx, "c", 0, strings.NewReader("partial"), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUpload(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StatUpload(ctx, "c"); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("StatUpload after delete: %v", err)
	}
	if err := s.DeleteUpload(ctx, "c"); err != nil {
		t.Fatalf("deleting an unknown upload: %v", err)
	}
	if err := s.CreateUpload(ctx, "c"); err != nil {
		t.Fatalf("id not reusable after delete: %v", err)
	}
}

func testBadNames(t *testing.T, open Opener) {
	s, _ := open(t)
	for _, id := range []string{"", "../x", "a/b", ".", strings.Repeat("x", 200)} {
		if err := s.CreateUpload(ctx, id); !errors.Is(err, blobstore.ErrInvalidID) {
			t.Fatalf("CreateUpload(%q) = %v", id, err)
		}
	}
	for _, d := range []digest.Digest{"", "sha256:../../etc", "sha256:abc", "md5:d41d8cd98f00b204e9800998ecf8427e", "sha256:" + digest.Digest(strings.Repeat("A", 64))} {
		if _, err := s.Stat(ctx, d); !errors.Is(err, blobstore.ErrInvalidDigest) {
			t.Fatalf("Stat(%q) = %v", d, err)
		}
	}
}

func testConcurrentCommit(t *testing.T, open Opener) {
	s, _ := open(t)
	data := randomBytes(t, 64<<10)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := "cc" + string(rune('a'+i))
			if err := s.CreateUpload(ctx, id); err != nil {
				errs <- err
				return
			}
			if _, err := s.AppendUpload(ctx, id, 0, bytes.NewReader(data), nil); err != nil {
				errs <- err
				return
			}
			_, err := s.CommitUpload(ctx, id, digest.FromBytes(data))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := readBlob(t, s, digest.FromBytes(data)); !bytes.Equal(got, data) {
		t.Fatal("blob differs after concurrent commits")
	}
}

// failingReader returns n bytes of data, then an error.
type failingReader struct {
	data []byte
}

var errBroken = errors.New("connection reset")

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, errBroken
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func testReadError(t *testing.T, open Opener) {
	s, _ := open(t)
	data := randomBytes(t, 3<<20+5)
	if err := s.CreateUpload(ctx, "broken"); err != nil {
		t.Fatal(err)
	}
	h := digest.Canonical.Digester()
	n, err := s.AppendUpload(ctx, "broken", 0, &failingReader{data: data[:2<<20+7]}, h.Hash())
	if !errors.Is(err, errBroken) {
		t.Fatalf("AppendUpload = %d, %v; want the reader's error", n, err)
	}
	// What was received before the error is kept, and hashed.
	info, err := s.StatUpload(ctx, "broken")
	if err != nil || info.Size != n || n != 2<<20+7 {
		t.Fatalf("after a read error: size %d, StatUpload %+v, %v", n, info, err)
	}
	if h.Digest() != digest.FromBytes(data[:n]) {
		t.Fatal("digester out of step with the data")
	}
	if _, err := s.AppendUpload(ctx, "broken", n, bytes.NewReader(data[n:]), h.Hash()); err != nil {
		t.Fatal(err)
	}
	if h.Digest() != digest.FromBytes(data) {
		t.Fatal("digester out of step after resuming")
	}
}
