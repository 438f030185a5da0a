package replication

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/registry"
)

// DefaultRemoteTimeout bounds a request to a remote Berth (and a pause in
// a blob upload).
const DefaultRemoteTimeout = 30 * time.Second

// Remote is another Berth server that holds a replication destination.
type Remote struct {
	// Endpoint is the remote's AWS endpoint URL (http://host:port).
	Endpoint string
	// AccessKeyID and SecretAccessKey sign the remote ECR API calls; the
	// remote maps them to the destination's account.
	AccessKeyID     string
	SecretAccessKey string
	// Timeout bounds each request and each pause in a transfer;
	// DefaultRemoteTimeout when zero.
	Timeout time.Duration
}

var remoteKeyRE = regexp.MustCompile(`^[0-9]{12}/[0-9a-z-]{2,25}$`)

// ValidateRemote checks a destination key ("<registryId>/<region>") and
// its remote.
func ValidateRemote(key string, r Remote) error {
	if !remoteKeyRE.MatchString(key) {
		return fmt.Errorf("replication remote %q: the key must be <12-digit registryId>/<region>", key)
	}
	u, err := url.Parse(r.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("replication remote %q: endpoint %q must be an http(s)://host[:port] URL", key, r.Endpoint)
	}
	if r.AccessKeyID == "" || r.SecretAccessKey == "" {
		return fmt.Errorf("replication remote %q: an access key id and secret are required", key)
	}
	if r.Timeout < 0 {
		return fmt.Errorf("replication remote %q: the timeout must not be negative", key)
	}
	return nil
}

// remote pushes to one remote Berth.
type remote struct {
	key     string
	timeout time.Duration
	api     *ecr.Client
	hc      *http.Client

	mu       sync.Mutex
	base     *url.URL // the remote registry, from its proxyEndpoint
	password string
	expires  time.Time
}

func newRemote(key string, cfg Remote) (*remote, error) {
	if err := ValidateRemote(key, cfg); err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultRemoteTimeout
	}
	region := key[strings.Index(key, "/")+1:]
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   8,
	}
	api := ecr.New(ecr.Options{
		Region:       region,
		BaseEndpoint: aws.String(strings.TrimSuffix(cfg.Endpoint, "/")),
		Credentials:  aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")),
		HTTPClient:   &http.Client{Transport: tr, Timeout: timeout},
		// The worker retries with its own backoff.
		RetryMaxAttempts: 1,
	})
	return &remote{key: key, timeout: timeout, api: api, hc: &http.Client{Transport: tr}}, nil
}

// apiFailure classifies an error of the remote's ECR API.
func apiFailure(op string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException", "MissingAuthenticationTokenException", "ExpiredTokenException":
			return fail(FailureAccessDenied, false, "%s on the remote: %v", op, err)
		case "ServerException", "InternalFailure", "ServiceUnavailable", "ThrottlingException":
			return fail(FailureUnreachable, true, "%s on the remote: %v", op, err)
		}
		return fail(FailureRejected, false, "%s on the remote: %v", op, err)
	}
	return fail(FailureUnreachable, true, "%s on the remote: %v", op, err)
}

// login returns the remote registry and a password, from the remote's
// GetAuthorizationToken (12 hours; renewed an hour before it ends).
func (rm *remote) login(ctx context.Context, renew bool) (*url.URL, string, error) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if !renew && rm.base != nil && time.Until(rm.expires) > time.Hour {
		return rm.base, rm.password, nil
	}
	out, err := rm.api.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return nil, "", apiFailure("GetAuthorizationToken", err)
	}
	if len(out.AuthorizationData) == 0 {
		return nil, "", fail(FailureRejected, true, "GetAuthorizationToken on the remote returned no token")
	}
	ad := out.AuthorizationData[0]
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(ad.AuthorizationToken))
	user, pw, ok := strings.Cut(string(raw), ":")
	if err != nil || !ok || user != "AWS" {
		return nil, "", fail(FailureRejected, false, "the remote's authorization token is not base64 AWS:<password>")
	}
	base, err := url.Parse(aws.ToString(ad.ProxyEndpoint))
	if err != nil || base.Host == "" {
		return nil, "", fail(FailureRejected, false, "the remote's proxy endpoint %q is not a URL", aws.ToString(ad.ProxyEndpoint))
	}
	rm.base, rm.password = &url.URL{Scheme: base.Scheme, Host: base.Host}, pw
	rm.expires = aws.ToTime(ad.ExpiresAt)
	return rm.base, rm.password, nil
}

// push replicates an image to the remote: the repository (created with
// the remote's creation template for REPLICATION when it is missing),
// then the blobs it lacks, then the manifests.
func (rm *remote) push(ctx context.Context, reg *registry.Registry, dst Destination, src registry.Repo, img registry.Image, body []byte) error {
	if err := rm.ensureRepository(ctx, dst, src.Name); err != nil {
		return err
	}
	return rm.pushManifest(ctx, reg, src, img.Digest, img.MediaType, img.Tags, body, 0)
}

func (rm *remote) ensureRepository(ctx context.Context, dst Destination, name string) error {
	out, err := rm.api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{name}})
	if err == nil {
		if len(out.Repositories) == 1 && aws.ToString(out.Repositories[0].RegistryId) != dst.RegistryID {
			return fail(FailureAccountMismatch, false, "the remote's credentials act in account %s, not %s", aws.ToString(out.Repositories[0].RegistryId), dst.RegistryID)
		}
		return nil
	}
	var nf *types.RepositoryNotFoundException
	if !errors.As(err, &nf) {
		return apiFailure("DescribeRepositories", err)
	}
	in := &ecr.CreateRepositoryInput{RepositoryName: aws.String(name)}
	tmpl, err := rm.template(ctx, name)
	if err != nil {
		return err
	}
	if tmpl != nil {
		in.ImageTagMutability = tmpl.ImageTagMutability
		in.ImageTagMutabilityExclusionFilters = tmpl.ImageTagMutabilityExclusionFilters
		in.Tags = tmpl.ResourceTags
		if ec := tmpl.EncryptionConfiguration; ec != nil {
			in.EncryptionConfiguration = &types.EncryptionConfiguration{EncryptionType: ec.EncryptionType, KmsKey: ec.KmsKey}
		}
	}
	created, err := rm.api.CreateRepository(ctx, in)
	var exists *types.RepositoryAlreadyExistsException
	if errors.As(err, &exists) {
		return nil
	}
	if err != nil {
		return apiFailure("CreateRepository", err)
	}
	if got := aws.ToString(created.Repository.RegistryId); got != dst.RegistryID {
		return fail(FailureAccountMismatch, false, "the remote's credentials act in account %s, not %s", got, dst.RegistryID)
	}
	if tmpl != nil && aws.ToString(tmpl.RepositoryPolicy) != "" {
		if _, err := rm.api.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: aws.String(name), PolicyText: tmpl.RepositoryPolicy}); err != nil {
			return apiFailure("SetRepositoryPolicy", err)
		}
	}
	if tmpl != nil && aws.ToString(tmpl.LifecyclePolicy) != "" {
		if _, err := rm.api.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String(name), LifecyclePolicyText: tmpl.LifecyclePolicy}); err != nil {
			return apiFailure("PutLifecyclePolicy", err)
		}
	}
	return nil
}

// template finds the remote registry's creation template for a
// replicated repository (longest matching prefix, else ROOT).
func (rm *remote) template(ctx context.Context, name string) (*types.RepositoryCreationTemplate, error) {
	var best, root *types.RepositoryCreationTemplate
	p := ecr.NewDescribeRepositoryCreationTemplatesPaginator(rm.api, &ecr.DescribeRepositoryCreationTemplatesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, apiFailure("DescribeRepositoryCreationTemplates", err)
		}
		for i := range page.RepositoryCreationTemplates {
			t := &page.RepositoryCreationTemplates[i]
			applies := false
			for _, a := range t.AppliedFor {
				applies = applies || string(a) == AppliedFor
			}
			prefix := aws.ToString(t.Prefix)
			switch {
			case !applies:
			case prefix == "ROOT":
				root = t
			case strings.HasPrefix(name, strings.TrimSuffix(prefix, "/")+"/") && (best == nil || len(prefix) > len(aws.ToString(best.Prefix))):
				best = t
			}
		}
	}
	if best == nil {
		best = root
	}
	return best, nil
}

// request sends one registry request with the remote's password, logging
// in again once when the remote says the password is no good.
func (rm *remote) request(ctx context.Context, method, path string, query url.Values, hdr http.Header, body func() (io.ReadCloser, int64, error)) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		base, pw, err := rm.login(ctx, attempt > 0)
		if err != nil {
			return nil, err
		}
		u := base.ResolveReference(&url.URL{Path: path})
		if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") || strings.Contains(path, "?") {
			// A Location the remote gave, possibly with its own query.
			if u, err = base.Parse(path); err != nil {
				return nil, fail(FailureRejected, false, "the remote gave the location %q: %v", path, err)
			}
		}
		q := u.Query()
		for k, vs := range query {
			for _, v := range vs {
				q.Add(k, v)
			}
		}
		u.RawQuery = q.Encode()
		var rc io.ReadCloser
		size := int64(0)
		if body != nil {
			if rc, size, err = body(); err != nil {
				return nil, err
			}
		}
		req, err := http.NewRequestWithContext(ctx, method, u.String(), rc)
		if err != nil {
			if rc != nil {
				rc.Close()
			}
			return nil, err
		}
		req.ContentLength = size
		if rc == nil {
			req.Body = http.NoBody
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		req.SetBasicAuth("AWS", pw)
		resp, err := rm.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fail(FailureUnreachable, true, "%s %s: %v", method, u.Path, err)
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			drain(resp)
			continue
		}
		return resp, nil
	}
}

func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
}

// respFailure classifies a registry answer that is not the one wanted.
func respFailure(resp *http.Response, what string) error {
	defer drain(resp)
	var body struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
	msg := resp.Status
	code := ""
	if len(body.Errors) > 0 {
		code = body.Errors[0].Code
		msg += ": " + code + " " + body.Errors[0].Message
	}
	switch {
	case resp.StatusCode == http.StatusForbidden && code == "DENIED" && strings.Contains(strings.ToLower(msg), "immutable"):
		return fail(FailureTagImmutable, false, "%s: %s", what, msg)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fail(FailureAccessDenied, false, "%s: %s", what, msg)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return fail(FailureUnreachable, true, "%s: %s", what, msg)
	case resp.StatusCode == http.StatusNotFound && code == "NAME_UNKNOWN":
		// The repository went away between the steps: make it again.
		return fail(FailureRejected, true, "%s: %s", what, msg)
	}
	return fail(FailureRejected, false, "%s: %s", what, msg)
}

// small bounds a request that moves no blob.
func (rm *remote) small(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, rm.timeout)
}

func (rm *remote) pushManifest(ctx context.Context, reg *registry.Registry, src registry.Repo, d digest.Digest, mediaType string, tags []string, body []byte, depth int) error {
	if depth > maxDepth {
		return fail(FailureRejected, false, "indexes nest deeper than %d levels", maxDepth)
	}
	name := src.Name
	blobs, children := registry.References(body)
	for _, c := range children {
		if ok, err := rm.has(ctx, "/v2/"+name+"/manifests/"+c.String()); err != nil {
			return err
		} else if ok {
			continue
		}
		cimg, cbody, err := reg.GetManifest(ctx, src, c.String())
		if err != nil {
			return err
		}
		if err := rm.pushManifest(ctx, reg, src, c, cimg.MediaType, nil, cbody, depth+1); err != nil {
			return err
		}
	}
	for _, b := range blobs {
		if err := rm.pushBlob(ctx, reg, src, b); err != nil {
			return err
		}
	}
	refs := tags
	if len(refs) == 0 {
		refs = []string{d.String()}
	}
	for _, ref := range refs {
		sctx, cancel := rm.small(ctx)
		resp, err := rm.request(sctx, http.MethodPut, "/v2/"+name+"/manifests/"+ref, nil, http.Header{"Content-Type": {mediaType}},
			func() (io.ReadCloser, int64, error) {
				return io.NopCloser(bytes.NewReader(body)), int64(len(body)), nil
			})
		if err != nil {
			cancel()
			return err
		}
		if resp.StatusCode != http.StatusCreated {
			cancel()
			return respFailure(resp, "putting manifest "+name+":"+ref)
		}
		drain(resp)
		cancel()
		if got := resp.Header.Get("Docker-Content-Digest"); got != "" && got != d.String() {
			return fail(FailureRejected, false, "the remote stored manifest %s as %s", d, got)
		}
	}
	return nil
}

// has reports whether a manifest or blob exists on the remote (HEAD).
func (rm *remote) has(ctx context.Context, path string) (bool, error) {
	sctx, cancel := rm.small(ctx)
	defer cancel()
	resp, err := rm.request(sctx, http.MethodHead, path, nil, nil, nil)
	if err != nil {
		return false, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		drain(resp)
		return true, nil
	case http.StatusNotFound:
		drain(resp)
		return false, nil
	}
	return false, respFailure(resp, "HEAD "+path)
}

// pushBlob uploads a blob the remote lacks: a mount when the remote has it
// in another repository, else one monolithic upload streamed from the
// local blob store.
func (rm *remote) pushBlob(ctx context.Context, reg *registry.Registry, src registry.Repo, b digest.Digest) error {
	name := src.Name
	if ok, err := rm.has(ctx, "/v2/"+name+"/blobs/"+b.String()); err != nil || ok {
		return err
	}
	sctx, cancel := rm.small(ctx)
	resp, err := rm.request(sctx, http.MethodPost, "/v2/"+name+"/blobs/uploads/", url.Values{"mount": {b.String()}}, nil, nil)
	if err != nil {
		cancel()
		return err
	}
	loc := resp.Header.Get("Location")
	switch {
	case resp.StatusCode == http.StatusCreated:
		drain(resp)
		cancel()
		return nil
	case resp.StatusCode != http.StatusAccepted || loc == "":
		cancel()
		return respFailure(resp, "starting the upload of "+b.String())
	}
	drain(resp)
	cancel()
	// The upload may take long; a pause of more than the timeout in the
	// remote's reading ends it.
	uctx, ucancel := context.WithCancel(ctx)
	defer ucancel()
	watchdog := time.AfterFunc(rm.timeout, ucancel)
	defer watchdog.Stop()
	resp, err = rm.request(uctx, http.MethodPut, loc, url.Values{"digest": {b.String()}}, http.Header{"Content-Type": {"application/octet-stream"}},
		func() (io.ReadCloser, int64, error) {
			rc, desc, err := reg.OpenBlob(ctx, src, b)
			if err != nil {
				return nil, 0, err
			}
			return &watchedReader{r: rc, t: watchdog, d: rm.timeout}, desc.Size, nil
		})
	if err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() == nil {
			return fail(FailureUnreachable, true, "uploading %s: the remote stopped reading for %s", b, rm.timeout)
		}
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return respFailure(resp, "uploading "+b.String())
	}
	drain(resp)
	return nil
}

// watchedReader resets a watchdog on every read.
type watchedReader struct {
	r io.ReadCloser
	t *time.Timer
	d time.Duration
}

func (w *watchedReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	w.t.Reset(w.d)
	return n, err
}

func (w *watchedReader) Close() error { return w.r.Close() }
