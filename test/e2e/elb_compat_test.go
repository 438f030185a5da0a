package e2e

import (
	"strconv"
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// ELBv2 request validation as boto3 meets it, per AWS's API reference: the
// legacy Values member of host-header and path-pattern conditions takes a
// single value (several go in HostHeaderConfig/PathPatternConfig), and a
// redirect's Path is absolute.

const elbCompatScript = `
import sys, json, boto3
from botocore.exceptions import ClientError
elb = boto3.client("elbv2")
ec2 = boto3.client("ec2")
vpc = ec2.describe_subnets(SubnetIds=sys.argv[1:3])["Subnets"][0]["VpcId"]
lb = elb.create_load_balancer(Name="compat", Subnets=sys.argv[1:3], Scheme="internal")["LoadBalancers"][0]["LoadBalancerArn"]
tg = elb.create_target_group(Name="compat", Protocol="HTTP", Port=8080, VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]
act = [{"Type": "forward", "TargetGroupArn": tg}]
listener = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=int(sys.argv[3]), DefaultActions=act)["Listeners"][0]["ListenerArn"]
out = {}
def code(**kw):
    try:
        return elb.create_rule(ListenerArn=listener, Actions=act, **kw)["Rules"][0]
    except ClientError as e:
        return [e.response["Error"]["Code"], e.response["Error"]["Message"]]
out["hosts"] = code(Priority=1, Conditions=[{"Field": "host-header", "Values": ["a.example.com", "b.example.com"]}])
out["paths"] = code(Priority=2, Conditions=[{"Field": "path-pattern", "Values": ["/a", "/b"]}])
ok = code(Priority=3, Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": ["a.example.com", "b.example.com"]}},
                                  {"Field": "path-pattern", "Values": ["/a"]}])
out["config"] = sorted(v for c in ok["Conditions"] for v in (c.get("HostHeaderConfig") or c.get("PathPatternConfig"))["Values"])
rule = ok["RuleArn"]
try:
    elb.modify_rule(RuleArn=rule, Conditions=[{"Field": "path-pattern", "Values": ["/x", "/y"]}])
    out["modify"] = "ok"
except ClientError as e:
    out["modify"] = e.response["Error"]["Code"]
def listener(**kw):
    try:
        return elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=int(sys.argv[4]), **kw)["Listeners"][0]["DefaultActions"][0]["RedirectConfig"]["Path"]
    except ClientError as e:
        return e.response["Error"]["Code"]
out["relative"] = listener(DefaultActions=[{"Type": "redirect", "RedirectConfig": {"Path": "new", "StatusCode": "HTTP_301"}}])
out["absolute"] = listener(DefaultActions=[{"Type": "redirect", "RedirectConfig": {"Path": "/new/#{path}", "StatusCode": "HTTP_301"}}])
print(json.dumps(out))
`

func TestELBCompatRuleConditionsWithBoto3(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	subnets := defaultSubnets(t, b)
	var out struct {
		Hosts, Paths []string
		Config       []string
		Modify       string
		Relative     string
		Absolute     string
	}
	b.Python(t, elbCompatScript, subnets[0], subnets[1], strconv.Itoa(freeListenerPort(t)), strconv.Itoa(freeListenerPort(t))).Must(t).JSON(t, &out)
	if len(out.Hosts) != 2 || out.Hosts[0] != "ValidationError" || out.Hosts[1] != "The 'host-header' field contains too many values; the limit is '1'" {
		t.Errorf("two hosts in Values: %v", out.Hosts)
	}
	if len(out.Paths) != 2 || out.Paths[0] != "ValidationError" || out.Paths[1] != "The 'path-pattern' field contains too many values; the limit is '1'" {
		t.Errorf("two paths in Values: %v", out.Paths)
	}
	if len(out.Config) != 3 || out.Config[0] != "/a" || out.Config[1] != "a.example.com" || out.Config[2] != "b.example.com" {
		t.Errorf("rule with several hosts in HostHeaderConfig: %v", out.Config)
	}
	if out.Modify != "ValidationError" {
		t.Errorf("modify-rule with two paths in Values: %s", out.Modify)
	}
	if out.Relative != "ValidationError" || out.Absolute != "/new/#{path}" {
		t.Errorf("redirect paths: relative %q, absolute %q", out.Relative, out.Absolute)
	}
}
