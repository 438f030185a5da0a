package elb

import (
	"context"
	"testing"
	"time"

	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// Decreases are limited per day: the third is refused, and allowed again a
// day after the first. Deleting the load balancer removes its reservation.
func TestCapacityDecreaseWindow(t *testing.T) {
	s := newTestService(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	ctx := context.Background()
	lb, err := s.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: new("cap")})
	if err != nil {
		t.Fatal(err)
	}
	arn := lb.LoadBalancers[0].LoadBalancerArn
	set := func(units int32) error {
		_, err := s.ModifyCapacityReservation(ctx, &elbv2.ModifyCapacityReservationInput{LoadBalancerArn: arn,
			MinimumLoadBalancerCapacity: &elbv2.MinimumLoadBalancerCapacity{CapacityUnits: new(units)}})
		return err
	}
	for _, u := range []int32{400, 300, 200} {
		if err := set(u); err != nil {
			t.Fatalf("set %d: %v", u, err)
		}
		now = now.Add(time.Hour)
	}
	if err := set(100); code(err) != elbv2.CodeCapacityDecreaseRequestsLimitExceededException {
		t.Fatalf("third decrease: %v", err)
	}
	if err := set(500); err != nil {
		t.Fatalf("increase: %v", err)
	}
	now = now.Add(22 * time.Hour) // a day after the first decrease
	if err := set(100); err != nil {
		t.Fatalf("decrease the next day: %v", err)
	}
	d, err := s.DescribeCapacityReservation(ctx, &elbv2.DescribeCapacityReservationInput{LoadBalancerArn: arn})
	if err != nil || *d.MinimumLoadBalancerCapacity.CapacityUnits != 100 || *d.DecreaseRequestsRemaining != 0 {
		t.Fatalf("describe: %+v, %v", d, err)
	}
	if _, err := s.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: arn}); err != nil {
		t.Fatal(err)
	}
	p, _ := parseARN(*arn)
	err = s.st.View(ctx, func(tx store.Tx) error {
		var c capacityRecord
		found, err := store.LoadDoc(tx, kindCapacity, awsapi.DefaultAccount, awsapi.DefaultRegion, p.LBID, &c)
		if err == nil && found {
			t.Error("capacity reservation kept after the load balancer was deleted")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
