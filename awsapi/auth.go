package awsapi

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"
)

// Authenticator turns a request's SigV4 authorization into an Identity.
type Authenticator struct {
	// Credentials, when non-empty, switches signature checking on.
	Credentials Credentials
	// Now is the clock for expiry checks; time.Now when nil.
	Now func() time.Time
}

// Verifying reports whether signatures are checked.
func (a *Authenticator) Verifying() bool { return len(a.Credentials) > 0 }

// Authenticate checks r (whose body has been read into body) and returns who
// it acts as. Unsigned requests are the default account and region unless
// credentials are configured, in which case they are refused as AWS does.
func (a *Authenticator) Authenticate(r *http.Request, body []byte) (Identity, *Error) {
	s, perr := parseSigV4(r)
	if perr != nil {
		return Identity{}, perr
	}
	if s == nil {
		if a.Verifying() {
			return Identity{}, NewError(http.StatusForbidden, CodeMissingAuthenticationToken, "Missing Authentication Token")
		}
		return Identity{AccountID: DefaultAccount, Region: DefaultRegion}, nil
	}
	id := Identity{AccountID: AccountForAccessKey(s.AccessKeyID), Region: s.Region, AccessKeyID: s.AccessKeyID, Service: s.Service}
	if !ValidRegion(s.Region) {
		return Identity{}, NewError(http.StatusBadRequest, CodeIncompleteSignature, "Credential should be scoped to a valid region, not '%s'.", s.Region)
	}
	if !a.Verifying() {
		return id, nil
	}
	secret, ok := a.Credentials[s.AccessKeyID]
	if !ok {
		return Identity{}, NewError(http.StatusForbidden, CodeUnrecognizedClient, "The security token included in the request is invalid.")
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		if s.Presigned {
			payload = "UNSIGNED-PAYLOAD"
		} else {
			sum := sha256.Sum256(body)
			payload = hex.EncodeToString(sum[:])
		}
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	if err := s.verify(r, secret, payload, now()); err != nil {
		return Identity{}, err
	}
	return id, nil
}
