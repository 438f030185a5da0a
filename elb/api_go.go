package elb

import (
	"context"
	"sort"
	"time"

	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// This file is the Go API other Berth services (the ECS service
// scheduler, CodeDeploy) use; it is kept stable. Errors are *awsapi.Error
// with ELB's codes; IsTargetGroupNotFound tells the common one apart.

// Target is a target of a target group: an IP address (ip target type)
// or an instance id (instance target type, reached on 127.0.0.1), and a
// port (0: the group's port).
type Target struct {
	ID               string
	Port             int32
	AvailabilityZone string
}

// TargetHealth is a target's state as DescribeTargetHealth reports it:
// State is initial, healthy, unhealthy, unused, draining or unavailable;
// Reason is ELB's reason code (Elb.RegistrationInProgress,
// Target.ResponseCodeMismatch, ...), empty when healthy.
type TargetHealth struct {
	Target          Target
	HealthCheckPort string
	State           string
	Reason          string
	Description     string
}

// Health states.
const (
	StateInitial   = "initial"
	StateHealthy   = "healthy"
	StateUnhealthy = "unhealthy"
	StateUnused    = "unused"
	StateDraining  = "draining"
)

// TargetGroupInfo describes a target group and where traffic reaches it.
type TargetGroupInfo struct {
	ARN        string
	Name       string
	Port       int32
	Protocol   string
	TargetType string
	// LoadBalancerARNs and ListenerARNs are the load balancers and
	// listeners whose default actions or rules forward to the group.
	LoadBalancerARNs []string
	ListenerARNs     []string
	// DeregistrationDelay is how long deregistered targets drain.
	DeregistrationDelay time.Duration
	// HealthCheckInterval and HealthyThreshold bound how long a new
	// target takes to turn healthy.
	HealthCheckInterval time.Duration
	HealthyThreshold    int
}

// IsTargetGroupNotFound reports whether err is ELB's TargetGroupNotFound.
func IsTargetGroupNotFound(err error) bool {
	e := awsapi.AsError(err)
	return e != nil && e.Code == elbv2.CodeTargetGroupNotFoundException
}

// RegisterTargetsFor registers targets with the target group arn of
// account and region; registering a draining target makes it active
// again. Health checks start at once.
func (s *Service) RegisterTargetsFor(ctx context.Context, account, region, arn string, targets []Target) error {
	return s.register(ctx, account, region, arn, targets)
}

// DeregisterTargetsFor deregisters targets: they stay draining (no new
// requests, in-flight ones finish) for the group's deregistration delay,
// then disappear. Use TargetHealth to wait for the end of draining.
func (s *Service) DeregisterTargetsFor(ctx context.Context, account, region, arn string, targets []Target) error {
	return s.deregister(ctx, account, region, arn, targets)
}

// TargetHealth returns the health of every registered target of arn,
// including draining ones.
func (s *Service) TargetHealth(ctx context.Context, account, region, arn string) ([]TargetHealth, error) {
	return s.targetHealth(ctx, account, region, arn, nil)
}

// TargetGroup describes the target group arn.
func (s *Service) TargetGroup(ctx context.Context, account, region, arn string) (TargetGroupInfo, error) {
	var info TargetGroupInfo
	err := s.st.View(ctx, func(tx store.Tx) error {
		tg, err := s.tgByARN(tx, account, region, arn)
		if err != nil {
			return err
		}
		info = TargetGroupInfo{
			ARN: tgARN(account, region, tg), Name: tg.Name, Port: tg.Port, Protocol: tg.Protocol, TargetType: tg.TargetType,
			DeregistrationDelay: time.Duration(tg.deregistrationDelay()) * time.Second,
			HealthCheckInterval: time.Duration(tg.HealthCheck.Interval) * time.Second,
			HealthyThreshold:    int(tg.HealthCheck.Healthy),
		}
		lbs, err := list[lbRecord](tx, kindLB, account, region, "")
		if err != nil {
			return err
		}
		for _, lb := range lbs {
			listeners, err := list[listenerRecord](tx, kindListener, account, region, lb.ID+"/")
			if err != nil {
				return err
			}
			usesLB := false
			for _, l := range listeners {
				refs, err := listenerRules(tx, account, region, l, lb)
				if err != nil {
					return err
				}
				for _, ref := range refs {
					actions := ref.rule.Actions
					if ref.isDefault {
						actions = l.DefaultActions
					}
					uses := false
					for _, g := range forwardGroups(actions) {
						uses = uses || g.ARN == info.ARN
					}
					if uses {
						if la := listenerARN(account, region, lb.Name, l); !contains(info.ListenerARNs, la) {
							info.ListenerARNs = append(info.ListenerARNs, la)
						}
						usesLB = true
					}
				}
			}
			if usesLB {
				info.LoadBalancerARNs = append(info.LoadBalancerARNs, lbARN(account, region, lb))
			}
		}
		sort.Strings(info.ListenerARNs)
		return nil
	})
	return info, internal(err)
}

// WeightedTargetGroup is a target group of a weighted forward action.
type WeightedTargetGroup struct {
	ARN    string
	Weight int32 // 0 to 999
}

// ForwardListener makes the default action of listenerARN forward to
// groups by weight, as ModifyListener does (CodeDeploy's traffic shifting
// between blue and green target groups). The proxy routes by the new
// weights when it returns.
func (s *Service) ForwardListener(ctx context.Context, account, region, listenerARN string, groups []WeightedTargetGroup) error {
	ctx = awsapi.WithIdentity(ctx, awsapi.Identity{AccountID: account, Region: region})
	fwd := elbv2.ActionTypeEnumForward
	cfg := &elbv2.ForwardActionConfig{}
	for _, g := range groups {
		cfg.TargetGroups = append(cfg.TargetGroups, elbv2.TargetGroupTuple{TargetGroupArn: new(g.ARN), Weight: new(g.Weight)})
	}
	_, err := s.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: &listenerARN,
		DefaultActions: []elbv2.Action{{Type: &fwd, ForwardConfig: cfg}}})
	return err
}
