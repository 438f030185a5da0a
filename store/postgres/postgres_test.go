package postgres_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/store/postgres"
	"github.com/berth-dev/berth/store/postgres/pgtest"
	"github.com/berth-dev/berth/store/storetest"
)

// open returns a store in a fresh schema of the test database, dropped
// when the test ends.
func open(t *testing.T) *postgres.Store {
	t.Helper()
	base := os.Getenv(pgtest.EnvVar)
	if base == "" {
		t.Skip(pgtest.EnvVar + " is not set: set it to a PostgreSQL URL (postgres://user:password@host:5432/db?sslmode=disable) to run the PostgreSQL store tests")
	}
	ctx := context.Background()
	u, drop, err := pgtest.NewSchema(ctx, base, "storetest")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	s, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSuite(t *testing.T) {
	if os.Getenv(pgtest.EnvVar) == "" {
		t.Skip(pgtest.EnvVar + " is not set: set it to a PostgreSQL URL (postgres://user:password@host:5432/db?sslmode=disable) to run the PostgreSQL store tests")
	}
	storetest.Run(t, func() store.Store { return open(t) })
}

// A statement that fails inside Update (a duplicate name) fails alone, as
// under SQLite: the function handles the error and goes on writing in the
// same transaction.
func TestFailedStatementLeavesTransactionUsable(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	err := s.Update(ctx, func(tx store.Tx) error {
		a := store.Repository{Account: "1", Region: "r", Name: "a", TagMutability: "MUTABLE"}
		if err := tx.CreateRepository(&a); err != nil {
			return err
		}
		dup := a
		if err := tx.CreateRepository(&dup); !errors.Is(err, store.ErrConflict) {
			t.Errorf("duplicate CreateRepository = %v, want ErrConflict", err)
		}
		b := store.Repository{Account: "1", Region: "r", Name: "b", TagMutability: "MUTABLE"}
		return tx.CreateRepository(&b)
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.DB().QueryRow(`SELECT COUNT(*) FROM repositories`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("repositories = %d (%v), want 2", n, err)
	}
}

// Concurrent read-modify-write transactions on one record lose no update:
// Update is SERIALIZABLE and runs a function again after a serialization
// failure.
func TestConcurrentUpdatesRetry(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	put := func(tx store.Tx, n int) error {
		return tx.PutResource(store.Resource{Kind: "k", Account: "1", Region: "r", ID: "counter",
			Doc: []byte(strconv.Itoa(n)), UpdatedAt: time.Unix(0, 1)})
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return put(tx, 0) }); err != nil {
		t.Fatal(err)
	}
	const workers, each = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				errs <- s.Update(ctx, func(tx store.Tx) error {
					r, err := tx.GetResource("k", "1", "r", "counter")
					if err != nil {
						return err
					}
					n, err := strconv.Atoi(string(r.Doc))
					if err != nil {
						return err
					}
					return put(tx, n+1)
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.View(ctx, func(tx store.Tx) error {
		r, err := tx.GetResource("k", "1", "r", "counter")
		if err != nil {
			return err
		}
		if string(r.Doc) != "20" {
			t.Errorf("counter = %s, want 20: updates were lost", r.Doc)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// Berths starting at once on an empty database migrate it once.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	base := os.Getenv(pgtest.EnvVar)
	if base == "" {
		t.Skip(pgtest.EnvVar + " is not set")
	}
	ctx := context.Background()
	u, drop, err := pgtest.NewSchema(ctx, base, "storetest")
	if err != nil {
		t.Fatal(err)
	}
	defer drop()
	var wg sync.WaitGroup
	stores := make([]*postgres.Store, 4)
	errs := make([]error, len(stores))
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = postgres.Open(ctx, u)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	var rows, maxVersion int
	if err := stores[0].DB().QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&rows, &maxVersion); err != nil {
		t.Fatal(err)
	}
	if rows != maxVersion {
		t.Fatalf("schema_migrations has %d rows for version %d: a migration ran twice", rows, maxVersion)
	}
}

// Log messages are kept byte for byte, as SQLite keeps them: container
// output with NUL bytes or invalid UTF-8 is stored, returned and searched.
func TestLogMessagesAreBytes(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	msgs := []string{"plain", "nul\x00inside", "bad \xff\xfe utf-8", `back\slash \x41`}
	var streamID, groupID int64
	err := s.Update(ctx, func(tx store.Tx) error {
		g := store.LogGroup{Account: "1", Region: "r", Name: "g", Class: "STANDARD"}
		if err := tx.CreateLogGroup(&g); err != nil {
			return err
		}
		st := store.LogStream{GroupID: g.ID, Name: "s"}
		if err := tx.CreateLogStream(&st); err != nil {
			return err
		}
		groupID, streamID = g.ID, st.ID
		var evs []store.LogEvent
		for i, m := range msgs {
			evs = append(evs, store.LogEvent{Timestamp: int64(i + 1), Message: m})
		}
		return tx.PutLogEvents(g.ID, st.ID, 1, evs)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx store.Tx) error {
		all, err := tx.ListLogEvents(store.LogEventQuery{GroupID: groupID, StreamIDs: []int64{streamID}})
		if err != nil {
			return err
		}
		for i, e := range all {
			if e.Message != msgs[i] {
				t.Errorf("event %d = %q, want %q", i, e.Message, msgs[i])
			}
		}
		for _, c := range []string{"\x00", "\xff\xfe", `\x41`} {
			got, err := tx.ListLogEvents(store.LogEventQuery{GroupID: groupID, Contains: []string{c}})
			if err != nil {
				return err
			}
			if len(got) != 1 {
				t.Errorf("events containing %q: %d, want 1", c, len(got))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
