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
	// Sessions, when set, resolves the temporary credentials Berth issued
	// (ASIA access keys): a request signed with them acts in the session's
	// account as its assumed role, and fails with ExpiredToken once they
	// expire. With Credentials set their token and signature are checked
	// too.
	Sessions SessionCredentials
	// Keys, when set, resolves the long-term keys IAM created: a request
	// signed with one acts as its user in the user's account; an inactive
	// key is refused. With Credentials set the signature is checked with
	// the key's stored secret.
	Keys AccessKeys
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
	return a.authenticate(r, body, s)
}

// authenticate checks the parsed signature s of r.
func (a *Authenticator) authenticate(r *http.Request, body []byte, s *sigv4Request) (Identity, *Error) {
	id := Identity{AccountID: AccountForAccessKey(s.AccessKeyID), Region: s.Region, AccessKeyID: s.AccessKeyID, Service: s.Service}
	if !ValidRegion(s.Region) {
		return Identity{}, NewError(http.StatusBadRequest, CodeIncompleteSignature, "Credential should be scoped to a valid region, not '%s'.", s.Region)
	}
	if a.Sessions != nil && IsSessionKey(s.AccessKeyID) {
		sess, err := a.Sessions.LookupSession(r.Context(), s.AccessKeyID)
		if err != nil {
			return Identity{}, InternalError(err)
		}
		if sess != nil {
			return a.session(r, body, s, sess, id)
		}
	}
	secret, configured := a.Credentials[s.AccessKeyID]
	if a.Keys != nil && !configured && IsLongTermKey(s.AccessKeyID) {
		k, err := a.Keys.LookupAccessKey(r.Context(), s.AccessKeyID)
		if err != nil {
			return Identity{}, InternalError(err)
		}
		if k != nil {
			return a.accessKey(r, body, s, k, id)
		}
	}
	if !a.Verifying() {
		return id, nil
	}
	if !configured {
		return Identity{}, errInvalidToken()
	}
	if err := a.verify(r, body, s, secret); err != nil {
		return Identity{}, err
	}
	return id, nil
}

func errInvalidToken() *Error {
	return NewError(http.StatusForbidden, CodeUnrecognizedClient, "The security token included in the request is invalid.")
}

// session authenticates a request signed with credentials Berth issued.
func (a *Authenticator) session(r *http.Request, body []byte, s *sigv4Request, sess *Session, id Identity) (Identity, *Error) {
	token := r.Header.Get("X-Amz-Security-Token")
	if token == "" {
		token = r.URL.Query().Get("X-Amz-Security-Token")
	}
	if a.Verifying() {
		if token != sess.SessionToken {
			return Identity{}, errInvalidToken()
		}
		if err := a.verify(r, body, s, sess.SecretAccessKey); err != nil {
			return Identity{}, err
		}
	}
	if !a.now().Before(sess.Expiration) {
		return Identity{}, NewError(http.StatusForbidden, CodeExpiredToken, "The security token included in the request is expired")
	}
	id.AccountID, id.Principal, id.UserID, id.SessionToken = sess.AccountID, sess.Principal, sess.UserID, token
	return id, nil
}

// verify checks the signature of r with secret. A presigned URL names no
// payload hash: S3-style presigners sign UNSIGNED-PAYLOAD, the SDKs'
// presigners for other services (STS GetCallerIdentity, as EKS tokens are
// made) the hash of the empty body; either is accepted.
func (a *Authenticator) verify(r *http.Request, body []byte, s *sigv4Request, secret string) *Error {
	sum := sha256.Sum256(body)
	bodyHash := hex.EncodeToString(sum[:])
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" && s.Presigned {
		err := s.verify(r, secret, "UNSIGNED-PAYLOAD", a.now())
		if err != nil && s.verify(r, secret, bodyHash, a.now()) == nil {
			return nil
		}
		return err
	}
	if payload == "" {
		payload = bodyHash
	}
	return s.verify(r, secret, payload, a.now())
}

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}
