package sts

import (
	"context"
	"strings"
	"time"

	stsapi "github.com/berth-dev/berth/api/sts"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// Bounds of GetSessionToken and GetFederationToken sessions, as AWS's:
// 15 minutes to 36 hours, 12 by default, and at most an hour for the
// account root's credentials.
const (
	defaultUserSession = 12 * time.Hour
	maxUserSession     = 36 * time.Hour
	maxRootSession     = time.Hour
)

// userSession is the length of a session a long-term key asks for.
func userSession(id awsapi.Identity, seconds *int32) time.Duration {
	d := defaultUserSession
	if seconds != nil {
		d = time.Duration(*seconds) * time.Second
	}
	d = min(max(d, minSession), maxUserSession)
	if id.Principal == "" {
		d = min(d, maxRootSession) // AWS shortens root sessions to an hour
	}
	return d
}

// longTermOnly refuses callers that sign with temporary credentials, as
// AWS does for GetSessionToken and GetFederationToken.
func longTermOnly(id awsapi.Identity, op string) error {
	if id.SessionToken != "" || strings.HasPrefix(id.Principal, "arn:aws:sts::") {
		return awsapi.NewError(403, "AccessDenied", "Cannot call %s with session credentials", op)
	}
	return nil
}

// issueFor mints and stores credentials that act as principal (empty for
// the account root) with the unique id userID in acct.
func (s *Service) issueFor(ctx context.Context, acct, principal, userID, name string, d time.Duration) (*stsapi.Credentials, error) {
	now := s.now().UTC().Truncate(time.Second)
	rec := session{
		AccessKeyID:     "ASIA" + randomID(16),
		SecretAccessKey: randomText(30),
		SessionToken:    randomText(192),
		Account:         acct,
		SessionName:     name,
		AssumedRoleARN:  principal,
		AssumedRoleID:   userID,
		Issued:          now,
		Expiration:      now.Add(d),
	}
	err := s.st.Update(ctx, func(tx store.Tx) error { return store.PutDoc(tx, kindSession, "", "", rec.AccessKeyID, rec, now) })
	if err != nil {
		return nil, err
	}
	return &stsapi.Credentials{AccessKeyId: &rec.AccessKeyID, SecretAccessKey: &rec.SecretAccessKey,
		SessionToken: &rec.SessionToken, Expiration: awsapi.Time(rec.Expiration)}, nil
}

// GetSessionToken returns temporary credentials that act as the caller
// (an IAM user, or the root) for 15 minutes to 36 hours. SerialNumber
// and TokenCode, when given, must be a code of the user's MFA device.
func (s *Service) GetSessionToken(ctx context.Context, in *stsapi.GetSessionTokenInput) (*stsapi.GetSessionTokenOutput, error) {
	id := awsapi.IdentityFrom(ctx)
	if err := longTermOnly(id, "GetSessionToken"); err != nil {
		return nil, err
	}
	if err := s.checkMFA(ctx, id, in.SerialNumber, in.TokenCode); err != nil {
		return nil, err
	}
	c, err := s.issueFor(ctx, id.AccountID, id.Principal, id.UserID, "", userSession(id, in.DurationSeconds))
	if err != nil {
		return nil, err
	}
	return &stsapi.GetSessionTokenOutput{Credentials: c}, nil
}

// GetFederationToken returns temporary credentials for a federated user
// (arn:aws:sts::<acct>:federated-user/<Name>, id <acct>:<Name>). Session
// policies are checked and sized, not enforced; tags are accepted.
func (s *Service) GetFederationToken(ctx context.Context, in *stsapi.GetFederationTokenInput) (*stsapi.GetFederationTokenOutput, error) {
	id := awsapi.IdentityFrom(ctx)
	if err := longTermOnly(id, "GetFederationToken"); err != nil {
		return nil, err
	}
	packed, err := packedPolicySize(in.Policy, in.PolicyArns)
	if err != nil {
		return nil, err
	}
	if packed == nil {
		packed = new(int32(0)) // AWS sizes a federated session without policies as 0%
	}
	arn := "arn:aws:sts::" + id.AccountID + ":federated-user/" + *in.Name
	userID := id.AccountID + ":" + *in.Name
	c, err := s.issueFor(ctx, id.AccountID, arn, userID, *in.Name, userSession(id, in.DurationSeconds))
	if err != nil {
		return nil, err
	}
	return &stsapi.GetFederationTokenOutput{Credentials: c, FederatedUser: &stsapi.FederatedUser{FederatedUserId: &userID, Arn: &arn},
		PackedPolicySize: packed}, nil
}
