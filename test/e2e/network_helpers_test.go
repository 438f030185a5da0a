package e2e

import (
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// defaultSubnets returns the ids of the default VPC's subnets (one per
// zone, in zone order) of b's account and region: ECS awsvpc
// configurations and load balancers are checked against Berth's EC2, so
// tests name real subnets.
func defaultSubnets(t testing.TB, b *harness.Berth) []string {
	t.Helper()
	var out []string
	b.AWS(t, "ec2", "describe-subnets", "--filters", "Name=default-for-az,Values=true",
		"--query", "sort_by(Subnets, &AvailabilityZone)[].SubnetId").Must(t).JSON(t, &out)
	if len(out) < 2 {
		t.Fatalf("default subnets: %v", out)
	}
	return out
}

// defaultSecurityGroup returns the id of the default VPC's default
// security group.
func defaultSecurityGroup(t testing.TB, b *harness.Berth) string {
	t.Helper()
	var out []string
	b.AWS(t, "ec2", "describe-security-groups", "--group-names", "default",
		"--query", "SecurityGroups[].GroupId").Must(t).JSON(t, &out)
	if len(out) != 1 {
		t.Fatalf("default security group: %v", out)
	}
	return out[0]
}
