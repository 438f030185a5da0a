// Package runtime is the one interface through which Berth runs the
// containers of ECS tasks (and, later, EKS pods). The ECS layer speaks only
// to it; runtime/docker implements it over the Docker Engine API, and a
// Kubernetes runtime or a remote Berth agent can implement it later and be
// proven by the same suite, runtime/runtimetest.
//
// The vocabulary is the task's, not the engine's:
//
//   - a Sandbox is what the containers of one task (or pod) share: in awsvpc
//     mode a network namespace of its own with an IP address (the task's
//     ENI), and in every mode the task-level CPU and memory limits;
//   - a Container runs one container definition inside a sandbox;
//   - a Volume is storage the containers of a task share.
//
// Every object a runtime creates carries the caller's labels and is found
// again with them (List, ListSandboxes, ListVolumes), so a Berth that was
// killed and restarted re-adopts what it started instead of starting it
// twice. Creation is idempotent by name: creating a name that exists fails
// with a *ConflictError that carries the existing object's id.
//
// Removal is idempotent too: removing what is already gone is not an error.
package runtime

import (
	"context"
	"time"
)

// Runtime runs task and pod containers. Implementations are safe for
// concurrent use. Errors match the sentinels of this package (IsNotFound,
// IsConflict, IsInvalidArgument, IsUnavailable, IsUnsupported, and
// *PullError for image pulls).
type Runtime interface {
	// Info describes the host the containers run on: what a container
	// instance registers with.
	Info(ctx context.Context) (HostInfo, error)

	// PullImage fetches ref (a reference as a task definition writes it) with
	// the given credentials (nil: anonymous) and returns what was pulled.
	// Failures are *PullError with a PullReason.
	PullImage(ctx context.Context, ref string, auth *RegistryAuth) (ImageInfo, error)
	// InspectImage describes an image the runtime already has (ErrNotFound
	// otherwise), for pull behaviours that prefer a cached image.
	InspectImage(ctx context.Context, ref string) (ImageInfo, error)
	// RemoveImage drops an image reference (image cleanup); ErrConflict
	// while a container uses the image.
	RemoveImage(ctx context.Context, ref string) error

	// CreateSandbox makes the shared context of one task and returns it
	// ready for containers to join. Sandboxes in awsvpc mode own a network
	// namespace; in bridge, host and none mode the sandbox owns nothing on
	// the host and only carries the task's limits (its ID is empty).
	CreateSandbox(ctx context.Context, spec SandboxSpec) (Sandbox, error)
	InspectSandbox(ctx context.Context, id SandboxID) (Sandbox, error)
	// ListSandboxes returns the sandboxes that carry all the given labels.
	ListSandboxes(ctx context.Context, labels map[string]string) ([]Sandbox, error)
	// RemoveSandbox releases the sandbox's namespace. Remove its containers
	// first: they lose their network with it.
	RemoveSandbox(ctx context.Context, id SandboxID) error

	// CreateVolume makes a named volume, or returns the one of that name.
	CreateVolume(ctx context.Context, spec VolumeSpec) (Volume, error)
	ListVolumes(ctx context.Context, labels map[string]string) ([]Volume, error)
	// RemoveVolume deletes a volume; ErrConflict while a container uses it.
	RemoveVolume(ctx context.Context, name string) error

	// CreateContainer creates (but does not start) a container from an image
	// the runtime has. A name that exists gives a *ConflictError.
	CreateContainer(ctx context.Context, spec ContainerSpec) (ContainerID, error)
	StartContainer(ctx context.Context, id ContainerID) error
	// StopContainer sends the container's stop signal (SIGTERM unless the
	// spec named another), waits up to timeout for it to exit, then kills
	// it. A negative timeout uses the spec's StopTimeout. Stopping a
	// container that is not running is not an error.
	StopContainer(ctx context.Context, id ContainerID, timeout time.Duration) error
	// RemoveContainer removes the container, killing it if it still runs,
	// with its anonymous volumes.
	RemoveContainer(ctx context.Context, id ContainerID) error
	InspectContainer(ctx context.Context, id ContainerID) (ContainerInfo, error)
	// List returns the containers (not sandboxes) that carry all the given
	// labels, fully inspected: the re-adoption query.
	List(ctx context.Context, labels map[string]string) ([]ContainerInfo, error)
	// Wait blocks until the container is not running and returns how it
	// ended. A container that was never started does not block.
	Wait(ctx context.Context, id ContainerID) (ExitStatus, error)
	// Events streams what happens to this runtime's containers and
	// sandboxes until ctx ends, when the channel closes. When the stream had
	// to be re-established events may have been missed, and an EventResync
	// says so: a consumer then lists again (it should be level-triggered
	// anyway).
	Events(ctx context.Context) <-chan Event
	// Logs reads a container's output, stdout and stderr apart, each line
	// with the time it was written.
	Logs(ctx context.Context, id ContainerID, opts LogOptions) (LogReader, error)
	// Exec runs a command in a running container to completion.
	Exec(ctx context.Context, id ContainerID, spec ExecSpec) (ExecResult, error)
	// ExecStream runs a command in a running container with its standard
	// streams connected to streams while it runs (unbounded output, stdin,
	// a TTY) and returns its exit code once it ends.
	ExecStream(ctx context.Context, id ContainerID, spec ExecSpec, streams ExecIO) (int, error)

	// Close releases the runtime's connections; containers keep running.
	Close() error
}
