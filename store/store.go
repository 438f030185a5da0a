// Package store is Berth's state: the interface every state backend
// implements (SQLite now, PostgreSQL later) and the records it keeps.
//
// All access goes through transactions. Update runs a read-write transaction
// and View a read-only one; the function passed in is the whole transaction,
// so a caller that returns an error leaves nothing behind. Backends may run
// the function more than once when the database reports contention, so it
// must not have side effects outside the Tx.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/opencontainers/go-digest"
)

// Errors every backend returns, checked with errors.Is.
var (
	// ErrNotFound: the record (or a record it refers to) does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a record with the same key already exists.
	ErrConflict = errors.New("store: conflict")
)

// Store is a state backend.
type Store interface {
	// Update runs fn in one read-write transaction and commits it when fn
	// returns nil. It retries fn when the database is busy.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction with a consistent snapshot.
	View(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// Tx is one transaction. Methods of a Tx obtained from View that write
// return an error.
type Tx interface {
	RepositoryTx
	ManifestTx
	TagTx
	BlobTx
	UploadTx
	GCTx
	ResourceTx
	LogsTx
	ECSTaskTx
}

// Repository is an image repository, namespaced by account and region.
type Repository struct {
	ID                   int64 // assigned by CreateRepository
	Account              string
	Region               string
	Name                 string
	CreatedAt            time.Time
	TagMutability        string
	MutabilityExclusions []string
	Settings             json.RawMessage
}

// RepositoryTx reads and writes repositories.
type RepositoryTx interface {
	// CreateRepository inserts r and sets r.ID. ErrConflict when the
	// account/region/name triple is taken.
	CreateRepository(r *Repository) error
	GetRepository(account, region, name string) (Repository, error)
	GetRepositoryByID(id int64) (Repository, error)
	// ListRepositories returns up to limit repositories of an account and
	// region with a name greater than after, in name order. limit <= 0 means
	// no limit.
	ListRepositories(account, region, after string, limit int) ([]Repository, error)
	// UpdateRepository rewrites the mutable fields (mutability, exclusions,
	// settings) of the repository with r.ID.
	UpdateRepository(r Repository) error
	// DeleteRepository removes a repository with its manifests, tags, blob
	// links and upload sessions. Blob records stay for the collector.
	DeleteRepository(id int64) error
}

// Manifest is an image manifest or index stored in a repository.
type Manifest struct {
	RepoID       int64
	Digest       digest.Digest
	MediaType    string
	ArtifactType string
	Subject      digest.Digest // empty when the manifest has no subject
	Annotations  map[string]string
	// Size is the image size ECR reports: config and layers for an image,
	// the largest child's size for an index (ECR: "the max size of all manifests in the list").
	Size         int64
	Body         []byte // nil in listings
	BodySize     int64
	PushedAt     time.Time
	LastPulledAt time.Time
}

// ManifestRefs are what a manifest points at inside its repository.
type ManifestRefs struct {
	Blobs     []digest.Digest // config and layers
	Manifests []digest.Digest // children of an index
}

// ManifestTx reads and writes manifests.
type ManifestTx interface {
	// PutManifest inserts m with its references. Every blob must exist (a
	// blob record) and every child manifest must exist in the same
	// repository, else ErrNotFound; ErrConflict when m exists already.
	PutManifest(m Manifest, refs ManifestRefs) error
	// GetManifest returns the manifest with its body.
	GetManifest(repoID int64, dgst digest.Digest) (Manifest, error)
	// ListManifests returns every manifest of a repository in push order,
	// without bodies.
	ListManifests(repoID int64) ([]Manifest, error)
	// CountManifests returns the number of manifests in a repository.
	CountManifests(repoID int64) (int, error)
	// DeleteManifest removes a manifest, its references and its tags.
	DeleteManifest(repoID int64, dgst digest.Digest) error
	// ManifestParents returns the indexes of the repository that list dgst
	// as a child.
	ManifestParents(repoID int64, dgst digest.Digest) ([]digest.Digest, error)
	// ManifestsReferencingBlob returns the manifests of the repository that
	// use the blob as config or layer.
	ManifestsReferencingBlob(repoID int64, dgst digest.Digest) ([]digest.Digest, error)
	// Referrers returns the manifests of the repository whose subject is
	// dgst, without bodies.
	Referrers(repoID int64, subject digest.Digest) ([]Manifest, error)
	// SetLastPulled records a pull time.
	SetLastPulled(repoID int64, dgst digest.Digest, at time.Time) error
}

// Tag points a name at a manifest of the same repository.
type Tag struct {
	Name      string
	Digest    digest.Digest
	UpdatedAt time.Time
}

// TagTx reads and writes tags.
type TagTx interface {
	// PutTag creates or moves a tag; the manifest must exist (ErrNotFound).
	PutTag(repoID int64, t Tag) error
	GetTag(repoID int64, name string) (Tag, error)
	DeleteTag(repoID int64, name string) error
	// ListTags returns up to limit tags with a name greater than after, in
	// name order. limit < 0 means no limit.
	ListTags(repoID int64, after string, limit int) ([]Tag, error)
	// TagsOf returns the tags pointing at a manifest, in name order.
	TagsOf(repoID int64, dgst digest.Digest) ([]string, error)
}

// Blob is content in the blob store, shared by every repository.
type Blob struct {
	Digest digest.Digest
	Size   int64
	// CreatedAt is refreshed whenever the blob is uploaded again; the
	// garbage collector spares blobs younger than its grace period.
	CreatedAt time.Time
}

// BlobTx reads and writes blob records and the links that make a blob
// visible in a repository.
type BlobTx interface {
	// PutBlob records a blob, or refreshes CreatedAt when it exists.
	PutBlob(b Blob) error
	GetBlob(dgst digest.Digest) (Blob, error)
	// ListBlobs returns up to limit blob records with a digest greater than
	// after, in digest order (limit <= 0: all).
	ListBlobs(after digest.Digest, limit int) ([]Blob, error)
	// LinkBlob makes a recorded blob visible in a repository (ErrNotFound
	// when the blob is not recorded); linking again refreshes the time.
	LinkBlob(repoID int64, dgst digest.Digest, at time.Time) error
	// LinkedBlob returns the blob when it is linked to the repository.
	LinkedBlob(repoID int64, dgst digest.Digest) (Blob, error)
	UnlinkBlob(repoID int64, dgst digest.Digest) error
	// FindLink returns a repository of the account and region the blob is
	// linked to.
	FindLink(account, region string, dgst digest.Digest) (int64, error)
}

// Upload is a blob upload session.
type Upload struct {
	ID        string
	RepoID    int64
	StartedAt time.Time
	UpdatedAt time.Time
	// Size is the number of bytes the hash state covers.
	Size int64
	// HashAlgorithm and HashState hold the running digest of the bytes
	// received so far (a marshalled hash.Hash), empty when unknown.
	HashAlgorithm string
	HashState     []byte
}

// UploadTx reads and writes upload sessions.
type UploadTx interface {
	PutUpload(u Upload) error // insert or replace
	GetUpload(id string) (Upload, error)
	DeleteUpload(id string) error
}

// GCTx holds the queries of the garbage collector.
type GCTx interface {
	// CollectableBlobs returns up to limit blobs that no manifest references,
	// recorded before cutoff and linked nowhere at or after cutoff.
	CollectableBlobs(cutoff time.Time, limit int) ([]Blob, error)
	// DeleteBlobIfCollectable deletes the blob record and its links when the
	// blob is still collectable by the rules of CollectableBlobs; it reports
	// whether it did.
	DeleteBlobIfCollectable(dgst digest.Digest, cutoff time.Time) (bool, error)
	// StaleUploads returns up to limit upload sessions last updated before
	// cutoff.
	StaleUploads(cutoff time.Time, limit int) ([]Upload, error)
}

// Resource is a JSON document other services keep (ECR registry policies,
// replication configuration, ...), keyed by kind, account, region and id.
type Resource struct {
	Kind      string
	Account   string
	Region    string
	ID        string
	Doc       json.RawMessage
	UpdatedAt time.Time
}

// Page selects a slice of a listing in key order: keys greater than After,
// at most Limit of them (Limit <= 0: no limit).
type Page struct {
	After string
	Limit int
}

// ResourceTx reads and writes resources.
type ResourceTx interface {
	GetResource(kind, account, region, id string) (Resource, error)
	// PutResource inserts or replaces a resource; UpdatedAt is stored as
	// given.
	PutResource(r Resource) error
	DeleteResource(kind, account, region, id string) error
	// ListResources returns the resources of a kind in an account and
	// region whose id starts with prefix, in id order.
	ListResources(kind, account, region, prefix string, page Page) ([]Resource, error)
}
