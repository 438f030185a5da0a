package appautoscaling

import (
	"context"

	aasapi "github.com/berth-dev/berth/api/applicationautoscaling"
	"github.com/berth-dev/berth/store"
)

// A target tracking policy's CloudWatch alarms: AWS creates an AlarmHigh
// and an AlarmLow alarm on the policy's metric, whose actions name the
// policy, and deletes them with it. Berth creates them too (when wired to
// CloudWatch), so they show in DescribeAlarms with real states from the
// AWS/ECS metrics ECS publishes; the controller still decides target
// tracking's scaling from its own measurements (controller.go), and an
// action of these alarms reaching InvokeAlarmAction does nothing more.

// Alarm is a metric alarm to create or replace.
type Alarm struct {
	Name, Description     string
	Namespace, MetricName string
	Dimensions            map[string]string
	Statistic             string
	Period, Evaluations   int32
	Threshold             float64
	Comparison            string
	Actions               []string
}

// Alarms is what target tracking needs of CloudWatch.
type Alarms interface {
	PutAlarm(ctx context.Context, account, region string, a Alarm) error
	DeleteAlarms(ctx context.Context, account, region string, names []string) error
}

// SetAlarms connects target tracking policies to CloudWatch's alarms.
func (s *Service) SetAlarms(a Alarms) {
	s.cwMu.Lock()
	s.cw = a
	s.cwMu.Unlock()
}

func (s *Service) alarmsAPI() Alarms {
	s.cwMu.Lock()
	defer s.cwMu.Unlock()
	return s.cw
}

// trackingAlarmSpecs are the alarms AWS creates for a target tracking
// policy on a metric Berth has: three one-minute datapoints above the
// target for AlarmHigh, fifteen below 90% of it for AlarmLow (none with
// DisableScaleIn).
func trackingAlarmSpecs(resourceID string, p *policyRecord) []Alarm {
	tt := p.Policy.TargetTrackingScalingPolicyConfiguration
	if tt == nil {
		return nil
	}
	cluster, service, _ := ecsResource(resourceID)
	ns, metric, stat := "AWS/ECS", "", "Average"
	dims := map[string]string{"ClusterName": cluster, "ServiceName": service}
	if pre := tt.PredefinedMetricSpecification; pre != nil {
		switch deref(pre.PredefinedMetricType) {
		case aasapi.MetricTypeECSServiceAverageCPUUtilization:
			metric = "CPUUtilization"
		case aasapi.MetricTypeECSServiceAverageMemoryUtilization:
			metric = "MemoryUtilization"
		default:
			return nil
		}
	} else if m := tt.CustomizedMetricSpecification; m != nil && deref(m.MetricName) != "" && len(m.Metrics) == 0 {
		ns, metric, dims = deref(m.Namespace), deref(m.MetricName), map[string]string{}
		for _, d := range m.Dimensions {
			dims[deref(d.Name)] = deref(d.Value)
		}
		if m.Statistic != nil {
			stat = string(*m.Statistic)
		}
	} else {
		return nil
	}
	high, low := alarmNames(resourceID, p.AlarmID)
	desc := "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy " + deref(p.Policy.PolicyARN) + "."
	target := deref(tt.TargetValue)
	out := []Alarm{{Name: high, Description: desc, Namespace: ns, MetricName: metric, Dimensions: dims, Statistic: stat,
		Period: 60, Evaluations: 3, Threshold: target, Comparison: "GreaterThanThreshold", Actions: []string{deref(p.Policy.PolicyARN)}}}
	if !deref(tt.DisableScaleIn) {
		out = append(out, Alarm{Name: low, Description: desc, Namespace: ns, MetricName: metric, Dimensions: dims, Statistic: stat,
			Period: 60, Evaluations: 15, Threshold: target * lowFraction, Comparison: "LessThanThreshold", Actions: []string{deref(p.Policy.PolicyARN)}})
	}
	return out
}

// syncTrackingAlarms creates a target tracking policy's alarms (after its
// write committed) and deletes those it no longer has.
func (s *Service) syncTrackingAlarms(ctx context.Context, c caller, resourceID string, p *policyRecord) {
	cw := s.alarmsAPI()
	if cw == nil || deref(p.Policy.ServiceNamespace) != aasapi.ServiceNamespaceEcs {
		// Other namespaces' policies are only stored (targets.go).
		return
	}
	specs := trackingAlarmSpecs(resourceID, p)
	keep := map[string]bool{}
	for _, a := range specs {
		keep[a.Name] = true
		if err := cw.PutAlarm(ctx, c.Account, c.Region, a); err != nil {
			s.log.Warn("application autoscaling: creating a target tracking alarm", "alarm", a.Name, "err", err)
		}
	}
	var drop []string
	high, low := alarmNames(resourceID, p.AlarmID)
	for _, n := range []string{high, low} {
		if !keep[n] {
			drop = append(drop, n)
		}
	}
	s.dropAlarms(ctx, c, drop)
}

// dropAlarms deletes alarms of deleted target tracking policies.
func (s *Service) dropAlarms(ctx context.Context, c caller, names []string) {
	cw := s.alarmsAPI()
	if cw == nil || len(names) == 0 {
		return
	}
	if err := cw.DeleteAlarms(ctx, c.Account, c.Region, names); err != nil {
		s.log.Warn("application autoscaling: deleting target tracking alarms", "alarms", names, "err", err)
	}
}

// policyAlarmNames names the alarms of a target's target tracking
// policies (all of them, or the one named), read before they are deleted.
func policyAlarmNames(tx store.ResourceTx, c caller, key, only string) ([]string, error) {
	recs, _, err := store.AllDocs[policyRecord](tx, KindPolicy, c.Account, c.Region, key+"|", store.Page{})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range recs {
		if deref(r.Policy.ServiceNamespace) != aasapi.ServiceNamespaceEcs || deref(r.Policy.PolicyType) != aasapi.PolicyTypeTargetTrackingScaling ||
			only != "" && deref(r.Policy.PolicyName) != only {
			continue
		}
		high, low := alarmNames(deref(r.Policy.ResourceId), r.AlarmID)
		out = append(out, high, low)
	}
	return out, nil
}
