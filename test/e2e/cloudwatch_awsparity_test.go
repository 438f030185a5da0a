package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// cloudWatchParityScript drives the behaviours AWS answers differently
// from a naive implementation, as recorded against real AWS: PutMetricData's
// exclusive-parameter errors, gzipped PutMetricData, per-unit statistics,
// GetMetricData labels and messages, alarm state reasons, and DeleteAlarms
// of names that do not exist, composite alarms' children and parents;
// whole doubles on the awsJson wire boto3 uses.
const cloudWatchParityScript = `
import boto3, json, sys, time, uuid
from datetime import datetime, timedelta, timezone
from botocore.exceptions import ClientError

cw = boto3.client("cloudwatch")
uid = lambda: uuid.uuid4().hex[:8]
out = {"errors": {}}
now = datetime.now(timezone.utc)

def err(key, **kw):
    try:
        cw.put_metric_data(**kw)
        out["errors"][key] = "accepted"
    except ClientError as e:
        out["errors"][key] = e.response["Error"]["Code"] + ": " + e.response["Error"]["Message"]

ns = "parity-" + uid()
sv = {"SampleCount": 10, "Sum": 55, "Minimum": 1, "Maximum": 10}
err("value_values", Namespace=ns, MetricData=[{"MetricName": "m", "Value": 1.5, "Values": [1.0, 10.0]}])
err("counts", Namespace=ns, MetricData=[{"MetricName": "m", "Values": [1.0, 10.0], "Counts": [2, 4, 5]}])
err("value_stats", Namespace=ns, MetricData=[{"MetricName": "m", "Value": 1.5, "StatisticValues": sv}])
err("values_stats", Namespace=ns, MetricData=[{"MetricName": "m", "Values": [1.0, 10.0], "StatisticValues": sv}])

# Above 10 KB botocore gzips PutMetricData.
big = "parity-big-" + uid()
cw.put_metric_data(Namespace=big, MetricData=[{"MetricName": "m-%d" % i, "Value": 21, "Unit": "Seconds"} for i in range(501)])
page = cw.list_metrics(Namespace=big)
out["big"] = {"metrics": len(page["Metrics"]), "next": bool(page.get("NextToken"))}

units = "parity-units-" + uid()
cw.put_metric_data(Namespace=units, MetricData=[
    {"MetricName": "m", "Timestamp": now, "Value": 1, "Unit": "Seconds"},
    {"MetricName": "m", "Timestamp": now, "Value": 5, "Unit": "Count"},
    {"MetricName": "m", "Timestamp": now, "Value": 10},
])
gms = cw.get_metric_statistics(Namespace=units, MetricName="m", StartTime=now - timedelta(seconds=60),
                               EndTime=now + timedelta(seconds=60), Period=60, Statistics=["Average"])
out["units"] = sorted([dp["Unit"], dp["Average"]] for dp in gms["Datapoints"])
# Whole doubles come back as floats (AWS writes 10.0, not 10).
out["floats"] = [type(dp["Average"]).__name__ for dp in gms["Datapoints"]]
mixed = "parity-mixed-" + uid()
cw.put_metric_data(Namespace=mixed, MetricData=[
    {"MetricName": "m", "Timestamp": now, "Value": 60000, "Unit": "Milliseconds"},
    {"MetricName": "m", "Timestamp": now, "Value": 60, "Unit": "Seconds"},
])
gmd = cw.get_metric_data(MetricDataQueries=[{"Id": "m1", "MetricStat": {"Metric": {"Namespace": mixed, "MetricName": "m"}, "Period": 60, "Stat": "Sum"}}],
                         StartTime=now - timedelta(seconds=60), EndTime=now + timedelta(seconds=60))
r = gmd["MetricDataResults"][0]
out["nounit"] = {"values": r["Values"], "messages": r.get("Messages"), "top": gmd.get("Messages")}

try:
    cw.get_metric_data(MetricDataQueries=[{"Id": "Upper", "MetricStat": {"Metric": {"Namespace": mixed, "MetricName": "m"}, "Period": 60, "Stat": "Sum"}}],
                       StartTime=now - timedelta(seconds=60), EndTime=now + timedelta(seconds=60))
    out["bad_id"] = "accepted"
except ClientError as e:
    out["bad_id"] = e.response["Error"]["Code"] + ": " + e.response["Error"]["Message"]

labels = "parity-labels-" + uid()
cw.put_metric_data(Namespace=labels, MetricData=[{"MetricName": "metric1", "Value": v, "Unit": "Seconds"} for v in [0, 2, 7, 100]])
def label_set(pairs):
    res = cw.get_metric_data(MetricDataQueries=[
        {"Id": "q%d" % i, "MetricStat": {"Metric": {"Namespace": labels, "MetricName": "metric1"}, "Period": p, "Stat": s}}
        for i, (s, p) in enumerate(pairs)], StartTime=now - timedelta(seconds=60), EndTime=now + timedelta(seconds=60))
    return [x["Label"] for x in res["MetricDataResults"]]
out["labels"] = [label_set([("Sum", 60), ("Minimum", 60)]), label_set([("Sum", 60), ("Sum", 30)]),
                 label_set([("Sum", 60), ("Minimum", 30)]), label_set([("Sum", 60), ("Sum", 60)])]

def wait_alarm(name):
    for _ in range(30):
        a = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
        if a["StateValue"] == "ALARM":
            return a
        time.sleep(1)
    return a

dim = [{"Name": "InstanceId", "Value": "abc"}]
alarms = "parity-alarms-" + uid()
cw.put_metric_alarm(AlarmName="parity-data", MetricName="my-metric1", Namespace=alarms, Period=30, Threshold=2,
                    Dimensions=dim, Unit="Seconds", Statistic="Average", EvaluationPeriods=1,
                    ComparisonOperator="GreaterThanThreshold", TreatMissingData="ignore")
cw.put_metric_data(Namespace=alarms, MetricData=[
    {"MetricName": "my-metric1", "Dimensions": dim, "Value": 21, "Unit": "Seconds"},
    {"MetricName": "my-metric1", "Dimensions": dim, "Value": 22, "Unit": "Seconds"},
])
a = wait_alarm("parity-data")
hist = cw.describe_alarm_history(AlarmName="parity-data", HistoryItemType="StateUpdate")["AlarmHistoryItems"]
out["floats"].append(type(a["Threshold"]).__name__)
out["data_alarm"] = {"state": a["StateValue"], "reason": a["StateReason"], "data": a.get("StateReasonData", ""),
                     "history": hist[0]["HistoryData"] if hist else ""}
cw.put_metric_alarm(AlarmName="parity-breaching", MetricName="none", Namespace=alarms, Period=10, Threshold=2,
                    Statistic="Average", EvaluationPeriods=2, ComparisonOperator="GreaterThanThreshold",
                    TreatMissingData="breaching")
a = wait_alarm("parity-breaching")
out["breaching_alarm"] = {"state": a["StateValue"], "reason": a["StateReason"], "data": a.get("StateReasonData", "")}

# A composite alarm's children and an alarm's parents.
cw.put_composite_alarm(AlarmName="parity-composite", AlarmRule='ALARM("parity-data") OR ALARM(parity-breaching)')
kids = cw.describe_alarms(ChildrenOfAlarmName="parity-composite")
parents = cw.describe_alarms(ParentsOfAlarmName="parity-data")
out["children"] = sorted(x["AlarmName"] + ":" + x["StateValue"] for x in kids["MetricAlarms"])
out["parents"] = [sorted(x) for x in parents["CompositeAlarms"]]
cw.delete_alarms(AlarmNames=["parity-composite"])

# Deleting names that do not exist succeeds and still deletes the others.
cw.delete_alarms(AlarmNames=["parity-data", "parity-never-created"])
out["left"] = sorted(x["AlarmName"] for x in cw.describe_alarms(AlarmNamePrefix="parity-")["MetricAlarms"])
print(json.dumps(out))
`

func TestCloudWatchAWSParity(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithEnv("BERTH_CLOUDWATCH_INTERVAL=1s"))

	var got struct {
		Errors map[string]string
		Big    struct {
			Metrics int
			Next    bool
		}
		Units  [][2]any
		Floats []string
		NoUnit struct {
			Values   []float64
			Messages []map[string]string
			Top      []any
		} `json:"nounit"`
		BadID     string `json:"bad_id"`
		Labels    [][]string
		DataAlarm struct {
			State, Reason, Data, History string
		} `json:"data_alarm"`
		BreachingAlarm struct {
			State, Reason, Data string
		} `json:"breaching_alarm"`
		Left     []string
		Children []string
		Parents  [][]string
	}
	b.Python(t, cloudWatchParityScript).Must(t).JSON(t, &got)

	wantErrors := map[string]string{
		"value_values": "InvalidParameterCombination: The parameters MetricData.member.1.Value and MetricData.member.1.Values are mutually exclusive and you have specified both.",
		"counts":       "InvalidParameterValue: The parameters MetricData.member.1.Values and MetricData.member.1.Counts must be of the same size.",
		"value_stats":  "InvalidParameterCombination: The parameters MetricData.member.1.Value and MetricData.member.1.StatisticValues are mutually exclusive and you have specified both.",
		"values_stats": "accepted",
	}
	for k, want := range wantErrors {
		if got.Errors[k] != want {
			t.Errorf("put-metric-data %s: %q, want %q", k, got.Errors[k], want)
		}
	}
	if got.Big.Metrics != 500 || !got.Big.Next {
		t.Errorf("gzipped PutMetricData of 501 metrics, then ListMetrics: %+v, want a page of 500 and a NextToken", got.Big)
	}

	units, _ := json.Marshal(got.Units)
	if string(units) != `[["Count",5],["None",10],["Seconds",1]]` {
		t.Errorf("GetMetricStatistics without Unit over three units: %s, want one datapoint per unit", units)
	}
	if f, _ := json.Marshal(got.Floats); string(f) != `["float","float","float","float"]` {
		t.Errorf("boto3 types of whole doubles (three Averages, a Threshold): %s, want floats", f)
	}
	if len(got.NoUnit.Values) != 1 || got.NoUnit.Values[0] != 60000 || got.NoUnit.Top == nil || len(got.NoUnit.Messages) != 1 ||
		got.NoUnit.Messages[0]["Code"] != "MultipleUnits" || got.NoUnit.Messages[0]["Value"] != "Multiple units returned: '[Milliseconds, Seconds]'" {
		t.Errorf("GetMetricData without Unit over two units: %+v, want the Milliseconds data only, a MultipleUnits message and Messages []", got.NoUnit)
	}
	if want := "ValidationError: The value Upper for parameter MetricDataQueries.member.1.Id is not matching the expected pattern ^[a-z][a-zA-Z0-9_]*$."; got.BadID != want {
		t.Errorf("GetMetricData with an upper-case query id: %q, want %q", got.BadID, want)
	}
	wantLabels := [][]string{{"metric1 Sum", "metric1 Minimum"}, {"metric1 60", "metric1 30"}, {"metric1 Sum 60", "metric1 Minimum 30"}, {"metric1", "metric1"}}
	l1, _ := json.Marshal(got.Labels)
	l2, _ := json.Marshal(wantLabels)
	if string(l1) != string(l2) {
		t.Errorf("GetMetricData default labels: %s, want %s", l1, l2)
	}

	reason := regexp.MustCompile(`^Threshold Crossed: 1 datapoint \[21\.5 \(\d\d/\d\d/\d\d \d\d:\d\d:\d\d\)\] was greater than the threshold \(2\.0\)\.$`)
	if got.DataAlarm.State != "ALARM" || !reason.MatchString(got.DataAlarm.Reason) {
		t.Errorf("alarm on data: %s %q", got.DataAlarm.State, got.DataAlarm.Reason)
	}
	for _, want := range []string{`"unit":"Seconds"`, `"startDate":"`, `"threshold":2.0`, `"recentDatapoints":[21.5]`, `"sampleCount":2.0,"value":21.5}`} {
		if !strings.Contains(got.DataAlarm.Data, want) || !strings.Contains(got.DataAlarm.History, want) {
			t.Errorf("alarm StateReasonData %s and history %s: missing %s", got.DataAlarm.Data, got.DataAlarm.History, want)
		}
	}
	if got.BreachingAlarm.State != "ALARM" ||
		got.BreachingAlarm.Reason != "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as [Breaching]." {
		t.Errorf("alarm with missing data treated as breaching: %s %q", got.BreachingAlarm.State, got.BreachingAlarm.Reason)
	}
	if c, _ := json.Marshal(got.Children); string(c) != `["parity-breaching:ALARM","parity-data:ALARM"]` {
		t.Errorf("describe-alarms ChildrenOfAlarmName: %s", c)
	}
	if p, _ := json.Marshal(got.Parents); string(p) != `[["AlarmArn","AlarmName"]]` {
		t.Errorf("describe-alarms ParentsOfAlarmName: %s, want the composite alarm's name and ARN only", p)
	}
	if len(got.Left) != 1 || got.Left[0] != "parity-breaching" {
		t.Errorf("alarms left after deleting parity-data and a name never created: %v, want [parity-breaching]", got.Left)
	}
	var data struct {
		Evaluated []map[string]any `json:"evaluatedDatapoints"`
		Recent    []float64        `json:"recentDatapoints"`
	}
	if err := json.Unmarshal([]byte(got.BreachingAlarm.Data), &data); err != nil || len(data.Evaluated) != 2 || len(data.Recent) != 0 ||
		data.Evaluated[0]["timestamp"] == nil || data.Evaluated[0]["value"] != nil {
		t.Errorf("breaching alarm StateReasonData %s: want two evaluated datapoints with timestamps only", got.BreachingAlarm.Data)
	}
}
