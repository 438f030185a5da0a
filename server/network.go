package server

import (
	"context"
	"errors"

	"github.com/berth-dev/berth/ec2"
	"github.com/berth-dev/berth/ecs"
	"github.com/berth-dev/berth/elb"
)

// wireNetworkValidation has ECS (awsvpc configurations) and ELB (load
// balancer subnets and security groups) check ids against Berth's EC2. It
// runs after the three services are built; neither ecs nor elb imports ec2.
func (s *Server) wireNetworkValidation() error {
	svc, err := s.ec2Service()
	if err != nil {
		return err
	}
	if s.ecs != nil {
		s.ecs.SetNetworkValidator(ecsNetwork{svc})
	}
	if s.elb != nil {
		s.elb.SetNetwork(elbNetwork{svc})
	}
	return nil
}

// missingID turns EC2's "no such id" errors (unknown or malformed) into the
// id, leaving other errors (the store's) as errors.
func missingID(err error) (string, error) {
	var nf *ec2.NotFoundError
	if errors.As(err, &nf) {
		return nf.ID, nil
	}
	var mf *ec2.MalformedIDError
	if errors.As(err, &mf) {
		return mf.ID, nil
	}
	return "", err
}

type ecsNetwork struct{ ec2 *ec2.Service }

func (n ecsNetwork) MissingSubnet(ctx context.Context, account, region string, ids []string) (string, error) {
	return missingID(n.ec2.ValidateSubnets(ctx, account, region, ids))
}

func (n ecsNetwork) MissingSecurityGroup(ctx context.Context, account, region string, ids []string) (string, error) {
	return missingID(n.ec2.ValidateSecurityGroups(ctx, account, region, ids))
}

type elbNetwork struct{ ec2 *ec2.Service }

func (n elbNetwork) Subnets(ctx context.Context, account, region string, ids []string) ([]elb.Subnet, string, error) {
	subnets, err := n.ec2.Subnets(ctx, account, region, ids)
	if err != nil {
		missing, err := missingID(err)
		return nil, missing, err
	}
	out := make([]elb.Subnet, len(subnets))
	for i, sn := range subnets {
		out[i] = elb.Subnet{ID: sn.ID, VPCID: sn.VPCID, Zone: sn.AvailabilityZone}
	}
	return out, "", nil
}

func (n elbNetwork) SecurityGroups(ctx context.Context, account, region string, ids []string) ([]elb.SecurityGroup, string, error) {
	groups, err := n.ec2.SecurityGroups(ctx, account, region, ids)
	if err != nil {
		missing, err := missingID(err)
		return nil, missing, err
	}
	out := make([]elb.SecurityGroup, len(groups))
	for i, g := range groups {
		out[i] = elb.SecurityGroup{ID: g.ID, VPCID: g.VPCID}
	}
	return out, "", nil
}

var (
	_ ecs.NetworkValidator = ecsNetwork{}
	_ elb.Network          = elbNetwork{}
)
