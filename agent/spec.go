package agent

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/ecs"
	"github.com/berth-dev/berth/runtime"
)

// ECS's defaults for what a container definition leaves out.
const (
	// DefaultStopTimeout is how long a container gets between SIGTERM and
	// SIGKILL when its definition has no stopTimeout (ECS's 30 seconds).
	DefaultStopTimeout = 30 * time.Second
	// DefaultStartTimeout is how long a container waits for a dependency's
	// condition when the dependency has no startTimeout (ECS's 3 minutes).
	DefaultStartTimeout = 3 * time.Minute

	healthInterval = 30 * time.Second
	healthTimeout  = 5 * time.Second
	healthRetries  = 3

	// minCPUShares is the smallest CPU weight the kernel takes; the ECS
	// agent gives it to containers with cpu 0 or 1.
	minCPUShares = 2
)

// volumeKind says what a task definition volume becomes on the engine.
type volumeKind int

const (
	volumeHostPath volumeKind = iota // host.sourcePath: a bind mount
	volumeTask                       // a volume made for the task and removed with it
	volumeShared                     // a named volume that outlives the task
)

// taskVolume is a task definition volume as the agent provisions it.
type taskVolume struct {
	name   string
	kind   volumeKind
	source string // host path, or engine volume name
	spec   runtime.VolumeSpec
	// autoprovision: a shared volume may be created when missing.
	autoprovision bool
}

// planVolumes resolves the task definition's volumes. Kinds Berth cannot
// provide (EFS, FSx, S3 Files, volumes configured at launch) are an error
// that fails the task, as a volume that cannot be mounted does on AWS.
func (a *Agent) planVolumes(t *ecs.AssignedTask) (map[string]taskVolume, error) {
	out := map[string]taskVolume{}
	for _, v := range t.Definition.Volumes {
		name := deref(v.Name)
		tv := taskVolume{name: name}
		switch {
		case v.EfsVolumeConfiguration != nil:
			return nil, fmt.Errorf("volume %s: EFS volumes are not available in Berth", name)
		case v.FsxWindowsFileServerVolumeConfiguration != nil:
			return nil, fmt.Errorf("volume %s: FSx for Windows File Server volumes are not available in Berth", name)
		case v.S3filesVolumeConfiguration != nil:
			return nil, fmt.Errorf("volume %s: S3 Files volumes are not available in Berth", name)
		case deref(v.ConfiguredAtLaunch):
			return nil, fmt.Errorf("volume %s: volumes configured at launch (Amazon EBS) are not available in Berth", name)
		case v.DockerVolumeConfiguration != nil:
			dc := v.DockerVolumeConfiguration
			labels := maps.Clone(dc.Labels)
			if deref(dc.Scope) == ecsapi.ScopeShared {
				tv.kind, tv.source = volumeShared, name
				tv.autoprovision = deref(dc.Autoprovision)
			} else {
				tv.kind, tv.source = volumeTask, taskVolumeName(t, name)
				if labels == nil {
					labels = map[string]string{}
				}
				maps.Copy(labels, a.taskLabels(t))
				labels[LabelVolume] = name
			}
			tv.spec = runtime.VolumeSpec{Name: tv.source, Driver: deref(dc.Driver), DriverOpts: dc.DriverOpts, Labels: labels}
		case v.Host != nil && deref(v.Host.SourcePath) != "":
			tv.kind, tv.source = volumeHostPath, deref(v.Host.SourcePath)
		default:
			// A volume with no host path: storage of the task's own, shared
			// by its containers and gone when the task stops (Fargate's bind
			// mounts, EC2's Docker-managed host volumes).
			tv.kind, tv.source = volumeTask, taskVolumeName(t, name)
			labels := a.taskLabels(t)
			labels[LabelVolume] = name
			tv.spec = runtime.VolumeSpec{Name: tv.source, Labels: labels}
		}
		out[name] = tv
	}
	return out, nil
}

// specInput is what a container spec is made from besides its definition.
type specInput struct {
	task    *ecs.AssignedTask
	def     ecsapi.ContainerDefinition
	image   string // the reference to create from (ECR references rewritten)
	env     map[string]string
	sandbox runtime.Sandbox
	volumes map[string]taskVolume
	// engineIDs are the engine ids of the task's containers created so
	// far, by container name, for volumesFrom.
	engineIDs map[string]runtime.ContainerID
	labels    map[string]string
	gpus      int
}

// containerSpec turns one container definition into the runtime's spec.
func containerSpec(in specInput) (runtime.ContainerSpec, error) {
	t, def := in.task, in.def
	name := deref(def.Name)
	mode := networkMode(t)
	spec := runtime.ContainerSpec{
		Name:           containerName(t, name),
		Sandbox:        in.sandbox,
		Image:          in.image,
		EntryPoint:     def.EntryPoint,
		Command:        def.Command,
		WorkingDir:     deref(def.WorkingDirectory),
		User:           deref(def.User),
		Env:            in.env,
		ReadonlyRootfs: deref(def.ReadonlyRootFilesystem),
		// Privileged containers are an EC2 feature; Fargate refuses them.
		Privileged:  deref(def.Privileged) && t.LaunchType != string(ecsapi.LaunchTypeFargate),
		StopTimeout: stopTimeout(def),
	}
	spec.Labels = map[string]string{}
	maps.Copy(spec.Labels, def.DockerLabels)
	maps.Copy(spec.Labels, in.labels)

	cpu := int64(deref(def.Cpu))
	if cpu < minCPUShares {
		cpu = minCPUShares
	}
	spec.Resources = runtime.Resources{
		CPUShares:              cpu,
		MemoryBytes:            int64(deref(def.Memory)) << 20,
		MemoryReservationBytes: int64(deref(def.MemoryReservation)) << 20,
	}

	if mode == runtime.NetworkBridge || mode == runtime.NetworkHost {
		if mode == runtime.NetworkBridge {
			spec.Hostname = deref(def.Hostname)
		}
		spec.DNSServers = def.DnsServers
		spec.DNSSearch = def.DnsSearchDomains
		for _, h := range def.ExtraHosts {
			spec.ExtraHosts = append(spec.ExtraHosts, runtime.HostEntry{Hostname: deref(h.Hostname), IP: deref(h.IpAddress)})
		}
	}
	if mode == runtime.NetworkBridge {
		for _, pm := range def.PortMappings {
			if pm.ContainerPort == nil {
				return spec, fmt.Errorf("container %s: port ranges (containerPortRange) are not supported by Berth", name)
			}
			spec.PortMappings = append(spec.PortMappings, runtime.PortMapping{
				ContainerPort: uint16(deref(pm.ContainerPort)),
				HostPort:      uint16(deref(pm.HostPort)),
				Protocol:      runtime.Protocol(protocol(pm.Protocol)),
			})
		}
		for _, l := range def.Links {
			target, alias, ok := strings.Cut(l, ":")
			if !ok {
				alias = target
			}
			spec.Links = append(spec.Links, containerName(t, target)+":"+alias)
		}
	}

	for _, mp := range def.MountPoints {
		src := deref(mp.SourceVolume)
		v, ok := in.volumes[src]
		if !ok {
			return spec, fmt.Errorf("container %s: mount point names the volume %q, which the task definition does not have", name, src)
		}
		m := runtime.Mount{Type: runtime.MountVolume, Source: v.source, Target: deref(mp.ContainerPath), ReadOnly: deref(mp.ReadOnly)}
		if v.kind == volumeHostPath {
			m.Type = runtime.MountBind
		}
		spec.Mounts = append(spec.Mounts, m)
	}
	for _, vf := range def.VolumesFrom {
		src := deref(vf.SourceContainer)
		id, ok := in.engineIDs[src]
		if !ok {
			return spec, fmt.Errorf("container %s: volumesFrom names %q, which is not created", name, src)
		}
		spec.VolumesFrom = append(spec.VolumesFrom, runtime.VolumesFrom{Container: id, ReadOnly: deref(vf.ReadOnly)})
	}

	for _, u := range def.Ulimits {
		spec.Ulimits = append(spec.Ulimits, runtime.Ulimit{Name: string(deref(u.Name)), Soft: int64(deref(u.SoftLimit)), Hard: int64(deref(u.HardLimit))})
	}
	if lp := def.LinuxParameters; lp != nil {
		spec.Init = deref(lp.InitProcessEnabled)
		if c := lp.Capabilities; c != nil {
			spec.CapAdd, spec.CapDrop = c.Add, c.Drop
		}
		for _, d := range lp.Devices {
			perms := ""
			for _, p := range d.Permissions {
				switch p {
				case ecsapi.DeviceCgroupPermissionRead:
					perms += "r"
				case ecsapi.DeviceCgroupPermissionWrite:
					perms += "w"
				case ecsapi.DeviceCgroupPermissionMknod:
					perms += "m"
				}
			}
			spec.Devices = append(spec.Devices, runtime.Device{HostPath: deref(d.HostPath), ContainerPath: deref(d.ContainerPath), Permissions: perms})
		}
		if n := deref(lp.SharedMemorySize); n > 0 {
			spec.ShmSizeBytes = int64(n) << 20
		}
		for _, tf := range lp.Tmpfs {
			spec.Mounts = append(spec.Mounts, runtime.Mount{
				Type: runtime.MountTmpfs, Target: deref(tf.ContainerPath),
				TmpfsSizeBytes: int64(deref(tf.Size)) << 20, TmpfsOptions: tf.MountOptions,
			})
		}
	}
	for _, sc := range def.SystemControls {
		if spec.Sysctls == nil {
			spec.Sysctls = map[string]string{}
		}
		spec.Sysctls[deref(sc.Namespace)] = deref(sc.Value)
	}
	if in.gpus > 0 {
		spec.GPUs = &runtime.GPURequest{Count: in.gpus}
	}
	if hc := def.HealthCheck; hc != nil && len(hc.Command) > 0 {
		spec.HealthCheck = &runtime.HealthCheck{
			Command:     hc.Command,
			Interval:    seconds(hc.Interval, healthInterval),
			Timeout:     seconds(hc.Timeout, healthTimeout),
			StartPeriod: seconds(hc.StartPeriod, 0),
			Retries:     int(deref(hc.Retries)),
		}
		if spec.HealthCheck.Retries == 0 {
			spec.HealthCheck.Retries = healthRetries
		}
	}
	return spec, nil
}

// gpuCount is the number of GPUs a container's resourceRequirements ask for.
func gpuCount(def ecsapi.ContainerDefinition) (int, error) {
	n := 0
	for _, r := range def.ResourceRequirements {
		if deref(r.Type) != ecsapi.ResourceTypeGpu {
			continue
		}
		v, err := strconv.Atoi(deref(r.Value))
		if err != nil || v < 0 {
			return 0, fmt.Errorf("container %s: GPU count %q is not a number", deref(def.Name), deref(r.Value))
		}
		n += v
	}
	return n, nil
}

func stopTimeout(def ecsapi.ContainerDefinition) time.Duration {
	return seconds(def.StopTimeout, DefaultStopTimeout)
}

func startTimeout(def ecsapi.ContainerDefinition) time.Duration {
	return seconds(def.StartTimeout, DefaultStartTimeout)
}

func seconds(v *int32, def time.Duration) time.Duration {
	if v == nil || *v <= 0 {
		return def
	}
	return time.Duration(*v) * time.Second
}

func protocol(p *ecsapi.TransportProtocol) string {
	if p == nil || *p == "" {
		return string(runtime.TCP)
	}
	return string(*p)
}

// networkMode is the task's network mode as the runtime names it (bridge
// when the task definition gives none, as on EC2 Linux).
func networkMode(t *ecs.AssignedTask) runtime.NetworkMode {
	m := t.NetworkMode
	if m == "" {
		m = string(deref(t.Definition.NetworkMode))
	}
	if m == "" {
		return runtime.NetworkBridge
	}
	return runtime.NetworkMode(m)
}

// taskLimits are the task-level cpu and memory as runtime limits.
func taskLimits(t *ecs.AssignedTask) runtime.Limits {
	var l runtime.Limits
	if cpu, err := strconv.ParseInt(t.CPU, 10, 64); err == nil && cpu > 0 {
		l.NanoCPUs = cpu * 1e9 / 1024
	}
	if mem, err := strconv.ParseInt(t.Memory, 10, 64); err == nil && mem > 0 {
		l.MemoryBytes = mem << 20
	}
	return l
}

func essential(def ecsapi.ContainerDefinition) bool { return def.Essential == nil || *def.Essential }

// networkBindings are a container's published ports as ECS shows them.
func networkBindings(mode runtime.NetworkMode, def ecsapi.ContainerDefinition, info runtime.ContainerInfo) []ecsapi.NetworkBinding {
	var out []ecsapi.NetworkBinding
	switch mode {
	case runtime.NetworkBridge:
		for _, b := range info.PortBindings {
			ip := b.HostIP
			if ip == "" {
				ip = "0.0.0.0"
			}
			p := ecsapi.TransportProtocol(b.Protocol)
			out = append(out, ecsapi.NetworkBinding{BindIP: ptr(ip), ContainerPort: ptr(int32(b.ContainerPort)),
				HostPort: ptr(int32(b.HostPort)), Protocol: &p})
		}
	case runtime.NetworkHost:
		for _, pm := range def.PortMappings {
			if pm.ContainerPort == nil {
				continue
			}
			hp := deref(pm.HostPort)
			if hp == 0 {
				hp = *pm.ContainerPort
			}
			p := ecsapi.TransportProtocol(protocol(pm.Protocol))
			out = append(out, ecsapi.NetworkBinding{BindIP: ptr("0.0.0.0"), ContainerPort: ptr(*pm.ContainerPort), HostPort: ptr(hp), Protocol: &p})
		}
	}
	return out
}
