package sqlite

import "github.com/berth-dev/berth/store/sqlstore"

// dialect is SQLite's side of store/sqlstore: queries run as written, a
// failed statement leaves the transaction usable, and new row ids come
// from LastInsertId.
var dialect = sqlstore.New(sqlstore.Dialect{
	Name:         "sqlite",
	IsUnique:     isUnique,
	IsForeignKey: isForeignKey,
	NoLimit:      -1,
	BoolAsInt:    true,
	JSONLists:    true,
	PrefixLen:    true,
	IndexHints:   true,
	Queries: sqlstore.Queries{
		RowOrder:            "rowid",
		Greatest:            "max",
		InsertManifestBlob:  `INSERT OR IGNORE INTO manifest_blobs (repo_id, manifest, digest) VALUES (?, ?, ?)`,
		InsertManifestChild: `INSERT OR IGNORE INTO manifest_children (repo_id, manifest, child) VALUES (?, ?, ?)`,
		PutBlob: `INSERT INTO blobs (digest, size, created_at) VALUES (?, ?, ?)
		ON CONFLICT (digest) DO UPDATE SET size = excluded.size, created_at = MAX(created_at, excluded.created_at)`,
		LinkBlob: `INSERT INTO repo_blobs (repo_id, digest, linked_at) VALUES (?, ?, ?)
		ON CONFLICT (repo_id, digest) DO UPDATE SET linked_at = MAX(linked_at, excluded.linked_at)`,
		PutUpload: `INSERT OR REPLACE INTO uploads (id, repo_id, started_at, updated_at, size, hash_algorithm, hash_state)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		PutResource:     `INSERT OR REPLACE INTO resources (kind, account, region, id, doc, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		IDPrefix:        `substr(id, 1, ?) = ?`,
		TaskKey:         `cluster || '/' || id`,
		NameContains:    `instr(name, ?) > 0`,
		MessageContains: `instr(e.message, ?) > 0`,
		InNames:         ` IN (SELECT value FROM json_each(?))`,
		InIDs:           ` IN (SELECT value FROM json_each(?))`,
		MigrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`,
	},
})
