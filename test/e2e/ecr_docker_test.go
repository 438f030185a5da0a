package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/crane"

	"github.com/berth-dev/berth/test/harness"
)

// The ECR getting-started story on a stock Docker engine: create a
// repository, log in with get-login-password, push, pull, run.
func TestECRDockerLoginPushPull(t *testing.T) {
	harness.RequireDocker(t)
	b := harness.Start(t)
	uri := createRepo(t, b, uniqueName("docker/app"))
	local := "berth-test/ecr-app:" + fmt.Sprint(time.Now().UnixNano())
	harness.LoadIntoDocker(t, harness.TestImage(t, "ecr-app"), local)
	remoteRef := uri + ":v1"
	b.Docker(t, "tag", local, remoteRef).Must(t)
	t.Cleanup(func() { b.Docker(t, "rmi", "-f", remoteRef) })

	// Without a login the registry refuses with docker's challenge.
	r := b.Docker(t, "push", remoteRef)
	if r.ExitCode == 0 {
		t.Fatal("docker push without login succeeded")
	}
	if s := r.Stdout + r.Stderr; !strings.Contains(s, "no basic auth credentials") && !strings.Contains(s, "unauthorized") && !strings.Contains(s, "authentication required") {
		t.Errorf("docker push without login: %s", s)
	}
	code, challenge := httpStatus(t, "GET", b.Endpoint()+"/v2/", "", "")
	if code != 401 || challenge != fmt.Sprintf(`Basic realm="http://%s/",service="ecr.amazonaws.com"`, b.RegistryHost()) {
		t.Errorf("GET /v2/ without credentials: %d %q", code, challenge)
	}
	if code, _ := httpStatus(t, "GET", b.Endpoint()+"/v2/", "AWS", "forged"); code != 401 {
		t.Errorf("GET /v2/ with a forged token: %d, want 401", code)
	}

	b.DockerLogin(t)
	b.Docker(t, "push", remoteRef).Must(t)

	desc, err := ecrClient(b).DescribeImages(context.Background(), &ecr.DescribeImagesInput{
		RepositoryName: aws.String(strings.TrimPrefix(uri, b.RegistryHost()+"/")),
		ImageIds:       []types.ImageIdentifier{{ImageTag: aws.String("v1")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.ImageDetails) != 1 || aws.ToInt64(desc.ImageDetails[0].ImageSizeInBytes) <= 0 {
		t.Errorf("DescribeImages after docker push: %+v", desc.ImageDetails)
	}

	b.Docker(t, "rmi", remoteRef).Must(t)
	b.Docker(t, "pull", remoteRef).Must(t)
	out := b.Docker(t, "run", "--rm", remoteRef, "print", "pulled").Must(t).Stdout
	if !strings.Contains(out, "pulled") {
		t.Errorf("the pulled image printed %q", out)
	}
}

// docker push of a moved tag in an immutable repository is DENIED, except
// for tags matching an exclusion filter.
func TestECRDockerTagImmutability(t *testing.T) {
	harness.RequireDocker(t)
	b := harness.Start(t)
	repoName := uniqueName("docker/immutable")
	uri := createRepo(t, b, repoName, func(in *ecr.CreateRepositoryInput) {
		in.ImageTagMutability = types.ImageTagMutabilityImmutableWithExclusion
		in.ImageTagMutabilityExclusionFilters = []types.ImageTagMutabilityExclusionFilter{
			{FilterType: types.ImageTagMutabilityExclusionFilterTypeWildcard, Filter: aws.String("dev-*")},
		}
	})
	b.DockerLogin(t)
	stamp := fmt.Sprint(time.Now().UnixNano())
	for i, v := range []string{"one", "two"} {
		local := fmt.Sprintf("berth-test/immut-%s:%s", v, stamp)
		harness.LoadIntoDocker(t, harness.TestImage(t, "immut-"+v), local)
		for _, tag := range []string{"v1", "dev-1"} {
			ref := uri + ":" + tag
			b.Docker(t, "tag", local, ref).Must(t)
			r := b.Docker(t, "push", ref)
			switch {
			case i == 0 || tag == "dev-1":
				r.Must(t)
			case r.ExitCode == 0:
				t.Errorf("pushing a different image to immutable tag %s succeeded", tag)
			case !strings.Contains(r.Stdout+r.Stderr, "denied") && !strings.Contains(r.Stdout+r.Stderr, "already exists"):
				t.Errorf("immutable tag push failed with: %s %s", r.Stdout, r.Stderr)
			}
			b.Docker(t, "rmi", ref)
		}
	}
}

// skopeo and crane push and pull with the ECR token as credentials.
func TestECRSkopeoAndCrane(t *testing.T) {
	b := harness.Start(t)
	uri := createRepo(t, b, "tools/app")
	pw := registryPassword(t, b)

	// crane (go-containerregistry, as the crane CLI) push and copy.
	img := harness.RandomImage(t, 2, 2048)
	opts := []crane.Option{crane.Insecure, crane.WithAuth(&authn.Basic{Username: "AWS", Password: pw})}
	if err := crane.Push(img, uri+":crane", opts...); err != nil {
		t.Fatalf("crane push: %v", err)
	}
	if err := crane.Copy(uri+":crane", uri+":copied", opts...); err != nil {
		t.Fatalf("crane copy: %v", err)
	}
	tags, err := crane.ListTags(uri, opts...)
	if err != nil || strings.Join(tags, ",") != "copied,crane" {
		t.Errorf("crane ls: %v %v", tags, err)
	}
	want, _ := img.Digest()
	if got, err := crane.Digest(uri+":copied", opts...); err != nil || got != want.String() {
		t.Errorf("crane digest: %s %v, want %s", got, err, want)
	}
	if err := crane.Push(img, uri+":nocreds", crane.Insecure); err == nil {
		t.Error("crane push without credentials succeeded")
	}

	// The crane CLI, when installed (.ci/run installs it), logs in with the
	// token as docker does.
	if craneBin, err := exec.LookPath("crane"); err == nil {
		cfg := t.TempDir()
		crane := func(args ...string) (string, error) {
			cmd := exec.Command(craneBin, args...)
			cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+cfg)
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		if out, err := crane("ls", "--insecure", uri); err == nil {
			t.Errorf("crane ls without login succeeded: %s", out)
		}
		if out, err := crane("auth", "login", b.RegistryHost(), "-u", "AWS", "-p", pw); err != nil {
			t.Fatalf("crane auth login: %v\n%s", err, out)
		}
		if out, err := crane("ls", "--insecure", uri); err != nil || !strings.Contains(out, "copied") {
			t.Errorf("crane ls after login: %v\n%s", err, out)
		}
	} else {
		t.Log("the crane CLI is not on PATH; crane was exercised as a library only")
	}

	// skopeo copies between a local OCI layout and Berth.
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Skip("skopeo is not installed")
	}
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		out, err := exec.Command(skopeo, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("copy", "--src-tls-verify=false", "--src-creds", "AWS:"+pw, "docker://"+uri+":crane", "oci:"+dir+":x")
	run("copy", "--dest-tls-verify=false", "--dest-creds", "AWS:"+pw, "oci:"+dir+":x", "docker://"+uri+":skopeo")
	if _, err := crane.Digest(uri+":skopeo", opts...); err != nil {
		t.Errorf("image pushed by skopeo: %v", err)
	}
	out, err := exec.Command(skopeo, "copy", "--dest-tls-verify=false", "oci:"+dir+":x", "docker://"+uri+":anon").CombinedOutput()
	if err == nil {
		t.Errorf("skopeo copy without credentials succeeded:\n%s", out)
	}
}
