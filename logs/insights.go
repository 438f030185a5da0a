package logs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// Logs Insights queries run to completion inside StartQuery, over the
// stored events, and their results are kept as a store resource:
// GetQueryResults then answers Complete on the first poll.
const kindQuery = "logs.query"

const (
	// maxQueryGroups is how many log groups one query may name.
	maxQueryGroups = 50
	// maxScanned bounds the events one query reads.
	maxScanned = 200_000
	// defaultQueryLimit is the number of rows a query returns by default.
	defaultQueryLimit = 10_000
)

// storedQuery is a query with its results.
type storedQuery struct {
	Info    logsapi.QueryInfo
	Groups  []string
	Results [][]logsapi.ResultField
	Stats   logsapi.QueryStatistics
}

// StartQuery runs a Logs Insights query over the events of the named log
// groups between startTime and endTime (epoch seconds, both inclusive).
func (s *Service) StartQuery(ctx context.Context, in *logsapi.StartQueryInput) (*logsapi.StartQueryOutput, error) {
	c := callerOf(ctx)
	if in.QueryLanguage != nil && *in.QueryLanguage != logsapi.QueryLanguageCwli {
		return nil, invalidParam("Berth runs only the Logs Insights query language (CWLI), not %s.", *in.QueryLanguage)
	}
	var names []string
	n := 0
	if in.LogGroupName != nil {
		n++
		names = []string{*in.LogGroupName}
	}
	if in.LogGroupNames != nil {
		n++
		names = in.LogGroupNames
	}
	if in.LogGroupIdentifiers != nil {
		n++
		for _, id := range in.LogGroupIdentifiers {
			name, err := c.identifierName(id)
			if err != nil {
				return nil, err
			}
			names = append(names, name)
		}
	}
	if n != 1 {
		return nil, invalidParam("Exactly one of logGroupName, logGroupNames and logGroupIdentifiers must be specified.")
	}
	if len(names) == 0 || len(names) > maxQueryGroups {
		return nil, invalidParam("A query must name between 1 and %d log groups.", maxQueryGroups)
	}
	if in.StartTime == nil || in.EndTime == nil {
		return nil, invalidParam("startTime and endTime are required.")
	}
	if *in.EndTime < *in.StartTime {
		return nil, invalidParam("End time cannot be less than Start time")
	}
	q, err := parseInsights(str(in.QueryString))
	if err != nil {
		return nil, err
	}
	limit := limitOf(in.Limit, defaultQueryLimit)
	started := s.now()
	pre := q.prefilter()
	contains := pre.contains()
	var (
		recs         []record
		scanned      int
		scannedBytes float64
	)
	err = s.st.View(ctx, func(tx store.Tx) error {
		for _, name := range names {
			g, err := tx.GetLogGroup(c.Account, c.Region, name)
			if errors.Is(err, store.ErrNotFound) {
				return logsapi.NewResourceNotFoundException("Log group '%s' does not exist for account ID '%s'", name, c.Account)
			}
			if err != nil {
				return err
			}
			budget := maxScanned - scanned
			if budget <= 0 {
				continue // the groups left are still checked to exist
			}
			lq := store.LogEventQuery{GroupID: g.ID, Start: *in.StartTime * 1000, End: (*in.EndTime + 1) * 1000}
			if len(contains) > 0 {
				// The scan statistics count every event in the range; only
				// those with the filters' substrings need reading. A range
				// past the budget is read in full: which events the budget
				// keeps depends on their order, not on what they say.
				n, bytes, err := tx.CountLogEvents(lq)
				if err != nil {
					return err
				}
				if n <= budget {
					lq.Contains = contains
					evs, err := tx.ListLogEvents(lq)
					if err != nil {
						return err
					}
					scanned += n
					scannedBytes += float64(bytes)
					for _, e := range evs {
						if pre.keep(c, g, e) {
							recs = append(recs, eventRecord(c, g, e))
						}
					}
					continue
				}
			}
			lq.Limit = budget
			evs, err := tx.ListLogEvents(lq)
			if err != nil {
				return err
			}
			scanned += len(evs)
			for _, e := range evs {
				scannedBytes += float64(len(e.Message))
				if pre.keep(c, g, e) {
					recs = append(recs, eventRecord(c, g, e))
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, apiErr("StartQuery", err)
	}
	cols, rows, matched := q.run(recs, limit)
	sq := storedQuery{Groups: names}
	for _, r := range rows {
		var row []logsapi.ResultField
		for _, col := range cols {
			if v, ok := r[col]; ok {
				row = append(row, logsapi.ResultField{Field: ptr(col), Value: ptr(v)})
			}
		}
		if p, ok := r["@ptr"]; ok {
			row = append(row, logsapi.ResultField{Field: ptr("@ptr"), Value: ptr(p)})
		}
		sq.Results = append(sq.Results, row)
	}
	sq.Stats = logsapi.QueryStatistics{
		RecordsMatched: ptr(float64(matched)), RecordsScanned: ptr(float64(scanned)),
		BytesScanned: ptr(scannedBytes), LogGroupsScanned: ptr(float64(len(names))),
	}
	id := newID()
	status := logsapi.QueryStatusComplete
	lang := logsapi.QueryLanguageCwli
	sq.Info = logsapi.QueryInfo{
		QueryLanguage: &lang, QueryId: ptr(id), QueryString: in.QueryString, Status: &status,
		CreateTime: ptr(ms(started)), LogGroupName: ptr(names[0]),
		QueryDuration: ptr(time.Since(started).Milliseconds()), BytesScanned: ptr(scannedBytes),
		UserIdentity: ptr(awsapi.IdentityFrom(ctx).AccountID),
	}
	doc, err := json.Marshal(sq)
	if err != nil {
		return nil, internal("StartQuery", err)
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		return tx.PutResource(store.Resource{Kind: kindQuery, Account: c.Account, Region: c.Region, ID: id, Doc: doc, UpdatedAt: s.now()})
	})
	if err != nil {
		return nil, apiErr("StartQuery", err)
	}
	return &logsapi.StartQueryOutput{QueryId: ptr(id)}, nil
}

// eventRecord is an event with the built-in fields and those discovered in
// a JSON message; "@ts" (not shown) orders events by time.
func eventRecord(c caller, g store.LogGroup, e store.LogEvent) record {
	r := make(record, len(builtinFields))
	jsonFields(r, e.Message)
	for _, f := range builtinFields {
		r[f] = builtinField(c, g, e, f)
	}
	return r
}

func (s *Service) getQuery(ctx context.Context, id string) (storedQuery, error) {
	c := callerOf(ctx)
	var sq storedQuery
	err := s.st.View(ctx, func(tx store.Tx) error {
		r, err := tx.GetResource(kindQuery, c.Account, c.Region, id)
		if errors.Is(err, store.ErrNotFound) {
			return logsapi.NewResourceNotFoundException("Query does not exist: %s", id)
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(r.Doc, &sq)
	})
	return sq, err
}

// GetQueryResults returns a query's status, rows and statistics.
func (s *Service) GetQueryResults(ctx context.Context, in *logsapi.GetQueryResultsInput) (*logsapi.GetQueryResultsOutput, error) {
	sq, err := s.getQuery(ctx, *in.QueryId)
	if err != nil {
		return nil, apiErr("GetQueryResults", err)
	}
	out := &logsapi.GetQueryResultsOutput{
		QueryLanguage: sq.Info.QueryLanguage, Results: sq.Results, Statistics: &sq.Stats, Status: sq.Info.Status,
	}
	if out.Results == nil {
		out.Results = [][]logsapi.ResultField{}
	}
	return out, nil
}

// StopQuery stops a running query. Berth's queries finish inside
// StartQuery, so there is never one to stop: AWS answers a query that
// already ended with an error saying it is not running.
func (s *Service) StopQuery(ctx context.Context, in *logsapi.StopQueryInput) (*logsapi.StopQueryOutput, error) {
	sq, err := s.getQuery(ctx, *in.QueryId)
	if err != nil {
		return nil, apiErr("StopQuery", err)
	}
	return nil, invalidParam("Query %s is not running (status %s).", *in.QueryId, *sq.Info.Status)
}

// DescribeQueries lists the queries run in the account and region.
func (s *Service) DescribeQueries(ctx context.Context, in *logsapi.DescribeQueriesInput) (*logsapi.DescribeQueriesOutput, error) {
	c := callerOf(ctx)
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := limitOf(in.MaxResults, 1000)
	out := &logsapi.DescribeQueriesOutput{Queries: []logsapi.QueryInfo{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		all, err := tx.ListResources(kindQuery, c.Account, c.Region, "", store.Page{After: after})
		if err != nil {
			return err
		}
		for _, r := range all {
			var sq storedQuery
			if err := json.Unmarshal(r.Doc, &sq); err != nil {
				return fmt.Errorf("query %s: %w", r.ID, err)
			}
			if in.LogGroupName != nil && !slices.Contains(sq.Groups, *in.LogGroupName) ||
				in.Status != nil && *sq.Info.Status != *in.Status {
				continue
			}
			if len(out.Queries) == limit {
				out.NextToken = encodeToken(*out.Queries[limit-1].QueryId)
				return nil
			}
			out.Queries = append(out.Queries, sq.Info)
		}
		return nil
	})
	if err != nil {
		return nil, apiErr("DescribeQueries", err)
	}
	return out, nil
}

// GetLogGroupFields lists the fields of a log group's events in the 15
// minutes before time (default now), with the percentage of events that
// have each.
func (s *Service) GetLogGroupFields(ctx context.Context, in *logsapi.GetLogGroupFieldsInput) (*logsapi.GetLogGroupFieldsOutput, error) {
	c := callerOf(ctx)
	name, err := c.groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	end := s.now()
	if in.Time != nil {
		end = time.Unix(*in.Time, 0)
	}
	counts := map[string]int{}
	total := 0
	err = s.st.View(ctx, func(tx store.Tx) error {
		g, err := getGroup(tx, c, name)
		if err != nil {
			return err
		}
		evs, err := tx.ListLogEvents(store.LogEventQuery{
			GroupID: g.ID, Start: ms(end.Add(-15 * time.Minute)), End: ms(end) + 1, Descending: true, Limit: 10_000,
		})
		if err != nil {
			return err
		}
		total = len(evs)
		for _, e := range evs {
			r := eventRecord(c, g, e)
			delete(r, "@ts")
			delete(r, "@ptr")
			for k := range r {
				counts[k]++
			}
		}
		return nil
	})
	if err != nil {
		return nil, apiErr("GetLogGroupFields", err)
	}
	out := &logsapi.GetLogGroupFieldsOutput{LogGroupFields: []logsapi.LogGroupField{}}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		out.LogGroupFields = append(out.LogGroupFields, logsapi.LogGroupField{Name: ptr(k), Percent: ptr(int32(counts[k] * 100 / total))})
	}
	return out, nil
}
