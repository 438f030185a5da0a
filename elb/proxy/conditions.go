package proxy

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// QueryPair is one key/value pair of a query-string condition; without a
// key the value may be any key's.
type QueryPair struct {
	Key, Value string
}

// regexCache holds the compiled RegexValues of conditions: the control
// plane validated them, so a pattern that does not compile here never
// matches instead of failing the request.
var regexCache sync.Map // string -> *regexp.Regexp (nil when invalid)

func compiled(expr string) *regexp.Regexp {
	if re, ok := regexCache.Load(expr); ok {
		return re.(*regexp.Regexp)
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		re = nil
	}
	regexCache.Store(expr, re)
	return re
}

// conditionMatches reports whether one condition matches r: values within a
// condition are ORed.
func conditionMatches(c Condition, r *http.Request) bool {
	switch c.Field {
	case FieldPathPattern:
		return anyOf(c, []string{r.URL.Path}, false)
	case FieldHostHeader:
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		return anyOf(c, []string{host}, true)
	case FieldHTTPHeader:
		var vals []string
		if strings.EqualFold(c.HeaderName, "Host") {
			vals = []string{r.Host}
		} else {
			vals = r.Header.Values(c.HeaderName)
		}
		return anyOf(c, vals, true)
	case FieldRequestMethod:
		// AWS compares method names case-sensitively, without wildcards.
		for _, v := range c.Values {
			if v == r.Method {
				return true
			}
		}
		return false
	case FieldQueryString:
		return queryMatches(c.Pairs, r.URL.RawQuery)
	case FieldSourceIP:
		return sourceMatches(c.Values, r.RemoteAddr)
	}
	return false
}

// anyOf matches subjects against the condition's wildcard values and
// regular expressions.
func anyOf(c Condition, subjects []string, fold bool) bool {
	for _, s := range subjects {
		for _, v := range c.Values {
			if Wildcard(v, s, fold) {
				return true
			}
		}
		for _, expr := range c.Regex {
			if re := compiled(expr); re != nil && re.MatchString(s) {
				return true
			}
		}
	}
	return false
}

// queryMatches reports whether some pair of the request's query string
// matches some pair of the condition. Both sides are compared URL-decoded
// and case-insensitively, with * and ? wildcards that \ escapes.
func queryMatches(pairs []QueryPair, rawQuery string) bool {
	q, _ := url.ParseQuery(rawQuery) // a malformed pair is skipped, the rest still count
	for _, p := range pairs {
		for k, vs := range q {
			if p.Key != "" && !EscapedWildcard(unescape(p.Key), k) {
				continue
			}
			for _, v := range vs {
				if EscapedWildcard(unescape(p.Value), v) {
					return true
				}
			}
		}
	}
	return false
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// sourceMatches matches the address the connection comes from (never
// X-Forwarded-For, as on AWS) against CIDR blocks.
func sourceMatches(cidrs []string, remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil && p.Contains(addr) {
			return true
		}
	}
	return false
}

// EscapedWildcard matches s against pattern case-insensitively, where * is
// any run of characters, ? any one character, and \* or \? the literal
// character (query-string conditions).
func EscapedWildcard(pattern, s string) bool {
	pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	type tok struct {
		c       byte
		literal bool
	}
	var toks []tok
	for i := 0; i < len(pattern); i++ {
		if pattern[i] == '\\' && i+1 < len(pattern) && (pattern[i+1] == '*' || pattern[i+1] == '?' || pattern[i+1] == '\\') {
			toks = append(toks, tok{pattern[i+1], true})
			i++
			continue
		}
		toks = append(toks, tok{pattern[i], false})
	}
	// Iterative matching with backtracking to the last star.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(toks) && !toks[pi].literal && toks[pi].c == '*':
			star, mark = pi, si
			pi++
		case pi < len(toks) && ((!toks[pi].literal && toks[pi].c == '?') || toks[pi].c == s[si]):
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(toks) && !toks[pi].literal && toks[pi].c == '*' {
		pi++
	}
	return pi == len(toks)
}
