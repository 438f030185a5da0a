package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/smithy-go"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/test/harness"
)

// ecrClient is an aws-sdk-go-v2 ECR client of the view b.
func ecrClient(b *harness.Berth) *ecr.Client {
	return ecr.NewFromConfig(b.SDKConfig(context.Background()))
}

// ecrErrorCode is the AWS error code of err, or "" when it is none.
func ecrErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func wantECRCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s succeeded, want %s", what, code)
		return
	}
	if got := ecrErrorCode(err); got != code {
		t.Errorf("%s: %v, want %s", what, err, code)
	}
}

// createRepo creates a repository with the SDK and returns its URI.
func createRepo(t *testing.T, b *harness.Berth, repoName string, mutate ...func(*ecr.CreateRepositoryInput)) string {
	t.Helper()
	in := &ecr.CreateRepositoryInput{RepositoryName: aws.String(repoName)}
	for _, m := range mutate {
		m(in)
	}
	out, err := ecrClient(b).CreateRepository(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateRepository %s: %v", repoName, err)
	}
	return aws.ToString(out.Repository.RepositoryUri)
}

// registryPassword is the docker password GetAuthorizationToken gives b's
// identity: the token is base64("AWS:<password>").
func registryPassword(t *testing.T, b *harness.Berth) string {
	t.Helper()
	out, err := ecrClient(b).GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatalf("GetAuthorizationToken: %v", err)
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		t.Fatal(err)
	}
	user, pw, ok := strings.Cut(string(raw), ":")
	if !ok || user != "AWS" {
		t.Fatalf("authorization token decodes to %q, want AWS:<password>", raw)
	}
	return pw
}

// registryAuth is go-containerregistry's view of b's registry credentials.
func registryAuth(t *testing.T, b *harness.Berth) remote.Option {
	return remote.WithAuth(&authn.Basic{Username: "AWS", Password: registryPassword(t, b)})
}

// pushImage pushes img to ref (host/repo:tag) the way crane does, and
// returns its digest.
func pushImage(t *testing.T, ref string, img v1.Image, auth remote.Option) string {
	t.Helper()
	tag, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := remote.Write(tag, img, auth, remote.WithContext(ctx)); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// listDigests is the set of image digests ListImages returns, following
// nextToken.
func listDigests(t *testing.T, b *harness.Berth, repoName string) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	p := ecr.NewListImagesPaginator(ecrClient(b), &ecr.ListImagesInput{RepositoryName: aws.String(repoName)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("ListImages %s: %v", repoName, err)
		}
		for _, id := range page.ImageIds {
			got[aws.ToString(id.ImageDigest)] = true
		}
	}
	return got
}

// httpStatus GETs url (with optional basic credentials) and returns the
// status code and the WWW-Authenticate header.
func httpStatus(t *testing.T, method, url, user, pw string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pw)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1e9)
}
