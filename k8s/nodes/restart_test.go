package nodes

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/record"

	"github.com/berth-dev/berth/runtime"
)

// fakeRuntime is a runtime of containers whose state the test sets; only
// what the status, restart and probe loops call is implemented.
type fakeRuntime struct {
	runtime.Runtime
	mu      sync.Mutex
	info    map[runtime.ContainerID]runtime.ContainerInfo
	started int
	stopped int
}

func (f *fakeRuntime) InspectContainer(_ context.Context, id runtime.ContainerID) (runtime.ContainerInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.info[id], nil
}

func (f *fakeRuntime) StartContainer(_ context.Context, id runtime.ContainerID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.info[id]
	// As Docker does when a container starts again: a new StartedAt, the
	// exit code gone.
	i.State, i.StartedAt, i.ExitCode, i.OOMKilled = runtime.StateRunning, time.Now(), 0, false
	f.info[id] = i
	f.started++
	return nil
}

func (f *fakeRuntime) StopContainer(_ context.Context, id runtime.ContainerID, _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.info[id]
	i.State, i.FinishedAt, i.ExitCode = runtime.StateExited, time.Now(), 0
	f.info[id] = i
	f.stopped++
	return nil
}

func (f *fakeRuntime) exit(id runtime.ContainerID, code int, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.info[id]
	i.State, i.ExitCode, i.FinishedAt = runtime.StateExited, code, at
	f.info[id] = i
}

// fakePod is a provider on a fake runtime with one pod of one container
// "app", and the events it records.
func fakePod(policy corev1.RestartPolicy, c corev1.Container) (*provider, *podRecord, *fakeRuntime, *record.FakeRecorder) {
	rt := &fakeRuntime{info: map[runtime.ContainerID]runtime.ContainerInfo{
		"c1": {ID: "c1", State: runtime.StateRunning, StartedAt: time.Now().Add(-time.Minute)},
	}}
	events := record.NewFakeRecorder(100)
	p := &provider{cfg: Config{Runtime: rt}, node: "n1", recs: map[string]*podRecord{}}
	p.events.rec = events
	c.Name = "app"
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", UID: "uid-1"},
		Spec:       corev1.PodSpec{RestartPolicy: policy, Containers: []corev1.Container{c}},
	}
	rec := &podRecord{pod: pod, containers: map[string]runtime.ContainerID{"app": "c1"},
		restarts: map[string]int32{}, probes: map[string]*probeState{}, probeKilled: map[string]bool{}}
	rec.sandbox.ID = "sb1"
	p.recs[key("default", "web")] = rec
	return p, rec, rt, events
}

func containerStatus(t *testing.T, p *provider, rec *podRecord) (corev1.PodPhase, corev1.ContainerStatus) {
	t.Helper()
	st, err := p.status(context.Background(), rec)
	if err != nil || len(st.ContainerStatuses) != 1 {
		t.Fatalf("status: %v %+v", err, st)
	}
	return st.Phase, st.ContainerStatuses[0]
}

func drain(events *record.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-events.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// A crashing container as the kubelet reports it: the first exit is shown
// as such and restarted at once; the running container keeps its previous
// exit as lastState; a later exit waits in CrashLoopBackOff, announced by
// one BackOff event however often the restart loop looks.
func TestRestartReportsLastStateAndBackOff(t *testing.T) {
	p, rec, rt, events := fakePod(corev1.RestartPolicyAlways, corev1.Container{})
	ctx := context.Background()

	rt.exit("c1", 3, time.Now())
	phase, cs := containerStatus(t, p, rec)
	if phase != corev1.PodRunning || cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 3 || cs.State.Waiting != nil {
		t.Fatalf("after the first exit: phase %s, state %+v", phase, cs.State)
	}

	p.restartExited(ctx)
	phase, cs = containerStatus(t, p, rec)
	if rt.started != 1 || phase != corev1.PodRunning || cs.State.Running == nil || cs.RestartCount != 1 {
		t.Fatalf("after the restart: started %d, phase %s, restarts %d, state %+v", rt.started, phase, cs.RestartCount, cs.State)
	}
	if last := cs.LastTerminationState.Terminated; last == nil || last.ExitCode != 3 || last.Reason != "Error" {
		t.Errorf("lastState of the restarted container: %+v", cs.LastTerminationState)
	}

	rt.exit("c1", 4, time.Now())
	for range 3 {
		p.restartExited(ctx)
	}
	_, cs = containerStatus(t, p, rec)
	if rt.started != 1 || cs.State.Waiting == nil || cs.State.Waiting.Reason != "CrashLoopBackOff" ||
		!strings.Contains(cs.State.Waiting.Message, "back-off 10s") || cs.LastTerminationState.Terminated.ExitCode != 4 {
		t.Errorf("in back-off: started %d, state %+v, lastState %+v", rt.started, cs.State, cs.LastTerminationState)
	}
	if got := drain(events); len(got) != 1 || !strings.HasPrefix(got[0], "Warning BackOff Back-off restarting failed container app in pod web_default") {
		t.Errorf("events in back-off: %q", got)
	}
}

// A container a liveness probe stopped is restarted under OnFailure even
// though it exited 0 on SIGTERM, and is not reported as completed.
func TestProbeKilledRestartsUnderOnFailure(t *testing.T) {
	p, rec, rt, _ := fakePod(corev1.RestartPolicyOnFailure, corev1.Container{})
	rec.probeKilled["app"] = true
	rt.exit("c1", 0, time.Now())
	if phase, cs := containerStatus(t, p, rec); phase != corev1.PodRunning || cs.State.Terminated == nil {
		t.Errorf("a probe-killed container under OnFailure: phase %s, state %+v", phase, cs.State)
	}
	p.restartExited(context.Background())
	if _, cs := containerStatus(t, p, rec); rt.started != 1 || cs.RestartCount != 1 || cs.State.Running == nil {
		t.Errorf("not restarted: started %d, status %+v", rt.started, cs)
	}
}

// Failing probes are recorded as the kubelet records them, and a liveness
// failure's kill says why.
func TestProbeFailuresRecordEvents(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	n, _ := strconv.Atoi(port)
	probe := func() *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromInt(n)}},
			PeriodSeconds: 1, FailureThreshold: 1}
	}
	p, rec, rt, events := fakePod(corev1.RestartPolicyAlways, corev1.Container{LivenessProbe: probe(), ReadinessProbe: probe()})
	rec.sandbox.Network.IPv4Address = host

	p.probeContainer(context.Background(), rec, rec.pod.Spec.Containers[0])
	if rt.stopped != 1 || !rec.probeKilled["app"] {
		t.Errorf("a failed liveness probe did not stop the container: stopped %d", rt.stopped)
	}
	got := drain(events)
	want := []string{
		"Warning Unhealthy Liveness probe failed: HTTP probe failed with statuscode: 503",
		"Normal Killing Container app failed liveness probe, will be restarted",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A back-off is forgotten after a long healthy run, as the kubelet forgets
// one unused for twice its maximum: a container restarted many times long
// ago that crashes now is restarted at once, and the next crash waits 10 s.
func TestBackOffResetsAfterLongRun(t *testing.T) {
	p, rec, rt, _ := fakePod(corev1.RestartPolicyAlways, corev1.Container{})
	ctx := context.Background()
	rec.restarts["app"] = 6
	rec.exit("app").steps = 6
	rt.mu.Lock()
	i := rt.info["c1"]
	i.StartedAt = time.Now().Add(-11 * time.Minute)
	rt.info["c1"] = i
	rt.mu.Unlock()

	rt.exit("c1", 1, time.Now())
	if _, cs := containerStatus(t, p, rec); cs.State.Terminated == nil {
		t.Errorf("a crash after a long run waits: %+v", cs.State)
	}
	p.restartExited(ctx)
	if rt.started != 1 {
		t.Fatalf("a crash after a long run was not restarted at once")
	}
	rt.exit("c1", 1, time.Now())
	p.restartExited(ctx)
	_, cs := containerStatus(t, p, rec)
	if rt.started != 1 || cs.RestartCount != 7 || cs.State.Waiting == nil || !strings.Contains(cs.State.Waiting.Message, "back-off 10s") {
		t.Errorf("the next crash: started %d, restarts %d, state %+v", rt.started, cs.RestartCount, cs.State)
	}
}
