package express

import (
	"context"
	"slices"
	"strconv"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/elb"
)

// Health checks of Express target groups. Berth's choice: AWS's ALB
// defaults (30 s, 5 checks) would keep a new task out of service for
// minutes, and Express documents none.
const (
	healthInterval  = 5
	healthTimeout   = 3
	healthyChecks   = 2
	unhealthyChecks = 3
	// drainSeconds bounds how long a replaced task keeps its in-flight
	// requests; ELB's 300 s default would keep every old task of a
	// rolling update running five minutes.
	drainSeconds = "30"
)

// lbName is the shared load balancer of the Express services of a cluster
// in a VPC (at most 32 characters, as ELB requires).
func lbName(account, region, cluster, vpc string) string {
	return "ecs-express-gw-" + shortHash(account, region, cluster, vpc)
}

// provision makes what the Express service r needs in ELB and EC2 and
// resolves the configuration's network (subnets, security groups). It
// returns how to undo what it made, for a creation that fails later.
func (s *Service) provision(ctx context.Context, account, region string, r *record, cfg *ecsapi.ExpressGatewayServiceConfiguration) ([]func(), error) {
	var undo []func()
	fail := func(err error) ([]func(), error) {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return nil, err
	}
	net := s.o.Network
	nc := cfg.NetworkConfiguration
	if nc == nil {
		nc = &ecsapi.ExpressGatewayServiceNetworkConfiguration{}
		cfg.NetworkConfiguration = nc
	}
	defaults, err := net.DefaultSubnets(ctx, account, region)
	if err != nil {
		return nil, err
	}
	var subnets []Subnet
	if len(nc.Subnets) > 0 {
		if subnets, err = net.Subnets(ctx, account, region, nc.Subnets); err != nil {
			return nil, invalid("networkConfiguration.subnets: %v", err)
		}
	} else {
		subnets = defaults
		for _, sn := range subnets {
			nc.Subnets = append(nc.Subnets, sn.ID)
		}
	}
	if len(subnets) == 0 {
		return nil, invalid("No subnets: the account has no default VPC subnets in %s; give networkConfiguration.subnets.", region)
	}
	r.VPC = subnets[0].VPCID
	for _, sn := range subnets {
		if sn.VPCID != r.VPC {
			return nil, invalid("Subnets %s and %s are in different VPCs.", subnets[0].ID, sn.ID)
		}
	}
	// An ALB needs subnets in two zones; with fewer, the VPC's default
	// subnets carry it.
	lbSubnets := zoneSubnets(subnets)
	if len(lbSubnets) < 2 {
		lbSubnets = nil
		for _, sn := range zoneSubnets(defaults) {
			if sn.VPCID == r.VPC {
				lbSubnets = append(lbSubnets, sn)
			}
		}
	}
	if len(lbSubnets) < 2 {
		return nil, invalid("The load balancer of an Express service needs subnets in at least two Availability Zones of %s.", r.VPC)
	}

	// The shared load balancer, its security group and listener.
	name := lbName(account, region, r.Cluster, r.VPC)
	lb, err := s.findLoadBalancer(ctx, name)
	if err != nil {
		return nil, err
	}
	if lb == nil {
		port, err := s.o.ListenerPort()
		if err != nil {
			return nil, err
		}
		sg, err := net.CreateSecurityGroup(ctx, account, region, r.VPC, name+"-"+randomHex(6),
			"Load balancer of the ECS Express services of cluster "+r.Cluster)
		if err != nil {
			return nil, err
		}
		undo = append(undo, func() { s.deleteGroup(ctx, account, region, sg) })
		if err := net.AllowIngress(ctx, account, region, sg, port, ""); err != nil {
			return fail(err)
		}
		var ids []string
		for _, sn := range lbSubnets {
			ids = append(ids, sn.ID)
		}
		out, err := s.o.LoadBalancing.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: &name, Subnets: ids,
			SecurityGroups: []string{sg}, Type: new(elbv2.LoadBalancerTypeEnumApplication),
			Scheme: new(elbv2.LoadBalancerSchemeEnumInternetFacing), Tags: []elbv2.Tag{
				{Key: new("AmazonECSManaged"), Value: new("true")}, {Key: new("ecs:cluster"), Value: new(r.Cluster)}}})
		if err != nil {
			return fail(err)
		}
		lb = &out.LoadBalancers[0]
		arn := str(lb.LoadBalancerArn)
		undo = append(undo, func() {
			_, _ = s.o.LoadBalancing.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: &arn})
		})
		notFound := elbv2.ActionTypeEnumFixedResponse
		if _, err := s.o.LoadBalancing.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: &arn, Port: &port,
			Protocol: new(elbv2.ProtocolEnumHttp), DefaultActions: []elbv2.Action{{Type: &notFound,
				FixedResponseConfig: &elbv2.FixedResponseActionConfig{StatusCode: new("404"), ContentType: new("text/plain"),
					MessageBody: new("No Express service has this host name.")}}}}); err != nil {
			return fail(err)
		}
	}
	r.LoadBalancer = str(lb.LoadBalancerArn)
	if len(lb.SecurityGroups) > 0 {
		r.LBSecurityGrp = lb.SecurityGroups[0]
	}
	ls, err := s.o.LoadBalancing.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil {
		return fail(err)
	}
	if len(ls.Listeners) == 0 {
		return fail(invalid("The load balancer %s has no listener.", name))
	}
	r.Listener, r.Port = str(ls.Listeners[0].ListenerArn), deref(ls.Listeners[0].Port)

	// The tasks' security group: the load balancer may reach the
	// container port.
	port := deref(cfg.PrimaryContainer.ContainerPort)
	if len(nc.SecurityGroups) == 0 {
		sg, err := net.CreateSecurityGroup(ctx, account, region, r.VPC, "ecs-express-"+hostLabel(r.Name)+"-"+randomHex(6),
			"Tasks of the ECS Express service "+r.Name)
		if err != nil {
			return fail(err)
		}
		undo = append(undo, func() { s.deleteGroup(ctx, account, region, sg) })
		if err := net.AllowIngress(ctx, account, region, sg, port, r.LBSecurityGrp); err != nil {
			return fail(err)
		}
		nc.SecurityGroups = []string{sg}
		r.ManagedSGs = []string{sg}
	}

	// The service's target group and the rule routing its host name.
	tgName := "ecs-gw-" + randomHex(16)
	tg, err := s.o.LoadBalancing.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: &tgName, Protocol: new(elbv2.ProtocolEnumHttp),
		Port: &port, VpcId: &r.VPC, TargetType: new(elbv2.TargetTypeEnumIp), HealthCheckProtocol: new(elbv2.ProtocolEnumHttp),
		HealthCheckPath: cfg.HealthCheckPath, HealthCheckIntervalSeconds: new(int32(healthInterval)),
		HealthCheckTimeoutSeconds: new(int32(healthTimeout)), HealthyThresholdCount: new(int32(healthyChecks)),
		UnhealthyThresholdCount: new(int32(unhealthyChecks)), Matcher: &elbv2.Matcher{HttpCode: new("200")},
		Tags: []elbv2.Tag{{Key: new("AmazonECSManaged"), Value: new("true")}, {Key: new("ecs:service"), Value: new(r.ServiceARN)}}})
	if err != nil {
		return fail(err)
	}
	r.TargetGroup = str(tg.TargetGroups[0].TargetGroupArn)
	undo = append(undo, func() {
		_, _ = s.o.LoadBalancing.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: &r.TargetGroup})
	})
	if _, err := s.o.LoadBalancing.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: &r.TargetGroup,
		Attributes: []elbv2.TargetGroupAttribute{{Key: new("deregistration_delay.timeout_seconds"), Value: new(drainSeconds)}}}); err != nil {
		return fail(err)
	}
	r.Host = hostLabel(r.Name) + "-" + randomHex(8) + ".ecs." + region + ".localhost"
	prio, err := s.freePriority(ctx, r.Listener)
	if err != nil {
		return fail(err)
	}
	fwd := elbv2.ActionTypeEnumForward
	rule, err := s.o.LoadBalancing.CreateRule(ctx, &elbv2.CreateRuleInput{ListenerArn: &r.Listener, Priority: &prio,
		Conditions: []elbv2.RuleCondition{{Field: new("host-header"), Values: []string{r.Host}}},
		Actions:    []elbv2.Action{{Type: &fwd, TargetGroupArn: &r.TargetGroup}}})
	if err != nil {
		return fail(err)
	}
	r.Rule = str(rule.Rules[0].RuleArn)
	undo = append(undo, func() { _, _ = s.o.LoadBalancing.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: &r.Rule}) })
	// The last undo steps run first: the rule, then the group, then
	// security groups and the load balancer.
	return undo, nil
}

// zoneSubnets keeps the first subnet of each zone.
func zoneSubnets(subnets []Subnet) []Subnet {
	var out []Subnet
	var zones []string
	for _, sn := range subnets {
		if !slices.Contains(zones, sn.Zone) {
			zones = append(zones, sn.Zone)
			out = append(out, sn)
		}
	}
	return out
}

func (s *Service) findLoadBalancer(ctx context.Context, name string) (*elbv2.LoadBalancer, error) {
	out, err := s.o.LoadBalancing.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{name}})
	if e := awsapi.AsError(err); e != nil && e.Code == elbv2.CodeLoadBalancerNotFoundException {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(out.LoadBalancers) == 0 {
		return nil, nil
	}
	return &out.LoadBalancers[0], nil
}

// rules are the listener's rules other than the default one.
func (s *Service) rules(ctx context.Context, listener string) ([]elbv2.Rule, error) {
	var out []elbv2.Rule
	for marker := (*string)(nil); ; {
		page, err := s.o.LoadBalancing.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: &listener, Marker: marker})
		if err != nil {
			return nil, err
		}
		for _, r := range page.Rules {
			if !deref(r.IsDefault) {
				out = append(out, r)
			}
		}
		if marker = page.NextMarker; marker == nil {
			return out, nil
		}
	}
}

func (s *Service) freePriority(ctx context.Context, listener string) (int32, error) {
	rules, err := s.rules(ctx, listener)
	if err != nil {
		return 0, err
	}
	used := map[int32]bool{}
	for _, r := range rules {
		if p, err := strconv.Atoi(str(r.Priority)); err == nil {
			used[int32(p)] = true
		}
	}
	p := int32(1)
	for used[p] {
		p++
	}
	return p, nil
}

func (s *Service) deleteGroup(ctx context.Context, account, region, id string) {
	if err := s.o.Network.DeleteSecurityGroup(ctx, account, region, id); err != nil {
		s.o.Log.Warn("express: deleting security group", "group", id, "err", err)
	}
}

// deprovision removes what provision made for r, and the shared load
// balancer and its security group when no rule is left on its listener.
// Failures are logged: the service is deleted either way, as on AWS,
// where what cannot be cleaned up is left to the account.
func (s *Service) deprovision(ctx context.Context, account, region string, r *record) {
	lb := s.o.LoadBalancing
	warn := func(what string, err error) {
		if err != nil {
			s.o.Log.Warn("express: deleting "+what, "service", r.ServiceARN, "err", err)
		}
	}
	_, err := lb.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: &r.Rule})
	if e := awsapi.AsError(err); e != nil && e.Code == elbv2.CodeRuleNotFoundException {
		err = nil
	}
	warn("rule", err)
	// The ECS service's tasks are deregistered as they stop; with the
	// group gone there is nothing to drain, so they stop at once.
	_, err = lb.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: &r.TargetGroup})
	if elb.IsTargetGroupNotFound(err) {
		err = nil
	}
	warn("target group", err)
	for _, sg := range r.ManagedSGs {
		s.deleteGroup(ctx, account, region, sg)
	}
	rules, err := s.rules(ctx, r.Listener)
	if e := awsapi.AsError(err); e != nil && e.Code == elbv2.CodeListenerNotFoundException {
		return
	}
	if err != nil {
		warn("load balancer", err)
		return
	}
	if len(rules) > 0 {
		return
	}
	_, err = lb.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: &r.LoadBalancer})
	warn("load balancer", err)
	if err == nil && r.LBSecurityGrp != "" {
		s.deleteGroup(ctx, account, region, r.LBSecurityGrp)
	}
}
