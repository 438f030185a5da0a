package ec2

import (
	"sort"
	"strings"

	ec2api "github.com/berth-dev/berth/api/ec2"
)

// attrs gives the values of a resource for a filter name; ok is false for
// a name the resource kind has no filter for.
type attrs func(name string) (values []string, ok bool)

// matches reports whether a resource passes every filter (filters are
// ANDed, a filter's values ORed, * and ? are wildcards). An unknown filter
// name is InvalidParameterValue, as EC2 answers.
func matches(filters []ec2api.Filter, get attrs) (bool, error) {
	for _, f := range filters {
		name := deref(f.Name)
		have, ok := get(name)
		if !ok {
			return false, invalidParam("The filter '%s' is invalid", name)
		}
		if len(f.Values) == 0 {
			continue
		}
		hit := false
		for _, want := range f.Values {
			for _, v := range have {
				if glob(want, v) {
					hit = true
					break
				}
			}
			if hit {
				break
			}
		}
		if !hit {
			return false, nil
		}
	}
	return true, nil
}

// checkFilters refuses unknown filter names even when there is nothing
// to filter.
func checkFilters(filters []ec2api.Filter, get attrs) error {
	for _, f := range filters {
		if _, ok := get(deref(f.Name)); !ok {
			return invalidParam("The filter '%s' is invalid", deref(f.Name))
		}
	}
	return nil
}

// tagAttrs answers tag:<key>, tag-key and tag-value from tags.
func tagAttrs(name string, tags map[string]string) ([]string, bool) {
	switch {
	case strings.HasPrefix(name, "tag:"):
		if v, ok := tags[strings.TrimPrefix(name, "tag:")]; ok {
			return []string{v}, true
		}
		return nil, true
	case name == "tag-key":
		keys := make([]string, 0, len(tags))
		for k := range tags {
			keys = append(keys, k)
		}
		return keys, true
	case name == "tag-value":
		vals := make([]string, 0, len(tags))
		for _, v := range tags {
			vals = append(vals, v)
		}
		return vals, true
	}
	return nil, false
}

func one(s string) []string { return []string{s} }

func boolString(b bool) []string {
	if b {
		return one("true")
	}
	return one("false")
}

// glob matches s against pattern with * (any run) and ? (one character);
// \ escapes them. It backtracks only to the last star, so it runs in
// O(len(pattern)*len(s)).
func glob(pattern, s string) bool {
	type tok struct {
		c    rune
		star bool
		any  bool
	}
	var p []tok
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		switch {
		case rs[i] == '\\' && i+1 < len(rs):
			i++
			p = append(p, tok{c: rs[i]})
		case rs[i] == '*':
			p = append(p, tok{star: true})
		case rs[i] == '?':
			p = append(p, tok{any: true})
		default:
			p = append(p, tok{c: rs[i]})
		}
	}
	t := []rune(s)
	i, j, star, mark := 0, 0, -1, 0
	for j < len(t) {
		switch {
		case i < len(p) && !p[i].star && (p[i].any || p[i].c == t[j]):
			i, j = i+1, j+1
		case i < len(p) && p[i].star:
			star, mark = i, j
			i++
		case star >= 0:
			mark++
			i, j = star+1, mark
		default:
			return false
		}
	}
	for i < len(p) && p[i].star {
		i++
	}
	return i == len(p)
}

// wireTags is tags as EC2 lists them, sorted by key; never nil.
func wireTags(tags map[string]string) []ec2api.Tag {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]ec2api.Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, ec2api.Tag{Key: str(k), Value: str(tags[k])})
	}
	return out
}
