package ecs

import (
	"testing"

	ecsapi "github.com/berth-dev/berth/api/ecs"
)

func TestClusterLifecycle(t *testing.T) {
	svc, _, ctx := newTestService(t)

	out := must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{
		ClusterName: ptr("prod"),
		Tags:        []ecsapi.Tag{{Key: ptr("team"), Value: ptr("a")}},
		Settings:    []ecsapi.ClusterSetting{{Name: ptr(ecsapi.ClusterSettingNameContainerInsights), Value: ptr("enabled")}},
	}))
	c := out.Cluster
	if got, want := deref(c.ClusterArn), "arn:aws:ecs:us-east-1:123456789012:cluster/prod"; got != want {
		t.Errorf("clusterArn = %s, want %s", got, want)
	}
	if deref(c.Status) != "ACTIVE" || deref(c.RegisteredContainerInstancesCount) != 1 {
		t.Errorf("new cluster: status %s, %d instances; want ACTIVE with the local host registered", deref(c.Status), deref(c.RegisteredContainerInstancesCount))
	}
	if len(c.Settings) != 1 || deref(c.Settings[0].Value) != "enabled" {
		t.Errorf("settings = %+v", c.Settings)
	}

	// Creating it again returns it unchanged.
	again := must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{ClusterName: ptr("prod")}))
	if len(again.Cluster.Tags) != 1 {
		t.Errorf("second CreateCluster changed the cluster: tags %+v", again.Cluster.Tags)
	}

	// Describe: include selects the optional parts; unknown names are MISSING.
	d := must[*ecsapi.DescribeClustersOutput](t)(svc.DescribeClusters(ctx, &ecsapi.DescribeClustersInput{Clusters: []string{"prod", "nope"}}))
	if len(d.Clusters) != 1 || len(d.Failures) != 1 || deref(d.Failures[0].Reason) != "MISSING" ||
		deref(d.Failures[0].Arn) != "arn:aws:ecs:us-east-1:123456789012:cluster/nope" {
		t.Fatalf("describe: %+v / %+v", d.Clusters, d.Failures)
	}
	if len(d.Clusters[0].Tags) != 0 || len(d.Clusters[0].Statistics) != 0 {
		t.Errorf("describe without include shows tags or statistics")
	}
	d = must[*ecsapi.DescribeClustersOutput](t)(svc.DescribeClusters(ctx, &ecsapi.DescribeClustersInput{
		Clusters: []string{"arn:aws:ecs:us-east-1:123456789012:cluster/prod"},
		Include:  []ecsapi.ClusterField{ecsapi.ClusterFieldTags, ecsapi.ClusterFieldStatistics, ecsapi.ClusterFieldSettings},
	}))
	if len(d.Clusters) != 1 || len(d.Clusters[0].Tags) != 1 || len(d.Clusters[0].Statistics) == 0 || len(d.Clusters[0].Settings) != 1 {
		t.Errorf("describe with include: %+v", d.Clusters)
	}

	// Settings and capacity providers.
	_, err := svc.UpdateClusterSettings(ctx, &ecsapi.UpdateClusterSettingsInput{Cluster: ptr("prod"),
		Settings: []ecsapi.ClusterSetting{{Name: ptr(ecsapi.ClusterSettingNameContainerInsights), Value: ptr("sometimes")}}})
	wantCode(t, "containerInsights=sometimes", err, "InvalidParameterException", "containerInsights")
	_, err = svc.PutClusterCapacityProviders(ctx, &ecsapi.PutClusterCapacityProvidersInput{Cluster: ptr("prod"),
		CapacityProviders: []string{"MY_ASG"}, DefaultCapacityProviderStrategy: []ecsapi.CapacityProviderStrategyItem{}})
	wantCode(t, "unknown capacity provider", err, "InvalidParameterException", "MY_ASG")
	_, err = svc.PutClusterCapacityProviders(ctx, &ecsapi.PutClusterCapacityProvidersInput{Cluster: ptr("prod"),
		CapacityProviders:               []string{"FARGATE"},
		DefaultCapacityProviderStrategy: []ecsapi.CapacityProviderStrategyItem{{CapacityProvider: ptr("FARGATE_SPOT"), Weight: ptr(int32(1))}}})
	wantCode(t, "strategy outside the cluster", err, "InvalidParameterException", "not associated with the cluster")
	cp := must[*ecsapi.PutClusterCapacityProvidersOutput](t)(svc.PutClusterCapacityProviders(ctx, &ecsapi.PutClusterCapacityProvidersInput{Cluster: ptr("prod"),
		CapacityProviders:               []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []ecsapi.CapacityProviderStrategyItem{{CapacityProvider: ptr("FARGATE_SPOT"), Weight: ptr(int32(1))}}}))
	if len(cp.Cluster.CapacityProviders) != 2 || len(cp.Cluster.DefaultCapacityProviderStrategy) != 1 {
		t.Errorf("capacity providers: %+v", cp.Cluster)
	}

	// Delete: INACTIVE, still described, no longer listed or usable.
	del := must[*ecsapi.DeleteClusterOutput](t)(svc.DeleteCluster(ctx, &ecsapi.DeleteClusterInput{Cluster: ptr("prod")}))
	if deref(del.Cluster.Status) != "INACTIVE" || deref(del.Cluster.RegisteredContainerInstancesCount) != 0 {
		t.Errorf("deleted cluster: %s with %d instances", deref(del.Cluster.Status), deref(del.Cluster.RegisteredContainerInstancesCount))
	}
	d = must[*ecsapi.DescribeClustersOutput](t)(svc.DescribeClusters(ctx, &ecsapi.DescribeClustersInput{Clusters: []string{"prod"}}))
	if len(d.Clusters) != 1 || deref(d.Clusters[0].Status) != "INACTIVE" {
		t.Errorf("describe after delete: %+v", d)
	}
	l := must[*ecsapi.ListClustersOutput](t)(svc.ListClusters(ctx, &ecsapi.ListClustersInput{}))
	if len(l.ClusterArns) != 0 {
		t.Errorf("list after delete: %v", l.ClusterArns)
	}
	_, err = svc.UpdateCluster(ctx, &ecsapi.UpdateClusterInput{Cluster: ptr("prod")})
	wantCode(t, "update deleted cluster", err, "ClusterNotFoundException", "Cluster not found.")
	_, err = svc.ListTasks(ctx, &ecsapi.ListTasksInput{Cluster: ptr("prod")})
	wantCode(t, "list tasks of deleted cluster", err, "ClusterNotFoundException")

	// Bad names.
	_, err = svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{ClusterName: ptr("no spaces")})
	wantCode(t, "invalid name", err, "InvalidParameterException")
}

func TestListClustersPages(t *testing.T) {
	svc, _, ctx := newTestService(t)
	for _, n := range []string{"e", "a", "d", "b", "c"} {
		must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{ClusterName: ptr(n)}))
	}
	var got []string
	in := &ecsapi.ListClustersInput{MaxResults: ptr(int32(2))}
	for pages := 0; ; pages++ {
		out := must[*ecsapi.ListClustersOutput](t)(svc.ListClusters(ctx, in))
		for _, a := range out.ClusterArns {
			got = append(got, lastName([]string{a}))
		}
		if out.NextToken == nil {
			break
		}
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		in.NextToken = out.NextToken
	}
	if want := "a b c d e"; join(got) != want {
		t.Errorf("clusters = %q, want %q", join(got), want)
	}
	_, err := svc.ListClusters(ctx, &ecsapi.ListClustersInput{NextToken: ptr("garbage")})
	wantCode(t, "bad token", err, "InvalidParameterException")
	_, err = svc.ListClusters(ctx, &ecsapi.ListClustersInput{MaxResults: ptr(int32(101))})
	wantCode(t, "maxResults 101", err, "InvalidParameterException")
}

func join(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += v
	}
	return out
}

// Calls that name no cluster use "default", which write calls create.
func TestDefaultClusterIsImplicit(t *testing.T) {
	svc, _, ctx := newTestService(t)
	_, err := svc.ListTasks(ctx, &ecsapi.ListTasksInput{})
	wantCode(t, "list tasks before any cluster", err, "ClusterNotFoundException")

	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, ec2Def("job", 128, 128)))
	run := must[*ecsapi.RunTaskOutput](t)(svc.RunTask(ctx, &ecsapi.RunTaskInput{TaskDefinition: ptr("job")}))
	if len(run.Tasks) != 1 || deref(run.Tasks[0].ClusterArn) != "arn:aws:ecs:us-east-1:123456789012:cluster/default" {
		t.Fatalf("run-task without cluster: %+v %+v", run.Tasks, run.Failures)
	}
	l := must[*ecsapi.ListTasksOutput](t)(svc.ListTasks(ctx, &ecsapi.ListTasksInput{}))
	if len(l.TaskArns) != 1 {
		t.Errorf("list-tasks of default: %v", l.TaskArns)
	}
}

// Each account and region sees only its own clusters.
func TestScopesIsolate(t *testing.T) {
	svc, _, ctx := newTestService(t)
	must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{ClusterName: ptr("mine")}))
	other := scopedCtx("210987654321", "eu-west-1")
	l := must[*ecsapi.ListClustersOutput](t)(svc.ListClusters(other, &ecsapi.ListClustersInput{}))
	if len(l.ClusterArns) != 0 {
		t.Errorf("another account lists %v", l.ClusterArns)
	}
	_, err := svc.DeleteCluster(other, &ecsapi.DeleteClusterInput{Cluster: ptr("arn:aws:ecs:us-east-1:123456789012:cluster/mine")})
	wantCode(t, "delete another account's cluster by ARN", err, "ClusterNotFoundException")
}
