package k8sproc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/renameio/v2"

	"github.com/berth-dev/berth/eks"
)

// Fargate profiles are run by the control-plane process itself (berth-k8s's
// fargate add-on, k8s/fargate): Berth writes the cluster's profiles to a
// file in its data dir, berth-k8s's webhook applies them to new pods and
// copies the file aside once it does, and its fargate-scheduler runs one
// node per matching pod, with the containers labelled as node groups'
// pods are, so Delete removes them with the rest.

// Files in berth-k8s's data dir; the names are k8s/fargate's.
const (
	fargateProfilesFile = "fargate-profiles.json"
	fargateLoadedFile   = "fargate-profiles.loaded"
)

// fargateLoadTimeout bounds the wait for berth-k8s to apply new profiles;
// a profile stays CREATING (and is synced again) until it does.
const fargateLoadTimeout = 30 * time.Second

// fargateArgs are berth-k8s's flags for running Fargate pods: what a node
// group's process gets (the pod network among them, so Services reach
// Fargate pods), for the nodes the control plane starts per pod. The
// Docker engine is the one in the environment berth-k8s inherits.
func (cp *ControlPlane) fargateArgs(dir string, c eks.ClusterRef) []string {
	args := []string{"--fargate-cluster=" + cp.containerCluster(c), "--fargate-region=" + c.Region,
		"--fargate-network=" + cp.podNetwork(c)}
	if cp.podAWS != "" {
		args = append(args, "--fargate-aws-endpoint="+cp.podAWS)
	}
	if cp.podIdentity != "" && cp.podIdentityLookup != nil {
		args = append(args, "--fargate-pod-identity-uri-file="+filepath.Join(dir, podIdentityURIFile), "--fargate-pod-identity-lookup="+cp.podIdentityLookup(c))
	}
	if cp.registry != "" {
		args = append(args, "--fargate-registry-auth="+filepath.Join(dir, registryAuthFile))
	}
	return args
}

// SyncFargateProfiles writes the cluster's profiles for its berth-k8s and
// returns once berth-k8s applies them. It also keeps the Fargate pods' ECR
// password fresh: the controller calls it on every pass.
func (cp *ControlPlane) SyncFargateProfiles(ctx context.Context, ref eks.ClusterRef, profiles []eks.FargateProfileSpec) error {
	cp.mu.Lock()
	p := cp.procs[ref]
	cp.mu.Unlock()
	if p == nil || !p.alive() {
		return errors.New("the cluster's control plane is not running")
	}
	dir := cp.ClusterDir(ref)
	if err := cp.renewFargateRegistryAuth(ref, dir); err != nil {
		return err
	}
	data, err := json.Marshal(append([]eks.FargateProfileSpec{}, profiles...))
	if err != nil {
		return err
	}
	path := filepath.Join(dir, dataSubdir, fargateProfilesFile)
	if cur, err := os.ReadFile(path); err != nil || !bytes.Equal(cur, data) {
		if err := renameio.WriteFile(path, data, 0o600); err != nil {
			return err
		}
	}
	loaded := filepath.Join(dir, dataSubdir, fargateLoadedFile)
	ctx, cancel := context.WithTimeout(ctx, fargateLoadTimeout)
	defer cancel()
	for {
		if cur, err := os.ReadFile(loaded); err == nil && bytes.Equal(cur, data) {
			return nil
		}
		select {
		case <-p.done:
			return errors.New("the cluster's control plane exited")
		case <-ctx.Done():
			return fmt.Errorf("the control plane did not apply the Fargate profiles: %w", ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

// renewFargateRegistryAuth rewrites the cluster's ECR password for its
// Fargate pods when it is older than registryRenewEvery.
func (cp *ControlPlane) renewFargateRegistryAuth(ref eks.ClusterRef, dir string) error {
	if cp.registry == "" {
		return nil
	}
	if fi, err := os.Stat(filepath.Join(dir, registryAuthFile)); err == nil && time.Since(fi.ModTime()) < registryRenewEvery {
		return nil
	}
	return cp.writeRegistryAuth(ref, dir)
}
