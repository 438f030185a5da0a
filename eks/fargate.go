package eks

import (
	"context"
	"fmt"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/store"
)

// Selectors per profile, as EKS limits them.
const maxSelectorsPerProfile = 5

func fargateARN(account, region, cluster, name, id string) string {
	return fmt.Sprintf("arn:aws:eks:%s:%s:fargateprofile/%s/%s/%s", region, account, cluster, name, id)
}

// CreateFargateProfile records the profile CREATING; the controller makes
// it ACTIVE.
func (s *Service) CreateFargateProfile(ctx context.Context, in *eksapi.CreateFargateProfileInput) (*eksapi.CreateFargateProfileOutput, error) {
	account, region := where(ctx)
	cname, name := *in.ClusterName, *in.FargateProfileName
	if !roleARNPattern.MatchString(*in.PodExecutionRoleArn) {
		return nil, eksapi.NewInvalidParameterException("The podExecutionRoleArn %s is not a valid IAM role ARN.", *in.PodExecutionRoleArn)
	}
	if len(in.Selectors) == 0 {
		return nil, eksapi.NewInvalidParameterException("Fargate Profile must have at least one selector")
	}
	if len(in.Selectors) > maxSelectorsPerProfile {
		return nil, eksapi.NewInvalidParameterException("Fargate Profile can have at most %d selectors", maxSelectorsPerProfile)
	}
	for _, sel := range in.Selectors {
		if deref(sel.Namespace) == "" {
			return nil, eksapi.NewInvalidParameterException("Fargate Profile selector must specify a namespace")
		}
		if len(sel.Labels) > 5 {
			return nil, eksapi.NewInvalidParameterException("A Fargate Profile selector can have at most 5 labels")
		}
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	var fp eksapi.FargateProfile
	err := s.st.Update(ctx, func(tx store.Tx) error {
		c, err := clusterTakingChildren(tx, account, region, cname)
		if err != nil {
			return err
		}
		if _, ok, err := getDoc[eksapi.FargateProfile](tx, kindFargate, account, region, cname+"/"+name); err != nil {
			return err
		} else if ok {
			return eksapi.NewResourceInUseException("A Fargate Profile already exists with this name in this cluster.")
		}
		all, _, err := store.AllDocs[eksapi.FargateProfile](tx, kindFargate, account, region, cname+"/", store.Page{})
		if err != nil {
			return err
		}
		if len(all) >= maxProfilesPerCluster {
			return eksapi.NewResourceLimitExceededException("Fargate Profile limit exceeded for cluster %s: at most %d profiles.", cname, maxProfilesPerCluster)
		}
		// EKS creates one profile of a cluster at a time.
		for _, other := range all {
			if *other.Status == eksapi.FargateProfileStatusCreating || *other.Status == eksapi.FargateProfileStatusDeleting {
				return eksapi.NewResourceInUseException("Cannot create Fargate Profile %s because cluster %s currently has Fargate profile %s in status %s", name, cname, *other.FargateProfileName, *other.Status)
			}
		}
		subnets := in.Subnets
		if subnets == nil {
			subnets = orEmpty(c.Cluster.ResourcesVpcConfig.SubnetIds)
		}
		sels := make([]eksapi.FargateProfileSelector, len(in.Selectors))
		for i, sel := range in.Selectors {
			sels[i] = eksapi.FargateProfileSelector{Namespace: sel.Namespace, Labels: orEmptyMap(sel.Labels)}
		}
		fp = eksapi.FargateProfile{
			FargateProfileName: &name, FargateProfileArn: new(fargateARN(account, region, cname, name, newID())), ClusterName: &cname,
			CreatedAt: s.ts(), PodExecutionRoleArn: in.PodExecutionRoleArn, Subnets: subnets, Selectors: sels,
			Status: new(eksapi.FargateProfileStatusCreating), Tags: orEmptyMap(in.Tags), Health: &eksapi.FargateProfileHealth{Issues: []eksapi.FargateProfileIssue{}},
		}
		return store.PutDoc(tx, kindFargate, account, region, cname+"/"+name, fp, s.now())
	})
	if err != nil {
		return nil, err
	}
	s.kickController()
	return &eksapi.CreateFargateProfileOutput{FargateProfile: &fp}, nil
}

func fargateProfile(tx store.Tx, account, region, cname, name string) (eksapi.FargateProfile, error) {
	if _, err := cluster(tx, account, region, cname); err != nil {
		return eksapi.FargateProfile{}, err
	}
	return mustGet[eksapi.FargateProfile](tx, kindFargate, account, region, cname+"/"+name, eksapi.NewResourceNotFoundException("No Fargate Profile found with name: %s.", name))
}

// DescribeFargateProfile returns a Fargate profile.
func (s *Service) DescribeFargateProfile(ctx context.Context, in *eksapi.DescribeFargateProfileInput) (*eksapi.DescribeFargateProfileOutput, error) {
	account, region := where(ctx)
	var fp eksapi.FargateProfile
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		fp, err = fargateProfile(tx, account, region, *in.ClusterName, *in.FargateProfileName)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &eksapi.DescribeFargateProfileOutput{FargateProfile: &fp}, nil
}

// ListFargateProfiles lists the names of a cluster's Fargate profiles.
func (s *Service) ListFargateProfiles(ctx context.Context, in *eksapi.ListFargateProfilesInput) (*eksapi.ListFargateProfilesOutput, error) {
	account, region := where(ctx)
	names, next, err := s.listNames(ctx, kindFargate, account, region, *in.ClusterName, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &eksapi.ListFargateProfilesOutput{FargateProfileNames: names, NextToken: next}, nil
}

// DeleteFargateProfile marks a profile DELETING; the controller forgets
// it.
func (s *Service) DeleteFargateProfile(ctx context.Context, in *eksapi.DeleteFargateProfileInput) (*eksapi.DeleteFargateProfileOutput, error) {
	account, region := where(ctx)
	cname, name := *in.ClusterName, *in.FargateProfileName
	var fp eksapi.FargateProfile
	err := s.st.Update(ctx, func(tx store.Tx) (err error) {
		fp, err = fargateProfile(tx, account, region, cname, name)
		if err != nil {
			return err
		}
		if *fp.Status == eksapi.FargateProfileStatusDeleting {
			return nil
		}
		fp.Status = new(eksapi.FargateProfileStatusDeleting)
		return store.PutDoc(tx, kindFargate, account, region, cname+"/"+name, fp, s.now())
	})
	if err != nil {
		return nil, err
	}
	s.kickController()
	return &eksapi.DeleteFargateProfileOutput{FargateProfile: &fp}, nil
}
