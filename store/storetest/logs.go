package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/berth-dev/berth/store"
)

func testLogs(t *testing.T, s store.Store) {
	groups := map[string]*store.LogGroup{}
	for _, name := range []string{"/app/web", "/app/api", "/db", "app-Z"} {
		g := &store.LogGroup{Account: "1", Region: "r", Name: name, CreatedAt: 1000, Class: "STANDARD",
			Tags: map[string]string{"team": "a"}}
		update(t, s, func(tx store.Tx) error { return tx.CreateLogGroup(g) })
		if g.ID == 0 {
			t.Fatalf("CreateLogGroup %s set no id", name)
		}
		groups[name] = g
	}
	web := groups["/app/web"]
	wantErr(t, "duplicate group", s.Update(context.Background(), func(tx store.Tx) error {
		return tx.CreateLogGroup(&store.LogGroup{Account: "1", Region: "r", Name: "/app/web", Class: "STANDARD"})
	}), store.ErrConflict)

	var a, b store.LogStream
	update(t, s, func(tx store.Tx) error {
		a = store.LogStream{GroupID: web.ID, Name: "a", CreatedAt: 1}
		b = store.LogStream{GroupID: web.ID, Name: "b", CreatedAt: 2}
		if err := tx.CreateLogStream(&a); err != nil {
			return err
		}
		return tx.CreateLogStream(&b)
	})
	wantErr(t, "stream of a missing group", s.Update(context.Background(), func(tx store.Tx) error {
		return tx.CreateLogStream(&store.LogStream{GroupID: 1 << 40, Name: "x"})
	}), store.ErrNotFound)

	evA := []store.LogEvent{{Timestamp: 30, Message: "three"}, {Timestamp: 10, Message: "one error"}, {Timestamp: 10, Message: "one again"}}
	evB := []store.LogEvent{{Timestamp: 20, Message: "two error"}}
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutLogEvents(web.ID, a.ID, 100, evA); err != nil {
			return err
		}
		return tx.PutLogEvents(web.ID, b.ID, 200, evB)
	})
	if !(evA[0].ID < evA[1].ID && evA[1].ID < evA[2].ID && evA[2].ID < evB[0].ID) {
		t.Fatalf("event ids not in insertion order: %d %d %d %d", evA[0].ID, evA[1].ID, evA[2].ID, evB[0].ID)
	}
	msgs := func(es []store.LogEvent) string {
		var out []string
		for _, e := range es {
			out = append(out, e.StreamName+":"+e.Message)
		}
		return fmt.Sprint(out)
	}
	view(t, s, func(tx store.Tx) error {
		all, err := tx.ListLogEvents(store.LogEventQuery{GroupID: web.ID})
		if err != nil || msgs(all) != "[a:one error a:one again b:two error a:three]" {
			return fmt.Errorf("ListLogEvents group = %s, %v", msgs(all), err)
		}
		page, err := tx.ListLogEvents(store.LogEventQuery{GroupID: web.ID, After: &store.LogEventCursor{Timestamp: 10, ID: evA[2].ID},
			Contains: []string{"error"}})
		if err != nil || msgs(page) != "[b:two error]" {
			return fmt.Errorf("ListLogEvents after, contains = %s, %v", msgs(page), err)
		}
		one, err := tx.ListLogEvents(store.LogEventQuery{GroupID: web.ID, StreamIDs: []int64{a.ID}, Start: 10, End: 30, Descending: true})
		if err != nil || msgs(one) != "[a:one again a:one error]" {
			return fmt.Errorf("ListLogEvents stream a, [10, 30) descending = %s, %v", msgs(one), err)
		}
		both, err := tx.ListLogEvents(store.LogEventQuery{GroupID: web.ID, StreamIDs: []int64{a.ID, b.ID}, Limit: 2})
		if err != nil || msgs(both) != "[a:one error a:one again]" {
			return fmt.Errorf("ListLogEvents streams a, b limit 2 = %s, %v", msgs(both), err)
		}
		n, bytes, err := tx.CountLogEvents(store.LogEventQuery{GroupID: web.ID, Start: 10, End: 30, Contains: []string{"error"}, Limit: 1})
		if err != nil || n != 2 || bytes != int64(len("one errortwo error")) {
			return fmt.Errorf("CountLogEvents [10, 30) contains error = %d, %d, %v", n, bytes, err)
		}
		if n, bytes, err := tx.CountLogEvents(store.LogEventQuery{GroupID: web.ID, StreamIDs: []int64{}}); err != nil || n != 0 || bytes != 0 {
			return fmt.Errorf("CountLogEvents of no streams = %d, %d, %v", n, bytes, err)
		}
		g, err := tx.GetLogGroup("1", "r", "/app/web")
		if err != nil || g.StoredBytes != int64(len("threeone errorone againtwo error")) || g.Tags["team"] != "a" {
			return fmt.Errorf("GetLogGroup = %+v, %v", g, err)
		}
		st, err := tx.GetLogStream(web.ID, "a")
		if err != nil || st.FirstEvent != 10 || st.LastEvent != 30 || st.LastIngestion != 100 {
			return fmt.Errorf("GetLogStream a = %+v, %v", st, err)
		}
		byTime, err := tx.ListLogStreams(web.ID, store.LogStreamQuery{Order: store.ByLastEventTime, Descending: true})
		if err != nil || len(byTime) != 2 || byTime[0].Name != "a" {
			return fmt.Errorf("ListLogStreams by last event = %+v, %v", byTime, err)
		}
		ids, err := tx.LogStreamIDs(web.ID, []string{"b", "nope"}, "")
		if err != nil || !slices.Equal(ids, []int64{b.ID}) {
			return fmt.Errorf("LogStreamIDs = %v, %v", ids, err)
		}
		names := func(q store.LogGroupQuery) string {
			gs, err := tx.ListLogGroups("1", "r", q)
			if err != nil {
				return err.Error()
			}
			var out []string
			for _, g := range gs {
				out = append(out, g.Name)
			}
			return fmt.Sprint(out)
		}
		// Byte order: "/..." < "app-Z"; prefix "/app/" is a range.
		for q, want := range map[*store.LogGroupQuery]string{
			{}:                                   "[/app/api /app/web /db app-Z]",
			{Prefix: "/app/"}:                    "[/app/api /app/web]",
			{Contains: "app", After: "/app/api"}: "[/app/web app-Z]",
			{Names: []string{"/db", "app-Z", "x"}, Limit: 1}: "[/db]",
		} {
			if got := names(*q); got != want {
				return fmt.Errorf("ListLogGroups %+v = %s, want %s", *q, got, want)
			}
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error {
		n, err := tx.DeleteLogEventsBefore(web.ID, 20, 0)
		if err != nil || n != 2 {
			return fmt.Errorf("DeleteLogEventsBefore = %d, %v", n, err)
		}
		return tx.DeleteLogStream(b.ID)
	})
	view(t, s, func(tx store.Tx) error {
		g, err := tx.GetLogGroup("1", "r", "/app/web")
		if err != nil || g.StoredBytes != int64(len("three")) {
			return fmt.Errorf("stored bytes after deletes = %+v, %v", g, err)
		}
		return nil
	})
	testLogEventBatches(t, s, groups["/app/api"])
	update(t, s, func(tx store.Tx) error { return tx.DeleteLogGroup(web.ID) })
	view(t, s, func(tx store.Tx) error {
		if _, err := tx.GetLogStream(web.ID, "a"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("stream of a deleted group: %v", err)
		}
		return nil
	})
}

// testLogEventBatches stores a batch larger than one INSERT statement
// carries: every event gets an id, in order, and reads back whole.
func testLogEventBatches(t *testing.T, s store.Store, g *store.LogGroup) {
	st := store.LogStream{GroupID: g.ID, Name: "big", CreatedAt: 1}
	evs := make([]store.LogEvent, 523)
	for i := range evs {
		evs[i] = store.LogEvent{Timestamp: int64(1000 + i/7), Message: fmt.Sprintf("event %d", i)}
	}
	update(t, s, func(tx store.Tx) error {
		if err := tx.CreateLogStream(&st); err != nil {
			return err
		}
		return tx.PutLogEvents(g.ID, st.ID, 5000, evs)
	})
	for i := 1; i < len(evs); i++ {
		if evs[i].ID <= evs[i-1].ID {
			t.Fatalf("event %d id %d after %d", i, evs[i].ID, evs[i-1].ID)
		}
	}
	view(t, s, func(tx store.Tx) error {
		got, err := tx.ListLogEvents(store.LogEventQuery{GroupID: g.ID, StreamIDs: []int64{st.ID}})
		if err != nil || len(got) != len(evs) {
			return fmt.Errorf("ListLogEvents = %d events, %v", len(got), err)
		}
		bytes := int64(0)
		for i, e := range got {
			if e.ID != evs[i].ID || e.Message != evs[i].Message || e.Timestamp != evs[i].Timestamp || e.Ingested != 5000 {
				return fmt.Errorf("event %d = %+v, want %+v", i, e, evs[i])
			}
			bytes += int64(len(e.Message))
		}
		n, b, err := tx.CountLogEvents(store.LogEventQuery{GroupID: g.ID})
		if err != nil || n != len(evs) || b != bytes {
			return fmt.Errorf("CountLogEvents = %d, %d, %v; want %d, %d", n, b, err, len(evs), bytes)
		}
		return nil
	})
}
