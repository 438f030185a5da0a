package secrets_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	smapi "github.com/berth-dev/berth/api/secretsmanager"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/secrets"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/store/sqlite"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newService(t *testing.T) (*secrets.Service, *clock, store.Store) {
	t.Helper()
	current = t
	st := openStore(t)
	clk := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	svc, err := secrets.New(secrets.Options{Store: st, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return svc, clk, st
}

func as(account, region string) context.Context {
	return awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: account, Region: region})
}

var ctx = as("123456789012", "eu-west-1")

func p[T any](v T) *T { return &v }

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	e := awsapi.AsError(err)
	if e == nil || e.Code != code {
		t.Fatalf("%s: error %v, want %s", what, err, code)
	}
}

// current is the running test, for must; the tests do not run in
// parallel.
var current *testing.T

// must returns v, failing the current test when err is not nil.
func must[T any](v T, err error) T {
	current.Helper()
	if err != nil {
		current.Fatal(err)
	}
	return v
}

func TestCreateGetAndARN(t *testing.T) {
	svc, _, _ := newService(t)
	out := must(svc.CreateSecret(ctx, &smapi.CreateSecretInput{
		Name: p("prod/db"), SecretString: p(`{"user":"admin"}`), Description: p("the db"),
		KmsKeyId: p("alias/mine"), Tags: []smapi.Tag{{Key: p("team"), Value: p("core")}},
	}))
	arnRE := regexp.MustCompile(`^arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-[A-Za-z0-9]{6}$`)
	if !arnRE.MatchString(*out.ARN) {
		t.Fatalf("ARN %s does not have AWS's format", *out.ARN)
	}
	if out.VersionId == nil {
		t.Fatal("CreateSecret with a value returned no VersionId")
	}
	partial := strings.TrimSuffix(*out.ARN, (*out.ARN)[len(*out.ARN)-7:])
	for _, id := range []string{"prod/db", *out.ARN, partial} {
		v := must(svc.GetSecretValue(ctx, &smapi.GetSecretValueInput{SecretId: p(id)}))
		if *v.SecretString != `{"user":"admin"}` || *v.ARN != *out.ARN || !slices.Equal(v.VersionStages, []string{"AWSCURRENT"}) {
			t.Errorf("GetSecretValue(%s) = %+v", id, v)
		}
	}
	d := must(svc.DescribeSecret(ctx, &smapi.DescribeSecretInput{SecretId: out.ARN}))
	if *d.Description != "the db" || *d.KmsKeyId != "alias/mine" || len(d.Tags) != 1 || len(d.VersionIdsToStages) != 1 {
		t.Errorf("DescribeSecret = %+v", d)
	}
	// Another account and another region see nothing.
	_, err := svc.GetSecretValue(as("999999999999", "eu-west-1"), &smapi.GetSecretValueInput{SecretId: p("prod/db")})
	wantCode(t, "other account", err, smapi.CodeResourceNotFoundException)
	_, err = svc.GetSecretValue(as("123456789012", "us-east-1"), &smapi.GetSecretValueInput{SecretId: out.ARN})
	wantCode(t, "other region", err, smapi.CodeResourceNotFoundException)
	// A wrong suffix is another secret.
	_, err = svc.GetSecretValue(ctx, &smapi.GetSecretValueInput{SecretId: p(partial + "-zzzzzz")})
	wantCode(t, "wrong suffix", err, smapi.CodeResourceNotFoundException)
}

func TestCreateErrors(t *testing.T) {
	svc, _, _ := newService(t)
	must(svc.CreateSecret(ctx, &smapi.CreateSecretInput{Name: p("a"), SecretString: p("x"), ClientRequestToken: p(strings.Repeat("1", 32))}))
	_, err := svc.CreateSecret(ctx, &smapi.CreateSecretInput{Name: p("a"), SecretString: p("x")})
	wantCode(t, "duplicate", err, smapi.CodeResourceExistsException)
	if !strings.Contains(err.Error(), "The operation failed because the secret a already exists.") {
		t.Errorf("duplicate message: %v", err)
	}
	// The same request again (same token, same value) is idempotent.
	again := must(svc.CreateSecret(ctx, &smapi.CreateSecretInput{Name: p("a"), SecretString: p("x"), ClientRequestToken: p(strings.Repeat("1", 32))}))
	if *again.VersionId != strings.Repeat("1", 32) {
		t.Errorf("retried create: %+v", again)
	}
	_, err = svc.CreateSecret(ctx, &smapi.CreateSecretInput{Name: p("a"), SecretString: p("y"), ClientRequestToken: p(strings.Repeat("1", 32))})
	wantCode(t, "same token, other value", err, smapi.CodeResourceExistsException)
	_, err = svc.CreateSecret(ctx, &smapi.CreateSecretInput{Name: p("bad name")})
	wantCode(t, "bad name", err, awsapi.CodeValidation)
	_, err = svc.CreateSecret(ctx, &smapi.CreateSecretInput{Name: p("b"), SecretString: p("x"), SecretBinary: []byte("y")})
	wantCode(t, "both values", err, smapi.CodeInvalidParameterException)
	_, err = svc.GetSecretValue(ctx, &smapi.GetSecretValueInput{SecretId: p("missing")})
	wantCode(t, "missing", err, smapi.CodeResourceNotFoundException)
	// A secret without a value has no AWSCURRENT version.
	must(svc.CreateSecret(ctx, &smapi.CreateSecretInput{Name: p("empty")}))
	_, err = svc.GetSecretValue(ctx, &smapi.GetSecretValueInput{SecretId: p("empty")})
	wantCode(t, "no value", err, smapi.CodeResourceNotFoundException)
}

func TestVersionStages(t *testing.T) {
	svc, clk, _ := newService(t)
	c := must(svc.CreateSecret(ctx, &smapi.CreateSecretInput{Name: p("s"), SecretString: p("v1")}))
	clk.Add(time.Second)
	p2 := must(svc.PutSecretValue(ctx, &smapi.PutSecretValueInput{SecretId: p("s"), SecretString: p("v2")}))
	if !slices.Equal(p2.VersionStages, []string{"AWSCURRENT"}) {
		t.Fatalf("put stages %v", p2.VersionStages)
	}
	cur := must(svc.GetSecretValue(ctx, &smapi.GetSecretValueInput{SecretId: p("s")}))
	prev := must(svc.GetSecretValue(ctx, &smapi.GetSecretValueInput{SecretId: p("s"), VersionStage: p("AWSPREVIOUS")}))
	if *cur.SecretString != "v2" || *prev.SecretString != "v1" || *prev.VersionId != *c.VersionId {
		t.Fatalf("current %q previous %q", *cur.SecretString, *prev.SecretString)
	}
	// A third value: v1 loses every label (deprecated), v2 is previous.
	clk.Add(time.Second)
	must(svc.PutSecretValue(ctx, &smapi.PutSecretValueInput{SecretId: p("s"), SecretBinary: []byte{0, 1, 2}}))
	prev = must(svc.GetSecretValue(ctx, &smapi.GetSecretValueInput{SecretId: p("s"), VersionStage: p("AWSPREVIOUS")}))
	if *prev.SecretString != "v2" {
		t.Fatalf("previous after third put: %q", *prev.SecretString)
	}
	old := must(svc.GetSecretValue(ctx, &smapi.GetSecretValueInput{SecretId: p("s"), VersionId: c.VersionId}))
	if *old.SecretString != "v1" || len(old.VersionStages) != 0 {
		t.Fatalf("v1 by id: %+v", old)
	}
	bin := must(svc.GetSecretValue(ctx, &smapi.GetSecretValueInput{SecretId: p("s")}))
	if string(bin.SecretBinary) != "\x00\x01\x02" || bin.SecretString != nil {
		t.Fatalf("binary current: %+v", bin)
	}
	l := must(svc.ListSecretVersionIds(ctx, &smapi.ListSecretVersionIdsInput{SecretId: p("s")}))
	if len(l.Versions) != 2 {
		t.Errorf("ListSecretVersionIds without deprecated: %d versions, want 2", len(l.Versions))
	}
	l = must(svc.ListSecretVersionIds(ctx, &smapi.ListSecretVersionIdsInput{SecretId: p("s"), IncludeDeprecated: p(true)}))
	if len(l.Versions) != 3 {
		t.Errorf("ListSecretVersionIds with deprecated: %d versions, want 3", len(l.Versions))
	}
	// A custom stage moves without touching AWSCURRENT.
	must(svc.PutSecretValue(ctx, &smapi.PutSecretValueInput{SecretId: p("s"), SecretString: p("pending"), VersionStages: []string{"AWSPENDING"}}))
	cur = must(svc.GetSecretValue(ctx, &smapi.GetSecretValueInput{SecretId: p("s")}))
	if cur.SecretBinary == nil {
		t.Errorf("AWSPENDING put moved AWSCURRENT")
	}
	_, err := svc.GetSecretValue(ctx, &smapi.GetSecretValueInput{SecretId: p("s"), VersionStage: p("NOPE")})
	wantCode(t, "unknown stage", err, smapi.CodeResourceNotFoundException)
	_, err = svc.GetSecretValue(ctx, &smapi.GetSecretValueInput{SecretId: p("s"), VersionId: c.VersionId, VersionStage: p("AWSCURRENT")})
	wantCode(t, "stage not on version", err, smapi.CodeInvalidRequestException)
	_, err = svc.PutSecretValue(ctx, &smapi.PutSecretValueInput{SecretId: p("s")})
	wantCode(t, "put without value", err, smapi.CodeInvalidRequestException)

	// UpdateSecretVersionStage moves AWSCURRENT back to v1.
	d := must(svc.DescribeSecret(ctx, &smapi.DescribeSecretInput{SecretId: p("s")}))
	var curID string
	for id, st := range d.VersionIdsToStages {
		if slices.Contains(st, "AWSCURRENT") {
			curID = id
		}
	}
	_, err = svc.UpdateSecretVersionStage(ctx, &smapi.UpdateSecretVersionStageInput{SecretId: p("s"), VersionStage: p("AWSCURRENT"), MoveToVersionId: c.VersionId})
	wantCode(t, "move without remove", err, smapi.CodeInvalidParameterException)
	must(svc.UpdateSecretVersionStage(ctx, &smapi.UpdateSecretVersionStageInput{SecretId: p("s"), VersionStage: p("AWSCURRENT"), MoveToVersionId: c.VersionId, RemoveFromVersionId: &curID}))
	cur = must(svc.GetSecretValue(ctx, &smapi.GetSecretValueInput{SecretId: p("s")}))
	prev = must(svc.GetSecretValue(ctx, &smapi.GetSecretValueInput{SecretId: p("s"), VersionStage: p("AWSPREVIOUS")}))
	if *cur.SecretString != "v1" || *prev.VersionId != curID {
		t.Errorf("after moving AWSCURRENT: current %+v previous %+v", cur, prev)
	}
}

func TestPutIdempotency(t *testing.T) {
	svc, _, _ := newService(t)
	must(svc.CreateSecret(ctx, &smapi.CreateSecretInput{Name: p("s"), SecretString: p("v1")}))
	tok := "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	a := must(svc.PutSecretValue(ctx, &smapi.PutSecretValueInput{SecretId: p("s"), SecretString: p("v2"), ClientRequestToken: &tok}))
	b := must(svc.PutSecretValue(ctx, &smapi.PutSecretValueInput{SecretId: p("s"), SecretString: p("v2"), ClientRequestToken: &tok}))
	if *a.VersionId != tok || *b.VersionId != tok {
		t.Fatalf("versions %s %s, want the token", *a.VersionId, *b.VersionId)
	}
	l := must(svc.ListSecretVersionIds(ctx, &smapi.ListSecretVersionIdsInput{SecretId: p("s"), IncludeDeprecated: p(true)}))
	if len(l.Versions) != 2 {
		t.Errorf("%d versions after a retried put, want 2", len(l.Versions))
	}
	_, err := svc.PutSecretValue(ctx, &smapi.PutSecretValueInput{SecretId: p("s"), SecretString: p("other"), ClientRequestToken: &tok})
	wantCode(t, "token reused with another value", err, smapi.CodeResourceExistsException)
}

func TestDeleteRestoreAndForce(t *testing.T) {
	svc, clk, _ := newService(t)
	c := must(svc.CreateSecret(ctx, &smapi.CreateSecretInput{Name: p("s"), SecretString: p("v")}))
	_, err := svc.DeleteSecret(ctx, &smapi.DeleteSecretInput{SecretId: p("s"), RecoveryWindowInDays: p(int64(6))})
	wantCode(t, "window 6", err, smapi.CodeInvalidParameterException)
	_, err = svc.DeleteSecret(ctx, &smapi.DeleteSecretInput{SecretId: p("s"), RecoveryWindowInDays: p(int64(7)), ForceDeleteWithoutRecovery: p(true)})
	wantCode(t, "window and force", err, smapi.CodeInvalidParameterException)

	d := must(svc.DeleteSecret(ctx, &smapi.DeleteSecretInput{SecretId: p("s"), RecoveryWindowInDays: p(int64(7))}))
	if want := clk.Now().Add(7 * 24 * time.Hour); !d.DeletionDate.Equal(want) {
		t.Errorf("DeletionDate %v, want %v", d.DeletionDate.Time, want)
	}
	_, err = svc.GetSecretValue(ctx, &smapi.GetSecretValueInput{SecretId: p("s")})
	wantCode(t, "get deleted", err, smapi.CodeInvalidRequestException)
	_, err = svc.PutSecretValue(ctx, &smapi.PutSecretValueInput{SecretId: p("s"), SecretString: p("x")})
	wantCode(t, "put deleted", err, smapi.CodeInvalidRequestException)
	_, err = svc.DeleteSecret(ctx, &smapi.DeleteSecretInput{SecretId: p("s")})
	wantCode(t, "delete again", err, smapi.CodeInvalidRequestException)
	_, err = svc.CreateSecret(ctx, &smapi.CreateSecretInput{Name: p("s")})
	wantCode(t, "create over scheduled", err, smapi.CodeInvalidRequestException)
	desc := must(svc.DescribeSecret(ctx, &smapi.DescribeSecretInput{SecretId: p("s")}))
	if desc.DeletedDate == nil {
		t.Error("DescribeSecret of a deleted secret has no DeletedDate")
	}
	ls := must(svc.ListSecrets(ctx, &smapi.ListSecretsInput{}))
	if len(ls.SecretList) != 0 {
		t.Errorf("ListSecrets lists a deleted secret")
	}
	ls = must(svc.ListSecrets(ctx, &smapi.ListSecretsInput{IncludePlannedDeletion: p(true)}))
	if len(ls.SecretList) != 1 {
		t.Errorf("ListSecrets IncludePlannedDeletion: %d secrets", len(ls.SecretList))
	}

	must(svc.RestoreSecret(ctx, &smapi.RestoreSecretInput{SecretId: c.ARN}))
	v := must(svc.GetSecretValue(ctx, &smapi.GetSecretValueInput{SecretId: p("s")}))
	if *v.SecretString != "v" {
		t.Errorf("restored value %q", *v.SecretString)
	}

	// After the recovery window the secret is gone and the name is free.
	must(svc.DeleteSecret(ctx, &smapi.DeleteSecretInput{SecretId: p("s"), RecoveryWindowInDays: p(int64(7))}))
	clk.Add(7*24*time.Hour + time.Second)
	_, err = svc.DescribeSecret(ctx, &smapi.DescribeSecretInput{SecretId: p("s")})
	wantCode(t, "after window", err, smapi.CodeResourceNotFoundException)
	c2 := must(svc.CreateSecret(ctx, &smapi.CreateSecretInput{Name: p("s"), SecretString: p("new")}))
	if *c2.ARN == *c.ARN {
		t.Error("a re-created secret has the old ARN")
	}
	_, err = svc.GetSecretValue(ctx, &smapi.GetSecretValueInput{SecretId: c.ARN})
	wantCode(t, "old ARN", err, smapi.CodeResourceNotFoundException)

	// Force deletion removes at once, and forcing a missing secret is fine.
	must(svc.DeleteSecret(ctx, &smapi.DeleteSecretInput{SecretId: p("s"), ForceDeleteWithoutRecovery: p(true)}))
	_, err = svc.DescribeSecret(ctx, &smapi.DescribeSecretInput{SecretId: p("s")})
	wantCode(t, "after force", err, smapi.CodeResourceNotFoundException)
	must(svc.DeleteSecret(ctx, &smapi.DeleteSecretInput{SecretId: p("never"), ForceDeleteWithoutRecovery: p(true)}))
	_, err = svc.DeleteSecret(ctx, &smapi.DeleteSecretInput{SecretId: p("never")})
	wantCode(t, "delete missing", err, smapi.CodeResourceNotFoundException)
	must(svc.CreateSecret(ctx, &smapi.CreateSecretInput{Name: p("s"), SecretString: p("again")}))
}

func TestUpdateAndTags(t *testing.T) {
	svc, _, _ := newService(t)
	must(svc.CreateSecret(ctx, &smapi.CreateSecretInput{Name: p("s"), SecretString: p("v1"), Tags: []smapi.Tag{{Key: p("a"), Value: p("1")}}}))
	u := must(svc.UpdateSecret(ctx, &smapi.UpdateSecretInput{SecretId: p("s"), Description: p("new")}))
	if u.VersionId != nil {
		t.Error("UpdateSecret without a value made a version")
	}
	u = must(svc.UpdateSecret(ctx, &smapi.UpdateSecretInput{SecretId: p("s"), SecretString: p("v2"), KmsKeyId: p("k2")}))
	if u.VersionId == nil {
		t.Error("UpdateSecret with a value made no version")
	}
	must(svc.TagResource(ctx, &smapi.TagResourceInput{SecretId: p("s"), Tags: []smapi.Tag{{Key: p("a"), Value: p("2")}, {Key: p("b"), Value: p("3")}}}))
	must(svc.UntagResource(ctx, &smapi.UntagResourceInput{SecretId: p("s"), TagKeys: []string{"b"}}))
	d := must(svc.DescribeSecret(ctx, &smapi.DescribeSecretInput{SecretId: p("s")}))
	if *d.Description != "new" || *d.KmsKeyId != "k2" || len(d.Tags) != 1 || *d.Tags[0].Value != "2" {
		t.Errorf("after update and tagging: %+v", d)
	}
	v := must(svc.GetSecretValue(ctx, &smapi.GetSecretValueInput{SecretId: p("s")}))
	if *v.SecretString != "v2" {
		t.Errorf("value %q", *v.SecretString)
	}
	_, err := svc.TagResource(ctx, &smapi.TagResourceInput{SecretId: p("nope"), Tags: []smapi.Tag{{Key: p("a"), Value: p("1")}}})
	wantCode(t, "tag missing", err, smapi.CodeResourceNotFoundException)
}

func TestListFiltersAndPages(t *testing.T) {
	svc, clk, _ := newService(t)
	for i := range 7 {
		clk.Add(time.Second)
		in := &smapi.CreateSecretInput{Name: p(fmt.Sprintf("app/%d", i)), SecretString: p("v")}
		if i%2 == 0 {
			in.Tags = []smapi.Tag{{Key: p("env"), Value: p("prod")}}
			in.Description = p("Database credentials")
		}
		must(svc.CreateSecret(ctx, in))
	}
	must(svc.CreateSecret(ctx, &smapi.CreateSecretInput{Name: p("other"), SecretString: p("v")}))
	names := func(in *smapi.ListSecretsInput) []string {
		var out []string
		for {
			r := must(svc.ListSecrets(ctx, in))
			for _, e := range r.SecretList {
				out = append(out, *e.Name)
			}
			if r.NextToken == nil {
				return out
			}
			in.NextToken = r.NextToken
		}
	}
	filter := func(key smapi.FilterNameStringType, v ...string) []smapi.Filter {
		return []smapi.Filter{{Key: &key, Values: v}}
	}
	if got := names(&smapi.ListSecretsInput{MaxResults: p(int32(3))}); len(got) != 8 || got[0] != "app/0" {
		t.Errorf("all, paged by 3: %v", got)
	}
	if got := names(&smapi.ListSecretsInput{Filters: filter("name", "app/")}); len(got) != 7 {
		t.Errorf("name app/: %v", got)
	}
	if got := names(&smapi.ListSecretsInput{Filters: filter("name", "App/")}); len(got) != 0 {
		t.Errorf("name filter is case-sensitive, got %v", got)
	}
	if got := names(&smapi.ListSecretsInput{Filters: filter("tag-key", "env")}); len(got) != 4 {
		t.Errorf("tag-key env: %v", got)
	}
	if got := names(&smapi.ListSecretsInput{Filters: filter("tag-value", "!prod")}); len(got) != 4 {
		t.Errorf("tag-value !prod: %v", got)
	}
	if got := names(&smapi.ListSecretsInput{Filters: filter("description", "database")}); len(got) != 4 {
		t.Errorf("description database: %v", got)
	}
	if got := names(&smapi.ListSecretsInput{Filters: filter("all", "credentials")}); len(got) != 4 {
		t.Errorf("all credentials: %v", got)
	}
	if got := names(&smapi.ListSecretsInput{SortBy: p(smapi.SortByTypeName), SortOrder: p(smapi.SortOrderTypeDesc)}); got[0] != "other" {
		t.Errorf("name desc: %v", got)
	}
	_, err := svc.ListSecrets(ctx, &smapi.ListSecretsInput{NextToken: p("garbage")})
	wantCode(t, "bad token", err, smapi.CodeInvalidNextTokenException)

	b := must(svc.BatchGetSecretValue(ctx, &smapi.BatchGetSecretValueInput{SecretIdList: []string{"app/1", "missing"}}))
	if len(b.SecretValues) != 1 || len(b.Errors) != 1 || *b.Errors[0].ErrorCode != smapi.CodeResourceNotFoundException {
		t.Errorf("BatchGetSecretValue: %+v", b)
	}
	b = must(svc.BatchGetSecretValue(ctx, &smapi.BatchGetSecretValueInput{Filters: filter("tag-key", "env")}))
	if len(b.SecretValues) != 4 {
		t.Errorf("BatchGetSecretValue by filter: %d values", len(b.SecretValues))
	}
	_, err = svc.BatchGetSecretValue(ctx, &smapi.BatchGetSecretValueInput{})
	wantCode(t, "batch without ids or filters", err, smapi.CodeInvalidParameterException)
}

func TestRandomPassword(t *testing.T) {
	svc, _, _ := newService(t)
	r := must(svc.GetRandomPassword(ctx, &smapi.GetRandomPasswordInput{PasswordLength: p(int64(40)), ExcludePunctuation: p(true)}))
	if len(*r.RandomPassword) != 40 || !regexp.MustCompile(`^[A-Za-z0-9]+$`).MatchString(*r.RandomPassword) {
		t.Errorf("password %q", *r.RandomPassword)
	}
	r = must(svc.GetRandomPassword(ctx, &smapi.GetRandomPasswordInput{}))
	if len(*r.RandomPassword) != 32 {
		t.Errorf("default length %d", len(*r.RandomPassword))
	}
}
