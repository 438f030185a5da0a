package docker

import (
	"fmt"
	"net/netip"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"

	"github.com/berth-dev/berth/runtime"
)

// Defaults for json-file logs: Berth reads and ships the output itself, so
// the engine only needs to keep enough to bridge a Berth restart.
const (
	defaultLogMaxSize  = 10 << 20
	defaultLogMaxFiles = 3
)

// containerConfig turns a ContainerSpec into the engine's create request.
func containerConfig(spec runtime.ContainerSpec) (*container.Config, *container.HostConfig, error) {
	if spec.Name == "" {
		return nil, nil, invalid("container name is empty")
	}
	if spec.Image == "" {
		return nil, nil, invalid("container %s: image is empty", spec.Name)
	}
	mode := spec.Sandbox.NetworkMode
	if mode == "" {
		mode = runtime.NetworkBridge
	}

	own := map[string]string{labelKind: kindContainer, labelNetMode: string(mode)}
	cfg := &container.Config{
		Image:      spec.Image,
		Entrypoint: spec.EntryPoint,
		Cmd:        spec.Command,
		WorkingDir: spec.WorkingDir,
		User:       spec.User,
		Env:        envList(spec.Env),
		StopSignal: spec.StopSignal,
	}
	if spec.StopTimeout > 0 {
		secs := seconds(spec.StopTimeout)
		cfg.StopTimeout = &secs
	}
	hc := &container.HostConfig{
		Init:           boolPtr(spec.Init),
		ReadonlyRootfs: spec.ReadonlyRootfs,
		Privileged:     spec.Privileged,
		CapAdd:         spec.CapAdd,
		CapDrop:        spec.CapDrop,
		Sysctls:        spec.Sysctls,
		ShmSize:        spec.ShmSizeBytes,
		LogConfig:      logConfig(spec.Log),
		// Berth, not the engine, decides what happens when a container
		// exits: ECS restarts tasks, not containers.
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
	}

	res, err := effectiveResources(spec.Resources, spec.Sandbox.Limits)
	if err != nil {
		return nil, nil, fmt.Errorf("container %s: %w", spec.Name, err)
	}
	hc.Resources = res
	if cg := spec.Sandbox.Cgroup; cg != "" {
		if !validCgroup(cg) {
			return nil, nil, invalid("container %s: sandbox cgroup %q is not one Berth makes", spec.Name, cg)
		}
		hc.Resources.CgroupParent = cg
		own[labelCgroup] = cg
	}
	for _, u := range spec.Ulimits {
		if u.Name == "" || u.Soft < -1 || u.Hard < -1 || (u.Hard >= 0 && u.Soft > u.Hard) {
			return nil, nil, invalid("container %s: bad ulimit %s (soft %d, hard %d)", spec.Name, u.Name, u.Soft, u.Hard)
		}
		hc.Ulimits = append(hc.Ulimits, &container.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	for _, d := range spec.Devices {
		if !path.IsAbs(d.HostPath) {
			return nil, nil, invalid("container %s: device path %q is not absolute", spec.Name, d.HostPath)
		}
		perms := d.Permissions
		if perms == "" {
			perms = "rwm"
		}
		inCtr := d.ContainerPath
		if inCtr == "" {
			inCtr = d.HostPath
		}
		hc.Devices = append(hc.Devices, container.DeviceMapping{PathOnHost: d.HostPath, PathInContainer: inCtr, CgroupPermissions: perms})
	}
	if spec.GPUs != nil {
		if spec.GPUs.Count <= 0 && len(spec.GPUs.DeviceIDs) == 0 {
			return nil, nil, invalid("container %s: GPU request names no GPUs", spec.Name)
		}
		dr := container.DeviceRequest{Capabilities: [][]string{{"gpu"}}}
		if len(spec.GPUs.DeviceIDs) > 0 {
			dr.DeviceIDs = spec.GPUs.DeviceIDs
		} else {
			dr.Count = spec.GPUs.Count
		}
		hc.DeviceRequests = []container.DeviceRequest{dr}
	}
	if spec.HealthCheck != nil {
		h, err := healthConfig(*spec.HealthCheck)
		if err != nil {
			return nil, nil, fmt.Errorf("container %s: %w", spec.Name, err)
		}
		cfg.Healthcheck = h
	}
	if err := applyMounts(hc, spec); err != nil {
		return nil, nil, err
	}

	switch mode {
	case runtime.NetworkAWSVPC:
		if spec.Sandbox.ID == "" {
			return nil, nil, invalid("container %s: an awsvpc container needs its task's sandbox", spec.Name)
		}
		// Joined containers share the sandbox's hostname, resolver and
		// ports; the engine refuses these options for them.
		if len(spec.PortMappings) > 0 || spec.Hostname != "" || len(spec.DNSServers) > 0 ||
			len(spec.DNSSearch) > 0 || len(spec.ExtraHosts) > 0 || len(spec.Links) > 0 {
			return nil, nil, invalid("container %s: in awsvpc mode, port mappings, hostname, DNS, extra hosts and links belong to the sandbox", spec.Name)
		}
		hc.NetworkMode = container.NetworkMode("container:" + string(spec.Sandbox.ID))
		own[labelSandbox] = string(spec.Sandbox.ID)
	case runtime.NetworkBridge, runtime.NetworkHost, runtime.NetworkNone:
		hc.NetworkMode = container.NetworkMode(mode)
		cfg.Hostname = spec.Hostname
		if err := applyDNS(hc, spec.DNSServers, spec.DNSSearch, spec.ExtraHosts); err != nil {
			return nil, nil, fmt.Errorf("container %s: %w", spec.Name, err)
		}
		if mode == runtime.NetworkBridge {
			exposed, bindings, err := portBindings(spec.PortMappings)
			if err != nil {
				return nil, nil, fmt.Errorf("container %s: %w", spec.Name, err)
			}
			cfg.ExposedPorts, hc.PortBindings = exposed, bindings
			hc.Links = spec.Links
		}
	default:
		return nil, nil, invalid("container %s: unknown network mode %q", spec.Name, mode)
	}
	cfg.Labels = managedLabels(spec.Labels, own)
	return cfg, hc, nil
}

// effectiveResources applies the task's limits to one container: each is
// capped at them, so no container exceeds the task. Where the sandbox has
// a task cgroup (Sandbox.Cgroup) that holds the sum of the containers
// within the task's limits too; where it has none (a remote engine, no
// right to write cgroups, the systemd driver, bridge mode) the caps are
// all there is, and containers without limits of their own may together
// use more than the task.
func effectiveResources(r runtime.Resources, task runtime.Limits) (container.Resources, error) {
	if r.CPUShares < 0 || r.NanoCPUs < 0 || r.MemoryBytes < 0 || r.MemoryReservationBytes < 0 ||
		task.NanoCPUs < 0 || task.MemoryBytes < 0 {
		return container.Resources{}, invalid("negative resource limit")
	}
	out := container.Resources{
		CPUShares:         r.CPUShares,
		NanoCPUs:          minPositive(r.NanoCPUs, task.NanoCPUs),
		Memory:            minPositive(r.MemoryBytes, task.MemoryBytes),
		MemoryReservation: r.MemoryReservationBytes,
	}
	// The kernel's smallest weight is 2; ECS's agent maps cpu 1 to it too.
	if out.CPUShares == 1 {
		out.CPUShares = 2
	}
	if out.Memory > 0 {
		if out.Memory < 6<<20 {
			return container.Resources{}, invalid("memory limit %d bytes is below the 6 MiB minimum", out.Memory)
		}
		// No swap beyond the limit, as ECS configures containers unless a
		// task asks for maxSwap: the limit is what the container gets.
		out.MemorySwap = out.Memory
		// A reservation above the hard limit means nothing and the engine
		// refuses it; the hard limit is the effective reservation then.
		if out.MemoryReservation > out.Memory {
			out.MemoryReservation = out.Memory
		}
	}
	return out, nil
}

// minPositive is the smaller of two limits where 0 means unlimited.
func minPositive(a, b int64) int64 {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	case a < b:
		return a
	}
	return b
}

func healthConfig(h runtime.HealthCheck) (*container.HealthConfig, error) {
	if len(h.Command) < 2 || (h.Command[0] != "CMD" && h.Command[0] != "CMD-SHELL") {
		return nil, invalid("health check command must be [\"CMD\", args...] or [\"CMD-SHELL\", command], got %q", h.Command)
	}
	if h.Command[0] == "CMD-SHELL" && len(h.Command) != 2 {
		// ECS joins the rest with spaces; so do we, so both agree on what
		// the shell runs.
		h.Command = []string{"CMD-SHELL", strings.Join(h.Command[1:], " ")}
	}
	for _, d := range []time.Duration{h.Interval, h.Timeout, h.StartPeriod} {
		if d < 0 || (d > 0 && d < time.Millisecond) {
			return nil, invalid("health check durations must be 0 (default) or at least 1ms, got %v", d)
		}
	}
	if h.Retries < 0 {
		return nil, invalid("health check retries %d is negative", h.Retries)
	}
	return &container.HealthConfig{
		Test:        h.Command,
		Interval:    h.Interval,
		Timeout:     h.Timeout,
		StartPeriod: h.StartPeriod,
		Retries:     h.Retries,
	}, nil
}

func applyMounts(hc *container.HostConfig, spec runtime.ContainerSpec) error {
	for _, m := range spec.Mounts {
		if !path.IsAbs(m.Target) {
			return invalid("container %s: mount target %q is not an absolute path", spec.Name, m.Target)
		}
		switch m.Type {
		case runtime.MountBind:
			if !path.IsAbs(m.Source) {
				return invalid("container %s: bind mount source %q is not an absolute path", spec.Name, m.Source)
			}
			if strings.Contains(m.Source, ":") || strings.Contains(m.Target, ":") {
				// The Binds syntax cannot carry a colon; the Mounts API can,
				// but it does not create a missing source.
				hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
				continue
			}
			// Binds, unlike Mounts, create a missing host directory, as ECS
			// on EC2 does for host volumes.
			b := m.Source + ":" + m.Target
			if m.ReadOnly {
				b += ":ro"
			}
			hc.Binds = append(hc.Binds, b)
		case runtime.MountVolume:
			hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeVolume, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
		case runtime.MountTmpfs:
			if m.TmpfsSizeBytes < 0 {
				return invalid("container %s: tmpfs size is negative", spec.Name)
			}
			mnt := mount.Mount{Type: mount.TypeTmpfs, Target: m.Target, ReadOnly: m.ReadOnly}
			if m.TmpfsSizeBytes > 0 || len(m.TmpfsOptions) > 0 {
				mnt.TmpfsOptions = &mount.TmpfsOptions{SizeBytes: m.TmpfsSizeBytes}
				for _, o := range m.TmpfsOptions {
					k, v, _ := strings.Cut(o, "=")
					opt := []string{k}
					if v != "" {
						opt = append(opt, v)
					}
					mnt.TmpfsOptions.Options = append(mnt.TmpfsOptions.Options, opt)
				}
			}
			hc.Mounts = append(hc.Mounts, mnt)
		default:
			return invalid("container %s: unknown mount type %q", spec.Name, m.Type)
		}
	}
	for _, vf := range spec.VolumesFrom {
		if vf.Container == "" {
			return invalid("container %s: volumesFrom names no container", spec.Name)
		}
		v := string(vf.Container)
		if vf.ReadOnly {
			v += ":ro"
		}
		hc.VolumesFrom = append(hc.VolumesFrom, v)
	}
	return nil
}

func applyDNS(hc *container.HostConfig, servers, search []string, hosts []runtime.HostEntry) error {
	for _, s := range servers {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return invalid("DNS server %q is not an IP address", s)
		}
		hc.DNS = append(hc.DNS, a)
	}
	hc.DNSSearch = search
	for _, h := range hosts {
		if _, err := netip.ParseAddr(h.IP); err != nil || h.Hostname == "" || strings.ContainsAny(h.Hostname, ": \t") {
			return invalid("extra host %q → %q is not a hostname and an IP address", h.Hostname, h.IP)
		}
		hc.ExtraHosts = append(hc.ExtraHosts, h.Hostname+":"+h.IP)
	}
	return nil
}

func portBindings(pms []runtime.PortMapping) (network.PortSet, network.PortMap, error) {
	if len(pms) == 0 {
		return nil, nil, nil
	}
	exposed := network.PortSet{}
	bindings := network.PortMap{}
	for _, pm := range pms {
		proto := pm.Protocol
		if proto == "" {
			proto = runtime.TCP
		}
		if proto != runtime.TCP && proto != runtime.UDP {
			return nil, nil, invalid("port mapping protocol %q is not tcp or udp", pm.Protocol)
		}
		if pm.ContainerPort == 0 {
			return nil, nil, invalid("port mapping has no container port")
		}
		p, ok := network.PortFrom(pm.ContainerPort, network.IPProtocol(proto))
		if !ok {
			return nil, nil, invalid("port mapping %d/%s is not valid", pm.ContainerPort, proto)
		}
		b := network.PortBinding{}
		if pm.HostPort != 0 {
			b.HostPort = strconv.Itoa(int(pm.HostPort))
		}
		// An unspecified address binds IPv4 only. Left empty, the engine
		// binds 0.0.0.0 and :: and (in 20.10) gives each its own dynamic
		// port, so one container's IPv6 port can be another's IPv4 port and
		// 127.0.0.1:<port> reaches the wrong task.
		b.HostIP = netip.IPv4Unspecified()
		if pm.HostIP != "" {
			a, err := netip.ParseAddr(pm.HostIP)
			if err != nil {
				return nil, nil, invalid("port mapping host IP %q is not an IP address", pm.HostIP)
			}
			b.HostIP = a
		}
		exposed[p] = struct{}{}
		bindings[p] = append(bindings[p], b)
	}
	return exposed, bindings, nil
}

// bindingsOf reads published ports back, in a stable order.
func bindingsOf(ports network.PortMap) []runtime.PortBinding {
	var out []runtime.PortBinding
	for p, bs := range ports {
		for _, b := range bs {
			hp, err := strconv.ParseUint(b.HostPort, 10, 16)
			if err != nil {
				continue
			}
			ip := ""
			if b.HostIP.IsValid() {
				ip = b.HostIP.String()
			}
			out = append(out, runtime.PortBinding{ContainerPort: p.Num(), HostPort: uint16(hp),
				Protocol: runtime.Protocol(p.Proto()), HostIP: ip})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.ContainerPort != b.ContainerPort {
			return a.ContainerPort < b.ContainerPort
		}
		if a.Protocol != b.Protocol {
			return a.Protocol < b.Protocol
		}
		return a.HostIP < b.HostIP
	})
	return out
}

func logConfig(l runtime.LogConfig) container.LogConfig {
	size, files := l.MaxSizeBytes, l.MaxFiles
	if size <= 0 {
		size = defaultLogMaxSize
	}
	if files <= 0 {
		files = defaultLogMaxFiles
	}
	return container.LogConfig{Type: "json-file", Config: map[string]string{
		"max-size": strconv.FormatInt(size, 10),
		"max-file": strconv.Itoa(files),
	}}
}

// envList turns the environment into the engine's KEY=value list, sorted so
// that the same spec always makes the same container.
func envList(env map[string]string) []string {
	if len(env) == 0 {
		return nil
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// seconds rounds a timeout up to whole seconds, the engine's unit, so a
// container never gets less time than asked.
func seconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

func boolPtr(b bool) *bool {
	if !b {
		// nil keeps the engine's default (which may be init on), rather
		// than forcing it off.
		return nil
	}
	return &b
}

// parseTime reads the engine's timestamps; its zero ("0001-01-01...") and
// garbage become the zero time.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}
