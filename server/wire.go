package server

// wire builds the services and registers their routes.
func (s *Server) wire() error {
	return firstError(s.wireECR, s.wireSecrets, s.wireIAM, s.wireLogs, s.wireCloudWatch, s.wireEC2, s.wireECS, s.wireServiceDiscovery, s.wireAppAutoScaling, s.wireCloudWatchECS, s.wireAgent, s.wireELB, s.wireServiceLoadBalancing, s.wireNetworkValidation, s.wireECSExpress, s.wireCodeDeploy, s.wireEKS, s.wireConsole)
}

// firstError runs wiring steps in order and stops at the first that fails.
func firstError(steps ...func() error) error {
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}
