package runtime

import "context"

// PodIdentityAgentAddress is the link-local address EKS's Pod Identity
// Agent answers on in every pod (http://169.254.170.23/v1/credentials);
// the SDKs accept it as the host of a plain-HTTP
// AWS_CONTAINER_CREDENTIALS_FULL_URI.
const PodIdentityAgentAddress = "169.254.170.23"

// PodIdentityAddresser is implemented by runtimes that can make
// PodIdentityAgentAddress an address of the host that every container
// reaches, for Berth to serve the Pod Identity Agent on.
type PodIdentityAddresser interface {
	// EnsurePodIdentityAddress makes PodIdentityAgentAddress a host
	// address (again, after it was removed); it is idempotent.
	EnsurePodIdentityAddress(ctx context.Context) error
}
