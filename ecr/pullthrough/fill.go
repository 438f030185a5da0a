package pullthrough

import (
	"context"
	"errors"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/registry"
)

// kick wakes the filler.
func (c *Cache) kick() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Run completes pending manifests until ctx ends: for an image whose
// blobs a client did not fetch (it had them already), the filler fetches
// them upstream and commits the image. It is level-triggered: each pass
// works from the pending records in the store, so a restart resumes where
// the last run stopped. Indexes wait for their children, which are fetched
// when a client asks for them (so a multi-platform image caches only the
// platforms pulled).
func (c *Cache) Run(ctx context.Context) {
	tick := time.NewTicker(fillEvery)
	defer tick.Stop()
	for {
		c.Fill(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-c.wake:
		}
	}
}

// Fill makes one pass over the pending manifests.
func (c *Cache) Fill(ctx context.Context) {
	ps, err := c.listPending(ctx, "")
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("pull-through cache: listing pending manifests", "error", err)
		}
		return
	}
	now := c.now()
	for _, p := range ps {
		if ctx.Err() != nil {
			return
		}
		repo := p.repo()
		if now.Before(p.NextFill) || c.busy(repo) {
			continue
		}
		rule, ok := c.RuleFor(ctx, repo)
		if _, err := c.reg.GetRepository(ctx, repo); !ok || errors.Is(err, registry.ErrRepositoryNotFound) {
			// The rule or the repository is gone: nothing to fill.
			c.dropPending(ctx, repo, p.Digest)
			continue
		}
		if err := c.fillOne(ctx, rule, p); err != nil {
			p.Fails++
			p.NextFill = c.now().Add(backoff(p.Fails))
			c.log.Warn("pull-through cache: completing a cached image failed; will retry",
				"repository", p.Repo, "digest", p.Digest, "attempts", p.Fails, "retry_in", backoff(p.Fails), "error", err)
			if perr := c.putPending(ctx, p); perr != nil {
				c.log.Warn("pull-through cache: recording a fill failure", "error", perr)
			}
		}
	}
}

// backoff is the wait before the n-th retry: 2s doubling to 10 minutes.
func backoff(n int) time.Duration {
	d := 2 * time.Second
	for i := 1; i < n && d < 10*time.Minute; i++ {
		d *= 2
	}
	return min(d, 10*time.Minute)
}

// fillOne fetches what a pending manifest lacks and commits it.
func (c *Cache) fillOne(ctx context.Context, rule Rule, p *pending) error {
	repo := p.repo()
	blobs, children := registry.References(p.Body)
	if len(children) > 0 {
		// An index is committed when its children are (commitPending);
		// here it is only retried now and then.
		committed, err := c.commit(ctx, p)
		if err != nil || committed {
			return err
		}
		p.NextFill = c.now().Add(10 * time.Minute)
		return c.putPending(ctx, p)
	}
	for _, b := range blobs {
		if _, err := c.reg.StatBlob(ctx, repo, b); err == nil {
			continue
		}
		if _, err := c.reg.MountBlob(ctx, registry.Repo{Account: repo.Account, Region: repo.Region}, repo, b); err == nil {
			continue
		}
		if err := c.fetchBlob(ctx, rule, repo, b); err != nil {
			return err
		}
	}
	c.linkKnown(ctx, p)
	_, err := c.commit(ctx, p)
	return err
}

// fetchBlob reads a blob upstream into the registry (no client waiting),
// or waits for a fetch already under way.
func (c *Cache) fetchBlob(ctx context.Context, rule Rule, repo registry.Repo, d digest.Digest) error {
	f, leader := c.join(repo, d)
	if !leader {
		select {
		case <-f.done:
			return f.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := func() error {
		cl, err := c.client(ctx, rule)
		if err != nil {
			return err
		}
		fctx, cancel := context.WithCancel(ctx)
		defer cancel()
		body, _, err := cl.blob(fctx, rule.UpstreamName(repo.Name), d)
		if err != nil {
			return err
		}
		defer body.Close()
		watchdog := time.AfterFunc(stallTimeout, cancel)
		defer watchdog.Stop()
		_, err = c.reg.PutBlob(fctx, repo, d, &watched{r: body, t: watchdog})
		return blobErr(d, err)
	}()
	c.finish(repo, d, f, err)
	return err
}
