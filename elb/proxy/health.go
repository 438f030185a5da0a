package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// group is a target group in use: its configuration, the observed health
// of its targets and the loop that checks them.
type group struct {
	mu     sync.Mutex
	cfg    TargetGroup
	health map[string]*targetHealth // by Target.Key
	next   uint64                   // round robin
	kick   chan struct{}
	cancel context.CancelFunc
	client *http.Client
}

type targetHealth struct {
	Health
	checked   bool
	last      time.Time // of the last result
	successes int
	failures  int
}

func newGroup(cfg TargetGroup) *group {
	g := &group{
		health: map[string]*targetHealth{},
		kick:   make(chan struct{}, 1),
		client: &http.Client{
			Transport: &http.Transport{DisableKeepAlives: true},
			// Health checks look at the target's own answer.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	g.set(cfg)
	return g
}

// set replaces the configuration, keeping the health of targets that stay.
func (g *group) set(cfg TargetGroup) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cfg = cfg
	keep := map[string]*targetHealth{}
	for _, t := range cfg.Targets {
		h := g.health[t.Key]
		switch {
		case h != nil:
		case t.Last.State == StateHealthy || t.Last.State == StateUnhealthy:
			// Restarted: traffic keeps going where it went, and the
			// thresholds decide from here as if checks had never stopped.
			h = &targetHealth{Health: t.Last}
		default:
			h = &targetHealth{Health: Health{State: StateInitial, Reason: ReasonRegistrationInProgress,
				Description: "Target registration is in progress"}}
		}
		if !cfg.HealthCheck.Enabled {
			h.Health = Health{State: StateUnavailable, Reason: ReasonHealthCheckDisabled, Description: "Health checks disabled"}
			h.checked = false
		} else if h.State == StateUnavailable {
			h.Health = Health{State: StateInitial, Reason: ReasonRegistrationInProgress, Description: "Target registration is in progress"}
		}
		keep[t.Key] = h
	}
	g.health = keep
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// run checks every target each interval, and new targets at once.
func (g *group) run(ctx context.Context) {
	next := time.Now()
	for {
		timer := time.NewTimer(max(time.Until(next), 0))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
			g.checkAll(ctx)
			g.mu.Lock()
			interval := g.cfg.HealthCheck.Interval
			g.mu.Unlock()
			if interval <= 0 {
				interval = 30 * time.Second
			}
			next = time.Now().Add(interval)
		case <-g.kick:
			timer.Stop()
			g.checkNew(ctx)
		}
	}
}

// checkNew checks the targets that have not been checked yet.
func (g *group) checkNew(ctx context.Context) { g.check(ctx, true) }

func (g *group) checkAll(ctx context.Context) { g.check(ctx, false) }

func (g *group) check(ctx context.Context, onlyNew bool) {
	g.mu.Lock()
	hc := g.cfg.HealthCheck
	var due []Target
	for _, t := range g.cfg.Targets {
		h := g.health[t.Key]
		if !hc.Enabled || t.Draining || h == nil || (onlyNew && h.checked) {
			continue
		}
		// A target checked moments ago (new, between two rounds) waits
		// for the next round: one result per interval.
		if !onlyNew && !h.last.IsZero() && time.Since(h.last) < hc.Interval/2 {
			continue
		}
		due = append(due, t)
	}
	g.mu.Unlock()
	var wg sync.WaitGroup
	for _, t := range due {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reason, desc := g.probe(ctx, hc, t)
			if ctx.Err() != nil {
				return
			}
			g.record(t.Key, hc, reason, desc)
		}()
	}
	wg.Wait()
}

// probe runs one health check; reason is empty on success.
func (g *group) probe(ctx context.Context, hc HealthCheck, t Target) (reason, desc string) {
	port := t.Port
	if hc.Port > 0 {
		port = hc.Port
	}
	path := hc.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	timeout := hc.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := "http://" + net.JoinHostPort(t.Host, strconv.Itoa(port)) + path
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, url, nil)
	if err != nil {
		return ReasonFailedHealthChecks, "Health checks failed"
	}
	req.Header.Set("User-Agent", "ELB-HealthChecker/2.0")
	resp, err := g.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			return ReasonTimeout, "Request timed out"
		}
		return ReasonFailedHealthChecks, "Health checks failed"
	}
	resp.Body.Close()
	if !MatchCode(hc.Matcher, resp.StatusCode) {
		return ReasonResponseCodeMismatch, fmt.Sprintf("Health checks failed with these codes: [%d]", resp.StatusCode)
	}
	return "", ""
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// record applies one check result to the target's state.
func (g *group) record(key string, hc HealthCheck, reason, desc string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	h := g.health[key]
	if h == nil {
		return // deregistered meanwhile
	}
	h.checked = true
	h.last = time.Now()
	if reason == "" {
		h.successes++
		h.failures = 0
		if h.State != StateHealthy && h.successes >= max(hc.Healthy, 1) {
			h.Health = Health{State: StateHealthy}
		} else if h.State == StateInitial {
			h.Reason, h.Description = ReasonInitialHealthChecking, "Initial health checks in progress"
		}
		return
	}
	h.failures++
	h.successes = 0
	if h.failures >= max(hc.Unhealthy, 1) || h.State == StateUnhealthy {
		h.Health = Health{State: StateUnhealthy, Reason: reason, Description: desc}
	} else if h.State == StateInitial {
		h.Reason, h.Description = ReasonInitialHealthChecking, "Initial health checks in progress"
	}
}

// pick chooses the next target round robin among the healthy ones; when
// none is healthy but some have failed their checks, it fails open to
// them, as ELB does. ok is false when no target can take the request.
func (g *group) pick() (Target, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var healthy, failOpen []Target
	for _, t := range g.cfg.Targets {
		if t.Draining {
			continue
		}
		h := g.health[t.Key]
		if h == nil {
			continue
		}
		switch h.State {
		case StateHealthy, StateUnavailable:
			healthy = append(healthy, t)
		case StateUnhealthy:
			failOpen = append(failOpen, t)
		}
	}
	if len(healthy) == 0 {
		healthy = failOpen
	}
	if len(healthy) == 0 {
		return Target{}, false
	}
	g.next++
	return healthy[g.next%uint64(len(healthy))], true
}

// MatchCode reports whether code is among matcher's codes ("200",
// "200,202", "200-299"; empty means 200).
func MatchCode(matcher string, code int) bool {
	if strings.TrimSpace(matcher) == "" {
		matcher = "200"
	}
	for part := range strings.SplitSeq(matcher, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil {
				continue
			}
		}
		if code >= a && code <= b {
			return true
		}
	}
	return false
}

// ValidMatcher reports whether matcher is a list of codes or ranges
// between 200 and 499, as Application Load Balancers accept.
func ValidMatcher(matcher string) bool {
	if strings.TrimSpace(matcher) == "" {
		return false
	}
	for part := range strings.SplitSeq(matcher, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 200 || a > 499 {
			return false
		}
		if isRange {
			b, err := strconv.Atoi(hi)
			if err != nil || b < a || b > 499 {
				return false
			}
		}
	}
	return true
}
