package elb

import (
	"context"
	"slices"
	"sync"

	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/store"
)

// Network is the EC2 that load balancer subnets and security groups are
// checked against. Server wiring sets it with SetNetwork; without one
// (unit tests) subnets and groups are kept as given and zones are named
// after the subnets' order.
type Network interface {
	// Subnets returns the subnets with the given ids, in order, or the
	// first id that is not a subnet of the account in the region (missing;
	// a malformed id is missing too). err is a failure to look.
	Subnets(ctx context.Context, account, region string, ids []string) (subnets []Subnet, missing string, err error)
	// SecurityGroups is Subnets for security group ids.
	SecurityGroups(ctx context.Context, account, region string, ids []string) (groups []SecurityGroup, missing string, err error)
}

// Subnet is what a load balancer needs to know of a subnet.
type Subnet struct {
	ID, VPCID, Zone string
}

// SecurityGroup is what a load balancer needs to know of a security group.
type SecurityGroup struct {
	ID, VPCID string
}

type networkBox struct {
	mu sync.Mutex
	n  Network
}

// SetNetwork makes CreateLoadBalancer, SetSubnets and SetSecurityGroups
// check ids against n, and places the load balancer in its subnets' VPC
// and zones.
func (s *Service) SetNetwork(n Network) {
	s.network.mu.Lock()
	s.network.n = n
	s.network.mu.Unlock()
}

func (s *Service) networkOf() Network {
	s.network.mu.Lock()
	defer s.network.mu.Unlock()
	return s.network.n
}

// placement is where a load balancer's subnets put it.
type placement struct {
	vpc   string
	zones []string // one per subnet, in order
}

// placeSubnets checks the subnets of an Application Load Balancer as ELB
// does: every one exists (SubnetNotFound), no two share a zone, there are
// at least two zones, and they are in one VPC. Without a Network the
// placement is empty and nothing is checked. It runs outside the store
// transaction of the request: EC2 reads its own.
func (s *Service) placeSubnets(ctx context.Context, acct, region string, ids []string) (placement, error) {
	n := s.networkOf()
	if n == nil {
		return placement{}, nil
	}
	subnets, missing, err := n.Subnets(ctx, acct, region, ids)
	if err != nil {
		return placement{}, err
	}
	if missing != "" {
		return placement{}, elbv2.NewSubnetNotFoundException("The subnet ID '%s' does not exist", missing)
	}
	var p placement
	for _, sn := range subnets {
		if slices.Contains(p.zones, sn.Zone) {
			return placement{}, elbv2.NewInvalidConfigurationRequestException("A load balancer cannot be attached to multiple subnets in the same Availability Zone")
		}
		p.zones = append(p.zones, sn.Zone)
	}
	if len(p.zones) < 2 {
		return placement{}, validation("At least two subnets in two different Availability Zones must be specified")
	}
	for _, sn := range subnets {
		if p.vpc == "" {
			p.vpc = sn.VPCID
		} else if sn.VPCID != p.vpc {
			return placement{}, elbv2.NewInvalidConfigurationRequestException("Subnet '%s' is in VPC '%s', not in VPC '%s' of the other subnets; a load balancer's subnets must be in one VPC", sn.ID, sn.VPCID, p.vpc)
		}
	}
	return p, nil
}

// checkGroups checks that every security group exists and, when the load
// balancer's VPC is known, belongs to it.
func (s *Service) checkGroups(ctx context.Context, acct, region, vpc string, ids []string) error {
	n := s.networkOf()
	if n == nil || len(ids) == 0 {
		return nil
	}
	groups, missing, err := n.SecurityGroups(ctx, acct, region, ids)
	if err != nil {
		return err
	}
	if missing != "" {
		return elbv2.NewInvalidSecurityGroupException("The security group '%s' does not exist", missing)
	}
	for _, g := range groups {
		if vpc != "" && g.VPCID != vpc {
			return elbv2.NewInvalidConfigurationRequestException("Security group \"%s\" does not belong to VPC \"%s\"", g.ID, vpc)
		}
	}
	return nil
}

// subnetsOf is the subnets of a request: Subnets, then SubnetMappings.
func subnetsOf(ids []string, mappings []elbv2.SubnetMapping) []string {
	out := append([]string(nil), ids...)
	for _, m := range mappings {
		out = append(out, deref(m.SubnetId))
	}
	return out
}

// SetSubnets replaces the subnets (and so the zones) of a load balancer.
func (s *Service) SetSubnets(ctx context.Context, in *elbv2.SetSubnetsInput) (*elbv2.SetSubnetsOutput, error) {
	acct, region := where(ctx)
	subnets := subnetsOf(in.Subnets, in.SubnetMappings)
	if len(subnets) == 0 {
		return nil, validation("You must specify subnets or subnet mappings")
	}
	if in.IpAddressType != nil && *in.IpAddressType != elbv2.IpAddressTypeIpv4 {
		return nil, validation("IP address type '%s' is not supported by Berth; use 'ipv4'", *in.IpAddressType)
	}
	p, err := s.placeSubnets(ctx, acct, region, subnets)
	if err != nil {
		return nil, internal(err)
	}
	var lb lbRecord
	err = s.st.Update(ctx, func(tx store.Tx) (err error) {
		lb, err = s.lbByARN(tx, acct, region, deref(in.LoadBalancerArn))
		if err != nil {
			return err
		}
		if p.vpc != "" && lb.VpcID != "" && p.vpc != lb.VpcID {
			return elbv2.NewInvalidConfigurationRequestException("The subnets must be in VPC '%s' of the load balancer, not in VPC '%s'", lb.VpcID, p.vpc)
		}
		lb.Subnets, lb.Zones = subnets, p.zones
		if p.vpc != "" {
			lb.VpcID = p.vpc
		}
		return store.PutDoc(tx, kindLB, acct, region, lb.ID, lb, s.clock())
	})
	if err != nil {
		return nil, internal(err)
	}
	ipt := elbv2.IpAddressType(lb.IPAddressType)
	return &elbv2.SetSubnetsOutput{AvailabilityZones: s.lbOut(acct, region, lb).AvailabilityZones, IpAddressType: &ipt}, nil
}

// SetSecurityGroups replaces the security groups of a load balancer.
func (s *Service) SetSecurityGroups(ctx context.Context, in *elbv2.SetSecurityGroupsInput) (*elbv2.SetSecurityGroupsOutput, error) {
	acct, region := where(ctx)
	if in.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic != nil {
		return nil, validation("EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic applies to Network Load Balancers only")
	}
	lb, err := s.viewLB(ctx, acct, region, deref(in.LoadBalancerArn))
	if err != nil {
		return nil, internal(err)
	}
	if err := s.checkGroups(ctx, acct, region, lb.VpcID, in.SecurityGroups); err != nil {
		return nil, internal(err)
	}
	groups := append([]string{}, in.SecurityGroups...)
	err = s.st.Update(ctx, func(tx store.Tx) (err error) {
		// Read again: the groups replace whatever else changed meanwhile,
		// and nothing else of the record.
		lb, err = s.lbByARN(tx, acct, region, deref(in.LoadBalancerArn))
		if err != nil {
			return err
		}
		lb.SecurityGroups = groups
		return store.PutDoc(tx, kindLB, acct, region, lb.ID, lb, s.clock())
	})
	if err != nil {
		return nil, internal(err)
	}
	return &elbv2.SetSecurityGroupsOutput{SecurityGroupIds: groups}, nil
}

// zoneName is the zone of a load balancer's i-th subnet: EC2's when known,
// else named after the order, as before EC2 was consulted.
func zoneName(lb lbRecord, region string, i int) string {
	if i < len(lb.Zones) && lb.Zones[i] != "" {
		return lb.Zones[i]
	}
	return region + string(rune('a'+i%6))
}
