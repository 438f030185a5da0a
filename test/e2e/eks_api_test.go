package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"gopkg.in/yaml.v3"

	"github.com/berth-dev/berth/test/harness"
)

// The EKS API end to end (restJson1): the aws CLI v1 and v2 with their
// waiters, update-kubeconfig and get-token, boto3 and aws-sdk-go-v2, and
// the token-review webhook that clusters' API servers ask about get-token
// tokens. No Kubernetes binary is configured, so clusters turn ACTIVE with
// an endpoint that does not answer (docs/eks.md).

const (
	eksRole  = "arn:aws:iam::000000000000:role/eks-cluster"
	nodeRole = "arn:aws:iam::000000000000:role/eks-node"
)

// createCluster creates a cluster with the aws CLI v1 and checks it starts
// CREATING, as EKS reports it.
func createCluster(t *testing.T, b *harness.Berth, name string, extra ...string) map[string]any {
	t.Helper()
	args := append([]string{"eks", "create-cluster", "--name", name, "--role-arn", eksRole,
		"--resources-vpc-config", "subnetIds=subnet-0a1,subnet-0b2,securityGroupIds=sg-01"}, extra...)
	c := b.AWS(t, args...).Must(t).Map(t)["cluster"].(map[string]any)
	if c["status"] != "CREATING" || c["arn"] != "arn:aws:eks:us-east-1:000000000000:cluster/"+name {
		t.Fatalf("create-cluster: %v", c)
	}
	return c
}

// poll runs the CLI until the JSON at path (dotted) has the value want.
func poll(t *testing.T, run func() *harness.Result, path, want string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := run()
		if r.ExitCode == 0 {
			m := r.Map(t)
			var v any = m
			for _, k := range strings.Split(path, ".") {
				v, _ = v.(map[string]any)[k]
			}
			if v == want {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never became %s: %s %s", path, want, r.Stdout, r.Stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestEKSClustersWithAWSCLIv1(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	eks := func(args ...string) *harness.Result { t.Helper(); return b.AWS(t, append([]string{"eks"}, args...)...) }

	createCluster(t, b, "prod", "--tags", "team=platform", "--kubernetes-version", "1.33")
	eks("wait", "cluster-active", "--name", "prod").Must(t)
	c := eks("describe-cluster", "--name", "prod").Must(t).Map(t)["cluster"].(map[string]any)
	if c["status"] != "ACTIVE" || c["version"] != "1.33" || !strings.HasPrefix(c["endpoint"].(string), "https://") ||
		c["certificateAuthority"].(map[string]any)["data"] == "" || c["tags"].(map[string]any)["team"] != "platform" {
		t.Errorf("describe-cluster: %v", c)
	}
	vpc := c["resourcesVpcConfig"].(map[string]any)
	if !slices.Equal(toStrings(vpc["subnetIds"]), []string{"subnet-0a1", "subnet-0b2"}) {
		t.Errorf("subnets: %v", vpc)
	}
	ac := c["accessConfig"].(map[string]any)
	if ac["authenticationMode"] != "API_AND_CONFIG_MAP" || ac["bootstrapClusterCreatorAdminPermissions"] != true {
		t.Errorf("accessConfig: %v", ac)
	}
	issues := c["health"].(map[string]any)["issues"].([]any)
	if len(issues) != 1 || !strings.Contains(issues[0].(map[string]any)["message"].(string), "no Kubernetes control plane") {
		t.Errorf("the unserved endpoint is not reported: %v", c["health"])
	}

	// Errors as EKS words them.
	assertCode(t, eks("describe-cluster", "--name", "nope"), "ResourceNotFoundException")
	assertCode(t, eks("create-cluster", "--name", "prod", "--role-arn", eksRole, "--resources-vpc-config", "subnetIds=subnet-1"), "ResourceInUseException")
	assertCode(t, eks("create-cluster", "--name", "bad_name!", "--role-arn", eksRole, "--resources-vpc-config", "subnetIds=subnet-1"), "InvalidParameterException")
	assertCode(t, eks("create-cluster", "--name", "old", "--kubernetes-version", "1.10", "--role-arn", eksRole, "--resources-vpc-config", "subnetIds=subnet-1"), "InvalidParameterException")
	assertCode(t, eks("create-cluster", "--name", "norole", "--role-arn", "not-an-arn", "--resources-vpc-config", "subnetIds=subnet-1"), "InvalidParameterException")
	assertCode(t, eks("list-clusters", "--max-results", "500"), "InvalidParameterException")

	createCluster(t, b, "staging")
	if got := toStrings(eks("list-clusters").Must(t).Map(t)["clusters"]); !slices.Equal(got, []string{"prod", "staging"}) {
		t.Errorf("list-clusters: %v", got)
	}
	// The CLI pages through with nextToken.
	if got := toStrings(eks("list-clusters", "--page-size", "1").Must(t).Map(t)["clusters"]); !slices.Equal(got, []string{"prod", "staging"}) {
		t.Errorf("list-clusters by pages of 1: %v", got)
	}

	// Node groups: CREATING -> ACTIVE, scaled through an update, and a
	// cluster that has one cannot be deleted.
	ng := eks("create-nodegroup", "--cluster-name", "prod", "--nodegroup-name", "workers", "--node-role", nodeRole,
		"--subnets", "subnet-0a1", "--scaling-config", "minSize=1,maxSize=4,desiredSize=2", "--labels", "tier=web").Must(t).Map(t)["nodegroup"].(map[string]any)
	if ng["status"] != "CREATING" || !strings.HasPrefix(ng["nodegroupArn"].(string), "arn:aws:eks:us-east-1:000000000000:nodegroup/prod/workers/") {
		t.Errorf("create-nodegroup: %v", ng)
	}
	eks("wait", "nodegroup-active", "--cluster-name", "prod", "--nodegroup-name", "workers").Must(t)
	assertCode(t, eks("create-nodegroup", "--cluster-name", "prod", "--nodegroup-name", "workers", "--node-role", nodeRole, "--subnets", "subnet-0a1"), "ResourceInUseException")
	assertCode(t, eks("create-nodegroup", "--cluster-name", "prod", "--nodegroup-name", "big", "--node-role", nodeRole, "--subnets", "subnet-0a1",
		"--scaling-config", "minSize=3,maxSize=2,desiredSize=2"), "InvalidParameterException")
	assertCode(t, eks("describe-nodegroup", "--cluster-name", "prod", "--nodegroup-name", "nope"), "ResourceNotFoundException")
	upd := eks("update-nodegroup-config", "--cluster-name", "prod", "--nodegroup-name", "workers", "--scaling-config", "desiredSize=3").Must(t).Map(t)["update"].(map[string]any)
	if upd["type"] != "ConfigUpdate" || upd["status"] != "InProgress" {
		t.Errorf("update-nodegroup-config: %v", upd)
	}
	id := upd["id"].(string)
	poll(t, func() *harness.Result {
		return eks("describe-update", "--name", "prod", "--update-id", id, "--nodegroup-name", "workers")
	}, "update.status", "Successful")
	if got := toStrings(eks("list-updates", "--name", "prod", "--nodegroup-name", "workers").Must(t).Map(t)["updateIds"]); !slices.Equal(got, []string{id}) {
		t.Errorf("list-updates: %v", got)
	}
	ng = eks("describe-nodegroup", "--cluster-name", "prod", "--nodegroup-name", "workers").Must(t).Map(t)["nodegroup"].(map[string]any)
	if sc := ng["scalingConfig"].(map[string]any); ng["status"] != "ACTIVE" || sc["desiredSize"] != 3.0 || sc["maxSize"] != 4.0 {
		t.Errorf("scaled node group: %v", ng)
	}
	if got := toStrings(eks("list-nodegroups", "--cluster-name", "prod").Must(t).Map(t)["nodegroups"]); !slices.Equal(got, []string{"workers"}) {
		t.Errorf("list-nodegroups: %v", got)
	}
	r := eks("delete-cluster", "--name", "prod")
	assertCode(t, r, "ResourceInUseException")
	if !strings.Contains(r.Stderr, "Cluster has nodegroups attached") {
		t.Errorf("delete-cluster message: %s", r.Stderr)
	}

	// Fargate profiles.
	fp := eks("create-fargate-profile", "--cluster-name", "prod", "--fargate-profile-name", "apps", "--pod-execution-role-arn", nodeRole,
		"--selectors", `[{"namespace":"apps","labels":{"fargate":"yes"}}]`).Must(t).Map(t)["fargateProfile"].(map[string]any)
	if fp["status"] != "CREATING" || !strings.HasPrefix(fp["fargateProfileArn"].(string), "arn:aws:eks:us-east-1:000000000000:fargateprofile/prod/apps/") {
		t.Errorf("create-fargate-profile: %v", fp)
	}
	eks("wait", "fargate-profile-active", "--cluster-name", "prod", "--fargate-profile-name", "apps").Must(t)
	if got := toStrings(eks("list-fargate-profiles", "--cluster-name", "prod").Must(t).Map(t)["fargateProfileNames"]); !slices.Equal(got, []string{"apps"}) {
		t.Errorf("list-fargate-profiles: %v", got)
	}
	assertCode(t, eks("describe-fargate-profile", "--cluster-name", "prod", "--fargate-profile-name", "nope"), "ResourceNotFoundException")

	// Tags on any EKS ARN.
	arn := c["arn"].(string)
	eks("tag-resource", "--resource-arn", arn, "--tags", "env=prod,cost=42").Must(t)
	eks("untag-resource", "--resource-arn", arn, "--tag-keys", "cost").Must(t)
	if tags := eks("list-tags-for-resource", "--resource-arn", arn).Must(t).Map(t)["tags"].(map[string]any); len(tags) != 2 || tags["env"] != "prod" || tags["team"] != "platform" {
		t.Errorf("tags: %v", tags)
	}
	assertCode(t, eks("list-tags-for-resource", "--resource-arn", "arn:aws:eks:us-east-1:000000000000:cluster/nope"), "NotFoundException")

	// Cluster config updates are recorded as updates.
	upd = eks("update-cluster-config", "--name", "prod", "--logging", `{"clusterLogging":[{"types":["api","audit"],"enabled":true}]}`).Must(t).Map(t)["update"].(map[string]any)
	if upd["type"] != "LoggingUpdate" {
		t.Errorf("update-cluster-config: %v", upd)
	}
	poll(t, func() *harness.Result {
		return eks("describe-update", "--name", "prod", "--update-id", upd["id"].(string))
	}, "update.status", "Successful")
	eks("wait", "cluster-active", "--name", "prod").Must(t)

	// Tear down in EKS's order: profiles and node groups, then the cluster.
	eks("delete-fargate-profile", "--cluster-name", "prod", "--fargate-profile-name", "apps").Must(t)
	if ng := eks("delete-nodegroup", "--cluster-name", "prod", "--nodegroup-name", "workers").Must(t).Map(t)["nodegroup"].(map[string]any); ng["status"] != "DELETING" {
		t.Errorf("delete-nodegroup: %v", ng)
	}
	eks("wait", "nodegroup-deleted", "--cluster-name", "prod", "--nodegroup-name", "workers").Must(t)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if len(toStrings(eks("list-fargate-profiles", "--cluster-name", "prod").Must(t).Map(t)["fargateProfileNames"])) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the Fargate profile was not deleted")
		}
	}
	if c := eks("delete-cluster", "--name", "prod").Must(t).Map(t)["cluster"].(map[string]any); c["status"] != "DELETING" {
		t.Errorf("delete-cluster: %v", c)
	}
	eks("wait", "cluster-deleted", "--name", "prod").Must(t)
	assertCode(t, eks("describe-cluster", "--name", "prod"), "ResourceNotFoundException")
}

func TestEKSAccessEntriesWithAWSCLIv1(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	eks := func(args ...string) *harness.Result { t.Helper(); return b.AWS(t, append([]string{"eks"}, args...)...) }
	createCluster(t, b, "team")
	eks("wait", "cluster-active", "--name", "team").Must(t)

	// The creator has an entry with the cluster admin policy.
	const creator = "arn:aws:iam::000000000000:root"
	if got := toStrings(eks("list-access-entries", "--cluster-name", "team").Must(t).Map(t)["accessEntries"]); !slices.Equal(got, []string{creator}) {
		t.Errorf("list-access-entries: %v", got)
	}
	pols := eks("list-associated-access-policies", "--cluster-name", "team", "--principal-arn", creator).Must(t).Map(t)["associatedAccessPolicies"].([]any)
	if len(pols) != 1 || pols[0].(map[string]any)["policyArn"] != "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy" {
		t.Errorf("creator's policies: %v", pols)
	}

	const dev = "arn:aws:iam::000000000000:role/developers"
	e := eks("create-access-entry", "--cluster-name", "team", "--principal-arn", dev, "--kubernetes-groups", "devs").Must(t).Map(t)["accessEntry"].(map[string]any)
	if e["username"] != "arn:aws:sts::000000000000:assumed-role/developers/{{SessionName}}" || e["type"] != "STANDARD" ||
		!strings.HasPrefix(e["accessEntryArn"].(string), "arn:aws:eks:us-east-1:000000000000:access-entry/team/role/000000000000/developers/") {
		t.Errorf("create-access-entry: %v", e)
	}
	assertCode(t, eks("create-access-entry", "--cluster-name", "team", "--principal-arn", dev), "ResourceInUseException")
	assertCode(t, eks("create-access-entry", "--cluster-name", "team", "--principal-arn", "arn:aws:iam::000000000000:role/x", "--kubernetes-groups", "system:masters"), "InvalidParameterException")
	assertCode(t, eks("describe-access-entry", "--cluster-name", "team", "--principal-arn", "arn:aws:iam::000000000000:role/nobody"), "ResourceNotFoundException")
	eks("associate-access-policy", "--cluster-name", "team", "--principal-arn", dev, "--policy-arn", "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
		"--access-scope", "type=namespace,namespaces=web,api").Must(t)
	assertCode(t, eks("associate-access-policy", "--cluster-name", "team", "--principal-arn", dev, "--policy-arn", "arn:aws:eks::aws:cluster-access-policy/Nope",
		"--access-scope", "type=cluster"), "InvalidParameterException")
	if got := toStrings(eks("list-access-entries", "--cluster-name", "team", "--associated-policy-arn", "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy").Must(t).Map(t)["accessEntries"]); !slices.Equal(got, []string{dev}) {
		t.Errorf("entries with the edit policy: %v", got)
	}
	pols = eks("list-associated-access-policies", "--cluster-name", "team", "--principal-arn", dev).Must(t).Map(t)["associatedAccessPolicies"].([]any)
	if len(pols) != 1 || !slices.Equal(toStrings(pols[0].(map[string]any)["accessScope"].(map[string]any)["namespaces"]), []string{"web", "api"}) {
		t.Errorf("associated policies: %v", pols)
	}
	names := []string{}
	for _, p := range eks("list-access-policies").Must(t).Map(t)["accessPolicies"].([]any) {
		names = append(names, p.(map[string]any)["name"].(string))
	}
	if !slices.Contains(names, "AmazonEKSClusterAdminPolicy") || !slices.Contains(names, "AmazonEKSViewPolicy") {
		t.Errorf("list-access-policies: %v", names)
	}
	eks("disassociate-access-policy", "--cluster-name", "team", "--principal-arn", dev, "--policy-arn", "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy").Must(t)
	eks("delete-access-entry", "--cluster-name", "team", "--principal-arn", dev).Must(t)
	assertCode(t, eks("describe-access-entry", "--cluster-name", "team", "--principal-arn", dev), "ResourceNotFoundException")

	// Without bootstrap permissions the creator gets no entry.
	createCluster(t, b, "locked", "--access-config", "authenticationMode=API,bootstrapClusterCreatorAdminPermissions=false")
	if got := toStrings(eks("list-access-entries", "--cluster-name", "locked").Must(t).Map(t)["accessEntries"]); len(got) != 0 {
		t.Errorf("entries of a cluster without bootstrap permissions: %v", got)
	}

	// kill -9 and restart: the clusters come back ACTIVE with their entries,
	// and the controller re-adopts them.
	b.Kill()
	b.Restart()
	eks("wait", "cluster-active", "--name", "team").Must(t)
	eks("wait", "cluster-active", "--name", "locked").Must(t)
	if got := toStrings(eks("list-access-entries", "--cluster-name", "team").Must(t).Map(t)["accessEntries"]); !slices.Equal(got, []string{creator}) {
		t.Errorf("entries after a restart: %v", got)
	}
	if st := reviewToken(t, b, "team", getToken(t, b.AWS(t, "eks", "get-token", "--cluster-name", "team"))); st["authenticated"] != true {
		t.Errorf("token after a restart: %v", st)
	}
}

// kubeconfig is the part of a kubeconfig update-kubeconfig writes that
// matters here.
type kubeconfig struct {
	Clusters []struct {
		Name    string `yaml:"name"`
		Cluster struct {
			Server string `yaml:"server"`
			CAData string `yaml:"certificate-authority-data"`
		} `yaml:"cluster"`
	} `yaml:"clusters"`
	Users []struct {
		User struct {
			Exec struct {
				Command string   `yaml:"command"`
				Args    []string `yaml:"args"`
			} `yaml:"exec"`
		} `yaml:"user"`
	} `yaml:"users"`
}

// reviewToken posts a TokenReview for token to cluster's webhook.
func reviewToken(t *testing.T, b *harness.Berth, cluster, token string) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": map[string]any{"token": token}})
	resp, err := http.Post(b.Endpoint()+"/_berth/eks/000000000000/us-east-1/"+cluster+"/token-review", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || resp.StatusCode != 200 {
		t.Fatalf("token review: %d %v", resp.StatusCode, err)
	}
	if tr["apiVersion"] != "authentication.k8s.io/v1" || tr["kind"] != "TokenReview" {
		t.Errorf("token review: %v", tr)
	}
	return tr["status"].(map[string]any)
}

// getToken runs `aws eks get-token` and returns the token.
func getToken(t *testing.T, r *harness.Result) string {
	t.Helper()
	var cred struct {
		Kind   string `json:"kind"`
		Status struct {
			Token string `json:"token"`
		} `json:"status"`
	}
	r.Must(t).JSON(t, &cred)
	if cred.Kind != "ExecCredential" || !strings.HasPrefix(cred.Status.Token, "k8s-aws-v1.") {
		t.Fatalf("get-token: %s", r.Stdout)
	}
	return cred.Status.Token
}

// Kubeconfig and tokens with signatures checked: update-kubeconfig writes
// a user that runs get-token, tokens of both CLIs authenticate the creator
// as admin at the webhook, and a tampered token, a token for another
// cluster and a principal without an access entry do not.
func TestEKSKubeconfigAndTokens(t *testing.T) {
	t.Parallel()
	b := harness.Start(t, harness.WithCredentials("AKIDEKSE2E", "eks-e2e-secret"))
	createCluster(t, b, "web")
	createCluster(t, b, "other")
	b.AWS(t, "eks", "wait", "cluster-active", "--name", "web").Must(t)
	b.AWSv2(t, "eks", "wait", "cluster-active", "--name", "other").Must(t)

	for _, run := range []func(testing.TB, ...string) *harness.Result{b.AWS, b.AWSv2} {
		path := filepath.Join(t.TempDir(), "kubeconfig")
		run(t, "eks", "update-kubeconfig", "--name", "web", "--kubeconfig", path).Must(t)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var kc kubeconfig
		if err := yaml.Unmarshal(data, &kc); err != nil || len(kc.Clusters) != 1 || len(kc.Users) != 1 {
			t.Fatalf("kubeconfig: %v\n%s", err, data)
		}
		ca, err := base64.StdEncoding.DecodeString(kc.Clusters[0].Cluster.CAData)
		if err != nil || !strings.Contains(string(ca), "BEGIN CERTIFICATE") || !strings.HasPrefix(kc.Clusters[0].Cluster.Server, "https://") {
			t.Errorf("kubeconfig cluster: %+v", kc.Clusters[0])
		}
		exec := kc.Users[0].User.Exec
		if exec.Command != "aws" || !slices.Contains(exec.Args, "get-token") || !slices.Contains(exec.Args, "web") {
			t.Errorf("kubeconfig user: %+v", exec)
		}
	}

	for name, token := range map[string]string{
		"v1": getToken(t, b.AWS(t, "eks", "get-token", "--cluster-name", "web")),
		"v2": getToken(t, b.AWSv2(t, "eks", "get-token", "--cluster-name", "web")),
	} {
		st := reviewToken(t, b, "web", token)
		user, _ := st["user"].(map[string]any)
		if st["authenticated"] != true || user["username"] != "arn:aws:iam::000000000000:root" || !slices.Contains(toStrings(user["groups"]), "system:masters") {
			t.Errorf("%s token: %v", name, st)
		}
		// The token is bound to its cluster by the signed x-k8s-aws-id.
		if st := reviewToken(t, b, "other", token); st["authenticated"] != false || !strings.Contains(st["error"].(string), "signature") {
			t.Errorf("%s token for another cluster: %v", name, st)
		}
		// Tampering with the presigned URL breaks the signature.
		raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(token, "k8s-aws-v1."))
		tampered := "k8s-aws-v1." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), "X-Amz-Expires=60", "X-Amz-Expires=61", 1)))
		if st := reviewToken(t, b, "web", tampered); st["authenticated"] != false {
			t.Errorf("%s tampered token authenticated: %v", name, st)
		}
		// Another secret (a forged token) fails the same way.
		forged := getToken(t, b.As("AKIDEKSE2E", "wrong-secret").AWS(t, "eks", "get-token", "--cluster-name", "web"))
		if st := reviewToken(t, b, "web", forged); st["authenticated"] != false {
			t.Errorf("forged token authenticated: %v", st)
		}
	}
	if st := reviewToken(t, b, "web", "not-a-token"); st["authenticated"] != false || st["error"] == "" {
		t.Errorf("garbage token: %v", st)
	}

	// A principal without an access entry is refused until it gets one;
	// its access policies become groups.
	b.AWS(t, "eks", "delete-access-entry", "--cluster-name", "web", "--principal-arn", "arn:aws:iam::000000000000:root").Must(t)
	token := getToken(t, b.AWS(t, "eks", "get-token", "--cluster-name", "web"))
	if st := reviewToken(t, b, "web", token); st["authenticated"] != false || !strings.Contains(st["error"].(string), "no access entry") {
		t.Errorf("token of a principal without an entry: %v", st)
	}
	b.AWS(t, "eks", "create-access-entry", "--cluster-name", "web", "--principal-arn", "arn:aws:iam::000000000000:root", "--kubernetes-groups", "ops", "--username", "admin").Must(t)
	b.AWS(t, "eks", "associate-access-policy", "--cluster-name", "web", "--principal-arn", "arn:aws:iam::000000000000:root",
		"--policy-arn", "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", "--access-scope", "type=cluster").Must(t)
	st := reviewToken(t, b, "web", token)
	user, _ := st["user"].(map[string]any)
	if st["authenticated"] != true || user["username"] != "admin" || !slices.Equal(toStrings(user["groups"]), []string{"ops", "eks:view"}) {
		t.Errorf("token of a principal with an entry: %v", st)
	}
}

// The aws CLI v2 (Debian's 2.9) drives the same API and waiters.
func TestEKSWithAWSCLIv2(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	eks := func(args ...string) *harness.Result {
		t.Helper()
		return b.AWSv2(t, append([]string{"eks"}, args...)...)
	}
	c := eks("create-cluster", "--name", "v2", "--role-arn", eksRole, "--resources-vpc-config", "subnetIds=subnet-1,subnet-2").Must(t).Map(t)["cluster"].(map[string]any)
	if c["status"] != "CREATING" {
		t.Errorf("create-cluster: %v", c)
	}
	eks("wait", "cluster-active", "--name", "v2").Must(t)
	assertCode(t, eks("describe-cluster", "--name", "nope"), "ResourceNotFoundException")
	assertCode(t, eks("create-cluster", "--name", "v2", "--role-arn", eksRole, "--resources-vpc-config", "subnetIds=subnet-1"), "ResourceInUseException")
	eks("create-nodegroup", "--cluster-name", "v2", "--nodegroup-name", "ng", "--node-role", nodeRole, "--subnets", "subnet-1").Must(t)
	eks("wait", "nodegroup-active", "--cluster-name", "v2", "--nodegroup-name", "ng").Must(t)
	assertCode(t, eks("delete-cluster", "--name", "v2"), "ResourceInUseException")
	eks("create-fargate-profile", "--cluster-name", "v2", "--fargate-profile-name", "fp", "--pod-execution-role-arn", nodeRole, "--selectors", "namespace=default").Must(t)
	eks("wait", "fargate-profile-active", "--cluster-name", "v2", "--fargate-profile-name", "fp").Must(t)
	eks("delete-fargate-profile", "--cluster-name", "v2", "--fargate-profile-name", "fp").Must(t)
	eks("delete-nodegroup", "--cluster-name", "v2", "--nodegroup-name", "ng").Must(t)
	eks("wait", "nodegroup-deleted", "--cluster-name", "v2", "--nodegroup-name", "ng").Must(t)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if r := eks("delete-cluster", "--name", "v2"); r.ExitCode == 0 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("delete-cluster: %s", r.Stderr)
		}
	}
	eks("wait", "cluster-deleted", "--name", "v2").Must(t)
}

const eksBoto3Script = `
import boto3, botocore, json
eks = boto3.client("eks")
out = {}
c = eks.create_cluster(name="py", roleArn="arn:aws:iam::000000000000:role/eks", resourcesVpcConfig={"subnetIds": ["subnet-1", "subnet-2"]})["cluster"]
out["created"] = c["status"]
eks.get_waiter("cluster_active").wait(name="py")
out["active"] = eks.describe_cluster(name="py")["cluster"]["status"]
for n in ["py2", "py3"]:
    eks.create_cluster(name=n, roleArn="arn:aws:iam::000000000000:role/eks", resourcesVpcConfig={"subnetIds": ["subnet-1"]})
names = []
for page in eks.get_paginator("list_clusters").paginate(PaginationConfig={"PageSize": 2}):
    names += page["clusters"]
out["names"] = names
eks.create_nodegroup(clusterName="py", nodegroupName="ng", nodeRole="arn:aws:iam::000000000000:role/node", subnets=["subnet-1"],
    scalingConfig={"minSize": 0, "maxSize": 2, "desiredSize": 0})
eks.get_waiter("nodegroup_active").wait(clusterName="py", nodegroupName="ng")
try:
    eks.delete_cluster(name="py")
except botocore.exceptions.ClientError as e:
    out["deleteError"] = [e.response["Error"]["Code"], e.response["Error"]["Message"], e.response["ResponseMetadata"]["HTTPStatusCode"]]
try:
    eks.describe_nodegroup(clusterName="py", nodegroupName="nope")
except eks.exceptions.ResourceNotFoundException as e:
    out["missing"] = e.response["Error"]["Message"]
print(json.dumps(out))
`

func TestEKSWithBoto3(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	var out struct {
		Created, Active string
		Names           []string
		DeleteError     []any
		Missing         string
	}
	b.Python(t, eksBoto3Script).Must(t).JSON(t, &out)
	if out.Created != "CREATING" || out.Active != "ACTIVE" || !slices.Equal(out.Names, []string{"py", "py2", "py3"}) {
		t.Errorf("boto3: %+v", out)
	}
	if len(out.DeleteError) != 3 || out.DeleteError[0] != "ResourceInUseException" || out.DeleteError[1] != "Cluster has nodegroups attached" || out.DeleteError[2] != 409.0 {
		t.Errorf("delete error: %v", out.DeleteError)
	}
	if out.Missing != "No node group found for name: nope." {
		t.Errorf("not found: %q", out.Missing)
	}
}

func TestEKSWithSDKGoV2(t *testing.T) {
	t.Parallel()
	b := harness.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := awseks.NewFromConfig(b.SDKConfig(ctx))
	out, err := client.CreateCluster(ctx, &awseks.CreateClusterInput{Name: aws.String("go"), RoleArn: aws.String(eksRole),
		ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: []string{"subnet-1", "subnet-2"}}, Tags: map[string]string{"sdk": "go"}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Cluster.Status != ekstypes.ClusterStatusCreating {
		t.Errorf("status %s", out.Cluster.Status)
	}
	// The waiters' first poll comes right after the create, before Berth's
	// controller has run; a short delay keeps the test from sleeping 30 s.
	fast := func(o *awseks.ClusterActiveWaiterOptions) { o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second }
	if err := awseks.NewClusterActiveWaiter(client, fast).Wait(ctx, &awseks.DescribeClusterInput{Name: aws.String("go")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	d, err := client.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String("go")})
	if err != nil {
		t.Fatal(err)
	}
	if d.Cluster.Status != ekstypes.ClusterStatusActive || d.Cluster.CreatedAt == nil || time.Since(*d.Cluster.CreatedAt) > time.Minute || d.Cluster.Tags["sdk"] != "go" {
		t.Errorf("describe: %+v", d.Cluster)
	}
	_, err = client.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String("nope")})
	var nf *ekstypes.ResourceNotFoundException
	if !errors.As(err, &nf) || nf.ErrorMessage() != "No cluster found for name: nope." {
		t.Errorf("not found: %v", err)
	}
	_, err = client.CreateCluster(ctx, &awseks.CreateClusterInput{Name: aws.String("go"), RoleArn: aws.String(eksRole), ResourcesVpcConfig: &ekstypes.VpcConfigRequest{}})
	var inUse *ekstypes.ResourceInUseException
	if !errors.As(err, &inUse) {
		t.Errorf("duplicate: %v", err)
	}
	_, err = client.ListClusters(ctx, &awseks.ListClustersInput{MaxResults: aws.Int32(101)})
	var invalid *ekstypes.InvalidParameterException
	if !errors.As(err, &invalid) || !strings.Contains(invalid.ErrorMessage(), "maxResults") {
		t.Errorf("maxResults 101: %v", err)
	}
	// Access entries by a principal ARN in the path, escaped.
	const dev = "arn:aws:iam::000000000000:role/path/dev"
	if _, err := client.CreateAccessEntry(ctx, &awseks.CreateAccessEntryInput{ClusterName: aws.String("go"), PrincipalArn: aws.String(dev)}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.AssociateAccessPolicy(ctx, &awseks.AssociateAccessPolicyInput{ClusterName: aws.String("go"), PrincipalArn: aws.String(dev),
		PolicyArn: aws.String("arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"), AccessScope: &ekstypes.AccessScope{Type: ekstypes.AccessScopeTypeCluster}}); err != nil {
		t.Fatal(err)
	}
	e, err := client.DescribeAccessEntry(ctx, &awseks.DescribeAccessEntryInput{ClusterName: aws.String("go"), PrincipalArn: aws.String(dev)})
	if err != nil || aws.ToString(e.AccessEntry.PrincipalArn) != dev {
		t.Fatalf("describe-access-entry: %v %+v", err, e)
	}
	ng, err := client.CreateNodegroup(ctx, &awseks.CreateNodegroupInput{ClusterName: aws.String("go"), NodegroupName: aws.String("ng"), NodeRole: aws.String(nodeRole),
		Subnets: []string{"subnet-1"}, ScalingConfig: &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(1), MaxSize: aws.Int32(3), DesiredSize: aws.Int32(1)}})
	if err != nil {
		t.Fatal(err)
	}
	fastNG := func(o *awseks.NodegroupActiveWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second
	}
	if err := awseks.NewNodegroupActiveWaiter(client, fastNG).Wait(ctx, &awseks.DescribeNodegroupInput{ClusterName: aws.String("go"), NodegroupName: ng.Nodegroup.NodegroupName}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := client.TagResource(ctx, &awseks.TagResourceInput{ResourceArn: ng.Nodegroup.NodegroupArn, Tags: map[string]string{"pool": "a"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := client.ListTagsForResource(ctx, &awseks.ListTagsForResourceInput{ResourceArn: ng.Nodegroup.NodegroupArn})
	if err != nil || tags.Tags["pool"] != "a" {
		t.Errorf("nodegroup tags: %v %v", err, tags)
	}
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := []string{}
	for _, e := range list {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}
