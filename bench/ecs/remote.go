package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth-dev/berth/bench/internal/benchenv"
)

// remoteRows measures StartTask → RUNNING on a remote agent (`berth agent`,
// a second process on the same machine and engine, talking to Berth over
// the ECS API) against the same on the in-process agent and against
// `docker run -d`, alternating the three.
func remoteRows(o options, work, bin string, report *strings.Builder, stdout io.Writer) error {
	ctx := context.Background()
	b, err := benchenv.Start([]string{bin, "up", "--listen", "127.0.0.1:{port}", "--data-dir", filepath.Join(work, "berth-remote")},
		[]string{"BERTH_AGENT_PULL_BEHAVIOR=" + o.pull, "BERTH_LOG_LEVEL=warn"}, filepath.Join(work, "berth-remote.log"), "/_berth/health")
	if err != nil {
		return err
	}
	defer b.Stop()
	cfg := benchenv.SDKConfig(b.Endpoint(), 16)
	ref, err := benchenv.PushImage(ctx, cfg, work)
	if err != nil {
		return err
	}
	defer exec.Command("docker", "rmi", ref).Run()
	client := ecs.NewFromConfig(cfg)
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("bench")}); err != nil {
		return err
	}
	if _, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("bench"), RequiresCompatibilities: []types.Compatibility{types.CompatibilityEc2},
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(ref), Memory: aws.Int32(64), Command: []string{"serve"},
		}},
	}); err != nil {
		return err
	}

	stateDir := filepath.Join(work, "agent-state")
	logf, err := os.Create(filepath.Join(work, "agent.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	agent := exec.Command(bin, "agent", "--endpoint", b.Endpoint(), "--cluster", "bench", "--region", "us-east-1",
		"--state-dir", stateDir, "--pull-behavior", o.pull, "--log-level", "warn")
	agent.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_SESSION_TOKEN=")
	agent.Stdout, agent.Stderr = logf, logf
	if err := agent.Start(); err != nil {
		return err
	}
	var host string
	defer func() {
		agent.Process.Signal(os.Interrupt)
		agent.Wait()
		if host != "" {
			exec.Command("sh", "-c", "docker rm -f $(docker ps -aq --filter label=berth.agent.host="+host+") >/dev/null 2>&1").Run()
		}
	}()
	var st struct{ InstanceID, ContainerInstanceArn string }
	for deadline := time.Now().Add(30 * time.Second); st.ContainerInstanceArn == ""; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			data, _ := os.ReadFile(filepath.Join(work, "agent.log"))
			return fmt.Errorf("berth agent did not register:\n%s", data)
		}
		if data, err := os.ReadFile(filepath.Join(stateDir, "agent-state.json")); err == nil {
			json.Unmarshal(data, &st)
		}
	}
	host = st.InstanceID
	list, err := client.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("bench")})
	if err != nil {
		return err
	}
	var local string
	for _, a := range list.ContainerInstanceArns {
		if a != st.ContainerInstanceArn {
			local = a
		}
	}
	if local == "" {
		return fmt.Errorf("no local container instance in %v", list.ContainerInstanceArns)
	}

	startOn := func(instance string) (time.Duration, error) {
		t0 := time.Now()
		out, err := client.StartTask(ctx, &ecs.StartTaskInput{Cluster: aws.String("bench"), TaskDefinition: aws.String("bench"),
			ContainerInstances: []string{instance}})
		if err != nil {
			return 0, err
		}
		if len(out.Tasks) != 1 {
			return 0, fmt.Errorf("StartTask: %+v", out.Failures)
		}
		arn := *out.Tasks[0].TaskArn
		if err := waitAll(ctx, client, []string{arn}, "RUNNING", 5*time.Millisecond); err != nil {
			return 0, err
		}
		d := time.Since(t0)
		return d, stopAll(ctx, client, []string{arn})
	}
	dockerRun := func() (time.Duration, error) {
		t0 := time.Now()
		out, err := exec.Command("docker", "run", "-d", "-m", "64m", ref, "serve").CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("docker run: %v: %s", err, out)
		}
		d := time.Since(t0)
		exec.Command("docker", "rm", "-f", strings.TrimSpace(string(out))).Run()
		return d, nil
	}
	// The first start of each pays for the image pull: not measured.
	for _, in := range []string{local, st.ContainerInstanceArn} {
		if _, err := startOn(in); err != nil {
			return err
		}
	}
	var localD, remoteD, dockerD []time.Duration
	for i := 0; i < o.runs; i++ {
		d, err := startOn(local)
		if err != nil {
			return err
		}
		localD = append(localD, d)
		if d, err = startOn(st.ContainerInstanceArn); err != nil {
			return err
		}
		remoteD = append(remoteD, d)
		if d, err = dockerRun(); err != nil {
			return err
		}
		dockerD = append(dockerD, d)
		fmt.Fprintf(stdout, "start %d/%d: in-process %s ms, remote %s ms, docker %s ms\n", i+1, o.runs, ms(localD[i]), ms(remoteD[i]), ms(dockerD[i]))
	}

	fmt.Fprintf(report, "## Start latency: remote agent vs in-process agent vs docker run\n\n")
	fmt.Fprintf(report, "StartTask on a container instance → RUNNING in DescribeTasks (polled every 5 ms), one bridge-mode container with a 64 MiB limit, "+
		"pull behaviour `%s`, image cached in the engine. *In-process*: the local container instance, run by `berth up`'s own agent. "+
		"*Remote*: the container instance of `berth agent`, a second process on the same machine and Docker engine that joined the cluster "+
		"with RegisterContainerInstance and polls ListTasks/DescribeTasks every second (the default `--poll`), reporting with "+
		"SubmitTaskStateChange. *docker run*: `docker run -d -m 64m` of the same image. The three alternate, %d starts each.\n\n", o.pull, o.runs)
	fmt.Fprintf(report, "| Measure | in-process ms | remote ms | docker run ms | in-process / docker | remote / docker | remote / in-process |\n|---|--:|--:|--:|--:|--:|--:|\n")
	for _, p := range []struct {
		label string
		q     float64
	}{{"p50", .50}, {"p95", .95}} {
		if o.runs == 0 {
			break
		}
		l, r, d := benchenv.Percentile(localD, p.q), benchenv.Percentile(remoteD, p.q), benchenv.Percentile(dockerD, p.q)
		fmt.Fprintf(report, "| %s | %s | %s | %s | **%.2f×** | **%.2f×** | **%.2f×** |\n", p.label, ms(l), ms(r), ms(d),
			float64(l)/float64(d), float64(r)/float64(d), float64(r)/float64(l))
	}
	fmt.Fprintln(report)
	return nil
}
