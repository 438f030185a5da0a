package elb

import (
	"context"
	"slices"

	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/store"
)

// kindIPPools holds the IPAM pools a load balancer takes its IPv4
// addresses from (id: lb id).
const kindIPPools = "elb.ippools"

type ipPoolsRecord struct {
	IPv4 string
}

// ModifyIpPools sets or removes the IPAM pool of a load balancer. Berth's
// EC2 has no IPAM, so the pool id is format-checked (by the model) and
// stored; addresses are not drawn from it.
func (s *Service) ModifyIpPools(ctx context.Context, in *elbv2.ModifyIpPoolsInput) (*elbv2.ModifyIpPoolsOutput, error) {
	acct, region := where(ctx)
	set := in.IpamPools != nil && in.IpamPools.Ipv4IpamPoolId != nil
	remove := slices.Contains(in.RemoveIpamPools, elbv2.RemoveIpamPoolEnumIpv4)
	if set && remove {
		return nil, validation("An IPv4 IPAM pool cannot be both set and removed")
	}
	if !set && !remove {
		return nil, validation("Either IpamPools or RemoveIpamPools must be specified")
	}
	var rec ipPoolsRecord
	err := s.st.Update(ctx, func(tx store.Tx) error {
		lb, err := s.lbByARN(tx, acct, region, deref(in.LoadBalancerArn))
		if err != nil {
			return err
		}
		if set {
			rec.IPv4 = *in.IpamPools.Ipv4IpamPoolId
		}
		return store.PutDoc(tx, kindIPPools, acct, region, lb.ID, rec, s.clock())
	})
	if err != nil {
		return nil, internal(err)
	}
	out := &elbv2.ModifyIpPoolsOutput{}
	if rec.IPv4 != "" {
		out.IpamPools = &elbv2.IpamPools{Ipv4IpamPoolId: str(rec.IPv4)}
	}
	return out, nil
}
