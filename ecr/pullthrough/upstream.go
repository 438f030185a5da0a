package pullthrough

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/registry"
)

// Errors of the upstream client, checked with errors.Is.
var (
	// errNotFound: the upstream answered 404 (no such repository,
	// manifest or blob).
	errNotFound = errors.New("not found upstream")
	// errDenied: the upstream refused the credentials (or their absence).
	errDenied = errors.New("the upstream registry refused the credentials")
	// errLied: the upstream sent content that does not match its digest.
	errLied = errors.New("the upstream registry sent content that does not match its digest")
)

// manifestAccept is every manifest type the registry stores, so that the
// upstream never falls back to Docker schema1.
var manifestAccept = strings.Join([]string{
	registry.MediaTypeOCIIndex, registry.MediaTypeOCIManifest,
	registry.MediaTypeDockerManifestList, registry.MediaTypeDockerManifest,
}, ", ")

// transport is shared by every upstream client: bounded connection and
// header waits, no bound on a body (a layer may be large; the stall
// watchdog in the blob stream catches a body that stops).
var transport = &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	TLSHandshakeTimeout:   10 * time.Second,
	ResponseHeaderTimeout: 30 * time.Second,
	ExpectContinueTimeout: time.Second,
	IdleConnTimeout:       90 * time.Second,
	MaxIdleConnsPerHost:   16,
	ForceAttemptHTTP2:     true,
}

// client reads one upstream registry with the distribution API, answering
// its challenges: Basic with the rule's credentials, or Bearer with a token
// from the realm it names (Docker Hub, ghcr.io, quay.io, distribution).
type client struct {
	base       *url.URL
	user, pass string
	hc         *http.Client

	mu     sync.Mutex
	basic  bool              // the upstream asked for Basic
	tokens map[string]string // scope → bearer token
}

func newClient(base *url.URL, user, pass string, rt http.RoundTripper) *client {
	if rt == nil {
		rt = transport
	}
	return &client{base: base, user: user, pass: pass, hc: &http.Client{Transport: rt}, tokens: map[string]string{}}
}

func (c *client) url(path string) string {
	u := *c.base
	u.Path = path
	return u.String()
}

func scopeOf(repo string) string {
	if repo == "" {
		return ""
	}
	return "repository:" + repo + ":pull"
}

func (c *client) authorize(req *http.Request, scope string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tok, ok := c.tokens[scope]; ok {
		req.Header.Set("Authorization", "Bearer "+tok)
	} else if c.basic && c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
}

// do sends a request for repo's path, authenticating once when the
// upstream challenges.
func (c *client) do(ctx context.Context, method, repo, path string, hdr http.Header) (*http.Response, error) {
	scope := scopeOf(repo)
	send := func() (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, method, c.url(path), nil)
		if err != nil {
			return nil, err
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		req.Header.Set("User-Agent", "berth-pull-through-cache")
		c.authorize(req, scope)
		return c.hc.Do(req)
	}
	resp, err := send()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusUnauthorized {
		return resp, nil
	}
	challenge := resp.Header.Get("WWW-Authenticate")
	drain(resp)
	if err := c.login(ctx, challenge, scope); err != nil {
		return nil, err
	}
	return send()
}

// login answers a challenge: it remembers that Basic is wanted, or fetches
// a bearer token for the scope.
func (c *client) login(ctx context.Context, challenge, scope string) error {
	scheme, params := parseChallenge(challenge)
	switch strings.ToLower(scheme) {
	case "basic":
		if c.user == "" {
			return fmt.Errorf("%w: it asks for a user name and password and the rule has no credentials", errDenied)
		}
		c.mu.Lock()
		c.basic = true
		c.mu.Unlock()
		return nil
	case "bearer":
	default:
		return fmt.Errorf("%w: unsupported challenge %q", errDenied, challenge)
	}
	realm, err := url.Parse(params["realm"])
	if err != nil || (realm.Scheme != "http" && realm.Scheme != "https") {
		return fmt.Errorf("%w: the token realm %q is not an HTTP URL", errDenied, params["realm"])
	}
	q := realm.Query()
	if s := params["service"]; s != "" {
		q.Set("service", s)
	}
	if scope != "" {
		q.Set("scope", scope)
	} else if s := params["scope"]; s != "" {
		q.Set("scope", s)
	}
	realm.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, realm.String(), nil)
	if err != nil {
		return err
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer drain(resp)
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return fmt.Errorf("%w: the token service answered %s", errDenied, resp.Status)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the token service %s answered %s", realm.Host, resp.Status)
	}
	var tok struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tok); err != nil {
		return fmt.Errorf("the token service %s answered no JSON: %v", realm.Host, err)
	}
	t := tok.Token
	if t == "" {
		t = tok.AccessToken
	}
	if t == "" {
		return fmt.Errorf("the token service %s answered no token", realm.Host)
	}
	c.mu.Lock()
	c.tokens[scope] = t
	c.mu.Unlock()
	return nil
}

// parseChallenge splits `Bearer realm="...",service="..."` into the scheme
// and its parameters (quoted values may hold commas).
func parseChallenge(h string) (string, map[string]string) {
	h = strings.TrimSpace(h)
	scheme, rest, _ := strings.Cut(h, " ")
	params := map[string]string{}
	for rest != "" {
		rest = strings.TrimLeft(rest, " ,")
		key, after, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		key = strings.ToLower(strings.TrimSpace(key))
		var val string
		if strings.HasPrefix(after, `"`) {
			after = after[1:]
			var b strings.Builder
			i := 0
			for ; i < len(after); i++ {
				if after[i] == '\\' && i+1 < len(after) {
					i++
					b.WriteByte(after[i])
					continue
				}
				if after[i] == '"' {
					break
				}
				b.WriteByte(after[i])
			}
			val = b.String()
			if i < len(after) {
				i++
			}
			rest = after[i:]
		} else {
			val, rest, _ = strings.Cut(after, ",")
		}
		params[key] = strings.TrimSpace(val)
	}
	return scheme, params
}

// statusError turns a non-2xx answer into an error, reading the
// distribution error body when there is one.
func statusError(resp *http.Response, what string) error {
	defer drain(resp)
	var body struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
	detail := ""
	if len(body.Errors) > 0 {
		detail = ": " + body.Errors[0].Code + " " + body.Errors[0].Message
	}
	switch resp.StatusCode {
	case http.StatusNotFound:
		return fmt.Errorf("%w: %s%s", errNotFound, what, detail)
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("%w: %s answered %s%s", errDenied, what, resp.Status, detail)
	}
	return fmt.Errorf("upstream %s answered %s%s", what, resp.Status, detail)
}

func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
}

// ping checks that the upstream answers the API with these credentials.
func (c *client) ping(ctx context.Context) error {
	resp, err := c.do(ctx, http.MethodGet, "", "/v2/", nil)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return statusError(resp, "/v2/")
	}
	drain(resp)
	return nil
}

// upstreamManifest is a manifest as the upstream served it.
type upstreamManifest struct {
	Body        []byte
	ContentType string
	// Digest is what the upstream says the manifest is
	// (Docker-Content-Digest), empty when it did not say.
	Digest digest.Digest
}

// manifest fetches a manifest by tag or digest.
func (c *client) manifest(ctx context.Context, repo, reference string) (upstreamManifest, error) {
	resp, err := c.do(ctx, http.MethodGet, repo, "/v2/"+repo+"/manifests/"+reference, http.Header{"Accept": {manifestAccept}})
	if err != nil {
		return upstreamManifest{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return upstreamManifest{}, statusError(resp, "manifest "+repo+":"+reference)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, registry.MaxManifestSize+1))
	if err != nil {
		return upstreamManifest{}, err
	}
	if len(body) > registry.MaxManifestSize {
		return upstreamManifest{}, fmt.Errorf("the upstream manifest %s:%s is larger than 4 MiB", repo, reference)
	}
	m := upstreamManifest{Body: body, ContentType: resp.Header.Get("Content-Type")}
	if d, err := digest.Parse(resp.Header.Get("Docker-Content-Digest")); err == nil {
		m.Digest = d
	}
	return m, nil
}

// manifestDigest asks for a manifest's digest without its body (HEAD); an
// empty digest means the upstream did not say.
func (c *client) manifestDigest(ctx context.Context, repo, reference string) (digest.Digest, error) {
	resp, err := c.do(ctx, http.MethodHead, repo, "/v2/"+repo+"/manifests/"+reference, http.Header{"Accept": {manifestAccept}})
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", statusError(resp, "manifest "+repo+":"+reference)
	}
	drain(resp)
	d, err := digest.Parse(resp.Header.Get("Docker-Content-Digest"))
	if err != nil {
		return "", nil
	}
	return d, nil
}

// blob opens a blob; size is -1 when the upstream did not say.
func (c *client) blob(ctx context.Context, repo string, d digest.Digest) (io.ReadCloser, int64, error) {
	resp, err := c.do(ctx, http.MethodGet, repo, "/v2/"+repo+"/blobs/"+d.String(), nil)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, statusError(resp, "blob "+repo+"@"+d.String())
	}
	size := resp.ContentLength
	if resp.Header.Get("Content-Encoding") != "" {
		size = -1 // a transfer encoding the client undid: length unknown
	}
	return resp.Body, size, nil
}

// blobSize asks for a blob's size (HEAD).
func (c *client) blobSize(ctx context.Context, repo string, d digest.Digest) (int64, error) {
	resp, err := c.do(ctx, http.MethodHead, repo, "/v2/"+repo+"/blobs/"+d.String(), nil)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, statusError(resp, "blob "+repo+"@"+d.String())
	}
	drain(resp)
	if n, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64); err == nil && n >= 0 {
		return n, nil
	}
	return 0, fmt.Errorf("the upstream did not say the size of blob %s", d)
}
