package ecs

import (
	"context"
	"errors"
	"strings"
	"testing"

	ecsapi "github.com/berth-dev/berth/api/ecs"
)

func describeTask(t *testing.T, svc *Service, ctx context.Context, cluster, arn string) ecsapi.Task {
	t.Helper()
	out := must[*ecsapi.DescribeTasksOutput](t)(svc.DescribeTasks(ctx, &ecsapi.DescribeTasksInput{
		Cluster: ptr(cluster), Tasks: []string{arn}, Include: []ecsapi.TaskField{ecsapi.TaskFieldTags}}))
	if len(out.Tasks) != 1 {
		t.Fatalf("describe %s: %+v", arn, out.Failures)
	}
	return out.Tasks[0]
}

func clusterCounts(t *testing.T, svc *Service, ctx context.Context, name string) (running, pending int32) {
	t.Helper()
	out := must[*ecsapi.DescribeClustersOutput](t)(svc.DescribeClusters(ctx, &ecsapi.DescribeClustersInput{Clusters: []string{name}}))
	return deref(out.Clusters[0].RunningTasksCount), deref(out.Clusters[0].PendingTasksCount)
}

// The story of a Fargate task: run, the agent starts it, stop, the agent
// stops it; the record shows every step as DescribeTasks does on AWS.
func TestFargateTaskLifecycleWithAgent(t *testing.T) {
	svc, wake, ctx := newTestService(t)
	agentCtx, stop := context.WithCancel(context.Background())
	defer stop()
	agent := &fakeAgent{src: svc, host: svc.LocalHostID(), ip: "10.0.3.7"}
	go agent.run(agentCtx, t, wake)

	must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{ClusterName: ptr("apps")}))
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, fargateDef("web")))
	run := must[*ecsapi.RunTaskOutput](t)(svc.RunTask(ctx, &ecsapi.RunTaskInput{
		Cluster: ptr("apps"), TaskDefinition: ptr("web"), LaunchType: ptr(ecsapi.LaunchTypeFargate),
		NetworkConfiguration: awsvpcNet(), StartedBy: ptr("ci"), Group: ptr("batch"),
		Tags:                 []ecsapi.Tag{{Key: ptr("run"), Value: ptr("1")}},
		EnableExecuteCommand: ptr(true),
		Overrides: &ecsapi.TaskOverride{ContainerOverrides: []ecsapi.ContainerOverride{{
			Name: ptr("web"), Command: []string{"nginx", "-g", "daemon off;"},
			Environment: []ecsapi.KeyValuePair{{Name: ptr("MODE"), Value: ptr("test")}},
		}}},
	}))
	if len(run.Tasks) != 1 || len(run.Failures) != 0 {
		t.Fatalf("run: %+v", run)
	}
	task := run.Tasks[0]
	arn := deref(task.TaskArn)
	if !strings.HasPrefix(arn, "arn:aws:ecs:us-east-1:123456789012:task/apps/") || len(arn)-len("arn:aws:ecs:us-east-1:123456789012:task/apps/") != 32 {
		t.Errorf("task ARN %s is not arn:aws:ecs:<region>:<account>:task/<cluster>/<32 hex>", arn)
	}
	if deref(task.LastStatus) != "PROVISIONING" || deref(task.DesiredStatus) != "RUNNING" || task.ContainerInstanceArn != nil ||
		deref(task.PlatformVersion) != "1.4.0" || deref(task.Group) != "batch" || !deref(task.EnableExecuteCommand) {
		t.Errorf("new Fargate task: %s/%s instance %v platform %s group %s exec %v", deref(task.LastStatus), deref(task.DesiredStatus),
			task.ContainerInstanceArn, deref(task.PlatformVersion), deref(task.Group), deref(task.EnableExecuteCommand))
	}
	if len(task.Containers) != 2 || !strings.Contains(deref(task.Containers[0].ContainerArn), ":container/apps/") {
		t.Errorf("containers: %+v", task.Containers)
	}

	eventually(t, "task RUNNING", func() bool { return deref(describeTask(t, svc, ctx, "apps", arn).LastStatus) == "RUNNING" })
	task = describeTask(t, svc, ctx, "apps", arn)
	if task.StartedAt == nil || task.PullStartedAt == nil || task.PullStoppedAt == nil || deref(task.Connectivity) != "CONNECTED" {
		t.Errorf("running task lacks timestamps: %+v", task)
	}
	if a := task.Attachments; len(a) != 1 || deref(a[0].Status) != "ATTACHED" || !hasDetail(a[0], "privateIPv4Address", "10.0.3.7") ||
		!hasDetail(a[0], "privateDnsName", "ip-10-0-3-7.ec2.internal") {
		t.Errorf("ENI attachment: %+v", task.Attachments)
	}
	if ni := task.Containers[0].NetworkInterfaces; len(ni) != 1 || deref(ni[0].PrivateIpv4Address) != "10.0.3.7" {
		t.Errorf("container network interfaces: %+v", ni)
	}
	if len(task.Tags) != 1 {
		t.Errorf("tags: %+v", task.Tags)
	}
	if r, p := clusterCounts(t, svc, ctx, "apps"); r != 1 || p != 0 {
		t.Errorf("cluster counts running %d pending %d, want 1 0", r, p)
	}

	// The agent sees the overrides applied.
	assigned := must[[]AssignedTask](t)(svc.ListTasksToReconcile(ctx, svc.LocalHostID()))
	if len(assigned) != 1 {
		t.Fatalf("ListTasksToReconcile: %d tasks", len(assigned))
	}
	cs := assigned[0].Containers()
	if strings.Join(cs[0].Command, " ") != "nginx -g daemon off;" || len(cs[0].Environment) != 1 || assigned[0].CPU != "256" {
		t.Errorf("resolved container: %+v cpu %s", cs[0], assigned[0].CPU)
	}

	stopOut := must[*ecsapi.StopTaskOutput](t)(svc.StopTask(ctx, &ecsapi.StopTaskInput{Cluster: ptr("apps"), Task: ptr(arn), Reason: ptr("done testing")}))
	if deref(stopOut.Task.DesiredStatus) != "STOPPED" || deref(stopOut.Task.StopCode) != "UserInitiated" ||
		deref(stopOut.Task.StoppedReason) != "done testing" || stopOut.Task.StoppingAt == nil {
		t.Errorf("stop-task: %+v", stopOut.Task)
	}
	eventually(t, "task STOPPED", func() bool { return deref(describeTask(t, svc, ctx, "apps", arn).LastStatus) == "STOPPED" })
	task = describeTask(t, svc, ctx, "apps", arn)
	if task.StoppedAt == nil || task.ExecutionStoppedAt == nil || deref(task.Containers[0].ExitCode) != 0 ||
		deref(task.Containers[0].LastStatus) != "STOPPED" || deref(task.Attachments[0].Status) != "DETACHED" {
		t.Errorf("stopped task: %+v", task)
	}
	if r, p := clusterCounts(t, svc, ctx, "apps"); r != 0 || p != 0 {
		t.Errorf("cluster counts after stop: running %d pending %d", r, p)
	}
	if left := must[[]AssignedTask](t)(svc.ListTasksToReconcile(ctx, svc.LocalHostID())); len(left) != 0 {
		t.Errorf("a STOPPED task is still to reconcile")
	}
	listed := must[*ecsapi.ListTasksOutput](t)(svc.ListTasks(ctx, &ecsapi.ListTasksInput{Cluster: ptr("apps"), DesiredStatus: ptr(ecsapi.DesiredStatusStopped)}))
	if len(listed.TaskArns) != 1 {
		t.Errorf("list STOPPED: %v", listed.TaskArns)
	}

	// The cluster can go now; the sweeper forgets the task after retention.
	must[*ecsapi.DeleteClusterOutput](t)(svc.DeleteCluster(ctx, &ecsapi.DeleteClusterInput{Cluster: ptr("apps")}))
}

func hasDetail(a ecsapi.Attachment, name, value string) bool {
	for _, d := range a.Details {
		if deref(d.Name) == name && deref(d.Value) == value {
			return true
		}
	}
	return false
}

// EC2 placement takes the local instance's resources, fails with AWS's
// reasons when they run out, and gives them back when a task stops.
func TestEC2PlacementAndResources(t *testing.T) {
	svc, wake, ctx := newTestService(t)
	agentCtx, stop := context.WithCancel(context.Background())
	defer stop()
	go (&fakeAgent{src: svc, host: svc.LocalHostID()}).run(agentCtx, t, wake)

	must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{ClusterName: ptr("ec2")}))
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, ec2Def("big", 3000, 512)))
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, ec2Def("cpu", 64, 2048)))
	ports := ec2Def("ports", 64, 0)
	ports.ContainerDefinitions[0].PortMappings = []ecsapi.PortMapping{{ContainerPort: ptr(int32(80)), HostPort: ptr(int32(8080))}}
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, ports))

	first := must[*ecsapi.RunTaskOutput](t)(svc.RunTask(ctx, &ecsapi.RunTaskInput{Cluster: ptr("ec2"), TaskDefinition: ptr("big")}))
	if len(first.Tasks) != 1 || first.Tasks[0].ContainerInstanceArn == nil {
		t.Fatalf("first big task: %+v", first)
	}
	instARN := deref(first.Tasks[0].ContainerInstanceArn)
	second := must[*ecsapi.RunTaskOutput](t)(svc.RunTask(ctx, &ecsapi.RunTaskInput{Cluster: ptr("ec2"), TaskDefinition: ptr("big")}))
	if len(second.Tasks) != 0 || len(second.Failures) != 1 || deref(second.Failures[0].Reason) != "RESOURCE:MEMORY" || deref(second.Failures[0].Arn) != instARN {
		t.Errorf("second big task: %+v", second)
	}
	cpu := must[*ecsapi.RunTaskOutput](t)(svc.RunTask(ctx, &ecsapi.RunTaskInput{Cluster: ptr("ec2"), TaskDefinition: ptr("cpu")}))
	if len(cpu.Failures) != 1 || deref(cpu.Failures[0].Reason) != "RESOURCE:CPU" {
		t.Errorf("cpu task: %+v", cpu)
	}
	p := must[*ecsapi.RunTaskOutput](t)(svc.RunTask(ctx, &ecsapi.RunTaskInput{Cluster: ptr("ec2"), TaskDefinition: ptr("ports"), Count: ptr(int32(2))}))
	if len(p.Tasks) != 1 || len(p.Failures) != 1 || deref(p.Failures[0].Reason) != "RESOURCE:PORTS" {
		t.Errorf("two tasks on host port 8080: %+v", p)
	}

	inst := must[*ecsapi.DescribeContainerInstancesOutput](t)(svc.DescribeContainerInstances(ctx, &ecsapi.DescribeContainerInstancesInput{
		Cluster: ptr("ec2"), ContainerInstances: []string{instARN}})).ContainerInstances[0]
	rem := map[string]ecsapi.Resource{}
	for _, r := range inst.RemainingResources {
		rem[deref(r.Name)] = r
	}
	if deref(rem["MEMORY"].IntegerValue) != 4096-3000-64 || deref(rem["CPU"].IntegerValue) != 2048-512 || !containsString(rem["PORTS"].StringSetValue, "8080") {
		t.Errorf("remaining resources: %+v", inst.RemainingResources)
	}
	if deref(inst.RunningTasksCount) != 2 {
		t.Errorf("runningTasksCount = %d, want 2", deref(inst.RunningTasksCount))
	}

	must[*ecsapi.StopTaskOutput](t)(svc.StopTask(ctx, &ecsapi.StopTaskInput{Cluster: ptr("ec2"), Task: first.Tasks[0].TaskArn}))
	eventually(t, "memory released", func() bool {
		out := must[*ecsapi.RunTaskOutput](t)(svc.RunTask(ctx, &ecsapi.RunTaskInput{Cluster: ptr("ec2"), TaskDefinition: ptr("big")}))
		return len(out.Tasks) == 1
	})

	// A task that never ran can be stopped too, and the instance's count of
	// tasks to run drops at once.
	_, err := svc.DeregisterContainerInstance(ctx, &ecsapi.DeregisterContainerInstanceInput{Cluster: ptr("ec2"), ContainerInstance: ptr(instARN)})
	wantCode(t, "deregister with tasks", err, "InvalidParameterException", "Found running tasks on the instance.")
	dereg := must[*ecsapi.DeregisterContainerInstanceOutput](t)(svc.DeregisterContainerInstance(ctx, &ecsapi.DeregisterContainerInstanceInput{
		Cluster: ptr("ec2"), ContainerInstance: ptr(instARN), Force: ptr(true)}))
	if deref(dereg.ContainerInstance.Status) != "INACTIVE" {
		t.Errorf("deregistered instance is %s", deref(dereg.ContainerInstance.Status))
	}
	_, err = svc.RunTask(ctx, &ecsapi.RunTaskInput{Cluster: ptr("ec2"), TaskDefinition: ptr("big")})
	wantCode(t, "run-task without instances", err, "InvalidParameterException", "No Container Instances were found in your cluster.")
}

func containsString(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestRunTaskRefusals(t *testing.T) {
	svc, _, ctx := newTestService(t)
	must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{ClusterName: ptr("c")}))
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, ec2Def("bridge", 64, 0)))
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, fargateDef("web")))
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, ec2Def("old", 64, 0)))
	must[*ecsapi.DeregisterTaskDefinitionOutput](t)(svc.DeregisterTaskDefinition(ctx, &ecsapi.DeregisterTaskDefinitionInput{TaskDefinition: ptr("old:1")}))

	run := func(mutate func(*ecsapi.RunTaskInput)) error {
		in := &ecsapi.RunTaskInput{Cluster: ptr("c"), TaskDefinition: ptr("web"), LaunchType: ptr(ecsapi.LaunchTypeFargate), NetworkConfiguration: awsvpcNet()}
		mutate(in)
		_, err := svc.RunTask(ctx, in)
		return err
	}
	wantCode(t, "no cluster", run(func(in *ecsapi.RunTaskInput) { in.Cluster = ptr("nope") }), "ClusterNotFoundException", "Cluster not found.")
	wantCode(t, "count 11", run(func(in *ecsapi.RunTaskInput) { in.Count = ptr(int32(11)) }), "InvalidParameterException", "count")
	wantCode(t, "launch type and strategy", run(func(in *ecsapi.RunTaskInput) {
		in.CapacityProviderStrategy = []ecsapi.CapacityProviderStrategyItem{{CapacityProvider: ptr("FARGATE")}}
	}), "InvalidParameterException", "Specifying both a launch type and capacity provider strategy is not supported.")
	wantCode(t, "strategy outside the cluster", run(func(in *ecsapi.RunTaskInput) {
		in.LaunchType = nil
		in.CapacityProviderStrategy = []ecsapi.CapacityProviderStrategyItem{{CapacityProvider: ptr("FARGATE"), Weight: ptr(int32(1))}}
	}), "InvalidParameterException", "not associated with the cluster")
	wantCode(t, "unknown task definition", run(func(in *ecsapi.RunTaskInput) { in.TaskDefinition = ptr("nope") }), "ClientException", "TaskDefinition not found.")
	wantCode(t, "inactive task definition", run(func(in *ecsapi.RunTaskInput) {
		in.TaskDefinition, in.LaunchType, in.NetworkConfiguration = ptr("old:1"), nil, nil
	}), "ClientException", "TaskDefinition is inactive")
	wantCode(t, "awsvpc without network", run(func(in *ecsapi.RunTaskInput) { in.NetworkConfiguration = nil }),
		"InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	wantCode(t, "bridge with network", run(func(in *ecsapi.RunTaskInput) { in.TaskDefinition, in.LaunchType = ptr("bridge"), nil }),
		"InvalidParameterException", "Network Configuration is not valid for the given networkMode of this task definition.")
	wantCode(t, "fargate launch of an EC2 definition", run(func(in *ecsapi.RunTaskInput) { in.TaskDefinition, in.NetworkConfiguration = ptr("bridge"), nil }),
		"InvalidParameterException", "Task definition does not support launch_type FARGATE.")
	wantCode(t, "override of a missing container", run(func(in *ecsapi.RunTaskInput) {
		in.Overrides = &ecsapi.TaskOverride{ContainerOverrides: []ecsapi.ContainerOverride{{Name: ptr("ghost")}}}
	}), "InvalidParameterException", "Override for container named ghost is not a container in the TaskDefinition.")
	wantCode(t, "fargate size override", run(func(in *ecsapi.RunTaskInput) {
		in.Overrides = &ecsapi.TaskOverride{Cpu: ptr("256"), Memory: ptr("8192")}
	}), "InvalidParameterException", "No Fargate configuration exists for given values.")
	_, err := svc.StopTask(ctx, &ecsapi.StopTaskInput{Cluster: ptr("c"), Task: ptr("0123456789abcdef0123456789abcdef")})
	wantCode(t, "stop a missing task", err, "InvalidParameterException", "The referenced task was not found.")

	// Nothing half-made: no task exists after all these refusals.
	for _, ds := range []ecsapi.DesiredStatus{ecsapi.DesiredStatusRunning, ecsapi.DesiredStatusStopped} {
		l := must[*ecsapi.ListTasksOutput](t)(svc.ListTasks(ctx, &ecsapi.ListTasksInput{Cluster: ptr("c"), DesiredStatus: ptr(ds)}))
		if len(l.TaskArns) != 0 {
			t.Errorf("refused runs left tasks: %v", l.TaskArns)
		}
	}
}

func TestCapacityProviderStrategyAndClientToken(t *testing.T) {
	svc, _, ctx := newTestService(t)
	must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{
		ClusterName:                     ptr("spot"),
		CapacityProviders:               []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []ecsapi.CapacityProviderStrategyItem{{CapacityProvider: ptr("FARGATE_SPOT"), Weight: ptr(int32(1))}},
	}))
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, fargateDef("web")))
	in := &ecsapi.RunTaskInput{Cluster: ptr("spot"), TaskDefinition: ptr("web"), NetworkConfiguration: awsvpcNet(), ClientToken: ptr("once"), Count: ptr(int32(2))}
	a := must[*ecsapi.RunTaskOutput](t)(svc.RunTask(ctx, in))
	if len(a.Tasks) != 2 || deref(a.Tasks[0].LaunchType) != "FARGATE" || deref(a.Tasks[0].CapacityProviderName) != "FARGATE_SPOT" {
		t.Fatalf("default strategy run: %+v", a)
	}
	b := must[*ecsapi.RunTaskOutput](t)(svc.RunTask(ctx, in))
	if len(b.Tasks) != 2 || deref(b.Tasks[0].TaskArn) != deref(a.Tasks[0].TaskArn) {
		t.Errorf("a retry with the same clientToken started new tasks")
	}
	l := must[*ecsapi.ListTasksOutput](t)(svc.ListTasks(ctx, &ecsapi.ListTasksInput{Cluster: ptr("spot"), LaunchType: ptr(ecsapi.LaunchTypeFargate)}))
	if len(l.TaskArns) != 2 {
		t.Errorf("list FARGATE tasks: %v", l.TaskArns)
	}
	_, err := svc.PutClusterCapacityProviders(ctx, &ecsapi.PutClusterCapacityProvidersInput{Cluster: ptr("spot"),
		CapacityProviders: []string{"FARGATE"}, DefaultCapacityProviderStrategy: []ecsapi.CapacityProviderStrategyItem{}})
	wantCode(t, "remove a provider in use", err, "ResourceInUseException")
}

func TestListTasksFilters(t *testing.T) {
	svc, _, ctx := newTestService(t)
	must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{ClusterName: ptr("c")}))
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, ec2Def("a", 16, 0)))
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, ec2Def("b", 16, 0)))
	runOne := func(family, startedBy, group string) string {
		out := must[*ecsapi.RunTaskOutput](t)(svc.RunTask(ctx, &ecsapi.RunTaskInput{Cluster: ptr("c"), TaskDefinition: ptr(family), StartedBy: ptr(startedBy), Group: ptr(group)}))
		return deref(out.Tasks[0].TaskArn)
	}
	runOne("a", "alice", "")
	runOne("a", "bob", "service:api")
	b := runOne("b", "alice", "")
	must[*ecsapi.StopTaskOutput](t)(svc.StopTask(ctx, &ecsapi.StopTaskInput{Cluster: ptr("c"), Task: ptr(b)}))

	count := func(in *ecsapi.ListTasksInput) int {
		in.Cluster = ptr("c")
		n := 0
		for {
			out := must[*ecsapi.ListTasksOutput](t)(svc.ListTasks(ctx, in))
			n += len(out.TaskArns)
			if out.NextToken == nil {
				return n
			}
			in.NextToken = out.NextToken
		}
	}
	inst := must[*ecsapi.ListContainerInstancesOutput](t)(svc.ListContainerInstances(ctx, &ecsapi.ListContainerInstancesInput{Cluster: ptr("c")})).ContainerInstanceArns[0]
	cases := []struct {
		name string
		in   *ecsapi.ListTasksInput
		want int
	}{
		{"default RUNNING", &ecsapi.ListTasksInput{}, 2},
		{"pages of one", &ecsapi.ListTasksInput{MaxResults: ptr(int32(1))}, 2},
		{"STOPPED", &ecsapi.ListTasksInput{DesiredStatus: ptr(ecsapi.DesiredStatusStopped)}, 1},
		{"family a", &ecsapi.ListTasksInput{Family: ptr("a")}, 2},
		{"startedBy alice", &ecsapi.ListTasksInput{StartedBy: ptr("alice")}, 1},
		{"serviceName api", &ecsapi.ListTasksInput{ServiceName: ptr("api")}, 1},
		{"container instance", &ecsapi.ListTasksInput{ContainerInstance: ptr(inst)}, 2},
		{"launch type FARGATE", &ecsapi.ListTasksInput{LaunchType: ptr(ecsapi.LaunchTypeFargate)}, 0},
	}
	for _, c := range cases {
		if got := count(c.in); got != c.want {
			t.Errorf("%s: %d tasks, want %d", c.name, got, c.want)
		}
	}
	d := must[*ecsapi.DescribeTasksOutput](t)(svc.DescribeTasks(ctx, &ecsapi.DescribeTasksInput{Cluster: ptr("c"), Tasks: []string{b, "0123456789abcdef0123456789abcdef"}}))
	if len(d.Tasks) != 1 || len(d.Failures) != 1 || deref(d.Failures[0].Reason) != "MISSING" ||
		deref(d.Failures[0].Arn) != "arn:aws:ecs:us-east-1:123456789012:task/c/0123456789abcdef0123456789abcdef" {
		t.Errorf("describe with a missing task: %+v", d)
	}
	if d.Tasks[0].Tags != nil {
		t.Errorf("tags without include TAGS")
	}
}

// The agent interface enforces the lifecycle order and the task's shape.
func TestUpdateTaskStateRules(t *testing.T) {
	svc, _, ctx := newTestService(t)
	must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{ClusterName: ptr("c")}))
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, ec2Def("a", 16, 0)))
	arn := deref(must[*ecsapi.RunTaskOutput](t)(svc.RunTask(ctx, &ecsapi.RunTaskInput{Cluster: ptr("c"), TaskDefinition: ptr("a")})).Tasks[0].TaskArn)

	set := func(f func(*TaskStatus) error) error { return svc.UpdateTaskState(ctx, arn, f) }
	if err := set(func(st *TaskStatus) error { st.LastStatus = TaskRunning; return nil }); err != nil {
		t.Fatal(err)
	}
	err := set(func(st *TaskStatus) error { st.LastStatus = TaskPending; return nil })
	if !errors.Is(err, ErrStatusRegression) {
		t.Errorf("RUNNING → PENDING: %v, want ErrStatusRegression", err)
	}
	err = set(func(st *TaskStatus) error { st.LastStatus = "SLEEPING"; return nil })
	if !errors.Is(err, ErrInvalidStatus) {
		t.Errorf("unknown status: %v, want ErrInvalidStatus", err)
	}
	err = set(func(st *TaskStatus) error {
		st.Containers = append(st.Containers, ContainerStatus{Name: "x"})
		return nil
	})
	if !errors.Is(err, ErrInvalidStatus) {
		t.Errorf("added container: %v, want ErrInvalidStatus", err)
	}
	err = svc.UpdateTaskState(ctx, "arn:aws:ecs:us-east-1:123456789012:task/c/0123456789abcdef0123456789abcdef", func(*TaskStatus) error { return nil })
	if !errors.Is(err, ErrTaskNotFound) {
		t.Errorf("missing task: %v, want ErrTaskNotFound", err)
	}

	// The remote agent path: an essential container exits, the task stops
	// with the agent's stop code; a stale RUNNING report afterwards is
	// acknowledged and ignored.
	_, err = svc.SubmitContainerStateChange(ctx, &ecsapi.SubmitContainerStateChangeInput{Cluster: ptr("c"), Task: ptr(arn),
		ContainerName: ptr("app"), Status: ptr("STOPPED"), ExitCode: ptr(int32(3)), Reason: ptr("boom")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.SubmitTaskStateChange(ctx, &ecsapi.SubmitTaskStateChangeInput{Cluster: ptr("c"), Task: ptr(arn),
		Status: ptr("STOPPED"), Reason: ptr("Essential container in task exited")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.SubmitTaskStateChange(ctx, &ecsapi.SubmitTaskStateChangeInput{Cluster: ptr("c"), Task: ptr(arn), Status: ptr("RUNNING")})
	if err != nil {
		t.Errorf("stale report: %v, want an acknowledgment", err)
	}
	task := describeTask(t, svc, ctx, "c", arn)
	if deref(task.LastStatus) != "STOPPED" || deref(task.DesiredStatus) != "STOPPED" || deref(task.Containers[0].ExitCode) != 3 ||
		deref(task.StoppedReason) != "Essential container in task exited" {
		t.Errorf("after the agent's reports: %+v", task)
	}
	_, err = svc.SubmitContainerStateChange(ctx, &ecsapi.SubmitContainerStateChangeInput{Cluster: ptr("c"), Task: ptr(arn), ContainerName: ptr("ghost")})
	wantCode(t, "report on a missing container", err, "InvalidParameterException")
}
