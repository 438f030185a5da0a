package e2e

import (
	"encoding/json"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// Fargate profiles on a real cluster: pods created in the profile's
// namespace with its label get EKS's fargate-scheduler from Berth's
// admission webhook and run one per fargate- node; they survive a kill -9
// of the control plane, their nodes go with them, pods placed stay when
// the profile is deleted, and deleting the cluster leaves no container.

// A Deployment and a lone pod that match the profile, and a pod in the
// same namespace that does not (no node group: it stays Pending).
const eksFargateManifest = `apiVersion: v1
kind: Namespace
metadata:
  name: web
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  namespace: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web, compute: fargate}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: app
        image: ` + eksAppImage + `
        imagePullPolicy: IfNotPresent
        resources:
          requests: {cpu: 500m, memory: 1Gi}
---
apiVersion: v1
kind: Pod
metadata:
  name: keeper
  namespace: web
  labels: {compute: fargate}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: app
    image: ` + eksAppImage + `
    imagePullPolicy: IfNotPresent
---
apiVersion: v1
kind: Pod
metadata:
  name: on-ec2
  namespace: web
spec:
  containers:
  - name: app
    image: ` + eksAppImage + `
    imagePullPolicy: IfNotPresent
`

// A Job whose pod prints and exits.
const eksFargateJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: once
  namespace: web
spec:
  backoffLimit: 0
  template:
    metadata:
      labels: {compute: fargate}
    spec:
      restartPolicy: Never
      containers:
      - name: once
        image: ` + eksAppImage + `
        imagePullPolicy: IfNotPresent
        args: [print, hello]
`

type fargatePod struct {
	Metadata struct {
		Name, UID   string
		Labels      map[string]string
		Annotations map[string]string
	}
	Spec   struct{ SchedulerName, NodeName string }
	Status struct{ Phase string }
}

func TestEKSFargate(t *testing.T) {
	t.Parallel()
	e := startEKS(t, "eks-app", eksAppImage)
	b, dataDir := e.b, e.dataDir
	c := e.createCluster(t, "farm")
	kubectl := func(args ...string) *harness.Result {
		t.Helper()
		return c.kubectl(t, args...)
	}

	b.AWS(t, "eks", "create-fargate-profile", "--cluster-name", "farm", "--fargate-profile-name", "web-fargate",
		"--pod-execution-role-arn", e.roleArn, "--selectors", `[{"namespace":"web","labels":{"compute":"fargate"}}]`).Must(t)
	eksEventually(t, "the profile ACTIVE", func() (bool, string) {
		r := b.AWS(t, "eks", "describe-fargate-profile", "--cluster-name", "farm", "--fargate-profile-name", "web-fargate")
		return r.ExitCode == 0 && strings.Contains(r.Stdout, `"ACTIVE"`), r.Stdout + r.Stderr
	})
	b.AWS(t, "eks", "wait", "fargate-profile-active", "--cluster-name", "farm", "--fargate-profile-name", "web-fargate").Must(t)

	c.apply(t, eksFargateManifest)

	pods := func() map[string]fargatePod {
		t.Helper()
		var list struct{ Items []fargatePod }
		r := kubectl("get", "pods", "-n", "web", "-o", "json")
		if r.ExitCode != 0 || json.Unmarshal([]byte(r.Stdout), &list) != nil {
			return nil
		}
		out := map[string]fargatePod{}
		for _, p := range list.Items {
			out[p.Metadata.Name] = p
		}
		return out
	}
	running := func(ps map[string]fargatePod) []fargatePod {
		var out []fargatePod
		for _, p := range ps {
			if p.Status.Phase == "Running" && p.Metadata.Labels["compute"] == "fargate" {
				out = append(out, p)
			}
		}
		return out
	}
	var placed []fargatePod
	eksEventually(t, "three Fargate pods Running", func() (bool, string) {
		ps := pods()
		placed = running(ps)
		return len(placed) == 3, kubectl("get", "pods,nodes", "-A", "-o", "wide").Stdout
	})
	nodesOf := map[string]string{} // pod → node
	var uids []string
	for _, p := range placed {
		if p.Spec.SchedulerName != "fargate-scheduler" || p.Metadata.Labels["eks.amazonaws.com/fargate-profile"] != "web-fargate" ||
			!strings.HasPrefix(p.Spec.NodeName, "fargate-ip-") || !strings.HasSuffix(p.Spec.NodeName, ".ec2.internal") {
			t.Errorf("pod %s: scheduler %q, labels %v, node %q", p.Metadata.Name, p.Spec.SchedulerName, p.Metadata.Labels, p.Spec.NodeName)
		}
		want := "0.25vCPU 0.5GB"
		if p.Metadata.Name != "keeper" {
			want = "0.5vCPU 2GB" // 500m and 1Gi, plus Fargate's 256 MB
		}
		if got := p.Metadata.Annotations["CapacityProvisioned"]; got != want {
			t.Errorf("pod %s: CapacityProvisioned %q, want %q", p.Metadata.Name, got, want)
		}
		nodesOf[p.Metadata.Name] = p.Spec.NodeName
		uids = append(uids, p.Metadata.UID)
	}
	if other := pods()["on-ec2"]; other.Spec.SchedulerName != "default-scheduler" || other.Spec.NodeName != "" {
		t.Errorf("the pod outside the profile: scheduler %q, node %q", other.Spec.SchedulerName, other.Spec.NodeName)
	}

	// One node per pod, labelled and tainted as EKS's.
	var nodes struct {
		Items []struct {
			Metadata struct{ Name string }
			Spec     struct {
				Taints []struct{ Key, Value, Effect string }
			}
			Status struct {
				Capacity map[string]string
			}
		}
	}
	kubectl("get", "nodes", "-l", "eks.amazonaws.com/compute-type=fargate", "-o", "json").Must(t).JSON(t, &nodes)
	var nodeNames []string
	for _, n := range nodes.Items {
		nodeNames = append(nodeNames, n.Metadata.Name)
		if len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != "eks.amazonaws.com/compute-type" || n.Spec.Taints[0].Effect != "NoSchedule" || n.Status.Capacity["pods"] != "1" {
			t.Errorf("node %s: taints %+v, capacity %v", n.Metadata.Name, n.Spec.Taints, n.Status.Capacity)
		}
	}
	slices.Sort(nodeNames)
	distinct := slices.Compact(slices.Sorted(func(yield func(string) bool) {
		for _, n := range nodesOf {
			if !yield(n) {
				return
			}
		}
	}))
	if len(nodeNames) != 3 || !slices.Equal(nodeNames, distinct) {
		t.Fatalf("fargate nodes %v, pods' nodes %v", nodeNames, nodesOf)
	}
	if out := kubectl("logs", "-n", "web", "keeper").Must(t).Stdout; !strings.Contains(out, "listening on :8080") {
		t.Errorf("kubectl logs keeper: %q", out)
	}
	containers := podContainers(uids)
	if len(containers) == 0 {
		t.Fatal("no containers for the Fargate pods")
	}
	out, _ := exec.Command("docker", "inspect", "-f", `{{index .Config.Labels "berth.k8s.cluster"}}`, containers[0]).Output()
	clusterLabel := strings.TrimSpace(string(out))
	if !strings.HasPrefix(clusterLabel, "eks-") {
		t.Fatalf("cluster label of the pods' containers: %q", clusterLabel)
	}

	// A kill -9 of the control plane: Berth starts it again, and its
	// Fargate nodes adopt their pods' containers rather than start them
	// again.
	before := e.killControlPlane(t)
	eksEventually(t, "the control plane back with its Fargate pods", func() (bool, string) {
		now := controlPlanePids(dataDir)
		if len(now) != 1 || now[0] == before {
			return false, "control plane not restarted yet"
		}
		r := kubectl("logs", "-n", "web", "keeper")
		return r.ExitCode == 0 && len(running(pods())) == 3, r.Stderr
	})
	if after := podContainers(uids); !slices.Equal(slices.Sorted(slices.Values(after)), slices.Sorted(slices.Values(containers))) {
		t.Errorf("containers after the control plane's restart: %v, before %v", after, containers)
	}
	for _, p := range running(pods()) {
		if nodesOf[p.Metadata.Name] != p.Spec.NodeName {
			t.Errorf("pod %s moved to %s", p.Metadata.Name, p.Spec.NodeName)
		}
	}

	// A pod that finishes gives its node back at once; the pod stays
	// Completed, as a Job's does on EKS.
	c.apply(t, eksFargateJob)
	var jobNode string
	eksEventually(t, "the Job's pod to complete and its node to go", func() (bool, string) {
		for _, p := range pods() {
			if p.Metadata.Labels["job-name"] == "once" && p.Status.Phase == "Succeeded" && strings.HasPrefix(p.Spec.NodeName, "fargate-ip-") {
				jobNode = p.Spec.NodeName
			}
		}
		r := kubectl("get", "nodes", "-o", "name")
		return jobNode != "" && r.ExitCode == 0 && !strings.Contains(r.Stdout, jobNode), r.Stdout
	})
	kubectl("delete", "job", "-n", "web", "once").Must(t)

	// Pods placed stay when their profile goes.
	b.AWS(t, "eks", "delete-fargate-profile", "--cluster-name", "farm", "--fargate-profile-name", "web-fargate").Must(t)
	eksEventually(t, "the profile deleted", func() (bool, string) {
		r := b.AWS(t, "eks", "describe-fargate-profile", "--cluster-name", "farm", "--fargate-profile-name", "web-fargate")
		return r.ErrorCode() == "ResourceNotFoundException", r.Stdout
	})

	// Scaling to zero takes the Deployment's nodes away; the lone pod's
	// stays.
	kubectl("scale", "-n", "web", "deployment/app", "--replicas=0").Must(t)
	eksEventually(t, "the Deployment's pods and Fargate nodes to go", func() (bool, string) {
		r := kubectl("get", "nodes", "-l", "eks.amazonaws.com/compute-type=fargate", "-o", "name")
		left := slices.Sorted(maps.Keys(pods()))
		return r.ExitCode == 0 && strings.TrimSpace(r.Stdout) == "node/"+nodesOf["keeper"] && slices.Equal(left, []string{"keeper", "on-ec2"}),
			r.Stdout + strings.Join(left, " ")
	})
	if ps := running(pods()); len(ps) != 1 || ps[0].Metadata.Name != "keeper" {
		t.Errorf("running after the scale-in: %+v", ps)
	}
	eksEventually(t, "the scaled-in pods' containers to go", func() (bool, string) {
		left := containersLabelled(clusterLabel)
		keeper := podContainers([]string{pods()["keeper"].Metadata.UID})
		return len(left) == len(keeper), strings.Join(left, " ")
	})

	c.delete(t, b.AWS)
	if left := containersLabelled(clusterLabel); len(left) != 0 {
		t.Errorf("containers of the cluster after delete-cluster: %v", left)
	}
	if pids := controlPlanePids(dataDir); len(pids) != 0 {
		t.Errorf("berth-k8s still runs after delete-cluster: %v", pids)
	}
}
