package server

import (
	"context"
	"time"

	"github.com/berth-dev/berth/config"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/store/postgres"
	"github.com/berth-dev/berth/store/sqlite"
)

// openStore opens the state backend cfg selects: PostgreSQL when a
// database URL is set, else the SQLite file in the data directory.
func openStore(cfg config.Config) (store.Store, error) {
	if cfg.Database == "" {
		return sqlite.OpenDir(cfg.DataDir)
	}
	// A server that is down or unreachable fails the start rather than
	// hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return postgres.Open(ctx, cfg.Database)
}
