package ecs

import (
	"context"
	"sync"
	"testing"

	ecsapi "github.com/berth-dev/berth/api/ecs"
)

type fakeUsage map[string]Usage // by service name

func (f fakeUsage) ServiceUsage(_ context.Context, _, _, _, service string) (Usage, error) {
	return f[service], nil
}

type fakePublisher struct {
	mu  sync.Mutex
	got map[string]float64 // "namespace name dims" → value
}

func (f *fakePublisher) PutMetrics(_ context.Context, _, _, ns string, data []Metric) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range data {
		f.got[ns+" "+m.Name+" "+m.Dimensions["ClusterName"]+"/"+m.Dimensions["ServiceName"]] = m.Value
	}
	return nil
}

// Each service's utilization is its tasks' use over reservation, the
// cluster's the sums over its services; a service with nothing measured
// publishes no utilization; Container Insights counts only where enabled.
func TestPublishMetrics(t *testing.T) {
	svc, _, ctx := newTestService(t)
	must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{ClusterName: ptr("c"),
		Settings: []ecsapi.ClusterSetting{{Name: ptr(ecsapi.ClusterSettingNameContainerInsights), Value: ptr("enabled")}}}))
	must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{ClusterName: ptr("plain")}))
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, ec2Def("web", 64, 64)))
	for _, s := range []struct{ cluster, name string }{{"c", "a"}, {"c", "b"}, {"c", "idle"}, {"plain", "p"}} {
		must[*ecsapi.CreateServiceOutput](t)(svc.CreateService(ctx, &ecsapi.CreateServiceInput{Cluster: ptr(s.cluster), ServiceName: ptr(s.name),
			TaskDefinition: ptr("web:1"), DesiredCount: ptr(int32(2))}))
	}
	u := fakeUsage{
		"a": {Tasks: 1, CPUUsed: 256, CPUReserved: 1024, MemUsed: 64, MemReserved: 128},
		"b": {Tasks: 2, CPUUsed: 768, CPUReserved: 1024, MemUsed: 0, MemReserved: 128},
		"p": {Tasks: 1, CPUUsed: 512, CPUReserved: 512, MemUsed: 1, MemReserved: 4},
	}
	pub := &fakePublisher{got: map[string]float64{}}
	if err := svc.publishMetrics(ctx, u, pub); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"AWS/ECS CPUUtilization c/a": 25, "AWS/ECS MemoryUtilization c/a": 50,
		"AWS/ECS CPUUtilization c/b": 75, "AWS/ECS MemoryUtilization c/b": 0,
		"AWS/ECS CPUUtilization c/": 50, "AWS/ECS MemoryUtilization c/": 25,
		"AWS/ECS CPUUtilization plain/p": 100, "AWS/ECS MemoryUtilization plain/p": 25,
		"AWS/ECS CPUUtilization plain/": 100, "AWS/ECS MemoryUtilization plain/": 25,
		"ECS/ContainerInsights DesiredTaskCount c/idle": 2, "ECS/ContainerInsights RunningTaskCount c/idle": 0,
	}
	for k, v := range want {
		if got, ok := pub.got[k]; !ok || got != v {
			t.Errorf("%s = %v (%v), want %v", k, got, ok, v)
		}
	}
	for _, k := range []string{"AWS/ECS CPUUtilization c/idle", "ECS/ContainerInsights DesiredTaskCount plain/p"} {
		if _, ok := pub.got[k]; ok {
			t.Errorf("published %s", k)
		}
	}
}
