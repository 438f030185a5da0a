package albingress

import (
	"context"
	"net"
	"strconv"
	"testing"

	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/elb"
	"github.com/berth-dev/berth/store/sqlite"
)

func newELB(t *testing.T) *elb.Service {
	t.Helper()
	st, err := sqlite.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := elb.New(elb.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func freePort(t *testing.T) int32 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return int32(l.Addr().(*net.TCPAddr).Port)
}

// The deployer against Berth's real ELB: a stack is created, deploying it
// again changes nothing, a changed Ingress changes rules, targets and
// groups in place, and removing it leaves nothing behind.
func TestDeploy(t *testing.T) {
	ctx := context.Background()
	svc := newELB(t)
	counted := &countingELB{Service: svc}
	d := newDeployer(counted, "000000000000", "us-east-1", "prod")

	ing := decode[Ingress](t, shopIngress)
	port := freePort(t)
	ing.Metadata.Annotations[annotationPrefix+"listen-ports"] = `[{"HTTP": ` + strconv.Itoa(int(port)) + `}]`
	st, err := Translate("prod", ing, shopServices(t))
	if err != nil {
		t.Fatal(err)
	}
	api, web := st.TargetGroups[0].Backend, st.TargetGroups[1].Backend
	targets := map[Backend][]elb.Target{api: {{ID: "10.0.0.1", Port: 8080}, {ID: "10.0.0.2", Port: 8080}}}

	deploy := func() string {
		t.Helper()
		inv, err := d.inventory(ctx)
		if err != nil {
			t.Fatal(err)
		}
		dns, err := d.deploy(ctx, inv, st, []string{"subnet-1", "subnet-2"}, targets)
		if err != nil {
			t.Fatal(err)
		}
		return dns
	}
	dns := deploy()
	counted.writes = nil
	if dns == "" || dns != deploy() {
		t.Fatalf("DNS names %q", dns)
	}
	// Deploying what ELB holds already changes nothing.
	if counted.writes != nil {
		t.Errorf("a second deploy wrote %v", counted.writes)
	}
	inv, err := d.inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lb, ok := inv.lbs["web/shop"]
	if !ok || len(inv.lbs) != 1 || len(inv.tgs["web/shop"]) != 2 || str(lb.DNSName) != dns {
		t.Fatalf("inventory %+v", inv)
	}
	listeners, err := svc.DescribeListeners(d.ctx(ctx), &elbv2.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil || len(listeners.Listeners) != 1 || *listeners.Listeners[0].Port != port {
		t.Fatalf("listeners %+v %v", listeners, err)
	}
	rules := func() []elbv2.Rule {
		t.Helper()
		out, err := svc.DescribeRules(d.ctx(ctx), &elbv2.DescribeRulesInput{ListenerArn: listeners.Listeners[0].ListenerArn})
		if err != nil {
			t.Fatal(err)
		}
		return out.Rules
	}
	if rs := rules(); len(rs) != 5 || actionKey(rs[4].Actions[0]) != "fixed 404 text/plain " {
		t.Fatalf("rules %+v", rs)
	}
	tgARN := func(b Backend) string {
		for _, g := range st.TargetGroups {
			if g.Backend == b {
				out, err := svc.DescribeTargetGroups(d.ctx(ctx), &elbv2.DescribeTargetGroupsInput{Names: []string{g.Name}})
				if err != nil {
					t.Fatal(err)
				}
				return *out.TargetGroups[0].TargetGroupArn
			}
		}
		t.Fatalf("no group for %v", b)
		return ""
	}
	health := func(b Backend) map[string]string {
		t.Helper()
		hs, err := svc.TargetHealth(ctx, d.account, d.region, tgARN(b))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, h := range hs {
			out[h.Target.ID] = h.State
		}
		return out
	}
	if h := health(api); len(h) != 2 || h["10.0.0.1"] == "" || h["10.0.0.2"] == "" {
		t.Errorf("api targets %v", h)
	}

	// One endpoint goes, another comes; /login is dropped, so web's rules
	// shrink; a health check setting changes.
	targets[api] = []elb.Target{{ID: "10.0.0.2", Port: 8080}, {ID: "10.0.0.3", Port: 8080}}
	st.Listeners[0].Rules = append(st.Listeners[0].Rules[:1], st.Listeners[0].Rules[2:]...)
	for i := range st.Listeners[0].Rules {
		st.Listeners[0].Rules[i].Priority = int32(i + 1)
	}
	st.TargetGroups[0].HealthCheck.Path = "/livez"
	deploy()
	if h := health(api); h["10.0.0.1"] != elb.StateDraining || h["10.0.0.3"] == "" || h["10.0.0.3"] == elb.StateDraining || h["10.0.0.2"] == elb.StateDraining {
		t.Errorf("api targets after the change %v", h)
	}
	if rs := rules(); len(rs) != 4 {
		t.Errorf("rules after dropping one: %+v", rs)
	}
	out, _ := svc.DescribeTargetGroups(d.ctx(ctx), &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{tgARN(api)}})
	if str(out.TargetGroups[0].HealthCheckPath) != "/livez" {
		t.Errorf("health check path %q", str(out.TargetGroups[0].HealthCheckPath))
	}

	// An Ingress that no longer uses web: its group goes.
	webARN := tgARN(web)
	st.Listeners[0].Rules = st.Listeners[0].Rules[:1]
	st.TargetGroups = st.TargetGroups[:1]
	deploy()
	if _, err := svc.DescribeTargetGroups(d.ctx(ctx), &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{webARN}}); !elb.IsTargetGroupNotFound(err) {
		t.Errorf("the unused group is still there: %v", err)
	}

	// Another stack on the same port fails with ELB's error.
	other := st
	other.ID, other.LoadBalancer.Name = "web/other", "k8s-web-other"
	other.LoadBalancer.Tags = withTags(nil, "prod", "web/other", "LoadBalancer")
	other.TargetGroups = nil
	other.Listeners = []Listener{{Port: port}}
	inv, _ = d.inventory(ctx)
	if _, err := d.deploy(ctx, inv, other, []string{"subnet-1", "subnet-2"}, nil); err == nil {
		t.Errorf("two load balancers on port %d", port)
	} else {
		t.Logf("port clash: %v", err)
	}

	// Removing the stacks leaves nothing of the cluster.
	inv, _ = d.inventory(ctx)
	for _, s := range stacks(inv) {
		if err := d.remove(ctx, inv, s); err != nil {
			t.Fatal(err)
		}
	}
	if inv, _ := d.inventory(ctx); len(inv.lbs) != 0 || len(inv.tgs) != 0 {
		t.Errorf("left after remove: %+v", inv)
	}
}

// countingELB records the calls that change ELB.
type countingELB struct {
	*elb.Service
	writes []string
}

func (c *countingELB) CreateListener(ctx context.Context, in *elbv2.CreateListenerInput) (*elbv2.CreateListenerOutput, error) {
	c.writes = append(c.writes, "CreateListener")
	return c.Service.CreateListener(ctx, in)
}

func (c *countingELB) ModifyListener(ctx context.Context, in *elbv2.ModifyListenerInput) (*elbv2.ModifyListenerOutput, error) {
	c.writes = append(c.writes, "ModifyListener")
	return c.Service.ModifyListener(ctx, in)
}

func (c *countingELB) CreateRule(ctx context.Context, in *elbv2.CreateRuleInput) (*elbv2.CreateRuleOutput, error) {
	c.writes = append(c.writes, "CreateRule")
	return c.Service.CreateRule(ctx, in)
}

func (c *countingELB) ModifyRule(ctx context.Context, in *elbv2.ModifyRuleInput) (*elbv2.ModifyRuleOutput, error) {
	c.writes = append(c.writes, "ModifyRule")
	return c.Service.ModifyRule(ctx, in)
}

func (c *countingELB) DeleteRule(ctx context.Context, in *elbv2.DeleteRuleInput) (*elbv2.DeleteRuleOutput, error) {
	c.writes = append(c.writes, "DeleteRule")
	return c.Service.DeleteRule(ctx, in)
}

func (c *countingELB) CreateTargetGroup(ctx context.Context, in *elbv2.CreateTargetGroupInput) (*elbv2.CreateTargetGroupOutput, error) {
	c.writes = append(c.writes, "CreateTargetGroup")
	return c.Service.CreateTargetGroup(ctx, in)
}

func (c *countingELB) ModifyTargetGroup(ctx context.Context, in *elbv2.ModifyTargetGroupInput) (*elbv2.ModifyTargetGroupOutput, error) {
	c.writes = append(c.writes, "ModifyTargetGroup")
	return c.Service.ModifyTargetGroup(ctx, in)
}

func (c *countingELB) ModifyTargetGroupAttributes(ctx context.Context, in *elbv2.ModifyTargetGroupAttributesInput) (*elbv2.ModifyTargetGroupAttributesOutput, error) {
	c.writes = append(c.writes, "ModifyTargetGroupAttributes")
	return c.Service.ModifyTargetGroupAttributes(ctx, in)
}

func (c *countingELB) RegisterTargetsFor(ctx context.Context, account, region, arn string, targets []elb.Target) error {
	c.writes = append(c.writes, "RegisterTargets")
	return c.Service.RegisterTargetsFor(ctx, account, region, arn, targets)
}

func (c *countingELB) DeregisterTargetsFor(ctx context.Context, account, region, arn string, targets []elb.Target) error {
	c.writes = append(c.writes, "DeregisterTargets")
	return c.Service.DeregisterTargetsFor(ctx, account, region, arn, targets)
}
