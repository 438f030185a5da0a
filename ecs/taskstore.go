package ecs

import (
	"slices"

	"github.com/berth-dev/berth/store"
)

// phase groups task statuses the way the counters of clusters and container
// instances see them.
type phase int

const (
	phaseNone    phase = iota // no task (before creation)
	phasePending              // PROVISIONING, PENDING, ACTIVATING
	phaseRunning              // RUNNING
	phaseLeaving              // DEACTIVATING, STOPPING, DEPROVISIONING
	phaseStopped              // STOPPED
)

func phaseOf(r *taskRecord) phase {
	if r == nil {
		return phaseNone
	}
	switch r.Status.LastStatus {
	case TaskProvisioning, TaskPending, TaskActivating:
		return phasePending
	case TaskRunning:
		return phaseRunning
	case TaskStopped:
		return phaseStopped
	}
	return phaseLeaving
}

func active(p phase) bool { return p == phasePending || p == phaseRunning || p == phaseLeaving }

// saveTask writes rec (old is the record before the change, nil for a new
// task) and, in the same transaction, everything that follows from the
// change: the cluster's counters, the container instance's task counts and
// resources (released when the task reaches STOPPED) and the host index.
func (s *Service) saveTask(tx store.Tx, sc scope, old, rec *taskRecord) error {
	now := s.clock()
	op, np := phaseOf(old), phaseOf(rec)

	if op != np {
		c, err := getDoc[clusterRecord](tx, kindCluster, sc, rec.Cluster)
		if err != nil {
			return err
		}
		if c != nil {
			st := &c.Stats
			lt := rec.LaunchType
			switch op {
			case phasePending:
				st.add(&st.Pending, lt, -1)
			case phaseRunning:
				st.add(&st.Running, lt, -1)
			}
			switch np {
			case phasePending:
				st.add(&st.Pending, lt, 1)
			case phaseRunning:
				st.add(&st.Running, lt, 1)
			}
			if active(op) && !active(np) {
				st.Active--
			}
			if !active(op) && active(np) {
				st.Active++
			}
			if err := putDoc(tx, kindCluster, sc, c.Name, c, now); err != nil {
				return err
			}
		}
	}

	if rec.InstanceID != "" {
		wasRun := old != nil && old.DesiredStatus == TaskRunning && active(op)
		isRun := rec.DesiredStatus == TaskRunning && active(np)
		release := active(op) && np == phaseStopped
		if wasRun != isRun || (op == phasePending) != (np == phasePending) || release {
			in, err := getDoc[instanceRecord](tx, kindInstance, sc, instanceKey(rec.Cluster, rec.InstanceID))
			if err != nil {
				return err
			}
			if in != nil {
				in.RunningTasks += b2i(isRun) - b2i(wasRun)
				in.PendingTasks += b2i(np == phasePending) - b2i(op == phasePending)
				if release {
					in.Used = in.Used.minus(rec.Reserved)
				}
				in.Version++
				if err := putDoc(tx, kindInstance, sc, instanceKey(in.Cluster, in.ID), in, now); err != nil {
					return err
				}
			}
		}
	}

	if rec.HostID != "" {
		key := hostTaskKey(rec.HostID, sc, rec.Cluster, rec.ID)
		switch {
		case !active(op) && active(np):
			ix := hostTaskIndex{Account: sc.account, Region: sc.region, Cluster: rec.Cluster, TaskID: rec.ID}
			if err := putDoc(tx, kindHostTask, global, key, ix, now); err != nil {
				return err
			}
		case active(op) && !active(np):
			if err := deleteDoc(tx, kindHostTask, global, key); err != nil {
				return err
			}
		}
	}
	return putDoc(tx, kindTask, sc, taskKey(rec.Cluster, rec.ID), rec, now)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (r resources) plus(o resources) resources {
	return resources{
		CPU:      r.CPU + o.CPU,
		Memory:   r.Memory + o.Memory,
		Ports:    unionPorts(r.Ports, o.Ports),
		PortsUDP: unionPorts(r.PortsUDP, o.PortsUDP),
	}
}

func (r resources) minus(o resources) resources {
	return resources{
		CPU:      max(0, r.CPU-o.CPU),
		Memory:   max(0, r.Memory-o.Memory),
		Ports:    withoutPorts(r.Ports, o.Ports),
		PortsUDP: withoutPorts(r.PortsUDP, o.PortsUDP),
	}
}

func unionPorts(a, b []int32) []int32 {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

func withoutPorts(a, b []int32) []int32 {
	var out []int32
	for _, p := range a {
		if !slices.Contains(b, p) {
			out = append(out, p)
		}
	}
	return out
}
