package e2e

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// iamParityScript drives role, user, group, policy and instance-profile
// answers where AWS's recorded behaviour differs from the obvious one:
// members CreateRole and UpdateRoleDescription leave out, trust policies
// limited to STS actions, case-sensitive policy tags, and the exact
// wording of several NoSuchEntity errors.
const iamParityScript = `
import boto3, json, uuid
from botocore.exceptions import ClientError

iam = boto3.client("iam")
u = uuid.uuid4().hex[:8]
acct = boto3.client("sts").get_caller_identity()["Account"]
out = {"errors": {}}

def err(key, f, **kw):
    try:
        f(**kw)
        out["errors"][key] = "accepted"
    except ClientError as e:
        out["errors"][key] = "%s %d: %s" % (e.response["Error"]["Code"],
            e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Message"])

def trust(action):
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"}, "Action": action}]})

role = "role-" + u
created = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust("sts:AssumeRole"),
                          Description="first", MaxSessionDuration=7200)["Role"]
out["create_role_keys"] = sorted(created)
out["get_role"] = {k: v for k, v in iam.get_role(RoleName=role)["Role"].items() if k in ("Description", "MaxSessionDuration", "RoleLastUsed")}
desc = iam.update_role_description(RoleName=role, Description="second")["Role"]
out["update_description_keys"] = sorted(desc)
out["update_description"] = desc.get("Description")
err("trust_other_sts_action", iam.update_assume_role_policy, RoleName=role, PolicyDocument=trust("sts:InvalidAction"))
err("trust_s3_action", iam.create_role, RoleName=role + "-x", AssumeRolePolicyDocument=trust("s3:GetObject"))
iam.update_assume_role_policy(RoleName=role, PolicyDocument=trust(["sts:AssumeRole", "sts:TagSession"]))
err("attach_not_an_arn", iam.attach_role_policy, RoleName=role, PolicyArn="longpolicynamebutnoarn")

user = "user-" + u
iam.create_user(UserName=user)
group = "group-" + u
iam.create_group(GroupName=group)
err("remove_non_member", iam.remove_user_from_group, GroupName=group, UserName=user)
err("remove_missing_user_from_missing_group", iam.remove_user_from_group, GroupName="nogroup-" + u, UserName="nouser-" + u)
err("get_missing_group_policy", iam.get_group_policy, GroupName=group, PolicyName="nope")
err("last_used_of_unknown_key", iam.get_access_key_last_used, AccessKeyId="AKIAIOSFODNN7EXAMPLE")

doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]})
pol = iam.create_policy(PolicyName="pol-" + u, PolicyDocument=doc,
                        Tags=[{"Key": "a", "Value": "lower"}, {"Key": "A", "Value": "upper"}])["Policy"]
out["policy_tags"] = [t["Key"] for t in iam.list_policy_tags(PolicyArn=pol["Arn"])["Tags"]]
iam.untag_policy(PolicyArn=pol["Arn"], TagKeys=["a"])
out["policy_tags_after_untag"] = [t["Key"] for t in iam.list_policy_tags(PolicyArn=pol["Arn"])["Tags"]]
err("policy_duplicate_tag", iam.tag_policy, PolicyArn=pol["Arn"], Tags=[{"Key": "b", "Value": "1"}, {"Key": "b", "Value": "2"}])
err("role_duplicate_tag_case", iam.tag_role, RoleName=role, Tags=[{"Key": "b", "Value": "1"}, {"Key": "B", "Value": "2"}])
missing = "arn:aws:iam::%s:policy/missing-%s" % (acct, u)
err("tag_missing_policy", iam.tag_policy, PolicyArn=missing, Tags=[{"Key": "b", "Value": "1"}])
err("list_tags_missing_policy", iam.list_policy_tags, PolicyArn=missing)
err("get_version_missing_policy", iam.get_policy_version, PolicyArn=missing, VersionId="v1")

err("boundary_missing_policy", iam.put_role_permissions_boundary, RoleName=role, PermissionsBoundary=missing)
iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=pol["Arn"])
out["boundary_type"] = iam.get_role(RoleName=role)["Role"]["PermissionsBoundary"]["PermissionsBoundaryType"]
iam.delete_role_permissions_boundary(RoleName=role)

prof = "prof-" + u
iam.create_instance_profile(InstanceProfileName=prof)
out["profile_tags"] = iam.get_instance_profile(InstanceProfileName=prof)["InstanceProfile"].get("Tags")
iam.add_role_to_instance_profile(InstanceProfileName=prof, RoleName=role)
out["profile_role_keys"] = sorted(iam.get_instance_profile(InstanceProfileName=prof)["InstanceProfile"]["Roles"][0])
iam.create_role(RoleName=role + "-2", AssumeRolePolicyDocument=trust("sts:AssumeRole"))
err("remove_unattached_role", iam.remove_role_from_instance_profile, InstanceProfileName=prof, RoleName=role + "-2")
out["names"] = {"role2": role + "-2", "prof": prof, "policy": pol["Arn"], "missing": missing, "user": user, "account": acct}
print(json.dumps(out, default=str))
`

func TestIAMAWSParity(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)

	var got struct {
		Errors                map[string]string
		CreateRoleKeys        []string       `json:"create_role_keys"`
		GetRole               map[string]any `json:"get_role"`
		UpdateDescriptionKeys []string       `json:"update_description_keys"`
		UpdateDescription     string         `json:"update_description"`
		PolicyTags            []string       `json:"policy_tags"`
		PolicyTagsAfterUntag  []string       `json:"policy_tags_after_untag"`
		ProfileTags           []any          `json:"profile_tags"`
		ProfileRoleKeys       []string       `json:"profile_role_keys"`
		Names                 map[string]string
		BoundaryType          string `json:"boundary_type"`
	}
	b.Python(t, iamParityScript).Must(t).JSON(t, &got)

	// CreateRole answers without the description, session duration and
	// last use; GetRole carries them.
	if k := strings.Join(got.CreateRoleKeys, ","); k != "Arn,AssumeRolePolicyDocument,CreateDate,Path,RoleId,RoleName" {
		t.Errorf("CreateRole members: %s", k)
	}
	if got.GetRole["Description"] != "first" || got.GetRole["MaxSessionDuration"] != float64(7200) || got.GetRole["RoleLastUsed"] == nil {
		t.Errorf("GetRole: %v", got.GetRole)
	}
	if k := strings.Join(got.UpdateDescriptionKeys, ","); k != "Arn,AssumeRolePolicyDocument,CreateDate,Description,Path,RoleId,RoleName" || got.UpdateDescription != "second" {
		t.Errorf("UpdateRoleDescription members: %s (description %q)", k, got.UpdateDescription)
	}
	if k := strings.Join(got.ProfileRoleKeys, ","); k != "Arn,AssumeRolePolicyDocument,CreateDate,Description,Path,RoleId,RoleName" {
		t.Errorf("instance profile role members: %s", k)
	}
	if got.ProfileTags == nil || len(got.ProfileTags) != 0 {
		t.Errorf("GetInstanceProfile Tags: %v, want an empty list", got.ProfileTags)
	}
	// Policy tag keys are case sensitive, listed by key.
	if k := strings.Join(got.PolicyTags, ","); k != "A,a" {
		t.Errorf("policy tags: %s, want A,a", k)
	}
	if k := strings.Join(got.PolicyTagsAfterUntag, ","); k != "A" {
		t.Errorf("policy tags after untagging a: %s, want A", k)
	}

	if got.BoundaryType != "Policy" {
		t.Errorf("PermissionsBoundaryType %q, want Policy", got.BoundaryType)
	}

	n := got.Names
	for key, want := range map[string]string{
		"trust_other_sts_action":                 "MalformedPolicyDocument 400: AssumeRole policy may only specify STS AssumeRole actions.",
		"trust_s3_action":                        "MalformedPolicyDocument 400: AssumeRole policy may only specify STS AssumeRole actions.",
		"attach_not_an_arn":                      "ValidationError 400: ARN longpolicynamebutnoarn is not valid.",
		"remove_missing_user_from_missing_group": "NoSuchEntity 404: The user with name nouser-" + strings.TrimPrefix(n["user"], "user-") + " cannot be found.",
		"remove_non_member":                      "accepted",
		"get_missing_group_policy":               "NoSuchEntity 404: The group policy with name nope cannot be found.",
		"last_used_of_unknown_key":               "AccessDenied 403: User: arn:aws:iam::" + n["account"] + ":root is not authorized to perform iam:GetAccessKeyLastUsed on resource: access key AKIAIOSFODNN7EXAMPLE",
		"policy_duplicate_tag":                   "InvalidInput 400: Duplicate tag keys found.",
		"role_duplicate_tag_case":                "InvalidInput 400: Duplicate tag keys found. Please note that Tag keys are case insensitive.",
		"tag_missing_policy":                     "NoSuchEntity 404: Policy " + n["missing"] + " was not found.",
		"list_tags_missing_policy":               "NoSuchEntity 404: Policy " + n["missing"] + " was not found.",
		"get_version_missing_policy":             "NoSuchEntity 404: Policy " + n["missing"] + " version v1 does not exist or is not attachable.",
		"boundary_missing_policy":                "NoSuchEntity 404: Scope ARN: " + n["missing"] + " does not exist or is not attachable.",
		"remove_unattached_role":                 "NoSuchEntity 404: Role " + n["role2"] + " in Instance Profile " + n["prof"] + " cannot be found.",
	} {
		if got.Errors[key] != want {
			t.Errorf("%s: %q, want %q", key, got.Errors[key], want)
		}
	}
}
