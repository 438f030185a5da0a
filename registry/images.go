package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/store"
)

// Image is a manifest stored in a repository, with its tags.
type Image struct {
	Repo         Repo
	Digest       digest.Digest
	MediaType    string
	ArtifactType string // artifactType, or for an image manifest its config media type
	Subject      digest.Digest
	Annotations  map[string]string
	// Size is ECR's imageSizeInBytes: config and layers of an image; for
	// an index, the largest of its children's sizes, as AWS documents it.
	Size int64
	// ManifestSize is the length of the manifest itself.
	ManifestSize int64
	Tags         []string
	PushedAt     time.Time
	LastPulledAt time.Time
}

// PutResult says what a manifest push changed.
type PutResult struct {
	// Created: the manifest was not in the repository before.
	Created bool
	// TagsMoved lists the tags that were created or now point at this
	// manifest. A push with Created false and no tags moved changed nothing
	// (ECR's ImageAlreadyExistsException).
	TagsMoved []string
}

// Changed reports whether the push changed anything.
func (p PutResult) Changed() bool { return p.Created || len(p.TagsMoved) > 0 }

func imageFrom(ref Repo, m store.Manifest, tags []string) Image {
	return Image{
		Repo: ref, Digest: m.Digest, MediaType: m.MediaType, ArtifactType: m.ArtifactType, Subject: m.Subject,
		Annotations: m.Annotations, Size: m.Size, ManifestSize: m.BodySize, Tags: tags,
		PushedAt: m.PushedAt, LastPulledAt: m.LastPulledAt,
	}
}

// PutManifest stores a manifest under a tag or a digest reference. See
// PutManifestTags.
func (r *Registry) PutManifest(ctx context.Context, ref Repo, reference, mediaType string, body []byte) (Image, PutResult, error) {
	if isDigestReference(reference) {
		return r.PutManifestTags(ctx, ref, reference, nil, mediaType, body)
	}
	return r.PutManifestTags(ctx, ref, "", []string{reference}, mediaType, body)
}

// PutManifestTags stores a manifest and points tags at it. dgst, when not
// empty, is the digest the client says the manifest has (its algorithm is
// the one used); otherwise the digest is the manifest's sha256.
//
// The manifest is validated (JSON, media type, descriptors), every blob it
// uses must be linked to the repository and every child of an index must be
// in it; all of this is checked in the transaction that commits it. Moving
// a tag that points at another manifest fails with ErrTagImmutable when the
// repository's settings make the tag immutable.
func (r *Registry) PutManifestTags(ctx context.Context, ref Repo, dgst string, tags []string, mediaType string, body []byte) (Image, PutResult, error) {
	// An unknown repository is the first thing to report, whatever the body.
	if _, err := r.GetRepository(ctx, ref); err != nil {
		return Image{}, PutResult{}, err
	}
	if len(body) > MaxManifestSize {
		return Image{}, PutResult{}, fmt.Errorf("%w: the manifest is %d bytes, the limit is %d (4 MiB)", ErrSizeInvalid, len(body), MaxManifestSize)
	}
	for _, t := range tags {
		if err := ValidateTag(t); err != nil {
			return Image{}, PutResult{}, err
		}
	}
	var want digest.Digest
	alg := digest.Canonical
	if dgst != "" {
		d, err := parseDigest(dgst)
		if err != nil {
			return Image{}, PutResult{}, err
		}
		want, alg = d, d.Algorithm()
	}
	actual := alg.FromBytes(body)
	if want != "" && actual != want {
		return Image{}, PutResult{}, fmt.Errorf("%w: the manifest's digest is %s, not %s", ErrDigestInvalid, actual, want)
	}
	p, err := parseManifest(mediaType, body)
	if err != nil {
		return Image{}, PutResult{}, err
	}

	var (
		img Image
		res PutResult
	)
	now := r.now().UTC()
	err = r.st.Update(ctx, func(tx store.Tx) error {
		res = PutResult{}
		row, err := r.repo(tx, ref)
		if err != nil {
			return err
		}
		m, err := tx.GetManifest(row.ID, actual)
		switch {
		case errors.Is(err, store.ErrNotFound):
			m, err = r.insertManifest(tx, row.ID, actual, p, body, now)
			if err != nil {
				return err
			}
			res.Created = true
		case err != nil:
			return err
		}
		rep := fromRow(row)
		for _, tag := range tags {
			cur, err := tx.GetTag(row.ID, tag)
			switch {
			case err == nil && cur.Digest == actual:
				continue
			case err == nil && rep.TagImmutable(tag):
				return &TagImmutableError{Repository: ref.Name, Tag: tag, Current: cur.Digest}
			case err != nil && !errors.Is(err, store.ErrNotFound):
				return err
			}
			if err := tx.PutTag(row.ID, store.Tag{Name: tag, Digest: actual, UpdatedAt: now}); err != nil {
				return err
			}
			res.TagsMoved = append(res.TagsMoved, tag)
		}
		allTags, err := tx.TagsOf(row.ID, actual)
		if err != nil {
			return err
		}
		img = imageFrom(ref, m, allTags)
		return nil
	})
	if err != nil {
		return Image{}, PutResult{}, err
	}
	if res.Changed() && r.opts.OnPush != nil {
		r.opts.OnPush(img)
	}
	return img, res, nil
}

// insertManifest checks a new manifest's references inside the transaction
// and stores it.
func (r *Registry) insertManifest(tx store.Tx, repoID int64, dgst digest.Digest, p parsedManifest, body []byte, now time.Time) (store.Manifest, error) {
	refs := store.ManifestRefs{}
	for _, b := range p.blobs {
		if _, err := tx.LinkedBlob(repoID, b); errors.Is(err, store.ErrNotFound) {
			return store.Manifest{}, &ManifestBlobUnknownError{Digest: b}
		} else if err != nil {
			return store.Manifest{}, err
		}
		if !slices.Contains(refs.Blobs, b) {
			refs.Blobs = append(refs.Blobs, b)
		}
	}
	size := p.size
	for _, c := range p.children {
		child, err := tx.GetManifest(repoID, c)
		if errors.Is(err, store.ErrNotFound) {
			return store.Manifest{}, &ManifestBlobUnknownError{Digest: c, Manifest: true}
		} else if err != nil {
			return store.Manifest{}, err
		}
		if !slices.Contains(refs.Manifests, c) {
			refs.Manifests = append(refs.Manifests, c)
		}
		size = max(size, child.Size)
	}
	m := store.Manifest{
		RepoID: repoID, Digest: dgst, MediaType: p.mediaType, ArtifactType: p.artifactType,
		Annotations: p.annotations, Size: size, Body: body, BodySize: int64(len(body)), PushedAt: now,
	}
	if p.subject != nil {
		m.Subject = p.subject.Digest
	}
	if err := tx.PutManifest(m, refs); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			// Checked above; the store's own constraint caught a race.
			return store.Manifest{}, fmt.Errorf("%w: %v", ErrManifestBlobUnknown, err)
		}
		return store.Manifest{}, err
	}
	return m, nil
}

// resolve turns a tag or digest reference into a manifest row.
func (r *Registry) resolve(tx store.Tx, repoID int64, ref Repo, reference string) (store.Manifest, error) {
	var dgst digest.Digest
	if isDigestReference(reference) {
		d, err := parseDigest(reference)
		if err != nil {
			return store.Manifest{}, err
		}
		dgst = d
	} else {
		if err := ValidateTag(reference); err != nil {
			return store.Manifest{}, err
		}
		tag, err := tx.GetTag(repoID, reference)
		if errors.Is(err, store.ErrNotFound) {
			return store.Manifest{}, fmt.Errorf("%w: tag %q not found in %s", ErrManifestUnknown, reference, ref.Name)
		} else if err != nil {
			return store.Manifest{}, err
		}
		dgst = tag.Digest
	}
	m, err := tx.GetManifest(repoID, dgst)
	if errors.Is(err, store.ErrNotFound) {
		return store.Manifest{}, fmt.Errorf("%w: %s not found in %s", ErrManifestUnknown, dgst, ref.Name)
	}
	return m, err
}

// GetManifest returns a manifest by tag or digest, with its body.
func (r *Registry) GetManifest(ctx context.Context, ref Repo, reference string) (Image, []byte, error) {
	var (
		img  Image
		body []byte
	)
	err := r.st.View(ctx, func(tx store.Tx) error {
		row, err := r.repo(tx, ref)
		if err != nil {
			return err
		}
		m, err := r.resolve(tx, row.ID, ref, reference)
		if err != nil {
			return err
		}
		tags, err := tx.TagsOf(row.ID, m.Digest)
		if err != nil {
			return err
		}
		img, body = imageFrom(ref, m, tags), m.Body
		return nil
	})
	return img, body, err
}

// RecordPull records that an image was pulled (ECR's
// lastRecordedPullTime). It writes at most once a minute per image, so it
// is cheap to call on every pull; failures are logged, not returned.
func (r *Registry) RecordPull(ctx context.Context, ref Repo, dgst digest.Digest) {
	if now, ok := r.pullDue(ref, dgst); ok {
		r.writePull(ctx, ref, dgst, now)
	}
}

// RecordPullLater is RecordPull with the write (a committed, fsynced
// transaction) done after it returns, for the registry's manifest GET:
// the response, and the keep-alive connection the client fetches the
// layers on, would otherwise wait for an fsync. AWS itself records pull
// times lazily. Close waits for pending writes.
func (r *Registry) RecordPullLater(ref Repo, dgst digest.Digest) {
	now, ok := r.pullDue(ref, dgst)
	if !ok {
		return
	}
	r.pullWrites.Add(1)
	go func() {
		defer r.pullWrites.Done()
		r.writePull(context.Background(), ref, dgst, now)
	}()
}

// pullDue reports whether a pull of the image should be written now: no
// write for it in the last pullRecordInterval.
func (r *Registry) pullDue(ref Repo, dgst digest.Digest) (time.Time, bool) {
	now := r.now()
	key := pullKey{ref, dgst}
	r.pullsMu.Lock()
	defer r.pullsMu.Unlock()
	if last, ok := r.pulls[key]; ok && now.Sub(last) < pullRecordInterval {
		return now, false
	}
	r.pulls[key] = now
	if len(r.pulls) > 10000 {
		for k, t := range r.pulls {
			if now.Sub(t) >= pullRecordInterval {
				delete(r.pulls, k)
			}
		}
	}
	return now, true
}

func (r *Registry) writePull(ctx context.Context, ref Repo, dgst digest.Digest, now time.Time) {
	err := r.st.Update(ctx, func(tx store.Tx) error {
		row, err := r.repo(tx, ref)
		if err != nil {
			return err
		}
		return tx.SetLastPulled(row.ID, dgst, now.UTC())
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, ErrRepositoryNotFound) {
		r.log.Warn("recording a pull", "repository", ref.Name, "digest", dgst, "error", err)
	}
}

// ListImages returns every image of a repository in push order.
func (r *Registry) ListImages(ctx context.Context, ref Repo) ([]Image, error) {
	var out []Image
	err := r.st.View(ctx, func(tx store.Tx) error {
		row, err := r.repo(tx, ref)
		if err != nil {
			return err
		}
		ms, err := tx.ListManifests(row.ID)
		if err != nil {
			return err
		}
		tags, err := tx.ListTags(row.ID, "", -1)
		if err != nil {
			return err
		}
		byDigest := map[digest.Digest][]string{}
		for _, t := range tags {
			byDigest[t.Digest] = append(byDigest[t.Digest], t.Name)
		}
		for _, m := range ms {
			out = append(out, imageFrom(ref, m, byDigest[m.Digest]))
		}
		return nil
	})
	return out, err
}

// ListTags returns up to n tags sorted by name, after `last`; n <= 0 means
// all.
func (r *Registry) ListTags(ctx context.Context, ref Repo, last string, n int) ([]string, error) {
	var out []string
	err := r.st.View(ctx, func(tx store.Tx) error {
		row, err := r.repo(tx, ref)
		if err != nil {
			return err
		}
		tags, err := tx.ListTags(row.ID, last, n)
		for _, t := range tags {
			out = append(out, t.Name)
		}
		return err
	})
	return out, err
}

// DeleteManifest removes an image and all its tags. A manifest listed by an
// index of the repository is refused with ErrManifestReferenced.
func (r *Registry) DeleteManifest(ctx context.Context, ref Repo, dgst digest.Digest) (Image, error) {
	if _, err := parseDigest(dgst.String()); err != nil {
		return Image{}, err
	}
	var img Image
	err := r.st.Update(ctx, func(tx store.Tx) error {
		row, err := r.repo(tx, ref)
		if err != nil {
			return err
		}
		m, err := r.resolve(tx, row.ID, ref, dgst.String())
		if err != nil {
			return err
		}
		parents, err := tx.ManifestParents(row.ID, dgst)
		if err != nil {
			return err
		}
		if len(parents) > 0 {
			return &ManifestReferencedError{Digest: dgst, Parents: parents}
		}
		tags, err := tx.TagsOf(row.ID, dgst)
		if err != nil {
			return err
		}
		img = imageFrom(ref, m, tags)
		return tx.DeleteManifest(row.ID, dgst)
	})
	return img, err
}

// DeleteTag removes a tag; the image stays.
func (r *Registry) DeleteTag(ctx context.Context, ref Repo, tag string) error {
	if err := ValidateTag(tag); err != nil {
		return err
	}
	return r.st.Update(ctx, func(tx store.Tx) error {
		row, err := r.repo(tx, ref)
		if err != nil {
			return err
		}
		err = tx.DeleteTag(row.ID, tag)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: tag %q not found in %s", ErrManifestUnknown, tag, ref.Name)
		}
		return err
	})
}

// Referrers returns descriptors of the manifests of the repository whose
// subject is `subject`, optionally only those of one artifact type. The
// subject itself need not exist.
func (r *Registry) Referrers(ctx context.Context, ref Repo, subject digest.Digest, artifactType string) ([]ocispec.Descriptor, error) {
	if _, err := parseDigest(subject.String()); err != nil {
		return nil, err
	}
	out := []ocispec.Descriptor{}
	err := r.st.View(ctx, func(tx store.Tx) error {
		row, err := r.repo(tx, ref)
		if err != nil {
			return err
		}
		ms, err := tx.Referrers(row.ID, subject)
		for _, m := range ms {
			if artifactType != "" && m.ArtifactType != artifactType {
				continue
			}
			out = append(out, ocispec.Descriptor{
				MediaType: m.MediaType, ArtifactType: m.ArtifactType, Digest: m.Digest,
				Size: m.BodySize, Annotations: m.Annotations,
			})
		}
		return err
	})
	return out, err
}
