// Package nodes registers Kubernetes Nodes that keep the kubelet's contract
// (node status and lease heartbeats, pod lifecycle and status) through the
// virtual-kubelet library, and runs their pods as real containers on Berth's
// runtime interface (runtime/docker on a single host).
package nodes

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/virtual-kubelet/virtual-kubelet/node"
	"github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-dev/berth/runtime"
)

// Config describes a group of nodes (an EKS node group).
type Config struct {
	// Client talks to the cluster's API server.
	Client kubernetes.Interface
	// Runtime runs the pods' containers.
	Runtime runtime.Runtime
	// Cluster names the cluster in container labels, so one runtime can host
	// the pods of several clusters and each can find (and remove) its own.
	Cluster string
	// Names are the Node names to register, one node per name.
	Names []string
	// Labels are added to every Node (e.g. eks.amazonaws.com/nodegroup).
	Labels map[string]string
	// NodeIP is the InternalIP the nodes report (the host's address).
	NodeIP string
	// MaxPods is each node's pod capacity; 0 means 110, the kubelet's default.
	MaxPods int
	// ClientCA verifies callers of the nodes' kubelet API (logs, exec): the
	// cluster CA, which signed kube-apiserver's kubelet client certificate.
	// Nil accepts any caller.
	ClientCA *x509.CertPool
	// VolumeDir holds the files of pods' ConfigMap and Secret volumes, which
	// are bind-mounted into containers; default: a directory under the
	// system temp dir named after the cluster.
	VolumeDir string
	// Region is the cluster's AWS region and AWSEndpoint Berth's AWS API as
	// the pods' containers reach it: pods whose service account names an
	// IAM role (IRSA) get them in their environment.
	Region      string
	AWSEndpoint string
	// PodIdentityURI is the EKS Pod Identity Agent as pods reach it
	// (http://169.254.170.23/v1/credentials) and PodIdentityLookup the URL
	// under which Berth answers whether <namespace>/<service account> has
	// a Pod Identity association: pods of those get the URI and a token
	// (podidentity.go). Empty, Pod Identity is off.
	PodIdentityURI    string
	PodIdentityLookup string
	// PodIdentityURIFile, when set, names a file holding the URI, read at
	// each pod start instead of PodIdentityURI: Berth may listen on
	// another port after a restart, and a process it adopts must hand new
	// pods the new URI without being restarted.
	PodIdentityURIFile string
	// RegistryAuthFile names a JSON file with credentials for one registry
	// (registryauth.go): Berth writes its ECR password there and renews it
	// before it expires, as EKS nodes' ECR credential provider fetches
	// theirs, so pods pull images from Berth's ECR.
	RegistryAuthFile string
	// Annotations and Taints are put on every Node; Capacity, when it
	// names CPU or memory, replaces the host's (a Fargate node reports
	// the size it was provisioned with, not the machine's).
	Annotations map[string]string
	Taints      []corev1.Taint
	Capacity    corev1.ResourceList
}

// Run registers the nodes and serves their pods until ctx ends. Containers
// are left running when it returns: a restarted Berth re-adopts them by
// label instead of restarting them.
func Run(ctx context.Context, cfg Config) error {
	if len(cfg.Names) == 0 {
		return errors.New("nodes: no node names")
	}
	cfg, host, err := prepare(ctx, cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var started []*runningNode
	for _, name := range cfg.Names {
		n, err := startNode(ctx, cfg, host, name)
		if err != nil {
			// A node that cannot be set up fails the whole group, as one
			// that cannot register would fail a kubelet.
			cancel()
			for _, s := range started {
				s.wait()
			}
			return err
		}
		started = append(started, n)
	}
	var errs []error
	for _, n := range started {
		if err := n.wait(); err != nil && ctx.Err() == nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RunNode registers one node and serves its pods until ctx ends, as Run
// does for each of cfg.Names (which RunNode ignores). It lets a caller
// start and stop nodes one at a time, as Fargate adds a node per pod.
func RunNode(ctx context.Context, cfg Config, name string) error {
	cfg, host, err := prepare(ctx, cfg)
	if err != nil {
		return err
	}
	n, err := startNode(ctx, cfg, host, name)
	if err != nil {
		return err
	}
	if err := n.wait(); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// prepare checks cfg, fills in its defaults and asks the runtime about the
// host the nodes describe.
func prepare(ctx context.Context, cfg Config) (Config, runtime.HostInfo, error) {
	if cfg.Client == nil || cfg.Runtime == nil {
		return cfg, runtime.HostInfo{}, errors.New("nodes: client and runtime are required")
	}
	if cfg.Cluster == "" {
		cfg.Cluster = "berth"
	}
	if cfg.NodeIP == "" {
		cfg.NodeIP = "127.0.0.1"
	}
	if cfg.MaxPods <= 0 {
		cfg.MaxPods = 110
	}
	if cfg.VolumeDir == "" {
		cfg.VolumeDir = filepath.Join(os.TempDir(), "berth-k8s-volumes", sanitize(cfg.Cluster))
	}
	host, err := cfg.Runtime.Info(ctx)
	if err != nil {
		return cfg, host, fmt.Errorf("nodes: runtime info: %w", err)
	}
	return cfg, host, nil
}

// runningNode is a node whose kubelet API and virtual-kubelet run.
type runningNode struct {
	wg  sync.WaitGroup
	err error
}

func (n *runningNode) wait() error {
	n.wg.Wait()
	return n.err
}

// startNode opens the node's kubelet API and starts registering it.
func startNode(ctx context.Context, cfg Config, host runtime.HostInfo, name string) (*runningNode, error) {
	lis, port, err := listenKubelet(cfg.NodeIP, name, cfg.ClientCA)
	if err != nil {
		return nil, fmt.Errorf("nodes: %s: kubelet API: %w", name, err)
	}
	mux := http.NewServeMux()
	n, err := nodeutil.NewNode(name, func(pc nodeutil.ProviderConfig) (nodeutil.Provider, node.NodeProvider, error) {
		describeNode(pc.Node, cfg, host, port)
		prov := newProvider(cfg, name, pc)
		prov.ctx = ctx
		go prov.runRestarts(ctx)
		return prov, nil, nil
	}, nodeutil.WithClient(cfg.Client), nodeutil.AttachProviderRoutes(mux), withPodWorkers)
	if err != nil {
		lis.Close()
		return nil, fmt.Errorf("nodes: %s: %w", name, err)
	}
	rn := &runningNode{}
	rn.wg.Add(2)
	go func() {
		defer rn.wg.Done()
		serveKubelet(ctx, lis, mux)
	}()
	go func() {
		defer rn.wg.Done()
		if err := n.Run(ctx); err != nil && ctx.Err() == nil {
			rn.err = fmt.Errorf("node %s: %w", name, err)
		}
	}()
	return rn, nil
}

// describeNode fills the Node object virtual-kubelet registers: what a
// kubelet would report about its host.
func describeNode(n *corev1.Node, cfg Config, host runtime.HostInfo, kubeletPort int) {
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	arch := host.Arch
	if arch == "" {
		arch = goruntime.GOARCH
	}
	n.Labels[corev1.LabelOSStable] = "linux"
	n.Labels[corev1.LabelArchStable] = arch
	n.Labels[corev1.LabelHostname] = n.Name
	// virtual-kubelet labels its nodes "type: virtual-kubelet" and role
	// "agent"; Berth's nodes stand for EKS worker nodes, so those go.
	delete(n.Labels, "type")
	delete(n.Labels, "kubernetes.io/role")
	for k, v := range cfg.Labels {
		n.Labels[k] = v
	}
	if len(cfg.Annotations) > 0 && n.Annotations == nil {
		n.Annotations = map[string]string{}
	}
	for k, v := range cfg.Annotations {
		n.Annotations[k] = v
	}
	n.Spec.Taints = append(n.Spec.Taints, cfg.Taints...)

	cpus := host.CPUs
	if cpus <= 0 {
		cpus = goruntime.NumCPU()
	}
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(strconv.Itoa(cpus)),
		corev1.ResourcePods:   resource.MustParse(strconv.Itoa(cfg.MaxPods)),
		corev1.ResourceMemory: *resource.NewQuantity(host.MemoryBytes, resource.BinarySI),
	}
	for r, q := range cfg.Capacity {
		capacity[r] = q
	}
	n.Status.Capacity = capacity
	n.Status.Allocatable = capacity.DeepCopy()
	n.Status.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: cfg.NodeIP},
		{Type: corev1.NodeHostName, Address: n.Name},
	}
	n.Status.NodeInfo = corev1.NodeSystemInfo{
		OperatingSystem:         "linux",
		Architecture:            arch,
		KubeletVersion:          "v1.37.2",
		OSImage:                 "Berth (" + host.Engine + " " + host.EngineVersion + ")",
		KernelVersion:           kernelVersion(),
		ContainerRuntimeVersion: host.Engine + "://" + host.EngineVersion,
	}
	n.Status.DaemonEndpoints = corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(kubeletPort)}}
	now := metav1.Now()
	for i := range n.Status.Conditions {
		c := &n.Status.Conditions[i]
		c.LastHeartbeatTime, c.LastTransitionTime = now, now
		if c.Type != corev1.NodeReady {
			c.Status = corev1.ConditionFalse
			c.Reason = "KubeletHasSufficientResources"
		}
	}
}

func kernelVersion() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// podWorkers is how many pods a node creates, updates or deletes at once.
// virtual-kubelet's default is one per CPU core, which made a 100-replica
// Deployment on two nodes queue behind four workers (1.25 pods a second,
// p99 76 s in bench/eks) while each worker mostly waits on the engine;
// the engine itself takes many container creations at once.
const podWorkers = 16

func withPodWorkers(c *nodeutil.NodeConfig) error {
	c.NumWorkers = podWorkers
	return nil
}
