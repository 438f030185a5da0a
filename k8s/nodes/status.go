package nodes

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/runtime"
)

// status builds the pod's status from what the runtime reports now, the way
// the kubelet's status manager does: container states first, then the phase
// and the conditions derived from them.
func (p *provider) status(ctx context.Context, rec *podRecord) (*corev1.PodStatus, error) {
	pod := rec.pod
	st := &corev1.PodStatus{
		HostIP:   p.cfg.NodeIP,
		HostIPs:  []corev1.HostIP{{IP: p.cfg.NodeIP}},
		QOSClass: qosClass(pod),
	}
	if ip := rec.sandbox.Network.IPv4Address; ip != "" {
		st.PodIP = ip
		st.PodIPs = []corev1.PodIP{{IP: ip}}
	}
	start := metav1.NewTime(rec.sandbox.CreatedAt)
	st.StartTime = &start

	p.mu.Lock()
	restarts := make(map[string]int32, len(rec.restarts))
	for k, v := range rec.restarts {
		restarts[k] = v
	}
	lastExits := map[string]*corev1.ContainerStateTerminated{}
	for k, ex := range rec.exits {
		if ex.last != nil {
			lastExits[k] = ex.last.DeepCopy()
		}
	}
	var lastConds []corev1.PodCondition
	if rec.last != nil {
		lastConds = rec.last.Conditions
	}
	p.mu.Unlock()

	running, succeeded, failed, ready, waitingRestart := 0, 0, 0, 0, 0
	for _, c := range pod.Spec.Containers {
		cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, RestartCount: restarts[c.Name]}
		id, ok := rec.containers[c.Name]
		var info runtime.ContainerInfo
		var err error
		if ok {
			info, err = p.cfg.Runtime.InspectContainer(ctx, id)
		}
		switch {
		case !ok || runtime.IsNotFound(err):
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
		case err != nil:
			return nil, err
		default:
			cs.ContainerID = "docker://" + string(info.ID)
			cs.ImageID = info.ImageID
			switch info.State {
			case runtime.StateRunning:
				running++
				started, isReady := p.containerProbeStatus(rec, c, info.StartedAt)
				cs.Started = &started
				cs.Ready = isReady
				if isReady {
					ready++
				}
				cs.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(info.StartedAt)}
				cs.LastTerminationState.Terminated = lastExits[c.Name]
			case runtime.StateExited:
				if info.ExitCode != 0 {
					failed++
				} else {
					succeeded++
				}
				term := terminatedState(info)
				p.mu.Lock()
				restart := willRestart(rec, c.Name, info.ExitCode)
				steps := backoffSteps(rec, c.Name, info)
				// The restart loop may have started and lost this container
				// again since the snapshot above: the count must be the one
				// the back-off was computed with, or a fast crasher reports
				// a grown back-off with its old restart count.
				cs.RestartCount = rec.restarts[c.Name]
				p.mu.Unlock()
				switch wait := restartBackoff(steps); {
				case restart && wait > 0:
					// The restart loop will start it again after its back-off.
					waitingRestart++
					cs.LastTerminationState.Terminated = term
					cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
						Message: "back-off " + wait.String() + " restarting failed container " + c.Name}
				case restart:
					// A first exit is restarted at once, without back-off; until
					// then the kubelet shows the exit, not CrashLoopBackOff.
					waitingRestart++
					cs.State.Terminated = term
					cs.LastTerminationState.Terminated = lastExits[c.Name]
				default:
					cs.State.Terminated = term
					cs.LastTerminationState.Terminated = lastExits[c.Name]
				}
			default:
				cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
			}
		}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}

	n := len(pod.Spec.Containers)
	switch {
	case running > 0 || waitingRestart > 0:
		st.Phase = corev1.PodRunning
	case n > 0 && succeeded == n:
		st.Phase = corev1.PodSucceeded
	case failed > 0 && succeeded+failed == n:
		st.Phase = corev1.PodFailed
	default:
		st.Phase = corev1.PodPending
	}

	now := metav1.NewTime(time.Now())
	cond := func(t corev1.PodConditionType, ok bool) corev1.PodCondition {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, LastTransitionTime: now}
		if ok {
			c.Status = corev1.ConditionTrue
		}
		// Keep the transition time of a condition that did not change, so
		// clients that watch transitions see real ones.
		for _, old := range lastConds {
			if old.Type == t && old.Status == c.Status {
				c.LastTransitionTime = old.LastTransitionTime
			}
		}
		return c
	}
	allReady := n > 0 && ready == n
	st.Conditions = []corev1.PodCondition{
		cond(corev1.PodReadyToStartContainers, rec.sandbox.ID != "" || rec.sandbox.Ready),
		cond(corev1.PodInitialized, true),
		cond(corev1.ContainersReady, allReady),
		cond(corev1.PodReady, allReady),
		cond(corev1.PodScheduled, true),
	}
	return st, nil
}

func qosClass(pod *corev1.Pod) corev1.PodQOSClass {
	requests, limits, guaranteed := false, false, true
	for _, c := range pod.Spec.Containers {
		if len(c.Resources.Requests) > 0 {
			requests = true
		}
		if len(c.Resources.Limits) > 0 {
			limits = true
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			l, ok := c.Resources.Limits[r]
			if !ok {
				guaranteed = false
				continue
			}
			if q, ok := c.Resources.Requests[r]; ok && q.Cmp(l) != 0 {
				guaranteed = false
			}
		}
	}
	switch {
	case !requests && !limits:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	default:
		return corev1.PodQOSBurstable
	}
}

// NotifyPods makes the provider asynchronous for virtual-kubelet: status is
// pushed when it changes (checked every second) instead of being polled every
// five seconds.
func (p *provider) NotifyPods(ctx context.Context, notify func(*corev1.Pod)) {
	p.mu.Lock()
	p.notify = notify
	p.mu.Unlock()
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				p.mu.Lock()
				recs := make([]*podRecord, 0, len(p.recs))
				for _, r := range p.recs {
					if !r.deleting {
						recs = append(recs, r)
					}
				}
				p.mu.Unlock()
				for _, r := range recs {
					p.sendStatus(ctx, r)
				}
			}
		}
	}()
}

// sendStatus computes the pod's status and hands it to virtual-kubelet if it
// differs from the last one sent in anything but timestamps.
func (p *provider) sendStatus(ctx context.Context, rec *podRecord) {
	st, err := p.status(ctx, rec)
	if err != nil {
		return
	}
	p.mu.Lock()
	notify := p.notify
	changed := rec.last == nil || statusKey(rec.last) != statusKey(st)
	if changed {
		rec.last = st.DeepCopy()
	}
	p.mu.Unlock()
	if notify == nil || !changed {
		return
	}
	pod := rec.pod.DeepCopy()
	pod.Status = *st
	notify(pod)
}

// statusKey is what a status change means to a reader of the pod: phase,
// addresses, conditions and each container's state, without timestamps.
func statusKey(st *corev1.PodStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|", st.Phase, st.PodIP)
	for _, c := range st.Conditions {
		fmt.Fprintf(&b, "%s=%s,", c.Type, c.Status)
	}
	for _, cs := range st.ContainerStatuses {
		fmt.Fprintf(&b, "|%s %s %v %d", cs.Name, cs.ContainerID, cs.Ready, cs.RestartCount)
		switch {
		case cs.State.Running != nil:
			fmt.Fprintf(&b, " run %d", cs.State.Running.StartedAt.Unix())
		case cs.State.Terminated != nil:
			fmt.Fprintf(&b, " term %d %s", cs.State.Terminated.ExitCode, cs.State.Terminated.Reason)
		case cs.State.Waiting != nil:
			fmt.Fprintf(&b, " wait %s", cs.State.Waiting.Reason)
		}
	}
	return b.String()
}
