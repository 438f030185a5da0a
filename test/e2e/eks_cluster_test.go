package e2e

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// EKS clusters with a real Kubernetes control plane (berth-k8s, built from
// k8s/): the aws CLIs create the cluster and write kubeconfigs, kubectl
// reaches the API server with `aws eks get-token` tokens that Berth's
// webhook checks, access entries decide who gets in, and the cluster
// outlives a kill -9 of Berth without being started twice.

// The brief's Deployment: two replicas with its liveness and readiness
// probes, on the harness's test app (it serves /health on 8080), which is
// loaded into Docker rather than pulled.
const eksBriefDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-app
  labels: {app: my-app}
spec:
  replicas: 2
  selector:
    matchLabels: {app: my-app}
  template:
    metadata:
      labels: {app: my-app}
    spec:
      containers:
      - name: my-app
        image: ` + eksAppImage + `
        imagePullPolicy: IfNotPresent
        ports:
        - containerPort: 8080
        livenessProbe:
          httpGet: {path: /health, port: 8080}
          initialDelaySeconds: 15
          periodSeconds: 10
        readinessProbe:
          httpGet: {path: /ready, port: 8080}
          initialDelaySeconds: 5
          periodSeconds: 5
`

const eksAppImage = "berth-e2e/eks-app:v1"

func TestEKSClusterWithKubectl(t *testing.T) {
	t.Parallel()
	e := startEKS(t, "eks-app", eksAppImage)
	b, dataDir := e.b, e.dataDir
	if !strings.Contains(b.Log(), "EKS clusters run on berth-k8s") {
		t.Fatalf("berth does not say it runs berth-k8s:\n%s", b.Log())
	}

	// createCluster polls describe-cluster (the waiters sleep 30 s between
	// polls); the waiter then proves it agrees.
	cluster := e.createCluster(t, "shop")
	b.AWS(t, "eks", "wait", "cluster-active", "--name", "shop").Must(t)
	c := cluster.desc
	endpoint := c["endpoint"].(string)
	if !strings.HasPrefix(endpoint, "https://127.0.0.1:") || len(c["health"].(map[string]any)["issues"].([]any)) != 0 {
		t.Fatalf("describe-cluster: %v", c)
	}

	// Both CLIs write kubeconfigs whose exec plugin is their own get-token.
	kc := map[int]string{1: cluster.kubeconfig, 2: filepath.Join(t.TempDir(), "kubeconfig")}
	b.AWSv2(t, "eks", "update-kubeconfig", "--name", "shop", "--kubeconfig", kc[2]).Must(t)
	kubectl := func(cli int, env []string, args ...string) *harness.Result {
		t.Helper()
		return harness.Kubectl(t, e.tools.Kubectl, env, append([]string{"--kubeconfig", kc[cli]}, args...)...)
	}
	env := map[int][]string{1: cluster.env, 2: b.KubectlEnv(t, 2)}
	for _, v := range []int{1, 2} {
		if out := kubectl(v, env[v], "get", "ns").Must(t).Stdout; !strings.Contains(out, "kube-system") || !strings.Contains(out, "default") {
			t.Errorf("kubectl get ns (CLI v%d): %s", v, out)
		}
		// The API server learnt who the token belongs to from Berth.
		who := kubeWhoami(t, kubectl(v, env[v], "auth", "whoami", "-o", "json").Must(t))
		if who.Username != "arn:aws:iam::000000000000:root" || !slices.Contains(who.Groups, "system:masters") || !slices.Contains(who.Extra["arn"], "arn:aws:iam::000000000000:root") {
			t.Errorf("auth whoami (CLI v%d): %+v", v, who)
		}
	}

	cluster.apply(t, eksBriefDeployment)
	eksEventually(t, "the Deployment's ReplicaSet of 2", func() (bool, string) {
		r := kubectl(1, env[1], "get", "replicasets", "-l", "app=my-app", "-o", "json")
		var rs struct {
			Items []struct {
				Metadata struct{ OwnerReferences []struct{ Kind, Name string } }
				Spec     struct{ Replicas int }
			}
		}
		if r.ExitCode != 0 || json.Unmarshal([]byte(r.Stdout), &rs) != nil {
			return false, r.Stderr
		}
		ok := len(rs.Items) == 1 && rs.Items[0].Spec.Replicas == 2 && len(rs.Items[0].Metadata.OwnerReferences) == 1 &&
			rs.Items[0].Metadata.OwnerReferences[0].Kind == "Deployment" && rs.Items[0].Metadata.OwnerReferences[0].Name == "my-app"
		return ok, r.Stdout
	})

	// A node group of two registers two Nodes, and the Deployment's pods
	// run on them as containers.
	b.AWS(t, "eks", "create-nodegroup", "--cluster-name", "shop", "--nodegroup-name", "workers", "--node-role", e.roleArn,
		"--subnets", e.subnets[0], "--scaling-config", "minSize=1,maxSize=3,desiredSize=2").Must(t)
	cluster.waitNodegroupActive(t, "workers")
	b.AWSv2(t, "eks", "wait", "nodegroup-active", "--cluster-name", "shop", "--nodegroup-name", "workers").Must(t)
	nodes := kubectl(1, env[1], "get", "nodes", "-l", "eks.amazonaws.com/nodegroup=workers", "-o",
		`jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`).Must(t).Stdout
	if strings.Count(nodes, "=True") != 2 {
		t.Errorf("node group's nodes: %q", nodes)
	}
	var running map[string]string // pod name → uid
	eksEventually(t, "2 pods Running", func() (bool, string) {
		running = podsRunning(t, kubectl(1, env[1], "get", "pods", "-l", "app=my-app", "-o", "json"))
		return len(running) == 2, ""
	})
	var podUIDs []string
	for _, uid := range running {
		podUIDs = append(podUIDs, uid)
	}
	t.Cleanup(func() { removePodContainers(podUIDs) })
	if n := len(podContainers(podUIDs)); n == 0 {
		t.Errorf("no containers for the pods %v", podUIDs)
	}

	// Nodes pull from Berth's ECR with the node group's registry password,
	// as EKS nodes do with the ECR credential provider: an image that is
	// only in Berth's ECR runs with imagePullPolicy Always (the registry
	// refuses anonymous pulls).
	var repo struct {
		Repository struct{ RepositoryUri string } `json:"repository"`
	}
	b.AWS(t, "ecr", "create-repository", "--repository-name", "eks-ecr-app").Must(t).JSON(t, &repo)
	uri := repo.Repository.RepositoryUri + ":v1"
	pushImage(t, uri, harness.TestImage(t, "eks-ecr-app"), registryAuth(t, b))
	kubectl(1, env[1], "run", "from-ecr", "--image="+uri, "--image-pull-policy=Always", "--restart=Never").Must(t)
	eksEventually(t, "the pod of an ECR image Running", func() (bool, string) {
		r := kubectl(1, env[1], "get", "pod", "from-ecr", "-o", "jsonpath={.status.phase} {.status.containerStatuses[0].state}")
		return strings.HasPrefix(r.Stdout, "Running"), r.Stdout + r.Stderr
	})
	kubectl(1, env[1], "delete", "pod", "from-ecr", "--wait=false").Must(t)

	// A second principal, a session of another role, has no access entry:
	// the API server refuses its token. After an access entry with the
	// view policy it may read, not write, as on EKS.
	b.AWS(t, "iam", "create-role", "--role-name", "developers", "--assume-role-policy-document", eksDevelopersTrust).Must(t)
	var dev assumeRoleOut
	b.AWS(t, "sts", "assume-role", "--role-arn", "arn:aws:iam::000000000000:role/developers", "--role-session-name", "ana").Must(t).JSON(t, &dev)
	devEnv := append(env[2][:len(env[2]):len(env[2])], "AWS_ACCESS_KEY_ID="+dev.Credentials.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+dev.Credentials.SecretAccessKey, "AWS_SESSION_TOKEN="+dev.Credentials.SessionToken)
	r := kubectl(2, devEnv, "get", "deployments")
	if r.ExitCode == 0 || !(strings.Contains(r.Stderr, "Unauthorized") || strings.Contains(r.Stderr, "Forbidden") || strings.Contains(r.Stderr, "forbidden")) {
		t.Fatalf("a principal without an access entry got in: exit %d\n%s\n%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	b.AWS(t, "eks", "create-access-entry", "--cluster-name", "shop", "--principal-arn", "arn:aws:iam::000000000000:role/developers").Must(t)
	b.AWS(t, "eks", "associate-access-policy", "--cluster-name", "shop", "--principal-arn", "arn:aws:iam::000000000000:role/developers",
		"--policy-arn", "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", "--access-scope", "type=cluster").Must(t)
	// The API server caches a token's review for 30 s; each kubectl run
	// gets a fresh token, so this settles within a few tries at most.
	eksEventually(t, "the developer to read deployments", func() (bool, string) {
		r := kubectl(2, devEnv, "get", "deployments", "-o", "name")
		return r.ExitCode == 0 && strings.Contains(r.Stdout, "deployment.apps/my-app"), r.Stderr
	})
	who := kubeWhoami(t, kubectl(2, devEnv, "auth", "whoami", "-o", "json").Must(t))
	if who.Username != "arn:aws:sts::000000000000:assumed-role/developers/ana" || !slices.Contains(who.Groups, "eks:view") {
		t.Errorf("the developer's whoami: %+v", who)
	}
	if r := kubectl(2, devEnv, "create", "namespace", "dev-made"); r.ExitCode == 0 || !strings.Contains(r.Stderr, "forbidden") {
		t.Errorf("a viewer created a namespace: exit %d %s", r.ExitCode, r.Stderr)
	}

	// kill -9 Berth: the control plane keeps running and the next Berth
	// adopts it rather than starting another; endpoint and objects stay.
	before := controlPlanePids(dataDir)
	nodesBefore := nodesPids(dataDir)
	if len(before) != 1 || len(nodesBefore) != 1 {
		t.Fatalf("berth-k8s processes for the cluster: %v, node groups: %v", before, nodesBefore)
	}
	b.Kill()
	b.Restart()
	c = eksClusterStatus(t, b, "shop", "ACTIVE")
	if c["endpoint"] != endpoint {
		t.Errorf("endpoint after a restart: %v, was %s", c["endpoint"], endpoint)
	}
	eksEventually(t, "the Deployment after the restart", func() (bool, string) {
		r := kubectl(1, env[1], "get", "deployment", "my-app", "-o", "jsonpath={.spec.replicas}")
		return r.ExitCode == 0 && r.Stdout == "2", r.Stdout + r.Stderr
	})
	eksEventually(t, "the control plane to be re-adopted", func() (bool, string) {
		return strings.Contains(b.Log(), "re-adopted the control plane"), ""
	})
	if after := controlPlanePids(dataDir); len(after) != 1 || after[0] != before[0] {
		t.Errorf("berth-k8s processes after kill -9 and restart: %v, before %v", after, before)
	}
	if after := nodesPids(dataDir); len(after) != 1 || after[0] != nodesBefore[0] {
		t.Errorf("node group processes after kill -9 and restart: %v, before %v", after, nodesBefore)
	}
	// The same pods still run: nothing was restarted.
	if after := podsRunning(t, kubectl(1, env[1], "get", "pods", "-l", "app=my-app", "-o", "json")); len(after) != 2 || !maps.Equal(after, running) {
		t.Errorf("pods after the restart: %v, before %v", after, running)
	}

	// Deleting the node group deletes its Nodes and its pods' containers;
	// the cluster can go once it has none.
	cluster.deleteNodegroup(t, "workers")
	b.AWS(t, "eks", "wait", "nodegroup-deleted", "--cluster-name", "shop", "--nodegroup-name", "workers").Must(t)
	if out := kubectl(1, env[1], "get", "nodes", "-o", "name").Must(t).Stdout; strings.TrimSpace(out) != "" {
		t.Errorf("nodes after delete-nodegroup: %s", out)
	}
	if left := podContainers(podUIDs); len(left) != 0 {
		t.Errorf("containers of the node group's pods after delete-nodegroup: %v", left)
	}
	if pids := nodesPids(dataDir); len(pids) != 0 {
		t.Errorf("node group processes after delete-nodegroup: %v", pids)
	}

	// delete-cluster removes the process and the cluster's directory.
	cluster.delete(t, b.AWSv2)
	b.AWSv2(t, "eks", "wait", "cluster-deleted", "--name", "shop").Must(t)
	if pids := controlPlanePids(dataDir); len(pids) != 0 {
		t.Errorf("berth-k8s still runs after delete-cluster: %v", pids)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "eks", "000000000000", "us-east-1", "shop")); !os.IsNotExist(err) {
		t.Errorf("the cluster's directory is still there: %v", err)
	}
}
