package e2e

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// secretsCompatScript drives the corners of Secrets Manager and Parameter
// Store where Berth once differed from AWS, through boto3.
const secretsCompatScript = `
import json, datetime, boto3, botocore
sm = boto3.client("secretsmanager")
ssm = boto3.client("ssm")
out = {}

def err(f):
    try:
        f()
    except botocore.exceptions.ClientError as e:
        return {"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"]}
    return None

def keys(d):
    return sorted(k for k in d if k != "ResponseMetadata")

sm.create_secret(Name="compat/novalue")
out["noValueKeys"] = keys(sm.describe_secret(SecretId="compat/novalue"))
first = sm.create_secret(Name="compat/db", SecretString="s3cret", ClientRequestToken="11111111-2222-3333-4444-555555555555")
out["arn"] = first["ARN"]
out["valueKeys"] = keys(sm.describe_secret(SecretId="compat/db"))
out["tokenReuse"] = err(lambda: sm.create_secret(Name="compat/db", SecretString="other", ClientRequestToken="11111111-2222-3333-4444-555555555555"))
out["badWindowForced"] = err(lambda: sm.delete_secret(SecretId="compat/db", RecoveryWindowInDays=3, ForceDeleteWithoutRecovery=True))
out["spacePassword"] = sm.get_random_password(PasswordLength=4, IncludeSpace=True)["RandomPassword"]

out["rotateNoLambda"] = err(lambda: sm.rotate_secret(SecretId="compat/db", RotationRules={"AutomaticallyAfterDays": 7}))
fn = "arn:aws:lambda:us-east-1:000000000000:function:rotator"
token = "99999999-8888-7777-6666-555555555555"
out["rotateVersion"] = sm.rotate_secret(SecretId="compat/db", RotationLambdaARN=fn, RotationRules={"AutomaticallyAfterDays": 7}, ClientRequestToken=token)["VersionId"]
d = sm.describe_secret(SecretId="compat/db")
out["rotation"] = {"enabled": d.get("RotationEnabled"), "lambda": d.get("RotationLambdaARN"), "rules": d.get("RotationRules"),
                   "nextInDays": (d["NextRotationDate"] - d["LastChangedDate"]).total_seconds() / 86400}
out["listedEnabled"] = [s.get("RotationEnabled") for s in sm.list_secrets(Filters=[{"Key": "name", "Values": ["compat/db"]}])["SecretList"]]
out["currentAfterRotate"] = sm.get_secret_value(SecretId="compat/db")["SecretString"]
# A rotation function stores the new value under AWSPENDING with the token;
# while it has not been promoted, another rotation is refused.
sm.put_secret_value(SecretId="compat/db", SecretString="n3w", ClientRequestToken=token, VersionStages=["AWSPENDING"])
out["rotateWhilePending"] = err(lambda: sm.rotate_secret(SecretId="compat/db"))
out["cancelVersion"] = sm.cancel_rotate_secret(SecretId="compat/db").get("VersionId")
d = sm.describe_secret(SecretId="compat/db")
out["afterCancel"] = {"enabled": d.get("RotationEnabled"), "lambda": d.get("RotationLambdaARN")}
# Finishing the rotation by hand, as a rotation function's last step does.
sm.update_secret_version_stage(SecretId="compat/db", VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=first["VersionId"])
out["finished"] = {"value": sm.get_secret_value(SecretId="compat/db")["SecretString"],
                   "lastRotated": "LastRotatedDate" in sm.describe_secret(SecretId="compat/db")}

good = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
        "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}
out["goodPolicy"] = sm.validate_resource_policy(ResourcePolicy=json.dumps(good))["PolicyValidationPassed"]
out["badPolicies"] = [err(lambda p=p: sm.validate_resource_policy(ResourcePolicy=json.dumps(p))) for p in [
    {"Version": "2012-10-17"},
    {"Version": "2012-10-17", "Statement": [{"Action": "secretsmanager:*", "Resource": "*"}]},
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Unknown": "*"}]},
]]
out["badPut"] = err(lambda: sm.put_resource_policy(SecretId="compat/db", ResourcePolicy=json.dumps({"Version": "2012-10-17"})))

for n, desc in [("compat/d1", "one two"), ("compat/d2", "One and two"), ("compat/d3", "one"), ("compat/d4", "two")]:
    sm.create_secret(Name=n, SecretString="x", Description=desc)
out["descWords"] = sorted(s["Name"] for s in sm.list_secrets(Filters=[{"Key": "description", "Values": ["one two"]}])["SecretList"])

for n in ["param", "/param-2", "/tangent-3", "tangram-4", "standby-5"]:
    ssm.put_parameter(Name=n, Value="v", Type="String")
out["containsSlash"] = sorted(p["Name"] for p in ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Option": "Contains", "Values": ["/tan"]}])["Parameters"])
out["reservedPath"] = err(lambda: ssm.describe_parameters(ParameterFilters=[{"Key": "Path", "Values": ["/aws", "/ssm"]}]))
print(json.dumps(out))
`

type secretsCompatErr struct{ Code, Message string }

// TestSecretsCompatShapesRotationPolicies checks, through boto3: that
// DescribeSecret leaves out VersionIdsToStages for a secret without a value
// and the rotation members until rotation is configured; that reusing a
// ClientRequestToken with another value on CreateSecret is AWS's token
// error; that RotateSecret needs a rotation function, records the schedule
// without touching the current value, answers the token as the new version
// and refuses to start while an AWSPENDING version waits; that
// CancelRotateSecret turns rotation off but keeps the function; that
// promoting the pending version to AWSCURRENT records LastRotatedDate; that
// resource policies are checked against the IAM grammar; that a description
// filter of several words needs all of them; and, for Parameter
// Store, the Name Contains filter with a leading slash and the refusal of
// /aws and /ssm Path filters.
func TestSecretsCompatShapesRotationPolicies(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	var got struct {
		NoValueKeys, ValueKeys      []string
		ARN                         string
		TokenReuse, BadWindowForced *secretsCompatErr
		SpacePassword               string
		RotateNoLambda              *secretsCompatErr
		RotateVersion               string
		Rotation                    struct {
			Enabled    *bool
			Lambda     string
			Rules      map[string]any
			NextInDays float64
		}
		ListedEnabled      []*bool
		CurrentAfterRotate string
		RotateWhilePending *secretsCompatErr
		CancelVersion      string
		AfterCancel        struct {
			Enabled *bool
			Lambda  string
		}
		Finished struct {
			Value       string
			LastRotated bool
		}
		GoodPolicy    bool
		BadPolicies   []*secretsCompatErr
		BadPut        *secretsCompatErr
		DescWords     []string
		ContainsSlash []string
		ReservedPath  *secretsCompatErr
	}
	b.Python(t, secretsCompatScript).Must(t).JSON(t, &got)

	if strings.Join(got.NoValueKeys, ",") != "ARN,CreatedDate,LastChangedDate,Name" {
		t.Errorf("describe_secret of a secret without a value: keys %v, want ARN, CreatedDate, LastChangedDate, Name", got.NoValueKeys)
	}
	if strings.Join(got.ValueKeys, ",") != "ARN,CreatedDate,LastChangedDate,Name,VersionIdsToStages" {
		t.Errorf("describe_secret of a never-rotated secret: keys %v, want no rotation members", got.ValueKeys)
	}
	wantReuse := "You can't use ClientRequestToken 11111111-2222-3333-4444-555555555555 because that value is already in use for a version of secret " + got.ARN + "."
	if got.TokenReuse == nil || got.TokenReuse.Code != "ResourceExistsException" || got.TokenReuse.Message != wantReuse {
		t.Errorf("create_secret reusing a token with another value: %+v, want ResourceExistsException %q", got.TokenReuse, wantReuse)
	}
	if got.BadWindowForced == nil || got.BadWindowForced.Code != "InvalidParameterException" || !strings.Contains(got.BadWindowForced.Message, "between 7 and 30 days") {
		t.Errorf("delete_secret with RecoveryWindowInDays=3 and force: %+v, want the window error", got.BadWindowForced)
	}
	if len(got.SpacePassword) != 4 {
		t.Errorf("get_random_password(4, IncludeSpace): %q, want 4 characters", got.SpacePassword)
	}

	if got.RotateNoLambda == nil || got.RotateNoLambda.Code != "InvalidRequestException" {
		t.Errorf("rotate_secret without a rotation function: %+v, want InvalidRequestException", got.RotateNoLambda)
	}
	if got.RotateVersion != "99999999-8888-7777-6666-555555555555" {
		t.Errorf("rotate_secret VersionId %q, want the ClientRequestToken", got.RotateVersion)
	}
	r := got.Rotation
	if r.Enabled == nil || !*r.Enabled || r.Lambda != "arn:aws:lambda:us-east-1:000000000000:function:rotator" ||
		r.Rules["AutomaticallyAfterDays"] != float64(7) || r.NextInDays < 6.99 || r.NextInDays > 7.01 {
		t.Errorf("describe_secret after rotate_secret: %+v", r)
	}
	if len(got.ListedEnabled) != 1 || got.ListedEnabled[0] == nil || !*got.ListedEnabled[0] {
		t.Errorf("list_secrets RotationEnabled: %v, want [true]", got.ListedEnabled)
	}
	if got.CurrentAfterRotate != "s3cret" {
		t.Errorf("AWSCURRENT after rotate_secret: %q, want the value unchanged until the rotation completes", got.CurrentAfterRotate)
	}
	if got.RotateWhilePending == nil || got.RotateWhilePending.Code != "InvalidRequestException" {
		t.Errorf("rotate_secret while an AWSPENDING version waits: %+v, want InvalidRequestException", got.RotateWhilePending)
	}
	if got.CancelVersion != got.RotateVersion {
		t.Errorf("cancel_rotate_secret VersionId %q, want the pending version %q", got.CancelVersion, got.RotateVersion)
	}
	if got.AfterCancel.Enabled == nil || *got.AfterCancel.Enabled || got.AfterCancel.Lambda == "" {
		t.Errorf("describe_secret after cancel_rotate_secret: %+v, want disabled with the function kept", got.AfterCancel)
	}

	if got.Finished.Value != "n3w" || !got.Finished.LastRotated {
		t.Errorf("after moving AWSCURRENT to the pending version: %+v, want the new value and LastRotatedDate", got.Finished)
	}

	if !got.GoodPolicy {
		t.Errorf("validate_resource_policy of a well-formed policy failed")
	}
	for i, e := range got.BadPolicies {
		if e == nil || e.Code != "MalformedPolicyDocumentException" {
			t.Errorf("validate_resource_policy of malformed policy %d: %+v, want MalformedPolicyDocumentException", i, e)
		}
	}
	if got.BadPut == nil || got.BadPut.Code != "MalformedPolicyDocumentException" {
		t.Errorf("put_resource_policy without a Statement: %+v, want MalformedPolicyDocumentException", got.BadPut)
	}

	if strings.Join(got.DescWords, ",") != "compat/d1,compat/d2" {
		t.Errorf("list_secrets description filter \"one two\": %v, want the descriptions with both words", got.DescWords)
	}
	if strings.Join(got.ContainsSlash, ",") != "/tangent-3,tangram-4" {
		t.Errorf("describe_parameters Name Contains /tan: %v, want [/tangent-3 tangram-4]", got.ContainsSlash)
	}
	if got.ReservedPath == nil || got.ReservedPath.Code != "ValidationException" {
		t.Errorf("describe_parameters Path /aws: %+v, want ValidationException", got.ReservedPath)
	}
}
