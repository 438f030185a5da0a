package fargate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/berth-dev/berth/k8s/nodes"
)

// PodAnnotation, on a Fargate node, names the UID of the pod it was made
// for, so that a restarted scheduler finds a node it made before binding.
const PodAnnotation = "fargate.eks.berth.dev/pod-uid"

// Labels of the containers package nodes runs, by which a stopped node's
// containers are removed.
const (
	labelCluster = "berth.k8s.cluster"
	labelNode    = "berth.k8s.node"
)

// Timeouts: how long a new node gets to turn Ready, and how often the
// scheduler looks at everything even when no event woke it.
const (
	readyTimeout = 2 * time.Minute
	resyncEvery  = 10 * time.Second
)

// Scheduler is the fargate-scheduler: one node per pod.
type Scheduler struct {
	client kubernetes.Interface
	// node is the template of every node; Names is not used.
	node   nodes.Config
	region string

	pods  corev1listers.PodLister
	nodes corev1listers.NodeLister
	kick  chan struct{}

	mu       sync.Mutex
	running  map[string]*runningNode // node name →
	assigned map[types.UID]string    // pod → its node, once chosen
	placing  map[types.UID]bool      // pods being bound
	removing map[string]bool         // nodes being removed
}

type runningNode struct {
	pod    types.UID
	cancel context.CancelFunc
	done   chan struct{}
}

// NewScheduler returns the scheduler; node is the configuration its nodes
// run with (client, runtime, cluster label, region, AWS endpoint, registry
// credentials).
func NewScheduler(client kubernetes.Interface, node nodes.Config) *Scheduler {
	return &Scheduler{client: client, node: node, region: node.Region, kick: make(chan struct{}, 1),
		running: map[string]*runningNode{}, assigned: map[types.UID]string{}, placing: map[types.UID]bool{}, removing: map[string]bool{}}
}

// Run schedules until ctx ends. Nodes it stops when ctx ends keep their
// pods' containers: the next run adopts them.
func (s *Scheduler) Run(ctx context.Context) error {
	podInf := informers.NewSharedInformerFactoryWithOptions(s.client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.schedulerName", SchedulerName).String()
	}))
	nodeInf := informers.NewSharedInformerFactoryWithOptions(s.client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = ComputeTypeLabel + "=" + ComputeType
	}))
	pi, ni := podInf.Core().V1().Pods(), nodeInf.Core().V1().Nodes()
	s.pods, s.nodes = pi.Lister(), ni.Lister()
	wake := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.wake() },
		UpdateFunc: func(any, any) { s.wake() },
		DeleteFunc: func(any) { s.wake() },
	}
	pi.Informer().AddEventHandler(wake)
	ni.Informer().AddEventHandler(wake)
	podInf.Start(ctx.Done())
	nodeInf.Start(ctx.Done())
	podInf.WaitForCacheSync(ctx.Done())
	nodeInf.WaitForCacheSync(ctx.Done())

	t := time.NewTicker(resyncEvery)
	defer t.Stop()
	for {
		s.reconcile(ctx)
		select {
		case <-ctx.Done():
			s.stopAll()
			return nil
		case <-s.kick:
		case <-t.C:
		}
	}
}

func (s *Scheduler) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// reconcile runs a node for every Fargate pod that is not finished and
// stops (and removes) every other Fargate node.
func (s *Scheduler) reconcile(ctx context.Context) {
	pods, err := s.pods.List(labels.Everything())
	if err != nil {
		return
	}
	nodeObjs, err := s.nodes.List(labels.Everything())
	if err != nil {
		return
	}
	want := map[string]*corev1.Pod{}
	live := map[types.UID]bool{}
	for _, pod := range pods {
		finished := pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
		switch {
		case pod.Spec.NodeName != "":
			// Bound: its node runs until the pod finishes or is gone. A
			// pod being deleted reports itself finished once its node
			// stopped its containers, but only its node removes the
			// object, after the grace period.
			if strings.HasPrefix(pod.Spec.NodeName, "fargate-") && (!finished || pod.DeletionTimestamp != nil) {
				want[pod.Spec.NodeName] = pod
				live[pod.UID] = true
			}
		case finished:
		case pod.DeletionTimestamp == nil:
			name := s.nodeFor(pod, nodeObjs)
			want[name] = pod
			live[pod.UID] = true
		}
	}

	s.mu.Lock()
	for uid := range s.assigned {
		if !live[uid] {
			delete(s.assigned, uid)
		}
	}
	var stop []string
	for name := range s.running {
		if _, ok := want[name]; !ok {
			stop = append(stop, name)
		}
	}
	s.mu.Unlock()

	for name, pod := range want {
		s.ensureNode(ctx, name, pod)
		if pod.Spec.NodeName == "" {
			s.mu.Lock()
			busy := s.placing[pod.UID]
			s.placing[pod.UID] = true
			s.mu.Unlock()
			if !busy {
				go s.place(ctx, name, pod)
			}
		}
	}
	// Nodes left from a previous run whose pods are gone go too.
	for _, n := range nodeObjs {
		if _, ok := want[n.Name]; !ok {
			stop = append(stop, n.Name)
		}
	}
	for _, name := range stop {
		s.mu.Lock()
		busy := s.removing[name]
		s.removing[name] = true
		s.mu.Unlock()
		if !busy {
			go s.removeNode(ctx, name)
		}
	}
}

// nodeFor is the node a pending pod goes to: the one chosen before (in
// this run or, through the node's annotation, an earlier one), else the
// first of its candidate names that no other pod's node has.
func (s *Scheduler) nodeFor(pod *corev1.Pod, nodeObjs []*corev1.Node) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name, ok := s.assigned[pod.UID]; ok {
		return name
	}
	taken := map[string]bool{}
	for _, n := range nodeObjs {
		if n.Annotations[PodAnnotation] == string(pod.UID) {
			s.assigned[pod.UID] = n.Name
			return n.Name
		}
		taken[n.Name] = true
	}
	for name, rn := range s.running {
		if rn.pod != pod.UID {
			taken[name] = true
		}
	}
	for _, name := range s.assigned {
		taken[name] = true
	}
	name := NodeName(pod.UID, s.region, 0)
	for i := 1; taken[name]; i++ {
		name = NodeName(pod.UID, s.region, i)
	}
	s.assigned[pod.UID] = name
	return name
}

// ensureNode runs the node for pod unless it runs already.
func (s *Scheduler) ensureNode(ctx context.Context, name string, pod *corev1.Pod) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.running[name]; ok {
		return
	}
	cfg := s.node
	cfg.Names = nil
	cfg.MaxPods = 1
	capacity, _ := Capacity(pod)
	cfg.Capacity = capacity
	cfg.Labels = map[string]string{
		ComputeTypeLabel:                ComputeType,
		"topology.kubernetes.io/region": s.region,
	}
	cfg.Annotations = map[string]string{PodAnnotation: string(pod.UID)}
	cfg.Taints = []corev1.Taint{{Key: ComputeTypeLabel, Value: ComputeType, Effect: corev1.TaintEffectNoSchedule}}
	nctx, cancel := context.WithCancel(ctx)
	rn := &runningNode{pod: pod.UID, cancel: cancel, done: make(chan struct{})}
	s.running[name] = rn
	go func() {
		defer close(rn.done)
		err := nodes.RunNode(nctx, cfg, name)
		if err != nil && nctx.Err() == nil {
			klog.Errorf("fargate: node %s: %v", name, err)
		}
		s.mu.Lock()
		if s.running[name] == rn {
			delete(s.running, name)
		}
		s.mu.Unlock()
		if nctx.Err() == nil {
			// Ended on its own: the next pass starts it again.
			time.AfterFunc(time.Second, s.wake)
		}
	}()
	klog.Infof("fargate: node %s for pod %s/%s", name, pod.Namespace, pod.Name)
}

// place binds a pending pod to its node once the node is Ready.
func (s *Scheduler) place(ctx context.Context, name string, pod *corev1.Pod) {
	defer func() {
		s.mu.Lock()
		delete(s.placing, pod.UID)
		s.mu.Unlock()
	}()
	if err := s.waitReady(ctx, name); err != nil {
		klog.Errorf("fargate: pod %s/%s: %v", pod.Namespace, pod.Name, err)
		return
	}
	// EKS reports the size it provisioned on the pod. Annotated before
	// the binding: the node's status updates carry the pod's metadata as
	// the node last saw it.
	_, provisioned := Capacity(pod)
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{CapacityAnnotation: provisioned}}})
	if _, err := s.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		if !apierrors.IsNotFound(err) {
			klog.Warningf("fargate: annotating pod %s/%s: %v", pod.Namespace, pod.Name, err)
		}
	}
	err := s.client.CoreV1().Pods(pod.Namespace).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: name},
	}, metav1.CreateOptions{})
	if err != nil {
		if !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			klog.Errorf("fargate: binding pod %s/%s to %s: %v", pod.Namespace, pod.Name, name, err)
		}
		s.wake()
		return
	}
	klog.Infof("fargate: pod %s/%s bound to %s (%s)", pod.Namespace, pod.Name, name, provisioned)
}

func (s *Scheduler) waitReady(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for {
		if n, err := s.nodes.Get(name); err == nil {
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s did not turn Ready: %w", name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// removeNode stops a node, removes its pod's containers and deletes the
// Node, as Fargate ends a pod's microVM with the pod.
func (s *Scheduler) removeNode(ctx context.Context, name string) {
	defer func() {
		s.mu.Lock()
		delete(s.removing, name)
		s.mu.Unlock()
	}()
	s.mu.Lock()
	rn := s.running[name]
	delete(s.running, name)
	s.mu.Unlock()
	if rn != nil {
		rn.cancel()
		<-rn.done
	}
	if err := s.removeContainers(ctx, name); err != nil {
		klog.Warningf("fargate: removing the containers of node %s: %v", name, err)
	}
	err := s.client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		klog.Warningf("fargate: deleting node %s: %v", name, err)
		return
	}
	if rn != nil || err == nil {
		klog.Infof("fargate: node %s removed", name)
	}
}

// removeContainers removes the containers, sandboxes and volumes of the
// node's pod.
func (s *Scheduler) removeContainers(ctx context.Context, name string) error {
	rt := s.node.Runtime
	sel := map[string]string{labelCluster: s.node.Cluster, labelNode: name}
	var errs []error
	cs, err := rt.List(ctx, sel)
	if err != nil {
		return err
	}
	for _, c := range cs {
		rt.StopContainer(ctx, c.ID, 5*time.Second)
		if err := rt.RemoveContainer(ctx, c.ID); err != nil {
			errs = append(errs, err)
		}
	}
	sbs, err := rt.ListSandboxes(ctx, sel)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, sb := range sbs {
		if err := rt.RemoveSandbox(ctx, sb.ID); err != nil {
			errs = append(errs, err)
		}
	}
	vols, err := rt.ListVolumes(ctx, sel)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, v := range vols {
		if err := rt.RemoveVolume(ctx, v.Name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// stopAll stops the nodes at shutdown, leaving their pods' containers for
// the next run to adopt.
func (s *Scheduler) stopAll() {
	s.mu.Lock()
	rns := make([]*runningNode, 0, len(s.running))
	for _, rn := range s.running {
		rns = append(rns, rn)
	}
	s.mu.Unlock()
	for _, rn := range rns {
		rn.cancel()
	}
	for _, rn := range rns {
		<-rn.done
	}
}
