package nodes

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/berth-dev/berth/runtime"
)

// probeState is one container incarnation's probe results, as the kubelet's
// prober workers keep them. A restarted container (new StartedAt) starts
// from scratch: not started, not ready.
type probeState struct {
	startedAt   time.Time
	startupDone bool
	ready       bool
	next        map[string]time.Time
	fails       map[string]int
	succs       map[string]int
}

func hasProbes(pod *corev1.Pod) bool {
	for _, c := range pod.Spec.Containers {
		if c.StartupProbe != nil || c.LivenessProbe != nil || c.ReadinessProbe != nil {
			return true
		}
	}
	return false
}

// containerProbeStatus says whether a running container counts as started and
// ready: with no probe a running container is both; otherwise the probes of
// this incarnation decide.
func (p *provider) containerProbeStatus(rec *podRecord, c corev1.Container, startedAt time.Time) (started, ready bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := rec.probes[c.Name]
	if st == nil || !st.startedAt.Equal(startedAt) {
		return c.StartupProbe == nil, c.StartupProbe == nil && c.ReadinessProbe == nil
	}
	started = st.startupDone
	ready = started && (c.ReadinessProbe == nil || st.ready)
	return started, ready
}

// runProbes runs the pod's startup, liveness and readiness probes until the
// pod is deleted or the node stops. Liveness (and startup) failures stop the
// container; the restart loop then starts it again under the pod's
// restartPolicy, with back-off.
func (p *provider) runProbes(ctx context.Context, rec *podRecord) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		p.mu.Lock()
		gone := rec.deleting || p.recs[key(rec.pod.Namespace, rec.pod.Name)] != rec
		p.mu.Unlock()
		if gone {
			return
		}
		for _, c := range rec.pod.Spec.Containers {
			p.probeContainer(ctx, rec, c)
		}
	}
}

func (p *provider) probeContainer(ctx context.Context, rec *podRecord, c corev1.Container) {
	if c.StartupProbe == nil && c.LivenessProbe == nil && c.ReadinessProbe == nil {
		return
	}
	id, ok := rec.containers[c.Name]
	if !ok {
		return
	}
	info, err := p.cfg.Runtime.InspectContainer(ctx, id)
	if err != nil || info.State != runtime.StateRunning {
		return
	}

	p.mu.Lock()
	st := rec.probes[c.Name]
	if st == nil || !st.startedAt.Equal(info.StartedAt) {
		st = &probeState{startedAt: info.StartedAt, startupDone: c.StartupProbe == nil,
			next: map[string]time.Time{}, fails: map[string]int{}, succs: map[string]int{}}
		rec.probes[c.Name] = st
	}
	startupDone := st.startupDone
	p.mu.Unlock()

	type probe struct {
		kind string
		spec *corev1.Probe
	}
	var due []probe
	if !startupDone {
		due = []probe{{"startup", c.StartupProbe}}
	} else {
		due = []probe{{"liveness", c.LivenessProbe}, {"readiness", c.ReadinessProbe}}
	}
	now := time.Now()
	for _, pr := range due {
		if pr.spec == nil {
			continue
		}
		p.mu.Lock()
		next, ok := st.next[pr.kind]
		if !ok {
			next = st.startedAt.Add(time.Duration(pr.spec.InitialDelaySeconds) * time.Second)
		}
		if now.Before(next) {
			st.next[pr.kind] = next
			p.mu.Unlock()
			continue
		}
		st.next[pr.kind] = now.Add(time.Duration(orDefault(pr.spec.PeriodSeconds, 10)) * time.Second)
		p.mu.Unlock()

		success, output := p.probeOnce(ctx, rec, c, info, pr.spec)
		if !success {
			// Every failure, as the kubelet's prober records them: the
			// events say why a pod is unready or was restarted.
			p.containerEvent(rec.pod, c.Name, corev1.EventTypeWarning, reasonUnhealthy, "%s probe failed: %s", probeNames[pr.kind], output)
		}

		p.mu.Lock()
		if success {
			st.succs[pr.kind]++
			st.fails[pr.kind] = 0
		} else {
			st.fails[pr.kind]++
			st.succs[pr.kind] = 0
		}
		failed := st.fails[pr.kind] >= int(orDefault(pr.spec.FailureThreshold, 3))
		succeeded := st.succs[pr.kind] >= int(orDefault(pr.spec.SuccessThreshold, 1))
		kill := false
		switch pr.kind {
		case "startup":
			st.startupDone = succeeded
			kill = failed
		case "liveness":
			kill = failed
		case "readiness":
			if succeeded {
				st.ready = true
			} else if failed {
				st.ready = false
			}
		}
		if kill {
			st.ready = false
			rec.probeKilled[c.Name] = true
		}
		p.mu.Unlock()

		if kill {
			p.containerEvent(rec.pod, c.Name, corev1.EventTypeNormal, reasonKilling,
				"Container %s failed %s probe, will be restarted", c.Name, pr.kind)
			grace := 30 * time.Second
			if rec.pod.Spec.TerminationGracePeriodSeconds != nil {
				grace = time.Duration(*rec.pod.Spec.TerminationGracePeriodSeconds) * time.Second
			}
			if pr.spec.TerminationGracePeriodSeconds != nil {
				grace = time.Duration(*pr.spec.TerminationGracePeriodSeconds) * time.Second
			}
			_ = p.cfg.Runtime.StopContainer(ctx, id, grace)
			return
		}
	}
}

// probeNames are the probe kinds as events name them.
var probeNames = map[string]string{"startup": "Startup", "liveness": "Liveness", "readiness": "Readiness"}

func orDefault(v, def int32) int32 {
	if v <= 0 {
		return def
	}
	return v
}

// probeOnce runs one probe with its timeout and says whether it passed
// and, when not, why, in the kubelet's words. HTTP and TCP probes reach the
// pod's IP from the host, as the kubelet does from the node.
func (p *provider) probeOnce(ctx context.Context, rec *podRecord, c corev1.Container, info runtime.ContainerInfo, pr *corev1.Probe) (bool, string) {
	timeout := time.Duration(orDefault(pr.TimeoutSeconds, 1)) * time.Second
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	podIP := rec.sandbox.Network.IPv4Address
	if podIP == "" {
		podIP = info.IPv4Address
	}
	switch {
	case pr.Exec != nil:
		res, err := p.cfg.Runtime.Exec(ctx, info.ID, runtime.ExecSpec{Command: pr.Exec.Command})
		switch {
		case err != nil:
			return false, err.Error()
		case res.ExitCode != 0:
			out := strings.TrimSpace(string(res.Stdout) + string(res.Stderr))
			if out == "" {
				out = fmt.Sprintf("command %q exited with %d", pr.Exec.Command, res.ExitCode)
			}
			// An event's message is meant to be short; a command may say a lot.
			return false, truncate(out, 1024)
		}
		return true, ""
	case pr.HTTPGet != nil:
		port, err := resolvePort(pr.HTTPGet.Port, c)
		if err != nil {
			return false, err.Error()
		}
		host := pr.HTTPGet.Host
		if host == "" {
			host = podIP
		}
		scheme := "http"
		if pr.HTTPGet.Scheme == corev1.URISchemeHTTPS {
			scheme = "https"
		}
		path := pr.HTTPGet.Path
		if path == "" || path[0] != '/' {
			path = "/" + path
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+net.JoinHostPort(host, strconv.Itoa(port))+path, nil)
		if err != nil {
			return false, err.Error()
		}
		req.Header.Set("User-Agent", "kube-probe/1.37")
		for _, h := range pr.HTTPGet.HTTPHeaders {
			if h.Name == "Host" {
				req.Host = h.Value
				continue
			}
			req.Header.Add(h.Name, h.Value)
		}
		// The kubelet does not verify the certificates of HTTPS probes and does
		// not follow redirects to other hosts; redirects are success (3xx).
		client := &http.Client{
			Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return false, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode)
		}
		return true, ""
	case pr.TCPSocket != nil:
		port, err := resolvePort(pr.TCPSocket.Port, c)
		if err != nil {
			return false, err.Error()
		}
		host := pr.TCPSocket.Host
		if host == "" {
			host = podIP
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return false, err.Error()
		}
		conn.Close()
		return true, ""
	default:
		// gRPC probes are not run yet; counting them as passing keeps such
		// pods alive and ready instead of killing them for Berth's gap.
		return true, ""
	}
}

// resolvePort turns a probe's port (a number or a container port's name)
// into a number.
func resolvePort(port intstr.IntOrString, c corev1.Container) (int, error) {
	if port.Type == intstr.Int {
		if port.IntVal <= 0 || port.IntVal > 65535 {
			return 0, fmt.Errorf("port %d out of range", port.IntVal)
		}
		return int(port.IntVal), nil
	}
	for _, cp := range c.Ports {
		if cp.Name == port.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(port.StrVal); err == nil && n > 0 && n <= 65535 {
		return n, nil
	}
	return 0, fmt.Errorf("no container port named %q", port.StrVal)
}
