package appautoscaling

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	aasapi "github.com/berth-dev/berth/api/applicationautoscaling"
	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/store"
)

// DefaultInterval is how often the controller evaluates every target.
const DefaultInterval = 15 * time.Second

// scaleInSamples is how many consecutive evaluations a target tracking
// policy's metric must stay below its low threshold before it scales in:
// AWS's low alarm wants 15 one-minute datapoints against the high alarm's
// 3, so scale-out is fast and scale-in deliberate.
const scaleInSamples = 3

// lowFraction of the target value is where the low alarm sits (AWS sets
// the AlarmLow threshold at 90% of the target).
const lowFraction = 0.9

// Run evaluates every scalable target each interval until ctx ends.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.tick(ctx)
	}
}

func (s *Service) tick(ctx context.Context) {
	var ids []string
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		_, ids, err = store.AllDocs[struct{}](tx, KindIndex, "", "", "", store.Page{})
		return err
	})
	if err != nil {
		s.log.Warn("application autoscaling: listing targets", "err", err)
		return
	}
	for _, id := range ids {
		parts := strings.SplitN(id, "|", 3)
		if len(parts) != 3 {
			continue
		}
		c := caller{Account: parts[0], Region: parts[1]}
		if err := s.evaluate(ctx, c, parts[2], true); err != nil && ctx.Err() == nil {
			s.log.Warn("application autoscaling: evaluating target", "account", c.Account, "region", c.Region, "target", parts[2], "err", err)
		}
	}
}

// reconcileTarget brings the service's desired count into the target's
// range right away.
func (s *Service) reconcileTarget(ctx context.Context, c caller, key string) error {
	return s.evaluate(ctx, c, key, false)
}

// evaluate is one level-triggered pass over a target: scheduled actions
// due now, the desired count kept within [min, max], then (withPolicies)
// the target tracking policies' verdict.
func (s *Service) evaluate(ctx context.Context, c caller, key string, withPolicies bool) error {
	s.evalMu.Lock()
	defer s.evalMu.Unlock()
	var t *targetRecord
	var policies []policyRecord
	var policyIDs []string
	var actions []scheduledRecord
	var actionIDs []string
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		if t, err = loadTarget(tx, c, key); err != nil || t == nil {
			return err
		}
		if policies, policyIDs, err = store.AllDocs[policyRecord](tx, KindPolicy, c.Account, c.Region, key+"|", store.Page{}); err != nil {
			return err
		}
		actions, actionIDs, err = store.AllDocs[scheduledRecord](tx, KindScheduled, c.Account, c.Region, key+"|", store.Page{})
		return err
	})
	if err != nil || t == nil || !scaledByBerth(t.Namespace) {
		return err
	}
	svc, err := s.ecsService(ctx, c, t.ResourceID)
	if err != nil {
		return err
	}
	if svc == nil {
		// A deleted service takes its scalable target, policies and
		// scheduled actions with it, as on AWS.
		var alarmsOf []string
		err := s.st.Update(ctx, func(tx store.Tx) error {
			var err error
			if alarmsOf, err = policyAlarmNames(tx, c, key, ""); err != nil {
				return err
			}
			return deleteTarget(tx, c, key)
		})
		if err == nil {
			s.dropAlarms(ctx, c, alarmsOf)
		}
		return err
	}

	if withPolicies {
		for i := range actions {
			if err := s.runScheduled(ctx, c, t, &actions[i], actionIDs[i]); err != nil {
				return err
			}
		}
	}

	current := deref(svc.DesiredCount)
	switch {
	case current < t.Min:
		return s.scale(ctx, c, t, current, t.Min, activity{cause: fmt.Sprintf("minimum capacity was set to %d", t.Min)})
	case current > t.Max:
		return s.scale(ctx, c, t, current, t.Max, activity{cause: fmt.Sprintf("maximum capacity was set to %d", t.Max)})
	}
	if !withPolicies {
		return nil
	}
	return s.track(ctx, c, t, current, policies, policyIDs)
}

// runScheduled applies a scheduled action when an occurrence of its
// schedule has come since it was last checked.
func (s *Service) runScheduled(ctx context.Context, c caller, t *targetRecord, r *scheduledRecord, id string) error {
	a := r.Action
	now := s.clock()
	sch, err := parseSchedule(deref(a.Schedule), deref(a.Timezone))
	if err != nil {
		return nil // validated when put; an unparsable one never fires
	}
	base := r.Checked
	if a.CreationTime != nil {
		base = a.CreationTime.Time
	}
	if a.StartTime != nil {
		base = a.StartTime.Time
	}
	inWindow := (a.StartTime == nil || !now.Before(a.StartTime.Time)) && (a.EndTime == nil || !now.After(a.EndTime.Time))
	fire := inWindow && sch.due(r.Checked, now, base)
	if !fire {
		if now.Sub(r.Checked) < time.Minute {
			return nil
		}
		// Move the mark so a cron look-back stays short.
		return s.st.Update(ctx, func(tx store.Tx) error {
			r.Checked = now
			return store.PutDoc(tx, KindScheduled, c.Account, c.Region, id, r, now)
		})
	}
	ta := deref(a.ScalableTargetAction)
	var parts []string
	if ta.MinCapacity != nil {
		parts = append(parts, fmt.Sprintf("min capacity to %d", *ta.MinCapacity))
	}
	if ta.MaxCapacity != nil {
		parts = append(parts, fmt.Sprintf("max capacity to %d", *ta.MaxCapacity))
	}
	what := strings.Join(parts, " and ")
	return s.st.Update(ctx, func(tx store.Tx) error {
		r.Checked = now
		if err := store.PutDoc(tx, KindScheduled, c.Account, c.Region, id, r, now); err != nil {
			return err
		}
		cur, err := loadTarget(tx, c, t.key())
		if err != nil || cur == nil {
			return err
		}
		if cur.Suspended.Scheduled {
			// Suspended scheduled scaling skips the occurrence.
			return nil
		}
		if ta.MinCapacity != nil {
			cur.Min = *ta.MinCapacity
			// A new minimum above the old maximum raises the maximum, and a
			// new maximum below the minimum lowers it (AWS's rule).
			cur.Max = max(cur.Max, cur.Min)
		}
		if ta.MaxCapacity != nil {
			cur.Max = *ta.MaxCapacity
			cur.Min = min(cur.Min, cur.Max)
		}
		*t = *cur
		if err := putTarget(tx, c, cur, now); err != nil {
			return err
		}
		return putActivity(tx, c, cur, activity{
			description:   "Setting " + what,
			cause:         "scheduled action name " + deref(a.ScheduledActionName) + " was triggered",
			status:        aasapi.ScalingActivityStatusCodeSuccessful,
			statusMessage: "Successfully set " + what,
		}, now, now)
	})
}

// proposal is one target tracking policy's verdict.
type proposal struct {
	policy   *policyRecord
	id       string
	value    float64
	capacity int32
	out, in  bool
}

// desiredCapacity is target tracking's arithmetic: the capacity that
// brings the metric, proportional to load per task, to the target.
func desiredCapacity(current int32, value, target float64) int32 {
	if current <= 0 || target <= 0 {
		return current
	}
	return int32(math.Ceil(float64(current) * value / target))
}

// scaleInStep bounds one scale-in: AWS removes capacity gradually, so at
// most a tenth of it (at least one task) goes per step.
func scaleInStep(current int32) int32 { return max(1, current/10) }

// decide combines the policies' proposals: any policy wanting more
// capacity wins with the largest; capacity only goes down when every
// policy with data agrees, and then by the smallest reduction.
func decide(current int32, props []proposal) (int32, *proposal) {
	var best *proposal
	for i := range props {
		if props[i].out && (best == nil || props[i].capacity > best.capacity) {
			best = &props[i]
		}
	}
	if best != nil {
		return max(best.capacity, current+1), best
	}
	for i := range props {
		if !props[i].in {
			return current, nil
		}
		if best == nil || props[i].capacity > best.capacity {
			best = &props[i]
		}
	}
	if best == nil {
		return current, nil
	}
	return max(best.capacity, current-scaleInStep(current)), best
}

// metricOf maps a policy to what Berth measures: the predefined ECS
// metrics, or a customized spec naming AWS/ECS's CPUUtilization or
// MemoryUtilization. Anything else has no data in Berth.
func metricOf(tt *aasapi.TargetTrackingScalingPolicyConfiguration) (name string, cpu, ok bool) {
	if p := tt.PredefinedMetricSpecification; p != nil {
		switch deref(p.PredefinedMetricType) {
		case aasapi.MetricTypeECSServiceAverageCPUUtilization:
			return string(aasapi.MetricTypeECSServiceAverageCPUUtilization), true, true
		case aasapi.MetricTypeECSServiceAverageMemoryUtilization:
			return string(aasapi.MetricTypeECSServiceAverageMemoryUtilization), false, true
		}
		return "", false, false
	}
	if m := tt.CustomizedMetricSpecification; m != nil && deref(m.Namespace) == "AWS/ECS" {
		switch deref(m.MetricName) {
		case "CPUUtilization":
			return "AWS/ECS CPUUtilization", true, true
		case "MemoryUtilization":
			return "AWS/ECS MemoryUtilization", false, true
		}
	}
	return "", false, false
}

// track evaluates the target tracking policies against the service's
// measured utilization and scales when they say so.
func (s *Service) track(ctx context.Context, c caller, t *targetRecord, current int32, policies []policyRecord, ids []string) error {
	var props []proposal
	var u usage
	measured := false
	for i := range policies {
		p := &policies[i]
		if deref(p.Policy.PolicyType) != aasapi.PolicyTypeTargetTrackingScaling || p.Policy.TargetTrackingScalingPolicyConfiguration == nil {
			continue
		}
		tt := p.Policy.TargetTrackingScalingPolicyConfiguration
		_, cpu, ok := metricOf(tt)
		if !ok {
			continue
		}
		if !measured {
			var err error
			if u, err = s.measure(ctx, c, clusterOf(t), serviceOf(t)); err != nil {
				return err
			}
			measured = true
		}
		if u.tasks == 0 {
			// No RUNNING task, no datapoint: the alarms are INSUFFICIENT_DATA.
			continue
		}
		value := u.memPercent()
		if cpu {
			value = u.cpuPercent()
		}
		target := deref(tt.TargetValue)
		streakID := c.Account + "|" + c.Region + "|" + ids[i]
		pr := proposal{policy: p, id: ids[i], value: value, capacity: current}
		s.mu.Lock()
		switch {
		case value > target:
			s.lowStreak[streakID] = 0
			pr.out, pr.capacity = true, desiredCapacity(current, value, target)
		case value < target*lowFraction:
			s.lowStreak[streakID]++
			if s.lowStreak[streakID] >= scaleInSamples && !deref(tt.DisableScaleIn) {
				pr.in, pr.capacity = true, desiredCapacity(current, value, target)
			}
		default:
			s.lowStreak[streakID] = 0
		}
		s.mu.Unlock()
		props = append(props, pr)
	}
	want, by := decide(current, props)
	want = min(max(want, t.Min), t.Max)
	if by == nil {
		return nil
	}
	now := s.clock()
	tt := by.policy.Policy.TargetTrackingScalingPolicyConfiguration
	name, _, _ := metricOf(tt)
	high, low := alarmNames(t.ResourceID, by.policy.AlarmID)
	details := fmt.Sprintf("Berth measured %s at %.1f over %d RUNNING task(s) against a target of %.1f.", name, by.value, u.tasks, deref(tt.TargetValue))
	a := activity{cause: fmt.Sprintf("monitor alarm %s in state ALARM triggered policy %s", high, deref(by.policy.Policy.PolicyName))}
	if by.in {
		a.cause = fmt.Sprintf("monitor alarm %s in state ALARM triggered policy %s", low, deref(by.policy.Policy.PolicyName))
	}
	switch {
	case want == current:
		code, capKind := "AlreadyAtMaxCapacity", "max"
		if by.in {
			code, capKind = "AlreadyAtMinCapacity", "min"
		}
		a.details = details
		return s.notScaled(ctx, c, t, code, capKind, current, a, now)
	case want > current && t.Suspended.Out, want < current && t.Suspended.In:
		return nil
	case want > current && now.Sub(t.LastScaleOut) < time.Duration(deref(tt.ScaleOutCooldown))*time.Second:
		return nil
	case want < current && now.Sub(latest(t.LastScaleIn, t.LastScaleOut)) < time.Duration(deref(tt.ScaleInCooldown))*time.Second:
		return nil
	}
	if want < current {
		s.mu.Lock()
		s.lowStreak[c.Account+"|"+c.Region+"|"+by.id] = 0
		s.mu.Unlock()
	}
	a.details = details
	return s.scale(ctx, c, t, current, want, a)
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// notScaled records, once per state, that a policy wanted to scale past
// the target's range (shown with IncludeNotScaledActivities).
func (s *Service) notScaled(ctx context.Context, c caller, t *targetRecord, code, capKind string, current int32, a activity, now time.Time) error {
	k := c.Account + "|" + c.Region + "|" + t.key()
	s.mu.Lock()
	seen := s.lastNotScaled[k] == code
	s.lastNotScaled[k] = code
	s.mu.Unlock()
	if seen {
		return nil
	}
	a.description = fmt.Sprintf("Attempting to scale due to alarm triggered; the desired count stays at %d.", current)
	a.status = aasapi.ScalingActivityStatusCodeSuccessful
	a.statusMessage = fmt.Sprintf("Failed to set desired count: it is already at the %s capacity %d.", capKind, current)
	a.notScaled = &aasapi.NotScaledReason{Code: ptr(code), MinCapacity: ptr(t.Min), MaxCapacity: ptr(t.Max), CurrentCapacity: ptr(current)}
	return s.st.Update(ctx, func(tx store.Tx) error { return putActivity(tx, c, t, a, now, now) })
}

// scale sets the service's desired count through ECS's UpdateService and
// records the activity, successful or not.
func (s *Service) scale(ctx context.Context, c caller, t *targetRecord, current, want int32, a activity) error {
	start := s.clock()
	a.description = fmt.Sprintf("Setting desired count to %d.", want)
	_, err := s.ecs.UpdateService(c.ctx(ctx), &ecsapi.UpdateServiceInput{Cluster: ptr(clusterOf(t)), Service: ptr(serviceOf(t)), DesiredCount: ptr(want)})
	if err != nil {
		a.status = aasapi.ScalingActivityStatusCodeFailed
		a.statusMessage = fmt.Sprintf("Failed to set desired count to %d. Reason: %v", want, err)
	} else {
		a.status = aasapi.ScalingActivityStatusCodeSuccessful
		a.statusMessage = fmt.Sprintf("Successfully set desired count to %d. Change successfully fulfilled by ecs.", want)
	}
	end := s.clock()
	k := c.Account + "|" + c.Region + "|" + t.key()
	s.mu.Lock()
	delete(s.lastNotScaled, k)
	s.mu.Unlock()
	return s.st.Update(ctx, func(tx store.Tx) error {
		cur, err2 := loadTarget(tx, c, t.key())
		if err2 != nil || cur == nil {
			return err2
		}
		if err == nil {
			if want > current {
				cur.LastScaleOut = end
				cur.ScaleOutFrom = current
				if a.base != nil {
					cur.ScaleOutFrom = *a.base
				}
			} else {
				cur.LastScaleIn = end
			}
			if err2 := putTarget(tx, c, cur, end); err2 != nil {
				return err2
			}
		}
		if err2 := pruneActivities(tx, c, cur.key(), end); err2 != nil {
			return err2
		}
		return putActivity(tx, c, cur, a, start, end)
	})
}

func clusterOf(t *targetRecord) string { c, _, _ := ecsResource(t.ResourceID); return c }
func serviceOf(t *targetRecord) string { _, s, _ := ecsResource(t.ResourceID); return s }
