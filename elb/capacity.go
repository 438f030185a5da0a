package elb

import (
	"context"

	"github.com/berth-dev/berth/api/elbv2"
)

// DescribeCapacityReservation reports that a load balancer has no
// capacity reservation: Berth's listeners are not capacity-bound, so there
// is never a minimum to provision. Terraform's aws_lb reads this after
// every create and refresh.
func (s *Service) DescribeCapacityReservation(ctx context.Context, in *elbv2.DescribeCapacityReservationInput) (*elbv2.DescribeCapacityReservationOutput, error) {
	acct, region := where(ctx)
	if _, err := s.viewLB(ctx, acct, region, deref(in.LoadBalancerArn)); err != nil {
		return nil, internal(err)
	}
	return &elbv2.DescribeCapacityReservationOutput{CapacityReservationState: []elbv2.ZonalCapacityReservationState{}}, nil
}
