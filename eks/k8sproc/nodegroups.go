package k8sproc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/renameio/v2"

	"github.com/berth-dev/berth/eks"
	"github.com/berth-dev/berth/runtime"
)

// A node group is one `berth-k8s nodes` process (k8s/cmd/berth-k8s), which
// registers the group's Nodes with the cluster and runs their pods as
// containers on the Docker engine. Like the control plane it outlives a
// killed Berth and is adopted again; scaling restarts it with the new node
// names (the pods' containers outlive it and are adopted by the next run).

// Files of a node group directory, <cluster dir>/nodegroups/<name>/.
const (
	nodesArgsFile = "args.json" // the command line it should run with
	nodesPidFile  = "nodes.pid"
	nodesLogFile  = "nodes.log"
	nodesOutFile  = "nodes.out"
	nodesReady    = "berth-k8s nodes running "
)

// Labels berth-k8s nodes puts on the containers it runs (k8s/nodes).
const (
	labelCluster = "berth.k8s.cluster"
	labelNode    = "berth.k8s.node"
)

// nodeReadyTimeout bounds the wait for a node group's Nodes to turn Ready.
const nodeReadyTimeout = 3 * time.Minute

type ngKey struct {
	cluster eks.ClusterRef
	name    string
}

func (cp *ControlPlane) nodegroupDir(c eks.ClusterRef, name string) string {
	return filepath.Join(cp.ClusterDir(c), "nodegroups", strings.ReplaceAll(filepath.Base("/"+name), "..", "_"))
}

// containerCluster is the cluster label of the cluster's containers: unique
// per Berth data dir and cluster, as several Berths may share one engine.
func (cp *ControlPlane) containerCluster(c eks.ClusterRef) string {
	return ContainerCluster(cp.ClusterDir(c))
}

// ContainerCluster is the cluster label of the containers of the cluster
// whose directory (ClusterDir) is clusterDir; its pod network is "berth-"
// and the label.
func ContainerCluster(clusterDir string) string {
	sum := sha256.Sum256([]byte(clusterDir))
	return "eks-" + hex.EncodeToString(sum[:6])
}

// nodeNames are the Node names of a node group of size n: DNS labels, as
// Kubernetes requires of node names.
func nodeNames(group string, n int32) []string {
	base := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, group)
	names := make([]string, 0, n)
	for i := range n {
		names = append(names, base+"-"+strconv.Itoa(int(i)))
	}
	return names
}

func (cp *ControlPlane) nodesArgs(ng eks.NodegroupSpec) []string {
	cdir := cp.ClusterDir(ng.Cluster)
	args := []string{cp.bin, "nodes",
		"--kubeconfig=" + filepath.Join(cdir, dataSubdir, "admin.kubeconfig"),
		"--names=" + strings.Join(nodeNames(ng.Name, ng.DesiredSize), ","),
		"--cluster=" + cp.containerCluster(ng.Cluster),
		"--network=" + cp.podNetwork(ng.Cluster),
		"--label=eks.amazonaws.com/nodegroup=" + ng.Name,
		// IRSA: pods whose service account names a role get the region
		// and the endpoint their SDK exchanges the token at.
		"--region=" + ng.Cluster.Region,
	}
	if cp.podAWS != "" {
		args = append(args, "--aws-endpoint="+cp.podAWS)
	}
	if cp.podIdentity != "" && cp.podIdentityLookup != nil {
		args = append(args, "--pod-identity-uri-file="+filepath.Join(cdir, podIdentityURIFile), "--pod-identity-lookup="+cp.podIdentityLookup(ng.Cluster))
	}
	if cp.registry != "" {
		args = append(args, "--registry-auth="+filepath.Join(cp.nodegroupDir(ng.Cluster, ng.Name), registryAuthFile))
	}
	if len(ng.InstanceTypes) > 0 {
		args = append(args, "--label=node.kubernetes.io/instance-type="+ng.InstanceTypes[0])
	}
	keys := make([]string, 0, len(ng.Labels))
	for k := range ng.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		args = append(args, "--label="+k+"="+ng.Labels[k])
	}
	return args
}

// namesOf is the --names list of a nodes command line.
func namesOf(args []string) []string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--names="); ok && v != "" {
			return strings.Split(v, ",")
		}
	}
	return nil
}

// ourNodes reports whether argv is the nodes process of this node group.
func ourNodes(argv []string, kubeconfigArg, groupArg string) bool {
	return len(argv) > 2 && argv[1] == "nodes" && slices.Contains(argv, kubeconfigArg) && slices.Contains(argv, groupArg)
}

// SyncNodegroup runs the node group's process with ng.DesiredSize nodes
// and returns once they are Ready; the Nodes a scale-down removed are
// deleted with their pods' containers.
func (cp *ControlPlane) SyncNodegroup(ctx context.Context, ng eks.NodegroupSpec) error {
	defer cp.lock(ng.Cluster)()
	c, err := cp.runningAdmin(ctx, ng.Cluster)
	if err != nil {
		return err
	}
	dir := cp.nodegroupDir(ng.Cluster, ng.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var before []string
	if data, err := os.ReadFile(filepath.Join(dir, nodesArgsFile)); err == nil {
		var old []string
		if json.Unmarshal(data, &old) == nil {
			before = namesOf(old)
		}
	}
	args := cp.nodesArgs(ng)
	if ng.DesiredSize == 0 {
		args = nil
	}
	if err := cp.writeRegistryAuth(ng.Cluster, dir); err != nil {
		return err
	}
	if err := cp.writePodIdentityURI(ng.Cluster); err != nil {
		return err
	}
	cp.renewOnce.Do(func() { go cp.renewRegistryAuth() })
	data, _ := json.Marshal(args)
	if err := renameio.WriteFile(filepath.Join(dir, nodesArgsFile), data, 0o600); err != nil {
		return err
	}
	if err := cp.ensureNodes(ctx, ngKey{ng.Cluster, ng.Name}, dir, args); err != nil {
		return err
	}
	var gone []string
	for _, n := range before {
		if !slices.Contains(namesOf(args), n) {
			gone = append(gone, n)
		}
	}
	if err := cp.removeNodes(ctx, c, ng.Cluster, gone); err != nil {
		return err
	}
	return c.nodesReady(ctx, namesOf(args))
}

// runningAdmin is an admin client of a cluster whose control plane this
// Berth runs.
func (cp *ControlPlane) runningAdmin(ctx context.Context, ref eks.ClusterRef) (*adminClient, error) {
	cp.mu.Lock()
	p := cp.procs[ref]
	cp.mu.Unlock()
	if p == nil || !p.alive() {
		return nil, errors.New("the cluster's control plane is not running")
	}
	dir := cp.ClusterDir(ref)
	url, err := readURL(dir)
	if err != nil {
		return nil, err
	}
	return newAdminClient(filepath.Join(dir, dataSubdir), url)
}

// ensureNodes makes the node group's process run args (none when args is
// nil): it adopts the one running with exactly these arguments, else
// stops it and starts another.
func (cp *ControlPlane) ensureNodes(ctx context.Context, k ngKey, dir string, args []string) error {
	cp.mu.Lock()
	p := cp.nodeProcs[k]
	cp.mu.Unlock()
	if p == nil {
		p = cp.adoptableNodes(k, dir)
	}
	if p != nil && p.alive() {
		if args != nil && slices.Equal(cmdline(p.pid), args) {
			cp.trackNodes(k, p)
			return nil
		}
		cp.untrackNodes(k)
		cp.terminate(p)
	}
	if args == nil {
		return nil
	}
	p, err := cp.launchNodes(ctx, dir, args)
	if err != nil {
		return err
	}
	cp.log.Info("eks: node group started", "cluster", k.cluster.Name, "nodegroup", k.name, "pid", p.pid, "nodes", strings.Join(namesOf(args), ","))
	cp.trackNodes(k, p)
	return nil
}

func (cp *ControlPlane) adoptableNodes(k ngKey, dir string) *proc {
	data, err := os.ReadFile(filepath.Join(dir, nodesPidFile))
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 || !pidAlive(pid) {
		return nil
	}
	kubeconfig := "--kubeconfig=" + filepath.Join(cp.ClusterDir(k.cluster), dataSubdir, "admin.kubeconfig")
	if !ourNodes(cmdline(pid), kubeconfig, "--label=eks.amazonaws.com/nodegroup="+k.name) {
		return nil
	}
	return watch(pid)
}

func (cp *ControlPlane) trackNodes(k ngKey, p *proc) {
	cp.mu.Lock()
	cp.nodeProcs[k] = p
	cp.mu.Unlock()
	go func() {
		<-p.done
		cp.mu.Lock()
		wanted := cp.nodeProcs[k] == p
		cp.mu.Unlock()
		if !wanted {
			return
		}
		dir := cp.nodegroupDir(k.cluster, k.name)
		cp.log.Error("eks: node group process exited; restarting it", "cluster", k.cluster.Name, "nodegroup", k.name, "pid", p.pid, "error", p.err,
			"stderr", tail(filepath.Join(dir, nodesLogFile), 2048))
		cp.reviveNodes(k, dir, p)
	}()
}

// reviveNodes starts a node group whose process died while wanted, backing
// off between failures, until it runs or the group is stopped, resized or
// deleted.
func (cp *ControlPlane) reviveNodes(k ngKey, dir string, dead *proc) {
	for backoff := time.Second; ; backoff = min(2*backoff, time.Minute) {
		time.Sleep(backoff)
		err := func() error {
			defer cp.lock(k.cluster)()
			cp.mu.Lock()
			still := cp.nodeProcs[k] == dead
			cp.mu.Unlock()
			if !still {
				return nil
			}
			data, err := os.ReadFile(filepath.Join(dir, nodesArgsFile))
			var args []string
			if err == nil {
				err = json.Unmarshal(data, &args)
			}
			if err != nil {
				cp.untrackNodes(k)
				return nil // deleted meanwhile
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cp.untrackNodes(k)
			if err := cp.ensureNodes(ctx, k, dir, args); err != nil {
				// Still wanted: the next back-off tries again.
				cp.mu.Lock()
				cp.nodeProcs[k] = dead
				cp.mu.Unlock()
				return err
			}
			return nil
		}()
		if err == nil {
			return
		}
		cp.log.Warn("eks: restarting a node group that exited", "cluster", k.cluster.Name, "nodegroup", k.name, "error", err)
	}
}

func (cp *ControlPlane) untrackNodes(k ngKey) {
	cp.mu.Lock()
	delete(cp.nodeProcs, k)
	cp.mu.Unlock()
}

// launchNodes starts a nodes process and waits for its running line.
func (cp *ControlPlane) launchNodes(ctx context.Context, dir string, args []string) (*proc, error) {
	logPath := filepath.Join(dir, nodesLogFile)
	if _, err := os.Stat(logPath); err == nil {
		os.Rename(logPath, logPath+".1")
	}
	stderr, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer stderr.Close()
	outPath := filepath.Join(dir, nodesOutFile)
	stdout, err := os.OpenFile(outPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer stdout.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{pid: cmd.Process.Pid, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := renameio.WriteFile(filepath.Join(dir, nodesPidFile), []byte(strconv.Itoa(p.pid)+"\n"), 0o600); err != nil {
		cp.terminate(p)
		return nil, err
	}
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		if data, err := os.ReadFile(outPath); err == nil && strings.Contains(string(data), nodesReady) {
			return p, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("berth-k8s nodes exited before it ran (%v): %s", p.err, tail(logPath, 2048))
		case <-ctx.Done():
			cp.terminate(p)
			return nil, fmt.Errorf("berth-k8s nodes did not run in time (%w): %s", ctx.Err(), tail(logPath, 2048))
		case <-t.C:
		}
	}
}

// DeleteNodegroup stops the node group's process, deletes its Nodes and
// removes its pods' containers.
func (cp *ControlPlane) DeleteNodegroup(ctx context.Context, ref eks.ClusterRef, name string) error {
	defer cp.lock(ref)()
	k := ngKey{ref, name}
	dir := cp.nodegroupDir(ref, name)
	if err := cp.ensureNodes(ctx, k, dir, nil); err != nil {
		return err
	}
	var names []string
	if data, err := os.ReadFile(filepath.Join(dir, nodesArgsFile)); err == nil {
		var args []string
		if json.Unmarshal(data, &args) == nil {
			names = namesOf(args)
		}
	}
	// Nodes of a scale to zero are gone already; those of the last size
	// are named by the group's base name.
	if c, err := cp.runningAdmin(ctx, ref); err == nil {
		if err := cp.removeNodes(ctx, c, ref, names); err != nil {
			return err
		}
	} else if err := cp.removeContainers(ctx, ref, names); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// removeNodes deletes Node objects and the containers of their pods.
func (cp *ControlPlane) removeNodes(ctx context.Context, c *adminClient, ref eks.ClusterRef, names []string) error {
	// removeContainers takes nil for every node of the cluster: a sync
	// that removes no node (a scale-up) must not get there.
	if len(names) == 0 {
		return nil
	}
	for _, n := range names {
		// As EKS drains a node it scales in: its pods go first, so their
		// controllers replace them at once rather than after the pod
		// garbage collector's quarantine. Grace 0: nothing runs them any
		// more to confirm a graceful end.
		code, body, err := c.do(ctx, http.MethodGet, "/api/v1/pods?fieldSelector=spec.nodeName%3D"+url.QueryEscape(n), "", nil)
		if err != nil {
			return err
		}
		var pods struct {
			Items []struct {
				Metadata struct{ Namespace, Name string }
			}
		}
		if code == http.StatusOK && json.Unmarshal(body, &pods) == nil {
			for _, p := range pods.Items {
				c.do(ctx, http.MethodDelete, "/api/v1/namespaces/"+url.PathEscape(p.Metadata.Namespace)+"/pods/"+url.PathEscape(p.Metadata.Name)+"?gracePeriodSeconds=0", "", nil)
			}
		}
		code, body, err = c.do(ctx, http.MethodDelete, "/api/v1/nodes/"+n, "", nil)
		if err != nil {
			return err
		}
		if code/100 != 2 && code != http.StatusNotFound {
			return fmt.Errorf("deleting node %s: %d %s", n, code, body)
		}
	}
	return cp.removeContainers(ctx, ref, names)
}

// removeContainers removes the containers, sandboxes and volumes of the
// cluster's pods on the given nodes (all of the cluster's when names is
// nil).
func (cp *ControlPlane) removeContainers(ctx context.Context, ref eks.ClusterRef, names []string) error {
	if cp.rt == nil {
		return nil
	}
	selectors := []map[string]string{{labelCluster: cp.containerCluster(ref)}}
	if names != nil {
		selectors = selectors[:0]
		for _, n := range names {
			selectors = append(selectors, map[string]string{labelCluster: cp.containerCluster(ref), labelNode: n})
		}
	}
	var errs []error
	for _, sel := range selectors {
		cs, err := cp.rt.List(ctx, sel)
		if err != nil {
			return err
		}
		for _, ci := range cs {
			cp.rt.StopContainer(ctx, ci.ID, 5*time.Second)
			if err := cp.rt.RemoveContainer(ctx, ci.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				errs = append(errs, err)
			}
		}
		sbs, err := cp.rt.ListSandboxes(ctx, sel)
		if err != nil {
			return err
		}
		for _, sb := range sbs {
			if err := cp.rt.RemoveSandbox(ctx, sb.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				errs = append(errs, err)
			}
		}
		vols, err := cp.rt.ListVolumes(ctx, sel)
		if err != nil {
			return err
		}
		for _, v := range vols {
			if err := cp.rt.RemoveVolume(ctx, v.Name); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// nodesReady waits until every named Node reports Ready.
func (c *adminClient) nodesReady(ctx context.Context, names []string) error {
	ctx, cancel := context.WithTimeout(ctx, nodeReadyTimeout)
	defer cancel()
	for _, n := range names {
		for {
			code, body, err := c.do(ctx, http.MethodGet, "/api/v1/nodes/"+n, "", nil)
			if err == nil && code == http.StatusOK {
				var node struct {
					Status struct {
						Conditions []struct{ Type, Status string }
					}
				}
				if json.Unmarshal(body, &node) == nil && slices.ContainsFunc(node.Status.Conditions, func(c struct{ Type, Status string }) bool {
					return c.Type == "Ready" && c.Status == "True"
				}) {
					break
				}
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("node %s did not turn Ready: %w", n, ctx.Err())
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
	return nil
}

// resumeNodegroups runs again, or adopts, the node groups of a cluster
// whose control plane just started: the controller syncs only node groups
// that are changing, so after a restart this is what brings them back.
func (cp *ControlPlane) resumeNodegroups(ctx context.Context, ref eks.ClusterRef) {
	dirs, _ := filepath.Glob(filepath.Join(cp.ClusterDir(ref), "nodegroups", "*", nodesArgsFile))
	for _, f := range dirs {
		data, err := os.ReadFile(f)
		var args []string
		if err != nil || json.Unmarshal(data, &args) != nil {
			continue
		}
		dir := filepath.Dir(f)
		k := ngKey{ref, filepath.Base(dir)}
		if err := cp.ensureNodes(ctx, k, dir, args); err != nil {
			cp.log.Warn("eks: node group did not start again", "cluster", ref.Name, "nodegroup", k.name, "error", err)
		}
	}
}

// stopNodegroups stops the node group processes of a cluster (their pods'
// containers keep running, to be adopted by the next run).
func (cp *ControlPlane) stopNodegroups(ctx context.Context, ref eks.ClusterRef) {
	cp.mu.Lock()
	var ps []*proc
	for k, p := range cp.nodeProcs {
		if k.cluster == ref {
			ps = append(ps, p)
			delete(cp.nodeProcs, k)
		}
	}
	cp.mu.Unlock()
	dirs, _ := filepath.Glob(filepath.Join(cp.ClusterDir(ref), "nodegroups", "*"))
	for _, dir := range dirs {
		if p := cp.adoptableNodes(ngKey{ref, filepath.Base(dir)}, dir); p != nil {
			ps = append(ps, p)
		}
	}
	for _, p := range ps {
		cp.terminateCtx(ctx, p)
	}
}
