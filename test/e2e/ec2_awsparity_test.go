package e2e

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// ec2ParityScript records, through boto3, the answers where Berth's EC2
// differed from AWS's recorded ones.
const ec2ParityScript = `
import json, boto3, botocore
ec2 = boto3.client("ec2")
out = {}

def err(f):
    try:
        f()
    except botocore.exceptions.ClientError as e:
        return [e.response["Error"]["Code"], e.response["Error"]["Message"]]
    return None

vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]
out["createVpcKeys"] = sorted(vpc)
out["createVpcState"] = vpc["State"]
out["createVpcIpv6"] = vpc["Ipv6CidrBlockAssociationSet"]
d = ec2.describe_vpcs(VpcIds=[vpc["VpcId"]])["Vpcs"][0]
out["describeVpcState"] = d["State"]
out["describeVpcHasTags"] = "Tags" in d
out["vpcTooBig"] = err(lambda: ec2.create_vpc(CidrBlock="10.0.0.0/8"))
out["vpcTooSmall"] = err(lambda: ec2.create_vpc(CidrBlock="10.0.0.0/29"))

sn = ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock="10.7.1.0/24")["Subnet"]
out["subnet"] = {k: sn.get(k) for k in ("EnableDns64", "Ipv6Native", "PrivateDnsNameOptionsOnLaunch")}
ds = ec2.describe_subnets(SubnetIds=[sn["SubnetId"]])["Subnets"][0]
out["describeSubnet"] = {k: ds.get(k) for k in ("EnableDns64", "Ipv6Native", "PrivateDnsNameOptionsOnLaunch")}

gid = ec2.create_security_group(GroupName="parity", Description="parity group", VpcId=vpc["VpcId"])["GroupId"]
g = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]
out["groupKeys"] = sorted(g)
out["defaultEgress"] = g["IpPermissionsEgress"]
rules = ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
    {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])["SecurityGroupRules"]
out["ruleKeys"] = sorted(rules[0])
ec2.create_tags(Resources=[gid], Tags=[{"Key": "team", "Value": "a"}])
out["taggedGroupTags"] = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0].get("Tags")
out["emptyDescription"] = err(lambda: ec2.create_security_group(GroupName="parity-empty", Description="", VpcId=vpc["VpcId"]))
out["emptyDescriptionCreated"] = len(ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["parity-empty"]}])["SecurityGroups"])
out["duplicateRule"] = err(lambda: ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
    {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]))
print(json.dumps(out))
`

// TestEC2AWSParity checks EC2 answers against AWS's recorded ones:
// CreateVpc answers the VPC pending (DescribeVpcs then shows it
// available) with an empty Ipv6CidrBlockAssociationSet and no tagSet when
// it has no tags; a VPC block outside /16../28 is InvalidVpc.Range;
// subnets carry EnableDns64, Ipv6Native and PrivateDnsNameOptionsOnLaunch
// (ip-name); a security group without tags has no Tags member, nor do the
// rules AuthorizeSecurityGroupIngress echoes; a new group allows all
// egress; and an empty group description is MissingParameter
// GroupDescription, creating nothing.
func TestEC2AWSParity(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	var got struct {
		CreateVpcKeys                    []string
		CreateVpcState, DescribeVpcState string
		CreateVpcIpv6                    []any
		DescribeVpcHasTags               bool
		VpcTooBig, VpcTooSmall           []string
		Subnet, DescribeSubnet           map[string]any
		GroupKeys, RuleKeys              []string
		DefaultEgress                    []map[string]any
		TaggedGroupTags                  []map[string]string
		EmptyDescription, DuplicateRule  []string
		EmptyDescriptionCreated          int
	}
	b.Python(t, ec2ParityScript).Must(t).JSON(t, &got)

	eq := func(what string, have, want any) {
		t.Helper()
		if !reflect.DeepEqual(have, want) {
			h, _ := json.Marshal(have)
			w, _ := json.Marshal(want)
			t.Errorf("%s: %s, want %s", what, h, w)
		}
	}
	eq("CreateVpc keys", got.CreateVpcKeys, []string{"CidrBlock", "CidrBlockAssociationSet", "DhcpOptionsId", "InstanceTenancy",
		"Ipv6CidrBlockAssociationSet", "IsDefault", "OwnerId", "State", "VpcId"})
	eq("CreateVpc state", got.CreateVpcState, "pending")
	eq("CreateVpc IPv6 set", got.CreateVpcIpv6, []any{})
	eq("DescribeVpcs state", got.DescribeVpcState, "available")
	eq("untagged VPC has Tags", got.DescribeVpcHasTags, false)
	eq("/8 VPC", got.VpcTooBig, []string{"InvalidVpc.Range", "The CIDR '10.0.0.0/8' is invalid."})
	eq("/29 VPC", got.VpcTooSmall, []string{"InvalidVpc.Range", "The CIDR '10.0.0.0/29' is invalid."})
	wantSubnet := map[string]any{"EnableDns64": false, "Ipv6Native": false, "PrivateDnsNameOptionsOnLaunch": map[string]any{
		"HostnameType": "ip-name", "EnableResourceNameDnsARecord": false, "EnableResourceNameDnsAAAARecord": false}}
	eq("CreateSubnet", got.Subnet, wantSubnet)
	eq("DescribeSubnets", got.DescribeSubnet, wantSubnet)
	eq("group keys", got.GroupKeys, []string{"Description", "GroupId", "GroupName", "IpPermissions", "IpPermissionsEgress",
		"OwnerId", "SecurityGroupArn", "VpcId"})
	eq("default egress", got.DefaultEgress, []map[string]any{{"IpProtocol": "-1", "IpRanges": []any{map[string]any{"CidrIp": "0.0.0.0/0"}},
		"Ipv6Ranges": []any{}, "PrefixListIds": []any{}, "UserIdGroupPairs": []any{}}})
	eq("authorized rule keys", got.RuleKeys, []string{"CidrIpv4", "FromPort", "GroupId", "GroupOwnerId", "IpProtocol", "IsEgress",
		"SecurityGroupRuleArn", "SecurityGroupRuleId", "ToPort"})
	eq("tagged group", got.TaggedGroupTags, []map[string]string{{"Key": "team", "Value": "a"}})
	eq("empty description", got.EmptyDescription, []string{"MissingParameter", "The request must contain the parameter GroupDescription"})
	eq("groups made with an empty description", got.EmptyDescriptionCreated, 0)
	eq("duplicate rule", got.DuplicateRule, []string{"InvalidPermission.Duplicate",
		`the specified rule "peer: 0.0.0.0/0, TCP, from port: 22, to port: 22, ALLOW" already exists`})
}
