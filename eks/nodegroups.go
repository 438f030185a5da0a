package eks

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/store"
)

// nodegroupRec is a node group as the store keeps it, under
// "<cluster>/<name>".
type nodegroupRec struct {
	Nodegroup eksapi.Nodegroup `json:"nodegroup"`
	// Pending is the update the controller is applying, if any.
	Pending string `json:"pending,omitempty"`
	// Token is the clientRequestToken of the create, so that a retry of it
	// succeeds.
	Token string `json:"token,omitempty"`
}

func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// checkScaling checks a scaling configuration as EKS does.
func checkScaling(sc *eksapi.NodegroupScalingConfig) error {
	min, max, desired := deref(sc.MinSize), deref(sc.MaxSize), deref(sc.DesiredSize)
	switch {
	case max < 1:
		return eksapi.NewInvalidParameterException("Maximum capacity %d can't be less than 1", max)
	case max > maxNodesPerNodegroup:
		return eksapi.NewInvalidParameterException("Maximum capacity %d can't be greater than %d", max, maxNodesPerNodegroup)
	case min > max:
		return eksapi.NewInvalidParameterException("Minimum capacity %d can't be greater than maximum capacity %d", min, max)
	case desired > max:
		return eksapi.NewInvalidParameterException("Desired capacity %d can't be greater than max capacity %d", desired, max)
	case desired < min:
		return eksapi.NewInvalidParameterException("Desired capacity %d can't be lower than min capacity %d", desired, min)
	}
	return nil
}

func nodegroupARN(account, region, cluster, name, id string) string {
	return fmt.Sprintf("arn:aws:eks:%s:%s:nodegroup/%s/%s/%s", region, account, cluster, name, id)
}

// CreateNodegroup records the node group CREATING; the controller asks
// the control plane for its nodes and makes it ACTIVE.
func (s *Service) CreateNodegroup(ctx context.Context, in *eksapi.CreateNodegroupInput) (*eksapi.CreateNodegroupOutput, error) {
	account, region := where(ctx)
	cname, name := *in.ClusterName, *in.NodegroupName
	sc := &eksapi.NodegroupScalingConfig{MinSize: new(int32(1)), MaxSize: new(int32(2)), DesiredSize: new(int32(2))}
	if in.ScalingConfig != nil {
		if in.ScalingConfig.MinSize != nil {
			sc.MinSize = in.ScalingConfig.MinSize
		}
		if in.ScalingConfig.MaxSize != nil {
			sc.MaxSize = in.ScalingConfig.MaxSize
		}
		sc.DesiredSize = sc.MinSize
		if in.ScalingConfig.DesiredSize != nil {
			sc.DesiredSize = in.ScalingConfig.DesiredSize
		}
	}
	if err := checkScaling(sc); err != nil {
		return nil, err
	}
	if !roleARNPattern.MatchString(*in.NodeRole) {
		return nil, eksapi.NewInvalidParameterException("The nodeRole %s is not a valid IAM role ARN.", *in.NodeRole)
	}
	if len(in.Subnets) == 0 {
		return nil, eksapi.NewInvalidParameterException("Subnets are required")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	// EKS takes the disk and SSH settings from the launch template when
	// one is given and refuses requests that set them twice.
	if in.LaunchTemplate != nil {
		if in.DiskSize != nil {
			return nil, eksapi.NewInvalidParameterException("Disk size must be specified within the launch template.")
		}
		if in.RemoteAccess != nil {
			return nil, eksapi.NewInvalidParameterException("Remote access configuration cannot be specified with a launch template.")
		}
	}
	types := in.InstanceTypes
	if len(types) == 0 {
		types = []string{"t3.medium"}
	}
	ami := eksapi.AMITypesAl2023X8664Standard
	if in.AmiType != nil {
		ami = *in.AmiType
	}
	capacity := eksapi.CapacityTypesOnDemand
	if in.CapacityType != nil {
		capacity = *in.CapacityType
	}
	// With a launch template the disk is the template's, so EKS reports none.
	var disk *int32
	if in.LaunchTemplate == nil {
		disk = new(int32(20))
	}
	if in.DiskSize != nil {
		disk = in.DiskSize
	}
	var ng eksapi.Nodegroup
	err := s.st.Update(ctx, func(tx store.Tx) error {
		c, err := clusterTakingChildren(tx, account, region, cname)
		if err != nil {
			return err
		}
		if old, ok, err := getDoc[nodegroupRec](tx, kindNodegroup, account, region, cname+"/"+name); err != nil {
			return err
		} else if ok {
			if in.ClientRequestToken != nil && old.Token == *in.ClientRequestToken {
				ng = old.Nodegroup
				return nil
			}
			return eksapi.NewResourceInUseException("NodeGroup already exists with name %s and cluster name %s", name, cname)
		}
		n, err := tx.ListResources(kindNodegroup, account, region, cname+"/", store.Page{Limit: maxNodegroupsPerCluster})
		if err != nil {
			return err
		}
		if len(n) >= maxNodegroupsPerCluster {
			return eksapi.NewResourceLimitExceededException("Nodegroup limit exceeded for cluster %s: at most %d node groups.", cname, maxNodegroupsPerCluster)
		}
		version := deref(c.Cluster.Version)
		if in.Version != nil && *in.Version != version {
			return eksapi.NewInvalidParameterException("Requested Nodegroup release version %s is invalid. Allowed release version is %s", *in.Version, version)
		}
		id := newID()
		ng = eksapi.Nodegroup{
			NodegroupName: &name, NodegroupArn: new(nodegroupARN(account, region, cname, name, id)), ClusterName: &cname,
			Version: &version, ReleaseVersion: new(version + ".0-berth"), CreatedAt: s.ts(), ModifiedAt: s.ts(),
			Status: new(eksapi.NodegroupStatusCreating), CapacityType: &capacity, ScalingConfig: sc,
			InstanceTypes: types, Subnets: in.Subnets, RemoteAccess: in.RemoteAccess, AmiType: &ami, NodeRole: in.NodeRole,
			Labels: orEmptyMap(in.Labels), Taints: in.Taints,
			Resources:      &eksapi.NodegroupResources{AutoScalingGroups: []eksapi.AutoScalingGroup{{Name: new("eks-" + name + "-" + id)}}},
			DiskSize:       disk,
			Health:         &eksapi.NodegroupHealth{Issues: []eksapi.Issue{}},
			UpdateConfig:   &eksapi.NodegroupUpdateConfig{MaxUnavailable: new(int32(1))},
			LaunchTemplate: in.LaunchTemplate, Tags: orEmptyMap(in.Tags),
		}
		if in.UpdateConfig != nil {
			ng.UpdateConfig = in.UpdateConfig
		}
		rec := nodegroupRec{Nodegroup: ng, Token: deref(in.ClientRequestToken)}
		return store.PutDoc(tx, kindNodegroup, account, region, cname+"/"+name, rec, s.now())
	})
	if err != nil {
		return nil, err
	}
	s.kickController()
	return &eksapi.CreateNodegroupOutput{Nodegroup: &ng}, nil
}

func nodegroup(tx store.Tx, account, region, cname, name string) (nodegroupRec, error) {
	if _, err := cluster(tx, account, region, cname); err != nil {
		return nodegroupRec{}, err
	}
	return mustGet[nodegroupRec](tx, kindNodegroup, account, region, cname+"/"+name, eksapi.NewResourceNotFoundException("No node group found for name: %s.", name))
}

// activeNodegroup is nodegroup for updates, which need it ACTIVE.
func activeNodegroup(tx store.Tx, account, region, cname, name string) (nodegroupRec, error) {
	ng, err := nodegroup(tx, account, region, cname, name)
	if err != nil {
		return ng, err
	}
	if st := *ng.Nodegroup.Status; st != eksapi.NodegroupStatusActive {
		return ng, eksapi.NewResourceInUseException("Nodegroup %s is in %s status; updates need it ACTIVE.", name, st)
	}
	return ng, nil
}

// startNodegroupUpdate records an update of typ with params ps on node
// group ng, which goes UPDATING until the controller completes it.
func (s *Service) startNodegroupUpdate(tx store.Tx, account, region, cname, name string, ng *nodegroupRec, typ eksapi.UpdateType, ps []eksapi.UpdateParam) (eksapi.Update, error) {
	u := s.newUpdate(typ, ps...)
	ng.Nodegroup.Status = new(eksapi.NodegroupStatusUpdating)
	ng.Nodegroup.ModifiedAt = s.ts()
	ng.Pending = *u.Id
	if err := store.PutDoc(tx, kindNodegroup, account, region, cname+"/"+name, *ng, s.now()); err != nil {
		return u, err
	}
	return u, store.PutDoc(tx, kindUpdate, account, region, cname+"/"+*u.Id, updateRec{Update: u, Nodegroup: name}, s.now())
}

// DescribeNodegroup returns a node group.
func (s *Service) DescribeNodegroup(ctx context.Context, in *eksapi.DescribeNodegroupInput) (*eksapi.DescribeNodegroupOutput, error) {
	account, region := where(ctx)
	var ng nodegroupRec
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		ng, err = nodegroup(tx, account, region, *in.ClusterName, *in.NodegroupName)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.DescribeNodegroupOutput{Nodegroup: &ng.Nodegroup}, nil
}

// ListNodegroups lists the names of a cluster's node groups.
func (s *Service) ListNodegroups(ctx context.Context, in *eksapi.ListNodegroupsInput) (*eksapi.ListNodegroupsOutput, error) {
	account, region := where(ctx)
	cname := *in.ClusterName
	names, next, err := s.listNames(ctx, kindNodegroup, account, region, cname, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &eksapi.ListNodegroupsOutput{Nodegroups: names, NextToken: next}, nil
}

// listNames lists the names of a cluster's children of one kind.
func (s *Service) listNames(ctx context.Context, kind, account, region, cname string, max *int32, next *string) ([]string, *string, error) {
	p, err := page(max, next, 100)
	if err != nil {
		return nil, nil, err
	}
	names := []string{}
	var token *string
	err = s.st.View(ctx, func(tx store.Tx) error {
		if _, err := cluster(tx, account, region, cname); err != nil {
			return err
		}
		if p.After != "" {
			p.After = cname + "/" + p.After
		}
		rs, err := tx.ListResources(kind, account, region, cname+"/", p)
		if err != nil {
			return err
		}
		for i, r := range rs {
			if i == p.Limit-1 {
				token = pageToken(names[len(names)-1])
				break
			}
			names = append(names, r.ID[len(cname)+1:])
		}
		return nil
	})
	return names, token, err
}

// UpdateNodegroupConfig changes a node group's scaling, labels or taints;
// the controller resizes it and marks the update Successful.
func (s *Service) UpdateNodegroupConfig(ctx context.Context, in *eksapi.UpdateNodegroupConfigInput) (*eksapi.UpdateNodegroupConfigOutput, error) {
	account, region := where(ctx)
	cname, name := *in.ClusterName, *in.NodegroupName
	var u eksapi.Update
	err := s.st.Update(ctx, func(tx store.Tx) error {
		ng, err := activeNodegroup(tx, account, region, cname, name)
		if err != nil {
			return err
		}
		var ps []eksapi.UpdateParam
		if in.ScalingConfig != nil {
			sc := *ng.Nodegroup.ScalingConfig
			if in.ScalingConfig.MinSize != nil {
				sc.MinSize = in.ScalingConfig.MinSize
				ps = append(ps, param(eksapi.UpdateParamTypeMinSize, strconv.Itoa(int(*sc.MinSize))))
			}
			if in.ScalingConfig.MaxSize != nil {
				sc.MaxSize = in.ScalingConfig.MaxSize
				ps = append(ps, param(eksapi.UpdateParamTypeMaxSize, strconv.Itoa(int(*sc.MaxSize))))
			}
			if in.ScalingConfig.DesiredSize != nil {
				sc.DesiredSize = in.ScalingConfig.DesiredSize
				ps = append(ps, param(eksapi.UpdateParamTypeDesiredSize, strconv.Itoa(int(*sc.DesiredSize))))
			}
			if err := checkScaling(&sc); err != nil {
				return err
			}
			ng.Nodegroup.ScalingConfig = &sc
		}
		if l := in.Labels; l != nil {
			if ng.Nodegroup.Labels == nil {
				ng.Nodegroup.Labels = map[string]string{}
			}
			for k, v := range l.AddOrUpdateLabels {
				ng.Nodegroup.Labels[k] = v
			}
			for _, k := range l.RemoveLabels {
				delete(ng.Nodegroup.Labels, k)
			}
			if len(l.AddOrUpdateLabels) > 0 {
				t, _ := jsonText(l.AddOrUpdateLabels)
				ps = append(ps, param(eksapi.UpdateParamTypeLabelsToAdd, t))
			}
			if len(l.RemoveLabels) > 0 {
				t, _ := jsonText(l.RemoveLabels)
				ps = append(ps, param(eksapi.UpdateParamTypeLabelsToRemove, t))
			}
		}
		if in.UpdateConfig != nil {
			ng.Nodegroup.UpdateConfig = in.UpdateConfig
			if in.UpdateConfig.MaxUnavailable != nil {
				ps = append(ps, param(eksapi.UpdateParamTypeMaxUnavailable, strconv.Itoa(int(*in.UpdateConfig.MaxUnavailable))))
			}
		}
		if len(ps) == 0 {
			return eksapi.NewInvalidParameterException("No changes needed for the nodegroup config provided")
		}
		u, err = s.startNodegroupUpdate(tx, account, region, cname, name, &ng, eksapi.UpdateTypeConfigUpdate, ps)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.kickController()
	return &eksapi.UpdateNodegroupConfigOutput{Update: &u}, nil
}

// DeleteNodegroup marks a node group DELETING; the controller removes its
// nodes and then forgets it.
func (s *Service) DeleteNodegroup(ctx context.Context, in *eksapi.DeleteNodegroupInput) (*eksapi.DeleteNodegroupOutput, error) {
	account, region := where(ctx)
	cname, name := *in.ClusterName, *in.NodegroupName
	var ng nodegroupRec
	err := s.st.Update(ctx, func(tx store.Tx) (err error) {
		ng, err = nodegroup(tx, account, region, cname, name)
		if err != nil {
			return err
		}
		if *ng.Nodegroup.Status == eksapi.NodegroupStatusDeleting {
			return nil
		}
		ng.Nodegroup.Status = new(eksapi.NodegroupStatusDeleting)
		ng.Nodegroup.ModifiedAt = s.ts()
		return store.PutDoc(tx, kindNodegroup, account, region, cname+"/"+name, ng, s.now())
	})
	if err != nil {
		return nil, err
	}
	s.kickController()
	return &eksapi.DeleteNodegroupOutput{Nodegroup: &ng.Nodegroup}, nil
}
