package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/berth-dev/berth/k8s/dns"
	"github.com/berth-dev/berth/k8s/proxy"
	"github.com/berth-dev/berth/runtime/docker"
)

// The services add-on is the cluster's kube-proxy and CoreDNS (docs/eks.md,
// "Services and cluster DNS"): iptables rules in the host for cluster IPs
// from the cluster's bridge network, a DNS server on the bridge behind the
// kube-dns Service, and userspace forwarders for NodePort and LoadBalancer
// Services on loopback addresses.
var svcFlags struct {
	podNetwork string
	nodeIP     string
	domain     string
	dockerHost string
}

func init() {
	registerAddon(addon{
		name: "services",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&svcFlags.podNetwork, "pod-network", "", "Docker bridge network of the cluster's pods (`berth-k8s nodes --network`); empty: no cluster IPs or cluster DNS, only NodePort and LoadBalancer forwarding")
			fs.StringVar(&svcFlags.nodeIP, "services-node-ip", "127.0.0.1", "address NodePort Services listen on (the nodes' InternalIP)")
			fs.StringVar(&svcFlags.domain, "cluster-domain", "cluster.local", "DNS domain of the cluster's Services and pods")
			fs.StringVar(&svcFlags.dockerHost, "services-docker-host", "", "Docker engine of the pods (default: DOCKER_HOST or the local socket)")
		},
		run: runServices,
	})
}

// Names of the cluster DNS objects, as EKS's CoreDNS add-on has them.
const (
	dnsNamespace = "kube-system"
	dnsService   = "kube-dns"
	dnsSlice     = "kube-dns-berth"
	dnsManagedBy = "berth-cluster-dns"
	// resyncEvery redoes everything even without a change: rules someone
	// flushed (a Docker restart, an iptables -F), a recreated network.
	resyncEvery = 30 * time.Second
)

type services struct {
	client   kubernetes.Interface
	cluster  string
	svcs     corelisters.ServiceLister
	slices   discoverylisters.EndpointSliceLister
	recorder record.EventRecorder
	fwd      *proxy.Forwarder
	ipt      proxy.IPTables
	chains   proxy.Chains

	// apiPort is the API server's port on 127.0.0.1.
	apiPort int
	// rt finds the pods' network; nil without one (or without iptables).
	// The DNS fields are the run loop's alone.
	rt         *docker.Runtime
	stopDNS    context.CancelFunc
	dnsGateway netip.Addr
	dnsPort    int
	dnsReady   bool
	// staleRemoved is set once other clusters' leftovers were removed.
	staleRemoved bool

	// bridge is the pods' network, when there is one and iptables works.
	mu       sync.Mutex
	bridge   *docker.BridgeNetwork
	lastRule string
}

func runServices(ctx context.Context, env addonEnv) error {
	s := &services{client: env.Client, cluster: env.Name, fwd: proxy.NewForwarder()}
	if u, err := url.Parse(env.RestConfig.Host); err == nil {
		s.apiPort, _ = strconv.Atoi(u.Port())
	}
	defer s.fwd.Close()
	bc := record.NewBroadcaster()
	bc.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: env.Client.CoreV1().Events("")})
	defer bc.Shutdown()
	s.recorder = bc.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "berth-service-proxy"})

	f := informers.NewSharedInformerFactory(env.Client, 0)
	s.svcs = f.Core().V1().Services().Lister()
	s.slices = f.Discovery().V1().EndpointSlices().Lister()
	kick := make(chan struct{}, 1)
	trigger := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { trigger() },
		UpdateFunc: func(any, any) { trigger() },
		DeleteFunc: func(any) { trigger() },
	}
	f.Core().V1().Services().Informer().AddEventHandler(h)
	f.Discovery().V1().EndpointSlices().Informer().AddEventHandler(h)
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())

	if svcFlags.podNetwork != "" {
		s.chains = proxy.ChainsFor(svcFlags.podNetwork)
		if err := s.ipt.Check(ctx); err != nil {
			klog.Errorf("services: %v: cluster IPs and cluster DNS are not served (NodePort and LoadBalancer Services are)", err)
		} else if s.rt, err = docker.New(docker.Options{Host: svcFlags.dockerHost, Network: svcFlags.podNetwork}); err != nil {
			klog.Errorf("services: %v: cluster IPs and cluster DNS are not served", err)
		} else {
			defer s.rt.Close()
		}
	} else {
		klog.Infof("services: no --pod-network: cluster IPs and cluster DNS are not served")
	}

	tick := time.NewTicker(resyncEvery)
	defer tick.Stop()
	force := true
	for {
		// Events come in bursts (a Deployment's endpoints one by one); a
		// short pause lets one sync take them all.
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return nil
		}
		if force && s.rt != nil {
			s.refreshNetwork(ctx)
		}
		if err := s.sync(ctx, force); err != nil && ctx.Err() == nil {
			klog.Errorf("services: %v", err)
		}
		force = false
		// Until the cluster DNS is up (the network may not exist yet, the
		// engine may be down), its setup is tried again sooner.
		var retry <-chan time.Time
		if s.rt != nil && !s.dnsReady {
			retry = time.After(5 * time.Second)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-kick:
		case <-tick.C:
			force = true
		case <-retry:
			force = true
		}
	}
}

// refreshNetwork finds the pods' bridge and serves cluster DNS on its
// gateway; called at every full resync, it follows a network that was
// removed and made again (another bridge, perhaps another subnet).
func (s *services) refreshNetwork(ctx context.Context) {
	bn, err := s.rt.Network(ctx)
	if err != nil {
		klog.Warningf("services: pod network %s: %v (trying again in %s)", svcFlags.podNetwork, err, resyncEvery)
		return
	}
	s.mu.Lock()
	s.bridge = &bn
	s.mu.Unlock()
	if !s.staleRemoved {
		s.removeStaleChains(ctx)
	}
	if s.dnsGateway != bn.Gateway {
		if s.stopDNS != nil {
			s.stopDNS()
		}
		srv := &dns.Server{Domain: svcFlags.domain, Records: dnsRecords{s}, Upstreams: dns.HostResolvers("/etc/resolv.conf")}
		if err := srv.Listen(bn.Gateway, s.previousDNSPort(ctx)); err != nil {
			klog.Errorf("services: cluster DNS: %v (trying again in %s)", err, resyncEvery)
			return
		}
		dctx, cancel := context.WithCancel(ctx)
		s.stopDNS, s.dnsPort, s.dnsGateway, s.dnsReady = cancel, srv.Port(), bn.Gateway, false
		go srv.Serve(dctx)
		klog.Infof("services: pod network %s (bridge %s, %s, gateway %s); cluster DNS on %s:%d, upstream %v",
			bn.Name, bn.Interface, bn.Subnet, bn.Gateway, bn.Gateway, srv.Port(), srv.Upstreams)
	}
	if s.dnsReady {
		return
	}
	if err := s.ensureDNSService(ctx, bn.Gateway, s.dnsPort); err != nil {
		s.dnsReady = false
		klog.Warningf("services: kube-dns Service: %v (trying again in %s)", err, resyncEvery)
		return
	}
	s.dnsReady = true
}

// removeStaleChains removes the iptables chains of clusters whose pod
// network is gone: deleting a cluster removes its chains, but a cluster
// whose processes were killed with Berth and whose data went never is.
// Once this cluster's own network exists (refreshNetwork made it), every
// live cluster on the engine has its network, so no live chain is taken.
func (s *services) removeStaleChains(ctx context.Context) {
	names, err := s.rt.NetworkNames(ctx)
	if err != nil {
		return
	}
	s.staleRemoved = true
	n, err := s.ipt.RemoveStale(ctx, names)
	if n > 0 {
		klog.Infof("services: removed the iptables chains of %d clusters whose pod networks are gone", n)
	}
	if err != nil {
		klog.Warningf("services: removing stale chains: %v", err)
	}
}

// previousDNSPort is the DNS port of the last run (in kube-dns's
// EndpointSlice), reused so that the rules keep pointing at it.
func (s *services) previousDNSPort(ctx context.Context) int {
	es, err := s.client.DiscoveryV1().EndpointSlices(dnsNamespace).Get(ctx, dnsSlice, metav1.GetOptions{})
	if err != nil || len(es.Ports) == 0 || es.Ports[0].Port == nil {
		return 0
	}
	return int(*es.Ports[0].Port)
}

// ensureDNSService makes kube-system/kube-dns (cluster IP: the tenth
// address of the service range, as on EKS) and its EndpointSlice pointing
// at the DNS server, so the ordinary Service rules carry pods' queries to
// it.
func (s *services) ensureDNSService(ctx context.Context, gateway netip.Addr, port int) error {
	svcs := s.client.CoreV1().Services(dnsNamespace)
	if _, err := svcs.Get(ctx, dnsService, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		k, err := s.client.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
		if err != nil {
			return err
		}
		first, err := netip.ParseAddr(k.Spec.ClusterIP)
		if err != nil {
			return fmt.Errorf("kubernetes Service's cluster IP %q: %w", k.Spec.ClusterIP, err)
		}
		ip := tenthAddress(first)
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: dnsService, Namespace: dnsNamespace, Labels: map[string]string{
				"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS", "kubernetes.io/cluster-service": "true",
				"eks.amazonaws.com/component": "kube-dns",
			}},
			Spec: corev1.ServiceSpec{
				ClusterIP: ip.String(),
				Ports: []corev1.ServicePort{
					{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53, TargetPort: intstr.FromInt32(53)},
					{Name: "dns-tcp", Protocol: corev1.ProtocolTCP, Port: 53, TargetPort: intstr.FromInt32(53)},
				},
			},
		}
		if _, err := svcs.Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	} else if err != nil {
		return err
	}
	p := int32(port)
	udp, tcp := corev1.ProtocolUDP, corev1.ProtocolTCP
	dnsName, tcpName := "dns", "dns-tcp"
	ready := true
	es := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: dnsSlice, Namespace: dnsNamespace, Labels: map[string]string{
			discoveryv1.LabelServiceName: dnsService, discoveryv1.LabelManagedBy: dnsManagedBy,
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{gateway.String()}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports: []discoveryv1.EndpointPort{
			{Name: &dnsName, Protocol: &udp, Port: &p},
			{Name: &tcpName, Protocol: &tcp, Port: &p},
		},
	}
	api := s.client.DiscoveryV1().EndpointSlices(dnsNamespace)
	cur, err := api.Get(ctx, dnsSlice, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = api.Create(ctx, es, metav1.CreateOptions{})
	case err == nil:
		es.ResourceVersion = cur.ResourceVersion
		_, err = api.Update(ctx, es, metav1.UpdateOptions{})
	}
	return err
}

// tenthAddress is the cluster DNS address: 10.100.0.10 for 10.100.0.1.
func tenthAddress(first netip.Addr) netip.Addr {
	a := first
	for range 9 {
		a = a.Next()
	}
	return a
}

// sync makes rules, listeners and load balancer addresses what the
// Services and EndpointSlices say.
func (s *services) sync(ctx context.Context, force bool) error {
	svcs, err := s.svcs.List(labels.Everything())
	if err != nil {
		return err
	}
	eps, err := s.slices.List(labels.Everything())
	if err != nil {
		return err
	}
	ports := proxy.ServicePorts(svcs, eps)
	var errs []error
	routes := map[string]proxy.Route{}

	s.mu.Lock()
	bridge := s.bridge
	s.mu.Unlock()
	if bridge != nil {
		if relay, ok := s.apiServerRelay(ports, bridge.Gateway); ok {
			routes[relay] = proxy.Route{Endpoints: []proxy.Endpoint{{IP: "127.0.0.1", Port: int32(s.apiPort)}}}
		}
		rules := proxy.Render(s.chains, bridge.Interface, ports, nil)
		if force || rules != s.lastRule {
			if err := s.ipt.Sync(ctx, s.chains, bridge.Interface, ports); err != nil {
				errs = append(errs, err)
				s.lastRule = ""
			} else {
				s.lastRule = rules
			}
		}
	}

	lbIPs := s.loadBalancers(ctx, svcs)
	owner := map[string]*corev1.Service{}
	byName := map[string]*corev1.Service{}
	for _, svc := range svcs {
		byName[svc.Namespace+"/"+svc.Name] = svc
	}
	for _, sp := range ports {
		if sp.Protocol != corev1.ProtocolTCP {
			continue
		}
		svc := byName[sp.Namespace+"/"+sp.Name]
		r := proxy.Route{Port: sp, Endpoints: sp.Endpoints}
		if (sp.Type == corev1.ServiceTypeNodePort || sp.Type == corev1.ServiceTypeLoadBalancer) && sp.NodePort > 0 {
			a := net.JoinHostPort(svcFlags.nodeIP, strconv.Itoa(int(sp.NodePort)))
			routes[a], owner[a] = r, svc
		}
		if ip, ok := lbIPs[sp.Namespace+"/"+sp.Name]; ok {
			a := net.JoinHostPort(ip.String(), strconv.Itoa(int(sp.Port)))
			routes[a], owner[a] = r, svc
		}
	}
	for addr, err := range s.fwd.Sync(routes) {
		klog.Errorf("services: %s: cannot listen on %s: %v", routes[addr].Port, addr, err)
		if svc := owner[addr]; svc != nil {
			s.recorder.Eventf(svc, corev1.EventTypeWarning, "PortUnavailable", "cannot listen on %s for %s: %v", addr, routes[addr].Port, err)
		}
	}
	return errors.Join(errs...)
}

// apiServerRelay points the kubernetes Service at a relay on the bridge's
// gateway (the API server's port there), which forwards to the API server
// on 127.0.0.1: the Service's own endpoint is the host's address, where
// the API server does not listen, and pods cannot reach loopback. It
// returns the relay's address.
func (s *services) apiServerRelay(ports []proxy.ServicePort, gateway netip.Addr) (string, bool) {
	if s.apiPort == 0 {
		return "", false
	}
	relay := proxy.Endpoint{IP: gateway.String(), Port: int32(s.apiPort)}
	found := false
	for i, sp := range ports {
		if sp.Namespace == "default" && sp.Name == "kubernetes" && sp.Protocol == corev1.ProtocolTCP && len(sp.Endpoints) > 0 {
			ports[i].Endpoints = []proxy.Endpoint{relay}
			found = true
		}
	}
	return relay.String(), found
}

// ours reports whether Berth is the load balancer of a Service.
func ours(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer &&
		(svc.Spec.LoadBalancerClass == nil || *svc.Spec.LoadBalancerClass == proxy.LoadBalancerClass)
}

// loadBalancers gives every LoadBalancer Service of ours a loopback address
// (kept from its status across restarts) and writes it to the status; a
// Service that is no longer one loses the address Berth gave it.
func (s *services) loadBalancers(ctx context.Context, svcs []*corev1.Service) map[string]netip.Addr {
	out := map[string]netip.Addr{}
	taken := map[netip.Addr]bool{}
	for _, svc := range svcs {
		if ip, ok := statusIP(svc); ok && ours(svc) {
			if !taken[ip] {
				out[svc.Namespace+"/"+svc.Name] = ip
				taken[ip] = true
			}
		}
	}
	for _, svc := range svcs {
		key := svc.Namespace + "/" + svc.Name
		_, has := statusIP(svc)
		switch {
		case ours(svc):
			if _, ok := out[key]; !ok {
				ip := proxy.LoadBalancerIP(s.cluster+"/"+svcFlags.podNetwork+"/"+key, func(a netip.Addr) bool { return taken[a] })
				out[key], taken[ip] = ip, true
			}
			if cur, _ := statusIP(svc); cur != out[key] || len(svc.Status.LoadBalancer.Ingress) != 1 {
				up := svc.DeepCopy()
				up.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: out[key].String(), IPMode: ptr(corev1.LoadBalancerIPModeVIP)}}
				if _, err := s.client.CoreV1().Services(svc.Namespace).UpdateStatus(ctx, up, metav1.UpdateOptions{}); err != nil {
					klog.Warningf("services: %s: load balancer status: %v", key, err)
				}
			}
		case has && svc.Spec.Type != corev1.ServiceTypeLoadBalancer:
			up := svc.DeepCopy()
			up.Status.LoadBalancer = corev1.LoadBalancerStatus{}
			if _, err := s.client.CoreV1().Services(svc.Namespace).UpdateStatus(ctx, up, metav1.UpdateOptions{}); err != nil {
				klog.Warningf("services: %s: load balancer status: %v", key, err)
			}
		}
	}
	return out
}

// statusIP is the loopback address Berth wrote to a Service's status.
func statusIP(svc *corev1.Service) (netip.Addr, bool) {
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if a, err := netip.ParseAddr(in.IP); err == nil && proxy.IsLoadBalancerIP(a) {
			return a, true
		}
	}
	return netip.Addr{}, false
}

func ptr[T any](v T) *T { return &v }

// dnsRecords answers the DNS server from the informers' caches.
type dnsRecords struct{ s *services }

func (r dnsRecords) Service(namespace, name string) (dns.Service, bool) {
	svc, err := r.s.svcs.Services(namespace).Get(name)
	if err != nil {
		return dns.Service{}, false
	}
	var out dns.Service
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		out.ExternalName = svc.Spec.ExternalName
		return out, true
	}
	for _, ip := range svc.Spec.ClusterIPs {
		if a, err := netip.ParseAddr(ip); err == nil && a.Is4() {
			out.ClusterIPs = append(out.ClusterIPs, a)
		}
	}
	for _, p := range svc.Spec.Ports {
		if p.Name != "" {
			proto := p.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			out.Ports = append(out.Ports, dns.Port{Name: p.Name, Protocol: string(toLower(proto)), Port: uint16(p.Port)})
		}
	}
	sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: name})
	slices, _ := r.s.slices.EndpointSlices(namespace).List(sel)
	seen := map[netip.Addr]bool{}
	for _, es := range slices {
		if es.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		for _, ep := range es.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				ip, err := netip.ParseAddr(a)
				if err != nil || seen[ip] {
					continue
				}
				seen[ip] = true
				e := dns.Endpoint{IP: ip}
				if ep.Hostname != nil {
					e.Hostname = *ep.Hostname
				}
				out.Endpoints = append(out.Endpoints, e)
			}
		}
	}
	return out, true
}

func toLower(p corev1.Protocol) corev1.Protocol {
	switch p {
	case corev1.ProtocolTCP:
		return "tcp"
	case corev1.ProtocolUDP:
		return "udp"
	case corev1.ProtocolSCTP:
		return "sctp"
	}
	return p
}

// servicesCleanup is `berth-k8s services-cleanup --pod-network NAME`, run
// by Berth when it deletes a cluster: the cluster's iptables chains and its
// pod network outlive the control plane on purpose (pods keep reaching
// Services while berth-k8s restarts), so a deleted cluster's are removed
// here.
func servicesCleanup(args []string) error {
	fs := flag.NewFlagSet("berth-k8s services-cleanup", flag.ContinueOnError)
	network := fs.String("pod-network", "", "the cluster's pod network (required)")
	dockerHost := fs.String("docker-host", "", "Docker engine address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *network == "" {
		return errors.New("--pod-network is required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	var ipt proxy.IPTables
	if err := ipt.Check(ctx); err == nil {
		if err := ipt.Cleanup(ctx, proxy.ChainsFor(*network)); err != nil {
			errs = append(errs, err)
		}
	}
	rt, err := docker.New(docker.Options{Host: *dockerHost, Network: *network})
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	defer rt.Close()
	if err := rt.RemoveNetwork(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func servicesCleanupMain() {
	if err := servicesCleanup(os.Args[2:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "berth-k8s services-cleanup: %v\n", err)
		os.Exit(1)
	}
}
