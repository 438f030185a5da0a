package ecs

import (
	"context"
	"strings"
	"sync"

	ecsapi "github.com/berth-dev/berth/api/ecs"
)

// NetworkValidator is the EC2 that awsvpc subnets and security groups are
// checked against. Server wiring sets it with SetNetworkValidator; without
// one (unit tests, a Berth built without EC2) ids are kept as given.
type NetworkValidator interface {
	// MissingSubnet returns the first of ids that is not a subnet of the
	// account in the region ("" when every one is). A malformed id is
	// missing too: AWS answers both the same way. err is a failure to look.
	MissingSubnet(ctx context.Context, account, region string, ids []string) (string, error)
	// MissingSecurityGroup is MissingSubnet for security group ids.
	MissingSecurityGroup(ctx context.Context, account, region string, ids []string) (string, error)
}

// networkBox holds the validator; wiring sets it after New, while requests
// may already be read.
type networkBox struct {
	mu sync.Mutex
	v  NetworkValidator
}

// SetNetworkValidator makes RunTask, StartTask, CreateService and
// UpdateService check awsvpc subnets and security groups against v.
func (s *Service) SetNetworkValidator(v NetworkValidator) {
	s.network.mu.Lock()
	s.network.v = v
	s.network.mu.Unlock()
}

// checkNetwork answers InvalidParameterException, worded as ECS words it
// after its own DescribeSubnets/DescribeSecurityGroups call, when an
// awsvpcConfiguration names a subnet or security group EC2 does not have.
// It runs before the store transaction of the request: the lookup reads
// (and on first use creates) the account's default network in its own
// transaction.
func (s *Service) checkNetwork(ctx context.Context, sc scope, nc *ecsapi.NetworkConfiguration) error {
	s.network.mu.Lock()
	v := s.network.v
	s.network.mu.Unlock()
	if v == nil || nc == nil || nc.AwsvpcConfiguration == nil {
		return nil
	}
	cfg := nc.AwsvpcConfiguration
	if len(cfg.Subnets) > 0 {
		missing, err := v.MissingSubnet(ctx, sc.account, sc.region, cfg.Subnets)
		if err != nil {
			return err
		}
		if missing != "" {
			return ecsapi.NewInvalidParameterException("Error retrieving subnet information for [%s]: The subnet ID '%s' does not exist (ErrorCode: InvalidSubnetID.NotFound)",
				strings.Join(cfg.Subnets, ", "), missing)
		}
	}
	if len(cfg.SecurityGroups) > 0 {
		missing, err := v.MissingSecurityGroup(ctx, sc.account, sc.region, cfg.SecurityGroups)
		if err != nil {
			return err
		}
		if missing != "" {
			return ecsapi.NewInvalidParameterException("Error retrieving security group information for [%s]: The security group '%s' does not exist (ErrorCode: InvalidGroup.NotFound)",
				strings.Join(cfg.SecurityGroups, ", "), missing)
		}
	}
	return nil
}
