// Package secrets is Berth's AWS Secrets Manager: the Secrets Manager API
// (api/secretsmanager's generated Service) over the store's resource area.
//
// A secret is one resource (kind "secretsmanager/secret", id its name)
// holding its metadata and the list of its versions with their staging
// labels; each version's value is a resource of its own (kind
// "secretsmanager/version", id "<name>#<version id>"), so that listing
// secrets never reads values. Values are stored as given: Berth has no KMS,
// KmsKeyId is recorded and returned but encrypts nothing.
//
// Every operation acts in the caller's account and region
// (awsapi.IdentityFrom); one store transaction backs each call.
package secrets

import (
	"context"
	"crypto/rand"
	"errors"
	"time"

	smapi "github.com/berth-dev/berth/api/secretsmanager"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// Resource kinds in the store's resource area.
const (
	KindSecret  = "secretsmanager/secret"
	KindVersion = "secretsmanager/version"
)

// Staging labels Secrets Manager itself manages.
const (
	StageCurrent  = "AWSCURRENT"
	StagePrevious = "AWSPREVIOUS"
	StagePending  = "AWSPENDING"
)

// Options configure a Service.
type Options struct {
	// Store keeps the secrets in its resource area.
	Store store.Store
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service implements the Secrets Manager API. Rotation and replication are
// left to UnimplementedService.
type Service struct {
	smapi.UnimplementedService

	st  store.Store
	now func() time.Time
}

var _ smapi.Service = (*Service)(nil)

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("secrets: Store is required")
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

// clock returns the current time truncated to milliseconds, the precision
// of the wire's timestamps, so stored and returned times agree.
func (s *Service) clock() time.Time {
	return s.now().UTC().Truncate(time.Millisecond)
}

// newUUID returns a random (version 4) UUID, the form the SDKs use for
// ClientRequestToken and so for version ids.
var newUUID = awsapi.NewUUID

const suffixAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomSuffix is the six characters AWS appends to a secret's name in its
// ARN, so that a deleted and re-created secret gets a different ARN.
func randomSuffix() string {
	var b [6]byte
	rand.Read(b[:])
	out := make([]byte, len(b))
	for i, v := range b {
		out[i] = suffixAlphabet[int(v)%len(suffixAlphabet)]
	}
	return string(out)
}

// secretARN is arn:aws:secretsmanager:<region>:<account>:secret:<name>-<suffix>.
func secretARN(c caller, name, suffix string) string {
	return "arn:aws:secretsmanager:" + c.Region + ":" + c.Account + ":secret:" + name + "-" + suffix
}
