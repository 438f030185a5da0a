package ecs

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	ecsapi "github.com/berth-dev/berth/api/ecs"
)

// Limits of a task definition, as AWS's service quotas and model state them.
const (
	maxContainers      = 10
	maxTaskDefBytes    = 64 << 10
	minContainerMiB    = 6
	minTaskCPU         = 128
	maxTaskCPU         = 196608 // 192 vCPU
	maxEphemeralGiB    = 200
	minEphemeralGiB    = 21
	maxPort            = 65535
	defaultNetworkMode = ecsapi.NetworkModeBridge
)

// clientErr is the ClientException that RegisterTaskDefinition answers for
// an invalid task definition.
func clientErr(format string, args ...any) error { return ecsapi.NewClientException(format, args...) }

func requires(in *ecsapi.RegisterTaskDefinitionInput, c ecsapi.Compatibility) bool {
	return slices.Contains(in.RequiresCompatibilities, c)
}

func networkMode(in *ecsapi.RegisterTaskDefinitionInput) ecsapi.NetworkMode {
	if in.NetworkMode == nil {
		return defaultNetworkMode
	}
	return *in.NetworkMode
}

func essential(c *ecsapi.ContainerDefinition) bool { return c.Essential == nil || *c.Essential }

// prepareTaskDef validates a registration as AWS does and normalizes it in
// place: task cpu and memory become integer strings, and container fields
// AWS fills in (cpu 0, essential, port protocol, awsvpc host ports, empty
// lists) are filled in.
func prepareTaskDef(in *ecsapi.RegisterTaskDefinitionInput) error {
	if !validName(deref(in.Family)) {
		return clientErr("Family name can have up to 255 characters: letters (uppercase and lowercase), numbers, hyphens and underscores.")
	}
	if len(in.ContainerDefinitions) == 0 {
		return clientErr("Container list cannot be empty.")
	}
	if len(in.ContainerDefinitions) > maxContainers {
		return clientErr("Too many containers.")
	}
	mode := networkMode(in)

	var taskCPU, taskMem int64
	if in.Cpu != nil {
		n, ok := parseCPU(*in.Cpu)
		if !ok || n < minTaskCPU || n > maxTaskCPU {
			return clientErr("Invalid 'cpu' setting for task.")
		}
		taskCPU = n
		in.Cpu = ptr(strconv.FormatInt(n, 10))
	}
	if in.Memory != nil {
		n, ok := parseMemory(*in.Memory)
		if !ok || n < minContainerMiB {
			return clientErr("Invalid 'memory' setting for task.")
		}
		taskMem = n
		in.Memory = ptr(strconv.FormatInt(n, 10))
	}
	if es := in.EphemeralStorage; es != nil {
		if n := deref(es.SizeInGiB); n < minEphemeralGiB || n > maxEphemeralGiB {
			return clientErr("The ephemeral storage size must be between %d GiB and %d GiB.", minEphemeralGiB, maxEphemeralGiB)
		}
	}

	names := map[string]bool{}
	var cpuSum int64
	for i := range in.ContainerDefinitions {
		c := &in.ContainerDefinitions[i]
		name := deref(c.Name)
		if name == "" {
			return clientErr("Container.name should not be null or empty.")
		}
		if !validName(name) {
			return clientErr("Container.name contains invalid characters.")
		}
		if names[name] {
			return clientErr("Container names must be unique within a Task Definition.")
		}
		names[name] = true
		if strings.TrimSpace(deref(c.Image)) == "" {
			return clientErr("Container.image should not be null or empty.")
		}
		if c.Cpu == nil {
			c.Cpu = ptr(int32(0))
		}
		if *c.Cpu < 0 {
			return clientErr("Invalid 'cpu' setting for container '%s'.", name)
		}
		cpuSum += int64(*c.Cpu)
		if c.Essential == nil {
			c.Essential = ptr(true)
		}
		if err := checkContainerMemory(c, taskMem); err != nil {
			return err
		}
		if err := normalizePorts(c, mode); err != nil {
			return err
		}
		if len(c.Links) > 0 && mode == ecsapi.NetworkModeAwsvpc {
			return clientErr("Links are not supported when networkMode=awsvpc.")
		}
		if c.Hostname != nil && mode == ecsapi.NetworkModeAwsvpc {
			return clientErr("hostname is not supported on container when networkMode=awsvpc.")
		}
		if err := checkLogConfiguration(c); err != nil {
			return err
		}
		if hc := c.HealthCheck; hc != nil {
			if err := checkHealthCheck(name, hc); err != nil {
				return err
			}
		}
		if c.Environment == nil {
			c.Environment = []ecsapi.KeyValuePair{}
		}
		if c.MountPoints == nil {
			c.MountPoints = []ecsapi.MountPoint{}
		}
		if c.VolumesFrom == nil {
			c.VolumesFrom = []ecsapi.VolumeFrom{}
		}
		if c.PortMappings == nil {
			c.PortMappings = []ecsapi.PortMapping{}
		}
		if c.SystemControls == nil {
			c.SystemControls = []ecsapi.SystemControl{}
		}
	}
	if taskCPU > 0 && cpuSum > taskCPU {
		return clientErr("The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'.")
	}
	if !slices.ContainsFunc(in.ContainerDefinitions, func(c ecsapi.ContainerDefinition) bool { return essential(&c) }) {
		return clientErr("Task definition doesn't have any essential container.")
	}
	if err := checkPortConflicts(in, mode); err != nil {
		return err
	}
	if err := checkDependencies(in); err != nil {
		return err
	}
	if err := checkVolumes(in); err != nil {
		return err
	}
	if in.Volumes == nil {
		in.Volumes = []ecsapi.Volume{}
	}
	if in.PlacementConstraints == nil {
		in.PlacementConstraints = []ecsapi.TaskDefinitionPlacementConstraint{}
	}
	if requires(in, ecsapi.CompatibilityFargate) {
		if err := fargateProblem(in); err != nil {
			return err
		}
	}
	if requires(in, ecsapi.CompatibilityExternal) && mode == ecsapi.NetworkModeAwsvpc {
		return clientErr("Task definitions for the EXTERNAL launch type do not support the awsvpc network mode.")
	}
	if doc, err := json.Marshal(in); err == nil && len(doc) > maxTaskDefBytes {
		return clientErr("The task definition is %d bytes; the maximum size is 64 KiB.", len(doc))
	}
	return nil
}

func checkContainerMemory(c *ecsapi.ContainerDefinition, taskMem int64) error {
	name := deref(c.Name)
	if c.Memory != nil && int64(*c.Memory) < minContainerMiB {
		return clientErr("Invalid 'memory' setting for container '%s'. The value must be at least %d MiB.", name, minContainerMiB)
	}
	if c.MemoryReservation != nil && int64(*c.MemoryReservation) < minContainerMiB {
		return clientErr("Invalid 'memoryReservation' setting for container '%s'. The value must be at least %d MiB.", name, minContainerMiB)
	}
	if c.Memory != nil && c.MemoryReservation != nil && *c.MemoryReservation > *c.Memory {
		return clientErr("Invalid setting for container '%s'. 'memory' must be greater than or equal to 'memoryReservation'.", name)
	}
	if taskMem == 0 {
		if c.Memory == nil && c.MemoryReservation == nil {
			return clientErr("Invalid setting for container '%s'. At least one of 'memory' or 'memoryReservation' must be specified.", name)
		}
		return nil
	}
	if c.Memory != nil && int64(*c.Memory) > taskMem {
		return clientErr("The 'memory' setting for container '%s' is greater than for the task.", name)
	}
	if c.MemoryReservation != nil && int64(*c.MemoryReservation) > taskMem {
		return clientErr("The 'memoryReservation' setting for container '%s' is greater than for the task.", name)
	}
	return nil
}

// normalizePorts checks a container's port mappings and fills what AWS
// fills: protocol tcp, and with awsvpc or host networking the host port
// (which must equal the container port).
func normalizePorts(c *ecsapi.ContainerDefinition, mode ecsapi.NetworkMode) error {
	name := deref(c.Name)
	if len(c.PortMappings) > 0 && mode == ecsapi.NetworkModeNone {
		return clientErr("Port mappings are not supported when networkMode=none.")
	}
	for i := range c.PortMappings {
		pm := &c.PortMappings[i]
		if pm.Protocol == nil {
			pm.Protocol = ptr(ecsapi.TransportProtocolTcp)
		}
		if pm.ContainerPortRange != nil {
			if pm.ContainerPort != nil || pm.HostPort != nil {
				return clientErr("Invalid port mapping for container '%s': containerPortRange cannot be combined with containerPort or hostPort.", name)
			}
			if _, _, ok := parseRange(*pm.ContainerPortRange); !ok {
				return clientErr("Invalid containerPortRange '%s' for container '%s'.", *pm.ContainerPortRange, name)
			}
			continue
		}
		if pm.ContainerPort == nil {
			return clientErr("Invalid port mapping for container '%s': containerPort must be specified.", name)
		}
		if *pm.ContainerPort < 1 || *pm.ContainerPort > maxPort {
			return clientErr("Invalid 'containerPort' %d for container '%s'.", *pm.ContainerPort, name)
		}
		if pm.HostPort != nil && (*pm.HostPort < 0 || *pm.HostPort > maxPort) {
			return clientErr("Invalid 'hostPort' %d for container '%s'.", *pm.HostPort, name)
		}
		if mode == ecsapi.NetworkModeAwsvpc || mode == ecsapi.NetworkModeHost {
			if pm.HostPort != nil && *pm.HostPort != 0 && *pm.HostPort != *pm.ContainerPort {
				return clientErr("When networkMode=%s, the host ports and container ports in port mappings must match.", mode)
			}
			pm.HostPort = ptr(*pm.ContainerPort)
		}
	}
	return nil
}

func parseRange(s string) (int32, int32, bool) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, false
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || lo < 1 || hi > maxPort || lo >= hi {
		return 0, 0, false
	}
	return int32(lo), int32(hi), true
}

// checkPortConflicts refuses two mappings that would take the same port:
// the same container port in one network namespace (awsvpc, host), or the
// same fixed host port (bridge).
func checkPortConflicts(in *ecsapi.RegisterTaskDefinitionInput, mode ecsapi.NetworkMode) error {
	type key struct {
		port  int32
		proto ecsapi.TransportProtocol
	}
	seen := map[key]string{}
	for _, c := range in.ContainerDefinitions {
		for _, pm := range c.PortMappings {
			var p int32
			switch {
			case pm.ContainerPortRange != nil:
				continue
			case mode == ecsapi.NetworkModeBridge:
				p = deref(pm.HostPort)
			default:
				p = deref(pm.ContainerPort)
			}
			if p == 0 {
				continue
			}
			k := key{p, deref(pm.Protocol)}
			if other, dup := seen[k]; dup {
				return clientErr("Port %d/%s is mapped by both container '%s' and container '%s'; a port can be mapped only once per task.", p, k.proto, other, deref(c.Name))
			}
			seen[k] = deref(c.Name)
		}
	}
	return nil
}

func checkLogConfiguration(c *ecsapi.ContainerDefinition) error {
	lc := c.LogConfiguration
	if lc == nil || deref(lc.LogDriver) != ecsapi.LogDriverAwslogs {
		return nil
	}
	var missing []string
	for _, opt := range []string{"awslogs-region", "awslogs-group"} {
		if lc.Options[opt] == "" {
			missing = append(missing, opt)
		}
	}
	if len(missing) > 0 {
		return clientErr("Log driver awslogs requires options: %s", strings.Join(missing, ", "))
	}
	return nil
}

func checkHealthCheck(name string, hc *ecsapi.HealthCheck) error {
	if len(hc.Command) == 0 {
		return clientErr("Invalid health check for container '%s': command must be specified.", name)
	}
	switch hc.Command[0] {
	case "CMD", "CMD-SHELL", "NONE":
	default:
		return clientErr("Invalid health check for container '%s': the command must start with CMD, CMD-SHELL or NONE.", name)
	}
	bounds := []struct {
		field    string
		v        *int32
		min, max int32
	}{
		{"interval", hc.Interval, 5, 300},
		{"timeout", hc.Timeout, 2, 120},
		{"retries", hc.Retries, 1, 10},
		{"startPeriod", hc.StartPeriod, 0, 300},
	}
	for _, b := range bounds {
		if b.v != nil && (*b.v < b.min || *b.v > b.max) {
			return clientErr("Invalid health check for container '%s': %s must be between %d and %d.", name, b.field, b.min, b.max)
		}
	}
	return nil
}

// checkDependencies validates dependsOn: the containers exist, SUCCESS and
// COMPLETE targets are not essential, HEALTHY targets have a health check,
// and the graph has no cycle.
func checkDependencies(in *ecsapi.RegisterTaskDefinitionInput) error {
	byName := map[string]*ecsapi.ContainerDefinition{}
	for i := range in.ContainerDefinitions {
		byName[deref(in.ContainerDefinitions[i].Name)] = &in.ContainerDefinitions[i]
	}
	for _, c := range in.ContainerDefinitions {
		for _, d := range c.DependsOn {
			target := deref(d.ContainerName)
			t, ok := byName[target]
			if !ok {
				// AWS's message, stray "+" included.
				return clientErr("Cannot depend on container + '%s' because it does not exist", target)
			}
			if target == deref(c.Name) {
				return clientErr("Container '%s' cannot depend on itself.", target)
			}
			switch deref(d.Condition) {
			case ecsapi.ContainerConditionSuccess, ecsapi.ContainerConditionComplete:
				if essential(t) {
					return clientErr("A dependency container with SUCCESS or COMPLETE condition cannot be an essential container")
				}
			case ecsapi.ContainerConditionHealthy:
				if t.HealthCheck == nil {
					return clientErr("Container '%s' depends on container '%s' with condition HEALTHY, but '%s' has no health check.", deref(c.Name), target, target)
				}
			}
		}
	}
	// Depth-first search for a cycle.
	state := map[string]int{} // 0 new, 1 on the stack, 2 done
	var visit func(string) string
	visit = func(n string) string {
		state[n] = 1
		for _, d := range byName[n].DependsOn {
			t := deref(d.ContainerName)
			switch state[t] {
			case 1:
				return t
			case 0:
				if cyc := visit(t); cyc != "" {
					return cyc
				}
			}
		}
		state[n] = 2
		return ""
	}
	for _, c := range in.ContainerDefinitions {
		if state[deref(c.Name)] == 0 {
			if cyc := visit(deref(c.Name)); cyc != "" {
				return clientErr("The container dependencies of the task definition contain a cycle through container '%s'.", cyc)
			}
		}
	}
	return nil
}

func checkVolumes(in *ecsapi.RegisterTaskDefinitionInput) error {
	vols := map[string]bool{}
	for _, v := range in.Volumes {
		name := deref(v.Name)
		if !validName(name) {
			return clientErr("Invalid volume name '%s': up to 255 letters (uppercase and lowercase), numbers, hyphens and underscores are allowed.", name)
		}
		if vols[name] {
			return clientErr("Volume names must be unique within a Task Definition: '%s'.", name)
		}
		vols[name] = true
	}
	containers := map[string]bool{}
	for _, c := range in.ContainerDefinitions {
		containers[deref(c.Name)] = true
	}
	for _, c := range in.ContainerDefinitions {
		for _, mp := range c.MountPoints {
			if src := deref(mp.SourceVolume); !vols[src] {
				return clientErr("Invalid 'mountPoints' setting for container '%s'. The source volume '%s' is not defined in the task definition.", deref(c.Name), src)
			}
			if deref(mp.ContainerPath) == "" {
				return clientErr("Invalid 'mountPoints' setting for container '%s'. containerPath must be specified.", deref(c.Name))
			}
		}
		for _, vf := range c.VolumesFrom {
			if src := deref(vf.SourceContainer); !containers[src] || src == deref(c.Name) {
				return clientErr("Invalid 'volumesFrom' setting for container '%s'. The source container '%s' is not another container of the task definition.", deref(c.Name), src)
			}
		}
	}
	return nil
}

// fargateProblem says why a task definition cannot run on Fargate, or nil.
// Its messages are AWS's where known.
func fargateProblem(in *ecsapi.RegisterTaskDefinitionInput) error {
	if networkMode(in) != ecsapi.NetworkModeAwsvpc {
		return clientErr("Fargate only supports network mode ‘awsvpc’.")
	}
	if in.Cpu == nil {
		return clientErr("Fargate requires that 'cpu' be defined at the task level.")
	}
	if in.Memory == nil {
		return clientErr("Fargate requires that 'memory' be defined at the task level.")
	}
	cpu, _ := parseCPU(*in.Cpu)
	mem, _ := parseMemory(*in.Memory)
	if !fargateCPU(cpu) {
		return clientErr("Invalid 'cpu' setting for task.")
	}
	if !fargateCombination(cpu, mem) {
		return clientErr("No Fargate configuration exists for given values.")
	}
	if in.IpcMode != nil {
		return clientErr("Tasks using the Fargate launch type do not support ipcMode.")
	}
	if deref(in.PidMode) == ecsapi.PidModeHost {
		return clientErr("Tasks using the Fargate launch type do not support pidMode 'host'.")
	}
	if len(in.PlacementConstraints) > 0 {
		return clientErr("Tasks using the Fargate launch type do not support placement constraints.")
	}
	if len(in.InferenceAccelerators) > 0 {
		return clientErr("Tasks using the Fargate launch type do not support inference accelerators.")
	}
	for _, v := range in.Volumes {
		if v.Host != nil && v.Host.SourcePath != nil {
			return clientErr("Tasks using the Fargate launch type do not support host volumes with a sourcePath (volume '%s').", deref(v.Name))
		}
		if v.DockerVolumeConfiguration != nil {
			return clientErr("Tasks using the Fargate launch type do not support dockerVolumeConfiguration (volume '%s').", deref(v.Name))
		}
	}
	for _, c := range in.ContainerDefinitions {
		name := deref(c.Name)
		unsupported := func(what string) error {
			return clientErr("Tasks using the Fargate launch type do not support %s (container '%s').", what, name)
		}
		if deref(c.Privileged) {
			return unsupported("privileged mode")
		}
		if len(c.DockerSecurityOptions) > 0 {
			return unsupported("dockerSecurityOptions")
		}
		if len(c.Links) > 0 {
			return unsupported("links")
		}
		if c.DisableNetworking != nil {
			return unsupported("disableNetworking")
		}
		if len(c.DnsServers) > 0 || len(c.DnsSearchDomains) > 0 {
			return unsupported("dnsServers and dnsSearchDomains")
		}
		if len(c.ExtraHosts) > 0 {
			return unsupported("extraHosts")
		}
		for _, rr := range c.ResourceRequirements {
			if deref(rr.Type) == ecsapi.ResourceTypeGpu {
				return unsupported("GPU resource requirements")
			}
		}
		if lp := c.LinuxParameters; lp != nil {
			switch {
			case len(lp.Devices) > 0:
				return unsupported("linuxParameters.devices")
			case lp.SharedMemorySize != nil:
				return unsupported("linuxParameters.sharedMemorySize")
			case len(lp.Tmpfs) > 0:
				return unsupported("linuxParameters.tmpfs")
			case lp.MaxSwap != nil || lp.Swappiness != nil:
				return unsupported("linuxParameters.maxSwap and swappiness")
			}
			if lp.Capabilities != nil {
				for _, add := range lp.Capabilities.Add {
					if add != "SYS_PTRACE" {
						return clientErr("Tasks using the Fargate launch type only support adding the SYS_PTRACE kernel capability (container '%s' adds %s).", name, add)
					}
				}
			}
		}
		if lc := c.LogConfiguration; lc != nil && deref(lc.LogDriver) == ecsapi.LogDriverAwslogs && deref(in.ExecutionRoleArn) == "" {
			return clientErr("Fargate requires task definition to have execution role ARN to support log driver awslogs.")
		}
	}
	return nil
}

// compatibilities are the launch types a task definition can run on, as
// AWS computes them: EC2 always, FARGATE when it passes Fargate's rules,
// EXTERNAL when it does not use awsvpc.
func compatibilities(in *ecsapi.RegisterTaskDefinitionInput) []ecsapi.Compatibility {
	if networkMode(in) != ecsapi.NetworkModeAwsvpc {
		return []ecsapi.Compatibility{ecsapi.CompatibilityExternal, ecsapi.CompatibilityEc2}
	}
	out := []ecsapi.Compatibility{ecsapi.CompatibilityEc2}
	if fargateProblem(in) == nil {
		out = append(out, ecsapi.CompatibilityFargate)
	}
	return out
}

// requiredAttributes are the container instance capabilities a task
// definition needs, derived from the features it uses as AWS derives them.
func requiredAttributes(in *ecsapi.RegisterTaskDefinitionInput) []ecsapi.Attribute {
	var names []string
	add := func(n string) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	const api = "com.amazonaws.ecs.capability.docker-remote-api."
	hasExec := deref(in.ExecutionRoleArn) != ""
	if deref(in.TaskRoleArn) != "" {
		add("com.amazonaws.ecs.capability.task-iam-role")
	}
	if networkMode(in) == ecsapi.NetworkModeAwsvpc {
		add("ecs.capability.task-eni")
		add(api + "1.18")
	}
	if in.Cpu != nil || in.Memory != nil {
		add("ecs.capability.task-cpu-mem-limit")
	}
	for _, c := range in.ContainerDefinitions {
		if lc := c.LogConfiguration; lc != nil && lc.LogDriver != nil {
			add("com.amazonaws.ecs.capability.logging-driver." + string(*lc.LogDriver))
			if *lc.LogDriver == ecsapi.LogDriverAwslogs {
				add(api + "1.19")
				if hasExec {
					add("ecs.capability.execution-role-awslogs")
				}
			}
		}
		if c.HealthCheck != nil {
			add("ecs.capability.container-health-check")
		}
		if len(c.DependsOn) > 0 || c.StartTimeout != nil || c.StopTimeout != nil {
			add("ecs.capability.container-ordering")
		}
		if c.MemoryReservation != nil {
			add(api + "1.21")
		}
		if len(c.DockerLabels) > 0 || len(c.Ulimits) > 0 {
			add(api + "1.18")
		}
		if deref(c.Privileged) {
			add("com.amazonaws.ecs.capability.privileged-container")
		}
		for _, sec := range c.Secrets {
			if strings.Contains(deref(sec.ValueFrom), ":secretsmanager:") {
				add("ecs.capability.secrets.asm.environment-variables")
			} else {
				add("ecs.capability.secrets.ssm.environment-variables")
			}
		}
		if c.RepositoryCredentials != nil {
			add("ecs.capability.private-registry-authentication.secretsmanager")
		}
		if hasExec && strings.Contains(deref(c.Image), ".dkr.ecr.") {
			add("ecs.capability.execution-role-ecr-pull")
			add("com.amazonaws.ecs.capability.ecr-auth")
		}
	}
	out := make([]ecsapi.Attribute, len(names))
	for i, n := range names {
		out[i] = ecsapi.Attribute{Name: ptr(n)}
	}
	return out
}

// taskDefOutput builds the API shape of a stored revision. Fields are copied
// from the stored request by their JSON names, so that every field the
// model shares between the request and TaskDefinition comes back.
func taskDefOutput(sc scope, r *taskDefRecord) ecsapi.TaskDefinition {
	var out ecsapi.TaskDefinition
	if doc, err := json.Marshal(r.Input); err == nil {
		// Both shapes come from the same model; a decoding problem would be
		// a generator bug, and the metadata below is still set.
		_ = json.Unmarshal(doc, &out)
	}
	out.TaskDefinitionArn = ptr(sc.taskDefARN(r.family(), r.Revision))
	out.Revision = ptr(int32(r.Revision))
	out.Status = ptr(ecsapi.TaskDefinitionStatus(r.Status))
	out.RequiresAttributes = nonNil(r.RequiresAttributes)
	out.Compatibilities = nonNil(r.Compatibilities)
	out.RegisteredAt = timestamp(r.RegisteredAt)
	out.RegisteredBy = nonEmpty(r.RegisteredBy)
	out.DeregisteredAt = timestamp(r.DeregisteredAt)
	out.DeleteRequestedAt = timestamp(r.DeleteRequestedAt)
	return out
}
