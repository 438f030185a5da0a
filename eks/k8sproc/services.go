package k8sproc

import (
	"context"
	"os/exec"
	"strings"
	"time"

	"github.com/berth-dev/berth/eks"
)

// podNetwork is the Docker bridge network of a cluster's pods: one per
// cluster, so that its Service rules match its own bridge and clusters with
// the same service CIDR do not collide (docs/eks.md, "Services and cluster
// DNS"). Node groups put their pods on it (--network) and the control
// plane's services add-on routes it (--pod-network).
func (cp *ControlPlane) podNetwork(c eks.ClusterRef) string {
	return "berth-" + cp.containerCluster(c)
}

// cleanupTimeout bounds removing a deleted cluster's rules and network.
const cleanupTimeout = time.Minute

// cleanupServices removes what a cluster's Services leave on the host on
// purpose while it exists: its iptables chains (kept across berth-k8s
// restarts so pods keep reaching Services) and its pod network. It runs
// once the cluster's containers are gone; a failure is logged, not fatal,
// since the cluster itself is gone already.
func (cp *ControlPlane) cleanupServices(ctx context.Context, c eks.ClusterRef) {
	ctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, cp.bin, "services-cleanup", "--pod-network="+cp.podNetwork(c)).CombinedOutput()
	if err != nil {
		cp.log.Warn("eks: removing the cluster's Service rules and pod network", "cluster", c.Name, "error", err,
			"output", strings.TrimSpace(string(out)))
	}
}
