package eks

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	eksauthapi "github.com/berth-dev/berth/api/eksauth"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/iam"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/sts"
	"github.com/berth-dev/berth/sts/oidc"
)

// The EKS Auth API (service eks-auth): AssumeRoleForPodIdentity, which the
// EKS Pod Identity Agent calls with a pod's projected service-account
// token to get the credentials of its service account's association.

// PodIdentityAudience is the audience of the tokens pods present.
const PodIdentityAudience = "pods.eks.amazonaws.com"

// podIdentityService is the principal an associated role must trust.
const podIdentityService = "pods.eks.amazonaws.com"

// podCredentialsDuration is how long Pod Identity credentials last, as
// EKS's (the agent refreshes them well before).
const podCredentialsDuration = 6 * time.Hour

// PodRoles issues role credentials; *sts.Service implements it.
type PodRoles interface {
	IssueRoleCredentials(ctx context.Context, account, role, sessionName string, d time.Duration) (sts.Credentials, error)
	TrustsService(ctx context.Context, account, role, service string) (bool, error)
}

var _ eksauthapi.Service = (*Service)(nil)

// k8sClaims are the Kubernetes claims of a bound service-account token.
type k8sClaims struct {
	K8s struct {
		Namespace string `json:"namespace"`
		Pod       struct {
			Name string `json:"name"`
			UID  string `json:"uid"`
		} `json:"pod"`
		ServiceAccount struct {
			Name string `json:"name"`
			UID  string `json:"uid"`
		} `json:"serviceaccount"`
	} `json:"kubernetes.io"`
}

// AssumeRoleForPodIdentity checks a pod's service-account token (signed by
// the cluster, audience pods.eks.amazonaws.com, current) and returns the
// credentials of the role associated with its service account.
func (s *Service) AssumeRoleForPodIdentity(ctx context.Context, in *eksauthapi.AssumeRoleForPodIdentityInput) (*eksauthapi.AssumeRoleForPodIdentityOutput, error) {
	account, region := where(ctx)
	cname := *in.ClusterName
	if s.roles == nil {
		return nil, eksauthapi.NewServiceUnavailableException("EKS Pod Identity has no credentials issuer in this Berth.")
	}
	tok, err := oidc.Parse(*in.Token)
	if err != nil {
		return nil, eksauthapi.NewInvalidTokenException("The service account token is not a valid JWT: %v", err)
	}
	var c clusterRec
	err = s.st.View(ctx, func(tx store.Tx) (err error) {
		c, err = cluster(tx, account, region, cname)
		return err
	})
	if err != nil {
		if e := awsapi.AsError(err); e != nil && e.Code == "ResourceNotFoundException" {
			return nil, eksauthapi.NewResourceNotFoundException("No cluster found for name: %s.", cname)
		}
		return nil, err
	}
	issuer := ""
	if id := c.Cluster.Identity; id != nil && id.Oidc != nil {
		issuer = deref(id.Oidc.Issuer)
	}
	if issuer == "" || tok.Issuer != issuer {
		return nil, eksauthapi.NewInvalidTokenException("The service account token was not issued by cluster %s.", cname)
	}
	if !slices.Contains(tok.Audience, PodIdentityAudience) {
		return nil, eksauthapi.NewInvalidTokenException("The service account token's audience is %v; EKS Pod Identity needs %s.", tok.Audience, PodIdentityAudience)
	}
	now := s.now()
	if now.After(tok.Expires.Add(time.Minute)) {
		return nil, eksauthapi.NewExpiredTokenException("The service account token expired at %s.", tok.Expires.Format(time.RFC3339))
	}
	if !tok.NotBefore.IsZero() && now.Add(time.Minute).Before(tok.NotBefore) {
		return nil, eksauthapi.NewInvalidTokenException("The service account token is not valid before %s.", tok.NotBefore.Format(time.RFC3339))
	}
	if err := s.podKeys.Verify(ctx, issuer, tok); err != nil {
		var fe *oidc.FetchError
		if errors.As(err, &fe) {
			s.log.Warn("eks pod identity: reading the cluster's service-account keys", "cluster", cname, "error", err)
			return nil, eksauthapi.NewInternalServerException("The keys of cluster %s could not be read.", cname)
		}
		return nil, eksauthapi.NewInvalidTokenException("The service account token's signature does not verify with cluster %s's keys.", cname)
	}
	ns, sa, ok := serviceAccountOf(tok.Subject)
	if !ok {
		return nil, eksauthapi.NewInvalidTokenException("The token's subject %q is not a service account.", tok.Subject)
	}
	claims := payloadClaims(*in.Token)

	var a eksauthapi.PodIdentityAssociation
	var role, target string
	err = s.st.View(ctx, func(tx store.Tx) error {
		assoc, found, err := associationFor(tx, account, region, cname, ns, sa)
		if err != nil {
			return err
		}
		if !found {
			return eksauthapi.NewResourceNotFoundException("No Pod Identity Association found for service account %s in namespace %s of cluster %s.", sa, ns, cname)
		}
		a = eksauthapi.PodIdentityAssociation{AssociationArn: assoc.AssociationArn, AssociationId: assoc.AssociationId}
		role, target = deref(assoc.RoleArn), deref(assoc.TargetRoleArn)
		return nil
	})
	if err != nil {
		return nil, err
	}
	session := podSessionName(cname, claims.K8s.Pod.Name)
	creds, err := s.podRoleCredentials(ctx, role, session, true)
	if err == nil && target != "" {
		// EKS assumes the target role with the association role's session
		// (cross-account access); the target trusts that role, not
		// pods.eks.amazonaws.com, and Berth's STS cannot evaluate that
		// trust for a service-made session, so it is not checked.
		creds, err = s.podRoleCredentials(ctx, target, session, false)
	}
	if err != nil {
		return nil, err
	}
	return &eksauthapi.AssumeRoleForPodIdentityOutput{
		Subject:                &eksauthapi.Subject{Namespace: &ns, ServiceAccount: &sa},
		Audience:               new(PodIdentityAudience),
		PodIdentityAssociation: &a,
		AssumedRoleUser:        &eksauthapi.AssumedRoleUser{Arn: &creds.AssumedRoleARN, AssumeRoleId: &creds.AssumedRoleID},
		Credentials: &eksauthapi.Credentials{
			AccessKeyId: &creds.AccessKeyID, SecretAccessKey: &creds.SecretAccessKey, SessionToken: &creds.SessionToken,
			Expiration: awsapi.Time(creds.Expiration),
		},
	}, nil
}

// podRoleCredentials issues credentials of role, which must trust EKS Pod
// Identity's service principal when checkTrust is set.
func (s *Service) podRoleCredentials(ctx context.Context, role, session string, checkTrust bool) (sts.Credentials, error) {
	acct, _, _, ok := iam.ParseRoleARN(role)
	if !ok {
		return sts.Credentials{}, eksauthapi.NewInvalidRequestException("The associated role %s is not a valid IAM role ARN.", role)
	}
	if checkTrust {
		trusted, err := s.roles.TrustsService(ctx, acct, role, podIdentityService)
		if errors.Is(err, iam.ErrNoSuchRole) {
			return sts.Credentials{}, eksauthapi.NewAccessDeniedException("The role %s does not exist.", role)
		}
		if err != nil {
			return sts.Credentials{}, err
		}
		if !trusted {
			return sts.Credentials{}, eksauthapi.NewAccessDeniedException("The trust policy of role %s does not let %s assume it (sts:AssumeRole).", role, podIdentityService)
		}
	}
	c, err := s.roles.IssueRoleCredentials(ctx, acct, role, session, podCredentialsDuration)
	if errors.Is(err, iam.ErrNoSuchRole) {
		return sts.Credentials{}, eksauthapi.NewAccessDeniedException("The role %s does not exist.", role)
	}
	return c, err
}

// serviceAccountOf reads "system:serviceaccount:<namespace>:<name>".
func serviceAccountOf(sub string) (string, string, bool) {
	rest, ok := strings.CutPrefix(sub, "system:serviceaccount:")
	if !ok {
		return "", "", false
	}
	ns, sa, ok := strings.Cut(rest, ":")
	return ns, sa, ok && ns != "" && sa != ""
}

// payloadClaims reads the Kubernetes claims of a token whose signature was
// checked; a token without them (not bound to a pod) has empty ones.
func payloadClaims(raw string) k8sClaims {
	var c k8sClaims
	parts := strings.Split(strings.TrimSpace(raw), ".")
	if len(parts) != 3 {
		return c
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err == nil {
		_ = json.Unmarshal(b, &c)
	}
	return c
}

var notSessionChar = regexp.MustCompile(`[^\w+=,.@-]`)

// podSessionName is EKS's role session name for a pod:
// eks-<cluster>-<pod>-<random>, at most 64 characters.
func podSessionName(cluster, pod string) string {
	if pod == "" {
		pod = "pod"
	}
	suffix := strings.ReplaceAll(newID(), "-", "")[:8]
	head := notSessionChar.ReplaceAllString(fmt.Sprintf("eks-%s-%s", cluster, pod), "-")
	if max := 64 - len(suffix) - 1; len(head) > max {
		head = head[:max]
	}
	return head + "-" + suffix
}
