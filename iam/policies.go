package iam

import (
	"context"
	"slices"
	"strings"
	"time"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/iam/policy"
	"github.com/berth-dev/berth/store"
)

// policyRecord is a customer managed policy as the store keeps it.
// Document is the default version's document; Versions (policyversions.go)
// is empty until CreatePolicyVersion, meaning one version, v1.
type policyRecord struct {
	Name        string    `json:"name"`
	ID          string    `json:"id"`
	Path        string    `json:"path"`
	Description string    `json:"description,omitempty"`
	Document    string    `json:"document"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
	Attachments int32     `json:"attachments"`
	Tags        []tag     `json:"tags,omitempty"`
	// Versions, DefaultVersion and LastVersion: see policyversions.go.
	Versions       []policyVersion `json:"versions,omitempty"`
	DefaultVersion string          `json:"defaultVersion,omitempty"`
	LastVersion    int             `json:"lastVersion,omitempty"`
}

func (p policyRecord) arn(acct string) string {
	return "arn:aws:iam::" + acct + ":policy" + p.Path + p.Name
}

// wire is the policy as IAM returns it; the description is only in
// GetPolicy's answer, as in IAM's.
func (p policyRecord) wire(acct string, withDescription bool) iamapi.Policy {
	zero, yes := int32(0), true
	out := iamapi.Policy{
		PolicyName: str(p.Name), PolicyId: str(p.ID), Arn: str(p.arn(acct)), Path: str(p.Path),
		DefaultVersionId: str(p.defaultID()), AttachmentCount: &p.Attachments, PermissionsBoundaryUsageCount: &zero,
		IsAttachable: &yes, CreateDate: awsapi.Time(p.Created), UpdateDate: awsapi.Time(p.Updated),
	}
	if withDescription {
		out.Description = optional(p.Description)
	}
	if len(p.Tags) > 0 {
		out.Tags = wireTags(p.Tags)
	}
	return out
}

// CreatePolicy creates a customer managed policy (stored, not enforced).
func (s *Service) CreatePolicy(ctx context.Context, in *iamapi.CreatePolicyInput) (*iamapi.CreatePolicyOutput, error) {
	acct := account(ctx)
	doc := *in.PolicyDocument
	if _, err := checkPolicy(doc, policy.Identity); err != nil {
		return nil, err
	}
	if policy.Size(doc) > maxManagedPolicySize {
		return nil, iamapi.NewLimitExceededException("Cannot exceed quota for PolicySize: %d", maxManagedPolicySize)
	}
	tags, err := mergePolicyTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	p := policyRecord{Name: *in.PolicyName, ID: newID("ANPA"), Path: "/", Description: deref(in.Description),
		Document: doc, Created: now, Updated: now, Tags: tags}
	if in.Path != nil {
		p.Path = *in.Path
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		return create(tx, kindPolicy, acct, p.Name, p, now, func(policyRecord) error {
			return iamapi.NewEntityAlreadyExistsException("A policy called %s already exists. Duplicate names are not allowed.", p.Name)
		}, maxPoliciesPerAccount, iamapi.NewLimitExceededException("Cannot exceed quota for PoliciesPerAccount: %d", maxPoliciesPerAccount))
	})
	if err != nil {
		return nil, err
	}
	out := p.wire(acct, false)
	return &iamapi.CreatePolicyOutput{Policy: &out}, nil
}

// getPolicy reads the customer managed policy arn names in the caller's
// account. AWS managed policies are not known to Berth.
func (s *Service) getPolicy(tx store.Tx, acct, arn string) (policyRecord, error) {
	pa, ok := parsePolicyARN(arn)
	if !ok {
		return policyRecord{}, invalidARN(arn)
	}
	var p policyRecord
	if pa.account != acct {
		return p, iamapi.NewNoSuchEntityException("Policy %s does not exist or is not attachable.", arn)
	}
	found, err := get(tx, kindPolicy, acct, key(pa.name), &p)
	if err != nil {
		return p, err
	}
	if !found || p.Path != pa.path || p.Name != pa.name {
		return p, iamapi.NewNoSuchEntityException("Policy %s does not exist or is not attachable.", arn)
	}
	return p, nil
}

func (s *Service) viewPolicy(ctx context.Context, arn string) (policyRecord, error) {
	return view(ctx, s, arn, s.getPolicy)
}

// GetPolicy returns a customer managed policy.
func (s *Service) GetPolicy(ctx context.Context, in *iamapi.GetPolicyInput) (*iamapi.GetPolicyOutput, error) {
	p, err := s.viewPolicy(ctx, *in.PolicyArn)
	if err != nil {
		return nil, err
	}
	out := p.wire(account(ctx), true)
	// GetPolicy lists the tags even when there are none.
	out.Tags = wireTags(p.Tags)
	return &iamapi.GetPolicyOutput{Policy: &out}, nil
}

// DeletePolicy deletes a customer managed policy that nothing uses.
func (s *Service) DeletePolicy(ctx context.Context, in *iamapi.DeletePolicyInput) (*iamapi.DeletePolicyOutput, error) {
	acct := account(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		p, err := s.getPolicy(tx, acct, *in.PolicyArn)
		if err != nil {
			return err
		}
		if p.Attachments > 0 {
			return iamapi.NewDeleteConflictException("Cannot delete a policy attached to entities.")
		}
		if len(p.Versions) > 1 {
			return iamapi.NewDeleteConflictException("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
		}
		return tx.DeleteResource(kindPolicy, acct, global, key(p.Name))
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeletePolicyOutput{}, nil
}

// ListPolicies lists the account's customer managed policies (Scope Local
// or All); Berth has no catalogue of AWS managed policies, so Scope AWS
// lists none.
func (s *Service) ListPolicies(ctx context.Context, in *iamapi.ListPoliciesInput) (*iamapi.ListPoliciesOutput, error) {
	acct := account(ctx)
	var ps []policyRecord
	if in.Scope == nil || *in.Scope != iamapi.PolicyScopeTypeAws {
		var err error
		ps, err = viewAll[policyRecord](ctx, s, kindPolicy, acct)
		if err != nil {
			return nil, err
		}
	}
	prefix := deref(in.PathPrefix)
	onlyAttached := in.OnlyAttached != nil && *in.OnlyAttached
	ps = slices.DeleteFunc(ps, func(p policyRecord) bool {
		return !strings.HasPrefix(p.Path, prefix) || onlyAttached && p.Attachments == 0
	})
	items, truncated, marker := page(ps, func(p policyRecord) string { return key(p.Name) }, in.Marker, in.MaxItems)
	out := &iamapi.ListPoliciesOutput{Policies: make([]iamapi.Policy, 0, len(items)), IsTruncated: truncated, Marker: marker}
	for _, p := range items {
		w := p.wire(acct, false)
		// ListPolicies leaves tags out, as IAM's listing operations do.
		w.Tags = nil
		out.Policies = append(out.Policies, w)
	}
	return out, nil
}
