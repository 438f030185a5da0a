package codedeploy

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	cdapi "github.com/berth-dev/berth/api/codedeploy"
	ecsapi "github.com/berth-dev/berth/api/ecs"
	elbv2 "github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/elb"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/store/sqlite"
)

const (
	account = "123456789012"
	region  = "us-east-1"
	prodL   = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/0123456789abcdef/1111111111111111"
	testL   = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/0123456789abcdef/2222222222222222"
	tgBlue  = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-blue/aaaaaaaaaaaaaaaa"
	tgGreen = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-green/bbbbbbbbbbbbbbbb"
)

// fakeECS is an ECS service with task sets (CODE_DEPLOY controller) kept
// in memory: task sets become steady with all tasks running at once unless
// told otherwise.
type fakeECS struct {
	mu         sync.Mutex
	controller string
	sets       []*ecsapi.TaskSet
	creates    int
	next       int
	steady     bool
	stopped    map[string][]string // task set id → stopped task ARNs
	createErr  error
	calls      []string
}

func newFakeECS() *fakeECS {
	f := &fakeECS{controller: "CODE_DEPLOY", steady: true, stopped: map[string][]string{}}
	f.sets = []*ecsapi.TaskSet{{Id: new("ecs-svc/0000000000000000001"), Status: new("PRIMARY"), TaskDefinition: new("arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"),
		ComputedDesiredCount: new(int32(2)), RunningCount: new(int32(2)), PendingCount: new(int32(0)), StabilityStatus: new(ecsapi.StabilityStatusSteadyState),
		LaunchType:    new(ecsapi.LaunchTypeEc2),
		LoadBalancers: []ecsapi.LoadBalancer{{TargetGroupArn: new(tgBlue), ContainerName: new("web"), ContainerPort: new(int32(8080))}}}}
	return f
}

func (f *fakeECS) DescribeServices(ctx context.Context, in *ecsapi.DescribeServicesInput) (*ecsapi.DescribeServicesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if str(in.Cluster) != "prod" || len(in.Services) != 1 || in.Services[0] != "web" {
		return &ecsapi.DescribeServicesOutput{Failures: []ecsapi.Failure{{Reason: new("MISSING")}}}, nil
	}
	ctl := ecsapi.DeploymentControllerType(f.controller)
	return &ecsapi.DescribeServicesOutput{Services: []ecsapi.ServiceShape{{ServiceArn: new("arn:aws:ecs:us-east-1:123456789012:service/prod/web"), ServiceName: new("web"),
		Status: new("ACTIVE"), DeploymentController: &ecsapi.DeploymentController{Type: &ctl}}}}, nil
}

func (f *fakeECS) DescribeTaskSets(ctx context.Context, in *ecsapi.DescribeTaskSetsInput) (*ecsapi.DescribeTaskSetsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &ecsapi.DescribeTaskSetsOutput{}
	for _, ts := range f.sets {
		c := *ts
		out.TaskSets = append(out.TaskSets, c)
	}
	return out, nil
}

func (f *fakeECS) CreateTaskSet(ctx context.Context, in *ecsapi.CreateTaskSetInput) (*ecsapi.CreateTaskSetOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id := awsapi.IdentityFrom(ctx); id.AccountID != account || id.Region != region {
		return nil, fmt.Errorf("CreateTaskSet called as %s/%s", id.AccountID, id.Region)
	}
	f.calls = append(f.calls, "CreateTaskSet")
	if f.createErr != nil {
		return nil, f.createErr
	}
	f.creates++
	f.next++
	stab, running := ecsapi.StabilityStatusStabilizing, int32(0)
	if f.steady {
		stab, running = ecsapi.StabilityStatusSteadyState, 2
	}
	ts := &ecsapi.TaskSet{Id: new(fmt.Sprintf("ecs-svc/%019d", 100+f.next)), Status: new("ACTIVE"), ExternalId: in.ExternalId, TaskDefinition: in.TaskDefinition,
		LoadBalancers: in.LoadBalancers, Scale: in.Scale, LaunchType: in.LaunchType, NetworkConfiguration: in.NetworkConfiguration,
		ComputedDesiredCount: new(int32(2)), RunningCount: &running, PendingCount: new(int32(0)), StabilityStatus: &stab}
	f.sets = append(f.sets, ts)
	c := *ts
	return &ecsapi.CreateTaskSetOutput{TaskSet: &c}, nil
}

func (f *fakeECS) setSteady() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.steady = true
	for _, ts := range f.sets {
		ts.StabilityStatus, ts.RunningCount = new(ecsapi.StabilityStatusSteadyState), new(int32(2))
	}
}

func (f *fakeECS) UpdateServicePrimaryTaskSet(ctx context.Context, in *ecsapi.UpdateServicePrimaryTaskSetInput) (*ecsapi.UpdateServicePrimaryTaskSetOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "UpdateServicePrimaryTaskSet "+str(in.PrimaryTaskSet))
	var found *ecsapi.TaskSet
	for _, ts := range f.sets {
		if str(ts.Id) == str(in.PrimaryTaskSet) {
			found = ts
		}
	}
	if found == nil {
		return nil, ecsapi.NewTaskSetNotFoundException("The specified task set does not exist.")
	}
	for _, ts := range f.sets {
		ts.Status = new("ACTIVE")
	}
	found.Status = new("PRIMARY")
	c := *found
	return &ecsapi.UpdateServicePrimaryTaskSetOutput{TaskSet: &c}, nil
}

func (f *fakeECS) DeleteTaskSet(ctx context.Context, in *ecsapi.DeleteTaskSetInput) (*ecsapi.DeleteTaskSetOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "DeleteTaskSet "+str(in.TaskSet))
	for i, ts := range f.sets {
		if str(ts.Id) == str(in.TaskSet) {
			f.sets = slices.Delete(f.sets, i, i+1)
			return &ecsapi.DeleteTaskSetOutput{TaskSet: ts}, nil
		}
	}
	return nil, ecsapi.NewTaskSetNotFoundException("The specified task set does not exist.")
}

func (f *fakeECS) ListTasks(ctx context.Context, in *ecsapi.ListTasksInput) (*ecsapi.ListTasksOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &ecsapi.ListTasksOutput{TaskArns: append([]string{}, f.stopped[str(in.StartedBy)]...)}, nil
}

func (f *fakeECS) setIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, ts := range f.sets {
		ids = append(ids, str(ts.Id)+"="+str(ts.Status))
	}
	return ids
}

// fakeLB has the two target groups and two listeners of a blue/green
// setup, both listeners forwarding to the blue group.
type fakeLB struct {
	mu        sync.Mutex
	listeners map[string][]elb.WeightedTargetGroup
	healthy   map[string]int
	history   []string
}

func newFakeLB() *fakeLB {
	return &fakeLB{listeners: map[string][]elb.WeightedTargetGroup{prodL: {{ARN: tgBlue, Weight: 1}}, testL: {{ARN: tgBlue, Weight: 1}}},
		healthy: map[string]int{tgBlue: 2, tgGreen: 2}}
}

func (f *fakeLB) DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput) (*elbv2.DescribeTargetGroupsOutput, error) {
	out := &elbv2.DescribeTargetGroupsOutput{}
	for _, n := range in.Names {
		switch n {
		case "web-blue":
			out.TargetGroups = append(out.TargetGroups, elbv2.TargetGroup{TargetGroupArn: new(tgBlue), TargetGroupName: new(n)})
		case "web-green":
			out.TargetGroups = append(out.TargetGroups, elbv2.TargetGroup{TargetGroupArn: new(tgGreen), TargetGroupName: new(n)})
		default:
			return nil, elbv2.NewTargetGroupNotFoundException("One or more target groups not found")
		}
	}
	return out, nil
}

func (f *fakeLB) TargetGroup(ctx context.Context, acct, reg, arn string) (elb.TargetGroupInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	info := elb.TargetGroupInfo{ARN: arn}
	for l, groups := range f.listeners {
		for _, g := range groups {
			if g.ARN == arn {
				info.ListenerARNs = append(info.ListenerARNs, l)
			}
		}
	}
	return info, nil
}

func (f *fakeLB) TargetHealth(ctx context.Context, acct, reg, arn string) ([]elb.TargetHealth, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []elb.TargetHealth
	for i := 0; i < f.healthy[arn]; i++ {
		out = append(out, elb.TargetHealth{Target: elb.Target{ID: fmt.Sprint("10.0.0.", i)}, State: elb.StateHealthy})
	}
	return out, nil
}

func (f *fakeLB) ForwardListener(ctx context.Context, acct, reg, listener string, groups []elb.WeightedTargetGroup) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.listeners[listener]; !ok {
		return elbv2.NewListenerNotFoundException("One or more listeners not found")
	}
	f.listeners[listener] = groups
	f.history = append(f.history, fmt.Sprintf("%s %s", name(listener), weights(groups)))
	return nil
}

// greenShare is green's production weight in percent.
func (f *fakeLB) greenShare(listener string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	total, green := int32(0), int32(0)
	for _, g := range f.listeners[listener] {
		total += g.Weight
		if g.ARN == tgGreen {
			green += g.Weight
		}
	}
	if total == 0 {
		return 0
	}
	return int(green * 100 / total)
}

func name(listener string) string {
	if listener == prodL {
		return "prod"
	}
	return "test"
}

func weights(groups []elb.WeightedTargetGroup) string {
	s := ""
	for _, g := range groups {
		s += fmt.Sprintf("%s=%d ", tgName(g.ARN), g.Weight)
	}
	return s
}

// harness is a CodeDeploy service on a real SQLite store with fake ECS and
// ELB and a clock the test moves.
type harness struct {
	t     *testing.T
	st    store.Store
	ecs   *fakeECS
	lb    *fakeLB
	svc   *Service
	clock time.Time
	ctx   context.Context
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &harness{t: t, st: st, ecs: newFakeECS(), lb: newFakeLB(), clock: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC),
		ctx: awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: account, Region: region})}
	h.restart()
	return h
}

// restart replaces the service by a new one on the same store, as a Berth
// restarted after kill -9 does; ECS and ELB keep their state.
func (h *harness) restart() {
	svc, err := New(Options{Store: h.st, ECS: h.ecs, LoadBalancer: h.lb, Minute: time.Minute, Now: func() time.Time { return h.clock }})
	if err != nil {
		h.t.Fatal(err)
	}
	h.svc = svc
}

func (h *harness) advance(d time.Duration) { h.clock = h.clock.Add(d) }

// settle runs engine passes until nothing changes.
func (h *harness) settle() {
	h.t.Helper()
	for range 10 {
		if err := h.svc.Reconcile(h.ctx); err != nil {
			h.t.Fatal(err)
		}
	}
}

// setup creates the application and deployment group of the tests.
func (h *harness) setup(config string, mutate func(*cdapi.CreateDeploymentGroupInput)) {
	h.t.Helper()
	if _, err := h.svc.CreateApplication(h.ctx, &cdapi.CreateApplicationInput{ApplicationName: new("web"), ComputePlatform: new(cdapi.ComputePlatformEcs)}); err != nil {
		h.t.Fatal(err)
	}
	in := groupInput(config)
	if mutate != nil {
		mutate(in)
	}
	if _, err := h.svc.CreateDeploymentGroup(h.ctx, in); err != nil {
		h.t.Fatal(err)
	}
}

func groupInput(config string) *cdapi.CreateDeploymentGroupInput {
	return &cdapi.CreateDeploymentGroupInput{
		ApplicationName: new("web"), DeploymentGroupName: new("web-dg"), DeploymentConfigName: new(config),
		ServiceRoleArn:  new("arn:aws:iam::123456789012:role/ecsCodeDeployRole"),
		EcsServices:     []cdapi.ECSService{{ClusterName: new("prod"), ServiceName: new("web")}},
		DeploymentStyle: &cdapi.DeploymentStyle{DeploymentType: new(cdapi.DeploymentTypeBlueGreen), DeploymentOption: new(cdapi.DeploymentOptionWithTrafficControl)},
		BlueGreenDeploymentConfiguration: &cdapi.BlueGreenDeploymentConfiguration{
			DeploymentReadyOption:                     &cdapi.DeploymentReadyOption{ActionOnTimeout: new(cdapi.DeploymentReadyActionContinueDeployment)},
			TerminateBlueInstancesOnDeploymentSuccess: &cdapi.BlueInstanceTerminationOption{Action: new(cdapi.InstanceActionTerminate), TerminationWaitTimeInMinutes: new(int32(5))},
		},
		AutoRollbackConfiguration: &cdapi.AutoRollbackConfiguration{Enabled: new(true), Events: []cdapi.AutoRollbackEvent{cdapi.AutoRollbackEventDeploymentFailure}},
		LoadBalancerInfo: &cdapi.LoadBalancerInfo{TargetGroupPairInfoList: []cdapi.TargetGroupPairInfo{{
			TargetGroups:     []cdapi.TargetGroupInfo{{Name: new("web-blue")}, {Name: new("web-green")}},
			ProdTrafficRoute: &cdapi.TrafficRoute{ListenerArns: []string{prodL}},
			TestTrafficRoute: &cdapi.TrafficRoute{ListenerArns: []string{testL}},
		}}},
	}
}

const webAppSpec = `version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2"
        LoadBalancerInfo:
          ContainerName: "web"
          ContainerPort: 8080
Hooks:
  - BeforeInstall: "LambdaFunctionToValidateBeforeInstall"
`

func (h *harness) deploy() string {
	h.t.Helper()
	out, err := h.svc.CreateDeployment(h.ctx, &cdapi.CreateDeploymentInput{ApplicationName: new("web"), DeploymentGroupName: new("web-dg"),
		Revision: &cdapi.RevisionLocation{RevisionType: new(cdapi.RevisionLocationTypeAppSpecContent), AppSpecContent: &cdapi.AppSpecContent{Content: new(webAppSpec)}}})
	if err != nil {
		h.t.Fatal(err)
	}
	return *out.DeploymentId
}

func (h *harness) deployment(id string) cdapi.DeploymentInfo {
	h.t.Helper()
	out, err := h.svc.GetDeployment(h.ctx, &cdapi.GetDeploymentInput{DeploymentId: new(id)})
	if err != nil {
		h.t.Fatal(err)
	}
	return *out.DeploymentInfo
}

func (h *harness) status(id string) string { return string(*h.deployment(id).Status) }

func (h *harness) target(id string) *cdapi.ECSTarget {
	h.t.Helper()
	out, err := h.svc.GetDeploymentTarget(h.ctx, &cdapi.GetDeploymentTargetInput{DeploymentId: new(id), TargetId: new("prod:web")})
	if err != nil {
		h.t.Fatal(err)
	}
	return out.DeploymentTarget.EcsTarget
}

func (h *harness) events(id string) map[string]string {
	m := map[string]string{}
	for _, e := range h.target(id).LifecycleEvents {
		m[*e.LifecycleEventName] = string(*e.Status)
	}
	return m
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	e := awsapi.AsError(err)
	if e == nil || e.Code != code {
		t.Errorf("%s: got %v, want %s", what, err, code)
	}
}
