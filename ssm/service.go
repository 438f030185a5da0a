// Package ssm is Berth's AWS Systems Manager Parameter Store: the
// parameter operations of the SSM API (api/ssm's generated Service) over
// the store's resource area.
//
// A parameter is one resource (kind "ssm/parameter", id its key: the name,
// without the leading slash of a single-level name, so that "/x" and "x"
// are one parameter as in AWS) holding its current version; every version,
// the current one included, is also kept as a resource (kind
// "ssm/parameter-version", id "<key>#<version, zero-padded>") for
// GetParameterHistory, selectors and labels.
//
// SecureString values are stored as given: Berth has no KMS. KeyId is
// recorded and returned; WithDecryption=false returns an opaque base64
// encoding of the value instead of the plaintext, as AWS returns
// ciphertext.
//
// Parameters named /aws/reference/secretsmanager/<secret> read Secrets
// Manager secrets of the same account and region, as in AWS.
package ssm

import (
	"context"
	"errors"
	"time"

	ssmapi "github.com/berth-dev/berth/api/ssm"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// Resource kinds in the store's resource area.
const (
	KindParameter = "ssm/parameter"
	KindVersion   = "ssm/parameter-version"
)

// Options configure a Service.
type Options struct {
	// Store keeps the parameters in its resource area.
	Store store.Store
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service implements Parameter Store's operations of the SSM API; the rest
// of SSM is left to UnimplementedService.
type Service struct {
	ssmapi.UnimplementedService

	st  store.Store
	now func() time.Time
}

var _ ssmapi.Service = (*Service)(nil)

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("ssm: Store is required")
	}
	s := &Service{st: o.Store, now: o.Now}
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

func callerOf(ctx context.Context) caller {
	id := awsapi.IdentityFrom(ctx)
	return caller{Account: id.AccountID, Region: id.Region}
}

// clock is the current time at the wire's millisecond precision.
func (s *Service) clock() time.Time {
	return s.now().UTC().Truncate(time.Millisecond)
}

// userARN is what LastModifiedUser shows: Berth knows accounts, not users.
func userARN(c caller) string { return "arn:aws:iam::" + c.Account + ":root" }

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
