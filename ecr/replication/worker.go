package replication

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/store"
)

// Tuning of the worker; variables so that tests can shorten them.
var (
	// pollEvery is how often the queue is looked at without a wake-up
	// (retries coming due).
	pollEvery = time.Second
	// failAfter is how many failed attempts keep a destination
	// IN_PROGRESS before it reports FAILED (it is still retried).
	failAfter = 3
	// maxBackoff caps the wait between retries.
	maxBackoff = 5 * time.Minute
	// workers is how many images replicate at once.
	workers = 4
)

// DefaultSweepInterval is how often every configured registry is compared
// with the status records, to catch pushes whose event was lost.
const DefaultSweepInterval = 10 * time.Minute

// Registries is what replication needs of ECR at a destination inside
// this Berth.
type Registries interface {
	// EnsureRepository creates a repository unless it exists, with the
	// matching repository creation template for appliedFor.
	EnsureRepository(ctx context.Context, repo registry.Repo, appliedFor string) error
	// ReplicationAllowed reports whether the registry of dst lets account
	// source replicate into dst (its registry permissions policy); create
	// says that the repository must also be created.
	ReplicationAllowed(ctx context.Context, source string, dst registry.Repo, create bool) (bool, error)
}

// Options configure a Replicator.
type Options struct {
	Registry   *registry.Registry
	Store      store.Store
	Registries Registries
	// Remotes maps destinations ("<registryId>/<region>") to other Berth
	// servers; any other destination is a registry of this server.
	Remotes map[string]Remote
	// Ignore names repositories that are never replicated (those the
	// pull-through cache fills).
	Ignore func(registry.Repo) bool
	// SweepInterval is DefaultSweepInterval when zero.
	SweepInterval time.Duration
	Log           *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Replicator replicates images. It is safe for concurrent use.
type Replicator struct {
	reg     *registry.Registry
	st      store.Store
	regs    Registries
	remotes map[string]*remote
	ignore  func(registry.Repo) bool
	sweepIv time.Duration
	log     *slog.Logger
	now     func() time.Time

	mu       sync.Mutex
	events   map[item]bool
	writing  map[item]int // images this replicator is writing (no event)
	inflight map[string]bool
	// down pauses a destination that failed to answer, so its queue does
	// not hammer it (key: Destination.key).
	down map[string]time.Time

	wake chan struct{}
	sem  chan struct{}
}

type item struct {
	repo   registry.Repo
	digest digest.Digest
}

// New returns a Replicator.
func New(o Options) (*Replicator, error) {
	if o.Registry == nil || o.Store == nil || o.Registries == nil {
		return nil, errors.New("replication: Registry, Store and Registries are required")
	}
	r := &Replicator{
		reg: o.Registry, st: o.Store, regs: o.Registries, ignore: o.Ignore, sweepIv: o.SweepInterval,
		log: o.Log, now: o.Now,
		remotes: map[string]*remote{}, events: map[item]bool{}, writing: map[item]int{},
		inflight: map[string]bool{}, down: map[string]time.Time{},
		wake: make(chan struct{}, 1), sem: make(chan struct{}, workers),
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.sweepIv <= 0 {
		r.sweepIv = DefaultSweepInterval
	}
	for key, cfg := range o.Remotes {
		rm, err := newRemote(key, cfg)
		if err != nil {
			return nil, err
		}
		r.remotes[key] = rm
	}
	return r, nil
}

// OnPush is a registry.Options.OnPush hook: it marks the image for the
// worker and never blocks, so a push never waits for replication.
func (r *Replicator) OnPush(img registry.Image) {
	it := item{img.Repo, img.Digest}
	r.mu.Lock()
	if r.writing[it] > 0 {
		r.mu.Unlock()
		return // written by replication itself: not replicated again
	}
	r.events[it] = true
	r.mu.Unlock()
	r.kick()
}

func (r *Replicator) kick() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx ends: it sweeps at start (catching up after a
// restart), then turns events into queue entries and works the queue.
func (r *Replicator) Run(ctx context.Context) {
	r.Sweep(ctx)
	poll := time.NewTicker(pollEvery)
	defer poll.Stop()
	sweep := time.NewTicker(r.sweepIv)
	defer sweep.Stop()
	for {
		r.drainEvents(ctx)
		r.dispatch(ctx)
		select {
		case <-ctx.Done():
			// Let the workers see the cancellation and stop.
			for i := 0; i < cap(r.sem); i++ {
				r.sem <- struct{}{}
			}
			return
		case <-r.wake:
		case <-poll.C:
		case <-sweep.C:
			r.Sweep(ctx)
		}
	}
}

// drainEvents records the marked images: a status IN_PROGRESS for each
// destination of the rules that match, and a queue entry, in one
// transaction per image.
func (r *Replicator) drainEvents(ctx context.Context) {
	r.mu.Lock()
	events := r.events
	r.events = map[item]bool{}
	r.mu.Unlock()
	for it := range events {
		if err := r.enqueue(ctx, it.repo, it.digest); err != nil {
			if ctx.Err() != nil {
				// Kept for the next run: the sweep finds it after a restart.
				r.mu.Lock()
				r.events[it] = true
				r.mu.Unlock()
				return
			}
			r.log.Warn("replication: recording a push", "account", it.repo.Account, "region", it.repo.Region,
				"repository", it.repo.Name, "digest", it.digest, "error", err)
		}
	}
}

// enqueue records that an image (just pushed or re-tagged) must be
// replicated to the destinations its registry's rules give it.
func (r *Replicator) enqueue(ctx context.Context, repo registry.Repo, d digest.Digest) error {
	if r.ignore != nil && r.ignore(repo) {
		return nil
	}
	now := r.now().UTC()
	return r.st.Update(ctx, func(tx store.Tx) error {
		cfg, err := GetConfig(tx, repo.Account, repo.Region)
		if err != nil {
			return err
		}
		dests := cfg.DestinationsFor(repo.Name)
		if len(dests) == 0 {
			return nil
		}
		if _, err := tx.GetResource(kindReplica, repo.Account, repo.Region, statusID(repo.Name, d)); err == nil {
			return nil // a replica: not replicated again
		}
		rec, err := getRecord(tx, repo, d)
		if errors.Is(err, store.ErrNotFound) {
			rec, err = &record{Repo: repo.Name, Digest: d, CreatedAt: now}, nil
		}
		if err != nil {
			return err
		}
		rec.Gen++
		for _, dst := range dests {
			ds := rec.dest(dst)
			if ds == nil {
				rec.Destinations = append(rec.Destinations, DestinationStatus{Destination: dst})
				ds = &rec.Destinations[len(rec.Destinations)-1]
			}
			*ds = DestinationStatus{Destination: dst, Status: InProgress, Tags: ds.Tags, NextAttempt: now, UpdatedAt: now}
		}
		return putRecord(tx, repo, rec, now)
	})
}

// dispatch starts workers on the queue entries that are due, up to the
// worker limit; it never waits for them.
func (r *Replicator) dispatch(ctx context.Context) {
	var entries []store.Resource
	err := r.st.View(ctx, func(tx store.Tx) error {
		var err error
		entries, err = tx.ListResources(kindQueue, globalNS, globalNS, "", store.Page{})
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("replication: listing the queue", "error", err)
		}
		return
	}
	now := r.now()
	for _, e := range entries {
		var q queueEntry
		if json.Unmarshal(e.Doc, &q) != nil || now.Before(q.NextAttempt) {
			continue
		}
		repo, d, ok := parseQueueID(e.ID)
		if !ok {
			continue
		}
		r.mu.Lock()
		busy := r.inflight[e.ID]
		r.mu.Unlock()
		if busy {
			continue
		}
		select {
		case r.sem <- struct{}{}:
		default:
			return // all workers busy; the next round picks the rest
		}
		r.mu.Lock()
		r.inflight[e.ID] = true
		r.mu.Unlock()
		go func(id string) {
			defer func() {
				r.mu.Lock()
				delete(r.inflight, id)
				r.mu.Unlock()
				<-r.sem
				r.kick()
			}()
			if err := r.replicate(ctx, repo, d); err != nil && ctx.Err() == nil {
				r.log.Warn("replication: recording a result", "repository", repo.Name, "digest", d, "error", err)
			}
		}(e.ID)
	}
}

// replicate brings every destination of an image that needs it up to
// date with the source image as it is now (its tags included).
func (r *Replicator) replicate(ctx context.Context, src registry.Repo, d digest.Digest) error {
	var (
		rec *record
		cfg Configuration
	)
	err := r.st.View(ctx, func(tx store.Tx) error {
		var err error
		if rec, err = getRecord(tx, src, d); err != nil {
			return err
		}
		cfg, err = GetConfig(tx, src.Account, src.Region)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		// A queue entry without its record: drop it.
		return r.st.Update(ctx, func(tx store.Tx) error { return dropRecord(tx, src, d) })
	}
	if err != nil {
		return err
	}
	img, body, err := r.reg.GetManifest(ctx, src, d.String())
	if errors.Is(err, registry.ErrManifestUnknown) || errors.Is(err, registry.ErrRepositoryNotFound) {
		// Deleted since: deletions are not replicated, and there is
		// nothing left to copy.
		return r.st.Update(ctx, func(tx store.Tx) error { return dropRecord(tx, src, d) })
	}
	if err != nil {
		return err
	}
	wanted := cfg.DestinationsFor(src.Name)
	now := r.now()
	startGen := rec.Gen
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		results = map[Destination]DestinationStatus{}
	)
	set := func(ds DestinationStatus) {
		mu.Lock()
		results[ds.Destination] = ds
		mu.Unlock()
	}
	for _, ds := range rec.Destinations {
		if !ds.pendingWork() || now.Before(ds.NextAttempt) {
			continue
		}
		if !containsDest(wanted, ds.Destination) {
			// The rule was removed: the destination is no longer worked.
			ds.Status, ds.Retry, ds.FailureCode = Failed, false, ""
			ds.LastError = "no replication rule gives this destination any more"
			set(ds)
			continue
		}
		if until, ok := r.isDown(ds.Destination); ok {
			ds.NextAttempt = until
			set(ds)
			continue
		}
		// Destinations go at once: a slow one does not hold the others.
		wg.Add(1)
		go func(ds DestinationStatus) {
			defer wg.Done()
			err := r.replicateTo(ctx, ds.Destination, src, img, body)
			if ctx.Err() == nil {
				set(r.outcome(ds, img.Tags, err))
			}
		}(ds)
	}
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// Written against the record as it is now: a push that came meanwhile
	// (a newer generation) makes the destinations go again.
	return r.st.Update(ctx, func(tx store.Tx) error {
		cur, err := getRecord(tx, src, d)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		stamp := r.now().UTC()
		for dst, res := range results {
			ds := cur.dest(dst)
			if ds == nil {
				continue
			}
			if cur.Gen != startGen && res.Status == Complete {
				res.Status, res.NextAttempt = InProgress, stamp
			}
			res.UpdatedAt = stamp
			*ds = res
		}
		return putRecord(tx, src, cur, stamp)
	})
}

func containsDest(ds []Destination, d Destination) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}

// outcome turns an attempt's error into the destination's new status.
func (r *Replicator) outcome(ds DestinationStatus, tags []string, err error) DestinationStatus {
	if err == nil {
		r.markUp(ds.Destination)
		return DestinationStatus{Destination: ds.Destination, Status: Complete, Tags: mergeTags(ds.Tags, tags)}
	}
	var f *failure
	if !errors.As(err, &f) {
		f = &failure{code: FailureInternal, retry: true, err: err}
	}
	ds.Attempts++
	ds.LastError = f.Error()
	ds.FailureCode = f.code
	ds.Retry = f.retry
	if !f.retry {
		ds.Status, ds.NextAttempt = Failed, time.Time{}
	} else {
		wait := backoff(ds.Attempts)
		ds.NextAttempt = r.now().Add(wait)
		ds.Status = InProgress
		if ds.Attempts >= failAfter {
			ds.Status = Failed
		}
		if f.code == FailureUnreachable {
			r.markDown(ds.Destination, ds.NextAttempt)
		}
	}
	if ds.Status == InProgress {
		ds.FailureCode = ""
	}
	r.log.Warn("replication failed", "destination", ds.Destination.key(), "status", ds.Status, "code", f.code,
		"attempts", ds.Attempts, "retry", f.retry, "error", f.err)
	return ds
}

func mergeTags(have, add []string) []string {
	out := append([]string(nil), have...)
	for _, t := range add {
		if !covers(out, []string{t}) {
			out = append(out, t)
		}
	}
	return out
}

// backoff is the wait before retry n: 1s doubling up to maxBackoff.
func backoff(n int) time.Duration {
	d := time.Second
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

func (r *Replicator) isDown(d Destination) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	until, ok := r.down[d.key()]
	if ok && r.now().Before(until) {
		return until, true
	}
	return time.Time{}, false
}

func (r *Replicator) markDown(d Destination, until time.Time) {
	r.mu.Lock()
	r.down[d.key()] = until
	r.mu.Unlock()
}

func (r *Replicator) markUp(d Destination) {
	r.mu.Lock()
	delete(r.down, d.key())
	r.mu.Unlock()
}

// failure is a failed attempt with its failure code; retry says whether
// trying again may help.
type failure struct {
	code  string
	retry bool
	err   error
}

func (f *failure) Error() string { return fmt.Sprintf("%s: %v", f.code, f.err) }
func (f *failure) Unwrap() error { return f.err }

func fail(code string, retry bool, format string, args ...any) *failure {
	return &failure{code: code, retry: retry, err: fmt.Errorf(format, args...)}
}

// replicateTo copies an image to one destination.
func (r *Replicator) replicateTo(ctx context.Context, dst Destination, src registry.Repo, img registry.Image, body []byte) error {
	if rm, ok := r.remotes[dst.key()]; ok {
		return rm.push(ctx, r.reg, dst, src, img, body)
	}
	return r.copyLocal(ctx, dst, src, img, body)
}

// Status returns an image's replication status per destination; none for
// an image no rule matched.
func (r *Replicator) Status(ctx context.Context, repo registry.Repo, d digest.Digest) ([]DestinationStatus, error) {
	var rec *record
	err := r.st.View(ctx, func(tx store.Tx) error {
		var err error
		rec, err = getRecord(tx, repo, d)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return rec.Destinations, nil
}

// Sweep compares every configured registry with the status records and
// marks the images that need replicating: pushed since the registry got
// its rules without a record, or with tags a destination has not been
// given.
func (r *Replicator) Sweep(ctx context.Context) {
	var cfgs []store.Resource
	err := r.st.View(ctx, func(tx store.Tx) error {
		var err error
		cfgs, err = tx.ListResources(kindConfig, globalNS, globalNS, "", store.Page{})
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("replication: sweep", "error", err)
		}
		return
	}
	for _, res := range cfgs {
		var cfg Configuration
		account, region, ok := cutID(res.ID)
		if !ok || json.Unmarshal(res.Doc, &cfg) != nil || len(cfg.Rules) == 0 {
			continue
		}
		if err := r.sweepRegistry(ctx, account, region, cfg); err != nil && ctx.Err() == nil {
			r.log.Warn("replication: sweep", "account", account, "region", region, "error", err)
		}
	}
	r.kick()
}

func cutID(id string) (string, string, bool) {
	a, b, ok := cutLast(id)
	return a, b, ok && a != "" && b != ""
}

func cutLast(id string) (string, string, bool) {
	for i := len(id) - 1; i >= 0; i-- {
		if id[i] == '/' {
			return id[:i], id[i+1:], true
		}
	}
	return "", "", false
}

func (r *Replicator) sweepRegistry(ctx context.Context, account, region string, cfg Configuration) error {
	repos, err := r.reg.ListRepositories(ctx, account, region, "", 0)
	if err != nil {
		return err
	}
	for _, rep := range repos {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		dests := cfg.DestinationsFor(rep.Name)
		if len(dests) == 0 || (r.ignore != nil && r.ignore(rep.Repo)) {
			continue
		}
		imgs, err := r.reg.ListImages(ctx, rep.Repo)
		if err != nil {
			continue // deleted meanwhile
		}
		var recs, replicas []store.Resource
		err = r.st.View(ctx, func(tx store.Tx) error {
			var err error
			if recs, err = tx.ListResources(kindStatus, account, region, rep.Name+"@", store.Page{}); err != nil {
				return err
			}
			replicas, err = tx.ListResources(kindReplica, account, region, rep.Name+"@", store.Page{})
			return err
		})
		if err != nil {
			return err
		}
		byID := map[string]*record{}
		for _, res := range recs {
			var rec record
			if json.Unmarshal(res.Doc, &rec) == nil {
				byID[res.ID] = &rec
			}
		}
		isReplica := map[string]bool{}
		for _, res := range replicas {
			isReplica[res.ID] = true
		}
		for _, img := range imgs {
			id := statusID(rep.Name, img.Digest)
			if isReplica[id] {
				continue
			}
			rec := byID[id]
			stale := rec == nil && !img.PushedAt.Before(cfg.Since)
			if rec != nil {
				for _, ds := range rec.Destinations {
					if ds.Status == Complete && !covers(ds.Tags, img.Tags) {
						stale = true
					}
				}
			}
			if stale {
				r.mu.Lock()
				r.events[item{rep.Repo, img.Digest}] = true
				r.mu.Unlock()
			}
		}
	}
	return nil
}
