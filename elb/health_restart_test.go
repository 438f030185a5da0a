package elb

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store/sqlite"
)

// A target healthy before a restart is healthy after it, at once (for the
// API and for traffic), and health checks carry on from there: failing
// ones turn it unhealthy after the unhealthy threshold, as without the
// restart.
func TestTargetHealthSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var sick atomic.Bool
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sick.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer backend.Close()
	bport := int32(backend.Listener.Addr().(*net.TCPAddr).Port)

	ctx := context.Background()
	acct, region := awsapi.DefaultAccount, awsapi.DefaultRegion
	first, err := New(Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	lb, err := first.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: new("web")})
	if err != nil {
		t.Fatal(err)
	}
	tt, proto := elbv2.TargetTypeEnumIp, elbv2.ProtocolEnumHttp
	tg, err := first.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: new("web"), Protocol: &proto, Port: new(bport),
		VpcId: new("vpc-1"), TargetType: &tt, HealthCheckIntervalSeconds: new(int32(5)), HealthCheckTimeoutSeconds: new(int32(2)),
		HealthyThresholdCount: new(int32(2)), UnhealthyThresholdCount: new(int32(2))})
	if err != nil {
		t.Fatal(err)
	}
	arn := *tg.TargetGroups[0].TargetGroupArn
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	fwd := elbv2.ActionTypeEnumForward
	if _, err := first.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn,
		Port: new(int32(port)), DefaultActions: []elbv2.Action{{Type: &fwd, TargetGroupArn: &arn}}}); err != nil {
		t.Fatal(err)
	}
	if err := first.RegisterTargetsFor(ctx, acct, region, arn, []Target{{ID: "127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	state := func(s *Service) string {
		t.Helper()
		hs, err := s.TargetHealth(ctx, acct, region, arn)
		if err != nil || len(hs) != 1 {
			t.Fatalf("target health: %+v %v", hs, err)
		}
		return hs[0].State
	}
	// until polls, with Sync (what Run does every second) between looks.
	until := func(s *Service, want string) {
		t.Helper()
		for state(s) != want {
			if err := s.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	until(first, StateHealthy)
	if err := first.Sync(ctx); err != nil { // the transition is written
		t.Fatal(err)
	}
	first.Close()

	second, err := New(Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if got := state(second); got != StateHealthy {
		t.Fatalf("after the restart, before the data plane is up: %s, want healthy", got)
	}
	if err := second.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := state(second); got != StateHealthy {
		t.Fatalf("after the restart: %s, want healthy", got)
	}
	resp, err := http.Get("http://127.0.0.1:" + itoa(int32(port)) + "/")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("through the listener after the restart: %v %v", resp, err)
	}
	resp.Body.Close()
	sick.Store(true)
	until(second, StateUnhealthy)
}
