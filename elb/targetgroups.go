package elb

import (
	"context"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/elb/proxy"
	"github.com/berth-dev/berth/store"
)

// tgDefaultAttributes are an ALB target group's attributes until modified.
var tgDefaultAttributes = map[string]string{
	"deregistration_delay.timeout_seconds":                                           "300",
	"stickiness.enabled":                                                             "false",
	"stickiness.type":                                                                "lb_cookie",
	"stickiness.lb_cookie.duration_seconds":                                          "86400",
	"stickiness.app_cookie.cookie_name":                                              "",
	"stickiness.app_cookie.duration_seconds":                                         "86400",
	"slow_start.duration_seconds":                                                    "0",
	"load_balancing.algorithm.type":                                                  "round_robin",
	"load_balancing.algorithm.anomaly_mitigation":                                    "off",
	"load_balancing.cross_zone.enabled":                                              "use_load_balancer_configuration",
	"target_group_health.dns_failover.minimum_healthy_targets.count":                 "1",
	"target_group_health.dns_failover.minimum_healthy_targets.percentage":            "off",
	"target_group_health.unhealthy_state_routing.minimum_healthy_targets.count":      "1",
	"target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": "off",
}

func tgAttr(tg tgRecord, key string) string {
	if v, ok := tg.Attributes[key]; ok {
		return v
	}
	return tgDefaultAttributes[key]
}

// deregistrationDelay is the group's draining time in seconds.
func (tg tgRecord) deregistrationDelay() int {
	n, err := strconv.Atoi(tgAttr(tg, "deregistration_delay.timeout_seconds"))
	if err != nil {
		return defaultDeregistration
	}
	return n
}

// usage maps each target group id of acct/region to the ids of the load
// balancers whose listeners or rules forward to it.
func usage(tx store.Tx, acct, region string) (map[string][]string, error) {
	listeners, err := list[listenerRecord](tx, kindListener, acct, region, "")
	if err != nil {
		return nil, err
	}
	rules, err := list[ruleRecord](tx, kindRule, acct, region, "")
	if err != nil {
		return nil, err
	}
	lbOf := map[string]string{}
	out := map[string][]string{}
	add := func(lbID string, actions []elbv2.Action) {
		for _, g := range forwardGroups(actions) {
			p, ok := parseARN(g.ARN)
			if !ok || !contains(out[p.TGID], lbID) {
				out[p.TGID] = append(out[p.TGID], lbID)
			}
		}
	}
	for _, l := range listeners {
		lbOf[l.ID] = l.LBID
		add(l.LBID, l.DefaultActions)
	}
	for _, r := range rules {
		add(lbOf[r.ListenerID], r.Actions)
	}
	return out, nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func (s *Service) tgOut(tx store.Tx, acct, region string, tg tgRecord, used map[string][]string) (elbv2.TargetGroup, error) {
	proto := elbv2.ProtocolEnum(tg.Protocol)
	hcProto := elbv2.ProtocolEnum(tg.HealthCheck.Protocol)
	tt := elbv2.TargetTypeEnum(tg.TargetType)
	ipt := elbv2.TargetGroupIpAddressTypeEnum(tg.IPAddressType)
	out := elbv2.TargetGroup{
		TargetGroupArn:             str(tgARN(acct, region, tg)),
		TargetGroupName:            str(tg.Name),
		Protocol:                   &proto,
		Port:                       i32(tg.Port),
		VpcId:                      str(tg.VpcID),
		HealthCheckProtocol:        &hcProto,
		HealthCheckPort:            str(tg.HealthCheck.Port),
		HealthCheckEnabled:         &tg.HealthCheck.Enabled,
		HealthCheckIntervalSeconds: i32(tg.HealthCheck.Interval),
		HealthCheckTimeoutSeconds:  i32(tg.HealthCheck.Timeout),
		HealthyThresholdCount:      i32(tg.HealthCheck.Healthy),
		UnhealthyThresholdCount:    i32(tg.HealthCheck.Unhealthy),
		HealthCheckPath:            str(tg.HealthCheck.Path),
		Matcher:                    &elbv2.Matcher{HttpCode: str(tg.HealthCheck.Matcher)},
		LoadBalancerArns:           []string{},
		TargetType:                 &tt,
		ProtocolVersion:            str(tg.ProtocolVersion),
		IpAddressType:              &ipt,
	}
	for _, lbID := range used[tg.ID] {
		var lb lbRecord
		found, err := store.LoadDoc(tx, kindLB, acct, region, lbID, &lb)
		if err != nil {
			return out, err
		}
		if found {
			out.LoadBalancerArns = append(out.LoadBalancerArns, lbARN(acct, region, lb))
		}
	}
	return out, nil
}

// applyHealthCheck sets the health check fields given in a Create or
// Modify request and checks the result.
func applyHealthCheck(hc *healthCheck, proto *elbv2.ProtocolEnum, port, path *string, enabled *bool,
	interval, timeout, healthy, unhealthy *int32, m *elbv2.Matcher) error {
	if proto != nil {
		if *proto != elbv2.ProtocolEnumHttp && *proto != elbv2.ProtocolEnumHttps {
			return validation("Health check protocol '%s' is not supported for target groups with the HTTP protocol", *proto)
		}
		hc.Protocol = string(*proto)
	}
	if port != nil {
		if *port != "traffic-port" {
			n, err := strconv.Atoi(*port)
			if err != nil || n < 1 || n > 65535 {
				return validation("Health check port '%s' must be 'traffic-port' or a port between 1 and 65535", *port)
			}
		}
		hc.Port = *port
	}
	if path != nil {
		if !strings.HasPrefix(*path, "/") || len(*path) > 1024 {
			return validation("Health check path must begin with '/' and be at most 1024 characters")
		}
		hc.Path = *path
	}
	if enabled != nil {
		hc.Enabled = *enabled
	}
	if interval != nil {
		hc.Interval = *interval
	}
	if timeout != nil {
		hc.Timeout = *timeout
	}
	if healthy != nil {
		hc.Healthy = *healthy
	}
	if unhealthy != nil {
		hc.Unhealthy = *unhealthy
	}
	if m != nil && m.HttpCode != nil {
		if !proxy.ValidMatcher(*m.HttpCode) {
			return validation("Health check matcher HTTP code '%s' must be within '200-499' code range", *m.HttpCode)
		}
		hc.Matcher = *m.HttpCode
	}
	switch {
	case hc.Interval < 5 || hc.Interval > 300:
		return validation("Health check interval must be between 5 and 300 seconds")
	case hc.Timeout < 2 || hc.Timeout > 120:
		return validation("Health check timeout must be between 2 and 120 seconds")
	case hc.Timeout >= hc.Interval:
		return validation("Health check interval must be greater than the timeout.")
	case hc.Healthy < 2 || hc.Healthy > 10:
		return validation("Healthy threshold count must be between 2 and 10")
	case hc.Unhealthy < 2 || hc.Unhealthy > 10:
		return validation("Unhealthy threshold count must be between 2 and 10")
	}
	return nil
}

// CreateTargetGroup creates an HTTP target group of ip or instance targets.
func (s *Service) CreateTargetGroup(ctx context.Context, in *elbv2.CreateTargetGroupInput) (*elbv2.CreateTargetGroupOutput, error) {
	acct, region := where(ctx)
	name := deref(in.Name)
	if !nameRE.MatchString(name) {
		return nil, validation("Target group name '%s' can have a maximum of 32 characters, must contain only alphanumeric characters or hyphens, and must not begin or end with a hyphen", name)
	}
	tt := string(elbv2.TargetTypeEnumInstance)
	if in.TargetType != nil {
		tt = string(*in.TargetType)
	}
	if tt != string(elbv2.TargetTypeEnumInstance) && tt != string(elbv2.TargetTypeEnumIp) {
		return nil, validation("Target type '%s' is not supported by Berth; use 'ip' or 'instance'", tt)
	}
	if in.Protocol == nil {
		return nil, validation("A protocol must be specified")
	}
	if *in.Protocol != elbv2.ProtocolEnumHttp {
		return nil, validation("Protocol '%s' is not supported by Berth; target groups of Application Load Balancers use 'HTTP'", *in.Protocol)
	}
	if in.Port == nil {
		return nil, validation("A port must be specified")
	}
	if *in.Port < 1 || *in.Port > 65535 {
		return nil, validation("Port must be between 1 and 65535")
	}
	if deref(in.VpcId) == "" {
		return nil, validation("A VPC ID must be specified")
	}
	pv := "HTTP1"
	if in.ProtocolVersion != nil {
		pv = strings.ToUpper(*in.ProtocolVersion)
	}
	ipt := "ipv4"
	if in.IpAddressType != nil {
		ipt = string(*in.IpAddressType)
	}
	hc := healthCheck{Enabled: true, Protocol: "HTTP", Port: "traffic-port", Path: "/",
		Interval: defaultHealthInterval, Timeout: defaultHealthTimeout,
		Healthy: defaultHealthyThreshold, Unhealthy: defaultUnhealthyThreshld, Matcher: "200"}
	if err := applyHealthCheck(&hc, in.HealthCheckProtocol, in.HealthCheckPort, in.HealthCheckPath, in.HealthCheckEnabled,
		in.HealthCheckIntervalSeconds, in.HealthCheckTimeoutSeconds, in.HealthyThresholdCount, in.UnhealthyThresholdCount, in.Matcher); err != nil {
		return nil, err
	}
	tags, err := addTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	tg := tgRecord{ID: newID(), Name: name, Protocol: string(*in.Protocol), ProtocolVersion: pv, Port: *in.Port,
		VpcID: deref(in.VpcId), TargetType: tt, IPAddressType: ipt, HealthCheck: hc, Created: now, Tags: tags}
	var out elbv2.TargetGroup
	err = s.st.Update(ctx, func(tx store.Tx) error {
		all, err := list[tgRecord](tx, kindTG, acct, region, "")
		if err != nil {
			return err
		}
		for _, o := range all {
			if !strings.EqualFold(o.Name, name) {
				continue
			}
			// Creating the same target group again succeeds, as in ELB.
			if o.Name == name && o.Protocol == tg.Protocol && o.Port == tg.Port && o.VpcID == tg.VpcID &&
				o.TargetType == tg.TargetType && o.HealthCheck == tg.HealthCheck {
				used, err := usage(tx, acct, region)
				if err != nil {
					return err
				}
				out, err = s.tgOut(tx, acct, region, o, used)
				return err
			}
			return elbv2.NewDuplicateTargetGroupNameException("A target group with the same name '%s' exists, but with different settings", name)
		}
		if err := markRegion(tx, acct, region, now); err != nil {
			return err
		}
		if err := store.PutDoc(tx, kindTG, acct, region, tg.ID, tg, now); err != nil {
			return err
		}
		out, err = s.tgOut(tx, acct, region, tg, nil)
		return err
	})
	if err != nil {
		return nil, internal(err)
	}
	return &elbv2.CreateTargetGroupOutput{TargetGroups: []elbv2.TargetGroup{out}}, nil
}

// DescribeTargetGroups describes target groups by ARN, name or load
// balancer, or all of them.
func (s *Service) DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput) (*elbv2.DescribeTargetGroupsOutput, error) {
	acct, region := where(ctx)
	n := 0
	for _, set := range []bool{in.LoadBalancerArn != nil, len(in.TargetGroupArns) > 0, len(in.Names) > 0} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, validation("Target group names, target group ARNs, and a load balancer ARN cannot be specified at the same time")
	}
	var out []elbv2.TargetGroup
	err := s.st.View(ctx, func(tx store.Tx) error {
		used, err := usage(tx, acct, region)
		if err != nil {
			return err
		}
		var tgs []tgRecord
		switch {
		case len(in.TargetGroupArns) > 0:
			for _, arn := range in.TargetGroupArns {
				tg, err := s.tgByARN(tx, acct, region, arn)
				if err != nil {
					return err
				}
				tgs = append(tgs, tg)
			}
		default:
			all, err := list[tgRecord](tx, kindTG, acct, region, "")
			if err != nil {
				return err
			}
			if in.LoadBalancerArn != nil {
				lb, err := s.lbByARN(tx, acct, region, *in.LoadBalancerArn)
				if err != nil {
					return err
				}
				for _, tg := range all {
					if contains(used[tg.ID], lb.ID) {
						tgs = append(tgs, tg)
					}
				}
			} else if len(in.Names) > 0 {
				for _, name := range in.Names {
					found := false
					for _, tg := range all {
						if tg.Name == name {
							tgs, found = append(tgs, tg), true
						}
					}
					if !found {
						return elbv2.NewTargetGroupNotFoundException("Target groups '[%s]' not found", name)
					}
				}
			} else {
				tgs = all
			}
		}
		for _, tg := range tgs {
			o, err := s.tgOut(tx, acct, region, tg, used)
			if err != nil {
				return err
			}
			out = append(out, o)
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
	return &elbv2.DescribeTargetGroupsOutput{TargetGroups: append([]elbv2.TargetGroup{}, out[from:to]...), NextMarker: next}, nil
}

// ModifyTargetGroup changes a target group's health check.
func (s *Service) ModifyTargetGroup(ctx context.Context, in *elbv2.ModifyTargetGroupInput) (*elbv2.ModifyTargetGroupOutput, error) {
	acct, region := where(ctx)
	var out elbv2.TargetGroup
	err := s.st.Update(ctx, func(tx store.Tx) error {
		tg, err := s.tgByARN(tx, acct, region, deref(in.TargetGroupArn))
		if err != nil {
			return err
		}
		if err := applyHealthCheck(&tg.HealthCheck, in.HealthCheckProtocol, in.HealthCheckPort, in.HealthCheckPath, in.HealthCheckEnabled,
			in.HealthCheckIntervalSeconds, in.HealthCheckTimeoutSeconds, in.HealthyThresholdCount, in.UnhealthyThresholdCount, in.Matcher); err != nil {
			return err
		}
		if err := store.PutDoc(tx, kindTG, acct, region, tg.ID, tg, s.clock()); err != nil {
			return err
		}
		used, err := usage(tx, acct, region)
		if err != nil {
			return err
		}
		out, err = s.tgOut(tx, acct, region, tg, used)
		return err
	})
	if err != nil {
		return nil, internal(err)
	}
	s.kick(ctx)
	return &elbv2.ModifyTargetGroupOutput{TargetGroups: []elbv2.TargetGroup{out}}, nil
}

// DeleteTargetGroup deletes a target group no listener or rule uses.
func (s *Service) DeleteTargetGroup(ctx context.Context, in *elbv2.DeleteTargetGroupInput) (*elbv2.DeleteTargetGroupOutput, error) {
	acct, region := where(ctx)
	arn := deref(in.TargetGroupArn)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		tg, err := s.tgByARN(tx, acct, region, arn)
		if err != nil {
			return err
		}
		used, err := usage(tx, acct, region)
		if err != nil {
			return err
		}
		if len(used[tg.ID]) > 0 {
			return elbv2.NewResourceInUseException("Target group '%s' is currently in use by a listener or a rule", arn)
		}
		return tx.DeleteResource(kindTG, acct, region, tg.ID)
	})
	if err != nil {
		return nil, internal(err)
	}
	s.kick(ctx)
	return &elbv2.DeleteTargetGroupOutput{}, nil
}

func tgAttrsOut(tg tgRecord) []elbv2.TargetGroupAttribute {
	var out []elbv2.TargetGroupAttribute
	for _, k := range slices.Sorted(maps.Keys(tgDefaultAttributes)) {
		out = append(out, elbv2.TargetGroupAttribute{Key: str(k), Value: str(tgAttr(tg, k))})
	}
	return out
}

// DescribeTargetGroupAttributes returns the stored attributes.
func (s *Service) DescribeTargetGroupAttributes(ctx context.Context, in *elbv2.DescribeTargetGroupAttributesInput) (*elbv2.DescribeTargetGroupAttributesOutput, error) {
	acct, region := where(ctx)
	var tg tgRecord
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		tg, err = s.tgByARN(tx, acct, region, deref(in.TargetGroupArn))
		return err
	})
	if err != nil {
		return nil, internal(err)
	}
	return &elbv2.DescribeTargetGroupAttributesOutput{Attributes: tgAttrsOut(tg)}, nil
}

// ModifyTargetGroupAttributes stores attributes; the deregistration delay
// drives draining, the others are kept and returned.
func (s *Service) ModifyTargetGroupAttributes(ctx context.Context, in *elbv2.ModifyTargetGroupAttributesInput) (*elbv2.ModifyTargetGroupAttributesOutput, error) {
	acct, region := where(ctx)
	var tg tgRecord
	err := s.st.Update(ctx, func(tx store.Tx) (err error) {
		tg, err = s.tgByARN(tx, acct, region, deref(in.TargetGroupArn))
		if err != nil {
			return err
		}
		if tg.Attributes == nil {
			tg.Attributes = map[string]string{}
		}
		for _, a := range in.Attributes {
			k, v := deref(a.Key), deref(a.Value)
			if _, ok := tgDefaultAttributes[k]; !ok {
				return validation("Target group attribute key '%s' is not recognized", k)
			}
			if k == "deregistration_delay.timeout_seconds" {
				if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 3600 {
					return validation("The deregistration delay must be between 0 and 3600 seconds")
				}
			}
			if strings.HasSuffix(k, ".enabled") && v != "true" && v != "false" {
				return validation("Target group attribute value '%s' is not valid for key '%s'", v, k)
			}
			tg.Attributes[k] = v
		}
		return store.PutDoc(tx, kindTG, acct, region, tg.ID, tg, s.clock())
	})
	if err != nil {
		return nil, internal(err)
	}
	return &elbv2.ModifyTargetGroupAttributesOutput{Attributes: tgAttrsOut(tg)}, nil
}

var instanceIDRE = regexp.MustCompile(`^i-[0-9a-zA-Z]{1,32}$`)

// RegisterTargets registers targets with a target group.
func (s *Service) RegisterTargets(ctx context.Context, in *elbv2.RegisterTargetsInput) (*elbv2.RegisterTargetsOutput, error) {
	acct, region := where(ctx)
	if err := s.register(ctx, acct, region, deref(in.TargetGroupArn), targetsIn(in.Targets)); err != nil {
		return nil, err
	}
	return &elbv2.RegisterTargetsOutput{}, nil
}

// DeregisterTargets deregisters targets; they drain for the group's
// deregistration delay.
func (s *Service) DeregisterTargets(ctx context.Context, in *elbv2.DeregisterTargetsInput) (*elbv2.DeregisterTargetsOutput, error) {
	acct, region := where(ctx)
	if err := s.deregister(ctx, acct, region, deref(in.TargetGroupArn), targetsIn(in.Targets)); err != nil {
		return nil, err
	}
	return &elbv2.DeregisterTargetsOutput{}, nil
}

func targetsIn(ts []elbv2.TargetDescription) []Target {
	out := make([]Target, 0, len(ts))
	for _, t := range ts {
		o := Target{ID: deref(t.Id), AvailabilityZone: deref(t.AvailabilityZone)}
		if t.Port != nil {
			o.Port = *t.Port
		}
		out = append(out, o)
	}
	return out
}

func (s *Service) register(ctx context.Context, acct, region, arn string, ts []Target) error {
	if len(ts) == 0 {
		return validation("At least one target must be specified")
	}
	now := s.clock()
	err := s.st.Update(ctx, func(tx store.Tx) error {
		tg, err := s.tgByARN(tx, acct, region, arn)
		if err != nil {
			return err
		}
		for _, t := range ts {
			if err := checkTarget(tg, t); err != nil {
				return err
			}
			port := t.Port
			if port == 0 {
				port = tg.Port
			}
			k := targetKey(t.ID, port)
			found := false
			for i := range tg.Targets {
				if tg.Targets[i].key() == k {
					tg.Targets[i].Deregistered = time.Time{}
					found = true
				}
			}
			if !found {
				tg.Targets = append(tg.Targets, targetRecord{ID: t.ID, Port: port, AZ: t.AvailabilityZone, Registered: now})
			}
		}
		return store.PutDoc(tx, kindTG, acct, region, tg.ID, tg, now)
	})
	if err != nil {
		return internal(err)
	}
	s.kick(ctx)
	return nil
}

func checkTarget(tg tgRecord, t Target) error {
	if t.Port != 0 && (t.Port < 1 || t.Port > 65535) {
		return validation("Port must be between 1 and 65535")
	}
	switch tg.TargetType {
	case string(elbv2.TargetTypeEnumIp):
		if _, err := netip.ParseAddr(t.ID); err != nil {
			return elbv2.NewInvalidTargetException("The IP address '%s' is not a valid IPv4 address", t.ID)
		}
	default:
		if !instanceIDRE.MatchString(t.ID) {
			return elbv2.NewInvalidTargetException("The following targets are not valid instances: '%s'", t.ID)
		}
	}
	return nil
}

func (s *Service) deregister(ctx context.Context, acct, region, arn string, ts []Target) error {
	if len(ts) == 0 {
		return validation("At least one target must be specified")
	}
	now := s.clock()
	err := s.st.Update(ctx, func(tx store.Tx) error {
		tg, err := s.tgByARN(tx, acct, region, arn)
		if err != nil {
			return err
		}
		used, err := usage(tx, acct, region)
		if err != nil {
			return err
		}
		immediate := len(used[tg.ID]) == 0 || tg.deregistrationDelay() == 0
		var missing []string
		for _, t := range ts {
			port := t.Port
			if port == 0 {
				port = tg.Port
			}
			k := targetKey(t.ID, port)
			found := false
			for i := 0; i < len(tg.Targets); i++ {
				if tg.Targets[i].key() != k {
					continue
				}
				found = true
				if immediate {
					tg.Targets = append(tg.Targets[:i], tg.Targets[i+1:]...)
					i--
				} else if !tg.Targets[i].draining() {
					tg.Targets[i].Deregistered = now
				}
			}
			if !found {
				missing = append(missing, "'"+t.ID+"'")
			}
		}
		if len(missing) > 0 {
			return elbv2.NewInvalidTargetException("The following targets are not registered in target group '%s': %s", arn, strings.Join(missing, ", "))
		}
		return store.PutDoc(tx, kindTG, acct, region, tg.ID, tg, now)
	})
	if err != nil {
		return internal(err)
	}
	s.kick(ctx)
	return nil
}

// DescribeTargetHealth reports the health of a group's targets.
func (s *Service) DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput) (*elbv2.DescribeTargetHealthOutput, error) {
	acct, region := where(ctx)
	hs, err := s.targetHealth(ctx, acct, region, deref(in.TargetGroupArn), targetsIn(in.Targets))
	if err != nil {
		return nil, err
	}
	out := &elbv2.DescribeTargetHealthOutput{TargetHealthDescriptions: []elbv2.TargetHealthDescription{}}
	for _, h := range hs {
		d := elbv2.TargetHealthDescription{
			Target:          &elbv2.TargetDescription{Id: str(h.Target.ID), Port: i32(h.Target.Port)},
			HealthCheckPort: str(h.HealthCheckPort),
		}
		if h.Target.AvailabilityZone != "" {
			d.Target.AvailabilityZone = str(h.Target.AvailabilityZone)
		}
		st := elbv2.TargetHealthStateEnum(h.State)
		d.TargetHealth = &elbv2.TargetHealth{State: &st}
		if h.Reason != "" {
			r := elbv2.TargetHealthReasonEnum(h.Reason)
			d.TargetHealth.Reason = &r
			d.TargetHealth.Description = str(h.Description)
		}
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, d)
	}
	return out, nil
}

// targetHealth is the health of the given targets of a group, or of all.
func (s *Service) targetHealth(ctx context.Context, acct, region, arn string, only []Target) (out []TargetHealth, err error) {
	var tg tgRecord
	var inUse bool
	err = s.st.View(ctx, func(tx store.Tx) (err error) {
		tg, err = s.tgByARN(tx, acct, region, arn)
		if err != nil {
			return err
		}
		used, err := usage(tx, acct, region)
		inUse = len(used[tg.ID]) > 0
		return err
	})
	if err != nil {
		return nil, internal(err)
	}
	arnFull := tgARN(acct, region, tg)
	hcPort := func(port int32) string {
		if tg.HealthCheck.Port == "traffic-port" {
			return itoa(port)
		}
		return tg.HealthCheck.Port
	}
	unkept := map[string]proxy.Health{}
	describe := func(t targetRecord) TargetHealth {
		h := TargetHealth{Target: Target{ID: t.ID, Port: t.Port, AvailabilityZone: t.AZ}, HealthCheckPort: hcPort(t.Port)}
		switch {
		case t.draining():
			h.State, h.Reason, h.Description = "draining", "Target.DeregistrationInProgress", "Target deregistration is in progress"
		case !inUse:
			h.State, h.Reason, h.Description = "unused", "Target.NotInUse", "Target group is not configured to receive traffic from the load balancer"
		case !tg.HealthCheck.Enabled:
			h.State, h.Reason, h.Description = proxy.StateUnavailable, proxy.ReasonHealthCheckDisabled, "Health checks disabled"
		default:
			ph, ok := s.proxy.Health(arnFull, t.key())
			switch {
			case ok && (ph.State == proxy.StateHealthy || ph.State == proxy.StateUnhealthy) && ph != t.LastHealth:
				// Settled differently from the store: kept before anyone
				// (the ECS scheduler) acts on it, so that what was acted
				// on is what a restart starts from.
				unkept[t.key()] = ph
			case ok:
			case t.LastHealth.State != "":
				// Restarted, and the proxy has not taken the group yet.
				ph = t.LastHealth
			default:
				ph = proxy.Health{State: proxy.StateInitial, Reason: proxy.ReasonRegistrationInProgress, Description: "Target registration is in progress"}
			}
			h.State, h.Reason, h.Description = ph.State, ph.Reason, ph.Description
		}
		return h
	}
	defer func() {
		if len(unkept) > 0 && err == nil {
			err = internal(s.keepHealth(ctx, acct, region, tg.ID, unkept))
		}
	}()
	if len(only) == 0 {
		for _, t := range tg.Targets {
			out = append(out, describe(t))
		}
		return out, nil
	}
	for _, want := range only {
		port := want.Port
		if port == 0 {
			port = tg.Port
		}
		found := false
		for _, t := range tg.Targets {
			if t.key() == targetKey(want.ID, port) {
				out = append(out, describe(t))
				found = true
			}
		}
		if !found {
			out = append(out, TargetHealth{Target: Target{ID: want.ID, Port: port}, HealthCheckPort: hcPort(port),
				State: "unused", Reason: "Target.NotRegistered", Description: "Target is not registered to the target group"})
		}
	}
	return out, nil
}
