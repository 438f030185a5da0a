package fargate

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-dev/berth/k8s/nodes"
)

// A pending pod keeps the node chosen for it, also across a restart (found
// by the node's annotation), and a name another pod's node holds is
// skipped.
func TestNodeForAPendingPod(t *testing.T) {
	pod := func(uid string) *corev1.Pod { return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid)}} }
	node := func(name, uid string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{PodAnnotation: uid}}}
	}
	s := NewScheduler(nil, nodes.Config{Region: "eu-west-1"})

	a := s.nodeFor(pod("a"), nil)
	if a != NodeName("a", "eu-west-1", 0) || s.nodeFor(pod("a"), nil) != a {
		t.Errorf("pod a: %s", a)
	}

	// After a restart: the node made for pod b before is found again,
	// whatever its name.
	restarted := NewScheduler(nil, nodes.Config{Region: "eu-west-1"})
	if got := restarted.nodeFor(pod("b"), []*corev1.Node{node("fargate-ip-10-1-2-3.eu-west-1.compute.internal", "b")}); got != "fargate-ip-10-1-2-3.eu-west-1.compute.internal" {
		t.Errorf("pod b after a restart: %s", got)
	}

	// Pod c's first candidate is taken by a node of another pod.
	taken := NodeName("c", "eu-west-1", 0)
	if got := restarted.nodeFor(pod("c"), []*corev1.Node{node(taken, "someone-else")}); got != NodeName("c", "eu-west-1", 1) {
		t.Errorf("pod c: %s, its first candidate %s is taken", got, taken)
	}
}
