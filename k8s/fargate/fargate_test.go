package fargate

import (
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

func TestMatchFollowsEKSRules(t *testing.T) {
	ps, err := ParseProfiles([]byte(`[
	  {"name": "web", "selectors": [{"namespace": "shop", "labels": {"app": "web"}}]},
	  {"name": "all-shop", "selectors": [{"namespace": "shop"}]},
	  {"name": "batch", "selectors": [{"namespace": "jobs-*", "labels": {"tier": "b?tch"}}, {"namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}}]},
	  {"name": "wild-key", "selectors": [{"namespace": "wild", "labels": {"team/*": "a*"}}]}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	if ps[0].Name != "all-shop" || ps[3].Name != "wild-key" {
		t.Fatalf("profiles are not in name order: %+v", ps)
	}
	for _, c := range []struct {
		ns     string
		labels map[string]string
		want   string
	}{
		// Both match; all-shop comes first alphabetically.
		{"shop", map[string]string{"app": "web"}, "all-shop"},
		// The pod names its profile: only that one is considered.
		{"shop", map[string]string{"app": "web", ProfileLabel: "web"}, "web"},
		{"shop", map[string]string{"app": "api", ProfileLabel: "web"}, ""},
		{"shop", nil, "all-shop"},
		{"other", map[string]string{"app": "web"}, ""},
		{"jobs-nightly", map[string]string{"tier": "batch", "x": "y"}, "batch"},
		{"jobs-nightly", map[string]string{"tier": "bench"}, ""},
		{"jobs-", map[string]string{"tier": "botch"}, "batch"},
		{"jobs", map[string]string{"tier": "batch"}, ""},
		{"kube-system", map[string]string{"k8s-app": "kube-dns"}, "batch"},
		{"kube-system", nil, ""},
		{"wild", map[string]string{"team/blue": "alpha"}, "wild-key"},
		{"wild", map[string]string{"team/blue": "beta"}, ""},
	} {
		got, ok := Match(ps, c.ns, c.labels)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("Match(%s, %v) = %q %v, want %q", c.ns, c.labels, got, ok, c.want)
		}
	}
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"", "", true}, {"", "a", false}, {"*", "", true}, {"*", "anything/at[all]", true},
		{"a*c", "abbbc", true}, {"a*c", "abbb", false}, {"?", "x", true}, {"?", "", false},
		{"a[b]", "a[b]", true}, {"*-prod", "web-prod", true}, {"*-prod", "web-production", false},
		{"a*b*c", "aXbYbZc", true},
	} {
		if got := glob(c.p, c.s); got != c.want {
			t.Errorf("glob(%q, %q) = %v", c.p, c.s, got)
		}
	}
}

func TestNodeNames(t *testing.T) {
	re := regexp.MustCompile(`^fargate-ip-10-([0-9]{1,3})-([0-9]{1,3})-([0-9]{1,3})\.(ec2\.internal|eu-west-1\.compute\.internal)$`)
	uid := types.UID("3f1c2a4e-9a51-4d7b-8a0e-1d2c3b4a5f60")
	a, b := NodeName(uid, "eu-west-1", 0), NodeName(uid, "eu-west-1", 1)
	if !re.MatchString(a) || !re.MatchString(b) || a == b {
		t.Errorf("candidates %q, %q", a, b)
	}
	if a != NodeName(uid, "eu-west-1", 0) {
		t.Error("a pod's node name is not stable")
	}
	if n := NodeName(uid, "us-east-1", 0); !strings.HasSuffix(n, ".ec2.internal") || !re.MatchString(n) {
		t.Errorf("us-east-1: %q", n)
	}
	// Node names are DNS subdomains of at most 253 characters.
	if len(NodeName(uid, "ap-southeast-2", 0)) > 253 {
		t.Error("too long")
	}
	if NodeName("other", "eu-west-1", 0) == a {
		t.Error("two pods share a name")
	}
}

func TestCapacityRoundsUpToAFargateSize(t *testing.T) {
	pod := func(cpu, mem string, init ...string) *corev1.Pod {
		p := &corev1.Pod{}
		req := corev1.ResourceList{}
		if cpu != "" {
			req[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			req[corev1.ResourceMemory] = resource.MustParse(mem)
		}
		p.Spec.Containers = []corev1.Container{{Name: "a", Resources: corev1.ResourceRequirements{Requests: req}}, {Name: "b"}}
		if len(init) == 2 {
			p.Spec.InitContainers = []corev1.Container{{Name: "i", Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse(init[0]), corev1.ResourceMemory: resource.MustParse(init[1])}}}}
		}
		return p
	}
	for _, c := range []struct {
		pod  *corev1.Pod
		want string
		cpu  string
	}{
		{pod("", ""), "0.25vCPU 0.5GB", "250m"},
		{pod("100m", "256Mi"), "0.25vCPU 0.5GB", "250m"},
		{pod("250m", "300Mi"), "0.25vCPU 1GB", "250m"},
		{pod("500m", "1Gi"), "0.5vCPU 2GB", "500m"},
		// 8 GB plus Fargate's 256 MB does not fit 1 vCPU's largest.
		{pod("1", "8Gi"), "2vCPU 9GB", "2"},
		// An init container's larger requests win.
		{pod("100m", "100Mi", "2", "3Gi"), "2vCPU 4GB", "2"},
		{pod("64", "1Ti"), "16vCPU 120GB", "16"},
	} {
		list, got := Capacity(c.pod)
		cpu := list[corev1.ResourceCPU]
		if got != c.want || cpu.String() != c.cpu {
			t.Errorf("Capacity = %q (cpu %s), want %q (cpu %s)", got, cpu.String(), c.want, c.cpu)
		}
	}
}

func TestWebhookPutsMatchingPodsOnFargate(t *testing.T) {
	wh := &Webhook{}
	wh.SetProfiles([]Profile{{Name: "fp", Selectors: []Selector{{Namespace: "shop", Labels: map[string]string{"run": "fargate"}}}}})

	review := func(ns string, pod corev1.Pod) *admissionv1.AdmissionResponse {
		t.Helper()
		raw, _ := json.Marshal(pod)
		body, _ := json.Marshal(admissionv1.AdmissionReview{
			TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
			Request: &admissionv1.AdmissionRequest{UID: "req-1", Namespace: ns, Operation: admissionv1.Create,
				Object: runtime.RawExtension{Raw: raw}},
		})
		rec := httptest.NewRecorder()
		wh.ServeHTTP(rec, httptest.NewRequest("POST", WebhookPath, strings.NewReader(string(body))))
		var out admissionv1.AdmissionReview
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
			t.Fatalf("response %d %s", rec.Code, rec.Body)
		}
		if out.Response.UID != "req-1" || !out.Response.Allowed || out.Kind != "AdmissionReview" {
			t.Fatalf("response: %+v", out)
		}
		return out.Response
	}
	apply := func(pod corev1.Pod, resp *admissionv1.AdmissionResponse) corev1.Pod {
		t.Helper()
		var ops []struct {
			Op, Path string
			Value    json.RawMessage
		}
		if err := json.Unmarshal(resp.Patch, &ops); err != nil {
			t.Fatal(err)
		}
		for _, op := range ops {
			switch op.Path {
			case "/spec/schedulerName":
				json.Unmarshal(op.Value, &pod.Spec.SchedulerName)
			case "/metadata/labels":
				json.Unmarshal(op.Value, &pod.Labels)
			case "/metadata/labels/eks.amazonaws.com~1fargate-profile":
				var v string
				json.Unmarshal(op.Value, &v)
				pod.Labels[ProfileLabel] = v
			default:
				t.Fatalf("unexpected patch %s %s", op.Op, op.Path)
			}
		}
		return pod
	}

	match := corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "web-", Labels: map[string]string{"run": "fargate", "app": "web"}}}
	resp := review("shop", match)
	if resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch {
		t.Fatalf("no JSON patch: %+v", resp)
	}
	if got := apply(match, resp); got.Spec.SchedulerName != SchedulerName || got.Labels[ProfileLabel] != "fp" || got.Labels["app"] != "web" {
		t.Errorf("patched pod: %+v", got.ObjectMeta.Labels)
	}

	for name, c := range map[string]struct {
		ns  string
		pod corev1.Pod
	}{
		"other namespace": {"default", match},
		"labels differ":   {"shop", corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"run": "ec2"}}}},
		"own scheduler":   {"shop", corev1.Pod{ObjectMeta: match.ObjectMeta, Spec: corev1.PodSpec{SchedulerName: "mine"}}},
		"has a node":      {"shop", corev1.Pod{ObjectMeta: match.ObjectMeta, Spec: corev1.PodSpec{NodeName: "n1"}}},
		"daemonset pod": {"shop", corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: match.Labels,
			OwnerReferences: []metav1.OwnerReference{{Kind: "DaemonSet", Name: "ds", APIVersion: "apps/v1"}}}}},
	} {
		if resp := review(c.ns, c.pod); resp.Patch != nil {
			t.Errorf("%s: patched: %s", name, resp.Patch)
		}
	}

	// A pod without labels gets the label map; only possible with a
	// namespace-only selector.
	wh.SetProfiles([]Profile{{Name: "ns-only", Selectors: []Selector{{Namespace: "shop"}}}})
	bare := corev1.Pod{}
	if got := apply(bare, review("shop", bare)); got.Labels[ProfileLabel] != "ns-only" || got.Spec.SchedulerName != SchedulerName {
		t.Errorf("bare pod: %+v", got)
	}
}
