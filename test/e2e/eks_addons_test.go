package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// eksAddon is describe-addon's addon.
type eksAddon struct {
	AddonName, ClusterName, Status, AddonVersion, AddonArn string
	ServiceAccountRoleArn, ConfigurationValues, Owner      string
	Publisher                                              string
	Health                                                 struct{ Issues []any }
	Tags                                                   map[string]string
	NamespaceConfig                                        struct{ Namespace string }
}

func describeAddon(t *testing.T, run func(testing.TB, ...string) *harness.Result, cluster, name string) eksAddon {
	t.Helper()
	var out struct{ Addon eksAddon }
	run(t, "eks", "describe-addon", "--cluster-name", cluster, "--addon-name", name).Must(t).JSON(t, &out)
	return out.Addon
}

func eksWantCode(t *testing.T, r *harness.Result, code string) {
	t.Helper()
	if r.ExitCode == 0 || r.ErrorCode() != code {
		t.Errorf("want %s, got exit %d: %s%s", code, r.ExitCode, r.Stdout, r.Stderr)
	}
}

// TestEKSAddons drives the add-on API against a real cluster: coredns is
// ACTIVE with the cluster's kube-dns Service there, the waiters of both
// CLIs, updates visible in describe-update, tags, preserve on delete, and
// the upgrade-readiness insights computed from the API server's metrics and
// the installed add-ons.
func TestEKSAddons(t *testing.T) {
	e := startEKS(t, "eks-app", eksAppImage)
	c := e.createCluster(t, "addons")
	b := e.b

	// coredns with no version: the default one for the cluster's 1.37.
	var created struct{ Addon eksAddon }
	b.AWSv2(t, "eks", "create-addon", "--cluster-name", "addons", "--addon-name", "coredns").Must(t).JSON(t, &created)
	if a := created.Addon; a.Status != "CREATING" || a.AddonVersion != "v1.12.4-eksbuild.1" || a.Owner != "aws" || a.Publisher != "eks" ||
		!strings.HasPrefix(a.AddonArn, "arn:aws:eks:us-east-1:000000000000:addon/addons/coredns/") {
		t.Errorf("create-addon: %+v", a)
	}
	b.AWSv2(t, "eks", "wait", "addon-active", "--cluster-name", "addons", "--addon-name", "coredns").Must(t)
	// (The aws CLI v2 here predates namespaceConfig; v1 shows it.)
	if a := describeAddon(t, b.AWS, "addons", "coredns"); a.Status != "ACTIVE" || len(a.Health.Issues) != 0 || a.NamespaceConfig.Namespace != "kube-system" {
		t.Errorf("coredns: %+v", a)
	}
	// What the add-on stands for on Berth: the cluster DNS behind kube-dns.
	var svc struct{ Spec struct{ ClusterIP string } }
	c.kubectl(t, "get", "service", "kube-dns", "-n", "kube-system", "-o", "json").Must(t).JSON(t, &svc)
	if svc.Spec.ClusterIP != "10.100.0.10" {
		t.Errorf("kube-dns cluster IP %q", svc.Spec.ClusterIP)
	}

	// The aws CLI v1: configuration values as JSON and YAML, a role, tags.
	b.AWS(t, "eks", "create-addon", "--cluster-name", "addons", "--addon-name", "kube-proxy", "--configuration-values", `{"mode":"iptables"}`,
		"--resolve-conflicts", "OVERWRITE", "--tags", "team=net").Must(t)
	b.AWS(t, "eks", "create-addon", "--cluster-name", "addons", "--addon-name", "vpc-cni", "--service-account-role-arn", e.roleArn,
		"--addon-version", "v1.20.3-eksbuild.1", "--configuration-values", "env:\n  WARM_IP_TARGET: \"5\"\n").Must(t)
	b.AWS(t, "eks", "wait", "addon-active", "--cluster-name", "addons", "--addon-name", "vpc-cni").Must(t)
	vpc := describeAddon(t, b.AWS, "addons", "vpc-cni")
	if vpc.ServiceAccountRoleArn != e.roleArn || !strings.Contains(vpc.ConfigurationValues, "WARM_IP_TARGET") || vpc.AddonVersion != "v1.20.3-eksbuild.1" {
		t.Errorf("vpc-cni: %+v", vpc)
	}

	// Errors.
	eksWantCode(t, b.AWS(t, "eks", "create-addon", "--cluster-name", "addons", "--addon-name", "coredns"), "ResourceInUseException")
	eksWantCode(t, b.AWSv2(t, "eks", "create-addon", "--cluster-name", "addons", "--addon-name", "no-such-addon"), "InvalidParameterException")
	eksWantCode(t, b.AWS(t, "eks", "create-addon", "--cluster-name", "addons", "--addon-name", "metrics-server", "--configuration-values", `{"replicas":"two"}`), "InvalidParameterException")
	eksWantCode(t, b.AWS(t, "eks", "create-addon", "--cluster-name", "addons", "--addon-name", "metrics-server", "--configuration-values", `{"nope":1}`), "InvalidParameterException")
	eksWantCode(t, b.AWS(t, "eks", "create-addon", "--cluster-name", "addons", "--addon-name", "metrics-server", "--configuration-values", "a: [b"), "InvalidParameterException")
	eksWantCode(t, b.AWS(t, "eks", "create-addon", "--cluster-name", "addons", "--addon-name", "aws-ebs-csi-driver", "--addon-version", "v1.32.6-eksbuild.8"), "InvalidParameterException")
	eksWantCode(t, b.AWS(t, "eks", "create-addon", "--cluster-name", "nope", "--addon-name", "coredns"), "ResourceNotFoundException")
	eksWantCode(t, b.AWSv2(t, "eks", "describe-addon", "--cluster-name", "addons", "--addon-name", "metrics-server"), "ResourceNotFoundException")

	var list struct{ Addons []string }
	b.AWSv2(t, "eks", "list-addons", "--cluster-name", "addons").Must(t).JSON(t, &list)
	if !slices.Equal(list.Addons, []string{"coredns", "kube-proxy", "vpc-cni"}) {
		t.Errorf("list-addons: %v", list.Addons)
	}

	// An update: AddonUpdate, visible through --addon-name only.
	var upd struct {
		Update struct {
			Id, Status, Type string
			Params           []struct{ Type, Value string }
		}
	}
	b.AWS(t, "eks", "update-addon", "--cluster-name", "addons", "--addon-name", "vpc-cni", "--addon-version", "v1.20.4-eksbuild.1",
		"--configuration-values", `{"enableNetworkPolicy":"true"}`, "--resolve-conflicts", "PRESERVE").Must(t).JSON(t, &upd)
	params := map[string]string{}
	for _, p := range upd.Update.Params {
		params[p.Type] = p.Value
	}
	if upd.Update.Type != "AddonUpdate" || upd.Update.Status != "InProgress" || params["AddonVersion"] != "v1.20.4-eksbuild.1" ||
		params["ResolveConflicts"] != "PRESERVE" || params["ConfigurationValues"] != `{"enableNetworkPolicy":"true"}` {
		t.Errorf("update-addon: %+v", upd.Update)
	}
	eksEventually(t, "the add-on update Successful", func() (bool, string) {
		r := b.AWSv2(t, "eks", "describe-update", "--name", "addons", "--update-id", upd.Update.Id, "--addon-name", "vpc-cni").Must(t)
		return r.Map(t)["update"].(map[string]any)["status"] == "Successful", r.Stdout
	})
	b.AWSv2(t, "eks", "wait", "addon-active", "--cluster-name", "addons", "--addon-name", "vpc-cni").Must(t)
	if a := describeAddon(t, b.AWS, "addons", "vpc-cni"); a.AddonVersion != "v1.20.4-eksbuild.1" || a.ConfigurationValues != `{"enableNetworkPolicy":"true"}` {
		t.Errorf("after update: %+v", a)
	}
	var ids struct{ UpdateIds []string }
	b.AWS(t, "eks", "list-updates", "--name", "addons", "--addon-name", "vpc-cni").Must(t).JSON(t, &ids)
	if !slices.Equal(ids.UpdateIds, []string{upd.Update.Id}) {
		t.Errorf("list-updates --addon-name: %v", ids.UpdateIds)
	}
	b.AWS(t, "eks", "list-updates", "--name", "addons").Must(t).JSON(t, &ids)
	if slices.Contains(ids.UpdateIds, upd.Update.Id) {
		t.Errorf("the cluster's updates list the add-on's: %v", ids.UpdateIds)
	}
	eksWantCode(t, b.AWS(t, "eks", "describe-update", "--name", "addons", "--update-id", upd.Update.Id), "ResourceNotFoundException")
	eksWantCode(t, b.AWS(t, "eks", "update-addon", "--cluster-name", "addons", "--addon-name", "vpc-cni", "--addon-version", "v9.9.9"), "InvalidParameterException")
	eksWantCode(t, b.AWS(t, "eks", "update-addon", "--cluster-name", "addons", "--addon-name", "vpc-cni", "--addon-version", "v1.20.3-eksbuild.1"), "InvalidParameterException")

	// Tags by the add-on's ARN.
	kp := describeAddon(t, b.AWS, "addons", "kube-proxy")
	b.AWS(t, "eks", "tag-resource", "--resource-arn", kp.AddonArn, "--tags", "env=test").Must(t)
	var tags struct{ Tags map[string]string }
	b.AWSv2(t, "eks", "list-tags-for-resource", "--resource-arn", kp.AddonArn).Must(t).JSON(t, &tags)
	if tags.Tags["team"] != "net" || tags.Tags["env"] != "test" {
		t.Errorf("tags: %v", tags.Tags)
	}

	// Insights: the API server has served no deprecated API (read from its
	// metrics, so not UNKNOWN); kube-proxy v1.37 does not run on 1.38.
	var insights struct {
		Insights []struct {
			Id, Name, KubernetesVersion string
			InsightStatus               struct{ Status string }
		}
	}
	b.AWS(t, "eks", "list-insights", "--cluster-name", "addons").Must(t).JSON(t, &insights)
	byName := map[string]string{}
	var addonInsight string
	for _, i := range insights.Insights {
		byName[i.Name] = i.InsightStatus.Status
		if i.Name == "Amazon EKS add-on version compatibility" {
			addonInsight = i.Id
		}
		if i.KubernetesVersion != "1.38" {
			t.Errorf("insight %s for %s", i.Name, i.KubernetesVersion)
		}
	}
	if byName["Deprecated APIs removed in Kubernetes v1.38"] != "PASSING" || byName["Cluster health issues"] != "PASSING" || byName["Amazon EKS add-on version compatibility"] != "ERROR" {
		t.Errorf("insights: %+v", insights.Insights)
	}
	var insight struct {
		Insight struct {
			Recommendation          string
			CategorySpecificSummary struct {
				AddonCompatibilityDetails []struct {
					Name               string
					CompatibleVersions []string
				}
			}
		}
	}
	b.AWS(t, "eks", "describe-insight", "--cluster-name", "addons", "--id", addonInsight).Must(t).JSON(t, &insight)
	if d := insight.Insight.CategorySpecificSummary.AddonCompatibilityDetails; len(d) != 3 || insight.Insight.Recommendation == "" {
		t.Errorf("describe-insight: %+v", insight.Insight)
	}
	var refresh struct{ Status string }
	b.AWS(t, "eks", "start-insights-refresh", "--cluster-name", "addons").Must(t).JSON(t, &refresh)
	if refresh.Status != "IN_PROGRESS" {
		t.Errorf("start-insights-refresh: %+v", refresh)
	}
	b.AWS(t, "eks", "describe-insights-refresh", "--cluster-name", "addons").Must(t).JSON(t, &refresh)
	if refresh.Status != "COMPLETED" {
		t.Errorf("describe-insights-refresh: %+v", refresh)
	}
	eksWantCode(t, b.AWS(t, "eks", "describe-insight", "--cluster-name", "addons", "--id", "00000000-0000-0000-0000-000000000000"), "ResourceNotFoundException")

	// Delete: DELETING, then gone for the waiters; with preserve the
	// cluster keeps its DNS.
	var del struct{ Addon eksAddon }
	b.AWSv2(t, "eks", "delete-addon", "--cluster-name", "addons", "--addon-name", "coredns", "--preserve").Must(t).JSON(t, &del)
	if del.Addon.Status != "DELETING" {
		t.Errorf("delete-addon: %+v", del.Addon)
	}
	b.AWSv2(t, "eks", "wait", "addon-deleted", "--cluster-name", "addons", "--addon-name", "coredns").Must(t)
	b.AWS(t, "eks", "delete-addon", "--cluster-name", "addons", "--addon-name", "vpc-cni").Must(t)
	b.AWS(t, "eks", "wait", "addon-deleted", "--cluster-name", "addons", "--addon-name", "vpc-cni").Must(t)
	eksWantCode(t, b.AWS(t, "eks", "list-updates", "--name", "addons", "--addon-name", "vpc-cni"), "ResourceNotFoundException")
	c.kubectl(t, "get", "service", "kube-dns", "-n", "kube-system").Must(t)
	b.AWS(t, "eks", "list-addons", "--cluster-name", "addons").Must(t).JSON(t, &list)
	if !slices.Equal(list.Addons, []string{"kube-proxy"}) {
		t.Errorf("list-addons after deletes: %v", list.Addons)
	}
}

const eksAddonsBoto3Script = `
import boto3, botocore, json
eks = boto3.client("eks")
out = {}
def names(**kw):
    ns = []
    for page in eks.get_paginator("describe_addon_versions").paginate(**kw):
        ns += [a["addonName"] for a in page["addons"]]
    return ns
out["all"] = names()
out["paged"] = names(PaginationConfig={"PageSize": 3})
out["storage"] = names(types=["storage"])
out["community"] = names(owners=["community"])
out["publishers"] = names(publishers=["eks"])
out["nobody"] = names(publishers=["someone-else"])
kp = eks.describe_addon_versions(addonName="kube-proxy", kubernetesVersion="1.32")["addons"]
out["kubeProxy132"] = [[v["addonVersion"], [(c["clusterVersion"], c["defaultVersion"]) for c in v["compatibilities"]]] for v in kp[0]["addonVersions"]]
cd = eks.describe_addon_versions(addonName="coredns")["addons"][0]
out["coredns"] = {"type": cd["type"], "owner": cd["owner"], "publisher": cd["publisher"], "ns": cd["defaultNamespace"],
    "versions": [v["addonVersion"] for v in cd["addonVersions"]]}
conf = eks.describe_addon_configuration(addonName="vpc-cni", addonVersion="v1.20.4-eksbuild.1")
schema = json.loads(conf["configurationSchema"])
out["schema"] = [schema["$schema"], sorted(schema["definitions"]["vpc-cni"]["properties"])[:3]]
out["podIdentity"] = conf["podIdentityConfiguration"]
try:
    eks.describe_addon_configuration(addonName="vpc-cni", addonVersion="v0.0.1")
except botocore.exceptions.ClientError as e:
    out["badVersion"] = e.response["Error"]["Code"]

eks.create_cluster(name="py-addons", roleArn="arn:aws:iam::000000000000:role/eks", resourcesVpcConfig={"subnetIds": ["subnet-1"]}, version="1.32")
eks.get_waiter("cluster_active").wait(name="py-addons", WaiterConfig={"Delay": 1})
a = eks.create_addon(clusterName="py-addons", addonName="kube-proxy", tags={"k": "v"})["addon"]
out["created"] = [a["status"], a["addonVersion"], a["tags"]]
eks.get_waiter("addon_active").wait(clusterName="py-addons", addonName="kube-proxy", WaiterConfig={"Delay": 1})
out["active"] = eks.describe_addon(clusterName="py-addons", addonName="kube-proxy")["addon"]["status"]
for n in ["coredns", "metrics-server"]:
    eks.create_addon(clusterName="py-addons", addonName=n)
tok = eks.list_addons(clusterName="py-addons", maxResults=2)
rest = eks.list_addons(clusterName="py-addons", maxResults=2, nextToken=tok["nextToken"])
out["listed"] = tok["addons"] + rest["addons"]
out["lastToken"] = "nextToken" in rest
try:
    eks.update_addon(clusterName="py-addons", addonName="coredns", configurationValues='{"replicaCount": "x"}')
except botocore.exceptions.ClientError as e:
    out["badUpdate"] = e.response["Error"]["Code"]
eks.delete_addon(clusterName="py-addons", addonName="kube-proxy")
eks.get_waiter("addon_deleted").wait(clusterName="py-addons", addonName="kube-proxy", WaiterConfig={"Delay": 1})
try:
    eks.describe_addon(clusterName="py-addons", addonName="kube-proxy")
except eks.exceptions.ResourceNotFoundException as e:
    out["gone"] = e.response["Error"]["Message"]
# Deleting the cluster takes its add-ons with it.
eks.delete_cluster(name="py-addons")
eks.get_waiter("cluster_deleted").wait(name="py-addons", WaiterConfig={"Delay": 1})
eks.create_cluster(name="py-addons", roleArn="arn:aws:iam::000000000000:role/eks", resourcesVpcConfig={"subnetIds": ["subnet-1"]})
eks.get_waiter("cluster_active").wait(name="py-addons", WaiterConfig={"Delay": 1})
out["afterRecreate"] = eks.list_addons(clusterName="py-addons")["addons"]
print(json.dumps(out))
`

// TestEKSAddonsWithBoto3 checks the catalogue's filters and pages, the
// configuration schema, and the waiters and pages of add-ons with boto3,
// on clusters without a control plane.
func TestEKSAddonsWithBoto3(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	var out struct {
		All, Paged, Storage, Community, Publishers, Nobody []string
		KubeProxy132                                       []any
		Coredns                                            struct {
			Type, Owner, Publisher, Ns string
			Versions                   []string
		}
		Schema      []any
		PodIdentity []struct {
			ServiceAccount             string
			RecommendedManagedPolicies []string
		}
		BadVersion, BadUpdate, Active, Gone string
		Created                             []any
		Listed, AfterRecreate               []string
		LastToken                           bool
	}
	r := b.Python(t, eksAddonsBoto3Script).Must(t)
	r.JSON(t, &out)
	for _, want := range []string{"vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver", "eks-pod-identity-agent", "metrics-server"} {
		if !slices.Contains(out.All, want) {
			t.Errorf("describe-addon-versions lacks %s: %v", want, out.All)
		}
	}
	if !slices.Equal(out.All, out.Paged) || !slices.IsSorted(out.All) || !slices.Equal(out.All, out.Publishers) || len(out.Nobody) != 0 {
		t.Errorf("paging/publishers: %v / %v / %v / %v", out.All, out.Paged, out.Publishers, out.Nobody)
	}
	if !slices.Contains(out.Storage, "aws-ebs-csi-driver") || slices.Contains(out.Storage, "coredns") || !slices.Contains(out.Community, "metrics-server") || slices.Contains(out.Community, "vpc-cni") {
		t.Errorf("filters: storage %v community %v", out.Storage, out.Community)
	}
	if got, _ := json.Marshal(out.KubeProxy132); string(got) != `[["v1.32.6-eksbuild.8",[["1.32",true]]]]` {
		t.Errorf("kube-proxy for 1.32: %s", got)
	}
	if cd := out.Coredns; cd.Type != "networking" || cd.Owner != "aws" || cd.Publisher != "eks" || cd.Ns != "kube-system" || len(cd.Versions) < 2 {
		t.Errorf("coredns: %+v", cd)
	}
	if got, _ := json.Marshal(out.Schema); string(got) != `["http://json-schema.org/draft-07/schema#",["affinity","enableNetworkPolicy","enableWindowsIpam"]]` {
		t.Errorf("schema: %s", got)
	}
	if len(out.PodIdentity) != 1 || out.PodIdentity[0].ServiceAccount != "aws-node" || !slices.Equal(out.PodIdentity[0].RecommendedManagedPolicies, []string{"arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"}) {
		t.Errorf("pod identity configuration: %+v", out.PodIdentity)
	}
	if out.BadVersion != "ResourceNotFoundException" || out.BadUpdate != "InvalidParameterException" {
		t.Errorf("errors: %q %q", out.BadVersion, out.BadUpdate)
	}
	if got, _ := json.Marshal(out.Created); string(got) != `["CREATING","v1.32.6-eksbuild.8",{"k":"v"}]` || out.Active != "ACTIVE" {
		t.Errorf("created %s, active %q", got, out.Active)
	}
	if !slices.Equal(out.Listed, []string{"coredns", "kube-proxy", "metrics-server"}) || out.LastToken {
		t.Errorf("list-addons pages: %v (token on last page: %v)", out.Listed, out.LastToken)
	}
	if out.Gone != "No addon: kube-proxy found in cluster: py-addons" || len(out.AfterRecreate) != 0 {
		t.Errorf("gone %q, after re-create %v", out.Gone, out.AfterRecreate)
	}
}

func eksUpdateOf(t *testing.T, r *harness.Result) (id, typ string, params map[string]string) {
	t.Helper()
	var out struct {
		Update struct {
			Id, Type, Status string
			Params           []struct{ Type, Value string }
		}
	}
	r.Must(t).JSON(t, &out)
	if out.Update.Status != "InProgress" {
		t.Errorf("update %+v", out.Update)
	}
	params = map[string]string{}
	for _, p := range out.Update.Params {
		params[p.Type] = p.Value
	}
	return out.Update.Id, out.Update.Type, params
}

func eksUpdateSuccessful(t *testing.T, b *harness.Berth, cluster, id string, scope ...string) {
	t.Helper()
	eksEventually(t, "update "+id+" Successful", func() (bool, string) {
		r := b.AWS(t, append([]string{"eks", "describe-update", "--name", cluster, "--update-id", id}, scope...)...).Must(t)
		return r.Map(t)["update"].(map[string]any)["status"] == "Successful", r.Stdout
	})
}

// TestEKSClusterExtras covers the rest of the EKS API on clusters without a
// control plane: cluster versions, node group version updates, encryption,
// OIDC identity providers, registered clusters, EKS Anywhere subscriptions,
// capabilities and insights.
func TestEKSClusterExtras(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	const role = "arn:aws:iam::000000000000:role/eks"

	// Cluster versions.
	var versions struct {
		ClusterVersions []struct {
			ClusterVersion, VersionStatus, Status, ClusterType string
			DefaultVersion                                     bool
			ReleaseDate, EndOfStandardSupportDate              float64
			KubernetesPatchVersion                             string
		}
	}
	b.AWS(t, "eks", "describe-cluster-versions").Must(t).JSON(t, &versions)
	var listed []string
	for _, v := range versions.ClusterVersions {
		listed = append(listed, v.ClusterVersion)
		if v.DefaultVersion != (v.ClusterVersion == "1.37") || v.ClusterType != "eks" || v.EndOfStandardSupportDate <= v.ReleaseDate ||
			!strings.HasPrefix(v.KubernetesPatchVersion, v.ClusterVersion+".") ||
			(v.VersionStatus != "STANDARD_SUPPORT" && v.VersionStatus != "EXTENDED_SUPPORT") ||
			v.Status != strings.ReplaceAll(strings.ToLower(v.VersionStatus), "_", "-") {
			t.Errorf("cluster version %+v", v)
		}
	}
	if len(listed) == 0 || listed[0] != "1.37" || !slices.IsSortedFunc(listed, func(a, b string) int { return strings.Compare(b, a) }) {
		t.Errorf("describe-cluster-versions: %v", listed)
	}
	b.AWS(t, "eks", "describe-cluster-versions", "--default-only").Must(t).JSON(t, &versions)
	if len(versions.ClusterVersions) != 1 || versions.ClusterVersions[0].ClusterVersion != "1.37" {
		t.Errorf("--default-only: %+v", versions.ClusterVersions)
	}
	b.AWS(t, "eks", "describe-cluster-versions", "--cluster-versions", "1.33", "1.34").Must(t).JSON(t, &versions)
	if len(versions.ClusterVersions) != 2 {
		t.Errorf("--cluster-versions: %+v", versions.ClusterVersions)
	}

	// A 1.36 cluster with two node groups, moved to 1.37.
	b.AWS(t, "eks", "create-cluster", "--name", "x", "--kubernetes-version", "1.36", "--role-arn", role, "--resources-vpc-config", "subnetIds=subnet-1").Must(t)
	eksClusterStatus(t, b, "x", "ACTIVE")
	b.AWS(t, "eks", "create-nodegroup", "--cluster-name", "x", "--nodegroup-name", "ng", "--node-role", role, "--subnets", "subnet-1",
		"--scaling-config", "minSize=0,maxSize=1,desiredSize=0").Must(t)
	b.AWS(t, "eks", "create-nodegroup", "--cluster-name", "x", "--nodegroup-name", "lt", "--node-role", role, "--subnets", "subnet-1",
		"--scaling-config", "minSize=0,maxSize=1,desiredSize=0", "--launch-template", "name=lt1,version=1").Must(t)
	b.AWS(t, "eks", "wait", "nodegroup-active", "--cluster-name", "x", "--nodegroup-name", "ng").Must(t)
	b.AWS(t, "eks", "wait", "nodegroup-active", "--cluster-name", "x", "--nodegroup-name", "lt").Must(t)
	id, _, _ := eksUpdateOf(t, b.AWS(t, "eks", "update-cluster-version", "--name", "x", "--kubernetes-version", "1.37"))
	eksUpdateSuccessful(t, b, "x", id)
	eksClusterStatus(t, b, "x", "ACTIVE")
	id, typ, params := eksUpdateOf(t, b.AWSv2(t, "eks", "update-nodegroup-version", "--cluster-name", "x", "--nodegroup-name", "ng"))
	if typ != "VersionUpdate" || params["Version"] != "1.37" || params["ReleaseVersion"] != "1.37.0-berth" {
		t.Errorf("update-nodegroup-version: %s %v", typ, params)
	}
	eksUpdateSuccessful(t, b, "x", id, "--nodegroup-name", "ng")
	b.AWS(t, "eks", "wait", "nodegroup-active", "--cluster-name", "x", "--nodegroup-name", "ng").Must(t)
	ng := b.AWS(t, "eks", "describe-nodegroup", "--cluster-name", "x", "--nodegroup-name", "ng").Must(t).Map(t)["nodegroup"].(map[string]any)
	if ng["version"] != "1.37" || ng["releaseVersion"] != "1.37.0-berth" {
		t.Errorf("node group after the update: %v %v", ng["version"], ng["releaseVersion"])
	}
	id, _, params = eksUpdateOf(t, b.AWS(t, "eks", "update-nodegroup-version", "--cluster-name", "x", "--nodegroup-name", "lt", "--launch-template", "name=lt1,version=2"))
	if params["LaunchTemplateVersion"] != "2" || params["LaunchTemplateName"] != "lt1" {
		t.Errorf("launch template update: %v", params)
	}
	eksUpdateSuccessful(t, b, "x", id, "--nodegroup-name", "lt")
	lt := b.AWS(t, "eks", "describe-nodegroup", "--cluster-name", "x", "--nodegroup-name", "lt").Must(t).Map(t)["nodegroup"].(map[string]any)
	if lt["launchTemplate"].(map[string]any)["version"] != "2" || lt["version"] != "1.37" {
		t.Errorf("launch template node group: %v", lt)
	}
	b.AWS(t, "eks", "wait", "nodegroup-active", "--cluster-name", "x", "--nodegroup-name", "lt").Must(t)
	eksWantCode(t, b.AWS(t, "eks", "update-nodegroup-version", "--cluster-name", "x", "--nodegroup-name", "ng", "--kubernetes-version", "1.36"), "InvalidParameterException")
	eksWantCode(t, b.AWS(t, "eks", "update-nodegroup-version", "--cluster-name", "x", "--nodegroup-name", "ng", "--release-version", "9.9"), "InvalidParameterException")
	eksWantCode(t, b.AWS(t, "eks", "update-nodegroup-version", "--cluster-name", "x", "--nodegroup-name", "nope"), "ResourceNotFoundException")

	// Secrets encryption.
	ec := `[{"resources":["secrets"],"provider":{"keyArn":"arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"}}]`
	eksWantCode(t, b.AWS(t, "eks", "associate-encryption-config", "--cluster-name", "x", "--encryption-config", `[{"resources":["configmaps"],"provider":{"keyArn":"arn:aws:kms:us-east-1:000000000000:key/k"}}]`), "InvalidParameterException")
	id, typ, params = eksUpdateOf(t, b.AWSv2(t, "eks", "associate-encryption-config", "--cluster-name", "x", "--encryption-config", ec))
	if typ != "AssociateEncryptionConfig" || !strings.Contains(params["EncryptionConfig"], "secrets") {
		t.Errorf("associate-encryption-config: %s %v", typ, params)
	}
	eksUpdateSuccessful(t, b, "x", id)
	cl := eksClusterStatus(t, b, "x", "ACTIVE")
	if got, _ := json.Marshal(cl["encryptionConfig"]); !strings.Contains(string(got), "1234abcd-12ab-34cd-56ef-1234567890ab") {
		t.Errorf("encryptionConfig: %s", got)
	}
	eksWantCode(t, b.AWS(t, "eks", "associate-encryption-config", "--cluster-name", "x", "--encryption-config", ec), "InvalidRequestException")

	// OIDC identity providers, with the aws CLI v2.
	eksWantCode(t, b.AWSv2(t, "eks", "associate-identity-provider-config", "--cluster-name", "x", "--oidc", "identityProviderConfigName=corp,issuerUrl=http://insecure.example.com,clientId=k8s"), "InvalidParameterException")
	id, typ, params = eksUpdateOf(t, b.AWSv2(t, "eks", "associate-identity-provider-config", "--cluster-name", "x",
		"--oidc", "identityProviderConfigName=corp,issuerUrl=https://issuer.example.com,clientId=kubernetes,groupsClaim=groups", "--tags", "idp=corp"))
	if typ != "AssociateIdentityProviderConfig" || params["IdentityProviderConfig"] != `[{"type":"oidc","name":"corp"}]` {
		t.Errorf("associate-identity-provider-config: %s %v", typ, params)
	}
	eksUpdateSuccessful(t, b, "x", id)
	eksClusterStatus(t, b, "x", "ACTIVE")
	var idp struct {
		IdentityProviderConfig struct {
			Oidc struct {
				IdentityProviderConfigName, IdentityProviderConfigArn, Status, IssuerUrl, ClientId, UsernameClaim, GroupsClaim string
				Tags                                                                                                           map[string]string
			}
		}
	}
	b.AWSv2(t, "eks", "describe-identity-provider-config", "--cluster-name", "x", "--identity-provider-config", "type=oidc,name=corp").Must(t).JSON(t, &idp)
	if o := idp.IdentityProviderConfig.Oidc; o.Status != "ACTIVE" || o.IssuerUrl != "https://issuer.example.com" || o.UsernameClaim != "sub" || o.GroupsClaim != "groups" ||
		o.Tags["idp"] != "corp" || !strings.HasPrefix(o.IdentityProviderConfigArn, "arn:aws:eks:us-east-1:000000000000:identityproviderconfig/x/oidc/corp/") {
		t.Errorf("describe-identity-provider-config: %+v", o)
	}
	var idps struct{ IdentityProviderConfigs []struct{ Type, Name string } }
	b.AWS(t, "eks", "list-identity-provider-configs", "--cluster-name", "x").Must(t).JSON(t, &idps)
	if len(idps.IdentityProviderConfigs) != 1 || idps.IdentityProviderConfigs[0].Name != "corp" || idps.IdentityProviderConfigs[0].Type != "oidc" {
		t.Errorf("list-identity-provider-configs: %+v", idps)
	}
	b.AWS(t, "eks", "tag-resource", "--resource-arn", idp.IdentityProviderConfig.Oidc.IdentityProviderConfigArn, "--tags", "more=1").Must(t)
	eksWantCode(t, b.AWS(t, "eks", "associate-identity-provider-config", "--cluster-name", "x", "--oidc", "identityProviderConfigName=other,issuerUrl=https://b.example.com,clientId=k"), "ResourceLimitExceededException")
	eksWantCode(t, b.AWS(t, "eks", "describe-identity-provider-config", "--cluster-name", "x", "--identity-provider-config", "type=oidc,name=nope"), "ResourceNotFoundException")
	id, typ, _ = eksUpdateOf(t, b.AWS(t, "eks", "disassociate-identity-provider-config", "--cluster-name", "x", "--identity-provider-config", "type=oidc,name=corp"))
	if typ != "DisassociateIdentityProviderConfig" {
		t.Errorf("disassociate: %s", typ)
	}
	eksUpdateSuccessful(t, b, "x", id)
	eksEventually(t, "the identity provider config gone", func() (bool, string) {
		r := b.AWS(t, "eks", "describe-identity-provider-config", "--cluster-name", "x", "--identity-provider-config", "type=oidc,name=corp")
		return r.ErrorCode() == "ResourceNotFoundException", r.Stdout
	})
	eksClusterStatus(t, b, "x", "ACTIVE")

	// Registered clusters stay PENDING and are listed with --include all.
	var reg struct {
		Cluster struct {
			Status, Arn     string
			ConnectorConfig struct{ ActivationId, ActivationCode, Provider, RoleArn string }
		}
	}
	b.AWS(t, "eks", "register-cluster", "--name", "ext", "--connector-config", "roleArn="+role+",provider=OTHER").Must(t).JSON(t, &reg)
	if c := reg.Cluster; c.Status != "PENDING" || c.ConnectorConfig.ActivationCode == "" || c.ConnectorConfig.ActivationId == "" || c.ConnectorConfig.Provider != "OTHER" {
		t.Errorf("register-cluster: %+v", c)
	}
	var clusters struct{ Clusters []string }
	b.AWS(t, "eks", "list-clusters").Must(t).JSON(t, &clusters)
	if !slices.Equal(clusters.Clusters, []string{"x"}) {
		t.Errorf("list-clusters: %v", clusters.Clusters)
	}
	b.AWSv2(t, "eks", "list-clusters", "--include", "all").Must(t).JSON(t, &clusters)
	if !slices.Equal(clusters.Clusters, []string{"ext", "x"}) {
		t.Errorf("list-clusters --include all: %v", clusters.Clusters)
	}
	if st := b.AWS(t, "eks", "describe-cluster", "--name", "ext").Must(t).Map(t)["cluster"].(map[string]any)["status"]; st != "PENDING" {
		t.Errorf("registered cluster %v", st)
	}
	eksWantCode(t, b.AWS(t, "eks", "delete-cluster", "--name", "ext"), "InvalidRequestException")
	eksWantCode(t, b.AWS(t, "eks", "create-access-entry", "--cluster-name", "ext", "--principal-arn", role), "InvalidRequestException")
	eksWantCode(t, b.AWS(t, "eks", "create-addon", "--cluster-name", "ext", "--addon-name", "coredns"), "InvalidRequestException")
	eksWantCode(t, b.AWS(t, "eks", "deregister-cluster", "--name", "x"), "InvalidRequestException")
	eksWantCode(t, b.AWS(t, "eks", "register-cluster", "--name", "x", "--connector-config", "roleArn="+role+",provider=GKE"), "ResourceInUseException")
	b.AWSv2(t, "eks", "deregister-cluster", "--name", "ext").Must(t)
	eksWantCode(t, b.AWS(t, "eks", "describe-cluster", "--name", "ext"), "ResourceNotFoundException")

	// EKS Anywhere subscriptions.
	var sub struct {
		Subscription struct {
			Id, Arn, Status, LicenseType string
			LicenseQuantity              int
			AutoRenew                    bool
			Licenses                     []struct{ Id, Token string }
			LicenseArns                  []string
			Term                         struct {
				Duration int
				Unit     string
			}
			EffectiveDate, ExpirationDate float64
		}
	}
	eksWantCode(t, b.AWS(t, "eks", "create-eks-anywhere-subscription", "--name", "bad", "--term", "duration=24,unit=MONTHS"), "InvalidParameterException")
	b.AWS(t, "eks", "create-eks-anywhere-subscription", "--name", "sub", "--term", "duration=12,unit=MONTHS", "--license-quantity", "2",
		"--license-type", "Cluster", "--auto-renew").Must(t).JSON(t, &sub)
	s := sub.Subscription
	if s.Status != "CREATING" || s.LicenseQuantity != 2 || len(s.Licenses) != 2 || len(s.LicenseArns) != 2 || !s.AutoRenew || s.Term.Duration != 12 ||
		s.ExpirationDate-s.EffectiveDate < 364*86400 || !strings.HasPrefix(s.Arn, "arn:aws:eks:us-east-1:000000000000:eks-anywhere-subscription/") {
		t.Errorf("create-eks-anywhere-subscription: %+v", s)
	}
	b.AWS(t, "eks", "describe-eks-anywhere-subscription", "--id", s.Id).Must(t).JSON(t, &sub)
	if sub.Subscription.Status != "ACTIVE" {
		t.Errorf("subscription %+v", sub.Subscription)
	}
	var subs struct{ Subscriptions []struct{ Id, Status string } }
	b.AWS(t, "eks", "list-eks-anywhere-subscriptions", "--include-status", "ACTIVE").Must(t).JSON(t, &subs)
	if len(subs.Subscriptions) != 1 || subs.Subscriptions[0].Id != s.Id {
		t.Errorf("list-eks-anywhere-subscriptions: %+v", subs)
	}
	b.AWS(t, "eks", "list-eks-anywhere-subscriptions", "--include-status", "EXPIRED").Must(t).JSON(t, &subs)
	if len(subs.Subscriptions) != 0 {
		t.Errorf("expired subscriptions: %+v", subs)
	}
	b.AWS(t, "eks", "tag-resource", "--resource-arn", s.Arn, "--tags", "cost=center").Must(t)
	var subTags struct{ Tags map[string]string }
	b.AWS(t, "eks", "list-tags-for-resource", "--resource-arn", s.Arn).Must(t).JSON(t, &subTags)
	if subTags.Tags["cost"] != "center" {
		t.Errorf("subscription tags: %v", subTags.Tags)
	}
	b.AWS(t, "eks", "update-eks-anywhere-subscription", "--id", s.Id, "--no-auto-renew").Must(t).JSON(t, &sub)
	if sub.Subscription.Status != "UPDATING" || sub.Subscription.AutoRenew {
		t.Errorf("update-eks-anywhere-subscription: %+v", sub.Subscription)
	}
	b.AWS(t, "eks", "delete-eks-anywhere-subscription", "--id", s.Id).Must(t).JSON(t, &sub)
	if sub.Subscription.Status != "DELETING" {
		t.Errorf("delete-eks-anywhere-subscription: %+v", sub.Subscription)
	}
	eksWantCode(t, b.AWS(t, "eks", "describe-eks-anywhere-subscription", "--id", s.Id), "ResourceNotFoundException")

	// Capabilities: the API and its statuses (nothing runs on Berth).
	argo := `{"argoCd":{"awsIdc":{"idcInstanceArn":"arn:aws:sso:::instance/ssoins-1234567890abcdef"},"namespace":"argocd"}}`
	eksWantCode(t, b.AWS(t, "eks", "create-capability", "--cluster-name", "x", "--capability-name", "argo", "--type", "ARGOCD", "--role-arn", role,
		"--delete-propagation-policy", "RETAIN"), "InvalidParameterException")
	var capOut struct {
		Capability struct {
			CapabilityName, Arn, Status, Type, Version, DeletePropagationPolicy string
			Configuration                                                       struct {
				ArgoCd struct{ Namespace, ServerUrl string }
			}
		}
	}
	b.AWS(t, "eks", "create-capability", "--cluster-name", "x", "--capability-name", "argo", "--type", "ARGOCD", "--role-arn", role,
		"--delete-propagation-policy", "RETAIN", "--configuration", argo, "--tags", "c=1").Must(t).JSON(t, &capOut)
	if c := capOut.Capability; c.Status != "CREATING" || c.Type != "ARGOCD" || c.Configuration.ArgoCd.Namespace != "argocd" || c.Configuration.ArgoCd.ServerUrl == "" ||
		!strings.HasPrefix(c.Arn, "arn:aws:eks:us-east-1:000000000000:capability/x/argo/") {
		t.Errorf("create-capability: %+v", c)
	}
	eksWantCode(t, b.AWS(t, "eks", "create-capability", "--cluster-name", "x", "--capability-name", "argo2", "--type", "ARGOCD", "--role-arn", role,
		"--delete-propagation-policy", "RETAIN", "--configuration", argo), "ResourceInUseException")
	b.AWS(t, "eks", "create-capability", "--cluster-name", "x", "--capability-name", "ack", "--type", "ACK", "--role-arn", role, "--delete-propagation-policy", "RETAIN").Must(t)
	var capTags struct{ Tags map[string]string }
	b.AWS(t, "eks", "untag-resource", "--resource-arn", capOut.Capability.Arn, "--tag-keys", "c").Must(t)
	b.AWS(t, "eks", "list-tags-for-resource", "--resource-arn", capOut.Capability.Arn).Must(t).JSON(t, &capTags)
	if len(capTags.Tags) != 0 {
		t.Errorf("capability tags after untag: %v", capTags.Tags)
	}
	eksEventually(t, "capability ACTIVE", func() (bool, string) {
		r := b.AWS(t, "eks", "describe-capability", "--cluster-name", "x", "--capability-name", "argo").Must(t)
		return r.Map(t)["capability"].(map[string]any)["status"] == "ACTIVE", r.Stdout
	})
	var caps struct {
		Capabilities []struct{ CapabilityName, Type string }
	}
	b.AWS(t, "eks", "list-capabilities", "--cluster-name", "x").Must(t).JSON(t, &caps)
	if len(caps.Capabilities) != 2 || caps.Capabilities[0].CapabilityName != "ack" || caps.Capabilities[1].Type != "ARGOCD" {
		t.Errorf("list-capabilities: %+v", caps)
	}
	id, _, _ = eksUpdateOf(t, b.AWS(t, "eks", "update-capability", "--cluster-name", "x", "--capability-name", "argo", "--role-arn", "arn:aws:iam::000000000000:role/argo2"))
	eksUpdateSuccessful(t, b, "x", id, "--capability-name", "argo")
	var capIDs struct{ UpdateIds []string }
	b.AWS(t, "eks", "list-updates", "--name", "x", "--capability-name", "argo").Must(t).JSON(t, &capIDs)
	if !slices.Equal(capIDs.UpdateIds, []string{id}) {
		t.Errorf("list-updates --capability-name: %v", capIDs.UpdateIds)
	}
	b.AWS(t, "eks", "delete-capability", "--cluster-name", "x", "--capability-name", "argo").Must(t).JSON(t, &capOut)
	if capOut.Capability.Status != "DELETING" {
		t.Errorf("delete-capability: %+v", capOut.Capability)
	}
	eksEventually(t, "capability gone", func() (bool, string) {
		r := b.AWS(t, "eks", "describe-capability", "--cluster-name", "x", "--capability-name", "argo")
		return r.ErrorCode() == "ResourceNotFoundException", r.Stdout
	})

	// Insights without a control plane: the deprecated-API check cannot be
	// made, and says so.
	var insights struct {
		Insights []struct {
			Name          string
			InsightStatus struct{ Status, Reason string }
		}
	}
	b.AWS(t, "eks", "list-insights", "--cluster-name", "x", "--filter", "statuses=UNKNOWN").Must(t).JSON(t, &insights)
	if len(insights.Insights) != 1 || insights.Insights[0].Name != "Deprecated APIs removed in Kubernetes v1.38" {
		t.Errorf("list-insights UNKNOWN: %+v", insights.Insights)
	}
	eksWantCode(t, b.AWS(t, "eks", "describe-insights-refresh", "--cluster-name", "x"), "ResourceNotFoundException")
}

// eksAddonTerraform is a cluster with add-ons as Terraform users write
// them: the version from the aws_eks_addon_version data source, JSON
// configuration values, conflict resolution and tags. REPLICAS changes in
// place.
const eksAddonTerraform = `
resource "aws_eks_cluster" "c" {
  name     = "tf-addons"
  role_arn = "arn:aws:iam::000000000000:role/eks"
  vpc_config {
    subnet_ids = ["subnet-1", "subnet-2"]
  }
}
data "aws_eks_addon_version" "coredns" {
  addon_name         = "coredns"
  kubernetes_version = aws_eks_cluster.c.version
  most_recent        = true
}
resource "aws_eks_addon" "coredns" {
  cluster_name                = aws_eks_cluster.c.name
  addon_name                  = "coredns"
  addon_version               = data.aws_eks_addon_version.coredns.version
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "PRESERVE"
  configuration_values        = jsonencode({ replicaCount = REPLICAS })
  tags                        = { team = "platform" }
}
resource "aws_eks_addon" "proxy" {
  cluster_name = aws_eks_cluster.c.name
  addon_name   = "kube-proxy"
}
output "coredns_version" { value = aws_eks_addon.coredns.addon_version }
output "coredns_arn" { value = aws_eks_addon.coredns.arn }
`

// TestEKSAddonsWithTerraform applies, changes in place and destroys add-ons
// with the hashicorp/aws provider, with no drift in between.
func TestEKSAddonsWithTerraform(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	tf := startTerraform(t, b, strings.ReplaceAll(eksAddonTerraform, "REPLICAS", "2"))
	tf.Apply(t)
	tf.NoDrift(t)
	if v := tf.Output(t, "coredns_version"); v != "v1.12.4-eksbuild.1" {
		t.Errorf("coredns version %q", v)
	}
	a := describeAddon(t, b.AWS, "tf-addons", "coredns")
	if a.Status != "ACTIVE" || a.ConfigurationValues != `{"replicaCount":2}` || a.Tags["team"] != "platform" || a.AddonArn != tf.Output(t, "coredns_arn") {
		t.Errorf("coredns after apply: %+v", a)
	}
	tf.SetConfig(t, b, strings.ReplaceAll(eksAddonTerraform, "REPLICAS", "3"))
	tf.Apply(t)
	tf.NoDrift(t)
	if a := describeAddon(t, b.AWS, "tf-addons", "coredns"); a.ConfigurationValues != `{"replicaCount":3}` {
		t.Errorf("coredns after the change: %+v", a)
	}
	var ids struct{ UpdateIds []string }
	b.AWS(t, "eks", "list-updates", "--name", "tf-addons", "--addon-name", "coredns").Must(t).JSON(t, &ids)
	if len(ids.UpdateIds) != 1 {
		t.Errorf("coredns updates: %v", ids.UpdateIds)
	}
	tf.Destroy(t)
	eksWantCode(t, b.AWS(t, "eks", "describe-cluster", "--name", "tf-addons"), "ResourceNotFoundException")
}
