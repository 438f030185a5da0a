package ecs

import (
	"context"
	"strings"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/store"
)

// Task scale-in protection. A protected task of a service is not stopped
// when the service scales in or a deployment replaces it: the service
// controller (replica in services_controller.go) passes over it and stops
// an unprotected one instead, or none, until the protection is removed or
// expires. Protection lives in its own record, apart from the task, so that
// setting it never races the agent's status reports on the task record.

// kindProtection keeps a task's protection; id: cluster/task id. A record
// whose ExpiresAt has passed means no protection (the controller removes
// it).
const kindProtection = "ecs.taskprotection"

// Protection periods, in minutes (AWS: 2 hours by default, 1 minute to
// 48 hours).
const (
	protectionDefaultMinutes = 120
	protectionMaxMinutes     = 2880
)

type protectionRecord struct {
	ExpiresAt time.Time `json:"expiresAt"`
}

// protectionTarget resolves one task reference of a protection request:
// the task, or the failure to report for it.
func protectionTarget(tx store.Tx, sc scope, c *clusterRecord, ref string) (*taskRecord, *ecsapi.Failure, error) {
	cluster, id, ok := idRef(sc, "task", c.Name, ref)
	arn := ref
	if ok && !strings.HasPrefix(ref, "arn:") {
		arn = sc.taskARN(c.Name, id)
	}
	if !ok || cluster != c.Name {
		return nil, &ecsapi.Failure{Arn: ptr(arn), Reason: ptr("MISSING")}, nil
	}
	rec, err := getTask(tx, sc, c.Name, id)
	if err != nil {
		return nil, nil, err
	}
	if rec == nil {
		return nil, &ecsapi.Failure{Arn: ptr(arn), Reason: ptr("MISSING")}, nil
	}
	if !strings.HasPrefix(rec.Group, "service:") {
		return nil, &ecsapi.Failure{Arn: ptr(sc.taskARN(c.Name, id)), Reason: ptr("TASK_NOT_VALID"),
			Detail: ptr("The task is not part of a service: task scale-in protection applies only to tasks of a service.")}, nil
	}
	return rec, nil, nil
}

// protectTasks resolves the task references of a protection request in the
// named cluster and reports each resolved task with the protection protect
// returns for it (nil: none), given the key of its protection record.
func protectTasks(tx store.Tx, sc scope, cluster string, refs []string, now time.Time, protect func(key string) (*protectionRecord, error)) ([]ecsapi.ProtectedTask, []ecsapi.Failure, error) {
	c, err := lookupCluster(tx, sc, cluster)
	if err != nil {
		return nil, nil, err
	}
	tasks, failures := []ecsapi.ProtectedTask{}, []ecsapi.Failure{}
	for _, ref := range refs {
		rec, fail, err := protectionTarget(tx, sc, c, ref)
		if err != nil {
			return nil, nil, err
		}
		if fail != nil {
			failures = append(failures, *fail)
			continue
		}
		p, err := protect(taskKey(c.Name, rec.ID))
		if err != nil {
			return nil, nil, err
		}
		tasks = append(tasks, protectedTask(sc, rec, p, now))
	}
	return tasks, failures, nil
}

func protectedTask(sc scope, rec *taskRecord, p *protectionRecord, now time.Time) ecsapi.ProtectedTask {
	out := ecsapi.ProtectedTask{TaskArn: ptr(sc.taskARN(rec.Cluster, rec.ID)), ProtectionEnabled: ptr(false)}
	if p != nil && p.ExpiresAt.After(now) {
		out.ProtectionEnabled = ptr(true)
		out.ExpirationDate = timestamp(p.ExpiresAt)
	}
	return out
}

// UpdateTaskProtection sets or removes the scale-in protection of up to 10
// tasks of services. Setting it again restarts the period.
func (s *Service) UpdateTaskProtection(ctx context.Context, in *ecsapi.UpdateTaskProtectionInput) (*ecsapi.UpdateTaskProtectionOutput, error) {
	sc := scopeOf(ctx)
	switch {
	case len(in.Tasks) == 0 || len(in.Tasks) > 10:
		return nil, ecsapi.NewInvalidParameterException("tasks must have between 1 and 10 items.")
	case in.ProtectionEnabled == nil:
		return nil, ecsapi.NewInvalidParameterException("protectionEnabled must be specified.")
	}
	minutes := int32(protectionDefaultMinutes)
	if in.ExpiresInMinutes != nil {
		minutes = *in.ExpiresInMinutes
		if minutes < 1 || minutes > protectionMaxMinutes {
			return nil, ecsapi.NewInvalidParameterException("expiresInMinutes must be between 1 and %d.", protectionMaxMinutes)
		}
	}
	enable := *in.ProtectionEnabled
	out := &ecsapi.UpdateTaskProtectionOutput{}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		now := s.clock()
		var err error
		out.ProtectedTasks, out.Failures, err = protectTasks(tx, sc, deref(in.Cluster), in.Tasks, now, func(key string) (*protectionRecord, error) {
			if !enable {
				return nil, deleteDoc(tx, kindProtection, sc, key)
			}
			p := &protectionRecord{ExpiresAt: now.Add(time.Duration(minutes) * time.Minute)}
			return p, putDoc(tx, kindProtection, sc, key, p, now)
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	// A protection removed may let a waiting scale-in or deployment go on.
	s.kickServices()
	return out, nil
}

// GetTaskProtection returns the scale-in protection of up to 100 tasks.
func (s *Service) GetTaskProtection(ctx context.Context, in *ecsapi.GetTaskProtectionInput) (*ecsapi.GetTaskProtectionOutput, error) {
	sc := scopeOf(ctx)
	if len(in.Tasks) > 100 {
		return nil, ecsapi.NewInvalidParameterException("tasks can have at most 100 items.")
	}
	out := &ecsapi.GetTaskProtectionOutput{}
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		out.ProtectedTasks, out.Failures, err = protectTasks(tx, sc, deref(in.Cluster), in.Tasks, s.clock(), func(key string) (*protectionRecord, error) {
			return getDoc[protectionRecord](tx, kindProtection, sc, key)
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// protectedTasks returns the ids of the cluster's tasks whose protection
// has not expired, and removes the records of expired protections.
func protectedTasks(tx store.Tx, sc scope, cluster string, now time.Time) (map[string]bool, error) {
	out := map[string]bool{}
	var expired []string
	err := listDocs(tx, kindProtection, sc, cluster+"/", "", func(key string, p *protectionRecord) (bool, error) {
		if p.ExpiresAt.After(now) {
			out[strings.TrimPrefix(key, cluster+"/")] = true
		} else {
			expired = append(expired, key)
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	for _, key := range expired {
		if err := deleteDoc(tx, kindProtection, sc, key); err != nil {
			return nil, err
		}
	}
	return out, nil
}
