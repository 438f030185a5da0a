package iam

import (
	"context"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/store"
)

// checkBoundary refuses a permissions boundary that is not a managed
// policy ARN. Boundaries are stored and returned, not enforced.
func checkBoundary(arn string) error {
	if _, ok := parsePolicyARN(arn); !ok {
		return invalidARN(arn)
	}
	return nil
}

// PutUserPermissionsBoundary sets a user's permissions boundary.
func (s *Service) PutUserPermissionsBoundary(ctx context.Context, in *iamapi.PutUserPermissionsBoundaryInput) (*iamapi.PutUserPermissionsBoundaryOutput, error) {
	if err := checkBoundary(*in.PermissionsBoundary); err != nil {
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
	if err := checkBoundary(*in.PermissionsBoundary); err != nil {
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
