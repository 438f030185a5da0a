package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchenv"
)

// motoInstance starts an instance in moto's EC2 (over the EC2 Query API;
// aws-sdk-go-v2's EC2 module is not a dependency of Berth) and returns its
// identity document, to register it as a container instance. moto 5.2's
// RunTask fails on Fargate awsvpc tasks (its ENI has no private DNS name),
// so moto's tasks are EC2 tasks placed on this instance.
func motoInstance(endpoint string) (string, error) {
	call := func(form url.Values, idTag string) (string, error) { return ec2Call(endpoint, form, idTag) }
	image, err := call(url.Values{"Action": {"DescribeImages"}}, "imageId")
	if err != nil {
		return "", err
	}
	id, err := call(url.Values{"Action": {"RunInstances"}, "ImageId": {image}, "MinCount": {"1"}, "MaxCount": {"1"},
		"InstanceType": {"x1e.32xlarge"}}, "instanceId")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(`{"instanceId":%q,"instanceType":"x1e.32xlarge","region":"us-east-1","availabilityZone":"us-east-1a"}`, id), nil
}

// ec2Call makes one EC2 Query API call and returns the first idTag element
// of the answer.
func ec2Call(endpoint string, form url.Values, idTag string) (string, error) {
	form.Set("Version", "2016-11-15")
	req, err := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile("<" + idTag + ">([^<]+)</" + idTag + ">").FindSubmatch(body)
	if m == nil {
		return "", fmt.Errorf("EC2 %s: %.300s", form.Get("Action"), body)
	}
	return string(m[1]), nil
}

// newJSONClient calls the ECS API with plain awsJson1_1 requests. The API
// rows use it for both servers: aws-sdk-go-v2 refuses moto's answers (moto
// writes the containers' cpu and memory as numbers where the model has
// strings).
func newJSONClient(endpoint string, conc int) *benchenv.JSONClient {
	return benchenv.NewJSONClient(endpoint, "AmazonEC2ContainerServiceV20141113", "ecs", conc, time.Minute)
}

type taskRefs struct {
	Tasks    []struct{ TaskArn string }
	Failures []struct{ Arn, Reason string }
}

// fill stores n tasks (RunTask of 10 at a time) and returns their ARNs:
// Fargate tasks in Berth, EC2 tasks on a registered instance in moto.
func fill(ctx context.Context, c *benchenv.JSONClient, n int, motoDoc string) ([]string, error) {
	var ignore map[string]any
	if err := c.Call(ctx, "CreateCluster", map[string]any{"clusterName": "bench"}, &ignore); err != nil {
		return nil, err
	}
	container := map[string]any{"name": "web", "image": "nginx:alpine", "essential": true, "cpu": 256, "memory": 512,
		"portMappings": []any{map[string]any{"containerPort": 80}}}
	def := map[string]any{"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": []string{"FARGATE"},
		"cpu": "256", "memory": "512", "containerDefinitions": []any{container}}
	run := map[string]any{"cluster": "bench", "taskDefinition": "web", "launchType": "FARGATE"}
	if motoDoc == "" {
		// Berth checks awsvpc ids against its EC2: name the default VPC's.
		subnet, err := ec2Call(c.Endpoint(), url.Values{"Action": {"DescribeSubnets"}, "Filter.1.Name": {"default-for-az"}, "Filter.1.Value.1": {"true"}}, "subnetId")
		if err != nil {
			return nil, err
		}
		group, err := ec2Call(c.Endpoint(), url.Values{"Action": {"DescribeSecurityGroups"}, "GroupName.1": {"default"}}, "groupId")
		if err != nil {
			return nil, err
		}
		run["networkConfiguration"] = map[string]any{"awsvpcConfiguration": map[string]any{
			"subnets": []string{subnet}, "securityGroups": []string{group}}}
	} else {
		if err := c.Call(ctx, "RegisterContainerInstance", map[string]any{"cluster": "bench", "instanceIdentityDocument": motoDoc}, &ignore); err != nil {
			return nil, err
		}
		// moto counts its tasks' container memory against the instance's
		// 7 GiB.
		container["cpu"], container["memory"] = 0, 1
		def["networkMode"] = "bridge"
		delete(def, "requiresCompatibilities")
		run["launchType"] = "EC2"
		delete(run, "networkConfiguration")
	}
	if err := c.Call(ctx, "RegisterTaskDefinition", def, &ignore); err != nil {
		return nil, err
	}
	var arns []string
	for len(arns) < n {
		run["count"] = min(10, n-len(arns))
		var out taskRefs
		if err := c.Call(ctx, "RunTask", run, &out); err != nil {
			return nil, err
		}
		if len(out.Tasks) == 0 {
			return nil, fmt.Errorf("RunTask made no task: %+v", out.Failures)
		}
		for _, t := range out.Tasks {
			arns = append(arns, t.TaskArn)
		}
	}
	return arns, nil
}

// apiRows measures DescribeTasks and ListTasks on Berth and moto_server.
func apiRows(o options, work, bin string, report *strings.Builder, stdout io.Writer) error {
	ctx := context.Background()
	pair, err := benchenv.StartPairIn(work, bin, "berth-api", "berth-api.log")
	if err != nil {
		return err
	}
	defer pair.Stop()
	b, m := pair.Berth, pair.Moto

	type target struct {
		name   string
		client *benchenv.JSONClient
		arns   []string
		fill   time.Duration
	}
	targets := []*target{
		{name: "Berth", client: newJSONClient(b.Endpoint(), o.conc)},
		{name: "moto_server", client: newJSONClient(m.Endpoint(), o.conc)},
	}
	doc, err := motoInstance(m.Endpoint())
	if err != nil {
		return err
	}
	for i, t := range targets {
		motoDoc := ""
		if i == 1 {
			motoDoc = doc
		}
		t0 := time.Now()
		if t.arns, err = fill(ctx, t.client, o.tasks, motoDoc); err != nil {
			return fmt.Errorf("%s: storing %d tasks: %w", t.name, o.tasks, err)
		}
		t.fill = time.Since(t0)
		fmt.Fprintf(stdout, "%s: %d tasks stored in %s\n", t.name, len(t.arns), t.fill.Round(time.Millisecond))
	}
	type row struct {
		label    string
		requests int
		op       func(t *target, i int) error
	}
	pages := map[string]int{}
	var pagesMu sync.Mutex
	rows := []row{
		{"DescribeTasks, 100 tasks a call", o.requests, func(t *target, i int) error {
			start := (i * 100) % (len(t.arns) - 99)
			var out taskRefs
			err := t.client.Call(ctx, "DescribeTasks", map[string]any{"cluster": "bench", "tasks": t.arns[start : start+100]}, &out)
			if err == nil && len(out.Tasks) != 100 {
				return fmt.Errorf("described %d tasks", len(out.Tasks))
			}
			return err
		}},
		{"ListTasks, first page of 100", o.requests, func(t *target, i int) error {
			var out struct{ TaskArns []string }
			err := t.client.Call(ctx, "ListTasks", map[string]any{"cluster": "bench", "maxResults": 100}, &out)
			// moto ignores maxResults and answers every task at once.
			if err == nil && len(out.TaskArns) < min(100, len(t.arns)) {
				return fmt.Errorf("listed %d tasks", len(out.TaskArns))
			}
			return err
		}},
		{fmt.Sprintf("ListTasks, every page (all %d tasks)", o.tasks), max(o.requests/20, 5), func(t *target, i int) error {
			in := map[string]any{"cluster": "bench", "maxResults": 100}
			n, p := 0, 0
			for {
				var out struct {
					TaskArns  []string
					NextToken *string
				}
				if err := t.client.Call(ctx, "ListTasks", in, &out); err != nil {
					return err
				}
				n, p = n+len(out.TaskArns), p+1
				if out.NextToken == nil || *out.NextToken == "" {
					break
				}
				in["nextToken"] = *out.NextToken
			}
			pagesMu.Lock()
			pages[t.name] = p
			pagesMu.Unlock()
			if n != len(t.arns) {
				return fmt.Errorf("listed %d of %d tasks", n, len(t.arns))
			}
			return nil
		}},
	}
	fmt.Fprintf(report, "## DescribeTasks and ListTasks with %d stored tasks\n\n", o.tasks)
	fmt.Fprintf(report, "Both servers hold %d task records of one task definition in one cluster, stored with RunTask of 10 tasks a call "+
		"(Berth: Fargate tasks, in %s; moto: EC2 tasks on one registered instance, as moto's Fargate RunTask fails, in %s); "+
		"a plain awsJson1.1 HTTP client (the same for both) with %d requests in flight. moto_server %s. Ratio = Berth throughput / moto throughput.\n\n",
		o.tasks, targets[0].fill.Round(time.Millisecond), targets[1].fill.Round(time.Millisecond), o.conc, pair.MotoVersion)
	fmt.Fprintf(report, "| Operation | Requests | Berth req/s | Berth p50 ms | Berth p99 ms | moto req/s | moto p50 ms | moto p99 ms | Ratio |\n")
	fmt.Fprintf(report, "|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range rows {
		var res [2]benchenv.Result
		for i, t := range targets {
			res[i] = benchenv.Measure(r.requests, o.conc, func(n int) error { return r.op(t, n) })
			if res[i].Errors > 0 {
				return fmt.Errorf("%s: %s: %d of %d requests failed", t.name, r.label, res[i].Errors, r.requests)
			}
			fmt.Fprintf(stdout, "%s %s: %.1f req/s p50 %s p99 %s\n", t.name, r.label, res[i].PerSec, ms(res[i].P50), ms(res[i].P99))
		}
		label := r.label
		if strings.Contains(label, "every page") {
			label += fmt.Sprintf(" — one request = %d calls to Berth, %d to moto", pages["Berth"], pages["moto_server"])
		}
		ratio := res[0].PerSec / res[1].PerSec
		rf := "%.0f"
		if ratio < 10 {
			rf = "%.1f"
		}
		fmt.Fprintf(report, "| %s | %d | %.0f | %s | %s | %.1f | %s | %s | **"+rf+"×** |\n", label, r.requests,
			res[0].PerSec, ms(res[0].P50), ms(res[0].P99), res[1].PerSec, ms(res[1].P50), ms(res[1].P99), ratio)
	}
	fmt.Fprintln(report)
	return nil
}
