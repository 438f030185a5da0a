package ecs

import (
	"context"
	"fmt"
	"testing"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/awsapi"
)

func TestAccountSettingsEffectiveAndAssumedRole(t *testing.T) {
	svc, _, ctx := newTestService(t)
	role := "arn:aws:iam::123456789012:role/builder"
	roleCtx := awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: "123456789012", Region: "us-east-1",
		Principal: "arn:aws:sts::123456789012:assumed-role/builder/session-1"})

	must[*ecsapi.PutAccountSettingDefaultOutput](t)(svc.PutAccountSettingDefault(ctx, &ecsapi.PutAccountSettingDefaultInput{
		Name: ptr(ecsapi.SettingNameContainerInsights), Value: ptr("enhanced")}))
	// Without principalArn an assumed-role session acts for its role.
	out := must[*ecsapi.PutAccountSettingOutput](t)(svc.PutAccountSetting(roleCtx, &ecsapi.PutAccountSettingInput{
		Name: ptr(ecsapi.SettingNameContainerInsights), Value: ptr("disabled")}))
	if deref(out.Setting.PrincipalArn) != role {
		t.Errorf("assumed-role session's setting belongs to %s, want %s", deref(out.Setting.PrincipalArn), role)
	}
	// Clusters get the containerInsights that applies to their creator.
	c := must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{ClusterName: ptr("root-made")}))
	if v := deref(c.Cluster.Settings[0].Value); v != "enhanced" {
		t.Errorf("root's cluster containerInsights = %s, want enhanced", v)
	}
	c = must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(roleCtx, &ecsapi.CreateClusterInput{ClusterName: ptr("role-made")}))
	if v := deref(c.Cluster.Settings[0].Value); v != "disabled" {
		t.Errorf("role's cluster containerInsights = %s, want disabled", v)
	}

	// Pages of effective settings cover every name once.
	seen := map[ecsapi.SettingName]int{}
	var tok *string
	for {
		page := must[*ecsapi.ListAccountSettingsOutput](t)(svc.ListAccountSettings(ctx, &ecsapi.ListAccountSettingsInput{
			EffectiveSettings: ptr(true), MaxResults: ptr(int32(4)), NextToken: tok}))
		for _, s := range page.Settings {
			seen[deref(s.Name)]++
		}
		if tok = page.NextToken; tok == nil {
			break
		}
	}
	if len(seen) != len(settingNames) {
		t.Errorf("paged effective settings: %v", seen)
	}
	for n, k := range seen {
		if k != 1 {
			t.Errorf("%s listed %d times", n, k)
		}
	}
	_, err := svc.PutAccountSetting(ctx, &ecsapi.PutAccountSettingInput{Name: ptr(ecsapi.SettingNameDefaultLogDriverMode), Value: ptr("enabled")})
	wantCode(t, "defaultLogDriverMode enabled", err, "InvalidParameterException", "blocking")
}

func TestAttributesLimitAndPaging(t *testing.T) {
	svc, _, ctx := newTestService(t)
	must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{ClusterName: ptr("a")}))
	inst := must[*ecsapi.ListContainerInstancesOutput](t)(svc.ListContainerInstances(ctx, &ecsapi.ListContainerInstancesInput{Cluster: ptr("a")})).ContainerInstanceArns[0]
	var attrs []ecsapi.Attribute
	for i := range 10 {
		attrs = append(attrs, ecsapi.Attribute{Name: ptr(fmt.Sprintf("c%02d", i)), Value: ptr("v"), TargetId: ptr(inst)})
	}
	must[*ecsapi.PutAttributesOutput](t)(svc.PutAttributes(ctx, &ecsapi.PutAttributesInput{Cluster: ptr("a"), Attributes: attrs}))
	_, err := svc.PutAttributes(ctx, &ecsapi.PutAttributesInput{Cluster: ptr("a"), Attributes: []ecsapi.Attribute{{Name: ptr("c10"), TargetId: ptr(inst)}}})
	wantCode(t, "eleventh custom attribute", err, "AttributeLimitExceededException")
	_, err = svc.PutAttributes(ctx, &ecsapi.PutAttributesInput{Cluster: ptr("a"), Attributes: []ecsapi.Attribute{{Name: ptr("bad name"), TargetId: ptr(inst)}}})
	wantCode(t, "attribute name with a space", err, "InvalidParameterException")
	// Built-in attributes do not count: replacing one is allowed.
	must[*ecsapi.PutAttributesOutput](t)(svc.PutAttributes(ctx, &ecsapi.PutAttributesInput{Cluster: ptr("a"),
		Attributes: []ecsapi.Attribute{{Name: ptr("ecs.instance-type"), Value: ptr("m5.large"), TargetId: ptr(inst)}}}))

	total, seen := 0, map[string]bool{}
	var tok *string
	for {
		page := must[*ecsapi.ListAttributesOutput](t)(svc.ListAttributes(ctx, &ecsapi.ListAttributesInput{
			Cluster: ptr("a"), TargetType: ptr(ecsapi.TargetTypeContainerInstance), MaxResults: ptr(int32(3)), NextToken: tok}))
		for _, a := range page.Attributes {
			total++
			seen[deref(a.Name)] = true
			if deref(a.Name) == "ecs.instance-type" && deref(a.Value) != "m5.large" {
				t.Errorf("ecs.instance-type = %s", deref(a.Value))
			}
		}
		if tok = page.NextToken; tok == nil {
			break
		}
	}
	if total != len(seen) || !seen["c00"] || !seen["c09"] || !seen["ecs.os-type"] {
		t.Errorf("paged attributes: %d entries, %d names: %v", total, len(seen), seen)
	}
}

func TestCapacityProviderLifecycle(t *testing.T) {
	svc, _, ctx := newTestService(t)
	must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{ClusterName: ptr("c")}))
	mi := &ecsapi.CreateManagedInstancesProviderConfiguration{
		InfrastructureRoleArn:  ptr("arn:aws:iam::123456789012:role/ecsInfra"),
		InstanceLaunchTemplate: &ecsapi.InstanceLaunchTemplate{Ec2InstanceProfileArn: ptr("arn:aws:iam::123456789012:instance-profile/p")},
	}
	_, err := svc.CreateCapacityProvider(ctx, &ecsapi.CreateCapacityProviderInput{Name: ptr("mi"), ManagedInstancesProvider: mi})
	wantCode(t, "managed instances without a cluster", err, "InvalidParameterException")
	out := must[*ecsapi.CreateCapacityProviderOutput](t)(svc.CreateCapacityProvider(ctx, &ecsapi.CreateCapacityProviderInput{
		Name: ptr("mi"), Cluster: ptr("c"), ManagedInstancesProvider: mi}))
	if deref(out.CapacityProvider.Type) != ecsapi.CapacityProviderTypeManagedInstances || deref(out.CapacityProvider.Cluster) != "c" {
		t.Errorf("managed instances provider: %+v", out.CapacityProvider)
	}
	// A cluster-scoped provider keeps its cluster from being deleted.
	_, err = svc.DeleteCluster(ctx, &ecsapi.DeleteClusterInput{Cluster: ptr("c")})
	wantCode(t, "delete cluster with a managed instances provider", err, "ClusterContainsCapacityProviderException")
	d := must[*ecsapi.DeleteCapacityProviderOutput](t)(svc.DeleteCapacityProvider(ctx, &ecsapi.DeleteCapacityProviderInput{CapacityProvider: ptr("mi"), Cluster: ptr("c")}))
	if deref(d.CapacityProvider.UpdateStatus) != ecsapi.CapacityProviderUpdateStatusDeleteInProgress {
		t.Errorf("delete: %+v", d.CapacityProvider)
	}
	must[*ecsapi.DeleteClusterOutput](t)(svc.DeleteCluster(ctx, &ecsapi.DeleteClusterInput{Cluster: ptr("c")}))

	// The name can be used again once the provider is gone.
	must[*ecsapi.CreateCapacityProviderOutput](t)(svc.CreateCapacityProvider(ctx, &ecsapi.CreateCapacityProviderInput{
		Name: ptr("mi"), AutoScalingGroupProvider: &ecsapi.AutoScalingGroupProvider{AutoScalingGroupArn: ptr("group-1")}}))
	_, err = svc.CreateCapacityProvider(ctx, &ecsapi.CreateCapacityProviderInput{
		Name: ptr("bad"), AutoScalingGroupProvider: &ecsapi.AutoScalingGroupProvider{AutoScalingGroupArn: ptr("arn:aws:autoscaling:nope")}})
	wantCode(t, "malformed ASG ARN", err, "ClientException")
	_, err = svc.CreateCapacityProvider(ctx, &ecsapi.CreateCapacityProviderInput{
		Name: ptr("FargateX"), AutoScalingGroupProvider: &ecsapi.AutoScalingGroupProvider{AutoScalingGroupArn: ptr("g")}})
	wantCode(t, "reserved prefix", err, "InvalidParameterException", "fargate")
}

func TestDaemonLifecycle(t *testing.T) {
	svc, _, ctx := newTestService(t)
	must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{ClusterName: ptr("d")}))
	mi := &ecsapi.CreateManagedInstancesProviderConfiguration{
		InfrastructureRoleArn:  ptr("arn:aws:iam::123456789012:role/ecsInfra"),
		InstanceLaunchTemplate: &ecsapi.InstanceLaunchTemplate{Ec2InstanceProfileArn: ptr("arn:aws:iam::123456789012:instance-profile/p")},
	}
	cp := must[*ecsapi.CreateCapacityProviderOutput](t)(svc.CreateCapacityProvider(ctx, &ecsapi.CreateCapacityProviderInput{
		Name: ptr("mi"), Cluster: ptr("d"), ManagedInstancesProvider: mi})).CapacityProvider
	must[*ecsapi.CreateCapacityProviderOutput](t)(svc.CreateCapacityProvider(ctx, &ecsapi.CreateCapacityProviderInput{
		Name: ptr("asg"), AutoScalingGroupProvider: &ecsapi.AutoScalingGroupProvider{AutoScalingGroupArn: ptr("g")}}))

	reg := func(image string) string {
		return deref(must[*ecsapi.RegisterDaemonTaskDefinitionOutput](t)(svc.RegisterDaemonTaskDefinition(ctx, &ecsapi.RegisterDaemonTaskDefinitionInput{
			Family: ptr("agent"), ContainerDefinitions: []ecsapi.DaemonContainerDefinition{{Name: ptr("a"), Image: ptr(image), Memory: ptr(int32(64))}}})).DaemonTaskDefinitionArn)
	}
	td1, td2 := reg("agent:1"), reg("agent:2")
	if td2 != "arn:aws:ecs:us-east-1:123456789012:daemon-task-definition/agent:2" {
		t.Errorf("second revision ARN %s", td2)
	}
	_, err := svc.CreateDaemon(ctx, &ecsapi.CreateDaemonInput{DaemonName: ptr("x"), ClusterArn: ptr("d"), DaemonTaskDefinitionArn: ptr(td1), CapacityProviderArns: []string{"asg"}})
	wantCode(t, "daemon on an ASG provider", err, "UnsupportedFeatureException")

	created := must[*ecsapi.CreateDaemonOutput](t)(svc.CreateDaemon(ctx, &ecsapi.CreateDaemonInput{DaemonName: ptr("agent"), ClusterArn: ptr("d"),
		DaemonTaskDefinitionArn: ptr(td1), CapacityProviderArns: []string{deref(cp.CapacityProviderArn)}, ClientToken: ptr("tok")}))
	again := must[*ecsapi.CreateDaemonOutput](t)(svc.CreateDaemon(ctx, &ecsapi.CreateDaemonInput{DaemonName: ptr("agent"), ClusterArn: ptr("d"),
		DaemonTaskDefinitionArn: ptr(td1), CapacityProviderArns: []string{deref(cp.CapacityProviderArn)}, ClientToken: ptr("tok")}))
	if deref(again.DeploymentArn) != deref(created.DeploymentArn) {
		t.Errorf("client token retry made a new deployment")
	}
	// The provider of an ACTIVE daemon cannot be deleted.
	_, err = svc.DeleteCapacityProvider(ctx, &ecsapi.DeleteCapacityProviderInput{CapacityProvider: ptr("mi"), Cluster: ptr("d")})
	wantCode(t, "delete a daemon's provider", err, "ClientException", "Daemon")

	up := must[*ecsapi.UpdateDaemonOutput](t)(svc.UpdateDaemon(ctx, &ecsapi.UpdateDaemonInput{DaemonArn: created.DaemonArn, DaemonTaskDefinitionArn: ptr(td2)}))
	deps := must[*ecsapi.DescribeDaemonDeploymentsOutput](t)(svc.DescribeDaemonDeployments(ctx, &ecsapi.DescribeDaemonDeploymentsInput{
		DaemonDeploymentArns: []string{deref(up.DeploymentArn), "arn:aws:ecs:us-east-1:123456789012:daemon-deployment/d/agent/nope"}}))
	if len(deps.DaemonDeployments) != 1 || len(deps.Failures) != 1 || deref(deps.DaemonDeployments[0].Status) != ecsapi.DaemonDeploymentStatusSuccessful ||
		len(deps.DaemonDeployments[0].SourceDaemonRevisions) != 1 || deps.DaemonDeployments[0].TargetDaemonRevision == nil {
		t.Fatalf("update deployment: %+v", deps)
	}
	revs := must[*ecsapi.DescribeDaemonRevisionsOutput](t)(svc.DescribeDaemonRevisions(ctx, &ecsapi.DescribeDaemonRevisionsInput{
		DaemonRevisionArns: []string{deref(deps.DaemonDeployments[0].TargetDaemonRevision.Arn), deref(deps.DaemonDeployments[0].SourceDaemonRevisions[0].Arn)}}))
	if len(revs.DaemonRevisions) != 2 || deref(revs.DaemonRevisions[0].DaemonTaskDefinitionArn) != td2 || deref(revs.DaemonRevisions[1].DaemonTaskDefinitionArn) != td1 ||
		deref(revs.DaemonRevisions[0].ContainerImages[0].Image) != "agent:2" {
		t.Errorf("revisions: %+v", revs.DaemonRevisions)
	}
	list := must[*ecsapi.ListDaemonDeploymentsOutput](t)(svc.ListDaemonDeployments(ctx, &ecsapi.ListDaemonDeploymentsInput{DaemonArn: created.DaemonArn, MaxResults: ptr(int32(1))}))
	if len(list.DaemonDeployments) != 1 || list.NextToken == nil || deref(list.DaemonDeployments[0].DaemonDeploymentArn) != deref(up.DeploymentArn) {
		t.Errorf("newest deployment first: %+v", list)
	}

	// td2 is in use: DELETE_IN_PROGRESS; td1 no longer: DELETED.
	must[*ecsapi.DeleteDaemonTaskDefinitionOutput](t)(svc.DeleteDaemonTaskDefinition(ctx, &ecsapi.DeleteDaemonTaskDefinitionInput{DaemonTaskDefinition: ptr("agent:2")}))
	must[*ecsapi.DeleteDaemonTaskDefinitionOutput](t)(svc.DeleteDaemonTaskDefinition(ctx, &ecsapi.DeleteDaemonTaskDefinitionInput{DaemonTaskDefinition: ptr(td1)}))
	for ref, want := range map[string]ecsapi.DaemonTaskDefinitionStatus{"agent:2": ecsapi.DaemonTaskDefinitionStatusDeleteInProgress, "agent:1": ecsapi.DaemonTaskDefinitionStatusDeleted} {
		d := must[*ecsapi.DescribeDaemonTaskDefinitionOutput](t)(svc.DescribeDaemonTaskDefinition(ctx, &ecsapi.DescribeDaemonTaskDefinitionInput{DaemonTaskDefinition: ptr(ref)}))
		if deref(d.DaemonTaskDefinition.Status) != want {
			t.Errorf("%s status %s, want %s", ref, deref(d.DaemonTaskDefinition.Status), want)
		}
	}
	del := must[*ecsapi.DeleteDaemonOutput](t)(svc.DeleteDaemon(ctx, &ecsapi.DeleteDaemonInput{DaemonArn: created.DaemonArn}))
	if deref(del.Status) != ecsapi.DaemonStatusDeleteInProgress {
		t.Errorf("delete daemon: %+v", del)
	}
	_, err = svc.UpdateDaemon(ctx, &ecsapi.UpdateDaemonInput{DaemonArn: created.DaemonArn})
	wantCode(t, "update a deleted daemon", err, "DaemonNotActiveException")
	_, err = svc.DescribeDaemon(ctx, &ecsapi.DescribeDaemonInput{DaemonArn: ptr("arn:aws:ecs:us-east-1:123456789012:daemon/d/none")})
	wantCode(t, "describe a missing daemon", err, "DaemonNotFoundException")
	must[*ecsapi.DeleteCapacityProviderOutput](t)(svc.DeleteCapacityProvider(ctx, &ecsapi.DeleteCapacityProviderInput{CapacityProvider: ptr("mi"), Cluster: ptr("d")}))
}

func TestDaemonTags(t *testing.T) {
	svc, _, ctx := newTestService(t)
	arn := deref(must[*ecsapi.RegisterDaemonTaskDefinitionOutput](t)(svc.RegisterDaemonTaskDefinition(ctx, &ecsapi.RegisterDaemonTaskDefinitionInput{
		Family: ptr("tagged"), ContainerDefinitions: []ecsapi.DaemonContainerDefinition{{Name: ptr("a"), Image: ptr("busybox")}},
		Tags: []ecsapi.Tag{{Key: ptr("team"), Value: ptr("obs")}}})).DaemonTaskDefinitionArn)
	must[*ecsapi.TagResourceOutput](t)(svc.TagResource(ctx, &ecsapi.TagResourceInput{ResourceArn: ptr(arn), Tags: []ecsapi.Tag{{Key: ptr("env"), Value: ptr("dev")}}}))
	tags := must[*ecsapi.ListTagsForResourceOutput](t)(svc.ListTagsForResource(ctx, &ecsapi.ListTagsForResourceInput{ResourceArn: ptr(arn)})).Tags
	if len(tags) != 2 {
		t.Errorf("daemon task definition tags: %+v", tags)
	}
}
