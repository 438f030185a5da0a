package remote

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/ecs"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/store/sqlite"
)

// apiBerth serves an in-process ECS control plane over HTTP, as `berth up`
// does, and returns it with a client of it and a context of its caller.
func apiBerth(t *testing.T) (*ecs.Service, *Client, context.Context) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := ecs.New(context.Background(), ecs.Options{Store: st, Local: &ecs.HostInfo{
		ID: "i-0000000000000local", CPU: 2048, MemoryMiB: 4096, Arch: "x86_64", InstanceType: "berth.local",
	}})
	if err != nil {
		t.Fatal(err)
	}
	mux := awsapi.NewMux(&awsapi.Authenticator{}, nil)
	mux.HandleJSON(ecsapi.NewJSONService(svc))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := &Client{Endpoint: srv.URL, Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	ctx := awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: awsapi.DefaultAccount, Region: "us-east-1"})
	return svc, c, ctx
}

// What the agent reports through the API arrives as UpdateTaskState would
// have written it in process, and the work set it reads through the API
// is the one the control plane would hand it in process.
func TestTaskSourceOverAPI(t *testing.T) {
	svc, c, ctx := apiBerth(t)
	const host = "i-0123456789abcdef0"
	if _, err := svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{ClusterName: ptr("c")}); err != nil {
		t.Fatal(err)
	}
	engine := runtime.HostInfo{CPUs: 2, MemoryBytes: 3 << 30, EngineVersion: "20.10.24", Arch: "amd64"}
	arn, err := register(ctx, c, Config{Cluster: "c", Region: "us-east-1", Version: "test"}, host, engine)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := register(ctx, c, Config{Cluster: "c", Region: "us-east-1", Version: "test"}, host, engine); err != nil || again != arn {
		t.Fatalf("registering again: %s %v, want %s", again, err, arn)
	}
	ci, err := svc.DescribeContainerInstances(ctx, &ecsapi.DescribeContainerInstancesInput{Cluster: ptr("c"), ContainerInstances: []string{arn}})
	if err != nil || len(ci.ContainerInstances) != 1 {
		t.Fatalf("describe instance: %v %+v", err, ci)
	}
	in := ci.ContainerInstances[0]
	if deref(in.Ec2InstanceId) != host || !deref(in.AgentConnected) || deref(in.RegisteredResources[0].IntegerValue) != 2048 ||
		deref(in.RegisteredResources[1].IntegerValue) != 3072 ||
		!slices.ContainsFunc(in.Attributes, func(a ecsapi.Attribute) bool { return deref(a.Name) == "com.amazonaws.ecs.capability.task-iam-role" }) {
		t.Errorf("instance %s connected=%v CPU=%d MEMORY=%d", deref(in.Ec2InstanceId), deref(in.AgentConnected), deref(in.RegisteredResources[0].IntegerValue), deref(in.RegisteredResources[1].IntegerValue))
	}

	if _, err := svc.RegisterTaskDefinition(ctx, &ecsapi.RegisterTaskDefinitionInput{Family: ptr("web"),
		ContainerDefinitions: []ecsapi.ContainerDefinition{
			{Name: ptr("app"), Image: ptr("busybox"), Memory: ptr(int32(64)), PortMappings: []ecsapi.PortMapping{{ContainerPort: ptr(int32(80))}}},
			{Name: ptr("side"), Image: ptr("busybox"), Memory: ptr(int32(32)), Essential: ptr(false)},
		}}); err != nil {
		t.Fatal(err)
	}
	started, err := svc.StartTask(ctx, &ecsapi.StartTaskInput{Cluster: ptr("c"), TaskDefinition: ptr("web"), ContainerInstances: []string{arn},
		Overrides: &ecsapi.TaskOverride{ContainerOverrides: []ecsapi.ContainerOverride{{Name: ptr("app"), Command: []string{"serve"}}}}})
	if err != nil || len(started.Tasks) != 1 {
		t.Fatalf("start task: %v %+v", err, started)
	}
	taskARN := deref(started.Tasks[0].TaskArn)

	src := &TaskSource{C: c, Cluster: "c", Instance: arn}
	got, err := src.ListTasksToReconcile(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	want, err := svc.ListTasksToReconcile(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(want) != 1 {
		t.Fatalf("work set over the API %d tasks, in process %d", len(got), len(want))
	}
	g, w := got[0], want[0]
	if g.TaskARN != w.TaskARN || g.ClusterARN != w.ClusterARN || g.ContainerInstanceARN != w.ContainerInstanceARN ||
		g.Account != w.Account || g.Region != w.Region || g.HostID != w.HostID || g.LaunchType != w.LaunchType ||
		g.DesiredStatus != w.DesiredStatus || g.Version != w.Version || g.Status.LastStatus != w.Status.LastStatus ||
		!g.CreatedAt.Equal(w.CreatedAt.Truncate(time.Millisecond)) || deref(g.Definition.TaskDefinitionArn) != deref(w.Definition.TaskDefinitionArn) {
		t.Errorf("work set over the API:\n%+v\nin process:\n%+v", g, w)
	}
	if cs := g.Containers(); len(cs) != 2 || !slices.Equal(cs[0].Command, []string{"serve"}) || len(g.Status.Containers) != 2 {
		t.Errorf("containers over the API: %+v / %+v", cs, g.Status.Containers)
	}

	ms := func(s int) time.Time { return time.Date(2026, 1, 2, 3, 4, 5, s*int(time.Millisecond), time.UTC) }
	steps := []func(*ecs.TaskStatus){
		func(st *ecs.TaskStatus) { st.LastStatus, st.PullStartedAt = ecs.TaskPending, ms(100) },
		func(st *ecs.TaskStatus) {
			st.LastStatus, st.PullStoppedAt = ecs.TaskRunning, ms(200)
			st.Containers[0] = ecs.ContainerStatus{Name: "app", LastStatus: ecs.ContainerRunning, RuntimeID: "c0ffee", ImageDigest: "sha256:abc",
				NetworkBindings: []ecsapi.NetworkBinding{{BindIP: ptr("0.0.0.0"), ContainerPort: ptr(int32(80)), HostPort: ptr(int32(32768)), Protocol: ptr(ecsapi.TransportProtocolTcp)}}}
			st.Containers[1] = ecs.ContainerStatus{Name: "side", LastStatus: ecs.ContainerRunning, RuntimeID: "beef"}
		},
		func(st *ecs.TaskStatus) {
			st.Containers[1].LastStatus, st.Containers[1].ExitCode = ecs.ContainerStopped, ptr(int32(0))
		},
		func(st *ecs.TaskStatus) {
			st.LastStatus = ecs.TaskDeactivating
			st.StopCode, st.StoppedReason = "EssentialContainerExited", "Essential container in task exited"
			st.Containers[0].LastStatus, st.Containers[0].ExitCode, st.Containers[0].NetworkBindings = ecs.ContainerStopped, ptr(int32(3)), nil
			st.Containers[0].Reason = "OutOfMemoryError: Container killed due to memory usage"
		},
	}
	for i, step := range steps {
		if err := src.UpdateTaskState(ctx, taskARN, func(st *ecs.TaskStatus) error { step(st); return nil }); err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
	}
	after, err := svc.ListTasksToReconcile(ctx, host)
	if err != nil || len(after) != 1 {
		t.Fatalf("in process after the reports: %v %+v", err, after)
	}
	st := after[0].Status
	app, side := st.Container("app"), st.Container("side")
	if st.LastStatus != ecs.TaskDeactivating || st.StopCode != "EssentialContainerExited" || st.StoppedReason != "Essential container in task exited" ||
		!st.PullStartedAt.Equal(ms(100)) || !st.PullStoppedAt.Equal(ms(200)) || st.StartedAt.IsZero() || st.StoppingAt.IsZero() ||
		after[0].DesiredStatus != ecs.TaskStopped {
		t.Errorf("task after the reports: %+v", st)
	}
	if app.RuntimeID != "c0ffee" || app.ImageDigest != "sha256:abc" || app.LastStatus != ecs.ContainerStopped || deref(app.ExitCode) != 3 ||
		len(app.NetworkBindings) != 0 || app.Reason != "OutOfMemoryError: Container killed due to memory usage" {
		t.Errorf("app after the reports: %+v", *app)
	}
	if side.RuntimeID != "beef" || side.LastStatus != ecs.ContainerStopped || side.ExitCode == nil || *side.ExitCode != 0 {
		t.Errorf("side after the reports: %+v", *side)
	}

	// A report that would move the task back is refused before it is sent.
	err = src.UpdateTaskState(ctx, taskARN, func(st *ecs.TaskStatus) error { st.LastStatus = ecs.TaskRunning; return nil })
	if !errors.Is(err, ecs.ErrStatusRegression) {
		t.Errorf("backwards report: %v, want ErrStatusRegression", err)
	}
	if err := src.UpdateTaskState(ctx, taskARN, func(st *ecs.TaskStatus) error {
		st.LastStatus, st.ExecutionStoppedAt = ecs.TaskStopped, ms(300)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	d, err := svc.DescribeTasks(ctx, &ecsapi.DescribeTasksInput{Cluster: ptr("c"), Tasks: []string{taskARN}})
	if err != nil || len(d.Tasks) != 1 || deref(d.Tasks[0].LastStatus) != ecs.TaskStopped || !d.Tasks[0].ExecutionStoppedAt.Equal(ms(300)) {
		t.Fatalf("stopped task: %v %+v", err, d)
	}
	// A STOPPED task is no longer in the work set.
	if got, err := src.ListTasksToReconcile(ctx, host); err != nil || len(got) != 0 {
		t.Errorf("work set after STOPPED: %v %+v", err, got)
	}
	missing := "arn:aws:ecs:us-east-1:000000000000:task/c/0123456789abcdef0123456789abcdef"
	if err := src.UpdateTaskState(ctx, missing, func(*ecs.TaskStatus) error { return nil }); !errors.Is(err, ecs.ErrTaskNotFound) {
		t.Errorf("missing task: %v, want ErrTaskNotFound", err)
	}
}
