package registry_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/registry/blobstore"
	"github.com/berth-dev/berth/store"
)

const crashDirEnv = "BERTH_REGISTRY_CRASH_DIR"

// TestCrashDuringPushes kills a process that pushes (chunked uploads,
// manifests, deletes) while its collector runs, at a random point, three
// times over the same data directory. After each kill -9: every image
// listed is complete, every blob record has its file and every file its
// record (after a collection), and every upload session either resumes
// with the offset of its data file or is cleaned up.
func TestCrashDuringPushes(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns and kills a child process")
	}
	dir := t.TempDir()
	for round := range 3 {
		killAfter := 5 + rand.IntN(20)
		out := runAndKill(t, dir, killAfter)
		t.Logf("round %d: killed after %d pushes", round, killAfter)
		checkAfterCrash(t, dir, out)
	}
}

// runAndKill starts the crash child on dir and kills it with SIGKILL once
// it reported n pushes.
func runAndKill(t *testing.T, dir string, n int) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	sc := bufio.NewScanner(stdout)
	pushes := 0
	for pushes < n && sc.Scan() {
		line := sc.Text()
		log.WriteString(line + "\n")
		if strings.HasPrefix(line, "pushed ") {
			pushes++
		}
	}
	if pushes < n {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child stopped after %d pushes:\n%s\n%s", pushes, log.String(), stderr.String())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, stdout)
	_ = cmd.Wait()
	return log.String()
}

// TestCrashChild is the process TestCrashDuringPushes kills; it does
// nothing unless started by it.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("only runs as the child of TestCrashDuringPushes")
	}
	e := &env{t: t, dir: dir, opts: registry.Options{GCGracePeriod: -1}}
	e.open()
	ref := repoRef("crash")
	if _, err := e.reg.GetRepository(ctx, ref); err != nil {
		e.createRepo("crash", "")
	}
	var outMu sync.Mutex
	report := func(format string, args ...any) {
		outMu.Lock()
		fmt.Fprintf(os.Stdout, format+"\n", args...)
		outMu.Unlock()
	}
	// The collector runs once per push attempt, concurrently with the next
	// one: often enough to race every step of a push, not so often that it
	// starves them.
	kick := make(chan struct{}, 1)
	go func() {
		for range kick {
			if _, err := e.reg.CollectGarbage(ctx); err != nil {
				report("gc error: %v", err)
				os.Exit(2)
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				img := newImage(t, 1+rand.IntN(300<<10), 1+rand.IntN(64<<10))
				tag := fmt.Sprintf("w%d-%d-%d", w, i, time.Now().UnixNano())
				err := chunkedPush(e, ref, img, tag)
				select {
				case kick <- struct{}{}:
				default:
				}
				switch {
				case err == nil:
					report("pushed %s %s", tag, img.digest)
				case errors.Is(err, registry.ErrManifestBlobUnknown):
					// The collector took a layer first; try another image.
				default:
					report("push error: %v", err)
					os.Exit(2)
				}
				if i%5 == 4 {
					if images, err := e.reg.ListImages(ctx, ref); err == nil && len(images) > 0 {
						_, _ = e.reg.DeleteManifest(ctx, ref, images[rand.IntN(len(images))].Digest)
					}
				}
				// Leave an upload half done now and then, for the next run to find.
				if i%4 == 0 {
					if up, err := e.reg.StartUpload(ctx, ref); err == nil {
						_, _ = e.reg.AppendUpload(ctx, ref, up.ID, 0, bytes.NewReader(randomData(t, 1000)))
					}
				}
			}
		}()
	}
	wg.Wait()
}

// chunkedPush uploads each blob in 64 KiB chunks, then the manifest.
func chunkedPush(e *env, ref registry.Repo, img image, tag string) error {
	for _, b := range append([][]byte{img.config}, img.layers...) {
		up, err := e.reg.StartUpload(ctx, ref)
		if err != nil {
			return err
		}
		for off := 0; off < len(b); off += 64 << 10 {
			end := min(off+64<<10, len(b))
			if _, err := e.reg.AppendUpload(ctx, ref, up.ID, int64(off), bytes.NewReader(b[off:end])); err != nil {
				return err
			}
		}
		if _, err := e.reg.CompleteUpload(ctx, ref, up.ID, digest.FromBytes(b), nil); err != nil {
			return err
		}
	}
	_, _, err := e.reg.PutManifest(ctx, ref, tag, ocispec.MediaTypeImageManifest, img.body)
	return err
}

func checkAfterCrash(t *testing.T, dir, childLog string) {
	t.Helper()
	e := &env{t: t, dir: dir, opts: registry.Options{GCGracePeriod: -1, UploadTTL: -1}}
	e.open()
	defer e.close()
	ref := repoRef("crash")

	// Images: complete, whatever the moment of the kill.
	assertImagesComplete(t, e, ref)

	// Upload sessions resume at the size of their data file; completing
	// one with the digest of that data works (hash state or rehash).
	var uploads []store.Upload
	if err := e.st.View(ctx, func(tx store.Tx) error {
		var err error
		uploads, err = tx.StaleUploads(time.Now().Add(24*time.Hour), 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	resumed := 0
	for i, u := range uploads {
		st, err := e.reg.UploadStatus(ctx, ref, u.ID)
		if err != nil {
			// The data of a session that was being created is gone: it
			// must read as unknown, and the collector removes the record.
			if !errors.Is(err, registry.ErrUploadUnknown) {
				t.Fatalf("upload %s: %v", u.ID, err)
			}
			continue
		}
		info, err := e.fs.StatUpload(ctx, u.ID)
		if err != nil || info.Size != st.Offset {
			t.Fatalf("upload %s resumes at %d, its data file holds %d (%v)", u.ID, st.Offset, info.Size, err)
		}
		if i%2 == 1 {
			continue // left for the collector
		}
		rc, err := e.fs.OpenUpload(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := digest.FromReader(rc)
		rc.Close()
		if _, err := e.reg.CompleteUpload(ctx, ref, u.ID, d, nil); err != nil {
			t.Fatalf("completing resumed upload %s: %v", u.ID, err)
		}
		resumed++
	}

	// A collection removes what the crash orphaned; then records and
	// files agree exactly and no upload is left.
	if _, err := e.reg.CollectGarbage(ctx); err != nil {
		t.Fatal(err)
	}
	recorded := map[digest.Digest]int64{}
	if err := e.st.View(ctx, func(tx store.Tx) error {
		bs, err := tx.ListBlobs("", 0)
		for _, b := range bs {
			recorded[b.Digest] = b.Size
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	files := map[digest.Digest]int64{}
	if err := e.fs.Walk(ctx, func(info blobstore.Info) error { files[info.Digest] = info.Size; return nil }); err != nil {
		t.Fatal(err)
	}
	for d, size := range recorded {
		if fsize, ok := files[d]; !ok || fsize != size {
			t.Fatalf("blob %s recorded (%d bytes) but its file is missing or %d bytes", d, size, fsize)
		}
	}
	for d := range files {
		if _, ok := recorded[d]; !ok {
			t.Fatalf("blob file %s has no record after collection", d)
		}
	}
	leftover := 0
	_ = e.fs.WalkUploads(ctx, func(blobstore.UploadInfo) error { leftover++; return nil })
	if leftover != 0 {
		t.Fatalf("%d upload directories left after collection", leftover)
	}
	images, _ := e.reg.ListImages(ctx, ref)
	t.Logf("after crash: %d images intact, %d sessions found, %d resumed, %d blobs", len(images), len(uploads), resumed, len(recorded))
}
