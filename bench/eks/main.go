// Command eks benchmarks Berth's EKS clusters, which run a real Kubernetes
// control plane (berth-k8s) per cluster, and writes a Markdown report:
//
//	go run ./bench/eks [-quick] [-out bench/results/eks.md]
//
// Cluster start: CreateCluster → ACTIVE in DescribeCluster (polled every
// 100 ms), -clusters clusters one after the other, and after a graceful
// Berth restart the time until every cluster is ACTIVE and its API server
// answers /readyz again.
//
// Pod start: a node group of -nodes nodes, then a Deployment of -pods
// replicas of the test app image, loaded into Docker beforehand so no pull
// is measured. Each pod's latency is the time between the watch event that
// shows it created and the one that shows it Ready (Kubernetes' pod startup
// SLO: p99 ≤ 5 s excluding image pulls), watched through the API server
// with the cluster's admin certificate over plain net/http. Before that,
// -single bare pods one after the other show a pod's start without the
// queue a burst builds.
//
// Memory: RSS (VmRSS of /proc/<pid>/status) of each berth-k8s control plane
// and of the node group's `berth-k8s nodes` process, idle and with the pods.
//
// It builds ./cmd/berth, berth-k8s and kubectl (k8s/build.sh) and the test
// app image itself, and needs a Docker engine. k3d and kind are not on these
// machines: the report quotes the peer numbers, marked as such.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/berth-dev/berth/bench/internal/benchenv"
)

type options struct {
	quick    bool
	out      string
	clusters int
	nodes    int
	pods     int
	single   int
}

const (
	appImage = "berth-bench/eks-app:v1"
	// Berth does not look roles or subnets up (docs/eks.md), so the bench
	// needs no IAM or EC2 calls.
	roleARN = "arn:aws:iam::000000000000:role/eks-bench"
	subnet  = "subnet-0bench0000000001"
)

func main() {
	var o options
	flag.IntVar(&o.clusters, "clusters", 3, "clusters created one after the other")
	flag.IntVar(&o.nodes, "nodes", 2, "nodes in the node group")
	flag.IntVar(&o.pods, "pods", 100, "pods (Deployment replicas) started at once")
	flag.IntVar(&o.single, "single", 10, "bare pods started one after the other")
	benchenv.Main("eks", &o.quick, &o.out, func(stdout io.Writer) error { return run(o, stdout) })
}

func run(o options, stdout io.Writer) error {
	if o.quick {
		o.clusters, o.pods, o.single = 1, min(o.pods, 10), min(o.single, 3)
	}
	o.clusters = max(o.clusters, 1)
	work, err := os.MkdirTemp("", "bench-eks-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	dataDir := filepath.Join(work, "data")
	// Whatever fails, no control plane, nodes process or pod container of
	// this run may outlive it.
	defer reap(dataDir, stdout)

	bin, err := benchenv.BuildBerth(work)
	if err != nil {
		return err
	}
	k8sBin, err := buildK8s(work)
	if err != nil {
		return err
	}
	if err := loadImage(work); err != nil {
		return err
	}
	defer exec.Command("docker", "rmi", appImage).Run()

	r := &result{o: o, startLoad: loadavg(), machine: benchenv.Machine(), at: time.Now().UTC()}
	if err := measure(o, r, bin, k8sBin, work, dataDir, stdout); err != nil {
		return err
	}
	r.endLoad = loadavg()
	// The peer runs last, once the cluster and its pods are gone, on the
	// same engine and image.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if r.raw, err = rawDocker(ctx, o.pods); err != nil {
		r.notes = append(r.notes, "raw Docker peer not measured: "+err.Error())
	}
	fmt.Fprintf(stdout, "raw Docker: %d sandbox+app pairs in %s\n", o.pods, secs(r.raw))
	return benchenv.WriteReport(o.out, r.report(), stdout)
}

type result struct {
	o                  options
	at                 time.Time
	machine            string
	startLoad, endLoad string

	create        []time.Duration
	idleCP        []int64 // KiB, per cluster
	stop          time.Duration
	restartActive time.Duration
	restartReady  time.Duration
	nodegroup     time.Duration
	idleNodes     int64
	idleCPWithNG  int64
	pods          []time.Duration
	scheduled     []time.Duration // created → PodScheduled, part of pods
	single        []time.Duration // one pod at a time: create → Ready
	podsTS        []time.Duration
	allReady      time.Duration
	raw           time.Duration // the peer: the same containers with docker run
	busyCP        int64
	busyNodes     int64
	containers    int
	deleteNG      time.Duration
	deleteCluster time.Duration
	notes         []string
}

func measure(o options, r *result, bin, k8sBin, work, dataDir string, stdout io.Writer) error {
	ctx := context.Background()
	startBerth := func(log string) (*benchenv.Server, error) {
		return benchenv.Start([]string{bin, "up", "--listen", "127.0.0.1:{port}", "--data-dir", dataDir, "--k8s-binary", k8sBin},
			[]string{"BERTH_LOG_LEVEL=warn"}, filepath.Join(work, log), "/_berth/health")
	}
	b, err := startBerth("berth-1.log")
	if err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			b.Stop()
		}
	}()
	client := eks.NewFromConfig(benchenv.SDKConfig(b.Endpoint(), 4))

	names := make([]string, o.clusters)
	for i := range names {
		names[i] = fmt.Sprintf("bench-%d", i)
		t0 := time.Now()
		if _, err := client.CreateCluster(ctx, &eks.CreateClusterInput{
			Name: aws.String(names[i]), RoleArn: aws.String(roleARN),
			ResourcesVpcConfig: &types.VpcConfigRequest{SubnetIds: []string{subnet}},
		}); err != nil {
			return err
		}
		if err := waitCluster(ctx, client, names[i], 5*time.Minute); err != nil {
			return err
		}
		r.create = append(r.create, time.Since(t0))
		fmt.Fprintf(stdout, "cluster %s: CreateCluster → ACTIVE %s\n", names[i], secs(r.create[i]))
	}
	// Idle: after the start's own work (RBAC apply, controllers' first
	// sync) has settled.
	time.Sleep(15 * time.Second)
	for _, n := range names {
		r.idleCP = append(r.idleCP, rss(readPid(filepath.Join(clusterDir(dataDir, n), "berth-k8s.pid"))))
	}
	fmt.Fprintf(stdout, "idle control plane RSS (KiB): %v\n", r.idleCP)

	// A graceful restart stops every control plane; the next Berth starts
	// them again, so this is the time a user waits after restarting Berth.
	t0 := time.Now()
	b.Stop()
	r.stop = time.Since(t0)
	t0 = time.Now()
	if b, err = startBerth("berth-2.log"); err != nil {
		stopped = true
		return err
	}
	client = eks.NewFromConfig(benchenv.SDKConfig(b.Endpoint(), 4))
	for _, n := range names {
		if err := waitCluster(ctx, client, n, 5*time.Minute); err != nil {
			return err
		}
	}
	r.restartActive = time.Since(t0)
	for _, n := range names {
		kc, err := kubeClient(dataDir, n, filepath.Join(filepath.Dir(k8sBin), "kubectl"))
		if err != nil {
			return err
		}
		if err := kc.waitReady(ctx, 5*time.Minute); err != nil {
			return fmt.Errorf("cluster %s after restart: %w", n, err)
		}
	}
	r.restartReady = time.Since(t0)
	fmt.Fprintf(stdout, "restart: stop %s, all ACTIVE %s, all /readyz %s\n", secs(r.stop), secs(r.restartActive), secs(r.restartReady))

	// Only the first cluster runs pods; the others would only add load.
	for _, n := range names[1:] {
		if _, err := client.DeleteCluster(ctx, &eks.DeleteClusterInput{Name: aws.String(n)}); err != nil {
			return err
		}
	}
	for _, n := range names[1:] {
		if err := waitClusterGone(ctx, client, n); err != nil {
			return err
		}
	}

	cluster := names[0]
	t0 = time.Now()
	if _, err := client.CreateNodegroup(ctx, &eks.CreateNodegroupInput{
		ClusterName: aws.String(cluster), NodegroupName: aws.String("workers"), NodeRole: aws.String(roleARN),
		Subnets:       []string{subnet},
		ScalingConfig: &types.NodegroupScalingConfig{MinSize: aws.Int32(1), MaxSize: aws.Int32(int32(o.nodes)), DesiredSize: aws.Int32(int32(o.nodes))},
	}); err != nil {
		return err
	}
	if err := poll(ctx, 5*time.Minute, func() (bool, error) {
		out, err := client.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String(cluster), NodegroupName: aws.String("workers")})
		if err != nil {
			return false, err
		}
		if out.Nodegroup.Status == types.NodegroupStatusCreateFailed {
			return false, fmt.Errorf("node group: %+v", out.Nodegroup.Health)
		}
		return out.Nodegroup.Status == types.NodegroupStatusActive, nil
	}); err != nil {
		return err
	}
	r.nodegroup = time.Since(t0)
	fmt.Fprintf(stdout, "node group of %d: CreateNodegroup → ACTIVE %s\n", o.nodes, secs(r.nodegroup))

	cdir := clusterDir(dataDir, cluster)
	cpPid := readPid(filepath.Join(cdir, "berth-k8s.pid"))
	nodesPid := readPid(filepath.Join(cdir, "nodegroups", "workers", "nodes.pid"))
	time.Sleep(10 * time.Second)
	r.idleCPWithNG, r.idleNodes = rss(cpPid), rss(nodesPid)

	kc, err := kubeClient(dataDir, cluster, filepath.Join(filepath.Dir(k8sBin), "kubectl"))
	if err != nil {
		return err
	}
	if err := singlePods(ctx, o, r, kc, stdout); err != nil {
		return err
	}
	if err := podRows(ctx, o, r, kc, stdout); err != nil {
		return err
	}
	r.busyCP, r.busyNodes = rss(cpPid), rss(nodesPid)
	label := clusterLabel(nodesPid)
	r.containers = countContainers(label)
	fmt.Fprintf(stdout, "RSS with pods (KiB): control plane %d, nodes %d; %d containers\n", r.busyCP, r.busyNodes, r.containers)

	t0 = time.Now()
	if _, err := client.DeleteNodegroup(ctx, &eks.DeleteNodegroupInput{ClusterName: aws.String(cluster), NodegroupName: aws.String("workers")}); err != nil {
		return err
	}
	if err := poll(ctx, 10*time.Minute, func() (bool, error) {
		_, err := client.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String(cluster), NodegroupName: aws.String("workers")})
		var nf *types.ResourceNotFoundException
		return errors.As(err, &nf), nil
	}); err != nil {
		return err
	}
	r.deleteNG = time.Since(t0)
	t0 = time.Now()
	if _, err := client.DeleteCluster(ctx, &eks.DeleteClusterInput{Name: aws.String(cluster)}); err != nil {
		return err
	}
	if err := waitClusterGone(ctx, client, cluster); err != nil {
		return err
	}
	r.deleteCluster = time.Since(t0)
	if n := countContainers(label); n != 0 {
		r.notes = append(r.notes, fmt.Sprintf("%d pod containers were left after DeleteNodegroup and removed by the bench", n))
	}
	fmt.Fprintf(stdout, "DeleteNodegroup %s (%d pods), DeleteCluster %s\n", secs(r.deleteNG), len(r.pods), secs(r.deleteCluster))
	return nil
}

// singlePods starts bare pods one after the other, each once the last is
// Ready, so that a pod's own start is seen apart from the queue a burst
// builds up. Latency is from the create request to a GET showing Ready
// (polled every 50 ms).
func singlePods(ctx context.Context, o options, r *result, kc *kubeAPI, stdout io.Writer) error {
	for i := 0; i < o.single; i++ {
		podName := fmt.Sprintf("bench-single-%d", i)
		pod := map[string]any{
			"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{"name": podName, "labels": map[string]string{"app": "bench-single"}},
			"spec": map[string]any{
				"terminationGracePeriodSeconds": 0,
				"containers":                    []map[string]any{{"name": "app", "image": appImage, "imagePullPolicy": "IfNotPresent", "args": []string{"serve"}}},
			},
		}
		body, _ := json.Marshal(pod)
		t0 := time.Now()
		resp, err := kc.do(ctx, "POST", "/api/v1/namespaces/default/pods", body)
		if err != nil {
			return err
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			return fmt.Errorf("create pod: %s: %s", resp.Status, data)
		}
		if err := poll(ctx, 2*time.Minute, func() (bool, error) {
			resp, err := kc.do(ctx, "GET", "/api/v1/namespaces/default/pods/"+podName, nil)
			if err != nil {
				return false, err
			}
			defer resp.Body.Close()
			var p struct {
				Status struct {
					Conditions []struct{ Type, Status string }
				}
			}
			if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
				return false, err
			}
			return slices.ContainsFunc(p.Status.Conditions, func(c struct{ Type, Status string }) bool {
				return c.Type == "Ready" && c.Status == "True"
			}), nil
		}); err != nil {
			return fmt.Errorf("pod %s: %w", podName, err)
		}
		r.single = append(r.single, time.Since(t0))
		resp, err = kc.do(ctx, "DELETE", "/api/v1/namespaces/default/pods/"+podName+"?gracePeriodSeconds=0", nil)
		if err != nil {
			return err
		}
		resp.Body.Close()
	}
	fmt.Fprintf(stdout, "%d pods one at a time: p50 %s, max %s\n", len(r.single), secs(median(r.single)), secs(benchenv.Percentile(r.single, 1)))
	return nil
}

// podRows starts a Deployment of o.pods replicas and times each pod from
// the watch event showing it created to the one showing it Ready.
func podRows(ctx context.Context, o options, r *result, kc *kubeAPI, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	resp, err := kc.do(ctx, "GET", "/api/v1/namespaces/default/pods?watch=1&labelSelector=app%3Dbench-pods", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		data, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("watch pods: %s: %s", resp.Status, data)
	}
	type podTimes struct {
		seen, scheduled, ready time.Time
		created, readyStamped  time.Time
	}
	pods := map[string]*podTimes{}
	events := make(chan error, 1)
	var mu sync.Mutex
	allReady := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		closed := false
		for sc.Scan() {
			now := time.Now()
			var ev struct {
				Type   string
				Object struct {
					Metadata struct {
						Name              string
						CreationTimestamp time.Time
					}
					Status struct {
						Conditions []struct {
							Type, Status       string
							LastTransitionTime time.Time
						}
					}
				}
			}
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				events <- err
				return
			}
			mu.Lock()
			p := pods[ev.Object.Metadata.Name]
			if p == nil {
				p = &podTimes{seen: now, created: ev.Object.Metadata.CreationTimestamp}
				pods[ev.Object.Metadata.Name] = p
			}
			for _, c := range ev.Object.Status.Conditions {
				if c.Type == "PodScheduled" && c.Status == "True" && p.scheduled.IsZero() {
					p.scheduled = now
				}
				if c.Type == "Ready" && c.Status == "True" && p.ready.IsZero() {
					p.ready, p.readyStamped = now, c.LastTransitionTime
				}
			}
			ready := 0
			for _, p := range pods {
				if !p.ready.IsZero() {
					ready++
				}
			}
			mu.Unlock()
			if ready >= o.pods && !closed {
				closed = true
				close(allReady)
			}
		}
		events <- sc.Err()
	}()

	deployment := map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "bench-pods"},
		"spec": map[string]any{
			"replicas": o.pods,
			"selector": map[string]any{"matchLabels": map[string]string{"app": "bench-pods"}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]string{"app": "bench-pods"}},
				"spec": map[string]any{
					"terminationGracePeriodSeconds": 0,
					"containers": []map[string]any{{
						"name": "app", "image": appImage, "imagePullPolicy": "IfNotPresent", "args": []string{"serve"},
					}},
				},
			},
		},
	}
	body, _ := json.Marshal(deployment)
	t0 := time.Now()
	cr, err := kc.do(ctx, "POST", "/apis/apps/v1/namespaces/default/deployments", body)
	if err != nil {
		return err
	}
	data, _ := io.ReadAll(cr.Body)
	cr.Body.Close()
	if cr.StatusCode != 201 {
		return fmt.Errorf("create Deployment: %s: %s", cr.Status, data)
	}
	progress := time.NewTicker(10 * time.Second)
	defer progress.Stop()
wait:
	for {
		select {
		case <-allReady:
			break wait
		case err := <-events:
			return fmt.Errorf("pod watch ended: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("%d pods not Ready in time", o.pods)
		case <-progress.C:
			mu.Lock()
			ready := 0
			for _, p := range pods {
				if !p.ready.IsZero() {
					ready++
				}
			}
			fmt.Fprintf(stdout, "pods: %d seen, %d Ready after %s\n", len(pods), ready, secs(time.Since(t0)))
			mu.Unlock()
		}
	}
	r.allReady = time.Since(t0)
	mu.Lock()
	defer mu.Unlock()
	for _, p := range pods {
		if p.ready.IsZero() {
			continue
		}
		r.pods = append(r.pods, p.ready.Sub(p.seen))
		if !p.scheduled.IsZero() {
			r.scheduled = append(r.scheduled, p.scheduled.Sub(p.seen))
		}
		r.podsTS = append(r.podsTS, p.readyStamped.Sub(p.created))
	}
	fmt.Fprintf(stdout, "%d pods Ready in %s: p50 %s, p99 %s\n", len(r.pods), secs(r.allReady),
		secs(benchenv.Percentile(r.pods, .5)), secs(benchenv.Percentile(r.pods, .99)))
	return nil
}

func (r *result) report() string {
	var b strings.Builder
	o := r.o
	fmt.Fprintf(&b, "# EKS benchmark\n\nGenerated by `go run ./bench/eks%s` on %s. %s Load average at end %s.\n\n",
		map[bool]string{true: " -quick", false: ""}[o.quick], r.at.Format("2006-01-02 15:04 UTC"), r.machine, r.endLoad)
	b.WriteString("The machine is shared: other engineers' builds, tests and a CI run were using its 2 cores during the run, so these are upper bounds for an idle machine.\n\n")

	fmt.Fprintf(&b, "## Cluster start\n\nCreateCluster → ACTIVE in DescribeCluster (polled every 100 ms): a berth-k8s control plane (kube-apiserver, controller manager, scheduler, kine on SQLite) generating its PKI and starting on an empty data dir. %d cluster(s), one after the other.\n\n", o.clusters)
	b.WriteString("| Measure | Berth | Peer (not measured here) |\n|---|--:|---|\n")
	fmt.Fprintf(&b, "| CreateCluster → ACTIVE, median of %d | %s s | LocalStack (k3d-based EKS) waits up to 180 s; a k3d cluster takes about 6 s |\n", len(r.create), secs(median(r.create)))
	fmt.Fprintf(&b, "| CreateCluster → ACTIVE, each | %s s | |\n", joinSecs(r.create))
	fmt.Fprintf(&b, "| Graceful Berth stop (stops %d control plane(s)) | %s s | |\n", len(r.create), secs(r.stop))
	fmt.Fprintf(&b, "| Berth restart → all %d cluster(s) ACTIVE in DescribeCluster | %s s | |\n", len(r.create), secs(r.restartActive))
	fmt.Fprintf(&b, "| Berth restart → all %d API server(s) answer /readyz | %s s | |\n\n", len(r.create), secs(r.restartReady))
	b.WriteString("The peer figures are the issue's published references: k3d and kind are not installed on this machine and there is no registry to fetch them from.\n\n")

	fmt.Fprintf(&b, "## Pod start latency\n\nA node group of %d nodes (one `berth-k8s nodes` process; CreateNodegroup → ACTIVE with every Node Ready took %s s), then a Deployment of %d replicas of the test app, whose image is already in the Docker engine (`imagePullPolicy: IfNotPresent`, no probes). "+
		"Each pod's latency is from the watch event that shows it created to the one that shows it Ready, timed by the bench's clock; Kubernetes' SLO is p99 ≤ 5 s excluding image pulls. "+
		"The second-granular API timestamps (creationTimestamp to the Ready condition's lastTransitionTime) are shown as a cross-check.\n\n", o.nodes, secs(r.nodegroup), o.pods)
	b.WriteString("| Measure | Watch-timed | of which created → scheduled | API timestamps | SLO |\n|---|--:|--:|--:|--:|\n")
	for _, p := range []struct {
		label string
		q     float64
	}{{"p50", .5}, {"p90", .9}, {"p99", .99}, {"max", 1}} {
		slo := ""
		if p.label == "p99" {
			verdict := "met"
			if benchenv.Percentile(r.pods, p.q) > 5*time.Second {
				verdict = "**missed**"
			}
			slo = "≤ 5 s: " + verdict
		}
		fmt.Fprintf(&b, "| %s of %d pods | %s s | %s s | %s s | %s |\n", p.label, len(r.pods), secs(benchenv.Percentile(r.pods, p.q)),
			secs(benchenv.Percentile(r.scheduled, p.q)), secs(benchenv.Percentile(r.podsTS, p.q)), slo)
	}
	fmt.Fprintf(&b, "| Deployment created → all %d pods Ready | %s s | | | |\n", o.pods, secs(r.allReady))
	if r.raw > 0 {
		fmt.Fprintf(&b, "| Peer: raw Docker, the same %d containers (%d `berth/pause` sandboxes + app containers in their network namespace, `docker run -d`, %d at a time) | %s s | | | Berth / raw: **%.2f×** |\n",
			2*o.pods, o.pods, rawWorkers, secs(r.raw), r.allReady.Seconds()/r.raw.Seconds())
	}
	fmt.Fprintf(&b, "| One pod at a time (bare pods, create request → Ready in a GET polled every 50 ms), p50 of %d | %s s | | | |\n", len(r.single), secs(median(r.single)))
	fmt.Fprintf(&b, "| One pod at a time, max of %d | %s s | | | |\n\n", len(r.single), secs(benchenv.Percentile(r.single, 1)))

	b.WriteString("## Memory per cluster\n\nVmRSS from /proc/<pid>/status. The control plane runs with GOGC=50 as Berth starts it.\n\n")
	b.WriteString("| Process | Idle | With the pods |\n|---|--:|--:|\n")
	var idle []string
	for _, k := range r.idleCP {
		idle = append(idle, mib(k))
	}
	fmt.Fprintf(&b, "| berth-k8s control plane, no node group, 15 s after ACTIVE (each cluster) | %s MiB | |\n", strings.Join(idle, ", "))
	fmt.Fprintf(&b, "| berth-k8s control plane, with the node group | %s MiB | %s MiB |\n", mib(r.idleCPWithNG), mib(r.busyCP))
	fmt.Fprintf(&b, "| berth-k8s nodes (%d nodes) | %s MiB | %s MiB |\n", o.nodes, mib(r.idleNodes), mib(r.busyNodes))
	fmt.Fprintf(&b, "| Total per cluster | %s MiB | %s MiB |\n\n", mib(r.idleCPWithNG+r.idleNodes), mib(r.busyCP+r.busyNodes))
	fmt.Fprintf(&b, "With the pods the cluster had %d containers in Docker (pods and their sandboxes), not counted above. Teardown: DeleteNodegroup → gone %s s, DeleteCluster → gone %s s.\n", r.containers, secs(r.deleteNG), secs(r.deleteCluster))
	for _, n := range r.notes {
		fmt.Fprintf(&b, "\nNote: %s.\n", n)
	}
	return b.String()
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) }

func mib(kib int64) string { return strconv.FormatFloat(float64(kib)/1024, 'f', 0, 64) }

func joinSecs(d []time.Duration) string {
	var s []string
	for _, x := range d {
		s = append(s, secs(x))
	}
	return strings.Join(s, ", ")
}

func median(d []time.Duration) time.Duration { return benchenv.Percentile(d, .5) }

func loadavg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	return strings.Join(f[:min(3, len(f))], " ")
}

// buildK8s runs k8s/build.sh into work; it shares Go's build cache, so it
// takes seconds when the tests have built it before.
func buildK8s(work string) (string, error) {
	root, err := benchenv.RepoRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(work, "k8s")
	cmd := exec.Command("bash", filepath.Join(root, "k8s", "build.sh"), out)
	cmd.Dir = root
	if data, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("k8s/build.sh: %v\n%s", err, data)
	}
	return filepath.Join(out, "berth-k8s"), nil
}

// loadImage puts the test app into Docker under appImage, so pod starts
// measure no pull.
func loadImage(work string) error {
	img, err := benchenv.TestImage(work)
	if err != nil {
		return err
	}
	tag, err := name.NewTag(appImage)
	if err != nil {
		return err
	}
	path := filepath.Join(work, "app.tar")
	if err := tarball.WriteToFile(path, tag, img); err != nil {
		return err
	}
	if out, err := exec.Command("docker", "load", "-i", path).CombinedOutput(); err != nil {
		return fmt.Errorf("docker load: %v: %s", err, out)
	}
	return nil
}

func poll(ctx context.Context, timeout time.Duration, done func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done within %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func waitCluster(ctx context.Context, client *eks.Client, n string, timeout time.Duration) error {
	return poll(ctx, timeout, func() (bool, error) {
		out, err := client.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(n)})
		if err != nil {
			return false, err
		}
		if out.Cluster.Status == types.ClusterStatusFailed {
			return false, fmt.Errorf("cluster %s FAILED: %+v", n, out.Cluster.Health)
		}
		return out.Cluster.Status == types.ClusterStatusActive, nil
	})
}

func waitClusterGone(ctx context.Context, client *eks.Client, n string) error {
	return poll(ctx, 5*time.Minute, func() (bool, error) {
		_, err := client.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(n)})
		var nf *types.ResourceNotFoundException
		return errors.As(err, &nf), nil
	})
}

// clusterDir is where eks/k8sproc keeps a cluster of the default account
// and region (docs/eks.md, "A cluster's directory").
func clusterDir(dataDir, cluster string) string {
	return filepath.Join(dataDir, "eks", "000000000000", "us-east-1", cluster)
}

func readPid(path string) int {
	data, _ := os.ReadFile(path)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid
}

// rss is a process's VmRSS in KiB, 0 when it is gone.
func rss(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

func cmdline(pid int) []string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
}

// clusterLabel is the nodes process's --cluster, the value of the
// berth.k8s.cluster label on its pods' containers.
func clusterLabel(nodesPid int) string {
	for _, a := range cmdline(nodesPid) {
		if v, ok := strings.CutPrefix(a, "--cluster="); ok {
			return v
		}
	}
	return ""
}

func containerIDs(label string) []string {
	if label == "" {
		return nil
	}
	out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=berth.k8s.cluster="+label).Output()
	return strings.Fields(string(out))
}

func countContainers(label string) int { return len(containerIDs(label)) }

// reap kills what this run started under dataDir and Berth did not stop
// (after a failure): processes are matched by their own data dir, never
// by name, since other berth-k8s processes run on the machine.
func reap(dataDir string, stdout io.Writer) {
	entries, _ := os.ReadDir("/proc")
	var labels []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		args := cmdline(pid)
		if !slices.ContainsFunc(args, func(a string) bool {
			return strings.HasPrefix(a, "--data-dir="+dataDir+"/") || strings.HasPrefix(a, "--kubeconfig="+dataDir+"/")
		}) {
			continue
		}
		if l := clusterLabel(pid); l != "" {
			labels = append(labels, l)
		}
		fmt.Fprintf(stdout, "reaping pid %d left by the run\n", pid)
		syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, l := range labels {
		if ids := containerIDs(l); len(ids) > 0 {
			exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
		}
	}
}

// kubeAPI reaches a cluster's API server as its admin, with the client
// certificate berth-k8s writes into admin.kubeconfig.
type kubeAPI struct {
	server string
	client *http.Client
}

func kubeClient(dataDir, cluster, kubectl string) (*kubeAPI, error) {
	kubeconfig := filepath.Join(clusterDir(dataDir, cluster), "k8s", "admin.kubeconfig")
	// kubectl reads the kubeconfig so that the main module needs no YAML
	// or Kubernetes library.
	field := func(path string) (string, error) {
		out, err := exec.Command(kubectl, "--kubeconfig", kubeconfig, "config", "view", "--raw", "--minify", "--flatten", "-o", "jsonpath={"+path+"}").Output()
		if err != nil {
			return "", fmt.Errorf("kubectl config view %s: %v", path, err)
		}
		return string(out), nil
	}
	var vals [4]string
	for i, p := range []string{".clusters[0].cluster.server", ".clusters[0].cluster.certificate-authority-data", ".users[0].user.client-certificate-data", ".users[0].user.client-key-data"} {
		v, err := field(p)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	var pem [3][]byte
	for i := range pem {
		var err error
		if pem[i], err = base64.StdEncoding.DecodeString(vals[i+1]); err != nil {
			return nil, fmt.Errorf("%s: %v", kubeconfig, err)
		}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem[0]) {
		return nil, fmt.Errorf("%s: no CA certificate", kubeconfig)
	}
	cert, err := tls.X509KeyPair(pem[1], pem[2])
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}}
	return &kubeAPI{server: vals[0], client: &http.Client{Transport: tr}}, nil
}

func (k *kubeAPI) do(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, k.server+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return k.client.Do(req)
}

func (k *kubeAPI) waitReady(ctx context.Context, timeout time.Duration) error {
	return poll(ctx, timeout, func() (bool, error) {
		resp, err := k.do(ctx, "GET", "/readyz", nil)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == 200, nil
	})
}
