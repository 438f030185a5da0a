package cloudwatch

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	cwapi "github.com/berth-dev/berth/api/cloudwatch"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

const (
	maxTags       = 50
	maxAlarmNames = 100
)

// alarmRecord is a metric or composite alarm as described, with its tags.
type alarmRecord struct {
	Metric    *cwapi.MetricAlarm    `json:"metric,omitempty"`
	Composite *cwapi.CompositeAlarm `json:"composite,omitempty"`
	Tags      []cwapi.Tag           `json:"tags,omitempty"`
}

func (a *alarmRecord) name() string {
	if a.Metric != nil {
		return deref(a.Metric.AlarmName)
	}
	return deref(a.Composite.AlarmName)
}

func (a *alarmRecord) arn() string {
	if a.Metric != nil {
		return deref(a.Metric.AlarmArn)
	}
	return deref(a.Composite.AlarmArn)
}

func (a *alarmRecord) alarmType() cwapi.AlarmType {
	if a.Metric != nil {
		return cwapi.AlarmTypeMetricAlarm
	}
	return cwapi.AlarmTypeCompositeAlarm
}

func (a *alarmRecord) state() string {
	if a.Metric != nil {
		return string(deref(a.Metric.StateValue))
	}
	return string(deref(a.Composite.StateValue))
}

func (a *alarmRecord) actionsEnabled() bool {
	if a.Metric != nil {
		return deref(a.Metric.ActionsEnabled)
	}
	return deref(a.Composite.ActionsEnabled)
}

// actions returns the alarm's actions for state.
func (a *alarmRecord) actions(state string) []string {
	var ok, alarm, insufficient []string
	if a.Metric != nil {
		ok, alarm, insufficient = a.Metric.OKActions, a.Metric.AlarmActions, a.Metric.InsufficientDataActions
	} else {
		ok, alarm, insufficient = a.Composite.OKActions, a.Composite.AlarmActions, a.Composite.InsufficientDataActions
	}
	switch state {
	case "OK":
		return ok
	case "ALARM":
		return alarm
	}
	return insufficient
}

// setState moves the alarm to state; it returns the old state.
func (a *alarmRecord) setState(state, reason, data string, at time.Time) string {
	old := a.state()
	sv := ptr(cwapi.StateValue(state))
	var reasonData *string
	if data != "" {
		reasonData = ptr(data)
	}
	if a.Metric != nil {
		m := a.Metric
		m.StateValue, m.StateReason, m.StateReasonData, m.StateUpdatedTimestamp = sv, ptr(reason), reasonData, awsapi.Time(at)
		if old != state {
			m.StateTransitionedTimestamp = awsapi.Time(at)
		}
	} else {
		m := a.Composite
		m.StateValue, m.StateReason, m.StateReasonData, m.StateUpdatedTimestamp = sv, ptr(reason), reasonData, awsapi.Time(at)
		if old != state {
			m.StateTransitionedTimestamp = awsapi.Time(at)
		}
	}
	return old
}

func indexID(c caller, name string) string { return c.Account + "|" + c.Region + "|" + name }

func loadAlarm(tx store.Tx, c caller, name string) (*alarmRecord, error) {
	return store.GetDoc[alarmRecord](tx, KindAlarm, c.Account, c.Region, name)
}

func putAlarm(tx store.Tx, c caller, a *alarmRecord, now time.Time) error {
	if err := store.PutDoc(tx, KindAlarm, c.Account, c.Region, a.name(), a, now); err != nil {
		return err
	}
	return store.PutDoc(tx, KindIndex, "", "", indexID(c, a.name()), struct{}{}, now)
}

// historyRecord is one alarm history item; ids order newest first.
type historyRecord struct {
	Item cwapi.AlarmHistoryItem `json:"item"`
}

func addHistory(tx store.Tx, c caller, a *alarmRecord, kind cwapi.HistoryItemType, summary string, data any, at time.Time) error {
	// AWS writes "->" in reasons as is, not HTML-escaped.
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(data)
	raw := strings.TrimSuffix(buf.String(), "\n")
	item := cwapi.AlarmHistoryItem{
		AlarmName: ptr(a.name()), AlarmType: ptr(a.alarmType()), Timestamp: awsapi.Time(at),
		HistoryItemType: ptr(kind), HistorySummary: ptr(summary), HistoryData: ptr(raw),
	}
	inv := uint64(1<<63-1) - uint64(at.UnixNano())
	id := fmt.Sprintf("%020d|%s|%s", inv, a.name(), randomHex(8))
	return store.PutDoc(tx, KindHistory, c.Account, c.Region, id, historyRecord{Item: item}, at)
}

func stateData(state, reason, data string) map[string]any {
	m := map[string]any{"stateValue": state, "stateReason": reason}
	if data != "" {
		// Kept as written, so numbers keep AWS's formatting ("2.0").
		if json.Valid([]byte(data)) {
			m["stateReasonData"] = json.RawMessage(data)
		}
	}
	return m
}

func checkTreatMissing(v *string) error {
	switch deref(v) {
	case "", "missing", "notBreaching", "breaching", "ignore":
		return nil
	}
	return awsapi.Errorf(codeValidationError, "The value %s for parameter TreatMissingData is not valid: use missing, notBreaching, breaching or ignore.", deref(v))
}

func checkActions(lists ...[]string) error {
	for _, l := range lists {
		if len(l) > 5 {
			return awsapi.Errorf(codeValidationError, "An alarm can have at most 5 actions for each state.")
		}
		for _, a := range l {
			if !strings.HasPrefix(a, "arn:") {
				return awsapi.Errorf(codeValidationError, "Invalid arn syntax: %s", a)
			}
		}
	}
	return nil
}

func checkTags(tags []cwapi.Tag) error {
	if len(tags) > maxTags {
		return cwapi.NewInvalidParameterValueException("A resource can have at most %d tags.", maxTags)
	}
	return nil
}

func (s *Service) PutMetricAlarm(ctx context.Context, in *cwapi.PutMetricAlarmInput) (*cwapi.PutMetricAlarmOutput, error) {
	c := callerOf(ctx)
	name := deref(in.AlarmName)
	if err := checkMetricAlarm(in); err != nil {
		return nil, err
	}
	now := s.clock()
	m := &cwapi.MetricAlarm{
		AlarmName: ptr(name), AlarmArn: ptr(alarmARN(c, name)), AlarmDescription: in.AlarmDescription,
		AlarmConfigurationUpdatedTimestamp: awsapi.Time(now), ActionsEnabled: ptr(in.ActionsEnabled == nil || *in.ActionsEnabled),
		OKActions: nonNil(in.OKActions), AlarmActions: nonNil(in.AlarmActions), InsufficientDataActions: nonNil(in.InsufficientDataActions),
		MetricName: in.MetricName, Namespace: in.Namespace, Statistic: in.Statistic, ExtendedStatistic: in.ExtendedStatistic,
		Dimensions: nonNil(in.Dimensions), Period: in.Period, Unit: in.Unit, EvaluationPeriods: in.EvaluationPeriods,
		DatapointsToAlarm: in.DatapointsToAlarm, Threshold: in.Threshold, ComparisonOperator: in.ComparisonOperator,
		TreatMissingData: in.TreatMissingData, EvaluateLowSampleCountPercentile: in.EvaluateLowSampleCountPercentile,
		Metrics: in.Metrics, ThresholdMetricId: in.ThresholdMetricId,
	}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		old, err := loadAlarm(tx, c, name)
		if err != nil {
			return err
		}
		rec := &alarmRecord{Metric: m, Tags: in.Tags}
		if old != nil {
			if old.Composite != nil {
				return awsapi.Errorf(codeValidationError, "Alarm %s is a composite alarm; PutMetricAlarm cannot change it.", name)
			}
			// An update keeps the state and, as on AWS, the tags.
			o := old.Metric
			m.StateValue, m.StateReason, m.StateReasonData = o.StateValue, o.StateReason, o.StateReasonData
			m.StateUpdatedTimestamp, m.StateTransitionedTimestamp = o.StateUpdatedTimestamp, o.StateTransitionedTimestamp
			rec.Tags = old.Tags
			if err := putAlarm(tx, c, rec, now); err != nil {
				return err
			}
			return addHistory(tx, c, rec, cwapi.HistoryItemTypeConfigurationUpdate, fmt.Sprintf("Alarm %q updated", name),
				map[string]any{"version": "1.0", "type": "Update", "updatedAlarm": m}, now)
		}
		m.StateValue, m.StateReason = ptr(cwapi.StateValueInsufficientData), ptr("Unchecked: Initial alarm creation")
		m.StateUpdatedTimestamp, m.StateTransitionedTimestamp = awsapi.Time(now), awsapi.Time(now)
		if err := putAlarm(tx, c, rec, now); err != nil {
			return err
		}
		return addHistory(tx, c, rec, cwapi.HistoryItemTypeConfigurationUpdate, fmt.Sprintf("Alarm %q created", name),
			map[string]any{"version": "1.0", "type": "Create", "createdAlarm": m}, now)
	})
	if err != nil {
		return nil, s.internal(err)
	}
	return &cwapi.PutMetricAlarmOutput{}, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// checkMetricAlarm validates PutMetricAlarm beyond the model.
func checkMetricAlarm(in *cwapi.PutMetricAlarmInput) error {
	simple := in.MetricName != nil || in.Namespace != nil || in.Statistic != nil || in.ExtendedStatistic != nil || len(in.Dimensions) > 0 || in.Period != nil
	if len(in.Metrics) > 0 && simple {
		return awsapi.Errorf(codeValidationError, "Metrics list cannot be combined with MetricName, Namespace, Statistic, ExtendedStatistic, Dimensions or Period.")
	}
	evalPeriods := deref(in.EvaluationPeriods)
	if in.EvaluationPeriods == nil {
		return cwapi.NewMissingRequiredParameterException("The parameter EvaluationPeriods is required.")
	}
	if in.ComparisonOperator == nil {
		return cwapi.NewMissingRequiredParameterException("The parameter ComparisonOperator is required.")
	}
	if d := in.DatapointsToAlarm; d != nil && (*d < 1 || *d > evalPeriods) {
		return awsapi.Errorf(codeValidationError, "DatapointsToAlarm must be between 1 and EvaluationPeriods (%d).", evalPeriods)
	}
	if in.Threshold == nil && in.ThresholdMetricId == nil {
		return awsapi.Errorf(codeValidationError, "Threshold must be set for this comparison operator.")
	}
	if err := checkTreatMissing(in.TreatMissingData); err != nil {
		return err
	}
	if err := checkActions(in.OKActions, in.AlarmActions, in.InsufficientDataActions); err != nil {
		return err
	}
	if err := checkTags(in.Tags); err != nil {
		return err
	}
	var period int32
	if len(in.Metrics) > 0 {
		if err := checkQueries(in.Metrics, "Metrics"); err != nil {
			return err
		}
		returning := 0
		for _, q := range in.Metrics {
			if q.ReturnData == nil || *q.ReturnData {
				returning++
			}
		}
		if returning != 1 {
			return awsapi.Errorf(codeValidationError, "Exactly one element of the Metrics list must return data.")
		}
		period = alarmPeriod(in.Metrics)
	} else {
		if deref(in.MetricName) == "" || deref(in.Namespace) == "" {
			return cwapi.NewMissingRequiredParameterException("The parameters MetricName and Namespace are required for an alarm on a single metric.")
		}
		if (in.Statistic == nil) == (in.ExtendedStatistic == nil) {
			return awsapi.Errorf(codeValidationError, "Exactly one of Statistic or ExtendedStatistic must be specified.")
		}
		if in.ExtendedStatistic != nil && !validStat(*in.ExtendedStatistic) {
			return awsapi.Errorf(codeValidationError, "The value %s for parameter ExtendedStatistic is not a percentile Berth computes (pNN.NN).", *in.ExtendedStatistic)
		}
		if in.Period == nil {
			return cwapi.NewMissingRequiredParameterException("The parameter Period is required.")
		}
		if _, err := dimsOf(in.Dimensions, "Dimensions"); err != nil {
			return err
		}
		period = *in.Period
	}
	if period != 10 && period != 20 && period != 30 && (period < 60 || period%60 != 0) {
		return awsapi.Errorf(codeValidationError, "Period must be 10, 20, 30 or a multiple of 60.")
	}
	if int64(period)*int64(evalPeriods) > 7*24*3600 {
		return awsapi.Errorf(codeValidationError, "The evaluation period (Period * EvaluationPeriods) must not exceed one week (604800 seconds).")
	}
	return nil
}

func (s *Service) PutCompositeAlarm(ctx context.Context, in *cwapi.PutCompositeAlarmInput) (*cwapi.PutCompositeAlarmOutput, error) {
	c := callerOf(ctx)
	name := deref(in.AlarmName)
	if _, err := parseRule(deref(in.AlarmRule)); err != nil {
		return nil, awsapi.Errorf(codeValidationError, "The AlarmRule is not valid: %v", err)
	}
	if err := checkActions(in.OKActions, in.AlarmActions, in.InsufficientDataActions); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	now := s.clock()
	m := &cwapi.CompositeAlarm{
		AlarmName: ptr(name), AlarmArn: ptr(alarmARN(c, name)), AlarmDescription: in.AlarmDescription, AlarmRule: in.AlarmRule,
		AlarmConfigurationUpdatedTimestamp: awsapi.Time(now), ActionsEnabled: ptr(in.ActionsEnabled == nil || *in.ActionsEnabled),
		OKActions: nonNil(in.OKActions), AlarmActions: nonNil(in.AlarmActions), InsufficientDataActions: nonNil(in.InsufficientDataActions),
		ActionsSuppressor: in.ActionsSuppressor, ActionsSuppressorWaitPeriod: in.ActionsSuppressorWaitPeriod, ActionsSuppressorExtensionPeriod: in.ActionsSuppressorExtensionPeriod,
	}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		old, err := loadAlarm(tx, c, name)
		if err != nil {
			return err
		}
		rec := &alarmRecord{Composite: m, Tags: in.Tags}
		summary, typ := fmt.Sprintf("Alarm %q created", name), "Create"
		if old != nil {
			if old.Metric != nil {
				return awsapi.Errorf(codeValidationError, "Alarm %s is a metric alarm; PutCompositeAlarm cannot change it.", name)
			}
			o := old.Composite
			m.StateValue, m.StateReason, m.StateReasonData = o.StateValue, o.StateReason, o.StateReasonData
			m.StateUpdatedTimestamp, m.StateTransitionedTimestamp = o.StateUpdatedTimestamp, o.StateTransitionedTimestamp
			rec.Tags = old.Tags
			summary, typ = fmt.Sprintf("Alarm %q updated", name), "Update"
		} else {
			m.StateValue, m.StateReason = ptr(cwapi.StateValueInsufficientData), ptr("Unchecked: Initial alarm creation")
			m.StateUpdatedTimestamp, m.StateTransitionedTimestamp = awsapi.Time(now), awsapi.Time(now)
		}
		if err := putAlarm(tx, c, rec, now); err != nil {
			return err
		}
		return addHistory(tx, c, rec, cwapi.HistoryItemTypeConfigurationUpdate, summary, map[string]any{"version": "1.0", "type": typ}, now)
	})
	if err != nil {
		return nil, s.internal(err)
	}
	return &cwapi.PutCompositeAlarmOutput{}, nil
}

// listAlarms returns the caller's alarms in name order.
func listAlarms(tx store.Tx, c caller) ([]*alarmRecord, error) {
	recs, _, err := store.AllDocs[*alarmRecord](tx, KindAlarm, c.Account, c.Region, "", store.Page{})
	return recs, err
}

func hasActionPrefix(a *alarmRecord, prefix string) bool {
	for _, st := range []string{"OK", "ALARM", "INSUFFICIENT_DATA"} {
		for _, act := range a.actions(st) {
			if strings.HasPrefix(act, prefix) {
				return true
			}
		}
	}
	return false
}

func maxRecords(v *int32, def int) int {
	if v == nil || *v <= 0 || int(*v) > def {
		return def
	}
	return int(*v)
}

func (s *Service) DescribeAlarms(ctx context.Context, in *cwapi.DescribeAlarmsInput) (*cwapi.DescribeAlarmsOutput, error) {
	c := callerOf(ctx)
	if len(in.AlarmNames) > 0 && in.AlarmNamePrefix != nil {
		return nil, cwapi.NewInvalidParameterCombinationException("AlarmNames and AlarmNamePrefix are mutually exclusive.")
	}
	if len(in.AlarmNames) > maxAlarmNames {
		return nil, awsapi.Errorf(codeValidationError, "The collection AlarmNames must not have a size greater than %d.", maxAlarmNames)
	}
	if in.ChildrenOfAlarmName != nil || in.ParentsOfAlarmName != nil {
		var out *cwapi.DescribeAlarmsOutput
		err := s.st.View(ctx, func(tx store.Tx) (err error) {
			out, err = describeRelatives(tx, c, in)
			return err
		})
		if err != nil {
			return nil, s.internal(err)
		}
		return out, nil
	}
	types := in.AlarmTypes
	if len(types) == 0 {
		types = []cwapi.AlarmType{cwapi.AlarmTypeMetricAlarm}
	}
	after := ""
	if t := deref(in.NextToken); t != "" {
		raw, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil {
			return nil, cwapi.NewInvalidNextToken("The NextToken is not valid.")
		}
		after = string(raw)
	}
	limit := maxRecords(in.MaxRecords, 100)
	if in.MaxRecords == nil {
		limit = 50
	}
	out := &cwapi.DescribeAlarmsOutput{MetricAlarms: []cwapi.MetricAlarm{}, CompositeAlarms: []cwapi.CompositeAlarm{}}
	err := s.st.View(ctx, func(tx store.Tx) error {
		// Alarms are stored by name, so a page is a scan from the token
		// that stops one match past the page.
		n := 0
		return store.ListDocs(tx, KindAlarm, c.Account, c.Region, "", after, func(_ string, a *alarmRecord) (bool, error) {
			name := a.name()
			if len(in.AlarmNames) > 0 && !slices.Contains(in.AlarmNames, name) ||
				in.AlarmNamePrefix != nil && !strings.HasPrefix(name, *in.AlarmNamePrefix) ||
				in.StateValue != nil && a.state() != string(*in.StateValue) ||
				in.ActionPrefix != nil && !hasActionPrefix(a, *in.ActionPrefix) ||
				!slices.Contains(types, a.alarmType()) {
				return true, nil
			}
			if n == limit {
				out.NextToken = ptr(base64.RawURLEncoding.EncodeToString([]byte(lastName(out))))
				return false, nil
			}
			n++
			if a.Metric != nil {
				out.MetricAlarms = append(out.MetricAlarms, *a.Metric)
			} else {
				out.CompositeAlarms = append(out.CompositeAlarms, *a.Composite)
			}
			return true, nil
		})
	})
	if err != nil {
		return nil, s.internal(err)
	}
	return out, nil
}

// lastName is the greatest alarm name of a page, its token.
func lastName(out *cwapi.DescribeAlarmsOutput) string {
	last := ""
	for _, m := range out.MetricAlarms {
		last = max(last, deref(m.AlarmName))
	}
	for _, m := range out.CompositeAlarms {
		last = max(last, deref(m.AlarmName))
	}
	return last
}

func (s *Service) DescribeAlarmsForMetric(ctx context.Context, in *cwapi.DescribeAlarmsForMetricInput) (*cwapi.DescribeAlarmsForMetricOutput, error) {
	c := callerOf(ctx)
	dims, err := dimsOf(in.Dimensions, "Dimensions")
	if err != nil {
		return nil, err
	}
	want := metricKey(deref(in.Namespace), deref(in.MetricName), dims)
	out := &cwapi.DescribeAlarmsForMetricOutput{MetricAlarms: []cwapi.MetricAlarm{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		recs, err := listAlarms(tx, c)
		if err != nil {
			return err
		}
		for _, a := range recs {
			m := a.Metric
			if m == nil {
				continue
			}
			ms := alarmMetricStat(m)
			if ms == nil || ms.Metric == nil {
				continue
			}
			d, _ := dimsOf(ms.Metric.Dimensions, "Dimensions")
			if metricKey(deref(ms.Metric.Namespace), deref(ms.Metric.MetricName), d) != want ||
				in.Statistic != nil && deref(ms.Stat) != string(*in.Statistic) ||
				in.ExtendedStatistic != nil && deref(ms.Stat) != *in.ExtendedStatistic ||
				in.Period != nil && deref(ms.Period) != *in.Period ||
				in.Unit != nil && (ms.Unit == nil || *ms.Unit != *in.Unit) {
				continue
			}
			out.MetricAlarms = append(out.MetricAlarms, *m)
		}
		return nil
	})
	if err != nil {
		return nil, s.internal(err)
	}
	return out, nil
}

// alarmPeriod is the period of a math alarm: its MetricStats'.
func alarmPeriod(queries []cwapi.MetricDataQuery) int32 {
	for _, q := range queries {
		if q.MetricStat != nil {
			return deref(q.MetricStat.Period)
		}
	}
	for _, q := range queries {
		if q.Period != nil {
			return *q.Period
		}
	}
	return 0
}

// alarmMetricStat is the metric an alarm watches as a MetricStat: its
// single metric, or the returning query of its Metrics when that is a
// MetricStat; nil for a metric math alarm.
func alarmMetricStat(m *cwapi.MetricAlarm) *cwapi.MetricStat {
	if len(m.Metrics) == 0 {
		stat := string(deref(m.Statistic))
		if m.ExtendedStatistic != nil {
			stat = *m.ExtendedStatistic
		}
		return &cwapi.MetricStat{
			Metric: &cwapi.Metric{Namespace: m.Namespace, MetricName: m.MetricName, Dimensions: m.Dimensions},
			Period: m.Period, Stat: ptr(stat), Unit: m.Unit,
		}
	}
	for _, q := range m.Metrics {
		if q.ReturnData == nil || *q.ReturnData {
			return q.MetricStat
		}
	}
	return nil
}

func (s *Service) DeleteAlarms(ctx context.Context, in *cwapi.DeleteAlarmsInput) (*cwapi.DeleteAlarmsOutput, error) {
	c := callerOf(ctx)
	if len(in.AlarmNames) > maxAlarmNames {
		return nil, awsapi.Errorf(codeValidationError, "The collection AlarmNames must not have a size greater than %d.", maxAlarmNames)
	}
	// AWS answers success for names that do not exist (deleting is
	// idempotent, which CloudFormation and Terraform rely on).
	err := s.st.Update(ctx, func(tx store.Tx) error {
		for _, name := range in.AlarmNames {
			if err := store.DeleteDoc(tx, KindAlarm, c.Account, c.Region, name); err != nil {
				return err
			}
			if err := store.DeleteDoc(tx, KindIndex, "", "", indexID(c, name)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, s.internal(err)
	}
	return &cwapi.DeleteAlarmsOutput{}, nil
}

func (s *Service) SetAlarmState(ctx context.Context, in *cwapi.SetAlarmStateInput) (*cwapi.SetAlarmStateOutput, error) {
	c := callerOf(ctx)
	name, state, reason, data := deref(in.AlarmName), string(deref(in.StateValue)), deref(in.StateReason), deref(in.StateReasonData)
	if data != "" && !json.Valid([]byte(data)) {
		return nil, cwapi.NewInvalidFormatFault("The StateReasonData is not valid JSON.")
	}
	now := s.clock()
	var change *AlarmChange
	var rec *alarmRecord
	err := s.st.Update(ctx, func(tx store.Tx) error {
		a, err := loadAlarm(tx, c, name)
		if err != nil {
			return err
		}
		if a == nil {
			return cwapi.NewResourceNotFound("Alarm %s not found", name)
		}
		rec, change = a, nil
		oldReason := deref(stateReason(a))
		old := a.setState(state, reason, data, now)
		if err := putAlarm(tx, c, a, now); err != nil {
			return err
		}
		if old == state {
			return nil
		}
		change = &AlarmChange{AlarmName: name, AlarmARN: a.arn(), OldState: old, NewState: state, Reason: reason, Timestamp: now}
		return addHistory(tx, c, a, cwapi.HistoryItemTypeStateUpdate, fmt.Sprintf("Alarm updated from %s to %s", old, state),
			map[string]any{"version": "1.0", "oldState": stateData(old, oldReason, ""), "newState": stateData(state, reason, data)}, now)
	})
	if err != nil {
		return nil, s.internal(err)
	}
	if change != nil {
		s.runActions(ctx, c, rec, *change)
	}
	return &cwapi.SetAlarmStateOutput{}, nil
}

func stateReason(a *alarmRecord) *string {
	if a.Metric != nil {
		return a.Metric.StateReason
	}
	return a.Composite.StateReason
}

func (s *Service) setActionsEnabled(ctx context.Context, names []string, enabled bool) error {
	c := callerOf(ctx)
	if len(names) > maxAlarmNames {
		return awsapi.Errorf(codeValidationError, "The collection AlarmNames must not have a size greater than %d.", maxAlarmNames)
	}
	now := s.clock()
	err := s.st.Update(ctx, func(tx store.Tx) error {
		for _, name := range names {
			a, err := loadAlarm(tx, c, name)
			if err != nil {
				return err
			}
			if a == nil || a.actionsEnabled() == enabled {
				continue
			}
			if a.Metric != nil {
				a.Metric.ActionsEnabled = ptr(enabled)
			} else {
				a.Composite.ActionsEnabled = ptr(enabled)
			}
			if err := putAlarm(tx, c, a, now); err != nil {
				return err
			}
			verb := "disabled"
			if enabled {
				verb = "enabled"
			}
			if err := addHistory(tx, c, a, cwapi.HistoryItemTypeConfigurationUpdate, fmt.Sprintf("Alarm actions %s for %q", verb, name),
				map[string]any{"version": "1.0", "type": "Update", "actionsEnabled": enabled}, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.internal(err)
	}
	return nil
}

func (s *Service) EnableAlarmActions(ctx context.Context, in *cwapi.EnableAlarmActionsInput) (*cwapi.EnableAlarmActionsOutput, error) {
	return &cwapi.EnableAlarmActionsOutput{}, s.setActionsEnabled(ctx, in.AlarmNames, true)
}

func (s *Service) DisableAlarmActions(ctx context.Context, in *cwapi.DisableAlarmActionsInput) (*cwapi.DisableAlarmActionsOutput, error) {
	return &cwapi.DisableAlarmActionsOutput{}, s.setActionsEnabled(ctx, in.AlarmNames, false)
}

func (s *Service) DescribeAlarmHistory(ctx context.Context, in *cwapi.DescribeAlarmHistoryInput) (*cwapi.DescribeAlarmHistoryOutput, error) {
	c := callerOf(ctx)
	types := in.AlarmTypes
	if len(types) == 0 {
		types = []cwapi.AlarmType{cwapi.AlarmTypeMetricAlarm, cwapi.AlarmTypeCompositeAlarm}
	}
	var items []cwapi.AlarmHistoryItem
	err := s.st.View(ctx, func(tx store.Tx) error {
		return store.ListDocs(tx, KindHistory, c.Account, c.Region, "", "", func(_ string, h *historyRecord) (bool, error) {
			it := h.Item
			at := it.Timestamp.Time
			if in.AlarmName != nil && deref(it.AlarmName) != *in.AlarmName ||
				in.HistoryItemType != nil && deref(it.HistoryItemType) != *in.HistoryItemType ||
				!slices.Contains(types, deref(it.AlarmType)) ||
				in.StartDate != nil && at.Before(in.StartDate.Time) ||
				in.EndDate != nil && at.After(in.EndDate.Time) {
				return true, nil
			}
			items = append(items, it)
			return true, nil
		})
	})
	if err != nil {
		return nil, s.internal(err)
	}
	if in.ScanBy != nil && *in.ScanBy == cwapi.ScanByTimestampAscending {
		slices.Reverse(items)
	}
	start := 0
	if t := deref(in.NextToken); t != "" {
		raw, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil {
			return nil, cwapi.NewInvalidNextToken("The NextToken is not valid.")
		}
		if _, err := fmt.Sscanf(string(raw), "%d", &start); err != nil || start < 0 || start > len(items) {
			return nil, cwapi.NewInvalidNextToken("The NextToken is not valid.")
		}
	}
	end := min(len(items), start+maxRecords(in.MaxRecords, 100))
	out := &cwapi.DescribeAlarmHistoryOutput{AlarmHistoryItems: nonNil(items[start:end])}
	if end < len(items) {
		out.NextToken = ptr(base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d", end)))
	}
	return out, nil
}

// alarmOfARN finds the alarm an ARN names in the caller's account.
func alarmOfARN(c caller, arn string) (string, error) {
	prefix := "arn:aws:cloudwatch:" + c.Region + ":" + c.Account + ":alarm:"
	if !strings.HasPrefix(arn, prefix) || len(arn) == len(prefix) {
		return "", cwapi.NewResourceNotFoundException("Berth has no CloudWatch resource %s: tags are kept on alarms (%s<name>).", arn, prefix)
	}
	return strings.TrimPrefix(arn, prefix), nil
}

func (s *Service) updateTags(ctx context.Context, arn string, fn func(*alarmRecord) error) error {
	c := callerOf(ctx)
	name, err := alarmOfARN(c, arn)
	if err != nil {
		return err
	}
	now := s.clock()
	err = s.st.Update(ctx, func(tx store.Tx) error {
		a, err := loadAlarm(tx, c, name)
		if err != nil {
			return err
		}
		if a == nil {
			return cwapi.NewResourceNotFoundException("Alarm %s does not exist.", name)
		}
		if err := fn(a); err != nil {
			return err
		}
		return putAlarm(tx, c, a, now)
	})
	if err != nil {
		return s.internal(err)
	}
	return nil
}

func (s *Service) TagResource(ctx context.Context, in *cwapi.TagResourceInput) (*cwapi.TagResourceOutput, error) {
	return &cwapi.TagResourceOutput{}, s.updateTags(ctx, deref(in.ResourceARN), func(a *alarmRecord) error {
		for _, t := range in.Tags {
			i := slices.IndexFunc(a.Tags, func(o cwapi.Tag) bool { return deref(o.Key) == deref(t.Key) })
			if i >= 0 {
				a.Tags[i] = t
			} else {
				a.Tags = append(a.Tags, t)
			}
		}
		return checkTags(a.Tags)
	})
}

func (s *Service) UntagResource(ctx context.Context, in *cwapi.UntagResourceInput) (*cwapi.UntagResourceOutput, error) {
	return &cwapi.UntagResourceOutput{}, s.updateTags(ctx, deref(in.ResourceARN), func(a *alarmRecord) error {
		a.Tags = slices.DeleteFunc(a.Tags, func(t cwapi.Tag) bool { return slices.Contains(in.TagKeys, deref(t.Key)) })
		return nil
	})
}

func (s *Service) ListTagsForResource(ctx context.Context, in *cwapi.ListTagsForResourceInput) (*cwapi.ListTagsForResourceOutput, error) {
	c := callerOf(ctx)
	name, err := alarmOfARN(c, deref(in.ResourceARN))
	if err != nil {
		return nil, err
	}
	var tags []cwapi.Tag
	err = s.st.View(ctx, func(tx store.Tx) error {
		a, err := loadAlarm(tx, c, name)
		if err != nil {
			return err
		}
		if a == nil {
			return cwapi.NewResourceNotFoundException("Alarm %s does not exist.", name)
		}
		tags = a.Tags
		return nil
	})
	if err != nil {
		return nil, s.internal(err)
	}
	return &cwapi.ListTagsForResourceOutput{Tags: nonNil(tags)}, nil
}

// AlarmStates returns the states of the named alarms for other Berth
// services; names without an alarm are absent.
func (s *Service) AlarmStates(ctx context.Context, account, region string, names []string) (map[string]string, error) {
	c := caller{Account: account, Region: region}
	out := map[string]string{}
	err := s.st.View(ctx, func(tx store.Tx) error {
		for _, name := range names {
			a, err := loadAlarm(tx, c, name)
			if err != nil {
				return err
			}
			if a != nil {
				out[name] = a.state()
			}
		}
		return nil
	})
	return out, err
}
