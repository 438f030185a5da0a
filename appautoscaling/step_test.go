package appautoscaling

import (
	"context"
	"strings"
	"testing"
	"time"

	aasapi "github.com/berth-dev/berth/api/applicationautoscaling"
)

func f64(v float64) *float64 { return &v }

func TestStepAdjust(t *testing.T) {
	for _, c := range []struct {
		typ                     aasapi.AdjustmentType
		current, adj, magnitude int32
		want                    int32
	}{
		{aasapi.AdjustmentTypeChangeInCapacity, 3, 2, 0, 5},
		{aasapi.AdjustmentTypeChangeInCapacity, 3, -5, 0, 0},
		{aasapi.AdjustmentTypeExactCapacity, 3, 7, 0, 7},
		{aasapi.AdjustmentTypePercentChangeInCapacity, 10, 25, 0, 12}, // 2.5 → 2
		{aasapi.AdjustmentTypePercentChangeInCapacity, 2, 25, 0, 3},   // 0.5 → 1
		{aasapi.AdjustmentTypePercentChangeInCapacity, 2, -25, 0, 1},  // -0.5 → -1
		{aasapi.AdjustmentTypePercentChangeInCapacity, 10, -15, 0, 9}, // -1.5 → -1
		{aasapi.AdjustmentTypePercentChangeInCapacity, 10, 10, 3, 13}, // 1 < 3 → 3
		{aasapi.AdjustmentTypePercentChangeInCapacity, 10, -10, 3, 7}, // -1 → -3
		{aasapi.AdjustmentTypePercentChangeInCapacity, 10, 50, 3, 15}, // 5 ≥ 3
	} {
		if got := stepAdjust(c.typ, c.current, c.adj, c.magnitude); got != c.want {
			t.Errorf("%s %d%+d (min %d) = %d, want %d", c.typ, c.current, c.adj, c.magnitude, got, c.want)
		}
	}
}

func TestStepFor(t *testing.T) {
	// Threshold 50: [50,60) +1, [60,∞) +3; (40,50] -1, (-∞,40] -2.
	steps := []aasapi.StepAdjustment{
		{MetricIntervalLowerBound: f64(0), MetricIntervalUpperBound: f64(10), ScalingAdjustment: ptr(int32(1))},
		{MetricIntervalLowerBound: f64(10), ScalingAdjustment: ptr(int32(3))},
		{MetricIntervalLowerBound: f64(-10), MetricIntervalUpperBound: f64(0), ScalingAdjustment: ptr(int32(-1))},
		{MetricIntervalUpperBound: f64(-10), ScalingAdjustment: ptr(int32(-2))},
	}
	for breach, want := range map[float64]int32{0: 1, 9.9: 1, 10: 3, 500: 3, -0.1: -1, -10: -2, -9.99: -1, -100: -2} {
		got := stepFor(steps, breach)
		if got == nil || deref(got.ScalingAdjustment) != want {
			t.Errorf("breach %g: %+v, want %d", breach, got, want)
		}
	}
	if got := stepFor(steps[:1], 20); got != nil {
		t.Errorf("uncovered breach matched %+v", got)
	}
	if v, _ := aggregate([]float64{90, 10, 50}, ""); v != 50 {
		t.Errorf("average %g", v)
	}
	if v, _ := aggregate([]float64{90, 10, 50}, aasapi.MetricAggregationTypeMaximum); v != 90 {
		t.Errorf("maximum %g", v)
	}
	if _, ok := aggregate(nil, ""); ok {
		t.Error("no datapoints aggregated")
	}
}

func TestCheckSteps(t *testing.T) {
	cfg := func(steps ...aasapi.StepAdjustment) *aasapi.StepScalingPolicyConfiguration {
		return &aasapi.StepScalingPolicyConfiguration{AdjustmentType: ptr(aasapi.AdjustmentTypeChangeInCapacity), StepAdjustments: steps}
	}
	one := ptr(int32(1))
	for name, c := range map[string]*aasapi.StepScalingPolicyConfiguration{
		"both null": cfg(aasapi.StepAdjustment{ScalingAdjustment: one}),
		"gap":       cfg(aasapi.StepAdjustment{MetricIntervalLowerBound: f64(0), MetricIntervalUpperBound: f64(10), ScalingAdjustment: one}, aasapi.StepAdjustment{MetricIntervalLowerBound: f64(20), ScalingAdjustment: one}),
		"overlap":   cfg(aasapi.StepAdjustment{MetricIntervalLowerBound: f64(0), MetricIntervalUpperBound: f64(10), ScalingAdjustment: one}, aasapi.StepAdjustment{MetricIntervalLowerBound: f64(5), ScalingAdjustment: one}),
		"open top":  cfg(aasapi.StepAdjustment{MetricIntervalLowerBound: f64(0), MetricIntervalUpperBound: f64(10), ScalingAdjustment: one}),
		"no amount": cfg(aasapi.StepAdjustment{MetricIntervalLowerBound: f64(0)}),
		"magnitude": {AdjustmentType: ptr(aasapi.AdjustmentTypeChangeInCapacity), MinAdjustmentMagnitude: one, StepAdjustments: []aasapi.StepAdjustment{{MetricIntervalLowerBound: f64(0), ScalingAdjustment: one}}},
	} {
		if err := checkSteps(c); code(err) != "ValidationException" {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := checkSteps(cfg(aasapi.StepAdjustment{MetricIntervalLowerBound: f64(0), ScalingAdjustment: one},
		aasapi.StepAdjustment{MetricIntervalUpperBound: f64(0), ScalingAdjustment: ptr(int32(-1))})); err != nil {
		t.Errorf("valid steps: %v", err)
	}
}

// An alarm action runs a step policy: the breach picks the step, the
// result is clamped to the target's range, cooldowns hold further
// scale-outs unless larger, and every scaling is an activity.
func TestInvokeAlarmAction(t *testing.T) {
	s, ecs, _, now := newTestService(t)
	ctx := context.Background()
	if err := register(s, "service/c/web", 1, 6); err != nil {
		t.Fatal(err)
	}
	out, err := s.PutScalingPolicy(ctx, &aasapi.PutScalingPolicyInput{PolicyName: ptr("out"), ServiceNamespace: ecsNS, ResourceId: ptr("service/c/web"),
		ScalableDimension: ecsDim, PolicyType: ptr(aasapi.PolicyTypeStepScaling),
		StepScalingPolicyConfiguration: &aasapi.StepScalingPolicyConfiguration{AdjustmentType: ptr(aasapi.AdjustmentTypeChangeInCapacity), Cooldown: ptr(int32(60)),
			StepAdjustments: []aasapi.StepAdjustment{
				{MetricIntervalLowerBound: f64(0), MetricIntervalUpperBound: f64(20), ScalingAdjustment: ptr(int32(1))},
				{MetricIntervalLowerBound: f64(20), ScalingAdjustment: ptr(int32(3))},
			}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := deref(out.PolicyARN)
	if !IsPolicyARN(arn) {
		t.Fatalf("not a policy ARN: %s", arn)
	}
	alarm := func(state string, values ...float64) error {
		return s.InvokeAlarmAction(ctx, "000000000000", "us-east-1", arn, AlarmChange{AlarmName: "cpu-high", NewState: state, Threshold: 70, Values: values})
	}
	desired := func() int32 { ecs.mu.Lock(); defer ecs.mu.Unlock(); return ecs.desired["web"] }

	if err := alarm("OK", 95); err != nil || desired() != 1 {
		t.Fatalf("OK scaled: %v %d", err, desired())
	}
	if err := alarm("ALARM", 80, 75); err != nil || desired() != 2 {
		t.Fatalf("small breach: %v %d", err, desired())
	}
	// Within the cooldown, the same step again adds nothing (it counts
	// from the capacity before the last scale-out); a larger one does.
	*now = now.Add(10 * time.Second)
	if err := alarm("ALARM", 80); err != nil || desired() != 2 {
		t.Fatalf("same step in cooldown: %v %d", err, desired())
	}
	if err := alarm("ALARM", 99); err != nil || desired() != 4 {
		t.Fatalf("larger step in cooldown: %v %d", err, desired())
	}
	*now = now.Add(2 * time.Minute)
	if err := alarm("ALARM", 99); err != nil || desired() != 6 {
		t.Fatalf("clamped to max: %v %d", err, desired())
	}
	*now = now.Add(2 * time.Minute)
	if err := alarm("ALARM", 99); err != nil || desired() != 6 {
		t.Fatalf("past max: %v %d", err, desired())
	}
	acts, err := s.DescribeScalingActivities(ctx, &aasapi.DescribeScalingActivitiesInput{ServiceNamespace: ecsNS, IncludeNotScaledActivities: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(acts.ScalingActivities) != 4 {
		t.Fatalf("activities: %+v", acts.ScalingActivities)
	}
	top, last := acts.ScalingActivities[0], acts.ScalingActivities[1]
	if len(top.NotScaledReasons) != 1 || deref(top.NotScaledReasons[0].Code) != "AlreadyAtMaxCapacity" ||
		deref(last.Description) != "Setting desired count to 6." || !strings.Contains(deref(last.Cause), "monitor alarm cpu-high in state ALARM triggered policy out") {
		t.Fatalf("activities: %+v", acts.ScalingActivities[:2])
	}
	if err := s.InvokeAlarmAction(ctx, "000000000000", "us-east-1", arn+"x", AlarmChange{NewState: "ALARM", Values: []float64{1}}); err == nil {
		t.Fatal("unknown policy ran")
	}
}

type fakeAlarms struct {
	alarms map[string]Alarm
}

func (f *fakeAlarms) PutAlarm(_ context.Context, _, _ string, a Alarm) error {
	f.alarms[a.Name] = a
	return nil
}

func (f *fakeAlarms) DeleteAlarms(_ context.Context, _, _ string, names []string) error {
	for _, n := range names {
		delete(f.alarms, n)
	}
	return nil
}

// A target tracking policy's AlarmHigh and AlarmLow alarms are created
// with it (AlarmLow not with DisableScaleIn), act on the policy, and go
// with it, and with its target.
func TestTargetTrackingAlarms(t *testing.T) {
	s, _, _, _ := newTestService(t)
	cw := &fakeAlarms{alarms: map[string]Alarm{}}
	s.SetAlarms(cw)
	ctx := context.Background()
	if err := register(s, "service/c/web", 1, 6); err != nil {
		t.Fatal(err)
	}
	put := func(disableIn bool) *aasapi.PutScalingPolicyOutput {
		out, err := s.PutScalingPolicy(ctx, &aasapi.PutScalingPolicyInput{PolicyName: ptr("cpu"), ServiceNamespace: ecsNS, ResourceId: ptr("service/c/web"),
			ScalableDimension: ecsDim, PolicyType: ptr(aasapi.PolicyTypeTargetTrackingScaling),
			TargetTrackingScalingPolicyConfiguration: &aasapi.TargetTrackingScalingPolicyConfiguration{TargetValue: ptr(50.0), DisableScaleIn: ptr(disableIn),
				PredefinedMetricSpecification: &aasapi.PredefinedMetricSpecification{PredefinedMetricType: ptr(aasapi.MetricTypeECSServiceAverageCPUUtilization)}}})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	out := put(false)
	high, low := cw.alarms[deref(out.Alarms[0].AlarmName)], cw.alarms[deref(out.Alarms[1].AlarmName)]
	if high.Namespace != "AWS/ECS" || high.MetricName != "CPUUtilization" || high.Dimensions["ServiceName"] != "web" || high.Threshold != 50 ||
		high.Comparison != "GreaterThanThreshold" || high.Evaluations != 3 || len(high.Actions) != 1 || high.Actions[0] != deref(out.PolicyARN) ||
		low.Threshold != 45 || low.Comparison != "LessThanThreshold" || low.Evaluations != 15 {
		t.Fatalf("alarms: %+v", cw.alarms)
	}
	put(true)
	if _, ok := cw.alarms[low.Name]; ok || len(cw.alarms) != 1 {
		t.Fatalf("AlarmLow kept with DisableScaleIn: %+v", cw.alarms)
	}
	// Its own alarm's action does not scale (the controller does).
	if err := s.InvokeAlarmAction(ctx, "000000000000", "us-east-1", deref(out.PolicyARN), AlarmChange{NewState: "ALARM", Threshold: 50, Values: []float64{99}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteScalingPolicy(ctx, &aasapi.DeleteScalingPolicyInput{PolicyName: ptr("cpu"), ServiceNamespace: ecsNS, ResourceId: ptr("service/c/web"), ScalableDimension: ecsDim}); err != nil {
		t.Fatal(err)
	}
	if len(cw.alarms) != 0 {
		t.Fatalf("alarms left after delete: %+v", cw.alarms)
	}
	put(false)
	if _, err := s.DeregisterScalableTarget(ctx, &aasapi.DeregisterScalableTargetInput{ServiceNamespace: ecsNS, ResourceId: ptr("service/c/web"), ScalableDimension: ecsDim}); err != nil {
		t.Fatal(err)
	}
	if len(cw.alarms) != 0 {
		t.Fatalf("alarms left after deregister: %+v", cw.alarms)
	}
}
