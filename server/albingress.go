package server

import (
	"context"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/eks"
	"github.com/berth-dev/berth/eks/albingress"
	"github.com/berth-dev/berth/eks/k8sproc"
)

// wireALBIngress runs the ingress controller of class alb: EKS clusters'
// Ingresses become Application Load Balancers of Berth's ELB. It needs
// clusters with an API server (berth-k8s) and ELB; without either there
// is nothing to do.
func (s *Server) wireALBIngress(svc *eks.Service, cp eks.ControlPlane) {
	kp, ok := cp.(*k8sproc.ControlPlane)
	if !ok || s.elb == nil {
		return
	}
	c := albingress.New(albingress.Options{
		LoadBalancing: s.elb,
		Clusters:      kp.Clusters,
		API:           kp.AdminAPI,
		Cluster: func(ctx context.Context, ref eks.ClusterRef) (albingress.ClusterInfo, error) {
			ctx = awsapi.WithIdentity(ctx, awsapi.Identity{AccountID: ref.Account, Region: ref.Region})
			out, err := svc.DescribeCluster(ctx, &eksapi.DescribeClusterInput{Name: &ref.Name})
			if e := awsapi.AsError(err); e != nil && e.Code == eksapi.CodeResourceNotFoundException {
				return albingress.ClusterInfo{}, nil
			}
			if err != nil {
				return albingress.ClusterInfo{}, err
			}
			info := albingress.ClusterInfo{Status: string(*out.Cluster.Status)}
			if vpc := out.Cluster.ResourcesVpcConfig; vpc != nil {
				info.Subnets = vpc.SubnetIds
			}
			return info, nil
		},
		Log: s.log.With("component", "alb-ingress"),
	})
	s.log.Info("EKS Ingresses of class alb become load balancers of Berth's ELB")
	s.loops = append(s.loops, c.Run)
}
