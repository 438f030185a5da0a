package agent

import (
	"strconv"
	"strings"

	"github.com/berth-dev/berth/ecs"
)

// Labels on every container, sandbox and volume the agent creates. The first
// four are the ones the Amazon ECS container agent puts on its containers, so
// tools that read them (log routers, `docker ps --filter`) work the same.
// LabelHost keeps the agents of several Berths that share one engine apart:
// an agent only ever lists, adopts or removes what carries its own host id.
const (
	LabelTaskARN       = "com.amazonaws.ecs.task-arn"
	LabelContainerName = "com.amazonaws.ecs.container-name"
	LabelCluster       = "com.amazonaws.ecs.cluster"
	LabelFamily        = "com.amazonaws.ecs.task-definition-family"
	LabelRevision      = "com.amazonaws.ecs.task-definition-version"
	LabelHost          = "berth.agent.host"
	// LabelVolume names the task definition volume a task-scoped volume
	// was made for.
	LabelVolume = "berth.agent.volume"
)

// taskID is the last part of a task ARN
// (arn:aws:ecs:region:account:task/cluster/id).
func taskID(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// clusterName is the cluster part of a cluster ARN.
func clusterName(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// engineName keeps a name part within what engines accept
// ([a-zA-Z0-9][a-zA-Z0-9_.-]*) and short enough for the whole name.
func engineName(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
		if b.Len() >= max {
			break
		}
	}
	return b.String()
}

// containerName is the engine name of one container of a task, in the
// shape the ECS agent uses (ecs-<family>-<revision>-<container>-<id>),
// with the task id making it unique: creating it again after a crash finds
// the one made before.
func containerName(t *ecs.AssignedTask, name string) string {
	return "ecs-" + engineName(family(t), 64) + "-" + strconv.Itoa(int(revision(t))) + "-" +
		engineName(name, 64) + "-" + taskID(t.TaskARN)
}

// sandboxName is the engine name of a task's sandbox (awsvpc only).
func sandboxName(t *ecs.AssignedTask) string {
	return "ecs-" + engineName(family(t), 64) + "-" + strconv.Itoa(int(revision(t))) + "-" + taskID(t.TaskARN) + "-pause"
}

// taskVolumeName is the engine name of a task-scoped volume.
func taskVolumeName(t *ecs.AssignedTask, volume string) string {
	return "ecs-" + taskID(t.TaskARN) + "-" + engineName(volume, 64)
}

func family(t *ecs.AssignedTask) string { return deref(t.Definition.Family) }

func revision(t *ecs.AssignedTask) int32 { return deref(t.Definition.Revision) }

// taskLabels are the labels every object of a task carries.
func (a *Agent) taskLabels(t *ecs.AssignedTask) map[string]string {
	return map[string]string{
		LabelTaskARN:  t.TaskARN,
		LabelCluster:  t.ClusterARN,
		LabelFamily:   family(t),
		LabelRevision: strconv.Itoa(int(revision(t))),
		LabelHost:     a.host,
	}
}

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

func ptr[T any](v T) *T { return &v }
