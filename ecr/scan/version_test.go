package scan

import "testing"

func TestCompareDpkg(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.0", "1.1", -1},
		{"1.0~rc1", "1.0", -1},
		{"1.0~rc1", "1.0~rc2", -1},
		{"1.0~~", "1.0~", -1},
		{"1.0", "1.0+b1", -1},
		{"1:0.9", "2.0", 1},
		{"2.36-9+deb12u4", "2.36-9+deb12u10", -1},
		{"2.36-9", "2.36-9+deb12u1", -1},
		{"1.2.3-1", "1.2.3-1", 0},
		{"1.10", "1.9", 1},
		{"1.01", "1.1", 0},
		{"3.0.11-1~deb12u2", "3.0.11-1", -1},
		{"1.0a", "1.0", 1},
		{"1.0-1", "1.0", 1},
		{"7.88.1-10+deb12u5", "7.88.1-10+deb12u7", -1},
	} {
		if got := compareDpkg(c.a, c.b); got != c.want {
			t.Errorf("compareDpkg(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := compareDpkg(c.b, c.a); got != -c.want {
			t.Errorf("compareDpkg(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

func TestCompareApk(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.0", "1.1", -1},
		{"1.0-r0", "1.0-r1", -1},
		{"1.0_alpha", "1.0", -1},
		{"1.0_rc1", "1.0_rc2", -1},
		{"1.0_rc1", "1.0", -1},
		{"1.0_p1", "1.0", 1},
		{"1.0a", "1.0", 1},
		{"1.0a", "1.0b", -1},
		{"1.2.3", "1.2", 1},
		{"3.1.4-r5", "3.1.4-r10", -1},
		{"1.10", "1.9", 1},
		{"1.01", "1.1", -1},
		{"2.39.2-r0", "2.40.1-r0", -1},
		{"1.36.1-r15", "1.36.1-r19", -1},
		{"1.0_git20230101", "1.0", 1},
		{"1.0_beta", "1.0_alpha", 1},
	} {
		if got := compareApk(c.a, c.b); got != c.want {
			t.Errorf("compareApk(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := compareApk(c.b, c.a); got != -c.want {
			t.Errorf("compareApk(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

func TestCompareRpm(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"1.0-1", "1.0-1", 0},
		{"1.0-1", "1.0-2", -1},
		{"1.0~rc1-1", "1.0-1", -1},
		{"1.0^git1-1", "1.0-1", 1},
		{"1:1.0-1", "2.0-1", 1},
		{"1.10-1.el9", "1.9-1.el9", 1},
		{"2.34-60.el9", "2.34-100.el9", -1},
		{"1.0a", "1.0", 1},
		{"1.0", "1.0a", -1},
	} {
		if got := compareRpm(c.a, c.b); got != c.want {
			t.Errorf("compareRpm(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := compareRpm(c.b, c.a); got != -c.want {
			t.Errorf("compareRpm(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

func TestCompareSemver(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"v0.3.7", "0.3.8", -1},
		{"v0.3.8", "0.3.8", 0},
		{"1.21.3", "1.21.10", -1},
		{"1.21.0-rc.2", "1.21.0", -1},
		{"v0.0.0-20220101000000-abcdef123456", "0.1.0", -1},
		{"1.0.0-alpha", "1.0.0-alpha.1", -1},
		{"1.0.0-alpha.1", "1.0.0-alpha.beta", -1},
		{"1.0.0-beta.2", "1.0.0-beta.11", -1},
		{"1.0.0+build", "1.0.0", 0},
		{"2", "1.9.9", 1},
	} {
		if got := compareSemver(c.a, c.b); got != c.want {
			t.Errorf("compareSemver(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestGoStdlibVersion(t *testing.T) {
	for in, want := range map[string]string{
		"go1.21.3":                      "1.21.3",
		"go1.22":                        "1.22.0",
		"go1.21rc2":                     "1.21.0-rc.2",
		"go1.9beta1":                    "1.9.0-beta.1",
		"go1.22.0 X:nocoverageredesign": "1.22.0",
		"devel go1.23-abcdef Mon Jan 1": "",
		"go1.26.8":                      "1.26.8",
		"garbage":                       "",
	} {
		if got := goStdlibVersion(in); got != want {
			t.Errorf("goStdlibVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCVSS3(t *testing.T) {
	for _, c := range []struct {
		vector string
		score  float64
		sev    string
	}{
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5, SeverityHigh},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, SeverityCritical},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0, SeverityCritical},
		{"CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 5.5, SeverityMedium},
		{"CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 3.1, SeverityLow},
		{"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4, SeverityMedium},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0, SeverityInformational},
	} {
		_, score, ok := cvss3Score(c.vector)
		if !ok || score != c.score {
			t.Errorf("cvss3Score(%s) = %v, %v; want %v", c.vector, score, ok, c.score)
		}
		if got := severityOfScore(score); got != c.sev {
			t.Errorf("severity of %v = %s, want %s", score, got, c.sev)
		}
	}
	if _, _, ok := cvss3Score("CVSS:3.1/AV:X"); ok {
		t.Error("an incomplete vector scored")
	}
	if s, ok := cvss2Score("AV:N/AC:L/Au:N/C:P/I:P/A:P"); !ok || s != 7.5 {
		t.Errorf("cvss2Score = %v, %v; want 7.5", s, ok)
	}
	if s, ok := cvss2Score("AV:N/AC:M/Au:N/C:N/I:P/A:N"); !ok || s != 4.3 {
		t.Errorf("cvss2Score = %v, %v; want 4.3", s, ok)
	}
}
