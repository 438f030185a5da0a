// Package dns is a cluster's DNS server, what CoreDNS's kubernetes plugin
// does on EKS: A records for Services (<svc>.<ns>.svc.<domain>, the cluster
// IP, or the ready endpoints of a headless Service), for endpoints by
// hostname, for pods (<a-b-c-d>.<ns>.pod.<domain>), SRV records for named
// ports, NXDOMAIN for other names of the cluster domain; every other name
// goes to the host's resolvers.
package dns

import (
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

// TTL of cluster records: CoreDNS's default for the kubernetes plugin, so
// that a Service's changes reach clients within seconds.
const TTL = 5

// Service is what the DNS answers about one Service.
type Service struct {
	// ClusterIPs are the IPv4 cluster IPs; empty for a headless Service.
	ClusterIPs []netip.Addr
	// ExternalName is set for type ExternalName: the name is a CNAME of it.
	ExternalName string
	// Endpoints are the ready endpoints (the records of a headless
	// Service, and of <hostname>.<svc> names).
	Endpoints []Endpoint
	Ports     []Port
}

// Endpoint is one ready endpoint.
type Endpoint struct {
	IP       netip.Addr
	Hostname string
}

// Port is a named port, for SRV records.
type Port struct {
	Name     string
	Protocol string // "tcp", "udp"
	Port     uint16
}

// Records looks Services up; the server asks at every query, so answers
// follow the cluster's state without a copy of it.
type Records interface {
	Service(namespace, name string) (Service, bool)
}

// Answer answers a query about the cluster domain (e.g. "cluster.local").
// forward is true when the name is outside it and the query must go to
// the upstream resolvers instead.
func Answer(req *dnsmessage.Message, domain string, recs Records) (resp *dnsmessage.Message, forward bool) {
	resp = &dnsmessage.Message{
		Header: dnsmessage.Header{
			ID: req.ID, Response: true, OpCode: req.OpCode, Authoritative: true,
			RecursionDesired: req.RecursionDesired, RecursionAvailable: true,
		},
		Questions: req.Questions,
	}
	if len(req.Questions) != 1 || req.OpCode != 0 {
		resp.RCode = dnsmessage.RCodeNotImplemented
		resp.Authoritative = false
		return resp, false
	}
	q := req.Questions[0]
	name := strings.ToLower(q.Name.String())
	zone := "." + strings.Trim(strings.ToLower(domain), ".") + "."
	if q.Class != dnsmessage.ClassINET || !(strings.HasSuffix(name, zone) || name == zone[1:]) {
		return nil, true
	}
	labels := strings.Split(strings.TrimSuffix(strings.TrimSuffix(name, zone[1:]), "."), ".")
	if labels[0] == "" {
		labels = nil
	}
	rrs, exists := lookup(labels, q, zone, recs)
	if !exists {
		resp.RCode = dnsmessage.RCodeNameError
		return resp, false
	}
	resp.Answers = rrs
	return resp, false
}

// lookup returns the records of the name (labels before the zone) of the
// question's type, and whether the name exists at all (NODATA, not
// NXDOMAIN, for other types: AAAA of an IPv4 Service).
func lookup(labels []string, q dnsmessage.Question, zone string, recs Records) ([]dnsmessage.Resource, bool) {
	n := len(labels)
	switch {
	case n == 0, n == 1 && (labels[0] == "svc" || labels[0] == "pod"):
		return nil, true
	case n == 2 && (labels[1] == "svc" || labels[1] == "pod"):
		return nil, true // a namespace
	case n == 3 && labels[2] == "pod":
		ip, ok := dashedIP(labels[0])
		if !ok {
			return nil, false
		}
		return addrRecords(q, []netip.Addr{ip}), true
	case n == 3 && labels[2] == "svc":
		svc, ok := recs.Service(labels[1], labels[0])
		if !ok {
			return nil, false
		}
		if svc.ExternalName != "" {
			target, err := dnsmessage.NewName(strings.TrimSuffix(svc.ExternalName, ".") + ".")
			if err != nil {
				return nil, true
			}
			return []dnsmessage.Resource{{Header: header(q.Name, dnsmessage.TypeCNAME), Body: &dnsmessage.CNAMEResource{CNAME: target}}}, true
		}
		ips := svc.ClusterIPs
		if len(ips) == 0 {
			for _, e := range svc.Endpoints {
				ips = append(ips, e.IP)
			}
		}
		return addrRecords(q, ips), true
	case n == 4 && labels[3] == "svc":
		svc, ok := recs.Service(labels[2], labels[1])
		if !ok {
			return nil, false
		}
		if strings.HasPrefix(labels[0], "_") {
			return nil, true // _proto of an SRV name: exists, no records
		}
		for _, e := range svc.Endpoints {
			if endpointLabel(e) == labels[0] {
				return addrRecords(q, []netip.Addr{e.IP}), true
			}
		}
		return nil, false
	case n == 5 && labels[4] == "svc" && strings.HasPrefix(labels[0], "_") && strings.HasPrefix(labels[1], "_"):
		svc, ok := recs.Service(labels[3], labels[2])
		if !ok {
			return nil, false
		}
		svcName := labels[2] + "." + labels[3] + ".svc" + zone
		for _, p := range svc.Ports {
			if "_"+strings.ToLower(p.Name) != labels[0] || "_"+p.Protocol != labels[1] {
				continue
			}
			if q.Type != dnsmessage.TypeSRV {
				return nil, true
			}
			targets := []string{svcName}
			if len(svc.ClusterIPs) == 0 {
				targets = targets[:0]
				for _, e := range svc.Endpoints {
					targets = append(targets, endpointLabel(e)+"."+svcName)
				}
			}
			var out []dnsmessage.Resource
			for _, t := range targets {
				target, err := dnsmessage.NewName(t)
				if err != nil {
					continue
				}
				out = append(out, dnsmessage.Resource{Header: header(q.Name, dnsmessage.TypeSRV),
					Body: &dnsmessage.SRVResource{Priority: 0, Weight: uint16(100 / len(targets)), Port: p.Port, Target: target}})
			}
			return out, true
		}
		return nil, false
	}
	return nil, false
}

// endpointLabel is an endpoint's name under its Service: its hostname, or
// its address with dashes, as CoreDNS names them.
func endpointLabel(e Endpoint) string {
	if e.Hostname != "" {
		return strings.ToLower(e.Hostname)
	}
	return strings.ReplaceAll(e.IP.String(), ".", "-")
}

func dashedIP(s string) (netip.Addr, bool) {
	parts := strings.Split(s, "-")
	if len(parts) != 4 {
		return netip.Addr{}, false
	}
	var b [4]byte
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, 8)
		if err != nil {
			return netip.Addr{}, false
		}
		b[i] = byte(v)
	}
	return netip.AddrFrom4(b), true
}

func addrRecords(q dnsmessage.Question, ips []netip.Addr) []dnsmessage.Resource {
	if q.Type != dnsmessage.TypeA && q.Type != dnsmessage.TypeALL {
		return nil
	}
	out := make([]dnsmessage.Resource, 0, len(ips))
	for _, ip := range ips {
		if ip.Is4() {
			out = append(out, dnsmessage.Resource{Header: header(q.Name, dnsmessage.TypeA), Body: &dnsmessage.AResource{A: ip.As4()}})
		}
	}
	return out
}

func header(name dnsmessage.Name, t dnsmessage.Type) dnsmessage.ResourceHeader {
	return dnsmessage.ResourceHeader{Name: name, Type: t, Class: dnsmessage.ClassINET, TTL: TTL}
}
