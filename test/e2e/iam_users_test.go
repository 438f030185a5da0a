package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/berth-dev/berth/test/harness"
)

type accessKeyOut struct {
	AccessKey struct{ UserName, AccessKeyId, Status, SecretAccessKey string }
}

// A key that IAM's CreateAccessKey made signs requests that Berth checks
// against the key's stored secret (SigV4 checking on) and attributes to
// its user, in the account it was created in, for every service and
// client; deactivated or deleted, it is refused as AWS refuses it.
func TestIAMAccessKeysSignRequests(t *testing.T) {
	t.Parallel()
	admin := harness.Start(t, harness.WithCredentials(iamTestAccount, "admin-secret"))
	for _, cli := range awsCLIs {
		t.Run(cli.name, func(t *testing.T) {
			aws := func(b *harness.Berth, args ...string) *harness.Result { return cli.run(b, t, args...) }
			user := "deployer-" + cli.name
			userARN := "arn:aws:iam::111111111111:user/ci/" + user

			var created struct {
				User struct{ UserName, UserId, Arn, Path string }
			}
			aws(admin, "iam", "create-user", "--user-name", user, "--path", "/ci/").Must(t).JSON(t, &created)
			if created.User.Arn != userARN || !strings.HasPrefix(created.User.UserId, "AIDA") {
				t.Fatalf("create-user: %+v", created.User)
			}
			var key accessKeyOut
			aws(admin, "iam", "create-access-key", "--user-name", user).Must(t).JSON(t, &key)
			k := key.AccessKey
			if !strings.HasPrefix(k.AccessKeyId, "AKIA") || len(k.AccessKeyId) != 20 || k.Status != "Active" || len(k.SecretAccessKey) != 40 || k.UserName != user {
				t.Fatalf("create-access-key: %+v", k)
			}
			as := admin.As(k.AccessKeyId, k.SecretAccessKey)

			// STS and every other service see the user, in the admin's account.
			var who callerIdentity
			aws(as, "sts", "get-caller-identity").Must(t).JSON(t, &who)
			if who.Arn != userARN || who.UserId != created.User.UserId || who.Account != iamTestAccount {
				t.Errorf("get-caller-identity with the user's key: %+v", who)
			}
			var repo struct {
				Repository struct{ RepositoryArn string }
			}
			aws(as, "ecr", "create-repository", "--repository-name", "by-"+user).Must(t).JSON(t, &repo)
			if repo.Repository.RepositoryArn != "arn:aws:ecr:us-east-1:111111111111:repository/by-"+user {
				t.Errorf("ecr create-repository with the user's key: %+v", repo)
			}
			r := aws(as, "ecs", "list-clusters")
			assertPastAuth(t, r.ExitCode, r.ErrorCode(), r.Stderr)
			// GetUser and ListAccessKeys without a user name mean the caller.
			var me struct{ User struct{ Arn string } }
			aws(as, "iam", "get-user").Must(t).JSON(t, &me)
			if me.User.Arn != userARN {
				t.Errorf("get-user as the user: %+v", me)
			}
			var mine struct {
				AccessKeyMetadata []struct{ AccessKeyId, Status string }
			}
			aws(as, "iam", "list-access-keys").Must(t).JSON(t, &mine)
			if len(mine.AccessKeyMetadata) != 1 || mine.AccessKeyMetadata[0].AccessKeyId != k.AccessKeyId {
				t.Errorf("list-access-keys as the user: %+v", mine)
			}
			var last struct {
				UserName          string
				AccessKeyLastUsed struct{ LastUsedDate, ServiceName, Region string }
			}
			aws(admin, "iam", "get-access-key-last-used", "--access-key-id", k.AccessKeyId).Must(t).JSON(t, &last)
			if last.UserName != user || last.AccessKeyLastUsed.ServiceName != "iam" || last.AccessKeyLastUsed.Region != "us-east-1" || last.AccessKeyLastUsed.LastUsedDate == "" {
				t.Errorf("get-access-key-last-used: %+v", last)
			}

			// A wrong secret does not match; the key's own secret is checked.
			assertCode(t, aws(admin.As(k.AccessKeyId, "not-the-secret-not-the-secret-not-the-se"), "sts", "get-caller-identity"), "SignatureDoesNotMatch")

			// Temporary credentials from the user's key act as the user.
			var st struct{ Credentials sessionCreds }
			aws(as, "sts", "get-session-token", "--duration-seconds", "900").Must(t).JSON(t, &st)
			if !strings.HasPrefix(st.Credentials.AccessKeyID, "ASIA") {
				t.Fatalf("get-session-token: %+v", st)
			}
			var sessWho callerIdentity
			withSession(t, admin, cli, st.Credentials, "sts", "get-caller-identity").Must(t).JSON(t, &sessWho)
			if sessWho.Arn != userARN {
				t.Errorf("get-caller-identity with the session token's credentials: %+v", sessWho)
			}
			assertCode(t, withSession(t, admin, cli, st.Credentials, "sts", "get-session-token"), "AccessDenied")
			// A role that trusts the user can be assumed with its key.
			role := "deploy-" + cli.name
			trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + userARN + `"},"Action":"sts:AssumeRole"}]}`
			aws(admin, "iam", "create-role", "--role-name", role, "--assume-role-policy-document", trust).Must(t)
			var assumed assumeRoleOut
			aws(as, "sts", "assume-role", "--role-arn", "arn:aws:iam::111111111111:role/"+role, "--role-session-name", "deploy").Must(t).JSON(t, &assumed)
			if assumed.AssumedRoleUser.Arn != "arn:aws:sts::111111111111:assumed-role/"+role+"/deploy" {
				t.Errorf("assume-role with the user's key: %+v", assumed.AssumedRoleUser)
			}
			var fed struct {
				FederatedUser struct{ Arn, FederatedUserId string }
			}
			aws(as, "sts", "get-federation-token", "--name", "alice").Must(t).JSON(t, &fed)
			if fed.FederatedUser.Arn != "arn:aws:sts::111111111111:federated-user/alice" || fed.FederatedUser.FederatedUserId != "111111111111:alice" {
				t.Errorf("get-federation-token: %+v", fed)
			}

			// The user cannot be deleted while it has a key.
			wantCLIError(t, "delete-user with a key", aws(admin, "iam", "delete-user", "--user-name", user), "DeleteConflict")

			// Inactive: refused with AWS's error; active again: accepted.
			aws(admin, "iam", "update-access-key", "--user-name", user, "--access-key-id", k.AccessKeyId, "--status", "Inactive").Must(t)
			r = aws(as, "sts", "get-caller-identity")
			assertCode(t, r, "InvalidClientTokenId")
			if !strings.Contains(r.Stderr, "The security token included in the request is invalid") {
				t.Errorf("inactive key's error: %s", r.Stderr)
			}
			assertCode(t, aws(as, "ecr", "describe-repositories"), "UnrecognizedClientException")
			aws(admin, "iam", "update-access-key", "--user-name", user, "--access-key-id", k.AccessKeyId, "--status", "Active").Must(t)
			aws(as, "sts", "get-caller-identity").Must(t)

			// Deleted: refused; then the user can go.
			aws(admin, "iam", "delete-access-key", "--user-name", user, "--access-key-id", k.AccessKeyId).Must(t)
			assertCode(t, aws(as, "sts", "get-caller-identity"), "InvalidClientTokenId")
			wantCLIError(t, "delete-access-key again", aws(admin, "iam", "delete-access-key", "--user-name", user, "--access-key-id", k.AccessKeyId), "NoSuchEntity")
			aws(admin, "iam", "delete-user", "--user-name", user).Must(t)
		})
	}

	// boto3 and aws-sdk-go-v2 sign with a fresh key as well.
	var key accessKeyOut
	admin.AWS(t, "iam", "create-user", "--user-name", "sdk").Must(t)
	admin.AWS(t, "iam", "create-access-key", "--user-name", "sdk").Must(t).JSON(t, &key)
	var boto map[string]string
	admin.Python(t, `
import json, sys, boto3
s = boto3.session.Session(aws_access_key_id=sys.argv[1], aws_secret_access_key=sys.argv[2])
print(json.dumps({"arn": s.client("sts").get_caller_identity()["Arn"],
                  "user": s.client("iam").get_user()["User"]["UserName"]}))
`, key.AccessKey.AccessKeyId, key.AccessKey.SecretAccessKey).Must(t).JSON(t, &boto)
	if boto["arn"] != "arn:aws:iam::111111111111:user/sdk" || boto["user"] != "sdk" {
		t.Errorf("boto3 with the user's key: %v", boto)
	}
	who, err := stsClient(admin, &sessionCreds{AccessKeyID: key.AccessKey.AccessKeyId, SecretAccessKey: key.AccessKey.SecretAccessKey}).
		GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.Arn) != "arn:aws:iam::111111111111:user/sdk" {
		t.Errorf("Go SDK with the user's key: %v %v", who, err)
	}
	// Keys outlive a restart: they are in the store.
	if err := admin.Stop(); err != nil {
		t.Fatal(err)
	}
	admin.Restart()
	who, err = stsClient(admin, &sessionCreds{AccessKeyID: key.AccessKey.AccessKeyId, SecretAccessKey: key.AccessKey.SecretAccessKey}).
		GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.Arn) != "arn:aws:iam::111111111111:user/sdk" {
		t.Errorf("after a restart: %v %v", who, err)
	}
}

// Users, groups, instance profiles, policy versions and the account's
// views of them, as the aws CLIs script them, with IAM's errors.
func TestIAMUsersGroupsProfilesWithAWSCLI(t *testing.T) {
	t.Parallel()
	b := harness.Start(t).As(iamTestAccount, "secret")
	for _, cli := range awsCLIs {
		t.Run(cli.name, func(t *testing.T) {
			aws := func(args ...string) *harness.Result { return cli.run(b, t, args...) }
			n := func(s string) string { return s + "-" + cli.name }
			user, group, profile, role, pol := n("alice"), n("devs"), n("node"), n("node-role"), n("ecr-pull")

			// Users: create, get, list by path, update, tags.
			aws("iam", "create-user", "--user-name", user, "--path", "/people/", "--tags", "Key=team,Value=red").Must(t)
			aws("iam", "create-user", "--user-name", n("bob"), "--path", "/people/").Must(t)
			aws("iam", "create-user", "--user-name", n("robot"), "--path", "/bots/").Must(t)
			wantCLIError(t, "create-user again", aws("iam", "create-user", "--user-name", strings.ToUpper(user)), "EntityAlreadyExists")
			wantCLIError(t, "get-user of nobody", aws("iam", "get-user", "--user-name", "nobody"), "NoSuchEntity")
			var got struct {
				User struct {
					Arn  string
					Tags []struct{ Key, Value string }
				}
			}
			aws("iam", "get-user", "--user-name", user).Must(t).JSON(t, &got)
			if got.User.Arn != "arn:aws:iam::111111111111:user/people/"+user || len(got.User.Tags) != 1 {
				t.Errorf("get-user: %+v", got.User)
			}
			var users struct{ Users []struct{ UserName string } }
			aws("iam", "list-users", "--path-prefix", "/people/").Must(t).JSON(t, &users)
			if names := userNames(users.Users); !strings.Contains(names, user) || !strings.Contains(names, n("bob")) || strings.Contains(names, n("robot")) {
				t.Errorf("list-users --path-prefix /people/: %s", names)
			}
			aws("iam", "tag-user", "--user-name", user, "--tags", "Key=env,Value=dev").Must(t)
			aws("iam", "untag-user", "--user-name", user, "--tag-keys", "team").Must(t)
			var tags struct{ Tags []struct{ Key, Value string } }
			aws("iam", "list-user-tags", "--user-name", user).Must(t).JSON(t, &tags)
			if len(tags.Tags) != 1 || tags.Tags[0].Key != "env" {
				t.Errorf("list-user-tags: %+v", tags)
			}
			aws("iam", "update-user", "--user-name", n("robot"), "--new-user-name", n("robot2"), "--new-path", "/people/").Must(t)
			aws("iam", "get-user", "--user-name", n("robot2")).Must(t)
			wantCLIError(t, "get-user of the old name", aws("iam", "get-user", "--user-name", n("robot")), "NoSuchEntity")

			// Inline and managed policies of users.
			aws("iam", "put-user-policy", "--user-name", user, "--policy-name", "read", "--policy-document", s3ReadPolicy).Must(t)
			var up struct{ PolicyDocument any }
			aws("iam", "get-user-policy", "--user-name", user, "--policy-name", "read").Must(t).JSON(t, &up)
			if doc, _ := json.Marshal(up.PolicyDocument); !sameJSON(string(doc), s3ReadPolicy) {
				t.Errorf("get-user-policy: %s", doc)
			}
			var pn struct{ PolicyNames []string }
			aws("iam", "list-user-policies", "--user-name", user).Must(t).JSON(t, &pn)
			if len(pn.PolicyNames) != 1 || pn.PolicyNames[0] != "read" {
				t.Errorf("list-user-policies: %v", pn)
			}
			var cp struct {
				Policy struct{ Arn, DefaultVersionId string }
			}
			aws("iam", "create-policy", "--policy-name", pol, "--policy-document", s3ReadPolicy).Must(t).JSON(t, &cp)
			polARN := cp.Policy.Arn
			aws("iam", "attach-user-policy", "--user-name", user, "--policy-arn", polARN).Must(t)
			var ap struct {
				AttachedPolicies []struct{ PolicyName, PolicyArn string }
			}
			aws("iam", "list-attached-user-policies", "--user-name", user).Must(t).JSON(t, &ap)
			if len(ap.AttachedPolicies) != 1 || ap.AttachedPolicies[0].PolicyArn != polARN {
				t.Errorf("list-attached-user-policies: %+v", ap)
			}

			// A permissions boundary is stored, shown and found by usage.
			aws("iam", "put-user-permissions-boundary", "--user-name", n("bob"), "--permissions-boundary", polARN).Must(t)
			var bound struct {
				User struct {
					PermissionsBoundary struct{ PermissionsBoundaryArn string }
				}
			}
			aws("iam", "get-user", "--user-name", n("bob")).Must(t).JSON(t, &bound)
			if bound.User.PermissionsBoundary.PermissionsBoundaryArn != polARN {
				t.Errorf("get-user after put-user-permissions-boundary: %+v", bound)
			}
			var bents struct{ PolicyUsers []struct{ UserName string } }
			aws("iam", "list-entities-for-policy", "--policy-arn", polARN, "--policy-usage-filter", "PermissionsBoundary").Must(t).JSON(t, &bents)
			if len(bents.PolicyUsers) != 1 || bents.PolicyUsers[0].UserName != n("bob") {
				t.Errorf("list-entities-for-policy PermissionsBoundary: %+v", bents)
			}
			aws("iam", "delete-user-permissions-boundary", "--user-name", n("bob")).Must(t)

			// Groups: members, policies, deletion order.
			aws("iam", "create-group", "--group-name", group, "--path", "/teams/").Must(t)
			wantCLIError(t, "create-group again", aws("iam", "create-group", "--group-name", group), "EntityAlreadyExists")
			aws("iam", "add-user-to-group", "--group-name", group, "--user-name", user).Must(t)
			aws("iam", "add-user-to-group", "--group-name", group, "--user-name", n("bob")).Must(t)
			var gg struct {
				Group struct{ Arn string }
				Users []struct{ UserName string }
			}
			aws("iam", "get-group", "--group-name", group).Must(t).JSON(t, &gg)
			if gg.Group.Arn != "arn:aws:iam::111111111111:group/teams/"+group || userNames(gg.Users) != user+","+n("bob") && userNames(gg.Users) != n("bob")+","+user {
				t.Errorf("get-group: %+v", gg)
			}
			var gfu struct{ Groups []struct{ GroupName string } }
			aws("iam", "list-groups-for-user", "--user-name", user).Must(t).JSON(t, &gfu)
			if len(gfu.Groups) != 1 || gfu.Groups[0].GroupName != group {
				t.Errorf("list-groups-for-user: %+v", gfu)
			}
			var groups struct{ Groups []struct{ GroupName string } }
			aws("iam", "list-groups", "--path-prefix", "/teams/").Must(t).JSON(t, &groups)
			if len(groups.Groups) != 1 {
				t.Errorf("list-groups: %+v", groups)
			}
			aws("iam", "put-group-policy", "--group-name", group, "--policy-name", "g", "--policy-document", s3ReadPolicy).Must(t)
			aws("iam", "get-group-policy", "--group-name", group, "--policy-name", "g").Must(t)
			aws("iam", "attach-group-policy", "--group-name", group, "--policy-arn", polARN).Must(t)
			aws("iam", "list-attached-group-policies", "--group-name", group).Must(t).JSON(t, &ap)
			if len(ap.AttachedPolicies) != 1 {
				t.Errorf("list-attached-group-policies: %+v", ap)
			}
			wantCLIError(t, "delete-group with members", aws("iam", "delete-group", "--group-name", group), "DeleteConflict")
			wantCLIError(t, "delete-user in a group", aws("iam", "delete-user", "--user-name", n("bob")), "DeleteConflict")

			// Instance profiles hold one role; a role in one cannot go.
			aws("iam", "create-role", "--role-name", role, "--assume-role-policy-document", ecsTasksTrust).Must(t)
			aws("iam", "create-role", "--role-name", role+"2", "--assume-role-policy-document", ecsTasksTrust).Must(t)
			var ip struct {
				InstanceProfile struct{ Arn, InstanceProfileId string }
			}
			aws("iam", "create-instance-profile", "--instance-profile-name", profile, "--path", "/nodes/", "--tags", "Key=a,Value=b").Must(t).JSON(t, &ip)
			if ip.InstanceProfile.Arn != "arn:aws:iam::111111111111:instance-profile/nodes/"+profile || !strings.HasPrefix(ip.InstanceProfile.InstanceProfileId, "AIPA") {
				t.Errorf("create-instance-profile: %+v", ip)
			}
			aws("iam", "add-role-to-instance-profile", "--instance-profile-name", profile, "--role-name", role).Must(t)
			wantCLIError(t, "a second role", aws("iam", "add-role-to-instance-profile", "--instance-profile-name", profile, "--role-name", role+"2"), "LimitExceeded")
			var gip struct {
				InstanceProfile struct {
					Roles []struct{ RoleName, Arn string }
				}
			}
			aws("iam", "get-instance-profile", "--instance-profile-name", profile).Must(t).JSON(t, &gip)
			if len(gip.InstanceProfile.Roles) != 1 || gip.InstanceProfile.Roles[0].RoleName != role {
				t.Errorf("get-instance-profile: %+v", gip)
			}
			var forRole struct {
				InstanceProfiles []struct{ InstanceProfileName string }
			}
			aws("iam", "list-instance-profiles-for-role", "--role-name", role).Must(t).JSON(t, &forRole)
			if len(forRole.InstanceProfiles) != 1 || forRole.InstanceProfiles[0].InstanceProfileName != profile {
				t.Errorf("list-instance-profiles-for-role: %+v", forRole)
			}
			aws("iam", "list-instance-profiles", "--path-prefix", "/nodes/").Must(t).JSON(t, &forRole)
			if len(forRole.InstanceProfiles) != 1 {
				t.Errorf("list-instance-profiles: %+v", forRole)
			}
			aws("iam", "list-instance-profile-tags", "--instance-profile-name", profile).Must(t).JSON(t, &tags)
			if len(tags.Tags) != 1 {
				t.Errorf("list-instance-profile-tags: %+v", tags)
			}
			wantCLIError(t, "delete-role in a profile", aws("iam", "delete-role", "--role-name", role), "DeleteConflict")
			wantCLIError(t, "delete-instance-profile with a role", aws("iam", "delete-instance-profile", "--instance-profile-name", profile), "DeleteConflict")
			aws("iam", "remove-role-from-instance-profile", "--instance-profile-name", profile, "--role-name", role).Must(t)
			aws("iam", "delete-instance-profile", "--instance-profile-name", profile).Must(t)
			aws("iam", "delete-role", "--role-name", role).Must(t)
			wantCLIError(t, "get-instance-profile after delete", aws("iam", "get-instance-profile", "--instance-profile-name", profile), "NoSuchEntity")

			// Policy versions: five at most, the default cannot go.
			for i := 0; i < 4; i++ {
				aws("iam", "create-policy-version", "--policy-arn", polARN, "--policy-document", s3ReadPolicy).Must(t)
			}
			wantCLIError(t, "a sixth version", aws("iam", "create-policy-version", "--policy-arn", polARN, "--policy-document", s3ReadPolicy), "LimitExceeded")
			aws("iam", "delete-policy-version", "--policy-arn", polARN, "--version-id", "v2").Must(t)
			var pv struct {
				PolicyVersion struct {
					VersionId        string
					IsDefaultVersion bool
				}
			}
			aws("iam", "create-policy-version", "--policy-arn", polARN, "--policy-document", ecsTasksTrustPermissions, "--set-as-default").Must(t).JSON(t, &pv)
			if pv.PolicyVersion.VersionId != "v6" || !pv.PolicyVersion.IsDefaultVersion {
				t.Errorf("create-policy-version --set-as-default: %+v", pv)
			}
			var gp struct {
				Policy struct{ DefaultVersionId string }
			}
			aws("iam", "get-policy", "--policy-arn", polARN).Must(t).JSON(t, &gp)
			if gp.Policy.DefaultVersionId != "v6" {
				t.Errorf("get-policy after set-as-default: %+v", gp)
			}
			wantCLIError(t, "delete the default version", aws("iam", "delete-policy-version", "--policy-arn", polARN, "--version-id", "v6"), "DeleteConflict")
			aws("iam", "set-default-policy-version", "--policy-arn", polARN, "--version-id", "v1").Must(t)
			var versions struct {
				Versions []struct {
					VersionId        string
					IsDefaultVersion bool
				}
			}
			aws("iam", "list-policy-versions", "--policy-arn", polARN).Must(t).JSON(t, &versions)
			if len(versions.Versions) != 5 || versions.Versions[0].VersionId != "v6" || versions.Versions[4].VersionId != "v1" || !versions.Versions[4].IsDefaultVersion {
				t.Errorf("list-policy-versions: %+v", versions)
			}
			aws("iam", "tag-policy", "--policy-arn", polARN, "--tags", "Key=k,Value=v").Must(t)
			aws("iam", "list-policy-tags", "--policy-arn", polARN).Must(t).JSON(t, &tags)
			if len(tags.Tags) != 1 {
				t.Errorf("list-policy-tags: %+v", tags)
			}
			var ents struct {
				PolicyUsers  []struct{ UserName string }
				PolicyGroups []struct{ GroupName string }
				PolicyRoles  []struct{ RoleName string }
			}
			aws("iam", "list-entities-for-policy", "--policy-arn", polARN).Must(t).JSON(t, &ents)
			if len(ents.PolicyUsers) != 1 || ents.PolicyUsers[0].UserName != user || len(ents.PolicyGroups) != 1 || len(ents.PolicyRoles) != 0 {
				t.Errorf("list-entities-for-policy: %+v", ents)
			}
			wantCLIError(t, "delete-policy while attached", aws("iam", "delete-policy", "--policy-arn", polARN), "DeleteConflict")

			var details struct {
				UserDetailList []struct {
					UserName  string
					GroupList []string
				}
				Policies       []struct{ PolicyVersionList []struct{ VersionId string } }
				RoleDetailList []any
			}
			aws("iam", "get-account-authorization-details", "--filter", "User", "LocalManagedPolicy").Must(t).JSON(t, &details)
			found := false
			for _, u := range details.UserDetailList {
				found = found || u.UserName == user && len(u.GroupList) == 1 && u.GroupList[0] == group
			}
			if !found || len(details.Policies) == 0 || len(details.RoleDetailList) != 0 {
				t.Errorf("get-account-authorization-details: %+v", details)
			}

			// Cleaning up in IAM's order.
			aws("iam", "detach-user-policy", "--user-name", user, "--policy-arn", polARN).Must(t)
			aws("iam", "detach-group-policy", "--group-name", group, "--policy-arn", polARN).Must(t)
			aws("iam", "delete-user-policy", "--user-name", user, "--policy-name", "read").Must(t)
			aws("iam", "delete-group-policy", "--group-name", group, "--policy-name", "g").Must(t)
			aws("iam", "remove-user-from-group", "--group-name", group, "--user-name", user).Must(t)
			aws("iam", "remove-user-from-group", "--group-name", group, "--user-name", n("bob")).Must(t)
			// AWS answers removing a non-member with success.
			aws("iam", "remove-user-from-group", "--group-name", group, "--user-name", user).Must(t)
			aws("iam", "delete-group", "--group-name", group).Must(t)
			for _, u := range []string{user, n("bob"), n("robot2")} {
				aws("iam", "delete-user", "--user-name", u).Must(t)
			}
			wantCLIError(t, "delete-policy with versions", aws("iam", "delete-policy", "--policy-arn", polARN), "DeleteConflict")
			for _, v := range []string{"v3", "v4", "v5", "v6"} {
				aws("iam", "delete-policy-version", "--policy-arn", polARN, "--version-id", v).Must(t)
			}
			aws("iam", "delete-policy", "--policy-arn", polARN).Must(t)
		})
	}

	// Account alias and summary.
	b.AWS(t, "iam", "create-account-alias", "--account-alias", "berth-test").Must(t)
	var aliases struct{ AccountAliases []string }
	b.AWSv2(t, "iam", "list-account-aliases").Must(t).JSON(t, &aliases)
	if len(aliases.AccountAliases) != 1 || aliases.AccountAliases[0] != "berth-test" {
		t.Errorf("list-account-aliases: %+v", aliases)
	}
	wantCLIError(t, "an alias of another account", b.As("222222222222", "x").AWS(t, "iam", "create-account-alias", "--account-alias", "berth-test"), "EntityAlreadyExists")
	b.AWS(t, "iam", "delete-account-alias", "--account-alias", "berth-test").Must(t)
	var summary struct{ SummaryMap map[string]int }
	b.AWS(t, "iam", "get-account-summary").Must(t).JSON(t, &summary)
	if summary.SummaryMap["UsersQuota"] != 5000 || summary.SummaryMap["Users"] != 0 {
		t.Errorf("get-account-summary: %+v", summary.SummaryMap)
	}

	// boto3 pages users with Marker and MaxItems.
	for _, u := range []string{"p1", "p2", "p3"} {
		b.AWS(t, "iam", "create-user", "--user-name", u, "--path", "/paged/").Must(t)
	}
	var paged map[string]any
	b.Python(t, `
import json, boto3
c = boto3.client("iam")
first = c.list_users(PathPrefix="/paged/", MaxItems=2)
rest = c.list_users(PathPrefix="/paged/", MaxItems=2, Marker=first["Marker"])
print(json.dumps({"first": [u["UserName"] for u in first["Users"]], "truncated": first["IsTruncated"],
                  "rest": [u["UserName"] for u in rest["Users"]], "more": rest["IsTruncated"]}))
`).Must(t).JSON(t, &paged)
	if j, _ := json.Marshal(paged); string(j) != `{"first":["p1","p2"],"more":false,"rest":["p3"],"truncated":true}` {
		t.Errorf("boto3 list_users paging: %s", j)
	}
}

// A permissions policy for policy version tests (different from s3ReadPolicy).
const ecsTasksTrustPermissions = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}]}`

func userNames(us []struct{ UserName string }) string {
	var names []string
	for _, u := range us {
		names = append(names, u.UserName)
	}
	return strings.Join(names, ",")
}
