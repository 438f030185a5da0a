package logs

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/awsapi"
)

func TestInsightsQueryLanguage(t *testing.T) {
	recs := func() []record {
		var out []record
		for i, m := range []string{
			`{"level":"info","ms":10}`, `{"level":"error","ms":300}`, `plain ERROR text`,
			`{"level":"error","ms":100}`, `user=ann took=5ms`,
		} {
			r := record{"@message": m, "@ts": string(rune('a' + i)), "@ptr": "p"}
			jsonFields(r, m)
			out = append(out, r)
		}
		return out
	}
	cases := []struct {
		q       string
		rows    int
		matched int
		first   map[string]string
	}{
		{"fields @message", 5, 5, map[string]string{"@message": "user=ann took=5ms"}},
		{`filter level = "error" | sort ms asc`, 2, 2, map[string]string{"ms": "100"}},
		{`filter ms > 50 and ms <= 300`, 2, 2, map[string]string{"ms": "100"}},
		{`filter @message like /ERROR/ or level != "info"`, 3, 3, nil},
		{`filter not @message like "{"`, 2, 2, nil},
		{`filter @message not like "{" | limit 1`, 1, 2, map[string]string{"@message": "user=ann took=5ms"}},
		{`stats count(*) as n, max(ms) by level | sort n desc`, 3, 5, map[string]string{"level": "error", "n": "2", "max(ms)": "300"}},
		{`parse @message "user=* took=*ms" as u, took | filter took = 5`, 1, 1, map[string]string{"u": "ann"}},
		{`parse @message /user=(?<who>\w+)/ | filter who like "an"`, 1, 1, map[string]string{"who": "ann"}},
		{"# comment\nfields level as lvl | filter lvl = 'info'", 1, 1, map[string]string{"lvl": "info"}},
	}
	for _, c := range cases {
		q, err := parseInsights(c.q)
		if err != nil {
			t.Errorf("%q: %v", c.q, err)
			continue
		}
		_, rows, matched := q.run(recs(), 100)
		if len(rows) != c.rows || matched != c.matched {
			t.Errorf("%q: %d rows, %d matched; want %d, %d", c.q, len(rows), matched, c.rows, c.matched)
			continue
		}
		for k, v := range c.first {
			if rows[0][k] != v {
				t.Errorf("%q: first row %s = %q, want %q (%v)", c.q, k, rows[0][k], v, rows[0])
			}
		}
	}
	for q, want := range map[string]string{
		"fields @message | dedup @logStream": "dedup",
		"stats pct(ms, 50)":                  "pct",
		"filter ispresent(level)":            "ispresent",
		"stats count(*) by bin(5m)":          "5m",
		"filter level in ['a']":              "'['",
		"filter ms > other":                  "comparing fields",
		"fields @message | limit 0":          "limit",
		`filter @message like "unterminated`: "unterminated",
		"parse @message \"a * b\" as x, y":   "wildcards",
	} {
		_, err := parseInsights(q)
		e := awsapi.AsError(err)
		if e == nil || e.Code != "MalformedQueryException" || !strings.Contains(e.Message, want) {
			t.Errorf("%q: err %v, want MalformedQueryException mentioning %q", q, err, want)
		}
	}
}
