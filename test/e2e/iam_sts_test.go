package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/berth-dev/berth/test/harness"
)

// A trust policy that lets callers of account acct assume the role.
func trustAccountPolicy(acct string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"sts:AssumeRole"}]}`
}

const (
	iamTestAccount = "111111111111"
	ecsTasksTrust  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	s3ReadPolicy   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}]}`
)

type awsCLI struct {
	name string
	run  func(*harness.Berth, testing.TB, ...string) *harness.Result
}

var awsCLIs = []awsCLI{{"v1", (*harness.Berth).AWS}, {"v2", (*harness.Berth).AWSv2}}

// sessionCreds are temporary credentials as assume-role prints them.
type sessionCreds struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken"`
	Expiration      string `json:"Expiration"`
}

type assumeRoleOut struct {
	Credentials     sessionCreds
	AssumedRoleUser struct{ AssumedRoleId, Arn string }
}

type callerIdentity struct{ UserId, Account, Arn string }

// cliPrefixes caches the argv prefix of each aws CLI, by awsCLI name.
var cliPrefixes sync.Map

// withSession runs the same aws CLI as cli, with temporary credentials:
// the harness's views carry no session token, so the command line the
// harness built is run again with the session in the environment.
func withSession(t *testing.T, b *harness.Berth, cli awsCLI, c sessionCreds, args ...string) *harness.Result {
	t.Helper()
	prefix, ok := cliPrefixes.Load(cli.name)
	if !ok {
		probe := cli.run(b, t, "--version")
		prefix = probe.Args[:len(probe.Args)-1] // the tool, and v2's --endpoint-url
		cliPrefixes.Store(cli.name, prefix)
	}
	argv := append(append([]string(nil), prefix.([]string)...), args...)
	if i := slices.Index(argv, "--endpoint-url"); i >= 0 && i+1 < len(argv) {
		argv[i+1] = b.Endpoint() // the probe may have run against another test's berth
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(b.AWSEnv(), "AWS_ACCESS_KEY_ID="+c.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+c.SecretAccessKey, "AWS_SESSION_TOKEN="+c.SessionToken)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := &harness.Result{Args: argv, Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.ExitCode = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	return r
}

// Roles, inline and attached policies and the errors IAM's users script
// against, through both aws CLIs; IAM acts in the account of the 12-digit
// access key.
func TestIAMRolesWithAWSCLI(t *testing.T) {
	t.Parallel()
	b := harness.Start(t).As(iamTestAccount, "secret")
	for _, cli := range awsCLIs {
		t.Run(cli.name, func(t *testing.T) {
			aws := func(args ...string) *harness.Result { return cli.run(b, t, args...) }
			role := "app-" + cli.name

			var who callerIdentity
			aws("sts", "get-caller-identity").Must(t).JSON(t, &who)
			if who.Account != iamTestAccount || who.Arn != "arn:aws:iam::111111111111:root" || who.UserId != iamTestAccount {
				t.Errorf("get-caller-identity: %+v", who)
			}

			var created struct{ Role map[string]any }
			aws("iam", "create-role", "--role-name", role, "--path", "/svc/", "--assume-role-policy-document", ecsTasksTrust,
				"--description", "the app", "--tags", "Key=team,Value=blue").Must(t).JSON(t, &created)
			if created.Role["Arn"] != "arn:aws:iam::111111111111:role/svc/"+role || !strings.HasPrefix(created.Role["RoleId"].(string), "AROA") {
				t.Errorf("create-role: %v", created.Role)
			}
			// The CLI decodes the URL-encoded document IAM returns into JSON.
			doc, _ := json.Marshal(created.Role["AssumeRolePolicyDocument"])
			if !sameJSON(string(doc), ecsTasksTrust) {
				t.Errorf("AssumeRolePolicyDocument = %s", doc)
			}
			wantCLIError(t, "create-role again", aws("iam", "create-role", "--role-name", role, "--assume-role-policy-document", ecsTasksTrust), "EntityAlreadyExists")
			wantCLIError(t, "create-role with bad JSON", aws("iam", "create-role", "--role-name", role+"-x", "--assume-role-policy-document", "{not json"), "MalformedPolicyDocument")
			wantCLIError(t, "create-role with a bad name", aws("iam", "create-role", "--role-name", "has space", "--assume-role-policy-document", ecsTasksTrust), "ValidationError")

			var got struct{ Role map[string]any }
			aws("iam", "get-role", "--role-name", role).Must(t).JSON(t, &got)
			if got.Role["Description"] != "the app" || got.Role["MaxSessionDuration"] != float64(3600) {
				t.Errorf("get-role: %v", got.Role)
			}
			wantCLIError(t, "get-role of a missing role", aws("iam", "get-role", "--role-name", "nope"), "NoSuchEntity")

			var list struct{ Roles []struct{ RoleName string } }
			aws("iam", "list-roles", "--path-prefix", "/svc/").Must(t).JSON(t, &list)
			if !containsRole(list.Roles, role) {
				t.Errorf("list-roles: %v", list.Roles)
			}

			aws("iam", "put-role-policy", "--role-name", role, "--policy-name", "read", "--policy-document", s3ReadPolicy).Must(t)
			var rp struct {
				RoleName, PolicyName string
				PolicyDocument       any
			}
			aws("iam", "get-role-policy", "--role-name", role, "--policy-name", "read").Must(t).JSON(t, &rp)
			if doc, _ := json.Marshal(rp.PolicyDocument); rp.PolicyName != "read" || !sameJSON(string(doc), s3ReadPolicy) {
				t.Errorf("get-role-policy: %+v", rp)
			}
			var names struct{ PolicyNames []string }
			aws("iam", "list-role-policies", "--role-name", role).Must(t).JSON(t, &names)
			if strings.Join(names.PolicyNames, ",") != "read" {
				t.Errorf("list-role-policies: %v", names.PolicyNames)
			}
			wantCLIError(t, "put-role-policy with a principal", aws("iam", "put-role-policy", "--role-name", role, "--policy-name", "bad", "--policy-document", ecsTasksTrust), "MalformedPolicyDocument")
			wantCLIError(t, "get-role-policy of a missing policy", aws("iam", "get-role-policy", "--role-name", role, "--policy-name", "nope"), "NoSuchEntity")

			managed := "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
			aws("iam", "attach-role-policy", "--role-name", role, "--policy-arn", managed).Must(t)
			var att struct {
				AttachedPolicies []struct{ PolicyName, PolicyArn string }
			}
			aws("iam", "list-attached-role-policies", "--role-name", role).Must(t).JSON(t, &att)
			if len(att.AttachedPolicies) != 1 || att.AttachedPolicies[0].PolicyArn != managed || att.AttachedPolicies[0].PolicyName != "AmazonECSTaskExecutionRolePolicy" {
				t.Errorf("list-attached-role-policies: %+v", att)
			}

			wantCLIError(t, "delete-role with policies", aws("iam", "delete-role", "--role-name", role), "DeleteConflict")
			aws("iam", "delete-role-policy", "--role-name", role, "--policy-name", "read").Must(t)
			aws("iam", "detach-role-policy", "--role-name", role, "--policy-arn", managed).Must(t)
			aws("iam", "delete-role", "--role-name", role).Must(t)
			wantCLIError(t, "get-role after delete-role", aws("iam", "get-role", "--role-name", role), "NoSuchEntity")
		})
	}
}

func containsRole(roles []struct{ RoleName string }, name string) bool {
	for _, r := range roles {
		if r.RoleName == name {
			return true
		}
	}
	return false
}

// assume-role through each CLI, then get-caller-identity with the
// credentials it returned, through each CLI again.
func TestAssumeRoleWithAWSCLI(t *testing.T) {
	t.Parallel()
	b := harness.Start(t).As(iamTestAccount, "secret")
	b.AWSv2(t, "iam", "create-role", "--role-name", "deployer", "--assume-role-policy-document", trustAccountPolicy(iamTestAccount),
		"--max-session-duration", "7200").Must(t)
	for _, cli := range awsCLIs {
		t.Run(cli.name, func(t *testing.T) {
			var out assumeRoleOut
			cli.run(b, t, "sts", "assume-role", "--role-arn", "arn:aws:iam::111111111111:role/deployer",
				"--role-session-name", "cli-"+cli.name, "--duration-seconds", "7200").Must(t).JSON(t, &out)
			wantARN := "arn:aws:sts::111111111111:assumed-role/deployer/cli-" + cli.name
			if !strings.HasPrefix(out.Credentials.AccessKeyID, "ASIA") || out.Credentials.SessionToken == "" || out.AssumedRoleUser.Arn != wantARN {
				t.Fatalf("assume-role: %+v", out)
			}
			for _, other := range awsCLIs {
				var who callerIdentity
				withSession(t, b, other, out.Credentials, "sts", "get-caller-identity").Must(t).JSON(t, &who)
				if who.Arn != wantARN || who.Account != iamTestAccount || who.UserId != out.AssumedRoleUser.AssumedRoleId {
					t.Errorf("get-caller-identity (%s) with the session: %+v", other.name, who)
				}
			}
			wantCLIError(t, "assume-role of a missing role", cli.run(b, t, "sts", "assume-role", "--role-arn", "arn:aws:iam::111111111111:role/nope",
				"--role-session-name", "s1"), "AccessDenied")
			wantCLIError(t, "assume-role beyond MaxSessionDuration", cli.run(b, t, "sts", "assume-role", "--role-arn", "arn:aws:iam::111111111111:role/deployer",
				"--role-session-name", "s1", "--duration-seconds", "7201"), "ValidationError")
			wantCLIError(t, "assume-role from an account the role does not trust", cli.run(b.As("222222222222", "x"), t, "sts", "assume-role",
				"--role-arn", "arn:aws:iam::111111111111:role/deployer", "--role-session-name", "s1"), "AccessDenied")
		})
	}
}

const iamBoto3Script = `
import json, sys, urllib.parse
import boto3, botocore

trust, account = sys.argv[1], sys.argv[2]
iam, sts = boto3.client("iam"), boto3.client("sts")
out = {}

def code(fn, **kw):
    try:
        fn(**kw)
        return "OK"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]

role = iam.create_role(RoleName="boto", AssumeRolePolicyDocument=trust, Tags=[{"Key": "k", "Value": "v"}])["Role"]
out["arn"] = role["Arn"]
out["trust"] = role["AssumeRolePolicyDocument"]
out["created_type"] = type(role["CreateDate"]).__name__
out["get"] = iam.get_role(RoleName="boto")["Role"]["RoleName"]
out["listed"] = [r["RoleName"] for r in iam.list_roles()["Roles"]]
iam.put_role_policy(RoleName="boto", PolicyName="p", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
out["inline"] = iam.list_role_policies(RoleName="boto")["PolicyNames"]
out["inline_doc"] = iam.get_role_policy(RoleName="boto", PolicyName="p")["PolicyDocument"]
out["tags"] = iam.list_role_tags(RoleName="boto")["Tags"]
out["errors"] = {
    "no_such_entity": code(iam.get_role, RoleName="nope"),
    "already_exists": code(iam.create_role, RoleName="boto", AssumeRolePolicyDocument=trust),
    "malformed": code(iam.create_role, RoleName="boto2", AssumeRolePolicyDocument="{nope"),
    "delete_conflict": code(iam.delete_role, RoleName="boto"),
    "access_denied": code(sts.assume_role, RoleArn="arn:aws:iam::%s:role/nope" % account, RoleSessionName="s1"),
}
try:
    iam.get_role(RoleName="nope")
except iam.exceptions.NoSuchEntityException:
    out["modeled_exception"] = True

out["me"] = sts.get_caller_identity()["Arn"]
creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="boto-session")["Credentials"]
out["expiration_type"] = type(creds["Expiration"]).__name__
session = boto3.client("sts", aws_access_key_id=creds["AccessKeyId"],
                       aws_secret_access_key=creds["SecretAccessKey"],
                       aws_session_token=creds["SessionToken"])
out["assumed"] = session.get_caller_identity()

iam.delete_role_policy(RoleName="boto", PolicyName="p")
iam.delete_role(RoleName="boto")
out["after_delete"] = code(iam.get_role, RoleName="boto")
print(json.dumps(out))
`

func TestIAMAndSTSWithBoto3(t *testing.T) {
	t.Parallel()
	b := harness.Start(t).As(iamTestAccount, "secret")
	var got struct {
		ARN              string `json:"arn"`
		Trust            map[string]any
		CreatedType      string `json:"created_type"`
		Get              string
		Listed           []string
		Inline           []string
		InlineDoc        map[string]any `json:"inline_doc"`
		Tags             []map[string]string
		Errors           map[string]string
		ModeledException bool `json:"modeled_exception"`
		Me               string
		ExpirationType   string `json:"expiration_type"`
		Assumed          callerIdentity
		AfterDelete      string `json:"after_delete"`
	}
	b.Python(t, iamBoto3Script, trustAccountPolicy(iamTestAccount), iamTestAccount).Must(t).JSON(t, &got)
	if got.ARN != "arn:aws:iam::111111111111:role/boto" || got.Get != "boto" || strings.Join(got.Listed, ",") != "boto" || got.CreatedType != "datetime" {
		t.Errorf("role: %+v", got)
	}
	if doc, _ := json.Marshal(got.Trust); !sameJSON(string(doc), trustAccountPolicy(iamTestAccount)) {
		t.Errorf("trust policy decoded by botocore: %s", doc)
	}
	if strings.Join(got.Inline, ",") != "p" || got.InlineDoc["Version"] != "2012-10-17" || len(got.Tags) != 1 || got.Tags[0]["Key"] != "k" {
		t.Errorf("policies and tags: %+v %+v %+v", got.Inline, got.InlineDoc, got.Tags)
	}
	want := map[string]string{"no_such_entity": "NoSuchEntity", "already_exists": "EntityAlreadyExists", "malformed": "MalformedPolicyDocument",
		"delete_conflict": "DeleteConflict", "access_denied": "AccessDenied"}
	for k, v := range want {
		if got.Errors[k] != v {
			t.Errorf("error %s: %q, want %s", k, got.Errors[k], v)
		}
	}
	if !got.ModeledException {
		t.Error("boto3 did not raise iam.exceptions.NoSuchEntityException")
	}
	if got.Me != "arn:aws:iam::111111111111:root" || got.ExpirationType != "datetime" {
		t.Errorf("caller %q, expiration parsed as %q", got.Me, got.ExpirationType)
	}
	if got.Assumed.Arn != "arn:aws:sts::111111111111:assumed-role/boto/boto-session" || got.Assumed.Account != iamTestAccount {
		t.Errorf("get_caller_identity with the session: %+v", got.Assumed)
	}
	if got.AfterDelete != "NoSuchEntity" {
		t.Errorf("after delete: %s", got.AfterDelete)
	}
}

// iamCall sends an IAM awsQuery request signed as aws-sdk-go-v2 signs (the
// module's go.mod does not carry the SDK's IAM client) and returns the
// HTTP status and the XML elements by path.
func iamCall(t *testing.T, b *harness.Berth, params url.Values) (int, map[string]string) {
	t.Helper()
	params.Set("Version", "2010-05-08")
	body := params.Encode()
	req, err := http.NewRequest(http.MethodPost, b.Endpoint()+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	ctx := context.Background()
	creds, err := b.SDKConfig(ctx).Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	out := map[string]string{}
	dec := xml.NewDecoder(bytes.NewReader(data))
	var path []string
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			path = append(path, tok.Name.Local)
		case xml.EndElement:
			path = path[:len(path)-1]
		case xml.CharData:
			out[strings.Join(path, "/")] = string(tok)
		}
	}
	return resp.StatusCode, out
}

func stsCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func stsClient(b *harness.Berth, c *sessionCreds) *sts.Client {
	cfg := b.SDKConfig(context.Background())
	if c != nil {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
	}
	return sts.NewFromConfig(cfg)
}

func TestSTSWithGoSDK(t *testing.T) {
	t.Parallel()
	b := harness.Start(t).As(iamTestAccount, "secret")
	ctx := context.Background()

	status, x := iamCall(t, b, url.Values{"Action": {"CreateRole"}, "RoleName": {"go-role"}, "AssumeRolePolicyDocument": {trustAccountPolicy(iamTestAccount)}})
	if status != 200 || x["CreateRoleResponse/CreateRoleResult/Role/Arn"] != "arn:aws:iam::111111111111:role/go-role" {
		t.Fatalf("CreateRole: %d %v", status, x)
	}
	for _, tc := range []struct {
		params url.Values
		status int
		code   string
	}{
		{url.Values{"Action": {"GetRole"}, "RoleName": {"nope"}}, 404, "NoSuchEntity"},
		{url.Values{"Action": {"CreateRole"}, "RoleName": {"go-role"}, "AssumeRolePolicyDocument": {trustAccountPolicy(iamTestAccount)}}, 409, "EntityAlreadyExists"},
		{url.Values{"Action": {"CreateRole"}, "RoleName": {"go-bad"}, "AssumeRolePolicyDocument": {"[]"}}, 400, "MalformedPolicyDocument"},
		{url.Values{"Action": {"NoSuchAction"}}, 400, "InvalidAction"},
	} {
		status, x := iamCall(t, b, tc.params)
		if status != tc.status || x["ErrorResponse/Error/Code"] != tc.code || x["ErrorResponse/Error/Type"] != "Sender" || x["ErrorResponse/RequestId"] == "" {
			t.Errorf("%s: %d %v, want %d %s", tc.params.Get("Action"), status, x, tc.status, tc.code)
		}
	}

	who, err := stsClient(b, nil).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(who.Account) != iamTestAccount || aws.ToString(who.Arn) != "arn:aws:iam::111111111111:root" {
		t.Errorf("plain key: %s %s", aws.ToString(who.Account), aws.ToString(who.Arn))
	}
	// The default key "test" is the default account.
	if who, err := stsClient(b.As("test", "test"), nil).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil || aws.ToString(who.Account) != "000000000000" {
		t.Errorf("key test: %v %v", who, err)
	}

	out, err := stsClient(b, nil).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111111111111:role/go-role"), RoleSessionName: aws.String("go-sdk")})
	if err != nil {
		t.Fatal(err)
	}
	c := &sessionCreds{AccessKeyID: aws.ToString(out.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey), SessionToken: aws.ToString(out.Credentials.SessionToken)}
	if d := time.Until(aws.ToTime(out.Credentials.Expiration)); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("expiration in %s, want an hour", d)
	}
	who, err = stsClient(b, c).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(who.Arn) != "arn:aws:sts::111111111111:assumed-role/go-role/go-sdk" || aws.ToString(who.UserId) != aws.ToString(out.AssumedRoleUser.AssumedRoleId) {
		t.Errorf("session: %s %s", aws.ToString(who.Arn), aws.ToString(who.UserId))
	}
	_, err = stsClient(b, nil).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111111111111:role/nope"), RoleSessionName: aws.String("go-sdk")})
	if stsCode(err) != "AccessDenied" {
		t.Errorf("missing role: %v", err)
	}
	_, err = stsClient(b, nil).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111111111111:role/go-role"), RoleSessionName: aws.String("x")})
	if stsCode(err) != "ValidationError" {
		t.Errorf("one-letter session name: %v", err)
	}
}

// With --credentials, Berth checks signatures; the session credentials it
// issued are checked too (their secret and token), and still work with
// every client, for STS and for the awsJson services.
func TestAssumedRoleCredentialsWithSigV4(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithCredentials(testKey, testSecret))
	ctx := context.Background()
	b.AWSv2(t, "iam", "create-role", "--role-name", "ci", "--assume-role-policy-document", trustAccountPolicy("000000000000")).Must(t)
	var out assumeRoleOut
	b.AWS(t, "sts", "assume-role", "--role-arn", "arn:aws:iam::000000000000:role/ci", "--role-session-name", "sigv4").Must(t).JSON(t, &out)
	wantARN := "arn:aws:sts::000000000000:assumed-role/ci/sigv4"

	for _, cli := range awsCLIs {
		var who callerIdentity
		withSession(t, b, cli, out.Credentials, "sts", "get-caller-identity").Must(t).JSON(t, &who)
		if who.Arn != wantARN {
			t.Errorf("%s get-caller-identity: %+v", cli.name, who)
		}
		r := withSession(t, b, cli, out.Credentials, "ecr", "describe-repositories")
		assertPastAuth(t, r.ExitCode, r.ErrorCode(), r.Stderr)
		forged := out.Credentials
		forged.SessionToken = "forged"
		assertCode(t, withSession(t, b, cli, forged, "sts", "get-caller-identity"), "InvalidClientTokenId")
		forged = out.Credentials
		forged.SecretAccessKey = "not-the-secret"
		assertCode(t, withSession(t, b, cli, forged, "sts", "get-caller-identity"), "SignatureDoesNotMatch")
	}

	var boto map[string]string
	b.Python(t, `
import json, sys, boto3
c = boto3.client("sts", aws_access_key_id=sys.argv[1], aws_secret_access_key=sys.argv[2], aws_session_token=sys.argv[3])
print(json.dumps({"arn": c.get_caller_identity()["Arn"]}))
`, out.Credentials.AccessKeyID, out.Credentials.SecretAccessKey, out.Credentials.SessionToken).Must(t).JSON(t, &boto)
	if boto["arn"] != wantARN {
		t.Errorf("boto3 get_caller_identity: %v", boto)
	}

	who, err := stsClient(b, &out.Credentials).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.Arn) != wantARN {
		t.Errorf("Go SDK GetCallerIdentity: %v %v", who, err)
	}
	// Unsigned and unknown keys are refused as before, in awsQuery's words.
	assertCode(t, b.AWS(t, "sts", "get-caller-identity", "--no-sign-request"), "MissingAuthenticationToken")
	assertCode(t, b.As("AKIDNOBODYKNOWS00000", testSecret).AWS(t, "sts", "get-caller-identity"), "InvalidClientTokenId")
}

// Session credentials outlive a restart: Berth keeps them in its store.
func TestSessionCredentialsSurviveRestart(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithCredentials(testKey, testSecret))
	b.AWSv2(t, "iam", "create-role", "--role-name", "durable", "--assume-role-policy-document", trustAccountPolicy("000000000000")).Must(t)
	var out assumeRoleOut
	b.AWSv2(t, "sts", "assume-role", "--role-arn", "arn:aws:iam::000000000000:role/durable", "--role-session-name", "before").Must(t).JSON(t, &out)
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	b.Restart()
	who, err := stsClient(b, &out.Credentials).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.Arn) != "arn:aws:sts::000000000000:assumed-role/durable/before" {
		t.Errorf("after restart: %v %v", who, err)
	}
}
