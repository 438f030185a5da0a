package iam

import (
	"context"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/store"
)

// checkBoundary refuses a permissions boundary that is not a managed
// policy ARN, or names a customer managed policy that does not exist.
// Boundaries are stored and returned, not enforced.
func (s *Service) checkBoundary(ctx context.Context, arn string) error {
	pa, ok := parsePolicyARN(arn)
	if !ok {
		return invalidARN(arn)
	}
	if pa.account == "aws" {
		// Berth has no catalogue of AWS managed policies to check against.
		return nil
	}
	_, err := s.viewPolicy(ctx, arn)
	return missingPolicy(err, func() error {
		return iamapi.NewNoSuchEntityException("Scope ARN: %s does not exist or is not attachable.", arn)
	})
}

// PutUserPermissionsBoundary sets a user's permissions boundary.
func (s *Service) PutUserPermissionsBoundary(ctx context.Context, in *iamapi.PutUserPermissionsBoundaryInput) (*iamapi.PutUserPermissionsBoundaryOutput, error) {
	if err := s.checkBoundary(ctx, *in.PermissionsBoundary); err != nil {
		return nil, err
	}
	_, err := s.updateUser(ctx, *in.UserName, func(u *userRecord, _ store.Tx) error {
		u.Boundary = *in.PermissionsBoundary
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.PutUserPermissionsBoundaryOutput{}, nil
}

// DeleteUserPermissionsBoundary removes a user's permissions boundary.
func (s *Service) DeleteUserPermissionsBoundary(ctx context.Context, in *iamapi.DeleteUserPermissionsBoundaryInput) (*iamapi.DeleteUserPermissionsBoundaryOutput, error) {
	_, err := s.updateUser(ctx, *in.UserName, func(u *userRecord, _ store.Tx) error {
		u.Boundary = ""
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteUserPermissionsBoundaryOutput{}, nil
}

// PutRolePermissionsBoundary sets a role's permissions boundary.
func (s *Service) PutRolePermissionsBoundary(ctx context.Context, in *iamapi.PutRolePermissionsBoundaryInput) (*iamapi.PutRolePermissionsBoundaryOutput, error) {
	if err := s.checkBoundary(ctx, *in.PermissionsBoundary); err != nil {
		return nil, err
	}
	_, err := s.updateRole(ctx, *in.RoleName, func(r *roleRecord, _ store.Tx) error {
		r.Boundary = *in.PermissionsBoundary
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.PutRolePermissionsBoundaryOutput{}, nil
}

// DeleteRolePermissionsBoundary removes a role's permissions boundary.
func (s *Service) DeleteRolePermissionsBoundary(ctx context.Context, in *iamapi.DeleteRolePermissionsBoundaryInput) (*iamapi.DeleteRolePermissionsBoundaryOutput, error) {
	_, err := s.updateRole(ctx, *in.RoleName, func(r *roleRecord, _ store.Tx) error {
		r.Boundary = ""
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteRolePermissionsBoundaryOutput{}, nil
}

// boundaryType is the PermissionsBoundaryType IAM really returns: the
// model's enum says PermissionsBoundaryPolicy, AWS answers "Policy".
const boundaryType iamapi.PermissionsBoundaryAttachmentType = "Policy"
