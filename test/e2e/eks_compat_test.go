package e2e

import (
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// EKS request validation that boto3 users meet, checked against what
// EKS documents: a node group's launch template excludes diskSize and
// remoteAccess, custom access-entry usernames cannot take the reserved
// prefixes, node entries' usernames are EKS's own.

const eksCompatScript = `
import json, boto3
from botocore.exceptions import ClientError
eks = boto3.client("eks")
role = "arn:aws:iam::000000000000:role/eks"
out = {}
def code(fn, **kw):
    try:
        fn(**kw)
        return ["ok"]
    except ClientError as e:
        return [e.response["Error"]["Code"], e.response["Error"]["Message"]]
eks.create_cluster(name="compat", roleArn=role, resourcesVpcConfig={"subnetIds": ["subnet-1"]})
eks.get_waiter("cluster_active").wait(name="compat", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
ng = dict(clusterName="compat", nodeRole=role, subnets=["subnet-1"], launchTemplate={"name": "lt", "version": "1"})
out["ltDisk"] = code(eks.create_nodegroup, nodegroupName="a", diskSize=30, **ng)
out["ltSSH"] = code(eks.create_nodegroup, nodegroupName="b", remoteAccess={"ec2SshKey": "k"}, **ng)
created = eks.create_nodegroup(nodegroupName="c", instanceTypes=["t3.large"], **ng)["nodegroup"]
out["ltNodegroup"] = {"launchTemplate": created.get("launchTemplate"), "diskSize": created.get("diskSize"), "instanceTypes": created.get("instanceTypes")}
out["plainDisk"] = eks.create_nodegroup(nodegroupName="d", clusterName="compat", nodeRole=role, subnets=["subnet-1"])["nodegroup"].get("diskSize")
user = "arn:aws:iam::000000000000:user/u"
out["reserved"] = [code(eks.create_access_entry, clusterName="compat", principalArn=user, username=p + "me")[0] for p in ["system:", "eks:", "aws:", "amazon:", "iam:"]]
out["customUser"] = eks.create_access_entry(clusterName="compat", principalArn=user, username="me")["accessEntry"]["username"]
out["updateReserved"] = code(eks.update_access_entry, clusterName="compat", principalArn=user, username="eks:me")[0]
hybrid = "arn:aws:iam::000000000000:role/hybrid"
out["hybrid"] = eks.create_access_entry(clusterName="compat", principalArn=hybrid, type="HYBRID_LINUX")["accessEntry"]["username"]
out["updateNodeGroups"] = code(eks.update_access_entry, clusterName="compat", principalArn=hybrid, kubernetesGroups=["x"])[0]
out["hybridAfter"] = eks.describe_access_entry(clusterName="compat", principalArn=hybrid)["accessEntry"].get("kubernetesGroups")
print(json.dumps(out))
`

func TestEKSCompatValidationWithBoto3(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	var out struct {
		LtDisk, LtSSH []string
		LtNodegroup   struct {
			LaunchTemplate map[string]string
			DiskSize       *int
			InstanceTypes  []string
		}
		PlainDisk        *int
		Reserved         []string
		CustomUser       string
		UpdateReserved   string
		Hybrid           string
		UpdateNodeGroups string
		HybridAfter      []string
	}
	b.Python(t, eksCompatScript).Must(t).JSON(t, &out)
	if len(out.LtDisk) != 2 || out.LtDisk[0] != "InvalidParameterException" || out.LtDisk[1] != "Disk size must be specified within the launch template." {
		t.Errorf("launch template with diskSize: %v", out.LtDisk)
	}
	if len(out.LtSSH) != 2 || out.LtSSH[0] != "InvalidParameterException" || out.LtSSH[1] != "Remote access configuration cannot be specified with a launch template." {
		t.Errorf("launch template with remoteAccess: %v", out.LtSSH)
	}
	lt := out.LtNodegroup
	if lt.LaunchTemplate["name"] != "lt" || lt.DiskSize != nil || len(lt.InstanceTypes) != 1 || lt.InstanceTypes[0] != "t3.large" {
		t.Errorf("node group with a launch template: %+v", lt)
	}
	if out.PlainDisk == nil || *out.PlainDisk != 20 {
		t.Errorf("default disk size: %v", out.PlainDisk)
	}
	if len(out.Reserved) != 5 {
		t.Fatalf("reserved: %v", out.Reserved)
	}
	for i, c := range out.Reserved {
		if c != "InvalidParameterException" {
			t.Errorf("reserved username prefix %d: %s", i, c)
		}
	}
	if out.CustomUser != "me" || out.UpdateReserved != "InvalidParameterException" {
		t.Errorf("custom username %q, update to a reserved one %q", out.CustomUser, out.UpdateReserved)
	}
	if out.Hybrid != "system:node:{{SessionName}}" {
		t.Errorf("HYBRID_LINUX username %q", out.Hybrid)
	}
	if out.UpdateNodeGroups != "InvalidParameterException" || len(out.HybridAfter) != 1 || out.HybridAfter[0] != "system:nodes" {
		t.Errorf("groups on a node entry: %s, after %v", out.UpdateNodeGroups, out.HybridAfter)
	}
}
