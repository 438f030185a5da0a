package eks

import (
	"context"
	"errors"
	"fmt"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/store"
)

// kindCapability holds EKS capabilities (managed Argo CD, ACK, kro) under
// "<cluster>/<name>". EKS runs them outside the cluster; Berth records
// them and moves them through their statuses, but runs nothing
// (docs/eks.md).
const kindCapability = "eks.capability"

type capabilityRec struct {
	Capability eksapi.Capability `json:"capability"`
	Pending    string            `json:"pending,omitempty"`
	Token      string            `json:"token,omitempty"`
}

// capabilityVersions is the version each type reports.
var capabilityVersions = map[eksapi.CapabilityType]string{
	eksapi.CapabilityTypeArgocd: "3.1.8-eks-1",
	eksapi.CapabilityTypeAck:    "1.0.0",
	eksapi.CapabilityTypeKro:    "0.5.1",
}

func capabilityARN(account, region, cluster, name, id string) string {
	return fmt.Sprintf("arn:aws:eks:%s:%s:capability/%s/%s/%s", region, account, cluster, name, id)
}

// CreateCapability records a capability CREATING; the controller makes it
// ACTIVE. A cluster has at most one capability of each type.
func (s *Service) CreateCapability(ctx context.Context, in *eksapi.CreateCapabilityInput) (*eksapi.CreateCapabilityOutput, error) {
	account, region := where(ctx)
	cname, name, typ := *in.ClusterName, *in.CapabilityName, *in.Type
	if !roleARNPattern.MatchString(*in.RoleArn) {
		return nil, eksapi.NewInvalidParameterException("roleArn %s is not a valid IAM role ARN.", *in.RoleArn)
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	var conf *eksapi.CapabilityConfigurationResponse
	switch argo := configArgo(in.Configuration); {
	case typ == eksapi.CapabilityTypeArgocd && (argo == nil || argo.AwsIdc == nil || deref(argo.AwsIdc.IdcInstanceArn) == ""):
		return nil, eksapi.NewInvalidParameterException("An ARGOCD capability needs configuration.argoCd.awsIdc.idcInstanceArn (the IAM Identity Center instance Argo CD signs users in with).")
	case typ != eksapi.CapabilityTypeArgocd && argo != nil:
		return nil, eksapi.NewInvalidParameterException("configuration.argoCd is only for ARGOCD capabilities.")
	case argo != nil:
		ns := deref(argo.Namespace)
		if ns == "" {
			ns = "argocd"
		}
		idcRegion := deref(argo.AwsIdc.IdcRegion)
		if idcRegion == "" {
			idcRegion = region
		}
		conf = &eksapi.CapabilityConfigurationResponse{ArgoCd: &eksapi.ArgoCdConfigResponse{Namespace: &ns,
			AwsIdc:           &eksapi.ArgoCdAwsIdcConfigResponse{IdcInstanceArn: argo.AwsIdc.IdcInstanceArn, IdcRegion: &idcRegion},
			RbacRoleMappings: orEmptySlice(argo.RbacRoleMappings), NetworkAccess: networkAccess(argo.NetworkAccess)}}
	}
	var c eksapi.Capability
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := clusterTakingChildren(tx, account, region, cname); err != nil {
			return err
		}
		all, _, err := store.AllDocs[capabilityRec](tx, kindCapability, account, region, cname+"/", store.Page{})
		if err != nil {
			return err
		}
		for _, o := range all {
			if *o.Capability.CapabilityName == name {
				if in.ClientRequestToken != nil && o.Token == *in.ClientRequestToken {
					c = o.Capability
					return nil
				}
				return eksapi.NewResourceInUseException("Capability %s already exists in cluster %s.", name, cname)
			}
			if *o.Capability.Type == typ {
				return eksapi.NewResourceInUseException("Cluster %s already has a capability of type %s (%s): only one of each type.", cname, typ, *o.Capability.CapabilityName)
			}
		}
		id := newID()
		c = eksapi.Capability{CapabilityName: &name, Arn: new(capabilityARN(account, region, cname, name, id)), ClusterName: &cname,
			Type: &typ, RoleArn: in.RoleArn, Status: new(eksapi.CapabilityStatusCreating), Version: new(capabilityVersions[typ]),
			Configuration: conf, Tags: orEmptyMap(in.Tags), Health: &eksapi.CapabilityHealth{Issues: []eksapi.CapabilityIssue{}},
			CreatedAt: s.ts(), ModifiedAt: s.ts(), DeletePropagationPolicy: in.DeletePropagationPolicy}
		if conf != nil {
			conf.ArgoCd.ServerUrl = new(fmt.Sprintf("https://%s.eks-capabilities.%s.berth.invalid", id[:8], region))
		}
		return store.PutDoc(tx, kindCapability, account, region, cname+"/"+name, capabilityRec{Capability: c, Token: deref(in.ClientRequestToken)}, s.now())
	})
	if err != nil {
		return nil, err
	}
	s.kickController()
	return &eksapi.CreateCapabilityOutput{Capability: &c}, nil
}

func configArgo(c *eksapi.CapabilityConfigurationRequest) *eksapi.ArgoCdConfigRequest {
	if c == nil {
		return nil
	}
	return c.ArgoCd
}

func networkAccess(n *eksapi.ArgoCdNetworkAccessConfigRequest) *eksapi.ArgoCdNetworkAccessConfigResponse {
	if n == nil {
		return nil
	}
	return &eksapi.ArgoCdNetworkAccessConfigResponse{VpceIds: orEmpty(n.VpceIds)}
}

func orEmptySlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func capability(tx store.Tx, account, region, cname, name string) (capabilityRec, error) {
	if _, err := cluster(tx, account, region, cname); err != nil {
		return capabilityRec{}, err
	}
	return mustGet[capabilityRec](tx, kindCapability, account, region, cname+"/"+name, eksapi.NewResourceNotFoundException("No capability found for name: %s.", name))
}

// DescribeCapability returns a capability.
func (s *Service) DescribeCapability(ctx context.Context, in *eksapi.DescribeCapabilityInput) (*eksapi.DescribeCapabilityOutput, error) {
	account, region := where(ctx)
	var c capabilityRec
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		c, err = capability(tx, account, region, *in.ClusterName, *in.CapabilityName)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.DescribeCapabilityOutput{Capability: &c.Capability}, nil
}

// ListCapabilities lists a cluster's capabilities.
func (s *Service) ListCapabilities(ctx context.Context, in *eksapi.ListCapabilitiesInput) (*eksapi.ListCapabilitiesOutput, error) {
	account, region := where(ctx)
	cname := *in.ClusterName
	names, next, err := s.listNames(ctx, kindCapability, account, region, cname, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &eksapi.ListCapabilitiesOutput{Capabilities: []eksapi.CapabilitySummary{}, NextToken: next}
	err = s.st.View(ctx, func(tx store.Tx) error {
		for _, n := range names {
			c, ok, err := getDoc[capabilityRec](tx, kindCapability, account, region, cname+"/"+n)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			x := c.Capability
			out.Capabilities = append(out.Capabilities, eksapi.CapabilitySummary{CapabilityName: x.CapabilityName, Arn: x.Arn, Type: x.Type,
				Status: x.Status, Version: x.Version, CreatedAt: x.CreatedAt, ModifiedAt: x.ModifiedAt})
		}
		return nil
	})
	return out, err
}

// UpdateCapability changes a capability's role, Argo CD role mappings or
// network access, or its delete propagation policy: an update that the
// controller completes, the capability UPDATING meanwhile.
func (s *Service) UpdateCapability(ctx context.Context, in *eksapi.UpdateCapabilityInput) (*eksapi.UpdateCapabilityOutput, error) {
	account, region := where(ctx)
	cname, name := *in.ClusterName, *in.CapabilityName
	if in.RoleArn != nil && !roleARNPattern.MatchString(*in.RoleArn) {
		return nil, eksapi.NewInvalidParameterException("roleArn %s is not a valid IAM role ARN.", *in.RoleArn)
	}
	var u eksapi.Update
	err := s.st.Update(ctx, func(tx store.Tx) error {
		c, err := capability(tx, account, region, cname, name)
		if err != nil {
			return err
		}
		x := &c.Capability
		if *x.Status != eksapi.CapabilityStatusActive && *x.Status != eksapi.CapabilityStatusDegraded {
			return eksapi.NewResourceInUseException("Capability %s is in %s status; it can be updated once it is ACTIVE.", name, *x.Status)
		}
		if in.RoleArn != nil {
			x.RoleArn = in.RoleArn
		}
		if in.DeletePropagationPolicy != nil {
			x.DeletePropagationPolicy = in.DeletePropagationPolicy
		}
		if in.Configuration != nil && in.Configuration.ArgoCd != nil {
			if *x.Type != eksapi.CapabilityTypeArgocd || x.Configuration == nil || x.Configuration.ArgoCd == nil {
				return eksapi.NewInvalidParameterException("configuration.argoCd is only for ARGOCD capabilities.")
			}
			argo, upd := x.Configuration.ArgoCd, in.Configuration.ArgoCd
			if upd.NetworkAccess != nil {
				argo.NetworkAccess = networkAccess(upd.NetworkAccess)
			}
			if m := upd.RbacRoleMappings; m != nil {
				argo.RbacRoleMappings = mergeRoleMappings(argo.RbacRoleMappings, m)
			}
		}
		u = s.newUpdate(eksapi.UpdateTypeConfigUpdate)
		x.Status = new(eksapi.CapabilityStatusUpdating)
		x.ModifiedAt = s.ts()
		c.Pending = *u.Id
		if err := store.PutDoc(tx, kindCapability, account, region, cname+"/"+name, c, s.now()); err != nil {
			return err
		}
		return store.PutDoc(tx, kindUpdate, account, region, cname+"/"+*u.Id, updateRec{Update: u, Capability: name}, s.now())
	})
	if err != nil {
		return nil, err
	}
	s.kickController()
	return &eksapi.UpdateCapabilityOutput{Update: &u}, nil
}

// mergeRoleMappings replaces the mappings of the roles added and drops
// those removed.
func mergeRoleMappings(cur []eksapi.ArgoCdRoleMapping, m *eksapi.UpdateRoleMappings) []eksapi.ArgoCdRoleMapping {
	drop := map[eksapi.ArgoCdRole]bool{}
	for _, r := range m.RemoveRoleMappings {
		drop[deref(r.Role)] = true
	}
	for _, r := range m.AddOrUpdateRoleMappings {
		drop[deref(r.Role)] = true
	}
	out := []eksapi.ArgoCdRoleMapping{}
	for _, r := range cur {
		if !drop[deref(r.Role)] {
			out = append(out, r)
		}
	}
	return append(out, m.AddOrUpdateRoleMappings...)
}

// DeleteCapability marks a capability DELETING; the controller forgets
// it.
func (s *Service) DeleteCapability(ctx context.Context, in *eksapi.DeleteCapabilityInput) (*eksapi.DeleteCapabilityOutput, error) {
	account, region := where(ctx)
	cname, name := *in.ClusterName, *in.CapabilityName
	var c capabilityRec
	err := s.st.Update(ctx, func(tx store.Tx) (err error) {
		c, err = capability(tx, account, region, cname, name)
		if err != nil || *c.Capability.Status == eksapi.CapabilityStatusDeleting {
			return err
		}
		c.Capability.Status = new(eksapi.CapabilityStatusDeleting)
		c.Capability.ModifiedAt = s.ts()
		return store.PutDoc(tx, kindCapability, account, region, cname+"/"+name, c, s.now())
	})
	if err != nil {
		return nil, err
	}
	s.kickController()
	return &eksapi.DeleteCapabilityOutput{Capability: &c.Capability}, nil
}

// reconcileCapabilities makes CREATING and UPDATING capabilities ACTIVE
// (completing their update) and forgets DELETING ones with their updates.
func (s *Service) reconcileCapabilities(ctx context.Context, ref ClusterRef) error {
	pending := false
	err := s.st.View(ctx, func(tx store.Tx) error {
		cs, _, err := store.AllDocs[capabilityRec](tx, kindCapability, ref.Account, ref.Region, ref.Name+"/", store.Page{})
		for _, c := range cs {
			pending = pending || *c.Capability.Status != eksapi.CapabilityStatusActive
		}
		return err
	})
	if err != nil || !pending {
		return err
	}
	return s.st.Update(ctx, func(tx store.Tx) error {
		cs, ids, err := store.AllDocs[capabilityRec](tx, kindCapability, ref.Account, ref.Region, ref.Name+"/", store.Page{})
		if err != nil {
			return err
		}
		for i, c := range cs {
			switch *c.Capability.Status {
			case eksapi.CapabilityStatusCreating, eksapi.CapabilityStatusUpdating:
				c.Capability.Status = new(eksapi.CapabilityStatusActive)
				if c.Pending != "" {
					if err := s.finishUpdate(tx, ref, c.Pending); err != nil {
						return err
					}
					c.Pending = ""
				}
				if err := store.PutDoc(tx, kindCapability, ref.Account, ref.Region, ids[i], c, s.now()); err != nil {
					return err
				}
			case eksapi.CapabilityStatusDeleting:
				us, uids, err := store.AllDocs[updateRec](tx, kindUpdate, ref.Account, ref.Region, ref.Name+"/", store.Page{})
				if err != nil {
					return err
				}
				for j, u := range us {
					if u.Capability == *c.Capability.CapabilityName {
						if err := store.DeleteDoc(tx, kindUpdate, ref.Account, ref.Region, uids[j]); err != nil {
							return err
						}
					}
				}
				if err := store.DeleteDoc(tx, kindCapability, ref.Account, ref.Region, ids[i]); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// finishUpdate marks an update Successful.
func (s *Service) finishUpdate(tx store.Tx, ref ClusterRef, id string) error {
	return s.settleUpdate(tx, ref, id, nil, "")
}

// settleUpdate marks the update id of a cluster Successful, or Failed
// with failure against the resource it names.
func (s *Service) settleUpdate(tx store.Tx, ref ClusterRef, id string, failure error, resource string) error {
	key := ref.Name + "/" + id
	u, ok, err := getDoc[updateRec](tx, kindUpdate, ref.Account, ref.Region, key)
	if err != nil || !ok {
		return err
	}
	u.Update.Status = new(eksapi.UpdateStatusSuccessful)
	if failure != nil {
		u.Update.Status = new(eksapi.UpdateStatusFailed)
		u.Update.Errors = []eksapi.ErrorDetail{{ErrorCode: new(eksapi.ErrorCodeUnknown), ErrorMessage: new(failure.Error()), ResourceIds: []string{resource}}}
	}
	return store.PutDoc(tx, kindUpdate, ref.Account, ref.Region, key, u, s.now())
}

// reconcileExtras is the controller's pass over add-ons, identity
// provider configs and capabilities of an ACTIVE or UPDATING cluster.
func (s *Service) reconcileExtras(ctx context.Context, ref ClusterRef) error {
	return errors.Join(s.reconcileAddons(ctx, ref), s.reconcileIdentityProviders(ctx, ref), s.reconcileCapabilities(ctx, ref))
}
