package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// terraform drives the terraform CLI with the hashicorp/aws provider
// against one Berth, in a working directory of its own.
type terraform struct {
	bin, dir string
	env      []string
}

// tfProvider is the provider block every Terraform test uses: every
// service Berth serves pointed at it, and account lookup left on, so the
// provider calls sts:GetCallerIdentity as it does against AWS.
const tfProvider = `
provider "aws" {
  region                      = "REGION"
  access_key                  = "ACCESS_KEY"
  secret_key                  = "SECRET_KEY"
  skip_credentials_validation = false
  skip_requesting_account_id  = false
  skip_metadata_api_check     = true
  endpoints {
    ec2            = "ENDPOINT"
    ecr            = "ENDPOINT"
    ecs            = "ENDPOINT"
    eks            = "ENDPOINT"
    elbv2          = "ENDPOINT"
    iam            = "ENDPOINT"
    logs           = "ENDPOINT"
    secretsmanager = "ENDPOINT"
    ssm            = "ENDPOINT"
    sts            = "ENDPOINT"
    codedeploy     = "ENDPOINT"
    cloudwatch     = "ENDPOINT"
  }
}
`

// startTerraform writes config (plus the provider block) into a fresh
// working directory and runs terraform init. It skips the test when
// terraform or the aws provider is not available: the provider comes
// from the usual CLI configuration, from TF_CLI_CONFIG_FILE, or from a
// filesystem mirror named by TF_PLUGIN_MIRROR (.ci/run sets it when the
// machine has one).
func startTerraform(t *testing.T, b *harness.Berth, config string) *terraform {
	t.Helper()
	bin, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform is not installed")
	}
	dir := t.TempDir()
	env := append(os.Environ(), "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1", "TF_INPUT=0")
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
	creds := b.Creds()
	provider := strings.NewReplacer("REGION", b.Region(), "ACCESS_KEY", creds.AccessKeyID,
		"SECRET_KEY", creds.SecretAccessKey, "ENDPOINT", b.Endpoint()).Replace(tfProvider)
	if err := os.WriteFile(filepath.Join(work, "main.tf"), []byte(provider+config), 0o644); err != nil {
		t.Fatal(err)
	}
	tf := &terraform{bin: bin, dir: work, env: env}
	if out, err := tf.run("init", "-input=false", "-no-color"); err != nil {
		t.Skipf("terraform init failed (no aws provider available?): %v\n%s", err, out)
	}
	return tf
}

func (tf *terraform) run(args ...string) (string, error) {
	cmd := exec.Command(tf.bin, args...)
	cmd.Dir, cmd.Env = tf.dir, tf.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Apply runs terraform apply and fails the test on an error.
func (tf *terraform) Apply(t *testing.T, args ...string) {
	t.Helper()
	if out, err := tf.run(append([]string{"apply", "-auto-approve", "-input=false", "-no-color"}, args...)...); err != nil {
		t.Fatalf("terraform apply: %v\n%s", err, out)
	}
}

// NoDrift runs terraform plan and reports an error when it plans any
// change: what the provider reads back must equal what it wrote.
func (tf *terraform) NoDrift(t *testing.T) {
	t.Helper()
	if out, err := tf.run("plan", "-detailed-exitcode", "-input=false", "-no-color"); err != nil {
		t.Errorf("terraform plan after apply shows drift or fails: %v\n%s", err, out)
	}
}

// Output returns one output value, raw.
func (tf *terraform) Output(t *testing.T, name string) string {
	t.Helper()
	out, err := tf.run("output", "-raw", name)
	if err != nil {
		t.Fatalf("terraform output %s: %v\n%s", name, err, out)
	}
	return out
}

// Destroy runs terraform destroy and fails the test on an error.
func (tf *terraform) Destroy(t *testing.T) {
	t.Helper()
	if out, err := tf.run("destroy", "-auto-approve", "-input=false", "-no-color"); err != nil {
		t.Fatalf("terraform destroy: %v\n%s", err, out)
	}
}

// SetConfig replaces the configuration (the provider block is kept), for
// tests that change resources in place.
func (tf *terraform) SetConfig(t *testing.T, b *harness.Berth, config string) {
	t.Helper()
	creds := b.Creds()
	provider := strings.NewReplacer("REGION", b.Region(), "ACCESS_KEY", creds.AccessKeyID,
		"SECRET_KEY", creds.SecretAccessKey, "ENDPOINT", b.Endpoint()).Replace(tfProvider)
	if err := os.WriteFile(filepath.Join(tf.dir, "main.tf"), []byte(provider+config), 0o644); err != nil {
		t.Fatal(err)
	}
}
