package postgres

import "github.com/berth-dev/berth/store/sqlstore"

// dialect is PostgreSQL's side of store/sqlstore: ? placeholders rebound
// to $N, a savepoint around each statement a constraint can fail (a
// failed statement aborts the whole transaction), new row ids through
// RETURNING, and serialization failures noted for Update's retries.
var dialect = sqlstore.New(sqlstore.Dialect{
	Name:              "postgres",
	Rebind:            rebind,
	IsUnique:          isUnique,
	IsForeignKey:      isForeignKey,
	IsRetryable:       isRetryable,
	Savepoints:        true,
	ReturningID:       true,
	NoLimit:           nil,
	MessageBytes:      true,
	DropChildrenFirst: true,
	Queries: sqlstore.Queries{
		RowOrder:            "seq",
		Greatest:            "GREATEST",
		InsertManifestBlob:  `INSERT INTO manifest_blobs (repo_id, manifest, digest) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		InsertManifestChild: `INSERT INTO manifest_children (repo_id, manifest, child) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		PutBlob: `INSERT INTO blobs (digest, size, created_at) VALUES (?, ?, ?)
		ON CONFLICT (digest) DO UPDATE SET size = excluded.size, created_at = GREATEST(blobs.created_at, excluded.created_at)`,
		LinkBlob: `INSERT INTO repo_blobs (repo_id, digest, linked_at) VALUES (?, ?, ?)
		ON CONFLICT (repo_id, digest) DO UPDATE SET linked_at = GREATEST(repo_blobs.linked_at, excluded.linked_at)`,
		PutUpload: `INSERT INTO uploads (id, repo_id, started_at, updated_at, size, hash_algorithm, hash_state)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET repo_id = excluded.repo_id, started_at = excluded.started_at,
			updated_at = excluded.updated_at, size = excluded.size, hash_algorithm = excluded.hash_algorithm,
			hash_state = excluded.hash_state`,
		PutResource: `INSERT INTO resources (kind, account, region, id, doc, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind, account, region, id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`,
		IDPrefix:        `starts_with(id, ?)`,
		TaskKey:         `(cluster || '/' || id) COLLATE "C"`,
		NameContains:    `strpos(name, ?) > 0`,
		MessageContains: `position(?::bytea in e.message) > 0`,
		InNames:         ` = ANY(?::text[])`,
		InIDs:           ` = ANY(?::bigint[])`,
		MigrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		applied_at bigint  NOT NULL
	)`,
		MigrationLock: `SELECT pg_advisory_xact_lock(hashtext('berth.schema_migrations'), hashtext(current_schema()))`,
	},
})
