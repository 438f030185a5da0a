package appautoscaling

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	aasapi "github.com/berth-dev/berth/api/applicationautoscaling"
	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/store/sqlite"
)

// fakeECS is one cluster of services whose tasks are all RUNNING as soon
// as the desired count says so, each with one container.
type fakeECS struct {
	mu      sync.Mutex
	desired map[string]int32 // service name → desired count
	updates []int32
}

func (f *fakeECS) DescribeServices(_ context.Context, in *ecsapi.DescribeServicesInput) (*ecsapi.DescribeServicesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &ecsapi.DescribeServicesOutput{}
	if deref(in.Cluster) != "c" {
		return nil, fmt.Errorf("ClusterNotFoundException")
	}
	for _, n := range in.Services {
		if d, ok := f.desired[n]; ok {
			out.Services = append(out.Services, ecsapi.ServiceShape{ServiceName: ptr(n), Status: ptr("ACTIVE"), DesiredCount: ptr(d)})
		}
	}
	return out, nil
}

func (f *fakeECS) UpdateService(_ context.Context, in *ecsapi.UpdateServiceInput) (*ecsapi.UpdateServiceOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.desired[deref(in.Service)] = deref(in.DesiredCount)
	f.updates = append(f.updates, deref(in.DesiredCount))
	return &ecsapi.UpdateServiceOutput{}, nil
}

func (f *fakeECS) ListTasks(_ context.Context, in *ecsapi.ListTasksInput) (*ecsapi.ListTasksOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &ecsapi.ListTasksOutput{}
	for i := range f.desired[deref(in.ServiceName)] {
		out.TaskArns = append(out.TaskArns, fmt.Sprintf("task-%d", i))
	}
	return out, nil
}

func (f *fakeECS) DescribeTasks(_ context.Context, in *ecsapi.DescribeTasksInput) (*ecsapi.DescribeTasksOutput, error) {
	out := &ecsapi.DescribeTasksOutput{}
	for _, a := range in.Tasks {
		out.Tasks = append(out.Tasks, ecsapi.Task{TaskArn: ptr(a), LastStatus: ptr("RUNNING"), Cpu: ptr("512"), Memory: ptr("1024"),
			Containers: []ecsapi.Container{{RuntimeId: ptr("ctr-" + a), LastStatus: ptr("RUNNING")}}})
	}
	return out, nil
}

// fakeStats reports every container using cpuUnits of CPU and 256 MiB.
type fakeStats struct {
	mu       sync.Mutex
	cpuUnits float64
}

func (f *fakeStats) ContainerStats(context.Context, runtime.ContainerID) (json.RawMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// One CPU host: cpu/system deltas of units/1024.
	return json.RawMessage(fmt.Sprintf(`{"cpu_stats": {"cpu_usage": {"total_usage": %d}, "system_cpu_usage": 2000000, "online_cpus": 1},
		"precpu_stats": {"cpu_usage": {"total_usage": 0}, "system_cpu_usage": 1000000, "online_cpus": 1},
		"memory_stats": {"usage": 268435456, "limit": 1073741824}}`, int(f.cpuUnits/1024*1000000))), nil
}

func newTestService(t *testing.T) (*Service, *fakeECS, *fakeStats, *time.Time) {
	t.Helper()
	st, err := sqlite.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ecs := &fakeECS{desired: map[string]int32{"web": 1, "api": 2}}
	stats := &fakeStats{}
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s, err := New(Options{Store: st, ECS: ecs, Stats: stats, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return s, ecs, stats, &now
}

func code(err error) string {
	if e := awsapi.AsError(err); e != nil {
		return e.Code
	}
	return fmt.Sprint(err)
}

var (
	ecsNS  = ptr(aasapi.ServiceNamespaceEcs)
	ecsDim = ptr(aasapi.ScalableDimensionEcsServiceDesiredCount)
)

func register(s *Service, resource string, minC, maxC int32) error {
	_, err := s.RegisterScalableTarget(context.Background(), &aasapi.RegisterScalableTargetInput{ServiceNamespace: ecsNS,
		ResourceId: ptr(resource), ScalableDimension: ecsDim, MinCapacity: ptr(minC), MaxCapacity: ptr(maxC)})
	return err
}

func TestTargetsPoliciesAndDeregister(t *testing.T) {
	s, ecs, _, _ := newTestService(t)
	ctx := context.Background()
	if err := register(s, "service/c/nope", 1, 2); code(err) != "ValidationException" || !strings.Contains(err.Error(), "ECS service doesn't exist") {
		t.Fatalf("missing service: %v", err)
	}
	if err := register(s, "service/c/web", 3, 2); code(err) != "ValidationException" {
		t.Fatalf("min > max: %v", err)
	}
	// A minimum above the count raises it at once.
	if err := register(s, "service/c/web", 2, 5); err != nil {
		t.Fatal(err)
	}
	if ecs.desired["web"] != 2 {
		t.Fatalf("desired after register: %d", ecs.desired["web"])
	}
	if err := register(s, "service/c/api", 1, 3); err != nil {
		t.Fatal(err)
	}
	// Pages of one.
	var seen []string
	var token *string
	for {
		out, err := s.DescribeScalableTargets(ctx, &aasapi.DescribeScalableTargetsInput{ServiceNamespace: ecsNS, MaxResults: ptr(int32(1)), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range out.ScalableTargets {
			seen = append(seen, deref(tg.ResourceId))
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if strings.Join(seen, ",") != "service/c/api,service/c/web" {
		t.Fatalf("paged targets: %v", seen)
	}
	put := func(name string) error {
		_, err := s.PutScalingPolicy(ctx, &aasapi.PutScalingPolicyInput{PolicyName: ptr(name), ServiceNamespace: ecsNS, ResourceId: ptr("service/c/web"),
			ScalableDimension: ecsDim, PolicyType: ptr(aasapi.PolicyTypeTargetTrackingScaling),
			TargetTrackingScalingPolicyConfiguration: &aasapi.TargetTrackingScalingPolicyConfiguration{TargetValue: ptr(50.0),
				PredefinedMetricSpecification: &aasapi.PredefinedMetricSpecification{PredefinedMetricType: ptr(aasapi.MetricTypeECSServiceAverageCPUUtilization)}}})
		return err
	}
	if err := put("cpu"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutScheduledAction(ctx, &aasapi.PutScheduledActionInput{ServiceNamespace: ecsNS, ScheduledActionName: ptr("night"),
		ResourceId: ptr("service/c/web"), ScalableDimension: ecsDim, Schedule: ptr("cron(0 22 * * ? *)"),
		ScalableTargetAction: &aasapi.ScalableTargetAction{MaxCapacity: ptr(int32(1))}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeregisterScalableTarget(ctx, &aasapi.DeregisterScalableTargetInput{ServiceNamespace: ecsNS, ResourceId: ptr("service/c/web"), ScalableDimension: ecsDim}); err != nil {
		t.Fatal(err)
	}
	pols, _ := s.DescribeScalingPolicies(ctx, &aasapi.DescribeScalingPoliciesInput{ServiceNamespace: ecsNS})
	acts, _ := s.DescribeScheduledActions(ctx, &aasapi.DescribeScheduledActionsInput{ServiceNamespace: ecsNS})
	if len(pols.ScalingPolicies) != 0 || len(acts.ScheduledActions) != 0 {
		t.Fatalf("left after deregister: %+v %+v", pols, acts)
	}
	if err := put("cpu"); code(err) != "ObjectNotFoundException" {
		t.Fatalf("policy on a deregistered target: %v", err)
	}
}

func TestTargetTrackingScalesOutFastAndInGradually(t *testing.T) {
	s, ecs, stats, now := newTestService(t)
	ctx := context.Background()
	ecs.desired["web"] = 10
	if err := register(s, "service/c/web", 1, 20); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutScalingPolicy(ctx, &aasapi.PutScalingPolicyInput{PolicyName: ptr("cpu"), ServiceNamespace: ecsNS, ResourceId: ptr("service/c/web"),
		ScalableDimension: ecsDim, PolicyType: ptr(aasapi.PolicyTypeTargetTrackingScaling),
		TargetTrackingScalingPolicyConfiguration: &aasapi.TargetTrackingScalingPolicyConfiguration{TargetValue: ptr(50.0),
			ScaleOutCooldown: ptr(int32(60)), ScaleInCooldown: ptr(int32(0)),
			PredefinedMetricSpecification: &aasapi.PredefinedMetricSpecification{PredefinedMetricType: ptr(aasapi.MetricTypeECSServiceAverageCPUUtilization)}}}); err != nil {
		t.Fatal(err)
	}
	tick := func() { *now = now.Add(15 * time.Second); s.tick(ctx) }
	// 75% of 512 units against a target of 50%: 10 tasks → 15 at once.
	stats.cpuUnits = 384
	tick()
	if ecs.desired["web"] != 15 {
		t.Fatalf("after scale-out: %d", ecs.desired["web"])
	}
	// Within the scale-out cooldown nothing more happens.
	tick()
	if ecs.desired["web"] != 15 {
		t.Fatalf("scaled out within the cooldown: %d", ecs.desired["web"])
	}
	// 10%: scale-in waits for 3 low samples, then removes a tenth per step.
	stats.cpuUnits = 51.2
	tick()
	tick()
	if ecs.desired["web"] != 15 {
		t.Fatalf("scaled in before 3 low samples: %d", ecs.desired["web"])
	}
	tick()
	if ecs.desired["web"] != 14 {
		t.Fatalf("first scale-in step: %d", ecs.desired["web"])
	}
	out, err := s.DescribeScalingActivities(ctx, &aasapi.DescribeScalingActivitiesInput{ServiceNamespace: ecsNS})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ScalingActivities) != 2 {
		t.Fatalf("activities: %+v", out.ScalingActivities)
	}
	newest, first := out.ScalingActivities[0], out.ScalingActivities[1]
	if deref(first.Description) != "Setting desired count to 15." || !strings.Contains(deref(first.Cause), "AlarmHigh") ||
		!strings.Contains(deref(first.Details), "at 75.0 over 10 RUNNING task(s)") ||
		deref(newest.Description) != "Setting desired count to 14." || !strings.Contains(deref(newest.Cause), "AlarmLow") {
		t.Fatalf("activities: %q %q %q / %q %q", deref(first.Description), deref(first.Cause), deref(first.Details), deref(newest.Description), deref(newest.Cause))
	}
	// Suspended scale-in holds the count.
	if _, err := s.RegisterScalableTarget(ctx, &aasapi.RegisterScalableTargetInput{ServiceNamespace: ecsNS, ResourceId: ptr("service/c/web"),
		ScalableDimension: ecsDim, SuspendedState: &aasapi.SuspendedState{DynamicScalingInSuspended: ptr(true)}}); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		tick()
	}
	if ecs.desired["web"] != 14 {
		t.Fatalf("scaled in while suspended: %d", ecs.desired["web"])
	}
}
