package handlers

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/registry"
)

func blobURL(name string, d digest.Digest) string { return "/v2/" + name + "/blobs/" + d.String() }

func uploadURL(name, id string) string { return "/v2/" + name + "/blobs/uploads/" + id }

// getBlob serves GET (with Range support, via http.ServeContent) and HEAD.
func (h *handler) getBlob(w http.ResponseWriter, r *http.Request, repo registry.Repo, rt route) {
	dgst := digest.Digest(rt.ref)
	hdr := w.Header()
	if r.Method == http.MethodHead {
		desc, err := h.reg.StatBlob(r.Context(), repo, dgst)
		if err != nil && h.pull != nil && missingBlob(err) {
			_, desc, err = h.pull.Blob(r.Context(), repo, dgst, true, err)
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		hdr.Set("Content-Type", "application/octet-stream")
		hdr.Set("Content-Length", itoa(desc.Size))
		hdr.Set("Docker-Content-Digest", desc.Digest.String())
		hdr.Set("ETag", etag(desc.Digest))
		hdr.Set("Accept-Ranges", "bytes")
		w.WriteHeader(http.StatusOK)
		return
	}
	rc, desc, err := h.reg.OpenBlob(r.Context(), repo, dgst)
	if err != nil && h.pull != nil && missingBlob(err) {
		h.pullBlob(w, r, repo, dgst, err)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer rc.Close()
	hdr.Set("Content-Type", "application/octet-stream")
	hdr.Set("Docker-Content-Digest", desc.Digest.String())
	hdr.Set("ETag", etag(desc.Digest))
	// Content addressed: a blob never changes.
	hdr.Set("Cache-Control", "max-age=31536000")
	if r.Header.Get("Range") == "" && r.Header.Get("If-Match") == "" && r.Header.Get("If-None-Match") == "" {
		// A plain GET of the whole blob, what every pull sends: copy it
		// ourselves. http.ServeContent's copy goes through the connection's
		// ReadFrom, 32 KiB per read(2) and write(2); a larger buffer makes
		// a fraction of the syscalls for the same bytes
		// (docs/bench-registry.md). ServeContent without a modification
		// time answers exactly these headers for such a request.
		hdr.Set("Accept-Ranges", "bytes")
		hdr.Set("Content-Length", itoa(desc.Size))
		w.WriteHeader(http.StatusOK)
		bp := pullBufPool.Get().(*[]byte)
		defer pullBufPool.Put(bp)
		// Hiding both sides keeps io.CopyBuffer from handing the copy to
		// ReadFrom/WriteTo, which would ignore the buffer.
		if n, err := io.CopyBuffer(struct{ io.Writer }{w}, io.LimitReader(struct{ io.Reader }{rc}, desc.Size), *bp); err != nil && r.Context().Err() == nil {
			h.log.Warn("blob stream failed", "repository", repo.Name, "digest", dgst, "sent", n, "size", desc.Size, "error", err)
		}
		return
	}
	// Ranges and conditional requests. Hiding the *os.File keeps net/http
	// from using sendfile(2): over loopback, where the kernel copies anyway,
	// sendfile's large chunks made a single 1 GiB pull 25% slower than a
	// userspace copy, and the copy costs no wall time at 8 concurrent pulls
	// (docs/bench-registry.md).
	http.ServeContent(w, r, "", time.Time{}, struct{ io.ReadSeeker }{rc})
}

// pullBufferSize is the unit of a whole-blob GET: one read(2) from the
// file and one write(2) to the connection per buffer.
const pullBufferSize = 256 << 10

var pullBufPool = sync.Pool{New: func() any { b := make([]byte, pullBufferSize); return &b }}

func (h *handler) deleteBlob(w http.ResponseWriter, r *http.Request, repo registry.Repo, rt route) {
	if err := h.reg.DeleteBlob(r.Context(), repo, digest.Digest(rt.ref)); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}

func blobCreated(w http.ResponseWriter, name string, d digest.Digest) {
	w.Header().Set("Location", blobURL(name, d))
	w.Header().Set("Docker-Content-Digest", d.String())
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// uploadState writes the headers every upload response carries.
func uploadState(w http.ResponseWriter, up registry.Upload) {
	hdr := w.Header()
	hdr.Set("Location", uploadURL(up.Repo.Name, up.ID))
	// Inclusive end; an empty upload is "0-0", as CNCF distribution does.
	end := max(up.Offset-1, 0)
	hdr.Set("Range", "0-"+itoa(end))
	hdr.Set("Docker-Upload-UUID", up.ID)
	hdr.Set("Blob-Upload-Session-ID", up.ID)
	hdr.Set("Content-Length", "0")
}

// startUpload serves POST .../blobs/uploads/: a cross-repository mount
// (?mount=&from=), a monolithic upload (?digest=) or a new session.
func (h *handler) startUpload(w http.ResponseWriter, r *http.Request, repo registry.Repo, _ route) {
	q := r.URL.Query()
	if mount := q.Get("mount"); mount != "" {
		if d, ok := h.mount(r, repo, mount, q.Get("from")); ok {
			blobCreated(w, repo.Name, d)
			return
		}
		// As the spec asks, a failed mount falls back to an upload session.
	} else if dg := q.Get("digest"); dg != "" {
		desc, err := h.reg.PutBlob(r.Context(), repo, digest.Digest(dg), r.Body)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		blobCreated(w, repo.Name, desc.Digest)
		return
	}
	up, err := h.reg.StartUpload(r.Context(), repo)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	uploadState(w, up)
	w.WriteHeader(http.StatusAccepted)
}

// mount links a blob from another repository (or, without from, any
// repository of the account) when the caller may pull from there.
func (h *handler) mount(r *http.Request, repo registry.Repo, mount, from string) (digest.Digest, bool) {
	d := digest.Digest(mount)
	if d.Validate() != nil {
		return "", false
	}
	src := registry.Repo{Account: repo.Account, Region: repo.Region}
	if from != "" {
		if registry.ValidateName(from) != nil {
			return "", false
		}
		account, region, err := h.auth.Authorize(r, from, []string{ActionPull})
		if err != nil || account != repo.Account || region != repo.Region {
			return "", false
		}
		src.Name = from
	}
	desc, err := h.reg.MountBlob(r.Context(), src, repo, d)
	if err != nil {
		if !errors.Is(err, registry.ErrBlobUnknown) && !errors.Is(err, registry.ErrRepositoryNotFound) {
			h.log.Warn("blob mount failed", "repository", repo.Name, "from", from, "digest", d, "error", err)
		}
		return "", false
	}
	return desc.Digest, true
}

func (h *handler) uploadStatus(w http.ResponseWriter, r *http.Request, repo registry.Repo, rt route) {
	up, err := h.reg.UploadStatus(r.Context(), repo, rt.ref)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	uploadState(w, up)
	w.WriteHeader(http.StatusNoContent)
}

// chunk reads the Content-Range of a chunk: where it must start (-1 when
// absent) and the body limited to its length.
func chunk(r *http.Request) (offset int64, body io.Reader, err error) {
	cr := r.Header.Get("Content-Range")
	if cr == "" {
		return -1, r.Body, nil
	}
	// The spec's form is "<start>-<end>"; some clients send HTTP's
	// "bytes <start>-<end>/<size>".
	s := strings.TrimPrefix(strings.TrimPrefix(cr, "bytes="), "bytes ")
	s, _, _ = strings.Cut(s, "/")
	a, b, ok := strings.Cut(s, "-")
	start, err1 := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	end, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
	if !ok || err1 != nil || err2 != nil || start < 0 || end < start {
		return 0, nil, fmt.Errorf("%w: malformed Content-Range %q", registry.ErrRangeInvalid, cr)
	}
	n := end - start + 1
	if r.ContentLength >= 0 && r.ContentLength != n {
		return 0, nil, fmt.Errorf("%w: Content-Range %q covers %d bytes, Content-Length is %d", registry.ErrRangeInvalid, cr, n, r.ContentLength)
	}
	return start, io.LimitReader(r.Body, n), nil
}

// rangeFailed answers 416 with the upload's state, so the client can
// resume from the right offset.
func (h *handler) rangeFailed(w http.ResponseWriter, r *http.Request, repo registry.Repo, id string, err error) {
	if up, serr := h.reg.UploadStatus(r.Context(), repo, id); serr == nil {
		uploadState(w, up)
		w.Header().Del("Content-Length")
	}
	h.fail(w, r, err)
}

func (h *handler) patchUpload(w http.ResponseWriter, r *http.Request, repo registry.Repo, rt route) {
	offset, body, err := chunk(r)
	if err != nil {
		h.rangeFailed(w, r, repo, rt.ref, err)
		return
	}
	up, err := h.reg.AppendUpload(r.Context(), repo, rt.ref, offset, body)
	if errors.Is(err, registry.ErrRangeInvalid) {
		h.rangeFailed(w, r, repo, rt.ref, err)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	uploadState(w, up)
	w.WriteHeader(http.StatusAccepted)
}

func (h *handler) putUpload(w http.ResponseWriter, r *http.Request, repo registry.Repo, rt route) {
	dg := r.URL.Query().Get("digest")
	if dg == "" {
		writeError(w, http.StatusBadRequest, CodeDigestInvalid, "the digest parameter is required to complete an upload", nil)
		return
	}
	offset, body, err := chunk(r)
	if err != nil {
		h.rangeFailed(w, r, repo, rt.ref, err)
		return
	}
	if r.ContentLength == 0 {
		body = nil
	}
	desc, err := h.reg.CompleteUploadAt(r.Context(), repo, rt.ref, offset, digest.Digest(dg), body)
	if errors.Is(err, registry.ErrRangeInvalid) {
		h.rangeFailed(w, r, repo, rt.ref, err)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	blobCreated(w, repo.Name, desc.Digest)
}

func (h *handler) cancelUpload(w http.ResponseWriter, r *http.Request, repo registry.Repo, rt route) {
	if err := h.reg.CancelUpload(r.Context(), repo, rt.ref); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
}

// pullBlob serves a blob the pull-through cache fetches: the whole blob
// (no ranges) with its exact length, so that a stream cut short by a
// digest mismatch reaches the client as a truncated response.
func (h *handler) pullBlob(w http.ResponseWriter, r *http.Request, repo registry.Repo, dgst digest.Digest, localErr error) {
	rc, desc, err := h.pull.Blob(r.Context(), repo, dgst, false, localErr)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer rc.Close()
	hdr := w.Header()
	hdr.Set("Content-Type", "application/octet-stream")
	hdr.Set("Content-Length", itoa(desc.Size))
	hdr.Set("Docker-Content-Digest", desc.Digest.String())
	hdr.Set("ETag", etag(desc.Digest))
	w.WriteHeader(http.StatusOK)
	if n, err := io.Copy(w, rc); err != nil && r.Context().Err() == nil {
		// The length promised is not met: the server closes the
		// connection and the client sees the failure.
		h.log.Warn("pull-through blob stream failed", "repository", repo.Name, "digest", dgst, "sent", n, "size", desc.Size, "error", err)
	}
}
