package ecr

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	ecrapi "github.com/berth-dev/berth/api/ecr"
	"github.com/berth-dev/berth/registry"
)

// Layer upload limits. AWS asks for parts of partSize bytes; every part
// but the last must be at least minPartSize (LayerPartTooSmallException at
// CompleteLayerUpload), and the model caps one part at 20 MiB.
const (
	partSize    = 10 << 20
	minPartSize = 5 << 20
)

// DownloadURLTTL is how long a GetDownloadUrlForLayer URL works.
const DownloadURLTTL = time.Hour

// LayerPath is the path prefix of layer download URLs.
const LayerPath = "/_berth/ecr/layers/"

// partTracker remembers, per upload, whether a part smaller than
// minPartSize was followed by another part. It is memory only: after a
// restart an upload resumes without the check (the data is still verified
// by digest), which errs on the side of accepting a valid layer.
type partTracker struct {
	mu      sync.Mutex
	uploads map[string]*partState
}

type partState struct {
	lastPart int64
	tooSmall bool
	touched  time.Time
}

// note records a part of n bytes; it prunes sessions idle for a day
// (the registry expires them by then).
func (p *partTracker) note(id string, n int64, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.uploads == nil {
		p.uploads = map[string]*partState{}
	}
	st := p.uploads[id]
	if st == nil {
		st = &partState{touched: now}
		p.uploads[id] = st
		for k, v := range p.uploads {
			if now.Sub(v.touched) > 24*time.Hour {
				delete(p.uploads, k)
			}
		}
	} else if st.lastPart < minPartSize {
		st.tooSmall = true
	}
	st.lastPart, st.touched = n, now
}

func (p *partTracker) tooSmall(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.uploads[id]
	return st != nil && st.tooSmall
}

func (p *partTracker) forget(id string) {
	p.mu.Lock()
	delete(p.uploads, id)
	p.mu.Unlock()
}

// ECR upload ids are UUIDs; the registry's are 32 hex digits. The two are
// the same 128 bits, written differently.
func toUploadID(registryID string) string {
	if len(registryID) != 32 {
		return registryID
	}
	r := registryID
	return r[:8] + "-" + r[8:12] + "-" + r[12:16] + "-" + r[16:20] + "-" + r[20:]
}

func fromUploadID(ecrID string) string { return strings.ToLower(strings.ReplaceAll(ecrID, "-", "")) }

func uploadNotFound(c caller, name, id string) error {
	return ecrapi.NewUploadNotFoundException("The upload with id '%s' does not exist in the repository with name '%s' in the registry with id '%s'", id, name, c.Account)
}

// BatchCheckLayerAvailability reports which layers the repository has.
func (s *Service) BatchCheckLayerAvailability(ctx context.Context, in *ecrapi.BatchCheckLayerAvailabilityInput) (*ecrapi.BatchCheckLayerAvailabilityOutput, error) {
	c, err := s.callerOf(ctx, "BatchCheckLayerAvailability", in.RegistryId)
	if err != nil {
		return nil, err
	}
	name := *in.RepositoryName
	if _, err := s.reg.GetRepository(ctx, c.repo(name)); err != nil {
		return nil, s.repoErr("BatchCheckLayerAvailability", c, name, err)
	}
	out := &ecrapi.BatchCheckLayerAvailabilityOutput{Layers: []ecrapi.Layer{}, Failures: []ecrapi.LayerFailure{}}
	for _, l := range in.LayerDigests {
		d, err := digest.Parse(l)
		if err != nil {
			out.Failures = append(out.Failures, ecrapi.LayerFailure{LayerDigest: ptr(l),
				FailureCode: ptr(ecrapi.LayerFailureCodeInvalidLayerDigest), FailureReason: ptr("Invalid layer digest")})
			continue
		}
		desc, err := s.reg.StatBlob(ctx, c.repo(name), d)
		switch {
		case errors.Is(err, registry.ErrBlobUnknown), errors.Is(err, registry.ErrDigestInvalid):
			out.Failures = append(out.Failures, ecrapi.LayerFailure{LayerDigest: ptr(l),
				FailureCode: ptr(ecrapi.LayerFailureCodeMissingLayerDigest), FailureReason: ptr("Could not find layer")})
		case err != nil:
			return nil, s.repoErr("BatchCheckLayerAvailability", c, name, err)
		default:
			out.Layers = append(out.Layers, ecrapi.Layer{LayerDigest: ptr(l), LayerAvailability: ptr(ecrapi.LayerAvailabilityAvailable),
				LayerSize: ptr(desc.Size), MediaType: ptr("application/vnd.docker.image.rootfs.diff.tar.gzip")})
		}
	}
	return out, nil
}

// InitiateLayerUpload opens an upload session in the registry.
func (s *Service) InitiateLayerUpload(ctx context.Context, in *ecrapi.InitiateLayerUploadInput) (*ecrapi.InitiateLayerUploadOutput, error) {
	c, err := s.callerOf(ctx, "InitiateLayerUpload", in.RegistryId)
	if err != nil {
		return nil, err
	}
	up, err := s.reg.StartUpload(ctx, c.repo(*in.RepositoryName))
	if err != nil {
		return nil, s.repoErr("InitiateLayerUpload", c, *in.RepositoryName, err)
	}
	return &ecrapi.InitiateLayerUploadOutput{UploadId: ptr(toUploadID(up.ID)), PartSize: ptr(int64(partSize))}, nil
}

// UploadLayerPart appends a part; it must start where the upload ends.
func (s *Service) UploadLayerPart(ctx context.Context, in *ecrapi.UploadLayerPartInput) (*ecrapi.UploadLayerPartOutput, error) {
	c, err := s.callerOf(ctx, "UploadLayerPart", in.RegistryId)
	if err != nil {
		return nil, err
	}
	name, id := *in.RepositoryName, fromUploadID(*in.UploadId)
	ref := c.repo(name)
	up, err := s.reg.UploadStatus(ctx, ref, id)
	if errors.Is(err, registry.ErrUploadUnknown) {
		return nil, uploadNotFound(c, name, *in.UploadId)
	}
	if err != nil {
		return nil, s.repoErr("UploadLayerPart", c, name, err)
	}
	first, last := *in.PartFirstByte, *in.PartLastByte
	n := int64(len(in.LayerPartBlob))
	if first != up.Offset || last < first || last-first+1 != n {
		return nil, invalidLayerPart(c, name, *in.UploadId, up.Offset-1, "The layer part from byte %d to %d (%d bytes given) does not continue the upload %s, which has received %d bytes (last valid byte %d)",
			first, last, n, *in.UploadId, up.Offset, up.Offset-1)
	}
	received := up.Offset
	up, err = s.reg.AppendUpload(ctx, ref, id, first, bytes.NewReader(in.LayerPartBlob))
	switch {
	case errors.Is(err, registry.ErrUploadUnknown):
		return nil, uploadNotFound(c, name, *in.UploadId)
	case errors.Is(err, registry.ErrRangeInvalid):
		return nil, invalidLayerPart(c, name, *in.UploadId, received-1, "The layer part does not continue the upload %s; last valid byte %d", *in.UploadId, received-1)
	case err != nil:
		return nil, s.repoErr("UploadLayerPart", c, name, err)
	}
	s.parts.note(id, n, s.now())
	return &ecrapi.UploadLayerPartOutput{
		RegistryId: ptr(c.Account), RepositoryName: ptr(name), UploadId: in.UploadId, LastByteReceived: ptr(up.Offset - 1),
	}, nil
}

// CompleteLayerUpload verifies the upload against its digest and makes it
// a layer of the repository.
func (s *Service) CompleteLayerUpload(ctx context.Context, in *ecrapi.CompleteLayerUploadInput) (*ecrapi.CompleteLayerUploadOutput, error) {
	c, err := s.callerOf(ctx, "CompleteLayerUpload", in.RegistryId)
	if err != nil {
		return nil, err
	}
	name, id := *in.RepositoryName, fromUploadID(*in.UploadId)
	ref := c.repo(name)
	d, err := digest.Parse(in.LayerDigests[0])
	if err != nil || !d.Algorithm().Available() {
		return nil, ecrapi.NewInvalidLayerException("The layer digest '%s' is not a valid digest", in.LayerDigests[0])
	}
	up, err := s.reg.UploadStatus(ctx, ref, id)
	if errors.Is(err, registry.ErrUploadUnknown) {
		return nil, uploadNotFound(c, name, *in.UploadId)
	}
	if err != nil {
		return nil, s.repoErr("CompleteLayerUpload", c, name, err)
	}
	if up.Offset == 0 {
		return nil, ecrapi.NewEmptyUploadException("The upload %s does not contain any layer parts", *in.UploadId)
	}
	if s.parts.tooSmall(id) {
		return nil, ecrapi.NewLayerPartTooSmallException("Layer parts must be at least 5 MiB in size, except the last one")
	}
	if _, err := s.reg.StatBlob(ctx, ref, d); err == nil {
		_ = s.reg.CancelUpload(ctx, ref, id)
		s.parts.forget(id)
		return nil, ecrapi.NewLayerAlreadyExistsException("The layer %s already exists in the repository with name '%s' in the registry with id '%s'", d, name, c.Account)
	}
	_, err = s.reg.CompleteUpload(ctx, ref, id, d, nil)
	switch {
	case errors.Is(err, registry.ErrDigestInvalid):
		return nil, ecrapi.NewInvalidLayerException("The layer digest calculated for the uploaded layer does not match the digest provided, %s", d)
	case errors.Is(err, registry.ErrUploadUnknown):
		return nil, uploadNotFound(c, name, *in.UploadId)
	case err != nil:
		return nil, s.repoErr("CompleteLayerUpload", c, name, err)
	}
	s.parts.forget(id)
	return &ecrapi.CompleteLayerUploadOutput{
		RegistryId: ptr(c.Account), RepositoryName: ptr(name), UploadId: in.UploadId, LayerDigest: ptr(d.String()),
	}, nil
}

// GetDownloadUrlForLayer returns a signed URL on Berth's own port that
// serves the layer for DownloadURLTTL, as ECR returns a presigned S3 URL.
func (s *Service) GetDownloadUrlForLayer(ctx context.Context, in *ecrapi.GetDownloadUrlForLayerInput) (*ecrapi.GetDownloadUrlForLayerOutput, error) {
	c, err := s.callerOf(ctx, "GetDownloadUrlForLayer", in.RegistryId)
	if err != nil {
		return nil, err
	}
	name := *in.RepositoryName
	d, err := digest.Parse(*in.LayerDigest)
	if err != nil {
		return nil, invalidParam("Invalid parameter at 'layerDigest' failed to satisfy constraint: 'The layer digest is not a valid digest'")
	}
	_, err = s.reg.StatBlob(ctx, c.repo(name), d)
	if errors.Is(err, registry.ErrBlobUnknown) || errors.Is(err, registry.ErrDigestInvalid) {
		return nil, ecrapi.NewLayersNotFoundException("The image layer '%s' does not exist in the repository with name '%s' in the registry with id '%s'", d, name, c.Account)
	}
	if err != nil {
		return nil, s.repoErr("GetDownloadUrlForLayer", c, name, err)
	}
	return &ecrapi.GetDownloadUrlForLayerOutput{
		DownloadUrl: ptr(s.downloadURL(c, name, d, s.now().Add(DownloadURLTTL))),
		LayerDigest: ptr(d.String()),
	}, nil
}

func (s *Service) downloadURL(c caller, name string, d digest.Digest, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	q := url.Values{}
	q.Set("repository", name)
	q.Set("expires", exp)
	q.Set("signature", s.sign(c.Account, c.Region, name, d.String(), exp))
	return "http://" + s.host + LayerPath + c.Account + "/" + c.Region + "/" + d.String() + "?" + q.Encode()
}

func (s *Service) sign(parts ...string) string {
	h := hmac.New(sha256.New, s.urlKey)
	h.Write([]byte("berth-ecr-layer-url"))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// LayerHandler serves the URLs GetDownloadUrlForLayer hands out, mounted at
// LayerPath. The signature stands for the caller's credentials, as an S3
// presigned URL does, so the request carries none.
func (s *Service) LayerHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, LayerPath), "/")
		q := r.URL.Query()
		name, exp, sig := q.Get("repository"), q.Get("expires"), q.Get("signature")
		if len(parts) != 3 || name == "" || exp == "" || sig == "" {
			http.Error(w, "not a layer download URL", http.StatusNotFound)
			return
		}
		account, region, dgst := parts[0], parts[1], parts[2]
		want := s.sign(account, region, name, dgst, exp)
		if !hmac.Equal([]byte(sig), []byte(want)) {
			http.Error(w, "the URL's signature does not match", http.StatusForbidden)
			return
		}
		unix, err := strconv.ParseInt(exp, 10, 64)
		if err != nil || !s.now().Before(time.Unix(unix, 0)) {
			http.Error(w, "the URL has expired", http.StatusForbidden)
			return
		}
		d, err := digest.Parse(dgst)
		if err != nil {
			http.Error(w, "invalid digest", http.StatusNotFound)
			return
		}
		rc, desc, err := s.reg.OpenBlob(r.Context(), registry.Repo{Account: account, Region: region, Name: name}, d)
		if errors.Is(err, registry.ErrBlobUnknown) || errors.Is(err, registry.ErrRepositoryNotFound) {
			http.Error(w, "the layer does not exist", http.StatusNotFound)
			return
		}
		if err != nil {
			s.log.Error("serving a layer download", "repository", name, "digest", d, "error", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		defer rc.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Docker-Content-Digest", desc.Digest.String())
		w.Header().Set("ETag", `"`+desc.Digest.String()+`"`)
		http.ServeContent(w, r, "", time.Time{}, rc)
	})
}
