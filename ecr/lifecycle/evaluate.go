package lifecycle

import (
	"math"
	"slices"
	"strings"
	"time"
)

// Image is what the evaluator needs to know about one image of a
// repository.
type Image struct {
	Digest       string
	Tags         []string
	PushedAt     time.Time
	LastPulledAt time.Time // zero: never pulled
	StorageClass string    // STANDARD | ARCHIVE; "" is STANDARD
	ArchivedAt   time.Time // when it last moved to ARCHIVE (last_archived_at)
	// LastActivatedAt is when it was last restored from ARCHIVE; zero if
	// never. AWS then uses it in place of the push time and, until the next
	// pull, of the last pull time.
	LastActivatedAt time.Time
	// ReferencedBy lists the digests of manifest lists (image indexes) that
	// reference this image. ECR does not expire or archive an image while a
	// manifest list still references it.
	ReferencedBy []string
}

// Action is one thing a policy does to one image: what the preview shows and
// what the expiry run carries out.
type Action struct {
	Digest             string
	Tags               []string
	PushedAt           time.Time
	StorageClass       string // the image's storage class before the action
	RulePriority       int
	Type               string // EXPIRE | TRANSITION
	TargetStorageClass string // ARCHIVE for TRANSITION, "" for EXPIRE
}

// Summary is the LifecyclePolicyPreviewSummary of a set of actions.
type Summary struct {
	ExpiringImageTotalCount int
	// TransitioningImageTotalCounts counts transitions per target storage
	// class; it is empty when nothing transitions, as AWS omits the field.
	TransitioningImageTotalCounts map[string]int
}

// Summarize counts actions the way the preview summary does.
func Summarize(actions []Action) Summary {
	s := Summary{TransitioningImageTotalCounts: map[string]int{}}
	for _, a := range actions {
		switch a.Type {
		case ActionExpire:
			s.ExpiringImageTotalCount++
		case ActionTransition:
			s.TransitioningImageTotalCounts[a.TargetStorageClass]++
		}
	}
	return s
}

// Evaluate applies the policy to a repository's images at time now and
// returns every action it takes, ordered by rule priority and, within a
// rule, oldest image first (then by digest).
//
// It follows AWS's evaluation rules: every rule identifies its images as if
// no other rule existed (so images that a higher-priority rule acts on still
// count towards a lower rule's imageCountMoreThan), then rules apply in
// priority order; an image gets at most one action, and an image that
// matches the tag selection of a rule can never be acted on by a rule of
// lower priority, even when the higher rule leaves it alone.
//
// Images sharing a digest are one image (the first wins). Equal push times
// are ordered by digest, the greater digest counting as the newer image.
func (p *Policy) Evaluate(images []Image, now time.Time) []Action {
	if p == nil || len(images) == 0 {
		return nil
	}
	imgs := uniqueImages(images)
	claimed := make([]bool, len(imgs)) // selected by a higher-priority rule
	acted := make([]int, len(imgs))    // index+1 into out, 0 if no action
	var out []Action
	for ri := range p.Rules {
		r := &p.Rules[ri]
		var selected []int
		for i := range imgs {
			if r.selects(&imgs[i]) {
				selected = append(selected, i)
			}
		}
		for _, i := range r.candidates(imgs, selected, now) {
			if claimed[i] {
				continue
			}
			out = append(out, r.action(&imgs[i]))
			acted[i] = len(out)
		}
		for _, i := range selected {
			claimed[i] = true
		}
	}
	return protectReferenced(imgs, out, acted)
}

// protectReferenced drops actions on images that a manifest list still
// references. A list that is itself expired or archived (in this run or
// before) no longer protects its children. Dropping a nested list's action
// makes it protect its own children again, hence the loop to a fixed point.
func protectReferenced(imgs []Image, out []Action, acted []int) []Action {
	index := make(map[string]int, len(imgs))
	for i := range imgs {
		index[imgs[i].Digest] = i
	}
	dropped := make([]bool, len(out))
	for changed := true; changed; {
		changed = false
		for i := range imgs {
			a := acted[i] - 1
			if a < 0 || dropped[a] {
				continue
			}
			for _, parent := range imgs[i].ReferencedBy {
				pi, ok := index[parent]
				if !ok || pi == i {
					continue
				}
				pa := acted[pi] - 1
				gone := storageClass(&imgs[pi]) == StorageArchive || (pa >= 0 && !dropped[pa])
				if !gone {
					dropped[a] = true
					changed = true
					break
				}
			}
		}
	}
	kept := out[:0]
	for i, a := range out {
		if !dropped[i] {
			kept = append(kept, a)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return kept
}

func uniqueImages(images []Image) []Image {
	seen := make(map[string]bool, len(images))
	out := make([]Image, 0, len(images))
	for _, img := range images {
		if seen[img.Digest] {
			continue
		}
		seen[img.Digest] = true
		out = append(out, img)
	}
	return out
}

// selects reports whether the image meets the rule's storage class and tag
// requirements.
func (r *Rule) selects(img *Image) bool {
	want := StorageStandard
	if r.StorageClass == PolicyStorageArchive {
		want = StorageArchive
	}
	if storageClass(img) != want {
		return false
	}
	tagged := slices.ContainsFunc(img.Tags, func(t string) bool { return t != "" })
	switch r.TagStatus {
	case TagStatusAny:
		return true
	case TagStatusUntagged:
		return !tagged
	case TagStatusTagged:
		if !tagged {
			return false
		}
		// Every prefix or pattern must match at least one of the image's
		// tags; different ones may match different tags.
		for _, pre := range r.TagPrefixList {
			if !slices.ContainsFunc(img.Tags, func(t string) bool { return strings.HasPrefix(t, pre) }) {
				return false
			}
		}
		for _, pat := range r.TagPatternList {
			if !slices.ContainsFunc(img.Tags, func(t string) bool { return matchPattern(pat, t) }) {
				return false
			}
		}
		return true
	}
	return false
}

// candidates returns the selected images the rule's count criterion marks,
// oldest first.
func (r *Rule) candidates(imgs []Image, selected []int, now time.Time) []int {
	order := slices.Clone(selected)
	slices.SortFunc(order, func(a, b int) int {
		if c := activeSince(&imgs[a]).Compare(activeSince(&imgs[b])); c != 0 {
			return c
		}
		return strings.Compare(imgs[a].Digest, imgs[b].Digest)
	})
	if r.CountType == CountImageCountMoreThan {
		if len(order) <= r.CountNumber {
			return nil
		}
		return order[:len(order)-r.CountNumber]
	}
	cutoff := daysBefore(now, r.CountNumber)
	var out []int
	for _, i := range order {
		var t time.Time
		switch r.CountType {
		case CountSinceImagePushed:
			t = activeSince(&imgs[i])
		case CountSinceImagePulled:
			t = lastUsed(&imgs[i])
		case CountSinceImageTransitioned:
			t = imgs[i].ArchivedAt
			if t.IsZero() {
				// Without a recorded archive time the 90-day minimum
				// cannot be shown to have passed.
				continue
			}
		}
		if t.Before(cutoff) {
			out = append(out, i)
		}
	}
	return out
}

func (r *Rule) action(img *Image) Action {
	a := Action{
		Digest:       img.Digest,
		Tags:         slices.Clone(img.Tags),
		PushedAt:     img.PushedAt,
		StorageClass: storageClass(img),
		RulePriority: r.Priority,
		Type:         ActionExpire,
	}
	if r.Action == PolicyActionTransition {
		a.Type = ActionTransition
		a.TargetStorageClass = StorageArchive
	}
	return a
}

func storageClass(img *Image) string {
	if img.StorageClass == "" {
		return StorageStandard
	}
	return strings.ToUpper(img.StorageClass)
}

// activeSince is the image's push time, or its restore time once it has
// been restored from archive (AWS then uses last_activated_at in place of
// pushed_at_time).
func activeSince(img *Image) time.Time {
	if !img.LastActivatedAt.IsZero() {
		return img.LastActivatedAt
	}
	return img.PushedAt
}

// lastUsed is what sinceImagePulled measures from: the last pull, unless the
// image was restored after it (then the restore), or the push if it was
// never pulled.
func lastUsed(img *Image) time.Time {
	t := img.LastPulledAt
	if !img.LastActivatedAt.IsZero() && (t.IsZero() || t.Before(img.LastActivatedAt)) {
		t = img.LastActivatedAt
	}
	if t.IsZero() {
		t = img.PushedAt
	}
	return t
}

// maxDays is the largest day count a time.Duration can hold.
const maxDays = math.MaxInt64 / int64(24*time.Hour)

// daysBefore is now minus n days of 24 hours; an image is older than n days
// when its time is strictly before it.
func daysBefore(now time.Time, n int) time.Time {
	if int64(n) > maxDays {
		return now.AddDate(0, 0, -n)
	}
	return now.Add(-time.Duration(n) * 24 * time.Hour)
}
