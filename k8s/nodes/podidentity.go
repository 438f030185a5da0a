package nodes

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// EKS Pod Identity, as EKS's webhook gives it: a pod whose service account
// has a Pod Identity association gets the Pod Identity Agent's URI and a
// projected service-account token for it, which the AWS SDKs' container
// credential provider sends to the agent. As for IRSA (irsa.go), Berth's
// nodes add them as they start the pod, so the Pod object keeps the spec
// its author wrote. Which service accounts have an association the node
// asks Berth (Config.PodIdentityLookup), as EKS's webhook asks EKS.
const (
	podIdentityVolume     = "eks-pod-identity-token"
	podIdentityMountPath  = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount"
	podIdentityTokenFile  = podIdentityMountPath + "/eks-pod-identity-token"
	podIdentityAudience   = "pods.eks.amazonaws.com"
	podIdentityExpiration = int64(86400)

	envFullURI   = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	envTokenFile = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
)

var lookupClient = &http.Client{Timeout: 10 * time.Second}

// withPodIdentity returns pod with the Pod Identity token volume and
// environment when its service account has an association; the pod given
// is not changed.
func (p *provider) withPodIdentity(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	uri := p.podIdentityURI()
	if uri == "" || p.cfg.PodIdentityLookup == "" || hasVolume(pod, podIdentityVolume) {
		return pod, nil
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	ok, err := p.hasAssociation(ctx, pod.Namespace, sa)
	if err != nil || !ok {
		return pod, err
	}
	exp := podIdentityExpiration
	out := pod.DeepCopy()
	out.Spec.Volumes = append(out.Spec.Volumes, corev1.Volume{Name: podIdentityVolume, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
			Audience: podIdentityAudience, ExpirationSeconds: &exp, Path: "eks-pod-identity-token"}}},
	}}})
	env := map[string]string{envFullURI: uri, envTokenFile: podIdentityTokenFile}
	if p.cfg.Region != "" {
		env["AWS_REGION"] = p.cfg.Region
		env["AWS_DEFAULT_REGION"] = p.cfg.Region
	}
	for i := range out.Spec.Containers {
		c := &out.Spec.Containers[i]
		own := map[string]bool{}
		for _, e := range c.Env {
			own[e.Name] = true
		}
		// As the webhook: a container that names its own container
		// credentials keeps them, and whatever a container sets wins.
		if own[envFullURI] || own["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] || own[envTokenFile] {
			continue
		}
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: podIdentityVolume, MountPath: podIdentityMountPath, ReadOnly: true})
		for _, k := range sortedKeys(env) {
			if !own[k] {
				c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: env[k]})
				own[k] = true
			}
		}
	}
	return out, nil
}

// hasAssociation asks Berth whether the service account has a Pod
// Identity association.
func (p *provider) hasAssociation(ctx context.Context, namespace, sa string) (bool, error) {
	u := p.cfg.PodIdentityLookup + "/" + url.PathEscape(namespace) + "/" + url.PathEscape(sa)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	res, err := lookupClient.Do(req)
	if err != nil {
		return false, fmt.Errorf("asking Berth for the Pod Identity association of %s/%s: %w", namespace, sa, err)
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	switch res.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("asking Berth for the Pod Identity association of %s/%s: %s", namespace, sa, res.Status)
}

// podIdentityURI is the agent's URI as pods get it now; empty turns Pod
// Identity off, as does a file that cannot be read.
func (p *provider) podIdentityURI() string {
	if p.cfg.PodIdentityURIFile == "" {
		return p.cfg.PodIdentityURI
	}
	data, err := os.ReadFile(p.cfg.PodIdentityURIFile)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}
