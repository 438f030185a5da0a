package e2e

import (
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// EKS Pod Identity, set up as the EKS user guide does it: a role trusting
// pods.eks.amazonaws.com, an association of a namespace's service account
// with it (aws eks create-pod-identity-association), and a pod of that
// service account whose aws-sdk-go-v2 default chain gets the role's
// credentials from the Pod Identity Agent at 169.254.170.23; a pod of a
// service account without an association gets none of it. boto3 checks
// the API's shapes and errors, and eks-auth AssumeRoleForPodIdentity with a
// token kubectl creates.

const eksPodIdentityImage = "berth-e2e/eks-pod-identity:v1"

const eksPodIdentityTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`

const eksPodIdentityManifest = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: cart
  namespace: shop
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: plain
  namespace: shop
---
apiVersion: v1
kind: Pod
metadata:
  name: cart
  namespace: shop
spec:
  serviceAccountName: cart
  restartPolicy: Never
  containers:
  - name: whoami
    image: ` + eksPodIdentityImage + `
    imagePullPolicy: IfNotPresent
    args: [whoami, 1h]
---
apiVersion: v1
kind: Pod
metadata:
  name: plain
  namespace: shop
spec:
  serviceAccountName: plain
  restartPolicy: Never
  containers:
  - name: whoami
    image: ` + eksPodIdentityImage + `
    imagePullPolicy: IfNotPresent
    args: [whoami, 1h]
`

// eksPodIdentityAPIScript drives the association API with boto3: shapes,
// filters, paging, updates, tags and AWS's errors. argv: cluster, role ARN,
// the association id of shop/cart.
const eksPodIdentityAPIScript = `import boto3, json, re, sys
from botocore.exceptions import ClientError
cluster, role, cart = sys.argv[1], sys.argv[2], sys.argv[3]
eks = boto3.client("eks")
out = {}

def code(f, **kw):
    try:
        f(**kw)
        return "ok"
    except ClientError as e:
        return e.response["Error"]["Code"]

a = eks.describe_pod_identity_association(clusterName=cluster, associationId=cart)["association"]
out["describe"] = {k: a.get(k) for k in ("clusterName", "namespace", "serviceAccount", "roleArn", "associationId", "disableSessionTags")}
out["arn_ok"] = a["associationArn"] == "arn:aws:eks:us-east-1:000000000000:podidentityassociation/%s/%s" % (cluster, cart)
out["id_ok"] = re.fullmatch(r"a-[a-z0-9]{17}", cart) is not None
out["times"] = "createdAt" in a and "modifiedAt" in a

ids = [cart]
for sa in ("a1", "a2", "a3"):
    ids.append(eks.create_pod_identity_association(clusterName=cluster, namespace="batch", serviceAccount=sa, roleArn=role, tags={"team": sa})["association"]["associationId"])
out["errors"] = {
    "duplicate": code(eks.create_pod_identity_association, clusterName=cluster, namespace="shop", serviceAccount="cart", roleArn=role),
    "no_cluster": code(eks.create_pod_identity_association, clusterName="nope", namespace="shop", serviceAccount="x", roleArn=role),
    "bad_role": code(eks.create_pod_identity_association, clusterName=cluster, namespace="shop", serviceAccount="x", roleArn="not-an-arn"),
    "bad_namespace": code(eks.create_pod_identity_association, clusterName=cluster, namespace="Bad_NS", serviceAccount="x", roleArn=role),
    "describe_unknown": code(eks.describe_pod_identity_association, clusterName=cluster, associationId="a-00000000000000000"),
    "list_no_cluster": code(eks.list_pod_identity_associations, clusterName="nope"),
}

out["all"] = len(eks.list_pod_identity_associations(clusterName=cluster)["associations"])
out["batch"] = sorted(s["serviceAccount"] for s in eks.list_pod_identity_associations(clusterName=cluster, namespace="batch")["associations"])
out["a2"] = [s["associationId"] for s in eks.list_pod_identity_associations(clusterName=cluster, namespace="batch", serviceAccount="a2")["associations"]] == [ids[2]]
pages, seen = 0, []
for p in eks.get_paginator("list_pod_identity_associations").paginate(clusterName=cluster, PaginationConfig={"PageSize": 1}):
    pages += 1
    seen += [s["associationId"] for s in p["associations"]]
out["paged"] = {"pages": pages, "same": sorted(seen) == sorted(ids)}

u = eks.update_pod_identity_association(clusterName=cluster, associationId=ids[1], disableSessionTags=True)["association"]
out["updated"] = u["disableSessionTags"]
arn = u["associationArn"]
eks.tag_resource(resourceArn=arn, tags={"env": "test"})
out["tags"] = eks.list_tags_for_resource(resourceArn=arn)["tags"]
for i in ids[1:]:
    d = eks.delete_pod_identity_association(clusterName=cluster, associationId=i)["association"]
    assert d["associationId"] == i
out["after_delete"] = len(eks.list_pod_identity_associations(clusterName=cluster)["associations"])
out["delete_again"] = code(eks.delete_pod_identity_association, clusterName=cluster, associationId=ids[1])
print(json.dumps(out))
`

// eksAuthScript calls eks-auth AssumeRoleForPodIdentity as the agent does.
// argv: cluster, token.
const eksAuthScript = `import boto3, json, sys
from botocore.exceptions import ClientError
auth = boto3.client("eks-auth")
out = {}
r = auth.assume_role_for_pod_identity(clusterName=sys.argv[1], token=sys.argv[2])
out["subject"] = r["subject"]
out["arn"] = r["assumedRoleUser"]["arn"]
out["association"] = r["podIdentityAssociation"]["associationId"]
out["has_keys"] = bool(r["credentials"]["accessKeyId"] and r["credentials"]["sessionToken"])
try:
    auth.assume_role_for_pod_identity(clusterName=sys.argv[1], token="not.a.token")
    out["bad_token"] = "ok"
except ClientError as e:
    out["bad_token"] = e.response["Error"]["Code"]
print(json.dumps(out))
`

func TestEKSPodIdentity(t *testing.T) {
	t.Parallel()
	e := startEKS(t, "eks-pod-identity", eksPodIdentityImage)
	b := e.b
	cluster := e.createCluster(t, "podid")

	var role struct{ Role struct{ Arn string } }
	b.AWS(t, "iam", "create-role", "--role-name", "cart-role", "--assume-role-policy-document", eksPodIdentityTrust).Must(t).JSON(t, &role)
	var created struct {
		Association struct {
			AssociationID  string `json:"associationId"`
			AssociationArn string `json:"associationArn"`
			RoleArn        string `json:"roleArn"`
		}
	}
	// Debian's aws CLI v2 (2.9) predates Pod Identity; the v1 CLI has it.
	b.AWS(t, "eks", "create-pod-identity-association", "--cluster-name", "podid", "--namespace", "shop",
		"--service-account", "cart", "--role-arn", role.Role.Arn).Must(t).JSON(t, &created)
	if created.Association.RoleArn != role.Role.Arn || !strings.HasPrefix(created.Association.AssociationID, "a-") {
		t.Fatalf("create-pod-identity-association: %+v", created)
	}

	cluster.createNodegroup(t, "workers", 1)
	cluster.apply(t, eksPodIdentityManifest)
	kubectl := func(args ...string) string {
		t.Helper()
		r := cluster.kubectl(t, args...)
		return r.Stdout + r.Stderr
	}
	var running map[string]string
	eksEventually(t, "both pods Running", func() (bool, string) {
		running = podsRunning(t, cluster.kubectl(t, "get", "pods", "-n", "shop", "-o", "json"))
		return len(running) == 2, kubectl("get", "pods", "-n", "shop", "-o", "wide")
	})
	t.Cleanup(func() { removePodContainers([]string{running["cart"], running["plain"]}) })

	// The program in the pod got the role from the agent, through the
	// environment alone.
	want := "whoami arn=arn:aws:sts::000000000000:assumed-role/cart-role/eks-podid-cart-"
	var logs string
	eksEventually(t, "the cart pod's whoami line", func() (bool, string) {
		logs = kubectl("logs", "-n", "shop", "cart")
		return strings.Contains(logs, "whoami arn="), logs
	})
	if !strings.Contains(logs, want) || !strings.Contains(logs, "source=CredentialsEndpointProvider") {
		t.Errorf("kubectl logs cart: %s\nwant a line starting %q from the container (endpoint) provider", logs, want)
	}
	t.Logf("kubectl logs cart: %s", strings.TrimSpace(logs))

	env := containerEnv(t, running["cart"])
	if uri := env["AWS_CONTAINER_CREDENTIALS_FULL_URI"]; !strings.HasPrefix(uri, "http://169.254.170.23") || !strings.HasSuffix(uri, "/v1/credentials") {
		t.Errorf("cart pod: AWS_CONTAINER_CREDENTIALS_FULL_URI=%q", uri)
	}
	if f := env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]; f != "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token" {
		t.Errorf("cart pod: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=%q", f)
	}
	plain := containerEnv(t, running["plain"])
	for _, k := range []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"} {
		if v, ok := plain[k]; ok {
			t.Errorf("pod without an association: %s=%q", k, v)
		}
	}
	if l := kubectl("logs", "-n", "shop", "plain"); strings.Contains(l, "assumed-role") {
		t.Errorf("pod without an association got a role: %s", l)
	}

	// The agent's exchange as an API: a token for the service account,
	// with the audience EKS's webhook asks for.
	token := strings.TrimSpace(cluster.kubectl(t, "create", "token", "cart", "-n", "shop", "--audience", "pods.eks.amazonaws.com").Must(t).Stdout)
	var auth struct {
		Subject     map[string]string
		Arn         string
		Association string
		HasKeys     bool   `json:"has_keys"`
		BadToken    string `json:"bad_token"`
	}
	b.Python(t, eksAuthScript, "podid", token).Must(t).JSON(t, &auth)
	if auth.Subject["namespace"] != "shop" || auth.Subject["serviceAccount"] != "cart" || !strings.HasPrefix(auth.Arn, "arn:aws:sts::000000000000:assumed-role/cart-role/eks-podid-") ||
		auth.Association != created.Association.AssociationID || !auth.HasKeys || auth.BadToken != "InvalidTokenException" {
		t.Errorf("eks-auth assume-role-for-pod-identity: %+v", auth)
	}

	// The API, with boto3.
	var api struct {
		Describe map[string]any
		ArnOK    bool `json:"arn_ok"`
		IDOK     bool `json:"id_ok"`
		Times    bool
		Errors   map[string]string
		All      int
		Batch    []string
		A2       bool
		Paged    struct {
			Pages int
			Same  bool
		}
		Updated     bool
		Tags        map[string]string
		AfterDelete int    `json:"after_delete"`
		DeleteAgain string `json:"delete_again"`
	}
	b.Python(t, eksPodIdentityAPIScript, "podid", role.Role.Arn, created.Association.AssociationID).Must(t).JSON(t, &api)
	if api.Describe["namespace"] != "shop" || api.Describe["serviceAccount"] != "cart" || api.Describe["roleArn"] != role.Role.Arn ||
		api.Describe["disableSessionTags"] != false || !api.ArnOK || !api.IDOK || !api.Times {
		t.Errorf("describe-pod-identity-association: %+v", api)
	}
	wantErrors := map[string]string{
		"duplicate": "ResourceInUseException", "no_cluster": "ResourceNotFoundException", "bad_role": "InvalidParameterException",
		"bad_namespace": "InvalidParameterException", "describe_unknown": "ResourceNotFoundException", "list_no_cluster": "ResourceNotFoundException",
	}
	for k, v := range wantErrors {
		if api.Errors[k] != v {
			t.Errorf("%s: %q, want %s", k, api.Errors[k], v)
		}
	}
	if api.All != 4 || strings.Join(api.Batch, ",") != "a1,a2,a3" || !api.A2 || api.Paged.Pages < 4 || !api.Paged.Same {
		t.Errorf("list-pod-identity-associations: all=%d batch=%v a2=%v paged=%+v", api.All, api.Batch, api.A2, api.Paged)
	}
	if !api.Updated || api.Tags["env"] != "test" || api.Tags["team"] != "a1" || api.AfterDelete != 1 || api.DeleteAgain != "ResourceNotFoundException" {
		t.Errorf("update/tags/delete: updated=%v tags=%v after=%d again=%q", api.Updated, api.Tags, api.AfterDelete, api.DeleteAgain)
	}

	// Berth restarts and finds the agent's port taken (another Berth on
	// the host, say): it listens on another one and adopts the cluster's
	// processes as they are, and new pods get the new URI.
	oldURI := env["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
	u, err := url.Parse(oldURI)
	if err != nil {
		t.Fatalf("agent URI %q: %v", oldURI, err)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
	}
	cps, nodes := controlPlanePids(e.dataDir), nodesPids(e.dataDir)
	b.Kill()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		t.Fatalf("taking the agent's port %s:%s while Berth is down: %v", host, port, err)
	}
	defer ln.Close()
	b.Restart()
	eksEventually(t, "the control plane to be re-adopted", func() (bool, string) {
		return strings.Contains(b.Log(), "re-adopted the control plane"), ""
	})
	if after := controlPlanePids(e.dataDir); !slices.Equal(after, cps) {
		t.Errorf("control plane processes after a restart on another agent port: %v, before %v", after, cps)
	}
	if after := nodesPids(e.dataDir); !slices.Equal(after, nodes) {
		t.Errorf("node group processes after a restart on another agent port: %v, before %v", after, nodes)
	}
	cluster.apply(t, strings.ReplaceAll(eksPodIdentityCart2, "IMAGE", eksPodIdentityImage))
	var cart2 map[string]string
	eksEventually(t, "the cart2 pod Running", func() (bool, string) {
		cart2 = podsRunning(t, cluster.kubectl(t, "get", "pods", "-n", "shop", "-o", "json"))
		return cart2["cart2"] != "", kubectl("get", "pods", "-n", "shop", "-o", "wide")
	})
	t.Cleanup(func() { removePodContainers([]string{cart2["cart2"]}) })
	if uri := containerEnv(t, cart2["cart2"])["AWS_CONTAINER_CREDENTIALS_FULL_URI"]; uri == oldURI || !strings.HasPrefix(uri, "http://169.254.170.23") {
		t.Errorf("cart2 pod after the restart: AWS_CONTAINER_CREDENTIALS_FULL_URI=%q, the old one was %q", uri, oldURI)
	}
	eksEventually(t, "the cart2 pod's whoami line", func() (bool, string) {
		logs = kubectl("logs", "-n", "shop", "cart2")
		return strings.Contains(logs, "whoami arn="), logs
	})
	if !strings.Contains(logs, "whoami arn=arn:aws:sts::000000000000:assumed-role/cart-role/") {
		t.Errorf("kubectl logs cart2: %s\nwant the cart-role's credentials", logs)
	}
}

// eksPodIdentityCart2 is one more pod of the associated service account.
const eksPodIdentityCart2 = `apiVersion: v1
kind: Pod
metadata:
  name: cart2
  namespace: shop
spec:
  serviceAccountName: cart
  restartPolicy: Never
  containers:
  - name: whoami
    image: IMAGE
    imagePullPolicy: IfNotPresent
    args: [whoami, 1h]
`
