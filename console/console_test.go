package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/awsapi"
)

// fakeECS holds one cluster per account and records the identity each
// call was made with.
type fakeECS struct {
	ecsapi.UnimplementedService
	seen []awsapi.Identity
}

func (f *fakeECS) clusterOf(ctx context.Context) string {
	id := awsapi.IdentityFrom(ctx)
	f.seen = append(f.seen, id)
	return "cluster-of-" + id.AccountID + "-" + id.Region
}

func (f *fakeECS) ListClusters(ctx context.Context, _ *ecsapi.ListClustersInput) (*ecsapi.ListClustersOutput, error) {
	return &ecsapi.ListClustersOutput{ClusterArns: []string{"arn:aws:ecs:r:a:cluster/" + f.clusterOf(ctx)}}, nil
}

func (f *fakeECS) DescribeClusters(ctx context.Context, in *ecsapi.DescribeClustersInput) (*ecsapi.DescribeClustersOutput, error) {
	name := f.clusterOf(ctx)
	out := &ecsapi.DescribeClustersOutput{}
	for _, c := range in.Clusters {
		if c == name || strings.HasSuffix(c, "/"+name) {
			out.Clusters = append(out.Clusters, ecsapi.Cluster{ClusterName: &name, ClusterArn: &c})
		} else {
			out.Failures = append(out.Failures, ecsapi.Failure{Arn: &c, Reason: ptr("MISSING")})
		}
	}
	return out, nil
}

func ptr[T any](v T) *T { return &v }

// fakeLogs answers every stream with a line that is markup.
type fakeLogs struct{ logsapi.UnimplementedService }

func (fakeLogs) GetLogEvents(context.Context, *logsapi.GetLogEventsInput) (*logsapi.GetLogEventsOutput, error) {
	return &logsapi.GetLogEventsOutput{Events: []logsapi.OutputLogEvent{{Timestamp: ptr(int64(0)), Message: ptr(`<script>alert("x")</script>`)}}}, nil
}

type fakeKeys struct{ keys map[string]*awsapi.AccessKey }

func (f fakeKeys) LookupAccessKey(_ context.Context, id string) (*awsapi.AccessKey, error) {
	return f.keys[id], nil
}
func (fakeKeys) AccessKeyUsed(string, string, string) {}

func newTestConsole(t *testing.T, auth *awsapi.Authenticator) (*Console, *fakeECS) {
	t.Helper()
	ecs := &fakeECS{}
	c, err := New(Options{Services: Services{ECS: ecs, Logs: fakeLogs{}}, Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	return c, ecs
}

func get(c *Console, method, target, user, pw string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	if user != "" {
		r.SetBasicAuth(user, pw)
	}
	w := httptest.NewRecorder()
	c.ServeHTTP(w, r)
	return w
}

func TestScopeFromParameters(t *testing.T) {
	c, ecs := newTestConsole(t, nil)
	w := get(c, http.MethodGet, "/console/ecs/?account=123456789012&region=eu-west-3", "", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), "cluster-of-123456789012-eu-west-3") {
		t.Fatalf("%d\n%s", w.Code, w.Body)
	}
	w = get(c, http.MethodGet, "/console/ecs/", "", "")
	if !strings.Contains(w.Body.String(), "cluster-of-"+awsapi.DefaultAccount+"-"+awsapi.DefaultRegion) {
		t.Errorf("default scope:\n%s", w.Body)
	}
	// Links keep the scope.
	w = get(c, http.MethodGet, "/console/ecs/?account=123456789012&region=eu-west-3&refresh=5", "", "")
	body := w.Body.String()
	if !strings.Contains(body, `href="/console/ecs/cluster?account=123456789012&amp;cluster=cluster-of-123456789012-eu-west-3&amp;refresh=5&amp;region=eu-west-3"`) {
		t.Errorf("cluster link does not keep the scope:\n%s", body)
	}
	if !strings.Contains(body, `<meta http-equiv="refresh" content="5">`) {
		t.Errorf("no refresh meta tag:\n%s", body)
	}
	for _, id := range ecs.seen {
		if id.AccountID == "" || id.Region == "" {
			t.Errorf("service called without an account or region: %+v", id)
		}
	}
}

func TestBadParametersAndMethods(t *testing.T) {
	c, _ := newTestConsole(t, nil)
	for target, want := range map[string]int{
		"/console/?account=12345":                            400,
		"/console/?account=1234567890123":                    400,
		"/console/?region=../../etc":                         400,
		"/console/?refresh=-1":                               400,
		"/console/?refresh=x":                                400,
		"/console/ecs/cluster":                               400,
		"/console/ecs/cluster?cluster=nope":                  404,
		"/console/logs/stream?group=g&stream=s&limit=100000": 400,
		"/console/no/such/page":                              404,
		"/console/ecr/":                                      404, // ECR is not served here
		"/console/static/main.css":                           200,
	} {
		if w := get(c, http.MethodGet, target, "", ""); w.Code != want {
			t.Errorf("GET %s: %d, want %d\n%s", target, w.Code, want, w.Body)
		}
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		w := get(c, m, "/console/ecs/", "", "")
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: %d %q", m, w.Code, w.Header().Get("Allow"))
		}
	}
	w := get(c, http.MethodHead, "/console/ecs/", "", "")
	if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Length") == "" {
		t.Errorf("HEAD: %d, %d bytes", w.Code, w.Body.Len())
	}
}

// What users name and write reaches the page escaped.
func TestOutputIsEscaped(t *testing.T) {
	c, _ := newTestConsole(t, nil)
	w := get(c, http.MethodGet, `/console/logs/stream?group=g&stream=%22%3E%3Cscript%3E%3Cb%3E`, "", "")
	body := w.Body.String()
	if w.Code != 200 || strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") ||
		strings.Contains(body, "<b>") {
		t.Errorf("%d\n%s", w.Code, body)
	}
}

func TestBasicAuthWhenSignaturesAreChecked(t *testing.T) {
	auth := &awsapi.Authenticator{
		Credentials: awsapi.Credentials{"123456789012": "s3cret"},
		Keys: fakeKeys{map[string]*awsapi.AccessKey{
			"AKIAAAAAAAAAAAAAAAAA": {AccessKeyID: "AKIAAAAAAAAAAAAAAAAA", SecretAccessKey: "iam-secret", AccountID: "210987654321", Active: true},
			"AKIABBBBBBBBBBBBBBBB": {AccessKeyID: "AKIABBBBBBBBBBBBBBBB", SecretAccessKey: "old", AccountID: "210987654321"},
		}},
	}
	c, _ := newTestConsole(t, auth)
	for _, tc := range []struct{ user, pw string }{{"", ""}, {"123456789012", "wrong"}, {"nobody", "x"}, {"AKIABBBBBBBBBBBBBBBB", "old"}, {"AKIAAAAAAAAAAAAAAAAA", "s3cret"}} {
		w := get(c, http.MethodGet, "/console/ecs/", tc.user, tc.pw)
		if w.Code != http.StatusUnauthorized || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), `Basic realm="Berth"`) {
			t.Errorf("%s:%s: %d %q", tc.user, tc.pw, w.Code, w.Header().Get("WWW-Authenticate"))
		}
	}
	w := get(c, http.MethodGet, "/console/ecs/", "123456789012", "s3cret")
	if w.Code != 200 || !strings.Contains(w.Body.String(), "cluster-of-123456789012-") {
		t.Errorf("configured key: %d\n%s", w.Code, w.Body)
	}
	w = get(c, http.MethodGet, "/console/ecs/", "AKIAAAAAAAAAAAAAAAAA", "iam-secret")
	if w.Code != 200 || !strings.Contains(w.Body.String(), "cluster-of-210987654321-") {
		t.Errorf("IAM key: %d\n%s", w.Code, w.Body)
	}
	if w := get(c, http.MethodGet, "/console/ecs/?account=210987654321", "123456789012", "s3cret"); w.Code != http.StatusForbidden {
		t.Errorf("another account: %d", w.Code)
	}
	if w := get(c, http.MethodGet, "/console/ecs/?account=123456789012", "123456789012", "s3cret"); w.Code != 200 {
		t.Errorf("own account named: %d", w.Code)
	}
}
