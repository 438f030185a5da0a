// Package iam is Berth's minimal AWS Identity and Access Management: roles
// with their trust policies, inline and attached policies and tags,
// customer managed policies and their versions, OpenID Connect providers
// (whose ID tokens STS exchanges for role credentials), users with access
// keys (which the Authenticator accepts as credentials: LookupAccessKey),
// groups and instance profiles, kept in the store and returned as
// IAM returns them. Policies are checked as IAM checks them when they are stored, but
// not enforced: every caller may call every API. The trust policy is the
// one policy Berth evaluates, when STS assumes a role (see iam/policy).
//
// IAM is global: its resources belong to an account, not to a region, and
// its ARNs have no region (arn:aws:iam::<account>:role/<path><name>).
package iam

import (
	"context"
	"crypto/rand"
	"errors"
	"net/url"
	"strings"
	"time"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// Store kinds. IAM's resources are global, so their region is empty.
const (
	kindRole   = "iam.role"
	kindPolicy = "iam.policy"
	global     = ""
)

// Quotas, as IAM's defaults.
const (
	maxRolesPerAccount    = 1000
	maxPoliciesPerAccount = 1500
	maxAttachedPerRole    = 10
	maxTagsPerEntity      = 50
	maxTrustPolicySize    = 2048
	maxInlinePolicySize   = 10240 // all inline policies of a role together
	maxManagedPolicySize  = 6144
	defaultMaxItems       = 100
	defaultSessionSeconds = 3600
)

// Options configure a Service.
type Options struct {
	// Store keeps roles and policies in its resource area.
	Store store.Store
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service implements the IAM API for roles (service-linked ones too),
// policies, OIDC and SAML providers, users with their access keys,
// passwords, MFA devices, SSH keys, certificates and service-specific
// credentials, groups and instance profiles; the rest (Organizations,
// delegation, ...) answers NotImplemented.
type Service struct {
	iamapi.UnimplementedService
	st   store.Store
	now  func() time.Time
	keys keyCache // access keys looked up for requests (accesskeys.go)
}

var _ iamapi.Service = (*Service)(nil)

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("iam: Store is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{st: o.Store, now: o.Now}, nil
}

// account is the caller's account: IAM acts in it.
func account(ctx context.Context) string { return awsapi.IdentityFrom(ctx).AccountID }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Second) }

// idChars are the characters of IAM's unique ids.
const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// newID is an IAM unique id: a four-letter prefix naming the kind (AROA
// for roles, ANPA for managed policies) and 17 more characters.
func newID(prefix string) string {
	b := make([]byte, 17)
	rand.Read(b)
	for i := range b {
		b[i] = idChars[int(b[i])%len(idChars)]
	}
	return prefix + string(b)
}

// EncodeDocument is a policy document as IAM returns it: URL-encoded
// (botocore decodes it back into JSON; the Go SDK leaves that to the
// caller, as AWS documents).
func EncodeDocument(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}

func str(s string) *string { return &s }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// get, put and all are the store's document helpers (store.LoadDoc,
// store.PutDoc, store.AllDocs) for IAM's global records of an account.
func get(tx store.Tx, kind, acct, id string, v any) (found bool, err error) {
	return store.LoadDoc(tx, kind, acct, global, id, v)
}

func put(tx store.Tx, kind, acct, id string, v any, at time.Time) error {
	return store.PutDoc(tx, kind, acct, global, id, v, at)
}

// all lists every resource of a kind in an account, decoded.
func all[T any](tx store.Tx, kind, acct string) ([]T, error) {
	out, _, err := store.AllDocs[T](tx, kind, acct, global, "", store.Page{})
	return out, err
}

// key is the store id of a named entity: IAM names are unique without
// regard to case.
func key(name string) string { return strings.ToLower(name) }

// page cuts a listing sorted by key at Marker (the key of the last item
// of the previous page) and MaxItems, as IAM's List operations page.
func page[T any](items []T, keyOf func(T) string, marker *string, maxItems *int32) (out []T, truncated *bool, next *string) {
	start := 0
	if m := deref(marker); m != "" {
		for start < len(items) && keyOf(items[start]) <= m {
			start++
		}
	}
	limit := defaultMaxItems
	if maxItems != nil {
		limit = int(*maxItems)
	}
	items = items[start:]
	more := len(items) > limit
	if more {
		items = items[:limit]
		next = str(keyOf(items[len(items)-1]))
	}
	return items, &more, next
}
