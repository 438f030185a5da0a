package e2e

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

// CloudWatch Logs metric filters through the aws CLI v1 and Terraform.

func TestLogsMetricFiltersWithAWSCLIv1(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	aws := func(args ...string) *harness.Result {
		t.Helper()
		return b.AWS(t, append([]string{"logs"}, args...)...)
	}
	const group = "/ecs/mf-app"
	aws("create-log-group", "--log-group-name", group).Must(t)
	aws("create-log-group", "--log-group-name", "/ecs/mf-other").Must(t)

	put := func(group, name, pattern, metric, value string) *harness.Result {
		t.Helper()
		return aws("put-metric-filter", "--log-group-name", group, "--filter-name", name, "--filter-pattern", pattern,
			"--metric-transformations", "metricName="+metric+",metricNamespace=App,metricValue="+value)
	}
	put(group, "errors", "ERROR", "Errors", "1").Must(t)
	put(group, "bytes", "[ip, user, status=5*, bytes]", "Bytes5xx", "$bytes").Must(t)
	put("/ecs/mf-other", "errors", "ERROR", "Errors", "1").Must(t)
	assertCode(t, put("/nope", "x", "ERROR", "Errors", "1"), "ResourceNotFoundException")
	assertCode(t, put(group, "bad", "{ $.a = ", "Errors", "1"), "InvalidParameterException")
	assertCode(t, aws("put-metric-filter", "--log-group-name", group, "--filter-name", "two", "--filter-pattern", "x",
		"--metric-transformations", "metricName=A,metricNamespace=N,metricValue=1", "metricName=B,metricNamespace=N,metricValue=1"),
		"InvalidParameterException")

	type listing struct {
		MetricFilters []struct {
			FilterName            string
			FilterPattern         string
			LogGroupName          string
			CreationTime          int64
			MetricTransformations []struct{ MetricName, MetricNamespace, MetricValue string }
		}
		NextToken string
	}
	var l listing
	aws("describe-metric-filters", "--log-group-name", group).Must(t).JSON(t, &l)
	if len(l.MetricFilters) != 2 || l.MetricFilters[0].FilterName != "bytes" || l.MetricFilters[1].FilterName != "errors" ||
		l.MetricFilters[0].MetricTransformations[0].MetricValue != "$bytes" || l.MetricFilters[1].CreationTime == 0 {
		t.Errorf("describe-metric-filters = %+v", l)
	}
	l = listing{}
	aws("describe-metric-filters", "--log-group-name", group, "--filter-name-prefix", "err").Must(t).JSON(t, &l)
	if len(l.MetricFilters) != 1 || l.MetricFilters[0].FilterPattern != "ERROR" {
		t.Errorf("prefix err = %+v", l)
	}
	l = listing{}
	aws("describe-metric-filters", "--metric-name", "Errors", "--metric-namespace", "App").Must(t).JSON(t, &l)
	if len(l.MetricFilters) != 2 {
		t.Errorf("by metric = %+v", l)
	}
	// Page by page (the CLI follows nextToken itself unless told not to).
	l = listing{}
	aws("describe-metric-filters", "--no-paginate", "--limit", "2").Must(t).JSON(t, &l)
	if len(l.MetricFilters) != 2 || l.NextToken == "" {
		t.Fatalf("page 1 = %+v", l)
	}
	tok := l.NextToken
	l = listing{}
	aws("describe-metric-filters", "--no-paginate", "--limit", "2", "--next-token", tok).Must(t).JSON(t, &l)
	if len(l.MetricFilters) != 1 || l.NextToken != "" {
		t.Errorf("page 2 = %+v", l)
	}
	assertCode(t, aws("describe-metric-filters", "--log-group-name", "/nope"), "ResourceNotFoundException")
	assertCode(t, aws("describe-metric-filters", "--metric-name", "Errors"), "InvalidParameterException")
	// Across groups the listing is sorted by filter name.
	l = listing{}
	aws("describe-metric-filters").Must(t).JSON(t, &l)
	if len(l.MetricFilters) != 3 || l.MetricFilters[0].FilterName != "bytes" || l.MetricFilters[1].LogGroupName != group ||
		l.MetricFilters[2].LogGroupName != "/ecs/mf-other" {
		t.Errorf("all filters = %+v", l)
	}

	var tm struct {
		Matches []struct {
			EventNumber     int
			EventMessage    string
			ExtractedValues map[string]string
		}
	}
	aws("test-metric-filter", "--filter-pattern", "[ip, user, status=5*, bytes]", "--log-event-messages",
		"10.0.0.1 alice 200 512", "10.0.0.2 bob 503 2048", "not enough", "10.0.0.3 carol 500 7").Must(t).JSON(t, &tm)
	if len(tm.Matches) != 2 || tm.Matches[0].EventNumber != 2 || tm.Matches[1].EventNumber != 4 ||
		tm.Matches[0].ExtractedValues["$bytes"] != "2048" || tm.Matches[1].ExtractedValues["$user"] != "carol" {
		t.Errorf("test-metric-filter = %+v", tm)
	}
	tm.Matches = nil
	aws("test-metric-filter", "--filter-pattern", `{ $.level = "error" }`, "--log-event-messages",
		`{"level":"error"}`, `{"level":"info"}`, "plain").Must(t).JSON(t, &tm)
	if len(tm.Matches) != 1 || tm.Matches[0].EventMessage != `{"level":"error"}` {
		t.Errorf("test-metric-filter json = %+v", tm)
	}
	assertCode(t, aws("test-metric-filter", "--filter-pattern", "[a,", "--log-event-messages", "x"), "InvalidParameterException")

	var groups struct {
		LogGroups []struct{ MetricFilterCount int }
	}
	aws("describe-log-groups", "--log-group-name-prefix", group).Must(t).JSON(t, &groups)
	if len(groups.LogGroups) != 1 || groups.LogGroups[0].MetricFilterCount != 2 {
		t.Errorf("metricFilterCount = %+v", groups)
	}
	aws("delete-metric-filter", "--log-group-name", group, "--filter-name", "errors").Must(t)
	assertCode(t, aws("delete-metric-filter", "--log-group-name", group, "--filter-name", "errors"), "ResourceNotFoundException")
	// A log group takes its metric filters with it: recreated, it has none.
	aws("delete-log-group", "--log-group-name", group).Must(t)
	aws("create-log-group", "--log-group-name", group).Must(t)
	l = listing{}
	aws("describe-metric-filters", "--log-group-name", group).Must(t).JSON(t, &l)
	if len(l.MetricFilters) != 0 {
		t.Errorf("filters after the group was deleted = %+v", l)
	}
}

func TestLogsMetricFilterTerraform(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithEnv("BERTH_AGENT=off"))
	tf := startTerraform(t, b, `
resource "aws_cloudwatch_log_group" "app" {
  name = "/ecs/tf-mf"
}

resource "aws_cloudwatch_log_metric_filter" "errors" {
  name           = "errors"
  pattern        = "[ip, user, status=5*, bytes]"
  log_group_name = aws_cloudwatch_log_group.app.name
  metric_transformation {
    name      = "Errors5xx"
    namespace = "App"
    value     = "1"
    default_value = "0"
  }
}
`)
	tf.Apply(t)
	tf.NoDrift(t)
	out := b.AWS(t, "logs", "describe-metric-filters", "--log-group-name", "/ecs/tf-mf").Must(t)
	if !strings.Contains(out.Stdout, "Errors5xx") {
		t.Errorf("describe-metric-filters after apply = %s", out.Stdout)
	}
	tf.Destroy(t)
}

func TestLogsSubscriptionsPoliciesQueryDefinitions(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	aws := func(args ...string) *harness.Result {
		t.Helper()
		return b.AWS(t, append([]string{"logs"}, args...)...)
	}
	const group = "/ecs/sub-app"
	aws("create-log-group", "--log-group-name", group).Must(t)
	sub := func(name, dest string, extra ...string) *harness.Result {
		t.Helper()
		return aws(append([]string{"put-subscription-filter", "--log-group-name", group, "--filter-name", name, "--filter-pattern", "ERROR",
			"--destination-arn", dest}, extra...)...)
	}
	const role = "arn:aws:iam::000000000000:role/cwl-to-stream"
	sub("to-kinesis", "arn:aws:kinesis:us-east-1:000000000000:stream/logs", "--role-arn", role).Must(t)
	sub("to-lambda", "arn:aws:lambda:us-east-1:000000000000:function:ship").Must(t)
	sub("to-lambda", "arn:aws:lambda:us-east-1:000000000000:function:ship2").Must(t) // replaces
	assertCode(t, sub("third", "arn:aws:firehose:us-east-1:000000000000:deliverystream/x", "--role-arn", role), "LimitExceededException")
	assertCode(t, sub("bad", "arn:aws:s3:::bucket"), "InvalidParameterException")
	var subs struct {
		SubscriptionFilters []struct{ FilterName, DestinationArn, Distribution, LogGroupName string }
	}
	aws("describe-subscription-filters", "--log-group-name", group).Must(t).JSON(t, &subs)
	if len(subs.SubscriptionFilters) != 2 || subs.SubscriptionFilters[1].DestinationArn != "arn:aws:lambda:us-east-1:000000000000:function:ship2" ||
		subs.SubscriptionFilters[0].Distribution != "ByLogStream" {
		t.Errorf("describe-subscription-filters = %+v", subs)
	}
	aws("delete-subscription-filter", "--log-group-name", group, "--filter-name", "to-kinesis").Must(t)
	assertCode(t, aws("delete-subscription-filter", "--log-group-name", group, "--filter-name", "to-kinesis"), "ResourceNotFoundException")
	assertCode(t, aws("describe-subscription-filters", "--log-group-name", "/nope"), "ResourceNotFoundException")

	const doc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"es.amazonaws.com"},"Action":"logs:PutLogEvents","Resource":"*"}]}`
	var pp struct {
		ResourcePolicy struct{ PolicyName, PolicyDocument, PolicyScope, RevisionId string }
	}
	aws("put-resource-policy", "--policy-name", "es", "--policy-document", doc).Must(t).JSON(t, &pp)
	if pp.ResourcePolicy.PolicyName != "es" || pp.ResourcePolicy.PolicyScope != "ACCOUNT" || pp.ResourcePolicy.RevisionId != "" {
		t.Errorf("put-resource-policy = %+v", pp)
	}
	assertCode(t, aws("put-resource-policy", "--policy-name", "bad", "--policy-document", "{not json"), "InvalidParameterException")
	var pols struct {
		ResourcePolicies []struct{ PolicyName, PolicyDocument string }
	}
	aws("describe-resource-policies").Must(t).JSON(t, &pols)
	if len(pols.ResourcePolicies) != 1 || pols.ResourcePolicies[0].PolicyDocument != doc {
		t.Errorf("describe-resource-policies = %+v", pols)
	}
	aws("delete-resource-policy", "--policy-name", "es").Must(t)
	assertCode(t, aws("delete-resource-policy", "--policy-name", "es"), "ResourceNotFoundException")

	var qd struct{ QueryDefinitionId string }
	aws("put-query-definition", "--name", "errors/by-stream", "--query-string", "fields @timestamp | filter @message like /ERROR/",
		"--log-group-names", group).Must(t).JSON(t, &qd)
	if qd.QueryDefinitionId == "" {
		t.Fatal("put-query-definition returned no id")
	}
	aws("put-query-definition", "--name", "other", "--query-string", "fields @message").Must(t)
	aws("put-query-definition", "--query-definition-id", qd.QueryDefinitionId, "--name", "errors/by-stream",
		"--query-string", "stats count(*) by @logStream").Must(t)
	assertCode(t, aws("put-query-definition", "--query-definition-id", "00000000-0000-4000-8000-000000000000", "--name", "x",
		"--query-string", "fields @message"), "ResourceNotFoundException")
	var qds struct {
		QueryDefinitions []struct {
			QueryDefinitionId, Name, QueryString string
			LogGroupNames                        []string
		}
	}
	aws("describe-query-definitions", "--query-definition-name-prefix", "errors/").Must(t).JSON(t, &qds)
	if len(qds.QueryDefinitions) != 1 || qds.QueryDefinitions[0].QueryString != "stats count(*) by @logStream" {
		t.Errorf("describe-query-definitions = %+v", qds)
	}
	aws("delete-query-definition", "--query-definition-id", qd.QueryDefinitionId).Must(t)
	assertCode(t, aws("delete-query-definition", "--query-definition-id", qd.QueryDefinitionId), "ResourceNotFoundException")
	qds.QueryDefinitions = nil
	aws("describe-query-definitions").Must(t).JSON(t, &qds)
	if len(qds.QueryDefinitions) != 1 || qds.QueryDefinitions[0].Name != "other" {
		t.Errorf("after delete = %+v", qds)
	}
}

// insightsRow turns a result row into a map.
func insightsRow(row []struct{ Field, Value string }) map[string]string {
	m := map[string]string{}
	for _, f := range row {
		m[f.Field] = f.Value
	}
	return m
}

type insightsResults struct {
	Status     string
	Results    [][]struct{ Field, Value string }
	Statistics struct{ RecordsMatched, RecordsScanned, BytesScanned float64 }
}

func TestLogsInsightsWithAWSCLIv1(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	aws := func(args ...string) *harness.Result {
		t.Helper()
		return b.AWS(t, append([]string{"logs"}, args...)...)
	}
	const group = "/ecs/insights-app"
	aws("create-log-group", "--log-group-name", group).Must(t)
	aws("create-log-stream", "--log-group-name", group, "--log-stream-name", "web/1").Must(t)
	aws("create-log-stream", "--log-group-name", group, "--log-stream-name", "worker/1").Must(t)
	now := nowMS()
	aws("put-log-events", "--log-group-name", group, "--log-stream-name", "web/1", "--log-events", logEventsFile(t,
		now-5000, `{"level":"info","status":200,"latency":12,"http":{"path":"/"}}`,
		now-4000, `{"level":"error","status":500,"latency":250,"http":{"path":"/pay"}}`,
		now-3000, `{"level":"info","status":404,"latency":3,"http":{"path":"/nope"}}`,
		now-2000, `{"level":"error","status":503,"latency":900,"http":{"path":"/pay"}}`,
	)).Must(t)
	aws("put-log-events", "--log-group-name", group, "--log-stream-name", "worker/1", "--log-events", logEventsFile(t,
		now-4500, "user=alice action=login took=31ms",
		now-3500, "ERROR job 17 failed",
		now-1000, "user=bob action=logout took=7ms",
	)).Must(t)

	start := strconv.FormatInt(now/1000-600, 10)
	end := strconv.FormatInt(now/1000+60, 10)
	query := func(q string, extra ...string) insightsResults {
		t.Helper()
		var started struct{ QueryId string }
		aws(append([]string{"start-query", "--log-group-name", group, "--start-time", start, "--end-time", end, "--query-string", q}, extra...)...).Must(t).JSON(t, &started)
		if started.QueryId == "" {
			t.Fatalf("start-query %q returned no id", q)
		}
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			var r insightsResults
			aws("get-query-results", "--query-id", started.QueryId).Must(t).JSON(t, &r)
			if r.Status == "Complete" {
				return r
			}
			if r.Status != "Scheduled" && r.Status != "Running" || time.Now().After(deadline) {
				t.Fatalf("query %q: status %s", q, r.Status)
			}
		}
	}

	// Default fields, newest first, every event scanned.
	r := query("fields @timestamp, @message, @logStream | sort @timestamp desc")
	if len(r.Results) != 7 || r.Statistics.RecordsScanned != 7 || r.Statistics.RecordsMatched != 7 || r.Statistics.BytesScanned <= 0 {
		t.Fatalf("all events: %+v", r)
	}
	first := insightsRow(r.Results[0])
	if first["@message"] != "user=bob action=logout took=7ms" || first["@logStream"] != "worker/1" || first["@ptr"] == "" {
		t.Errorf("newest event = %v", first)
	}
	if last := insightsRow(r.Results[6]); !strings.Contains(last["@message"], `"status":200`) {
		t.Errorf("oldest event = %v", last)
	}

	// JSON fields are discovered; filters compare numbers; sort ascending.
	r = query(`fields @timestamp, status, http.path as path | filter level = "error" and status >= 500 | sort latency asc`)
	if len(r.Results) != 2 || r.Statistics.RecordsMatched != 2 {
		t.Fatalf("errors: %+v", r)
	}
	if a, b2 := insightsRow(r.Results[0]), insightsRow(r.Results[1]); a["status"] != "500" || b2["status"] != "503" || a["path"] != "/pay" {
		t.Errorf("errors rows = %v, %v", a, b2)
	}

	// like with a regex and with a string, or, limit.
	r = query(`filter @message like /(?i)error/ or @message like "alice" | limit 2`)
	// recordsMatched counts what the filter let through, before the limit.
	if len(r.Results) != 2 || r.Statistics.RecordsMatched != 4 {
		t.Errorf("like|limit: %+v", r)
	}
	r = query(`filter @message like /ERROR job/`)
	if len(r.Results) != 1 {
		t.Errorf("like /ERROR job/: %+v", r)
	}

	// stats count by field, sorted by the count.
	r = query(`filter level != "x" | stats count(*) as n, avg(latency) as lat by level | sort n desc`)
	if len(r.Results) != 2 {
		t.Fatalf("stats: %+v", r)
	}
	if a, b2 := insightsRow(r.Results[0]), insightsRow(r.Results[1]); a["level"] != "error" && a["level"] != "info" || a["n"] != "2" || b2["n"] != "2" {
		t.Errorf("stats rows = %v, %v", a, b2)
	}
	r = query(`stats count(*) by @logStream | sort @logStream asc`)
	if len(r.Results) != 2 || insightsRow(r.Results[0])["@logStream"] != "web/1" || insightsRow(r.Results[0])["count(*)"] != "4" ||
		insightsRow(r.Results[1])["count(*)"] != "3" {
		t.Errorf("stats by stream: %+v", r)
	}

	res := aws("start-query", "--log-group-name", group, "--start-time", start, "--end-time", end, "--query-string", "fields @message | dedup @logStream")
	assertCode(t, res, "MalformedQueryException")
	if !strings.Contains(res.Stderr, "dedup") {
		t.Errorf("malformed message does not name dedup: %s", res.Stderr)
	}
	// parse with a glob, then filter on the parsed fields.
	r = query(`parse @message "user=* action=* took=*ms" as user, action, took | filter took > 10 | fields user, action, took`)
	if len(r.Results) != 1 || insightsRow(r.Results[0])["user"] != "alice" || insightsRow(r.Results[0])["took"] != "31" {
		t.Errorf("parse: %+v", r)
	}

	assertCode(t, aws("start-query", "--log-group-name", "/nope", "--start-time", start, "--end-time", end, "--query-string", "fields @message"), "ResourceNotFoundException")
	assertCode(t, aws("start-query", "--log-group-name", group, "--start-time", end, "--end-time", start, "--query-string", "fields @message"), "InvalidParameterException")
	assertCode(t, aws("get-query-results", "--query-id", "00000000-0000-4000-8000-000000000000"), "ResourceNotFoundException")

	var qs struct {
		Queries []struct{ QueryId, Status, LogGroupName string }
	}
	aws("describe-queries", "--log-group-name", group).Must(t).JSON(t, &qs)
	if len(qs.Queries) != 7 || qs.Queries[0].Status != "Complete" || qs.Queries[0].LogGroupName != group {
		t.Errorf("describe-queries = %+v", qs)
	}
	var fields struct {
		LogGroupFields []struct {
			Name    string
			Percent int
		}
	}
	aws("get-log-group-fields", "--log-group-name", group).Must(t).JSON(t, &fields)
	pct := map[string]int{}
	for _, f := range fields.LogGroupFields {
		pct[f.Name] = f.Percent
	}
	if pct["@message"] != 100 || pct["http.path"] != 57 || pct["level"] != 57 {
		t.Errorf("get-log-group-fields = %v", pct)
	}
}

const insightsBoto3Script = `
import boto3, json, sys, time
logs = boto3.client("logs")
g = "/ecs/insights-boto3"
logs.create_log_group(logGroupName=g)
logs.create_log_stream(logGroupName=g, logStreamName="s")
now = int(time.time() * 1000)
logs.put_log_events(logGroupName=g, logStreamName="s", logEvents=[
    {"timestamp": now - 3000 + i, "message": json.dumps({"level": ["info", "warn", "error"][i % 3], "n": i})}
    for i in range(30)])
qid = logs.start_query(logGroupName=g, startTime=now // 1000 - 600, endTime=now // 1000 + 60,
    queryString="stats count(*) as c, sum(n) as total by level | sort total desc", limit=10)["queryId"]
while True:
    r = logs.get_query_results(queryId=qid)
    if r["status"] not in ("Scheduled", "Running"):
        break
    time.sleep(0.2)
try:
    logs.stop_query(queryId=qid)
    stop = "no error"
except logs.exceptions.InvalidParameterException as e:
    stop = e.response["Error"]["Code"]
try:
    logs.start_query(logGroupName=g, startTime=0, endTime=1, queryString="fields @message | filter bin(5m)")
    bad = "no error"
except logs.exceptions.MalformedQueryException as e:
    bad = e.response["Error"]["Code"]
print(json.dumps({"status": r["status"], "rows": [{f["field"]: f["value"] for f in row} for row in r["results"]],
    "scanned": r["statistics"]["recordsScanned"], "stop": stop, "bad": bad}))
`

func TestLogsInsightsWithBoto3(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	var got struct {
		Status  string
		Rows    []map[string]string
		Scanned float64
		Stop    string
		Bad     string
	}
	out := b.Python(t, insightsBoto3Script).Must(t)
	if err := json.Unmarshal([]byte(out.Stdout), &got); err != nil {
		t.Fatalf("%v: %s", err, out.Stdout)
	}
	// n = 0..29; level i%3: info sums 0+3+...+27 = 135, warn 145, error 155.
	want := []map[string]string{{"level": "error", "c": "10", "total": "155"}, {"level": "warn", "c": "10", "total": "145"}, {"level": "info", "c": "10", "total": "135"}}
	if got.Status != "Complete" || got.Scanned != 30 || got.Stop != "InvalidParameterException" || got.Bad != "MalformedQueryException" || fmt.Sprint(got.Rows) != fmt.Sprint(want) {
		t.Errorf("boto3 insights = %+v", got)
	}
}
