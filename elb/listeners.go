package elb

import (
	"context"
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// weightedGroup is a target group an action forwards to.
type weightedGroup struct {
	ARN    string
	Weight int32
}

// terminal is the action of a list that answers the request: the one
// with the highest order (forward, redirect or fixed-response).
func terminal(actions []elbv2.Action) (elbv2.Action, bool) {
	if len(actions) == 0 {
		return elbv2.Action{}, false
	}
	a := actions[len(actions)-1]
	return a, a.Type != nil
}

// forwardGroups lists the target groups the forward action of actions
// uses, with their weights.
func forwardGroups(actions []elbv2.Action) []weightedGroup {
	a, ok := terminal(actions)
	if !ok || *a.Type != elbv2.ActionTypeEnumForward {
		return nil
	}
	if a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0 {
		var out []weightedGroup
		for _, t := range a.ForwardConfig.TargetGroups {
			w := int32(1)
			if t.Weight != nil {
				w = *t.Weight
			}
			out = append(out, weightedGroup{ARN: deref(t.TargetGroupArn), Weight: w})
		}
		return out
	}
	if a.TargetGroupArn != nil {
		return []weightedGroup{{ARN: *a.TargetGroupArn, Weight: 1}}
	}
	return nil
}

var (
	fixedStatusRE = regexp.MustCompile(`^(2|4|5)\d\d$`)
	fixedTypes    = map[string]bool{"text/plain": true, "text/css": true, "text/html": true,
		"application/javascript": true, "application/json": true}
)

// normalizeActions checks actions and returns them as ELB stores them
// (orders set, forward actions with both TargetGroupArn and ForwardConfig).
func (s *Service) normalizeActions(tx store.Tx, acct, region string, actions []elbv2.Action) ([]elbv2.Action, error) {
	if len(actions) == 0 {
		return nil, validation("At least one action must be specified")
	}
	out := make([]elbv2.Action, len(actions))
	copy(out, actions)
	sort.SliceStable(out, func(i, j int) bool {
		oi, oj := int32(len(actions)), int32(len(actions))
		if out[i].Order != nil {
			oi = *out[i].Order
		}
		if out[j].Order != nil {
			oj = *out[j].Order
		}
		return oi < oj
	})
	for i := range out {
		a := &out[i]
		if a.Type == nil {
			return nil, validation("An action type must be specified")
		}
		if a.Order == nil {
			a.Order = i32(int32(i + 1))
		}
		last := i == len(out)-1
		switch *a.Type {
		case elbv2.ActionTypeEnumForward:
			groups := forwardGroups([]elbv2.Action{*a})
			if len(groups) == 0 {
				return nil, validation("A target group ARN must be specified for a forward action")
			}
			if len(groups) > 5 {
				return nil, validation("A forward action can have at most 5 target groups")
			}
			if a.TargetGroupArn != nil && a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0 &&
				(len(groups) != 1 || groups[0].ARN != *a.TargetGroupArn) {
				return nil, validation("You cannot specify both a target group ARN and a forward config with different target groups")
			}
			tuples := make([]elbv2.TargetGroupTuple, 0, len(groups))
			seen := map[string]bool{}
			for _, g := range groups {
				if g.Weight < 0 || g.Weight > 999 {
					return nil, validation("Target group weight must be between 0 and 999")
				}
				if seen[g.ARN] {
					return nil, validation("Target group '%s' is specified more than once", g.ARN)
				}
				seen[g.ARN] = true
				if _, err := s.tgByARN(tx, acct, region, g.ARN); err != nil {
					return nil, err
				}
				tuples = append(tuples, elbv2.TargetGroupTuple{TargetGroupArn: str(g.ARN), Weight: i32(g.Weight)})
			}
			stickiness := &elbv2.TargetGroupStickinessConfig{Enabled: new(false)}
			if a.ForwardConfig != nil && a.ForwardConfig.TargetGroupStickinessConfig != nil {
				stickiness = a.ForwardConfig.TargetGroupStickinessConfig // kept, not honoured
			}
			a.ForwardConfig = &elbv2.ForwardActionConfig{TargetGroups: tuples, TargetGroupStickinessConfig: stickiness}
			if len(groups) == 1 {
				a.TargetGroupArn = str(groups[0].ARN)
			} else {
				a.TargetGroupArn = nil
			}
		case elbv2.ActionTypeEnumFixedResponse:
			c := a.FixedResponseConfig
			if c == nil || c.StatusCode == nil {
				return nil, validation("A fixed-response action must have a status code")
			}
			if !fixedStatusRE.MatchString(*c.StatusCode) {
				return nil, validation("The fixed-response status code '%s' must be 2XX, 4XX or 5XX", *c.StatusCode)
			}
			if c.ContentType != nil && !fixedTypes[*c.ContentType] {
				return nil, validation("The fixed-response content type '%s' is not valid", *c.ContentType)
			}
			if len(deref(c.MessageBody)) > 1024 {
				return nil, validation("The fixed-response message body must be at most 1024 characters")
			}
		case elbv2.ActionTypeEnumRedirect:
			c := a.RedirectConfig
			if c == nil || c.StatusCode == nil {
				return nil, validation("A redirect action must have a status code")
			}
			if p := deref(c.Protocol); p != "" && p != "HTTP" && p != "HTTPS" && p != "#{protocol}" {
				return nil, validation("The redirect protocol '%s' must be HTTP, HTTPS or #{protocol}", p)
			}
			// RedirectActionConfig.Path is an absolute path (AWS's API
			// reference); without the "/" the Location would be relative.
			if p := deref(c.Path); p != "" && !strings.HasPrefix(p, "/") {
				return nil, validation("The redirect path '%s' must start with '/'", p)
			}
		default:
			return nil, elbv2.NewInvalidLoadBalancerActionException("Action type '%s' is not supported by Berth", *a.Type)
		}
		isTerminal := *a.Type != elbv2.ActionTypeEnumAuthenticateOidc && *a.Type != elbv2.ActionTypeEnumAuthenticateCognito
		if isTerminal != last {
			return nil, elbv2.NewInvalidLoadBalancerActionException("A rule must end with exactly one forward, redirect or fixed-response action")
		}
	}
	return out, nil
}

func listenerOut(acct, region string, lb lbRecord, l listenerRecord) elbv2.Listener {
	proto := elbv2.ProtocolEnum(l.Protocol)
	out := elbv2.Listener{
		ListenerArn:     str(listenerARN(acct, region, lb.Name, l)),
		LoadBalancerArn: str(lbARN(acct, region, lb)),
		Port:            i32(l.Port),
		Protocol:        &proto,
		DefaultActions:  l.DefaultActions,
	}
	if l.DefaultCertificate != "" {
		out.Certificates = []elbv2.Certificate{{CertificateArn: str(l.DefaultCertificate)}}
		out.SslPolicy = str(l.SslPolicy)
	}
	return out
}

// checkPort makes sure no other listener of acct/region uses port, and
// that the port can be bound on this host.
func (s *Service) checkPort(tx store.Tx, acct, region string, lb lbRecord, port int32, self string) error {
	listeners, err := list[listenerRecord](tx, kindListener, acct, region, "")
	if err != nil {
		return err
	}
	for _, o := range listeners {
		if o.Port != port || o.ID == self {
			continue
		}
		if o.LBID == lb.ID {
			return elbv2.NewDuplicateListenerException("A listener already exists on this port for this load balancer")
		}
		return elbv2.NewInvalidConfigurationRequestException("Port %d is used by a listener of another load balancer; Berth's listeners share this host's ports", port)
	}
	if self == "" && !s.proxy.Free(int(port)) {
		return elbv2.NewInvalidConfigurationRequestException("Port %d cannot be bound on this host: it is in use", port)
	}
	return nil
}

// CreateListener creates an HTTP listener, which answers on its port at
// once.
func (s *Service) CreateListener(ctx context.Context, in *elbv2.CreateListenerInput) (*elbv2.CreateListenerOutput, error) {
	acct, region := where(ctx)
	proto := elbv2.ProtocolEnumHttp
	if in.Protocol != nil {
		proto = *in.Protocol
	}
	var cert, policy string
	switch proto {
	case elbv2.ProtocolEnumHttp:
		if len(in.Certificates) > 0 || in.SslPolicy != nil {
			return nil, validation("Certificates and SslPolicy can only be specified for HTTPS listeners")
		}
	case elbv2.ProtocolEnumHttps:
		var err error
		if cert, policy, err = s.httpsSettings(ctx, acct, in.Certificates, in.SslPolicy, listenerRecord{}); err != nil {
			return nil, err
		}
	default:
		return nil, elbv2.NewUnsupportedProtocolException("Protocol '%s' is not supported by Berth's Application Load Balancers; use HTTP or HTTPS", proto)
	}
	if in.Port == nil || *in.Port < 1 || *in.Port > 65535 {
		return nil, validation("A listener port between 1 and 65535 must be specified")
	}
	tags, err := addTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	var out elbv2.Listener
	err = s.st.Update(ctx, func(tx store.Tx) error {
		lb, err := s.lbByARN(tx, acct, region, deref(in.LoadBalancerArn))
		if err != nil {
			return err
		}
		actions, err := s.normalizeActions(tx, acct, region, in.DefaultActions)
		if err != nil {
			return err
		}
		// Creating the same listener again succeeds, as in ELB.
		existing, err := list[listenerRecord](tx, kindListener, acct, region, lb.ID+"/")
		if err != nil {
			return err
		}
		for _, o := range existing {
			if o.Port == *in.Port && o.Protocol == string(proto) && sameJSON(o.DefaultActions, actions) {
				out = listenerOut(acct, region, lb, o)
				return nil
			}
		}
		if err := s.checkPort(tx, acct, region, lb, *in.Port, ""); err != nil {
			return err
		}
		l := listenerRecord{ID: newID(), LBID: lb.ID, Port: *in.Port, Protocol: string(proto),
			DefaultActions: actions, DefaultRuleID: newID(), Tags: tags, DefaultCertificate: cert, SslPolicy: policy}
		out = listenerOut(acct, region, lb, l)
		return store.PutDoc(tx, kindListener, acct, region, lb.ID+"/"+l.ID, l, s.clock())
	})
	if err != nil {
		return nil, internal(err)
	}
	s.kick(ctx)
	return &elbv2.CreateListenerOutput{Listeners: []elbv2.Listener{out}}, nil
}

// DescribeListeners describes listeners by ARN or load balancer.
func (s *Service) DescribeListeners(ctx context.Context, in *elbv2.DescribeListenersInput) (*elbv2.DescribeListenersOutput, error) {
	acct, region := where(ctx)
	if in.LoadBalancerArn == nil && len(in.ListenerArns) == 0 {
		return nil, validation("You must specify either listener ARNs or a load balancer ARN")
	}
	var out []elbv2.Listener
	err := s.st.View(ctx, func(tx store.Tx) error {
		if len(in.ListenerArns) > 0 {
			for _, arn := range in.ListenerArns {
				l, lb, err := s.listenerByARN(tx, acct, region, arn)
				if err != nil {
					return err
				}
				out = append(out, listenerOut(acct, region, lb, l))
			}
			return nil
		}
		lb, err := s.lbByARN(tx, acct, region, *in.LoadBalancerArn)
		if err != nil {
			return err
		}
		ls, err := list[listenerRecord](tx, kindListener, acct, region, lb.ID+"/")
		if err != nil {
			return err
		}
		for _, l := range ls {
			out = append(out, listenerOut(acct, region, lb, l))
		}
		return nil
	})
	if err != nil {
		return nil, internal(err)
	}
	from, to, next, err := page(in.Marker, in.PageSize, len(out))
	if err != nil {
		return nil, err
	}
	return &elbv2.DescribeListenersOutput{Listeners: append([]elbv2.Listener{}, out[from:to]...), NextMarker: next}, nil
}

// ModifyListener changes a listener's port or default actions.
func (s *Service) ModifyListener(ctx context.Context, in *elbv2.ModifyListenerInput) (*elbv2.ModifyListenerOutput, error) {
	acct, region := where(ctx)
	if in.Protocol != nil && *in.Protocol != elbv2.ProtocolEnumHttp && *in.Protocol != elbv2.ProtocolEnumHttps {
		return nil, elbv2.NewUnsupportedProtocolException("Protocol '%s' is not supported by Berth's Application Load Balancers; use HTTP or HTTPS", *in.Protocol)
	}
	// The certificate is loaded before the transaction: its source is
	// another service's store.
	var current listenerRecord
	if err := s.st.View(ctx, func(tx store.Tx) (err error) {
		current, _, err = s.listenerByARN(tx, acct, region, deref(in.ListenerArn))
		return err
	}); err != nil {
		return nil, internal(err)
	}
	proto := current.Protocol
	if in.Protocol != nil {
		proto = string(*in.Protocol)
	}
	var cert, policy string
	if proto == string(elbv2.ProtocolEnumHttps) {
		var err error
		if cert, policy, err = s.httpsSettings(ctx, acct, in.Certificates, in.SslPolicy, current); err != nil {
			return nil, err
		}
	} else if len(in.Certificates) > 0 || in.SslPolicy != nil {
		return nil, validation("Certificates and SslPolicy can only be specified for HTTPS listeners")
	}
	var out elbv2.Listener
	err := s.st.Update(ctx, func(tx store.Tx) error {
		l, lb, err := s.listenerByARN(tx, acct, region, deref(in.ListenerArn))
		if err != nil {
			return err
		}
		l.Protocol, l.DefaultCertificate, l.SslPolicy = proto, cert, policy
		if in.Port != nil && *in.Port != l.Port {
			if *in.Port < 1 || *in.Port > 65535 {
				return validation("The listener port must be between 1 and 65535")
			}
			if err := s.checkPort(tx, acct, region, lb, *in.Port, l.ID); err != nil {
				return err
			}
			if !s.proxy.Free(int(*in.Port)) {
				return elbv2.NewInvalidConfigurationRequestException("Port %d cannot be bound on this host: it is in use", *in.Port)
			}
			l.Port = *in.Port
		}
		if len(in.DefaultActions) > 0 {
			if l.DefaultActions, err = s.normalizeActions(tx, acct, region, in.DefaultActions); err != nil {
				return err
			}
		}
		out = listenerOut(acct, region, lb, l)
		return store.PutDoc(tx, kindListener, acct, region, lb.ID+"/"+l.ID, l, s.clock())
	})
	if err != nil {
		return nil, internal(err)
	}
	s.kick(ctx)
	return &elbv2.ModifyListenerOutput{Listeners: []elbv2.Listener{out}}, nil
}

// DeleteListener deletes a listener and its rules; its port closes.
func (s *Service) DeleteListener(ctx context.Context, in *elbv2.DeleteListenerInput) (*elbv2.DeleteListenerOutput, error) {
	acct, region := where(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		l, _, err := s.listenerByARN(tx, acct, region, deref(in.ListenerArn))
		if err != nil {
			return err
		}
		return deleteListener(tx, acct, region, l)
	})
	if err != nil {
		return nil, internal(err)
	}
	s.kick(ctx)
	return &elbv2.DeleteListenerOutput{}, nil
}

// ruleRef is a rule found by ARN: a stored rule, or a listener's default
// rule (isDefault).
type ruleRef struct {
	rule      ruleRecord
	listener  listenerRecord
	lb        lbRecord
	isDefault bool
}

func (s *Service) ruleByARN(tx store.Tx, acct, region, arn string) (ruleRef, error) {
	p, ok := parseARN(arn)
	if !ok || p.Kind != "listener-rule" {
		return ruleRef{}, validation("'%s' is not a valid rule ARN", arn)
	}
	notFound := elbv2.NewRuleNotFoundException("One or more rules not found")
	lARN := arnPrefix(p.Account, p.Region) + "listener/app/" + p.Name + "/" + p.LBID + "/" + p.ListenerID
	l, lb, err := s.listenerByARN(tx, acct, region, lARN)
	if e := awsapi.AsError(err); e != nil && e.Code == elbv2.CodeListenerNotFoundException {
		return ruleRef{}, notFound
	}
	if err != nil {
		return ruleRef{}, err
	}
	if p.RuleID == l.DefaultRuleID {
		return ruleRef{listener: l, lb: lb, isDefault: true}, nil
	}
	var r ruleRecord
	found, err := store.LoadDoc(tx, kindRule, acct, region, l.ID+"/"+p.RuleID, &r)
	if err != nil {
		return ruleRef{}, err
	}
	if !found {
		return ruleRef{}, notFound
	}
	return ruleRef{rule: r, listener: l, lb: lb}, nil
}

func (ref ruleRef) out(acct, region string) elbv2.Rule {
	if ref.isDefault {
		return elbv2.Rule{
			RuleArn:    str(ruleARN(acct, region, ref.lb.Name, ref.lb.ID, ref.listener.ID, ref.listener.DefaultRuleID)),
			Priority:   str("default"),
			Conditions: []elbv2.RuleCondition{},
			Actions:    ref.listener.DefaultActions,
			IsDefault:  new(true),
		}
	}
	return elbv2.Rule{
		RuleArn:    str(ruleARN(acct, region, ref.lb.Name, ref.lb.ID, ref.listener.ID, ref.rule.ID)),
		Priority:   str(strconv.Itoa(int(ref.rule.Priority))),
		Conditions: ref.rule.Conditions,
		Actions:    ref.rule.Actions,
		IsDefault:  new(false),
	}
}

// CreateRule adds a rule to a listener at a free priority.
func (s *Service) CreateRule(ctx context.Context, in *elbv2.CreateRuleInput) (*elbv2.CreateRuleOutput, error) {
	acct, region := where(ctx)
	if in.Priority == nil || *in.Priority < 1 || *in.Priority > 50000 {
		return nil, validation("A rule priority between 1 and 50000 must be specified")
	}
	conds, err := normalizeConditions(in.Conditions)
	if err != nil {
		return nil, err
	}
	tags, err := addTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	var out elbv2.Rule
	err = s.st.Update(ctx, func(tx store.Tx) error {
		l, lb, err := s.listenerByARN(tx, acct, region, deref(in.ListenerArn))
		if err != nil {
			return err
		}
		rules, err := list[ruleRecord](tx, kindRule, acct, region, l.ID+"/")
		if err != nil {
			return err
		}
		if len(rules) >= maxRulesPerListener {
			return elbv2.NewTooManyRulesException("The quota for the number of rules per listener has been reached")
		}
		for _, r := range rules {
			if r.Priority == *in.Priority {
				return elbv2.NewPriorityInUseException("Priority '%d' is currently in use", *in.Priority)
			}
		}
		actions, err := s.normalizeActions(tx, acct, region, in.Actions)
		if err != nil {
			return err
		}
		r := ruleRecord{ID: newID(), ListenerID: l.ID, Priority: *in.Priority, Conditions: conds, Actions: actions, Tags: tags}
		out = ruleRef{rule: r, listener: l, lb: lb}.out(acct, region)
		return store.PutDoc(tx, kindRule, acct, region, l.ID+"/"+r.ID, r, s.clock())
	})
	if err != nil {
		return nil, internal(err)
	}
	s.kick(ctx)
	return &elbv2.CreateRuleOutput{Rules: []elbv2.Rule{out}}, nil
}

// ModifyRule replaces a rule's conditions or actions; the default rule's
// actions are its listener's default actions.
func (s *Service) ModifyRule(ctx context.Context, in *elbv2.ModifyRuleInput) (*elbv2.ModifyRuleOutput, error) {
	acct, region := where(ctx)
	var out elbv2.Rule
	err := s.st.Update(ctx, func(tx store.Tx) error {
		ref, err := s.ruleByARN(tx, acct, region, deref(in.RuleArn))
		if err != nil {
			return err
		}
		var actions []elbv2.Action
		if len(in.Actions) > 0 {
			if actions, err = s.normalizeActions(tx, acct, region, in.Actions); err != nil {
				return err
			}
		}
		if ref.isDefault {
			if len(in.Conditions) > 0 {
				return elbv2.NewOperationNotPermittedException("Conditions cannot be set on a default rule")
			}
			if actions != nil {
				ref.listener.DefaultActions = actions
			}
			out = ref.out(acct, region)
			return store.PutDoc(tx, kindListener, acct, region, ref.lb.ID+"/"+ref.listener.ID, ref.listener, s.clock())
		}
		if len(in.Conditions) > 0 {
			if ref.rule.Conditions, err = normalizeConditions(in.Conditions); err != nil {
				return err
			}
		}
		if actions != nil {
			ref.rule.Actions = actions
		}
		out = ref.out(acct, region)
		return store.PutDoc(tx, kindRule, acct, region, ref.listener.ID+"/"+ref.rule.ID, ref.rule, s.clock())
	})
	if err != nil {
		return nil, internal(err)
	}
	s.kick(ctx)
	return &elbv2.ModifyRuleOutput{Rules: []elbv2.Rule{out}}, nil
}

// DeleteRule deletes a rule other than the default one.
func (s *Service) DeleteRule(ctx context.Context, in *elbv2.DeleteRuleInput) (*elbv2.DeleteRuleOutput, error) {
	acct, region := where(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		ref, err := s.ruleByARN(tx, acct, region, deref(in.RuleArn))
		if err != nil {
			return err
		}
		if ref.isDefault {
			return elbv2.NewOperationNotPermittedException("Default rule '%s' cannot be deleted", deref(in.RuleArn))
		}
		return tx.DeleteResource(kindRule, acct, region, ref.listener.ID+"/"+ref.rule.ID)
	})
	if err != nil {
		return nil, internal(err)
	}
	s.kick(ctx)
	return &elbv2.DeleteRuleOutput{}, nil
}

// listenerRules is a listener's rules by priority, then its default rule.
func listenerRules(tx store.Tx, acct, region string, l listenerRecord, lb lbRecord) ([]ruleRef, error) {
	rules, err := list[ruleRecord](tx, kindRule, acct, region, l.ID+"/")
	if err != nil {
		return nil, err
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].Priority < rules[j].Priority })
	out := make([]ruleRef, 0, len(rules)+1)
	for _, r := range rules {
		out = append(out, ruleRef{rule: r, listener: l, lb: lb})
	}
	return append(out, ruleRef{listener: l, lb: lb, isDefault: true}), nil
}

// DescribeRules describes rules by ARN or all the rules of a listener.
func (s *Service) DescribeRules(ctx context.Context, in *elbv2.DescribeRulesInput) (*elbv2.DescribeRulesOutput, error) {
	acct, region := where(ctx)
	if in.ListenerArn == nil && len(in.RuleArns) == 0 {
		return nil, validation("You must specify either listener or rule ARNs")
	}
	var out []elbv2.Rule
	err := s.st.View(ctx, func(tx store.Tx) error {
		if len(in.RuleArns) > 0 {
			for _, arn := range in.RuleArns {
				ref, err := s.ruleByARN(tx, acct, region, arn)
				if err != nil {
					return err
				}
				out = append(out, ref.out(acct, region))
			}
			return nil
		}
		l, lb, err := s.listenerByARN(tx, acct, region, *in.ListenerArn)
		if err != nil {
			return err
		}
		refs, err := listenerRules(tx, acct, region, l, lb)
		for _, ref := range refs {
			out = append(out, ref.out(acct, region))
		}
		return err
	})
	if err != nil {
		return nil, internal(err)
	}
	from, to, next, err := page(in.Marker, in.PageSize, len(out))
	if err != nil {
		return nil, err
	}
	return &elbv2.DescribeRulesOutput{Rules: append([]elbv2.Rule{}, out[from:to]...), NextMarker: next}, nil
}

// SetRulePriorities changes the priorities of rules of one listener, all
// at once.
func (s *Service) SetRulePriorities(ctx context.Context, in *elbv2.SetRulePrioritiesInput) (*elbv2.SetRulePrioritiesOutput, error) {
	acct, region := where(ctx)
	var out []elbv2.Rule
	err := s.st.Update(ctx, func(tx store.Tx) error {
		changed := map[string]int32{} // rule id → new priority
		var listener listenerRecord
		var lb lbRecord
		for i, p := range in.RulePriorities {
			ref, err := s.ruleByARN(tx, acct, region, deref(p.RuleArn))
			if err != nil {
				return err
			}
			if ref.isDefault {
				return elbv2.NewOperationNotPermittedException("The priority of the default rule cannot be changed")
			}
			if i > 0 && ref.listener.ID != listener.ID {
				return validation("All rules must belong to the same listener")
			}
			if p.Priority == nil || *p.Priority < 1 || *p.Priority > 50000 {
				return validation("Rule priority must be between 1 and 50000")
			}
			listener, lb = ref.listener, ref.lb
			changed[ref.rule.ID] = *p.Priority
		}
		rules, err := list[ruleRecord](tx, kindRule, acct, region, listener.ID+"/")
		if err != nil {
			return err
		}
		taken := map[int32]bool{}
		for i := range rules {
			if np, ok := changed[rules[i].ID]; ok {
				rules[i].Priority = np
			}
			if taken[rules[i].Priority] {
				return elbv2.NewPriorityInUseException("Priority '%d' is currently in use", rules[i].Priority)
			}
			taken[rules[i].Priority] = true
		}
		now := s.clock()
		for _, r := range rules {
			if _, ok := changed[r.ID]; !ok {
				continue
			}
			if err := store.PutDoc(tx, kindRule, acct, region, listener.ID+"/"+r.ID, r, now); err != nil {
				return err
			}
			out = append(out, ruleRef{rule: r, listener: listener, lb: lb}.out(acct, region))
		}
		return nil
	})
	if err != nil {
		return nil, internal(err)
	}
	s.kick(ctx)
	return &elbv2.SetRulePrioritiesOutput{Rules: out}, nil
}

// sameJSON reports whether a and b encode alike.
func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}
