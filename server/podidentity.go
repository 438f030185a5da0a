package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/berth-dev/berth/runtime"
)

// podIdentityAgent is Berth's EKS Pod Identity Agent listener: on
// 169.254.170.23 (runtime.PodIdentityAgentAddress), which the Docker
// runtime makes an address of the host as it makes 169.254.170.2 for ECS
// tasks (docs/ecs-task-identity.md), port 80 when Berth may bind it (EKS's
// URI exactly), else Berth's own port. Pods get the URI in
// AWS_CONTAINER_CREDENTIALS_FULL_URI.
type podIdentityAgent struct {
	mux *http.ServeMux
	srv *http.Server
	rt  runtime.PodIdentityAddresser
	log *slog.Logger
}

// startPodIdentityAgent makes the address and listens on it; the URI is
// empty when that cannot be done (pods of associated service accounts
// then get no Pod Identity environment), with the reason logged.
func (s *Server) startPodIdentityAgent(rt runtime.Runtime, log *slog.Logger) (*podIdentityAgent, string) {
	pa, ok := rt.(runtime.PodIdentityAddresser)
	if !ok {
		return nil, ""
	}
	a := &podIdentityAgent{mux: http.NewServeMux(), rt: pa, log: log}
	a.srv = &http.Server{Handler: a.mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := pa.EnsurePodIdentityAddress(ctx); err != nil {
		log.Warn("EKS Pod Identity: "+runtime.PodIdentityAgentAddress+" is not available, so pods get no Pod Identity credentials", "error", err)
		return nil, ""
	}
	ports := []int{80}
	if _, p, err := net.SplitHostPort(s.cfg.Listen); err == nil {
		if n, _ := strconv.Atoi(p); n > 0 && n != 80 {
			ports = append(ports, n)
		}
	}
	ports = append(ports, 0)
	var last error
	for _, p := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort(runtime.PodIdentityAgentAddress, strconv.Itoa(p)))
		if err != nil {
			last = err
			continue
		}
		go a.srv.Serve(ln)
		port := ln.Addr().(*net.TCPAddr).Port
		host := runtime.PodIdentityAgentAddress
		if port != 80 {
			// The SDKs check the host only, so a port is fine.
			host = net.JoinHostPort(host, strconv.Itoa(port))
		}
		uri := "http://" + host + "/v1/credentials"
		log.Info("EKS Pod Identity Agent: listening", "address", ln.Addr().String(), "uri", uri)
		s.loops = append(s.loops, a.run)
		s.closers = append(s.closers, a.close)
		return a, uri
	}
	log.Warn("EKS Pod Identity: cannot listen on "+runtime.PodIdentityAgentAddress, "error", last)
	return nil, ""
}

// run makes the address again should its network go (a `docker network
// prune`: it has no containers); the listener stays bound to it.
func (a *podIdentityAgent) run(ctx context.Context) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.rt.EnsurePodIdentityAddress(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("EKS Pod Identity: making "+runtime.PodIdentityAgentAddress+" again", "error", err)
			}
		}
	}
}

func (a *podIdentityAgent) close() error {
	err := a.srv.Close()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
