package docker_test

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/berth-dev/berth/runtime"
)

// The addresses containers reach the host at: 169.254.170.2 on Berth's
// endpoint network, and the gateways of the default bridge and of Berth's
// awsvpc network, each inside its subnet. Asking again changes nothing.
func TestHostAddresses(t *testing.T) {
	rt := engine(t)
	defer rt.Close()
	for i := 0; i < 2; i++ {
		a, err := rt.HostAddresses(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if a.LinkLocal != runtime.TaskEndpointAddress || len(a.Problems) > 0 {
			t.Fatalf("HostAddresses = %+v", a)
		}
		for name, n := range map[string]runtime.HostNetwork{"bridge": a.Bridge, "awsvpc": a.AWSVPC} {
			gw, err := netip.ParseAddr(n.Gateway)
			subnet, err2 := netip.ParsePrefix(n.Subnet)
			if err != nil || err2 != nil || !gw.Is4() || !subnet.Contains(gw) {
				t.Errorf("%s network %+v", name, n)
			}
		}
		// The host owns the address: binding it needs no privileges.
		ln, err := net.Listen("tcp", a.LinkLocal+":0")
		if err != nil {
			t.Fatalf("listening on %s: %v", a.LinkLocal, err)
		}
		ln.Close()
	}
}
