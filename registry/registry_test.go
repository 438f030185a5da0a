package registry_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/registry"
)

func TestRepositoryLifecycle(t *testing.T) {
	e := newEnv(t, registry.Options{})
	ref := repoRef("team/app")
	rep, err := e.reg.CreateRepository(ctx, registry.Repository{Repo: ref, Settings: json.RawMessage(`{"scanOnPush":true}`)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.TagMutability != registry.Mutable || rep.CreatedAt.IsZero() {
		t.Fatalf("defaults not applied: %+v", rep)
	}
	if _, err := e.reg.CreateRepository(ctx, registry.Repository{Repo: ref}); !errors.Is(err, registry.ErrRepositoryExists) {
		t.Fatalf("duplicate: %v", err)
	}
	for _, bad := range []string{"", "UPPER", "a//b", "-a", "a/", strings.Repeat("a", 257)} {
		if _, err := e.reg.CreateRepository(ctx, registry.Repository{Repo: repoRef(bad)}); !errors.Is(err, registry.ErrNameInvalid) {
			t.Fatalf("name %q: %v", bad, err)
		}
	}
	if _, err := e.reg.CreateRepository(ctx, registry.Repository{Repo: repoRef("x"), TagMutability: "SOMETIMES"}); !errors.Is(err, registry.ErrInvalidArgument) {
		t.Fatalf("bad mutability: %v", err)
	}
	// The same name in another account is another repository.
	other := registry.Repo{Account: "999999999999", Region: region, Name: "team/app"}
	if _, err := e.reg.CreateRepository(ctx, registry.Repository{Repo: other}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"b", "a", "c"} {
		e.createRepo(n, "")
	}
	page, err := e.reg.ListRepositories(ctx, acct, region, "", 2)
	if err != nil || len(page) != 2 || page[0].Name != "a" || page[1].Name != "b" {
		t.Fatalf("first page %+v, %v", page, err)
	}
	page, err = e.reg.ListRepositories(ctx, acct, region, "b", 10)
	if err != nil || len(page) != 2 || page[0].Name != "c" || page[1].Name != "team/app" {
		t.Fatalf("second page %+v, %v", page, err)
	}

	updated, err := e.reg.UpdateRepository(ctx, ref, func(r *registry.Repository) error {
		r.TagMutability = registry.ImmutableWithExclusion
		r.MutabilityExclusions = []string{"dev-*"}
		r.Name = "renamed" // ignored: identity stays
		return nil
	})
	if err != nil || updated.Name != "team/app" || updated.TagMutability != registry.ImmutableWithExclusion {
		t.Fatalf("update = %+v, %v", updated, err)
	}
	if _, err := e.reg.UpdateRepository(ctx, ref, func(r *registry.Repository) error {
		r.MutabilityExclusions = nil // exclusion mode without filters
		return nil
	}); !errors.Is(err, registry.ErrInvalidArgument) {
		t.Fatalf("invalid update accepted: %v", err)
	}
	got, err := e.reg.GetRepository(ctx, ref)
	if err != nil || got.TagMutability != registry.ImmutableWithExclusion || string(got.Settings) != `{"scanOnPush":true}` {
		t.Fatalf("get = %+v, %v", got, err)
	}

	e.pushImage(ref, newImage(t, 10), "v1")
	if _, err := e.reg.DeleteRepository(ctx, ref, false); !errors.Is(err, registry.ErrRepositoryNotEmpty) {
		t.Fatalf("delete non-empty: %v", err)
	}
	if _, err := e.reg.DeleteRepository(ctx, ref, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.GetRepository(ctx, ref); !errors.Is(err, registry.ErrRepositoryNotFound) {
		t.Fatalf("deleted repository: %v", err)
	}
	if _, err := e.reg.DeleteRepository(ctx, ref, true); !errors.Is(err, registry.ErrRepositoryNotFound) {
		t.Fatalf("delete again: %v", err)
	}
}

func TestPushAndPull(t *testing.T) {
	clk := &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	var pushed []registry.Image
	e := newEnv(t, registry.Options{Now: clk.Now, OnPush: func(img registry.Image) { pushed = append(pushed, img) }})
	ref := e.createRepo("app", "")
	img := newImage(t, 100, 2000)
	got, res, err := func() (registry.Image, registry.PutResult, error) {
		e.pushImageBlobs(ref, img)
		return e.reg.PutManifest(ctx, ref, "latest", "application/vnd.oci.image.manifest.v1+json; charset=utf-8", img.body)
	}()
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || !slices.Equal(res.TagsMoved, []string{"latest"}) {
		t.Fatalf("PutResult = %+v", res)
	}
	if got.Digest != img.digest || got.Size != img.size() || got.MediaType != ocispec.MediaTypeImageManifest ||
		got.ArtifactType != ocispec.MediaTypeImageConfig || !slices.Equal(got.Tags, []string{"latest"}) || !got.PushedAt.Equal(clk.Now()) {
		t.Fatalf("image = %+v", got)
	}
	if len(pushed) != 1 || pushed[0].Digest != img.digest {
		t.Fatalf("OnPush calls = %+v", pushed)
	}
	// The same push again changes nothing and does not call the hook.
	_, res, err = e.reg.PutManifest(ctx, ref, "latest", ocispec.MediaTypeImageManifest, img.body)
	if err != nil || res.Changed() {
		t.Fatalf("re-push = %+v, %v", res, err)
	}
	if len(pushed) != 1 {
		t.Fatal("OnPush called for a push that changed nothing")
	}
	for _, reference := range []string{"latest", img.digest.String()} {
		gotImg, body, err := e.reg.GetManifest(ctx, ref, reference)
		if err != nil || string(body) != string(img.body) || gotImg.Digest != img.digest {
			t.Fatalf("GetManifest(%s) = %v", reference, err)
		}
	}
	if _, _, err := e.reg.GetManifest(ctx, ref, "nope"); !errors.Is(err, registry.ErrManifestUnknown) {
		t.Fatalf("unknown tag: %v", err)
	}
	if _, _, err := e.reg.GetManifest(ctx, ref, "sha256:abc"); !errors.Is(err, registry.ErrDigestInvalid) {
		t.Fatalf("bad digest: %v", err)
	}
	for _, l := range img.layers {
		rc, desc, err := e.reg.OpenBlob(ctx, ref, digest.FromBytes(l))
		if err != nil || desc.Size != int64(len(l)) {
			t.Fatalf("OpenBlob: %v", err)
		}
		rc.Close()
	}

	// Pulls are recorded at most once a minute.
	e.reg.RecordPull(ctx, ref, img.digest)
	first := clk.Now()
	clk.Advance(30 * time.Second)
	e.reg.RecordPull(ctx, ref, img.digest)
	images, err := e.reg.ListImages(ctx, ref)
	if err != nil || len(images) != 1 || !images[0].LastPulledAt.Equal(first) {
		t.Fatalf("after pulls: %+v, %v", images, err)
	}
	clk.Advance(31 * time.Second)
	e.reg.RecordPull(ctx, ref, img.digest)
	images, _ = e.reg.ListImages(ctx, ref)
	if !images[0].LastPulledAt.Equal(clk.Now()) {
		t.Fatalf("pull a minute later not recorded: %v", images[0].LastPulledAt)
	}

	// Tags list in order, paginated.
	for _, tag := range []string{"b", "a", "c"} {
		if _, _, err := e.reg.PutManifest(ctx, ref, tag, ocispec.MediaTypeImageManifest, img.body); err != nil {
			t.Fatal(err)
		}
	}
	tags, err := e.reg.ListTags(ctx, ref, "", 0)
	if err != nil || !slices.Equal(tags, []string{"a", "b", "c", "latest"}) {
		t.Fatalf("ListTags = %v, %v", tags, err)
	}
	tags, _ = e.reg.ListTags(ctx, ref, "a", 2)
	if !slices.Equal(tags, []string{"b", "c"}) {
		t.Fatalf("ListTags page = %v", tags)
	}
}

func TestIndexAndReferrers(t *testing.T) {
	e := newEnv(t, registry.Options{})
	ref := e.createRepo("app", "")
	amd, arm := newImage(t, 10), newImage(t, 20)
	e.pushImage(ref, amd, "")
	e.pushImage(ref, arm, "")
	idx := indexOf(t, amd, arm)
	img, _, err := e.reg.PutManifest(ctx, ref, "multi", "", idx)
	if err != nil {
		t.Fatal(err)
	}
	// ECR documents an index's imageSizeInBytes as its largest child's.
	if img.MediaType != ocispec.MediaTypeImageIndex || img.Size != max(amd.size(), arm.size()) {
		t.Fatalf("index image = %+v (want size %d)", img, max(amd.size(), arm.size()))
	}
	// A child of an index cannot be deleted before the index.
	if _, err := e.reg.DeleteManifest(ctx, ref, amd.digest); !errors.Is(err, registry.ErrManifestReferenced) {
		t.Fatalf("delete child: %v", err)
	}

	// Two artifacts refer to the image; one of another type.
	sig := func(artifactType string) []byte {
		empty := []byte("{}")
		e.pushBlob(ref, empty)
		m := ocispec.Manifest{
			MediaType: ocispec.MediaTypeImageManifest, ArtifactType: artifactType,
			Config:      ocispec.DescriptorEmptyJSON,
			Layers:      []ocispec.Descriptor{ocispec.DescriptorEmptyJSON},
			Subject:     &ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: amd.digest, Size: int64(len(amd.body))},
			Annotations: map[string]string{"kind": artifactType},
		}
		m.SchemaVersion = 2
		body := mustJSON(t, m)
		got, _, err := e.reg.PutManifest(ctx, ref, digest.FromBytes(body).String(), ocispec.MediaTypeImageManifest, body)
		if err != nil {
			t.Fatal(err)
		}
		if got.Subject != amd.digest {
			t.Fatalf("subject not recorded: %+v", got)
		}
		return body
	}
	sigBody := sig("application/vnd.example.signature")
	sig("application/vnd.example.sbom")
	all, err := e.reg.Referrers(ctx, ref, amd.digest, "")
	if err != nil || len(all) != 2 {
		t.Fatalf("Referrers = %+v, %v", all, err)
	}
	only, err := e.reg.Referrers(ctx, ref, amd.digest, "application/vnd.example.signature")
	if err != nil || len(only) != 1 || only[0].Digest != digest.FromBytes(sigBody) || only[0].Size != int64(len(sigBody)) ||
		only[0].Annotations["kind"] != "application/vnd.example.signature" {
		t.Fatalf("filtered Referrers = %+v, %v", only, err)
	}
	none, err := e.reg.Referrers(ctx, ref, digest.FromString("nothing"), "")
	if err != nil || len(none) != 0 {
		t.Fatalf("Referrers of an unknown subject = %+v, %v", none, err)
	}

	// Deleting the index, then the child, works; the child takes its tags.
	if _, err := e.reg.DeleteManifest(ctx, ref, img.Digest); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.DeleteManifest(ctx, ref, amd.digest); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.reg.GetManifest(ctx, ref, "multi"); !errors.Is(err, registry.ErrManifestUnknown) {
		t.Fatalf("tag of deleted index: %v", err)
	}
	if err := e.reg.DeleteTag(ctx, ref, "multi"); !errors.Is(err, registry.ErrManifestUnknown) {
		t.Fatalf("delete missing tag: %v", err)
	}
}

func TestManifestValidation(t *testing.T) {
	e := newEnv(t, registry.Options{})
	ref := e.createRepo("app", "")
	other := e.createRepo("other", "")
	img := newImage(t, 10)
	e.pushImageBlobs(ref, img)
	onlyElsewhere := newImage(t, 10)
	e.pushImageBlobs(other, onlyElsewhere)
	child := newImage(t, 5)

	manifest := func(mod func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(img.body, &m); err != nil {
			t.Fatal(err)
		}
		mod(m)
		return mustJSON(t, m)
	}
	foreign := manifest(func(m map[string]any) {
		layers := m["layers"].([]any)
		m["layers"] = append(layers, map[string]any{
			"mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
			"digest":    digest.FromString("foreign").String(), "size": 99,
			"urls": []string{"https://example.com/layer"},
		})
	})
	cases := []struct {
		name, reference, mediaType string
		body                       []byte
		want                       error
	}{
		{"not JSON", "t", "", []byte("{"), registry.ErrManifestInvalid},
		{"trailing data", "t", "", append(append([]byte{}, img.body...), []byte("{}")...), registry.ErrManifestInvalid},
		{"schema1", "t", "application/vnd.docker.distribution.manifest.v1+prettyjws", []byte(`{"schemaVersion":1,"fsLayers":[]}`), registry.ErrManifestInvalid},
		{"schemaVersion 3", "t", "", manifest(func(m map[string]any) { m["schemaVersion"] = 3 }), registry.ErrManifestInvalid},
		{"media type mismatch", "t", ocispec.MediaTypeImageIndex, img.body, registry.ErrManifestInvalid},
		{"unknown media type", "t", "", manifest(func(m map[string]any) { m["mediaType"] = "text/plain" }), registry.ErrManifestInvalid},
		{"no config", "t", "", manifest(func(m map[string]any) { delete(m, "config") }), registry.ErrManifestInvalid},
		{"bad layer digest", "t", "", manifest(func(m map[string]any) {
			m["layers"] = []any{map[string]any{"mediaType": "x", "digest": "sha256:nothex", "size": 1}}
		}), registry.ErrManifestInvalid},
		{"blob only in another repository", "t", "", onlyElsewhere.body, registry.ErrManifestBlobUnknown},
		{"index child missing", "t", "", indexOf(t, child), registry.ErrManifestBlobUnknown},
		{"digest mismatch", digest.FromString("x").String(), "", img.body, registry.ErrDigestInvalid},
		{"malformed digest", "sha256:baddigeststring", "", img.body, registry.ErrDigestInvalid},
		{"invalid tag", "-bad", "", img.body, registry.ErrTagInvalid},
		{"too large", "t", "", append(append([]byte{}, img.body...), make([]byte, registry.MaxManifestSize)...), registry.ErrSizeInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := e.reg.PutManifest(ctx, ref, tc.reference, tc.mediaType, tc.body)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	var missing *registry.ManifestBlobUnknownError
	_, _, err := e.reg.PutManifest(ctx, ref, "t", "", onlyElsewhere.body)
	if !errors.As(err, &missing) || missing.Digest != onlyElsewhere.blobDigests()[0] {
		t.Fatalf("missing blob not named: %v", err)
	}
	if _, _, err := e.reg.PutManifest(ctx, repoRef("nope"), "t", "", img.body); !errors.Is(err, registry.ErrRepositoryNotFound) {
		t.Fatalf("unknown repository: %v", err)
	}
	// Foreign layers are not required to be in the registry.
	if _, _, err := e.reg.PutManifest(ctx, ref, "foreign", "", foreign); err != nil {
		t.Fatalf("manifest with a foreign layer: %v", err)
	}
	// Pushed by its sha512 digest, a manifest is stored under that digest.
	d512 := digest.SHA512.FromBytes(img.body)
	got, _, err := e.reg.PutManifest(ctx, ref, d512.String(), "", img.body)
	if err != nil || got.Digest != d512 {
		t.Fatalf("sha512 push = %+v, %v", got, err)
	}
	if images, _ := e.reg.ListImages(ctx, ref); len(images) != 2 {
		t.Fatalf("failed pushes left images behind: %d images", len(images))
	}
}

func TestTagImmutability(t *testing.T) {
	e := newEnv(t, registry.Options{})
	a, b := newImage(t, 10), newImage(t, 10)

	t.Run("immutable", func(t *testing.T) {
		ref := e.createRepo("immutable", registry.Immutable)
		e.pushImage(ref, a, "v1")
		e.pushImageBlobs(ref, b)
		_, _, err := e.reg.PutManifest(ctx, ref, "v1", "", b.body)
		var te *registry.TagImmutableError
		if !errors.Is(err, registry.ErrTagImmutable) || !errors.As(err, &te) || te.Tag != "v1" || te.Current != a.digest {
			t.Fatalf("overwrite: %v", err)
		}
		if !strings.Contains(err.Error(), "'v1'") {
			t.Fatalf("message does not name the tag: %v", err)
		}
		// The refused push left nothing behind: b is not stored.
		if _, _, err := e.reg.GetManifest(ctx, ref, b.digest.String()); !errors.Is(err, registry.ErrManifestUnknown) {
			t.Fatalf("refused manifest was stored: %v", err)
		}
		// Same content, same tag: fine. A new tag: fine. Tag parameters too.
		if _, res, err := e.reg.PutManifest(ctx, ref, "v1", "", a.body); err != nil || res.Changed() {
			t.Fatalf("re-push = %+v, %v", res, err)
		}
		if _, _, err := e.reg.PutManifest(ctx, ref, "v2", "", b.body); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.reg.PutManifestTags(ctx, ref, b.digest.String(), []string{"v1"}, "", b.body); !errors.Is(err, registry.ErrTagImmutable) {
			t.Fatalf("overwrite through tag parameters: %v", err)
		}
	})
	t.Run("mutable with exclusion", func(t *testing.T) {
		ref := e.createRepo("mwe", registry.MutableWithExclusion, "release-*")
		e.pushImage(ref, a, "release-1")
		e.pushImage(ref, a, "dev")
		e.pushImageBlobs(ref, b)
		if _, _, err := e.reg.PutManifest(ctx, ref, "release-1", "", b.body); !errors.Is(err, registry.ErrTagImmutable) {
			t.Fatalf("excluded tag moved: %v", err)
		}
		if _, res, err := e.reg.PutManifest(ctx, ref, "dev", "", b.body); err != nil || !slices.Equal(res.TagsMoved, []string{"dev"}) {
			t.Fatalf("mutable tag: %+v, %v", res, err)
		}
	})
	t.Run("immutable with exclusion", func(t *testing.T) {
		ref := e.createRepo("iwe", registry.ImmutableWithExclusion, "dev-*", "*-snapshot")
		for _, tag := range []string{"prod", "dev-1", "1.0-snapshot"} {
			e.pushImage(ref, a, tag)
		}
		e.pushImageBlobs(ref, b)
		for tag, wantErr := range map[string]bool{"prod": true, "dev-1": false, "1.0-snapshot": false} {
			_, _, err := e.reg.PutManifest(ctx, ref, tag, "", b.body)
			if errors.Is(err, registry.ErrTagImmutable) != wantErr {
				t.Fatalf("tag %s: %v", tag, err)
			}
		}
	})
}

func TestWildcardFilters(t *testing.T) {
	rep := registry.Repository{TagMutability: registry.MutableWithExclusion}
	for _, tc := range []struct {
		filter, tag string
		match       bool
	}{
		{"*", "anything", true},
		{"v*", "v1.2", true},
		{"v*", "xv1", false},
		{"*-rc*", "1.0-rc2", true},
		{"*-rc*", "1.0", false},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"**", "", true},
	} {
		rep.MutabilityExclusions = []string{tc.filter}
		if got := rep.TagImmutable(tc.tag); got != tc.match {
			t.Errorf("filter %q tag %q: %v, want %v", tc.filter, tc.tag, got, tc.match)
		}
	}
}

func TestBlobVisibilityAndMount(t *testing.T) {
	e := newEnv(t, registry.Options{})
	a := e.createRepo("a", "")
	b := e.createRepo("b", "")
	data := randomData(t, 1000)
	d := e.pushBlob(a, data).Digest
	if _, err := e.reg.StatBlob(ctx, b, d); !errors.Is(err, registry.ErrBlobUnknown) {
		t.Fatalf("blob visible in a repository it was not pushed to: %v", err)
	}
	if _, err := e.reg.MountBlob(ctx, b, a, d); !errors.Is(err, registry.ErrBlobUnknown) {
		t.Fatalf("mount from a repository without the blob: %v", err)
	}
	if _, err := e.reg.MountBlob(ctx, a, b, d); err != nil {
		t.Fatal(err)
	}
	if desc, err := e.reg.StatBlob(ctx, b, d); err != nil || desc.Size != 1000 {
		t.Fatalf("after mount: %+v, %v", desc, err)
	}
	// Anonymous mount finds the blob within the account, not across.
	c := e.createRepo("c", "")
	if _, err := e.reg.MountBlob(ctx, registry.Repo{Account: acct, Region: region}, c, d); err != nil {
		t.Fatalf("anonymous mount: %v", err)
	}
	foreign := registry.Repo{Account: "999999999999", Region: region, Name: "x"}
	if _, err := e.reg.CreateRepository(ctx, registry.Repository{Repo: foreign}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.MountBlob(ctx, registry.Repo{Account: foreign.Account, Region: region}, foreign, d); !errors.Is(err, registry.ErrBlobUnknown) {
		t.Fatalf("anonymous mount across accounts: %v", err)
	}

	// A blob an image uses cannot be deleted from under it.
	img := newImage(t, 10)
	e.pushImage(a, img, "v1")
	if err := e.reg.DeleteBlob(ctx, a, img.blobDigests()[1]); !errors.Is(err, registry.ErrBlobInUse) {
		t.Fatalf("delete used blob: %v", err)
	}
	if err := e.reg.DeleteBlob(ctx, b, d); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.StatBlob(ctx, b, d); !errors.Is(err, registry.ErrBlobUnknown) {
		t.Fatalf("after delete: %v", err)
	}
	if _, err := e.reg.StatBlob(ctx, a, d); err != nil {
		t.Fatalf("delete in b removed the blob from a: %v", err)
	}
	if err := e.reg.DeleteBlob(ctx, b, d); !errors.Is(err, registry.ErrBlobUnknown) {
		t.Fatalf("delete twice: %v", err)
	}
	// A blob pushed twice is stored once.
	e.pushBlob(c, data)
	n := 0
	_ = e.fs.Walk(ctx, func(info blobstoreInfo) error {
		if info.Digest == d {
			n++
		}
		return nil
	})
	if n != 1 {
		t.Fatalf("blob stored %d times", n)
	}
}
