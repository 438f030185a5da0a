package ecs

import (
	"context"
	"time"

	"github.com/berth-dev/berth/store"
)

// Run runs the service controller (services_controller.go) and purges what
// AWS forgets, every SweepInterval until ctx ends: STOPPED tasks once
// TaskRetention has passed, clusters deleted as long ago, and
// DELETE_IN_PROGRESS task definition revisions that no task still uses,
// and RunTask client tokens as old as the retention.
func (s *Service) Run(ctx context.Context) {
	go s.runServices(ctx)
	go s.watchAgents(ctx)
	t := time.NewTicker(s.sweepEach)
	defer t.Stop()
	for {
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("ecs: sweeping expired records", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep runs one purge over every account and region that has ECS records.
func (s *Service) Sweep(ctx context.Context) error {
	scopes, err := s.allScopes(ctx)
	if err != nil {
		return err
	}
	for _, sc := range scopes {
		if err := s.sweepScope(ctx, sc); err != nil {
			return err
		}
	}
	return nil
}

// sweepScope purges one scope in one transaction.
func (s *Service) sweepScope(ctx context.Context, sc scope) error {
	cutoff := s.clock().Add(-s.retention)
	return s.st.Update(ctx, func(tx store.Tx) error {
		var expired []*taskRecord
		inUse := map[string]bool{} // task definition ARNs of tasks not STOPPED
		err := listTasks(tx, sc, "", store.ECSTaskFilter{}, "", func(t *taskRecord) (bool, error) {
			if t.Status.LastStatus == TaskStopped {
				if !t.Status.StoppedAt.IsZero() && t.Status.StoppedAt.Before(cutoff) {
					expired = append(expired, t)
				}
			} else {
				inUse[t.TaskDefinitionArn] = true
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, t := range expired {
			if err := deleteTask(tx, sc, t.Cluster, t.ID); err != nil {
				return err
			}
		}

		var gone []*taskDefRecord
		err = listDocs(tx, kindTaskDef, sc, "", "", func(_ string, r *taskDefRecord) (bool, error) {
			if r.Status == statusDeleteInProgress && !inUse[sc.taskDefARN(r.family(), r.Revision)] {
				gone = append(gone, r)
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		now := s.clock()
		for _, r := range gone {
			f, err := getDoc[familyRecord](tx, kindFamily, sc, r.family())
			if err != nil {
				return err
			}
			if f != nil {
				// The family record stays, so that revisions keep counting
				// up after every revision is gone, as on AWS.
				f.count(statusDeleteInProgress, -1)
				if err := putDoc(tx, kindFamily, sc, f.Name, f, now); err != nil {
					return err
				}
			}
			if err := deleteDoc(tx, kindTaskDef, sc, taskDefKey(r.family(), r.Revision)); err != nil {
				return err
			}
		}

		var tokens []string
		err = listDocs(tx, kindRunToken, sc, "", "", func(key string, t *runToken) (bool, error) {
			if t.CreatedAt.Before(cutoff) {
				tokens = append(tokens, key)
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, key := range tokens {
			if err := deleteDoc(tx, kindRunToken, sc, key); err != nil {
				return err
			}
		}

		var deleted []string
		err = listDocs(tx, kindCluster, sc, "", "", func(name string, c *clusterRecord) (bool, error) {
			if c.Status == statusInactive && c.DeletedAt.Before(cutoff) {
				deleted = append(deleted, name)
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, name := range deleted {
			if err := deleteDoc(tx, kindCluster, sc, name); err != nil {
				return err
			}
			err := listDocs(tx, kindInstance, sc, name+"/", "", func(key string, in *instanceRecord) (bool, error) {
				return true, deleteDoc(tx, kindInstance, sc, key)
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}
