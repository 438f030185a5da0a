package e2e

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// iamTerraformConfig is users, keys, groups, an instance profile and a
// managed policy as Terraform declares them; ACTION is what the in-place
// change replaces (a new policy version).
const iamTerraformConfig = `
resource "aws_iam_user" "ci" {
  name = "tf-ci"
  path = "/ci/"
  tags = { Team = "platform" }
}

resource "aws_iam_access_key" "ci" {
  user = aws_iam_user.ci.name
}

resource "aws_iam_user_policy" "ci" {
  name = "push"
  user = aws_iam_user.ci.name
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "ecr:*", Resource = "*" }]
  })
}

resource "aws_iam_group" "devs" {
  name = "tf-devs"
  path = "/teams/"
}

resource "aws_iam_group_membership" "devs" {
  name  = "tf-devs-members"
  group = aws_iam_group.devs.name
  users = [aws_iam_user.ci.name]
}

resource "aws_iam_policy" "pull" {
  name        = "tf-pull"
  description = "pull images"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "ACTION", Resource = "*" }]
  })
  tags = { Use = "pull" }
}

resource "aws_iam_group_policy_attachment" "pull" {
  group      = aws_iam_group.devs.name
  policy_arn = aws_iam_policy.pull.arn
}

resource "aws_iam_role" "node" {
  name = "tf-node"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_instance_profile" "node" {
  name = "tf-node"
  role = aws_iam_role.node.name
  tags = { Kind = "node" }
}

output "key_id" {
  value = aws_iam_access_key.ci.id
}

output "key_secret" {
  value     = aws_iam_access_key.ci.secret
  sensitive = true
}

output "profile_arn" {
  value = aws_iam_instance_profile.node.arn
}
`

// Terraform creates, reads back without drift, changes and destroys IAM
// users, access keys, groups, memberships, instance profiles and managed
// policies; the access key it creates signs requests as the user.
func TestIAMUsersWithTerraform(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithCredentials(iamTestAccount, "tf-admin-secret"))
	tf := startTerraform(t, b, strings.ReplaceAll(iamTerraformConfig, "ACTION", "ecr:BatchGetImage"))
	tf.Apply(t)
	tf.NoDrift(t)
	if arn := tf.Output(t, "profile_arn"); arn != "arn:aws:iam::111111111111:instance-profile/tf-node" {
		t.Errorf("instance profile ARN %q", arn)
	}
	as := b.As(tf.Output(t, "key_id"), tf.Output(t, "key_secret"))
	var who callerIdentity
	as.AWS(t, "sts", "get-caller-identity").Must(t).JSON(t, &who)
	if who.Arn != "arn:aws:iam::111111111111:user/ci/tf-ci" {
		t.Errorf("get-caller-identity with Terraform's key: %+v", who)
	}
	var groups struct{ Groups []struct{ GroupName string } }
	b.AWS(t, "iam", "list-groups-for-user", "--user-name", "tf-ci").Must(t).JSON(t, &groups)
	if len(groups.Groups) != 1 || groups.Groups[0].GroupName != "tf-devs" {
		t.Errorf("list-groups-for-user: %+v", groups)
	}

	// Changing the policy document makes a new default version.
	tf.SetConfig(t, b, strings.ReplaceAll(iamTerraformConfig, "ACTION", "ecr:GetDownloadUrlForLayer"))
	tf.Apply(t)
	tf.NoDrift(t)
	var pol struct {
		Policy struct{ DefaultVersionId string }
	}
	b.AWS(t, "iam", "get-policy", "--policy-arn", "arn:aws:iam::111111111111:policy/tf-pull").Must(t).JSON(t, &pol)
	if pol.Policy.DefaultVersionId != "v2" {
		t.Errorf("default version after the change: %+v", pol)
	}

	tf.Destroy(t)
	assertCode(t, as.AWS(t, "sts", "get-caller-identity"), "InvalidClientTokenId")
	var users struct{ Users []any }
	b.AWS(t, "iam", "list-users").Must(t).JSON(t, &users)
	if len(users.Users) != 0 {
		t.Errorf("users left after destroy: %+v", users)
	}
}
