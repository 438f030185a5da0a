package ecs

import (
	"context"
	"sync"

	ecsapi "github.com/berth-dev/berth/api/ecs"
)

// ExpressGateways serves the Express service operations. They build on
// other services (ELB, EC2) the control plane does not import, so they
// live in ecs/express and are plugged in with SetExpressGateways; until
// then the operations answer NotImplemented.
type ExpressGateways interface {
	CreateExpressGatewayService(context.Context, *ecsapi.CreateExpressGatewayServiceInput) (*ecsapi.CreateExpressGatewayServiceOutput, error)
	DescribeExpressGatewayService(context.Context, *ecsapi.DescribeExpressGatewayServiceInput) (*ecsapi.DescribeExpressGatewayServiceOutput, error)
	UpdateExpressGatewayService(context.Context, *ecsapi.UpdateExpressGatewayServiceInput) (*ecsapi.UpdateExpressGatewayServiceOutput, error)
	DeleteExpressGatewayService(context.Context, *ecsapi.DeleteExpressGatewayServiceInput) (*ecsapi.DeleteExpressGatewayServiceOutput, error)
}

type expressBox struct {
	mu sync.Mutex
	v  ExpressGateways
}

func (b *expressBox) get() ExpressGateways {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.v
}

// SetExpressGateways makes g serve the Express service operations.
func (s *Service) SetExpressGateways(g ExpressGateways) {
	s.express.mu.Lock()
	s.express.v = g
	s.express.mu.Unlock()
}

func (s *Service) CreateExpressGatewayService(ctx context.Context, in *ecsapi.CreateExpressGatewayServiceInput) (*ecsapi.CreateExpressGatewayServiceOutput, error) {
	if g := s.express.get(); g != nil {
		return g.CreateExpressGatewayService(ctx, in)
	}
	return s.UnimplementedService.CreateExpressGatewayService(ctx, in)
}

func (s *Service) DescribeExpressGatewayService(ctx context.Context, in *ecsapi.DescribeExpressGatewayServiceInput) (*ecsapi.DescribeExpressGatewayServiceOutput, error) {
	if g := s.express.get(); g != nil {
		return g.DescribeExpressGatewayService(ctx, in)
	}
	return s.UnimplementedService.DescribeExpressGatewayService(ctx, in)
}

func (s *Service) UpdateExpressGatewayService(ctx context.Context, in *ecsapi.UpdateExpressGatewayServiceInput) (*ecsapi.UpdateExpressGatewayServiceOutput, error) {
	if g := s.express.get(); g != nil {
		return g.UpdateExpressGatewayService(ctx, in)
	}
	return s.UnimplementedService.UpdateExpressGatewayService(ctx, in)
}

func (s *Service) DeleteExpressGatewayService(ctx context.Context, in *ecsapi.DeleteExpressGatewayServiceInput) (*ecsapi.DeleteExpressGatewayServiceOutput, error) {
	if g := s.express.get(); g != nil {
		return g.DeleteExpressGatewayService(ctx, in)
	}
	return s.UnimplementedService.DeleteExpressGatewayService(ctx, in)
}
