package ecs

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/ecs/deploy"
	"github.com/berth-dev/berth/store"
)

// Task sets: the unit of deployment of services whose deploymentController
// is EXTERNAL (a third-party controller calls the task set operations) or
// CODE_DEPLOY (CodeDeploy calls them; CreateService makes the first one).
// Each task set runs ceil(service desiredCount × scale%) tasks of its own
// task definition, registered in its own target groups. The service
// controller (services_controller.go) keeps them running; a task belongs to
// the task set whose id is its startedBy.
//
// Task set ARNs have AWS's format:
//
//	arn:aws:ecs:<region>:<account>:task-set/<cluster>/<service>/ecs-svc/<19 digits>

// Task set statuses.
const (
	taskSetPrimary  = "PRIMARY"
	taskSetActive   = "ACTIVE"
	taskSetDraining = "DRAINING"
)

// maxTaskSets is how many task sets a service may have at once (AWS's
// quota, draining ones included).
const maxTaskSets = 5

// startedByCodeDeploy is a task set's startedBy when CodeDeploy made it.
const startedByCodeDeploy = "CODE_DEPLOY"

// taskSetRecord is a task set as stored, inside its service's record: its
// spec (written by the task set operations) and status (counts and
// stability, written by the controller).
type taskSetRecord struct {
	ID                string                                `json:"id"`
	Status            string                                `json:"status"`
	TaskDefinition    string                                `json:"taskDefinition"`
	ExternalID        string                                `json:"externalId,omitempty"`
	StartedBy         string                                `json:"startedBy,omitempty"`
	LaunchType        string                                `json:"launchType"`
	CapacityProviders []ecsapi.CapacityProviderStrategyItem `json:"capacityProviders,omitempty"`
	PlatformVersion   string                                `json:"platformVersion,omitempty"`
	Network           *ecsapi.NetworkConfiguration          `json:"network,omitempty"`
	LoadBalancers     []ecsapi.LoadBalancer                 `json:"loadBalancers,omitempty"`
	Registries        []ecsapi.ServiceRegistry              `json:"registries,omitempty"`
	Scale             float64                               `json:"scale"`
	ClientToken       string                                `json:"clientToken,omitempty"`
	Tags              []ecsapi.Tag                          `json:"tags,omitempty"`
	CreatedAt         time.Time                             `json:"createdAt"`
	UpdatedAt         time.Time                             `json:"updatedAt"`

	ComputedDesired int       `json:"computedDesired"`
	PendingCount    int       `json:"pendingCount"`
	RunningCount    int       `json:"runningCount"`
	Stability       string    `json:"stability"`
	StabilityAt     time.Time `json:"stabilityAt"`
}

func (sc scope) taskSetARN(cluster, service, id string) string {
	return sc.arn("task-set/" + cluster + "/" + service + "/" + id)
}

// computedCount is ceil(desired × scale%), as AWS rounds a task set's share
// up. The epsilon keeps float error (3 × 33.333...) from adding a task.
func computedCount(desired int, scale float64) int {
	if desired <= 0 || scale <= 0 {
		return 0
	}
	return int(math.Ceil(float64(desired)*scale/100 - 1e-9))
}

func (r *serviceRecord) taskSet(id string) *taskSetRecord {
	for i := range r.TaskSets {
		if r.TaskSets[i].ID == id {
			return &r.TaskSets[i]
		}
	}
	return nil
}

// addTaskSet adds a new ACTIVE task set and returns it.
func (r *serviceRecord) addTaskSet(ts taskSetRecord, now time.Time) *taskSetRecord {
	ts.ID = deploy.NewID()
	ts.Status = taskSetActive
	ts.CreatedAt, ts.UpdatedAt = now, now
	ts.ComputedDesired = computedCount(r.DesiredCount, ts.Scale)
	ts.Stability, ts.StabilityAt = string(ecsapi.StabilityStatusStabilizing), now
	r.TaskSets = append(r.TaskSets, ts)
	r.Steady = false
	return &r.TaskSets[len(r.TaskSets)-1]
}

// promote makes ts the PRIMARY task set; the old primary becomes ACTIVE.
// The service then shows the primary's task definition, load balancers,
// network configuration and platform version, as AWS carries the primary
// task set's parameters over to the service. The launch type stays the
// service's: the cluster's per-launch-type service counters follow it.
func (r *serviceRecord) promote(ts *taskSetRecord, now time.Time) {
	for i := range r.TaskSets {
		if o := &r.TaskSets[i]; o.Status == taskSetPrimary && o.ID != ts.ID {
			o.Status, o.UpdatedAt = taskSetActive, now
		}
	}
	ts.Status, ts.UpdatedAt = taskSetPrimary, now
	r.TaskDefinition = ts.TaskDefinition
	r.LoadBalancers = ts.LoadBalancers
	r.Network = ts.Network
	r.PlatformVersion = ts.PlatformVersion
	r.Steady = false
}

// rescaleTaskSets recomputes every task set's computedDesiredCount after
// the service's desiredCount or status changed; the controller also does
// it each pass, this makes the API's answer show it at once.
func (r *serviceRecord) rescaleTaskSets(now time.Time) {
	for i := range r.TaskSets {
		ts := &r.TaskSets[i]
		want := 0
		if ts.Status != taskSetDraining && r.Status == svcActive {
			want = computedCount(r.DesiredCount, ts.Scale)
		}
		if want != ts.ComputedDesired {
			ts.ComputedDesired, ts.UpdatedAt = want, now
			r.Steady = false
		}
	}
}

// checkTaskSetServiceUpdate refuses the UpdateService parameters that only
// a new task set (EXTERNAL) or a CodeDeploy deployment (CODE_DEPLOY) may
// change, with AWS's wording for the task definition.
func checkTaskSetServiceUpdate(r *serviceRecord, in *ecsapi.UpdateServiceInput) error {
	var what string
	switch {
	case r.Controller == string(ecsapi.DeploymentControllerTypeEcs):
		return nil
	case deref(in.TaskDefinition) != "":
		what = "task definition"
	case in.NetworkConfiguration != nil:
		what = "network configuration"
	case deref(in.PlatformVersion) != "":
		what = "platform version"
	case deref(in.ForceNewDeployment):
		what = "a forced new deployment"
	case in.LoadBalancers != nil && r.Controller == string(ecsapi.DeploymentControllerTypeExternal):
		what = "load balancers"
	case in.ServiceRegistries != nil && r.Controller == string(ecsapi.DeploymentControllerTypeExternal):
		what = "service registries"
	default:
		return nil
	}
	if r.Controller == string(ecsapi.DeploymentControllerTypeCodeDeploy) {
		return ecsapi.NewInvalidParameterException("Unable to update %s on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment.", what)
	}
	return ecsapi.NewInvalidParameterException("Unable to update %s on services with a EXTERNAL deployment controller. Use CreateTaskSet to deploy a new task set.", what)
}

// taskSetService finds the ACTIVE service a task set operation names, and
// checks that its deployment controller uses task sets.
func taskSetService(tx store.Tx, sc scope, cluster, service string) (*clusterRecord, *serviceRecord, error) {
	c, err := lookupCluster(tx, sc, cluster)
	if err != nil {
		return nil, nil, err
	}
	r, err := activeService(tx, sc, c, service)
	if err != nil {
		return nil, nil, err
	}
	if r.Controller == string(ecsapi.DeploymentControllerTypeEcs) {
		return nil, nil, ecsapi.NewInvalidParameterException("Amazon ECS only supports task set management on services configured to use external deployment controllers.")
	}
	return c, r, nil
}

// taskSetID resolves a task set reference (an id or an ARN) of a service;
// ok is false for an ARN of another scope, cluster or service.
func taskSetID(sc scope, r *serviceRecord, ref string) (string, bool) {
	if !strings.HasPrefix(ref, "arn:") {
		return ref, ref != ""
	}
	p, ok := parseARN(ref)
	if !ok || p.kind != "task-set" || !p.inScope(sc) {
		return "", false
	}
	parts := strings.SplitN(p.rest, "/", 3)
	if len(parts) != 3 || parts[0] != r.Cluster || parts[1] != r.Name {
		return "", false
	}
	return parts[2], true
}

// findTaskSet resolves a reference to one of the service's task sets.
func findTaskSet(sc scope, r *serviceRecord, ref string) (*taskSetRecord, error) {
	if id, ok := taskSetID(sc, r, ref); ok {
		if ts := r.taskSet(id); ts != nil {
			return ts, nil
		}
	}
	return nil, ecsapi.NewTaskSetNotFoundException("The specified task set does not exist.")
}

// taskSetTaggable resolves a task set ARN for the tagging operations.
func taskSetTaggable(tx store.Tx, sc scope, p parsedARN, now time.Time) (*taggable, error) {
	parts := strings.SplitN(p.rest, "/", 3)
	if len(parts) != 3 || !validName(parts[0]) || !validName(parts[1]) {
		return nil, ecsapi.NewInvalidParameterException("The ARN %s is not a valid task set ARN.", sc.arn("task-set/"+p.rest))
	}
	r, err := getDoc[serviceRecord](tx, KindService, sc, serviceKey(parts[0], parts[1]))
	if err != nil {
		return nil, err
	}
	if r == nil || r.Status == svcInactive {
		return nil, errServiceNotFound()
	}
	ts := r.taskSet(parts[2])
	if ts == nil {
		return nil, ecsapi.NewTaskSetNotFoundException("The specified task set does not exist.")
	}
	return &taggable{&ts.Tags, func() error { return putDoc(tx, KindService, sc, serviceKey(r.Cluster, r.Name), r, now) }}, nil
}

// checkScale validates a scale; nil means 0%, AWS's default for a new task
// set.
func checkScale(s *ecsapi.Scale) (float64, error) {
	if s == nil {
		return 0, nil
	}
	if s.Unit != nil && *s.Unit != ecsapi.ScaleUnitPercent {
		return 0, ecsapi.NewInvalidParameterException("Scale unit must be PERCENT.")
	}
	v := deref(s.Value)
	if math.IsNaN(v) || v < 0 || v > 100 {
		return 0, ecsapi.NewInvalidParameterException("Scale value must be between 0 and 100 percent.")
	}
	return v, nil
}

// requireRefs refuses requests from Go callers that skipped the wire
// layer's required-field checks.
func requireRefs(fields ...[2]string) error {
	for _, f := range fields {
		if f[1] == "" {
			return ecsapi.NewInvalidParameterException("%s must be specified.", f[0])
		}
	}
	return nil
}

// CreateTaskSet adds an ACTIVE task set to an EXTERNAL or CODE_DEPLOY
// service; the controller starts its tasks.
func (s *Service) CreateTaskSet(ctx context.Context, in *ecsapi.CreateTaskSetInput) (*ecsapi.CreateTaskSetOutput, error) {
	sc := scopeOf(ctx)
	if err := requireRefs([2]string{"cluster", deref(in.Cluster)}, [2]string{"service", deref(in.Service)}, [2]string{"taskDefinition", deref(in.TaskDefinition)}); err != nil {
		return nil, err
	}
	scale, err := checkScale(in.Scale)
	if err != nil {
		return nil, err
	}
	if err := checkTagKeys(in.Tags); err != nil {
		return nil, err
	}
	if len(in.Tags) > maxTags {
		return nil, ecsapi.NewInvalidParameterException("A resource can have at most %d tags.", maxTags)
	}
	if err := checkLoadBalancers(in.LoadBalancers); err != nil {
		return nil, err
	}
	if err := s.checkNetwork(ctx, sc, in.NetworkConfiguration); err != nil {
		return nil, err
	}
	token := deref(in.ClientToken)
	if len(token) > 36 {
		return nil, ecsapi.NewInvalidParameterException("clientToken can have at most 36 characters.")
	}
	var out ecsapi.TaskSet
	err = s.st.Update(ctx, func(tx store.Tx) error {
		c, r, err := taskSetService(tx, sc, deref(in.Cluster), deref(in.Service))
		if err != nil {
			return err
		}
		if token != "" {
			if i := slices.IndexFunc(r.TaskSets, func(ts taskSetRecord) bool { return ts.ClientToken == token }); i >= 0 {
				out = taskSetOutput(sc, r, &r.TaskSets[i], true)
				return nil
			}
		}
		if len(r.TaskSets) >= maxTaskSets {
			return ecsapi.NewInvalidParameterException("%d deployments exist on the service. Unable to create new TaskSet since this exceeds the maximum limit.", len(r.TaskSets))
		}
		// Without a launch type or strategy a task set runs as its service.
		launch, strategy := r.LaunchType, r.CapacityProviders
		if in.LaunchType != nil || len(in.CapacityProviderStrategy) > 0 {
			strategy = in.CapacityProviderStrategy
			if launch, err = serviceLaunch(c, in.LaunchType, strategy); err != nil {
				return err
			}
		}
		req := &taskRequest{
			cluster:        c.Name,
			taskDefinition: deref(in.TaskDefinition),
			network:        in.NetworkConfiguration,
			constraints:    r.Constraints,
			strategy:       r.Strategy,
		}
		p, err := prepare(tx, sc, req, launch)
		if err != nil {
			return err
		}
		if err := checkLoadBalancerContainers(in.LoadBalancers, p.td); err != nil {
			return err
		}
		now := s.clock()
		ts := taskSetRecord{
			TaskDefinition:    deref(p.td.TaskDefinitionArn),
			ExternalID:        deref(in.ExternalId),
			LaunchType:        launch,
			CapacityProviders: strategy,
			PlatformVersion:   deref(in.PlatformVersion),
			Network:           in.NetworkConfiguration,
			LoadBalancers:     in.LoadBalancers,
			Registries:        in.ServiceRegistries,
			Scale:             scale,
			ClientToken:       token,
			Tags:              in.Tags,
		}
		if launch == launchFargate && ts.PlatformVersion == "" {
			ts.PlatformVersion = "LATEST"
		}
		if r.Controller == string(ecsapi.DeploymentControllerTypeCodeDeploy) {
			ts.StartedBy = startedByCodeDeploy
		}
		out = taskSetOutput(sc, r, r.addTaskSet(ts, now), true)
		return putDoc(tx, KindService, sc, serviceKey(r.Cluster, r.Name), r, now)
	})
	if err != nil {
		return nil, err
	}
	s.kickServices()
	return &ecsapi.CreateTaskSetOutput{TaskSet: &out}, nil
}

// DescribeTaskSets describes the named task sets of a service, or all of
// them; unknown ones are failures with reason MISSING.
func (s *Service) DescribeTaskSets(ctx context.Context, in *ecsapi.DescribeTaskSetsInput) (*ecsapi.DescribeTaskSetsOutput, error) {
	sc := scopeOf(ctx)
	if err := requireRefs([2]string{"cluster", deref(in.Cluster)}, [2]string{"service", deref(in.Service)}); err != nil {
		return nil, err
	}
	withTags := slices.Contains(in.Include, ecsapi.TaskSetFieldTags)
	out := &ecsapi.DescribeTaskSetsOutput{}
	err := s.st.View(ctx, func(tx store.Tx) error {
		out.TaskSets, out.Failures = []ecsapi.TaskSet{}, []ecsapi.Failure{}
		_, r, err := taskSetService(tx, sc, deref(in.Cluster), deref(in.Service))
		if err != nil {
			return err
		}
		if len(in.TaskSets) == 0 {
			for i := range r.TaskSets {
				out.TaskSets = append(out.TaskSets, taskSetOutput(sc, r, &r.TaskSets[i], withTags))
			}
			return nil
		}
		for _, ref := range in.TaskSets {
			ts, err := findTaskSet(sc, r, ref)
			if err != nil {
				arn := ref
				if !strings.HasPrefix(ref, "arn:") {
					arn = sc.taskSetARN(r.Cluster, r.Name, ref)
				}
				out.Failures = append(out.Failures, ecsapi.Failure{Arn: ptr(arn), Reason: ptr("MISSING")})
				continue
			}
			out.TaskSets = append(out.TaskSets, taskSetOutput(sc, r, ts, withTags))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateTaskSet changes a task set's scale; the controller starts or stops
// tasks to match.
func (s *Service) UpdateTaskSet(ctx context.Context, in *ecsapi.UpdateTaskSetInput) (*ecsapi.UpdateTaskSetOutput, error) {
	sc := scopeOf(ctx)
	if err := requireRefs([2]string{"cluster", deref(in.Cluster)}, [2]string{"service", deref(in.Service)}, [2]string{"taskSet", deref(in.TaskSet)}); err != nil {
		return nil, err
	}
	if in.Scale == nil {
		return nil, ecsapi.NewInvalidParameterException("scale must be specified.")
	}
	scale, err := checkScale(in.Scale)
	if err != nil {
		return nil, err
	}
	out, err := s.changeTaskSet(ctx, sc, deref(in.Cluster), deref(in.Service), deref(in.TaskSet), func(r *serviceRecord, ts *taskSetRecord, now time.Time) error {
		if ts.Status == taskSetDraining {
			return ecsapi.NewInvalidParameterException("The task set %s is DRAINING and cannot be updated.", ts.ID)
		}
		ts.Scale, ts.UpdatedAt = scale, now
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.UpdateTaskSetOutput{TaskSet: out}, nil
}

// UpdateServicePrimaryTaskSet makes a task set PRIMARY (the one serving
// production traffic); the previous primary becomes ACTIVE and keeps its
// tasks until it is scaled down or deleted.
func (s *Service) UpdateServicePrimaryTaskSet(ctx context.Context, in *ecsapi.UpdateServicePrimaryTaskSetInput) (*ecsapi.UpdateServicePrimaryTaskSetOutput, error) {
	sc := scopeOf(ctx)
	if err := requireRefs([2]string{"cluster", deref(in.Cluster)}, [2]string{"service", deref(in.Service)}, [2]string{"primaryTaskSet", deref(in.PrimaryTaskSet)}); err != nil {
		return nil, err
	}
	out, err := s.changeTaskSet(ctx, sc, deref(in.Cluster), deref(in.Service), deref(in.PrimaryTaskSet), func(r *serviceRecord, ts *taskSetRecord, now time.Time) error {
		if ts.Status == taskSetDraining {
			return ecsapi.NewInvalidParameterException("The task set %s is DRAINING and cannot become the primary task set.", ts.ID)
		}
		r.promote(ts, now)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.UpdateServicePrimaryTaskSetOutput{TaskSet: out}, nil
}

// DeleteTaskSet sets a task set DRAINING: the controller deregisters and
// stops its tasks, then forgets it. Without force it must be scaled to 0.
func (s *Service) DeleteTaskSet(ctx context.Context, in *ecsapi.DeleteTaskSetInput) (*ecsapi.DeleteTaskSetOutput, error) {
	sc := scopeOf(ctx)
	if err := requireRefs([2]string{"cluster", deref(in.Cluster)}, [2]string{"service", deref(in.Service)}, [2]string{"taskSet", deref(in.TaskSet)}); err != nil {
		return nil, err
	}
	out, err := s.changeTaskSet(ctx, sc, deref(in.Cluster), deref(in.Service), deref(in.TaskSet), func(r *serviceRecord, ts *taskSetRecord, now time.Time) error {
		if ts.Status == taskSetDraining {
			return nil // a retried delete
		}
		if ts.Scale > 0 && !deref(in.Force) {
			return ecsapi.NewInvalidParameterException("The task set %s cannot be deleted while it is scaled above 0%%. Scale it to 0 with UpdateTaskSet first, or use force.", ts.ID)
		}
		ts.Status, ts.UpdatedAt = taskSetDraining, now
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.DeleteTaskSetOutput{TaskSet: out}, nil
}

// changeTaskSet applies fn to a task set of an ACTIVE task-set service in
// one transaction and returns the task set as the API shows it.
func (s *Service) changeTaskSet(ctx context.Context, sc scope, cluster, service, ref string, fn func(*serviceRecord, *taskSetRecord, time.Time) error) (*ecsapi.TaskSet, error) {
	var out ecsapi.TaskSet
	err := s.st.Update(ctx, func(tx store.Tx) error {
		_, r, err := taskSetService(tx, sc, cluster, service)
		if err != nil {
			return err
		}
		ts, err := findTaskSet(sc, r, ref)
		if err != nil {
			return err
		}
		now := s.clock()
		if err := fn(r, ts, now); err != nil {
			return err
		}
		r.rescaleTaskSets(now)
		if ts.ComputedDesired != ts.RunningCount || ts.Status == taskSetDraining {
			ts.Stability = string(ecsapi.StabilityStatusStabilizing)
		}
		r.Steady = false
		out = taskSetOutput(sc, r, ts, true)
		return putDoc(tx, KindService, sc, serviceKey(r.Cluster, r.Name), r, now)
	})
	if err != nil {
		return nil, err
	}
	s.kickServices()
	return &out, nil
}

// taskSetOutput builds the API shape of a task set.
func taskSetOutput(sc scope, r *serviceRecord, ts *taskSetRecord, withTags bool) ecsapi.TaskSet {
	out := ecsapi.TaskSet{
		Id:                   ptr(ts.ID),
		TaskSetArn:           ptr(sc.taskSetARN(r.Cluster, r.Name, ts.ID)),
		ServiceArn:           ptr(sc.serviceARN(r.Cluster, r.Name)),
		ClusterArn:           ptr(sc.clusterARN(r.Cluster)),
		StartedBy:            nonEmpty(ts.StartedBy),
		ExternalId:           nonEmpty(ts.ExternalID),
		Status:               ptr(ts.Status),
		TaskDefinition:       ptr(ts.TaskDefinition),
		ComputedDesiredCount: ptr(int32(ts.ComputedDesired)),
		PendingCount:         ptr(int32(ts.PendingCount)),
		RunningCount:         ptr(int32(ts.RunningCount)),
		CreatedAt:            timestamp(ts.CreatedAt),
		UpdatedAt:            timestamp(ts.UpdatedAt),
		NetworkConfiguration: ts.Network,
		LoadBalancers:        nonNil(ts.LoadBalancers),
		ServiceRegistries:    nonNil(ts.Registries),
		Scale:                &ecsapi.Scale{Value: ptr(ts.Scale), Unit: ptr(ecsapi.ScaleUnitPercent)},
		StabilityStatus:      ptr(ecsapi.StabilityStatus(ts.Stability)),
		StabilityStatusAt:    timestamp(ts.StabilityAt),
	}
	if len(ts.CapacityProviders) > 0 {
		out.CapacityProviderStrategy = ts.CapacityProviders
	} else {
		out.LaunchType = ptr(ecsapi.LaunchType(ts.LaunchType))
	}
	if ts.LaunchType == launchFargate {
		out.PlatformVersion = nonEmpty(ts.PlatformVersion)
		out.PlatformFamily = ptr("Linux")
	}
	if withTags {
		out.Tags = nonNil(ts.Tags)
	}
	return out
}
