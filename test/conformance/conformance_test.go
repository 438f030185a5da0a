// Package conformance runs the OCI distribution-spec conformance suite
// against a running Berth, through ECR's own login flow.
package conformance

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/berth-dev/berth/test/harness"
)

// suiteVersion pins the conformance suite; bump it deliberately.
const (
	suiteModule  = "github.com/opencontainers/distribution-spec/conformance"
	suiteVersion = "v0.0.0-20260831232431-97274622c111"
)

const (
	account = "123456789012"
	repo1   = "conformance/repo1"
	repo2   = "conformance/repo2"
)

// suiteBinary returns the conformance binary, installing it once into a
// version-named directory under the Go bin directory.
func suiteBinary(t *testing.T) string {
	t.Helper()
	gobin := goEnv(t, "GOBIN")
	if gobin == "" {
		gobin = filepath.Join(goEnv(t, "GOPATH"), "bin")
	}
	dir := filepath.Join(gobin, "oci-conformance-"+suiteVersion)
	bin := filepath.Join(dir, "conformance")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command("go", "install", suiteModule+"@"+suiteVersion)
	// Outside the module, so that its dependencies do not touch our go.mod.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("installing the conformance suite: %v\n%s", err, out)
	}
	return bin
}

func goEnv(t *testing.T, key string) string {
	t.Helper()
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", key, err)
	}
	return strings.TrimSpace(string(out))
}

// TestOCIConformance runs the suite against a full `berth up`, logged in
// the way docker is: user AWS with the password from GetAuthorizationToken,
// into repositories made with CreateRepository.
func TestOCIConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the full OCI conformance suite")
	}
	bin := suiteBinary(t)
	b := harness.Start(t).As(account, "secret")
	ctx := context.Background()
	client := ecr.NewFromConfig(b.SDKConfig(ctx))
	for _, name := range []string{repo1, repo2} {
		if _, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(tok.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		t.Fatal(err)
	}
	user, password, _ := strings.Cut(string(raw), ":")

	results := t.TempDir()
	if dir := os.Getenv("BERTH_CONFORMANCE_RESULTS"); dir != "" {
		results = dir
	}
	cmd := exec.Command(bin)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(),
		"OCI_REGISTRY="+b.RegistryHost(),
		"OCI_USERNAME="+user,
		"OCI_PASSWORD="+password,
		"OCI_TLS=disabled",
		"OCI_REPO1="+repo1,
		"OCI_REPO2="+repo2,
		"OCI_RESULTS_DIR="+results,
		// The workflows the brief names, in the suite's legacy spelling...
		"OCI_TEST_PULL=1",
		"OCI_TEST_PUSH=1",
		"OCI_TEST_CONTENT_DISCOVERY=1",
		"OCI_TEST_CONTENT_MANAGEMENT=1",
		// ...and every optional API the suite knows, including the ones only
		// its "dev" profile turns on.
		"OCI_API_PING=true",
		"OCI_API_PULL=true",
		"OCI_API_PUSH=true",
		"OCI_API_BLOBS_ATOMIC=true",
		"OCI_API_BLOBS_DELETE=true",
		"OCI_API_BLOBS_DIGEST_HEADER=true",
		"OCI_API_BLOBS_MOUNT_ANONYMOUS=true",
		"OCI_API_BLOBS_UPLOAD_CANCEL=true",
		"OCI_API_MANIFESTS_ATOMIC=true",
		"OCI_API_MANIFESTS_DELETE=true",
		"OCI_API_MANIFESTS_DIGEST_HEADER=true",
		"OCI_API_MANIFESTS_TAG_PARAM=true",
		"OCI_API_TAGS_ATOMIC=true",
		"OCI_API_TAGS_DELETE=true",
		"OCI_API_TAGS_LIST=true",
		"OCI_API_REFERRER=true",
		"OCI_DATA_IMAGE=true",
		"OCI_DATA_INDEX=true",
		"OCI_DATA_INDEX_LIST=true",
		"OCI_DATA_ARTIFACT=true",
		"OCI_DATA_SUBJECT=true",
		"OCI_DATA_SUBJECT_MISSING=true",
		"OCI_DATA_ARTIFACT_LIST=true",
		"OCI_DATA_SUBJECT_LIST=true",
		"OCI_DATA_DATA_FIELD=true",
		"OCI_DATA_NONDISTRIBUTABLE=true",
		"OCI_DATA_CUSTOM_FIELDS=true",
		"OCI_DATA_NO_LAYERS=true",
		"OCI_DATA_EMPTY_BLOB=true",
		"OCI_DATA_SHA512=true",
		// Sparse manifests reference blobs that were never pushed; ECR, like
		// Berth, refuses those (every referenced blob must be in the
		// repository), so this data set stays off.
		"OCI_DATA_SPARSE=false",
	)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	runErr := cmd.Run()
	report := out.String()
	summary := summaryOf(report)
	t.Logf("conformance summary:\n%s", summary)
	if runErr != nil || !strings.Contains(report, "OCI Conformance Result: Pass") {
		t.Fatalf("conformance suite failed (%v); full output:\n%s", runErr, report)
	}
	counts := resultCounts(report)
	for _, status := range []string{"FAIL", "Error", "Skip"} {
		if counts[status] != 0 {
			t.Errorf("%d tests with status %s; full output:\n%s", counts[status], status, report)
		}
	}
	if counts["Pass"] == 0 {
		t.Fatalf("no test passed; full output:\n%s", report)
	}
}

// summaryOf returns the result block of the suite's report.
func summaryOf(report string) string {
	i := strings.Index(report, "OCI Conformance Result:")
	if i < 0 {
		return report
	}
	return report[i:]
}

var countLine = regexp.MustCompile(`(?m)^\s+(\w+)\.+:\s+(\d+)$`)

func resultCounts(report string) map[string]int {
	counts := map[string]int{}
	block := summaryOf(report)
	if end := strings.Index(block, "API conformance:"); end >= 0 {
		block = block[:end]
	}
	for _, m := range countLine.FindAllStringSubmatch(block, -1) {
		var n int
		fmt.Sscan(m[2], &n)
		counts[m[1]] = n
	}
	return counts
}

func TestMain(m *testing.M) { harness.Main(m) }
