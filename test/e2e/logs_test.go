package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/berth-dev/berth/test/harness"
)

// CloudWatch Logs end to end: the aws CLI v1 and v2 (including `aws logs
// tail` with and without --follow), boto3 and aws-sdk-go-v2's signer.

func nowMS() int64 { return time.Now().UnixMilli() }

// logEventsFile writes a --log-events file for put-log-events.
func logEventsFile(t *testing.T, events ...any) string {
	t.Helper()
	var list []map[string]any
	for i := 0; i < len(events); i += 2 {
		list = append(list, map[string]any{"timestamp": events[i], "message": events[i+1]})
	}
	data, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "events.json")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return "file://" + p
}

func TestLogsWithAWSCLIv1(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	aws := func(args ...string) *harness.Result {
		t.Helper()
		return b.AWS(t, append([]string{"logs"}, args...)...)
	}
	const group = "/ecs/e2e-app"

	aws("create-log-group", "--log-group-name", group, "--tags", "team=platform,env=test").Must(t)
	assertCode(t, aws("create-log-group", "--log-group-name", group), "ResourceAlreadyExistsException")
	assertCode(t, aws("create-log-group", "--log-group-name", "bad name!"), "InvalidParameterException")

	var groups struct {
		LogGroups []struct {
			LogGroupName    string
			Arn             string
			LogGroupArn     string
			CreationTime    int64
			RetentionInDays int
			StoredBytes     *int64
			LogGroupClass   string
		}
	}
	aws("describe-log-groups", "--log-group-name-prefix", "/ecs/").Must(t).JSON(t, &groups)
	if len(groups.LogGroups) != 1 {
		t.Fatalf("describe-log-groups = %+v", groups)
	}
	g := groups.LogGroups[0]
	wantARN := "arn:aws:logs:us-east-1:000000000000:log-group:" + group
	if g.Arn != wantARN+":*" || g.LogGroupArn != wantARN || g.StoredBytes == nil || *g.StoredBytes != 0 || g.LogGroupClass != "STANDARD" {
		t.Errorf("group = %+v", g)
	}
	if d := time.Since(time.UnixMilli(g.CreationTime)); d < 0 || d > time.Minute {
		t.Errorf("creationTime %d is not now", g.CreationTime)
	}
	var tags struct{ Tags map[string]string }
	aws("list-tags-for-resource", "--resource-arn", wantARN).Must(t).JSON(t, &tags)
	if tags.Tags["team"] != "platform" || tags.Tags["env"] != "test" {
		t.Errorf("tags = %v", tags.Tags)
	}
	aws("tag-resource", "--resource-arn", wantARN, "--tags", "owner=me").Must(t)
	aws("untag-resource", "--resource-arn", wantARN, "--tag-keys", "env").Must(t)
	tags.Tags = nil // JSON decoding merges into a map
	aws("list-tags-log-group", "--log-group-name", group).Must(t).JSON(t, &tags)
	if len(tags.Tags) != 2 || tags.Tags["owner"] != "me" {
		t.Errorf("tags after tag/untag = %v", tags.Tags)
	}

	aws("put-retention-policy", "--log-group-name", group, "--retention-in-days", "14").Must(t)
	assertCode(t, aws("put-retention-policy", "--log-group-name", group, "--retention-in-days", "4"), "InvalidParameterException")
	assertCode(t, aws("put-retention-policy", "--log-group-name", "/nope", "--retention-in-days", "7"), "ResourceNotFoundException")
	aws("describe-log-groups", "--log-group-name-prefix", group).Must(t).JSON(t, &groups)
	if groups.LogGroups[0].RetentionInDays != 14 {
		t.Errorf("retention = %d", groups.LogGroups[0].RetentionInDays)
	}

	aws("create-log-stream", "--log-group-name", group, "--log-stream-name", "web/web/task1").Must(t)
	aws("create-log-stream", "--log-group-name", group, "--log-stream-name", "worker/worker/task2").Must(t)
	assertCode(t, aws("create-log-stream", "--log-group-name", group, "--log-stream-name", "web/web/task1"), "ResourceAlreadyExistsException")
	assertCode(t, aws("create-log-stream", "--log-group-name", "/nope", "--log-stream-name", "s"), "ResourceNotFoundException")

	now := nowMS()
	var put struct {
		NextSequenceToken     string
		RejectedLogEventsInfo map[string]int
	}
	aws("put-log-events", "--log-group-name", group, "--log-stream-name", "web/web/task1", "--log-events",
		logEventsFile(t, now-3000, "GET /health 200", now-2000, "ERROR database timeout", now-1000, `{"level":"error","latency":250}`)).
		Must(t).JSON(t, &put)
	if put.NextSequenceToken == "" || put.RejectedLogEventsInfo != nil {
		t.Errorf("put-log-events = %+v", put)
	}
	// Sequence tokens are ignored: an old or bogus one is accepted, and
	// DataAlreadyAcceptedException / InvalidSequenceTokenException are
	// never returned, as AWS does since 2023.
	for range 2 {
		aws("put-log-events", "--log-group-name", group, "--log-stream-name", "worker/worker/task2",
			"--sequence-token", "49039859613988222455891276424012849929409734722346958306",
			"--log-events", logEventsFile(t, now-1500, "WARN slow job", now-500, `{"level":"info","latency":20}`)).Must(t)
	}
	// Too old and too new events are reported, the rest stored.
	aws("put-log-events", "--log-group-name", group, "--log-stream-name", "worker/worker/task2", "--log-events",
		logEventsFile(t, now-15*24*3600*1000, "ancient", now-400, "fresh", now+3*3600*1000, "future")).Must(t).JSON(t, &put)
	if put.RejectedLogEventsInfo["tooOldLogEventEndIndex"] != 1 || put.RejectedLogEventsInfo["tooNewLogEventStartIndex"] != 2 {
		t.Errorf("rejectedLogEventsInfo = %v", put.RejectedLogEventsInfo)
	}
	assertCode(t, aws("put-log-events", "--log-group-name", group, "--log-stream-name", "worker/worker/task2", "--log-events",
		logEventsFile(t, now, "b", now-10, "a")), "InvalidParameterException")
	assertCode(t, aws("put-log-events", "--log-group-name", group, "--log-stream-name", "missing", "--log-events",
		logEventsFile(t, now, "x")), "ResourceNotFoundException")

	var got struct {
		Events []struct {
			Timestamp, IngestionTime int64
			Message                  string
		}
		NextForwardToken, NextBackwardToken string
	}
	aws("get-log-events", "--log-group-name", group, "--log-stream-name", "web/web/task1", "--start-from-head").Must(t).JSON(t, &got)
	if len(got.Events) != 3 || got.Events[0].Message != "GET /health 200" || got.Events[0].Timestamp != now-3000 ||
		!strings.HasPrefix(got.NextForwardToken, "f/") || !strings.HasPrefix(got.NextBackwardToken, "b/") {
		t.Fatalf("get-log-events = %+v", got)
	}
	fwd := got.NextForwardToken
	aws("get-log-events", "--log-group-name", group, "--log-stream-name", "web/web/task1", "--start-from-head", "--next-token", fwd).Must(t).JSON(t, &got)
	if len(got.Events) != 0 || got.NextForwardToken != fwd {
		t.Errorf("at the end of the stream: %d events, token %s, want the same token %s", len(got.Events), got.NextForwardToken, fwd)
	}

	filter := func(args ...string) []string {
		t.Helper()
		var out struct {
			Events []struct{ LogStreamName, Message, EventId string }
		}
		aws(append([]string{"filter-log-events", "--log-group-name", group}, args...)...).Must(t).JSON(t, &out)
		var msgs []string
		for _, e := range out.Events {
			msgs = append(msgs, e.Message)
		}
		return msgs
	}
	for _, c := range []struct {
		pattern string
		want    []string
	}{
		// In timestamp order across both streams.
		{"", []string{"GET /health 200", "ERROR database timeout", "WARN slow job", "WARN slow job", `{"level":"error","latency":250}`, `{"level":"info","latency":20}`, `{"level":"info","latency":20}`, "fresh"}},
		{"ERROR", []string{"ERROR database timeout"}},
		{"?ERROR ?WARN", []string{"ERROR database timeout", "WARN slow job", "WARN slow job"}},
		{`"database timeout"`, []string{"ERROR database timeout"}},
		{"-WARN -level", []string{"GET /health 200", "ERROR database timeout", "fresh"}},
		{`{ $.level = "error" }`, []string{`{"level":"error","latency":250}`}},
		{`{ $.latency > 100 }`, []string{`{"level":"error","latency":250}`}},
		{`{ $.level = "info" && $.latency < 100 }`, []string{`{"level":"info","latency":20}`, `{"level":"info","latency":20}`}},
		{`[method, path, status=2*]`, []string{"GET /health 200"}},
	} {
		if got := filter("--filter-pattern", c.pattern); strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("filter %q = %q, want %q", c.pattern, got, c.want)
		}
	}
	if got := filter("--log-stream-name-prefix", "worker/", "--filter-pattern", "WARN"); len(got) != 2 {
		t.Errorf("prefix + pattern = %q", got)
	}
	if got := filter("--log-stream-names", "web/web/task1", "--start-time", fmt.Sprint(now-2000), "--end-time", fmt.Sprint(now-1000)); len(got) != 2 {
		t.Errorf("time range = %q", got)
	}
	// The CLI pages with nextToken: --page-size 1 makes one call per event.
	if got := filter("--page-size", "1"); len(got) != 8 {
		t.Errorf("paged filter = %d events", len(got))
	}
	assertCode(t, aws("filter-log-events", "--log-group-name", group, "--filter-pattern", `{ $.level = `), "InvalidParameterException")
	assertCode(t, aws("filter-log-events", "--log-group-name", "/nope"), "ResourceNotFoundException")

	var streams struct {
		LogStreams []struct {
			LogStreamName                                              string
			Arn                                                        string
			FirstEventTimestamp, LastEventTimestamp, LastIngestionTime int64
		}
	}
	aws("describe-log-streams", "--log-group-name", group, "--order-by", "LastEventTime", "--descending").Must(t).JSON(t, &streams)
	if len(streams.LogStreams) != 2 || streams.LogStreams[0].LogStreamName != "worker/worker/task2" ||
		streams.LogStreams[0].LastEventTimestamp != now-400 || streams.LogStreams[1].FirstEventTimestamp != now-3000 ||
		streams.LogStreams[1].Arn != wantARN+":log-stream:web/web/task1" || streams.LogStreams[0].LastIngestionTime == 0 {
		t.Errorf("describe-log-streams = %+v", streams)
	}
	assertCode(t, aws("describe-log-streams", "--log-group-name", group, "--order-by", "LastEventTime", "--log-stream-name-prefix", "w"), "InvalidParameterException")

	aws("describe-log-groups", "--log-group-name-prefix", group).Must(t).JSON(t, &groups)
	if sb := *groups.LogGroups[0].StoredBytes; sb == 0 {
		t.Errorf("storedBytes = 0 after events were stored")
	}
	aws("delete-log-stream", "--log-group-name", group, "--log-stream-name", "web/web/task1").Must(t)
	assertCode(t, aws("get-log-events", "--log-group-name", group, "--log-stream-name", "web/web/task1"), "ResourceNotFoundException")
	aws("delete-retention-policy", "--log-group-name", group).Must(t)
	aws("delete-log-group", "--log-group-name", group).Must(t)
	assertCode(t, aws("delete-log-group", "--log-group-name", group), "ResourceNotFoundException")

	// Account isolation: a 12-digit access key id is another account.
	other := b.As("111111111111", "x")
	other.AWS(t, "logs", "create-log-group", "--log-group-name", group).Must(t)
	aws("describe-log-groups").Must(t).JSON(t, &groups)
	if len(groups.LogGroups) != 0 {
		t.Errorf("the default account sees another account's groups: %+v", groups.LogGroups)
	}
}

// awsV2 finds the aws CLI v2 as the harness does, for commands that must
// run in the background.
func awsV2(t *testing.T) string {
	t.Helper()
	var candidates []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir != "" {
			candidates = append(candidates, filepath.Join(dir, "aws"))
		}
	}
	candidates = append(candidates, "/usr/bin/aws")
	for _, c := range candidates {
		out, err := exec.Command(c, "--version").CombinedOutput()
		if err == nil && strings.HasPrefix(string(out), "aws-cli/2.") {
			return c
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("aws CLI v2 is required under CI")
	}
	t.Skip("aws CLI v2 is not available")
	return ""
}

// lineCollector gathers the lines a background command prints.
type lineCollector struct {
	mu    sync.Mutex
	lines []string
}

func (c *lineCollector) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		c.mu.Lock()
		c.lines = append(c.lines, sc.Text())
		c.mu.Unlock()
	}
}

func (c *lineCollector) snapshot() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

// countSuffix counts the lines that end with msg.
func countSuffix(lines []string, msg string) int {
	n := 0
	for _, l := range lines {
		if strings.HasSuffix(l, " "+msg) {
			n++
		}
	}
	return n
}

func TestLogsTailWithAWSCLIv2(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	v2 := func(args ...string) *harness.Result {
		t.Helper()
		return b.AWSv2(t, append([]string{"logs"}, args...)...)
	}
	const group = "/ecs/tail"
	v2("create-log-group", "--log-group-name", group).Must(t)
	v2("create-log-stream", "--log-group-name", group, "--log-stream-name", "app/web/t1").Must(t)
	v2("create-log-stream", "--log-group-name", group, "--log-stream-name", "app/web/t2").Must(t)
	putEvents := func(stream string, events ...any) {
		t.Helper()
		v2("put-log-events", "--log-group-name", group, "--log-stream-name", stream, "--log-events", logEventsFile(t, events...)).Must(t)
	}
	now := nowMS()
	putEvents("app/web/t1", now-5000, "first line", now-3000, "ERROR boom")
	putEvents("app/web/t2", now-4000, "second line", now-3000, "same ms as boom")

	// Without --follow: everything since --since, interleaved in time
	// order, then exit.
	r := v2("tail", group, "--since", "1h").Must(t)
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	var order []string
	for _, l := range lines {
		f := strings.SplitN(l, " ", 3)
		if len(f) != 3 {
			t.Fatalf("tail line %q is not 'timestamp stream message'", l)
		}
		order = append(order, f[1]+":"+f[2])
	}
	want := "app/web/t1:first line|app/web/t2:second line|app/web/t1:ERROR boom|app/web/t2:same ms as boom"
	if strings.Join(order, "|") != want {
		t.Errorf("tail =\n%s\nwant %s", r.Stdout, want)
	}
	r = v2("tail", group, "--since", "1h", "--filter-pattern", "ERROR", "--format", "short").Must(t)
	if lines := strings.Split(strings.TrimSpace(r.Stdout), "\n"); len(lines) != 1 || !strings.HasSuffix(lines[0], " ERROR boom") {
		t.Errorf("tail --filter-pattern ERROR --format short = %q", r.Stdout)
	}
	r = v2("tail", group, "--since", "1h", "--log-stream-name-prefix", "app/web/t2").Must(t)
	if n := len(strings.Split(strings.TrimSpace(r.Stdout), "\n")); n != 2 {
		t.Errorf("tail --log-stream-name-prefix = %q", r.Stdout)
	}
	assertCode(t, v2("tail", "/no/such/group"), "ResourceNotFoundException")

	// With --follow, in the background: it polls FilterLogEvents every 5 s
	// from the newest timestamp it saw. Events put while it runs, including
	// ones at that same millisecond, appear exactly once.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, awsV2(t), "--endpoint-url", b.Endpoint(), "logs", "tail", group, "--follow", "--since", "1h")
	cmd.Env = b.AWSEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out lineCollector
	readDone := make(chan struct{})
	go func() { out.read(stdout); close(readDone) }()
	defer func() {
		cmd.Process.Kill()
		<-readDone
		cmd.Wait()
	}()
	waitFor := func(msgs ...string) {
		t.Helper()
		deadline := time.Now().Add(45 * time.Second)
		for {
			lines := out.snapshot()
			missing := ""
			for _, m := range msgs {
				if countSuffix(lines, m) == 0 {
					missing = m
					break
				}
			}
			if missing == "" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("tail --follow never printed %q\nstdout:\n%s\nstderr:\n%s", missing, strings.Join(lines, "\n"), stderr.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitFor("first line", "same ms as boom")
	last := now - 3000
	putEvents("app/web/t1", last, "late at the same ms", nowMS(), "follow one")
	putEvents("app/web/t2", nowMS(), "follow two")
	waitFor("late at the same ms", "follow one", "follow two")
	putEvents("app/web/t1", nowMS(), "follow three")
	waitFor("follow three")
	for _, m := range []string{"first line", "second line", "ERROR boom", "same ms as boom", "late at the same ms", "follow one", "follow two", "follow three"} {
		if n := countSuffix(out.snapshot(), m); n != 1 {
			t.Errorf("tail --follow printed %q %d times, want once\n%s", m, n, strings.Join(out.snapshot(), "\n"))
		}
	}
}

const logsBoto3Script = `
import json, time
import boto3, botocore

logs = boto3.client("logs")
out = {}

def code(f, **kw):
    try:
        f(**kw)
        return "OK"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]

g = "/boto3/app"
logs.create_log_group(logGroupName=g, logGroupClass="INFREQUENT_ACCESS", tags={"a": "b"})
out["dup"] = code(logs.create_log_group, logGroupName=g)
for s in ["s1", "s2", "s3"]:
    logs.create_log_stream(logGroupName=g, logStreamName=s)

now = int(time.time() * 1000)
for i, s in enumerate(["s1", "s2", "s3"]):
    events = [{"timestamp": now - 60000 + j * 10 + i, "message": "%s line %d %s" % (s, j, "ERROR" if j % 10 == 0 else "ok")} for j in range(100)]
    r = logs.put_log_events(logGroupName=g, logStreamName=s, logEvents=events)
    out.setdefault("tokens", []).append(len(r["nextSequenceToken"]))

# filter_log_events through boto3's paginator, small pages.
seen = []
for page in logs.get_paginator("filter_log_events").paginate(logGroupName=g, PaginationConfig={"PageSize": 7}):
    seen.extend(e["eventId"] for e in page["events"])
out["filtered_total"] = len(seen)
out["filtered_unique"] = len(set(seen))
out["errors"] = len(logs.filter_log_events(logGroupName=g, filterPattern="ERROR")["events"])
out["errors_s2"] = len(logs.filter_log_events(logGroupName=g, filterPattern="ERROR", logStreamNames=["s2"])["events"])

# get_log_events forwards by token until the token repeats.
token, n = None, 0
while True:
    kw = {"logGroupName": g, "logStreamName": "s1", "startFromHead": True, "limit": 30}
    if token:
        kw["nextToken"] = token
    r = logs.get_log_events(**kw)
    n += len(r["events"])
    if r["nextForwardToken"] == token:
        break
    token = r["nextForwardToken"]
out["get_forward"] = n

# describe_log_streams paginator by last event time, descending.
names = []
for page in logs.get_paginator("describe_log_streams").paginate(logGroupName=g, orderBy="LastEventTime", descending=True, PaginationConfig={"PageSize": 1}):
    names.extend(s["logStreamName"] for s in page["logStreams"])
out["streams"] = names

grp = logs.describe_log_groups(logGroupNamePrefix=g)["logGroups"][0]
out["class"] = grp["logGroupClass"]
out["stored"] = grp["storedBytes"]
out["tags"] = logs.list_tags_for_resource(resourceArn=grp["logGroupArn"])["tags"]

out["missing_group"] = code(logs.describe_log_streams, logGroupName="/nope")
out["missing_stream"] = code(logs.get_log_events, logGroupName=g, logStreamName="nope")
out["bad_order"] = code(logs.put_log_events, logGroupName=g, logStreamName="s1",
                        logEvents=[{"timestamp": now, "message": "b"}, {"timestamp": now - 1, "message": "a"}])
out["bad_pattern"] = code(logs.filter_log_events, logGroupName=g, filterPattern="{ $.x = ")
out["bad_retention"] = code(logs.put_retention_policy, logGroupName=g, retentionInDays=2)
logs.put_retention_policy(logGroupName=g, retentionInDays=1)
r = logs.put_log_events(logGroupName=g, logStreamName="s1", logEvents=[
    {"timestamp": now - 2 * 86400000, "message": "expired"}, {"timestamp": now, "message": "kept"}])
out["expired"] = r.get("rejectedLogEventsInfo", {})
logs.delete_log_group(logGroupName=g)
out["deleted"] = code(logs.delete_log_group, logGroupName=g)
print(json.dumps(out))
`

func TestLogsWithBoto3(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	var got struct {
		Dup            string
		Tokens         []int
		FilteredTotal  int `json:"filtered_total"`
		FilteredUnique int `json:"filtered_unique"`
		Errors         int
		ErrorsS2       int `json:"errors_s2"`
		GetForward     int `json:"get_forward"`
		Streams        []string
		Class          string
		Stored         int64
		Tags           map[string]string
		MissingGroup   string         `json:"missing_group"`
		MissingStream  string         `json:"missing_stream"`
		BadOrder       string         `json:"bad_order"`
		BadPattern     string         `json:"bad_pattern"`
		BadRetention   string         `json:"bad_retention"`
		Expired        map[string]int `json:"expired"`
		Deleted        string
	}
	b.Python(t, logsBoto3Script).Must(t).JSON(t, &got)
	if got.Dup != "ResourceAlreadyExistsException" || got.MissingGroup != "ResourceNotFoundException" ||
		got.MissingStream != "ResourceNotFoundException" || got.BadOrder != "InvalidParameterException" ||
		got.BadPattern != "InvalidParameterException" || got.BadRetention != "InvalidParameterException" ||
		got.Deleted != "ResourceNotFoundException" {
		t.Errorf("error codes: %+v", got)
	}
	if got.FilteredTotal != 300 || got.FilteredUnique != 300 || got.Errors != 30 || got.ErrorsS2 != 10 || got.GetForward != 100 {
		t.Errorf("counts: %+v", got)
	}
	if strings.Join(got.Streams, ",") != "s3,s2,s1" || got.Class != "INFREQUENT_ACCESS" || got.Stored == 0 || got.Tags["a"] != "b" {
		t.Errorf("describe: %+v", got)
	}
	if got.Expired["expiredLogEventEndIndex"] != 1 || len(got.Tokens) != 3 || got.Tokens[0] != 56 {
		t.Errorf("put: %+v", got)
	}
}

// logsCall signs a CloudWatch Logs request with aws-sdk-go-v2's SigV4
// signer, as every Go SDK client does, and returns the status, the error
// type header and the decoded body.
func logsCall(t *testing.T, b *harness.Berth, op string, in any) (int, string, map[string]any) {
	t.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, b.Endpoint()+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Logs_20140328."+op)
	sum := sha256.Sum256(body)
	cfg := b.SDKConfig(context.Background())
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "logs", cfg.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: body is not JSON: %v", op, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		t.Errorf("%s: Content-Type %q", op, ct)
	}
	return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), out
}

func TestLogsWireWithGoSigner(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithCredentials(testKey, testSecret))
	if st, _, out := logsCall(t, b, "CreateLogGroup", map[string]any{"logGroupName": "go"}); st != 200 {
		t.Fatalf("CreateLogGroup: %d %v", st, out)
	}
	if st, typ, out := logsCall(t, b, "CreateLogGroup", map[string]any{"logGroupName": "go"}); st != 400 ||
		typ != "ResourceAlreadyExistsException" || out["__type"] != "ResourceAlreadyExistsException" {
		t.Errorf("duplicate: %d %q %v", st, typ, out)
	}
	logsCall(t, b, "CreateLogStream", map[string]any{"logGroupName": "go", "logStreamName": "s"})
	now := nowMS()
	if st, _, out := logsCall(t, b, "PutLogEvents", map[string]any{"logGroupName": "go", "logStreamName": "s",
		"logEvents": []map[string]any{{"timestamp": now, "message": "hello from Go"}}}); st != 200 {
		t.Fatalf("PutLogEvents: %d %v", st, out)
	}
	_, _, out := logsCall(t, b, "FilterLogEvents", map[string]any{"logGroupName": "go", "filterPattern": `"from Go"`})
	events, _ := out["events"].([]any)
	if len(events) != 1 {
		t.Fatalf("FilterLogEvents = %v", out)
	}
	e := events[0].(map[string]any)
	// Timestamps are integer epoch milliseconds on this wire, not the
	// fractional seconds of the timestamp shape.
	if ts, ok := e["timestamp"].(float64); !ok || int64(ts) != now {
		t.Errorf("timestamp = %v, want %d", e["timestamp"], now)
	}
	if id, _ := e["eventId"].(string); len(id) != 56 {
		t.Errorf("eventId = %v", e["eventId"])
	}
	if st, typ, _ := logsCall(t, b, "PutLogEvents", map[string]any{"logGroupName": "go", "logStreamName": "s", "logEvents": []any{}}); st != 400 || typ != "InvalidParameterException" {
		t.Errorf("empty batch: %d %s", st, typ)
	}
	if st, typ, _ := logsCall(t, b, "DescribeImportTasks", map[string]any{}); st != 501 || typ != "NotImplementedException" {
		t.Errorf("an operation Berth lacks: %d %s", st, typ)
	}
}
