package k8sproc

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// adminClient talks to a cluster's API server as berth-k8s's admin
// certificate (O=system:masters), over plain net/http: the main module
// links no Kubernetes client library.
type adminClient struct {
	url   string
	caPEM []byte
	http  *http.Client
}

func newAdminClient(dataDir, url string) (*adminClient, error) {
	caPEM, err := os.ReadFile(filepath.Join(dataDir, "ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("ca.crt holds no certificate")
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dataDir, "admin.crt"), filepath.Join(dataDir, "admin.key"))
	if err != nil {
		return nil, fmt.Errorf("admin certificate: %w", err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	return &adminClient{url: strings.TrimSuffix(url, "/"), caPEM: caPEM, http: &http.Client{Transport: tr, Timeout: 10 * time.Second}}, nil
}

func (c *adminClient) do(ctx context.Context, method, path, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, data, err
}

// readyz waits (bounded by ctx) until /readyz answers ok.
func (c *adminClient) readyz(ctx context.Context) error {
	var last error
	for attempt := 0; ; attempt++ {
		code, body, err := c.do(ctx, http.MethodGet, "/readyz", "", nil)
		if err == nil && code == http.StatusOK {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("/readyz answered %d: %s", code, bytes.TrimSpace(body))
		}
		last = err
		// A process that answers nothing at all after a few seconds is
		// not going to: callers replace it rather than wait out ctx.
		if attempt >= 50 {
			return last
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// accessPolicyRoles binds the groups Berth's token webhook gives to the
// principals of cluster-scoped access policies (docs/eks.md) to the
// upstream roles that match EKS's policies. system:masters
// (AmazonEKSClusterAdminPolicy) needs nothing: RBAC's bootstrap policy
// binds it to cluster-admin.
var accessPolicyRoles = []struct{ group, role string }{
	{"eks:admin", "admin"},
	{"eks:edit", "edit"},
	{"eks:view", "view"},
	{"eks:admin-view", "eks:admin-view"},
}

// bindAccessPolicies applies the ClusterRoleBindings (and the one
// ClusterRole upstream lacks) with server-side apply, which makes them
// exactly as written whether or not they exist: safe on every Start.
func (c *adminClient) bindAccessPolicies(ctx context.Context) error {
	labels := map[string]string{"app.kubernetes.io/managed-by": "berth"}
	objs := []struct {
		path string
		obj  map[string]any
	}{{
		// AmazonEKSAdminViewPolicy: read everything, Secrets included.
		path: "/apis/rbac.authorization.k8s.io/v1/clusterroles/eks:admin-view",
		obj: map[string]any{
			"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
			"metadata": map[string]any{"name": "eks:admin-view", "labels": labels},
			"rules":    []any{map[string]any{"apiGroups": []string{"*"}, "resources": []string{"*"}, "verbs": []string{"get", "list", "watch"}}},
		},
	}}
	for _, b := range accessPolicyRoles {
		name := "berth:access-policy:" + strings.TrimPrefix(b.group, "eks:")
		objs = append(objs, struct {
			path string
			obj  map[string]any
		}{
			path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/" + name,
			obj: map[string]any{
				"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
				"metadata": map[string]any{"name": name, "labels": labels},
				"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": b.role},
				"subjects": []any{map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": b.group}},
			},
		})
	}
	for _, o := range objs {
		body, err := json.Marshal(o.obj)
		if err != nil {
			return err
		}
		var last error
		for attempt := 0; attempt < 20; attempt++ {
			code, resp, err := c.do(ctx, http.MethodPatch, o.path+"?fieldManager=berth&force=true", "application/apply-patch+yaml", body)
			if err == nil && code/100 == 2 {
				last = nil
				break
			}
			if err == nil {
				err = fmt.Errorf("PATCH %s: %d %s", o.path, code, bytes.TrimSpace(resp))
			}
			last = err
			// Right after /readyz the RBAC bootstrap can still be settling.
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
			case <-time.After(250 * time.Millisecond):
			}
		}
		if last != nil {
			return last
		}
	}
	return nil
}
