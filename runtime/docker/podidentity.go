package docker

import (
	"context"
	"net/netip"

	"github.com/berth-dev/berth/runtime"
)

// PodIdentityNetwork gives the host EKS's Pod Identity Agent address,
// 169.254.170.23, as EndpointNetwork gives it ECS's: the address is the
// network's gateway, so the engine puts it on the bridge and containers
// of every network reach it through their default route.
const PodIdentityNetwork = "berth-pod-identity"

// podIdentitySubnet is the smallest aligned subnet in which
// 169.254.170.23 is a usable (not broadcast) address, clear of
// endpointSubnet.
var podIdentitySubnet = netip.MustParsePrefix("169.254.170.16/28")

const kindPodIdentity = "pod-identity"

var _ runtime.PodIdentityAddresser = (*Runtime)(nil)

// EnsurePodIdentityAddress implements runtime.PodIdentityAddresser.
func (r *Runtime) EnsurePodIdentityAddress(ctx context.Context) error {
	return r.ensureGatewayNetwork(ctx, PodIdentityNetwork, podIdentitySubnet, runtime.PodIdentityAgentAddress, kindPodIdentity)
}
