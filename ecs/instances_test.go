package ecs

import (
	"testing"

	ecsapi "github.com/berth-dev/berth/api/ecs"
)

// A remote agent registers the way the ECS agent does; its instance takes
// tasks, drains, and keeps its cluster from being deleted.
func TestRemoteContainerInstance(t *testing.T) {
	svc, _, ctx := newTestService(t)
	must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{ClusterName: ptr("fleet")}))

	total := []ecsapi.Resource{
		{Name: ptr("CPU"), Type: ptr("INTEGER"), IntegerValue: ptr(int32(4096))},
		{Name: ptr("MEMORY"), Type: ptr("INTEGER"), IntegerValue: ptr(int32(16000))},
		{Name: ptr("PORTS"), Type: ptr("STRINGSET"), StringSetValue: []string{"22", "2375"}},
	}
	reg := func() *ecsapi.ContainerInstance {
		return must[*ecsapi.RegisterContainerInstanceOutput](t)(svc.RegisterContainerInstance(ctx, &ecsapi.RegisterContainerInstanceInput{
			Cluster:                  ptr("fleet"),
			InstanceIdentityDocument: ptr(`{"instanceId":"i-0abc1234def567890","instanceType":"m5.xlarge","availabilityZone":"us-east-1c"}`),
			TotalResources:           total,
			VersionInfo:              &ecsapi.VersionInfo{AgentVersion: ptr("1.80.0"), DockerVersion: ptr("24.0.7")},
			Attributes:               []ecsapi.Attribute{{Name: ptr("ecs.os-type"), Value: ptr("linux")}, {Name: ptr("gpu"), Value: ptr("none")}},
			Tags:                     []ecsapi.Tag{{Key: ptr("rack"), Value: ptr("r1")}},
		})).ContainerInstance
	}
	ci := reg()
	arn := deref(ci.ContainerInstanceArn)
	if deref(ci.Ec2InstanceId) != "i-0abc1234def567890" || deref(ci.Status) != "ACTIVE" || !deref(ci.AgentConnected) || len(ci.Tags) != 1 {
		t.Errorf("registered: %+v", ci)
	}
	if again := reg(); deref(again.ContainerInstanceArn) != arn {
		t.Errorf("the same host registering again made a second instance")
	}

	list := func(in *ecsapi.ListContainerInstancesInput) int {
		in.Cluster = ptr("fleet")
		return len(must[*ecsapi.ListContainerInstancesOutput](t)(svc.ListContainerInstances(ctx, in)).ContainerInstanceArns)
	}
	if n := list(&ecsapi.ListContainerInstancesInput{}); n != 2 {
		t.Errorf("%d instances, want the local host and the remote one", n)
	}
	filters := map[string]int{
		"attribute:ecs.instance-type == m5.xlarge":                                    1,
		"attribute:ecs.instance-type =~ m5.*":                                         1,
		"attribute:ecs.availability-zone in [us-east-1a, us-east-1c]":                 2,
		"attribute:gpu exists":                                                        1,
		"attribute:gpu !exists and attribute:ecs.os-type == linux":                    1,
		"ec2InstanceId == i-0abc1234def567890":                                        1,
		"runningTasksCount == 0":                                                      2,
		"attribute:ecs.os-type == linux and attribute:ecs.cpu-architecture == x86_64": 1,
	}
	for f, want := range filters {
		if got := list(&ecsapi.ListContainerInstancesInput{Filter: ptr(f)}); got != want {
			t.Errorf("filter %q: %d instances, want %d", f, got, want)
		}
	}
	_, err := svc.ListContainerInstances(ctx, &ecsapi.ListContainerInstancesInput{Cluster: ptr("fleet"), Filter: ptr("attribute:a == b or attribute:c == d")})
	wantCode(t, "filter with or", err, "InvalidParameterException", "not supported")

	// Placement constraints pick the remote instance.
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, ec2Def("big", 8000, 0)))
	run := must[*ecsapi.RunTaskOutput](t)(svc.RunTask(ctx, &ecsapi.RunTaskInput{Cluster: ptr("fleet"), TaskDefinition: ptr("big"),
		PlacementConstraints: []ecsapi.PlacementConstraint{{Type: ptr(ecsapi.PlacementConstraintTypeMemberOf), Expression: ptr("attribute:ecs.instance-type == m5.xlarge")}}}))
	if len(run.Tasks) != 1 || deref(run.Tasks[0].ContainerInstanceArn) != arn || deref(run.Tasks[0].AvailabilityZone) != "us-east-1c" {
		t.Fatalf("memberOf placement: %+v", run)
	}
	if hosts := must[[]AssignedTask](t)(svc.ListTasksToReconcile(ctx, "i-0abc1234def567890")); len(hosts) != 1 {
		t.Errorf("the remote host has %d tasks to reconcile, want 1", len(hosts))
	}

	// Draining: no new tasks there.
	upd := must[*ecsapi.UpdateContainerInstancesStateOutput](t)(svc.UpdateContainerInstancesState(ctx, &ecsapi.UpdateContainerInstancesStateInput{
		Cluster: ptr("fleet"), ContainerInstances: []string{arn, "ffffffffffffffffffffffffffffffff"}, Status: ptr(ecsapi.ContainerInstanceStatusDraining)}))
	if len(upd.ContainerInstances) != 1 || deref(upd.ContainerInstances[0].Status) != "DRAINING" || len(upd.Failures) != 1 {
		t.Errorf("drain: %+v", upd)
	}
	if n := list(&ecsapi.ListContainerInstancesInput{Status: ptr(ecsapi.ContainerInstanceStatusDraining)}); n != 1 {
		t.Errorf("%d DRAINING instances, want 1", n)
	}
	_, err = svc.UpdateContainerInstancesState(ctx, &ecsapi.UpdateContainerInstancesStateInput{Cluster: ptr("fleet"), ContainerInstances: []string{arn}, Status: ptr(ecsapi.ContainerInstanceStatusRegistering)})
	wantCode(t, "set REGISTERING", err, "InvalidParameterException")

	_, err = svc.DeleteCluster(ctx, &ecsapi.DeleteClusterInput{Cluster: ptr("fleet")})
	wantCode(t, "delete with active tasks", err, "ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.")
	if err := svc.UpdateTaskState(ctx, deref(run.Tasks[0].TaskArn), func(st *TaskStatus) error { st.LastStatus = TaskStopped; return nil }); err != nil {
		t.Fatal(err)
	}
	_, err = svc.DeleteCluster(ctx, &ecsapi.DeleteClusterInput{Cluster: ptr("fleet")})
	wantCode(t, "delete with a remote instance", err, "ClusterContainsContainerInstancesException", "The Cluster cannot be deleted while Container Instances are active or draining.")
	must[*ecsapi.DeregisterContainerInstanceOutput](t)(svc.DeregisterContainerInstance(ctx, &ecsapi.DeregisterContainerInstanceInput{Cluster: ptr("fleet"), ContainerInstance: ptr(arn)}))
	must[*ecsapi.DeleteClusterOutput](t)(svc.DeleteCluster(ctx, &ecsapi.DeleteClusterInput{Cluster: ptr("fleet")}))

	_, err = svc.DescribeContainerInstances(ctx, &ecsapi.DescribeContainerInstancesInput{Cluster: ptr("fleet"), ContainerInstances: []string{arn}})
	wantCode(t, "describe instances of a deleted cluster", err, "ClusterNotFoundException")
}

func TestRegisterContainerInstanceRefusals(t *testing.T) {
	svc, _, ctx := newTestService(t)
	_, err := svc.RegisterContainerInstance(ctx, &ecsapi.RegisterContainerInstanceInput{Cluster: ptr("c"), TotalResources: []ecsapi.Resource{
		{Name: ptr("CPU"), IntegerValue: ptr(int32(1024))}, {Name: ptr("MEMORY"), IntegerValue: ptr(int32(1024))}}})
	wantCode(t, "register to a missing cluster", err, "ClusterNotFoundException")
	_, err = svc.RegisterContainerInstance(ctx, &ecsapi.RegisterContainerInstanceInput{TotalResources: []ecsapi.Resource{{Name: ptr("CPU"), IntegerValue: ptr(int32(1))}}})
	wantCode(t, "register without memory", err, "ClientException", "MEMORY")
	_, err = svc.RegisterContainerInstance(ctx, &ecsapi.RegisterContainerInstanceInput{InstanceIdentityDocument: ptr("{not json")})
	wantCode(t, "register with a broken identity document", err, "ClientException")
}

func TestTagging(t *testing.T) {
	svc, _, ctx := newTestService(t)
	c := must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{ClusterName: ptr("c")})).Cluster
	td := must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, ec2Def("a", 16, 0))).TaskDefinition
	task := must[*ecsapi.RunTaskOutput](t)(svc.RunTask(ctx, &ecsapi.RunTaskInput{Cluster: ptr("c"), TaskDefinition: ptr("a")})).Tasks[0]
	inst := deref(task.ContainerInstanceArn)
	for _, arn := range []string{deref(c.ClusterArn), deref(td.TaskDefinitionArn), deref(task.TaskArn), inst} {
		must[*ecsapi.TagResourceOutput](t)(svc.TagResource(ctx, &ecsapi.TagResourceInput{ResourceArn: ptr(arn),
			Tags: []ecsapi.Tag{{Key: ptr("env"), Value: ptr("dev")}, {Key: ptr("owner"), Value: ptr("me")}}}))
		must[*ecsapi.UntagResourceOutput](t)(svc.UntagResource(ctx, &ecsapi.UntagResourceInput{ResourceArn: ptr(arn), TagKeys: []string{"owner"}}))
		tags := must[*ecsapi.ListTagsForResourceOutput](t)(svc.ListTagsForResource(ctx, &ecsapi.ListTagsForResourceInput{ResourceArn: ptr(arn)})).Tags
		if len(tags) != 1 || deref(tags[0].Key) != "env" {
			t.Errorf("%s: tags %+v", arn, tags)
		}
	}
	_, err := svc.TagResource(ctx, &ecsapi.TagResourceInput{ResourceArn: c.ClusterArn, Tags: []ecsapi.Tag{{Key: ptr("aws:x"), Value: ptr("y")}}})
	wantCode(t, "aws: tag", err, "InvalidParameterException", "reserved")
	_, err = svc.ListTagsForResource(ctx, &ecsapi.ListTagsForResourceInput{ResourceArn: ptr("arn:aws:ecs:us-east-1:123456789012:cluster/nope")})
	wantCode(t, "tags of a missing cluster", err, "ClusterNotFoundException")
	_, err = svc.ListTagsForResource(ctx, &ecsapi.ListTagsForResourceInput{ResourceArn: ptr("arn:aws:ecs:us-east-1:123456789012:task/c/0123456789abcdef0123456789abcdef")})
	wantCode(t, "tags of a missing task", err, "ResourceNotFoundException")
	_, err = svc.ListTagsForResource(ctx, &ecsapi.ListTagsForResourceInput{ResourceArn: ptr("not-an-arn")})
	wantCode(t, "tags of garbage", err, "InvalidParameterException")
}
