package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/eks/k8sproc"
	"github.com/berth-dev/berth/test/harness"
)

// The shared setup of the EKS end-to-end tests that run real clusters on
// berth-k8s: a Berth with --k8s-binary, an IAM role and two subnets for
// create-cluster, and a cleanup that leaves nothing of the test's clusters
// on the host, whatever happened to the test or to Berth.

const eksServiceTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
const eksDevelopersTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]}`

// eksEnv is a Berth that runs EKS clusters on berth-k8s.
type eksEnv struct {
	b       *harness.Berth
	tools   harness.K8sTools
	dataDir string
	roleArn string   // the eks-cluster role, also the node groups' role
	subnets []string // the first two subnets of describe-subnets
}

// startEKS starts Berth with berth-k8s, with the harness's test image
// testImage loaded into Docker as ref, and creates what create-cluster
// needs, from IAM and EC2 as a user would get it.
func startEKS(t *testing.T, testImage, ref string) *eksEnv {
	t.Helper()
	harness.RequireDocker(t)
	e := &eksEnv{tools: harness.K8sBinaries(t), dataDir: t.TempDir()}
	harness.LoadIntoDocker(t, harness.TestImage(t, testImage), ref)
	// Runs after Berth is stopped (cleanups run last-registered first): a
	// test that fails anywhere, even between a kill -9 and the restart,
	// must leave no control plane, container, network or chain behind.
	t.Cleanup(func() { e.cleanup(t) })
	e.b = harness.Start(t, harness.WithDataDir(e.dataDir), harness.WithArgs("--k8s-binary", e.tools.BerthK8s))

	var role struct{ Role struct{ Arn string } }
	e.b.AWS(t, "iam", "create-role", "--role-name", "eks-cluster", "--assume-role-policy-document", eksServiceTrust).Must(t).JSON(t, &role)
	e.roleArn = role.Role.Arn
	var subnets struct{ Subnets []struct{ SubnetId string } }
	e.b.AWS(t, "ec2", "describe-subnets").Must(t).JSON(t, &subnets)
	if len(subnets.Subnets) < 2 {
		t.Fatalf("describe-subnets: %+v", subnets)
	}
	e.subnets = []string{subnets.Subnets[0].SubnetId, subnets.Subnets[1].SubnetId}
	return e
}

// cleanup kills the test's berth-k8s processes, then removes, for every
// cluster whose directory is still there (delete-cluster removes it after
// cleaning up), the containers of its pods and its Services' chains and
// pod network, as delete-cluster would.
func (e *eksEnv) cleanup(t *testing.T) {
	pids := append(controlPlanePids(e.dataDir), nodesPids(e.dataDir)...)
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	// A process killed mid-request must not create a container after the
	// removal below.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if len(controlPlanePids(e.dataDir))+len(nodesPids(e.dataDir)) == 0 {
			break
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(e.dataDir, "eks", "*", "*", "*"))
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		cluster := k8sproc.ContainerCluster(dir)
		if ids := containersLabelled(cluster); len(ids) > 0 {
			exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
			t.Logf("cleanup: removed %d containers of %s", len(ids), cluster)
		}
		if out, err := exec.Command(e.tools.BerthK8s, "services-cleanup", "--pod-network=berth-"+cluster).CombinedOutput(); err != nil {
			t.Logf("cleanup: services-cleanup of %s: %v %s", cluster, err, out)
		}
	}
}

// eksCluster is an ACTIVE cluster with a kubeconfig from the aws CLI v1.
type eksCluster struct {
	e          *eksEnv
	name       string
	desc       map[string]any // describe-cluster's cluster once ACTIVE
	kubeconfig string
	env        []string // kubectl's environment, with the CLI v1 first on PATH
}

// createCluster creates a cluster on both subnets, waits for it to be
// ACTIVE and writes its kubeconfig with update-kubeconfig.
func (e *eksEnv) createCluster(t *testing.T, name string) *eksCluster {
	t.Helper()
	start := time.Now()
	e.b.AWS(t, "eks", "create-cluster", "--name", name, "--role-arn", e.roleArn,
		"--resources-vpc-config", "subnetIds="+strings.Join(e.subnets, ",")).Must(t)
	// The waiters sleep 30 s between polls; polling keeps the tests short.
	c := &eksCluster{e: e, name: name, desc: eksClusterStatus(t, e.b, name, "ACTIVE")}
	t.Logf("create-cluster → ACTIVE in %s", time.Since(start).Round(100*time.Millisecond))
	c.kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	e.b.AWS(t, "eks", "update-kubeconfig", "--name", name, "--kubeconfig", c.kubeconfig).Must(t)
	c.env = e.b.KubectlEnv(t, 1)
	return c
}

// kubectl runs kubectl on the cluster as Berth's root user.
func (c *eksCluster) kubectl(t testing.TB, args ...string) *harness.Result {
	t.Helper()
	return c.kubectlAs(t, c.env, args...)
}

// kubectlAs runs kubectl on the cluster with env (another principal's
// credentials, say).
func (c *eksCluster) kubectlAs(t testing.TB, env []string, args ...string) *harness.Result {
	t.Helper()
	return harness.Kubectl(t, c.e.tools.Kubectl, env, append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
}

// apply writes manifest to a file and applies it.
func (c *eksCluster) apply(t testing.TB, manifest string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "manifest.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	c.kubectl(t, "apply", "-f", path).Must(t)
}

// startNodegroup creates a node group of size nodes on the first subnet,
// without waiting for it.
func (c *eksCluster) startNodegroup(t *testing.T, name string, size int) {
	t.Helper()
	c.e.b.AWS(t, "eks", "create-nodegroup", "--cluster-name", c.name, "--nodegroup-name", name, "--node-role", c.e.roleArn,
		"--subnets", c.e.subnets[0], "--scaling-config", fmt.Sprintf("minSize=%d,maxSize=%d,desiredSize=%d", size, size, size)).Must(t)
}

// createNodegroup creates a node group of size nodes and waits for it to
// be ACTIVE.
func (c *eksCluster) createNodegroup(t *testing.T, name string, size int) {
	t.Helper()
	c.startNodegroup(t, name, size)
	c.waitNodegroupActive(t, name)
}

func (c *eksCluster) waitNodegroupActive(t *testing.T, name string) {
	t.Helper()
	eksEventually(t, "node group ACTIVE", func() (bool, string) {
		r := c.e.b.AWS(t, "eks", "describe-nodegroup", "--cluster-name", c.name, "--nodegroup-name", name)
		if r.ExitCode != 0 {
			return false, r.Stderr
		}
		ng := r.Map(t)["nodegroup"].(map[string]any)
		if ng["status"] == "CREATE_FAILED" {
			t.Fatalf("node group failed: %v", ng["health"])
		}
		return ng["status"] == "ACTIVE", r.Stdout
	})
}

// deleteNodegroup deletes a node group and waits until it is gone.
func (c *eksCluster) deleteNodegroup(t *testing.T, name string) {
	t.Helper()
	c.e.b.AWS(t, "eks", "delete-nodegroup", "--cluster-name", c.name, "--nodegroup-name", name).Must(t)
	eksEventually(t, "the node group to be deleted", func() (bool, string) {
		r := c.e.b.AWS(t, "eks", "describe-nodegroup", "--cluster-name", c.name, "--nodegroup-name", name)
		return r.ErrorCode() == "ResourceNotFoundException", r.Stdout
	})
}

// delete deletes the cluster with run (b.AWS or b.AWSv2) and waits until
// describe-cluster no longer finds it.
func (c *eksCluster) delete(t *testing.T, run func(testing.TB, ...string) *harness.Result) {
	t.Helper()
	run(t, "eks", "delete-cluster", "--name", c.name).Must(t)
	eksEventually(t, "the cluster to be deleted", func() (bool, string) {
		r := c.e.b.AWS(t, "eks", "describe-cluster", "--name", c.name)
		return r.ErrorCode() == "ResourceNotFoundException", r.Stdout
	})
}

// killControlPlane kill -9s the test's only control plane and returns its
// pid.
func (e *eksEnv) killControlPlane(t *testing.T) int {
	t.Helper()
	before := controlPlanePids(e.dataDir)
	if len(before) != 1 {
		t.Fatalf("control planes: %v", before)
	}
	syscall.Kill(before[0], syscall.SIGKILL)
	return before[0]
}

func eksClusterStatus(t *testing.T, b *harness.Berth, name, status string) map[string]any {
	t.Helper()
	var c map[string]any
	eksEventually(t, "cluster "+name+" "+status, func() (bool, string) {
		r := b.AWS(t, "eks", "describe-cluster", "--name", name)
		if r.ExitCode != 0 {
			return false, r.Stderr
		}
		c = r.Map(t)["cluster"].(map[string]any)
		if c["status"] == "FAILED" {
			t.Fatalf("cluster %s FAILED: %v", name, c["health"])
		}
		return c["status"] == status, r.Stdout
	})
	return c
}

// eksEventually polls cond for up to three minutes: a control plane starts
// in seconds, but two shared cores under other tests can stretch that.
func eksEventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last: %s", what, last)
		}
		time.Sleep(time.Second)
	}
}

type kubeUserInfo struct {
	Username string
	Groups   []string
	Extra    map[string][]string
}

func kubeWhoami(t *testing.T, r *harness.Result) kubeUserInfo {
	t.Helper()
	var ssr struct {
		Status struct{ UserInfo kubeUserInfo }
	}
	r.JSON(t, &ssr)
	return ssr.Status.UserInfo
}

// podsRunning maps the Running pods of a `kubectl get pods -o json` to
// their UIDs.
func podsRunning(t *testing.T, r *harness.Result) map[string]string {
	t.Helper()
	var pods struct {
		Items []struct {
			Metadata struct{ Name, UID string }
			Status   struct{ Phase string }
		}
	}
	if r.ExitCode != 0 || json.Unmarshal([]byte(r.Stdout), &pods) != nil {
		return nil
	}
	out := map[string]string{}
	for _, p := range pods.Items {
		if p.Status.Phase == "Running" {
			out[p.Metadata.Name] = p.Metadata.UID
		}
	}
	return out
}

// podContainers are the Docker containers of the pods with these UIDs (the
// label berth-k8s nodes puts on them).
func podContainers(uids []string) []string {
	var ids []string
	for _, uid := range uids {
		out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=berth.k8s.uid="+uid).Output()
		ids = append(ids, strings.Fields(string(out))...)
	}
	return ids
}

func removePodContainers(uids []string) {
	if ids := podContainers(uids); len(ids) > 0 {
		exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
	}
}

// containersLabelled are the containers (sandboxes included) of a cluster.
func containersLabelled(cluster string) []string {
	out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=berth.k8s.cluster="+cluster).Output()
	return strings.Fields(string(out))
}

// nodesPids are the live `berth-k8s nodes` processes of clusters under dir.
func nodesPids(dir string) []int {
	return pidsWith("--kubeconfig=" + dir + "/")
}

// controlPlanePids are the live berth-k8s control planes whose data dir is
// under dir.
func controlPlanePids(dir string) []int {
	return pidsWith("--data-dir=" + dir + "/")
}

// pidsWith are the live processes with an argument starting with arg,
// found in /proc.
func pidsWith(arg string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.Contains(cmd, []byte("\x00"+arg)) {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if i := bytes.LastIndexByte(stat, ')'); err != nil || i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}
