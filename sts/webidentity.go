package sts

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	stsapi "github.com/berth-dev/berth/api/sts"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/iam"
	"github.com/berth-dev/berth/iam/policy"
	"github.com/berth-dev/berth/sts/oidc"
)

const (
	// clockSkew is how far the issuer's clock may be off Berth's when
	// exp, nbf and iat are checked.
	clockSkew = time.Minute
	// maxPackedPolicy is the plain-text size of session policies that
	// PackedPolicySize reports as 100%.
	maxPackedPolicy   = 2048
	actionWebIdentity = "sts:AssumeRoleWithWebIdentity"
)

// AssumeRoleWithWebIdentity exchanges an OpenID Connect ID token for
// credentials of a role, as IRSA pods and CI systems do. The token's
// issuer must be an IAM OIDC provider of the role's account, its
// signature must verify with the keys the issuer publishes, it must be
// current, its audience one of the provider's client ids, and the role's
// trust policy must allow sts:AssumeRoleWithWebIdentity for the provider
// with its conditions (<issuer>:sub, :aud, :amr) holding. The request is
// unsigned: the token is the credential.
func (s *Service) AssumeRoleWithWebIdentity(ctx context.Context, in *stsapi.AssumeRoleWithWebIdentityInput) (*stsapi.AssumeRoleWithWebIdentityOutput, error) {
	acct, _, _, ok := iam.ParseRoleARN(*in.RoleArn)
	if !ok {
		return nil, validationError("%s is invalid", *in.RoleArn)
	}
	if in.ProviderId != nil {
		return nil, validationError("ProviderId is for OAuth 2.0 access tokens of www.amazon.com and graph.facebook.com, which Berth does not accept; leave it out for OpenID Connect ID tokens.")
	}
	tok, err := oidc.Parse(*in.WebIdentityToken)
	if err != nil {
		return nil, stsapi.NewInvalidIdentityTokenException("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token): %v", err)
	}
	prov, err := s.iam.OIDCProviderFor(ctx, acct, tok.Issuer)
	if errors.Is(err, iam.ErrNoSuchOIDCProvider) {
		return nil, stsapi.NewInvalidIdentityTokenException("No OpenIDConnect provider found in your account for %s", tok.Issuer)
	}
	if err != nil {
		return nil, err
	}
	if err := s.checkToken(ctx, prov, tok); err != nil {
		return nil, err
	}
	i := slices.IndexFunc(tok.Audience, func(a string) bool { return slices.Contains(prov.ClientIDs, a) })
	if i < 0 {
		return nil, stsapi.NewInvalidIdentityTokenException("Incorrect token audience")
	}
	audience := tok.Audience[i]

	denied := awsapi.NewError(http.StatusForbidden, "AccessDenied", "Not authorized to perform %s", actionWebIdentity)
	role, err := s.iam.RoleByARN(ctx, *in.RoleArn)
	if errors.Is(err, iam.ErrNoSuchRole) {
		return nil, denied
	}
	if err != nil {
		return nil, err
	}
	conditions := map[string][]string{
		prov.Issuer + ":sub": {tok.Subject},
		prov.Issuer + ":aud": {audience},
	}
	if len(tok.AMR) > 0 {
		conditions[prov.Issuer+":amr"] = tok.AMR
	}
	if !role.Trust.Allows(actionWebIdentity, policy.Caller{Account: acct, Federated: prov.ARN, Context: conditions}) {
		return nil, denied
	}
	d := defaultSession
	if in.DurationSeconds != nil {
		d = time.Duration(*in.DurationSeconds) * time.Second
	}
	if d > role.MaxSessionDuration {
		return nil, validationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	packed, err := packedPolicySize(in.Policy, in.PolicyArns)
	if err != nil {
		return nil, err
	}
	c, err := s.issue(ctx, role, *in.RoleSessionName, "", d)
	if err != nil {
		return nil, err
	}
	return &stsapi.AssumeRoleWithWebIdentityOutput{
		Credentials: &stsapi.Credentials{
			AccessKeyId: &c.AccessKeyID, SecretAccessKey: &c.SecretAccessKey, SessionToken: &c.SessionToken, Expiration: awsapi.Time(c.Expiration),
		},
		SubjectFromWebIdentityToken: &tok.Subject,
		AssumedRoleUser:             &stsapi.AssumedRoleUser{AssumedRoleId: &c.AssumedRoleID, Arn: &c.AssumedRoleARN},
		PackedPolicySize:            packed,
		Provider:                    &prov.ARN,
		Audience:                    &audience,
	}, nil
}

// checkToken verifies tok's signature with its issuer's keys and its
// times against Berth's clock.
func (s *Service) checkToken(ctx context.Context, prov iam.OIDCProvider, tok *oidc.Token) error {
	err := s.keys.Verify(ctx, prov.URL, tok)
	var fe *oidc.FetchError
	switch {
	case errors.As(err, &fe):
		return stsapi.NewIDPCommunicationErrorException("Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements (%v)", fe)
	case errors.Is(err, oidc.ErrSignature):
		return stsapi.NewInvalidIdentityTokenException("The signature of the token does not verify with any %s key (kid %q) that %s publishes", tok.Algorithm, tok.KeyID, prov.URL)
	case err != nil:
		return err
	}
	now := s.now()
	switch {
	case !now.Before(tok.Expires.Add(clockSkew)):
		return stsapi.NewExpiredTokenException("Token expired: current date/time %d must be before the expiration date/time %d", now.Unix(), tok.Expires.Unix())
	case !tok.NotBefore.IsZero() && now.Add(clockSkew).Before(tok.NotBefore):
		return stsapi.NewInvalidIdentityTokenException("Token is not valid yet: current date/time %d must be after the not-before date/time %d", now.Unix(), tok.NotBefore.Unix())
	case !tok.IssuedAt.IsZero() && now.Add(clockSkew).Before(tok.IssuedAt):
		return stsapi.NewInvalidIdentityTokenException("Token was issued in the future: current date/time %d is before the issued-at date/time %d", now.Unix(), tok.IssuedAt.Unix())
	}
	return nil
}

// packedPolicySize is the share of STS's session policy allowance that
// the session policies take, in percent, or nil without any. Session
// policies are checked and stored nowhere: like AssumeRole's, they are
// not enforced.
func packedPolicySize(doc *string, arns []stsapi.PolicyDescriptorType) (*int32, error) {
	if doc == nil && len(arns) == 0 {
		return nil, nil
	}
	size := 0
	if doc != nil {
		if _, err := policy.Parse(*doc, policy.Identity); err != nil {
			return nil, stsapi.NewMalformedPolicyDocumentException("%v", err)
		}
		size += policy.Size(*doc)
	}
	for _, a := range arns {
		size += len(deref(a.Arn))
	}
	pct := (size*100 + maxPackedPolicy - 1) / maxPackedPolicy
	if pct > 100 {
		return nil, stsapi.NewPackedPolicyTooLargeException("Packed policy consumes %d%% of allotted space, please use smaller policy for the request.", pct)
	}
	return new(int32(pct)), nil
}
