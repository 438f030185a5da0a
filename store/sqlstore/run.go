package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/berth-dev/berth/store"
)

// Run runs fn in one transaction begun on db with opts (nil: the
// driver's default write transaction), committing when fn succeeds and
// rolling a read-only one back. retry reports that the transaction hit an
// error Dialect.IsRetryable accepts, whatever fn made of that error; the
// backend's runner decides whether and when to run fn again.
func (d *Dialect) Run(ctx context.Context, db *sql.DB, opts *sql.TxOptions, fn func(store.Tx) error) (retry bool, err error) {
	sqlTx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return d.retryable(err), d.MapErr(err)
	}
	readOnly := opts != nil && opts.ReadOnly
	t := NewTx(ctx, sqlTx, d, !readOnly)
	if err := fn(t); err != nil {
		_ = sqlTx.Rollback()
		return t.retry || d.retryable(err), err
	}
	if readOnly {
		return false, d.MapErr(sqlTx.Rollback())
	}
	err = sqlTx.Commit()
	return d.retryable(err), d.MapErr(err)
}

func (d *Dialect) retryable(err error) bool {
	return err != nil && d.IsRetryable != nil && d.IsRetryable(err)
}

// MapErr turns driver errors into the store's typed errors, keeping the
// driver's message for people.
func (d *Dialect) MapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if d.IsUnique(err) {
		return fmt.Errorf("%w: %v", store.ErrConflict, err)
	}
	if d.IsForeignKey(err) {
		return fmt.Errorf("%w: %v", store.ErrNotFound, err)
	}
	return err
}

// Migrate applies the migrations db has not applied yet, in order, in one
// transaction, recording each in schema_migrations.
func (d *Dialect) Migrate(ctx context.Context, db *sql.DB, migrations []string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if d.Queries.MigrationLock != "" {
		if _, err := tx.ExecContext(ctx, d.Queries.MigrationLock); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, d.Queries.MigrationsTable); err != nil {
		return err
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return err
	}
	if current > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this binary knows (%d)", current, len(migrations))
	}
	insert := `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`
	if d.Rebind != nil {
		insert = d.Rebind(insert)
	}
	for i := current; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, insert, i+1, time.Now().UnixNano()); err != nil {
			return err
		}
	}
	return tx.Commit()
}
