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
	"strings"
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
	r := benchenv.Measure(services, conc, func(i int) error {
		return t.client.call(ctx, ecsTarget, "CreateService", map[string]any{"cluster": "bench", "serviceName": fmt.Sprintf("svc-%04d", i),
			"taskDefinition": "bench", "desiredCount": 0}, nil)
	})
	if r.Errors > 0 {
		return r.FirstErr
	}
	return nil
}

func run(o options, stdout io.Writer) error {
	if o.quick {
		o.services, o.requests = min(o.services, 20), min(o.requests, 50)
	}
	ctx := context.Background()
	pair, err := benchenv.StartPair("autoscaling")
	if err != nil {
		return err
	}
	defer pair.Stop()
	b, m := pair.Berth, pair.Moto

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
		pair.MotoVersion, o.conc, o.services)
	report.WriteString(benchenv.RatioHeader)
	names := [2]string{targets[0].name, targets[1].name}
	for _, r := range rows {
		res, err := benchenv.MeasureBoth(stdout, names, r.label, r.requests, o.conc, func(s, n int) error { return r.op(targets[s], n) })
		if err != nil {
			return err
		}
		benchenv.RatioRow(&report, r.label, r.requests, res)
	}
	fmt.Fprintf(&report, "\nBerth's RegisterScalableTarget asks ECS (in process) whether the service exists, then writes the target and its index "+
		"entry in one SQLite transaction (synchronous=FULL), then applies the range to the service's desired count; PutScalingPolicy "+
		"is one transaction. moto keeps everything in Python dicts in memory. DescribeScalableTargets reads the account's targets "+
		"through the resource area's (kind, account, region, id) key.\n")
	return benchenv.WriteReport(o.out, report.String(), stdout)
}
