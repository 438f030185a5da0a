package cloudwatch

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	cwapi "github.com/berth-dev/berth/api/cloudwatch"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/store/sqlite"
)

func vals(vs ...any) []*float64 {
	out := make([]*float64, len(vs))
	for i, v := range vs {
		if f, ok := v.(float64); ok {
			out[i] = &f
		}
	}
	return out
}

func TestDecide(t *testing.T) {
	const x, o = 100.0, 1.0 // breaching and not breaching, threshold 50
	tests := []struct {
		name    string
		vals    []*float64
		m       int
		treat   string
		current string
		want    string
	}{
		{"all breaching", vals(x, x, x), 3, "", "OK", "ALARM"},
		{"one short of N", vals(x, x, o), 3, "", "OK", "OK"},
		{"M of N", vals(x, o, x), 2, "", "OK", "ALARM"},
		{"M of N not met", vals(x, o, o), 2, "", "ALARM", "OK"},
		{"missing, all missing", vals(nil, nil, nil), 2, "missing", "OK", "INSUFFICIENT_DATA"},
		{"default is missing", vals(nil, nil), 1, "", "ALARM", "INSUFFICIENT_DATA"},
		{"missing, some present", vals(nil, x, nil), 1, "missing", "OK", "ALARM"},
		{"missing, present not breaching", vals(nil, o, nil), 1, "missing", "ALARM", "OK"},
		{"breaching fills gaps", vals(x, nil, nil), 3, "breaching", "OK", "ALARM"},
		{"breaching, all missing", vals(nil, nil), 2, "breaching", "OK", "ALARM"},
		{"breaching, present not", vals(o, nil), 2, "breaching", "OK", "OK"},
		{"notBreaching, all missing", vals(nil, nil), 1, "notBreaching", "ALARM", "OK"},
		{"notBreaching, gaps", vals(x, nil, x), 3, "notBreaching", "OK", "OK"},
		{"notBreaching, enough", vals(x, nil, x), 2, "notBreaching", "OK", "ALARM"},
		{"ignore keeps ALARM", vals(nil, nil), 1, "ignore", "ALARM", "ALARM"},
		{"ignore keeps OK", vals(nil, nil), 1, "ignore", "OK", "OK"},
		{"ignore with data", vals(nil, x), 1, "ignore", "OK", "ALARM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decide(tt.vals, tt.m, func(v float64) bool { return v > 50 }, tt.treat, tt.current)
			if got != tt.want {
				t.Errorf("decide = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestBreaches(t *testing.T) {
	for _, tt := range []struct {
		cmp  string
		v    float64
		want bool
	}{
		{"GreaterThanThreshold", 10, false}, {"GreaterThanThreshold", 11, true},
		{"GreaterThanOrEqualToThreshold", 10, true}, {"LessThanThreshold", 10, false},
		{"LessThanThreshold", 9, true}, {"LessThanOrEqualToThreshold", 10, true},
		{"LessThanLowerOrGreaterThanUpperThreshold", 1e9, false},
	} {
		if got := breaches(tt.cmp, tt.v, 10); got != tt.want {
			t.Errorf("breaches(%s, %v, 10) = %v", tt.cmp, tt.v, got)
		}
	}
}

func TestRule(t *testing.T) {
	states := map[string]string{"a": "ALARM", "b": "OK", "c d": "INSUFFICIENT_DATA"}
	for _, tt := range []struct {
		rule        string
		value, know bool
	}{
		{"ALARM(a)", true, true},
		{"ALARM(a) AND OK(b)", true, true},
		{`ALARM(a) AND NOT OK("b")`, false, true},
		{`OK(b) AND (ALARM(b) OR INSUFFICIENT_DATA("c d"))`, true, true},
		{"ALARM(arn:aws:cloudwatch:us-east-1:000000000000:alarm:a)", true, true},
		{"TRUE AND NOT FALSE", true, true},
		{"ALARM(missing) OR ALARM(a)", true, false},
	} {
		r, err := parseRule(tt.rule)
		if err != nil {
			t.Fatalf("parseRule(%q): %v", tt.rule, err)
		}
		v, known := r.eval(states)
		if v != tt.value || known != tt.know {
			t.Errorf("%q = %v, %v; want %v, %v", tt.rule, v, known, tt.value, tt.know)
		}
	}
	for _, bad := range []string{"", "ALARM(a", "ALARM(a) AND", "ALARMS(a)", "ALARM()", "OK(a) XOR OK(b)"} {
		if _, err := parseRule(bad); err == nil {
			t.Errorf("parseRule(%q) succeeded", bad)
		}
	}
}

// TestEvaluatePeriods drives a metric alarm through the evaluation of
// stored datapoints with a fixed clock.
func TestEvaluatePeriods(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 5, 1, 12, 0, 35, 0, time.UTC)
	s, err := New(Options{Store: st, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: "000000000000", Region: "us-east-1"})
	put := func(at time.Time, v float64) {
		t.Helper()
		if err := s.PutMetrics(ctx, "000000000000", "us-east-1", "Test", []Datum{{MetricName: "M", Value: v, Timestamp: at}}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.PutMetricAlarm(ctx, &cwapi.PutMetricAlarmInput{
		AlarmName: ptr("a"), Namespace: ptr("Test"), MetricName: ptr("M"), Statistic: ptr(cwapi.StatisticMaximum),
		Period: ptr(int32(60)), EvaluationPeriods: ptr(int32(3)), DatapointsToAlarm: ptr(int32(2)),
		Threshold: ptr(10.0), ComparisonOperator: ptr(cwapi.ComparisonOperatorGreaterThanThreshold),
	})
	if err != nil {
		t.Fatal(err)
	}
	state := func() string {
		t.Helper()
		s.EvaluateAll(ctx)
		m, err := s.AlarmStates(ctx, "000000000000", "us-east-1", []string{"a", "none"})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m["none"]; ok {
			t.Fatal("AlarmStates reports a missing alarm")
		}
		return m["a"]
	}
	if got := state(); got != "INSUFFICIENT_DATA" {
		t.Fatalf("no data: %s", got)
	}
	put(now.Add(-2*time.Minute), 20) // 11:58, breaching
	if got := state(); got != "OK" {
		t.Fatalf("1 of 3 breaching: %s", got)
	}
	put(now.Add(-time.Minute), 5) // 11:59, not breaching
	put(now, 30)                  // 12:00, the period in progress
	if got := state(); got != "ALARM" {
		t.Fatalf("2 of 3 breaching: %s", got)
	}
	now = now.Add(4 * time.Minute) // 12:04: every period missing
	if got := state(); got != "INSUFFICIENT_DATA" {
		t.Fatalf("all missing: %s", got)
	}
}

// TestRetention trims datapoints and metrics older than Retention.
func TestRetention(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	s, err := New(Options{Store: st, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: "000000000000", Region: "us-east-1"})
	if err := s.PutMetrics(ctx, "000000000000", "us-east-1", "AWS/Test", []Datum{{MetricName: "M", Value: 1, Dimensions: map[string]string{"k": "v"}}}); err != nil {
		t.Fatal(err)
	}
	count := func() (points, metrics int) {
		t.Helper()
		err := st.View(ctx, func(tx store.Tx) error {
			p, _, err := store.AllDocs[bucket](tx, KindPoints, "000000000000", "us-east-1", "", store.Page{})
			m, _, err2 := store.AllDocs[metricRecord](tx, KindMetric, "000000000000", "us-east-1", "", store.Page{})
			points, metrics = len(p), len(m)
			return errors.Join(err, err2)
		})
		if err != nil {
			t.Fatal(err)
		}
		return points, metrics
	}
	s.EvaluateAll(ctx)
	if p, m := count(); p != 1 || m != 1 {
		t.Fatalf("fresh data trimmed: %d buckets, %d metrics", p, m)
	}
	now = now.Add(Retention + time.Hour)
	s.EvaluateAll(ctx)
	if p, m := count(); p != 0 || m != 0 {
		t.Errorf("after retention: %d buckets, %d metrics left", p, m)
	}
}

func TestMath(t *testing.T) {
	env := map[string]map[int64]float64{"a": {1: 10, 2: 20, 3: 30}, "b": {1: 2, 2: 0}}
	for expr, want := range map[string]map[int64]float64{
		"a / b":           {1: 5}, // 2 has b = 0, 3 has no b
		"(a + b) * 2":     {1: 24, 2: 40},
		"a - -1":          {1: 11, 2: 21, 3: 31},
		"100 * a / 10":    {1: 100, 2: 200, 3: 300},
		"a*b + a_b2 * 0 ": nil, // a_b2 is missing: no points
	} {
		n, err := parseMath(expr)
		if err != nil {
			t.Fatalf("parseMath(%q): %v", expr, err)
		}
		got := n.eval(env)
		if len(got.series) != len(want) {
			t.Errorf("%q = %v, want %v", expr, got.series, want)
			continue
		}
		for k, v := range want {
			if got.series[k] != v {
				t.Errorf("%q = %v, want %v", expr, got.series, want)
			}
		}
	}
	for _, bad := range []string{"SUM(METRICS())", "a +", "(a", "a $ b", "FILL(a, 0)"} {
		if _, err := parseMath(bad); err == nil {
			t.Errorf("parseMath(%q) succeeded", bad)
		}
	}
}

// TestMathAlarm evaluates an alarm on a metric math expression.
func TestMathAlarm(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 5, 1, 12, 0, 30, 0, time.UTC)
	s, err := New(Options{Store: st, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: "000000000000", Region: "us-east-1"})
	metric := func(name string) *cwapi.MetricStat {
		return &cwapi.MetricStat{Metric: &cwapi.Metric{Namespace: ptr("App"), MetricName: ptr(name)}, Period: ptr(int32(60)), Stat: ptr("Sum")}
	}
	_, err = s.PutMetricAlarm(ctx, &cwapi.PutMetricAlarmInput{
		AlarmName: ptr("error-rate"), EvaluationPeriods: ptr(int32(1)), Threshold: ptr(5.0),
		ComparisonOperator: ptr(cwapi.ComparisonOperatorGreaterThanThreshold),
		Metrics: []cwapi.MetricDataQuery{
			{Id: ptr("errors"), MetricStat: metric("Errors"), ReturnData: ptr(false)},
			{Id: ptr("requests"), MetricStat: metric("Requests"), ReturnData: ptr(false)},
			{Id: ptr("rate"), Expression: ptr("100 * errors / requests")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	put := func(name string, v float64) {
		t.Helper()
		if err := s.PutMetrics(ctx, "000000000000", "us-east-1", "App", []Datum{{MetricName: name, Value: v, Timestamp: now}}); err != nil {
			t.Fatal(err)
		}
	}
	put("Requests", 200)
	put("Errors", 4) // 2%
	s.EvaluateAll(ctx)
	if st, _ := s.AlarmStates(ctx, "000000000000", "us-east-1", []string{"error-rate"}); st["error-rate"] != "OK" {
		t.Fatalf("2%% errors: %v", st)
	}
	put("Errors", 16) // 10%
	s.EvaluateAll(ctx)
	if st, _ := s.AlarmStates(ctx, "000000000000", "us-east-1", []string{"error-rate"}); st["error-rate"] != "ALARM" {
		t.Fatalf("10%% errors: %v", st)
	}
	if _, err := s.PutMetricAlarm(ctx, &cwapi.PutMetricAlarmInput{AlarmName: ptr("bad"), EvaluationPeriods: ptr(int32(1)), Threshold: ptr(1.0),
		ComparisonOperator: ptr(cwapi.ComparisonOperatorGreaterThanThreshold),
		Metrics:            []cwapi.MetricDataQuery{{Id: ptr("e"), Expression: ptr("ANOMALY_DETECTION_BAND(m)")}}}); err == nil {
		t.Error("an alarm on an unsupported expression was accepted")
	}
}

type invocation struct {
	arn    string
	change AlarmChange
}

type invocations []invocation

func (v *invocations) InvokeAlarmAction(_ context.Context, _, _, arn string, c AlarmChange) error {
	*v = append(*v, invocation{arn, c})
	return nil
}

// TestAutoScalingActionsRepeat: an alarm that stays in ALARM invokes its
// Auto Scaling actions again each period, and its other actions only on
// the transition.
func TestAutoScalingActionsRepeat(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 5, 1, 12, 0, 30, 0, time.UTC)
	s, err := New(Options{Store: st, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	var got invocations
	s.SetActionInvoker(&got)
	ctx := awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: "000000000000", Region: "us-east-1"})
	const policy = "arn:aws:autoscaling:us-east-1:000000000000:scalingPolicy:1a2b:resource/ecs/service/c/web:policyName/out"
	const topic = "arn:aws:sns:us-east-1:000000000000:ops"
	if _, err := s.PutMetricAlarm(ctx, &cwapi.PutMetricAlarmInput{
		AlarmName: ptr("cpu-high"), Namespace: ptr("App"), MetricName: ptr("CPU"), Statistic: ptr(cwapi.StatisticAverage),
		Period: ptr(int32(60)), EvaluationPeriods: ptr(int32(1)), Threshold: ptr(50.0),
		ComparisonOperator: ptr(cwapi.ComparisonOperatorGreaterThanThreshold),
		TreatMissingData:   ptr("breaching"), AlarmActions: []string{policy, topic},
	}); err != nil {
		t.Fatal(err)
	}
	s.EvaluateAll(ctx) // missing data treated as breaching: OK... -> ALARM, both actions
	if len(got) != 2 {
		t.Fatalf("on the transition: %d invocations, want 2 (%+v)", len(got), got)
	}
	now = now.Add(30 * time.Second)
	s.EvaluateAll(ctx)
	if len(got) != 2 {
		t.Fatalf("within the period: %d invocations, want 2", len(got))
	}
	now = now.Add(31 * time.Second)
	s.EvaluateAll(ctx)
	if len(got) != 3 || got[2].arn != policy || got[2].change.NewState != "ALARM" || got[2].change.OldState != "ALARM" {
		t.Fatalf("a period later: %+v, want one more ALARM->ALARM invocation of the scaling policy", got)
	}
}
