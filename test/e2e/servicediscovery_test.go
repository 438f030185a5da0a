package e2e

// AWS Cloud Map with ECS service discovery, on real containers: a private
// DNS namespace (its operation polled to SUCCESS), a Cloud Map service
// with an A record and a custom health check, and an ECS service of two
// awsvpc Fargate tasks registered in it. Cloud Map lists and discovers
// both tasks with ECS's attributes; a task of another family resolves
// "<service>.<namespace>" from inside its container and reaches the web
// tasks over HTTP; scaling to one leaves one instance; deleting the ECS
// service deregisters everything. The aws CLI v1 and v2 and boto3 share
// the story, and the errors carry Cloud Map's codes.

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

type cmInstance struct {
	Id         string
	Attributes map[string]string
}

// cmPoll lists the Cloud Map service's instances until ok, for at most d.
func cmPoll(t *testing.T, b *harness.Berth, serviceID string, d time.Duration, what string, ok func([]cmInstance) bool) []cmInstance {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var out struct{ Instances []cmInstance }
		b.AWS(t, "servicediscovery", "list-instances", "--service-id", serviceID).Must(t).JSON(t, &out)
		if ok(out.Instances) {
			return out.Instances
		}
		if time.Now().After(deadline) {
			t.Fatalf("instances not %s after %s: %+v\n%s", what, d, out.Instances, b.Log())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// cmTaskIPs maps the RUNNING tasks of ECS service "web" to their IPs.
func cmTaskIPs(t *testing.T, b *harness.Berth) map[string]string {
	t.Helper()
	var list struct{ TaskArns []string }
	b.AWS(t, "ecs", "list-tasks", "--cluster", "tasks", "--service-name", "web", "--desired-status", "RUNNING").Must(t).JSON(t, &list)
	out := map[string]string{}
	for _, arn := range list.TaskArns {
		task := tkDescribe(t, b.AWS, arn)
		if task.LastStatus != "RUNNING" {
			continue
		}
		for _, a := range task.Attachments {
			for _, d := range a.Details {
				if d.Name == "privateIPv4Address" {
					out[arn[strings.LastIndex(arn, "/")+1:]] = d.Value
				}
			}
		}
	}
	return out
}

func TestServiceDiscoveryECS(t *testing.T) {
	t.Parallel()
	b, img := tkSetup(t)
	subnet := defaultSubnets(t, b)[0]
	var vpc string
	b.AWS(t, "ec2", "describe-vpcs", "--filters", "Name=isDefault,Values=true", "--query", "Vpcs[0].VpcId").Must(t).JSON(t, &vpc)
	// Unique, as the engine's task network may be shared with other Berths.
	ns := uniqueName("sd") + ".local"

	// The namespace, with the CLI's asynchronous operation.
	var op struct{ OperationId string }
	b.AWS(t, "servicediscovery", "create-private-dns-namespace", "--name", ns, "--vpc", vpc,
		"--creator-request-id", "req-1", "--tags", "Key=team,Value=sd").Must(t).JSON(t, &op)
	var got struct {
		Operation struct {
			Id, Status, Type string
			Targets          map[string]string
		}
	}
	b.AWSv2(t, "servicediscovery", "get-operation", "--operation-id", op.OperationId).Must(t).JSON(t, &got)
	nsID := got.Operation.Targets["NAMESPACE"]
	if got.Operation.Status != "SUCCESS" || got.Operation.Type != "CREATE_NAMESPACE" || !strings.HasPrefix(nsID, "ns-") {
		t.Fatalf("get-operation: %+v", got)
	}
	// A retry with the same creator request id is the same operation.
	var again struct{ OperationId string }
	b.AWS(t, "servicediscovery", "create-private-dns-namespace", "--name", ns, "--vpc", vpc,
		"--creator-request-id", "req-1").Must(t).JSON(t, &again)
	if again.OperationId != op.OperationId {
		t.Errorf("idempotent create: %s, then %s", op.OperationId, again.OperationId)
	}
	if r := b.AWS(t, "servicediscovery", "create-private-dns-namespace", "--name", ns, "--vpc", vpc); r.ErrorCode() != "NamespaceAlreadyExists" {
		t.Errorf("duplicate namespace: %d %s", r.ExitCode, r.Stderr)
	}
	var nsOut struct {
		Namespace struct {
			Id, Arn, Name, Type string
			Properties          struct{ DnsProperties struct{ HostedZoneId string } }
		}
	}
	b.AWS(t, "servicediscovery", "get-namespace", "--id", nsID).Must(t).JSON(t, &nsOut)
	if !strings.HasPrefix(nsOut.Namespace.Arn, "arn:aws:servicediscovery:"+b.Region()+":") ||
		!strings.HasSuffix(nsOut.Namespace.Arn, ":namespace/"+nsID) || nsOut.Namespace.Type != "DNS_PRIVATE" ||
		nsOut.Namespace.Properties.DnsProperties.HostedZoneId == "" {
		t.Errorf("get-namespace: %+v", nsOut)
	}
	var nsList struct{ Namespaces []struct{ Id string } }
	b.AWSv2(t, "servicediscovery", "list-namespaces", "--filters", "Name=TYPE,Values=DNS_PRIVATE,Condition=EQ").Must(t).JSON(t, &nsList)
	if len(nsList.Namespaces) != 1 || nsList.Namespaces[0].Id != nsID {
		t.Errorf("list-namespaces TYPE=DNS_PRIVATE: %+v", nsList)
	}
	b.AWSv2(t, "servicediscovery", "list-namespaces", "--filters", "Name=TYPE,Values=HTTP,Condition=EQ").Must(t).JSON(t, &nsList)
	if len(nsList.Namespaces) != 0 {
		t.Errorf("list-namespaces TYPE=HTTP: %+v", nsList)
	}

	// The Cloud Map service, with the CLI v2.
	var svc struct {
		Service struct{ Id, Arn, Name, Type string }
	}
	b.AWSv2(t, "servicediscovery", "create-service", "--name", "web", "--namespace-id", nsID,
		"--dns-config", "RoutingPolicy=MULTIVALUE,DnsRecords=[{Type=A,TTL=10}]",
		"--health-check-custom-config", "FailureThreshold=1").Must(t).JSON(t, &svc)
	if !strings.HasPrefix(svc.Service.Id, "srv-") || !strings.HasSuffix(svc.Service.Arn, ":service/"+svc.Service.Id) || svc.Service.Type != "DNS_HTTP" {
		t.Fatalf("create-service: %+v", svc)
	}
	if r := b.AWS(t, "servicediscovery", "create-service", "--name", "web", "--namespace-id", nsID); r.ErrorCode() != "ServiceAlreadyExists" {
		t.Errorf("duplicate service: %d %s", r.ExitCode, r.Stderr)
	}
	for _, c := range []struct {
		args []string
		code string
	}{
		{[]string{"get-namespace", "--id", "ns-doesnotexist0000"}, "NamespaceNotFound"},
		{[]string{"get-service", "--id", "srv-doesnotexist000"}, "ServiceNotFound"},
		{[]string{"get-instance", "--service-id", svc.Service.Id, "--instance-id", "nope"}, "InstanceNotFound"},
		{[]string{"delete-namespace", "--id", nsID}, "ResourceInUse"},
		{[]string{"register-instance", "--service-id", svc.Service.Id, "--instance-id", "manual", "--attributes", "AWS_INSTANCE_PORT=80"}, "InvalidInput"},
		{[]string{"get-operation", "--operation-id", "nope"}, "OperationNotFound"},
	} {
		if r := b.AWS(t, append([]string{"servicediscovery"}, c.args...)...); r.ErrorCode() != c.code {
			t.Errorf("%v: want %s, got %d %s", c.args, c.code, r.ExitCode, r.Stderr)
		}
	}

	// ECS checks the registry exists.
	tkRegister(t, b.AWS, fmt.Sprintf(`{"family": "sdweb", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
  "cpu": "256", "memory": "512", "containerDefinitions": [{
  "name": "web", "image": %q, "command": ["serve"], "portMappings": [{"containerPort": 8080}],
  "environment": [{"name": "MESSAGE", "value": "hello from web"}],
  "healthCheck": {"command": ["CMD", "/app", "check", "http://localhost:8080/health"], "interval": 5, "timeout": 2, "retries": 1}}]}`, img))
	netCfg := "awsvpcConfiguration={subnets=[" + subnet + "]}"
	bogus := strings.Replace(svc.Service.Arn, svc.Service.Id, "srv-doesnotexist000", 1)
	if r := b.AWS(t, "ecs", "create-service", "--cluster", "tasks", "--service-name", "bad", "--task-definition", "sdweb",
		"--desired-count", "1", "--launch-type", "FARGATE", "--network-configuration", netCfg,
		"--service-registries", "registryArn="+bogus); r.ErrorCode() != "InvalidParameterException" {
		t.Errorf("create-service with a missing registry: %d %s", r.ExitCode, r.Stderr)
	}

	seen := map[string]bool{}
	t.Cleanup(func() {
		b.AWS(t, "ecs", "delete-service", "--cluster", "tasks", "--service", "web", "--force")
	})
	b.AWS(t, "ecs", "create-service", "--cluster", "tasks", "--service-name", "web", "--task-definition", "sdweb",
		"--desired-count", "2", "--launch-type", "FARGATE", "--network-configuration", netCfg,
		"--health-check-grace-period-seconds", "600", // a sick task stays, to be seen UNHEALTHY
		"--service-registries", "registryArn="+svc.Service.Arn).Must(t)

	// Both tasks register once RUNNING, with ECS's attributes.
	insts := cmPoll(t, b, svc.Service.Id, 90*time.Second, "2", func(in []cmInstance) bool { return len(in) == 2 })
	svcTasks(t, b.AWS, seen)
	ips := cmTaskIPs(t, b)
	for _, in := range insts {
		a := in.Attributes
		if ip, ok := ips[in.Id]; !ok || a["AWS_INSTANCE_IPV4"] != ip {
			t.Errorf("instance %s: IP %q, RUNNING tasks %v", in.Id, a["AWS_INSTANCE_IPV4"], ips)
		}
		if a["ECS_CLUSTER_NAME"] != "tasks" || a["ECS_SERVICE_NAME"] != "web" || a["ECS_TASK_DEFINITION_FAMILY"] != "sdweb" ||
			a["REGION"] != b.Region() || a["AVAILABILITY_ZONE"] == "" {
			t.Errorf("instance %s attributes: %v", in.Id, a)
		}
	}

	// boto3 discovers them (the data plane's host prefix is turned off, as
	// data-127.0.0.1 is no host).
	res := b.Python(t, fmt.Sprintf(`
import boto3, json
from botocore.config import Config
sd = boto3.client("servicediscovery", config=Config(inject_host_prefix=False))
out = {}
r = sd.discover_instances(NamespaceName=%[1]q, ServiceName="web")
out["all"] = sorted(i["Attributes"]["AWS_INSTANCE_IPV4"] for i in r["Instances"])
out["health"] = sorted(set(i["HealthStatus"] for i in r["Instances"]))
out["rev"] = r["InstancesRevision"]
out["query"] = len(sd.discover_instances(NamespaceName=%[1]q, ServiceName="web", QueryParameters={"ECS_SERVICE_NAME": "web"})["Instances"])
out["nomatch"] = len(sd.discover_instances(NamespaceName=%[1]q, ServiceName="web", QueryParameters={"ECS_SERVICE_NAME": "other"})["Instances"])
out["optional"] = len(sd.discover_instances(NamespaceName=%[1]q, ServiceName="web", OptionalParameters={"ECS_SERVICE_NAME": "other"})["Instances"])
out["unhealthy"] = len(sd.discover_instances(NamespaceName=%[1]q, ServiceName="web", HealthStatus="UNHEALTHY")["Instances"])
out["revision"] = sd.discover_instances_revision(NamespaceName=%[1]q, ServiceName="web")["InstancesRevision"]
out["status"] = sd.get_instances_health_status(ServiceId=%[2]q)["Status"]
try:
    sd.discover_instances(NamespaceName="nope.local", ServiceName="web")
except sd.exceptions.NamespaceNotFound:
    out["nsnotfound"] = True
print(json.dumps(out))
`, ns, svc.Service.Id)).Must(t)
	var disc struct {
		All, Health                         []string
		Rev, Revision                       int64
		Query, Nomatch, Optional, Unhealthy int
		Status                              map[string]string
		Nsnotfound                          bool
	}
	res.JSON(t, &disc)
	want := []string{}
	for _, ip := range ips {
		want = append(want, ip)
	}
	slices.Sort(want)
	if !slices.Equal(disc.All, want) || !slices.Equal(disc.Health, []string{"HEALTHY"}) || disc.Query != 2 ||
		disc.Nomatch != 0 || disc.Optional != 2 || disc.Unhealthy != 0 || disc.Rev == 0 || disc.Revision != disc.Rev ||
		len(disc.Status) != 2 || !disc.Nsnotfound {
		t.Errorf("discover-instances: %+v, task IPs %v", disc, want)
	}
	// The aws CLI v1's discover-instances, told the same.
	cmd := exec.Command("aws", "--endpoint-url", b.Endpoint(), "servicediscovery", "discover-instances",
		"--namespace-name", ns, "--service-name", "web", "--query-parameters", "ECS_CLUSTER_NAME=tasks")
	cmd.Env = append(b.AWSEnv(), "AWS_DISABLE_HOST_PREFIX_INJECTION=true")
	if outb, err := cmd.Output(); err != nil {
		t.Errorf("aws servicediscovery discover-instances: %v", err)
	} else {
		var d struct{ Instances []cmInstance }
		if err := json.Unmarshal(outb, &d); err != nil || len(d.Instances) != 2 {
			t.Errorf("aws servicediscovery discover-instances: %v %s", err, outb)
		}
	}

	// The custom health follows the task's: a task whose container health
	// check fails is UNHEALTHY, and discovery leaves it out.
	sick := insts[0].Id
	var arns struct{ TaskArns []string }
	b.AWS(t, "ecs", "list-tasks", "--cluster", "tasks", "--service-name", "web").Must(t).JSON(t, &arns)
	for _, arn := range arns.TaskArns {
		if strings.HasSuffix(arn, "/"+sick) {
			web := strings.TrimSpace(harness.Docker(t, "ps", "-q", "--filter", "label=com.amazonaws.ecs.task-arn="+arn,
				"--filter", "label=com.amazonaws.ecs.container-name=web").Must(t).Stdout)
			harness.Docker(t, "exec", web, "/app", "get", "http://localhost:8080/sick").Must(t)
		}
	}
	for deadline := time.Now().Add(60 * time.Second); ; {
		var hs struct{ Status map[string]string }
		b.AWS(t, "servicediscovery", "get-instances-health-status", "--service-id", svc.Service.Id).Must(t).JSON(t, &hs)
		if hs.Status[sick] == "UNHEALTHY" && len(hs.Status) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s not UNHEALTHY: %+v", sick, hs)
		}
		time.Sleep(time.Second)
	}
	b.Python(t, fmt.Sprintf(`
import boto3
from botocore.config import Config
sd = boto3.client("servicediscovery", config=Config(inject_host_prefix=False))
healthy = [i["InstanceId"] for i in sd.discover_instances(NamespaceName=%[1]q, ServiceName="web")["Instances"]]
unhealthy = [i["InstanceId"] for i in sd.discover_instances(NamespaceName=%[1]q, ServiceName="web", HealthStatus="UNHEALTHY")["Instances"]]
assert %[2]q not in healthy and len(healthy) == 1, healthy
assert unhealthy == [%[2]q], unhealthy
`, ns, sick)).Must(t)

	var byNS struct{ ServiceArns []string }
	b.AWS(t, "ecs", "list-services-by-namespace", "--namespace", ns).Must(t).JSON(t, &byNS)
	if len(byNS.ServiceArns) != 1 || !strings.HasSuffix(byNS.ServiceArns[0], "/tasks/web") {
		t.Errorf("list-services-by-namespace: %+v", byNS)
	}
	if r := b.AWS(t, "ecs", "list-services-by-namespace", "--namespace", "nope.local"); r.ErrorCode() != "NamespaceNotFoundException" {
		t.Errorf("list-services-by-namespace of no namespace: %d %s", r.ExitCode, r.Stderr)
	}

	// DNS: a task of another family resolves web.<namespace> and reaches
	// a web task over HTTP.
	if body := cmGetFromTask(t, b, img, netCfg, "http://web."+ns+":8080/"); !strings.Contains(body, "hello from web") {
		t.Errorf("GET web.%s: %s", ns, body)
	}

	// Scale to one: one instance left, a RUNNING task's.
	b.AWSv2(t, "ecs", "update-service", "--cluster", "tasks", "--service", "web", "--desired-count", "1").Must(t)
	insts = cmPoll(t, b, svc.Service.Id, 60*time.Second, "1", func(in []cmInstance) bool { return len(in) == 1 })
	if ips := cmTaskIPs(t, b); ips[insts[0].Id] != insts[0].Attributes["AWS_INSTANCE_IPV4"] {
		t.Errorf("after scaling in: instance %+v, tasks %v", insts[0], ips)
	}

	// A manual registration is left alone by ECS.
	b.AWS(t, "servicediscovery", "register-instance", "--service-id", svc.Service.Id, "--instance-id", "manual",
		"--attributes", "AWS_INSTANCE_IPV4=10.9.9.9").Must(t)
	b.AWS(t, "servicediscovery", "update-instance-custom-health-status", "--service-id", svc.Service.Id,
		"--instance-id", "manual", "--status", "UNHEALTHY").Must(t)
	var hs struct{ Status map[string]string }
	b.AWS(t, "servicediscovery", "get-instances-health-status", "--service-id", svc.Service.Id, "--instances", "manual").Must(t).JSON(t, &hs)
	if hs.Status["manual"] != "UNHEALTHY" {
		t.Errorf("health of manual: %+v", hs)
	}

	// Deleting the ECS service deregisters its tasks.
	b.AWS(t, "ecs", "delete-service", "--cluster", "tasks", "--service", "web", "--force").Must(t)
	cmPoll(t, b, svc.Service.Id, 60*time.Second, "only the manual one", func(in []cmInstance) bool {
		return len(in) == 1 && in[0].Id == "manual"
	})
	if r := b.AWS(t, "servicediscovery", "delete-service", "--id", svc.Service.Id); r.ErrorCode() != "ResourceInUse" {
		t.Errorf("delete-service with instances: %d %s", r.ExitCode, r.Stderr)
	}
	b.AWS(t, "servicediscovery", "deregister-instance", "--service-id", svc.Service.Id, "--instance-id", "manual").Must(t)
	b.AWSv2(t, "servicediscovery", "delete-service", "--id", svc.Service.Id).Must(t)
	b.AWS(t, "servicediscovery", "delete-namespace", "--id", nsID).Must(t).JSON(t, &op)
	b.AWS(t, "servicediscovery", "get-operation", "--operation-id", op.OperationId).Must(t).JSON(t, &got)
	if got.Operation.Status != "SUCCESS" || got.Operation.Type != "DELETE_NAMESPACE" {
		t.Errorf("delete-namespace operation: %+v", got)
	}
	var ops struct{ Operations []struct{ Id, Status string } }
	b.AWS(t, "servicediscovery", "list-operations", "--filters", "Name=NAMESPACE_ID,Values="+nsID+",Condition=EQ").Must(t).JSON(t, &ops)
	if len(ops.Operations) != 2 {
		t.Errorf("list-operations of the namespace: %+v", ops)
	}
}

// cmGetFromTask runs a client task (awsvpc, Fargate) and GETs url from
// inside its container until it answers, and returns the body.
func cmGetFromTask(t *testing.T, b *harness.Berth, img, netCfg, url string) string {
	t.Helper()
	tkRegister(t, b.AWS, fmt.Sprintf(`{"family": "cmclient", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
  "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "client", "image": %q, "command": ["sleep", "5m"]}]}`, img))
	client := tkRun(t, b.AWS, "--task-definition", "cmclient", "--launch-type", "FARGATE", "--network-configuration", netCfg)
	defer b.AWS(t, "ecs", "stop-task", "--cluster", "tasks", "--task", client)
	tkWait(t, b.AWS, "tasks-running", client)
	id := strings.TrimSpace(harness.Docker(t, "ps", "-q", "--filter", "label=com.amazonaws.ecs.task-arn="+client,
		"--filter", "label=com.amazonaws.ecs.container-name=client").Must(t).Stdout)
	for i := 0; ; i++ {
		r := harness.Docker(t, "exec", id, "/app", "get", url)
		if r.ExitCode == 0 {
			return r.Stdout
		}
		if i == 20 {
			t.Fatalf("GET %s from a client task: %s", url, r.Stderr)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// Service Connect, as far as Berth takes it: a client alias resolves to
// the service's tasks on the task network when its port is the named
// container port.
func TestServiceDiscoveryServiceConnect(t *testing.T) {
	t.Parallel()
	b, img := tkSetup(t)
	netCfg := "awsvpcConfiguration={subnets=[" + defaultSubnets(t, b)[0] + "]}"
	ns := uniqueName("sc") + ".app"
	var op struct{ OperationId string }
	b.AWSv2(t, "servicediscovery", "create-http-namespace", "--name", ns).Must(t).JSON(t, &op)
	tkRegister(t, b.AWS, fmt.Sprintf(`{"family": "scapi", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
  "cpu": "256", "memory": "512", "containerDefinitions": [{
  "name": "api", "image": %q, "command": ["serve"], "portMappings": [{"name": "http", "containerPort": 8080}],
  "environment": [{"name": "MESSAGE", "value": "hello from api"}]}]}`, img))
	if r := b.AWS(t, "ecs", "create-service", "--cluster", "tasks", "--service-name", "api", "--task-definition", "scapi",
		"--desired-count", "1", "--launch-type", "FARGATE", "--network-configuration", netCfg,
		"--service-connect-configuration", `{"enabled": true, "namespace": "nope.app", "services": [{"portName": "http"}]}`); r.ErrorCode() != "NamespaceNotFoundException" {
		t.Errorf("service connect in a missing namespace: %d %s", r.ExitCode, r.Stderr)
	}
	alias := "api-" + strings.TrimPrefix(ns, "sc-")
	t.Cleanup(func() { b.AWS(t, "ecs", "delete-service", "--cluster", "tasks", "--service", "api", "--force") })
	b.AWS(t, "ecs", "create-service", "--cluster", "tasks", "--service-name", "api", "--task-definition", "scapi",
		"--desired-count", "1", "--launch-type", "FARGATE", "--network-configuration", netCfg,
		"--service-connect-configuration", fmt.Sprintf(`{"enabled": true, "namespace": %q, "services": [
  {"portName": "http", "discoveryName": "api", "clientAliases": [{"port": 8080, "dnsName": %q}, {"port": 80}]}]}`, ns, alias)).Must(t)
	var desc struct {
		Services []struct {
			Deployments []struct {
				ServiceConnectConfiguration struct {
					Enabled   bool
					Namespace string
				}
			}
		}
	}
	b.AWS(t, "ecs", "describe-services", "--cluster", "tasks", "--services", "api").Must(t).JSON(t, &desc)
	if len(desc.Services) != 1 || len(desc.Services[0].Deployments) != 1 || desc.Services[0].Deployments[0].ServiceConnectConfiguration.Namespace != ns {
		t.Errorf("describe-services: %+v", desc)
	}
	var byNS struct{ ServiceArns []string }
	b.AWSv2(t, "ecs", "list-services-by-namespace", "--namespace", ns).Must(t).JSON(t, &byNS)
	if len(byNS.ServiceArns) != 1 || !strings.HasSuffix(byNS.ServiceArns[0], "/tasks/api") {
		t.Errorf("list-services-by-namespace: %+v", byNS)
	}
	var list struct{ TaskArns []string }
	b.AWS(t, "ecs", "list-tasks", "--cluster", "tasks", "--service-name", "api").Must(t).JSON(t, &list)
	for _, a := range list.TaskArns {
		tkCleanup(t, a)
	}
	if body := cmGetFromTask(t, b, img, netCfg, "http://"+alias+":8080/"); !strings.Contains(body, "hello from api") {
		t.Errorf("GET %s: %s", alias, body)
	}
}
