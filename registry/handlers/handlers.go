// Package handlers serves the registry core as the OCI distribution API
// (spec v1.1) under /v2/. It translates HTTP to registry calls and registry
// errors to the spec's error codes; it keeps no state of its own.
package handlers

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/registry"
)

// Actions an Authorizer is asked about.
const (
	ActionPull   = "pull"
	ActionPush   = "push"
	ActionDelete = "delete"
)

// Authorizer decides who may do what. Authorize returns the account and
// region the request acts in. A *Challenge error makes the handler answer
// 401 with a Basic challenge; ErrTooManyRequests answers 429; any other
// error answers 403 DENIED with the error's text.
//
// repoName is empty and actions nil for the version check (GET /v2/).
type Authorizer interface {
	Authorize(r *http.Request, repoName string, actions []string) (account, region string, err error)
}

// Challenge asks the client to authenticate.
type Challenge struct {
	Realm   string
	Message string // shown to the client; a default when empty
}

func (c *Challenge) Error() string {
	if c.Message != "" {
		return c.Message
	}
	return "authentication required"
}

// AllowAll lets every request act in one account and region; for tests and
// single-user setups.
type AllowAll struct{ Account, Region string }

func (a AllowAll) Authorize(*http.Request, string, []string) (string, string, error) {
	return a.Account, a.Region, nil
}

type handler struct {
	reg  *registry.Registry
	auth Authorizer
	log  *slog.Logger
	pull PullThrough // nil: no pull-through cache
}

// New returns the /v2/ API handler.
func New(reg *registry.Registry, auth Authorizer, log *slog.Logger, opts ...Option) http.Handler {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h := &handler{reg: reg, auth: auth, log: log}
	for _, o := range opts {
		o(h)
	}
	return h
}

type endpoint int

const (
	endpointBase endpoint = iota
	endpointManifest
	endpointBlob
	endpointUploads // POST .../blobs/uploads/
	endpointUpload  // .../blobs/uploads/<id>
	endpointTags
	endpointReferrers
)

type route struct {
	endpoint endpoint
	name     string
	ref      string // reference, digest or upload id
}

// routes are tried in order; the first whose repository name is valid
// wins, so a repository may itself be called "x/blobs" or "y/manifests".
var routes = []struct {
	endpoint endpoint
	sep      string
	suffix   bool // sep ends the path (nothing after it)
}{
	{endpointTags, "/tags/list", true},
	{endpointManifest, "/manifests/", false},
	{endpointUploads, "/blobs/uploads/", true},
	{endpointUploads, "/blobs/uploads", true},
	{endpointUpload, "/blobs/uploads/", false},
	{endpointBlob, "/blobs/", false},
	{endpointReferrers, "/referrers/", false},
}

// parseRoute splits a /v2/ path into endpoint, repository name and
// reference. ok is false for paths that are no endpoint at all; a route
// whose name is invalid comes back with nameErr set.
func parseRoute(path string) (rt route, nameErr error, ok bool) {
	if path == "/v2" || path == "/v2/" {
		return route{endpoint: endpointBase}, nil, true
	}
	rest, found := strings.CutPrefix(path, "/v2/")
	if !found {
		return route{}, nil, false
	}
	var firstErr error
	matched := false
	for _, p := range routes {
		var name, ref string
		if p.suffix {
			n, ok := strings.CutSuffix(rest, p.sep)
			if !ok {
				continue
			}
			name = n
		} else {
			i := strings.LastIndex(rest, p.sep)
			if i < 0 {
				continue
			}
			name, ref = rest[:i], rest[i+len(p.sep):]
			if ref == "" || strings.Contains(ref, "/") {
				continue
			}
		}
		matched = true
		if err := registry.ValidateName(name); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		return route{endpoint: p.endpoint, name: name, ref: ref}, nil, true
	}
	if matched {
		return route{}, firstErr, true
	}
	return route{}, nil, false
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	rt, nameErr, ok := parseRoute(r.URL.Path)
	if !ok {
		writeError(w, http.StatusNotFound, CodeUnsupported, "no such endpoint: "+r.URL.Path, nil)
		return
	}
	if nameErr != nil {
		writeError(w, http.StatusBadRequest, CodeNameInvalid, nameErr.Error(), nil)
		return
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	type op struct {
		actions []string
		serve   func(http.ResponseWriter, *http.Request, registry.Repo, route)
	}
	var ops map[string]op
	switch rt.endpoint {
	case endpointBase:
		ops = map[string]op{http.MethodGet: {nil, h.base}}
	case endpointManifest:
		ops = map[string]op{
			http.MethodGet:    {[]string{ActionPull}, h.getManifest},
			http.MethodPut:    {[]string{ActionPull, ActionPush}, h.putManifest},
			http.MethodDelete: {[]string{ActionDelete}, h.deleteManifest},
		}
	case endpointBlob:
		ops = map[string]op{
			http.MethodGet:    {[]string{ActionPull}, h.getBlob},
			http.MethodDelete: {[]string{ActionDelete}, h.deleteBlob},
		}
	case endpointUploads:
		ops = map[string]op{http.MethodPost: {[]string{ActionPull, ActionPush}, h.startUpload}}
	case endpointUpload:
		ops = map[string]op{
			http.MethodGet:    {[]string{ActionPull, ActionPush}, h.uploadStatus},
			http.MethodPatch:  {[]string{ActionPull, ActionPush}, h.patchUpload},
			http.MethodPut:    {[]string{ActionPull, ActionPush}, h.putUpload},
			http.MethodDelete: {[]string{ActionPull, ActionPush}, h.cancelUpload},
		}
	case endpointTags:
		ops = map[string]op{http.MethodGet: {[]string{ActionPull}, h.listTags}}
	case endpointReferrers:
		ops = map[string]op{http.MethodGet: {[]string{ActionPull}, h.referrers}}
	}
	o, ok := ops[method]
	if !ok {
		allowed := make([]string, 0, len(ops))
		for m := range ops {
			allowed = append(allowed, m)
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(w, http.StatusMethodNotAllowed, CodeUnsupported, fmt.Sprintf("%s is not supported on this endpoint", r.Method), nil)
		return
	}
	account, region, err := h.auth.Authorize(r, rt.name, o.actions)
	if err != nil {
		h.authFailed(w, err)
		return
	}
	o.serve(w, r, registry.Repo{Account: account, Region: region, Name: rt.name}, rt)
}

func (h *handler) authFailed(w http.ResponseWriter, err error) {
	var ch *Challenge
	switch {
	case errors.As(err, &ch):
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Basic realm=%q,service="ecr.amazonaws.com"`, ch.Realm))
		writeError(w, http.StatusUnauthorized, CodeUnauthorized, ch.Error(), nil)
	case errors.Is(err, ErrTooManyRequests):
		writeError(w, http.StatusTooManyRequests, CodeTooManyRequests, err.Error(), nil)
	default:
		writeError(w, http.StatusForbidden, CodeDenied, err.Error(), nil)
	}
}

func (h *handler) base(w http.ResponseWriter, r *http.Request, _ registry.Repo, _ route) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "2")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, "{}")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
