package server

import (
	"context"
	"fmt"
	"os"
	"time"

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
	agentTimeout, err := envDuration(envAgentTimeout)
	if err != nil {
		return err
	}
	svc, err := ecs.New(context.Background(), ecs.Options{
		Store:        st,
		Local:        &local,
		AgentTimeout: agentTimeout,
		Log:          s.log.With("component", "ecs"),
	})
	if err != nil {
		return fmt.Errorf("ecs: %w", err)
	}
	s.ecs = svc
	if s.sts != nil {
		// Remote agents (berth agent) get their tasks' role credentials
		// with AssumeRole.
		s.sts.SetTaskRoles(svc)
	}
	s.api.HandleJSON(ecsapi.NewJSONService(svc))
	s.loops = append(s.loops, svc.Run)
	return nil
}

// envAgentTimeout is how long a remote agent (berth agent) may stay silent
// before its container instance shows agentConnected false.
const envAgentTimeout = "BERTH_AGENT_TIMEOUT"

// envDuration reads a positive duration from the environment; zero when
// the variable is unset.
func envDuration(name string) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s: %q is not a positive duration", name, v)
	}
	return d, nil
}
