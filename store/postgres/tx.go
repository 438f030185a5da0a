package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/store"
)

type tx struct {
	ctx   context.Context
	tx    *sql.Tx
	write bool
	retry bool // a statement hit a serialization failure or deadlock
}

var _ store.Tx = (*tx)(nil)

func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	res, err := t.rawExec(query, args...)
	return res, mapErr(err)
}

// rawExec runs a write statement. PostgreSQL aborts the whole transaction
// on a failed statement, where SQLite fails only the statement; callers
// handle ErrConflict or ErrNotFound and go on in the same transaction, so
// in a write transaction each statement runs under a savepoint it is
// rolled back to on failure.
func (t *tx) rawExec(query string, args ...any) (sql.Result, error) {
	query = rebind(query)
	if !t.write {
		return t.tx.ExecContext(t.ctx, query, args...)
	}
	if _, err := t.tx.ExecContext(t.ctx, `SAVEPOINT stmt`); err != nil {
		t.noteErr(err)
		return nil, err
	}
	res, err := t.tx.ExecContext(t.ctx, query, args...)
	if err != nil {
		t.noteErr(err)
		if _, rerr := t.tx.ExecContext(t.ctx, `ROLLBACK TO SAVEPOINT stmt`); rerr != nil {
			t.noteErr(rerr)
		}
		return nil, err
	}
	if _, err := t.tx.ExecContext(t.ctx, `RELEASE SAVEPOINT stmt`); err != nil {
		t.noteErr(err)
		return nil, err
	}
	return res, nil
}

// noteErr remembers a serialization failure or deadlock, after which the
// transaction cannot commit, so Update runs the function again even when
// the function swallowed the error.
func (t *tx) noteErr(err error) {
	if isRetryable(err) {
		t.retry = true
	}
}

// insertID runs an INSERT ... RETURNING id (SQLite's LastInsertId).
func (t *tx) insertID(query string, args ...any) (int64, error) {
	var id int64
	err := t.guard(func() error { return t.tx.QueryRowContext(t.ctx, rebind(query), args...).Scan(&id) })
	return id, mapErr(err)
}

// guard runs a statement that returns rows under a savepoint, as rawExec
// does.
func (t *tx) guard(fn func() error) error {
	if !t.write {
		return fn()
	}
	if _, err := t.tx.ExecContext(t.ctx, `SAVEPOINT stmt`); err != nil {
		t.noteErr(err)
		return err
	}
	if err := fn(); err != nil {
		t.noteErr(err)
		if _, rerr := t.tx.ExecContext(t.ctx, `ROLLBACK TO SAVEPOINT stmt`); rerr != nil {
			t.noteErr(rerr)
		}
		return err
	}
	_, err := t.tx.ExecContext(t.ctx, `RELEASE SAVEPOINT stmt`)
	t.noteErr(err)
	return err
}

// execSafe runs a write statement that no constraint can fail (no
// foreign key to check, conflicts resolved by ON CONFLICT) without a
// savepoint, saving its two round trips: it can only fail with the
// transaction (a serialization failure, a lost connection), which no
// caller goes on from.
func (t *tx) execSafe(query string, args ...any) (sql.Result, error) {
	res, err := t.tx.ExecContext(t.ctx, rebind(query), args...)
	t.noteErr(err)
	return res, mapErr(err)
}

// execOne runs a statement that must touch exactly one row.
func (t *tx) execOne(query string, args ...any) error {
	return rowsOne(t.exec(query, args...))
}

// execOneSafe is execOne for a statement execSafe may run.
func (t *tx) execOneSafe(query string, args ...any) error {
	return rowsOne(t.execSafe(query, args...))
}

func rowsOne(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// query and queryRow run reads, which fail on no constraint; a
// serialization failure among them is noted for Update.
func (t *tx) query(query string, args ...any) (*sql.Rows, error) {
	rows, err := t.tx.QueryContext(t.ctx, rebind(query), args...)
	t.noteErr(err)
	return rows, mapErr(err)
}

func (t *tx) queryRow(query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(t.ctx, rebind(query), args...)
}

// Times are stored as Unix nanoseconds; 0 is the zero time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// sqlLimit turns "<= 0 means no limit" into LIMIT NULL.
func sqlLimit(limit int) any {
	if limit <= 0 {
		return nil
	}
	return limit
}

// --- repositories ---

const repoColumns = `id, account, region, name, created_at, tag_mutability, mutability_exclusions, settings`

func scanRepo(row interface{ Scan(...any) error }) (store.Repository, error) {
	var (
		r          store.Repository
		created    int64
		exclusions string
		settings   []byte
	)
	if err := row.Scan(&r.ID, &r.Account, &r.Region, &r.Name, &created, &r.TagMutability, &exclusions, &settings); err != nil {
		return store.Repository{}, mapErr(err)
	}
	r.CreatedAt = fromUnixNano(created)
	if err := json.Unmarshal([]byte(exclusions), &r.MutabilityExclusions); err != nil {
		return store.Repository{}, fmt.Errorf("postgres: repository %d exclusions: %w", r.ID, err)
	}
	if len(settings) > 0 {
		r.Settings = json.RawMessage(settings)
	}
	return r, nil
}

func encodeExclusions(ex []string) (string, error) {
	if ex == nil {
		ex = []string{}
	}
	b, err := json.Marshal(ex)
	return string(b), err
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func (t *tx) CreateRepository(r *store.Repository) error {
	ex, err := encodeExclusions(r.MutabilityExclusions)
	if err != nil {
		return err
	}
	id, err := t.insertID(`INSERT INTO repositories (account, region, name, created_at, tag_mutability, mutability_exclusions, settings)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.Account, r.Region, r.Name, unixNano(r.CreatedAt), r.TagMutability, ex, nullBytes(r.Settings))
	if err != nil {
		return err
	}
	r.ID = id
	return nil
}

func (t *tx) GetRepository(account, region, name string) (store.Repository, error) {
	return scanRepo(t.queryRow(`SELECT `+repoColumns+` FROM repositories WHERE account = ? AND region = ? AND name = ?`,
		account, region, name))
}

func (t *tx) GetRepositoryByID(id int64) (store.Repository, error) {
	return scanRepo(t.queryRow(`SELECT `+repoColumns+` FROM repositories WHERE id = ?`, id))
}

func (t *tx) ListRepositories(account, region, after string, limit int) ([]store.Repository, error) {
	rows, err := t.query(`SELECT `+repoColumns+` FROM repositories
		WHERE account = ? AND region = ? AND name > ? ORDER BY name LIMIT ?`,
		account, region, after, sqlLimit(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Repository
	for rows.Next() {
		r, err := scanRepo(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, mapErr(rows.Err())
}

func (t *tx) UpdateRepository(r store.Repository) error {
	ex, err := encodeExclusions(r.MutabilityExclusions)
	if err != nil {
		return err
	}
	return t.execOneSafe(`UPDATE repositories SET tag_mutability = ?, mutability_exclusions = ?, settings = ? WHERE id = ?`,
		r.TagMutability, ex, nullBytes(r.Settings), r.ID)
}

func (t *tx) DeleteRepository(id int64) error {
	// PostgreSQL checks manifest_children's child key as the cascade
	// deletes each manifest, before the cascade reaches the index that
	// lists it, where SQLite checks at the end of the statement: drop the
	// index edges first.
	if _, err := t.exec(`DELETE FROM manifest_children WHERE repo_id = ?`, id); err != nil {
		return err
	}
	return t.execOne(`DELETE FROM repositories WHERE id = ?`, id)
}

// --- manifests ---

const manifestColumns = `repo_id, digest, media_type, artifact_type, subject, annotations, size, body_size, pushed_at, last_pulled_at`

func scanManifest(row interface{ Scan(...any) error }, withBody bool) (store.Manifest, error) {
	var (
		m                store.Manifest
		dgst, subject    string
		annotations      sql.NullString
		pushed, lastPull int64
	)
	dest := []any{&m.RepoID, &dgst, &m.MediaType, &m.ArtifactType, &subject, &annotations, &m.Size, &m.BodySize, &pushed, &lastPull}
	if withBody {
		dest = append(dest, &m.Body)
	}
	if err := row.Scan(dest...); err != nil {
		return store.Manifest{}, mapErr(err)
	}
	m.Digest = digest.Digest(dgst)
	m.Subject = digest.Digest(subject)
	m.PushedAt = fromUnixNano(pushed)
	m.LastPulledAt = fromUnixNano(lastPull)
	if annotations.Valid && annotations.String != "" {
		if err := json.Unmarshal([]byte(annotations.String), &m.Annotations); err != nil {
			return store.Manifest{}, fmt.Errorf("postgres: manifest %s annotations: %w", dgst, err)
		}
	}
	return m, nil
}

func (t *tx) PutManifest(m store.Manifest, refs store.ManifestRefs) error {
	var annotations any
	if len(m.Annotations) > 0 {
		b, err := json.Marshal(m.Annotations)
		if err != nil {
			return err
		}
		annotations = string(b)
	}
	if _, err := t.exec(`INSERT INTO manifests (repo_id, digest, media_type, artifact_type, subject, annotations, size, body, body_size, pushed_at, last_pulled_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.RepoID, m.Digest.String(), m.MediaType, m.ArtifactType, m.Subject.String(), annotations,
		m.Size, m.Body, int64(len(m.Body)), unixNano(m.PushedAt), unixNano(m.LastPulledAt)); err != nil {
		return err
	}
	for _, d := range refs.Blobs {
		if _, err := t.exec(`INSERT INTO manifest_blobs (repo_id, manifest, digest) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			m.RepoID, m.Digest.String(), d.String()); err != nil {
			return fmt.Errorf("blob %s: %w", d, err)
		}
	}
	for _, d := range refs.Manifests {
		if _, err := t.exec(`INSERT INTO manifest_children (repo_id, manifest, child) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			m.RepoID, m.Digest.String(), d.String()); err != nil {
			return fmt.Errorf("manifest %s: %w", d, err)
		}
	}
	return nil
}

func (t *tx) GetManifest(repoID int64, dgst digest.Digest) (store.Manifest, error) {
	return scanManifest(t.queryRow(`SELECT `+manifestColumns+`, body FROM manifests WHERE repo_id = ? AND digest = ?`,
		repoID, dgst.String()), true)
}

func (t *tx) listManifests(query string, args ...any) ([]store.Manifest, error) {
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Manifest
	for rows.Next() {
		m, err := scanManifest(rows, false)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, mapErr(rows.Err())
}

func (t *tx) ListManifests(repoID int64) ([]store.Manifest, error) {
	return t.listManifests(`SELECT `+manifestColumns+` FROM manifests WHERE repo_id = ? ORDER BY seq`, repoID)
}

func (t *tx) CountManifests(repoID int64) (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM manifests WHERE repo_id = ?`, repoID).Scan(&n)
	return n, mapErr(err)
}

func (t *tx) DeleteManifest(repoID int64, dgst digest.Digest) error {
	res, err := t.rawExec(`DELETE FROM manifests WHERE repo_id = ? AND digest = ?`, repoID, dgst.String())
	if isForeignKey(err) {
		// An index still lists it as a child.
		return fmt.Errorf("%w: manifest %s is referenced by an index", store.ErrConflict, dgst)
	}
	if err != nil {
		return mapErr(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (t *tx) digests(query string, args ...any) ([]digest.Digest, error) {
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []digest.Digest
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, mapErr(err)
		}
		out = append(out, digest.Digest(d))
	}
	return out, mapErr(rows.Err())
}

func (t *tx) ManifestParents(repoID int64, dgst digest.Digest) ([]digest.Digest, error) {
	return t.digests(`SELECT manifest FROM manifest_children WHERE repo_id = ? AND child = ? ORDER BY manifest`, repoID, dgst.String())
}

func (t *tx) ManifestsReferencingBlob(repoID int64, dgst digest.Digest) ([]digest.Digest, error) {
	return t.digests(`SELECT manifest FROM manifest_blobs WHERE digest = ? AND repo_id = ? ORDER BY manifest`, dgst.String(), repoID)
}

func (t *tx) Referrers(repoID int64, subject digest.Digest) ([]store.Manifest, error) {
	return t.listManifests(`SELECT `+manifestColumns+` FROM manifests WHERE repo_id = ? AND subject = ? AND subject != '' ORDER BY seq`,
		repoID, subject.String())
}

func (t *tx) SetLastPulled(repoID int64, dgst digest.Digest, at time.Time) error {
	return t.execOneSafe(`UPDATE manifests SET last_pulled_at = ? WHERE repo_id = ? AND digest = ?`, unixNano(at), repoID, dgst.String())
}

// --- tags ---

func (t *tx) PutTag(repoID int64, tag store.Tag) error {
	_, err := t.exec(`INSERT INTO tags (repo_id, name, digest, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (repo_id, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`,
		repoID, tag.Name, tag.Digest.String(), unixNano(tag.UpdatedAt))
	return err
}

func (t *tx) GetTag(repoID int64, name string) (store.Tag, error) {
	var (
		tag     store.Tag
		dgst    string
		updated int64
	)
	err := t.queryRow(`SELECT name, digest, updated_at FROM tags WHERE repo_id = ? AND name = ?`, repoID, name).
		Scan(&tag.Name, &dgst, &updated)
	if err != nil {
		return store.Tag{}, mapErr(err)
	}
	tag.Digest = digest.Digest(dgst)
	tag.UpdatedAt = fromUnixNano(updated)
	return tag, nil
}

func (t *tx) DeleteTag(repoID int64, name string) error {
	return t.execOneSafe(`DELETE FROM tags WHERE repo_id = ? AND name = ?`, repoID, name)
}

func (t *tx) ListTags(repoID int64, after string, limit int) ([]store.Tag, error) {
	rows, err := t.query(`SELECT name, digest, updated_at FROM tags WHERE repo_id = ? AND name > ? ORDER BY name LIMIT ?`,
		repoID, after, sqlLimit(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Tag
	for rows.Next() {
		var (
			tag     store.Tag
			dgst    string
			updated int64
		)
		if err := rows.Scan(&tag.Name, &dgst, &updated); err != nil {
			return nil, mapErr(err)
		}
		tag.Digest = digest.Digest(dgst)
		tag.UpdatedAt = fromUnixNano(updated)
		out = append(out, tag)
	}
	return out, mapErr(rows.Err())
}

func (t *tx) TagsOf(repoID int64, dgst digest.Digest) ([]string, error) {
	rows, err := t.query(`SELECT name FROM tags WHERE repo_id = ? AND digest = ? ORDER BY name`, repoID, dgst.String())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, mapErr(err)
		}
		out = append(out, name)
	}
	return out, mapErr(rows.Err())
}

// --- blobs ---

func scanBlob(row interface{ Scan(...any) error }) (store.Blob, error) {
	var (
		b       store.Blob
		dgst    string
		created int64
	)
	if err := row.Scan(&dgst, &b.Size, &created); err != nil {
		return store.Blob{}, mapErr(err)
	}
	b.Digest = digest.Digest(dgst)
	b.CreatedAt = fromUnixNano(created)
	return b, nil
}

func (t *tx) PutBlob(b store.Blob) error {
	_, err := t.execSafe(`INSERT INTO blobs (digest, size, created_at) VALUES (?, ?, ?)
		ON CONFLICT (digest) DO UPDATE SET size = excluded.size, created_at = GREATEST(blobs.created_at, excluded.created_at)`,
		b.Digest.String(), b.Size, unixNano(b.CreatedAt))
	return err
}

func (t *tx) GetBlob(dgst digest.Digest) (store.Blob, error) {
	return scanBlob(t.queryRow(`SELECT digest, size, created_at FROM blobs WHERE digest = ?`, dgst.String()))
}

func (t *tx) ListBlobs(after digest.Digest, limit int) ([]store.Blob, error) {
	rows, err := t.query(`SELECT digest, size, created_at FROM blobs WHERE digest > ? ORDER BY digest LIMIT ?`,
		after.String(), sqlLimit(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Blob
	for rows.Next() {
		b, err := scanBlob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, mapErr(rows.Err())
}

func (t *tx) LinkBlob(repoID int64, dgst digest.Digest, at time.Time) error {
	_, err := t.exec(`INSERT INTO repo_blobs (repo_id, digest, linked_at) VALUES (?, ?, ?)
		ON CONFLICT (repo_id, digest) DO UPDATE SET linked_at = GREATEST(repo_blobs.linked_at, excluded.linked_at)`,
		repoID, dgst.String(), unixNano(at))
	return err
}

func (t *tx) LinkedBlob(repoID int64, dgst digest.Digest) (store.Blob, error) {
	return scanBlob(t.queryRow(`SELECT b.digest, b.size, b.created_at FROM repo_blobs l JOIN blobs b ON b.digest = l.digest
		WHERE l.repo_id = ? AND l.digest = ?`, repoID, dgst.String()))
}

func (t *tx) UnlinkBlob(repoID int64, dgst digest.Digest) error {
	return t.execOneSafe(`DELETE FROM repo_blobs WHERE repo_id = ? AND digest = ?`, repoID, dgst.String())
}

func (t *tx) FindLink(account, region string, dgst digest.Digest) (int64, error) {
	var id int64
	err := t.queryRow(`SELECT l.repo_id FROM repo_blobs l JOIN repositories r ON r.id = l.repo_id
		WHERE l.digest = ? AND r.account = ? AND r.region = ? ORDER BY r.name LIMIT 1`,
		dgst.String(), account, region).Scan(&id)
	return id, mapErr(err)
}

// --- uploads ---

func (t *tx) PutUpload(u store.Upload) error {
	_, err := t.exec(`INSERT INTO uploads (id, repo_id, started_at, updated_at, size, hash_algorithm, hash_state)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET repo_id = excluded.repo_id, started_at = excluded.started_at,
			updated_at = excluded.updated_at, size = excluded.size, hash_algorithm = excluded.hash_algorithm,
			hash_state = excluded.hash_state`,
		u.ID, u.RepoID, unixNano(u.StartedAt), unixNano(u.UpdatedAt), u.Size, u.HashAlgorithm, nullBytes(u.HashState))
	return err
}

func scanUpload(row interface{ Scan(...any) error }) (store.Upload, error) {
	var (
		u                store.Upload
		started, updated int64
	)
	if err := row.Scan(&u.ID, &u.RepoID, &started, &updated, &u.Size, &u.HashAlgorithm, &u.HashState); err != nil {
		return store.Upload{}, mapErr(err)
	}
	u.StartedAt = fromUnixNano(started)
	u.UpdatedAt = fromUnixNano(updated)
	return u, nil
}

const uploadColumns = `id, repo_id, started_at, updated_at, size, hash_algorithm, hash_state`

func (t *tx) GetUpload(id string) (store.Upload, error) {
	return scanUpload(t.queryRow(`SELECT `+uploadColumns+` FROM uploads WHERE id = ?`, id))
}

func (t *tx) DeleteUpload(id string) error {
	return t.execOneSafe(`DELETE FROM uploads WHERE id = ?`, id)
}

// --- garbage collection ---

// collectable is the condition shared by CollectableBlobs and
// DeleteBlobIfCollectable; ?1 is the cutoff.
const collectable = `b.created_at < ?1
	AND NOT EXISTS (SELECT 1 FROM manifest_blobs m WHERE m.digest = b.digest)
	AND NOT EXISTS (SELECT 1 FROM repo_blobs l WHERE l.digest = b.digest AND l.linked_at >= ?1)`

func (t *tx) CollectableBlobs(cutoff time.Time, limit int) ([]store.Blob, error) {
	rows, err := t.query(`SELECT b.digest, b.size, b.created_at FROM blobs b WHERE `+collectable+` ORDER BY b.digest LIMIT ?2`,
		unixNano(cutoff), sqlLimit(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Blob
	for rows.Next() {
		b, err := scanBlob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, mapErr(rows.Err())
}

func (t *tx) DeleteBlobIfCollectable(dgst digest.Digest, cutoff time.Time) (bool, error) {
	res, err := t.exec(`DELETE FROM blobs AS b WHERE b.digest = ?2 AND `+collectable, unixNano(cutoff), dgst.String())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func (t *tx) StaleUploads(cutoff time.Time, limit int) ([]store.Upload, error) {
	rows, err := t.query(`SELECT `+uploadColumns+` FROM uploads WHERE updated_at < ? ORDER BY updated_at LIMIT ?`,
		unixNano(cutoff), sqlLimit(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Upload
	for rows.Next() {
		u, err := scanUpload(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, mapErr(rows.Err())
}

// --- resources ---

func scanResource(row interface{ Scan(...any) error }) (store.Resource, error) {
	var (
		r       store.Resource
		doc     []byte
		updated int64
	)
	if err := row.Scan(&r.Kind, &r.Account, &r.Region, &r.ID, &doc, &updated); err != nil {
		return store.Resource{}, mapErr(err)
	}
	r.Doc = json.RawMessage(doc)
	r.UpdatedAt = fromUnixNano(updated)
	return r, nil
}

const resourceColumns = `kind, account, region, id, doc, updated_at`

func (t *tx) GetResource(kind, account, region, id string) (store.Resource, error) {
	return scanResource(t.queryRow(`SELECT `+resourceColumns+` FROM resources WHERE kind = ? AND account = ? AND region = ? AND id = ?`,
		kind, account, region, id))
}

func (t *tx) PutResource(r store.Resource) error {
	if !json.Valid(r.Doc) {
		return fmt.Errorf("postgres: resource %s/%s: document is not valid JSON", r.Kind, r.ID)
	}
	_, err := t.execSafe(`INSERT INTO resources (kind, account, region, id, doc, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind, account, region, id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`,
		r.Kind, r.Account, r.Region, r.ID, []byte(r.Doc), unixNano(r.UpdatedAt))
	return err
}

func (t *tx) DeleteResource(kind, account, region, id string) error {
	return t.execOneSafe(`DELETE FROM resources WHERE kind = ? AND account = ? AND region = ? AND id = ?`, kind, account, region, id)
}

func (t *tx) ListResources(kind, account, region, prefix string, page store.Page) ([]store.Resource, error) {
	rows, err := t.query(`SELECT `+resourceColumns+` FROM resources
		WHERE kind = ? AND account = ? AND region = ? AND id > ? AND starts_with(id, ?)
		ORDER BY id LIMIT ?`,
		kind, account, region, page.After, prefix, sqlLimit(page.Limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Resource
	for rows.Next() {
		r, err := scanResource(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, mapErr(rows.Err())
}
