package ecr

import (
	"context"
	"encoding/json"
	"strings"

	ecrapi "github.com/berth-dev/berth/api/ecr"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/awsapi/wildcard"
	"github.com/berth-dev/berth/ecr/replication"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/store"
)

// maxReplicationDestinations is ECR's limit on the distinct destinations
// of a registry's rules.
const maxReplicationDestinations = 25

// NewReplicator returns the service's replication worker; the registry's
// push hook feeds it (OnPush) and it runs as a loop (Run).
func (s *Service) NewReplicator(o replication.Options) (*replication.Replicator, error) {
	o.Registry, o.Store, o.Registries = s.reg, s.st, s
	if o.Log == nil {
		o.Log = s.log
	}
	if o.Now == nil {
		o.Now = s.now
	}
	r, err := replication.New(o)
	if err != nil {
		return nil, err
	}
	s.replicator = r
	return r, nil
}

// PutReplicationConfiguration replaces the registry's replication rules.
// Each later push (and tag change) to a repository a rule matches is
// copied to the rule's destinations; images already in the repositories
// are not, as on AWS.
func (s *Service) PutReplicationConfiguration(ctx context.Context, in *ecrapi.PutReplicationConfigurationInput) (*ecrapi.PutReplicationConfigurationOutput, error) {
	c := s.callerIn(ctx)
	cfg, err := replicationFromAPI(c, in.ReplicationConfiguration)
	if err != nil {
		return nil, err
	}
	if err := s.st.Update(ctx, func(tx store.Tx) error {
		_, err := replication.PutConfig(tx, c.Account, c.Region, cfg, s.now().UTC())
		return err
	}); err != nil {
		return nil, internal("PutReplicationConfiguration", err)
	}
	return &ecrapi.PutReplicationConfigurationOutput{ReplicationConfiguration: replicationToAPI(cfg)}, nil
}

// replicationFromAPI checks a configuration as ECR does and converts it.
func replicationFromAPI(c caller, in *ecrapi.ReplicationConfiguration) (replication.Configuration, error) {
	cfg := replication.Configuration{Rules: []replication.Rule{}}
	seen := map[replication.Destination]bool{}
	for i, r := range in.Rules {
		rule := replication.Rule{}
		if len(r.Destinations) == 0 {
			return cfg, invalidParam("Invalid parameter at 'replicationConfiguration.rules.%d.member.destinations' failed to satisfy constraint: 'A replication rule needs at least one destination'", i+1)
		}
		for _, d := range r.Destinations {
			dst := replication.Destination{Region: str(d.Region), RegistryID: str(d.RegistryId)}
			if !awsapi.ValidRegion(dst.Region) {
				return cfg, invalidParam("Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: 'Invalid destination region: %s'", dst.Region)
			}
			if dst.Region == c.Region && dst.RegistryID == c.Account {
				return cfg, invalidParam("Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: 'Replication destination cannot be the source registry (region %s, registryId %s)'", dst.Region, dst.RegistryID)
			}
			for _, have := range rule.Destinations {
				if have == dst {
					return cfg, invalidParam("Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: 'Duplicate destination (region %s, registryId %s) in a rule'", dst.Region, dst.RegistryID)
				}
			}
			rule.Destinations = append(rule.Destinations, dst)
			seen[dst] = true
		}
		for _, f := range r.RepositoryFilters {
			p := str(f.Filter)
			if f.FilterType == nil || *f.FilterType != ecrapi.RepositoryFilterTypePrefixMatch {
				return cfg, invalidParam("Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: 'The only repository filter type is PREFIX_MATCH'")
			}
			for _, have := range rule.Prefixes {
				if have == p {
					return cfg, invalidParam("Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: 'Duplicate repository filter %s in a rule'", p)
				}
			}
			rule.Prefixes = append(rule.Prefixes, p)
		}
		cfg.Rules = append(cfg.Rules, rule)
	}
	if len(seen) > maxReplicationDestinations {
		return cfg, invalidParam("Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: 'A replication configuration can have at most %d unique destinations, got %d'", maxReplicationDestinations, len(seen))
	}
	return cfg, nil
}

func replicationToAPI(cfg replication.Configuration) *ecrapi.ReplicationConfiguration {
	out := &ecrapi.ReplicationConfiguration{Rules: []ecrapi.ReplicationRule{}}
	for _, r := range cfg.Rules {
		rule := ecrapi.ReplicationRule{Destinations: []ecrapi.ReplicationDestination{}}
		for _, d := range r.Destinations {
			rule.Destinations = append(rule.Destinations, ecrapi.ReplicationDestination{Region: ptr(d.Region), RegistryId: ptr(d.RegistryID)})
		}
		for _, p := range r.Prefixes {
			rule.RepositoryFilters = append(rule.RepositoryFilters, ecrapi.RepositoryFilter{Filter: ptr(p), FilterType: ptr(ecrapi.RepositoryFilterTypePrefixMatch)})
		}
		out.Rules = append(out.Rules, rule)
	}
	return out
}

// replicationConfiguration is the registry's configuration as
// DescribeRegistry shows it.
func (s *Service) replicationConfiguration(ctx context.Context, c caller) (*ecrapi.ReplicationConfiguration, error) {
	var cfg replication.Configuration
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		cfg, err = replication.GetConfig(tx, c.Account, c.Region)
		return err
	})
	if err != nil {
		return nil, err
	}
	return replicationToAPI(cfg), nil
}

// DescribeImageReplicationStatus reports an image's replication to each
// destination: IN_PROGRESS (also while retrying a destination that does not
// answer), COMPLETE, or FAILED with a failure code.
func (s *Service) DescribeImageReplicationStatus(ctx context.Context, in *ecrapi.DescribeImageReplicationStatusInput) (*ecrapi.DescribeImageReplicationStatusOutput, error) {
	c, err := s.callerOf(ctx, "DescribeImageReplicationStatus", in.RegistryId)
	if err != nil {
		return nil, err
	}
	name := *in.RepositoryName
	imgs, err := s.listImages(ctx, "DescribeImageReplicationStatus", c, name)
	if err != nil {
		return nil, err
	}
	img, code, _ := findImage(imgs, *in.ImageId)
	if code != "" {
		return nil, imageNotFound(c, name, *in.ImageId)
	}
	out := &ecrapi.DescribeImageReplicationStatusOutput{
		RepositoryName:      ptr(name),
		ImageId:             &ecrapi.ImageIdentifier{ImageDigest: ptr(img.Digest.String()), ImageTag: in.ImageId.ImageTag},
		ReplicationStatuses: []ecrapi.ImageReplicationStatus{},
	}
	if s.replicator == nil {
		return out, nil
	}
	sts, err := s.replicator.Status(ctx, c.repo(name), img.Digest)
	if err != nil {
		return nil, internal("DescribeImageReplicationStatus", err)
	}
	for _, st := range sts {
		rs := ecrapi.ImageReplicationStatus{Region: ptr(st.Region), RegistryId: ptr(st.RegistryID), Status: ptr(ecrapi.ReplicationStatus(st.Status))}
		if st.Status == replication.Failed && st.FailureCode != "" {
			rs.FailureCode = ptr(st.FailureCode)
		}
		out.ReplicationStatuses = append(out.ReplicationStatuses, rs)
	}
	return out, nil
}

// ReplicationAllowed reports whether the registry of dst grants account
// source ecr:ReplicateImage (and ecr:CreateRepository when the repository
// is to be created) in its registry permissions policy, as cross-account
// replication on AWS requires. A Deny that matches wins.
func (s *Service) ReplicationAllowed(ctx context.Context, source string, dst registry.Repo, create bool) (bool, error) {
	var text string
	found, err := s.getDoc(ctx, kindRegistryPolicy, caller{Account: dst.Account, Region: dst.Region}, "policy", &text)
	if err != nil || !found {
		return false, err
	}
	actions := []string{"ecr:ReplicateImage"}
	if create {
		actions = append(actions, "ecr:CreateRepository")
	}
	for _, a := range actions {
		if !policyAllows(text, source, a) {
			return false, nil
		}
	}
	return true, nil
}

// policyAllows evaluates the statements of a registry policy for one
// account principal and one action.
func policyAllows(text, account, action string) bool {
	var doc struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if json.Unmarshal([]byte(text), &doc) != nil {
		return false
	}
	type statement struct {
		Effect    string `json:"Effect"`
		Principal any    `json:"Principal"`
		Action    any    `json:"Action"`
	}
	var stmts []statement
	if err := json.Unmarshal(doc.Statement, &stmts); err != nil {
		var one statement
		if json.Unmarshal(doc.Statement, &one) != nil {
			return false
		}
		stmts = []statement{one}
	}
	allowed := false
	for _, st := range stmts {
		if !principalMatches(st.Principal, account) || !anyMatches(st.Action, action) {
			continue
		}
		switch st.Effect {
		case "Deny":
			return false
		case "Allow":
			allowed = true
		}
	}
	return allowed
}

func stringList(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func principalMatches(p any, account string) bool {
	if s, ok := p.(string); ok {
		return s == "*"
	}
	m, ok := p.(map[string]any)
	if !ok {
		return false
	}
	for _, v := range stringList(m["AWS"]) {
		if v == "*" || v == account || v == "arn:aws:iam::"+account+":root" {
			return true
		}
	}
	return false
}

func anyMatches(v any, action string) bool {
	for _, a := range stringList(v) {
		if registryWildcard(strings.ToLower(a), strings.ToLower(action)) {
			return true
		}
	}
	return false
}

// registryWildcard matches an IAM action pattern ('*' any run, '?' one
// character).
func registryWildcard(pattern, s string) bool {
	return wildcard.Match([]byte(pattern), []byte(s))
}
