package k8sproc

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/eks"
)

// Clusters are the clusters that have a directory here: every cluster
// Start was called for and Delete has not removed yet. Other Berth
// components (the alb ingress controller) find the clusters they serve
// with it.
func (cp *ControlPlane) Clusters() []eks.ClusterRef {
	var out []eks.ClusterRef
	accounts, _ := os.ReadDir(cp.dir)
	for _, a := range accounts {
		regions, _ := os.ReadDir(filepath.Join(cp.dir, a.Name()))
		for _, r := range regions {
			names, _ := os.ReadDir(filepath.Join(cp.dir, a.Name(), r.Name()))
			for _, n := range names {
				if fi, err := os.Stat(filepath.Join(cp.dir, a.Name(), r.Name(), n.Name(), dataSubdir)); err == nil && fi.IsDir() {
					out = append(out, eks.ClusterRef{Account: a.Name(), Region: r.Name(), Name: n.Name()})
				}
			}
		}
	}
	return out
}

// AdminAPI is the cluster's API server URL and an HTTP client that
// authenticates to it with berth-k8s's admin certificate.
func (cp *ControlPlane) AdminAPI(c eks.ClusterRef) (string, *http.Client, error) {
	dir := cp.ClusterDir(c)
	url, err := readURL(dir)
	if err != nil {
		return "", nil, errors.New("the cluster's API server has not started")
	}
	ac, err := newAdminClient(filepath.Join(dir, dataSubdir), url)
	if err != nil {
		return "", nil, err
	}
	return ac.url, ac.http, nil
}
