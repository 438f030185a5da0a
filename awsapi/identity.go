package awsapi

import (
	"context"
	"regexp"
)

// DefaultAccount and DefaultRegion are used when a request names neither,
// as local AWS emulators do, so unsigned tools still land somewhere stable.
const (
	DefaultAccount = "000000000000"
	DefaultRegion  = "us-east-1"
)

// Identity is who a request acts as and where: the account comes from the
// access key id, the region from the SigV4 credential scope.
type Identity struct {
	AccountID   string
	Region      string
	AccessKeyID string
	// Service is the signing name from the credential scope (ecr, ecs, ...).
	Service string
	// Principal is the caller's ARN when Berth knows it: the assumed-role
	// ARN of temporary credentials it issued, or the IAM user of a key IAM
	// created. Empty for other long-term keys, which act as their
	// account's root.
	Principal string
	// UserID is the caller's unique id with Principal (AROA...:session).
	UserID string
	// SessionToken is the token of temporary credentials, if any.
	SessionToken string
}

type identityKey struct{}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// IdentityFrom returns the request identity, or the default account and
// region when ctx carries none (background work, tests).
func IdentityFrom(ctx context.Context) Identity {
	if id, ok := ctx.Value(identityKey{}).(Identity); ok {
		return id
	}
	return Identity{AccountID: DefaultAccount, Region: DefaultRegion}
}

var twelveDigits = regexp.MustCompile(`^[0-9]{12}$`)

// AccountForAccessKey maps an access key id to an account: a key that is
// itself 12 digits names that account (LocalStack's convention, which test
// suites use to exercise cross-account behaviour); any other key is the
// default account.
func AccountForAccessKey(akid string) string {
	if twelveDigits.MatchString(akid) {
		return akid
	}
	return DefaultAccount
}

var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// ValidRegion reports whether r looks like an AWS region name.
func ValidRegion(r string) bool { return regionPattern.MatchString(r) }
