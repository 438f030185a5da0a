package iam_test

import (
	"context"
	"testing"
)

// Keys resolve to the account and user they were created for, and the
// cache forgets a key as soon as it is deactivated or deleted.
func TestAccessKeyLookup(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.must(acct, "CreateUser", "UserName", "Deployer", "Path", "/ci/")
	r := f.must(acct, "CreateAccessKey", "UserName", "deployer")
	id := r.get("AccessKey/AccessKeyId")
	if r.get("AccessKey/UserName") != "Deployer" || len(id) != 20 {
		t.Fatalf("CreateAccessKey: %v", r)
	}
	k, err := f.svc.LookupAccessKey(ctx, id)
	if err != nil || k == nil || k.AccountID != acct || k.Principal != "arn:aws:iam::111111111111:user/ci/Deployer" ||
		k.SecretAccessKey != r.get("AccessKey/SecretAccessKey") || !k.Active {
		t.Fatalf("LookupAccessKey: %+v %v", k, err)
	}
	f.must(acct, "UpdateAccessKey", "UserName", "Deployer", "AccessKeyId", id, "Status", "Inactive")
	if k, _ := f.svc.LookupAccessKey(ctx, id); k == nil || k.Active {
		t.Errorf("after UpdateAccessKey Inactive: %+v", k)
	}
	// Another account's caller does not see the key.
	f.fails("NoSuchEntity", "The user with name Deployer cannot be found.", "222222222222", "DeleteAccessKey", "UserName", "Deployer", "AccessKeyId", id)
	f.must(acct, "CreateAccessKey", "UserName", "Deployer")
	f.fails("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2", acct, "CreateAccessKey", "UserName", "Deployer")
	f.fails("DeleteConflict", "Cannot delete entity, must delete access keys first.", acct, "DeleteUser", "UserName", "Deployer")
	f.must(acct, "DeleteAccessKey", "UserName", "Deployer", "AccessKeyId", id)
	if k, _ := f.svc.LookupAccessKey(ctx, id); k != nil {
		t.Errorf("after DeleteAccessKey: %+v", k)
	}
	// A rename follows into the key's principal.
	r = f.must(acct, "ListAccessKeys", "UserName", "Deployer")
	other := r.get("AccessKeyMetadata/member/AccessKeyId")
	f.must(acct, "UpdateUser", "UserName", "Deployer", "NewUserName", "Builder")
	if k, _ := f.svc.LookupAccessKey(ctx, other); k == nil || k.Principal != "arn:aws:iam::111111111111:user/ci/Builder" {
		t.Errorf("after UpdateUser: %+v", k)
	}
	if k, _ := f.svc.LookupAccessKey(ctx, "AKIAIOSFODNN7EXAMPLE"); k != nil {
		t.Errorf("a key IAM did not create: %+v", k)
	}
}

// A role in an instance profile cannot be deleted; a profile holds one role.
func TestInstanceProfileRoles(t *testing.T) {
	f := newFixture(t)
	f.must(acct, "CreateRole", "RoleName", "node", "AssumeRolePolicyDocument", trust)
	f.must(acct, "CreateRole", "RoleName", "other", "AssumeRolePolicyDocument", trust)
	f.must(acct, "CreateInstanceProfile", "InstanceProfileName", "p")
	f.must(acct, "AddRoleToInstanceProfile", "InstanceProfileName", "p", "RoleName", "node")
	f.fails("LimitExceeded", "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1", acct, "AddRoleToInstanceProfile", "InstanceProfileName", "p", "RoleName", "other")
	f.fails("DeleteConflict", "Cannot delete entity, must remove roles from instance profile first.", acct, "DeleteRole", "RoleName", "node")
	if r := f.must(acct, "ListInstanceProfilesForRole", "RoleName", "node"); r.get("InstanceProfiles/member/Roles/member/RoleName") != "node" {
		t.Errorf("ListInstanceProfilesForRole: %v", r)
	}
	f.must(acct, "RemoveRoleFromInstanceProfile", "InstanceProfileName", "p", "RoleName", "node")
	f.must(acct, "DeleteRole", "RoleName", "node")
	f.must(acct, "DeleteInstanceProfile", "InstanceProfileName", "p")
	f.fails("NoSuchEntity", "Instance Profile p cannot be found.", acct, "GetInstanceProfile", "InstanceProfileName", "p")
}

// Boundaries are policy ARNs, shown by GetUser and found by usage.
func TestPermissionsBoundaries(t *testing.T) {
	f := newFixture(t)
	f.must(acct, "CreateUser", "UserName", "u")
	f.must(acct, "CreateRole", "RoleName", "r", "AssumeRolePolicyDocument", trust)
	arn := f.must(acct, "CreatePolicy", "PolicyName", "b", "PolicyDocument", s3Read).get("Policy/Arn")
	f.fails("InvalidInput", "ARN arn:aws:s3:::some-bucket/key is not valid.", acct, "PutUserPermissionsBoundary", "UserName", "u", "PermissionsBoundary", "arn:aws:s3:::some-bucket/key")
	f.must(acct, "PutUserPermissionsBoundary", "UserName", "u", "PermissionsBoundary", arn)
	f.must(acct, "PutRolePermissionsBoundary", "RoleName", "r", "PermissionsBoundary", arn)
	if got := f.must(acct, "GetUser", "UserName", "u").get("User/PermissionsBoundary/PermissionsBoundaryArn"); got != arn {
		t.Errorf("GetUser boundary %q", got)
	}
	r := f.must(acct, "ListEntitiesForPolicy", "PolicyArn", arn, "PolicyUsageFilter", "PermissionsBoundary")
	if r.get("PolicyUsers/member/UserName") != "u" || r.get("PolicyRoles/member/RoleName") != "r" {
		t.Errorf("ListEntitiesForPolicy: %v", r)
	}
	if r := f.must(acct, "ListEntitiesForPolicy", "PolicyArn", arn, "PolicyUsageFilter", "PermissionsPolicy"); len(r["PolicyUsers/member/UserName"]) != 0 {
		t.Errorf("ListEntitiesForPolicy PermissionsPolicy: %v", r)
	}
	f.must(acct, "DeleteRolePermissionsBoundary", "RoleName", "r")
	if got := f.must(acct, "GetRole", "RoleName", "r").get("Role/PermissionsBoundary/PermissionsBoundaryArn"); got != "" {
		t.Errorf("GetRole boundary after delete %q", got)
	}
}
