package scan

import (
	"strconv"
	"strings"
)

// Version orderings. Each comparison returns -1, 0 or +1 and is total:
// a version that does not follow its ecosystem's syntax still compares
// (deterministically) rather than failing, since databases and package
// databases both hold oddities.

// compareFunc orders two versions of one ecosystem.
type compareFunc func(a, b string) int

// comparatorFor returns the ordering of an OSV ecosystem (its base name,
// before any ":release") for ranges of type ECOSYSTEM; nil when Berth does
// not know it.
func comparatorFor(base string) compareFunc {
	switch base {
	case "Debian", "Ubuntu":
		return compareDpkg
	case "Alpine", "Wolfi", "Chainguard":
		return compareApk
	case "Go":
		return compareSemver
	case "Rocky Linux", "AlmaLinux", "Red Hat", "openSUSE", "SUSE", "Mageia", "openEuler":
		return compareRpm
	}
	return nil
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// ---- dpkg (deb-version(7)) ----

// dpkgVersion is [epoch:]upstream[-revision].
type dpkgVersion struct {
	epoch    int
	upstream string
	revision string
}

func parseDpkg(s string) dpkgVersion {
	s = strings.TrimSpace(s)
	var v dpkgVersion
	if i := strings.IndexByte(s, ':'); i >= 0 {
		if e, err := strconv.Atoi(s[:i]); err == nil && e >= 0 {
			v.epoch = e
		}
		s = s[i+1:]
	}
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		v.upstream, v.revision = s[:i], s[i+1:]
	} else {
		v.upstream = s
	}
	return v
}

// compareDpkg is dpkg's version ordering: epoch numerically, then upstream
// version and Debian revision with the verrevcmp algorithm.
func compareDpkg(a, b string) int {
	va, vb := parseDpkg(a), parseDpkg(b)
	if va.epoch != vb.epoch {
		return sign(va.epoch - vb.epoch)
	}
	if r := verrevcmp(va.upstream, vb.upstream); r != 0 {
		return r
	}
	return verrevcmp(va.revision, vb.revision)
}

// dpkgOrder is the weight of a character in a non-digit run: '~' sorts
// before everything, even the end of the string; letters before other
// characters.
func dpkgOrder(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return 0
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		return int(c)
	case c == '~':
		return -1
	case c != 0:
		return int(c) + 256
	}
	return 0
}

func verrevcmp(a, b string) int {
	i, j := 0, 0
	at := func(s string, k int) byte {
		if k < len(s) {
			return s[k]
		}
		return 0
	}
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	for i < len(a) || j < len(b) {
		firstDiff := 0
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := dpkgOrder(at(a, i)), dpkgOrder(at(b, j))
			if i < len(a) && isDigit(a[i]) {
				ac = 0
			}
			if j < len(b) && isDigit(b[j]) {
				bc = 0
			}
			if ac != bc {
				return sign(ac - bc)
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		for i < len(a) && isDigit(a[i]) && j < len(b) && isDigit(b[j]) {
			if firstDiff == 0 {
				firstDiff = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if firstDiff != 0 {
			return sign(firstDiff)
		}
	}
	return 0
}

// ---- apk (Alpine's apk-tools) ----

// apk version tokens, in the order that decides which of two versions
// that agree on a common prefix is greater.
const (
	apkInitialDigit = iota
	apkDigit
	apkLetter
	apkSuffix
	apkSuffixNo
	apkCommitHash
	apkRevisionNo
	apkEnd
	apkInvalid
)

// apk suffixes: the ones before apkSuffixNone mark pre-releases.
var apkSuffixes = map[string]int{"alpha": 0, "beta": 1, "pre": 2, "rc": 3, "cvs": 5, "svn": 6, "git": 7, "hg": 8, "p": 9}

const apkSuffixNone = 4

type apkToken struct {
	kind   int
	suffix int
	number uint64
	value  string
}

type apkLexer struct {
	s   string
	tok apkToken
}

func (l *apkLexer) digits() {
	i := 0
	for i < len(l.s) && l.s[i] >= '0' && l.s[i] <= '9' {
		i++
	}
	l.tok.value = l.s[:i]
	n, err := strconv.ParseUint(l.s[:i], 10, 64)
	if err != nil {
		n = ^uint64(0) // too long: saturate rather than fail
	}
	l.tok.number = n
	l.s = l.s[i:]
	if i == 0 {
		l.tok.kind = apkInvalid
	}
}

func (l *apkLexer) first() {
	l.tok.kind = apkInitialDigit
	l.digits()
}

func (l *apkLexer) next() {
	if l.s == "" {
		l.tok.kind = apkEnd
		return
	}
	c := l.s[0]
	switch {
	case c >= 'a' && c <= 'z':
		if l.tok.kind > apkDigit {
			l.tok.kind = apkInvalid
			return
		}
		l.tok.value = l.s[:1]
		l.tok.kind = apkLetter
		l.s = l.s[1:]
	case c == '.' || (c >= '0' && c <= '9'):
		if c == '.' {
			if l.tok.kind > apkDigit {
				l.tok.kind = apkInvalid
				return
			}
			l.s = l.s[1:]
		}
		switch l.tok.kind {
		case apkInitialDigit, apkDigit:
			l.tok.kind = apkDigit
		case apkSuffix:
			l.tok.kind = apkSuffixNo
		default:
			l.tok.kind = apkInvalid
			return
		}
		l.digits()
	case c == '_':
		if l.tok.kind > apkSuffixNo {
			l.tok.kind = apkInvalid
			return
		}
		l.s = l.s[1:]
		i := 0
		for i < len(l.s) && l.s[i] >= 'a' && l.s[i] <= 'z' {
			i++
		}
		suf, ok := apkSuffixes[l.s[:i]]
		if !ok {
			l.tok.kind = apkInvalid
			return
		}
		l.tok.value, l.tok.suffix, l.tok.kind = l.s[:i], suf, apkSuffix
		l.s = l.s[i:]
	case c == '~':
		if l.tok.kind >= apkCommitHash {
			l.tok.kind = apkInvalid
			return
		}
		l.s = l.s[1:]
		i := 0
		for i < len(l.s) && isHex(l.s[i]) {
			i++
		}
		if i == 0 {
			l.tok.kind = apkInvalid
			return
		}
		l.tok.value, l.tok.kind = l.s[:i], apkCommitHash
		l.s = l.s[i:]
	case c == '-':
		if l.tok.kind >= apkRevisionNo || !strings.HasPrefix(l.s, "-r") {
			l.tok.kind = apkInvalid
			return
		}
		l.s = l.s[2:]
		l.tok.kind = apkRevisionNo
		l.digits()
	default:
		l.tok.kind = apkInvalid
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func apkTokenCmp(a, b apkToken) int {
	switch a.kind {
	case apkDigit:
		if strings.HasPrefix(a.value, "0") || strings.HasPrefix(b.value, "0") {
			// A leading zero makes the component a fraction: compare as text.
			return strings.Compare(a.value, b.value)
		}
		fallthrough
	case apkInitialDigit, apkSuffixNo, apkRevisionNo:
		switch {
		case a.number < b.number:
			return -1
		case a.number > b.number:
			return 1
		}
		return 0
	case apkLetter:
		return strings.Compare(a.value, b.value)
	case apkSuffix:
		return sign(a.suffix - b.suffix)
	}
	return strings.Compare(a.value, b.value)
}

// compareApk is apk-tools' version ordering:
// digit{.digit}...{letter}{_suffix{number}}...{~hash}{-r#}.
func compareApk(a, b string) int {
	la, lb := apkLexer{s: a}, apkLexer{s: b}
	la.first()
	lb.first()
	for la.tok.kind == lb.tok.kind && la.tok.kind < apkEnd {
		if r := apkTokenCmp(la.tok, lb.tok); r != 0 {
			return r
		}
		la.next()
		lb.next()
	}
	ta, tb := la.tok, lb.tok
	if ta.kind == tb.kind {
		if ta.kind == apkInvalid {
			// Both malformed past a common prefix: order the rest as text.
			return strings.Compare(la.s, lb.s)
		}
		return 0
	}
	// Equal up to here: the longer version is greater, unless what makes
	// it longer is a pre-release suffix.
	if ta.kind == apkSuffix && ta.suffix < apkSuffixNone {
		return -1
	}
	if tb.kind == apkSuffix && tb.suffix < apkSuffixNone {
		return 1
	}
	if ta.kind > tb.kind {
		return -1
	}
	return 1
}

// ---- rpm (rpmvercmp) ----

// rpmEVR is [epoch:]version[-release].
func parseRpm(s string) (epoch int, version, release string) {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		if e, err := strconv.Atoi(s[:i]); err == nil && e >= 0 {
			epoch = e
		}
		s = s[i+1:]
	}
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		return epoch, s[:i], s[i+1:]
	}
	return epoch, s, ""
}

// compareRpm orders epoch:version-release as rpm does.
func compareRpm(a, b string) int {
	ea, va, ra := parseRpm(a)
	eb, vb, rb := parseRpm(b)
	if ea != eb {
		return sign(ea - eb)
	}
	if r := rpmvercmp(va, vb); r != 0 {
		return r
	}
	if ra == "" || rb == "" {
		return 0 // a missing release matches any release
	}
	return rpmvercmp(ra, rb)
}

func isAlnum(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func rpmvercmp(a, b string) int {
	if a == b {
		return 0
	}
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	isAlpha := func(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
	for a != "" || b != "" {
		for a != "" && !isAlnum(a[0]) && a[0] != '~' && a[0] != '^' {
			a = a[1:]
		}
		for b != "" && !isAlnum(b[0]) && b[0] != '~' && b[0] != '^' {
			b = b[1:]
		}
		// '~' sorts before everything, even the end.
		if strings.HasPrefix(a, "~") || strings.HasPrefix(b, "~") {
			if !strings.HasPrefix(a, "~") {
				return 1
			}
			if !strings.HasPrefix(b, "~") {
				return -1
			}
			a, b = a[1:], b[1:]
			continue
		}
		// '^' sorts after the end but before anything else.
		if strings.HasPrefix(a, "^") || strings.HasPrefix(b, "^") {
			if a == "" {
				return -1
			}
			if b == "" {
				return 1
			}
			if !strings.HasPrefix(a, "^") {
				return 1
			}
			if !strings.HasPrefix(b, "^") {
				return -1
			}
			a, b = a[1:], b[1:]
			continue
		}
		if a == "" || b == "" {
			break
		}
		var sa, sb string
		numeric := isDigit(a[0])
		take := func(s string, f func(byte) bool) (string, string) {
			i := 0
			for i < len(s) && f(s[i]) {
				i++
			}
			return s[:i], s[i:]
		}
		if numeric {
			sa, a = take(a, isDigit)
			sb, b = take(b, isDigit)
		} else {
			sa, a = take(a, isAlpha)
			sb, b = take(b, isAlpha)
		}
		if sb == "" {
			// Different kinds of segment: numeric is newer.
			if numeric {
				return 1
			}
			return -1
		}
		if numeric {
			sa, sb = strings.TrimLeft(sa, "0"), strings.TrimLeft(sb, "0")
			if len(sa) != len(sb) {
				return sign(len(sa) - len(sb))
			}
		}
		if r := strings.Compare(sa, sb); r != 0 {
			return r
		}
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}

// ---- semver (Go modules, OSV SEMVER ranges) ----

type semver struct {
	major, minor, patch string
	pre                 string
	ok                  bool
}

func parseSemver(s string) semver {
	s = strings.TrimPrefix(s, "v")
	if i := strings.IndexByte(s, '+'); i >= 0 {
		s = s[:i]
	}
	var v semver
	if i := strings.IndexByte(s, '-'); i >= 0 {
		s, v.pre = s[:i], s[i+1:]
	}
	parts := strings.Split(s, ".")
	if len(parts) == 0 || len(parts) > 3 {
		return v
	}
	for len(parts) < 3 {
		parts = append(parts, "0")
	}
	for _, p := range parts {
		if p == "" || strings.TrimLeft(p, "0123456789") != "" {
			return v
		}
	}
	v.major, v.minor, v.patch = parts[0], parts[1], parts[2]
	v.ok = true
	return v
}

func cmpNum(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return sign(len(a) - len(b))
	}
	return strings.Compare(a, b)
}

func isNum(s string) bool { return s != "" && strings.TrimLeft(s, "0123456789") == "" }

// compareSemver orders semantic versions (with or without a leading "v",
// missing minor and patch read as 0, build metadata ignored). Strings that
// are not semantic versions sort before those that are.
func compareSemver(a, b string) int {
	va, vb := parseSemver(a), parseSemver(b)
	switch {
	case !va.ok && !vb.ok:
		return strings.Compare(a, b)
	case !va.ok:
		return -1
	case !vb.ok:
		return 1
	}
	if r := cmpNum(va.major, vb.major); r != 0 {
		return r
	}
	if r := cmpNum(va.minor, vb.minor); r != 0 {
		return r
	}
	if r := cmpNum(va.patch, vb.patch); r != 0 {
		return r
	}
	switch {
	case va.pre == vb.pre:
		return 0
	case va.pre == "":
		return 1
	case vb.pre == "":
		return -1
	}
	pa, pb := strings.Split(va.pre, "."), strings.Split(vb.pre, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, y := pa[i], pb[i]
		if x == y {
			continue
		}
		nx, ny := isNum(x), isNum(y)
		switch {
		case nx && ny:
			return cmpNum(x, y)
		case nx:
			return -1
		case ny:
			return 1
		}
		return strings.Compare(x, y)
	}
	return sign(len(pa) - len(pb))
}

// goStdlibVersion turns a Go toolchain version as build information gives
// it ("go1.21.3", "go1.22", "go1.21rc2", "go1.22.0 X:nocoverageredesign")
// into the semantic version the Go vulnerability database uses for the
// "stdlib" package ("1.21.3", "1.22.0", "1.21.0-rc.2"); "" for development
// toolchains.
func goStdlibVersion(v string) string {
	if i := strings.IndexAny(v, " \t"); i >= 0 {
		v = v[:i]
	}
	v, ok := strings.CutPrefix(v, "go")
	if !ok || v == "" {
		return ""
	}
	pre := ""
	for _, p := range []string{"rc", "beta", "alpha"} {
		if i := strings.Index(v, p); i >= 0 {
			n := v[i+len(p):]
			if !isNum(n) {
				return ""
			}
			v, pre = v[:i], p+"."+n
			break
		}
	}
	parts := strings.Split(v, ".")
	if len(parts) > 3 {
		return ""
	}
	for _, p := range parts {
		if !isNum(p) {
			return ""
		}
	}
	for len(parts) < 3 {
		parts = append(parts, "0")
	}
	out := strings.Join(parts, ".")
	if pre != "" {
		out += "-" + pre
	}
	return out
}
