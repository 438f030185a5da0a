package awsapi

import (
	"context"
	"strings"
	"time"
)

// SessionCredentials resolves temporary credentials that Berth issued
// itself (STS AssumeRole, ECS task role credentials). The Authenticator
// consults it for access key ids that start with ASIA, so that a request
// signed with issued credentials acts as the assumed role.
type SessionCredentials interface {
	// LookupSession returns the session of accessKeyID, or nil (and no
	// error) when Berth did not issue it.
	LookupSession(ctx context.Context, accessKeyID string) (*Session, error)
}

// Session is one set of temporary credentials and who they act as.
type Session struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// AccountID is the account of the assumed role: requests signed with
	// the session act in it.
	AccountID string
	// Principal is the caller's ARN, e.g.
	// arn:aws:sts::111111111111:assumed-role/app/session1.
	Principal string
	// UserID is the caller's unique id, e.g. AROA...:session1.
	UserID     string
	Expiration time.Time
}

// IsSessionKey reports whether an access key id names temporary
// credentials, as AWS's ASIA prefix does.
func IsSessionKey(accessKeyID string) bool { return strings.HasPrefix(accessKeyID, "ASIA") }

// CodeExpiredToken is the error of a request signed with temporary
// credentials past their expiration (ExpiredToken on the awsQuery wire).
const CodeExpiredToken = "ExpiredTokenException"
