package k8sproc

import (
	"context"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/eks"
)

var _ eks.ServiceAccountKeyer = (*ControlPlane)(nil)

// ServiceAccountKeys is the public key berth-k8s signs service-account
// tokens with (it writes sa.pub next to sa.key and keeps both across
// restarts): the cluster's OIDC issuer serves it as its JWKS.
func (cp *ControlPlane) ServiceAccountKeys(_ context.Context, c eks.ClusterRef) ([]byte, error) {
	return os.ReadFile(filepath.Join(cp.ClusterDir(c), dataSubdir, "sa.pub"))
}
