package ecs

import (
	"testing"

	ecsapi "github.com/berth-dev/berth/api/ecs"
)

// The cost of listing and describing among many stored tasks: ListTasks
// scans the cluster's task records (the store has no secondary indexes).
func BenchmarkListAndDescribe5000Tasks(b *testing.B) {
	t := &testing.T{}
	svc, _, ctx := newTestService(t)
	must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{ClusterName: ptr("c")}))
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, fargateDef("web")))
	var arns []string
	for len(arns) < 5000 {
		out, err := svc.RunTask(ctx, &ecsapi.RunTaskInput{Cluster: ptr("c"), TaskDefinition: ptr("web"),
			LaunchType: ptr(ecsapi.LaunchTypeFargate), NetworkConfiguration: awsvpcNet(), Count: ptr(int32(10))})
		if err != nil {
			b.Fatal(err)
		}
		for _, task := range out.Tasks {
			arns = append(arns, deref(task.TaskArn))
		}
	}
	b.Run("ListTasks-first-page", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.ListTasks(ctx, &ecsapi.ListTasksInput{Cluster: ptr("c")}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ListTasks-family-filter-all-pages", func(b *testing.B) {
		for b.Loop() {
			in := &ecsapi.ListTasksInput{Cluster: ptr("c"), Family: ptr("web")}
			for {
				out, err := svc.ListTasks(ctx, in)
				if err != nil {
					b.Fatal(err)
				}
				if out.NextToken == nil {
					break
				}
				in.NextToken = out.NextToken
			}
		}
	})
	b.Run("DescribeTasks-100", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.DescribeTasks(ctx, &ecsapi.DescribeTasksInput{Cluster: ptr("c"), Tasks: arns[:100]}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
