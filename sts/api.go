package sts

import (
	"context"
	"errors"
	"strings"
	"time"

	stsapi "github.com/berth-dev/berth/api/sts"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/iam"
	"github.com/berth-dev/berth/iam/policy"
)

// callerARN is the caller's principal ARN: the assumed role of session
// credentials Berth issued, else the account root that long-term keys act
// as.
func callerARN(id awsapi.Identity) string {
	if id.Principal != "" {
		return id.Principal
	}
	return policy.RootARN(id.AccountID)
}

// GetCallerIdentity says who the credentials of the request act as.
func (s *Service) GetCallerIdentity(ctx context.Context, _ *stsapi.GetCallerIdentityInput) (*stsapi.GetCallerIdentityOutput, error) {
	id := awsapi.IdentityFrom(ctx)
	userID := id.UserID
	if userID == "" {
		userID = id.AccountID // the root user's id is its account
	}
	return &stsapi.GetCallerIdentityOutput{UserId: &userID, Account: &id.AccountID, Arn: new(callerARN(id))}, nil
}

// GetAccessKeyInfo names the account of an access key.
func (s *Service) GetAccessKeyInfo(ctx context.Context, in *stsapi.GetAccessKeyInfoInput) (*stsapi.GetAccessKeyInfoOutput, error) {
	acct := awsapi.AccountForAccessKey(*in.AccessKeyId)
	if awsapi.IsSessionKey(*in.AccessKeyId) {
		sess, err := s.LookupSession(ctx, *in.AccessKeyId)
		if err != nil {
			return nil, err
		}
		if sess != nil {
			acct = sess.AccountID
		}
	}
	return &stsapi.GetAccessKeyInfoOutput{Account: &acct}, nil
}

// AssumeRole returns credentials for a session of a role whose trust
// policy lets the caller assume it (see policy.Document.Allows). A role
// that does not exist is AccessDenied, as in AWS. Session tags are checked
// as AWS checks them (see sessionTags) and session policies parsed and
// sized (PackedPolicySize); neither they nor external ids are enforced.
// SerialNumber and TokenCode must be a code of the calling user's MFA
// device.
func (s *Service) AssumeRole(ctx context.Context, in *stsapi.AssumeRoleInput) (*stsapi.AssumeRoleOutput, error) {
	id := awsapi.IdentityFrom(ctx)
	caller := callerARN(id)
	if _, _, _, ok := iam.ParseRoleARN(*in.RoleArn); !ok {
		return nil, validationError("%s is invalid", *in.RoleArn)
	}
	denied := awsapi.NewError(403, "AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller, *in.RoleArn)
	role, err := s.iam.RoleByARN(ctx, *in.RoleArn)
	if errors.Is(err, iam.ErrNoSuchRole) {
		return nil, denied
	}
	if err != nil {
		return nil, err
	}
	if !role.Trust.Allows("sts:AssumeRole", policy.Caller{Account: id.AccountID, ARN: caller}) {
		ok, err := s.assumesForTask(ctx, id, role, *in.RoleSessionName)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, denied
		}
	}
	transitive, err := s.sessionTags(ctx, id, in.Tags, in.TransitiveTagKeys)
	if err != nil {
		return nil, err
	}
	packed, err := packedPolicySize(in.Policy, in.PolicyArns)
	if err != nil {
		return nil, err
	}
	if err := s.checkMFA(ctx, id, in.SerialNumber, in.TokenCode); err != nil {
		return nil, err
	}
	d := defaultSession
	if in.DurationSeconds != nil {
		d = time.Duration(*in.DurationSeconds) * time.Second
	}
	if strings.Contains(caller, ":assumed-role/") && d > maxChainedLength {
		return nil, validationError("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	if d > role.MaxSessionDuration {
		return nil, validationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	c, err := s.issueTagged(ctx, role, *in.RoleSessionName, deref(in.SourceIdentity), d, transitive)
	if err != nil {
		return nil, err
	}
	return &stsapi.AssumeRoleOutput{
		Credentials: &stsapi.Credentials{
			AccessKeyId: &c.AccessKeyID, SecretAccessKey: &c.SecretAccessKey, SessionToken: &c.SessionToken, Expiration: awsapi.Time(c.Expiration),
		},
		AssumedRoleUser:  &stsapi.AssumedRoleUser{AssumedRoleId: &c.AssumedRoleID, Arn: &c.AssumedRoleARN},
		SourceIdentity:   in.SourceIdentity,
		PackedPolicySize: packed,
	}, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
