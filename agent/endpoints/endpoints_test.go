package endpoints

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/ecs"
	"github.com/berth-dev/berth/iam"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/store/sqlite"
	"github.com/berth-dev/berth/sts"
)

// fakeEngine stands in for the Docker runtime: containers reach the host
// on loopback addresses, which is also what the SDKs accept for a
// FULL_URI.
type fakeEngine struct {
	addrs runtime.HostAddresses
	infos map[runtime.ContainerID]runtime.ContainerInfo
}

func (f *fakeEngine) List(_ context.Context, labels map[string]string) ([]runtime.ContainerInfo, error) {
	var out []runtime.ContainerInfo
next:
	for _, info := range f.infos {
		for k, v := range labels {
			if info.Labels[k] != v {
				continue next
			}
		}
		out = append(out, info)
	}
	return out, nil
}

func (f *fakeEngine) HostAddresses(context.Context) (runtime.HostAddresses, error) {
	return f.addrs, nil
}

func (f *fakeEngine) ContainerStats(_ context.Context, id runtime.ContainerID) (json.RawMessage, error) {
	if _, ok := f.infos[id]; !ok {
		return nil, runtime.ErrNotFound
	}
	return json.RawMessage(`{"id":"` + string(id) + `","memory_stats":{"usage":1806336}}`), nil
}

// fakeIssuer vends numbered credentials and counts them.
type fakeIssuer struct {
	mu        sync.Mutex
	now       func() time.Time
	issued    int
	untrusted map[string]bool
	missing   map[string]bool
}

func (f *fakeIssuer) IssueRoleCredentials(_ context.Context, account, role, session string, d time.Duration) (sts.Credentials, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.missing[role] {
		return sts.Credentials{}, iam.ErrNoSuchRole
	}
	f.issued++
	name := role[strings.LastIndex(role, "/")+1:]
	return sts.Credentials{
		AccessKeyID:     "ASIA" + strings.Repeat("X", 15) + string(rune('A'+f.issued)),
		SecretAccessKey: "secret",
		SessionToken:    "token",
		Expiration:      f.now().Add(d),
		RoleARN:         role,
		AssumedRoleARN:  "arn:aws:sts::" + account + ":assumed-role/" + name + "/" + session,
	}, nil
}

func (f *fakeIssuer) TrustsService(_ context.Context, _, role, service string) (bool, error) {
	return service == "ecs-tasks.amazonaws.com" && !f.untrusted[role], nil
}

type fixture struct {
	t      testing.TB
	st     store.Store
	engine *fakeEngine
	issuer *fakeIssuer
	clock  time.Time
	srv    *Server
	key    []byte
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	st, err := sqlite.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, st: st, clock: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		key: []byte(strings.Repeat("k", 32))}
	f.engine = &fakeEngine{
		addrs: runtime.HostAddresses{
			Bridge: runtime.HostNetwork{Gateway: "127.0.0.1", Subnet: "127.0.0.0/8"},
			AWSVPC: runtime.HostNetwork{Gateway: "127.0.0.1", Subnet: "127.0.0.0/8"},
		},
		infos: map[runtime.ContainerID]runtime.ContainerInfo{},
	}
	f.issuer = &fakeIssuer{now: f.now, untrusted: map[string]bool{}, missing: map[string]bool{}}
	f.srv = f.open()
	return f
}

func (f *fixture) now() time.Time { return f.clock }

// open makes a Server on the fixture's store and key, as a restarted Berth
// would.
func (f *fixture) open() *Server {
	f.t.Helper()
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("api:" + r.URL.Path))
	})
	srv, err := New(context.Background(), Options{
		Key: f.key, Store: f.st, Issuer: f.issuer, Engine: f.engine, API: api,
		Now: f.now, FullURIOnly: true,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { srv.Close() })
	return srv
}

const (
	acct    = "123456789012"
	taskARN = "arn:aws:ecs:us-east-1:123456789012:task/apps/0123456789abcdef0123456789abcdef"
	roleARN = "arn:aws:iam::123456789012:role/app-role"
)

func sampleTask(status StatusFunc) Task {
	return Task{
		TaskARN:     taskARN,
		Cluster:     "arn:aws:ecs:us-east-1:123456789012:cluster/apps",
		TaskRoleARN: roleARN,
		Family:      "web",
		Revision:    3,
		LaunchType:  "FARGATE",
		NetworkMode: "awsvpc",
		CPU:         "256",
		Memory:      "512",
		Containers: []Container{
			{Name: "app", Image: "app:v1", CPU: 128, Memory: 256, LogDriver: "awslogs",
				LogOptions: map[string]string{"awslogs-group": "/ecs/web"}},
			{Name: "sidecar", Image: "side:v1"},
		},
		Status: status,
	}
}

func runningStatus(context.Context) (Status, error) {
	return Status{
		DesiredStatus: ecs.TaskRunning,
		TaskStatus: ecs.TaskStatus{
			LastStatus:         ecs.TaskRunning,
			PullStartedAt:      time.Date(2026, 3, 1, 11, 59, 0, 0, time.UTC),
			PullStoppedAt:      time.Date(2026, 3, 1, 11, 59, 1, 0, time.UTC),
			PrivateIPv4Address: "127.0.0.5",
			MACAddress:         "02:42:ac:12:00:05",
			Containers: []ecs.ContainerStatus{
				{Name: "app", RuntimeID: "c1", LastStatus: ecs.ContainerRunning, ImageDigest: "sha256:aa",
					NetworkBindings: []ecsapi.NetworkBinding{{ContainerPort: ptr(int32(8080)), HostPort: ptr(int32(8080)),
						Protocol: ptr(ecsapi.TransportProtocol("tcp")), BindIP: ptr("0.0.0.0")}}},
				{Name: "sidecar", LastStatus: ecs.ContainerPending},
			},
		},
	}, nil
}

func ptr[T any](v T) *T { return &v }

func (f *fixture) register(t Task) Env {
	f.t.Helper()
	env, err := f.srv.Register(context.Background(), t)
	if err != nil {
		f.t.Fatalf("Register: %v", err)
	}
	return env
}

// get fetches a URL with an optional Authorization header.
func get(t *testing.T, u, auth string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func TestRegisterEnv(t *testing.T) {
	f := newFixture(t)
	env := f.register(sampleTask(runningStatus))
	app, side := env["app"], env["sidecar"]
	if app == nil || side == nil || len(env) != 2 {
		t.Fatalf("env by container: %v", env)
	}
	addrs := f.srv.Addresses()
	if len(addrs) != 1 || !strings.HasPrefix(addrs[0], "127.0.0.1:") {
		t.Fatalf("listening on %v, want one loopback address", addrs)
	}
	base := "http://" + addrs[0]
	want := map[string]string{
		EnvEndpointURL:   base,
		EnvRegion:        "us-east-1",
		EnvDefaultRegion: "us-east-1",
		EnvExecutionEnv:  "AWS_ECS_FARGATE",
	}
	for k, v := range want {
		if app[k] != v {
			t.Errorf("%s = %q, want %q", k, app[k], v)
		}
	}
	if !strings.HasPrefix(app[EnvFullURI], base+"/v2/credentials/") || app[EnvAuthToken] == "" || app[EnvRelativeURI] != "" {
		t.Errorf("credentials env: %v", app)
	}
	if app[EnvFullURI] != side[EnvFullURI] || app[EnvAuthToken] != side[EnvAuthToken] {
		t.Error("containers of one task have different credentials URLs")
	}
	if !strings.HasPrefix(app[EnvMetadataV4], base+"/v4/") || app[EnvMetadataV4] == side[EnvMetadataV4] {
		t.Errorf("metadata URLs: %q and %q, want one per container", app[EnvMetadataV4], side[EnvMetadataV4])
	}
	if strings.Replace(app[EnvMetadataV4], "/v4/", "/v3/", 1) != app[EnvMetadataV3] {
		t.Errorf("v3 URL %q", app[EnvMetadataV3])
	}

	// Registering again (a restart's re-adoption) gives the same env.
	again := f.register(sampleTask(runningStatus))
	if again["app"][EnvFullURI] != app[EnvFullURI] || again["app"][EnvMetadataV4] != app[EnvMetadataV4] {
		t.Error("registering again changed the URLs")
	}

	// No role, no credentials.
	noRole := sampleTask(runningStatus)
	noRole.TaskARN = strings.Replace(taskARN, "0123", "ffff", 1)
	noRole.TaskRoleARN = ""
	e2 := f.register(noRole)
	if _, ok := e2["app"][EnvFullURI]; ok {
		t.Errorf("a task without a role got %v", e2["app"])
	}
	if e2["app"][EnvMetadataV4] == app[EnvMetadataV4] {
		t.Error("two tasks share a metadata URL")
	}
}

func TestRegisterInvalid(t *testing.T) {
	f := newFixture(t)
	for name, mutate := range map[string]func(*Task){
		"bad arn":       func(t *Task) { t.TaskARN = "arn:aws:ecs:us-east-1:123456789012:cluster/apps" },
		"no containers": func(t *Task) { t.Containers = nil },
		"dup names":     func(t *Task) { t.Containers[1].Name = "app" },
		"other account": func(t *Task) { t.Account = "999999999999" },
	} {
		task := sampleTask(runningStatus)
		mutate(&task)
		if _, err := f.srv.Register(context.Background(), task); !errors.Is(err, ErrInvalidTask) {
			t.Errorf("%s: %v, want ErrInvalidTask", name, err)
		}
	}
}

func TestCredentials(t *testing.T) {
	f := newFixture(t)
	env := f.register(sampleTask(runningStatus))["app"]
	uri, token := env[EnvFullURI], env[EnvAuthToken]

	code, body := get(t, uri, token)
	if code != 200 {
		t.Fatalf("GET credentials: %d %s", code, body)
	}
	var c map[string]string
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "AccessKeyId,Expiration,RoleArn,SecretAccessKey,Token" {
		t.Errorf("credential fields %v", keys)
	}
	if c["RoleArn"] != roleARN || c["Expiration"] != "2026-03-01T13:00:00Z" || !strings.HasPrefix(c["AccessKeyId"], "ASIA") {
		t.Errorf("credentials %v", c)
	}

	// Cached while fresh; re-issued once two thirds of the hour went by.
	get(t, uri, token)
	if f.issuer.issued != 1 {
		t.Errorf("issued %d times, want once", f.issuer.issued)
	}
	f.clock = f.clock.Add(41 * time.Minute)
	_, body = get(t, uri, "")
	json.Unmarshal(body, &c)
	if f.issuer.issued != 2 || c["Expiration"] != "2026-03-01T13:41:00Z" {
		t.Errorf("after 41 minutes: issued %d, expiration %s", f.issuer.issued, c["Expiration"])
	}

	// Errors as the ECS agent gives them.
	base := uri[:strings.Index(uri, "/v2/")]
	for _, tc := range []struct {
		url, auth string
		code      int
		errCode   string
	}{
		{uri, "wrong-token", 401, "AccessDenied"},
		{base + "/v2/credentials/00000000-0000-0000-0000-000000000000", "", 400, "InvalidIdInRequest"},
		{base + "/v2/credentials/", "", 400, "NoIdInRequest"},
		{base + "/v2/credentials", "", 400, "NoIdInRequest"},
	} {
		code, body := get(t, tc.url, tc.auth)
		var e errorResponse
		json.Unmarshal(body, &e)
		if code != tc.code || e.Code != tc.errCode {
			t.Errorf("GET %s: %d %s, want %d %s", tc.url, code, body, tc.code, tc.errCode)
		}
	}

	// A role that does not trust ECS tasks, or is gone, gets none.
	f.issuer.untrusted[roleARN] = true
	f.clock = f.clock.Add(2 * time.Hour)
	if code, body := get(t, uri, token); code != 403 || !strings.Contains(string(body), "ecs-tasks.amazonaws.com") {
		t.Errorf("untrusted role: %d %s", code, body)
	}
	f.issuer.untrusted[roleARN] = false
	f.issuer.missing[roleARN] = true
	if code, body := get(t, uri, token); code != 404 || !strings.Contains(string(body), "NoCredentialsAssociated") {
		t.Errorf("deleted role: %d %s", code, body)
	}
}

// Tasks get their own role's credentials only: ids are per task (and per
// role), and a token does not open another task's URL.
func TestCredentialsIsolation(t *testing.T) {
	f := newFixture(t)
	a := f.register(sampleTask(runningStatus))["app"]
	other := sampleTask(runningStatus)
	other.TaskARN = strings.Replace(taskARN, "0123456789abcdef0123", "fedcba9876543210fedc", 1)
	other.TaskRoleARN = "arn:aws:iam::123456789012:role/other-role"
	b := f.register(other)["app"]
	if a[EnvFullURI] == b[EnvFullURI] {
		t.Fatal("two tasks share a credentials URL")
	}
	if code, _ := get(t, b[EnvFullURI], a[EnvAuthToken]); code != 401 {
		t.Errorf("task A's token opened task B's credentials: %d", code)
	}
	_, body := get(t, b[EnvFullURI], b[EnvAuthToken])
	if !strings.Contains(string(body), "other-role") || strings.Contains(string(body), "app-role") {
		t.Errorf("task B got %s", body)
	}

	if err := f.srv.Unregister(context.Background(), other.TaskARN); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, b[EnvFullURI], b[EnvAuthToken]); code != 400 {
		t.Errorf("credentials of an unregistered task: %d, want 400", code)
	}
	if code, _ := get(t, b[EnvMetadataV4], ""); code != 404 {
		t.Errorf("metadata of an unregistered task: %d, want 404", code)
	}
	if err := f.srv.Unregister(context.Background(), other.TaskARN); err != nil {
		t.Errorf("unregistering twice: %v", err)
	}
}

func TestMetadata(t *testing.T) {
	f := newFixture(t)
	created := time.Date(2026, 3, 1, 11, 59, 2, 500, time.UTC)
	f.engine.infos["c1"] = runtime.ContainerInfo{ID: "c1", Name: "ecs-web-3-app-1", ImageID: "sha256:bb",
		State: runtime.StateRunning, CreatedAt: created, StartedAt: created.Add(time.Second),
		Labels: map[string]string{LabelTaskARN: taskARN, LabelContainerName: "app"}}
	env := f.register(sampleTask(runningStatus))
	uri := env["app"][EnvMetadataV4]

	code, body := get(t, uri, "")
	if code != 200 {
		t.Fatalf("container metadata: %d %s", code, body)
	}
	var c map[string]any
	json.Unmarshal(body, &c)
	wantC := map[string]any{
		"DockerId": "c1", "Name": "app", "DockerName": "ecs-web-3-app-1", "Image": "app:v1", "ImageID": "sha256:bb",
		"DesiredStatus": "RUNNING", "KnownStatus": "RUNNING", "Type": "NORMAL", "LogDriver": "awslogs",
		"CreatedAt": "2026-03-01T11:59:02.0000005Z", "StartedAt": "2026-03-01T11:59:03.0000005Z",
	}
	for k, v := range wantC {
		if c[k] != v {
			t.Errorf("container %s = %v, want %v", k, c[k], v)
		}
	}
	if l, _ := c["Limits"].(map[string]any); l["CPU"] != 128.0 || l["Memory"] != 256.0 {
		t.Errorf("container Limits %v", c["Limits"])
	}
	if labels, _ := c["Labels"].(map[string]any); labels["com.amazonaws.ecs.task-arn"] != taskARN ||
		labels["com.amazonaws.ecs.task-definition-version"] != "3" {
		t.Errorf("Labels %v", c["Labels"])
	}
	nets, _ := c["Networks"].([]any)
	if len(nets) != 1 {
		t.Fatalf("Networks %v", c["Networks"])
	}
	n := nets[0].(map[string]any)
	if n["NetworkMode"] != "awsvpc" || n["IPv4Addresses"].([]any)[0] != "127.0.0.5" || n["AttachmentIndex"] != 0.0 ||
		n["IPv4SubnetCIDRBlock"] != "127.0.0.0/8" || n["SubnetGatewayIpv4Address"] != "127.0.0.1/8" ||
		n["PrivateDNSName"] != "ip-127-0-0-5.ec2.internal" || n["MACAddress"] != "02:42:ac:12:00:05" {
		t.Errorf("Networks[0] %v", n)
	}
	if ports, _ := c["Ports"].([]any); len(ports) != 1 || ports[0].(map[string]any)["HostPort"] != 8080.0 {
		t.Errorf("Ports %v", c["Ports"])
	}
	if _, ok := c["ExitCode"]; ok {
		t.Error("a running container has an ExitCode")
	}

	code, body = get(t, uri+"/task", "")
	if code != 200 {
		t.Fatalf("task metadata: %d %s", code, body)
	}
	var task map[string]any
	json.Unmarshal(body, &task)
	wantT := map[string]any{
		"Cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/apps", "TaskARN": taskARN, "Family": "web",
		"Revision": "3", "DesiredStatus": "RUNNING", "KnownStatus": "RUNNING", "LaunchType": "FARGATE",
		"PullStartedAt": "2026-03-01T11:59:00Z", "PullStoppedAt": "2026-03-01T11:59:01Z",
	}
	for k, v := range wantT {
		if task[k] != v {
			t.Errorf("task %s = %v, want %v", k, task[k], v)
		}
	}
	if l, _ := task["Limits"].(map[string]any); l["CPU"] != 0.25 || l["Memory"] != 512.0 {
		t.Errorf("task Limits %v", task["Limits"])
	}
	cs, _ := task["Containers"].([]any)
	if len(cs) != 2 || cs[1].(map[string]any)["Name"] != "sidecar" || cs[1].(map[string]any)["KnownStatus"] != "NONE" {
		t.Errorf("task Containers %v", cs)
	}

	code, body = get(t, uri+"/stats", "")
	if code != 200 || !strings.Contains(string(body), `"memory_stats"`) {
		t.Errorf("container stats: %d %s", code, body)
	}
	code, body = get(t, uri+"/task/stats", "")
	var stats map[string]json.RawMessage
	json.Unmarshal(body, &stats)
	if code != 200 || len(stats) != 1 || stats["c1"] == nil {
		t.Errorf("task stats: %d %s", code, body)
	}
	// The sidecar has not started: it has no stats.
	if code, body := get(t, env["sidecar"][EnvMetadataV4]+"/stats", ""); code != 404 {
		t.Errorf("stats of a container not started: %d %s", code, body)
	}
	// v3 answers too.
	if code, _ := get(t, env["app"][EnvMetadataV3]+"/task", ""); code != 200 {
		t.Errorf("v3 task metadata: %d", code)
	}
	// Unknown ids are 404, with the agent's JSON string.
	base := uri[:strings.Index(uri, "/v4/")]
	if code, body := get(t, base+"/v4/nope/task", ""); code != 404 || !strings.HasPrefix(string(body), `"V4 task metadata handler: `) {
		t.Errorf("unknown id: %d %s", code, body)
	}
	// Other paths are the AWS API's.
	if _, body := get(t, base+"/", ""); string(body) != "api:/" {
		t.Errorf("fallback to the API: %s", body)
	}
}

// After a restart the same key and store answer at the same URLs:
// credentials at once, metadata once the agent registers the task again.
func TestRestart(t *testing.T) {
	f := newFixture(t)
	env := f.register(sampleTask(runningStatus))["app"]
	f.srv.Close()

	srv := f.open()
	f.srv = srv
	if _, err := srv.lis.ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The port is remembered; on loopback the old one is free again.
	u, _ := url.Parse(env[EnvFullURI])
	if got := srv.Addresses(); len(got) != 1 || got[0] != u.Host {
		t.Fatalf("listening on %v after restart, want %s", got, u.Host)
	}
	if code, body := get(t, env[EnvFullURI], env[EnvAuthToken]); code != 200 {
		t.Errorf("credentials after restart: %d %s", code, body)
	}
	if code, _ := get(t, env[EnvMetadataV4], ""); code != 503 {
		t.Errorf("metadata before re-registration: %d, want 503", code)
	}
	again := f.register(sampleTask(runningStatus))["app"]
	for _, k := range []string{EnvFullURI, EnvAuthToken, EnvMetadataV4, EnvEndpointURL} {
		if again[k] != env[k] {
			t.Errorf("%s changed across the restart: %q → %q", k, env[k], again[k])
		}
	}
	if code, _ := get(t, env[EnvMetadataV4], ""); code != 200 {
		t.Errorf("metadata after re-registration: %d", code)
	}
	if got := srv.Tasks(); len(got) != 1 || got[0] != taskARN {
		t.Errorf("Tasks() = %v", got)
	}
}

// aws-sdk-go-v2's default chain takes the environment Register gives and
// fetches the task role's credentials from the endpoint.
func TestSDKDefaultChain(t *testing.T) {
	f := newFixture(t)
	env := f.register(sampleTask(runningStatus))["app"]
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		EnvRelativeURI, "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatalf("the SDK could not get the task's credentials: %v", err)
	}
	if !strings.HasPrefix(creds.AccessKeyID, "ASIA") || creds.SessionToken != "token" || cfg.Region != "us-east-1" {
		t.Errorf("SDK credentials %+v, region %s", creds, cfg.Region)
	}
}

func TestMerge(t *testing.T) {
	got := Merge(map[string]string{"AWS_REGION": "eu-west-1", "A": "1", EnvFullURI: "mine"},
		map[string]string{"AWS_REGION": "us-east-1", EnvDefaultRegion: "us-east-1", EnvFullURI: "berth"})
	want := map[string]string{"AWS_REGION": "eu-west-1", "A": "1", EnvDefaultRegion: "us-east-1", EnvFullURI: "berth"}
	if len(got) != len(want) {
		t.Fatalf("Merge = %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Merge[%s] = %q, want %q", k, got[k], v)
		}
	}
}

func TestSizes(t *testing.T) {
	for in, want := range map[string]float64{"256": 0.25, "1 vCPU": 1, "0.5 vcpu": 0.5, "4096": 4} {
		if got, ok := taskCPU(in); !ok || got != want {
			t.Errorf("taskCPU(%q) = %v %v", in, got, ok)
		}
	}
	for in, want := range map[string]int64{"512": 512, "1 GB": 1024, "2gb": 2048, "0.5 GB": 512} {
		if got, ok := taskMemory(in); !ok || got != want {
			t.Errorf("taskMemory(%q) = %v %v", in, got, ok)
		}
	}
	if _, ok := taskCPU("lots"); ok {
		t.Error("taskCPU accepted nonsense")
	}
	if got := sessionName("arn:aws:ecs:us-east-1:1:task/c/abc"); got != "abc" {
		t.Errorf("sessionName = %q", got)
	}
}

// A container asking about itself right after it started is running, even
// before the agent's report says so: the runtime's view wins.
func TestMetadataAheadOfStatus(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"app", "sidecar"} {
		f.engine.infos[runtime.ContainerID("id-"+name)] = runtime.ContainerInfo{ID: runtime.ContainerID("id-" + name),
			State: runtime.StateRunning, Labels: map[string]string{LabelTaskARN: taskARN, LabelContainerName: name}}
	}
	pending := func(context.Context) (Status, error) {
		return Status{DesiredStatus: ecs.TaskRunning, TaskStatus: ecs.TaskStatus{LastStatus: ecs.TaskPending,
			Containers: []ecs.ContainerStatus{{Name: "app", LastStatus: ecs.ContainerPending}, {Name: "sidecar", LastStatus: ecs.ContainerPending}}}}, nil
	}
	env := f.register(sampleTask(pending))
	_, body := get(t, env["app"][EnvMetadataV4]+"/task", "")
	var task struct {
		KnownStatus string
		Containers  []struct{ DockerId, KnownStatus string }
	}
	json.Unmarshal(body, &task)
	if task.KnownStatus != "RUNNING" || len(task.Containers) != 2 || task.Containers[0].DockerId != "id-app" ||
		task.Containers[1].KnownStatus != "RUNNING" {
		t.Errorf("task metadata %s", body)
	}
	delete(f.engine.infos, "id-sidecar")
	_, body = get(t, env["app"][EnvMetadataV4]+"/task", "")
	json.Unmarshal(body, &task)
	if task.KnownStatus != "NONE" && task.KnownStatus != "CREATED" {
		t.Errorf("with one container missing, KnownStatus %s", task.KnownStatus)
	}
}
