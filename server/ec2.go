package server

import (
	ec2api "github.com/berth-dev/berth/api/ec2"
	"github.com/berth-dev/berth/ec2"
)

// wireEC2 serves the minimal EC2 API (default VPC, subnets, security
// groups, zones, regions, tags) over the ec2 protocol.
func (s *Server) wireEC2() error {
	svc, err := s.ec2Service()
	if err != nil {
		return err
	}
	s.api.HandleQuery(ec2api.NewEC2Service(svc))
	return nil
}

// ec2Service returns the EC2 service over the shared state store. It holds
// no state of its own, so ECS and ELB may each take one to validate subnet
// and security group ids (ValidateSubnets, ValidateSecurityGroups).
func (s *Server) ec2Service() (*ec2.Service, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	return ec2.New(ec2.Options{Store: st})
}
