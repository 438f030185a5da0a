package ecs

import (
	"context"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/store"
)

// PlacedTaskRole is the task role (an ARN, or a name as the task definition
// gave it) of the task of account and region with id taskID that is placed
// on a container instance and not yet STOPPED; "" when there is no such
// task or it has no role. STS asks it before vending a task role to a
// remote agent on the task's behalf, as ECS assumes the role for the tasks
// it runs, and for no others.
func (s *Service) PlacedTaskRole(ctx context.Context, account, region, taskID string) (string, error) {
	sc := scope{account: account, region: region}
	role := ""
	err := s.st.View(ctx, func(tx store.Tx) error {
		return listDocs(tx, kindCluster, sc, "", "", func(cluster string, _ *clusterRecord) (bool, error) {
			rec, err := getTask(tx, sc, cluster, taskID)
			if err != nil || rec == nil {
				return err == nil, err
			}
			if rec.HostID == "" || rec.Status.LastStatus == TaskStopped {
				return false, nil
			}
			var def *ecsapi.TaskDefinition
			if ref, ok := parseTaskDefRef(sc, rec.TaskDefinitionArn); ok {
				td, err := getDoc[taskDefRecord](tx, kindTaskDef, sc, taskDefKey(ref.family, ref.revision))
				if err != nil {
					return false, err
				}
				if td != nil {
					def = ptr(taskDefOutput(sc, td))
				}
			}
			role = assignedTask(sc, rec, def).TaskRoleArn
			return false, nil
		})
	})
	return role, err
}
