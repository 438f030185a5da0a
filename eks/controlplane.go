package eks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"strings"
	"time"
)

// ControlPlane runs the Kubernetes side of EKS clusters. The EKS API keeps
// clusters, node groups and their statuses in the store and calls a
// ControlPlane from its controller, never from a request: every method
// may take as long as it needs (bounded by ctx) and is called again after
// a failure or a Berth restart, so each must be idempotent.
type ControlPlane interface {
	// Start brings up the control plane of a cluster, or re-adopts the one
	// a previous Berth process left running, and returns once its API
	// server answers. The cluster turns ACTIVE with the returned endpoint
	// and certificate authority. It is called for every CREATING cluster
	// and, after a restart, for every ACTIVE one.
	Start(ctx context.Context, spec ClusterSpec) (Endpoint, error)
	// Stop stops a cluster's processes and keeps its state; Berth calls it
	// for every started cluster when it shuts down.
	Stop(ctx context.Context, c ClusterRef) error
	// Delete stops a cluster and removes everything Start made: processes,
	// containers, state on disk. Berth forgets the cluster when it returns.
	Delete(ctx context.Context, c ClusterRef) error
	// SyncNodegroup makes the cluster run ng.DesiredSize nodes for the
	// node group (creating it, or scaling it after UpdateNodegroupConfig).
	// The node group turns ACTIVE when it returns.
	SyncNodegroup(ctx context.Context, ng NodegroupSpec) error
	// DeleteNodegroup removes the node group's nodes and what runs on them.
	DeleteNodegroup(ctx context.Context, c ClusterRef, nodegroup string) error
	// SyncFargateProfiles makes profiles (sorted by name) the cluster's
	// Fargate profiles in effect: pods created afterwards that match one
	// run on Fargate. A profile turns ACTIVE, or goes, once it returns. It
	// is called on every controller pass of an ACTIVE cluster, so it must
	// be cheap when nothing changed.
	SyncFargateProfiles(ctx context.Context, c ClusterRef, profiles []FargateProfileSpec) error
	// AWSAuth returns the data of the cluster's ConfigMap
	// kube-system/aws-auth (nil when there is none), which the token
	// reviewer consults on clusters whose authentication mode includes
	// CONFIG_MAP. It is called on token reviews, so it may answer from a
	// cache a few seconds old.
	AWSAuth(ctx context.Context, c ClusterRef) (map[string]string, error)
}

// FargateProfileSpec is what a control plane needs of a Fargate profile.
// The JSON form is the profiles file berth-k8s reads (k8s/fargate.Profile).
type FargateProfileSpec struct {
	Name                string            `json:"name"`
	PodExecutionRoleARN string            `json:"podExecutionRoleArn,omitempty"`
	Selectors           []FargateSelector `json:"selectors"`
}

// FargateSelector matches pods by namespace and labels.
type FargateSelector struct {
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// ClusterRef names a cluster: clusters are namespaced by account and
// region, as in AWS.
type ClusterRef struct {
	Account string
	Region  string
	Name    string
}

// ClusterSpec is what a control plane needs to run a cluster.
type ClusterSpec struct {
	ClusterRef
	ARN string
	// ID is the cluster's unique id, stable across restarts (EKS's
	// cluster id); a good name for its state directory.
	ID string
	// Version is the Kubernetes minor version, e.g. 1.34.
	Version string
	// ServiceIPv4CIDR is the range of Service cluster IPs.
	ServiceIPv4CIDR string
	// TokenReviewURL is Berth's authentication webhook for this cluster:
	// the API server must check bearer tokens there (a TokenReview of
	// authentication.k8s.io/v1), which is how `aws eks get-token` tokens
	// and access entries take effect.
	TokenReviewURL string
	// OIDCIssuer is the issuer URL DescribeCluster reports, for IRSA.
	OIDCIssuer string
}

// Endpoint is a started control plane as DescribeCluster reports it.
type Endpoint struct {
	// URL is the API server's https URL.
	URL string
	// CertificateAuthority is the PEM of the CA that signed the API
	// server's certificate.
	CertificateAuthority []byte
	// Issue, when set, is reported in the cluster's health: the cluster is
	// ACTIVE but its API server is not (fully) usable, and why.
	Issue string
}

// NodegroupSpec is what a control plane needs to run a node group.
type NodegroupSpec struct {
	Cluster       ClusterRef
	Name          string
	ARN           string
	DesiredSize   int32
	InstanceTypes []string
	Labels        map[string]string
	// Taints are key=value:effect, as kubectl taint writes them.
	Taints []string
}

// Unserved is the control plane Berth uses when no Kubernetes binary is
// configured: clusters turn ACTIVE at once so that the EKS API, its
// waiters and update-kubeconfig work, but their endpoint serves nothing,
// which the cluster's health issues and the log say.
type Unserved struct {
	Log *slog.Logger
}

// UnservedIssue is the health issue of clusters of the Unserved control
// plane.
const UnservedIssue = "Berth runs no Kubernetes control plane for this cluster (no Kubernetes binary is configured); its endpoint does not answer."

func (u Unserved) Start(ctx context.Context, spec ClusterSpec) (Endpoint, error) {
	ca, err := selfSignedCA(spec.Name)
	if err != nil {
		return Endpoint{}, err
	}
	if u.Log != nil {
		u.Log.Warn("EKS cluster is ACTIVE without a Kubernetes control plane: its endpoint does not answer", "cluster", spec.Name, "account", spec.Account, "region", spec.Region)
	}
	// The .invalid top-level domain never resolves (RFC 2606), so kubectl
	// fails fast instead of reaching something else.
	host := strings.ToUpper(strings.ReplaceAll(spec.ID, "-", "")) + ".gr7." + spec.Region + ".eks.berth.invalid"
	return Endpoint{URL: "https://" + host, CertificateAuthority: ca, Issue: UnservedIssue}, nil
}

func (Unserved) Stop(context.Context, ClusterRef) error                    { return nil }
func (Unserved) Delete(context.Context, ClusterRef) error                  { return nil }
func (Unserved) SyncNodegroup(context.Context, NodegroupSpec) error        { return nil }
func (Unserved) DeleteNodegroup(context.Context, ClusterRef, string) error { return nil }
func (Unserved) SyncFargateProfiles(context.Context, ClusterRef, []FargateProfileSpec) error {
	return nil
}

// AWSAuth is empty: an unserved cluster has no ConfigMaps.
func (Unserved) AWSAuth(context.Context, ClusterRef) (map[string]string, error) { return nil, nil }

// selfSignedCA makes a CA certificate like the one EKS reports, so that
// tools decoding certificateAuthority.data get a real certificate.
func selfSignedCA(name string) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "kubernetes", OrganizationalUnit: []string{name}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}
