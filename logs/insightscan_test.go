package logs

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/store"
)

// TestInsightsPrefilter checks that deciding on built-in fields before
// building records changes no query's answer, and that the substrings
// handed to the store are in every message the query keeps.
func TestInsightsPrefilter(t *testing.T) {
	c := caller{Account: "123456789012", Region: "eu-west-1"}
	g := store.LogGroup{ID: 3, Name: "/app"}
	msgs := []string{
		`ERROR disk full`, `INFO ok`, `{"@message":"ERROR fake","level":"error","ms":7}`,
		`{"level":"info","ms":300}`, `error lower case`, `WARN ERROR later`, `user=ann took=5ms`,
	}
	var evs []store.LogEvent
	for i, m := range msgs {
		evs = append(evs, store.LogEvent{ID: int64(i + 1), StreamID: int64(1 + i%2), StreamName: fmt.Sprint("s", i%2),
			Timestamp: 1_700_000_000_000 + int64(i*1000), Ingested: 1_700_000_000_500 + int64(i*1000), Message: m})
	}
	cases := []struct {
		q        string
		prefilt  bool
		contains []string
	}{
		{"fields @timestamp, @message | filter @message like /ERROR/ | sort @timestamp desc | limit 20", true, []string{"ERROR"}},
		{`filter @message like "ERROR" and @logStream = "s0"`, true, []string{"ERROR"}},
		{`filter @message like /(?i)error/`, true, nil},
		{`filter @message like /^ERROR|WARN/`, true, nil},
		{`filter level = "error" | filter @message like /ERROR/`, true, []string{"ERROR"}},
		{`filter @message like "ERROR" or @message like "ok"`, true, nil},
		{`filter not @message like "ERROR"`, true, nil},
		{`fields @logStream as @message | filter @message like "s0"`, false, nil},
		{`parse @message "user=* took=*" as @message, took | filter @message like "ann"`, false, nil},
		{`stats count(*) by @logStream | filter @logStream = "s1"`, false, nil},
		{`filter @ptr like "x" or @ingestionTime > "2023" | stats count(*)`, true, nil},
		{`filter ms > 5`, false, nil},
	}
	for _, tc := range cases {
		q, err := parseInsights(tc.q)
		if err != nil {
			t.Fatalf("%q: %v", tc.q, err)
		}
		pre := q.prefilter()
		if (pre != nil) != tc.prefilt || !reflect.DeepEqual(pre.contains(), tc.contains) {
			t.Errorf("%q: prefilter %v, contains %q; want %v, %q", tc.q, pre != nil, pre.contains(), tc.prefilt, tc.contains)
		}
		var all, kept []record
		for _, e := range evs {
			all = append(all, eventRecord(c, g, e))
			if pre.keep(c, g, e) {
				for _, s := range pre.contains() {
					if !strings.Contains(e.Message, s) {
						t.Errorf("%q: kept %q without %q", tc.q, e.Message, s)
					}
				}
				kept = append(kept, eventRecord(c, g, e))
			}
		}
		wantCols, wantRows, wantMatched := q.run(all, 100)
		cols, rows, matched := q.run(kept, 100)
		if !reflect.DeepEqual(cols, wantCols) || !reflect.DeepEqual(rows, wantRows) || matched != wantMatched {
			t.Errorf("%q: prefiltered %v %v %d; want %v %v %d", tc.q, cols, rows, matched, wantCols, wantRows, wantMatched)
		}
	}
}

// TestStartQueryStatistics checks that a query whose filter the store
// applies still counts every event of the time range as scanned.
func TestStartQueryStatistics(t *testing.T) {
	s, clk := newService(t)
	mkGroup(t, s, "/a")
	mkGroup(t, s, "/b")
	mkStream(t, s, "/a", "x")
	mkStream(t, s, "/b", "y")
	now := clk.Now().UnixMilli()
	var ts []int64
	var msgs []string
	bytes := 0
	for i := range 250 {
		ts = append(ts, now-int64(250-i)*1000)
		m := fmt.Sprintf("INFO request %d", i)
		if i%5 == 0 {
			m = fmt.Sprintf("ERROR request %d failed", i)
		}
		msgs = append(msgs, m)
		bytes += len(m)
	}
	put(t, s, "/a", "x", ts, msgs...)
	put(t, s, "/b", "y", ts[:10], msgs[:10]...)
	bytes += len(strings.Join(msgs[:10], ""))
	for _, tc := range []struct {
		query   string
		rows    int
		matched float64
	}{
		{"fields @message | filter @message like /ERROR/ | sort @timestamp desc | limit 20", 20, 52},
		{`filter @message like "request 1" | stats count(*) as n`, 1, 0},
		{"fields @message", 260, 260},
	} {
		start, end := now/1000-3600, now/1000
		out, err := s.StartQuery(ctx0, &logsapi.StartQueryInput{LogGroupNames: []string{"/a", "/b"}, StartTime: &start, EndTime: &end, QueryString: &tc.query})
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.GetQueryResults(ctx0, &logsapi.GetQueryResultsInput{QueryId: out.QueryId})
		if err != nil {
			t.Fatal(err)
		}
		st := res.Statistics
		if len(res.Results) != tc.rows || *st.RecordsScanned != 260 || *st.BytesScanned != float64(bytes) ||
			tc.matched > 0 && *st.RecordsMatched != tc.matched {
			t.Errorf("%q: %d rows, scanned %v (%v bytes), matched %v; want %d rows, 260 scanned (%d bytes), %v matched",
				tc.query, len(res.Results), *st.RecordsScanned, *st.BytesScanned, *st.RecordsMatched, tc.rows, bytes, tc.matched)
		}
	}
}
