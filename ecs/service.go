// Package ecs is Berth's Amazon ECS control plane: clusters, task
// definitions, container instances and task records, served through the
// generated api/ecs Service, plus the narrow interface (agent.go) through
// which a task agent learns what to run and reports what it observed.
//
// The control plane never starts a container. RunTask writes a task record
// with desiredStatus RUNNING and lastStatus PROVISIONING, assigned to a host;
// the agent of that host (in process for the local machine, or a remote
// Berth agent that registered as a container instance) reads it with
// ListTasksToReconcile and reports progress with UpdateTaskState. Desired
// state (spec) is written by API calls, observed state (status) only by the
// agent, in the Kubernetes controller style.
//
// Every operation acts in the caller's account and region
// (awsapi.IdentityFrom). State lives in the store's generic resource area,
// one JSON document per cluster, task definition revision and container
// instance, and in the store's ECS task table, one document per task with
// the fields ListTasks filters on as indexed columns; every API write is
// one store transaction.
package ecs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// Options configure a Service.
type Options struct {
	// Store keeps every ECS record (required).
	Store store.Store
	// Local describes the machine Berth runs on. It registers as the first
	// container instance of every cluster and runs the Fargate tasks. When
	// nil, DetectLocalHost() is used.
	Local *HostInfo
	// NoLocalInstance keeps the local machine from registering itself as a
	// container instance of new clusters (Fargate tasks still run on it).
	NoLocalInstance bool
	// TaskRetention is how long STOPPED tasks stay visible; AWS keeps them
	// at least an hour. Zero means one hour.
	TaskRetention time.Duration
	// SweepInterval is how often Run purges expired records; zero means a
	// minute.
	SweepInterval time.Duration
	// AgentTimeout is how long a remote agent may stay silent before its
	// container instance shows agentConnected false; zero means 30 seconds.
	AgentTimeout time.Duration
	// Notifier is told after a commit that changed what a host must run;
	// SetNotifier can set it later.
	Notifier Notifier
	// Log receives what background work has to say.
	Log *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service implements the ECS API. Operations it does not override answer
// NotImplemented.
type Service struct {
	ecsapi.UnimplementedService

	st        store.Store
	local     HostInfo
	localInst bool
	retention time.Duration
	sweepEach time.Duration
	log       *slog.Logger
	now       func() time.Time

	notifier notifierBox
	reads    readCache   // decoded task records for DescribeTasks (taskstore.go)
	services serviceLoop // the service controller (services_controller.go)
	network  networkBox  // EC2 checks of awsvpc ids (network_validate.go)
	express  expressBox  // Express services (express.go, ecs/express)
	registry registryBox // Cloud Map (service_registries.go)

	heartbeats heartbeats // remote agents' last calls (heartbeat.go)
}

var _ ecsapi.Service = (*Service)(nil)

// New returns a Service. It records the local host's identity in the store
// so that the host keeps its id (and so its tasks) across restarts.
func New(ctx context.Context, o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("ecs: Store is required")
	}
	s := &Service{
		st:         o.Store,
		localInst:  !o.NoLocalInstance,
		retention:  o.TaskRetention,
		sweepEach:  o.SweepInterval,
		heartbeats: heartbeats{timeout: o.AgentTimeout},
		log:        o.Log,
		now:        o.Now,
	}
	if s.retention <= 0 {
		s.retention = time.Hour
	}
	if s.sweepEach <= 0 {
		s.sweepEach = time.Minute
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if o.Local != nil {
		s.local = *o.Local
	} else {
		s.local = DetectLocalHost()
	}
	if err := s.loadLocalHostID(ctx); err != nil {
		return nil, err
	}
	s.notifier.set(o.Notifier)
	return s, nil
}

// SetNotifier replaces the notifier, e.g. once the task agent that needs the
// Service to be built exists.
func (s *Service) SetNotifier(n Notifier) { s.notifier.set(n) }

// LocalHostID is the host id of the machine Berth runs on: the id its agent
// passes to ListTasksToReconcile, and the ec2InstanceId its container
// instances show.
func (s *Service) LocalHostID() string { return s.local.ID }

// scope is where a request acts: the caller's account and region.
type scope struct {
	account string
	region  string
}

func scopeOf(ctx context.Context) scope {
	id := awsapi.IdentityFrom(ctx)
	return scope{account: id.AccountID, region: id.Region}
}

func (s *Service) clock() time.Time { return s.now().UTC() }
