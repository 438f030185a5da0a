package server

import (
	"context"
	"fmt"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/ecs"
)

// wireECS serves the ECS control plane (clusters, task definitions,
// container instances, task records) over the shared state store, with the
// loop that purges expired records. Tasks stay PROVISIONING until a task
// agent, subscribed with svc.SetNotifier, runs them.
func (s *Server) wireECS() error {
	st, err := s.store()
	if err != nil {
		return err
	}
	local := ecs.DetectLocalHost()
	svc, err := ecs.New(context.Background(), ecs.Options{
		Store: st,
		Local: &local,
		Log:   s.log.With("component", "ecs"),
	})
	if err != nil {
		return fmt.Errorf("ecs: %w", err)
	}
	s.ecs = svc
	s.api.HandleJSON(ecsapi.NewJSONService(svc))
	s.loops = append(s.loops, svc.Run)
	return nil
}
