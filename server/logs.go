package server

import (
	"context"

	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/logs"
)

// wireLogs serves CloudWatch Logs over the shared state store, with the
// loop that deletes events past their group's retention.
func (s *Server) wireLogs() error {
	st, err := s.store()
	if err != nil {
		return err
	}
	svc, err := logs.New(logs.Options{Store: st, Log: s.log.With("component", "logs")})
	if err != nil {
		return err
	}
	s.logs = svc
	js := logsapi.NewJSONService(svc)
	logs.AdaptJSON(js, svc)
	s.api.HandleJSON(js)
	s.loops = append(s.loops, func(ctx context.Context) { svc.RunRetention(ctx, logs.RetentionInterval) })
	return nil
}
