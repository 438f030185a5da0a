package registry

import (
	"context"
	"crypto/rand"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/registry/blobstore"
	"github.com/berth-dev/berth/store"
)

func blobDescriptor(b store.Blob) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: mediaTypeOctetStream, Digest: b.Digest, Size: b.Size}
}

func blobUnknown(ref Repo, dgst digest.Digest) error {
	return fmt.Errorf("%w: %s is not in %s", ErrBlobUnknown, dgst, ref.Name)
}

// StatBlob returns a blob's descriptor when it is linked to the repository.
func (r *Registry) StatBlob(ctx context.Context, ref Repo, dgst digest.Digest) (ocispec.Descriptor, error) {
	if _, err := parseDigest(dgst.String()); err != nil {
		return ocispec.Descriptor{}, err
	}
	var desc ocispec.Descriptor
	err := r.st.View(ctx, func(tx store.Tx) error {
		row, err := r.repo(tx, ref)
		if err != nil {
			return err
		}
		b, err := tx.LinkedBlob(row.ID, dgst)
		if errors.Is(err, store.ErrNotFound) {
			return blobUnknown(ref, dgst)
		}
		desc = blobDescriptor(b)
		return err
	})
	return desc, err
}

// OpenBlob opens a blob linked to the repository for reading.
func (r *Registry) OpenBlob(ctx context.Context, ref Repo, dgst digest.Digest) (io.ReadSeekCloser, ocispec.Descriptor, error) {
	desc, err := r.StatBlob(ctx, ref, dgst)
	if err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	rc, _, err := r.blobs.Open(ctx, dgst)
	if errors.Is(err, blobstore.ErrNotFound) {
		// Collected between the two calls.
		return nil, ocispec.Descriptor{}, blobUnknown(ref, dgst)
	}
	if err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	return rc, desc, nil
}

// DeleteBlob unlinks a blob from a repository; the content goes with the
// next garbage collection if nothing else uses it. A blob that a manifest
// of the repository uses is refused with ErrBlobInUse: deleting it would
// break the image.
func (r *Registry) DeleteBlob(ctx context.Context, ref Repo, dgst digest.Digest) error {
	if _, err := parseDigest(dgst.String()); err != nil {
		return err
	}
	return r.st.Update(ctx, func(tx store.Tx) error {
		row, err := r.repo(tx, ref)
		if err != nil {
			return err
		}
		users, err := tx.ManifestsReferencingBlob(row.ID, dgst)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return &BlobInUseError{Digest: dgst, Manifests: users}
		}
		err = tx.UnlinkBlob(row.ID, dgst)
		if errors.Is(err, store.ErrNotFound) {
			return blobUnknown(ref, dgst)
		}
		return err
	})
}

// MountBlob links a blob of repository `from` into repository `to` without
// moving data. An empty from.Name looks for the blob in any repository of
// to's account and region.
func (r *Registry) MountBlob(ctx context.Context, from, to Repo, dgst digest.Digest) (ocispec.Descriptor, error) {
	if _, err := parseDigest(dgst.String()); err != nil {
		return ocispec.Descriptor{}, err
	}
	var desc ocispec.Descriptor
	err := r.st.Update(ctx, func(tx store.Tx) error {
		dst, err := r.repo(tx, to)
		if err != nil {
			return err
		}
		var srcID int64
		if from.Name == "" {
			srcID, err = tx.FindLink(to.Account, to.Region, dgst)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w: %s is in no repository of the account", ErrBlobUnknown, dgst)
			} else if err != nil {
				return err
			}
		} else {
			src, err := r.repo(tx, from)
			if err != nil {
				return err
			}
			srcID = src.ID
		}
		b, err := tx.LinkedBlob(srcID, dgst)
		if errors.Is(err, store.ErrNotFound) {
			return blobUnknown(from, dgst)
		} else if err != nil {
			return err
		}
		desc = blobDescriptor(b)
		return tx.LinkBlob(dst.ID, dgst, r.now().UTC())
	})
	return desc, err
}

// Upload is the state of a blob upload session.
type Upload struct {
	ID        string
	Repo      Repo
	Offset    int64 // bytes received so far
	StartedAt time.Time
}

// uploadState is a session's in-memory state; its mutex serialises the
// requests of one session.
type uploadState struct {
	mu        sync.Mutex
	loaded    bool
	gone      bool
	recorded  bool // the session has a record in the state store
	repoID    int64
	repo      Repo
	startedAt time.Time
	size      int64
	algorithm digest.Algorithm
	hash      hash.Hash // running digest of the data; nil when unknown
}

func (s *uploadState) info(id string) Upload {
	return Upload{ID: id, Repo: s.repo, Offset: s.size, StartedAt: s.startedAt}
}

func newUploadID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// StartUpload opens an upload session in a repository. The session is
// recorded in the state store, so it survives a restart.
func (r *Registry) StartUpload(ctx context.Context, ref Repo) (Upload, error) {
	return r.startUpload(ctx, ref, digest.Canonical, true)
}

// startUpload opens a session; a session that lives for one request only
// (a monolithic upload) is not recorded, which saves a transaction per blob.
func (r *Registry) startUpload(ctx context.Context, ref Repo, alg digest.Algorithm, recorded bool) (Upload, error) {
	var repoID int64
	if err := r.st.View(ctx, func(tx store.Tx) error {
		row, err := r.repo(tx, ref)
		repoID = row.ID
		return err
	}); err != nil {
		return Upload{}, err
	}
	id := newUploadID()
	// The data file first: a crash before the record leaves an orphan
	// directory the collector removes, never a record without data.
	if err := r.blobs.CreateUpload(ctx, id); err != nil {
		return Upload{}, err
	}
	now := r.now().UTC()
	st := &uploadState{loaded: true, recorded: recorded, repoID: repoID, repo: ref, startedAt: now, algorithm: alg, hash: alg.Hash()}
	var err error
	if recorded {
		err = r.st.Update(ctx, func(tx store.Tx) error {
			return tx.PutUpload(store.Upload{ID: id, RepoID: repoID, StartedAt: now, UpdatedAt: now, HashAlgorithm: string(alg), HashState: marshalHash(st.hash)})
		})
	}
	if err != nil {
		_ = r.blobs.DeleteUpload(context.WithoutCancel(ctx), id)
		if errors.Is(err, store.ErrNotFound) {
			return Upload{}, repositoryNotFound(ref)
		}
		return Upload{}, err
	}
	r.uploadsMu.Lock()
	r.uploads[id] = st
	r.uploadsMu.Unlock()
	return st.info(id), nil
}

func marshalHash(h hash.Hash) []byte {
	if h == nil {
		return nil
	}
	m, ok := h.(encoding.BinaryMarshaler)
	if !ok {
		return nil
	}
	b, err := m.MarshalBinary()
	if err != nil {
		return nil
	}
	return b
}

func unmarshalHash(alg digest.Algorithm, state []byte) hash.Hash {
	if !alg.Available() || len(state) == 0 {
		return nil
	}
	h := alg.Hash()
	u, ok := h.(encoding.BinaryUnmarshaler)
	if !ok || u.UnmarshalBinary(state) != nil {
		return nil
	}
	return h
}

// lockUpload finds a session, loading it from the store after a restart,
// and locks it. The caller must call unlock.
func (r *Registry) lockUpload(ctx context.Context, ref Repo, id string) (st *uploadState, unlock func(), err error) {
	if blobstore.ValidateID(id) != nil {
		return nil, nil, fmt.Errorf("%w: %q", ErrUploadUnknown, id)
	}
	r.uploadsMu.Lock()
	st = r.uploads[id]
	if st == nil {
		st = &uploadState{}
		r.uploads[id] = st
	}
	r.uploadsMu.Unlock()
	st.mu.Lock()
	if !st.gone && !st.loaded {
		if err := r.loadUpload(ctx, st, id); err != nil {
			if errors.Is(err, ErrUploadUnknown) {
				r.forgetUpload(id, st)
			} // else a transient failure: the next request loads again
			st.mu.Unlock()
			return nil, nil, err
		}
	}
	if st.gone || st.repo != ref {
		st.mu.Unlock()
		return nil, nil, fmt.Errorf("%w: %s in %s", ErrUploadUnknown, id, ref.Name)
	}
	return st, st.mu.Unlock, nil
}

// loadUpload restores a session after a restart: the size comes from the
// data file, the running hash from the store when it covers exactly that
// data (else the data is hashed again when the upload completes).
func (r *Registry) loadUpload(ctx context.Context, st *uploadState, id string) error {
	var (
		u   store.Upload
		rep store.Repository
	)
	err := r.st.View(ctx, func(tx store.Tx) error {
		var err error
		if u, err = tx.GetUpload(id); err != nil {
			return err
		}
		rep, err = tx.GetRepositoryByID(u.RepoID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrUploadUnknown, id)
	}
	if err != nil {
		return err
	}
	info, err := r.blobs.StatUpload(ctx, id)
	if errors.Is(err, blobstore.ErrNotFound) {
		return fmt.Errorf("%w: %s (its data is gone)", ErrUploadUnknown, id)
	}
	if err != nil {
		return err
	}
	st.loaded = true
	st.recorded = true
	st.repoID = rep.ID
	st.repo = Repo{Account: rep.Account, Region: rep.Region, Name: rep.Name}
	st.startedAt = u.StartedAt
	st.size = info.Size
	st.algorithm = digest.Algorithm(u.HashAlgorithm)
	if !st.algorithm.Available() {
		st.algorithm = digest.Canonical
	}
	st.hash = nil
	if u.Size == info.Size {
		st.hash = unmarshalHash(st.algorithm, u.HashState)
	}
	return nil
}

// forgetUpload marks a session gone and drops it from memory. st.mu held.
func (r *Registry) forgetUpload(id string, st *uploadState) {
	st.gone = true
	r.uploadsMu.Lock()
	if r.uploads[id] == st {
		delete(r.uploads, id)
	}
	r.uploadsMu.Unlock()
}

// UploadStatus returns how much of an upload has been received.
func (r *Registry) UploadStatus(ctx context.Context, ref Repo, id string) (Upload, error) {
	st, unlock, err := r.lockUpload(ctx, ref, id)
	if err != nil {
		return Upload{}, err
	}
	defer unlock()
	return st.info(id), nil
}

// AppendUpload appends a chunk to an upload. offset must equal the bytes
// received so far (ErrRangeInvalid otherwise, with the current state
// returned); a negative offset appends at the end. The data is hashed as it
// is written.
func (r *Registry) AppendUpload(ctx context.Context, ref Repo, id string, offset int64, data io.Reader) (Upload, error) {
	st, unlock, err := r.lockUpload(ctx, ref, id)
	if err != nil {
		return Upload{}, err
	}
	defer unlock()
	err = r.appendLocked(ctx, st, id, offset, data)
	return st.info(id), err
}

func (r *Registry) appendLocked(ctx context.Context, st *uploadState, id string, offset int64, data io.Reader) error {
	if offset >= 0 && offset != st.size {
		return fmt.Errorf("%w: the upload holds %d bytes, the chunk starts at %d", ErrRangeInvalid, st.size, offset)
	}
	var digester io.Writer
	if st.hash != nil {
		digester = st.hash
	}
	size, err := r.blobs.AppendUpload(ctx, id, st.size, data, digester)
	if errors.Is(err, blobstore.ErrOffsetMismatch) {
		// The data file changed under us (another process?): trust the file.
		st.size, st.hash = size, nil
		return fmt.Errorf("%w: the upload holds %d bytes", ErrRangeInvalid, size)
	}
	if errors.Is(err, blobstore.ErrNotFound) {
		r.forgetUpload(id, st)
		return fmt.Errorf("%w: %s (its data is gone)", ErrUploadUnknown, id)
	}
	grew := size != st.size
	st.size = size
	if grew && st.recorded {
		if perr := r.persistUpload(context.WithoutCancel(ctx), st, id); perr != nil && err == nil {
			err = perr
		}
	}
	return err
}

// persistUpload records a session's progress so that it resumes after a
// restart with its hash state.
func (r *Registry) persistUpload(ctx context.Context, st *uploadState, id string) error {
	err := r.st.Update(ctx, func(tx store.Tx) error {
		return tx.PutUpload(store.Upload{
			ID: id, RepoID: st.repoID, StartedAt: st.startedAt, UpdatedAt: r.now().UTC(),
			Size: st.size, HashAlgorithm: string(st.algorithm), HashState: marshalHash(st.hash),
		})
	})
	if errors.Is(err, store.ErrNotFound) {
		// The repository was deleted meanwhile.
		r.forgetUpload(id, st)
		_ = r.blobs.DeleteUpload(ctx, id)
		return fmt.Errorf("%w: %s", ErrUploadUnknown, id)
	}
	return err
}

// CompleteUpload appends an optional final chunk, verifies the data against
// dgst and stores it as a blob linked to the repository.
func (r *Registry) CompleteUpload(ctx context.Context, ref Repo, id string, dgst digest.Digest, final io.Reader) (ocispec.Descriptor, error) {
	return r.CompleteUploadAt(ctx, ref, id, -1, dgst, final)
}

// CompleteUploadAt is CompleteUpload with the final chunk required to start
// at offset (a negative offset: wherever the upload ends). A range mismatch
// or a digest mismatch leaves the session open.
func (r *Registry) CompleteUploadAt(ctx context.Context, ref Repo, id string, offset int64, dgst digest.Digest, final io.Reader) (ocispec.Descriptor, error) {
	want, err := parseDigest(dgst.String())
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	st, unlock, err := r.lockUpload(ctx, ref, id)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	defer unlock()
	if final != nil {
		if err := r.appendLocked(ctx, st, id, offset, final); err != nil {
			return ocispec.Descriptor{}, err
		}
	} else if offset >= 0 && offset != st.size {
		return ocispec.Descriptor{}, fmt.Errorf("%w: the upload holds %d bytes, the chunk starts at %d", ErrRangeInvalid, st.size, offset)
	}
	actual, err := r.uploadDigest(ctx, st, id, want.Algorithm())
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if actual != want {
		return ocispec.Descriptor{}, fmt.Errorf("%w: the uploaded data has digest %s, not %s", ErrDigestInvalid, actual, want)
	}
	desc, err := r.commitBlob(ctx, st, id, want)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	r.forgetUpload(id, st)
	return desc, nil
}

// uploadDigest returns the digest of an upload's data, from the running
// hash when it is of the right algorithm, else by reading the data again.
func (r *Registry) uploadDigest(ctx context.Context, st *uploadState, id string, alg digest.Algorithm) (digest.Digest, error) {
	if st.hash != nil && st.algorithm == alg {
		return digest.NewDigest(alg, st.hash), nil
	}
	rc, err := r.blobs.OpenUpload(ctx, id)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	d, err := alg.FromReader(rc)
	if err != nil {
		return "", fmt.Errorf("hashing upload %s: %w", id, err)
	}
	return d, nil
}

// commitBlob moves verified upload data into the blob store and records the
// blob and its link, under the digest's lock so the collector cannot remove
// the file between the two steps.
func (r *Registry) commitBlob(ctx context.Context, st *uploadState, id string, dgst digest.Digest) (ocispec.Descriptor, error) {
	// Past this point the work must finish even if the client goes away.
	ctx = context.WithoutCancel(ctx)
	lock := r.digestLock(dgst)
	lock.Lock()
	defer lock.Unlock()
	info, err := r.blobs.CommitUpload(ctx, id, dgst)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	now := r.now().UTC()
	b := store.Blob{Digest: dgst, Size: info.Size, CreatedAt: now}
	err = r.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutBlob(b); err != nil {
			return err
		}
		if err := tx.LinkBlob(st.repoID, dgst, now); err != nil {
			return err
		}
		if !st.recorded {
			return nil
		}
		if err := tx.DeleteUpload(id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return ocispec.Descriptor{}, repositoryNotFound(st.repo)
	}
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return blobDescriptor(b), nil
}

// CancelUpload ends a session and drops its data.
func (r *Registry) CancelUpload(ctx context.Context, ref Repo, id string) error {
	st, unlock, err := r.lockUpload(ctx, ref, id)
	if err != nil {
		return err
	}
	defer unlock()
	return r.dropUpload(context.WithoutCancel(ctx), st, id)
}

// dropUpload deletes a session's record, then its data. st.mu held.
func (r *Registry) dropUpload(ctx context.Context, st *uploadState, id string) error {
	if st.recorded || !st.loaded {
		err := r.st.Update(ctx, func(tx store.Tx) error { return tx.DeleteUpload(id) })
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	r.forgetUpload(id, st)
	return r.blobs.DeleteUpload(ctx, id)
}

// PutBlob stores a blob in one call (a monolithic upload): the data is
// hashed with dgst's algorithm as it is written and must match.
func (r *Registry) PutBlob(ctx context.Context, ref Repo, dgst digest.Digest, data io.Reader) (ocispec.Descriptor, error) {
	want, err := parseDigest(dgst.String())
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	up, err := r.startUpload(ctx, ref, want.Algorithm(), false)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc, err := r.CompleteUpload(ctx, ref, up.ID, want, data)
	if err != nil {
		_ = r.CancelUpload(context.WithoutCancel(ctx), ref, up.ID)
		return ocispec.Descriptor{}, err
	}
	return desc, nil
}
