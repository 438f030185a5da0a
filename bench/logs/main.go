// Command logs benchmarks Berth's CloudWatch Logs against moto_server
// (Python's moto) and writes a Markdown report:
//
//	go run ./bench/logs [-quick] [-out bench/results/logs.md]
//
// Both servers get the same requests from the same plain awsJson1.1 HTTP
// client with -conc requests in flight:
//
//   - PutLogEvents: -batches batches of -batch events (one stream per
//     worker, timestamps ascending), which also fill the group for the
//     read rows;
//   - GetLogEvents: the newest 100 events of a stream;
//   - FilterLogEvents: the first page of at most 100 events matching the
//     term pattern ERROR (one event in ten) over the whole group;
//   - Logs Insights: StartQuery of a filter/sort/limit query over the
//     group, then GetQueryResults every 10 ms until Complete.
//
// Throughput, p50 and p99 of each row, and the ratio Berth / moto. Berth
// runs with its ECS agent off (BERTH_AGENT=off): the logs API is all it
// serves. Needs moto_server on PATH.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchenv"
)

type options struct {
	quick    bool
	out      string
	batches  int
	batch    int
	requests int
	queries  int
	conc     int
}

func main() {
	var o options
	flag.IntVar(&o.batches, "batches", 200, "PutLogEvents batches")
	flag.IntVar(&o.batch, "batch", 500, "events per PutLogEvents batch")
	flag.IntVar(&o.requests, "requests", 500, "requests of the GetLogEvents and FilterLogEvents rows")
	flag.IntVar(&o.queries, "queries", 50, "Logs Insights queries")
	flag.IntVar(&o.conc, "conc", 4, "requests in flight")
	benchenv.Main("logs", &o.quick, &o.out, func(stdout io.Writer) error { return run(o, stdout) })
}

const group = "/bench/app"

func newClient(endpoint string, conc int) *benchenv.JSONClient {
	return benchenv.NewJSONClient(endpoint, "Logs_20140328", "logs", conc, 2*time.Minute)
}

// target is one server under test.
type target struct {
	name   string
	client *benchenv.JSONClient
	// base is the timestamp of the first event; batches are 1 s apart.
	base int64
	// seq numbers the batches each stream has been sent.
	seq []atomic.Int64
}

func stream(i int) string { return fmt.Sprintf("worker-%d", i) }

func run(o options, stdout io.Writer) error {
	if o.quick {
		o.batches, o.batch, o.requests, o.queries = min(o.batches, 20), min(o.batch, 100), min(o.requests, 50), min(o.queries, 5)
	}
	ctx := context.Background()
	pair, err := benchenv.StartPair("logs")
	if err != nil {
		return err
	}
	defer pair.Stop()
	b, m := pair.Berth, pair.Moto

	// Events start 13 hours ago so that every batch (one second apart,
	// whatever -batches is) is within the 14 days PutLogEvents accepts.
	base := time.Now().Add(-13 * time.Hour).UnixMilli()
	targets := []*target{
		{name: "Berth", client: newClient(b.Endpoint(), o.conc), base: base},
		{name: "moto_server", client: newClient(m.Endpoint(), o.conc), base: base},
	}
	for _, t := range targets {
		t.seq = make([]atomic.Int64, o.conc)
		if err := t.client.Call(ctx, "CreateLogGroup", map[string]any{"logGroupName": group}, nil); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		for i := 0; i < o.conc; i++ {
			if err := t.client.Call(ctx, "CreateLogStream", map[string]any{"logGroupName": group, "logStreamName": stream(i)}, nil); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
		}
	}

	type row struct {
		label    string
		requests int
		op       func(t *target, i int) error
	}
	rows := []row{
		{fmt.Sprintf("PutLogEvents, batches of %d events", o.batch), o.batches, func(t *target, i int) error {
			w := i % o.conc
			n := t.seq[w].Add(1) - 1
			ts := t.base + (n*int64(o.conc)+int64(w))*1000
			events := make([]map[string]any, o.batch)
			for k := range events {
				level := "INFO"
				if k%10 == 0 {
					level = "ERROR"
				}
				events[k] = map[string]any{"timestamp": ts, "message": fmt.Sprintf(`%s {"request":"%d-%d","latency":%d,"path":"/api/items/%d"}`, level, n, k, k%250, k)}
			}
			return t.client.Call(ctx, "PutLogEvents", map[string]any{"logGroupName": group, "logStreamName": stream(w), "logEvents": events}, nil)
		}},
		{"GetLogEvents, newest 100 of a stream", o.requests, func(t *target, i int) error {
			var out struct{ Events []struct{ Message string } }
			err := t.client.Call(ctx, "GetLogEvents", map[string]any{"logGroupName": group, "logStreamName": stream(i % o.conc), "limit": 100}, &out)
			if err == nil && len(out.Events) != 100 {
				return fmt.Errorf("GetLogEvents returned %d events", len(out.Events))
			}
			return err
		}},
		{"FilterLogEvents `ERROR`, first page of 100", o.requests, func(t *target, i int) error {
			var out struct{ Events []struct{ Message string } }
			err := t.client.Call(ctx, "FilterLogEvents", map[string]any{"logGroupName": group, "filterPattern": "ERROR", "limit": 100}, &out)
			if err != nil {
				return err
			}
			if len(out.Events) != 100 {
				return fmt.Errorf("FilterLogEvents returned %d events", len(out.Events))
			}
			for _, e := range out.Events {
				if !strings.HasPrefix(e.Message, "ERROR") {
					return fmt.Errorf("FilterLogEvents returned %q", e.Message)
				}
			}
			return nil
		}},
		{"StartQuery + GetQueryResults until Complete", o.queries, func(t *target, i int) error {
			now := time.Now().Unix()
			var started struct{ QueryId string }
			err := t.client.Call(ctx, "StartQuery", map[string]any{
				"logGroupName": group, "startTime": now - 14*3600, "endTime": now,
				"queryString": "fields @timestamp, @message | filter @message like /ERROR/ | sort @timestamp desc | limit 20",
			}, &started)
			if err != nil {
				return err
			}
			for {
				var res struct {
					Status  string
					Results [][]struct{ Field, Value string }
				}
				if err := t.client.Call(ctx, "GetQueryResults", map[string]any{"queryId": started.QueryId}, &res); err != nil {
					return err
				}
				switch res.Status {
				case "Complete":
					if len(res.Results) != 20 {
						return fmt.Errorf("query returned %d rows", len(res.Results))
					}
					return nil
				case "Scheduled", "Running":
					time.Sleep(10 * time.Millisecond)
				default:
					return fmt.Errorf("query ended %s", res.Status)
				}
			}
		}},
	}

	var report strings.Builder
	fmt.Fprintf(&report, "# CloudWatch Logs benchmark\n\nGenerated by `go run ./bench/logs` on %s. %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), benchenv.Machine())
	fmt.Fprintf(&report, "Berth (SQLite store, agent off) against moto_server %s, both driven by the same plain awsJson1.1 HTTP client with %d requests in flight. "+
		"The PutLogEvents row writes the %d events (%d batches of %d, one stream per worker) the read rows then read; "+
		"one event in ten starts with ERROR. Ratio = Berth throughput / moto throughput.\n\n",
		pair.MotoVersion, o.conc, o.batches*o.batch, o.batches, o.batch)
	report.WriteString(benchenv.RatioHeader)
	names := [2]string{targets[0].name, targets[1].name}
	// CPU time per request of each server's process: MeasureBoth drives one
	// server at a time, so each process's CPU over a row is its share of it.
	servers := [2]*benchenv.Server{b, m}
	var cpu strings.Builder
	cpuOK := true
	for _, r := range rows {
		var before [2]time.Duration
		for i, s := range servers {
			d, ok := s.CPUTime()
			before[i], cpuOK = d, cpuOK && ok
		}
		res, err := benchenv.MeasureBoth(stdout, names, r.label, r.requests, o.conc, func(s, n int) error { return r.op(targets[s], n) })
		if err != nil {
			return err
		}
		benchenv.RatioRow(&report, r.label, r.requests, res)
		var per [2]float64
		for i, s := range servers {
			d, ok := s.CPUTime()
			cpuOK = cpuOK && ok
			per[i] = float64(d-before[i]) / float64(time.Millisecond) / float64(r.requests)
		}
		ratio := "–"
		if per[0] > 0 {
			ratio = fmt.Sprintf("**%.1f×**", per[1]/per[0])
		}
		fmt.Fprintf(&cpu, "| %s | %.2f | %.2f | %s |\n", r.label, per[0], per[1], ratio)
	}
	if cpuOK {
		report.WriteString("\nCPU time (user + system) of each server's process per request, which depends far less than throughput on what else " +
			"the machine runs (ratio = moto CPU / Berth CPU; /proc counts in 10 ms ticks):\n\n" +
			"| Operation | Berth CPU ms/req | moto CPU ms/req | Ratio |\n|---|--:|--:|--:|\n")
		report.WriteString(cpu.String())
	}
	fmt.Fprintf(&report, "\nPutLogEvents throughput in events/s is the req/s times %d. moto keeps events in Python lists in memory; "+
		"Berth writes each batch in one SQLite transaction (synchronous=FULL) and reads through the (stream, time) and (group, time) indexes. "+
		"moto's Logs Insights ignores the `filter` command (it returns the newest 20 events whatever they say), so its query row does less work than Berth's.\n", o.batch)
	return benchenv.WriteReport(o.out, report.String(), stdout)
}
