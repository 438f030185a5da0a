package servicediscovery

import (
	"context"
	"testing"

	sdapi "github.com/berth-dev/berth/api/servicediscovery"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store/sqlite"
)

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
	return s
}

func ctxFor(account, region string) context.Context {
	return awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: account, Region: region})
}

func code(err error) string {
	if e := awsapi.AsError(err); e != nil {
		return e.Code
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func TestValidation(t *testing.T) {
	for _, c := range []struct {
		typ  sdapi.NamespaceType
		name string
		ok   bool
	}{
		{sdapi.NamespaceTypeDnsPrivate, "example.local", true},
		{sdapi.NamespaceTypeDnsPrivate, "example.local.", true},
		{sdapi.NamespaceTypeDnsPrivate, "dns_ns", true},
		{sdapi.NamespaceTypeDnsPrivate, "a..local", false},
		{sdapi.NamespaceTypeDnsPrivate, "has space.local", false},
		{sdapi.NamespaceTypeDnsPublic, "bad_name.com", false},
		{sdapi.NamespaceTypeDnsPublic, "-bad.com", false},
		{sdapi.NamespaceTypeHttp, "any-Name_1", true},
		{sdapi.NamespaceTypeHttp, "has space", false},
	} {
		if err := validNamespaceName(c.typ, c.name); (err == nil) != c.ok {
			t.Errorf("%s %q: %v", c.typ, c.name, err)
		}
	}
	a := ptr(sdapi.RecordTypeA)
	for _, c := range []struct {
		policy  sdapi.RoutingPolicy
		records []sdapi.DnsRecord
		ok      bool
	}{
		{sdapi.RoutingPolicyMultivalue, []sdapi.DnsRecord{{Type: a, TTL: ptr(int64(10))}}, true},
		{sdapi.RoutingPolicyMultivalue, nil, false},
		{sdapi.RoutingPolicyMultivalue, []sdapi.DnsRecord{{Type: a, TTL: ptr(int64(10))}, {Type: a, TTL: ptr(int64(5))}}, false},
		{sdapi.RoutingPolicyMultivalue, []sdapi.DnsRecord{{Type: ptr(sdapi.RecordTypeCname), TTL: ptr(int64(10))}}, false},
		{sdapi.RoutingPolicyWeighted, []sdapi.DnsRecord{{Type: ptr(sdapi.RecordTypeCname), TTL: ptr(int64(10))}}, true},
		{sdapi.RoutingPolicyMultivalue, []sdapi.DnsRecord{{Type: a}}, false},
	} {
		if err := validateDNSRecords(c.policy, c.records); (err == nil) != c.ok {
			t.Errorf("%s %+v: %v", c.policy, c.records, err)
		}
	}
	srv := &serviceDoc{ID: "srv-1", DnsConfig: &sdapi.DnsConfig{DnsRecords: []sdapi.DnsRecord{{Type: ptr(sdapi.RecordTypeSrv), TTL: ptr(int64(1))}}}}
	for _, c := range []struct {
		attrs map[string]string
		ok    bool
	}{
		{map[string]string{AttrIPv4: "10.0.0.1", AttrPort: "80"}, true},
		{map[string]string{AttrIPv4: "10.0.0.1"}, false},
		{map[string]string{AttrIPv4: "not-an-ip", AttrPort: "80"}, false},
		{map[string]string{AttrIPv4: "10.0.0.1", AttrPort: "70000"}, false},
		{map[string]string{AttrIPv4: "10.0.0.1", AttrPort: "80", AttrInitHealth: "MAYBE"}, false},
	} {
		if err := validateInstance(srv, "i-1", c.attrs); (err == nil) != c.ok {
			t.Errorf("%v: %v", c.attrs, err)
		}
	}
	if err := validateInstance(srv, "bad id!", map[string]string{AttrIPv4: "10.0.0.1", AttrPort: "80"}); err == nil {
		t.Error("bad instance id accepted")
	}
}

func TestDiscoverFilters(t *testing.T) {
	inst := func(id, zone string, healthy bool) *instanceDoc {
		return &instanceDoc{ID: id, Attributes: map[string]string{"zone": zone}, Healthy: healthy}
	}
	all := []*instanceDoc{inst("a", "1", true), inst("b", "2", false), inst("c", "2", true)}
	checked := &serviceDoc{HealthCheckCusto: &sdapi.HealthCheckCustomConfig{}}
	ids := func(in []*instanceDoc) string {
		s := ""
		for _, i := range in {
			s += i.ID
		}
		return s
	}
	for _, c := range []struct {
		d               *serviceDoc
		query, optional map[string]string
		filter          sdapi.HealthStatusFilter
		want            string
	}{
		{checked, nil, nil, sdapi.HealthStatusFilterHealthy, "ac"},
		{checked, nil, nil, sdapi.HealthStatusFilterAll, "abc"},
		{checked, nil, nil, sdapi.HealthStatusFilterUnhealthy, "b"},
		{checked, map[string]string{"zone": "2"}, nil, sdapi.HealthStatusFilterAll, "bc"},
		{checked, map[string]string{"zone": "2"}, nil, sdapi.HealthStatusFilterHealthy, "c"},
		{checked, nil, map[string]string{"zone": "1"}, sdapi.HealthStatusFilterAll, "a"},
		// Optional parameters nothing matches are dropped.
		{checked, nil, map[string]string{"zone": "9"}, sdapi.HealthStatusFilterAll, "abc"},
		{checked, map[string]string{"zone": "1"}, nil, sdapi.HealthStatusFilterUnhealthy, ""},
		// Failing open: no healthy one, so all.
		{checked, map[string]string{"zone": "2"}, map[string]string{}, sdapi.HealthStatusFilterHealthyOrElseAll, "c"},
		// Without a health check the filter is ignored.
		{&serviceDoc{}, nil, nil, sdapi.HealthStatusFilterUnhealthy, "abc"},
	} {
		if got := ids(discover(c.d, all, c.query, c.optional, c.filter)); got != c.want {
			t.Errorf("query %v optional %v %s: %q, want %q", c.query, c.optional, c.filter, got, c.want)
		}
	}
	unhealthyOnly := []*instanceDoc{inst("b", "2", false)}
	if got := ids(discover(checked, unhealthyOnly, nil, nil, sdapi.HealthStatusFilterHealthyOrElseAll)); got != "b" {
		t.Errorf("HEALTHY_OR_ELSE_ALL with none healthy: %q", got)
	}
}

func TestNamespaceFilters(t *testing.T) {
	c := caller{Account: "111111111111", Region: "us-east-1"}
	d := &namespaceDoc{Name: "example.local", Type: string(sdapi.NamespaceTypeDnsPrivate)}
	f := func(name sdapi.NamespaceFilterName, cond sdapi.FilterCondition, vals ...string) []sdapi.NamespaceFilter {
		return []sdapi.NamespaceFilter{{Name: ptr(name), Condition: ptr(cond), Values: vals}}
	}
	for _, cse := range []struct {
		filters []sdapi.NamespaceFilter
		want    bool
	}{
		{f(sdapi.NamespaceFilterNameType, sdapi.FilterConditionEq, "DNS_PRIVATE"), true},
		{f(sdapi.NamespaceFilterNameType, sdapi.FilterConditionIn, "HTTP", "DNS_PRIVATE"), true},
		{f(sdapi.NamespaceFilterNameType, sdapi.FilterConditionEq, "HTTP"), false},
		{f(sdapi.NamespaceFilterNameName, sdapi.FilterConditionBeginsWith, "exam"), true},
		{f(sdapi.NamespaceFilterNameName, sdapi.FilterConditionEq, "EXAMPLE.local"), true},
		{f(sdapi.NamespaceFilterNameResourceOwner, sdapi.FilterConditionEq, "SELF"), true},
		{f(sdapi.NamespaceFilterNameResourceOwner, sdapi.FilterConditionEq, "222222222222"), false},
	} {
		if got := namespaceMatches(c, d, cse.filters); got != cse.want {
			t.Errorf("%+v: %v", cse.filters[0], got)
		}
	}
	if err := validateNamespaceFilters(f(sdapi.NamespaceFilterNameType, sdapi.FilterConditionBeginsWith, "D")); code(err) != sdapi.CodeInvalidInput {
		t.Errorf("BEGINS_WITH on TYPE: %v", err)
	}
	if err := validateNamespaceFilters(f(sdapi.NamespaceFilterNameType, sdapi.FilterConditionEq)); code(err) != sdapi.CodeInvalidInput {
		t.Errorf("no values: %v", err)
	}
}

// TestSyncAndIsolation drives the ECS registration side: an owner's
// instances follow what it wants, others' are left alone, and another
// account sees nothing.
func TestSyncAndIsolation(t *testing.T) {
	s := newTestService(t)
	ctx := ctxFor("111111111111", "us-east-1")
	if _, err := s.CreatePrivateDnsNamespace(ctx, &sdapi.CreatePrivateDnsNamespaceInput{Name: ptr("a.local"), Vpc: ptr("vpc-1")}); err != nil {
		t.Fatal(err)
	}
	ns, err := s.ListNamespaces(ctx, &sdapi.ListNamespacesInput{})
	if err != nil || len(ns.Namespaces) != 1 {
		t.Fatal(err, ns)
	}
	out, err := s.CreateService(ctx, &sdapi.CreateServiceInput{Name: ptr("web"), NamespaceId: ns.Namespaces[0].Id,
		DnsConfig: &sdapi.DnsConfig{DnsRecords: []sdapi.DnsRecord{{Type: ptr(sdapi.RecordTypeA), TTL: ptr(int64(10))}}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := *out.Service.Arn
	if _, err := s.RegisterInstance(ctx, &sdapi.RegisterInstanceInput{ServiceId: out.Service.Id, InstanceId: ptr("manual"),
		Attributes: map[string]string{AttrIPv4: "10.0.0.9"}}); err != nil {
		t.Fatal(err)
	}
	list := func() map[string]string {
		l, err := s.ListInstances(ctx, &sdapi.ListInstancesInput{ServiceId: out.Service.Id})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, i := range l.Instances {
			m[*i.Id] = i.Attributes[AttrIPv4]
		}
		return m
	}
	owner := "arn:aws:ecs:us-east-1:111111111111:service/c/web"
	want := map[string][]Instance{arn: {
		{ID: "t1", Attributes: map[string]string{AttrIPv4: "10.0.0.1"}, Healthy: true},
		{ID: "t2", Attributes: map[string]string{AttrIPv4: "10.0.0.2"}, Healthy: true},
	}}
	if err := s.Sync(ctx, "111111111111", "us-east-1", owner, want); err != nil {
		t.Fatal(err)
	}
	if got := list(); len(got) != 3 || got["t1"] != "10.0.0.1" || got["manual"] != "10.0.0.9" {
		t.Fatalf("after sync: %v", got)
	}
	want[arn] = want[arn][1:]
	if err := s.Sync(ctx, "111111111111", "us-east-1", owner, want); err != nil {
		t.Fatal(err)
	}
	if got := list(); len(got) != 2 || got["t2"] == "" || got["manual"] == "" {
		t.Fatalf("after scale in: %v", got)
	}
	if err := s.Sync(ctx, "111111111111", "us-east-1", owner, nil); err != nil {
		t.Fatal(err)
	}
	if got := list(); len(got) != 1 || got["manual"] == "" {
		t.Fatalf("after delete: %v", got)
	}
	// Another account and another region see nothing.
	for _, other := range []context.Context{ctxFor("222222222222", "us-east-1"), ctxFor("111111111111", "eu-west-1")} {
		if _, err := s.GetService(other, &sdapi.GetServiceInput{Id: out.Service.Id}); code(err) != sdapi.CodeServiceNotFound {
			t.Errorf("other scope GetService: %v", err)
		}
		if _, err := s.DiscoverInstances(other, &sdapi.DiscoverInstancesInput{NamespaceName: ptr("a.local"), ServiceName: ptr("web")}); code(err) != sdapi.CodeNamespaceNotFound {
			t.Errorf("other scope DiscoverInstances: %v", err)
		}
	}
	if _, err := s.DeleteNamespace(ctx, &sdapi.DeleteNamespaceInput{Id: ns.Namespaces[0].Id}); code(err) != sdapi.CodeResourceInUse {
		t.Errorf("DeleteNamespace with a service: %v", err)
	}
}
