package cloudwatch

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	cwapi "github.com/berth-dev/berth/api/cloudwatch"
	"github.com/berth-dev/berth/store"
)

// Run evaluates every alarm each interval until ctx ends. Evaluation is
// level-triggered: each pass computes every alarm's state from its data,
// so a state set by SetAlarmState lasts until the next pass, as on AWS.
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
			s.EvaluateAll(ctx)
		}
	}
}

// EvaluateAll runs one evaluation pass over every alarm, then trims old
// data at most hourly.
func (s *Service) EvaluateAll(ctx context.Context) {
	s.evalMu.Lock()
	defer s.evalMu.Unlock()
	var ids []string
	err := s.st.View(ctx, func(tx store.Tx) error {
		_, all, err := store.AllDocs[struct{}](tx, KindIndex, "", "", "", store.Page{})
		ids = all
		return err
	})
	if err != nil {
		s.log.Warn("listing alarms", "err", err)
		return
	}
	// Metric alarms first, so composite alarms see this pass's states.
	var composites []string
	for _, id := range ids {
		if !s.evaluateOne(ctx, id, false) {
			composites = append(composites, id)
		}
	}
	for _, id := range composites {
		s.evaluateOne(ctx, id, true)
	}
	if now := s.clock(); now.Sub(s.lastTrim) > time.Hour {
		s.lastTrim = now
		s.trim(ctx, ids, now)
	}
}

func splitIndex(id string) (caller, string, bool) {
	parts := strings.SplitN(id, "|", 3)
	if len(parts) != 3 {
		return caller{}, "", false
	}
	return caller{Account: parts[0], Region: parts[1]}, parts[2], true
}

// evaluation is an alarm's computed state.
type evaluation struct {
	state, reason, data string
	values              []float64
}

// evaluateOne evaluates the alarm of an index id; composite alarms are
// evaluated only when composite is true. It returns false for a composite
// alarm skipped.
func (s *Service) evaluateOne(ctx context.Context, id string, composite bool) bool {
	c, name, ok := splitIndex(id)
	if !ok {
		return true
	}
	now := s.clock()
	var a *alarmRecord
	var ev *evaluation
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		if a, err = loadAlarm(tx, c, name); err != nil || a == nil {
			return err
		}
		if a.Composite != nil {
			if !composite {
				return nil
			}
			ev, err = evaluateComposite(tx, c, a.Composite)
			return err
		}
		ev, err = evaluateMetricAlarm(tx, c, a.Metric, now)
		return err
	})
	if err != nil {
		s.log.Warn("evaluating alarm", "alarm", name, "err", err)
		return true
	}
	if a == nil {
		return true
	}
	if a.Composite != nil && !composite {
		return false
	}
	if ev == nil {
		return true
	}
	if ev.state == a.state() {
		s.repeatAutoScaling(ctx, c, id, a, ev, now)
		return true
	}
	var change *AlarmChange
	err = s.st.Update(ctx, func(tx store.Tx) error {
		cur, err := loadAlarm(tx, c, name)
		if err != nil || cur == nil || cur.state() == ev.state {
			change = nil
			return err
		}
		oldReason := deref(stateReason(cur))
		old := cur.setState(ev.state, ev.reason, ev.data, now)
		if err := putAlarm(tx, c, cur, now); err != nil {
			return err
		}
		a = cur
		var threshold float64
		if cur.Metric != nil {
			threshold = deref(cur.Metric.Threshold)
		}
		change = &AlarmChange{AlarmName: name, AlarmARN: cur.arn(), OldState: old, NewState: ev.state, Reason: ev.reason, Threshold: threshold, Values: ev.values, Timestamp: now}
		return addHistory(tx, c, cur, cwapi.HistoryItemTypeStateUpdate, fmt.Sprintf("Alarm updated from %s to %s", old, ev.state),
			map[string]any{"version": "1.0", "oldState": stateData(old, oldReason, ""), "newState": stateData(ev.state, ev.reason, ev.data)}, now)
	})
	if err != nil {
		s.log.Warn("updating alarm state", "alarm", name, "err", err)
		return true
	}
	if change != nil {
		s.runActions(ctx, c, a, *change)
		s.autoScalingRun[id] = now
	}
	return true
}

// repeatAutoScaling invokes again the Auto Scaling actions of an alarm
// that stays in its state, once per period: AWS runs the other actions on
// transitions only, but keeps scaling while the condition lasts (the
// policy's cooldown decides whether a repeat changes capacity). The last
// run is kept in memory; after a restart the first repeat comes a period
// later.
func (s *Service) repeatAutoScaling(ctx context.Context, c caller, id string, a *alarmRecord, ev *evaluation, now time.Time) {
	if a.Metric == nil || !a.actionsEnabled() {
		return
	}
	var scaling []string
	for _, arn := range a.actions(ev.state) {
		if isAutoScalingAction(arn) {
			scaling = append(scaling, arn)
		}
	}
	if len(scaling) == 0 {
		return
	}
	period := time.Duration(deref(a.Metric.Period)) * time.Second
	if period <= 0 {
		period = time.Duration(alarmPeriod(a.Metric.Metrics)) * time.Second
	}
	if period <= 0 {
		period = time.Minute
	}
	last, ok := s.autoScalingRun[id]
	if !ok {
		// First seen in this process: count from now.
		s.autoScalingRun[id] = now
		return
	}
	if now.Sub(last) < period {
		return
	}
	s.autoScalingRun[id] = now
	change := AlarmChange{AlarmName: deref(a.Metric.AlarmName), AlarmARN: a.arn(), OldState: ev.state, NewState: ev.state,
		Reason: ev.reason, Threshold: deref(a.Metric.Threshold), Values: ev.values, Timestamp: now}
	only := *a
	m := *a.Metric
	switch ev.state {
	case "OK":
		m.OKActions = scaling
	case "ALARM":
		m.AlarmActions = scaling
	default:
		m.InsufficientDataActions = scaling
	}
	only.Metric = &m
	s.runActions(ctx, c, &only, change)
}

// isAutoScalingAction: Application Auto Scaling and EC2 Auto Scaling
// policy ARNs are both in the autoscaling service namespace.
func isAutoScalingAction(arn string) bool {
	parts := strings.SplitN(arn, ":", 6)
	return len(parts) == 6 && parts[2] == "autoscaling"
}

// runActions invokes the actions of the alarm's new state and records
// each outcome in its history; failures are history, not errors.
func (s *Service) runActions(ctx context.Context, c caller, a *alarmRecord, change AlarmChange) {
	if !a.actionsEnabled() {
		return
	}
	inv := s.actionInvoker()
	for _, arn := range a.actions(change.NewState) {
		var err error
		if inv == nil {
			err = fmt.Errorf("Berth has no handler for alarm actions")
		} else {
			err = inv.InvokeAlarmAction(ctx, c.Account, c.Region, arn, change)
		}
		summary := "Successfully executed action " + arn
		data := map[string]any{"actionState": "Succeeded", "stateUpdateTimestamp": change.Timestamp.UnixMilli(), "notificationResource": arn}
		if err != nil {
			summary = "Failed to execute action " + arn
			data["actionState"], data["error"] = "Failed", err.Error()
		}
		at := s.clock()
		herr := s.st.Update(ctx, func(tx store.Tx) error {
			return addHistory(tx, c, a, cwapi.HistoryItemTypeAction, summary, data, at)
		})
		if herr != nil {
			s.log.Warn("recording alarm action", "alarm", change.AlarmName, "err", herr)
		}
	}
}

// evaluateMetricAlarm reads an alarm's datapoints and decides its state.
func evaluateMetricAlarm(tx store.Tx, c caller, m *cwapi.MetricAlarm, now time.Time) (*evaluation, error) {
	ms := alarmMetricStat(m)
	var period int32
	stat := ""
	if ms != nil {
		period, stat = deref(ms.Period), deref(ms.Stat)
	} else {
		period = alarmPeriod(m.Metrics)
	}
	n := int(deref(m.EvaluationPeriods))
	pd := time.Duration(period) * time.Second
	if n <= 0 || pd <= 0 {
		return nil, nil
	}
	cur := alignStart(now, pd)
	start := cur.Add(-time.Duration(n) * pd)
	var byStart map[int64]float64
	if ms != nil && len(m.Metrics) == 0 {
		ts, vs, err := statSeries(tx, c, ms, start, cur.Add(pd))
		if err != nil {
			return nil, nil
		}
		byStart = make(map[int64]float64, len(ts))
		for i, t := range ts {
			byStart[t.UnixMilli()] = vs[i]
		}
	} else {
		env, err := evalQueries(tx, c, m.Metrics, start, cur.Add(pd))
		if err != nil {
			return nil, nil
		}
		for _, q := range m.Metrics {
			if q.ReturnData == nil || *q.ReturnData {
				byStart = env[deref(q.Id)]
			}
		}
	}
	// The period in progress counts once it has data; until then the
	// newest period is the last complete one, so that an alarm does not
	// see missing data at each period's start.
	newest := cur
	if _, ok := byStart[cur.UnixMilli()]; !ok {
		newest = cur.Add(-pd)
	}
	vals := make([]*float64, n)
	for i := range n {
		if v, ok := byStart[newest.Add(-time.Duration(i)*pd).UnixMilli()]; ok {
			vals[i] = &v
		}
	}
	m2 := int(deref(m.DatapointsToAlarm))
	if m2 <= 0 {
		m2 = n
	}
	treat := deref(m.TreatMissingData)
	// AWS documents that alarms on AWS/DynamoDB metrics always ignore
	// missing data.
	if ms != nil && deref(ms.Metric.Namespace) == "AWS/DynamoDB" {
		treat = "ignore"
	}
	threshold := deref(m.Threshold)
	cmp := string(deref(m.ComparisonOperator))
	state := decide(vals, m2, func(v float64) bool { return breaches(cmp, v, threshold) }, treat, string(deref(m.StateValue)))
	ev := &evaluation{state: state}
	// AWS's sample count of each evaluated period, for StateReasonData,
	// which is written only on a transition.
	var counts map[int64]float64
	if ms != nil && len(m.Metrics) == 0 && state != string(deref(m.StateValue)) {
		cs := *ms
		cs.Stat = ptr("SampleCount")
		if ts, vs, err := statSeries(tx, c, &cs, start, cur.Add(pd)); err == nil {
			counts = make(map[int64]float64, len(ts))
			for i, t := range ts {
				counts[t.UnixMilli()] = vs[i]
			}
		}
	}
	var present []float64
	var shown, evaluated []string
	var oldest time.Time
	for i, v := range vals {
		at := newest.Add(-time.Duration(i) * pd)
		stamp := at.Format(reasonDataTime)
		if v == nil {
			evaluated = append(evaluated, fmt.Sprintf(`{"timestamp":%q}`, stamp))
			continue
		}
		oldest = at
		present = append(present, *v)
		shown = append(shown, fmt.Sprintf("%s (%s)", javaDouble(*v), at.Format("02/01/06 15:04:05")))
		if cnt, ok := counts[at.UnixMilli()]; ok {
			evaluated = append(evaluated, fmt.Sprintf(`{"timestamp":%q,"sampleCount":%s,"value":%s}`, stamp, javaDouble(cnt), javaDouble(*v)))
		} else {
			evaluated = append(evaluated, fmt.Sprintf(`{"timestamp":%q,"value":%s}`, stamp, javaDouble(*v)))
		}
	}
	ev.values = present
	breach := "not "
	if state == "ALARM" {
		breach = ""
	}
	// AWS's wording: "N datapoint(s) [v (dd/mm/yy hh:mm:ss), …] was/were
	// (not) greater than the threshold (2.0)." when all evaluated periods
	// must breach, the "M out of the last N" form when DatapointsToAlarm
	// is lower, and "no datapoints were received" when all are missing.
	switch {
	case len(present) == 0 && state == "INSUFFICIENT_DATA":
		ev.reason = fmt.Sprintf("Insufficient Data: %s unknown.", countWas(n, "datapoint"))
	case len(present) == 0:
		ev.reason = fmt.Sprintf("Threshold Crossed: no datapoints were received for %s and %s treated as [%s].", plural(n, "period"), countWas(n, "missing datapoint"), treatReason(treat))
	case m2 == n:
		were := " was "
		if len(present) > 1 {
			were = " were "
		}
		ev.reason = fmt.Sprintf("Threshold Crossed: %s [%s]%s%s the threshold (%s).",
			plural(len(present), "datapoint"), strings.Join(shown, ", "), were, breach+cmpWords(cmp), javaDouble(threshold))
	default:
		transition := "ALARM -> OK"
		if state == "ALARM" {
			transition = "OK -> ALARM"
		}
		were := "was"
		if len(present) > 1 {
			were = "were"
		}
		ev.reason = fmt.Sprintf("Threshold Crossed: %d out of the last %d datapoints [%s] %s %s the threshold (%s) (minimum %d datapoints for %s transition).",
			len(present), n, strings.Join(shown, ", "), were, breach+cmpWords(cmp), javaDouble(threshold), m2, transition)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `{"version":"1.0","queryDate":%q`, now.Format(reasonDataTime))
	if len(present) > 0 {
		fmt.Fprintf(&b, `,"startDate":%q`, oldest.Format(reasonDataTime))
	}
	if u := deref(m.Unit); u != "" {
		fmt.Fprintf(&b, `,"unit":%q`, string(u))
	}
	recent := slices.Clone(present)
	slices.Reverse(recent)
	fmt.Fprintf(&b, `,"statistic":%q,"period":%d,"recentDatapoints":%s,"threshold":%s,"evaluatedDatapoints":[%s]}`,
		stat, period, jsonFloats(recent), javaDouble(threshold), strings.Join(evaluated, ","))
	ev.data = b.String()
	return ev, nil
}

// reasonDataTime is the timestamp format of AWS's StateReasonData.
const reasonDataTime = "2006-01-02T15:04:05.000+0000"

// javaDouble formats a number as AWS's reasons and reason data do (Java's
// Double.toString): whole numbers keep one decimal, "2.0".
func javaDouble(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e7 {
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	mant, exp, _ := strings.Cut(strconv.FormatFloat(f, 'E', -1, 64), "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

// plural is "1 period" or "2 periods".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// countWas is "1 datapoint was" or "2 datapoints were".
func countWas(n int, noun string) string {
	if n == 1 {
		return plural(n, noun) + " was"
	}
	return plural(n, noun) + " were"
}

// treatReason names a TreatMissingData value as AWS's reasons do.
func treatReason(t string) string {
	switch t {
	case "breaching":
		return "Breaching"
	case "notBreaching":
		return "NonBreaching"
	}
	return treatName(t)
}

func treatName(t string) string {
	if t == "" {
		return "missing"
	}
	return t
}

func jsonFloats(v []float64) string {
	parts := make([]string, len(v))
	for i, f := range v {
		parts[i] = javaDouble(f)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func cmpWords(cmp string) string {
	switch cmp {
	case "GreaterThanOrEqualToThreshold":
		return "greater than or equal to"
	case "GreaterThanThreshold":
		return "greater than"
	case "LessThanThreshold":
		return "less than"
	case "LessThanOrEqualToThreshold":
		return "less than or equal to"
	}
	return "outside"
}

// breaches applies a comparison operator. The anomaly detection bands
// need a model Berth does not have; they never breach.
func breaches(cmp string, v, threshold float64) bool {
	switch cmp {
	case "GreaterThanOrEqualToThreshold":
		return v >= threshold
	case "GreaterThanThreshold":
		return v > threshold
	case "LessThanThreshold":
		return v < threshold
	case "LessThanOrEqualToThreshold":
		return v <= threshold
	}
	return false
}

// decide is AWS's M out of N rule: vals are the N most recent periods'
// values, newest first, nil where data is missing. treat is
// TreatMissingData: breaching and notBreaching count missing periods as
// such; ignore keeps the current state when every period is missing;
// missing (the default) makes that INSUFFICIENT_DATA. Otherwise the
// alarm is ALARM when at least m periods breach, else OK.
func decide(vals []*float64, m int, breach func(float64) bool, treat, current string) string {
	present, breaching := 0, 0
	for _, v := range vals {
		if v == nil {
			continue
		}
		present++
		if breach(*v) {
			breaching++
		}
	}
	missing := len(vals) - present
	switch treat {
	case "breaching":
		breaching += missing
	case "notBreaching":
	case "ignore":
		if present == 0 {
			if current == "" {
				return "INSUFFICIENT_DATA"
			}
			return current
		}
	default:
		if present == 0 {
			return "INSUFFICIENT_DATA"
		}
	}
	if breaching >= m {
		return "ALARM"
	}
	return "OK"
}

// evaluateComposite evaluates a composite alarm's rule over its alarms'
// current states.
func evaluateComposite(tx store.Tx, c caller, m *cwapi.CompositeAlarm) (*evaluation, error) {
	rule, err := parseRule(deref(m.AlarmRule))
	if err != nil {
		return nil, nil
	}
	states := map[string]string{}
	for _, name := range rule.names(nil) {
		a, err := loadAlarm(tx, c, name)
		if err != nil {
			return nil, err
		}
		if a != nil {
			states[name] = a.state()
		}
	}
	v, known := rule.eval(states)
	if !known {
		return &evaluation{state: "INSUFFICIENT_DATA", reason: "The alarm rule names an alarm that does not exist."}, nil
	}
	if v {
		return &evaluation{state: "ALARM", reason: "The alarm rule evaluated to TRUE: " + deref(m.AlarmRule)}, nil
	}
	return &evaluation{state: "OK", reason: "The alarm rule evaluated to FALSE: " + deref(m.AlarmRule)}, nil
}

// trim drops datapoints older than Retention and history older than
// historyRetention, in the accounts and regions that have alarms or data.
func (s *Service) trim(ctx context.Context, alarmIDs []string, now time.Time) {
	seen := map[caller]bool{}
	for _, id := range alarmIDs {
		if c, _, ok := splitIndex(id); ok {
			seen[c] = true
		}
	}
	var accounts []string
	_ = s.st.View(ctx, func(tx store.Tx) error {
		_, ids, err := store.AllDocs[struct{}](tx, kindAccounts, "", "", "", store.Page{})
		accounts = ids
		return err
	})
	for _, id := range accounts {
		if a, r, ok := strings.Cut(id, "|"); ok {
			seen[caller{Account: a, Region: r}] = true
		}
	}
	cutoffMinute := now.Add(-Retention).Unix() / 60
	historyCutoff := fmt.Sprintf("%020d", uint64(1<<63-1)-uint64(now.Add(-historyRetention).UnixNano()))
	for c := range seen {
		err := s.st.Update(ctx, func(tx store.Tx) error {
			metrics, keys, err := store.AllDocs[metricRecord](tx, KindMetric, c.Account, c.Region, "", store.Page{})
			if err != nil {
				return err
			}
			for i, key := range keys {
				if metrics[i].LastPut.Before(now.Add(-Retention)) {
					if err := store.DeleteDoc(tx, KindMetric, c.Account, c.Region, key); err != nil {
						return err
					}
				}
				limit := pointsID(key, cutoffMinute)
				rs, err := tx.ListResources(KindPoints, c.Account, c.Region, key+sepKey, store.Page{})
				if err != nil {
					return err
				}
				for _, r := range rs {
					if r.ID >= limit {
						break
					}
					if err := store.DeleteDoc(tx, KindPoints, c.Account, c.Region, r.ID); err != nil {
						return err
					}
				}
			}
			rs, err := tx.ListResources(KindHistory, c.Account, c.Region, "", store.Page{After: historyCutoff})
			if err != nil {
				return err
			}
			for _, r := range rs {
				if err := store.DeleteDoc(tx, KindHistory, c.Account, c.Region, r.ID); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			s.log.Warn("trimming old data", "err", err)
		}
	}
}

// kindAccounts, under no account, names "<account>|<region>" of every
// place with metric data, so that trimming finds them.
const kindAccounts = "cloudwatch/accounts"
