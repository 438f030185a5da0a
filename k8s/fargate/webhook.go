package fargate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// WebhookName names both the MutatingWebhookConfiguration and its one
// webhook: EKS's Fargate webhook goes by this name.
const WebhookName = "0500-amazon-eks-fargate-mutation.amazonaws.com"

// WebhookPath is where the webhook server answers AdmissionReviews.
const WebhookPath = "/mutate-pods"

// probeLabel marks the dry-run pod the add-on creates to learn that the API
// server calls the webhook: the webhook answers it whatever the profiles.
const probeLabel = "fargate.eks.berth.dev/probe"

// Webhook is the mutating admission webhook: it holds the profiles in
// effect and decides each new pod.
type Webhook struct {
	profiles atomic.Pointer[[]Profile]
}

// SetProfiles replaces the profiles in effect.
func (w *Webhook) SetProfiles(ps []Profile) { w.profiles.Store(&ps) }

// Profiles are the profiles in effect.
func (w *Webhook) Profiles() []Profile {
	if p := w.profiles.Load(); p != nil {
		return *p
	}
	return nil
}

// ServeHTTP answers an admission.k8s.io/v1 AdmissionReview for a pod.
func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
		http.Error(rw, "not an AdmissionReview", http.StatusBadRequest)
		return
	}
	resp := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
	var pod corev1.Pod
	if review.Request.Operation == admissionv1.Create && json.Unmarshal(review.Request.Object.Raw, &pod) == nil {
		if patch := w.Patch(review.Request.Namespace, &pod); patch != nil {
			resp.Patch = patch
			pt := admissionv1.PatchTypeJSONPatch
			resp.PatchType = &pt
		}
	}
	review.Response = resp
	review.Request = nil
	out, _ := json.Marshal(review)
	rw.Header().Set("Content-Type", "application/json")
	rw.Write(out)
}

// Patch is the JSON patch that puts a new pod on Fargate, or nil when it
// stays with the default scheduler: pods that name another scheduler or a
// node, and DaemonSet pods (each meant for one particular node; Fargate
// runs no DaemonSets), are left alone.
func (w *Webhook) Patch(namespace string, pod *corev1.Pod) []byte {
	if namespace == "" {
		namespace = pod.Namespace
	}
	if pod.Spec.NodeName != "" || (pod.Spec.SchedulerName != "" && pod.Spec.SchedulerName != corev1.DefaultSchedulerName) {
		return nil
	}
	for _, o := range pod.OwnerReferences {
		if o.Kind == "DaemonSet" {
			return nil
		}
	}
	profile, ok := Match(w.Profiles(), namespace, pod.Labels)
	if _, probe := pod.Labels[probeLabel]; probe {
		profile, ok = "probe", true
	}
	if !ok {
		return nil
	}
	type op struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value"`
	}
	ops := []op{{Op: "add", Path: "/spec/schedulerName", Value: SchedulerName}}
	if pod.Labels == nil {
		ops = append(ops, op{Op: "add", Path: "/metadata/labels", Value: map[string]string{ProfileLabel: profile}})
	} else {
		ops = append(ops, op{Op: "add", Path: "/metadata/labels/" + strings.ReplaceAll(strings.ReplaceAll(ProfileLabel, "~", "~0"), "/", "~1"), Value: profile})
	}
	data, _ := json.Marshal(ops)
	return data
}

// Register makes the API server call the webhook at url for every pod
// created, trusting caPEM for its certificate, and waits until it does. A
// webhook that does not answer is ignored (failurePolicy Ignore): pods are
// then created for the default scheduler, as they would be without
// Fargate, rather than refused.
func Register(ctx context.Context, client kubernetes.Interface, url string, caPEM []byte) error {
	fail := admissionregistrationv1.Ignore
	none := admissionregistrationv1.SideEffectClassNone
	scope := admissionregistrationv1.NamespacedScope
	timeout := int32(5)
	want := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: WebhookName, Labels: map[string]string{"app.kubernetes.io/managed-by": "berth"}},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:         WebhookName,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: caPEM},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}, Scope: &scope},
			}},
			FailurePolicy:           &fail,
			SideEffects:             &none,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	api := client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	cur, err := api.Get(ctx, WebhookName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = api.Create(ctx, want, metav1.CreateOptions{})
	case err == nil:
		want.ResourceVersion = cur.ResourceVersion
		_, err = api.Update(ctx, want, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("registering the webhook: %w", err)
	}
	return waitCalled(ctx, client)
}

// waitCalled creates a dry-run pod until the webhook's patch shows on it:
// the API server picks up webhook configurations asynchronously, and a
// profile must not be reported in effect before its pods are mutated.
func waitCalled(ctx context.Context, client kubernetes.Interface) error {
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "fargate-probe-", Namespace: metav1.NamespaceDefault, Labels: map[string]string{probeLabel: "true"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "probe", Image: "probe"}}},
	}
	deadline := time.Now().Add(time.Minute)
	for {
		got, err := client.CoreV1().Pods(metav1.NamespaceDefault).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil && got.Spec.SchedulerName == SchedulerName {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the API server does not call the webhook (last: %v)", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
