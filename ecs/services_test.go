package ecs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
)

// svcAgent is a fake task agent for the service controller: it runs every
// task of its host (PROVISIONING → RUNNING) unless fail says the task's
// container exits at once, and stops tasks asked to stop.
type svcAgent struct {
	src  TaskSource
	host string
	fail func(AssignedTask) bool
	// sick says a running task's health check fails (UNHEALTHY), else
	// tasks are HEALTHY.
	sick func(AssignedTask) bool

	mu sync.Mutex
	ip int
}

func (a *svcAgent) run(ctx context.Context, wake *Wakeups) {
	ch, cancel := wake.Subscribe(a.host)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		a.reconcile(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ch:
		case <-tick.C:
		}
	}
}

func (a *svcAgent) reconcile(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	tasks, err := a.src.ListTasksToReconcile(ctx, a.host)
	if err != nil {
		return
	}
	for _, t := range tasks {
		if !t.NeedsAction() && (t.Status.HealthStatus != string(ecsapi.HealthStatusUnknown) || a.sick == nil) {
			continue
		}
		err := a.src.UpdateTaskState(ctx, t.TaskARN, func(st *TaskStatus) error {
			switch {
			case t.DesiredStatus == TaskStopped:
				st.LastStatus = TaskStopped
			case a.fail != nil && a.fail(t):
				st.LastStatus = TaskStopped
				st.StopCode = string(ecsapi.TaskStopCodeEssentialContainerExited)
				st.StoppedReason = "Essential container in task exited"
				for i := range st.Containers {
					st.Containers[i].ExitCode = ptr(int32(1))
				}
			case st.LastStatus == TaskRunning:
				st.HealthStatus = string(ecsapi.HealthStatusHealthy)
				if a.sick != nil && a.sick(t) {
					st.HealthStatus = string(ecsapi.HealthStatusUnhealthy)
				}
			default:
				st.LastStatus = TaskRunning
				if t.NetworkMode == "awsvpc" && st.PrivateIPv4Address == "" {
					a.ip++
					st.PrivateIPv4Address = fmt.Sprintf("10.0.0.%d", a.ip)
				}
				for i := range st.Containers {
					st.Containers[i].LastStatus = ContainerRunning
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, ErrStatusRegression) {
			return
		}
	}
}

// describeSvc returns the service, failing the test on errors.
func describeSvc(t *testing.T, svc *Service, ctx context.Context, name string) ecsapi.ServiceShape {
	t.Helper()
	out, err := svc.DescribeServices(ctx, &ecsapi.DescribeServicesInput{Services: []string{name}, Include: []ecsapi.ServiceField{ecsapi.ServiceFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Services) != 1 {
		t.Fatalf("describe %s: %+v", name, out.Failures)
	}
	return out.Services[0]
}

// stable is what `aws ecs wait services-stable` checks.
func stable(s ecsapi.ServiceShape) bool {
	return len(s.Deployments) == 1 && deref(s.RunningCount) == deref(s.DesiredCount)
}

func hasEvent(s ecsapi.ServiceShape, fragment string) bool {
	return slices.ContainsFunc(s.Events, func(e ecsapi.ServiceEvent) bool { return strings.Contains(deref(e.Message), fragment) })
}

func runningTasks(t *testing.T, svc *Service, ctx context.Context, name string) []ecsapi.Task {
	t.Helper()
	l, err := svc.ListTasks(ctx, &ecsapi.ListTasksInput{ServiceName: ptr(name)})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.TaskArns) == 0 {
		return nil
	}
	d, err := svc.DescribeTasks(ctx, &ecsapi.DescribeTasksInput{Tasks: l.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	var out []ecsapi.Task
	for _, task := range d.Tasks {
		if deref(task.LastStatus) == TaskRunning {
			out = append(out, task)
		}
	}
	return out
}

func TestServiceLifecycle(t *testing.T) {
	svc, wake, ctx := newTestService(t)
	svc.services.interval = 50 * time.Millisecond
	svc.services.stable = 20 * time.Millisecond
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	agent := &svcAgent{src: svc, host: svc.LocalHostID(), fail: func(a AssignedTask) bool {
		return strings.HasSuffix(deref(a.Definition.TaskDefinitionArn), ":3")
	}}
	go agent.run(runCtx, wake)
	go svc.Run(runCtx)

	must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{}))
	for range 3 {
		must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, ec2Def("web", 128, 128)))
	}

	// Bad input first.
	_, err := svc.UpdateService(ctx, &ecsapi.UpdateServiceInput{Service: ptr("nope"), DesiredCount: ptr(int32(1))})
	wantCode(t, "update unknown", err, "ServiceNotFoundException")
	_, err = svc.CreateService(ctx, &ecsapi.CreateServiceInput{ServiceName: ptr("web"), TaskDefinition: ptr("web:1"), DesiredCount: ptr(int32(2)),
		DeploymentConfiguration: &ecsapi.DeploymentConfiguration{MaximumPercent: ptr(int32(300))}})
	wantCode(t, "max 300", err, "InvalidParameterException", "maximumPercent")
	_, err = svc.CreateService(ctx, &ecsapi.CreateServiceInput{ServiceName: ptr("web"), TaskDefinition: ptr("nope:1"), DesiredCount: ptr(int32(2))})
	wantCode(t, "unknown task definition", err, "ClientException")

	created := must[*ecsapi.CreateServiceOutput](t)(svc.CreateService(ctx, &ecsapi.CreateServiceInput{
		ServiceName:    ptr("web"),
		TaskDefinition: ptr("web:1"),
		DesiredCount:   ptr(int32(2)),
		Tags:           []ecsapi.Tag{{Key: ptr("team"), Value: ptr("a")}},
		DeploymentConfiguration: &ecsapi.DeploymentConfiguration{
			DeploymentCircuitBreaker: &ecsapi.DeploymentCircuitBreaker{Enable: ptr(true), Rollback: ptr(true)},
		},
	}))
	if arn := deref(created.Service.ServiceArn); arn != "arn:aws:ecs:us-east-1:123456789012:service/default/web" {
		t.Fatalf("service ARN %s", arn)
	}
	if d := created.Service.Deployments; len(d) != 1 || !strings.HasPrefix(deref(d[0].Id), "ecs-svc/") || deref(d[0].Status) != "PRIMARY" {
		t.Fatalf("deployments %+v", d)
	}
	_, err = svc.CreateService(ctx, &ecsapi.CreateServiceInput{ServiceName: ptr("web"), TaskDefinition: ptr("web:1"), DesiredCount: ptr(int32(2))})
	wantCode(t, "create twice", err, "InvalidParameterException", "idempotent")

	eventually(t, "2 running tasks", func() bool {
		s := describeSvc(t, svc, ctx, "web")
		return stable(s) && deref(s.RunningCount) == 2 && hasEvent(s, "has reached a steady state.")
	})
	s := describeSvc(t, svc, ctx, "web")
	if !hasEvent(s, "(service web) has started 2 tasks: (task ") || deref(s.Deployments[0].RolloutState) != "COMPLETED" {
		t.Fatalf("events %v, rollout %s", s.Events, deref(s.Deployments[0].RolloutState))
	}
	if len(s.Tags) != 1 {
		t.Fatalf("tags %+v", s.Tags)
	}
	tasks := runningTasks(t, svc, ctx, "web")
	if len(tasks) != 2 || !strings.HasPrefix(deref(tasks[0].StartedBy), "ecs-svc/") || deref(tasks[0].Group) != "service:web" {
		t.Fatalf("tasks %+v", tasks)
	}

	// A stopped task is replaced.
	must[*ecsapi.StopTaskOutput](t)(svc.StopTask(ctx, &ecsapi.StopTaskInput{Task: tasks[0].TaskArn}))
	eventually(t, "the stopped task replaced", func() bool {
		ts := runningTasks(t, svc, ctx, "web")
		return len(ts) == 2 && !slices.ContainsFunc(ts, func(x ecsapi.Task) bool { return deref(x.TaskArn) == deref(tasks[0].TaskArn) })
	})

	// Roll out v2.
	must[*ecsapi.UpdateServiceOutput](t)(svc.UpdateService(ctx, &ecsapi.UpdateServiceInput{Service: ptr("web"), TaskDefinition: ptr("web:2")}))
	eventually(t, "v2 rolled out", func() bool {
		s := describeSvc(t, svc, ctx, "web")
		return stable(s) && strings.HasSuffix(deref(s.TaskDefinition), ":2") && deref(s.Deployments[0].RolloutState) == "COMPLETED"
	})
	for _, task := range runningTasks(t, svc, ctx, "web") {
		if !strings.HasSuffix(deref(task.TaskDefinitionArn), ":2") {
			t.Fatalf("task of %s still running", deref(task.TaskDefinitionArn))
		}
	}
	if s := describeSvc(t, svc, ctx, "web"); !hasEvent(s, "has stopped 1 running tasks: (task ") && !hasEvent(s, "has stopped 2 running tasks: (task ") {
		t.Fatalf("no stop event: %+v", s.Events)
	}

	// A broken v3: the circuit breaker fails it and rolls back to v2.
	must[*ecsapi.UpdateServiceOutput](t)(svc.UpdateService(ctx, &ecsapi.UpdateServiceInput{Service: ptr("web"), TaskDefinition: ptr("web:3")}))
	eventually(t, "v3 rolled back", func() bool {
		s := describeSvc(t, svc, ctx, "web")
		return stable(s) && strings.HasSuffix(deref(s.TaskDefinition), ":2") && hasEvent(s, "deployment failed: tasks failed to start.")
	})
	s = describeSvc(t, svc, ctx, "web")
	if !hasEvent(s, ") rolling back to deployment ecs-svc/") {
		t.Fatalf("no rollback event: %+v", s.Events)
	}
	if n := len(runningTasks(t, svc, ctx, "web")); n != 2 {
		t.Fatalf("%d tasks running after the rollback", n)
	}

	// Delete: not while scaled up, unless forced.
	_, err = svc.DeleteService(ctx, &ecsapi.DeleteServiceInput{Service: ptr("web")})
	wantCode(t, "delete scaled up", err, "InvalidParameterException", "scaled above 0")
	_, err = svc.DeleteCluster(ctx, &ecsapi.DeleteClusterInput{Cluster: ptr("default")})
	wantCode(t, "delete cluster with a service", err, "ClusterContainsServicesException")
	must[*ecsapi.DeleteServiceOutput](t)(svc.DeleteService(ctx, &ecsapi.DeleteServiceInput{Service: ptr("web"), Force: ptr(true)}))
	_, err = svc.UpdateService(ctx, &ecsapi.UpdateServiceInput{Service: ptr("web"), DesiredCount: ptr(int32(1))})
	wantCode(t, "update deleted", err, "ServiceNotActiveException")
	eventually(t, "service INACTIVE, no task running", func() bool {
		s := describeSvc(t, svc, ctx, "web")
		return deref(s.Status) == "INACTIVE" && len(runningTasks(t, svc, ctx, "web")) == 0
	})
	l := must[*ecsapi.ListServicesOutput](t)(svc.ListServices(ctx, &ecsapi.ListServicesInput{}))
	if len(l.ServiceArns) != 0 {
		t.Fatalf("listed %v", l.ServiceArns)
	}
	d := must[*ecsapi.DescribeServicesOutput](t)(svc.DescribeServices(ctx, &ecsapi.DescribeServicesInput{Services: []string{"nope"}}))
	if len(d.Failures) != 1 || deref(d.Failures[0].Reason) != "MISSING" {
		t.Fatalf("failures %+v", d.Failures)
	}
}

func TestDaemonService(t *testing.T) {
	svc, wake, ctx := newTestService(t)
	svc.services.interval = 50 * time.Millisecond
	svc.services.stable = 20 * time.Millisecond
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go (&svcAgent{src: svc, host: svc.LocalHostID()}).run(runCtx, wake)
	go svc.Run(runCtx)
	must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{}))
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, ec2Def("agent", 64, 64)))
	_, err := svc.CreateService(ctx, &ecsapi.CreateServiceInput{ServiceName: ptr("d"), TaskDefinition: ptr("agent"),
		SchedulingStrategy: ptr(ecsapi.SchedulingStrategyDaemon), DesiredCount: ptr(int32(3))})
	wantCode(t, "daemon with a count", err, "InvalidParameterException", "desired count")
	must[*ecsapi.CreateServiceOutput](t)(svc.CreateService(ctx, &ecsapi.CreateServiceInput{ServiceName: ptr("d"), TaskDefinition: ptr("agent"),
		SchedulingStrategy: ptr(ecsapi.SchedulingStrategyDaemon)}))
	eventually(t, "one task on the one instance", func() bool {
		s := describeSvc(t, svc, ctx, "d")
		return deref(s.DesiredCount) == 1 && deref(s.RunningCount) == 1 && stable(s)
	})
	// Deleting a daemon service needs no scaling down.
	must[*ecsapi.DeleteServiceOutput](t)(svc.DeleteService(ctx, &ecsapi.DeleteServiceInput{Service: ptr("d")}))
	eventually(t, "daemon drained", func() bool { return deref(describeSvc(t, svc, ctx, "d").Status) == "INACTIVE" })
}

func TestServicePlacement(t *testing.T) {
	svc, _, ctx := newTestService(t)
	must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{ClusterName: ptr("fleet")}))
	remote := must[*ecsapi.RegisterContainerInstanceOutput](t)(svc.RegisterContainerInstance(ctx, &ecsapi.RegisterContainerInstanceInput{
		Cluster:                  ptr("fleet"),
		InstanceIdentityDocument: ptr(`{"instanceId":"i-0abc1234def567890","instanceType":"m5.xlarge","availabilityZone":"us-east-1c"}`),
		TotalResources:           []ecsapi.Resource{{Name: ptr("CPU"), IntegerValue: ptr(int32(4096))}, {Name: ptr("MEMORY"), IntegerValue: ptr(int32(8192))}},
		Attributes:               []ecsapi.Attribute{{Name: ptr("rack"), Value: ptr("r1")}},
	})).ContainerInstance
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, ec2Def("app", 64, 64)))
	instancesOf := func(name string) map[string]int {
		if err := svc.ReconcileServices(ctx); err != nil {
			t.Fatal(err)
		}
		l := must[*ecsapi.ListTasksOutput](t)(svc.ListTasks(ctx, &ecsapi.ListTasksInput{Cluster: ptr("fleet"), ServiceName: ptr(name)}))
		d := must[*ecsapi.DescribeTasksOutput](t)(svc.DescribeTasks(ctx, &ecsapi.DescribeTasksInput{Cluster: ptr("fleet"), Tasks: l.TaskArns}))
		n := map[string]int{}
		for _, task := range d.Tasks {
			n[deref(task.ContainerInstanceArn)]++
		}
		return n
	}

	// spread (the default) puts one task on each instance.
	must[*ecsapi.CreateServiceOutput](t)(svc.CreateService(ctx, &ecsapi.CreateServiceInput{Cluster: ptr("fleet"), ServiceName: ptr("spread"),
		TaskDefinition: ptr("app"), DesiredCount: ptr(int32(2))}))
	if n := instancesOf("spread"); len(n) != 2 {
		t.Fatalf("spread placed %v", n)
	}
	// memberOf keeps tasks on the instances that match.
	must[*ecsapi.CreateServiceOutput](t)(svc.CreateService(ctx, &ecsapi.CreateServiceInput{Cluster: ptr("fleet"), ServiceName: ptr("rack"),
		TaskDefinition: ptr("app"), DesiredCount: ptr(int32(2)),
		PlacementConstraints: []ecsapi.PlacementConstraint{{Type: ptr(ecsapi.PlacementConstraintTypeMemberOf), Expression: ptr("attribute:rack == r1")}}}))
	if n := instancesOf("rack"); len(n) != 1 || n[deref(remote.ContainerInstanceArn)] != 2 {
		t.Fatalf("memberOf placed %v", n)
	}
	// distinctInstance: 3 tasks, 2 instances: one cannot be placed, and the
	// service says so (once).
	must[*ecsapi.CreateServiceOutput](t)(svc.CreateService(ctx, &ecsapi.CreateServiceInput{Cluster: ptr("fleet"), ServiceName: ptr("distinct"),
		TaskDefinition: ptr("app"), DesiredCount: ptr(int32(3)),
		PlacementConstraints: []ecsapi.PlacementConstraint{{Type: ptr(ecsapi.PlacementConstraintTypeDistinctInstance)}}}))
	instancesOf("distinct")
	if n := instancesOf("distinct"); len(n) != 2 || n[deref(remote.ContainerInstanceArn)] != 1 {
		t.Fatalf("distinctInstance placed %v", n)
	}
	out := must[*ecsapi.DescribeServicesOutput](t)(svc.DescribeServices(ctx, &ecsapi.DescribeServicesInput{Cluster: ptr("fleet"), Services: []string{"distinct"}}))
	unable := 0
	for _, e := range out.Services[0].Events {
		if strings.Contains(deref(e.Message), "was unable to place a task because no container instance met all of its requirements") {
			unable++
		}
	}
	if unable != 1 {
		t.Fatalf("events %+v", out.Services[0].Events)
	}
	// binpack on memory fills one instance first.
	must[*ecsapi.CreateServiceOutput](t)(svc.CreateService(ctx, &ecsapi.CreateServiceInput{Cluster: ptr("fleet"), ServiceName: ptr("binpack"),
		TaskDefinition: ptr("app"), DesiredCount: ptr(int32(3)),
		PlacementStrategy: []ecsapi.PlacementStrategy{{Type: ptr(ecsapi.PlacementStrategyTypeBinpack), Field: ptr("memory")}}}))
	if n := instancesOf("binpack"); len(n) != 1 {
		t.Fatalf("binpack placed %v", n)
	}
	// Tagging a service by ARN.
	arn := "arn:aws:ecs:us-east-1:123456789012:service/fleet/binpack"
	must[*ecsapi.TagResourceOutput](t)(svc.TagResource(ctx, &ecsapi.TagResourceInput{ResourceArn: ptr(arn), Tags: []ecsapi.Tag{{Key: ptr("k"), Value: ptr("v")}}}))
	if tags := must[*ecsapi.ListTagsForResourceOutput](t)(svc.ListTagsForResource(ctx, &ecsapi.ListTagsForResourceInput{ResourceArn: ptr(arn)})).Tags; len(tags) != 1 {
		t.Fatalf("tags %+v", tags)
	}
	l := must[*ecsapi.ListServicesOutput](t)(svc.ListServices(ctx, &ecsapi.ListServicesInput{Cluster: ptr("fleet"), MaxResults: ptr(int32(3))}))
	if len(l.ServiceArns) != 3 || l.NextToken == nil {
		t.Fatalf("list page 1 %+v", l)
	}
	l = must[*ecsapi.ListServicesOutput](t)(svc.ListServices(ctx, &ecsapi.ListServicesInput{Cluster: ptr("fleet"), NextToken: l.NextToken}))
	if len(l.ServiceArns) != 1 {
		t.Fatalf("list page 2 %+v", l)
	}
}

func TestServiceHealthChecksAndGracePeriod(t *testing.T) {
	svc, wake, ctx := newTestService(t)
	svc.services.interval = 50 * time.Millisecond
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go (&svcAgent{src: svc, host: svc.LocalHostID(), sick: func(AssignedTask) bool { return true }}).run(runCtx, wake)
	go svc.Run(runCtx)
	def := fargateDef("checked")
	def.ContainerDefinitions[0].HealthCheck = &ecsapi.HealthCheck{Command: []string{"CMD", "true"}}
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, def))
	created := time.Now()
	must[*ecsapi.CreateServiceOutput](t)(svc.CreateService(ctx, &ecsapi.CreateServiceInput{ServiceName: ptr("sick"), TaskDefinition: ptr("checked"),
		DesiredCount: ptr(int32(1)), LaunchType: ptr(ecsapi.LaunchTypeFargate), NetworkConfiguration: awsvpcNet(),
		HealthCheckGracePeriodSeconds: ptr(int32(1)),
		DeploymentConfiguration: &ecsapi.DeploymentConfiguration{
			DeploymentCircuitBreaker: &ecsapi.DeploymentCircuitBreaker{Enable: ptr(true), Rollback: ptr(true)}}}))
	eventually(t, "an unhealthy task replaced", func() bool {
		return hasEvent(describeSvc(t, svc, ctx, "sick"), "failed container health checks.")
	})
	if time.Since(created) < time.Second {
		t.Fatalf("unhealthy task stopped within the grace period")
	}
	// Every task fails: the first deployment is FAILED (nothing to roll
	// back to) and launches no more tasks.
	eventually(t, "the deployment FAILED", func() bool {
		s := describeSvc(t, svc, ctx, "sick")
		return deref(s.Deployments[0].RolloutState) == "FAILED" && deref(s.Deployments[0].FailedTasks) >= 3
	})
}

// fakeLB is a load balancer whose targets turn healthy when registered and
// drain for 200 ms when deregistered.
type fakeLB struct {
	mu      sync.Mutex
	targets map[Target]string
	// minHealthy is the fewest healthy targets seen once there were 2.
	minHealthy, maxHealthy int
}

func (f *fakeLB) RegisterTargets(_ context.Context, _, _, _ string, ts []Target) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range ts {
		f.targets[t] = "healthy"
	}
	f.note()
	return nil
}

func (f *fakeLB) DeregisterTargets(_ context.Context, _, _, _ string, ts []Target) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range ts {
		f.targets[t] = "draining"
		time.AfterFunc(200*time.Millisecond, func() {
			f.mu.Lock()
			delete(f.targets, t)
			f.mu.Unlock()
		})
	}
	f.note()
	return nil
}

func (f *fakeLB) TargetHealth(context.Context, string, string, string) (map[Target]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[Target]string{}
	for t, s := range f.targets {
		out[t] = s
	}
	return out, nil
}

func (f *fakeLB) note() {
	n := 0
	for _, s := range f.targets {
		if s == "healthy" {
			n++
		}
	}
	f.maxHealthy = max(f.maxHealthy, n)
	if f.maxHealthy >= 2 {
		f.minHealthy = min(f.minHealthy, n)
	}
}

func (f *fakeLB) healthy() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.targets {
		if s == "healthy" {
			n++
		}
	}
	return n
}

func TestServiceBehindLoadBalancer(t *testing.T) {
	svc, wake, ctx := newTestService(t)
	svc.services.interval = 50 * time.Millisecond
	svc.services.stable = 20 * time.Millisecond
	lb := &fakeLB{targets: map[Target]string{}, minHealthy: 1 << 30}
	svc.SetLoadBalancer(lb)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go (&svcAgent{src: svc, host: svc.LocalHostID()}).run(runCtx, wake)
	go svc.Run(runCtx)
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, fargateDef("web")))
	tg := "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef"
	_, err := svc.CreateService(ctx, &ecsapi.CreateServiceInput{ServiceName: ptr("web"), TaskDefinition: ptr("web"), DesiredCount: ptr(int32(2)),
		LaunchType: ptr(ecsapi.LaunchTypeFargate), NetworkConfiguration: awsvpcNet(),
		LoadBalancers: []ecsapi.LoadBalancer{{TargetGroupArn: ptr(tg), ContainerName: ptr("web"), ContainerPort: ptr(int32(8080))}}})
	wantCode(t, "a port the container does not have", err, "InvalidParameterException", "container port 8080")
	must[*ecsapi.CreateServiceOutput](t)(svc.CreateService(ctx, &ecsapi.CreateServiceInput{ServiceName: ptr("web"), TaskDefinition: ptr("web"), DesiredCount: ptr(int32(2)),
		LaunchType: ptr(ecsapi.LaunchTypeFargate), NetworkConfiguration: awsvpcNet(),
		LoadBalancers: []ecsapi.LoadBalancer{{TargetGroupArn: ptr(tg), ContainerName: ptr("web"), ContainerPort: ptr(int32(80))}}}))
	eventually(t, "2 healthy targets", func() bool {
		s := describeSvc(t, svc, ctx, "web")
		return stable(s) && lb.healthy() == 2 && deref(s.Deployments[0].RolloutState) == "COMPLETED"
	})
	must[*ecsapi.UpdateServiceOutput](t)(svc.UpdateService(ctx, &ecsapi.UpdateServiceInput{Service: ptr("web"), ForceNewDeployment: ptr(true)}))
	eventually(t, "the new deployment behind the load balancer", func() bool {
		s := describeSvc(t, svc, ctx, "web")
		return stable(s) && deref(s.Deployments[0].RolloutState) == "COMPLETED" && hasEvent(s, "has begun draining connections on ") && lb.healthy() == 2
	})
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if lb.minHealthy < 2 {
		t.Fatalf("healthy targets fell to %d during the deployment", lb.minHealthy)
	}
}
