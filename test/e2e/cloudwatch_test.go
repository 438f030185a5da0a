package e2e

// CloudWatch metrics and alarms over the three wires its clients speak:
// aws-sdk-go-v2 sends Smithy RPC v2 CBOR, the aws CLI v1 (botocore) awsJson
// 1.0, Debian's aws CLI v2 awsQuery. Data published by one client is read back with
// its statistics and percentiles by the others; a batch large enough to
// be gzipped by the SDK pages through ListMetrics; an alarm really moves
// OK -> ALARM -> OK from the data put (and a composite alarm with it),
// with history and a failed action for an ARN nothing handles; a state set
// by SetAlarmState lasts until the next evaluation; errors carry
// CloudWatch's codes on every wire.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"

	"github.com/berth-dev/berth/test/harness"
)

type cwAlarm struct {
	AlarmName, StateValue, StateReason string
	ActionsEnabled                     bool
}

// cwWaitState polls DescribeAlarms until the alarm is in state.
func cwWaitState(t *testing.T, cw *cloudwatch.Client, b *harness.Berth, name string, kind types.AlarmType, state types.StateValue) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := cw.DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name}, AlarmTypes: []types.AlarmType{kind}})
		if err != nil {
			t.Fatalf("DescribeAlarms: %v", err)
		}
		var states []types.StateValue
		for _, a := range out.MetricAlarms {
			states = append(states, a.StateValue)
		}
		for _, a := range out.CompositeAlarms {
			states = append(states, a.StateValue)
		}
		if len(states) == 1 && states[0] == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("alarm %s not %s after 20s: %v\n%s", name, state, states, b.Log())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func cwCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestCloudWatch(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithEnv("BERTH_CLOUDWATCH_INTERVAL=1s"))
	ctx := context.Background()
	cw := cloudwatch.NewFromConfig(b.SDKConfig(ctx))

	// Three forms of data in one minute, from the SDK (CBOR).
	base := time.Now().UTC().Truncate(time.Minute).Add(-5 * time.Minute)
	svc := []types.Dimension{{Name: aws.String("Service"), Value: aws.String("api")}}
	_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{
		Namespace: aws.String("Berth/Test"),
		MetricData: []types.MetricDatum{
			{MetricName: aws.String("Latency"), Dimensions: svc, Timestamp: aws.Time(base.Add(5 * time.Second)), Value: aws.Float64(10), Unit: types.StandardUnitMilliseconds},
			{MetricName: aws.String("Latency"), Dimensions: svc, Timestamp: aws.Time(base.Add(10 * time.Second)), Values: []float64{1, 2, 3}, Counts: []float64{1, 1, 2}, Unit: types.StandardUnitMilliseconds},
			{MetricName: aws.String("Latency"), Dimensions: svc, Timestamp: aws.Time(base.Add(20 * time.Second)), Unit: types.StandardUnitMilliseconds,
				StatisticValues: &types.StatisticSet{SampleCount: aws.Float64(5), Sum: aws.Float64(50), Minimum: aws.Float64(4), Maximum: aws.Float64(20)}},
		},
	})
	if err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}

	// GetMetricStatistics over awsQuery (CLI v2) and awsJson (CLI v1).
	start, end := base.Add(-time.Minute).Format(time.RFC3339), base.Add(2*time.Minute).Format(time.RFC3339)
	var stats struct {
		Datapoints []struct {
			Timestamp                                   string
			SampleCount, Sum, Average, Minimum, Maximum float64
			Unit                                        string
		}
	}
	var pct struct {
		Datapoints []struct {
			Timestamp          float64
			ExtendedStatistics map[string]float64
		}
	}
	b.AWSv2(t, "cloudwatch", "get-metric-statistics", "--namespace", "Berth/Test", "--metric-name", "Latency",
		"--dimensions", "Name=Service,Value=api", "--start-time", start, "--end-time", end, "--period", "60",
		"--statistics", "SampleCount", "Sum", "Average", "Minimum", "Maximum").Must(t).JSON(t, &stats)
	if len(stats.Datapoints) != 1 {
		t.Fatalf("datapoints = %+v", stats.Datapoints)
	}
	dp := stats.Datapoints[0]
	if dp.SampleCount != 10 || dp.Sum != 69 || dp.Minimum != 1 || dp.Maximum != 20 || dp.Average != 6.9 || dp.Unit != "Milliseconds" {
		t.Errorf("statistics = %+v, want 10 samples, sum 69, min 1, max 20, average 6.9 in Milliseconds", dp)
	}
	if ts, _ := time.Parse(time.RFC3339, dp.Timestamp); !ts.Equal(base) {
		t.Errorf("datapoint at %s, want the period's start %s", dp.Timestamp, base)
	}
	b.AWS(t, "cloudwatch", "get-metric-statistics", "--namespace", "Berth/Test", "--metric-name", "Latency",
		"--dimensions", "Name=Service,Value=api", "--start-time", start, "--end-time", end, "--period", "60",
		"--extended-statistics", "p50", "p100").Must(t).JSON(t, &pct)
	// Percentiles come from single values (10, 1, 2, 3, 3), not the set;
	// aws CLI v1 prints timestamps as epoch seconds.
	if len(pct.Datapoints) != 1 || pct.Datapoints[0].Timestamp != float64(base.Unix()) ||
		pct.Datapoints[0].ExtendedStatistics["p50"] != 3 || pct.Datapoints[0].ExtendedStatistics["p100"] != 10 {
		t.Errorf("percentiles = %+v, want p50 3 and p100 10 at %d", pct.Datapoints, base.Unix())
	}

	// GetMetricData (SDK): one returned query, one hidden, oldest first.
	gmd, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(base.Add(-time.Minute)), EndTime: aws.Time(base.Add(2 * time.Minute)), ScanBy: types.ScanByTimestampAscending,
		MetricDataQueries: []types.MetricDataQuery{
			{Id: aws.String("sum"), MetricStat: &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("Berth/Test"), MetricName: aws.String("Latency"), Dimensions: svc}, Period: aws.Int32(60), Stat: aws.String("Sum")}},
			{Id: aws.String("max"), ReturnData: aws.Bool(false), MetricStat: &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("Berth/Test"), MetricName: aws.String("Latency"), Dimensions: svc}, Period: aws.Int32(60), Stat: aws.String("Maximum")}},
			{Id: aws.String("ratio"), Expression: aws.String("(sum - max) / 10"), Label: aws.String("rest per ten")},
		},
	})
	if err != nil {
		t.Fatalf("GetMetricData: %v", err)
	}
	if len(gmd.MetricDataResults) != 2 || aws.ToString(gmd.MetricDataResults[0].Id) != "sum" || !slices.Equal(gmd.MetricDataResults[0].Values, []float64{69}) ||
		!gmd.MetricDataResults[0].Timestamps[0].Equal(base) || gmd.MetricDataResults[0].StatusCode != types.StatusCodeComplete ||
		aws.ToString(gmd.MetricDataResults[1].Label) != "rest per ten" || !slices.Equal(gmd.MetricDataResults[1].Values, []float64{4.9}) {
		t.Errorf("GetMetricData = %+v", gmd.MetricDataResults)
	}
	_, err = cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(base), EndTime: aws.Time(base.Add(time.Minute)),
		MetricDataQueries: []types.MetricDataQuery{{Id: aws.String("e1"), Expression: aws.String("SUM(METRICS())")}},
	})
	if cwCode(err) != "ValidationError" || !strings.Contains(err.Error(), "SUM") {
		t.Errorf("GetMetricData with a math function: %v, want a ValidationError naming it", err)
	}

	// 600 metrics in one call: the SDK gzips a body this large.
	var batch []types.MetricDatum
	for i := range 600 {
		batch = append(batch, types.MetricDatum{MetricName: aws.String("Depth"), Value: aws.Float64(float64(i)),
			Dimensions: []types.Dimension{{Name: aws.String("Shard"), Value: aws.String(fmt.Sprintf("shard-%03d", i))}}})
	}
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Berth/Test"), MetricData: batch}); err != nil {
		t.Fatalf("PutMetricData of 600 metrics: %v", err)
	}
	pages, metrics := 0, 0
	p := cloudwatch.NewListMetricsPaginator(cw, &cloudwatch.ListMetricsInput{Namespace: aws.String("Berth/Test"), RecentlyActive: types.RecentlyActivePt3h})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListMetrics: %v", err)
		}
		pages, metrics = pages+1, metrics+len(page.Metrics)
	}
	if pages != 2 || metrics != 601 {
		t.Errorf("ListMetrics: %d metrics in %d pages, want 601 in 2", metrics, pages)
	}
	var listed struct{ Metrics []struct{ MetricName string } }
	b.AWSv2(t, "cloudwatch", "list-metrics", "--namespace", "Berth/Test", "--dimensions", "Name=Shard,Value=shard-042").Must(t).JSON(t, &listed)
	if len(listed.Metrics) != 1 || listed.Metrics[0].MetricName != "Depth" {
		t.Errorf("list-metrics by dimension = %+v", listed.Metrics)
	}

	// An alarm (created over awsQuery) on high-resolution data.
	b.AWSv2(t, "cloudwatch", "put-metric-alarm", "--alarm-name", "cpu-high", "--namespace", "Berth/Test", "--metric-name", "CPU",
		"--statistic", "Average", "--period", "10", "--evaluation-periods", "1", "--threshold", "50",
		"--comparison-operator", "GreaterThanThreshold", "--treat-missing-data", "notBreaching",
		"--alarm-actions", "arn:aws:sns:us-east-1:000000000000:nobody-listens", "--tags", "Key=team,Value=core").Must(t)
	_, err = cw.PutCompositeAlarm(ctx, &cloudwatch.PutCompositeAlarmInput{AlarmName: aws.String("any-high"), AlarmRule: aws.String(`ALARM("cpu-high") OR (ALARM(cpu-high) AND NOT OK(cpu-high))`)})
	if err != nil {
		t.Fatalf("PutCompositeAlarm: %v", err)
	}
	cwWaitState(t, cw, b, "cpu-high", types.AlarmTypeMetricAlarm, "OK") // no data, treated as not breaching
	b.AWS(t, "cloudwatch", "put-metric-data", "--namespace", "Berth/Test", "--metric-data", `[{"MetricName":"CPU","Value":90,"StorageResolution":1}]`).Must(t)
	cwWaitState(t, cw, b, "cpu-high", types.AlarmTypeMetricAlarm, "ALARM")
	cwWaitState(t, cw, b, "any-high", types.AlarmTypeCompositeAlarm, "ALARM")
	_, err = cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Berth/Test"),
		MetricData: []types.MetricDatum{{MetricName: aws.String("CPU"), Values: []float64{0}, Counts: []float64{20}, StorageResolution: aws.Int32(1)}}})
	if err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}
	cwWaitState(t, cw, b, "cpu-high", types.AlarmTypeMetricAlarm, "OK")
	cwWaitState(t, cw, b, "any-high", types.AlarmTypeCompositeAlarm, "OK")

	hist, err := cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("cpu-high"), ScanBy: types.ScanByTimestampAscending})
	if err != nil {
		t.Fatalf("DescribeAlarmHistory: %v", err)
	}
	var summaries []string
	for _, h := range hist.AlarmHistoryItems {
		summaries = append(summaries, string(h.HistoryItemType)+": "+aws.ToString(h.HistorySummary))
	}
	want := []string{
		`ConfigurationUpdate: Alarm "cpu-high" created`,
		"StateUpdate: Alarm updated from INSUFFICIENT_DATA to OK",
		"StateUpdate: Alarm updated from OK to ALARM",
		"Action: Failed to execute action arn:aws:sns:us-east-1:000000000000:nobody-listens",
		"StateUpdate: Alarm updated from ALARM to OK",
	}
	if !slices.Equal(summaries, want) {
		t.Errorf("history:\n%s\nwant:\n%s", strings.Join(summaries, "\n"), strings.Join(want, "\n"))
	}

	// Describe with filters, over awsQuery.
	var described struct{ MetricAlarms []cwAlarm }
	b.AWSv2(t, "cloudwatch", "describe-alarms", "--alarm-name-prefix", "cpu-", "--state-value", "OK", "--action-prefix", "arn:aws:sns:").Must(t).JSON(t, &described)
	if len(described.MetricAlarms) != 1 || described.MetricAlarms[0].AlarmName != "cpu-high" || !described.MetricAlarms[0].ActionsEnabled {
		t.Errorf("describe-alarms with filters = %+v", described.MetricAlarms)
	}
	forMetric, err := cw.DescribeAlarmsForMetric(ctx, &cloudwatch.DescribeAlarmsForMetricInput{Namespace: aws.String("Berth/Test"), MetricName: aws.String("CPU")})
	if err != nil || len(forMetric.MetricAlarms) != 1 {
		t.Errorf("DescribeAlarmsForMetric = %+v, %v", forMetric, err)
	}
	if _, err := cw.DisableAlarmActions(ctx, &cloudwatch.DisableAlarmActionsInput{AlarmNames: []string{"cpu-high"}}); err != nil {
		t.Fatalf("DisableAlarmActions: %v", err)
	}
	da, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"cpu-high"}})
	if err != nil || len(da.MetricAlarms) != 1 || aws.ToBool(da.MetricAlarms[0].ActionsEnabled) {
		t.Errorf("after DisableAlarmActions: %+v, %v", da, err)
	}
	tags, err := cw.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: da.MetricAlarms[0].AlarmArn})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "team" {
		t.Errorf("ListTagsForResource = %+v, %v", tags, err)
	}

	// SetAlarmState holds until the next evaluation.
	_, err = cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("quiet"), Namespace: aws.String("Berth/Test"), MetricName: aws.String("Silent"),
		Statistic: types.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold})
	if err != nil {
		t.Fatalf("PutMetricAlarm: %v", err)
	}
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("quiet"), StateValue: types.StateValueAlarm, StateReason: aws.String("drill")}); err != nil {
		t.Fatalf("SetAlarmState: %v", err)
	}
	cwWaitState(t, cw, b, "quiet", types.AlarmTypeMetricAlarm, "INSUFFICIENT_DATA")
	hist, err = cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("quiet"), HistoryItemType: types.HistoryItemTypeStateUpdate})
	if err != nil {
		t.Fatalf("DescribeAlarmHistory: %v", err)
	}
	if len(hist.AlarmHistoryItems) != 2 || aws.ToString(hist.AlarmHistoryItems[1].HistorySummary) != "Alarm updated from INSUFFICIENT_DATA to ALARM" ||
		!strings.Contains(aws.ToString(hist.AlarmHistoryItems[1].HistoryData), `"stateReason":"drill"`) {
		t.Errorf("history of the drill (newest first) = %+v", hist.AlarmHistoryItems)
	}

	// Errors, on each wire.
	_, err = cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("no-such-alarm"), StateValue: types.StateValueOk, StateReason: aws.String("x")})
	var notFound *types.ResourceNotFound
	if !errors.As(err, &notFound) || cwCode(err) != "ResourceNotFound" {
		t.Errorf("SetAlarmState of a missing alarm: %v, want ResourceNotFound", err)
	}
	_, err = cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Berth/Test"), MetricName: aws.String("Latency"),
		StartTime: aws.Time(base), EndTime: aws.Time(base.Add(time.Minute)), Period: aws.Int32(7), Statistics: []types.Statistic{types.StatisticSum}})
	var badValue *types.InvalidParameterValueException
	if !errors.As(err, &badValue) || cwCode(err) != "InvalidParameterValue" {
		t.Errorf("GetMetricStatistics with period 7: %v, want InvalidParameterValue", err)
	}
	if r := b.AWSv2(t, "cloudwatch", "put-metric-data", "--namespace", "AWS/EC2", "--metric-name", "CPUUtilization", "--value", "1"); r.ErrorCode() != "InvalidParameterValue" {
		t.Errorf("put-metric-data to AWS/EC2 (query): exit %d, %s", r.ExitCode, r.Stderr)
	}
	if r := b.AWS(t, "cloudwatch", "put-metric-data", "--namespace", "AWS/EC2", "--metric-name", "CPUUtilization", "--value", "1"); r.ErrorCode() != "InvalidParameterValue" {
		t.Errorf("put-metric-data to AWS/EC2 (awsJson): exit %d, %s", r.ExitCode, r.Stderr)
	}
	if r := b.AWS(t, "cloudwatch", "put-metric-data", "--namespace", "Berth/Test", "--metric-data", `[{"MetricName":"NoValue"}]`); r.ErrorCode() != "MissingParameter" {
		t.Errorf("put-metric-data without a value: exit %d, %s", r.ExitCode, r.Stderr)
	}
	if r := b.AWSv2(t, "cloudwatch", "set-alarm-state", "--alarm-name", "no-such-alarm", "--state-value", "OK", "--state-reason", "x"); r.ErrorCode() != "ResourceNotFound" {
		t.Errorf("set-alarm-state of a missing alarm (query): exit %d, %s", r.ExitCode, r.Stderr)
	}
	if r := b.AWSv2(t, "cloudwatch", "delete-alarms", "--alarm-names", "quiet", "cpu-high", "any-high"); r.ExitCode != 0 {
		t.Errorf("delete-alarms: %s", r.Stderr)
	}
	left, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmTypes: []types.AlarmType{types.AlarmTypeMetricAlarm, types.AlarmTypeCompositeAlarm}})
	if err != nil || len(left.MetricAlarms)+len(left.CompositeAlarms) != 0 {
		t.Errorf("alarms left after delete-alarms: %+v, %v", left, err)
	}
}

// cloudWatchTerraformConfig is a metric alarm as Terraform users write it,
// with every commonly set argument, and a composite alarm over it.
const cloudWatchTerraformConfig = `
resource "aws_cloudwatch_metric_alarm" "cpu" {
  alarm_name          = "tf-cpu-high"
  alarm_description   = "CPU above 80% for 2 of 3 minutes"
  namespace           = "Berth/TF"
  metric_name         = "CPU"
  dimensions          = { Service = "web" }
  statistic           = "Average"
  period              = 60
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = 80
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "breaching"
  unit                = "Percent"
  alarm_actions       = ["arn:aws:sns:us-east-1:000000000000:ops"]
  ok_actions          = ["arn:aws:sns:us-east-1:000000000000:ops"]
  tags                = { team = "web" }
}

resource "aws_cloudwatch_metric_alarm" "p99" {
  alarm_name          = "tf-latency-p99"
  namespace           = "Berth/TF"
  metric_name         = "Latency"
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0.5
  comparison_operator = "GreaterThanOrEqualToThreshold"
  actions_enabled     = false
}

resource "aws_cloudwatch_composite_alarm" "any" {
  alarm_name = "tf-any"
  alarm_rule = "ALARM(${aws_cloudwatch_metric_alarm.cpu.alarm_name}) OR ALARM(${aws_cloudwatch_metric_alarm.p99.alarm_name})"
}

output "cpu_arn" { value = aws_cloudwatch_metric_alarm.cpu.arn }
`

// TestCloudWatchTerraform applies CloudWatch alarms with Terraform's AWS
// provider, plans no drift, sees the alarms evaluated and destroys them.
func TestCloudWatchTerraform(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithEnv("BERTH_CLOUDWATCH_INTERVAL=1s"))
	tf := startTerraform(t, b, cloudWatchTerraformConfig)
	tf.Apply(t)
	tf.NoDrift(t)
	cw := cloudwatch.NewFromConfig(b.SDKConfig(context.Background()))
	if arn := tf.Output(t, "cpu_arn"); !strings.HasSuffix(arn, ":alarm:tf-cpu-high") {
		t.Errorf("alarm ARN = %q", arn)
	}
	// With no data, missing data treated as breaching puts it in ALARM,
	// and the composite alarm follows.
	cwWaitState(t, cw, b, "tf-cpu-high", types.AlarmTypeMetricAlarm, "ALARM")
	cwWaitState(t, cw, b, "tf-any", types.AlarmTypeCompositeAlarm, "ALARM")
	tf.Destroy(t)
	left, err := cw.DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{AlarmTypes: []types.AlarmType{types.AlarmTypeMetricAlarm, types.AlarmTypeCompositeAlarm}})
	if err != nil || len(left.MetricAlarms)+len(left.CompositeAlarms) != 0 {
		t.Errorf("alarms left after destroy: %+v, %v", left, err)
	}
}
