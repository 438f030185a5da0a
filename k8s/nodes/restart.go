package nodes

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/runtime"
)

// Back-off between restarts of a container that keeps exiting, as the
// kubelet does it: the first restart is immediate, then 10s doubling up to
// five minutes.
const (
	restartBackoffBase = 10 * time.Second
	restartBackoffMax  = 5 * time.Minute
)

func restartBackoff(restarts int32) time.Duration {
	if restarts <= 0 {
		return 0
	}
	d := restartBackoffBase
	for i := int32(1); i < restarts && d < restartBackoffMax; i++ {
		d *= 2
	}
	return min(d, restartBackoffMax)
}

// restartable says whether the pod's restartPolicy restarts a container
// that exited with code.
func restartable(pod *corev1.Pod, code int) bool {
	switch pod.Spec.RestartPolicy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return code != 0
	default:
		return true
	}
}

// runRestarts is the level-triggered half of the restart policy: every
// second it looks at every container of the node's pods and starts again
// those that exited, are restartable and have waited out their back-off.
func (p *provider) runRestarts(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			p.restartExited(ctx)
		}
	}
}

func (p *provider) restartExited(ctx context.Context) {
	type target struct {
		rec  *podRecord
		name string
		id   runtime.ContainerID
	}
	var targets []target
	p.mu.Lock()
	for _, rec := range p.recs {
		if rec.deleting {
			continue
		}
		for name, id := range rec.containers {
			targets = append(targets, target{rec, name, id})
		}
	}
	p.mu.Unlock()

	for _, t := range targets {
		info, err := p.cfg.Runtime.InspectContainer(ctx, t.id)
		if err != nil || info.State != runtime.StateExited {
			continue
		}
		p.mu.Lock()
		if t.rec.deleting || !willRestart(t.rec, t.name, info.ExitCode) {
			p.mu.Unlock()
			continue
		}
		n := t.rec.restarts[t.name]
		ex := t.rec.exit(t.name)
		steps := backoffSteps(t.rec, t.name, info)
		if time.Since(info.FinishedAt) < restartBackoff(steps) {
			// Once per exit, as the kubelet's BackOff events read: the loop
			// looks every second, and a recorder drops an object's events
			// once they come too fast.
			announce := !ex.announced.Equal(info.FinishedAt)
			ex.announced = info.FinishedAt
			p.mu.Unlock()
			if announce {
				p.containerEvent(t.rec.pod, t.name, corev1.EventTypeWarning, reasonBackOff,
					"Back-off restarting failed container %s in pod %s_%s(%s)", t.name, t.rec.pod.Name, t.rec.pod.Namespace, t.rec.pod.UID)
			}
			continue
		}
		t.rec.restarts[t.name] = n + 1
		ex.steps = steps + 1
		delete(t.rec.probeKilled, t.name)
		ex.last = terminatedState(info)
		p.mu.Unlock()
		// Starting the same container again keeps its log, which is what
		// `kubectl logs --previous` would read from.
		_ = p.cfg.Runtime.StartContainer(ctx, t.id)
	}
}

// containerExit is what a pod record keeps of a container's exits.
type containerExit struct {
	// last is how the previous incarnation ended: the kubelet reports it as
	// lastState while the next one runs (a container restarted in place
	// forgets its exit code when it starts again).
	last *corev1.ContainerStateTerminated
	// announced is the exit whose back-off was recorded as an event.
	announced time.Time
	// steps is how far the back-off has grown: the restarts since it was
	// last reset.
	steps int32
}

// backoffSteps is how far the back-off of the container's next restart
// has grown. Like the kubelet, which forgets a back-off not used for twice
// its maximum, a container that crashes after a long healthy run is
// restarted at once, not after five minutes. The caller holds provider.mu.
func backoffSteps(rec *podRecord, name string, info runtime.ContainerInfo) int32 {
	ex := rec.exits[name]
	if ex == nil || info.FinishedAt.Sub(info.StartedAt) > 2*restartBackoffMax {
		return 0
	}
	return ex.steps
}

// exit is the container's exit record; the caller holds provider.mu.
func (rec *podRecord) exit(name string) *containerExit {
	if rec.exits == nil {
		rec.exits = map[string]*containerExit{}
	}
	ex := rec.exits[name]
	if ex == nil {
		ex = &containerExit{}
		rec.exits[name] = ex
	}
	return ex
}

// willRestart says whether an exited container is started again: under the
// pod's restartPolicy, or because a probe stopped it (the kubelet restarts
// those unless the policy is Never, whatever their exit code). The caller
// holds provider.mu.
func willRestart(rec *podRecord, name string, code int) bool {
	return restartable(rec.pod, code) || rec.probeKilled[name] && rec.pod.Spec.RestartPolicy != corev1.RestartPolicyNever
}

// terminatedState is the status of a container that exited.
func terminatedState(info runtime.ContainerInfo) *corev1.ContainerStateTerminated {
	reason := "Completed"
	if info.ExitCode != 0 {
		reason = "Error"
	}
	if info.OOMKilled {
		reason = "OOMKilled"
	}
	return &corev1.ContainerStateTerminated{
		ExitCode:    int32(info.ExitCode),
		Reason:      reason,
		Message:     info.Error,
		StartedAt:   metav1.NewTime(info.StartedAt),
		FinishedAt:  metav1.NewTime(info.FinishedAt),
		ContainerID: "docker://" + string(info.ID),
	}
}
