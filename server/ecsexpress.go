package server

import (
	"context"

	ec2api "github.com/berth-dev/berth/api/ec2"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/ec2"
	"github.com/berth-dev/berth/ecs/express"
)

// wireECSExpress serves ECS Express services, built from ECS services,
// ELB load balancers and EC2 security groups through their Go APIs. It
// runs after the three services are built; without ELB the operations
// stay NotImplemented.
func (s *Server) wireECSExpress() error {
	if s.ecs == nil || s.elb == nil {
		return nil
	}
	st, err := s.store()
	if err != nil {
		return err
	}
	net, err := s.ec2Service()
	if err != nil {
		return err
	}
	svc, err := express.New(express.Options{
		Store: st, ECS: s.ecs, LoadBalancing: s.elb, Network: expressNetwork{net},
		Log: s.log.With("component", "ecs-express"),
	})
	if err != nil {
		return err
	}
	s.ecs.SetExpressGateways(svc)
	return nil
}

// expressNetwork adapts EC2 to what Express services need of it.
type expressNetwork struct{ ec2 *ec2.Service }

func expressIdentity(ctx context.Context, account, region string) context.Context {
	return awsapi.WithIdentity(ctx, awsapi.Identity{AccountID: account, Region: region})
}

func (n expressNetwork) DefaultSubnets(ctx context.Context, account, region string) ([]express.Subnet, error) {
	subnets, err := n.ec2.DefaultSubnets(ctx, account, region)
	return exportSubnets(subnets), err
}

func (n expressNetwork) Subnets(ctx context.Context, account, region string, ids []string) ([]express.Subnet, error) {
	subnets, err := n.ec2.Subnets(ctx, account, region, ids)
	return exportSubnets(subnets), err
}

func exportSubnets(subnets []ec2.Subnet) []express.Subnet {
	out := make([]express.Subnet, len(subnets))
	for i, sn := range subnets {
		out[i] = express.Subnet{ID: sn.ID, VPCID: sn.VPCID, Zone: sn.AvailabilityZone}
	}
	return out
}

func (n expressNetwork) CreateSecurityGroup(ctx context.Context, account, region, vpc, name, description string) (string, error) {
	out, err := n.ec2.CreateSecurityGroup(expressIdentity(ctx, account, region), &ec2api.CreateSecurityGroupInput{
		GroupName: &name, Description: &description, VpcId: &vpc,
		TagSpecifications: []ec2api.TagSpecification{{ResourceType: new(ec2api.ResourceTypeSecurityGroup),
			Tags: []ec2api.Tag{{Key: new("AmazonECSManaged"), Value: new("true")}}}}})
	if err != nil {
		return "", err
	}
	return *out.GroupId, nil
}

func (n expressNetwork) AllowIngress(ctx context.Context, account, region, group string, port int32, fromGroup string) error {
	perm := ec2api.IpPermission{IpProtocol: new("tcp"), FromPort: &port, ToPort: &port}
	if fromGroup != "" {
		perm.UserIdGroupPairs = []ec2api.UserIdGroupPair{{GroupId: &fromGroup}}
	} else {
		perm.IpRanges = []ec2api.IpRange{{CidrIp: new("0.0.0.0/0")}}
	}
	_, err := n.ec2.AuthorizeSecurityGroupIngress(expressIdentity(ctx, account, region), &ec2api.AuthorizeSecurityGroupIngressInput{
		GroupId: &group, IpPermissions: []ec2api.IpPermission{perm}})
	if e := awsapi.AsError(err); e != nil && e.Code == "InvalidPermission.Duplicate" {
		return nil
	}
	return err
}

func (n expressNetwork) DeleteSecurityGroup(ctx context.Context, account, region, id string) error {
	_, err := n.ec2.DeleteSecurityGroup(expressIdentity(ctx, account, region), &ec2api.DeleteSecurityGroupInput{GroupId: &id})
	return err
}
