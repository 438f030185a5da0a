package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/berth-dev/berth/runtime"
)

// EndpointNetwork is the bridge network that gives the host AWS's task
// endpoint address, 169.254.170.2: the network's gateway is that address,
// so the engine puts it on the network's bridge, and every container on
// the host (bridge, awsvpc or host mode alike) reaches it through its
// default route. No container ever joins the network; it exists only for
// its gateway. The engine does the work, so Berth needs no privileges.
const EndpointNetwork = "berth-endpoints"

// endpointSubnet is the smallest subnet holding the gateway; it stays
// clear of EKS's 169.254.170.23.
var endpointSubnet = netip.MustParsePrefix("169.254.170.0/30")

const kindEndpoints = "endpoints"

var (
	_ runtime.HostAddresser = (*Runtime)(nil)
	_ runtime.StatsReader   = (*Runtime)(nil)
)

// HostAddresses implements runtime.HostAddresser: the gateway of the
// engine's default bridge (bridge mode), of Berth's network (awsvpc, made
// when missing) and 169.254.170.2 on Berth's endpoint network (made when
// missing).
func (r *Runtime) HostAddresses(ctx context.Context) (runtime.HostAddresses, error) {
	var out runtime.HostAddresses
	problem := func(format string, args ...any) {
		out.Problems = append(out.Problems, fmt.Sprintf(format, args...))
	}

	bridge, err := r.cli.NetworkInspect(ctx, string(runtime.NetworkBridge), client.NetworkInspectOptions{})
	switch err = wrap(err, "inspect network bridge"); {
	case runtime.IsUnavailable(err):
		return out, err
	case err != nil:
		problem("default bridge: %v", err)
	default:
		out.Bridge = hostNetworkOf(bridge.Network.Network)
		if out.Bridge.Gateway == "" {
			problem("default bridge: no IPv4 gateway")
		}
	}

	if netID, err := r.ensureNetwork(ctx); err != nil {
		if runtime.IsUnavailable(err) {
			return out, err
		}
		problem("network %s: %v", r.network, err)
	} else if res, err := r.cli.NetworkInspect(ctx, netID, client.NetworkInspectOptions{}); err != nil {
		problem("network %s: %v", r.network, wrap(err, "inspect network"))
	} else {
		out.AWSVPC = hostNetworkOf(res.Network.Network)
		if out.AWSVPC.Gateway == "" {
			problem("network %s: no IPv4 gateway", r.network)
		}
	}

	if err := r.ensureEndpointNetwork(ctx); err != nil {
		if runtime.IsUnavailable(err) {
			return out, err
		}
		problem("network %s (%s): %v", EndpointNetwork, runtime.TaskEndpointAddress, err)
	} else {
		out.LinkLocal = runtime.TaskEndpointAddress
	}
	return out, nil
}

// hostNetworkOf finds the host's IPv4 address on a bridge network: the
// IPAM gateway when the network names one, else the address of its bridge
// interface (the default bridge names none), else the subnet's first
// address, which is what the engine picks.
func hostNetworkOf(n network.Network) runtime.HostNetwork {
	var out runtime.HostNetwork
	var subnet netip.Prefix
	for _, c := range n.IPAM.Config {
		if !c.Subnet.IsValid() || !c.Subnet.Addr().Is4() {
			continue
		}
		subnet = c.Subnet.Masked()
		out.Subnet = subnet.String()
		if c.Gateway.IsValid() && c.Gateway.Is4() {
			out.Gateway = c.Gateway.String()
			return out
		}
		break
	}
	if !subnet.IsValid() {
		return out
	}
	if ifname := n.Options["com.docker.network.bridge.name"]; ifname != "" {
		if ifc, err := net.InterfaceByName(ifname); err == nil {
			if addrs, err := ifc.Addrs(); err == nil {
				for _, a := range addrs {
					ipn, ok := a.(*net.IPNet)
					if !ok {
						continue
					}
					if ip, ok := netip.AddrFromSlice(ipn.IP.To4()); ok && subnet.Contains(ip) {
						out.Gateway = ip.String()
						return out
					}
				}
			}
		}
	}
	out.Gateway = subnet.Addr().Next().String()
	return out
}

// ensureEndpointNetwork makes the endpoint network unless a network of that
// name with the right gateway exists. Several Berths on one engine share it.
func (r *Runtime) ensureEndpointNetwork(ctx context.Context) error {
	return r.ensureGatewayNetwork(ctx, EndpointNetwork, endpointSubnet, runtime.TaskEndpointAddress, kindEndpoints)
}

// ensureGatewayNetwork makes a bridge network that exists only for its
// gateway (an address of the host every container reaches), unless a
// network of that name with that gateway exists.
func (r *Runtime) ensureGatewayNetwork(ctx context.Context, name string, subnet netip.Prefix, gateway, kind string) error {
	r.netMu.Lock()
	defer r.netMu.Unlock()
	check := func() (bool, error) {
		f := client.Filters{}
		f.Add("name", name)
		res, err := r.cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
		if err != nil {
			return false, wrap(err, "list networks")
		}
		var found []network.Summary
		for _, n := range res.Items {
			if n.Name == name {
				found = append(found, n)
			}
		}
		if len(found) == 0 {
			return false, nil
		}
		sort.Slice(found, func(i, j int) bool { return found[i].ID < found[j].ID })
		for _, c := range found[0].IPAM.Config {
			if c.Gateway.IsValid() && c.Gateway.String() == gateway {
				return true, nil
			}
		}
		return false, fmt.Errorf("%w: network %s exists without gateway %s", runtime.ErrConflict, name, gateway)
	}
	ok, err := check()
	if err != nil || ok {
		return err
	}
	_, err = r.cli.NetworkCreate(ctx, name, client.NetworkCreateOptions{
		Driver: "bridge",
		IPAM: &network.IPAM{Config: []network.IPAMConfig{{
			Subnet:  subnet,
			Gateway: netip.MustParseAddr(gateway),
		}}},
		Options: map[string]string{
			// Nothing leaves through this bridge: no NAT rule for it.
			"com.docker.network.bridge.enable_ip_masquerade": "false",
		},
		Labels: map[string]string{labelManaged: "true", labelKind: kind},
	})
	if err != nil {
		// Another Berth may have made it meanwhile (its subnet then
		// overlaps ours): look again before giving up.
		if ok, err2 := check(); err2 == nil && ok {
			return nil
		}
		return wrap(err, "create network "+name)
	}
	return nil
}

// maxStatsBody bounds one stats sample (a few KiB in practice).
const maxStatsBody = 1 << 20

// ContainerStats implements runtime.StatsReader with one sample from the
// engine, taken after a previous one so precpu_stats is filled (about a
// second).
func (r *Runtime) ContainerStats(ctx context.Context, id runtime.ContainerID) (json.RawMessage, error) {
	res, err := r.cli.ContainerStats(ctx, string(id), client.ContainerStatsOptions{IncludePreviousSample: true})
	if err != nil {
		return nil, wrap(err, "stats of container "+string(id))
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxStatsBody+1))
	if err != nil {
		return nil, wrap(err, "read stats of container "+string(id))
	}
	if len(data) > maxStatsBody {
		return nil, fmt.Errorf("docker: stats of container %s: larger than %d bytes", id, maxStatsBody)
	}
	var v json.RawMessage
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("docker: stats of container %s: %w", id, err)
	}
	return v, nil
}
