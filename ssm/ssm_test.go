package ssm_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	smapi "github.com/berth-dev/berth/api/secretsmanager"
	ssmapi "github.com/berth-dev/berth/api/ssm"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/secrets"
	"github.com/berth-dev/berth/ssm"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/store/sqlite"
)

var ctx = awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: "123456789012", Region: "eu-west-1"})

// current is the running test, for must; the tests do not run in
// parallel.
var current *testing.T

func must[T any](v T, err error) T {
	current.Helper()
	if err != nil {
		current.Fatal(err)
	}
	return v
}

func p[T any](v T) *T { return &v }

func newService(t *testing.T) (*ssm.Service, store.Store) {
	t.Helper()
	current = t
	st, err := sqlite.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := ssm.New(ssm.Options{Store: st, Now: func() time.Time { return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return svc, st
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	e := awsapi.AsError(err)
	if e == nil || e.Code != code {
		t.Fatalf("%s: error %v, want %s", what, err, code)
	}
}

func put(svc *ssm.Service, name, value string, typ ssmapi.ParameterType, overwrite bool) (*ssmapi.PutParameterOutput, error) {
	in := &ssmapi.PutParameterInput{Name: &name, Value: &value, Overwrite: &overwrite}
	if typ != "" {
		in.Type = &typ
	}
	return svc.PutParameter(ctx, in)
}

func TestPutGetOverwriteAndVersions(t *testing.T) {
	svc, _ := newService(t)
	out := must(put(svc, "/app/db/url", "postgres://a", "String", false))
	if *out.Version != 1 || *out.Tier != "Standard" {
		t.Fatalf("first put: %+v", out)
	}
	_, err := put(svc, "/app/db/url", "postgres://b", "String", false)
	wantCode(t, "put existing", err, ssmapi.CodeParameterAlreadyExists)
	out = must(put(svc, "/app/db/url", "postgres://b", "", true))
	if *out.Version != 2 {
		t.Fatalf("overwrite: version %d", *out.Version)
	}
	g := must(svc.GetParameter(ctx, &ssmapi.GetParameterInput{Name: p("/app/db/url")}))
	if *g.Parameter.Value != "postgres://b" || *g.Parameter.Version != 2 || *g.Parameter.ARN != "arn:aws:ssm:eu-west-1:123456789012:parameter/app/db/url" {
		t.Errorf("get: %+v", g.Parameter)
	}
	for _, ref := range []string{"/app/db/url:1", "arn:aws:ssm:eu-west-1:123456789012:parameter/app/db/url:1"} {
		g = must(svc.GetParameter(ctx, &ssmapi.GetParameterInput{Name: &ref}))
		if *g.Parameter.Value != "postgres://a" || *g.Parameter.Selector != ":1" || *g.Parameter.Name != "/app/db/url" {
			t.Errorf("get %s: %+v", ref, g.Parameter)
		}
	}
	_, err = svc.GetParameter(ctx, &ssmapi.GetParameterInput{Name: p("/app/db/url:9")})
	wantCode(t, "missing version", err, ssmapi.CodeParameterVersionNotFound)
	_, err = svc.GetParameter(ctx, &ssmapi.GetParameterInput{Name: p("/nope")})
	wantCode(t, "missing", err, ssmapi.CodeParameterNotFound)
	_, err = put(svc, "/app/db/url", "x", "SecureString", true)
	wantCode(t, "type change", err, ssmapi.CodeHierarchyTypeMismatchException)

	h := must(svc.GetParameterHistory(ctx, &ssmapi.GetParameterHistoryInput{Name: p("/app/db/url"), MaxResults: p(int32(1))}))
	if len(h.Parameters) != 1 || *h.Parameters[0].Version != 1 || h.NextToken == nil {
		t.Fatalf("history page 1: %+v", h)
	}
	h = must(svc.GetParameterHistory(ctx, &ssmapi.GetParameterHistoryInput{Name: p("/app/db/url"), NextToken: h.NextToken}))
	if len(h.Parameters) != 1 || *h.Parameters[0].Version != 2 || h.NextToken != nil {
		t.Fatalf("history page 2: %+v", h)
	}
	// A single-level name is one parameter with or without its slash.
	must(put(svc, "plain", "v", "String", false))
	g = must(svc.GetParameter(ctx, &ssmapi.GetParameterInput{Name: p("/plain")}))
	if *g.Parameter.Value != "v" {
		t.Errorf("get /plain: %+v", g.Parameter)
	}
	_, err = put(svc, "/plain", "w", "String", false)
	wantCode(t, "/plain exists", err, ssmapi.CodeParameterAlreadyExists)
}

func TestNamesAndValues(t *testing.T) {
	svc, _ := newService(t)
	for name, code := range map[string]string{
		"has space":                          awsapi.CodeValidation,
		"a/b":                                awsapi.CodeValidation,
		"/a//b":                              awsapi.CodeValidation,
		"/a/b/":                              awsapi.CodeValidation,
		"awsthing":                           awsapi.CodeValidation,
		"SSM-x":                              awsapi.CodeValidation,
		"/aws/x":                             ssmapi.CodeAccessDeniedException,
		"/a@b":                               awsapi.CodeValidation,
		"/" + strings.Repeat("l/", 15) + "x": ssmapi.CodeHierarchyLevelLimitExceededException,
	} {
		_, err := put(svc, name, "v", "String", false)
		wantCode(t, "put "+name, err, code)
	}
	must(put(svc, "/"+strings.Repeat("l/", 14)+"x", "v", "String", false))
	_, err := put(svc, "/new", "v", "", false)
	wantCode(t, "no type", err, awsapi.CodeValidation)
	_, err = put(svc, "/big", strings.Repeat("x", 4097), "String", false)
	wantCode(t, "big standard", err, awsapi.CodeValidation)
	out := must(svc.PutParameter(ctx, &ssmapi.PutParameterInput{Name: p("/big"), Value: p(strings.Repeat("x", 4097)), Type: p(ssmapi.ParameterTypeString), Tier: p(ssmapi.ParameterTierIntelligentTiering)}))
	if *out.Tier != "Advanced" {
		t.Errorf("intelligent tiering of a big value: %s", *out.Tier)
	}
	_, err = svc.PutParameter(ctx, &ssmapi.PutParameterInput{Name: p("/big"), Value: p("x"), Overwrite: p(true), Tier: p(ssmapi.ParameterTierStandard)})
	wantCode(t, "downgrade", err, awsapi.CodeValidation)
	_, err = svc.PutParameter(ctx, &ssmapi.PutParameterInput{Name: p("/num"), Value: p("abc"), Type: p(ssmapi.ParameterTypeString), AllowedPattern: p(`^\d+$`)})
	wantCode(t, "pattern", err, ssmapi.CodeParameterPatternMismatchException)
	_, err = svc.PutParameter(ctx, &ssmapi.PutParameterInput{Name: p("/t"), Value: p("v"), Type: p(ssmapi.ParameterTypeString), Overwrite: p(true), Tags: []ssmapi.Tag{{Key: p("k"), Value: p("v")}}})
	wantCode(t, "tags with overwrite", err, awsapi.CodeValidation)
	_, err = svc.PutParameter(ctx, &ssmapi.PutParameterInput{Name: p("/ami"), Value: p("nope"), Type: p(ssmapi.ParameterTypeString), DataType: p("aws:ec2:image")})
	wantCode(t, "ami", err, awsapi.CodeValidation)
	_, err = svc.GetParameter(ctx, &ssmapi.GetParameterInput{Name: p("{bad}")})
	wantCode(t, "get bad name", err, awsapi.CodeValidation)
}

func TestSecureStringAndGetParameters(t *testing.T) {
	svc, _ := newService(t)
	must(put(svc, "/s/pw", "hunter2", "SecureString", false))
	must(put(svc, "/s/list", "a,b,c", "StringList", false))
	g := must(svc.GetParameter(ctx, &ssmapi.GetParameterInput{Name: p("/s/pw")}))
	if *g.Parameter.Value == "hunter2" {
		t.Error("SecureString returned in clear without WithDecryption")
	}
	g = must(svc.GetParameter(ctx, &ssmapi.GetParameterInput{Name: p("/s/pw"), WithDecryption: p(true)}))
	if *g.Parameter.Value != "hunter2" || *g.Parameter.Type != "SecureString" {
		t.Errorf("decrypted: %+v", g.Parameter)
	}
	d := must(svc.DescribeParameters(ctx, &ssmapi.DescribeParametersInput{}))
	if len(d.Parameters) != 2 || d.Parameters[0].KeyId != nil || *d.Parameters[1].KeyId != ssm.DefaultKeyID {
		t.Errorf("describe: %+v", d.Parameters)
	}
	gs := must(svc.GetParameters(ctx, &ssmapi.GetParametersInput{Names: []string{"/s/pw", "/s/list", "/s/missing", "/s/list:7"}, WithDecryption: p(true)}))
	if len(gs.Parameters) != 2 || !slices.Equal(gs.InvalidParameters, []string{"/s/missing", "/s/list:7"}) {
		t.Errorf("GetParameters: %+v", gs)
	}
}

func TestPathsAndDescribe(t *testing.T) {
	svc, _ := newService(t)
	for i := range 12 {
		must(put(svc, fmt.Sprintf("/app/svc%02d/url", i), "u", "String", false))
	}
	must(put(svc, "/app/top", "t", "SecureString", false))
	must(put(svc, "/apple", "x", "String", false))
	must(put(svc, "root", "r", "String", false))
	byPath := func(path string, recursive bool, fs ...ssmapi.ParameterStringFilter) []string {
		var names []string
		in := &ssmapi.GetParametersByPathInput{Path: &path, Recursive: &recursive, ParameterFilters: fs}
		for {
			out := must(svc.GetParametersByPath(ctx, in))
			for _, p := range out.Parameters {
				names = append(names, *p.Name)
			}
			if out.NextToken == nil {
				return names
			}
			in.NextToken = out.NextToken
		}
	}
	if got := byPath("/app", false); !slices.Equal(got, []string{"/app/top"}) {
		t.Errorf("/app one level: %v", got)
	}
	if got := byPath("/app/", true); len(got) != 13 {
		t.Errorf("/app recursive: %d %v", len(got), got)
	}
	if got := byPath("/", false); !slices.Equal(got, []string{"/apple", "root"}) {
		t.Errorf("/ one level: %v", got)
	}
	if got := byPath("/app", true, ssmapi.ParameterStringFilter{Key: p("Type"), Values: []string{"SecureString"}}); !slices.Equal(got, []string{"/app/top"}) {
		t.Errorf("/app SecureString: %v", got)
	}
	_, err := svc.GetParametersByPath(ctx, &ssmapi.GetParametersByPathInput{Path: p("app")})
	wantCode(t, "relative path", err, awsapi.CodeValidation)
	_, err = svc.GetParametersByPath(ctx, &ssmapi.GetParametersByPathInput{Path: p("/app"), ParameterFilters: []ssmapi.ParameterStringFilter{{Key: p("Name"), Values: []string{"x"}}}})
	wantCode(t, "Name filter by path", err, ssmapi.CodeInvalidFilterKey)

	describe := func(in *ssmapi.DescribeParametersInput) []string {
		var names []string
		for {
			out := must(svc.DescribeParameters(ctx, in))
			for _, m := range out.Parameters {
				names = append(names, *m.Name)
			}
			if out.NextToken == nil {
				return names
			}
			in.NextToken = out.NextToken
		}
	}
	if got := describe(&ssmapi.DescribeParametersInput{MaxResults: p(int32(5))}); len(got) != 15 {
		t.Errorf("describe all: %d", len(got))
	}
	if got := describe(&ssmapi.DescribeParametersInput{ParameterFilters: []ssmapi.ParameterStringFilter{{Key: p("Name"), Option: p("BeginsWith"), Values: []string{"/app/svc1"}}}}); len(got) != 2 {
		t.Errorf("describe Name BeginsWith /app/svc1: %v", got)
	}
	if got := describe(&ssmapi.DescribeParametersInput{ParameterFilters: []ssmapi.ParameterStringFilter{{Key: p("Path"), Option: p("Recursive"), Values: []string{"/app"}}}}); len(got) != 13 {
		t.Errorf("describe Path /app recursive: %d", len(got))
	}
	if got := describe(&ssmapi.DescribeParametersInput{Filters: []ssmapi.ParametersFilter{{Key: p(ssmapi.ParametersFilterKeyType), Values: []string{"SecureString"}}}}); !slices.Equal(got, []string{"/app/top"}) {
		t.Errorf("describe Type: %v", got)
	}
	_, err = svc.DescribeParameters(ctx, &ssmapi.DescribeParametersInput{ParameterFilters: []ssmapi.ParameterStringFilter{{Key: p("Label"), Values: []string{"x"}}}})
	wantCode(t, "Label in describe", err, ssmapi.CodeInvalidFilterKey)
	_, err = svc.DescribeParameters(ctx, &ssmapi.DescribeParametersInput{NextToken: p("junk")})
	wantCode(t, "bad token", err, ssmapi.CodeInvalidNextToken)
}

func TestDeleteTagsAndLabels(t *testing.T) {
	svc, _ := newService(t)
	must(svc.PutParameter(ctx, &ssmapi.PutParameterInput{Name: p("/a"), Value: p("1"), Type: p(ssmapi.ParameterTypeString), Tags: []ssmapi.Tag{{Key: p("env"), Value: p("dev")}}}))
	must(put(svc, "/a", "2", "", true))
	param := ssmapi.ResourceTypeForTaggingParameter
	must(svc.AddTagsToResource(ctx, &ssmapi.AddTagsToResourceInput{ResourceType: &param, ResourceId: p("/a"), Tags: []ssmapi.Tag{{Key: p("team"), Value: p("x")}}}))
	must(svc.RemoveTagsFromResource(ctx, &ssmapi.RemoveTagsFromResourceInput{ResourceType: &param, ResourceId: p("/a"), TagKeys: []string{"env"}}))
	tags := must(svc.ListTagsForResource(ctx, &ssmapi.ListTagsForResourceInput{ResourceType: &param, ResourceId: p("/a")}))
	if len(tags.TagList) != 1 || *tags.TagList[0].Key != "team" {
		t.Errorf("tags: %+v", tags.TagList)
	}
	_, err := svc.ListTagsForResource(ctx, &ssmapi.ListTagsForResourceInput{ResourceType: &param, ResourceId: p("/zzz")})
	wantCode(t, "tags of missing", err, ssmapi.CodeInvalidResourceId)

	l := must(svc.LabelParameterVersion(ctx, &ssmapi.LabelParameterVersionInput{Name: p("/a"), ParameterVersion: p(int64(1)), Labels: []string{"stable", "aws-bad", "1x"}}))
	if !slices.Equal(l.InvalidLabels, []string{"aws-bad", "1x"}) {
		t.Errorf("invalid labels %v", l.InvalidLabels)
	}
	g := must(svc.GetParameter(ctx, &ssmapi.GetParameterInput{Name: p("/a:stable")}))
	if *g.Parameter.Value != "1" {
		t.Errorf("/a:stable = %s", *g.Parameter.Value)
	}
	// Labelling version 2 moves the label.
	must(svc.LabelParameterVersion(ctx, &ssmapi.LabelParameterVersionInput{Name: p("/a"), Labels: []string{"stable"}}))
	g = must(svc.GetParameter(ctx, &ssmapi.GetParameterInput{Name: p("/a:stable")}))
	if *g.Parameter.Value != "2" {
		t.Errorf("/a:stable after move = %s", *g.Parameter.Value)
	}
	u := must(svc.UnlabelParameterVersion(ctx, &ssmapi.UnlabelParameterVersionInput{Name: p("/a"), ParameterVersion: p(int64(2)), Labels: []string{"stable", "other"}}))
	if !slices.Equal(u.RemovedLabels, []string{"stable"}) || !slices.Equal(u.InvalidLabels, []string{"other"}) {
		t.Errorf("unlabel: %+v", u)
	}

	must(svc.DeleteParameter(ctx, &ssmapi.DeleteParameterInput{Name: p("/a")}))
	_, err = svc.DeleteParameter(ctx, &ssmapi.DeleteParameterInput{Name: p("/a")})
	wantCode(t, "delete twice", err, ssmapi.CodeParameterNotFound)
	_, err = svc.GetParameterHistory(ctx, &ssmapi.GetParameterHistoryInput{Name: p("/a")})
	wantCode(t, "history of deleted", err, ssmapi.CodeParameterNotFound)
	// Re-created, it starts again at version 1 with no history.
	out := must(put(svc, "/a", "new", "String", false))
	if *out.Version != 1 {
		t.Errorf("re-created at version %d", *out.Version)
	}
	must(put(svc, "/b", "b", "String", false))
	d := must(svc.DeleteParameters(ctx, &ssmapi.DeleteParametersInput{Names: []string{"/a", "/b", "/c"}}))
	if !slices.Equal(d.DeletedParameters, []string{"/a", "/b"}) || !slices.Equal(d.InvalidParameters, []string{"/c"}) {
		t.Errorf("DeleteParameters: %+v", d)
	}
}

func TestVersionLimit(t *testing.T) {
	svc, _ := newService(t)
	for i := range 101 {
		must(put(svc, "/many", fmt.Sprint(i), "String", i > 0))
	}
	_, err := svc.GetParameter(ctx, &ssmapi.GetParameterInput{Name: p("/many:1")})
	wantCode(t, "version 1 after 101 puts", err, ssmapi.CodeParameterVersionNotFound)
	g := must(svc.GetParameter(ctx, &ssmapi.GetParameterInput{Name: p("/many:2")}))
	if *g.Parameter.Value != "1" {
		t.Errorf("version 2 = %s", *g.Parameter.Value)
	}
	must(svc.LabelParameterVersion(ctx, &ssmapi.LabelParameterVersionInput{Name: p("/many"), ParameterVersion: p(int64(2)), Labels: []string{"keep"}}))
	_, err = put(svc, "/many", "x", "", true)
	wantCode(t, "oldest is labelled", err, ssmapi.CodeParameterMaxVersionLimitExceeded)
}

func TestSecretsManagerReference(t *testing.T) {
	svc, st := newService(t)
	sm := must(secrets.New(secrets.Options{Store: st}))
	must(sm.CreateSecret(ctx, &smapi.CreateSecretInput{Name: p("db"), SecretString: p("s3cret")}))
	_, err := svc.GetParameter(ctx, &ssmapi.GetParameterInput{Name: p("/aws/reference/secretsmanager/db")})
	wantCode(t, "without decryption", err, awsapi.CodeValidation)
	g := must(svc.GetParameter(ctx, &ssmapi.GetParameterInput{Name: p("/aws/reference/secretsmanager/db"), WithDecryption: p(true)}))
	if *g.Parameter.Value != "s3cret" || *g.Parameter.Type != "SecureString" || g.Parameter.SourceResult == nil {
		t.Errorf("reference: %+v", g.Parameter)
	}
	_, err = svc.GetParameter(ctx, &ssmapi.GetParameterInput{Name: p("/aws/reference/secretsmanager/nope"), WithDecryption: p(true)})
	wantCode(t, "missing secret", err, ssmapi.CodeParameterNotFound)
}
