// Command servicediscovery benchmarks Berth's AWS Cloud Map against
// moto_server (Python's moto) and writes a Markdown report:
//
//	go run ./bench/servicediscovery [-quick] [-out bench/results/servicediscovery.md]
//
// Both servers get the same requests from the same plain awsJson1.1 HTTP
// client with -conc requests in flight, in a private DNS namespace with
// one service (an A record):
//
//   - RegisterInstance: -instances instances, each with an IPv4 address
//     and a zone attribute (one zone in four is "a");
//   - ListInstances: the first page of 100;
//   - DiscoverInstances: every healthy instance (up to 1000);
//   - DiscoverInstances with QueryParameters zone=a.
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
	quick     bool
	out       string
	instances int
	requests  int
	conc      int
}

func main() {
	var o options
	flag.IntVar(&o.instances, "instances", 500, "instances registered (the RegisterInstance row)")
	flag.IntVar(&o.requests, "requests", 500, "requests of the read rows")
	flag.IntVar(&o.conc, "conc", 4, "requests in flight")
	benchenv.Main("servicediscovery", &o.quick, &o.out, func(stdout io.Writer) error { return run(o, stdout) })
}

// client calls the Cloud Map API with plain awsJson1.1 requests.
type client struct {
	endpoint string
	hc       *http.Client
}

func newClient(endpoint string, conc int) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conc * 2
	return &client{endpoint: endpoint, hc: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}
}

func (c *client) call(ctx context.Context, op string, in, out any) error {
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
	req.Header.Set("X-Amz-Target", "Route53AutoNaming_v20170314."+op)
	req.Header.Set("X-Amz-Date", now.Format("20060102T150405Z"))
	// Neither server checks signatures here; the header names the key and
	// region.
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/"+now.Format("20060102")+
		"/us-east-1/servicediscovery/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="+strings.Repeat("0", 64))
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

// target is one server under test, with its service's id.
type target struct {
	name      string
	client    *client
	serviceID string
}

const namespace = "bench.local"

// setup makes the namespace (polling its operation) and the service.
func (t *target) setup(ctx context.Context) error {
	var op struct{ OperationId string }
	if err := t.client.call(ctx, "CreatePrivateDnsNamespace", map[string]any{"Name": namespace, "Vpc": "vpc-bench"}, &op); err != nil {
		return err
	}
	var nsID string
	for i := 0; nsID == ""; i++ {
		var got struct {
			Operation struct {
				Status  string
				Targets map[string]string
			}
		}
		if err := t.client.call(ctx, "GetOperation", map[string]any{"OperationId": op.OperationId}, &got); err != nil {
			return err
		}
		if got.Operation.Status == "SUCCESS" {
			nsID = got.Operation.Targets["NAMESPACE"]
		} else if i > 100 {
			return fmt.Errorf("namespace operation is %s", got.Operation.Status)
		} else {
			time.Sleep(100 * time.Millisecond)
		}
	}
	var svc struct{ Service struct{ Id string } }
	err := t.client.call(ctx, "CreateService", map[string]any{"Name": "web", "NamespaceId": nsID,
		"DnsConfig": map[string]any{"RoutingPolicy": "MULTIVALUE", "DnsRecords": []any{map[string]any{"Type": "A", "TTL": 10}}}}, &svc)
	t.serviceID = svc.Service.Id
	return err
}

func zone(i int) string { return string(rune('a' + i%4)) }

func run(o options, stdout io.Writer) error {
	if o.quick {
		o.instances, o.requests = min(o.instances, 100), min(o.requests, 50)
	}
	ctx := context.Background()
	motoBin, err := exec.LookPath("moto_server")
	if err != nil {
		return fmt.Errorf("moto_server is not on PATH: %w", err)
	}
	work, err := os.MkdirTemp("", "bench-servicediscovery-")
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
		if err := t.setup(ctx); err != nil {
			return fmt.Errorf("%s: setup: %w", t.name, err)
		}
	}
	type instances struct {
		Instances []struct {
			Id         string
			Attributes map[string]string
		}
	}
	rows := []struct {
		label    string
		requests int
		op       func(t *target, i int) error
	}{
		{"RegisterInstance", o.instances, func(t *target, i int) error {
			return t.client.call(ctx, "RegisterInstance", map[string]any{"ServiceId": t.serviceID, "InstanceId": fmt.Sprintf("i-%05d", i),
				"Attributes": map[string]string{"AWS_INSTANCE_IPV4": fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), "zone": zone(i)}}, nil)
		}},
		{"ListInstances, first page of 100", o.requests, func(t *target, i int) error {
			var out instances
			err := t.client.call(ctx, "ListInstances", map[string]any{"ServiceId": t.serviceID, "MaxResults": 100}, &out)
			if err == nil && len(out.Instances) != min(100, o.instances) {
				return fmt.Errorf("ListInstances returned %d instances", len(out.Instances))
			}
			return err
		}},
		{fmt.Sprintf("DiscoverInstances, all %d", o.instances), o.requests, func(t *target, i int) error {
			var out instances
			err := t.client.call(ctx, "DiscoverInstances", map[string]any{"NamespaceName": namespace, "ServiceName": "web", "MaxResults": 1000}, &out)
			if err == nil && len(out.Instances) != o.instances {
				return fmt.Errorf("DiscoverInstances returned %d instances", len(out.Instances))
			}
			return err
		}},
		{"DiscoverInstances, QueryParameters zone=a", o.requests, func(t *target, i int) error {
			var out instances
			err := t.client.call(ctx, "DiscoverInstances", map[string]any{"NamespaceName": namespace, "ServiceName": "web",
				"MaxResults": 1000, "QueryParameters": map[string]string{"zone": "a"}}, &out)
			if err != nil {
				return err
			}
			if len(out.Instances) != (o.instances+3)/4 {
				return fmt.Errorf("DiscoverInstances zone=a returned %d instances", len(out.Instances))
			}
			for _, in := range out.Instances {
				if in.Attributes["zone"] != "a" {
					return fmt.Errorf("DiscoverInstances zone=a returned %v", in.Attributes)
				}
			}
			return nil
		}},
	}

	var report strings.Builder
	fmt.Fprintf(&report, "# AWS Cloud Map benchmark\n\nGenerated by `go run ./bench/servicediscovery` on %s. %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), benchenv.Machine())
	fmt.Fprintf(&report, "Berth (SQLite store, agent off) against moto_server %s, both driven by the same plain awsJson1.1 HTTP client with %d requests in flight, "+
		"in one private DNS namespace with one service (an A record). The RegisterInstance row registers the %d instances the read rows then read; "+
		"one instance in four has zone=a. Ratio = Berth throughput / moto throughput.\n\n", strings.TrimSpace(string(mv)), o.conc, o.instances)
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
	fmt.Fprintf(&report, "\nBerth writes each RegisterInstance (the instance, the service's count and revision, and the operation record) in one SQLite "+
		"transaction (synchronous=FULL); moto keeps everything in Python dicts in memory. DiscoverInstances reads the service's instances "+
		"through the resource area's (kind, account, region, id) key, the instance ids prefixed by the service id.\n")
	return benchenv.WriteReport(o.out, report.String(), stdout)
}
