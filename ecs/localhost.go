package ecs

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/store"
)

// HostInfo describes a machine that runs tasks.
type HostInfo struct {
	// ID is the host's id, shown as the ec2InstanceId of its container
	// instances. For the local host it is made once and kept in the store.
	ID string
	// CPU is in CPU units (1024 a core), MemoryMiB in MiB.
	CPU       int64
	MemoryMiB int64
	// Arch is the ECS name of the CPU architecture: x86_64 or arm64.
	Arch string
	// ReservedPorts are TCP host ports tasks may not take (ECS reserves 22,
	// 2375, 2376, 51678 and 51679 on every instance).
	ReservedPorts []int32
	// AgentVersion, AgentHash and DockerVersion fill versionInfo.
	AgentVersion, AgentHash, DockerVersion string
	// InstanceType and AvailabilityZone are shown as attributes.
	InstanceType     string
	AvailabilityZone string // empty: <region>a
	// Attributes are added to the standard ones.
	Attributes []ecsapi.Attribute
}

// defaultReservedPorts are the ports the ECS agent reserves on a container
// instance by default.
var defaultReservedPorts = []int32{22, 2375, 2376, 51678, 51679}

// DetectLocalHost describes the machine Berth runs on: 1024 CPU units per
// core (runtime.NumCPU) and the memory /proc/meminfo reports.
func DetectLocalHost() HostInfo {
	return HostInfo{
		CPU:           int64(runtime.NumCPU()) * 1024,
		MemoryMiB:     memTotalMiB(),
		Arch:          ecsArch(runtime.GOARCH),
		ReservedPorts: defaultReservedPorts,
		AgentVersion:  "1.0.0",
		InstanceType:  "berth.local",
	}
}

func ecsArch(goarch string) string {
	if goarch == "arm64" {
		return "arm64"
	}
	return "x86_64"
}

// memTotalMiB reads MemTotal from /proc/meminfo; where there is none (not
// Linux), it assumes 2 GiB rather than refusing to start.
func memTotalMiB() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 2048
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err == nil && kb > 0 {
				return kb / 1024
			}
		}
	}
	return 2048
}

// loadLocalHostID gives the local host its id: the one in Options, else the
// one kept in the store, else a new one that is then kept.
func (s *Service) loadLocalHostID(ctx context.Context) error {
	if s.local.ID != "" {
		return nil
	}
	type hostDoc struct {
		ID string `json:"id"`
	}
	return s.st.Update(ctx, func(tx store.Tx) error {
		r, err := tx.GetResource(kindHost, "", "", "local")
		if err == nil {
			var d hostDoc
			if err := json.Unmarshal(r.Doc, &d); err == nil && d.ID != "" {
				s.local.ID = d.ID
				return nil
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		s.local.ID = "i-" + hexN(17)
		return putDoc(tx, kindHost, global, "local", hostDoc{ID: s.local.ID}, s.clock())
	})
}

// Capability attributes the local host advertises: those of a current ECS
// agent on Linux, which are also what task definitions require
// (requiresAttributes), so that placement on the local host never fails for
// lack of one.
var localCapabilities = []string{
	"com.amazonaws.ecs.capability.privileged-container",
	"com.amazonaws.ecs.capability.docker-remote-api.1.17",
	"com.amazonaws.ecs.capability.docker-remote-api.1.18",
	"com.amazonaws.ecs.capability.docker-remote-api.1.19",
	"com.amazonaws.ecs.capability.docker-remote-api.1.20",
	"com.amazonaws.ecs.capability.docker-remote-api.1.21",
	"com.amazonaws.ecs.capability.docker-remote-api.1.22",
	"com.amazonaws.ecs.capability.docker-remote-api.1.23",
	"com.amazonaws.ecs.capability.docker-remote-api.1.24",
	"com.amazonaws.ecs.capability.docker-remote-api.1.25",
	"com.amazonaws.ecs.capability.docker-remote-api.1.26",
	"com.amazonaws.ecs.capability.docker-remote-api.1.27",
	"com.amazonaws.ecs.capability.docker-remote-api.1.28",
	"com.amazonaws.ecs.capability.docker-remote-api.1.29",
	"com.amazonaws.ecs.capability.docker-remote-api.1.30",
	"com.amazonaws.ecs.capability.docker-remote-api.1.31",
	"com.amazonaws.ecs.capability.docker-remote-api.1.32",
	"com.amazonaws.ecs.capability.docker-remote-api.1.44",
	"com.amazonaws.ecs.capability.logging-driver.json-file",
	"com.amazonaws.ecs.capability.logging-driver.awslogs",
	"com.amazonaws.ecs.capability.logging-driver.none",
	"com.amazonaws.ecs.capability.logging-driver.syslog",
	"com.amazonaws.ecs.capability.ecr-auth",
	"com.amazonaws.ecs.capability.task-iam-role",
	"com.amazonaws.ecs.capability.task-iam-role-network-host",
	"ecs.capability.docker-plugin.local",
	"ecs.capability.task-eni",
	"ecs.capability.task-cpu-mem-limit",
	"ecs.capability.execution-role-awslogs",
	"ecs.capability.execution-role-ecr-pull",
	"ecs.capability.container-health-check",
	"ecs.capability.container-ordering",
	"ecs.capability.secrets.asm.environment-variables",
	"ecs.capability.secrets.ssm.environment-variables",
	"ecs.capability.env-files.s3",
	"ecs.capability.full-sync",
	"ecs.capability.private-registry-authentication.secretsmanager",
	"ecs.capability.increased-task-cpu-limit",
}

// localAttributes are the container instance attributes of the local host
// in a region.
func (h HostInfo) localAttributes(region string) []ecsapi.Attribute {
	az := h.AvailabilityZone
	if az == "" {
		az = region + "a"
	}
	attrs := []ecsapi.Attribute{
		{Name: ptr("ecs.os-type"), Value: ptr("linux")},
		{Name: ptr("ecs.os-family"), Value: ptr("LINUX")},
		{Name: ptr("ecs.cpu-architecture"), Value: ptr(h.Arch)},
		{Name: ptr("ecs.instance-type"), Value: ptr(h.InstanceType)},
		{Name: ptr("ecs.availability-zone"), Value: ptr(az)},
	}
	for _, c := range localCapabilities {
		attrs = append(attrs, ecsapi.Attribute{Name: ptr(c)})
	}
	return append(attrs, h.Attributes...)
}
