package server

import (
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/console"
)

// wireConsole serves the read-only web console under /console/ on the
// main listener. It runs last: it reads every service the others built,
// through their Go APIs, with the API's authenticator for sign-in.
func (s *Server) wireConsole() error {
	apis := s.consoleAPIs
	// Typed nils must not become non-nil interfaces.
	if s.ecs != nil {
		apis.ECS = s.ecs
	}
	if s.elb != nil {
		apis.ELB = s.elb
	}
	if s.logs != nil {
		apis.Logs = s.logs
	}
	c, err := console.New(console.Options{
		Services:      apis,
		Auth:          s.api.Auth,
		DefaultRegion: awsapi.DefaultRegion,
		Log:           s.log.With("component", "console"),
	})
	if err != nil {
		return err
	}
	s.mux.Handle(console.Path, c)
	return nil
}
