package nodes

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// Event reasons and types the kubelet uses for what happens to a pod's
// containers, which `kubectl describe pod` and `kubectl get events` show:
// users read a restart's cause there.
const (
	reasonUnhealthy = "Unhealthy"
	reasonKilling   = "Killing"
	reasonBackOff   = "BackOff"
)

// eventSink is a node's event recorder, made on first use: virtual-kubelet
// makes its own only after the provider, and gives the provider none.
type eventSink struct {
	once sync.Once
	rec  record.EventRecorder
}

// recorder is the node's recorder as the kubelet's (source component
// "kubelet", host the node), or nil when the node has no API client.
func (p *provider) recorder() record.EventRecorder {
	p.events.once.Do(func() {
		if p.events.rec != nil || p.cfg.Client == nil || p.ctx == nil {
			return
		}
		b := record.NewBroadcaster()
		b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: p.cfg.Client.CoreV1().Events("")})
		p.events.rec = b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: p.node})
		ctx := p.ctx
		go func() {
			<-ctx.Done()
			b.Shutdown()
		}()
	})
	return p.events.rec
}

// containerEvent records an event about one of the pod's containers, with
// the field path the kubelet gives it.
func (p *provider) containerEvent(pod *corev1.Pod, container, eventType, reason, format string, args ...any) {
	rec := p.recorder()
	if rec == nil {
		return
	}
	ref := &corev1.ObjectReference{
		Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID,
		ResourceVersion: pod.ResourceVersion, FieldPath: "spec.containers{" + container + "}",
	}
	rec.Eventf(ref, eventType, reason, format, args...)
}
