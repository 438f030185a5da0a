package nodes_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/berth-dev/berth/k8s/internal/k8stest"
	"github.com/berth-dev/berth/k8s/nodes"
	"github.com/berth-dev/berth/runtime/docker"
	"github.com/berth-dev/berth/runtime/runtimetest"
)

const testImage = "berth-k8s-nodes-test/app:v1"

// A node group of two: both Nodes register and turn Ready, a two-replica
// Deployment's pods run as real containers with their own IPs and answer
// HTTP, the status shows running containers; deleting the Deployment removes
// the containers.
func TestPodsRunAsContainersOnNodes(t *testing.T) {
	if err := exec.Command("docker", "info").Run(); err != nil {
		t.Skip("no Docker engine:", err)
	}
	bin, kubectl := k8stest.Binaries(t)
	c := k8stest.Start(t, bin, t.TempDir())
	cs := c.Client(t)
	ctx := context.Background()

	runtimetest.LoadImage(ctx, t, runtimetest.TestImage(t, goruntime.GOARCH), testImage)
	rt, err := docker.New(docker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()

	caPEM, err := os.ReadFile(filepath.Join(c.Dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	clientCA := x509.NewCertPool()
	clientCA.AppendCertsFromPEM(caPEM)

	cluster := fmt.Sprintf("nodes-test-%d", time.Now().UnixNano())
	volDir := t.TempDir()
	nctx, stopNodes := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- nodes.Run(nctx, nodes.Config{
			Client: cs, Runtime: rt, Cluster: cluster,
			Names:     []string{"ip-10-0-1-1.ec2.internal", "ip-10-0-1-2.ec2.internal"},
			Labels:    map[string]string{"eks.amazonaws.com/nodegroup": "workers"},
			ClientCA:  clientCA,
			VolumeDir: volDir,
		})
	}()
	t.Cleanup(func() {
		stopNodes()
		<-done
		// Remove whatever a failed test left behind on the shared engine.
		leftovers, _ := rt.List(context.Background(), map[string]string{"berth.k8s.cluster": cluster})
		for _, l := range leftovers {
			_ = rt.RemoveContainer(context.Background(), l.ID)
		}
		sbs, _ := rt.ListSandboxes(context.Background(), map[string]string{"berth.k8s.cluster": cluster})
		for _, sb := range sbs {
			_ = rt.RemoveSandbox(context.Background(), sb.ID)
		}
	})

	start := time.Now()
	k8stest.Eventually(t, 60*time.Second, "two Ready nodes", func(ctx context.Context) (bool, error) {
		list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "eks.amazonaws.com/nodegroup=workers"})
		if err != nil {
			return false, err
		}
		ready := 0
		for _, n := range list.Items {
			for _, cond := range n.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		return ready == 2, nil
	})

	t.Logf("nodes Ready after %s", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "hello-config"}, Data: map[string]string{"greeting": "hello from a configmap"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "hello-secret"}, Data: map[string][]byte{"token": []byte("s3cr3t")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	replicas := int32(2)
	labels := map[string]string{"app": "hello"}
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "hello"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: testImage, Args: []string{"serve", "8080"},
					Env: []corev1.EnvVar{{Name: "GREETING", Value: "hi"}},
					VolumeMounts: []corev1.VolumeMount{
						{Name: "config", MountPath: "/etc/hello"},
						{Name: "secret", MountPath: "/etc/secret"},
						{Name: "scratch", MountPath: "/scratch"},
					},
				}},
					Volumes: []corev1.Volume{
						{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: "hello-config"}}}},
						{Name: "secret", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "hello-secret"}}},
						{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					},
				},
			},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	var pods []corev1.Pod
	k8stest.Eventually(t, 90*time.Second, "two Running, Ready pods with IPs", func(ctx context.Context) (bool, error) {
		list, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=hello"})
		if err != nil {
			return false, err
		}
		pods = nil
		for _, p := range list.Items {
			if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" || len(p.Status.ContainerStatuses) != 1 {
				continue
			}
			if cs := p.Status.ContainerStatuses[0]; cs.State.Running == nil || !cs.Ready || cs.ContainerID == "" {
				continue
			}
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
					pods = append(pods, p)
				}
			}
		}
		return len(pods) == 2, nil
	})
	t.Logf("2 pods Running and Ready after %s (image present)", time.Since(start).Round(time.Millisecond))
	for _, p := range pods {
		t.Logf("pod %s on %s: ip %s, %s", p.Name, p.Spec.NodeName, p.Status.PodIP, p.Status.ContainerStatuses[0].ContainerID)
		// The pod's hostname is its name, as the kubelet sets it.
		url := "http://" + p.Status.PodIP + ":8080/"
		k8stest.Eventually(t, 20*time.Second, "the pod to answer on "+url, func(ctx context.Context) (bool, error) {
			resp, err := http.Get(url)
			if err != nil {
				return false, err
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK && strings.Contains(string(body), "hello from "+p.Name), nil
		})
	}

	// kubectl logs and exec go through kube-apiserver to the node's kubelet
	// API, authenticated with the API server's kubelet client certificate.
	kc := func(args ...string) (string, int) {
		cmd := exec.Command(kubectl, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
		// The exit code is the result under test; a start failure shows as -1.
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	pod := pods[0].Name
	k8stest.Eventually(t, 20*time.Second, "kubectl logs to show the server's first line", func(ctx context.Context) (bool, error) {
		out, code := kc("logs", pod)
		if code != 0 {
			return false, fmt.Errorf("kubectl logs: exit %d: %s", code, out)
		}
		return strings.Contains(out, "serving on 8080"), nil
	})
	if out, code := kc("exec", pod, "--", "/app", "print", "hello", "berth"); code != 0 || out != "hello\nberth\n" {
		t.Errorf("kubectl exec print: exit %d, output %q", code, out)
	}
	if out, code := kc("exec", pod, "--", "/app", "env"); code != 0 || !strings.Contains(out, "GREETING=hi") {
		t.Errorf("kubectl exec env: exit %d, output lacks GREETING=hi:\n%s", code, out)
	}
	if out, code := kc("exec", pod, "--", "/app", "read", "/etc/hello/greeting"); code != 0 || out != "hello from a configmap" {
		t.Errorf("configmap volume: exit %d, %q", code, out)
	}
	if out, code := kc("exec", pod, "--", "/app", "read", "/etc/secret/token"); code != 0 || out != "s3cr3t" {
		t.Errorf("secret volume: exit %d, %q", code, out)
	}
	if out, code := kc("exec", pod, "--", "/app", "write", "/scratch/note", "kept"); code != 0 {
		t.Errorf("emptyDir write: exit %d, %q", code, out)
	}
	if out, code := kc("exec", pod, "--", "/app", "read", "/scratch/note"); code != 0 || out != "kept" {
		t.Errorf("emptyDir read back: exit %d, %q", code, out)
	}
	if out, code := kc("exec", pod, "--", "/app", "exit", "3"); code != 3 {
		t.Errorf("kubectl exec exit 3: exit %d, output %q", code, out)
	}

	start = time.Now()
	if err := cs.AppsV1().Deployments("default").Delete(ctx, "hello", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	k8stest.Eventually(t, 90*time.Second, "pods and their containers gone", func(ctx context.Context) (bool, error) {
		list, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=hello"})
		if err != nil || len(list.Items) > 0 {
			return false, err
		}
		left, err := rt.List(ctx, map[string]string{"berth.k8s.cluster": cluster})
		if err != nil || len(left) > 0 {
			return false, err
		}
		vols, err := rt.ListVolumes(ctx, map[string]string{"berth.k8s.cluster": cluster})
		return err == nil && len(vols) == 0, err
	})
	t.Logf("deployment deleted, containers and volumes removed after %s", time.Since(start).Round(time.Millisecond))
	if left, _ := os.ReadDir(volDir); len(left) != 0 {
		t.Errorf("volume files left behind for %d pods", len(left))
	}

	// restartPolicy: a crashing container is restarted with back-off and
	// counted; a run-to-completion pod with Never ends Succeeded.
	mkPod := func(name string, policy corev1.RestartPolicy, args ...string) {
		t.Helper()
		if _, err := cs.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"test": "restart"}},
			Spec: corev1.PodSpec{RestartPolicy: policy, Containers: []corev1.Container{{
				Name: "app", Image: testImage, Args: args,
			}}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mkPod("crasher", corev1.RestartPolicyAlways, "exit", "1")
	mkPod("once", corev1.RestartPolicyNever, "print", "done")
	k8stest.Eventually(t, 90*time.Second, "crasher restarted twice with its last exit code, once Succeeded", func(ctx context.Context) (bool, error) {
		crasher, err := cs.CoreV1().Pods("default").Get(ctx, "crasher", metav1.GetOptions{})
		if err != nil || len(crasher.Status.ContainerStatuses) != 1 {
			return false, err
		}
		st := crasher.Status.ContainerStatuses[0]
		last := st.LastTerminationState.Terminated
		crashing := st.RestartCount >= 2 && crasher.Status.Phase == corev1.PodRunning && (last == nil || last.ExitCode == 1)
		once, err := cs.CoreV1().Pods("default").Get(ctx, "once", metav1.GetOptions{})
		if err != nil || len(once.Status.ContainerStatuses) != 1 {
			return false, err
		}
		term := once.Status.ContainerStatuses[0].State.Terminated
		done := once.Status.Phase == corev1.PodSucceeded && term != nil && term.ExitCode == 0 && term.Reason == "Completed"
		return crashing && done, nil
	})
	t.Logf("restart policies observed after %s", time.Since(start).Round(time.Millisecond))
	for _, name := range []string{"crasher", "once"} {
		if err := cs.CoreV1().Pods("default").Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	k8stest.Eventually(t, 90*time.Second, "restart-test pods and containers gone", func(ctx context.Context) (bool, error) {
		list, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "test=restart"})
		if err != nil || len(list.Items) > 0 {
			return false, err
		}
		left, err := rt.List(ctx, map[string]string{"berth.k8s.cluster": cluster})
		return err == nil && len(left) == 0, err
	})
}

// Probes as the brief describes them: a failing liveness probe restarts the
// container, a failing readiness probe keeps a running pod out of Ready, a
// passing one lets it in.
func TestProbesRestartAndGateReadiness(t *testing.T) {
	if err := exec.Command("docker", "info").Run(); err != nil {
		t.Skip("no Docker engine:", err)
	}
	bin, _ := k8stest.Binaries(t)
	c := k8stest.Start(t, bin, t.TempDir())
	cs := c.Client(t)
	ctx := context.Background()
	runtimetest.LoadImage(ctx, t, runtimetest.TestImage(t, goruntime.GOARCH), testImage)
	rt, err := docker.New(docker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	cluster := fmt.Sprintf("probes-test-%d", time.Now().UnixNano())
	nctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- nodes.Run(nctx, nodes.Config{Client: cs, Runtime: rt, Cluster: cluster, Names: []string{"ip-10-0-4-1.ec2.internal"}})
	}()
	t.Cleanup(func() {
		stop()
		<-done
		bg := context.Background()
		left, _ := rt.List(bg, map[string]string{"berth.k8s.cluster": cluster})
		for _, l := range left {
			_ = rt.RemoveContainer(bg, l.ID)
		}
		sbs, _ := rt.ListSandboxes(bg, map[string]string{"berth.k8s.cluster": cluster})
		for _, sb := range sbs {
			_ = rt.RemoveSandbox(bg, sb.ID)
		}
	})

	httpProbe := func(path string) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("http")}},
			PeriodSeconds: 1, FailureThreshold: 2,
		}
	}
	mk := func(name string, liveness, readiness *corev1.Probe) {
		t.Helper()
		if _, err := cs.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "app", Image: testImage, Args: []string{"serve", "8080"},
				Ports:         []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				LivenessProbe: liveness, ReadinessProbe: readiness,
			}}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tcpProbe := func(port intstr.IntOrString) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: port}},
			PeriodSeconds: 1, FailureThreshold: 2,
		}
	}
	mk("healthy", httpProbe("/health"), tcpProbe(intstr.FromString("http")))
	// Nothing listens on 9999.
	mk("unready", nil, tcpProbe(intstr.FromInt32(9999)))
	mk("dying", &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/app", "exit", "1"}}},
		PeriodSeconds: 1, FailureThreshold: 2,
	}, nil)

	get := func(ctx context.Context, name string) (*corev1.Pod, corev1.ContainerStatus, bool) {
		p, err := cs.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil || len(p.Status.ContainerStatuses) != 1 {
			return nil, corev1.ContainerStatus{}, false
		}
		return p, p.Status.ContainerStatuses[0], true
	}
	podReady := func(p *corev1.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				return c.Status == corev1.ConditionTrue
			}
		}
		return false
	}
	k8stest.Eventually(t, 90*time.Second, "healthy Ready, unready Running but not Ready, dying restarted by its liveness probe", func(ctx context.Context) (bool, error) {
		h, hs, ok1 := get(ctx, "healthy")
		u, us, ok2 := get(ctx, "unready")
		_, ds, ok3 := get(ctx, "dying")
		if !ok1 || !ok2 || !ok3 {
			return false, nil
		}
		ok := podReady(h) && hs.RestartCount == 0 &&
			u.Status.Phase == corev1.PodRunning && us.State.Running != nil && !us.Ready && !podReady(u) &&
			ds.RestartCount >= 1
		if !ok {
			return false, fmt.Errorf("healthy ready=%v restarts=%d; unready phase=%s running=%v ready=%v; dying restarts=%d state=%+v",
				podReady(h), hs.RestartCount, u.Status.Phase, us.State.Running != nil, us.Ready, ds.RestartCount, ds.State)
		}
		return true, nil
	})
	// The readiness verdict holds: the unready pod never turns Ready.
	time.Sleep(3 * time.Second)
	if u, _, ok := get(ctx, "unready"); !ok || podReady(u) {
		t.Error("a pod whose readiness probe fails became Ready")
	}
}
