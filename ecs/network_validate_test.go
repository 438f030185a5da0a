package ecs

import (
	"context"
	"slices"
	"testing"

	ecsapi "github.com/berth-dev/berth/api/ecs"
)

// knownIDs is an EC2 with one subnet and one security group.
type knownIDs struct{ subnets, groups []string }

func (k knownIDs) MissingSubnet(_ context.Context, _, _ string, ids []string) (string, error) {
	return firstMissing(ids, k.subnets), nil
}

func (k knownIDs) MissingSecurityGroup(_ context.Context, _, _ string, ids []string) (string, error) {
	return firstMissing(ids, k.groups), nil
}

func firstMissing(ids, known []string) string {
	for _, id := range ids {
		if !slices.Contains(known, id) {
			return id
		}
	}
	return ""
}

// With a validator, RunTask, CreateService and UpdateService refuse
// subnets and security groups EC2 does not have, in ECS's words, and write
// nothing; known ids pass.
func TestNetworkIDsValidated(t *testing.T) {
	svc, _, ctx := newTestService(t)
	svc.SetNetworkValidator(knownIDs{subnets: []string{"subnet-0abc"}, groups: []string{"sg-0abc"}})
	must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{}))
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, fargateDef("web")))
	net := func(subnets, groups []string) *ecsapi.NetworkConfiguration {
		return &ecsapi.NetworkConfiguration{AwsvpcConfiguration: &ecsapi.AwsVpcConfiguration{Subnets: subnets, SecurityGroups: groups}}
	}
	fargate := ecsapi.LaunchTypeFargate

	_, err := svc.RunTask(ctx, &ecsapi.RunTaskInput{TaskDefinition: ptr("web"), LaunchType: &fargate,
		NetworkConfiguration: net([]string{"subnet-0abc", "subnet-0def"}, nil)})
	wantCode(t, "RunTask with an unknown subnet", err, "InvalidParameterException",
		"Error retrieving subnet information for [subnet-0abc, subnet-0def]: The subnet ID 'subnet-0def' does not exist")
	_, err = svc.RunTask(ctx, &ecsapi.RunTaskInput{TaskDefinition: ptr("web"), LaunchType: &fargate,
		NetworkConfiguration: net([]string{"subnet-0abc"}, []string{"sg-nope"})})
	wantCode(t, "RunTask with an unknown group", err, "InvalidParameterException",
		"Error retrieving security group information for [sg-nope]: The security group 'sg-nope' does not exist")
	list := must[*ecsapi.ListTasksOutput](t)(svc.ListTasks(ctx, &ecsapi.ListTasksInput{}))
	if len(list.TaskArns) != 0 {
		t.Fatalf("refused RunTasks left tasks: %v", list.TaskArns)
	}
	must[*ecsapi.RunTaskOutput](t)(svc.RunTask(ctx, &ecsapi.RunTaskInput{TaskDefinition: ptr("web"), LaunchType: &fargate,
		NetworkConfiguration: net([]string{"subnet-0abc"}, []string{"sg-0abc"})}))

	_, err = svc.CreateService(ctx, &ecsapi.CreateServiceInput{ServiceName: ptr("api"), TaskDefinition: ptr("web"),
		LaunchType: &fargate, DesiredCount: ptr(int32(1)), NetworkConfiguration: net([]string{"subnet-0bad"}, nil)})
	wantCode(t, "CreateService with an unknown subnet", err, "InvalidParameterException", "The subnet ID 'subnet-0bad' does not exist")
	must[*ecsapi.CreateServiceOutput](t)(svc.CreateService(ctx, &ecsapi.CreateServiceInput{ServiceName: ptr("api"), TaskDefinition: ptr("web"),
		LaunchType: &fargate, DesiredCount: ptr(int32(1)), NetworkConfiguration: net([]string{"subnet-0abc"}, nil)}))
	_, err = svc.UpdateService(ctx, &ecsapi.UpdateServiceInput{Service: ptr("api"), NetworkConfiguration: net([]string{"subnet-0abc"}, []string{"sg-0bad"})})
	wantCode(t, "UpdateService with an unknown group", err, "InvalidParameterException", "The security group 'sg-0bad' does not exist")
	external := ecsapi.DeploymentControllerTypeExternal
	must[*ecsapi.CreateServiceOutput](t)(svc.CreateService(ctx, &ecsapi.CreateServiceInput{ServiceName: ptr("ext"),
		DesiredCount: ptr(int32(1)), DeploymentController: &ecsapi.DeploymentController{Type: &external}}))
	_, err = svc.CreateTaskSet(ctx, &ecsapi.CreateTaskSetInput{Cluster: ptr("default"), Service: ptr("ext"), TaskDefinition: ptr("web"),
		LaunchType: &fargate, NetworkConfiguration: net([]string{"subnet-0bad"}, nil)})
	wantCode(t, "CreateTaskSet with an unknown subnet", err, "InvalidParameterException", "The subnet ID 'subnet-0bad' does not exist")
	out := must[*ecsapi.DescribeServicesOutput](t)(svc.DescribeServices(ctx, &ecsapi.DescribeServicesInput{Services: []string{"api"}}))
	if len(out.Services) != 1 || len(out.Services[0].Deployments) != 1 {
		t.Fatalf("a refused UpdateService started a deployment: %+v", out.Services)
	}
}
