package server

import (
	ssmapi "github.com/berth-dev/berth/api/ssm"
	"github.com/berth-dev/berth/secrets"
	"github.com/berth-dev/berth/ssm"
	"github.com/berth-dev/berth/store"
)

// wireSecrets serves Secrets Manager and SSM Parameter Store over the
// shared state store.
func (s *Server) wireSecrets() error {
	st, err := s.store()
	if err != nil {
		return err
	}
	return s.serveSecrets(st)
}

// serveSecrets registers both services over st. ECS resolves container
// secrets with resolve.Resolver over the same store.
func (s *Server) serveSecrets(st store.Store) error {
	sm, err := secrets.New(secrets.Options{Store: st})
	if err != nil {
		return err
	}
	ps, err := ssm.New(ssm.Options{Store: st})
	if err != nil {
		return err
	}
	s.api.HandleJSON(secrets.NewJSONService(sm))
	s.api.HandleJSON(ssmapi.NewJSONService(ps))
	return nil
}
