package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/berth-dev/berth/test/harness"
)

func sha(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// uploadLayer sends data through InitiateLayerUpload, UploadLayerPart (in
// parts of partSize) and CompleteLayerUpload, as the ECR docs describe for
// tools that do not speak the registry protocol.
func uploadLayer(t *testing.T, c *ecr.Client, repo string, data []byte, partSize int) string {
	t.Helper()
	ctx := context.Background()
	init, err := c.InitiateLayerUpload(ctx, &ecr.InitiateLayerUploadInput{RepositoryName: aws.String(repo)})
	if err != nil {
		t.Fatalf("InitiateLayerUpload: %v", err)
	}
	if aws.ToInt64(init.PartSize) <= 0 {
		t.Errorf("InitiateLayerUpload partSize %d", aws.ToInt64(init.PartSize))
	}
	for off := 0; off < len(data); off += partSize {
		end := min(off+partSize, len(data))
		out, err := c.UploadLayerPart(ctx, &ecr.UploadLayerPartInput{
			RepositoryName: aws.String(repo), UploadId: init.UploadId,
			PartFirstByte: aws.Int64(int64(off)), PartLastByte: aws.Int64(int64(end - 1)),
			LayerPartBlob: data[off:end],
		})
		if err != nil {
			t.Fatalf("UploadLayerPart %d-%d: %v", off, end-1, err)
		}
		if aws.ToInt64(out.LastByteReceived) != int64(end-1) {
			t.Errorf("lastByteReceived %d, want %d", aws.ToInt64(out.LastByteReceived), end-1)
		}
	}
	done, err := c.CompleteLayerUpload(ctx, &ecr.CompleteLayerUploadInput{
		RepositoryName: aws.String(repo), UploadId: init.UploadId, LayerDigests: []string{sha(data)},
	})
	if err != nil {
		t.Fatalf("CompleteLayerUpload: %v", err)
	}
	if aws.ToString(done.LayerDigest) != sha(data) {
		t.Errorf("CompleteLayerUpload digest %s, want %s", aws.ToString(done.LayerDigest), sha(data))
	}
	return sha(data)
}

func imageManifest(config, layer []byte) string {
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config), "size": len(config)},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(layer), "size": len(layer)}},
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// An image built with the ECR API alone (the layer upload APIs and
// PutImage), read back with DescribeImages, BatchGetImage and a download
// URL that really serves the layer.
func TestECRLayerAPIsAndPutImage(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	ctx := context.Background()
	c := ecrClient(b)
	createRepo(t, b, "layers")

	layer := randomBytes(t, 6<<20+123) // two parts: 5 MiB and the rest
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	uploadLayer(t, c, "layers", layer, 5<<20)
	uploadLayer(t, c, "layers", config, 1<<20)

	avail, err := c.BatchCheckLayerAvailability(ctx, &ecr.BatchCheckLayerAvailabilityInput{
		RepositoryName: aws.String("layers"), LayerDigests: []string{sha(layer), sha([]byte("nope")), "not-a-digest"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(avail.Layers) != 1 || avail.Layers[0].LayerAvailability != types.LayerAvailabilityAvailable ||
		aws.ToInt64(avail.Layers[0].LayerSize) != int64(len(layer)) {
		t.Errorf("BatchCheckLayerAvailability layers: %+v", avail.Layers)
	}
	if len(avail.Failures) != 2 || avail.Failures[0].FailureCode != types.LayerFailureCodeMissingLayerDigest ||
		avail.Failures[1].FailureCode != types.LayerFailureCodeInvalidLayerDigest {
		t.Errorf("BatchCheckLayerAvailability failures: %+v", avail.Failures)
	}

	manifest := imageManifest(config, layer)
	put, err := c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("layers"), ImageManifest: aws.String(manifest), ImageTag: aws.String("v1")})
	if err != nil {
		t.Fatalf("PutImage: %v", err)
	}
	dgst := sha([]byte(manifest))
	if aws.ToString(put.Image.ImageId.ImageDigest) != dgst || aws.ToString(put.Image.ImageManifestMediaType) != "application/vnd.oci.image.manifest.v1+json" {
		t.Errorf("PutImage returned %+v", put.Image)
	}
	_, err = c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("layers"), ImageManifest: aws.String(manifest), ImageTag: aws.String("v1")})
	wantECRCode(t, "PutImage of the same image and tag", err, "ImageAlreadyExistsException")
	_, err = c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("layers"), ImageManifest: aws.String(manifest), ImageDigest: aws.String(sha([]byte("other")))})
	wantECRCode(t, "PutImage with a wrong imageDigest", err, "ImageDigestDoesNotMatchException")
	missing := imageManifest(config, []byte("a layer nobody uploaded"))
	_, err = c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("layers"), ImageManifest: aws.String(missing), ImageTag: aws.String("broken")})
	wantECRCode(t, "PutImage referencing a missing layer", err, "LayersNotFoundException")
	// A second tag on the same manifest is a retag, not a new image.
	if _, err := c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("layers"), ImageManifest: aws.String(manifest), ImageTag: aws.String("stable")}); err != nil {
		t.Fatalf("retag with PutImage: %v", err)
	}

	desc, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("layers")})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.ImageDetails) != 1 {
		t.Fatalf("DescribeImages: %d images, want 1", len(desc.ImageDetails))
	}
	d := desc.ImageDetails[0]
	if aws.ToString(d.ImageDigest) != dgst || strings.Join(d.ImageTags, ",") != "stable,v1" && strings.Join(d.ImageTags, ",") != "v1,stable" ||
		aws.ToInt64(d.ImageSizeInBytes) != int64(len(layer)+len(config)) || d.ImagePushedAt == nil ||
		aws.ToString(d.ImageManifestMediaType) != "application/vnd.oci.image.manifest.v1+json" ||
		aws.ToString(d.ArtifactMediaType) != "application/vnd.oci.image.config.v1+json" ||
		aws.ToString(d.RegistryId) != "000000000000" || aws.ToString(d.RepositoryName) != "layers" {
		t.Errorf("DescribeImages detail: %+v", d)
	}
	_, err = c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("layers"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("nope")}}})
	wantECRCode(t, "DescribeImages of a missing tag", err, "ImageNotFoundException")

	got, err := c.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String("layers"), ImageIds: []types.ImageIdentifier{
		{ImageTag: aws.String("v1")},
		{ImageTag: aws.String("nope")},
		{ImageDigest: aws.String(sha([]byte("other"))), ImageTag: aws.String("v1")},
		{ImageDigest: aws.String("sha256:xyz")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Images) != 1 || aws.ToString(got.Images[0].ImageManifest) != manifest {
		t.Errorf("BatchGetImage images: %+v", got.Images)
	}
	codes := map[types.ImageFailureCode]bool{}
	for _, f := range got.Failures {
		codes[f.FailureCode] = true
	}
	for _, want := range []types.ImageFailureCode{types.ImageFailureCodeImageNotFound, types.ImageFailureCodeImageTagDoesNotMatchDigest, types.ImageFailureCodeInvalidImageDigest} {
		if !codes[want] {
			t.Errorf("BatchGetImage failures %+v lack %s", got.Failures, want)
		}
	}
	desc, _ = c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("layers")})
	if desc.ImageDetails[0].LastRecordedPullTime == nil {
		t.Error("BatchGetImage did not record a pull (lastRecordedPullTime)")
	}

	// GetDownloadUrlForLayer's URL serves the layer on Berth's own port.
	dl, err := c.GetDownloadUrlForLayer(ctx, &ecr.GetDownloadUrlForLayerInput{RepositoryName: aws.String("layers"), LayerDigest: aws.String(sha(layer))})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(aws.ToString(dl.DownloadUrl))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, layer) {
		t.Errorf("download URL %s: %s, %d bytes (want %d)", aws.ToString(dl.DownloadUrl), resp.Status, len(body), len(layer))
	}
	tampered := strings.Replace(aws.ToString(dl.DownloadUrl), "layers", "layerz", 1)
	if code, _ := httpStatus(t, "GET", tampered, "", ""); code != http.StatusForbidden && code != http.StatusNotFound {
		t.Errorf("tampered download URL answered %d", code)
	}
	_, err = c.GetDownloadUrlForLayer(ctx, &ecr.GetDownloadUrlForLayerInput{RepositoryName: aws.String("layers"), LayerDigest: aws.String(sha([]byte("nope")))})
	wantECRCode(t, "GetDownloadUrlForLayer of a missing layer", err, "LayersNotFoundException")

	// ListImages sees one entry per tag.
	li, err := c.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("layers")})
	if err != nil || len(li.ImageIds) != 2 {
		t.Errorf("ListImages: %+v %v", li, err)
	}

	// Deleting a tag leaves the image; deleting the digest removes it.
	del, err := c.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: aws.String("layers"), ImageIds: []types.ImageIdentifier{
		{ImageTag: aws.String("stable")}, {ImageTag: aws.String("never-existed")},
	}})
	if err != nil || len(del.ImageIds) != 1 || len(del.Failures) != 1 || del.Failures[0].FailureCode != types.ImageFailureCodeImageNotFound {
		t.Errorf("BatchDeleteImage by tag: %+v %v", del, err)
	}
	if n := len(listDigests(t, b, "layers")); n != 1 {
		t.Errorf("after untagging: %d images, want 1", n)
	}
	_, err = c.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("layers")})
	wantECRCode(t, "DeleteRepository of a repository with images", err, "RepositoryNotEmptyException")
	if _, err := c.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: aws.String("layers"), ImageIds: []types.ImageIdentifier{{ImageDigest: aws.String(dgst)}}}); err != nil {
		t.Fatal(err)
	}
	if n := len(listDigests(t, b, "layers")); n != 0 {
		t.Errorf("after deleting by digest: %d images, want 0", n)
	}
}

// The layer part rules of UploadLayerPart and CompleteLayerUpload.
func TestECRLayerUploadErrors(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	ctx := context.Background()
	c := ecrClient(b)
	createRepo(t, b, "parts")
	initiate := func() *string {
		out, err := c.InitiateLayerUpload(ctx, &ecr.InitiateLayerUploadInput{RepositoryName: aws.String("parts")})
		if err != nil {
			t.Fatal(err)
		}
		return out.UploadId
	}
	part := func(id *string, first int64, data []byte) error {
		_, err := c.UploadLayerPart(ctx, &ecr.UploadLayerPartInput{RepositoryName: aws.String("parts"), UploadId: id,
			PartFirstByte: aws.Int64(first), PartLastByte: aws.Int64(first + int64(len(data)) - 1), LayerPartBlob: data})
		return err
	}
	complete := func(id *string, d string) error {
		_, err := c.CompleteLayerUpload(ctx, &ecr.CompleteLayerUploadInput{RepositoryName: aws.String("parts"), UploadId: id, LayerDigests: []string{d}})
		return err
	}

	id := initiate()
	small := randomBytes(t, 1000)
	if err := part(id, 0, small); err != nil {
		t.Fatal(err)
	}
	wantECRCode(t, "a part that does not continue the upload", part(id, 5000, small), "InvalidLayerPartException")
	if err := part(id, 1000, small); err != nil {
		t.Fatal(err)
	}
	whole := append(append([]byte{}, small...), small...)
	wantECRCode(t, "completing after a first part under 5 MiB", complete(id, sha(whole)), "LayerPartTooSmallException")

	id = initiate()
	if err := part(id, 0, small); err != nil {
		t.Fatal(err)
	}
	wantECRCode(t, "completing with the wrong digest", complete(id, sha([]byte("other"))), "InvalidLayerException")

	id = initiate()
	wantECRCode(t, "completing an empty upload", complete(id, sha(nil)), "EmptyUploadException")

	wantECRCode(t, "an unknown upload", part(aws.String("00000000-0000-0000-0000-000000000000"), 0, small), "UploadNotFoundException")

	// A layer already in the repository.
	uploadLayer(t, c, "parts", small, 1<<20)
	id = initiate()
	if err := part(id, 0, small); err != nil {
		t.Fatal(err)
	}
	wantECRCode(t, "uploading a layer the repository has", complete(id, sha(small)), "LayerAlreadyExistsException")
}

// Tag immutability through PutImage, with exclusion filters.
func TestECRPutImageTagImmutability(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	ctx := context.Background()
	c := ecrClient(b)
	createRepo(t, b, "immutable", func(in *ecr.CreateRepositoryInput) {
		in.ImageTagMutability = types.ImageTagMutabilityImmutableWithExclusion
		in.ImageTagMutabilityExclusionFilters = []types.ImageTagMutabilityExclusionFilter{
			{FilterType: types.ImageTagMutabilityExclusionFilterTypeWildcard, Filter: aws.String("latest")},
		}
	})
	config := []byte(`{"os":"linux"}`)
	uploadLayer(t, c, "immutable", config, 1<<20)
	put := func(tag string, layer []byte) error {
		uploadLayer(t, c, "immutable", layer, 1<<20)
		_, err := c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("immutable"),
			ImageManifest: aws.String(imageManifest(config, layer)), ImageTag: aws.String(tag)})
		return err
	}
	for _, tag := range []string{"v1", "latest"} {
		if err := put(tag, randomBytes(t, 100)); err != nil {
			t.Fatalf("first push of %s: %v", tag, err)
		}
	}
	err := put("v1", randomBytes(t, 100))
	wantECRCode(t, "moving immutable tag v1", err, "ImageTagAlreadyExistsException")
	if err := put("latest", randomBytes(t, 100)); err != nil {
		t.Errorf("moving excluded tag latest: %v", err)
	}
}

// boto3 drives the common calls, as Python tooling does.
func TestECRWithBoto3(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	script := `
import json, base64, boto3, botocore
ecr = boto3.client("ecr")
out = {}
repo = ecr.create_repository(repositoryName="py/app", imageTagMutability="MUTABLE")["repository"]
out["uri"] = repo["repositoryUri"]
out["arn"] = repo["repositoryArn"]
tok = ecr.get_authorization_token()["authorizationData"][0]
out["user"] = base64.b64decode(tok["authorizationToken"]).decode().split(":")[0]
out["endpoint"] = tok["proxyEndpoint"]
out["ttl"] = (tok["expiresAt"] - repo["createdAt"]).total_seconds()
try:
    ecr.describe_images(repositoryName="py/none")
except botocore.exceptions.ClientError as e:
    out["missing"] = e.response["Error"]["Code"]
try:
    ecr.create_repository(repositoryName="Upper/Case")
except botocore.exceptions.ClientError as e:
    out["short"] = e.response["Error"]["Code"]
out["images"] = ecr.list_images(repositoryName="py/app")["imageIds"]
ecr.delete_repository(repositoryName="py/app", force=True)
print(json.dumps(out))
`
	var got struct {
		URI, ARN, User, Endpoint, Missing, Short string
		TTL                                      float64
		Images                                   []any
	}
	b.Python(t, script).Must(t).JSON(t, &got)
	if got.URI != b.RegistryHost()+"/py/app" || got.ARN != "arn:aws:ecr:us-east-1:000000000000:repository/py/app" {
		t.Errorf("boto3 create_repository: %+v", got)
	}
	if got.User != "AWS" || got.Endpoint != "http://"+b.RegistryHost() || got.TTL < 11.9*3600 || got.TTL > 12.1*3600 {
		t.Errorf("boto3 get_authorization_token: %+v", got)
	}
	if got.Missing != "RepositoryNotFoundException" || got.Short != "InvalidParameterException" || len(got.Images) != 0 {
		t.Errorf("boto3 errors: %+v", got)
	}
}
