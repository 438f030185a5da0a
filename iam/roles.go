package iam

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/iam/policy"
	"github.com/berth-dev/berth/store"
)

// roleRecord is a role as the store keeps it.
type roleRecord struct {
	Name               string            `json:"name"`
	ID                 string            `json:"id"`
	Path               string            `json:"path"`
	Description        string            `json:"description,omitempty"`
	TrustPolicy        string            `json:"trustPolicy"`
	MaxSessionDuration int32             `json:"maxSessionDuration"`
	Created            time.Time         `json:"created"`
	Boundary           string            `json:"boundary,omitempty"`
	Tags               []tag             `json:"tags,omitempty"`
	Inline             map[string]string `json:"inline,omitempty"`   // policy name → document
	Attached           []string          `json:"attached,omitempty"` // managed policy ARNs
}

// RoleARN is the ARN of the role name with path in acct.
func RoleARN(acct, path, name string) string {
	return "arn:aws:iam::" + acct + ":role" + path + name
}

// ParseRoleARN splits arn:aws:iam::<account>:role/<path><name>.
func ParseRoleARN(arn string) (acct, path, name string, ok bool) {
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::")
	if !ok {
		return "", "", "", false
	}
	acct, rest, ok = strings.Cut(rest, ":role/")
	if !ok || !isAccount(acct) || rest == "" || strings.HasSuffix(rest, "/") {
		return "", "", "", false
	}
	i := strings.LastIndex(rest, "/")
	return acct, "/" + rest[:i+1], rest[i+1:], true
}

var accountID = regexp.MustCompile(`^[0-9]{12}$`)

func isAccount(a string) bool { return accountID.MatchString(a) }

func (r roleRecord) arn(acct string) string { return RoleARN(acct, r.Path, r.Name) }

// wire is the role as IAM returns it; listings leave out tags, the
// permissions boundary and last use, as ListRoles does.
func (r roleRecord) wire(acct string, listing bool) *iamapi.Role {
	out := &iamapi.Role{
		Path:                     str(r.Path),
		RoleName:                 str(r.Name),
		RoleId:                   str(r.ID),
		Arn:                      str(r.arn(acct)),
		CreateDate:               awsapi.Time(r.Created),
		AssumeRolePolicyDocument: str(EncodeDocument(r.TrustPolicy)),
		Description:              optional(r.Description),
		MaxSessionDuration:       &r.MaxSessionDuration,
	}
	if listing {
		return out
	}
	if r.Boundary != "" {
		t := boundaryType
		out.PermissionsBoundary = &iamapi.AttachedPermissionsBoundary{PermissionsBoundaryType: &t, PermissionsBoundaryArn: str(r.Boundary)}
	}
	if len(r.Tags) > 0 {
		out.Tags = wireTags(r.Tags)
	}
	out.RoleLastUsed = &iamapi.RoleLastUsed{}
	return out
}

// created is the role as CreateRole returns it: AWS leaves out the
// description, maximum session duration and last use there.
func (r roleRecord) created(acct string) *iamapi.Role {
	out := r.wire(acct, false)
	out.Description = nil
	out.MaxSessionDuration = nil
	out.RoleLastUsed = nil
	return out
}

func noSuchRole(name string) error {
	return iamapi.NewNoSuchEntityException("The role with name %s cannot be found.", name)
}

// checkPolicy parses doc as IAM does when storing it.
func checkPolicy(doc string, kind policy.Kind) (*policy.Document, error) {
	d, err := policy.Parse(doc, kind)
	if err != nil {
		return nil, iamapi.NewMalformedPolicyDocumentException("%s", err.Error())
	}
	return d, nil
}

// getRole reads the role name of acct, or NoSuchEntity.
func getRole(tx store.Tx, acct, name string) (roleRecord, error) {
	return getNamed[roleRecord](tx, kindRole, acct, name, noSuchRole)
}

// updateRole runs fn on the stored role and stores the result.
func (s *Service) updateRole(ctx context.Context, name string, fn func(r *roleRecord, tx store.Tx) error) (roleRecord, error) {
	return update(ctx, s, kindRole, name, getRole, fn)
}

func (s *Service) viewRole(ctx context.Context, name string) (roleRecord, error) {
	return view(ctx, s, name, getRole)
}

// CreateRole creates a role with its trust policy.
func (s *Service) CreateRole(ctx context.Context, in *iamapi.CreateRoleInput) (*iamapi.CreateRoleOutput, error) {
	acct := account(ctx)
	doc := *in.AssumeRolePolicyDocument
	if _, err := checkPolicy(doc, policy.Trust); err != nil {
		return nil, err
	}
	if policy.Size(doc) > maxTrustPolicySize {
		return nil, iamapi.NewLimitExceededException("Cannot exceed quota for ACLSizePerRole: %d", maxTrustPolicySize)
	}
	if in.PermissionsBoundary != nil {
		if err := s.checkBoundary(ctx, *in.PermissionsBoundary); err != nil {
			return nil, err
		}
	}
	tags, err := mergeTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	r := roleRecord{
		Name: *in.RoleName, ID: newID("AROA"), Path: "/", Description: deref(in.Description), TrustPolicy: doc,
		MaxSessionDuration: defaultSessionSeconds, Created: s.clock(), Boundary: deref(in.PermissionsBoundary), Tags: tags,
	}
	if in.Path != nil {
		r.Path = *in.Path
	}
	if in.MaxSessionDuration != nil {
		r.MaxSessionDuration = *in.MaxSessionDuration
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		return create(tx, kindRole, acct, r.Name, r, r.Created, func(existing roleRecord) error {
			return iamapi.NewEntityAlreadyExistsException("Role with name %s already exists.", existing.Name)
		}, maxRolesPerAccount, iamapi.NewLimitExceededException("Cannot exceed quota for RolesPerAccount: %d.", maxRolesPerAccount))
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateRoleOutput{Role: r.created(acct)}, nil
}

// GetRole returns a role.
func (s *Service) GetRole(ctx context.Context, in *iamapi.GetRoleInput) (*iamapi.GetRoleOutput, error) {
	r, err := s.viewRole(ctx, *in.RoleName)
	if err != nil {
		return nil, err
	}
	return &iamapi.GetRoleOutput{Role: r.wire(account(ctx), false)}, nil
}

// DeleteRole deletes a role that has no policies left.
func (s *Service) DeleteRole(ctx context.Context, in *iamapi.DeleteRoleInput) (*iamapi.DeleteRoleOutput, error) {
	err := remove(ctx, s, kindRole, *in.RoleName, getRole, func(r roleRecord, tx store.Tx) error {
		if r.isServiceLinked() {
			return protectedRole(r.Name)
		}
		if len(r.Inline) > 0 {
			return iamapi.NewDeleteConflictException("Cannot delete entity, must delete policies first.")
		}
		if len(r.Attached) > 0 {
			return iamapi.NewDeleteConflictException("Cannot delete entity, must detach all policies first.")
		}
		return roleInInstanceProfile(tx, account(ctx), r.Name)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteRoleOutput{}, nil
}

// ListRoles lists the account's roles whose path starts with PathPrefix.
func (s *Service) ListRoles(ctx context.Context, in *iamapi.ListRolesInput) (*iamapi.ListRolesOutput, error) {
	acct := account(ctx)
	roles, err := viewAll[roleRecord](ctx, s, kindRole, acct)
	if err != nil {
		return nil, err
	}
	prefix := deref(in.PathPrefix)
	roles = slices.DeleteFunc(roles, func(r roleRecord) bool { return !strings.HasPrefix(r.Path, prefix) })
	items, truncated, marker := page(roles, func(r roleRecord) string { return key(r.Name) }, in.Marker, in.MaxItems)
	out := &iamapi.ListRolesOutput{Roles: make([]iamapi.Role, 0, len(items)), IsTruncated: truncated, Marker: marker}
	for _, r := range items {
		out.Roles = append(out.Roles, *r.wire(acct, true))
	}
	return out, nil
}

// UpdateRole changes a role's description and maximum session duration.
func (s *Service) UpdateRole(ctx context.Context, in *iamapi.UpdateRoleInput) (*iamapi.UpdateRoleOutput, error) {
	_, err := s.updateRole(ctx, *in.RoleName, func(r *roleRecord, _ store.Tx) error {
		if in.Description != nil {
			r.Description = *in.Description
		}
		if in.MaxSessionDuration != nil {
			r.MaxSessionDuration = *in.MaxSessionDuration
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateRoleOutput{}, nil
}

// UpdateRoleDescription changes a role's description and returns the role.
func (s *Service) UpdateRoleDescription(ctx context.Context, in *iamapi.UpdateRoleDescriptionInput) (*iamapi.UpdateRoleDescriptionOutput, error) {
	r, err := s.updateRole(ctx, *in.RoleName, func(r *roleRecord, _ store.Tx) error {
		r.Description = *in.Description
		return nil
	})
	if err != nil {
		return nil, err
	}
	// AWS answers with the role as CreateRole does, plus its description.
	out := r.created(account(ctx))
	out.Description = optional(r.Description)
	return &iamapi.UpdateRoleDescriptionOutput{Role: out}, nil
}

// UpdateAssumeRolePolicy replaces a role's trust policy.
func (s *Service) UpdateAssumeRolePolicy(ctx context.Context, in *iamapi.UpdateAssumeRolePolicyInput) (*iamapi.UpdateAssumeRolePolicyOutput, error) {
	doc := *in.PolicyDocument
	if _, err := checkPolicy(doc, policy.Trust); err != nil {
		return nil, err
	}
	if policy.Size(doc) > maxTrustPolicySize {
		return nil, iamapi.NewLimitExceededException("Cannot exceed quota for ACLSizePerRole: %d", maxTrustPolicySize)
	}
	_, err := s.updateRole(ctx, *in.RoleName, func(r *roleRecord, _ store.Tx) error {
		if r.isServiceLinked() {
			return protectedRole(r.Name)
		}
		r.TrustPolicy = doc
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateAssumeRolePolicyOutput{}, nil
}

// Role is what other services need of a role: STS to assume it, ECS to
// vend its credentials to tasks.
type Role struct {
	Account string
	Name    string
	Path    string
	ID      string // AROA...
	ARN     string
	// MaxSessionDuration bounds the sessions AssumeRole issues.
	MaxSessionDuration time.Duration
	// Trust is the parsed trust policy.
	Trust *policy.Document
}

// ErrNoSuchRole is returned by RoleByARN and RoleByName for a role that
// does not exist.
var ErrNoSuchRole = errors.New("iam: no such role")

// RoleByARN returns the role an ARN names; the path in the ARN must be
// the role's.
func (s *Service) RoleByARN(ctx context.Context, arn string) (Role, error) {
	acct, path, name, ok := ParseRoleARN(arn)
	if !ok {
		return Role{}, ErrNoSuchRole
	}
	r, err := s.RoleByName(ctx, acct, name)
	if err != nil {
		return Role{}, err
	}
	if r.Path != path {
		return Role{}, ErrNoSuchRole
	}
	return r, nil
}

// RoleByName returns the role name of account acct.
func (s *Service) RoleByName(ctx context.Context, acct, name string) (Role, error) {
	var r roleRecord
	var found bool
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		found, err = get(tx, kindRole, acct, key(name), &r)
		return err
	})
	if err != nil {
		return Role{}, err
	}
	if !found {
		return Role{}, ErrNoSuchRole
	}
	trust, err := policy.Parse(r.TrustPolicy, policy.Trust)
	if err != nil {
		// Stored policies were checked when they were stored; one that no
		// longer parses trusts nobody.
		trust = &policy.Document{}
	}
	return Role{Account: acct, Name: r.Name, Path: r.Path, ID: r.ID, ARN: r.arn(acct),
		MaxSessionDuration: time.Duration(r.MaxSessionDuration) * time.Second, Trust: trust}, nil
}
