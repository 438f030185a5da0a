package replication

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/store"
)

// copyLocal replicates an image to a registry of this server: the blobs
// are linked into the destination repository (the blob store holds one
// copy), then the manifests are committed, children before their index.
func (r *Replicator) copyLocal(ctx context.Context, dst Destination, src registry.Repo, img registry.Image, body []byte) error {
	to := registry.Repo{Account: dst.RegistryID, Region: dst.Region, Name: src.Name}
	_, err := r.reg.GetRepository(ctx, to)
	create := errors.Is(err, registry.ErrRepositoryNotFound)
	if err != nil && !create {
		return err
	}
	if to.Account != src.Account {
		ok, err := r.regs.ReplicationAllowed(ctx, src.Account, to, create)
		if err != nil {
			return err
		}
		if !ok {
			what := "ecr:ReplicateImage"
			if create {
				what = "ecr:CreateRepository and ecr:ReplicateImage"
			}
			return fail(FailureAccessDenied, false, "the registry policy of account %s in %s does not allow account %s %s", to.Account, to.Region, src.Account, what)
		}
	}
	if create {
		if err := r.regs.EnsureRepository(ctx, to, AppliedFor); err != nil {
			return err
		}
	}
	return r.copyManifest(ctx, src, to, img.Digest, img.MediaType, img.Tags, body, 0)
}

// maxDepth bounds index nesting.
const maxDepth = 4

func (r *Replicator) copyManifest(ctx context.Context, src, to registry.Repo, d digest.Digest, mediaType string, tags []string, body []byte, depth int) error {
	if depth > maxDepth {
		return fail(FailureRejected, false, "indexes nest deeper than %d levels", maxDepth)
	}
	blobs, children := registry.References(body)
	for _, c := range children {
		if _, _, err := r.reg.GetManifest(ctx, to, c.String()); err == nil {
			continue
		}
		cimg, cbody, err := r.reg.GetManifest(ctx, src, c.String())
		if err != nil {
			return err
		}
		if err := r.copyManifest(ctx, src, to, c, cimg.MediaType, nil, cbody, depth+1); err != nil {
			return err
		}
	}
	for _, b := range blobs {
		if _, err := r.reg.StatBlob(ctx, to, b); err == nil {
			continue
		}
		if _, err := r.reg.MountBlob(ctx, src, to, b); err != nil {
			return err
		}
	}
	if err := r.markReplica(ctx, to, d); err != nil {
		return err
	}
	it := item{to, d}
	r.mu.Lock()
	r.writing[it]++
	r.mu.Unlock()
	_, _, err := r.reg.PutManifestTags(ctx, to, d.String(), tags, mediaType, body)
	r.mu.Lock()
	if r.writing[it]--; r.writing[it] <= 0 {
		delete(r.writing, it)
	}
	r.mu.Unlock()
	var immutable *registry.TagImmutableError
	switch {
	case errors.As(err, &immutable):
		return fail(FailureTagImmutable, false, "%s", immutable.Error())
	case errors.Is(err, registry.ErrManifestInvalid), errors.Is(err, registry.ErrSizeInvalid):
		return fail(FailureRejected, false, "%v", err)
	}
	return err
}

// markReplica records that an image in a destination came from
// replication, before it is written.
func (r *Replicator) markReplica(ctx context.Context, to registry.Repo, d digest.Digest) error {
	now := r.now().UTC()
	return r.st.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.GetResource(kindReplica, to.Account, to.Region, statusID(to.Name, d)); err == nil {
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return tx.PutResource(store.Resource{Kind: kindReplica, Account: to.Account, Region: to.Region, ID: statusID(to.Name, d), Doc: json.RawMessage(`{}`), UpdatedAt: now})
	})
}
