package sts_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdksts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	iamapi "github.com/berth-dev/berth/api/iam"
	stsapi "github.com/berth-dev/berth/api/sts"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/iam"
	"github.com/berth-dev/berth/store/sqlite"
	"github.com/berth-dev/berth/sts"
)

const acct = "111111111111"

// world is Berth's IAM and STS behind a Mux, as the server wires them,
// with a clock the test can move.
type world struct {
	t      *testing.T
	iam    *iam.Service
	sts    *sts.Service
	auth   *awsapi.Authenticator
	url    string
	offset atomic.Int64 // added to the real clock, in nanoseconds
}

func newWorld(t *testing.T, creds awsapi.Credentials) *world {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := &world{t: t}
	now := func() time.Time { return time.Now().Add(time.Duration(w.offset.Load())) }
	if w.iam, err = iam.New(iam.Options{Store: st, Now: now}); err != nil {
		t.Fatal(err)
	}
	if w.sts, err = sts.New(sts.Options{Store: st, IAM: w.iam, Now: now}); err != nil {
		t.Fatal(err)
	}
	w.auth = &awsapi.Authenticator{Credentials: creds, Sessions: w.sts, Now: now}
	mux := awsapi.NewMux(w.auth, nil)
	mux.HandleQuery(iamapi.NewQueryService(w.iam))
	stsWire := stsapi.NewQueryService(w.sts)
	stsWire.Unsigned = map[string]bool{"AssumeRoleWithWebIdentity": true} // as server.serveIAM
	mux.HandleQuery(stsWire)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	w.url = srv.URL
	return w
}

// createRole creates a role in acct through the IAM wire.
func (w *world) createRole(account, name, trust string, extra ...string) {
	w.t.Helper()
	params := url.Values{"RoleName": {name}, "AssumeRolePolicyDocument": {trust}}
	for i := 0; i+1 < len(extra); i += 2 {
		params.Set(extra[i], extra[i+1])
	}
	ctx := awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: account})
	if _, err := iamapi.NewQueryService(w.iam).Operations["CreateRole"](ctx, params); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) client(akid, secret, token string) *sdksts.Client {
	return sdksts.NewFromConfig(aws.Config{
		Region:           "eu-west-1",
		Credentials:      credentials.NewStaticCredentialsProvider(akid, secret, token),
		BaseEndpoint:     aws.String(w.url),
		RetryMaxAttempts: 1,
	})
}

func trustAccount(a string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + a + `:root"},"Action":"sts:AssumeRole"}]}`
}

const ecsTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestAssumeRoleWithTheGoSDK(t *testing.T) {
	for _, verifying := range []bool{false, true} {
		t.Run(map[bool]string{false: "open", true: "sigv4"}[verifying], func(t *testing.T) {
			var creds awsapi.Credentials
			if verifying {
				creds = awsapi.Credentials{acct: "s3cret"}
			}
			w := newWorld(t, creds)
			w.createRole(acct, "app", trustAccount(acct), "Path", "/svc/", "MaxSessionDuration", "7200")
			ctx := context.Background()
			root := w.client(acct, "s3cret", "")

			who, err := root.GetCallerIdentity(ctx, &sdksts.GetCallerIdentityInput{})
			if err != nil {
				t.Fatal(err)
			}
			if *who.Account != acct || *who.Arn != "arn:aws:iam::111111111111:root" || *who.UserId != acct {
				t.Errorf("plain key: %s %s %s", *who.Account, *who.Arn, *who.UserId)
			}

			out, err := root.AssumeRole(ctx, &sdksts.AssumeRoleInput{
				RoleArn: aws.String("arn:aws:iam::111111111111:role/svc/app"), RoleSessionName: aws.String("build-42"), DurationSeconds: aws.Int32(7200),
			})
			if err != nil {
				t.Fatal(err)
			}
			c := out.Credentials
			if !strings.HasPrefix(*c.AccessKeyId, "ASIA") || len(*c.AccessKeyId) != 20 || *c.SecretAccessKey == "" || *c.SessionToken == "" {
				t.Errorf("credentials %+v", c)
			}
			if d := time.Until(*c.Expiration); d < 119*time.Minute || d > 121*time.Minute {
				t.Errorf("expiration in %s, want 2h", d)
			}
			wantARN := "arn:aws:sts::111111111111:assumed-role/app/build-42"
			if *out.AssumedRoleUser.Arn != wantARN || !strings.HasPrefix(*out.AssumedRoleUser.AssumedRoleId, "AROA") || !strings.HasSuffix(*out.AssumedRoleUser.AssumedRoleId, ":build-42") {
				t.Errorf("assumed role user %s %s", *out.AssumedRoleUser.Arn, *out.AssumedRoleUser.AssumedRoleId)
			}

			session := w.client(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
			who, err = session.GetCallerIdentity(ctx, &sdksts.GetCallerIdentityInput{})
			if err != nil {
				t.Fatal(err)
			}
			if *who.Arn != wantARN || *who.Account != acct || *who.UserId != *out.AssumedRoleUser.AssumedRoleId {
				t.Errorf("session: %s %s %s", *who.Account, *who.Arn, *who.UserId)
			}
			// Role chaining is limited to an hour.
			_, err = session.AssumeRole(ctx, &sdksts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111111111111:role/svc/app"),
				RoleSessionName: aws.String("again"), DurationSeconds: aws.Int32(3601)})
			if apiCode(err) != "ValidationError" {
				t.Errorf("chained 3601s: %v", err)
			}
			if verifying {
				bad := w.client(*c.AccessKeyId, *c.SecretAccessKey, "not-the-token")
				if _, err := bad.GetCallerIdentity(ctx, &sdksts.GetCallerIdentityInput{}); apiCode(err) != "InvalidClientTokenId" {
					t.Errorf("wrong token: %v", err)
				}
				bad = w.client(*c.AccessKeyId, "not-the-secret", *c.SessionToken)
				if _, err := bad.GetCallerIdentity(ctx, &sdksts.GetCallerIdentityInput{}); apiCode(err) != "SignatureDoesNotMatch" {
					t.Errorf("wrong secret: %v", err)
				}
			}

			// Two hours and a second later the credentials have expired.
			w.offset.Store(int64(2*time.Hour + time.Second))
			if verifying {
				// Keep signatures inside the 15 minute window: only the session expires.
				w.auth.Credentials = nil
			}
			if _, err := session.GetCallerIdentity(ctx, &sdksts.GetCallerIdentityInput{}); apiCode(err) != "ExpiredToken" {
				t.Errorf("expired: %v", err)
			}
		})
	}
}

func TestAssumeRoleRefuses(t *testing.T) {
	w := newWorld(t, nil)
	w.createRole(acct, "app", trustAccount(acct))
	w.createRole(acct, "tasks", ecsTrust)
	ctx := context.Background()
	for _, tc := range []struct {
		name, akid, arn, session string
		seconds                  int32
		code                     string
	}{
		{"no such role", acct, "arn:aws:iam::111111111111:role/nope", "s1", 0, "AccessDenied"},
		{"wrong path", acct, "arn:aws:iam::111111111111:role/x/app", "s1", 0, "AccessDenied"},
		{"other account not trusted", "222222222222", "arn:aws:iam::111111111111:role/app", "s1", 0, "AccessDenied"},
		{"service principal only", acct, "arn:aws:iam::111111111111:role/tasks", "s1", 0, "AccessDenied"},
		{"longer than MaxSessionDuration", acct, "arn:aws:iam::111111111111:role/app", "s1", 3601, "ValidationError"},
		{"shorter than 15 minutes", acct, "arn:aws:iam::111111111111:role/app", "s1", 899, "ValidationError"},
		{"bad session name", acct, "arn:aws:iam::111111111111:role/app", "has space", 0, "ValidationError"},
		{"not a role ARN", acct, "arn:aws:iam::111111111111:user/someone", "s1", 0, "ValidationError"},
	} {
		in := &sdksts.AssumeRoleInput{RoleArn: aws.String(tc.arn), RoleSessionName: aws.String(tc.session)}
		if tc.seconds != 0 {
			in.DurationSeconds = aws.Int32(tc.seconds)
		}
		_, err := w.client(tc.akid, "x", "").AssumeRole(ctx, in)
		if apiCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	// GetSessionToken's credentials act as the caller (the root here) and
	// may not ask for more session credentials.
	st, err := w.client(acct, "x", "").GetSessionToken(ctx, &sdksts.GetSessionTokenInput{})
	if err != nil || !strings.HasPrefix(aws.ToString(st.Credentials.AccessKeyId), "ASIA") {
		t.Fatalf("GetSessionToken: %v", err)
	}
	sc := w.client(*st.Credentials.AccessKeyId, *st.Credentials.SecretAccessKey, *st.Credentials.SessionToken)
	who, err := sc.GetCallerIdentity(ctx, &sdksts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.Arn) != "arn:aws:iam::111111111111:root" {
		t.Errorf("GetCallerIdentity with GetSessionToken credentials: %v %v", who, err)
	}
	if _, err := sc.GetSessionToken(ctx, &sdksts.GetSessionTokenInput{}); apiCode(err) != "AccessDenied" {
		t.Errorf("GetSessionToken with session credentials: %v, want AccessDenied", err)
	}
}

func TestIssueRoleCredentials(t *testing.T) {
	w := newWorld(t, nil)
	w.createRole(acct, "task-role", ecsTrust)
	ctx := context.Background()
	c, err := w.sts.IssueRoleCredentials(ctx, acct, "task-role", "task-1234", 6*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if c.RoleARN != "arn:aws:iam::111111111111:role/task-role" || c.AssumedRoleARN != "arn:aws:sts::111111111111:assumed-role/task-role/task-1234" {
		t.Errorf("credentials %+v", c)
	}
	if d := time.Until(c.Expiration); d < 359*time.Minute || d > 361*time.Minute {
		t.Errorf("expires in %s, want 6h", d)
	}
	who, err := w.client(c.AccessKeyID, c.SecretAccessKey, c.SessionToken).GetCallerIdentity(ctx, &sdksts.GetCallerIdentityInput{})
	if err != nil || *who.Arn != c.AssumedRoleARN {
		t.Fatalf("GetCallerIdentity with task credentials: %v %v", who, err)
	}
	if ok, err := w.sts.TrustsService(ctx, acct, c.RoleARN, "ecs-tasks.amazonaws.com"); !ok || err != nil {
		t.Errorf("TrustsService(ecs-tasks): %v %v", ok, err)
	}
	if ok, _ := w.sts.TrustsService(ctx, acct, "task-role", "lambda.amazonaws.com"); ok {
		t.Error("TrustsService(lambda) = true")
	}
	if _, err := w.sts.IssueRoleCredentials(ctx, "222222222222", c.RoleARN, "task-1", 0); !errors.Is(err, iam.ErrNoSuchRole) {
		t.Errorf("another account's role: %v", err)
	}
	if _, err := w.sts.IssueRoleCredentials(ctx, acct, "nope", "task-1", 0); !errors.Is(err, iam.ErrNoSuchRole) {
		t.Errorf("missing role: %v", err)
	}
	if _, err := w.sts.IssueRoleCredentials(ctx, acct, "task-role", "x", 0); awsapi.AsError(err) == nil {
		t.Errorf("one-character session name: %v", err)
	}

	// Prune forgets what expired before the cutoff, and only that.
	short, err := w.sts.IssueRoleCredentials(ctx, acct, "task-role", "short", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := w.sts.Prune(ctx, time.Now().Add(30*time.Minute)); n != 1 || err != nil {
		t.Errorf("Prune: %d %v, want 1 (the 15-minute session)", n, err)
	}
	if s, _ := w.sts.LookupSession(ctx, short.AccessKeyID); s != nil {
		t.Error("pruned session still found")
	}
	if s, _ := w.sts.LookupSession(ctx, c.AccessKeyID); s == nil || s.AccountID != acct {
		t.Errorf("live session: %+v", s)
	}
}
