package ecs

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
)

// groupLB is a load balancer that keeps targets per target group: they
// turn healthy when registered and drain for 100 ms when deregistered.
type groupLB struct {
	mu     sync.Mutex
	groups map[string]map[Target]string
}

func (f *groupLB) RegisterTargets(_ context.Context, _, _, tg string, ts []Target) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.groups[tg] == nil {
		f.groups[tg] = map[Target]string{}
	}
	for _, t := range ts {
		f.groups[tg][t] = "healthy"
	}
	return nil
}

func (f *groupLB) DeregisterTargets(_ context.Context, _, _, tg string, ts []Target) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range ts {
		f.groups[tg][t] = "draining"
		time.AfterFunc(100*time.Millisecond, func() {
			f.mu.Lock()
			delete(f.groups[tg], t)
			f.mu.Unlock()
		})
	}
	return nil
}

func (f *groupLB) TargetHealth(_ context.Context, _, _, tg string) (map[Target]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[Target]string{}
	for t, s := range f.groups[tg] {
		out[t] = s
	}
	return out, nil
}

func (f *groupLB) count(tg, state string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.groups[tg] {
		if s == state {
			n++
		}
	}
	return n
}

func describeTaskSet(t *testing.T, svc *Service, ctx context.Context, service, id string) (ecsapi.TaskSet, bool) {
	t.Helper()
	out, err := svc.DescribeTaskSets(ctx, &ecsapi.DescribeTaskSetsInput{Cluster: ptr("default"), Service: ptr(service), TaskSets: []string{id}, Include: []ecsapi.TaskSetField{ecsapi.TaskSetFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.TaskSets) == 0 {
		if len(out.Failures) != 1 || deref(out.Failures[0].Reason) != "MISSING" {
			t.Fatalf("describe task set %s: %+v", id, out.Failures)
		}
		return ecsapi.TaskSet{}, false
	}
	return out.TaskSets[0], true
}

// tasksOf lists the service's tasks started by a task set that are not
// STOPPED, and whether each is RUNNING.
func tasksOf(t *testing.T, svc *Service, ctx context.Context, service, startedBy string) (running, other int) {
	t.Helper()
	l, err := svc.ListTasks(ctx, &ecsapi.ListTasksInput{ServiceName: ptr(service)})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.TaskArns) == 0 {
		return 0, 0
	}
	d, err := svc.DescribeTasks(ctx, &ecsapi.DescribeTasksInput{Tasks: l.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range d.Tasks {
		if deref(task.StartedBy) != startedBy {
			continue
		}
		if deref(task.Group) != "service:"+service {
			t.Fatalf("task group %q", deref(task.Group))
		}
		switch deref(task.LastStatus) {
		case TaskRunning:
			running++
		case TaskStopped:
		default:
			other++
		}
	}
	return running, other
}

func TestExternalServiceTaskSets(t *testing.T) {
	svc, wake, ctx := newTestService(t)
	svc.services.interval = 50 * time.Millisecond
	svc.services.stable = 20 * time.Millisecond
	lb := &groupLB{groups: map[string]map[Target]string{}}
	svc.SetLoadBalancer(lb)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go (&svcAgent{src: svc, host: svc.LocalHostID()}).run(runCtx, wake)
	go svc.Run(runCtx)
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, fargateDef("web")))
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, fargateDef("web")))
	tgA := "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/0123456789abcdef"
	tgB := "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/green/0123456789abcdef"
	lbOf := func(tg string) []ecsapi.LoadBalancer {
		return []ecsapi.LoadBalancer{{TargetGroupArn: ptr(tg), ContainerName: ptr("web"), ContainerPort: ptr(int32(80))}}
	}
	external := &ecsapi.DeploymentController{Type: ptr(ecsapi.DeploymentControllerTypeExternal)}

	_, err := svc.CreateService(ctx, &ecsapi.CreateServiceInput{ServiceName: ptr("web"), TaskDefinition: ptr("web"), DesiredCount: ptr(int32(2)), DeploymentController: external})
	wantCode(t, "a task definition on an EXTERNAL service", err, "InvalidParameterException", "TaskDefinition must be blank.")
	must[*ecsapi.CreateServiceOutput](t)(svc.CreateService(ctx, &ecsapi.CreateServiceInput{ServiceName: ptr("web"), DesiredCount: ptr(int32(2)),
		LaunchType: ptr(ecsapi.LaunchTypeFargate), DeploymentController: external}))
	s := describeSvc(t, svc, ctx, "web")
	if len(s.Deployments) != 0 || s.TaskSets == nil || len(s.TaskSets) != 0 || s.TaskDefinition != nil {
		t.Fatalf("a new EXTERNAL service: deployments %+v, taskSets %+v, taskDefinition %v", s.Deployments, s.TaskSets, s.TaskDefinition)
	}
	time.Sleep(200 * time.Millisecond)
	if r, o := tasksOf(t, svc, ctx, "web", ""); r+o != 0 {
		t.Fatalf("an EXTERNAL service without task sets runs %d tasks", r+o)
	}

	// Errors, with AWS's codes.
	ref := func(service, cluster string) (*string, *string) { return ptr(service), ptr(cluster) }
	svcRef, clRef := ref("web", "default")
	_, err = svc.CreateTaskSet(ctx, &ecsapi.CreateTaskSetInput{Service: ptr("nope"), Cluster: clRef, TaskDefinition: ptr("web")})
	wantCode(t, "an unknown service", err, "ServiceNotFoundException")
	_, err = svc.CreateTaskSet(ctx, &ecsapi.CreateTaskSetInput{Service: svcRef, Cluster: ptr("nope"), TaskDefinition: ptr("web")})
	wantCode(t, "an unknown cluster", err, "ClusterNotFoundException")
	_, err = svc.CreateTaskSet(ctx, &ecsapi.CreateTaskSetInput{Service: svcRef, Cluster: clRef, TaskDefinition: ptr("web"), Scale: &ecsapi.Scale{Value: ptr(150.0), Unit: ptr(ecsapi.ScaleUnitPercent)}})
	wantCode(t, "a scale over 100", err, "InvalidParameterException", "between 0 and 100")
	_, err = svc.CreateTaskSet(ctx, &ecsapi.CreateTaskSetInput{Service: svcRef, Cluster: clRef, TaskDefinition: ptr("web")})
	wantCode(t, "awsvpc without a network configuration", err, "InvalidParameterException", "Network Configuration must be provided")
	_, err = svc.CreateTaskSet(ctx, &ecsapi.CreateTaskSetInput{Service: svcRef, Cluster: clRef, TaskDefinition: ptr("nope:1"), NetworkConfiguration: awsvpcNet()})
	wantCode(t, "an unknown task definition", err, "ClientException", "TaskDefinition not found.")
	_, err = svc.UpdateTaskSet(ctx, &ecsapi.UpdateTaskSetInput{Service: svcRef, Cluster: clRef, TaskSet: ptr("ecs-svc/1234"), Scale: &ecsapi.Scale{Value: ptr(0.0)}})
	wantCode(t, "an unknown task set", err, "TaskSetNotFoundException")
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, fargateDef("plain")))
	must[*ecsapi.CreateServiceOutput](t)(svc.CreateService(ctx, &ecsapi.CreateServiceInput{ServiceName: ptr("plain"), TaskDefinition: ptr("plain"), DesiredCount: ptr(int32(0)), NetworkConfiguration: awsvpcNet(), LaunchType: ptr(ecsapi.LaunchTypeFargate)}))
	_, err = svc.CreateTaskSet(ctx, &ecsapi.CreateTaskSetInput{Service: ptr("plain"), Cluster: clRef, TaskDefinition: ptr("plain"), NetworkConfiguration: awsvpcNet()})
	wantCode(t, "a service of the ECS controller", err, "InvalidParameterException", "only supports task set management on services configured to use external deployment controllers")

	_, err = svc.UpdateService(ctx, &ecsapi.UpdateServiceInput{Service: svcRef, TaskDefinition: ptr("web:1")})
	wantCode(t, "a task definition for an EXTERNAL service", err, "InvalidParameterException", "Unable to update task definition on services with a EXTERNAL deployment controller.")

	// Task set A (blue), at 100%.
	a := must[*ecsapi.CreateTaskSetOutput](t)(svc.CreateTaskSet(ctx, &ecsapi.CreateTaskSetInput{Service: svcRef, Cluster: clRef, TaskDefinition: ptr("web:1"),
		NetworkConfiguration: awsvpcNet(), LoadBalancers: lbOf(tgA), ExternalId: ptr("blue"), ClientToken: ptr("tok-a"),
		Scale: &ecsapi.Scale{Value: ptr(100.0), Unit: ptr(ecsapi.ScaleUnitPercent)}, Tags: []ecsapi.Tag{{Key: ptr("color"), Value: ptr("blue")}}})).TaskSet
	aID := deref(a.Id)
	if !regexp.MustCompile(`^ecs-svc/\d{19}$`).MatchString(aID) ||
		deref(a.TaskSetArn) != "arn:aws:ecs:us-east-1:123456789012:task-set/default/web/"+aID ||
		deref(a.Status) != "ACTIVE" || deref(a.ComputedDesiredCount) != 2 || deref(a.StabilityStatus) != "STABILIZING" ||
		deref(a.ExternalId) != "blue" || deref(a.LaunchType) != "FARGATE" || deref(a.PlatformVersion) != "LATEST" || a.StartedBy != nil {
		t.Fatalf("task set A: %+v", a)
	}
	again := must[*ecsapi.CreateTaskSetOutput](t)(svc.CreateTaskSet(ctx, &ecsapi.CreateTaskSetInput{Service: svcRef, Cluster: clRef, TaskDefinition: ptr("web:1"),
		NetworkConfiguration: awsvpcNet(), ClientToken: ptr("tok-a")})).TaskSet
	if deref(again.Id) != aID {
		t.Fatalf("a retry with the same clientToken made task set %s", deref(again.Id))
	}
	eventually(t, "task set A steady with 2 healthy targets in blue", func() bool {
		ts, _ := describeTaskSet(t, svc, ctx, "web", deref(a.TaskSetArn))
		return deref(ts.RunningCount) == 2 && deref(ts.StabilityStatus) == "STEADY_STATE" && lb.count(tgA, "healthy") == 2
	})
	if r, _ := tasksOf(t, svc, ctx, "web", aID); r != 2 {
		t.Fatalf("%d running tasks started by %s", r, aID)
	}
	ts, _ := describeTaskSet(t, svc, ctx, "web", aID)
	if len(ts.Tags) != 1 || deref(ts.Tags[0].Value) != "blue" {
		t.Fatalf("task set tags %+v", ts.Tags)
	}
	must[*ecsapi.TagResourceOutput](t)(svc.TagResource(ctx, &ecsapi.TagResourceInput{ResourceArn: a.TaskSetArn, Tags: []ecsapi.Tag{{Key: ptr("team"), Value: ptr("web")}}}))
	tags := must[*ecsapi.ListTagsForResourceOutput](t)(svc.ListTagsForResource(ctx, &ecsapi.ListTagsForResourceInput{ResourceArn: a.TaskSetArn})).Tags
	if len(tags) != 2 {
		t.Fatalf("task set tags after TagResource: %+v", tags)
	}
	p := must[*ecsapi.UpdateServicePrimaryTaskSetOutput](t)(svc.UpdateServicePrimaryTaskSet(ctx, &ecsapi.UpdateServicePrimaryTaskSetInput{Service: svcRef, Cluster: clRef, PrimaryTaskSet: ptr(aID)})).TaskSet
	if deref(p.Status) != "PRIMARY" {
		t.Fatalf("primary: %+v", p)
	}
	eventually(t, "the service steady on task set A", func() bool {
		s := describeSvc(t, svc, ctx, "web")
		return deref(s.RunningCount) == 2 && hasEvent(s, "has reached a steady state.") && hasEvent(s, "(service web, taskSet "+aID+") updated state to STEADY_STATE.") &&
			strings.HasSuffix(deref(s.TaskDefinition), "task-definition/web:1") && len(s.TaskSets) == 1
	})

	// Task set B (green), at 50% of 2: one task.
	b := must[*ecsapi.CreateTaskSetOutput](t)(svc.CreateTaskSet(ctx, &ecsapi.CreateTaskSetInput{Service: svcRef, Cluster: clRef, TaskDefinition: ptr("web:2"),
		NetworkConfiguration: awsvpcNet(), LoadBalancers: lbOf(tgB), Scale: &ecsapi.Scale{Value: ptr(50.0), Unit: ptr(ecsapi.ScaleUnitPercent)}})).TaskSet
	bID := deref(b.Id)
	if deref(b.ComputedDesiredCount) != 1 {
		t.Fatalf("task set B at 50%% of 2: %d", deref(b.ComputedDesiredCount))
	}
	eventually(t, "task set B running in green", func() bool {
		ts, _ := describeTaskSet(t, svc, ctx, "web", bID)
		return deref(ts.RunningCount) == 1 && lb.count(tgB, "healthy") == 1 && lb.count(tgA, "healthy") == 2
	})
	must[*ecsapi.UpdateTaskSetOutput](t)(svc.UpdateTaskSet(ctx, &ecsapi.UpdateTaskSetInput{Service: svcRef, Cluster: clRef, TaskSet: ptr(bID), Scale: &ecsapi.Scale{Value: ptr(100.0), Unit: ptr(ecsapi.ScaleUnitPercent)}}))
	must[*ecsapi.UpdateServicePrimaryTaskSetOutput](t)(svc.UpdateServicePrimaryTaskSet(ctx, &ecsapi.UpdateServicePrimaryTaskSetInput{Service: svcRef, Cluster: clRef, PrimaryTaskSet: b.TaskSetArn}))
	ts, _ = describeTaskSet(t, svc, ctx, "web", aID)
	if deref(ts.Status) != "ACTIVE" {
		t.Fatalf("the old primary is %s", deref(ts.Status))
	}
	_, err = svc.DeleteTaskSet(ctx, &ecsapi.DeleteTaskSetInput{Service: svcRef, Cluster: clRef, TaskSet: ptr(aID)})
	wantCode(t, "deleting a task set above 0%", err, "InvalidParameterException", "scaled above 0")
	must[*ecsapi.UpdateTaskSetOutput](t)(svc.UpdateTaskSet(ctx, &ecsapi.UpdateTaskSetInput{Service: svcRef, Cluster: clRef, TaskSet: ptr(aID), Scale: &ecsapi.Scale{Value: ptr(0.0), Unit: ptr(ecsapi.ScaleUnitPercent)}}))
	eventually(t, "task set A's tasks drained and stopped, B at 2", func() bool {
		ra, oa := tasksOf(t, svc, ctx, "web", aID)
		rb, _ := tasksOf(t, svc, ctx, "web", bID)
		return ra+oa == 0 && rb == 2 && len(lb.groups[tgA]) == 0 && lb.count(tgB, "healthy") == 2
	})
	d := must[*ecsapi.DeleteTaskSetOutput](t)(svc.DeleteTaskSet(ctx, &ecsapi.DeleteTaskSetInput{Service: svcRef, Cluster: clRef, TaskSet: a.TaskSetArn})).TaskSet
	if deref(d.Status) != "DRAINING" {
		t.Fatalf("a deleted task set is %s", deref(d.Status))
	}
	eventually(t, "task set A forgotten", func() bool {
		_, found := describeTaskSet(t, svc, ctx, "web", aID)
		s := describeSvc(t, svc, ctx, "web")
		return !found && len(s.TaskSets) == 1 && deref(s.TaskSets[0].Id) == bID && deref(s.TaskSets[0].Status) == "PRIMARY"
	})

	// A forced delete of the primary stops its tasks.
	must[*ecsapi.DeleteTaskSetOutput](t)(svc.DeleteTaskSet(ctx, &ecsapi.DeleteTaskSetInput{Service: svcRef, Cluster: clRef, TaskSet: ptr(bID), Force: ptr(true)}))
	eventually(t, "task set B gone with its tasks", func() bool {
		r, o := tasksOf(t, svc, ctx, "web", bID)
		s := describeSvc(t, svc, ctx, "web")
		return r+o == 0 && len(s.TaskSets) == 0 && deref(s.RunningCount) == 0
	})
}

func TestCodeDeployServiceInitialTaskSet(t *testing.T) {
	svc, wake, ctx := newTestService(t)
	svc.services.interval = 50 * time.Millisecond
	svc.services.stable = 20 * time.Millisecond
	lb := &groupLB{groups: map[string]map[Target]string{}}
	svc.SetLoadBalancer(lb)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go (&svcAgent{src: svc, host: svc.LocalHostID()}).run(runCtx, wake)
	go svc.Run(runCtx)
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, fargateDef("app")))
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, fargateDef("app")))
	tg := "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/0123456789abcdef"
	in := &ecsapi.CreateServiceInput{ServiceName: ptr("app"), TaskDefinition: ptr("app:1"), DesiredCount: ptr(int32(2)), LaunchType: ptr(ecsapi.LaunchTypeFargate),
		NetworkConfiguration: awsvpcNet(), DeploymentController: &ecsapi.DeploymentController{Type: ptr(ecsapi.DeploymentControllerTypeCodeDeploy)}}
	_, err := svc.CreateService(ctx, in)
	wantCode(t, "CODE_DEPLOY without a load balancer", err, "InvalidParameterException", "load")
	in.LoadBalancers = []ecsapi.LoadBalancer{{TargetGroupArn: ptr(tg), ContainerName: ptr("web"), ContainerPort: ptr(int32(80))}}
	out := must[*ecsapi.CreateServiceOutput](t)(svc.CreateService(ctx, in)).Service
	if len(out.TaskSets) != 1 || deref(out.TaskSets[0].Status) != "PRIMARY" || deref(deref(out.TaskSets[0].Scale).Value) != 100 ||
		deref(out.TaskSets[0].ComputedDesiredCount) != 2 || len(out.Deployments) != 0 {
		t.Fatalf("CODE_DEPLOY service: taskSets %+v deployments %+v", out.TaskSets, out.Deployments)
	}
	id := deref(out.TaskSets[0].Id)
	eventually(t, "the initial task set running behind the load balancer", func() bool {
		s := describeSvc(t, svc, ctx, "app")
		return deref(s.RunningCount) == 2 && deref(s.TaskSets[0].StabilityStatus) == "STEADY_STATE" && lb.count(tg, "healthy") == 2 &&
			hasEvent(s, "has reached a steady state.")
	})
	_, err = svc.UpdateService(ctx, &ecsapi.UpdateServiceInput{Service: ptr("app"), TaskDefinition: ptr("app:2")})
	wantCode(t, "a new task definition", err, "InvalidParameterException", "Unable to update task definition on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment.")
	must[*ecsapi.UpdateServiceOutput](t)(svc.UpdateService(ctx, &ecsapi.UpdateServiceInput{Service: ptr("app"), DesiredCount: ptr(int32(3))}))
	eventually(t, "3 tasks after desiredCount 3", func() bool {
		r, _ := tasksOf(t, svc, ctx, "app", id)
		s := describeSvc(t, svc, ctx, "app")
		return r == 3 && deref(s.TaskSets[0].ComputedDesiredCount) == 3 && deref(s.RunningCount) == 3
	})
	// CodeDeploy's replacement task set, as the CodeDeploy service makes it
	// through the Go interface.
	green := must[*ecsapi.CreateTaskSetOutput](t)(svc.CreateTaskSet(ctx, &ecsapi.CreateTaskSetInput{Service: ptr("app"), Cluster: ptr("default"),
		TaskDefinition: ptr("app:2"), ExternalId: ptr("d-ABCDEF123"), NetworkConfiguration: awsvpcNet(), LaunchType: ptr(ecsapi.LaunchTypeFargate),
		LoadBalancers: []ecsapi.LoadBalancer{{TargetGroupArn: ptr(tg + "0"), ContainerName: ptr("web"), ContainerPort: ptr(int32(80))}},
		Scale:         &ecsapi.Scale{Value: ptr(100.0), Unit: ptr(ecsapi.ScaleUnitPercent)}})).TaskSet
	if deref(green.StartedBy) != "CODE_DEPLOY" || deref(green.ExternalId) != "d-ABCDEF123" {
		t.Fatalf("replacement task set: %+v", green)
	}
	must[*ecsapi.DeleteServiceOutput](t)(svc.DeleteService(ctx, &ecsapi.DeleteServiceInput{Service: ptr("app"), Force: ptr(true)}))
	eventually(t, "the deleted service INACTIVE without tasks", func() bool {
		s := describeSvc(t, svc, ctx, "app")
		r1, o1 := tasksOf(t, svc, ctx, "app", id)
		r2, o2 := tasksOf(t, svc, ctx, "app", deref(green.Id))
		return deref(s.Status) == "INACTIVE" && r1+o1+r2+o2 == 0 && !slices.ContainsFunc(s.TaskSets, func(ts ecsapi.TaskSet) bool { return true })
	})
}

func TestComputedDesiredCountRoundsUp(t *testing.T) {
	for _, c := range []struct {
		desired int
		scale   float64
		want    int
	}{
		{2, 100, 2}, {2, 50, 1}, {3, 50, 2}, {10, 12.5, 2}, {3, 100.0 / 3, 1}, {5, 0, 0}, {0, 100, 0}, {1, 0.1, 1}, {4, 75, 3},
	} {
		if got := computedCount(c.desired, c.scale); got != c.want {
			t.Errorf("computedCount(%d, %v) = %d, want %d", c.desired, c.scale, got, c.want)
		}
	}
}
