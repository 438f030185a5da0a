package ec2

import (
	"context"
	"net/netip"
	"slices"

	ec2api "github.com/berth-dev/berth/api/ec2"
)

// wireVPC is v as EC2 describes it.
func (v *vpcRec) wire(account string) ec2api.Vpc {
	state, tenancy, assoc := ec2api.VpcStateAvailable, ec2api.TenancyDefault, ec2api.VpcCidrBlockStateCodeAssociated
	if v.Tenancy != "" {
		tenancy = ec2api.Tenancy(v.Tenancy)
	}
	return ec2api.Vpc{
		VpcId: str(v.ID), CidrBlock: str(v.CIDR), State: &state, IsDefault: boolp(v.Default), OwnerId: str(account),
		DhcpOptionsId: str(v.DHCP), InstanceTenancy: &tenancy, Tags: tagsIfAny(v.Tags),
		CidrBlockAssociationSet: []ec2api.VpcCidrBlockAssociation{{
			AssociationId: str(v.Assoc), CidrBlock: str(v.CIDR), CidrBlockState: &ec2api.VpcCidrBlockState{State: &assoc},
		}},
	}
}

func (v *vpcRec) attrs(account string) attrs {
	return func(name string) ([]string, bool) {
		switch name {
		case "vpc-id":
			return one(v.ID), true
		case "is-default", "isDefault":
			return boolString(v.Default), true
		case "cidr", "cidr-block-association.cidr-block", "cidrBlock":
			return one(v.CIDR), true
		case "cidr-block-association.association-id":
			return one(v.Assoc), true
		case "cidr-block-association.state":
			return one("associated"), true
		case "state":
			return one("available"), true
		case "owner-id":
			return one(account), true
		case "dhcp-options-id":
			return one(v.DHCP), true
		}
		return tagAttrs(name, v.Tags)
	}
}

// DescribeVpcs lists the VPCs of the caller's account and region.
func (s *Service) DescribeVpcs(ctx context.Context, in *ec2api.DescribeVpcsInput) (*ec2api.DescribeVpcsOutput, error) {
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	for _, id := range in.VpcIds {
		if err := vpcCodes.check(id); err != nil {
			return nil, apiError(err)
		}
	}
	sc := scopeOf(ctx)
	n, err := s.view(ctx, sc)
	if err != nil {
		return nil, err
	}
	for _, id := range in.VpcIds {
		if n.vpc(id) == nil {
			return nil, apiError(vpcNotFound(id))
		}
	}
	out := &ec2api.DescribeVpcsOutput{Vpcs: []ec2api.Vpc{}}
	for _, v := range n.VPCs {
		if len(in.VpcIds) > 0 && !slices.Contains(in.VpcIds, v.ID) {
			continue
		}
		ok, err := matches(in.Filters, v.attrs(sc.account))
		if err != nil {
			return nil, err
		}
		if ok {
			out.Vpcs = append(out.Vpcs, v.wire(sc.account))
		}
	}
	return out, nil
}

// parseBlock reads an IPv4 CIDR block in canonical form (no host bits).
func parseBlock(cidr string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, invalidParam("Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", cidr)
	}
	if p.Masked() != p {
		return netip.Prefix{}, invalidParam("Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", cidr)
	}
	return p, nil
}

// CreateVpc creates a VPC with its default security group; it has no
// subnets until CreateSubnet.
func (s *Service) CreateVpc(ctx context.Context, in *ec2api.CreateVpcInput) (*ec2api.CreateVpcOutput, error) {
	cidr := deref(in.CidrBlock)
	if cidr == "" {
		return nil, missingParam("CidrBlock")
	}
	p, err := parseBlock(cidr)
	if err != nil {
		return nil, err
	}
	if p.Bits() < 16 || p.Bits() > 28 {
		return nil, apiErr("InvalidVpc.Range", "The CIDR '"+cidr+"' is invalid.")
	}
	tags, err := specTags(in.TagSpecifications, "vpc")
	if err != nil {
		return nil, err
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	sc := scopeOf(ctx)
	var v *vpcRec
	_, err = s.update(ctx, sc, func(n *network) error {
		if len(n.VPCs) >= maxVPCsPerRegion {
			return limitExceeded("VpcLimitExceeded", "The maximum number of VPCs has been reached.")
		}
		v = &vpcRec{ID: newID("vpc"), CIDR: p.String(), Assoc: newID("vpc-cidr-assoc"), DHCP: n.defaultVPC().dhcpOr(newID("dopt")), Tags: tags}
		if in.InstanceTenancy != nil {
			v.Tenancy = string(*in.InstanceTenancy)
		}
		n.VPCs = append(n.VPCs, v)
		n.Groups = append(n.Groups, defaultGroup(v.ID, sc.account))
		return nil
	})
	if err != nil {
		return nil, err
	}
	// EC2 answers CreateVpc with the VPC still pending (a describe right
	// after shows it available) and an empty IPv6 association list.
	w := v.wire(sc.account)
	pending := ec2api.VpcStatePending
	w.State, w.Ipv6CidrBlockAssociationSet = &pending, []ec2api.VpcIpv6CidrBlockAssociation{}
	return &ec2api.CreateVpcOutput{Vpc: &w}, nil
}

// dhcpOr is v's DHCP options id, or id when there is no v.
func (v *vpcRec) dhcpOr(id string) string {
	if v == nil {
		return id
	}
	return v.DHCP
}

// DescribeAccountAttributes answers supported-platforms (VPC) and
// default-vpc, which tools read to find the default VPC.
func (s *Service) DescribeAccountAttributes(ctx context.Context, in *ec2api.DescribeAccountAttributesInput) (*ec2api.DescribeAccountAttributesOutput, error) {
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	n, err := s.view(ctx, scopeOf(ctx))
	if err != nil {
		return nil, err
	}
	defaultVPC := "none"
	if v := n.defaultVPC(); v != nil {
		defaultVPC = v.ID
	}
	values := map[ec2api.AccountAttributeName][]string{
		ec2api.AccountAttributeNameSupportedPlatforms: {"VPC"},
		ec2api.AccountAttributeNameDefaultVpc:         {defaultVPC},
	}
	names := in.AttributeNames
	if len(names) == 0 {
		names = ec2api.AccountAttributeName("").Values()
	}
	out := &ec2api.DescribeAccountAttributesOutput{AccountAttributes: []ec2api.AccountAttribute{}}
	for _, name := range names {
		a := ec2api.AccountAttribute{AttributeName: str(string(name)), AttributeValues: []ec2api.AccountAttributeValue{}}
		for _, v := range values[name] {
			a.AttributeValues = append(a.AttributeValues, ec2api.AccountAttributeValue{AttributeValue: str(v)})
		}
		out.AccountAttributes = append(out.AccountAttributes, a)
	}
	return out, nil
}

func limitExceeded(code, msg string) error { return apiErr(code, msg) }
