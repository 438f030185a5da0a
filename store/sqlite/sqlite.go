// Package sqlite is the embedded state backend: one SQLite file in WAL mode
// (modernc.org/sqlite, pure Go), a single writer connection and a pool of
// readers.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/berth-dev/berth/store"
)

// FileName is the database file Berth keeps in its data directory.
const FileName = "berth.db"

// busyTimeout is how long SQLite itself waits on a lock held by another
// process before Update's own retries take over.
const busyTimeout = 10 * time.Second

// maxAttempts bounds Update's retries on SQLITE_BUSY.
const maxAttempts = 8

// Store is a store.Store kept in one SQLite file.
type Store struct {
	writer *sql.DB
	reader *sql.DB
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and applies pending
// schema migrations.
func Open(path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: invalid database path %q", path)
	}
	if err := create(path); err != nil {
		return nil, fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)", busyTimeout.Milliseconds())
	// synchronous=FULL: the garbage collector deletes a blob file only after
	// the transaction recording the delete committed, which must then
	// survive a power loss too.
	writer, err := sql.Open("sqlite", "file:"+path+"?"+common+
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// SQLite has one writer at a time; a single connection makes writers
	// queue in Go instead of spinning on SQLITE_BUSY.
	writer.SetMaxOpenConns(1)
	writer.SetConnMaxIdleTime(0)
	if err := writer.Ping(); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := migrate(writer); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	reader, err := sql.Open("sqlite", "file:"+path+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	reader.SetMaxOpenConns(max(4, runtime.NumCPU()))
	return &Store{writer: writer, reader: reader}, nil
}

// create makes a new database at path, when there is none, the way blobs
// are made: built in a temporary file without journal or fsyncs (schema
// and WAL mode), fsynced once and linked into place, then the directory
// fsynced. Opening a missing file directly costs about seven fsyncs on the
// first start (a rollback journal for the switch to WAL, its directory,
// then the WAL for the migrations); this costs two, and the database
// appears complete or not at all. link(2), unlike rename, never replaces a
// database another process created meanwhile. A crash can leave a stray
// <path>.init-* file (before the link: with no database, which the next
// start creates again).
func create(path string) error {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil // exists (or unreadable: the normal open reports it)
	}
	tmp := fmt.Sprintf("%s.init-%d-%d", path, os.Getpid(), rand.Uint32())
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			_ = os.Remove(tmp + suffix)
		}
	}()
	db, err := sql.Open("sqlite", "file:"+tmp+"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)")
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1)
	err = migrate(db)
	if err == nil {
		// Switching an unjournaled database to WAL only rewrites its
		// header; closing the last connection leaves no WAL behind.
		_, err = db.Exec(`PRAGMA journal_mode=WAL`)
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return err
	}
	if err := os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		return nil // another process created it first: use theirs
	} else if err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// OpenDir opens <dir>/berth.db.
func OpenDir(dir string) (*Store, error) {
	return Open(filepath.Join(dir, FileName))
}

// Close closes both connection pools.
func (s *Store) Close() error {
	return errors.Join(s.reader.Close(), s.writer.Close())
}

// Update runs fn in a write transaction (BEGIN IMMEDIATE), retrying when
// the database is busy.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	var err error
	for attempt := range maxAttempts {
		_, err = dialect.Run(ctx, s.writer, nil, fn)
		if !isBusy(err) {
			return err
		}
		// Another process holds the write lock beyond busy_timeout; back off
		// with jitter so competing writers do not retry in lock step.
		wait := time.Duration(1+rand.IntN(10<<attempt)) * time.Millisecond
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	return err
}

// View runs fn in a read-only transaction.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	_, err := dialect.Run(ctx, s.reader, &sql.TxOptions{ReadOnly: true}, fn)
	return err
}

func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

func isBusy(err error) bool {
	switch sqliteCode(err) & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}

func isForeignKey(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

func isUnique(err error) bool {
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return true
	}
	return false
}
