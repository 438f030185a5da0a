package e2e

import (
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// logsCompatScript calls the vended-log delivery operations with input their
// model rejects, and a classic Logs operation with the same kind of input,
// through boto3.
const logsCompatScript = `
import json, boto3, botocore
logs = boto3.client("logs")
out = {}

def code(f):
    try:
        f()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    return "no error"

s3 = {"destinationResourceArn": "arn:aws:s3:::compat-bucket"}
out["badFormat"] = code(lambda: logs.put_delivery_destination(name="compat-dd", outputFormat="foobar", deliveryDestinationConfiguration=s3))
out["badDestination"] = code(lambda: logs.put_delivery_destination(name="compat-dd", deliveryDestinationConfiguration={"destinationResourceArn": "arn:aws:sqs:us-east-1:123456789012:q"}))
out["badLogType"] = code(lambda: logs.put_delivery_source(name="compat-ds", resourceArn="arn:aws:cloudfront::123456789012:distribution/E1Q5F5862X9VJ5", logType="x" * 300))
logs.put_delivery_destination(name="compat-dd", outputFormat="json", deliveryDestinationConfiguration=s3)
out["created"] = logs.get_delivery_destination(name="compat-dd")["deliveryDestination"]["outputFormat"]
out["missing"] = code(lambda: logs.get_delivery_destination(name="nope"))
out["groupLimit"] = code(lambda: logs.describe_log_groups(limit=51))
out["exportNoGroup"] = code(lambda: logs.create_export_task(logGroupName="/compat/none", fromTime=1, to=2, destination="bucket"))
logs.create_log_group(logGroupName="/compat/export")
out["exportGroup"] = code(lambda: logs.create_export_task(logGroupName="/compat/export", fromTime=1, to=2, destination="bucket"))
print(json.dumps(out))
`

// TestLogsCompatDeliveryValidationException checks that the delivery
// operations, whose model declares ValidationException and not
// InvalidParameterException, answer bad input with ValidationException (so
// boto3 raises logs.exceptions.ValidationException), while the older
// operations keep InvalidParameterException.
func TestLogsCompatDeliveryValidationException(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	var got map[string]string
	b.Python(t, logsCompatScript).Must(t).JSON(t, &got)

	for _, k := range []string{"badFormat", "badDestination", "badLogType"} {
		if got[k] != "ValidationException" {
			t.Errorf("%s: %q, want ValidationException", k, got[k])
		}
	}
	if got["created"] != "json" {
		t.Errorf("valid put_delivery_destination: outputFormat %q, want json", got["created"])
	}
	if got["missing"] != "ResourceNotFoundException" {
		t.Errorf("get_delivery_destination of an unknown name: %q, want ResourceNotFoundException", got["missing"])
	}
	if got["groupLimit"] != "InvalidParameterException" {
		t.Errorf("describe_log_groups limit 51: %q, want InvalidParameterException", got["groupLimit"])
	}
	// The log group is checked first; an existing group gets the
	// no-S3-in-Berth answer.
	if got["exportNoGroup"] != "ResourceNotFoundException" || got["exportGroup"] != "InvalidParameterException" {
		t.Errorf("create_export_task: missing group %q (want ResourceNotFoundException), existing group %q (want InvalidParameterException)",
			got["exportNoGroup"], got["exportGroup"])
	}
}
