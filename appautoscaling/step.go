package appautoscaling

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	aasapi "github.com/berth-dev/berth/api/applicationautoscaling"
	"github.com/berth-dev/berth/store"
)

// Step scaling: a StepScaling policy acts when a CloudWatch alarm whose
// action is the policy's ARN changes to ALARM. CloudWatch calls
// InvokeAlarmAction with the change; the policy's step adjustment for the
// breach (the aggregated metric value minus the alarm's threshold) says
// how the desired count changes, and the change goes through ECS's
// UpdateService like target tracking's.

// AlarmChange is an alarm's state change as CloudWatch hands it to an
// alarm action (cloudwatch.AlarmChange's fields).
type AlarmChange struct {
	AlarmName, AlarmARN, OldState, NewState, Reason string
	Threshold                                       float64
	// Values are the datapoints the alarm evaluated, newest first.
	Values    []float64
	Timestamp time.Time
}

// IsPolicyARN says whether an alarm action names an Application Auto
// Scaling policy (then InvokeAlarmAction is the one to run it).
func IsPolicyARN(arn string) bool {
	return strings.HasPrefix(arn, "arn:aws:autoscaling:") && strings.Contains(arn, ":scalingPolicy:") && strings.Contains(arn, ":resource/")
}

// InvokeAlarmAction runs the StepScaling policy actionARN for an alarm
// that changed state. Only a change to ALARM scales: an action is attached
// to the state it runs for, and Application Auto Scaling policies are
// attached to ALARM.
func (s *Service) InvokeAlarmAction(ctx context.Context, account, region, actionARN string, change AlarmChange) error {
	if change.NewState != "ALARM" {
		return nil
	}
	c := caller{Account: account, Region: region}
	s.evalMu.Lock()
	defer s.evalMu.Unlock()
	var p *policyRecord
	var t *targetRecord
	err := s.st.View(ctx, func(tx store.Tx) error {
		var key string
		err := store.ListDocs(tx, KindPolicy, c.Account, c.Region, "", "", func(id string, r *policyRecord) (bool, error) {
			if deref(r.Policy.PolicyARN) == actionARN {
				p, key = r, id
				return false, nil
			}
			return true, nil
		})
		if err != nil || p == nil {
			return err
		}
		t, err = loadTarget(tx, c, strings.TrimSuffix(key, "|"+deref(p.Policy.PolicyName)))
		return err
	})
	if err != nil {
		return err
	}
	if p == nil || t == nil {
		return fmt.Errorf("no scaling policy %s", actionARN)
	}
	sc := p.Policy.StepScalingPolicyConfiguration
	if deref(p.Policy.PolicyType) != aasapi.PolicyTypeStepScaling || sc == nil || t.Namespace != string(aasapi.ServiceNamespaceEcs) {
		// A target tracking policy's alarms are its own business, and
		// other namespaces' targets are only stored.
		return nil
	}
	svc, err := s.ecsService(ctx, c, t.ResourceID)
	if err != nil || svc == nil {
		return err
	}
	current := deref(svc.DesiredCount)
	value, ok := aggregate(change.Values, deref(sc.MetricAggregationType))
	if !ok {
		return fmt.Errorf("alarm %s changed to ALARM without datapoints", change.AlarmName)
	}
	step := stepFor(sc.StepAdjustments, value-change.Threshold)
	if step == nil {
		return nil // no step covers the breach: nothing to do
	}
	now := s.clock()
	cooldown := time.Duration(defaultCooldown) * time.Second
	if sc.Cooldown != nil {
		cooldown = time.Duration(*sc.Cooldown) * time.Second
	}
	base := current
	inOutCooldown := !t.LastScaleOut.IsZero() && now.Sub(t.LastScaleOut) < cooldown
	if inOutCooldown && stepAdjust(deref(sc.AdjustmentType), current, deref(step.ScalingAdjustment), deref(sc.MinAdjustmentMagnitude)) > current {
		// While a scale-out's cooldown lasts, the capacity it added
		// counts towards the next one: only a larger scale-out goes on.
		base = t.ScaleOutFrom
	}
	want := stepAdjust(deref(sc.AdjustmentType), base, deref(step.ScalingAdjustment), deref(sc.MinAdjustmentMagnitude))
	want = min(max(want, t.Min), t.Max)
	a := activity{
		cause:   fmt.Sprintf("monitor alarm %s in state ALARM triggered policy %s", change.AlarmName, deref(p.Policy.PolicyName)),
		details: fmt.Sprintf("The %s of the alarm's datapoints was %g against a threshold of %g.", aggName(deref(sc.MetricAggregationType)), value, change.Threshold),
		base:    &base,
	}
	switch {
	case want == current:
		raw := stepAdjust(deref(sc.AdjustmentType), base, deref(step.ScalingAdjustment), deref(sc.MinAdjustmentMagnitude))
		switch {
		case raw > current && current >= t.Max:
			return s.notScaled(ctx, c, t, "AlreadyAtMaxCapacity", "max", current, a, now)
		case raw < current && current <= t.Min:
			return s.notScaled(ctx, c, t, "AlreadyAtMinCapacity", "min", current, a, now)
		}
		return nil
	case want > current && t.Suspended.Out, want < current && t.Suspended.In:
		return nil
	case want < current && now.Sub(latest(t.LastScaleIn, t.LastScaleOut)) < cooldown:
		return nil
	}
	return s.scale(ctx, c, t, current, want, a)
}

// aggregate reduces the alarm's datapoints by the policy's
// MetricAggregationType (Average by default).
func aggregate(values []float64, how aasapi.MetricAggregationType) (float64, bool) {
	if len(values) == 0 {
		return 0, false
	}
	switch how {
	case aasapi.MetricAggregationTypeMinimum:
		return slices.Min(values), true
	case aasapi.MetricAggregationTypeMaximum:
		return slices.Max(values), true
	}
	sum := 0.0
	for _, v := range values {
		sum += v
	}
	return sum / float64(len(values)), true
}

func aggName(how aasapi.MetricAggregationType) string {
	if how == "" {
		return "Average"
	}
	return string(how)
}

// stepFor picks the step adjustment whose interval holds the breach
// (metric minus threshold). Above the threshold an interval's lower bound
// is inclusive and its upper bound exclusive; below it, the other way
// round; a missing bound is infinite.
func stepFor(steps []aasapi.StepAdjustment, breach float64) *aasapi.StepAdjustment {
	for i := range steps {
		lo, hi := math.Inf(-1), math.Inf(1)
		if v := steps[i].MetricIntervalLowerBound; v != nil {
			lo = *v
		}
		if v := steps[i].MetricIntervalUpperBound; v != nil {
			hi = *v
		}
		var in bool
		if breach >= 0 {
			in = breach >= lo && breach < hi
		} else {
			in = breach > lo && breach <= hi
		}
		if in {
			return &steps[i]
		}
	}
	return nil
}

// stepAdjust is the capacity a step's adjustment makes of current.
// PercentChangeInCapacity rounds towards zero but changes by at least one
// (AWS's rule: 0.5 → 1, -0.5 → -1, 1.5 → 1, -1.5 → -1), and by at least
// MinAdjustmentMagnitude when set.
func stepAdjust(typ aasapi.AdjustmentType, current, adj, minMagnitude int32) int32 {
	var want int64
	switch typ {
	case aasapi.AdjustmentTypeExactCapacity:
		want = int64(adj)
	case aasapi.AdjustmentTypePercentChangeInCapacity:
		delta := float64(current) * float64(adj) / 100
		d := int64(delta) // towards zero
		switch {
		case delta > 0 && d == 0:
			d = 1
		case delta < 0 && d == 0:
			d = -1
		}
		if m := int64(minMagnitude); m > 0 && d != 0 && abs64(d) < m {
			if d > 0 {
				d = m
			} else {
				d = -m
			}
		}
		want = int64(current) + d
	default: // ChangeInCapacity
		want = int64(current) + int64(adj)
	}
	return int32(min(max(want, 0), math.MaxInt32))
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// checkSteps applies AWS's rules to a policy's step adjustments: a
// ScalingAdjustment each, no step unbounded on both sides, at most one
// step unbounded below and one above, and intervals that neither overlap
// nor leave gaps.
func checkSteps(sc *aasapi.StepScalingPolicyConfiguration) error {
	type iv struct{ lo, hi float64 }
	var ivs []iv
	noLo, noHi := 0, 0
	for _, st := range sc.StepAdjustments {
		if st.ScalingAdjustment == nil {
			return aasapi.NewValidationException("ScalingAdjustment is required in every step adjustment.")
		}
		if st.MetricIntervalLowerBound == nil && st.MetricIntervalUpperBound == nil {
			return aasapi.NewValidationException("The upper and lower bound of a step adjustment can't both be null.")
		}
		x := iv{math.Inf(-1), math.Inf(1)}
		if v := st.MetricIntervalLowerBound; v != nil {
			x.lo = *v
		} else {
			noLo++
		}
		if v := st.MetricIntervalUpperBound; v != nil {
			x.hi = *v
		} else {
			noHi++
		}
		if x.lo >= x.hi {
			return aasapi.NewValidationException("A step adjustment's lower bound must be less than its upper bound.")
		}
		ivs = append(ivs, x)
	}
	if noLo > 1 || noHi > 1 {
		return aasapi.NewValidationException("At most one step adjustment can have a null lower bound, and at most one a null upper bound.")
	}
	slices.SortFunc(ivs, func(a, b iv) int { return cmpFloat(a.lo, b.lo) })
	for i := 1; i < len(ivs); i++ {
		if ivs[i].lo != ivs[i-1].hi {
			return aasapi.NewValidationException("The ranges of your step adjustments can't overlap or have a gap.")
		}
	}
	if ivs[0].lo < 0 && !math.IsInf(ivs[0].lo, -1) {
		return aasapi.NewValidationException("A step adjustment has a negative lower bound, so one step adjustment must have a null lower bound.")
	}
	if last := ivs[len(ivs)-1]; last.hi > 0 && !math.IsInf(last.hi, 1) {
		return aasapi.NewValidationException("A step adjustment has a positive upper bound, so one step adjustment must have a null upper bound.")
	}
	if sc.MinAdjustmentMagnitude != nil && deref(sc.AdjustmentType) != aasapi.AdjustmentTypePercentChangeInCapacity {
		return aasapi.NewValidationException("MinAdjustmentMagnitude is only supported with the PercentChangeInCapacity adjustment type.")
	}
	return nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
