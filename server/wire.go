package server

// wire builds the services and registers their routes.
func (s *Server) wire() error {
	return firstError(s.wireECR, s.wireSecrets, s.wireIAM, s.wireLogs, s.wireEC2, s.wireECS, s.wireAgent, s.wireELB, s.wireServiceLoadBalancing)
}
