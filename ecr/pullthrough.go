package ecr

import (
	"context"
	"errors"
	"strings"

	ecrapi "github.com/berth-dev/berth/api/ecr"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/ecr/pullthrough"
	"github.com/berth-dev/berth/store"
)

// maxPullThroughRules is ECR's quota of rules per registry.
const maxPullThroughRules = 50

// NewPullThroughCache returns the service's pull-through cache (the
// registry handler consults it, and its filler runs as a loop); the rule
// operations reach it to drop what they change from its memory.
func (s *Service) NewPullThroughCache(o pullthrough.Options) (*pullthrough.Cache, error) {
	o.Registry, o.Store, o.Repositories = s.reg, s.st, s
	if o.Log == nil {
		o.Log = s.log
	}
	if o.Now == nil {
		o.Now = s.now
	}
	c, err := pullthrough.New(o)
	if err != nil {
		return nil, err
	}
	s.ptc = c
	return c, nil
}

func ptcRuleNotFound(c caller, prefix string) error {
	return ecrapi.NewPullThroughCacheRuleNotFoundException("The pull through cache rule with prefix '%s' does not exist in the registry with id '%s'", prefix, c.Account)
}

// Upstream registries that AWS only accepts with credentials.
var credentialRequired = map[string]bool{
	"docker-hub": true, "github-container-registry": true, "azure-container-registry": true,
	"gitlab-container-registry": true, "chainguard": true,
}

// knownUpstream names the upstream registry of a well-known host, as AWS
// reports it when the request does not say.
func knownUpstream(host string) string {
	switch {
	case host == "registry-1.docker.io":
		return "docker-hub"
	case host == "public.ecr.aws":
		return "ecr-public"
	case host == "quay.io":
		return "quay"
	case host == "registry.k8s.io":
		return "k8s"
	case host == "ghcr.io":
		return "github-container-registry"
	case strings.HasSuffix(host, ".azurecr.io"):
		return "azure-container-registry"
	case host == "registry.gitlab.com":
		return "gitlab-container-registry"
	case host == "cgr.dev":
		return "chainguard"
	case strings.Contains(host, ".dkr.ecr.") && strings.HasSuffix(host, ".amazonaws.com"):
		return "ecr"
	}
	return ""
}

// checkCredential checks that a credential secret is the caller's and
// exists. Its content is checked by ValidatePullThroughCacheRule (and by
// every pull), as on AWS.
func (s *Service) checkCredential(ctx context.Context, c caller, arn string) error {
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) < 7 || parts[3] != c.Region || parts[4] != c.Account {
		return ecrapi.NewUnableToAccessSecretException("The secret '%s' is not in the registry's account %s and Region %s", arn, c.Account, c.Region)
	}
	_, _, err := pullthrough.ResolveCredentials(ctx, s.st, c.Account, c.Region, arn, s.now())
	switch {
	case errors.Is(err, pullthrough.ErrSecretNotFound):
		return ecrapi.NewSecretNotFoundException("The secret '%s' does not exist", arn)
	case err != nil && !errors.Is(err, pullthrough.ErrSecretInvalid):
		return internal("reading the credential secret", err)
	}
	return nil
}

func ruleOutput(r pullthrough.Rule) ecrapi.PullThroughCacheRule {
	out := ecrapi.PullThroughCacheRule{
		EcrRepositoryPrefix: ptr(r.Prefix), UpstreamRegistryUrl: ptr(r.UpstreamURL), RegistryId: ptr(r.Account),
		CreatedAt: awsapi.Time(r.CreatedAt), UpdatedAt: awsapi.Time(r.UpdatedAt),
	}
	// ECR reports the upstream prefix only when the rule was given one;
	// echoing the implied ROOT makes Terraform plan a replacement.
	if r.UpstreamPrefix != "" {
		out.UpstreamRepositoryPrefix = ptr(r.UpstreamPrefix)
	}
	if r.UpstreamRegistry != "" {
		out.UpstreamRegistry = ptr(ecrapi.UpstreamRegistry(r.UpstreamRegistry))
	}
	if r.CredentialArn != "" {
		out.CredentialArn = ptr(r.CredentialArn)
	}
	if r.CustomRoleArn != "" {
		out.CustomRoleArn = ptr(r.CustomRoleArn)
	}
	return out
}

func (s *Service) invalidateRules(c caller) {
	if s.ptc != nil {
		s.ptc.Invalidate(c.Account, c.Region)
	}
}

// CreatePullThroughCacheRule adds a rule: repositories under the prefix
// are filled from the upstream registry on first pull. Any OCI registry
// URL is accepted ("host[:port]" for HTTPS, or with an explicit http://
// or https:// scheme).
func (s *Service) CreatePullThroughCacheRule(ctx context.Context, in *ecrapi.CreatePullThroughCacheRuleInput) (*ecrapi.CreatePullThroughCacheRuleOutput, error) {
	c, err := s.callerOf(ctx, "CreatePullThroughCacheRule", in.RegistryId)
	if err != nil {
		return nil, err
	}
	r := pullthrough.Rule{
		Account: c.Account, Region: c.Region, Prefix: *in.EcrRepositoryPrefix, UpstreamURL: *in.UpstreamRegistryUrl,
		CredentialArn: str(in.CredentialArn), CustomRoleArn: str(in.CustomRoleArn), UpstreamPrefix: str(in.UpstreamRepositoryPrefix),
	}
	base, err := pullthrough.ParseUpstreamURL(r.UpstreamURL)
	if err != nil {
		return nil, invalidParam("Invalid parameter at 'upstreamRegistryUrl' failed to satisfy constraint: '%s'", err.Error())
	}
	if in.UpstreamRegistry != nil {
		r.UpstreamRegistry = string(*in.UpstreamRegistry)
	} else {
		r.UpstreamRegistry = knownUpstream(base.Hostname())
	}
	if r.UpstreamPrefix != "" && r.UpstreamPrefix != pullthrough.Root && r.Prefix == pullthrough.Root {
		return nil, invalidParam("Invalid parameter at 'upstreamRepositoryPrefix' failed to satisfy constraint: 'An upstream repository prefix can only be set when the ECR repository prefix is not ROOT'")
	}
	if credentialRequired[r.UpstreamRegistry] && r.CredentialArn == "" {
		return nil, invalidParam("Invalid parameter at 'credentialArn' failed to satisfy constraint: 'A credential ARN is required for upstream registry %s'", r.UpstreamRegistry)
	}
	if r.CredentialArn != "" {
		if err := s.checkCredential(ctx, c, r.CredentialArn); err != nil {
			return nil, err
		}
	}
	now := s.now().UTC()
	r.CreatedAt, r.UpdatedAt = now, now
	err = s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := pullthrough.GetRule(tx, c.Account, c.Region, r.Prefix); err == nil {
			return ecrapi.NewPullThroughCacheRuleAlreadyExistsException("A pull through cache rule with prefix '%s' already exists in the registry with id '%s'", r.Prefix, c.Account)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		all, err := pullthrough.ListRules(tx, c.Account, c.Region)
		if err != nil {
			return err
		}
		if len(all) >= maxPullThroughRules {
			return ecrapi.NewLimitExceededException("A registry can have at most %d pull through cache rules", maxPullThroughRules)
		}
		return pullthrough.PutRule(tx, r)
	})
	if err != nil {
		if awsapi.AsError(err) != nil {
			return nil, err
		}
		return nil, internal("CreatePullThroughCacheRule", err)
	}
	s.invalidateRules(c)
	o := ruleOutput(r)
	return &ecrapi.CreatePullThroughCacheRuleOutput{
		EcrRepositoryPrefix: o.EcrRepositoryPrefix, UpstreamRegistryUrl: o.UpstreamRegistryUrl, CreatedAt: o.CreatedAt,
		RegistryId: o.RegistryId, UpstreamRegistry: o.UpstreamRegistry, CredentialArn: o.CredentialArn,
		CustomRoleArn: o.CustomRoleArn, UpstreamRepositoryPrefix: o.UpstreamRepositoryPrefix,
	}, nil
}

// DescribePullThroughCacheRules lists the rules, or the ones named.
func (s *Service) DescribePullThroughCacheRules(ctx context.Context, in *ecrapi.DescribePullThroughCacheRulesInput) (*ecrapi.DescribePullThroughCacheRulesOutput, error) {
	c, err := s.callerOf(ctx, "DescribePullThroughCacheRules", in.RegistryId)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	var rules []pullthrough.Rule
	if err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		rules, err = pullthrough.ListRules(tx, c.Account, c.Region)
		return err
	}); err != nil {
		return nil, internal("DescribePullThroughCacheRules", err)
	}
	if in.EcrRepositoryPrefixes != nil {
		have := map[string]bool{}
		for _, r := range rules {
			have[r.Prefix] = true
		}
		for _, p := range in.EcrRepositoryPrefixes {
			if !have[p] {
				return nil, ptcRuleNotFound(c, p)
			}
		}
	}
	limit := maxResults(in.MaxResults)
	out := &ecrapi.DescribePullThroughCacheRulesOutput{PullThroughCacheRules: []ecrapi.PullThroughCacheRule{}}
	for _, r := range rules {
		if r.Prefix <= after && after != "" {
			continue
		}
		if in.EcrRepositoryPrefixes != nil && !contains(in.EcrRepositoryPrefixes, r.Prefix) {
			continue
		}
		if len(out.PullThroughCacheRules) == limit {
			out.NextToken = encodeToken(str(out.PullThroughCacheRules[limit-1].EcrRepositoryPrefix))
			break
		}
		out.PullThroughCacheRules = append(out.PullThroughCacheRules, ruleOutput(r))
	}
	return out, nil
}

// UpdatePullThroughCacheRule changes a rule's credentials.
func (s *Service) UpdatePullThroughCacheRule(ctx context.Context, in *ecrapi.UpdatePullThroughCacheRuleInput) (*ecrapi.UpdatePullThroughCacheRuleOutput, error) {
	c, err := s.callerOf(ctx, "UpdatePullThroughCacheRule", in.RegistryId)
	if err != nil {
		return nil, err
	}
	prefix := *in.EcrRepositoryPrefix
	if in.CredentialArn != nil {
		if err := s.checkCredential(ctx, c, *in.CredentialArn); err != nil {
			return nil, err
		}
	}
	var r pullthrough.Rule
	err = s.st.Update(ctx, func(tx store.Tx) error {
		var err error
		r, err = pullthrough.GetRule(tx, c.Account, c.Region, prefix)
		if errors.Is(err, store.ErrNotFound) {
			return ptcRuleNotFound(c, prefix)
		} else if err != nil {
			return err
		}
		if in.CredentialArn != nil {
			r.CredentialArn = *in.CredentialArn
		}
		if in.CustomRoleArn != nil {
			r.CustomRoleArn = *in.CustomRoleArn
		}
		r.UpdatedAt = s.now().UTC()
		return pullthrough.PutRule(tx, r)
	})
	if err != nil {
		if awsapi.AsError(err) != nil {
			return nil, err
		}
		return nil, internal("UpdatePullThroughCacheRule", err)
	}
	s.invalidateRules(c)
	o := ruleOutput(r)
	return &ecrapi.UpdatePullThroughCacheRuleOutput{
		EcrRepositoryPrefix: o.EcrRepositoryPrefix, RegistryId: o.RegistryId, UpdatedAt: o.UpdatedAt,
		CredentialArn: o.CredentialArn, CustomRoleArn: o.CustomRoleArn, UpstreamRepositoryPrefix: o.UpstreamRepositoryPrefix,
	}, nil
}

// DeletePullThroughCacheRule removes a rule and returns it. The
// repositories it filled stay, with their images.
func (s *Service) DeletePullThroughCacheRule(ctx context.Context, in *ecrapi.DeletePullThroughCacheRuleInput) (*ecrapi.DeletePullThroughCacheRuleOutput, error) {
	c, err := s.callerOf(ctx, "DeletePullThroughCacheRule", in.RegistryId)
	if err != nil {
		return nil, err
	}
	prefix := *in.EcrRepositoryPrefix
	var r pullthrough.Rule
	err = s.st.Update(ctx, func(tx store.Tx) error {
		var err error
		r, err = pullthrough.GetRule(tx, c.Account, c.Region, prefix)
		if errors.Is(err, store.ErrNotFound) {
			return ptcRuleNotFound(c, prefix)
		} else if err != nil {
			return err
		}
		return pullthrough.DeleteRule(tx, c.Account, c.Region, prefix)
	})
	if err != nil {
		if awsapi.AsError(err) != nil {
			return nil, err
		}
		return nil, internal("DeletePullThroughCacheRule", err)
	}
	s.invalidateRules(c)
	o := ruleOutput(r)
	return &ecrapi.DeletePullThroughCacheRuleOutput{
		EcrRepositoryPrefix: o.EcrRepositoryPrefix, UpstreamRegistryUrl: o.UpstreamRegistryUrl, CreatedAt: o.CreatedAt,
		RegistryId: o.RegistryId, CredentialArn: o.CredentialArn, CustomRoleArn: o.CustomRoleArn,
		UpstreamRepositoryPrefix: o.UpstreamRepositoryPrefix,
	}, nil
}

// ValidatePullThroughCacheRule reads the rule's secret and signs in to the
// upstream with it; a failure is reported in the answer, not as an error.
func (s *Service) ValidatePullThroughCacheRule(ctx context.Context, in *ecrapi.ValidatePullThroughCacheRuleInput) (*ecrapi.ValidatePullThroughCacheRuleOutput, error) {
	c, err := s.callerOf(ctx, "ValidatePullThroughCacheRule", in.RegistryId)
	if err != nil {
		return nil, err
	}
	prefix := *in.EcrRepositoryPrefix
	var r pullthrough.Rule
	err = s.st.View(ctx, func(tx store.Tx) error {
		var err error
		r, err = pullthrough.GetRule(tx, c.Account, c.Region, prefix)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ptcRuleNotFound(c, prefix)
	}
	if err != nil {
		return nil, internal("ValidatePullThroughCacheRule", err)
	}
	if s.ptc == nil {
		return nil, internal("ValidatePullThroughCacheRule", errors.New("the pull-through cache is not running"))
	}
	o := ruleOutput(r)
	out := &ecrapi.ValidatePullThroughCacheRuleOutput{
		EcrRepositoryPrefix: o.EcrRepositoryPrefix, RegistryId: o.RegistryId, UpstreamRegistryUrl: o.UpstreamRegistryUrl,
		CredentialArn: o.CredentialArn, CustomRoleArn: o.CustomRoleArn, UpstreamRepositoryPrefix: o.UpstreamRepositoryPrefix,
		IsValid: ptr(true),
	}
	if err := s.ptc.Validate(ctx, r); err != nil {
		out.IsValid, out.Failure = ptr(false), ptr(err.Error())
	}
	return out, nil
}
