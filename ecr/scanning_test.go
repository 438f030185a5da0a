package ecr

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	ecrapi "github.com/berth-dev/berth/api/ecr"
	"github.com/berth-dev/berth/ecr/scan"
	"github.com/berth-dev/berth/registry"
)

// tgz is a gzipped tar of name → content (a name ending in "@" is a
// symlink to the content).
func tgz(t *testing.T, files ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		h := &tar.Header{Name: f[0], Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(f[1]))}
		if name, ok := strings.CutSuffix(f[0], "@"); ok {
			h = &tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: f[1], Mode: 0o777}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(f[1]))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// pushLayers pushes an image of the given layer blobs and returns it.
func (f *fixture) pushLayers(t *testing.T, name, tag string, layers ...[]byte) registry.Image {
	t.Helper()
	ref := registry.Repo{Account: "123456789012", Region: "eu-west-1", Name: name}
	config := []byte(`{"os":"linux","architecture":"amd64","rootfs":{"type":"layers"}}`)
	var descs []any
	for _, b := range append(layers, config) {
		if _, err := f.reg.PutBlob(f.ctx, ref, digest.FromBytes(b), bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range layers {
		descs = append(descs, map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest.FromBytes(l), "size": len(l)})
	}
	m, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest.FromBytes(config), "size": len(config)},
		"layers": descs,
	})
	img, _, err := f.reg.PutManifestTags(f.ctx, ref, "", []string{tag}, "", m)
	if err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Minute)
	return img
}

const testOSRelease = "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"

const testStatus = `Package: libfoo1
Status: install ok installed
Source: foo
Version: 1.2-3
Architecture: amd64

Package: bar
Status: install ok installed
Version: 2.0-1
`

// testDB writes OSV records: foo (Debian:12) vulnerable before 1.2-4, and
// the Go module the test binary was built with vulnerable up to its
// version.
func testDB(t *testing.T, goModule, goVersion string) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("DEBIAN-CVE-2099-1000.json", `{"id":"DEBIAN-CVE-2099-1000","modified":"2025-05-01T00:00:00Z","details":"foo overflows",
		"affected":[{"package":{"ecosystem":"Debian:12","name":"foo"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.2-4"}]}]}],
		"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}`)
	write("GO-2099-0001.json", `{"id":"GO-2099-0001","aliases":["CVE-2099-2000"],"modified":"2025-05-01T00:00:00Z","summary":"a Go flaw",
		"affected":[{"package":{"ecosystem":"Go","name":"`+goModule+`"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"last_affected":"`+strings.TrimPrefix(goVersion, "v")+`"}]}]}],
		"database_specific":{"url":"https://pkg.go.dev/vuln/GO-2099-0001"}}`)
	return dir
}

// testGoBinary is this test binary, as a Go binary whose standard library
// a test database can call vulnerable. (Test binaries carry no module
// list, only the toolchain version.)
func testGoBinary(t *testing.T) (data []byte, module, version string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	data, err = os.ReadFile(exe)
	if err != nil {
		t.Skip(err)
	}
	bi, err := buildinfo.Read(bytes.NewReader(data))
	if err != nil {
		t.Skip(err)
	}
	v, ok := strings.CutPrefix(bi.GoVersion, "go")
	if !ok || strings.ContainsAny(v, " -") || strings.Count(v, ".") != 2 {
		t.Skipf("toolchain version %q", bi.GoVersion)
	}
	return data, "stdlib", v
}

func (f *fixture) startScanner(t *testing.T, o ScanOptions) *Scanner {
	t.Helper()
	if o.PollInterval == 0 {
		o.PollInterval = 50 * time.Millisecond
	}
	sc, err := f.svc.NewScanner(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		sc.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return sc
}

func (f *fixture) waitScan(t *testing.T, name string, d string, want ...ecrapi.ScanStatus) *ecrapi.DescribeImageScanFindingsOutput {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := f.svc.DescribeImageScanFindings(f.ctx, &ecrapi.DescribeImageScanFindingsInput{
			RepositoryName: ptr(name), ImageId: &ecrapi.ImageIdentifier{ImageDigest: ptr(d)}, MaxResults: ptr(int32(1000)),
		})
		if err == nil {
			for _, w := range want {
				if *out.ImageScanStatus.Status == w {
					return out
				}
			}
		} else if code(err) != "ScanNotFoundException" {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("scan of %s not %v after 30s: %+v %v", d, want, out, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBasicScan(t *testing.T) {
	f := newFixture(t)
	bin, mod, ver := testGoBinary(t)
	f.repo(t, "app")
	img := f.pushLayers(t, "app", "v1",
		tgz(t, [2]string{"etc/os-release@", "../usr/lib/os-release"}, [2]string{"usr/lib/os-release", testOSRelease},
			[2]string{"var/lib/dpkg/status", testStatus}),
		tgz(t, [2]string{"usr/local/bin/app", string(bin)}))
	d := img.Digest.String()
	id := &ecrapi.ImageIdentifier{ImageTag: ptr("v1")}

	_, err := f.svc.DescribeImageScanFindings(f.ctx, &ecrapi.DescribeImageScanFindingsInput{RepositoryName: ptr("app"), ImageId: id})
	if code(err) != "ScanNotFoundException" {
		t.Fatalf("findings before any scan: %v, want ScanNotFoundException", err)
	}
	f.startScanner(t, ScanOptions{VulnDB: testDB(t, mod, ver)})
	out, err := f.svc.StartImageScan(f.ctx, &ecrapi.StartImageScanInput{RepositoryName: ptr("app"), ImageId: id})
	if err != nil {
		t.Fatal(err)
	}
	if *out.ImageScanStatus.Status != ecrapi.ScanStatusInProgress || *out.ImageId.ImageDigest != d {
		t.Errorf("StartImageScan = %+v", out)
	}
	res := f.waitScan(t, "app", d, ecrapi.ScanStatusComplete, ecrapi.ScanStatusFailed)
	if *res.ImageScanStatus.Status != ecrapi.ScanStatusComplete {
		t.Fatalf("scan %s: %s", *res.ImageScanStatus.Status, str(res.ImageScanStatus.Description))
	}
	got := map[string]ecrapi.ImageScanFinding{}
	for _, fd := range res.ImageScanFindings.Findings {
		got[*fd.Name] = fd
	}
	foo, ok := got["CVE-2099-1000"]
	if !ok || *foo.Severity != ecrapi.FindingSeverityCritical || attr(foo, "package_name") != "libfoo1" || attr(foo, "package_version") != "1.2-3" || attr(foo, "CVSS3_SCORE") != "9.8" {
		t.Errorf("Debian finding = %+v", foo)
	}
	g, ok := got["CVE-2099-2000"]
	if !ok || *g.Severity != ecrapi.FindingSeverityUndefined || attr(g, "package_name") != mod || attr(g, "package_version") != ver || str(g.Uri) != "https://pkg.go.dev/vuln/GO-2099-0001" {
		t.Errorf("Go finding = %+v", g)
	}
	counts := res.ImageScanFindings.FindingSeverityCounts
	if counts["CRITICAL"] != 1 || counts["UNDEFINED"] < 1 {
		t.Errorf("counts = %v", counts)
	}

	// Pages.
	p1, err := f.svc.DescribeImageScanFindings(f.ctx, &ecrapi.DescribeImageScanFindingsInput{RepositoryName: ptr("app"), ImageId: id, MaxResults: ptr(int32(1))})
	if err != nil || len(p1.ImageScanFindings.Findings) != 1 || p1.NextToken == nil || *p1.ImageScanFindings.Findings[0].Name != "CVE-2099-1000" {
		t.Fatalf("first page = %+v, %v", p1, err)
	}
	p2, err := f.svc.DescribeImageScanFindings(f.ctx, &ecrapi.DescribeImageScanFindingsInput{RepositoryName: ptr("app"), ImageId: id, MaxResults: ptr(int32(1)), NextToken: p1.NextToken})
	if err != nil || len(p2.ImageScanFindings.Findings) != 1 || *p2.ImageScanFindings.Findings[0].Name == "CVE-2099-1000" {
		t.Fatalf("second page = %+v, %v", p2, err)
	}

	// DescribeImages shows the status and the summary.
	di, err := f.svc.DescribeImages(f.ctx, &ecrapi.DescribeImagesInput{RepositoryName: ptr("app")})
	if err != nil {
		t.Fatal(err)
	}
	dd := di.ImageDetails[0]
	if dd.ImageScanStatus == nil || *dd.ImageScanStatus.Status != ecrapi.ScanStatusComplete || dd.ImageScanFindingsSummary == nil || dd.ImageScanFindingsSummary.FindingSeverityCounts["CRITICAL"] != 1 {
		t.Errorf("DescribeImages = %+v", dd)
	}

	// One basic scan per image per day.
	_, err = f.svc.StartImageScan(f.ctx, &ecrapi.StartImageScanInput{RepositoryName: ptr("app"), ImageId: id})
	if code(err) != "LimitExceededException" {
		t.Errorf("second StartImageScan: %v, want LimitExceededException", err)
	}
	f.now = f.now.Add(25 * time.Hour)
	if _, err := f.svc.StartImageScan(f.ctx, &ecrapi.StartImageScanInput{RepositoryName: ptr("app"), ImageId: id}); err != nil {
		t.Errorf("StartImageScan a day later: %v", err)
	}
	f.waitScan(t, "app", d, ecrapi.ScanStatusComplete)

	_, err = f.svc.StartImageScan(f.ctx, &ecrapi.StartImageScanInput{RepositoryName: ptr("app"), ImageId: &ecrapi.ImageIdentifier{ImageTag: ptr("nope")}})
	if code(err) != "ImageNotFoundException" {
		t.Errorf("StartImageScan of a missing image: %v", err)
	}
	_, err = f.svc.StartImageScan(f.ctx, &ecrapi.StartImageScanInput{RepositoryName: ptr("nope"), ImageId: id})
	if code(err) != "RepositoryNotFoundException" {
		t.Errorf("StartImageScan in a missing repository: %v", err)
	}
}

func attr(f ecrapi.ImageScanFinding, key string) string {
	for _, a := range f.Attributes {
		if *a.Key == key {
			return *a.Value
		}
	}
	return ""
}

func TestScanFailures(t *testing.T) {
	f := newFixture(t)
	f.repo(t, "bad")
	f.startScanner(t, ScanOptions{VulnDB: testDB(t, "example.com/m", "v1.0.0")})
	for _, c := range []struct {
		tag   string
		layer []byte
		want  string
	}{
		{"gzip", append([]byte{0x1f, 0x8b, 8, 0}, bytes.Repeat([]byte{0xee}, 100)...), "not a valid gzip stream"},
		{"tar", []byte(strings.Repeat("not a tar ", 100)), "not a valid tar archive"},
		{"link", tgz(t, [2]string{"etc/os-release@", "../../../../../etc/passwd"}), "points outside the image root"},
	} {
		img := f.pushLayers(t, "bad", c.tag, c.layer)
		if _, err := f.svc.StartImageScan(f.ctx, &ecrapi.StartImageScanInput{RepositoryName: ptr("bad"), ImageId: &ecrapi.ImageIdentifier{ImageTag: ptr(c.tag)}}); err != nil {
			t.Fatal(err)
		}
		res := f.waitScan(t, "bad", img.Digest.String(), ecrapi.ScanStatusFailed, ecrapi.ScanStatusComplete)
		if *res.ImageScanStatus.Status != ecrapi.ScanStatusFailed || !strings.Contains(str(res.ImageScanStatus.Description), c.want) {
			t.Errorf("%s: %s %q, want FAILED saying %q", c.tag, *res.ImageScanStatus.Status, str(res.ImageScanStatus.Description), c.want)
		}
		// A failed scan may be retried at once.
		if _, err := f.svc.StartImageScan(f.ctx, &ecrapi.StartImageScanInput{RepositoryName: ptr("bad"), ImageId: &ecrapi.ImageIdentifier{ImageTag: ptr(c.tag)}}); err != nil {
			t.Errorf("%s: retrying a failed scan: %v", c.tag, err)
		}
	}
	// An image with nothing Berth recognises.
	img := f.pushLayers(t, "bad", "empty", tgz(t, [2]string{"hello.txt", "hi"}))
	f.svc.StartImageScan(f.ctx, &ecrapi.StartImageScanInput{RepositoryName: ptr("bad"), ImageId: &ecrapi.ImageIdentifier{ImageTag: ptr("empty")}})
	res := f.waitScan(t, "bad", img.Digest.String(), ecrapi.ScanStatusUnsupportedImage, ecrapi.ScanStatusComplete, ecrapi.ScanStatusFailed)
	if *res.ImageScanStatus.Status != ecrapi.ScanStatusUnsupportedImage {
		t.Errorf("empty image: %s", *res.ImageScanStatus.Status)
	}
}

func TestScanningConfiguration(t *testing.T) {
	f := newFixture(t)
	f.repo(t, "prod-api")
	f.repo(t, "dev-api")
	get, err := f.svc.GetRegistryScanningConfiguration(f.ctx, &ecrapi.GetRegistryScanningConfigurationInput{})
	if err != nil || *get.ScanningConfiguration.ScanType != ecrapi.ScanTypeBasic || len(get.ScanningConfiguration.Rules) != 0 || *get.RegistryId != "123456789012" {
		t.Fatalf("default configuration = %+v, %v", get, err)
	}
	batch := func() map[string]ecrapi.RepositoryScanningConfiguration {
		t.Helper()
		out, err := f.svc.BatchGetRepositoryScanningConfiguration(f.ctx, &ecrapi.BatchGetRepositoryScanningConfigurationInput{RepositoryNames: []string{"prod-api", "dev-api", "missing"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Failures) != 1 || *out.Failures[0].FailureCode != ecrapi.ScanningConfigurationFailureCodeRepositoryNotFound {
			t.Errorf("failures = %+v", out.Failures)
		}
		m := map[string]ecrapi.RepositoryScanningConfiguration{}
		for _, c := range out.ScanningConfigurations {
			m[*c.RepositoryName] = c
		}
		return m
	}
	if m := batch(); *m["prod-api"].ScanFrequency != ecrapi.ScanFrequencyManual || *m["prod-api"].ScanOnPush {
		t.Errorf("default repository configuration = %+v", m["prod-api"])
	}
	// The repository's own scanOnPush still counts under BASIC.
	if _, err := f.svc.PutImageScanningConfiguration(f.ctx, &ecrapi.PutImageScanningConfigurationInput{RepositoryName: ptr("dev-api"), ImageScanningConfiguration: &ecrapi.ImageScanningConfiguration{ScanOnPush: ptr(true)}}); err != nil {
		t.Fatal(err)
	}
	rule := func(freq ecrapi.ScanFrequency, filters ...string) ecrapi.RegistryScanningRule {
		r := ecrapi.RegistryScanningRule{ScanFrequency: ptr(freq), RepositoryFilters: []ecrapi.ScanningRepositoryFilter{}}
		for _, fl := range filters {
			r.RepositoryFilters = append(r.RepositoryFilters, ecrapi.ScanningRepositoryFilter{Filter: ptr(fl), FilterType: ptr(ecrapi.ScanningRepositoryFilterTypeWildcard)})
		}
		return r
	}
	if _, err := f.svc.PutRegistryScanningConfiguration(f.ctx, &ecrapi.PutRegistryScanningConfigurationInput{
		ScanType: ptr(ecrapi.ScanTypeBasic), Rules: []ecrapi.RegistryScanningRule{rule(ecrapi.ScanFrequencyScanOnPush, "prod-*")},
	}); err != nil {
		t.Fatal(err)
	}
	m := batch()
	if p := m["prod-api"]; *p.ScanFrequency != ecrapi.ScanFrequencyScanOnPush || !*p.ScanOnPush || len(p.AppliedScanFilters) != 1 || *p.RepositoryArn != "arn:aws:ecr:eu-west-1:123456789012:repository/prod-api" {
		t.Errorf("prod-api = %+v", p)
	}
	if d := m["dev-api"]; *d.ScanFrequency != ecrapi.ScanFrequencyScanOnPush || len(d.AppliedScanFilters) != 0 {
		t.Errorf("dev-api = %+v", d)
	}
	_, err = f.svc.PutRegistryScanningConfiguration(f.ctx, &ecrapi.PutRegistryScanningConfigurationInput{
		ScanType: ptr(ecrapi.ScanTypeBasic), Rules: []ecrapi.RegistryScanningRule{rule(ecrapi.ScanFrequencyContinuousScan, "*")},
	})
	if code(err) != "InvalidParameterException" {
		t.Errorf("BASIC with CONTINUOUS_SCAN: %v", err)
	}
	if _, err := f.svc.PutRegistryScanningConfiguration(f.ctx, &ecrapi.PutRegistryScanningConfigurationInput{
		ScanType: ptr(ecrapi.ScanTypeEnhanced),
		Rules:    []ecrapi.RegistryScanningRule{rule(ecrapi.ScanFrequencyContinuousScan, "prod-*"), rule(ecrapi.ScanFrequencyScanOnPush, "*")},
	}); err != nil {
		t.Fatal(err)
	}
	m = batch()
	if *m["prod-api"].ScanFrequency != ecrapi.ScanFrequencyContinuousScan || *m["dev-api"].ScanFrequency != ecrapi.ScanFrequencyScanOnPush {
		t.Errorf("ENHANCED: prod %s, dev %s", *m["prod-api"].ScanFrequency, *m["dev-api"].ScanFrequency)
	}
	get, _ = f.svc.GetRegistryScanningConfiguration(f.ctx, &ecrapi.GetRegistryScanningConfigurationInput{})
	if *get.ScanningConfiguration.ScanType != ecrapi.ScanTypeEnhanced || len(get.ScanningConfiguration.Rules) != 2 {
		t.Errorf("configuration = %+v", get.ScanningConfiguration)
	}
	for pattern, names := range map[string][2]string{"*": {"a/b", ""}, "prod-*": {"prod-x", "dev-x"}, "*-api": {"x-api", "x-apis"}, "a*b*c": {"aXbYc", "acb"}} {
		if !filterMatches(pattern, names[0]) || (names[1] != "" && filterMatches(pattern, names[1])) {
			t.Errorf("filter %q: %q should match, %q should not", pattern, names[0], names[1])
		}
	}
}

// Continuous scanning: a database update changes the findings of images
// already scanned, from their stored inventories.
func TestContinuousScanning(t *testing.T) {
	f := newFixture(t)
	f.repo(t, "svc")
	dbDir := testDB(t, "example.com/none", "v1.0.0")
	sc := f.startScanner(t, ScanOptions{VulnDB: dbDir})
	if _, err := f.svc.PutRegistryScanningConfiguration(f.ctx, &ecrapi.PutRegistryScanningConfigurationInput{
		ScanType: ptr(ecrapi.ScanTypeEnhanced),
		Rules: []ecrapi.RegistryScanningRule{{ScanFrequency: ptr(ecrapi.ScanFrequencyContinuousScan),
			RepositoryFilters: []ecrapi.ScanningRepositoryFilter{{Filter: ptr("*"), FilterType: ptr(ecrapi.ScanningRepositoryFilterTypeWildcard)}}}},
	}); err != nil {
		t.Fatal(err)
	}
	img := f.pushLayers(t, "svc", "v1", tgz(t, [2]string{"etc/os-release", testOSRelease}, [2]string{"var/lib/dpkg/status", testStatus}))
	sc.OnPush(img)
	res := f.waitScan(t, "svc", img.Digest.String(), ecrapi.ScanStatusActive, ecrapi.ScanStatusFailed)
	if *res.ImageScanStatus.Status != ecrapi.ScanStatusActive || len(res.ImageScanFindings.EnhancedFindings) != 1 {
		t.Fatalf("after push: %s %+v", *res.ImageScanStatus.Status, res.ImageScanFindings)
	}
	e := res.ImageScanFindings.EnhancedFindings[0]
	pv := e.PackageVulnerabilityDetails
	if *e.Severity != "CRITICAL" || *e.Title != "CVE-2099-1000 - libfoo1" || *e.FixAvailable != "YES" || *e.Type != "PACKAGE_VULNERABILITY" ||
		*pv.VulnerabilityId != "CVE-2099-1000" || *pv.VulnerablePackages[0].Version != "1.2" || *pv.VulnerablePackages[0].Release != "3" ||
		*pv.VulnerablePackages[0].FixedInVersion != "1.2-4" || *pv.VulnerablePackages[0].PackageManager != "OS" || *pv.Cvss[0].BaseScore != 9.8 ||
		*e.Resources[0].Details.AwsEcrContainerImage.Architecture != "amd64" || *e.Remediation.Recommendation.Text == "" {
		b, _ := json.MarshalIndent(e, "", "  ")
		t.Errorf("enhanced finding:\n%s", b)
	}
	first := e.FirstObservedAt.Time

	// The database learns of a flaw in bar.
	f.now = f.now.Add(time.Hour)
	os.WriteFile(filepath.Join(dbDir, "DEBIAN-CVE-2099-3000.json"), []byte(`{"id":"DEBIAN-CVE-2099-3000","modified":"2025-06-01T00:00:00Z",
		"affected":[{"package":{"ecosystem":"Debian:12","name":"bar"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}],"ecosystem_specific":{"urgency":"low"}}]}`), 0o644)
	deadline := time.Now().Add(20 * time.Second)
	for {
		res = f.waitScan(t, "svc", img.Digest.String(), ecrapi.ScanStatusActive)
		if len(res.ImageScanFindings.EnhancedFindings) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("findings not updated after the database changed: %+v", res.ImageScanFindings)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, e := range res.ImageScanFindings.EnhancedFindings {
		switch *e.Title {
		case "CVE-2099-1000 - libfoo1":
			if !e.FirstObservedAt.Time.Equal(first) {
				t.Errorf("first observed moved from %v to %v", first, e.FirstObservedAt.Time)
			}
		case "CVE-2099-3000 - bar":
			if *e.Severity != "LOW" || *e.FixAvailable != "NO" {
				t.Errorf("new finding = %+v", e)
			}
		default:
			t.Errorf("unexpected finding %s", *e.Title)
		}
	}
	if want := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC); !res.ImageScanFindings.VulnerabilitySourceUpdatedAt.Time.Equal(want) {
		t.Errorf("vulnerabilitySourceUpdatedAt = %v, want %v", res.ImageScanFindings.VulnerabilitySourceUpdatedAt.Time, want)
	}
	// StartImageScan is for basic scanning.
	_, err := f.svc.StartImageScan(f.ctx, &ecrapi.StartImageScanInput{RepositoryName: ptr("svc"), ImageId: &ecrapi.ImageIdentifier{ImageTag: ptr("v1")}})
	if code(err) != "ValidationException" {
		t.Errorf("StartImageScan under ENHANCED: %v", err)
	}
	_ = scan.SeverityLow
}
