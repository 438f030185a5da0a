package dns

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

type fakeRecords map[string]Service

func (f fakeRecords) Service(ns, name string) (Service, bool) {
	s, ok := f[ns+"/"+name]
	return s, ok
}

var records = fakeRecords{
	"default/web": {ClusterIPs: []netip.Addr{netip.MustParseAddr("10.100.3.4")}, Ports: []Port{{Name: "http", Protocol: "tcp", Port: 80}}},
	"default/db": {Endpoints: []Endpoint{
		{IP: netip.MustParseAddr("172.20.0.5"), Hostname: "db-0"},
		{IP: netip.MustParseAddr("172.20.0.6")},
	}, Ports: []Port{{Name: "pg", Protocol: "tcp", Port: 5432}}},
	"shop/ext": {ExternalName: "example.com"},
}

func query(name string, t dnsmessage.Type) *dnsmessage.Message {
	return &dnsmessage.Message{Header: dnsmessage.Header{ID: 7, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: dnsmessage.MustNewName(name), Type: t, Class: dnsmessage.ClassINET}}}
}

func aRecords(m *dnsmessage.Message) []string {
	var out []string
	for _, a := range m.Answers {
		if r, ok := a.Body.(*dnsmessage.AResource); ok {
			out = append(out, netip.AddrFrom4(r.A).String())
		}
	}
	return out
}

func TestAnswer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		typ   dnsmessage.Type
		rcode dnsmessage.RCode
		a     []string
	}{
		{"web.default.svc.cluster.local.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"10.100.3.4"}},
		{"WEB.Default.svc.cluster.local.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"10.100.3.4"}},
		// An IPv4 Service has no AAAA: NODATA, not NXDOMAIN, or resolvers
		// would give up on the name.
		{"web.default.svc.cluster.local.", dnsmessage.TypeAAAA, dnsmessage.RCodeSuccess, nil},
		{"db.default.svc.cluster.local.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"172.20.0.5", "172.20.0.6"}},
		{"db-0.db.default.svc.cluster.local.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"172.20.0.5"}},
		{"172-20-0-6.db.default.svc.cluster.local.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"172.20.0.6"}},
		{"172-20-0-9.shop.pod.cluster.local.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"172.20.0.9"}},
		{"default.svc.cluster.local.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, nil},
		{"cluster.local.", dnsmessage.TypeSOA, dnsmessage.RCodeSuccess, nil},
		// What a search list tries first for "web.default" from a pod in
		// default: must be NXDOMAIN so the next suffix is tried.
		{"web.default.default.svc.cluster.local.", dnsmessage.TypeA, dnsmessage.RCodeNameError, nil},
		{"nothing.default.svc.cluster.local.", dnsmessage.TypeA, dnsmessage.RCodeNameError, nil},
		{"nope.db.default.svc.cluster.local.", dnsmessage.TypeA, dnsmessage.RCodeNameError, nil},
		{"1-2-3.shop.pod.cluster.local.", dnsmessage.TypeA, dnsmessage.RCodeNameError, nil},
		{"x.y.z.cluster.local.", dnsmessage.TypeA, dnsmessage.RCodeNameError, nil},
	} {
		resp, fwd := Answer(query(tc.name, tc.typ), "cluster.local", records)
		if fwd || resp == nil {
			t.Errorf("%s: forwarded", tc.name)
			continue
		}
		if resp.RCode != tc.rcode || resp.ID != 7 || !resp.Response || !resp.Authoritative || !resp.RecursionAvailable {
			t.Errorf("%s %v: header %+v", tc.name, tc.typ, resp.Header)
		}
		if got := aRecords(resp); len(got) != len(tc.a) || (len(got) > 0 && (got[0] != tc.a[0] || got[len(got)-1] != tc.a[len(tc.a)-1])) {
			t.Errorf("%s %v: A %v, want %v", tc.name, tc.typ, got, tc.a)
		}
		for _, a := range resp.Answers {
			if a.Header.TTL != TTL {
				t.Errorf("%s: TTL %d", tc.name, a.Header.TTL)
			}
		}
	}

	if _, fwd := Answer(query("example.com.", dnsmessage.TypeA), "cluster.local", records); !fwd {
		t.Error("a name outside the cluster domain is not forwarded")
	}
	if _, fwd := Answer(query("notcluster.local.", dnsmessage.TypeA), "cluster.local", records); !fwd {
		t.Error("a name that only ends like the domain is not forwarded")
	}

	resp, _ := Answer(query("_http._tcp.web.default.svc.cluster.local.", dnsmessage.TypeSRV), "cluster.local", records)
	if len(resp.Answers) != 1 {
		t.Fatalf("SRV: %+v", resp)
	}
	if srv := resp.Answers[0].Body.(*dnsmessage.SRVResource); srv.Port != 80 || srv.Target.String() != "web.default.svc.cluster.local." {
		t.Errorf("SRV: %+v", srv)
	}
	resp, _ = Answer(query("_pg._tcp.db.default.svc.cluster.local.", dnsmessage.TypeSRV), "cluster.local", records)
	if len(resp.Answers) != 2 || resp.Answers[0].Body.(*dnsmessage.SRVResource).Target.String() != "db-0.db.default.svc.cluster.local." {
		t.Errorf("headless SRV: %+v", resp.Answers)
	}
	if resp, _ = Answer(query("_x._tcp.web.default.svc.cluster.local.", dnsmessage.TypeSRV), "cluster.local", records); resp.RCode != dnsmessage.RCodeNameError {
		t.Errorf("SRV of an unknown port: %v", resp.RCode)
	}
	resp, _ = Answer(query("ext.shop.svc.cluster.local.", dnsmessage.TypeA), "cluster.local", records)
	if len(resp.Answers) != 1 || resp.Answers[0].Body.(*dnsmessage.CNAMEResource).CNAME.String() != "example.com." {
		t.Errorf("ExternalName: %+v", resp.Answers)
	}
}

// The server answers cluster names itself and relays the rest to its
// upstream, over UDP and TCP on one port.
func TestServerAnswersAndForwards(t *testing.T) {
	up := &Server{Domain: "example.test", Records: fakeRecords{"x/y": {ClusterIPs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}}}}
	if err := up.Listen(netip.MustParseAddr("127.0.0.1"), 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go up.Serve(ctx)
	srv := &Server{Domain: "cluster.local", Records: records, Upstreams: []string{"127.0.0.1:" + strconv.Itoa(up.Port())}}
	if err := srv.Listen(netip.MustParseAddr("127.0.0.1"), 0); err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ctx)

	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+strconv.Itoa(srv.Port()))
	}}
	lctx, lcancel := context.WithTimeout(ctx, 5*time.Second)
	defer lcancel()
	for name, want := range map[string]string{"web.default.svc.cluster.local": "10.100.3.4", "y.x.svc.example.test": "192.0.2.1"} {
		ips, err := r.LookupHost(lctx, name)
		if err != nil || len(ips) != 1 || ips[0] != want {
			t.Errorf("%s: %v %v", name, ips, err)
		}
	}
	if _, err := r.LookupHost(lctx, "nothing.default.svc.cluster.local"); err == nil {
		t.Error("an unknown Service resolved")
	}
	// TCP, as a client does after a truncated answer.
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(srv.Port()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q, _ := query("web.default.svc.cluster.local.", dnsmessage.TypeA).Pack()
	if err := writeTCP(c, q); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := readTCP(c)
	var m dnsmessage.Message
	if err != nil || m.Unpack(b) != nil || len(aRecords(&m)) != 1 {
		t.Errorf("over TCP: %v %+v", err, m)
	}
}

func TestHostResolvers(t *testing.T) {
	p := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(p, []byte("# x\nnameserver 127.0.0.53\nsearch example.com\nnameserver 10.0.0.2\nnameserver bogus\n"), 0o644)
	if got := HostResolvers(p); len(got) != 2 || got[0] != "127.0.0.53:53" || got[1] != "10.0.0.2:53" {
		t.Errorf("resolvers: %v", got)
	}
}
