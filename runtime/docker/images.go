package docker

import (
	"context"
	"errors"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"

	"github.com/berth-dev/berth/runtime"
)

// PullImage pulls ref through the engine. auth travels as the
// X-Registry-Auth header; the engine treats loopback registries
// (localhost:<port>, 127.0.0.1:<port>, so Berth's ECR) as plain HTTP.
func (r *Runtime) PullImage(ctx context.Context, ref string, auth *runtime.RegistryAuth) (runtime.ImageInfo, error) {
	if _, err := reference.ParseNormalizedNamed(ref); err != nil {
		return runtime.ImageInfo{}, &runtime.PullError{Ref: ref, Reason: runtime.PullFailed,
			Err: invalid("invalid reference format %q: %v", ref, err)}
	}
	var opts client.ImagePullOptions
	if auth != nil {
		enc, err := authconfig.Encode(registry.AuthConfig{
			Username:      auth.Username,
			Password:      auth.Password,
			ServerAddress: auth.ServerAddress,
			IdentityToken: auth.IdentityToken,
		})
		if err != nil {
			return runtime.ImageInfo{}, invalid("registry credentials: %v", err)
		}
		opts.RegistryAuth = enc
	}
	resp, err := r.cli.ImagePull(ctx, ref, opts)
	if err == nil {
		// The engine answers 200 at once and reports a failure as the last
		// message of the progress stream, so the stream must be read to the
		// end to know.
		err = resp.Wait(ctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			return runtime.ImageInfo{}, wrap(err, "pull "+ref)
		}
		if client.IsErrConnectionFailed(err) {
			return runtime.ImageInfo{}, wrap(err, "pull "+ref)
		}
		return runtime.ImageInfo{}, &runtime.PullError{Ref: ref, Reason: pullReason(err), Err: err}
	}
	return r.InspectImage(ctx, ref)
}

// pullReason sorts a pull failure into ECS's reasons. The engine flattens a
// registry's answer into a message (often with status 500), so after the
// status classes the words have to do: the phrases below are the ones
// dockerd and the distribution client write.
func pullReason(err error) runtime.PullReason {
	msg := strings.ToLower(err.Error())
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(msg, w) {
				return true
			}
		}
		return false
	}
	switch {
	case cerrdefs.IsUnauthorized(err), cerrdefs.IsPermissionDenied(err),
		has("unauthorized", "authentication required", "no basic auth credentials",
			"access denied", "denied:", "forbidden", "incorrect username or password"):
		return runtime.PullUnauthorized
	case cerrdefs.IsNotFound(err),
		has("not found", "manifest unknown", "name unknown", "repository does not exist",
			"no such image", "does not exist"):
		return runtime.PullNotFound
	case has("connection refused", "no such host", "i/o timeout", "dial tcp", "network is unreachable",
		"tls handshake timeout", "connection reset", "server misbehaving", "timeout exceeded",
		"no route to host", "http response to https client", "eof"):
		return runtime.PullNetwork
	}
	return runtime.PullFailed
}

// InspectImage describes an image the engine has.
func (r *Runtime) InspectImage(ctx context.Context, ref string) (runtime.ImageInfo, error) {
	res, err := r.cli.ImageInspect(ctx, ref)
	if err != nil {
		return runtime.ImageInfo{}, wrap(err, "inspect image "+ref)
	}
	info := runtime.ImageInfo{
		Ref:         ref,
		ID:          res.ID,
		RepoDigests: res.RepoDigests,
		OS:          res.Os,
		Arch:        res.Architecture,
		Size:        res.Size,
		Digest:      repoDigest(ref, res.RepoDigests),
	}
	if t, err := time.Parse(time.RFC3339Nano, res.Created); err == nil {
		info.Created = t
	}
	return info, nil
}

// repoDigest finds the manifest digest ref was pulled at: the ref's own
// digest if it has one, else the repo digest of the ref's repository (an
// image pulled from several repositories has one per repository).
func repoDigest(ref string, repoDigests []string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ""
	}
	if d, ok := named.(reference.Digested); ok {
		return d.Digest().String()
	}
	for _, rd := range repoDigests {
		rn, err := reference.ParseNormalizedNamed(rd)
		if err != nil {
			continue
		}
		if d, ok := rn.(reference.Digested); ok && rn.Name() == named.Name() {
			return d.Digest().String()
		}
	}
	return ""
}

// errImageMissing is what CreateContainer says when the image is not in the
// engine: the caller pulls first (the engine's create never pulls).
var errImageMissing = errors.New("image is not present; pull it first")

// RemoveImage removes an image reference (a tag, or the image when it was
// the last); a missing one is not an error, one in use is ErrConflict.
func (r *Runtime) RemoveImage(ctx context.Context, ref string) error {
	_, err := r.cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{PruneChildren: true})
	if err = wrap(err, "remove image "+ref); runtime.IsNotFound(err) {
		return nil
	}
	return err
}
