package elb

import (
	"context"
	"net"
	"testing"

	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store/sqlite"
)

func TestParseARN(t *testing.T) {
	for arn, want := range map[string]parsedARN{
		"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188": {Account: "123456789012", Region: "us-east-1", Kind: "loadbalancer", Name: "web", LBID: "50dc6c495c0c9188"},
		"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/73e2d6bc24d8a067":       {Account: "123456789012", Region: "us-east-1", Kind: "targetgroup", Name: "tg", TGID: "73e2d6bc24d8a067"},
		"arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/web/a/b/c":           {Account: "123456789012", Region: "eu-west-1", Kind: "listener-rule", Name: "web", LBID: "a", ListenerID: "b", RuleID: "c"},
	} {
		got, ok := parseARN(arn)
		if !ok || got != want {
			t.Errorf("parseARN(%s) = %+v, %v", arn, got, ok)
		}
	}
	for _, bad := range []string{"", "arn:aws:ecs:us-east-1:1:cluster/x", "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/x/y", "nope"} {
		if _, ok := parseARN(bad); ok {
			t.Errorf("parseARN(%q) accepted", bad)
		}
	}
}

func newTestService(t *testing.T) *Service {
	t.Helper()
	st, err := sqlite.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := New(Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func code(err error) string {
	if e := awsapi.AsError(err); e != nil {
		return e.Code
	}
	return ""
}

// The Go API the ECS scheduler uses: register, look up the group's
// listener, read health, deregister into draining.
func TestGoAPI(t *testing.T) {
	s := newTestService(t)
	ctx := context.Background()
	acct, region := awsapi.DefaultAccount, awsapi.DefaultRegion
	lb, err := s.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: new("svc")})
	if err != nil {
		t.Fatal(err)
	}
	tt := elbv2.TargetTypeEnumIp
	proto := elbv2.ProtocolEnumHttp
	tg, err := s.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: new("svc-tg"), Protocol: &proto, Port: new(int32(8080)),
		VpcId: new("vpc-1"), TargetType: &tt})
	if err != nil {
		t.Fatal(err)
	}
	arn := *tg.TargetGroups[0].TargetGroupArn
	if err := s.RegisterTargetsFor(ctx, acct, region, arn, []Target{{ID: "127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	hs, err := s.TargetHealth(ctx, acct, region, arn)
	if err != nil || len(hs) != 1 || hs[0].State != StateUnused || hs[0].Reason != "Target.NotInUse" || hs[0].Target.Port != 8080 {
		t.Fatalf("health before any listener: %+v, %v", hs, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	fwd := elbv2.ActionTypeEnumForward
	l, err := s.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn,
		Port: new(int32(port)), DefaultActions: []elbv2.Action{{Type: &fwd, TargetGroupArn: &arn}}})
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.TargetGroup(ctx, acct, region, arn)
	if err != nil || len(info.ListenerARNs) != 1 || info.ListenerARNs[0] != *l.Listeners[0].ListenerArn ||
		info.LoadBalancerARNs[0] != *lb.LoadBalancers[0].LoadBalancerArn || info.DeregistrationDelay.Seconds() != 300 {
		t.Fatalf("target group info: %+v, %v", info, err)
	}
	hs, _ = s.TargetHealth(ctx, acct, region, arn)
	if hs[0].State != StateInitial {
		t.Errorf("health with a listener: %+v", hs)
	}
	if err := s.DeregisterTargetsFor(ctx, acct, region, arn, []Target{{ID: "127.0.0.1", Port: 8080}}); err != nil {
		t.Fatal(err)
	}
	hs, _ = s.TargetHealth(ctx, acct, region, arn)
	if hs[0].State != StateDraining || hs[0].Reason != "Target.DeregistrationInProgress" {
		t.Errorf("deregistered: %+v", hs)
	}
	if err := s.DeregisterTargetsFor(ctx, acct, region, arn, []Target{{ID: "127.0.0.2"}}); code(err) != elbv2.CodeInvalidTargetException {
		t.Errorf("deregister an unknown target: %v", err)
	}
	missing := arn[:len(arn)-16] + "0000000000000000"
	if _, err := s.TargetHealth(ctx, acct, region, missing); !IsTargetGroupNotFound(err) {
		t.Errorf("missing group: %v", err)
	}
	if _, err := s.TargetHealth(ctx, "111111111111", region, arn); !IsTargetGroupNotFound(err) {
		t.Errorf("another account's group: %v", err)
	}
	again, err := s.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn,
		Port: new(int32(port)), DefaultActions: []elbv2.Action{{Type: &fwd, TargetGroupArn: &arn}}})
	if err != nil || *again.Listeners[0].ListenerArn != *l.Listeners[0].ListenerArn {
		t.Errorf("the same listener again: %v, want the existing one", err)
	}
	fixed := elbv2.ActionTypeEnumFixedResponse
	if _, err := s.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn,
		Port: new(int32(port)), DefaultActions: []elbv2.Action{{Type: &fixed, FixedResponseConfig: &elbv2.FixedResponseActionConfig{StatusCode: new("200")}}}}); code(err) != elbv2.CodeDuplicateListenerException {
		t.Errorf("another listener on the same port: %v", err)
	}
	other, err := s.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: new("other")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: other.LoadBalancers[0].LoadBalancerArn,
		Port: new(int32(port)), DefaultActions: []elbv2.Action{{Type: &fwd, TargetGroupArn: &arn}}}); code(err) != elbv2.CodeInvalidConfigurationRequestException {
		t.Errorf("another load balancer on a port in use: %v", err)
	}
	lb2, err := s.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: new("svc")})
	if err != nil || *lb2.LoadBalancers[0].LoadBalancerArn != *lb.LoadBalancers[0].LoadBalancerArn {
		t.Errorf("the same load balancer again: %v", err)
	}
	if _, err := s.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: new("svc"), Subnets: []string{"subnet-9"}}); code(err) != elbv2.CodeDuplicateLoadBalancerNameException {
		t.Errorf("same name, other settings: %v", err)
	}

	// Traffic shifting: the listener forwards 90/10 to two groups.
	green, err := s.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: new("svc-green"), Protocol: &proto, Port: new(int32(8080)),
		VpcId: new("vpc-1"), TargetType: &tt})
	if err != nil {
		t.Fatal(err)
	}
	larn := *l.Listeners[0].ListenerArn
	if err := s.ForwardListener(ctx, acct, region, larn, []WeightedTargetGroup{{ARN: arn, Weight: 90}, {ARN: *green.TargetGroups[0].TargetGroupArn, Weight: 10}}); err != nil {
		t.Fatal(err)
	}
	ls, err := s.DescribeListeners(ctx, &elbv2.DescribeListenersInput{ListenerArns: []string{larn}})
	if err != nil {
		t.Fatal(err)
	}
	fc := ls.Listeners[0].DefaultActions[0].ForwardConfig
	if fc == nil || len(fc.TargetGroups) != 2 || *fc.TargetGroups[1].Weight != 10 || ls.Listeners[0].DefaultActions[0].TargetGroupArn != nil {
		t.Errorf("weighted default action: %+v", ls.Listeners[0].DefaultActions[0])
	}
	if err := s.ForwardListener(ctx, acct, region, larn, []WeightedTargetGroup{{ARN: missing, Weight: 1}}); !IsTargetGroupNotFound(err) {
		t.Errorf("forward to a missing group: %v", err)
	}
}
