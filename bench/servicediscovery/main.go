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
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
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

func newClient(endpoint string, conc int) *benchenv.JSONClient {
	return benchenv.NewJSONClient(endpoint, "Route53AutoNaming_v20170314", "servicediscovery", conc, 2*time.Minute)
}

// target is one server under test, with its service's id.
type target struct {
	name      string
	client    *benchenv.JSONClient
	serviceID string
}

const namespace = "bench.local"

// setup makes the namespace (polling its operation) and the service.
func (t *target) setup(ctx context.Context) error {
	var op struct{ OperationId string }
	if err := t.client.Call(ctx, "CreatePrivateDnsNamespace", map[string]any{"Name": namespace, "Vpc": "vpc-bench"}, &op); err != nil {
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
		if err := t.client.Call(ctx, "GetOperation", map[string]any{"OperationId": op.OperationId}, &got); err != nil {
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
	err := t.client.Call(ctx, "CreateService", map[string]any{"Name": "web", "NamespaceId": nsID,
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
	pair, err := benchenv.StartPair("servicediscovery")
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
			return t.client.Call(ctx, "RegisterInstance", map[string]any{"ServiceId": t.serviceID, "InstanceId": fmt.Sprintf("i-%05d", i),
				"Attributes": map[string]string{"AWS_INSTANCE_IPV4": fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), "zone": zone(i)}}, nil)
		}},
		{"ListInstances, first page of 100", o.requests, func(t *target, i int) error {
			var out instances
			err := t.client.Call(ctx, "ListInstances", map[string]any{"ServiceId": t.serviceID, "MaxResults": 100}, &out)
			if err == nil && len(out.Instances) != min(100, o.instances) {
				return fmt.Errorf("ListInstances returned %d instances", len(out.Instances))
			}
			return err
		}},
		{fmt.Sprintf("DiscoverInstances, all %d", o.instances), o.requests, func(t *target, i int) error {
			var out instances
			err := t.client.Call(ctx, "DiscoverInstances", map[string]any{"NamespaceName": namespace, "ServiceName": "web", "MaxResults": 1000}, &out)
			if err == nil && len(out.Instances) != o.instances {
				return fmt.Errorf("DiscoverInstances returned %d instances", len(out.Instances))
			}
			return err
		}},
		{"DiscoverInstances, QueryParameters zone=a", o.requests, func(t *target, i int) error {
			var out instances
			err := t.client.Call(ctx, "DiscoverInstances", map[string]any{"NamespaceName": namespace, "ServiceName": "web",
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
		"one instance in four has zone=a. Ratio = Berth throughput / moto throughput.\n\n", pair.MotoVersion, o.conc, o.instances)
	report.WriteString(benchenv.RatioHeader)
	names := [2]string{targets[0].name, targets[1].name}
	for _, r := range rows {
		res, err := benchenv.MeasureBoth(stdout, names, r.label, r.requests, o.conc, func(s, n int) error { return r.op(targets[s], n) })
		if err != nil {
			return err
		}
		benchenv.RatioRow(&report, r.label, r.requests, res)
	}
	fmt.Fprintf(&report, "\nBerth writes each RegisterInstance (the instance, the service's count and revision, and the operation record) in one SQLite "+
		"transaction (synchronous=FULL); moto keeps everything in Python dicts in memory. DiscoverInstances reads the service's instances "+
		"through the resource area's (kind, account, region, id) key, the instance ids prefixed by the service id.\n")
	return benchenv.WriteReport(o.out, report.String(), stdout)
}
