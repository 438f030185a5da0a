// Command appautoscaling benchmarks Berth's Application Auto Scaling
// against moto_server (Python's moto) and writes a Markdown report:
//
//	go run ./bench/appautoscaling [-quick] [-out bench/results/autoscaling.md]
//
// Both servers get the same requests from the same plain awsJson1.1 HTTP
// client with -conc requests in flight. Setup (not measured) creates one
// ECS cluster, a task definition and -services services, which both
// servers check a scalable target against. Then:
//
//   - RegisterScalableTarget: one target per service (min 1, max 4);
//   - PutScalingPolicy: a target tracking policy on CPU per target;
//   - DescribeScalableTargets: the first page of 50.
//
// Throughput, p50 and p99 of each row, and the ratio Berth / moto. Berth
// runs with its ECS agent off (BERTH_AGENT=off). Needs moto_server on PATH.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchenv"
)

type options struct {
	quick    bool
	out      string
	services int
	requests int
	conc     int
}

func main() {
	var o options
	flag.IntVar(&o.services, "services", 200, "ECS services, one scalable target and policy each")
	flag.IntVar(&o.requests, "requests", 500, "requests of the read row")
	flag.IntVar(&o.conc, "conc", 4, "requests in flight")
	benchenv.Main("autoscaling", &o.quick, &o.out, func(stdout io.Writer) error { return run(o, stdout) })
}

// client calls an awsJson1.1 API with plain requests: target is the
// X-Amz-Target prefix, service the signing name.
type client struct {
	endpoint string
	hc       *http.Client
}

const (
	ecsTarget = "AmazonEC2ContainerServiceV20141113"
	aasTarget = "AnyScaleFrontendService"
)

func newClient(endpoint string, conc int) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conc * 2
	return &client{endpoint: endpoint, hc: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}
}

func (c *client) call(ctx context.Context, target, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target+"."+op)
	service := "application-autoscaling"
	if target == ecsTarget {
		service = "ecs"
	}
	req.Header.Set("X-Amz-Date", now.Format("20060102T150405Z"))
	// Neither server checks signatures here; the header names the key and
	// region.
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/"+now.Format("20060102")+
		"/us-east-1/"+service+"/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="+strings.Repeat("0", 64))
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d: %.300s", op, resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// result is one row of one server.
type result struct {
	perSec   float64
	p50, p99 time.Duration
	errors   int64
	firstErr error
}

// measure runs op requests times with conc in flight.
func measure(requests, conc int, op func(i int) error) result {
	var lat []time.Duration
	var mu sync.Mutex
	var next, errs atomic.Int64
	var firstErr error
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for {
				i := int(next.Add(1)) - 1
				if i >= requests {
					break
				}
				s := time.Now()
				if err := op(i); err != nil && errs.Add(1) == 1 {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
				mine = append(mine, time.Since(s))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	wall := time.Since(t0)
	return result{perSec: float64(requests) / wall.Seconds(), p50: benchenv.Percentile(lat, .5), p99: benchenv.Percentile(lat, .99), errors: errs.Load(), firstErr: firstErr}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

// target is one server under test.
type target struct {
	name   string
	client *client
}

func resourceID(i int) string { return fmt.Sprintf("service/bench/svc-%04d", i) }

// setup makes the cluster, the task definition and the services.
func (t *target) setup(ctx context.Context, services, conc int) error {
	if err := t.client.call(ctx, ecsTarget, "CreateCluster", map[string]any{"clusterName": "bench"}, nil); err != nil {
		return err
	}
	if err := t.client.call(ctx, ecsTarget, "RegisterTaskDefinition", map[string]any{"family": "bench",
		"containerDefinitions": []any{map[string]any{"name": "app", "image": "nginx", "memory": 64}}}, nil); err != nil {
		return err
	}
	r := measure(services, conc, func(i int) error {
		return t.client.call(ctx, ecsTarget, "CreateService", map[string]any{"cluster": "bench", "serviceName": fmt.Sprintf("svc-%04d", i),
			"taskDefinition": "bench", "desiredCount": 0}, nil)
	})
	if r.errors > 0 {
		return r.firstErr
	}
	return nil
}

func run(o options, stdout io.Writer) error {
	if o.quick {
		o.services, o.requests = min(o.services, 20), min(o.requests, 50)
	}
	ctx := context.Background()
	motoBin, err := exec.LookPath("moto_server")
	if err != nil {
		return fmt.Errorf("moto_server is not on PATH: %w", err)
	}
	work, err := os.MkdirTemp("", "bench-autoscaling-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin, err := benchenv.BuildBerth(work)
	if err != nil {
		return err
	}
	b, err := benchenv.Start([]string{bin, "up", "--listen", "127.0.0.1:{port}", "--data-dir", filepath.Join(work, "data")},
		[]string{"BERTH_AGENT=off", "BERTH_LOG_LEVEL=warn"}, filepath.Join(work, "berth.log"), "/_berth/health")
	if err != nil {
		return err
	}
	defer b.Stop()
	m, err := benchenv.Start([]string{motoBin, "-p", "{port}"}, nil, filepath.Join(work, "moto.log"), "/")
	if err != nil {
		return err
	}
	defer m.Stop()
	mv, _ := exec.Command("python3", "-c", "import moto; print(moto.__version__)").Output()

	targets := []*target{
		{name: "Berth", client: newClient(b.Endpoint(), o.conc)},
		{name: "moto_server", client: newClient(m.Endpoint(), o.conc)},
	}
	for _, t := range targets {
		if err := t.setup(ctx, o.services, o.conc); err != nil {
			return fmt.Errorf("%s: setup: %w", t.name, err)
		}
	}
	dim := "ecs:service:DesiredCount"
	rows := []struct {
		label    string
		requests int
		op       func(t *target, i int) error
	}{
		{"RegisterScalableTarget", o.services, func(t *target, i int) error {
			return t.client.call(ctx, aasTarget, "RegisterScalableTarget", map[string]any{"ServiceNamespace": "ecs", "ResourceId": resourceID(i),
				"ScalableDimension": dim, "MinCapacity": 0, "MaxCapacity": 4}, nil)
		}},
		{"PutScalingPolicy, target tracking on CPU", o.services, func(t *target, i int) error {
			var out struct{ PolicyARN string }
			err := t.client.call(ctx, aasTarget, "PutScalingPolicy", map[string]any{"ServiceNamespace": "ecs", "ResourceId": resourceID(i),
				"ScalableDimension": dim, "PolicyName": "cpu50", "PolicyType": "TargetTrackingScaling",
				"TargetTrackingScalingPolicyConfiguration": map[string]any{"TargetValue": 50.0,
					"PredefinedMetricSpecification": map[string]any{"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}}, &out)
			if err == nil && out.PolicyARN == "" {
				return fmt.Errorf("PutScalingPolicy answered no PolicyARN")
			}
			return err
		}},
		{"DescribeScalableTargets, first page of 50", o.requests, func(t *target, i int) error {
			var out struct{ ScalableTargets []any }
			err := t.client.call(ctx, aasTarget, "DescribeScalableTargets", map[string]any{"ServiceNamespace": "ecs", "MaxResults": 50}, &out)
			if err == nil && len(out.ScalableTargets) != min(50, o.services) {
				return fmt.Errorf("DescribeScalableTargets returned %d targets", len(out.ScalableTargets))
			}
			return err
		}},
	}

	var report strings.Builder
	fmt.Fprintf(&report, "# Application Auto Scaling benchmark\n\nGenerated by `go run ./bench/appautoscaling` on %s. %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), benchenv.Machine())
	fmt.Fprintf(&report, "Berth (SQLite store, agent off) against moto_server %s, both driven by the same plain awsJson1.1 HTTP client with %d requests in flight. "+
		"Setup (not measured) creates %d ECS services (desired count 0); the RegisterScalableTarget row registers one target per service, "+
		"PutScalingPolicy puts one target tracking policy per target, and the read row pages through them. Ratio = Berth throughput / moto throughput.\n\n",
		strings.TrimSpace(string(mv)), o.conc, o.services)
	fmt.Fprintf(&report, "| Operation | Requests | Berth req/s | Berth p50 ms | Berth p99 ms | moto req/s | moto p50 ms | moto p99 ms | Ratio |\n")
	fmt.Fprintf(&report, "|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range rows {
		var res [2]result
		for i, t := range targets {
			res[i] = measure(r.requests, o.conc, func(n int) error { return r.op(t, n) })
			if res[i].errors > 0 {
				return fmt.Errorf("%s: %s: %d of %d requests failed, the first with: %v", t.name, r.label, res[i].errors, r.requests, res[i].firstErr)
			}
			fmt.Fprintf(stdout, "%s %s: %.1f req/s p50 %s p99 %s\n", t.name, r.label, res[i].perSec, ms(res[i].p50), ms(res[i].p99))
		}
		ratio := res[0].perSec / res[1].perSec
		rf := "%.0f"
		if ratio < 10 {
			rf = "%.1f"
		}
		fmt.Fprintf(&report, "| %s | %d | %.1f | %s | %s | %.1f | %s | %s | **"+rf+"×** |\n", r.label, r.requests,
			res[0].perSec, ms(res[0].p50), ms(res[0].p99), res[1].perSec, ms(res[1].p50), ms(res[1].p99), ratio)
	}
	fmt.Fprintf(&report, "\nBerth's RegisterScalableTarget asks ECS (in process) whether the service exists, then writes the target and its index "+
		"entry in one SQLite transaction (synchronous=FULL), then applies the range to the service's desired count; PutScalingPolicy "+
		"is one transaction. moto keeps everything in Python dicts in memory. DescribeScalableTargets reads the account's targets "+
		"through the resource area's (kind, account, region, id) key.\n")
	return benchenv.WriteReport(o.out, report.String(), stdout)
}
