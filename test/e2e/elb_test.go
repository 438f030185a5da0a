package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbsdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/berth-dev/berth/test/harness"
)

// backend is a real HTTP server a target group sends traffic to: it
// answers its name, echoes X-Forwarded-For, and fails its health check
// (500 on /health) when sick.
type backend struct {
	name string
	srv  *httptest.Server
	sick atomic.Bool
	hits atomic.Int64
}

func newBackend(t *testing.T, name string) *backend {
	t.Helper()
	b := &backend{name: name}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			if b.sick.Load() {
				w.WriteHeader(http.StatusInternalServerError)
			}
			return
		}
		b.hits.Add(1)
		w.Header().Set("X-Backend", name)
		w.Header().Set("X-Seen-Forwarded-For", r.Header.Get("X-Forwarded-For"))
		w.Header().Set("X-Seen-Forwarded-Port", r.Header.Get("X-Forwarded-Port"))
		w.Header().Set("X-Seen-Forwarded-Proto", r.Header.Get("X-Forwarded-Proto"))
		fmt.Fprint(w, name)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) port(t *testing.T) string {
	_, p, err := net.SplitHostPort(b.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// freeListenerPort is a port of 127.0.0.1 nobody listens on now.
func freeListenerPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

var noRedirects = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// get sends one request through a listener.
func lbGet(t *testing.T, port int, path string) (*http.Response, string) {
	t.Helper()
	resp, err := noRedirects.Get("http://127.0.0.1:" + strconv.Itoa(port) + path)
	if err != nil {
		t.Fatalf("GET %s through the listener: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// backendsSeen sends n requests and counts the answers by backend name.
func backendsSeen(t *testing.T, port, n int, path string) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for range n {
		resp, body := lbGet(t, port, path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		seen[body]++
	}
	return seen
}

type targetHealthOut struct {
	TargetHealthDescriptions []struct {
		Target struct {
			Id   string
			Port int
		}
		TargetHealth struct{ State, Reason, Description string }
	}
}

// healthOf is the state and reason of each target, by port.
func healthOf(t *testing.T, b *harness.Berth, tg string) map[string][2]string {
	t.Helper()
	var out targetHealthOut
	b.AWSv2(t, "elbv2", "describe-target-health", "--target-group-arn", tg).Must(t).JSON(t, &out)
	m := map[string][2]string{}
	for _, d := range out.TargetHealthDescriptions {
		m[strconv.Itoa(d.Target.Port)] = [2]string{d.TargetHealth.State, d.TargetHealth.Reason}
	}
	return m
}

// waitHealth polls until the target on port has state, or fails.
func waitHealth(t *testing.T, b *harness.Berth, tg, port, state string) [2]string {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	var last map[string][2]string
	for time.Now().Before(deadline) {
		last = healthOf(t, b, tg)
		if last[port][0] == state {
			return last[port]
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("target on port %s never became %s: %v", port, state, last)
	return [2]string{}
}

func str1(t *testing.T, m map[string]any, path ...string) string {
	t.Helper()
	var v any = m
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i, _ := strconv.Atoi(p)
			if i >= len(x) {
				t.Fatalf("no %v in %v", path, m)
			}
			v = x[i]
		}
	}
	s, ok := v.(string)
	if !ok {
		t.Fatalf("no string at %v in %v", path, m)
	}
	return s
}

// The story of issue 4's load balancing part, with the aws CLI v2: an ALB
// in front of two real servers, one falling sick, a second target group
// behind a path rule, fixed responses, redirects, weights, draining, and
// the listener coming back after a restart.
func TestELBProxyStory(t *testing.T) {
	b := harness.Start(t)
	a, bb, c := newBackend(t, "A"), newBackend(t, "B"), newBackend(t, "C")
	cli := b.AWSv2

	subnets := defaultSubnets(t, b)
	lb := cli(t, "elbv2", "create-load-balancer", "--name", "web", "--subnets", subnets[0], subnets[1],
		"--tags", "Key=team,Value=blue").Must(t).Map(t)
	lbArn := str1(t, lb, "LoadBalancers", "0", "LoadBalancerArn")
	dns := str1(t, lb, "LoadBalancers", "0", "DNSName")
	if !strings.HasPrefix(lbArn, "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/web/") {
		t.Errorf("load balancer ARN %s", lbArn)
	}
	if !strings.HasPrefix(dns, "web-") || !strings.HasSuffix(dns, ".elb.localhost") {
		t.Errorf("DNS name %s", dns)
	}
	if got := cli(t, "elbv2", "create-load-balancer", "--name", "web", "--subnets", subnets[0], subnets[2]).ErrorCode(); got != "DuplicateLoadBalancerName" {
		t.Errorf("second load balancer named web: %q, want DuplicateLoadBalancerName", got)
	}

	tgArgs := []string{"--protocol", "HTTP", "--port", "80", "--vpc-id", "vpc-1", "--target-type", "ip",
		"--health-check-path", "/health", "--health-check-interval-seconds", "5", "--health-check-timeout-seconds", "2",
		"--healthy-threshold-count", "2", "--unhealthy-threshold-count", "2", "--matcher", "HttpCode=200-299"}
	web := str1(t, cli(t, append([]string{"elbv2", "create-target-group", "--name", "web-tg"}, tgArgs...)...).Must(t).Map(t),
		"TargetGroups", "0", "TargetGroupArn")
	api := str1(t, cli(t, append([]string{"elbv2", "create-target-group", "--name", "api-tg"}, tgArgs...)...).Must(t).Map(t),
		"TargetGroups", "0", "TargetGroupArn")
	if !strings.HasPrefix(web, "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web-tg/") {
		t.Errorf("target group ARN %s", web)
	}
	if got := cli(t, "elbv2", "create-target-group", "--name", "bad", "--protocol", "HTTP", "--port", "80", "--vpc-id", "vpc-1",
		"--health-check-interval-seconds", "5", "--health-check-timeout-seconds", "5").ErrorCode(); got != "ValidationError" {
		t.Errorf("timeout not below interval: %q, want ValidationError", got)
	}

	port := freeListenerPort(t)
	listener := str1(t, cli(t, "elbv2", "create-listener", "--load-balancer-arn", lbArn, "--protocol", "HTTP",
		"--port", strconv.Itoa(port), "--default-actions", "Type=forward,TargetGroupArn="+web).Must(t).Map(t),
		"Listeners", "0", "ListenerArn")
	if got := cli(t, "elbv2", "create-listener", "--load-balancer-arn", lbArn, "--protocol", "HTTP",
		"--port", strconv.Itoa(port), "--default-actions", "Type=forward,TargetGroupArn="+api).ErrorCode(); got != "DuplicateListener" {
		t.Errorf("second listener on port %d: %q, want DuplicateListener", port, got)
	}

	// Register two targets: initial first, then healthy, then both answer.
	cli(t, "elbv2", "register-targets", "--target-group-arn", web, "--targets",
		"Id=127.0.0.1,Port="+a.port(t), "Id=127.0.0.1,Port="+bb.port(t)).Must(t)
	if h := healthOf(t, b, web)[a.port(t)]; h[0] != "initial" && h[0] != "healthy" {
		t.Errorf("just registered: %v, want initial", h)
	}
	waitHealth(t, b, web, a.port(t), "healthy")
	waitHealth(t, b, web, bb.port(t), "healthy")
	seen := backendsSeen(t, port, 10, "/")
	if seen["A"] == 0 || seen["B"] == 0 {
		t.Errorf("round robin over two healthy targets: %v", seen)
	}
	// curl resolves the .localhost DNS name to the loopback listener itself.
	if curl, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command(curl, "-sS", "-m", "10", "http://"+dns+":"+strconv.Itoa(port)+"/").CombinedOutput()
		if err != nil || (string(out) != "A" && string(out) != "B") {
			t.Errorf("curl %s: %q %v", dns, out, err)
		}
	}
	resp, _ := lbGet(t, port, "/")
	if resp.Header.Get("X-Seen-Forwarded-For") != "127.0.0.1" || resp.Header.Get("X-Seen-Forwarded-Port") != strconv.Itoa(port) ||
		resp.Header.Get("X-Seen-Forwarded-Proto") != "http" {
		t.Errorf("X-Forwarded headers the target saw: %v", resp.Header)
	}

	// B falls sick: unhealthy with ResponseCodeMismatch, and gets no traffic.
	bb.sick.Store(true)
	if h := waitHealth(t, b, web, bb.port(t), "unhealthy"); h[1] != "Target.ResponseCodeMismatch" {
		t.Errorf("sick target: %v, want Target.ResponseCodeMismatch", h)
	}
	if seen := backendsSeen(t, port, 10, "/"); seen["B"] != 0 || seen["A"] != 10 {
		t.Errorf("traffic with B unhealthy: %v", seen)
	}

	// A path rule sends /api/* to the second target group.
	rule := str1(t, cli(t, "elbv2", "create-rule", "--listener-arn", listener, "--priority", "10",
		"--conditions", "Field=path-pattern,Values=/api/*", "--actions", "Type=forward,TargetGroupArn="+api).Must(t).Map(t),
		"Rules", "0", "RuleArn")
	if got := cli(t, "elbv2", "create-rule", "--listener-arn", listener, "--priority", "10",
		"--conditions", "Field=path-pattern,Values=/other", "--actions", "Type=forward,TargetGroupArn="+api).ErrorCode(); got != "PriorityInUse" {
		t.Errorf("second rule at priority 10: %q, want PriorityInUse", got)
	}
	cli(t, "elbv2", "register-targets", "--target-group-arn", api, "--targets", "Id=127.0.0.1,Port="+c.port(t)).Must(t)
	waitHealth(t, b, api, c.port(t), "healthy")
	if seen := backendsSeen(t, port, 5, "/api/users"); seen["C"] != 5 {
		t.Errorf("/api/users: %v, want C only", seen)
	}
	if seen := backendsSeen(t, port, 3, "/"); seen["A"] != 3 {
		t.Errorf("/ with the rule: %v, want A only", seen)
	}

	// Fixed response and redirect rules.
	cli(t, "elbv2", "create-rule", "--listener-arn", listener, "--priority", "20", "--conditions", "Field=path-pattern,Values=/teapot",
		"--actions", `Type=fixed-response,FixedResponseConfig={StatusCode=418,ContentType=text/plain,MessageBody=short and stout}`).Must(t)
	if resp, body := lbGet(t, port, "/teapot"); resp.StatusCode != 418 || body != "short and stout" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("fixed response: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	cli(t, "elbv2", "create-rule", "--listener-arn", listener, "--priority", "30", "--conditions", "Field=host-header,Values=old.example.com",
		"--actions", `Type=redirect,RedirectConfig={Host=new.example.com,StatusCode=HTTP_301}`).Must(t)
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(port)+"/page?x=1", nil)
	req.Host = "OLD.example.com"
	if resp, err := noRedirects.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if want := "http://new.example.com:" + strconv.Itoa(port) + "/page?x=1"; resp.StatusCode != 301 || resp.Header.Get("Location") != want {
			t.Errorf("redirect: %d %q, want 301 %q", resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	var rules struct {
		Rules []struct {
			Priority  string
			IsDefault bool
		}
	}
	cli(t, "elbv2", "describe-rules", "--listener-arn", listener).Must(t).JSON(t, &rules)
	if len(rules.Rules) != 4 || rules.Rules[0].Priority != "10" || rules.Rules[3].Priority != "default" || !rules.Rules[3].IsDefault {
		t.Errorf("rules: %+v", rules.Rules)
	}

	// Weighted forward: /api/* now splits between both groups.
	cli(t, "elbv2", "modify-rule", "--rule-arn", rule, "--actions",
		`Type=forward,ForwardConfig={TargetGroups=[{TargetGroupArn=`+web+`,Weight=50},{TargetGroupArn=`+api+`,Weight=50}]}`).Must(t)
	if seen := backendsSeen(t, port, 60, "/api/x"); seen["A"] == 0 || seen["C"] == 0 || seen["B"] != 0 {
		t.Errorf("weighted forward 50/50: %v", seen)
	}
	var tgs struct {
		TargetGroups []struct{ LoadBalancerArns []string }
	}
	cli(t, "elbv2", "describe-target-groups", "--target-group-arns", api).Must(t).JSON(t, &tgs)
	if len(tgs.TargetGroups) != 1 || len(tgs.TargetGroups[0].LoadBalancerArns) != 1 || tgs.TargetGroups[0].LoadBalancerArns[0] != lbArn {
		t.Errorf("api-tg load balancers: %+v", tgs)
	}

	// Deregistration: draining for the delay, then gone.
	cli(t, "elbv2", "modify-target-group-attributes", "--target-group-arn", api, "--attributes",
		"Key=deregistration_delay.timeout_seconds,Value=3").Must(t)
	cli(t, "elbv2", "deregister-targets", "--target-group-arn", api, "--targets", "Id=127.0.0.1,Port="+c.port(t)).Must(t)
	if h := healthOf(t, b, api)[c.port(t)]; h != [2]string{"draining", "Target.DeregistrationInProgress"} {
		t.Errorf("deregistered target: %v, want draining", h)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(healthOf(t, b, api)) > 0 && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
	}
	if h := healthOf(t, b, api); len(h) != 0 {
		t.Errorf("after the deregistration delay: %v, want no targets", h)
	}
	var one targetHealthOut
	cli(t, "elbv2", "describe-target-health", "--target-group-arn", api, "--targets", "Id=127.0.0.1,Port="+c.port(t)).Must(t).JSON(t, &one)
	if len(one.TargetHealthDescriptions) != 1 || one.TargetHealthDescriptions[0].TargetHealth.Reason != "Target.NotRegistered" {
		t.Errorf("a target no longer registered: %+v", one)
	}

	// Error codes.
	if got := cli(t, "elbv2", "describe-load-balancers", "--names", "nope").ErrorCode(); got != "LoadBalancerNotFound" {
		t.Errorf("describe missing load balancer: %q", got)
	}
	missingTG := strings.Replace(web, "/web-tg/", "/gone-tg/", 1)
	if got := cli(t, "elbv2", "describe-target-health", "--target-group-arn", missingTG).ErrorCode(); got != "TargetGroupNotFound" {
		t.Errorf("describe health of missing target group: %q", got)
	}
	if got := cli(t, "elbv2", "delete-target-group", "--target-group-arn", web).ErrorCode(); got != "ResourceInUse" {
		t.Errorf("delete a target group in use: %q", got)
	}

	// Tags.
	cli(t, "elbv2", "add-tags", "--resource-arns", lbArn, web, "--tags", "Key=env,Value=test").Must(t)
	cli(t, "elbv2", "remove-tags", "--resource-arns", lbArn, "--tag-keys", "team").Must(t)
	var tags struct {
		TagDescriptions []struct {
			ResourceArn string
			Tags        []struct{ Key, Value string }
		}
	}
	cli(t, "elbv2", "describe-tags", "--resource-arns", lbArn, web).Must(t).JSON(t, &tags)
	if len(tags.TagDescriptions) != 2 || len(tags.TagDescriptions[0].Tags) != 1 || tags.TagDescriptions[0].Tags[0].Key != "env" ||
		len(tags.TagDescriptions[1].Tags) != 1 {
		t.Errorf("tags: %+v", tags)
	}

	// The listener comes back after a crash (kill -9) and restart, with its
	// targets checked again.
	bb.sick.Store(false)
	b.Kill()
	b.Restart()
	waitHealth(t, b, web, a.port(t), "healthy")
	if resp, body := lbGet(t, port, "/teapot"); resp.StatusCode != 418 {
		t.Errorf("after restart: %d %q", resp.StatusCode, body)
	}

	// Deleting the load balancer closes its port.
	cli(t, "elbv2", "delete-load-balancer", "--load-balancer-arn", lbArn).Must(t)
	if _, err := noRedirects.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/"); err == nil {
		t.Errorf("the listener still answers after delete-load-balancer")
	}
	if got := cli(t, "elbv2", "describe-load-balancers", "--load-balancer-arns", lbArn).ErrorCode(); got != "LoadBalancerNotFound" {
		t.Errorf("describe deleted load balancer: %q", got)
	}
}

// boto3 and the aws CLI v1 (botocore's awsQuery client) drive the same
// API: a fixed-response listener, attributes, paging and error codes.
func TestELBBoto3AndCLIv1(t *testing.T) {
	b := harness.Start(t)
	port := freeListenerPort(t)
	r := b.Python(t, `
import sys, boto3, botocore
elb = boto3.client("elbv2")
port = int(sys.argv[1])
lb = elb.create_load_balancer(Name="py-lb", Subnets=sys.argv[2:4], Scheme="internal")["LoadBalancers"][0]
assert lb["DNSName"].startswith("internal-py-lb-"), lb["DNSName"]
assert lb["State"]["Code"] == "active"
l = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port,
    DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503", "ContentType": "application/json", "MessageBody": "{\"down\":true}"}}])["Listeners"][0]
attrs = elb.modify_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"],
    Attributes=[{"Key": "deletion_protection.enabled", "Value": "true"}])["Attributes"]
assert {"Key": "deletion_protection.enabled", "Value": "true"} in attrs
try:
    elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    raise SystemExit("deleted a protected load balancer")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "OperationNotPermitted", e.response
for i in range(3):
    elb.create_target_group(Name="tg-%d" % i, Protocol="HTTP", Port=8080, VpcId="vpc-1", TargetType="instance")
page = elb.describe_target_groups(PageSize=2)
assert len(page["TargetGroups"]) == 2 and "NextMarker" in page, page
rest = elb.describe_target_groups(Marker=page["NextMarker"])
assert len(rest["TargetGroups"]) == 1, rest
tg = page["TargetGroups"][0]
assert tg["HealthCheckPort"] == "traffic-port" and tg["Matcher"]["HttpCode"] == "200" and tg["HealthCheckIntervalSeconds"] == 30
try:
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "10.0.0.1"}])
    raise SystemExit("registered an IP with an instance target group")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "InvalidTarget", e.response
elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "i-0123456789abcdef0"}])
h = elb.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])["TargetHealthDescriptions"]
assert h[0]["TargetHealth"]["State"] == "unused" and h[0]["TargetHealth"]["Reason"] == "Target.NotInUse", h
print(l["ListenerArn"])
`, append([]string{strconv.Itoa(port)}, defaultSubnets(t, b)...)...).Must(t)
	if !strings.Contains(r.Stdout, ":listener/app/py-lb/") {
		t.Errorf("listener ARN: %s", r.Stdout)
	}
	resp, body := lbGet(t, port, "/anything")
	if resp.StatusCode != 503 || body != `{"down":true}` {
		t.Errorf("fixed-response default action: %d %q", resp.StatusCode, body)
	}

	var out struct {
		LoadBalancers []struct{ LoadBalancerName, Scheme string }
	}
	b.AWS(t, "elbv2", "describe-load-balancers", "--names", "py-lb").Must(t).JSON(t, &out)
	if len(out.LoadBalancers) != 1 || out.LoadBalancers[0].Scheme != "internal" {
		t.Errorf("aws v1 describe-load-balancers: %+v", out)
	}
	if got := b.AWS(t, "elbv2", "describe-target-groups", "--names", "missing").ErrorCode(); got != "TargetGroupNotFound" {
		t.Errorf("aws v1 missing target group: %q", got)
	}
	if got := b.AWS(t, "elbv2", "create-load-balancer", "--name=-bad-").ErrorCode(); got != "ValidationError" {
		t.Errorf("aws v1 bad name: %q", got)
	}
}

// aws-sdk-go-v2: a target group with two healthy targets behind a weighted
// default action, and typed errors.
func TestELBGoSDK(t *testing.T) {
	b := harness.Start(t)
	ctx := context.Background()
	c := elbsdk.NewFromConfig(b.SDKConfig(ctx))
	a := newBackend(t, "A")
	lb, err := c.CreateLoadBalancer(ctx, &elbsdk.CreateLoadBalancerInput{Name: aws.String("go-lb"), Subnets: defaultSubnets(t, b)[:2]})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := c.CreateTargetGroup(ctx, &elbsdk.CreateTargetGroupInput{
		Name: aws.String("go-tg"), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: aws.String("vpc-1"),
		TargetType: elbtypes.TargetTypeEnumIp, HealthCheckPath: aws.String("/health"),
		HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2), HealthyThresholdCount: aws.Int32(2),
	})
	if err != nil {
		t.Fatal(err)
	}
	tgArn := tg.TargetGroups[0].TargetGroupArn
	port := freeListenerPort(t)
	_, err = c.CreateListener(ctx, &elbsdk.CreateListenerInput{
		LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(int32(port)),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{
			TargetGroups: []elbtypes.TargetGroupTuple{{TargetGroupArn: tgArn, Weight: aws.Int32(1)}}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	aport, _ := strconv.Atoi(a.port(t))
	if _, err := c.RegisterTargets(ctx, &elbsdk.RegisterTargetsInput{TargetGroupArn: tgArn,
		Targets: []elbtypes.TargetDescription{{Id: aws.String("127.0.0.1"), Port: aws.Int32(int32(aport))}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		h, err := c.DescribeTargetHealth(ctx, &elbsdk.DescribeTargetHealthInput{TargetGroupArn: tgArn})
		if err != nil {
			t.Fatal(err)
		}
		if len(h.TargetHealthDescriptions) == 1 && h.TargetHealthDescriptions[0].TargetHealth.State == elbtypes.TargetHealthStateEnumHealthy {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("target never healthy: %+v", h.TargetHealthDescriptions[0].TargetHealth)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if _, body := lbGet(t, port, "/"); body != "A" {
		t.Errorf("through the listener: %q", body)
	}
	_, err = c.DeleteListener(ctx, &elbsdk.DeleteListenerInput{ListenerArn: aws.String(strings.Replace(
		*lb.LoadBalancers[0].LoadBalancerArn, ":loadbalancer/", ":listener/", 1) + "/0123456789abcdef")})
	var nf *elbtypes.ListenerNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("delete a missing listener: %v, want ListenerNotFoundException", err)
	}
	_, err = c.DescribeTargetGroups(ctx, &elbsdk.DescribeTargetGroupsInput{TargetGroupArns: []string{"not-an-arn"}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationError" {
		t.Errorf("malformed ARN: %v, want ValidationError", err)
	}
}
