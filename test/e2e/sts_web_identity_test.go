package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/berth-dev/berth/sts/oidc/oidctest"
	"github.com/berth-dev/berth/test/harness"
)

const (
	irsaServiceAccount = "system:serviceaccount:default:app"
	irsaAudience       = "sts.amazonaws.com"
	irsaRoleARN        = "arn:aws:iam::111111111111:role/irsa-app"
)

// irsaWorld is a berth that checks signatures, an OIDC issuer of the
// test's own (a cluster's, as far as IAM can tell) registered as a
// provider, and a role whose trust policy is the one eksctl writes for a
// service account.
type irsaWorld struct {
	b      *harness.Berth
	issuer *oidctest.Issuer
	host   string // the issuer without its scheme: condition key prefix
}

func startIRSA(t *testing.T) *irsaWorld {
	t.Helper()
	// --credentials: every request must be signed, except
	// AssumeRoleWithWebIdentity, whose token is its credential.
	w := &irsaWorld{b: harness.Start(t, harness.WithCredentials(iamTestAccount, "irsa-secret")), issuer: oidctest.Start(t)}
	w.host = strings.TrimPrefix(w.issuer.URL, "http://")
	providerARN := "arn:aws:iam::111111111111:oidc-provider/" + w.host

	var created struct{ OpenIDConnectProviderArn string }
	w.b.AWSv2(t, "iam", "create-open-id-connect-provider", "--url", w.issuer.URL, "--client-id-list", irsaAudience,
		"--thumbprint-list", "9e99a48a9960b14926bb7f3b02e22da2b0ab7280").Must(t).JSON(t, &created)
	if created.OpenIDConnectProviderArn != providerARN {
		t.Fatalf("create-open-id-connect-provider: %q, want %q", created.OpenIDConnectProviderArn, providerARN)
	}
	var got struct {
		Url          string
		ClientIDList []string
	}
	w.b.AWS(t, "iam", "get-open-id-connect-provider", "--open-id-connect-provider-arn", providerARN).Must(t).JSON(t, &got)
	// With a port in the host, Url keeps its scheme (host:port/path alone
	// does not parse as a URL; see docs/iam.md).
	if got.Url != w.issuer.URL || len(got.ClientIDList) != 1 || got.ClientIDList[0] != irsaAudience {
		t.Errorf("get-open-id-connect-provider: %+v", got)
	}
	wantCLIError(t, "registering the issuer twice", w.b.AWS(t, "iam", "create-open-id-connect-provider", "--url", w.issuer.URL,
		"--client-id-list", irsaAudience, "--thumbprint-list", "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"), "EntityAlreadyExists")

	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + providerARN + `"},` +
		`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + w.host + `:sub":"` + irsaServiceAccount + `","` +
		w.host + `:aud":"` + irsaAudience + `"}}}]}`
	w.b.AWSv2(t, "iam", "create-role", "--role-name", "irsa-app", "--assume-role-policy-document", trust).Must(t)
	return w
}

// token is a service account token as the cluster would project it,
// changed by change.
func (w *irsaWorld) token(t *testing.T, change func(map[string]any)) string {
	now := time.Now()
	c := map[string]any{"iss": w.issuer.URL, "sub": irsaServiceAccount, "aud": []string{irsaAudience},
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "nbf": now.Unix(),
		"kubernetes.io": map[string]any{"namespace": "default", "serviceaccount": map[string]string{"name": "app"}}}
	if change != nil {
		change(c)
	}
	return w.issuer.Sign(t, c)
}

// badTokens are tokens STS must refuse, with the code AWS answers.
func (w *irsaWorld) badTokens(t *testing.T) []struct{ name, token, code string } {
	good := strings.Split(w.token(t, nil), ".")
	forged := strings.Split(w.token(t, func(c map[string]any) { c["sub"] = "system:serviceaccount:kube-system:admin" }), ".")
	stranger := oidctest.Start(t)
	return []struct{ name, token, code string }{
		{"another service account", w.token(t, func(c map[string]any) { c["sub"] = "system:serviceaccount:default:other" }), "AccessDenied"},
		{"another audience", w.token(t, func(c map[string]any) { c["aud"] = "someone-else" }), "InvalidIdentityToken"},
		{"an expired token", w.token(t, func(c map[string]any) { c["exp"] = time.Now().Add(-10 * time.Minute).Unix() }), "ExpiredTokenException"},
		{"a tampered signature", good[0] + "." + forged[1] + "." + good[2], "InvalidIdentityToken"},
		{"an unknown issuer", stranger.Sign(t, map[string]any{"iss": stranger.URL, "sub": irsaServiceAccount, "aud": irsaAudience,
			"exp": time.Now().Add(time.Hour).Unix()}), "InvalidIdentityToken"},
	}
}

type webIdentityOut struct {
	Credentials                 sessionCreds
	AssumedRoleUser             struct{ AssumedRoleId, Arn string }
	SubjectFromWebIdentityToken string
	Provider                    string
	Audience                    string
}

// assume-role-with-web-identity through both aws CLIs, then
// get-caller-identity with the credentials it returned.
func TestAssumeRoleWithWebIdentityWithAWSCLI(t *testing.T) {
	w := startIRSA(t)
	for _, cli := range awsCLIs {
		t.Run(cli.name, func(t *testing.T) {
			aws := func(args ...string) *harness.Result { return cli.run(w.b, t, args...) }
			session := "cli-" + cli.name
			var out webIdentityOut
			aws("sts", "assume-role-with-web-identity", "--role-arn", irsaRoleARN, "--role-session-name", session,
				"--web-identity-token", w.token(t, nil)).Must(t).JSON(t, &out)
			wantARN := "arn:aws:sts::111111111111:assumed-role/irsa-app/" + session
			if !strings.HasPrefix(out.Credentials.AccessKeyID, "ASIA") || out.Credentials.SessionToken == "" || out.AssumedRoleUser.Arn != wantARN ||
				out.SubjectFromWebIdentityToken != irsaServiceAccount || out.Audience != irsaAudience ||
				out.Provider != "arn:aws:iam::111111111111:oidc-provider/"+w.host {
				t.Fatalf("assume-role-with-web-identity: %+v", out)
			}
			var who callerIdentity
			withSession(t, w.b, cli, out.Credentials, "sts", "get-caller-identity").Must(t).JSON(t, &who)
			if who.Arn != wantARN || who.Account != iamTestAccount || who.UserId != out.AssumedRoleUser.AssumedRoleId {
				t.Errorf("get-caller-identity with the session: %+v", who)
			}
			for _, bad := range w.badTokens(t) {
				wantCLIError(t, bad.name, aws("sts", "assume-role-with-web-identity", "--role-arn", irsaRoleARN,
					"--role-session-name", session, "--web-identity-token", bad.token), bad.code)
			}
		})
	}
}

const webIdentityBoto3Script = `
import json, sys
import boto3, botocore

role, token = sys.argv[1], sys.argv[2]
bad = json.loads(sys.argv[3])
sts = boto3.client("sts")
out = {}
r = sts.assume_role_with_web_identity(RoleArn=role, RoleSessionName="boto", WebIdentityToken=token)
c = r["Credentials"]
out["subject"] = r["SubjectFromWebIdentityToken"]
out["expiration_type"] = type(c["Expiration"]).__name__
session = boto3.client("sts", aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                       aws_session_token=c["SessionToken"])
out["arn"] = session.get_caller_identity()["Arn"]
out["errors"] = {}
for name, tok in bad.items():
    try:
        sts.assume_role_with_web_identity(RoleArn=role, RoleSessionName="boto", WebIdentityToken=tok)
        out["errors"][name] = "OK"
    except botocore.exceptions.ClientError as e:
        out["errors"][name] = e.response["Error"]["Code"]
print(json.dumps(out))
`

func TestAssumeRoleWithWebIdentityWithBoto3(t *testing.T) {
	w := startIRSA(t)
	bad := map[string]string{}
	want := map[string]string{}
	for _, b := range w.badTokens(t) {
		bad[b.name], want[b.name] = b.token, b.code
	}
	badJSON, err := json.Marshal(bad)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Subject        string
		ExpirationType string `json:"expiration_type"`
		ARN            string `json:"arn"`
		Errors         map[string]string
	}
	w.b.Python(t, webIdentityBoto3Script, irsaRoleARN, w.token(t, nil), string(badJSON)).Must(t).JSON(t, &got)
	if got.Subject != irsaServiceAccount || got.ExpirationType != "datetime" || got.ARN != "arn:aws:sts::111111111111:assumed-role/irsa-app/boto" {
		t.Errorf("boto3: %+v", got)
	}
	for name, code := range want {
		if got.Errors[name] != code {
			t.Errorf("boto3, %s: %s, want %s", name, got.Errors[name], code)
		}
	}
}

// aws-sdk-go-v2's default credential chain in the environment an IRSA pod
// has: AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, no keys.
func TestWebIdentityCredentialsWithGoSDK(t *testing.T) {
	w := startIRSA(t)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(w.token(t, nil)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{
		{"AWS_ROLE_ARN", irsaRoleARN},
		{"AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile},
		{"AWS_STS_REGIONAL_ENDPOINTS", "regional"},
		{"AWS_REGION", "us-west-2"},
		{"AWS_DEFAULT_REGION", "us-west-2"},
		{"AWS_ENDPOINT_URL", w.b.Endpoint()},
		// aws-sdk-go-v2's config builds the web identity provider's STS
		// client before it applies AWS_ENDPOINT_URL, so Berth's endpoint
		// must also be given as STS's own.
		{"AWS_ENDPOINT_URL_STS", w.b.Endpoint()},
		// Nothing of the machine running the tests may take precedence.
		{"AWS_ACCESS_KEY_ID", ""}, {"AWS_SECRET_ACCESS_KEY", ""}, {"AWS_SESSION_TOKEN", ""},
		{"AWS_PROFILE", ""}, {"AWS_ROLE_SESSION_NAME", ""},
		{"AWS_CONFIG_FILE", filepath.Join(dir, "config")}, {"AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials")},
		{"AWS_EC2_METADATA_DISABLED", "true"},
	} {
		t.Setenv(kv[0], kv[1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatalf("web identity credentials: %v", err)
	}
	if !strings.HasPrefix(creds.AccessKeyID, "ASIA") || creds.SessionToken == "" || !creds.CanExpire {
		t.Errorf("credentials: %+v", creds)
	}
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	// The SDK names the session itself when AWS_ROLE_SESSION_NAME is unset.
	if !strings.HasPrefix(*who.Arn, "arn:aws:sts::111111111111:assumed-role/irsa-app/") || *who.Account != iamTestAccount {
		t.Errorf("GetCallerIdentity: %s %s", *who.Arn, *who.Account)
	}
}
