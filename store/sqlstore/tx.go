package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/store"
)

// Tx is a store.Tx over one *sql.Tx, speaking d's dialect.
type Tx struct {
	ctx   context.Context
	tx    *sql.Tx
	d     *Dialect
	write bool
	retry bool // a statement hit a failure after which the transaction cannot commit
}

var _ store.Tx = (*Tx)(nil)

// NewTx wraps sqlTx, begun by the backend's transaction runner; write says
// whether it is a write transaction (where Savepoints apply).
func NewTx(ctx context.Context, sqlTx *sql.Tx, d *Dialect, write bool) *Tx {
	return &Tx{ctx: ctx, tx: sqlTx, d: d, write: write}
}

// Retry reports that a statement hit an error Dialect.IsRetryable accepts,
// after which the transaction cannot commit: the runner runs the function
// again even when the function swallowed the error.
func (t *Tx) Retry() bool { return t.retry }

func (t *Tx) rebind(query string) string {
	if t.d.Rebind == nil {
		return query
	}
	return t.d.Rebind(query)
}

func (t *Tx) exec(query string, args ...any) (sql.Result, error) {
	res, err := t.rawExec(query, args...)
	return res, t.d.MapErr(err)
}

// rawExec runs a write statement. PostgreSQL aborts the whole transaction
// on a failed statement, where SQLite fails only the statement; callers
// handle ErrConflict or ErrNotFound and go on in the same transaction, so
// with Dialect.Savepoints each statement of a write transaction runs
// under a savepoint it is rolled back to on failure.
func (t *Tx) rawExec(query string, args ...any) (sql.Result, error) {
	query = t.rebind(query)
	if !t.write || !t.d.Savepoints {
		res, err := t.tx.ExecContext(t.ctx, query, args...)
		t.noteErr(err)
		return res, err
	}
	var res sql.Result
	err := t.guard(func() error {
		var err error
		res, err = t.tx.ExecContext(t.ctx, query, args...)
		return err
	})
	return res, err
}

// noteErr remembers an error Dialect.IsRetryable accepts (PostgreSQL's
// serialization failures and deadlocks) for Retry.
func (t *Tx) noteErr(err error) {
	if err != nil && t.d.IsRetryable != nil && t.d.IsRetryable(err) {
		t.retry = true
	}
}

// insertID runs an INSERT and returns the new row's id: with
// Dialect.ReturningID as INSERT ... RETURNING id, else from LastInsertId.
func (t *Tx) insertID(query string, args ...any) (int64, error) {
	if !t.d.ReturningID {
		res, err := t.exec(query, args...)
		if err != nil {
			return 0, err
		}
		return res.LastInsertId()
	}
	var id int64
	err := t.guard(func() error {
		return t.tx.QueryRowContext(t.ctx, t.rebind(query+" RETURNING id"), args...).Scan(&id)
	})
	return id, t.d.MapErr(err)
}

// guard runs a statement that returns rows under a savepoint, as rawExec
// does.
func (t *Tx) guard(fn func() error) error {
	if !t.write || !t.d.Savepoints {
		err := fn()
		t.noteErr(err)
		return err
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
func (t *Tx) execSafe(query string, args ...any) (sql.Result, error) {
	res, err := t.tx.ExecContext(t.ctx, t.rebind(query), args...)
	t.noteErr(err)
	return res, t.d.MapErr(err)
}

// execOne runs a statement that must touch exactly one row.
func (t *Tx) execOne(query string, args ...any) error {
	return rowsOne(t.exec(query, args...))
}

// execOneSafe is execOne for a statement execSafe may run.
func (t *Tx) execOneSafe(query string, args ...any) error {
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
// retryable failure among them is noted for Retry.
func (t *Tx) query(query string, args ...any) (*sql.Rows, error) {
	rows, err := t.tx.QueryContext(t.ctx, t.rebind(query), args...)
	t.noteErr(err)
	return rows, t.d.MapErr(err)
}

func (t *Tx) queryRow(query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(t.ctx, t.rebind(query), args...)
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

// limit turns "<= 0 means no limit" into the dialect's Dialect.NoLimit.
func (t *Tx) limit(limit int) any {
	if limit <= 0 {
		return t.d.NoLimit
	}
	return limit
}

// --- repositories ---

const repoColumns = `id, account, region, name, created_at, tag_mutability, mutability_exclusions, settings`

func (t *Tx) scanRepo(row interface{ Scan(...any) error }) (store.Repository, error) {
	var (
		r          store.Repository
		created    int64
		exclusions string
		settings   []byte
	)
	if err := row.Scan(&r.ID, &r.Account, &r.Region, &r.Name, &created, &r.TagMutability, &exclusions, &settings); err != nil {
		return store.Repository{}, t.d.MapErr(err)
	}
	r.CreatedAt = fromUnixNano(created)
	if err := json.Unmarshal([]byte(exclusions), &r.MutabilityExclusions); err != nil {
		return store.Repository{}, fmt.Errorf("%s: repository %d exclusions: %w", t.d.Name, r.ID, err)
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

func (t *Tx) CreateRepository(r *store.Repository) error {
	ex, err := encodeExclusions(r.MutabilityExclusions)
	if err != nil {
		return err
	}
	id, err := t.insertID(`INSERT INTO repositories (account, region, name, created_at, tag_mutability, mutability_exclusions, settings)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		r.Account, r.Region, r.Name, unixNano(r.CreatedAt), r.TagMutability, ex, nullBytes(r.Settings))
	if err != nil {
		return err
	}
	r.ID = id
	return nil
}

func (t *Tx) GetRepository(account, region, name string) (store.Repository, error) {
	return t.scanRepo(t.queryRow(`SELECT `+repoColumns+` FROM repositories WHERE account = ? AND region = ? AND name = ?`,
		account, region, name))
}

func (t *Tx) GetRepositoryByID(id int64) (store.Repository, error) {
	return t.scanRepo(t.queryRow(`SELECT `+repoColumns+` FROM repositories WHERE id = ?`, id))
}

func (t *Tx) ListRepositories(account, region, after string, limit int) ([]store.Repository, error) {
	return listScan(t, t.scanRepo, `SELECT `+repoColumns+` FROM repositories
		WHERE account = ? AND region = ? AND name > ? ORDER BY name LIMIT ?`,
		account, region, after, t.limit(limit))
}

func (t *Tx) UpdateRepository(r store.Repository) error {
	ex, err := encodeExclusions(r.MutabilityExclusions)
	if err != nil {
		return err
	}
	return t.execOneSafe(`UPDATE repositories SET tag_mutability = ?, mutability_exclusions = ?, settings = ? WHERE id = ?`,
		r.TagMutability, ex, nullBytes(r.Settings), r.ID)
}

func (t *Tx) DeleteRepository(id int64) error {
	if t.d.DropChildrenFirst {
		if _, err := t.exec(`DELETE FROM manifest_children WHERE repo_id = ?`, id); err != nil {
			return err
		}
	}
	return t.execOne(`DELETE FROM repositories WHERE id = ?`, id)
}

// --- manifests ---

const manifestColumns = `repo_id, digest, media_type, artifact_type, subject, annotations, size, body_size, pushed_at, last_pulled_at`

func (t *Tx) scanManifest(row interface{ Scan(...any) error }, withBody bool) (store.Manifest, error) {
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
		return store.Manifest{}, t.d.MapErr(err)
	}
	m.Digest = digest.Digest(dgst)
	m.Subject = digest.Digest(subject)
	m.PushedAt = fromUnixNano(pushed)
	m.LastPulledAt = fromUnixNano(lastPull)
	if annotations.Valid && annotations.String != "" {
		if err := json.Unmarshal([]byte(annotations.String), &m.Annotations); err != nil {
			return store.Manifest{}, fmt.Errorf("%s: manifest %s annotations: %w", t.d.Name, dgst, err)
		}
	}
	return m, nil
}

func (t *Tx) PutManifest(m store.Manifest, refs store.ManifestRefs) error {
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
		if _, err := t.exec(t.d.Queries.InsertManifestBlob,
			m.RepoID, m.Digest.String(), d.String()); err != nil {
			return fmt.Errorf("blob %s: %w", d, err)
		}
	}
	for _, d := range refs.Manifests {
		if _, err := t.exec(t.d.Queries.InsertManifestChild,
			m.RepoID, m.Digest.String(), d.String()); err != nil {
			return fmt.Errorf("manifest %s: %w", d, err)
		}
	}
	return nil
}

func (t *Tx) GetManifest(repoID int64, dgst digest.Digest) (store.Manifest, error) {
	return t.scanManifest(t.queryRow(`SELECT `+manifestColumns+`, body FROM manifests WHERE repo_id = ? AND digest = ?`,
		repoID, dgst.String()), true)
}

func (t *Tx) listManifests(query string, args ...any) ([]store.Manifest, error) {
	return listScan(t, func(row scanner) (store.Manifest, error) { return t.scanManifest(row, false) }, query, args...)
}

func (t *Tx) ListManifests(repoID int64) ([]store.Manifest, error) {
	return t.listManifests(t.d.q.listManifests, repoID)
}

func (t *Tx) CountManifests(repoID int64) (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM manifests WHERE repo_id = ?`, repoID).Scan(&n)
	return n, t.d.MapErr(err)
}

func (t *Tx) DeleteManifest(repoID int64, dgst digest.Digest) error {
	res, err := t.rawExec(`DELETE FROM manifests WHERE repo_id = ? AND digest = ?`, repoID, dgst.String())
	if t.d.IsForeignKey(err) {
		// An index still lists it as a child.
		return fmt.Errorf("%w: manifest %s is referenced by an index", store.ErrConflict, dgst)
	}
	if err != nil {
		return t.d.MapErr(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (t *Tx) digests(query string, args ...any) ([]digest.Digest, error) {
	return listOf(t, t.scanDigest, query, args...)
}

func (t *Tx) scanDigest(row *sql.Rows) (digest.Digest, error) {
	var d string
	if err := row.Scan(&d); err != nil {
		return "", t.d.MapErr(err)
	}
	return digest.Digest(d), nil
}

func (t *Tx) ManifestParents(repoID int64, dgst digest.Digest) ([]digest.Digest, error) {
	return t.digests(`SELECT manifest FROM manifest_children WHERE repo_id = ? AND child = ? ORDER BY manifest`, repoID, dgst.String())
}

func (t *Tx) ManifestsReferencingBlob(repoID int64, dgst digest.Digest) ([]digest.Digest, error) {
	return t.digests(`SELECT manifest FROM manifest_blobs WHERE digest = ? AND repo_id = ? ORDER BY manifest`, dgst.String(), repoID)
}

func (t *Tx) Referrers(repoID int64, subject digest.Digest) ([]store.Manifest, error) {
	return t.listManifests(t.d.q.manifestsBySubject,
		repoID, subject.String())
}

func (t *Tx) SetLastPulled(repoID int64, dgst digest.Digest, at time.Time) error {
	return t.execOneSafe(`UPDATE manifests SET last_pulled_at = ? WHERE repo_id = ? AND digest = ?`, unixNano(at), repoID, dgst.String())
}

// --- tags ---

func (t *Tx) PutTag(repoID int64, tag store.Tag) error {
	_, err := t.exec(`INSERT INTO tags (repo_id, name, digest, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (repo_id, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`,
		repoID, tag.Name, tag.Digest.String(), unixNano(tag.UpdatedAt))
	return err
}

func (t *Tx) GetTag(repoID int64, name string) (store.Tag, error) {
	var (
		tag     store.Tag
		dgst    string
		updated int64
	)
	err := t.queryRow(`SELECT name, digest, updated_at FROM tags WHERE repo_id = ? AND name = ?`, repoID, name).
		Scan(&tag.Name, &dgst, &updated)
	if err != nil {
		return store.Tag{}, t.d.MapErr(err)
	}
	tag.Digest = digest.Digest(dgst)
	tag.UpdatedAt = fromUnixNano(updated)
	return tag, nil
}

func (t *Tx) DeleteTag(repoID int64, name string) error {
	return t.execOneSafe(`DELETE FROM tags WHERE repo_id = ? AND name = ?`, repoID, name)
}

func (t *Tx) ListTags(repoID int64, after string, limit int) ([]store.Tag, error) {
	return listOf(t, t.scanTag, `SELECT name, digest, updated_at FROM tags WHERE repo_id = ? AND name > ? ORDER BY name LIMIT ?`,
		repoID, after, t.limit(limit))
}

func (t *Tx) scanTag(row *sql.Rows) (store.Tag, error) {
	var (
		tag     store.Tag
		dgst    string
		updated int64
	)
	if err := row.Scan(&tag.Name, &dgst, &updated); err != nil {
		return store.Tag{}, t.d.MapErr(err)
	}
	tag.Digest = digest.Digest(dgst)
	tag.UpdatedAt = fromUnixNano(updated)
	return tag, nil
}

func (t *Tx) TagsOf(repoID int64, dgst digest.Digest) ([]string, error) {
	return listOf(t, t.scanString, `SELECT name FROM tags WHERE repo_id = ? AND digest = ? ORDER BY name`, repoID, dgst.String())
}

func (t *Tx) scanString(row *sql.Rows) (string, error) {
	var s string
	if err := row.Scan(&s); err != nil {
		return "", t.d.MapErr(err)
	}
	return s, nil
}

// --- blobs ---

func (t *Tx) scanBlob(row interface{ Scan(...any) error }) (store.Blob, error) {
	var (
		b       store.Blob
		dgst    string
		created int64
	)
	if err := row.Scan(&dgst, &b.Size, &created); err != nil {
		return store.Blob{}, t.d.MapErr(err)
	}
	b.Digest = digest.Digest(dgst)
	b.CreatedAt = fromUnixNano(created)
	return b, nil
}

func (t *Tx) PutBlob(b store.Blob) error {
	_, err := t.execSafe(t.d.Queries.PutBlob,
		b.Digest.String(), b.Size, unixNano(b.CreatedAt))
	return err
}

func (t *Tx) GetBlob(dgst digest.Digest) (store.Blob, error) {
	return t.scanBlob(t.queryRow(`SELECT digest, size, created_at FROM blobs WHERE digest = ?`, dgst.String()))
}

func (t *Tx) ListBlobs(after digest.Digest, limit int) ([]store.Blob, error) {
	return listScan(t, t.scanBlob, `SELECT digest, size, created_at FROM blobs WHERE digest > ? ORDER BY digest LIMIT ?`,
		after.String(), t.limit(limit))
}

func (t *Tx) LinkBlob(repoID int64, dgst digest.Digest, at time.Time) error {
	_, err := t.exec(t.d.Queries.LinkBlob,
		repoID, dgst.String(), unixNano(at))
	return err
}

func (t *Tx) LinkedBlob(repoID int64, dgst digest.Digest) (store.Blob, error) {
	return t.scanBlob(t.queryRow(`SELECT b.digest, b.size, b.created_at FROM repo_blobs l JOIN blobs b ON b.digest = l.digest
		WHERE l.repo_id = ? AND l.digest = ?`, repoID, dgst.String()))
}

func (t *Tx) UnlinkBlob(repoID int64, dgst digest.Digest) error {
	return t.execOneSafe(`DELETE FROM repo_blobs WHERE repo_id = ? AND digest = ?`, repoID, dgst.String())
}

func (t *Tx) FindLink(account, region string, dgst digest.Digest) (int64, error) {
	var id int64
	err := t.queryRow(`SELECT l.repo_id FROM repo_blobs l JOIN repositories r ON r.id = l.repo_id
		WHERE l.digest = ? AND r.account = ? AND r.region = ? ORDER BY r.name LIMIT 1`,
		dgst.String(), account, region).Scan(&id)
	return id, t.d.MapErr(err)
}

// --- uploads ---

func (t *Tx) PutUpload(u store.Upload) error {
	_, err := t.exec(t.d.Queries.PutUpload,
		u.ID, u.RepoID, unixNano(u.StartedAt), unixNano(u.UpdatedAt), u.Size, u.HashAlgorithm, nullBytes(u.HashState))
	return err
}

func (t *Tx) scanUpload(row interface{ Scan(...any) error }) (store.Upload, error) {
	var (
		u                store.Upload
		started, updated int64
	)
	if err := row.Scan(&u.ID, &u.RepoID, &started, &updated, &u.Size, &u.HashAlgorithm, &u.HashState); err != nil {
		return store.Upload{}, t.d.MapErr(err)
	}
	u.StartedAt = fromUnixNano(started)
	u.UpdatedAt = fromUnixNano(updated)
	return u, nil
}

const uploadColumns = `id, repo_id, started_at, updated_at, size, hash_algorithm, hash_state`

func (t *Tx) GetUpload(id string) (store.Upload, error) {
	return t.scanUpload(t.queryRow(`SELECT `+uploadColumns+` FROM uploads WHERE id = ?`, id))
}

func (t *Tx) DeleteUpload(id string) error {
	return t.execOneSafe(`DELETE FROM uploads WHERE id = ?`, id)
}

// --- garbage collection ---

// collectable is the condition shared by CollectableBlobs and
// DeleteBlobIfCollectable; ?1 is the cutoff.
const collectable = `b.created_at < ?1
	AND NOT EXISTS (SELECT 1 FROM manifest_blobs m WHERE m.digest = b.digest)
	AND NOT EXISTS (SELECT 1 FROM repo_blobs l WHERE l.digest = b.digest AND l.linked_at >= ?1)`

func (t *Tx) CollectableBlobs(cutoff time.Time, limit int) ([]store.Blob, error) {
	return listScan(t, t.scanBlob, `SELECT b.digest, b.size, b.created_at FROM blobs b WHERE `+collectable+` ORDER BY b.digest LIMIT ?2`,
		unixNano(cutoff), t.limit(limit))
}

func (t *Tx) DeleteBlobIfCollectable(dgst digest.Digest, cutoff time.Time) (bool, error) {
	res, err := t.exec(`DELETE FROM blobs AS b WHERE b.digest = ?2 AND `+collectable, unixNano(cutoff), dgst.String())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func (t *Tx) StaleUploads(cutoff time.Time, limit int) ([]store.Upload, error) {
	return listScan(t, t.scanUpload, `SELECT `+uploadColumns+` FROM uploads WHERE updated_at < ? ORDER BY updated_at LIMIT ?`,
		unixNano(cutoff), t.limit(limit))
}

// --- resources ---

func (t *Tx) scanResource(row interface{ Scan(...any) error }) (store.Resource, error) {
	var (
		r       store.Resource
		doc     []byte
		updated int64
	)
	if err := row.Scan(&r.Kind, &r.Account, &r.Region, &r.ID, &doc, &updated); err != nil {
		return store.Resource{}, t.d.MapErr(err)
	}
	r.Doc = json.RawMessage(doc)
	r.UpdatedAt = fromUnixNano(updated)
	return r, nil
}

const resourceColumns = `kind, account, region, id, doc, updated_at`

func (t *Tx) GetResource(kind, account, region, id string) (store.Resource, error) {
	return t.scanResource(t.queryRow(`SELECT `+resourceColumns+` FROM resources WHERE kind = ? AND account = ? AND region = ? AND id = ?`,
		kind, account, region, id))
}

func (t *Tx) PutResource(r store.Resource) error {
	if !json.Valid(r.Doc) {
		return fmt.Errorf("%s: resource %s/%s: document is not valid JSON", t.d.Name, r.Kind, r.ID)
	}
	_, err := t.execSafe(t.d.Queries.PutResource,
		r.Kind, r.Account, r.Region, r.ID, []byte(r.Doc), unixNano(r.UpdatedAt))
	return err
}

func (t *Tx) DeleteResource(kind, account, region, id string) error {
	return t.execOneSafe(`DELETE FROM resources WHERE kind = ? AND account = ? AND region = ? AND id = ?`, kind, account, region, id)
}

func (t *Tx) ListResources(kind, account, region, prefix string, page store.Page) ([]store.Resource, error) {
	if t.d.PrefixLen {
		return listScan(t, t.scanResource, t.d.q.listResources,
			kind, account, region, page.After, len([]rune(prefix)), prefix, t.limit(page.Limit))
	}
	return listScan(t, t.scanResource, t.d.q.listResources, kind, account, region, page.After, prefix, t.limit(page.Limit))
}

type scanner = interface{ Scan(...any) error }

// listOf runs a query and scans each of its rows with scan. Scanning
// through *sql.Rows itself rather than an interface keeps Scan's
// arguments off the heap.
func listOf[T any](t *Tx, scan func(*sql.Rows) (T, error), query string, args ...any) ([]T, error) {
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, t.d.MapErr(rows.Err())
}

// listScan is listOf for a scan function that reads single rows
// (*sql.Row) too.
func listScan[T any](t *Tx, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	return listOf(t, func(rows *sql.Rows) (T, error) { return scan(rows) }, query, args...)
}
