// Package eks is Berth's Amazon EKS API: clusters, node groups, Fargate
// profiles, access entries, updates and tags, kept in the store, with a
// controller that moves them through EKS's statuses by calling a
// ControlPlane, and the token reviewer that Kubernetes API servers ask who
// an `aws eks get-token` token belongs to.
package eks

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"sync"
	"time"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/sts/oidc"
)

// Resource kinds in the store. Nodegroups, profiles, access entries and
// updates are keyed "<cluster>/<name>" so that a cluster's are one prefix.
const (
	kindCluster   = "eks.cluster"
	kindNodegroup = "eks.nodegroup"
	kindFargate   = "eks.fargateprofile"
	kindAccess    = "eks.accessentry"
	kindUpdate    = "eks.update"
	// kindIndex lists every cluster of every account and region (under the
	// empty account and region) so that the controller finds them all.
	kindIndex = "eks.index"
)

// Limits, as EKS's default quotas.
const (
	maxClustersPerRegion    = 100
	maxNodegroupsPerCluster = 30
	maxProfilesPerCluster   = 10
	maxNodesPerNodegroup    = 450
)

// Options configure a Service.
type Options struct {
	Store store.Store
	// ControlPlane runs clusters; Unserved when nil.
	ControlPlane ControlPlane
	// Auth checks the presigned requests inside get-token tokens.
	Auth *awsapi.Authenticator
	// CallerARN says who an authenticated identity is, as STS
	// GetCallerIdentity answers (arn:aws:iam::123456789012:root,
	// arn:aws:sts::123456789012:assumed-role/role/session, ...).
	CallerARN func(ctx context.Context, id awsapi.Identity) (string, error)
	// TokenReviewURL returns the webhook URL of a cluster, handed to the
	// control plane.
	TokenReviewURL func(c ClusterRef) string
	// OIDCIssuerBase is where Berth is reached (http://127.0.0.1:4566): new
	// clusters' OIDC issuers are served under it (see oidc.go). Empty
	// keeps EKS's issuer form, which Berth does not serve.
	OIDCIssuerBase string
	Log            *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Roles vends the credentials of EKS Pod Identity (*sts.Service);
	// AssumeRoleForPodIdentity answers ServiceUnavailableException
	// without it.
	Roles PodRoles
}

// Service implements the EKS API.
type Service struct {
	eksapi.UnimplementedService
	st        store.Store
	cp        ControlPlane
	auth      *awsapi.Authenticator
	callerARN func(ctx context.Context, id awsapi.Identity) (string, error)
	reviewURL func(c ClusterRef) string
	oidcBase  string
	log       *slog.Logger
	now       func() time.Time
	roles     PodRoles
	// podKeys caches clusters' service-account keys for
	// AssumeRoleForPodIdentity.
	podKeys oidc.Keys

	kick chan struct{}
	mu   sync.Mutex
	// busy holds the clusters the controller is working on, started the
	// clusters whose control plane this process has started.
	busy    map[ClusterRef]bool
	dirty   map[ClusterRef]bool
	started map[ClusterRef]bool
}

var _ eksapi.Service = (*Service)(nil)

// New returns a Service; run its controller with Run.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("eks: Store is required")
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.ControlPlane == nil {
		o.ControlPlane = Unserved{Log: o.Log}
	}
	if o.Auth == nil {
		o.Auth = &awsapi.Authenticator{}
	}
	if o.CallerARN == nil {
		o.CallerARN = func(_ context.Context, id awsapi.Identity) (string, error) { return CallerARN(id), nil }
	}
	if o.TokenReviewURL == nil {
		o.TokenReviewURL = func(ClusterRef) string { return "" }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{st: o.Store, cp: o.ControlPlane, auth: o.Auth, callerARN: o.CallerARN, reviewURL: o.TokenReviewURL,
		oidcBase: o.OIDCIssuerBase, roles: o.Roles, log: o.Log, now: o.Now, kick: make(chan struct{}, 1), busy: map[ClusterRef]bool{}, dirty: map[ClusterRef]bool{}, started: map[ClusterRef]bool{}}, nil
}

// CallerARN is the ARN STS reports for id: its assumed role, or the root
// of its account for long-term keys.
func CallerARN(id awsapi.Identity) string {
	if id.Principal != "" {
		return id.Principal
	}
	return "arn:aws:iam::" + id.AccountID + ":root"
}

// where is the account and region of a request.
func identity(ctx context.Context) awsapi.Identity { return awsapi.IdentityFrom(ctx) }

func where(ctx context.Context) (string, string) {
	id := awsapi.IdentityFrom(ctx)
	return id.AccountID, id.Region
}

// getDoc is store.LoadDoc for records kept by value.
func getDoc[T any](tx store.Tx, kind, account, region, id string) (T, bool, error) {
	var v T
	found, err := store.LoadDoc(tx, kind, account, region, id, &v)
	return v, found, err
}

// mustGet reads a record that must exist; notFound is the error when it
// does not.
func mustGet[T any](tx store.Tx, kind, account, region, id string, notFound error) (T, error) {
	v, ok, err := getDoc[T](tx, kind, account, region, id)
	if err == nil && !ok {
		err = notFound
	}
	return v, err
}

// Pagination tokens are the last key of the page, opaque to clients.
func pageToken(key string) *string {
	t := base64.RawURLEncoding.EncodeToString([]byte(key))
	return &t
}

func readToken(t *string) (string, error) {
	if t == nil || *t == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*t)
	if err != nil {
		return "", eksapi.NewInvalidParameterException("The nextToken is not valid: pass the nextToken of a previous response.")
	}
	return string(b), nil
}

// pageArgs reads maxResults/nextToken: the key to list after and the page
// size, def when not given.
func pageArgs(max *int32, next *string, def int) (after string, limit int, err error) {
	if after, err = readToken(next); err != nil {
		return "", 0, err
	}
	limit = def
	if max != nil {
		limit = int(*max)
	}
	return after, limit, nil
}

// page is pageArgs as a store page.
func page(max *int32, next *string, def int) (store.Page, error) {
	after, n, err := pageArgs(max, next, def)
	// One more than asked tells whether there is a next page.
	return store.Page{After: after, Limit: n + 1}, err
}

// newID is a random UUID, as EKS gives clusters, updates and the ARNs of
// node groups and profiles.
var newID = awsapi.NewUUID

func clusterARN(account, region, name string) string {
	return "arn:aws:eks:" + region + ":" + account + ":cluster/" + name
}

// kickController wakes the controller after a write that needs it.
func (s *Service) kickController() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *Service) ts() *awsapi.Timestamp {
	return awsapi.Time(s.now().UTC().Truncate(time.Millisecond))
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func deref[T any](p *T) T {
	if p == nil {
		var z T
		return z
	}
	return *p
}
