// Package wildcard matches AWS's * and ? patterns, as IAM policy
// conditions and ELB listener rule conditions read them.
package wildcard

// Match reports whether s matches pattern, where * is any run of
// elements, slashes included, and ? any one element. Callers choose the
// element: bytes, or runes where ? is one character. path.Match is not
// used because it stops * at '/' and reads '[' and '\' as syntax.
func Match[E ~byte | ~rune](pattern, s []E) bool {
	star, one := E('*'), E('?')
	// Backtrack to the last star on a mismatch: linear for patterns with
	// one star, never exponential.
	pi, si, last, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(pattern) && (pattern[pi] == one || pattern[pi] == s[si]):
			pi++
			si++
		case pi < len(pattern) && pattern[pi] == star:
			last, mark = pi, si
			pi++
		case last >= 0:
			pi = last + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(pattern) && pattern[pi] == star {
		pi++
	}
	return pi == len(pattern)
}
