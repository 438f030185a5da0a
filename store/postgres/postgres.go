// Package postgres is the state backend for a PostgreSQL server
// (github.com/jackc/pgx through database/sql), for state that outlives one
// machine. It keeps the tables and semantics of store/sqlite and shares its
// transaction code (store/sqlstore, in this package's dialect); the two
// pass the same suite (store/storetest).
//
// Update runs SERIALIZABLE, so a transaction behaves as if it ran alone,
// as under SQLite's single writer, and is retried when PostgreSQL reports
// a serialization failure or a deadlock. View runs REPEATABLE READ READ
// ONLY: one snapshot for the whole function, never blocked and never
// failed by writers. (SERIALIZABLE READ ONLY DEFERRABLE would also rule out
// the read-only anomaly of snapshot isolation, at the price of waiting for
// a safe snapshot behind running writers; Berth's reads tolerate seeing a
// committed state that is not yet the one every later writer will build
// on, as they do under SQLite's WAL readers.)
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/berth-dev/berth/store"
)

// maxAttempts bounds Update's retries on serialization failures and
// deadlocks. SERIALIZABLE's predicate locks are page-grained, so writers
// of neighbouring rows of a small table abort each other now and then
// even when they touch different records: under load a transaction may
// need several attempts, and the back-off (capped at maxBackoff) spreads
// them out.
const (
	maxAttempts = 30
	maxBackoff  = 200 * time.Millisecond
)

// PostgreSQL error codes the store maps.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

// Store is a store.Store kept in a PostgreSQL database (in the schema the
// connection's search_path selects).
type Store struct {
	db      *sql.DB
	retries atomic.Uint64
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (postgres://user:pass@host/db?...)
// and applies pending schema migrations.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx's message quotes the URL, password included.
		return nil, errors.New("postgres: invalid database URL")
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %w", redact(cfg), err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: migrate %s: %w", redact(cfg), err)
	}
	return &Store{db: db}, nil
}

func redact(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// DB is the connection pool, for tests and tools that inspect the tables.
func (s *Store) DB() *sql.DB { return s.db }

// Retries is how many times Update ran a function again after a
// serialization failure or deadlock.
func (s *Store) Retries() uint64 { return s.retries.Load() }

// Close closes the connection pool.
func (s *Store) Close() error { return s.db.Close() }

// Update runs fn in a SERIALIZABLE transaction, running it again when
// PostgreSQL aborts it for a serialization failure or a deadlock.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	var err error
	for attempt := range maxAttempts {
		var retry bool
		retry, err = dialect.Run(ctx, s.db, &sql.TxOptions{Isolation: sql.LevelSerializable}, fn)
		if !retry {
			return err
		}
		s.retries.Add(1)
		// Back off with jitter so the transactions that collided do not
		// collide again.
		wait := time.Millisecond + rand.N(min(2*time.Millisecond<<min(attempt, 10), maxBackoff))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	return err
}

// View runs fn in a read-only REPEATABLE READ transaction: one snapshot.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	_, err := dialect.Run(ctx, s.db, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}, fn)
	return err
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func isRetryable(err error) bool {
	switch pgCode(err) {
	case codeSerializationFailure, codeDeadlockDetected:
		return true
	}
	return false
}

func isForeignKey(err error) bool {
	return pgCode(err) == codeForeignKeyViolation
}

func isUnique(err error) bool {
	return pgCode(err) == codeUniqueViolation
}
