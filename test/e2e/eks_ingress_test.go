package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

// An Ingress of class alb becomes an Application Load Balancer of Berth's
// ELB, as the AWS Load Balancer Controller makes one on EKS: tagged as the
// controller tags, forwarding by path to ip targets that follow the
// Services' ready endpoints, with the ALB's DNS name in the Ingress's
// status, and gone with the Ingress.

// The listener port is unusual so as not to clash with anything else on
// the machine (Berth's listeners are ports of this host).
const ingressListenPort = "18081"

const ingressManifest = `apiVersion: apps/v1
kind: Deployment
metadata: {name: app-a}
spec:
  replicas: 2
  selector: {matchLabels: {app: app-a}}
  template:
    metadata: {labels: {app: app-a}}
    spec:
      containers:
      - name: app
        image: ` + eksAppImage + `
        imagePullPolicy: IfNotPresent
        ports: [{containerPort: 8080, name: http}]
        readinessProbe:
          httpGet: {path: /ready, port: 8080}
          periodSeconds: 2
          failureThreshold: 1
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app-b}
spec:
  replicas: 1
  selector: {matchLabels: {app: app-b}}
  template:
    metadata: {labels: {app: app-b}}
    spec:
      containers:
      - name: app
        image: ` + eksAppImage + `
        imagePullPolicy: IfNotPresent
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: svc-a}
spec:
  selector: {app: app-a}
  ports: [{name: web, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: svc-b}
spec:
  selector: {app: app-b}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop
  annotations:
    alb.ingress.kubernetes.io/scheme: internet-facing
    alb.ingress.kubernetes.io/target-type: ip
    alb.ingress.kubernetes.io/listen-ports: '[{"HTTP": ` + ingressListenPort + `}]'
    alb.ingress.kubernetes.io/healthcheck-path: /health
    alb.ingress.kubernetes.io/healthcheck-interval-seconds: "5"
    alb.ingress.kubernetes.io/target-group-attributes: deregistration_delay.timeout_seconds=2
spec:
  ingressClassName: alb
  defaultBackend:
    service: {name: svc-b, port: {number: 80}}
  rules:
  - http:
      paths:
      - path: /a
        pathType: Prefix
        backend:
          service: {name: svc-a, port: {name: web}}
`

func TestEKSIngressALB(t *testing.T) {
	t.Parallel()
	e := startEKS(t, "eks-app", eksAppImage)
	b := e.b
	c := e.createCluster(t, "ing")
	c.startNodegroup(t, "workers", 1)
	kubectl := func(args ...string) *harness.Result {
		t.Helper()
		return c.kubectl(t, args...)
	}

	// The controller installs the IngressClass, as the AWS controller's
	// Helm chart does.
	eksEventually(t, "the IngressClass alb", func() (bool, string) {
		r := kubectl("get", "ingressclass", "alb", "-o", "jsonpath={.spec.controller}")
		return r.Stdout == "ingress.k8s.aws/alb", r.Stdout + r.Stderr
	})

	c.apply(t, ingressManifest)

	var hostname string
	eksEventually(t, "the Ingress's load balancer hostname", func() (bool, string) {
		r := kubectl("get", "ingress", "shop", "-o", "jsonpath={.status.loadBalancer.ingress[0].hostname}")
		hostname = strings.TrimSpace(r.Stdout)
		events := kubectl("get", "events", "--field-selector", "involvedObject.name=shop", "-o", "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}").Stdout
		return hostname != "", r.Stderr + events
	})
	if fin := kubectl("get", "ingress", "shop", "-o", "jsonpath={.metadata.finalizers}").Must(t).Stdout; !strings.Contains(fin, "ingress.k8s.aws/resources") {
		t.Errorf("the Ingress's finalizers: %s", fin)
	}

	// describe-load-balancers lists it, internet-facing, with the AWS
	// controller's tags.
	lb := ingressLB(t, b, hostname)
	if lb == nil {
		t.Fatalf("describe-load-balancers does not list %s", hostname)
	}
	if lb.Scheme != "internet-facing" || lb.Type != "application" || !strings.HasPrefix(lb.LoadBalancerName, "k8s-default-shop-") {
		t.Errorf("load balancer %+v", lb)
	}
	tags := elbTags(t, b, lb.LoadBalancerArn)
	for k, v := range map[string]string{"elbv2.k8s.aws/cluster": "ing", "ingress.k8s.aws/stack": "default/shop", "ingress.k8s.aws/resource": "LoadBalancer"} {
		if tags[k] != v {
			t.Errorf("load balancer tag %s = %q, want %q (all: %v)", k, tags[k], v, tags)
		}
	}
	var listeners struct{ Listeners []struct{ Port int } }
	b.AWS(t, "elbv2", "describe-listeners", "--load-balancer-arn", lb.LoadBalancerArn).Must(t).JSON(t, &listeners)
	if len(listeners.Listeners) != 1 || fmt.Sprint(listeners.Listeners[0].Port) != ingressListenPort {
		t.Errorf("listeners %+v", listeners)
	}

	// One target group per backend, found by its resource tag.
	tgs := map[string]string{} // resource tag → ARN
	var groups struct {
		TargetGroups []struct{ TargetGroupArn, TargetType string }
	}
	b.AWS(t, "elbv2", "describe-target-groups", "--load-balancer-arn", lb.LoadBalancerArn).Must(t).JSON(t, &groups)
	for _, g := range groups.TargetGroups {
		if g.TargetType != "ip" {
			t.Errorf("target group %s of type %s", g.TargetGroupArn, g.TargetType)
		}
		tgs[elbTags(t, b, g.TargetGroupArn)["ingress.k8s.aws/resource"]] = g.TargetGroupArn
	}
	tgA, tgB := tgs["default/shop-svc-a:web"], tgs["default/shop-svc-b:80"]
	if len(tgs) != 2 || tgA == "" || tgB == "" {
		t.Fatalf("target groups by resource tag: %v", tgs)
	}

	// The targets are the pods' IPs, healthy once the health checks pass.
	waitTargets(t, b, tgA, func() []string { return podIPs(t, kubectl, "app-a") }, 2)
	waitTargets(t, b, tgB, func() []string { return podIPs(t, kubectl, "app-b") }, 1)

	// Through the listener: /a and below go to app-a's pods, anything else
	// to the default backend, app-b.
	podsA, podsB := podNames(t, kubectl, "app-a"), podNames(t, kubectl, "app-b")
	seenA := map[string]bool{}
	eksEventually(t, "requests to /a to reach both pods of app-a", func() (bool, string) {
		host, path, err := ingressGet("/a/items")
		if err != nil {
			return false, err.Error()
		}
		if !slices.Contains(podsA, host) || path != "/a/items" {
			t.Fatalf("GET /a/items answered by %q (path %q); app-a's pods are %v", host, path, podsA)
		}
		seenA[host] = true
		return len(seenA) == 2, fmt.Sprint(seenA)
	})
	for _, p := range []string{"/", "/b", "/ab"} {
		host, _, err := ingressGet(p)
		if err != nil || !slices.Contains(podsB, host) {
			t.Errorf("GET %s: answered by %q (%v); want app-b's pod %v", p, host, err, podsB)
		}
	}

	// Scaling app-a: the target group follows.
	kubectl("scale", "deployment", "app-a", "--replicas=3").Must(t)
	waitTargets(t, b, tgA, func() []string { return podIPs(t, kubectl, "app-a") }, 3)

	// A pod failing its readiness probe leaves the target group (its
	// endpoint is no longer ready), though it still runs.
	ips := podIPs(t, kubectl, "app-a")
	sick := ips[0]
	resp, err := http.Get("http://" + sick + ":8080/unready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitTargets(t, b, tgA, func() []string { return ips[1:] }, 2)

	if ev := kubectl("get", "events", "--field-selector", "involvedObject.name=shop,reason=SuccessfullyReconciled", "-o", "name").Must(t).Stdout; strings.TrimSpace(ev) == "" {
		t.Errorf("no SuccessfullyReconciled event on the Ingress")
	}

	// kill -9 Berth: the next one takes over from what ELB and the
	// cluster hold, without making a second load balancer; targets keep
	// following the endpoints.
	b.Kill()
	b.Restart()
	eksClusterStatus(t, b, "ing", "ACTIVE")
	if again := ingressLB(t, b, hostname); again == nil || again.LoadBalancerArn != lb.LoadBalancerArn {
		t.Fatalf("load balancer after the restart: %+v, was %+v", again, lb)
	}
	resp, err = http.Get("http://" + sick + ":8080/ready-again")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitTargets(t, b, tgA, func() []string { return podIPs(t, kubectl, "app-a") }, 3)
	eksEventually(t, "/a through the listener after the restart", func() (bool, string) {
		host, _, err := ingressGet("/a")
		return err == nil && slices.Contains(podNames(t, kubectl, "app-a"), host), fmt.Sprint(host, err)
	})
	var all struct{ LoadBalancers []ingressLoadBalancer }
	b.AWS(t, "elbv2", "describe-load-balancers").Must(t).JSON(t, &all)
	if len(all.LoadBalancers) != 1 {
		t.Errorf("load balancers after the restart: %+v", all.LoadBalancers)
	}

	// Deleting the Ingress waits for the finalizer; the load balancer, its
	// listener and target groups go.
	kubectl("delete", "ingress", "shop", "--timeout=2m").Must(t)
	if ingressLB(t, b, hostname) != nil {
		t.Errorf("the load balancer is still listed after the Ingress was deleted")
	}
	for _, arn := range []string{tgA, tgB} {
		if r := b.AWS(t, "elbv2", "describe-target-groups", "--target-group-arns", arn); r.ErrorCode() != "TargetGroupNotFound" {
			t.Errorf("target group %s after the Ingress was deleted: %s %s", arn, r.Stdout, r.Stderr)
		}
	}
	if _, _, err := ingressGet("/"); err == nil {
		t.Errorf("port %s still answers after the Ingress was deleted", ingressListenPort)
	}

	// Deleting the cluster deletes the load balancers of its Ingresses.
	c.apply(t, ingressManifest)
	eksEventually(t, "the new Ingress's load balancer", func() (bool, string) {
		r := kubectl("get", "ingress", "shop", "-o", "jsonpath={.status.loadBalancer.ingress[0].hostname}")
		hostname = strings.TrimSpace(r.Stdout)
		return hostname != "" && ingressLB(t, b, hostname) != nil, r.Stderr
	})
	c.deleteNodegroup(t, "workers")
	b.AWS(t, "eks", "delete-cluster", "--name", "ing").Must(t)
	eksEventually(t, "the cluster's load balancer and target groups to go", func() (bool, string) {
		var lbs struct{ LoadBalancers []ingressLoadBalancer }
		b.AWS(t, "elbv2", "describe-load-balancers").Must(t).JSON(t, &lbs)
		var tgs struct {
			TargetGroups []struct{ TargetGroupArn string }
		}
		b.AWS(t, "elbv2", "describe-target-groups").Must(t).JSON(t, &tgs)
		return len(lbs.LoadBalancers) == 0 && len(tgs.TargetGroups) == 0, fmt.Sprintf("%+v %+v", lbs, tgs)
	})
}

type ingressLoadBalancer struct {
	LoadBalancerArn, LoadBalancerName, DNSName, Scheme, Type string
}

func ingressLB(t *testing.T, b *harness.Berth, dns string) *ingressLoadBalancer {
	t.Helper()
	var out struct{ LoadBalancers []ingressLoadBalancer }
	b.AWS(t, "elbv2", "describe-load-balancers").Must(t).JSON(t, &out)
	for _, lb := range out.LoadBalancers {
		if lb.DNSName == dns {
			return &lb
		}
	}
	return nil
}

func elbTags(t *testing.T, b *harness.Berth, arn string) map[string]string {
	t.Helper()
	var out struct {
		TagDescriptions []struct{ Tags []struct{ Key, Value string } }
	}
	b.AWS(t, "elbv2", "describe-tags", "--resource-arns", arn).Must(t).JSON(t, &out)
	tags := map[string]string{}
	for _, d := range out.TagDescriptions {
		for _, tag := range d.Tags {
			tags[tag.Key] = tag.Value
		}
	}
	return tags
}

// waitTargets waits until the target group's healthy targets are want()'s
// addresses on the pods' port, n of them, and no other target is
// registered but draining ones.
func waitTargets(t *testing.T, b *harness.Berth, arn string, want func() []string, n int) {
	t.Helper()
	eksEventually(t, fmt.Sprintf("%d healthy targets in %s", n, arn), func() (bool, string) {
		r := b.AWS(t, "elbv2", "describe-target-health", "--target-group-arn", arn)
		if r.ExitCode != 0 {
			return false, r.Stderr
		}
		var th struct {
			TargetHealthDescriptions []struct {
				Target       struct{ Id string }
				TargetHealth struct{ State string }
			}
		}
		r.JSON(t, &th)
		var healthy []string
		ok := true
		for _, d := range th.TargetHealthDescriptions {
			switch d.TargetHealth.State {
			case "healthy":
				healthy = append(healthy, d.Target.Id)
			case "draining":
			default:
				ok = false
			}
		}
		sort.Strings(healthy)
		w := want()
		sort.Strings(w)
		return ok && len(w) == n && slices.Equal(healthy, w), r.Stdout + " want " + fmt.Sprint(w)
	})
}

func podIPs(t *testing.T, kubectl func(...string) *harness.Result, app string) []string {
	t.Helper()
	r := kubectl("get", "pods", "-l", "app="+app, "--field-selector=status.phase=Running", "-o", "jsonpath={.items[*].status.podIP}")
	return strings.Fields(r.Stdout)
}

func podNames(t *testing.T, kubectl func(...string) *harness.Result, app string) []string {
	t.Helper()
	r := kubectl("get", "pods", "-l", "app="+app, "--field-selector=status.phase=Running", "-o", "jsonpath={.items[*].metadata.name}")
	return strings.Fields(r.Stdout)
}

// ingressGet GETs path through the load balancer's listener and returns
// the test app's hostname (the pod's name) and the path it saw.
func ingressGet(path string) (string, string, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://127.0.0.1:" + ingressListenPort + path)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	var out struct{ Hostname, Path string }
	if err := json.Unmarshal(body, &out); err != nil {
		return "", "", fmt.Errorf("GET %s: %v: %s", path, err, body)
	}
	return out.Hostname, out.Path, nil
}
