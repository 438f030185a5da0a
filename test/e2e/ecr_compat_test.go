package e2e

import (
	"slices"
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// ecrCompatScript drives the corners of ECR's API where Berth once
// differed from AWS, through boto3 as Python tooling calls them.
const ecrCompatScript = `
import hashlib, json, boto3, botocore
ecr = boto3.client("ecr")
out = {}

def err(f):
    try:
        f()
    except botocore.exceptions.ClientError as e:
        return {"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"],
                "lastValid": e.response.get("lastValidByteReceived"), "uploadId": e.response.get("uploadId"),
                "repositoryName": e.response.get("repositoryName")}
    return None

def blob(repo, data):
    up = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    ecr.upload_layer_part(repositoryName=repo, uploadId=up, partFirstByte=0, partLastByte=len(data) - 1, layerPartBlob=data)
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    ecr.complete_layer_upload(repositoryName=repo, uploadId=up, layerDigests=[d])
    return d

ecr.create_repository(repositoryName="compat/chart")
cfg = b'{"name":"chart","version":"1.0.0"}'
layer = b"chart-content-bytes"
# A Helm chart's OCI manifest has no top-level mediaType.
manifest = json.dumps({
    "schemaVersion": 2,
    "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": blob("compat/chart", cfg), "size": len(cfg)},
    "layers": [{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "digest": blob("compat/chart", layer), "size": len(layer)}],
})
out["noType"] = err(lambda: ecr.put_image(repositoryName="compat/chart", imageManifest=manifest, imageTag="1.0.0"))
img = ecr.put_image(repositoryName="compat/chart", imageManifest=manifest, imageTag="1.0.0",
                    imageManifestMediaType="application/vnd.oci.image.manifest.v1+json")["image"]
out["withType"] = img["imageManifestMediaType"]
out["tags"] = [i.get("imageTag") for i in ecr.list_images(repositoryName="compat/chart")["imageIds"]]

up = ecr.initiate_layer_upload(repositoryName="compat/chart")["uploadId"]
ecr.upload_layer_part(repositoryName="compat/chart", uploadId=up, partFirstByte=0, partLastByte=3, layerPartBlob=b"AAAA")
out["gap"] = err(lambda: ecr.upload_layer_part(repositoryName="compat/chart", uploadId=up, partFirstByte=8, partLastByte=11, layerPartBlob=b"BBBB"))
out["gapUploadId"] = up
out["resumed"] = ecr.upload_layer_part(repositoryName="compat/chart", uploadId=up, partFirstByte=4, partLastByte=7, layerPartBlob=b"BBBB")["lastByteReceived"]

ecr.create_repository(repositoryName="compat/multi")
children, sizes = [], []
for arch, n in (("amd64", 300), ("arm64", 700)):
    c = json.dumps({"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    l = bytes([len(arch)]) * n
    body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": blob("compat/multi", c), "size": len(c)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": blob("compat/multi", l), "size": len(l)}]})
    d = ecr.put_image(repositoryName="compat/multi", imageManifest=body, imageTag=arch)["image"]["imageId"]["imageDigest"]
    children.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d, "size": len(body),
                     "platform": {"architecture": arch, "os": "linux"}})
    sizes.append(len(c) + len(l))
ecr.put_image(repositoryName="compat/multi", imageTag="multi", imageManifest=json.dumps(
    {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": children}))
details = {d["imageTags"][0]: d["imageSizeInBytes"] for d in ecr.describe_images(repositoryName="compat/multi")["imageDetails"]}
out["childSizes"] = [details["amd64"], details["arm64"]]
out["wantChildSizes"] = sizes
out["indexSize"] = details["multi"]

policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
          "Action": ["ecr:CreateRepository", "ecr:ReplicateImage", "ecr:DescribeRepositories"], "Resource": "*"}]}
ecr.put_registry_policy(policyText=json.dumps(policy))
out["v2Kept"] = json.loads(ecr.get_registry_policy()["policyText"]) == policy
ecr.delete_registry_policy()
ecr.put_account_setting(name="REGISTRY_POLICY_SCOPE", value="V1")
out["v1Wide"] = err(lambda: ecr.put_registry_policy(policyText=json.dumps(policy)))
out["v1HasPolicy"] = err(lambda: ecr.get_registry_policy()) is None
policy["Statement"][0]["Action"] = ["ecr:CreateRepository", "ecr:ReplicateImage"]
out["v1Narrow"] = err(lambda: ecr.put_registry_policy(policyText=json.dumps(policy)))
policy["Statement"][0]["Action"] = "ecr:*"
out["v1Star"] = err(lambda: ecr.put_registry_policy(policyText=json.dumps(policy)))
print(json.dumps(out))
`

type ecrCompatErr struct {
	Code, Message, UploadID, RepositoryName string
	LastValid                               *int64
}

// TestECRCompatPutImageMediaTypeLayerPartsRegistryPolicyScope checks, with
// boto3: an index's imageSizeInBytes is its largest child's; PutImage refuses a manifest whose media type is named neither in
// the body nor in imageManifestMediaType (AWS's 'Invalid JSON syntax');
// InvalidLayerPartException carries lastValidByteReceived and the upload's
// identity, as the error shape has them; under REGISTRY_POLICY_SCOPE V1 a
// registry policy may only name ReplicateImage, BatchImportUpstreamImage and
// CreateRepository (or a wildcard over them), while V2 takes any action.
func TestECRCompatPutImageMediaTypeLayerPartsRegistryPolicyScope(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	var got struct {
		NoType, Gap, V1Wide, V1Narrow, V1Star *ecrCompatErr
		WithType, GapUploadID                 string
		Tags                                  []string
		Resumed                               int64
		ChildSizes, WantChildSizes            []int64
		IndexSize                             int64
		V2Kept, V1HasPolicy                   bool
	}
	b.Python(t, ecrCompatScript).Must(t).JSON(t, &got)

	if got.NoType == nil || got.NoType.Code != "InvalidParameterException" ||
		got.NoType.Message != "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'" {
		t.Errorf("put_image without any media type: %+v, want InvalidParameterException 'Invalid JSON syntax'", got.NoType)
	}
	if got.WithType != "application/vnd.oci.image.manifest.v1+json" || len(got.Tags) != 1 || got.Tags[0] != "1.0.0" {
		t.Errorf("put_image with imageManifestMediaType: type %q, tags %v", got.WithType, got.Tags)
	}

	if got.Gap == nil || got.Gap.Code != "InvalidLayerPartException" || got.Gap.LastValid == nil || *got.Gap.LastValid != 3 ||
		got.Gap.UploadID != got.GapUploadID || got.Gap.RepositoryName != "compat/chart" {
		t.Errorf("upload_layer_part past the end: %+v, want InvalidLayerPartException with lastValidByteReceived 3", got.Gap)
	}
	if got.Resumed != 7 {
		t.Errorf("resuming at byte 4: lastByteReceived %d, want 7", got.Resumed)
	}

	if len(got.ChildSizes) != 2 || !slices.Equal(got.ChildSizes, got.WantChildSizes) {
		t.Errorf("image sizes %v, want config+layer %v", got.ChildSizes, got.WantChildSizes)
	} else if want := max(got.ChildSizes[0], got.ChildSizes[1]); got.IndexSize != want {
		t.Errorf("index imageSizeInBytes %d, want its largest child's %d (not the sum)", got.IndexSize, want)
	}

	if !got.V2Kept {
		t.Error("V2 scope: a registry policy naming ecr:DescribeRepositories was not stored")
	}
	if got.V1Wide == nil || got.V1Wide.Code != "InvalidParameterException" ||
		got.V1Wide.Message != "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid registry policy provided'" {
		t.Errorf("V1 scope, policy naming ecr:DescribeRepositories: %+v, want InvalidParameterException", got.V1Wide)
	}
	if got.V1HasPolicy {
		t.Error("V1 scope: the refused policy was stored")
	}
	if got.V1Narrow != nil || got.V1Star != nil {
		t.Errorf("V1 scope, replication actions / ecr:*: %+v / %+v, want both accepted", got.V1Narrow, got.V1Star)
	}
}
