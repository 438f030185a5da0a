package iam

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// kindOIDCProvider holds an account's OpenID Connect providers by their
// issuer (host and path, the host in lower case).
const kindOIDCProvider = "iam.oidcProvider"

// Quotas of OIDC providers, as IAM's defaults.
const (
	maxOIDCProvidersPerAccount = 100
	maxClientIDsPerProvider    = 100
	maxThumbprintsPerProvider  = 5
)

// oidcProviderRecord is an OIDC provider as the store keeps it.
type oidcProviderRecord struct {
	// Scheme is https, or http (which Berth also accepts, for issuers on
	// a developer's machine): STS fetches the issuer's keys with it.
	Scheme      string    `json:"scheme"`
	Issuer      string    `json:"issuer"` // host/path, as the ARN has it
	ClientIDs   []string  `json:"clientIds,omitempty"`
	Thumbprints []string  `json:"thumbprints,omitempty"`
	Created     time.Time `json:"created"`
	Tags        []tag     `json:"tags,omitempty"`
}

// OIDCProviderARN is the ARN of the provider of issuer (host/path) in acct.
func OIDCProviderARN(acct, issuer string) string {
	return "arn:aws:iam::" + acct + ":oidc-provider/" + issuer
}

// issuerKey is the store id of an issuer: IAM compares URLs without their
// scheme, and host names are not case-sensitive.
func issuerKey(issuer string) string {
	host, path, _ := strings.Cut(issuer, "/")
	if path == "" {
		return strings.ToLower(host)
	}
	return strings.ToLower(host) + "/" + path
}

// parseProviderURL splits a provider URL into scheme and issuer. IAM
// wants https://; Berth accepts http:// too so that a local issuer needs
// no certificate.
func parseProviderURL(raw string) (scheme, issuer string, err error) {
	// IAM answers every malformed URL (not a URL, another scheme, no host,
	// a user, a query or a fragment) with this one ValidationError.
	bad := awsapi.Errorf("ValidationError", "Invalid Open ID Connect Provider URL")
	u, perr := url.Parse(raw)
	switch {
	case perr != nil,
		u.Scheme != "https" && u.Scheme != "http",
		u.Host == "" || u.User != nil,
		u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(raw, "?#"):
		return "", "", bad
	}
	issuer = strings.TrimSuffix(strings.ToLower(u.Host)+u.EscapedPath(), "/")
	return u.Scheme, issuer, nil
}

// parseProviderARN reads arn:aws:iam::<acct>:oidc-provider/<issuer>; the
// provider must belong to the caller's account.
func parseProviderARN(arn, acct string) (issuer string, err error) {
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::")
	a, issuer, ok2 := strings.Cut(rest, ":oidc-provider/")
	if !ok || !ok2 || !isAccount(a) || issuer == "" {
		return "", iamapi.NewInvalidInputException("ARN %s is not valid: an OpenID Connect provider ARN is arn:aws:iam::<account>:oidc-provider/<host/path>.", arn)
	}
	if a != acct {
		return "", noSuchProvider(arn)
	}
	return issuer, nil
}

func noSuchProvider(arn string) error {
	return iamapi.NewNoSuchEntityException("OpenIDConnect Provider not found for arn %s", arn)
}

func (p oidcProviderRecord) url() string { return p.Scheme + "://" + p.Issuer }

// wireURL is the Url Get returns: the issuer without its scheme, as IAM
// returns it, unless the host has a port (Berth's EKS issuers are
// 127.0.0.1:<port>/...). "host:port/path" does not parse as a URL, so
// clients that compare it with the URL they registered (Terraform's
// aws_iam_openid_connect_provider) would see a change on every plan.
func (p oidcProviderRecord) wireURL() string {
	host, _, _ := strings.Cut(p.Issuer, "/")
	if strings.Contains(host, ":") {
		return p.url()
	}
	return p.Issuer
}

// getProvider reads the provider arn names in acct, or NoSuchEntity.
func getProvider(tx store.Tx, acct, arn string) (oidcProviderRecord, error) {
	var p oidcProviderRecord
	issuer, err := parseProviderARN(arn, acct)
	if err != nil {
		return p, err
	}
	found, err := get(tx, kindOIDCProvider, acct, issuerKey(issuer), &p)
	if err != nil {
		return p, err
	}
	if !found {
		return p, noSuchProvider(arn)
	}
	return p, nil
}

// updateProvider runs fn on the stored provider and stores the result.
func (s *Service) updateProvider(ctx context.Context, arn *string, fn func(p *oidcProviderRecord) error) error {
	acct := account(ctx)
	return s.st.Update(ctx, func(tx store.Tx) error {
		p, err := getProvider(tx, acct, deref(arn))
		if err != nil {
			return err
		}
		if err := fn(&p); err != nil {
			return err
		}
		return put(tx, kindOIDCProvider, acct, issuerKey(p.Issuer), p, s.clock())
	})
}

func (s *Service) viewProvider(ctx context.Context, arn *string) (oidcProviderRecord, error) {
	return view(ctx, s, deref(arn), getProvider)
}

// addClientIDs appends the ids p does not have yet, within IAM's quota.
func (p *oidcProviderRecord) addClientIDs(ids ...string) error {
	for _, id := range ids {
		if !slices.Contains(p.ClientIDs, id) {
			p.ClientIDs = append(p.ClientIDs, id)
		}
	}
	if len(p.ClientIDs) > maxClientIDsPerProvider {
		return iamapi.NewLimitExceededException("Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: %d", maxClientIDsPerProvider)
	}
	return nil
}

func setThumbprints(ts []string) ([]string, error) {
	out := []string{}
	for _, t := range ts {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) > maxThumbprintsPerProvider {
		// IAM's wording, although five thumbprints are allowed.
		return nil, iamapi.NewInvalidInputException("Thumbprint list must contain fewer than %d entries.", maxThumbprintsPerProvider)
	}
	return out, nil
}

// CreateOpenIDConnectProvider registers an OIDC issuer whose ID tokens
// STS AssumeRoleWithWebIdentity accepts for roles of the account.
// Thumbprints are stored, not checked: Berth verifies tokens with the
// issuer's published keys, as IAM now does for most issuers.
func (s *Service) CreateOpenIDConnectProvider(ctx context.Context, in *iamapi.CreateOpenIDConnectProviderInput) (*iamapi.CreateOpenIDConnectProviderOutput, error) {
	acct := account(ctx)
	scheme, issuer, err := parseProviderURL(*in.Url)
	if err != nil {
		return nil, err
	}
	p := oidcProviderRecord{Scheme: scheme, Issuer: issuer, Created: s.clock()}
	if err := p.addClientIDs(in.ClientIDList...); err != nil {
		return nil, err
	}
	if p.Thumbprints, err = setThumbprints(in.ThumbprintList); err != nil {
		return nil, err
	}
	if p.Tags, err = mergeTags(nil, in.Tags); err != nil {
		return nil, err
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		var existing oidcProviderRecord
		found, err := get(tx, kindOIDCProvider, acct, issuerKey(issuer), &existing)
		if err != nil {
			return err
		}
		if found {
			return iamapi.NewEntityAlreadyExistsException("Provider with url %s already exists.", existing.url())
		}
		n, err := tx.ListResources(kindOIDCProvider, acct, global, "", store.Page{})
		if err != nil {
			return err
		}
		if len(n) >= maxOIDCProvidersPerAccount {
			return iamapi.NewLimitExceededException("Cannot exceed quota for OpenIdConnectProvidersPerAccount: %d", maxOIDCProvidersPerAccount)
		}
		return put(tx, kindOIDCProvider, acct, issuerKey(issuer), p, p.Created)
	})
	if err != nil {
		return nil, err
	}
	out := &iamapi.CreateOpenIDConnectProviderOutput{OpenIDConnectProviderArn: str(OIDCProviderARN(acct, issuer))}
	if len(p.Tags) > 0 {
		out.Tags = wireTags(p.Tags)
	}
	return out, nil
}

// GetOpenIDConnectProvider describes a provider; its Url is without the
// scheme, as IAM returns it.
func (s *Service) GetOpenIDConnectProvider(ctx context.Context, in *iamapi.GetOpenIDConnectProviderInput) (*iamapi.GetOpenIDConnectProviderOutput, error) {
	p, err := s.viewProvider(ctx, in.OpenIDConnectProviderArn)
	if err != nil {
		return nil, err
	}
	out := &iamapi.GetOpenIDConnectProviderOutput{
		Url:            str(p.wireURL()),
		ClientIDList:   slices.Clone(p.ClientIDs),
		ThumbprintList: slices.Clone(p.Thumbprints),
		CreateDate:     awsapi.Time(p.Created),
	}
	if out.ClientIDList == nil {
		out.ClientIDList = []string{}
	}
	if out.ThumbprintList == nil {
		out.ThumbprintList = []string{}
	}
	// IAM returns an empty Tags list rather than leaving it out.
	out.Tags = []iamapi.Tag{}
	if len(p.Tags) > 0 {
		out.Tags = wireTags(p.Tags)
	}
	return out, nil
}

// ListOpenIDConnectProviders lists the account's providers by ARN.
func (s *Service) ListOpenIDConnectProviders(ctx context.Context, _ *iamapi.ListOpenIDConnectProvidersInput) (*iamapi.ListOpenIDConnectProvidersOutput, error) {
	acct := account(ctx)
	ps, err := viewAll[oidcProviderRecord](ctx, s, kindOIDCProvider, acct)
	if err != nil {
		return nil, err
	}
	out := &iamapi.ListOpenIDConnectProvidersOutput{OpenIDConnectProviderList: make([]iamapi.OpenIDConnectProviderListEntry, 0, len(ps))}
	for _, p := range ps {
		out.OpenIDConnectProviderList = append(out.OpenIDConnectProviderList, iamapi.OpenIDConnectProviderListEntry{Arn: str(OIDCProviderARN(acct, p.Issuer))})
	}
	return out, nil
}

// DeleteOpenIDConnectProvider deletes a provider. Roles that trust it
// keep their trust policies but can no longer be assumed with its tokens.
// IAM's reference calls the operation idempotent, but IAM answers
// NoSuchEntity for a provider that does not exist, and so does Berth.
func (s *Service) DeleteOpenIDConnectProvider(ctx context.Context, in *iamapi.DeleteOpenIDConnectProviderInput) (*iamapi.DeleteOpenIDConnectProviderOutput, error) {
	acct := account(ctx)
	issuer, err := parseProviderARN(*in.OpenIDConnectProviderArn, acct)
	if err != nil {
		return nil, err
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		err := tx.DeleteResource(kindOIDCProvider, acct, global, issuerKey(issuer))
		if errors.Is(err, store.ErrNotFound) {
			return iamapi.NewNoSuchEntityException("OpenId connect Provider %s cannot be found.", *in.OpenIDConnectProviderArn)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteOpenIDConnectProviderOutput{}, nil
}

// AddClientIDToOpenIDConnectProvider adds an audience; adding one the
// provider has already succeeds, as in IAM.
func (s *Service) AddClientIDToOpenIDConnectProvider(ctx context.Context, in *iamapi.AddClientIDToOpenIDConnectProviderInput) (*iamapi.AddClientIDToOpenIDConnectProviderOutput, error) {
	err := s.updateProvider(ctx, in.OpenIDConnectProviderArn, func(p *oidcProviderRecord) error {
		return p.addClientIDs(*in.ClientID)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.AddClientIDToOpenIDConnectProviderOutput{}, nil
}

// RemoveClientIDFromOpenIDConnectProvider removes an audience; removing
// one the provider does not have succeeds, as in IAM.
func (s *Service) RemoveClientIDFromOpenIDConnectProvider(ctx context.Context, in *iamapi.RemoveClientIDFromOpenIDConnectProviderInput) (*iamapi.RemoveClientIDFromOpenIDConnectProviderOutput, error) {
	err := s.updateProvider(ctx, in.OpenIDConnectProviderArn, func(p *oidcProviderRecord) error {
		p.ClientIDs = slices.DeleteFunc(p.ClientIDs, func(id string) bool { return id == *in.ClientID })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.RemoveClientIDFromOpenIDConnectProviderOutput{}, nil
}

// UpdateOpenIDConnectProviderThumbprint replaces the thumbprint list.
func (s *Service) UpdateOpenIDConnectProviderThumbprint(ctx context.Context, in *iamapi.UpdateOpenIDConnectProviderThumbprintInput) (*iamapi.UpdateOpenIDConnectProviderThumbprintOutput, error) {
	err := s.updateProvider(ctx, in.OpenIDConnectProviderArn, func(p *oidcProviderRecord) error {
		ts, err := setThumbprints(in.ThumbprintList)
		p.Thumbprints = ts
		return err
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateOpenIDConnectProviderThumbprintOutput{}, nil
}

// TagOpenIDConnectProvider adds tags, replacing the values of keys the
// provider has.
func (s *Service) TagOpenIDConnectProvider(ctx context.Context, in *iamapi.TagOpenIDConnectProviderInput) (*iamapi.TagOpenIDConnectProviderOutput, error) {
	err := s.updateProvider(ctx, in.OpenIDConnectProviderArn, func(p *oidcProviderRecord) error {
		return addTags(&p.Tags, in.Tags)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.TagOpenIDConnectProviderOutput{}, nil
}

// UntagOpenIDConnectProvider removes tags; keys it does not have are
// ignored.
func (s *Service) UntagOpenIDConnectProvider(ctx context.Context, in *iamapi.UntagOpenIDConnectProviderInput) (*iamapi.UntagOpenIDConnectProviderOutput, error) {
	err := s.updateProvider(ctx, in.OpenIDConnectProviderArn, func(p *oidcProviderRecord) error {
		p.Tags = removeTags(p.Tags, in.TagKeys)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UntagOpenIDConnectProviderOutput{}, nil
}

// ListOpenIDConnectProviderTags lists a provider's tags by key.
func (s *Service) ListOpenIDConnectProviderTags(ctx context.Context, in *iamapi.ListOpenIDConnectProviderTagsInput) (*iamapi.ListOpenIDConnectProviderTagsOutput, error) {
	p, err := s.viewProvider(ctx, in.OpenIDConnectProviderArn)
	if err != nil {
		return nil, err
	}
	items, truncated, marker := pageTags(p.Tags, in.Marker, in.MaxItems)
	return &iamapi.ListOpenIDConnectProviderTagsOutput{Tags: items, IsTruncated: truncated, Marker: marker}, nil
}

// OIDCProvider is what STS needs of a provider to accept its tokens.
type OIDCProvider struct {
	ARN string
	// URL is the issuer with its scheme: its discovery document is at
	// URL + "/.well-known/openid-configuration".
	URL string
	// Issuer is host/path, the prefix of the provider's condition keys
	// (<issuer>:sub, <issuer>:aud).
	Issuer    string
	ClientIDs []string
}

// ErrNoSuchOIDCProvider is returned by OIDCProviderFor when the account
// has no provider for an issuer.
var ErrNoSuchOIDCProvider = errors.New("iam: no such OpenID Connect provider")

// OIDCProviderFor returns acct's provider for a token's iss claim, which
// may name the issuer with or without its scheme.
func (s *Service) OIDCProviderFor(ctx context.Context, acct, iss string) (OIDCProvider, error) {
	issuer := iss
	if scheme, rest, ok := strings.Cut(iss, "://"); ok && (strings.EqualFold(scheme, "https") || strings.EqualFold(scheme, "http")) {
		issuer = rest
	}
	issuer = strings.TrimSuffix(issuer, "/")
	if issuer == "" {
		return OIDCProvider{}, ErrNoSuchOIDCProvider
	}
	var p oidcProviderRecord
	var found bool
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		found, err = get(tx, kindOIDCProvider, acct, issuerKey(issuer), &p)
		return err
	})
	if err != nil {
		return OIDCProvider{}, err
	}
	if !found {
		return OIDCProvider{}, ErrNoSuchOIDCProvider
	}
	return OIDCProvider{ARN: OIDCProviderARN(acct, p.Issuer), URL: p.url(), Issuer: p.Issuer, ClientIDs: slices.Clone(p.ClientIDs)}, nil
}
