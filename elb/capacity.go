package elb

import (
	"context"
	"time"

	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// kindCapacity holds a load balancer's LCU reservation (id: lb id).
const kindCapacity = "elb.capacity"

// maxCapacityDecreasesPerDay is ELB's limit on lowering a reservation.
const maxCapacityDecreasesPerDay = 2

type capacityRecord struct {
	Units     int32
	Modified  time.Time
	Decreases []time.Time // within the last day
}

// recentDecreases drops the decreases older than a day.
func (c *capacityRecord) recentDecreases(now time.Time) {
	var keep []time.Time
	for _, d := range c.Decreases {
		if now.Sub(d) < 24*time.Hour {
			keep = append(keep, d)
		}
	}
	c.Decreases = keep
}

// capacityOut renders a reservation. Berth's listeners are not
// capacity-bound, so a reservation is provisioned at once, spread evenly
// over the load balancer's zones as in ELB.
func capacityOut(lb lbRecord, c capacityRecord, found bool, now time.Time) *elbv2.DescribeCapacityReservationOutput {
	out := &elbv2.DescribeCapacityReservationOutput{CapacityReservationState: []elbv2.ZonalCapacityReservationState{}}
	c.recentDecreases(now)
	out.DecreaseRequestsRemaining = i32(int32(maxCapacityDecreasesPerDay - len(c.Decreases)))
	if !found {
		return out
	}
	out.LastModifiedTime = awsapi.Time(c.Modified)
	if c.Units == 0 {
		return out
	}
	out.MinimumLoadBalancerCapacity = &elbv2.MinimumLoadBalancerCapacity{CapacityUnits: i32(c.Units)}
	for _, z := range lb.Zones {
		code := elbv2.CapacityReservationStateEnumProvisioned
		units := float64(c.Units) / float64(len(lb.Zones))
		out.CapacityReservationState = append(out.CapacityReservationState, elbv2.ZonalCapacityReservationState{
			AvailabilityZone: str(z), State: &elbv2.CapacityReservationStatus{Code: &code}, EffectiveCapacityUnits: &units})
	}
	return out
}

// DescribeCapacityReservation returns what ModifyCapacityReservation
// set; a load balancer never given one has none. Terraform's aws_lb reads
// this after every create and refresh.
func (s *Service) DescribeCapacityReservation(ctx context.Context, in *elbv2.DescribeCapacityReservationInput) (*elbv2.DescribeCapacityReservationOutput, error) {
	acct, region := where(ctx)
	var (
		lb    lbRecord
		c     capacityRecord
		found bool
	)
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		if lb, err = s.lbByARN(tx, acct, region, deref(in.LoadBalancerArn)); err != nil {
			return err
		}
		found, err = store.LoadDoc(tx, kindCapacity, acct, region, lb.ID, &c)
		return err
	})
	if err != nil {
		return nil, internal(err)
	}
	return capacityOut(lb, c, found, s.clock()), nil
}

// ModifyCapacityReservation sets or resets a load balancer's minimum
// capacity. It is stored and reported, not acted upon.
func (s *Service) ModifyCapacityReservation(ctx context.Context, in *elbv2.ModifyCapacityReservationInput) (*elbv2.ModifyCapacityReservationOutput, error) {
	acct, region := where(ctx)
	reset := in.ResetCapacityReservation != nil && *in.ResetCapacityReservation
	var units int32
	switch {
	case in.MinimumLoadBalancerCapacity != nil && reset:
		return nil, validation("MinimumLoadBalancerCapacity and ResetCapacityReservation cannot be specified together")
	case in.MinimumLoadBalancerCapacity != nil:
		if in.MinimumLoadBalancerCapacity.CapacityUnits == nil || *in.MinimumLoadBalancerCapacity.CapacityUnits < 1 {
			return nil, validation("MinimumLoadBalancerCapacity.CapacityUnits must be a positive number")
		}
		units = *in.MinimumLoadBalancerCapacity.CapacityUnits
	case !reset:
		return nil, validation("Either MinimumLoadBalancerCapacity or ResetCapacityReservation must be specified")
	}
	now := s.clock()
	var (
		lb lbRecord
		c  capacityRecord
	)
	err := s.st.Update(ctx, func(tx store.Tx) (err error) {
		if lb, err = s.lbByARN(tx, acct, region, deref(in.LoadBalancerArn)); err != nil {
			return err
		}
		if _, err = store.LoadDoc(tx, kindCapacity, acct, region, lb.ID, &c); err != nil {
			return err
		}
		c.recentDecreases(now)
		if units < c.Units && !reset {
			if len(c.Decreases) >= maxCapacityDecreasesPerDay {
				return elbv2.NewCapacityDecreaseRequestsLimitExceededException(
					"The capacity of a load balancer can be decreased %d times a day; try again later", maxCapacityDecreasesPerDay)
			}
			c.Decreases = append(c.Decreases, now)
		}
		c.Units, c.Modified = units, now
		return store.PutDoc(tx, kindCapacity, acct, region, lb.ID, c, now)
	})
	if err != nil {
		return nil, internal(err)
	}
	o := capacityOut(lb, c, true, now)
	return &elbv2.ModifyCapacityReservationOutput{LastModifiedTime: o.LastModifiedTime, DecreaseRequestsRemaining: o.DecreaseRequestsRemaining,
		MinimumLoadBalancerCapacity: o.MinimumLoadBalancerCapacity, CapacityReservationState: o.CapacityReservationState}, nil
}
