package e2e

// The task identity story on a remote agent: a task that `berth agent`
// runs gets the same credentials and metadata endpoints as a task of
// Berth's own agent, served by the remote agent from public APIs only (STS
// AssumeRole of the task role, DescribeTasks, the AWS API passed on to
// Berth), and they answer at the same URLs after the agent restarts.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

func TestECSRemoteAgentTaskIdentity(t *testing.T) {
	t.Parallel()
	harness.RequireDocker(t)
	b := harness.Start(t)
	var me struct{ Account string }
	b.AWS(t, "sts", "get-caller-identity").Must(t).JSON(t, &me)
	var role, other struct {
		Role struct{ Arn, RoleName string }
	}
	b.AWS(t, "iam", "create-role", "--role-name", "remote-whoami",
		"--assume-role-policy-document", ecsTaskTrustPolicy).Must(t).JSON(t, &role)
	b.AWS(t, "iam", "create-role", "--role-name", "remote-other",
		"--assume-role-policy-document", ecsTaskTrustPolicy).Must(t).JSON(t, &other)
	uri := createRepo(t, b, uniqueName("remote/whoami")) + ":v1"
	pushImage(t, uri, harness.TestImage(t, "whoami"), registryAuth(t, b))
	t.Cleanup(func() { harness.Docker(t, "rmi", uri) })
	var cluster struct{ Cluster struct{ ClusterArn string } }
	b.AWS(t, "ecs", "create-cluster", "--cluster-name", "remote-identity").Must(t).JSON(t, &cluster)

	stateDir := t.TempDir()
	agent := startRemoteAgent(t, b, "remote-identity", stateDir)
	in := remoteInstanceOf(t, b, agent, "remote-identity", stateDir)
	host := in.Ec2InstanceId
	t.Cleanup(func() {
		ids := strings.Fields(harness.Docker(t, "ps", "-aq", "--filter", "label=berth.agent.host="+host).Stdout)
		if len(ids) > 0 {
			harness.Docker(t, append([]string{"rm", "-f"}, ids...)...)
		}
	})

	b.AWS(t, "ecs", "register-task-definition", "--cli-input-json", fmt.Sprintf(`{"family": "remote-whoami",
  "requiresCompatibilities": ["EC2"], "networkMode": "bridge", "taskRoleArn": %q,
  "containerDefinitions": [{"name": "whoami", "image": %q, "memory": 64, "command": ["whoami", "10m"]}]}`,
		role.Role.Arn, uri)).Must(t)
	var started struct{ Tasks []identityTask }
	b.AWS(t, "ecs", "start-task", "--cluster", "remote-identity", "--task-definition", "remote-whoami",
		"--container-instances", in.ContainerInstanceArn).Must(t).JSON(t, &started)
	if len(started.Tasks) != 1 {
		t.Fatalf("start-task: %+v", started)
	}
	arn := started.Tasks[0].TaskArn
	taskID := arn[strings.LastIndex(arn, "/")+1:]
	tkCleanup(t, arn)
	running := describeWhenRunning(t, b, "remote-identity", arn)
	id := running.Containers[0].RuntimeId

	// Inside the container, aws-sdk-go-v2 with nothing but the task's
	// environment: sts GetCallerIdentity with the task role's credentials
	// (the API reached through the remote agent's AWS_ENDPOINT_URL), and
	// metadata v4.
	out := containerOutput(t, b, id, "whoami task=")
	wantARN := fmt.Sprintf("whoami arn=arn:aws:sts::%s:assumed-role/%s/%s account=%s ",
		me.Account, role.Role.RoleName, taskID, me.Account)
	if !strings.Contains(out, wantARN) {
		t.Errorf("the task's output does not show its role session %q:\n%s\nagent log:\n%s", wantARN, out, agent.out.String())
	}
	wantTask := fmt.Sprintf("whoami task=%s family=remote-whoami revision=1 status=RUNNING cluster=%s", arn, cluster.Cluster.ClusterArn)
	if !strings.Contains(out, wantTask) {
		t.Errorf("the task's output does not show its metadata %q:\n%s", wantTask, out)
	}

	var inspected []struct{ Config struct{ Env []string } }
	if err := json.Unmarshal([]byte(b.Docker(t, "inspect", id).Must(t).Stdout), &inspected); err != nil || len(inspected) != 1 {
		t.Fatalf("docker inspect: %v", err)
	}
	env := map[string]string{}
	for _, kv := range inspected[0].Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	// 169.254.170.2:80 when the agent may bind it (ECS's relative URI),
	// else the full URI with its token; never Berth's own address.
	credURL, token := env["AWS_CONTAINER_CREDENTIALS_FULL_URI"], env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
	if rel := env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]; rel != "" {
		credURL = "http://169.254.170.2" + rel
	}
	if !strings.HasPrefix(credURL, "http://169.254.170.2") || !strings.HasPrefix(env["ECS_CONTAINER_METADATA_URI_V4"], "http://169.254.170.2") ||
		env["AWS_ENDPOINT_URL"] == "" || env["AWS_ENDPOINT_URL"] == b.Endpoint() {
		t.Fatalf("the task's environment: %v", env)
	}

	// The agent's own credentials get a task role only for a task placed on
	// a container instance that runs with it.
	for _, c := range []struct{ role, session string }{
		{role.Role.Arn, "not-a-task"},
		{other.Role.Arn, taskID},
	} {
		r := b.AWS(t, "sts", "assume-role", "--role-arn", c.role, "--role-session-name", c.session)
		if r.ExitCode == 0 || !strings.Contains(r.Stderr, "AccessDenied") {
			t.Errorf("assume-role %s as %s: exit %d, %s", c.role, c.session, r.ExitCode, r.Stderr)
		}
	}

	// The agent dies and comes back: the task runs on, and its endpoints
	// answer at the URLs its container was started with (registrations and
	// the key are kept in the state directory).
	agent.signal(syscall.SIGKILL)
	agent = startRemoteAgent(t, b, "remote-identity", stateDir)
	var creds struct{ RoleArn, AccessKeyId, Token string }
	var meta struct{ TaskARN, Cluster, KnownStatus string }
	var lastErr error
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		creds.AccessKeyId, meta.TaskARN = "", ""
		lastErr = endpointJSON(credURL, token, &creds)
		if lastErr == nil {
			lastErr = endpointJSON(env["ECS_CONTAINER_METADATA_URI_V4"]+"/task", "", &meta)
		}
		if (creds.AccessKeyId != "" && meta.TaskARN != "") || time.Now().After(deadline) {
			break
		}
	}
	if creds.RoleArn != role.Role.Arn || creds.AccessKeyId == "" || creds.Token == "" {
		t.Errorf("credentials after the agent's restart: %+v (%v)\n%s", creds, lastErr, agent.out.String())
	}
	if meta.TaskARN != arn || meta.Cluster != cluster.Cluster.ClusterArn || meta.KnownStatus != "RUNNING" {
		t.Errorf("task metadata after the agent's restart: %+v (%v)", meta, lastErr)
	}
}

// endpointJSON GETs url (with an Authorization header when token is set) and
// decodes a 200 answer into out.
func endpointJSON(url, token string, out any) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
