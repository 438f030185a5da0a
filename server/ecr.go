package server

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	ecrapi "github.com/berth-dev/berth/api/ecr"
	"github.com/berth-dev/berth/ecr"
	"github.com/berth-dev/berth/ecr/pullthrough"
	"github.com/berth-dev/berth/ecr/replication"
	"github.com/berth-dev/berth/ecr/token"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/registry/blobstore"
	_ "github.com/berth-dev/berth/registry/blobstore/filesystem" // the default blob store driver
	"github.com/berth-dev/berth/registry/handlers"
)

// Files and directories of the data directory.
const (
	blobDir      = "blobs"
	tokenKeyFile = "ecr-token.key"
)

// wireECR opens the state and blob stores and serves ECR: the API on s.api,
// the registry under /v2/, layer downloads, and the lifecycle and garbage
// collection loops.
func (s *Server) wireECR() error {
	// One state store (<data>/berth.db) for every service: SQLite has one
	// writer at a time, which a shared connection pool queues in Go.
	st, err := s.store()
	if err != nil {
		return err
	}

	blobs, err := blobstore.Open("filesystem", map[string]string{"rootdirectory": filepath.Join(s.cfg.DataDir, blobDir)})
	if err != nil {
		return fmt.Errorf("blob store: %w", err)
	}

	key, err := token.LoadOrCreateKey(filepath.Join(s.cfg.DataDir, tokenKeyFile))
	if err != nil {
		return fmt.Errorf("ECR token key: %w", err)
	}
	tokens, err := token.New(key)
	if err != nil {
		return err
	}
	s.ecrTokens = tokens

	// The registry calls OnPush on its push path; the lifecycle runner and
	// the replicator are made after the registry, so the hook reaches them
	// through variables.
	var (
		runner     *ecr.LifecycleRunner
		replicator *replication.Replicator
		scanner    *ecr.Scanner
	)
	reg := registry.New(st, blobs, registry.Options{
		OnPush: func(img registry.Image) {
			if runner != nil {
				runner.OnPush(img)
			}
			if replicator != nil {
				replicator.OnPush(img)
			}
			if scanner != nil {
				scanner.OnPush(img)
			}
		},
		GCGracePeriod: s.cfg.GCGracePeriod,
		Logger:        s.log.With("component", "registry"),
	})
	s.closers = append(s.closers, reg.Close)

	svc, err := ecr.New(ecr.Options{
		Registry:     reg,
		Store:        st,
		Tokens:       tokens,
		URLKey:       key,
		RegistryHost: s.cfg.RegistryHost,
		Log:          s.log.With("component", "ecr"),
	})
	if err != nil {
		return err
	}
	runner = svc.NewLifecycleRunner(s.cfg.LifecycleInterval)
	scanner, err = svc.NewScanner(ecr.ScanOptions{VulnDB: s.cfg.VulnDB, Log: s.log.With("component", "ecr-scan")})
	if err != nil {
		return err
	}
	cache, err := svc.NewPullThroughCache(pullthrough.Options{
		RecheckAfter: s.cfg.PullThroughRecheck,
		Log:          s.log.With("component", "ecr-pull-through"),
	})
	if err != nil {
		return err
	}
	remotes := map[string]replication.Remote{}
	for key, r := range s.cfg.ReplicationRemotes {
		remotes[key] = replication.Remote{Endpoint: r.Endpoint, AccessKeyID: r.AccessKeyID, SecretAccessKey: r.SecretAccessKey, Timeout: r.Timeout}
	}
	replicator, err = svc.NewReplicator(replication.Options{
		Remotes: remotes,
		// Repositories the cache fills are not replicated.
		Ignore: cache.Covers,
		Log:    s.log.With("component", "ecr-replication"),
	})
	if err != nil {
		return err
	}

	s.api.HandleJSON(ecrapi.NewJSONService(svc))
	s.consoleAPIs.ECR = svc
	v2 := handlers.New(reg, &ecr.Authorizer{Tokens: tokens, RegistryHost: s.cfg.RegistryHost}, s.log.With("component", "registry"),
		handlers.WithPullThrough(cache))
	s.mux.Handle("/v2/", v2)
	s.mux.Handle("/v2", v2)
	s.mux.Handle(ecr.LayerPath, svc.LayerHandler())

	s.loops = append(s.loops, runner.Run, replicator.Run, cache.Run, scanner.Run, func(ctx context.Context) { s.collectGarbage(ctx, reg) })
	return nil
}

// collectGarbage runs the registry's collector every GCInterval until ctx
// ends.
func (s *Server) collectGarbage(ctx context.Context, reg *registry.Registry) {
	t := time.NewTicker(s.cfg.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := reg.CollectGarbage(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("garbage collection", "error", err)
			}
		}
	}
}
