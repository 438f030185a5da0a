package ecs

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/awsapi"
)

// awsCLI finds an aws CLI: pip's v1 as a python3 module, else the aws on
// PATH. The test skips without one (the e2e suite requires them under CI).
func awsCLI(t *testing.T) []string {
	t.Helper()
	if py, err := exec.LookPath("python3"); err == nil {
		if out, err := exec.Command(py, "-m", "awscli", "--version").CombinedOutput(); err == nil && strings.HasPrefix(string(out), "aws-cli/") {
			return []string{py, "-m", "awscli"}
		}
	}
	if aws, err := exec.LookPath("aws"); err == nil {
		return []string{aws}
	}
	t.Skip("no aws CLI")
	return nil
}

// `aws ecs wait tasks-running` and `tasks-stopped` work against the control
// plane with an agent that moves tasks through their lifecycle: the waiter
// polls DescribeTasks until every task is RUNNING (STOPPED), failing if one
// stops first or is MISSING.
func TestAWSCLIWaiters(t *testing.T) {
	cli := awsCLI(t)
	svc, wake, _ := newTestService(t)
	mux := awsapi.NewMux(&awsapi.Authenticator{}, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	mux.HandleJSON(ecsapi.NewJSONService(svc))
	// firstDescribe closes after the first DescribeTasks was answered.
	firstDescribe := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".DescribeTasks") {
			once.Do(func() { close(firstDescribe) })
		}
	}))
	defer srv.Close()

	dir := t.TempDir()
	for _, f := range []string{"config", "credentials"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o600)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	env = append(env, "AWS_ACCESS_KEY_ID=123456789012", "AWS_SECRET_ACCESS_KEY=x", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=")
	aws := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		argv := append(append([]string{}, cli...), append([]string{"--endpoint-url", srv.URL, "--output", "json"}, args...)...)
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return stdout.String()
	}

	// The setup goes straight to the service: the aws CLI starts slowly,
	// and what is under test here is its waiters.
	ctx := awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: "123456789012", Region: "us-east-1"})
	must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{ClusterName: ptr("w")}))
	must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, ec2Def("sleeper", 32, 0)))
	arn := deref(must[*ecsapi.RunTaskOutput](t)(svc.RunTask(ctx, &ecsapi.RunTaskInput{Cluster: ptr("w"), TaskDefinition: ptr("sleeper")})).Tasks[0].TaskArn)

	// The agent starts only after the waiter's first poll saw PROVISIONING,
	// so the waiter has to wait for its next one.
	agentCtx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		select {
		case <-firstDescribe:
			(&fakeAgent{src: svc, host: svc.LocalHostID()}).run(agentCtx, t, wake)
		case <-agentCtx.Done():
		}
	}()
	start := time.Now()
	aws("ecs", "wait", "tasks-running", "--cluster", "w", "--tasks", arn)
	t.Logf("tasks-running returned after %s", time.Since(start).Round(time.Millisecond))

	must[*ecsapi.StopTaskOutput](t)(svc.StopTask(ctx, &ecsapi.StopTaskInput{Cluster: ptr("w"), Task: ptr(arn), Reason: ptr("test over")}))
	aws("ecs", "wait", "tasks-stopped", "--cluster", "w", "--tasks", arn)
	task := describeTask(t, svc, ctx, "w", arn)
	if deref(task.LastStatus) != "STOPPED" || deref(task.StopCode) != "UserInitiated" || deref(task.StoppedReason) != "test over" {
		t.Errorf("after tasks-stopped: %s %s %q", deref(task.LastStatus), deref(task.StopCode), deref(task.StoppedReason))
	}
}
