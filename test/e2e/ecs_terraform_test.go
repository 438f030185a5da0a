package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

// ecsTerraformConfig is a Fargate web service behind an Application Load
// Balancer as Terraform users write it. IMAGE, LISTENER_PORT, MESSAGE
// and DESIRED are filled in by the test.
const ecsTerraformConfig = `
data "aws_vpc" "default" { default = true }
data "aws_subnets" "default" {
  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.default.id]
  }
}

resource "aws_iam_role" "execution" {
  name = "tf-web-execution"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_cloudwatch_log_group" "web" {
  name              = "/ecs/tf-web"
  retention_in_days = 7
}

resource "aws_security_group" "web" {
  name   = "tf-web-tasks"
  vpc_id = data.aws_vpc.default.id
  ingress {
    from_port   = 8080
    to_port     = 8080
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_ecs_cluster" "main" {
  name = "tf-web"
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
  tags = { Team = "web" }
}

resource "aws_ecs_cluster_capacity_providers" "main" {
  cluster_name       = aws_ecs_cluster.main.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]
  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    base              = 1
    weight            = 100
  }
}

resource "aws_ecs_task_definition" "web" {
  family                   = "tf-web"
  network_mode             = "awsvpc"
  requires_compatibilities = ["FARGATE"]
  cpu                      = "256"
  memory                   = "512"
  execution_role_arn       = aws_iam_role.execution.arn
  container_definitions = jsonencode([{
    name      = "web"
    image     = "IMAGE"
    essential = true
    command   = ["serve"]
    portMappings = [{ containerPort = 8080, protocol = "tcp" }]
    environment  = [{ name = "MESSAGE", value = "MESSAGE_VALUE" }]
    healthCheck = {
      command     = ["CMD", "/app", "check", "http://127.0.0.1:8080/health"]
      interval    = 5
      timeout     = 2
      retries     = 2
      startPeriod = 0
    }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.web.name
        awslogs-region        = "REGION"
        awslogs-stream-prefix = "web"
      }
    }
  }])
}

resource "aws_lb" "web" {
  name               = "tf-web"
  load_balancer_type = "application"
  internal           = false
  subnets            = slice(data.aws_subnets.default.ids, 0, 2)
}

resource "aws_lb_target_group" "web" {
  name        = "tf-web"
  port        = 8080
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = data.aws_vpc.default.id
  deregistration_delay = 5
  health_check {
    path                = "/health"
    interval            = 5
    timeout             = 2
    healthy_threshold   = 2
    unhealthy_threshold = 2
    matcher             = "200"
  }
}

resource "aws_lb_listener" "web" {
  load_balancer_arn = aws_lb.web.arn
  port              = LISTENER_PORT
  protocol          = "HTTP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }
}

resource "aws_ecs_service" "web" {
  name                  = "web"
  cluster               = aws_ecs_cluster.main.id
  task_definition       = aws_ecs_task_definition.web.arn
  launch_type           = "FARGATE"
  desired_count         = DESIRED
  wait_for_steady_state = true
  network_configuration {
    subnets          = data.aws_subnets.default.ids
    security_groups  = [aws_security_group.web.id]
    assign_public_ip = false
  }
  load_balancer {
    target_group_arn = aws_lb_target_group.web.arn
    container_name   = "web"
    container_port   = 8080
  }
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  depends_on = [aws_lb_listener.web, aws_ecs_cluster_capacity_providers.main, aws_iam_role_policy_attachment.execution]
}

output "cluster_arn" { value = aws_ecs_cluster.main.arn }
output "task_definition" { value = aws_ecs_task_definition.web.arn }
output "target_group" { value = aws_lb_target_group.web.arn }
output "lb_dns" { value = aws_lb.web.dns_name }
output "lb" { value = aws_lb.web.arn }
output "listener" { value = aws_lb_listener.web.arn }
`

func ecsTerraform(b *harness.Berth, image string, port int, message string, desired int) string {
	return strings.NewReplacer("IMAGE", image, "LISTENER_PORT", strconv.Itoa(port), "MESSAGE_VALUE", message,
		"DESIRED", strconv.Itoa(desired), "REGION", b.Region()).Replace(ecsTerraformConfig)
}

// ecsTerraformClusterContainers lists the engine's containers (running or
// not) that Berth labelled with the cluster.
func ecsTerraformClusterContainers(t *testing.T, clusterARN string) []string {
	t.Helper()
	return strings.Fields(harness.Docker(t, "ps", "-aq", "--filter", "label=com.amazonaws.ecs.cluster="+clusterARN).Must(t).Stdout)
}

// ecsTerraformRunningTasks is the set of task ARNs of the cluster with a
// running container on the engine (an awsvpc task also has its network
// sandbox container).
func ecsTerraformRunningTasks(t *testing.T, clusterARN string) map[string]bool {
	t.Helper()
	out := harness.Docker(t, "ps", "--filter", "label=com.amazonaws.ecs.cluster="+clusterARN,
		"--format", `{{.Label "com.amazonaws.ecs.task-arn"}}`).Must(t).Stdout
	tasks := map[string]bool{}
	for _, arn := range strings.Fields(out) {
		tasks[arn] = true
	}
	return tasks
}

// ecsTerraformHealthy counts the healthy targets of a target group (the
// tasks' targets share one port, so healthOf's map by port won't do).
func ecsTerraformHealthy(t *testing.T, b *harness.Berth, tg string) (int, targetHealthOut) {
	t.Helper()
	var out targetHealthOut
	b.AWSv2(t, "elbv2", "describe-target-health", "--target-group-arn", tg).Must(t).JSON(t, &out)
	n := 0
	for _, d := range out.TargetHealthDescriptions {
		if d.TargetHealth.State == "healthy" {
			n++
		}
	}
	return n, out
}

// A Fargate web service behind an ALB, entirely from Terraform: the apply
// waits for the service's steady state, the listener reaches the
// containers, the plan shows no drift, a new revision (an environment
// change) and a scale-up roll out in place, and destroy leaves no
// container behind.
func TestECSTerraformFargateService(t *testing.T) {
	t.Parallel()
	harness.RequireDocker(t)
	b := harness.Start(t)
	image := createRepo(t, b, uniqueName("tf/web")) + ":v1"
	pushImage(t, image, harness.TestImage(t, "tf-web"), registryAuth(t, b))
	t.Cleanup(func() { harness.Docker(t, "rmi", image) })
	port := freeListenerPort(t)

	tf := startTerraform(t, b, ecsTerraform(b, image, port, "v1", 2))
	clusterARN := ""
	t.Cleanup(func() {
		// A failed test may leave tasks running: remove their containers.
		if clusterARN != "" {
			if ids := ecsTerraformClusterContainers(t, clusterARN); len(ids) > 0 {
				harness.Docker(t, append([]string{"rm", "-f"}, ids...)...)
			}
		}
	})
	start := time.Now()
	tf.Apply(t)
	t.Logf("apply with wait_for_steady_state took %s", time.Since(start).Round(time.Second))
	clusterARN = tf.Output(t, "cluster_arn")

	// wait_for_steady_state returned: the service runs 2 tasks of revision 1.
	var svcs struct {
		Services []struct {
			Status, TaskDefinition, LaunchType string
			DesiredCount, RunningCount         int
			Deployments                        []struct{ RolloutState string }
		}
	}
	b.AWSv2(t, "ecs", "describe-services", "--cluster", "tf-web", "--services", "web").Must(t).JSON(t, &svcs)
	if len(svcs.Services) != 1 || svcs.Services[0].RunningCount != 2 || svcs.Services[0].LaunchType != "FARGATE" ||
		svcs.Services[0].TaskDefinition != tf.Output(t, "task_definition") {
		t.Fatalf("the service after apply: %+v", svcs)
	}
	var clusters struct {
		Clusters []struct {
			Status            string
			CapacityProviders []string
			Settings          []struct{ Name, Value string }
			Tags              []struct{ Key, Value string }
		}
	}
	b.AWSv2(t, "ecs", "describe-clusters", "--clusters", "tf-web", "--include", "SETTINGS", "TAGS").Must(t).JSON(t, &clusters)
	if len(clusters.Clusters) != 1 || len(clusters.Clusters[0].CapacityProviders) != 2 || len(clusters.Clusters[0].Tags) != 1 ||
		len(clusters.Clusters[0].Settings) != 1 || clusters.Clusters[0].Settings[0].Value != "enabled" {
		t.Errorf("the cluster: %+v", clusters)
	}
	if n := len(ecsTerraformRunningTasks(t, clusterARN)); n != 2 {
		t.Errorf("%d tasks of the cluster running on the engine, want 2", n)
	}

	// The listener reaches the containers once their targets are healthy.
	tg := tf.Output(t, "target_group")
	waitAnswers := func(want string, n int) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			healthy, all := ecsTerraformHealthy(t, b, tg)
			if healthy == n && len(all.TargetHealthDescriptions) == n {
				if got := lbAnswers(t, port, 6); maps1(got, want) {
					return
				}
			}
			if time.Now().After(deadline) {
				_, all := ecsTerraformHealthy(t, b, tg)
				t.Fatalf("want %d healthy targets answering %q: %+v", n, want, all)
			}
			time.Sleep(time.Second)
		}
	}
	waitAnswers("v1", 2)

	// What aws_lb and aws_lb_listener read besides the resources
	// themselves: the capacity reservation (none) and the listener
	// attributes, which a change through the aws CLI updates.
	var capacity struct {
		CapacityReservationState    []any
		MinimumLoadBalancerCapacity *struct{ CapacityUnits int }
	}
	b.AWS(t, "elbv2", "describe-capacity-reservation", "--load-balancer-arn", tf.Output(t, "lb")).Must(t).JSON(t, &capacity)
	if capacity.MinimumLoadBalancerCapacity != nil || len(capacity.CapacityReservationState) != 0 {
		t.Errorf("capacity reservation: %+v", capacity)
	}
	listener := tf.Output(t, "listener")
	serverHeader := func() string {
		t.Helper()
		var attrs struct{ Attributes []struct{ Key, Value string } }
		b.AWS(t, "elbv2", "describe-listener-attributes", "--listener-arn", listener).Must(t).JSON(t, &attrs)
		for _, a := range attrs.Attributes {
			if a.Key == "routing.http.response.server.enabled" {
				return a.Value
			}
		}
		return ""
	}
	if v := serverHeader(); v != "true" {
		t.Errorf("routing.http.response.server.enabled %q, want the default true", v)
	}
	b.AWS(t, "elbv2", "modify-listener-attributes", "--listener-arn", listener,
		"--attributes", "Key=routing.http.response.server.enabled,Value=false").Must(t)
	if v := serverHeader(); v != "false" {
		t.Errorf("routing.http.response.server.enabled after the change %q", v)
	}
	if r := b.AWS(t, "elbv2", "modify-listener-attributes", "--listener-arn", listener,
		"--attributes", "Key=no.such.key,Value=1"); r.ErrorCode() != "ValidationError" {
		t.Errorf("an unknown listener attribute: exit %d %s", r.ExitCode, r.Stderr)
	}
	b.AWS(t, "elbv2", "modify-listener-attributes", "--listener-arn", listener,
		"--attributes", "Key=routing.http.response.server.enabled,Value=true").Must(t)
	tf.NoDrift(t)

	// A new revision and a third task roll out in place.
	tf.SetConfig(t, b, ecsTerraform(b, image, port, "v2", 3))
	tf.Apply(t)
	b.AWSv2(t, "ecs", "describe-services", "--cluster", "tf-web", "--services", "web").Must(t).JSON(t, &svcs)
	if len(svcs.Services) != 1 || svcs.Services[0].RunningCount != 3 || svcs.Services[0].DesiredCount != 3 ||
		!strings.HasSuffix(svcs.Services[0].TaskDefinition, "task-definition/tf-web:2") {
		t.Fatalf("the service after the change: %+v", svcs)
	}
	waitAnswers("v2", 3)
	if n := len(ecsTerraformRunningTasks(t, clusterARN)); n != 3 {
		t.Errorf("%d tasks of the cluster running on the engine after the change, want 3", n)
	}
	tf.NoDrift(t)

	tf.Destroy(t)
	// The cluster is gone with its service: describing the service fails
	// with ClusterNotFoundException, or shows it INACTIVE.
	if r := b.AWSv2(t, "ecs", "describe-services", "--cluster", "tf-web", "--services", "web"); r.ErrorCode() != "ClusterNotFoundException" &&
		(r.ExitCode != 0 || strings.Contains(r.Stdout, `"ACTIVE"`)) {
		t.Errorf("the service after destroy: %s %s", r.Stdout, r.Stderr)
	}
	if r := b.AWSv2(t, "ecs", "describe-clusters", "--clusters", "tf-web").Must(t); strings.Contains(r.Stdout, `"ACTIVE"`) {
		t.Errorf("the cluster after destroy: %s", r.Stdout)
	}
	if r := b.AWSv2(t, "elbv2", "describe-load-balancers", "--names", "tf-web"); r.ErrorCode() != "LoadBalancerNotFound" {
		t.Errorf("the load balancer after destroy: %s %s", r.Stdout, r.Stderr)
	}
	if r := b.AWSv2(t, "iam", "get-role", "--role-name", "tf-web-execution"); r.ErrorCode() != "NoSuchEntity" {
		t.Errorf("the role after destroy: %s %s", r.Stdout, r.Stderr)
	}
	deadline := time.Now().Add(time.Minute)
	for len(ecsTerraformClusterContainers(t, clusterARN)) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("containers of the cluster left after destroy: %v", ecsTerraformClusterContainers(t, clusterARN))
		}
		time.Sleep(time.Second)
	}
}
