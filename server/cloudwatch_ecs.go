package server

import (
	"context"
	"maps"
	"slices"

	cwapi "github.com/berth-dev/berth/api/cloudwatch"
	"github.com/berth-dev/berth/appautoscaling"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/cloudwatch"
	"github.com/berth-dev/berth/ecs"
)

// envECSMetricsInterval overrides how often ECS publishes its services'
// AWS/ECS metrics in CloudWatch (default a minute; tests use less).
const envECSMetricsInterval = "BERTH_ECS_METRICS_INTERVAL"

// wireCloudWatchECS connects ECS and Application Auto Scaling to
// CloudWatch: deployment alarms read alarm states, alarm actions naming a
// scaling policy run it, and ECS publishes its service metrics.
func (s *Server) wireCloudWatchECS() error {
	cw := s.cloudwatch
	if s.ecs == nil || cw == nil {
		return nil
	}
	interval, err := envDuration(envECSMetricsInterval)
	if err != nil {
		return err
	}
	s.ecs.SetAlarms(cw)
	if s.aas == nil {
		return nil
	}
	cw.SetActionInvoker(alarmActions{aas: s.aas})
	s.aas.SetAlarms(trackingAlarms{cw: cw})
	pub := metricPublisher{cw: cw}
	use := serviceUsage{aas: s.aas}
	s.loops = append(s.loops, func(ctx context.Context) { s.ecs.PublishMetrics(ctx, interval, use, pub) })
	return nil
}

// alarmActions runs CloudWatch alarm actions: those naming an Application
// Auto Scaling policy run it; Berth has no other action target.
type alarmActions struct{ aas *appautoscaling.Service }

func (a alarmActions) InvokeAlarmAction(ctx context.Context, account, region, actionARN string, ch cloudwatch.AlarmChange) error {
	if !appautoscaling.IsPolicyARN(actionARN) {
		return errUnsupportedAction(actionARN)
	}
	return a.aas.InvokeAlarmAction(ctx, account, region, actionARN, appautoscaling.AlarmChange{
		AlarmName: ch.AlarmName, AlarmARN: ch.AlarmARN, OldState: ch.OldState, NewState: ch.NewState, Reason: ch.Reason,
		Threshold: ch.Threshold, Values: ch.Values, Timestamp: ch.Timestamp,
	})
}

type unsupportedAction string

func (e unsupportedAction) Error() string {
	return "Berth runs Application Auto Scaling policy actions only, not " + string(e)
}

func errUnsupportedAction(arn string) error { return unsupportedAction(arn) }

// metricPublisher puts ECS's metrics through CloudWatch's in-process API.
type metricPublisher struct{ cw *cloudwatch.Service }

func (p metricPublisher) PutMetrics(ctx context.Context, account, region, namespace string, data []ecs.Metric) error {
	out := make([]cloudwatch.Datum, len(data))
	for i, m := range data {
		out[i] = cloudwatch.Datum{MetricName: m.Name, Dimensions: m.Dimensions, Value: m.Value, Unit: m.Unit, Timestamp: m.Timestamp}
	}
	return p.cw.PutMetrics(ctx, account, region, namespace, out)
}

// serviceUsage measures services through Application Auto Scaling's
// reading of the container engine's statistics (one engine client).
type serviceUsage struct{ aas *appautoscaling.Service }

func (u serviceUsage) ServiceUsage(ctx context.Context, account, region, cluster, service string) (ecs.Usage, error) {
	n, cpuUsed, cpuRes, memUsed, memRes, err := u.aas.ServiceUsage(ctx, account, region, cluster, service)
	return ecs.Usage{Tasks: n, CPUUsed: cpuUsed, CPUReserved: cpuRes, MemUsed: memUsed, MemReserved: memRes}, err
}

// trackingAlarms creates and deletes target tracking policies' alarms
// through CloudWatch's API, acting as the policy's account and region.
type trackingAlarms struct{ cw *cloudwatch.Service }

func asCaller(ctx context.Context, account, region string) context.Context {
	return awsapi.WithIdentity(ctx, awsapi.Identity{AccountID: account, Region: region})
}

func (a trackingAlarms) PutAlarm(ctx context.Context, account, region string, al appautoscaling.Alarm) error {
	var dims []cwapi.Dimension
	for _, k := range slices.Sorted(maps.Keys(al.Dimensions)) {
		dims = append(dims, cwapi.Dimension{Name: ptrTo(k), Value: ptrTo(al.Dimensions[k])})
	}
	_, err := a.cw.PutMetricAlarm(asCaller(ctx, account, region), &cwapi.PutMetricAlarmInput{
		AlarmName: ptrTo(al.Name), AlarmDescription: ptrTo(al.Description), AlarmActions: al.Actions,
		Namespace: ptrTo(al.Namespace), MetricName: ptrTo(al.MetricName), Dimensions: dims,
		Statistic: ptrTo(cwapi.Statistic(al.Statistic)), Period: ptrTo(al.Period), EvaluationPeriods: ptrTo(al.Evaluations),
		Threshold: ptrTo(al.Threshold), ComparisonOperator: ptrTo(cwapi.ComparisonOperator(al.Comparison)),
	})
	return err
}

// DeleteAlarms deletes the alarms that exist: DeleteAlarms deletes none
// when one is missing, and a policy's AlarmLow may never have been made.
func (a trackingAlarms) DeleteAlarms(ctx context.Context, account, region string, names []string) error {
	var first error
	for _, n := range names {
		_, err := a.cw.DeleteAlarms(asCaller(ctx, account, region), &cwapi.DeleteAlarmsInput{AlarmNames: []string{n}})
		if e := awsapi.AsError(err); e != nil && e.Code == cwapi.CodeResourceNotFound {
			err = nil
		}
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}
