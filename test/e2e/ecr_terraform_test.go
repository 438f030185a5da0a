package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

// ecrTerraformConfig is a registry as Terraform declares it. MUTABILITY,
// TEAM, KEEP and IMAGE_DATA are what the in-place change replaces.
const ecrTerraformConfig = `
data "aws_caller_identity" "me" {}
data "aws_region" "here" {}

resource "aws_ecr_repository" "app" {
  name                 = "tf/app"
  image_tag_mutability = "MUTABILITY"
  force_delete         = true
  image_scanning_configuration {
    scan_on_push = true
  }
  encryption_configuration {
    encryption_type = "AES256"
  }
  tags = { Team = "TEAM", Env = "test" }
}

resource "aws_ecr_lifecycle_policy" "app" {
  repository = aws_ecr_repository.app.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "keep the last KEEP"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = KEEP
      }
      action = { type = "expire" }
    }]
  })
}

resource "aws_ecr_repository_policy" "app" {
  repository = aws_ecr_repository.app.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "pull"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.me.account_id}:root" }
      Action    = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    }]
  })
}

resource "aws_ecr_registry_policy" "reg" {
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "replicate"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.me.account_id}:root" }
      Action    = ["ecr:ReplicateImage"]
      Resource  = "arn:aws:ecr:${data.aws_region.here.name}:${data.aws_caller_identity.me.account_id}:repository/*"
    }]
  })
}

resource "aws_ecr_replication_configuration" "reg" {
  replication_configuration {
    rule {
      destination {
        region      = "us-west-2"
        registry_id = data.aws_caller_identity.me.account_id
      }
      repository_filter {
        filter      = "tf/"
        filter_type = "PREFIX_MATCH"
      }
    }
  }
}

resource "aws_ecr_pull_through_cache_rule" "quay" {
  ecr_repository_prefix = "tf-quay"
  upstream_registry_url = "quay.io"
}

resource "aws_ecr_repository_creation_template" "tpl" {
  prefix               = "tf-quay"
  description          = "repositories the quay cache creates"
  applied_for          = ["PULL_THROUGH_CACHE"]
  image_tag_mutability = "MUTABLE"
  encryption_configuration {
    encryption_type = "AES256"
  }
  resource_tags = { Origin = "quay" }
}

resource "aws_ecr_registry_scanning_configuration" "reg" {
  scan_type = "BASIC"
  rule {
    scan_frequency = "SCAN_ON_PUSH"
    repository_filter {
      filter      = "tf/*"
      filter_type = "WILDCARD"
    }
  }
}

data "aws_ecr_authorization_token" "token" {}

data "aws_ecr_repository" "app" {
  name = aws_ecr_repository.app.name
}

data "aws_ecr_repositories" "all" {
  depends_on = [aws_ecr_repository.app]
}

IMAGE_DATA

output "repository_url" { value = aws_ecr_repository.app.repository_url }
output "data_repository_arn" { value = data.aws_ecr_repository.app.arn }
output "data_mutability" { value = data.aws_ecr_repository.app.image_tag_mutability }
output "all_repositories" { value = join(",", data.aws_ecr_repositories.all.names) }
output "token_user" { value = data.aws_ecr_authorization_token.token.user_name }
output "proxy_endpoint" { value = data.aws_ecr_authorization_token.token.proxy_endpoint }
`

const ecrTerraformImageData = `
data "aws_ecr_image" "v1" {
  repository_name = aws_ecr_repository.app.name
  image_tag       = "v1"
}
output "image_digest" { value = data.aws_ecr_image.v1.image_digest }
output "image_tags" { value = join(",", data.aws_ecr_image.v1.image_tags) }
`

func ecrTerraform(mutability, team, keep, imageData string) string {
	return strings.NewReplacer("MUTABILITY", mutability, "TEAM", team, "KEEP", keep, "IMAGE_DATA", imageData).Replace(ecrTerraformConfig)
}

// Terraform's AWS provider manages a whole registry on Berth: a repository
// with its lifecycle and repository policies, the registry policy,
// replication to another region, a pull-through cache rule with its
// creation template and the scanning configuration; reads it back
// without drift, changes it in place, and destroys it.
func TestECRTerraform(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	tf := startTerraform(t, b, ecrTerraform("MUTABLE", "platform", "10", ""))
	tf.Apply(t)

	url := tf.Output(t, "repository_url")
	if want := b.RegistryHost() + "/tf/app"; url != want {
		t.Errorf("repository_url %q, want %q", url, want)
	}
	if out := tf.Output(t, "token_user"); out != "AWS" {
		t.Errorf("authorization token user %q", out)
	}
	if out := tf.Output(t, "all_repositories"); !strings.Contains(out, "tf/app") {
		t.Errorf("aws_ecr_repositories names %q", out)
	}
	if out := tf.Output(t, "data_mutability"); out != "MUTABLE" {
		t.Errorf("data aws_ecr_repository mutability %q", out)
	}

	// Berth holds what Terraform declared.
	var repos struct {
		Repositories []struct {
			RepositoryArn              string
			ImageTagMutability         string
			ImageScanningConfiguration struct{ ScanOnPush bool }
			EncryptionConfiguration    struct{ EncryptionType string }
		}
	}
	b.AWS(t, "ecr", "describe-repositories", "--repository-names", "tf/app").Must(t).JSON(t, &repos)
	if len(repos.Repositories) != 1 || repos.Repositories[0].ImageTagMutability != "MUTABLE" ||
		!repos.Repositories[0].ImageScanningConfiguration.ScanOnPush || repos.Repositories[0].EncryptionConfiguration.EncryptionType != "AES256" {
		t.Fatalf("the repository terraform made: %+v", repos)
	}
	arn := repos.Repositories[0].RepositoryArn
	if out := tf.Output(t, "data_repository_arn"); out != arn {
		t.Errorf("data aws_ecr_repository arn %q, want %q", out, arn)
	}
	wantTags := func(want map[string]string) {
		t.Helper()
		var tags struct{ Tags []struct{ Key, Value string } }
		b.AWS(t, "ecr", "list-tags-for-resource", "--resource-arn", arn).Must(t).JSON(t, &tags)
		got := map[string]string{}
		for _, tg := range tags.Tags {
			got[tg.Key] = tg.Value
		}
		if len(got) != len(want) {
			t.Errorf("tags %v, want %v", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("tags %v, want %v", got, want)
			}
		}
	}
	wantTags(map[string]string{"Team": "platform", "Env": "test"})
	wantLifecycle := func(keep float64) {
		t.Helper()
		var lp struct{ LifecyclePolicyText string }
		b.AWS(t, "ecr", "get-lifecycle-policy", "--repository-name", "tf/app").Must(t).JSON(t, &lp)
		var doc struct {
			Rules []struct{ Selection struct{ CountNumber float64 } }
		}
		if err := json.Unmarshal([]byte(lp.LifecyclePolicyText), &doc); err != nil || len(doc.Rules) != 1 || doc.Rules[0].Selection.CountNumber != keep {
			t.Errorf("lifecycle policy %q (%v), want countNumber %v", lp.LifecyclePolicyText, err, keep)
		}
	}
	wantLifecycle(10)
	if r := b.AWS(t, "ecr", "get-repository-policy", "--repository-name", "tf/app").Must(t); !strings.Contains(r.Stdout, "ecr:BatchGetImage") {
		t.Errorf("repository policy: %s", r.Stdout)
	}
	if r := b.AWS(t, "ecr", "get-registry-policy").Must(t); !strings.Contains(r.Stdout, "ecr:ReplicateImage") {
		t.Errorf("registry policy: %s", r.Stdout)
	}
	if r := b.AWS(t, "ecr", "describe-registry").Must(t); !strings.Contains(r.Stdout, "us-west-2") || !strings.Contains(r.Stdout, "tf/") {
		t.Errorf("replication configuration: %s", r.Stdout)
	}
	// A rule created without an upstream prefix reports none (echoing the
	// implied ROOT made Terraform plan a replacement).
	if r := b.AWS(t, "ecr", "describe-pull-through-cache-rules", "--ecr-repository-prefixes", "tf-quay").Must(t); !strings.Contains(r.Stdout, "quay.io") ||
		strings.Contains(r.Stdout, "upstreamRepositoryPrefix") {
		t.Errorf("pull-through cache rule: %s", r.Stdout)
	}
	if r := b.AWS(t, "ecr", "describe-repository-creation-templates", "--prefixes", "tf-quay").Must(t); !strings.Contains(r.Stdout, "PULL_THROUGH_CACHE") || !strings.Contains(r.Stdout, "Origin") {
		t.Errorf("repository creation template: %s", r.Stdout)
	}
	if r := b.AWS(t, "ecr", "get-registry-scanning-configuration").Must(t); !strings.Contains(r.Stdout, "tf/*") || !strings.Contains(r.Stdout, "SCAN_ON_PUSH") {
		t.Errorf("registry scanning configuration: %s", r.Stdout)
	}
	tf.NoDrift(t)

	// An image pushed to the repository is replicated to us-west-2 and
	// found by the aws_ecr_image data source; the repository changes in
	// place.
	digest := pushImage(t, url+":v1", harness.TestImage(t, "ecr-app"), registryAuth(t, b))
	west := b.InRegion("us-west-2")
	deadline := time.Now().Add(time.Minute)
	for {
		r := west.AWS(t, "ecr", "describe-images", "--repository-name", "tf/app", "--image-ids", "imageTag=v1")
		if r.ExitCode == 0 && strings.Contains(r.Stdout, digest) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the image was not replicated to us-west-2: %s %s", r.Stdout, r.Stderr)
		}
		time.Sleep(time.Second)
	}
	tf.SetConfig(t, b, ecrTerraform("IMMUTABLE", "registry", "5", ecrTerraformImageData))
	tf.Apply(t)
	if out := tf.Output(t, "image_digest"); out != digest {
		t.Errorf("data aws_ecr_image digest %q, want %q", out, digest)
	}
	if out := tf.Output(t, "image_tags"); out != "v1" {
		t.Errorf("data aws_ecr_image tags %q", out)
	}
	b.AWS(t, "ecr", "describe-repositories", "--repository-names", "tf/app").Must(t).JSON(t, &repos)
	if len(repos.Repositories) != 1 || repos.Repositories[0].ImageTagMutability != "IMMUTABLE" || repos.Repositories[0].RepositoryArn != arn {
		t.Errorf("the repository after the change: %+v", repos)
	}
	wantTags(map[string]string{"Team": "registry", "Env": "test"})
	wantLifecycle(5)
	tf.NoDrift(t)

	// force_delete lets destroy remove the repository with its image.
	tf.Destroy(t)
	checks := []struct {
		args []string
		code string
	}{
		{[]string{"describe-repositories", "--repository-names", "tf/app"}, "RepositoryNotFoundException"},
		{[]string{"get-registry-policy"}, "RegistryPolicyNotFoundException"},
		{[]string{"describe-pull-through-cache-rules", "--ecr-repository-prefixes", "tf-quay"}, "PullThroughCacheRuleNotFoundException"},
	}
	for _, c := range checks {
		if r := b.AWS(t, append([]string{"ecr"}, c.args...)...); r.ErrorCode() != c.code {
			t.Errorf("after destroy, %v: exit %d %s %s, want %s", c.args, r.ExitCode, r.Stdout, r.Stderr, c.code)
		}
	}
	if r := b.AWS(t, "ecr", "describe-repository-creation-templates", "--prefixes", "tf-quay").Must(t); strings.Contains(r.Stdout, "PULL_THROUGH_CACHE") {
		t.Errorf("repository creation template after destroy: %s", r.Stdout)
	}
	if r := b.AWS(t, "ecr", "describe-registry").Must(t); strings.Contains(r.Stdout, "us-west-2") {
		t.Errorf("replication configuration after destroy: %s", r.Stdout)
	}
	if r := b.AWS(t, "ecr", "get-registry-scanning-configuration").Must(t); strings.Contains(r.Stdout, "tf/*") {
		t.Errorf("registry scanning configuration after destroy: %s", r.Stdout)
	}
}
