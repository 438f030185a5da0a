package ecs

import (
	"slices"

	ecsapi "github.com/berth-dev/berth/api/ecs"
)

// The task set half of the service controller. For a service of the
// EXTERNAL or CODE_DEPLOY controller each pass keeps every task set at its
// computedDesiredCount (0 once DRAINING or the service is deleted): it
// starts the missing tasks, stops the surplus (unhealthy ones first, then
// the newest, each deregistered and drained first), and forgets a DRAINING
// task set once none of its tasks is left. Who serves traffic is decided
// outside: by the listener's target groups and UpdateServicePrimaryTaskSet.

// taskSets runs one step for each task set.
func (p *servicePass) taskSets() error {
	r := p.r
	r.rescaleTaskSets(p.now)
	for i := range r.TaskSets {
		ts := &r.TaskSets[i]
		var healthy, other []*svcTask
		for _, t := range p.tasks {
			if t.depID != ts.ID {
				continue
			}
			if t.healthy {
				healthy = append(healthy, t)
			} else {
				other = append(other, t)
			}
		}
		want := ts.ComputedDesired
		have := len(healthy) + len(other)
		if have > want {
			newestFirst := func(a, b *svcTask) int { return b.rec.CreatedAt.Compare(a.rec.CreatedAt) }
			slices.SortFunc(other, newestFirst)
			slices.SortFunc(healthy, newestFirst)
			reason := "Scaling activity initiated by (deployment " + ts.ID + ")"
			for _, t := range append(other, healthy...)[:have-want] {
				if err := p.stop(t, reason); err != nil {
					return err
				}
			}
			continue
		}
		if have < want {
			// start takes a deployment's launch parameters; a task set has
			// the same ones.
			d := &deploymentRecord{
				ID:              ts.ID,
				TaskDefinition:  ts.TaskDefinition,
				LaunchType:      ts.LaunchType,
				PlatformVersion: ts.PlatformVersion,
				Network:         ts.Network,
			}
			if err := p.start(d, want-have, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// settleTaskSets updates the counts and stability of the task sets and the
// service, drops drained task sets, and makes the service INACTIVE once a
// deleted service has no task left.
func (p *servicePass) settleTaskSets() error {
	r := p.r
	active, err := p.activeTasks() // task set id → tasks not yet STOPPED
	if err != nil {
		return err
	}
	healthy := map[string]int{}
	for _, t := range p.tasks {
		if t.healthy {
			healthy[t.depID]++
		}
	}
	draining := map[string]int{}
	for _, rec := range p.draining {
		draining[rec.StartedBy]++
	}
	steady := len(r.TaskSets) > 0
	r.RunningCount, r.PendingCount = 0, 0
	kept := r.TaskSets[:0]
	for _, ts := range r.TaskSets {
		if ts.Status == taskSetDraining && active[ts.ID] == 0 {
			continue
		}
		want := ts.ComputedDesired
		ok := ts.RunningCount == want && ts.PendingCount == 0 && healthy[ts.ID] == want &&
			draining[ts.ID] == 0 && active[ts.ID] == want
		state := string(ecsapi.StabilityStatusStabilizing)
		if ok {
			state = string(ecsapi.StabilityStatusSteadyState)
		}
		if ts.Stability != state {
			ts.Stability, ts.StabilityAt = state, p.now
			r.addEvent(p.now, "(service "+r.Name+", taskSet "+ts.ID+") updated state to "+state+".")
		}
		steady = steady && ok && ts.Status != taskSetDraining
		r.RunningCount += ts.RunningCount
		r.PendingCount += ts.PendingCount
		kept = append(kept, ts)
	}
	r.TaskSets = kept
	if r.Status == svcDraining {
		if len(active) == 0 {
			r.Status = svcInactive
			countService(p.c, r.LaunchType, svcDraining, "")
			return putDoc(p.tx, kindCluster, p.sc, p.c.Name, p.c, p.now)
		}
		return nil
	}
	if steady && !r.Steady {
		r.event(p.now, "has reached a steady state.")
	}
	r.Steady = steady
	return nil
}
