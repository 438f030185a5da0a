package logs

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store/sqlite"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newService(t testing.TB) (*Service, *clock) {
	t.Helper()
	st, err := sqlite.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	s, err := New(Options{Store: st, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s, clk
}

var ctx0 = awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: "123456789012", Region: "eu-west-1"})

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	e := awsapi.AsError(err)
	if e == nil || e.Code != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func mkGroup(t *testing.T, s *Service, name string) {
	t.Helper()
	if _, err := s.CreateLogGroup(ctx0, &logsapi.CreateLogGroupInput{LogGroupName: &name}); err != nil {
		t.Fatal(err)
	}
}

func mkStream(t *testing.T, s *Service, group, name string) {
	t.Helper()
	if _, err := s.CreateLogStream(ctx0, &logsapi.CreateLogStreamInput{LogGroupName: &group, LogStreamName: &name}); err != nil {
		t.Fatal(err)
	}
}

func put(t *testing.T, s *Service, group, stream string, ts []int64, msgs ...string) *logsapi.PutLogEventsOutput {
	t.Helper()
	in := &logsapi.PutLogEventsInput{LogGroupName: &group, LogStreamName: &stream}
	for i := range ts {
		in.LogEvents = append(in.LogEvents, logsapi.InputLogEvent{Timestamp: &ts[i], Message: &msgs[i]})
	}
	out, err := s.PutLogEvents(ctx0, in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGroups(t *testing.T) {
	s, clk := newService(t)
	mkGroup(t, s, "/ecs/app")
	_, err := s.CreateLogGroup(ctx0, &logsapi.CreateLogGroupInput{LogGroupName: ptr("/ecs/app")})
	wantCode(t, err, "ResourceAlreadyExistsException")
	_, err = s.CreateLogGroup(ctx0, &logsapi.CreateLogGroupInput{LogGroupName: ptr("aws/x")})
	wantCode(t, err, "InvalidParameterException")
	class := logsapi.LogGroupClassInfrequentAccess
	must[*logsapi.CreateLogGroupOutput](t)(s.CreateLogGroup(ctx0, &logsapi.CreateLogGroupInput{
		LogGroupName: ptr("/ecs/other"), LogGroupClass: &class, Tags: map[string]string{"team": "a"}, KmsKeyId: ptr("arn:aws:kms:eu-west-1:123456789012:key/k"),
	}))
	// Another account does not see them.
	other := awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: "210987654321", Region: "eu-west-1"})
	out := must[*logsapi.DescribeLogGroupsOutput](t)(s.DescribeLogGroups(other, &logsapi.DescribeLogGroupsInput{}))
	if len(out.LogGroups) != 0 {
		t.Fatalf("other account sees %d groups", len(out.LogGroups))
	}

	out = must[*logsapi.DescribeLogGroupsOutput](t)(s.DescribeLogGroups(ctx0, &logsapi.DescribeLogGroupsInput{}))
	if len(out.LogGroups) != 2 || *out.LogGroups[0].LogGroupName != "/ecs/app" {
		t.Fatalf("groups = %+v", out.LogGroups)
	}
	g := out.LogGroups[0]
	if *g.Arn != "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/app:*" ||
		*g.LogGroupArn != "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/app" {
		t.Errorf("ARNs: %s %s", *g.Arn, *g.LogGroupArn)
	}
	if *g.CreationTime != clk.Now().UnixMilli() || *g.StoredBytes != 0 || g.RetentionInDays != nil || *g.LogGroupClass != "STANDARD" {
		t.Errorf("group = %+v", g)
	}
	if *out.LogGroups[1].LogGroupClass != class || *out.LogGroups[1].KmsKeyId == "" {
		t.Errorf("class/kms not kept: %+v", out.LogGroups[1])
	}

	// Prefix, pattern, pagination.
	for i := range 5 {
		mkGroup(t, s, fmt.Sprintf("/svc/g%d", i))
	}
	out = must[*logsapi.DescribeLogGroupsOutput](t)(s.DescribeLogGroups(ctx0, &logsapi.DescribeLogGroupsInput{LogGroupNamePrefix: ptr("/svc/")}))
	if len(out.LogGroups) != 5 {
		t.Fatalf("prefix: %d", len(out.LogGroups))
	}
	out = must[*logsapi.DescribeLogGroupsOutput](t)(s.DescribeLogGroups(ctx0, &logsapi.DescribeLogGroupsInput{LogGroupNamePattern: ptr("g3")}))
	if len(out.LogGroups) != 1 || *out.LogGroups[0].LogGroupName != "/svc/g3" || out.LogGroups[0].StoredBytes != nil {
		t.Fatalf("pattern: %+v", out.LogGroups)
	}
	_, err = s.DescribeLogGroups(ctx0, &logsapi.DescribeLogGroupsInput{LogGroupNamePattern: ptr("g"), LogGroupNamePrefix: ptr("/")})
	wantCode(t, err, "InvalidParameterException")
	var names []string
	var tok *string
	for {
		out = must[*logsapi.DescribeLogGroupsOutput](t)(s.DescribeLogGroups(ctx0, &logsapi.DescribeLogGroupsInput{Limit: ptr(int32(3)), NextToken: tok}))
		for _, g := range out.LogGroups {
			names = append(names, *g.LogGroupName)
		}
		if tok = out.NextToken; tok == nil {
			break
		}
	}
	if strings.Join(names, ",") != "/ecs/app,/ecs/other,/svc/g0,/svc/g1,/svc/g2,/svc/g3,/svc/g4" {
		t.Fatalf("paged names = %v", names)
	}
	_, err = s.DescribeLogGroups(ctx0, &logsapi.DescribeLogGroupsInput{NextToken: ptr("!!!")})
	wantCode(t, err, "InvalidParameterException")

	// Retention.
	_, err = s.PutRetentionPolicy(ctx0, &logsapi.PutRetentionPolicyInput{LogGroupName: ptr("/ecs/app"), RetentionInDays: ptr(int32(4))})
	wantCode(t, err, "InvalidParameterException")
	if !strings.Contains(awsapi.AsError(err).Message, "Member must satisfy enum value set: [1, 3, 5, 7, 14") {
		t.Errorf("message: %s", awsapi.AsError(err).Message)
	}
	must[*logsapi.PutRetentionPolicyOutput](t)(s.PutRetentionPolicy(ctx0, &logsapi.PutRetentionPolicyInput{LogGroupName: ptr("/ecs/app"), RetentionInDays: ptr(int32(7))}))
	out = must[*logsapi.DescribeLogGroupsOutput](t)(s.DescribeLogGroups(ctx0, &logsapi.DescribeLogGroupsInput{LogGroupNamePrefix: ptr("/ecs/app")}))
	if *out.LogGroups[0].RetentionInDays != 7 {
		t.Fatal("retention not set")
	}
	must[*logsapi.DeleteRetentionPolicyOutput](t)(s.DeleteRetentionPolicy(ctx0, &logsapi.DeleteRetentionPolicyInput{LogGroupName: ptr("/ecs/app")}))
	_, err = s.PutRetentionPolicy(ctx0, &logsapi.PutRetentionPolicyInput{LogGroupName: ptr("/nope"), RetentionInDays: ptr(int32(7))})
	wantCode(t, err, "ResourceNotFoundException")

	// Tags by ARN and by name.
	arn := "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/other"
	must[*logsapi.TagResourceOutput](t)(s.TagResource(ctx0, &logsapi.TagResourceInput{ResourceArn: &arn, Tags: map[string]string{"env": "dev"}}))
	must[*logsapi.TagLogGroupOutput](t)(s.TagLogGroup(ctx0, &logsapi.TagLogGroupInput{LogGroupName: ptr("/ecs/other"), Tags: map[string]string{"x": "1"}}))
	must[*logsapi.UntagResourceOutput](t)(s.UntagResource(ctx0, &logsapi.UntagResourceInput{ResourceArn: &arn, TagKeys: []string{"x"}}))
	tags := must[*logsapi.ListTagsLogGroupOutput](t)(s.ListTagsLogGroup(ctx0, &logsapi.ListTagsLogGroupInput{LogGroupName: ptr("/ecs/other")})).Tags
	if len(tags) != 2 || tags["team"] != "a" || tags["env"] != "dev" {
		t.Fatalf("tags = %v", tags)
	}
	_, err = s.ListTagsForResource(ctx0, &logsapi.ListTagsForResourceInput{ResourceArn: ptr("arn:aws:logs:eu-west-1:999999999999:log-group:/ecs/other")})
	wantCode(t, err, "ResourceNotFoundException")
	_, err = s.ListTagsForResource(ctx0, &logsapi.ListTagsForResourceInput{ResourceArn: ptr("not-an-arn")})
	wantCode(t, err, "InvalidParameterException")
	many := map[string]string{}
	for i := range 49 {
		many[fmt.Sprint("k", i)] = "v"
	}
	_, err = s.TagResource(ctx0, &logsapi.TagResourceInput{ResourceArn: &arn, Tags: many})
	wantCode(t, err, "TooManyTagsException")
	_, err = s.TagResource(ctx0, &logsapi.TagResourceInput{ResourceArn: &arn, Tags: map[string]string{"aws:x": "y"}})
	wantCode(t, err, "InvalidParameterException")

	// Deletion protection, then delete.
	must[*logsapi.PutLogGroupDeletionProtectionOutput](t)(s.PutLogGroupDeletionProtection(ctx0, &logsapi.PutLogGroupDeletionProtectionInput{LogGroupIdentifier: &arn, DeletionProtectionEnabled: ptr(true)}))
	_, err = s.DeleteLogGroup(ctx0, &logsapi.DeleteLogGroupInput{LogGroupName: ptr("/ecs/other")})
	wantCode(t, err, "ValidationException")
	must[*logsapi.PutLogGroupDeletionProtectionOutput](t)(s.PutLogGroupDeletionProtection(ctx0, &logsapi.PutLogGroupDeletionProtectionInput{LogGroupIdentifier: ptr("/ecs/other"), DeletionProtectionEnabled: ptr(false)}))
	must[*logsapi.DeleteLogGroupOutput](t)(s.DeleteLogGroup(ctx0, &logsapi.DeleteLogGroupInput{LogGroupName: ptr("/ecs/other")}))
	_, err = s.DeleteLogGroup(ctx0, &logsapi.DeleteLogGroupInput{LogGroupName: ptr("/ecs/other")})
	wantCode(t, err, "ResourceNotFoundException")

	// ListLogGroups: a regular expression.
	lo := must[*logsapi.ListLogGroupsOutput](t)(s.ListLogGroups(ctx0, &logsapi.ListLogGroupsInput{LogGroupNamePattern: ptr("^/svc|app"), Limit: ptr(int32(4))}))
	if len(lo.LogGroups) != 4 || lo.NextToken == nil || *lo.LogGroups[0].LogGroupName != "/ecs/app" {
		t.Fatalf("ListLogGroups = %+v", lo)
	}
	lo = must[*logsapi.ListLogGroupsOutput](t)(s.ListLogGroups(ctx0, &logsapi.ListLogGroupsInput{LogGroupNamePattern: ptr("^/svc|app"), NextToken: lo.NextToken}))
	if len(lo.LogGroups) != 2 || lo.NextToken != nil || *lo.LogGroups[1].LogGroupName != "/svc/g4" {
		t.Fatalf("ListLogGroups page 2 = %+v", lo)
	}
}

func TestStreams(t *testing.T) {
	s, clk := newService(t)
	mkGroup(t, s, "g")
	now := clk.Now().UnixMilli()
	for i, name := range []string{"c", "a", "b", "d"} {
		mkStream(t, s, "g", name)
		if name != "d" {
			put(t, s, "g", name, []int64{now - int64(10-i)*1000}, "x")
		}
	}
	_, err := s.CreateLogStream(ctx0, &logsapi.CreateLogStreamInput{LogGroupName: ptr("g"), LogStreamName: ptr("a")})
	wantCode(t, err, "ResourceAlreadyExistsException")
	_, err = s.CreateLogStream(ctx0, &logsapi.CreateLogStreamInput{LogGroupName: ptr("nope"), LogStreamName: ptr("a")})
	wantCode(t, err, "ResourceNotFoundException")

	list := func(in *logsapi.DescribeLogStreamsInput) string {
		t.Helper()
		var names []string
		for {
			out, err := s.DescribeLogStreams(ctx0, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range out.LogStreams {
				names = append(names, *st.LogStreamName)
			}
			if out.NextToken == nil {
				return strings.Join(names, "")
			}
			in.NextToken = out.NextToken
		}
	}
	byTime := logsapi.OrderByLastEventTime
	for _, c := range []struct {
		in   *logsapi.DescribeLogStreamsInput
		want string
	}{
		{&logsapi.DescribeLogStreamsInput{LogGroupName: ptr("g")}, "abcd"},
		{&logsapi.DescribeLogStreamsInput{LogGroupName: ptr("g"), Limit: ptr(int32(1))}, "abcd"},
		{&logsapi.DescribeLogStreamsInput{LogGroupName: ptr("g"), Descending: ptr(true), Limit: ptr(int32(3))}, "dcba"},
		{&logsapi.DescribeLogStreamsInput{LogGroupName: ptr("g"), LogStreamNamePrefix: ptr("b")}, "b"},
		{&logsapi.DescribeLogStreamsInput{LogGroupName: ptr("g"), OrderBy: &byTime, Limit: ptr(int32(2))}, "dcab"},
		{&logsapi.DescribeLogStreamsInput{LogGroupName: ptr("g"), OrderBy: &byTime, Descending: ptr(true), Limit: ptr(int32(1))}, "bacd"},
		{&logsapi.DescribeLogStreamsInput{LogGroupIdentifier: ptr("arn:aws:logs:eu-west-1:123456789012:log-group:g")}, "abcd"},
	} {
		if got := list(c.in); got != c.want {
			t.Errorf("DescribeLogStreams(%+v) = %s, want %s", c.in, got, c.want)
		}
	}
	_, err = s.DescribeLogStreams(ctx0, &logsapi.DescribeLogStreamsInput{LogGroupName: ptr("g"), OrderBy: &byTime, LogStreamNamePrefix: ptr("a")})
	wantCode(t, err, "InvalidParameterException")
	_, err = s.DescribeLogStreams(ctx0, &logsapi.DescribeLogStreamsInput{LogGroupName: ptr("g"), LogGroupIdentifier: ptr("g")})
	wantCode(t, err, "ValidationException")

	out := must[*logsapi.DescribeLogStreamsOutput](t)(s.DescribeLogStreams(ctx0, &logsapi.DescribeLogStreamsInput{LogGroupName: ptr("g"), LogStreamNamePrefix: ptr("a")}))
	a := out.LogStreams[0]
	if *a.Arn != "arn:aws:logs:eu-west-1:123456789012:log-group:g:log-stream:a" || *a.FirstEventTimestamp != now-9000 ||
		*a.LastEventTimestamp != now-9000 || *a.LastIngestionTime != now {
		t.Errorf("stream a = %+v", a)
	}
	out = must[*logsapi.DescribeLogStreamsOutput](t)(s.DescribeLogStreams(ctx0, &logsapi.DescribeLogStreamsInput{LogGroupName: ptr("g"), LogStreamNamePrefix: ptr("d")}))
	if d := out.LogStreams[0]; d.FirstEventTimestamp != nil || d.LastEventTimestamp != nil {
		t.Errorf("empty stream has event times: %+v", d)
	}

	groupBytes := func() int64 {
		out := must[*logsapi.DescribeLogGroupsOutput](t)(s.DescribeLogGroups(ctx0, &logsapi.DescribeLogGroupsInput{}))
		return *out.LogGroups[0].StoredBytes
	}
	if b := groupBytes(); b != 3 {
		t.Fatalf("storedBytes = %d, want 3", b)
	}
	must[*logsapi.DeleteLogStreamOutput](t)(s.DeleteLogStream(ctx0, &logsapi.DeleteLogStreamInput{LogGroupName: ptr("g"), LogStreamName: ptr("a")}))
	if b := groupBytes(); b != 2 {
		t.Fatalf("storedBytes after delete = %d, want 2", b)
	}
	_, err = s.DeleteLogStream(ctx0, &logsapi.DeleteLogStreamInput{LogGroupName: ptr("g"), LogStreamName: ptr("a")})
	wantCode(t, err, "ResourceNotFoundException")
}

func TestPutLogEventsRules(t *testing.T) {
	s, clk := newService(t)
	mkGroup(t, s, "g")
	mkStream(t, s, "g", "s")
	now := clk.Now().UnixMilli()
	day := int64(24 * 3600 * 1000)

	in := func(ts ...int64) *logsapi.PutLogEventsInput {
		in := &logsapi.PutLogEventsInput{LogGroupName: ptr("g"), LogStreamName: ptr("s"), SequenceToken: ptr("whatever")}
		for i := range ts {
			in.LogEvents = append(in.LogEvents, logsapi.InputLogEvent{Timestamp: &ts[i], Message: ptr(fmt.Sprint("m", i))})
		}
		return in
	}
	_, err := s.PutLogEvents(ctx0, in(now, now-1))
	wantCode(t, err, "InvalidParameterException")
	_, err = s.PutLogEvents(ctx0, in(now-2*day, now-1000))
	wantCode(t, err, "InvalidParameterException") // spans more than 24 hours
	big := in(now)
	big.LogEvents[0].Message = ptr(strings.Repeat("x", maxBatchBytes))
	_, err = s.PutLogEvents(ctx0, big)
	wantCode(t, err, "InvalidParameterException")
	_, err = s.PutLogEvents(ctx0, &logsapi.PutLogEventsInput{LogGroupName: ptr("g"), LogStreamName: ptr("nope"), LogEvents: in(now).LogEvents})
	wantCode(t, err, "ResourceNotFoundException")
	_, err = s.PutLogEvents(ctx0, &logsapi.PutLogEventsInput{LogGroupName: ptr("nope"), LogStreamName: ptr("s"), LogEvents: in(now).LogEvents})
	wantCode(t, err, "ResourceNotFoundException")

	// Too old, too new: rejected, the rest stored.
	out := must[*logsapi.PutLogEventsOutput](t)(s.PutLogEvents(ctx0, in(now-15*day, now-15*day+1, now-1000, now, now+3*3600*1000)))
	r := out.RejectedLogEventsInfo
	if r == nil || r.TooOldLogEventEndIndex == nil || *r.TooOldLogEventEndIndex != 2 || r.TooNewLogEventStartIndex == nil ||
		*r.TooNewLogEventStartIndex != 4 || r.ExpiredLogEventEndIndex != nil {
		t.Fatalf("rejected = %+v", r)
	}
	if out.NextSequenceToken == nil || len(*out.NextSequenceToken) != 56 {
		t.Errorf("nextSequenceToken = %v", out.NextSequenceToken)
	}
	// Expired by retention.
	must[*logsapi.PutRetentionPolicyOutput](t)(s.PutRetentionPolicy(ctx0, &logsapi.PutRetentionPolicyInput{LogGroupName: ptr("g"), RetentionInDays: ptr(int32(1))}))
	out = must[*logsapi.PutLogEventsOutput](t)(s.PutLogEvents(ctx0, in(now-2*day, now-day-1, now-10)))
	if r := out.RejectedLogEventsInfo; r == nil || r.ExpiredLogEventEndIndex == nil || *r.ExpiredLogEventEndIndex != 2 || r.TooOldLogEventEndIndex != nil {
		t.Fatalf("rejected = %+v", r)
	}
	ev := must[*logsapi.GetLogEventsOutput](t)(s.GetLogEvents(ctx0, &logsapi.GetLogEventsInput{LogGroupName: ptr("g"), LogStreamName: ptr("s"), StartFromHead: ptr(true)}))
	var got []string
	for _, e := range ev.Events {
		got = append(got, *e.Message)
	}
	if strings.Join(got, ",") != "m2,m2,m3" {
		t.Fatalf("stored = %v", got)
	}
}

func TestGetLogEventsTokens(t *testing.T) {
	s, clk := newService(t)
	mkGroup(t, s, "g")
	mkStream(t, s, "g", "s")
	base := clk.Now().UnixMilli() - 100_000
	var ts []int64
	var msgs []string
	for i := range 10 {
		ts = append(ts, base+int64(i/2)*1000) // pairs share a timestamp
		msgs = append(msgs, fmt.Sprint(i))
	}
	put(t, s, "g", "s", ts, msgs...)
	get := func(in logsapi.GetLogEventsInput) (string, *logsapi.GetLogEventsOutput) {
		t.Helper()
		in.LogGroupName, in.LogStreamName = ptr("g"), ptr("s")
		out := must[*logsapi.GetLogEventsOutput](t)(s.GetLogEvents(ctx0, &in))
		var b strings.Builder
		for _, e := range out.Events {
			b.WriteString(*e.Message)
		}
		if out.NextForwardToken == nil || out.NextBackwardToken == nil ||
			!strings.HasPrefix(*out.NextForwardToken, "f/") || !strings.HasPrefix(*out.NextBackwardToken, "b/") {
			t.Fatalf("tokens: %v %v", out.NextForwardToken, out.NextBackwardToken)
		}
		return b.String(), out
	}
	if got, _ := get(logsapi.GetLogEventsInput{}); got != "0123456789" {
		t.Fatalf("all = %s", got)
	}
	if got, _ := get(logsapi.GetLogEventsInput{Limit: ptr(int32(3))}); got != "789" {
		t.Fatalf("tail = %s", got)
	}
	if got, _ := get(logsapi.GetLogEventsInput{StartTime: ptr(base + 1000), EndTime: ptr(base + 3000)}); got != "2345" {
		t.Fatalf("range = %s", got)
	}
	// Forward paging from the head until the token comes back unchanged.
	var all strings.Builder
	in := logsapi.GetLogEventsInput{StartFromHead: ptr(true), Limit: ptr(int32(3))}
	for range 20 {
		got, out := get(in)
		all.WriteString(got)
		if in.NextToken != nil && *out.NextForwardToken == *in.NextToken {
			break
		}
		in.NextToken = out.NextForwardToken
	}
	if all.String() != "0123456789" {
		t.Fatalf("forward pages = %s", all.String())
	}
	// New events show up on the same forward token.
	put(t, s, "g", "s", []int64{base + 9000}, "X")
	if got, _ := get(in); got != "X" {
		t.Fatalf("after append = %s", got)
	}
	// Backward paging from the tail.
	var back []string
	in = logsapi.GetLogEventsInput{Limit: ptr(int32(4))}
	for range 20 {
		got, out := get(in)
		back = append(back, got)
		if in.NextToken != nil && *out.NextBackwardToken == *in.NextToken {
			break
		}
		in.NextToken = out.NextBackwardToken
	}
	if strings.Join(back, "|") != "789X|3456|012|" {
		t.Fatalf("backward pages = %q", back)
	}
	_, err := s.GetLogEvents(ctx0, &logsapi.GetLogEventsInput{LogGroupName: ptr("g"), LogStreamName: ptr("s"), NextToken: ptr("f/123")})
	wantCode(t, err, "InvalidParameterException")
	_, err = s.GetLogEvents(ctx0, &logsapi.GetLogEventsInput{LogGroupName: ptr("g"), LogStreamName: ptr("x")})
	wantCode(t, err, "ResourceNotFoundException")
	// An empty stream still gives tokens.
	mkStream(t, s, "g", "empty")
	out := must[*logsapi.GetLogEventsOutput](t)(s.GetLogEvents(ctx0, &logsapi.GetLogEventsInput{LogGroupName: ptr("g"), LogStreamName: ptr("empty")}))
	if len(out.Events) != 0 || out.NextForwardToken == nil || out.NextBackwardToken == nil {
		t.Fatalf("empty = %+v", out)
	}
}

func TestFilterLogEvents(t *testing.T) {
	s, clk := newService(t)
	mkGroup(t, s, "g")
	base := clk.Now().UnixMilli() - 1_000_000
	for _, st := range []string{"web/1", "web/2", "db/1"} {
		mkStream(t, s, "g", st)
	}
	// Interleaved timestamps across streams.
	put(t, s, "g", "web/1", []int64{base, base + 20, base + 40}, "ERROR a", `{"level":"error","latency":150}`, "INFO c")
	put(t, s, "g", "web/2", []int64{base + 10, base + 20, base + 50}, "WARN d", "ERROR DEBUG e", `{"level":"info","latency":50}`)
	put(t, s, "g", "db/1", []int64{base + 30}, "127.0.0.1 GET /x 503 12")

	filter := func(in logsapi.FilterLogEventsInput) []string {
		t.Helper()
		in.LogGroupName = ptr("g")
		var got []string
		seen := map[string]bool{}
		for range 100 {
			out := must[*logsapi.FilterLogEventsOutput](t)(s.FilterLogEvents(ctx0, &in))
			for _, e := range out.Events {
				if seen[*e.EventId] {
					t.Fatalf("event %s returned twice", *e.EventId)
				}
				seen[*e.EventId] = true
				got = append(got, *e.LogStreamName+":"+*e.Message)
			}
			if out.NextToken == nil {
				return got
			}
			in.NextToken = out.NextToken
		}
		t.Fatal("pagination does not end")
		return nil
	}
	all := filter(logsapi.FilterLogEventsInput{Interleaved: ptr(true)})
	want := []string{"web/1:ERROR a", "web/2:WARN d", `web/1:{"level":"error","latency":150}`, "web/2:ERROR DEBUG e",
		"db/1:127.0.0.1 GET /x 503 12", "web/1:INFO c", `web/2:{"level":"info","latency":50}`}
	if strings.Join(all, "\n") != strings.Join(want, "\n") {
		t.Fatalf("all =\n%s\nwant\n%s", strings.Join(all, "\n"), strings.Join(want, "\n"))
	}
	for limit := 1; limit <= 4; limit++ {
		if got := filter(logsapi.FilterLogEventsInput{Limit: ptr(int32(limit))}); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("limit %d pages = %v", limit, got)
		}
	}
	count := func(in logsapi.FilterLogEventsInput) int { return len(filter(in)) }
	for pat, n := range map[string]int{
		"ERROR":                           2,
		"ERROR -DEBUG":                    1,
		"?ERROR ?WARN":                    3,
		`{ $.level = "error" }`:           1,
		`{ $.latency > 100 }`:             1,
		`{ $.latency >= 50 }`:             2,
		`[ip, method, path, s=5*, bytes]`: 1,
		`%^INFO|^WARN%`:                   2,
	} {
		if got := count(logsapi.FilterLogEventsInput{FilterPattern: ptr(pat)}); got != n {
			t.Errorf("pattern %q: %d events, want %d", pat, got, n)
		}
	}
	_, err := s.FilterLogEvents(ctx0, &logsapi.FilterLogEventsInput{LogGroupName: ptr("g"), FilterPattern: ptr(`{ $.a = `)})
	wantCode(t, err, "InvalidParameterException")
	if n := count(logsapi.FilterLogEventsInput{LogStreamNamePrefix: ptr("web/")}); n != 6 {
		t.Errorf("prefix: %d", n)
	}
	if n := count(logsapi.FilterLogEventsInput{LogStreamNames: []string{"db/1", "web/2", "missing"}}); n != 4 {
		t.Errorf("names: %d", n)
	}
	if n := count(logsapi.FilterLogEventsInput{LogStreamNames: []string{"web/1"}, FilterPattern: ptr("ERROR")}); n != 1 {
		t.Errorf("one stream: %d", n)
	}
	if n := count(logsapi.FilterLogEventsInput{StartTime: ptr(base + 20), EndTime: ptr(base + 40)}); n != 4 {
		t.Errorf("time range (end inclusive): %d", n)
	}
	_, err = s.FilterLogEvents(ctx0, &logsapi.FilterLogEventsInput{LogGroupName: ptr("g"), LogStreamNames: []string{"a"}, LogStreamNamePrefix: ptr("a")})
	wantCode(t, err, "InvalidParameterException")
	_, err = s.FilterLogEvents(ctx0, &logsapi.FilterLogEventsInput{LogGroupName: ptr("nope")})
	wantCode(t, err, "ResourceNotFoundException")
	_, err = s.FilterLogEvents(ctx0, &logsapi.FilterLogEventsInput{LogGroupName: ptr("g"), NextToken: ptr("garbage")})
	wantCode(t, err, "InvalidParameterException")
}

// What `aws logs tail --follow` does: poll FilterLogEvents from the newest
// timestamp seen, dropping event ids already shown at that timestamp. No
// event may be lost or shown twice while writers keep appending, also at
// the timestamp of the last poll.
func TestTailFollowProtocol(t *testing.T) {
	s, clk := newService(t)
	mkGroup(t, s, "g")
	mkStream(t, s, "g", "a")
	mkStream(t, s, "g", "b")
	base := clk.Now().UnixMilli() - 60_000
	startTime := base
	seenAt := map[int64]map[string]bool{}
	var shown []string
	poll := func() {
		in := &logsapi.FilterLogEventsInput{LogGroupName: ptr("g"), StartTime: ptr(startTime), Interleaved: ptr(true), Limit: ptr(int32(3))}
		for {
			out := must[*logsapi.FilterLogEventsOutput](t)(s.FilterLogEvents(ctx0, in))
			for _, e := range out.Events {
				if seenAt[*e.Timestamp] == nil {
					seenAt[*e.Timestamp] = map[string]bool{}
				}
				if !seenAt[*e.Timestamp][*e.EventId] {
					seenAt[*e.Timestamp][*e.EventId] = true
					shown = append(shown, *e.Message)
				}
			}
			// Keep only the newest timestamp's ids, as the CLI does.
			newest := int64(-1)
			for ts := range seenAt {
				newest = max(newest, ts)
			}
			for ts := range seenAt {
				if ts != newest {
					delete(seenAt, ts)
				}
			}
			if out.NextToken == nil {
				if newest >= 0 {
					startTime = newest
				}
				return
			}
			in.NextToken = out.NextToken
		}
	}
	var want []string
	n := 0
	for round := range 6 {
		for i := range 5 {
			stream := []string{"a", "b"}[i%2]
			msg := fmt.Sprintf("r%d-%d", round, n)
			n++
			// Several events share the round's timestamp.
			put(t, s, "g", stream, []int64{base + int64(round)*100 + int64(i/3)}, msg)
			want = append(want, msg)
		}
		poll()
	}
	poll()
	if strings.Join(shown, ",") != strings.Join(want, ",") {
		t.Fatalf("tail showed\n%v\nwant\n%v", shown, want)
	}
}

func TestRetentionLoopDeletes(t *testing.T) {
	s, clk := newService(t)
	mkGroup(t, s, "g")
	mkStream(t, s, "g", "s")
	now := clk.Now().UnixMilli()
	day := int64(24 * 3600 * 1000)
	put(t, s, "g", "s", []int64{now - 6*day, now - 6*day + 1}, "old1", "old2")
	put(t, s, "g", "s", []int64{now - day}, "mid")
	put(t, s, "g", "s", []int64{now}, "new")
	must[*logsapi.PutRetentionPolicyOutput](t)(s.PutRetentionPolicy(ctx0, &logsapi.PutRetentionPolicyInput{LogGroupName: ptr("g"), RetentionInDays: ptr(int32(5))}))
	n, err := s.EnforceRetention(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("EnforceRetention = %d, %v; want 2", n, err)
	}
	clk.Add(4*24*time.Hour + time.Minute)
	n, err = s.EnforceRetention(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("EnforceRetention later = %d, %v; want 1", n, err)
	}
	out := must[*logsapi.DescribeLogGroupsOutput](t)(s.DescribeLogGroups(ctx0, &logsapi.DescribeLogGroupsInput{}))
	if b := *out.LogGroups[0].StoredBytes; b != 3 {
		t.Fatalf("storedBytes = %d, want 3 (only \"new\" left)", b)
	}
	// The loop runs it too and stops with its context.
	clk.Add(10 * 24 * time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.RunRetention(ctx, 10*time.Millisecond); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := must[*logsapi.DescribeLogGroupsOutput](t)(s.DescribeLogGroups(ctx0, &logsapi.DescribeLogGroupsInput{}))
		if *out.LogGroups[0].StoredBytes == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("retention loop did not delete the last event")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

func TestAppend(t *testing.T) {
	s, clk := newService(t)
	now := clk.Now()
	stream := ECSStreamName("ecs", "web", "0123456789abcdef0123456789abcdef")
	if stream != "ecs/web/0123456789abcdef0123456789abcdef" {
		t.Fatalf("ECSStreamName = %s", stream)
	}
	evs := []Event{
		{now.Add(-time.Second), "second"},
		{now.Add(-2 * time.Second), "first"},
		{now, ""},
		{now.Add(-20 * 24 * time.Hour), "ancient"},
		{now.Add(-time.Second), "third"},
	}
	err := s.Append(context.Background(), "123456789012", "eu-west-1", "/ecs/app", stream, evs, false)
	wantCode(t, err, "ResourceNotFoundException")
	if err := s.Append(context.Background(), "123456789012", "eu-west-1", "/ecs/app", stream, evs, true); err != nil {
		t.Fatal(err)
	}
	// Again, onto the existing group and stream.
	if err := s.Append(context.Background(), "123456789012", "eu-west-1", "/ecs/app", stream, []Event{{now, "fourth"}}, false); err != nil {
		t.Fatal(err)
	}
	out := must[*logsapi.GetLogEventsOutput](t)(s.GetLogEvents(ctx0, &logsapi.GetLogEventsInput{LogGroupName: ptr("/ecs/app"), LogStreamName: &stream}))
	var got []string
	for _, e := range out.Events {
		got = append(got, *e.Message)
	}
	if strings.Join(got, ",") != "first,second,third,fourth" {
		t.Fatalf("appended = %v", got)
	}
	err = s.Append(context.Background(), "123456789012", "eu-west-1", "bad name!", stream, evs, true)
	wantCode(t, err, "InvalidParameterException")
	err = s.Append(context.Background(), "123456789012", "eu-west-1", "g", "bad:stream", evs, true)
	wantCode(t, err, "InvalidParameterException")
	if err := s.Append(context.Background(), "123456789012", "eu-west-1", "g", "s", nil, true); err != nil {
		t.Fatalf("empty append: %v", err)
	}
}

// FilterLogEvents over a large group stays fast: the events are an index
// range scan, not a table scan.
func TestFilterLargeGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("large")
	}
	s, clk := newService(t)
	mkGroup(t, s, "big")
	const streams, perStream = 10, 10_000
	base := clk.Now().UnixMilli() - 3_600_000
	ingest := time.Now()
	for i := range streams {
		name := fmt.Sprint("s", i)
		mkStream(t, s, "big", name)
		for off := 0; off < perStream; off += 5000 {
			var ts []int64
			var msgs []string
			for j := off; j < off+5000; j++ {
				ts = append(ts, base+int64(j*streams+i)*10)
				level := "INFO"
				if j%1000 == 0 {
					level = "ERROR"
				}
				msgs = append(msgs, fmt.Sprintf(`{"level":%q,"n":%d,"stream":%d}`, level, j, i))
			}
			put(t, s, "big", name, ts, msgs...)
		}
	}
	t.Logf("PutLogEvents of %d events in batches of 5000: %s", streams*perStream, time.Since(ingest))
	time0 := time.Now()
	total := 0
	in := &logsapi.FilterLogEventsInput{LogGroupName: ptr("big"), FilterPattern: ptr("ERROR")}
	for {
		out := must[*logsapi.FilterLogEventsOutput](t)(s.FilterLogEvents(ctx0, in))
		total += len(out.Events)
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	if total != streams*perStream/1000 {
		t.Fatalf("ERROR events = %d", total)
	}
	t.Logf("term filter over %d events: %s", streams*perStream, time.Since(time0))
	time0 = time.Now()
	out := must[*logsapi.FilterLogEventsOutput](t)(s.FilterLogEvents(ctx0, &logsapi.FilterLogEventsInput{
		LogGroupName: ptr("big"), FilterPattern: ptr(`{ $.n = 4242 && $.stream = 3 }`)}))
	t.Logf("JSON filter, first page: %s (%d events, token %v)", time.Since(time0), len(out.Events), out.NextToken != nil)
	// A recent time window reads only that window.
	time0 = time.Now()
	out = must[*logsapi.FilterLogEventsOutput](t)(s.FilterLogEvents(ctx0, &logsapi.FilterLogEventsInput{
		LogGroupName: ptr("big"), StartTime: ptr(base + int64(perStream*streams-100)*10)}))
	if len(out.Events) != 100 || out.NextToken != nil {
		t.Fatalf("window: %d events", len(out.Events))
	}
	d := time.Since(time0)
	t.Logf("the newest 100 events (startTime): %s", d)
	if d > time.Second {
		t.Errorf("a 100-event window of a 100k-event group took %s", d)
	}
}
