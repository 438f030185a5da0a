package store

import (
	"encoding/json"
	"time"
)

// ECSTask is an ECS task record: the service's JSON document, plus the
// fields ListTasks filters on, kept as indexed columns so that a listing
// never decodes documents it does not return. A cluster keeps thousands of
// tasks (stopped ones stay visible for an hour), and the service controller
// lists a service's tasks on every pass.
type ECSTask struct {
	Account       string
	Region        string
	Cluster       string
	ID            string
	Family        string
	StartedBy     string
	Group         string // "service:<name>" for service tasks
	DesiredStatus string
	Instance      string // container instance id, empty for Fargate
	LaunchType    string
	Doc           json.RawMessage
	UpdatedAt     time.Time
}

// ECSTaskFilter selects tasks of a listing; empty fields match anything.
type ECSTaskFilter struct {
	Family        string
	StartedBy     string
	Group         string
	DesiredStatus string
	Instance      string
	LaunchType    string
}

// ECSTaskTx reads and writes ECS task records.
type ECSTaskTx interface {
	GetECSTask(account, region, cluster, id string) (ECSTask, error)
	// GetECSTasks returns the tasks of ids that exist, in no set order.
	GetECSTasks(account, region, cluster string, ids []string) ([]ECSTask, error)
	// PutECSTask inserts or replaces a task.
	PutECSTask(t ECSTask) error
	DeleteECSTask(account, region, cluster, id string) error
	// ListECSTasks returns the matching tasks of a cluster (every cluster
	// of the account and region when cluster is empty) in (cluster, id)
	// order after page.After, which is an id within a cluster and a
	// "cluster/id" key across clusters. Without docs, Doc is left nil.
	ListECSTasks(account, region, cluster string, f ECSTaskFilter, page Page, docs bool) ([]ECSTask, error)
}
