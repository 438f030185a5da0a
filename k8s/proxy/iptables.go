package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// masqMark marks service traffic for masquerading, as kube-proxy's 0x4000:
// a pod that reaches a Service whose endpoint is a pod on the same bridge
// must get the reply back through the host, which undoes the DNAT.
const masqMark = "0x4000/0x4000"

// Chains are one cluster's iptables chains. They are named after the
// cluster's bridge network, so that several clusters (with the same
// service CIDR, even) share the host's tables without touching each
// other's rules, and so that a cluster's chains can be found to remove
// them when it is deleted.
type Chains struct {
	// Services (nat) matches traffic from the bridge to cluster IPs and
	// jumps to a chain per service port; PREROUTING jumps to it.
	Services string
	// Postrouting (nat) masquerades marked traffic; POSTROUTING jumps to it.
	Postrouting string
	// Forward (filter) rejects traffic to cluster IPs without endpoints;
	// FORWARD jumps to it.
	Forward string
	// portPrefix starts the per-port chains' names.
	portPrefix string
}

// ChainsFor names the chains of the cluster whose pods are on network.
func ChainsFor(network string) Chains {
	sum := sha256.Sum256([]byte(network))
	return chainsOf(strings.ToUpper(hex.EncodeToString(sum[:4])))
}

func chainsOf(h string) Chains {
	return Chains{
		Services:    "BERTH-SVC-" + h,
		Postrouting: "BERTH-POST-" + h,
		Forward:     "BERTH-FW-" + h,
		portPrefix:  "BERTH-S-" + h + "-",
	}
}

// owns reports whether a chain name is one of the cluster's.
func (c Chains) owns(chain string) bool {
	return chain == c.Services || chain == c.Postrouting || chain == c.Forward || strings.HasPrefix(chain, c.portPrefix)
}

// portChain is the chain of one service port (28 characters at most, the
// kernel's limit).
func (c Chains) portChain(sp ServicePort) string {
	sum := sha256.Sum256([]byte(sp.Namespace + "/" + sp.Name + ":" + sp.PortName + "/" + string(sp.Protocol)))
	return c.portPrefix + strings.ToUpper(hex.EncodeToString(sum[:5]))
}

// jump is a rule in a built-in chain that sends traffic to one of ours.
type jump struct{ table, chain, target string }

func (c Chains) jumps() []jump {
	return []jump{
		{"nat", "PREROUTING", c.Services},
		{"nat", "POSTROUTING", c.Postrouting},
		{"filter", "FORWARD", c.Forward},
	}
}

func (j jump) spec() []string {
	return []string{"-t", j.table, j.chain, "-m", "comment", "--comment", "berth cluster services", "-j", j.target}
}

// reachable reports whether the bridge can reach an endpoint: the kernel
// drops packets from another interface to 127/8 (route_localnet is off),
// and the API server's endpoint of the kubernetes Service is loopback.
func reachable(e Endpoint) bool {
	a, err := netip.ParseAddr(e.IP)
	return err == nil && a.Is4() && !a.IsLoopback()
}

// Render is the iptables-restore input (for --noflush) that makes the
// cluster's chains exactly what ports ask for: traffic from the bridge to
// a cluster IP and port is marked for masquerading and DNATed to a random
// ready endpoint, as kube-proxy's statistic rules do; a port with no
// endpoint rejects (connection refused rather than a timeout). existing
// are the chains the tables hold now: those of the cluster that are no
// longer wanted are flushed and deleted in the same transaction.
func Render(c Chains, bridge string, ports []ServicePort, existing []string) string {
	var nat, filter bytes.Buffer
	natChains := []string{c.Services, c.Postrouting}
	wanted := map[string]bool{c.Services: true, c.Postrouting: true, c.Forward: true}
	var rules bytes.Buffer
	fmt.Fprintf(&rules, "-A %s -o %s -m mark --mark %s -j MASQUERADE\n", c.Postrouting, bridge, masqMark)
	for _, sp := range ports {
		proto := strings.ToLower(string(sp.Protocol))
		if proto != "tcp" && proto != "udp" && proto != "sctp" {
			continue
		}
		var eps []Endpoint
		for _, e := range sp.Endpoints {
			if reachable(e) {
				eps = append(eps, e)
			}
		}
		for _, ip := range sp.ClusterIPs {
			match := fmt.Sprintf("-i %s -d %s/32 -p %s -m %s --dport %d -m comment --comment \"%s cluster IP\"", bridge, ip, proto, proto, sp.Port, sp)
			if len(eps) == 0 {
				fmt.Fprintf(&filter, "-A %s %s -j REJECT --reject-with icmp-port-unreachable\n", c.Forward, strings.Replace(match, "cluster IP", "has no endpoints", 1))
				continue
			}
			fmt.Fprintf(&rules, "-A %s %s -j %s\n", c.Services, match, c.portChain(sp))
		}
		if len(eps) == 0 || len(sp.ClusterIPs) == 0 {
			continue
		}
		chain := c.portChain(sp)
		natChains = append(natChains, chain)
		wanted[chain] = true
		fmt.Fprintf(&rules, "-A %s -j MARK --set-xmark %s\n", chain, masqMark)
		for i, e := range eps {
			stat := ""
			if n := len(eps) - i; n > 1 {
				stat = fmt.Sprintf("-m statistic --mode random --probability %0.10f ", 1/float64(n))
			}
			fmt.Fprintf(&rules, "-A %s %s-p %s -j DNAT --to-destination %s\n", chain, stat, proto, e)
		}
	}
	var stale []string
	for _, ch := range existing {
		if c.owns(ch) && !wanted[ch] && ch != c.Forward {
			stale = append(stale, ch)
		}
	}
	slices.Sort(stale)

	nat.WriteString("*nat\n")
	for _, ch := range append(natChains, stale...) {
		fmt.Fprintf(&nat, ":%s - [0:0]\n", ch)
	}
	nat.Write(rules.Bytes())
	for _, ch := range stale {
		fmt.Fprintf(&nat, "-X %s\n", ch)
	}
	nat.WriteString("COMMIT\n*filter\n")
	fmt.Fprintf(&nat, ":%s - [0:0]\n", c.Forward)
	nat.Write(filter.Bytes())
	nat.WriteString("COMMIT\n")
	return nat.String()
}

// cleanupInput flushes and deletes every chain of the cluster found in
// existing (nat and filter chains, as iptables-save lists them per table).
func cleanupInput(c Chains, nat, filter []string) string {
	var b bytes.Buffer
	for _, t := range []struct {
		name   string
		chains []string
	}{{"nat", nat}, {"filter", filter}} {
		var own []string
		for _, ch := range t.chains {
			if c.owns(ch) {
				own = append(own, ch)
			}
		}
		if len(own) == 0 {
			continue
		}
		fmt.Fprintf(&b, "*%s\n", t.name)
		for _, ch := range own {
			fmt.Fprintf(&b, ":%s - [0:0]\n", ch)
		}
		for _, ch := range own {
			fmt.Fprintf(&b, "-X %s\n", ch)
		}
		b.WriteString("COMMIT\n")
	}
	return b.String()
}

// chainsIn lists the chains of iptables-save output.
func chainsIn(save string) []string {
	var out []string
	for _, line := range strings.Split(save, "\n") {
		if rest, ok := strings.CutPrefix(line, ":"); ok {
			if name, _, ok := strings.Cut(rest, " "); ok {
				out = append(out, name)
			}
		}
	}
	return out
}

// IPTables runs the host's iptables binaries.
type IPTables struct{}

// ErrUnavailable says iptables cannot be used here (not root, no binary).
var ErrUnavailable = errors.New("iptables unavailable")

// Check reports whether rules can be programmed; the error says why not.
func (IPTables) Check(ctx context.Context) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: not running as root", ErrUnavailable)
	}
	for _, bin := range []string{"iptables", "iptables-save", "iptables-restore"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	if _, err := run(ctx, nil, "iptables-save", "-t", "nat"); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// Sync makes the cluster's chains what ports ask for and ensures the
// built-in chains jump to them, first (before Docker's rules).
func (IPTables) Sync(ctx context.Context, c Chains, bridge string, ports []ServicePort) error {
	save, err := run(ctx, nil, "iptables-save", "-t", "nat")
	if err != nil {
		return err
	}
	if _, err := run(ctx, []byte(Render(c, bridge, ports, chainsIn(save))), "iptables-restore", "-w", "--noflush"); err != nil {
		return err
	}
	for _, j := range c.jumps() {
		spec := j.spec()
		check := append([]string{"-w", spec[0], spec[1], "-C"}, spec[2:]...)
		if _, err := run(ctx, nil, "iptables", check...); err == nil {
			continue
		}
		insert := append([]string{"-w", spec[0], spec[1], "-I", spec[2], "1"}, spec[3:]...)
		if _, err := run(ctx, nil, "iptables", insert...); err != nil {
			return err
		}
	}
	return nil
}

// Cleanup removes the cluster's jumps and chains: for a deleted cluster
// (its rules outlive the process otherwise, so that pods keep reaching
// Services while berth-k8s restarts).
func (IPTables) Cleanup(ctx context.Context, c Chains) error {
	var errs []error
	for _, j := range c.jumps() {
		spec := j.spec()
		del := append([]string{"-w", spec[0], spec[1], "-D"}, spec[2:]...)
		// A jump inserted twice (two racing syncs) is deleted twice.
		for range 10 {
			if _, err := run(ctx, nil, "iptables", del...); err != nil {
				break
			}
		}
	}
	nat, err := run(ctx, nil, "iptables-save", "-t", "nat")
	if err != nil {
		return err
	}
	filter, err := run(ctx, nil, "iptables-save", "-t", "filter")
	if err != nil {
		return err
	}
	if in := cleanupInput(c, chainsIn(nat), chainsIn(filter)); in != "" {
		if _, err := run(ctx, []byte(in), "iptables-restore", "-w", "--noflush"); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// staleClusters are the hashes of clusters whose chains are in chains but
// whose network is none of networks: clusters that went without their
// chains being removed (a Berth killed along with its clusters' processes,
// a data dir removed by hand).
func staleClusters(chains, networks []string) []string {
	live := map[string]bool{}
	for _, n := range networks {
		live[strings.TrimPrefix(ChainsFor(n).Services, "BERTH-SVC-")] = true
	}
	var out []string
	for _, ch := range chains {
		var h string
		for _, p := range []string{"BERTH-SVC-", "BERTH-POST-", "BERTH-FW-", "BERTH-S-"} {
			if rest, ok := strings.CutPrefix(ch, p); ok {
				h, _, _ = strings.Cut(rest, "-")
				break
			}
		}
		if len(h) == 8 && strings.ToUpper(h) == h && !live[h] && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return out
}

// RemoveStale removes the chains of clusters whose pod network is not
// among networks (every network of the engine), returning how many
// clusters' chains went.
func (ipt IPTables) RemoveStale(ctx context.Context, networks []string) (int, error) {
	var all []string
	for _, t := range []string{"nat", "filter"} {
		save, err := run(ctx, nil, "iptables-save", "-t", t)
		if err != nil {
			return 0, err
		}
		all = append(all, chainsIn(save)...)
	}
	stale := staleClusters(all, networks)
	var errs []error
	for _, h := range stale {
		if err := ipt.Cleanup(ctx, chainsOf(h)); err != nil {
			errs = append(errs, err)
		}
	}
	return len(stale), errors.Join(errs...)
}

// Remaining lists the cluster's chains still in the host's tables.
func (IPTables) Remaining(ctx context.Context, c Chains) ([]string, error) {
	var out []string
	for _, t := range []string{"nat", "filter"} {
		save, err := run(ctx, nil, "iptables-save", "-t", t)
		if err != nil {
			return nil, err
		}
		for _, ch := range chainsIn(save) {
			if c.owns(ch) {
				out = append(out, ch)
			}
		}
	}
	return out, nil
}

func run(ctx context.Context, stdin []byte, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// isNodePortType reports whether a Service type opens node ports.
func isNodePortType(t corev1.ServiceType) bool {
	return t == corev1.ServiceTypeNodePort || t == corev1.ServiceTypeLoadBalancer
}
