// Package proxy is what kube-proxy does on an EKS node, for a Berth cluster
// whose pods all sit on one Docker bridge of the host: ClusterIP Services
// become iptables NAT rules in the host (iptables.go), NodePort and
// LoadBalancer Services userspace TCP forwarders on the host's loopback
// addresses (userspace.go, loadbalancer.go).
package proxy

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// Endpoint is one ready backend of a Service port.
type Endpoint struct {
	IP   string
	Port int32
}

func (e Endpoint) String() string {
	return netip.AddrPortFrom(netip.MustParseAddr(e.IP), uint16(e.Port)).String()
}

// ServicePort is one port of one Service with its ready endpoints: the unit
// every rule and listener is made for.
type ServicePort struct {
	Namespace string
	Name      string
	PortName  string
	Type      corev1.ServiceType
	Protocol  corev1.Protocol
	// ClusterIPs are the Service's IPv4 cluster IPs; none for headless and
	// ExternalName Services.
	ClusterIPs []string
	Port       int32
	NodePort   int32
	Endpoints  []Endpoint
}

// String names the port as kube-proxy's comments do: ns/name:port.
func (sp ServicePort) String() string {
	s := sp.Namespace + "/" + sp.Name
	if sp.PortName != "" {
		s += ":" + sp.PortName
	}
	return s
}

// ServicePorts joins Services with their EndpointSlices (by the
// kubernetes.io/service-name label and port name), keeping only ready IPv4
// endpoints, in a stable order so that rendering the same state twice gives
// the same text.
func ServicePorts(svcs []*corev1.Service, eps []*discoveryv1.EndpointSlice) []ServicePort {
	type portKey struct{ ns, svc, port string }
	backends := map[portKey][]Endpoint{}
	for _, es := range eps {
		svc := es.Labels[discoveryv1.LabelServiceName]
		if svc == "" || es.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		for _, p := range es.Ports {
			if p.Port == nil {
				continue
			}
			name := ""
			if p.Name != nil {
				name = *p.Name
			}
			k := portKey{es.Namespace, svc, name}
			for _, ep := range es.Endpoints {
				// A nil Ready is "unknown", which consumers must read as
				// ready.
				if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
					continue
				}
				for _, a := range ep.Addresses {
					e := Endpoint{IP: a, Port: *p.Port}
					if _, err := netip.ParseAddr(a); err == nil && !slices.Contains(backends[k], e) {
						backends[k] = append(backends[k], e)
					}
				}
			}
		}
	}
	var out []ServicePort
	for _, svc := range svcs {
		if svc.Spec.Type == corev1.ServiceTypeExternalName {
			continue
		}
		var ips []string
		for _, ip := range append([]string{svc.Spec.ClusterIP}, svc.Spec.ClusterIPs...) {
			if a, err := netip.ParseAddr(ip); err == nil && a.Is4() && !slices.Contains(ips, ip) {
				ips = append(ips, ip)
			}
		}
		for _, p := range svc.Spec.Ports {
			sp := ServicePort{
				Namespace: svc.Namespace, Name: svc.Name, PortName: p.Name, Type: svc.Spec.Type,
				Protocol: p.Protocol, ClusterIPs: ips, Port: p.Port, NodePort: p.NodePort,
			}
			if sp.Protocol == "" {
				sp.Protocol = corev1.ProtocolTCP
			}
			sp.Endpoints = slices.Clone(backends[portKey{svc.Namespace, svc.Name, p.Name}])
			sort.Slice(sp.Endpoints, func(i, j int) bool { return sp.Endpoints[i].String() < sp.Endpoints[j].String() })
			out = append(out, sp)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := out[i].String(), out[j].String(); a != b {
			return a < b
		}
		return fmt.Sprint(out[i].Protocol, out[i].Port) < fmt.Sprint(out[j].Protocol, out[j].Port)
	})
	return out
}
