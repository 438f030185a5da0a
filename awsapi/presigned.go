package awsapi

import (
	"net/http"
	"time"
)

// AuthenticatePresigned authenticates a presigned GET request handed over
// as a bearer token, as EKS tokens carry an STS GetCallerIdentity request.
// The request is good for validity after its X-Amz-Date whatever its
// X-Amz-Expires says: STS treats these tokens so (the aws CLI signs them
// for 60 seconds and tells kubectl to use them for 14 minutes). Everything
// else is checked exactly as for any other request: the signature when
// credentials are configured, and the session of credentials Berth issued.
func (a *Authenticator) AuthenticatePresigned(r *http.Request, validity time.Duration) (Identity, *Error) {
	s, err := parseSigV4(r)
	if err != nil {
		return Identity{}, err
	}
	if s == nil || !s.Presigned {
		return Identity{}, NewError(http.StatusForbidden, CodeMissingAuthenticationToken, "The token is not a presigned request.")
	}
	t, perr := time.Parse("20060102T150405Z", s.AmzDate)
	if perr != nil {
		return Identity{}, NewError(http.StatusForbidden, CodeIncompleteSignature, "X-Amz-Date is missing or not in the form yyyyMMddTHHmmssZ.")
	}
	now := a.now()
	if now.After(t.Add(validity)) {
		return Identity{}, NewError(http.StatusForbidden, CodeExpiredToken, "The token expired at %s.", t.Add(validity).UTC().Format(time.RFC3339))
	}
	if t.After(now.Add(15 * time.Minute)) {
		return Identity{}, NewError(http.StatusForbidden, CodeInvalidSignature, "The token is signed for %s, in the future.", t.UTC().Format(time.RFC3339))
	}
	s.Expires = 0
	return a.authenticate(r, nil, s)
}
