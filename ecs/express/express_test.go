package express

import (
	"strings"
	"testing"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/awsapi"
)

func TestServiceRef(t *testing.T) {
	c, n, err := serviceRef("123456789012", "us-east-1", "arn:aws:ecs:us-east-1:123456789012:service/prod/web")
	if err != nil || c != "prod" || n != "web" {
		t.Fatalf("got %q %q %v", c, n, err)
	}
	for _, bad := range []string{"web", "arn:aws:ecs:us-west-2:123456789012:service/prod/web",
		"arn:aws:ecs:us-east-1:123456789012:service/web", "arn:aws:ecs:us-east-1:123456789012:task/prod/abc"} {
		if _, _, err := serviceRef("123456789012", "us-east-1", bad); awsapi.AsError(err) == nil || awsapi.AsError(err).Code != ecsapi.CodeInvalidParameterException {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if c, _ := clusterName("1", "r", ""); c != "default" {
		t.Errorf("empty cluster: %q", c)
	}
}

func TestHostLabel(t *testing.T) {
	for in, want := range map[string]string{"Web_App": "web-app", "_x_": "x", strings.Repeat("a", 60): strings.Repeat("a", 40), "__": "svc"} {
		if got := hostLabel(in); got != want {
			t.Errorf("hostLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDefaultsAndChecks(t *testing.T) {
	cfg := ecsapi.ExpressGatewayServiceConfiguration{ExecutionRoleArn: new("arn:aws:iam::123456789012:role/exec"),
		PrimaryContainer: &ecsapi.ExpressGatewayContainer{Image: new("nginx")}}
	withDefaults(&cfg, "default", "web")
	if err := checkConfig(&cfg); err != nil {
		t.Fatal(err)
	}
	pc, st := cfg.PrimaryContainer, cfg.ScalingTarget
	if *cfg.Cpu != "256" || *cfg.Memory != "512" || *cfg.HealthCheckPath != "/ping" || *pc.ContainerPort != 80 ||
		*pc.AwsLogsConfiguration.LogGroup != "/aws/ecs/default/web" || *st.MinTaskCount != 1 || *st.MaxTaskCount != 20 ||
		*st.AutoScalingMetric != ecsapi.ExpressGatewayServiceScalingMetricAverageCpu || *st.AutoScalingTargetValue != 60 {
		t.Fatalf("defaults: %+v", cfg)
	}
	td := taskDefinition("web", "us-east-1", &cfg)
	c := td.ContainerDefinitions[0]
	if *td.NetworkMode != ecsapi.NetworkModeAwsvpc || *c.Name != containerName || *c.PortMappings[0].ContainerPort != 80 ||
		c.LogConfiguration.Options["awslogs-create-group"] != "true" {
		t.Fatalf("task definition: %+v", td)
	}
	for name, mutate := range map[string]func(*ecsapi.ExpressGatewayServiceConfiguration){
		"health path": func(c *ecsapi.ExpressGatewayServiceConfiguration) { c.HealthCheckPath = new("ping") },
		"port": func(c *ecsapi.ExpressGatewayServiceConfiguration) {
			c.PrimaryContainer.ContainerPort = new(int32(70000))
		},
		"min over max": func(c *ecsapi.ExpressGatewayServiceConfiguration) { c.ScalingTarget.MinTaskCount = new(int32(30)) },
		"role":         func(c *ecsapi.ExpressGatewayServiceConfiguration) { c.ExecutionRoleArn = new("exec") },
		"image":        func(c *ecsapi.ExpressGatewayServiceConfiguration) { c.PrimaryContainer.Image = new(" ") },
	} {
		bad := clone(cfg)
		mutate(&bad)
		if err := checkConfig(&bad); awsapi.AsError(err) == nil || awsapi.AsError(err).Code != ecsapi.CodeInvalidParameterException {
			t.Errorf("%s: %v", name, err)
		}
	}
}
