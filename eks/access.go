package eks

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/store"
)

// accessRec is an access entry with its associated access policies, as
// the store keeps it under "<cluster>/<principal ARN>".
type accessRec struct {
	Entry    eksapi.AccessEntry              `json:"entry"`
	Policies []eksapi.AssociatedAccessPolicy `json:"policies"`
}

// AccessPolicies are the access policies EKS offers, by name.
var AccessPolicies = []string{
	"AmazonEKSAdminPolicy", "AmazonEKSAdminViewPolicy", "AmazonEKSClusterAdminPolicy", "AmazonEKSEditPolicy", "AmazonEKSViewPolicy",
}

// AccessPolicyGroups maps access policies to the Kubernetes groups the
// token reviewer reports for principals they are associated with at
// cluster scope, so that a control plane authorizes them with RBAC
// bindings of those groups (system:masters is bound to cluster-admin by
// Kubernetes itself). Namespace-scoped associations are reported in the
// user's extra (see ReviewToken).
var AccessPolicyGroups = map[string]string{
	"AmazonEKSClusterAdminPolicy": "system:masters",
	"AmazonEKSAdminPolicy":        "eks:admin",
	"AmazonEKSEditPolicy":         "eks:edit",
	"AmazonEKSViewPolicy":         "eks:view",
	"AmazonEKSAdminViewPolicy":    "eks:admin-view",
}

func policyARN(name string) string { return "arn:aws:eks::aws:cluster-access-policy/" + name }

// policyName is the name of a known access policy ARN, or "".
func policyName(arn string) string {
	name, ok := strings.CutPrefix(arn, "arn:aws:eks::aws:cluster-access-policy/")
	if ok && slices.Contains(AccessPolicies, name) {
		return name
	}
	return ""
}

var (
	principalPattern   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::([0-9]{12}):(role|user)/(?:.*/)?([^/]+)$|^arn:aws[a-z-]*:iam::([0-9]{12}):(root)$`)
	assumedRolePattern = regexp.MustCompile(`^arn:(aws[a-z-]*):sts::([0-9]{12}):assumed-role/([^/]+)/(.+)$`)
)

// principalOf is the IAM principal of a caller ARN: the role of an
// assumed-role session, the caller itself otherwise, as EKS matches
// access entries.
func principalOf(caller string) string {
	if m := assumedRolePattern.FindStringSubmatch(caller); m != nil {
		return "arn:" + m[1] + ":iam::" + m[2] + ":role/" + m[3]
	}
	return caller
}

func (s *Service) newAccessEntry(account, region, cname, principal string, groups []string, username *string, typ string) accessRec {
	kind, pacct, pname := "user", account, ""
	if m := principalPattern.FindStringSubmatch(principal); m != nil {
		if m[1] != "" {
			pacct, kind, pname = m[1], m[2], m[3]
		} else {
			pacct, kind = m[4], m[5]
		}
	}
	user := principal
	if kind == "role" {
		user = "arn:aws:sts::" + pacct + ":assumed-role/" + pname + "/{{SessionName}}"
	}
	if typ != "STANDARD" {
		user = "system:node:{{EC2PrivateDNSName}}"
		groups = []string{"system:nodes"}
		switch typ {
		case "HYBRID_LINUX":
			// Hybrid nodes authenticate with their role session named
			// after the node, as EKS's hybrid nodes guide documents.
			user = "system:node:{{SessionName}}"
		case "FARGATE_LINUX":
			user = "system:node:{{SessionName}}"
			groups = []string{"system:bootstrappers", "system:nodes", "system:node-proxier"}
		}
	}
	if username != nil {
		user = *username
	}
	return accessRec{Entry: eksapi.AccessEntry{
		ClusterName: &cname, PrincipalArn: &principal, KubernetesGroups: orEmpty(groups),
		AccessEntryArn: new(fmt.Sprintf("arn:aws:eks:%s:%s:access-entry/%s/%s/%s/%s/%s", region, account, cname, kind, pacct, pname, newID())),
		CreatedAt:      s.ts(), ModifiedAt: s.ts(), Tags: map[string]string{}, Username: &user, Type: &typ,
	}, Policies: []eksapi.AssociatedAccessPolicy{}}
}

// apiCluster reads a cluster whose authentication mode allows access
// entries.
func apiCluster(tx store.Tx, account, region, name string) (clusterRec, error) {
	c, err := cluster(tx, account, region, name)
	if err != nil {
		return c, err
	}
	if *c.Cluster.AccessConfig.AuthenticationMode == eksapi.AuthenticationModeConfigMap {
		return c, eksapi.NewInvalidRequestException("The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.")
	}
	return c, nil
}

func accessEntry(tx store.Tx, account, region, cname, principal string) (accessRec, error) {
	if _, err := apiCluster(tx, account, region, cname); err != nil {
		return accessRec{}, err
	}
	return mustGet[accessRec](tx, kindAccess, account, region, cname+"/"+principal,
		eksapi.NewResourceNotFoundException("The specified access entry resource is not found: no access entry for %s in cluster %s.", principal, cname))
}

// CreateAccessEntry gives an IAM principal access to a cluster.
func (s *Service) CreateAccessEntry(ctx context.Context, in *eksapi.CreateAccessEntryInput) (*eksapi.CreateAccessEntryOutput, error) {
	account, region := where(ctx)
	cname, principal := *in.ClusterName, *in.PrincipalArn
	if !principalPattern.MatchString(principal) {
		return nil, eksapi.NewInvalidParameterException("The principalArn %s is invalid: it must be the ARN of an IAM role or user.", principal)
	}
	typ := "STANDARD"
	if in.Type != nil {
		typ = *in.Type
	}
	switch typ {
	case "STANDARD":
		for _, g := range in.KubernetesGroups {
			if strings.HasPrefix(g, "system:") {
				return nil, eksapi.NewInvalidParameterException("The kubernetes group name %s is invalid, it cannot start with system:", g)
			}
		}
		if err := checkAccessUsername(in.Username); err != nil {
			return nil, err
		}
	case "EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "HYBRID_LINUX":
		if len(in.KubernetesGroups) > 0 || in.Username != nil {
			return nil, eksapi.NewInvalidParameterException("Kubernetes groups and username can't be set for access entries of type %s.", typ)
		}
	default:
		return nil, eksapi.NewInvalidParameterException("The type %s is invalid: use STANDARD, EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX or HYBRID_LINUX.", typ)
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	var e accessRec
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := apiCluster(tx, account, region, cname); err != nil {
			return err
		}
		if _, ok, err := getDoc[accessRec](tx, kindAccess, account, region, cname+"/"+principal); err != nil {
			return err
		} else if ok {
			return eksapi.NewResourceInUseException("The specified access entry resource is already in use on this cluster.")
		}
		e = s.newAccessEntry(account, region, cname, principal, in.KubernetesGroups, in.Username, typ)
		e.Entry.Tags = orEmptyMap(in.Tags)
		return store.PutDoc(tx, kindAccess, account, region, cname+"/"+principal, e, s.now())
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.CreateAccessEntryOutput{AccessEntry: &e.Entry}, nil
}

// DescribeAccessEntry returns an access entry.
func (s *Service) DescribeAccessEntry(ctx context.Context, in *eksapi.DescribeAccessEntryInput) (*eksapi.DescribeAccessEntryOutput, error) {
	account, region := where(ctx)
	var e accessRec
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		e, err = accessEntry(tx, account, region, *in.ClusterName, *in.PrincipalArn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.DescribeAccessEntryOutput{AccessEntry: &e.Entry}, nil
}

// UpdateAccessEntry changes an entry's groups and username.
func (s *Service) UpdateAccessEntry(ctx context.Context, in *eksapi.UpdateAccessEntryInput) (*eksapi.UpdateAccessEntryOutput, error) {
	account, region := where(ctx)
	cname, principal := *in.ClusterName, *in.PrincipalArn
	for _, g := range in.KubernetesGroups {
		if strings.HasPrefix(g, "system:") {
			return nil, eksapi.NewInvalidParameterException("The kubernetes group name %s is invalid, it cannot start with system:", g)
		}
	}
	if err := checkAccessUsername(in.Username); err != nil {
		return nil, err
	}
	var e accessRec
	err := s.st.Update(ctx, func(tx store.Tx) (err error) {
		e, err = accessEntry(tx, account, region, cname, principal)
		if err != nil {
			return err
		}
		// EKS manages the username and groups of node entries itself.
		if typ := deref(e.Entry.Type); typ != "" && typ != "STANDARD" && (len(in.KubernetesGroups) > 0 || in.Username != nil) {
			return eksapi.NewInvalidParameterException("Kubernetes groups and username can't be set for access entries of type %s.", typ)
		}
		if in.KubernetesGroups != nil {
			e.Entry.KubernetesGroups = in.KubernetesGroups
		}
		if in.Username != nil {
			e.Entry.Username = in.Username
		}
		e.Entry.ModifiedAt = s.ts()
		return store.PutDoc(tx, kindAccess, account, region, cname+"/"+principal, e, s.now())
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.UpdateAccessEntryOutput{AccessEntry: &e.Entry}, nil
}

// ListAccessEntries lists the principal ARNs with access to a cluster,
// optionally only those associated with a policy.
func (s *Service) ListAccessEntries(ctx context.Context, in *eksapi.ListAccessEntriesInput) (*eksapi.ListAccessEntriesOutput, error) {
	account, region := where(ctx)
	cname := *in.ClusterName
	after, limit, err := pageArgs(in.MaxResults, in.NextToken, 100)
	if err != nil {
		return nil, err
	}
	out := &eksapi.ListAccessEntriesOutput{AccessEntries: []string{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		if _, err := apiCluster(tx, account, region, cname); err != nil {
			return err
		}
		p := store.Page{}
		if after != "" {
			p.After = cname + "/" + after
		}
		es, _, err := store.AllDocs[accessRec](tx, kindAccess, account, region, cname+"/", p)
		if err != nil {
			return err
		}
		for _, e := range es {
			if in.AssociatedPolicyArn != nil && !slices.ContainsFunc(e.Policies, func(p eksapi.AssociatedAccessPolicy) bool { return *p.PolicyArn == *in.AssociatedPolicyArn }) {
				continue
			}
			if len(out.AccessEntries) == limit {
				out.NextToken = pageToken(out.AccessEntries[limit-1])
				break
			}
			out.AccessEntries = append(out.AccessEntries, *e.Entry.PrincipalArn)
		}
		return nil
	})
	return out, err
}

// DeleteAccessEntry removes a principal's access with its policies.
func (s *Service) DeleteAccessEntry(ctx context.Context, in *eksapi.DeleteAccessEntryInput) (*eksapi.DeleteAccessEntryOutput, error) {
	account, region := where(ctx)
	cname, principal := *in.ClusterName, *in.PrincipalArn
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := accessEntry(tx, account, region, cname, principal); err != nil {
			return err
		}
		return store.DeleteDoc(tx, kindAccess, account, region, cname+"/"+principal)
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.DeleteAccessEntryOutput{}, nil
}

// AssociateAccessPolicy associates an access policy with an entry, or
// changes the scope of an associated one.
func (s *Service) AssociateAccessPolicy(ctx context.Context, in *eksapi.AssociateAccessPolicyInput) (*eksapi.AssociateAccessPolicyOutput, error) {
	account, region := where(ctx)
	cname, principal, parn := *in.ClusterName, *in.PrincipalArn, *in.PolicyArn
	if policyName(parn) == "" {
		return nil, eksapi.NewInvalidParameterException("The policyArn %s is not a valid access policy; list them with list-access-policies.", parn)
	}
	scope := *in.AccessScope
	switch deref(scope.Type) {
	case eksapi.AccessScopeTypeCluster:
		if len(scope.Namespaces) > 0 {
			return nil, eksapi.NewInvalidParameterException("Namespaces can't be specified for an access scope of type cluster.")
		}
	case eksapi.AccessScopeTypeNamespace:
		if len(scope.Namespaces) == 0 {
			return nil, eksapi.NewInvalidParameterException("At least one namespace must be specified for an access scope of type namespace.")
		}
	default:
		return nil, eksapi.NewInvalidParameterException("The access scope type must be cluster or namespace.")
	}
	scope.Namespaces = orEmpty(scope.Namespaces)
	var assoc eksapi.AssociatedAccessPolicy
	err := s.st.Update(ctx, func(tx store.Tx) error {
		e, err := accessEntry(tx, account, region, cname, principal)
		if err != nil {
			return err
		}
		if t := deref(e.Entry.Type); t != "STANDARD" {
			return eksapi.NewInvalidRequestException("Access policies can only be associated with access entries of type STANDARD, not %s.", t)
		}
		i := slices.IndexFunc(e.Policies, func(p eksapi.AssociatedAccessPolicy) bool { return *p.PolicyArn == parn })
		if i < 0 {
			e.Policies = append(e.Policies, eksapi.AssociatedAccessPolicy{PolicyArn: &parn, AssociatedAt: s.ts()})
			i = len(e.Policies) - 1
		}
		e.Policies[i].AccessScope = &scope
		e.Policies[i].ModifiedAt = s.ts()
		assoc = e.Policies[i]
		return store.PutDoc(tx, kindAccess, account, region, cname+"/"+principal, e, s.now())
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.AssociateAccessPolicyOutput{ClusterName: &cname, PrincipalArn: &principal, AssociatedAccessPolicy: &assoc}, nil
}

// DisassociateAccessPolicy removes an access policy from an entry.
func (s *Service) DisassociateAccessPolicy(ctx context.Context, in *eksapi.DisassociateAccessPolicyInput) (*eksapi.DisassociateAccessPolicyOutput, error) {
	account, region := where(ctx)
	cname, principal, parn := *in.ClusterName, *in.PrincipalArn, *in.PolicyArn
	err := s.st.Update(ctx, func(tx store.Tx) error {
		e, err := accessEntry(tx, account, region, cname, principal)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(e.Policies, func(p eksapi.AssociatedAccessPolicy) bool { return *p.PolicyArn == parn })
		if i < 0 {
			return eksapi.NewResourceNotFoundException("The access policy %s is not associated with the access entry of %s.", parn, principal)
		}
		e.Policies = slices.Delete(e.Policies, i, i+1)
		return store.PutDoc(tx, kindAccess, account, region, cname+"/"+principal, e, s.now())
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.DisassociateAccessPolicyOutput{}, nil
}

// ListAssociatedAccessPolicies lists the policies of an access entry.
func (s *Service) ListAssociatedAccessPolicies(ctx context.Context, in *eksapi.ListAssociatedAccessPoliciesInput) (*eksapi.ListAssociatedAccessPoliciesOutput, error) {
	account, region := where(ctx)
	cname, principal := *in.ClusterName, *in.PrincipalArn
	var e accessRec
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		e, err = accessEntry(tx, account, region, cname, principal)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.ListAssociatedAccessPoliciesOutput{ClusterName: &cname, PrincipalArn: &principal, AssociatedAccessPolicies: e.Policies}, nil
}

// ListAccessPolicies lists the access policies EKS offers.
func (s *Service) ListAccessPolicies(ctx context.Context, in *eksapi.ListAccessPoliciesInput) (*eksapi.ListAccessPoliciesOutput, error) {
	out := &eksapi.ListAccessPoliciesOutput{AccessPolicies: []eksapi.AccessPolicy{}}
	for _, name := range AccessPolicies {
		out.AccessPolicies = append(out.AccessPolicies, eksapi.AccessPolicy{Name: new(name), Arn: new(policyARN(name))})
	}
	return out, nil
}

// reservedUsernamePrefixes are the prefixes EKS refuses in an access
// entry's custom username (they belong to Kubernetes, EKS and AWS).
var reservedUsernamePrefixes = []string{"system:", "eks:", "aws:", "amazon:", "iam:"}

func checkAccessUsername(u *string) error {
	if u == nil {
		return nil
	}
	for _, p := range reservedUsernamePrefixes {
		if strings.HasPrefix(*u, p) {
			return eksapi.NewInvalidParameterException("The username %s is invalid, it cannot start with %s", *u, p)
		}
	}
	return nil
}
