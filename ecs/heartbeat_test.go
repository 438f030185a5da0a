package ecs

import (
	"testing"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
)

// A remote instance whose agent stops calling shows agentConnected false
// after the timeout, and true again once the agent polls; the local
// host's instance stays connected.
func TestRemoteAgentHeartbeat(t *testing.T) {
	svc, _, ctx := newTestService(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	svc.now = func() time.Time { return now }
	svc.heartbeats.started = now
	must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{ClusterName: ptr("fleet")}))
	ci := must[*ecsapi.RegisterContainerInstanceOutput](t)(svc.RegisterContainerInstance(ctx, &ecsapi.RegisterContainerInstanceInput{
		Cluster:                  ptr("fleet"),
		InstanceIdentityDocument: ptr(`{"instanceId":"i-0abc1234def567890"}`),
		TotalResources: []ecsapi.Resource{{Name: ptr("CPU"), Type: ptr("INTEGER"), IntegerValue: ptr(int32(1024))},
			{Name: ptr("MEMORY"), Type: ptr("INTEGER"), IntegerValue: ptr(int32(2048))}},
	})).ContainerInstance
	connected := func() map[string]bool {
		t.Helper()
		if err := svc.checkAgents(ctx); err != nil {
			t.Fatal(err)
		}
		arns := must[*ecsapi.ListContainerInstancesOutput](t)(svc.ListContainerInstances(ctx, &ecsapi.ListContainerInstancesInput{Cluster: ptr("fleet")})).ContainerInstanceArns
		out := map[string]bool{}
		for _, in := range must[*ecsapi.DescribeContainerInstancesOutput](t)(svc.DescribeContainerInstances(ctx, &ecsapi.DescribeContainerInstancesInput{Cluster: ptr("fleet"), ContainerInstances: arns})).ContainerInstances {
			out[deref(in.Ec2InstanceId)] = deref(in.AgentConnected)
		}
		return out
	}
	if got := connected(); !got["i-0abc1234def567890"] {
		t.Fatalf("just registered: %v", got)
	}
	now = now.Add(defaultAgentTimeout - time.Second)
	if got := connected(); !got["i-0abc1234def567890"] {
		t.Errorf("within the timeout: %v", got)
	}
	now = now.Add(2 * time.Second)
	if got := connected(); got["i-0abc1234def567890"] {
		t.Errorf("past the timeout without a call: %v", got)
	}
	must[*ecsapi.ListTasksOutput](t)(svc.ListTasks(ctx, &ecsapi.ListTasksInput{Cluster: ptr("fleet"), ContainerInstance: ci.ContainerInstanceArn}))
	if got := connected(); !got["i-0abc1234def567890"] {
		t.Errorf("after the agent's poll: %v", got)
	}
	for id, c := range connected() {
		if id != "i-0abc1234def567890" && !c {
			t.Errorf("the local instance %s shows disconnected", id)
		}
	}
}
