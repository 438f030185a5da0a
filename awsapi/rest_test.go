package awsapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// restEcho is a service whose operations answer with their name and labels.
func restEcho() *RestService {
	op := func(name, method, uri string, status int) RestOperation {
		return RestOperation{Name: name, Method: method, URI: uri, Status: status, Call: func(ctx context.Context, req *RestRequest) (*RestResponse, error) {
			if req.Labels["name"] == "boom" {
				return nil, NewError(http.StatusNotFound, "ResourceNotFoundException", "No cluster found for name: boom.")
			}
			body, _ := json.Marshal(map[string]any{"op": req.Operation, "labels": req.Labels, "q": req.Query.Get("maxResults")})
			return &RestResponse{Body: body}, nil
		}}
	}
	return &RestService{SigningName: "eks", Operations: []RestOperation{
		op("ListClusters", "GET", "/clusters", 200),
		op("CreateCluster", "POST", "/clusters", 200),
		op("DescribeCluster", "GET", "/clusters/{name}", 200),
		op("ListUpdates", "GET", "/clusters/{name}/updates", 200),
		op("DescribeUpdate", "GET", "/clusters/{name}/updates/{updateId}", 200),
		op("Other", "GET", "/clusters/{name}/{thing}", 200),
		op("GetObject", "GET", "/objects/{key+}", 200),
		op("Versioned", "GET", "/objects/{key+}?versions", 202),
		op("Tag", "POST", "/tags/{resourceArn}", 204),
	}}
}

func restDo(t *testing.T, m *Mux, method, target, auth string) (*http.Response, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(""))
	if auth != "" {
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Amz-Date", "20260101T000000Z")
	}
	if !m.Match(r) {
		t.Fatalf("%s %s: the mux does not take it", method, target)
	}
	w := httptest.NewRecorder()
	m.ServeHTTP(w, r)
	resp := w.Result()
	data, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(data, &body); err != nil {
		t.Fatalf("%s %s: body %q: %v", method, target, data, err)
	}
	return resp, body
}

func TestRestRouting(t *testing.T) {
	m := NewMux(&Authenticator{}, nil)
	m.HandleRest(restEcho())
	signed := "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/eks/aws4_request, SignedHeaders=host, Signature=abc"
	cases := []struct {
		method, target, op string
		labels             map[string]any
		status             int
	}{
		{"GET", "/clusters", "ListClusters", map[string]any{}, 200},
		{"POST", "/clusters/", "CreateCluster", map[string]any{}, 200},
		{"GET", "/clusters/prod", "DescribeCluster", map[string]any{"name": "prod"}, 200},
		// A literal segment beats a label in the same place.
		{"GET", "/clusters/prod/updates", "ListUpdates", map[string]any{"name": "prod"}, 200},
		{"GET", "/clusters/prod/other", "Other", map[string]any{"name": "prod", "thing": "other"}, 200},
		{"GET", "/clusters/prod/updates/u-1", "DescribeUpdate", map[string]any{"name": "prod", "updateId": "u-1"}, 200},
		// An escaped slash stays inside its label; greedy labels take slashes.
		{"POST", "/tags/arn%3Aaws%3Aeks%3Aus-east-1%3A000000000000%3Acluster%2Fprod", "Tag", map[string]any{"resourceArn": "arn:aws:eks:us-east-1:000000000000:cluster/prod"}, 204},
		{"GET", "/objects/a/b%20c/d", "GetObject", map[string]any{"key": "a/b c/d"}, 200},
		{"GET", "/objects/a/b?versions", "Versioned", map[string]any{"key": "a/b"}, 202},
	}
	for _, c := range cases {
		for _, auth := range []string{"", signed} {
			resp, body := restDo(t, m, c.method, c.target, auth)
			if resp.StatusCode != c.status || body["op"] != c.op {
				t.Errorf("%s %s (signed %v): %d %v, want %s %d", c.method, c.target, auth != "", resp.StatusCode, body, c.op, c.status)
				continue
			}
			got, _ := json.Marshal(body["labels"])
			want, _ := json.Marshal(c.labels)
			if string(got) != string(want) {
				t.Errorf("%s %s: labels %s, want %s", c.method, c.target, got, want)
			}
		}
	}
	_, body := restDo(t, m, "GET", "/clusters?maxResults=5", "")
	if body["q"] != "5" {
		t.Errorf("query: %v", body)
	}
}

func TestRestErrors(t *testing.T) {
	m := NewMux(&Authenticator{}, nil)
	m.HandleRest(restEcho())
	signed := "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/eks/aws4_request, SignedHeaders=host, Signature=abc"
	for _, c := range []struct {
		method, target, code string
		status               int
	}{
		{"GET", "/clusters/boom", "ResourceNotFoundException", 404},
		{"DELETE", "/clusters", CodeUnknownOperation, 405},
		{"GET", "/nowhere/at/all", CodeUnknownOperation, 404},
	} {
		resp, body := restDo(t, m, c.method, c.target, signed)
		if resp.StatusCode != c.status || resp.Header.Get("X-Amzn-ErrorType") != c.code || body["message"] == "" || body["message"] == nil {
			t.Errorf("%s %s: %d %q %v", c.method, c.target, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body)
		}
	}
	// Unsigned requests for paths no service has are not the mux's.
	if m.Match(httptest.NewRequest("GET", "/v2/", nil)) {
		t.Error("the registry's /v2/ was taken")
	}
	// With credentials configured, the signature is checked before routing.
	strict := NewMux(&Authenticator{Credentials: Credentials{"AKID": "secret"}}, nil)
	strict.HandleRest(restEcho())
	resp, _ := restDo(t, strict, "GET", "/clusters/prod", signed)
	if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-ErrorType") != CodeInvalidSignature {
		t.Errorf("bad signature: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
	resp, _ = restDo(t, strict, "GET", "/clusters/prod", "")
	if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-ErrorType") != CodeMissingAuthenticationToken {
		t.Errorf("unsigned: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
}
