package iam

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/iam/policy"
	"github.com/berth-dev/berth/store"
)

// maxPolicyVersions is how many versions a managed policy keeps, as IAM.
const maxPolicyVersions = 5

// policyVersion is one version of a managed policy.
type policyVersion struct {
	ID       string    `json:"id"` // v1, v2, ...; never reused
	Document string    `json:"document"`
	Created  time.Time `json:"created"`
}

// versions are the policy's versions, oldest first; a policy that never
// had a second version has v1 alone, its Document.
func (p policyRecord) versions() []policyVersion {
	if len(p.Versions) == 0 {
		return []policyVersion{{ID: "v1", Document: p.Document, Created: p.Created}}
	}
	return p.Versions
}

func (p policyRecord) defaultID() string {
	if p.DefaultVersion == "" {
		return "v1"
	}
	return p.DefaultVersion
}

func (v policyVersion) wire(isDefault, withDocument bool) iamapi.PolicyVersion {
	out := iamapi.PolicyVersion{VersionId: str(v.ID), IsDefaultVersion: &isDefault, CreateDate: awsapi.Time(v.Created)}
	if withDocument {
		out.Document = str(EncodeDocument(v.Document))
	}
	return out
}

func noSuchVersion(arn, id string) error {
	return iamapi.NewNoSuchEntityException("Policy %s version %s does not exist or is not attachable.", arn, id)
}

// missingPolicy rewords a missing policy's NoSuchEntity as the operation
// words it: the version operations name the version, the tag operations
// say "was not found".
func missingPolicy(err error, as func() error) error {
	var e *awsapi.Error
	if errors.As(err, &e) && e.Code == iamapi.CodeNoSuchEntityException {
		return as()
	}
	return err
}

func policyNotFound(arn string) func() error {
	return func() error { return iamapi.NewNoSuchEntityException("Policy %s was not found.", arn) }
}

// updatePolicy runs fn on the stored policy arn names and stores it.
func (s *Service) updatePolicy(ctx context.Context, arn string, fn func(p *policyRecord) error) (policyRecord, error) {
	return update(ctx, s, kindPolicy, arn, s.getPolicy, func(p *policyRecord, _ store.Tx) error { return fn(p) })
}

// GetPolicyVersion returns a version of a policy with its document.
func (s *Service) GetPolicyVersion(ctx context.Context, in *iamapi.GetPolicyVersionInput) (*iamapi.GetPolicyVersionOutput, error) {
	p, err := s.viewPolicy(ctx, *in.PolicyArn)
	if err != nil {
		return nil, missingPolicy(err, func() error { return noSuchVersion(*in.PolicyArn, *in.VersionId) })
	}
	i := slices.IndexFunc(p.versions(), func(v policyVersion) bool { return v.ID == *in.VersionId })
	if i < 0 {
		return nil, noSuchVersion(*in.PolicyArn, *in.VersionId)
	}
	v := p.versions()[i]
	out := v.wire(v.ID == p.defaultID(), true)
	return &iamapi.GetPolicyVersionOutput{PolicyVersion: &out}, nil
}

// ListPolicyVersions lists a policy's versions, newest first, without
// their documents.
func (s *Service) ListPolicyVersions(ctx context.Context, in *iamapi.ListPolicyVersionsInput) (*iamapi.ListPolicyVersionsOutput, error) {
	p, err := s.viewPolicy(ctx, *in.PolicyArn)
	if err != nil {
		return nil, err
	}
	vs := slices.Clone(p.versions())
	slices.Reverse(vs)
	// Page by a sortable key: newest (highest number) first.
	keyOf := func(v policyVersion) string {
		n, _ := strconv.Atoi(strings.TrimPrefix(v.ID, "v"))
		return fmt.Sprintf("%010d", 1<<30-n)
	}
	items, truncated, marker := page(vs, keyOf, in.Marker, in.MaxItems)
	out := &iamapi.ListPolicyVersionsOutput{Versions: make([]iamapi.PolicyVersion, 0, len(items)), IsTruncated: truncated, Marker: marker}
	for _, v := range items {
		out.Versions = append(out.Versions, v.wire(v.ID == p.defaultID(), false))
	}
	return out, nil
}

// CreatePolicyVersion adds a version to a policy (five at most), making it
// the default when SetAsDefault says so.
func (s *Service) CreatePolicyVersion(ctx context.Context, in *iamapi.CreatePolicyVersionInput) (*iamapi.CreatePolicyVersionOutput, error) {
	doc := *in.PolicyDocument
	if _, err := checkPolicy(doc, policy.Identity); err != nil {
		return nil, err
	}
	if policy.Size(doc) > maxManagedPolicySize {
		return nil, iamapi.NewLimitExceededException("Cannot exceed quota for PolicySize: %d", maxManagedPolicySize)
	}
	setDefault := in.SetAsDefault != nil && *in.SetAsDefault
	var v policyVersion
	_, err := s.updatePolicy(ctx, *in.PolicyArn, func(p *policyRecord) error {
		vs := p.versions()
		if len(vs) >= maxPolicyVersions {
			return iamapi.NewLimitExceededException("A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", maxPolicyVersions)
		}
		if p.LastVersion == 0 {
			p.LastVersion = 1
		}
		p.LastVersion++
		v = policyVersion{ID: "v" + strconv.Itoa(p.LastVersion), Document: doc, Created: s.clock()}
		p.Versions = append(slices.Clone(vs), v)
		p.DefaultVersion = p.defaultID()
		if setDefault {
			p.DefaultVersion, p.Document, p.Updated = v.ID, v.Document, v.Created
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := v.wire(setDefault, false)
	return &iamapi.CreatePolicyVersionOutput{PolicyVersion: &out}, nil
}

// SetDefaultPolicyVersion makes a version the policy's default.
func (s *Service) SetDefaultPolicyVersion(ctx context.Context, in *iamapi.SetDefaultPolicyVersionInput) (*iamapi.SetDefaultPolicyVersionOutput, error) {
	_, err := s.updatePolicy(ctx, *in.PolicyArn, func(p *policyRecord) error {
		vs := p.versions()
		i := slices.IndexFunc(vs, func(v policyVersion) bool { return v.ID == *in.VersionId })
		if i < 0 {
			return noSuchVersion(*in.PolicyArn, *in.VersionId)
		}
		p.Versions = vs
		p.DefaultVersion, p.Document, p.Updated = vs[i].ID, vs[i].Document, s.clock()
		return nil
	})
	if err != nil {
		return nil, missingPolicy(err, func() error { return noSuchVersion(*in.PolicyArn, *in.VersionId) })
	}
	return &iamapi.SetDefaultPolicyVersionOutput{}, nil
}

// DeletePolicyVersion deletes a version that is not the default.
func (s *Service) DeletePolicyVersion(ctx context.Context, in *iamapi.DeletePolicyVersionInput) (*iamapi.DeletePolicyVersionOutput, error) {
	_, err := s.updatePolicy(ctx, *in.PolicyArn, func(p *policyRecord) error {
		vs := p.versions()
		i := slices.IndexFunc(vs, func(v policyVersion) bool { return v.ID == *in.VersionId })
		if i < 0 {
			return noSuchVersion(*in.PolicyArn, *in.VersionId)
		}
		if vs[i].ID == p.defaultID() {
			return iamapi.NewDeleteConflictException("Cannot delete the default version of a policy.")
		}
		p.Versions = slices.Delete(slices.Clone(vs), i, i+1)
		return nil
	})
	if err != nil {
		return nil, missingPolicy(err, func() error { return noSuchVersion(*in.PolicyArn, *in.VersionId) })
	}
	return &iamapi.DeletePolicyVersionOutput{}, nil
}

// TagPolicy adds tags to a customer managed policy.
func (s *Service) TagPolicy(ctx context.Context, in *iamapi.TagPolicyInput) (*iamapi.TagPolicyOutput, error) {
	_, err := s.updatePolicy(ctx, *in.PolicyArn, func(p *policyRecord) error {
		tags, err := mergePolicyTags(p.Tags, in.Tags)
		p.Tags = tags
		return err
	})
	if err != nil {
		return nil, missingPolicy(err, policyNotFound(*in.PolicyArn))
	}
	return &iamapi.TagPolicyOutput{}, nil
}

// UntagPolicy removes tags from a customer managed policy.
func (s *Service) UntagPolicy(ctx context.Context, in *iamapi.UntagPolicyInput) (*iamapi.UntagPolicyOutput, error) {
	_, err := s.updatePolicy(ctx, *in.PolicyArn, func(p *policyRecord) error {
		// Policy tag keys are case sensitive, unlike other IAM tags.
		p.Tags = slices.DeleteFunc(p.Tags, func(t tag) bool { return slices.Contains(in.TagKeys, t.Key) })
		return nil
	})
	if err != nil {
		return nil, missingPolicy(err, policyNotFound(*in.PolicyArn))
	}
	return &iamapi.UntagPolicyOutput{}, nil
}

// ListPolicyTags lists a customer managed policy's tags by key.
func (s *Service) ListPolicyTags(ctx context.Context, in *iamapi.ListPolicyTagsInput) (*iamapi.ListPolicyTagsOutput, error) {
	p, err := s.viewPolicy(ctx, *in.PolicyArn)
	if err != nil {
		return nil, missingPolicy(err, policyNotFound(*in.PolicyArn))
	}
	items, truncated, marker := pageTags(p.Tags, in.Marker, in.MaxItems)
	return &iamapi.ListPolicyTagsOutput{Tags: items, IsTruncated: truncated, Marker: marker}, nil
}
