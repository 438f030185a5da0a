package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/store/sqlite"
	"github.com/berth-dev/berth/store/storetest"
)

func TestSuite(t *testing.T) {
	storetest.Run(t, func() store.Store {
		s, err := sqlite.OpenDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// A new database is built aside and linked into place: what is left is
// berth.db in WAL mode (and SQLite's own -wal/-shm), no temporary file.
func TestFreshDatabaseIsWALAndComplete(t *testing.T) {
	dir := t.TempDir()
	s, err := sqlite.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch e.Name() {
		case sqlite.FileName, sqlite.FileName + "-wal", sqlite.FileName + "-shm":
		default:
			t.Errorf("stray file %s", e.Name())
		}
	}
	hdr := make([]byte, 20)
	f, err := os.Open(filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.ReadAt(hdr, 0); err != nil {
		t.Fatal(err)
	}
	// Bytes 18 and 19 are the file format's write and read versions: 2 is WAL.
	if hdr[18] != 2 || hdr[19] != 2 {
		t.Fatalf("not in WAL mode: header versions %d %d", hdr[18], hdr[19])
	}
	r := store.Repository{Account: "1", Region: "r", Name: "fresh", CreatedAt: time.Now(), TagMutability: "MUTABLE"}
	if err := s.Update(context.Background(), func(tx store.Tx) error { return tx.CreateRepository(&r) }); err != nil {
		t.Fatal(err)
	}
}

func TestReopenKeepsStateAndSchema(t *testing.T) {
	dir := t.TempDir()
	s, err := sqlite.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := store.Repository{Account: "1", Region: "r", Name: "app", CreatedAt: time.Now(), TagMutability: "MUTABLE"}
	if err := s.Update(context.Background(), func(tx store.Tx) error { return tx.CreateRepository(&r) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.OpenDir(dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if err := s.View(context.Background(), func(tx store.Tx) error {
		_, err := tx.GetRepository("1", "r", "app")
		return err
	}); err != nil {
		t.Fatalf("repository lost across reopen: %v", err)
	}

	db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var versions, distinct int
	if err := db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&versions, &distinct); err != nil {
		t.Fatal(err)
	}
	var maxVersion int
	if err := db.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&maxVersion); err != nil {
		t.Fatal(err)
	}
	if versions == 0 || versions != distinct || versions != maxVersion {
		t.Fatalf("schema_migrations after two opens: %d rows, %d distinct, max %d; want each migration once", versions, distinct, maxVersion)
	}
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v", mode, err)
	}
}

// Many goroutines writing at once all succeed: the single writer queues
// them and readers keep reading meanwhile.
func TestConcurrentWriters(t *testing.T) {
	s, err := sqlite.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 32 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			r := store.Repository{Account: "1", Region: "r", Name: fmt.Sprintf("repo%02d", i), CreatedAt: time.Now(), TagMutability: "MUTABLE"}
			errs <- s.Update(context.Background(), func(tx store.Tx) error { return tx.CreateRepository(&r) })
		}()
		go func() {
			defer wg.Done()
			errs <- s.View(context.Background(), func(tx store.Tx) error {
				_, err := tx.ListRepositories("1", "r", "", 0)
				return err
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var n int
	_ = s.View(context.Background(), func(tx store.Tx) error {
		rs, err := tx.ListRepositories("1", "r", "", 0)
		n = len(rs)
		return err
	})
	if n != 32 {
		t.Fatalf("%d repositories, want 32", n)
	}
}

// Two processes (here: two Stores on one file) contend for the write lock;
// Update's retries make both succeed.
func TestTwoStoresOnOneFile(t *testing.T) {
	dir := t.TempDir()
	a, err := sqlite.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlite.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		for j, s := range []*sqlite.Store{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := store.Repository{Account: "1", Region: "r", Name: fmt.Sprintf("r%d-%d", j, i), CreatedAt: time.Now(), TagMutability: "MUTABLE"}
				errs <- s.Update(context.Background(), func(tx store.Tx) error { return tx.CreateRepository(&r) })
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenRejectsBadPath(t *testing.T) {
	if _, err := sqlite.Open(""); err == nil {
		t.Fatal("empty path accepted")
	}
	if _, err := sqlite.Open(filepath.Join(t.TempDir(), "x?mode=ro")); err == nil {
		t.Fatal("path with a query accepted")
	}
}
