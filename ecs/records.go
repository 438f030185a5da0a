package ecs

import (
	"fmt"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/store"
)

// Record kinds in the store's resource area. Per-account records are keyed
// by (kind, account, region, id); global ones use the empty account and
// region, because an agent serves every account and region of its host.
const (
	kindCluster  = "ecs.cluster"  // id: cluster name
	kindTaskDef  = "ecs.taskdef"  // id: family#0000000001 (family, then revision, in order)
	kindFamily   = "ecs.tdfamily" // id: family; the revision counter survives deletions
	kindInstance = "ecs.instance" // id: cluster/instance id
	// Tasks are not here: they have a table of their own (taskstore.go).
	kindRunToken = "ecs.runtoken" // id: RunTask clientToken → the tasks it made

	// KindService is the kind the service scheduler keeps its services under
	// (id: cluster/service name), reserved here so that DeleteCluster and
	// the cluster statistics can find them.
	KindService = "ecs.service"

	kindHostTask = "ecs.hosttask" // global; id: host/account/region/cluster/task id, one per task not yet STOPPED
	kindScope    = "ecs.scope"    // global; id: account/region, every scope that ever had a cluster
	kindHost     = "ecs.host"     // global; id: "local"
)

// Statuses of clusters, task definitions and container instances.
const (
	statusActive           = "ACTIVE"
	statusInactive         = "INACTIVE"
	statusDraining         = "DRAINING"
	statusDeleteInProgress = "DELETE_IN_PROGRESS"
	defaultCluster         = "default"
)

// Launch types as task records keep them.
const (
	launchEC2      = "EC2"
	launchFargate  = "FARGATE"
	launchExternal = "EXTERNAL"
)

// clusterRecord is a cluster as stored.
type clusterRecord struct {
	Name                   string                                `json:"name"`
	Status                 string                                `json:"status"`
	CreatedAt              time.Time                             `json:"createdAt"`
	DeletedAt              time.Time                             `json:"deletedAt,omitzero"`
	Tags                   []ecsapi.Tag                          `json:"tags,omitempty"`
	Settings               []ecsapi.ClusterSetting               `json:"settings,omitempty"`
	Configuration          *ecsapi.ClusterConfiguration          `json:"configuration,omitempty"`
	CapacityProviders      []string                              `json:"capacityProviders,omitempty"`
	DefaultStrategy        []ecsapi.CapacityProviderStrategyItem `json:"defaultStrategy,omitempty"`
	ServiceConnectDefaults *ecsapi.ClusterServiceConnectDefaults `json:"serviceConnectDefaults,omitempty"`
	Stats                  clusterStats                          `json:"stats"`
}

// clusterStats are the counters DescribeClusters shows, kept up to date in
// the transaction of every change that moves them so that describing a
// cluster does not scan its tasks.
type clusterStats struct {
	Pending map[string]int `json:"pending,omitempty"` // by launch type: PROVISIONING, PENDING, ACTIVATING
	Running map[string]int `json:"running,omitempty"` // by launch type: RUNNING
	// Active counts tasks whose lastStatus is not STOPPED (what blocks
	// DeleteCluster).
	Active int `json:"active"`
	// Instances counts ACTIVE and DRAINING container instances, Remote those
	// of them that are not the local host.
	Instances int `json:"instances"`
	Remote    int `json:"remote"`
	// ActiveServices and DrainingServices are kept by the service scheduler,
	// by launch type.
	ActiveServices   map[string]int `json:"activeServices,omitempty"`
	DrainingServices map[string]int `json:"drainingServices,omitempty"`
}

func (c *clusterStats) add(m *map[string]int, key string, delta int) {
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[key] += delta
	if (*m)[key] <= 0 {
		delete(*m, key)
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// taskDefRecord is one revision of a task definition.
type taskDefRecord struct {
	// Input is the registration request, cpu and memory normalized to
	// integer strings and tags moved out. Keeping the request shape means
	// every field of the model survives, including ones Berth does not act
	// on yet.
	Input              ecsapi.RegisterTaskDefinitionInput `json:"input"`
	Revision           int                                `json:"revision"`
	Status             string                             `json:"status"`
	Tags               []ecsapi.Tag                       `json:"tags,omitempty"`
	Compatibilities    []ecsapi.Compatibility             `json:"compatibilities,omitempty"`
	RequiresAttributes []ecsapi.Attribute                 `json:"requiresAttributes,omitempty"`
	RegisteredAt       time.Time                          `json:"registeredAt"`
	RegisteredBy       string                             `json:"registeredBy,omitempty"`
	DeregisteredAt     time.Time                          `json:"deregisteredAt,omitzero"`
	DeleteRequestedAt  time.Time                          `json:"deleteRequestedAt,omitzero"`
}

func (r *taskDefRecord) family() string { return deref(r.Input.Family) }

func taskDefKey(family string, rev int) string { return fmt.Sprintf("%s#%010d", family, rev) }

// familyRecord counts the revisions of a family by status.
type familyRecord struct {
	Name         string `json:"name"`
	LastRevision int    `json:"lastRevision"`
	// LatestActive is the highest ACTIVE revision (0: none), what a bare
	// family name resolves to.
	LatestActive int `json:"latestActive"`
	Active       int `json:"active"`
	Inactive     int `json:"inactive"`
	Deleting     int `json:"deleting"`
}

func (f *familyRecord) count(status string, delta int) {
	switch status {
	case statusActive:
		f.Active += delta
	case statusInactive:
		f.Inactive += delta
	case statusDeleteInProgress:
		f.Deleting += delta
	}
}

// resources are amounts of a container instance: registered, or in use by
// the tasks placed on it.
type resources struct {
	CPU      int64   `json:"cpu"`
	Memory   int64   `json:"memory"`
	Ports    []int32 `json:"ports,omitempty"`
	PortsUDP []int32 `json:"portsUdp,omitempty"`
}

// instanceRecord is a container instance as stored.
type instanceRecord struct {
	ID                   string             `json:"id"`
	Cluster              string             `json:"cluster"`
	HostID               string             `json:"hostId"`
	Local                bool               `json:"local,omitempty"`
	Status               string             `json:"status"`
	StatusReason         string             `json:"statusReason,omitempty"`
	AgentConnected       bool               `json:"agentConnected"`
	CapacityProviderName string             `json:"capacityProviderName,omitempty"`
	Registered           resources          `json:"registered"`
	Used                 resources          `json:"used"`
	Attributes           []ecsapi.Attribute `json:"attributes,omitempty"`
	VersionInfo          ecsapi.VersionInfo `json:"versionInfo"`
	RegisteredAt         time.Time          `json:"registeredAt"`
	Tags                 []ecsapi.Tag       `json:"tags,omitempty"`
	Version              int64              `json:"version"`
	RunningTasks         int                `json:"runningTasks"`
	PendingTasks         int                `json:"pendingTasks"`
}

func instanceKey(cluster, id string) string { return cluster + "/" + id }

// containerRecord is the fixed part of a task's container.
type containerRecord struct {
	Name              string   `json:"name"`
	UUID              string   `json:"uuid"`
	Image             string   `json:"image"`
	CPU               int32    `json:"cpu"`
	Memory            *int32   `json:"memory,omitempty"`
	MemoryReservation *int32   `json:"memoryReservation,omitempty"`
	GPUIDs            []string `json:"gpuIds,omitempty"`
}

// taskRecord is a task as stored: its spec (written by API calls) and its
// Status (written only through UpdateTaskState).
type taskRecord struct {
	ID                   string                      `json:"id"`
	Cluster              string                      `json:"cluster"`
	TaskDefinitionArn    string                      `json:"taskDefinitionArn"`
	Family               string                      `json:"family"`
	InstanceID           string                      `json:"instanceId,omitempty"`
	HostID               string                      `json:"hostId,omitempty"`
	LaunchType           string                      `json:"launchType"`
	CapacityProviderName string                      `json:"capacityProviderName,omitempty"`
	PlatformVersion      string                      `json:"platformVersion,omitempty"`
	PlatformFamily       string                      `json:"platformFamily,omitempty"`
	CPU                  string                      `json:"cpu,omitempty"`
	Memory               string                      `json:"memory,omitempty"`
	Overrides            ecsapi.TaskOverride         `json:"overrides"`
	StartedBy            string                      `json:"startedBy,omitempty"`
	Group                string                      `json:"group,omitempty"`
	Tags                 []ecsapi.Tag                `json:"tags,omitempty"`
	EnableExecuteCommand bool                        `json:"enableExecuteCommand,omitempty"`
	NetworkMode          string                      `json:"networkMode,omitempty"`
	Awsvpc               *ecsapi.AwsVpcConfiguration `json:"awsvpc,omitempty"`
	AttachmentID         string                      `json:"attachmentId,omitempty"`
	ENIID                string                      `json:"eniId,omitempty"`
	AvailabilityZone     string                      `json:"availabilityZone,omitempty"`
	EphemeralStorage     *ecsapi.EphemeralStorage    `json:"ephemeralStorage,omitempty"`
	CPUArchitecture      string                      `json:"cpuArchitecture,omitempty"`
	CreatedAt            time.Time                   `json:"createdAt"`
	DesiredStatus        string                      `json:"desiredStatus"`
	StoppingAt           time.Time                   `json:"stoppingAt,omitzero"`
	// StopCode and StoppedReason are the user's (StopTask); the agent's own
	// (an essential container exited ...) are in Status and only show when
	// the user gave none.
	StopCode      string            `json:"stopCode,omitempty"`
	StoppedReason string            `json:"stoppedReason,omitempty"`
	Version       int64             `json:"version"`
	Reserved      resources         `json:"reserved"`
	Containers    []containerRecord `json:"containers"`
	Status        TaskStatus        `json:"status"`
	// DiscoveryNames are the Cloud Map DNS names ("<service>.<namespace>")
	// of the service registries the task was started under.
	DiscoveryNames []string `json:"discoveryNames,omitempty"`
}

func taskKey(cluster, id string) string { return cluster + "/" + id }

// hostTaskIndex points from a host to a task it must run or watch. It exists
// from the task's creation until its lastStatus is STOPPED, so an agent finds
// its work without knowing accounts, regions or clusters.
type hostTaskIndex struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Cluster string `json:"cluster"`
	TaskID  string `json:"taskId"`
}

func hostTaskKey(host string, sc scope, cluster, id string) string {
	return host + "/" + sc.account + "/" + sc.region + "/" + cluster + "/" + id
}

// getDoc, putDoc, deleteDoc and listDocs are the store's document helpers
// bound to a scope: see store.GetDoc and the others.
func getDoc[T any](tx store.Tx, kind string, sc scope, id string) (*T, error) {
	return store.GetDoc[T](tx, kind, sc.account, sc.region, id)
}

func putDoc(tx store.Tx, kind string, sc scope, id string, v any, now time.Time) error {
	return store.PutDoc(tx, kind, sc.account, sc.region, id, v, now)
}

func deleteDoc(tx store.Tx, kind string, sc scope, id string) error {
	return store.DeleteDoc(tx, kind, sc.account, sc.region, id)
}

func listDocs[T any](tx store.Tx, kind string, sc scope, prefix, after string, fn func(id string, v *T) (bool, error)) error {
	return store.ListDocs(tx, kind, sc.account, sc.region, prefix, after, fn)
}

// global is the scope of records that belong to no account.
var global = scope{}

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

func ptr[T any](v T) *T { return &v }
