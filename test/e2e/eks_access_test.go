package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

// Reaching pods and clusters the ways users do besides kubectl get:
// kubectl port-forward and exec (stdin, TTY, exit codes) through the
// nodes' kubelet API, and principals admitted by the aws-auth ConfigMap
// rather than access entries.

const eksAccessImage = "berth-e2e/eks-access-app:v1"

const eksAccessManifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: ` + eksAccessImage + `
        imagePullPolicy: IfNotPresent
        ports:
        - containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
`

// The role's path is dropped from the session's ARN, as STS does; the
// mapping matches it all the same.
const eksAccessAWSAuth = `apiVersion: v1
kind: ConfigMap
metadata:
  name: aws-auth
  namespace: kube-system
data:
  mapRoles: |
    - rolearn: arn:aws:iam::000000000000:role/teams/support
      username: support:{{SessionName}}
      groups:
        - eks:view
`

func TestEKSAccess(t *testing.T) {
	t.Parallel()
	e := startEKS(t, "eks-access-app", eksAccessImage)
	b, tools := e.b, e.tools
	c := e.createCluster(t, "access")
	kc, env := c.kubeconfig, c.env
	kubectl := func(env []string, args ...string) *harness.Result {
		t.Helper()
		return c.kubectlAs(t, env, args...)
	}

	c.startNodegroup(t, "workers", 1)
	c.apply(t, eksAccessManifest)
	var pod string
	var uids []string
	t.Cleanup(func() { removePodContainers(uids) })
	eksEventually(t, "the pod Running", func() (bool, string) {
		running := podsRunning(t, kubectl(env, "get", "pods", "-l", "app=web", "-o", "json"))
		uids = nil
		for name, uid := range running {
			pod, uids = name, append(uids, uid)
		}
		return len(running) == 1, ""
	})

	t.Run("port-forward", func(t *testing.T) {
		// A pod, a Deployment and a Service (its port 80 is the pods'
		// 8080): kubectl resolves the last two to a pod and its port.
		for _, target := range [][]string{{"pod/" + pod, ":8080"}, {"deploy/web", ":8080"}, {"svc/web", ":80"}} {
			port, _, stop := kubectlPortForward(t, tools.Kubectl, env, append([]string{"--kubeconfig", kc, "port-forward"}, target...)...)
			resp, err := http.Get("http://127.0.0.1:" + port + "/")
			if err != nil {
				stop()
				t.Fatalf("GET through port-forward %v: %v", target, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var about map[string]any
			if resp.StatusCode != 200 || json.Unmarshal(body, &about) != nil {
				t.Errorf("GET through port-forward %v: %d %s", target, resp.StatusCode, body)
			}
			stop()
		}

		// A port nothing listens on: the connection fails and kubectl
		// says why.
		port, stderr, stop := kubectlPortForward(t, tools.Kubectl, env, "--kubeconfig", kc, "port-forward", "pod/"+pod, ":9")
		defer stop()
		if resp, err := http.Get("http://127.0.0.1:" + port + "/"); err == nil {
			resp.Body.Close()
			t.Errorf("GET through a forward to a closed port: %d", resp.StatusCode)
		}
		eksEventually(t, "kubectl to report the refused port", func() (bool, string) {
			s := stderr.String()
			return strings.Contains(s, "port 9") && strings.Contains(s, "connection refused"), s
		})
	})

	t.Run("exec", func(t *testing.T) {
		r := kubectlInput(t, tools.Kubectl, env, "hello through stdin\nsecond line\n", "--kubeconfig", kc, "exec", "-i", pod, "--", "/app", "echo")
		if r.ExitCode != 0 || r.Stdout != "hello through stdin\nsecond line\n" {
			t.Errorf("exec -i /app echo: exit %d, stdout %q, stderr %s", r.ExitCode, r.Stdout, r.Stderr)
		}
		if r := kubectl(env, "exec", pod, "--", "/app", "exit", "3"); r.ExitCode != 3 {
			t.Errorf("exec /app exit 3: exit %d %s", r.ExitCode, r.Stderr)
		}
		if r := kubectlInput(t, tools.Kubectl, env, "ignored", "--kubeconfig", kc, "exec", "-i", pod, "--", "/app", "exit", "4"); r.ExitCode != 4 {
			t.Errorf("exec -i /app exit 4: exit %d %s", r.ExitCode, r.Stderr)
		}
		// -t needs a terminal on kubectl's side: script(1) gives it one.
		// A TTY turns the command's \n into \r\n.
		script, err := exec.LookPath("script")
		if err != nil {
			t.Skip("no script(1) to give kubectl exec -t a terminal")
		}
		line := strings.Join([]string{tools.Kubectl, "--kubeconfig", kc, "exec", "-it", pod, "--", "/app", "print", "tty"}, " ")
		r = runWithInput(t, env, "", script, "-qec", line, "/dev/null")
		if r.ExitCode != 0 || !strings.Contains(r.Stdout, "tty\r\n") {
			t.Errorf("exec -it: exit %d, stdout %q, stderr %s", r.ExitCode, r.Stdout, r.Stderr)
		}
		line = strings.Join([]string{tools.Kubectl, "--kubeconfig", kc, "exec", "-it", pod, "--", "/app", "exit", "5"}, " ")
		if r := runWithInput(t, env, "", script, "-qec", line, "/dev/null"); r.ExitCode != 5 {
			t.Errorf("exec -it /app exit 5: exit %d, stdout %q", r.ExitCode, r.Stdout)
		}
	})

	t.Run("aws-auth", func(t *testing.T) {
		b.AWS(t, "iam", "create-role", "--role-name", "support", "--path", "/teams/", "--assume-role-policy-document", eksDevelopersTrust).Must(t)
		var sess assumeRoleOut
		b.AWS(t, "sts", "assume-role", "--role-arn", "arn:aws:iam::000000000000:role/teams/support", "--role-session-name", "sam").Must(t).JSON(t, &sess)
		supEnv := append(env[:len(env):len(env)], "AWS_ACCESS_KEY_ID="+sess.Credentials.AccessKeyID,
			"AWS_SECRET_ACCESS_KEY="+sess.Credentials.SecretAccessKey, "AWS_SESSION_TOKEN="+sess.Credentials.SessionToken)
		if r := kubectl(supEnv, "get", "pods"); r.ExitCode == 0 || !strings.Contains(r.Stderr, "Unauthorized") {
			t.Fatalf("a role in neither access entries nor aws-auth got in: exit %d\n%s\n%s", r.ExitCode, r.Stdout, r.Stderr)
		}

		c.apply(t, eksAccessAWSAuth)
		eksEventually(t, "the mapped role to list pods", func() (bool, string) {
			r := kubectl(supEnv, "get", "pods", "-o", "name")
			return r.ExitCode == 0 && strings.Contains(r.Stdout, "pod/"+pod), r.Stderr
		})
		who := kubeWhoami(t, kubectl(supEnv, "auth", "whoami", "-o", "json").Must(t))
		if who.Username != "support:sam" || !slices.Equal(who.Groups, []string{"eks:view", "system:authenticated"}) ||
			!slices.Contains(who.Extra["arn"], "arn:aws:sts::000000000000:assumed-role/support/sam") {
			t.Errorf("the mapped role's whoami: %+v", who)
		}
		// eks:view is bound to the view ClusterRole: reading, not writing.
		if r := kubectl(supEnv, "create", "namespace", "support-made"); r.ExitCode == 0 || !strings.Contains(r.Stderr, "forbidden") {
			t.Errorf("a viewer created a namespace: exit %d %s", r.ExitCode, r.Stderr)
		}
	})

	c.deleteNodegroup(t, "workers")
	if left := podContainers(uids); len(left) != 0 {
		t.Errorf("pod containers after delete-nodegroup: %v", left)
	}
	c.delete(t, b.AWS)
}

// lockedBuffer collects a running command's output for reading while it
// runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var forwardingFrom = regexp.MustCompile(`Forwarding from 127\.0\.0\.1:([0-9]+) ->`)

// kubectlPortForward starts `kubectl port-forward` (args include the
// target and ":PORT", so kubectl picks the local port) and returns the
// local port once kubectl listens, its stderr so far, and a stop function.
func kubectlPortForward(t *testing.T, kubectl string, env []string, args ...string) (string, *lockedBuffer, func()) {
	t.Helper()
	cmd := exec.Command(kubectl, args...)
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
	}
	t.Cleanup(stop)
	ports := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := forwardingFrom.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case ports <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case port := <-ports:
		t.Logf("$ kubectl %s → listening on %s", strings.Join(args[2:], " "), port)
		return port, stderr, stop
	case <-time.After(90 * time.Second):
		stop()
		t.Fatalf("kubectl %s never listened: %s", strings.Join(args, " "), stderr.String())
		return "", nil, nil
	}
}

// kubectlInput runs kubectl with stdin.
func kubectlInput(t *testing.T, kubectl string, env []string, stdin string, args ...string) *harness.Result {
	t.Helper()
	return runWithInput(t, env, stdin, kubectl, args...)
}

func runWithInput(t *testing.T, env []string, stdin, name string, args ...string) *harness.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := &harness.Result{Args: append([]string{name}, args...), Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s %s: timed out\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), r.Stdout, r.Stderr)
	case errors.As(err, &ee):
		r.ExitCode = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	t.Logf("$ %s %s → exit %d", filepath.Base(name), strings.Join(args, " "), r.ExitCode)
	return r
}
