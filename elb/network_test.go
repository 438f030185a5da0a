package elb

import (
	"context"
	"testing"

	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/awsapi"
)

// fakeEC2 has subnets a, b (us-east-1a, 1b) and a2 (1a) in vpc-1, x in
// vpc-2, and groups sg-1 (vpc-1) and sg-2 (vpc-2).
type fakeEC2 struct{}

var fakeSubnets = map[string]Subnet{
	"subnet-a": {ID: "subnet-a", VPCID: "vpc-1", Zone: "us-east-1a"}, "subnet-b": {ID: "subnet-b", VPCID: "vpc-1", Zone: "us-east-1b"},
	"subnet-a2": {ID: "subnet-a2", VPCID: "vpc-1", Zone: "us-east-1a"}, "subnet-x": {ID: "subnet-x", VPCID: "vpc-2", Zone: "us-east-1c"},
}

var fakeGroups = map[string]SecurityGroup{"sg-1": {ID: "sg-1", VPCID: "vpc-1"}, "sg-2": {ID: "sg-2", VPCID: "vpc-2"}}

func (fakeEC2) Subnets(_ context.Context, _, _ string, ids []string) ([]Subnet, string, error) {
	var out []Subnet
	for _, id := range ids {
		sn, ok := fakeSubnets[id]
		if !ok {
			return nil, id, nil
		}
		out = append(out, sn)
	}
	return out, "", nil
}

func (fakeEC2) SecurityGroups(_ context.Context, _, _ string, ids []string) ([]SecurityGroup, string, error) {
	var out []SecurityGroup
	for _, id := range ids {
		g, ok := fakeGroups[id]
		if !ok {
			return nil, id, nil
		}
		out = append(out, g)
	}
	return out, "", nil
}

func TestLoadBalancerNetworkChecked(t *testing.T) {
	s := newTestService(t)
	s.SetNetwork(fakeEC2{})
	ctx := awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: "123456789012", Region: "us-east-1"})
	create := func(subnets, groups []string) (*elbv2.CreateLoadBalancerOutput, error) {
		return s.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: new("web"), Subnets: subnets, SecurityGroups: groups})
	}
	for _, tc := range []struct {
		subnets, groups []string
		code            string
	}{
		{[]string{"subnet-a", "subnet-nope"}, nil, elbv2.CodeSubnetNotFoundException},
		{[]string{"subnet-a", "subnet-a2"}, nil, elbv2.CodeInvalidConfigurationRequestException},
		{[]string{"subnet-a"}, nil, "ValidationError"},
		{nil, nil, "ValidationError"},
		{[]string{"subnet-a", "subnet-x"}, nil, elbv2.CodeInvalidConfigurationRequestException},
		{[]string{"subnet-a", "subnet-b"}, []string{"sg-nope"}, elbv2.CodeInvalidSecurityGroupException},
		{[]string{"subnet-a", "subnet-b"}, []string{"sg-2"}, elbv2.CodeInvalidConfigurationRequestException},
	} {
		if _, err := create(tc.subnets, tc.groups); code(err) != tc.code {
			t.Errorf("subnets %v groups %v: %v, want %s", tc.subnets, tc.groups, err, tc.code)
		}
	}
	out, err := create([]string{"subnet-b", "subnet-a"}, []string{"sg-1"})
	if err != nil {
		t.Fatal(err)
	}
	lb := out.LoadBalancers[0]
	if deref(lb.VpcId) != "vpc-1" || len(lb.AvailabilityZones) != 2 || deref(lb.AvailabilityZones[0].ZoneName) != "us-east-1b" ||
		deref(lb.AvailabilityZones[0].SubnetId) != "subnet-b" {
		t.Errorf("load balancer %+v", lb)
	}

	if _, err := s.SetSubnets(ctx, &elbv2.SetSubnetsInput{LoadBalancerArn: lb.LoadBalancerArn, Subnets: []string{"subnet-a", "subnet-nope"}}); code(err) != elbv2.CodeSubnetNotFoundException {
		t.Errorf("SetSubnets with an unknown subnet: %v", err)
	}
	set, err := s.SetSubnets(ctx, &elbv2.SetSubnetsInput{LoadBalancerArn: lb.LoadBalancerArn, Subnets: []string{"subnet-a2", "subnet-b"}})
	if err != nil || len(set.AvailabilityZones) != 2 || deref(set.AvailabilityZones[0].SubnetId) != "subnet-a2" || deref(set.AvailabilityZones[0].ZoneName) != "us-east-1a" {
		t.Errorf("SetSubnets: %+v %v", set, err)
	}
	if _, err := s.SetSecurityGroups(ctx, &elbv2.SetSecurityGroupsInput{LoadBalancerArn: lb.LoadBalancerArn, SecurityGroups: []string{"sg-nope"}}); code(err) != elbv2.CodeInvalidSecurityGroupException {
		t.Errorf("SetSecurityGroups with an unknown group: %v", err)
	}
	if _, err := s.SetSecurityGroups(ctx, &elbv2.SetSecurityGroupsInput{LoadBalancerArn: new("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/0000000000000000"), SecurityGroups: []string{"sg-1"}}); code(err) != elbv2.CodeLoadBalancerNotFoundException {
		t.Errorf("SetSecurityGroups of a missing load balancer: %v", err)
	}
	sg, err := s.SetSecurityGroups(ctx, &elbv2.SetSecurityGroupsInput{LoadBalancerArn: lb.LoadBalancerArn, SecurityGroups: []string{}})
	if err != nil || len(sg.SecurityGroupIds) != 0 {
		t.Errorf("SetSecurityGroups to none: %+v %v", sg, err)
	}
	desc, err := s.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil || len(desc.LoadBalancers) != 1 || len(desc.LoadBalancers[0].SecurityGroups) != 0 || deref(desc.LoadBalancers[0].AvailabilityZones[0].SubnetId) != "subnet-a2" {
		t.Errorf("after SetSubnets and SetSecurityGroups: %+v %v", desc, err)
	}
}
