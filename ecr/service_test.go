package ecr

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	ecrapi "github.com/berth-dev/berth/api/ecr"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/ecr/token"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/registry/blobstore/filesystem"
	"github.com/berth-dev/berth/registry/handlers"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/store/sqlite"
)

// fixture is a Service over real stores in a temporary directory, with a
// clock the test moves.
type fixture struct {
	svc    *Service
	reg    *registry.Registry
	runner *LifecycleRunner
	now    time.Time
	ctx    context.Context
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := filesystem.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return f.now }
	var runner *LifecycleRunner
	f.reg = registry.New(st, blobs, registry.Options{Now: clock, OnPush: func(img registry.Image) {
		if runner != nil {
			runner.OnPush(img)
		}
	}})
	t.Cleanup(func() { f.reg.Close() })
	key := bytes.Repeat([]byte("k"), 32)
	tokens, err := token.New(key)
	if err != nil {
		t.Fatal(err)
	}
	f.svc, err = New(Options{Registry: f.reg, Store: st, Tokens: tokens, URLKey: key, RegistryHost: "localhost:4566", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	runner = f.svc.NewLifecycleRunner(time.Hour)
	f.runner = runner
	f.ctx = awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: "123456789012", Region: "eu-west-1"})
	return f
}

func (f *fixture) repo(t *testing.T, name string) {
	t.Helper()
	if _, err := f.svc.CreateRepository(f.ctx, &ecrapi.CreateRepositoryInput{RepositoryName: ptr(name)}); err != nil {
		t.Fatal(err)
	}
}

// push stores a small random image under tag (untagged when tag is "")
// and advances the clock a minute, so push times are distinct.
func (f *fixture) push(t *testing.T, name, tag string) string {
	t.Helper()
	ref := registry.Repo{Account: "123456789012", Region: "eu-west-1", Name: name}
	layer := make([]byte, 64)
	rand.Read(layer)
	config := []byte(`{"os":"linux"}`)
	for _, b := range [][]byte{layer, config} {
		if _, err := f.reg.PutBlob(f.ctx, ref, digest.FromBytes(b), bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	m, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest.FromBytes(config), "size": len(config)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest.FromBytes(layer), "size": len(layer)}},
	})
	var tags []string
	if tag != "" {
		tags = []string{tag}
	}
	img, _, err := f.reg.PutManifestTags(f.ctx, ref, "", tags, "", m)
	if err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Minute)
	return img.Digest.String()
}

func (f *fixture) digests(t *testing.T, name string) map[string]bool {
	t.Helper()
	out, err := f.svc.DescribeImages(f.ctx, &ecrapi.DescribeImagesInput{RepositoryName: ptr(name), MaxResults: ptr(int32(1000))})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, d := range out.ImageDetails {
		got[*d.ImageDigest] = true
	}
	return got
}

func code(err error) string {
	if e := awsapi.AsError(err); e != nil {
		return e.Code
	}
	return fmt.Sprint(err)
}

const keepTen = `{"rules":[{"rulePriority":1,"description":"Keep last 10 images","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":10},"action":{"type":"expire"}}]}`

// Preview and execution are the same evaluation: what the preview lists is
// exactly what the runner deletes.
func TestLifecyclePreviewEqualsExecution(t *testing.T) {
	f := newFixture(t)
	f.repo(t, "app")
	var pushed []string
	for i := 0; i < 15; i++ {
		pushed = append(pushed, f.push(t, "app", fmt.Sprintf("v%d", i)))
	}
	if _, err := f.svc.StartLifecyclePolicyPreview(f.ctx, &ecrapi.StartLifecyclePolicyPreviewInput{RepositoryName: ptr("app"), LifecyclePolicyText: ptr(keepTen)}); err != nil {
		t.Fatal(err)
	}
	prev, err := f.svc.GetLifecyclePolicyPreview(f.ctx, &ecrapi.GetLifecyclePolicyPreviewInput{RepositoryName: ptr("app"), MaxResults: ptr(int32(2))})
	if err != nil {
		t.Fatal(err)
	}
	if *prev.Status != ecrapi.LifecyclePolicyPreviewStatusComplete || *prev.Summary.ExpiringImageTotalCount != 5 || len(prev.PreviewResults) != 2 || prev.NextToken == nil {
		t.Fatalf("preview page: %+v", prev)
	}
	expiring := map[string]bool{}
	for tok := (*string)(nil); ; {
		page, err := f.svc.GetLifecyclePolicyPreview(f.ctx, &ecrapi.GetLifecyclePolicyPreviewInput{RepositoryName: ptr("app"), MaxResults: ptr(int32(2)), NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.PreviewResults {
			expiring[*r.ImageDigest] = true
		}
		if tok = page.NextToken; tok == nil {
			break
		}
	}
	if len(expiring) != 5 {
		t.Fatalf("preview pages list %d images, want 5", len(expiring))
	}
	for _, d := range pushed[:5] {
		if !expiring[d] {
			t.Errorf("the oldest image %s is not in the preview", d)
		}
	}

	if _, err := f.svc.PutLifecyclePolicy(f.ctx, &ecrapi.PutLifecyclePolicyInput{RepositoryName: ptr("app"), LifecyclePolicyText: ptr(keepTen)}); err != nil {
		t.Fatal(err)
	}
	f.runner.Sweep(f.ctx)
	left := f.digests(t, "app")
	if len(left) != 10 {
		t.Fatalf("%d images left, want 10", len(left))
	}
	for _, d := range pushed {
		if left[d] == expiring[d] {
			t.Errorf("%s: left %v, previewed %v", d, left[d], expiring[d])
		}
	}
	pol, err := f.svc.GetLifecyclePolicy(f.ctx, &ecrapi.GetLifecyclePolicyInput{RepositoryName: ptr("app")})
	if err != nil || pol.LastEvaluatedAt == nil || !pol.LastEvaluatedAt.Equal(f.now) {
		t.Errorf("lastEvaluatedAt: %+v %v, want %s", pol, err, f.now)
	}
}

// The runner is level-triggered: a repository deleted behind its back
// drops out of the index, and a push triggers an evaluation.
func TestLifecycleRunnerNotifyAndSweep(t *testing.T) {
	f := newFixture(t)
	f.runner.Debounce = time.Millisecond
	f.repo(t, "a")
	f.repo(t, "gone")
	untagged := `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`
	for _, n := range []string{"a", "gone"} {
		if _, err := f.svc.PutLifecyclePolicy(f.ctx, &ecrapi.PutLifecyclePolicyInput{RepositoryName: ptr(n), LifecyclePolicyText: ptr(untagged)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.DeleteRepository(f.ctx, &ecrapi.DeleteRepositoryInput{RepositoryName: ptr("gone")}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() { f.runner.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	first := f.push(t, "a", "latest")
	second := f.push(t, "a", "latest")
	third := f.push(t, "a", "latest") // first and second are now untagged
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := f.digests(t, "a")
		if len(left) == 2 && !left[first] && left[second] && left[third] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after pushes: images %v; want the oldest untagged one expired", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var ids []string
	f.svc.st.View(f.ctx, func(tx store.Tx) error {
		rs, err := tx.ListResources(kindLifecycleIndex, "", "", "", store.Page{})
		for _, r := range rs {
			ids = append(ids, r.ID)
		}
		return err
	})
	if strings.Join(ids, ",") != "123456789012/eu-west-1/a" {
		t.Errorf("lifecycle index after a sweep: %v", ids)
	}
}

// Transition rules archive images; archived images show as ARCHIVED, are
// not returned by BatchGetImage, and come back with UpdateImageStorageClass.
func TestArchive(t *testing.T) {
	f := newFixture(t)
	f.repo(t, "arch")
	old := f.push(t, "arch", "old")
	f.now = f.now.Add(40 * 24 * time.Hour)
	fresh := f.push(t, "arch", "new")
	policy := `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":30},"action":{"type":"transition","targetStorageClass":"archive"}}]}`
	if _, err := f.svc.PutLifecyclePolicy(f.ctx, &ecrapi.PutLifecyclePolicyInput{RepositoryName: ptr("arch"), LifecyclePolicyText: ptr(policy)}); err != nil {
		t.Fatal(err)
	}
	f.runner.Sweep(f.ctx)
	out, err := f.svc.DescribeImages(f.ctx, &ecrapi.DescribeImagesInput{RepositoryName: ptr("arch"), Filter: &ecrapi.DescribeImagesFilter{ImageStatus: ptr(ecrapi.ImageStatusFilterArchived)}})
	if err != nil || len(out.ImageDetails) != 1 || *out.ImageDetails[0].ImageDigest != old || out.ImageDetails[0].LastArchivedAt == nil {
		t.Fatalf("archived images: %+v %v", out, err)
	}
	got, err := f.svc.BatchGetImage(f.ctx, &ecrapi.BatchGetImageInput{RepositoryName: ptr("arch"), ImageIds: []ecrapi.ImageIdentifier{{ImageTag: ptr("old")}, {ImageTag: ptr("new")}}})
	if err != nil || len(got.Images) != 1 || *got.Images[0].ImageId.ImageDigest != fresh || len(got.Failures) != 1 || *got.Failures[0].FailureCode != ecrapi.ImageFailureCodeImageInaccessible {
		t.Fatalf("BatchGetImage with an archived image: %+v %v", got, err)
	}
	up, err := f.svc.UpdateImageStorageClass(f.ctx, &ecrapi.UpdateImageStorageClassInput{RepositoryName: ptr("arch"), ImageId: &ecrapi.ImageIdentifier{ImageTag: ptr("old")}, TargetStorageClass: ptr(ecrapi.TargetStorageClassStandard)})
	if err != nil || *up.ImageStatus != ecrapi.ImageStatusActive {
		t.Fatalf("restore: %+v %v", up, err)
	}
	out, _ = f.svc.DescribeImages(f.ctx, &ecrapi.DescribeImagesInput{RepositoryName: ptr("arch"), ImageIds: []ecrapi.ImageIdentifier{{ImageTag: ptr("old")}}})
	if d := out.ImageDetails[0]; *d.ImageStatus != ecrapi.ImageStatusActive || d.LastActivatedAt == nil {
		t.Errorf("restored image: %+v", d)
	}
}

// Every operation refuses another account's registryId.
func TestRegistryIDMustBeCallers(t *testing.T) {
	f := newFixture(t)
	_, err := f.svc.CreateRepository(f.ctx, &ecrapi.CreateRepositoryInput{RepositoryName: ptr("x1"), RegistryId: ptr("210987654321")})
	if code(err) != awsapi.CodeAccessDenied {
		t.Errorf("CreateRepository in another registry: %v", err)
	}
	f.repo(t, "mine")
	_, err = f.svc.ListImages(f.ctx, &ecrapi.ListImagesInput{RepositoryName: ptr("mine"), RegistryId: ptr("123456789012")})
	if err != nil {
		t.Errorf("ListImages naming the caller's own registry: %v", err)
	}
}

func TestListImagesPages(t *testing.T) {
	f := newFixture(t)
	f.repo(t, "many")
	for i := 0; i < 7; i++ {
		f.push(t, "many", fmt.Sprintf("t%d", i))
	}
	f.push(t, "many", "")
	seen := map[string]int{}
	var tok *string
	for pages := 0; ; pages++ {
		out, err := f.svc.ListImages(f.ctx, &ecrapi.ListImagesInput{RepositoryName: ptr("many"), MaxResults: ptr(int32(3)), NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range out.ImageIds {
			seen[*id.ImageDigest+"@"+str(id.ImageTag)]++
		}
		if tok = out.NextToken; tok == nil || pages > 10 {
			break
		}
	}
	if len(seen) != 8 {
		t.Errorf("paged ListImages saw %d ids, want 8: %v", len(seen), seen)
	}
	untagged, err := f.svc.ListImages(f.ctx, &ecrapi.ListImagesInput{RepositoryName: ptr("many"), Filter: &ecrapi.ListImagesFilter{TagStatus: ptr(ecrapi.TagStatusUntagged)}})
	if err != nil || len(untagged.ImageIds) != 1 || untagged.ImageIds[0].ImageTag != nil {
		t.Errorf("untagged filter: %+v %v", untagged, err)
	}
}

// The signed layer URL serves the blob, and only as signed.
func TestLayerDownloadURL(t *testing.T) {
	f := newFixture(t)
	f.repo(t, "dl")
	ref := registry.Repo{Account: "123456789012", Region: "eu-west-1", Name: "dl"}
	data := []byte("layer bytes")
	d := digest.FromBytes(data)
	if _, err := f.reg.PutBlob(f.ctx, ref, d, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	out, err := f.svc.GetDownloadUrlForLayer(f.ctx, &ecrapi.GetDownloadUrlForLayerInput{RepositoryName: ptr("dl"), LayerDigest: ptr(d.String())})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f.svc.LayerHandler())
	defer srv.Close()
	get := func(u string) (int, []byte) {
		u = strings.Replace(u, "http://localhost:4566", srv.URL, 1)
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if c, b := get(*out.DownloadUrl); c != 200 || !bytes.Equal(b, data) {
		t.Errorf("download: %d %q", c, b)
	}
	if c, _ := get(strings.Replace(*out.DownloadUrl, "repository=dl", "repository=other", 1)); c != http.StatusForbidden {
		t.Errorf("download with a changed repository: %d", c)
	}
	f.now = f.now.Add(DownloadURLTTL + time.Second)
	if c, _ := get(*out.DownloadUrl); c != http.StatusForbidden {
		t.Errorf("expired download: %d", c)
	}
}

func TestAuthorizer(t *testing.T) {
	tokens, _ := token.New(bytes.Repeat([]byte("k"), 32))
	a := &Authorizer{Tokens: tokens, RegistryHost: "localhost:4566"}
	pw, _ := tokens.Issue("123456789012", "eu-west-1")
	r := httptest.NewRequest("GET", "/v2/", nil)
	r.SetBasicAuth("AWS", pw)
	if acct, region, err := a.Authorize(r, "", nil); err != nil || acct != "123456789012" || region != "eu-west-1" {
		t.Errorf("valid token: %s %s %v", acct, region, err)
	}
	for _, tc := range []struct{ user, pw string }{{"", ""}, {"AWS", "forged"}, {"someone", pw}} {
		r := httptest.NewRequest("GET", "/v2/", nil)
		if tc.user != "" {
			r.SetBasicAuth(tc.user, tc.pw)
		}
		_, _, err := a.Authorize(r, "x", []string{handlers.ActionPull})
		var ch *handlers.Challenge
		if !errors.As(err, &ch) || ch.Realm != "http://localhost:4566/" {
			t.Errorf("%q/%q: %v, want a challenge", tc.user, tc.pw, err)
		}
	}
}

func TestHelpers(t *testing.T) {
	id := "0123456789abcdef0123456789abcdef"
	if u := toUploadID(id); u != "01234567-89ab-cdef-0123-456789abcdef" || fromUploadID(u) != id {
		t.Errorf("upload id round trip: %s", u)
	}
	region, acct, name, ok := parseRepositoryARN("arn:aws:ecr:us-east-1:123456789012:repository/team/app")
	if !ok || region != "us-east-1" || acct != "123456789012" || name != "team/app" {
		t.Errorf("parseRepositoryARN: %s %s %s %v", region, acct, name, ok)
	}
	for _, bad := range []string{"", "arn:aws:s3:::bucket", "arn:aws:ecr:us-east-1:123456789012:repository/"} {
		if _, _, _, ok := parseRepositoryARN(bad); ok {
			t.Errorf("parseRepositoryARN(%q) ok", bad)
		}
	}
	for text, want := range map[string]bool{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*"}]}`:                                                  true,
		`{"Version":"2008-10-17","Statement":{"Sid":"a","Effect":"Deny","Principal":{"AWS":["arn:aws:iam::1:root"]},"Action":["ecr:BatchGetImage"]}}`: true,
		`{"Statement":[{"Effect":"Allow","Action":"ecr:*"}]}`:                                                                                         false, // no principal
		`{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"ecr:*"}]}`:                                                                         false,
		`{"Statement":[]}`: false,
		`not json`:         false,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*","Bogus":1}]}`: false,
	} {
		if got := checkPolicy(text, true); got != want {
			t.Errorf("checkPolicy(%s) = %v", text, got)
		}
	}
}
