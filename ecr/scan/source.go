package scan

import (
	"sync"
)

// Source is a vulnerability database that follows its files: Refresh
// reloads it when they change (an update dropped into the directory, a new
// zip), so continuous scanning can match stored inventories again.
type Source struct {
	paths []string

	mu sync.RWMutex
	db *DB
	// loadMu makes loads one at a time.
	loadMu sync.Mutex
}

// NewSource returns a Source over paths (see Paths); nothing is loaded
// until the first Refresh.
func NewSource(paths []string) *Source {
	return &Source{paths: paths}
}

// Paths returns the paths the source loads from.
func (s *Source) Paths() []string { return s.paths }

// DB returns the loaded database; nil before the first successful load.
func (s *Source) DB() *DB {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.db
}

// Refresh loads the database if it was never loaded or its files changed
// since; changed reports a new database. On error the previous database
// stays in use.
func (s *Source) Refresh() (db *DB, changed bool, err error) {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	cur := s.DB()
	if cur != nil {
		fp, err := Fingerprint(s.paths)
		if err != nil {
			return cur, false, err
		}
		if fp == cur.Fingerprint {
			return cur, false, nil
		}
	}
	db, err = LoadDB(s.paths)
	if err != nil {
		return cur, false, err
	}
	s.mu.Lock()
	s.db = db
	s.mu.Unlock()
	return db, true, nil
}

// Set installs db as the current database (for tests and benchmarks).
func (s *Source) Set(db *DB) {
	s.mu.Lock()
	s.db = db
	s.mu.Unlock()
}
