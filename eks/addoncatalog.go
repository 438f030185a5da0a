package eks

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	eksapi "github.com/berth-dev/berth/api/eks"
)

// addonSpec is one add-on of the catalogue DescribeAddonVersions answers
// from. Versions are newest first; each is compatible with a range of the
// Kubernetes versions Berth offers.
type addonSpec struct {
	Name, Type, Owner, Namespace string
	Versions                     []addonVersion
	// ServiceAccount and Policies are the pod identity configuration
	// DescribeAddonConfiguration suggests; RequiresIAM says the add-on needs
	// AWS permissions to work.
	ServiceAccount string
	Policies       []string
	RequiresIAM    bool
	// Props are the add-on's configuration values, with their JSON types,
	// beyond the ones every add-on takes (commonProps).
	Props map[string]string
	// Builtin is what Berth's clusters do of this add-on themselves (for
	// docs/eks.md and health); empty when nothing runs.
	Builtin string
}

type addonVersion struct {
	Version  string
	Min, Max string // Kubernetes minor versions, inclusive
}

// commonProps are the scheduling settings every EKS add-on's schema takes.
var commonProps = map[string]string{
	"affinity": "object", "nodeSelector": "object", "tolerations": "array", "resources": "object",
	"podAnnotations": "object", "podLabels": "object",
}

// addonCatalog lists the add-ons Berth knows, with versions real EKS
// publishes for the Kubernetes minor versions Berth offers (1.32–1.37).
var addonCatalog = []addonSpec{
	{Name: "vpc-cni", Type: "networking", Owner: "aws", Namespace: "kube-system", RequiresIAM: true,
		ServiceAccount: "aws-node", Policies: []string{"arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"},
		Versions: []addonVersion{{"v1.20.4-eksbuild.1", "1.32", "1.37"}, {"v1.20.3-eksbuild.1", "1.32", "1.37"}, {"v1.19.6-eksbuild.7", "1.32", "1.35"}, {"v1.19.2-eksbuild.1", "1.32", "1.33"}},
		Props:    map[string]string{"env": "object", "init": "object", "enableNetworkPolicy": "string", "nodeAgent": "object", "enableWindowsIpam": "string", "enableWindowsPrefixDelegation": "string"},
		Builtin:  "pods get addresses on the cluster's Docker bridge network (berth-<cluster label>) from the nodes process; there is no aws-node DaemonSet"},
	{Name: "coredns", Type: "networking", Owner: "aws", Namespace: "kube-system",
		Versions: []addonVersion{{"v1.12.4-eksbuild.1", "1.33", "1.37"}, {"v1.12.3-eksbuild.1", "1.33", "1.37"}, {"v1.12.1-eksbuild.2", "1.33", "1.34"}, {"v1.11.4-eksbuild.14", "1.32", "1.32"}},
		Props:    map[string]string{"replicaCount": "integer", "corefile": "string", "autoScaling": "object", "podDisruptionBudget": "object", "topologySpreadConstraints": "array"},
		Builtin:  "the cluster DNS server (k8s/dns) behind the kube-system/kube-dns Service"},
	{Name: "kube-proxy", Type: "networking", Owner: "aws", Namespace: "kube-system",
		Versions: []addonVersion{{"v1.37.0-eksbuild.1", "1.37", "1.37"}, {"v1.36.0-eksbuild.2", "1.36", "1.36"}, {"v1.35.0-eksbuild.2", "1.35", "1.35"},
			{"v1.34.0-eksbuild.2", "1.34", "1.34"}, {"v1.33.3-eksbuild.6", "1.33", "1.33"}, {"v1.32.6-eksbuild.8", "1.32", "1.32"}},
		Props:   map[string]string{"mode": "string", "ipvs": "object", "iptables": "object", "conntrack": "object"},
		Builtin: "Service routing (k8s/proxy): iptables rules for cluster IPs, relays for NodePorts and load balancers"},
	{Name: "aws-ebs-csi-driver", Type: "storage", Owner: "aws", Namespace: "kube-system", RequiresIAM: true,
		ServiceAccount: "ebs-csi-controller-sa", Policies: []string{"arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"},
		Versions: []addonVersion{{"v1.50.1-eksbuild.1", "1.32", "1.37"}, {"v1.48.0-eksbuild.2", "1.32", "1.35"}},
		Props:    map[string]string{"controller": "object", "node": "object", "sidecars": "object", "defaultStorageClass": "object"}},
	{Name: "aws-efs-csi-driver", Type: "storage", Owner: "aws", Namespace: "kube-system", RequiresIAM: true,
		ServiceAccount: "efs-csi-controller-sa", Policies: []string{"arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"},
		Versions: []addonVersion{{"v2.1.13-eksbuild.1", "1.32", "1.37"}, {"v2.1.9-eksbuild.1", "1.32", "1.34"}},
		Props:    map[string]string{"controller": "object", "node": "object", "sidecars": "object"}},
	{Name: "snapshot-controller", Type: "storage", Owner: "aws", Namespace: "kube-system",
		Versions: []addonVersion{{"v8.3.0-eksbuild.1", "1.32", "1.37"}, {"v8.2.0-eksbuild.1", "1.32", "1.34"}},
		Props:    map[string]string{"replicaCount": "integer"}},
	{Name: "eks-pod-identity-agent", Type: "security", Owner: "aws", Namespace: "kube-system",
		Versions: []addonVersion{{"v1.3.9-eksbuild.3", "1.32", "1.37"}, {"v1.3.8-eksbuild.2", "1.32", "1.35"}},
		Props:    map[string]string{"agent": "object", "updateStrategy": "object"}},
	{Name: "amazon-cloudwatch-observability", Type: "observability", Owner: "aws", Namespace: "amazon-cloudwatch", RequiresIAM: true,
		ServiceAccount: "cloudwatch-agent", Policies: []string{"arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"},
		Versions: []addonVersion{{"v4.4.0-eksbuild.1", "1.32", "1.37"}, {"v4.1.0-eksbuild.1", "1.32", "1.34"}},
		Props:    map[string]string{"agent": "object", "containerLogs": "object", "manager": "object"}},
	{Name: "eks-node-monitoring-agent", Type: "observability", Owner: "aws", Namespace: "kube-system",
		Versions: []addonVersion{{"v1.4.0-eksbuild.2", "1.32", "1.37"}, {"v1.3.0-eksbuild.2", "1.32", "1.34"}},
		Props:    map[string]string{"monitoringAgent": "object", "dcgmAgent": "object"}},
	{Name: "metrics-server", Type: "observability", Owner: "community", Namespace: "kube-system",
		Versions: []addonVersion{{"v0.8.0-eksbuild.2", "1.32", "1.37"}, {"v0.7.2-eksbuild.4", "1.32", "1.35"}},
		Props:    map[string]string{"replicas": "integer", "args": "array", "containerPort": "integer"}},
	{Name: "kube-state-metrics", Type: "observability", Owner: "community", Namespace: "kube-state-metrics",
		Versions: []addonVersion{{"v2.16.0-eksbuild.1", "1.32", "1.37"}},
		Props:    map[string]string{"replicas": "integer", "collectors": "array"}},
	{Name: "cert-manager", Type: "security", Owner: "community", Namespace: "cert-manager",
		Versions: []addonVersion{{"v1.18.2-eksbuild.2", "1.32", "1.37"}, {"v1.17.2-eksbuild.1", "1.32", "1.35"}},
		Props:    map[string]string{"replicaCount": "integer", "webhook": "object", "cainjector": "object"}},
	{Name: "external-dns", Type: "networking", Owner: "community", Namespace: "external-dns", RequiresIAM: true,
		ServiceAccount: "external-dns", Policies: []string{"arn:aws:iam::aws:policy/AmazonRoute53FullAccess"},
		Versions: []addonVersion{{"v0.19.0-eksbuild.1", "1.32", "1.37"}},
		Props:    map[string]string{"domainFilters": "array", "policy": "string", "txtOwnerId": "string"}},
}

func catalogAddon(name string) (addonSpec, bool) {
	i := slices.IndexFunc(addonCatalog, func(a addonSpec) bool { return a.Name == name })
	if i < 0 {
		return addonSpec{}, false
	}
	return addonCatalog[i], true
}

// minorOf orders Kubernetes versions "1.N" by N; -1 when v is not one.
func minorOf(v string) int {
	rest, ok := strings.CutPrefix(v, "1.")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(rest)
	if err != nil {
		return -1
	}
	return n
}

func (v addonVersion) compatible(k8s string) bool {
	n := minorOf(k8s)
	return n >= 0 && n >= minorOf(v.Min) && n <= minorOf(v.Max)
}

// defaultVersion is the add-on version a cluster of k8s gets when none is
// named: the newest compatible one, as EKS marks defaultVersion.
func (a addonSpec) defaultVersion(k8s string) (string, bool) {
	for _, v := range a.Versions {
		if v.compatible(k8s) {
			return v.Version, true
		}
	}
	return "", false
}

// index orders versions: lower is newer.
func (a addonSpec) index(v string) int {
	return slices.IndexFunc(a.Versions, func(x addonVersion) bool { return x.Version == v })
}

func (a addonSpec) version(v string) (addonVersion, bool) {
	i := slices.IndexFunc(a.Versions, func(x addonVersion) bool { return x.Version == v })
	if i < 0 {
		return addonVersion{}, false
	}
	return a.Versions[i], true
}

// info is the add-on as DescribeAddonVersions lists it, its versions
// limited to those compatible with k8s when k8s is set.
func (a addonSpec) info(k8s string) eksapi.AddonInfo {
	out := eksapi.AddonInfo{AddonName: new(a.Name), Type: new(a.Type), Owner: new(a.Owner), Publisher: new("eks"),
		DefaultNamespace: new(a.Namespace), AddonVersions: []eksapi.AddonVersionInfo{}, MarketplaceInformation: nil}
	for _, v := range a.Versions {
		if k8s != "" && !v.compatible(k8s) {
			continue
		}
		vi := eksapi.AddonVersionInfo{AddonVersion: new(v.Version), Architecture: []string{"amd64", "arm64"},
			ComputeTypes: []string{"ec2", "hybrid"}, Compatibilities: []eksapi.Compatibility{},
			RequiresConfiguration: new(false), RequiresIamPermissions: new(a.RequiresIAM)}
		for _, cv := range SupportedVersions {
			if !v.compatible(cv) {
				continue
			}
			def, _ := a.defaultVersion(cv)
			vi.Compatibilities = append(vi.Compatibilities, eksapi.Compatibility{ClusterVersion: new(cv),
				PlatformVersions: []string{"*"}, DefaultVersion: new(def == v.Version)})
		}
		out.AddonVersions = append(out.AddonVersions, vi)
	}
	return out
}

// schema is the add-on's configuration JSON schema, as
// DescribeAddonConfiguration returns it and CreateAddon checks against.
func (a addonSpec) schema() string {
	props := map[string]any{}
	for _, m := range []map[string]string{commonProps, a.Props} {
		for k, t := range m {
			props[k] = map[string]any{"type": t}
		}
	}
	b, _ := json.Marshal(map[string]any{
		"$schema": "http://json-schema.org/draft-07/schema#", "$ref": "#/definitions/" + a.Name,
		"definitions": map[string]any{a.Name: map[string]any{"type": "object", "additionalProperties": false, "properties": props,
			"title": a.Name}},
	})
	return string(b)
}

// checkConfig checks configuration values (JSON or YAML) against the
// add-on's schema: an object whose keys the schema names, each of the
// schema's type.
func (a addonSpec) checkConfig(values map[string]any) error {
	fail := func(format string, args ...any) error {
		return eksapi.NewInvalidParameterException("ConfigurationValue provided in request is not supported: Json schema validation failed with error: [%s]", fmt.Sprintf(format, args...))
	}
	for k, v := range values {
		t, ok := a.Props[k]
		if !ok {
			t, ok = commonProps[k]
		}
		if !ok {
			return fail("$.%s: is not defined in the schema and the schema does not allow additional properties", k)
		}
		if got := jsonType(v); got != t && (t != "number" || got != "integer") {
			return fail("$.%s: %s found, %s expected", k, got, t)
		}
	}
	return nil
}

func jsonType(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case int, int64, uint64:
		return "integer"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case nil:
		return "null"
	}
	return "unknown"
}
