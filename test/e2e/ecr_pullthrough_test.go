package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/test/harness"
)

// distributionVersion pins the CNCF distribution registry the tests use as
// an upstream.
const distributionVersion = "v3.1.2"

// upstreamRegistry is a CNCF distribution registry on 127.0.0.1.
type upstreamRegistry struct {
	addr string
	cmd  *exec.Cmd
	done chan struct{}
}

// distributionBinary finds the registry binary: on PATH, in the Go bin
// directory, else installed (pinned) into a version-named directory there.
func distributionBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("registry"); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		t.Fatal(err)
	}
	gobin := filepath.Join(strings.TrimSpace(string(out)), "bin")
	if p := filepath.Join(gobin, "registry"); fileExists(p) {
		return p
	}
	dir := filepath.Join(gobin, "distribution-"+distributionVersion)
	bin := filepath.Join(dir, "registry")
	if fileExists(bin) {
		return bin
	}
	cmd := exec.Command("go", "install", "github.com/distribution/distribution/v3/cmd/registry@"+distributionVersion)
	cmd.Dir = os.TempDir() // outside the module: our go.mod stays as it is
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("the distribution registry is not installed and could not be: %v\n%s", err, out)
		}
		t.Fatalf("installing the distribution registry: %v\n%s", err, out)
	}
	return bin
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startDistribution runs a distribution registry (no auth) on a free port
// over a fresh directory; it is stopped when the test ends.
func startDistribution(t *testing.T) *upstreamRegistry {
	t.Helper()
	bin := distributionBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := fmt.Sprintf("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\nlog:\n  level: warn\n", filepath.Join(dir, "data"), addr)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	u := &upstreamRegistry{addr: addr, done: make(chan struct{})}
	u.cmd = exec.Command(bin, "serve", cfgPath)
	u.cmd.Stdout, u.cmd.Stderr = logf, logf
	if err := u.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = u.cmd.Wait(); logf.Close(); close(u.done) }()
	t.Cleanup(u.stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return u
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the distribution registry did not answer on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the registry (idempotent).
func (u *upstreamRegistry) stop() {
	select {
	case <-u.done:
		return
	default:
	}
	_ = u.cmd.Process.Kill()
	<-u.done
}

// pushAnon pushes an image to an upstream without credentials.
func pushAnon(t *testing.T, ref string, img v1.Image) string {
	t.Helper()
	return pushImage(t, ref, img, remote.WithAuth(authn.Anonymous))
}

// pullAll reads an image through a registry the way a client does —
// manifest, config and every layer to the end, each checked against its
// digest — and returns the manifest digest.
func pullAll(ref string, opt remote.Option) (string, error) {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	img, err := remote.Image(r, opt, remote.WithContext(ctx))
	if err != nil {
		return "", err
	}
	if _, err := img.RawConfigFile(); err != nil {
		return "", err
	}
	layers, err := img.Layers()
	if err != nil {
		return "", err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return "", err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return "", err
		}
	}
	d, err := img.Digest()
	return d.String(), err
}

// eventually polls cond every 200ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s; last seen: %s", what, timeout, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

const cacheLifecyclePolicy = `{"rules":[{"rulePriority":1,"description":"keep 5","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":5},"action":{"type":"expire"}}]}`

const cacheRepositoryPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}`

// docker pull through the cache from a distribution registry: the first
// pull fetches upstream and creates the repository from the creation
// template; with the upstream gone the cached image is still served.
func TestECRPullThroughDockerFromDistribution(t *testing.T) {
	harness.RequireDocker(t)
	up := startDistribution(t)
	img := harness.TestImage(t, "ptc-app")
	want := pushAnon(t, up.addr+"/library/app:v1", img)

	b := harness.Start(t)
	b.AWS(t, "ecr", "create-repository-creation-template", "--prefix", "hub", "--applied-for", "PULL_THROUGH_CACHE",
		"--resource-tags", "Key=team,Value=platform", "--lifecycle-policy", cacheLifecyclePolicy,
		"--repository-policy", cacheRepositoryPolicy).Must(t)
	// aws CLI v2: v1 would fetch an http:// parameter and send its body.
	out := b.AWSv2(t, "ecr", "create-pull-through-cache-rule", "--ecr-repository-prefix", "hub",
		"--upstream-registry-url", "http://"+up.addr).Must(t).Map(t)
	if out["upstreamRegistryUrl"] != "http://"+up.addr || out["registryId"] != "000000000000" {
		t.Errorf("create-pull-through-cache-rule: %v", out)
	}
	v := b.AWS(t, "ecr", "validate-pull-through-cache-rule", "--ecr-repository-prefix", "hub").Must(t).Map(t)
	if v["isValid"] != true {
		t.Errorf("validate-pull-through-cache-rule: %v", v)
	}

	b.DockerLogin(t)
	ref := b.RegistryHost() + "/hub/library/app:v1"
	t.Cleanup(func() { b.Docker(t, "rmi", "-f", ref) })
	b.Docker(t, "pull", ref).Must(t)
	if out := b.Docker(t, "run", "--rm", ref, "print", "from-the-cache").Must(t).Stdout; !strings.Contains(out, "from-the-cache") {
		t.Errorf("the cached image printed %q", out)
	}

	// The repository, made from the template.
	repo := b.AWS(t, "ecr", "describe-repositories", "--repository-names", "hub/library/app").Must(t).Map(t)
	arn := repo["repositories"].([]any)[0].(map[string]any)["repositoryArn"].(string)
	tags := b.AWS(t, "ecr", "list-tags-for-resource", "--resource-arn", arn).Must(t).Stdout
	if !strings.Contains(tags, `"team"`) || !strings.Contains(tags, `"platform"`) {
		t.Errorf("the cache repository's tags: %s", tags)
	}
	lp := b.AWS(t, "ecr", "get-lifecycle-policy", "--repository-name", "hub/library/app").Must(t).Map(t)
	if lp["lifecyclePolicyText"] != cacheLifecyclePolicy {
		t.Errorf("lifecycle policy from the template: %v", lp["lifecyclePolicyText"])
	}
	b.AWS(t, "ecr", "get-repository-policy", "--repository-name", "hub/library/app").Must(t)
	eventually(t, 30*time.Second, "the cached image committed", func() (bool, string) {
		r := b.AWS(t, "ecr", "describe-images", "--repository-name", "hub/library/app")
		return r.ExitCode == 0 && strings.Contains(r.Stdout, want) && strings.Contains(r.Stdout, `"v1"`), r.Stdout + r.Stderr
	})

	// The upstream goes away: the cached image is still served, an image
	// never pulled is not.
	up.stop()
	b.Docker(t, "rmi", ref).Must(t)
	b.Docker(t, "pull", ref).Must(t)
	if r := b.Docker(t, "pull", b.RegistryHost()+"/hub/library/app:never-pulled"); r.ExitCode == 0 {
		t.Error("pulling a tag never cached with the upstream down succeeded")
	}
}

// A cached tag is re-checked upstream once the re-check interval has
// passed: a tag moved upstream is followed, and while the upstream is
// down the cached image is served.
func TestECRPullThroughTagRecheck(t *testing.T) {
	up := startDistribution(t)
	img1, img2 := harness.RandomImage(t, 2, 64<<10), harness.RandomImage(t, 2, 64<<10)
	d1 := pushAnon(t, up.addr+"/team/tool:latest", img1)

	b := harness.Start(t, harness.WithArgs("--pull-through-recheck", "2s"))
	b.AWSv2(t, "ecr", "create-pull-through-cache-rule", "--ecr-repository-prefix", "mirror",
		"--upstream-registry-url", "http://"+up.addr).Must(t)
	auth := registryAuth(t, b)
	ref := b.RegistryHost() + "/mirror/team/tool:latest"
	if got, err := pullAll(ref, auth); err != nil || got != d1 {
		t.Fatalf("first pull: %s %v, want %s", got, err, d1)
	}

	d2 := pushAnon(t, up.addr+"/team/tool:latest", img2)
	if got, err := pullAll(ref, auth); err != nil || got != d1 {
		t.Errorf("pull within the re-check interval: %s %v, want the cached %s", got, err, d1)
	}
	time.Sleep(2500 * time.Millisecond)
	if got, err := pullAll(ref, auth); err != nil || got != d2 {
		t.Errorf("pull after the re-check interval: %s %v, want the moved tag's %s", got, err, d2)
	}
	eventually(t, 30*time.Second, "both images cached", func() (bool, string) {
		ds := listDigests(t, b, "mirror/team/tool")
		return ds[d1] && ds[d2], fmt.Sprint(ds)
	})

	up.stop()
	time.Sleep(2500 * time.Millisecond)
	if got, err := pullAll(ref, auth); err != nil || got != d2 {
		t.Errorf("pull with the upstream down: %s %v, want the cached %s", got, err, d2)
	}
	if got, err := pullAll(b.RegistryHost()+"/mirror/team/tool@"+d1, auth); err != nil || got != d1 {
		t.Errorf("pull by digest with the upstream down: %s %v", got, err)
	}
}

// A multi-platform index through the cache: the index and the platform a
// client pulls are cached; the index is served (from its pending record)
// until every platform it lists has been pulled, also with the upstream
// down.
func TestECRPullThroughIndex(t *testing.T) {
	up := startDistribution(t)
	idx, err := random.Index(32<<10, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(up.addr+"/multi/app:v1", name.Insecure)
	if err := remote.WriteIndex(r, idx, remote.WithAuth(authn.Anonymous)); err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()
	im, _ := idx.IndexManifest()

	b := harness.Start(t)
	b.AWSv2(t, "ecr", "create-pull-through-cache-rule", "--ecr-repository-prefix", "mirror",
		"--upstream-registry-url", "http://"+up.addr).Must(t)
	auth := registryAuth(t, b)
	base := b.RegistryHost() + "/mirror/multi/app"
	ref, _ := name.ParseReference(base+":v1", name.Insecure)
	desc, err := remote.Get(ref, auth)
	if err != nil || desc.Digest != want {
		t.Fatalf("the index through the cache: %v %v", desc, err)
	}
	child := im.Manifests[0].Digest.String()
	if got, err := pullAll(base+"@"+child, auth); err != nil || got != child {
		t.Fatalf("one platform through the cache: %s %v", got, err)
	}
	eventually(t, 30*time.Second, "the pulled platform committed", func() (bool, string) {
		ds := listDigests(t, b, "mirror/multi/app")
		return ds[child], fmt.Sprint(ds)
	})
	up.stop()
	if desc, err := remote.Get(ref, auth); err != nil || desc.Digest != want {
		t.Errorf("the index with the upstream down: %v %v", desc, err)
	}
	if got, err := pullAll(base+"@"+child, auth); err != nil || got != child {
		t.Errorf("the cached platform with the upstream down: %s %v", got, err)
	}
}

// The upstream is another Berth that needs credentials: they come from a
// Secrets Manager secret named ecr-pullthroughcache/...; skopeo copies
// through the cache.
func TestECRPullThroughFromBerthWithSecret(t *testing.T) {
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("skopeo is required under CI")
		}
		t.Skip("skopeo is not installed")
	}
	up := harness.Start(t)
	createRepo(t, up, "base/tool")
	want := pushImage(t, up.RegistryHost()+"/base/tool:1.0", harness.RandomImage(t, 3, 32<<10), registryAuth(t, up))

	b := harness.Start(t)
	ctx := context.Background()
	sm := secretsmanager.NewFromConfig(b.SDKConfig(ctx))
	mkSecret := func(name, user, token string) string {
		doc, _ := json.Marshal(map[string]string{"username": user, "accessToken": token})
		out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(string(doc))})
		if err != nil {
			t.Fatalf("CreateSecret %s: %v", name, err)
		}
		return aws.ToString(out.ARN)
	}
	good := mkSecret("ecr-pullthroughcache/upstream", "AWS", registryPassword(t, up))
	bad := mkSecret("ecr-pullthroughcache/wrong", "AWS", "not-a-token")

	c := ecrClient(b)
	rule := func(prefix, arn string) error {
		_, err := c.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{
			EcrRepositoryPrefix: aws.String(prefix), UpstreamRegistryUrl: aws.String("http://" + up.Addr()), CredentialArn: aws.String(arn),
		})
		return err
	}
	if err := rule("mirror", good); err != nil {
		t.Fatal(err)
	}
	if err := rule("badcreds", bad); err != nil {
		t.Fatal(err)
	}
	missing := strings.TrimSuffix(good, good[strings.LastIndex(good, "/"):]) + "/nothing-here-AbCdEf"
	wantECRCode(t, "a rule with a secret that does not exist", rule("nosecret", missing), "SecretNotFoundException")

	v, err := c.ValidatePullThroughCacheRule(ctx, &ecr.ValidatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("mirror")})
	if err != nil || !v.IsValid || aws.ToString(v.CredentialArn) != good {
		t.Errorf("validating the rule with good credentials: %+v %v", v, err)
	}
	v, err = c.ValidatePullThroughCacheRule(ctx, &ecr.ValidatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("badcreds")})
	if err != nil || v.IsValid || aws.ToString(v.Failure) == "" {
		t.Errorf("validating the rule with bad credentials: %+v %v", v, err)
	}

	pw := registryPassword(t, b)
	dir := t.TempDir()
	skopeoRun := func(args ...string) ([]byte, error) {
		return exec.Command(skopeo, args...).CombinedOutput()
	}
	if out, err := skopeoRun("copy", "--src-tls-verify=false", "--src-creds", "AWS:"+pw,
		"docker://"+b.RegistryHost()+"/mirror/base/tool:1.0", "oci:"+dir+":x"); err != nil {
		t.Fatalf("skopeo copy through the cache: %v\n%s", err, out)
	}
	out, err := skopeoRun("inspect", "--tls-verify=false", "--creds", "AWS:"+pw, "docker://"+b.RegistryHost()+"/mirror/base/tool:1.0")
	if err != nil || !strings.Contains(string(out), want) {
		t.Errorf("skopeo inspect of the cached image: %v\n%s", err, out)
	}
	if out, err := skopeoRun("copy", "--src-tls-verify=false", "--src-creds", "AWS:"+pw,
		"docker://"+b.RegistryHost()+"/badcreds/base/tool:1.0", "oci:"+t.TempDir()+":x"); err == nil {
		t.Errorf("pulling through a rule whose credentials the upstream refuses succeeded:\n%s", out)
	}
}

// An upstream that lies — a layer whose bytes do not match its digest, a
// manifest that is not what its digest says — is refused, and nothing of
// it is cached.
func TestECRPullThroughLyingUpstream(t *testing.T) {
	layer := bytes.Repeat([]byte("the layer Berth was promised "), 4096)
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	sum := func(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }
	manifest := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},`+
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d}]}`,
		sum(config), len(config), sum(layer), len(layer)))
	lie := bytes.ToUpper(layer) // same length, other bytes
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case p == "/v2/" || p == "/v2":
			w.WriteHeader(http.StatusOK)
		case strings.HasSuffix(p, "/manifests/v1"), strings.HasSuffix(p, "/manifests/"+sum(manifest)):
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			if strings.Contains(p, "/badmanifest/") {
				w.Header().Set("Docker-Content-Digest", sum([]byte("something else")))
			} else {
				w.Header().Set("Docker-Content-Digest", sum(manifest))
			}
			w.Header().Set("Content-Length", fmt.Sprint(len(manifest)))
			_, _ = w.Write(manifest)
		case strings.HasSuffix(p, "/blobs/"+sum(config)):
			w.Header().Set("Content-Length", fmt.Sprint(len(config)))
			_, _ = w.Write(config)
		case strings.HasSuffix(p, "/blobs/"+sum(layer)):
			w.Header().Set("Content-Length", fmt.Sprint(len(lie)))
			_, _ = w.Write(lie)
		case strings.Contains(p, "/manifests/sha256:"):
			// Any other digest: the same manifest, which is not it.
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			_, _ = w.Write(manifest)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(liar.Close)

	b := harness.Start(t)
	ctx := context.Background()
	c := ecrClient(b)
	if _, err := c.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{
		EcrRepositoryPrefix: aws.String("liar"), UpstreamRegistryUrl: aws.String(liar.URL),
	}); err != nil {
		t.Fatal(err)
	}
	auth := registryAuth(t, b)
	for i := 0; i < 2; i++ { // and again: nothing bad was cached the first time
		if _, err := pullAll(b.RegistryHost()+"/liar/lies/img:v1", auth); err == nil {
			t.Fatalf("pull %d of an image whose layer does not match its digest succeeded", i+1)
		}
	}
	layers, err := c.BatchCheckLayerAvailability(ctx, &ecr.BatchCheckLayerAvailabilityInput{
		RepositoryName: aws.String("liar/lies/img"), LayerDigests: []string{sum(layer), sum(config)},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers.Layers {
		if aws.ToString(l.LayerDigest) == sum(layer) && l.LayerAvailability == types.LayerAvailabilityAvailable {
			t.Errorf("the lying layer was cached: %+v", l)
		}
	}
	for _, f := range layers.Failures {
		if aws.ToString(f.LayerDigest) == sum(config) {
			t.Errorf("the honest config blob was not cached: %+v", f)
		}
	}
	if imgs, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("liar/lies/img")}); err != nil || len(imgs.ImageDetails) != 0 {
		t.Errorf("images cached from the liar: %+v %v", imgs, err)
	}

	// A manifest that is not what the upstream says it is: refused, and no
	// repository is made for it.
	ref, _ := name.ParseReference(b.RegistryHost()+"/liar/lies/badmanifest:v1", name.Insecure)
	if _, err := remote.Get(ref, auth); err == nil || !strings.Contains(err.Error(), "does not match its digest") {
		t.Errorf("a manifest whose digest header lies: %v, want a refusal", err)
	}
	ref, _ = name.ParseReference(b.RegistryHost()+"/liar/lies/other@"+sum([]byte("not the manifest")), name.Insecure)
	if _, err := remote.Get(ref, auth); err == nil {
		t.Error("a manifest by digest that hashes to another digest was served")
	}
	for _, repo := range []string{"liar/lies/badmanifest", "liar/lies/other"} {
		_, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{repo}})
		wantECRCode(t, "describing "+repo, err, "RepositoryNotFoundException")
	}
}

// The rule operations check their input as ECR does.
func TestECRPullThroughRuleAPI(t *testing.T) {
	b := harness.Start(t)
	ctx := context.Background()
	c := ecrClient(b)
	create := func(prefix, url string, mutate ...func(*ecr.CreatePullThroughCacheRuleInput)) (*ecr.CreatePullThroughCacheRuleOutput, error) {
		in := &ecr.CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String(prefix), UpstreamRegistryUrl: aws.String(url)}
		for _, m := range mutate {
			m(in)
		}
		return c.CreatePullThroughCacheRule(ctx, in)
	}
	out, err := create("quay", "quay.io")
	if err != nil || out.UpstreamRegistry != types.UpstreamRegistryQuay || out.UpstreamRepositoryPrefix != nil || out.CreatedAt == nil {
		t.Errorf("create quay.io: %+v %v", out, err)
	}
	_, err = create("quay", "quay.io")
	wantECRCode(t, "a second rule with the prefix", err, "PullThroughCacheRuleAlreadyExistsException")
	_, err = create("hub", "registry-1.docker.io")
	wantECRCode(t, "docker hub without credentials", err, "InvalidParameterException")
	_, err = create("bad", "ftp://example.com")
	wantECRCode(t, "an ftp upstream", err, "InvalidParameterException")
	_, err = create("bad", "example.com/some/path")
	wantECRCode(t, "an upstream URL with a path", err, "InvalidParameterException")
	_, err = create("ROOT", "quay.io", func(in *ecr.CreatePullThroughCacheRuleInput) { in.UpstreamRepositoryPrefix = aws.String("team") })
	wantECRCode(t, "an upstream prefix with ROOT", err, "InvalidParameterException")
	_, err = create("Upper", "quay.io")
	wantECRCode(t, "an invalid prefix", err, "InvalidParameterException")
	if _, err := create("k8s", "registry.k8s.io", func(in *ecr.CreatePullThroughCacheRuleInput) { in.UpstreamRepositoryPrefix = aws.String("pause") }); err != nil {
		t.Fatal(err)
	}

	d, err := c.DescribePullThroughCacheRules(ctx, &ecr.DescribePullThroughCacheRulesInput{})
	if err != nil || len(d.PullThroughCacheRules) != 2 || aws.ToString(d.PullThroughCacheRules[0].EcrRepositoryPrefix) != "k8s" ||
		aws.ToString(d.PullThroughCacheRules[0].UpstreamRepositoryPrefix) != "pause" {
		t.Errorf("describe: %+v %v", d, err)
	}
	p, err := c.DescribePullThroughCacheRules(ctx, &ecr.DescribePullThroughCacheRulesInput{MaxResults: aws.Int32(1)})
	if err != nil || len(p.PullThroughCacheRules) != 1 || p.NextToken == nil {
		t.Fatalf("describe page 1: %+v %v", p, err)
	}
	p, err = c.DescribePullThroughCacheRules(ctx, &ecr.DescribePullThroughCacheRulesInput{MaxResults: aws.Int32(1), NextToken: p.NextToken})
	if err != nil || len(p.PullThroughCacheRules) != 1 || aws.ToString(p.PullThroughCacheRules[0].EcrRepositoryPrefix) != "quay" {
		t.Errorf("describe page 2: %+v %v", p, err)
	}
	_, err = c.DescribePullThroughCacheRules(ctx, &ecr.DescribePullThroughCacheRulesInput{EcrRepositoryPrefixes: []string{"nope"}})
	wantECRCode(t, "describing a missing rule", err, "PullThroughCacheRuleNotFoundException")
	_, err = c.UpdatePullThroughCacheRule(ctx, &ecr.UpdatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("nope"), CustomRoleArn: aws.String("arn:aws:iam::000000000000:role/x")})
	wantECRCode(t, "updating a missing rule", err, "PullThroughCacheRuleNotFoundException")
	_, err = c.DeletePullThroughCacheRule(ctx, &ecr.DeletePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("quay"), RegistryId: aws.String("111122223333")})
	wantECRCode(t, "deleting in another registry", err, "AccessDeniedException")
	del, err := c.DeletePullThroughCacheRule(ctx, &ecr.DeletePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("quay")})
	if err != nil || aws.ToString(del.UpstreamRegistryUrl) != "quay.io" {
		t.Errorf("delete: %+v %v", del, err)
	}
	_, err = c.DeletePullThroughCacheRule(ctx, &ecr.DeletePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("quay")})
	wantECRCode(t, "deleting twice", err, "PullThroughCacheRuleNotFoundException")
}
