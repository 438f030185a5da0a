package agent

import (
	"reflect"
	"strings"
	"testing"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/ecs"
	"github.com/berth-dev/berth/runtime"
)

func def(name string, deps ...string) ecsapi.ContainerDefinition {
	d := ecsapi.ContainerDefinition{Name: ptr(name)}
	for _, dep := range deps {
		n, cond, _ := strings.Cut(dep, ":")
		d.DependsOn = append(d.DependsOn, ecsapi.ContainerDependency{ContainerName: ptr(n), Condition: ptr(ecsapi.ContainerCondition(cond))})
	}
	return d
}

func TestCheckDeps(t *testing.T) {
	now := time.Now()
	running := runtime.ContainerInfo{State: runtime.StateRunning, StartedAt: now.Add(-time.Second)}
	healthy := running
	healthy.Health.Status = runtime.HealthHealthy
	starting := running
	starting.Health.Status = runtime.HealthStarting
	exited0 := runtime.ContainerInfo{State: runtime.StateExited, StartedAt: now.Add(-time.Second), ExitCode: 0}
	exited3 := exited0
	exited3.ExitCode = 3
	created := runtime.ContainerInfo{State: runtime.StateCreated}
	old := starting
	old.StartedAt = now.Add(-time.Hour)

	cases := []struct {
		name string
		cond string
		dep  runtime.ContainerInfo
		want depResult
		why  string
	}{
		{"start waits for a created dependency", "START", created, depWait, ""},
		{"start is met by a running one", "START", running, depMet, ""},
		{"complete waits while it runs", "COMPLETE", running, depWait, ""},
		{"complete is met by any exit", "COMPLETE", exited3, depMet, ""},
		{"success is met by exit 0", "SUCCESS", exited0, depMet, ""},
		{"success fails on exit 3", "SUCCESS", exited3, depFailed, "exit code 3"},
		{"healthy waits while starting", "HEALTHY", starting, depWait, ""},
		{"healthy is met", "HEALTHY", healthy, depMet, ""},
		{"healthy fails without a check", "HEALTHY", running, depFailed, "no health check"},
		{"healthy fails when it exits", "HEALTHY", exited0, depFailed, "before it became HEALTHY"},
		{"a pending condition times out", "HEALTHY", old, depFailed, "start timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defs := map[string]ecsapi.ContainerDefinition{"dep": def("dep"), "app": def("app", "dep:"+tc.cond)}
			got, why, _ := checkDeps(defs, defs["app"], map[string]runtime.ContainerInfo{"dep": tc.dep}, nil, now)
			if got != tc.want || !strings.Contains(why, tc.why) {
				t.Errorf("got %v %q, want %v with %q", got, why, tc.want, tc.why)
			}
		})
	}
	defs := map[string]ecsapi.ContainerDefinition{"dep": def("dep"), "app": def("app", "dep:START")}
	if got, why, _ := checkDeps(defs, defs["app"], nil, map[string]string{"dep": "pull failed"}, now); got != depFailed || !strings.Contains(why, "pull failed") {
		t.Errorf("abandoned dependency: %v %q", got, why)
	}
}

func TestOrders(t *testing.T) {
	a, b, c := def("a"), def("b", "a:START"), def("c", "b:HEALTHY")
	if got := stopWaves([]ecsapi.ContainerDefinition{a, b, c}); !reflect.DeepEqual(got, [][]string{{"c"}, {"b"}, {"a"}}) {
		t.Errorf("stop waves %v", got)
	}
	x := def("x")
	x.VolumesFrom = []ecsapi.VolumeFrom{{SourceContainer: ptr("y")}}
	y := def("y")
	order, err := createOrder([]ecsapi.ContainerDefinition{x, y})
	if err != nil || deref(order[0].Name) != "y" || deref(order[1].Name) != "x" {
		t.Errorf("create order %v %v", order, err)
	}
	y.Links = []string{"x:alias"}
	if _, err := createOrder([]ecsapi.ContainerDefinition{x, y}); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("a cycle: %v", err)
	}
}

func TestContainerSpec(t *testing.T) {
	a := &Agent{host: "i-1"}
	task := &ecs.AssignedTask{
		TaskARN: "arn:aws:ecs:us-east-1:123456789012:task/c/0123456789abcdef0123456789abcdef", LaunchType: "FARGATE",
		CPU: "512", Memory: "1024", NetworkMode: "awsvpc",
		Definition: ecsapi.TaskDefinition{Family: ptr("fam"), Revision: ptr(int32(3)), Volumes: []ecsapi.Volume{{Name: ptr("scratch")}}},
	}
	d := ecsapi.ContainerDefinition{
		Name: ptr("web"), Cpu: ptr(int32(0)), Memory: ptr(int32(128)), Privileged: ptr(true), StopTimeout: ptr(int32(5)),
		MountPoints:     []ecsapi.MountPoint{{SourceVolume: ptr("scratch"), ContainerPath: ptr("/scratch")}},
		LinuxParameters: &ecsapi.LinuxParameters{InitProcessEnabled: ptr(true), Tmpfs: []ecsapi.Tmpfs{{ContainerPath: ptr("/run"), Size: ptr(int32(8))}}},
		HealthCheck:     &ecsapi.HealthCheck{Command: []string{"CMD-SHELL", "true"}},
		Ulimits:         []ecsapi.Ulimit{{Name: ptr(ecsapi.UlimitName("nofile")), SoftLimit: ptr(int32(1024)), HardLimit: ptr(int32(2048))}},
		PortMappings:    []ecsapi.PortMapping{{ContainerPort: ptr(int32(80))}},
	}
	vols, err := a.planVolumes(task)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := containerSpec(specInput{task: task, def: d, image: "img", volumes: vols, sandbox: runtime.Sandbox{ID: "sb", NetworkMode: runtime.NetworkAWSVPC}})
	if err != nil {
		t.Fatal(err)
	}
	if spec.Name != "ecs-fam-3-web-0123456789abcdef0123456789abcdef" || spec.Privileged || !spec.Init ||
		spec.Resources.CPUShares != 2 || spec.Resources.MemoryBytes != 128<<20 || spec.StopTimeout != 5*time.Second ||
		len(spec.PortMappings) != 0 || len(spec.Ulimits) != 1 {
		t.Errorf("spec %+v", spec)
	}
	if len(spec.Mounts) != 2 || spec.Mounts[0].Type != runtime.MountVolume || spec.Mounts[0].Source != "ecs-0123456789abcdef0123456789abcdef-scratch" ||
		spec.Mounts[1].Type != runtime.MountTmpfs || spec.Mounts[1].TmpfsSizeBytes != 8<<20 {
		t.Errorf("mounts %+v", spec.Mounts)
	}
	if h := spec.HealthCheck; h.Interval != 30*time.Second || h.Timeout != 5*time.Second || h.Retries != 3 {
		t.Errorf("health check defaults %+v", h)
	}
	if l := taskLimits(task); l.NanoCPUs != 5e8 || l.MemoryBytes != 1<<30 {
		t.Errorf("task limits %+v", l)
	}
	task.Definition.Volumes = []ecsapi.Volume{{Name: ptr("efs"), EfsVolumeConfiguration: &ecsapi.EFSVolumeConfiguration{}}}
	if _, err := a.planVolumes(task); err == nil || !strings.Contains(err.Error(), "EFS") {
		t.Errorf("EFS volume: %v", err)
	}
}
