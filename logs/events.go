package logs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/logs/filter"
	"github.com/berth-dev/berth/store"
)

// admission splits a chronological batch into the events CloudWatch Logs
// rejects and those it stores: [0, tooOld) are older than 14 days,
// [0, expired) older than the group's retention, [tooNew, n) more than two
// hours ahead of now.
type admission struct {
	tooOld, expired, tooNew int
}

func admit(ts []int64, now time.Time, retentionDays int) admission {
	oldest := ms(now.Add(-tooOld))
	newest := ms(now.Add(tooNew))
	expiredBefore := int64(-1 << 62)
	if retentionDays > 0 {
		expiredBefore = ms(now.Add(-time.Duration(retentionDays) * 24 * time.Hour))
	}
	a := admission{tooNew: len(ts)}
	for i, t := range ts {
		if t < oldest {
			a.tooOld = i + 1
		}
		if t < expiredBefore {
			a.expired = i + 1
		}
		if t > newest && a.tooNew == len(ts) {
			a.tooNew = i
		}
	}
	return a
}

// accepted is the index range of the stored events.
func (a admission) accepted() (int, int) {
	start := max(a.tooOld, a.expired)
	return min(start, a.tooNew), a.tooNew
}

func (a admission) info(n int) *logsapi.RejectedLogEventsInfo {
	if a.tooOld == 0 && a.expired <= a.tooOld && a.tooNew == n {
		return nil
	}
	info := &logsapi.RejectedLogEventsInfo{}
	if a.tooOld > 0 {
		info.TooOldLogEventEndIndex = ptr(int32(a.tooOld))
	}
	// An event past a retention of 14 days or more is already too old.
	if a.expired > a.tooOld {
		info.ExpiredLogEventEndIndex = ptr(int32(a.expired))
	}
	if a.tooNew < n {
		info.TooNewLogEventStartIndex = ptr(int32(a.tooNew))
	}
	return info
}

// PutLogEvents appends a batch of events to a stream. Sequence tokens are
// accepted and ignored, as AWS does since January 2023.
func (s *Service) PutLogEvents(ctx context.Context, in *logsapi.PutLogEventsInput) (*logsapi.PutLogEventsOutput, error) {
	c := callerOf(ctx)
	evs := in.LogEvents
	ts := make([]int64, len(evs))
	size := 0
	for i, e := range evs {
		ts[i] = *e.Timestamp
		size += len(*e.Message) + eventOverhead
		if i > 0 && ts[i] < ts[i-1] {
			return nil, invalidParam("Log events in a single PutLogEvents request must be in chronological order.")
		}
	}
	if size > maxBatchBytes {
		return nil, invalidParam("Upload too large: %d bytes exceeds limit of %d", size, maxBatchBytes)
	}
	now := s.now()
	var (
		adm     admission
		lastID  int64
		written int
	)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		g, err := getGroup(tx, c, *in.LogGroupName)
		if err != nil {
			return err
		}
		st, err := getStream(tx, g, *in.LogStreamName)
		if err != nil {
			return err
		}
		adm = admit(ts, now, g.RetentionDays)
		from, to := adm.accepted()
		if to-from > 0 && time.Duration(ts[to-1]-ts[from])*time.Millisecond > maxBatchSpan {
			return invalidParam("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
		}
		procs, err := transformerFor(tx, c, g)
		if err != nil {
			return err
		}
		batch := make([]store.LogEvent, 0, to-from)
		for _, e := range evs[from:to] {
			msg := *e.Message
			if procs != nil {
				msg, _ = transform(procs, msg)
			}
			batch = append(batch, store.LogEvent{Timestamp: *e.Timestamp, Message: msg})
		}
		if err := tx.PutLogEvents(g.ID, st.ID, ms(now), batch); err != nil {
			return err
		}
		written = len(batch)
		if written > 0 {
			lastID = batch[written-1].ID
		}
		return nil
	})
	if err != nil {
		return nil, apiErr("PutLogEvents", err)
	}
	// AWS answers with a token even when it rejected every event; tokens
	// are ignored on input, so one naming no event does.
	return &logsapi.PutLogEventsOutput{
		RejectedLogEventsInfo: adm.info(len(evs)),
		NextSequenceToken:     ptr(fmt.Sprintf("%056d", lastID)),
	}, nil
}

// --- positions and tokens ---

// eventID is an event's id on the wire: 56 digits, as AWS's are, that sort
// as the events do (timestamp, then the store's id).
func eventID(e store.LogEvent) string {
	return fmt.Sprintf("%020d%036d", max(e.Timestamp, 0), e.ID)
}

// GetLogEvents tokens: "f/" or "b/" and the 56 digits of a position.
func streamToken(dir byte, p store.LogEventCursor) string {
	return fmt.Sprintf("%c/%020d%036d", dir, max(p.Timestamp, 0), max(p.ID, 0))
}

func parseStreamToken(tok string) (byte, store.LogEventCursor, error) {
	if len(tok) != 58 || (tok[0] != 'f' && tok[0] != 'b') || tok[1] != '/' {
		return 0, store.LogEventCursor{}, invalidToken()
	}
	ts, err1 := strconv.ParseInt(tok[2:22], 10, 64)
	id, err2 := strconv.ParseInt(tok[22:], 10, 64)
	if err1 != nil || err2 != nil || ts < 0 || id < 0 {
		return 0, store.LogEventCursor{}, invalidToken()
	}
	return tok[0], store.LogEventCursor{Timestamp: ts, ID: id}, nil
}

// filterToken is FilterLogEvents' nextToken: the position the next page
// starts after.
type filterToken struct {
	T int64 `json:"t"`
	I int64 `json:"i"`
}

func encodeFilterToken(p store.LogEventCursor) *string {
	b, _ := json.Marshal(filterToken{T: p.Timestamp, I: p.ID})
	t := base64.RawURLEncoding.EncodeToString(b)
	return &t
}

func decodeFilterToken(tok string) (store.LogEventCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	var ft filterToken
	if err != nil || json.Unmarshal(b, &ft) != nil || ft.I < 0 {
		return store.LogEventCursor{}, invalidToken()
	}
	return store.LogEventCursor{Timestamp: ft.T, ID: ft.I}, nil
}

// pageBytes is what an event counts toward the 1 MB page limit.
func pageBytes(e store.LogEvent) int { return len(e.Message) + eventOverhead }

// GetLogEvents reads a stream forwards or backwards between two positions.
func (s *Service) GetLogEvents(ctx context.Context, in *logsapi.GetLogEventsInput) (*logsapi.GetLogEventsOutput, error) {
	c := callerOf(ctx)
	group, err := c.groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	q := store.LogEventQuery{Limit: limitOf(in.Limit, maxPageEvents)}
	if in.StartTime != nil {
		q.Start = *in.StartTime
	}
	if in.EndTime != nil {
		// endTime is exclusive here.
		if *in.EndTime <= q.Start {
			q.End = -1
		} else {
			q.End = *in.EndTime
		}
	}
	forward := in.StartFromHead != nil && *in.StartFromHead
	var given *store.LogEventCursor
	if in.NextToken != nil {
		dir, pos, err := parseStreamToken(*in.NextToken)
		if err != nil {
			return nil, err
		}
		given = &pos
		forward = dir == 'f'
		if forward {
			q.After = &pos
		} else {
			q.Before = &pos
		}
	}
	q.Descending = !forward
	var (
		events []store.LogEvent
		mask   *masker
	)
	err = s.st.View(ctx, func(tx store.Tx) error {
		g, err := getGroup(tx, c, group)
		if err != nil {
			return err
		}
		if !unmasked(in.Unmask) {
			if mask, err = maskerFor(tx, c, g); err != nil {
				return err
			}
		}
		st, err := getStream(tx, g, *in.LogStreamName)
		if err != nil {
			return err
		}
		if q.End == -1 {
			return nil // an empty time range
		}
		q.GroupID, q.StreamIDs = g.ID, []int64{st.ID}
		events, err = tx.ListLogEvents(q)
		return err
	})
	if err != nil {
		return nil, apiErr("GetLogEvents", err)
	}
	// Keep within 1 MB, dropping the events farthest from where the read
	// started.
	total := 0
	for i, e := range events {
		total += pageBytes(e)
		if total > maxPageBytes && i > 0 {
			events = events[:i]
			break
		}
	}
	if !forward {
		slices.Reverse(events)
	}
	out := &logsapi.GetLogEventsOutput{Events: []logsapi.OutputLogEvent{}}
	for _, e := range events {
		out.Events = append(out.Events, logsapi.OutputLogEvent{
			Timestamp: ptr(e.Timestamp), Message: ptr(mask.mask(e)), IngestionTime: ptr(e.Ingested),
		})
	}
	switch {
	case len(events) > 0:
		first, last := events[0], events[len(events)-1]
		out.NextForwardToken = ptr(streamToken('f', store.LogEventCursor{Timestamp: last.Timestamp, ID: last.ID}))
		out.NextBackwardToken = ptr(streamToken('b', store.LogEventCursor{Timestamp: first.Timestamp, ID: first.ID}))
	case given != nil:
		// At the end of the stream AWS returns the token it was given.
		out.NextForwardToken = ptr(streamToken('f', *given))
		out.NextBackwardToken = ptr(streamToken('b', *given))
		if forward {
			out.NextForwardToken = in.NextToken
		} else {
			out.NextBackwardToken = in.NextToken
		}
	default:
		start := store.LogEventCursor{Timestamp: q.Start}
		out.NextForwardToken = ptr(streamToken('f', start))
		out.NextBackwardToken = ptr(streamToken('b', start))
	}
	return out, nil
}

// Bounds of one FilterLogEvents call: rows are read from the store in
// batches, and a call that has looked at scanBudget events without filling
// its page returns what it has with a nextToken, as AWS returns partial
// pages.
const (
	scanBatch  = 2000
	scanBudget = 200_000
	scanTime   = 3 * time.Second
)

// FilterLogEvents searches a group's events, across its streams, in
// timestamp order.
func (s *Service) FilterLogEvents(ctx context.Context, in *logsapi.FilterLogEventsInput) (*logsapi.FilterLogEventsOutput, error) {
	c := callerOf(ctx)
	group, err := c.groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if in.LogStreamNames != nil && in.LogStreamNamePrefix != nil {
		return nil, invalidParam("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
	}
	pattern, err := filter.Parse(str(in.FilterPattern))
	if err != nil {
		return nil, invalidParam("Invalid filter pattern: %s", strings.TrimPrefix(err.Error(), "invalid filter pattern "))
	}
	limit := limitOf(in.Limit, maxPageEvents)
	q := store.LogEventQuery{Contains: pattern.RequiredSubstrings()}
	if in.StartTime != nil {
		q.Start = *in.StartTime
	}
	empty := false
	if in.EndTime != nil {
		// endTime is inclusive here.
		q.End = *in.EndTime + 1
		empty = q.End <= q.Start
	}
	if in.NextToken != nil {
		pos, err := decodeFilterToken(*in.NextToken)
		if err != nil {
			return nil, err
		}
		q.After = &pos
	}
	out := &logsapi.FilterLogEventsOutput{Events: []logsapi.FilteredLogEvent{}}
	started := time.Now()
	err = s.st.View(ctx, func(tx store.Tx) error {
		g, err := getGroup(tx, c, group)
		if err != nil {
			return err
		}
		if empty {
			return nil
		}
		var mask *masker
		if !unmasked(in.Unmask) {
			if mask, err = maskerFor(tx, c, g); err != nil {
				return err
			}
		}
		q.GroupID = g.ID
		switch {
		case in.LogStreamNames != nil:
			q.StreamIDs, err = tx.LogStreamIDs(g.ID, in.LogStreamNames, "")
		case in.LogStreamNamePrefix != nil:
			q.StreamIDs, err = tx.LogStreamIDs(g.ID, nil, *in.LogStreamNamePrefix)
		}
		if err != nil {
			return err
		}
		scanned, bytes := 0, 0
		for {
			q.Limit = scanBatch
			if pattern.MatchesAll() {
				q.Limit = min(scanBatch, limit-len(out.Events))
			} else if len(q.Contains) > 0 {
				// The store already kept only rows with the pattern's
				// terms, so most of them match: read about what the page
				// still needs rather than a full batch.
				q.Limit = min(scanBatch, max(limit-len(out.Events), 100))
			}
			events, err := tx.ListLogEvents(q)
			if err != nil {
				return err
			}
			for _, e := range events {
				pos := store.LogEventCursor{Timestamp: e.Timestamp, ID: e.ID}
				scanned++
				if pattern.Match(e.Message) {
					if len(out.Events) > 0 && bytes+pageBytes(e) > maxPageBytes {
						// Full: the next page starts at this event.
						out.NextToken = encodeFilterToken(*q.After)
						return nil
					}
					bytes += pageBytes(e)
					out.Events = append(out.Events, logsapi.FilteredLogEvent{
						LogStreamName: ptr(e.StreamName),
						Timestamp:     ptr(e.Timestamp),
						Message:       ptr(mask.mask(e)),
						IngestionTime: ptr(e.Ingested),
						EventId:       ptr(eventID(e)),
					})
				}
				q.After = &pos
				if len(out.Events) == limit {
					out.NextToken = encodeFilterToken(pos)
					return nil
				}
			}
			if len(events) < q.Limit {
				return nil // the end of the range
			}
			if scanned >= scanBudget || time.Since(started) > scanTime {
				out.NextToken = encodeFilterToken(*q.After)
				return nil
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	})
	if err != nil {
		return nil, apiErr("FilterLogEvents", err)
	}
	return out, nil
}
