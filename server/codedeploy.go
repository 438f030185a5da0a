package server

import (
	"fmt"
	"os"
	"time"

	cdapi "github.com/berth-dev/berth/api/codedeploy"
	"github.com/berth-dev/berth/codedeploy"
)

// envCodeDeployMinute sets how long a CodeDeploy minute lasts (a Go
// duration such as 2s). Traffic shifting intervals and blue/green wait
// times are whole minutes in the API; tests and demos shorten them here.
const envCodeDeployMinute = "BERTH_CODEDEPLOY_MINUTE"

// wireCodeDeploy serves CodeDeploy with its deployment engine, which
// drives ECS task sets through the ECS API and shifts traffic with ELB's
// listeners. It runs after ECS and ELB are built.
func (s *Server) wireCodeDeploy() error {
	st, err := s.store()
	if err != nil {
		return err
	}
	minute := time.Minute
	if v := os.Getenv(envCodeDeployMinute); v != "" {
		if minute, err = time.ParseDuration(v); err != nil || minute <= 0 {
			return fmt.Errorf("%s=%q: want a positive duration such as 2s", envCodeDeployMinute, v)
		}
	}
	opts := codedeploy.Options{Store: st, Log: s.log.With("component", "codedeploy"), Minute: minute}
	// Typed nils must not become non-nil interfaces.
	if s.ecs != nil {
		opts.ECS = s.ecs
	}
	if s.elb != nil {
		opts.LoadBalancer = s.elb
	}
	svc, err := codedeploy.New(opts)
	if err != nil {
		return err
	}
	s.api.HandleJSON(cdapi.NewJSONService(svc))
	s.consoleAPIs.CodeDeploy = svc
	s.loops = append(s.loops, svc.Run)
	return nil
}
