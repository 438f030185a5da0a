package pullthrough

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/registry"
)

// flight is one upstream fetch of a blob into a registry (account and
// region); others asking for the same blob meanwhile wait for it.
type flight struct {
	done chan struct{}
	err  error
}

func flightKey(repo registry.Repo, d digest.Digest) string {
	return repo.Account + "/" + repo.Region + "/" + d.String()
}

// Blob implements handlers.PullThrough: a blob missing from a cache
// repository is linked from elsewhere in the registry when it is there,
// else streamed from the upstream to the client while it is written to
// the registry.
func (c *Cache) Blob(ctx context.Context, repo registry.Repo, dgst digest.Digest, head bool, localErr error) (io.ReadCloser, ocispec.Descriptor, error) {
	rule, ok := c.RuleFor(ctx, repo)
	// A repository is made by the first manifest pull; a blob asked for
	// before it is not the cache's business.
	if !ok || errors.Is(localErr, registry.ErrRepositoryNotFound) || dgst.Validate() != nil || !dgst.Algorithm().Available() {
		return nil, ocispec.Descriptor{}, localErr
	}
	c.touch(repo)
	if rc, desc, err := c.local(ctx, repo, dgst, head); err == nil {
		return rc, desc, nil
	}
	if head {
		cl, err := c.client(ctx, rule)
		if err != nil {
			return nil, ocispec.Descriptor{}, upstreamErr(rule, err)
		}
		hctx, cancel := context.WithTimeout(ctx, upstreamTimeout)
		defer cancel()
		size, err := cl.blobSize(hctx, rule.UpstreamName(repo.Name), dgst)
		if errors.Is(err, errNotFound) {
			return nil, ocispec.Descriptor{}, localErr
		}
		if err != nil {
			return nil, ocispec.Descriptor{}, upstreamErr(rule, err)
		}
		return nil, ocispec.Descriptor{MediaType: "application/octet-stream", Digest: dgst, Size: size}, nil
	}
	rc, desc, err := c.stream(ctx, rule, repo, dgst)
	if errors.Is(err, errNotFound) {
		return nil, ocispec.Descriptor{}, fmt.Errorf("%w: %s is not in the cache and the upstream %s does not have it", registry.ErrBlobUnknown, dgst, rule.UpstreamURL)
	}
	if err != nil && ctx.Err() == nil {
		return nil, ocispec.Descriptor{}, upstreamErr(rule, err)
	}
	return rc, desc, err
}

// local links a blob the registry holds elsewhere in the account and
// region into repo, and opens it.
func (c *Cache) local(ctx context.Context, repo registry.Repo, dgst digest.Digest, head bool) (io.ReadCloser, ocispec.Descriptor, error) {
	desc, err := c.reg.StatBlob(ctx, repo, dgst)
	if err != nil {
		if desc, err = c.reg.MountBlob(ctx, registry.Repo{Account: repo.Account, Region: repo.Region}, repo, dgst); err != nil {
			return nil, ocispec.Descriptor{}, err
		}
		c.commitPending(ctx, repo, dgst)
	}
	if head {
		return nil, desc, nil
	}
	rc, desc, err := c.reg.OpenBlob(ctx, repo, dgst)
	if err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	return rc, desc, nil
}

// join returns the fetch of a blob in flight, or makes the caller the one
// to fetch it (leader true; it must call finish).
func (c *Cache) join(repo registry.Repo, d digest.Digest) (f *flight, leader bool) {
	key := flightKey(repo, d)
	c.flightsMu.Lock()
	defer c.flightsMu.Unlock()
	if f := c.flights[key]; f != nil {
		return f, false
	}
	f = &flight{done: make(chan struct{})}
	c.flights[key] = f
	return f, true
}

func (c *Cache) finish(repo registry.Repo, d digest.Digest, f *flight, err error) {
	c.flightsMu.Lock()
	delete(c.flights, flightKey(repo, d))
	c.flightsMu.Unlock()
	f.err = err
	close(f.done)
}

// wait waits for another fetch of the blob and then serves it locally.
func (c *Cache) wait(ctx context.Context, repo registry.Repo, dgst digest.Digest, f *flight) (io.ReadCloser, ocispec.Descriptor, error) {
	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, ocispec.Descriptor{}, ctx.Err()
	}
	if f.err != nil {
		return nil, ocispec.Descriptor{}, f.err
	}
	return c.local(ctx, repo, dgst, false)
}

// stream starts (or joins) the upstream fetch of a blob.
func (c *Cache) stream(ctx context.Context, rule Rule, repo registry.Repo, dgst digest.Digest) (io.ReadCloser, ocispec.Descriptor, error) {
	f, leader := c.join(repo, dgst)
	if !leader {
		return c.wait(ctx, repo, dgst, f)
	}
	// The fetch outlives the client: a client that goes away leaves the
	// blob to be finished in the background.
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	fail := func(err error) (io.ReadCloser, ocispec.Descriptor, error) {
		cancel()
		c.finish(repo, dgst, f, err)
		return nil, ocispec.Descriptor{}, err
	}
	cl, err := c.client(fctx, rule)
	if err != nil {
		return fail(err)
	}
	// The transport bounds the wait for the response headers; the body
	// may take long (a large layer) and is watched for stalls instead.
	body, size, err := cl.blob(fctx, rule.UpstreamName(repo.Name), dgst)
	if err != nil {
		return fail(err)
	}
	watchdog := time.AfterFunc(stallTimeout, cancel)
	body = &watched{r: body, t: watchdog}
	if size < 0 {
		// Length unknown: the client could not be told when the stream is
		// complete, so the blob is cached first and then served.
		_, err := c.reg.PutBlob(fctx, repo, dgst, body)
		body.Close()
		watchdog.Stop()
		if err != nil {
			return fail(blobErr(dgst, err))
		}
		cancel()
		c.finish(repo, dgst, f, nil)
		c.commitPending(ctx, repo, dgst)
		return c.local(ctx, repo, dgst, false)
	}
	t := newTee(c, repo, dgst, body, size)
	go t.write(fctx, func(err error) {
		watchdog.Stop()
		cancel()
		if err == nil {
			c.commitPending(context.Background(), repo, dgst)
		} else if !errors.Is(err, errLied) {
			c.log.Warn("pull-through cache: caching an upstream blob failed", "repository", repo.Name, "digest", dgst, "error", err)
		}
		c.finish(repo, dgst, f, err)
	})
	return t, ocispec.Descriptor{MediaType: "application/octet-stream", Digest: dgst, Size: size}, nil
}

var errCacheAborted = errors.New("the cache write ended")

// blobErr words a failed cache write of an upstream blob.
func blobErr(d digest.Digest, err error) error {
	if errors.Is(err, registry.ErrDigestInvalid) {
		return fmt.Errorf("%w: blob %s: %v; nothing was cached", errLied, d, err)
	}
	return err
}

// watched is an upstream body whose reads feed a stall watchdog.
type watched struct {
	r io.ReadCloser
	t *time.Timer
}

func (w *watched) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.t.Reset(stallTimeout)
	}
	return n, err
}

func (w *watched) Close() error { return w.r.Close() }

// tee is the client's view of an upstream blob being cached. Every byte
// read goes to the client and, through a bounded queue, to the registry
// (so the network and the disk work at the same time). The last byte is
// held back until the bytes hash to the digest, so a client never
// receives a complete wrong blob; the registry verifies again before it
// commits, and the commit (an fsync) finishes behind the client.
type tee struct {
	c    *Cache
	repo registry.Repo
	dgst digest.Digest
	src  io.ReadCloser
	hash hash.Hash
	size int64
	read int64

	queue chan []byte // to the cache writer; closed at the end
	abort error       // why the queue was closed early, set before close

	held   []byte // the last byte, released once the digest verifies
	done   bool   // verified; held is being delivered
	err    error  // sticky failure
	ended  bool
	closed sync.Once
}

// queueDepth bounds the bytes in flight to the cache writer (×32 KiB).
const queueDepth = 256

func newTee(c *Cache, repo registry.Repo, d digest.Digest, src io.ReadCloser, size int64) *tee {
	return &tee{c: c, repo: repo, dgst: d, src: src, hash: d.Algorithm().Hash(), size: size, queue: make(chan []byte, queueDepth)}
}

// write feeds the registry from the queue and reports the outcome of the
// cache write to done (nil: verified and committed).
func (t *tee) write(ctx context.Context, done func(error)) {
	pr, pw := io.Pipe()
	result := make(chan error, 1)
	go func() {
		_, err := t.c.reg.PutBlob(ctx, t.repo, t.dgst, pr)
		pr.CloseWithError(errors.Join(err, errCacheAborted))
		result <- err
	}()
	failed := false
	for b := range t.queue {
		if failed {
			continue // the cache write failed; the client is still served
		}
		if _, err := pw.Write(b); err != nil {
			failed = true
		}
	}
	if t.abort != nil {
		pw.CloseWithError(t.abort)
	} else {
		pw.Close()
	}
	err := <-result
	if t.abort != nil {
		err = t.abort
	}
	done(blobErr(t.dgst, err))
}

// end stops the queue (once): normally, or with the reason.
func (t *tee) end(abort error) {
	if t.ended {
		return
	}
	t.ended = true
	t.abort = abort
	close(t.queue)
	t.src.Close()
}

func (t *tee) fail(err error) error {
	if t.err == nil {
		t.err = err
		t.end(err)
	}
	return t.err
}

func (t *tee) Read(p []byte) (int, error) {
	for {
		if t.err != nil {
			return 0, t.err
		}
		if t.done {
			if len(t.held) == 0 {
				return 0, io.EOF
			}
			n := copy(p, t.held)
			t.held = t.held[n:]
			return n, nil
		}
		if t.read == t.size {
			if err := t.complete(); err != nil {
				return 0, err
			}
			continue
		}
		if len(p) == 0 {
			return 0, nil
		}
		want := int64(len(p))
		if rest := t.size - t.read; rest < want {
			want = rest
		}
		n, err := t.src.Read(p[:want])
		if n > 0 {
			t.hash.Write(p[:n])
			t.queue <- bytes.Clone(p[:n])
			t.read += int64(n)
			if t.read == t.size {
				t.held = []byte{p[n-1]}
				n--
			}
		}
		switch {
		case err == io.EOF && t.read < t.size:
			return n, t.fail(fmt.Errorf("the upstream ended blob %s after %d of %d bytes", t.dgst, t.read, t.size))
		case err != nil && err != io.EOF:
			return n, t.fail(fmt.Errorf("reading blob %s upstream: %w", t.dgst, err))
		}
		if n > 0 {
			return n, nil
		}
	}
}

// complete checks that the upstream ends where it said and that the bytes
// are the digest's, then lets the cache writer finish.
func (t *tee) complete() error {
	var one [1]byte
	for i := 0; ; i++ {
		n, err := t.src.Read(one[:])
		if n > 0 {
			return t.fail(fmt.Errorf("%w: blob %s is longer than the %d bytes announced", errLied, t.dgst, t.size))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return t.fail(fmt.Errorf("reading blob %s upstream: %w", t.dgst, err))
		}
		if i > 100 {
			return t.fail(fmt.Errorf("the upstream does not end blob %s", t.dgst))
		}
	}
	if got := digest.NewDigest(t.dgst.Algorithm(), t.hash); got != t.dgst {
		t.c.log.Warn("pull-through cache: refused an upstream blob", "repository", t.repo.Name, "digest", t.dgst, "got", got)
		return t.fail(fmt.Errorf("%w: blob %s hashes to %s; nothing was cached", errLied, t.dgst, got))
	}
	t.end(nil)
	t.done = true
	return nil
}

// Close ends the client's view. A client that leaves mid-stream leaves
// the rest of the blob to be read into the cache in the background.
func (t *tee) Close() error {
	t.closed.Do(func() {
		if t.done || t.err != nil {
			return
		}
		go func() {
			buf := make([]byte, 256<<10)
			for {
				if _, err := t.Read(buf); err != nil {
					return
				}
			}
		}()
	})
	return nil
}
