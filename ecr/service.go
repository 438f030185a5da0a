// Package ecr is Berth's Amazon ECR: the ECR API (api/ecr's generated
// Service) over the OCI registry core in registry/, the registry's token
// authorizer, the signed layer-download endpoint and the lifecycle policy
// runner.
//
// Every operation acts in the caller's account and region
// (awsapi.IdentityFrom): a registryId naming another account is refused as
// AWS refuses a caller without cross-account permissions.
package ecr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	ecrapi "github.com/berth-dev/berth/api/ecr"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/ecr/pullthrough"
	"github.com/berth-dev/berth/ecr/replication"
	"github.com/berth-dev/berth/ecr/token"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/store"
)

// Options configure a Service.
type Options struct {
	// Registry is the OCI registry core the images live in.
	Registry *registry.Registry
	// Store holds what ECR keeps beside the registry (registry policies,
	// account settings, lifecycle previews ...) in its resource area.
	Store store.Store
	// Tokens mints the passwords GetAuthorizationToken returns and the
	// registry accepts.
	Tokens *token.Issuer
	// URLKey signs layer download URLs (at least 32 bytes).
	URLKey []byte
	// RegistryHost is host[:port] of the registry as clients reach it; it is
	// in repository URIs, proxy endpoints and layer download URLs.
	RegistryHost string
	// Log receives what the background work has to say.
	Log *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service implements the ECR API (operations not implemented come from
// UnimplementedService). Replication and the pull-through cache live in
// replication.go and pullthrough.go, over their packages; image scanning
// in scanning.go, over ecr/scan.
type Service struct {
	ecrapi.UnimplementedService

	reg    *registry.Registry
	st     store.Store
	tokens *token.Issuer
	urlKey []byte
	host   string
	log    *slog.Logger
	now    func() time.Time

	parts partTracker

	// lifecycle is the runner that PutLifecyclePolicy and pushes poke; nil
	// until SetLifecycleRunner.
	lifecycle *LifecycleRunner

	// scanner runs image scans (NewScanner); nil until made.
	scanner *Scanner

	// ptc is the pull-through cache (NewPullThroughCache) and replicator
	// the replication worker (NewReplicator); nil until made.
	ptc        *pullthrough.Cache
	replicator *replication.Replicator
}

var _ ecrapi.Service = (*Service)(nil)

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Registry == nil || o.Store == nil || o.Tokens == nil {
		return nil, errors.New("ecr: Registry, Store and Tokens are required")
	}
	if len(o.URLKey) < 32 {
		return nil, fmt.Errorf("ecr: URL signing key must be at least 32 bytes, got %d", len(o.URLKey))
	}
	if o.RegistryHost == "" {
		return nil, errors.New("ecr: RegistryHost is required")
	}
	s := &Service{
		reg:    o.Registry,
		st:     o.Store,
		tokens: o.Tokens,
		urlKey: o.URLKey,
		host:   o.RegistryHost,
		log:    o.Log,
		now:    o.Now,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// caller is the account and region a request acts in.
type caller struct {
	Account string
	Region  string
}

// callerOf returns the caller of ctx after checking that registryID, when
// given, is the caller's own registry.
func (s *Service) callerOf(ctx context.Context, op string, registryID *string) (caller, error) {
	id := awsapi.IdentityFrom(ctx)
	c := caller{Account: id.AccountID, Region: id.Region}
	if registryID != nil && *registryID != c.Account {
		return c, accessDenied(c, op, fmt.Sprintf("arn:aws:ecr:%s:%s:repository/*", c.Region, *registryID))
	}
	return c, nil
}

// accessDenied is what AWS answers a caller acting on another account's
// registry without a policy granting it: Berth has no cross-account grants.
func accessDenied(c caller, op, resource string) error {
	return awsapi.NewError(400, awsapi.CodeAccessDenied,
		"User: arn:aws:iam::%s:root is not authorized to perform: ecr:%s on resource: %s because no resource-based policy allows the ecr:%s action",
		c.Account, op, resource, op)
}

func (c caller) repo(name string) registry.Repo {
	return registry.Repo{Account: c.Account, Region: c.Region, Name: name}
}

func (c caller) arn(name string) string {
	return repositoryARN(c.Region, c.Account, name)
}

func repositoryARN(region, account, name string) string {
	return "arn:aws:ecr:" + region + ":" + account + ":repository/" + name
}

// parseRepositoryARN splits arn:aws:ecr:<region>:<account>:repository/<name>.
func parseRepositoryARN(arn string) (region, account, name string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != "ecr" {
		return "", "", "", false
	}
	name, found := strings.CutPrefix(parts[5], "repository/")
	if !found || name == "" || parts[3] == "" || parts[4] == "" {
		return "", "", "", false
	}
	return parts[3], parts[4], name, true
}

func (s *Service) repositoryURI(name string) string { return s.host + "/" + name }

// Errors worded as AWS words them.

func repoNotFound(c caller, name string) error {
	return ecrapi.NewRepositoryNotFoundException("The repository with name '%s' does not exist in the registry with id '%s'", name, c.Account)
}

func invalidParam(format string, args ...any) error {
	return ecrapi.NewInvalidParameterException(format, args...)
}

// imageIDString renders an image id as AWS does in ImageNotFoundException
// messages: {imageDigest:'sha256:...', imageTag:'null'}.
func imageIDString(id ecrapi.ImageIdentifier) string {
	d, t := "null", "null"
	if id.ImageDigest != nil {
		d = *id.ImageDigest
	}
	if id.ImageTag != nil {
		t = *id.ImageTag
	}
	return fmt.Sprintf("{imageDigest:'%s', imageTag:'%s'}", d, t)
}

func imageNotFound(c caller, name string, id ecrapi.ImageIdentifier) error {
	return ecrapi.NewImageNotFoundException("The image with imageId %s does not exist within the repository with name '%s' in the registry with id '%s'",
		imageIDString(id), name, c.Account)
}

// internal wraps an unexpected failure; the wire layer logs it and answers
// 500 InternalFailure without the cause.
func internal(op string, err error) error {
	return fmt.Errorf("ecr %s: %w", op, err)
}

func ptr[T any](v T) *T { return &v }

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// page is a decoded nextToken: the key after which a listing continues.
type pageToken struct {
	After string `json:"a"`
}
