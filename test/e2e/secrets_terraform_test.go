package e2e

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// secretsRotationTerraformConfig is a secret with a rotation schedule and a
// resource policy as Terraform declares them. The rotation function is
// only an ARN: Berth records it and never invokes it.
const secretsRotationTerraformConfig = `
data "aws_caller_identity" "me" {}

resource "aws_secretsmanager_secret" "db" {
  name                    = "tf/rotated"
  recovery_window_in_days = 0
}

resource "aws_secretsmanager_secret_version" "db" {
  secret_id     = aws_secretsmanager_secret.db.id
  secret_string = jsonencode({ password = "first" })
}

resource "aws_secretsmanager_secret_rotation" "db" {
  secret_id           = aws_secretsmanager_secret_version.db.secret_id
  rotation_lambda_arn = "arn:aws:lambda:us-east-1:${data.aws_caller_identity.me.account_id}:function:rotator"
  rotate_immediately  = false
  rotation_rules {
    automatically_after_days = 30
  }
}

resource "aws_secretsmanager_secret_policy" "db" {
  secret_arn = aws_secretsmanager_secret.db.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "read"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.me.account_id}:root" }
      Action    = "secretsmanager:GetSecretValue"
      Resource  = "*"
    }]
  })
}
`

// TestSecretsRotationWithTerraform applies aws_secretsmanager_secret_rotation
// and a secret policy with the hashicorp/aws provider, checks that plan
// shows no drift, that DescribeSecret reports the schedule while the value
// stays as written, and that destroy (CancelRotateSecret, then the forced
// delete) succeeds.
func TestSecretsRotationWithTerraform(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	tf := startTerraform(t, b, secretsRotationTerraformConfig)
	tf.Apply(t)
	tf.NoDrift(t)

	var d struct {
		RotationEnabled   bool
		RotationLambdaARN string
		RotationRules     struct{ AutomaticallyAfterDays int }
		NextRotationDate  any
	}
	out := b.AWS(t, "secretsmanager", "describe-secret", "--secret-id", "tf/rotated").Must(t)
	if err := json.Unmarshal([]byte(out.Stdout), &d); err != nil {
		t.Fatalf("describe-secret output: %v\n%s", err, out.Stdout)
	}
	if !d.RotationEnabled || d.RotationRules.AutomaticallyAfterDays != 30 || d.NextRotationDate == nil ||
		!strings.HasPrefix(d.RotationLambdaARN, "arn:aws:lambda:us-east-1:") || !strings.HasSuffix(d.RotationLambdaARN, ":function:rotator") {
		t.Errorf("describe-secret after apply: %+v", d)
	}
	var v struct{ SecretString string }
	val := b.AWS(t, "secretsmanager", "get-secret-value", "--secret-id", "tf/rotated").Must(t)
	if err := json.Unmarshal([]byte(val.Stdout), &v); err != nil || v.SecretString != `{"password":"first"}` {
		t.Errorf("get-secret-value after apply: %q (%v), want the value Terraform wrote", v.SecretString, err)
	}

	tf.Destroy(t)
	if r := b.AWS(t, "secretsmanager", "describe-secret", "--secret-id", "tf/rotated"); r.ExitCode == 0 {
		t.Errorf("describe-secret after destroy succeeded, want ResourceNotFoundException")
	}
}

// ssmTerraformConfig is Parameter Store as Terraform declares it; VALUE is
// what the in-place change replaces.
const ssmTerraformConfig = `
resource "aws_ssm_parameter" "plain" {
  name        = "/tf/app/endpoint"
  type        = "String"
  value       = "VALUE"
  description = "where the app listens"
  tags        = { Team = "core" }
}

resource "aws_ssm_parameter" "list" {
  name  = "/tf/app/zones"
  type  = "StringList"
  value = "a,b,c"
}

resource "aws_ssm_parameter" "secret" {
  name   = "/tf/app/password"
  type   = "SecureString"
  value  = "hunter2"
  tier   = "Advanced"
}
`

// TestParameterStoreWithTerraform applies aws_ssm_parameter of each type
// with the hashicorp/aws provider, checks that plan shows no drift, that
// changing a value makes version 2 in place, and that destroy removes them.
func TestParameterStoreWithTerraform(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	tf := startTerraform(t, b, strings.ReplaceAll(ssmTerraformConfig, "VALUE", "http://one"))
	tf.Apply(t)
	tf.NoDrift(t)

	tf.SetConfig(t, b, strings.ReplaceAll(ssmTerraformConfig, "VALUE", "http://two"))
	tf.Apply(t)
	tf.NoDrift(t)

	var got struct {
		Parameters []struct {
			Name, Type, Value string
			Version           int
		}
		InvalidParameters []string
	}
	b.AWS(t, "ssm", "get-parameters", "--with-decryption", "--names", "/tf/app/endpoint", "/tf/app/zones", "/tf/app/password").Must(t).JSON(t, &got)
	want := map[string]string{"/tf/app/endpoint": "String:http://two:2", "/tf/app/zones": "StringList:a,b,c:1", "/tf/app/password": "SecureString:hunter2:1"}
	if len(got.Parameters) != 3 || len(got.InvalidParameters) != 0 {
		t.Fatalf("get-parameters after apply: %+v", got)
	}
	for _, p := range got.Parameters {
		if w := want[p.Name]; w != p.Type+":"+p.Value+":"+strconv.Itoa(p.Version) {
			t.Errorf("parameter %s: %s:%s:%d, want %s", p.Name, p.Type, p.Value, p.Version, w)
		}
	}

	tf.Destroy(t)
	var after struct{ Parameters []any }
	b.AWS(t, "ssm", "get-parameters", "--names", "/tf/app/endpoint", "/tf/app/zones", "/tf/app/password").Must(t).JSON(t, &after)
	if len(after.Parameters) != 0 {
		t.Errorf("parameters left after destroy: %v", after.Parameters)
	}
}
