package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/ec2query"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/berth-dev/berth/test/harness"
)

var (
	vpcIDRE    = regexp.MustCompile(`^vpc-[0-9a-f]{17}$`)
	subnetIDRE = regexp.MustCompile(`^subnet-[0-9a-f]{17}$`)
	sgIDRE     = regexp.MustCompile(`^sg-[0-9a-f]{17}$`)
)

type ec2Tag struct{ Key, Value string }

type ec2Vpc struct {
	VpcId, CidrBlock, State, OwnerId string
	IsDefault                        bool
	Tags                             []ec2Tag
}

type ec2Subnet struct {
	SubnetId, VpcId, CidrBlock, AvailabilityZone, AvailabilityZoneId string
	DefaultForAz, MapPublicIpOnLaunch                                bool
	AvailableIpAddressCount                                          int
}

type ec2IPPerm struct {
	IpProtocol       string
	FromPort, ToPort *int
	IpRanges         []struct{ CidrIp, Description string }
	UserIdGroupPairs []struct{ GroupId, UserId string }
}

type ec2Group struct {
	GroupId, GroupName, Description, VpcId, OwnerId string
	IpPermissions, IpPermissionsEgress              []ec2IPPerm
	Tags                                            []ec2Tag
}

// ec2Defaults describes the default network with cli and checks its shape.
func ec2Defaults(t *testing.T, b *harness.Berth, cli awsCLI) (ec2Vpc, []ec2Subnet, ec2Group) {
	t.Helper()
	var vpcs struct{ Vpcs []ec2Vpc }
	cli.run(b, t, "ec2", "describe-vpcs").Must(t).JSON(t, &vpcs)
	if len(vpcs.Vpcs) != 1 {
		t.Fatalf("%s: want one default VPC, got %+v", cli.name, vpcs.Vpcs)
	}
	v := vpcs.Vpcs[0]
	if !vpcIDRE.MatchString(v.VpcId) || v.CidrBlock != "172.31.0.0/16" || !v.IsDefault || v.State != "available" {
		t.Errorf("%s: default VPC %+v", cli.name, v)
	}
	var subnets struct{ Subnets []ec2Subnet }
	cli.run(b, t, "ec2", "describe-subnets", "--filters", "Name=vpc-id,Values="+v.VpcId, "Name=default-for-az,Values=true").Must(t).JSON(t, &subnets)
	sort.Slice(subnets.Subnets, func(i, j int) bool { return subnets.Subnets[i].AvailabilityZone < subnets.Subnets[j].AvailabilityZone })
	region := b.Region()
	if len(subnets.Subnets) != 3 {
		t.Fatalf("%s: want 3 default subnets, got %+v", cli.name, subnets.Subnets)
	}
	for i, sn := range subnets.Subnets {
		wantAZ, wantCIDR := region+string(rune('a'+i)), []string{"172.31.0.0/20", "172.31.16.0/20", "172.31.32.0/20"}[i]
		if !subnetIDRE.MatchString(sn.SubnetId) || sn.VpcId != v.VpcId || sn.AvailabilityZone != wantAZ || sn.CidrBlock != wantCIDR ||
			!sn.DefaultForAz || !sn.MapPublicIpOnLaunch || sn.AvailableIpAddressCount != 4091 || sn.AvailabilityZoneId == "" {
			t.Errorf("%s: subnet %d: %+v", cli.name, i, sn)
		}
	}
	var groups struct{ SecurityGroups []ec2Group }
	cli.run(b, t, "ec2", "describe-security-groups", "--filters", "Name=group-name,Values=default", "Name=vpc-id,Values="+v.VpcId).Must(t).JSON(t, &groups)
	if len(groups.SecurityGroups) != 1 {
		t.Fatalf("%s: want the default group, got %+v", cli.name, groups.SecurityGroups)
	}
	g := groups.SecurityGroups[0]
	if !sgIDRE.MatchString(g.GroupId) || g.GroupName != "default" || g.VpcId != v.VpcId ||
		len(g.IpPermissions) != 1 || g.IpPermissions[0].IpProtocol != "-1" || len(g.IpPermissions[0].UserIdGroupPairs) != 1 || g.IpPermissions[0].UserIdGroupPairs[0].GroupId != g.GroupId ||
		len(g.IpPermissionsEgress) != 1 || len(g.IpPermissionsEgress[0].IpRanges) != 1 || g.IpPermissionsEgress[0].IpRanges[0].CidrIp != "0.0.0.0/0" {
		t.Errorf("%s: default group %+v", cli.name, g)
	}
	var zones struct {
		AvailabilityZones []struct{ ZoneName, ZoneId, State, RegionName string }
	}
	cli.run(b, t, "ec2", "describe-availability-zones").Must(t).JSON(t, &zones)
	if len(zones.AvailabilityZones) != 3 || zones.AvailabilityZones[0].ZoneName != region+"a" || zones.AvailabilityZones[0].State != "available" || zones.AvailabilityZones[0].RegionName != region {
		t.Errorf("%s: zones %+v", cli.name, zones)
	}
	return v, subnets.Subnets, g
}

// The default VPC, subnets and group look as in AWS to both CLIs, are the
// same for both, survive a restart, and differ between accounts.
func TestEC2Defaults(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	var first ec2Vpc
	var firstSubnets []ec2Subnet
	for i, cli := range awsCLIs {
		v, subnets, _ := ec2Defaults(t, b, cli)
		if i == 0 {
			first, firstSubnets = v, subnets
		} else if v.VpcId != first.VpcId || subnets[0].SubnetId != firstSubnets[0].SubnetId {
			t.Errorf("%s sees another network: %s vs %s", cli.name, v.VpcId, first.VpcId)
		}
	}
	var regions struct {
		Regions []struct{ RegionName, Endpoint string }
	}
	b.AWSv2(t, "ec2", "describe-regions", "--region-names", "us-east-1").Must(t).JSON(t, &regions)
	if len(regions.Regions) != 1 || regions.Regions[0].Endpoint != "ec2.us-east-1.amazonaws.com" {
		t.Errorf("regions %+v", regions)
	}
	var attrs struct {
		AccountAttributes []struct {
			AttributeName   string
			AttributeValues []struct{ AttributeValue string }
		}
	}
	b.AWSv2(t, "ec2", "describe-account-attributes", "--attribute-names", "default-vpc").Must(t).JSON(t, &attrs)
	if len(attrs.AccountAttributes) != 1 || attrs.AccountAttributes[0].AttributeValues[0].AttributeValue != first.VpcId {
		t.Errorf("account attributes %+v", attrs)
	}

	b.Restart()
	v, _, _ := ec2Defaults(t, b, awsCLIs[1])
	if v.VpcId != first.VpcId {
		t.Errorf("the default VPC changed across a restart: %s, then %s", first.VpcId, v.VpcId)
	}

	other := b.As("222233334444", "x")
	ov, osn, _ := ec2Defaults(t, other, awsCLIs[1])
	if ov.VpcId == first.VpcId || osn[0].SubnetId == firstSubnets[0].SubnetId || ov.OwnerId != "222233334444" {
		t.Errorf("accounts share a network: %+v", ov)
	}
	if r := other.AWSv2(t, "ec2", "describe-vpcs", "--vpc-ids", first.VpcId); r.ErrorCode() != "InvalidVpcID.NotFound" {
		t.Errorf("another account's VPC: exit %d %s", r.ExitCode, r.Stderr)
	}
	west := b.InRegion("eu-west-1")
	wv, wsn, _ := ec2Defaults(t, west, awsCLIs[1])
	if wv.VpcId == first.VpcId || wsn[0].AvailabilityZone != "eu-west-1a" || wsn[0].AvailabilityZoneId != "euw1-az1" {
		t.Errorf("regions share a network or zones are misnamed: %+v %+v", wv, wsn[0])
	}
}

// Security groups and their rules, tags, and EC2's errors, with both CLIs.
func TestEC2SecurityGroupsCLI(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	for _, cli := range awsCLIs {
		t.Run(cli.name, func(t *testing.T) {
			run := func(args ...string) *harness.Result { return cli.run(b, t, append([]string{"ec2"}, args...)...) }
			name := "web-" + cli.name
			var created struct{ GroupId string }
			run("create-security-group", "--group-name", name, "--description", "web tier",
				"--tag-specifications", "ResourceType=security-group,Tags=[{Key=tier,Value=web}]").Must(t).JSON(t, &created)
			if !sgIDRE.MatchString(created.GroupId) {
				t.Fatalf("group id %q", created.GroupId)
			}
			if r := run("create-security-group", "--group-name", name, "--description", "again"); r.ErrorCode() != "InvalidGroup.Duplicate" {
				t.Errorf("duplicate group: exit %d %s", r.ExitCode, r.Stderr)
			}
			var auth struct {
				Return             bool
				SecurityGroupRules []struct {
					SecurityGroupRuleId, CidrIpv4, IpProtocol string
					FromPort, ToPort                          int
					IsEgress                                  bool
				}
			}
			run("authorize-security-group-ingress", "--group-id", created.GroupId, "--protocol", "tcp", "--port", "80", "--cidr", "0.0.0.0/0").Must(t).JSON(t, &auth)
			if !auth.Return || len(auth.SecurityGroupRules) != 1 || auth.SecurityGroupRules[0].FromPort != 80 || auth.SecurityGroupRules[0].CidrIpv4 != "0.0.0.0/0" || auth.SecurityGroupRules[0].IsEgress {
				t.Errorf("authorize: %+v", auth)
			}
			if r := run("authorize-security-group-ingress", "--group-id", created.GroupId, "--protocol", "tcp", "--port", "80", "--cidr", "0.0.0.0/0"); r.ErrorCode() != "InvalidPermission.Duplicate" {
				t.Errorf("duplicate rule: exit %d %s", r.ExitCode, r.Stderr)
			}
			run("authorize-security-group-ingress", "--group-id", created.GroupId, "--ip-permissions",
				"IpProtocol=tcp,FromPort=8000,ToPort=8100,IpRanges=[{CidrIp=10.0.0.0/8,Description=internal}],UserIdGroupPairs=[{GroupId="+created.GroupId+"}]").Must(t)
			if r := run("authorize-security-group-ingress", "--group-id", created.GroupId, "--protocol", "tcp", "--port", "22", "--cidr", "10.0.0.1/8"); r.ErrorCode() != "InvalidParameterValue" {
				t.Errorf("malformed CIDR: exit %d %s", r.ExitCode, r.Stderr)
			}
			run("authorize-security-group-egress", "--group-id", created.GroupId, "--ip-permissions", "IpProtocol=udp,FromPort=53,ToPort=53,IpRanges=[{CidrIp=10.0.0.2/32}]").Must(t)

			var groups struct{ SecurityGroups []ec2Group }
			run("describe-security-groups", "--group-ids", created.GroupId).Must(t).JSON(t, &groups)
			if len(groups.SecurityGroups) != 1 {
				t.Fatalf("describe: %+v", groups)
			}
			g := groups.SecurityGroups[0]
			if g.GroupName != name || g.Description != "web tier" || len(g.IpPermissions) != 2 || len(g.IpPermissionsEgress) != 2 || len(g.Tags) != 1 || g.Tags[0] != (ec2Tag{"tier", "web"}) {
				t.Errorf("group %+v", g)
			}
			p := g.IpPermissions[1]
			if p.IpProtocol != "tcp" || *p.FromPort != 8000 || *p.ToPort != 8100 || len(p.IpRanges) != 1 || p.IpRanges[0].Description != "internal" || len(p.UserIdGroupPairs) != 1 {
				t.Errorf("second permission %+v", p)
			}
			run("describe-security-groups", "--filters", "Name=tag:tier,Values=web", "Name=group-name,Values=web-*").Must(t).JSON(t, &groups)
			if len(groups.SecurityGroups) < 1 {
				t.Errorf("tag filter found %+v", groups)
			}
			run("describe-security-groups", "--group-names", name).Must(t).JSON(t, &groups)
			if len(groups.SecurityGroups) != 1 || groups.SecurityGroups[0].GroupId != created.GroupId {
				t.Errorf("by name: %+v", groups)
			}

			run("revoke-security-group-ingress", "--group-id", created.GroupId, "--protocol", "tcp", "--port", "80", "--cidr", "0.0.0.0/0").Must(t)
			run("describe-security-groups", "--group-ids", created.GroupId).Must(t).JSON(t, &groups)
			if len(groups.SecurityGroups[0].IpPermissions) != 1 {
				t.Errorf("after revoke: %+v", groups.SecurityGroups[0].IpPermissions)
			}

			run("create-tags", "--resources", created.GroupId, "--tags", "Key=env,Value=test").Must(t)
			var tags struct {
				Tags []struct{ Key, Value, ResourceId, ResourceType string }
			}
			run("describe-tags", "--filters", "Name=resource-id,Values="+created.GroupId).Must(t).JSON(t, &tags)
			if len(tags.Tags) != 2 || tags.Tags[0].Key != "env" || tags.Tags[0].ResourceType != "security-group" {
				t.Errorf("tags %+v", tags)
			}
			run("delete-tags", "--resources", created.GroupId, "--tags", "Key=env").Must(t)
			run("describe-tags", "--filters", "Name=resource-id,Values="+created.GroupId).Must(t).JSON(t, &tags)
			if len(tags.Tags) != 1 {
				t.Errorf("after delete-tags %+v", tags)
			}

			for _, c := range []struct {
				args []string
				code string
			}{
				{[]string{"describe-security-groups", "--group-ids", "sg-0123456789abcdef0"}, "InvalidGroup.NotFound"},
				{[]string{"describe-security-groups", "--group-ids", "nope"}, "InvalidGroupId.Malformed"},
				{[]string{"describe-security-groups", "--group-names", "nope"}, "InvalidGroup.NotFound"},
				{[]string{"describe-subnets", "--subnet-ids", "subnet-0123456789abcdef0"}, "InvalidSubnetID.NotFound"},
				{[]string{"describe-vpcs", "--vpc-ids", "vpc-0123456789abcdef0"}, "InvalidVpcID.NotFound"},
				{[]string{"describe-vpcs", "--filters", "Name=bogus,Values=x"}, "InvalidParameterValue"},
				{[]string{"create-security-group", "--group-name", "x", "--description", "y", "--vpc-id", "vpc-0123456789abcdef0"}, "InvalidVpcID.NotFound"},
				{[]string{"authorize-security-group-ingress", "--group-id", "sg-0123456789abcdef0", "--protocol", "tcp", "--port", "80", "--cidr", "0.0.0.0/0"}, "InvalidGroup.NotFound"},
				{[]string{"delete-security-group", "--group-name", "default"}, "CannotDelete"},
				{[]string{"create-security-group", "--group-name", "dry", "--description", "y", "--dry-run"}, "DryRunOperation"},
			} {
				if r := run(c.args...); r.ErrorCode() != c.code {
					t.Errorf("%v: want %s, got exit %d %s", c.args, c.code, r.ExitCode, r.Stderr)
				}
			}
			run("delete-security-group", "--group-id", created.GroupId).Must(t)
			if r := run("describe-security-groups", "--group-ids", created.GroupId); r.ErrorCode() != "InvalidGroup.NotFound" {
				t.Errorf("deleted group: exit %d %s", r.ExitCode, r.Stderr)
			}
		})
	}
}

// CreateVpc and CreateSubnet, with the range checks.
func TestEC2CreateVpcAndSubnet(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	var vpc struct{ Vpc ec2Vpc }
	b.AWSv2(t, "ec2", "create-vpc", "--cidr-block", "10.1.0.0/16").Must(t).JSON(t, &vpc)
	if !vpcIDRE.MatchString(vpc.Vpc.VpcId) || vpc.Vpc.IsDefault {
		t.Fatalf("vpc %+v", vpc)
	}
	var sn struct{ Subnet ec2Subnet }
	b.AWSv2(t, "ec2", "create-subnet", "--vpc-id", vpc.Vpc.VpcId, "--cidr-block", "10.1.1.0/24", "--availability-zone", b.Region()+"b").Must(t).JSON(t, &sn)
	if sn.Subnet.VpcId != vpc.Vpc.VpcId || sn.Subnet.AvailableIpAddressCount != 251 || sn.Subnet.DefaultForAz {
		t.Errorf("subnet %+v", sn)
	}
	if r := b.AWSv2(t, "ec2", "create-subnet", "--vpc-id", vpc.Vpc.VpcId, "--cidr-block", "10.1.1.128/25"); r.ErrorCode() != "InvalidSubnet.Conflict" {
		t.Errorf("overlap: exit %d %s", r.ExitCode, r.Stderr)
	}
	if r := b.AWSv2(t, "ec2", "create-subnet", "--vpc-id", vpc.Vpc.VpcId, "--cidr-block", "10.2.0.0/24"); r.ErrorCode() != "InvalidSubnet.Range" {
		t.Errorf("outside: exit %d %s", r.ExitCode, r.Stderr)
	}
	var groups struct{ SecurityGroups []ec2Group }
	b.AWSv2(t, "ec2", "describe-security-groups", "--filters", "Name=vpc-id,Values="+vpc.Vpc.VpcId).Must(t).JSON(t, &groups)
	if len(groups.SecurityGroups) != 1 || groups.SecurityGroups[0].GroupName != "default" {
		t.Errorf("new VPC's groups %+v", groups)
	}
	var vpcs struct{ Vpcs []ec2Vpc }
	b.AWSv2(t, "ec2", "describe-vpcs", "--filters", "Name=isDefault,Values=true").Must(t).JSON(t, &vpcs)
	if len(vpcs.Vpcs) != 1 || !vpcs.Vpcs[0].IsDefault {
		t.Errorf("isDefault filter %+v", vpcs)
	}
}

const ec2Boto3Script = `
import boto3, json, sys
from botocore.exceptions import ClientError
ec2 = boto3.client("ec2")
out = {}
vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
out["vpc"] = vpc["VpcId"]
out["subnets"] = sorted(s["AvailabilityZone"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"])
gid = ec2.create_security_group(GroupName="boto", Description="from boto3", VpcId=vpc["VpcId"])["GroupId"]
ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
errors = {}
for name, call in [
    ("dup_rule", lambda: ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])),
    ("dup_group", lambda: ec2.create_security_group(GroupName="boto", Description="x", VpcId=vpc["VpcId"])),
    ("no_group", lambda: ec2.describe_security_groups(GroupIds=["sg-0123456789abcdef0"])),
    ("no_subnet", lambda: ec2.describe_subnets(SubnetIds=["subnet-0123456789abcdef0"])),
]:
    try:
        call()
        errors[name] = None
    except ClientError as e:
        errors[name] = [e.response["Error"]["Code"], e.response["Error"]["Message"], e.response["ResponseMetadata"]["HTTPStatusCode"]]
out["errors"] = errors
g = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]
out["perm"] = [g["IpPermissions"][0]["IpProtocol"], g["IpPermissions"][0]["FromPort"], g["IpPermissions"][0]["IpRanges"][0]["CidrIp"]]
out["zones"] = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]]
json.dump(out, sys.stdout)
`

func TestEC2Boto3(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	var out struct {
		VPC     string
		Subnets []string
		Errors  map[string][]any
		Perm    []any
		Zones   []string
	}
	b.Python(t, ec2Boto3Script).Must(t).JSON(t, &out)
	if !vpcIDRE.MatchString(out.VPC) || len(out.Subnets) != 3 || len(out.Zones) != 3 {
		t.Errorf("defaults %+v", out)
	}
	want := map[string]string{"dup_rule": "InvalidPermission.Duplicate", "dup_group": "InvalidGroup.Duplicate", "no_group": "InvalidGroup.NotFound", "no_subnet": "InvalidSubnetID.NotFound"}
	for k, code := range want {
		if e := out.Errors[k]; len(e) != 3 || e[0] != code || e[2] != float64(400) {
			t.Errorf("%s: want %s, got %v", k, code, e)
		}
	}
	if len(out.Perm) != 3 || out.Perm[0] != "tcp" || out.Perm[1] != float64(443) {
		t.Errorf("permission %v", out.Perm)
	}
}

// ec2Call signs an EC2 request with aws-sdk-go-v2's signer, as the SDK's
// ec2 client does, and returns the status and body.
func ec2Call(t *testing.T, b *harness.Berth, params url.Values) (int, []byte) {
	t.Helper()
	params.Set("Version", "2016-11-15")
	body := params.Encode()
	req, err := http.NewRequest(http.MethodPost, b.Endpoint()+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	creds, err := b.SDKConfig(ctx).Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ec2", b.Region(), time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// The documents are EC2's: <XResponse> with requestId and no result
// wrapper, and errors that the SDK's ec2query error decoder reads.
func TestEC2GoSDKWire(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	status, data := ec2Call(t, b, url.Values{"Action": {"DescribeVpcs"}, "Filter.1.Name": {"isDefault"}, "Filter.1.Value.1": {"true"}})
	var vpcs struct {
		XMLName   xml.Name `xml:"DescribeVpcsResponse"`
		RequestID string   `xml:"requestId"`
		Vpcs      []struct {
			VpcID     string `xml:"vpcId"`
			IsDefault bool   `xml:"isDefault"`
		} `xml:"vpcSet>item"`
	}
	if err := xml.Unmarshal(data, &vpcs); status != 200 || err != nil || vpcs.RequestID == "" || len(vpcs.Vpcs) != 1 || !vpcs.Vpcs[0].IsDefault {
		t.Fatalf("DescribeVpcs: %d %v %s", status, err, data)
	}
	status, data = ec2Call(t, b, url.Values{"Action": {"CreateSecurityGroup"}, "GroupName": {"sdk"}, "GroupDescription": {"d"}, "VpcId": {vpcs.Vpcs[0].VpcID}})
	var created struct {
		GroupID string `xml:"groupId"`
	}
	if err := xml.Unmarshal(data, &created); status != 200 || err != nil || !sgIDRE.MatchString(created.GroupID) {
		t.Fatalf("CreateSecurityGroup: %d %v %s", status, err, data)
	}
	for _, c := range []struct {
		params url.Values
		code   string
	}{
		{url.Values{"Action": {"CreateSecurityGroup"}, "GroupName": {"sdk"}, "GroupDescription": {"d"}}, "InvalidGroup.Duplicate"},
		{url.Values{"Action": {"DescribeSubnets"}, "SubnetId.1": {"subnet-0123456789abcdef0"}}, "InvalidSubnetID.NotFound"},
		{url.Values{"Action": {"DescribeSecurityGroups"}, "GroupId.1": {"sg-0123456789abcdef0"}}, "InvalidGroup.NotFound"},
		{url.Values{"Action": {"RunInstances"}}, "InvalidAction"},
	} {
		status, data := ec2Call(t, b, c.params)
		ec, err := ec2query.GetErrorResponseComponents(bytes.NewReader(data))
		if status < 400 || err != nil || ec.Code != c.code || ec.RequestID == "" {
			t.Errorf("%s: want %s, got %d %+v %v %s", c.params.Get("Action"), c.code, status, ec, err, data)
		}
	}
	status, data = ec2Call(t, b, url.Values{"Action": {"AuthorizeSecurityGroupIngress"}, "GroupId": {created.GroupID},
		"IpPermissions.1.IpProtocol": {"tcp"}, "IpPermissions.1.FromPort": {"5432"}, "IpPermissions.1.ToPort": {"5432"},
		"IpPermissions.1.Groups.1.GroupId": {created.GroupID}})
	if status != 200 || !bytes.Contains(data, []byte("<referencedGroupInfo><groupId>"+created.GroupID)) {
		t.Errorf("authorize from a group: %d %s", status, data)
	}
}
