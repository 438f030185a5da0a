package ecr

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	ecrapi "github.com/berth-dev/berth/api/ecr"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/store"
)

// ECR's archive storage class, as Berth keeps it: a record per archived
// (or once archived) image. The image's data stays where it is (Berth has
// no cheaper tier to move it to); what changes is what ECR shows and does:
// DescribeImages reports ARCHIVED, BatchGetImage refuses to return the
// manifest, lifecycle rules see the storage class, and UpdateImageStorageClass
// restores it.
const kindArchive = "ecr.image-archive"

type archiveState struct {
	// PushedAt ties the record to one life of the image: an image deleted
	// and pushed again is a new image, not an archived one.
	PushedAt    time.Time `json:"pushedAt"`
	Archived    bool      `json:"archived"`
	ArchivedAt  time.Time `json:"archivedAt,omitzero"`
	ActivatedAt time.Time `json:"activatedAt,omitzero"`
}

func archiveID(name string, d digest.Digest) string { return name + "@" + d.String() }

// archiveStates returns the archive records of a repository's images, by
// digest; records of images that no longer exist are left out.
func (s *Service) archiveStates(ctx context.Context, ref registry.Repo, imgs []registry.Image) (map[digest.Digest]archiveState, error) {
	out := map[digest.Digest]archiveState{}
	var rs []store.Resource
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		rs, err = tx.ListResources(kindArchive, ref.Account, ref.Region, ref.Name+"@", store.Page{})
		return err
	})
	if err != nil || len(rs) == 0 {
		return out, err
	}
	pushed := map[digest.Digest]time.Time{}
	for _, img := range imgs {
		pushed[img.Digest] = img.PushedAt
	}
	for _, r := range rs {
		d := digest.Digest(strings.TrimPrefix(r.ID, ref.Name+"@"))
		var st archiveState
		if json.Unmarshal(r.Doc, &st) != nil {
			continue
		}
		if at, ok := pushed[d]; ok && at.Equal(st.PushedAt) {
			out[d] = st
		}
	}
	return out, nil
}

func (s *Service) putArchiveState(ctx context.Context, ref registry.Repo, d digest.Digest, st archiveState) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		return store.PutDoc(tx, kindArchive, ref.Account, ref.Region, archiveID(ref.Name, d), st, s.now().UTC())
	})
}

// archive moves an image to the archive storage class.
func (s *Service) archive(ctx context.Context, img registry.Image, st archiveState) error {
	if st.Archived && st.PushedAt.Equal(img.PushedAt) {
		return nil
	}
	if !st.PushedAt.Equal(img.PushedAt) {
		st = archiveState{}
	}
	st.PushedAt, st.Archived, st.ArchivedAt = img.PushedAt, true, s.now().UTC()
	return s.putArchiveState(ctx, img.Repo, img.Digest, st)
}

func imageStatus(st archiveState, ok bool) ecrapi.ImageStatus {
	if ok && st.Archived {
		return ecrapi.ImageStatusArchived
	}
	return ecrapi.ImageStatusActive
}

// statusMatches applies an imageStatus filter.
func statusMatches(f *ecrapi.ImageStatusFilter, status ecrapi.ImageStatus) bool {
	return f == nil || *f == ecrapi.ImageStatusFilterAny || string(*f) == string(status)
}

// UpdateImageStorageClass archives an image or restores it. A restore is
// immediate in Berth (AWS takes hours, showing ACTIVATING meanwhile).
func (s *Service) UpdateImageStorageClass(ctx context.Context, in *ecrapi.UpdateImageStorageClassInput) (*ecrapi.UpdateImageStorageClassOutput, error) {
	c, err := s.callerOf(ctx, "UpdateImageStorageClass", in.RegistryId)
	if err != nil {
		return nil, err
	}
	name := *in.RepositoryName
	ref := c.repo(name)
	imgs, err := s.listImages(ctx, "UpdateImageStorageClass", c, name)
	if err != nil {
		return nil, err
	}
	img, code, _ := findImage(imgs, *in.ImageId)
	switch code {
	case "":
	case ecrapi.ImageFailureCodeImageNotFound, ecrapi.ImageFailureCodeImageTagDoesNotMatchDigest:
		return nil, imageNotFound(c, name, *in.ImageId)
	default:
		return nil, invalidParam("Invalid parameter at 'imageId' failed to satisfy constraint: 'A valid imageDigest or imageTag is required'")
	}
	states, err := s.archiveStates(ctx, ref, imgs)
	if err != nil {
		return nil, internal("UpdateImageStorageClass", err)
	}
	st, known := states[img.Digest]
	switch *in.TargetStorageClass {
	case ecrapi.TargetStorageClassArchive:
		if registryIndex(img.MediaType) || img.Subject != "" {
			return nil, ecrapi.NewImageStorageClassUpdateNotSupportedException("Only images can be archived; %s is a %s", img.Digest, img.MediaType)
		}
		if err := s.archive(ctx, img, st); err != nil {
			return nil, internal("UpdateImageStorageClass", err)
		}
		st.Archived = true
	case ecrapi.TargetStorageClassStandard:
		if known && st.Archived {
			st.Archived, st.ActivatedAt = false, s.now().UTC()
			if err := s.putArchiveState(ctx, ref, img.Digest, st); err != nil {
				return nil, internal("UpdateImageStorageClass", err)
			}
		}
	}
	return &ecrapi.UpdateImageStorageClassOutput{
		RegistryId:     ptr(c.Account),
		RepositoryName: ptr(name),
		ImageId:        &ecrapi.ImageIdentifier{ImageDigest: ptr(img.Digest.String()), ImageTag: in.ImageId.ImageTag},
		ImageStatus:    ptr(imageStatus(st, true)),
	}, nil
}

func registryIndex(mediaType string) bool {
	return mediaType == registry.MediaTypeOCIIndex || mediaType == registry.MediaTypeDockerManifestList
}

// forgetArchive drops the archive record of a deleted image.
func (s *Service) forgetArchive(ctx context.Context, ref registry.Repo, d digest.Digest) {
	_ = s.st.Update(ctx, func(tx store.Tx) error {
		err := tx.DeleteResource(kindArchive, ref.Account, ref.Region, archiveID(ref.Name, d))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
}
