package resolve_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	smapi "github.com/berth-dev/berth/api/secretsmanager"
	ssmapi "github.com/berth-dev/berth/api/ssm"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/secrets"
	"github.com/berth-dev/berth/secrets/resolve"
	"github.com/berth-dev/berth/ssm"
	"github.com/berth-dev/berth/store/sqlite"
)

const (
	account = "123456789012"
	region  = "eu-west-1"
)

func p[T any](v T) *T { return &v }

func TestResolve(t *testing.T) {
	st, err := sqlite.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: account, Region: region})
	other := awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: account, Region: "us-east-1"})
	sm, _ := secrets.New(secrets.Options{Store: st})
	ps, _ := ssm.New(ssm.Options{Store: st})

	db, err := sm.CreateSecret(ctx, &smapi.CreateSecretInput{Name: p("prod/db"), SecretString: p(`{"user":"admin","port":5432,"nested":{"a":1}}`)})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := sm.PutSecretValue(ctx, &smapi.PutSecretValueInput{SecretId: p("prod/db"), SecretString: p(`{"user":"root"}`)})
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := sm.CreateSecret(ctx, &smapi.CreateSecretInput{Name: p("token"), SecretString: p("t0k3n")})
	bin, _ := sm.CreateSecret(ctx, &smapi.CreateSecretInput{Name: p("bin"), SecretBinary: []byte{1}})
	gone, _ := sm.CreateSecret(ctx, &smapi.CreateSecretInput{Name: p("gone"), SecretString: p("x")})
	if _, err := sm.DeleteSecret(ctx, &smapi.DeleteSecretInput{SecretId: p("gone")}); err != nil {
		t.Fatal(err)
	}
	elsewhere, _ := sm.CreateSecret(other, &smapi.CreateSecretInput{Name: p("far"), SecretString: p("far away")})
	for name, v := range map[string]string{"/app/url": "https://x", "/app/pw": "hunter2", "flat": "f"} {
		typ := ssmapi.ParameterTypeString
		if name == "/app/pw" {
			typ = ssmapi.ParameterTypeSecureString
		}
		if _, err := ps.PutParameter(ctx, &ssmapi.PutParameterInput{Name: p(name), Value: p(v), Type: &typ}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ps.PutParameter(ctx, &ssmapi.PutParameterInput{Name: p("/app/url"), Value: p("https://y"), Overwrite: p(true)}); err != nil {
		t.Fatal(err)
	}
	partial := strings.TrimSuffix(*db.ARN, (*db.ARN)[len(*db.ARN)-7:])

	r := resolve.Resolver{Store: st}
	for _, tc := range []struct{ valueFrom, want string }{
		{*plain.ARN, "t0k3n"},
		{*db.ARN, `{"user":"root"}`},
		{partial, `{"user":"root"}`},
		{*db.ARN + ":user::", "root"},
		{*db.ARN + ":user:AWSPREVIOUS:", "admin"},
		{*db.ARN + ":port:AWSPREVIOUS:" + *db.VersionId, "5432"},
		{*db.ARN + ":nested::" + *db.VersionId, `{"a":1}`},
		{*db.ARN + "::AWSCURRENT:" + *v2.VersionId, `{"user":"root"}`},
		{*elsewhere.ARN, "far away"},
		{"/app/url", "https://y"},
		{"/app/url:1", "https://x"},
		{"/app/pw", "hunter2"},
		{"flat", "f"},
		{"arn:aws:ssm:" + region + ":" + account + ":parameter/app/pw", "hunter2"},
		{"arn:aws:ssm:" + region + ":" + account + ":parameter/flat", "f"},
		{"/aws/reference/secretsmanager/token", "t0k3n"},
	} {
		got, err := r.Resolve(context.Background(), account, region, tc.valueFrom)
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%s) = %q, %v; want %q", tc.valueFrom, got, err, tc.want)
		}
	}

	for _, tc := range []struct {
		valueFrom string
		kind      error
		code      string
	}{
		{"arn:aws:secretsmanager:" + region + ":" + account + ":secret:missing-AbCdEf", resolve.ErrNotFound, smapi.CodeResourceNotFoundException},
		{*gone.ARN, resolve.ErrNotFound, smapi.CodeInvalidRequestException},
		{*db.ARN + ":nokey::", resolve.ErrNotFound, ""},
		{*plain.ARN + ":key::", resolve.ErrInvalid, ""},
		{*bin.ARN, resolve.ErrInvalid, ""},
		{*db.ARN + "::NOSTAGE:", resolve.ErrNotFound, smapi.CodeResourceNotFoundException},
		{"/app/missing", resolve.ErrNotFound, ssmapi.CodeParameterNotFound},
		{"/app/url:7", resolve.ErrNotFound, ssmapi.CodeParameterVersionNotFound},
		{"arn:aws:ssm:" + region + ":999999999999:parameter/app/url", resolve.ErrNotFound, ssmapi.CodeParameterNotFound},
		{"bad name!", resolve.ErrInvalid, awsapi.CodeValidation},
		{"arn:aws:s3:::bucket/key", resolve.ErrInvalid, ""},
		{"arn:aws:secretsmanager:" + region, resolve.ErrInvalid, ""},
	} {
		_, err := r.Resolve(context.Background(), account, region, tc.valueFrom)
		var e *resolve.Error
		if !errors.Is(err, tc.kind) || !errors.As(err, &e) || e.Code != tc.code {
			t.Errorf("Resolve(%s): %v, want %v with code %q", tc.valueFrom, err, tc.kind, tc.code)
		}
	}

	all, err := r.ResolveAll(context.Background(), account, region, []string{"flat", *plain.ARN})
	if err != nil || len(all) != 2 || all[0] != "f" || all[1] != "t0k3n" {
		t.Errorf("ResolveAll = %v, %v", all, err)
	}
}
