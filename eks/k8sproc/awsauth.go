package k8sproc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/berth-dev/berth/eks"
)

// awsAuthTTL is how long a read of a cluster's aws-auth ConfigMap is
// reused. Every kubectl run brings a new token and so a token review; the
// cache spares the API server a round trip for each, and an edit of the
// ConfigMap still takes effect within seconds.
const awsAuthTTL = 3 * time.Second

// awsAuthCache holds each cluster's last read of aws-auth (the zero value
// is ready to use).
type awsAuthCache struct {
	mu      sync.Mutex
	entries map[eks.ClusterRef]*awsAuthEntry
}

type awsAuthEntry struct {
	mu     sync.Mutex // one read at a time per cluster; others wait for it
	client *adminClient
	url    string
	data   map[string]string
	at     time.Time
}

func (c *awsAuthCache) entry(ref eks.ClusterRef) *awsAuthEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[eks.ClusterRef]*awsAuthEntry{}
	}
	e, ok := c.entries[ref]
	if !ok {
		e = &awsAuthEntry{}
		c.entries[ref] = e
	}
	return e
}

// AWSAuth reads ConfigMap kube-system/aws-auth as the admin certificate
// (nil data when it does not exist), at most every awsAuthTTL per cluster.
func (cp *ControlPlane) AWSAuth(ctx context.Context, ref eks.ClusterRef) (map[string]string, error) {
	e := cp.awsAuth.entry(ref)
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.at.IsZero() && time.Since(e.at) < awsAuthTTL {
		return e.data, nil
	}
	dir := cp.ClusterDir(ref)
	url, err := readURL(dir)
	if err != nil {
		return nil, fmt.Errorf("cluster %s is not running: %w", ref.Name, err)
	}
	if e.client == nil || e.url != url {
		if e.client != nil {
			e.client.http.CloseIdleConnections()
		}
		if e.client, err = newAdminClient(filepath.Join(dir, dataSubdir), url); err != nil {
			return nil, err
		}
		e.url = url
	}
	code, body, err := e.client.do(ctx, http.MethodGet, "/api/v1/namespaces/kube-system/configmaps/aws-auth", "", nil)
	if err != nil {
		// A cluster deleted and created again under the same name may
		// answer on the same URL with a new CA: read the files again.
		e.client.http.CloseIdleConnections()
		e.client = nil
		return nil, err
	}
	var data map[string]string
	switch code {
	case http.StatusOK:
		var cm struct {
			Data map[string]string `json:"data"`
		}
		if err := json.Unmarshal(body, &cm); err != nil {
			return nil, fmt.Errorf("the aws-auth ConfigMap: %w", err)
		}
		data = cm.Data
	case http.StatusNotFound:
	default:
		return nil, fmt.Errorf("GET the aws-auth ConfigMap: %d %s", code, bytes.TrimSpace(body))
	}
	e.data, e.at = data, time.Now()
	return data, nil
}
