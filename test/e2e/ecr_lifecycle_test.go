package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/berth-dev/berth/test/harness"
)

// The brief's policy, verbatim.
const keepLastTen = `{"rules":[{"rulePriority":1,"description":"Keep last 10 images","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":10},"action":{"type":"expire"}}]}`

// Push 15 images; the preview says 5 expire; put the policy with the aws
// CLI; the runner deletes exactly those 5 and 10 remain. (The brief names
// the repository "r", which ECR refuses: names have at least 2 characters.)
func TestECRLifecyclePolicyKeepsLastTen(t *testing.T) {
	b := harness.Start(t)
	ctx := context.Background()
	c := ecrClient(b)
	createRepo(t, b, "rr")
	auth := registryAuth(t, b)
	var pushed []string
	for i := 0; i < 15; i++ {
		pushed = append(pushed, pushImage(t, fmt.Sprintf("%s/rr:build-%02d", b.RegistryHost(), i), harness.RandomImage(t, 1, 256), auth))
	}

	if _, err := c.StartLifecyclePolicyPreview(ctx, &ecr.StartLifecyclePolicyPreviewInput{
		RepositoryName: aws.String("rr"), LifecyclePolicyText: aws.String(keepLastTen),
	}); err != nil {
		t.Fatal(err)
	}
	preview, err := ecr.NewLifecyclePolicyPreviewCompleteWaiter(c).WaitForOutput(ctx,
		&ecr.GetLifecyclePolicyPreviewInput{RepositoryName: aws.String("rr")}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if preview.Status != types.LifecyclePolicyPreviewStatusComplete || preview.Summary == nil || aws.ToInt32(preview.Summary.ExpiringImageTotalCount) != 5 {
		t.Fatalf("preview: status %s, summary %+v", preview.Status, preview.Summary)
	}
	expiring := map[string]bool{}
	for _, r := range preview.PreviewResults {
		expiring[aws.ToString(r.ImageDigest)] = true
		if r.Action == nil || r.Action.Type != types.ImageActionTypeExpire || aws.ToInt32(r.AppliedRulePriority) != 1 {
			t.Errorf("preview result %+v", r)
		}
	}
	for _, d := range pushed[:5] {
		if !expiring[d] {
			t.Errorf("preview does not expire %s, one of the 5 oldest", d)
		}
	}

	b.AWS(t, "ecr", "put-lifecycle-policy", "--repository-name", "rr", "--lifecycle-policy-text", keepLastTen).Must(t)

	deadline := time.Now().Add(30 * time.Second)
	var left map[string]bool
	for {
		left = listDigests(t, b, "rr")
		if len(left) <= 10 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(left) != 10 {
		t.Fatalf("%d images left, want 10", len(left))
	}
	for _, d := range pushed {
		if left[d] == expiring[d] {
			t.Errorf("image %s: left %v, previewed to expire %v", d, left[d], expiring[d])
		}
	}
	pol, err := c.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String("rr")})
	if err != nil || aws.ToString(pol.LifecyclePolicyText) != keepLastTen || pol.LastEvaluatedAt == nil {
		t.Errorf("GetLifecyclePolicy: %+v %v", pol, err)
	}
	// The expired images are gone from the registry too.
	ref := fmt.Sprintf("%s/rr@%s", b.RegistryHost(), pushed[0])
	if code, _ := httpStatus(t, "GET", "http://"+b.Addr()+"/v2/rr/manifests/"+pushed[0], "AWS", registryPassword(t, b)); code != 404 {
		t.Errorf("GET %s after expiry: %d, want 404", ref, code)
	}

	// One more push keeps the count at 10: the runner runs after pushes.
	latest := pushImage(t, b.RegistryHost()+"/rr:build-15", harness.RandomImage(t, 1, 256), auth)
	deadline = time.Now().Add(30 * time.Second)
	for {
		left = listDigests(t, b, "rr")
		if (len(left) == 10 && !left[pushed[5]]) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(left) != 10 || !left[latest] || left[pushed[5]] {
		t.Errorf("after one more push: %d images (latest kept %v, oldest gone %v)", len(left), left[latest], !left[pushed[5]])
	}

	_, err = c.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String("rr"),
		LifecyclePolicyText: aws.String(`{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`)})
	wantECRCode(t, "a tagged rule without a prefix list", err, "InvalidParameterException")
	if _, err := c.DeleteLifecyclePolicy(ctx, &ecr.DeleteLifecyclePolicyInput{RepositoryName: aws.String("rr")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String("rr")})
	wantECRCode(t, "GetLifecyclePolicy after delete", err, "LifecyclePolicyNotFoundException")
}

// The interval runner evaluates policies with no push to prompt it:
// lastEvaluatedAt keeps moving, untagged images beyond the count go, and
// the garbage collector then removes their layers.
func TestECRLifecycleRunsOnInterval(t *testing.T) {
	b := harness.Start(t, harness.WithArgs("--lifecycle-interval", "1s"),
		harness.WithEnv("BERTH_GC_INTERVAL=1s", "BERTH_GC_GRACE_PERIOD=1ms"))
	ctx := context.Background()
	c := ecrClient(b)
	createRepo(t, b, "tick")
	auth := registryAuth(t, b)
	// The same tag pushed three times leaves two untagged images.
	var digests []string
	var firstLayer string
	for i := 0; i < 3; i++ {
		img := harness.RandomImage(t, 1, 128)
		if i == 0 {
			layers, _ := img.Layers()
			d, _ := layers[0].Digest()
			firstLayer = d.String()
		}
		digests = append(digests, pushImage(t, b.RegistryHost()+"/tick:latest", img, auth))
	}
	policy := `{"rules":[{"rulePriority":1,"description":"one untagged image is enough","selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`
	if _, err := c.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String("tick"), LifecyclePolicyText: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	evaluated := func(after time.Time) time.Time {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			pol, err := c.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String("tick")})
			if err != nil {
				t.Fatal(err)
			}
			if pol.LastEvaluatedAt != nil && pol.LastEvaluatedAt.After(after) {
				return *pol.LastEvaluatedAt
			}
			if time.Now().After(deadline) {
				t.Fatalf("lastEvaluatedAt did not move past %s within 20s with a 1s lifecycle interval", after)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	first := evaluated(time.Time{})
	evaluated(first)
	left := listDigests(t, b, "tick")
	if len(left) != 2 || left[digests[0]] || !left[digests[1]] || !left[digests[2]] {
		t.Errorf("images left %v; want the newest untagged and the tagged one", left)
	}
	// The expired image's layer is collected (GC every second, no grace).
	pw := registryPassword(t, b)
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, _ := httpStatus(t, "HEAD", b.Endpoint()+"/v2/tick/blobs/"+firstLayer, "AWS", pw)
		if code == 404 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the expired image's layer still answers %d after 20s of 1s garbage collections", code)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
