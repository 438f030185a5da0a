// Package pullthrough is ECR's pull-through cache: repositories under a
// rule's prefix are filled from an upstream OCI registry on demand.
//
// The first pull of <prefix>/<image>:<tag> fetches the manifest upstream,
// creates the repository (with the registry's creation template for
// PULL_THROUGH_CACHE, if any) and streams each blob to the client while
// writing it to the registry; a blob is committed only when its digest
// verifies, and a manifest only when every blob it uses is in (until then
// it is kept as a pending record and served from there). Later pulls are
// local; a tag is re-checked upstream once its check is older than the
// re-check interval (AWS: 24 hours), and an upstream that is down leaves
// the cached content served. A background filler completes images whose
// blobs a client did not fetch (layers it already had).
package pullthrough

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/berth-dev/berth/store"
)

// Resource kinds the cache keeps in the state store.
const (
	// KindRule is a pull-through cache rule (id: the ECR repository
	// prefix) in its registry's account and region.
	KindRule = "ecr.pull-through-rule"
	// kindTag records when a cached tag was last checked upstream (id:
	// repository:tag).
	kindTag = "ecr.pull-through-tag"
	// kindPending is a manifest fetched upstream whose blobs are not all
	// cached yet. Pending records live in one namespace for the whole
	// server (account and region "-"), id account/region/repository@digest,
	// so the filler finds them all with one listing.
	kindPending = "ecr.pull-through-pending"
)

// globalNS is the account and region of server-wide records.
const globalNS = "-"

// Root is the prefix that matches every repository no other rule matches.
const Root = "ROOT"

// Rule is a pull-through cache rule as it is stored.
type Rule struct {
	Account string `json:"-"`
	Region  string `json:"-"`
	// Prefix is the ECR repository prefix, or Root.
	Prefix string `json:"ecrRepositoryPrefix"`
	// UpstreamURL is the upstream registry as given: a host[:port], or a
	// URL with scheme (http://127.0.0.1:5000 for a plain-HTTP registry).
	UpstreamURL      string `json:"upstreamRegistryUrl"`
	UpstreamRegistry string `json:"upstreamRegistry,omitempty"`
	// UpstreamPrefix is the upstream repository prefix as given; empty
	// (or Root) maps cache names to upstream names unchanged.
	UpstreamPrefix string    `json:"upstreamRepositoryPrefix,omitempty"`
	CredentialArn  string    `json:"credentialArn,omitempty"`
	CustomRoleArn  string    `json:"customRoleArn,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

// Matches reports whether a repository name falls under the rule's
// prefix. There is always an implied "/" after a prefix: "prod" matches
// "prod/app", not "production".
func (r Rule) Matches(name string) bool {
	if r.Prefix == Root {
		return true
	}
	p := strings.TrimSuffix(r.Prefix, "/") + "/"
	return strings.HasPrefix(name, p) && len(name) > len(p)
}

// UpstreamName maps a cache repository name to the upstream repository:
// the rule's prefix comes off, the upstream prefix (if any) goes on.
func (r Rule) UpstreamName(name string) string {
	rest := name
	if r.Prefix != Root {
		rest = strings.TrimPrefix(name, strings.TrimSuffix(r.Prefix, "/")+"/")
	}
	if up := strings.TrimSuffix(r.UpstreamPrefix, "/"); up != "" && up != Root {
		return up + "/" + rest
	}
	return rest
}

// BaseURL is the upstream registry's base URL: https unless the rule gave
// a scheme.
func (r Rule) BaseURL() (*url.URL, error) { return ParseUpstreamURL(r.UpstreamURL) }

// ParseUpstreamURL reads an upstream registry URL: "host[:port]" (HTTPS)
// or "http(s)://host[:port]", with no path, query or credentials.
func ParseUpstreamURL(s string) (*url.URL, error) {
	raw := strings.TrimSuffix(strings.TrimSpace(s), "/")
	if raw == "" {
		return nil, errors.New("the upstream registry URL is empty")
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("the upstream registry URL %q is not a URL: %v", s, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("the upstream registry URL %q must use http or https", s)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("the upstream registry URL %q has no host", s)
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return nil, fmt.Errorf("the upstream registry URL %q must be a registry host, without path, query or credentials", s)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// Select returns the rule that governs a repository name: the longest
// prefix that matches, else a Root rule.
func Select(rules []Rule, name string) (Rule, bool) {
	var best Rule
	found := false
	for _, r := range rules {
		if r.Prefix == Root || !r.Matches(name) {
			continue
		}
		if !found || len(r.Prefix) > len(best.Prefix) {
			best, found = r, true
		}
	}
	if found {
		return best, true
	}
	for _, r := range rules {
		if r.Prefix == Root {
			return r, true
		}
	}
	return Rule{}, false
}

// ListRules returns the rules of a registry in prefix order.
func ListRules(tx store.Tx, account, region string) ([]Rule, error) {
	rs, err := tx.ListResources(KindRule, account, region, "", store.Page{})
	if err != nil {
		return nil, err
	}
	out := make([]Rule, 0, len(rs))
	for _, res := range rs {
		r, err := decodeRule(res)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// GetRule returns one rule; store.ErrNotFound when there is none.
func GetRule(tx store.Tx, account, region, prefix string) (Rule, error) {
	res, err := tx.GetResource(KindRule, account, region, prefix)
	if err != nil {
		return Rule{}, err
	}
	return decodeRule(res)
}

// PutRule writes a rule (insert or replace).
func PutRule(tx store.Tx, r Rule) error {
	return store.PutDoc(tx, KindRule, r.Account, r.Region, r.Prefix, r, r.UpdatedAt)
}

// DeleteRule removes a rule. Repositories it filled stay, as on AWS.
func DeleteRule(tx store.Tx, account, region, prefix string) error {
	return tx.DeleteResource(KindRule, account, region, prefix)
}

func decodeRule(res store.Resource) (Rule, error) {
	var r Rule
	if err := json.Unmarshal(res.Doc, &r); err != nil {
		return Rule{}, fmt.Errorf("pull-through cache rule %s: %w", res.ID, err)
	}
	r.Account, r.Region = res.Account, res.Region
	if r.Prefix == "" {
		r.Prefix = res.ID
	}
	return r, nil
}
