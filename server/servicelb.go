package server

import (
	"context"

	"github.com/berth-dev/berth/ecs"
	"github.com/berth-dev/berth/elb"
)

// wireServiceLoadBalancing lets the ECS service controller register its
// tasks in ELBv2 target groups. It runs after both services are built.
func (s *Server) wireServiceLoadBalancing() error {
	if s.ecs != nil && s.elb != nil {
		s.ecs.SetLoadBalancer(serviceTargets{s.elb})
	}
	return nil
}

// serviceTargets adapts ELBv2's Go API to what the ECS service controller
// needs, converting between the two packages' target types so neither
// imports the other.
type serviceTargets struct{ lb *elb.Service }

func (a serviceTargets) RegisterTargets(ctx context.Context, account, region, tg string, targets []ecs.Target) error {
	return a.lb.RegisterTargetsFor(ctx, account, region, tg, toELB(targets))
}

func (a serviceTargets) DeregisterTargets(ctx context.Context, account, region, tg string, targets []ecs.Target) error {
	return a.lb.DeregisterTargetsFor(ctx, account, region, tg, toELB(targets))
}

func (a serviceTargets) TargetHealth(ctx context.Context, account, region, tg string) (map[ecs.Target]string, error) {
	health, err := a.lb.TargetHealth(ctx, account, region, tg)
	if err != nil {
		return nil, err
	}
	out := make(map[ecs.Target]string, len(health))
	for _, h := range health {
		out[ecs.Target{ID: h.Target.ID, Port: h.Target.Port}] = h.State
	}
	return out, nil
}

func toELB(targets []ecs.Target) []elb.Target {
	out := make([]elb.Target, len(targets))
	for i, t := range targets {
		out[i] = elb.Target{ID: t.ID, Port: t.Port}
	}
	return out
}
