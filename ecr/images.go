package ecr

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"

	ecrapi "github.com/berth-dev/berth/api/ecr"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/registry"
)

// AWS's failure reasons for the batch image operations.
const (
	reasonNotFound        = "Requested image not found"
	reasonMissingBoth     = "Invalid request parameters: both tag and digest cannot be null"
	reasonInvalidDigest   = "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'"
	reasonTagDoesNotMatch = "Invalid request parameters: image tag does not match digest"
)

func imageFailure(id ecrapi.ImageIdentifier, code ecrapi.ImageFailureCode, reason string) ecrapi.ImageFailure {
	return ecrapi.ImageFailure{ImageId: &id, FailureCode: ptr(code), FailureReason: ptr(reason)}
}

// listImages returns a repository's images, mapping a missing repository.
func (s *Service) listImages(ctx context.Context, op string, c caller, name string) ([]registry.Image, error) {
	imgs, err := s.reg.ListImages(ctx, c.repo(name))
	if err != nil {
		return nil, s.repoErr(op, c, name, err)
	}
	return imgs, nil
}

// listImagesWithStatus is listImages with each image's archive state.
func (s *Service) listImagesWithStatus(ctx context.Context, op string, c caller, name string) ([]registry.Image, map[digest.Digest]archiveState, error) {
	imgs, err := s.listImages(ctx, op, c, name)
	if err != nil {
		return nil, nil, err
	}
	states, err := s.archiveStates(ctx, c.repo(name), imgs)
	if err != nil {
		return nil, nil, internal(op, err)
	}
	return imgs, states, nil
}

// tagStatusMatches applies a TAGGED/UNTAGGED/ANY filter to an image.
func tagStatusMatches(status *ecrapi.TagStatus, tagged bool) bool {
	if status == nil {
		return true
	}
	switch *status {
	case ecrapi.TagStatusTagged:
		return tagged
	case ecrapi.TagStatusUntagged:
		return !tagged
	}
	return true
}

// ListImages lists image ids: one per tag, and a digest-only one for each
// untagged image.
func (s *Service) ListImages(ctx context.Context, in *ecrapi.ListImagesInput) (*ecrapi.ListImagesOutput, error) {
	c, err := s.callerOf(ctx, "ListImages", in.RegistryId)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	imgs, states, err := s.listImagesWithStatus(ctx, "ListImages", c, *in.RepositoryName)
	if err != nil {
		return nil, err
	}
	type entry struct {
		key string
		id  ecrapi.ImageIdentifier
	}
	var entries []entry
	var status *ecrapi.TagStatus
	var imgStatus *ecrapi.ImageStatusFilter
	if in.Filter != nil {
		status, imgStatus = in.Filter.TagStatus, in.Filter.ImageStatus
	}
	for _, img := range imgs {
		st, ok := states[img.Digest]
		if !tagStatusMatches(status, len(img.Tags) > 0) || !statusMatches(imgStatus, imageStatus(st, ok)) {
			continue
		}
		d := img.Digest.String()
		if len(img.Tags) == 0 {
			entries = append(entries, entry{d + "@", ecrapi.ImageIdentifier{ImageDigest: ptr(d)}})
		}
		for _, t := range img.Tags {
			entries = append(entries, entry{d + "@" + t, ecrapi.ImageIdentifier{ImageDigest: ptr(d), ImageTag: ptr(t)}})
		}
	}
	// Key order makes nextToken stable while images come and go.
	sort.Slice(entries, func(i, j int) bool { return entries[i].key < entries[j].key })
	limit := maxResults(in.MaxResults)
	out := &ecrapi.ListImagesOutput{ImageIds: []ecrapi.ImageIdentifier{}}
	for _, e := range entries {
		if after != "" && e.key <= after {
			continue
		}
		if len(out.ImageIds) == limit {
			out.NextToken = encodeToken(entriesKeyBefore(out.ImageIds))
			break
		}
		out.ImageIds = append(out.ImageIds, e.id)
	}
	return out, nil
}

// entriesKeyBefore is the key of the last id of a ListImages page.
func entriesKeyBefore(ids []ecrapi.ImageIdentifier) string {
	last := ids[len(ids)-1]
	return str(last.ImageDigest) + "@" + str(last.ImageTag)
}

// detail renders an image as DescribeImages does.
func detail(c caller, name string, img registry.Image, st archiveState, archived bool) ecrapi.ImageDetail {
	d := ecrapi.ImageDetail{
		RegistryId:             ptr(c.Account),
		RepositoryName:         ptr(name),
		ImageDigest:            ptr(img.Digest.String()),
		ImageSizeInBytes:       ptr(img.Size),
		ImagePushedAt:          awsapi.Time(img.PushedAt),
		ImageManifestMediaType: ptr(img.MediaType),
		ImageStatus:            ptr(imageStatus(st, archived)),
	}
	if archived && !st.ArchivedAt.IsZero() {
		d.LastArchivedAt = awsapi.Time(st.ArchivedAt)
	}
	if archived && !st.ActivatedAt.IsZero() {
		d.LastActivatedAt = awsapi.Time(st.ActivatedAt)
	}
	if len(img.Tags) > 0 {
		d.ImageTags = slices.Clone(img.Tags)
	}
	if img.ArtifactType != "" {
		d.ArtifactMediaType = ptr(img.ArtifactType)
	}
	if !img.LastPulledAt.IsZero() {
		d.LastRecordedPullTime = awsapi.Time(img.LastPulledAt)
	}
	if img.Subject != "" {
		d.SubjectManifestDigest = ptr(img.Subject.String())
	}
	return d
}

// findImage resolves an image id against a listing: by tag, by digest, or
// by both (which must agree).
func findImage(imgs []registry.Image, id ecrapi.ImageIdentifier) (registry.Image, ecrapi.ImageFailureCode, string) {
	if id.ImageDigest == nil && id.ImageTag == nil {
		return registry.Image{}, ecrapi.ImageFailureCodeMissingDigestAndTag, reasonMissingBoth
	}
	if id.ImageDigest != nil {
		if _, err := digest.Parse(*id.ImageDigest); err != nil {
			return registry.Image{}, ecrapi.ImageFailureCodeInvalidImageDigest, reasonInvalidDigest
		}
	}
	if id.ImageTag != nil {
		for _, img := range imgs {
			if slices.Contains(img.Tags, *id.ImageTag) {
				if id.ImageDigest != nil && img.Digest.String() != *id.ImageDigest {
					return registry.Image{}, ecrapi.ImageFailureCodeImageTagDoesNotMatchDigest, reasonTagDoesNotMatch
				}
				return img, "", ""
			}
		}
		return registry.Image{}, ecrapi.ImageFailureCodeImageNotFound, reasonNotFound
	}
	for _, img := range imgs {
		if img.Digest.String() == *id.ImageDigest {
			return img, "", ""
		}
	}
	return registry.Image{}, ecrapi.ImageFailureCodeImageNotFound, reasonNotFound
}

// DescribeImages describes images: all of them (paged), or the ones named.
func (s *Service) DescribeImages(ctx context.Context, in *ecrapi.DescribeImagesInput) (*ecrapi.DescribeImagesOutput, error) {
	c, err := s.callerOf(ctx, "DescribeImages", in.RegistryId)
	if err != nil {
		return nil, err
	}
	name := *in.RepositoryName
	if in.ImageIds != nil && (in.NextToken != nil || in.MaxResults != nil) {
		return nil, invalidParam("Invalid parameter at 'maxResults' failed to satisfy constraint: 'maxResults and nextToken cannot be used with imageIds'")
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	imgs, states, err := s.listImagesWithStatus(ctx, "DescribeImages", c, name)
	if err != nil {
		return nil, err
	}
	out := &ecrapi.DescribeImagesOutput{ImageDetails: []ecrapi.ImageDetail{}}
	var status *ecrapi.TagStatus
	var imgStatus *ecrapi.ImageStatusFilter
	if in.Filter != nil {
		status, imgStatus = in.Filter.TagStatus, in.Filter.ImageStatus
	}
	if in.ImageIds != nil {
		seen := map[digest.Digest]bool{}
		for _, id := range in.ImageIds {
			img, code, _ := findImage(imgs, id)
			switch code {
			case "":
			case ecrapi.ImageFailureCodeInvalidImageDigest:
				return nil, invalidParam("Invalid parameter at 'imageDigest' failed to satisfy constraint: 'The image digest %q is not a valid digest'", str(id.ImageDigest))
			case ecrapi.ImageFailureCodeMissingDigestAndTag:
				return nil, invalidParam("Invalid parameter at 'imageIds' failed to satisfy constraint: 'Both imageTag and imageDigest cannot be null'")
			default:
				return nil, imageNotFound(c, name, id)
			}
			st, ok := states[img.Digest]
			if seen[img.Digest] || !tagStatusMatches(status, len(img.Tags) > 0) || !statusMatches(imgStatus, imageStatus(st, ok)) {
				continue
			}
			seen[img.Digest] = true
			out.ImageDetails = append(out.ImageDetails, detail(c, name, img, st, ok))
		}
		return s.withScanSummaries(ctx, c, name, out)
	}
	sort.Slice(imgs, func(i, j int) bool { return imgs[i].Digest < imgs[j].Digest })
	limit := maxResults(in.MaxResults)
	for _, img := range imgs {
		st, ok := states[img.Digest]
		if (after != "" && img.Digest.String() <= after) || !tagStatusMatches(status, len(img.Tags) > 0) || !statusMatches(imgStatus, imageStatus(st, ok)) {
			continue
		}
		if len(out.ImageDetails) == limit {
			out.NextToken = encodeToken(*out.ImageDetails[limit-1].ImageDigest)
			break
		}
		out.ImageDetails = append(out.ImageDetails, detail(c, name, img, st, ok))
	}
	return s.withScanSummaries(ctx, c, name, out)
}

// BatchGetImage returns manifests; what cannot be returned is a failure,
// not an error.
func (s *Service) BatchGetImage(ctx context.Context, in *ecrapi.BatchGetImageInput) (*ecrapi.BatchGetImageOutput, error) {
	c, err := s.callerOf(ctx, "BatchGetImage", in.RegistryId)
	if err != nil {
		return nil, err
	}
	name := *in.RepositoryName
	imgs, states, err := s.listImagesWithStatus(ctx, "BatchGetImage", c, name)
	if err != nil {
		return nil, err
	}
	out := &ecrapi.BatchGetImageOutput{Images: []ecrapi.Image{}, Failures: []ecrapi.ImageFailure{}}
	type key struct{ digest, tag string }
	seen := map[key]bool{}
	for _, id := range in.ImageIds {
		img, code, reason := findImage(imgs, id)
		if code != "" {
			out.Failures = append(out.Failures, imageFailure(id, code, reason))
			continue
		}
		if st, ok := states[img.Digest]; ok && st.Archived {
			out.Failures = append(out.Failures, imageFailure(id, ecrapi.ImageFailureCodeImageInaccessible,
				"The image is archived; restore it with UpdateImageStorageClass (targetStorageClass STANDARD) to pull it"))
			continue
		}
		if in.AcceptedMediaTypes != nil && !slices.Contains(in.AcceptedMediaTypes, img.MediaType) {
			// ECR converts between Docker schema versions; Berth stores
			// schema 2 and OCI only, so other accepted types find nothing.
			out.Failures = append(out.Failures, imageFailure(id, ecrapi.ImageFailureCodeImageNotFound,
				reasonNotFound+": its manifest media type "+img.MediaType+" is not among the accepted media types"))
			continue
		}
		k := key{img.Digest.String(), str(id.ImageTag)}
		if seen[k] {
			continue
		}
		seen[k] = true
		_, body, err := s.reg.GetManifest(ctx, c.repo(name), img.Digest.String())
		if errors.Is(err, registry.ErrManifestUnknown) {
			out.Failures = append(out.Failures, imageFailure(id, ecrapi.ImageFailureCodeImageNotFound, reasonNotFound))
			continue
		}
		if err != nil {
			return nil, s.repoErr("BatchGetImage", c, name, err)
		}
		s.reg.RecordPull(ctx, c.repo(name), img.Digest)
		out.Images = append(out.Images, ecrapi.Image{
			RegistryId:             ptr(c.Account),
			RepositoryName:         ptr(name),
			ImageId:                &ecrapi.ImageIdentifier{ImageDigest: ptr(img.Digest.String()), ImageTag: id.ImageTag},
			ImageManifest:          ptr(string(body)),
			ImageManifestMediaType: ptr(img.MediaType),
		})
	}
	return out, nil
}

// BatchDeleteImage deletes images by digest, or removes tags (the image
// goes with its last tag).
func (s *Service) BatchDeleteImage(ctx context.Context, in *ecrapi.BatchDeleteImageInput) (*ecrapi.BatchDeleteImageOutput, error) {
	c, err := s.callerOf(ctx, "BatchDeleteImage", in.RegistryId)
	if err != nil {
		return nil, err
	}
	name := *in.RepositoryName
	ref := c.repo(name)
	out := &ecrapi.BatchDeleteImageOutput{ImageIds: []ecrapi.ImageIdentifier{}, Failures: []ecrapi.ImageFailure{}}
	for _, id := range in.ImageIds {
		// Each id sees the deletions of the ids before it.
		imgs, err := s.listImages(ctx, "BatchDeleteImage", c, name)
		if err != nil {
			return nil, err
		}
		img, code, reason := findImage(imgs, id)
		if code != "" {
			out.Failures = append(out.Failures, imageFailure(id, code, reason))
			continue
		}
		if id.ImageTag != nil && len(img.Tags) > 1 {
			if err := s.reg.DeleteTag(ctx, ref, *id.ImageTag); err != nil {
				if errors.Is(err, registry.ErrManifestUnknown) {
					out.Failures = append(out.Failures, imageFailure(id, ecrapi.ImageFailureCodeImageNotFound, reasonNotFound))
					continue
				}
				return nil, s.repoErr("BatchDeleteImage", c, name, err)
			}
			out.ImageIds = append(out.ImageIds, ecrapi.ImageIdentifier{ImageDigest: ptr(img.Digest.String()), ImageTag: id.ImageTag})
			continue
		}
		gone, err := s.reg.DeleteManifest(ctx, ref, img.Digest)
		var refd *registry.ManifestReferencedError
		switch {
		case errors.As(err, &refd):
			parents := make([]string, len(refd.Parents))
			for i, p := range refd.Parents {
				parents[i] = p.String()
			}
			out.Failures = append(out.Failures, imageFailure(id, ecrapi.ImageFailureCodeImageReferencedByManifestList,
				"Requested image referenced by manifest list: ["+strings.Join(parents, ", ")+"]"))
			continue
		case errors.Is(err, registry.ErrManifestUnknown):
			out.Failures = append(out.Failures, imageFailure(id, ecrapi.ImageFailureCodeImageNotFound, reasonNotFound))
			continue
		case err != nil:
			return nil, s.repoErr("BatchDeleteImage", c, name, err)
		}
		s.forgetArchive(ctx, ref, gone.Digest)
		d := gone.Digest.String()
		if len(gone.Tags) == 0 {
			out.ImageIds = append(out.ImageIds, ecrapi.ImageIdentifier{ImageDigest: ptr(d)})
		}
		for _, t := range gone.Tags {
			out.ImageIds = append(out.ImageIds, ecrapi.ImageIdentifier{ImageDigest: ptr(d), ImageTag: ptr(t)})
		}
	}
	return out, nil
}

// references lists what a manifest body needs in its repository: blobs
// (config, layers) and child manifests. Bodies that do not parse need
// nothing here; the registry refuses them with a precise reason.
func references(body []byte) (blobs, children []string) {
	var m struct {
		Config *struct {
			Digest string `json:"digest"`
		} `json:"config"`
		Layers []struct {
			Digest string   `json:"digest"`
			URLs   []string `json:"urls"`
		} `json:"layers"`
		Manifests []struct {
			Digest string `json:"digest"`
		} `json:"manifests"`
	}
	if json.Unmarshal(body, &m) != nil {
		return nil, nil
	}
	if m.Config != nil {
		blobs = append(blobs, m.Config.Digest)
	}
	for _, l := range m.Layers {
		if len(l.URLs) == 0 && !slices.Contains(blobs, l.Digest) {
			blobs = append(blobs, l.Digest)
		}
	}
	for _, c := range m.Manifests {
		children = append(children, c.Digest)
	}
	return blobs, children
}

// PutImage stores a manifest (the registry checks it as for a docker push)
// and points a tag at it.
func (s *Service) PutImage(ctx context.Context, in *ecrapi.PutImageInput) (*ecrapi.PutImageOutput, error) {
	c, err := s.callerOf(ctx, "PutImage", in.RegistryId)
	if err != nil {
		return nil, err
	}
	name := *in.RepositoryName
	ref := c.repo(name)
	body := []byte(*in.ImageManifest)
	mediaType := str(in.ImageManifestMediaType)
	if mediaType == "" && !declaresMediaType(body) {
		// AWS's answer (and wording) when neither names the media type.
		return nil, invalidParam("Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'")
	}

	var want string
	if in.ImageDigest != nil {
		d, err := digest.Parse(*in.ImageDigest)
		if err != nil || !d.Algorithm().Available() {
			return nil, invalidParam("Invalid parameter at 'imageDigest' failed to satisfy constraint: 'The image digest %q is not a valid digest'", *in.ImageDigest)
		}
		if actual := d.Algorithm().FromBytes(body); actual != d {
			return nil, ecrapi.NewImageDigestDoesNotMatchException("The provided image digest '%s' does not match the digest calculated for the manifest, '%s'", d, actual)
		}
		want = d.String()
	}
	if _, err := s.reg.GetRepository(ctx, ref); err != nil {
		return nil, s.repoErr("PutImage", c, name, err)
	}
	// Name every missing layer and image up front, as AWS does; the
	// registry's own check (in the committing transaction) stays the guard.
	blobs, children := references(body)
	var missing []string
	for _, b := range blobs {
		d, err := digest.Parse(b)
		if err != nil {
			continue
		}
		if _, err := s.reg.StatBlob(ctx, ref, d); errors.Is(err, registry.ErrBlobUnknown) {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		return nil, layersNotFound(c, name, missing)
	}
	missing = missing[:0]
	for _, m := range children {
		if _, _, err := s.reg.GetManifest(ctx, ref, m); errors.Is(err, registry.ErrManifestUnknown) {
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		return nil, referencedNotFound(c, name, missing)
	}

	var tags []string
	if in.ImageTag != nil {
		tags = []string{*in.ImageTag}
	}
	img, res, err := s.reg.PutManifestTags(ctx, ref, want, tags, mediaType, body)
	var unknown *registry.ManifestBlobUnknownError
	var immutable *registry.TagImmutableError
	switch {
	case errors.As(err, &unknown) && unknown.Manifest:
		return nil, referencedNotFound(c, name, []string{unknown.Digest.String()})
	case errors.As(err, &unknown):
		return nil, layersNotFound(c, name, []string{unknown.Digest.String()})
	case errors.As(err, &immutable):
		return nil, ecrapi.NewImageTagAlreadyExistsException("%s", immutable.Error())
	case errors.Is(err, registry.ErrManifestInvalid), errors.Is(err, registry.ErrSizeInvalid):
		return nil, invalidParam("Invalid parameter at 'ImageManifest' failed to satisfy constraint: '%s'", err.Error())
	case errors.Is(err, registry.ErrTagInvalid):
		return nil, invalidParam("Invalid parameter at 'ImageTag' failed to satisfy constraint: '%s'", err.Error())
	case errors.Is(err, registry.ErrDigestInvalid):
		return nil, ecrapi.NewImageDigestDoesNotMatchException("%s", err.Error())
	case err != nil:
		return nil, s.repoErr("PutImage", c, name, err)
	}
	if !res.Changed() {
		tag := "null"
		if in.ImageTag != nil {
			tag = *in.ImageTag
		}
		return nil, ecrapi.NewImageAlreadyExistsException("Image with digest '%s' and tag '%s' already exists in the repository with name '%s' in registry with id '%s'",
			img.Digest, tag, name, c.Account)
	}
	return &ecrapi.PutImageOutput{Image: &ecrapi.Image{
		RegistryId:             ptr(c.Account),
		RepositoryName:         ptr(name),
		ImageId:                &ecrapi.ImageIdentifier{ImageDigest: ptr(img.Digest.String()), ImageTag: in.ImageTag},
		ImageManifest:          in.ImageManifest,
		ImageManifestMediaType: ptr(img.MediaType),
	}}, nil
}

func layersNotFound(c caller, name string, digests []string) error {
	return ecrapi.NewLayersNotFoundException("Layers with digests '[%s]' required for pushing image into repository with name '%s' in the registry with id '%s' do not exist",
		strings.Join(digests, ", "), name, c.Account)
}

func referencedNotFound(c caller, name string, digests []string) error {
	return ecrapi.NewReferencedImagesNotFoundException("Images with digests '[%s]' referenced by the manifest list do not exist in the repository with name '%s' in the registry with id '%s'",
		strings.Join(digests, ", "), name, c.Account)
}

// ListImageReferrers lists the artifacts whose subject is an image.
func (s *Service) ListImageReferrers(ctx context.Context, in *ecrapi.ListImageReferrersInput) (*ecrapi.ListImageReferrersOutput, error) {
	c, err := s.callerOf(ctx, "ListImageReferrers", in.RegistryId)
	if err != nil {
		return nil, err
	}
	name := *in.RepositoryName
	subject, err := digest.Parse(str(in.SubjectId.ImageDigest))
	if err != nil {
		return nil, invalidParam("Invalid parameter at 'subjectId.imageDigest' failed to satisfy constraint: 'The image digest is not a valid digest'")
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	descs, err := s.reg.Referrers(ctx, c.repo(name), subject, "")
	if err != nil {
		return nil, s.repoErr("ListImageReferrers", c, name, err)
	}
	var types []string
	if in.Filter != nil {
		types = in.Filter.ArtifactTypes
		if st := in.Filter.ArtifactStatus; st != nil && *st != ecrapi.ArtifactStatusFilterActive && *st != ecrapi.ArtifactStatusFilterAny {
			descs = nil
		}
	}
	sort.Slice(descs, func(i, j int) bool { return descs[i].Digest < descs[j].Digest })
	limit := 50
	if in.MaxResults != nil {
		limit = int(*in.MaxResults)
	}
	out := &ecrapi.ListImageReferrersOutput{Referrers: []ecrapi.ImageReferrer{}}
	for _, d := range descs {
		if (after != "" && d.Digest.String() <= after) || (len(types) > 0 && !slices.Contains(types, d.ArtifactType)) {
			continue
		}
		if len(out.Referrers) == limit {
			out.NextToken = encodeToken(*out.Referrers[limit-1].Digest)
			break
		}
		r := ecrapi.ImageReferrer{
			Digest:         ptr(d.Digest.String()),
			MediaType:      ptr(d.MediaType),
			Size:           ptr(d.Size),
			Annotations:    d.Annotations,
			ArtifactStatus: ptr(ecrapi.ArtifactStatusActive),
		}
		if d.ArtifactType != "" {
			r.ArtifactType = ptr(d.ArtifactType)
		}
		out.Referrers = append(out.Referrers, r)
	}
	return out, nil
}
