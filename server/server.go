// Package server assembles Berth: it opens the store and blob store, builds
// every service and serves them, with the registry, on one port.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/berth-dev/berth/appautoscaling"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/cloudwatch"
	"github.com/berth-dev/berth/config"
	"github.com/berth-dev/berth/console"
	"github.com/berth-dev/berth/ecr/token"
	"github.com/berth-dev/berth/ecs"
	"github.com/berth-dev/berth/elb"
	"github.com/berth-dev/berth/iam"
	"github.com/berth-dev/berth/logs"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/sts"
)

// Server is a running Berth.
type Server struct {
	cfg     config.Config
	log     *slog.Logger
	version string
	api     *awsapi.Mux
	mux     *http.ServeMux
	started time.Time
	state   store.Store
	// logs is CloudWatch Logs, which the ECS task agent ships container
	// output into.
	logs *logs.Service
	// ecs is the ECS control plane, which the task agent reconciles against.
	ecs *ecs.Service
	// sts vends task role credentials.
	sts *sts.Service
	// elb is the load balancer the ECS service scheduler registers tasks in.
	elb *elb.Service
	// ecrTokens mints and checks registry passwords; the task agent pulls
	// from Berth's ECR with them.
	ecrTokens *token.Issuer
	// consoleAPIs are the services the web console reads, beyond those
	// above.
	consoleAPIs console.Services
	// iam gives HTTPS listeners their server certificates.
	iam *iam.Service
	// cloudwatch takes other services' metrics and runs alarm actions.
	cloudwatch *cloudwatch.Service
	// aas is Application Auto Scaling, whose step scaling policies
	// CloudWatch alarm actions run.
	aas     *appautoscaling.Service
	closers []func() error
	loops   []func(context.Context)
	// firstPasses run once, in order, before loops start; see runLoops.
	firstPasses []func(context.Context) error
}

// Run serves cfg until ctx ends, then shuts down gracefully.
func Run(ctx context.Context, cfg config.Config, version string, logOut io.Writer) error {
	s, err := New(cfg, version, logOut)
	if err != nil {
		return err
	}
	defer s.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	return s.Serve(ctx, ln)
}

// New builds a Server from cfg without listening.
func New(cfg config.Config, version string, logOut io.Writer) (*Server, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level}))
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	creds := awsapi.Credentials{}
	for _, c := range cfg.Credentials {
		creds[c.AccessKeyID] = c.SecretAccessKey
	}
	s := &Server{
		cfg:     cfg,
		log:     log,
		version: version,
		api:     awsapi.NewMux(&awsapi.Authenticator{Credentials: creds}, log),
		mux:     http.NewServeMux(),
		started: time.Now(),
	}
	s.mux.HandleFunc("GET /_berth/health", s.health)
	st, err := openStore(cfg)
	if err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	s.state = st
	s.closers = append(s.closers, st.Close)
	if err := s.wire(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Serve answers on ln until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	loopCtx, cancelLoops := context.WithCancel(ctx)
	defer cancelLoops()
	errc := make(chan error, 2)
	ready := make(chan struct{})
	go s.runLoops(loopCtx, errc, ready)
	select {
	case <-ready:
	case <-ctx.Done():
	}
	go func() { errc <- hs.Serve(ln) }()
	s.log.Info("berth is up", "listen", ln.Addr().String(), "registry", s.cfg.RegistryHost,
		"console", "http://"+loopbackAddr(ln.Addr().String())+console.Path,
		"data", s.cfg.DataDir, "sigv4", len(s.cfg.Credentials) > 0, "version", s.version,
		"startup", time.Since(s.started).Round(time.Millisecond))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	cancelLoops()
	shutCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close releases the store and everything else New opened.
func (s *Server) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	return errors.Join(errs...)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.api.Match(r) {
		s.api.ServeHTTP(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"status":   "ok",
		"version":  s.version,
		"services": s.serviceStates(),
		"registry": s.cfg.RegistryHost,
		"uptime":   strings.TrimSuffix(time.Since(s.started).Round(time.Second).String(), "0s"),
	})
}

// store is the state store every service shares: one SQLite handle, so one
// writer pool serves them all.
func (s *Server) store() (store.Store, error) { return s.state, nil }

// serviceStates names every API Berth serves, and the registry, as
// LocalStack's health endpoint does, so tools that poll it can tell what
// is up.
func (s *Server) serviceStates() map[string]string {
	states := map[string]string{"registry": "running"}
	for _, name := range s.api.Services() {
		states[name] = "running"
	}
	return states
}
