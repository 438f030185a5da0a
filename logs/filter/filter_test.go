package filter

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

type matchCase struct {
	pattern string
	msg     string
	want    bool
}

func runCases(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, c := range cases {
		p, err := Parse(c.pattern)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.pattern, err)
			continue
		}
		if got := p.Match(c.msg); got != c.want {
			t.Errorf("Parse(%q).Match(%q) = %v, want %v", c.pattern, c.msg, got, c.want)
		}
	}
}

// The examples of AWS's "Filter pattern syntax" page, section "Matching
// terms in unstructured log events".
func TestTerms(t *testing.T) {
	runCases(t, []matchCase{
		{"", "anything", true},
		{`""`, "anything", true},
		// Example 1: single term, case-sensitive, anywhere in the message.
		{`"ERROR"`, "[ERROR] A fatal exception has occurred", true},
		{`"ERROR"`, "Exiting with ERRORCODE: -1", true},
		{`ERROR`, "Exiting with ERRORCODE: -1", true},
		{`ERROR`, "error: lower case", false},
		// Example 2: include a term and exclude a term.
		{`"ERROR" - "Exiting"`, "Exiting with ERRORCODE: -1", false},
		{`"ERROR" - "Exiting"`, "[ERROR] A fatal exception has occurred", true},
		// Example 3: multiple terms must all appear.
		{`"ERROR" "Exception"`, "[ERROR] Caught IllegalArgumentException", true},
		{`ERROR Exception`, "[ERROR] Unhandled Exception", true},
		{`ERROR Exception`, "[ERROR] all good", false},
		{`Failed to process the request`, "[WARN] Failed to process the request", true},
		{`Failed to process the request`, "[ERROR] Unable to continue: Failed to process the request", true},
		{`Failed to process the request`, "the request failed to process", false},
		// Exact phrase.
		{`"Failed to process"`, "[WARN] Failed to process the request", true},
		{`"Failed to process"`, "[WARN] Failed, to process the request", false},
		{`"INTERNAL SERVER ERROR"`, "500 INTERNAL SERVER ERROR", true},
		{`"INTERNAL SERVER ERROR"`, "500 INTERNAL ERROR SERVER", false},
		// OR pattern matching: the three events of AWS's example.
		{`ERROR`, "ERROR WARN message", true},
		{`ERROR`, "ERROR message", true},
		{`ERROR`, "WARN message", false},
		{`?ERROR ?WARN`, "ERROR WARN message", true},
		{`?ERROR ?WARN`, "ERROR message", true},
		{`?ERROR ?WARN`, "WARN message", true},
		{`?ERROR ?WARN`, "INFO message", false},
		{`ERROR WARN`, "ERROR WARN message", true},
		{`ERROR WARN`, "ERROR message", false},
		{`ERROR -WARN`, "ERROR WARN message", false},
		{`ERROR -WARN`, "ERROR message", true},
		{`ERROR -WARN`, "WARN message", false},
		{`ERROR -DEBUG`, "ERROR in DEBUG mode", false},
		{`-DEBUG`, "INFO started", true},
		{`-DEBUG`, "DEBUG noise", false},
		// Term groups, as the AWS CDK renders anyTermGroup.
		{`?"ERROR" "MainThread" ?"WARN" "Deadlock"`, "ERROR in MainThread", true},
		{`?"ERROR" "MainThread" ?"WARN" "Deadlock"`, "WARN Deadlock found", true},
		{`?"ERROR" "MainThread" ?"WARN" "Deadlock"`, "ERROR in worker", false},
		// Quoted terms with punctuation and escapes.
		{`"user=alice"`, "login user=alice ok", true},
		{`"say \"hi\""`, `they say "hi" twice`, true},
		// Regular expressions between percent signs.
		{`%AUTHORIZED%`, "[ERROR 401] UNAUTHORIZED REQUEST", true},
		{`%AUTHORIZED%`, "[SUCCESS 200] AUTHORIZED REQUEST", true},
		{`%^[hc]at%`, "cat on the mat", true},
		{`%^[hc]at%`, "the cat", false},
		{`%colou?r%`, "my color", true},
		{`%[Ee]rror|[Ff]ail%`, "it did fail", true},
		{`%\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}%`, "from 10.1.2.3 now", true},
	})
}

// "Using filter patterns to match terms in JSON log events".
func TestJSON(t *testing.T) {
	const doc = `{
  "eventType": "UpdateTrail",
  "sourceIPAddress": "111.111.111.111",
  "arrayKey": ["value", "another value"],
  "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
  "SomeObject": null,
  "ThisFlag": true,
  "latency": 250,
  "level": "error"
}`
	const compound = `{
  "user": {"id": 1, "email": "John.Stiles@example.com"},
  "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
  "actions": ["GET", "PUT", "DELETE"],
  "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]]
}`
	runCases(t, []matchCase{
		{`{ $.eventType = "UpdateTrail" }`, doc, true},
		{`{ $.eventType = UpdateTrail }`, doc, true},
		{`{ $.eventType = "DeleteTrail" }`, doc, false},
		{`{ $.eventType != "DeleteTrail" }`, doc, true},
		{`{ $.sourceIPAddress != 123.123.* }`, doc, true},
		{`{ $.sourceIPAddress = 111.111.* }`, doc, true},
		{`{ $.eventType = *Trail }`, doc, true},
		{`{ $.eventType = Update* }`, doc, true},
		{`{ $.eventType = *date* }`, doc, true},
		{`{ $.eventType = Up*Trail }`, doc, false}, // an inner * is literal
		{`{ $.arrayKey[0] = "value" }`, doc, true},
		{`{ $.arrayKey[1] = "value" }`, doc, false},
		{`{ $.arrayKey[5] = "value" }`, doc, false},
		{`{ $.objectList[1].id = 2 }`, doc, true},
		{`{ $.objectList[0].id = 2 }`, doc, false},
		{`{ $.SomeObject IS NULL }`, doc, true},
		{`{ $.ThisFlag IS NULL }`, doc, false},
		{`{ $.SomeOtherObject NOT EXISTS }`, doc, true},
		{`{ $.SomeObject NOT EXISTS }`, doc, false},
		{`{ $.SomeObject EXISTS }`, doc, true},
		{`{ $.ThisFlag IS TRUE }`, doc, true},
		{`{ $.ThisFlag IS FALSE }`, doc, false},
		{`{ $.level = "error" }`, doc, true},
		{`{ $.level = "ERROR" }`, doc, false},
		{`{ $.latency > 100 }`, doc, true},
		{`{ $.latency > 250 }`, doc, false},
		{`{ $.latency >= 250 }`, doc, true},
		{`{ $.latency < 1e3 }`, doc, true},
		{`{ $.latency = 250.0 }`, doc, true},
		{`{ $.latency != 250 }`, doc, false},
		{`{ $.latency > +100 }`, doc, true},
		{`{ $.missing > 1 }`, doc, false},
		{`{ $.missing != 1 }`, doc, false},
		{`{ $.latency = * }`, doc, true},
		{`{ $.level = %err.r% }`, doc, true},
		{`{ $.level != %warn% }`, doc, true},
		{`{ $.level = "error" && $.latency > 100 }`, doc, true},
		{`{ $.level = "error" && $.latency > 1000 }`, doc, false},
		{`{ $.level = "warn" || $.latency > 100 }`, doc, true},
		// A selector on an object or array never compares.
		{`{ $.objectList = 1 }`, doc, false},
		{`{ $.objectList != 1 }`, doc, false},
		// The compound examples.
		{`{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }`, compound, true},
		{`{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }`, compound, false},
		{`{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }`, compound, true},
		{`{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }`, compound, false},
		{`{ $.coordinates[1][2] = 6 }`, compound, true},
		// OR pattern matching in JSON filters.
		{`{$.foo = bar}`, `{"foo": "bar"}`, true},
		{`{$.foo = baz }`, `{"foo": "bar"}`, false},
		{`{$.foo = bar || $.foo = baz }`, `{"foo": "baz"}`, true},
		// Not JSON: no match, no error.
		{`{ $.level = "error" }`, `level=error`, false},
		{`{ $.level = "error" }`, `{"level": "error"`, false},
		{`{ $.a.b = 1 }`, `{"a": {"b": 1}}`, true},
		{`{ $.a.b = 1 }`, `{"a": [1]}`, false},
		{`{ $.status = 200 }`, `{"status": "200"}`, true},
	})
}

// "Using filter patterns to match terms in space-delimited log events".
func TestDelimited(t *testing.T) {
	const (
		l1 = `127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534`
		l2 = `127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324`
		l3 = `127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /index.html HTTP/1.0" 404 4355`
	)
	runCases(t, []matchCase{
		{`[ip, user, username, timestamp, request, status_code, bytes]`, l1, true},
		{`[ip, user, username, timestamp, request, status_code]`, l1, false}, // field count differs
		{`[..., status_code, bytes]`, l1, true},
		{`[ip, user, ..., status_code, bytes]`, l1, true},
		{`[ip, user, ...]`, l1, true},
		{`[ip, user, username, timestamp, request, status_code, bytes > 1000]`, l1, true},
		{`[ip, user, username, timestamp, request, status_code, bytes > 5000]`, l1, false},
		{`[ip, user, username, timestamp, request, status_code = 200, bytes]`, l1, true},
		{`[ip, user, username, timestamp, request, status_code = 200, bytes]`, l2, false},
		{`[ip, user, username, timestamp, request, status_code = 4*, bytes]`, l3, true},
		{`[ip, user, username, timestamp, request, status_code = 4*, bytes]`, l1, false},
		{`[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]`, l3, true},
		{`[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]`, l1, false},
		{`[ip, user, username, timestamp, request, status_code = 4* && bytes > 1000]`, l3, false}, // 6 slots, 7 fields
		{`[ip, user, username, timestamp, request, status_code = 4* && bytes > 1000, bytes]`, l3, true},
		{`[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]`, l3, true},
		{`[..., request=*.html*, status_code=4*,]`, l3, true},
		{`[..., status=5*]`, "a b 503", true},
		{`[..., status=5*]`, "a b 403", false},
		{`[ip, user, ..., status=5*]`, l2 + " 503", true},
		{`[ip, user, username, timestamp = %10/Oct/2000.*%, ...]`, l1, true},
		{`[ip, user, username, timestamp = %11/Oct/2000.*%, ...]`, l1, false},
		{`[ip, , , , , status = 200, ]`, l1, true},
		{`[w1=ERROR, w2]`, "ERROR message", true},
		{`[w1=ERROR, w2]`, "ERROR WARN message", false},
		{`[w1=ERROR || w1=WARN, w2]`, "WARN message", true},
		{`[w1=ERROR || w1=WARN, w2]`, "ERROR message", true},
		{`[w1=ERROR || w1=WARN, w2]`, "INFO message", false},
		{`[w1 != ERROR && w1 != WARN, w2]`, "INFO message", true},
		{`[w1 != ERROR && w1 != WARN, w2]`, "ERROR message", false},
		{`[a, b]`, "", false},
	})
}

func TestSyntaxErrors(t *testing.T) {
	for _, s := range []string{
		`"unterminated`,
		`ERR"OR`,
		`?`,
		`-`,
		`{ $.a = 1`,
		`{ }`,
		`{ a = 1 }`,
		`{ $.a = }`,
		`{ $.a > "x" }`,
		`{ $.a IS MAYBE }`,
		`{ $.a NOT THERE }`,
		`{ $.a = 1 & $.b = 2 }`,
		`{ ($.a = 1 }`,
		`{ $.a[x] = 1 }`,
		`{ $.a = %(x)% }`,
		`{ $.a = %[% }`,
		`[a, b`,
		`[]`,
		`[a = 1, a]`,
		`[a > foo]`,
		`%%`,
		strings.Repeat("x", MaxLength+1),
	} {
		_, err := Parse(s)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a SyntaxError", s, err)
		}
	}
}

func TestRequiredSubstrings(t *testing.T) {
	cases := map[string][]string{
		`ERROR "bad thing" -DEBUG`: {"ERROR", "bad thing"},
		`?ERROR ?WARN`:             nil,
		`{ $.a = 1 }`:              nil,
		``:                         nil,
	}
	for pat, want := range cases {
		if got := MustParse(pat).RequiredSubstrings(); !slices.Equal(got, want) {
			t.Errorf("RequiredSubstrings(%q) = %q, want %q", pat, got, want)
		}
	}
	if !MustParse("").MatchesAll() || MustParse("x").MatchesAll() {
		t.Error("MatchesAll is wrong")
	}
}

// Patterns from untrusted callers must not blow up on pathological input.
func TestManyEllipsesAreBounded(t *testing.T) {
	pat := "[" + strings.Repeat("a, ..., ", 40) + "z = nope]"
	p := MustParse(strings.ReplaceAll(pat, "a, ", "")) // consecutive "..." collapse
	_ = p.Match(strings.Repeat("x ", 2000))
	var b strings.Builder
	b.WriteString("[")
	for i := range 30 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("f")
		b.WriteString(strings.Repeat("x", i))
		b.WriteString(", ...")
	}
	b.WriteString(", last = nope]")
	p = MustParse(b.String())
	if p.Match(strings.Repeat("x ", 500)) {
		t.Error("pathological pattern matched")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`ERROR -DEBUG`, `{ $.a[0].b = "x" || ($.c > 1 && $.d IS NULL) }`, `[a, ..., b = 5* && a != x]`, `%ab+c%`} {
		f.Add(s, "some message {\"a\": [1]}")
	}
	f.Fuzz(func(t *testing.T, pattern, msg string) {
		p, err := Parse(pattern)
		if err != nil {
			return
		}
		p.Match(msg)
		p.RequiredSubstrings()
	})
}
