package ec2

import (
	"context"
	"math"
	"net/netip"
	"slices"
	"strings"

	ec2api "github.com/berth-dev/berth/api/ec2"
)

// availableIPs is the number of free addresses of a block: AWS keeps the
// first four and the last of every subnet.
func availableIPs(cidr string) int32 {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return 0
	}
	n := math.Pow(2, float64(32-p.Bits())) - 5
	if n < 0 {
		return 0
	}
	return int32(n)
}

func (sn *subnetRec) wire(sc scope) ec2api.Subnet {
	state, hostnames := ec2api.SubnetStateAvailable, ec2api.HostnameTypeIpName
	z, _ := zoneByName(sc.region, sn.Zone)
	return ec2api.Subnet{
		SubnetId: str(sn.ID), VpcId: str(sn.VPC), CidrBlock: str(sn.CIDR), State: &state,
		AvailabilityZone: str(sn.Zone), AvailabilityZoneId: str(z.id),
		AvailableIpAddressCount: i32(availableIPs(sn.CIDR)), DefaultForAz: boolp(sn.Default),
		MapPublicIpOnLaunch: boolp(sn.MapPublic), OwnerId: str(sc.account),
		SubnetArn:                   str("arn:aws:ec2:" + sc.region + ":" + sc.account + ":subnet/" + sn.ID),
		AssignIpv6AddressOnCreation: boolp(false), MapCustomerOwnedIpOnLaunch: boolp(false),
		Ipv6CidrBlockAssociationSet: []ec2api.SubnetIpv6CidrBlockAssociation{}, Tags: wireTags(sn.Tags),
		// EC2 always reports these IPv4-only defaults; Terraform's aws_subnet
		// reads them back into state.
		EnableDns64: boolp(false), Ipv6Native: boolp(false),
		PrivateDnsNameOptionsOnLaunch: &ec2api.PrivateDnsNameOptionsOnLaunch{
			HostnameType: &hostnames, EnableResourceNameDnsARecord: boolp(false), EnableResourceNameDnsAAAARecord: boolp(false),
		},
	}
}

func (sn *subnetRec) attrs(sc scope) attrs {
	z, _ := zoneByName(sc.region, sn.Zone)
	return func(name string) ([]string, bool) {
		switch name {
		case "subnet-id":
			return one(sn.ID), true
		case "vpc-id":
			return one(sn.VPC), true
		case "availability-zone", "availabilityZone":
			return one(sn.Zone), true
		case "availability-zone-id", "availabilityZoneId":
			return one(z.id), true
		case "default-for-az", "defaultForAz":
			return boolString(sn.Default), true
		case "map-public-ip-on-launch":
			return boolString(sn.MapPublic), true
		case "cidr", "cidr-block", "cidrBlock":
			return one(sn.CIDR), true
		case "state":
			return one("available"), true
		case "owner-id":
			return one(sc.account), true
		case "subnet-arn":
			return one("arn:aws:ec2:" + sc.region + ":" + sc.account + ":subnet/" + sn.ID), true
		}
		return tagAttrs(name, sn.Tags)
	}
}

// DescribeSubnets lists the subnets of the caller's account and region.
func (s *Service) DescribeSubnets(ctx context.Context, in *ec2api.DescribeSubnetsInput) (*ec2api.DescribeSubnetsOutput, error) {
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	for _, id := range in.SubnetIds {
		if err := subCodes.check(id); err != nil {
			return nil, apiError(err)
		}
	}
	sc := scopeOf(ctx)
	n, err := s.view(ctx, sc)
	if err != nil {
		return nil, err
	}
	for _, id := range in.SubnetIds {
		if n.subnet(id) == nil {
			return nil, apiError(subnetNotFound(id))
		}
	}
	out := &ec2api.DescribeSubnetsOutput{Subnets: []ec2api.Subnet{}}
	for _, sn := range n.Subnets {
		if len(in.SubnetIds) > 0 && !slices.Contains(in.SubnetIds, sn.ID) {
			continue
		}
		ok, err := matches(in.Filters, sn.attrs(sc))
		if err != nil {
			return nil, err
		}
		if ok {
			out.Subnets = append(out.Subnets, sn.wire(sc))
		}
	}
	return out, nil
}

// CreateSubnet creates a subnet of a VPC in one availability zone (the
// region's first when none is given). Its block must lie in the VPC's and
// overlap no other subnet's.
func (s *Service) CreateSubnet(ctx context.Context, in *ec2api.CreateSubnetInput) (*ec2api.CreateSubnetOutput, error) {
	vpcID, cidr := deref(in.VpcId), deref(in.CidrBlock)
	if vpcID == "" {
		return nil, missingParam("VpcId")
	}
	if cidr == "" {
		return nil, missingParam("CidrBlock")
	}
	if err := vpcCodes.check(vpcID); err != nil {
		return nil, apiError(err)
	}
	p, err := parseBlock(cidr)
	if err != nil {
		return nil, err
	}
	sc := scopeOf(ctx)
	z := zones(sc.region)[0]
	switch {
	case in.AvailabilityZone != nil:
		var ok bool
		if z, ok = zoneByName(sc.region, *in.AvailabilityZone); !ok {
			return nil, invalidParam("Value (%s) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: %s.", *in.AvailabilityZone, zoneList(sc.region))
		}
	case in.AvailabilityZoneId != nil:
		var ok bool
		if z, ok = zoneByID(sc.region, *in.AvailabilityZoneId); !ok {
			return nil, invalidParam("Value (%s) for parameter availabilityZoneId is invalid.", *in.AvailabilityZoneId)
		}
	}
	tags, err := specTags(in.TagSpecifications, "subnet")
	if err != nil {
		return nil, err
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	var sn *subnetRec
	_, err = s.update(ctx, sc, func(n *network) error {
		v := n.vpc(vpcID)
		if v == nil {
			return apiError(vpcNotFound(vpcID))
		}
		vp, err := netip.ParsePrefix(v.CIDR)
		if err != nil {
			return err
		}
		if p.Bits() < 16 || p.Bits() > 28 || p.Bits() < vp.Bits() || !vp.Contains(p.Addr()) {
			return apiErr("InvalidSubnet.Range", "The CIDR '"+cidr+"' is invalid.")
		}
		count := 0
		for _, o := range n.Subnets {
			if o.VPC != vpcID {
				continue
			}
			count++
			if op, err := netip.ParsePrefix(o.CIDR); err == nil && op.Overlaps(p) {
				return apiErr("InvalidSubnet.Conflict", "The CIDR '"+cidr+"' conflicts with another subnet")
			}
		}
		if count >= maxSubnetsPerVPC {
			return limitExceeded("SubnetLimitExceeded", "The maximum number of subnets has been reached.")
		}
		sn = &subnetRec{ID: newID("subnet"), VPC: vpcID, CIDR: p.String(), Zone: z.name, Tags: tags}
		n.Subnets = append(n.Subnets, sn)
		return nil
	})
	if err != nil {
		return nil, err
	}
	w := sn.wire(sc)
	return &ec2api.CreateSubnetOutput{Subnet: &w}, nil
}

func zoneList(region string) string {
	var names []string
	for _, z := range zones(region) {
		names = append(names, z.name)
	}
	return strings.Join(names, ", ")
}
