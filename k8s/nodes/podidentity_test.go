package nodes

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A pod whose service account Berth says has an association gets the
// agent's URI, the token file and the projected token volume for
// pods.eks.amazonaws.com; other pods, and containers that name their own
// container credentials, are left as they are; a lookup that fails fails
// the start rather than starting the pod without its credentials.
func TestPodIdentityPodGetsAgentAndToken(t *testing.T) {
	var asked []string
	berth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.Path)
		switch r.URL.Path {
		case "/lookup/shop/cart":
			w.Write([]byte(`{"associationArn":"arn"}`))
		case "/lookup/shop/broken":
			http.Error(w, "boom", http.StatusInternalServerError)
		default:
			http.NotFound(w, r)
		}
	}))
	defer berth.Close()
	p := &provider{cfg: Config{Region: "eu-west-1", PodIdentityURI: "http://169.254.170.23/v1/credentials", PodIdentityLookup: berth.URL + "/lookup"}}
	pod := func(sa string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "p"},
			Spec: corev1.PodSpec{ServiceAccountName: sa, Containers: []corev1.Container{
				{Name: "main", Env: []corev1.EnvVar{{Name: "AWS_REGION", Value: "mine"}}},
				{Name: "own", Env: []corev1.EnvVar{{Name: envFullURI, Value: "http://127.0.0.1/creds"}}},
			}}}
	}
	ctx := context.Background()

	in := pod("cart")
	run, err := p.withPodIdentity(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Spec.Volumes) != 0 || len(in.Spec.Containers[0].Env) != 1 {
		t.Error("withPodIdentity changed the pod it was given")
	}
	if len(run.Spec.Volumes) != 1 {
		t.Fatalf("volumes: %+v", run.Spec.Volumes)
	}
	src := run.Spec.Volumes[0].Projected.Sources[0].ServiceAccountToken
	if run.Spec.Volumes[0].Name != podIdentityVolume || src.Audience != "pods.eks.amazonaws.com" || src.Path != "eks-pod-identity-token" || *src.ExpirationSeconds != 86400 {
		t.Errorf("volume: %+v %+v", run.Spec.Volumes[0], src)
	}
	env := map[string]string{}
	for _, e := range run.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	want := map[string]string{
		envFullURI:           "http://169.254.170.23/v1/credentials",
		envTokenFile:         "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token",
		"AWS_REGION":         "mine",
		"AWS_DEFAULT_REGION": "eu-west-1",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s=%q, want %q", k, env[k], v)
		}
	}
	if m := run.Spec.Containers[0].VolumeMounts; len(m) != 1 || m[0].MountPath != podIdentityMountPath || !m[0].ReadOnly {
		t.Errorf("mounts: %+v", m)
	}
	if own := run.Spec.Containers[1]; len(own.Env) != 1 || len(own.VolumeMounts) != 0 {
		t.Errorf("a container with its own credentials URI was changed: %+v", own)
	}

	plain := pod("plain")
	if out, err := p.withPodIdentity(ctx, plain); err != nil || out != plain {
		t.Errorf("pod without an association: %v %+v", err, out)
	}
	if _, err := p.withPodIdentity(ctx, pod("broken")); err == nil {
		t.Error("a failed lookup started the pod")
	}
	if _, err := p.withPodIdentity(ctx, pod("")); err != nil || asked[len(asked)-1] != "/lookup/shop/default" {
		t.Errorf("a pod without serviceAccountName is the default one's: %v %v", err, asked)
	}
}

// The URI file is read at each pod start, so a Berth that restarted on
// another agent port reaches new pods without replacing the process.
func TestPodIdentityURIFile(t *testing.T) {
	berth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"associationArn":"arn"}`))
	}))
	defer berth.Close()
	file := filepath.Join(t.TempDir(), "pod-identity-uri")
	p := &provider{cfg: Config{PodIdentityURI: "http://ignored/", PodIdentityURIFile: file, PodIdentityLookup: berth.URL}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "p"},
		Spec: corev1.PodSpec{ServiceAccountName: "cart", Containers: []corev1.Container{{Name: "main"}}}}
	uri := func() string {
		t.Helper()
		out, err := p.withPodIdentity(context.Background(), pod)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Spec.Containers[0].Env {
			if e.Name == envFullURI {
				return e.Value
			}
		}
		return ""
	}
	if got := uri(); got != "" {
		t.Errorf("no file yet: the pod got %q, want no Pod Identity", got)
	}
	for _, want := range []string{"http://169.254.170.23/v1/credentials", "http://169.254.170.23:4566/v1/credentials"} {
		if err := os.WriteFile(file, []byte(want+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := uri(); got != want {
			t.Errorf("URI %q, want %q", got, want)
		}
	}
}
