package scan

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// The OSV schema (https://ossf.github.io/osv-schema/), the parts Berth
// reads.
type osvRecord struct {
	ID               string          `json:"id"`
	Modified         string          `json:"modified"`
	Published        string          `json:"published"`
	Withdrawn        string          `json:"withdrawn"`
	Aliases          []string        `json:"aliases"`
	Related          []string        `json:"related"`
	Summary          string          `json:"summary"`
	Details          string          `json:"details"`
	Severity         []osvSeverity   `json:"severity"`
	Affected         []osvAffected   `json:"affected"`
	References       []osvReference  `json:"references"`
	DatabaseSpecific json.RawMessage `json:"database_specific"`
}

type osvSeverity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

type osvAffected struct {
	Package struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
	} `json:"package"`
	Ranges            []osvRange      `json:"ranges"`
	Versions          []string        `json:"versions"`
	Severity          []osvSeverity   `json:"severity"`
	EcosystemSpecific json.RawMessage `json:"ecosystem_specific"`
	DatabaseSpecific  json.RawMessage `json:"database_specific"`
}

type osvRange struct {
	Type   string     `json:"type"`
	Events []osvEvent `json:"events"`
}

type osvEvent struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

type osvReference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// specific is what Berth reads of database_specific and
// ecosystem_specific: a severity word (GitHub, many distributions), Debian's
// urgency, and the Go database's advisory page.
type specific struct {
	Severity any    `json:"severity"`
	Urgency  string `json:"urgency"`
	URL      string `json:"url"`
}

func readSpecific(raw json.RawMessage) specific {
	var s specific
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &s) // an unexpected shape just has nothing Berth reads
	}
	return s
}

func (s specific) severity() string {
	if str, ok := s.Severity.(string); ok {
		if sev := normalizeSeverity(str); sev != "" {
			return sev
		}
	}
	switch strings.ToLower(s.Urgency) {
	case "unimportant":
		return SeverityInformational
	case "low", "low**":
		return SeverityLow
	case "medium", "medium**":
		return SeverityMedium
	case "high", "high**":
		return SeverityHigh
	}
	return ""
}

// vuln is a loaded vulnerability record.
type vuln struct {
	ID         string
	Aliases    []string
	Related    []string
	Summary    string
	Details    string
	Published  time.Time
	Modified   time.Time
	Severity   string // "" when the record has none of its own
	CVSS       []CVSS
	References []string
	Advisory   string // the record's advisory page
	// group holds the severity and CVSS assessments known for this
	// vulnerability under any of its names (its aliases in other records).
	group *aliasGroup
}

type aliasGroup struct {
	severity string
	cvss     []CVSS
	ids      []string
}

// affectedEntry is one (ecosystem, package) a record affects.
type affectedEntry struct {
	v        *vuln
	base     string // ecosystem without release: "Debian"
	release  string // "12", "v3.19"; "" for every release
	ranges   []osvRange
	versions map[string]bool
	severity string // the affected entry's own severity, if any
}

// DB is a loaded vulnerability database, indexed by ecosystem and package.
type DB struct {
	index map[string][]*affectedEntry
	// Records is the number of records loaded; Skipped the files that were
	// not OSV records (or withdrawn ones).
	Records int
	Skipped int
	// UpdatedAt is when the data was last changed: the newest record
	// modification time, or the newest file time when records carry none.
	UpdatedAt time.Time
	// Fingerprint identifies the files the database was loaded from.
	Fingerprint string
}

func indexKey(base, name string) string { return base + "\x00" + name }

// splitEcosystem splits "Debian:12" into "Debian" and "12", "Alpine:v3.19"
// into "Alpine" and "v3.19", and Ubuntu's "Ubuntu:22.04:LTS" (or
// "Ubuntu:Pro:18.04:LTS") into "Ubuntu" and "22.04".
func splitEcosystem(eco string) (base, release string) {
	base, rest, _ := strings.Cut(eco, ":")
	if base == "Ubuntu" {
		for _, p := range strings.Split(rest, ":") {
			if p != "" && p[0] >= '0' && p[0] <= '9' {
				return base, p
			}
		}
		return base, ""
	}
	return base, rest
}

// Paths splits a --vuln-db value: one or more directories, zip files or
// JSON files, separated by the OS's path list separator.
func Paths(spec string) []string {
	var out []string
	for _, p := range filepath.SplitList(spec) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// maxRecordBytes bounds one record file.
const maxRecordBytes = 32 << 20

// source is one file to load: a JSON file on disk or an entry of a zip.
type source struct {
	name string
	open func() (io.ReadCloser, error)
	size int64
}

// listSources walks the paths: directories (recursively, leaving out
// hidden and testdata directories), zip files (their .json entries) and
// JSON files.
func listSources(paths []string) ([]source, []io.Closer, time.Time, string, error) {
	var out []source
	var closers []io.Closer
	var newest time.Time
	h := sha256.New()
	for _, root := range paths {
		st, err := os.Stat(root)
		if err != nil {
			return nil, closers, newest, "", fmt.Errorf("vulnerability database: %w", err)
		}
		switch {
		case st.IsDir():
			err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.IsDir() {
					if p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
						return filepath.SkipDir
					}
					return nil
				}
				if !strings.HasSuffix(d.Name(), ".json") {
					return nil
				}
				info, err := d.Info()
				if err != nil {
					return err
				}
				if info.ModTime().After(newest) {
					newest = info.ModTime()
				}
				fmt.Fprintf(h, "%s\x00%d\x00%d\n", p, info.Size(), info.ModTime().UnixNano())
				out = append(out, source{name: p, size: info.Size(), open: func() (io.ReadCloser, error) { return os.Open(p) }})
				return nil
			})
			if err != nil {
				return nil, closers, newest, "", fmt.Errorf("vulnerability database %s: %w", root, err)
			}
		case strings.HasSuffix(strings.ToLower(root), ".zip"):
			zr, err := zip.OpenReader(root)
			if err != nil {
				return nil, closers, newest, "", fmt.Errorf("vulnerability database %s: %w", root, err)
			}
			closers = append(closers, zr)
			if st.ModTime().After(newest) {
				newest = st.ModTime()
			}
			fmt.Fprintf(h, "%s\x00%d\x00%d\n", root, st.Size(), st.ModTime().UnixNano())
			for _, f := range zr.File {
				if !strings.HasSuffix(f.Name, ".json") || strings.Contains("/"+f.Name, "/testdata/") || strings.Contains("/"+f.Name, "/.") {
					continue
				}
				out = append(out, source{name: root + "!" + f.Name, size: int64(f.UncompressedSize64), open: f.Open})
			}
		default:
			if st.ModTime().After(newest) {
				newest = st.ModTime()
			}
			fmt.Fprintf(h, "%s\x00%d\x00%d\n", root, st.Size(), st.ModTime().UnixNano())
			out = append(out, source{name: root, size: st.Size(), open: func() (io.ReadCloser, error) { return os.Open(root) }})
		}
	}
	return out, closers, newest, hex.EncodeToString(h.Sum(nil)), nil
}

// Fingerprint identifies the current state of the database files at paths
// (names, sizes and modification times): it changes when the database is
// updated.
func Fingerprint(paths []string) (string, error) {
	_, closers, _, fp, err := listSources(paths)
	for _, c := range closers {
		c.Close()
	}
	return fp, err
}

// LoadDB loads every OSV record found at paths. Files that are not OSV
// records are counted in Skipped, not refused: a directory may hold other
// JSON.
func LoadDB(paths []string) (*DB, error) {
	if len(paths) == 0 {
		return nil, errors.New("vulnerability database: no path given")
	}
	srcs, closers, newest, fp, err := listSources(paths)
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	if err != nil {
		return nil, err
	}
	recs := make([]*osvRecord, len(srcs))
	var firstErr error
	var mu sync.Mutex
	work := make(chan int)
	var wg sync.WaitGroup
	// Zip entries share one file: reading them in parallel is safe
	// (archive/zip opens a section reader per entry).
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				r, err := readRecord(srcs[i])
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				recs[i] = r
			}
		}()
	}
	for i := range srcs {
		work <- i
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	db := &DB{index: map[string][]*affectedEntry{}, Fingerprint: fp}
	var vulns []*vuln
	for _, r := range recs {
		if r == nil || r.ID == "" || len(r.Affected) == 0 || r.Withdrawn != "" {
			db.Skipped++
			continue
		}
		v := newVuln(r)
		vulns = append(vulns, v)
		db.Records++
		if v.Modified.After(db.UpdatedAt) {
			db.UpdatedAt = v.Modified
		}
		for _, a := range r.Affected {
			if a.Package.Name == "" || a.Package.Ecosystem == "" {
				continue
			}
			base, release := splitEcosystem(a.Package.Ecosystem)
			e := &affectedEntry{v: v, base: base, release: release, severity: affectedSeverity(a)}
			for _, rg := range a.Ranges {
				if rg.Type == "ECOSYSTEM" || rg.Type == "SEMVER" {
					e.ranges = append(e.ranges, rg)
				}
			}
			if len(a.Versions) > 0 {
				e.versions = make(map[string]bool, len(a.Versions))
				for _, ver := range a.Versions {
					e.versions[ver] = true
				}
			}
			if len(e.ranges) == 0 && len(e.versions) == 0 {
				continue
			}
			k := indexKey(base, a.Package.Name)
			db.index[k] = append(db.index[k], e)
		}
	}
	for _, list := range db.index {
		sort.SliceStable(list, func(i, j int) bool { return list[i].v.ID < list[j].v.ID })
	}
	groupAliases(vulns)
	if db.UpdatedAt.IsZero() || db.UpdatedAt.Year() < 1971 {
		db.UpdatedAt = newest
	}
	return db, nil
}

// readRecord parses one file; a file that is not an OSV record gives a nil
// record (skipped), an unreadable one an error.
func readRecord(s source) (*osvRecord, error) {
	if s.size > maxRecordBytes {
		return nil, nil
	}
	rc, err := s.open()
	if err != nil {
		return nil, fmt.Errorf("vulnerability database: %w", err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxRecordBytes+1))
	if err != nil {
		return nil, fmt.Errorf("vulnerability database: reading %s: %w", s.name, err)
	}
	var r osvRecord
	if json.Unmarshal(data, &r) != nil {
		return nil, nil
	}
	return &r, nil
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 1971 {
		return time.Time{}
	}
	return t
}

// assess reads a severity list: CVSS vectors (scored when Berth can) and
// severity words.
func assess(list []osvSeverity) (word string, cvss []CVSS) {
	for _, s := range list {
		switch s.Type {
		case "CVSS_V3":
			if ver, score, ok := cvss3Score(s.Score); ok {
				cvss = append(cvss, CVSS{Version: ver, Vector: s.Score, Score: score})
			}
		case "CVSS_V2":
			if score, ok := cvss2Score(s.Score); ok {
				cvss = append(cvss, CVSS{Version: "2.0", Vector: s.Score, Score: score})
			}
		case "CVSS_V4":
			cvss = append(cvss, CVSS{Version: "4.0", Vector: s.Score})
		default:
			// Ubuntu's priorities and other words.
			if w := normalizeSeverity(s.Score); w != "" && word == "" {
				word = w
			}
		}
	}
	return word, cvss
}

// severityOf decides a severity from a word and CVSS assessments: the word
// (a vendor's own rating) first, then the highest CVSS v3 score, then v2.
func severityOf(word string, cvss []CVSS) string {
	if word != "" {
		return word
	}
	best := ""
	for _, c := range cvss {
		if strings.HasPrefix(c.Version, "3") {
			if s := severityOfScore(c.Score); SeverityRank(s) > SeverityRank(best) {
				best = s
			}
		}
	}
	if best != "" {
		return best
	}
	for _, c := range cvss {
		if c.Version == "2.0" {
			if s := severityOfV2Score(c.Score); SeverityRank(s) > SeverityRank(best) {
				best = s
			}
		}
	}
	return best
}

func affectedSeverity(a osvAffected) string {
	word, cvss := assess(a.Severity)
	if word == "" {
		word = readSpecific(a.EcosystemSpecific).severity()
	}
	if word == "" {
		word = readSpecific(a.DatabaseSpecific).severity()
	}
	return severityOf(word, cvss)
}

func newVuln(r *osvRecord) *vuln {
	v := &vuln{
		ID: r.ID, Aliases: r.Aliases, Related: r.Related, Summary: r.Summary, Details: r.Details,
		Published: parseTime(r.Published), Modified: parseTime(r.Modified),
	}
	ds := readSpecific(r.DatabaseSpecific)
	word, cvss := assess(r.Severity)
	if w := ds.severity(); w != "" {
		word = w
	}
	v.CVSS = cvss
	v.Severity = severityOf(word, cvss)
	for _, ref := range r.References {
		if ref.URL != "" {
			v.References = append(v.References, ref.URL)
		}
	}
	v.Advisory = ds.URL
	if v.Advisory == "" {
		for _, ref := range r.References {
			if ref.Type == "ADVISORY" && ref.URL != "" {
				v.Advisory = ref.URL
				break
			}
		}
	}
	return v
}

// groupAliases joins records that name the same vulnerability (through
// their ids and aliases), so that a record without a severity (the Go
// database assigns none) borrows the one another source gives.
func groupAliases(vulns []*vuln) {
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	add := func(x string) {
		if _, ok := parent[x]; !ok {
			parent[x] = x
		}
	}
	union := func(a, b string) {
		add(a)
		add(b)
		ra, rb := find(a), find(b)
		if ra != rb {
			parent[ra] = rb
		}
	}
	for _, v := range vulns {
		add(v.ID)
		for _, a := range v.Aliases {
			union(v.ID, a)
		}
	}
	groups := map[string]*aliasGroup{}
	for _, v := range vulns {
		root := find(v.ID)
		g := groups[root]
		if g == nil {
			g = &aliasGroup{}
			groups[root] = g
		}
		g.ids = append(g.ids, v.ID)
		if SeverityRank(v.Severity) > SeverityRank(g.severity) {
			g.severity = v.Severity
		}
		g.cvss = append(g.cvss, v.CVSS...)
		v.group = g
	}
}

// Finding is one vulnerability found in one package of an image.
type Finding struct {
	// Name is the vulnerability's CVE id when it has one, else the id of
	// the record that found it.
	Name string `json:"name"`
	// IDs are the records that found it (GO-2022-1059, GHSA-...).
	IDs         []string  `json:"ids"`
	Related     []string  `json:"related,omitempty"`
	Summary     string    `json:"summary,omitempty"`
	Description string    `json:"description,omitempty"`
	URI         string    `json:"uri,omitempty"`
	Severity    string    `json:"severity"`
	CVSS        []CVSS    `json:"cvss,omitempty"`
	References  []string  `json:"references,omitempty"`
	Published   time.Time `json:"published,omitzero"`
	Modified    time.Time `json:"modified,omitzero"`
	Package     Package   `json:"package"`
	// FixedIn is the first version that is not affected; "" when there is
	// no fix.
	FixedIn string `json:"fixedIn,omitempty"`
}

// Key identifies a finding across scans (for first-observed times).
func (f Finding) Key() string {
	return f.Name + "\x00" + f.Package.Name + "\x00" + f.Package.Version + "\x00" + f.Package.Path
}

// affects evaluates an entry's ranges and versions for version; fixed is
// the fix of the range that matched.
func (e *affectedEntry) affects(version string) (bool, string) {
	if e.versions[version] {
		return true, ""
	}
	for _, rg := range e.ranges {
		cmp := compareSemver
		if rg.Type == "ECOSYSTEM" {
			cmp = comparatorFor(e.base)
			if cmp == nil {
				continue
			}
		}
		if ok, fixed := inRange(version, rg.Events, cmp); ok {
			return true, fixed
		}
	}
	return false, ""
}

// inRange applies OSV's range evaluation: events in version order, an
// "introduced" at or below the version makes it affected, a "fixed" at or
// below (or a "last_affected" below) makes it not.
func inRange(version string, events []osvEvent, cmp compareFunc) (bool, string) {
	type ev struct {
		kind int // 0 introduced, 1 fixed, 2 last_affected
		v    string
	}
	var evs []ev
	for _, e := range events {
		switch {
		case e.Introduced != "":
			evs = append(evs, ev{0, e.Introduced})
		case e.Fixed != "":
			evs = append(evs, ev{1, e.Fixed})
		case e.LastAffected != "":
			evs = append(evs, ev{2, e.LastAffected})
		}
	}
	key := func(e ev) string { return e.v }
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := key(evs[i]), key(evs[j])
		if a == "0" || b == "0" {
			return a == "0" && b != "0"
		}
		return cmp(a, b) < 0
	})
	affected := false
	fixed := ""
	for i, e := range evs {
		switch e.kind {
		case 0:
			if e.v == "0" || cmp(version, e.v) >= 0 {
				affected = true
				fixed = ""
				for _, later := range evs[i+1:] {
					if later.kind == 1 {
						fixed = later.v
						break
					}
					if later.kind == 0 {
						break
					}
				}
			}
		case 1:
			if cmp(version, e.v) >= 0 {
				affected = false
			}
		case 2:
			if cmp(version, e.v) > 0 {
				affected = false
			}
		}
	}
	if !affected {
		return false, ""
	}
	return true, fixed
}

// Match returns the findings of an inventory, sorted by severity (highest
// first), name and package. A dpkg, apk or rpm package is matched under
// its own name and under its source package's name (distribution
// advisories name source packages).
func (db *DB) Match(inv *Inventory) []Finding {
	if db == nil || inv == nil {
		return []Finding{}
	}
	byKey := map[string]*Finding{}
	var order []string
	for _, p := range inv.Packages {
		if p.Ecosystem == "" {
			continue
		}
		base, release := splitEcosystem(p.Ecosystem)
		type lookup struct{ name, version string }
		looks := []lookup{{p.Name, p.Version}}
		if p.SourceName != "" && p.SourceName != p.Name {
			v := p.SourceVersion
			if v == "" {
				v = p.Version
			}
			looks = append(looks, lookup{p.SourceName, v})
		}
		seen := map[*vuln]bool{}
		for _, l := range looks {
			for _, e := range db.index[indexKey(base, l.name)] {
				if seen[e.v] || (e.release != "" && e.release != release) {
					continue
				}
				ok, fixed := e.affects(l.version)
				if !ok {
					continue
				}
				seen[e.v] = true
				f := newFinding(e, p, fixed)
				k := f.Key()
				if have, dup := byKey[k]; dup {
					mergeFinding(have, f)
					continue
				}
				byKey[k] = &f
				order = append(order, k)
			}
		}
	}
	out := make([]Finding, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if ra, rb := SeverityRank(a.Severity), SeverityRank(b.Severity); ra != rb {
			return ra > rb
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Package.Name != b.Package.Name {
			return a.Package.Name < b.Package.Name
		}
		return a.Package.Path < b.Package.Path
	})
	return out
}

func cveName(v *vuln) string {
	if strings.HasPrefix(v.ID, "CVE-") {
		return v.ID
	}
	var cves []string
	for _, a := range v.Aliases {
		if strings.HasPrefix(a, "CVE-") {
			cves = append(cves, a)
		}
	}
	if len(cves) == 0 && v.group != nil {
		for _, id := range v.group.ids {
			if strings.HasPrefix(id, "CVE-") {
				cves = append(cves, id)
			}
		}
	}
	if len(cves) == 0 {
		// Debian's records are DEBIAN-CVE-..., Ubuntu's UBUNTU-CVE-...
		for _, p := range []string{"DEBIAN-", "UBUNTU-", "ALPINE-"} {
			if rest, ok := strings.CutPrefix(v.ID, p); ok && strings.HasPrefix(rest, "CVE-") {
				return rest
			}
		}
		return v.ID
	}
	sort.Strings(cves)
	return cves[0]
}

func newFinding(e *affectedEntry, p Package, fixed string) Finding {
	v := e.v
	f := Finding{
		Name:        cveName(v),
		IDs:         []string{v.ID},
		Summary:     v.Summary,
		Description: v.Details,
		Severity:    e.severity,
		References:  v.References,
		Published:   v.Published,
		Modified:    v.Modified,
		Package:     p,
		FixedIn:     fixed,
		CVSS:        v.CVSS,
	}
	if f.Description == "" {
		f.Description = v.Summary
	}
	if f.Severity == "" {
		f.Severity = v.Severity
	}
	if v.group != nil {
		if f.Severity == "" {
			f.Severity = v.group.severity
		}
		if len(f.CVSS) == 0 {
			f.CVSS = v.group.cvss
		}
	}
	if f.Severity == "" {
		f.Severity = SeverityUndefined
	}
	for _, a := range append(append([]string{}, v.Aliases...), v.Related...) {
		if a != f.Name {
			f.Related = append(f.Related, a)
		}
	}
	if v.ID != f.Name && !contains(f.Related, v.ID) {
		f.Related = append([]string{v.ID}, f.Related...)
	}
	switch {
	case v.Advisory != "":
		f.URI = v.Advisory
	case strings.HasPrefix(f.Name, "CVE-"):
		f.URI = "https://nvd.nist.gov/vuln/detail/" + f.Name
	case len(v.References) > 0:
		f.URI = v.References[0]
	default:
		f.URI = "https://osv.dev/vulnerability/" + v.ID
	}
	return f
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// authority ranks records for the text of a finding: the ecosystem's own
// database (GO-, DEBIAN-, ALPINE- ...) over GitHub's advisories over bare
// CVE records.
func authority(id string) int {
	switch {
	case strings.HasPrefix(id, "CVE-"):
		return 0
	case strings.HasPrefix(id, "GHSA-"):
		return 1
	}
	return 2
}

// mergeFinding folds a second record's view of the same vulnerability in
// the same package into f.
func mergeFinding(f *Finding, g Finding) {
	if authority(g.IDs[0]) > authority(f.IDs[0]) {
		g.IDs, f.IDs = f.IDs, g.IDs
		f.Summary, g.Summary = g.Summary, f.Summary
		f.Description, g.Description = g.Description, f.Description
		f.URI, g.URI = g.URI, f.URI
		f.References, g.References = g.References, f.References
		f.Published, g.Published = g.Published, f.Published
		if g.FixedIn != "" {
			f.FixedIn, g.FixedIn = g.FixedIn, f.FixedIn
		}
	}
	for _, id := range g.IDs {
		if !contains(f.IDs, id) {
			f.IDs = append(f.IDs, id)
		}
	}
	if SeverityRank(g.Severity) > SeverityRank(f.Severity) {
		f.Severity = g.Severity
	}
	if len(f.CVSS) == 0 {
		f.CVSS = g.CVSS
	}
	if f.FixedIn == "" {
		f.FixedIn = g.FixedIn
	}
	if f.Description == "" {
		f.Description = g.Description
	}
	for _, r := range g.Related {
		if r != f.Name && !contains(f.Related, r) {
			f.Related = append(f.Related, r)
		}
	}
	if g.Modified.After(f.Modified) {
		f.Modified = g.Modified
	}
}
