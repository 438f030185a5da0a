package ec2

import (
	"context"
	"slices"
	"strings"

	ec2api "github.com/berth-dev/berth/api/ec2"
)

// Berth keeps no route tables or network ACLs: each VPC has one main
// route table and one default network ACL, read-only, whose ids derive
// from the VPC's (rtb-<same hex>, acl-<same hex>), so tools that look them
// up (Terraform's aws_vpc reads the main route table) find them.

func derived(prefix, vpcID string) string { return prefix + "-" + strings.TrimPrefix(vpcID, "vpc-") }

// DescribeVpcAttribute answers enableDnsSupport and enableDnsHostnames
// (true, as for default VPCs) and enableNetworkAddressUsageMetrics.
func (s *Service) DescribeVpcAttribute(ctx context.Context, in *ec2api.DescribeVpcAttributeInput) (*ec2api.DescribeVpcAttributeOutput, error) {
	id := deref(in.VpcId)
	if id == "" {
		return nil, missingParam("VpcId")
	}
	if in.Attribute == nil {
		return nil, missingParam("Attribute")
	}
	if err := vpcCodes.check(id); err != nil {
		return nil, apiError(err)
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	n, err := s.view(ctx, scopeOf(ctx))
	if err != nil {
		return nil, err
	}
	if n.vpc(id) == nil {
		return nil, apiError(vpcNotFound(id))
	}
	out := &ec2api.DescribeVpcAttributeOutput{VpcId: str(id)}
	switch *in.Attribute {
	case ec2api.VpcAttributeNameEnableDnsSupport:
		out.EnableDnsSupport = &ec2api.AttributeBooleanValue{Value: boolp(true)}
	case ec2api.VpcAttributeNameEnableDnsHostnames:
		out.EnableDnsHostnames = &ec2api.AttributeBooleanValue{Value: boolp(true)}
	case ec2api.VpcAttributeNameEnableNetworkAddressUsageMetrics:
		out.EnableNetworkAddressUsageMetrics = &ec2api.AttributeBooleanValue{Value: boolp(false)}
	default:
		return nil, invalidParam("Value (%s) for parameter attribute is invalid. Unknown attribute.", *in.Attribute)
	}
	return out, nil
}

// DescribeRouteTables lists the main route table of each VPC: its local
// route, and for the default VPC a route to an internet gateway.
func (s *Service) DescribeRouteTables(ctx context.Context, in *ec2api.DescribeRouteTablesInput) (*ec2api.DescribeRouteTablesOutput, error) {
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	sc := scopeOf(ctx)
	n, err := s.view(ctx, sc)
	if err != nil {
		return nil, err
	}
	out := &ec2api.DescribeRouteTablesOutput{RouteTables: []ec2api.RouteTable{}}
	for _, id := range in.RouteTableIds {
		if !slices.ContainsFunc(n.VPCs, func(v *vpcRec) bool { return derived("rtb", v.ID) == id }) {
			return nil, apiErr("InvalidRouteTableID.NotFound", "The routeTable ID '"+id+"' does not exist")
		}
	}
	for _, v := range n.VPCs {
		rtb := derived("rtb", v.ID)
		if len(in.RouteTableIds) > 0 && !slices.Contains(in.RouteTableIds, rtb) {
			continue
		}
		igw := ""
		if v.Default {
			igw = derived("igw", v.ID)
		}
		ok, err := matches(in.Filters, func(name string) ([]string, bool) {
			switch name {
			case "route-table-id", "association.route-table-id":
				return one(rtb), true
			case "vpc-id":
				return one(v.ID), true
			case "association.main":
				return one("true"), true
			case "association.route-table-association-id":
				return one(derived("rtbassoc", v.ID)), true
			case "association.subnet-id", "association.gateway-id":
				return nil, true
			case "owner-id":
				return one(sc.account), true
			case "route.destination-cidr-block":
				if igw != "" {
					return []string{v.CIDR, "0.0.0.0/0"}, true
				}
				return one(v.CIDR), true
			case "route.gateway-id":
				if igw != "" {
					return []string{"local", igw}, true
				}
				return one("local"), true
			}
			return tagAttrs(name, nil)
		})
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		state, origin, assoc := ec2api.RouteStateActive, ec2api.RouteOriginCreateRouteTable, ec2api.RouteTableAssociationStateCodeAssociated
		rt := ec2api.RouteTable{
			RouteTableId: str(rtb), VpcId: str(v.ID), OwnerId: str(sc.account), Tags: []ec2api.Tag{}, PropagatingVgws: []ec2api.PropagatingVgw{},
			Associations: []ec2api.RouteTableAssociation{{Main: boolp(true), RouteTableAssociationId: str(derived("rtbassoc", v.ID)), RouteTableId: str(rtb),
				AssociationState: &ec2api.RouteTableAssociationState{State: &assoc}}},
			Routes: []ec2api.Route{{DestinationCidrBlock: str(v.CIDR), GatewayId: str("local"), State: &state, Origin: &origin}},
		}
		if igw != "" {
			o := ec2api.RouteOriginCreateRoute
			rt.Routes = append(rt.Routes, ec2api.Route{DestinationCidrBlock: str("0.0.0.0/0"), GatewayId: str(igw), State: &state, Origin: &o})
		}
		out.RouteTables = append(out.RouteTables, rt)
	}
	return out, nil
}

// DescribeNetworkAcls lists the default network ACL of each VPC, which
// allows all traffic and is associated with the VPC's subnets.
func (s *Service) DescribeNetworkAcls(ctx context.Context, in *ec2api.DescribeNetworkAclsInput) (*ec2api.DescribeNetworkAclsOutput, error) {
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	sc := scopeOf(ctx)
	n, err := s.view(ctx, sc)
	if err != nil {
		return nil, err
	}
	out := &ec2api.DescribeNetworkAclsOutput{NetworkAcls: []ec2api.NetworkAcl{}}
	for _, id := range in.NetworkAclIds {
		if !slices.ContainsFunc(n.VPCs, func(v *vpcRec) bool { return derived("acl", v.ID) == id }) {
			return nil, apiErr("InvalidNetworkAclID.NotFound", "The network ACL ID '"+id+"' does not exist")
		}
	}
	for _, v := range n.VPCs {
		acl := derived("acl", v.ID)
		if len(in.NetworkAclIds) > 0 && !slices.Contains(in.NetworkAclIds, acl) {
			continue
		}
		var subnets []string
		for _, sn := range n.Subnets {
			if sn.VPC == v.ID {
				subnets = append(subnets, sn.ID)
			}
		}
		ok, err := matches(in.Filters, func(name string) ([]string, bool) {
			switch name {
			case "network-acl-id", "association.network-acl-id":
				return one(acl), true
			case "vpc-id":
				return one(v.ID), true
			case "default":
				return one("true"), true
			case "association.subnet-id":
				return subnets, true
			case "owner-id":
				return one(sc.account), true
			}
			return tagAttrs(name, nil)
		})
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		a := ec2api.NetworkAcl{NetworkAclId: str(acl), VpcId: str(v.ID), OwnerId: str(sc.account), IsDefault: boolp(true), Tags: []ec2api.Tag{},
			Associations: []ec2api.NetworkAclAssociation{}}
		for _, sn := range subnets {
			a.Associations = append(a.Associations, ec2api.NetworkAclAssociation{NetworkAclId: str(acl), SubnetId: str(sn),
				NetworkAclAssociationId: str("aclassoc-" + strings.TrimPrefix(sn, "subnet-"))})
		}
		for _, egress := range []bool{false, true} {
			allow, deny := ec2api.RuleActionAllow, ec2api.RuleActionDeny
			a.Entries = append(a.Entries,
				ec2api.NetworkAclEntry{RuleNumber: i32(100), Protocol: str("-1"), RuleAction: &allow, Egress: boolp(egress), CidrBlock: str("0.0.0.0/0")},
				ec2api.NetworkAclEntry{RuleNumber: i32(32767), Protocol: str("-1"), RuleAction: &deny, Egress: boolp(egress), CidrBlock: str("0.0.0.0/0")})
		}
		out.NetworkAcls = append(out.NetworkAcls, a)
	}
	return out, nil
}

// DescribeNetworkInterfaces lists no interfaces: Berth's tasks get no
// ENIs yet. Tools call it before deleting a security group.
func (s *Service) DescribeNetworkInterfaces(ctx context.Context, in *ec2api.DescribeNetworkInterfacesInput) (*ec2api.DescribeNetworkInterfacesOutput, error) {
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	if len(in.NetworkInterfaceIds) > 0 {
		return nil, apiErr("InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '"+in.NetworkInterfaceIds[0]+"' does not exist")
	}
	return &ec2api.DescribeNetworkInterfacesOutput{NetworkInterfaces: []ec2api.NetworkInterface{}}, nil
}
