// Package registry is the core of Berth's OCI registry: repositories,
// manifests, tags, blobs, upload sessions and garbage collection, as Go
// calls. It knows nothing of HTTP; registry/handlers serves it as the
// distribution API and the ECR service calls it directly.
//
// State (what exists, who links what) lives in the state store, content in
// the blob store. The rules that keep them consistent:
//   - a blob file is written and fsynced before its record is committed;
//   - a blob record is deleted (in a transaction that re-checks nothing
//     references it) before its file is removed;
//   - a manifest is committed in a transaction that checks every blob it
//     references is linked to the repository.
//
// So a committed manifest never points at a missing file, whatever crashes.
package registry

import (
	"context"
	_ "crypto/sha256" // digest algorithms the registry accepts
	_ "crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/registry/blobstore"
	"github.com/berth-dev/berth/store"
)

// Defaults for Options.
const (
	DefaultGCGracePeriod = time.Hour
	DefaultUploadTTL     = 24 * time.Hour
	// MaxManifestSize is ECR's limit on a manifest.
	MaxManifestSize = 4 << 20
)

// pullRecordInterval limits RecordPull to one write per image per minute.
const pullRecordInterval = time.Minute

// Options tunes a Registry. The zero value is usable.
type Options struct {
	// OnPush is called after a manifest commit that created an image or
	// moved a tag, outside any transaction.
	OnPush func(Image)
	// GCInterval runs CollectGarbage in the background this often; zero
	// disables the loop.
	GCInterval time.Duration
	// GCGracePeriod spares blobs uploaded or linked this recently, so that a
	// push in flight (layers up, manifest not yet) keeps its layers. Zero
	// means DefaultGCGracePeriod; negative means no grace at all.
	GCGracePeriod time.Duration
	// UploadTTL is how long an idle upload session lives. Zero means
	// DefaultUploadTTL; negative means sessions expire at once.
	UploadTTL time.Duration
	Logger    *slog.Logger
	// Now replaces time.Now, for tests.
	Now func() time.Time
}

// Repo names a repository: repositories are namespaced by account and
// region.
type Repo struct{ Account, Region, Name string }

func (r Repo) String() string { return r.Name }

// Repository is a repository with its settings.
type Repository struct {
	Repo
	CreatedAt time.Time
	// TagMutability is one of Mutable, Immutable, MutableWithExclusion,
	// ImmutableWithExclusion.
	TagMutability string
	// MutabilityExclusions are tag filters ('*' matches any run) that invert
	// the mutability setting.
	MutabilityExclusions []string
	// Settings is opaque to the registry; the ECR service keeps its
	// policies, tags and scanning configuration there.
	Settings json.RawMessage
}

// Registry is the registry core. It is safe for concurrent use.
type Registry struct {
	st    store.Store
	blobs blobstore.Store
	opts  Options
	log   *slog.Logger
	now   func() time.Time

	uploadsMu sync.Mutex
	uploads   map[string]*uploadState

	// digestLocks serialise, per digest, committing an upload against
	// collecting the blob, so the collector never removes a file an upload
	// just found in place. Striped: contention is by hash collision only.
	digestLocks [64]sync.Mutex
	seed        maphash.Seed

	pullsMu sync.Mutex
	pulls   map[pullKey]time.Time
	// pullWrites tracks RecordPull's background writes, which Close waits
	// for.
	pullWrites sync.WaitGroup

	gcMu     sync.Mutex
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

type pullKey struct {
	repo   Repo
	digest digest.Digest
}

// New returns a registry over a state store and a blob store, and starts
// the garbage collection loop when Options.GCInterval is set.
func New(st store.Store, blobs blobstore.Store, opts Options) *Registry {
	r := &Registry{
		st:      st,
		blobs:   blobs,
		opts:    opts,
		log:     opts.Logger,
		now:     opts.Now,
		uploads: map[string]*uploadState{},
		pulls:   map[pullKey]time.Time{},
		seed:    maphash.MakeSeed(),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if r.log == nil {
		r.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if r.now == nil {
		r.now = time.Now
	}
	if opts.GCInterval > 0 {
		go r.gcLoop(opts.GCInterval)
	} else {
		close(r.done)
	}
	return r
}

// Close stops the garbage collection loop and waits for pending pull-time
// writes. It does not close the stores.
func (r *Registry) Close() error {
	r.stopOnce.Do(func() { close(r.stop) })
	<-r.done
	r.pullWrites.Wait()
	return nil
}

func (r *Registry) digestLock(d digest.Digest) *sync.Mutex {
	return &r.digestLocks[maphash.String(r.seed, d.String())%uint64(len(r.digestLocks))]
}

// repo loads a repository row, mapping absence to ErrRepositoryNotFound.
func (r *Registry) repo(tx store.Tx, ref Repo) (store.Repository, error) {
	row, err := tx.GetRepository(ref.Account, ref.Region, ref.Name)
	if errors.Is(err, store.ErrNotFound) {
		return store.Repository{}, repositoryNotFound(ref)
	}
	return row, err
}

// repositoryNotFound words the error as ECR does; docker prints it.
func repositoryNotFound(ref Repo) error {
	return fmt.Errorf("%w: the repository with name '%s' does not exist in the registry with id '%s'",
		ErrRepositoryNotFound, ref.Name, ref.Account)
}

func fromRow(row store.Repository) Repository {
	return Repository{
		Repo:                 Repo{Account: row.Account, Region: row.Region, Name: row.Name},
		CreatedAt:            row.CreatedAt,
		TagMutability:        row.TagMutability,
		MutabilityExclusions: row.MutabilityExclusions,
		Settings:             row.Settings,
	}
}

func validateRepository(rep *Repository) error {
	if rep.Account == "" || rep.Region == "" {
		return fmt.Errorf("%w: account and region are required", ErrInvalidArgument)
	}
	if err := ValidateName(rep.Name); err != nil {
		return err
	}
	if rep.TagMutability == "" {
		rep.TagMutability = Mutable
	}
	if err := validateMutability(rep.TagMutability, rep.MutabilityExclusions); err != nil {
		return err
	}
	if len(rep.Settings) > 0 && !json.Valid(rep.Settings) {
		return fmt.Errorf("%w: settings are not valid JSON", ErrInvalidArgument)
	}
	return nil
}

// CreateRepository creates a repository; an empty TagMutability means
// Mutable and a zero CreatedAt means now.
func (r *Registry) CreateRepository(ctx context.Context, rep Repository) (Repository, error) {
	if err := validateRepository(&rep); err != nil {
		return Repository{}, err
	}
	if rep.CreatedAt.IsZero() {
		rep.CreatedAt = r.now().UTC()
	}
	row := store.Repository{
		Account: rep.Account, Region: rep.Region, Name: rep.Name, CreatedAt: rep.CreatedAt,
		TagMutability: rep.TagMutability, MutabilityExclusions: rep.MutabilityExclusions, Settings: rep.Settings,
	}
	err := r.st.Update(ctx, func(tx store.Tx) error { return tx.CreateRepository(&row) })
	if errors.Is(err, store.ErrConflict) {
		return Repository{}, fmt.Errorf("%w: %s", ErrRepositoryExists, rep.Name)
	}
	if err != nil {
		return Repository{}, err
	}
	return fromRow(row), nil
}

// GetRepository returns a repository.
func (r *Registry) GetRepository(ctx context.Context, ref Repo) (Repository, error) {
	var rep Repository
	err := r.st.View(ctx, func(tx store.Tx) error {
		row, err := r.repo(tx, ref)
		rep = fromRow(row)
		return err
	})
	return rep, err
}

// ListRepositories returns up to limit repositories of an account and
// region named after `after`, in name order; limit <= 0 means all.
func (r *Registry) ListRepositories(ctx context.Context, account, region, after string, limit int) ([]Repository, error) {
	var out []Repository
	err := r.st.View(ctx, func(tx store.Tx) error {
		rows, err := tx.ListRepositories(account, region, after, limit)
		for _, row := range rows {
			out = append(out, fromRow(row))
		}
		return err
	})
	return out, err
}

// UpdateRepository applies fn to a repository in one transaction. fn may
// change the mutability settings and Settings; identity and creation time
// stay.
func (r *Registry) UpdateRepository(ctx context.Context, ref Repo, fn func(*Repository) error) (Repository, error) {
	var rep Repository
	err := r.st.Update(ctx, func(tx store.Tx) error {
		row, err := r.repo(tx, ref)
		if err != nil {
			return err
		}
		rep = fromRow(row)
		if err := fn(&rep); err != nil {
			return err
		}
		rep.Repo, rep.CreatedAt = fromRow(row).Repo, row.CreatedAt
		if err := validateRepository(&rep); err != nil {
			return err
		}
		row.TagMutability, row.MutabilityExclusions, row.Settings = rep.TagMutability, rep.MutabilityExclusions, rep.Settings
		return tx.UpdateRepository(row)
	})
	return rep, err
}

// DeleteRepository deletes a repository. Without force a repository that
// holds images is refused with ErrRepositoryNotEmpty; with force its images
// go too. Blobs nothing else uses are left to the garbage collector.
func (r *Registry) DeleteRepository(ctx context.Context, ref Repo, force bool) (Repository, error) {
	var rep Repository
	err := r.st.Update(ctx, func(tx store.Tx) error {
		row, err := r.repo(tx, ref)
		if err != nil {
			return err
		}
		rep = fromRow(row)
		if !force {
			n, err := tx.CountManifests(row.ID)
			if err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("%w: %s holds %d images", ErrRepositoryNotEmpty, ref.Name, n)
			}
		}
		return tx.DeleteRepository(row.ID)
	})
	return rep, err
}
