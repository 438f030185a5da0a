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

const kindGroup = "iam.group"

// Quotas of groups, as IAM's defaults.
const (
	maxGroupsPerAccount = 300
	maxAttachedPerGroup = 10
)

// groupRecord is an IAM group as the store keeps it. Membership is kept
// on both sides (the group's Users, each user's Groups) so that either
// listing is one read.
type groupRecord struct {
	Name     string            `json:"name"`
	ID       string            `json:"id"`
	Path     string            `json:"path"`
	Created  time.Time         `json:"created"`
	Inline   map[string]string `json:"inline,omitempty"`
	Attached []string          `json:"attached,omitempty"`
	Users    []string          `json:"users,omitempty"` // user names
}

func (g groupRecord) arn(acct string) string {
	return "arn:aws:iam::" + acct + ":group" + g.Path + g.Name
}

func (g groupRecord) wire(acct string) *iamapi.Group {
	return &iamapi.Group{Path: str(g.Path), GroupName: str(g.Name), GroupId: str(g.ID), Arn: str(g.arn(acct)), CreateDate: awsapi.Time(g.Created)}
}

func noSuchGroup(name string) error {
	return iamapi.NewNoSuchEntityException("The group with name %s cannot be found.", name)
}

func getGroup(tx store.Tx, acct, name string) (groupRecord, error) {
	return getNamed[groupRecord](tx, kindGroup, acct, name, noSuchGroup)
}

func (s *Service) updateGroup(ctx context.Context, name string, fn func(g *groupRecord, tx store.Tx) error) error {
	_, err := update(ctx, s, kindGroup, name, getGroup, fn)
	return err
}

func (s *Service) viewGroup(ctx context.Context, name string) (groupRecord, error) {
	return view(ctx, s, name, getGroup)
}

// renameMember follows a user's rename in the groups it belongs to.
func (s *Service) renameMember(tx store.Tx, acct string, groups []string, from, to string) error {
	for _, name := range groups {
		g, err := getGroup(tx, acct, name)
		if err != nil {
			continue // membership of a group that is gone
		}
		for i, u := range g.Users {
			if strings.EqualFold(u, from) {
				g.Users[i] = to
			}
		}
		if err := put(tx, kindGroup, acct, key(g.Name), g, s.clock()); err != nil {
			return err
		}
	}
	return nil
}

// CreateGroup creates a group.
func (s *Service) CreateGroup(ctx context.Context, in *iamapi.CreateGroupInput) (*iamapi.CreateGroupOutput, error) {
	acct := account(ctx)
	g := groupRecord{Name: *in.GroupName, ID: newID("AGPA"), Path: "/", Created: s.clock()}
	if in.Path != nil {
		g.Path = *in.Path
	}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		return create(tx, kindGroup, acct, g.Name, g, g.Created, func(existing groupRecord) error {
			return iamapi.NewEntityAlreadyExistsException("Group with name %s already exists.", existing.Name)
		}, maxGroupsPerAccount, iamapi.NewLimitExceededException("Cannot exceed quota for GroupsPerAccount: %d", maxGroupsPerAccount))
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateGroupOutput{Group: g.wire(acct)}, nil
}

// GetGroup returns a group and its users.
func (s *Service) GetGroup(ctx context.Context, in *iamapi.GetGroupInput) (*iamapi.GetGroupOutput, error) {
	acct := account(ctx)
	var g groupRecord
	var users []userRecord
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		if g, err = getGroup(tx, acct, *in.GroupName); err != nil {
			return err
		}
		for _, name := range g.Users {
			if u, err := getUser(tx, acct, name); err == nil {
				users = append(users, u)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(users, func(a, b userRecord) int { return strings.Compare(key(a.Name), key(b.Name)) })
	items, truncated, marker := page(users, func(u userRecord) string { return key(u.Name) }, in.Marker, in.MaxItems)
	out := &iamapi.GetGroupOutput{Group: g.wire(acct), Users: make([]iamapi.User, 0, len(items)), IsTruncated: truncated, Marker: marker}
	for _, u := range items {
		out.Users = append(out.Users, *u.wire(acct, true))
	}
	return out, nil
}

// ListGroups lists the account's groups whose path starts with PathPrefix.
func (s *Service) ListGroups(ctx context.Context, in *iamapi.ListGroupsInput) (*iamapi.ListGroupsOutput, error) {
	acct := account(ctx)
	groups, err := viewAll[groupRecord](ctx, s, kindGroup, acct)
	if err != nil {
		return nil, err
	}
	prefix := deref(in.PathPrefix)
	groups = slices.DeleteFunc(groups, func(g groupRecord) bool { return !strings.HasPrefix(g.Path, prefix) })
	items, truncated, marker := pageGroups(groups, acct, in.Marker, in.MaxItems)
	return &iamapi.ListGroupsOutput{Groups: items, IsTruncated: truncated, Marker: marker}, nil
}

func pageGroups(groups []groupRecord, acct string, marker *string, maxItems *int32) ([]iamapi.Group, *bool, *string) {
	slices.SortFunc(groups, func(a, b groupRecord) int { return strings.Compare(key(a.Name), key(b.Name)) })
	items, truncated, next := page(groups, func(g groupRecord) string { return key(g.Name) }, marker, maxItems)
	out := make([]iamapi.Group, 0, len(items))
	for _, g := range items {
		out = append(out, *g.wire(acct))
	}
	return out, truncated, next
}

// UpdateGroup changes a group's name or path; its members follow it.
func (s *Service) UpdateGroup(ctx context.Context, in *iamapi.UpdateGroupInput) (*iamapi.UpdateGroupOutput, error) {
	acct := account(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		g, err := getGroup(tx, acct, *in.GroupName)
		if err != nil {
			return err
		}
		if in.NewPath != nil {
			g.Path = *in.NewPath
		}
		if in.NewGroupName != nil && *in.NewGroupName != g.Name {
			newName := *in.NewGroupName
			err := rename(tx, kindGroup, acct, g.Name, newName, func(other groupRecord) error {
				return iamapi.NewEntityAlreadyExistsException("Group with name %s already exists.", other.Name)
			})
			if err != nil {
				return err
			}
			for _, name := range g.Users {
				u, err := getUser(tx, acct, name)
				if err != nil {
					continue
				}
				for i, gn := range u.Groups {
					if strings.EqualFold(gn, g.Name) {
						u.Groups[i] = newName
					}
				}
				if err := put(tx, kindUser, acct, key(u.Name), u, s.clock()); err != nil {
					return err
				}
			}
			g.Name = newName
		}
		return put(tx, kindGroup, acct, key(g.Name), g, s.clock())
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateGroupOutput{}, nil
}

// DeleteGroup deletes a group that has no users or policies left.
func (s *Service) DeleteGroup(ctx context.Context, in *iamapi.DeleteGroupInput) (*iamapi.DeleteGroupOutput, error) {
	err := remove(ctx, s, kindGroup, *in.GroupName, getGroup, func(g groupRecord, _ store.Tx) error {
		switch {
		case len(g.Users) > 0:
			return iamapi.NewDeleteConflictException("Cannot delete entity, must remove users from group first.")
		case len(g.Inline) > 0:
			return iamapi.NewDeleteConflictException("Cannot delete entity, must delete policies first.")
		case len(g.Attached) > 0:
			return iamapi.NewDeleteConflictException("Cannot delete entity, must detach all policies first.")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteGroupOutput{}, nil
}

// membership adds (add) or removes a user to or from a group, on both
// records.
func (s *Service) membership(ctx context.Context, groupName, userName string, add bool) error {
	acct := account(ctx)
	return s.st.Update(ctx, func(tx store.Tx) error {
		// RemoveUserFromGroup names a missing user before a missing group,
		// as AWS does.
		if !add {
			if _, err := getUser(tx, acct, userName); err != nil {
				return err
			}
		}
		g, err := getGroup(tx, acct, groupName)
		if err != nil {
			return err
		}
		u, err := getUser(tx, acct, userName)
		if err != nil {
			return err
		}
		inGroup := slices.ContainsFunc(g.Users, func(n string) bool { return strings.EqualFold(n, u.Name) })
		if add {
			if inGroup {
				return nil
			}
			if len(u.Groups) >= maxGroupsPerUser {
				return iamapi.NewLimitExceededException("Cannot exceed quota for GroupsPerUser: %d", maxGroupsPerUser)
			}
			g.Users = append(g.Users, u.Name)
			u.Groups = append(u.Groups, g.Name)
		} else {
			if !inGroup {
				// AWS answers removing a user who is not a member with success.
				return nil
			}
			g.Users = slices.DeleteFunc(g.Users, func(n string) bool { return strings.EqualFold(n, u.Name) })
			u.Groups = slices.DeleteFunc(u.Groups, func(n string) bool { return strings.EqualFold(n, g.Name) })
		}
		now := s.clock()
		if err := put(tx, kindGroup, acct, key(g.Name), g, now); err != nil {
			return err
		}
		return put(tx, kindUser, acct, key(u.Name), u, now)
	})
}

// AddUserToGroup adds a user to a group (adding a member again is a no-op).
func (s *Service) AddUserToGroup(ctx context.Context, in *iamapi.AddUserToGroupInput) (*iamapi.AddUserToGroupOutput, error) {
	if err := s.membership(ctx, *in.GroupName, *in.UserName, true); err != nil {
		return nil, err
	}
	return &iamapi.AddUserToGroupOutput{}, nil
}

// RemoveUserFromGroup removes a user from a group.
func (s *Service) RemoveUserFromGroup(ctx context.Context, in *iamapi.RemoveUserFromGroupInput) (*iamapi.RemoveUserFromGroupOutput, error) {
	if err := s.membership(ctx, *in.GroupName, *in.UserName, false); err != nil {
		return nil, err
	}
	return &iamapi.RemoveUserFromGroupOutput{}, nil
}

// ListGroupsForUser lists the groups a user belongs to.
func (s *Service) ListGroupsForUser(ctx context.Context, in *iamapi.ListGroupsForUserInput) (*iamapi.ListGroupsForUserOutput, error) {
	acct := account(ctx)
	var groups []groupRecord
	err := s.st.View(ctx, func(tx store.Tx) error {
		u, err := getUser(tx, acct, *in.UserName)
		if err != nil {
			return err
		}
		for _, name := range u.Groups {
			if g, err := getGroup(tx, acct, name); err == nil {
				groups = append(groups, g)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	items, truncated, marker := pageGroups(groups, acct, in.Marker, in.MaxItems)
	return &iamapi.ListGroupsForUserOutput{Groups: items, IsTruncated: truncated, Marker: marker}, nil
}

func noSuchGroupPolicy(name string) error {
	return iamapi.NewNoSuchEntityException("The group policy with name %s cannot be found.", name)
}

// PutGroupPolicy adds or replaces an inline policy of a group.
func (s *Service) PutGroupPolicy(ctx context.Context, in *iamapi.PutGroupPolicyInput) (*iamapi.PutGroupPolicyOutput, error) {
	err := s.updateGroup(ctx, *in.GroupName, func(g *groupRecord, _ store.Tx) error {
		var err error
		g.Inline, err = putInline(g.Inline, *in.PolicyName, *in.PolicyDocument, maxGroupInlinePolicySize, "group "+g.Name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.PutGroupPolicyOutput{}, nil
}

// GetGroupPolicy returns an inline policy of a group.
func (s *Service) GetGroupPolicy(ctx context.Context, in *iamapi.GetGroupPolicyInput) (*iamapi.GetGroupPolicyOutput, error) {
	g, err := s.viewGroup(ctx, *in.GroupName)
	if err != nil {
		return nil, err
	}
	doc, ok := g.Inline[*in.PolicyName]
	if !ok {
		return nil, noSuchGroupPolicy(*in.PolicyName)
	}
	return &iamapi.GetGroupPolicyOutput{GroupName: str(g.Name), PolicyName: in.PolicyName, PolicyDocument: str(EncodeDocument(doc))}, nil
}

// DeleteGroupPolicy deletes an inline policy of a group.
func (s *Service) DeleteGroupPolicy(ctx context.Context, in *iamapi.DeleteGroupPolicyInput) (*iamapi.DeleteGroupPolicyOutput, error) {
	err := s.updateGroup(ctx, *in.GroupName, func(g *groupRecord, _ store.Tx) error {
		if _, ok := g.Inline[*in.PolicyName]; !ok {
			return noSuchGroupPolicy(*in.PolicyName)
		}
		delete(g.Inline, *in.PolicyName)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteGroupPolicyOutput{}, nil
}

// ListGroupPolicies lists the names of a group's inline policies.
func (s *Service) ListGroupPolicies(ctx context.Context, in *iamapi.ListGroupPoliciesInput) (*iamapi.ListGroupPoliciesOutput, error) {
	g, err := s.viewGroup(ctx, *in.GroupName)
	if err != nil {
		return nil, err
	}
	items, truncated, marker := pageNames(g.Inline, in.Marker, in.MaxItems)
	return &iamapi.ListGroupPoliciesOutput{PolicyNames: items, IsTruncated: truncated, Marker: marker}, nil
}

// AttachGroupPolicy attaches a managed policy to a group.
func (s *Service) AttachGroupPolicy(ctx context.Context, in *iamapi.AttachGroupPolicyInput) (*iamapi.AttachGroupPolicyOutput, error) {
	if _, ok := parsePolicyARN(*in.PolicyArn); !ok {
		return nil, invalidARN(*in.PolicyArn)
	}
	err := s.updateGroup(ctx, *in.GroupName, func(g *groupRecord, tx store.Tx) error {
		var err error
		g.Attached, err = s.attach(tx, account(ctx), g.Attached, *in.PolicyArn, maxAttachedPerGroup, "PoliciesPerGroup")
		return err
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.AttachGroupPolicyOutput{}, nil
}

// DetachGroupPolicy detaches a managed policy from a group.
func (s *Service) DetachGroupPolicy(ctx context.Context, in *iamapi.DetachGroupPolicyInput) (*iamapi.DetachGroupPolicyOutput, error) {
	if _, ok := parsePolicyARN(*in.PolicyArn); !ok {
		return nil, invalidARN(*in.PolicyArn)
	}
	err := s.updateGroup(ctx, *in.GroupName, func(g *groupRecord, tx store.Tx) error {
		var err error
		g.Attached, err = s.detach(tx, account(ctx), g.Attached, *in.PolicyArn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DetachGroupPolicyOutput{}, nil
}

// ListAttachedGroupPolicies lists the managed policies attached to a group
// whose path starts with PathPrefix.
func (s *Service) ListAttachedGroupPolicies(ctx context.Context, in *iamapi.ListAttachedGroupPoliciesInput) (*iamapi.ListAttachedGroupPoliciesOutput, error) {
	g, err := s.viewGroup(ctx, *in.GroupName)
	if err != nil {
		return nil, err
	}
	items, truncated, marker := pageAttached(g.Attached, deref(in.PathPrefix), in.Marker, in.MaxItems)
	return &iamapi.ListAttachedGroupPoliciesOutput{AttachedPolicies: items, IsTruncated: truncated, Marker: marker}, nil
}
