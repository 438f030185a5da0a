package proxy

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
)

// LoadBalancerClass is the spec.loadBalancerClass Berth serves; Services
// that name another class are left to that class's controller, as cloud
// controllers do.
const LoadBalancerClass = "berth.dev/loopback"

// LoadBalancerIP picks a LoadBalancer Service's address: a loopback address
// (Linux routes all of 127/8 to lo, so it needs no configuration) derived
// from key (cluster and Service), so it is the same after a restart and
// differs between Services and clusters. taken reports addresses already
// given to other Services; the next candidate is tried then. 127.0.x.x is
// avoided: 127.0.0.1 is everyone's and 127.0.0.53 is systemd-resolved's.
func LoadBalancerIP(key string, taken func(netip.Addr) bool) netip.Addr {
	sum := sha256.Sum256([]byte(key))
	n := binary.BigEndian.Uint32(sum[:4])
	for i := uint32(0); ; i++ {
		v := n + i*7919
		a := netip.AddrFrom4([4]byte{127, byte(1 + (v>>16)%254), byte(v >> 8), byte(1 + v%254)})
		if taken == nil || !taken(a) {
			return a
		}
	}
}

// IsLoadBalancerIP reports whether a is an address LoadBalancerIP gives.
func IsLoadBalancerIP(a netip.Addr) bool {
	if !a.Is4() {
		return false
	}
	b := a.As4()
	return b[0] == 127 && b[1] >= 1 && b[1] <= 254 && b[3] >= 1 && b[3] <= 254
}
