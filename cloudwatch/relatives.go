package cloudwatch

import (
	"encoding/base64"
	"slices"

	cwapi "github.com/berth-dev/berth/api/cloudwatch"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// describeRelatives answers DescribeAlarms with ChildrenOfAlarmName (the
// alarms a composite alarm's rule names: name, ARN, state and its time)
// or ParentsOfAlarmName (the composite alarms whose rule names the alarm:
// name and ARN), as AWS documents. Neither combines with the other
// filters; an alarm that does not exist has no relatives.
func describeRelatives(tx store.Tx, c caller, in *cwapi.DescribeAlarmsInput) (*cwapi.DescribeAlarmsOutput, error) {
	if in.ChildrenOfAlarmName != nil && in.ParentsOfAlarmName != nil ||
		len(in.AlarmNames) > 0 || in.AlarmNamePrefix != nil || in.StateValue != nil || in.ActionPrefix != nil {
		return nil, awsapi.Errorf(codeValidationError, "ChildrenOfAlarmName and ParentsOfAlarmName cannot be combined with each other or with AlarmNames, AlarmNamePrefix, StateValue or ActionPrefix.")
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
	all, err := listAlarms(tx, c)
	if err != nil {
		return nil, err
	}
	var related func(a *alarmRecord) bool
	if name := deref(in.ChildrenOfAlarmName); in.ChildrenOfAlarmName != nil {
		var children []string
		for _, a := range all {
			if a.name() == name && a.Composite != nil {
				if r, err := parseRule(deref(a.Composite.AlarmRule)); err == nil {
					children = r.names(nil)
				}
			}
		}
		related = func(a *alarmRecord) bool { return slices.Contains(children, a.name()) }
	} else {
		name := deref(in.ParentsOfAlarmName)
		related = func(a *alarmRecord) bool {
			if a.Composite == nil || a.name() == name {
				return false
			}
			r, err := parseRule(deref(a.Composite.AlarmRule))
			return err == nil && slices.Contains(r.names(nil), name)
		}
	}
	out := &cwapi.DescribeAlarmsOutput{MetricAlarms: []cwapi.MetricAlarm{}, CompositeAlarms: []cwapi.CompositeAlarm{}}
	n := 0
	for _, a := range all {
		if a.name() <= after || !related(a) || len(in.AlarmTypes) > 0 && !slices.Contains(in.AlarmTypes, a.alarmType()) {
			continue
		}
		if n == limit {
			out.NextToken = ptr(base64.RawURLEncoding.EncodeToString([]byte(lastName(out))))
			break
		}
		n++
		// Children carry their state, parents only who they are.
		children := in.ChildrenOfAlarmName != nil
		if m := a.Metric; m != nil {
			brief := cwapi.MetricAlarm{AlarmName: m.AlarmName, AlarmArn: m.AlarmArn}
			if children {
				brief.StateValue, brief.StateUpdatedTimestamp = m.StateValue, m.StateUpdatedTimestamp
			}
			out.MetricAlarms = append(out.MetricAlarms, brief)
		} else {
			m := a.Composite
			brief := cwapi.CompositeAlarm{AlarmName: m.AlarmName, AlarmArn: m.AlarmArn}
			if children {
				brief.StateValue, brief.StateUpdatedTimestamp = m.StateValue, m.StateUpdatedTimestamp
			}
			out.CompositeAlarms = append(out.CompositeAlarms, brief)
		}
	}
	return out, nil
}
