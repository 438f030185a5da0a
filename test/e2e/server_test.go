// Package e2e proves Berth end to end: a real `berth up` process driven by
// the clients people use (aws CLI v1 and v2, boto3, aws-sdk-go-v2, docker).
package e2e

// TODO(ecr): account isolation from access key ids, once ECR is wired:
//   - a 12-digit access key id (e.g. 111111111111) acts as that account:
//     create-repository returns registryId 111111111111 and an ARN
//     arn:aws:ecr:us-east-1:111111111111:repository/NAME;
//   - a non-numeric key (test) acts as the default account 000000000000;
//   - a repository created by account A is not listed, described or
//     deletable by account B (RepositoryNotFoundException), and the same
//     name can exist in both;
//   - regions isolate the same way (b.InRegion("eu-west-1"));
//   - docker login with one account's token cannot push to the other's.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/smithy-go"

	"github.com/berth-dev/berth/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

// authCodes are the errors that mean a request did not get past SigV4.
var authCodes = map[string]bool{
	"MissingAuthenticationTokenException": true,
	"InvalidSignatureException":           true,
	"UnrecognizedClientException":         true,
	"IncompleteSignature":                 true,
	"SignatureDoesNotMatch":               true,
	"AccessDeniedException":               true,
}

const (
	testKey    = "AKIDBERTHTEST0000001"
	testSecret = "berth-test-secret"
)

func TestHealth(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	resp, err := http.Get(b.Endpoint() + "/_berth/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("health: %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("health Content-Type = %q, want application/json", ct)
	}
	var h struct {
		Status   string `json:"status"`
		Version  string `json:"version"`
		Registry string `json:"registry"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	if h.Status != "ok" {
		t.Errorf("status = %q, want ok", h.Status)
	}
	if h.Registry != b.RegistryHost() {
		t.Errorf("registry = %q, want %q (what repository URIs use)", h.Registry, b.RegistryHost())
	}
}

// SIGTERM is how docker, systemd and Kubernetes stop berth: it must exit 0
// promptly, and start again on the same data.
func TestSIGTERMExitsZeroQuickly(t *testing.T) {
	b := harness.Start(t)
	start := time.Now()
	if err := b.Stop(); err != nil {
		t.Fatalf("berth after SIGTERM: %v, want exit status 0", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("berth took %s to exit after SIGTERM, want under 5s", d)
	}
	if _, err := http.Get(b.Endpoint() + "/_berth/health"); err == nil {
		t.Error("health still answers after berth exited")
	}

	b.Restart()
	getHealth(t, b)
	// A crash (SIGKILL) must not keep berth from starting on the same data.
	b.Kill()
	b.Restart()
	getHealth(t, b)
}

func getHealth(t *testing.T, b *harness.Berth) {
	t.Helper()
	resp, err := http.Get(b.Endpoint() + "/_berth/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("health: %s", resp.Status)
	}
}

// With --credentials, berth checks SigV4 as AWS does. The request used is
// ECR's DescribeRepositories: until ECR is wired it is an unknown operation,
// afterwards it succeeds; either way a correctly signed call is not refused
// by authentication.
func TestSigV4WithAWSCLI(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithCredentials(testKey, testSecret))
	clis := []struct {
		name string
		run  func(*harness.Berth, testing.TB, ...string) *harness.Result
	}{
		{"v1", (*harness.Berth).AWS},
		{"v2", (*harness.Berth).AWSv2},
	}
	for _, cli := range clis {
		t.Run(cli.name, func(t *testing.T) {
			call := []string{"ecr", "describe-repositories"}

			r := cli.run(b, t, call...)
			assertPastAuth(t, r.ExitCode, r.ErrorCode(), r.Stderr)

			r = cli.run(b.As(testKey, "not-the-secret"), t, call...)
			assertCode(t, r, "InvalidSignatureException")

			r = cli.run(b, t, append(call, "--no-sign-request")...)
			assertCode(t, r, "MissingAuthenticationTokenException")

			r = cli.run(b.As("AKIDNOBODYKNOWS00000", testSecret), t, call...)
			assertCode(t, r, "UnrecognizedClientException")
		})
	}
}

func assertCode(t *testing.T, r *harness.Result, want string) {
	t.Helper()
	if r.ExitCode == 0 {
		t.Errorf("%s succeeded, want %s\nstdout: %s", strings.Join(r.Args, " "), want, r.Stdout)
		return
	}
	if got := r.ErrorCode(); got != want {
		t.Errorf("%s: error code %q, want %q\nstderr: %s", strings.Join(r.Args, " "), got, want, r.Stderr)
	}
}

// assertPastAuth accepts success or any AWS error that is not about
// authentication; a missing code (connection refused, crash) fails.
func assertPastAuth(t *testing.T, exit int, code, detail string) {
	t.Helper()
	if exit == 0 {
		return
	}
	if code == "" || authCodes[code] {
		t.Errorf("correctly signed request refused: code %q\n%s", code, detail)
	}
}

const boto3Script = `
import json, os, sys
import boto3, botocore
from botocore.config import Config

def code(**kw):
    try:
        boto3.client("ecr", **kw).describe_repositories()
        return "OK"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]

print(json.dumps({
    "right": code(),
    "wrong": code(aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                  aws_secret_access_key="not-the-secret"),
    "unsigned": code(config=Config(signature_version=botocore.UNSIGNED)),
}))
`

func TestSigV4WithBoto3(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithCredentials(testKey, testSecret))
	var got map[string]string
	b.Python(t, boto3Script).Must(t).JSON(t, &got)
	if got["right"] != "OK" && (got["right"] == "" || authCodes[got["right"]]) {
		t.Errorf("correctly signed boto3 call refused: %q", got["right"])
	}
	if got["wrong"] != "InvalidSignatureException" {
		t.Errorf("wrong secret: %q, want InvalidSignatureException", got["wrong"])
	}
	if got["unsigned"] != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned: %q, want MissingAuthenticationTokenException", got["unsigned"])
	}
}

func TestSigV4WithGoSDK(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithCredentials(testKey, testSecret))
	ctx := context.Background()
	describe := func(b *harness.Berth) error {
		_, err := ecr.NewFromConfig(b.SDKConfig(ctx)).DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
		return err
	}
	if err := describe(b); err != nil {
		var ae smithy.APIError
		if !errors.As(err, &ae) || authCodes[ae.ErrorCode()] {
			t.Errorf("correctly signed SDK call refused: %v", err)
		}
	}
	err := describe(b.As(testKey, "not-the-secret"))
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidSignatureException" {
		t.Errorf("wrong secret: %v, want InvalidSignatureException", err)
	}
}

// An X-Amz-Target no service answers gets UnknownOperationException in the
// awsJson error shape; with signature checks on, a correctly signed request
// gets the same answer (auth passes, then the operation is unknown).
func TestUnknownTarget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts []harness.Option
	}{
		{"open", nil},
		{"sigv4", []harness.Option{harness.WithCredentials(testKey, testSecret)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := harness.Start(t, tc.opts...)
			for _, target := range []string{
				"NoSuchService_20200101.DoSomething",
				"AmazonEC2ContainerRegistry_V20150921.NoSuchOperation",
			} {
				body := "{}"
				req, err := http.NewRequest(http.MethodPost, b.Endpoint()+"/", strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("X-Amz-Target", target)
				req.Header.Set("Content-Type", "application/x-amz-json-1.1")
				if tc.name == "sigv4" {
					sign(t, b, req, body)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var e struct {
					Type    string `json:"__type"`
					Message string `json:"message"`
				}
				json.Unmarshal(data, &e)
				if resp.StatusCode != http.StatusBadRequest || e.Type != "UnknownOperationException" || e.Message == "" {
					t.Errorf("%s: %d %s, want 400 UnknownOperationException with a message", target, resp.StatusCode, data)
				}
				if resp.Header.Get("X-Amzn-RequestId") == "" {
					t.Errorf("%s: no X-Amzn-RequestId header", target)
				}
			}
		})
	}
}

// sign signs req with SigV4 as aws-sdk-go-v2 does, with the view's key.
func sign(t *testing.T, b *harness.Berth, req *http.Request, body string) {
	t.Helper()
	ctx := context.Background()
	creds, err := b.SDKConfig(ctx).Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ecr", b.Region(), time.Now()); err != nil {
		t.Fatal(err)
	}
}

// The test image is what ECS and EKS tests will run; prove the engine runs
// it: each mode, its exit code, and HTTP through a published port.
func TestTestImageRunsOnDocker(t *testing.T) {
	ref := fmt.Sprintf("berth-test/smoke:%d", time.Now().UnixNano())
	harness.LoadIntoDocker(t, harness.TestImage(t, "smoke"), ref)

	r := harness.Docker(t, "run", "--rm", ref, "print", "hello", "berth").Must(t)
	if !strings.Contains(r.Stdout, "hello berth") || !strings.Contains(r.Stdout, "testapp smoke") {
		t.Errorf("print: stdout %q", r.Stdout)
	}
	if r := harness.Docker(t, "run", "--rm", ref, "exit", "3"); r.ExitCode != 3 {
		t.Errorf("exit 3: container exited %d", r.ExitCode)
	}

	id := strings.TrimSpace(harness.Docker(t, "run", "-d", "-p", "127.0.0.1::8080", "-e", "MESSAGE=hi", ref).Must(t).Stdout)
	t.Cleanup(func() { harness.Docker(t, "rm", "-f", id) })
	hostPort := strings.TrimSpace(harness.Docker(t, "port", id, "8080/tcp").Must(t).Stdout)
	hostPort, _, _ = strings.Cut(hostPort, "\n")
	var got struct{ Name, Message string }
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + hostPort + "/")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&got)
			resp.Body.Close()
			if err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve: no answer on %s: %v\nlogs: %s", hostPort, err, harness.Docker(t, "logs", id).Stdout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got.Name != "smoke" || got.Message != "hi" {
		t.Errorf("serve answered %+v, want name smoke, message hi", got)
	}
	// The app must honour SIGTERM as PID 1: docker stop returns well before
	// its 10s kill timeout and the container exits 0.
	start := time.Now()
	harness.Docker(t, "stop", id).Must(t)
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("docker stop took %s: the app ignored SIGTERM", d)
	}
	code := strings.TrimSpace(harness.Docker(t, "inspect", "-f", "{{.State.ExitCode}}", id).Must(t).Stdout)
	if code != "0" {
		t.Errorf("exit code after SIGTERM = %s, want 0", code)
	}
}
