package eks

import (
	"context"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/store"
)

// Kubernetes versions Berth accepts, and the one a cluster gets when
// CreateCluster names none: the version of the berth-k8s control plane
// (k8s/), so that DescribeCluster and `kubectl version` agree by default.
var (
	SupportedVersions = []string{"1.32", "1.33", "1.34", "1.35", "1.36", "1.37"}
	DefaultVersion    = "1.37"
)

// clusterRec is a cluster as the store keeps it.
type clusterRec struct {
	Cluster eksapi.Cluster `json:"cluster"`
	// Creator is the IAM principal that created the cluster, the one that
	// bootstrapClusterCreatorAdminPermissions makes admin.
	Creator string `json:"creator"`
}

var roleARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$`)

// newClusterName checks that a new cluster may take name in the region:
// none has it and the region is within its quota. A retry of the request
// that made the cluster (same ClientRequestToken) gets that cluster back.
func newClusterName(tx store.Tx, account, region, name string, token *string) (*eksapi.Cluster, error) {
	old, ok, err := getDoc[clusterRec](tx, kindCluster, account, region, name)
	if err != nil {
		return nil, err
	}
	if ok {
		if token != nil && deref(old.Cluster.ClientRequestToken) == *token {
			return &old.Cluster, nil // a retry of the same request
		}
		return nil, eksapi.NewResourceInUseException("Cluster already exists with name: %s", name)
	}
	n, err := tx.ListResources(kindCluster, account, region, "", store.Page{Limit: maxClustersPerRegion})
	if err != nil {
		return nil, err
	}
	if len(n) >= maxClustersPerRegion {
		return nil, eksapi.NewResourceLimitExceededException("Cluster limit exceeded for account %s in region %s: at most %d clusters.", account, region, maxClustersPerRegion)
	}
	return nil, nil
}

// CreateCluster records the cluster CREATING; the controller starts its
// control plane and makes it ACTIVE.
func (s *Service) CreateCluster(ctx context.Context, in *eksapi.CreateClusterInput) (*eksapi.CreateClusterOutput, error) {
	account, region := where(ctx)
	name := *in.Name
	version := DefaultVersion
	if in.Version != nil {
		version = *in.Version
		if !slices.Contains(SupportedVersions, version) {
			return nil, eksapi.NewInvalidParameterException("unsupported Kubernetes version %s. Supported versions: %s.", version, strings.Join(SupportedVersions, ", "))
		}
	}
	if !roleARNPattern.MatchString(*in.RoleArn) {
		return nil, eksapi.NewInvalidParameterException("The role with name %s cannot be found: roleArn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>).", *in.RoleArn)
	}
	vpc := in.ResourcesVpcConfig
	if len(vpc.SubnetIds) > 16 || len(vpc.SecurityGroupIds) > 5 {
		return nil, eksapi.NewInvalidParameterException("A cluster can have at most 16 subnets and 5 security groups.")
	}
	cidr := "10.100.0.0/16"
	if knc := in.KubernetesNetworkConfig; knc != nil && knc.ServiceIpv4Cidr != nil {
		cidr = *knc.ServiceIpv4Cidr
		p, err := netip.ParsePrefix(cidr)
		if err != nil || !p.Addr().Is4() || p.Bits() < 12 || p.Bits() > 24 {
			return nil, eksapi.NewInvalidParameterException("serviceIpv4Cidr %s is invalid: it must be an IPv4 CIDR block with a prefix between /12 and /24.", cidr)
		}
	}
	mode := eksapi.AuthenticationModeApiAndConfigMap
	bootstrap := true
	if ac := in.AccessConfig; ac != nil {
		if ac.AuthenticationMode != nil {
			mode = *ac.AuthenticationMode
		}
		if ac.BootstrapClusterCreatorAdminPermissions != nil {
			bootstrap = *ac.BootstrapClusterCreatorAdminPermissions
		}
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	caller, err := s.callerARN(ctx, identity(ctx))
	if err != nil {
		return nil, err
	}
	creator := principalOf(caller)
	id := newID()
	logging := in.Logging
	if logging == nil {
		logging = &eksapi.Logging{ClusterLogging: []eksapi.LogSetup{{Types: []eksapi.LogType{eksapi.LogTypeApi, eksapi.LogTypeAudit, eksapi.LogTypeAuthenticator, eksapi.LogTypeControllerManager, eksapi.LogTypeScheduler}, Enabled: new(false)}}}
	}
	public, private := true, false
	if vpc.EndpointPublicAccess != nil {
		public = *vpc.EndpointPublicAccess
	}
	if vpc.EndpointPrivateAccess != nil {
		private = *vpc.EndpointPrivateAccess
	}
	cidrs := vpc.PublicAccessCidrs
	if len(cidrs) == 0 {
		cidrs = []string{"0.0.0.0/0"}
	}
	c := eksapi.Cluster{
		Name:      &name,
		Arn:       new(clusterARN(account, region, name)),
		CreatedAt: s.ts(),
		Version:   &version,
		RoleArn:   in.RoleArn,
		ResourcesVpcConfig: &eksapi.VpcConfigResponse{
			SubnetIds: orEmpty(vpc.SubnetIds), SecurityGroupIds: orEmpty(vpc.SecurityGroupIds),
			ClusterSecurityGroupId: new("sg-" + strings.ReplaceAll(id, "-", "")[:17]),
			EndpointPublicAccess:   &public, EndpointPrivateAccess: &private, PublicAccessCidrs: cidrs,
		},
		KubernetesNetworkConfig: &eksapi.KubernetesNetworkConfigResponse{ServiceIpv4Cidr: &cidr, IpFamily: new(eksapi.IpFamilyIpv4)},
		Logging:                 logging,
		Identity:                &eksapi.Identity{Oidc: &eksapi.OIDC{Issuer: new(s.issuerURL(account, region, id))}},
		Status:                  new(eksapi.ClusterStatusCreating),
		CertificateAuthority:    &eksapi.Certificate{},
		ClientRequestToken:      in.ClientRequestToken,
		PlatformVersion:         new("eks.1"),
		Tags:                    orEmptyMap(in.Tags),
		EncryptionConfig:        in.EncryptionConfig,
		Id:                      &id,
		Health:                  &eksapi.ClusterHealth{Issues: []eksapi.ClusterIssue{}},
		AccessConfig:            &eksapi.AccessConfigResponse{BootstrapClusterCreatorAdminPermissions: &bootstrap, AuthenticationMode: &mode},
		UpgradePolicy:           &eksapi.UpgradePolicyResponse{SupportType: new(eksapi.SupportTypeExtended)},
		DeletionProtection:      new(deref(in.DeletionProtection)),
	}
	if in.UpgradePolicy != nil && in.UpgradePolicy.SupportType != nil {
		c.UpgradePolicy.SupportType = in.UpgradePolicy.SupportType
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		if old, err := newClusterName(tx, account, region, name, in.ClientRequestToken); err != nil || old != nil {
			if old != nil {
				c = *old
			}
			return err
		}
		if err := store.PutDoc(tx, kindCluster, account, region, name, clusterRec{Cluster: c, Creator: creator}, s.now()); err != nil {
			return err
		}
		if bootstrap && mode != eksapi.AuthenticationModeConfigMap {
			entry := s.newAccessEntry(account, region, name, creator, nil, nil, "STANDARD")
			entry.Policies = []eksapi.AssociatedAccessPolicy{{PolicyArn: new(policyARN("AmazonEKSClusterAdminPolicy")),
				AccessScope: &eksapi.AccessScope{Type: new(eksapi.AccessScopeTypeCluster), Namespaces: []string{}}, AssociatedAt: s.ts(), ModifiedAt: s.ts()}}
			if err := store.PutDoc(tx, kindAccess, account, region, name+"/"+creator, entry, s.now()); err != nil {
				return err
			}
		}
		return store.PutDoc(tx, kindIndex, "", "", indexKey(ClusterRef{account, region, name}), ClusterRef{account, region, name}, s.now())
	})
	if err != nil {
		return nil, err
	}
	s.kickController()
	return &eksapi.CreateClusterOutput{Cluster: &c}, nil
}

func indexKey(c ClusterRef) string { return c.Account + "/" + c.Region + "/" + c.Name }

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func orEmptyMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// cluster reads a cluster or fails with EKS's not-found error.
func cluster(tx store.Tx, account, region, name string) (clusterRec, error) {
	return mustGet[clusterRec](tx, kindCluster, account, region, name, eksapi.NewResourceNotFoundException("No cluster found for name: %s.", name))
}

// DescribeCluster returns a cluster.
func (s *Service) DescribeCluster(ctx context.Context, in *eksapi.DescribeClusterInput) (*eksapi.DescribeClusterOutput, error) {
	account, region := where(ctx)
	var c clusterRec
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		c, err = cluster(tx, account, region, *in.Name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.DescribeClusterOutput{Cluster: &c.Cluster}, nil
}

// ListClusters lists the names of the clusters of the region.
func (s *Service) ListClusters(ctx context.Context, in *eksapi.ListClustersInput) (*eksapi.ListClustersOutput, error) {
	account, region := where(ctx)
	p, err := page(in.MaxResults, in.NextToken, 100)
	if err != nil {
		return nil, err
	}
	out := &eksapi.ListClustersOutput{Clusters: []string{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		// Registered clusters are listed only with include=all, as in EKS.
		all := slices.Contains(in.Include, "all")
		cs, ids, err := store.AllDocs[clusterRec](tx, kindCluster, account, region, "", store.Page{After: p.After})
		if err != nil {
			return err
		}
		for i, c := range cs {
			if c.Cluster.ConnectorConfig != nil && !all {
				continue
			}
			if len(out.Clusters) == p.Limit-1 {
				out.NextToken = pageToken(ids[i-1])
				break
			}
			out.Clusters = append(out.Clusters, ids[i])
		}
		return nil
	})
	return out, err
}

// DeleteCluster marks a cluster DELETING; the controller deletes its
// control plane and then forgets it. A cluster with node groups or
// Fargate profiles cannot be deleted, as in EKS.
func (s *Service) DeleteCluster(ctx context.Context, in *eksapi.DeleteClusterInput) (*eksapi.DeleteClusterOutput, error) {
	account, region := where(ctx)
	name := *in.Name
	var c clusterRec
	err := s.st.Update(ctx, func(tx store.Tx) (err error) {
		c, err = cluster(tx, account, region, name)
		if err != nil {
			return err
		}
		if c.Cluster.ConnectorConfig != nil {
			return eksapi.NewInvalidRequestException("Cluster %s is a registered cluster: remove it with deregister-cluster.", name)
		}
		if deref(c.Cluster.DeletionProtection) {
			return eksapi.NewInvalidRequestException("Cluster %s has deletion protection enabled: turn it off with update-cluster-config --no-deletion-protection first.", name)
		}
		if *c.Cluster.Status == eksapi.ClusterStatusDeleting {
			return nil
		}
		ngs, err := tx.ListResources(kindNodegroup, account, region, name+"/", store.Page{Limit: 1})
		if err != nil {
			return err
		}
		if len(ngs) > 0 {
			return eksapi.NewResourceInUseException("Cluster has nodegroups attached")
		}
		fps, err := tx.ListResources(kindFargate, account, region, name+"/", store.Page{Limit: 1})
		if err != nil {
			return err
		}
		if len(fps) > 0 {
			return eksapi.NewResourceInUseException("Cluster has fargate profiles attached")
		}
		c.Cluster.Status = new(eksapi.ClusterStatusDeleting)
		return store.PutDoc(tx, kindCluster, account, region, name, c, s.now())
	})
	if err != nil {
		return nil, err
	}
	s.kickController()
	return &eksapi.DeleteClusterOutput{Cluster: &c.Cluster}, nil
}

// clusterTakingChildren reads a cluster that node groups and Fargate
// profiles can be added to: one ACTIVE or UPDATING.
func clusterTakingChildren(tx store.Tx, account, region, name string) (clusterRec, error) {
	c, err := cluster(tx, account, region, name)
	if err != nil {
		return c, err
	}
	if st := *c.Cluster.Status; st != eksapi.ClusterStatusActive && st != eksapi.ClusterStatusUpdating {
		return c, eksapi.NewInvalidRequestException("Cluster '%s' is not in ACTIVE status", name)
	}
	return c, nil
}

// activeCluster reads a cluster that must be ACTIVE for the change asked.
func activeCluster(tx store.Tx, account, region, name string) (clusterRec, error) {
	c, err := cluster(tx, account, region, name)
	if err != nil {
		return c, err
	}
	if st := *c.Cluster.Status; st == eksapi.ClusterStatusUpdating {
		return c, eksapi.NewResourceInUseException("Cluster '%s' has an update in progress; retry when it is ACTIVE.", name)
	} else if st != eksapi.ClusterStatusActive {
		return c, eksapi.NewInvalidRequestException("Cluster '%s' is not in ACTIVE status (it is %s).", name, st)
	}
	return c, nil
}
