// Package appautoscaling is Berth's Application Auto Scaling for ECS
// services: the application-autoscaling API (api/applicationautoscaling's
// generated Service) over the store's resource area, and the controller
// that really scales ECS services from their tasks' measured utilization
// and from scheduled actions.
//
// A scalable target, a scaling policy, a scheduled action and a scaling
// activity are one resource each, keyed under the target's key
// "<namespace>|<dimension>|<resource id>", so that a target's children
// are one prefix scan. An index resource outside any account lists every
// target so that the controller finds them without knowing the accounts.
//
// Only the ecs namespace is served: Berth has no other scalable resource,
// so other namespaces get a ValidationException saying so. Scaling happens
// through the ECS API's UpdateService, as Application Auto Scaling does on
// AWS, so deployments, placement and service events stay ECS's business.
//
// Every operation acts in the caller's account and region
// (awsapi.IdentityFrom); one store transaction backs each call.
package appautoscaling

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	aasapi "github.com/berth-dev/berth/api/applicationautoscaling"
	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/store"
)

// Resource kinds in the store's resource area.
const (
	KindTarget    = "appautoscaling/target"
	KindPolicy    = "appautoscaling/policy"
	KindScheduled = "appautoscaling/scheduled"
	KindActivity  = "appautoscaling/activity"
	// KindIndex, stored under no account or region, names every target as
	// "<account>|<region>|<target key>" for the controller.
	KindIndex = "appautoscaling/index"
)

// ECS is what scaling needs of the ECS control plane; *ecs.Service is one.
type ECS interface {
	DescribeServices(ctx context.Context, in *ecsapi.DescribeServicesInput) (*ecsapi.DescribeServicesOutput, error)
	UpdateService(ctx context.Context, in *ecsapi.UpdateServiceInput) (*ecsapi.UpdateServiceOutput, error)
	ListTasks(ctx context.Context, in *ecsapi.ListTasksInput) (*ecsapi.ListTasksOutput, error)
	DescribeTasks(ctx context.Context, in *ecsapi.DescribeTasksInput) (*ecsapi.DescribeTasksOutput, error)
}

// Options configure a Service.
type Options struct {
	Store store.Store
	ECS   ECS
	// Stats samples a task container's statistics; nil leaves target
	// tracking policies without data (they then never scale).
	Stats runtime.StatsReader
	Log   *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service implements the Application Auto Scaling API.
type Service struct {
	aasapi.UnimplementedService

	st    store.Store
	ecs   ECS
	stats runtime.StatsReader
	log   *slog.Logger
	now   func() time.Time

	// mu guards lowStreak: how many consecutive evaluations each target
	// tracking policy (by store id) has seen its metric below target,
	// which makes scale-in gradual. Losing it on restart only delays a
	// scale-in.
	mu            sync.Mutex
	lowStreak     map[string]int
	lastNotScaled map[string]string
	// evalMu serializes target evaluations, the loop's and those a
	// RegisterScalableTarget call makes.
	evalMu sync.Mutex
	// cwMu guards cw, CloudWatch's alarms for target tracking policies
	// (nil: none are created; tracking_alarms.go).
	cwMu sync.Mutex
	cw   Alarms
}

var _ aasapi.Service = (*Service)(nil)

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("appautoscaling: Store is required")
	}
	if o.ECS == nil {
		return nil, errors.New("appautoscaling: ECS is required")
	}
	s := &Service{st: o.Store, ecs: o.ECS, stats: o.Stats, log: o.Log, now: o.Now,
		lowStreak: map[string]int{}, lastNotScaled: map[string]string{}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// caller is the account and region a request acts in.
type caller struct {
	Account string
	Region  string
}

func callerOf(ctx context.Context) caller {
	id := awsapi.IdentityFrom(ctx)
	return caller{Account: id.AccountID, Region: id.Region}
}

// ctx is a context acting as the caller, for the controller's ECS calls.
func (c caller) ctx(parent context.Context) context.Context {
	return awsapi.WithIdentity(parent, awsapi.Identity{AccountID: c.Account, Region: c.Region})
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

func newUUID() string {
	h := randomHex(32)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// targetKey is the store id of a target and the prefix of its children.
func targetKey(namespace, dimension, resourceID string) string {
	return namespace + "|" + dimension + "|" + resourceID
}

// ecsResource splits "service/<cluster>/<service>".
func ecsResource(resourceID string) (cluster, service string, ok bool) {
	parts := strings.Split(resourceID, "/")
	if len(parts) != 3 || parts[0] != "service" || parts[1] == "" || parts[2] == "" {
		return "", "", false
	}
	return parts[1], parts[2], true
}

// checkECSTarget validates a namespace/dimension/resource triple the way
// every operation naming a target does.
func checkECSTarget(namespace aasapi.ServiceNamespace, dimension *aasapi.ScalableDimension, resourceID string) error {
	if namespace != aasapi.ServiceNamespaceEcs {
		return checkOtherTarget(namespace, dimension, resourceID)
	}
	if dimension != nil && *dimension != aasapi.ScalableDimensionEcsServiceDesiredCount {
		return aasapi.NewValidationException("Unsupported scalable dimension '%s' for service namespace 'ecs'; the only one is ecs:service:DesiredCount.", *dimension)
	}
	if resourceID != "" {
		if _, _, ok := ecsResource(resourceID); !ok {
			return aasapi.NewValidationException("Unsupported resource ID '%s': an ECS service's resource ID is service/<cluster name>/<service name>.", resourceID)
		}
	}
	return nil
}

func notRegistered(namespace, resourceID, dimension string) error {
	return aasapi.NewObjectNotFoundException("No scalable target registered for service namespace: %s, resource ID: %s, scalable dimension: %s", namespace, resourceID, dimension)
}

// internal logs err's cause and returns the generic failure clients see.
func (s *Service) internal(err error) error {
	if e := awsapi.AsError(err); e != nil {
		return e
	}
	s.log.Error("application autoscaling", "err", err)
	return awsapi.InternalError(err)
}
