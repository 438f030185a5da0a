package scan

import (
	"archive/zip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// goVuln is the Go vulnerability database's record of CVE-2022-32149, as
// golang.org/x/vulndb publishes it (no severity).
const goVuln = `{
  "schema_version": "1.3.1",
  "id": "GO-2022-1059",
  "modified": "0001-01-01T00:00:00Z",
  "published": "0001-01-01T00:00:00Z",
  "aliases": ["CVE-2022-32149", "GHSA-69ch-w2m2-3vjp"],
  "summary": "Denial of service via crafted Accept-Language header in golang.org/x/text/language",
  "details": "An attacker may cause a denial of service by crafting an Accept-Language header which ParseAcceptLanguage will take significant time to parse.",
  "affected": [{"package": {"name": "golang.org/x/text", "ecosystem": "Go"},
    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.3.8"}]}]}],
  "references": [{"type": "REPORT", "url": "https://go.dev/issue/56152"}],
  "database_specific": {"url": "https://pkg.go.dev/vuln/GO-2022-1059", "review_status": "REVIEWED"}
}`

// ghsaVuln is GitHub's record of the same vulnerability, with a CVSS
// vector.
const ghsaVuln = `{
  "id": "GHSA-69ch-w2m2-3vjp",
  "modified": "2023-06-12T18:45:41Z",
  "aliases": ["CVE-2022-32149"],
  "summary": "golang.org/x/text/language Denial of service via crafted Accept-Language header",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
  "affected": [{"package": {"name": "golang.org/x/text", "ecosystem": "Go"},
    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.3.8"}]}]}],
  "database_specific": {"severity": "HIGH"}
}`

const debianVuln = `{
  "id": "DEBIAN-CVE-2099-0001",
  "modified": "2024-01-02T03:04:05Z",
  "details": "A made-up flaw in glibc.",
  "affected": [
    {"package": {"name": "glibc", "ecosystem": "Debian:12"},
     "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.36-9+deb12u7"}]}],
     "ecosystem_specific": {"urgency": "high"}},
    {"package": {"name": "glibc", "ecosystem": "Debian:11"},
     "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.31-13+deb11u9"}]}]}
  ]
}`

const alpineVuln = `{
  "id": "ALPINE-CVE-2099-0002",
  "modified": "2024-01-02T03:04:05Z",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
  "affected": [{"package": {"name": "musl", "ecosystem": "Alpine:v3.19"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"last_affected": "1.2.4-r2"}]}]}]
}`

func writeDB(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func testInventory() *Inventory {
	return &Inventory{Packages: []Package{
		{Ecosystem: "Debian:12", Name: "libc6", Version: "2.36-9+deb12u4", SourceName: "glibc", Manager: ManagerDpkg},
		{Ecosystem: "Debian:12", Name: "libc-bin", Version: "2.36-9+deb12u7", SourceName: "glibc", Manager: ManagerDpkg},
		{Ecosystem: "Alpine:v3.19", Name: "musl", Version: "1.2.4-r2", SourceName: "musl", Manager: ManagerApk},
		{Ecosystem: "Alpine:v3.19", Name: "musl-utils", Version: "1.2.4-r3", SourceName: "musl", Manager: ManagerApk},
		{Ecosystem: "Go", Name: "golang.org/x/text", Version: "v0.3.7", Manager: ManagerGo, Path: "/app"},
		{Ecosystem: "Go", Name: "golang.org/x/text", Version: "v0.3.8", Manager: ManagerGo, Path: "/other"},
		{Ecosystem: "", Name: "glibc", Version: "1"},
	}}
}

func TestMatch(t *testing.T) {
	dir := writeDB(t, map[string]string{
		"go/GO-2022-1059.json":             goVuln,
		"ghsa/GHSA-69ch-w2m2-3vjp.json":    ghsaVuln,
		"debian/DEBIAN-CVE-2099-0001.json": debianVuln,
		"alpine/ALPINE-CVE-2099-0002.json": alpineVuln,
		"README.json":                      `{"not": "osv"}`,
		"testdata/fake.json":               `{"id": "FAKE-1", "affected": [{"package": {"name": "musl", "ecosystem": "Alpine:v3.19"}, "versions": ["1.2.4-r3"]}]}`,
	})
	db, err := LoadDB([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if db.Records != 4 || db.Skipped != 1 {
		t.Errorf("records %d skipped %d, want 4 and 1", db.Records, db.Skipped)
	}
	if want := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC); !db.UpdatedAt.Equal(want) {
		t.Errorf("UpdatedAt %v, want %v", db.UpdatedAt, want)
	}
	fs := db.Match(testInventory())
	type key struct{ name, pkg, version string }
	got := map[key]Finding{}
	for _, f := range fs {
		got[key{f.Name, f.Package.Name, f.Package.Version}] = f
	}
	if len(fs) != 3 {
		t.Errorf("%d findings, want 3: %+v", len(fs), fs)
	}
	g, ok := got[key{"CVE-2022-32149", "golang.org/x/text", "v0.3.7"}]
	if !ok {
		t.Fatalf("no CVE-2022-32149 finding for golang.org/x/text v0.3.7: %+v", fs)
	}
	// The Go record has no severity; GitHub's record of the same CVE says
	// HIGH, and both records fold into one finding.
	if g.Severity != SeverityHigh || len(g.IDs) != 2 || g.FixedIn != "0.3.8" || g.URI != "https://pkg.go.dev/vuln/GO-2022-1059" {
		t.Errorf("Go finding = %+v", g)
	}
	d, ok := got[key{"CVE-2099-0001", "libc6", "2.36-9+deb12u4"}]
	if !ok || d.Severity != SeverityHigh || d.FixedIn != "2.36-9+deb12u7" {
		t.Errorf("Debian finding = %+v (found %v)", d, ok)
	}
	a, ok := got[key{"CVE-2099-0002", "musl", "1.2.4-r2"}]
	if !ok || a.Severity != SeverityCritical {
		t.Errorf("Alpine finding = %+v (found %v)", a, ok)
	}
	if fs[0].Severity != SeverityCritical {
		t.Errorf("findings not sorted by severity: first is %s", fs[0].Severity)
	}

	// Without GitHub's record, the Go finding has no severity.
	dir2 := writeDB(t, map[string]string{"GO-2022-1059.json": goVuln})
	db2, err := LoadDB([]string{dir2})
	if err != nil {
		t.Fatal(err)
	}
	fs = db2.Match(testInventory())
	if len(fs) != 1 || fs[0].Severity != SeverityUndefined || fs[0].Name != "CVE-2022-32149" {
		t.Errorf("Go-only findings = %+v", fs)
	}
}

func TestLoadZipAndFingerprint(t *testing.T) {
	dir := t.TempDir()
	zp := filepath.Join(dir, "all.zip")
	f, err := os.Create(zp)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, body := range map[string]string{"GO-2022-1059.json": goVuln, "DEBIAN-CVE-2099-0001.json": debianVuln} {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	zw.Close()
	f.Close()
	src := NewSource(Paths(zp))
	db, changed, err := src.Refresh()
	if err != nil || !changed || db.Records != 2 {
		t.Fatalf("Refresh = %v records, changed %v, %v", db, changed, err)
	}
	if _, changed, _ := src.Refresh(); changed {
		t.Error("Refresh reported a change for the same files")
	}
	later := time.Now().Add(time.Minute)
	os.Chtimes(zp, later, later)
	if _, changed, _ := src.Refresh(); !changed {
		t.Error("Refresh missed a changed file")
	}
	if _, err := LoadDB([]string{filepath.Join(dir, "missing")}); err == nil {
		t.Error("LoadDB of a missing path succeeded")
	}
}

func TestInRange(t *testing.T) {
	ev := func(kv ...string) []osvEvent {
		var out []osvEvent
		for i := 0; i < len(kv); i += 2 {
			switch kv[i] {
			case "i":
				out = append(out, osvEvent{Introduced: kv[i+1]})
			case "f":
				out = append(out, osvEvent{Fixed: kv[i+1]})
			case "l":
				out = append(out, osvEvent{LastAffected: kv[i+1]})
			}
		}
		return out
	}
	for _, c := range []struct {
		v      string
		events []osvEvent
		want   bool
		fixed  string
	}{
		{"1.0.0", ev("i", "0", "f", "1.2.0"), true, "1.2.0"},
		{"1.2.0", ev("i", "0", "f", "1.2.0"), false, ""},
		{"1.5.0", ev("i", "0", "f", "1.2.0", "i", "1.4.0", "f", "1.6.0"), true, "1.6.0"},
		{"1.3.0", ev("f", "1.6.0", "i", "1.4.0", "f", "1.2.0", "i", "0"), false, ""},
		{"1.4.0", ev("i", "1.0.0", "l", "1.4.0"), true, ""},
		{"1.4.1", ev("i", "1.0.0", "l", "1.4.0"), false, ""},
		{"0.9.0", ev("i", "1.0.0"), false, ""},
		{"9.0.0", ev("i", "1.0.0"), true, ""},
	} {
		ok, fixed := inRange(c.v, c.events, compareSemver)
		if ok != c.want || fixed != c.fixed {
			t.Errorf("inRange(%s, %+v) = %v %q, want %v %q", c.v, c.events, ok, fixed, c.want, c.fixed)
		}
	}
}
