package endpoints

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/berth-dev/berth/runtime"
)

// Containers cannot reach Berth's own listener (loopback by default), so
// the endpoints listen on the host addresses the runtime says containers
// reach (runtime.HostAddresser): 169.254.170.2, which the Docker runtime
// puts on a bridge of its own, and the gateways of the default bridge and
// of Berth's awsvpc network. All listen on one port, Berth's own unless it
// is taken there.

// listeners are the container-facing listeners and what they were bound
// to.
type listeners struct {
	s   *Server
	srv *http.Server

	mu     sync.Mutex
	port   int                     // chosen once, then kept
	lns    map[string]net.Listener // by host
	port80 net.Listener            // 169.254.170.2:80, when Berth may bind it
	addrs  runtime.HostAddresses
	said   map[string]bool // problems already logged
	closed bool
}

func (l *listeners) init(s *Server) {
	l.s = s
	l.lns = map[string]net.Listener{}
	l.said = map[string]bool{}
	l.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// reach is a snapshot of where containers reach the endpoints.
type reach struct {
	addrs runtime.HostAddresses
	port  int
	// relative is true when 169.254.170.2:80 is served, so ECS's
	// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI works.
	relative bool
	bound    map[string]bool
}

// hostFor is the address a container of the network mode uses: the
// link-local one when there is one (every mode reaches it), else the
// gateway of its own network. Host-mode containers are on the host and
// reach any of them; none-mode containers reach none.
func (r reach) hostFor(mode string) string {
	if r.bound[r.addrs.LinkLocal] {
		return r.addrs.LinkLocal
	}
	prefer := []string{r.addrs.Bridge.Gateway, r.addrs.AWSVPC.Gateway}
	if mode == string(runtime.NetworkAWSVPC) {
		prefer = []string{r.addrs.AWSVPC.Gateway, r.addrs.Bridge.Gateway}
	}
	for _, h := range prefer {
		if r.bound[h] {
			return h
		}
	}
	return ""
}

// ensure returns where containers reach the endpoints, listening first if
// nothing listens yet.
func (l *listeners) ensure(ctx context.Context) (reach, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lns) == 0 {
		if err := l.reconcileLocked(ctx); err != nil {
			return reach{}, fmt.Errorf("%w: %v", ErrUnreachable, err)
		}
	}
	if len(l.lns) == 0 {
		return reach{}, ErrUnreachable
	}
	return l.reachLocked(), nil
}

func (l *listeners) reachLocked() reach {
	r := reach{addrs: l.addrs, port: l.port, relative: l.port80 != nil, bound: map[string]bool{}}
	for h := range l.lns {
		r.bound[h] = true
	}
	return r
}

// reconcile looks the addresses up again and listens on any not listened
// on yet.
func (l *listeners) reconcile(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reconcileLocked(ctx)
}

func (l *listeners) reconcileLocked(ctx context.Context) error {
	if l.closed {
		return errors.New("endpoints: closed")
	}
	ha, ok := l.s.o.Engine.(runtime.HostAddresser)
	if !ok {
		return errors.New("the runtime cannot tell which host addresses its containers reach")
	}
	addrs, err := ha.HostAddresses(ctx)
	if err != nil {
		return err
	}
	l.addrs = addrs
	for _, p := range addrs.Problems {
		l.sayOnce(slog.LevelWarn, "task endpoints: a container-facing address is missing", "problem", p)
	}
	if addrs.LinkLocal == "" {
		l.sayOnce(slog.LevelWarn, "task endpoints: "+runtime.TaskEndpointAddress+" is not available: AWS SDKs refuse a credentials URL on any other host than it or loopback, so task roles will not work in containers")
	}
	var hosts []string
	for _, h := range []string{addrs.LinkLocal, addrs.AWSVPC.Gateway, addrs.Bridge.Gateway} {
		if h != "" && !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	if len(hosts) == 0 {
		return errors.New("the runtime knows no host address its containers reach")
	}
	if l.port == 0 {
		if err := l.choosePort(ctx, hosts); err != nil {
			return err
		}
	}
	for _, h := range hosts {
		if l.lns[h] != nil {
			continue
		}
		ln, err := net.Listen("tcp", hostPort(h, l.port))
		if err != nil {
			l.sayOnce(slog.LevelWarn, "task endpoints: cannot listen", "address", hostPort(h, l.port), "error", err)
			continue
		}
		l.serve(h, ln)
	}
	if !l.s.o.FullURIOnly && l.port80 == nil && l.port != 80 && l.lns[addrs.LinkLocal] != nil {
		if ln, err := net.Listen("tcp", hostPort(addrs.LinkLocal, 80)); err == nil {
			l.port80 = ln
			go l.srv.Serve(ln)
			l.s.log.Info("task endpoints: serving ECS's relative credentials URIs", "address", ln.Addr().String())
		} else {
			l.sayOnce(slog.LevelInfo, "task endpoints: port 80 of "+addrs.LinkLocal+" is not available; tasks get AWS_CONTAINER_CREDENTIALS_FULL_URI", "error", err)
		}
	}
	return nil
}

// choosePort binds the first host on the remembered port, or Berth's, or
// any, and remembers the port: containers carry it in their environment.
func (l *listeners) choosePort(ctx context.Context, hosts []string) error {
	remembered, err := loadPort(ctx, l.s.o.Store)
	if err != nil {
		return err
	}
	var tries []int
	for _, p := range []int{remembered, l.s.o.Port} {
		if p > 0 && !slices.Contains(tries, p) {
			tries = append(tries, p)
		}
	}
	tries = append(tries, 0)
	var last error
	for _, h := range hosts {
		for _, p := range tries {
			if p == 0 && len(tries) > 1 {
				l.s.log.Warn("task endpoints: the preferred port is taken on a container-facing address; using another",
					"address", h, "port", tries[0], "error", last)
			}
			ln, err := net.Listen("tcp", hostPort(h, p))
			if err != nil {
				last = err
				continue
			}
			l.port = ln.Addr().(*net.TCPAddr).Port
			if remembered > 0 && l.port != remembered {
				l.s.log.Warn("task endpoints: the port tasks were started with is taken; tasks re-adopted from before the restart cannot reach their endpoints",
					"port", remembered, "now", l.port)
			}
			if l.port != remembered {
				if err := savePort(ctx, l.s.o.Store, l.port); err != nil {
					ln.Close()
					l.port = 0
					return err
				}
			}
			l.serve(h, ln)
			return nil
		}
	}
	return fmt.Errorf("no container-facing address could be listened on: %v", last)
}

func (l *listeners) serve(host string, ln net.Listener) {
	l.lns[host] = ln
	go l.srv.Serve(ln)
	l.s.log.Info("task endpoints: listening", "address", ln.Addr().String())
}

func (l *listeners) sayOnce(level slog.Level, msg string, args ...any) {
	key := msg + fmt.Sprint(args...)
	if l.said[key] {
		return
	}
	l.said[key] = true
	l.s.log.Log(context.Background(), level, msg, args...)
}

// close stops every listener, letting requests in flight finish.
func (l *listeners) close(ctx context.Context) error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	err := l.srv.Shutdown(ctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Run keeps the listeners on every container-facing address until ctx
// ends, looking the addresses up again every ResyncInterval (networks are
// made again after an engine restart or a `docker network prune`).
func (s *Server) Run(ctx context.Context) {
	every := s.o.ResyncInterval
	if every <= 0 {
		every = 30 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	lastErr := ""
	for {
		if err := s.lis.reconcile(ctx); err != nil && ctx.Err() == nil {
			if err.Error() != lastErr {
				s.log.Warn("task endpoints: looking up container-facing addresses", "error", err)
			}
			lastErr = err.Error()
		} else {
			lastErr = ""
		}
		select {
		case <-ctx.Done():
			shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.lis.close(shut); err != nil {
				s.log.Warn("task endpoints: shutting down", "error", err)
			}
			return
		case <-t.C:
		}
	}
}

// Close stops the listeners at once.
func (s *Server) Close() error {
	s.lis.mu.Lock()
	s.lis.closed = true
	s.lis.mu.Unlock()
	return s.lis.srv.Close()
}

// Addresses are the host:port addresses listened on, for logs and tests.
func (s *Server) Addresses() []string {
	s.lis.mu.Lock()
	defer s.lis.mu.Unlock()
	var out []string
	for _, ln := range s.lis.lns {
		out = append(out, ln.Addr().String())
	}
	if s.lis.port80 != nil {
		out = append(out, s.lis.port80.Addr().String())
	}
	return out
}
