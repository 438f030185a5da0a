package console

import (
	eksapi "github.com/berth-dev/berth/api/eks"
)

func (c *Console) needEKS() error {
	if c.o.EKS == nil {
		return errNotFound{"EKS"}
	}
	return nil
}

func (c *Console) listEKSClusters(req *request) ([]string, error) {
	var names []string
	var token *string
	for len(names) < maxItems {
		res, err := c.o.EKS.ListClusters(req.ctx, &eksapi.ListClustersInput{NextToken: token})
		if err != nil {
			return nil, err
		}
		names = append(names, res.Clusters...)
		if token = res.NextToken; token == nil {
			break
		}
	}
	return names, nil
}

func (c *Console) eksClusters(req *request) error {
	if err := c.needEKS(); err != nil {
		return err
	}
	names, err := c.listEKSClusters(req)
	if err != nil {
		return err
	}
	var clusters []eksapi.Cluster
	for _, n := range names {
		res, err := c.o.EKS.DescribeCluster(req.ctx, &eksapi.DescribeClusterInput{Name: &n})
		if err != nil {
			// Deleted between the list and the describe.
			continue
		}
		clusters = append(clusters, *res.Cluster)
	}
	req.page.Title = "EKS clusters"
	req.page.crumb("EKS clusters", "")
	return c.render(req, "eks_clusters", clusters)
}

type eksClusterData struct {
	Cluster         eksapi.Cluster
	Nodegroups      []eksapi.Nodegroup
	FargateProfiles []eksapi.FargateProfile
	Addons          []eksapi.Addon
}

func (c *Console) eksCluster(req *request) error {
	if err := c.needEKS(); err != nil {
		return err
	}
	name := req.r.URL.Query().Get("name")
	in := &eksapi.DescribeClusterInput{Name: &name}
	if name == "" {
		return badRequest("the name parameter is required")
	}
	if err := validated(in); err != nil {
		return err
	}
	res, err := c.o.EKS.DescribeCluster(req.ctx, in)
	if err != nil {
		return err
	}
	d := eksClusterData{Cluster: *res.Cluster}
	var token *string
	for {
		ng, err := c.o.EKS.ListNodegroups(req.ctx, &eksapi.ListNodegroupsInput{ClusterName: &name, NextToken: token})
		if err != nil {
			return err
		}
		for _, n := range ng.Nodegroups {
			if r, err := c.o.EKS.DescribeNodegroup(req.ctx, &eksapi.DescribeNodegroupInput{ClusterName: &name, NodegroupName: &n}); err == nil {
				d.Nodegroups = append(d.Nodegroups, *r.Nodegroup)
			}
		}
		if token = ng.NextToken; token == nil || len(d.Nodegroups) >= maxItems {
			break
		}
	}
	for token = nil; ; {
		fp, err := c.o.EKS.ListFargateProfiles(req.ctx, &eksapi.ListFargateProfilesInput{ClusterName: &name, NextToken: token})
		if err != nil {
			return err
		}
		for _, n := range fp.FargateProfileNames {
			if r, err := c.o.EKS.DescribeFargateProfile(req.ctx, &eksapi.DescribeFargateProfileInput{ClusterName: &name, FargateProfileName: &n}); err == nil {
				d.FargateProfiles = append(d.FargateProfiles, *r.FargateProfile)
			}
		}
		if token = fp.NextToken; token == nil || len(d.FargateProfiles) >= maxItems {
			break
		}
	}
	for token = nil; ; {
		ad, err := c.o.EKS.ListAddons(req.ctx, &eksapi.ListAddonsInput{ClusterName: &name, NextToken: token})
		if err != nil {
			return err
		}
		for _, n := range ad.Addons {
			if r, err := c.o.EKS.DescribeAddon(req.ctx, &eksapi.DescribeAddonInput{ClusterName: &name, AddonName: &n}); err == nil {
				d.Addons = append(d.Addons, *r.Addon)
			}
		}
		if token = ad.NextToken; token == nil || len(d.Addons) >= maxItems {
			break
		}
	}
	req.page.Title = "EKS cluster " + name
	req.page.crumb("EKS clusters", req.page.Link("eks/"))
	req.page.crumb(name, "")
	return c.render(req, "eks_cluster", d)
}
