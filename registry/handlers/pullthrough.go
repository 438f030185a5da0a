package handlers

import (
	"context"
	"errors"
	"io"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/registry"
)

// PullThrough fills repositories from another registry (ECR's pull-through
// cache). The handler consults it on the pull paths only; without one (the
// default) nothing changes.
type PullThrough interface {
	// Manifest is called after the local lookup of a manifest for GET and
	// HEAD: img and body are what the registry found, localErr its error.
	// It returns what to serve: the local answer unchanged when repo is
	// not one it fills or the local copy is fresh, else the manifest it
	// fetched (and cached).
	Manifest(ctx context.Context, repo registry.Repo, reference string, img registry.Image, body []byte, localErr error) (registry.Image, []byte, error)
	// Blob is called when a blob is missing locally (localErr is the
	// registry's ErrBlobUnknown or ErrRepositoryNotFound). It returns
	// localErr when repo is not one it fills. Otherwise rc streams the
	// blob's bytes (nil when head is set) and desc.Size is exact: rc
	// fails before its last byte when the content turns out not to match
	// the digest, so a client never receives a complete wrong blob.
	Blob(ctx context.Context, repo registry.Repo, dgst digest.Digest, head bool, localErr error) (rc io.ReadCloser, desc ocispec.Descriptor, err error)
}

// Option configures New.
type Option func(*handler)

// WithPullThrough makes the handler consult p where a manifest or blob is
// missing (and, for tags, where it may be stale).
func WithPullThrough(p PullThrough) Option {
	return func(h *handler) { h.pull = p }
}

// ErrUpstream is what a PullThrough returns, wrapped with a message, when
// the other registry failed or lied; the client gets 502 with the message.
var ErrUpstream = errors.New("upstream registry failed")

// missingBlob reports whether err is a blob missing locally, which a
// PullThrough may supply.
func missingBlob(err error) bool {
	return errors.Is(err, registry.ErrBlobUnknown) || errors.Is(err, registry.ErrRepositoryNotFound)
}
