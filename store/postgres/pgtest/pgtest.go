// Package pgtest gives tests and benchmarks a database of their own on a
// shared PostgreSQL server: a fresh schema, selected through the
// connection URL's search_path, dropped when they are done. Schemas need
// no CREATEDB privilege and runs side by side on one database never see
// each other's tables.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the connection URL of the test database
// (postgres://user:password@host:port/db?sslmode=disable).
const EnvVar = "BERTH_TEST_POSTGRES"

// NewSchema creates an empty schema named <prefix>_<random> in the database
// at base and returns a URL of that database whose search_path is the new
// schema, and a function that drops it with everything in it.
func NewSchema(ctx context.Context, base, prefix string) (schemaURL string, drop func() error, err error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, fmt.Errorf("pgtest: %s is not a postgres:// URL", EnvVar)
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", nil, err
	}
	name := strings.ToLower(prefix) + "_" + hex.EncodeToString(rnd[:])
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, fmt.Errorf("pgtest: connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("pgtest: create schema: %w", err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	drop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{name}.Sanitize()+" CASCADE")
		return err
	}
	return u.String(), drop, nil
}
