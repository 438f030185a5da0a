package registry

import (
	"context"
	"errors"
	"time"

	"github.com/berth-dev/berth/registry/blobstore"
	"github.com/berth-dev/berth/store"
)

// GCStats reports what a collection removed.
type GCStats struct {
	BlobsDeleted   int   // blobs no manifest referenced
	BytesFreed     int64 // their sizes
	OrphanFiles    int   // blob files without a record (a crash between write and record)
	UploadsExpired int   // idle upload sessions
	OrphanUploads  int   // upload data without a session record
	Duration       time.Duration
}

const gcBatch = 500

func (r *Registry) gracePeriod() time.Duration {
	switch g := r.opts.GCGracePeriod; {
	case g == 0:
		return DefaultGCGracePeriod
	case g < 0:
		return 0
	default:
		return g
	}
}

func (r *Registry) uploadTTL() time.Duration {
	switch t := r.opts.UploadTTL; {
	case t == 0:
		return DefaultUploadTTL
	case t < 0:
		return 0
	default:
		return t
	}
}

// CollectGarbage deletes blobs that no manifest references (with their
// repository links) once they are older than the grace period, blob files
// that have no record, and upload sessions idle longer than the upload TTL.
// It runs online: a push in flight keeps its blobs through the grace
// period, and a manifest that lands while a blob goes either sees the blob
// (and the blob stays) or fails with ErrManifestBlobUnknown.
func (r *Registry) CollectGarbage(ctx context.Context) (GCStats, error) {
	r.gcMu.Lock()
	defer r.gcMu.Unlock()
	start := time.Now()
	var stats GCStats
	// Time is read (with the cutoff derived) before anything is listed: a
	// blob recorded after this instant can never look old enough.
	now := r.now()
	cutoff := now.Add(-r.gracePeriod())
	err := errors.Join(
		r.collectBlobs(ctx, cutoff, &stats),
		r.collectOrphanFiles(ctx, cutoff, &stats),
		r.expireUploads(ctx, now.Add(-r.uploadTTL()), &stats),
	)
	stats.Duration = time.Since(start)
	if stats.BlobsDeleted+stats.OrphanFiles+stats.UploadsExpired+stats.OrphanUploads > 0 {
		r.log.Info("garbage collection", "blobs", stats.BlobsDeleted, "bytes", stats.BytesFreed,
			"orphan_files", stats.OrphanFiles, "uploads", stats.UploadsExpired+stats.OrphanUploads, "duration", stats.Duration)
	}
	return stats, err
}

// collectBlobs: the record goes first, in a transaction that re-checks that
// nothing references the blob; the file follows.
func (r *Registry) collectBlobs(ctx context.Context, cutoff time.Time, stats *GCStats) error {
	for {
		var batch []store.Blob
		if err := r.st.View(ctx, func(tx store.Tx) error {
			var err error
			batch, err = tx.CollectableBlobs(cutoff, gcBatch)
			return err
		}); err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		progress := false
		for _, b := range batch {
			deleted, err := r.collectBlob(ctx, b, cutoff)
			if err != nil {
				return err
			}
			if deleted {
				progress = true
				stats.BlobsDeleted++
				stats.BytesFreed += b.Size
			}
		}
		if !progress || len(batch) < gcBatch {
			return nil
		}
	}
}

func (r *Registry) collectBlob(ctx context.Context, b store.Blob, cutoff time.Time) (bool, error) {
	lock := r.digestLock(b.Digest)
	lock.Lock()
	defer lock.Unlock()
	var deleted bool
	if err := r.st.Update(ctx, func(tx store.Tx) error {
		var err error
		deleted, err = tx.DeleteBlobIfCollectable(b.Digest, cutoff)
		return err
	}); err != nil {
		return false, err
	}
	if !deleted {
		return false, nil
	}
	if err := r.blobs.Delete(context.WithoutCancel(ctx), b.Digest); err != nil && !errors.Is(err, blobstore.ErrNotFound) {
		// The record is gone; the file is now an orphan the next run removes.
		r.log.Warn("deleting a collected blob", "digest", b.Digest, "error", err)
	}
	return true, nil
}

// collectOrphanFiles removes blob files that have no record and are older
// than the cutoff: left by a crash after a file was committed but before
// its record was.
func (r *Registry) collectOrphanFiles(ctx context.Context, cutoff time.Time, stats *GCStats) error {
	var candidates []blobstore.Info
	if err := r.blobs.Walk(ctx, func(info blobstore.Info) error {
		if info.ModTime.Before(cutoff) {
			candidates = append(candidates, info)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, info := range candidates {
		if err := r.collectOrphanFile(ctx, info, stats); err != nil {
			return err
		}
	}
	return nil
}

func (r *Registry) collectOrphanFile(ctx context.Context, info blobstore.Info, stats *GCStats) error {
	lock := r.digestLock(info.Digest)
	lock.Lock()
	defer lock.Unlock()
	recorded := true
	if err := r.st.View(ctx, func(tx store.Tx) error {
		_, err := tx.GetBlob(info.Digest)
		if errors.Is(err, store.ErrNotFound) {
			recorded = false
			return nil
		}
		return err
	}); err != nil {
		return err
	}
	if recorded {
		return nil
	}
	if err := r.blobs.Delete(ctx, info.Digest); err != nil && !errors.Is(err, blobstore.ErrNotFound) {
		return err
	}
	stats.OrphanFiles++
	stats.BytesFreed += info.Size
	return nil
}

// expireUploads ends idle sessions, then removes upload data that has no
// session record at all.
func (r *Registry) expireUploads(ctx context.Context, cutoff time.Time, stats *GCStats) error {
	var stale []store.Upload
	if err := r.st.View(ctx, func(tx store.Tx) error {
		var err error
		stale, err = tx.StaleUploads(cutoff, 0)
		return err
	}); err != nil {
		return err
	}
	for _, u := range stale {
		if err := r.expireUpload(ctx, u.ID, cutoff, stats); err != nil {
			return err
		}
	}
	var orphans []string
	if err := r.blobs.WalkUploads(ctx, func(u blobstore.UploadInfo) error {
		if u.ModTime.Before(cutoff) {
			orphans = append(orphans, u.ID)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, id := range orphans {
		known := true
		if err := r.st.View(ctx, func(tx store.Tx) error {
			_, err := tx.GetUpload(id)
			if errors.Is(err, store.ErrNotFound) {
				known = false
				return nil
			}
			return err
		}); err != nil {
			return err
		}
		if known {
			continue
		}
		// A session being created right now has a fresh directory, so it is
		// not old enough to be here.
		if err := r.blobs.DeleteUpload(ctx, id); err != nil {
			return err
		}
		stats.OrphanUploads++
	}
	return nil
}

func (r *Registry) expireUpload(ctx context.Context, id string, cutoff time.Time, stats *GCStats) error {
	r.uploadsMu.Lock()
	st := r.uploads[id]
	if st == nil {
		st = &uploadState{}
		r.uploads[id] = st
	}
	r.uploadsMu.Unlock()
	// A session receiving data right now is not idle; skip it.
	if !st.mu.TryLock() {
		return nil
	}
	defer st.mu.Unlock()
	if st.gone {
		return nil
	}
	var u store.Upload
	err := r.st.View(ctx, func(tx store.Tx) error {
		var err error
		u, err = tx.GetUpload(id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		r.forgetUpload(id, st)
		return nil
	}
	if err != nil {
		return err
	}
	if !u.UpdatedAt.Before(cutoff) {
		return nil // it received data since it was listed
	}
	if err := r.dropUpload(ctx, st, id); err != nil {
		return err
	}
	stats.UploadsExpired++
	return nil
}

func (r *Registry) gcLoop(interval time.Duration) {
	defer close(r.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-r.stop:
					cancel()
				case <-ctx.Done():
				}
			}()
			if _, err := r.CollectGarbage(ctx); err != nil && !errors.Is(err, context.Canceled) {
				r.log.Error("garbage collection failed", "error", err)
			}
			cancel()
		}
	}
}
