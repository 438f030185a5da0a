package ec2_test

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	ec2api "github.com/berth-dev/berth/api/ec2"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/ec2"
	"github.com/berth-dev/berth/store/sqlite"
)

func newService(t *testing.T) *ec2.Service {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := ec2.New(ec2.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func ctxFor(account, region string) context.Context {
	return awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: account, Region: region})
}

// The Go API ECS and ELB use: defaults, lookups, typed errors.
func TestGoAPI(t *testing.T) {
	svc := newService(t)
	ctx := context.Background()
	const acct, region = "123456789012", "eu-central-1"
	subnets, err := svc.DefaultSubnets(ctx, acct, region)
	if err != nil || len(subnets) != 3 {
		t.Fatalf("default subnets %+v %v", subnets, err)
	}
	if subnets[0].AvailabilityZone != "eu-central-1a" || subnets[0].AvailabilityZoneID != "euc1-az1" || subnets[2].CIDRBlock != "172.31.32.0/20" {
		t.Errorf("subnets %+v", subnets)
	}
	vpc, err := svc.DefaultVPC(ctx, acct, region)
	if err != nil || vpc.ID != subnets[0].VPCID || !vpc.IsDefault {
		t.Errorf("vpc %+v %v", vpc, err)
	}
	sg, err := svc.DefaultSecurityGroup(ctx, acct, region, "")
	if err != nil || sg.Name != "default" || sg.VPCID != vpc.ID {
		t.Errorf("default group %+v %v", sg, err)
	}
	if err := svc.ValidateSubnets(ctx, acct, region, []string{subnets[0].ID, subnets[1].ID}); err != nil {
		t.Error(err)
	}
	if err := svc.ValidateSecurityGroups(ctx, acct, region, []string{sg.ID}); err != nil {
		t.Error(err)
	}
	err = svc.ValidateSubnets(ctx, acct, region, []string{subnets[0].ID, "subnet-0123456789abcdef0"})
	var nf *ec2.NotFoundError
	if !errors.Is(err, ec2.ErrNotFound) || !errors.As(err, &nf) || nf.Code != "InvalidSubnetID.NotFound" || nf.ID != "subnet-0123456789abcdef0" {
		t.Errorf("unknown subnet: %v", err)
	}
	if err := svc.ValidateSecurityGroups(ctx, acct, region, []string{"default"}); !errors.Is(err, ec2.ErrMalformed) {
		t.Errorf("malformed group: %v", err)
	}
	// Another account sees none of these.
	if err := svc.ValidateSubnets(ctx, "210987654321", region, []string{subnets[0].ID}); !errors.Is(err, ec2.ErrNotFound) {
		t.Errorf("another account's subnet: %v", err)
	}
	again, _ := svc.DefaultSubnets(ctx, acct, region)
	if again[0].ID != subnets[0].ID {
		t.Error("the defaults were created twice")
	}
}

// Concurrent first uses create one default network.
func TestDefaultsCreatedOnce(t *testing.T) {
	svc := newService(t)
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := svc.DefaultVPC(context.Background(), "000000000000", "us-east-1")
			if err != nil {
				t.Error(err)
			}
			ids[i] = v.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("several default VPCs: %v", ids)
		}
	}
}

// Filters: wildcards, tags, unknown names; through the wire binding.
func TestFilters(t *testing.T) {
	svc := newService(t)
	qs := ec2api.NewEC2Service(svc)
	ctx := ctxFor("000000000000", "us-west-2")
	call := func(action, form string) (string, error) {
		params, _ := url.ParseQuery(form)
		out, err := qs.Operations[action](ctx, params)
		return string(out), err
	}
	out, err := call("DescribeSubnets", "Filter.1.Name=availability-zone&Filter.1.Value.1=us-west-2?&Filter.2.Name=cidr-block&Filter.2.Value.1=172.31.1*")
	if err != nil || strings.Count(out, "<subnetId>") != 1 || !strings.Contains(out, "<availabilityZone>us-west-2b</availabilityZone>") || !strings.Contains(out, "<availabilityZoneId>usw2-az2</availabilityZoneId>") {
		t.Errorf("wildcards: %v %s", err, out)
	}
	v, _ := svc.DefaultVPC(context.Background(), "000000000000", "us-west-2")
	if _, err := call("CreateTags", "ResourceId.1="+v.ID+"&Tag.1.Key=Name&Tag.1.Value=main"); err != nil {
		t.Fatal(err)
	}
	out, err = call("DescribeVpcs", "Filter.1.Name=tag:Name&Filter.1.Value.1=main")
	if err != nil || !strings.Contains(out, "<tagSet><item><key>Name</key><value>main</value></item></tagSet>") {
		t.Errorf("tag filter: %v %s", err, out)
	}
	out, err = call("DescribeVpcs", "Filter.1.Name=tag:Name&Filter.1.Value.1=other")
	if err != nil || out != "<vpcSet></vpcSet>" {
		t.Errorf("tag filter mismatch: %v %s", err, out)
	}
	if _, err := call("DescribeSubnets", "Filter.1.Name=nope&Filter.1.Value.1=x"); awsapi.AsError(err) == nil || awsapi.AsError(err).Code != "InvalidParameterValue" {
		t.Errorf("unknown filter: %v", err)
	}
	if _, err := call("CreateTags", "ResourceId.1=i-0123456789abcdef0&Tag.1.Key=a"); awsapi.AsError(err) == nil || awsapi.AsError(err).Code != "InvalidID" {
		t.Errorf("untaggable id: %v", err)
	}
	if _, err := call("CreateTags", "ResourceId.1="+v.ID+"&Tag.1.Key=aws:x"); awsapi.AsError(err) == nil {
		t.Error("aws: tag key accepted")
	}
}

// Rules: protocols, ports, group references, deletion guards.
func TestRules(t *testing.T) {
	svc := newService(t)
	qs := ec2api.NewEC2Service(svc)
	ctx := ctxFor("000000000000", "us-east-1")
	call := func(action, form string) (string, error) {
		params, _ := url.ParseQuery(form)
		out, err := qs.Operations[action](ctx, params)
		return string(out), err
	}
	code := func(err error) string {
		if e := awsapi.AsError(err); e != nil {
			return e.Code
		}
		return ""
	}
	a, err := call("CreateSecurityGroup", "GroupName=a&GroupDescription=a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := call("CreateSecurityGroup", "GroupName=b&GroupDescription=b")
	if err != nil {
		t.Fatal(err)
	}
	idOf := func(out string) string {
		_, rest, _ := strings.Cut(out, "<groupId>")
		id, _, _ := strings.Cut(rest, "</groupId>")
		return id
	}
	aID, bID := idOf(a), idOf(b)
	for form, want := range map[string]string{
		"IpPermissions.1.IpProtocol=tcp&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0":                                                       "InvalidParameterValue",
		"IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=90&IpPermissions.1.ToPort=80&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0": "InvalidParameterValue",
		"IpPermissions.1.IpProtocol=bogus&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0":                                                     "InvalidParameterValue",
		"IpPermissions.1.IpProtocol=-1&IpPermissions.1.Groups.1.GroupId=sg-0123456789abcdef0":                                              "InvalidGroup.NotFound",
		"IpPermissions.1.IpProtocol=-1": "MissingParameter",
	} {
		if _, err := call("AuthorizeSecurityGroupIngress", "GroupId="+aID+"&"+form); code(err) != want {
			t.Errorf("%s: want %s, got %v", form, want, err)
		}
	}
	if _, err := call("AuthorizeSecurityGroupIngress", "GroupId="+aID+"&IpPermissions.1.IpProtocol=6&IpPermissions.1.FromPort=443&IpPermissions.1.ToPort=443&IpPermissions.1.Groups.1.GroupId="+bID); err != nil {
		t.Fatal(err)
	}
	if _, err := call("AuthorizeSecurityGroupIngress", "GroupId="+aID+"&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=443&IpPermissions.1.ToPort=443&IpPermissions.1.Groups.1.GroupId="+bID); code(err) != "InvalidPermission.Duplicate" {
		t.Errorf("protocol 6 and tcp are one rule: %v", err)
	}
	if _, err := call("DeleteSecurityGroup", "GroupId="+bID); code(err) != "DependencyViolation" {
		t.Errorf("deleting a referenced group: %v", err)
	}
	out, err := call("RevokeSecurityGroupIngress", "GroupId="+aID+"&IpPermissions.1.IpProtocol=udp&IpPermissions.1.FromPort=1&IpPermissions.1.ToPort=1&IpPermissions.1.IpRanges.1.CidrIp=10.0.0.0/8")
	if err != nil || !strings.Contains(out, "<unknownIpPermissionSet><item>") {
		t.Errorf("revoking an absent rule: %v %s", err, out)
	}
	out, err = call("DescribeSecurityGroupRules", "Filter.1.Name=group-id&Filter.1.Value.1="+aID)
	if err != nil || strings.Count(out, "<securityGroupRuleId>") != 2 {
		t.Errorf("rules of a: %v %s", err, out)
	}
	if _, err := call("RevokeSecurityGroupIngress", "GroupId="+aID+"&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=443&IpPermissions.1.ToPort=443&IpPermissions.1.Groups.1.GroupId="+bID); err != nil {
		t.Fatal(err)
	}
	if _, err := call("DeleteSecurityGroup", "GroupId="+bID); err != nil {
		t.Errorf("deleting b after revoke: %v", err)
	}
	if _, err := call("CreateSecurityGroup", "GroupName=default&GroupDescription=x"); code(err) != "InvalidParameterValue" {
		t.Errorf("reserved name: %v", err)
	}
	if _, err := call("CreateSecurityGroup", "GroupName=x"); code(err) != "MissingParameter" {
		t.Errorf("no description: %v", err)
	}
}

// The read-only main route table, default ACL and VPC attributes that
// Terraform's aws_vpc reads.
func TestDerivedLookups(t *testing.T) {
	svc := newService(t)
	qs := ec2api.NewEC2Service(svc)
	ctx := ctxFor("000000000000", "us-east-1")
	v, _ := svc.DefaultVPC(context.Background(), "000000000000", "us-east-1")
	call := func(action, form string) (string, error) {
		params, _ := url.ParseQuery(form)
		out, err := qs.Operations[action](ctx, params)
		return string(out), err
	}
	out, err := call("DescribeRouteTables", "Filter.1.Name=association.main&Filter.1.Value.1=true&Filter.2.Name=vpc-id&Filter.2.Value.1="+v.ID)
	hex := strings.TrimPrefix(v.ID, "vpc-")
	if err != nil || !strings.Contains(out, "<routeTableId>rtb-"+hex+"</routeTableId>") || !strings.Contains(out, "<main>true</main>") || !strings.Contains(out, "<gatewayId>igw-"+hex+"</gatewayId>") {
		t.Errorf("main route table: %v %s", err, out)
	}
	out, err = call("DescribeVpcAttribute", "VpcId="+v.ID+"&Attribute=enableDnsHostnames")
	if err != nil || out != "<enableDnsHostnames><value>true</value></enableDnsHostnames><vpcId>"+v.ID+"</vpcId>" {
		t.Errorf("attribute: %v %s", err, out)
	}
	if _, err := call("DescribeVpcAttribute", "VpcId=vpc-0123456789abcdef0&Attribute=enableDnsSupport"); awsapi.AsError(err) == nil || awsapi.AsError(err).Code != "InvalidVpcID.NotFound" {
		t.Errorf("unknown VPC: %v", err)
	}
	out, err = call("DescribeNetworkAcls", "Filter.1.Name=default&Filter.1.Value.1=true")
	if err != nil || strings.Count(out, "<subnetId>") != 3 || !strings.Contains(out, "<networkAclId>acl-"+hex+"</networkAclId>") {
		t.Errorf("default ACL: %v %s", err, out)
	}
	out, err = call("DescribeNetworkInterfaces", "Filter.1.Name=group-id&Filter.1.Value.1=sg-0123456789abcdef0")
	if err != nil || out != "<networkInterfaceSet></networkInterfaceSet>" {
		t.Errorf("interfaces: %v %s", err, out)
	}
}
