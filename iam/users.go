package iam

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/iam/policy"
	"github.com/berth-dev/berth/store"
)

const kindUser = "iam.user"

// Quotas of users, as IAM's defaults.
const (
	maxUsersPerAccount       = 5000
	maxAttachedPerUser       = 10
	maxGroupsPerUser         = 10
	maxUserInlinePolicySize  = 2048 // all inline policies of a user together
	maxGroupInlinePolicySize = 5120 // all inline policies of a group together
)

// userRecord is an IAM user as the store keeps it.
type userRecord struct {
	Name     string            `json:"name"`
	ID       string            `json:"id"`
	Path     string            `json:"path"`
	Created  time.Time         `json:"created"`
	Boundary string            `json:"boundary,omitempty"`
	Tags     []tag             `json:"tags,omitempty"`
	Inline   map[string]string `json:"inline,omitempty"`   // policy name → document
	Attached []string          `json:"attached,omitempty"` // managed policy ARNs
	Groups   []string          `json:"groups,omitempty"`   // group names
	Keys     []string          `json:"keys,omitempty"`     // access key ids
	// Login, SSHKeys, SigningCerts, MFA and ServiceCreds: see logins.go,
	// sshkeys.go, certificates.go, mfa.go and servicecredentials.go.
	Login        *loginProfile `json:"login,omitempty"`
	SSHKeys      []sshKey      `json:"sshKeys,omitempty"`
	SigningCerts []signingCert `json:"signingCerts,omitempty"`
	MFA          []string      `json:"mfa,omitempty"` // serial numbers of enabled devices
	ServiceCreds []serviceCred `json:"serviceCreds,omitempty"`
}

// UserARN is the ARN of the user name with path in acct.
func UserARN(acct, path, name string) string {
	return "arn:aws:iam::" + acct + ":user" + path + name
}

func (u userRecord) arn(acct string) string { return UserARN(acct, u.Path, u.Name) }

// wire is the user as IAM returns it; listings leave out tags and the
// permissions boundary, as ListUsers does.
func (u userRecord) wire(acct string, listing bool) *iamapi.User {
	out := &iamapi.User{Path: str(u.Path), UserName: str(u.Name), UserId: str(u.ID), Arn: str(u.arn(acct)), CreateDate: awsapi.Time(u.Created)}
	if listing {
		return out
	}
	if u.Boundary != "" {
		t := boundaryType
		out.PermissionsBoundary = &iamapi.AttachedPermissionsBoundary{PermissionsBoundaryType: &t, PermissionsBoundaryArn: str(u.Boundary)}
	}
	if len(u.Tags) > 0 {
		out.Tags = wireTags(u.Tags)
	}
	return out
}

func noSuchUser(name string) error {
	return iamapi.NewNoSuchEntityException("The user with name %s cannot be found.", name)
}

func getUser(tx store.Tx, acct, name string) (userRecord, error) {
	return getNamed[userRecord](tx, kindUser, acct, name, noSuchUser)
}

// callerUser is the user name an operation with an optional UserName acts
// on: the one given, else the caller's own. Root callers have none (""),
// and temporary credentials must name one, as IAM answers.
func callerUser(ctx context.Context, name *string) (string, error) {
	if name != nil {
		return *name, nil
	}
	id := awsapi.IdentityFrom(ctx)
	if id.Principal == "" {
		return "", nil
	}
	_, rest, ok := strings.Cut(id.Principal, ":user/")
	if !ok || !strings.HasPrefix(id.Principal, "arn:aws:iam::") {
		return "", awsapi.Errorf("ValidationError", "Must specify userName when calling with non-User credentials")
	}
	return rest[strings.LastIndex(rest, "/")+1:], nil
}

// updateUser runs fn on the stored user and stores the result.
func (s *Service) updateUser(ctx context.Context, name string, fn func(u *userRecord, tx store.Tx) error) (userRecord, error) {
	return update(ctx, s, kindUser, name, getUser, fn)
}

func (s *Service) viewUser(ctx context.Context, name string) (userRecord, error) {
	return view(ctx, s, name, getUser)
}

// CreateUser creates an IAM user.
func (s *Service) CreateUser(ctx context.Context, in *iamapi.CreateUserInput) (*iamapi.CreateUserOutput, error) {
	acct := account(ctx)
	if in.PermissionsBoundary != nil {
		if err := s.checkBoundary(ctx, *in.PermissionsBoundary); err != nil {
			return nil, err
		}
	}
	tags, err := mergeTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	u := userRecord{Name: *in.UserName, ID: newID("AIDA"), Path: "/", Created: s.clock(), Boundary: deref(in.PermissionsBoundary), Tags: tags}
	if in.Path != nil {
		u.Path = *in.Path
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		return create(tx, kindUser, acct, u.Name, u, u.Created, func(existing userRecord) error {
			return iamapi.NewEntityAlreadyExistsException("User with name %s already exists.", existing.Name)
		}, maxUsersPerAccount, iamapi.NewLimitExceededException("Cannot exceed quota for UsersPerAccount: %d", maxUsersPerAccount))
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateUserOutput{User: u.wire(acct, false)}, nil
}

// GetUser returns a user; without UserName, the caller (the root user for
// the account's own keys, as IAM answers).
func (s *Service) GetUser(ctx context.Context, in *iamapi.GetUserInput) (*iamapi.GetUserOutput, error) {
	acct := account(ctx)
	name, err := callerUser(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return &iamapi.GetUserOutput{User: &iamapi.User{UserId: str(acct), Arn: str(policy.RootARN(acct))}}, nil
	}
	u, err := s.viewUser(ctx, name)
	if err != nil {
		return nil, err
	}
	return &iamapi.GetUserOutput{User: u.wire(acct, false)}, nil
}

// ListUsers lists the account's users whose path starts with PathPrefix.
func (s *Service) ListUsers(ctx context.Context, in *iamapi.ListUsersInput) (*iamapi.ListUsersOutput, error) {
	acct := account(ctx)
	users, err := viewAll[userRecord](ctx, s, kindUser, acct)
	if err != nil {
		return nil, err
	}
	prefix := deref(in.PathPrefix)
	users = slices.DeleteFunc(users, func(u userRecord) bool { return !strings.HasPrefix(u.Path, prefix) })
	items, truncated, marker := page(users, func(u userRecord) string { return key(u.Name) }, in.Marker, in.MaxItems)
	out := &iamapi.ListUsersOutput{Users: make([]iamapi.User, 0, len(items)), IsTruncated: truncated, Marker: marker}
	for _, u := range items {
		out.Users = append(out.Users, *u.wire(acct, true))
	}
	return out, nil
}

// UpdateUser changes a user's name or path; its keys, groups and policies
// follow it.
func (s *Service) UpdateUser(ctx context.Context, in *iamapi.UpdateUserInput) (*iamapi.UpdateUserOutput, error) {
	acct := account(ctx)
	var keys []string
	err := s.st.Update(ctx, func(tx store.Tx) error {
		u, err := getUser(tx, acct, *in.UserName)
		if err != nil {
			return err
		}
		keys = u.Keys
		if in.NewPath != nil {
			u.Path = *in.NewPath
		}
		if in.NewUserName != nil && *in.NewUserName != u.Name {
			newName := *in.NewUserName
			err := rename(tx, kindUser, acct, u.Name, newName, func(other userRecord) error {
				return iamapi.NewEntityAlreadyExistsException("User with name %s already exists.", other.Name)
			})
			if err != nil {
				return err
			}
			if err := s.renameMember(tx, acct, u.Groups, u.Name, newName); err != nil {
				return err
			}
			for _, id := range u.Keys {
				if err := s.setKeyUser(tx, id, newName); err != nil {
					return err
				}
			}
			u.Name = newName
		}
		return put(tx, kindUser, acct, key(u.Name), u, s.clock())
	})
	if err != nil {
		return nil, err
	}
	s.keys.forget(keys...)
	return &iamapi.UpdateUserOutput{}, nil
}

// DeleteUser deletes a user that has no access keys, groups or policies
// left, as IAM requires.
func (s *Service) DeleteUser(ctx context.Context, in *iamapi.DeleteUserInput) (*iamapi.DeleteUserOutput, error) {
	err := remove(ctx, s, kindUser, *in.UserName, getUser, func(u userRecord, _ store.Tx) error {
		switch {
		case len(u.Keys) > 0:
			return iamapi.NewDeleteConflictException("Cannot delete entity, must delete access keys first.")
		case u.Login != nil:
			return iamapi.NewDeleteConflictException("Cannot delete entity, must delete login profile first.")
		case len(u.SSHKeys) > 0:
			return iamapi.NewDeleteConflictException("Cannot delete entity, must delete SSH public keys first.")
		case len(u.SigningCerts) > 0:
			return iamapi.NewDeleteConflictException("Cannot delete entity, must delete signing certificates first.")
		case len(u.MFA) > 0:
			return iamapi.NewDeleteConflictException("Cannot delete entity, must delete MFA device first.")
		case len(u.ServiceCreds) > 0:
			return iamapi.NewDeleteConflictException("Cannot delete entity, must delete service specific credentials first.")
		case len(u.Groups) > 0:
			return iamapi.NewDeleteConflictException("Cannot delete entity, must remove users from group first.")
		case len(u.Inline) > 0:
			return iamapi.NewDeleteConflictException("Cannot delete entity, must delete policies first.")
		case len(u.Attached) > 0:
			return iamapi.NewDeleteConflictException("Cannot delete entity, must detach all policies first.")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteUserOutput{}, nil
}

// TagUser adds tags to a user, replacing the values of keys it has.
func (s *Service) TagUser(ctx context.Context, in *iamapi.TagUserInput) (*iamapi.TagUserOutput, error) {
	_, err := s.updateUser(ctx, *in.UserName, func(u *userRecord, _ store.Tx) error {
		return addTags(&u.Tags, in.Tags)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.TagUserOutput{}, nil
}

// UntagUser removes tags from a user; keys it does not have are ignored.
func (s *Service) UntagUser(ctx context.Context, in *iamapi.UntagUserInput) (*iamapi.UntagUserOutput, error) {
	_, err := s.updateUser(ctx, *in.UserName, func(u *userRecord, _ store.Tx) error {
		u.Tags = removeTags(u.Tags, in.TagKeys)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UntagUserOutput{}, nil
}

// ListUserTags lists a user's tags by key.
func (s *Service) ListUserTags(ctx context.Context, in *iamapi.ListUserTagsInput) (*iamapi.ListUserTagsOutput, error) {
	u, err := s.viewUser(ctx, *in.UserName)
	if err != nil {
		return nil, err
	}
	items, truncated, marker := pageTags(u.Tags, in.Marker, in.MaxItems)
	return &iamapi.ListUserTagsOutput{Tags: items, IsTruncated: truncated, Marker: marker}, nil
}

func removeTags(ts []tag, keys []string) []tag {
	return slices.DeleteFunc(ts, func(t tag) bool {
		return slices.ContainsFunc(keys, func(k string) bool { return strings.EqualFold(k, t.Key) })
	})
}

func pageTags(ts []tag, marker *string, maxItems *int32) ([]iamapi.Tag, *bool, *string) {
	tags := slices.Clone(ts)
	slices.SortFunc(tags, func(a, b tag) int { return strings.Compare(a.Key, b.Key) })
	items, truncated, next := page(tags, func(t tag) string { return t.Key }, marker, maxItems)
	return wireTags(items), truncated, next
}

// putInline adds or replaces an inline policy in m, refusing more than
// limit characters for all of them together.
func putInline(m map[string]string, name, doc string, limit int, owner string) (map[string]string, error) {
	if _, err := checkPolicy(doc, policy.Identity); err != nil {
		return m, err
	}
	if m == nil {
		m = map[string]string{}
	}
	m[name] = doc
	size := 0
	for _, d := range m {
		size += policy.Size(d)
	}
	if size > limit {
		return m, iamapi.NewLimitExceededException("Maximum policy size of %d bytes exceeded for %s", limit, owner)
	}
	return m, nil
}

func pageNames(m map[string]string, marker *string, maxItems *int32) ([]string, *bool, *string) {
	names := slices.Sorted(maps.Keys(m))
	items, truncated, next := page(names, func(n string) string { return n }, marker, maxItems)
	if items == nil {
		items = []string{}
	}
	return items, truncated, next
}

func noSuchUserPolicy(name, user string) error {
	return iamapi.NewNoSuchEntityException("The user policy with name %s cannot be found for user %s.", name, user)
}

// PutUserPolicy adds or replaces an inline policy of a user.
func (s *Service) PutUserPolicy(ctx context.Context, in *iamapi.PutUserPolicyInput) (*iamapi.PutUserPolicyOutput, error) {
	_, err := s.updateUser(ctx, *in.UserName, func(u *userRecord, _ store.Tx) error {
		var err error
		u.Inline, err = putInline(u.Inline, *in.PolicyName, *in.PolicyDocument, maxUserInlinePolicySize, "user "+u.Name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.PutUserPolicyOutput{}, nil
}

// GetUserPolicy returns an inline policy of a user.
func (s *Service) GetUserPolicy(ctx context.Context, in *iamapi.GetUserPolicyInput) (*iamapi.GetUserPolicyOutput, error) {
	u, err := s.viewUser(ctx, *in.UserName)
	if err != nil {
		return nil, err
	}
	doc, ok := u.Inline[*in.PolicyName]
	if !ok {
		return nil, noSuchUserPolicy(*in.PolicyName, u.Name)
	}
	return &iamapi.GetUserPolicyOutput{UserName: str(u.Name), PolicyName: in.PolicyName, PolicyDocument: str(EncodeDocument(doc))}, nil
}

// DeleteUserPolicy deletes an inline policy of a user.
func (s *Service) DeleteUserPolicy(ctx context.Context, in *iamapi.DeleteUserPolicyInput) (*iamapi.DeleteUserPolicyOutput, error) {
	_, err := s.updateUser(ctx, *in.UserName, func(u *userRecord, _ store.Tx) error {
		if _, ok := u.Inline[*in.PolicyName]; !ok {
			return noSuchUserPolicy(*in.PolicyName, u.Name)
		}
		delete(u.Inline, *in.PolicyName)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteUserPolicyOutput{}, nil
}

// ListUserPolicies lists the names of a user's inline policies.
func (s *Service) ListUserPolicies(ctx context.Context, in *iamapi.ListUserPoliciesInput) (*iamapi.ListUserPoliciesOutput, error) {
	u, err := s.viewUser(ctx, *in.UserName)
	if err != nil {
		return nil, err
	}
	items, truncated, marker := pageNames(u.Inline, in.Marker, in.MaxItems)
	return &iamapi.ListUserPoliciesOutput{PolicyNames: items, IsTruncated: truncated, Marker: marker}, nil
}

// attach adds a managed policy to an entity's list, counting the
// attachment on customer managed policies.
func (s *Service) attach(tx store.Tx, acct string, attached []string, arn string, limit int, quota string) ([]string, error) {
	pa, ok := parsePolicyARN(arn)
	if !ok {
		return attached, invalidARN(arn)
	}
	if slices.Contains(attached, arn) {
		return attached, nil
	}
	if len(attached) >= limit {
		return attached, iamapi.NewLimitExceededException("Cannot exceed quota for %s: %d", quota, limit)
	}
	if pa.account != "aws" {
		if err := s.countAttachment(tx, acct, pa, arn, +1); err != nil {
			return attached, err
		}
	}
	return append(attached, arn), nil
}

// detach removes a managed policy from an entity's list.
func (s *Service) detach(tx store.Tx, acct string, attached []string, arn string) ([]string, error) {
	pa, ok := parsePolicyARN(arn)
	if !ok {
		return attached, invalidARN(arn)
	}
	i := slices.Index(attached, arn)
	if i < 0 {
		return attached, iamapi.NewNoSuchEntityException("Policy %s was not found.", arn)
	}
	attached = slices.Delete(attached, i, i+1)
	if pa.account == "aws" {
		return attached, nil
	}
	return attached, s.countAttachment(tx, acct, pa, arn, -1)
}

func pageAttached(attached []string, prefix string, marker *string, maxItems *int32) ([]iamapi.AttachedPolicy, *bool, *string) {
	var out []iamapi.AttachedPolicy
	for _, arn := range slices.Sorted(slices.Values(attached)) {
		pa, _ := parsePolicyARN(arn)
		if strings.HasPrefix(pa.path, prefix) {
			out = append(out, iamapi.AttachedPolicy{PolicyName: str(pa.name), PolicyArn: str(arn)})
		}
	}
	items, truncated, next := page(out, func(a iamapi.AttachedPolicy) string { return *a.PolicyArn }, marker, maxItems)
	if items == nil {
		items = []iamapi.AttachedPolicy{}
	}
	return items, truncated, next
}

// AttachUserPolicy attaches a managed policy to a user.
func (s *Service) AttachUserPolicy(ctx context.Context, in *iamapi.AttachUserPolicyInput) (*iamapi.AttachUserPolicyOutput, error) {
	if _, ok := parsePolicyARN(*in.PolicyArn); !ok {
		return nil, invalidARN(*in.PolicyArn)
	}
	_, err := s.updateUser(ctx, *in.UserName, func(u *userRecord, tx store.Tx) error {
		var err error
		u.Attached, err = s.attach(tx, account(ctx), u.Attached, *in.PolicyArn, maxAttachedPerUser, "PoliciesPerUser")
		return err
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.AttachUserPolicyOutput{}, nil
}

// DetachUserPolicy detaches a managed policy from a user.
func (s *Service) DetachUserPolicy(ctx context.Context, in *iamapi.DetachUserPolicyInput) (*iamapi.DetachUserPolicyOutput, error) {
	if _, ok := parsePolicyARN(*in.PolicyArn); !ok {
		return nil, invalidARN(*in.PolicyArn)
	}
	_, err := s.updateUser(ctx, *in.UserName, func(u *userRecord, tx store.Tx) error {
		var err error
		u.Attached, err = s.detach(tx, account(ctx), u.Attached, *in.PolicyArn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DetachUserPolicyOutput{}, nil
}

// ListAttachedUserPolicies lists the managed policies attached to a user
// whose path starts with PathPrefix.
func (s *Service) ListAttachedUserPolicies(ctx context.Context, in *iamapi.ListAttachedUserPoliciesInput) (*iamapi.ListAttachedUserPoliciesOutput, error) {
	u, err := s.viewUser(ctx, *in.UserName)
	if err != nil {
		return nil, err
	}
	items, truncated, marker := pageAttached(u.Attached, deref(in.PathPrefix), in.Marker, in.MaxItems)
	return &iamapi.ListAttachedUserPoliciesOutput{AttachedPolicies: items, IsTruncated: truncated, Marker: marker}, nil
}
