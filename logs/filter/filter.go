// Package filter parses and evaluates CloudWatch Logs filter patterns, the
// syntax FilterLogEvents (and metric and subscription filters) use to pick
// log events:
//
//   - terms in unstructured events: ERROR, "quoted phrase", ?ERROR ?WARN (any
//     of), -DEBUG (none of); terms are case-sensitive substrings of the
//     message;
//   - a regular expression between percent signs: %ERROR|WARN%;
//   - JSON selectors between braces: { $.level = "error" && $.latency > 100 },
//     with =, !=, <, <=, >, >=, IS NULL, IS TRUE, IS FALSE, EXISTS,
//     NOT EXISTS, || and && with parentheses, array indexes ($.a[0]) and *
//     wildcards at either end of a string value;
//   - space-delimited fields between brackets: [ip, user, ..., status = 5*,
//     bytes > 1000], where "..." stands for any number of fields and a field
//     in double quotes or square brackets is one field.
//
// A pattern that cannot match by its form (a JSON pattern on a message that
// is not JSON, a delimited pattern with another number of fields) simply
// does not match; only a pattern that cannot be parsed is an error.
package filter

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// MaxLength is the longest filter pattern AWS accepts.
const MaxLength = 1024

// Pattern is a parsed filter pattern. The zero value matches every event.
type Pattern struct {
	source string
	m      matcher // nil: everything matches
}

type matcher interface {
	match(msg string) bool
}

// SyntaxError is a filter pattern that cannot be parsed.
type SyntaxError struct {
	Pattern string
	Reason  string
}

func (e *SyntaxError) Error() string {
	return "invalid filter pattern " + quote(e.Pattern) + ": " + e.Reason
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// Parse parses a filter pattern. The empty pattern matches everything.
func Parse(src string) (*Pattern, error) {
	if len(src) > MaxLength {
		return nil, &SyntaxError{Pattern: src[:40] + "...", Reason: fmt.Sprintf("longer than %d characters", MaxLength)}
	}
	s := strings.TrimSpace(src)
	p := &Pattern{source: src}
	var err error
	switch {
	case s == "" || s == `""`:
		return p, nil
	case s[0] == '{':
		p.m, err = parseJSONPattern(s)
	case s[0] == '[':
		p.m, err = parseDelimited(s)
	case len(s) >= 2 && s[0] == '%' && s[len(s)-1] == '%' && !strings.ContainsAny(s, " \t"):
		var re *regexp.Regexp
		re, err = compileRegex(s)
		if err == nil {
			p.m = regexMatcher{re}
		}
	default:
		p.m, err = parseTerms(s)
	}
	if err != nil {
		var se *SyntaxError
		if errors.As(err, &se) {
			se.Pattern = src
			return nil, se
		}
		return nil, &SyntaxError{Pattern: src, Reason: err.Error()}
	}
	return p, nil
}

// MustParse is Parse for patterns known to be valid; it panics otherwise.
// Only for tests and constants.
func MustParse(src string) *Pattern {
	p, err := Parse(src)
	if err != nil {
		panic(err)
	}
	return p
}

// String is the pattern as given.
func (p *Pattern) String() string { return p.source }

// MatchesAll reports whether the pattern matches every event.
func (p *Pattern) MatchesAll() bool { return p == nil || p.m == nil }

// Match reports whether a log event message matches the pattern.
func (p *Pattern) Match(msg string) bool {
	if p == nil || p.m == nil {
		return true
	}
	return p.m.match(msg)
}

// RequiredSubstrings returns strings every matching message contains, so a
// store can discard most non-matching events before Match sees them. It is
// empty when the pattern gives no such guarantee.
func (p *Pattern) RequiredSubstrings() []string {
	if p == nil {
		return nil
	}
	if t, ok := p.m.(*termsMatcher); ok && len(t.groups) == 1 {
		var out []string
		for _, term := range t.groups[0] {
			if !term.exclude && term.text != "" {
				out = append(out, term.text)
			}
		}
		return out
	}
	return nil
}

// --- regular expressions ---

type regexMatcher struct{ re *regexp.Regexp }

func (r regexMatcher) match(msg string) bool { return r.re.MatchString(msg) }

// compileRegex compiles %...% (the percent signs included in s).
func compileRegex(s string) (*regexp.Regexp, error) {
	body := s[1 : len(s)-1]
	if body == "" {
		return nil, errors.New("empty regular expression")
	}
	if strings.ContainsAny(body, "()") {
		return nil, errors.New("parentheses are not supported in regular expressions")
	}
	re, err := regexp.Compile(body)
	if err != nil {
		return nil, fmt.Errorf("regular expression %s: %v", s, err)
	}
	return re, nil
}

// --- terms ---

type term struct {
	text    string
	exclude bool
}

// termsMatcher is an OR of groups; a group matches when every included
// term is in the message and no excluded term is. A term prefixed with ?
// starts a new group, so "?ERROR ?WARN" is ERROR or WARN and
// `?"ERROR" "MainThread" ?"WARN" "Deadlock"` is (ERROR and MainThread) or
// (WARN and Deadlock), as the AWS CDK writes term groups.
type termsMatcher struct {
	groups [][]term
}

func (t *termsMatcher) match(msg string) bool {
	for _, g := range t.groups {
		if groupMatches(g, msg) {
			return true
		}
	}
	return false
}

func groupMatches(g []term, msg string) bool {
	for _, t := range g {
		if strings.Contains(msg, t.text) == t.exclude {
			return false
		}
	}
	return true
}

func parseTerms(s string) (matcher, error) {
	t := &termsMatcher{}
	var cur []term
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			break
		}
		or, exclude := false, false
		switch s[i] {
		case '?':
			or = true
			i++
		case '-':
			exclude = true
			i++
		}
		if or || exclude {
			// `"ERROR" - "Exiting"`: AWS's own example puts a space after
			// the minus sign.
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			if i < len(s) && s[i] == '-' && exclude {
				return nil, errors.New("a term cannot be excluded twice")
			}
			if i < len(s) && s[i] == '?' && or {
				return nil, errors.New("'??' is not a term")
			}
		}
		if i >= len(s) {
			return nil, errors.New("a '?' or '-' must be followed by a term")
		}
		var text string
		if s[i] == '"' {
			v, n, err := readQuoted(s[i:])
			if err != nil {
				return nil, err
			}
			text = v
			i += n
		} else {
			j := i
			for j < len(s) && !isSpace(s[j]) {
				if s[j] == '"' {
					return nil, fmt.Errorf("unexpected '\"' in term %s", s[i:j+1])
				}
				j++
			}
			text = s[i:j]
			i = j
		}
		if or && len(cur) > 0 {
			t.groups = append(t.groups, cur)
			cur = nil
		}
		cur = append(cur, term{text: text, exclude: exclude})
	}
	if len(cur) > 0 {
		t.groups = append(t.groups, cur)
	}
	if len(t.groups) == 0 {
		return nil, nil
	}
	return t, nil
}

// readQuoted reads a double-quoted string at the start of s, with \" and \\
// escapes, and returns its value and the bytes consumed.
func readQuoted(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
				b.WriteByte(s[i+1])
				i++
				continue
			}
			b.WriteByte(c)
		case '"':
			return b.String(), i + 1, nil
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, errors.New("unterminated quoted string")
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// --- values shared by JSON and delimited patterns ---

// value is the right-hand side of a comparison.
type value struct {
	text   string         // as written, unquoted
	quoted bool           // written in double quotes
	num    float64        // when isNum
	isNum  bool           // an unquoted number
	re     *regexp.Regexp // %regex%
}

// parseValue interprets one lexed value token.
func parseValue(tok token) (value, error) {
	v := value{text: tok.text, quoted: tok.kind == tokString}
	switch tok.kind {
	case tokRegex:
		re, err := compileRegex(tok.text)
		if err != nil {
			return v, err
		}
		v.re = re
	case tokWord:
		if f, ok := parseNumber(tok.text); ok {
			v.num, v.isNum = f, true
		}
	}
	return v, nil
}

// globMatch matches s against a pattern whose leading and trailing
// asterisks are wildcards (AWS: "*Event" matches PutEvent, "Event*" matches
// EventId, "Ev*ent" only the literal Ev*ent). A lone "*" matches anything.
func globMatch(pattern, s string) bool {
	if pattern == "*" {
		return true
	}
	prefix := strings.HasPrefix(pattern, "*")
	suffix := len(pattern) > 1 && strings.HasSuffix(pattern, "*")
	core := pattern
	if prefix {
		core = core[1:]
	}
	if suffix {
		core = core[:len(core)-1]
	}
	switch {
	case prefix && suffix:
		return strings.Contains(s, core)
	case prefix:
		return strings.HasSuffix(s, core)
	case suffix:
		return strings.HasPrefix(s, core)
	}
	return s == core
}
