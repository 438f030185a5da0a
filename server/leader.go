package server

import (
	"context"
	"errors"
)

// leaderElector is a store several Berths can share: one of them, the
// leader, runs the controllers (task agent, service scheduler, lifecycle,
// replication, garbage collection, retention, load balancer listeners,
// EKS control planes); the others serve the API only. PostgreSQL is one.
type leaderElector interface {
	// Lead blocks until this process leads; lost is closed when it no
	// longer does.
	Lead(ctx context.Context, waiting func()) (lost <-chan struct{}, release func(), err error)
}

// errLostLeadership ends Serve: the controllers cannot be stopped and
// started again in one process, so a Berth that lost the leader lock
// exits and is restarted by its supervisor as a follower.
var errLostLeadership = errors.New("lost the database's leader lock (connection to PostgreSQL broken): exiting so that another Berth leads")

// runLoops starts the controllers: at once on a store of its own (SQLite),
// once this Berth leads on a shared one. It closes ready when the API may
// be served: after the first passes on a store of its own, so that a
// restarted Berth answers on its load balancers' listeners as soon as it
// answers on its API; at once on a shared store, where a follower serves
// the API while another Berth runs the data planes. It reports on errc
// when the leadership is lost.
func (s *Server) runLoops(ctx context.Context, errc chan<- error, ready chan<- struct{}) {
	le, ok := s.state.(leaderElector)
	if !ok {
		s.runFirstPasses(ctx)
		close(ready)
		for _, loop := range s.loops {
			go loop(ctx)
		}
		return
	}
	close(ready)
	lost, release, err := le.Lead(ctx, func() {
		s.log.Info("another Berth leads on this database: serving the API, controllers wait for the leader lock")
	})
	if err != nil {
		if ctx.Err() == nil {
			errc <- err
		}
		return
	}
	defer release()
	s.log.Info("leading: this Berth runs the controllers")
	s.runFirstPasses(ctx)
	for _, loop := range s.loops {
		go loop(ctx)
	}
	select {
	case <-ctx.Done():
	case <-lost:
		s.log.Error(errLostLeadership.Error())
		errc <- errLostLeadership
	}
}

// runFirstPasses runs each controller's first reconcile pass, the one that
// re-creates what a restarted Berth served (listeners), before the loops.
// A pass that fails is retried by its loop.
func (s *Server) runFirstPasses(ctx context.Context) {
	for _, pass := range s.firstPasses {
		if err := pass(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("first reconcile pass", "error", err)
		}
	}
}
