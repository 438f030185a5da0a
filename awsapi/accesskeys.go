package awsapi

import (
	"context"
	"net/http"
	"strings"
)

// AccessKeys resolves long-term access keys that IAM created
// (CreateAccessKey). The Authenticator consults it for AKIA keys that are
// not among the configured Credentials, so that a request signed with an
// IAM user's key acts as that user in the user's account, and a key that
// was deactivated or deleted is refused.
type AccessKeys interface {
	// LookupAccessKey returns the key accessKeyID, or nil (and no error)
	// when IAM did not create it.
	LookupAccessKey(ctx context.Context, accessKeyID string) (*AccessKey, error)
	// AccessKeyUsed records that a request signed with the key was
	// accepted, for GetAccessKeyLastUsed. It must be cheap: it runs on
	// every such request.
	AccessKeyUsed(accessKeyID, service, region string)
}

// AccessKey is a long-term key IAM created and who it acts as.
type AccessKey struct {
	AccessKeyID     string
	SecretAccessKey string
	// AccountID is the account the key was created in.
	AccountID string
	// Principal is the IAM user's ARN; empty for the account root's keys.
	Principal string
	// UserID is the user's unique id (AIDA...); empty for the root.
	UserID string
	// Active is false once UpdateAccessKey made the key Inactive.
	Active bool
}

// IsLongTermKey reports whether an access key id has the form of the
// long-term keys IAM creates (AKIA and 16 more characters).
func IsLongTermKey(accessKeyID string) bool {
	return len(accessKeyID) == 20 && strings.HasPrefix(accessKeyID, "AKIA")
}

// accessKey authenticates a request signed with a key IAM created.
func (a *Authenticator) accessKey(r *http.Request, body []byte, s *sigv4Request, k *AccessKey, id Identity) (Identity, *Error) {
	if !k.Active {
		return Identity{}, errInvalidToken()
	}
	if a.Verifying() {
		if err := a.verify(r, body, s, k.SecretAccessKey); err != nil {
			return Identity{}, err
		}
	}
	id.AccountID, id.Principal, id.UserID = k.AccountID, k.Principal, k.UserID
	a.Keys.AccessKeyUsed(k.AccessKeyID, id.Service, id.Region)
	return id, nil
}
