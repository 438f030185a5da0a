package registry_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/registry"
)

func TestChunkedUpload(t *testing.T) {
	e := newEnv(t, registry.Options{})
	ref := e.createRepo("app", "")
	data := randomData(t, 3000)
	up, err := e.reg.StartUpload(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if up, err = e.reg.AppendUpload(ctx, ref, up.ID, 0, bytes.NewReader(data[:1000])); err != nil || up.Offset != 1000 {
		t.Fatalf("first chunk: %+v, %v", up, err)
	}
	// Out of order: refused, state unchanged.
	if up, err = e.reg.AppendUpload(ctx, ref, up.ID, 2000, bytes.NewReader(data[2000:])); !errors.Is(err, registry.ErrRangeInvalid) || up.Offset != 1000 {
		t.Fatalf("out-of-order chunk: %+v, %v", up, err)
	}
	// Appending without an offset goes at the end.
	if up, err = e.reg.AppendUpload(ctx, ref, up.ID, -1, bytes.NewReader(data[1000:2000])); err != nil || up.Offset != 2000 {
		t.Fatalf("streamed chunk: %+v, %v", up, err)
	}
	// Another repository does not see the session.
	other := e.createRepo("other", "")
	if _, err := e.reg.UploadStatus(ctx, other, up.ID); !errors.Is(err, registry.ErrUploadUnknown) {
		t.Fatalf("session visible from another repository: %v", err)
	}
	// A wrong digest is refused and the session stays open.
	if _, err := e.reg.CompleteUploadAt(ctx, ref, up.ID, 2000, digest.FromString("wrong"), bytes.NewReader(data[2000:])); !errors.Is(err, registry.ErrDigestInvalid) {
		t.Fatalf("wrong digest: %v", err)
	}
	if st, err := e.reg.UploadStatus(ctx, ref, up.ID); err != nil || st.Offset != 3000 {
		t.Fatalf("after refused completion: %+v, %v", st, err)
	}
	desc, err := e.reg.CompleteUpload(ctx, ref, up.ID, digest.FromBytes(data), nil)
	if err != nil || desc.Size != 3000 {
		t.Fatalf("complete: %+v, %v", desc, err)
	}
	if _, err := e.reg.UploadStatus(ctx, ref, up.ID); !errors.Is(err, registry.ErrUploadUnknown) {
		t.Fatalf("completed session still open: %v", err)
	}
	readBack(t, e, ref, data)

	// Cancel drops the session and its data.
	up, _ = e.reg.StartUpload(ctx, ref)
	_, _ = e.reg.AppendUpload(ctx, ref, up.ID, 0, bytes.NewReader(data))
	if err := e.reg.CancelUpload(ctx, ref, up.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.fs.StatUpload(ctx, up.ID); err == nil {
		t.Fatal("cancelled upload kept its data")
	}
	if err := e.reg.CancelUpload(ctx, ref, up.ID); !errors.Is(err, registry.ErrUploadUnknown) {
		t.Fatalf("cancel twice: %v", err)
	}
	if _, err := e.reg.StartUpload(ctx, repoRef("missing")); !errors.Is(err, registry.ErrRepositoryNotFound) {
		t.Fatalf("upload to a missing repository: %v", err)
	}
}

func readBack(t *testing.T, e *env, ref registry.Repo, data []byte) {
	t.Helper()
	rc, _, err := e.reg.OpenBlob(ctx, ref, digest.FromBytes(data))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, data) {
		t.Fatal("blob content differs")
	}
}

func TestUploadResumesAfterRestart(t *testing.T) {
	e := newEnv(t, registry.Options{})
	ref := e.createRepo("app", "")
	data := randomData(t, 5000)
	up, err := e.reg.StartUpload(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.AppendUpload(ctx, ref, up.ID, 0, bytes.NewReader(data[:2000])); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	st, err := e.reg.UploadStatus(ctx, ref, up.ID)
	if err != nil || st.Offset != 2000 {
		t.Fatalf("after restart: %+v, %v", st, err)
	}
	if _, err := e.reg.AppendUpload(ctx, ref, up.ID, 2000, bytes.NewReader(data[2000:])); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.CompleteUpload(ctx, ref, up.ID, digest.FromBytes(data), nil); err != nil {
		t.Fatal(err)
	}
	readBack(t, e, ref, data)
}

// A crash between writing a chunk and recording the session's progress
// leaves more data in the file than the recorded hash covers: the offset
// comes from the file, and completion hashes the data again.
func TestUploadResumesWhenRecordLagsData(t *testing.T) {
	e := newEnv(t, registry.Options{})
	ref := e.createRepo("app", "")
	data := randomData(t, 4000)
	up, _ := e.reg.StartUpload(ctx, ref)
	if _, err := e.reg.AppendUpload(ctx, ref, up.ID, 0, bytes.NewReader(data[:1000])); err != nil {
		t.Fatal(err)
	}
	e.close()
	// What the dead process wrote after its last record.
	if _, err := e.fs.AppendUpload(ctx, up.ID, 1000, bytes.NewReader(data[1000:2500]), nil); err != nil {
		t.Fatal(err)
	}
	e.open()
	st, err := e.reg.UploadStatus(ctx, ref, up.ID)
	if err != nil || st.Offset != 2500 {
		t.Fatalf("offset after restart = %+v, %v; want the data file's 2500", st, err)
	}
	if _, err := e.reg.CompleteUploadAt(ctx, ref, up.ID, 2500, digest.FromBytes(data), bytes.NewReader(data[2500:])); err != nil {
		t.Fatal(err)
	}
	readBack(t, e, ref, data)
}

// A chunked upload completed with a sha512 digest is verified by hashing
// the data again with sha512.
func TestUploadOtherAlgorithm(t *testing.T) {
	e := newEnv(t, registry.Options{})
	ref := e.createRepo("app", "")
	data := randomData(t, 1500)
	up, _ := e.reg.StartUpload(ctx, ref)
	if _, err := e.reg.AppendUpload(ctx, ref, up.ID, 0, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	d512 := digest.SHA512.FromBytes(data)
	if _, err := e.reg.CompleteUpload(ctx, ref, up.ID, d512, nil); err != nil {
		t.Fatal(err)
	}
	if desc, err := e.reg.StatBlob(ctx, ref, d512); err != nil || desc.Size != 1500 {
		t.Fatalf("sha512 blob: %+v, %v", desc, err)
	}
	if _, err := e.reg.PutBlob(ctx, ref, "md5:d41d8cd98f00b204e9800998ecf8427e", bytes.NewReader(nil)); !errors.Is(err, registry.ErrDigestInvalid) {
		t.Fatalf("unsupported algorithm: %v", err)
	}
	if _, err := e.reg.PutBlob(ctx, ref, digest.FromString("other"), bytes.NewReader(data)); !errors.Is(err, registry.ErrDigestInvalid) {
		t.Fatalf("monolithic upload with a wrong digest: %v", err)
	}
}
