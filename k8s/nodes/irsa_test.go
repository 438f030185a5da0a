package nodes

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// A pod whose service account names a role gets the pod identity
// webhook's environment and token volume, with the token requested for
// its service account, audience sts.amazonaws.com and a day's expiry, and
// bound to the pod; a pod of an unannotated service account gets only the
// AWS endpoint.
func TestIRSAPodGetsRoleTokenAndEnvironment(t *testing.T) {
	cs := fake.NewClientset(
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "app",
			Annotations: map[string]string{annotationRoleARN: "arn:aws:iam::000000000000:role/app"}}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "plain"}},
	)
	var asked *authenticationv1.TokenRequest
	var askedFor string
	cs.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ca, ok := a.(k8stesting.CreateAction)
		if !ok || a.GetSubresource() != "token" {
			return false, nil, nil
		}
		asked = ca.GetObject().(*authenticationv1.TokenRequest).DeepCopy()
		askedFor = ca.(k8stesting.CreateActionImpl).Name
		out := asked.DeepCopy()
		out.Status = authenticationv1.TokenRequestStatus{Token: "tok-" + askedFor,
			ExpirationTimestamp: metav1.NewTime(time.Now().Add(time.Duration(*asked.Spec.ExpirationSeconds) * time.Second))}
		return true, out, nil
	})
	p := &provider{cfg: Config{Client: cs, Region: "eu-west-1", AWSEndpoint: "http://169.254.170.2:4566", VolumeDir: t.TempDir()}}
	pod := func(sa string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "p-" + sa, UID: types.UID("uid-" + sa)},
			Spec: corev1.PodSpec{ServiceAccountName: sa, Containers: []corev1.Container{
				{Name: "main", Env: []corev1.EnvVar{{Name: "AWS_REGION", Value: "mine"}}}}}}
	}
	ctx := context.Background()

	in := pod("app")
	run, err := p.withAWS(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Spec.Volumes) != 0 || len(in.Spec.Containers[0].Env) != 1 {
		t.Error("withAWS changed the pod it was given")
	}
	env := map[string]string{}
	for _, e := range run.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	for k, v := range map[string]string{
		"AWS_ROLE_ARN":                "arn:aws:iam::000000000000:role/app",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
		"AWS_STS_REGIONAL_ENDPOINTS":  "regional",
		"AWS_REGION":                  "mine", // the container's own value wins
		"AWS_DEFAULT_REGION":          "eu-west-1",
		"AWS_ENDPOINT_URL":            "http://169.254.170.2:4566",
		"AWS_ENDPOINT_URL_STS":        "http://169.254.170.2:4566",
	} {
		if env[k] != v {
			t.Errorf("%s=%q, want %q", k, env[k], v)
		}
	}
	if m := run.Spec.Containers[0].VolumeMounts; len(m) != 1 || m[0].Name != irsaVolume || m[0].MountPath != irsaMountPath || !m[0].ReadOnly {
		t.Errorf("mounts: %+v", m)
	}

	vols, refresh, err := p.podVolumes(ctx, run, nil)
	if err != nil {
		t.Fatal(err)
	}
	if askedFor != "app" || len(asked.Spec.Audiences) != 1 || asked.Spec.Audiences[0] != "sts.amazonaws.com" ||
		*asked.Spec.ExpirationSeconds != 86400 || asked.Spec.BoundObjectRef == nil || asked.Spec.BoundObjectRef.UID != "uid-app" {
		t.Errorf("token request for %q: %+v", askedFor, asked.Spec)
	}
	tok, err := os.ReadFile(filepath.Join(vols[irsaVolume].Source, "token"))
	if err != nil || string(tok) != "tok-app" {
		t.Errorf("token file: %q, %v", tok, err)
	}
	// Refreshed at 80% of the day, as the kubelet does.
	if d := time.Until(refresh); d < 19*time.Hour || d > 20*time.Hour {
		t.Errorf("refresh in %s", d)
	}

	plain, err := p.withAWS(ctx, pod("plain"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range plain.Spec.Containers[0].Env {
		if e.Name == "AWS_ROLE_ARN" || e.Name == "AWS_WEB_IDENTITY_TOKEN_FILE" {
			t.Errorf("pod without a role: %s=%s", e.Name, e.Value)
		}
	}
	if len(plain.Spec.Volumes) != 0 || len(plain.Spec.Containers[0].VolumeMounts) != 0 {
		t.Errorf("pod without a role got a token volume: %+v", plain.Spec)
	}
}

func TestDownwardAPIFiles(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", Labels: map[string]string{"b": "2", "a": "1"}}}
	got := downwardFiles(pod, []corev1.DownwardAPIVolumeFile{
		{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}},
		{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
		{Path: "cpu", ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}},
	})
	if string(got["namespace"]) != "ns" || string(got["labels"]) != "a=\"1\"\nb=\"2\"" || len(got) != 2 {
		t.Errorf("downward files: %q", got)
	}
}
