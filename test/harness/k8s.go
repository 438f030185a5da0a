package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// kubectlTimeout bounds one kubectl command, its exec plugin included.
const kubectlTimeout = 2 * time.Minute

// K8sTools are the binaries of the k8s/ module: the EKS control plane and a
// kubectl of the same Kubernetes version (the machine's kubectl may be
// older than the skew policy allows).
type K8sTools struct {
	BerthK8s string
	Kubectl  string
}

var (
	k8sOnce  sync.Once
	k8sTools K8sTools
	k8sErr   error
)

// K8sBinaries builds berth-k8s and kubectl with k8s/build.sh, once per test
// binary, into the shared build dir, and returns their paths. Start berth
// with WithArgs("--k8s-binary", tools.BerthK8s) to run real clusters. The
// build shares Go's build cache: seconds when warm, many minutes cold.
func K8sBinaries(t testing.TB) K8sTools {
	t.Helper()
	k8sOnce.Do(func() {
		root, err := RepoRoot()
		if err != nil {
			k8sErr = err
			return
		}
		dir, err := sharedBuildDir()
		if err != nil {
			k8sErr = err
			return
		}
		out := filepath.Join(dir, "k8s")
		start := time.Now()
		cmd := exec.Command("bash", filepath.Join(root, "k8s", "build.sh"), out)
		cmd.Dir = root
		if outp, err := cmd.CombinedOutput(); err != nil {
			k8sErr = fmt.Errorf("k8s/build.sh: %v\n%s", err, outp)
			return
		}
		k8sTools = K8sTools{BerthK8s: filepath.Join(out, "berth-k8s"), Kubectl: filepath.Join(out, "kubectl")}
		t.Logf("built berth-k8s and kubectl with k8s/build.sh in %s", time.Since(start).Round(100*time.Millisecond))
	})
	if k8sErr != nil {
		t.Fatalf("building the Kubernetes binaries: %v", k8sErr)
	}
	return k8sTools
}

// KubectlEnv is AWSEnv with an `aws` first on PATH that is the aws CLI of
// the given major version (1: pip's, 2: the v2), so that kubeconfigs from
// `aws eks update-kubeconfig`, whose exec plugin runs `aws eks get-token`,
// get their tokens from that CLI with this view's credentials.
func (b *Berth) KubectlEnv(t testing.TB, cliVersion int) []string {
	t.Helper()
	var prefix []string
	switch cliVersion {
	case 1:
		prefix = awsV1Tool.require(t, "aws CLI v1 (pip awscli)")
	case 2:
		prefix = awsV2Tool.require(t, "aws CLI v2")
	default:
		t.Fatalf("KubectlEnv: no aws CLI v%d", cliVersion)
	}
	dir := t.TempDir()
	script := "#!/bin/sh\nexec " + shellQuote(prefix) + ` "$@"` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "aws"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	env := b.AWSEnv()
	path := dir
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			path += string(os.PathListSeparator) + p
		}
	}
	return append(filterEnv(env, "PATH="), "PATH="+path)
}

// Kubectl runs kubectl with env (see KubectlEnv; later KEY=VALUE pairs
// override earlier ones). A non-zero exit is for the test to judge.
func Kubectl(t testing.TB, kubectl string, env []string, args ...string) *Result {
	t.Helper()
	return runCmd(t, kubectlTimeout, nil, env, []string{kubectl}, args...)
}

func shellQuote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
