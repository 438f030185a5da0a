package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	ggcrtypes "github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/berth-dev/berth/test/harness"
)

// vulndbVersion is the golang.org/x/vulndb the scan tests load: the Go
// vulnerability database's OSV records (data/osv), fetched once through
// the Go module proxy and kept in the module cache.
const vulndbVersion = "v0.0.0-20261105234957-e22db6528018"

// goVulndb returns the directory of the Go vulnerability database's OSV
// records.
func goVulndb(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", "golang.org/x/vulndb@"+vulndbVersion)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GO111MODULE=on")
	out, err := cmd.Output()
	var m struct{ Dir, Error string }
	if err != nil || json.Unmarshal(out, &m) != nil || m.Dir == "" {
		t.Fatalf("go mod download golang.org/x/vulndb@%s: %v %s %s", vulndbVersion, err, m.Error, out)
	}
	dir := filepath.Join(m.Dir, "data", "osv")
	if _, err := os.Stat(filepath.Join(dir, "GO-2022-1059.json")); err != nil {
		t.Fatalf("the Go vulnerability database has no GO-2022-1059: %v", err)
	}
	return dir
}

// vulnApp builds a static Go program against golang.org/x/text v0.3.7,
// which GO-2022-1059 (CVE-2022-32149) affects.
func vulnApp(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/vulnapp\n\ngo 1.21\n\nrequire golang.org/x/text v0.3.7\n",
		"go.sum": "golang.org/x/text v0.3.7 h1:olpwvP2KacW1ZWvsR7uQhoyTYvKAupfQrRGBFM352Gk=\n" +
			"golang.org/x/text v0.3.7/go.mod h1:u+2+/6zg+i71rQMx5EYifcz6MCKuco9NR6JIITiCfzQ=\n",
		"main.go": "package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\n\t\"golang.org/x/text/language\"\n)\n\n" +
			"func main() {\n\ttags, _, err := language.ParseAcceptLanguage(os.Getenv(\"ACCEPT_LANGUAGE\"))\n\tfmt.Println(tags, err)\n}\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "build", "-o", "vulnapp", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the vulnerable Go program: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "vulnapp"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Test records, in OSV format, written by the tests. debianOpenSSL is
// modelled on Debian's record of CVE-2024-0727 in bookworm (NVD's CVSS
// vector: 5.5, MEDIUM); githubXText on GitHub's advisory for
// CVE-2022-32149 (CVSS 7.5, HIGH), which gives the Go record, that has no
// severity, its severity.
const (
	debianOpenSSL = `{"id": "DEBIAN-CVE-2024-0727", "modified": "2024-05-01T00:00:00Z",
  "details": "Processing a maliciously formatted PKCS12 file may lead OpenSSL to crash leading to a potential Denial of Service attack (test record).",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H"}],
  "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}]}]}]}`
	githubXText = `{"id": "GHSA-69ch-w2m2-3vjp", "modified": "2023-06-12T18:45:41Z", "aliases": ["CVE-2022-32149"],
  "summary": "golang.org/x/text/language Denial of service via crafted Accept-Language header (test record)",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
  "affected": [{"package": {"ecosystem": "Go", "name": "golang.org/x/text"},
    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.3.8"}]}]}],
  "database_specific": {"severity": "HIGH"}}`
	debianGlibc = `{"id": "DEBIAN-CVE-2099-0001", "modified": "2026-01-01T00:00:00Z", "details": "A flaw published after the image was scanned (test record).",
  "affected": [{"package": {"ecosystem": "Debian:12", "name": "glibc"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.36-9+deb12u99"}]}],
    "ecosystem_specific": {"urgency": "high"}}]}`
)

const scanOSRelease = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n"

const scanDpkgStatus = `Package: base-files
Status: install ok installed
Architecture: amd64
Version: 12.4+deb12u5

Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u4

Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 3.0.11-1~deb12u2
`

func writeRecords(t *testing.T, dir string, recs map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range recs {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type tarEntry struct {
	hdr  tar.Header
	body []byte
}

func tarBytes(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Write(e.body)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func reg(name string, body []byte, mode int64) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Mode: mode}, body: body}
}

func symlink(name, target string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}}
}

func gzLayer(t *testing.T, data []byte) v1.Layer {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func imageOf(t *testing.T, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config.Entrypoint = []string{"/usr/local/bin/vulnapp"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// debianBase is a layer with Debian 12's os-release (through the usual
// symbolic link) and a dpkg status listing libssl3 3.0.11-1~deb12u2.
func debianBase(t *testing.T) v1.Layer {
	return gzLayer(t, tarBytes(t,
		symlink("etc/os-release", "../usr/lib/os-release"),
		reg("usr/lib/os-release", []byte(scanOSRelease), 0o644),
		reg("var/lib/dpkg/status", []byte(scanDpkgStatus), 0o644),
	))
}

// scanResult is what `aws ecr describe-image-scan-findings` prints.
type scanResult struct {
	ImageScanStatus struct {
		Status      string `json:"status"`
		Description string `json:"description"`
	} `json:"imageScanStatus"`
	ImageScanFindings struct {
		FindingSeverityCounts map[string]int `json:"findingSeverityCounts"`
		Findings              []struct {
			Name       string `json:"name"`
			Severity   string `json:"severity"`
			URI        string `json:"uri"`
			Attributes []struct {
				Key   string `json:"key"`
				Value string `json:"value"`
			} `json:"attributes"`
		} `json:"findings"`
		EnhancedFindings []struct {
			Title                       string `json:"title"`
			Severity                    string `json:"severity"`
			FixAvailable                string `json:"fixAvailable"`
			PackageVulnerabilityDetails struct {
				VulnerabilityID    string `json:"vulnerabilityId"`
				VulnerablePackages []struct {
					Name           string `json:"name"`
					Version        string `json:"version"`
					FixedInVersion string `json:"fixedInVersion"`
					PackageManager string `json:"packageManager"`
				} `json:"vulnerablePackages"`
			} `json:"packageVulnerabilityDetails"`
		} `json:"enhancedFindings"`
	} `json:"imageScanFindings"`
}

// waitScan polls describe-image-scan-findings until the scan's status is
// one of want.
func waitScan(t *testing.T, b *harness.Berth, repo, tag string, want ...string) scanResult {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r := b.AWS(t, "ecr", "describe-image-scan-findings", "--repository-name", repo, "--image-id", "imageTag="+tag)
		var res scanResult
		if r.ExitCode == 0 {
			r.JSON(t, &res)
			for _, w := range want {
				if res.ImageScanStatus.Status == w {
					return res
				}
			}
		} else if r.ErrorCode() != "ScanNotFoundException" {
			r.Must(t)
		}
		if time.Now().After(deadline) {
			t.Fatalf("scan of %s:%s not %v after 2 minutes: %s %s", repo, tag, want, r.Stdout, r.Stderr)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func (r scanResult) finding(name string) (severity string, attrs map[string]string, uri string, ok bool) {
	for _, f := range r.ImageScanFindings.Findings {
		if f.Name == name {
			attrs = map[string]string{}
			for _, a := range f.Attributes {
				attrs[a.Key] = a.Value
			}
			return f.Severity, attrs, f.URI, true
		}
	}
	return "", nil, "", false
}

// The proof: an image with a Go binary built against a module
// version with a published vulnerability and a dpkg status listing a
// package the database marks vulnerable, pushed with docker to a repository
// that scans on push; `aws ecr describe-image-scan-findings` shows both
// findings with their severities.
func TestECRScanOnPushFindsGoAndDebianVulnerabilities(t *testing.T) {
	harness.RequireDocker(t)
	fixtures := filepath.Join(t.TempDir(), "fixtures")
	writeRecords(t, fixtures, map[string]string{"DEBIAN-CVE-2024-0727.json": debianOpenSSL, "GHSA-69ch-w2m2-3vjp.json": githubXText})
	b := harness.Start(t, harness.WithArgs("--vuln-db", goVulndb(t)+string(os.PathListSeparator)+fixtures))

	img := imageOf(t, debianBase(t), gzLayer(t, tarBytes(t, reg("usr/local/bin/vulnapp", vulnApp(t), 0o755))))
	repo := uniqueName("scan/push")
	b.AWS(t, "ecr", "create-repository", "--repository-name", repo, "--image-scanning-configuration", "scanOnPush=true").Must(t)
	local := "berth-test/scan-app:" + fmt.Sprint(time.Now().UnixNano())
	harness.LoadIntoDocker(t, img, local)
	remoteRef := b.RegistryHost() + "/" + repo + ":v1"
	b.Docker(t, "tag", local, remoteRef).Must(t)
	t.Cleanup(func() { b.Docker(t, "rmi", "-f", remoteRef) })
	b.DockerLogin(t)
	b.Docker(t, "push", remoteRef).Must(t)

	res := waitScan(t, b, repo, "v1", "COMPLETE", "FAILED")
	if res.ImageScanStatus.Status != "COMPLETE" {
		t.Fatalf("scan %s: %s", res.ImageScanStatus.Status, res.ImageScanStatus.Description)
	}
	sev, attrs, uri, ok := res.finding("CVE-2022-32149")
	if !ok || sev != "HIGH" || attrs["package_name"] != "golang.org/x/text" || attrs["package_version"] != "v0.3.7" || uri != "https://pkg.go.dev/vuln/GO-2022-1059" {
		t.Errorf("CVE-2022-32149 finding: %v %s %v %s", ok, sev, attrs, uri)
	}
	sev, attrs, _, ok = res.finding("CVE-2024-0727")
	if !ok || sev != "MEDIUM" || attrs["package_name"] != "libssl3" || attrs["package_version"] != "3.0.11-1~deb12u2" || attrs["CVSS3_SCORE"] != "5.5" {
		t.Errorf("CVE-2024-0727 finding: %v %s %v", ok, sev, attrs)
	}
	if c := res.ImageScanFindings.FindingSeverityCounts; c["HIGH"] < 1 || c["MEDIUM"] < 1 {
		t.Errorf("findingSeverityCounts %v", c)
	}

	var desc struct {
		ImageDetails []struct {
			ImageScanStatus          struct{ Status string } `json:"imageScanStatus"`
			ImageScanFindingsSummary struct {
				FindingSeverityCounts map[string]int `json:"findingSeverityCounts"`
			} `json:"imageScanFindingsSummary"`
		} `json:"imageDetails"`
	}
	b.AWS(t, "ecr", "describe-images", "--repository-name", repo).Must(t).JSON(t, &desc)
	if len(desc.ImageDetails) != 1 || desc.ImageDetails[0].ImageScanStatus.Status != "COMPLETE" || desc.ImageDetails[0].ImageScanFindingsSummary.FindingSeverityCounts["HIGH"] < 1 {
		t.Errorf("describe-images: %+v", desc)
	}
	// The scan on push counts against the one scan per image per day.
	if r := b.AWS(t, "ecr", "start-image-scan", "--repository-name", repo, "--image-id", "imageTag=v1"); r.ErrorCode() != "LimitExceededException" {
		t.Errorf("start-image-scan after a scan on push: exit %d %s", r.ExitCode, r.Stderr)
	}

	// A repository without scan on push: no scan until start-image-scan.
	manual := uniqueName("scan/manual")
	b.AWS(t, "ecr", "create-repository", "--repository-name", manual).Must(t)
	pushImage(t, b.RegistryHost()+"/"+manual+":v1", img, registryAuth(t, b))
	time.Sleep(time.Second)
	if r := b.AWS(t, "ecr", "describe-image-scan-findings", "--repository-name", manual, "--image-id", "imageTag=v1"); r.ErrorCode() != "ScanNotFoundException" {
		t.Errorf("describe-image-scan-findings before a scan: exit %d %s %s", r.ExitCode, r.Stdout, r.Stderr)
	}
	started := b.AWS(t, "ecr", "start-image-scan", "--repository-name", manual, "--image-id", "imageTag=v1").Must(t).Map(t)
	if st, _ := started["imageScanStatus"].(map[string]any); st["status"] != "IN_PROGRESS" {
		t.Errorf("start-image-scan: %v", started)
	}
	res = waitScan(t, b, manual, "v1", "COMPLETE", "FAILED")
	if _, _, _, ok := res.finding("CVE-2022-32149"); !ok || res.ImageScanStatus.Status != "COMPLETE" {
		t.Errorf("manual scan: %+v", res)
	}
}

// sparseLayer is a tar holding one GNU sparse file that claims size bytes
// and stores none.
func sparseLayer(name string, size int64) []byte {
	blk := make([]byte, 512)
	copy(blk[0:100], name)
	copy(blk[100:108], "0000644\x00")
	copy(blk[108:116], "0000000\x00")
	copy(blk[116:124], "0000000\x00")
	copy(blk[124:136], fmt.Sprintf("%011o\x00", 0))
	copy(blk[136:148], fmt.Sprintf("%011o\x00", 0))
	blk[156] = 'S'
	copy(blk[257:265], "ustar  \x00")
	copy(blk[386:398], fmt.Sprintf("%011o\x00", size))
	copy(blk[398:410], fmt.Sprintf("%011o\x00", 0))
	copy(blk[483:495], fmt.Sprintf("%011o\x00", size))
	for i := 148; i < 156; i++ {
		blk[i] = ' '
	}
	sum := 0
	for _, c := range blk {
		sum += int(c)
	}
	copy(blk[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return append(blk, make([]byte, 1024)...)
}

// Malformed layers fail the scan with a reason; the server goes on.
func TestECRScanHostileLayers(t *testing.T) {
	fixtures := filepath.Join(t.TempDir(), "fixtures")
	writeRecords(t, fixtures, map[string]string{"DEBIAN-CVE-2024-0727.json": debianOpenSSL})
	b := harness.Start(t, harness.WithArgs("--vuln-db", fixtures))
	repo := uniqueName("scan/hostile")
	createRepo(t, b, repo)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(bytes.Repeat([]byte("not a tar archive "), 100))
	zw.Close()
	for _, c := range []struct {
		tag   string
		layer v1.Layer
		want  string
	}{
		{"bad-gzip", static.NewLayer(append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}, bytes.Repeat([]byte{0xff}, 256)...), ggcrtypes.OCILayer), "not a valid gzip stream"},
		{"bad-tar", static.NewLayer(gz.Bytes(), ggcrtypes.OCILayer), "not a valid tar archive"},
		{"escaping-link", gzLayer(t, tarBytes(t, symlink("var/lib/dpkg/status", "../../../../../../etc/shadow"))), "points outside the image root"},
		{"sparse-10g", static.NewLayer(sparseLayer("var/cache/huge.img", 10<<30), ggcrtypes.OCIUncompressedLayer), "claims 10737418240 bytes"},
	} {
		pushImage(t, b.RegistryHost()+"/"+repo+":"+c.tag, imageOf(t, debianBase(t), c.layer), registryAuth(t, b))
		if _, err := ecrClient(b).StartImageScan(context.Background(), &ecr.StartImageScanInput{
			RepositoryName: aws.String(repo), ImageId: &types.ImageIdentifier{ImageTag: aws.String(c.tag)},
		}); err != nil {
			t.Fatalf("%s: StartImageScan: %v", c.tag, err)
		}
		res := waitScan(t, b, repo, c.tag, "FAILED", "COMPLETE")
		if res.ImageScanStatus.Status != "FAILED" || !strings.Contains(res.ImageScanStatus.Description, c.want) {
			t.Errorf("%s: %s %q, want FAILED saying %q", c.tag, res.ImageScanStatus.Status, res.ImageScanStatus.Description, c.want)
		}
	}
	if !b.Running() {
		t.Fatal("berth exited")
	}
	// The registry still scans a good image.
	pushImage(t, b.RegistryHost()+"/"+repo+":good", imageOf(t, debianBase(t)), registryAuth(t, b))
	ecrClient(b).StartImageScan(context.Background(), &ecr.StartImageScanInput{RepositoryName: aws.String(repo), ImageId: &types.ImageIdentifier{ImageTag: aws.String("good")}})
	if res := waitScan(t, b, repo, "good", "COMPLETE", "FAILED"); res.ImageScanStatus.Status != "COMPLETE" || len(res.ImageScanFindings.Findings) != 1 {
		t.Errorf("good image after the hostile ones: %+v", res)
	}
}

// Continuous scanning (ENHANCED): when the database changes, the stored
// inventory is matched again and the findings change, without a push.
func TestECRContinuousScanning(t *testing.T) {
	fixtures := filepath.Join(t.TempDir(), "fixtures")
	writeRecords(t, fixtures, map[string]string{"DEBIAN-CVE-2024-0727.json": debianOpenSSL})
	b := harness.Start(t, harness.WithEnv("BERTH_VULN_DB="+fixtures))
	b.AWS(t, "ecr", "put-registry-scanning-configuration", "--scan-type", "ENHANCED",
		"--rules", `[{"scanFrequency":"CONTINUOUS_SCAN","repositoryFilters":[{"filter":"cont-*","filterType":"WILDCARD"}]}]`).Must(t)
	cfg := b.AWS(t, "ecr", "get-registry-scanning-configuration").Must(t).Map(t)
	if sc, _ := cfg["scanningConfiguration"].(map[string]any); sc["scanType"] != "ENHANCED" {
		t.Errorf("get-registry-scanning-configuration: %v", cfg)
	}
	repo := uniqueName("cont-app")
	createRepo(t, b, repo)
	var batch struct {
		ScanningConfigurations []struct {
			ScanFrequency string `json:"scanFrequency"`
			ScanOnPush    bool   `json:"scanOnPush"`
		} `json:"scanningConfigurations"`
	}
	b.AWS(t, "ecr", "batch-get-repository-scanning-configuration", "--repository-names", repo).Must(t).JSON(t, &batch)
	if len(batch.ScanningConfigurations) != 1 || batch.ScanningConfigurations[0].ScanFrequency != "CONTINUOUS_SCAN" {
		t.Errorf("batch-get-repository-scanning-configuration: %+v", batch)
	}
	pushImage(t, b.RegistryHost()+"/"+repo+":v1", imageOf(t, debianBase(t)), registryAuth(t, b))
	res := waitScan(t, b, repo, "v1", "ACTIVE", "FAILED")
	if res.ImageScanStatus.Status != "ACTIVE" || len(res.ImageScanFindings.EnhancedFindings) != 1 {
		t.Fatalf("after push: %+v", res)
	}
	e := res.ImageScanFindings.EnhancedFindings[0]
	vp := e.PackageVulnerabilityDetails.VulnerablePackages
	if e.Title != "CVE-2024-0727 - libssl3" || e.Severity != "MEDIUM" || e.FixAvailable != "YES" || len(vp) != 1 ||
		vp[0].Version != "3.0.11" || vp[0].FixedInVersion != "3.0.13-1~deb12u1" || vp[0].PackageManager != "OS" {
		t.Errorf("enhanced finding: %+v", e)
	}

	writeRecords(t, fixtures, map[string]string{"DEBIAN-CVE-2099-0001.json": debianGlibc})
	deadline := time.Now().Add(90 * time.Second)
	for {
		res = waitScan(t, b, repo, "v1", "ACTIVE")
		if len(res.ImageScanFindings.EnhancedFindings) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("findings did not change after the database did: %+v", res.ImageScanFindings)
		}
		time.Sleep(time.Second)
	}
	found := false
	for _, e := range res.ImageScanFindings.EnhancedFindings {
		if e.Title == "CVE-2099-0001 - libc6" && e.Severity == "HIGH" {
			found = true
		}
	}
	if !found {
		t.Errorf("no HIGH CVE-2099-0001 finding for libc6: %+v", res.ImageScanFindings.EnhancedFindings)
	}
}
