package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

const ec2TerraformConfig = `
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  endpoints {
    ec2 = "ENDPOINT"
    sts = "ENDPOINT"
  }
}
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
// It needs terraform on PATH and the hashicorp/aws provider, from the
// usual CLI configuration or from a filesystem mirror named by
// TF_PLUGIN_MIRROR; without them the test is skipped.
func TestEC2Terraform(t *testing.T) {
	tf, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform is not installed")
	}
	b := harness.Start(t)
	dir := t.TempDir()
	env := append(os.Environ(), "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
	if mirror := os.Getenv("TF_PLUGIN_MIRROR"); mirror != "" {
		rc := filepath.Join(dir, "terraformrc")
		cfg := "provider_installation {\n  filesystem_mirror {\n    path = \"" + mirror + "\"\n    include = [\"registry.terraform.io/hashicorp/aws\"]\n  }\n}\n"
		if err := os.WriteFile(rc, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		env = append(env, "TF_CLI_CONFIG_FILE="+rc)
	}
	work := filepath.Join(dir, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "main.tf"), []byte(strings.ReplaceAll(ec2TerraformConfig, "ENDPOINT", b.Endpoint())), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		cmd := exec.Command(tf, args...)
		cmd.Dir, cmd.Env = work, env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("init", "-input=false", "-no-color"); err != nil {
		t.Skipf("terraform init failed (no aws provider available?): %v\n%s", err, out)
	}
	if out, err := run("apply", "-auto-approve", "-input=false", "-no-color"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	if out, _ := run("output", "-raw", "subnet_count"); out != "3" {
		t.Errorf("subnets: %q", out)
	}
	if out, _ := run("output", "-raw", "zones"); out != "us-east-1a,us-east-1b,us-east-1c" {
		t.Errorf("zones: %q", out)
	}
	sg, _ := run("output", "-raw", "sg")
	var groups struct{ SecurityGroups []ec2Group }
	b.AWSv2(t, "ec2", "describe-security-groups", "--group-ids", sg).Must(t).JSON(t, &groups)
	if len(groups.SecurityGroups) != 1 || len(groups.SecurityGroups[0].IpPermissions) != 1 || *groups.SecurityGroups[0].IpPermissions[0].FromPort != 80 {
		t.Errorf("the group terraform made: %+v", groups)
	}
	if out, err := run("plan", "-detailed-exitcode", "-input=false", "-no-color"); err != nil {
		t.Errorf("plan after apply shows drift or fails: %v\n%s", err, out)
	}
	if out, err := run("destroy", "-auto-approve", "-input=false", "-no-color"); err != nil {
		t.Fatalf("destroy: %v\n%s", err, out)
	}
	if r := b.AWSv2(t, "ec2", "describe-security-groups", "--group-ids", sg); r.ErrorCode() != "InvalidGroup.NotFound" {
		t.Errorf("after destroy: exit %d %s", r.ExitCode, r.Stderr)
	}
}
