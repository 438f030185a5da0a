package lifecycle

import (
	"slices"
	"testing"
)

func mustParse(t *testing.T, rules ...string) *Policy {
	t.Helper()
	p, err := Parse(policy(rules...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMatchPattern(t *testing.T) {
	cases := []struct {
		pattern, tag string
		want         bool
	}{
		{"prod", "prod", true},
		{"prod", "prod1", false},
		{"prod*", "prod", true},
		{"prod*", "production-team1", true},
		{"prod*", "xprod", false},
		{"*prod*", "repo-production", true},
		{"*prod*", "prod-team", true},
		{"*prod*", "pro-d", false},
		{"*", "anything", true},
		{"*-sha-*", "main-sha-1a2b", true},
		{"*-sha-*", "main-sha", false},
		{"v*.*.*", "v1.2.3", true},
		{"v*.*.*", "v1.2", false},
		{"a*a", "a", false}, // the prefix and suffix may not overlap
		{"a*a", "aa", true},
		{"*test*1*2*3", "xtest-1-2-3", true},
		{"*test*1*2*3", "test123x", false},
		{"test*1*2*3*", "test123", true},
		{"Prod*", "prod", false}, // tags are case-sensitive
		{"", "", true},
		{"", "x", false},
	}
	for _, c := range cases {
		if got := matchPattern(c.pattern, c.tag); got != c.want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", c.pattern, c.tag, got, c.want)
		}
	}
}

// Equal push times are ordered by digest, whatever the input order, so the
// preview and the run it predicts agree.
func TestEqualPushTimesOrderedByDigest(t *testing.T) {
	p := mustParse(t, rule(1, `{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":2}`, expire))
	repo := []Image{img("c", 5), img("a", 5), img("d", 5), img("b", 5)}
	want := "a:EXPIRE@1 b:EXPIRE@1"
	for range 4 {
		if got := outcome(p.Evaluate(repo, now)); got != want {
			t.Fatalf("outcome = %q, want %q", got, want)
		}
		slices.Reverse(repo)
		repo = append(repo[1:], repo[0])
	}
}

func TestTaggedUntaggedAny(t *testing.T) {
	repo := []Image{
		img("untagged", 30),
		img("empty-tag", 30, ""), // an empty tag name is no tag
		img("tagged", 30, "v1"),
	}
	for _, c := range []struct{ selection, want string }{
		{`{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":7}`, "empty-tag:EXPIRE@1 untagged:EXPIRE@1"},
		{`{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"sinceImagePushed","countUnit":"days","countNumber":7}`, "tagged:EXPIRE@1"},
		{`{"tagStatus":"tagged","tagPatternList":["*"],"countType":"sinceImagePushed","countUnit":"days","countNumber":7}`, "tagged:EXPIRE@1"},
		{`{"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":7}`, "empty-tag:EXPIRE@1 tagged:EXPIRE@1 untagged:EXPIRE@1"},
	} {
		p := mustParse(t, rule(1, c.selection, expire))
		if got := outcome(p.Evaluate(repo, now)); got != c.want {
			t.Errorf("%s: outcome = %q, want %q", c.selection, got, c.want)
		}
	}
}

// An image with several tags is selected when every prefix matches one of
// its tags, and a protecting rule shields it through any of them.
func TestImageWithSeveralTags(t *testing.T) {
	repo := []Image{
		img("release", 50, "latest", "v1.2.3", "sha-abc"),
		img("old-build", 40, "sha-def"),
		img("new-build", 1, "sha-123"),
	}
	p := mustParse(t,
		// Keep everything tagged as a release; it never expires anything
		// while there are fewer than 1000, but protects what it selects.
		rule(1, `{"tagStatus":"tagged","tagPatternList":["v*.*.*"],"countType":"imageCountMoreThan","countNumber":1000}`, expire),
		rule(2, `{"tagStatus":"tagged","tagPrefixList":["sha-"],"countType":"sinceImagePushed","countUnit":"days","countNumber":30}`, expire),
	)
	if got, want := outcome(p.Evaluate(repo, now)), "old-build:EXPIRE@2"; got != want {
		t.Errorf("outcome = %q, want %q", got, want)
	}
	// Two prefixes may be matched by two different tags of one image, but
	// both must be matched.
	p = mustParse(t, rule(1, `{"tagStatus":"tagged","tagPrefixList":["latest","sha-"],"countType":"sinceImagePushed","countUnit":"days","countNumber":1}`, expire))
	if got, want := outcome(p.Evaluate(repo, now)), "release:EXPIRE@1"; got != want {
		t.Errorf("outcome = %q, want %q", got, want)
	}
}

// Archived images are invisible to standard rules: they neither count
// towards imageCountMoreThan nor get acted on.
func TestStorageClassSeparatesRules(t *testing.T) {
	arch := img("archived", 100, "v0")
	arch.StorageClass = "archive" // the case of the stored value does not matter
	arch.ArchivedAt = daysAgo(95)
	repo := []Image{arch, img("s1", 3, "v1"), img("s2", 2, "v2"), img("s3", 1, "v3")}
	p := mustParse(t,
		rule(1, `{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":2}`, transition),
		rule(2, `{"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90}`, expire),
	)
	got := p.Evaluate(repo, now)
	if outcome(got) != "archived:EXPIRE@2 s1:TRANSITION@1" {
		t.Fatalf("outcome = %q", outcome(got))
	}
	a := got[0]
	if a.Digest != "sha256:s1" || a.StorageClass != StorageStandard || a.TargetStorageClass != StorageArchive ||
		!a.PushedAt.Equal(daysAgo(3)) || !slices.Equal(a.Tags, []string{"v1"}) {
		t.Errorf("transition action = %+v", a)
	}
	if b := got[1]; b.StorageClass != StorageArchive || b.TargetStorageClass != "" || b.Type != ActionExpire {
		t.Errorf("expire action = %+v", b)
	}
	s := Summarize(got)
	if s.ExpiringImageTotalCount != 1 || len(s.TransitioningImageTotalCounts) != 1 || s.TransitioningImageTotalCounts[StorageArchive] != 1 {
		t.Errorf("summary = %+v", s)
	}
	// An archived image without a recorded archive time is never shown to
	// be past the minimum storage duration.
	noTime := Image{Digest: "sha256:no-time", PushedAt: daysAgo(900), StorageClass: StorageArchive}
	if got := p.Evaluate([]Image{noTime}, now); got != nil {
		t.Errorf("archived image without ArchivedAt acted on: %q", outcome(got))
	}
}

func TestManifestListProtectsChildren(t *testing.T) {
	child := func(name string, parents ...string) Image {
		i := img(name, 30)
		for _, p := range parents {
			i.ReferencedBy = append(i.ReferencedBy, "sha256:"+p)
		}
		return i
	}
	untaggedOld := rule(1, `{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":7}`, expire)
	cases := []struct {
		name  string
		rules []string
		repo  []Image
		want  string
	}{
		{"kept index protects its children", []string{untaggedOld},
			[]Image{img("index", 1, "latest"), child("amd64", "index"), child("arm64", "index"), img("orphan", 30)},
			"orphan:EXPIRE@1"},
		{"expired index frees its children", []string{untaggedOld, rule(2, `{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1}`, expire)},
			[]Image{img("index", 20, "old"), img("newer", 1, "new"), child("amd64", "index")},
			"amd64:EXPIRE@1 index:EXPIRE@2"},
		{"archived index frees its children", []string{untaggedOld},
			[]Image{{Digest: "sha256:index", Tags: []string{"old"}, PushedAt: daysAgo(50), StorageClass: StorageArchive}, child("amd64", "index")},
			"amd64:EXPIRE@1"},
		{"a child of two indexes needs both gone", []string{untaggedOld, rule(2, `{"tagStatus":"tagged","tagPrefixList":["old"],"countType":"sinceImagePushed","countUnit":"days","countNumber":7}`, expire)},
			[]Image{img("i1", 20, "old"), img("i2", 1, "new"), child("amd64", "i1", "i2")},
			"i1:EXPIRE@2"},
		{"nested index kept protects grandchildren", []string{untaggedOld},
			[]Image{img("top", 1, "latest"), child("mid", "top"), child("leaf", "mid")},
			""},
		{"unknown parent is ignored", []string{untaggedOld},
			[]Image{child("amd64", "gone")},
			"amd64:EXPIRE@1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := mustParse(t, c.rules...)
			if got := outcome(p.Evaluate(c.repo, now)); got != c.want {
				t.Errorf("outcome = %q, want %q", got, c.want)
			}
		})
	}
}

func TestEvaluateEdges(t *testing.T) {
	var nilPolicy *Policy
	if nilPolicy.Evaluate([]Image{img("a", 1)}, now) != nil {
		t.Error("nil policy acted")
	}
	p := mustParse(t, rule(1, `{"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":1}`, expire))
	if p.Evaluate(nil, now) != nil {
		t.Error("no images, yet actions")
	}
	// A digest listed twice is one image and gets one action.
	if got := outcome(p.Evaluate([]Image{img("a", 5, "x"), img("a", 5, "y")}, now)); got != "a:EXPIRE@1" {
		t.Errorf("duplicate digest: %q", got)
	}
	// Just under, at and over the boundary: only strictly older expires.
	if got := outcome(p.Evaluate([]Image{img("under", 0.999), img("at", 1), img("over", 1.001)}, now)); got != "over:EXPIRE@1" {
		t.Errorf("boundary: %q", got)
	}
	// The largest countNumber must not overflow into the past or future.
	huge := mustParse(t, rule(1, `{"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":2147483647}`, expire))
	if got := huge.Evaluate([]Image{img("ancient", 100000), {Digest: "sha256:zero"}}, now); got != nil {
		t.Errorf("huge countNumber acted: %q", outcome(got))
	}
	many := mustParse(t, rule(1, `{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":2147483647}`, expire))
	if got := many.Evaluate([]Image{img("a", 1), img("b", 2)}, now); got != nil {
		t.Errorf("huge imageCountMoreThan acted: %q", outcome(got))
	}
	// Actions come in rule order, oldest image first within a rule.
	two := mustParse(t,
		rule(2, `{"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":1}`, expire),
		rule(1, `{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1}`, expire),
	)
	var order []string
	for _, a := range two.Evaluate([]Image{img("t-new", 2, "x"), img("u-new", 2), img("t-old", 9, "y"), img("u-old", 9)}, now) {
		order = append(order, a.Digest[len("sha256:"):])
	}
	if !slices.Equal(order, []string{"u-old", "u-new", "t-old", "t-new"}) {
		t.Errorf("action order = %v", order)
	}
}

// Actions must not share memory with the caller's images.
func TestActionTagsAreCopies(t *testing.T) {
	repo := []Image{img("a", 5, "x")}
	p := mustParse(t, rule(1, `{"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":1}`, expire))
	got := p.Evaluate(repo, now)
	got[0].Tags[0] = "changed"
	if repo[0].Tags[0] != "x" {
		t.Error("action tags alias the image's tags")
	}
}
