package registry_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/registry"
)

func TestGCCollectsWhatNothingUses(t *testing.T) {
	clk := &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	e := newEnv(t, registry.Options{Now: clk.Now}) // default grace: 1h, uploads: 24h
	ref := e.createRepo("app", "")
	kept := newImage(t, 100)
	e.pushImage(ref, kept, "v1")
	dropped := newImage(t, 200)
	e.pushImage(ref, dropped, "v2")
	stray := randomData(t, 300)
	e.pushBlob(ref, stray)
	idle, _ := e.reg.StartUpload(ctx, ref)

	// Within the grace period nothing goes, even unreferenced.
	if _, err := e.reg.DeleteManifest(ctx, ref, dropped.digest); err != nil {
		t.Fatal(err)
	}
	stats, err := e.reg.CollectGarbage(ctx)
	if err != nil || stats.BlobsDeleted != 0 || stats.UploadsExpired != 0 {
		t.Fatalf("inside the grace period: %+v, %v", stats, err)
	}

	clk.Advance(2 * time.Hour)
	stats, err = e.reg.CollectGarbage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// dropped: config + layer; stray: one blob.
	if stats.BlobsDeleted != 3 {
		t.Fatalf("collected %d blobs, want 3 (%+v)", stats.BlobsDeleted, stats)
	}
	for _, d := range append(dropped.blobDigests(), digest.FromBytes(stray)) {
		if _, err := e.fs.Stat(ctx, d); err == nil {
			t.Fatalf("blob %s still on disk", d)
		}
		if _, err := e.reg.StatBlob(ctx, ref, d); !errors.Is(err, registry.ErrBlobUnknown) {
			t.Fatalf("collected blob still linked: %v", err)
		}
	}
	for _, d := range kept.blobDigests() {
		if _, err := e.fs.Stat(ctx, d); err != nil {
			t.Fatalf("blob of a live image collected: %v", err)
		}
	}

	clk.Advance(24 * time.Hour)
	stats, err = e.reg.CollectGarbage(ctx)
	if err != nil || stats.UploadsExpired != 1 {
		t.Fatalf("idle upload not expired: %+v, %v", stats, err)
	}
	if _, err := e.reg.UploadStatus(ctx, ref, idle.ID); !errors.Is(err, registry.ErrUploadUnknown) {
		t.Fatalf("expired upload: %v", err)
	}
}

func TestGCRemovesOrphans(t *testing.T) {
	e := newEnv(t, registry.Options{GCGracePeriod: -1, UploadTTL: -1})
	// A blob file without a record (a crash between commit and record).
	orphan := []byte("orphan blob")
	if err := e.fs.CreateUpload(ctx, "orphan"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.fs.AppendUpload(ctx, "orphan", 0, bytes.NewReader(orphan), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.fs.CommitUpload(ctx, "orphan", digest.FromBytes(orphan)); err != nil {
		t.Fatal(err)
	}
	// Upload data without a session record.
	if err := e.fs.CreateUpload(ctx, "lost"); err != nil {
		t.Fatal(err)
	}
	stats, err := e.reg.CollectGarbage(ctx)
	if err != nil || stats.OrphanFiles != 1 || stats.OrphanUploads != 1 {
		t.Fatalf("orphans: %+v, %v", stats, err)
	}
	if _, err := e.fs.Stat(ctx, digest.FromBytes(orphan)); err == nil {
		t.Fatal("orphan blob file kept")
	}
}

// Pushes race a collector that runs continuously without grace period.
// Every push either lands complete or fails with ErrManifestBlobUnknown
// (its blobs went before the manifest came); an image never lists a blob
// that is gone.
func TestGCConcurrentWithPushes(t *testing.T) {
	e := newEnv(t, registry.Options{GCGracePeriod: -1})
	ref := e.createRepo("app", "")
	stop := make(chan struct{})
	var gcRuns atomic.Int64
	gcDone := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				gcDone <- nil
				return
			default:
			}
			if _, err := e.reg.CollectGarbage(ctx); err != nil {
				gcDone <- err
				return
			}
			gcRuns.Add(1)
		}
	}()

	const pushers, perPusher = 4, 15
	var (
		wg              sync.WaitGroup
		landed, refused atomic.Int64
		errs            = make(chan error, pushers)
	)
	for p := range pushers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perPusher {
				img := newImage(t, 64, 128)
				tag := fmt.Sprintf("p%d-%d", p, i)
				for attempt := 0; ; attempt++ {
					err := pushOnce(e, ref, img, tag)
					if err == nil {
						landed.Add(1)
						break
					}
					if !errors.Is(err, registry.ErrManifestBlobUnknown) || attempt > 100 {
						errs <- fmt.Errorf("push %s: %w", tag, err)
						return
					}
					refused.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	if err := <-gcDone; err != nil {
		t.Fatalf("collector: %v", err)
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// One more pass with nothing in flight, then check every image.
	if _, err := e.reg.CollectGarbage(ctx); err != nil {
		t.Fatal(err)
	}
	assertImagesComplete(t, e, ref)
	images, _ := e.reg.ListImages(ctx, ref)
	if len(images) != pushers*perPusher {
		t.Fatalf("%d images, want %d", len(images), pushers*perPusher)
	}
	t.Logf("%d pushes landed, %d refused and retried, %d collector runs", landed.Load(), refused.Load(), gcRuns.Load())
}

func pushOnce(e *env, ref registry.Repo, img image, tag string) error {
	for _, b := range append([][]byte{img.config}, img.layers...) {
		if _, err := e.reg.PutBlob(ctx, ref, digest.FromBytes(b), bytes.NewReader(b)); err != nil {
			return err
		}
	}
	_, _, err := e.reg.PutManifest(ctx, ref, tag, ocispec.MediaTypeImageManifest, img.body)
	return err
}

// assertImagesComplete checks that every image's blobs are readable and
// hash to their digests.
func assertImagesComplete(t *testing.T, e *env, ref registry.Repo) {
	t.Helper()
	images, err := e.reg.ListImages(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range images {
		_, body, err := e.reg.GetManifest(ctx, ref, img.Digest.String())
		if err != nil {
			t.Fatal(err)
		}
		var m ocispec.Manifest
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		for _, d := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
			rc, _, err := e.reg.OpenBlob(ctx, ref, d.Digest)
			if err != nil {
				t.Fatalf("image %s lists blob %s: %v", img.Digest, d.Digest, err)
			}
			got, err := digest.FromReader(rc)
			rc.Close()
			if err != nil || got != d.Digest {
				t.Fatalf("blob %s reads back as %s (%v)", d.Digest, got, err)
			}
		}
	}
}
