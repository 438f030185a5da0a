// Command store benchmarks Berth's two state backends, the embedded SQLite
// file and PostgreSQL, through the store interface Berth's services use,
// and writes a Markdown report:
//
//	BERTH_TEST_POSTGRES=postgres://... go run ./bench/store [-quick] [-n 400] [-conc 8] [-out bench/results/store.md]
//
// The workload is what ECR and ECS write and read: CreateRepository, an
// image push (two blob records and their links, the manifest and its tag
// in one transaction, as the registry commits a manifest), ListTags, ECS
// task record writes (a read-modify-write of the task per transition,
// PENDING, RUNNING, STOPPED, as the agent reports) and ListTasks'
// listing. Each step runs -n operations, by one client and then by -conc
// clients at once, on a fresh store of each backend (a temporary SQLite
// file; a fresh schema of the PostgreSQL database, dropped afterwards).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/bench/internal/benchenv"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/store/postgres"
	"github.com/berth-dev/berth/store/postgres/pgtest"
	"github.com/berth-dev/berth/store/sqlite"
)

type options struct {
	quick    bool
	out      string
	n        int
	conc     int
	postgres string
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 400, "operations per step")
	flag.IntVar(&o.conc, "conc", 8, "clients of the concurrent run")
	flag.StringVar(&o.postgres, "postgres", os.Getenv(pgtest.EnvVar), "PostgreSQL URL (env "+pgtest.EnvVar+"); the bench works in a fresh schema of it")
	benchenv.Main("store", &o.quick, &o.out, func(stdout io.Writer) error { return run(o, stdout) })
}

// step is one measured operation of the workload; op runs operation i
// (0 <= i < n) against a store prepared by the steps before it.
type step struct {
	name string
	op   func(ctx context.Context, s store.Store, i int) error
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func repoName(i int) string { return fmt.Sprintf("team-%d/app", i) }

func steps(n int) []step {
	return []step{
		{"CreateRepository", func(ctx context.Context, s store.Store, i int) error {
			return s.Update(ctx, func(tx store.Tx) error {
				r := store.Repository{Account: "111122223333", Region: "us-east-1", Name: repoName(i), CreatedAt: t0, TagMutability: "MUTABLE"}
				return tx.CreateRepository(&r)
			})
		}},
		{"Push: 2 × PutBlob + LinkBlob, PutManifest, PutTag", func(ctx context.Context, s store.Store, i int) error {
			return s.Update(ctx, func(tx store.Tx) error {
				r, err := tx.GetRepository("111122223333", "us-east-1", repoName(i))
				if err != nil {
					return err
				}
				cfg, layer := digest.FromString(fmt.Sprintf("config %d", i)), digest.FromString(fmt.Sprintf("layer %d", i))
				for _, d := range []digest.Digest{cfg, layer} {
					if err := tx.PutBlob(store.Blob{Digest: d, Size: 1 << 20, CreatedAt: t0}); err != nil {
						return err
					}
					if err := tx.LinkBlob(r.ID, d, t0); err != nil {
						return err
					}
				}
				body := []byte(fmt.Sprintf(`{"schemaVersion":2,"config":{"digest":%q},"layers":[{"digest":%q}]}`, cfg, layer))
				m := store.Manifest{RepoID: r.ID, Digest: digest.FromBytes(body), MediaType: "application/vnd.oci.image.manifest.v1+json",
					Size: 2 << 20, Body: body, BodySize: int64(len(body)), PushedAt: t0}
				if err := tx.PutManifest(m, store.ManifestRefs{Blobs: []digest.Digest{cfg, layer}}); err != nil {
					return err
				}
				return tx.PutTag(r.ID, store.Tag{Name: "v1", Digest: m.Digest, UpdatedAt: t0})
			})
		}},
		{"ListTags (View)", func(ctx context.Context, s store.Store, i int) error {
			return s.View(ctx, func(tx store.Tx) error {
				r, err := tx.GetRepository("111122223333", "us-east-1", repoName(i))
				if err != nil {
					return err
				}
				tags, err := tx.ListTags(r.ID, "", 100)
				if err == nil && len(tags) != 1 {
					err = fmt.Errorf("%d tags", len(tags))
				}
				return err
			})
		}},
		{"ECS task writes: PENDING, RUNNING, STOPPED (3 Updates)", func(ctx context.Context, s store.Store, i int) error {
			id := fmt.Sprintf("%032x", i)
			for _, status := range []string{"PENDING", "RUNNING", "STOPPED"} {
				err := s.Update(ctx, func(tx store.Tx) error {
					t, err := tx.GetECSTask("111122223333", "us-east-1", "bench", id)
					if errors.Is(err, store.ErrNotFound) {
						t = store.ECSTask{Account: "111122223333", Region: "us-east-1", Cluster: "bench", ID: id,
							Family: "web", Group: "service:web", LaunchType: "EC2", Instance: fmt.Sprintf("i-%d", i%4)}
					} else if err != nil {
						return err
					}
					desired := "RUNNING"
					if status == "STOPPED" && i%3 == 0 {
						desired = "STOPPED"
					}
					doc, err := json.Marshal(map[string]any{"taskArn": id, "lastStatus": status, "desiredStatus": desired,
						"containers": []map[string]any{{"name": "web", "lastStatus": status}}})
					if err != nil {
						return err
					}
					t.DesiredStatus, t.Doc, t.UpdatedAt = desired, doc, t0
					return tx.PutECSTask(t)
				})
				if err != nil {
					return err
				}
			}
			return nil
		}},
		{"ListTasks: RUNNING tasks of an instance (View)", func(ctx context.Context, s store.Store, i int) error {
			return s.View(ctx, func(tx store.Tx) error {
				ts, err := tx.ListECSTasks("111122223333", "us-east-1", "bench",
					store.ECSTaskFilter{DesiredStatus: "RUNNING", Instance: fmt.Sprintf("i-%d", i%4)}, store.Page{Limit: 100}, false)
				if err == nil && len(ts) == 0 {
					err = errors.New("no tasks")
				}
				return err
			})
		}},
	}
}

// measure runs op n times with conc clients and returns operations per
// second.
func measure(ctx context.Context, s store.Store, st step, n, conc int) (float64, error) {
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		mu      sync.Mutex
		firstEr error
	)
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := st.op(ctx, s, i); err != nil {
					mu.Lock()
					if firstEr == nil {
						firstEr = fmt.Errorf("%s #%d: %w", st.name, i, err)
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds(), firstEr
}

type backend struct {
	name string
	open func(ctx context.Context) (store.Store, func(), error)
}

func run(o options, stdout io.Writer) error {
	if o.quick {
		o.n, o.conc = 20, 4
	}
	if o.postgres == "" {
		return fmt.Errorf("no PostgreSQL: set %s or -postgres to a postgres:// URL", pgtest.EnvVar)
	}
	ctx := context.Background()
	var pgVersion string
	backends := []backend{
		{"SQLite", func(ctx context.Context) (store.Store, func(), error) {
			dir, err := os.MkdirTemp("", "bench-store-")
			if err != nil {
				return nil, nil, err
			}
			s, err := sqlite.OpenDir(dir)
			if err != nil {
				os.RemoveAll(dir)
				return nil, nil, err
			}
			return s, func() { s.Close(); os.RemoveAll(dir) }, nil
		}},
		{"PostgreSQL", func(ctx context.Context) (store.Store, func(), error) {
			u, drop, err := pgtest.NewSchema(ctx, o.postgres, "bench")
			if err != nil {
				return nil, nil, err
			}
			s, err := postgres.Open(ctx, u)
			if err != nil {
				drop()
				return nil, nil, err
			}
			if pgVersion == "" {
				_ = s.DB().QueryRowContext(ctx, `SHOW server_version`).Scan(&pgVersion)
			}
			return s, func() { s.Close(); drop() }, nil
		}},
	}
	machine := benchenv.Machine()
	concs := []int{1, o.conc}
	// results[conc][step][backend] = ops/s; retries[conc][step] =
	// PostgreSQL's serialization failures retried.
	results := map[int][][]float64{}
	retries := map[int][]uint64{}
	for _, conc := range concs {
		results[conc] = make([][]float64, len(steps(o.n)))
		retries[conc] = make([]uint64, len(steps(o.n)))
		for bi, b := range backends {
			s, closeFn, err := b.open(ctx)
			if err != nil {
				return fmt.Errorf("%s: %w", b.name, err)
			}
			for si, st := range steps(o.n) {
				pg, _ := s.(*postgres.Store)
				var before uint64
				if pg != nil {
					before = pg.Retries()
				}
				ops, err := measure(ctx, s, st, o.n, conc)
				if pg != nil {
					retries[conc][si] = pg.Retries() - before
				}
				if err != nil {
					closeFn()
					return fmt.Errorf("%s, %d clients: %w", b.name, conc, err)
				}
				if results[conc][si] == nil {
					results[conc][si] = make([]float64, len(backends))
				}
				results[conc][si][bi] = ops
				fmt.Fprintf(stdout, "%-10s %2d clients  %-55s %8.0f ops/s\n", b.name, conc, st.name, ops)
			}
			closeFn()
		}
	}

	var r strings.Builder
	fmt.Fprintf(&r, "# State store benchmark: SQLite and PostgreSQL\n\nGenerated by `go run ./bench/store` on %s. %s PostgreSQL %s on the same machine, over TCP on 127.0.0.1 (the Debian package's defaults: synchronous_commit on, fsync on). "+
		"Other work on the machine skews these numbers.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), machine, pgVersion)
	fmt.Fprintf(&r, "The workload goes through the store interface Berth's services use (store.Store), on a fresh store of each backend: the embedded SQLite file (WAL, synchronous=FULL, one writer connection) "+
		"and PostgreSQL (Update SERIALIZABLE, View REPEATABLE READ READ ONLY, a write statement that a constraint can fail under a savepoint). "+
		"Each row is %d operations; an operation is one transaction unless the row says otherwise. Ratio = PostgreSQL / SQLite ops/s (higher is better for PostgreSQL). "+
		"PostgreSQL retries: transactions PostgreSQL aborted as serialization failures or deadlocks and Update ran again.\n", o.n)
	for _, conc := range concs {
		clients := "One client"
		if conc > 1 {
			clients = fmt.Sprintf("%d clients at once", conc)
		}
		fmt.Fprintf(&r, "\n## %s\n\n| Operation | SQLite ops/s | PostgreSQL ops/s | Ratio | PostgreSQL retries |\n|---|--:|--:|--:|--:|\n", clients)
		for si, st := range steps(o.n) {
			v := results[conc][si]
			fmt.Fprintf(&r, "| %s | %.0f | %.0f | **%.2f×** | %d |\n", st.name, v[0], v[1], v[1]/v[0], retries[conc][si])
		}
	}
	r.WriteString("\nSQLite commits in-process with one fsync per write transaction; a PostgreSQL transaction is several round trips " +
		"(BEGIN, each statement, savepoints, COMMIT) to another process and a WAL flush at commit. " +
		"Several clients let PostgreSQL run writers side by side and group their commits, where SQLite queues them on its one writer.\n")
	return benchenv.WriteReport(o.out, r.String(), stdout)
}
