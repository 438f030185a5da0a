package appautoscaling

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/runtime"
)

// usage is what a service's RUNNING tasks use and reserve, summed over
// the tasks: ECS's service utilization metrics are the ratio of the two.
type usage struct {
	tasks                int
	cpuUsed, cpuReserved float64 // CPU units (1024 per vCPU)
	memUsed, memReserved float64 // MiB
}

func (u usage) cpuPercent() float64 { return 100 * u.cpuUsed / u.cpuReserved }
func (u usage) memPercent() float64 { return 100 * u.memUsed / u.memReserved }

// dockerStats is the part of the engine's stats JSON utilization needs.
type dockerStats struct {
	CPUStats    cpuStats `json:"cpu_stats"`
	PreCPUStats cpuStats `json:"precpu_stats"`
	MemoryStats struct {
		Usage uint64            `json:"usage"`
		Limit uint64            `json:"limit"`
		Stats map[string]uint64 `json:"stats"`
	} `json:"memory_stats"`
}

type cpuStats struct {
	CPUUsage struct {
		TotalUsage uint64 `json:"total_usage"`
	} `json:"cpu_usage"`
	SystemUsage uint64 `json:"system_cpu_usage"`
	OnlineCPUs  uint32 `json:"online_cpus"`
}

// cpuUnits is the CPU the sample shows in use, in ECS's units: the share
// of the host's CPU time between the two samples, times its CPUs, times
// 1024 (the same formula `docker stats` uses, scaled to units).
func (d dockerStats) cpuUnits() float64 {
	cpu := float64(d.CPUStats.CPUUsage.TotalUsage) - float64(d.PreCPUStats.CPUUsage.TotalUsage)
	sys := float64(d.CPUStats.SystemUsage) - float64(d.PreCPUStats.SystemUsage)
	if cpu <= 0 || sys <= 0 {
		return 0
	}
	cpus := float64(d.CPUStats.OnlineCPUs)
	if cpus == 0 {
		cpus = 1
	}
	return cpu / sys * cpus * 1024
}

// memMiB is the memory in use without the reclaimable page cache, as
// `docker stats` and ECS count it.
func (d dockerStats) memMiB() float64 {
	used := d.MemoryStats.Usage
	for _, k := range []string{"inactive_file", "total_inactive_file"} {
		if v, ok := d.MemoryStats.Stats[k]; ok && v <= used {
			used -= v
			break
		}
	}
	return float64(used) / (1 << 20)
}

// measureTimeout bounds one service's sampling (each sample takes about a
// second: the engine waits for a second reading to compute CPU deltas).
const measureTimeout = 10 * time.Second

// defaultCPUReservation is the reservation assumed for a task that
// reserves no CPU at all: one vCPU.
const defaultCPUReservation = 1024

func atof(p *string) float64 {
	if p == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(*p, 64)
	return v
}

// measure samples the service's RUNNING tasks. Tasks whose containers the
// stats reader cannot see (another host's) are left out.
func (s *Service) measure(ctx context.Context, c caller, cluster, service string) (usage, error) {
	var u usage
	if s.stats == nil {
		return u, nil
	}
	// An engine that hangs must not stall every other target's evaluation.
	ctx, cancel := context.WithTimeout(ctx, measureTimeout)
	defer cancel()
	ectx := c.ctx(ctx)
	list, err := s.ecs.ListTasks(ectx, &ecsapi.ListTasksInput{Cluster: ptr(cluster), ServiceName: ptr(service), DesiredStatus: ptr(ecsapi.DesiredStatusRunning)})
	if err != nil || len(list.TaskArns) == 0 {
		return u, err
	}
	desc, err := s.ecs.DescribeTasks(ectx, &ecsapi.DescribeTasksInput{Cluster: ptr(cluster), Tasks: list.TaskArns})
	if err != nil {
		return u, err
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, t := range desc.Tasks {
		if deref(t.LastStatus) != "RUNNING" {
			continue
		}
		wg.Add(1)
		go func(t ecsapi.Task) {
			defer wg.Done()
			tu, ok := s.measureTask(ctx, t)
			if !ok {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			u.tasks++
			u.cpuUsed += tu.cpuUsed
			u.cpuReserved += tu.cpuReserved
			u.memUsed += tu.memUsed
			u.memReserved += tu.memReserved
		}(t)
	}
	wg.Wait()
	return u, nil
}

// measureTask sums a task's containers' samples against the task's
// reservations: the task-level cpu and memory, else the containers'.
func (s *Service) measureTask(ctx context.Context, t ecsapi.Task) (usage, bool) {
	var u usage
	var cpuRes, memRes, memLimit float64
	sampled := 0
	for _, ct := range t.Containers {
		cpuRes += atof(ct.Cpu)
		if m := atof(ct.Memory); m > 0 {
			memRes += m
		} else {
			memRes += atof(ct.MemoryReservation)
		}
		id := deref(ct.RuntimeId)
		if id == "" || deref(ct.LastStatus) != "RUNNING" {
			continue
		}
		raw, err := s.stats.ContainerStats(ctx, runtime.ContainerID(id))
		if err != nil {
			continue
		}
		var d dockerStats
		if json.Unmarshal(raw, &d) != nil {
			continue
		}
		sampled++
		u.cpuUsed += d.cpuUnits()
		u.memUsed += d.memMiB()
		memLimit += float64(d.MemoryStats.Limit) / (1 << 20)
	}
	if sampled == 0 {
		return u, false
	}
	if v := atof(t.Cpu); v > 0 {
		cpuRes = v
	}
	if cpuRes <= 0 {
		cpuRes = defaultCPUReservation
	}
	if v := atof(t.Memory); v > 0 {
		memRes = v
	}
	if memRes <= 0 {
		memRes = memLimit
	}
	u.tasks, u.cpuReserved, u.memReserved = 1, cpuRes, memRes
	return u, memRes > 0
}

// ServiceUsage measures an ECS service's RUNNING tasks as target tracking
// does, for the service metrics ECS publishes in CloudWatch: summed use
// and reservation of CPU (units) and memory (MiB), and how many tasks
// were measured.
func (s *Service) ServiceUsage(ctx context.Context, account, region, cluster, service string) (tasks int, cpuUsed, cpuReserved, memUsed, memReserved float64, err error) {
	u, err := s.measure(ctx, caller{Account: account, Region: region}, cluster, service)
	return u.tasks, u.cpuUsed, u.cpuReserved, u.memUsed, u.memReserved, err
}
