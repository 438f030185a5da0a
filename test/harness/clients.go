package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Per-command bounds: API calls are quick, docker moves images.
const (
	awsTimeout    = 5 * time.Minute
	dockerTimeout = 10 * time.Minute
)

// Result is what a client command did.
type Result struct {
	Args     []string
	Stdout   string
	Stderr   string
	ExitCode int
}

// Must fails the test unless the command exited 0, and returns r.
func (r *Result) Must(t testing.TB) *Result {
	t.Helper()
	if r.ExitCode != 0 {
		t.Fatalf("%s: exit %d\nstdout: %s\nstderr: %s", strings.Join(r.Args, " "), r.ExitCode, r.Stdout, r.Stderr)
	}
	return r
}

// JSON decodes stdout into v, failing the test when it is not JSON.
func (r *Result) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Stdout), v); err != nil {
		t.Fatalf("%s: stdout is not JSON (%v): %q\nstderr: %s", strings.Join(r.Args, " "), err, r.Stdout, r.Stderr)
	}
}

// Map decodes stdout as a JSON object.
func (r *Result) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// errorCodeRE matches how both aws CLIs report a service error:
// "An error occurred (InvalidSignatureException) when calling ...".
var errorCodeRE = regexp.MustCompile(`An error occurred \(([^)]+)\)`)

// ErrorCode is the AWS error code the aws CLI printed, or "".
func (r *Result) ErrorCode() string {
	if m := errorCodeRE.FindStringSubmatch(r.Stderr); m != nil {
		return m[1]
	}
	return ""
}

// AWSEnv is the environment every AWS client of this view runs with: the
// endpoint, its credentials and region, and empty config files so nothing
// from the developer's ~/.aws or AWS_* variables leaks in.
func (b *Berth) AWSEnv() []string {
	return append(filterEnv(os.Environ(), "AWS_"),
		"AWS_ENDPOINT_URL="+b.Endpoint(),
		"AWS_ACCESS_KEY_ID="+b.creds.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+b.creds.SecretAccessKey,
		"AWS_DEFAULT_REGION="+b.region,
		"AWS_REGION="+b.region,
		"AWS_PAGER=",
		"AWS_CONFIG_FILE="+filepath.Join(b.p.clientDir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(b.p.clientDir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CLI_AUTO_PROMPT=off",
	)
}

// AWS runs pip's aws CLI v1 (botocore) against berth.
func (b *Berth) AWS(t testing.TB, args ...string) *Result {
	t.Helper()
	prefix := awsV1Tool.require(t, "aws CLI v1 (pip awscli)")
	return runCmd(t, awsTimeout, nil, b.AWSEnv(), prefix, args...)
}

// AWSv2 runs the aws CLI v2 against berth. Debian's v2 (2.9) predates
// AWS_ENDPOINT_URL, so the endpoint is also passed as --endpoint-url.
func (b *Berth) AWSv2(t testing.TB, args ...string) *Result {
	t.Helper()
	prefix := awsV2Tool.require(t, "aws CLI v2")
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--endpoint-url") }) {
		args = append([]string{"--endpoint-url", b.Endpoint()}, args...)
	}
	return runCmd(t, awsTimeout, nil, b.AWSEnv(), prefix, args...)
}

// Python runs a boto3 script (its source in script) with the view's AWS
// environment; boto3.client("ecr") finds berth through AWS_ENDPOINT_URL.
func (b *Berth) Python(t testing.TB, script string, args ...string) *Result {
	t.Helper()
	prefix := boto3Tool.require(t, "python3 with boto3")
	f, err := os.CreateTemp(t.TempDir(), "script-*.py")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(script); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return runCmd(t, awsTimeout, nil, b.AWSEnv(), prefix, append([]string{f.Name()}, args...)...)
}

// SDKConfig is an aws-sdk-go-v2 configuration pointed at berth with the
// view's static credentials and region. It is built by hand rather than by
// config.LoadDefaultConfig so that no AWS_* variable or ~/.aws file of the
// machine running the tests can redirect it; ctx is kept for symmetry with
// LoadDefaultConfig and later use.
func (b *Berth) SDKConfig(ctx context.Context) aws.Config {
	_ = ctx
	return aws.Config{
		Region:       b.region,
		Credentials:  aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(b.creds.AccessKeyID, b.creds.SecretAccessKey, "")),
		BaseEndpoint: aws.String(b.Endpoint()),
	}
}

// Docker runs the docker CLI (see the package-level Docker).
func (b *Berth) Docker(t testing.TB, args ...string) *Result {
	t.Helper()
	return Docker(t, args...)
}

// DockerLogin logs docker in to berth's registry with the password from
// `aws ecr get-login-password`, as ECR's documentation does.
func (b *Berth) DockerLogin(t testing.TB) {
	t.Helper()
	pw := b.AWSv2(t, "ecr", "get-login-password").Must(t).Stdout
	DockerInput(t, strings.TrimSpace(pw), "login", "--username", "AWS", "--password-stdin", b.RegistryHost()).Must(t)
}

var dockerConfigs sync.Map // testing.TB → DOCKER_CONFIG dir

// dockerConfigDir is the test's own DOCKER_CONFIG, so that a `docker login`
// in one test is neither seen by another nor left in ~/.docker.
func dockerConfigDir(t testing.TB) string {
	if d, ok := dockerConfigs.Load(t); ok {
		return d.(string)
	}
	d := t.TempDir()
	dockerConfigs.Store(t, d)
	t.Cleanup(func() { dockerConfigs.Delete(t) })
	return d
}

// Docker runs the docker CLI with the test's own DOCKER_CONFIG. It skips the
// test (fails it under CI) when no Docker engine answers.
func Docker(t testing.TB, args ...string) *Result {
	t.Helper()
	return DockerInput(t, "", args...)
}

// DockerInput is Docker with stdin, e.g. for `login --password-stdin`.
func DockerInput(t testing.TB, stdin string, args ...string) *Result {
	t.Helper()
	prefix := dockerTool.require(t, "docker")
	env := append(filterEnv(os.Environ(), "DOCKER_CONFIG="), "DOCKER_CONFIG="+dockerConfigDir(t))
	return runCmd(t, dockerTimeout, strings.NewReader(stdin), env, prefix, args...)
}

// runCmd runs prefix+args and returns what happened. Only a failure to run
// at all, or a timeout, fails the test: a non-zero exit is for the test to
// judge.
func runCmd(t testing.TB, timeout time.Duration, stdin io.Reader, env []string, prefix []string, args ...string) *Result {
	t.Helper()
	argv := append(slices.Clone(prefix), args...)
	ctx, cancel := ctxFor(t, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := &Result{Args: argv, Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s: timed out after %s\nstdout: %s\nstderr: %s", strings.Join(argv, " "), time.Since(start).Round(time.Millisecond), r.Stdout, r.Stderr)
	case errors.As(err, &ee):
		r.ExitCode = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	t.Logf("$ %s → exit %d in %s", strings.Join(argv, " "), r.ExitCode, time.Since(start).Round(time.Millisecond))
	if r.ExitCode != 0 && r.Stderr != "" {
		t.Logf("  stderr: %s", strings.TrimSpace(r.Stderr))
	}
	return r
}
