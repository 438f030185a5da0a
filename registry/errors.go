package registry

import (
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"
)

// Errors of the registry, checked with errors.Is. Most are returned wrapped
// with a message for people; the HTTP layer maps them to distribution-spec
// codes and the ECR service to ECR exceptions.
var (
	ErrRepositoryNotFound = errors.New("repository not found")
	ErrRepositoryExists   = errors.New("repository already exists")
	ErrRepositoryNotEmpty = errors.New("repository is not empty")
	ErrNameInvalid        = errors.New("invalid repository name")
	ErrInvalidArgument    = errors.New("invalid argument")

	ErrManifestUnknown     = errors.New("manifest unknown")
	ErrManifestInvalid     = errors.New("manifest invalid")
	ErrManifestBlobUnknown = errors.New("manifest references a blob or manifest the repository does not have")
	// ErrManifestReferenced: the manifest is a child of an index in the
	// repository (ECR's ImageReferencedByManifestList).
	ErrManifestReferenced = errors.New("manifest is referenced by an index")
	ErrTagInvalid         = errors.New("invalid tag")
	// ErrTagImmutable: the tag points at another image and the repository
	// keeps it immutable (ECR's ImageTagAlreadyExistsException).
	ErrTagImmutable = errors.New("tag is immutable")

	ErrBlobUnknown   = errors.New("blob unknown")
	ErrBlobInUse     = errors.New("blob is referenced by a manifest")
	ErrDigestInvalid = errors.New("digest invalid")
	ErrUploadUnknown = errors.New("blob upload unknown")
	ErrRangeInvalid  = errors.New("upload range does not match the data received")
	ErrSizeInvalid   = errors.New("size invalid")
	ErrUnsupported   = errors.New("unsupported")
)

// ManifestBlobUnknownError names what a manifest refers to that the
// repository lacks. It matches ErrManifestBlobUnknown.
type ManifestBlobUnknownError struct {
	Digest digest.Digest
	// Manifest is true for a child manifest of an index, false for a blob.
	Manifest bool
}

func (e *ManifestBlobUnknownError) Error() string {
	if e.Manifest {
		return fmt.Sprintf("manifest %s is not in the repository", e.Digest)
	}
	return fmt.Sprintf("blob %s is not in the repository", e.Digest)
}

func (e *ManifestBlobUnknownError) Is(target error) bool { return target == ErrManifestBlobUnknown }

// TagImmutableError is the refusal to move an immutable tag. It matches
// ErrTagImmutable.
type TagImmutableError struct {
	Repository string
	Tag        string
	Current    digest.Digest // what the tag points at
}

func (e *TagImmutableError) Error() string {
	return fmt.Sprintf("The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the tag is immutable.",
		e.Tag, e.Repository)
}

func (e *TagImmutableError) Is(target error) bool { return target == ErrTagImmutable }

// ManifestReferencedError names the indexes that keep a manifest. It
// matches ErrManifestReferenced.
type ManifestReferencedError struct {
	Digest  digest.Digest
	Parents []digest.Digest
}

func (e *ManifestReferencedError) Error() string {
	return fmt.Sprintf("manifest %s is referenced by index %s; delete the index first", e.Digest, e.Parents[0])
}

func (e *ManifestReferencedError) Is(target error) bool { return target == ErrManifestReferenced }

// BlobInUseError names the manifests that use a blob. It matches
// ErrBlobInUse.
type BlobInUseError struct {
	Digest    digest.Digest
	Manifests []digest.Digest
}

func (e *BlobInUseError) Error() string {
	return fmt.Sprintf("blob %s is used by manifest %s; delete the manifest first", e.Digest, e.Manifests[0])
}

func (e *BlobInUseError) Is(target error) bool { return target == ErrBlobInUse }
