package e2e

import (
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// stsParityScript assumes roles with session tags: the checks STS makes
// on them and the transitive tags a chained session inherits.
const stsParityScript = `
import json, boto3, botocore
iam = boto3.client("iam")
sts = boto3.client("sts")
account = sts.get_caller_identity()["Account"]
trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": account},
    "Action": ["sts:AssumeRole", "sts:TagSession"]}]})
first = iam.create_role(RoleName="parity-first", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
second = iam.create_role(RoleName="parity-second", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
out = {}

def err(client, **kw):
    try:
        client.assume_role(**kw)
    except botocore.exceptions.ClientError as e:
        return {"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"]}
    return None

out["transitiveNotTagged"] = err(sts, RoleArn=first, RoleSessionName="s1", Tags=[{"Key": "team", "Value": "a"}], TransitiveTagKeys=["stage"])
out["duplicateKeys"] = err(sts, RoleArn=first, RoleSessionName="s1", Tags=[{"Key": "team", "Value": "a"}, {"Key": "Team", "Value": "b"}])

def session(client, role, **kw):
    c = client.assume_role(RoleArn=role, RoleSessionName="s1", **kw)["Credentials"]
    return boto3.client("sts", aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])

tagged = session(sts, first, Tags=[{"Key": "team", "Value": "a"}], TransitiveTagKeys=["team"])
out["overrideTransitive"] = err(tagged, RoleArn=second, RoleSessionName="s2", Tags=[{"Key": "TEAM", "Value": "b"}])
out["otherTag"] = err(tagged, RoleArn=second, RoleSessionName="s2", Tags=[{"Key": "stage", "Value": "dev"}])
# The second session inherits "team" as transitive: its own chained
# sessions may not set it either.
chained = session(tagged, second, Tags=[{"Key": "stage", "Value": "dev"}])
out["inheritedTransitive"] = err(chained, RoleArn=first, RoleSessionName="s3", Tags=[{"Key": "team", "Value": "c"}])
out["untagged"] = err(sts, RoleArn=second, RoleSessionName="s4", Tags=[{"Key": "team", "Value": "c"}])
session_policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
out["packedWithPolicy"] = sts.assume_role(RoleArn=first, RoleSessionName="s5", Policy=session_policy).get("PackedPolicySize", -1)
out["packedWithout"] = sts.assume_role(RoleArn=first, RoleSessionName="s6").get("PackedPolicySize", -1)
out["packedFederation"] = sts.get_federation_token(Name="parity", DurationSeconds=900).get("PackedPolicySize", -1)
print(json.dumps(out))
`

func TestSTSAWSParity(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	var got struct {
		TransitiveNotTagged, DuplicateKeys, OverrideTransitive, InheritedTransitive *awsErr
		OtherTag, Untagged                                                          *awsErr
		PackedWithPolicy, PackedWithout, PackedFederation                           int
	}
	b.Python(t, stsParityScript).Must(t).JSON(t, &got)
	wantErr := func(what string, e *awsErr, msg string) {
		t.Helper()
		if e == nil || e.Code != "InvalidParameterValue" || e.Message != msg {
			t.Errorf("%s: %+v, want InvalidParameterValue %q", what, e, msg)
		}
	}
	wantErr("a transitive key that is not a tag", got.TransitiveNotTagged, "The specified transitive tag key must be included in the requested tags.")
	wantErr("tag keys differing in case", got.DuplicateKeys, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
	const conflict = "One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session."
	wantErr("re-setting the caller's transitive tag", got.OverrideTransitive, conflict)
	wantErr("re-setting a transitive tag two sessions down", got.InheritedTransitive, conflict)
	if got.OtherTag != nil {
		t.Errorf("a chained session with a new tag key: %+v, want success", got.OtherTag)
	}
	if got.Untagged != nil {
		t.Errorf("long-term keys setting a tag: %+v, want success", got.Untagged)
	}
	// PackedPolicySize: a share of the allowance for a session policy, absent
	// without one for AssumeRole, 0 without one for GetFederationToken.
	if got.PackedWithPolicy <= 0 || got.PackedWithPolicy > 100 || got.PackedWithout != -1 || got.PackedFederation != 0 {
		t.Errorf("PackedPolicySize: with a policy %d, without %d, federation %d; want 1-100, absent (-1), 0",
			got.PackedWithPolicy, got.PackedWithout, got.PackedFederation)
	}
}
