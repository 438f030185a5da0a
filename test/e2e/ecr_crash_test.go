package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/test/harness"
)

// kill -9 during a stream of pushes: after a restart every image a
// repository lists can be pulled in full, and an upload started before the
// crash either resumes or is gone (404), never half there.
func TestECRCrashDuringPushes(t *testing.T) {
	b := harness.Start(t)
	ctx := context.Background()
	repos := []string{"crash/a", "crash/b"}
	for _, r := range repos {
		createRepo(t, b, r)
	}
	pw := registryPassword(t, b)
	auth := remote.WithAuth(&authn.Basic{Username: "AWS", Password: pw})

	// An upload in progress across the crash: one chunk sent.
	first := randomBytes(t, 64<<10)
	second := randomBytes(t, 32<<10)
	location := startChunkedUpload(t, b, pw, "crash/a", first)

	// Pushers run until the process dies under them.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var mu sync.Mutex
	ok := 0
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				img := harness.RandomImage(t, 3, 16<<10)
				ref, _ := name.ParseReference(fmt.Sprintf("%s/%s:w%d-%d", b.RegistryHost(), repos[w%2], w, i), name.Insecure)
				pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
				err := remote.Write(ref, img, auth, remote.WithContext(pctx))
				cancel()
				if err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}
		}(w)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := ok
		mu.Unlock()
		if n >= 8 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Kill()
	close(stop)
	wg.Wait()
	if ok == 0 {
		t.Fatal("no push completed before the kill")
	}
	b.Restart()

	// Every listed image is whole.
	c := ecrClient(b)
	images := 0
	for _, r := range repos {
		out, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(r), MaxResults: aws.Int32(1000)})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range out.ImageDetails {
			images++
			ref, _ := name.ParseReference(fmt.Sprintf("%s/%s@%s", b.RegistryHost(), r, aws.ToString(d.ImageDigest)), name.Insecure)
			img, err := remote.Image(ref, auth)
			if err != nil {
				t.Errorf("listed image %s cannot be fetched: %v", ref, err)
				continue
			}
			layers, err := img.Layers()
			if err != nil {
				t.Errorf("%s: %v", ref, err)
				continue
			}
			if _, err := img.RawConfigFile(); err != nil {
				t.Errorf("%s: config: %v", ref, err)
			}
			for _, l := range layers {
				rc, err := l.Compressed()
				if err == nil {
					_, err = io.Copy(io.Discard, rc)
					rc.Close()
				}
				if err != nil {
					t.Errorf("%s: layer: %v", ref, err)
				}
			}
		}
	}
	if images < ok {
		t.Errorf("%d images listed after the restart, but %d pushes completed before the kill", images, ok)
	}
	t.Logf("%d pushes completed before kill -9; %d images listed and whole after restart", ok, images)

	// The upload from before the crash resumes or is gone.
	status, rng := uploadStatus(t, b, pw, location)
	switch status {
	case http.StatusNoContent:
		if rng != fmt.Sprintf("0-%d", len(first)-1) {
			t.Fatalf("resumed upload reports Range %q, want 0-%d", rng, len(first)-1)
		}
		whole := append(append([]byte{}, first...), second...)
		finishChunkedUpload(t, b, pw, location, len(first), second, sha(whole))
		code, _ := httpStatus(t, "HEAD", b.Endpoint()+"/v2/crash/a/blobs/"+sha(whole), "AWS", pw)
		if code != http.StatusOK {
			t.Errorf("blob of the resumed upload: HEAD %d", code)
		}
	case http.StatusNotFound:
		t.Log("the upload in progress was cleaned up by the restart")
	default:
		t.Errorf("upload in progress after the restart: status %d", status)
	}
}

func absolute(b *harness.Berth, location string) string {
	if strings.HasPrefix(location, "/") {
		return b.Endpoint() + location
	}
	return location
}

func startChunkedUpload(t *testing.T, b *harness.Berth, pw, repo string, chunk []byte) string {
	t.Helper()
	req, _ := http.NewRequest("POST", b.Endpoint()+"/v2/"+repo+"/blobs/uploads/", nil)
	req.SetBasicAuth("AWS", pw)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("starting an upload: %s", resp.Status)
	}
	loc := absolute(b, resp.Header.Get("Location"))
	req, _ = http.NewRequest("PATCH", loc, bytes.NewReader(chunk))
	req.SetBasicAuth("AWS", pw)
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Range", fmt.Sprintf("0-%d", len(chunk)-1))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("first chunk: %s", resp.Status)
	}
	return absolute(b, resp.Header.Get("Location"))
}

func uploadStatus(t *testing.T, b *harness.Berth, pw, loc string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", loc, nil)
	req.SetBasicAuth("AWS", pw)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Range")
}

func finishChunkedUpload(t *testing.T, b *harness.Berth, pw, loc string, offset int, chunk []byte, dgst string) {
	t.Helper()
	req, _ := http.NewRequest("PATCH", loc, bytes.NewReader(chunk))
	req.SetBasicAuth("AWS", pw)
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", offset, offset+len(chunk)-1))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("resumed chunk: %s", resp.Status)
	}
	loc = absolute(b, resp.Header.Get("Location"))
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	req, _ = http.NewRequest("PUT", loc+sep+"digest="+dgst, nil)
	req.SetBasicAuth("AWS", pw)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("closing the resumed upload: %s", resp.Status)
	}
}
