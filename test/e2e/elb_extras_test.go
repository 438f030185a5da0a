package e2e

// The ELBv2 operations around the load balancer that Berth does not act
// upon but keeps as ELB does: SSL policies, listener certificates, account
// limits, IP address types, capacity reservations, IPAM pools, resource
// policies and trust stores (refused: no S3), through the aws CLI v1 and v2 and boto3.

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

func TestELBExtras(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithEnv("BERTH_AGENT=off"))
	subnets := defaultSubnets(t, b)
	wantErr := func(what string, r *harness.Result, code string) {
		t.Helper()
		if r.ExitCode == 0 || r.ErrorCode() != code {
			t.Errorf("%s: exit %d %s, want %s", what, r.ExitCode, r.Stderr, code)
		}
	}

	// DescribeSSLPolicies (aws CLI v2): by name, all, by type, unknown.
	var pol struct {
		SslPolicies []struct {
			Name                       string
			SslProtocols               []string
			SupportedLoadBalancerTypes []string
			Ciphers                    []struct {
				Name     string
				Priority int
			}
		}
	}
	b.AWSv2(t, "elbv2", "describe-ssl-policies", "--names", "ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-2016-08").Must(t).JSON(t, &pol)
	if len(pol.SslPolicies) != 2 {
		t.Fatalf("describe-ssl-policies by name: %+v", pol)
	}
	p := pol.SslPolicies[0]
	if p.Name != "ELBSecurityPolicy-TLS13-1-2-2021-06" || !slices.Equal(p.SslProtocols, []string{"TLSv1.2", "TLSv1.3"}) ||
		len(p.Ciphers) < 4 || p.Ciphers[0].Name != "TLS_AES_128_GCM_SHA256" || p.Ciphers[0].Priority != 1 ||
		p.Ciphers[3].Priority != 4 || !slices.Contains(p.SupportedLoadBalancerTypes, "application") {
		t.Errorf("TLS13-1-2-2021-06: %+v", p)
	}
	if q := pol.SslPolicies[1]; !slices.Equal(q.SslProtocols, []string{"TLSv1", "TLSv1.1", "TLSv1.2"}) ||
		!slices.ContainsFunc(q.Ciphers, func(c struct {
			Name     string
			Priority int
		}) bool {
			return c.Name == "AES128-SHA"
		}) {
		t.Errorf("2016-08: %+v", q)
	}
	pol.SslPolicies = nil
	b.AWSv2(t, "elbv2", "describe-ssl-policies", "--load-balancer-type", "application").Must(t).JSON(t, &pol)
	names := []string{}
	for _, p := range pol.SslPolicies {
		names = append(names, p.Name)
	}
	for _, n := range []string{"ELBSecurityPolicy-TLS13-1-3-2021-06", "ELBSecurityPolicy-TLS-1-2-2017-01",
		"ELBSecurityPolicy-FS-1-2-Res-2020-10", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"} {
		if !slices.Contains(names, n) {
			t.Errorf("describe-ssl-policies: %s missing from %v", n, names)
		}
	}
	wantErr("unknown policy", b.AWSv2(t, "elbv2", "describe-ssl-policies", "--names", "ELBSecurityPolicy-Nope"), "SSLPolicyNotFound")

	// A load balancer with an HTTP listener.
	lbArn := str1(t, b.AWSv2(t, "elbv2", "create-load-balancer", "--name", "extras", "--subnets", subnets[0], subnets[1]).Must(t).Map(t),
		"LoadBalancers", "0", "LoadBalancerArn")
	listener := str1(t, b.AWSv2(t, "elbv2", "create-listener", "--load-balancer-arn", lbArn, "--protocol", "HTTP",
		"--port", strconv.Itoa(freeListenerPort(t)), "--default-actions",
		`Type=fixed-response,FixedResponseConfig={StatusCode=200}`).Must(t).Map(t), "Listeners", "0", "ListenerArn")

	// Listener certificates (aws CLI v1): added once, listed, removed.
	certA := "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
	certB := "arn:aws:iam::123456789012:server-certificate/legacy"
	b.AWS(t, "elbv2", "add-listener-certificates", "--listener-arn", listener, "--certificates",
		"CertificateArn="+certA, "CertificateArn="+certB).Must(t)
	b.AWS(t, "elbv2", "add-listener-certificates", "--listener-arn", listener, "--certificates", "CertificateArn="+certA).Must(t)
	var certs struct {
		Certificates []struct {
			CertificateArn string
			IsDefault      bool
		}
	}
	b.AWS(t, "elbv2", "describe-listener-certificates", "--listener-arn", listener).Must(t).JSON(t, &certs)
	if len(certs.Certificates) != 2 || certs.Certificates[0].CertificateArn != certA || certs.Certificates[1].CertificateArn != certB ||
		certs.Certificates[0].IsDefault {
		t.Errorf("describe-listener-certificates: %+v", certs)
	}
	b.AWS(t, "elbv2", "remove-listener-certificates", "--listener-arn", listener, "--certificates", "CertificateArn="+certA).Must(t)
	certs.Certificates = nil
	b.AWS(t, "elbv2", "describe-listener-certificates", "--listener-arn", listener).Must(t).JSON(t, &certs)
	if len(certs.Certificates) != 1 || certs.Certificates[0].CertificateArn != certB {
		t.Errorf("after remove: %+v", certs)
	}
	wantErr("malformed certificate", b.AWS(t, "elbv2", "add-listener-certificates", "--listener-arn", listener,
		"--certificates", "CertificateArn=not-an-arn"), "CertificateNotFound")
	gone := strings.Replace(listener, listener[strings.LastIndex(listener, "/")+1:], "0123456789abcdef", 1)
	wantErr("unknown listener", b.AWS(t, "elbv2", "describe-listener-certificates", "--listener-arn", gone), "ListenerNotFound")
	wantErr("unknown listener (add)", b.AWSv2(t, "elbv2", "add-listener-certificates", "--listener-arn", gone,
		"--certificates", "CertificateArn="+certA), "ListenerNotFound")

	// Account limits and IP address types (aws CLI v2).
	var limits struct{ Limits []struct{ Name, Max string } }
	b.AWSv2(t, "elbv2", "describe-account-limits").Must(t).JSON(t, &limits)
	if !slices.Contains(limits.Limits, struct{ Name, Max string }{"application-load-balancers", "50"}) ||
		!slices.Contains(limits.Limits, struct{ Name, Max string }{"rules-per-application-load-balancer", "100"}) {
		t.Errorf("describe-account-limits: %+v", limits)
	}
	got := b.AWSv2(t, "elbv2", "set-ip-address-type", "--load-balancer-arn", lbArn, "--ip-address-type", "dualstack").Must(t).Map(t)
	if got["IpAddressType"] != "dualstack" {
		t.Errorf("set-ip-address-type: %v", got)
	}
	if s := str1(t, b.AWSv2(t, "elbv2", "describe-load-balancers", "--load-balancer-arns", lbArn).Must(t).Map(t),
		"LoadBalancers", "0", "IpAddressType"); s != "dualstack" {
		t.Errorf("describe-load-balancers IpAddressType = %s", s)
	}
	wantErr("bad ip address type", b.AWSv2(t, "elbv2", "set-ip-address-type", "--load-balancer-arn", lbArn, "--ip-address-type", "ipv6"), "ValidationError")
	internalLB := str1(t, b.AWSv2(t, "elbv2", "create-load-balancer", "--name", "extras-int", "--scheme", "internal",
		"--subnets", subnets[0], subnets[1]).Must(t).Map(t), "LoadBalancers", "0", "LoadBalancerArn")
	wantErr("internal without public ipv4", b.AWSv2(t, "elbv2", "set-ip-address-type", "--load-balancer-arn", internalLB,
		"--ip-address-type", "dualstack-without-public-ipv4"), "ValidationError")

	// Capacity reservations, IPAM pools, resource policies (boto3).
	b.Python(t, `import sys, boto3, botocore
elb = boto3.client("elbv2")
lb, listener = sys.argv[1:3]
def code(call):
    try:
        call()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    raise SystemExit("accepted")

r = elb.describe_capacity_reservation(LoadBalancerArn=lb)
assert "MinimumLoadBalancerCapacity" not in r and r["CapacityReservationState"] == [], r
r = elb.modify_capacity_reservation(LoadBalancerArn=lb, MinimumLoadBalancerCapacity={"CapacityUnits": 300})
assert r["MinimumLoadBalancerCapacity"]["CapacityUnits"] == 300, r
states = r["CapacityReservationState"]
assert len(states) == 2 and all(s["State"]["Code"] == "provisioned" and s["EffectiveCapacityUnits"] == 150.0 for s in states), r
d = elb.describe_capacity_reservation(LoadBalancerArn=lb)
assert d["MinimumLoadBalancerCapacity"] == {"CapacityUnits": 300} and d["DecreaseRequestsRemaining"] == 2 and "LastModifiedTime" in d, d
for units in (200, 100):
    elb.modify_capacity_reservation(LoadBalancerArn=lb, MinimumLoadBalancerCapacity={"CapacityUnits": units})
assert elb.describe_capacity_reservation(LoadBalancerArn=lb)["DecreaseRequestsRemaining"] == 0
assert code(lambda: elb.modify_capacity_reservation(LoadBalancerArn=lb, MinimumLoadBalancerCapacity={"CapacityUnits": 50})) == "CapacityDecreaseRequestLimitExceeded"
assert code(lambda: elb.modify_capacity_reservation(LoadBalancerArn=lb)) == "ValidationError"
elb.modify_capacity_reservation(LoadBalancerArn=lb, ResetCapacityReservation=True)
d = elb.describe_capacity_reservation(LoadBalancerArn=lb)
assert "MinimumLoadBalancerCapacity" not in d and d["CapacityReservationState"] == [], d

r = elb.modify_ip_pools(LoadBalancerArn=lb, IpamPools={"Ipv4IpamPoolId": "ipam-pool-0123456789abcdef0"})
assert r["IpamPools"] == {"Ipv4IpamPoolId": "ipam-pool-0123456789abcdef0"}, r
assert "IpamPools" not in elb.modify_ip_pools(LoadBalancerArn=lb, RemoveIpamPools=["ipv4"])
assert code(lambda: elb.modify_ip_pools(LoadBalancerArn=lb, IpamPools={"Ipv4IpamPoolId": "pool-1"})) == "ValidationError"

assert code(lambda: elb.get_resource_policy(ResourceArn=lb)) == "ResourceNotFound"
assert code(lambda: elb.describe_listener_certificates(ListenerArn="nope")) == "ValidationError"
assert code(lambda: elb.describe_ssl_policies(Names=["ELBSecurityPolicy-2016-08", "nope"])) == "SSLPolicyNotFound"
assert elb.describe_trust_stores()["TrustStores"] == []
try:
    elb.create_trust_store(Name="ca", CaCertificatesBundleS3Bucket="b", CaCertificatesBundleS3Key="ca.pem")
    raise SystemExit("create_trust_store accepted")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "CaCertificatesBundleNotFound" and "S3" in e.response["Error"]["Message"], e.response
ts = "arn:aws:elasticloadbalancing:us-east-1:123456789012:truststore/ca/0123456789abcdef"
assert code(lambda: elb.describe_trust_stores(Names=["ca"])) == "TrustStoreNotFound"
assert code(lambda: elb.delete_trust_store(TrustStoreArn=ts)) == "TrustStoreNotFound"
page = elb.describe_ssl_policies(PageSize=3)
assert len(page["SslPolicies"]) == 3 and "NextMarker" in page, page
`, lbArn, listener).Must(t)
}
