package proxy

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// BenchmarkDirect and BenchmarkThroughListener compare a GET straight to a
// target with the same GET through a listener (one rule, one healthy
// target, health checks off), both over keep-alive connections to
// 127.0.0.1; their ratio is the proxy's cost, written down in docs/elb.md.
func BenchmarkDirect(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	benchGet(b, srv.URL+"/")
}

func BenchmarkThroughListener(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	tport := srv.Listener.Addr().(*net.TCPAddr).Port
	p := New("127.0.0.1", nil)
	defer p.Close()
	lport := freePort(b)
	err := p.Apply(Config{
		Listeners: []Listener{{ARN: "l", Port: lport, Rules: []Rule{{Action: Action{Type: ActionForward, Forward: []WeightedGroup{{ARN: "g", Weight: 1}}}}}}},
		TargetGroups: []TargetGroup{{ARN: "g", HealthCheck: HealthCheck{Enabled: false},
			Targets: []Target{{Key: "t", Host: "127.0.0.1", Port: tport}}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	benchGet(b, "http://127.0.0.1:"+strconv.Itoa(lport)+"/")
}

func benchGet(b *testing.B, url string) {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
