// Package sqlstore is the store.Tx of Berth's SQL backends (store/sqlite
// and store/postgres): one implementation of the repositories, manifests,
// tags, blobs, uploads, resources, logs and ECS tasks over a *sql.Tx,
// written in SQLite's placeholders (? and ?N). What differs between the
// databases is a Dialect; opening, schema and the transaction runner
// (BEGIN modes, retries) stay in the backend packages.
package sqlstore

import "encoding/json"

// Dialect is what one database needs done differently. Create it once
// with New: queries derived from it are built there, not per statement.
type Dialect struct {
	// Name prefixes the store's own error messages ("sqlite", "postgres").
	Name string
	// Rebind turns ? and ?N into the driver's placeholders; nil runs
	// queries as written.
	Rebind func(query string) string
	// IsUnique and IsForeignKey report unique and foreign key violations
	// (MapErr's store.ErrConflict and store.ErrNotFound).
	IsUnique, IsForeignKey func(error) bool
	// IsRetryable reports an error after which the transaction cannot
	// commit but may be run again (Tx.Retry); nil: none.
	IsRetryable func(error) bool
	// Savepoints runs each write statement a constraint can fail under a
	// savepoint, for databases that abort the whole transaction on a
	// failed statement.
	Savepoints bool
	// ReturningID reads new row ids with INSERT ... RETURNING id instead
	// of LastInsertId.
	ReturningID bool
	// NoLimit is the LIMIT argument that means no limit.
	NoLimit any
	// BoolAsInt stores booleans as 0/1.
	BoolAsInt bool
	// JSONLists passes lists of names or ids as one JSON array (for
	// json_each) instead of as a driver array.
	JSONLists bool
	// PrefixLen passes ListResources's prefix as (length in characters,
	// prefix), for Queries.IDPrefix written as substr(id, 1, ?) = ?.
	PrefixLen bool
	// MessageBytes binds log messages as bytes (a bytea column).
	MessageBytes bool
	// DropChildrenFirst deletes a repository's manifest_children rows
	// before the repository: PostgreSQL checks manifest_children's child
	// key as the cascade deletes each manifest, before the cascade
	// reaches the index that lists it, where SQLite checks at the end of
	// the statement.
	DropChildrenFirst bool
	// IndexHints names the log_events index a listing must use (SQLite's
	// INDEXED BY), where the planner would otherwise pick a worse one.
	IndexHints bool

	Queries Queries

	q derived
}

// Queries are the statements and fragments whose SQL differs.
type Queries struct {
	// RowOrder is the column that orders manifests by insertion.
	RowOrder string
	// Greatest is the two-argument maximum function.
	Greatest string
	// InsertManifestBlob and InsertManifestChild insert an edge, ignoring
	// one already there.
	InsertManifestBlob, InsertManifestChild string
	// PutBlob upserts a blob keeping the later created_at; LinkBlob
	// upserts a repo_blobs row keeping the later linked_at.
	PutBlob, LinkBlob string
	// PutUpload and PutResource insert or replace a row.
	PutUpload, PutResource string
	// IDPrefix is ListResources's "id starts with ?" condition.
	IDPrefix string
	// TaskKey is the ECS task listing's order key, cluster/id compared
	// bytewise.
	TaskKey string
	// NameContains and MessageContains are "column contains ?".
	NameContains, MessageContains string
	// InNames and InIDs follow a column for "is in the list ?".
	InNames, InIDs string
	// MigrationsTable creates schema_migrations (version, applied_at) if
	// missing; MigrationLock, when set, runs first in Migrate's
	// transaction.
	MigrationsTable, MigrationLock string
}

type derived struct {
	listManifests, manifestsBySubject, listResources string
	streamsByName                                    string
	shrinkStored, touchStream                        string
	deleteEventsBefore                               string
	logEvents                                        [2]string // FROM clause by logEventsBy*
}

// The indexes ListLogEvents reads log_events through.
const (
	logEventsByGroup = iota
	logEventsByStream
)

// New returns d ready for use.
func New(d Dialect) *Dialect {
	q := d.Queries
	d.q = derived{
		listManifests: `SELECT ` + manifestColumns + ` FROM manifests WHERE repo_id = ? ORDER BY ` + q.RowOrder,
		manifestsBySubject: `SELECT ` + manifestColumns + ` FROM manifests WHERE repo_id = ? AND subject = ? AND subject != '' ORDER BY ` +
			q.RowOrder,
		listResources: `SELECT ` + resourceColumns + ` FROM resources
		WHERE kind = ? AND account = ? AND region = ? AND id > ? AND ` + q.IDPrefix + `
		ORDER BY id LIMIT ?`,
		streamsByName: `SELECT id FROM log_streams WHERE group_id = ? AND name` + q.InNames + ` ORDER BY id`,
		shrinkStored:  `UPDATE log_groups SET stored_bytes = ` + q.Greatest + `(0, stored_bytes - ?) WHERE id = ?`,
		touchStream: `UPDATE log_streams SET
			first_event = CASE WHEN first_event = 0 OR ? < first_event THEN ? ELSE first_event END,
			last_event = ` + q.Greatest + `(last_event, ?),
			last_ingestion = ` + q.Greatest + `(last_ingestion, ?)
		WHERE id = ? AND group_id = ?`,
	}
	groupHint, streamHint := "", ""
	if d.IndexHints {
		groupHint, streamHint = " INDEXED BY log_events_group_ts", " INDEXED BY log_events_stream_ts"
	}
	d.q.logEvents = [2]string{
		logEventsByGroup:  "log_events AS e" + groupHint,
		logEventsByStream: "log_events AS e" + streamHint,
	}
	d.q.deleteEventsBefore = `DELETE FROM log_events WHERE id IN (
			SELECT id FROM log_events` + groupHint + `
			WHERE group_id = ? AND ts < ? ORDER BY ts, id LIMIT ?)
		RETURNING size`
	return &d
}

func (t *Tx) boolArg(b bool) any {
	if !t.d.BoolAsInt {
		return b
	}
	if b {
		return 1
	}
	return 0
}

// listArg passes a list of names or ids as the dialect binds one.
// Marshalling strings or integers cannot fail.
func listArg[T string | int64](d *Dialect, v []T) any {
	if !d.JSONLists {
		return v
	}
	if v == nil {
		v = []T{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}
