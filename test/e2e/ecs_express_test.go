package e2e

// ECS Express services on real containers behind Berth's ALB: two
// services of one cluster share one load balancer and listener, each
// reached on its own host name; an update rolls a new image and
// environment through the service; deleting the first removes its rule
// and target group, deleting the last removes the load balancer; a kill -9
// and restart in between loses nothing. The aws
// CLI v1 and boto3 drive the Express operations (Debian's aws CLI v2,
// 2.9, predates them); the aws CLI v2 checks what they made in ECS, ELB
// and EC2.

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

type expressShape struct {
	Cluster, ServiceName, ServiceArn, InfrastructureRoleArn, CurrentDeployment string
	Status                                                                     struct{ StatusCode, StatusReason string }
	ActiveConfigurations                                                       []struct {
		ServiceRevisionArn, ExecutionRoleArn, Cpu, Memory, HealthCheckPath string
		PrimaryContainer                                                   struct {
			Image         string
			ContainerPort int
			Environment   []struct{ Name, Value string }
		}
		ScalingTarget struct {
			MinTaskCount, MaxTaskCount, AutoScalingTargetValue int
			AutoScalingMetric                                  string
		}
		NetworkConfiguration struct{ Subnets, SecurityGroups []string }
		IngressPaths         []struct{ AccessType, Endpoint string }
	}
	Tags []struct{ Key, Value string }
}

// expressEndpoint splits an Express endpoint (http://host:port) into the
// host name the listener rule matches and the listener port.
func expressEndpoint(t *testing.T, s expressShape) (string, int) {
	t.Helper()
	if len(s.ActiveConfigurations) == 0 || len(s.ActiveConfigurations[0].IngressPaths) != 1 {
		t.Fatalf("no ingress path: %+v", s)
	}
	u, err := url.Parse(s.ActiveConfigurations[0].IngressPaths[0].Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil || u.Scheme != "http" {
		t.Fatalf("endpoint %q", s.ActiveConfigurations[0].IngressPaths[0].Endpoint)
	}
	return u.Hostname(), port
}

type expressAnswer struct {
	Status                  int
	Name, Hostname, Message string
}

// expressGet sends one request to the listener with the service's host
// name, as a client resolving the endpoint would.
func expressGet(t *testing.T, port int, host, path string) (expressAnswer, error) {
	req, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(port)+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := noRedirects.Do(req)
	if err != nil {
		return expressAnswer{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	a := expressAnswer{Status: resp.StatusCode}
	if resp.StatusCode == http.StatusOK {
		var m struct{ Name, Hostname, Message string }
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("answer %q: %v", body, err)
		}
		a.Name, a.Hostname, a.Message = m.Name, m.Hostname, m.Message
	}
	return a, nil
}

// expressServing waits until n requests in a row are answered by tasks of
// image name with message, and returns the tasks (hostnames) seen.
func expressServing(t *testing.T, port int, host, name, message string, n int, within time.Duration) map[string]int {
	t.Helper()
	var last any
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		seen := map[string]int{}
		ok := true
		for range n {
			a, err := expressGet(t, port, host, "/")
			if err != nil || a.Status != http.StatusOK || a.Name != name || a.Message != message {
				ok, last = false, []any{a, err}
				break
			}
			seen[a.Hostname]++
		}
		if ok {
			return seen
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("%s not served by %s/%s after %s: last %+v", host, name, message, within, last)
	return nil
}

func TestECSExpressServices(t *testing.T) {
	t.Parallel()
	b, uri := tkSetup(t)
	repo, _, _ := strings.Cut(uri, ":v1")
	uri2 := repo + ":v2"
	pushImage(t, uri2, harness.TestImage(t, "express-v2"), registryAuth(t, b))
	t.Cleanup(func() { harness.Docker(t, "rmi", uri2) })
	v1, v2 := b.AWS, b.AWSv2

	role := func(name, service string) string {
		doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + service + `"},"Action":"sts:AssumeRole"}]}`
		return str1(t, v2(t, "iam", "create-role", "--role-name", name, "--assume-role-policy-document", doc).Must(t).Map(t), "Role", "Arn")
	}
	execRole := role("ecsTaskExecutionRole", "ecs-tasks.amazonaws.com")
	infraRole := role("ecsInfrastructureRoleForExpressServices", "ecs.amazonaws.com")

	// Containers of every task the services ran go with the test.
	seenTasks := map[string]bool{}
	tasksOf := map[string][]string{}
	trackTasks := func(service string) []string {
		var out struct{ TaskArns []string }
		v2(t, "ecs", "list-tasks", "--cluster", "tasks", "--service-name", service).Must(t).JSON(t, &out)
		for _, a := range out.TaskArns {
			if !seenTasks[a] {
				seenTasks[a] = true
				tasksOf[service] = append(tasksOf[service], a)
				tkCleanup(t, a)
			}
		}
		return out.TaskArns
	}

	// Create with the aws CLI v1.
	var created struct{ Service expressShape }
	v1(t, "ecs", "create-express-gateway-service", "--cluster", "tasks", "--service-name", "web",
		"--execution-role-arn", execRole, "--infrastructure-role-arn", infraRole, "--health-check-path", "/health",
		"--primary-container", `{"image": "`+uri+`", "containerPort": 8080, "environment": [{"name": "MESSAGE", "value": "one"}]}`,
		"--scaling-target", "minTaskCount=2,maxTaskCount=4", "--tags", "key=team,value=blue").Must(t).JSON(t, &created)
	web := created.Service
	t.Cleanup(func() {
		b.AWS(t, "ecs", "delete-express-gateway-service", "--service-arn", web.ServiceArn)
		trackTasks("web")
	})
	cfg := web.ActiveConfigurations
	if web.Status.StatusCode != "ACTIVE" || !strings.HasSuffix(web.ServiceArn, ":service/tasks/web") || web.InfrastructureRoleArn != infraRole ||
		len(cfg) != 1 || cfg[0].Cpu != "256" || cfg[0].Memory != "512" || cfg[0].HealthCheckPath != "/health" ||
		cfg[0].PrimaryContainer.Image != uri || cfg[0].ScalingTarget.MinTaskCount != 2 || cfg[0].ScalingTarget.MaxTaskCount != 4 ||
		cfg[0].ScalingTarget.AutoScalingMetric != "AVERAGE_CPU" || cfg[0].ScalingTarget.AutoScalingTargetValue != 60 ||
		cfg[0].ExecutionRoleArn != execRole || !strings.Contains(cfg[0].ServiceRevisionArn, ":service-revision/tasks/web/") ||
		len(cfg[0].NetworkConfiguration.Subnets) == 0 || len(cfg[0].NetworkConfiguration.SecurityGroups) != 1 ||
		cfg[0].IngressPaths[0].AccessType != "PUBLIC" {
		t.Fatalf("created: %+v", web)
	}
	webHost, port := expressEndpoint(t, web)
	if !strings.HasPrefix(webHost, "web-") || !strings.HasSuffix(webHost, ".ecs.us-east-1.localhost") {
		t.Fatalf("endpoint host %q", webHost)
	}

	// Real traffic: two tasks answer on the endpoint, through the listener.
	// Both tasks answer once both are healthy in the target group.
	var seen map[string]int
	tsPoll(t, 2*time.Minute, "both tasks answering", func() (bool, any) {
		seen = expressServing(t, port, webHost, "tasks", "one", 8, 3*time.Minute)
		return len(seen) == 2, seen
	})
	if tasks := trackTasks("web"); len(tasks) != 2 {
		t.Fatalf("web tasks: %v", tasks)
	}
	if a, err := expressGet(t, port, "nobody.ecs.us-east-1.localhost", "/"); err != nil || a.Status != http.StatusNotFound {
		t.Fatalf("unknown host: %+v %v", a, err)
	}

	// What Express made is ordinary ECS, ELB and EC2, as the aws CLI v2 sees it.
	var svcs struct {
		Services []struct {
			Status, LaunchType, TaskDefinition string
			DesiredCount                       int
			LoadBalancers                      []struct {
				TargetGroupArn, ContainerName string
				ContainerPort                 int
			}
		}
	}
	v2(t, "ecs", "describe-services", "--cluster", "tasks", "--services", "web").Must(t).JSON(t, &svcs)
	if s := svcs.Services; len(s) != 1 || s[0].Status != "ACTIVE" || s[0].LaunchType != "FARGATE" || s[0].DesiredCount != 2 ||
		len(s[0].LoadBalancers) != 1 || s[0].LoadBalancers[0].ContainerPort != 8080 {
		t.Fatalf("ECS service: %+v", svcs)
	}
	webTG := svcs.Services[0].LoadBalancers[0].TargetGroupArn
	tgOut := v2(t, "elbv2", "describe-target-groups", "--target-group-arns", webTG).Must(t).Map(t)
	if p := str1(t, tgOut, "TargetGroups", "0", "HealthCheckPath"); p != "/health" {
		t.Fatalf("target group health check path %q", p)
	}
	lbArn := str1(t, tgOut, "TargetGroups", "0", "LoadBalancerArns", "0")
	var rules struct {
		Rules []struct {
			IsDefault  bool
			Conditions []struct {
				Field  string
				Values []string
			}
		}
	}
	listener := str1(t, v2(t, "elbv2", "describe-listeners", "--load-balancer-arn", lbArn).Must(t).Map(t), "Listeners", "0", "ListenerArn")
	v2(t, "elbv2", "describe-rules", "--listener-arn", listener).Must(t).JSON(t, &rules)
	if len(rules.Rules) != 2 || rules.Rules[0].Conditions[0].Field != "host-header" || rules.Rules[0].Conditions[0].Values[0] != webHost {
		t.Fatalf("rules: %+v", rules)
	}
	sg := cfg[0].NetworkConfiguration.SecurityGroups[0]
	var sgOut struct {
		SecurityGroups []struct {
			IpPermissions []struct {
				FromPort         int
				UserIdGroupPairs []struct{ GroupId string }
			}
		}
	}
	v2(t, "ec2", "describe-security-groups", "--group-ids", sg).Must(t).JSON(t, &sgOut)
	lbSGs := str1(t, v2(t, "elbv2", "describe-load-balancers", "--load-balancer-arns", lbArn).Must(t).Map(t), "LoadBalancers", "0", "SecurityGroups", "0")
	if g := sgOut.SecurityGroups; len(g) != 1 || len(g[0].IpPermissions) != 1 || g[0].IpPermissions[0].FromPort != 8080 ||
		len(g[0].IpPermissions[0].UserIdGroupPairs) != 1 || g[0].IpPermissions[0].UserIdGroupPairs[0].GroupId != lbSGs {
		t.Fatalf("service security group (load balancer's %s): %+v", lbSGs, sgOut)
	}

	// A second service (boto3), default cluster settings otherwise: it
	// shares the load balancer and listener, on its own host name.
	var api struct{ Service expressShape }
	b.Python(t, `
import boto3, json, sys
ecs = boto3.client("ecs")
out = ecs.create_express_gateway_service(cluster="tasks", serviceName="api", executionRoleArn=sys.argv[1],
    infrastructureRoleArn=sys.argv[2], healthCheckPath="/health",
    primaryContainer={"image": sys.argv[3], "containerPort": 8080, "environment": [{"name": "MESSAGE", "value": "api"}]})
print(json.dumps(out, default=str))
`, execRole, infraRole, uri2).Must(t).JSON(t, &api)
	t.Cleanup(func() {
		b.AWS(t, "ecs", "delete-express-gateway-service", "--service-arn", api.Service.ServiceArn)
		trackTasks("api")
	})
	apiHost, apiPort := expressEndpoint(t, api.Service)
	if apiPort != port || apiHost == webHost || api.Service.ActiveConfigurations[0].ScalingTarget.MinTaskCount != 1 {
		t.Fatalf("second service: %+v", api.Service)
	}
	expressServing(t, port, apiHost, "express-v2", "api", 4, 3*time.Minute)
	expressServing(t, port, webHost, "tasks", "one", 4, time.Minute)
	trackTasks("api")

	// Everything is in the store: after kill -9 and a restart the
	// listener is back on its port and both services answer and describe.
	b.Kill()
	b.Restart()
	expressServing(t, port, webHost, "tasks", "one", 4, 2*time.Minute)
	expressServing(t, port, apiHost, "express-v2", "api", 4, time.Minute)
	var again struct{ Service expressShape }
	v1(t, "ecs", "describe-express-gateway-service", "--service-arn", api.Service.ServiceArn).Must(t).JSON(t, &again)
	if again.Service.Status.StatusCode != "ACTIVE" || again.Service.ActiveConfigurations[0].IngressPaths[0].Endpoint !=
		api.Service.ActiveConfigurations[0].IngressPaths[0].Endpoint {
		t.Fatalf("after restart: %+v", again.Service)
	}

	// Errors carry ECS's codes (boto3).
	r := b.Python(t, `
import boto3, botocore, sys
ecs = boto3.client("ecs")
def code(f, **kw):
    try:
        f(**kw)
        return "ok"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
arn = sys.argv[1]
missing = arn.replace("/web", "/nope")
pc = {"image": sys.argv[4]}
print(code(ecs.describe_express_gateway_service, serviceArn=missing))
print(code(ecs.update_express_gateway_service, serviceArn=missing, cpu="512"))
print(code(ecs.delete_express_gateway_service, serviceArn=missing))
print(code(ecs.create_express_gateway_service, cluster="tasks", serviceName="bad", executionRoleArn=sys.argv[2],
    infrastructureRoleArn=sys.argv[3], healthCheckPath="health", primaryContainer=pc))
print(code(ecs.create_express_gateway_service, cluster="nope", executionRoleArn=sys.argv[2],
    infrastructureRoleArn=sys.argv[3], primaryContainer=pc))
print(code(ecs.create_express_gateway_service, cluster="tasks", serviceName="web", executionRoleArn=sys.argv[2],
    infrastructureRoleArn=sys.argv[3], primaryContainer=pc))
print(code(ecs.create_express_gateway_service, cluster="tasks", executionRoleArn="not-a-role",
    infrastructureRoleArn=sys.argv[3], primaryContainer=pc))
`, web.ServiceArn, execRole, infraRole, uri).Must(t)
	if got := strings.Fields(r.Stdout); strings.Join(got, " ") != "ResourceNotFoundException ServiceNotFoundException ServiceNotFoundException "+
		"InvalidParameterException ClusterNotFoundException InvalidParameterException InvalidParameterException" {
		t.Fatalf("error codes: %v", got)
	}

	// Update (aws CLI v1): a new image and environment roll through the
	// service; the listener keeps answering throughout.
	var updated struct {
		Service struct {
			ServiceArn          string
			Status              struct{ StatusCode string }
			TargetConfiguration struct {
				PrimaryContainer struct{ Image string }
				HealthCheckPath  string
			}
		}
	}
	v1(t, "ecs", "update-express-gateway-service", "--service-arn", web.ServiceArn,
		"--primary-container", `{"image": "`+uri2+`", "environment": [{"name": "MESSAGE", "value": "two"}]}`).Must(t).JSON(t, &updated)
	if u := updated.Service; u.ServiceArn != web.ServiceArn || u.Status.StatusCode != "ACTIVE" ||
		u.TargetConfiguration.PrimaryContainer.Image != uri2 || u.TargetConfiguration.HealthCheckPath != "/health" {
		t.Fatalf("updated: %+v", updated)
	}
	failures := 0
	deadline := time.Now().Add(4 * time.Minute)
	for {
		a, err := expressGet(t, port, webHost, "/")
		if err != nil || a.Status != http.StatusOK {
			failures++
		}
		if a.Name == "express-v2" && a.Message == "two" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("update never served: last %+v %v", a, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	expressServing(t, port, webHost, "express-v2", "two", 8, 3*time.Minute)
	if failures > 0 {
		t.Errorf("%d requests failed during the rolling update", failures)
	}
	trackTasks("web")
	var desc struct{ Service expressShape }
	tsPoll(t, 3*time.Minute, "one active configuration after the update", func() (bool, any) {
		b.AWS(t, "ecs", "describe-express-gateway-service", "--service-arn", web.ServiceArn, "--include", "TAGS").Must(t).JSON(t, &desc)
		c := desc.Service.ActiveConfigurations
		return len(c) == 1 && c[0].PrimaryContainer.Image == uri2 && c[0].PrimaryContainer.ContainerPort == 8080, desc
	})
	if d := desc.Service; len(d.Tags) != 1 || d.Tags[0].Key != "team" || d.Tags[0].Value != "blue" || d.CurrentDeployment == "" ||
		d.ActiveConfigurations[0].ServiceRevisionArn == cfg[0].ServiceRevisionArn {
		t.Fatalf("described after update: %+v", d)
	}
	v2(t, "ecs", "describe-services", "--cluster", "tasks", "--services", "web").Must(t).JSON(t, &svcs)
	if !strings.HasSuffix(svcs.Services[0].TaskDefinition, ":2") {
		t.Fatalf("task definition after update: %s", svcs.Services[0].TaskDefinition)
	}

	// Scaling: the minimum is the desired count (nothing scales beyond it).
	v1(t, "ecs", "update-express-gateway-service", "--service-arn", web.ServiceArn, "--scaling-target", "minTaskCount=1").Must(t)
	tsPoll(t, 2*time.Minute, "web at one task", func() (bool, any) {
		v2(t, "ecs", "describe-services", "--cluster", "tasks", "--services", "web").Must(t).JSON(t, &svcs)
		return svcs.Services[0].DesiredCount == 1, svcs
	})

	// Delete the first (boto3): its host name is gone from the listener,
	// the other service still answers, the load balancer stays.
	var deleted struct{ Service expressShape }
	b.Python(t, `
import boto3, json, sys
print(json.dumps(boto3.client("ecs").delete_express_gateway_service(serviceArn=sys.argv[1]), default=str))
`, web.ServiceArn).Must(t).JSON(t, &deleted)
	if s := deleted.Service.Status.StatusCode; s != "DRAINING" && s != "INACTIVE" {
		t.Fatalf("deleted: %+v", deleted.Service)
	}
	if a, err := expressGet(t, port, webHost, "/"); err != nil || a.Status != http.StatusNotFound {
		t.Fatalf("deleted service's host: %+v %v", a, err)
	}
	expressServing(t, port, apiHost, "express-v2", "api", 4, time.Minute)
	if code := v2(t, "elbv2", "describe-target-groups", "--target-group-arns", webTG).ErrorCode(); code != "TargetGroupNotFound" {
		t.Fatalf("web's target group after delete: %s", code)
	}
	if code := v2(t, "ec2", "describe-security-groups", "--group-ids", sg).ErrorCode(); code != "InvalidGroup.NotFound" {
		t.Fatalf("web's security group after delete: %s", code)
	}
	v2(t, "elbv2", "describe-load-balancers", "--load-balancer-arns", lbArn).Must(t)
	if code := b.AWS(t, "ecs", "delete-express-gateway-service", "--service-arn", web.ServiceArn).ErrorCode(); code != "ServiceNotActiveException" {
		t.Fatalf("second delete: %s", code)
	}
	tsPoll(t, 2*time.Minute, "web INACTIVE, its containers gone", func() (bool, any) {
		b.AWS(t, "ecs", "describe-express-gateway-service", "--service-arn", web.ServiceArn).Must(t).JSON(t, &desc)
		return desc.Service.Status.StatusCode == "INACTIVE" && len(trackTasks("web")) == 0 &&
			runningContainers(t, tasksOf["web"]) == 0, desc.Service.Status
	})

	// Delete the last (aws CLI v1): the load balancer and its listener go.
	v1(t, "ecs", "delete-express-gateway-service", "--service-arn", api.Service.ServiceArn).Must(t)
	if code := v2(t, "elbv2", "describe-load-balancers", "--load-balancer-arns", lbArn).ErrorCode(); code != "LoadBalancerNotFound" {
		t.Fatalf("load balancer after the last delete: %s", code)
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
		c.Close()
		t.Fatalf("listener port %d still open", port)
	}
}
