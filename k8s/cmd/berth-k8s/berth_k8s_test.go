package main_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/berth-dev/berth/k8s/internal/k8stest"
)

// A user's story: create a namespace, a ConfigMap and a two-replica
// Deployment; the controller manager makes the ReplicaSet and two Pods, which
// stay Pending because the cluster has no nodes yet. Restart the control
// plane: everything is still there with the same UIDs. kubectl works against
// it and reports the server version.
func TestDeploymentSurvivesRestart(t *testing.T) {
	bin, kubectl := k8stest.Binaries(t)
	dir := t.TempDir()

	c := k8stest.Start(t, bin, dir, "--name", "shop-cluster")
	t.Logf("first start: ready after %s, url %s, RSS %d MiB", c.ReadyAfter.Round(time.Millisecond), c.URL, c.RSSKiB()/1024)
	cs := c.Client(t)
	ctx := context.Background()

	if _, err := os.Stat(filepath.Join(dir, "ca.crt")); err != nil {
		t.Fatalf("ca.crt: %v", err)
	}

	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm, err := cs.CoreV1().ConfigMaps("shop").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "web-config"},
		Data:       map[string]string{"GREETING": "hello from berth"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	replicas := int32(2)
	labels := map[string]string{"app": "web"}
	dep, err := cs.AppsV1().Deployments("shop").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:    "web",
					Image:   "nginx:1.27",
					EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "web-config"}}}},
				}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	var rsUID types.UID
	k8stest.Eventually(t, 60*time.Second, "the deployment controller to create a ReplicaSet", func(ctx context.Context) (bool, error) {
		list, err := cs.AppsV1().ReplicaSets("shop").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, err
		}
		for _, rs := range list.Items {
			if ref := metav1.GetControllerOf(&rs); ref != nil && ref.UID == dep.UID {
				rsUID = rs.UID
				return true, nil
			}
		}
		return false, nil
	})

	podUIDs := map[types.UID]bool{}
	k8stest.Eventually(t, 60*time.Second, "two Pending pods marked unschedulable by the scheduler", func(ctx context.Context) (bool, error) {
		list, err := cs.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, err
		}
		unschedulable := 0
		for _, p := range list.Items {
			if ref := metav1.GetControllerOf(&p); ref == nil || ref.UID != rsUID || p.Status.Phase != corev1.PodPending {
				continue
			}
			for _, cond := range p.Status.Conditions {
				// The scheduler saw the pod and found no node: proof it runs.
				if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable {
					unschedulable++
				}
			}
		}
		if unschedulable != 2 || len(list.Items) != 2 {
			return false, nil
		}
		for _, p := range list.Items {
			podUIDs[p.UID] = true
		}
		return true, nil
	})

	// The service-account and root-CA controllers fill every namespace.
	k8stest.Eventually(t, 60*time.Second, "the default ServiceAccount and kube-root-ca.crt in the namespace", func(ctx context.Context) (bool, error) {
		if _, err := cs.CoreV1().ServiceAccounts("shop").Get(ctx, "default", metav1.GetOptions{}); err != nil {
			return false, err
		}
		_, err := cs.CoreV1().ConfigMaps("shop").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		return err == nil, err
	})

	kubectlGetNS(t, kubectl, c.Kubeconfig, "shop")
	kubectlVersion(t, kubectl, c.Kubeconfig)
	t.Logf("after workload: RSS %d MiB", c.RSSKiB()/1024)

	took := c.Stop(t)
	t.Logf("clean shutdown after SIGTERM took %s", took.Round(time.Millisecond))

	c2 := k8stest.Start(t, bin, dir, "--name", "shop-cluster")
	t.Logf("restart: ready after %s, RSS %d MiB", c2.ReadyAfter.Round(time.Millisecond), c2.RSSKiB()/1024)
	cs = c2.Client(t)

	gotNS, err := cs.CoreV1().Namespaces().Get(ctx, "shop", metav1.GetOptions{})
	if err != nil || gotNS.UID != ns.UID {
		t.Fatalf("namespace after restart: %v (uid %v, want %v)", err, uidOf(gotNS), ns.UID)
	}
	gotCM, err := cs.CoreV1().ConfigMaps("shop").Get(ctx, "web-config", metav1.GetOptions{})
	if err != nil || gotCM.UID != cm.UID || gotCM.Data["GREETING"] != "hello from berth" {
		t.Fatalf("configmap after restart: %v %+v", err, gotCM)
	}
	gotDep, err := cs.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{})
	if err != nil || gotDep.UID != dep.UID || *gotDep.Spec.Replicas != 2 {
		t.Fatalf("deployment after restart: %v", err)
	}
	pods, err := cs.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 2 {
		t.Fatalf("after restart %d pods, want the same 2", len(pods.Items))
	}
	for _, p := range pods.Items {
		if !podUIDs[p.UID] {
			t.Errorf("pod %s has a new UID after restart: the ReplicaSet was recreated instead of kept", p.Name)
		}
	}
	kubectlGetNS(t, kubectl, c2.Kubeconfig, "shop")
}

func uidOf(o metav1.Object) types.UID {
	if o == nil {
		return ""
	}
	return o.GetUID()
}

func kubectlGetNS(t *testing.T, kubectl, kubeconfig, want string) {
	t.Helper()
	out, err := exec.Command(kubectl, "--kubeconfig", kubeconfig, "get", "ns").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl get ns: %v\n%s", err, out)
	}
	t.Logf("kubectl get ns:\n%s", out)
	for _, ns := range []string{"default", "kube-system", want} {
		if !strings.Contains(string(out), ns) {
			t.Errorf("kubectl get ns lacks %q", ns)
		}
	}
}

func kubectlVersion(t *testing.T, kubectl, kubeconfig string) {
	t.Helper()
	out, err := exec.Command(kubectl, "--kubeconfig", kubeconfig, "version", "-o", "json").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl version: %v\n%s", err, out)
	}
	var v struct {
		ClientVersion struct{ GitVersion, Major, Minor string }
		ServerVersion struct{ GitVersion, Major, Minor string }
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("kubectl version output: %v\n%s", err, out)
	}
	if v.ServerVersion.GitVersion != "v1.37.2" || v.ServerVersion.Major != "1" || v.ServerVersion.Minor != "37" {
		t.Errorf("server version %+v, want v1.37.2 (1.37)", v.ServerVersion)
	}
	if v.ClientVersion.GitVersion != "v1.37.2" {
		t.Errorf("client version %+v, want v1.37.2", v.ClientVersion)
	}
	plain, _ := exec.Command(kubectl, "--kubeconfig", kubeconfig, "version").CombinedOutput()
	t.Logf("kubectl version:\n%s", plain)
}

// The API server asks Berth's TokenReview webhook about bearer tokens it
// cannot verify itself (EKS's aws-iam-authenticator tokens); the identity
// the webhook returns is what RBAC sees, and a rejected token gets 401.
func TestWebhookTokenIsHonoured(t *testing.T) {
	bin, _ := k8stest.Binaries(t)

	var reviews atomic.Int32
	webhook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var review authnv1.TokenReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		reviews.Add(1)
		review.Status = authnv1.TokenReviewStatus{}
		if review.Spec.Token == "k8s-aws-v1.good" {
			review.Status.Authenticated = true
			review.Status.User = authnv1.UserInfo{
				Username: "arn:aws:iam::000000000000:user/alice",
				UID:      "aws-iam-authenticator:000000000000:AIDALICE",
				Groups:   []string{"system:masters", "system:authenticated"},
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(review)
	}))
	defer webhook.Close()

	c := k8stest.Start(t, bin, t.TempDir(), "--authn-webhook", webhook.URL)
	admin := c.RESTConfig(t)
	bearer := func(token string) kubernetes.Interface {
		rc := rest.AnonymousClientConfig(admin)
		rc.BearerToken = token
		cs, err := kubernetes.NewForConfig(rc)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	ctx := context.Background()

	good := bearer("k8s-aws-v1.good")
	review, err := good.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("whoami with a good token: %v", err)
	}
	if got := review.Status.UserInfo.Username; got != "arn:aws:iam::000000000000:user/alice" {
		t.Errorf("whoami = %q, want alice's ARN", got)
	}
	if _, err := good.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("system:masters from the webhook cannot list namespaces: %v", err)
	}

	_, err = bearer("k8s-aws-v1.forged").CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if !apierrors.IsUnauthorized(err) {
		t.Errorf("forged token: got %v, want 401 Unauthorized", err)
	}
	if reviews.Load() < 2 {
		t.Errorf("webhook saw %d reviews, want both tokens", reviews.Load())
	}
}
