package ecr

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/ecr/lifecycle"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/store"
)

// plan evaluates policy against a repository's images at now: the one
// function behind both StartLifecyclePolicyPreview and the runner, so the
// preview shows exactly what execution does.
func (s *Service) plan(ctx context.Context, ref registry.Repo, policy *lifecycle.Policy, now time.Time) ([]lifecycle.Action, error) {
	imgs, err := s.reg.ListImages(ctx, ref)
	if err != nil {
		return nil, err
	}
	states, err := s.archiveStates(ctx, ref, imgs)
	if err != nil {
		return nil, err
	}
	// ECR never expires an image that a manifest list still references.
	parents := map[digest.Digest][]string{}
	for _, img := range imgs {
		if !registryIndex(img.MediaType) {
			continue
		}
		_, body, err := s.reg.GetManifest(ctx, ref, img.Digest.String())
		if errors.Is(err, registry.ErrManifestUnknown) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		_, children := references(body)
		for _, c := range children {
			parents[digest.Digest(c)] = append(parents[digest.Digest(c)], img.Digest.String())
		}
	}
	in := make([]lifecycle.Image, 0, len(imgs))
	for _, img := range imgs {
		li := lifecycle.Image{
			Digest:       img.Digest.String(),
			Tags:         img.Tags,
			PushedAt:     img.PushedAt,
			LastPulledAt: img.LastPulledAt,
			ReferencedBy: parents[img.Digest],
		}
		if st, ok := states[img.Digest]; ok {
			if st.Archived {
				li.StorageClass = lifecycle.StorageArchive
			}
			li.ArchivedAt, li.LastActivatedAt = st.ArchivedAt, st.ActivatedAt
		}
		in = append(in, li)
	}
	return policy.Evaluate(in, now), nil
}

// LifecycleRunner executes lifecycle policies: shortly after a push (or a
// new policy) to a repository, and on an interval for every repository
// that has a policy. It is level-triggered: each run evaluates the policy
// against the images as they are, so a run missed to a restart is simply
// made up by the next one.
type LifecycleRunner struct {
	svc      *Service
	interval time.Duration
	// Debounce coalesces a burst of pushes into one evaluation.
	Debounce time.Duration

	mu      sync.Mutex
	pending map[registry.Repo]bool
	wake    chan struct{}
}

// NewLifecycleRunner returns the service's runner; pushes and policy
// changes reach it through Notify.
func (s *Service) NewLifecycleRunner(interval time.Duration) *LifecycleRunner {
	r := &LifecycleRunner{
		svc:      s,
		interval: interval,
		Debounce: 500 * time.Millisecond,
		pending:  map[registry.Repo]bool{},
		wake:     make(chan struct{}, 1),
	}
	s.lifecycle = r
	return r
}

// Notify asks for an evaluation of a repository soon. It never blocks, so
// the registry can call it on its push path (registry.Options.OnPush).
func (r *LifecycleRunner) Notify(repo registry.Repo) {
	r.mu.Lock()
	r.pending[repo] = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// OnPush is a registry.Options.OnPush hook.
func (r *LifecycleRunner) OnPush(img registry.Image) { r.Notify(img.Repo) }

// Run evaluates until ctx ends. It sweeps every policy at start (a restart
// catches up at once), then on each interval and on each Notify.
func (r *LifecycleRunner) Run(ctx context.Context) {
	r.Sweep(ctx)
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			r.Sweep(ctx)
		case <-r.wake:
			select {
			case <-ctx.Done():
				return
			case <-time.After(r.Debounce):
			}
			r.mu.Lock()
			repos := r.pending
			r.pending = map[registry.Repo]bool{}
			r.mu.Unlock()
			for repo := range repos {
				if _, err := r.Evaluate(ctx, repo); err != nil && ctx.Err() == nil {
					r.svc.log.Warn("lifecycle policy evaluation", "account", repo.Account, "region", repo.Region, "repository", repo.Name, "error", err)
				}
			}
		}
	}
}

// Sweep evaluates every repository in the lifecycle index, dropping
// entries whose repository or policy is gone.
func (r *LifecycleRunner) Sweep(ctx context.Context) {
	var entries []store.Resource
	err := r.svc.st.View(ctx, func(tx store.Tx) error {
		var err error
		entries, err = tx.ListResources(kindLifecycleIndex, "", "", "", store.Page{})
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			r.svc.log.Warn("listing lifecycle policies", "error", err)
		}
		return
	}
	for _, e := range entries {
		if ctx.Err() != nil {
			return
		}
		parts := strings.SplitN(e.ID, "/", 3)
		if len(parts) != 3 {
			continue
		}
		repo := registry.Repo{Account: parts[0], Region: parts[1], Name: parts[2]}
		has, err := r.Evaluate(ctx, repo)
		if err != nil {
			if ctx.Err() == nil {
				r.svc.log.Warn("lifecycle policy evaluation", "account", repo.Account, "region", repo.Region, "repository", repo.Name, "error", err)
			}
			continue
		}
		if !has {
			_ = r.svc.st.Update(ctx, func(tx store.Tx) error {
				return store.DeleteDoc(tx, kindLifecycleIndex, "", "", e.ID)
			})
		}
	}
}

// Evaluate runs a repository's policy once: images it expires are deleted
// through the registry (their blobs then become collectable), images it
// transitions are archived, and lastEvaluatedAt is stamped. It reports
// whether the repository has a policy.
func (r *LifecycleRunner) Evaluate(ctx context.Context, repo registry.Repo) (bool, error) {
	s := r.svc
	c := caller{Account: repo.Account, Region: repo.Region}
	_, set, err := s.settings(ctx, c, repo.Name)
	if errors.Is(err, registry.ErrRepositoryNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if set.Lifecycle == nil {
		return false, nil
	}
	text := set.Lifecycle.Text
	policy, err := lifecycle.Parse(text)
	if err != nil {
		// Only valid policies are stored; a stored one that no longer
		// parses is left alone rather than guessed at.
		return true, err
	}
	now := s.now()
	actions, err := s.plan(ctx, repo, policy, now)
	if errors.Is(err, registry.ErrRepositoryNotFound) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	var imgs map[digest.Digest]registry.Image
	expired, archived := 0, 0
	for _, a := range actions {
		d := digest.Digest(a.Digest)
		switch a.Type {
		case lifecycle.ActionExpire:
			_, err := s.reg.DeleteManifest(ctx, repo, d)
			switch {
			case err == nil:
				expired++
				s.forgetArchive(ctx, repo, d)
			case errors.Is(err, registry.ErrManifestUnknown), errors.Is(err, registry.ErrManifestReferenced):
				// Gone already, or an index took it in since the plan:
				// the next run decides again.
			default:
				return true, err
			}
		case lifecycle.ActionTransition:
			if imgs == nil {
				list, err := s.reg.ListImages(ctx, repo)
				if err != nil {
					return true, err
				}
				imgs = map[digest.Digest]registry.Image{}
				for _, img := range list {
					imgs[img.Digest] = img
				}
			}
			img, ok := imgs[d]
			if !ok {
				continue
			}
			states, err := s.archiveStates(ctx, repo, []registry.Image{img})
			if err != nil {
				return true, err
			}
			if err := s.archive(ctx, img, states[d]); err != nil {
				return true, err
			}
			archived++
		}
	}
	if expired+archived > 0 {
		s.log.Info("lifecycle policy applied", "account", repo.Account, "region", repo.Region, "repository", repo.Name,
			"expired", expired, "archived", archived)
	}
	_, err = s.updateSettings(ctx, c, repo.Name, func(set *repoSettings) error {
		// Stamp only the policy that ran; a policy replaced meanwhile has
		// not been evaluated yet.
		if set.Lifecycle != nil && set.Lifecycle.Text == text {
			set.Lifecycle.LastEvaluatedAt = now.UTC()
		}
		return nil
	})
	if errors.Is(err, registry.ErrRepositoryNotFound) {
		return false, nil
	}
	return true, err
}
