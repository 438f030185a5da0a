package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/eks/k8sproc"
	"github.com/berth-dev/berth/test/harness"
)

// The brief's workload behaviour on a Berth cluster, driven with kubectl
// only: probes gate readiness and restart containers, a Service's endpoints
// follow readiness, Deployments roll out and back, restartPolicy backs off,
// Jobs complete and resource limits reach the containers.

// eksWorkloadsImage is this test's own tag of the test app, so the
// other EKS test's cleanup (it removes its tag) cannot pull the image from
// under these pods.
const eksWorkloadsImage = "berth-e2e/eks-workloads:v1"

// The Service in front of the brief's Deployment: its EndpointSlices are
// what readiness decides.
const eksWorkloadsService = `apiVersion: v1
kind: Service
metadata:
  name: my-app
spec:
  selector: {app: my-app}
  ports:
  - port: 80
    targetPort: 8080
`

// Pods other than the brief's, with short probe periods to keep the test
// quick.
const eksWorkloadsPods = `apiVersion: v1
kind: Pod
metadata:
  name: crasher
spec:
  restartPolicy: Always
  containers:
  - name: crasher
    image: IMAGE
    imagePullPolicy: IfNotPresent
    args: [exit, "3"]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: once
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: once
        image: IMAGE
        imagePullPolicy: IfNotPresent
        args: [print, hello from a job]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: on-failure
spec:
  template:
    spec:
      restartPolicy: OnFailure
      containers:
      - name: on-failure
        image: IMAGE
        imagePullPolicy: IfNotPresent
        args: [sleep, 2s]
---
apiVersion: v1
kind: Pod
metadata:
  name: limited
spec:
  containers:
  - name: limited
    image: IMAGE
    imagePullPolicy: IfNotPresent
    resources:
      requests: {cpu: 100m, memory: 32Mi}
      limits: {cpu: 250m, memory: 64Mi}
---
apiVersion: v1
kind: Pod
metadata:
  name: hog
spec:
  restartPolicy: Never
  containers:
  - name: hog
    image: IMAGE
    imagePullPolicy: IfNotPresent
    args: [alloc, "256"]
    resources:
      limits: {cpu: 250m, memory: 64Mi}
`

func TestEKSWorkloads(t *testing.T) {
	t.Parallel()
	e := startEKS(t, "eks-workloads", eksWorkloadsImage)
	b, tools, dataDir := e.b, e.tools, e.dataDir
	c := e.createCluster(t, "workloads")
	kubeconfig, env := c.kubeconfig, c.env
	kubectl := func(args ...string) *harness.Result {
		t.Helper()
		return c.kubectl(t, args...)
	}
	apply := func(manifest string) {
		t.Helper()
		c.apply(t, manifest)
	}

	c.createNodegroup(t, "workers", 2)
	clusterDir := filepath.Join(dataDir, "eks", "000000000000", b.Region(), "workloads")
	args, err := os.ReadFile(filepath.Join(clusterDir, "nodegroups", "workers", "args.json"))
	if m := regexp.MustCompile(`--cluster=(eks-[0-9a-f]+)`).FindSubmatch(args); err != nil || m == nil {
		t.Fatalf("the node group's command line (%v): %s", err, args)
	} else if string(m[1]) != k8sproc.ContainerCluster(clusterDir) {
		// The label the cleanup of startEKS removes containers by.
		t.Errorf("the node group's cluster label %s, want %s", m[1], k8sproc.ContainerCluster(clusterDir))
	}

	apply(strings.ReplaceAll(eksBriefDeployment, eksAppImage, eksWorkloadsImage) + "---\n" + eksWorkloadsService)
	pods := func() []kubePod {
		t.Helper()
		return kubePods(t, kubectl("get", "pods", "-l", "app=my-app", "-o", "json"))
	}
	// awaitEvents waits for the pod's events (as `kubectl describe pod`
	// lists them, "Reason: message") to include each of want.
	awaitEvents := func(t *testing.T, pod string, want ...string) {
		t.Helper()
		eksEventually(t, "events of "+pod, func() (bool, string) {
			r := kubectl("get", "events", "--field-selector", "involvedObject.name="+pod, "-o",
				`jsonpath={range .items[*]}{.reason}: {.message}{"\n"}{end}`)
			for _, w := range want {
				if !strings.Contains(r.Stdout, w) {
					return false, r.Stdout + r.Stderr
				}
			}
			return true, ""
		})
	}
	endpoints := func() (ready, notReady []string) {
		t.Helper()
		return readyEndpoints(t, kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=my-app", "-o", "json"))
	}
	// settled waits for the Deployment's two pods Ready and both their
	// addresses ready in the Service's endpoints, and returns the pods.
	settled := func(what string) []kubePod {
		t.Helper()
		var live []kubePod
		eksEventually(t, what, func() (bool, string) {
			live = livePods(pods())
			ready, notReady := endpoints()
			n := 0
			for _, p := range live {
				if p.ready() && slices.Contains(ready, p.Status.PodIP) {
					n++
				}
			}
			return len(live) == 2 && n == 2 && len(notReady) == 0, fmt.Sprintf("pods %s; ready endpoints %v, not ready %v", describePods(live), ready, notReady)
		})
		return live
	}
	start := time.Now()
	first := settled("2 Ready pods of my-app and 2 ready endpoints")
	t.Logf("the brief's Deployment Ready with its endpoints in %s", time.Since(start).Round(time.Second))
	for _, p := range first {
		if p.Spec.NodeName == "" || !strings.HasPrefix(p.Spec.NodeName, "workers-") {
			t.Errorf("pod %s on node %q", p.Metadata.Name, p.Spec.NodeName)
		}
	}

	t.Run("readiness", func(t *testing.T) {
		live := settled("my-app settled")
		a, other := live[0], live[1]
		aStarted := a.container().startedAt()
		podGet(t, a, "/unready")
		eksEventually(t, a.Metadata.Name+" not Ready and out of the ready endpoints", func() (bool, string) {
			p, ok := findPod(pods(), a.Metadata.Name)
			ready, notReady := endpoints()
			return ok && !p.ready() && p.Status.Phase == "Running" &&
					!slices.Contains(ready, a.Status.PodIP) && slices.Contains(notReady, a.Status.PodIP) &&
					slices.Contains(ready, other.Status.PodIP),
				fmt.Sprintf("pod %s; ready %v, not ready %v", describePods([]kubePod{p}), ready, notReady)
		})
		awaitEvents(t, a.Metadata.Name, "Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503")
		// Readiness only gates traffic: the container was not restarted.
		if p, _ := findPod(pods(), a.Metadata.Name); p.container().RestartCount != 0 || p.container().startedAt() != aStarted || p.container().State.Running == nil {
			t.Errorf("an unready pod's container was restarted: %s", describePods([]kubePod{p}))
		}
		if r := kubectl("get", "endpoints", "my-app", "-o", "json"); r.ExitCode == 0 && !strings.Contains(r.Stdout, "notReadyAddresses") {
			t.Errorf("endpoints my-app without notReadyAddresses: %s", r.Stdout)
		}
		podGet(t, a, "/ready-again")
		settled(a.Metadata.Name + " Ready again")

		// Neither ready: the Service has no ready endpoints left.
		podGet(t, a, "/unready")
		podGet(t, other, "/unready")
		eksEventually(t, "no ready endpoints", func() (bool, string) {
			ready, notReady := endpoints()
			return len(ready) == 0 && len(notReady) == 2, fmt.Sprintf("ready %v, not ready %v", ready, notReady)
		})
		r := kubectl("get", "endpoints", "my-app", "-o", "json").Must(t)
		var ep struct {
			Subsets []struct {
				Addresses, NotReadyAddresses []struct{ IP string }
			}
		}
		r.JSON(t, &ep)
		if len(ep.Subsets) != 1 || len(ep.Subsets[0].Addresses) != 0 || len(ep.Subsets[0].NotReadyAddresses) != 2 {
			t.Errorf("endpoints my-app with both pods unready: %s", r.Stdout)
		}
		podGet(t, a, "/ready-again")
		podGet(t, other, "/ready-again")
		settled("both Ready again")
	})

	t.Run("liveness", func(t *testing.T) {
		live := settled("my-app settled")
		a := live[1]
		before := a.container()
		podGet(t, a, "/sick")
		if code := podStatus(a, "/health"); code != http.StatusServiceUnavailable {
			t.Fatalf("/health of a sick pod: %d", code)
		}
		// Three failures 10 s apart, then a stop and an immediate restart.
		sick := time.Now()
		eksEventually(t, a.Metadata.Name+" restarted by its liveness probe", func() (bool, string) {
			p, ok := findPod(pods(), a.Metadata.Name)
			c := p.container()
			return ok && c.RestartCount == before.RestartCount+1 && c.State.Running != nil && c.startedAt() != before.startedAt(),
				describePods([]kubePod{p})
		})
		t.Logf("restarted %s after /sick", time.Since(sick).Round(time.Second))
		// A new incarnation: healthy, Ready again, back in the endpoints.
		if code := podStatus(a, "/health"); code != http.StatusOK {
			t.Errorf("/health after the restart: %d", code)
		}
		after := settled(a.Metadata.Name + " Ready after its restart")
		if p, _ := findPod(after, a.Metadata.Name); p.Metadata.UID != a.Metadata.UID {
			t.Errorf("the pod was replaced rather than its container restarted: %s", describePods(after))
		}
		// What the kubelet tells `kubectl describe pod`.
		awaitEvents(t, a.Metadata.Name, "Unhealthy: Liveness probe failed: HTTP probe failed with statuscode: 503",
			"Killing: Container my-app failed liveness probe, will be restarted")
		if p, _ := findPod(pods(), a.Metadata.Name); p.container().LastState.Terminated == nil {
			t.Errorf("no lastState after a liveness restart: %s", describePods([]kubePod{p}))
		}
	})

	t.Run("rolling update", func(t *testing.T) {
		v1 := settled("my-app settled")
		rsV1 := v1[0].Metadata.Labels["pod-template-hash"]
		// Sample availability while the roll runs: the default strategy
		// (maxUnavailable 25% of 2, rounded down) never goes below 2.
		stop := watchAvailable(tools.Kubectl, env, kubeconfig)
		kubectl("set", "env", "deployment/my-app", "MESSAGE=v2").Must(t)
		kubectl("rollout", "status", "deployment/my-app", "--timeout=5m").Must(t)
		if m := stop(); m < 2 {
			t.Errorf("the Deployment had %d available replicas during the roll", m)
		} else {
			t.Logf("at least %d replicas available throughout the roll", m)
		}
		eksEventually(t, "only v2 pods", func() (bool, string) {
			all := pods()
			live := livePods(all)
			ok := len(all) == 2 && len(live) == 2
			for _, p := range live {
				ok = ok && p.ready() && p.Metadata.Labels["pod-template-hash"] != rsV1 && podMessage(p) == "v2"
			}
			return ok, describePods(all)
		})
		checkReplicaSets(t, kubectl, map[string]int{rsV1: 0}, 2)

		kubectl("rollout", "undo", "deployment/my-app").Must(t)
		kubectl("rollout", "status", "deployment/my-app", "--timeout=5m").Must(t)
		eksEventually(t, "v1 pods again", func() (bool, string) {
			all := pods()
			live := livePods(all)
			ok := len(all) == 2 && len(live) == 2
			for _, p := range live {
				ok = ok && p.ready() && p.Metadata.Labels["pod-template-hash"] == rsV1 && podMessage(p) == ""
			}
			return ok, describePods(all)
		})
		checkReplicaSets(t, kubectl, map[string]int{rsV1: 2}, 0)
		// Undo makes revision 1 revision 3.
		hist := kubectl("rollout", "history", "deployment/my-app").Must(t).Stdout
		if !regexp.MustCompile(`(?m)^2\s`).MatchString(hist) || !regexp.MustCompile(`(?m)^3\s`).MatchString(hist) {
			t.Errorf("rollout history:\n%s", hist)
		}
		settled("my-app settled after the undo")
	})

	t.Run("replica counts", func(t *testing.T) {
		live := settled("my-app settled")
		// A deleted pod is replaced; scaling changes the count both ways.
		kubectl("delete", "pod", live[0].Metadata.Name, "--wait=false").Must(t)
		eksEventually(t, "a replacement for "+live[0].Metadata.Name, func() (bool, string) {
			now := livePods(pods())
			_, old := findPod(now, live[0].Metadata.Name)
			return len(now) == 2 && !old, describePods(now)
		})
		settled("my-app back to 2 after a deletion")
		kubectl("scale", "deployment/my-app", "--replicas=3").Must(t)
		eksEventually(t, "3 ready endpoints", func() (bool, string) {
			ready, notReady := endpoints()
			return len(ready) == 3, fmt.Sprintf("ready %v, not ready %v", ready, notReady)
		})
		kubectl("scale", "deployment/my-app", "--replicas=2").Must(t)
		settled("my-app scaled back to 2")
		eksEventually(t, "the Deployment's status", func() (bool, string) {
			r := kubectl("get", "deployment", "my-app", "-o", "jsonpath={.status.replicas}/{.status.readyReplicas}/{.status.availableReplicas}")
			return r.Stdout == "2/2/2", r.Stdout + r.Stderr
		})
	})

	// The other workloads run alongside.
	apply(strings.ReplaceAll(eksWorkloadsPods, "IMAGE", eksWorkloadsImage))

	t.Run("crash loop back-off", func(t *testing.T) {
		// The kubelet restarts a crashing container at once, then after 10 s,
		// 20 s, 40 s…; while it waits the container is in CrashLoopBackOff
		// with the exit in lastState.
		backoffs := map[int]string{}
		eksEventually(t, "crasher restarted three times in CrashLoopBackOff", func() (bool, string) {
			p, ok := findPod(kubePods(t, kubectl("get", "pods", "-o", "json")), "crasher")
			c := p.container()
			if w := c.State.Waiting; ok && w != nil && w.Reason == "CrashLoopBackOff" && c.LastState.Terminated != nil {
				if c.LastState.Terminated.ExitCode != 3 {
					t.Errorf("lastState of the crashing container: %+v", c.LastState.Terminated)
				}
				if m := regexp.MustCompile(`back-off (\S+)`).FindStringSubmatch(w.Message); m != nil {
					backoffs[c.RestartCount] = m[1]
				}
			}
			return ok && p.Status.Phase == "Running" && c.RestartCount >= 3 && len(backoffs) >= 2, fmt.Sprintf("%s; back-offs %v", describePods([]kubePod{p}), backoffs)
		})
		t.Logf("back-off by restart count: %v", backoffs)
		awaitEvents(t, "crasher", "BackOff: Back-off restarting failed container crasher in pod crasher_default")
		var last time.Duration
		for _, n := range slices.Sorted(maps.Keys(backoffs)) {
			d, err := time.ParseDuration(backoffs[n])
			if err != nil || d <= last {
				t.Errorf("back-off does not grow with restarts: %v", backoffs)
				break
			}
			last = d
		}
	})

	t.Run("jobs complete", func(t *testing.T) {
		kubectl("wait", "--for=condition=complete", "job/once", "job/on-failure", "--timeout=3m").Must(t)
		var job struct {
			Status struct{ Succeeded, Failed int }
		}
		kubectl("get", "job", "once", "-o", "json").Must(t).JSON(t, &job)
		if job.Status.Succeeded != 1 || job.Status.Failed != 0 {
			t.Errorf("job once: %+v", job.Status)
		}
		for _, p := range kubePods(t, kubectl("get", "pods", "-l", "job-name=once", "-o", "json")) {
			if c := p.container(); p.Status.Phase != "Succeeded" || c.State.Terminated == nil || c.State.Terminated.Reason != "Completed" || c.RestartCount != 0 {
				t.Errorf("the job's pod: %s", describePods([]kubePod{p}))
			}
		}
	})

	t.Run("resource limits", func(t *testing.T) {
		var p kubePod
		eksEventually(t, "limited Running", func() (bool, string) {
			var ok bool
			p, ok = findPod(kubePods(t, kubectl("get", "pods", "-o", "json")), "limited")
			return ok && p.Status.Phase == "Running", describePods([]kubePod{p})
		})
		if p.Status.QOSClass != "Burstable" {
			t.Errorf("qosClass of limited: %q", p.Status.QOSClass)
		}
		id := strings.TrimPrefix(p.container().ContainerID, "docker://")
		r := harness.Docker(t, "inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.MemoryReservation}}", id).Must(t)
		// 64Mi, 250m, the kubelet's shares for 100m, 32Mi.
		if got, want := strings.TrimSpace(r.Stdout), "67108864 250000000 102 33554432"; got != want {
			t.Errorf("limits of the container (memory nanoCPUs shares reservation): %s, want %s", got, want)
		}
		// The memory limit holds: 256 MiB do not fit in 64Mi.
		eksEventually(t, "hog OOMKilled", func() (bool, string) {
			p, ok := findPod(kubePods(t, kubectl("get", "pods", "-o", "json")), "hog")
			c := p.container()
			return ok && p.Status.Phase == "Failed" && c.State.Terminated != nil && c.State.Terminated.Reason == "OOMKilled", describePods([]kubePod{p})
		})
	})
}

// kubePod is what these tests read of a pod in `kubectl get -o json`.
type kubePod struct {
	Metadata struct {
		Name, UID         string
		Labels            map[string]string
		DeletionTimestamp *string
	}
	Spec   struct{ NodeName string }
	Status struct {
		Phase, PodIP, QOSClass string
		Conditions             []struct{ Type, Status string }
		ContainerStatuses      []kubeContainerStatus
	}
}

type kubeContainerState struct {
	Running *struct{ StartedAt string }
	Waiting *struct{ Reason, Message string }
	// Terminated carries the exit.
	Terminated *struct {
		ExitCode int
		Reason   string
	}
}

type kubeContainerStatus struct {
	Name         string
	Ready        bool
	RestartCount int
	ContainerID  string
	State        kubeContainerState
	LastState    kubeContainerState
}

func (p kubePod) ready() bool {
	for _, c := range p.Status.Conditions {
		if c.Type == "Ready" {
			return c.Status == "True"
		}
	}
	return false
}

// container is the pod's only container's status (zero before it has one).
func (p kubePod) container() kubeContainerStatus {
	if len(p.Status.ContainerStatuses) == 0 {
		return kubeContainerStatus{}
	}
	return p.Status.ContainerStatuses[0]
}

func (c kubeContainerStatus) startedAt() string {
	if c.State.Running == nil {
		return ""
	}
	return c.State.Running.StartedAt
}

func kubePods(t *testing.T, r *harness.Result) []kubePod {
	t.Helper()
	var list struct{ Items []kubePod }
	if r.ExitCode != 0 || json.Unmarshal([]byte(r.Stdout), &list) != nil {
		return nil
	}
	return list.Items
}

// livePods are the pods not being deleted.
func livePods(pods []kubePod) []kubePod {
	var out []kubePod
	for _, p := range pods {
		if p.Metadata.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

func findPod(pods []kubePod, name string) (kubePod, bool) {
	for _, p := range pods {
		if p.Metadata.Name == name {
			return p, true
		}
	}
	return kubePod{}, false
}

func describePods(pods []kubePod) string {
	var b strings.Builder
	for _, p := range pods {
		c := p.container()
		state := "?"
		switch s := c.State; {
		case s.Running != nil:
			state = "running since " + s.Running.StartedAt
		case s.Waiting != nil:
			state = "waiting " + s.Waiting.Reason + " " + s.Waiting.Message
		case s.Terminated != nil:
			state = fmt.Sprintf("terminated %s %d", s.Terminated.Reason, s.Terminated.ExitCode)
		}
		fmt.Fprintf(&b, "[%s %s ip=%s ready=%v restarts=%d %s deleting=%v] ", p.Metadata.Name, p.Status.Phase, p.Status.PodIP,
			p.ready(), c.RestartCount, state, p.Metadata.DeletionTimestamp != nil)
	}
	return b.String()
}

// readyEndpoints are the addresses of EndpointSlices by their ready
// condition (terminating ones left out).
func readyEndpoints(t *testing.T, r *harness.Result) (ready, notReady []string) {
	t.Helper()
	var list struct {
		Items []struct {
			Endpoints []struct {
				Addresses  []string
				Conditions struct{ Ready, Terminating *bool }
			}
		}
	}
	if r.ExitCode != 0 || json.Unmarshal([]byte(r.Stdout), &list) != nil {
		return nil, []string{"(kubectl failed: " + r.Stderr + ")"}
	}
	for _, s := range list.Items {
		for _, e := range s.Endpoints {
			if e.Conditions.Terminating != nil && *e.Conditions.Terminating {
				continue
			}
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				ready = append(ready, e.Addresses...)
			} else {
				notReady = append(notReady, e.Addresses...)
			}
		}
	}
	return ready, notReady
}

var podClient = &http.Client{Timeout: 5 * time.Second}

// podStatus is the status of GET path on the pod's app, reached at its IP
// from the host as the kubelet's probes reach it; 0 when unreachable.
func podStatus(p kubePod, path string) int {
	resp, err := podClient.Get("http://" + p.Status.PodIP + ":8080" + path)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func podGet(t *testing.T, p kubePod, path string) {
	t.Helper()
	if code := podStatus(p, path); code != http.StatusOK {
		t.Fatalf("GET %s on pod %s (%s): %d", path, p.Metadata.Name, p.Status.PodIP, code)
	}
}

// podMessage is the MESSAGE the pod's app runs with, as it serves it on /.
func podMessage(p kubePod) string {
	resp, err := podClient.Get("http://" + p.Status.PodIP + ":8080/")
	if err != nil {
		return "(" + err.Error() + ")"
	}
	defer resp.Body.Close()
	var v struct{ Message string }
	if json.NewDecoder(resp.Body).Decode(&v) != nil {
		return "(undecodable)"
	}
	return v.Message
}

// checkReplicaSets checks my-app's ReplicaSets: the ones in want (by
// pod-template-hash) have those replicas, specified and ready, and every
// other one has other.
func checkReplicaSets(t *testing.T, kubectl func(...string) *harness.Result, want map[string]int, other int) {
	t.Helper()
	eksEventually(t, "my-app's ReplicaSets", func() (bool, string) {
		r := kubectl("get", "replicasets", "-l", "app=my-app", "-o", "json")
		var list struct {
			Items []struct {
				Metadata struct{ Labels map[string]string }
				Spec     struct{ Replicas int }
				Status   struct{ Replicas, ReadyReplicas int }
			}
		}
		if r.ExitCode != 0 || json.Unmarshal([]byte(r.Stdout), &list) != nil {
			return false, r.Stderr
		}
		ok := len(list.Items) == 2
		var got []string
		for _, rs := range list.Items {
			hash := rs.Metadata.Labels["pod-template-hash"]
			n, known := want[hash]
			if !known {
				n = other
			}
			ok = ok && rs.Spec.Replicas == n && rs.Status.Replicas == n && rs.Status.ReadyReplicas == n
			got = append(got, fmt.Sprintf("%s %d/%d/%d", hash, rs.Spec.Replicas, rs.Status.Replicas, rs.Status.ReadyReplicas))
		}
		return ok, strings.Join(got, ", ")
	})
}

// watchAvailable polls my-app's available replicas until stop is called,
// which returns the fewest seen. It runs kubectl itself, as a goroutine may
// not fail the test.
func watchAvailable(kubectl string, env []string, kubeconfig string) (stop func() int) {
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	least := -1
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			cmd := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig, "get", "deployment", "my-app", "-o", "jsonpath={.status.availableReplicas}")
			cmd.Env = env
			out, err := cmd.Output()
			// An absent availableReplicas is none.
			n, perr := 0, error(nil)
			if s := strings.TrimSpace(string(out)); s != "" {
				n, perr = strconv.Atoi(s)
			}
			if err == nil && perr == nil {
				mu.Lock()
				if least < 0 || n < least {
					least = n
				}
				mu.Unlock()
			}
			time.Sleep(500 * time.Millisecond)
		}
	}()
	return func() int {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return least
	}
}
