package k8sproc

import (
	"encoding/json"
	"path/filepath"
	"time"

	"github.com/google/renameio/v2"

	"github.com/berth-dev/berth/eks"
)

// registryAuthFile, in a node group's directory, holds the ECR password its
// nodes pull with (the nodes process reads it at every pull).
const registryAuthFile = "registry-auth.json"

// registryRenewEvery rewrites every node group's password well within the
// token's 12 hours, so a pull never meets an expired one.
const registryRenewEvery = time.Hour

// writeRegistryAuth writes a fresh ECR password of the cluster's account
// and region for the node group in dir.
func (cp *ControlPlane) writeRegistryAuth(c eks.ClusterRef, dir string) error {
	if cp.registry == "" {
		return nil
	}
	pw, _ := cp.password(c.Account, c.Region)
	data, err := json.Marshal(map[string]string{"serverAddress": cp.registry, "username": "AWS", "password": pw})
	if err != nil {
		return err
	}
	return renameio.WriteFile(filepath.Join(dir, registryAuthFile), data, 0o600)
}

// renewRegistryAuth renews the passwords of the node groups this process
// runs, for as long as it lives; a restarted Berth writes them again when
// it syncs its node groups.
func (cp *ControlPlane) renewRegistryAuth() {
	for range time.Tick(registryRenewEvery) {
		cp.mu.Lock()
		groups := make([]ngKey, 0, len(cp.nodeProcs))
		for k := range cp.nodeProcs {
			groups = append(groups, k)
		}
		cp.mu.Unlock()
		for _, k := range groups {
			if err := cp.writeRegistryAuth(k.cluster, cp.nodegroupDir(k.cluster, k.name)); err != nil {
				cp.log.Warn("eks: renewing a node group's registry password", "cluster", k.cluster.Name, "nodegroup", k.name, "err", err)
			}
		}
	}
}
