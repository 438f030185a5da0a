package e2e

// Subnet and security group ids named to ECS (awsvpc) and ELBv2 are checked
// against Berth's EC2, with the errors AWS gives: the aws CLI v2 and boto3
// against one Berth.

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

func TestNetworkIDsCheckedAgainstEC2(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithEnv("BERTH_AGENT=off"))
	cli := b.AWSv2
	subnets := defaultSubnets(t, b)
	sg := defaultSecurityGroup(t, b)
	wantErr := func(what string, r *harness.Result, code, fragment string) {
		t.Helper()
		if r.ErrorCode() != code || !strings.Contains(r.Stderr, fragment) {
			t.Errorf("%s: %s %s, want %s %q", what, r.ErrorCode(), r.Stderr, code, fragment)
		}
	}

	// ECS: RunTask, CreateService, UpdateService.
	cli(t, "ecs", "create-cluster", "--cluster-name", "net").Must(t)
	cli(t, "ecs", "register-task-definition", "--family", "vpcweb", "--network-mode", "awsvpc",
		"--requires-compatibilities", "FARGATE", "--cpu", "256", "--memory", "512",
		"--container-definitions", `[{"name":"web","image":"nginx"}]`).Must(t)
	run := func(subnet, group string) *harness.Result {
		return cli(t, "ecs", "run-task", "--cluster", "net", "--task-definition", "vpcweb", "--launch-type", "FARGATE",
			"--network-configuration", "awsvpcConfiguration={subnets=["+subnet+"],securityGroups=["+group+"]}")
	}
	wantErr("run-task, unknown subnet", run("subnet-0123456789abcdef0", sg), "InvalidParameterException",
		"Error retrieving subnet information for [subnet-0123456789abcdef0]: The subnet ID 'subnet-0123456789abcdef0' does not exist")
	wantErr("run-task, unknown group", run(subnets[0], "sg-0123456789abcdef0"), "InvalidParameterException",
		"Error retrieving security group information for [sg-0123456789abcdef0]: The security group 'sg-0123456789abcdef0' does not exist")
	wantErr("run-task, malformed subnet", run("my-subnet", sg), "InvalidParameterException", "The subnet ID 'my-subnet' does not exist")
	run(subnets[0], sg).Must(t)
	svc := func(verb string, subnet string) *harness.Result {
		args := []string{"ecs", verb + "-service", "--cluster", "net", "--task-definition", "vpcweb",
			"--network-configuration", "awsvpcConfiguration={subnets=[" + subnet + "]}"}
		if verb == "create" {
			return cli(t, append(args, "--service-name", "web", "--launch-type", "FARGATE", "--desired-count", "0")...)
		}
		return cli(t, append(args, "--service", "web")...)
	}
	wantErr("create-service, unknown subnet", svc("create", "subnet-0123456789abcdef0"), "InvalidParameterException", "does not exist")
	svc("create", subnets[1]).Must(t)
	wantErr("update-service, unknown subnet", svc("update", "subnet-0123456789abcdef0"), "InvalidParameterException", "does not exist")
	svc("update", subnets[2]).Must(t)

	// ELB: CreateLoadBalancer, SetSubnets, SetSecurityGroups.
	var extra struct{ Subnet struct{ SubnetId string } }
	b.AWS(t, "ec2", "create-subnet", "--vpc-id", vpcOf(t, b), "--cidr-block", "172.31.48.0/20",
		"--availability-zone", "us-east-1a").Must(t).JSON(t, &extra)
	lb := func(args ...string) *harness.Result {
		return cli(t, append([]string{"elbv2", "create-load-balancer", "--name", "net"}, args...)...)
	}
	wantErr("one zone", lb("--subnets", subnets[0]), "ValidationError", "At least two subnets in two different Availability Zones must be specified")
	wantErr("unknown subnet", lb("--subnets", subnets[0], "subnet-0123456789abcdef0"), "SubnetNotFound", "subnet-0123456789abcdef0")
	wantErr("same zone", lb("--subnets", subnets[0], extra.Subnet.SubnetId), "InvalidConfigurationRequest",
		"A load balancer cannot be attached to multiple subnets in the same Availability Zone")
	wantErr("unknown group", lb("--subnets", subnets[0], subnets[1], "--security-groups", "sg-0123456789abcdef0"),
		"InvalidSecurityGroup", "sg-0123456789abcdef0")
	var created struct {
		LoadBalancers []struct {
			LoadBalancerArn, VpcId string
			AvailabilityZones      []struct{ ZoneName, SubnetId string }
		}
	}
	lb("--subnets", subnets[2], subnets[0], "--security-groups", sg).Must(t).JSON(t, &created)
	got := created.LoadBalancers[0]
	if got.VpcId != vpcOf(t, b) || len(got.AvailabilityZones) != 2 || got.AvailabilityZones[0].ZoneName != "us-east-1c" ||
		got.AvailabilityZones[0].SubnetId != subnets[2] {
		t.Errorf("create-load-balancer: %+v", got)
	}

	// boto3 sees the same codes on SetSubnets and SetSecurityGroups.
	b.Python(t, `import sys, boto3, botocore
elb = boto3.client("elbv2")
arn, a, extra = sys.argv[1:4]
for call, code in [
    (lambda: elb.set_subnets(LoadBalancerArn=arn, Subnets=[a, "subnet-0123456789abcdef0"]), "SubnetNotFound"),
    (lambda: elb.set_subnets(LoadBalancerArn=arn, Subnets=[a, extra]), "InvalidConfigurationRequest"),
    (lambda: elb.set_security_groups(LoadBalancerArn=arn, SecurityGroups=["sg-0123456789abcdef0"]), "InvalidSecurityGroup"),
]:
    try:
        call()
        raise SystemExit("accepted: expected " + code)
    except botocore.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == code, e.response
zones = elb.set_subnets(LoadBalancerArn=arn, Subnets=[extra, sys.argv[4]])["AvailabilityZones"]
assert [z["ZoneName"] for z in zones] == ["us-east-1a", "us-east-1b"], zones
assert elb.set_security_groups(LoadBalancerArn=arn, SecurityGroups=[])["SecurityGroupIds"] == []
`, got.LoadBalancerArn, subnets[0], extra.Subnet.SubnetId, subnets[1]).Must(t)
}

// vpcOf returns the id of b's default VPC.
func vpcOf(t *testing.T, b *harness.Berth) string {
	t.Helper()
	var out []string
	b.AWS(t, "ec2", "describe-vpcs", "--filters", "Name=is-default,Values=true", "--query", "Vpcs[].VpcId").Must(t).JSON(t, &out)
	if len(out) != 1 {
		t.Fatalf("default VPC: %v", out)
	}
	return out[0]
}
