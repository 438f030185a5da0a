package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/berth-dev/berth/test/harness"
)

type cliRepository struct {
	RepositoryArn                      string
	RegistryId                         string
	RepositoryName                     string
	RepositoryUri                      string
	CreatedAt                          any
	ImageTagMutability                 string
	ImageTagMutabilityExclusionFilters []struct{ FilterType, Filter string }
	ImageScanningConfiguration         struct{ ScanOnPush bool }
	EncryptionConfiguration            struct{ EncryptionType string }
}

// The story of a repository through both aws CLIs: create it, see it,
// get the errors AWS gives for a duplicate, a missing one and a bad name,
// delete it.
func TestECRRepositoriesWithAWSCLI(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	clis := []struct {
		name string
		run  func(*harness.Berth, testing.TB, ...string) *harness.Result
	}{
		{"v1", (*harness.Berth).AWS},
		{"v2", (*harness.Berth).AWSv2},
	}
	for _, cli := range clis {
		t.Run(cli.name, func(t *testing.T) {
			t.Parallel()
			aws := func(args ...string) *harness.Result { return cli.run(b, t, args...) }
			repo := "team-" + cli.name + "/app"

			var created struct{ Repository cliRepository }
			aws("ecr", "create-repository", "--repository-name", repo,
				"--image-tag-mutability", "IMMUTABLE",
				"--image-scanning-configuration", "scanOnPush=true",
				"--tags", "Key=team,Value=platform").Must(t).JSON(t, &created)
			r := created.Repository
			wantARN := "arn:aws:ecr:us-east-1:000000000000:repository/" + repo
			if r.RepositoryArn != wantARN || r.RegistryId != "000000000000" || r.RepositoryName != repo ||
				r.RepositoryUri != b.RegistryHost()+"/"+repo || r.CreatedAt == nil {
				t.Errorf("create-repository returned %+v", r)
			}
			if r.ImageTagMutability != "IMMUTABLE" || !r.ImageScanningConfiguration.ScanOnPush || r.EncryptionConfiguration.EncryptionType != "AES256" {
				t.Errorf("settings not returned as given: %+v", r)
			}

			var described struct{ Repositories []cliRepository }
			aws("ecr", "describe-repositories", "--repository-names", repo).Must(t).JSON(t, &described)
			if len(described.Repositories) != 1 || described.Repositories[0].RepositoryArn != wantARN ||
				described.Repositories[0].ImageTagMutability != "IMMUTABLE" {
				t.Errorf("describe-repositories: %+v", described)
			}

			var tags struct{ Tags []struct{ Key, Value string } }
			aws("ecr", "list-tags-for-resource", "--resource-arn", wantARN).Must(t).JSON(t, &tags)
			if len(tags.Tags) != 1 || tags.Tags[0].Key != "team" || tags.Tags[0].Value != "platform" {
				t.Errorf("list-tags-for-resource: %+v", tags)
			}

			// Images: pushed by a registry client, then retagged and described
			// with the CLI, as ECR's "retag an image" recipe does.
			dgst := pushImage(t, r.RepositoryUri+":v1", harness.RandomImage(t, 1, 512), registryAuth(t, b))
			var got struct {
				Images []struct {
					ImageManifest, ImageManifestMediaType string
					ImageId                               struct{ ImageDigest, ImageTag string }
				}
			}
			aws("ecr", "batch-get-image", "--repository-name", repo, "--image-ids", "imageTag=v1").Must(t).JSON(t, &got)
			if len(got.Images) != 1 || got.Images[0].ImageId.ImageDigest != dgst {
				t.Fatalf("batch-get-image: %+v", got)
			}
			var put struct {
				Image struct {
					ImageId struct{ ImageDigest, ImageTag string }
				}
			}
			aws("ecr", "put-image", "--repository-name", repo, "--image-tag", "v2",
				"--image-manifest", got.Images[0].ImageManifest,
				"--image-manifest-media-type", got.Images[0].ImageManifestMediaType).Must(t).JSON(t, &put)
			if put.Image.ImageId.ImageDigest != dgst || put.Image.ImageId.ImageTag != "v2" {
				t.Errorf("put-image: %+v", put)
			}
			// The repository is immutable: v1 cannot move to other content.
			assertCode(t, aws("ecr", "put-image", "--repository-name", repo, "--image-tag", "v1",
				"--image-manifest", strings.Replace(got.Images[0].ImageManifest, "schemaVersion\":2", "schemaVersion\": 2", 1)),
				"ImageTagAlreadyExistsException")
			var images struct {
				ImageDetails []struct {
					ImageDigest      string
					ImageTags        []string
					ImageSizeInBytes int64
					ImagePushedAt    any
				}
			}
			aws("ecr", "describe-images", "--repository-name", repo).Must(t).JSON(t, &images)
			if len(images.ImageDetails) != 1 || images.ImageDetails[0].ImageDigest != dgst ||
				strings.Join(images.ImageDetails[0].ImageTags, ",") != "v1,v2" || images.ImageDetails[0].ImageSizeInBytes <= 0 {
				t.Errorf("describe-images: %+v", images)
			}
			assertCode(t, aws("ecr", "describe-images", "--repository-name", repo, "--image-ids", "imageTag=nope"), "ImageNotFoundException")
			assertCode(t, aws("ecr", "delete-repository", "--repository-name", repo), "RepositoryNotEmptyException")

			assertCode(t, aws("ecr", "create-repository", "--repository-name", repo), "RepositoryAlreadyExistsException")
			r2 := aws("ecr", "describe-repositories", "--repository-names", "no-such-repo")
			assertCode(t, r2, "RepositoryNotFoundException")
			if !strings.Contains(r2.Stderr, "The repository with name 'no-such-repo' does not exist in the registry with id '000000000000'") {
				t.Errorf("RepositoryNotFoundException message: %s", r2.Stderr)
			}
			assertCode(t, aws("ecr", "create-repository", "--repository-name", "Bad_Name!"), "InvalidParameterException")
			assertCode(t, aws("ecr", "delete-repository", "--repository-name", "no-such-repo"), "RepositoryNotFoundException")

			var deleted struct{ Repository cliRepository }
			aws("ecr", "delete-repository", "--repository-name", repo, "--force").Must(t).JSON(t, &deleted)
			if deleted.Repository.RepositoryArn != wantARN {
				t.Errorf("delete-repository returned %+v", deleted.Repository)
			}
			assertCode(t, aws("ecr", "describe-repositories", "--repository-names", repo), "RepositoryNotFoundException")
		})
	}
}

// DescribeRepositories pages with nextToken/maxResults; the SDK paginator
// sees every repository exactly once.
func TestECRDescribeRepositoriesPagination(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	ctx := context.Background()
	c := ecrClient(b)
	want := map[string]bool{}
	for i := 0; i < 7; i++ {
		n := fmt.Sprintf("page/repo-%02d", i)
		createRepo(t, b, n)
		want[n] = true
	}
	got := map[string]int{}
	pages := 0
	p := ecr.NewDescribeRepositoriesPaginator(c, &ecr.DescribeRepositoriesInput{MaxResults: aws.Int32(3)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page.Repositories) > 3 {
			t.Errorf("page of %d repositories, maxResults 3", len(page.Repositories))
		}
		for _, r := range page.Repositories {
			got[aws.ToString(r.RepositoryName)]++
		}
	}
	if pages != 3 || len(got) != len(want) {
		t.Errorf("%d pages, repositories %v; want 3 pages of %v", pages, got, want)
	}
	for n, k := range got {
		if k != 1 || !want[n] {
			t.Errorf("repository %s seen %d times", n, k)
		}
	}
	_, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{NextToken: aws.String("garbage")})
	wantECRCode(t, "DescribeRepositories with a bad nextToken", err, "InvalidParameterException")
}

// Accounts (12-digit access keys) and regions are separate registries.
func TestECRAccountAndRegionIsolation(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	ctx := context.Background()
	a := b.As("111111111111", "x")
	other := b.As("222222222222", "x")
	west := a.InRegion("eu-west-1")

	createRepo(t, a, "shared-name")
	uri := createRepo(t, other, "shared-name")
	if uri != b.RegistryHost()+"/shared-name" {
		t.Errorf("repositoryUri %q", uri)
	}
	createRepo(t, a, "only-a")

	for _, tc := range []struct {
		view *harness.Berth
		want []string
	}{{a, []string{"only-a", "shared-name"}}, {other, []string{"shared-name"}}, {west, nil}} {
		out, err := ecrClient(tc.view).DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range out.Repositories {
			names = append(names, aws.ToString(r.RepositoryName))
			acct := tc.view.Creds().AccessKeyID
			if aws.ToString(r.RegistryId) != acct ||
				aws.ToString(r.RepositoryArn) != "arn:aws:ecr:"+tc.view.Region()+":"+acct+":repository/"+aws.ToString(r.RepositoryName) {
				t.Errorf("%s/%s sees %s %s", acct, tc.view.Region(), aws.ToString(r.RegistryId), aws.ToString(r.RepositoryArn))
			}
		}
		if strings.Join(names, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s in %s sees %v, want %v", tc.view.Creds().AccessKeyID, tc.view.Region(), names, tc.want)
		}
	}
	_, err := ecrClient(other).DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("only-a")})
	wantECRCode(t, "account B deleting account A's repository", err, "RepositoryNotFoundException")
	_, err = ecrClient(other).DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RegistryId: aws.String("111111111111")})
	wantECRCode(t, "account B naming account A's registryId", err, "AccessDeniedException")

	// A token of account A opens A's repositories only.
	img := harness.RandomImage(t, 1, 512)
	pushImage(t, b.RegistryHost()+"/only-a:v1", img, registryAuth(t, a))
	code, _ := httpStatus(t, "GET", b.Endpoint()+"/v2/only-a/manifests/v1", "AWS", registryPassword(t, other))
	if code != 404 {
		t.Errorf("account B's token reading account A's image: HTTP %d, want 404", code)
	}
}

// Repository settings: tag mutability with exclusion filters, scanning
// configuration, policies, tags and account settings, stored and returned.
func TestECRRepositorySettings(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	ctx := context.Background()
	c := ecrClient(b)
	createRepo(t, b, "settings")
	arn := "arn:aws:ecr:us-east-1:000000000000:repository/settings"

	mut, err := c.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{
		RepositoryName:     aws.String("settings"),
		ImageTagMutability: types.ImageTagMutabilityImmutableWithExclusion,
		ImageTagMutabilityExclusionFilters: []types.ImageTagMutabilityExclusionFilter{
			{FilterType: types.ImageTagMutabilityExclusionFilterTypeWildcard, Filter: aws.String("latest")},
			{FilterType: types.ImageTagMutabilityExclusionFilterTypeWildcard, Filter: aws.String("dev-*")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if mut.ImageTagMutability != types.ImageTagMutabilityImmutableWithExclusion || len(mut.ImageTagMutabilityExclusionFilters) != 2 {
		t.Errorf("PutImageTagMutability returned %+v", mut)
	}
	_, err = c.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{
		RepositoryName: aws.String("settings"), ImageTagMutability: types.ImageTagMutabilityImmutableWithExclusion,
	})
	wantECRCode(t, "IMMUTABLE_WITH_EXCLUSION without filters", err, "InvalidParameterException")

	if _, err := c.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{
		RepositoryName:             aws.String("settings"),
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true},
	}); err != nil {
		t.Fatal(err)
	}
	d, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"settings"}})
	if err != nil {
		t.Fatal(err)
	}
	r := d.Repositories[0]
	if r.ImageTagMutability != types.ImageTagMutabilityImmutableWithExclusion || len(r.ImageTagMutabilityExclusionFilters) != 2 ||
		r.ImageScanningConfiguration == nil || !r.ImageScanningConfiguration.ScanOnPush {
		t.Errorf("DescribeRepositories after updates: %+v", r)
	}

	// Repository policy.
	_, err = c.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String("settings")})
	wantECRCode(t, "GetRepositoryPolicy before any", err, "RepositoryPolicyNotFoundException")
	_, err = c.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: aws.String("settings"), PolicyText: aws.String(`{"not":"a policy"}`)})
	wantECRCode(t, "SetRepositoryPolicy with a non-policy", err, "InvalidParameterException")
	policy := `{"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}`
	if _, err := c.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: aws.String("settings"), PolicyText: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	gp, err := c.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String("settings")})
	if err != nil || !sameJSON(aws.ToString(gp.PolicyText), policy) {
		t.Errorf("GetRepositoryPolicy: %v %v", gp, err)
	}
	if _, err := c.DeleteRepositoryPolicy(ctx, &ecr.DeleteRepositoryPolicyInput{RepositoryName: aws.String("settings")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteRepositoryPolicy(ctx, &ecr.DeleteRepositoryPolicyInput{RepositoryName: aws.String("settings")})
	wantECRCode(t, "DeleteRepositoryPolicy twice", err, "RepositoryPolicyNotFoundException")

	// Registry policy.
	_, err = c.GetRegistryPolicy(ctx, &ecr.GetRegistryPolicyInput{})
	wantECRCode(t, "GetRegistryPolicy before any", err, "RegistryPolicyNotFoundException")
	regPolicy := `{"Version":"2012-10-17","Statement":[{"Sid":"repl","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":["ecr:CreateRepository","ecr:ReplicateImage"],"Resource":"arn:aws:ecr:us-east-1:000000000000:repository/*"}]}`
	if _, err := c.PutRegistryPolicy(ctx, &ecr.PutRegistryPolicyInput{PolicyText: aws.String(regPolicy)}); err != nil {
		t.Fatal(err)
	}
	grp, err := c.GetRegistryPolicy(ctx, &ecr.GetRegistryPolicyInput{})
	if err != nil || !sameJSON(aws.ToString(grp.PolicyText), regPolicy) || aws.ToString(grp.RegistryId) != "000000000000" {
		t.Errorf("GetRegistryPolicy: %+v %v", grp, err)
	}
	if _, err := c.DeleteRegistryPolicy(ctx, &ecr.DeleteRegistryPolicyInput{}); err != nil {
		t.Fatal(err)
	}

	// Tags by ARN.
	if _, err := c.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{
		{Key: aws.String("env"), Value: aws.String("dev")}, {Key: aws.String("owner"), Value: aws.String("me")},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &ecr.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"owner"}}); err != nil {
		t.Fatal(err)
	}
	lt, err := c.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil || len(lt.Tags) != 1 || aws.ToString(lt.Tags[0].Key) != "env" {
		t.Errorf("ListTagsForResource: %+v %v", lt, err)
	}
	_, err = c.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{{Key: aws.String("aws:reserved"), Value: aws.String("x")}}})
	wantECRCode(t, "tag key with the aws: prefix", err, "InvalidTagParameterException")
	many := make([]types.Tag, 51)
	for i := range many {
		many[i] = types.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")}
	}
	_, err = c.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: aws.String(arn), Tags: many})
	wantECRCode(t, "51 tags", err, "TooManyTagsException")
	_, err = c.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:ecr:us-east-1:000000000000:repository/nope")})
	wantECRCode(t, "tags of a missing repository", err, "RepositoryNotFoundException")

	// Account settings are stored.
	if _, err := c.PutAccountSetting(ctx, &ecr.PutAccountSettingInput{Name: aws.String("BASIC_SCAN_TYPE_VERSION"), Value: aws.String("AWS_NATIVE")}); err != nil {
		t.Fatal(err)
	}
	gs, err := c.GetAccountSetting(ctx, &ecr.GetAccountSettingInput{Name: aws.String("BASIC_SCAN_TYPE_VERSION")})
	if err != nil || aws.ToString(gs.Value) != "AWS_NATIVE" {
		t.Errorf("GetAccountSetting: %+v %v", gs, err)
	}

	reg, err := c.DescribeRegistry(ctx, &ecr.DescribeRegistryInput{})
	if err != nil || aws.ToString(reg.RegistryId) != "000000000000" || reg.ReplicationConfiguration == nil {
		t.Errorf("DescribeRegistry: %+v %v", reg, err)
	}
}

func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}
