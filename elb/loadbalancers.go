package elb

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// DNSSuffix ends every load balancer's DNS name. Names under .localhost
// resolve to the loopback address in curl and browsers (RFC 6761), not
// necessarily with the system resolver; the listener answers on
// 127.0.0.1:<listener port> either way.
const DNSSuffix = ".elb.localhost"

// canonicalZone is the hosted zone id ELB reports for ALBs in us-east-1.
const canonicalZone = "Z35SXDOTRQ7X7K"

// lbDefaultAttributes are an ALB's attributes until modified.
var lbDefaultAttributes = map[string]string{
	"deletion_protection.enabled":                                  "false",
	"idle_timeout.timeout_seconds":                                 "60",
	"routing.http2.enabled":                                        "true",
	"access_logs.s3.enabled":                                       "false",
	"access_logs.s3.bucket":                                        "",
	"access_logs.s3.prefix":                                        "",
	"connection_logs.s3.enabled":                                   "false",
	"connection_logs.s3.bucket":                                    "",
	"connection_logs.s3.prefix":                                    "",
	"routing.http.desync_mitigation_mode":                          "defensive",
	"routing.http.drop_invalid_header_fields.enabled":              "false",
	"routing.http.preserve_host_header.enabled":                    "false",
	"routing.http.x_amzn_tls_version_and_cipher_suite.enabled":     "false",
	"routing.http.xff_client_port.enabled":                         "false",
	"routing.http.xff_header_processing.mode":                      "append",
	"waf.fail_open.enabled":                                        "false",
	"client_keep_alive.seconds":                                    "3600",
	"load_balancing.cross_zone.enabled":                            "true",
	"zonal_shift.config.enabled":                                   "false",
	"routing.http.x_amzn_mtls_clientcert_serial_number.enabled":    "false",
	"routing.http.x_amzn_tls_version_and_cipher_suite.header_name": "",
}

func dnsName(lb lbRecord) string {
	n := lb.Name + "-" + lb.ID + DNSSuffix
	if lb.Scheme == string(elbv2.LoadBalancerSchemeEnumInternal) {
		n = "internal-" + n
	}
	return n
}

func (s *Service) lbOut(acct, region string, lb lbRecord) elbv2.LoadBalancer {
	scheme := elbv2.LoadBalancerSchemeEnum(lb.Scheme)
	typ := elbv2.LoadBalancerTypeEnumApplication
	ipt := elbv2.IpAddressType(lb.IPAddressType)
	active := elbv2.LoadBalancerStateEnumActive
	out := elbv2.LoadBalancer{
		LoadBalancerArn:       str(lbARN(acct, region, lb)),
		DNSName:               str(dnsName(lb)),
		CanonicalHostedZoneId: str(canonicalZone),
		CreatedTime:           awsapi.Time(lb.Created),
		LoadBalancerName:      str(lb.Name),
		Scheme:                &scheme,
		State:                 &elbv2.LoadBalancerState{Code: &active},
		Type:                  &typ,
		IpAddressType:         &ipt,
		SecurityGroups:        lb.SecurityGroups,
	}
	if lb.VpcID != "" {
		out.VpcId = str(lb.VpcID)
	}
	for i, sn := range lb.Subnets {
		out.AvailabilityZones = append(out.AvailabilityZones, elbv2.AvailabilityZone{
			ZoneName: str(zoneName(lb, region, i)), SubnetId: str(sn)})
	}
	return out
}

// CreateLoadBalancer creates an Application Load Balancer in the VPC and
// zones of its subnets, checked against EC2 when a Network is set.
func (s *Service) CreateLoadBalancer(ctx context.Context, in *elbv2.CreateLoadBalancerInput) (*elbv2.CreateLoadBalancerOutput, error) {
	acct, region := where(ctx)
	name := deref(in.Name)
	if !nameRE.MatchString(name) || strings.HasPrefix(strings.ToLower(name), "internal-") {
		return nil, validation("The load balancer name '%s' must have a maximum of 32 characters, must contain only alphanumeric characters or hyphens, must not begin or end with a hyphen, and must not begin with \"internal-\"", name)
	}
	if in.Type != nil && *in.Type != elbv2.LoadBalancerTypeEnumApplication {
		return nil, elbv2.NewUnsupportedProtocolException("Load balancers of type '%s' are not supported by Berth; use 'application'", *in.Type)
	}
	scheme := string(elbv2.LoadBalancerSchemeEnumInternetFacing)
	if in.Scheme != nil {
		scheme = string(*in.Scheme)
	}
	ipt := string(elbv2.IpAddressTypeIpv4)
	if in.IpAddressType != nil {
		ipt = string(*in.IpAddressType)
	}
	subnets := subnetsOf(in.Subnets, in.SubnetMappings)
	tags, err := addTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	p, err := s.placeSubnets(ctx, acct, region, subnets)
	if err != nil {
		return nil, internal(err)
	}
	if err := s.checkGroups(ctx, acct, region, p.vpc, in.SecurityGroups); err != nil {
		return nil, internal(err)
	}
	now := s.clock()
	lb := lbRecord{ID: newID(), Name: name, Scheme: scheme, IPAddressType: ipt, Subnets: subnets,
		Zones: p.zones, VpcID: p.vpc, SecurityGroups: in.SecurityGroups, Created: now, Tags: tags}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		all, err := list[lbRecord](tx, kindLB, acct, region, "")
		if err != nil {
			return err
		}
		for _, o := range all {
			if !strings.EqualFold(o.Name, name) {
				continue
			}
			// Creating the same load balancer again succeeds, as in ELB.
			if o.Name == name && o.Scheme == lb.Scheme && o.IPAddressType == lb.IPAddressType &&
				sameSet(o.Subnets, lb.Subnets) && sameSet(o.SecurityGroups, lb.SecurityGroups) {
				lb = o
				return nil
			}
			return elbv2.NewDuplicateLoadBalancerNameException("A load balancer with the same name '%s' exists, but with different settings", name)
		}
		if err := markRegion(tx, acct, region, now); err != nil {
			return err
		}
		return store.PutDoc(tx, kindLB, acct, region, lb.ID, lb, now)
	})
	if err != nil {
		return nil, internal(err)
	}
	return &elbv2.CreateLoadBalancerOutput{LoadBalancers: []elbv2.LoadBalancer{s.lbOut(acct, region, lb)}}, nil
}

// DescribeLoadBalancers describes the named load balancers, or all.
func (s *Service) DescribeLoadBalancers(ctx context.Context, in *elbv2.DescribeLoadBalancersInput) (*elbv2.DescribeLoadBalancersOutput, error) {
	acct, region := where(ctx)
	if len(in.LoadBalancerArns) > 0 && len(in.Names) > 0 {
		return nil, validation("Load balancer names and load balancer ARNs cannot be specified at the same time")
	}
	var lbs []lbRecord
	err := s.st.View(ctx, func(tx store.Tx) error {
		if len(in.LoadBalancerArns) > 0 {
			for _, arn := range in.LoadBalancerArns {
				lb, err := s.lbByARN(tx, acct, region, arn)
				if err != nil {
					return err
				}
				lbs = append(lbs, lb)
			}
			return nil
		}
		all, err := list[lbRecord](tx, kindLB, acct, region, "")
		if err != nil {
			return err
		}
		if len(in.Names) == 0 {
			lbs = all
			return nil
		}
		var missing []string
		for _, n := range in.Names {
			found := false
			for _, lb := range all {
				if lb.Name == n {
					lbs = append(lbs, lb)
					found = true
				}
			}
			if !found {
				missing = append(missing, "'"+n+"'")
			}
		}
		if len(missing) > 0 {
			return elbv2.NewLoadBalancerNotFoundException("Load balancers '[%s]' not found", strings.Join(missing, ", "))
		}
		return nil
	})
	if err != nil {
		return nil, internal(err)
	}
	from, to, next, err := page(in.Marker, in.PageSize, len(lbs))
	if err != nil {
		return nil, err
	}
	out := &elbv2.DescribeLoadBalancersOutput{LoadBalancers: []elbv2.LoadBalancer{}, NextMarker: next}
	for _, lb := range lbs[from:to] {
		out.LoadBalancers = append(out.LoadBalancers, s.lbOut(acct, region, lb))
	}
	return out, nil
}

// DeleteLoadBalancer deletes a load balancer with its listeners and
// rules; deleting one that does not exist succeeds, as in ELB.
func (s *Service) DeleteLoadBalancer(ctx context.Context, in *elbv2.DeleteLoadBalancerInput) (*elbv2.DeleteLoadBalancerOutput, error) {
	acct, region := where(ctx)
	arn := deref(in.LoadBalancerArn)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		lb, err := s.lbByARN(tx, acct, region, arn)
		if e := awsapi.AsError(err); e != nil && e.Code == elbv2.CodeLoadBalancerNotFoundException {
			return nil
		}
		if err != nil {
			return err
		}
		if lbAttr(lb, "deletion_protection.enabled") == "true" {
			return elbv2.NewOperationNotPermittedException("Load balancer '%s' cannot be deleted because deletion protection is enabled", arn)
		}
		listeners, err := list[listenerRecord](tx, kindListener, acct, region, lb.ID+"/")
		if err != nil {
			return err
		}
		for _, l := range listeners {
			if err := deleteListener(tx, acct, region, l); err != nil {
				return err
			}
		}
		// The capacity reservation and IPAM pools (capacity.go, ippools.go) go with it.
		for _, k := range []string{kindCapacity, kindIPPools} {
			if err := store.DeleteDoc(tx, k, acct, region, lb.ID); err != nil {
				return err
			}
		}
		return tx.DeleteResource(kindLB, acct, region, lb.ID)
	})
	if err != nil {
		return nil, internal(err)
	}
	s.kick(ctx)
	return &elbv2.DeleteLoadBalancerOutput{}, nil
}

func deleteListener(tx store.Tx, acct, region string, l listenerRecord) error {
	rules, err := list[ruleRecord](tx, kindRule, acct, region, l.ID+"/")
	if err != nil {
		return err
	}
	for _, r := range rules {
		if err := tx.DeleteResource(kindRule, acct, region, l.ID+"/"+r.ID); err != nil {
			return err
		}
	}
	return tx.DeleteResource(kindListener, acct, region, l.LBID+"/"+l.ID)
}

func lbAttr(lb lbRecord, key string) string {
	if v, ok := lb.Attributes[key]; ok {
		return v
	}
	return lbDefaultAttributes[key]
}

func lbAttrsOut(lb lbRecord) []elbv2.LoadBalancerAttribute {
	var out []elbv2.LoadBalancerAttribute
	for _, k := range slices.Sorted(maps.Keys(lbDefaultAttributes)) {
		out = append(out, elbv2.LoadBalancerAttribute{Key: str(k), Value: str(lbAttr(lb, k))})
	}
	return out
}

// DescribeLoadBalancerAttributes returns the stored attributes.
func (s *Service) DescribeLoadBalancerAttributes(ctx context.Context, in *elbv2.DescribeLoadBalancerAttributesInput) (*elbv2.DescribeLoadBalancerAttributesOutput, error) {
	acct, region := where(ctx)
	lb, err := s.viewLB(ctx, acct, region, deref(in.LoadBalancerArn))
	if err != nil {
		return nil, internal(err)
	}
	return &elbv2.DescribeLoadBalancerAttributesOutput{Attributes: lbAttrsOut(lb)}, nil
}

// ModifyLoadBalancerAttributes stores attributes; deletion protection is
// honoured, the others are kept and returned.
func (s *Service) ModifyLoadBalancerAttributes(ctx context.Context, in *elbv2.ModifyLoadBalancerAttributesInput) (*elbv2.ModifyLoadBalancerAttributesOutput, error) {
	acct, region := where(ctx)
	var lb lbRecord
	err := s.st.Update(ctx, func(tx store.Tx) (err error) {
		lb, err = s.lbByARN(tx, acct, region, deref(in.LoadBalancerArn))
		if err != nil {
			return err
		}
		if lb.Attributes == nil {
			lb.Attributes = map[string]string{}
		}
		for _, a := range in.Attributes {
			k, v := deref(a.Key), deref(a.Value)
			if _, ok := lbDefaultAttributes[k]; !ok {
				return validation("Load balancer attribute key '%s' is not recognized", k)
			}
			if strings.HasSuffix(k, ".enabled") && v != "true" && v != "false" {
				return validation("Load balancer attribute value '%s' is not valid for key '%s'", v, k)
			}
			lb.Attributes[k] = v
		}
		return store.PutDoc(tx, kindLB, acct, region, lb.ID, lb, s.clock())
	})
	if err != nil {
		return nil, internal(err)
	}
	return &elbv2.ModifyLoadBalancerAttributesOutput{Attributes: lbAttrsOut(lb)}, nil
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	count := map[string]int{}
	for _, v := range a {
		count[v]++
	}
	for _, v := range b {
		if count[v]--; count[v] < 0 {
			return false
		}
	}
	return true
}
