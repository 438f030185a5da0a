package appspec

import (
	"strings"
	"testing"
)

// The appspec of the brief (seed/000_8f5f8dcbf5a30a0c.txt), verbatim.
const briefYAML = `# appspec.yaml cho ECS Blue/Green
version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: "arn:aws:ecs:us-east-1:123:task-definition/my-app:2"
        LoadBalancerInfo:
          ContainerName: "my-app"
          ContainerPort: 8080
`

// The same file in JSON, as the AWS documentation shows it.
const briefJSON = `{
  "version": 0.0,
  "Resources": [
    {
      "TargetService": {
        "Type": "AWS::ECS::Service",
        "Properties": {
          "TaskDefinition": "arn:aws:ecs:us-east-1:123:task-definition/my-app:2",
          "LoadBalancerInfo": {
            "ContainerName": "my-app",
            "ContainerPort": 8080
          }
        }
      }
    }
  ]
}`

func TestBriefAppSpecYAMLAndJSON(t *testing.T) {
	for name, content := range map[string]string{"yaml": briefYAML, "json": briefJSON} {
		spec, err := Parse([]byte(content))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := TargetService{TaskDefinition: "arn:aws:ecs:us-east-1:123:task-definition/my-app:2", ContainerName: "my-app", ContainerPort: 8080}
		if spec.Version != "0.0" || spec.Target.TaskDefinition != want.TaskDefinition || spec.Target.ContainerName != want.ContainerName ||
			spec.Target.ContainerPort != want.ContainerPort || spec.Target.NetworkConfiguration != nil || len(spec.Hooks) != 0 {
			t.Fatalf("%s: got %+v", name, spec)
		}
	}
}

func TestFullAppSpec(t *testing.T) {
	spec, err := Parse([]byte(`version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: "web:3"
        LoadBalancerInfo:
          ContainerName: "web"
          ContainerPort: "80"
        PlatformVersion: "LATEST"
        NetworkConfiguration:
          AwsvpcConfiguration:
            Subnets: ["subnet-1234abcd", "subnet-5678abcd"]
            SecurityGroups: ["sg-12345678"]
            AssignPublicIp: "ENABLED"
        CapacityProviderStrategy:
          - Base: 1
            CapacityProvider: "FARGATE_SPOT"
            Weight: 2
Hooks:
  - BeforeInstall: "LambdaFunctionToValidateBeforeInstall"
  - AfterAllowTestTraffic: "LambdaFunctionToValidateAfterTestTrafficStarts"
`))
	if err != nil {
		t.Fatal(err)
	}
	ts := spec.Target
	if ts.ContainerPort != 80 || ts.PlatformVersion != "LATEST" || ts.NetworkConfiguration == nil ||
		len(ts.NetworkConfiguration.Subnets) != 2 || ts.NetworkConfiguration.AssignPublicIP != "ENABLED" ||
		len(ts.CapacityProviderStrategy) != 1 || ts.CapacityProviderStrategy[0] != (CapacityProvider{"FARGATE_SPOT", 1, 2}) {
		t.Fatalf("got %+v", ts)
	}
	if spec.Hooks["BeforeInstall"] != "LambdaFunctionToValidateBeforeInstall" || len(spec.Hooks) != 2 {
		t.Fatalf("hooks %v", spec.Hooks)
	}
}

func TestInvalidAppSpecs(t *testing.T) {
	for _, c := range []struct{ content, want string }{
		{"", "empty"},
		{"{not json", "not valid JSON"},
		{"version: 0.0\nResources: []\n", "exactly one resource"},
		{"Resources:\n  - TargetService:\n      Type: AWS::ECS::Service\n", "no version"},
		{"version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::Lambda::Function\n", "AWS::ECS::Service"},
		{"version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        LoadBalancerInfo: {ContainerName: a, ContainerPort: 80}\n", "TaskDefinition"},
		{"version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: a:1\n", "LoadBalancerInfo"},
		{"version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: a:1\n        LoadBalancerInfo: {ContainerName: a, ContainerPort: eighty}\n", "not a number"},
		{"version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: a:1\n        LoadBalancerInfo: {ContainerName: a, ContainerPort: 80}\nHooks:\n  - ApplicationStart: fn\n", "not an ECS lifecycle event"},
	} {
		_, err := Parse([]byte(c.content))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want an error saying %q", c.content, err, c.want)
		}
	}
}

// Odd shapes are errors, never panics.
func TestOddAppSpecs(t *testing.T) {
	for _, content := range []string{
		"version: [1]", "version: 0.0\nResources: [{}]", "version: 0.0\nResources: [{TargetService: null}]",
		"version: 0.0\nResources: [{TargetService: {Type: AWS::ECS::Service, Properties: null}}]",
		"version: 0.0\nResources: [{TargetService: {Type: AWS::ECS::Service, Properties: {TaskDefinition: [a]}}}]",
		"version: 0.0\nResources: [{TargetService: {Type: AWS::ECS::Service, Properties: {TaskDefinition: a, LoadBalancerInfo: {ContainerName: a, ContainerPort: {x: 1}}}}}]",
		"version: 0.0\nResources: [{TargetService: {Type: AWS::ECS::Service, Properties: {TaskDefinition: a, LoadBalancerInfo: {ContainerName: a, ContainerPort: 99999}}}}]",
		"version: 0.0\nResources: [{TargetService: {Type: AWS::ECS::Service, Properties: {TaskDefinition: a, LoadBalancerInfo: {ContainerName: a, ContainerPort: 80}, NetworkConfiguration: {}}}}]",
		"version: 0.0\nResources: [{TargetService: {Type: AWS::ECS::Service, Properties: {TaskDefinition: a, LoadBalancerInfo: {ContainerName: a, ContainerPort: 80}}}}]\nHooks: [{BeforeInstall: [a]}]",
		"version: 0.0\nResources: [{TargetService: {Type: AWS::ECS::Service, Properties: {TaskDefinition: a, LoadBalancerInfo: {ContainerName: a, ContainerPort: 80}, CapacityProviderStrategy: [{Base: x}]}}}]",
		"[1, 2]", "\"just a string\"", "{\"version\": 0.0, \"Resources\": 5}", "null", "version: 0.0\nResources: [{A: {}, B: {}}]",
	} {
		if _, err := Parse([]byte(content)); err == nil {
			t.Errorf("Parse(%q) accepted", content)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(briefYAML)
	f.Add(briefJSON)
	f.Fuzz(func(t *testing.T, content string) {
		spec, err := Parse([]byte(content))
		if err == nil && (spec.Target.TaskDefinition == "" || spec.Target.ContainerPort < 1) {
			t.Fatalf("accepted %q as %+v", content, spec)
		}
	})
}
