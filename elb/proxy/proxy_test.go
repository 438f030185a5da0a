package proxy

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

func TestWildcard(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		fold, want bool
	}{
		{"/api/*", "/api/users", false, true},
		{"/api/*", "/api", false, false},
		{"/img/*.png", "/img/a/b.png", false, true},
		{"/img/?.png", "/img/ab.png", false, false},
		{"/API/*", "/api/x", false, false},
		{"*.example.com", "WWW.Example.com", true, true},
		{"*", "", false, true},
		{"a*b*c", "aXbYbZc", false, true},
		{"a*b*c", "aXbYbZ", false, false},
	} {
		if got := Wildcard(c.pattern, c.s, c.fold); got != c.want {
			t.Errorf("Wildcard(%q, %q, %v) = %v", c.pattern, c.s, c.fold, got)
		}
	}
}

func TestMatcher(t *testing.T) {
	for _, c := range []struct {
		m    string
		code int
		want bool
	}{{"200", 200, true}, {"200", 204, false}, {"200-299", 204, true}, {"200,302", 302, true}, {"", 200, true}, {"200-299", 500, false}} {
		if got := MatchCode(c.m, c.code); got != c.want {
			t.Errorf("MatchCode(%q, %d) = %v", c.m, c.code, got)
		}
	}
	for m, want := range map[string]bool{"200": true, "200-399": true, "200,404": true, "199": false, "500": false, "300-200": false, "x": false, "": false} {
		if got := ValidMatcher(m); got != want {
			t.Errorf("ValidMatcher(%q) = %v", m, got)
		}
	}
}

func TestRedirectURL(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "http://shop.example.com:8080/a/b?x=1", nil)
	for _, c := range []struct {
		rd   Redirect
		want string
	}{
		{Redirect{}, "http://shop.example.com:8080/a/b?x=1"},
		{Redirect{Protocol: "HTTPS", Port: "443"}, "https://shop.example.com/a/b?x=1"},
		{Redirect{Host: "new.#{host}", Path: "/v2/#{path}", Query: "#{query}&y=2"}, "http://new.shop.example.com:8080/v2/a/b?x=1&y=2"},
	} {
		if got := redirectURL(c.rd, r, 8080, "http"); got != c.want {
			t.Errorf("redirectURL(%+v) = %q, want %q", c.rd, got, c.want)
		}
	}
}

type fakeTarget struct {
	srv  *httptest.Server
	name string
	sick atomic.Bool
	slow atomic.Bool
	hits atomic.Int64
	port int
}

func newFakeTarget(t *testing.T, name string) *fakeTarget {
	f := &fakeTarget{name: name}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			if f.slow.Load() {
				time.Sleep(300 * time.Millisecond)
			}
			if f.sick.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		f.hits.Add(1)
		io.WriteString(w, name)
	}))
	t.Cleanup(f.srv.Close)
	u, _ := url.Parse(f.srv.URL)
	f.port, _ = strconv.Atoi(u.Port())
	return f
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitState(t *testing.T, p *Proxy, tg, key, state string) Health {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		h, _ := p.Health(tg, key)
		if h.State == state {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never %s: %+v", key, state, h)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func get(t *testing.T, port int, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Targets turn healthy, share traffic, stop getting it when draining or
// unhealthy, and get it back (fail open) when none is healthy.
func TestProxyHealthAndRouting(t *testing.T) {
	a, b := newFakeTarget(t, "A"), newFakeTarget(t, "B")
	p := New("127.0.0.1", nil)
	defer p.Close()
	port := freePort(t)
	hc := HealthCheck{Enabled: true, Path: "/health", Interval: 50 * time.Millisecond, Timeout: 100 * time.Millisecond,
		Healthy: 2, Unhealthy: 2, Matcher: "200"}
	cfg := func(drainB bool) Config {
		return Config{
			Listeners: []Listener{{ARN: "l", Port: port, Rules: []Rule{
				{Conditions: []Condition{{Field: FieldPathPattern, Values: []string{"/fixed"}}},
					Action: Action{Type: ActionFixedResponse, Fixed: FixedResponse{StatusCode: 404, Body: "nope"}}},
				{Action: Action{Type: ActionForward, Forward: []WeightedGroup{{ARN: "tg", Weight: 1}}}},
			}}},
			TargetGroups: []TargetGroup{{ARN: "tg", HealthCheck: hc, Targets: []Target{
				{Key: "a", Host: "127.0.0.1", Port: a.port},
				{Key: "b", Host: "127.0.0.1", Port: b.port, Draining: drainB},
			}}},
		}
	}
	// A high threshold first, so that no target can be healthy yet.
	hc.Healthy = 10
	if err := p.Apply(cfg(false)); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, port, "/"); code != http.StatusServiceUnavailable {
		t.Errorf("no healthy target yet: %d, want 503", code)
	}
	hc.Healthy = 2
	if err := p.Apply(cfg(false)); err != nil {
		t.Fatal(err)
	}
	waitState(t, p, "tg", "a", StateHealthy)
	waitState(t, p, "tg", "b", StateHealthy)
	seen := map[string]int{}
	for range 10 {
		_, body := get(t, port, "/")
		seen[body]++
	}
	if seen["A"] != 5 || seen["B"] != 5 {
		t.Errorf("round robin: %v", seen)
	}
	if code, body := get(t, port, "/fixed"); code != 404 || body != "nope" {
		t.Errorf("fixed response: %d %q", code, body)
	}

	// B draining: no new requests.
	if err := p.Apply(cfg(true)); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, body := get(t, port, "/"); body != "A" {
			t.Fatalf("request reached a draining target")
		}
	}

	// A sick: unhealthy with ResponseCodeMismatch; as no target is
	// healthy, traffic fails open to it.
	a.sick.Store(true)
	if h := waitState(t, p, "tg", "a", StateUnhealthy); h.Reason != ReasonResponseCodeMismatch {
		t.Errorf("sick target reason %q", h.Reason)
	}
	if code, body := get(t, port, "/"); code != 200 || body != "A" {
		t.Errorf("fail open: %d %q", code, body)
	}
	a.sick.Store(false)
	waitState(t, p, "tg", "a", StateHealthy)
	a.slow.Store(true)
	if h := waitState(t, p, "tg", "a", StateUnhealthy); h.Reason != ReasonTimeout {
		t.Errorf("slow target reason %q, want %s", h.Reason, ReasonTimeout)
	}
	a.slow.Store(false)
	waitState(t, p, "tg", "a", StateHealthy)
	a.srv.Close()
	if h := waitState(t, p, "tg", "a", StateUnhealthy); h.Reason != ReasonFailedHealthChecks {
		t.Errorf("stopped target reason %q, want %s", h.Reason, ReasonFailedHealthChecks)
	}
}

func TestProxyWeightsAndRebind(t *testing.T) {
	a, b := newFakeTarget(t, "A"), newFakeTarget(t, "B")
	p := New("", nil)
	defer p.Close()
	port := freePort(t)
	off := HealthCheck{Enabled: false}
	cfg := Config{
		Listeners: []Listener{{ARN: "l", Port: port, Rules: []Rule{
			{Action: Action{Type: ActionForward, Forward: []WeightedGroup{{ARN: "ga", Weight: 3}, {ARN: "gb", Weight: 1}}}},
		}}},
		TargetGroups: []TargetGroup{
			{ARN: "ga", HealthCheck: off, Targets: []Target{{Key: "a", Host: "127.0.0.1", Port: a.port}}},
			{ARN: "gb", HealthCheck: off, Targets: []Target{{Key: "b", Host: "127.0.0.1", Port: b.port}}},
		},
	}
	if err := p.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if h, _ := p.Health("ga", "a"); h.State != StateUnavailable || h.Reason != ReasonHealthCheckDisabled {
		t.Errorf("health checks off: %+v", h)
	}
	seen := map[string]int{}
	for range 400 {
		_, body := get(t, port, "/")
		seen[body]++
	}
	if seen["A"] < 240 || seen["A"] > 360 {
		t.Errorf("weights 3:1 over 400 requests: %v", seen)
	}
	if p.Free(port) {
		t.Errorf("port %d reported free while the listener holds it", port)
	}
	// A new port for the listener: the old one closes.
	port2 := freePort(t)
	cfg.Listeners[0].Port = port2
	if err := p.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, port2, "/"); body != "A" && body != "B" {
		t.Errorf("after the port change: %q", body)
	}
	if _, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/"); err == nil {
		t.Errorf("the old port still answers")
	}
	if err := p.Apply(Config{}); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port2) + "/"); err == nil {
		t.Errorf("a removed listener still answers")
	}
}
