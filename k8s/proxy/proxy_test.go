package proxy

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ptr[T any](v T) *T { return &v }

func service(ns, name string, typ corev1.ServiceType, clusterIP string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Type: typ, ClusterIP: clusterIP, ClusterIPs: []string{clusterIP}, Ports: ports},
	}
}

func slice(ns, svc string, port int32, portName string, ready map[string]bool) *discoveryv1.EndpointSlice {
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: svc + "-x", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr(portName), Port: ptr(port)}},
	}
	for ip, r := range ready {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(r)}})
	}
	return es
}

func TestServicePortsJoinReadyEndpointsByPortName(t *testing.T) {
	svcs := []*corev1.Service{
		service("default", "web", corev1.ServiceTypeLoadBalancer, "10.100.3.4",
			corev1.ServicePort{Name: "http", Port: 80, NodePort: 31000},
			corev1.ServicePort{Name: "metrics", Port: 9090, Protocol: corev1.ProtocolTCP}),
		service("default", "db", corev1.ServiceTypeClusterIP, "None", corev1.ServicePort{Port: 5432}),
	}
	eps := []*discoveryv1.EndpointSlice{
		slice("default", "web", 8080, "http", map[string]bool{"172.20.0.3": true, "172.20.0.2": true, "172.20.0.9": false}),
		slice("other", "web", 8080, "http", map[string]bool{"172.20.0.7": true}),
	}
	got := ServicePorts(svcs, eps)
	if len(got) != 3 {
		t.Fatalf("ports: %+v", got)
	}
	db, http, metrics := got[0], got[1], got[2]
	if db.String() != "default/db" || len(db.ClusterIPs) != 0 {
		t.Errorf("headless: %+v", db)
	}
	if http.String() != "default/web:http" || http.Protocol != corev1.ProtocolTCP || http.NodePort != 31000 ||
		len(http.Endpoints) != 2 || http.Endpoints[0].String() != "172.20.0.2:8080" || http.Endpoints[1].String() != "172.20.0.3:8080" {
		t.Errorf("web:http: %+v", http)
	}
	if metrics.PortName != "metrics" || len(metrics.Endpoints) != 0 {
		t.Errorf("web:metrics has no endpoint port of its name: %+v", metrics)
	}
}

func TestRenderDNATsToRandomEndpointAndRejectsWithoutOne(t *testing.T) {
	c := ChainsFor("berth-eks-0123456789ab")
	if !strings.HasPrefix(c.Services, "BERTH-SVC-") || len(c.Services) != 18 {
		t.Fatalf("chain name %q", c.Services)
	}
	ports := []ServicePort{
		{Namespace: "default", Name: "web", PortName: "http", Protocol: corev1.ProtocolTCP, ClusterIPs: []string{"10.100.3.4"}, Port: 80,
			Endpoints: []Endpoint{{"172.20.0.2", 8080}, {"172.20.0.3", 8080}, {"172.20.0.4", 8080}}},
		{Namespace: "default", Name: "empty", Protocol: corev1.ProtocolTCP, ClusterIPs: []string{"10.100.3.5"}, Port: 80},
		// The API server's own endpoint is loopback: unreachable from the
		// bridge, so it rejects rather than blackholes.
		{Namespace: "default", Name: "kubernetes", PortName: "https", Protocol: corev1.ProtocolTCP, ClusterIPs: []string{"10.100.0.1"}, Port: 443,
			Endpoints: []Endpoint{{"127.0.0.1", 6443}}},
		{Namespace: "kube-system", Name: "kube-dns", PortName: "dns", Protocol: corev1.ProtocolUDP, ClusterIPs: []string{"10.100.0.10"}, Port: 53,
			Endpoints: []Endpoint{{"172.20.0.1", 40053}}},
	}
	web := c.portChain(ports[0])
	stale := c.portPrefix + "DEADBEEF00"
	out := Render(c, "br-abc", ports, []string{"PREROUTING", "DOCKER", c.Services, web, stale, "BERTH-S-FFFFFFFF-0000000000"})
	if len(web) > 28 {
		t.Errorf("chain %s is longer than iptables allows", web)
	}
	for _, want := range []string{
		"*nat\n:" + c.Services + " - [0:0]\n:" + c.Postrouting + " - [0:0]\n",
		"-A " + c.Postrouting + " -o br-abc -m mark --mark 0x4000/0x4000 -j MASQUERADE\n",
		"-A " + c.Services + ` -i br-abc -d 10.100.3.4/32 -p tcp -m tcp --dport 80 -m comment --comment "default/web:http cluster IP" -j ` + web + "\n",
		"-A " + web + " -j MARK --set-xmark 0x4000/0x4000\n" +
			"-A " + web + " -m statistic --mode random --probability 0.3333333333 -p tcp -j DNAT --to-destination 172.20.0.2:8080\n" +
			"-A " + web + " -m statistic --mode random --probability 0.5000000000 -p tcp -j DNAT --to-destination 172.20.0.3:8080\n" +
			"-A " + web + " -p tcp -j DNAT --to-destination 172.20.0.4:8080\n",
		"-p udp -m udp --dport 53",
		"--to-destination 172.20.0.1:40053\n",
		// Stale chains of this cluster go; another cluster's stay.
		":" + stale + " - [0:0]\n",
		"-X " + stale + "\nCOMMIT\n",
		"*filter\n:" + c.Forward + " - [0:0]\n",
		"-A " + c.Forward + ` -i br-abc -d 10.100.3.5/32 -p tcp -m tcp --dport 80 -m comment --comment "default/empty has no endpoints" -j REJECT --reject-with icmp-port-unreachable` + "\n",
		"-A " + c.Forward + ` -i br-abc -d 10.100.0.1/32 -p tcp -m tcp --dport 443`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rules lack %q:\n%s", want, out)
		}
	}
	for _, not := range []string{"127.0.0.1", "FFFFFFFF", "-X " + web, "-X " + c.Services} {
		if strings.Contains(out, not) {
			t.Errorf("rules contain %q:\n%s", not, out)
		}
	}
	if again := Render(c, "br-abc", ports, nil); again != Render(c, "br-abc", ports, nil) {
		t.Error("rendering is not deterministic")
	}
}

func TestCleanupInputRemovesOnlyTheClustersChains(t *testing.T) {
	c := ChainsFor("berth-a")
	other := ChainsFor("berth-b")
	web := c.portChain(ServicePort{Namespace: "default", Name: "web"})
	in := cleanupInput(c, []string{"PREROUTING", c.Services, c.Postrouting, web, other.Services}, []string{"FORWARD", c.Forward})
	want := "*nat\n:" + c.Services + " - [0:0]\n:" + c.Postrouting + " - [0:0]\n:" + web + " - [0:0]\n-X " + c.Services +
		"\n-X " + c.Postrouting + "\n-X " + web + "\nCOMMIT\n*filter\n:" + c.Forward + " - [0:0]\n-X " + c.Forward + "\nCOMMIT\n"
	if in != want {
		t.Errorf("cleanup:\n%s\nwant:\n%s", in, want)
	}
	if got := chainsIn("*nat\n:PREROUTING ACCEPT [0:0]\n:" + web + " - [0:0]\n-A PREROUTING -j X\nCOMMIT\n"); len(got) != 2 || got[1] != web {
		t.Errorf("chainsIn: %v", got)
	}
}

func TestLoadBalancerIPIsStableLoopbackAndAvoidsTaken(t *testing.T) {
	a := LoadBalancerIP("shop/default/web", nil)
	if a != LoadBalancerIP("shop/default/web", nil) || !IsLoadBalancerIP(a) || a == netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("address %s", a)
	}
	if b := LoadBalancerIP("shop/default/api", nil); b == a {
		t.Errorf("two Services share %s", a)
	}
	b := LoadBalancerIP("shop/default/web", func(x netip.Addr) bool { return x == a })
	if b == a || !IsLoadBalancerIP(b) {
		t.Errorf("taken address given again: %s", b)
	}
	for _, s := range []string{"127.0.0.1", "127.0.0.53", "10.0.0.1", "127.1.2.255"} {
		if IsLoadBalancerIP(netip.MustParseAddr(s)) {
			t.Errorf("%s counted as a load balancer address", s)
		}
	}
}

func TestForwarderRelaysRoundRobinAndReportsTakenPorts(t *testing.T) {
	var backends []Endpoint
	for _, name := range []string{"a", "b"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) }))
		defer srv.Close()
		ap := netip.MustParseAddrPort(srv.Listener.Addr().String())
		backends = append(backends, Endpoint{IP: ap.Addr().String(), Port: int32(ap.Port())})
	}
	// A dead endpoint first: it is skipped.
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := netip.MustParseAddrPort(dead.Addr().String())
	dead.Close()
	eps := append([]Endpoint{{IP: "127.0.0.1", Port: int32(deadAddr.Port())}}, backends...)

	free, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := free.Addr().String()
	free.Close()
	f := NewForwarder()
	defer f.Close()
	if failed := f.Sync(map[string]Route{addr: {Endpoints: eps}}); len(failed) != 0 {
		t.Fatal(failed)
	}
	seen := map[string]int{}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for range 6 {
		resp, err := c.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen[string(b)]++
	}
	if seen["a"] == 0 || seen["b"] == 0 {
		t.Errorf("round robin: %v", seen)
	}

	taken, _ := net.Listen("tcp", "127.0.0.1:0")
	defer taken.Close()
	want := map[string]Route{addr: {Endpoints: eps}, taken.Addr().String(): {Endpoints: eps}}
	if failed := f.Sync(want); len(failed) != 1 || failed[taken.Addr().String()] == nil {
		t.Errorf("taken port: %v", failed)
	}
	if failed := f.Sync(want); len(failed) != 0 {
		t.Errorf("a taken port is reported again: %v", failed)
	}
	f.Sync(nil)
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("still listening after the route went")
	}
}

func TestStaleClustersAreThoseWithoutANetwork(t *testing.T) {
	live, gone := ChainsFor("berth-eks-live"), ChainsFor("berth-eks-gone")
	chains := []string{"PREROUTING", "DOCKER", live.Services, live.portChain(ServicePort{Name: "a"}), gone.Postrouting,
		gone.portChain(ServicePort{Name: "b"}), gone.Forward, "BERTH-SVC-lower123"}
	got := staleClusters(chains, []string{"bridge", "berth-eks-live"})
	if want := strings.TrimPrefix(gone.Services, "BERTH-SVC-"); len(got) != 1 || got[0] != want {
		t.Errorf("stale: %v, want [%s]", got, want)
	}
	if chainsOf(got[0]) != gone {
		t.Errorf("chains of the hash: %+v, want %+v", chainsOf(got[0]), gone)
	}
}
