package lifecycle

import "strings"

// matchPattern reports whether tag matches a tagPatternList pattern: '*'
// matches any run of characters (also none), everything else matches
// itself, and the whole tag must match.
func matchPattern(pattern, tag string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == tag
	}
	first, last := parts[0], parts[len(parts)-1]
	if len(tag) < len(first)+len(last) || !strings.HasPrefix(tag, first) || !strings.HasSuffix(tag, last) {
		return false
	}
	// Taking each middle piece at its leftmost place leaves the most room
	// for the pieces after it, so the greedy scan is exact.
	rest := tag[len(first) : len(tag)-len(last)]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(rest, mid)
		if i < 0 {
			return false
		}
		rest = rest[i+len(mid):]
	}
	return true
}
