package ecr

import (
	"context"
	"encoding/base64"
	"net/http"

	ecrapi "github.com/berth-dev/berth/api/ecr"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/ecr/token"
	"github.com/berth-dev/berth/registry/handlers"
)

// GetAuthorizationToken returns the docker credentials of the caller's
// registry: base64 "AWS:<password>", valid for 12 hours. registryIds is
// deprecated in the API; one entry per id asked for is returned, each a
// token for the caller's own registry (the only one Berth can grant).
func (s *Service) GetAuthorizationToken(ctx context.Context, in *ecrapi.GetAuthorizationTokenInput) (*ecrapi.GetAuthorizationTokenOutput, error) {
	id := awsapi.IdentityFrom(ctx)
	n := max(len(in.RegistryIds), 1)
	out := &ecrapi.GetAuthorizationTokenOutput{}
	for i := 0; i < n; i++ {
		pw, exp := s.tokens.Issue(id.AccountID, id.Region)
		out.AuthorizationData = append(out.AuthorizationData, ecrapi.AuthorizationData{
			AuthorizationToken: ptr(base64.StdEncoding.EncodeToString([]byte("AWS:" + pw))),
			ExpiresAt:          awsapi.Time(exp),
			ProxyEndpoint:      ptr("http://" + s.host),
		})
	}
	return out, nil
}

// Authorizer admits registry requests that carry an ECR token: HTTP Basic
// with user AWS and a password from GetAuthorizationToken. The token's
// account and region are the namespace the request sees, as an ECR
// registry host names one account's registry in one region.
type Authorizer struct {
	Tokens *token.Issuer
	// RegistryHost goes in the challenge's realm.
	RegistryHost string
}

// Authorize implements handlers.Authorizer. Without valid credentials it
// answers with the challenge docker answers with `docker login`'s
// credentials; nothing says whether a repository exists.
func (a *Authorizer) Authorize(r *http.Request, repo string, actions []string) (account, region string, err error) {
	challenge := &handlers.Challenge{
		Realm:   "http://" + a.RegistryHost + "/",
		Message: "authentication required: log in with `aws ecr get-login-password | docker login --username AWS --password-stdin " + a.RegistryHost + "`",
	}
	user, pw, ok := r.BasicAuth()
	if !ok {
		return "", "", challenge
	}
	if user != "AWS" {
		challenge.Message = "the user name must be AWS"
		return "", "", challenge
	}
	account, region, err = a.Tokens.Verify(pw)
	if err != nil {
		challenge.Message = "your authorization token is not valid or has expired (" + err.Error() + "); log in again"
		return "", "", challenge
	}
	return account, region, nil
}
