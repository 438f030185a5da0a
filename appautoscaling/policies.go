package appautoscaling

import (
	"context"

	aasapi "github.com/berth-dev/berth/api/applicationautoscaling"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// Target tracking's cooldown defaults for ECS, in seconds (AWS: 300 each).
const defaultCooldown = 300

func policyARN(c caller, id, namespace, resourceID, name string) string {
	return "arn:aws:autoscaling:" + c.Region + ":" + c.Account + ":scalingPolicy:" + id +
		":resource/" + namespace + "/" + resourceID + ":policyName/" + name
}

// alarmNames are the alarms AWS creates for a target tracking policy.
// Berth has no CloudWatch alarms: its controller evaluates the same
// conditions itself, and names them so in the activities it records.
func alarmNames(resourceID, alarmID string) (high, low string) {
	return "TargetTracking-" + resourceID + "-AlarmHigh-" + alarmID, "TargetTracking-" + resourceID + "-AlarmLow-" + alarmID
}

func alarms(c caller, resourceID, alarmID string) []aasapi.Alarm {
	high, low := alarmNames(resourceID, alarmID)
	arn := func(n string) string { return "arn:aws:cloudwatch:" + c.Region + ":" + c.Account + ":alarm:" + n }
	return []aasapi.Alarm{{AlarmName: ptr(high), AlarmARN: ptr(arn(high))}, {AlarmName: ptr(low), AlarmARN: ptr(arn(low))}}
}

// checkPolicy validates a policy's configuration against its type.
func checkPolicy(in *aasapi.PutScalingPolicyInput) error {
	typ := deref(in.PolicyType)
	if typ == "" {
		typ = aasapi.PolicyTypeStepScaling
		in.PolicyType = ptr(typ)
	}
	switch typ {
	case aasapi.PolicyTypeTargetTrackingScaling:
		tt := in.TargetTrackingScalingPolicyConfiguration
		if tt == nil {
			return aasapi.NewValidationException("TargetTrackingScalingPolicyConfiguration is required for a policy of type TargetTrackingScaling.")
		}
		if in.StepScalingPolicyConfiguration != nil {
			return aasapi.NewValidationException("StepScalingPolicyConfiguration is not allowed for a policy of type TargetTrackingScaling.")
		}
		pre, cust := tt.PredefinedMetricSpecification, tt.CustomizedMetricSpecification
		if (pre == nil) == (cust == nil) {
			return aasapi.NewValidationException("Exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification must be specified.")
		}
		if pre != nil {
			m := deref(pre.PredefinedMetricType)
			// Other namespaces' policies are only stored: any metric type of
			// the model goes.
			if deref(in.ServiceNamespace) == aasapi.ServiceNamespaceEcs &&
				m != aasapi.MetricTypeECSServiceAverageCPUUtilization && m != aasapi.MetricTypeECSServiceAverageMemoryUtilization && m != aasapi.MetricTypeALBRequestCountPerTarget {
				return aasapi.NewValidationException("Unsupported predefined metric type %s for service namespace ecs.", m)
			}
			if m == aasapi.MetricTypeALBRequestCountPerTarget && deref(pre.ResourceLabel) == "" {
				return aasapi.NewValidationException("ResourceLabel is required for predefined metric type ALBRequestCountPerTarget.")
			}
		}
		if v := deref(tt.TargetValue); v <= 0 {
			return aasapi.NewValidationException("TargetValue must be greater than 0.")
		}
		if tt.ScaleInCooldown == nil {
			tt.ScaleInCooldown = ptr(int32(defaultCooldown))
		}
		if tt.ScaleOutCooldown == nil {
			tt.ScaleOutCooldown = ptr(int32(defaultCooldown))
		}
		if tt.DisableScaleIn == nil {
			tt.DisableScaleIn = ptr(false)
		}
	case aasapi.PolicyTypeStepScaling:
		sc := in.StepScalingPolicyConfiguration
		if sc == nil {
			return aasapi.NewValidationException("StepScalingPolicyConfiguration is required for a policy of type StepScaling.")
		}
		if in.TargetTrackingScalingPolicyConfiguration != nil {
			return aasapi.NewValidationException("TargetTrackingScalingPolicyConfiguration is not allowed for a policy of type StepScaling.")
		}
		if sc.AdjustmentType == nil {
			return aasapi.NewValidationException("AdjustmentType is required in StepScalingPolicyConfiguration.")
		}
		if len(sc.StepAdjustments) == 0 {
			return aasapi.NewValidationException("StepAdjustments must have at least one step.")
		}
		if err := checkSteps(sc); err != nil {
			return err
		}
	default:
		return aasapi.NewValidationException("Berth does not implement %s policies; use TargetTrackingScaling or StepScaling.", typ)
	}
	return nil
}

func (s *Service) PutScalingPolicy(ctx context.Context, in *aasapi.PutScalingPolicyInput) (*aasapi.PutScalingPolicyOutput, error) {
	c := callerOf(ctx)
	ns, resource, dim := deref(in.ServiceNamespace), deref(in.ResourceId), in.ScalableDimension
	if err := checkECSTarget(ns, dim, resource); err != nil {
		return nil, err
	}
	if err := checkPolicy(in); err != nil {
		return nil, err
	}
	key := targetKey(string(ns), string(*dim), resource)
	name := deref(in.PolicyName)
	now := s.clock()
	var out aasapi.PutScalingPolicyOutput
	var saved policyRecord
	wasTracking := false
	err := s.st.Update(ctx, func(tx store.Tx) error {
		t, err := loadTarget(tx, c, key)
		if err != nil {
			return err
		}
		if t == nil {
			return notRegistered(string(ns), resource, string(*dim))
		}
		old, err := store.GetDoc[policyRecord](tx, KindPolicy, c.Account, c.Region, key+"|"+name)
		if err != nil {
			return err
		}
		rec := policyRecord{AlarmID: newUUID()}
		p := aasapi.ScalingPolicy{PolicyARN: ptr(policyARN(c, newUUID(), string(ns), resource, name)), PolicyName: ptr(name),
			ServiceNamespace: ptr(ns), ResourceId: ptr(resource), ScalableDimension: dim, CreationTime: awsapi.Time(now)}
		if old != nil {
			// An update keeps the policy's identity (ARN, alarms, creation time).
			rec.AlarmID = old.AlarmID
			p.PolicyARN, p.CreationTime = old.Policy.PolicyARN, old.Policy.CreationTime
			wasTracking = deref(old.Policy.PolicyType) == aasapi.PolicyTypeTargetTrackingScaling
		}
		p.PolicyType = in.PolicyType
		p.TargetTrackingScalingPolicyConfiguration = in.TargetTrackingScalingPolicyConfiguration
		p.StepScalingPolicyConfiguration = in.StepScalingPolicyConfiguration
		if *in.PolicyType == aasapi.PolicyTypeTargetTrackingScaling {
			p.Alarms = alarms(c, resource, rec.AlarmID)
		}
		rec.Policy = p
		saved = rec
		out = aasapi.PutScalingPolicyOutput{PolicyARN: p.PolicyARN, Alarms: p.Alarms}
		return store.PutDoc(tx, KindPolicy, c.Account, c.Region, key+"|"+name, &rec, now)
	})
	if err != nil {
		return nil, s.internal(err)
	}
	if wasTracking || *in.PolicyType == aasapi.PolicyTypeTargetTrackingScaling {
		s.syncTrackingAlarms(ctx, c, resource, &saved)
	}
	return &out, nil
}

func (s *Service) DescribeScalingPolicies(ctx context.Context, in *aasapi.DescribeScalingPoliciesInput) (*aasapi.DescribeScalingPoliciesOutput, error) {
	recs, next, err := describeChildren(ctx, s, KindPolicy, deref(in.ServiceNamespace), in.ScalableDimension, in.ResourceId, in.PolicyNames,
		in.NextToken, in.MaxResults, func(r *policyRecord) (string, string) { return deref(r.Policy.ResourceId), deref(r.Policy.PolicyName) })
	if err != nil {
		return nil, err
	}
	res := make([]aasapi.ScalingPolicy, 0, len(recs))
	for _, r := range recs {
		res = append(res, r.Policy)
	}
	return &aasapi.DescribeScalingPoliciesOutput{ScalingPolicies: res, NextToken: next}, nil
}

func (s *Service) DeleteScalingPolicy(ctx context.Context, in *aasapi.DeleteScalingPolicyInput) (*aasapi.DeleteScalingPolicyOutput, error) {
	ns, resource, dim := deref(in.ServiceNamespace), deref(in.ResourceId), in.ScalableDimension
	var alarmsOf []string
	if checkECSTarget(ns, dim, resource) == nil {
		c := callerOf(ctx)
		_ = s.st.View(ctx, func(tx store.Tx) error {
			var err error
			alarmsOf, err = policyAlarmNames(tx, c, targetKey(string(ns), string(*dim), resource), deref(in.PolicyName))
			return err
		})
	}
	id, err := deleteChild[policyRecord](ctx, s, KindPolicy, ns, dim, resource, deref(in.PolicyName), func() error {
		return aasapi.NewObjectNotFoundException("No scaling policy found for service namespace: %s, resource ID: %s, scalable dimension: %s, policy name: %s",
			ns, resource, *dim, deref(in.PolicyName))
	})
	if err != nil {
		return nil, err
	}
	c := callerOf(ctx)
	s.mu.Lock()
	delete(s.lowStreak, c.Account+"|"+c.Region+"|"+id)
	s.mu.Unlock()
	s.dropAlarms(ctx, c, alarmsOf)
	return &aasapi.DeleteScalingPolicyOutput{}, nil
}
