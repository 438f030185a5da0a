package filesystem_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"hash"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/registry/blobstore"
	"github.com/berth-dev/berth/registry/blobstore/blobstoretest"
	"github.com/berth-dev/berth/registry/blobstore/filesystem"
)

func TestSuite(t *testing.T) {
	blobstoretest.Run(t, func(t *testing.T) (blobstore.Store, func() blobstore.Store) {
		dir := t.TempDir()
		open := func() blobstore.Store {
			d, err := filesystem.New(dir)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		return open(), open
	})
}

func TestRegisteredByName(t *testing.T) {
	dir := t.TempDir()
	s, err := blobstore.Open(filesystem.DriverName, map[string]string{"rootdirectory": dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*filesystem.Driver); !ok {
		t.Fatalf("Open returned %T", s)
	}
	if _, err := blobstore.Open(filesystem.DriverName, nil); err == nil {
		t.Fatal("missing rootdirectory accepted")
	}
	if _, err := blobstore.Open("nope", nil); err == nil {
		t.Fatal("unknown driver opened")
	}
}

func TestLayout(t *testing.T) {
	dir := t.TempDir()
	d, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	data := []byte("layout")
	if err := d.CreateUpload(ctx, "id1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "uploads", "id1", "data")); err != nil {
		t.Fatalf("upload data file: %v", err)
	}
	if _, err := d.AppendUpload(ctx, "id1", 0, bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	dgst := digest.FromBytes(data)
	if _, err := d.CommitUpload(ctx, "id1", dgst); err != nil {
		t.Fatal(err)
	}
	hex := dgst.Encoded()
	if _, err := os.Stat(filepath.Join(dir, "blobs", "sha256", hex[:2], hex)); err != nil {
		t.Fatalf("blob file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "uploads", "id1")); !os.IsNotExist(err) {
		t.Fatalf("upload directory left behind: %v", err)
	}
}

// BenchmarkPush measures the write path a docker push takes: one streamed
// append hashed on the way, then a commit (fsync + rename).
func BenchmarkPush(b *testing.B) {
	const size = 256 << 20
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	d, err := filesystem.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.SetBytes(size)
	b.ResetTimer()
	for i := range b.N {
		data[0] = byte(i) // a new blob each round
		id := "bench" + string(rune('a'+i%26)) + string(rune('a'+i/26%26))
		if err := d.CreateUpload(ctx, id); err != nil {
			b.Fatal(err)
		}
		var h hash.Hash = sha256.New()
		if _, err := d.AppendUpload(ctx, id, 0, bytes.NewReader(data), h); err != nil {
			b.Fatal(err)
		}
		dgst := digest.NewDigest(digest.SHA256, h)
		if _, err := d.CommitUpload(ctx, id, dgst); err != nil {
			b.Fatal(err)
		}
		if err := d.Delete(ctx, dgst); err != nil {
			b.Fatal(err)
		}
	}
}
