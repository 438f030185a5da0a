package e2e

import (
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// Every ALB rule condition type routes real requests through the listener
// (rules by priority, conditions ANDed, values ORed), and CreateRule
// refuses what AWS refuses, with AWS's codes.

const elbConditionsValidation = `
import sys, json, boto3
from botocore.exceptions import ClientError
elb = boto3.client("elbv2")
listener = sys.argv[1]
act = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200", "MessageBody": "x"}}]
out = {}
def code(name, prio, conds):
    try:
        elb.create_rule(ListenerArn=listener, Priority=prio, Actions=act, Conditions=conds)
        out[name] = ["ok", ""]
    except ClientError as e:
        out[name] = [e.response["Error"]["Code"], e.response["Error"]["Message"]]
hdr = lambda *v: {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-A", "Values": list(v)}}
code("perCondition", 100, [hdr("a", "b", "c", "d")])
code("perRule", 101, [hdr("a", "b", "c"), hdr("d", "e"), {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["GET"]}}])
code("wildcards", 102, [hdr("a*b*c*"), hdr("d*e*f*")])
code("method", 103, [{"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["get"]}}])
code("cidr", 104, [{"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.*"]}}])
code("twoSource", 105, [{"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8"]}},
                        {"Field": "source-ip", "SourceIpConfig": {"Values": ["::1/128"]}}])
code("regex", 106, [{"Field": "path-pattern", "PathPatternConfig": {"RegexValues": ["(?<=a)b"]}}])
code("field", 107, [{"Field": "cookie", "Values": ["a"]}])
code("twoHeaders", 108, [hdr("a"), hdr("b"), {"Field": "query-string", "QueryStringConfig": {"Values": [{"Value": "x"}]}},
                         {"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "k", "Value": "y"}]}}])
r = elb.describe_rules(ListenerArn=listener)
out["regexStored"] = [c["PathPatternConfig"]["RegexValues"] for rule in r["Rules"] for c in rule["Conditions"]
                      if c.get("Field") == "path-pattern" and c.get("PathPatternConfig", {}).get("RegexValues")]
out["queryStored"] = [c["QueryStringConfig"]["Values"] for rule in r["Rules"] for c in rule["Conditions"] if c.get("Field") == "query-string"][:1]
print(json.dumps(out))
`

func TestELBConditions(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	q := newBackend(t, "Q")
	cli := b.AWS
	subnets := defaultSubnets(t, b)
	lbArn := str1(t, cli(t, "elbv2", "create-load-balancer", "--name", "conds", "--subnets", subnets[0], subnets[1]).Must(t).Map(t),
		"LoadBalancers", "0", "LoadBalancerArn")
	tg := str1(t, cli(t, "elbv2", "create-target-group", "--name", "conds-q", "--protocol", "HTTP", "--port", "80", "--vpc-id", "vpc-1",
		"--target-type", "ip", "--health-check-path", "/health", "--health-check-interval-seconds", "5", "--health-check-timeout-seconds", "2",
		"--healthy-threshold-count", "2").Must(t).Map(t), "TargetGroups", "0", "TargetGroupArn")
	cli(t, "elbv2", "register-targets", "--target-group-arn", tg, "--targets", "Id=127.0.0.1,Port="+q.port(t)).Must(t)
	port := freeListenerPort(t)
	fixed := func(body string) string {
		return `[{"Type":"fixed-response","FixedResponseConfig":{"StatusCode":"200","ContentType":"text/plain","MessageBody":"` + body + `"}}]`
	}
	listener := str1(t, cli(t, "elbv2", "create-listener", "--load-balancer-arn", lbArn, "--protocol", "HTTP",
		"--port", strconv.Itoa(port), "--default-actions", fixed("default")).Must(t).Map(t), "Listeners", "0", "ListenerArn")

	rule := func(prio int, conds, actions string) string {
		t.Helper()
		return str1(t, cli(t, "elbv2", "create-rule", "--listener-arn", listener, "--priority", strconv.Itoa(prio),
			"--conditions", conds, "--actions", actions).Must(t).Map(t), "Rules", "0", "RuleArn")
	}
	rule(1, `[{"Field":"http-header","HttpHeaderConfig":{"HttpHeaderName":"X-Env","Values":["beta*"]}},
		{"Field":"http-request-method","HttpRequestMethodConfig":{"Values":["POST"]}}]`, fixed("header-and-post"))
	rule(2, `[{"Field":"http-header","HttpHeaderConfig":{"HttpHeaderName":"x-env","Values":["beta*","canary-?"]}}]`, fixed("header"))
	rule(3, `[{"Field":"http-request-method","HttpRequestMethodConfig":{"Values":["DELETE","PATCH"]}}]`, fixed("method"))
	rule(4, `[{"Field":"query-string","QueryStringConfig":{"Values":[{"Key":"version","Value":"v2*"}]}}]`,
		`[{"Type":"forward","TargetGroupArn":"`+tg+`"}]`)
	rule(5, `[{"Field":"query-string","QueryStringConfig":{"Values":[{"Value":"blue"}]}}]`, fixed("any-key"))
	otherNet := rule(6, `[{"Field":"source-ip","SourceIpConfig":{"Values":["10.0.0.0/8","2001:db8::/32"]}}]`, fixed("other-net"))
	rule(7, `[{"Field":"source-ip","SourceIpConfig":{"Values":["127.0.0.1/32"]}},{"Field":"path-pattern","Values":["/src"]}]`, fixed("loopback"))
	rule(8, `[{"Field":"path-pattern","PathPatternConfig":{"RegexValues":["^/re/[0-9]+$"]}}]`, fixed("regex"))
	waitHealth(t, b, tg, q.port(t), "healthy")

	send := func(method, path string, hdr map[string]string) string {
		t.Helper()
		req, err := http.NewRequest(method, "http://127.0.0.1:"+strconv.Itoa(port)+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	for _, c := range []struct {
		method, path string
		hdr          map[string]string
		want         string
	}{
		{"GET", "/", nil, "default"},
		{"GET", "/", map[string]string{"X-Env": "BETA-1"}, "header"},
		{"POST", "/", map[string]string{"X-Env": "beta-1"}, "header-and-post"},
		{"GET", "/", map[string]string{"X-Env": "canary-7"}, "header"},
		{"GET", "/", map[string]string{"X-Env": "canary-77"}, "default"},
		{"DELETE", "/", nil, "method"},
		{"delete", "/", nil, "default"},
		{"GET", "/?version=V2.1", nil, "Q"},
		{"GET", "/?a=1&version=v2%2Ebeta", nil, "Q"},
		{"GET", "/?version=v1", nil, "default"},
		{"GET", "/?color=blue", nil, "any-key"},
		{"GET", "/?shade=Blue", nil, "any-key"},
		{"GET", "/src", nil, "loopback"},
		// X-Forwarded-For is not the source address on AWS either.
		{"GET", "/src", map[string]string{"X-Forwarded-For": "10.1.2.3"}, "loopback"},
		{"GET", "/re/42", nil, "regex"},
		{"GET", "/re/4x", nil, "default"},
	} {
		if got := send(c.method, c.path, c.hdr); got != c.want {
			t.Errorf("%s %s %v: %q, want %q", c.method, c.path, c.hdr, got, c.want)
		}
	}
	// curl with a header and a method, as a person would try the rules.
	if out, err := exec.Command("curl", "-sS", "-m", "10", "-X", "PATCH", "http://127.0.0.1:"+strconv.Itoa(port)+"/").CombinedOutput(); err != nil || string(out) != "method" {
		t.Errorf("curl -X PATCH: %q %v", out, err)
	}
	if out, err := exec.Command("curl", "-sS", "-m", "10", "-H", "x-ENV: Beta", "http://127.0.0.1:"+strconv.Itoa(port)+"/").CombinedOutput(); err != nil || string(out) != "header" {
		t.Errorf("curl -H x-ENV: %q %v", out, err)
	}

	// ModifyRule changes what the listener matches: the source-ip rule now
	// takes loopback clients sending X-Debug, before the /src rule.
	cli(t, "elbv2", "modify-rule", "--rule-arn", otherNet, "--conditions",
		`[{"Field":"source-ip","SourceIpConfig":{"Values":["127.0.0.0/8","::1/128"]}},{"Field":"http-header","HttpHeaderConfig":{"HttpHeaderName":"X-Debug","Values":["on"]}}]`).Must(t)
	if got := send("GET", "/src", map[string]string{"X-Debug": "ON"}); got != "other-net" {
		t.Errorf("after modify-rule, loopback with X-Debug: %q, want other-net", got)
	}
	if got := send("GET", "/src", nil); got != "loopback" {
		t.Errorf("after modify-rule, loopback without X-Debug: %q, want loopback", got)
	}
	if got := cli(t, "elbv2", "modify-rule", "--rule-arn", otherNet, "--conditions",
		`[{"Field":"http-request-method","HttpRequestMethodConfig":{"Values":["GET","PUT","POST","PATCH"]}}]`).ErrorCode(); got != "ValidationError" {
		t.Errorf("modify-rule with 4 methods: %q, want ValidationError", got)
	}

	var out struct {
		PerCondition, PerRule, Wildcards, Method, Cidr, TwoSource, Regex, Field, TwoHeaders []string
		RegexStored                                                                         [][]string
		QueryStored                                                                         [][]map[string]string
	}
	b.Python(t, elbConditionsValidation, listener).Must(t).JSON(t, &out)
	for name, got := range map[string][]string{"4 values in a condition": out.PerCondition, "6 values in a rule": out.PerRule,
		"6 wildcards": out.Wildcards, "lower-case method": out.Method, "wildcard CIDR": out.Cidr, "two source-ip": out.TwoSource,
		"lookbehind regex": out.Regex, "unknown field": out.Field} {
		if len(got) != 2 || got[0] != "ValidationError" {
			t.Errorf("%s: %v, want ValidationError", name, got)
		}
	}
	if len(out.PerRule) == 2 && !strings.Contains(out.PerRule[1], "'5' condition values") {
		t.Errorf("6 values in a rule: %v", out.PerRule)
	}
	if len(out.TwoHeaders) != 2 || out.TwoHeaders[0] != "ok" {
		t.Errorf("two http-header and two query-string conditions: %v, want ok", out.TwoHeaders)
	}
	if len(out.RegexStored) != 1 || len(out.RegexStored[0]) != 1 || out.RegexStored[0][0] != "^/re/[0-9]+$" {
		t.Errorf("stored regex values: %v", out.RegexStored)
	}
	if len(out.QueryStored) != 1 || len(out.QueryStored[0]) != 1 || out.QueryStored[0][0]["Key"] != "version" {
		t.Errorf("stored query-string pairs: %v", out.QueryStored)
	}
}
