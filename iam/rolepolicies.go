package iam

import (
	"context"
	"strings"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/iam/policy"
	"github.com/berth-dev/berth/store"
)

func noSuchRolePolicy(name string) error {
	return iamapi.NewNoSuchEntityException("The role policy with name %s cannot be found.", name)
}

// PutRolePolicy adds or replaces an inline policy of a role.
func (s *Service) PutRolePolicy(ctx context.Context, in *iamapi.PutRolePolicyInput) (*iamapi.PutRolePolicyOutput, error) {
	doc := *in.PolicyDocument
	if _, err := checkPolicy(doc, policy.Identity); err != nil {
		return nil, err
	}
	_, err := s.updateRole(ctx, *in.RoleName, func(r *roleRecord, _ store.Tx) error {
		if r.isServiceLinked() {
			return protectedRole(r.Name)
		}
		var err error
		r.Inline, err = putInline(r.Inline, *in.PolicyName, doc, maxInlinePolicySize, "role "+r.Name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.PutRolePolicyOutput{}, nil
}

// GetRolePolicy returns an inline policy of a role.
func (s *Service) GetRolePolicy(ctx context.Context, in *iamapi.GetRolePolicyInput) (*iamapi.GetRolePolicyOutput, error) {
	r, err := s.viewRole(ctx, *in.RoleName)
	if err != nil {
		return nil, err
	}
	doc, ok := r.Inline[*in.PolicyName]
	if !ok {
		return nil, noSuchRolePolicy(*in.PolicyName)
	}
	return &iamapi.GetRolePolicyOutput{RoleName: str(r.Name), PolicyName: in.PolicyName, PolicyDocument: str(EncodeDocument(doc))}, nil
}

// DeleteRolePolicy deletes an inline policy of a role.
func (s *Service) DeleteRolePolicy(ctx context.Context, in *iamapi.DeleteRolePolicyInput) (*iamapi.DeleteRolePolicyOutput, error) {
	_, err := s.updateRole(ctx, *in.RoleName, func(r *roleRecord, _ store.Tx) error {
		if r.isServiceLinked() {
			return protectedRole(r.Name)
		}
		if _, ok := r.Inline[*in.PolicyName]; !ok {
			return noSuchRolePolicy(*in.PolicyName)
		}
		delete(r.Inline, *in.PolicyName)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteRolePolicyOutput{}, nil
}

// ListRolePolicies lists the names of a role's inline policies.
func (s *Service) ListRolePolicies(ctx context.Context, in *iamapi.ListRolePoliciesInput) (*iamapi.ListRolePoliciesOutput, error) {
	r, err := s.viewRole(ctx, *in.RoleName)
	if err != nil {
		return nil, err
	}
	items, truncated, marker := pageNames(r.Inline, in.Marker, in.MaxItems)
	return &iamapi.ListRolePoliciesOutput{PolicyNames: items, IsTruncated: truncated, Marker: marker}, nil
}

// policyARN is a managed policy's ARN split up: the account (aws for
// AWS managed policies), the path and the name.
type policyARN struct{ account, path, name string }

func parsePolicyARN(arn string) (policyARN, bool) {
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::")
	if !ok {
		return policyARN{}, false
	}
	acct, rest, ok := strings.Cut(rest, ":policy/")
	if !ok || (acct != "aws" && !isAccount(acct)) || rest == "" || strings.HasSuffix(rest, "/") {
		return policyARN{}, false
	}
	i := strings.LastIndex(rest, "/")
	return policyARN{account: acct, path: "/" + rest[:i+1], name: rest[i+1:]}, true
}

func invalidARN(arn string) error {
	// Something that is not an ARN at all fails IAM's input validation;
	// an ARN of the wrong kind is refused as InvalidInput.
	if !strings.HasPrefix(arn, "arn:") {
		return awsapi.Errorf("ValidationError", "ARN %s is not valid.", arn)
	}
	return iamapi.NewInvalidInputException("ARN %s is not valid.", arn)
}

func notAttachable(arn string) error {
	return iamapi.NewNoSuchEntityException("Policy %s does not exist or is not attachable.", arn)
}

// AttachRolePolicy attaches a managed policy to a role. AWS managed
// policies (arn:aws:iam::aws:policy/...) are accepted as given; customer
// managed ones must exist in the caller's account.
func (s *Service) AttachRolePolicy(ctx context.Context, in *iamapi.AttachRolePolicyInput) (*iamapi.AttachRolePolicyOutput, error) {
	if _, ok := parsePolicyARN(*in.PolicyArn); !ok {
		return nil, invalidARN(*in.PolicyArn)
	}
	_, err := s.updateRole(ctx, *in.RoleName, func(r *roleRecord, tx store.Tx) error {
		if r.isServiceLinked() {
			return protectedRole(r.Name)
		}
		var err error
		r.Attached, err = s.attach(tx, account(ctx), r.Attached, *in.PolicyArn, maxAttachedPerRole, "PoliciesPerRole")
		return err
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.AttachRolePolicyOutput{}, nil
}

// countAttachment adds delta to a customer managed policy's attachment
// count; the policy must exist in acct.
func (s *Service) countAttachment(tx store.Tx, acct string, pa policyARN, arn string, delta int32) error {
	if pa.account != acct {
		return notAttachable(arn)
	}
	var p policyRecord
	found, err := get(tx, kindPolicy, acct, key(pa.name), &p)
	if err != nil {
		return err
	}
	if !found || p.Path != pa.path {
		if delta < 0 {
			return nil // deleted meanwhile: nothing to count down
		}
		return notAttachable(arn)
	}
	p.Attachments = max(0, p.Attachments+delta)
	return put(tx, kindPolicy, acct, key(p.Name), p, s.clock())
}

// DetachRolePolicy detaches a managed policy from a role.
func (s *Service) DetachRolePolicy(ctx context.Context, in *iamapi.DetachRolePolicyInput) (*iamapi.DetachRolePolicyOutput, error) {
	if _, ok := parsePolicyARN(*in.PolicyArn); !ok {
		return nil, invalidARN(*in.PolicyArn)
	}
	_, err := s.updateRole(ctx, *in.RoleName, func(r *roleRecord, tx store.Tx) error {
		if r.isServiceLinked() {
			return protectedRole(r.Name)
		}
		var err error
		r.Attached, err = s.detach(tx, account(ctx), r.Attached, *in.PolicyArn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DetachRolePolicyOutput{}, nil
}

// ListAttachedRolePolicies lists the managed policies attached to a role
// whose path starts with PathPrefix.
func (s *Service) ListAttachedRolePolicies(ctx context.Context, in *iamapi.ListAttachedRolePoliciesInput) (*iamapi.ListAttachedRolePoliciesOutput, error) {
	r, err := s.viewRole(ctx, *in.RoleName)
	if err != nil {
		return nil, err
	}
	items, truncated, marker := pageAttached(r.Attached, deref(in.PathPrefix), in.Marker, in.MaxItems)
	return &iamapi.ListAttachedRolePoliciesOutput{AttachedPolicies: items, IsTruncated: truncated, Marker: marker}, nil
}
