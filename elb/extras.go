package elb

import (
	"context"
	"regexp"
	"slices"
	"strconv"

	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/store"
)

// sslPolicy is one of ELB's predefined security policies.
type sslPolicy struct {
	name      string
	protocols []string
	ciphers   []string // in priority order
	types     []string
}

var (
	tls13Ciphers = []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}
	fsGCM        = []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
		"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384"}
	fsTLS12 = []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA256",
		"ECDHE-RSA-AES128-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
		"ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384"}
	legacyCBC = []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA256",
		"ECDHE-RSA-AES128-SHA256", "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-GCM-SHA384",
		"ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA",
		"ECDHE-ECDSA-AES256-SHA", "AES128-GCM-SHA256", "AES128-SHA256", "AES128-SHA", "AES256-GCM-SHA384",
		"AES256-SHA256", "AES256-SHA"}
	albNLB = []string{"application", "network"}
)

func concat(lists ...[]string) []string { return slices.Concat(lists...) }

// sslPolicies are AWS's predefined policies for Application and Network
// Load Balancers (the Application Load Balancer guide, "Security
// policies"), in the order DescribeSSLPolicies lists them.
var sslPolicies = []sslPolicy{
	{"ELBSecurityPolicy-TLS13-1-2-2021-06", []string{"TLSv1.2", "TLSv1.3"}, concat(tls13Ciphers, fsTLS12), albNLB},
	{"ELBSecurityPolicy-TLS13-1-2-Res-2021-06", []string{"TLSv1.2", "TLSv1.3"}, concat(tls13Ciphers, fsGCM), albNLB},
	{"ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06", []string{"TLSv1.2", "TLSv1.3"}, concat(tls13Ciphers, fsTLS12,
		[]string{"ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA", "ECDHE-ECDSA-AES256-SHA"}), albNLB},
	{"ELBSecurityPolicy-TLS13-1-3-2021-06", []string{"TLSv1.3"}, tls13Ciphers, albNLB},
	{"ELBSecurityPolicy-TLS13-1-0-2021-06", []string{"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}, concat(tls13Ciphers, legacyCBC), albNLB},
	{"ELBSecurityPolicy-2016-08", []string{"TLSv1", "TLSv1.1", "TLSv1.2"}, legacyCBC, albNLB},
	{"ELBSecurityPolicy-TLS-1-1-2017-01", []string{"TLSv1.1", "TLSv1.2"}, legacyCBC, albNLB},
	{"ELBSecurityPolicy-TLS-1-2-2017-01", []string{"TLSv1.2"}, concat(fsTLS12,
		[]string{"AES128-GCM-SHA256", "AES128-SHA256", "AES256-GCM-SHA384", "AES256-SHA256"}), albNLB},
	{"ELBSecurityPolicy-TLS-1-2-Ext-2018-06", []string{"TLSv1.2"}, concat(fsTLS12,
		[]string{"ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA", "ECDHE-ECDSA-AES256-SHA",
			"AES128-GCM-SHA256", "AES128-SHA256", "AES128-SHA", "AES256-GCM-SHA384", "AES256-SHA256", "AES256-SHA"}), albNLB},
	{"ELBSecurityPolicy-FS-2018-06", []string{"TLSv1", "TLSv1.1", "TLSv1.2"}, concat(fsTLS12,
		[]string{"ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA", "ECDHE-ECDSA-AES256-SHA"}), albNLB},
	{"ELBSecurityPolicy-FS-1-1-2019-08", []string{"TLSv1.1", "TLSv1.2"}, concat(fsTLS12,
		[]string{"ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA", "ECDHE-ECDSA-AES256-SHA"}), albNLB},
	{"ELBSecurityPolicy-FS-1-2-2019-08", []string{"TLSv1.2"}, concat(fsTLS12,
		[]string{"ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA", "ECDHE-ECDSA-AES256-SHA"}), albNLB},
	{"ELBSecurityPolicy-FS-1-2-Res-2019-08", []string{"TLSv1.2"}, fsTLS12, albNLB},
	{"ELBSecurityPolicy-FS-1-2-Res-2020-10", []string{"TLSv1.2"}, fsGCM, albNLB},
	{"ELBSecurityPolicy-2015-05", []string{"TLSv1", "TLSv1.1", "TLSv1.2"}, legacyCBC, albNLB},
}

func (p sslPolicy) out() elbv2.SslPolicy {
	o := elbv2.SslPolicy{Name: str(p.name), SslProtocols: p.protocols, SupportedLoadBalancerTypes: p.types,
		Ciphers: make([]elbv2.Cipher, len(p.ciphers))}
	for i, c := range p.ciphers {
		o.Ciphers[i] = elbv2.Cipher{Name: str(c), Priority: i32(int32(i + 1))}
	}
	return o
}

// DescribeSSLPolicies lists the predefined security policies. Berth
// terminates no TLS (its listeners are HTTP), so the policies are
// reference data for tools that look them up.
func (s *Service) DescribeSSLPolicies(ctx context.Context, in *elbv2.DescribeSSLPoliciesInput) (*elbv2.DescribeSSLPoliciesOutput, error) {
	var picked []sslPolicy
	if len(in.Names) > 0 {
		for _, n := range in.Names {
			i := slices.IndexFunc(sslPolicies, func(p sslPolicy) bool { return p.name == n })
			if i < 0 {
				return nil, elbv2.NewSSLPolicyNotFoundException("One or more SSL policies not found: '%s'", n)
			}
			picked = append(picked, sslPolicies[i])
		}
	} else {
		picked = sslPolicies
	}
	if in.LoadBalancerType != nil {
		t := string(*in.LoadBalancerType)
		picked = slices.DeleteFunc(slices.Clone(picked), func(p sslPolicy) bool { return !slices.Contains(p.types, t) })
	}
	from, to, next, err := page(in.Marker, in.PageSize, len(picked))
	if err != nil {
		return nil, err
	}
	out := &elbv2.DescribeSSLPoliciesOutput{SslPolicies: []elbv2.SslPolicy{}, NextMarker: next}
	for _, p := range picked[from:to] {
		out.SslPolicies = append(out.SslPolicies, p.out())
	}
	return out, nil
}

// accountLimits are ELB's default quotas, by DescribeAccountLimits's
// names. Berth enforces only the rules-per-listener and tags quotas.
var accountLimits = [][2]string{
	{"application-load-balancers", "50"},
	{"condition-values-per-alb-rule", "5"},
	{"condition-wildcards-per-alb-rule", "5"},
	{"gateway-load-balancers", "100"},
	{"gateway-load-balancers-per-vpc", "100"},
	{"geneve-target-groups", "100"},
	{"listeners-per-application-load-balancer", "50"},
	{"listeners-per-network-load-balancer", "50"},
	{"network-load-balancers", "50"},
	{"rules-per-application-load-balancer", strconv.Itoa(maxRulesPerListener)},
	{"target-groups", "3000"},
	{"target-groups-per-action-on-application-load-balancer", "5"},
	{"target-groups-per-action-on-network-load-balancer", "1"},
	{"target-groups-per-application-load-balancer", "100"},
	{"targets-per-application-load-balancer", "1000"},
	{"targets-per-availability-zone-per-gateway-load-balancer", "300"},
	{"targets-per-availability-zone-per-network-load-balancer", "500"},
	{"targets-per-network-load-balancer", "3000"},
	{"certificates-per-application-load-balancer", strconv.Itoa(maxListenerCertificates)},
	{"certificates-per-network-load-balancer", strconv.Itoa(maxListenerCertificates)},
}

// DescribeAccountLimits returns ELB's default quotas.
func (s *Service) DescribeAccountLimits(ctx context.Context, in *elbv2.DescribeAccountLimitsInput) (*elbv2.DescribeAccountLimitsOutput, error) {
	from, to, next, err := page(in.Marker, in.PageSize, len(accountLimits))
	if err != nil {
		return nil, err
	}
	out := &elbv2.DescribeAccountLimitsOutput{Limits: []elbv2.Limit{}, NextMarker: next}
	for _, l := range accountLimits[from:to] {
		out.Limits = append(out.Limits, elbv2.Limit{Name: str(l[0]), Max: str(l[1])})
	}
	return out, nil
}

// Listener certificates.

// maxListenerCertificates is ELB's quota of certificates per load
// balancer, the default one excluded; Berth counts it per listener.
const maxListenerCertificates = 25

// certARN is an ACM or IAM server certificate ARN. Berth has no ACM, so
// the format is all that is checked.
var certARN = regexp.MustCompile(`^arn:aws[a-z-]*:(acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+|iam::\d{12}:server-certificate/.+)$`)

func certificateARNs(certs []elbv2.Certificate) ([]string, error) {
	if len(certs) == 0 {
		return nil, validation("At least one certificate must be specified")
	}
	var arns []string
	for _, c := range certs {
		a := deref(c.CertificateArn)
		if !certARN.MatchString(a) {
			return nil, elbv2.NewCertificateNotFoundException("Certificate '%s' not found", a)
		}
		arns = append(arns, a)
	}
	return arns, nil
}

// AddListenerCertificates adds certificates to a listener's certificate
// list; one already there is not added again, as in ELB.
func (s *Service) AddListenerCertificates(ctx context.Context, in *elbv2.AddListenerCertificatesInput) (*elbv2.AddListenerCertificatesOutput, error) {
	acct, region := where(ctx)
	arns, err := certificateARNs(in.Certificates)
	if err != nil {
		return nil, err
	}
	var l listenerRecord
	err = s.st.Update(ctx, func(tx store.Tx) error {
		var lb lbRecord
		var err error
		l, lb, err = s.listenerByARN(tx, acct, region, deref(in.ListenerArn))
		if err != nil {
			return err
		}
		for _, a := range arns {
			if !slices.Contains(l.Certificates, a) {
				l.Certificates = append(l.Certificates, a)
			}
		}
		if len(l.Certificates) > maxListenerCertificates {
			return elbv2.NewTooManyCertificatesException("The quota of %d certificates per listener has been reached", maxListenerCertificates)
		}
		return store.PutDoc(tx, kindListener, acct, region, lb.ID+"/"+l.ID, l, s.clock())
	})
	if err != nil {
		return nil, internal(err)
	}
	// An HTTPS listener serves the new certificate from now on.
	s.kick(ctx)
	out := &elbv2.AddListenerCertificatesOutput{Certificates: []elbv2.Certificate{}}
	for _, a := range l.Certificates {
		out.Certificates = append(out.Certificates, elbv2.Certificate{CertificateArn: str(a), IsDefault: new(false)})
	}
	return out, nil
}

// DescribeListenerCertificates lists the default certificate (IsDefault
// true) of an HTTPS listener and then the certificate list.
func (s *Service) DescribeListenerCertificates(ctx context.Context, in *elbv2.DescribeListenerCertificatesInput) (*elbv2.DescribeListenerCertificatesOutput, error) {
	acct, region := where(ctx)
	var l listenerRecord
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		l, _, err = s.listenerByARN(tx, acct, region, deref(in.ListenerArn))
		return err
	})
	if err != nil {
		return nil, internal(err)
	}
	var all []elbv2.Certificate
	if l.DefaultCertificate != "" {
		all = append(all, elbv2.Certificate{CertificateArn: str(l.DefaultCertificate), IsDefault: new(true)})
	}
	for _, a := range l.Certificates {
		all = append(all, elbv2.Certificate{CertificateArn: str(a), IsDefault: new(false)})
	}
	from, to, next, err := page(in.Marker, in.PageSize, len(all))
	if err != nil {
		return nil, err
	}
	return &elbv2.DescribeListenerCertificatesOutput{Certificates: append([]elbv2.Certificate{}, all[from:to]...), NextMarker: next}, nil
}

// RemoveListenerCertificates removes certificates from the list; ones not
// in it are ignored, as in ELB.
func (s *Service) RemoveListenerCertificates(ctx context.Context, in *elbv2.RemoveListenerCertificatesInput) (*elbv2.RemoveListenerCertificatesOutput, error) {
	acct, region := where(ctx)
	if len(in.Certificates) == 0 {
		return nil, validation("At least one certificate must be specified")
	}
	for _, c := range in.Certificates {
		if c.IsDefault != nil && *c.IsDefault {
			return nil, validation("The default certificate cannot be removed from a listener; use ModifyListener to replace it")
		}
	}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		l, lb, err := s.listenerByARN(tx, acct, region, deref(in.ListenerArn))
		if err != nil {
			return err
		}
		l.Certificates = slices.DeleteFunc(l.Certificates, func(a string) bool {
			return slices.ContainsFunc(in.Certificates, func(c elbv2.Certificate) bool { return deref(c.CertificateArn) == a })
		})
		return store.PutDoc(tx, kindListener, acct, region, lb.ID+"/"+l.ID, l, s.clock())
	})
	if err != nil {
		return nil, internal(err)
	}
	s.kick(ctx)
	return &elbv2.RemoveListenerCertificatesOutput{}, nil
}

// SetIpAddressType changes a load balancer's IP address type.
// Addresses are not acted upon: listeners bind the configured host.
func (s *Service) SetIpAddressType(ctx context.Context, in *elbv2.SetIpAddressTypeInput) (*elbv2.SetIpAddressTypeOutput, error) {
	acct, region := where(ctx)
	if in.IpAddressType == nil {
		return nil, validation("An IP address type must be specified")
	}
	t := *in.IpAddressType
	var lb lbRecord
	err := s.st.Update(ctx, func(tx store.Tx) (err error) {
		lb, err = s.lbByARN(tx, acct, region, deref(in.LoadBalancerArn))
		if err != nil {
			return err
		}
		if t == elbv2.IpAddressTypeDualstackWithoutPublicIpv4 && lb.Scheme == string(elbv2.LoadBalancerSchemeEnumInternal) {
			return validation("IP address type 'dualstack-without-public-ipv4' is only valid for internet-facing load balancers")
		}
		lb.IPAddressType = string(t)
		return store.PutDoc(tx, kindLB, acct, region, lb.ID, lb, s.clock())
	})
	if err != nil {
		return nil, internal(err)
	}
	return &elbv2.SetIpAddressTypeOutput{IpAddressType: &t}, nil
}

// GetResourcePolicy returns the resource policy of a trust store shared
// through AWS RAM. Berth has no trust stores (nor RAM), so every ARN is
// ResourceNotFound once its format is checked.
func (s *Service) GetResourcePolicy(ctx context.Context, in *elbv2.GetResourcePolicyInput) (*elbv2.GetResourcePolicyOutput, error) {
	arn := deref(in.ResourceArn)
	if arn == "" {
		return nil, validation("A resource ARN must be specified")
	}
	if _, ok := parseARN(arn); !ok && !trustStoreARN.MatchString(arn) {
		return nil, validation("'%s' is not a valid resource ARN", arn)
	}
	return nil, elbv2.NewResourceNotFoundException("The specified resource does not exist: '%s'", arn)
}

var trustStoreARN = regexp.MustCompile(`^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:truststore/[^/]+/[0-9a-f]+$`)
