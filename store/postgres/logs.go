package postgres

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/berth-dev/berth/store"
)

// CloudWatch Logs: tables log_groups, log_streams and log_events (see the
// logs migration in schema.go). Events are read through two indexes,
// (group_id, ts, id) for a whole group and (stream_id, ts, id) for one
// stream, so every listing is an index range scan in the order the API
// returns.

const logGroupColumns = `id, account, region, name, created_at, retention_days, class, kms_key_id,
	deletion_protection, tags, stored_bytes`

func scanLogGroup(row interface{ Scan(...any) error }) (store.LogGroup, error) {
	var (
		g    store.LogGroup
		tags string
	)
	if err := row.Scan(&g.ID, &g.Account, &g.Region, &g.Name, &g.CreatedAt, &g.RetentionDays, &g.Class,
		&g.KMSKeyID, &g.DeletionProtection, &tags, &g.StoredBytes); err != nil {
		return store.LogGroup{}, mapErr(err)
	}
	if err := json.Unmarshal([]byte(tags), &g.Tags); err != nil {
		return store.LogGroup{}, fmt.Errorf("postgres: log group %d tags: %w", g.ID, err)
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

func (t *tx) CreateLogGroup(g *store.LogGroup) error {
	tags, err := encodeTags(g.Tags)
	if err != nil {
		return err
	}
	g.ID, err = t.insertID(`INSERT INTO log_groups (account, region, name, created_at, retention_days, class, kms_key_id,
		deletion_protection, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		g.Account, g.Region, g.Name, g.CreatedAt, g.RetentionDays, g.Class, g.KMSKeyID, g.DeletionProtection, tags)
	if err != nil {
		return err
	}
	g.StoredBytes = 0
	return err
}

func (t *tx) GetLogGroup(account, region, name string) (store.LogGroup, error) {
	return scanLogGroup(t.queryRow(`SELECT `+logGroupColumns+` FROM log_groups WHERE account = ? AND region = ? AND name = ?`,
		account, region, name))
}

func (t *tx) ListLogGroups(account, region string, q store.LogGroupQuery) ([]store.LogGroup, error) {
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
		where = append(where, "strpos(name, ?) > 0")
		args = append(args, q.Contains)
	}
	if q.Class != "" {
		where = append(where, "class = ?")
		args = append(args, q.Class)
	}
	if q.Names != nil {
		where = append(where, "name = ANY(?::text[])")
		args = append(args, q.Names)
	}
	args = append(args, sqlLimit(q.Limit))
	rows, err := t.query(`SELECT `+logGroupColumns+` FROM log_groups WHERE `+strings.Join(where, " AND ")+
		` ORDER BY name LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.LogGroup
	for rows.Next() {
		g, err := scanLogGroup(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, mapErr(rows.Err())
}

func (t *tx) UpdateLogGroup(g store.LogGroup) error {
	tags, err := encodeTags(g.Tags)
	if err != nil {
		return err
	}
	return t.execOneSafe(`UPDATE log_groups SET retention_days = ?, kms_key_id = ?, deletion_protection = ?, tags = ?
		WHERE id = ?`, g.RetentionDays, g.KMSKeyID, g.DeletionProtection, tags, g.ID)
}

func (t *tx) DeleteLogGroup(id int64) error {
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

func (t *tx) LogGroupsWithRetention() ([]store.LogGroup, error) {
	rows, err := t.query(`SELECT ` + logGroupColumns + ` FROM log_groups WHERE retention_days > 0 ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.LogGroup
	for rows.Next() {
		g, err := scanLogGroup(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, mapErr(rows.Err())
}

// --- streams ---

const logStreamColumns = `id, group_id, name, created_at, first_event, last_event, last_ingestion`

func scanLogStream(row interface{ Scan(...any) error }) (store.LogStream, error) {
	var s store.LogStream
	if err := row.Scan(&s.ID, &s.GroupID, &s.Name, &s.CreatedAt, &s.FirstEvent, &s.LastEvent, &s.LastIngestion); err != nil {
		return store.LogStream{}, mapErr(err)
	}
	return s, nil
}

func (t *tx) CreateLogStream(s *store.LogStream) error {
	id, err := t.insertID(`INSERT INTO log_streams (group_id, name, created_at) VALUES (?, ?, ?) RETURNING id`, s.GroupID, s.Name, s.CreatedAt)
	if err != nil {
		return err
	}
	s.ID = id
	s.FirstEvent, s.LastEvent, s.LastIngestion = 0, 0, 0
	return err
}

func (t *tx) GetLogStream(groupID int64, name string) (store.LogStream, error) {
	return scanLogStream(t.queryRow(`SELECT `+logStreamColumns+` FROM log_streams WHERE group_id = ? AND name = ?`, groupID, name))
}

func (t *tx) ListLogStreams(groupID int64, q store.LogStreamQuery) ([]store.LogStream, error) {
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
	args = append(args, sqlLimit(q.Limit))
	rows, err := t.query(`SELECT `+logStreamColumns+` FROM log_streams WHERE `+strings.Join(where, " AND ")+
		` ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.LogStream
	for rows.Next() {
		s, err := scanLogStream(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, mapErr(rows.Err())
}

func (t *tx) LogStreamIDs(groupID int64, names []string, prefix string) ([]int64, error) {
	var (
		query string
		args  []any
	)
	if names != nil {
		query = `SELECT id FROM log_streams WHERE group_id = ? AND name = ANY(?::text[]) ORDER BY id`
		args = []any{groupID, names}
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
			return nil, mapErr(err)
		}
		out = append(out, id)
	}
	return out, mapErr(rows.Err())
}

func (t *tx) DeleteLogStream(id int64) error {
	var groupID, bytes int64
	if err := t.queryRow(`SELECT group_id FROM log_streams WHERE id = ?`, id).Scan(&groupID); err != nil {
		return mapErr(err)
	}
	if err := t.queryRow(`SELECT COALESCE(SUM(size), 0) FROM log_events WHERE stream_id = ?`, id).Scan(&bytes); err != nil {
		return mapErr(err)
	}
	if _, err := t.exec(`DELETE FROM log_events WHERE stream_id = ?`, id); err != nil {
		return err
	}
	if err := t.execOne(`DELETE FROM log_streams WHERE id = ?`, id); err != nil {
		return err
	}
	_, err := t.execSafe(`UPDATE log_groups SET stored_bytes = GREATEST(0, stored_bytes - ?) WHERE id = ?`, bytes, groupID)
	return err
}

// --- events ---

// insertBatch is how many events one INSERT statement carries (6
// parameters each, well under SQLite's limit on variables).
const insertBatch = 500

func (t *tx) PutLogEvents(groupID, streamID int64, ingested int64, events []store.LogEvent) error {
	if len(events) == 0 {
		return nil
	}
	var (
		bytes        int64
		first, last  = events[0].Timestamp, events[0].Timestamp
		placeholders strings.Builder
		stmt         string
		stmtFor      = -1
		args         []any
	)
	for _, e := range events {
		bytes += int64(len(e.Message))
		first = min(first, e.Timestamp)
		last = max(last, e.Timestamp)
	}
	for start := 0; start < len(events); start += insertBatch {
		batch := events[start:min(start+insertBatch, len(events))]
		if len(batch) != stmtFor {
			placeholders.Reset()
			for i := range batch {
				if i > 0 {
					placeholders.WriteString(", ")
				}
				placeholders.WriteString("(?, ?, ?, ?, ?, ?)")
			}
			stmt = `INSERT INTO log_events (group_id, stream_id, ts, ingested, size, message) VALUES ` + placeholders.String() +
				` RETURNING id`
			stmtFor = len(batch)
		}
		args = args[:0]
		for _, e := range batch {
			args = append(args, groupID, streamID, e.Timestamp, ingested, len(e.Message), []byte(e.Message))
		}
		// The identity sequence is drawn row by row in VALUES order, so
		// the ids, sorted, are the events' in order. Concurrent writers may
		// interleave their draws: unlike SQLite's, they need not be
		// consecutive.
		ids := make([]int64, 0, len(batch))
		err := t.guard(func() error {
			rows, err := t.tx.QueryContext(t.ctx, rebind(stmt), args...)
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
			return mapErr(err)
		}
		if len(ids) != len(batch) {
			return fmt.Errorf("postgres: inserted %d log events, got %d ids", len(batch), len(ids))
		}
		slices.Sort(ids)
		for i := range batch {
			batch[i].ID = ids[i]
			batch[i].StreamID = streamID
			batch[i].Ingested = ingested
		}
	}
	if err := t.execOneSafe(`UPDATE log_streams SET
			first_event = CASE WHEN first_event = 0 OR ? < first_event THEN ? ELSE first_event END,
			last_event = GREATEST(last_event, ?),
			last_ingestion = GREATEST(last_ingestion, ?)
		WHERE id = ? AND group_id = ?`, first, first, last, ingested, streamID, groupID); err != nil {
		return err
	}
	return t.execOneSafe(`UPDATE log_groups SET stored_bytes = stored_bytes + ? WHERE id = ?`, bytes, groupID)
}

func (t *tx) ListLogEvents(q store.LogEventQuery) ([]store.LogEvent, error) {
	if q.StreamIDs != nil && len(q.StreamIDs) == 0 {
		return nil, nil
	}
	var (
		where []string
		args  []any
	)
	if len(q.StreamIDs) == 1 {
		where = append(where, "e.stream_id = ?")
		args = append(args, q.StreamIDs[0])
	} else {
		where = append(where, "e.group_id = ?")
		args = append(args, q.GroupID)
		if q.StreamIDs != nil {
			where = append(where, "e.stream_id = ANY(?::bigint[])")
			args = append(args, q.StreamIDs)
		}
	}
	if q.Start != 0 {
		where = append(where, "e.ts >= ?")
		args = append(args, q.Start)
	}
	if q.End != 0 {
		where = append(where, "e.ts < ?")
		args = append(args, q.End)
	}
	if q.After != nil {
		where = append(where, "(e.ts, e.id) > (?, ?)")
		args = append(args, q.After.Timestamp, q.After.ID)
	}
	if q.Before != nil {
		where = append(where, "(e.ts, e.id) < (?, ?)")
		args = append(args, q.Before.Timestamp, q.Before.ID)
	}
	for _, s := range q.Contains {
		where = append(where, "position(?::bytea in e.message) > 0")
		args = append(args, []byte(s))
	}
	dir := ""
	if q.Descending {
		dir = " DESC"
	}
	args = append(args, sqlLimit(q.Limit))
	rows, err := t.query(`SELECT e.id, e.stream_id, s.name, e.ts, e.ingested, e.message
		FROM log_events AS e JOIN log_streams AS s ON s.id = e.stream_id
		WHERE `+strings.Join(where, " AND ")+`
		ORDER BY e.ts`+dir+`, e.id`+dir+` LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.LogEvent
	for rows.Next() {
		var e store.LogEvent
		if err := rows.Scan(&e.ID, &e.StreamID, &e.StreamName, &e.Timestamp, &e.Ingested, &e.Message); err != nil {
			return nil, mapErr(err)
		}
		out = append(out, e)
	}
	return out, mapErr(rows.Err())
}

func (t *tx) DeleteLogEventsBefore(groupID int64, cutoff int64, limit int) (int, error) {
	rows, err := t.query(`DELETE FROM log_events WHERE id IN (
			SELECT id FROM log_events
			WHERE group_id = ? AND ts < ? ORDER BY ts, id LIMIT ?)
		RETURNING size`, groupID, cutoff, sqlLimit(limit))
	if err != nil {
		return 0, err
	}
	var n int
	var bytes int64
	for rows.Next() {
		var size int64
		if err := rows.Scan(&size); err != nil {
			rows.Close()
			return 0, mapErr(err)
		}
		n++
		bytes += size
	}
	if err := rows.Close(); err != nil {
		return 0, mapErr(err)
	}
	if err := rows.Err(); err != nil {
		return 0, mapErr(err)
	}
	if n == 0 {
		return 0, nil
	}
	_, err = t.execSafe(`UPDATE log_groups SET stored_bytes = GREATEST(0, stored_bytes - ?) WHERE id = ?`, bytes, groupID)
	return n, err
}
