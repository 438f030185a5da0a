package iam

import (
	"context"
	"slices"
	"strings"
	"time"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

const kindInstanceProfile = "iam.instanceProfile"

// Quotas of instance profiles, as IAM's defaults.
const (
	maxInstanceProfilesPerAccount = 1000
	maxRolesPerInstanceProfile    = 1
)

// instanceProfileRecord is an instance profile as the store keeps it; its
// role is kept by name and returned as the role is now.
type instanceProfileRecord struct {
	Name    string    `json:"name"`
	ID      string    `json:"id"`
	Path    string    `json:"path"`
	Created time.Time `json:"created"`
	Roles   []string  `json:"roles,omitempty"`
	Tags    []tag     `json:"tags,omitempty"`
}

func (p instanceProfileRecord) arn(acct string) string {
	return "arn:aws:iam::" + acct + ":instance-profile" + p.Path + p.Name
}

// wire is the profile as IAM returns it, with its roles.
func (p instanceProfileRecord) wire(tx store.Tx, acct string) *iamapi.InstanceProfile {
	out := &iamapi.InstanceProfile{Path: str(p.Path), InstanceProfileName: str(p.Name), InstanceProfileId: str(p.ID),
		Arn: str(p.arn(acct)), CreateDate: awsapi.Time(p.Created), Roles: []iamapi.Role{}}
	for _, name := range p.Roles {
		if r, err := getRole(tx, acct, name); err == nil {
			// AWS leaves the session duration out of a profile's roles.
			w := r.wire(acct, true)
			w.MaxSessionDuration = nil
			out.Roles = append(out.Roles, *w)
		}
	}
	if len(p.Tags) > 0 {
		out.Tags = wireTags(p.Tags)
	}
	return out
}

func noSuchInstanceProfile(name string) error {
	return iamapi.NewNoSuchEntityException("Instance Profile %s cannot be found.", name)
}

func getInstanceProfile(tx store.Tx, acct, name string) (instanceProfileRecord, error) {
	return getNamed[instanceProfileRecord](tx, kindInstanceProfile, acct, name, noSuchInstanceProfile)
}

func (s *Service) updateInstanceProfile(ctx context.Context, name string, fn func(p *instanceProfileRecord, tx store.Tx) error) error {
	_, err := update(ctx, s, kindInstanceProfile, name, getInstanceProfile, fn)
	return err
}

// profilesOfRole lists the instance profiles a role is in.
func profilesOfRole(tx store.Tx, acct, role string) ([]instanceProfileRecord, error) {
	ps, err := all[instanceProfileRecord](tx, kindInstanceProfile, acct)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(ps, func(p instanceProfileRecord) bool {
		return !slices.ContainsFunc(p.Roles, func(n string) bool { return strings.EqualFold(n, role) })
	}), nil
}

// roleInInstanceProfile refuses to delete a role that an instance profile
// still holds, as IAM does.
func roleInInstanceProfile(tx store.Tx, acct, role string) error {
	ps, err := profilesOfRole(tx, acct, role)
	if err != nil {
		return err
	}
	if len(ps) > 0 {
		return iamapi.NewDeleteConflictException("Cannot delete entity, must remove roles from instance profile first.")
	}
	return nil
}

// CreateInstanceProfile creates an instance profile without a role.
func (s *Service) CreateInstanceProfile(ctx context.Context, in *iamapi.CreateInstanceProfileInput) (*iamapi.CreateInstanceProfileOutput, error) {
	acct := account(ctx)
	tags, err := mergeTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	p := instanceProfileRecord{Name: *in.InstanceProfileName, ID: newID("AIPA"), Path: "/", Created: s.clock(), Tags: tags}
	if in.Path != nil {
		p.Path = *in.Path
	}
	var out *iamapi.InstanceProfile
	err = s.st.Update(ctx, func(tx store.Tx) error {
		out = p.wire(tx, acct)
		return create(tx, kindInstanceProfile, acct, p.Name, p, p.Created, func(existing instanceProfileRecord) error {
			return iamapi.NewEntityAlreadyExistsException("Instance Profile %s already exists.", existing.Name)
		}, maxInstanceProfilesPerAccount, iamapi.NewLimitExceededException("Cannot exceed quota for InstanceProfilesPerAccount: %d", maxInstanceProfilesPerAccount))
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateInstanceProfileOutput{InstanceProfile: out}, nil
}

// GetInstanceProfile returns an instance profile with its role.
func (s *Service) GetInstanceProfile(ctx context.Context, in *iamapi.GetInstanceProfileInput) (*iamapi.GetInstanceProfileOutput, error) {
	acct := account(ctx)
	var out *iamapi.InstanceProfile
	err := s.st.View(ctx, func(tx store.Tx) error {
		p, err := getInstanceProfile(tx, acct, *in.InstanceProfileName)
		if err != nil {
			return err
		}
		out = p.wire(tx, acct)
		// GetInstanceProfile lists the tags even when there are none.
		out.Tags = wireTags(p.Tags)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.GetInstanceProfileOutput{InstanceProfile: out}, nil
}

// listProfiles pages instance profiles and returns them with their roles.
func (s *Service) listProfiles(ctx context.Context, pick func(tx store.Tx, acct string) ([]instanceProfileRecord, error), marker *string, maxItems *int32) ([]iamapi.InstanceProfile, *bool, *string, error) {
	acct := account(ctx)
	var out []iamapi.InstanceProfile
	var truncated *bool
	var next *string
	err := s.st.View(ctx, func(tx store.Tx) error {
		ps, err := pick(tx, acct)
		if err != nil {
			return err
		}
		slices.SortFunc(ps, func(a, b instanceProfileRecord) int { return strings.Compare(key(a.Name), key(b.Name)) })
		var items []instanceProfileRecord
		items, truncated, next = page(ps, func(p instanceProfileRecord) string { return key(p.Name) }, marker, maxItems)
		out = make([]iamapi.InstanceProfile, 0, len(items))
		for _, p := range items {
			w := p.wire(tx, acct)
			w.Tags = nil // listings leave tags out, as IAM's do
			out = append(out, *w)
		}
		return nil
	})
	return out, truncated, next, err
}

// ListInstanceProfiles lists the account's instance profiles whose path
// starts with PathPrefix.
func (s *Service) ListInstanceProfiles(ctx context.Context, in *iamapi.ListInstanceProfilesInput) (*iamapi.ListInstanceProfilesOutput, error) {
	prefix := deref(in.PathPrefix)
	items, truncated, marker, err := s.listProfiles(ctx, func(tx store.Tx, acct string) ([]instanceProfileRecord, error) {
		ps, err := all[instanceProfileRecord](tx, kindInstanceProfile, acct)
		return slices.DeleteFunc(ps, func(p instanceProfileRecord) bool { return !strings.HasPrefix(p.Path, prefix) }), err
	}, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListInstanceProfilesOutput{InstanceProfiles: items, IsTruncated: truncated, Marker: marker}, nil
}

// ListInstanceProfilesForRole lists the instance profiles a role is in
// (Terraform asks before it deletes a role).
func (s *Service) ListInstanceProfilesForRole(ctx context.Context, in *iamapi.ListInstanceProfilesForRoleInput) (*iamapi.ListInstanceProfilesForRoleOutput, error) {
	items, truncated, marker, err := s.listProfiles(ctx, func(tx store.Tx, acct string) ([]instanceProfileRecord, error) {
		r, err := getRole(tx, acct, *in.RoleName)
		if err != nil {
			return nil, err
		}
		return profilesOfRole(tx, acct, r.Name)
	}, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListInstanceProfilesForRoleOutput{InstanceProfiles: items, IsTruncated: truncated, Marker: marker}, nil
}

// AddRoleToInstanceProfile puts a role in an instance profile, which holds
// one role at most.
func (s *Service) AddRoleToInstanceProfile(ctx context.Context, in *iamapi.AddRoleToInstanceProfileInput) (*iamapi.AddRoleToInstanceProfileOutput, error) {
	err := s.updateInstanceProfile(ctx, *in.InstanceProfileName, func(p *instanceProfileRecord, tx store.Tx) error {
		r, err := getRole(tx, account(ctx), *in.RoleName)
		if err != nil {
			return err
		}
		if len(p.Roles) >= maxRolesPerInstanceProfile {
			return iamapi.NewLimitExceededException("Cannot exceed quota for InstanceSessionsPerInstanceProfile: %d", maxRolesPerInstanceProfile)
		}
		p.Roles = append(p.Roles, r.Name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.AddRoleToInstanceProfileOutput{}, nil
}

// RemoveRoleFromInstanceProfile takes a role out of an instance profile.
func (s *Service) RemoveRoleFromInstanceProfile(ctx context.Context, in *iamapi.RemoveRoleFromInstanceProfileInput) (*iamapi.RemoveRoleFromInstanceProfileOutput, error) {
	err := s.updateInstanceProfile(ctx, *in.InstanceProfileName, func(p *instanceProfileRecord, tx store.Tx) error {
		i := slices.IndexFunc(p.Roles, func(n string) bool { return strings.EqualFold(n, *in.RoleName) })
		if i < 0 {
			if _, err := getRole(tx, account(ctx), *in.RoleName); err != nil {
				return err
			}
			return iamapi.NewNoSuchEntityException("Role %s in Instance Profile %s cannot be found.", *in.RoleName, p.Name)
		}
		p.Roles = slices.Delete(p.Roles, i, i+1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.RemoveRoleFromInstanceProfileOutput{}, nil
}

// DeleteInstanceProfile deletes an instance profile that holds no role.
func (s *Service) DeleteInstanceProfile(ctx context.Context, in *iamapi.DeleteInstanceProfileInput) (*iamapi.DeleteInstanceProfileOutput, error) {
	err := remove(ctx, s, kindInstanceProfile, *in.InstanceProfileName, getInstanceProfile, func(p instanceProfileRecord, _ store.Tx) error {
		if len(p.Roles) > 0 {
			return iamapi.NewDeleteConflictException("Cannot delete entity, must remove roles from instance profile first.")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteInstanceProfileOutput{}, nil
}

// TagInstanceProfile adds tags to an instance profile.
func (s *Service) TagInstanceProfile(ctx context.Context, in *iamapi.TagInstanceProfileInput) (*iamapi.TagInstanceProfileOutput, error) {
	err := s.updateInstanceProfile(ctx, *in.InstanceProfileName, func(p *instanceProfileRecord, _ store.Tx) error {
		return addTags(&p.Tags, in.Tags)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.TagInstanceProfileOutput{}, nil
}

// UntagInstanceProfile removes tags from an instance profile.
func (s *Service) UntagInstanceProfile(ctx context.Context, in *iamapi.UntagInstanceProfileInput) (*iamapi.UntagInstanceProfileOutput, error) {
	err := s.updateInstanceProfile(ctx, *in.InstanceProfileName, func(p *instanceProfileRecord, _ store.Tx) error {
		p.Tags = removeTags(p.Tags, in.TagKeys)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UntagInstanceProfileOutput{}, nil
}

// ListInstanceProfileTags lists an instance profile's tags by key.
func (s *Service) ListInstanceProfileTags(ctx context.Context, in *iamapi.ListInstanceProfileTagsInput) (*iamapi.ListInstanceProfileTagsOutput, error) {
	var p instanceProfileRecord
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		p, err = getInstanceProfile(tx, account(ctx), *in.InstanceProfileName)
		return err
	})
	if err != nil {
		return nil, err
	}
	items, truncated, marker := pageTags(p.Tags, in.Marker, in.MaxItems)
	return &iamapi.ListInstanceProfileTagsOutput{Tags: items, IsTruncated: truncated, Marker: marker}, nil
}
