package eks

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/store"
)

// EKS Pod Identity associations: a cluster's (namespace, service account)
// pair names an IAM role; pods of that service account get the role's
// credentials from the Pod Identity Agent (podidentity_agent.go), which
// exchanges their projected service-account token with
// AssumeRoleForPodIdentity (podidentity_auth.go).

const kindPodIdentity = "eks.podidentity"

// maxAssociationsPerCluster is EKS's quota.
const maxAssociationsPerCluster = 5000

// podIdentityRec is an association as the store keeps it under
// "<cluster>/<association id>".
type podIdentityRec struct {
	Association eksapi.PodIdentityAssociation `json:"association"`
	// Token is the clientRequestToken of the create, so that a retry of
	// it returns the association instead of failing as a duplicate.
	Token string `json:"token,omitempty"`
}

var (
	// Kubernetes names: a namespace is a DNS label, a service account a
	// DNS subdomain.
	dnsLabel     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// associationID is EKS's form: "a-" and 17 lower-case letters and digits.
func associationID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 17)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "a-" + string(b)
}

func associationARN(account, region, cluster, id string) string {
	return fmt.Sprintf("arn:aws:eks:%s:%s:podidentityassociation/%s/%s", region, account, cluster, id)
}

// checkAssociationRoles validates the roles and session policy an
// association may carry.
func checkAssociationRoles(role, target, policy *string) error {
	if role != nil && !roleARNPattern.MatchString(*role) {
		return eksapi.NewInvalidParameterException("The roleArn %s is not a valid IAM role ARN.", *role)
	}
	if target != nil && *target != "" && !roleARNPattern.MatchString(*target) {
		return eksapi.NewInvalidParameterException("The targetRoleArn %s is not a valid IAM role ARN.", *target)
	}
	if target != nil && *target != "" && role != nil && *target == *role {
		return eksapi.NewInvalidParameterException("The targetRoleArn must be a different role than the roleArn.")
	}
	if policy != nil && *policy != "" {
		if len(*policy) > 2048 {
			return eksapi.NewInvalidParameterException("The policy is %d characters long; at most 2048 are allowed.", len(*policy))
		}
		var doc map[string]any
		if json.Unmarshal([]byte(*policy), &doc) != nil {
			return eksapi.NewInvalidParameterException("The policy is not a valid JSON IAM policy document.")
		}
	}
	return nil
}

// CreatePodIdentityAssociation associates a namespace's service account
// with an IAM role.
func (s *Service) CreatePodIdentityAssociation(ctx context.Context, in *eksapi.CreatePodIdentityAssociationInput) (*eksapi.CreatePodIdentityAssociationOutput, error) {
	account, region := where(ctx)
	cname, ns, sa := *in.ClusterName, *in.Namespace, *in.ServiceAccount
	if len(ns) > 63 || !dnsLabel.MatchString(ns) {
		return nil, eksapi.NewInvalidParameterException("The namespace %q is not a valid Kubernetes namespace name (a DNS-1123 label).", ns)
	}
	if len(sa) > 253 || !dnsSubdomain.MatchString(sa) {
		return nil, eksapi.NewInvalidParameterException("The serviceAccount %q is not a valid Kubernetes service account name (a DNS-1123 subdomain).", sa)
	}
	if err := checkAssociationRoles(in.RoleArn, in.TargetRoleArn, in.Policy); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	var a eksapi.PodIdentityAssociation
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := clusterTakingChildren(tx, account, region, cname); err != nil {
			return err
		}
		all, _, err := store.AllDocs[podIdentityRec](tx, kindPodIdentity, account, region, cname+"/", store.Page{})
		if err != nil {
			return err
		}
		for _, old := range all {
			if deref(old.Association.Namespace) != ns || deref(old.Association.ServiceAccount) != sa {
				continue
			}
			if in.ClientRequestToken != nil && old.Token == *in.ClientRequestToken {
				a = old.Association
				return nil
			}
			return eksapi.NewResourceInUseException("Association already exists: %s", deref(old.Association.AssociationId))
		}
		if len(all) >= maxAssociationsPerCluster {
			return eksapi.NewResourceLimitExceededException("Pod Identity association limit exceeded for cluster %s: at most %d associations.", cname, maxAssociationsPerCluster)
		}
		id := associationID()
		a = eksapi.PodIdentityAssociation{
			ClusterName: &cname, Namespace: &ns, ServiceAccount: &sa, RoleArn: in.RoleArn,
			AssociationArn: new(associationARN(account, region, cname, id)), AssociationId: &id,
			Tags: orEmptyMap(in.Tags), CreatedAt: s.ts(), ModifiedAt: s.ts(),
			DisableSessionTags: new(deref(in.DisableSessionTags)), Policy: nonEmpty(in.Policy),
		}
		if t := deref(in.TargetRoleArn); t != "" {
			a.TargetRoleArn, a.ExternalId = &t, new(newID())
		}
		return store.PutDoc(tx, kindPodIdentity, account, region, cname+"/"+id, podIdentityRec{Association: a, Token: deref(in.ClientRequestToken)}, s.now())
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.CreatePodIdentityAssociationOutput{Association: &a}, nil
}

func nonEmpty(p *string) *string {
	if p == nil || *p == "" {
		return nil
	}
	return p
}

func podIdentity(tx store.Tx, account, region, cname, id string) (podIdentityRec, error) {
	if _, err := cluster(tx, account, region, cname); err != nil {
		return podIdentityRec{}, err
	}
	return mustGet[podIdentityRec](tx, kindPodIdentity, account, region, cname+"/"+id,
		eksapi.NewResourceNotFoundException("No Pod Identity Association found with id %s in cluster %s.", id, cname))
}

// DescribePodIdentityAssociation returns an association.
func (s *Service) DescribePodIdentityAssociation(ctx context.Context, in *eksapi.DescribePodIdentityAssociationInput) (*eksapi.DescribePodIdentityAssociationOutput, error) {
	account, region := where(ctx)
	var rec podIdentityRec
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		rec, err = podIdentity(tx, account, region, *in.ClusterName, *in.AssociationId)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.DescribePodIdentityAssociationOutput{Association: &rec.Association}, nil
}

// ListPodIdentityAssociations lists a cluster's associations, optionally
// those of one namespace and/or service account.
func (s *Service) ListPodIdentityAssociations(ctx context.Context, in *eksapi.ListPodIdentityAssociationsInput) (*eksapi.ListPodIdentityAssociationsOutput, error) {
	account, region := where(ctx)
	cname := *in.ClusterName
	after, limit, err := pageArgs(in.MaxResults, in.NextToken, 100)
	if err != nil {
		return nil, err
	}
	out := &eksapi.ListPodIdentityAssociationsOutput{Associations: []eksapi.PodIdentityAssociationSummary{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		if _, err := cluster(tx, account, region, cname); err != nil {
			return err
		}
		var from string
		if after != "" {
			from = cname + "/" + after
		}
		// Filters apply before paging, so the whole cluster is read; it
		// holds at most maxAssociationsPerCluster.
		recs, ids, err := store.AllDocs[podIdentityRec](tx, kindPodIdentity, account, region, cname+"/", store.Page{After: from})
		if err != nil {
			return err
		}
		last := ""
		for i, r := range recs {
			a := r.Association
			if in.Namespace != nil && *in.Namespace != deref(a.Namespace) || in.ServiceAccount != nil && *in.ServiceAccount != deref(a.ServiceAccount) {
				continue
			}
			if len(out.Associations) == limit {
				out.NextToken = pageToken(last)
				break
			}
			last = strings.TrimPrefix(ids[i], cname+"/")
			out.Associations = append(out.Associations, eksapi.PodIdentityAssociationSummary{
				ClusterName: a.ClusterName, Namespace: a.Namespace, ServiceAccount: a.ServiceAccount,
				AssociationArn: a.AssociationArn, AssociationId: a.AssociationId, OwnerArn: a.OwnerArn,
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdatePodIdentityAssociation changes an association's role, target
// role, session tags or session policy.
func (s *Service) UpdatePodIdentityAssociation(ctx context.Context, in *eksapi.UpdatePodIdentityAssociationInput) (*eksapi.UpdatePodIdentityAssociationOutput, error) {
	account, region := where(ctx)
	cname, id := *in.ClusterName, *in.AssociationId
	if err := checkAssociationRoles(in.RoleArn, in.TargetRoleArn, in.Policy); err != nil {
		return nil, err
	}
	var a eksapi.PodIdentityAssociation
	err := s.st.Update(ctx, func(tx store.Tx) error {
		rec, err := podIdentity(tx, account, region, cname, id)
		if err != nil {
			return err
		}
		a = rec.Association
		if in.RoleArn != nil {
			a.RoleArn = in.RoleArn
		}
		if in.TargetRoleArn != nil {
			// An empty targetRoleArn removes the target role.
			if *in.TargetRoleArn == "" {
				a.TargetRoleArn, a.ExternalId = nil, nil
			} else if deref(a.TargetRoleArn) != *in.TargetRoleArn {
				a.TargetRoleArn, a.ExternalId = in.TargetRoleArn, new(newID())
			}
		}
		if a.TargetRoleArn != nil && *a.TargetRoleArn == deref(a.RoleArn) {
			return eksapi.NewInvalidParameterException("The targetRoleArn must be a different role than the roleArn.")
		}
		if in.DisableSessionTags != nil {
			a.DisableSessionTags = in.DisableSessionTags
		}
		if in.Policy != nil {
			a.Policy = nonEmpty(in.Policy)
		}
		a.ModifiedAt = s.ts()
		rec.Association = a
		return store.PutDoc(tx, kindPodIdentity, account, region, cname+"/"+id, rec, s.now())
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.UpdatePodIdentityAssociationOutput{Association: &a}, nil
}

// DeletePodIdentityAssociation removes an association; pods already
// running keep their environment but get no more credentials.
func (s *Service) DeletePodIdentityAssociation(ctx context.Context, in *eksapi.DeletePodIdentityAssociationInput) (*eksapi.DeletePodIdentityAssociationOutput, error) {
	account, region := where(ctx)
	cname, id := *in.ClusterName, *in.AssociationId
	var a eksapi.PodIdentityAssociation
	err := s.st.Update(ctx, func(tx store.Tx) error {
		rec, err := podIdentity(tx, account, region, cname, id)
		if err != nil {
			return err
		}
		if rec.Association.OwnerArn != nil {
			return eksapi.NewInvalidRequestException("The association %s is owned by %s; it is deleted with its owner.", id, *rec.Association.OwnerArn)
		}
		a = rec.Association
		return store.DeleteDoc(tx, kindPodIdentity, account, region, cname+"/"+id)
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.DeletePodIdentityAssociationOutput{Association: &a}, nil
}

// associationFor is the association of a service account, if any.
func associationFor(tx store.Tx, account, region, cname, ns, sa string) (eksapi.PodIdentityAssociation, bool, error) {
	recs, _, err := store.AllDocs[podIdentityRec](tx, kindPodIdentity, account, region, cname+"/", store.Page{})
	if err != nil {
		return eksapi.PodIdentityAssociation{}, false, err
	}
	for _, r := range recs {
		if deref(r.Association.Namespace) == ns && deref(r.Association.ServiceAccount) == sa {
			return r.Association, true, nil
		}
	}
	return eksapi.PodIdentityAssociation{}, false, nil
}
