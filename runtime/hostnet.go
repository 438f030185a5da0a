package runtime

import (
	"context"
	"encoding/json"
)

// Optional capabilities of a runtime, found with a type assertion. The task
// endpoints (agent/endpoints) use them to be reachable from containers and
// to report container statistics; a runtime without them still runs tasks.

// TaskEndpointAddress is the link-local address AWS serves the credentials
// and task metadata endpoints on inside every task (169.254.170.2). The
// SDKs fetch AWS_CONTAINER_CREDENTIALS_RELATIVE_URI from it, and accept it
// as the host of a plain-HTTP AWS_CONTAINER_CREDENTIALS_FULL_URI.
const TaskEndpointAddress = "169.254.170.2"

// HostAddresser is implemented by runtimes whose containers can reach the
// host Berth runs on.
type HostAddresser interface {
	// HostAddresses prepares and returns the host addresses that the
	// containers of each network mode reach, for Berth to listen on. It
	// fails only when the engine cannot be asked (ErrUnavailable); an
	// address that could not be had is left empty, with the reason in
	// Problems.
	HostAddresses(ctx context.Context) (HostAddresses, error)
}

// HostAddresses are addresses of the host as its containers see them.
type HostAddresses struct {
	// LinkLocal is TaskEndpointAddress when the runtime made it an address
	// of the host, reachable from containers of every network mode; empty
	// otherwise.
	LinkLocal string
	// Bridge is the host's address on the network of bridge-mode
	// containers (the engine's default bridge gateway).
	Bridge HostNetwork
	// AWSVPC is the host's address on the network of awsvpc sandboxes.
	AWSVPC HostNetwork
	// Problems say why an address is missing, for the log.
	Problems []string
}

// HostNetwork is one container network as the host sees it.
type HostNetwork struct {
	// Gateway is the host's address on the network ("172.17.0.1").
	Gateway string
	// Subnet is the network's CIDR ("172.17.0.0/16").
	Subnet string
}

// StatsReader is implemented by runtimes that report a container's
// resource usage.
type StatsReader interface {
	// ContainerStats returns one sample of the container's statistics in
	// the Docker Engine API's ContainerStats JSON shape (which is what the
	// ECS task metadata endpoint serves), with the previous sample filled
	// in so CPU usage can be derived.
	ContainerStats(ctx context.Context, id ContainerID) (json.RawMessage, error)
}
