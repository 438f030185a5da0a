package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/berth-dev/berth/test/harness"
)

// IAM roles for service accounts on an EKS cluster, the way eksctl users
// set them up: the cluster's OIDC issuer (served by Berth) becomes an IAM
// OIDC provider, a role trusts the service account default/app through it,
// and a pod running as that service account calls sts:GetCallerIdentity
// with aws-sdk-go-v2's default credential chain and gets the role; a pod of
// another service account gets no role at all.

const eksIRSAImage = "berth-e2e/eks-irsa:v1"

// Two service accounts and a pod of each, running the test app's whoami
// mode and then lingering, so that kubectl logs reads a running pod.
const eksIRSAManifest = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: app
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::000000000000:role/app-reader
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: plain
---
apiVersion: v1
kind: Pod
metadata:
  name: irsa
spec:
  serviceAccountName: app
  restartPolicy: Never
  containers:
  - name: whoami
    image: ` + eksIRSAImage + `
    imagePullPolicy: IfNotPresent
    args: [whoami, 1h]
---
apiVersion: v1
kind: Pod
metadata:
  name: plain
spec:
  serviceAccountName: plain
  restartPolicy: Never
  containers:
  - name: whoami
    image: ` + eksIRSAImage + `
    imagePullPolicy: IfNotPresent
    args: [whoami, 1h]
`

func TestEKSIRSA(t *testing.T) {
	t.Parallel()
	e := startEKS(t, "eks-irsa", eksIRSAImage)
	b := e.b
	cluster := e.createCluster(t, "irsa")
	c := cluster.desc

	// The issuer is Berth's, and serves what STS fetches: the discovery
	// document and the cluster's service-account key.
	issuer, _ := c["identity"].(map[string]any)["oidc"].(map[string]any)["issuer"].(string)
	if !strings.HasPrefix(issuer, b.Endpoint()+"/_berth/eks/oidc/000000000000/us-east-1/id/") {
		t.Fatalf("identity.oidc.issuer = %q, not served by Berth at %s", issuer, b.Endpoint())
	}
	var disco struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	getJSON(t, issuer+"/.well-known/openid-configuration", &disco)
	if disco.Issuer != issuer || disco.JWKSURI != issuer+"/keys" {
		t.Errorf("discovery document: %+v", disco)
	}
	var keys struct {
		Keys []struct{ Kty, Kid, Alg, Crv string }
	}
	getJSON(t, disco.JWKSURI, &keys)
	if len(keys.Keys) != 1 || keys.Keys[0].Kty != "EC" || keys.Keys[0].Alg != "ES256" || keys.Keys[0].Kid == "" {
		t.Errorf("JWKS: %+v", keys)
	}

	// eksctl utils associate-iam-oidc-provider, then eksctl's IRSA role.
	host := strings.TrimPrefix(issuer, "http://")
	provider := "arn:aws:iam::000000000000:oidc-provider/" + host
	var created struct{ OpenIDConnectProviderArn string }
	b.AWS(t, "iam", "create-open-id-connect-provider", "--url", issuer, "--client-id-list", "sts.amazonaws.com",
		"--thumbprint-list", "9e99a48a9960b14926bb7f3b02e22da2b0ab7280").Must(t).JSON(t, &created)
	if created.OpenIDConnectProviderArn != provider {
		t.Fatalf("create-open-id-connect-provider: %q, want %q", created.OpenIDConnectProviderArn, provider)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + provider + `"},` +
		`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + host + `:sub":"system:serviceaccount:default:app","` +
		host + `:aud":"sts.amazonaws.com"}}}]}`
	b.AWS(t, "iam", "create-role", "--role-name", "app-reader", "--assume-role-policy-document", trust).Must(t)

	kubectl := func(args ...string) *harness.Result {
		t.Helper()
		return cluster.kubectl(t, args...)
	}
	cluster.createNodegroup(t, "workers", 1)
	cluster.apply(t, eksIRSAManifest)
	var running map[string]string
	eksEventually(t, "both pods Running", func() (bool, string) {
		running = podsRunning(t, kubectl("get", "pods", "-o", "json"))
		return len(running) == 2, kubectl("get", "pods", "-o", "wide").Stdout
	})
	t.Cleanup(func() { removePodContainers([]string{running["irsa"], running["plain"]}) })

	// The program in the pod found its role from the environment alone.
	want := "whoami arn=arn:aws:sts::000000000000:assumed-role/app-reader/"
	var logs string
	eksEventually(t, "the IRSA pod's whoami line", func() (bool, string) {
		r := kubectl("logs", "irsa")
		logs = r.Stdout + r.Stderr
		return strings.Contains(logs, "whoami arn="), logs
	})
	if !strings.Contains(logs, want) || !strings.Contains(logs, "source=WebIdentityCredentials") {
		t.Errorf("kubectl logs irsa: %s\nwant a line starting %q from the web identity provider", logs, want)
	}
	t.Logf("kubectl logs irsa: %s", strings.TrimSpace(logs))

	// What the pod identity webhook gives a pod, and nothing of it to a pod
	// whose service account names no role.
	irsaEnv := containerEnv(t, running["irsa"])
	for k, v := range map[string]string{
		"AWS_ROLE_ARN":                "arn:aws:iam::000000000000:role/app-reader",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
		"AWS_STS_REGIONAL_ENDPOINTS":  "regional",
		"AWS_REGION":                  "us-east-1",
		"AWS_DEFAULT_REGION":          "us-east-1",
	} {
		if irsaEnv[k] != v {
			t.Errorf("IRSA pod: %s=%q, want %q", k, irsaEnv[k], v)
		}
	}
	if irsaEnv["AWS_ENDPOINT_URL_STS"] == "" || irsaEnv["AWS_ENDPOINT_URL"] != irsaEnv["AWS_ENDPOINT_URL_STS"] {
		t.Errorf("IRSA pod: AWS_ENDPOINT_URL=%q AWS_ENDPOINT_URL_STS=%q", irsaEnv["AWS_ENDPOINT_URL"], irsaEnv["AWS_ENDPOINT_URL_STS"])
	}
	plainEnv := containerEnv(t, running["plain"])
	for _, k := range []string{"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		if v, ok := plainEnv[k]; ok {
			t.Errorf("pod without a role: %s=%q", k, v)
		}
	}
	if r := kubectl("logs", "plain"); strings.Contains(r.Stdout, "assumed-role") {
		t.Errorf("pod without a role got one: %s", r.Stdout)
	}
}

// getJSON fetches url and decodes its JSON body into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, v) != nil {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, body)
	}
}

// containerEnv is the environment of the pod's (only) container, as the
// engine runs it.
func containerEnv(t *testing.T, podUID string) map[string]string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-aq", "--filter", "label=berth.k8s.uid="+podUID, "--filter", "label=berth.k8s.container=whoami").Output()
	ids := strings.Fields(string(out))
	if err != nil || len(ids) != 1 {
		t.Fatalf("pod %s has containers %v (%v)", podUID, ids, err)
	}
	out, err = exec.Command("docker", "inspect", "--format", "{{json .Config.Env}}", ids[0]).Output()
	if err != nil {
		t.Fatal(err)
	}
	var list []string
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range list {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}
