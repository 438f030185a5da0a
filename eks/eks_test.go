package eks

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store/sqlite"
)

// testServer serves the EKS API and the token reviewer alone, over a
// scratch store, with the controller running.
func testServer(t *testing.T, auth *awsapi.Authenticator) (*Service, string) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	mux := awsapi.NewMux(auth, nil)
	var base string
	svc, err := New(Options{Store: st, Auth: auth, TokenReviewURL: func(c ClusterRef) string { return TokenReviewURL(base, c) }})
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleRest(eksapi.NewRestService(svc))
	hm := http.NewServeMux()
	hm.HandleFunc(TokenReviewPath, svc.ServeTokenReview)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mux.Match(r) {
			mux.ServeHTTP(w, r)
			return
		}
		hm.ServeHTTP(w, r)
	}))
	base = srv.URL
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; srv.Close() })
	return svc, srv.URL
}

func call(t *testing.T, base, method, path, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s %s: %s: %v", method, path, data, err)
	}
	return resp.StatusCode, m, resp.Header
}

func waitFor(t *testing.T, base, path, field, want string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, m, _ := call(t, base, "GET", path, "")
		obj, _ := m[field].(map[string]any)
		if obj != nil && obj["status"] == want {
			return obj
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v, want status %s", path, m, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The story of a cluster through the API alone: created CREATING, ACTIVE
// with the unserved control plane's endpoint and issue, a node group
// scaled, refused deletion while the node group is there, then gone.
func TestClusterLifecycle(t *testing.T) {
	_, base := testServer(t, &awsapi.Authenticator{})
	status, m, _ := call(t, base, "POST", "/clusters", `{"name":"prod","roleArn":"arn:aws:iam::000000000000:role/eks","resourcesVpcConfig":{"subnetIds":["subnet-1","subnet-2"]}}`)
	if status != 200 || m["cluster"].(map[string]any)["status"] != "CREATING" {
		t.Fatalf("create: %d %v", status, m)
	}
	c := waitFor(t, base, "/clusters/prod", "cluster", "ACTIVE")
	if !strings.HasSuffix(c["endpoint"].(string), ".eks.berth.invalid") || c["arn"] != "arn:aws:eks:us-east-1:000000000000:cluster/prod" {
		t.Errorf("cluster: %v", c)
	}
	if issues := c["health"].(map[string]any)["issues"].([]any); len(issues) != 1 || issues[0].(map[string]any)["message"] != UnservedIssue {
		t.Errorf("health: %v", c["health"])
	}
	status, m, h := call(t, base, "POST", "/clusters", `{"name":"prod","roleArn":"arn:aws:iam::000000000000:role/eks","resourcesVpcConfig":{}}`)
	if status != 409 || h.Get("X-Amzn-ErrorType") != "ResourceInUseException" || m["message"] != "Cluster already exists with name: prod" {
		t.Errorf("duplicate: %d %v", status, m)
	}
	status, _, h = call(t, base, "POST", "/clusters", `{"name":"-bad","roleArn":"arn:aws:iam::000000000000:role/eks","resourcesVpcConfig":{}}`)
	if status != 400 || h.Get("X-Amzn-ErrorType") != "InvalidParameterException" {
		t.Errorf("bad name: %d %s", status, h.Get("X-Amzn-ErrorType"))
	}
	status, _, _ = call(t, base, "POST", "/clusters/prod/node-groups", `{"nodegroupName":"ng","nodeRole":"arn:aws:iam::000000000000:role/node","subnets":["subnet-1"],"scalingConfig":{"minSize":1,"maxSize":3,"desiredSize":2}}`)
	if status != 200 {
		t.Fatalf("nodegroup: %d", status)
	}
	waitFor(t, base, "/clusters/prod/node-groups/ng", "nodegroup", "ACTIVE")
	status, m, _ = call(t, base, "POST", "/clusters/prod/node-groups/ng/update-config", `{"scalingConfig":{"desiredSize":3}}`)
	if status != 200 {
		t.Fatalf("update: %d %v", status, m)
	}
	id := m["update"].(map[string]any)["id"].(string)
	waitFor(t, base, "/clusters/prod/updates/"+id+"?nodegroupName=ng", "update", "Successful")
	status, m, h = call(t, base, "DELETE", "/clusters/prod", "")
	if status != 409 || h.Get("X-Amzn-ErrorType") != "ResourceInUseException" || m["message"] != "Cluster has nodegroups attached" {
		t.Errorf("delete with nodegroups: %d %v", status, m)
	}
	call(t, base, "DELETE", "/clusters/prod/node-groups/ng", "")
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, _, _ = call(t, base, "GET", "/clusters/prod/node-groups/ng", "")
		if status == 404 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("node group not deleted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	status, m, _ = call(t, base, "DELETE", "/clusters/prod", "")
	if status != 200 || m["cluster"].(map[string]any)["status"] != "DELETING" {
		t.Fatalf("delete: %d %v", status, m)
	}
	for {
		status, m, h = call(t, base, "GET", "/clusters/prod", "")
		if status == 404 {
			if h.Get("X-Amzn-ErrorType") != "ResourceNotFoundException" || m["message"] != "No cluster found for name: prod." {
				t.Errorf("gone: %v %v", h, m)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("cluster not deleted")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPrincipalOf(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:sts::111111111111:assumed-role/admin/alice": "arn:aws:iam::111111111111:role/admin",
		"arn:aws:iam::111111111111:root":                     "arn:aws:iam::111111111111:root",
		"arn:aws:iam::111111111111:user/bob":                 "arn:aws:iam::111111111111:user/bob",
	} {
		if got := principalOf(in); got != want {
			t.Errorf("principalOf(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestTokenReviewRefusesGarbage(t *testing.T) {
	_, base := testServer(t, &awsapi.Authenticator{})
	for _, token := range []string{"", "k8s-aws-v1.%%%", "k8s-aws-v1.aHR0cDovL2V4YW1wbGU", "Bearer x"} {
		body, _ := json.Marshal(map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": map[string]any{"token": token}})
		resp, err := http.Post(TokenReviewURL(base, ClusterRef{"000000000000", "us-east-1", "prod"}), "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var tr tokenReview
		json.NewDecoder(resp.Body).Decode(&tr)
		resp.Body.Close()
		if resp.StatusCode != 200 || tr.Status.Authenticated || tr.Status.Error == "" || tr.APIVersion != "authentication.k8s.io/v1" {
			t.Errorf("%q: %d %+v", token, resp.StatusCode, tr)
		}
	}
}
