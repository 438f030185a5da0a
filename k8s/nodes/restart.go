package nodes

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"

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
		killed := t.rec.probeKilled[t.name]
		if !restartable(t.rec.pod, info.ExitCode) && !(killed && t.rec.pod.Spec.RestartPolicy != corev1.RestartPolicyNever) {
			p.mu.Unlock()
			continue
		}
		n := t.rec.restarts[t.name]
		if t.rec.deleting || time.Since(info.FinishedAt) < restartBackoff(n) {
			p.mu.Unlock()
			continue
		}
		t.rec.restarts[t.name] = n + 1
		delete(t.rec.probeKilled, t.name)
		p.mu.Unlock()
		// Starting the same container again keeps its log, which is what
		// `kubectl logs --previous` would read from.
		_ = p.cfg.Runtime.StartContainer(ctx, t.id)
	}
}
