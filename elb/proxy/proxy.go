package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berth-dev/berth/awsapi/wildcard"
)

// Proxy runs the listeners and health checks of a Config.
type Proxy struct {
	host      string
	log       *slog.Logger
	transport http.RoundTripper

	mu        sync.RWMutex // guards the maps; requests only read
	ctx       context.Context
	cancel    context.CancelFunc
	listeners map[string]*listener // by ARN
	groups    map[string]*group    // by target group ARN
}

// New returns a Proxy whose listeners bind host (127.0.0.1 when empty).
func New(host string, log *slog.Logger) *Proxy {
	if host == "" {
		host = "127.0.0.1"
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Proxy{
		host: host, log: log, ctx: ctx, cancel: cancel,
		transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       60 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
		},
		listeners: map[string]*listener{},
		groups:    map[string]*group{},
	}
}

// listener is a bound listener with its current routing table.
type listener struct {
	port   int
	srv    *http.Server
	routes atomic.Pointer[[]Rule]
	tls    atomic.Pointer[TLS]
}

// Apply makes the data plane match cfg. It returns the errors of
// listeners it could not bind (their ports busy); the others serve.
func (p *Proxy) Apply(cfg Config) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx.Err() != nil {
		return errors.New("proxy: closed")
	}
	want := map[string]bool{}
	for _, tg := range cfg.TargetGroups {
		want[tg.ARN] = true
		if g := p.groups[tg.ARN]; g != nil {
			g.set(tg)
			continue
		}
		g := newGroup(tg)
		ctx, cancel := context.WithCancel(p.ctx)
		g.cancel = cancel
		p.groups[tg.ARN] = g
		go g.run(ctx)
	}
	for arn, g := range p.groups {
		if !want[arn] {
			g.cancel()
			delete(p.groups, arn)
		}
	}
	var errs []error
	wantL := map[string]bool{}
	for _, lc := range cfg.Listeners {
		wantL[lc.ARN] = true
		rules := lc.Rules
		if l := p.listeners[lc.ARN]; l != nil && l.port == lc.Port && (l.tls.Load() != nil) == (lc.TLS != nil) {
			l.routes.Store(&rules)
			l.tls.Store(lc.TLS)
			continue
		} else if l != nil {
			p.closeListener(lc.ARN)
		}
		l, err := p.bind(lc.Port, rules, lc.TLS)
		if err != nil {
			errs = append(errs, fmt.Errorf("listener %s: %w", lc.ARN, err))
			continue
		}
		p.listeners[lc.ARN] = l
	}
	for arn := range p.listeners {
		if !wantL[arn] {
			p.closeListener(arn)
		}
	}
	return errors.Join(errs...)
}

func (p *Proxy) bind(port int, rules []Rule, t *TLS) (*listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(p.host, strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	l := &listener{port: port}
	l.routes.Store(&rules)
	l.tls.Store(t)
	if t != nil {
		ln = tls.NewListener(ln, tlsConfig(l))
	}
	l.srv = &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.serve(l, w, r) }),
		ReadHeaderTimeout: 60 * time.Second,
		IdleTimeout:       60 * time.Second, // the ALB's default idle timeout
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
	}
	go func() {
		if err := l.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Warn("load balancer listener stopped", "port", port, "error", err)
		}
	}()
	return l, nil
}

func (p *Proxy) closeListener(arn string) {
	if l := p.listeners[arn]; l != nil {
		l.srv.Close()
		delete(p.listeners, arn)
	}
}

// Listening reports whether the listener is bound.
func (p *Proxy) Listening(arn string) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.listeners[arn] != nil
}

// Health returns the observed health of a target of a group in use; ok
// is false when the group or target is not checked by the proxy.
func (p *Proxy) Health(tgARN, key string) (Health, bool) {
	p.mu.RLock()
	g := p.groups[tgARN]
	p.mu.RUnlock()
	if g == nil {
		return Health{}, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	h := g.health[key]
	if h == nil {
		return Health{}, false
	}
	return h.Health, true
}

// Close stops every listener and health check.
func (p *Proxy) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cancel()
	for arn := range p.listeners {
		p.closeListener(arn)
	}
	for arn, g := range p.groups {
		g.cancel()
		delete(p.groups, arn)
	}
	return nil
}

// serve routes one request by the listener's rules.
func (p *Proxy) serve(l *listener, w http.ResponseWriter, r *http.Request) {
	rules := *l.routes.Load()
	for _, rule := range rules {
		if matches(rule.Conditions, r) {
			p.act(l, rule.Action, w, r)
			return
		}
	}
	http.Error(w, "404 Not Found", http.StatusNotFound)
}

func (p *Proxy) act(l *listener, a Action, w http.ResponseWriter, r *http.Request) {
	switch a.Type {
	case ActionFixedResponse:
		if a.Fixed.ContentType != "" {
			w.Header().Set("Content-Type", a.Fixed.ContentType)
		}
		code := a.Fixed.StatusCode
		if code < 100 || code > 599 {
			code = http.StatusOK
		}
		w.WriteHeader(code)
		strings.NewReader(a.Fixed.Body).WriteTo(w)
	case ActionRedirect:
		http.Redirect(w, r, redirectURL(a.Redirect, r, l.port, scheme(l)), a.Redirect.StatusCode)
	case ActionForward:
		p.forward(l, a.Forward, w, r)
	default:
		http.Error(w, "503 Service Temporarily Unavailable", http.StatusServiceUnavailable)
	}
}

// forward picks a target group by weight and a target in it.
func (p *Proxy) forward(l *listener, groups []WeightedGroup, w http.ResponseWriter, r *http.Request) {
	total := 0
	for _, wg := range groups {
		total += max(wg.Weight, 0)
	}
	var arn string
	if total > 0 {
		n := rand.IntN(total)
		for _, wg := range groups {
			if n < max(wg.Weight, 0) {
				arn = wg.ARN
				break
			}
			n -= max(wg.Weight, 0)
		}
	}
	p.mu.RLock()
	g := p.groups[arn]
	p.mu.RUnlock()
	if g == nil {
		http.Error(w, "503 Service Temporarily Unavailable", http.StatusServiceUnavailable)
		return
	}
	t, ok := g.pick()
	if !ok {
		http.Error(w, "503 Service Temporarily Unavailable", http.StatusServiceUnavailable)
		return
	}
	target := &url.URL{Scheme: "http", Host: net.JoinHostPort(t.Host, strconv.Itoa(t.Port))}
	rp := &httputil.ReverseProxy{
		Transport: p.transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // ALB keeps the client's Host header
			pr.SetXForwarded()
			pr.Out.Header.Set("X-Forwarded-Proto", scheme(l))
			pr.Out.Header.Set("X-Forwarded-Port", strconv.Itoa(l.port))
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if isTimeout(err) {
				http.Error(w, "504 Gateway Time-out", http.StatusGatewayTimeout)
				return
			}
			http.Error(w, "502 Bad Gateway", http.StatusBadGateway)
		},
	}
	rp.ServeHTTP(w, r)
}

// matches reports whether every condition matches r.
func matches(conds []Condition, r *http.Request) bool {
	for _, c := range conds {
		if !conditionMatches(c, r) {
			return false
		}
	}
	return true
}

// Wildcard matches s against pattern, where * is any run of characters and
// ? any one character; fold makes the match case-insensitive.
func Wildcard(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	return wildcard.Match([]byte(pattern), []byte(s))
}

// redirectURL expands a redirect action's #{...} keys for r.
func redirectURL(rd Redirect, r *http.Request, port int, inProto string) string {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	repl := strings.NewReplacer(
		"#{protocol}", inProto, "#{host}", host, "#{port}", strconv.Itoa(port),
		"#{path}", strings.TrimPrefix(r.URL.Path, "/"), "#{query}", r.URL.RawQuery)
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	proto := strings.ToLower(repl.Replace(or(rd.Protocol, "#{protocol}")))
	h := repl.Replace(or(rd.Host, "#{host}"))
	pt := repl.Replace(or(rd.Port, "#{port}"))
	p := repl.Replace(or(rd.Path, "/#{path}"))
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	p = path.Clean(p)
	q := repl.Replace(or(rd.Query, "#{query}"))
	u := url.URL{Scheme: proto, Host: h, Path: p, RawQuery: q}
	if !(proto == "http" && pt == "80") && !(proto == "https" && pt == "443") {
		u.Host = net.JoinHostPort(h, pt)
	}
	return u.String()
}

// Free reports whether a new listener could bind port: no listener of the
// proxy holds it and the host lets it be bound.
func (p *Proxy) Free(port int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.listeners {
		if l.port == port {
			return false
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(p.host, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}
