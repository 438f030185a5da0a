package k8sproc

import (
	"path/filepath"

	"github.com/google/renameio/v2"

	"github.com/berth-dev/berth/eks"
)

// podIdentityURIFile, in a cluster's directory, holds the Pod Identity
// Agent's URI that the cluster's node group and Fargate processes give
// new pods. It is a file rather than a flag because the URI names the
// port Berth got (80 when free): after a restart that port may be taken,
// and a changed flag would make Berth replace the processes it should
// adopt, with every pod they run.
const podIdentityURIFile = "pod-identity-uri"

// writePodIdentityURI writes this Berth's agent URI for the cluster.
func (cp *ControlPlane) writePodIdentityURI(c eks.ClusterRef) error {
	if cp.podIdentity == "" {
		return nil
	}
	return renameio.WriteFile(filepath.Join(cp.ClusterDir(c), podIdentityURIFile), []byte(cp.podIdentity+"\n"), 0o644)
}
