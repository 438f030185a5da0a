package iam

import (
	"context"
	"maps"
	"slices"
	"strings"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// kindAlias holds every account alias by name, globally: an alias names
// one account in the whole partition.
const kindAlias = "iam.alias"

// entities is everything of an account that policies attach to.
type entities struct {
	users    []userRecord
	groups   []groupRecord
	roles    []roleRecord
	policies []policyRecord
	profiles []instanceProfileRecord
}

func loadEntities(tx store.Tx, acct string) (entities, error) {
	var e entities
	var err error
	if e.users, err = all[userRecord](tx, kindUser, acct); err != nil {
		return e, err
	}
	if e.groups, err = all[groupRecord](tx, kindGroup, acct); err != nil {
		return e, err
	}
	if e.roles, err = all[roleRecord](tx, kindRole, acct); err != nil {
		return e, err
	}
	if e.policies, err = all[policyRecord](tx, kindPolicy, acct); err != nil {
		return e, err
	}
	e.profiles, err = all[instanceProfileRecord](tx, kindInstanceProfile, acct)
	return e, err
}

// ListEntitiesForPolicy lists the users, groups and roles a managed policy
// is attached to (PermissionsPolicy) or bounds (PermissionsBoundary).
func (s *Service) ListEntitiesForPolicy(ctx context.Context, in *iamapi.ListEntitiesForPolicyInput) (*iamapi.ListEntitiesForPolicyOutput, error) {
	acct := account(ctx)
	arn := *in.PolicyArn
	pa, ok := parsePolicyARN(arn)
	if !ok {
		return nil, invalidARN(arn)
	}
	var e entities
	err := s.st.View(ctx, func(tx store.Tx) error {
		if pa.account != "aws" {
			if _, err := s.getPolicy(tx, acct, arn); err != nil {
				return err
			}
		}
		var err error
		e, err = loadEntities(tx, acct)
		return err
	})
	if err != nil {
		return nil, err
	}
	usage := iamapi.PolicyUsageType("")
	if in.PolicyUsageFilter != nil {
		usage = *in.PolicyUsageFilter
	}
	uses := func(attached []string, boundary string) bool {
		return usage != iamapi.PolicyUsageTypePermissionsBoundary && slices.Contains(attached, arn) ||
			usage != iamapi.PolicyUsageTypePermissionsPolicy && boundary == arn
	}
	want := func(t iamapi.EntityType) bool { return in.EntityFilter == nil || *in.EntityFilter == t }
	prefix := deref(in.PathPrefix)
	// One listing, ordered users, groups, roles, paged together.
	type entity struct {
		key   string
		user  *iamapi.PolicyUser
		group *iamapi.PolicyGroup
		role  *iamapi.PolicyRole
	}
	var list []entity
	if want(iamapi.EntityTypeUser) {
		for _, u := range e.users {
			if strings.HasPrefix(u.Path, prefix) && uses(u.Attached, u.Boundary) {
				list = append(list, entity{key: "1" + key(u.Name), user: &iamapi.PolicyUser{UserName: str(u.Name), UserId: str(u.ID)}})
			}
		}
	}
	if want(iamapi.EntityTypeGroup) {
		for _, g := range e.groups {
			if strings.HasPrefix(g.Path, prefix) && uses(g.Attached, "") {
				list = append(list, entity{key: "2" + key(g.Name), group: &iamapi.PolicyGroup{GroupName: str(g.Name), GroupId: str(g.ID)}})
			}
		}
	}
	if want(iamapi.EntityTypeRole) {
		for _, r := range e.roles {
			if strings.HasPrefix(r.Path, prefix) && uses(r.Attached, r.Boundary) {
				list = append(list, entity{key: "3" + key(r.Name), role: &iamapi.PolicyRole{RoleName: str(r.Name), RoleId: str(r.ID)}})
			}
		}
	}
	slices.SortFunc(list, func(a, b entity) int { return strings.Compare(a.key, b.key) })
	items, truncated, marker := page(list, func(x entity) string { return x.key }, in.Marker, in.MaxItems)
	out := &iamapi.ListEntitiesForPolicyOutput{PolicyUsers: []iamapi.PolicyUser{}, PolicyGroups: []iamapi.PolicyGroup{},
		PolicyRoles: []iamapi.PolicyRole{}, IsTruncated: truncated, Marker: marker}
	for _, x := range items {
		switch {
		case x.user != nil:
			out.PolicyUsers = append(out.PolicyUsers, *x.user)
		case x.group != nil:
			out.PolicyGroups = append(out.PolicyGroups, *x.group)
		default:
			out.PolicyRoles = append(out.PolicyRoles, *x.role)
		}
	}
	return out, nil
}

func policyDetails(m map[string]string) []iamapi.PolicyDetail {
	out := []iamapi.PolicyDetail{}
	for _, name := range slices.Sorted(maps.Keys(m)) {
		out = append(out, iamapi.PolicyDetail{PolicyName: str(name), PolicyDocument: str(EncodeDocument(m[name]))})
	}
	return out
}

func attachedPolicies(arns []string) []iamapi.AttachedPolicy {
	items, _, _ := pageAttached(arns, "", nil, new(int32(len(arns)+1)))
	return items
}

// GetAccountAuthorizationDetails returns the account's users, groups,
// roles and customer managed policies with their policies, as Filter
// selects (all by default). Berth returns everything in one page.
func (s *Service) GetAccountAuthorizationDetails(ctx context.Context, in *iamapi.GetAccountAuthorizationDetailsInput) (*iamapi.GetAccountAuthorizationDetailsOutput, error) {
	acct := account(ctx)
	want := func(t iamapi.EntityType) bool { return len(in.Filter) == 0 || slices.Contains(in.Filter, t) }
	out := &iamapi.GetAccountAuthorizationDetailsOutput{UserDetailList: []iamapi.UserDetail{}, GroupDetailList: []iamapi.GroupDetail{},
		RoleDetailList: []iamapi.RoleDetail{}, Policies: []iamapi.ManagedPolicyDetail{}, IsTruncated: new(false)}
	err := s.st.View(ctx, func(tx store.Tx) error {
		e, err := loadEntities(tx, acct)
		if err != nil {
			return err
		}
		if want(iamapi.EntityTypeUser) {
			for _, u := range e.users {
				w := u.wire(acct, false)
				out.UserDetailList = append(out.UserDetailList, iamapi.UserDetail{Path: w.Path, UserName: w.UserName, UserId: w.UserId, Arn: w.Arn,
					CreateDate: w.CreateDate, UserPolicyList: policyDetails(u.Inline), GroupList: append([]string{}, u.Groups...),
					AttachedManagedPolicies: attachedPolicies(u.Attached), PermissionsBoundary: w.PermissionsBoundary, Tags: w.Tags})
			}
		}
		if want(iamapi.EntityTypeGroup) {
			for _, g := range e.groups {
				w := g.wire(acct)
				out.GroupDetailList = append(out.GroupDetailList, iamapi.GroupDetail{Path: w.Path, GroupName: w.GroupName, GroupId: w.GroupId,
					Arn: w.Arn, CreateDate: w.CreateDate, GroupPolicyList: policyDetails(g.Inline), AttachedManagedPolicies: attachedPolicies(g.Attached)})
			}
		}
		if want(iamapi.EntityTypeRole) {
			for _, r := range e.roles {
				w := r.wire(acct, false)
				profiles := []iamapi.InstanceProfile{}
				for _, p := range e.profiles {
					if slices.ContainsFunc(p.Roles, func(n string) bool { return strings.EqualFold(n, r.Name) }) {
						profiles = append(profiles, *p.wire(tx, acct))
					}
				}
				out.RoleDetailList = append(out.RoleDetailList, iamapi.RoleDetail{Path: w.Path, RoleName: w.RoleName, RoleId: w.RoleId, Arn: w.Arn,
					CreateDate: w.CreateDate, AssumeRolePolicyDocument: w.AssumeRolePolicyDocument, InstanceProfileList: profiles,
					RolePolicyList: policyDetails(r.Inline), AttachedManagedPolicies: attachedPolicies(r.Attached),
					PermissionsBoundary: w.PermissionsBoundary, Tags: w.Tags, RoleLastUsed: w.RoleLastUsed})
			}
		}
		if want(iamapi.EntityTypeLocalManagedPolicy) {
			for _, p := range e.policies {
				w := p.wire(acct, true)
				d := iamapi.ManagedPolicyDetail{PolicyName: w.PolicyName, PolicyId: w.PolicyId, Arn: w.Arn, Path: w.Path,
					DefaultVersionId: w.DefaultVersionId, AttachmentCount: w.AttachmentCount, PermissionsBoundaryUsageCount: w.PermissionsBoundaryUsageCount,
					IsAttachable: w.IsAttachable, Description: w.Description, CreateDate: w.CreateDate, UpdateDate: w.UpdateDate}
				for _, v := range p.versions() {
					d.PolicyVersionList = append(d.PolicyVersionList, v.wire(v.ID == p.defaultID(), true))
				}
				out.Policies = append(out.Policies, d)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CreateAccountAlias sets the account's alias (one per account, unique
// across accounts); an account that has one gets it replaced, as the IAM
// console does.
func (s *Service) CreateAccountAlias(ctx context.Context, in *iamapi.CreateAccountAliasInput) (*iamapi.CreateAccountAliasOutput, error) {
	acct := account(ctx)
	alias := *in.AccountAlias
	if !validAlias(alias) {
		return nil, awsapi.Errorf("ValidationError", "1 validation error detected: Value '%s' at 'accountAlias' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$", alias)
	}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		var owner string
		found, err := store.LoadDoc(tx, kindAlias, "", "", alias, &owner)
		if err != nil {
			return err
		}
		if found && owner != acct {
			return iamapi.NewEntityAlreadyExistsException("The account alias %s already exists.", alias)
		}
		a, err := getAccount(tx, acct)
		if err != nil {
			return err
		}
		for _, old := range a.Aliases {
			if err := store.DeleteDoc(tx, kindAlias, "", "", old); err != nil {
				return err
			}
		}
		a.Aliases = []string{alias}
		if err := store.PutDoc(tx, kindAlias, "", "", alias, acct, s.clock()); err != nil {
			return err
		}
		return put(tx, kindAccount, acct, accountDoc, a, s.clock())
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateAccountAliasOutput{}, nil
}

// validAlias checks the model's alias pattern, which the generated
// validator cannot (Go's regexp has no lookahead): lower-case letters,
// digits and single hyphens, starting and ending with a letter or digit.
func validAlias(alias string) bool {
	if alias == "" || alias[0] == '-' || alias[len(alias)-1] == '-' || strings.Contains(alias, "--") {
		return false
	}
	for _, c := range alias {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// DeleteAccountAlias removes the account's alias.
func (s *Service) DeleteAccountAlias(ctx context.Context, in *iamapi.DeleteAccountAliasInput) (*iamapi.DeleteAccountAliasOutput, error) {
	acct := account(ctx)
	alias := *in.AccountAlias
	err := s.st.Update(ctx, func(tx store.Tx) error {
		a, err := getAccount(tx, acct)
		if err != nil {
			return err
		}
		if !slices.Contains(a.Aliases, alias) {
			return iamapi.NewNoSuchEntityException("The account alias %s cannot be found.", alias)
		}
		a.Aliases = slices.DeleteFunc(a.Aliases, func(x string) bool { return x == alias })
		if err := store.DeleteDoc(tx, kindAlias, "", "", alias); err != nil {
			return err
		}
		return put(tx, kindAccount, acct, accountDoc, a, s.clock())
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteAccountAliasOutput{}, nil
}

// ListAccountAliases lists the account's alias (none or one).
func (s *Service) ListAccountAliases(ctx context.Context, in *iamapi.ListAccountAliasesInput) (*iamapi.ListAccountAliasesOutput, error) {
	var a accountRecord
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		a, err = getAccount(tx, account(ctx))
		return err
	})
	if err != nil {
		return nil, err
	}
	items, truncated, marker := page(slices.Clone(a.Aliases), func(x string) string { return x }, in.Marker, in.MaxItems)
	if items == nil {
		items = []string{}
	}
	return &iamapi.ListAccountAliasesOutput{AccountAliases: items, IsTruncated: truncated, Marker: marker}, nil
}

// GetAccountSummary counts the account's IAM entities next to IAM's
// quotas, with the keys IAM uses.
func (s *Service) GetAccountSummary(ctx context.Context, _ *iamapi.GetAccountSummaryInput) (*iamapi.GetAccountSummaryOutput, error) {
	acct := account(ctx)
	m := map[string]int32{
		"UsersQuota": maxUsersPerAccount, "GroupsQuota": maxGroupsPerAccount, "RolesQuota": maxRolesPerAccount,
		"PoliciesQuota": maxPoliciesPerAccount, "InstanceProfilesQuota": maxInstanceProfilesPerAccount,
		"AccessKeysPerUserQuota": maxKeysPerUser, "GroupsPerUserQuota": maxGroupsPerUser,
		"AttachedPoliciesPerUserQuota": maxAttachedPerUser, "AttachedPoliciesPerGroupQuota": maxAttachedPerGroup,
		"AttachedPoliciesPerRoleQuota": maxAttachedPerRole, "PolicySizeQuota": maxManagedPolicySize,
		"UserPolicySizeQuota": maxUserInlinePolicySize, "GroupPolicySizeQuota": maxGroupInlinePolicySize,
		"RolePolicySizeQuota": maxInlinePolicySize, "AssumeRolePolicySizeQuota": maxTrustPolicySize,
		"VersionsPerPolicyQuota": maxPolicyVersions, "PolicyVersionsInUseQuota": 10000,
		"SigningCertificatesPerUserQuota": 2, "ServerCertificatesQuota": 20, "ServerCertificates": 0,
		"MFADevices": 0, "MFADevicesInUse": 0, "AccountMFAEnabled": 0, "GlobalEndpointTokenVersion": 1,
		// Berth has no root signing certificates and no root console
		// password, so these are always 0.
		"AccountSigningCertificatesPresent": 0, "AccountPasswordPresent": 0,
	}
	err := s.st.View(ctx, func(tx store.Tx) error {
		e, err := loadEntities(tx, acct)
		if err != nil {
			return err
		}
		a, err := getAccount(tx, acct)
		if err != nil {
			return err
		}
		providers, err := tx.ListResources(kindOIDCProvider, acct, global, "", store.Page{})
		if err != nil {
			return err
		}
		m["Users"], m["Groups"], m["Roles"] = int32(len(e.users)), int32(len(e.groups)), int32(len(e.roles))
		m["Policies"], m["InstanceProfiles"], m["Providers"] = int32(len(e.policies)), int32(len(e.profiles)), int32(len(providers))
		m["AccountAccessKeysPresent"] = int32(min(len(a.RootKeys), 1))
		for kind, k := range map[string]string{kindServerCert: "ServerCertificates", kindMFADevice: "MFADevices", kindSAMLProvider: "Providers"} {
			n, err := tx.ListResources(kind, acct, global, "", store.Page{})
			if err != nil {
				return err
			}
			m[k] += int32(len(n))
		}
		for _, u := range e.users {
			m["MFADevicesInUse"] += int32(len(u.MFA))
		}
		inUse := 0
		for _, u := range e.users {
			inUse += len(u.Attached)
		}
		for _, g := range e.groups {
			inUse += len(g.Attached)
		}
		for _, r := range e.roles {
			inUse += len(r.Attached)
		}
		m["PolicyVersionsInUse"] = int32(inUse)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.GetAccountSummaryOutput{SummaryMap: m}, nil
}
