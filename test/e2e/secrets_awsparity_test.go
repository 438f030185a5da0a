package e2e

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// secretsParityScript records, through boto3 and signed raw HTTP, the
// answers where Berth's Secrets Manager differed from AWS's recorded ones.
const secretsParityScript = `
import json, os, uuid, urllib.request, urllib.error, boto3, botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
sm = boto3.client("secretsmanager")
out = {}

def raw(op, body):
    url = os.environ["AWS_ENDPOINT_URL"] + "/"
    req = AWSRequest(method="POST", url=url, data=json.dumps(body),
                     headers={"X-Amz-Target": "secretsmanager." + op, "Content-Type": "application/x-amz-json-1.1"})
    SigV4Auth(boto3.Session().get_credentials(), "secretsmanager", os.environ["AWS_DEFAULT_REGION"]).add_auth(req)
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=req.body, headers=dict(req.headers))) as r:
            return {"status": r.status, "body": json.loads(r.read())}
    except urllib.error.HTTPError as e:
        return {"status": e.code, "body": json.loads(e.read())}

def err(f):
    try:
        f()
    except botocore.exceptions.ClientError as e:
        return {"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"], "top": e.response.get("Message")}
    return None

# Labels come back sorted, whatever order they were given or attached in.
sm.create_secret(Name="par/stages", SecretString="S1")
v0 = sm.list_secret_version_ids(SecretId="par/stages")["Versions"][0]["VersionId"]
p = sm.put_secret_value(SecretId="par/stages", SecretString="S2", VersionStages=["AWSSOMETHING", "AWSPENDING", "PUT1"])
out["putStages"] = p["VersionStages"]
sm.update_secret_version_stage(SecretId="par/stages", VersionStage="AWSCURRENT", MoveToVersionId=p["VersionId"], RemoveFromVersionId=v0)
out["getStages"] = sm.get_secret_value(SecretId="par/stages")["VersionStages"]
out["describeStages"] = sm.describe_secret(SecretId="par/stages")["VersionIdsToStages"][p["VersionId"]]
# Versions are listed oldest first, with AWS's name for the default key.
lst = sm.list_secret_version_ids(SecretId="par/stages")["Versions"]
out["listOrder"] = [v["VersionId"] for v in lst] == [v0, p["VersionId"]]
out["listStages"] = [v["VersionStages"] for v in lst]
out["kmsKeyIds"] = [v.get("KmsKeyIds") for v in lst]

# A version that lost its labels has no VersionStages member.
sm.create_secret(Name="par/deprecated", SecretString="a")
for s in ["b", "c"]:
    sm.put_secret_value(SecretId="par/deprecated", SecretString=s)
out["deprecated"] = [sorted(k for k in v if k != "CreatedDate") for v in
                     sm.list_secret_version_ids(SecretId="par/deprecated", IncludeDeprecated=True)["Versions"]]

# Modeled errors carry "Message"; the protocol's ValidationException does not.
out["notFound"] = err(lambda: sm.get_secret_value(SecretId="par/missing"))
out["invalidName"] = err(lambda: sm.describe_secret(SecretId="bad name"))
out["notFoundRaw"] = raw("DescribeSecret", {"SecretId": "par/missing"})

# Raw requests that create a version need a ClientRequestToken.
out["noToken"] = {op: raw(op, body) for op, body in [
    ("CreateSecret", {"Name": "par/raw", "SecretString": "x"}),
    ("UpdateSecret", {"SecretId": "par/missing", "SecretString": "x"}),
    ("PutSecretValue", {"SecretId": "par/stages", "SecretString": "x"}),
    ("RotateSecret", {"SecretId": "par/stages"}),
]}
out["rawNoValue"] = raw("CreateSecret", {"Name": "par/raw-empty"})["status"]
out["rawWithToken"] = raw("CreateSecret", {"Name": "par/raw", "SecretString": "x", "ClientRequestToken": str(uuid.uuid4())})["status"]

# An empty description is left out; Tags stay, empty, once a secret had tags.
sm.create_secret(Name="par/tags", Description="")
d = sm.describe_secret(SecretId="par/tags")
out["untaggedKeys"] = sorted(k for k in d if k != "ResponseMetadata")
sm.tag_resource(SecretId="par/tags", Tags=[{"Key": "a", "Value": "1"}])
sm.untag_resource(SecretId="par/tags", TagKeys=["a"])
out["tagsAfterUntag"] = sm.describe_secret(SecretId="par/tags").get("Tags")

# GetSecretValue stamps the day it read the secret and the version.
c = sm.create_secret(Name="par/accessed", SecretString="v")
before = "LastAccessedDate" in sm.describe_secret(SecretId="par/accessed")
sm.get_secret_value(SecretId="par/accessed")
lad = sm.describe_secret(SecretId="par/accessed").get("LastAccessedDate")
vlad = sm.list_secret_version_ids(SecretId="par/accessed")["Versions"][0].get("LastAccessedDate")
out["accessed"] = {"before": before, "after": lad is not None, "midnight": lad is not None and lad.hour == 0 and lad.minute == 0 and lad.second == 0,
                   "version": vlad is not None and vlad == lad}
print(json.dumps(out))
`

type secretsParityErr struct {
	Code, Message string
	Top           *string
}

type secretsParityRaw struct {
	Status int
	Body   map[string]any
}

// TestSecretsAWSParity checks Secrets Manager answers against AWS's
// recorded ones: staging labels sorted in PutSecretValue, GetSecretValue,
// DescribeSecret and ListSecretVersionIds; versions listed oldest first
// with KmsKeyIds DefaultEncryptionKey and no VersionStages member for a
// version without labels; modeled errors sent as {"__type", "Message"}
// (boto3 shows the top-level Message) while ValidationException keeps
// "message"; raw HTTP requests that create a version refused without a
// ClientRequestToken (InvalidParameterException for RotateSecret), before
// the secret is even looked up; an empty Description left out; and Tags
// answered as an empty list after the last tag is removed; and
// LastAccessedDate, the day, set by GetSecretValue on the secret and the
// version it read.
func TestSecretsAWSParity(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	var got struct {
		PutStages, GetStages, DescribeStages []string
		ListOrder                            bool
		ListStages, KmsKeyIds, Deprecated    [][]string
		NotFound, InvalidName                *secretsParityErr
		NotFoundRaw                          secretsParityRaw
		NoToken                              map[string]secretsParityRaw
		RawNoValue, RawWithToken             int
		UntaggedKeys                         []string
		TagsAfterUntag                       []any
		Accessed                             struct{ Before, After, Midnight, Version bool }
	}
	out := b.Python(t, secretsParityScript).Must(t)
	out.JSON(t, &got)

	eq := func(what string, have, want any) {
		t.Helper()
		if !reflect.DeepEqual(have, want) {
			h, _ := json.Marshal(have)
			w, _ := json.Marshal(want)
			t.Errorf("%s: %s, want %s", what, h, w)
		}
	}
	eq("put_secret_value VersionStages", got.PutStages, []string{"AWSPENDING", "AWSSOMETHING", "PUT1"})
	eq("get_secret_value VersionStages", got.GetStages, []string{"AWSCURRENT", "AWSPENDING", "AWSSOMETHING", "PUT1"})
	eq("describe_secret VersionIdsToStages", got.DescribeStages, got.GetStages)
	if !got.ListOrder {
		t.Error("list_secret_version_ids: versions not listed oldest first")
	}
	eq("list_secret_version_ids stages", got.ListStages, [][]string{{"AWSPREVIOUS"}, {"AWSCURRENT", "AWSPENDING", "AWSSOMETHING", "PUT1"}})
	eq("list_secret_version_ids KmsKeyIds", got.KmsKeyIds, [][]string{{"DefaultEncryptionKey"}, {"DefaultEncryptionKey"}})
	eq("list_secret_version_ids IncludeDeprecated members", got.Deprecated, [][]string{
		{"KmsKeyIds", "VersionId"},
		{"KmsKeyIds", "VersionId", "VersionStages"},
		{"KmsKeyIds", "VersionId", "VersionStages"},
	})

	const notFound = "Secrets Manager can't find the specified secret."
	if e := got.NotFound; e == nil || e.Code != "ResourceNotFoundException" || e.Message != notFound || e.Top == nil || *e.Top != notFound {
		t.Errorf("get_secret_value of a missing secret: %+v, want ResourceNotFoundException with a top-level Message", e)
	}
	if e := got.InvalidName; e == nil || e.Code != "ValidationException" || e.Top != nil {
		t.Errorf("describe_secret with an invalid name: %+v, want ValidationException without a top-level Message", e)
	}
	eq("raw DescribeSecret error", got.NotFoundRaw, secretsParityRaw{400, map[string]any{"__type": "ResourceNotFoundException", "Message": notFound}})

	const noToken = "You must provide a ClientRequestToken value. We recommend a UUID-type value."
	for op, code := range map[string]string{
		"CreateSecret": "InvalidRequestException", "UpdateSecret": "InvalidRequestException",
		"PutSecretValue": "InvalidRequestException", "RotateSecret": "InvalidParameterException",
	} {
		eq("raw "+op+" without ClientRequestToken", got.NoToken[op], secretsParityRaw{400, map[string]any{"__type": code, "Message": noToken}})
	}
	if got.RawNoValue != 200 || got.RawWithToken != 200 {
		t.Errorf("raw CreateSecret without a value: %d, with a token: %d; want 200 for both", got.RawNoValue, got.RawWithToken)
	}

	eq("describe_secret of an untagged secret with an empty description", got.UntaggedKeys, []string{"ARN", "CreatedDate", "LastChangedDate", "Name"})
	if got.TagsAfterUntag == nil || len(got.TagsAfterUntag) != 0 {
		t.Errorf("describe_secret Tags after removing the last tag: %v, want []", got.TagsAfterUntag)
	}
	if a := got.Accessed; a.Before || !a.After || !a.Midnight || !a.Version {
		t.Errorf("LastAccessedDate: %+v, want absent before get_secret_value, then the day (00:00) on the secret and its version", a)
	}
}
