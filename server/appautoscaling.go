package server

import (
	"context"
	"os"
	"strings"

	aasapi "github.com/berth-dev/berth/api/applicationautoscaling"
	"github.com/berth-dev/berth/appautoscaling"
	"github.com/berth-dev/berth/runtime"
)

// envAutoScalingInterval overrides how often Application Auto Scaling's
// controller evaluates every scalable target (default 15s; tests use less).
const envAutoScalingInterval = "BERTH_AUTOSCALING_INTERVAL"

// wireAppAutoScaling serves Application Auto Scaling for ECS services,
// with the controller that scales them from their tasks' utilization as
// the container engine measures it, through the ECS API.
func (s *Server) wireAppAutoScaling() error {
	if s.ecs == nil {
		return nil
	}
	st, err := s.store()
	if err != nil {
		return err
	}
	interval, err := envDuration(envAutoScalingInterval)
	if err != nil {
		return err
	}
	if interval == 0 {
		interval = appautoscaling.DefaultInterval
	}
	log := s.log.With("component", "application-autoscaling")
	var stats runtime.StatsReader
	if !strings.EqualFold(os.Getenv(envAgent), "off") {
		// A client of its own: the agent's runtime is private to it, and
		// stats are read-only.
		if rt, err := runtime.Open(context.Background(), "docker", nil); err != nil {
			log.Warn("no container engine: target tracking policies get no data", "err", err)
		} else if sr, ok := rt.(runtime.StatsReader); ok {
			stats = sr
		}
	}
	svc, err := appautoscaling.New(appautoscaling.Options{Store: st, ECS: s.ecs, Stats: stats, Log: log})
	if err != nil {
		return err
	}
	s.aas = svc
	s.api.HandleJSON(aasapi.NewJSONService(svc))
	s.loops = append(s.loops, func(ctx context.Context) { svc.Run(ctx, interval) })
	return nil
}
