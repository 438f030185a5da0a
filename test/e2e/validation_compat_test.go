package e2e

import (
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// validationCompatScript sends input the models reject, with boto3's own
// checks off so that Berth's validation answers, and records each error's
// code and message.
const validationCompatScript = `
import json, boto3, botocore
from botocore.config import Config
cfg = Config(parameter_validation=False)
out = {}

def err(f):
    try:
        f()
    except botocore.exceptions.ClientError as e:
        return {"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"]}
    return {"code": "no error"}

ssm = boto3.client("ssm", config=cfg)
sm = boto3.client("secretsmanager", config=cfg)
logs = boto3.client("logs", config=cfg)
out["ssmMaxResults"] = err(lambda: ssm.get_parameters_by_path(Path="/a", MaxResults=0))
out["secretId"] = err(lambda: sm.get_secret_value(SecretId=""))
out["deliverySource"] = err(lambda: logs.get_delivery_source(name="a b"))
out["logGroupsLimit"] = err(lambda: logs.describe_log_groups(limit=0))
try:
    logs.get_delivery_source(name="")
except logs.exceptions.ValidationException:
    out["modeledClass"] = True
print(json.dumps(out))
`

// TestValidationCodesAndMemberNames checks the generated validation's wire
// format against AWS's: member names as Coral prints them (the first
// letter in lower case, so SSM's MaxResults is 'maxResults'), and the
// error code the operation's model declares (the Logs delivery operations
// declare ValidationException, the older ones InvalidParameterException).
func TestValidationCodesAndMemberNames(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	var got map[string]any
	b.Python(t, validationCompatScript).Must(t).JSON(t, &got)

	for key, want := range map[string][2]string{
		"ssmMaxResults":  {"ValidationException", "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		"secretId":       {"ValidationException", "1 validation error detected: Value '' at 'secretId' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		"deliverySource": {"ValidationException", `1 validation error detected: Value 'a b' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w-]*`},
		"logGroupsLimit": {"InvalidParameterException", "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"},
	} {
		e, _ := got[key].(map[string]any)
		if e["code"] != want[0] || e["message"] != want[1] {
			t.Errorf("%s: got %v\nwant %s: %s", key, e, want[0], want[1])
		}
	}
	if got["modeledClass"] != true {
		t.Errorf("boto3 did not raise logs.exceptions.ValidationException for a delivery operation: %v", got)
	}
}
