package pullthrough

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/registry/handlers"
	"github.com/berth-dev/berth/secrets"
	"github.com/berth-dev/berth/store"
)

// AppliedFor is the repository creation template scenario of the cache.
const AppliedFor = "PULL_THROUGH_CACHE"

// DefaultRecheckAfter is how long a cached tag is served before it is
// checked upstream again: AWS's 24 hours.
const DefaultRecheckAfter = 24 * time.Hour

// Tuning of the cache; variables so that tests can shorten them.
var (
	// rulesTTL bounds how stale the in-memory copy of a registry's rules
	// may be (local changes invalidate it at once).
	rulesTTL = 2 * time.Second
	// clientTTL is how long an upstream client (and the credentials read
	// from its secret) is reused.
	clientTTL = 5 * time.Minute
	// fillEvery is the filler's period.
	fillEvery = 2 * time.Second
	// settle is how long the filler leaves a repository alone after a
	// client fetched from it, so that it does not compete with the
	// client's own streams.
	settle = 10 * time.Second
	// stallTimeout aborts an upstream body that stops sending.
	stallTimeout = 60 * time.Second
	// upstreamTimeout bounds a manifest request upstream.
	upstreamTimeout = 30 * time.Second
)

// RepositoryMaker creates the repositories the cache fills.
type RepositoryMaker interface {
	// EnsureRepository creates repo unless it exists, with the settings of
	// the registry's repository creation template for appliedFor that
	// matches its name, if any.
	EnsureRepository(ctx context.Context, repo registry.Repo, appliedFor string) error
}

// Options configure a Cache.
type Options struct {
	Registry     *registry.Registry
	Store        store.Store
	Repositories RepositoryMaker
	// RecheckAfter is how long a cached tag is served before the upstream
	// is asked again; DefaultRecheckAfter when zero.
	RecheckAfter time.Duration
	Log          *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Transport reaches the upstreams; a shared transport with timeouts
	// when nil.
	Transport http.RoundTripper
}

// Cache is the pull-through cache: the registry handler's PullThrough and
// the filler loop (Run).
type Cache struct {
	reg     *registry.Registry
	st      store.Store
	repos   RepositoryMaker
	recheck time.Duration
	log     *slog.Logger
	now     func() time.Time
	rt      http.RoundTripper

	rulesMu sync.Mutex
	rules   map[ns]cachedRules

	clientsMu sync.Mutex
	clients   map[string]cachedClient

	flightsMu sync.Mutex
	flights   map[string]*flight

	activeMu sync.Mutex
	active   map[registry.Repo]time.Time

	wake chan struct{}
}

var _ handlers.PullThrough = (*Cache)(nil)

type ns struct{ account, region string }

type cachedRules struct {
	rules []Rule
	at    time.Time
}

type cachedClient struct {
	c  *client
	at time.Time
}

// New returns a Cache.
func New(o Options) (*Cache, error) {
	if o.Registry == nil || o.Store == nil || o.Repositories == nil {
		return nil, errors.New("pullthrough: Registry, Store and Repositories are required")
	}
	c := &Cache{
		reg: o.Registry, st: o.Store, repos: o.Repositories, recheck: o.RecheckAfter,
		log: o.Log, now: o.Now, rt: o.Transport,
		rules: map[ns]cachedRules{}, clients: map[string]cachedClient{},
		flights: map[string]*flight{}, active: map[registry.Repo]time.Time{},
		wake: make(chan struct{}, 1),
	}
	if c.recheck <= 0 {
		c.recheck = DefaultRecheckAfter
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// Invalidate drops the in-memory rules and clients of a registry; the rule
// operations call it after a change.
func (c *Cache) Invalidate(account, region string) {
	c.rulesMu.Lock()
	delete(c.rules, ns{account, region})
	c.rulesMu.Unlock()
	c.clientsMu.Lock()
	for k := range c.clients {
		if strings.HasPrefix(k, account+"/"+region+"/") {
			delete(c.clients, k)
		}
	}
	c.clientsMu.Unlock()
}

// RuleFor returns the rule that fills a repository, if any.
func (c *Cache) RuleFor(ctx context.Context, repo registry.Repo) (Rule, bool) {
	key := ns{repo.Account, repo.Region}
	now := c.now()
	c.rulesMu.Lock()
	cr, ok := c.rules[key]
	c.rulesMu.Unlock()
	if !ok || now.Sub(cr.at) > rulesTTL || now.Before(cr.at) {
		var rules []Rule
		err := c.st.View(ctx, func(tx store.Tx) error {
			var err error
			rules, err = ListRules(tx, repo.Account, repo.Region)
			return err
		})
		if err != nil {
			c.log.Warn("pull-through cache: reading rules", "account", repo.Account, "region", repo.Region, "error", err)
			if !ok {
				return Rule{}, false
			}
		} else {
			cr = cachedRules{rules: rules, at: now}
			c.rulesMu.Lock()
			c.rules[key] = cr
			c.rulesMu.Unlock()
		}
	}
	return Select(cr.rules, repo.Name)
}

// Covers reports whether a repository is filled by the cache (replication
// leaves such repositories alone).
func (c *Cache) Covers(repo registry.Repo) bool {
	_, ok := c.RuleFor(context.Background(), repo)
	return ok
}

// Errors of ResolveCredentials, checked with errors.Is.
var (
	ErrSecretNotFound = errors.New("the secret does not exist")
	ErrSecretInvalid  = errors.New("the secret does not hold upstream credentials")
)

// ResolveCredentials reads a pull-through credential secret of a registry:
// a Secrets Manager secret whose string is a JSON object with username and
// accessToken.
func ResolveCredentials(ctx context.Context, st store.Store, account, region, arn string, now time.Time) (user, token string, err error) {
	var v secrets.Value
	err = st.View(ctx, func(tx store.Tx) error {
		var err error
		v, err = secrets.GetValue(tx, account, region, arn, "", "", now)
		return err
	})
	if err != nil {
		if ae := awsapi.AsError(err); ae != nil {
			return "", "", fmt.Errorf("%w: %s: %s", ErrSecretNotFound, arn, ae.Message)
		}
		return "", "", err
	}
	if v.String == nil {
		return "", "", fmt.Errorf("%w: %s holds a binary value, not a JSON string", ErrSecretInvalid, arn)
	}
	var creds struct {
		Username    string `json:"username"`
		AccessToken string `json:"accessToken"`
	}
	if err := json.Unmarshal([]byte(*v.String), &creds); err != nil || creds.Username == "" || creds.AccessToken == "" {
		return "", "", fmt.Errorf(`%w: %s must be a JSON object {"username": ..., "accessToken": ...}`, ErrSecretInvalid, arn)
	}
	return creds.Username, creds.AccessToken, nil
}

// client returns the upstream client of a rule.
func (c *Cache) client(ctx context.Context, r Rule) (*client, error) {
	key := r.Account + "/" + r.Region + "/" + r.Prefix
	now := c.now()
	c.clientsMu.Lock()
	cc, ok := c.clients[key]
	c.clientsMu.Unlock()
	if ok && now.Sub(cc.at) < clientTTL && !now.Before(cc.at) {
		return cc.c, nil
	}
	cl, err := newRuleClient(ctx, c.st, r, now, c.rt)
	if err != nil {
		return nil, err
	}
	c.clientsMu.Lock()
	c.clients[key] = cachedClient{c: cl, at: now}
	c.clientsMu.Unlock()
	return cl, nil
}

// newRuleClient returns a client for a rule's upstream with the rule's
// credentials.
func newRuleClient(ctx context.Context, st store.Store, r Rule, now time.Time, rt http.RoundTripper) (*client, error) {
	base, err := r.BaseURL()
	if err != nil {
		return nil, err
	}
	var user, pass string
	if r.CredentialArn != "" {
		if user, pass, err = ResolveCredentials(ctx, st, r.Account, r.Region, r.CredentialArn, now); err != nil {
			return nil, err
		}
	}
	return newClient(base, user, pass, rt), nil
}

// Validate checks that a rule's secret is readable and the upstream
// accepts its credentials; the error says why not.
func (c *Cache) Validate(ctx context.Context, r Rule) error {
	cl, err := newRuleClient(ctx, c.st, r, c.now(), c.rt)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, upstreamTimeout)
	defer cancel()
	return cl.ping(ctx)
}

// touch records client activity in a repository (see settle).
func (c *Cache) touch(repo registry.Repo) {
	c.activeMu.Lock()
	c.active[repo] = c.now()
	c.activeMu.Unlock()
}

func (c *Cache) busy(repo registry.Repo) bool {
	c.activeMu.Lock()
	defer c.activeMu.Unlock()
	t, ok := c.active[repo]
	if ok && c.now().Sub(t) >= settle {
		delete(c.active, repo)
		return false
	}
	return ok
}

// upstreamErr words a failure of the upstream for the client.
func upstreamErr(r Rule, err error) error {
	return fmt.Errorf("%w: pull through cache rule %s, upstream %s: %v", handlers.ErrUpstream, r.Prefix, r.UpstreamURL, err)
}
