package e2e

import (
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// ssmParityScript reads one single-level parameter by its name with and
// without the leading slash, and by ARN.
const ssmParityScript = `
import json, boto3
ssm = boto3.client("ssm")
ssm.put_parameter(Name="parity-param", Value="123", Type="String")
p = ssm.get_parameter(Name="parity-param")["Parameter"]
print(json.dumps({
    "plain": p["Name"],
    "slashed": ssm.get_parameter(Name="/parity-param")["Parameter"]["Name"],
    "slashedBatch": [x["Name"] for x in ssm.get_parameters(Names=["/parity-param"])["Parameters"]],
    "byArn": ssm.get_parameter(Name=p["ARN"])["Parameter"]["Name"],
    "value": ssm.get_parameter(Name="/parity-param")["Parameter"]["Value"],
}))
`

func TestSSMAWSParity(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	var got struct {
		Plain, Slashed, ByArn, Value string
		SlashedBatch                 []string
	}
	b.Python(t, ssmParityScript).Must(t).JSON(t, &got)
	// "/x" and "x" are one parameter; AWS names it as the request did.
	if got.Plain != "parity-param" || got.Slashed != "/parity-param" || got.Value != "123" {
		t.Errorf("get_parameter names: plain %q, slashed %q (value %q); want parity-param, /parity-param, 123", got.Plain, got.Slashed, got.Value)
	}
	if len(got.SlashedBatch) != 1 || got.SlashedBatch[0] != "/parity-param" {
		t.Errorf("get_parameters([/parity-param]) names %v, want [/parity-param]", got.SlashedBatch)
	}
	if got.ByArn != "parity-param" {
		t.Errorf("get_parameter by ARN named %q, want the stored name parity-param", got.ByArn)
	}
}
