// Package codedeploy is Berth's AWS CodeDeploy for the Amazon ECS compute
// platform: applications, deployment groups, deployment configurations and
// blue/green deployments of ECS services, driven from an AppSpec as AWS
// does.
//
// The API (api/codedeploy's generated Service) keeps its records in the
// store's resource area, one transaction per call. Deployments are carried
// out by the engine (engine.go), a level-triggered loop that reads every
// unfinished deployment, observes ECS and Elastic Load Balancing, takes the
// next idempotent step and commits the deployment's new phase. It talks to
// ECS only through the public ECS API (api/ecs's Service methods) with the
// deployment's account and region in the context, as CodeDeploy does with
// its service role, and to load balancers through elb's Go API.
package codedeploy

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	cdapi "github.com/berth-dev/berth/api/codedeploy"
	ecsapi "github.com/berth-dev/berth/api/ecs"
	elbv2 "github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/elb"
	"github.com/berth-dev/berth/store"
)

// ECS is the part of the ECS API CodeDeploy calls; *ecs.Service has it.
type ECS interface {
	DescribeServices(ctx context.Context, in *ecsapi.DescribeServicesInput) (*ecsapi.DescribeServicesOutput, error)
	DescribeTaskSets(ctx context.Context, in *ecsapi.DescribeTaskSetsInput) (*ecsapi.DescribeTaskSetsOutput, error)
	CreateTaskSet(ctx context.Context, in *ecsapi.CreateTaskSetInput) (*ecsapi.CreateTaskSetOutput, error)
	UpdateServicePrimaryTaskSet(ctx context.Context, in *ecsapi.UpdateServicePrimaryTaskSetInput) (*ecsapi.UpdateServicePrimaryTaskSetOutput, error)
	DeleteTaskSet(ctx context.Context, in *ecsapi.DeleteTaskSetInput) (*ecsapi.DeleteTaskSetOutput, error)
	ListTasks(ctx context.Context, in *ecsapi.ListTasksInput) (*ecsapi.ListTasksOutput, error)
}

// LoadBalancer is the part of Elastic Load Balancing CodeDeploy uses;
// *elb.Service has it.
type LoadBalancer interface {
	DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput) (*elbv2.DescribeTargetGroupsOutput, error)
	TargetGroup(ctx context.Context, account, region, arn string) (elb.TargetGroupInfo, error)
	TargetHealth(ctx context.Context, account, region, arn string) ([]elb.TargetHealth, error)
	ForwardListener(ctx context.Context, account, region, listenerARN string, groups []elb.WeightedTargetGroup) error
}

// Options configure a Service.
type Options struct {
	Store        store.Store
	ECS          ECS
	LoadBalancer LoadBalancer
	Log          *slog.Logger
	// Minute is how long a CodeDeploy minute lasts: traffic shifting
	// intervals, wait times and timeouts are counted in it. Zero: a real
	// minute. Tests shorten it.
	Minute time.Duration
	// Interval is how often the engine looks at unfinished deployments
	// besides being woken by API calls (zero: 500 ms).
	Interval time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service implements the CodeDeploy API. Operations of the EC2/on-premises
// platform (instances, GitHub, S3 revisions) are left to
// UnimplementedService.
type Service struct {
	cdapi.UnimplementedService

	st       store.Store
	ecs      ECS
	lb       LoadBalancer
	log      *slog.Logger
	minute   time.Duration
	interval time.Duration
	now      func() time.Time
	kick     chan struct{}

	mu      sync.Mutex
	applied map[string]int // deployment id → green's production percent set by this process
}

var _ cdapi.Service = (*Service)(nil)

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("codedeploy: Store is required")
	}
	s := &Service{st: o.Store, ecs: o.ECS, lb: o.LoadBalancer, log: o.Log, minute: o.Minute, interval: o.Interval, now: o.Now,
		kick: make(chan struct{}, 1), applied: map[string]int{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.minute <= 0 {
		s.minute = time.Minute
	}
	if s.interval <= 0 {
		s.interval = 500 * time.Millisecond
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Run runs the deployment engine until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		if err := s.Reconcile(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("codedeploy: reconciling deployments", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-t.C:
		}
	}
}

// wake makes the engine look at deployments soon, without blocking.
func (s *Service) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func callerOf(ctx context.Context) scope {
	id := awsapi.IdentityFrom(ctx)
	return scope{id.AccountID, id.Region}
}

// ARNs, in CodeDeploy's formats.
func appARN(sc scope, name string) string {
	return "arn:aws:codedeploy:" + sc.region + ":" + sc.account + ":application:" + name
}

func groupARN(sc scope, app, group string) string {
	return "arn:aws:codedeploy:" + sc.region + ":" + sc.account + ":deploymentgroup:" + app + "/" + group
}

// parseARN splits a CodeDeploy ARN into its scope, resource type and name.
func parseARN(arn string) (sc scope, typ, name string, ok bool) {
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) != 7 || parts[0] != "arn" || parts[2] != "codedeploy" {
		return scope{}, "", "", false
	}
	return scope{parts[4], parts[3]}, parts[5], parts[6], true
}

// internal wraps store failures so clients see an InternalFailure, and
// passes API errors through.
func internal(err error) error {
	if err == nil || awsapi.AsError(err) != nil {
		return err
	}
	return awsapi.InternalError(err)
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func toTags(in []cdapi.Tag) []tag {
	out := make([]tag, 0, len(in))
	for _, t := range in {
		out = append(out, tag{Key: str(t.Key), Value: str(t.Value)})
	}
	return out
}

func mergeTags(have, add []tag) []tag {
	for _, a := range add {
		found := false
		for i := range have {
			if have[i].Key == a.Key {
				have[i].Value = a.Value
				found = true
			}
		}
		if !found {
			have = append(have, a)
		}
	}
	return have
}

func fromTags(in []tag) []cdapi.Tag {
	out := make([]cdapi.Tag, 0, len(in))
	for _, t := range in {
		out = append(out, cdapi.Tag{Key: new(t.Key), Value: new(t.Value)})
	}
	return out
}
