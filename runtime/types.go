package runtime

import (
	"io"
	"time"
)

// ContainerID identifies a container within its runtime.
type ContainerID string

// SandboxID identifies a sandbox within its runtime; empty for sandboxes
// that own nothing on the host (bridge, host and none network modes).
type SandboxID string

// NetworkMode is ECS's networkMode of a task.
type NetworkMode string

const (
	// NetworkAWSVPC gives the task a network namespace of its own, with an
	// IP address; its containers reach each other on localhost.
	NetworkAWSVPC NetworkMode = "awsvpc"
	// NetworkBridge puts each container on the host's default bridge, with
	// ports published on the host (dynamic when hostPort is 0).
	NetworkBridge NetworkMode = "bridge"
	// NetworkHost runs the containers in the host's network namespace.
	NetworkHost NetworkMode = "host"
	// NetworkNone gives each container only a loopback interface.
	NetworkNone NetworkMode = "none"
)

// HostInfo describes the machine containers run on.
type HostInfo struct {
	Hostname string
	OS       string // GOOS spelling: "linux"
	Arch     string // GOARCH spelling: "amd64", "arm64"
	CPUs     int
	// MemoryBytes is the host's total memory.
	MemoryBytes   int64
	Engine        string // "docker"
	EngineVersion string
	// TaskLimits says how a sandbox's Limits are enforced on this host, and
	// TaskLimitsNote why when they are not enforced for the whole sandbox.
	// A runtime may decide after its first Info; until then TaskLimits is
	// LimitsPerContainer and the note starts with "not decided yet".
	TaskLimits     LimitScope
	TaskLimitsNote string
}

// LimitScope is what a sandbox's Limits bound.
type LimitScope string

const (
	// LimitsPerSandbox: the sandbox's containers together stay within the
	// limits (one cgroup for the task, as the ECS agent makes).
	LimitsPerSandbox LimitScope = "sandbox"
	// LimitsPerContainer: each container is capped at the limits, so none
	// exceeds the task but together they may.
	LimitsPerContainer LimitScope = "container"
)

// RegistryAuth is the credential for one registry, as `docker login` would
// use it. For ECR it is user "AWS" and the password from
// GetAuthorizationToken.
type RegistryAuth struct {
	Username      string
	Password      string
	ServerAddress string
	// IdentityToken is an OAuth refresh token, used instead of a password.
	IdentityToken string
}

// ImageInfo describes an image the runtime has.
type ImageInfo struct {
	// Ref is the reference as it was asked for.
	Ref string
	// ID is the runtime's id of the image (its config digest for Docker).
	ID string
	// Digest is the manifest digest Ref resolved to, when the runtime knows
	// it (an image that was only ever loaded, never pulled, has none): ECS's
	// imageDigest.
	Digest      string
	RepoDigests []string
	OS          string
	Arch        string
	Size        int64
	Created     time.Time
}

// Limits are task-level (or pod-level) resources: the most that all of a
// sandbox's containers together may use.
type Limits struct {
	// NanoCPUs is the CPU limit in billionths of a CPU (ECS task cpu 512 is
	// half a CPU: 5e8).
	NanoCPUs int64
	// MemoryBytes is the memory limit.
	MemoryBytes int64
}

// PortMapping publishes a container port on the host.
type PortMapping struct {
	ContainerPort uint16
	// HostPort 0 asks for a dynamic port, reported back in PortBinding.
	HostPort uint16
	Protocol Protocol // "" means tcp
	// HostIP binds to one address; empty binds to every IPv4 address
	// (0.0.0.0). Bind "::" explicitly for IPv6.
	HostIP string
}

// Protocol is a transport protocol of a port mapping.
type Protocol string

const (
	TCP Protocol = "tcp"
	UDP Protocol = "udp"
)

// PortBinding is a published port as it really is on the host: ECS's
// networkBindings.
type PortBinding struct {
	ContainerPort uint16
	HostPort      uint16
	Protocol      Protocol
	HostIP        string
}

// HostEntry is one line added to the container's /etc/hosts.
type HostEntry struct {
	Hostname string
	IP       string
}

// SandboxSpec asks for the shared context of one task or pod.
type SandboxSpec struct {
	// Name is unique per runtime and makes creation idempotent.
	Name        string
	NetworkMode NetworkMode
	// Limits apply to every container of the sandbox.
	Limits Limits
	Labels map[string]string

	// The rest applies to awsvpc sandboxes, whose containers share one
	// network namespace and so one hostname, resolver and /etc/hosts.
	Hostname   string
	DNSServers []string
	DNSSearch  []string
	// DNSOptions are resolv.conf options such as "ndots:5" (a Kubernetes
	// pod's dnsConfig).
	DNSOptions []string
	ExtraHosts []HostEntry
	// PortMappings publish the task's ports on the host too, besides the
	// sandbox's own address.
	PortMappings []PortMapping
	// NetworkAliases are DNS names other sandboxes on the task network
	// resolve to this sandbox's address (Cloud Map service discovery);
	// several sandboxes may share one.
	NetworkAliases []string
}

// Sandbox is a created sandbox. Pass it in ContainerSpec.Sandbox.
type Sandbox struct {
	ID          SandboxID
	Name        string
	NetworkMode NetworkMode
	Limits      Limits
	Labels      map[string]string
	// Ready is true while the sandbox can take containers: for awsvpc, while
	// its namespace holder runs. A sandbox that is not ready is removed and
	// created again.
	Ready     bool
	CreatedAt time.Time
	// Network is the sandbox's own interface (awsvpc only): the task's ENI.
	Network SandboxNetwork
	// Cgroup is the runtime's name of the cgroup that holds Limits for all
	// the sandbox's containers together; empty when each container is
	// capped instead (see HostInfo.TaskLimits). Pass it back unchanged.
	Cgroup       string
	PortBindings []PortBinding
}

// SandboxNetwork is the address of an awsvpc sandbox.
type SandboxNetwork struct {
	IPv4Address string
	// Subnet is the CIDR the address is in, e.g. "172.18.0.0/16".
	Subnet     string
	Gateway    string
	MACAddress string
	Hostname   string
}

// VolumeSpec asks for a named volume.
type VolumeSpec struct {
	Name string
	// Driver and DriverOpts are the engine's volume driver; "" is the local
	// one.
	Driver     string
	DriverOpts map[string]string
	Labels     map[string]string
}

// Volume is a named volume.
type Volume struct {
	Name      string
	Driver    string
	Labels    map[string]string
	CreatedAt time.Time
}

// MountType says what a Mount's Source is.
type MountType string

const (
	// MountBind mounts a host path; it is created when missing, as ECS on
	// EC2 does for host volumes.
	MountBind MountType = "bind"
	// MountVolume mounts a named volume (see CreateVolume); an empty Source
	// makes an anonymous volume that is removed with the container.
	MountVolume MountType = "volume"
	// MountTmpfs mounts a memory file system (linuxParameters.tmpfs).
	MountTmpfs MountType = "tmpfs"
)

// Mount is one mount point of a container.
type Mount struct {
	Type     MountType
	Source   string // host path or volume name
	Target   string // absolute path in the container
	ReadOnly bool
	// TmpfsSizeBytes limits a tmpfs mount; 0 is the kernel's default.
	TmpfsSizeBytes int64
	// TmpfsOptions are mount options such as "noexec" (tmpfs only).
	TmpfsOptions []string
}

// VolumesFrom mounts every volume of another container of the task
// (ECS's volumesFrom).
type VolumesFrom struct {
	Container ContainerID
	ReadOnly  bool
}

// Ulimit is one resource limit of the container's processes.
type Ulimit struct {
	Name string // as ECS writes it: "nofile", "nproc", "core", ...
	Soft int64
	Hard int64
}

// Device exposes a host device in the container (linuxParameters.devices).
type Device struct {
	HostPath      string
	ContainerPath string // "" means HostPath
	Permissions   string // any of "rwm"; "" means all
}

// GPURequest reserves GPUs for a container (resourceRequirements GPU).
type GPURequest struct {
	// DeviceIDs names the GPUs; when empty, Count of them are taken.
	DeviceIDs []string
	Count     int
}

// Resources are a container's own resources.
type Resources struct {
	// CPUShares is the relative CPU weight: ECS's container cpu units, 1:1.
	CPUShares int64
	// NanoCPUs is a hard CPU limit in billionths of a CPU.
	NanoCPUs int64
	// MemoryBytes is the hard memory limit (ECS memory); the container is
	// killed beyond it.
	MemoryBytes int64
	// MemoryReservationBytes is the soft limit (ECS memoryReservation).
	MemoryReservationBytes int64
}

// HealthCheck is a container health check as ECS and Docker define it.
type HealthCheck struct {
	// Command is ["CMD", args...] or ["CMD-SHELL", "command line"].
	Command     []string
	Interval    time.Duration // 0: the runtime's default (30s)
	Timeout     time.Duration // 0: 30s
	StartPeriod time.Duration // failures during it do not count
	Retries     int           // 0: 3
}

// LogConfig bounds the output a runtime keeps for a container. Berth reads
// it with Logs and ships it itself (awslogs), so this is only local
// retention.
type LogConfig struct {
	MaxSizeBytes int64 // per file; 0 means 10 MiB
	MaxFiles     int   // 0 means 3
}

// ContainerSpec is one container of a task: ECS's container definition, as
// Berth resolved it (images pulled, secrets read, overrides applied).
type ContainerSpec struct {
	// Name is unique per runtime and makes creation idempotent.
	Name string
	// Sandbox is the task's sandbox, as CreateSandbox returned it.
	Sandbox Sandbox
	Image   string
	// EntryPoint and Command replace the image's when not nil; setting
	// EntryPoint drops the image's command too, as in Docker and
	// Kubernetes.
	EntryPoint []string
	Command    []string
	WorkingDir string
	User       string
	Env        map[string]string
	Labels     map[string]string
	// Hostname is for bridge and host mode; awsvpc containers share the
	// sandbox's.
	Hostname  string
	Resources Resources
	// PortMappings are for bridge mode; in awsvpc mode they belong to the
	// sandbox, and in host mode the container's ports are the host's.
	PortMappings []PortMapping
	Mounts       []Mount
	VolumesFrom  []VolumesFrom
	// Links are "container:alias" pairs (bridge mode only).
	Links   []string
	Ulimits []Ulimit
	// Init runs a tiny init as PID 1 that reaps zombies and forwards
	// signals (linuxParameters.initProcessEnabled).
	Init           bool
	ReadonlyRootfs bool
	Privileged     bool
	CapAdd         []string
	CapDrop        []string
	Devices        []Device
	Sysctls        map[string]string
	ShmSizeBytes   int64
	GPUs           *GPURequest
	HealthCheck    *HealthCheck
	// DNSServers, DNSSearch and ExtraHosts are for bridge and host mode;
	// awsvpc containers share the sandbox's.
	DNSServers []string
	DNSSearch  []string
	ExtraHosts []HostEntry
	// StopSignal is sent first by StopContainer; "" means SIGTERM.
	StopSignal string
	// StopTimeout is how long StopContainer waits before it kills, when it
	// is given a negative timeout; 0 means the runtime's default (10s).
	StopTimeout time.Duration
	Log         LogConfig
}

// State is a container's state, with CRI's coarse grain: the ECS layer
// derives its lastStatus from it.
type State string

const (
	StateCreated State = "created"
	StateRunning State = "running"
	StateExited  State = "exited"
	StateUnknown State = "unknown"
)

// HealthStatus is a container's health as its health check last judged.
type HealthStatus string

const (
	HealthNone      HealthStatus = "none" // no health check
	HealthStarting  HealthStatus = "starting"
	HealthHealthy   HealthStatus = "healthy"
	HealthUnhealthy HealthStatus = "unhealthy"
)

// Health is a container's health check status.
type Health struct {
	Status        HealthStatus
	FailingStreak int
	// LastOutput is what the last check printed.
	LastOutput string
}

// ContainerInfo is a container as the runtime sees it now.
type ContainerInfo struct {
	ID          ContainerID
	Name        string
	SandboxID   SandboxID
	NetworkMode NetworkMode
	// Image is the reference the container was created from; ImageID the
	// image it resolved to.
	Image   string
	ImageID string
	// Labels are the caller's labels, without the runtime's own.
	Labels map[string]string
	State  State
	// ExitCode, OOMKilled and Error are meaningful once State is exited.
	ExitCode   int
	OOMKilled  bool
	Error      string
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	Health     Health
	// PortBindings are the ports published for the container (bridge
	// mode); awsvpc containers' ports are on their sandbox.
	PortBindings []PortBinding
	// IPv4Address is the container's own address in bridge mode.
	IPv4Address string
	// Resources are the limits in force, after the sandbox's were applied.
	Resources Resources
}

// ExitStatus is how a container ended.
type ExitStatus struct {
	ExitCode   int
	OOMKilled  bool
	Error      string
	FinishedAt time.Time
}

// EventType is what happened to a container.
type EventType string

const (
	EventStart  EventType = "start"
	EventDie    EventType = "die"
	EventOOM    EventType = "oom"
	EventHealth EventType = "health_status"
	// EventDestroy: the container was removed.
	EventDestroy EventType = "destroy"
	// EventResync: the stream was interrupted and events may be lost; list
	// again.
	EventResync EventType = "resync"
)

// Event is one thing that happened to a container or a sandbox.
type Event struct {
	Type        EventType
	Time        time.Time
	ContainerID ContainerID
	Name        string
	// Labels are the caller's labels of the container.
	Labels map[string]string
	// Sandbox is true when the event is about a sandbox itself (its
	// namespace holder), not one of its containers.
	Sandbox bool
	// ExitCode is set for EventDie.
	ExitCode int
	// Health is set for EventHealth.
	Health HealthStatus
}

// LogOptions select what Logs returns.
type LogOptions struct {
	// Follow keeps the reader open for new output until the container
	// stops or the context ends.
	Follow bool
	// Since skips output written before it.
	Since time.Time
	// Tail returns only the last Tail lines; 0 means all.
	Tail int
}

// LogStream says where a log line was written.
type LogStream string

const (
	Stdout LogStream = "stdout"
	Stderr LogStream = "stderr"
)

// LogEntry is one line of output.
type LogEntry struct {
	Time   time.Time
	Stream LogStream
	// Line is the text without its newline.
	Line string
	// Partial is true when the runtime split an overlong line and this is
	// not its last piece.
	Partial bool
}

// LogReader yields log lines in the order the runtime recorded them: each
// stream in the order it was written, the two interleaved as the runtime
// read them.
type LogReader interface {
	// Next returns the next line, or io.EOF at the end.
	Next() (LogEntry, error)
	io.Closer
}

// ExecSpec is a command run inside a running container.
type ExecSpec struct {
	Command    []string
	Env        map[string]string
	User       string
	WorkingDir string
}

// ExecResult is how an exec ended; output is capped at 1 MiB per stream.
type ExecResult struct {
	ExitCode int
	Stdout   []byte
	Stderr   []byte
}

// ExecIO connects a streamed exec (ExecStream) to its caller, as kubectl
// exec -i/-t connects a terminal.
type ExecIO struct {
	// Stdin, when set, is copied to the command, which sees end of file
	// once Stdin ends.
	Stdin io.Reader
	// Stdout and Stderr receive the output as it is written; nil drops
	// it. With TTY there is one stream, Stdout.
	Stdout io.Writer
	Stderr io.Writer
	TTY    bool
	// Resize carries the terminal's size changes (TTY only).
	Resize <-chan TermSize
}

// TermSize is a terminal's size in characters.
type TermSize struct {
	Width  uint16
	Height uint16
}
