package server

import (
	"os"

	elbv2api "github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/elb"
	"github.com/berth-dev/berth/store"
)

// envELBListenHost is the address load balancer listeners bind:
// 127.0.0.1 unless set (0.0.0.0 serves other hosts too).
const envELBListenHost = "BERTH_ELB_LISTEN_HOST"

// wireELB serves Elastic Load Balancing v2 over the shared state store,
// with the loop that keeps listeners and health checks in line with it.
func (s *Server) wireELB() error {
	st, err := s.store()
	if err != nil {
		return err
	}
	s.elb, err = s.serveELB(st)
	return err
}

// serveELB registers ELBv2 (awsQuery) over st and returns the service,
// whose Go API (RegisterTargetsFor, DeregisterTargetsFor, TargetHealth,
// TargetGroup) the ECS service scheduler uses.
func (s *Server) serveELB(st store.Store) (*elb.Service, error) {
	svc, err := elb.New(elb.Options{
		Store:      st,
		Log:        s.log.With("component", "elb"),
		ListenHost: os.Getenv(envELBListenHost),
	})
	if err != nil {
		return nil, err
	}
	if s.iam != nil {
		// HTTPS listeners serve IAM server certificates: Berth has no ACM.
		svc.SetCertificateSource(s.iam)
	}
	s.api.HandleQuery(elbv2api.NewQueryService(svc))
	s.firstPasses = append(s.firstPasses, svc.Sync)
	s.loops = append(s.loops, svc.Run)
	s.closers = append(s.closers, svc.Close)
	return svc, nil
}
