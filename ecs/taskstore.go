package ecs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

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
	return putTask(tx, sc, rec, now)
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

// Task records live in the store's ECS task table (store.ECSTaskTx), not in
// the generic resource area: ListTasks and the service controller filter
// on indexed columns instead of decoding every record of a cluster. Read
// and write them only through these functions, which keep the columns in
// step with the document.

// getTask reads a task; nil and no error when there is none.
func getTask(tx store.Tx, sc scope, cluster, id string) (*taskRecord, error) {
	r, err := tx.GetECSTask(sc.account, sc.region, cluster, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeTask(r)
}

// describeTasks reads the tasks of ids in one cluster for a read-only
// answer, keyed by id; missing ones are absent. The records may be shared
// through the read cache: callers must not modify them.
func (s *Service) describeTasks(tx store.Tx, sc scope, cluster string, ids []string) (map[string]*taskRecord, error) {
	rs, err := tx.GetECSTasks(sc.account, sc.region, cluster, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*taskRecord, len(rs))
	for _, r := range rs {
		rec, err := s.reads.decode(sc, r)
		if err != nil {
			return nil, err
		}
		out[r.ID] = rec
	}
	return out, nil
}

func decodeTask(r store.ECSTask) (*taskRecord, error) {
	rec := new(taskRecord)
	if err := json.Unmarshal(r.Doc, rec); err != nil {
		return nil, fmt.Errorf("ecs: decoding task %s/%s: %w", r.Cluster, r.ID, err)
	}
	return rec, nil
}

// putTask writes rec as it is; saveTask is the writer for changes of
// status, which also keeps the counters that depend on it.
func putTask(tx store.Tx, sc scope, rec *taskRecord, now time.Time) error {
	doc, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("ecs: encoding task %s/%s: %w", rec.Cluster, rec.ID, err)
	}
	return tx.PutECSTask(store.ECSTask{
		Account: sc.account, Region: sc.region, Cluster: rec.Cluster, ID: rec.ID,
		Family: rec.Family, StartedBy: rec.StartedBy, Group: rec.Group, DesiredStatus: rec.DesiredStatus,
		Instance: rec.InstanceID, LaunchType: rec.LaunchType, Doc: doc, UpdatedAt: now,
	})
}

// deleteTask removes a task; a missing one is not an error.
func deleteTask(tx store.Tx, sc scope, cluster, id string) error {
	err := tx.DeleteECSTask(sc.account, sc.region, cluster, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// listTasks calls fn for the tasks of cluster (every cluster when empty)
// that match f, in id order after after, until fn returns false.
func listTasks(tx store.Tx, sc scope, cluster string, f store.ECSTaskFilter, after string, fn func(*taskRecord) (bool, error)) error {
	batch := 64
	for {
		rs, err := tx.ListECSTasks(sc.account, sc.region, cluster, f, store.Page{After: after, Limit: batch}, true)
		if err != nil {
			return err
		}
		for _, r := range rs {
			rec, err := decodeTask(r)
			if err != nil {
				return err
			}
			if more, err := fn(rec); err != nil || !more {
				return err
			}
		}
		if len(rs) < batch {
			return nil
		}
		after = rs[len(rs)-1].ID
		if cluster == "" {
			after = taskKey(rs[len(rs)-1].Cluster, after)
		}
		batch = min(batch*2, 1024)
	}
}

// readCache keeps decoded task records for the read-only paths
// (DescribeTasks), where decoding the JSON documents is most of the cost of
// a call. An entry is used only while the stored document is byte for byte
// the one it was decoded from, so a write never leaves it stale; the store
// still answers every read. Records from it are shared and never modified.
type readCache struct {
	mu sync.Mutex
	m  map[string]cachedTask
}

type cachedTask struct {
	doc []byte
	rec *taskRecord
}

// readCacheSize bounds the cache; when full it starts over, which costs one
// decode per task and needs no bookkeeping on the hot path.
const readCacheSize = 20000

func (c *readCache) decode(sc scope, r store.ECSTask) (*taskRecord, error) {
	key := sc.account + "/" + sc.region + "/" + r.Cluster + "/" + r.ID
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && bytes.Equal(e.doc, r.Doc) {
		return e.rec, nil
	}
	rec, err := decodeTask(r)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= readCacheSize {
		c.m = make(map[string]cachedTask)
	}
	c.m[key] = cachedTask{doc: slices.Clone(r.Doc), rec: rec}
	c.mu.Unlock()
	return rec, nil
}
