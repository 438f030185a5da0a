package nodes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/berth-dev/berth/runtime"
)

// Labels put on every sandbox and container, so that a restarted Berth
// finds a pod's containers again from the pod's UID alone.
const (
	labelCluster   = "berth.k8s.cluster"
	labelNode      = "berth.k8s.node"
	labelNamespace = "berth.k8s.namespace"
	labelPod       = "berth.k8s.pod"
	labelUID       = "berth.k8s.uid"
	labelContainer = "berth.k8s.container"
)

// provider is one node's kubelet: virtual-kubelet's pod controller calls it
// for each pod bound to the node, and polls GetPodStatus for status.
type provider struct {
	cfg        Config
	node       string
	pods       corev1listers.PodLister
	configMaps corev1listers.ConfigMapLister
	secrets    corev1listers.SecretLister

	mu     sync.Mutex
	recs   map[string]*podRecord // namespace/name
	notify func(*corev1.Pod)     // virtual-kubelet's status sink, once NotifyPods ran
	// ctx is the node's lifetime: background work started for a pod (its
	// probes) must outlive the CreatePod call that started it.
	ctx context.Context
	// events records the kubelet's events about containers (events.go).
	events eventSink
	// dns finds the cluster DNS address for pods' resolv.conf (dns.go).
	dns clusterDNS
}

type podRecord struct {
	pod        *corev1.Pod
	sandbox    runtime.Sandbox
	containers map[string]runtime.ContainerID // container name → id

	// Guarded by provider.mu: written by the restart, probe and status loops.
	restarts    map[string]int32
	probes      map[string]*probeState
	probeKilled map[string]bool // stopped by a failing probe: restart unless Never
	deleting    bool
	// last is the status last sent to the API server, to send only changes
	// and keep condition transition times.
	last *corev1.PodStatus
	// exits is each container's last exit, for lastState (restart.go).
	exits map[string]*containerExit
}

var _ nodeutil.Provider = (*provider)(nil)

func newProvider(cfg Config, name string, pc nodeutil.ProviderConfig) *provider {
	return &provider{cfg: cfg, node: name, pods: pc.Pods, configMaps: pc.ConfigMaps, secrets: pc.Secrets, recs: map[string]*podRecord{}}
}

func key(namespace, name string) string { return namespace + "/" + name }

func (p *provider) labels(pod *corev1.Pod) map[string]string {
	return map[string]string{
		labelCluster:   p.cfg.Cluster,
		labelNode:      p.node,
		labelNamespace: pod.Namespace,
		labelPod:       pod.Name,
		labelUID:       string(pod.UID),
	}
}

// objectName is unique per pod incarnation (the UID) and stays within
// Docker's name rules whatever the namespace and pod names are.
func (p *provider) objectName(pod *corev1.Pod, container string) string {
	sum := sha256.Sum256([]byte(p.cfg.Cluster + "/" + string(pod.UID)))
	name := "k8s_" + sanitize(pod.Namespace) + "_" + sanitize(pod.Name)
	if container != "" {
		name += "_" + sanitize(container)
	}
	return name + "_" + hex.EncodeToString(sum[:5])
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		}
		return '-'
	}, s)
}

// CreatePod gives the pod a sandbox (its network namespace and IP) and starts
// its containers in it. Whatever already exists for the pod's UID is adopted
// rather than created again, so a retry or a Berth restart starts nothing
// twice.
func (p *provider) CreatePod(ctx context.Context, pod *corev1.Pod) error {
	rec := &podRecord{pod: pod.DeepCopy(), containers: map[string]runtime.ContainerID{}, restarts: map[string]int32{},
		probes: map[string]*probeState{}, probeKilled: map[string]bool{}}
	labels := p.labels(pod)

	sbs, err := p.cfg.Runtime.ListSandboxes(ctx, map[string]string{labelUID: string(pod.UID), labelCluster: p.cfg.Cluster})
	if err != nil {
		return err
	}
	if len(sbs) > 0 {
		rec.sandbox = sbs[0]
	} else {
		hostname := pod.Spec.Hostname
		if hostname == "" {
			hostname = pod.Name
		}
		dnsServers, dnsSearch, dnsOptions := podDNS(pod, p.dns.address(ctx, p.cfg.Client))
		rec.sandbox, err = p.cfg.Runtime.CreateSandbox(ctx, runtime.SandboxSpec{
			Name:        p.objectName(pod, ""),
			NetworkMode: runtime.NetworkAWSVPC,
			Labels:      labels,
			Hostname:    truncate(hostname, 63),
			DNSServers:  dnsServers,
			DNSSearch:   dnsSearch,
			DNSOptions:  dnsOptions,
		})
		var conflict *runtime.ConflictError
		if errors.As(err, &conflict) {
			rec.sandbox, err = p.cfg.Runtime.InspectSandbox(ctx, runtime.SandboxID(conflict.ID))
		}
		if err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
	}

	existing, err := p.cfg.Runtime.List(ctx, map[string]string{labelUID: string(pod.UID), labelCluster: p.cfg.Cluster})
	if err != nil {
		return err
	}
	for _, c := range existing {
		rec.containers[c.Labels[labelContainer]] = c.ID
	}

	// What the containers run with: the pod plus Berth's AWS endpoint and,
	// for IRSA, the role's token volume and environment (irsa.go).
	run, err := p.withAWS(ctx, pod)
	if err == nil {
		// EKS Pod Identity's token and agent URI (podidentity.go).
		run, err = p.withPodIdentity(ctx, run)
	}
	if err != nil {
		return err
	}
	vols, refresh, err := p.podVolumes(ctx, run, labels)
	if err != nil {
		return err
	}
	for _, c := range run.Spec.Containers {
		if _, ok := rec.containers[c.Name]; ok {
			continue
		}
		mounts, err := containerMounts(vols, c)
		if err != nil {
			return fmt.Errorf("container %s: %w", c.Name, err)
		}
		id, err := p.startContainer(ctx, pod, rec.sandbox, c, labels, mounts)
		if err != nil {
			return fmt.Errorf("container %s: %w", c.Name, err)
		}
		rec.containers[c.Name] = id
	}

	p.mu.Lock()
	p.recs[key(pod.Namespace, pod.Name)] = rec
	p.mu.Unlock()
	if hasProbes(pod) && p.ctx != nil {
		go p.runProbes(p.ctx, rec)
	}
	if !refresh.IsZero() && p.ctx != nil {
		go p.refreshTokens(p.ctx, run, refresh)
	}
	// Report Running now rather than at the next status tick: this is most
	// of the pod start latency users see.
	p.sendStatus(ctx, rec)
	return nil
}

func (p *provider) startContainer(ctx context.Context, pod *corev1.Pod, sb runtime.Sandbox, c corev1.Container, podLabels map[string]string, mounts []runtime.Mount) (runtime.ContainerID, error) {
	if err := p.ensureImage(ctx, c); err != nil {
		return "", err
	}
	labels := map[string]string{labelContainer: c.Name}
	for k, v := range podLabels {
		labels[k] = v
	}
	// virtual-kubelet has already resolved env, envFrom, ConfigMap, Secret
	// and downward-API references into plain values.
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	spec := runtime.ContainerSpec{
		Name:       p.objectName(pod, c.Name),
		Sandbox:    sb,
		Image:      c.Image,
		EntryPoint: c.Command,
		Command:    c.Args,
		WorkingDir: c.WorkingDir,
		Env:        env,
		Labels:     labels,
		Resources:  resources(c.Resources),
		Mounts:     mounts,
	}
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		spec.StopTimeout = time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			spec.User = strconv.FormatInt(*sc.RunAsUser, 10)
		}
		if sc.Privileged != nil {
			spec.Privileged = *sc.Privileged
		}
		if sc.ReadOnlyRootFilesystem != nil {
			spec.ReadonlyRootfs = *sc.ReadOnlyRootFilesystem
		}
	}
	id, err := p.cfg.Runtime.CreateContainer(ctx, spec)
	var conflict *runtime.ConflictError
	if errors.As(err, &conflict) {
		id, err = runtime.ContainerID(conflict.ID), nil
	}
	if err != nil {
		return "", err
	}
	if err := p.cfg.Runtime.StartContainer(ctx, id); err != nil {
		return "", err
	}
	return id, nil
}

// ensureImage follows the container's imagePullPolicy as the kubelet does.
func (p *provider) ensureImage(ctx context.Context, c corev1.Container) error {
	policy := c.ImagePullPolicy
	if policy != corev1.PullAlways {
		_, err := p.cfg.Runtime.InspectImage(ctx, c.Image)
		if err == nil {
			return nil
		}
		if !runtime.IsNotFound(err) {
			return err
		}
		if policy == corev1.PullNever {
			return fmt.Errorf("image %s is not present and imagePullPolicy is Never", c.Image)
		}
	}
	auth, err := registryAuthFor(p.cfg.RegistryAuthFile, c.Image)
	if err != nil {
		return err
	}
	_, err = p.cfg.Runtime.PullImage(ctx, c.Image, auth)
	return err
}

func resources(r corev1.ResourceRequirements) runtime.Resources {
	var out runtime.Resources
	if q, ok := r.Limits[corev1.ResourceCPU]; ok {
		out.NanoCPUs = q.MilliValue() * 1_000_000
	}
	if q, ok := r.Limits[corev1.ResourceMemory]; ok {
		out.MemoryBytes = q.Value()
	}
	if q, ok := r.Requests[corev1.ResourceCPU]; ok {
		// The kubelet's mapping of CPU requests to cgroup shares.
		if shares := q.MilliValue() * 1024 / 1000; shares >= 2 {
			out.CPUShares = shares
		} else {
			out.CPUShares = 2
		}
	}
	if q, ok := r.Requests[corev1.ResourceMemory]; ok {
		out.MemoryReservationBytes = q.Value()
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// UpdatePod only records the new object: the fields a kubelet acts on in
// place (image changes, resizes) are not supported yet.
func (p *provider) UpdatePod(ctx context.Context, pod *corev1.Pod) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rec, ok := p.recs[key(pod.Namespace, pod.Name)]; ok {
		rec.pod = pod.DeepCopy()
	}
	return nil
}

// DeletePod stops the containers within the pod's grace period and removes
// them and the sandbox. It works from labels, not memory, so it also cleans
// up after a restart.
func (p *provider) DeletePod(ctx context.Context, pod *corev1.Pod) error {
	p.mu.Lock()
	if rec, ok := p.recs[key(pod.Namespace, pod.Name)]; ok {
		rec.deleting = true
	}
	p.mu.Unlock()
	sel := map[string]string{labelUID: string(pod.UID), labelCluster: p.cfg.Cluster}
	grace := 30 * time.Second
	if pod.DeletionGracePeriodSeconds != nil {
		grace = time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	} else if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	containers, err := p.cfg.Runtime.List(ctx, sel)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range containers {
		if err := p.cfg.Runtime.StopContainer(ctx, c.ID, grace); err != nil {
			errs = append(errs, err)
		}
		if err := p.cfg.Runtime.RemoveContainer(ctx, c.ID); err != nil {
			errs = append(errs, err)
		}
	}
	sbs, err := p.cfg.Runtime.ListSandboxes(ctx, sel)
	if err != nil {
		errs = append(errs, err)
	}
	for _, sb := range sbs {
		if err := p.cfg.Runtime.RemoveSandbox(ctx, sb.ID); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		if err := p.removeVolumes(ctx, pod, sel); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	p.mu.Lock()
	delete(p.recs, key(pod.Namespace, pod.Name))
	notify := p.notify
	p.mu.Unlock()

	// virtual-kubelet waits for the terminal status of a deleted pod before
	// it removes the object, as the kubelet reports its containers stopped.
	if notify != nil && pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
		done := pod.DeepCopy()
		done.Status.Phase = corev1.PodSucceeded
		done.Status.Reason = "Terminated"
		now := metav1.Now()
		for i, cs := range done.Status.ContainerStatuses {
			term := &corev1.ContainerStateTerminated{Reason: "Completed", FinishedAt: now, ContainerID: cs.ContainerID}
			if cs.State.Running != nil {
				term.StartedAt = cs.State.Running.StartedAt
			}
			done.Status.ContainerStatuses[i].State = corev1.ContainerState{Terminated: term}
			done.Status.ContainerStatuses[i].Ready = false
		}
		notify(done)
	}
	return nil
}

func (p *provider) record(namespace, name string) (*podRecord, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rec, ok := p.recs[key(namespace, name)]
	return rec, ok
}

func (p *provider) GetPod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	rec, ok := p.record(namespace, name)
	if !ok {
		return nil, errdefs.NotFoundf("pod %s/%s is not on node %s", namespace, name, p.node)
	}
	st, err := p.status(ctx, rec)
	if err != nil {
		return nil, err
	}
	pod := rec.pod.DeepCopy()
	pod.Status = *st
	return pod, nil
}

func (p *provider) GetPodStatus(ctx context.Context, namespace, name string) (*corev1.PodStatus, error) {
	rec, ok := p.record(namespace, name)
	if !ok {
		return nil, errdefs.NotFoundf("pod %s/%s is not on node %s", namespace, name, p.node)
	}
	return p.status(ctx, rec)
}

func (p *provider) GetPods(ctx context.Context) ([]*corev1.Pod, error) {
	p.mu.Lock()
	recs := make([]*podRecord, 0, len(p.recs))
	for _, r := range p.recs {
		recs = append(recs, r)
	}
	p.mu.Unlock()
	out := make([]*corev1.Pod, 0, len(recs))
	for _, r := range recs {
		pod, err := p.GetPod(ctx, r.pod.Namespace, r.pod.Name)
		if err == nil {
			out = append(out, pod)
		}
	}
	return out, nil
}

// Stats and metrics are not served yet (exec, attach and port-forward are
// in kubeletapi.go).
var errNotServed = errdefs.AsNotFound(errors.New("not supported by Berth's nodes yet"))

func (p *provider) GetStatsSummary(context.Context) (*statsv1alpha1.Summary, error) {
	return nil, errNotServed
}

func (p *provider) GetMetricsResource(context.Context) ([]*dto.MetricFamily, error) {
	return nil, errNotServed
}
