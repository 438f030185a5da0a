package nodes

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
)

// Projected volumes, the kubelet's way: service-account tokens come from
// the TokenRequest API (bound to the pod, with the source's audience and
// expiry) and are refreshed before they expire; ConfigMap, Secret and
// downward-API sources are written once, as ConfigMap and Secret volumes
// are. Every pod has one of these (kube-api-access-*, added by the
// ServiceAccount admission plugin); IRSA adds another.

// defaultTokenExpiration is the API's default for a projected token.
const defaultTokenExpiration = int64(3600)

// maxTokenRefresh bounds how long a token goes unrefreshed, as the
// kubelet's token manager does (refresh at 80% of the lifetime or after
// 24 hours, whichever is first).
const maxTokenRefresh = 24 * time.Hour

// projectedFiles renders a projected volume. refresh is when its tokens
// must be requested again (zero without tokens).
func (p *provider) projectedFiles(ctx context.Context, pod *corev1.Pod, src *corev1.ProjectedVolumeSource) (map[string][]byte, time.Time, error) {
	files := map[string][]byte{}
	var refresh time.Time
	for _, s := range src.Sources {
		var part map[string][]byte
		var err error
		switch {
		case s.ServiceAccountToken != nil:
			var tok []byte
			var at time.Time
			tok, at, err = p.requestToken(ctx, pod, s.ServiceAccountToken)
			part = map[string][]byte{s.ServiceAccountToken.Path: tok}
			if refresh.IsZero() || at.Before(refresh) {
				refresh = at
			}
		case s.ConfigMap != nil:
			part, err = p.configMapFiles(pod.Namespace, &corev1.ConfigMapVolumeSource{
				LocalObjectReference: s.ConfigMap.LocalObjectReference, Items: s.ConfigMap.Items, Optional: s.ConfigMap.Optional})
		case s.Secret != nil:
			part, err = p.secretFiles(pod.Namespace, &corev1.SecretVolumeSource{
				SecretName: s.Secret.Name, Items: s.Secret.Items, Optional: s.Secret.Optional})
		case s.DownwardAPI != nil:
			part = downwardFiles(pod, s.DownwardAPI.Items)
		default:
			// ClusterTrustBundle and PodCertificate sources: no signer for
			// them on Berth's nodes yet.
			continue
		}
		if err != nil {
			return nil, time.Time{}, err
		}
		maps.Copy(files, part)
	}
	return files, refresh, nil
}

// requestToken asks the API server for a token of the pod's service
// account, bound to the pod (it stops working when the pod is deleted),
// and returns it with the time it should be refreshed.
func (p *provider) requestToken(ctx context.Context, pod *corev1.Pod, src *corev1.ServiceAccountTokenProjection) ([]byte, time.Time, error) {
	if p.cfg.Client == nil {
		return nil, time.Time{}, fmt.Errorf("no API client to request a service-account token")
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	exp := defaultTokenExpiration
	if src.ExpirationSeconds != nil {
		exp = *src.ExpirationSeconds
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: &exp,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if src.Audience != "" {
		req.Spec.Audiences = []string{src.Audience}
	}
	now := time.Now()
	tr, err := p.cfg.Client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("token for service account %s/%s: %w", pod.Namespace, sa, err)
	}
	// The server may shorten (or, for legacy clients, extend) the lifetime.
	life := tr.Status.ExpirationTimestamp.Sub(now)
	if life <= 0 {
		life = time.Duration(exp) * time.Second
	}
	return []byte(tr.Status.Token), now.Add(min(life*8/10, maxTokenRefresh)), nil
}

// downwardFiles renders the downward-API items the node can answer from
// the pod object: its metadata and service account. resourceFieldRef
// items are left out (no file rather than a wrong number).
func downwardFiles(pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile) map[string][]byte {
	out := map[string][]byte{}
	for _, it := range items {
		if it.FieldRef == nil {
			continue
		}
		var v string
		switch it.FieldRef.FieldPath {
		case "metadata.name":
			v = pod.Name
		case "metadata.namespace":
			v = pod.Namespace
		case "metadata.uid":
			v = string(pod.UID)
		case "metadata.labels":
			v = formatMap(pod.Labels)
		case "metadata.annotations":
			v = formatMap(pod.Annotations)
		case "spec.serviceAccountName":
			v = pod.Spec.ServiceAccountName
		case "spec.nodeName":
			v = pod.Spec.NodeName
		default:
			continue
		}
		out[it.Path] = []byte(v)
	}
	return out
}

// formatMap is the kubelet's rendering of labels and annotations:
// key="value" lines, sorted.
func formatMap(m map[string]string) string {
	var b strings.Builder
	for i, k := range sortedKeys(m) {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s=%q", k, m[k])
	}
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// refreshTokens rewrites the pod's projected volumes before their tokens
// expire, until the pod is deleted or the node stops. A failed request is
// retried after a minute; the old token stays in place meanwhile.
func (p *provider) refreshTokens(ctx context.Context, pod *corev1.Pod, at time.Time) {
	for !at.IsZero() {
		t := time.NewTimer(time.Until(at))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		rec, ok := p.record(pod.Namespace, pod.Name)
		if ok {
			p.mu.Lock()
			ok = rec.pod.UID == pod.UID && !rec.deleting
			p.mu.Unlock()
		}
		if !ok {
			return
		}
		next, err := p.writeProjected(ctx, pod)
		if err != nil {
			klog.Warningf("pod %s/%s: refreshing service-account tokens: %v", pod.Namespace, pod.Name, err)
			next = time.Now().Add(time.Minute)
		}
		at = next
	}
}

// writeProjected (re)writes all the pod's projected volumes and returns
// when their tokens must be refreshed next.
func (p *provider) writeProjected(ctx context.Context, pod *corev1.Pod) (time.Time, error) {
	var next time.Time
	for _, v := range pod.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		files, at, err := p.projectedFiles(ctx, pod, v.Projected)
		if err != nil {
			return time.Time{}, fmt.Errorf("volume %s: %w", v.Name, err)
		}
		if _, err := p.writeVolume(pod, v.Name, files, v.Projected.DefaultMode); err != nil {
			return time.Time{}, err
		}
		if !at.IsZero() && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	return next, nil
}
