package replication

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/registry/blobstore/filesystem"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/store/sqlite"
)

func TestDestinationsFor(t *testing.T) {
	west := Destination{Region: "us-west-2", RegistryID: "111122223333"}
	other := Destination{Region: "eu-west-1", RegistryID: "444455556666"}
	cfg := Configuration{Rules: []Rule{
		{Destinations: []Destination{west}, Prefixes: []string{"prod", "stage/"}},
		{Destinations: []Destination{west, other}, Prefixes: []string{"prod/api"}},
		{Destinations: []Destination{other}},
	}}
	for name, want := range map[string][]Destination{
		"prod/api":   {west, other},
		"production": {west, other},
		"stage/x":    {west, other},
		"dev/x":      {other},
	} {
		if got := cfg.DestinationsFor(name); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
}

func TestBackoffAndQueueIDs(t *testing.T) {
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 30: maxBackoff} {
		if got := backoff(n); got != want {
			t.Errorf("backoff(%d) = %s, want %s", n, got, want)
		}
	}
	r := registry.Repo{Account: "111122223333", Region: "us-east-1", Name: "team/app"}
	d := digest.FromString("x")
	got, gd, ok := parseQueueID(queueID(r, d))
	if !ok || got != r || gd != d {
		t.Errorf("queue id round trip: %v %s %v", got, gd, ok)
	}
	if _, _, ok := parseQueueID("nope"); ok {
		t.Error("a malformed queue id parsed")
	}
}

type regs struct {
	reg   *registry.Registry
	allow bool
}

func (r regs) EnsureRepository(ctx context.Context, repo registry.Repo, _ string) error {
	_, err := r.reg.CreateRepository(ctx, registry.Repository{Repo: repo})
	if errors.Is(err, registry.ErrRepositoryExists) {
		return nil
	}
	return err
}

func (r regs) ReplicationAllowed(context.Context, string, registry.Repo, bool) (bool, error) {
	return r.allow, nil
}

// An image pushed to a matching repository reaches every destination in
// this server: same-account Regions always, another account only with
// its permission; the replica is not replicated again.
func TestLocalReplication(t *testing.T) {
	old := pollEvery
	pollEvery = 20 * time.Millisecond
	t.Cleanup(func() { pollEvery = old })
	dir := t.TempDir()
	st, err := sqlite.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := filesystem.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	var rep *Replicator
	reg := registry.New(st, fs, registry.Options{OnPush: func(img registry.Image) {
		if rep != nil {
			rep.OnPush(img)
		}
	}})
	t.Cleanup(func() { reg.Close(); st.Close() })
	rep, err = New(Options{Registry: reg, Store: st, Registries: regs{reg: reg}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rep.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	src := registry.Repo{Account: "111122223333", Region: "us-east-1", Name: "prod/app"}
	west := Destination{Region: "us-west-2", RegistryID: "111122223333"}
	other := Destination{Region: "us-west-2", RegistryID: "444455556666"}
	if err := st.Update(ctx, func(tx store.Tx) error {
		_, err := PutConfig(tx, src.Account, src.Region, Configuration{Rules: []Rule{{Destinations: []Destination{west, other}}}}, time.Now())
		if err != nil {
			return err
		}
		_, err = PutConfig(tx, west.RegistryID, west.Region, Configuration{Rules: []Rule{{Destinations: []Destination{{Region: "eu-west-1", RegistryID: west.RegistryID}}}}}, time.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.CreateRepository(ctx, registry.Repository{Repo: src}); err != nil {
		t.Fatal(err)
	}
	config, layer := []byte(`{"os":"linux"}`), []byte("layer bytes")
	for _, b := range [][]byte{config, layer} {
		if _, err := reg.PutBlob(ctx, src, digest.FromBytes(b), bytesReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	manifest := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%d}]}`,
		digest.FromBytes(config), len(config), digest.FromBytes(layer), len(layer)))
	img, _, err := reg.PutManifest(ctx, src, "v1", "", manifest)
	if err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		sts, err := rep.Status(ctx, src, img.Digest)
		if err != nil {
			t.Fatal(err)
		}
		got := map[Destination]string{}
		for _, s := range sts {
			got[s.Destination] = s.Status + ":" + s.FailureCode
		}
		if got[west] == Complete+":" && got[other] == Failed+":"+FailureAccessDenied {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("statuses: %v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	to := registry.Repo{Account: west.RegistryID, Region: west.Region, Name: src.Name}
	if got, _, err := reg.GetManifest(ctx, to, "v1"); err != nil || got.Digest != img.Digest {
		t.Fatalf("the replica: %v %v", got.Digest, err)
	}
	time.Sleep(200 * time.Millisecond)
	if sts, _ := rep.Status(ctx, to, img.Digest); len(sts) != 0 {
		t.Errorf("the replica was replicated again: %v", sts)
	}
	if _, err := reg.GetRepository(ctx, registry.Repo{Account: other.RegistryID, Region: other.Region, Name: src.Name}); !errors.Is(err, registry.ErrRepositoryNotFound) {
		t.Errorf("a repository was made in the account that did not allow it: %v", err)
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
