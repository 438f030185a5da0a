package eks

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/berth-dev/berth/awsapi"
)

func TestPodIdentityAssociations(t *testing.T) {
	svc, base := testServer(t, &awsapi.Authenticator{})
	call(t, base, "POST", "/clusters", `{"name":"prod","roleArn":"arn:aws:iam::000000000000:role/eks","resourcesVpcConfig":{"subnetIds":["subnet-1"]}}`)
	waitFor(t, base, "/clusters/prod", "cluster", "ACTIVE")

	role := "arn:aws:iam::000000000000:role/app"
	status, m, _ := call(t, base, "POST", "/clusters/prod/pod-identity-associations", `{"namespace":"shop","serviceAccount":"cart","roleArn":"`+role+`","clientRequestToken":"t1"}`)
	a, _ := m["association"].(map[string]any)
	id, _ := a["associationId"].(string)
	if status != 200 || !regexp.MustCompile(`^a-[a-z0-9]{17}$`).MatchString(id) ||
		a["associationArn"] != "arn:aws:eks:us-east-1:000000000000:podidentityassociation/prod/"+id || a["disableSessionTags"] != false {
		t.Fatalf("create: %d %v", status, m)
	}
	// A retry with the same token is the same association; another is a
	// duplicate.
	if _, m, _ := call(t, base, "POST", "/clusters/prod/pod-identity-associations", `{"namespace":"shop","serviceAccount":"cart","roleArn":"`+role+`","clientRequestToken":"t1"}`); m["association"].(map[string]any)["associationId"] != id {
		t.Errorf("retry: %v", m)
	}
	for _, c := range []struct {
		path, body string
		status     int
	}{
		{"/clusters/prod/pod-identity-associations", `{"namespace":"shop","serviceAccount":"cart","roleArn":"` + role + `"}`, 409},
		{"/clusters/nope/pod-identity-associations", `{"namespace":"shop","serviceAccount":"x","roleArn":"` + role + `"}`, 404},
		{"/clusters/prod/pod-identity-associations", `{"namespace":"shop","serviceAccount":"x","roleArn":"arn:aws:iam::000000000000:user/u"}`, 400},
		{"/clusters/prod/pod-identity-associations", `{"namespace":"shop","serviceAccount":"x","roleArn":"` + role + `","targetRoleArn":"` + role + `"}`, 400},
		{"/clusters/prod/pod-identity-associations", `{"namespace":"shop","serviceAccount":"x","roleArn":"` + role + `","policy":"{nope"}`, 400},
	} {
		if status, m, _ := call(t, base, "POST", c.path, c.body); status != c.status {
			t.Errorf("POST %s %s: %d %v, want %d", c.path, c.body, status, m, c.status)
		}
	}
	for _, sa := range []string{"a", "b", "c"} {
		call(t, base, "POST", "/clusters/prod/pod-identity-associations", `{"namespace":"batch","serviceAccount":"`+sa+`","roleArn":"`+role+`"}`)
	}
	// Filters apply before paging.
	var seen []string
	next := ""
	for range 5 {
		q := "/clusters/prod/pod-identity-associations?namespace=batch&maxResults=2"
		if next != "" {
			q += "&nextToken=" + next
		}
		_, m, _ := call(t, base, "GET", q, "")
		for _, s := range m["associations"].([]any) {
			seen = append(seen, s.(map[string]any)["serviceAccount"].(string))
		}
		next, _ = m["nextToken"].(string)
		if next == "" {
			break
		}
	}
	if len(seen) != 3 {
		t.Errorf("paged list of batch: %v", seen)
	}

	// Update: a target role gets an external id, and removing it drops it.
	_, m, _ = call(t, base, "POST", "/clusters/prod/pod-identity-associations/"+id, `{"targetRoleArn":"arn:aws:iam::111111111111:role/other"}`)
	if a := m["association"].(map[string]any); a["targetRoleArn"] != "arn:aws:iam::111111111111:role/other" || a["externalId"] == nil {
		t.Errorf("update target: %v", m)
	}
	_, m, _ = call(t, base, "POST", "/clusters/prod/pod-identity-associations/"+id, `{"targetRoleArn":""}`)
	if a := m["association"].(map[string]any); a["targetRoleArn"] != nil || a["externalId"] != nil {
		t.Errorf("remove target: %v", m)
	}

	// Nodes' lookup.
	lookup := func(ns, sa string) int {
		r := httptest.NewRequest("GET", "/_berth/eks/000000000000/us-east-1/prod/pod-identity/"+ns+"/"+sa, nil)
		w := httptest.NewRecorder()
		mux := http.NewServeMux()
		mux.HandleFunc(PodIdentityLookupPath, svc.ServePodIdentityLookup)
		mux.ServeHTTP(w, r)
		return w.Code
	}
	if lookup("shop", "cart") != 200 || lookup("shop", "other") != 404 {
		t.Errorf("lookup: %d %d", lookup("shop", "cart"), lookup("shop", "other"))
	}

	if status, _, _ := call(t, base, "DELETE", "/clusters/prod/pod-identity-associations/"+id, ""); status != 200 {
		t.Errorf("delete: %d", status)
	}
	if status, _, _ := call(t, base, "GET", "/clusters/prod/pod-identity-associations/"+id, ""); status != 404 {
		t.Errorf("describe after delete: %d", status)
	}
	if lookup("shop", "cart") != 404 {
		t.Error("lookup after delete still finds the association")
	}
}

func TestPodSessionName(t *testing.T) {
	n := podSessionName("prod", "cart-7d9f8")
	if !strings.HasPrefix(n, "eks-prod-cart-7d9f8-") || len(n) > 64 {
		t.Errorf("session name %q", n)
	}
	long := podSessionName(strings.Repeat("c", 100), strings.Repeat("p", 100))
	if len(long) != 64 || !regexp.MustCompile(`^[\w+=,.@-]+$`).MatchString(long) {
		t.Errorf("long session name %q (%d)", long, len(long))
	}
	if ns, sa, ok := serviceAccountOf("system:serviceaccount:shop:cart"); !ok || ns != "shop" || sa != "cart" {
		t.Errorf("serviceAccountOf: %q %q %v", ns, sa, ok)
	}
	if _, _, ok := serviceAccountOf("system:node:x"); ok {
		t.Error("a node is not a service account")
	}
}

func TestPodIdentityAgentRefuses(t *testing.T) {
	svc, _ := testServer(t, &awsapi.Authenticator{})
	for _, c := range []struct {
		auth   string
		status int
	}{
		{"", 400},
		{"not-a-jwt", 400},
		// A JWT whose issuer is no cluster of this Berth.
		{"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2V4YW1wbGUuY29tIn0.c2ln", 400},
	} {
		r := httptest.NewRequest("GET", "/v1/credentials", nil)
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		w := httptest.NewRecorder()
		svc.ServePodIdentityAgent(w, r)
		if w.Code != c.status {
			t.Errorf("Authorization %q: %d %s, want %d", c.auth, w.Code, w.Body, c.status)
		}
	}
}
