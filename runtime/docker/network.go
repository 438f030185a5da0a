package docker

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/moby/moby/client"

	"github.com/berth-dev/berth/runtime"
)

// BridgeNetwork is where the host meets the awsvpc sandboxes' network: what
// a service proxy needs to route traffic from sandboxes and answer them.
type BridgeNetwork struct {
	Name string
	ID   string
	// Interface is the host's bridge device, the in-interface of traffic
	// from the sandboxes.
	Interface string
	Subnet    netip.Prefix
	// Gateway is the host's own address on the bridge.
	Gateway netip.Addr
}

// bridgeNameOption is the engine's option naming a bridge network's device;
// without it the device is "br-" and the first 12 characters of the id.
const bridgeNameOption = "com.docker.network.bridge.name"

// Network returns the sandboxes' bridge network, creating it when missing,
// so that a process other than the one making sandboxes can find the bridge
// before the first sandbox exists.
func (r *Runtime) Network(ctx context.Context) (BridgeNetwork, error) {
	id, err := r.ensureNetwork(ctx)
	if err != nil {
		return BridgeNetwork{}, err
	}
	res, err := r.cli.NetworkInspect(ctx, id, client.NetworkInspectOptions{})
	if err != nil {
		if runtime.IsNotFound(wrap(err, "")) {
			r.forgetCaches()
		}
		return BridgeNetwork{}, wrap(err, "inspect network "+r.network)
	}
	n := res.Network
	out := BridgeNetwork{Name: n.Name, ID: n.ID, Interface: n.Options[bridgeNameOption]}
	if out.Interface == "" && len(n.ID) >= 12 {
		out.Interface = "br-" + n.ID[:12]
	}
	for _, c := range n.IPAM.Config {
		if c.Subnet.IsValid() && c.Subnet.Addr().Is4() {
			out.Subnet, out.Gateway = c.Subnet, c.Gateway
			break
		}
	}
	if !out.Subnet.IsValid() {
		return BridgeNetwork{}, fmt.Errorf("docker: network %s has no IPv4 subnet", r.network)
	}
	if !out.Gateway.IsValid() {
		// The engine's default: the subnet's first address.
		out.Gateway = out.Subnet.Masked().Addr().Next()
	}
	return out, nil
}

// RemoveNetwork removes the sandboxes' bridge network; a network that is
// already gone is no error. The engine refuses while containers use it.
func (r *Runtime) RemoveNetwork(ctx context.Context) error {
	r.netMu.Lock()
	r.netID = ""
	r.netMu.Unlock()
	id, err := r.findNetwork(ctx)
	if err != nil || id == "" {
		return err
	}
	if _, err := r.cli.NetworkRemove(ctx, id, client.NetworkRemoveOptions{}); err != nil {
		if err = wrap(err, "remove network "+r.network); !runtime.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// NetworkNames lists the names of every network of the engine, Berth's or
// not.
func (r *Runtime) NetworkNames(ctx context.Context) ([]string, error) {
	res, err := r.cli.NetworkList(ctx, client.NetworkListOptions{})
	if err != nil {
		return nil, wrap(err, "list networks")
	}
	out := make([]string, 0, len(res.Items))
	for _, n := range res.Items {
		out = append(out, n.Name)
	}
	return out, nil
}
