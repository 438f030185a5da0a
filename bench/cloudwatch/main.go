// Command cloudwatch benchmarks Berth's CloudWatch metrics and alarms
// against moto_server (Python's moto) and writes a Markdown report:
//
//	go run ./bench/cloudwatch [-quick] [-out bench/results/cloudwatch.md]
//
// Both servers get the same requests from the same plain awsQuery HTTP
// client (the one wire both speak) with -conc requests in flight:
//
//   - PutMetricData: -puts calls of 20 datapoints each (one metric, one
//     dimension in ten values);
//   - GetMetricStatistics: an hour at one-minute periods of one of those
//     metrics, Average/Sum/Maximum/SampleCount;
//   - PutMetricAlarm: -alarms alarms on those metrics;
//   - DescribeAlarms: the first page of 100.
//
// Throughput, p50 and p99 of each row, and the ratio Berth / moto. Berth
// runs with its ECS agent off. Needs moto_server on PATH.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchenv"
)

type options struct {
	quick    bool
	out      string
	puts     int
	alarms   int
	requests int
	conc     int
}

func main() {
	var o options
	flag.IntVar(&o.puts, "puts", 500, "PutMetricData calls (20 datapoints each)")
	flag.IntVar(&o.alarms, "alarms", 300, "alarms created (the PutMetricAlarm row)")
	flag.IntVar(&o.requests, "requests", 300, "requests of the read rows")
	flag.IntVar(&o.conc, "conc", 4, "requests in flight")
	benchenv.Main("cloudwatch", &o.quick, &o.out, func(stdout io.Writer) error { return run(o, stdout) })
}

// queryClient calls CloudWatch over awsQuery with plain HTTP requests.
type queryClient struct {
	endpoint string
	hc       *http.Client
}

func newClient(endpoint string, conc int) *queryClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conc * 2
	return &queryClient{endpoint: endpoint, hc: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}
}

// call sends action with params and returns the XML answer.
func (c *queryClient) call(ctx context.Context, action string, params url.Values) (string, error) {
	params.Set("Action", action)
	params.Set("Version", "2010-08-01")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", strings.NewReader(params.Encode()))
	if err != nil {
		return "", err
	}
	now := time.Now().UTC()
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("X-Amz-Date", now.Format("20060102T150405Z"))
	// Neither server checks signatures here; the header names the service.
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/"+now.Format("20060102")+
		"/us-east-1/monitoring/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature="+strings.Repeat("0", 64))
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := io.Copy(&b, resp.Body); err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: HTTP %d: %.300s", action, resp.StatusCode, b.String())
	}
	return b.String(), nil
}

func run(o options, stdout io.Writer) error {
	if o.quick {
		o.puts, o.alarms, o.requests = min(o.puts, 100), min(o.alarms, 60), min(o.requests, 50)
	}
	ctx := context.Background()
	pair, err := benchenv.StartPair("cloudwatch")
	if err != nil {
		return err
	}
	defer pair.Stop()
	clients := [2]*queryClient{newClient(pair.Berth.Endpoint(), o.conc), newClient(pair.Moto.Endpoint(), o.conc)}
	// Every datapoint lies in the last hour, so GetMetricStatistics reads
	// all of them.
	start := time.Now().UTC().Truncate(time.Minute).Add(-time.Hour)
	rows := []struct {
		label    string
		requests int
		op       func(c *queryClient, i int) error
	}{
		{"PutMetricData, 20 datapoints", o.puts, func(c *queryClient, i int) error {
			p := url.Values{"Namespace": {"Bench"}}
			for j := 1; j <= 20; j++ {
				m := "MetricData.member." + strconv.Itoa(j) + "."
				p.Set(m+"MetricName", "Latency")
				p.Set(m+"Dimensions.member.1.Name", "Host")
				p.Set(m+"Dimensions.member.1.Value", "h"+strconv.Itoa(i%10))
				p.Set(m+"Value", strconv.Itoa(i*20+j))
				p.Set(m+"Unit", "Milliseconds")
				p.Set(m+"Timestamp", start.Add(time.Duration((i*20+j)%3600)*time.Second).Format(time.RFC3339))
			}
			_, err := c.call(ctx, "PutMetricData", p)
			return err
		}},
		{"GetMetricStatistics, 60 periods", o.requests, func(c *queryClient, i int) error {
			out, err := c.call(ctx, "GetMetricStatistics", url.Values{
				"Namespace": {"Bench"}, "MetricName": {"Latency"}, "Dimensions.member.1.Name": {"Host"}, "Dimensions.member.1.Value": {"h" + strconv.Itoa(i%10)},
				"StartTime": {start.Format(time.RFC3339)}, "EndTime": {start.Add(time.Hour).Format(time.RFC3339)}, "Period": {"60"},
				"Statistics.member.1": {"Average"}, "Statistics.member.2": {"Sum"}, "Statistics.member.3": {"Maximum"}, "Statistics.member.4": {"SampleCount"},
			})
			if err == nil && strings.Count(out, "<Sum>") == 0 {
				return fmt.Errorf("GetMetricStatistics returned no datapoints: %.300s", out)
			}
			return err
		}},
		{"PutMetricAlarm", o.alarms, func(c *queryClient, i int) error {
			_, err := c.call(ctx, "PutMetricAlarm", url.Values{
				"AlarmName": {fmt.Sprintf("alarm-%05d", i)}, "Namespace": {"Bench"}, "MetricName": {"Latency"},
				"Dimensions.member.1.Name": {"Host"}, "Dimensions.member.1.Value": {"h" + strconv.Itoa(i%10)},
				"Statistic": {"Average"}, "Period": {"60"}, "EvaluationPeriods": {"3"}, "Threshold": {"500"},
				"ComparisonOperator": {"GreaterThanThreshold"},
			})
			return err
		}},
		{"DescribeAlarms, first page of 100", o.requests, func(c *queryClient, i int) error {
			out, err := c.call(ctx, "DescribeAlarms", url.Values{"MaxRecords": {"100"}})
			// moto ignores MaxRecords and answers every alarm.
			if n := strings.Count(out, "<AlarmName>"); err == nil && n < min(100, o.alarms) {
				return fmt.Errorf("DescribeAlarms returned %d alarms", n)
			}
			return err
		}},
	}
	var report strings.Builder
	fmt.Fprintf(&report, "# CloudWatch benchmark\n\nGenerated by `go run ./bench/cloudwatch` on %s. %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), benchenv.Machine())
	fmt.Fprintf(&report, "Berth (SQLite store, agent off, alarms evaluated every 10 s) against moto_server %s, both driven by the same plain awsQuery HTTP client "+
		"with %d requests in flight. PutMetricData sends 20 datapoints of one metric (one of ten Host dimension values) per call, %d calls; "+
		"GetMetricStatistics reads one of those metrics over an hour at one-minute periods with four statistics; PutMetricAlarm creates %d alarms "+
		"that DescribeAlarms then pages (moto ignores MaxRecords and answers all %d). Ratio = Berth throughput / moto throughput.\n\n", pair.MotoVersion, o.conc, o.puts, o.alarms, o.alarms)
	report.WriteString(benchenv.RatioHeader)
	names := [2]string{"Berth", "moto_server"}
	for _, r := range rows {
		res, err := benchenv.MeasureBoth(stdout, names, r.label, r.requests, o.conc, func(s, n int) error { return r.op(clients[s], n) })
		if err != nil {
			return err
		}
		benchenv.RatioRow(&report, r.label, r.requests, res)
	}
	fmt.Fprintf(&report, "\nBerth writes each PutMetricData in one SQLite transaction (synchronous=FULL): the minute buckets of raw points the call "+
		"touches and the metrics' records; GetMetricStatistics reads the metric's minute buckets by key prefix and aggregates them per period. "+
		"Each PutMetricAlarm is one transaction (the alarm, its index entry and a history item). moto keeps everything in Python objects in memory.\n")
	return benchenv.WriteReport(o.out, report.String(), stdout)
}
