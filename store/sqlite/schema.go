package sqlite

import (
	"context"
	"database/sql"
)

// migrations are applied in order, each once, in one transaction at Open.
// Never edit a released migration: append a new one.
var migrations = []string{
	// 1: registry state and the generic resource area.
	`
CREATE TABLE repositories (
	id                    INTEGER PRIMARY KEY,
	account               TEXT    NOT NULL,
	region                TEXT    NOT NULL,
	name                  TEXT    NOT NULL,
	created_at            INTEGER NOT NULL,
	tag_mutability        TEXT    NOT NULL,
	mutability_exclusions TEXT    NOT NULL DEFAULT '[]',
	settings              BLOB,
	UNIQUE (account, region, name)
);

CREATE TABLE blobs (
	digest     TEXT    PRIMARY KEY,
	size       INTEGER NOT NULL,
	created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE repo_blobs (
	repo_id   INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
	digest    TEXT    NOT NULL REFERENCES blobs (digest) ON DELETE CASCADE,
	linked_at INTEGER NOT NULL,
	PRIMARY KEY (repo_id, digest)
) WITHOUT ROWID;
CREATE INDEX repo_blobs_digest ON repo_blobs (digest);

CREATE TABLE manifests (
	repo_id        INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
	digest         TEXT    NOT NULL,
	media_type     TEXT    NOT NULL,
	artifact_type  TEXT    NOT NULL DEFAULT '',
	subject        TEXT    NOT NULL DEFAULT '',
	annotations    TEXT,
	size           INTEGER NOT NULL,
	body           BLOB    NOT NULL,
	body_size      INTEGER NOT NULL,
	pushed_at      INTEGER NOT NULL,
	last_pulled_at INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (repo_id, digest)
);
CREATE INDEX manifests_subject ON manifests (repo_id, subject) WHERE subject != '';

-- A blob referenced by a manifest cannot lose its record (no ON DELETE):
-- the database itself refuses a collection that would break an image.
CREATE TABLE manifest_blobs (
	repo_id  INTEGER NOT NULL,
	manifest TEXT    NOT NULL,
	digest   TEXT    NOT NULL REFERENCES blobs (digest),
	PRIMARY KEY (repo_id, manifest, digest),
	FOREIGN KEY (repo_id, manifest) REFERENCES manifests (repo_id, digest) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX manifest_blobs_digest ON manifest_blobs (digest, repo_id);

-- Likewise a child of an index cannot be deleted while the index exists.
CREATE TABLE manifest_children (
	repo_id  INTEGER NOT NULL,
	manifest TEXT    NOT NULL,
	child    TEXT    NOT NULL,
	PRIMARY KEY (repo_id, manifest, child),
	FOREIGN KEY (repo_id, manifest) REFERENCES manifests (repo_id, digest) ON DELETE CASCADE,
	FOREIGN KEY (repo_id, child) REFERENCES manifests (repo_id, digest)
) WITHOUT ROWID;
CREATE INDEX manifest_children_child ON manifest_children (repo_id, child);

CREATE TABLE tags (
	repo_id    INTEGER NOT NULL,
	name       TEXT    NOT NULL,
	digest     TEXT    NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (repo_id, name),
	FOREIGN KEY (repo_id, digest) REFERENCES manifests (repo_id, digest) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX tags_digest ON tags (repo_id, digest);

CREATE TABLE uploads (
	id             TEXT    PRIMARY KEY,
	repo_id        INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
	started_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL,
	size           INTEGER NOT NULL,
	hash_algorithm TEXT    NOT NULL DEFAULT '',
	hash_state     BLOB
) WITHOUT ROWID;
CREATE INDEX uploads_repo ON uploads (repo_id);
CREATE INDEX uploads_updated ON uploads (updated_at);

CREATE TABLE resources (
	kind       TEXT    NOT NULL,
	account    TEXT    NOT NULL,
	region     TEXT    NOT NULL,
	id         TEXT    NOT NULL,
	doc        BLOB    NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (kind, account, region, id)
) WITHOUT ROWID;
`,
	// 2: CloudWatch Logs. Times are Unix milliseconds. Events are read by
	// group or by stream in (ts, id) order; id is AUTOINCREMENT so an event
	// id (and the tokens built from it) is never reused.
	`
CREATE TABLE log_groups (
	id                  INTEGER PRIMARY KEY,
	account             TEXT    NOT NULL,
	region              TEXT    NOT NULL,
	name                TEXT    NOT NULL,
	created_at          INTEGER NOT NULL,
	retention_days      INTEGER NOT NULL DEFAULT 0,
	class               TEXT    NOT NULL DEFAULT 'STANDARD',
	kms_key_id          TEXT    NOT NULL DEFAULT '',
	deletion_protection INTEGER NOT NULL DEFAULT 0,
	tags                TEXT    NOT NULL DEFAULT '{}',
	stored_bytes        INTEGER NOT NULL DEFAULT 0,
	UNIQUE (account, region, name)
);

CREATE TABLE log_streams (
	id             INTEGER PRIMARY KEY,
	group_id       INTEGER NOT NULL REFERENCES log_groups (id) ON DELETE CASCADE,
	name           TEXT    NOT NULL,
	created_at     INTEGER NOT NULL,
	first_event    INTEGER NOT NULL DEFAULT 0,
	last_event     INTEGER NOT NULL DEFAULT 0,
	last_ingestion INTEGER NOT NULL DEFAULT 0,
	UNIQUE (group_id, name)
);
CREATE INDEX log_streams_last_event ON log_streams (group_id, last_event, name);

CREATE TABLE log_events (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	group_id  INTEGER NOT NULL,
	stream_id INTEGER NOT NULL REFERENCES log_streams (id) ON DELETE CASCADE,
	ts        INTEGER NOT NULL,
	ingested  INTEGER NOT NULL,
	size      INTEGER NOT NULL,
	message   TEXT    NOT NULL
);
CREATE INDEX log_events_group_ts ON log_events (group_id, ts, id);
CREATE INDEX log_events_stream_ts ON log_events (stream_id, ts, id);
`,
	// 3: ECS tasks move out of the generic resource area into a table whose
	// listing index covers every ListTasks filter, so a listing reads no
	// task document. Times are Unix nanoseconds.
	`
CREATE TABLE ecs_tasks (
	account        TEXT    NOT NULL,
	region         TEXT    NOT NULL,
	cluster        TEXT    NOT NULL,
	id             TEXT    NOT NULL,
	family         TEXT    NOT NULL,
	started_by     TEXT    NOT NULL,
	task_group     TEXT    NOT NULL,
	desired_status TEXT    NOT NULL,
	instance       TEXT    NOT NULL,
	launch_type    TEXT    NOT NULL,
	doc            BLOB    NOT NULL,
	updated_at     INTEGER NOT NULL,
	UNIQUE (account, region, cluster, id)
);
CREATE INDEX ecs_tasks_status ON ecs_tasks
	(account, region, cluster, desired_status, id, family, started_by, task_group, instance, launch_type);
CREATE INDEX ecs_tasks_group ON ecs_tasks
	(account, region, cluster, task_group, id, desired_status, family, started_by, instance, launch_type);

INSERT INTO ecs_tasks (account, region, cluster, id, family, started_by, task_group, desired_status,
	instance, launch_type, doc, updated_at)
SELECT account, region,
	COALESCE(json_extract(doc, '$.cluster'), ''), COALESCE(json_extract(doc, '$.id'), ''),
	COALESCE(json_extract(doc, '$.family'), ''), COALESCE(json_extract(doc, '$.startedBy'), ''),
	COALESCE(json_extract(doc, '$.group'), ''), COALESCE(json_extract(doc, '$.desiredStatus'), ''),
	COALESCE(json_extract(doc, '$.instanceId'), ''), COALESCE(json_extract(doc, '$.launchType'), ''),
	doc, updated_at
FROM resources WHERE kind = 'ecs.task';
DELETE FROM resources WHERE kind = 'ecs.task';
`,
}

func migrate(db *sql.DB) error {
	return dialect.Migrate(context.Background(), db, migrations)
}
