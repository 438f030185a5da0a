package e2e

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

// CloudWatch Logs beyond groups, streams and events: data protection
// (masking), account policies, destinations, transformers, field indexes,
// GetLogRecord/GetLogFields, deliveries, anomaly detectors, KMS keys and
// export tasks, through the aws CLI v1 and v2, boto3 and Terraform.

// dataProtectionDoc masks e-mail addresses, IP addresses, AWS secret keys
// and credit card numbers, in the two-statement form AWS requires.
const dataProtectionDoc = `{
  "Name": "mask",
  "Version": "2021-06-01",
  "Statement": [
    {"Sid": "audit", "DataIdentifier": ["arn:aws:dataprotection::aws:data-identifier/EmailAddress", "arn:aws:dataprotection::aws:data-identifier/IpAddress", "arn:aws:dataprotection::aws:data-identifier/AwsSecretKey", "arn:aws:dataprotection::aws:data-identifier/CreditCardNumber"],
     "Operation": {"Audit": {"FindingsDestination": {}}}},
    {"Sid": "redact", "DataIdentifier": ["arn:aws:dataprotection::aws:data-identifier/EmailAddress", "arn:aws:dataprotection::aws:data-identifier/IpAddress", "arn:aws:dataprotection::aws:data-identifier/AwsSecretKey", "arn:aws:dataprotection::aws:data-identifier/CreditCardNumber"],
     "Operation": {"Deidentify": {"MaskConfig": {}}}}
  ]
}`

const sensitiveMessage = `user alice@example.com from 10.1.2.3 key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY card 4111 1111 1111 1111 order 1234567890123`

func TestLogsMoreDataProtectionWithAWSCLIv1(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithEnv("BERTH_AGENT=off"))
	aws := func(args ...string) *harness.Result {
		t.Helper()
		return b.AWS(t, append([]string{"logs"}, args...)...)
	}
	const group = "/app/dp"
	aws("create-log-group", "--log-group-name", group).Must(t)
	aws("create-log-stream", "--log-group-name", group, "--log-stream-name", "s").Must(t)
	// Ingested before the policy: AWS masks at ingestion, so this one
	// stays readable.
	aws("put-log-events", "--log-group-name", group, "--log-stream-name", "s",
		"--log-events", logEventsFile(t, nowMS()-2000, "before bob@example.com")).Must(t)
	time.Sleep(20 * time.Millisecond)

	assertCode(t, aws("put-data-protection-policy", "--log-group-identifier", group, "--policy-document", "{not json"), "InvalidParameterException")
	oneBlock := `{"Name":"x","Version":"2021-06-01","Statement":[{"Sid":"r","DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],"Operation":{"Deidentify":{"MaskConfig":{}}}}]}`
	assertCode(t, aws("put-data-protection-policy", "--log-group-identifier", group, "--policy-document", oneBlock), "InvalidParameterException")
	assertCode(t, aws("put-data-protection-policy", "--log-group-identifier", "/nope", "--policy-document", dataProtectionDoc), "ResourceNotFoundException")
	aws("put-data-protection-policy", "--log-group-identifier", group, "--policy-document", dataProtectionDoc).Must(t)
	var got struct {
		LogGroupIdentifier, PolicyDocument string
		LastUpdatedTime                    int64
	}
	aws("get-data-protection-policy", "--log-group-identifier", group).Must(t).JSON(t, &got)
	if !strings.Contains(got.PolicyDocument, "EmailAddress") || got.LastUpdatedTime == 0 {
		t.Errorf("get-data-protection-policy = %+v", got)
	}
	var described struct {
		LogGroups []struct{ LogGroupName, DataProtectionStatus string }
	}
	aws("describe-log-groups", "--log-group-name-prefix", group).Must(t).JSON(t, &described)
	if len(described.LogGroups) != 1 || described.LogGroups[0].DataProtectionStatus != "ACTIVATED" {
		t.Errorf("describe-log-groups dataProtectionStatus = %+v", described)
	}
	time.Sleep(20 * time.Millisecond)
	aws("put-log-events", "--log-group-name", group, "--log-stream-name", "s",
		"--log-events", logEventsFile(t, nowMS()-1000, sensitiveMessage)).Must(t)

	const masked = `user **** from **** key=**** card **** order 1234567890123`
	var events struct{ Events []struct{ Message string } }
	aws("get-log-events", "--log-group-name", group, "--log-stream-name", "s", "--start-from-head").Must(t).JSON(t, &events)
	if len(events.Events) != 2 || events.Events[0].Message != "before bob@example.com" || events.Events[1].Message != masked {
		t.Errorf("get-log-events (masked) = %+v", events)
	}
	events.Events = nil
	aws("get-log-events", "--log-group-name", group, "--log-stream-name", "s", "--start-from-head", "--unmask").Must(t).JSON(t, &events)
	if len(events.Events) != 2 || events.Events[1].Message != sensitiveMessage {
		t.Errorf("get-log-events --unmask = %+v", events)
	}
	events.Events = nil
	aws("filter-log-events", "--log-group-name", group, "--filter-pattern", "card").Must(t).JSON(t, &events)
	if len(events.Events) != 1 || events.Events[0].Message != masked {
		t.Errorf("filter-log-events (masked) = %+v", events)
	}
	events.Events = nil
	aws("filter-log-events", "--log-group-name", group, "--filter-pattern", "card", "--unmask").Must(t).JSON(t, &events)
	if len(events.Events) != 1 || events.Events[0].Message != sensitiveMessage {
		t.Errorf("filter-log-events --unmask = %+v", events)
	}

	aws("delete-data-protection-policy", "--log-group-identifier", group).Must(t)
	assertCode(t, aws("delete-data-protection-policy", "--log-group-identifier", group), "ResourceNotFoundException")
	events.Events = nil
	aws("filter-log-events", "--log-group-name", group, "--filter-pattern", "card").Must(t).JSON(t, &events)
	if len(events.Events) != 1 || events.Events[0].Message != sensitiveMessage {
		t.Errorf("filter-log-events after the policy was deleted = %+v", events)
	}

	// An account-level data protection policy masks every group's events.
	const other = "/app/dp-account"
	aws("create-log-group", "--log-group-name", other).Must(t)
	aws("create-log-stream", "--log-group-name", other, "--log-stream-name", "s").Must(t)
	assertCode(t, aws("put-account-policy", "--policy-name", "dp", "--policy-type", "DATA_PROTECTION_POLICY",
		"--policy-document", dataProtectionDoc, "--selection-criteria", `LogGroupName NOT IN ["x"]`), "InvalidParameterException")
	aws("put-account-policy", "--policy-name", "dp", "--policy-type", "DATA_PROTECTION_POLICY", "--policy-document", dataProtectionDoc).Must(t)
	assertCode(t, aws("put-account-policy", "--policy-name", "dp2", "--policy-type", "DATA_PROTECTION_POLICY", "--policy-document", dataProtectionDoc), "LimitExceededException")
	time.Sleep(20 * time.Millisecond)
	aws("put-log-events", "--log-group-name", other, "--log-stream-name", "s",
		"--log-events", logEventsFile(t, nowMS()-1000, "mail carol@example.org now")).Must(t)
	events.Events = nil
	aws("get-log-events", "--log-group-name", other, "--log-stream-name", "s").Must(t).JSON(t, &events)
	if len(events.Events) != 1 || events.Events[0].Message != "mail **** now" {
		t.Errorf("get-log-events under the account policy = %+v", events)
	}

	// Account policies of the other types: documents, selection criteria
	// and quotas as AWS documents them.
	sub := `{"DestinationArn":"arn:aws:lambda:us-east-1:000000000000:function:ship","FilterPattern":"ERROR","Distribution":"Random"}`
	aws("put-account-policy", "--policy-name", "sub", "--policy-type", "SUBSCRIPTION_FILTER_POLICY", "--policy-document", sub,
		"--selection-criteria", `LogGroupName NOT IN ["/app/dp"]`).Must(t)
	assertCode(t, aws("put-account-policy", "--policy-name", "sub2", "--policy-type", "SUBSCRIPTION_FILTER_POLICY", "--policy-document", sub), "LimitExceededException")
	assertCode(t, aws("put-account-policy", "--policy-name", "sub", "--policy-type", "SUBSCRIPTION_FILTER_POLICY",
		"--policy-document", `{"DestinationArn":"arn:aws:s3:::bucket"}`), "InvalidParameterException")
	aws("put-account-policy", "--policy-name", "idx", "--policy-type", "FIELD_INDEX_POLICY", "--policy-document", `{"Fields":["requestId"]}`,
		"--selection-criteria", `LogGroupNamePrefix IN ["/app/"]`).Must(t)
	assertCode(t, aws("put-account-policy", "--policy-name", "idx2", "--policy-type", "FIELD_INDEX_POLICY", "--policy-document", `{"Fields":[]}`), "InvalidParameterException")
	var pols struct {
		AccountPolicies []struct{ PolicyName, PolicyType, Scope, SelectionCriteria, AccountId string }
	}
	aws("describe-account-policies", "--policy-type", "SUBSCRIPTION_FILTER_POLICY").Must(t).JSON(t, &pols)
	if len(pols.AccountPolicies) != 1 || pols.AccountPolicies[0].PolicyName != "sub" || pols.AccountPolicies[0].Scope != "ALL" ||
		pols.AccountPolicies[0].SelectionCriteria != `LogGroupName NOT IN ["/app/dp"]` || pols.AccountPolicies[0].AccountId == "" {
		t.Errorf("describe-account-policies = %+v", pols)
	}
	// The account field index policy is the index policy of /app/ groups.
	var idx struct {
		IndexPolicies []struct{ PolicyName, Source, PolicyDocument string }
	}
	aws("describe-index-policies", "--log-group-identifiers", group).Must(t).JSON(t, &idx)
	if len(idx.IndexPolicies) != 1 || idx.IndexPolicies[0].Source != "ACCOUNT" || idx.IndexPolicies[0].PolicyName != "idx" {
		t.Errorf("describe-index-policies = %+v", idx)
	}
	aws("delete-account-policy", "--policy-name", "dp", "--policy-type", "DATA_PROTECTION_POLICY").Must(t)
	assertCode(t, aws("delete-account-policy", "--policy-name", "dp", "--policy-type", "DATA_PROTECTION_POLICY"), "ResourceNotFoundException")
	events.Events = nil
	aws("get-log-events", "--log-group-name", other, "--log-stream-name", "s").Must(t).JSON(t, &events)
	if len(events.Events) != 1 || events.Events[0].Message != "mail carol@example.org now" {
		t.Errorf("get-log-events after the account policy was deleted = %+v", events)
	}
}

func TestLogsMoreDestinationsWithAWSCLIv2(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithEnv("BERTH_AGENT=off"))
	aws := func(args ...string) *harness.Result {
		t.Helper()
		return b.AWSv2(t, append([]string{"logs"}, args...)...)
	}
	const target = "arn:aws:kinesis:us-east-1:000000000000:stream/central"
	const role = "arn:aws:iam::000000000000:role/CWLtoKinesis"
	var put struct {
		Destination struct {
			DestinationName, TargetArn, RoleArn, Arn, AccessPolicy string
			CreationTime                                           int64
		}
	}
	aws("put-destination", "--destination-name", "central", "--target-arn", target, "--role-arn", role).Must(t).JSON(t, &put)
	d := put.Destination
	if d.DestinationName != "central" || !strings.HasSuffix(d.Arn, ":destination:central") || !strings.HasPrefix(d.Arn, "arn:aws:logs:") ||
		d.TargetArn != target || d.CreationTime == 0 {
		t.Errorf("put-destination = %+v", d)
	}
	assertCode(t, aws("put-destination", "--destination-name", "bad", "--target-arn", "arn:aws:s3:::bucket", "--role-arn", role), "InvalidParameterException")
	assertCode(t, aws("put-destination", "--destination-name", "bad", "--target-arn", target, "--role-arn", "not-a-role"), "InvalidParameterException")
	aws("put-destination", "--destination-name", "other", "--target-arn", "arn:aws:firehose:us-east-1:000000000000:deliverystream/fh", "--role-arn", role).Must(t)
	const policy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"logs:PutSubscriptionFilter","Resource":"*"}]}`
	aws("put-destination-policy", "--destination-name", "central", "--access-policy", policy).Must(t)
	assertCode(t, aws("put-destination-policy", "--destination-name", "nope", "--access-policy", policy), "ResourceNotFoundException")
	assertCode(t, aws("put-destination-policy", "--destination-name", "central", "--access-policy", "{nope"), "InvalidParameterException")
	// A second put keeps the access policy.
	aws("put-destination", "--destination-name", "central", "--target-arn", target, "--role-arn", role).Must(t)

	var list struct {
		Destinations []struct{ DestinationName, AccessPolicy, Arn string }
	}
	aws("describe-destinations", "--destination-name-prefix", "cen").Must(t).JSON(t, &list)
	if len(list.Destinations) != 1 || list.Destinations[0].AccessPolicy != policy {
		t.Errorf("describe-destinations prefix cen = %+v", list)
	}
	list.Destinations = nil
	aws("describe-destinations").Must(t).JSON(t, &list)
	if len(list.Destinations) != 2 {
		t.Errorf("describe-destinations = %+v", list)
	}
	// Tags by ARN.
	aws("tag-resource", "--resource-arn", d.Arn, "--tags", "team=obs").Must(t)
	var tags struct{ Tags map[string]string }
	aws("list-tags-for-resource", "--resource-arn", d.Arn).Must(t).JSON(t, &tags)
	if tags.Tags["team"] != "obs" {
		t.Errorf("list-tags-for-resource = %+v", tags)
	}
	aws("delete-destination", "--destination-name", "central").Must(t)
	assertCode(t, aws("delete-destination", "--destination-name", "central"), "ResourceNotFoundException")
	assertCode(t, aws("list-tags-for-resource", "--resource-arn", d.Arn), "ResourceNotFoundException")

	// KMS keys are kept on the group and shown by describe-log-groups.
	const key = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	aws("create-log-group", "--log-group-name", "/app/kms").Must(t)
	aws("associate-kms-key", "--log-group-name", "/app/kms", "--kms-key-id", key).Must(t)
	assertCode(t, aws("associate-kms-key", "--log-group-name", "/app/kms", "--kms-key-id", "alias/mine"), "InvalidParameterException")
	assertCode(t, aws("associate-kms-key", "--log-group-name", "/nope", "--kms-key-id", key), "ResourceNotFoundException")
	var groups struct {
		LogGroups []struct{ LogGroupName, KmsKeyId string }
	}
	aws("describe-log-groups", "--log-group-name-prefix", "/app/kms").Must(t).JSON(t, &groups)
	if len(groups.LogGroups) != 1 || groups.LogGroups[0].KmsKeyId != key {
		t.Errorf("describe-log-groups after associate-kms-key = %+v", groups)
	}
	aws("disassociate-kms-key", "--log-group-name", "/app/kms").Must(t)
	groups.LogGroups = nil
	aws("describe-log-groups", "--log-group-name-prefix", "/app/kms").Must(t).JSON(t, &groups)
	if len(groups.LogGroups) != 1 || groups.LogGroups[0].KmsKeyId != "" {
		t.Errorf("describe-log-groups after disassociate-kms-key = %+v", groups)
	}

	// Export tasks need S3, which Berth does not have.
	from := strconv.FormatInt(nowMS()-60_000, 10)
	res := aws("create-export-task", "--log-group-name", "/app/kms", "--from", from, "--to", strconv.FormatInt(nowMS(), 10), "--destination", "my-bucket")
	assertCode(t, res, "InvalidParameterException")
	if !strings.Contains(res.Stderr, "S3") {
		t.Errorf("create-export-task error does not mention S3: %s", res.Stderr)
	}
	var tasks struct{ ExportTasks []any }
	aws("describe-export-tasks").Must(t).JSON(t, &tasks)
	if len(tasks.ExportTasks) != 0 {
		t.Errorf("describe-export-tasks = %+v", tasks)
	}
	assertCode(t, aws("cancel-export-task", "--task-id", "abc"), "ResourceNotFoundException")
}

// logsMoreBoto3Script drives transformers, Logs Insights pointers,
// GetLogRecord, GetLogFields, field indexes, deliveries and anomaly
// detectors through boto3, printing what it saw as JSON.
const logsMoreBoto3Script = `
import json, time
import boto3, botocore

logs = boto3.client("logs")
out = {}

def code(f, **kw):
    try:
        f(**kw)
        return "OK"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]

def err(f, **kw):
    try:
        f(**kw)
        return ""
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"] + ": " + e.response["Error"]["Message"]

# --- transformers ---
cfg = [
    {"parseJSON": {}},
    {"addKeys": {"entries": [{"key": "env", "value": "prod"}, {"key": "level", "value": "x"}]}},
    {"renameKeys": {"entries": [{"key": "msg", "renameTo": "message"}]}},
    {"copyValue": {"entries": [{"source": "user.name", "target": "who"}]}},
    {"deleteKeys": {"withKeys": ["secret"]}},
    {"upperCaseString": {"withKeys": ["level"]}},
    {"lowerCaseString": {"withKeys": ["who"]}},
    {"trimString": {"withKeys": ["message"]}},
]
r = logs.test_transformer(transformerConfig=cfg, logEventMessages=[
    json.dumps({"level": "info", "msg": "  hello  ", "secret": "s", "user": {"name": "ALICE"}}),
])
out["transformed"] = json.loads(r["transformedLogs"][0]["transformedEventMessage"])
out["event_number"] = r["transformedLogs"][0]["eventNumber"]
kv = logs.test_transformer(transformerConfig=[{"parseKeyValue": {"destination": "kv", "fieldDelimiter": " ", "keyValueDelimiter": ":"}}],
    logEventMessages=["a:1 b:two"])
out["kv"] = json.loads(kv["transformedLogs"][0]["transformedEventMessage"])
out["unsupported"] = err(logs.test_transformer, transformerConfig=[{"parseJSON": {}}, {"grok": {"match": "%{WORD:w}"}}], logEventMessages=["x"])
out["not_parser_first"] = code(logs.test_transformer, transformerConfig=[{"addKeys": {"entries": [{"key": "a", "value": "b"}]}}], logEventMessages=["x"])

g = "/boto3/more"
logs.create_log_group(logGroupName=g)
logs.create_log_stream(logGroupName=g, logStreamName="s")
out["put_transformer_missing"] = code(logs.put_transformer, logGroupIdentifier="/nope", transformerConfig=cfg)
logs.put_transformer(logGroupIdentifier=g, transformerConfig=cfg)
gt = logs.get_transformer(logGroupIdentifier=g)
out["get_transformer_len"] = len(gt["transformerConfig"])
now = int(time.time() * 1000)
logs.put_log_events(logGroupName=g, logStreamName="s", logEvents=[
    {"timestamp": now - 3000, "message": json.dumps({"level": "info", "msg": "first ", "requestId": "r-1", "user": {"name": "Bob"}, "n": 1})},
    {"timestamp": now - 2000, "message": json.dumps({"level": "error", "msg": "second", "requestId": "r-2", "user": {"name": "Eve"}, "n": 2.5, "tags": ["a"]})},
])
stored = logs.get_log_events(logGroupName=g, logStreamName="s", startFromHead=True)["events"]
out["stored"] = [json.loads(e["message"]) for e in stored]
logs.delete_transformer(logGroupIdentifier=g)
out["get_transformer_deleted"] = code(logs.get_transformer, logGroupIdentifier=g)

# --- Logs Insights @ptr -> GetLogRecord ---
q = logs.start_query(logGroupName=g, startTime=int(now / 1000) - 60, endTime=int(now / 1000) + 60,
    queryString='fields @timestamp, @message, requestId | filter requestId = "r-2"')["queryId"]
for _ in range(50):
    res = logs.get_query_results(queryId=q)
    if res["status"] == "Complete":
        break
    time.sleep(0.2)
row = {f["field"]: f["value"] for f in res["results"][0]}
rec = logs.get_log_record(logRecordPointer=row["@ptr"])["logRecord"]
out["record"] = rec
out["bad_pointer"] = code(logs.get_log_record, logRecordPointer="not-a-pointer")
out["query_groups"] = logs.list_log_groups_for_query(queryId=q)["logGroupIdentifiers"]

# --- GetLogFields ---
fields = logs.get_log_fields(dataSourceName=g, dataSourceType="berth")["logFields"]
out["fields"] = {f["logFieldName"]: f["logFieldType"]["type"] for f in fields}
uf = [f for f in fields if f["logFieldName"] == "user"]
out["user_fields"] = [x["logFieldName"] for x in uf[0]["logFieldType"]["fields"]] if uf else []
out["fields_missing"] = code(logs.get_log_fields, dataSourceName="/nope", dataSourceType="berth")

# --- field index policies ---
logs.put_index_policy(logGroupIdentifier=g, policyDocument=json.dumps({"Fields": ["requestId", "absent"]}))
out["bad_index"] = code(logs.put_index_policy, logGroupIdentifier=g, policyDocument=json.dumps({"Fields": ["@message"]}))
pol = logs.describe_index_policies(logGroupIdentifiers=[g])["indexPolicies"]
out["index_source"] = pol[0]["source"]
fi = logs.describe_field_indexes(logGroupIdentifiers=[g])["fieldIndexes"]
out["field_indexes"] = {f["fieldIndexName"]: [f.get("firstEventTime", 0), f.get("lastEventTime", 0)] for f in fi}
out["now"] = now
logs.delete_index_policy(logGroupIdentifier=g)
out["index_after_delete"] = len(logs.describe_index_policies(logGroupIdentifiers=[g])["indexPolicies"])

# --- deliveries ---
src = logs.put_delivery_source(name="src", resourceArn="arn:aws:bedrock:us-east-1:000000000000:knowledge-base/KB1", logType="APPLICATION_LOGS")["deliverySource"]
out["source_service"] = src["service"]
dst = logs.put_delivery_destination(name="dst", deliveryDestinationConfiguration={"destinationResourceArn": "arn:aws:logs:us-east-1:000000000000:log-group:/vended"})["deliveryDestination"]
out["destination_type"] = dst["deliveryDestinationType"]
out["bad_destination"] = code(logs.put_delivery_destination, name="bad", deliveryDestinationConfiguration={"destinationResourceArn": "arn:aws:sqs:us-east-1:000000000000:q"})
logs.put_delivery_destination_policy(deliveryDestinationName="dst", deliveryDestinationPolicy=json.dumps({"Version": "2012-10-17", "Statement": []}))
out["destination_policy"] = "Statement" in logs.get_delivery_destination_policy(deliveryDestinationName="dst")["policy"]["deliveryDestinationPolicy"]
dl = logs.create_delivery(deliverySourceName="src", deliveryDestinationArn=dst["arn"])["delivery"]
out["delivery_dup"] = code(logs.create_delivery, deliverySourceName="src", deliveryDestinationArn=dst["arn"])
out["delivery_missing_source"] = code(logs.create_delivery, deliverySourceName="nope", deliveryDestinationArn=dst["arn"])
out["source_in_use"] = code(logs.delete_delivery_source, name="src")
logs.update_delivery_configuration(id=dl["id"], recordFields=["a", "b"])
out["record_fields"] = logs.get_delivery(id=dl["id"])["delivery"]["recordFields"]
out["deliveries"] = len(logs.describe_deliveries()["deliveries"])
logs.delete_delivery(id=dl["id"])
logs.delete_delivery_source(name="src")
logs.delete_delivery_destination(name="dst")
out["sources_after"] = len(logs.describe_delivery_sources()["deliverySources"])
out["templates"] = len(logs.describe_configuration_templates()["configurationTemplates"])

# --- anomaly detectors ---
garn = logs.describe_log_groups(logGroupNamePrefix=g)["logGroups"][0]["logGroupArn"]
det = logs.create_log_anomaly_detector(logGroupArnList=[garn], detectorName="d", evaluationFrequency="FIVE_MIN")["anomalyDetectorArn"]
out["detector_missing_group"] = code(logs.create_log_anomaly_detector, logGroupArnList=[garn.replace("/boto3/more", "/nope")])
got = logs.get_log_anomaly_detector(anomalyDetectorArn=det)
out["detector"] = [got["detectorName"], got["evaluationFrequency"], got["anomalyDetectorStatus"], got["anomalyVisibilityTime"]]
logs.update_log_anomaly_detector(anomalyDetectorArn=det, enabled=False)
out["detector_paused"] = logs.get_log_anomaly_detector(anomalyDetectorArn=det)["anomalyDetectorStatus"]
out["detectors"] = len(logs.list_log_anomaly_detectors(filterLogGroupArn=garn)["anomalyDetectors"])
out["anomalies"] = len(logs.list_anomalies(anomalyDetectorArn=det)["anomalies"])
out["update_anomaly"] = code(logs.update_anomaly, anomalyDetectorArn=det, anomalyId="00000000-0000-0000-0000-000000000001", suppressionType="INFINITE")
logs.delete_log_anomaly_detector(anomalyDetectorArn=det)
out["detector_deleted"] = code(logs.get_log_anomaly_detector, anomalyDetectorArn=det)
print(json.dumps(out))
`

func TestLogsMoreWithBoto3(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithEnv("BERTH_AGENT=off"))
	var got struct {
		Transformed           map[string]any
		EventNumber           int `json:"event_number"`
		KV                    map[string]any
		Unsupported           string
		NotParserFirst        string `json:"not_parser_first"`
		PutTransformerMissing string `json:"put_transformer_missing"`
		GetTransformerLen     int    `json:"get_transformer_len"`
		Stored                []map[string]any
		GetTransformerDeleted string `json:"get_transformer_deleted"`
		Record                map[string]string
		BadPointer            string   `json:"bad_pointer"`
		QueryGroups           []string `json:"query_groups"`
		Fields                map[string]string
		UserFields            []string            `json:"user_fields"`
		FieldsMissing         string              `json:"fields_missing"`
		BadIndex              string              `json:"bad_index"`
		IndexSource           string              `json:"index_source"`
		FieldIndexes          map[string][2]int64 `json:"field_indexes"`
		Now                   int64
		IndexAfterDelete      int      `json:"index_after_delete"`
		SourceService         string   `json:"source_service"`
		DestinationType       string   `json:"destination_type"`
		BadDestination        string   `json:"bad_destination"`
		DestinationPolicy     bool     `json:"destination_policy"`
		DeliveryDup           string   `json:"delivery_dup"`
		DeliveryMissingSource string   `json:"delivery_missing_source"`
		SourceInUse           string   `json:"source_in_use"`
		RecordFields          []string `json:"record_fields"`
		Deliveries            int
		SourcesAfter          int `json:"sources_after"`
		Templates             int
		DetectorMissingGroup  string `json:"detector_missing_group"`
		Detector              []any
		DetectorPaused        string `json:"detector_paused"`
		Detectors             int
		Anomalies             int
		UpdateAnomaly         string `json:"update_anomaly"`
		DetectorDeleted       string `json:"detector_deleted"`
	}
	b.Python(t, logsMoreBoto3Script).Must(t).JSON(t, &got)

	// TestTransformer applied every processor.
	want := map[string]any{"level": "INFO", "message": "hello", "user": map[string]any{"name": "ALICE"}, "who": "alice", "env": "prod"}
	if !jsonEqual(got.Transformed, want) || got.EventNumber != 1 {
		t.Errorf("test-transformer = %v (event %d), want %v", got.Transformed, got.EventNumber, want)
	}
	if !jsonEqual(got.KV, map[string]any{"@message": "a:1 b:two", "kv": map[string]any{"a": "1", "b": "two"}}) {
		t.Errorf("parseKeyValue = %v", got.KV)
	}
	if !strings.HasPrefix(got.Unsupported, "InvalidParameterException") || !strings.Contains(got.Unsupported, "grok") {
		t.Errorf("unsupported processor: %q", got.Unsupported)
	}
	if got.NotParserFirst != "InvalidParameterException" || got.PutTransformerMissing != "ResourceNotFoundException" ||
		got.GetTransformerLen != 8 || got.GetTransformerDeleted != "ResourceNotFoundException" {
		t.Errorf("transformer ops: %+v", got)
	}
	// The transformer rewrote the events as they were stored.
	if len(got.Stored) != 2 || got.Stored[0]["who"] != "bob" || got.Stored[0]["message"] != "first" || got.Stored[1]["level"] != "ERROR" ||
		got.Stored[0]["env"] != "prod" || got.Stored[0]["msg"] != nil {
		t.Errorf("stored (transformed) events = %v", got.Stored)
	}

	// GetLogRecord returns the event the query's @ptr points at.
	if got.Record["requestId"] != "r-2" || !strings.Contains(got.Record["@message"], `"requestId":"r-2"`) ||
		got.Record["@logStream"] != "s" || !strings.HasSuffix(got.Record["@log"], ":/boto3/more") || got.Record["@timestamp"] == "" {
		t.Errorf("get-log-record = %v", got.Record)
	}
	if got.BadPointer != "InvalidParameterException" {
		t.Errorf("bad pointer: %s", got.BadPointer)
	}
	if len(got.QueryGroups) != 1 || !strings.HasSuffix(got.QueryGroups[0], ":log-group:/boto3/more") {
		t.Errorf("list-log-groups-for-query = %v", got.QueryGroups)
	}
	// GetLogFields: the fields of the stored (transformed) JSON events.
	if got.Fields["requestId"] != "string" || got.Fields["n"] != "double" || got.Fields["user"] != "object" || got.Fields["tags"] != "array" ||
		strings.Join(got.UserFields, ",") != "name" || got.FieldsMissing != "ResourceNotFoundException" {
		t.Errorf("get-log-fields = %v %v %s", got.Fields, got.UserFields, got.FieldsMissing)
	}
	// Field indexes report the events that have the field.
	req := got.FieldIndexes["requestId"]
	if got.BadIndex != "InvalidParameterException" || got.IndexSource != "LOG_GROUP" || req[0] != got.Now-3000 || req[1] != got.Now-2000 ||
		got.FieldIndexes["absent"] != [2]int64{0, 0} || got.IndexAfterDelete != 0 {
		t.Errorf("index policies: %+v", got)
	}
	// Deliveries.
	if got.SourceService != "bedrock" || got.DestinationType != "CWL" || got.BadDestination != "ValidationException" || !got.DestinationPolicy ||
		got.DeliveryDup != "ConflictException" || got.DeliveryMissingSource != "ResourceNotFoundException" || got.SourceInUse != "ConflictException" ||
		strings.Join(got.RecordFields, ",") != "a,b" || got.Deliveries != 1 || got.SourcesAfter != 0 || got.Templates != 0 {
		t.Errorf("deliveries: %+v", got)
	}
	// Anomaly detectors.
	if got.DetectorMissingGroup != "ResourceNotFoundException" || len(got.Detector) != 4 || got.Detector[0] != "d" || got.Detector[1] != "FIVE_MIN" ||
		got.Detector[2] != "INITIALIZING" || got.Detector[3] != float64(21) || got.DetectorPaused != "PAUSED" || got.Detectors != 1 ||
		got.Anomalies != 0 || got.UpdateAnomaly != "ResourceNotFoundException" || got.DetectorDeleted != "ResourceNotFoundException" {
		t.Errorf("anomaly detectors: %+v", got)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestLogsMoreTerraform(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithEnv("BERTH_AGENT=off"))
	tf := startTerraform(t, b, `
resource "aws_cloudwatch_log_group" "app" {
  name = "/tf/more"
}

resource "aws_cloudwatch_log_destination" "central" {
  name       = "tf-central"
  role_arn   = "arn:aws:iam::000000000000:role/CWLtoKinesis"
  target_arn = "arn:aws:kinesis:us-east-1:000000000000:stream/central"
  tags = {
    team = "obs"
  }
}

data "aws_iam_policy_document" "dest" {
  statement {
    effect = "Allow"
    principals {
      type        = "AWS"
      identifiers = ["111122223333"]
    }
    actions   = ["logs:PutSubscriptionFilter"]
    resources = [aws_cloudwatch_log_destination.central.arn]
  }
}

resource "aws_cloudwatch_log_destination_policy" "central" {
  destination_name = aws_cloudwatch_log_destination.central.name
  access_policy    = data.aws_iam_policy_document.dest.json
}

resource "aws_cloudwatch_log_data_protection_policy" "app" {
  log_group_name = aws_cloudwatch_log_group.app.name
  policy_document = jsonencode({
    Name    = "mask"
    Version = "2021-06-01"
    Statement = [
      {
        Sid            = "Audit"
        DataIdentifier = ["arn:aws:dataprotection::aws:data-identifier/EmailAddress"]
        Operation      = { Audit = { FindingsDestination = {} } }
      },
      {
        Sid            = "Redact"
        DataIdentifier = ["arn:aws:dataprotection::aws:data-identifier/EmailAddress"]
        Operation      = { Deidentify = { MaskConfig = {} } }
      }
    ]
  })
}

resource "aws_cloudwatch_log_account_policy" "sub" {
  policy_name = "tf-sub"
  policy_type = "SUBSCRIPTION_FILTER_POLICY"
  policy_document = jsonencode({
    DestinationArn = "arn:aws:lambda:us-east-1:000000000000:function:ship"
    FilterPattern  = "ERROR"
  })
  selection_criteria = "LogGroupName NOT IN [\"/tf/other\"]"
}

resource "aws_cloudwatch_log_index_policy" "app" {
  log_group_name  = aws_cloudwatch_log_group.app.name
  policy_document = jsonencode({ Fields = ["requestId"] })
}

output "destination_arn" {
  value = aws_cloudwatch_log_destination.central.arn
}
`)
	tf.Apply(t)
	tf.NoDrift(t)
	if arn := tf.Output(t, "destination_arn"); !strings.HasSuffix(arn, ":destination:tf-central") {
		t.Errorf("destination arn = %q", arn)
	}
	// The data protection policy Terraform put masks for real.
	aws := func(args ...string) *harness.Result {
		t.Helper()
		return b.AWS(t, append([]string{"logs"}, args...)...)
	}
	time.Sleep(20 * time.Millisecond)
	aws("create-log-stream", "--log-group-name", "/tf/more", "--log-stream-name", "s").Must(t)
	aws("put-log-events", "--log-group-name", "/tf/more", "--log-stream-name", "s",
		"--log-events", logEventsFile(t, nowMS()-1000, "to dave@example.com")).Must(t)
	var events struct{ Events []struct{ Message string } }
	aws("get-log-events", "--log-group-name", "/tf/more", "--log-stream-name", "s").Must(t).JSON(t, &events)
	if len(events.Events) != 1 || events.Events[0].Message != "to ****" {
		t.Errorf("get-log-events under Terraform's policy = %+v", events)
	}
	var dests struct {
		Destinations []struct{ AccessPolicy string }
	}
	aws("describe-destinations").Must(t).JSON(t, &dests)
	if len(dests.Destinations) != 1 || !strings.Contains(dests.Destinations[0].AccessPolicy, "111122223333") {
		t.Errorf("describe-destinations = %+v", dests)
	}
	tf.Destroy(t)
	dests.Destinations = nil
	aws("describe-destinations").Must(t).JSON(t, &dests)
	var pols struct{ AccountPolicies []any }
	aws("describe-account-policies", "--policy-type", "SUBSCRIPTION_FILTER_POLICY").Must(t).JSON(t, &pols)
	if len(dests.Destinations) != 0 || len(pols.AccountPolicies) != 0 {
		t.Errorf("after destroy: %+v %+v", dests, pols)
	}
}
