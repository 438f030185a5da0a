package ecr

// Image scanning: the ECR scanning operations over ecr/scan.
//
// A scan is requested (StartImageScan, a push to a repository that scans on
// push, or a registry switching to ENHANCED scanning) by writing the
// image's scan record as IN_PROGRESS; the Scanner's workers pick records
// up, read the image's layers (ecr/scan.Extract), keep the inventory and
// match it against the vulnerability database. Everything is in the store,
// so the scanner is level-triggered: a restart finds IN_PROGRESS records
// and scans them again, and a database update re-matches the stored
// inventories of images under continuous scanning without reading their
// layers again.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	ecrapi "github.com/berth-dev/berth/api/ecr"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/ecr/scan"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/store"
)

// Resource kinds of scanning. An image's scan records are kept outside any
// account and region (Account and Region ""), under the id
// "<account>/<region>/<repository>@<digest>": the scanner's sweeps list
// every image of every registry, and a repository's images are one prefix.
const (
	kindScan          = "ecr.image-scan"
	kindScanFindings  = "ecr.image-scan-findings"
	kindScanInventory = "ecr.image-scan-inventory"
	// kindScanningConfig is a registry's scanning configuration (id
	// "scanning"), in the registry's account and region.
	kindScanningConfig = "ecr.registry-scanning"
)

// Scan triggers.
const (
	triggerPush       = "PUSH"
	triggerManual     = "MANUAL"
	triggerEnrollment = "ENROLLMENT"
)

// scanRecord is an image's scan state: written IN_PROGRESS by the request,
// COMPLETE / FAILED / UNSUPPORTED_IMAGE by the worker.
type scanRecord struct {
	Status      string `json:"status"`
	Description string `json:"description,omitempty"`
	Trigger     string `json:"trigger"`
	// ScanType is the registry's scan type when the scan was requested.
	ScanType string `json:"scanType"`
	// PushedAt ties the record to one life of the image: an image deleted
	// and pushed again is a new image.
	PushedAt time.Time `json:"pushedAt"`
	// RequestedAt is when the scan was requested: the basic scan quota
	// (one scan per image per 24 hours) counts from it.
	RequestedAt time.Time `json:"requestedAt"`
	// CompletedAt is when the findings were last computed (a scan, or a
	// continuous re-match).
	CompletedAt     time.Time        `json:"completedAt,omitzero"`
	SourceUpdatedAt time.Time        `json:"sourceUpdatedAt,omitzero"`
	Database        string           `json:"database,omitempty"` // fingerprint of the database matched
	Counts          map[string]int32 `json:"counts,omitempty"`
	// Gen counts requests; a worker writes its result only if no newer
	// request came meanwhile.
	Gen int64 `json:"gen"`
}

type findingsDoc struct {
	Findings []scan.Finding `json:"findings"`
	// FirstObserved keeps when each finding (by Finding.Key) was first
	// seen, across scans and re-matches.
	FirstObserved map[string]time.Time `json:"firstObserved,omitempty"`
}

type inventoryDoc struct {
	Inventory    *scan.Inventory `json:"inventory"`
	Architecture string          `json:"architecture,omitempty"`
	OS           string          `json:"os,omitempty"`
}

func scanKey(c caller, name string, d digest.Digest) string {
	return c.Account + "/" + c.Region + "/" + name + "@" + d.String()
}

func parseScanKey(key string) (c caller, name string, d digest.Digest, ok bool) {
	parts := strings.SplitN(key, "/", 3)
	if len(parts) != 3 {
		return c, "", "", false
	}
	name, ds, found := strings.Cut(parts[2], "@")
	if !found {
		return c, "", "", false
	}
	return caller{Account: parts[0], Region: parts[1]}, name, digest.Digest(ds), true
}

// ScanOptions configure image scanning.
type ScanOptions struct {
	// VulnDB is the vulnerability database: directories, zip files or JSON
	// files of OSV records, separated by the OS path list separator. Empty:
	// scans read inventories but fail for want of a database.
	VulnDB string
	// Workers is how many images are scanned at once (default: half the
	// CPUs, between 1 and 4).
	Workers int
	// Timeout bounds one scan (default 5 minutes).
	Timeout time.Duration
	// QuotaWindow is the basic scan quota: StartImageScan refuses an image
	// scanned less than this long ago (default 24 hours, as AWS).
	QuotaWindow time.Duration
	// PollInterval is how often the database files are checked for
	// changes (default 5 seconds).
	PollInterval time.Duration
	// SweepInterval is how often records are checked for lost work and
	// deleted images (default 1 minute).
	SweepInterval time.Duration
	// Limits bound what a scan reads from the layers.
	Limits scan.Limits
	// Log receives what the scanner has to say; the service's when nil.
	Log *slog.Logger
}

// Scanner runs the scans: a dispatcher that turns pushes into scan
// requests, workers that scan, and the database watcher.
type Scanner struct {
	svc *Service
	o   ScanOptions
	src *scan.Source // nil without a database
	log *slog.Logger

	mu      sync.Mutex
	queued  map[string]bool
	pushes  []registry.Image
	enrolls []caller
	work    chan scanJob
	wake    chan struct{}
	// ready is closed once the first database load ended (well or not).
	ready     chan struct{}
	readyOnce sync.Once
	loadErr   error // guarded by mu
}

type scanJob struct {
	key string
	gen int64
}

// NewScanner returns the service's scanner. A database path that does not
// exist is an error here, so `berth up` refuses it at once.
func (s *Service) NewScanner(o ScanOptions) (*Scanner, error) {
	if o.Workers <= 0 {
		o.Workers = numWorkers()
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.QuotaWindow <= 0 {
		o.QuotaWindow = 24 * time.Hour
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Second
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = time.Minute
	}
	sc := &Scanner{
		svc:    s,
		o:      o,
		log:    o.Log,
		queued: map[string]bool{},
		work:   make(chan scanJob, 4096),
		wake:   make(chan struct{}, 1),
		ready:  make(chan struct{}),
	}
	if sc.log == nil {
		sc.log = s.log
	}
	if paths := scan.Paths(o.VulnDB); len(paths) > 0 {
		if _, err := scan.Fingerprint(paths); err != nil {
			return nil, err
		}
		sc.src = scan.NewSource(paths)
	} else {
		sc.readyOnce.Do(func() { close(sc.ready) })
	}
	s.scanner = sc
	return sc, nil
}

// Source returns the scanner's vulnerability database (nil without one).
func (sc *Scanner) Source() *scan.Source { return sc.src }

// OnPush is a registry.Options.OnPush hook: it never blocks; the
// dispatcher decides whether the push is scanned.
func (sc *Scanner) OnPush(img registry.Image) {
	sc.mu.Lock()
	sc.pushes = append(sc.pushes, img)
	sc.mu.Unlock()
	select {
	case sc.wake <- struct{}{}:
	default:
	}
}

// Run scans until ctx ends.
func (sc *Scanner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range sc.o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc.worker(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc.watchDB(ctx)
	}()
	sc.sweep(ctx)
	sweep := time.NewTicker(sc.o.SweepInterval)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-sweep.C:
			sc.sweep(ctx)
		case <-sc.wake:
			sc.mu.Lock()
			pushes, enrolls := sc.pushes, sc.enrolls
			sc.pushes, sc.enrolls = nil, nil
			sc.mu.Unlock()
			for _, img := range pushes {
				if err := sc.pushed(ctx, img); err != nil && ctx.Err() == nil {
					sc.log.Warn("scan on push", "repository", img.Repo.Name, "digest", img.Digest, "error", err)
				}
			}
			for _, c := range enrolls {
				sc.enroll(ctx, c)
			}
		}
	}
}

// requestEnrollment asks the dispatcher to enroll a registry's images
// (see enroll); it never blocks.
func (sc *Scanner) requestEnrollment(c caller) {
	sc.mu.Lock()
	sc.enrolls = append(sc.enrolls, c)
	sc.mu.Unlock()
	select {
	case sc.wake <- struct{}{}:
	default:
	}
}

// enqueue hands a requested scan to the workers; when they are busy the
// sweep finds the record later.
func (sc *Scanner) enqueue(job scanJob) {
	sc.mu.Lock()
	if sc.queued[job.key] {
		sc.mu.Unlock()
		return
	}
	sc.queued[job.key] = true
	sc.mu.Unlock()
	select {
	case sc.work <- job:
	default:
		sc.mu.Lock()
		delete(sc.queued, job.key)
		sc.mu.Unlock()
	}
}

func (sc *Scanner) worker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case job := <-sc.work:
			sc.mu.Lock()
			delete(sc.queued, job.key)
			sc.mu.Unlock()
			sc.run(ctx, job)
		}
	}
}

// watchDB loads the database, then reloads it when its files change and
// re-matches the images under continuous scanning.
func (sc *Scanner) watchDB(ctx context.Context) {
	if sc.src == nil {
		return
	}
	load := func() {
		start := time.Now()
		db, changed, err := sc.src.Refresh()
		sc.mu.Lock()
		sc.loadErr = err
		sc.mu.Unlock()
		if err != nil {
			sc.log.Warn("loading the vulnerability database", "paths", sc.src.Paths(), "error", err)
		}
		first := false
		sc.readyOnce.Do(func() { first = true; close(sc.ready) })
		if !changed {
			return
		}
		sc.log.Info("vulnerability database loaded", "records", db.Records, "skipped", db.Skipped,
			"updated", db.UpdatedAt, "took", time.Since(start).Round(time.Millisecond))
		if !first {
			sc.rematchAll(ctx, db)
		}
	}
	load()
	t := time.NewTicker(sc.o.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			load()
		}
	}
}

// db waits for the first database load and returns the database; nil
// when there is none.
func (sc *Scanner) db(ctx context.Context) (*scan.DB, error) {
	select {
	case <-sc.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if sc.src == nil {
		return nil, nil
	}
	return sc.src.DB(), nil
}

// ---- requesting scans ----

// request writes an IN_PROGRESS record for an image and queues it. check,
// when not nil, sees the current record (nil if none) and may refuse.
func (s *Service) requestScan(ctx context.Context, c caller, name string, img registry.Image, trigger string, check func(*scanRecord) error) (scanRecord, error) {
	key := scanKey(c, name, img.Digest)
	cfg, err := s.scanningConfig(ctx, c)
	if err != nil {
		return scanRecord{}, err
	}
	var rec scanRecord
	err = s.st.Update(ctx, func(tx store.Tx) error {
		var cur *scanRecord
		r, err := tx.GetResource(kindScan, "", "", key)
		switch {
		case err == nil:
			var old scanRecord
			if json.Unmarshal(r.Doc, &old) == nil && old.PushedAt.Equal(img.PushedAt) {
				cur = &old
			}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if check != nil {
			if err := check(cur); err != nil {
				return err
			}
		}
		now := s.now().UTC()
		rec = scanRecord{Status: string(ecrapi.ScanStatusInProgress), Trigger: trigger, ScanType: cfg.ScanType,
			PushedAt: img.PushedAt, RequestedAt: now, Gen: 1}
		if cur != nil {
			rec.Gen = cur.Gen + 1
			// The findings of the last scan stay until the new one ends.
			rec.CompletedAt, rec.SourceUpdatedAt, rec.Database, rec.Counts = cur.CompletedAt, cur.SourceUpdatedAt, cur.Database, cur.Counts
		}
		return putJSON(tx, kindScan, key, rec, now)
	})
	if err != nil {
		return rec, err
	}
	if s.scanner != nil {
		s.scanner.enqueue(scanJob{key: key, gen: rec.Gen})
	}
	return rec, nil
}

func putJSON(tx store.Tx, kind, id string, v any, now time.Time) error {
	return store.PutDoc(tx, kind, "", "", id, v, now)
}

// scannable reports whether an image is one ECR scans: an image manifest
// with an image configuration, not an index or another artifact.
func scannable(img registry.Image) bool {
	switch img.MediaType {
	case "application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json":
	default:
		return false
	}
	switch img.ArtifactType {
	case "", "application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json":
		return true
	}
	return false
}

// pushed decides whether a pushed image is scanned: a new image (not a
// tag moved onto a scanned one) in a repository that scans on push.
func (sc *Scanner) pushed(ctx context.Context, img registry.Image) error {
	s := sc.svc
	c := caller{Account: img.Repo.Account, Region: img.Repo.Region}
	name := img.Repo.Name
	cur, _, err := s.reg.GetManifest(ctx, img.Repo, img.Digest.String())
	if errors.Is(err, registry.ErrManifestUnknown) || errors.Is(err, registry.ErrRepositoryNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !scannable(cur) {
		return nil
	}
	freq, _, err := s.repoScanFrequency(ctx, c, name)
	if err != nil || freq == ecrapi.ScanFrequencyManual {
		return err
	}
	_, err = s.requestScan(ctx, c, name, cur, triggerPush, func(old *scanRecord) error {
		if old != nil {
			return errSkip
		}
		return nil
	})
	if errors.Is(err, errSkip) {
		return nil
	}
	return err
}

var errSkip = errors.New("skip")

// enroll requests scans of a registry's images pushed in the last 30 days
// that scan on push or continuously and were never scanned: what ENHANCED
// scanning does when it is turned on.
func (sc *Scanner) enroll(ctx context.Context, c caller) {
	s := sc.svc
	cutoff := s.now().Add(-30 * 24 * time.Hour)
	after := ""
	for {
		repos, err := s.reg.ListRepositories(ctx, c.Account, c.Region, after, 100)
		if err != nil || len(repos) == 0 {
			return
		}
		for _, rep := range repos {
			after = rep.Name
			freq, _, err := s.repoScanFrequency(ctx, c, rep.Name)
			if err != nil || freq == ecrapi.ScanFrequencyManual {
				continue
			}
			imgs, err := s.reg.ListImages(ctx, c.repo(rep.Name))
			if err != nil {
				continue
			}
			for _, img := range imgs {
				if !scannable(img) || img.PushedAt.Before(cutoff) {
					continue
				}
				_, _ = s.requestScan(ctx, c, rep.Name, img, triggerEnrollment, func(old *scanRecord) error {
					if old != nil {
						return errSkip
					}
					return nil
				})
			}
		}
	}
}

// ---- scanning ----

// run scans the image of a job, if its record still asks for it.
func (sc *Scanner) run(ctx context.Context, job scanJob) {
	s := sc.svc
	c, name, d, ok := parseScanKey(job.key)
	if !ok {
		return
	}
	var rec scanRecord
	found, err := sc.getRecord(ctx, job.key, &rec)
	if err != nil || !found || rec.Gen != job.gen || rec.Status != string(ecrapi.ScanStatusInProgress) {
		return
	}
	img, body, err := s.reg.GetManifest(ctx, c.repo(name), d.String())
	if errors.Is(err, registry.ErrManifestUnknown) || errors.Is(err, registry.ErrRepositoryNotFound) {
		sc.forget(ctx, job.key)
		return
	}
	if err != nil {
		sc.log.Warn("scan: reading the manifest", "repository", name, "digest", d, "error", err)
		return
	}
	if !img.PushedAt.Equal(rec.PushedAt) {
		sc.forget(ctx, job.key)
		return
	}

	start := time.Now()
	inv, arch, osName, err := sc.inventory(ctx, c.repo(name), body)
	if ctx.Err() != nil {
		return // shutting down: the record stays IN_PROGRESS for the next start
	}
	result := rec
	now := s.now().UTC()
	var findings []scan.Finding
	switch {
	case err != nil:
		result.Status = string(ecrapi.ScanStatusFailed)
		result.Description = failureDescription(err, sc.o.Timeout)
		sc.log.Info("image scan failed", "repository", name, "digest", d, "reason", result.Description)
	case len(inv.Packages) == 0 && inv.OS.ID == "":
		result.Status = string(ecrapi.ScanStatusUnsupportedImage)
		result.Description = "UnsupportedImageError: The operating system and/or package manager are not supported."
	default:
		db, derr := sc.db(ctx)
		if derr != nil {
			return
		}
		if db == nil {
			result.Status = string(ecrapi.ScanStatusFailed)
			result.Description = "No vulnerability database is loaded: start Berth with --vuln-db PATH (a directory or zip of OSV records)"
			sc.mu.Lock()
			loadErr := sc.loadErr
			sc.mu.Unlock()
			if sc.src != nil && loadErr != nil {
				result.Description = "The vulnerability database could not be loaded: " + loadErr.Error()
			}
			break
		}
		findings = db.Match(inv)
		result.Status = string(ecrapi.ScanStatusComplete)
		result.Description = "The scan was completed successfully."
		result.CompletedAt = now
		result.SourceUpdatedAt = db.UpdatedAt.UTC()
		result.Database = db.Fingerprint
		result.Counts = severityCounts(findings)
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		var cur scanRecord
		r, err := tx.GetResource(kindScan, "", "", job.key)
		if err != nil {
			return err
		}
		if json.Unmarshal(r.Doc, &cur) != nil || cur.Gen != job.gen {
			return errSkip // a newer request: its own scan writes
		}
		if inv != nil {
			if err := putJSON(tx, kindScanInventory, job.key, inventoryDoc{Inventory: inv, Architecture: arch, OS: osName}, now); err != nil {
				return err
			}
		}
		if result.Status == string(ecrapi.ScanStatusComplete) {
			if err := sc.putFindings(tx, job.key, findings, now); err != nil {
				return err
			}
		}
		return putJSON(tx, kindScan, job.key, result, now)
	})
	if err != nil && !errors.Is(err, errSkip) && !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
		sc.log.Warn("scan: saving the result", "repository", name, "digest", d, "error", err)
		return
	}
	if result.Status == string(ecrapi.ScanStatusComplete) {
		sc.log.Info("image scanned", "repository", name, "digest", d, "packages", len(inv.Packages),
			"findings", len(findings), "took", time.Since(start).Round(time.Millisecond))
	}
}

// putFindings writes an image's findings, keeping first-observed times.
func (sc *Scanner) putFindings(tx store.Tx, key string, findings []scan.Finding, now time.Time) error {
	doc := findingsDoc{Findings: findings, FirstObserved: map[string]time.Time{}}
	if r, err := tx.GetResource(kindScanFindings, "", "", key); err == nil {
		var old findingsDoc
		if json.Unmarshal(r.Doc, &old) == nil {
			for k, t := range old.FirstObserved {
				doc.FirstObserved[k] = t
			}
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	seen := map[string]bool{}
	for _, f := range findings {
		k := f.Key()
		seen[k] = true
		if _, ok := doc.FirstObserved[k]; !ok {
			doc.FirstObserved[k] = now
		}
	}
	for k := range doc.FirstObserved {
		if !seen[k] {
			delete(doc.FirstObserved, k)
		}
	}
	if doc.Findings == nil {
		doc.Findings = []scan.Finding{}
	}
	return putJSON(tx, kindScanFindings, key, doc, now)
}

func severityCounts(fs []scan.Finding) map[string]int32 {
	out := map[string]int32{}
	for _, f := range fs {
		out[f.Severity]++
	}
	return out
}

// failureDescription is what a FAILED scan says.
func failureDescription(err error, timeout time.Duration) string {
	switch {
	case errors.Is(err, scan.ErrUnscannable):
		return "The image could not be scanned: " + err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("The scan did not finish within %s and was stopped.", timeout)
	}
	return "The scan failed: " + err.Error()
}

// manifestForScan is what a scan reads of an image manifest.
type manifestForScan struct {
	Config struct {
		Digest digest.Digest `json:"digest"`
	} `json:"config"`
	Layers []struct {
		MediaType string        `json:"mediaType"`
		Digest    digest.Digest `json:"digest"`
		URLs      []string      `json:"urls"`
	} `json:"layers"`
}

// inventory reads an image's layers; it never panics on them (a panic in a
// parser fails the scan) and stops at the scan timeout.
func (sc *Scanner) inventory(ctx context.Context, ref registry.Repo, body []byte) (inv *scan.Inventory, arch, osName string, err error) {
	s := sc.svc
	ctx, cancel := context.WithTimeout(ctx, sc.o.Timeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			sc.log.Error("scan: panic", "panic", r, "stack", string(debug.Stack()))
			inv, err = nil, fmt.Errorf("internal error: %v", r)
		}
	}()
	var m manifestForScan
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, "", "", &scan.LayerError{Reason: "the manifest is not valid JSON"}
	}
	if m.Config.Digest != "" {
		if rc, _, err := s.reg.OpenBlob(ctx, ref, m.Config.Digest); err == nil {
			var cfg struct {
				Architecture string `json:"architecture"`
				OS           string `json:"os"`
			}
			_ = json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&cfg)
			rc.Close()
			arch, osName = cfg.Architecture, cfg.OS
		}
	}
	var layers []scan.Layer
	var notes []string
	for _, l := range m.Layers {
		if len(l.URLs) > 0 {
			notes = append(notes, "the foreign layer "+l.Digest.String()+" is not in the registry and was not read")
			continue
		}
		dgst := l.Digest
		layers = append(layers, scan.Layer{Digest: dgst.String(), MediaType: l.MediaType, Open: func(ctx context.Context) (io.ReadCloser, error) {
			rc, _, err := s.reg.OpenBlob(ctx, ref, dgst)
			return rc, err
		}})
	}
	inv, err = scan.Extract(ctx, layers, sc.o.Limits)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return nil, arch, osName, context.DeadlineExceeded
		}
		return nil, arch, osName, err
	}
	inv.Notes = append(inv.Notes, notes...)
	return inv, arch, osName, nil
}

func (sc *Scanner) getRecord(ctx context.Context, key string, rec *scanRecord) (bool, error) {
	var found bool
	err := sc.svc.st.View(ctx, func(tx store.Tx) error {
		var err error
		found, err = store.LoadDoc(tx, kindScan, "", "", key, rec)
		return err
	})
	return found && err == nil, err
}

// forget drops the records of an image that is gone.
func (sc *Scanner) forget(ctx context.Context, key string) {
	_ = sc.svc.st.Update(ctx, func(tx store.Tx) error {
		for _, kind := range []string{kindScan, kindScanFindings, kindScanInventory} {
			if err := store.DeleteDoc(tx, kind, "", "", key); err != nil {
				return err
			}
		}
		return nil
	})
}

// sweep queues IN_PROGRESS records (a restart, a full queue) and drops the
// records of images that are gone.
func (sc *Scanner) sweep(ctx context.Context) {
	s := sc.svc
	pushed := map[registry.Repo]map[digest.Digest]time.Time{}
	after := ""
	for ctx.Err() == nil {
		var rs []store.Resource
		err := s.st.View(ctx, func(tx store.Tx) error {
			var err error
			rs, err = tx.ListResources(kindScan, "", "", "", store.Page{After: after, Limit: 500})
			return err
		})
		if err != nil || len(rs) == 0 {
			return
		}
		for _, r := range rs {
			after = r.ID
			c, name, d, ok := parseScanKey(r.ID)
			if !ok {
				continue
			}
			var rec scanRecord
			if json.Unmarshal(r.Doc, &rec) != nil {
				continue
			}
			ref := c.repo(name)
			imgs, ok := pushed[ref]
			if !ok {
				imgs = map[digest.Digest]time.Time{}
				list, err := s.reg.ListImages(ctx, ref)
				if err != nil && !errors.Is(err, registry.ErrRepositoryNotFound) {
					continue
				}
				for _, img := range list {
					imgs[img.Digest] = img.PushedAt
				}
				pushed[ref] = imgs
			}
			at, exists := imgs[d]
			if !exists || !at.Equal(rec.PushedAt) {
				sc.forget(ctx, r.ID)
				continue
			}
			if rec.Status == string(ecrapi.ScanStatusInProgress) {
				sc.enqueue(scanJob{key: r.ID, gen: rec.Gen})
			}
		}
	}
}

// rematchAll matches the stored inventories of images under continuous
// scanning against a new database.
func (sc *Scanner) rematchAll(ctx context.Context, db *scan.DB) {
	s := sc.svc
	freqs := map[string]ecrapi.ScanFrequency{}
	after := ""
	n := 0
	for ctx.Err() == nil {
		var rs []store.Resource
		err := s.st.View(ctx, func(tx store.Tx) error {
			var err error
			rs, err = tx.ListResources(kindScan, "", "", "", store.Page{After: after, Limit: 500})
			return err
		})
		if err != nil || len(rs) == 0 {
			break
		}
		for _, r := range rs {
			after = r.ID
			c, name, _, ok := parseScanKey(r.ID)
			if !ok {
				continue
			}
			var rec scanRecord
			if json.Unmarshal(r.Doc, &rec) != nil || rec.Status != string(ecrapi.ScanStatusComplete) {
				continue
			}
			rk := c.Account + "/" + c.Region + "/" + name
			freq, ok := freqs[rk]
			if !ok {
				freq, _, err = s.repoScanFrequency(ctx, c, name)
				if err != nil {
					continue
				}
				freqs[rk] = freq
			}
			if freq != ecrapi.ScanFrequencyContinuousScan {
				continue
			}
			if sc.rematch(ctx, r.ID, rec.Gen, db) {
				n++
			}
		}
	}
	if n > 0 {
		sc.log.Info("continuous scanning: findings matched again", "images", n)
	}
}

// rematch recomputes one image's findings from its stored inventory.
func (sc *Scanner) rematch(ctx context.Context, key string, gen int64, db *scan.DB) bool {
	s := sc.svc
	now := s.now().UTC()
	err := s.st.Update(ctx, func(tx store.Tx) error {
		var rec scanRecord
		if err := store.ReadDoc(tx, kindScan, "", "", key, &rec); err != nil {
			return err
		}
		if rec.Gen != gen || rec.Status != string(ecrapi.ScanStatusComplete) {
			return errSkip
		}
		var inv inventoryDoc
		if err := store.ReadDoc(tx, kindScanInventory, "", "", key, &inv); err != nil {
			return err
		}
		findings := db.Match(inv.Inventory)
		if err := sc.putFindings(tx, key, findings, now); err != nil {
			return err
		}
		rec.CompletedAt = now
		rec.SourceUpdatedAt = db.UpdatedAt.UTC()
		rec.Database = db.Fingerprint
		rec.Counts = severityCounts(findings)
		return putJSON(tx, kindScan, key, rec, now)
	})
	if err != nil && !errors.Is(err, errSkip) && !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
		sc.log.Warn("continuous scanning", "image", key, "error", err)
	}
	return err == nil
}

// ---- scanning configuration ----

// registryScanning is a registry's scanning configuration as kept.
type registryScanning struct {
	ScanType string                        `json:"scanType"`
	Rules    []ecrapi.RegistryScanningRule `json:"rules"`
}

// scanningConfig returns a registry's configuration: BASIC without rules
// until one is put.
func (s *Service) scanningConfig(ctx context.Context, c caller) (registryScanning, error) {
	cfg := registryScanning{ScanType: string(ecrapi.ScanTypeBasic), Rules: []ecrapi.RegistryScanningRule{}}
	if _, err := s.getDoc(ctx, kindScanningConfig, c, "scanning", &cfg); err != nil {
		return cfg, err
	}
	if cfg.Rules == nil {
		cfg.Rules = []ecrapi.RegistryScanningRule{}
	}
	return cfg, nil
}

// filterMatches applies a WILDCARD repository filter: '*' matches any
// run of characters.
func filterMatches(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(name, p)
		if i < 0 {
			return false
		}
		name = name[i+len(p):]
	}
	return strings.HasSuffix(name, parts[len(parts)-1])
}

// effectiveFrequency decides how a repository is scanned. ENHANCED: the
// rules alone, CONTINUOUS_SCAN taking precedence over SCAN_ON_PUSH. BASIC:
// a SCAN_ON_PUSH rule matching the repository, or the repository's own
// (deprecated) scanOnPush setting.
func effectiveFrequency(cfg registryScanning, name string, scanOnPush bool) (ecrapi.ScanFrequency, []ecrapi.ScanningRepositoryFilter) {
	match := func(freq ecrapi.ScanFrequency) []ecrapi.ScanningRepositoryFilter {
		var out []ecrapi.ScanningRepositoryFilter
		for _, r := range cfg.Rules {
			if r.ScanFrequency == nil || *r.ScanFrequency != freq {
				continue
			}
			for _, f := range r.RepositoryFilters {
				if filterMatches(str(f.Filter), name) {
					out = append(out, f)
				}
			}
		}
		return out
	}
	if cfg.ScanType == string(ecrapi.ScanTypeEnhanced) {
		if fs := match(ecrapi.ScanFrequencyContinuousScan); len(fs) > 0 {
			return ecrapi.ScanFrequencyContinuousScan, fs
		}
		if fs := match(ecrapi.ScanFrequencyScanOnPush); len(fs) > 0 {
			return ecrapi.ScanFrequencyScanOnPush, fs
		}
		return ecrapi.ScanFrequencyManual, nil
	}
	if fs := match(ecrapi.ScanFrequencyScanOnPush); len(fs) > 0 {
		return ecrapi.ScanFrequencyScanOnPush, fs
	}
	if scanOnPush {
		return ecrapi.ScanFrequencyScanOnPush, nil
	}
	return ecrapi.ScanFrequencyManual, nil
}

// repoScanFrequency is effectiveFrequency for a stored repository.
func (s *Service) repoScanFrequency(ctx context.Context, c caller, name string) (ecrapi.ScanFrequency, []ecrapi.ScanningRepositoryFilter, error) {
	_, set, err := s.settings(ctx, c, name)
	if err != nil {
		return "", nil, err
	}
	cfg, err := s.scanningConfig(ctx, c)
	if err != nil {
		return "", nil, err
	}
	freq, fs := effectiveFrequency(cfg, name, set.ScanOnPush)
	return freq, fs, nil
}

// PutRegistryScanningConfiguration sets the registry's scan type and
// rules.
func (s *Service) PutRegistryScanningConfiguration(ctx context.Context, in *ecrapi.PutRegistryScanningConfigurationInput) (*ecrapi.PutRegistryScanningConfigurationOutput, error) {
	c := s.callerIn(ctx)
	cfg := registryScanning{ScanType: string(ecrapi.ScanTypeBasic), Rules: in.Rules}
	if in.ScanType != nil {
		cfg.ScanType = string(*in.ScanType)
	}
	if cfg.Rules == nil {
		cfg.Rules = []ecrapi.RegistryScanningRule{}
	}
	seen := map[ecrapi.ScanFrequency]bool{}
	for _, r := range cfg.Rules {
		freq := *r.ScanFrequency
		if seen[freq] {
			return nil, invalidParam("Invalid parameter at 'rules' failed to satisfy constraint: 'Only one rule per scan frequency is allowed; %s appears twice'", freq)
		}
		seen[freq] = true
		if cfg.ScanType == string(ecrapi.ScanTypeBasic) && freq == ecrapi.ScanFrequencyContinuousScan {
			return nil, invalidParam("Invalid parameter at 'rules' failed to satisfy constraint: 'The scan frequency CONTINUOUS_SCAN is only supported with the ENHANCED scan type'")
		}
		if cfg.ScanType == string(ecrapi.ScanTypeEnhanced) && freq == ecrapi.ScanFrequencyManual {
			return nil, invalidParam("Invalid parameter at 'rules' failed to satisfy constraint: 'The ENHANCED scan type supports the CONTINUOUS_SCAN and SCAN_ON_PUSH scan frequencies'")
		}
		if r.RepositoryFilters == nil {
			return nil, invalidParam("Invalid parameter at 'rules.repositoryFilters' failed to satisfy constraint: 'Member must not be null'")
		}
	}
	if err := s.putDoc(ctx, kindScanningConfig, c, "scanning", cfg); err != nil {
		return nil, internal("PutRegistryScanningConfiguration", err)
	}
	if s.scanner != nil && cfg.ScanType == string(ecrapi.ScanTypeEnhanced) {
		s.scanner.requestEnrollment(c)
	}
	return &ecrapi.PutRegistryScanningConfigurationOutput{RegistryScanningConfiguration: &ecrapi.RegistryScanningConfiguration{
		ScanType: ptr(ecrapi.ScanType(cfg.ScanType)), Rules: cfg.Rules,
	}}, nil
}

// GetRegistryScanningConfiguration returns the registry's configuration.
func (s *Service) GetRegistryScanningConfiguration(ctx context.Context, in *ecrapi.GetRegistryScanningConfigurationInput) (*ecrapi.GetRegistryScanningConfigurationOutput, error) {
	c := s.callerIn(ctx)
	cfg, err := s.scanningConfig(ctx, c)
	if err != nil {
		return nil, internal("GetRegistryScanningConfiguration", err)
	}
	return &ecrapi.GetRegistryScanningConfigurationOutput{
		RegistryId:            ptr(c.Account),
		ScanningConfiguration: &ecrapi.RegistryScanningConfiguration{ScanType: ptr(ecrapi.ScanType(cfg.ScanType)), Rules: cfg.Rules},
	}, nil
}

// BatchGetRepositoryScanningConfiguration says how each repository named
// is scanned.
func (s *Service) BatchGetRepositoryScanningConfiguration(ctx context.Context, in *ecrapi.BatchGetRepositoryScanningConfigurationInput) (*ecrapi.BatchGetRepositoryScanningConfigurationOutput, error) {
	c := s.callerIn(ctx)
	cfg, err := s.scanningConfig(ctx, c)
	if err != nil {
		return nil, internal("BatchGetRepositoryScanningConfiguration", err)
	}
	out := &ecrapi.BatchGetRepositoryScanningConfigurationOutput{
		ScanningConfigurations: []ecrapi.RepositoryScanningConfiguration{},
		Failures:               []ecrapi.RepositoryScanningConfigurationFailure{},
	}
	seen := map[string]bool{}
	for _, name := range in.RepositoryNames {
		if seen[name] {
			continue
		}
		seen[name] = true
		_, set, err := s.settings(ctx, c, name)
		if errors.Is(err, registry.ErrRepositoryNotFound) {
			out.Failures = append(out.Failures, ecrapi.RepositoryScanningConfigurationFailure{
				RepositoryName: ptr(name),
				FailureCode:    ptr(ecrapi.ScanningConfigurationFailureCodeRepositoryNotFound),
				FailureReason:  ptr("REPOSITORY_NOT_FOUND"),
			})
			continue
		}
		if err != nil {
			return nil, s.repoErr("BatchGetRepositoryScanningConfiguration", c, name, err)
		}
		freq, filters := effectiveFrequency(cfg, name, set.ScanOnPush)
		if filters == nil {
			filters = []ecrapi.ScanningRepositoryFilter{}
		}
		out.ScanningConfigurations = append(out.ScanningConfigurations, ecrapi.RepositoryScanningConfiguration{
			RepositoryArn:      ptr(c.arn(name)),
			RepositoryName:     ptr(name),
			ScanOnPush:         ptr(freq != ecrapi.ScanFrequencyManual),
			ScanFrequency:      ptr(freq),
			AppliedScanFilters: filters,
		})
	}
	return out, nil
}

// ---- the image operations ----

// scanImage resolves a request's image.
func (s *Service) scanImage(ctx context.Context, op string, c caller, name string, id *ecrapi.ImageIdentifier) (registry.Image, error) {
	imgs, err := s.listImages(ctx, op, c, name)
	if err != nil {
		return registry.Image{}, err
	}
	img, code, _ := findImage(imgs, *id)
	switch code {
	case "":
		return img, nil
	case ecrapi.ImageFailureCodeInvalidImageDigest:
		return img, invalidParam("Invalid parameter at 'imageId.imageDigest' failed to satisfy constraint: 'The image digest %q is not a valid digest'", str(id.ImageDigest))
	case ecrapi.ImageFailureCodeMissingDigestAndTag:
		return img, invalidParam("Invalid parameter at 'imageId' failed to satisfy constraint: 'Both imageTag and imageDigest cannot be null'")
	}
	return img, imageNotFound(c, name, *id)
}

// StartImageScan requests a basic scan of an image: at most one per image
// per 24 hours (QuotaWindow), counting scans on push, as AWS.
func (s *Service) StartImageScan(ctx context.Context, in *ecrapi.StartImageScanInput) (*ecrapi.StartImageScanOutput, error) {
	c, err := s.callerOf(ctx, "StartImageScan", in.RegistryId)
	if err != nil {
		return nil, err
	}
	name := *in.RepositoryName
	img, err := s.scanImage(ctx, "StartImageScan", c, name, in.ImageId)
	if err != nil {
		return nil, err
	}
	if !scannable(img) {
		return nil, ecrapi.NewUnsupportedImageTypeException("The image with imageId %s is of a type that cannot be scanned: %s", imageIDString(*in.ImageId), img.MediaType)
	}
	cfg, err := s.scanningConfig(ctx, c)
	if err != nil {
		return nil, internal("StartImageScan", err)
	}
	if cfg.ScanType == string(ecrapi.ScanTypeEnhanced) {
		return nil, ecrapi.NewValidationException("StartImageScan starts basic scans, and the registry with id '%s' uses ENHANCED scanning, which scans on push or continuously by its rules", c.Account)
	}
	window := 24 * time.Hour
	if s.scanner != nil {
		window = s.scanner.o.QuotaWindow
	}
	rec, err := s.requestScan(ctx, c, name, img, triggerManual, func(old *scanRecord) error {
		if old != nil && old.Status != string(ecrapi.ScanStatusFailed) && s.now().Sub(old.RequestedAt) < window {
			return ecrapi.NewLimitExceededException("The scan quota per image has been exceeded. Wait and try again.")
		}
		return nil
	})
	if err != nil {
		if awsapi.AsError(err) != nil {
			return nil, err
		}
		return nil, internal("StartImageScan", err)
	}
	return &ecrapi.StartImageScanOutput{
		RegistryId:      ptr(c.Account),
		RepositoryName:  ptr(name),
		ImageId:         &ecrapi.ImageIdentifier{ImageDigest: ptr(img.Digest.String()), ImageTag: in.ImageId.ImageTag},
		ImageScanStatus: &ecrapi.ImageScanStatus{Status: ptr(ecrapi.ScanStatus(rec.Status))},
	}, nil
}

// loadScan returns an image's scan record and, when with, its findings and
// inventory; found is false when the image was never scanned.
func (s *Service) loadScan(ctx context.Context, c caller, name string, img registry.Image, with bool) (rec scanRecord, fs findingsDoc, inv inventoryDoc, found bool, err error) {
	key := scanKey(c, name, img.Digest)
	err = s.st.View(ctx, func(tx store.Tx) error {
		if err := store.ReadDoc(tx, kindScan, "", "", key, &rec); err != nil {
			return err
		}
		if !rec.PushedAt.Equal(img.PushedAt) {
			return store.ErrNotFound
		}
		found = true
		if !with {
			return nil
		}
		if _, err := store.LoadDoc(tx, kindScanFindings, "", "", key, &fs); err != nil {
			return err
		}
		_, err := store.LoadDoc(tx, kindScanInventory, "", "", key, &inv)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return rec, fs, inv, false, nil
	}
	return rec, fs, inv, found, err
}

// apiScanStatus is how a record shows: under ENHANCED continuous scanning
// a completed scan is ACTIVE, as Amazon Inspector reports it.
func (s *Service) apiScanStatus(rec scanRecord, freq ecrapi.ScanFrequency) *ecrapi.ImageScanStatus {
	st := &ecrapi.ImageScanStatus{Status: ptr(ecrapi.ScanStatus(rec.Status))}
	if rec.Description != "" {
		st.Description = ptr(rec.Description)
	}
	if rec.ScanType == string(ecrapi.ScanTypeEnhanced) && rec.Status == string(ecrapi.ScanStatusComplete) && freq == ecrapi.ScanFrequencyContinuousScan {
		st.Status = ptr(ecrapi.ScanStatusActive)
		st.Description = ptr("Continuous scan is selected for image.")
	}
	return st
}

// countsFor renders severity counts; ENHANCED names an unrated finding
// UNTRIAGED, as Amazon Inspector does.
func countsFor(rec scanRecord) map[string]int32 {
	out := map[string]int32{}
	for k, v := range rec.Counts {
		if rec.ScanType == string(ecrapi.ScanTypeEnhanced) && k == scan.SeverityUndefined {
			k = "UNTRIAGED"
		}
		out[k] += v
	}
	return out
}

// DescribeImageScanFindings returns an image's scan status and, once the
// scan is complete, its findings, a page at a time.
func (s *Service) DescribeImageScanFindings(ctx context.Context, in *ecrapi.DescribeImageScanFindingsInput) (*ecrapi.DescribeImageScanFindingsOutput, error) {
	c, err := s.callerOf(ctx, "DescribeImageScanFindings", in.RegistryId)
	if err != nil {
		return nil, err
	}
	name := *in.RepositoryName
	offset := 0
	if in.NextToken != nil {
		after, err := decodeToken(in.NextToken)
		if err != nil {
			return nil, err
		}
		if offset, err = strconv.Atoi(after); err != nil || offset < 0 {
			return nil, invalidParam("Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'")
		}
	}
	img, err := s.scanImage(ctx, "DescribeImageScanFindings", c, name, in.ImageId)
	if err != nil {
		return nil, err
	}
	rec, fdoc, idoc, found, err := s.loadScan(ctx, c, name, img, true)
	if err != nil {
		return nil, internal("DescribeImageScanFindings", err)
	}
	if !found {
		return nil, ecrapi.NewScanNotFoundException("Image scan does not exist for the image with '%s' in the repository with name '%s' in the registry with id '%s'",
			imageIDString(*in.ImageId), name, c.Account)
	}
	freq, _, err := s.repoScanFrequency(ctx, c, name)
	if err != nil {
		return nil, s.repoErr("DescribeImageScanFindings", c, name, err)
	}
	out := &ecrapi.DescribeImageScanFindingsOutput{
		RegistryId:      ptr(c.Account),
		RepositoryName:  ptr(name),
		ImageId:         &ecrapi.ImageIdentifier{ImageDigest: ptr(img.Digest.String()), ImageTag: in.ImageId.ImageTag},
		ImageScanStatus: s.apiScanStatus(rec, freq),
	}
	if rec.Status != string(ecrapi.ScanStatusComplete) {
		return out, nil
	}
	limit := maxResults(in.MaxResults)
	all := fdoc.Findings
	if offset > len(all) {
		offset = len(all)
	}
	end := min(offset+limit, len(all))
	page := all[offset:end]
	res := &ecrapi.ImageScanFindings{
		ImageScanCompletedAt:         awsapi.Time(rec.CompletedAt),
		VulnerabilitySourceUpdatedAt: awsapi.Time(rec.SourceUpdatedAt),
		FindingSeverityCounts:        countsFor(rec),
	}
	if rec.ScanType == string(ecrapi.ScanTypeEnhanced) {
		res.EnhancedFindings = make([]ecrapi.EnhancedImageScanFinding, 0, len(page))
		for _, f := range page {
			res.EnhancedFindings = append(res.EnhancedFindings, enhancedFinding(c, name, img, rec, fdoc, idoc, f))
		}
	} else {
		res.Findings = make([]ecrapi.ImageScanFinding, 0, len(page))
		for _, f := range page {
			res.Findings = append(res.Findings, basicFinding(f))
		}
	}
	out.ImageScanFindings = res
	if end < len(all) {
		out.NextToken = encodeToken(strconv.Itoa(end))
	}
	return out, nil
}

// basicFinding renders a finding as basic scanning does.
func basicFinding(f scan.Finding) ecrapi.ImageScanFinding {
	out := ecrapi.ImageScanFinding{
		Name:     ptr(f.Name),
		Severity: ptr(ecrapi.FindingSeverity(f.Severity)),
		Attributes: []ecrapi.Attribute{
			{Key: ptr("package_version"), Value: ptr(f.Package.Version)},
			{Key: ptr("package_name"), Value: ptr(f.Package.Name)},
		},
	}
	if f.Description != "" {
		out.Description = ptr(f.Description)
	}
	if f.URI != "" {
		out.Uri = ptr(f.URI)
	}
	for _, c := range f.CVSS {
		if c.Score == 0 {
			continue
		}
		prefix := "CVSS3"
		if c.Version == "2.0" {
			prefix = "CVSS2"
		}
		out.Attributes = append(out.Attributes,
			ecrapi.Attribute{Key: ptr(prefix + "_VECTOR"), Value: ptr(c.Vector)},
			ecrapi.Attribute{Key: ptr(prefix + "_SCORE"), Value: ptr(strconv.FormatFloat(c.Score, 'f', 1, 64))})
		break
	}
	return out
}

// findingSource names the database a record comes from, as Amazon
// Inspector names its sources.
func findingSource(id string) string {
	switch {
	case strings.HasPrefix(id, "GO-"):
		return "GO_VULNDB"
	case strings.HasPrefix(id, "GHSA-"):
		return "GITHUB"
	case strings.HasPrefix(id, "DEBIAN-"), strings.HasPrefix(id, "DSA-"), strings.HasPrefix(id, "DLA-"):
		return "DEBIAN_CVE"
	case strings.HasPrefix(id, "ALPINE-"):
		return "ALPINE_SEC_DB"
	case strings.HasPrefix(id, "UBUNTU-"), strings.HasPrefix(id, "USN-"):
		return "UBUNTU_CVE"
	case strings.HasPrefix(id, "CVE-"):
		return "NVD"
	}
	return "OSV"
}

// splitDebianVersion splits [epoch:]version[-release] as Amazon Inspector
// reports OS packages.
func splitPackageVersion(p scan.Package) (epoch int32, version, release string) {
	v := p.Version
	if p.Manager == scan.ManagerGo {
		return 0, v, ""
	}
	if i := strings.IndexByte(v, ':'); i >= 0 {
		if e, err := strconv.Atoi(v[:i]); err == nil {
			epoch = int32(e)
		}
		v = v[i+1:]
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		return epoch, v[:i], v[i+1:]
	}
	return epoch, v, ""
}

func platformOf(os scan.OSInfo) string {
	if os.ID == "" {
		return ""
	}
	p := strings.ToUpper(os.ID)
	if os.VersionID != "" {
		p += "_" + strings.ReplaceAll(os.VersionID, ".", "_")
	}
	return p
}

// enhancedFinding renders a finding in Amazon Inspector's shape.
func enhancedFinding(c caller, name string, img registry.Image, rec scanRecord, fdoc findingsDoc, idoc inventoryDoc, f scan.Finding) ecrapi.EnhancedImageScanFinding {
	sum := sha256.Sum256([]byte(img.Digest.String() + "\x00" + f.Key()))
	sev := f.Severity
	if sev == scan.SeverityUndefined {
		sev = "UNTRIAGED"
	}
	first := fdoc.FirstObserved[f.Key()]
	if first.IsZero() {
		first = rec.CompletedAt
	}
	epoch, version, release := splitPackageVersion(f.Package)
	manager := "OS"
	if f.Package.Manager == scan.ManagerGo {
		manager = "GOBINARY"
	}
	fixed := f.FixedIn
	if fixed == "" {
		fixed = "NotAvailable"
	}
	vp := ecrapi.VulnerablePackage{
		Name: ptr(f.Package.Name), Version: ptr(version), Epoch: ptr(epoch), PackageManager: ptr(manager),
		FixedInVersion: ptr(fixed),
	}
	if release != "" {
		vp.Release = ptr(release)
	}
	if f.Package.Arch != "" {
		vp.Arch = ptr(f.Package.Arch)
	}
	if f.Package.Path != "" {
		vp.FilePath = ptr(f.Package.Path)
	}
	if f.Package.Layer != "" {
		vp.SourceLayerHash = ptr(f.Package.Layer)
	}
	details := &ecrapi.PackageVulnerabilityDetails{
		VulnerabilityId:        ptr(f.Name),
		Source:                 ptr(findingSource(f.IDs[0])),
		VendorSeverity:         ptr(f.Severity),
		VulnerablePackages:     []ecrapi.VulnerablePackage{vp},
		ReferenceUrls:          f.References,
		RelatedVulnerabilities: f.Related,
		Cvss:                   []ecrapi.CvssScore{},
	}
	if details.ReferenceUrls == nil {
		details.ReferenceUrls = []string{}
	}
	if details.RelatedVulnerabilities == nil {
		details.RelatedVulnerabilities = []string{}
	}
	if f.URI != "" {
		details.SourceUrl = ptr(f.URI)
	}
	if !f.Published.IsZero() {
		details.VendorCreatedAt = awsapi.Time(f.Published)
	}
	if !f.Modified.IsZero() {
		details.VendorUpdatedAt = awsapi.Time(f.Modified)
	}
	var best *scan.CVSS
	for i, cv := range f.CVSS {
		cs := ecrapi.CvssScore{ScoringVector: ptr(cv.Vector), Version: ptr(cv.Version), Source: ptr(findingSource(f.IDs[0]))}
		if cv.Source != "" {
			cs.Source = ptr(cv.Source)
		}
		if cv.Score > 0 {
			cs.BaseScore = ptr(cv.Score)
		}
		details.Cvss = append(details.Cvss, cs)
		if strings.HasPrefix(cv.Version, "3") && (best == nil || cv.Score > best.Score) {
			best = &f.CVSS[i]
		}
	}
	text := "None Provided"
	if f.FixedIn != "" {
		text = fmt.Sprintf("Upgrade %s to version %s or later.", f.Package.Name, f.FixedIn)
	}
	rem := &ecrapi.Recommendation{Text: ptr(text)}
	if f.URI != "" {
		rem.Url = ptr(f.URI)
	}
	fixAvailable := "NO"
	if f.FixedIn != "" {
		fixAvailable = "YES"
	}
	imgDetails := &ecrapi.AwsEcrContainerImageDetails{
		ImageHash:      ptr(img.Digest.String()),
		ImageTags:      slices.Clone(img.Tags),
		PushedAt:       awsapi.Time(img.PushedAt),
		Registry:       ptr(c.Account),
		RepositoryName: ptr(name),
	}
	if imgDetails.ImageTags == nil {
		imgDetails.ImageTags = []string{}
	}
	if idoc.Architecture != "" {
		imgDetails.Architecture = ptr(idoc.Architecture)
	}
	if idoc.Inventory != nil {
		if p := platformOf(idoc.Inventory.OS); p != "" {
			imgDetails.Platform = ptr(p)
		}
	}
	desc := f.Description
	if desc == "" {
		desc = f.Summary
	}
	out := ecrapi.EnhancedImageScanFinding{
		AwsAccountId:                ptr(c.Account),
		Description:                 ptr(desc),
		FindingArn:                  ptr(fmt.Sprintf("arn:aws:inspector2:%s:%s:finding/%s", c.Region, c.Account, hex.EncodeToString(sum[:16]))),
		FirstObservedAt:             awsapi.Time(first),
		LastObservedAt:              awsapi.Time(rec.CompletedAt),
		UpdatedAt:                   awsapi.Time(rec.CompletedAt),
		PackageVulnerabilityDetails: details,
		Remediation:                 &ecrapi.Remediation{Recommendation: rem},
		Resources: []ecrapi.Resource{{
			Id:      ptr(repositoryARN(c.Region, c.Account, name) + "/" + img.Digest.String()),
			Type:    ptr("AWS_ECR_CONTAINER_IMAGE"),
			Details: &ecrapi.ResourceDetails{AwsEcrContainerImage: imgDetails},
		}},
		Severity:     ptr(sev),
		Status:       ptr("ACTIVE"),
		Title:        ptr(f.Name + " - " + f.Package.Name),
		Type:         ptr("PACKAGE_VULNERABILITY"),
		FixAvailable: ptr(fixAvailable),
	}
	if best != nil && best.Score > 0 {
		out.Score = ptr(best.Score)
		out.ScoreDetails = &ecrapi.ScoreDetails{Cvss: &ecrapi.CvssScoreDetails{
			Score: ptr(best.Score), ScoringVector: ptr(best.Vector), Version: ptr(best.Version),
			ScoreSource: ptr(findingSource(f.IDs[0])), Adjustments: []ecrapi.CvssScoreAdjustment{},
		}}
	}
	return out
}

// addScanSummaries fills imageScanStatus and imageScanFindingsSummary of
// DescribeImages' details from the repository's scan records (one
// listing).
func (s *Service) addScanSummaries(ctx context.Context, c caller, name string, details []ecrapi.ImageDetail) error {
	if len(details) == 0 {
		return nil
	}
	prefix := c.Account + "/" + c.Region + "/" + name + "@"
	var rs []store.Resource
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		rs, err = tx.ListResources(kindScan, "", "", prefix, store.Page{})
		return err
	})
	if err != nil || len(rs) == 0 {
		return err
	}
	recs := map[string]scanRecord{}
	for _, r := range rs {
		var rec scanRecord
		if json.Unmarshal(r.Doc, &rec) == nil {
			recs[strings.TrimPrefix(r.ID, prefix)] = rec
		}
	}
	var freq ecrapi.ScanFrequency
	for i := range details {
		d := &details[i]
		rec, ok := recs[str(d.ImageDigest)]
		if !ok || d.ImagePushedAt == nil || !rec.PushedAt.Equal(d.ImagePushedAt.Time) {
			continue
		}
		if freq == "" {
			if freq, _, err = s.repoScanFrequency(ctx, c, name); err != nil {
				return err
			}
		}
		d.ImageScanStatus = s.apiScanStatus(rec, freq)
		if !rec.CompletedAt.IsZero() {
			d.ImageScanFindingsSummary = &ecrapi.ImageScanFindingsSummary{
				ImageScanCompletedAt:         awsapi.Time(rec.CompletedAt),
				VulnerabilitySourceUpdatedAt: awsapi.Time(rec.SourceUpdatedAt),
				FindingSeverityCounts:        countsFor(rec),
			}
		}
	}
	return nil
}

// numWorkers is the default worker count for a machine: scans are mostly
// decompression, one core each.
func numWorkers() int { return max(1, min(4, runtime.NumCPU()/2)) }

// withScanSummaries is DescribeImages' output with the scan states added.
func (s *Service) withScanSummaries(ctx context.Context, c caller, name string, out *ecrapi.DescribeImagesOutput) (*ecrapi.DescribeImagesOutput, error) {
	if err := s.addScanSummaries(ctx, c, name, out.ImageDetails); err != nil {
		return nil, internal("DescribeImages", err)
	}
	return out, nil
}
