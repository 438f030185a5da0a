// Package storetest is the suite every store.Store backend passes: a new
// backend is proven by the same tests as the old one.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/store"
)

// Run runs the suite; open returns a new, empty store for each test.
func Run(t *testing.T, open func() store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Repositories", testRepositories},
		{"RollbackOnError", testRollback},
		{"ViewIsReadOnly", testViewReadOnly},
		{"Manifests", testManifests},
		{"ManifestReferencesAreEnforced", testManifestRefs},
		{"Tags", testTags},
		{"BlobsAndLinks", testBlobs},
		{"GarbageCollectionQueries", testGC},
		{"Uploads", testUploads},
		{"DeleteRepositoryCascades", testDeleteRepository},
		{"Resources", testResources},
		{"ECSTasks", testECSTasks},
		{"Logs", testLogs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open()
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func update(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("update: %v", err)
	}
}

func view(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("view: %v", err)
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got %v, want %v", what, err, target)
	}
}

func dg(s string) digest.Digest { return digest.FromString(s) }

func newRepo(t *testing.T, s store.Store, name string) store.Repository {
	t.Helper()
	r := store.Repository{Account: "111122223333", Region: "us-east-1", Name: name, CreatedAt: t0, TagMutability: "MUTABLE"}
	update(t, s, func(tx store.Tx) error { return tx.CreateRepository(&r) })
	return r
}

func putBlobs(t *testing.T, s store.Store, repoID int64, names ...string) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		for _, n := range names {
			if err := tx.PutBlob(store.Blob{Digest: dg(n), Size: int64(len(n)), CreatedAt: t0}); err != nil {
				return err
			}
			if repoID != 0 {
				if err := tx.LinkBlob(repoID, dg(n), t0); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func manifest(repoID int64, name string) store.Manifest {
	return store.Manifest{
		RepoID: repoID, Digest: dg(name), MediaType: "application/vnd.oci.image.manifest.v1+json",
		Size: 42, Body: []byte(`{"m":"` + name + `"}`), PushedAt: t0,
	}
}

func testRepositories(t *testing.T, s store.Store) {
	settings := json.RawMessage(`{"scanOnPush":true}`)
	r := store.Repository{
		Account: "111122223333", Region: "us-east-1", Name: "team/app", CreatedAt: t0,
		TagMutability: "IMMUTABLE_WITH_EXCLUSION", MutabilityExclusions: []string{"dev-*"}, Settings: settings,
	}
	update(t, s, func(tx store.Tx) error { return tx.CreateRepository(&r) })
	if r.ID == 0 {
		t.Fatal("CreateRepository did not assign an ID")
	}
	dup := r
	wantErr(t, "duplicate", s.Update(context.Background(), func(tx store.Tx) error { return tx.CreateRepository(&dup) }), store.ErrConflict)
	// The same name in another region or account is another repository.
	for _, other := range []store.Repository{
		{Account: "111122223333", Region: "eu-west-1", Name: "team/app", CreatedAt: t0, TagMutability: "MUTABLE"},
		{Account: "444455556666", Region: "us-east-1", Name: "team/app", CreatedAt: t0, TagMutability: "MUTABLE"},
	} {
		update(t, s, func(tx store.Tx) error { return tx.CreateRepository(&other) })
	}
	for _, n := range []string{"b", "a", "c"} {
		newRepo(t, s, n)
	}
	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetRepository("111122223333", "us-east-1", "team/app")
		if err != nil {
			return err
		}
		if got.ID != r.ID || !got.CreatedAt.Equal(t0) || got.TagMutability != r.TagMutability ||
			!slices.Equal(got.MutabilityExclusions, r.MutabilityExclusions) || string(got.Settings) != string(settings) {
			return fmt.Errorf("GetRepository = %+v, want %+v", got, r)
		}
		byID, err := tx.GetRepositoryByID(r.ID)
		if err != nil || byID.Name != "team/app" {
			return fmt.Errorf("GetRepositoryByID = %+v, %v", byID, err)
		}
		if _, err := tx.GetRepository("111122223333", "us-east-1", "nope"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("missing repository: %v", err)
		}
		page, err := tx.ListRepositories("111122223333", "us-east-1", "", 2)
		if err != nil {
			return err
		}
		if names := repoNames(page); !slices.Equal(names, []string{"a", "b"}) {
			return fmt.Errorf("first page %v", names)
		}
		page, err = tx.ListRepositories("111122223333", "us-east-1", "b", 0)
		if err != nil {
			return err
		}
		if names := repoNames(page); !slices.Equal(names, []string{"c", "team/app"}) {
			return fmt.Errorf("second page %v", names)
		}
		return nil
	})
	r.TagMutability = "MUTABLE"
	r.MutabilityExclusions = nil
	r.Settings = nil
	update(t, s, func(tx store.Tx) error { return tx.UpdateRepository(r) })
	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetRepositoryByID(r.ID)
		if err != nil {
			return err
		}
		if got.TagMutability != "MUTABLE" || len(got.MutabilityExclusions) != 0 || got.Settings != nil {
			return fmt.Errorf("after update %+v", got)
		}
		return nil
	})
	wantErr(t, "update missing", s.Update(context.Background(), func(tx store.Tx) error {
		return tx.UpdateRepository(store.Repository{ID: 9999, TagMutability: "MUTABLE"})
	}), store.ErrNotFound)
}

func repoNames(rs []store.Repository) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func testRollback(t *testing.T, s store.Store) {
	boom := errors.New("boom")
	err := s.Update(context.Background(), func(tx store.Tx) error {
		r := store.Repository{Account: "1", Region: "r", Name: "x", CreatedAt: t0, TagMutability: "MUTABLE"}
		if err := tx.CreateRepository(&r); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, "update", err, boom)
	view(t, s, func(tx store.Tx) error {
		if _, err := tx.GetRepository("1", "r", "x"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("rolled back repository is visible: %v", err)
		}
		return nil
	})
}

func testViewReadOnly(t *testing.T, s store.Store) {
	err := s.View(context.Background(), func(tx store.Tx) error {
		r := store.Repository{Account: "1", Region: "r", Name: "x", CreatedAt: t0, TagMutability: "MUTABLE"}
		return tx.CreateRepository(&r)
	})
	if err == nil {
		t.Fatal("a write inside View succeeded")
	}
}

func testManifests(t *testing.T, s store.Store) {
	r := newRepo(t, s, "app")
	putBlobs(t, s, r.ID, "config", "layer")
	m := manifest(r.ID, "image")
	m.ArtifactType = "application/vnd.example"
	m.Annotations = map[string]string{"k": "v"}
	update(t, s, func(tx store.Tx) error {
		return tx.PutManifest(m, store.ManifestRefs{Blobs: []digest.Digest{dg("config"), dg("layer"), dg("layer")}})
	})
	wantErr(t, "duplicate manifest", s.Update(context.Background(), func(tx store.Tx) error {
		return tx.PutManifest(m, store.ManifestRefs{})
	}), store.ErrConflict)
	ref := manifest(r.ID, "signature")
	ref.Subject = m.Digest
	index := manifest(r.ID, "index")
	index.MediaType = "application/vnd.oci.image.index.v1+json"
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutManifest(ref, store.ManifestRefs{}); err != nil {
			return err
		}
		return tx.PutManifest(index, store.ManifestRefs{Manifests: []digest.Digest{m.Digest}})
	})
	pulled := t0.Add(time.Hour)
	update(t, s, func(tx store.Tx) error { return tx.SetLastPulled(r.ID, m.Digest, pulled) })
	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetManifest(r.ID, m.Digest)
		if err != nil {
			return err
		}
		if string(got.Body) != string(m.Body) || got.BodySize != int64(len(m.Body)) || got.MediaType != m.MediaType ||
			got.ArtifactType != m.ArtifactType || got.Size != 42 || got.Annotations["k"] != "v" ||
			!got.PushedAt.Equal(t0) || !got.LastPulledAt.Equal(pulled) {
			return fmt.Errorf("GetManifest = %+v", got)
		}
		list, err := tx.ListManifests(r.ID)
		if err != nil {
			return err
		}
		if len(list) != 3 || list[0].Digest != m.Digest || list[2].Digest != index.Digest || list[0].Body != nil {
			return fmt.Errorf("ListManifests = %+v", list)
		}
		if n, err := tx.CountManifests(r.ID); err != nil || n != 3 {
			return fmt.Errorf("CountManifests = %d, %v", n, err)
		}
		refs, err := tx.Referrers(r.ID, m.Digest)
		if err != nil || len(refs) != 1 || refs[0].Digest != ref.Digest {
			return fmt.Errorf("Referrers = %+v, %v", refs, err)
		}
		parents, err := tx.ManifestParents(r.ID, m.Digest)
		if err != nil || !slices.Equal(parents, []digest.Digest{index.Digest}) {
			return fmt.Errorf("ManifestParents = %v, %v", parents, err)
		}
		users, err := tx.ManifestsReferencingBlob(r.ID, dg("layer"))
		if err != nil || !slices.Equal(users, []digest.Digest{m.Digest}) {
			return fmt.Errorf("ManifestsReferencingBlob = %v, %v", users, err)
		}
		if _, err := tx.GetManifest(r.ID, dg("nope")); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("missing manifest: %v", err)
		}
		return nil
	})
	// A child cannot go while its index exists.
	wantErr(t, "delete child", s.Update(context.Background(), func(tx store.Tx) error {
		return tx.DeleteManifest(r.ID, m.Digest)
	}), store.ErrConflict)
	update(t, s, func(tx store.Tx) error {
		if err := tx.DeleteManifest(r.ID, index.Digest); err != nil {
			return err
		}
		return tx.DeleteManifest(r.ID, m.Digest)
	})
	wantErr(t, "delete again", s.Update(context.Background(), func(tx store.Tx) error {
		return tx.DeleteManifest(r.ID, m.Digest)
	}), store.ErrNotFound)
	view(t, s, func(tx store.Tx) error {
		users, err := tx.ManifestsReferencingBlob(r.ID, dg("layer"))
		if err != nil || len(users) != 0 {
			return fmt.Errorf("references survived the manifest: %v, %v", users, err)
		}
		return nil
	})
}

func testManifestRefs(t *testing.T, s store.Store) {
	r := newRepo(t, s, "app")
	other := newRepo(t, s, "other")
	wantErr(t, "unknown blob", s.Update(context.Background(), func(tx store.Tx) error {
		return tx.PutManifest(manifest(r.ID, "m"), store.ManifestRefs{Blobs: []digest.Digest{dg("missing")}})
	}), store.ErrNotFound)
	update(t, s, func(tx store.Tx) error { return tx.PutManifest(manifest(other.ID, "child"), store.ManifestRefs{}) })
	wantErr(t, "child in another repository", s.Update(context.Background(), func(tx store.Tx) error {
		return tx.PutManifest(manifest(r.ID, "index"), store.ManifestRefs{Manifests: []digest.Digest{dg("child")}})
	}), store.ErrNotFound)
	view(t, s, func(tx store.Tx) error {
		if _, err := tx.GetManifest(r.ID, dg("m")); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("failed PutManifest left a row: %v", err)
		}
		return nil
	})
}

func testTags(t *testing.T, s store.Store) {
	r := newRepo(t, s, "app")
	update(t, s, func(tx store.Tx) error {
		for _, n := range []string{"one", "two"} {
			if err := tx.PutManifest(manifest(r.ID, n), store.ManifestRefs{}); err != nil {
				return err
			}
		}
		for _, tag := range []string{"v3", "v1", "latest", "v2"} {
			if err := tx.PutTag(r.ID, store.Tag{Name: tag, Digest: dg("one"), UpdatedAt: t0}); err != nil {
				return err
			}
		}
		// Moving a tag.
		return tx.PutTag(r.ID, store.Tag{Name: "latest", Digest: dg("two"), UpdatedAt: t0.Add(time.Minute)})
	})
	wantErr(t, "tag to unknown manifest", s.Update(context.Background(), func(tx store.Tx) error {
		return tx.PutTag(r.ID, store.Tag{Name: "x", Digest: dg("nope"), UpdatedAt: t0})
	}), store.ErrNotFound)
	view(t, s, func(tx store.Tx) error {
		tag, err := tx.GetTag(r.ID, "latest")
		if err != nil || tag.Digest != dg("two") || !tag.UpdatedAt.Equal(t0.Add(time.Minute)) {
			return fmt.Errorf("GetTag = %+v, %v", tag, err)
		}
		all, err := tx.ListTags(r.ID, "", -1)
		if err != nil {
			return err
		}
		if names := tagNames(all); !slices.Equal(names, []string{"latest", "v1", "v2", "v3"}) {
			return fmt.Errorf("ListTags = %v", names)
		}
		page, err := tx.ListTags(r.ID, "latest", 2)
		if err != nil {
			return err
		}
		if names := tagNames(page); !slices.Equal(names, []string{"v1", "v2"}) {
			return fmt.Errorf("ListTags page = %v", names)
		}
		of, err := tx.TagsOf(r.ID, dg("one"))
		if err != nil || !slices.Equal(of, []string{"v1", "v2", "v3"}) {
			return fmt.Errorf("TagsOf = %v, %v", of, err)
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error { return tx.DeleteTag(r.ID, "v1") })
	wantErr(t, "delete missing tag", s.Update(context.Background(), func(tx store.Tx) error {
		return tx.DeleteTag(r.ID, "v1")
	}), store.ErrNotFound)
	// Deleting a manifest takes its tags with it.
	update(t, s, func(tx store.Tx) error { return tx.DeleteManifest(r.ID, dg("one")) })
	view(t, s, func(tx store.Tx) error {
		all, err := tx.ListTags(r.ID, "", 0)
		if err != nil {
			return err
		}
		if names := tagNames(all); !slices.Equal(names, []string{"latest"}) {
			return fmt.Errorf("tags after manifest delete = %v", names)
		}
		return nil
	})
}

func tagNames(ts []store.Tag) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

func testBlobs(t *testing.T, s store.Store) {
	a := newRepo(t, s, "a")
	b := newRepo(t, s, "b")
	putBlobs(t, s, a.ID, "layer")
	wantErr(t, "link unknown blob", s.Update(context.Background(), func(tx store.Tx) error {
		return tx.LinkBlob(a.ID, dg("nope"), t0)
	}), store.ErrNotFound)
	// Recording the blob again refreshes its time, never moves it back.
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutBlob(store.Blob{Digest: dg("layer"), Size: 5, CreatedAt: t0.Add(time.Hour)}); err != nil {
			return err
		}
		return tx.PutBlob(store.Blob{Digest: dg("layer"), Size: 5, CreatedAt: t0})
	})
	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetBlob(dg("layer"))
		if err != nil || got.Size != 5 || !got.CreatedAt.Equal(t0.Add(time.Hour)) {
			return fmt.Errorf("GetBlob = %+v, %v", got, err)
		}
		if _, err := tx.LinkedBlob(a.ID, dg("layer")); err != nil {
			return fmt.Errorf("LinkedBlob in a: %v", err)
		}
		if _, err := tx.LinkedBlob(b.ID, dg("layer")); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("LinkedBlob in b: %v", err)
		}
		all, err := tx.ListBlobs("", 0)
		if err != nil || len(all) != 1 || all[0].Digest != dg("layer") {
			return fmt.Errorf("ListBlobs = %+v, %v", all, err)
		}
		if rest, err := tx.ListBlobs(dg("layer"), 10); err != nil || len(rest) != 0 {
			return fmt.Errorf("ListBlobs after the last = %+v, %v", rest, err)
		}
		id, err := tx.FindLink(a.Account, a.Region, dg("layer"))
		if err != nil || id != a.ID {
			return fmt.Errorf("FindLink = %d, %v", id, err)
		}
		if _, err := tx.FindLink("999999999999", a.Region, dg("layer")); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("FindLink across accounts: %v", err)
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error { return tx.UnlinkBlob(a.ID, dg("layer")) })
	wantErr(t, "unlink again", s.Update(context.Background(), func(tx store.Tx) error {
		return tx.UnlinkBlob(a.ID, dg("layer"))
	}), store.ErrNotFound)
}

func testGC(t *testing.T, s store.Store) {
	r := newRepo(t, s, "app")
	putBlobs(t, s, 0, "orphan")            // recorded, linked nowhere
	putBlobs(t, s, r.ID, "used", "unused") // linked
	putBlobs(t, s, r.ID, "fresh")          // linked, relinked below
	update(t, s, func(tx store.Tx) error {
		if err := tx.LinkBlob(r.ID, dg("fresh"), t0.Add(2*time.Hour)); err != nil {
			return err
		}
		return tx.PutManifest(manifest(r.ID, "m"), store.ManifestRefs{Blobs: []digest.Digest{dg("used")}})
	})
	cutoff := t0.Add(time.Hour)
	view(t, s, func(tx store.Tx) error {
		got, err := tx.CollectableBlobs(cutoff, 0)
		if err != nil {
			return err
		}
		var names []digest.Digest
		for _, b := range got {
			names = append(names, b.Digest)
		}
		want := []digest.Digest{dg("orphan"), dg("unused")}
		slices.Sort(want)
		if !slices.Equal(names, want) {
			return fmt.Errorf("CollectableBlobs = %v, want %v", names, want)
		}
		// Nothing is old enough before the blobs were recorded.
		if got, err := tx.CollectableBlobs(t0, 0); err != nil || len(got) != 0 {
			return fmt.Errorf("CollectableBlobs(t0) = %v, %v", got, err)
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error {
		for _, n := range []string{"used", "fresh"} {
			if ok, err := tx.DeleteBlobIfCollectable(dg(n), cutoff); err != nil || ok {
				return fmt.Errorf("DeleteBlobIfCollectable(%s) = %v, %v", n, ok, err)
			}
		}
		if ok, err := tx.DeleteBlobIfCollectable(dg("unused"), cutoff); err != nil || !ok {
			return fmt.Errorf("DeleteBlobIfCollectable(unused) = %v, %v", ok, err)
		}
		return nil
	})
	view(t, s, func(tx store.Tx) error {
		if _, err := tx.GetBlob(dg("unused")); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("collected blob still recorded: %v", err)
		}
		if _, err := tx.LinkedBlob(r.ID, dg("unused")); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("collected blob still linked: %v", err)
		}
		return nil
	})
}

func testUploads(t *testing.T, s store.Store) {
	r := newRepo(t, s, "app")
	u := store.Upload{ID: "u1", RepoID: r.ID, StartedAt: t0, UpdatedAt: t0, Size: 10, HashAlgorithm: "sha256", HashState: []byte{1, 2, 3}}
	old := store.Upload{ID: "u0", RepoID: r.ID, StartedAt: t0.Add(-48 * time.Hour), UpdatedAt: t0.Add(-48 * time.Hour)}
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutUpload(u); err != nil {
			return err
		}
		return tx.PutUpload(old)
	})
	u.Size = 20
	u.UpdatedAt = t0.Add(time.Minute)
	update(t, s, func(tx store.Tx) error { return tx.PutUpload(u) })
	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetUpload("u1")
		if err != nil || got.Size != 20 || got.HashAlgorithm != "sha256" || string(got.HashState) != string(u.HashState) ||
			!got.StartedAt.Equal(t0) || !got.UpdatedAt.Equal(u.UpdatedAt) {
			return fmt.Errorf("GetUpload = %+v, %v", got, err)
		}
		stale, err := tx.StaleUploads(t0.Add(-24*time.Hour), 0)
		if err != nil || len(stale) != 1 || stale[0].ID != "u0" {
			return fmt.Errorf("StaleUploads = %+v, %v", stale, err)
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error { return tx.DeleteUpload("u1") })
	wantErr(t, "get deleted upload", s.View(context.Background(), func(tx store.Tx) error {
		_, err := tx.GetUpload("u1")
		return err
	}), store.ErrNotFound)
}

func testDeleteRepository(t *testing.T, s store.Store) {
	r := newRepo(t, s, "app")
	putBlobs(t, s, r.ID, "config")
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutManifest(manifest(r.ID, "m"), store.ManifestRefs{Blobs: []digest.Digest{dg("config")}}); err != nil {
			return err
		}
		if err := tx.PutManifest(manifest(r.ID, "index"), store.ManifestRefs{Manifests: []digest.Digest{dg("m")}}); err != nil {
			return err
		}
		if err := tx.PutTag(r.ID, store.Tag{Name: "latest", Digest: dg("index"), UpdatedAt: t0}); err != nil {
			return err
		}
		return tx.PutUpload(store.Upload{ID: "u", RepoID: r.ID, StartedAt: t0, UpdatedAt: t0})
	})
	update(t, s, func(tx store.Tx) error { return tx.DeleteRepository(r.ID) })
	view(t, s, func(tx store.Tx) error {
		if _, err := tx.GetUpload("u"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("upload survived: %v", err)
		}
		if _, err := tx.GetBlob(dg("config")); err != nil {
			return fmt.Errorf("blob record should stay for the collector: %v", err)
		}
		got, err := tx.CollectableBlobs(t0.Add(time.Hour), 0)
		if err != nil || len(got) != 1 {
			return fmt.Errorf("blob of a deleted repository is not collectable: %v, %v", got, err)
		}
		return nil
	})
}

func testResources(t *testing.T, s store.Store) {
	put := func(id, doc string) {
		update(t, s, func(tx store.Tx) error {
			return tx.PutResource(store.Resource{Kind: "ecr/policy", Account: "1", Region: "r", ID: id, Doc: json.RawMessage(doc), UpdatedAt: t0})
		})
	}
	put("repo/a", `{"v":1}`)
	put("repo/b", `{"v":2}`)
	put("repo/c", `{"v":3}`)
	put("other", `{}`)
	put("repo/a", `{"v":4}`) // replace
	if err := s.Update(context.Background(), func(tx store.Tx) error {
		return tx.PutResource(store.Resource{Kind: "k", Account: "1", Region: "r", ID: "x", Doc: json.RawMessage(`{`)})
	}); err == nil {
		t.Fatal("invalid JSON was stored")
	}
	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetResource("ecr/policy", "1", "r", "repo/a")
		if err != nil || string(got.Doc) != `{"v":4}` || !got.UpdatedAt.Equal(t0) {
			return fmt.Errorf("GetResource = %+v, %v", got, err)
		}
		if _, err := tx.GetResource("ecr/policy", "2", "r", "repo/a"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("resource leaked across accounts: %v", err)
		}
		page, err := tx.ListResources("ecr/policy", "1", "r", "repo/", store.Page{Limit: 2})
		if err != nil || len(page) != 2 || page[0].ID != "repo/a" || page[1].ID != "repo/b" {
			return fmt.Errorf("ListResources page 1 = %+v, %v", page, err)
		}
		page, err = tx.ListResources("ecr/policy", "1", "r", "repo/", store.Page{After: "repo/b", Limit: 2})
		if err != nil || len(page) != 1 || page[0].ID != "repo/c" {
			return fmt.Errorf("ListResources page 2 = %+v, %v", page, err)
		}
		all, err := tx.ListResources("ecr/policy", "1", "r", "", store.Page{})
		if err != nil || len(all) != 4 {
			return fmt.Errorf("ListResources all = %d, %v", len(all), err)
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error { return tx.DeleteResource("ecr/policy", "1", "r", "repo/a") })
	wantErr(t, "delete missing resource", s.Update(context.Background(), func(tx store.Tx) error {
		return tx.DeleteResource("ecr/policy", "1", "r", "repo/a")
	}), store.ErrNotFound)
}

func testECSTasks(t *testing.T, s store.Store) {
	put := func(cluster, id, status, group string) {
		update(t, s, func(tx store.Tx) error {
			return tx.PutECSTask(store.ECSTask{Account: "1", Region: "r", Cluster: cluster, ID: id, Family: "web",
				StartedBy: "me", Group: group, DesiredStatus: status, LaunchType: "FARGATE",
				Doc: json.RawMessage(`{"id":"` + id + `"}`), UpdatedAt: t0})
		})
	}
	put("c", "t1", "RUNNING", "service:a")
	put("c", "t2", "RUNNING", "family:web")
	put("c", "t3", "STOPPED", "service:a")
	put("c", "t4", "RUNNING", "service:a")
	put("c-2", "t5", "RUNNING", "service:a")
	put("c", "t1", "STOPPED", "service:a") // replace: its columns follow
	if err := s.Update(context.Background(), func(tx store.Tx) error {
		return tx.PutECSTask(store.ECSTask{Account: "1", Region: "r", Cluster: "c", ID: "bad", Doc: json.RawMessage(`{`)})
	}); err == nil {
		t.Fatal("invalid JSON was stored")
	}
	ids := func(ts []store.ECSTask) string {
		var out []string
		for _, x := range ts {
			out = append(out, x.Cluster+"/"+x.ID)
		}
		return strings.Join(out, ",")
	}
	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetECSTask("1", "r", "c", "t1")
		if err != nil || got.DesiredStatus != "STOPPED" || string(got.Doc) != `{"id":"t1"}` || !got.UpdatedAt.Equal(t0) {
			return fmt.Errorf("GetECSTask = %+v, %v", got, err)
		}
		if _, err := tx.GetECSTask("2", "r", "c", "t1"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("task leaked across accounts: %v", err)
		}
		many, err := tx.GetECSTasks("1", "r", "c", []string{"t4", "nope", "t2", "t5"})
		if err != nil || len(many) != 2 {
			return fmt.Errorf("GetECSTasks = %s, %v", ids(many), err)
		}
		running, err := tx.ListECSTasks("1", "r", "c", store.ECSTaskFilter{DesiredStatus: "RUNNING"}, store.Page{}, false)
		if err != nil || ids(running) != "c/t2,c/t4" || running[0].Doc != nil {
			return fmt.Errorf("ListECSTasks RUNNING = %s, %v", ids(running), err)
		}
		group, err := tx.ListECSTasks("1", "r", "c", store.ECSTaskFilter{Group: "service:a"}, store.Page{Limit: 2}, true)
		if err != nil || ids(group) != "c/t1,c/t3" || string(group[1].Doc) != `{"id":"t3"}` {
			return fmt.Errorf("ListECSTasks group page 1 = %s, %v", ids(group), err)
		}
		group, err = tx.ListECSTasks("1", "r", "c", store.ECSTaskFilter{Group: "service:a"}, store.Page{After: "t3", Limit: 2}, true)
		if err != nil || ids(group) != "c/t4" {
			return fmt.Errorf("ListECSTasks group page 2 = %s, %v", ids(group), err)
		}
		none, err := tx.ListECSTasks("1", "r", "c", store.ECSTaskFilter{Family: "api"}, store.Page{}, false)
		if err != nil || len(none) != 0 {
			return fmt.Errorf("ListECSTasks family api = %s, %v", ids(none), err)
		}
		all, err := tx.ListECSTasks("1", "r", "", store.ECSTaskFilter{}, store.Page{Limit: 3}, false)
		if err != nil || ids(all) != "c-2/t5,c/t1,c/t2" {
			return fmt.Errorf("ListECSTasks every cluster = %s, %v", ids(all), err)
		}
		all, err = tx.ListECSTasks("1", "r", "", store.ECSTaskFilter{}, store.Page{After: "c/t2"}, false)
		if err != nil || ids(all) != "c/t3,c/t4" {
			return fmt.Errorf("ListECSTasks every cluster after c/t2 = %s, %v", ids(all), err)
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error { return tx.DeleteECSTask("1", "r", "c", "t1") })
	wantErr(t, "delete missing task", s.Update(context.Background(), func(tx store.Tx) error {
		return tx.DeleteECSTask("1", "r", "c", "t1")
	}), store.ErrNotFound)
}
