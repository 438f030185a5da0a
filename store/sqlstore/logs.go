package sqlstore

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/berth-dev/berth/store"
)

// CloudWatch Logs: tables log_groups, log_streams and log_events (see the
// logs migration in each backend's schema.go). Events are read through two indexes,
// (group_id, ts, id) for a whole group and (stream_id, ts, id) for one
// stream, so every listing is an index range scan in the order the API
// returns.

const logGroupColumns = `id, account, region, name, created_at, retention_days, class, kms_key_id,
	deletion_protection, tags, stored_bytes`

func (t *Tx) scanLogGroup(row interface{ Scan(...any) error }) (store.LogGroup, error) {
	var (
		g    store.LogGroup
		tags string
	)
	if err := row.Scan(&g.ID, &g.Account, &g.Region, &g.Name, &g.CreatedAt, &g.RetentionDays, &g.Class,
		&g.KMSKeyID, &g.DeletionProtection, &tags, &g.StoredBytes); err != nil {
		return store.LogGroup{}, t.d.MapErr(err)
	}
	if err := json.Unmarshal([]byte(tags), &g.Tags); err != nil {
		return store.LogGroup{}, fmt.Errorf("%s: log group %d tags: %w", t.d.Name, g.ID, err)
	}
	return g, nil
}

func encodeTags(tags map[string]string) (string, error) {
	if tags == nil {
		tags = map[string]string{}
	}
	b, err := json.Marshal(tags)
	return string(b), err
}

// prefixRange turns "name starts with prefix" into a range an index can
// serve: prefix <= name < upper, upper "" meaning no upper bound. Names
// compare as bytes (BINARY collation).
func prefixRange(prefix string) (lower, upper string) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return prefix, string(b[:i+1])
		}
	}
	return prefix, ""
}

func (t *Tx) CreateLogGroup(g *store.LogGroup) error {
	tags, err := encodeTags(g.Tags)
	if err != nil {
		return err
	}
	g.ID, err = t.insertID(`INSERT INTO log_groups (account, region, name, created_at, retention_days, class, kms_key_id,
		deletion_protection, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		g.Account, g.Region, g.Name, g.CreatedAt, g.RetentionDays, g.Class, g.KMSKeyID, t.boolArg(g.DeletionProtection), tags)
	if err != nil {
		return err
	}
	g.StoredBytes = 0
	return err
}

func (t *Tx) GetLogGroup(account, region, name string) (store.LogGroup, error) {
	return t.scanLogGroup(t.queryRow(`SELECT `+logGroupColumns+` FROM log_groups WHERE account = ? AND region = ? AND name = ?`,
		account, region, name))
}

func (t *Tx) ListLogGroups(account, region string, q store.LogGroupQuery) ([]store.LogGroup, error) {
	var (
		where = []string{"account = ?", "region = ?"}
		args  = []any{account, region}
	)
	if q.After != "" {
		where = append(where, "name > ?")
		args = append(args, q.After)
	}
	if q.Prefix != "" {
		lo, hi := prefixRange(q.Prefix)
		where = append(where, "name >= ?")
		args = append(args, lo)
		if hi != "" {
			where = append(where, "name < ?")
			args = append(args, hi)
		}
	}
	if q.Contains != "" {
		where = append(where, t.d.Queries.NameContains)
		args = append(args, q.Contains)
	}
	if q.Class != "" {
		where = append(where, "class = ?")
		args = append(args, q.Class)
	}
	if q.Names != nil {
		names := listArg(t.d, q.Names)
		where = append(where, "name"+t.d.Queries.InNames)
		args = append(args, names)
	}
	args = append(args, t.limit(q.Limit))
	return listScan(t, t.scanLogGroup, `SELECT `+logGroupColumns+` FROM log_groups WHERE `+strings.Join(where, " AND ")+
		` ORDER BY name LIMIT ?`, args...)
}

func (t *Tx) UpdateLogGroup(g store.LogGroup) error {
	tags, err := encodeTags(g.Tags)
	if err != nil {
		return err
	}
	return t.execOneSafe(`UPDATE log_groups SET retention_days = ?, kms_key_id = ?, deletion_protection = ?, tags = ?
		WHERE id = ?`, g.RetentionDays, g.KMSKeyID, t.boolArg(g.DeletionProtection), tags, g.ID)
}

func (t *Tx) DeleteLogGroup(id int64) error {
	// Events first, through the group index, rather than stream by stream
	// through the cascades.
	if _, err := t.execSafe(`DELETE FROM log_events WHERE group_id = ?`, id); err != nil {
		return err
	}
	if _, err := t.exec(`DELETE FROM log_streams WHERE group_id = ?`, id); err != nil {
		return err
	}
	return t.execOne(`DELETE FROM log_groups WHERE id = ?`, id)
}

func (t *Tx) LogGroupsWithRetention() ([]store.LogGroup, error) {
	return listScan(t, t.scanLogGroup, `SELECT `+logGroupColumns+` FROM log_groups WHERE retention_days > 0 ORDER BY id`)
}

// --- streams ---

const logStreamColumns = `id, group_id, name, created_at, first_event, last_event, last_ingestion`

func (t *Tx) scanLogStream(row interface{ Scan(...any) error }) (store.LogStream, error) {
	var s store.LogStream
	if err := row.Scan(&s.ID, &s.GroupID, &s.Name, &s.CreatedAt, &s.FirstEvent, &s.LastEvent, &s.LastIngestion); err != nil {
		return store.LogStream{}, t.d.MapErr(err)
	}
	return s, nil
}

func (t *Tx) CreateLogStream(s *store.LogStream) error {
	id, err := t.insertID(`INSERT INTO log_streams (group_id, name, created_at) VALUES (?, ?, ?)`, s.GroupID, s.Name, s.CreatedAt)
	if err != nil {
		return err
	}
	s.ID = id
	s.FirstEvent, s.LastEvent, s.LastIngestion = 0, 0, 0
	return err
}

func (t *Tx) GetLogStream(groupID int64, name string) (store.LogStream, error) {
	return t.scanLogStream(t.queryRow(`SELECT `+logStreamColumns+` FROM log_streams WHERE group_id = ? AND name = ?`, groupID, name))
}

func (t *Tx) ListLogStreams(groupID int64, q store.LogStreamQuery) ([]store.LogStream, error) {
	var (
		where = []string{"group_id = ?"}
		args  = []any{groupID}
		order string
	)
	cmp, dir := ">", ""
	if q.Descending {
		cmp, dir = "<", " DESC"
	}
	switch q.Order {
	case store.ByLastEventTime:
		if q.After != nil {
			where = append(where, "(last_event, name) "+cmp+" (?, ?)")
			args = append(args, q.After.LastEvent, q.After.Name)
		}
		order = "last_event" + dir + ", name" + dir
	default:
		if q.After != nil {
			where = append(where, "name "+cmp+" ?")
			args = append(args, q.After.Name)
		}
		order = "name" + dir
	}
	if q.Prefix != "" {
		lo, hi := prefixRange(q.Prefix)
		where = append(where, "name >= ?")
		args = append(args, lo)
		if hi != "" {
			where = append(where, "name < ?")
			args = append(args, hi)
		}
	}
	args = append(args, t.limit(q.Limit))
	return listScan(t, t.scanLogStream, `SELECT `+logStreamColumns+` FROM log_streams WHERE `+strings.Join(where, " AND ")+
		` ORDER BY `+order+` LIMIT ?`, args...)
}

func (t *Tx) LogStreamIDs(groupID int64, names []string, prefix string) ([]int64, error) {
	var (
		query string
		args  []any
	)
	if names != nil {
		list := listArg(t.d, names)
		query = t.d.q.streamsByName
		args = []any{groupID, list}
	} else {
		lo, hi := prefixRange(prefix)
		query = `SELECT id FROM log_streams WHERE group_id = ? AND name >= ?`
		args = []any{groupID, lo}
		if hi != "" {
			query += ` AND name < ?`
			args = append(args, hi)
		}
		query += ` ORDER BY id`
	}
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, t.d.MapErr(err)
		}
		out = append(out, id)
	}
	return out, t.d.MapErr(rows.Err())
}

func (t *Tx) DeleteLogStream(id int64) error {
	var groupID, bytes int64
	if err := t.queryRow(`SELECT group_id FROM log_streams WHERE id = ?`, id).Scan(&groupID); err != nil {
		return t.d.MapErr(err)
	}
	if err := t.queryRow(`SELECT COALESCE(SUM(size), 0) FROM log_events WHERE stream_id = ?`, id).Scan(&bytes); err != nil {
		return t.d.MapErr(err)
	}
	if _, err := t.exec(`DELETE FROM log_events WHERE stream_id = ?`, id); err != nil {
		return err
	}
	if err := t.execOne(`DELETE FROM log_streams WHERE id = ?`, id); err != nil {
		return err
	}
	_, err := t.execSafe(t.d.q.shrinkStored, bytes, groupID)
	return err
}

// --- events ---

// insertBatch is how many events one INSERT statement carries (6
// parameters each, well under SQLite's limit on variables). A batch of
// more events runs one statement, prepared once per transaction, for each
// full insertBatch: parsing a many-row VALUES list costs as much as
// inserting its rows, so 500 events as five executions of one prepared
// 100-row statement beat one 500-row statement parsed for each call.
const insertBatch = 100

func insertEventsStmt(n int, returning bool) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO log_events (group_id, stream_id, ts, ingested, size, message) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?)")
	}
	if returning {
		b.WriteString(` RETURNING id`)
	}
	return b.String()
}

func (t *Tx) PutLogEvents(groupID, streamID int64, ingested int64, events []store.LogEvent) error {
	if len(events) == 0 {
		return nil
	}
	var (
		bytes       int64
		first, last = events[0].Timestamp, events[0].Timestamp
		full        *sql.Stmt // the insertBatch-row statement, once needed twice
		args        []any
		// Boxed once rather than for every row.
		groupArg, streamArg, ingestedArg any = groupID, streamID, ingested
	)
	for _, e := range events {
		bytes += int64(len(e.Message))
		first = min(first, e.Timestamp)
		last = max(last, e.Timestamp)
	}
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	for start := 0; start < len(events); start += insertBatch {
		batch := events[start:min(start+insertBatch, len(events))]
		args = args[:0]
		for _, e := range batch {
			var msg any = e.Message
			if t.d.MessageBytes {
				msg = []byte(e.Message)
			}
			args = append(args, groupArg, streamArg, e.Timestamp, ingestedArg, int64(len(e.Message)), msg)
		}
		var stmt *sql.Stmt
		if len(batch) == insertBatch && len(events) >= 2*insertBatch {
			if full == nil {
				var err error
				full, err = t.tx.PrepareContext(t.ctx, t.rebind(insertEventsStmt(insertBatch, t.d.ReturningID)))
				if err != nil {
					t.noteErr(err)
					return t.d.MapErr(err)
				}
			}
			stmt = full
		}
		if !t.d.ReturningID {
			var res sql.Result
			err := t.guard(func() error {
				var err error
				if stmt != nil {
					res, err = stmt.ExecContext(t.ctx, args...)
				} else {
					res, err = t.tx.ExecContext(t.ctx, t.rebind(insertEventsStmt(len(batch), false)), args...)
				}
				return err
			})
			if err != nil {
				return t.d.MapErr(err)
			}
			// AUTOINCREMENT under the single writer numbers the rows of one
			// statement consecutively, ending at the last insert id.
			lastID, err := res.LastInsertId()
			if err != nil {
				return err
			}
			for i := range batch {
				batch[i].ID = lastID - int64(len(batch)-1-i)
				batch[i].StreamID = streamID
				batch[i].Ingested = ingested
			}
			continue
		}
		// The identity sequence is drawn row by row in VALUES order, so
		// the ids, sorted, are the events' in order. Concurrent writers may
		// interleave their draws: unlike SQLite's, they need not be
		// consecutive.
		ids := make([]int64, 0, len(batch))
		err := t.guard(func() error {
			var (
				rows *sql.Rows
				err  error
			)
			if stmt != nil {
				rows, err = stmt.QueryContext(t.ctx, args...)
			} else {
				rows, err = t.tx.QueryContext(t.ctx, t.rebind(insertEventsStmt(len(batch), true)), args...)
			}
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					return err
				}
				ids = append(ids, id)
			}
			return rows.Err()
		})
		if err != nil {
			return t.d.MapErr(err)
		}
		if len(ids) != len(batch) {
			return fmt.Errorf("%s: inserted %d log events, got %d ids", t.d.Name, len(batch), len(ids))
		}
		slices.Sort(ids)
		for i := range batch {
			batch[i].ID = ids[i]
			batch[i].StreamID = streamID
			batch[i].Ingested = ingested
		}
	}
	if err := t.execOneSafe(t.d.q.touchStream, first, first, last, ingested, streamID, groupID); err != nil {
		return err
	}
	return t.execOneSafe(`UPDATE log_groups SET stored_bytes = stored_bytes + ? WHERE id = ?`, bytes, groupID)
}

// logEventsWhere is the FROM and WHERE clauses of a log event query and
// their arguments; none when the query selects nothing.
func (t *Tx) logEventsWhere(q store.LogEventQuery) (from, where string, args []any, none bool) {
	if q.StreamIDs != nil && len(q.StreamIDs) == 0 {
		return "", "", nil, true
	}
	var conds []string
	index := logEventsByGroup
	if len(q.StreamIDs) == 1 {
		index = logEventsByStream
		conds = append(conds, "e.stream_id = ?")
		args = append(args, q.StreamIDs[0])
	} else {
		conds = append(conds, "e.group_id = ?")
		args = append(args, q.GroupID)
		if q.StreamIDs != nil {
			list := listArg(t.d, q.StreamIDs)
			conds = append(conds, "e.stream_id"+t.d.Queries.InIDs)
			args = append(args, list)
		}
	}
	if q.Start != 0 {
		conds = append(conds, "e.ts >= ?")
		args = append(args, q.Start)
	}
	if q.End != 0 {
		conds = append(conds, "e.ts < ?")
		args = append(args, q.End)
	}
	if q.After != nil {
		conds = append(conds, "(e.ts, e.id) > (?, ?)")
		args = append(args, q.After.Timestamp, q.After.ID)
	}
	if q.Before != nil {
		conds = append(conds, "(e.ts, e.id) < (?, ?)")
		args = append(args, q.Before.Timestamp, q.Before.ID)
	}
	for _, s := range q.Contains {
		conds = append(conds, t.d.Queries.MessageContains)
		if t.d.MessageBytes {
			args = append(args, []byte(s))
		} else {
			args = append(args, s)
		}
	}
	return t.d.q.logEvents[index], strings.Join(conds, " AND "), args, false
}

func (t *Tx) ListLogEvents(q store.LogEventQuery) ([]store.LogEvent, error) {
	from, where, args, none := t.logEventsWhere(q)
	if none {
		return nil, nil
	}
	dir := ""
	if q.Descending {
		dir = " DESC"
	}
	args = append(args, t.limit(q.Limit))
	return listOf(t, t.scanLogEvent, `SELECT e.id, e.stream_id, s.name, e.ts, e.ingested, e.message
		FROM `+from+` JOIN log_streams AS s ON s.id = e.stream_id
		WHERE `+where+`
		ORDER BY e.ts`+dir+`, e.id`+dir+` LIMIT ?`, args...)
}

func (t *Tx) CountLogEvents(q store.LogEventQuery) (int, int64, error) {
	from, where, args, none := t.logEventsWhere(q)
	if none {
		return 0, 0, nil
	}
	var (
		n     int
		bytes int64
	)
	err := t.queryRow(`SELECT COUNT(*), COALESCE(SUM(e.size), 0) FROM `+from+` WHERE `+where, args...).Scan(&n, &bytes)
	return n, bytes, t.d.MapErr(err)
}

func (t *Tx) scanLogEvent(row *sql.Rows) (store.LogEvent, error) {
	var e store.LogEvent
	if err := row.Scan(&e.ID, &e.StreamID, &e.StreamName, &e.Timestamp, &e.Ingested, &e.Message); err != nil {
		return store.LogEvent{}, t.d.MapErr(err)
	}
	return e, nil
}

func (t *Tx) DeleteLogEventsBefore(groupID int64, cutoff int64, limit int) (int, error) {
	rows, err := t.query(t.d.q.deleteEventsBefore, groupID, cutoff, t.limit(limit))
	if err != nil {
		return 0, err
	}
	var n int
	var bytes int64
	for rows.Next() {
		var size int64
		if err := rows.Scan(&size); err != nil {
			rows.Close()
			return 0, t.d.MapErr(err)
		}
		n++
		bytes += size
	}
	if err := rows.Close(); err != nil {
		return 0, t.d.MapErr(err)
	}
	if err := rows.Err(); err != nil {
		return 0, t.d.MapErr(err)
	}
	if n == 0 {
		return 0, nil
	}
	_, err = t.execSafe(t.d.q.shrinkStored, bytes, groupID)
	return n, err
}
