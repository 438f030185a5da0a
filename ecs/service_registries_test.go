package ecs

import (
	"slices"
	"testing"

	ecsapi "github.com/berth-dev/berth/api/ecs"
)

// TestRegistrations checks what the controller asks Cloud Map to hold:
// RUNNING tasks not on their way out, with ECS's attributes and health.
func TestRegistrations(t *testing.T) {
	const reg = "arn:aws:servicediscovery:us-east-1:111111111111:service/srv-1"
	r := &serviceRecord{Name: "web", Cluster: "prod", Status: svcActive, Registries: []ecsapi.ServiceRegistry{
		{RegistryArn: ptr(reg), ContainerName: ptr("web"), ContainerPort: ptr(int32(8080))},
	}}
	task := func(id, desired, last, health string) *svcTask {
		return &svcTask{rec: &taskRecord{ID: id, Family: "webapp", AvailabilityZone: "us-east-1b", DesiredStatus: desired,
			Status: TaskStatus{LastStatus: last, PrivateIPv4Address: "10.0.0." + id, HealthStatus: health}}}
	}
	p := &servicePass{sc: scope{account: "111111111111", region: "us-east-1"}, r: r,
		registries: map[string]RegistryInfo{reg: {Name: "web", NamespaceName: "App.local", DNS: true, SRV: true}},
		tasks: []*svcTask{
			task("1", TaskRunning, TaskRunning, "HEALTHY"),
			task("2", TaskRunning, TaskRunning, "UNHEALTHY"),
			task("3", TaskRunning, "PENDING", ""),
			task("4", TaskStopped, TaskRunning, ""),
		}}
	want := p.registrations()[reg]
	if len(want) != 2 {
		t.Fatalf("registrations: %+v", want)
	}
	a := want[0].Attributes
	for k, v := range map[string]string{"AWS_INSTANCE_IPV4": "10.0.0.1", "AWS_INSTANCE_PORT": "8080", "ECS_CLUSTER_NAME": "prod",
		"ECS_SERVICE_NAME": "web", "ECS_TASK_DEFINITION_FAMILY": "webapp", "AVAILABILITY_ZONE": "us-east-1b", "REGION": "us-east-1"} {
		if a[k] != v {
			t.Errorf("%s = %q, want %q", k, a[k], v)
		}
	}
	if want[0].ID != "1" || !want[0].Healthy || want[1].ID != "2" || want[1].Healthy {
		t.Errorf("ids and health: %+v", want)
	}

	// A deleted service holds nothing.
	r.Status = svcInactive
	if got := p.registrations(); len(got) != 0 {
		t.Errorf("inactive service: %+v", got)
	}

	// A new task answers to <service>.<namespace>, lower-cased.
	rec := &taskRecord{ID: "5"}
	p.nameTask(rec)
	if !slices.Equal(rec.DiscoveryNames, []string{"web.app.local"}) {
		t.Errorf("names: %v", rec.DiscoveryNames)
	}
}

func TestCheckRegistries(t *testing.T) {
	s := &Service{}
	sc := scope{account: "111111111111", region: "us-east-1"}
	for _, regs := range [][]ecsapi.ServiceRegistry{
		{{RegistryArn: ptr("a")}, {RegistryArn: ptr("b")}},
		{{}},
		{{RegistryArn: ptr("a"), Port: ptr(int32(80)), ContainerPort: ptr(int32(80))}},
		{{RegistryArn: ptr("a"), ContainerName: ptr("web")}},
	} {
		if err := s.checkRegistries(t.Context(), sc, regs); err == nil {
			t.Errorf("%+v accepted", regs)
		}
	}
	if err := s.checkRegistries(t.Context(), sc, []ecsapi.ServiceRegistry{{RegistryArn: ptr("a"), Port: ptr(int32(80))}}); err != nil {
		t.Error(err)
	}
}
