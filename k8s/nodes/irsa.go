package nodes

import (
	"context"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// IAM roles for service accounts, as amazon-eks-pod-identity-webhook gives
// them on EKS: a pod whose ServiceAccount is annotated with a role ARN gets
// a projected service-account token for STS and the environment the AWS
// SDKs' web identity provider reads. EKS does it in a mutating admission
// webhook; Berth's nodes do it as they start the pod, so the Pod object in
// the API keeps the spec its author wrote (kubectl get pod -o yaml does not
// show the additions) while the containers get exactly what EKS's would.
const (
	annotationRoleARN    = "eks.amazonaws.com/role-arn"
	annotationAudience   = "eks.amazonaws.com/audience"
	annotationExpiration = "eks.amazonaws.com/token-expiration"
	annotationRegional   = "eks.amazonaws.com/sts-regional-endpoints"

	irsaVolume     = "aws-iam-token"
	irsaMountPath  = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
	irsaTokenFile  = irsaMountPath + "/token"
	irsaAudience   = "sts.amazonaws.com"
	irsaExpiration = int64(86400)
	// The webhook clamps the annotation to what the kubelet accepts.
	minTokenExpiration = int64(600)
)

// withAWS returns the pod as its containers are started: with Berth's
// AWS endpoint for every pod (as ECS gives task containers
// AWS_ENDPOINT_URL), and with the IRSA token volume and environment when
// its service account names a role. The pod given is not changed.
func (p *provider) withAWS(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	env := map[string]string{}
	if p.cfg.AWSEndpoint != "" {
		// aws-sdk-go-v2 builds the web identity provider's STS client
		// before it reads AWS_ENDPOINT_URL, so STS needs its own.
		env["AWS_ENDPOINT_URL"] = p.cfg.AWSEndpoint
		env["AWS_ENDPOINT_URL_STS"] = p.cfg.AWSEndpoint
	}
	var vol *corev1.Volume
	sa, err := p.serviceAccount(ctx, pod)
	if err != nil {
		return nil, err
	}
	if role := sa.Annotations[annotationRoleARN]; role != "" && !hasVolume(pod, irsaVolume) {
		audience := irsaAudience
		if a := sa.Annotations[annotationAudience]; a != "" {
			audience = a
		}
		exp := irsaExpiration
		if v, err := strconv.ParseInt(sa.Annotations[annotationExpiration], 10, 64); err == nil {
			exp = min(max(v, minTokenExpiration), irsaExpiration)
		}
		env["AWS_ROLE_ARN"] = role
		env["AWS_WEB_IDENTITY_TOKEN_FILE"] = irsaTokenFile
		// The webhook's default; "legacy" would send STS calls to the global
		// endpoint, which AWS_ENDPOINT_URL_STS overrides here anyway.
		env["AWS_STS_REGIONAL_ENDPOINTS"] = "regional"
		if sa.Annotations[annotationRegional] == "false" {
			env["AWS_STS_REGIONAL_ENDPOINTS"] = "legacy"
		}
		if p.cfg.Region != "" {
			env["AWS_REGION"] = p.cfg.Region
			env["AWS_DEFAULT_REGION"] = p.cfg.Region
		}
		vol = &corev1.Volume{Name: irsaVolume, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
				Audience: audience, ExpirationSeconds: &exp, Path: "token"}}},
		}}}
	}
	if len(env) == 0 {
		return pod, nil
	}
	out := pod.DeepCopy()
	if vol != nil {
		out.Spec.Volumes = append(out.Spec.Volumes, *vol)
	}
	for i := range out.Spec.Containers {
		c := &out.Spec.Containers[i]
		// As the webhook: a container that sets its own role or token
		// file keeps them, and whatever a container sets wins.
		own := map[string]bool{}
		for _, e := range c.Env {
			own[e.Name] = true
		}
		if vol != nil && (own["AWS_ROLE_ARN"] || own["AWS_WEB_IDENTITY_TOKEN_FILE"]) {
			own["AWS_ROLE_ARN"], own["AWS_WEB_IDENTITY_TOKEN_FILE"] = true, true
		} else if vol != nil {
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: irsaVolume, MountPath: irsaMountPath, ReadOnly: true})
		}
		for _, k := range sortedKeys(env) {
			if !own[k] {
				c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: env[k]})
			}
		}
	}
	return out, nil
}

// serviceAccount is the pod's ServiceAccount; a missing one (the pod
// was admitted before it was deleted) has no annotations.
func (p *provider) serviceAccount(ctx context.Context, pod *corev1.Pod) (*corev1.ServiceAccount, error) {
	name := pod.Spec.ServiceAccountName
	if name == "" {
		name = "default"
	}
	if p.cfg.Client == nil {
		return &corev1.ServiceAccount{}, nil
	}
	sa, err := p.cfg.Client.CoreV1().ServiceAccounts(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return &corev1.ServiceAccount{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("service account %s/%s: %w", pod.Namespace, name, err)
	}
	return sa, nil
}

func hasVolume(pod *corev1.Pod, name string) bool {
	for _, v := range pod.Spec.Volumes {
		if v.Name == name {
			return true
		}
	}
	return false
}
