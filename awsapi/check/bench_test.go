package check_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/berth-dev/berth/api/ecs"
)

// bigTaskDefinition is a large RegisterTaskDefinition request: 10
// containers with environments, ports, mounts, secrets, log options and
// health checks, 10 volumes and 50 tags; one enum value is wrong, so
// validation walks everything and reports one violation.
func bigTaskDefinition() []byte {
	var containers []map[string]any
	for c := range 10 {
		var env, ports, mounts, secrets, ulimits []map[string]any
		for i := range 20 {
			env = append(env, map[string]any{"name": fmt.Sprintf("VAR_%d", i), "value": fmt.Sprintf("value-%d", i)})
		}
		for i := range 5 {
			ports = append(ports, map[string]any{"containerPort": 8000 + i, "hostPort": 8000 + i, "protocol": "tcp", "name": fmt.Sprintf("port-%d", i), "appProtocol": "http"})
			mounts = append(mounts, map[string]any{"sourceVolume": fmt.Sprintf("vol-%d", i), "containerPath": fmt.Sprintf("/data/%d", i), "readOnly": i%2 == 0})
			secrets = append(secrets, map[string]any{"name": fmt.Sprintf("SECRET_%d", i), "valueFrom": fmt.Sprintf("arn:aws:secretsmanager:us-east-1:123456789012:secret:s%d", i)})
			ulimits = append(ulimits, map[string]any{"name": "nofile", "softLimit": 1024, "hardLimit": 4096})
		}
		protocol := "tcp"
		if c == 9 {
			protocol = "sctp" // not in the enum
		}
		ports[0]["protocol"] = protocol
		containers = append(containers, map[string]any{
			"name": fmt.Sprintf("container-%d", c), "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest",
			"cpu": 256, "memory": 512, "essential": c == 0, "command": []string{"serve", "--port", "8000"},
			"environment": env, "portMappings": ports, "mountPoints": mounts, "secrets": secrets, "ulimits": ulimits,
			"logConfiguration": map[string]any{"logDriver": "awslogs", "options": map[string]string{"awslogs-group": "/ecs/app", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "app"}},
			"healthCheck":      map[string]any{"command": []string{"CMD-SHELL", "curl -f http://localhost/ || exit 1"}, "interval": 30, "timeout": 5, "retries": 3},
			"dependsOn":        []map[string]any{{"containerName": "container-0", "condition": "START"}},
			"dockerLabels":     map[string]string{"team": "platform", "tier": "web"},
		})
	}
	var volumes []map[string]any
	for i := range 10 {
		volumes = append(volumes, map[string]any{"name": fmt.Sprintf("vol-%d", i), "host": map[string]any{"sourcePath": fmt.Sprintf("/srv/%d", i)}})
	}
	var tags []map[string]any
	for i := range 50 {
		tags = append(tags, map[string]any{"key": fmt.Sprintf("tag-%d", i), "value": fmt.Sprintf("v%d", i)})
	}
	in := map[string]any{"family": "big-app", "networkMode": "awsvpc", "taskRoleArn": "arn:aws:iam::123456789012:role/app",
		"executionRoleArn": "arn:aws:iam::123456789012:role/exec", "requiresCompatibilities": []string{"FARGATE", "EC2"},
		"cpu": "4096", "memory": "8192", "containerDefinitions": containers, "volumes": volumes, "tags": tags,
		"runtimePlatform":      map[string]any{"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
		"placementConstraints": []map[string]any{{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}},
	}
	b, err := json.Marshal(in)
	if err != nil {
		panic(err)
	}
	return b
}

func BenchmarkValidateRegisterTaskDefinition(b *testing.B) {
	var in ecs.RegisterTaskDefinitionInput
	if err := json.Unmarshal(bigTaskDefinition(), &in); err != nil {
		b.Fatal(err)
	}
	if err := in.Validate(); err == nil || !strings.Contains(err.Error(), "1 validation error detected") {
		b.Fatalf("got %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = in.Validate()
	}
}
