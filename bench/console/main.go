// Command console benchmarks the Berth Console's ECS service page against
// the API calls it is built from, and writes a Markdown report:
//
//	go run ./bench/console [-quick] [-out bench/results/console.md]
//
// One Berth runs a service of -tasks tasks (real containers of the test
// app). Over -requests sequential requests each, with one HTTP client, it
// times: DescribeServices of that service (aws-sdk-go-v2); the sequence of
// calls a client makes for everything the page shows (DescribeClusters,
// DescribeServices, ListTasks RUNNING and STOPPED, DescribeTasks); and GET
// of the page, which makes the same calls in process and renders HTML.
// Ratios are the page's latency over each.
//
// It builds ./cmd/berth and the test app image itself, and needs a Docker
// engine.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth-dev/berth/bench/internal/benchenv"
)

type options struct {
	quick    bool
	out      string
	tasks    int
	requests int
}

func main() {
	var o options
	flag.IntVar(&o.tasks, "tasks", 4, "tasks of the service")
	flag.IntVar(&o.requests, "requests", 500, "sequential requests per row")
	benchenv.Main("console", &o.quick, &o.out, func(stdout io.Writer) error { return run(o, stdout) })
}

func run(o options, stdout io.Writer) error {
	if o.quick {
		o.tasks, o.requests = min(o.tasks, 2), min(o.requests, 30)
	}
	ctx := context.Background()
	work, err := os.MkdirTemp("", "bench-console-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin, err := benchenv.BuildBerth(work)
	if err != nil {
		return err
	}
	b, err := benchenv.Start([]string{bin, "up", "--listen", "127.0.0.1:{port}", "--data-dir", filepath.Join(work, "data")},
		[]string{"BERTH_LOG_LEVEL=warn"}, filepath.Join(work, "berth.log"), "/_berth/health")
	if err != nil {
		return err
	}
	defer b.Stop()
	cfg := benchenv.SDKConfig(b.Endpoint(), 2)
	ref, err := benchenv.PushImage(ctx, cfg, work)
	if err != nil {
		return err
	}
	client := ecs.NewFromConfig(cfg)
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("bench")}); err != nil {
		return err
	}
	if _, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("web"), Image: aws.String(ref), Memory: aws.Int32(64), Command: []string{"serve"},
		}},
	}); err != nil {
		return err
	}
	if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("bench"), ServiceName: aws.String("web"), TaskDefinition: aws.String("web"),
		DesiredCount: aws.Int32(int32(o.tasks)),
	}); err != nil {
		return err
	}
	defer func() {
		client.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("bench"), Service: aws.String("web"), Force: aws.Bool(true)})
		waitRunning(ctx, client, 0)
	}()
	fmt.Fprintf(stdout, "waiting for %d tasks RUNNING\n", o.tasks)
	if err := waitRunning(ctx, client, o.tasks); err != nil {
		return err
	}

	describe := func() error {
		_, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("bench"), Services: []string{"web"}})
		return err
	}
	sequence := func() error {
		if _, err := client.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"bench"}}); err != nil {
			return err
		}
		if err := describe(); err != nil {
			return err
		}
		var arns []string
		for _, st := range []types.DesiredStatus{types.DesiredStatusRunning, types.DesiredStatusStopped} {
			l, err := client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("bench"), ServiceName: aws.String("web"), DesiredStatus: st})
			if err != nil {
				return err
			}
			arns = append(arns, l.TaskArns...)
		}
		if len(arns) == 0 {
			return nil
		}
		_, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("bench"), Tasks: arns})
		return err
	}
	// The page is fetched with the SDK's own HTTP client, so connection
	// reuse is the same on both sides.
	httpc := cfg.HTTPClient.(*http.Client)
	pageURL := b.Endpoint() + "/console/ecs/service?cluster=bench&service=web"
	var pageBytes int
	page := func() error {
		resp, err := httpc.Get(pageURL)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `<dd id="running">`) {
			return fmt.Errorf("GET %s: %d", pageURL, resp.StatusCode)
		}
		pageBytes = len(body)
		return nil
	}

	rows := []struct {
		name string
		call func() error
		lat  []time.Duration
	}{
		{name: "DescribeServices (1 service)", call: describe},
		{name: "the page's calls from a client: DescribeClusters, DescribeServices, ListTasks ×2, DescribeTasks", call: sequence},
		{name: "GET /console/ecs/service (same calls in process + HTML)", call: page},
	}
	// Warm up every path, then interleave the rows so that load from other
	// work on the machine falls on all of them alike.
	for i := range rows {
		for range 10 {
			if err := rows[i].call(); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(stdout, "timing %d requests per row\n", o.requests)
	for range o.requests {
		for i := range rows {
			start := time.Now()
			if err := rows[i].call(); err != nil {
				return fmt.Errorf("%s: %w", rows[i].name, err)
			}
			rows[i].lat = append(rows[i].lat, time.Since(start))
		}
	}

	var r strings.Builder
	fmt.Fprintf(&r, "# Console benchmark\n\nGenerated by `go run ./bench/console` on %s. %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), benchenv.Machine())
	fmt.Fprintf(&r, "One Berth, one ECS service of %d running tasks (real containers). Each row is %d sequential requests from one HTTP client (aws-sdk-go-v2's for the API rows, the same `http.Client` for the page), interleaved row by row after 10 warm-up requests each. The page is %d bytes of HTML. Ratio = page latency / row latency (p50 and p99).\n\n", o.tasks, o.requests, pageBytes)
	r.WriteString("| Request | p50 ms | p99 ms | Page / this, p50 | Page / this, p99 |\n|---|--:|--:|--:|--:|\n")
	pg := rows[len(rows)-1].lat
	for _, row := range rows {
		p50, p99 := benchenv.Percentile(row.lat, 0.5), benchenv.Percentile(row.lat, 0.99)
		fmt.Fprintf(&r, "| %s | %s | %s | **%.2f×** | **%.2f×** |\n", row.name, benchenv.MS(p50), benchenv.MS(p99),
			ratio(benchenv.Percentile(pg, 0.5), p50), ratio(benchenv.Percentile(pg, 0.99), p99))
	}
	return benchenv.WriteReport(o.out, r.String(), stdout)
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// waitRunning waits until the service runs n tasks (one minute at most).
func waitRunning(ctx context.Context, client *ecs.Client, n int) error {
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("bench"), Services: []string{"web"}})
		if err != nil {
			return err
		}
		if len(out.Services) == 1 && int(out.Services[0].RunningCount) == n && len(out.Services[0].Deployments) == 1 {
			return nil
		}
		if len(out.Services) == 0 && n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("service not at %d running tasks after a minute", n)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
