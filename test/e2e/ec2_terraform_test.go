package e2e

import (
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

const ec2TerraformConfig = `
data "aws_vpc" "default" { default = true }
data "aws_subnets" "default" {
  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.default.id]
  }
}
data "aws_availability_zones" "zones" {}
resource "aws_security_group" "web" {
  name   = "tf-web"
  vpc_id = data.aws_vpc.default.id
  ingress {
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
  tags = { Name = "web" }
}
output "subnet_count" { value = length(data.aws_subnets.default.ids) }
output "zones" { value = join(",", data.aws_availability_zones.zones.names) }
output "sg" { value = aws_security_group.web.id }
`

// Terraform's AWS provider finds the default VPC, its subnets and zones,
// creates a security group with rules, sees no drift, and destroys it.
func TestEC2Terraform(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	tf := startTerraform(t, b, ec2TerraformConfig)
	tf.Apply(t)
	if out := tf.Output(t, "subnet_count"); out != "3" {
		t.Errorf("subnets: %q", out)
	}
	if out := tf.Output(t, "zones"); out != "us-east-1a,us-east-1b,us-east-1c" {
		t.Errorf("zones: %q", out)
	}
	sg := tf.Output(t, "sg")
	var groups struct{ SecurityGroups []ec2Group }
	b.AWSv2(t, "ec2", "describe-security-groups", "--group-ids", sg).Must(t).JSON(t, &groups)
	if len(groups.SecurityGroups) != 1 || len(groups.SecurityGroups[0].IpPermissions) != 1 || *groups.SecurityGroups[0].IpPermissions[0].FromPort != 80 {
		t.Errorf("the group terraform made: %+v", groups)
	}
	tf.NoDrift(t)
	tf.Destroy(t)
	if r := b.AWSv2(t, "ec2", "describe-security-groups", "--group-ids", sg); r.ErrorCode() != "InvalidGroup.NotFound" {
		t.Errorf("after destroy: exit %d %s", r.ExitCode, r.Stderr)
	}
}
