package albingress

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"

	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/elb"
)

// LoadBalancing is the part of Berth's ELB the controller drives: the
// ELBv2 API (account and region from the context's identity) and the Go
// API's target calls. *elb.Service implements it.
type LoadBalancing interface {
	CreateLoadBalancer(context.Context, *elbv2.CreateLoadBalancerInput) (*elbv2.CreateLoadBalancerOutput, error)
	DescribeLoadBalancers(context.Context, *elbv2.DescribeLoadBalancersInput) (*elbv2.DescribeLoadBalancersOutput, error)
	DeleteLoadBalancer(context.Context, *elbv2.DeleteLoadBalancerInput) (*elbv2.DeleteLoadBalancerOutput, error)
	DescribeTags(context.Context, *elbv2.DescribeTagsInput) (*elbv2.DescribeTagsOutput, error)
	CreateTargetGroup(context.Context, *elbv2.CreateTargetGroupInput) (*elbv2.CreateTargetGroupOutput, error)
	DescribeTargetGroups(context.Context, *elbv2.DescribeTargetGroupsInput) (*elbv2.DescribeTargetGroupsOutput, error)
	ModifyTargetGroup(context.Context, *elbv2.ModifyTargetGroupInput) (*elbv2.ModifyTargetGroupOutput, error)
	DeleteTargetGroup(context.Context, *elbv2.DeleteTargetGroupInput) (*elbv2.DeleteTargetGroupOutput, error)
	DescribeTargetGroupAttributes(context.Context, *elbv2.DescribeTargetGroupAttributesInput) (*elbv2.DescribeTargetGroupAttributesOutput, error)
	ModifyTargetGroupAttributes(context.Context, *elbv2.ModifyTargetGroupAttributesInput) (*elbv2.ModifyTargetGroupAttributesOutput, error)
	CreateListener(context.Context, *elbv2.CreateListenerInput) (*elbv2.CreateListenerOutput, error)
	DescribeListeners(context.Context, *elbv2.DescribeListenersInput) (*elbv2.DescribeListenersOutput, error)
	ModifyListener(context.Context, *elbv2.ModifyListenerInput) (*elbv2.ModifyListenerOutput, error)
	DeleteListener(context.Context, *elbv2.DeleteListenerInput) (*elbv2.DeleteListenerOutput, error)
	CreateRule(context.Context, *elbv2.CreateRuleInput) (*elbv2.CreateRuleOutput, error)
	DescribeRules(context.Context, *elbv2.DescribeRulesInput) (*elbv2.DescribeRulesOutput, error)
	ModifyRule(context.Context, *elbv2.ModifyRuleInput) (*elbv2.ModifyRuleOutput, error)
	DeleteRule(context.Context, *elbv2.DeleteRuleInput) (*elbv2.DeleteRuleOutput, error)
	RegisterTargetsFor(ctx context.Context, account, region, arn string, targets []elb.Target) error
	DeregisterTargetsFor(ctx context.Context, account, region, arn string, targets []elb.Target) error
	TargetHealth(ctx context.Context, account, region, arn string) ([]elb.TargetHealth, error)
}

var _ LoadBalancing = (*elb.Service)(nil)

// inventory is what ELB holds for one cluster: its load balancers and
// target groups (by the cluster tag), grouped by stack.
type inventory struct {
	lbs map[string]elbv2.LoadBalancer // stack → load balancer
	tgs map[string][]taggedGroup      // stack → target groups
}

type taggedGroup struct {
	elbv2.TargetGroup
	tags map[string]string
}

// deployer applies stacks of one cluster to ELB.
type deployer struct {
	elb     LoadBalancing
	account string
	region  string
	cluster string
	ctx     func(context.Context) context.Context
}

func newDeployer(lb LoadBalancing, account, region, cluster string) *deployer {
	id := awsapi.Identity{AccountID: account, Region: region}
	return &deployer{elb: lb, account: account, region: region, cluster: cluster,
		ctx: func(ctx context.Context) context.Context { return awsapi.WithIdentity(ctx, id) }}
}

func (d *deployer) tags(ctx context.Context, arns []string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for len(arns) > 0 {
		n := min(len(arns), 20)
		res, err := d.elb.DescribeTags(d.ctx(ctx), &elbv2.DescribeTagsInput{ResourceArns: arns[:n]})
		if err != nil {
			return nil, err
		}
		for _, td := range res.TagDescriptions {
			m := map[string]string{}
			for _, t := range td.Tags {
				m[str(t.Key)] = str(t.Value)
			}
			out[str(td.ResourceArn)] = m
		}
		arns = arns[n:]
	}
	return out, nil
}

// inventory reads the cluster's resources from ELB.
func (d *deployer) inventory(ctx context.Context) (inventory, error) {
	inv := inventory{lbs: map[string]elbv2.LoadBalancer{}, tgs: map[string][]taggedGroup{}}
	var lbs []elbv2.LoadBalancer
	for marker := (*string)(nil); ; {
		out, err := d.elb.DescribeLoadBalancers(d.ctx(ctx), &elbv2.DescribeLoadBalancersInput{Marker: marker})
		if err != nil {
			return inv, err
		}
		lbs = append(lbs, out.LoadBalancers...)
		if marker = out.NextMarker; marker == nil {
			break
		}
	}
	var tgs []elbv2.TargetGroup
	for marker := (*string)(nil); ; {
		out, err := d.elb.DescribeTargetGroups(d.ctx(ctx), &elbv2.DescribeTargetGroupsInput{Marker: marker})
		if err != nil {
			return inv, err
		}
		tgs = append(tgs, out.TargetGroups...)
		if marker = out.NextMarker; marker == nil {
			break
		}
	}
	var arns []string
	for _, lb := range lbs {
		arns = append(arns, str(lb.LoadBalancerArn))
	}
	for _, tg := range tgs {
		arns = append(arns, str(tg.TargetGroupArn))
	}
	tags, err := d.tags(ctx, arns)
	if err != nil {
		return inv, err
	}
	for _, lb := range lbs {
		t := tags[str(lb.LoadBalancerArn)]
		if t[TagCluster] == d.cluster && t[TagStack] != "" {
			inv.lbs[t[TagStack]] = lb
		}
	}
	for _, tg := range tgs {
		t := tags[str(tg.TargetGroupArn)]
		if t[TagCluster] == d.cluster && t[TagStack] != "" {
			inv.tgs[t[TagStack]] = append(inv.tgs[t[TagStack]], taggedGroup{tg, t})
		}
	}
	return inv, nil
}

// remove deletes a stack's load balancer (with its listeners and rules)
// and target groups.
func (d *deployer) remove(ctx context.Context, inv inventory, stack string) error {
	if lb, ok := inv.lbs[stack]; ok {
		if _, err := d.elb.DeleteLoadBalancer(d.ctx(ctx), &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn}); err != nil {
			return fmt.Errorf("deleting load balancer %s: %w", str(lb.LoadBalancerName), err)
		}
	}
	var errs []error
	for _, tg := range inv.tgs[stack] {
		if err := d.deleteGroup(ctx, str(tg.TargetGroupArn)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (d *deployer) deleteGroup(ctx context.Context, arn string) error {
	_, err := d.elb.DeleteTargetGroup(d.ctx(ctx), &elbv2.DeleteTargetGroupInput{TargetGroupArn: &arn})
	if err != nil && !elb.IsTargetGroupNotFound(err) {
		return fmt.Errorf("deleting target group %s: %w", arn, err)
	}
	return nil
}

// deploy makes ELB hold st, reusing what inv has of it, and returns the
// load balancer's DNS name. targets are the targets each backend's group
// should have.
func (d *deployer) deploy(ctx context.Context, inv inventory, st Stack, defaultSubnets []string, targets map[Backend][]elb.Target) (string, error) {
	lb, err := d.loadBalancer(ctx, inv, st, defaultSubnets)
	if err != nil {
		return "", err
	}
	arns := map[Backend]string{}
	for _, tg := range st.TargetGroups {
		arn, err := d.targetGroup(ctx, tg)
		if err != nil {
			return "", err
		}
		arns[tg.Backend] = arn
		if err := d.attributes(ctx, arn, tg.Attributes); err != nil {
			return "", err
		}
		if err := d.targets(ctx, arn, targets[tg.Backend]); err != nil {
			return "", fmt.Errorf("targets of %s: %w", tg.Name, err)
		}
	}
	if err := d.listeners(ctx, str(lb.LoadBalancerArn), st, arns); err != nil {
		return "", err
	}
	// Groups the Ingress no longer uses go once no listener forwards to
	// them.
	for _, tg := range inv.tgs[st.ID] {
		if !slices.Contains(mapValues(arns), str(tg.TargetGroupArn)) {
			if err := d.deleteGroup(ctx, str(tg.TargetGroupArn)); err != nil {
				return "", err
			}
		}
	}
	return str(lb.DNSName), nil
}

func mapValues(m map[Backend]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func (d *deployer) loadBalancer(ctx context.Context, inv inventory, st Stack, defaultSubnets []string) (elbv2.LoadBalancer, error) {
	want := st.LoadBalancer
	if lb, ok := inv.lbs[st.ID]; ok {
		if str(lb.LoadBalancerName) == want.Name && string(deref(lb.Scheme)) == want.Scheme {
			return lb, nil
		}
		// A new name or scheme is a new load balancer, as on AWS.
		if _, err := d.elb.DeleteLoadBalancer(d.ctx(ctx), &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn}); err != nil {
			return elbv2.LoadBalancer{}, fmt.Errorf("replacing load balancer %s: %w", str(lb.LoadBalancerName), err)
		}
	}
	subnets := want.Subnets
	if len(subnets) == 0 {
		subnets = defaultSubnets
	}
	scheme := elbv2.LoadBalancerSchemeEnum(want.Scheme)
	typ := elbv2.LoadBalancerTypeEnumApplication
	out, err := d.elb.CreateLoadBalancer(d.ctx(ctx), &elbv2.CreateLoadBalancerInput{Name: &want.Name, Scheme: &scheme, Type: &typ,
		Subnets: subnets, SecurityGroups: want.SecurityGroups, Tags: tagList(want.Tags)})
	if err != nil {
		return elbv2.LoadBalancer{}, fmt.Errorf("creating load balancer %s: %w", want.Name, err)
	}
	return out.LoadBalancers[0], nil
}

func (d *deployer) targetGroup(ctx context.Context, tg TargetGroup) (string, error) {
	hc := tg.HealthCheck
	var existing *elbv2.TargetGroup
	out, err := d.elb.DescribeTargetGroups(d.ctx(ctx), &elbv2.DescribeTargetGroupsInput{Names: []string{tg.Name}})
	if err == nil && len(out.TargetGroups) == 1 {
		existing = &out.TargetGroups[0]
	} else if e := awsapi.AsError(err); err != nil && (e == nil || e.Code != elbv2.CodeTargetGroupNotFoundException) {
		return "", err
	}
	if existing == nil {
		proto := elbv2.ProtocolEnumHttp
		tt := elbv2.TargetTypeEnum(tg.TargetType)
		// Target groups need a VPC; Berth does not check it, and pods'
		// addresses are not in an EC2 VPC anyway.
		created, err := d.elb.CreateTargetGroup(d.ctx(ctx), &elbv2.CreateTargetGroupInput{Name: &tg.Name, Protocol: &proto, Port: &tg.Port,
			VpcId: new("vpc-" + d.cluster), TargetType: &tt, HealthCheckProtocol: &proto, HealthCheckPath: &hc.Path, HealthCheckPort: &hc.Port,
			HealthCheckIntervalSeconds: &hc.Interval, HealthCheckTimeoutSeconds: &hc.Timeout, HealthyThresholdCount: &hc.Healthy,
			UnhealthyThresholdCount: &hc.Unhealthy, Matcher: &elbv2.Matcher{HttpCode: &hc.Matcher}, Tags: tagList(tg.Tags)})
		if err != nil {
			return "", fmt.Errorf("creating target group %s (%s): %w", tg.Name, tg.Backend, err)
		}
		return str(created.TargetGroups[0].TargetGroupArn), nil
	}
	arn := str(existing.TargetGroupArn)
	if str(existing.HealthCheckPath) != hc.Path || str(existing.HealthCheckPort) != hc.Port ||
		deref(existing.HealthCheckIntervalSeconds) != hc.Interval || deref(existing.HealthCheckTimeoutSeconds) != hc.Timeout ||
		deref(existing.HealthyThresholdCount) != hc.Healthy || deref(existing.UnhealthyThresholdCount) != hc.Unhealthy ||
		existing.Matcher == nil || str(existing.Matcher.HttpCode) != hc.Matcher {
		_, err := d.elb.ModifyTargetGroup(d.ctx(ctx), &elbv2.ModifyTargetGroupInput{TargetGroupArn: &arn, HealthCheckPath: &hc.Path, HealthCheckPort: &hc.Port,
			HealthCheckIntervalSeconds: &hc.Interval, HealthCheckTimeoutSeconds: &hc.Timeout, HealthyThresholdCount: &hc.Healthy,
			UnhealthyThresholdCount: &hc.Unhealthy, Matcher: &elbv2.Matcher{HttpCode: &hc.Matcher}})
		if err != nil {
			return "", fmt.Errorf("modifying target group %s (%s): %w", tg.Name, tg.Backend, err)
		}
	}
	return arn, nil
}

// attributes sets the target group attributes the Ingress names
// (target-group-attributes); others keep their values.
func (d *deployer) attributes(ctx context.Context, arn string, want map[string]string) error {
	if len(want) == 0 {
		return nil
	}
	out, err := d.elb.DescribeTargetGroupAttributes(d.ctx(ctx), &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: &arn})
	if err != nil {
		return err
	}
	have := map[string]string{}
	for _, a := range out.Attributes {
		have[str(a.Key)] = str(a.Value)
	}
	var change []elbv2.TargetGroupAttribute
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if have[k] != want[k] {
			change = append(change, elbv2.TargetGroupAttribute{Key: new(k), Value: new(want[k])})
		}
	}
	if len(change) == 0 {
		return nil
	}
	_, err = d.elb.ModifyTargetGroupAttributes(d.ctx(ctx), &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: &arn, Attributes: change})
	return err
}

// targets registers the wanted targets and deregisters the others, which
// drain as ELB's deregistration delay says.
func (d *deployer) targets(ctx context.Context, arn string, want []elb.Target) error {
	health, err := d.elb.TargetHealth(ctx, d.account, d.region, arn)
	if err != nil {
		return err
	}
	key := func(t elb.Target) string { return t.ID + ":" + strconv.Itoa(int(t.Port)) }
	wanted := map[string]bool{}
	for _, t := range want {
		wanted[key(t)] = true
	}
	active := map[string]bool{}
	var stale []elb.Target
	for _, h := range health {
		if h.State == elb.StateDraining {
			continue
		}
		active[key(h.Target)] = true
		if !wanted[key(h.Target)] {
			stale = append(stale, elb.Target{ID: h.Target.ID, Port: h.Target.Port})
		}
	}
	var add []elb.Target
	for _, t := range want {
		if !active[key(t)] {
			add = append(add, t)
		}
	}
	if len(add) > 0 {
		if err := d.elb.RegisterTargetsFor(ctx, d.account, d.region, arn, add); err != nil {
			return err
		}
	}
	if len(stale) > 0 {
		return d.elb.DeregisterTargetsFor(ctx, d.account, d.region, arn, stale)
	}
	return nil
}

// listeners makes the load balancer's listeners those of st, each with
// st's default action and rules.
func (d *deployer) listeners(ctx context.Context, lbARN string, st Stack, arns map[Backend]string) error {
	out, err := d.elb.DescribeListeners(d.ctx(ctx), &elbv2.DescribeListenersInput{LoadBalancerArn: &lbARN})
	if err != nil {
		return err
	}
	byPort := map[int32]elbv2.Listener{}
	for _, l := range out.Listeners {
		byPort[deref(l.Port)] = l
	}
	for _, want := range st.Listeners {
		def := action(want.Default, arns)
		l, ok := byPort[want.Port]
		delete(byPort, want.Port)
		if !ok {
			proto := elbv2.ProtocolEnumHttp
			created, err := d.elb.CreateListener(d.ctx(ctx), &elbv2.CreateListenerInput{LoadBalancerArn: &lbARN, Port: &want.Port, Protocol: &proto,
				DefaultActions: []elbv2.Action{def}})
			if err != nil {
				return fmt.Errorf("creating the listener on port %d: %w", want.Port, err)
			}
			l = created.Listeners[0]
		} else if len(l.DefaultActions) != 1 || actionKey(l.DefaultActions[0]) != actionKey(def) {
			if _, err := d.elb.ModifyListener(d.ctx(ctx), &elbv2.ModifyListenerInput{ListenerArn: l.ListenerArn, DefaultActions: []elbv2.Action{def}}); err != nil {
				return fmt.Errorf("modifying the listener on port %d: %w", want.Port, err)
			}
		}
		if err := d.rules(ctx, str(l.ListenerArn), want.Rules, arns); err != nil {
			return fmt.Errorf("rules of the listener on port %d: %w", want.Port, err)
		}
	}
	for port, l := range byPort {
		if _, err := d.elb.DeleteListener(d.ctx(ctx), &elbv2.DeleteListenerInput{ListenerArn: l.ListenerArn}); err != nil {
			return fmt.Errorf("deleting the listener on port %d: %w", port, err)
		}
	}
	return nil
}

func (d *deployer) rules(ctx context.Context, listenerARN string, want []Rule, arns map[Backend]string) error {
	have := map[int32]elbv2.Rule{}
	for marker := (*string)(nil); ; {
		out, err := d.elb.DescribeRules(d.ctx(ctx), &elbv2.DescribeRulesInput{ListenerArn: &listenerARN, Marker: marker})
		if err != nil {
			return err
		}
		for _, r := range out.Rules {
			if p, err := strconv.Atoi(str(r.Priority)); err == nil && !deref(r.IsDefault) {
				have[int32(p)] = r
			}
		}
		if marker = out.NextMarker; marker == nil {
			break
		}
	}
	for _, r := range want {
		conds, act := conditions(r), action(r.Action, arns)
		cur, ok := have[r.Priority]
		delete(have, r.Priority)
		switch {
		case !ok:
			if _, err := d.elb.CreateRule(d.ctx(ctx), &elbv2.CreateRuleInput{ListenerArn: &listenerARN, Priority: new(r.Priority),
				Conditions: conds, Actions: []elbv2.Action{act}}); err != nil {
				return err
			}
		case conditionsKey(cur.Conditions) != conditionsKey(conds) || len(cur.Actions) != 1 || actionKey(cur.Actions[0]) != actionKey(act):
			if _, err := d.elb.ModifyRule(d.ctx(ctx), &elbv2.ModifyRuleInput{RuleArn: cur.RuleArn, Conditions: conds,
				Actions: []elbv2.Action{act}}); err != nil {
				return err
			}
		}
	}
	for _, r := range have {
		if _, err := d.elb.DeleteRule(d.ctx(ctx), &elbv2.DeleteRuleInput{RuleArn: r.RuleArn}); err != nil {
			return err
		}
	}
	return nil
}

func action(a Action, arns map[Backend]string) elbv2.Action {
	if a.Forward == nil {
		t := elbv2.ActionTypeEnumFixedResponse
		return elbv2.Action{Type: &t, FixedResponseConfig: &elbv2.FixedResponseActionConfig{StatusCode: new("404"), ContentType: new("text/plain")}}
	}
	t := elbv2.ActionTypeEnumForward
	return elbv2.Action{Type: &t, TargetGroupArn: new(arns[*a.Forward])}
}

// actionKey compares actions as ELB describes them: a forward to one
// group may come back as a ForwardConfig.
func actionKey(a elbv2.Action) string {
	switch deref(a.Type) {
	case elbv2.ActionTypeEnumForward:
		arn := str(a.TargetGroupArn)
		if arn == "" && a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) == 1 {
			arn = str(a.ForwardConfig.TargetGroups[0].TargetGroupArn)
		}
		return "forward " + arn
	case elbv2.ActionTypeEnumFixedResponse:
		if c := a.FixedResponseConfig; c != nil {
			return "fixed " + str(c.StatusCode) + " " + str(c.ContentType) + " " + str(c.MessageBody)
		}
	}
	return fmt.Sprintf("%s", deref(a.Type))
}

func conditions(r Rule) []elbv2.RuleCondition {
	var out []elbv2.RuleCondition
	// The legacy Values member takes one value only; several hosts or
	// paths go in the condition's config, as the AWS controller sends them.
	if len(r.Hosts) > 0 {
		out = append(out, elbv2.RuleCondition{Field: new("host-header"), HostHeaderConfig: &elbv2.HostHeaderConditionConfig{Values: r.Hosts}})
	}
	if len(r.Paths) > 0 {
		out = append(out, elbv2.RuleCondition{Field: new("path-pattern"), PathPatternConfig: &elbv2.PathPatternConditionConfig{Values: r.Paths}})
	}
	if len(out) == 0 {
		// A rule must have a condition; this one matches every request.
		out = append(out, elbv2.RuleCondition{Field: new("path-pattern"), Values: []string{"/*"}})
	}
	return out
}

func conditionsKey(cs []elbv2.RuleCondition) string {
	var keys []string
	for _, c := range cs {
		vals := c.Values
		if len(vals) == 0 && c.PathPatternConfig != nil {
			vals = c.PathPatternConfig.Values
		}
		if len(vals) == 0 && c.HostHeaderConfig != nil {
			vals = c.HostHeaderConfig.Values
		}
		keys = append(keys, fmt.Sprintf("%s=%q", str(c.Field), vals))
	}
	sort.Strings(keys)
	return fmt.Sprint(keys)
}

func tagList(m map[string]string) []elbv2.Tag {
	var out []elbv2.Tag
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, elbv2.Tag{Key: new(k), Value: new(m[k])})
	}
	return out
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
