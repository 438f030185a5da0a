package sts

import (
	"context"
	"errors"

	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/iam"
)

// checkMFA verifies SerialNumber and TokenCode, when a request gives
// them, against the calling IAM user's enabled MFA device, as STS does
// for GetSessionToken and AssumeRole.
func (s *Service) checkMFA(ctx context.Context, id awsapi.Identity, serial, code *string) error {
	if serial == nil && code == nil {
		return nil
	}
	if serial == nil || code == nil {
		return awsapi.NewError(403, "AccessDenied", "MultiFactorAuthentication failed: SerialNumber and TokenCode must be given together.")
	}
	err := s.iam.CheckMFACode(ctx, id.AccountID, id.Principal, *serial, *code)
	if errors.Is(err, iam.ErrMFAFailed) {
		return awsapi.NewError(403, "AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code.")
	}
	return err
}
