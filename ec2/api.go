package ec2

import (
	"context"
	"slices"
	"strings"
)

// The Go API below is for the services that refer to EC2 resources: ECS
// (awsvpc networkConfiguration) and ELB (CreateLoadBalancer subnets and
// security groups) validate ids with it and read what they need. Errors
// are *NotFoundError or *MalformedIDError (errors.Is ErrNotFound or
// ErrMalformed), carrying EC2's code and message for callers to wrap in
// their own codes; other errors are the store's.

// VPC is a VPC as other services see it.
type VPC struct {
	ID        string
	CIDRBlock string
	IsDefault bool
}

// Subnet is a subnet as other services see it.
type Subnet struct {
	ID                 string
	VPCID              string
	AvailabilityZone   string // us-east-1a
	AvailabilityZoneID string // use1-az1
	CIDRBlock          string
	DefaultForAZ       bool
}

// SecurityGroup is a security group as other services see it.
type SecurityGroup struct {
	ID          string
	Name        string
	Description string
	VPCID       string
}

func (v *vpcRec) export() VPC { return VPC{ID: v.ID, CIDRBlock: v.CIDR, IsDefault: v.Default} }

func (sn *subnetRec) export(region string) Subnet {
	z, _ := zoneByName(region, sn.Zone)
	return Subnet{ID: sn.ID, VPCID: sn.VPC, AvailabilityZone: sn.Zone, AvailabilityZoneID: z.id, CIDRBlock: sn.CIDR, DefaultForAZ: sn.Default}
}

func (g *groupRec) export() SecurityGroup {
	return SecurityGroup{ID: g.ID, Name: g.Name, Description: g.Description, VPCID: g.VPC}
}

// DefaultVPC returns the default VPC of an account in a region, creating
// the default network on first use.
func (s *Service) DefaultVPC(ctx context.Context, account, region string) (VPC, error) {
	n, err := s.view(ctx, scope{account, region})
	if err != nil {
		return VPC{}, err
	}
	v := n.defaultVPC()
	if v == nil {
		return VPC{}, vpcNotFound("default")
	}
	return v.export(), nil
}

// DefaultSubnets returns the default subnets of an account in a region,
// one per availability zone, in zone order.
func (s *Service) DefaultSubnets(ctx context.Context, account, region string) ([]Subnet, error) {
	n, err := s.view(ctx, scope{account, region})
	if err != nil {
		return nil, err
	}
	var out []Subnet
	for _, sn := range n.Subnets {
		if sn.Default {
			out = append(out, sn.export(region))
		}
	}
	slices.SortFunc(out, func(a, b Subnet) int { return strings.Compare(a.AvailabilityZone, b.AvailabilityZone) })
	return out, nil
}

// DefaultSecurityGroup returns the security group named default of a VPC
// (of the default VPC when vpcID is empty).
func (s *Service) DefaultSecurityGroup(ctx context.Context, account, region, vpcID string) (SecurityGroup, error) {
	n, err := s.view(ctx, scope{account, region})
	if err != nil {
		return SecurityGroup{}, err
	}
	if vpcID == "" {
		if v := n.defaultVPC(); v != nil {
			vpcID = v.ID
		}
	}
	g := n.groupByName(vpcID, defaultGroupName)
	if g == nil {
		return SecurityGroup{}, vpcNotFound(vpcID)
	}
	return g.export(), nil
}

// Subnets returns the subnets with the given ids, in the order given; the
// first malformed or unknown id is the error.
func (s *Service) Subnets(ctx context.Context, account, region string, ids []string) ([]Subnet, error) {
	for _, id := range ids {
		if err := subCodes.check(id); err != nil {
			return nil, err
		}
	}
	n, err := s.view(ctx, scope{account, region})
	if err != nil {
		return nil, err
	}
	out := make([]Subnet, 0, len(ids))
	for _, id := range ids {
		sn := n.subnet(id)
		if sn == nil {
			return nil, subnetNotFound(id)
		}
		out = append(out, sn.export(region))
	}
	return out, nil
}

// SecurityGroups returns the security groups with the given ids, in the
// order given; the first malformed or unknown id is the error.
func (s *Service) SecurityGroups(ctx context.Context, account, region string, ids []string) ([]SecurityGroup, error) {
	for _, id := range ids {
		if err := sgCodes.check(id); err != nil {
			return nil, err
		}
	}
	n, err := s.view(ctx, scope{account, region})
	if err != nil {
		return nil, err
	}
	out := make([]SecurityGroup, 0, len(ids))
	for _, id := range ids {
		g := n.group(id)
		if g == nil {
			return nil, groupNotFound(id)
		}
		out = append(out, g.export())
	}
	return out, nil
}

// ValidateSubnets checks that every id is a subnet of the account in the
// region.
func (s *Service) ValidateSubnets(ctx context.Context, account, region string, ids []string) error {
	_, err := s.Subnets(ctx, account, region, ids)
	return err
}

// ValidateSecurityGroups checks that every id is a security group of the
// account in the region.
func (s *Service) ValidateSecurityGroups(ctx context.Context, account, region string, ids []string) error {
	_, err := s.SecurityGroups(ctx, account, region, ids)
	return err
}

// VPCByID returns a VPC of the account in the region.
func (s *Service) VPCByID(ctx context.Context, account, region, id string) (VPC, error) {
	if err := vpcCodes.check(id); err != nil {
		return VPC{}, err
	}
	n, err := s.view(ctx, scope{account, region})
	if err != nil {
		return VPC{}, err
	}
	v := n.vpc(id)
	if v == nil {
		return VPC{}, vpcNotFound(id)
	}
	return v.export(), nil
}
