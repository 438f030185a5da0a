package handlers

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/registry"
)

func manifestURL(name string, d digest.Digest) string {
	return "/v2/" + name + "/manifests/" + d.String()
}

func etag(d digest.Digest) string { return `"` + d.String() + `"` }

// getManifest serves GET and HEAD. The manifest is served as pushed, with
// the media type it was pushed with, whatever the Accept header says: the
// registry converts nothing.
func (h *handler) getManifest(w http.ResponseWriter, r *http.Request, repo registry.Repo, rt route) {
	img, body, err := h.reg.GetManifest(r.Context(), repo, rt.ref)
	if h.pull != nil {
		img, body, err = h.pull.Manifest(r.Context(), repo, rt.ref, img, body, err)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", img.MediaType)
	hdr.Set("Docker-Content-Digest", img.Digest.String())
	hdr.Set("ETag", etag(img.Digest))
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, etag(img.Digest)) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Length", itoa(int64(len(body))))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
	h.reg.RecordPullLater(repo, img.Digest)
}

func (h *handler) putManifest(w http.ResponseWriter, r *http.Request, repo registry.Repo, rt route) {
	body, err := io.ReadAll(io.LimitReader(r.Body, registry.MaxManifestSize+1))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(body) > registry.MaxManifestSize {
		writeError(w, http.StatusRequestEntityTooLarge, CodeSizeInvalid,
			fmt.Sprintf("manifest exceeds the %d byte (4 MiB) limit", registry.MaxManifestSize), nil)
		return
	}
	var (
		dgst string
		tags []string
	)
	if strings.Contains(rt.ref, ":") {
		dgst = rt.ref
	} else {
		tags = append(tags, rt.ref)
	}
	// Tags given as parameters to a push by digest (distribution-spec 1.1+).
	for _, t := range r.URL.Query()["tag"] {
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	img, _, err := h.reg.PutManifestTags(r.Context(), repo, dgst, tags, r.Header.Get("Content-Type"), body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hdr := w.Header()
	hdr.Set("Location", manifestURL(repo.Name, img.Digest))
	hdr.Set("Docker-Content-Digest", img.Digest.String())
	if img.Subject != "" {
		hdr.Set("OCI-Subject", img.Subject.String())
	}
	if dgst != "" {
		for _, t := range tags {
			hdr.Add("OCI-Tag", t)
		}
	}
	hdr.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

func (h *handler) deleteManifest(w http.ResponseWriter, r *http.Request, repo registry.Repo, rt route) {
	var err error
	if strings.Contains(rt.ref, ":") {
		_, err = h.reg.DeleteManifest(r.Context(), repo, digest.Digest(rt.ref))
	} else {
		err = h.reg.DeleteTag(r.Context(), repo, rt.ref)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}

type tagList struct {
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

// listTags serves the tag list, paginated with n and last; a Link header
// points at the next page when there is one.
func (h *handler) listTags(w http.ResponseWriter, r *http.Request, repo registry.Repo, _ route) {
	q := r.URL.Query()
	last := q.Get("last")
	n := -1
	if s := q.Get("n"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 {
			writeError(w, http.StatusBadRequest, CodeUnsupported, fmt.Sprintf("n must be a non-negative integer, not %q", s), nil)
			return
		}
		n = v
	}
	// One more than asked tells whether another page follows; for n=0 one
	// tag is enough to tell an unknown repository from an empty one.
	fetch := 0
	if n >= 0 {
		fetch = n + 1
	}
	tags, err := h.reg.ListTags(r.Context(), repo, last, fetch)
	if n == 0 {
		// Still checked, so that an unknown repository is NAME_UNKNOWN.
		tags = nil
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if n > 0 && len(tags) > n {
		tags = tags[:n]
		next := url.Values{"n": {strconv.Itoa(n)}, "last": {tags[n-1]}}
		w.Header().Set("Link", fmt.Sprintf(`</v2/%s/tags/list?%s>; rel="next"`, repo.Name, next.Encode()))
	}
	if tags == nil {
		tags = []string{}
	}
	writeJSON(w, r, "application/json", tagList{Name: repo.Name, Tags: tags})
}

// referrers serves the referrers API: an image index of the manifests
// whose subject is the digest.
func (h *handler) referrers(w http.ResponseWriter, r *http.Request, repo registry.Repo, rt route) {
	artifactType := r.URL.Query().Get("artifactType")
	descs, err := h.reg.Referrers(r.Context(), repo, digest.Digest(rt.ref), artifactType)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if artifactType != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: descs}
	idx.SchemaVersion = 2
	writeJSON(w, r, ocispec.MediaTypeImageIndex, idx)
}

func writeJSON(w http.ResponseWriter, r *http.Request, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, codeUnknown, "encoding the response failed", nil)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", itoa(int64(len(body))))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
