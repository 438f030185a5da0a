package e2e

import (
	"slices"
	"sort"
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// logsParityScript drives the CloudWatch Logs answers where Berth differed
// from what AWS records: error codes and messages, the fields of a
// pattern search, tokens and revisions.
const logsParityScript = `
import json, time, boto3, botocore
logs = boto3.client("logs")
out = {}

def err(f, **kw):
    try:
        f(**kw)
    except botocore.exceptions.ClientError as e:
        return {"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"]}
    return None

now = int(time.time() * 1000)
logs.create_log_group(logGroupName="parity-app")
logs.create_log_stream(logGroupName="parity-app", logStreamName="s")
out["longGroup"] = err(logs.create_log_group, logGroupName="a" * 513)
out["longGroupDelete"] = err(logs.delete_metric_filter, logGroupName="a" * 513, filterName="f")
out["prefixAndPattern"] = err(logs.describe_log_groups, logGroupNamePrefix="parity", logGroupNamePattern="parity")
out["patternFields"] = sorted(logs.describe_log_groups(logGroupNamePattern="ity-ap")["logGroups"][0].keys())
out["nameAndIdentifier"] = err(logs.describe_log_streams, logGroupName="parity-app", logGroupIdentifier="parity-app")

r = logs.put_log_events(logGroupName="parity-app", logStreamName="s", logEvents=[{"timestamp": now - 30 * 86400000, "message": "old"}])
out["allRejected"] = {"token": r.get("nextSequenceToken", ""), "info": r.get("rejectedLogEventsInfo")}

ns = "A.B-c_d/1#2:metricNamespace"
logs.put_metric_filter(logGroupName="parity-app", filterName="colons", filterPattern="ERROR",
    metricTransformations=[{"metricNamespace": ns, "metricName": "errors", "metricValue": "1"}])
out["twoTransformations"] = err(logs.put_metric_filter, logGroupName="parity-app", filterName="two", filterPattern="ERROR",
    metricTransformations=[{"metricNamespace": "ns1", "metricName": "m1", "metricValue": "1", "defaultValue": 0},
                           {"metricNamespace": "ns2", "metricName": "m2", "metricValue": "1", "unit": "Count"}])
out["colonFilters"] = [f["filterName"] for f in logs.describe_metric_filters(metricName="errors", metricNamespace=ns)["metricFilters"]]

out["kinesisNoRole"] = err(logs.put_subscription_filter, logGroupName="parity-app", filterName="k", filterPattern="",
    destinationArn="arn:aws:kinesis:us-east-1:000000000000:stream/s")

doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "route53.amazonaws.com"}, "Action": "logs:PutLogEvents", "Resource": "*"}]})
p = logs.put_resource_policy(policyName="p0", policyDocument=doc)
out["accountPolicyRevision"] = [k for k in ("revisionId",) if k in p or k in p["resourcePolicy"]]
for i in range(1, 10):
    logs.put_resource_policy(policyName="p%d" % i, policyDocument=doc)
out["eleventhPolicy"] = err(logs.put_resource_policy, policyName="p10", policyDocument=doc)
out["deleteMissingPolicy"] = err(logs.delete_resource_policy, policyName="non-existent")
out["cancelMissingExport"] = err(logs.cancel_export_task, taskId="a1b2c3d4-0000-0000-0000-000000000000")
out["missingDeliveryDestination"] = err(logs.get_delivery_destination, name="foobar")
out["missingDeliverySource"] = err(logs.delete_delivery_source, name="foobar")
print(json.dumps(out))
`

type awsErr struct{ Code, Message string }

func TestLogsAWSParity(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	var got struct {
		LongGroup, LongGroupDelete, PrefixAndPattern, NameAndIdentifier *awsErr
		KinesisNoRole, EleventhPolicy, DeleteMissingPolicy              *awsErr
		CancelMissingExport, MissingDeliveryDestination                 *awsErr
		MissingDeliverySource, TwoTransformations                       *awsErr
		PatternFields, ColonFilters, AccountPolicyRevision              []string
		AllRejected                                                     struct {
			Token string
			Info  map[string]int
		}
	}
	b.Python(t, logsParityScript).Must(t).JSON(t, &got)

	wantErr := func(what string, e *awsErr, code, msg string) {
		t.Helper()
		if e == nil || e.Code != code || e.Message != msg {
			t.Errorf("%s: %+v, want %s %q", what, e, code, msg)
		}
	}
	const long = "Invalid LogGroup or LogStream, both must have length less than or equal to 512."
	wantErr("create_log_group with a 513-character name", got.LongGroup, "InvalidParameterException", long)
	wantErr("delete_metric_filter with a 513-character group", got.LongGroupDelete, "InvalidParameterException", long)
	wantErr("describe_log_groups with prefix and pattern", got.PrefixAndPattern, "InvalidParameterException",
		"LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	wantErr("describe_log_streams with name and identifier", got.NameAndIdentifier, "ValidationException",
		"LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	wantErr("kinesis subscription without a role", got.KinesisNoRole, "InvalidParameterException",
		"destinationArn for vendor kinesis cannot be used without roleArn")
	wantErr("an eleventh account resource policy", got.EleventhPolicy, "LimitExceededException", "Resource limit exceeded.")
	wantErr("deleting a missing resource policy", got.DeleteMissingPolicy, "ResourceNotFoundException",
		"Policy with name [non-existent] does not exist.")
	wantErr("cancelling a missing export task", got.CancelMissingExport, "ResourceNotFoundException",
		"The specified export task does not exist.")
	wantErr("two metric transformations", got.TwoTransformations, "InvalidParameterException",
		"1 validation error detected: Value '[MetricTransformation(metricName=m1, metricNamespace=ns1, metricValue=1, defaultValue=0.0, unit=null, dimensions=null), "+
			"MetricTransformation(metricName=m2, metricNamespace=ns2, metricValue=1, defaultValue=null, unit=Count, dimensions=null)]' "+
			"at 'metricTransformations' failed to satisfy constraint: Member must have length less than or equal to 1")
	wantErr("a missing delivery destination", got.MissingDeliveryDestination, "ResourceNotFoundException",
		"Requested Delivery Destination does not exist in this account.")
	wantErr("a missing delivery source", got.MissingDeliverySource, "ResourceNotFoundException",
		"Requested Delivery Source does not exist in this account.")

	want := []string{"arn", "creationTime", "logGroupArn", "logGroupClass", "logGroupName", "metricFilterCount"}
	sort.Strings(got.PatternFields)
	if !slices.Equal(got.PatternFields, want) {
		t.Errorf("describe_log_groups by pattern fields %v, want %v", got.PatternFields, want)
	}
	if got.AllRejected.Token == "" || got.AllRejected.Info["tooOldLogEventEndIndex"] != 1 {
		t.Errorf("put_log_events of one too-old event = %+v, want a nextSequenceToken and tooOldLogEventEndIndex 1", got.AllRejected)
	}
	if !slices.Equal(got.ColonFilters, []string{"colons"}) {
		t.Errorf("metric filters of a namespace with colons = %v, want [colons]", got.ColonFilters)
	}
	if len(got.AccountPolicyRevision) != 0 {
		t.Errorf("an account-level resource policy has %v; AWS gives revisions to resource-scoped policies only", got.AccountPolicyRevision)
	}
}
