package sts_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdksts "github.com/aws/aws-sdk-go-v2/service/sts"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/sts/oidc/oidctest"
)

// irsaTrust is the trust policy eksctl writes for a service account's
// role: the cluster's provider, the service account and STS's audience.
func irsaTrust(issuer, providerARN, sub string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + providerARN + `"},` +
		`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + issuer + `:sub":"` + sub + `","` + issuer + `:aud":"sts.amazonaws.com"}}}]}`
}

// createProvider registers iss in account through the IAM wire and
// returns its ARN and condition-key prefix.
func (w *world) createProvider(account string, iss *oidctest.Issuer, clientIDs ...string) (arn, issuer string) {
	w.t.Helper()
	params := url.Values{"Url": {iss.URL}}
	for i, id := range clientIDs {
		params.Set("ClientIDList.member."+string(rune('1'+i)), id)
	}
	ctx := awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: account})
	if _, err := iamapi.NewQueryService(w.iam).Operations["CreateOpenIDConnectProvider"](ctx, params); err != nil {
		w.t.Fatal(err)
	}
	issuer = strings.TrimPrefix(iss.URL, "http://")
	return "arn:aws:iam::" + account + ":oidc-provider/" + issuer, issuer
}

// A pod's token for the role, through the Go SDK, with signatures checked
// for every other request: the call itself is unsigned.
func TestAssumeRoleWithWebIdentity(t *testing.T) {
	w := newWorld(t, awsapi.Credentials{acct: "s3cret"})
	iss := oidctest.Start(t)
	provider, issuer := w.createProvider(acct, iss, "sts.amazonaws.com", "other-client")
	const sa = "system:serviceaccount:default:app"
	w.createRole(acct, "app", irsaTrust(issuer, provider, sa), "MaxSessionDuration", "7200")
	roleARN := "arn:aws:iam::111111111111:role/app"
	ctx := context.Background()
	anon := sdksts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(w.url), RetryMaxAttempts: 1})

	now := time.Now()
	token := func(change func(map[string]any)) string {
		c := map[string]any{"iss": iss.URL, "sub": sa, "aud": "sts.amazonaws.com", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "nbf": now.Unix()}
		if change != nil {
			change(c)
		}
		return iss.Sign(t, c)
	}
	assume := func(tok string, mod ...func(*sdksts.AssumeRoleWithWebIdentityInput)) (*sdksts.AssumeRoleWithWebIdentityOutput, error) {
		in := &sdksts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("pod-1"), WebIdentityToken: aws.String(tok)}
		for _, m := range mod {
			m(in)
		}
		return anon.AssumeRoleWithWebIdentity(ctx, in)
	}

	out, err := assume(token(nil), func(in *sdksts.AssumeRoleWithWebIdentityInput) {
		in.DurationSeconds = aws.Int32(7200)
		in.Policy = aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	})
	if err != nil {
		t.Fatal(err)
	}
	if *out.SubjectFromWebIdentityToken != sa || *out.Audience != "sts.amazonaws.com" || *out.Provider != provider ||
		*out.AssumedRoleUser.Arn != "arn:aws:sts::111111111111:assumed-role/app/pod-1" || out.PackedPolicySize == nil || *out.PackedPolicySize < 1 {
		t.Errorf("output: sub %s aud %s provider %s arn %s packed %v", *out.SubjectFromWebIdentityToken, *out.Audience, *out.Provider, *out.AssumedRoleUser.Arn, out.PackedPolicySize)
	}
	if d := time.Until(*out.Credentials.Expiration); d < 119*time.Minute || d > 121*time.Minute {
		t.Errorf("expiration in %s, want 2h", d)
	}
	c := out.Credentials
	who, err := w.client(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken).GetCallerIdentity(ctx, &sdksts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *who.Arn != "arn:aws:sts::111111111111:assumed-role/app/pod-1" || *who.Account != acct || !strings.HasSuffix(*who.UserId, ":pod-1") {
		t.Errorf("caller %s %s %s", *who.Arn, *who.Account, *who.UserId)
	}
	// ES256 tokens verify too.
	es := iss.SignES256(t, map[string]any{"iss": iss.URL, "sub": sa, "aud": "sts.amazonaws.com", "exp": now.Add(time.Hour).Unix()})
	if _, err := assume(es); err != nil {
		t.Errorf("ES256: %v", err)
	}

	// Other calls stay signed: unsigned GetCallerIdentity is refused.
	if _, err := anon.GetCallerIdentity(ctx, &sdksts.GetCallerIdentityInput{}); apiCode(err) != "MissingAuthenticationToken" {
		t.Errorf("unsigned GetCallerIdentity: %v", err)
	}

	tampered := func() string {
		p := strings.Split(token(nil), ".")
		q := strings.Split(token(func(c map[string]any) { c["sub"] = "system:serviceaccount:kube-system:admin" }), ".")
		return p[0] + "." + q[1] + "." + p[2]
	}
	stranger := oidctest.Start(t)
	for _, tc := range []struct {
		name, code string
		tok        string
		mod        func(*sdksts.AssumeRoleWithWebIdentityInput)
	}{
		{"another service account", "AccessDenied", token(func(c map[string]any) { c["sub"] = "system:serviceaccount:default:other" }), nil},
		// other-client is a client id of the provider, but the trust
		// policy wants sts.amazonaws.com.
		{"an audience the trust policy does not name", "AccessDenied", token(func(c map[string]any) { c["aud"] = "other-client" }), nil},
		{"an audience the provider does not know", "InvalidIdentityToken", token(func(c map[string]any) { c["aud"] = "nobody" }), nil},
		{"expired", "ExpiredTokenException", token(func(c map[string]any) { c["exp"] = now.Add(-10 * time.Minute).Unix() }), nil},
		{"not yet valid", "InvalidIdentityToken", token(func(c map[string]any) { c["nbf"] = now.Add(10 * time.Minute).Unix() }), nil},
		{"tampered", "InvalidIdentityToken", tampered(), nil},
		{"an unknown issuer", "InvalidIdentityToken", stranger.Sign(t, map[string]any{"iss": stranger.URL, "sub": sa, "aud": "sts.amazonaws.com", "exp": now.Add(time.Hour).Unix()}), nil},
		{"not a JWT", "InvalidIdentityToken", "not-a-token", nil},
		{"a role that does not exist", "AccessDenied", token(nil), func(in *sdksts.AssumeRoleWithWebIdentityInput) {
			in.RoleArn = aws.String("arn:aws:iam::111111111111:role/nope")
		}},
		{"a role of another account", "InvalidIdentityToken", token(nil), func(in *sdksts.AssumeRoleWithWebIdentityInput) {
			in.RoleArn = aws.String("arn:aws:iam::222222222222:role/app")
		}},
		{"longer than the role allows", "ValidationError", token(nil), func(in *sdksts.AssumeRoleWithWebIdentityInput) { in.DurationSeconds = aws.Int32(3 * 3600) }},
		{"a bad session policy", "MalformedPolicyDocument", token(nil), func(in *sdksts.AssumeRoleWithWebIdentityInput) { in.Policy = aws.String(`{"nope"`) }},
		{"a bad session name", "ValidationError", token(nil), func(in *sdksts.AssumeRoleWithWebIdentityInput) { in.RoleSessionName = aws.String("has space") }},
	} {
		var mods []func(*sdksts.AssumeRoleWithWebIdentityInput)
		if tc.mod != nil {
			mods = append(mods, tc.mod)
		}
		if _, err := assume(tc.tok, mods...); apiCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}

	// The issuer unreachable (and its keys not cached: a new provider).
	down := oidctest.Start(t)
	downARN, downIssuer := w.createProvider(acct, down, "sts.amazonaws.com")
	w.createRole(acct, "down", irsaTrust(downIssuer, downARN, sa))
	down.Down.Store(true)
	tok := down.Sign(t, map[string]any{"iss": down.URL, "sub": sa, "aud": "sts.amazonaws.com", "exp": now.Add(time.Hour).Unix()})
	_, err = assume(tok, func(in *sdksts.AssumeRoleWithWebIdentityInput) {
		in.RoleArn = aws.String("arn:aws:iam::111111111111:role/down")
	})
	if apiCode(err) != "IDPCommunicationError" {
		t.Errorf("issuer down: %v", err)
	}
}
