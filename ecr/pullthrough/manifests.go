package pullthrough

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/store"
)

// tagRecord is when a cached tag was last found upstream, and at which
// manifest.
type tagRecord struct {
	Digest    digest.Digest `json:"digest"`
	CheckedAt time.Time     `json:"checkedAt"`
}

// pending is a manifest fetched upstream that the registry cannot commit
// yet: a blob (or, for an index, a child manifest) is missing. It is
// served from here meanwhile.
type pending struct {
	Account   string        `json:"account"`
	Region    string        `json:"region"`
	Repo      string        `json:"repository"`
	Digest    digest.Digest `json:"digest"`
	MediaType string        `json:"mediaType"`
	Body      []byte        `json:"body"`
	Tags      []string      `json:"tags,omitempty"`
	CreatedAt time.Time     `json:"createdAt"`
	// NextFill and Fails pace the filler.
	NextFill time.Time `json:"nextFill,omitzero"`
	Fails    int       `json:"fails,omitempty"`
}

func (p *pending) repo() registry.Repo {
	return registry.Repo{Account: p.Account, Region: p.Region, Name: p.Repo}
}

func (p *pending) image() registry.Image {
	return registry.Image{Repo: p.repo(), Digest: p.Digest, MediaType: p.MediaType, ManifestSize: int64(len(p.Body)), Tags: p.Tags}
}

func pendingPrefix(repo registry.Repo) string {
	return repo.Account + "/" + repo.Region + "/" + repo.Name + "@"
}

func pendingID(repo registry.Repo, d digest.Digest) string { return pendingPrefix(repo) + d.String() }

func tagID(repo, tag string) string { return repo + ":" + tag }

// Manifest implements handlers.PullThrough.
func (c *Cache) Manifest(ctx context.Context, repo registry.Repo, reference string, img registry.Image, body []byte, localErr error) (registry.Image, []byte, error) {
	rule, ok := c.RuleFor(ctx, repo)
	if !ok {
		return img, body, localErr
	}
	byDigest := strings.Contains(reference, ":")
	if localErr == nil {
		if byDigest {
			return img, body, nil // content addressed: never stale
		}
		rec, found := c.tag(ctx, repo, reference)
		if found && rec.Digest == img.Digest && c.now().Sub(rec.CheckedAt) < c.recheck {
			return img, body, nil
		}
		nimg, nbody, err := c.refresh(ctx, rule, repo, reference, img, body)
		if err != nil {
			// The upstream is down or refuses: the cached tag is served.
			c.log.Warn("pull-through cache: re-checking a tag upstream failed; serving the cached image",
				"repository", repo.Name, "tag", reference, "upstream", rule.UpstreamURL, "error", err)
			return img, body, nil
		}
		return nimg, nbody, nil
	}
	if !errors.Is(localErr, registry.ErrManifestUnknown) && !errors.Is(localErr, registry.ErrRepositoryNotFound) {
		return img, body, localErr
	}
	if registry.ValidateTag(reference) != nil && !byDigest {
		return img, body, localErr
	}
	p, fresh := c.pendingFor(ctx, repo, reference)
	if p != nil && (byDigest || fresh) {
		return p.image(), p.Body, nil
	}
	nimg, nbody, err := c.fetch(ctx, rule, repo, reference, "")
	switch {
	case err == nil:
		return nimg, nbody, nil
	case p != nil:
		c.log.Warn("pull-through cache: the upstream failed; serving the manifest fetched before",
			"repository", repo.Name, "reference", reference, "error", err)
		return p.image(), p.Body, nil
	case errors.Is(err, errNotFound):
		return img, body, fmt.Errorf("%w: %s is not in the cache and the upstream %s does not have it (%s)",
			registry.ErrManifestUnknown, reference, rule.UpstreamURL, rule.UpstreamName(repo.Name))
	case errors.Is(err, errLied), errors.Is(err, errDenied):
		return img, body, upstreamErr(rule, err)
	case ctx.Err() != nil:
		return img, body, ctx.Err()
	}
	var ue *upstreamError
	if errors.As(err, &ue) {
		return img, body, upstreamErr(rule, err)
	}
	return img, body, err
}

// upstreamError marks a failure to reach or use the upstream, as opposed
// to a failure of this server.
type upstreamError struct{ err error }

func (e *upstreamError) Error() string { return e.err.Error() }
func (e *upstreamError) Unwrap() error { return e.err }

// refresh re-checks a cached tag: a HEAD upstream tells whether it moved;
// when it did, the new manifest is fetched as on a first pull.
func (c *Cache) refresh(ctx context.Context, rule Rule, repo registry.Repo, tag string, img registry.Image, body []byte) (registry.Image, []byte, error) {
	cl, err := c.client(ctx, rule)
	if err != nil {
		return img, body, err
	}
	hctx, cancel := context.WithTimeout(ctx, upstreamTimeout)
	d, err := cl.manifestDigest(hctx, rule.UpstreamName(repo.Name), tag)
	cancel()
	if err != nil {
		return img, body, err
	}
	if d == img.Digest {
		c.putTag(ctx, repo, tag, d)
		return img, body, nil
	}
	return c.fetch(ctx, rule, repo, tag, img.Digest)
}

// fetch gets a manifest upstream, checks it, creates the repository and
// caches the manifest: committed when the repository has everything it
// uses, pending otherwise. have is the digest the tag points at locally,
// if any.
func (c *Cache) fetch(ctx context.Context, rule Rule, repo registry.Repo, reference string, have digest.Digest) (registry.Image, []byte, error) {
	// A client that fetches a manifest fetches its blobs next: the filler
	// leaves them to it for a while.
	c.touch(repo)
	cl, err := c.client(ctx, rule)
	if err != nil {
		return registry.Image{}, nil, &upstreamError{err}
	}
	fctx, cancel := context.WithTimeout(ctx, upstreamTimeout)
	m, err := cl.manifest(fctx, rule.UpstreamName(repo.Name), reference)
	cancel()
	if err != nil {
		return registry.Image{}, nil, &upstreamError{err}
	}
	dgst, err := verifyManifest(reference, m)
	if err != nil {
		c.log.Warn("pull-through cache: refused a manifest", "repository", repo.Name, "reference", reference, "upstream", rule.UpstreamURL, "error", err)
		return registry.Image{}, nil, err
	}
	mt := manifestMediaType(m.ContentType, m.Body)
	if !registry.IsManifestMediaType(mt) {
		return registry.Image{}, nil, &upstreamError{fmt.Errorf("the upstream manifest has media type %q, which the registry does not store", mt)}
	}
	// Only now, with the image known to exist upstream, is the repository
	// made: a typo does not leave repositories behind.
	if err := c.repos.EnsureRepository(ctx, repo, AppliedFor); err != nil {
		return registry.Image{}, nil, fmt.Errorf("creating the cache repository %s: %w", repo.Name, err)
	}
	var tags []string
	if !strings.Contains(reference, ":") {
		tags = []string{reference}
	}
	p := &pending{
		Account: repo.Account, Region: repo.Region, Repo: repo.Name, Digest: dgst, MediaType: mt,
		Body: m.Body, Tags: tags, CreatedAt: c.now().UTC(),
	}
	c.linkKnown(ctx, p)
	committed, err := c.commit(ctx, p)
	if err != nil {
		return registry.Image{}, nil, err
	}
	if !committed {
		if err := c.putPending(ctx, p); err != nil {
			return registry.Image{}, nil, err
		}
		c.kick()
	}
	for _, t := range tags {
		c.putTag(ctx, repo, t, dgst)
	}
	if have != "" && have != dgst {
		c.log.Info("pull-through cache: tag moved upstream", "repository", repo.Name, "tag", reference, "from", have, "to", dgst)
	}
	return p.image(), p.Body, nil
}

// verifyManifest checks a manifest against the digest asked for, or the
// one the upstream claims, and returns its digest.
func verifyManifest(reference string, m upstreamManifest) (digest.Digest, error) {
	alg := digest.Canonical
	var want digest.Digest
	if strings.Contains(reference, ":") {
		d, err := digest.Parse(reference)
		if err != nil {
			return "", fmt.Errorf("%w: %v", registry.ErrDigestInvalid, err)
		}
		want = d
	} else if m.Digest != "" {
		want = m.Digest
	}
	if want != "" {
		if !want.Algorithm().Available() {
			return "", &upstreamError{fmt.Errorf("digest algorithm %s is not supported", want.Algorithm())}
		}
		alg = want.Algorithm()
	}
	got := alg.FromBytes(m.Body)
	if want != "" && got != want {
		return "", fmt.Errorf("%w: the manifest for %s hashes to %s, not %s; nothing was cached", errLied, reference, got, want)
	}
	if m.Digest != "" && m.Digest.Algorithm() == alg && m.Digest != got {
		return "", fmt.Errorf("%w: the upstream says the manifest is %s, it hashes to %s; nothing was cached", errLied, m.Digest, got)
	}
	return got, nil
}

// manifestMediaType is the body's own mediaType, else the Content-Type,
// else what the body's shape says.
func manifestMediaType(contentType string, body []byte) string {
	var m struct {
		MediaType string          `json:"mediaType"`
		Manifests json.RawMessage `json:"manifests"`
	}
	_ = json.Unmarshal(body, &m)
	if m.MediaType != "" {
		return m.MediaType
	}
	ct, _, _ := strings.Cut(contentType, ";")
	ct = strings.ToLower(strings.TrimSpace(ct))
	if registry.IsManifestMediaType(ct) {
		return ct
	}
	if m.Manifests != nil {
		return registry.MediaTypeOCIIndex
	}
	return registry.MediaTypeOCIManifest
}

// linkKnown links into the repository the blobs of a manifest that are
// anywhere else in the registry (another cached image, a push): no byte
// needs to move for those.
func (c *Cache) linkKnown(ctx context.Context, p *pending) {
	repo := p.repo()
	blobs, _ := registry.References(p.Body)
	for _, b := range blobs {
		if _, err := c.reg.StatBlob(ctx, repo, b); err == nil {
			continue
		}
		_, _ = c.reg.MountBlob(ctx, registry.Repo{Account: repo.Account, Region: repo.Region}, repo, b)
	}
}

// commit stores a fetched manifest in the registry when the repository
// has what it uses; committed is false when something is still missing.
func (c *Cache) commit(ctx context.Context, p *pending) (committed bool, err error) {
	repo := p.repo()
	_, _, err = c.reg.PutManifestTags(ctx, repo, p.Digest.String(), p.Tags, p.MediaType, p.Body)
	if errors.Is(err, registry.ErrTagImmutable) {
		// The cached tag stays where it is (as on AWS, a cache repository
		// with immutable tags is not synchronised); the manifest is kept
		// by digest.
		c.log.Info("pull-through cache: tag is immutable; keeping the manifest by digest only", "repository", p.Repo, "tags", p.Tags, "digest", p.Digest)
		_, _, err = c.reg.PutManifestTags(ctx, repo, p.Digest.String(), nil, p.MediaType, p.Body)
	}
	switch {
	case err == nil:
		c.dropPending(ctx, repo, p.Digest)
		c.commitPending(ctx, repo, p.Digest) // an index waiting for this child
		return true, nil
	case errors.Is(err, registry.ErrManifestBlobUnknown):
		return false, nil
	case errors.Is(err, registry.ErrManifestInvalid), errors.Is(err, registry.ErrDigestInvalid), errors.Is(err, registry.ErrSizeInvalid):
		return false, &upstreamError{fmt.Errorf("the upstream manifest is not one the registry accepts: %w", err)}
	}
	return false, err
}

// complete reports whether the repository holds every blob and child a
// pending manifest uses (read-only checks, cheaper than a failed commit).
func (c *Cache) complete(ctx context.Context, p *pending) bool {
	repo := p.repo()
	blobs, children := registry.References(p.Body)
	for _, b := range blobs {
		if _, err := c.reg.StatBlob(ctx, repo, b); err != nil {
			return false
		}
	}
	for _, ch := range children {
		if _, _, err := c.reg.GetManifest(ctx, repo, ch.String()); err != nil {
			return false
		}
	}
	return true
}

// commitPending commits the pending manifests of a repository that just
// (a blob or child manifest now cached; empty: anything) completes.
func (c *Cache) commitPending(ctx context.Context, repo registry.Repo, just digest.Digest) {
	ps, err := c.listPending(ctx, pendingPrefix(repo))
	if err != nil {
		c.log.Warn("pull-through cache: listing pending manifests", "repository", repo.Name, "error", err)
		return
	}
	for _, p := range ps {
		blobs, children := registry.References(p.Body)
		if p.Digest == just || (just != "" && !slices.Contains(blobs, just) && !slices.Contains(children, just)) {
			continue
		}
		if !c.complete(ctx, p) {
			continue
		}
		if _, err := c.commit(ctx, p); err != nil {
			c.log.Warn("pull-through cache: committing a pending manifest", "repository", repo.Name, "digest", p.Digest, "error", err)
		}
	}
}

// tag reads a tag record.
func (c *Cache) tag(ctx context.Context, repo registry.Repo, tag string) (tagRecord, bool) {
	var rec tagRecord
	err := c.st.View(ctx, func(tx store.Tx) error {
		return store.ReadDoc(tx, kindTag, repo.Account, repo.Region, tagID(repo.Name, tag), &rec)
	})
	return rec, err == nil
}

func (c *Cache) putTag(ctx context.Context, repo registry.Repo, tag string, d digest.Digest) {
	now := c.now().UTC()
	err := c.st.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		return store.PutDoc(tx, kindTag, repo.Account, repo.Region, tagID(repo.Name, tag), tagRecord{Digest: d, CheckedAt: now}, now)
	})
	if err != nil {
		c.log.Warn("pull-through cache: recording a tag check", "repository", repo.Name, "tag", tag, "error", err)
	}
}

// pendingFor finds the pending manifest a reference names; fresh says
// whether a tag's record is within the re-check interval.
func (c *Cache) pendingFor(ctx context.Context, repo registry.Repo, reference string) (*pending, bool) {
	var d digest.Digest
	fresh := true
	if strings.Contains(reference, ":") {
		pd, err := digest.Parse(reference)
		if err != nil {
			return nil, false
		}
		d = pd
	} else {
		rec, ok := c.tag(ctx, repo, reference)
		if !ok {
			return nil, false
		}
		d, fresh = rec.Digest, c.now().Sub(rec.CheckedAt) < c.recheck
	}
	var p pending
	err := c.st.View(ctx, func(tx store.Tx) error {
		return store.ReadDoc(tx, kindPending, globalNS, globalNS, pendingID(repo, d), &p)
	})
	if err != nil {
		return nil, false
	}
	return &p, fresh
}

func (c *Cache) putPending(ctx context.Context, p *pending) error {
	now := c.now().UTC()
	return c.st.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		return store.PutDoc(tx, kindPending, globalNS, globalNS, pendingID(p.repo(), p.Digest), p, now)
	})
}

func (c *Cache) dropPending(ctx context.Context, repo registry.Repo, d digest.Digest) {
	err := c.st.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		return store.DeleteDoc(tx, kindPending, globalNS, globalNS, pendingID(repo, d))
	})
	if err != nil {
		c.log.Warn("pull-through cache: dropping a pending manifest", "repository", repo.Name, "digest", d, "error", err)
	}
}

func (c *Cache) listPending(ctx context.Context, prefix string) ([]*pending, error) {
	var out []*pending
	err := c.st.View(ctx, func(tx store.Tx) error {
		rs, err := tx.ListResources(kindPending, globalNS, globalNS, prefix, store.Page{})
		if err != nil {
			return err
		}
		for _, r := range rs {
			var p pending
			if err := json.Unmarshal(r.Doc, &p); err != nil {
				c.log.Warn("pull-through cache: unreadable pending record", "id", r.ID, "error", err)
				continue
			}
			out = append(out, &p)
		}
		return nil
	})
	return out, err
}
