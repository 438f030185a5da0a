package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/test/harness"
)

// replicationStatuses is describe-image-replication-status's answer as
// "registryId/region" → status[:failureCode].
func replicationStatuses(t *testing.T, b *harness.Berth, repo, tag string) map[string]string {
	t.Helper()
	out, err := ecrClient(b).DescribeImageReplicationStatus(context.Background(), &ecr.DescribeImageReplicationStatusInput{
		RepositoryName: aws.String(repo), ImageId: &types.ImageIdentifier{ImageTag: aws.String(tag)},
	})
	if err != nil {
		t.Fatalf("DescribeImageReplicationStatus %s:%s: %v", repo, tag, err)
	}
	got := map[string]string{}
	for _, s := range out.ReplicationStatuses {
		v := string(s.Status)
		if s.FailureCode != nil {
			v += ":" + aws.ToString(s.FailureCode)
		}
		got[aws.ToString(s.RegistryId)+"/"+aws.ToString(s.Region)] = v
	}
	return got
}

// waitStatuses waits until an image's replication statuses are want.
func waitStatuses(t *testing.T, b *harness.Berth, repo, tag string, timeout time.Duration, want map[string]string) {
	t.Helper()
	eventually(t, timeout, "replication of "+repo+":"+tag, func() (bool, string) {
		got := replicationStatuses(t, b, repo, tag)
		return fmt.Sprint(got) == fmt.Sprint(want), fmt.Sprint(got)
	})
}

// remoteDigest is the digest of ref in a registry, or "" when it is not
// there.
func remoteDigest(t *testing.T, ref string, opt remote.Option) string {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r, opt)
	if err != nil {
		return ""
	}
	return d.Digest.String()
}

// blobFiles counts the blob files in a Berth data directory.
func blobFiles(t *testing.T, dataDir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(dataDir, "blobs", "blobs"), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func replicationPolicy(sourceAccount string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"replicate","Effect":"Allow",`+
		`"Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":["ecr:CreateRepository","ecr:ReplicateImage"],`+
		`"Resource":"arn:aws:ecr:*:*:repository/*"}]}`, sourceAccount)
}

// Cross-Region and cross-account replication inside one Berth, driven by
// the aws CLI and docker: pushes and tag changes replicate by reference
// (no blob is copied), deletions do not, the destination registry's
// policy and creation template are honoured, and replicas are not
// replicated again.
func TestECRReplicationInBerth(t *testing.T) {
	harness.RequireDocker(t)
	b := harness.Start(t) // account 000000000000, us-east-1
	west := b.InRegion("us-west-2")
	other := b.As("111122223333", "x").InRegion("eu-west-1")
	stranger := b.As("333333333333", "x").InRegion("eu-west-1")

	bad := b.AWS(t, "ecr", "put-replication-configuration", "--replication-configuration",
		`{"rules":[{"destinations":[{"region":"us-east-1","registryId":"000000000000"}]}]}`)
	if bad.ErrorCode() != "InvalidParameterException" {
		t.Errorf("replicating a registry to itself: exit %d %s", bad.ExitCode, bad.Stderr)
	}

	// The destination account lets the source replicate into it, with a
	// template for the repositories replication creates.
	other.AWS(t, "ecr", "put-registry-policy", "--policy-text", replicationPolicy("000000000000")).Must(t)
	other.AWS(t, "ecr", "create-repository-creation-template", "--prefix", "prod", "--applied-for", "REPLICATION",
		"--image-tag-mutability", "IMMUTABLE", "--resource-tags", "Key=replicated,Value=yes").Must(t)

	cfg := `{"rules":[{"destinations":[{"region":"us-west-2","registryId":"000000000000"},` +
		`{"region":"eu-west-1","registryId":"111122223333"},{"region":"eu-west-1","registryId":"333333333333"}],` +
		`"repositoryFilters":[{"filter":"prod","filterType":"PREFIX_MATCH"}]}]}`
	b.AWS(t, "ecr", "put-replication-configuration", "--replication-configuration", cfg).Must(t)
	reg := b.AWS(t, "ecr", "describe-registry").Must(t).Map(t)
	if got, _ := json.Marshal(reg["replicationConfiguration"]); !strings.Contains(string(got), `"filter":"prod"`) || !strings.Contains(string(got), "333333333333") {
		t.Errorf("describe-registry: %s", got)
	}
	// us-west-2 replicates on to ap-south-1: what it receives by
	// replication is not sent on, what is pushed to it is.
	west.AWS(t, "ecr", "put-replication-configuration", "--replication-configuration",
		`{"rules":[{"destinations":[{"region":"ap-south-1","registryId":"000000000000"}]}]}`).Must(t)

	uri := createRepo(t, b, "prod/app")
	createRepo(t, b, "other/app")
	blobsBefore := blobFiles(t, b.DataDir())

	b.DockerLogin(t)
	local := "berth-test/repl-app:" + fmt.Sprint(time.Now().UnixNano())
	harness.LoadIntoDocker(t, harness.TestImage(t, "repl-app"), local)
	for _, ref := range []string{uri + ":v1", b.RegistryHost() + "/other/app:v1"} {
		b.Docker(t, "tag", local, ref).Must(t)
		t.Cleanup(func() { b.Docker(t, "rmi", "-f", ref) })
		b.Docker(t, "push", ref).Must(t)
	}
	waitStatuses(t, b, "prod/app", "v1", time.Minute, map[string]string{
		"000000000000/us-west-2": "COMPLETE",
		"111122223333/eu-west-1": "COMPLETE",
		"333333333333/eu-west-1": "FAILED:ACCESS_DENIED",
	})
	if got := replicationStatuses(t, b, "other/app", "v1"); len(got) != 0 {
		t.Errorf("a repository no filter matches has statuses %v", got)
	}
	digest := firstImageDigest(t, b.AWS(t, "ecr", "describe-images", "--repository-name", "prod/app").Must(t))
	for _, v := range []*harness.Berth{west, other} {
		if got := listDigests(t, v, "prod/app"); !got[digest] {
			t.Errorf("%s/%s lacks the replicated image: %v", v.Creds().AccessKeyID, v.Region(), got)
		}
	}
	if _, err := ecrClient(stranger).DescribeRepositories(context.Background(), &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"prod/app"}}); ecrErrorCode(err) != "RepositoryNotFoundException" {
		t.Errorf("the account without a policy got a repository: %v", err)
	}
	if n := blobFiles(t, b.DataDir()); n != blobsBefore+2 {
		// The push stored config and layer once; replication linked them.
		t.Errorf("blob files: %d before the push, %d after push and replication; want +2", blobsBefore, n)
	}
	d := other.AWS(t, "ecr", "describe-repositories", "--repository-names", "prod/app").Must(t).Map(t)
	repo := d["repositories"].([]any)[0].(map[string]any)
	if repo["imageTagMutability"] != "IMMUTABLE" || repo["registryId"] != "111122223333" {
		t.Errorf("the replicated repository ignores the destination's template: %v", repo)
	}
	if tags := other.AWS(t, "ecr", "list-tags-for-resource", "--resource-arn", repo["repositoryArn"].(string)).Must(t).Stdout; !strings.Contains(tags, "replicated") {
		t.Errorf("template tags of the replicated repository: %s", tags)
	}

	// Pulled from the other Region by docker, it runs.
	west.DockerLogin(t)
	b.Docker(t, "rmi", uri+":v1").Must(t)
	b.Docker(t, "pull", uri+":v1").Must(t)
	if out := b.Docker(t, "run", "--rm", uri+":v1", "print", "replicated").Must(t).Stdout; !strings.Contains(out, "replicated") {
		t.Errorf("the replicated image printed %q", out)
	}

	// A tag change replicates too.
	mf := b.AWS(t, "ecr", "batch-get-image", "--repository-name", "prod/app", "--image-ids", "imageTag=v1",
		"--query", "images[0].imageManifest", "--output", "text").Must(t).Stdout
	b.AWS(t, "ecr", "put-image", "--repository-name", "prod/app", "--image-tag", "stable", "--image-manifest", strings.TrimSpace(mf)).Must(t)
	eventually(t, time.Minute, "the new tag replicated", func() (bool, string) {
		r := west.AWS(t, "ecr", "describe-images", "--repository-name", "prod/app", "--image-ids", "imageTag=stable")
		return r.ExitCode == 0, r.Stderr
	})
	waitStatuses(t, b, "prod/app", "stable", time.Minute, map[string]string{
		"000000000000/us-west-2": "COMPLETE", "111122223333/eu-west-1": "COMPLETE", "333333333333/eu-west-1": "FAILED:ACCESS_DENIED",
	})

	// Replicas are not replicated again; a push to us-west-2 is.
	time.Sleep(2 * time.Second)
	if got := replicationStatuses(t, west, "prod/app", "v1"); len(got) != 0 {
		t.Errorf("a replica has replication statuses of its own: %v", got)
	}
	pushImage(t, west.RegistryHost()+"/prod/app:west-only", harness.RandomImage(t, 1, 1024), registryAuth(t, west))
	waitStatuses(t, west, "prod/app", "west-only", time.Minute, map[string]string{"000000000000/ap-south-1": "COMPLETE"})
	south := b.InRegion("ap-south-1")
	if got := listDigests(t, south, "prod/app"); len(got) != 1 {
		t.Errorf("ap-south-1 holds %v, want only the image pushed to us-west-2", got)
	}

	// Deletions are not replicated.
	b.AWS(t, "ecr", "batch-delete-image", "--repository-name", "prod/app", "--image-ids", "imageDigest="+digest).Must(t)
	time.Sleep(2 * time.Second)
	if got := listDigests(t, west, "prod/app"); !got[digest] {
		t.Error("deleting the source image deleted the replica")
	}
}

// firstImageDigest reads the first image digest of describe-images output.
func firstImageDigest(t *testing.T, r *harness.Result) string {
	t.Helper()
	var out struct {
		ImageDetails []struct {
			ImageDigest string `json:"imageDigest"`
		} `json:"imageDetails"`
	}
	r.JSON(t, &out)
	if len(out.ImageDetails) == 0 {
		t.Fatal("describe-images returned no image")
	}
	return out.ImageDetails[0].ImageDigest
}

// Replication to another Berth server mapped in the configuration: the
// image arrives there by the OCI API, in the repository created with the
// remote registry's template.
func TestECRReplicationToAnotherBerth(t *testing.T) {
	remoteB := harness.Start(t)
	dest := remoteB.As("222222222222", "x").InRegion("eu-central-1")
	dest.AWS(t, "ecr", "create-repository-creation-template", "--prefix", "team", "--applied-for", "REPLICATION",
		"--resource-tags", "Key=from,Value=replication").Must(t)

	src := harness.Start(t, harness.WithArgs("--replication-remote", "222222222222/eu-central-1=http://222222222222:x@"+remoteB.Addr()))
	src.AWS(t, "ecr", "put-replication-configuration", "--replication-configuration",
		`{"rules":[{"destinations":[{"region":"eu-central-1","registryId":"222222222222"}],"repositoryFilters":[{"filter":"team/","filterType":"PREFIX_MATCH"}]}]}`).Must(t)
	createRepo(t, src, "team/api")
	img := harness.RandomImage(t, 3, 256<<10)
	d1 := pushImage(t, src.RegistryHost()+"/team/api:v1", img, registryAuth(t, src))
	waitStatuses(t, src, "team/api", "v1", time.Minute, map[string]string{"222222222222/eu-central-1": "COMPLETE"})

	destAuth := registryAuth(t, dest)
	if got := remoteDigest(t, dest.RegistryHost()+"/team/api:v1", destAuth); got != d1 {
		t.Fatalf("the remote has %q for team/api:v1, want %s", got, d1)
	}
	if got, err := pullAll(dest.RegistryHost()+"/team/api:v1", destAuth); err != nil || got != d1 {
		t.Errorf("pulling the replica from the remote: %s %v", got, err)
	}
	if skopeo, err := exec.LookPath("skopeo"); err == nil {
		out, err := exec.Command(skopeo, "inspect", "--tls-verify=false", "--creds", "AWS:"+registryPassword(t, dest),
			"docker://"+dest.RegistryHost()+"/team/api:v1").CombinedOutput()
		if err != nil || !strings.Contains(string(out), d1) {
			t.Errorf("skopeo inspect of the replica: %v\n%s", err, out)
		}
	}
	r := dest.AWS(t, "ecr", "describe-repositories", "--repository-names", "team/api").Must(t).Map(t)
	arn := r["repositories"].([]any)[0].(map[string]any)["repositoryArn"].(string)
	if !strings.HasPrefix(arn, "arn:aws:ecr:eu-central-1:222222222222:") {
		t.Errorf("the replica's repository: %s", arn)
	}
	if tags := dest.AWS(t, "ecr", "list-tags-for-resource", "--resource-arn", arn).Must(t).Stdout; !strings.Contains(tags, "replication") {
		t.Errorf("the remote template's tags: %s", tags)
	}

	// A second image sharing two layers, and a new tag on the first.
	img2 := harness.RandomImage(t, 1, 1024)
	d2 := pushImage(t, src.RegistryHost()+"/team/api:v2", img2, registryAuth(t, src))
	mf := src.AWS(t, "ecr", "batch-get-image", "--repository-name", "team/api", "--image-ids", "imageTag=v1",
		"--query", "images[0].imageManifest", "--output", "text").Must(t).Stdout
	src.AWS(t, "ecr", "put-image", "--repository-name", "team/api", "--image-tag", "prod", "--image-manifest", strings.TrimSpace(mf)).Must(t)
	waitStatuses(t, src, "team/api", "v2", time.Minute, map[string]string{"222222222222/eu-central-1": "COMPLETE"})
	waitStatuses(t, src, "team/api", "prod", time.Minute, map[string]string{"222222222222/eu-central-1": "COMPLETE"})
	if got := remoteDigest(t, dest.RegistryHost()+"/team/api:v2", destAuth); got != d2 {
		t.Errorf("the remote has %q for v2, want %s", got, d2)
	}
	if got := remoteDigest(t, dest.RegistryHost()+"/team/api:prod", destAuth); got != d1 {
		t.Errorf("the remote has %q for the new tag, want %s", got, d1)
	}

	// A multi-platform index: children first, then the index.
	idx, err := random.Index(16<<10, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	ir, _ := name.ParseReference(src.RegistryHost()+"/team/api:multi", name.Insecure)
	if err := remote.WriteIndex(ir, idx, registryAuth(t, src)); err != nil {
		t.Fatal(err)
	}
	waitStatuses(t, src, "team/api", "multi", time.Minute, map[string]string{"222222222222/eu-central-1": "COMPLETE"})
	want, _ := idx.Digest()
	if got := remoteDigest(t, dest.RegistryHost()+"/team/api:multi", destAuth); got != want.String() {
		t.Errorf("the remote has %q for the index, want %s", got, want)
	}
	im, _ := idx.IndexManifest()
	for _, m := range im.Manifests {
		if got, err := pullAll(dest.RegistryHost()+"/team/api@"+m.Digest.String(), destAuth); err != nil || got != m.Digest.String() {
			t.Errorf("child %s on the remote: %v", m.Digest, err)
		}
	}
}

// blackhole accepts connections and never answers: a remote that times
// out.
func blackhole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

// A remote that is down or never answers leaves local pushes as fast as
// ever; its images stay IN_PROGRESS, then FAILED, retried with backoff,
// and complete once it is back — across a restart of the source.
func TestECRReplicationRemoteDownAndTimeout(t *testing.T) {
	remoteB := harness.Start(t)
	hole := blackhole(t)
	src := harness.Start(t, harness.WithArgs(
		"--replication-remote", "222222222222/eu-central-1=http://222222222222:x@"+remoteB.Addr()+"?timeout=3s",
		"--replication-remote", "333333333333/eu-central-1=http://333333333333:x@"+hole+"?timeout=1s",
	))
	src.AWS(t, "ecr", "put-replication-configuration", "--replication-configuration",
		`{"rules":[{"destinations":[{"region":"eu-central-1","registryId":"222222222222"}],"repositoryFilters":[{"filter":"down/","filterType":"PREFIX_MATCH"}]},`+
			`{"destinations":[{"region":"eu-central-1","registryId":"333333333333"}],"repositoryFilters":[{"filter":"slow/","filterType":"PREFIX_MATCH"}]}]}`).Must(t)
	createRepo(t, src, "down/app")
	createRepo(t, src, "slow/app")
	auth := registryAuth(t, src)

	// The remote that never answers: pushes stay fast.
	for i := 0; i < 3; i++ {
		start := time.Now()
		pushImage(t, src.RegistryHost()+fmt.Sprintf("/slow/app:v%d", i), harness.RandomImage(t, 2, 64<<10), auth)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("push %d took %s with the remote timing out", i, d)
		}
	}
	if got := replicationStatuses(t, src, "slow/app", "v0"); got["333333333333/eu-central-1"] != "IN_PROGRESS" {
		t.Errorf("right after the push: %v, want IN_PROGRESS", got)
	}
	waitStatuses(t, src, "slow/app", "v0", time.Minute, map[string]string{"333333333333/eu-central-1": "FAILED:DESTINATION_UNREACHABLE"})

	// The remote that is down comes back, after a restart of the source.
	if err := remoteB.Stop(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	d := pushImage(t, src.RegistryHost()+"/down/app:v1", harness.RandomImage(t, 2, 64<<10), auth)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("push took %s with the remote down", took)
	}
	waitStatuses(t, src, "down/app", "v1", time.Minute, map[string]string{"222222222222/eu-central-1": "FAILED:DESTINATION_UNREACHABLE"})
	src.Restart()
	remoteB.Restart()
	waitStatuses(t, src, "down/app", "v1", 2*time.Minute, map[string]string{"222222222222/eu-central-1": "COMPLETE"})
	dest := remoteB.As("222222222222", "x").InRegion("eu-central-1")
	if got := remoteDigest(t, dest.RegistryHost()+"/down/app:v1", registryAuth(t, dest)); got != d {
		t.Errorf("the remote has %q, want %s", got, d)
	}
	if !strings.Contains(src.Log(), "DESTINATION_UNREACHABLE") {
		t.Error("the source's log does not tell why the remote failed")
	}
}
