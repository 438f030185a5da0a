package eks

import (
	"context"
	"slices"
	"strconv"
	"strings"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/store"
)

// updateRec is an update as the store keeps it, under
// "<cluster>/<id>". Nodegroup is set for node group updates.
type updateRec struct {
	Update    eksapi.Update `json:"update"`
	Nodegroup string        `json:"nodegroup,omitempty"`
	// Addon is set for add-on updates, Capability for capability ones.
	Addon      string `json:"addon,omitempty"`
	Capability string `json:"capability,omitempty"`
}

func (s *Service) newUpdate(typ eksapi.UpdateType, params ...eksapi.UpdateParam) eksapi.Update {
	if params == nil {
		params = []eksapi.UpdateParam{}
	}
	return eksapi.Update{Id: new(newID()), Status: new(eksapi.UpdateStatusInProgress), Type: new(typ), Params: params,
		CreatedAt: s.ts(), Errors: []eksapi.ErrorDetail{}}
}

func param(t eksapi.UpdateParamType, v string) eksapi.UpdateParam {
	return eksapi.UpdateParam{Type: new(t), Value: &v}
}

// UpdateClusterConfig applies logging, endpoint access, access config,
// deletion protection and upgrade policy changes. They are recorded at
// once and the update turns Successful when the controller next runs;
// the cluster is UPDATING meanwhile, as in EKS.
func (s *Service) UpdateClusterConfig(ctx context.Context, in *eksapi.UpdateClusterConfigInput) (*eksapi.UpdateClusterConfigOutput, error) {
	u, err := s.updateCluster(ctx, *in.Name, func(c *clusterRec) (u eksapi.Update, _ error) {
		cl := &c.Cluster
		kinds := 0
		for _, set := range []bool{in.Logging != nil, in.ResourcesVpcConfig != nil, in.AccessConfig != nil, in.DeletionProtection != nil, in.UpgradePolicy != nil} {
			if set {
				kinds++
			}
		}
		if kinds > 1 {
			return u, eksapi.NewInvalidParameterException("Only one type of update can be allowed.")
		}
		switch {
		case in.Logging != nil:
			data, _ := jsonText(in.Logging)
			cl.Logging = mergeLogging(cl.Logging, in.Logging)
			u = s.newUpdate(eksapi.UpdateTypeLoggingUpdate, param(eksapi.UpdateParamTypeClusterLogging, data))
		case in.ResourcesVpcConfig != nil:
			v := in.ResourcesVpcConfig
			var ps []eksapi.UpdateParam
			if v.EndpointPublicAccess != nil {
				cl.ResourcesVpcConfig.EndpointPublicAccess = v.EndpointPublicAccess
				ps = append(ps, param(eksapi.UpdateParamTypeEndpointPublicAccess, strconv.FormatBool(*v.EndpointPublicAccess)))
			}
			if v.EndpointPrivateAccess != nil {
				cl.ResourcesVpcConfig.EndpointPrivateAccess = v.EndpointPrivateAccess
				ps = append(ps, param(eksapi.UpdateParamTypeEndpointPrivateAccess, strconv.FormatBool(*v.EndpointPrivateAccess)))
			}
			if v.PublicAccessCidrs != nil {
				cl.ResourcesVpcConfig.PublicAccessCidrs = v.PublicAccessCidrs
				data, _ := jsonText(v.PublicAccessCidrs)
				ps = append(ps, param(eksapi.UpdateParamTypePublicAccessCidrs, data))
			}
			typ := eksapi.UpdateTypeEndpointAccessUpdate
			if v.SubnetIds != nil || v.SecurityGroupIds != nil {
				typ = eksapi.UpdateTypeVpcConfigUpdate
				if v.SubnetIds != nil {
					cl.ResourcesVpcConfig.SubnetIds = v.SubnetIds
					ps = append(ps, param(eksapi.UpdateParamTypeSubnets, strings.Join(v.SubnetIds, ",")))
				}
				if v.SecurityGroupIds != nil {
					cl.ResourcesVpcConfig.SecurityGroupIds = v.SecurityGroupIds
					ps = append(ps, param(eksapi.UpdateParamTypeSecurityGroups, strings.Join(v.SecurityGroupIds, ",")))
				}
			}
			u = s.newUpdate(typ, ps...)
		case in.AccessConfig != nil && in.AccessConfig.AuthenticationMode != nil:
			from, to := *cl.AccessConfig.AuthenticationMode, *in.AccessConfig.AuthenticationMode
			// EKS only moves towards API: CONFIG_MAP -> API_AND_CONFIG_MAP -> API.
			order := []eksapi.AuthenticationMode{eksapi.AuthenticationModeConfigMap, eksapi.AuthenticationModeApiAndConfigMap, eksapi.AuthenticationModeApi}
			if slices.Index(order, to) < slices.Index(order, from) {
				return u, eksapi.NewInvalidParameterException("Unsupported authentication mode update from %s to %s", from, to)
			}
			if from == to {
				return u, eksapi.NewInvalidParameterException("Unsupported authentication mode update from %s to %s", from, to)
			}
			cl.AccessConfig.AuthenticationMode = &to
			u = s.newUpdate(eksapi.UpdateTypeAccessConfigUpdate, param(eksapi.UpdateParamTypeAuthenticationMode, string(to)))
		case in.DeletionProtection != nil:
			cl.DeletionProtection = in.DeletionProtection
			u = s.newUpdate(eksapi.UpdateTypeDeletionProtectionUpdate, param(eksapi.UpdateParamTypeDeletionProtection, strconv.FormatBool(*in.DeletionProtection)))
		case in.UpgradePolicy != nil && in.UpgradePolicy.SupportType != nil:
			cl.UpgradePolicy = &eksapi.UpgradePolicyResponse{SupportType: in.UpgradePolicy.SupportType}
			u = s.newUpdate(eksapi.UpdateTypeUpgradePolicyUpdate, param(eksapi.UpdateParamTypeUpgradePolicy, string(*in.UpgradePolicy.SupportType)))
		default:
			return u, eksapi.NewInvalidParameterException("No changes needed: name one of logging, resourcesVpcConfig, accessConfig, deletionProtection or upgradePolicy (Berth does not apply the others yet).")
		}
		return u, nil
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.UpdateClusterConfigOutput{Update: u}, nil
}

// updateCluster applies change to an ACTIVE cluster, which turns it
// UPDATING, and records the update change returns; the controller
// completes it.
func (s *Service) updateCluster(ctx context.Context, name string, change func(c *clusterRec) (eksapi.Update, error)) (*eksapi.Update, error) {
	return s.updateClusterTx(ctx, name, func(_ store.Tx, c *clusterRec) (eksapi.Update, error) { return change(c) })
}

func mergeLogging(old, change *eksapi.Logging) *eksapi.Logging {
	enabled := map[eksapi.LogType]bool{}
	if old != nil {
		for _, ls := range old.ClusterLogging {
			for _, t := range ls.Types {
				enabled[t] = deref(ls.Enabled)
			}
		}
	}
	for _, ls := range change.ClusterLogging {
		for _, t := range ls.Types {
			enabled[t] = deref(ls.Enabled)
		}
	}
	var on, off []eksapi.LogType
	for _, t := range eksapi.LogType("").Values() {
		if enabled[t] {
			on = append(on, t)
		} else {
			off = append(off, t)
		}
	}
	out := &eksapi.Logging{ClusterLogging: []eksapi.LogSetup{}}
	if len(on) > 0 {
		out.ClusterLogging = append(out.ClusterLogging, eksapi.LogSetup{Types: on, Enabled: new(true)})
	}
	if len(off) > 0 {
		out.ClusterLogging = append(out.ClusterLogging, eksapi.LogSetup{Types: off, Enabled: new(false)})
	}
	return out
}

// UpdateClusterVersion moves a cluster to the next minor version.
func (s *Service) UpdateClusterVersion(ctx context.Context, in *eksapi.UpdateClusterVersionInput) (*eksapi.UpdateClusterVersionOutput, error) {
	u, err := s.updateCluster(ctx, *in.Name, func(c *clusterRec) (eksapi.Update, error) {
		from, to := deref(c.Cluster.Version), *in.Version
		if !slices.Contains(SupportedVersions, to) {
			return eksapi.Update{}, eksapi.NewInvalidParameterException("unsupported Kubernetes version %s. Supported versions: %s.", to, strings.Join(SupportedVersions, ", "))
		}
		if i, j := slices.Index(SupportedVersions, from), slices.Index(SupportedVersions, to); j != i+1 {
			return eksapi.Update{}, eksapi.NewInvalidParameterException("Unsupported Kubernetes minor version update from %s to %s", from, to)
		}
		c.Cluster.Version = &to
		return s.newUpdate(eksapi.UpdateTypeVersionUpdate, param(eksapi.UpdateParamTypeVersion, to), param(eksapi.UpdateParamTypePlatformVersion, deref(c.Cluster.PlatformVersion))), nil
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.UpdateClusterVersionOutput{Update: u}, nil
}

// DescribeUpdate returns an update of a cluster or of one of its node
// groups.
func (s *Service) DescribeUpdate(ctx context.Context, in *eksapi.DescribeUpdateInput) (*eksapi.DescribeUpdateOutput, error) {
	account, region := where(ctx)
	name := *in.Name
	var u updateRec
	err := s.st.View(ctx, func(tx store.Tx) error {
		if _, err := cluster(tx, account, region, name); err != nil {
			return err
		}
		var ok bool
		var err error
		u, ok, err = getDoc[updateRec](tx, kindUpdate, account, region, name+"/"+*in.UpdateId)
		if err != nil {
			return err
		}
		if !ok || u.Nodegroup != deref(in.NodegroupName) || u.Addon != deref(in.AddonName) || u.Capability != deref(in.CapabilityName) {
			return eksapi.NewResourceNotFoundException("No update found for ID: %s", *in.UpdateId)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.DescribeUpdateOutput{Update: &u.Update}, nil
}

// ListUpdates lists the ids of a cluster's updates, or of a node group's.
func (s *Service) ListUpdates(ctx context.Context, in *eksapi.ListUpdatesInput) (*eksapi.ListUpdatesOutput, error) {
	account, region := where(ctx)
	name := *in.Name
	ng, ad, cp := deref(in.NodegroupName), deref(in.AddonName), deref(in.CapabilityName)
	after, limit, err := pageArgs(in.MaxResults, in.NextToken, 100)
	if err != nil {
		return nil, err
	}
	out := &eksapi.ListUpdatesOutput{UpdateIds: []string{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		if _, err := cluster(tx, account, region, name); err != nil {
			return err
		}
		if ng != "" {
			if _, err := nodegroup(tx, account, region, name, ng); err != nil {
				return err
			}
		}
		us, ids, err := store.AllDocs[updateRec](tx, kindUpdate, account, region, name+"/", store.Page{After: after})
		if err != nil {
			return err
		}
		if ad != "" {
			if _, err := addon(tx, account, region, name, ad); err != nil {
				return err
			}
		}
		if cp != "" {
			if _, err := capability(tx, account, region, name, cp); err != nil {
				return err
			}
		}
		for i, u := range us {
			if u.Nodegroup != ng || u.Addon != ad || u.Capability != cp {
				continue
			}
			if len(out.UpdateIds) == limit {
				out.NextToken = pageToken(ids[i-1])
				break
			}
			out.UpdateIds = append(out.UpdateIds, *u.Update.Id)
		}
		return nil
	})
	return out, err
}
