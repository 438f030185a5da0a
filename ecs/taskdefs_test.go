package ecs

import (
	"encoding/json"
	"reflect"
	"testing"

	ecsapi "github.com/berth-dev/berth/api/ecs"
)

// richTaskDef uses (nearly) every field of the model, in the form AWS
// returns it, so that a round trip must give it back unchanged.
const richTaskDef = `{
  "family": "rich",
  "taskRoleArn": "arn:aws:iam::123456789012:role/task",
  "executionRoleArn": "arn:aws:iam::123456789012:role/exec",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["EC2", "FARGATE"],
  "cpu": "1024",
  "memory": "3072",
  "pidMode": "task",
  "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
  "ephemeralStorage": {"sizeInGiB": 30},
  "enableFaultInjection": false,
  "proxyConfiguration": {"type": "APPMESH", "containerName": "envoy", "properties": [{"name": "AppPorts", "value": "8080"}]},
  "volumes": [
    {"name": "scratch", "host": {}},
    {"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-1234", "rootDirectory": "/", "transitEncryption": "ENABLED"}}
  ],
  "containerDefinitions": [
    {
      "name": "app",
      "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1",
      "cpu": 512,
      "memory": 2048,
      "memoryReservation": 1024,
      "portMappings": [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp", "name": "http", "appProtocol": "http"}],
      "essential": true,
      "restartPolicy": {"enabled": true, "ignoredExitCodes": [0], "restartAttemptPeriod": 60},
      "entryPoint": ["/bin/sh", "-c"],
      "command": ["exec app --port 8080"],
      "environment": [{"name": "MODE", "value": "prod"}],
      "environmentFiles": [{"value": "arn:aws:s3:::bucket/app.env", "type": "s3"}],
      "mountPoints": [{"sourceVolume": "scratch", "containerPath": "/scratch", "readOnly": false}],
      "volumesFrom": [],
      "linuxParameters": {"capabilities": {"add": ["SYS_PTRACE"], "drop": ["NET_RAW"]}, "initProcessEnabled": true},
      "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"}],
      "dependsOn": [{"containerName": "envoy", "condition": "HEALTHY"}],
      "startTimeout": 120,
      "stopTimeout": 30,
      "versionConsistency": "enabled",
      "user": "1000:1000",
      "workingDirectory": "/srv",
      "readonlyRootFilesystem": true,
      "interactive": false,
      "pseudoTerminal": false,
      "dockerLabels": {"tier": "web"},
      "ulimits": [{"name": "nofile", "softLimit": 4096, "hardLimit": 8192}],
      "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/rich", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "app"}},
      "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"], "interval": 10, "timeout": 5, "retries": 3, "startPeriod": 15},
      "systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}]
    },
    {
      "name": "envoy",
      "image": "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.27",
      "cpu": 256,
      "memoryReservation": 256,
      "portMappings": [],
      "essential": true,
      "environment": [],
      "mountPoints": [],
      "volumesFrom": [],
      "healthCheck": {"command": ["CMD-SHELL", "true"]},
      "systemControls": [],
      "firelensConfiguration": {"type": "fluentbit", "options": {"enable-ecs-log-metadata": "true"}}
    }
  ],
  "tags": [{"key": "app", "value": "rich"}]
}`

func TestTaskDefinitionKeepsEveryField(t *testing.T) {
	svc, _, ctx := newTestService(t)
	var in ecsapi.RegisterTaskDefinitionInput
	if err := json.Unmarshal([]byte(richTaskDef), &in); err != nil {
		t.Fatal(err)
	}
	if err := in.Validate(); err != nil {
		t.Fatalf("the fixture is not a valid request: %v", err)
	}
	reg := must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, &in))
	if len(reg.Tags) != 1 {
		t.Errorf("register returned tags %+v", reg.Tags)
	}
	desc := must[*ecsapi.DescribeTaskDefinitionOutput](t)(svc.DescribeTaskDefinition(ctx, &ecsapi.DescribeTaskDefinitionInput{
		TaskDefinition: ptr("rich"), Include: []ecsapi.TaskDefinitionField{ecsapi.TaskDefinitionFieldTags}}))
	if len(desc.Tags) != 1 {
		t.Errorf("describe with TAGS returned %+v", desc.Tags)
	}

	var want, got map[string]any
	json.Unmarshal([]byte(richTaskDef), &want)
	doc, _ := json.Marshal(desc.TaskDefinition)
	json.Unmarshal(doc, &got)
	delete(want, "tags")
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			w, _ := json.Marshal(v)
			g, _ := json.Marshal(got[k])
			t.Errorf("%s:\n got  %s\n want %s", k, g, w)
		}
	}
	td := desc.TaskDefinition
	if deref(td.TaskDefinitionArn) != "arn:aws:ecs:us-east-1:123456789012:task-definition/rich:1" || deref(td.Revision) != 1 ||
		deref(td.Status) != "ACTIVE" || td.RegisteredAt == nil || deref(td.RegisteredBy) != "arn:aws:iam::123456789012:root" {
		t.Errorf("metadata: arn %s rev %d status %s at %v by %s", deref(td.TaskDefinitionArn), deref(td.Revision), deref(td.Status), td.RegisteredAt, deref(td.RegisteredBy))
	}
	if !reflect.DeepEqual(td.Compatibilities, []ecsapi.Compatibility{"EC2", "FARGATE"}) {
		t.Errorf("compatibilities = %v", td.Compatibilities)
	}
	attrs := map[string]bool{}
	for _, a := range td.RequiresAttributes {
		attrs[deref(a.Name)] = true
	}
	for _, n := range []string{"ecs.capability.task-eni", "com.amazonaws.ecs.capability.task-iam-role", "ecs.capability.execution-role-awslogs",
		"ecs.capability.container-health-check", "ecs.capability.container-ordering", "ecs.capability.secrets.asm.environment-variables",
		"ecs.capability.execution-role-ecr-pull"} {
		if !attrs[n] {
			t.Errorf("requiresAttributes lacks %s: %v", n, attrs)
		}
	}
}

func TestTaskDefinitionRevisions(t *testing.T) {
	svc, _, ctx := newTestService(t)
	for range 3 {
		must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, ec2Def("api", 64, 0)))
	}
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, ec2Def("api-worker", 64, 0)))
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, ec2Def("batch", 64, 0)))

	describe := func(ref string) *ecsapi.TaskDefinition {
		t.Helper()
		return must[*ecsapi.DescribeTaskDefinitionOutput](t)(svc.DescribeTaskDefinition(ctx, &ecsapi.DescribeTaskDefinitionInput{TaskDefinition: ptr(ref)})).TaskDefinition
	}
	if r := deref(describe("api").Revision); r != 3 {
		t.Errorf("api resolves to revision %d, want 3", r)
	}
	if r := deref(describe("arn:aws:ecs:us-east-1:123456789012:task-definition/api:2").Revision); r != 2 {
		t.Errorf("ARN of revision 2 resolves to %d", r)
	}
	_, err := svc.DescribeTaskDefinition(ctx, &ecsapi.DescribeTaskDefinitionInput{TaskDefinition: ptr("api:9")})
	wantCode(t, "missing revision", err, "ClientException", "Unable to describe task definition.")

	list := func(in *ecsapi.ListTaskDefinitionsInput) []string {
		t.Helper()
		var out []string
		for {
			page := must[*ecsapi.ListTaskDefinitionsOutput](t)(svc.ListTaskDefinitions(ctx, in))
			for _, a := range page.TaskDefinitionArns {
				out = append(out, a[len("arn:aws:ecs:us-east-1:123456789012:task-definition/"):])
			}
			if page.NextToken == nil {
				return out
			}
			in.NextToken = page.NextToken
		}
	}
	if got := join(list(&ecsapi.ListTaskDefinitionsInput{MaxResults: ptr(int32(2))})); got != "api:1 api:2 api:3 api-worker:1 batch:1" {
		t.Errorf("list ASC = %q", got)
	}
	if got := join(list(&ecsapi.ListTaskDefinitionsInput{Sort: ptr(ecsapi.SortOrderDesc), MaxResults: ptr(int32(2))})); got != "batch:1 api-worker:1 api:3 api:2 api:1" {
		t.Errorf("list DESC = %q", got)
	}
	// familyPrefix is a whole family name here, not a prefix.
	if got := join(list(&ecsapi.ListTaskDefinitionsInput{FamilyPrefix: ptr("api")})); got != "api:1 api:2 api:3" {
		t.Errorf("list familyPrefix api = %q", got)
	}
	if got := join(list(&ecsapi.ListTaskDefinitionsInput{FamilyPrefix: ptr("api-")})); got != "" {
		t.Errorf("list familyPrefix api- = %q", got)
	}

	// Deregistering the latest makes the family resolve to the one before.
	dereg := must[*ecsapi.DeregisterTaskDefinitionOutput](t)(svc.DeregisterTaskDefinition(ctx, &ecsapi.DeregisterTaskDefinitionInput{TaskDefinition: ptr("api:3")}))
	if deref(dereg.TaskDefinition.Status) != "INACTIVE" || dereg.TaskDefinition.DeregisteredAt == nil {
		t.Errorf("deregistered: %s at %v", deref(dereg.TaskDefinition.Status), dereg.TaskDefinition.DeregisteredAt)
	}
	if r := deref(describe("api").Revision); r != 2 {
		t.Errorf("after deregistering 3, api resolves to %d", r)
	}
	if got := join(list(&ecsapi.ListTaskDefinitionsInput{Status: ptr(ecsapi.TaskDefinitionStatusInactive)})); got != "api:3" {
		t.Errorf("INACTIVE list = %q", got)
	}
	_, err = svc.DeregisterTaskDefinition(ctx, &ecsapi.DeregisterTaskDefinitionInput{TaskDefinition: ptr("api")})
	wantCode(t, "deregister without revision", err, "ClientException", "revision")

	// Families: batch becomes INACTIVE once its only revision is.
	must[*ecsapi.DeregisterTaskDefinitionOutput](t)(svc.DeregisterTaskDefinition(ctx, &ecsapi.DeregisterTaskDefinitionInput{TaskDefinition: ptr("batch:1")}))
	fams := func(status ecsapi.TaskDefinitionFamilyStatus) string {
		out := must[*ecsapi.ListTaskDefinitionFamiliesOutput](t)(svc.ListTaskDefinitionFamilies(ctx, &ecsapi.ListTaskDefinitionFamiliesInput{Status: ptr(status)}))
		return join(out.Families)
	}
	if got := fams(ecsapi.TaskDefinitionFamilyStatusActive); got != "api api-worker" {
		t.Errorf("ACTIVE families = %q", got)
	}
	if got := fams(ecsapi.TaskDefinitionFamilyStatusInactive); got != "batch" {
		t.Errorf("INACTIVE families = %q", got)
	}
	if got := fams(ecsapi.TaskDefinitionFamilyStatusAll); got != "api api-worker batch" {
		t.Errorf("ALL families = %q", got)
	}

	// Delete: ACTIVE ones fail, INACTIVE ones go DELETE_IN_PROGRESS and
	// the sweeper removes them; revisions keep counting.
	del := must[*ecsapi.DeleteTaskDefinitionsOutput](t)(svc.DeleteTaskDefinitions(ctx, &ecsapi.DeleteTaskDefinitionsInput{
		TaskDefinitions: []string{"api:1", "batch:1", "nope:1"}}))
	if len(del.TaskDefinitions) != 1 || deref(del.TaskDefinitions[0].Status) != "DELETE_IN_PROGRESS" || len(del.Failures) != 2 {
		t.Fatalf("delete: %+v / %+v", del.TaskDefinitions, del.Failures)
	}
	if err := svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = svc.DescribeTaskDefinition(ctx, &ecsapi.DescribeTaskDefinitionInput{TaskDefinition: ptr("batch:1")})
	wantCode(t, "describe a swept revision", err, "ClientException")
	if got := fams(ecsapi.TaskDefinitionFamilyStatusAll); got != "api api-worker" {
		t.Errorf("families after deleting batch = %q", got)
	}
	r := must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, ec2Def("batch", 64, 0)))
	if deref(r.TaskDefinition.Revision) != 2 {
		t.Errorf("batch after deletion registers revision %d, want 2", deref(r.TaskDefinition.Revision))
	}
}

func TestRegisterTaskDefinitionValidation(t *testing.T) {
	svc, _, ctx := newTestService(t)
	type mut func(*ecsapi.RegisterTaskDefinitionInput)
	c0 := func(f func(*ecsapi.ContainerDefinition)) mut {
		return func(in *ecsapi.RegisterTaskDefinitionInput) { f(&in.ContainerDefinitions[0]) }
	}
	cases := []struct {
		name    string
		base    func() *ecsapi.RegisterTaskDefinitionInput
		mutate  mut
		message string
	}{
		{"bad family", nil, func(in *ecsapi.RegisterTaskDefinitionInput) { in.Family = ptr("a b") }, "Family name"},
		{"no containers", nil, func(in *ecsapi.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions = []ecsapi.ContainerDefinition{}
		}, "Container list cannot be empty."},
		{"eleven containers", nil, func(in *ecsapi.RegisterTaskDefinitionInput) {
			for i := range 10 {
				in.ContainerDefinitions = append(in.ContainerDefinitions, container("c"+string(rune('a'+i)), "busybox", withMemory(16)))
			}
		}, "Too many containers."},
		{"no name", nil, c0(func(c *ecsapi.ContainerDefinition) { c.Name = nil }), "Container.name should not be null or empty."},
		{"bad name", nil, c0(func(c *ecsapi.ContainerDefinition) { c.Name = ptr("a.b") }), "Container.name contains invalid characters."},
		{"no image", nil, c0(func(c *ecsapi.ContainerDefinition) { c.Image = ptr("") }), "Container.image should not be null or empty."},
		{"duplicate names", nil, func(in *ecsapi.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions = append(in.ContainerDefinitions, container("app", "busybox", withMemory(16)))
		}, "Container names must be unique within a Task Definition."},
		{"no memory anywhere", nil, c0(func(c *ecsapi.ContainerDefinition) { c.Memory = nil }), "At least one of 'memory' or 'memoryReservation' must be specified."},
		{"container memory over task", nil, func(in *ecsapi.RegisterTaskDefinitionInput) {
			in.Memory = ptr("64")
			in.ContainerDefinitions[0].Memory = ptr(int32(128))
		}, "The 'memory' setting for container 'app' is greater than for the task."},
		{"cpu sum over task", nil, func(in *ecsapi.RegisterTaskDefinitionInput) {
			in.Cpu = ptr("256")
			in.ContainerDefinitions[0].Cpu = ptr(int32(512))
		}, "The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'."},
		{"bad task cpu", nil, func(in *ecsapi.RegisterTaskDefinitionInput) { in.Cpu = ptr("lots") }, "Invalid 'cpu' setting for task."},
		{"no essential container", nil, c0(func(c *ecsapi.ContainerDefinition) { c.Essential = ptr(false) }), "Task definition doesn't have any essential container."},
		{"awsvpc host port differs", nil, func(in *ecsapi.RegisterTaskDefinitionInput) {
			in.NetworkMode = ptr(ecsapi.NetworkModeAwsvpc)
			in.ContainerDefinitions[0].PortMappings = []ecsapi.PortMapping{{ContainerPort: ptr(int32(80)), HostPort: ptr(int32(8080))}}
		}, "When networkMode=awsvpc, the host ports and container ports in port mappings must match."},
		{"port taken twice", nil, func(in *ecsapi.RegisterTaskDefinitionInput) {
			in.NetworkMode = ptr(ecsapi.NetworkModeHost)
			in.ContainerDefinitions[0].PortMappings = []ecsapi.PortMapping{{ContainerPort: ptr(int32(80))}}
			in.ContainerDefinitions = append(in.ContainerDefinitions, container("b", "busybox", withMemory(16), func(c *ecsapi.ContainerDefinition) {
				c.PortMappings = []ecsapi.PortMapping{{ContainerPort: ptr(int32(80))}}
			}))
		}, "Port 80/tcp is mapped by both container 'app' and container 'b'"},
		{"hostname with awsvpc", nil, func(in *ecsapi.RegisterTaskDefinitionInput) {
			in.NetworkMode = ptr(ecsapi.NetworkModeAwsvpc)
			in.ContainerDefinitions[0].Hostname = ptr("h")
		}, "hostname is not supported on container when networkMode=awsvpc."},
		{"depends on a missing container", nil, c0(func(c *ecsapi.ContainerDefinition) {
			c.DependsOn = []ecsapi.ContainerDependency{{ContainerName: ptr("db"), Condition: ptr(ecsapi.ContainerConditionStart)}}
		}), "Cannot depend on container + 'db' because it does not exist"},
		{"SUCCESS on an essential container", nil, func(in *ecsapi.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions = append(in.ContainerDefinitions, container("init", "busybox", withMemory(16)))
			in.ContainerDefinitions[0].DependsOn = []ecsapi.ContainerDependency{{ContainerName: ptr("init"), Condition: ptr(ecsapi.ContainerConditionSuccess)}}
		}, "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container"},
		{"dependency cycle", nil, func(in *ecsapi.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions = append(in.ContainerDefinitions, container("b", "busybox", withMemory(16), func(c *ecsapi.ContainerDefinition) {
				c.DependsOn = []ecsapi.ContainerDependency{{ContainerName: ptr("app"), Condition: ptr(ecsapi.ContainerConditionStart)}}
			}))
			in.ContainerDefinitions[0].DependsOn = []ecsapi.ContainerDependency{{ContainerName: ptr("b"), Condition: ptr(ecsapi.ContainerConditionStart)}}
		}, "cycle"},
		{"unknown volume", nil, c0(func(c *ecsapi.ContainerDefinition) {
			c.MountPoints = []ecsapi.MountPoint{{SourceVolume: ptr("data"), ContainerPath: ptr("/data")}}
		}), "The source volume 'data' is not defined"},
		{"awslogs without group", nil, c0(func(c *ecsapi.ContainerDefinition) {
			c.LogConfiguration = &ecsapi.LogConfiguration{LogDriver: ptr(ecsapi.LogDriverAwslogs), Options: map[string]string{"awslogs-region": "us-east-1"}}
		}), "Log driver awslogs requires options: awslogs-group"},

		// Fargate.
		{"fargate bridge", fargate, func(in *ecsapi.RegisterTaskDefinitionInput) { in.NetworkMode = ptr(ecsapi.NetworkModeBridge) }, "Fargate only supports network mode ‘awsvpc’."},
		{"fargate without cpu", fargate, func(in *ecsapi.RegisterTaskDefinitionInput) { in.Cpu = nil }, "Fargate requires that 'cpu' be defined at the task level."},
		{"fargate cpu size", fargate, func(in *ecsapi.RegisterTaskDefinitionInput) { in.Cpu = ptr("384") }, "Invalid 'cpu' setting for task."},
		{"fargate combination", fargate, func(in *ecsapi.RegisterTaskDefinitionInput) { in.Memory = ptr("4096") }, "No Fargate configuration exists for given values."},
		{"fargate privileged", fargate, c0(func(c *ecsapi.ContainerDefinition) { c.Privileged = ptr(true) }), "do not support privileged mode"},
		{"fargate ipcMode", fargate, func(in *ecsapi.RegisterTaskDefinitionInput) { in.IpcMode = ptr(ecsapi.IpcModeHost) }, "Tasks using the Fargate launch type do not support ipcMode."},
		{"fargate awslogs without execution role", fargate, c0(func(c *ecsapi.ContainerDefinition) {
			c.LogConfiguration = &ecsapi.LogConfiguration{LogDriver: ptr(ecsapi.LogDriverAwslogs), Options: map[string]string{"awslogs-group": "g", "awslogs-region": "us-east-1"}}
		}), "Fargate requires task definition to have execution role ARN to support log driver awslogs."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := tc.base
			if base == nil {
				base = func() *ecsapi.RegisterTaskDefinitionInput { return ec2Def("bad", 64, 0) }
			}
			in := base()
			tc.mutate(in)
			_, err := svc.RegisterTaskDefinition(ctx, in)
			wantCode(t, tc.name, err, "ClientException", tc.message)
		})
	}
	// Nothing half-registered: the family never got a revision.
	out := must[*ecsapi.ListTaskDefinitionFamiliesOutput](t)(svc.ListTaskDefinitionFamilies(ctx, &ecsapi.ListTaskDefinitionFamiliesInput{Status: ptr(ecsapi.TaskDefinitionFamilyStatusAll)}))
	if len(out.Families) != 0 {
		t.Errorf("failed registrations left families %v", out.Families)
	}
}

func fargate() *ecsapi.RegisterTaskDefinitionInput { return fargateDef("bad") }

func TestTaskSizes(t *testing.T) {
	cpus := map[string]int64{"256": 256, "1 vCPU": 1024, "0.25 vcpu": 256, "2vCPU": 2048, " 4096 ": 4096}
	for in, want := range cpus {
		if got, ok := parseCPU(in); !ok || got != want {
			t.Errorf("parseCPU(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	mems := map[string]int64{"512": 512, "1GB": 1024, "0.5 GB": 512, "2 gb": 2048, "3072 MiB": 3072}
	for in, want := range mems {
		if got, ok := parseMemory(in); !ok || got != want {
			t.Errorf("parseMemory(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "x", "-1", "1 TB"} {
		if _, ok := parseMemory(bad); ok {
			t.Errorf("parseMemory(%q) accepted", bad)
		}
	}
	combos := []struct {
		cpu, mem int64
		ok       bool
	}{
		{256, 512, true}, {256, 1024, true}, {256, 2048, true}, {256, 1536, false}, {256, 3072, false},
		{512, 1024, true}, {512, 4096, true}, {512, 512, false},
		{1024, 2048, true}, {1024, 8192, true}, {1024, 9216, false},
		{2048, 4096, true}, {2048, 16384, true}, {2048, 4608, false},
		{4096, 8192, true}, {4096, 30720, true}, {4096, 31744, false},
		{8192, 16384, true}, {8192, 20480, true}, {8192, 17408, false}, {8192, 61440, true},
		{16384, 32768, true}, {16384, 40960, true}, {16384, 36864, false}, {16384, 122880, true},
		{128, 512, false},
	}
	for _, c := range combos {
		if got := fargateCombination(c.cpu, c.mem); got != c.ok {
			t.Errorf("fargateCombination(%d, %d) = %v, want %v", c.cpu, c.mem, got, c.ok)
		}
	}
}
