package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

// Services of an EKS cluster (docs/eks.md, "Services and cluster DNS"): a
// LoadBalancer Service is at once a cluster IP (iptables in the host), a
// name in the cluster DNS, a NodePort on 127.0.0.1 and a loopback load
// balancer address, all reached here the way users do: from another pod
// with `kubectl exec`, and from the host.
const eksServicesManifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: ` + eksAppImage + `
        imagePullPolicy: IfNotPresent
        ports:
        - containerPort: 8080
        readinessProbe:
          httpGet: {path: /health, port: 8080}
          periodSeconds: 2
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: LoadBalancer
  selector: {app: web}
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: v1
kind: Pod
metadata:
  name: client
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: client
    image: ` + eksAppImage + `
    imagePullPolicy: IfNotPresent
    args: ["sleep", "1h"]
`

func TestEKSServices(t *testing.T) {
	t.Parallel()
	e := startEKS(t, "eks-app", eksAppImage)
	b, dataDir := e.b, e.dataDir
	root := os.Geteuid() == 0

	c := e.createCluster(t, "svc")
	c.startNodegroup(t, "workers", 1)
	kubectl := func(args ...string) *harness.Result {
		t.Helper()
		return c.kubectl(t, args...)
	}

	// The cluster's pods have a network of their own, named in the
	// control plane's command line; its chains are named after it.
	var network string
	if pids := controlPlanePids(dataDir); len(pids) == 1 {
		cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(pids[0]) + "/cmdline")
		for _, a := range strings.Split(string(cmd), "\x00") {
			if v, ok := strings.CutPrefix(a, "--pod-network="); ok {
				network = v
			}
		}
	}
	if network == "" {
		t.Fatal("berth-k8s runs without --pod-network")
	}
	sum := sha256.Sum256([]byte(network))
	chainID := strings.ToUpper(hex.EncodeToString(sum[:4]))

	// The cleanup of startEKS removes the pods' containers, the chains
	// and the network of a test that failed before deleting the cluster.
	c.apply(t, eksServicesManifest)
	eksEventually(t, "2 ready endpoints of web and the client Running", func() (bool, string) {
		eps := kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o",
			`jsonpath={range .items[*].endpoints[?(@.conditions.ready==true)]}{.addresses[0]}{"\n"}{end}`)
		client := kubectl("get", "pod", "client", "-o", "jsonpath={.status.phase}")
		return strings.Count(eps.Stdout, "\n") == 2 && client.Stdout == "Running", eps.Stdout + eps.Stderr + client.Stdout
	})
	clusterIP := kubectl("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}").Must(t).Stdout
	nodePort := kubectl("get", "svc", "web", "-o", "jsonpath={.spec.ports[0].nodePort}").Must(t).Stdout
	if dns := kubectl("get", "svc", "-n", "kube-system", "kube-dns", "-o", "jsonpath={.spec.clusterIP}").Must(t).Stdout; dns != "10.100.0.10" {
		t.Errorf("kube-dns cluster IP: %q, want EKS's 10.100.0.10", dns)
	}
	// get answers from inside the client pod, retrying while rules and
	// listeners catch up with the objects.
	fromPod := func(url string) {
		t.Helper()
		eksEventually(t, "GET "+url+" from the client pod", func() (bool, string) {
			r := kubectl("exec", "client", "--", "/app", "get", url)
			return r.ExitCode == 0 && strings.Contains(r.Stdout, `"hostname":"web-`), r.Stdout + r.Stderr
		})
	}

	t.Run("ClusterIP", func(t *testing.T) {
		if !root {
			t.Skip("cluster IPs are iptables rules in the host: needs root")
		}
		fromPod("http://" + clusterIP + "/")
		save, _ := exec.Command("iptables-save", "-t", "nat").Output()
		if !strings.Contains(string(save), "BERTH-SVC-"+chainID) {
			t.Errorf("no chain BERTH-SVC-%s in the nat table", chainID)
		}
	})
	t.Run("DNS", func(t *testing.T) {
		if !root {
			t.Skip("the cluster DNS is reached through its cluster IP: needs root")
		}
		for _, name := range []string{"web", "web.default", "web.default.svc.cluster.local"} {
			fromPod("http://" + name + "/")
		}
		if r := kubectl("exec", "client", "--", "/app", "get", "http://nothing.default.svc.cluster.local/"); r.ExitCode == 0 ||
			!strings.Contains(r.Stderr, "no such host") {
			t.Errorf("an unknown Service name: exit %d %s", r.ExitCode, r.Stderr)
		}
	})
	t.Run("APIServer", func(t *testing.T) {
		if !root {
			t.Skip("cluster IPs are iptables rules in the host: needs root")
		}
		// The kubernetes Service reaches the API server from pods: the
		// TLS handshake gets as far as the cluster CA, which the test app
		// does not trust.
		eksEventually(t, "the API server through kubernetes.default.svc", func() (bool, string) {
			r := kubectl("exec", "client", "--", "/app", "get", "https://kubernetes.default.svc/")
			return strings.Contains(r.Stderr, "x509"), r.Stderr
		})
	})
	t.Run("NodePort", func(t *testing.T) {
		hostGet(t, "http://127.0.0.1:"+nodePort+"/")
	})
	t.Run("LoadBalancer", func(t *testing.T) {
		var ip string
		eksEventually(t, "the load balancer's address", func() (bool, string) {
			ip = kubectl("get", "svc", "web", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}").Stdout
			return strings.HasPrefix(ip, "127."), ip
		})
		if out := kubectl("get", "svc", "web").Must(t).Stdout; !strings.Contains(out, ip) {
			t.Errorf("kubectl get svc does not show the EXTERNAL-IP %s:\n%s", ip, out)
		}
		hostGet(t, "http://"+ip+"/")
	})
	t.Run("ControlPlaneRestart", func(t *testing.T) {
		if !root {
			t.Skip("cluster IPs are iptables rules in the host: needs root")
		}
		// Berth starts a control plane that died again; the rules stayed,
		// the DNS comes back on its port, and nothing is doubled.
		before := e.killControlPlane(t)
		eksEventually(t, "the control plane to be started again", func() (bool, string) {
			after := controlPlanePids(dataDir)
			return len(after) == 1 && after[0] != before, ""
		})
		fromPod("http://web.default/")
		save, _ := exec.Command("iptables-save", "-t", "nat").Output()
		if n := strings.Count(string(save), "-j BERTH-SVC-"+chainID+"\n"); n != 1 {
			t.Errorf("%d jumps to BERTH-SVC-%s after the restart", n, chainID)
		}
	})
	t.Run("NoEndpoints", func(t *testing.T) {
		if !root {
			t.Skip("cluster IPs are iptables rules in the host: needs root")
		}
		kubectl("scale", "deployment", "web", "--replicas=0").Must(t)
		eksEventually(t, "the cluster IP to refuse", func() (bool, string) {
			r := kubectl("exec", "client", "--", "/app", "get", "http://"+clusterIP+"/")
			return r.ExitCode != 0 && strings.Contains(r.Stderr, "refused"), r.Stdout + r.Stderr
		})
	})

	// Deleting the cluster removes its chains and its network.
	kubectl("delete", "pod", "client", "--wait=false").Must(t)
	c.deleteNodegroup(t, "workers")
	c.delete(t, b.AWS)
	if root {
		for _, table := range []string{"nat", "filter"} {
			save, err := exec.Command("iptables-save", "-t", table).Output()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(save), chainID) {
				t.Errorf("the deleted cluster's chains are left in the %s table:\n%s", table, save)
			}
		}
	}
	if out, _ := exec.Command("docker", "network", "ls", "-q", "--filter", "name="+network).Output(); strings.TrimSpace(string(out)) != "" {
		t.Errorf("the deleted cluster's network %s is left", network)
	}
}

// hostGet GETs url from the host until it answers the test app's JSON.
func hostGet(t *testing.T, url string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	eksEventually(t, "GET "+url+" from the host", func() (bool, string) {
		resp, err := c.Get(url)
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 200 && strings.Contains(string(body), `"hostname":"web-`), resp.Status + " " + string(body)
	})
}
