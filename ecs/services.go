package ecs

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/ecs/deploy"
	"github.com/berth-dev/berth/store"
)

// Services: the API half. A service record holds the spec written by
// CreateService/UpdateService/DeleteService and the status (deployments,
// counts, events) written only by the service controller
// (services_controller.go), which keeps desiredCount tasks running.
//
// Service ARNs have the long format:
//
//	arn:aws:ecs:<region>:<account>:service/<cluster>/<name>

// Service statuses.
const (
	svcActive   = "ACTIVE"
	svcDraining = "DRAINING"
	svcInactive = "INACTIVE"
)

// Deployment statuses.
const (
	depPrimary  = "PRIMARY"
	depActive   = "ACTIVE"
	depInactive = "INACTIVE"
)

// maxEvents is how many events a service keeps, newest first (AWS shows
// the last 100).
const maxEvents = 100

// serviceRecord is a service as stored.
type serviceRecord struct {
	Name                 string                                `json:"name"`
	Cluster              string                                `json:"cluster"`
	Status               string                                `json:"status"`
	TaskDefinition       string                                `json:"taskDefinition"` // ARN, the primary deployment's
	DesiredCount         int                                   `json:"desiredCount"`
	LaunchType           string                                `json:"launchType"`
	CapacityProviders    []ecsapi.CapacityProviderStrategyItem `json:"capacityProviders,omitempty"`
	PlatformVersion      string                                `json:"platformVersion,omitempty"`
	Config               ecsapi.DeploymentConfiguration        `json:"config"`
	Controller           string                                `json:"controller"`
	Network              *ecsapi.NetworkConfiguration          `json:"network,omitempty"`
	Constraints          []ecsapi.PlacementConstraint          `json:"constraints,omitempty"`
	Strategy             []ecsapi.PlacementStrategy            `json:"strategy,omitempty"`
	LoadBalancers        []ecsapi.LoadBalancer                 `json:"loadBalancers,omitempty"`
	Registries           []ecsapi.ServiceRegistry              `json:"registries,omitempty"`
	Connect              *ecsapi.ServiceConnectConfiguration   `json:"connect,omitempty"`
	GracePeriod          *int32                                `json:"gracePeriod,omitempty"`
	Scheduling           string                                `json:"scheduling"`
	Tags                 []ecsapi.Tag                          `json:"tags,omitempty"`
	ManagedTags          bool                                  `json:"managedTags,omitempty"`
	PropagateTags        string                                `json:"propagateTags,omitempty"`
	EnableExecuteCommand bool                                  `json:"enableExecuteCommand,omitempty"`
	AZRebalancing        string                                `json:"azRebalancing,omitempty"` // empty (older records) reads as DISABLED, as in ECS
	Role                 string                                `json:"role,omitempty"`
	ClientToken          string                                `json:"clientToken,omitempty"`
	CreatedAt            time.Time                             `json:"createdAt"`
	CreatedBy            string                                `json:"createdBy,omitempty"`
	DeletedAt            time.Time                             `json:"deletedAt,omitzero"`

	// Status, written by the controller.
	RunningCount int                `json:"runningCount"`
	PendingCount int                `json:"pendingCount"`
	Deployments  []deploymentRecord `json:"deployments"`
	Events       []serviceEvent     `json:"events,omitempty"`
	// Steady is whether the last pass found the service steady, so that
	// "has reached a steady state." is said once per time it gets there.
	Steady bool `json:"steady,omitempty"`
	// LastCompleted is the deployment that last reached COMPLETED: what the
	// circuit breaker rolls back to.
	LastCompleted *deploymentRecord `json:"lastCompleted,omitempty"`
	// Draining are tasks deregistered from the target groups, stopped once
	// drained.
	Draining []drainingTask `json:"draining,omitempty"`
	// TaskSets are the task sets of an EXTERNAL or CODE_DEPLOY service
	// (tasksets.go); they live in the service record so that a change to a
	// task set and to the service it scales with is one write.
	TaskSets []taskSetRecord `json:"taskSets,omitempty"`
}

func serviceKey(cluster, name string) string { return cluster + "/" + name }

func (sc scope) serviceARN(cluster, name string) string {
	return sc.arn("service/" + cluster + "/" + name)
}

// deploymentRecord is one deployment of a service.
type deploymentRecord struct {
	ID                 string                       `json:"id"`
	Status             string                       `json:"status"`
	TaskDefinition     string                       `json:"taskDefinition"`
	DesiredCount       int                          `json:"desiredCount"`
	PendingCount       int                          `json:"pendingCount"`
	RunningCount       int                          `json:"runningCount"`
	FailedTasks        int                          `json:"failedTasks"`
	CreatedAt          time.Time                    `json:"createdAt"`
	UpdatedAt          time.Time                    `json:"updatedAt"`
	LaunchType         string                       `json:"launchType"`
	PlatformVersion    string                       `json:"platformVersion,omitempty"`
	Network            *ecsapi.NetworkConfiguration `json:"network,omitempty"`
	RolloutState       string                       `json:"rolloutState"`
	RolloutStateReason string                       `json:"rolloutStateReason,omitempty"`
	// Failed lists the ids of tasks already counted in FailedTasks, Healthy
	// those seen healthy (a task reaching health resets the count, as
	// resetOnHealthyTask's default does on AWS).
	Failed  []string `json:"failed,omitempty"`
	Healthy []string `json:"healthy,omitempty"`
	// ServiceDeploymentID and RevisionID name the service deployment and
	// the service revision this deployment rolls out
	// (service_deployments.go). A rollback deployment belongs to the
	// service deployment it rolls back, RollbackOf, rather than to one of
	// its own.
	ServiceDeploymentID string `json:"serviceDeploymentId,omitempty"`
	RevisionID          string `json:"revisionId,omitempty"`
	RollbackOf          string `json:"rollbackOf,omitempty"`
	// TriggeredAlarms are the deployment alarms found in ALARM that failed
	// this deployment or, on a rollback, the one it rolls back
	// (deployment_alarms.go).
	TriggeredAlarms []string `json:"triggeredAlarms,omitempty"`
}

type serviceEvent struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"createdAt"`
	Message   string    `json:"message"`
}

func (r *serviceRecord) primary() *deploymentRecord {
	for i := range r.Deployments {
		if r.Deployments[i].Status == depPrimary {
			return &r.Deployments[i]
		}
	}
	return nil
}

// event adds a message, newest first, keeping maxEvents.
func (r *serviceRecord) event(now time.Time, format string, args ...any) {
	r.addEvent(now, "(service "+r.Name+") "+fmt.Sprintf(format, args...))
}

// addEvent adds a message that carries its own prefix.
func (r *serviceRecord) addEvent(now time.Time, msg string) {
	ev := serviceEvent{ID: newUUID(), CreatedAt: now, Message: msg}
	r.Events = append([]serviceEvent{ev}, r.Events...)
	if len(r.Events) > maxEvents {
		r.Events = r.Events[:maxEvents]
	}
}

// newDeployment makes td the primary deployment; the previous primary
// becomes ACTIVE (its tasks are replaced by the controller).
func (r *serviceRecord) newDeployment(td string, now time.Time) *deploymentRecord {
	for i := range r.Deployments {
		if r.Deployments[i].Status == depPrimary {
			r.Deployments[i].Status = depActive
			r.Deployments[i].UpdatedAt = now
		}
	}
	d := deploymentRecord{
		ID:              deploy.NewID(),
		Status:          depPrimary,
		TaskDefinition:  td,
		DesiredCount:    r.DesiredCount,
		CreatedAt:       now,
		UpdatedAt:       now,
		LaunchType:      r.LaunchType,
		PlatformVersion: r.PlatformVersion,
		Network:         r.Network,
		RolloutState:    string(ecsapi.DeploymentRolloutStateInProgress),
	}
	r.TaskDefinition = td
	r.Deployments = append([]deploymentRecord{d}, r.Deployments...)
	return &r.Deployments[0]
}

func errServiceNotFound() error { return ecsapi.NewServiceNotFoundException("Service not found.") }

// serviceName resolves a service reference (a name or an ARN) within a
// cluster.
func serviceName(sc scope, cluster, ref string) (string, bool) {
	if !strings.HasPrefix(ref, "arn:") {
		return ref, ref != "" && validName(ref)
	}
	p, ok := parseARN(ref)
	if !ok || p.kind != "service" || !p.inScope(sc) {
		return "", false
	}
	c, name, found := strings.Cut(p.rest, "/")
	if !found {
		return p.rest, true // the old short ARN format
	}
	return name, c == cluster
}

// lookupService finds a service of a cluster (any status); nil when none.
func lookupService(tx store.Tx, sc scope, c *clusterRecord, ref string) (*serviceRecord, error) {
	name, ok := serviceName(sc, c.Name, ref)
	if !ok {
		return nil, nil
	}
	return getDoc[serviceRecord](tx, KindService, sc, serviceKey(c.Name, name))
}

// activeService is lookupService for operations on an ACTIVE service.
func activeService(tx store.Tx, sc scope, c *clusterRecord, ref string) (*serviceRecord, error) {
	r, err := lookupService(tx, sc, c, ref)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errServiceNotFound()
	}
	if r.Status != svcActive {
		return nil, ecsapi.NewServiceNotActiveException("Service was not ACTIVE.")
	}
	return r, nil
}

// countService moves the cluster's service counters from one status to
// another ("" for none).
func countService(c *clusterRecord, launch, from, to string) {
	st := &c.Stats
	switch from {
	case svcActive:
		st.add(&st.ActiveServices, launch, -1)
	case svcDraining:
		st.add(&st.DrainingServices, launch, -1)
	}
	switch to {
	case svcActive:
		st.add(&st.ActiveServices, launch, 1)
	case svcDraining:
		st.add(&st.DrainingServices, launch, 1)
	}
}

// checkDeploymentConfig validates and fills in deploymentConfiguration.
func checkDeploymentConfig(cfg *ecsapi.DeploymentConfiguration, daemon bool) error {
	if cfg.MinimumHealthyPercent == nil {
		if daemon {
			cfg.MinimumHealthyPercent = ptr(int32(deploy.DaemonMinHealthyPercent))
		} else {
			cfg.MinimumHealthyPercent = ptr(int32(deploy.ReplicaMinHealthyPercent))
		}
	}
	if cfg.MaximumPercent == nil {
		if daemon {
			cfg.MaximumPercent = ptr(int32(deploy.DaemonMaxPercent))
		} else {
			cfg.MaximumPercent = ptr(int32(deploy.ReplicaMaxPercent))
		}
	}
	minH, maxP := *cfg.MinimumHealthyPercent, *cfg.MaximumPercent
	switch {
	case minH < 0 || minH > 100:
		return ecsapi.NewInvalidParameterException("minimumHealthyPercent must be between 0 and 100.")
	case maxP < 100 || maxP > 200:
		return ecsapi.NewInvalidParameterException("maximumPercent must be between 100 and 200.")
	case daemon && maxP != 100:
		return ecsapi.NewInvalidParameterException("The daemon scheduling strategy does not support a maximumPercent other than 100.")
	}
	if cb := cfg.DeploymentCircuitBreaker; cb != nil {
		if cb.Enable == nil {
			cb.Enable = ptr(false)
		}
		if cb.Rollback == nil {
			cb.Rollback = ptr(false)
		}
	} else {
		cfg.DeploymentCircuitBreaker = &ecsapi.DeploymentCircuitBreaker{Enable: ptr(false), Rollback: ptr(false)}
	}
	return nil
}

// serviceLaunch resolves the launch type of a service.
func serviceLaunch(c *clusterRecord, lt *ecsapi.LaunchType, strategy []ecsapi.CapacityProviderStrategyItem) (string, error) {
	if lt != nil && len(strategy) > 0 {
		return "", ecsapi.NewInvalidParameterException("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.")
	}
	launchFor, err := launchOf(c, lt, strategy)
	if err != nil {
		return "", err
	}
	launch, _ := launchFor(0)
	return launch, nil
}

// CreateService creates a service and its first deployment; the controller
// starts its tasks.
func (s *Service) CreateService(ctx context.Context, in *ecsapi.CreateServiceInput) (*ecsapi.CreateServiceOutput, error) {
	sc := scopeOf(ctx)
	name := deref(in.ServiceName)
	if !validName(name) {
		return nil, ecsapi.NewInvalidParameterException("Service name must be 1 to 255 letters, numbers, hyphens and underscores.")
	}
	sched := string(ecsapi.SchedulingStrategyReplica)
	if in.SchedulingStrategy != nil {
		sched = string(*in.SchedulingStrategy)
	}
	daemon := sched == string(ecsapi.SchedulingStrategyDaemon)
	ctl := string(ecsapi.DeploymentControllerTypeEcs)
	if in.DeploymentController != nil && in.DeploymentController.Type != nil {
		ctl = string(*in.DeploymentController.Type)
	}
	external := ctl == string(ecsapi.DeploymentControllerTypeExternal)
	codeDeploy := ctl == string(ecsapi.DeploymentControllerTypeCodeDeploy)
	desired := int(deref(in.DesiredCount))
	switch {
	case ctl != string(ecsapi.DeploymentControllerTypeEcs) && !external && !codeDeploy:
		return nil, ecsapi.NewInvalidParameterException("Deployment controller type %s is not supported; use ECS, CODE_DEPLOY or EXTERNAL.", ctl)
	case daemon && (external || codeDeploy):
		return nil, ecsapi.NewInvalidParameterException("The daemon scheduling strategy does not support the %s deployment controller; use REPLICA.", ctl)
	case daemon && in.DesiredCount != nil:
		return nil, ecsapi.NewInvalidParameterException("The daemon scheduling strategy does not support a desired count for services.")
	case desired < 0:
		return nil, ecsapi.NewInvalidParameterException("desiredCount must be 0 or more.")
	case external && deref(in.TaskDefinition) != "":
		// The task definition of an EXTERNAL service is its task sets'.
		return nil, ecsapi.NewInvalidParameterException("TaskDefinition must be blank.")
	case !external && deref(in.TaskDefinition) == "":
		return nil, ecsapi.NewInvalidParameterException("TaskDefinition must be specified.")
	case codeDeploy && !slices.ContainsFunc(in.LoadBalancers, func(lb ecsapi.LoadBalancer) bool { return deref(lb.TargetGroupArn) != "" }):
		return nil, ecsapi.NewInvalidParameterException("A service with the CODE_DEPLOY deployment controller must use an Application Load Balancer or Network Load Balancer: specify loadBalancers with a targetGroupArn.")
	case daemon && len(in.PlacementStrategy) > 0:
		return nil, ecsapi.NewInvalidParameterException("Placement strategies are not supported with the daemon scheduling strategy.")
	case len(in.PlacementStrategy) > 5:
		return nil, ecsapi.NewInvalidParameterException("A service can have at most 5 placement strategies.")
	case len(in.PlacementConstraints) > 10:
		return nil, ecsapi.NewInvalidParameterException("A service can have at most 10 placement constraints.")
	case in.HealthCheckGracePeriodSeconds != nil && (*in.HealthCheckGracePeriodSeconds < 0 || *in.HealthCheckGracePeriodSeconds > 2147483647):
		return nil, ecsapi.NewInvalidParameterException("healthCheckGracePeriodSeconds must be 0 or more.")
	}
	if err := checkTagKeys(in.Tags); err != nil {
		return nil, err
	}
	cfg := ecsapi.DeploymentConfiguration{}
	if in.DeploymentConfiguration != nil {
		cfg = *in.DeploymentConfiguration
	}
	if err := checkDeploymentConfig(&cfg, daemon); err != nil {
		return nil, err
	}
	if err := checkLoadBalancers(in.LoadBalancers); err != nil {
		return nil, err
	}
	if err := s.checkNetwork(ctx, sc, in.NetworkConfiguration); err != nil {
		return nil, err
	}
	if err := s.checkRegistries(ctx, sc, in.ServiceRegistries); err != nil {
		return nil, err
	}
	if err := s.checkConnect(ctx, sc, in.ServiceConnectConfiguration); err != nil {
		return nil, err
	}
	token := deref(in.ClientToken)
	var out ecsapi.ServiceShape
	err := s.st.Update(ctx, func(tx store.Tx) error {
		c, err := s.clusterForWrite(tx, sc, deref(in.Cluster))
		if err != nil {
			return err
		}
		launch, err := serviceLaunch(c, in.LaunchType, in.CapacityProviderStrategy)
		if err != nil {
			return err
		}
		if daemon && launch == launchFargate {
			return ecsapi.NewInvalidParameterException("The daemon scheduling strategy is not supported with the FARGATE launch type.")
		}
		old, err := getDoc[serviceRecord](tx, KindService, sc, serviceKey(c.Name, name))
		if err != nil {
			return err
		}
		if old != nil && old.Status != svcInactive {
			if token != "" && old.ClientToken == token {
				out = serviceOutput(sc, old, true)
				return nil
			}
			return ecsapi.NewInvalidParameterException("Creation of service was not idempotent.")
		}
		// The task definition must resolve and fit the launch type and
		// network configuration, as for RunTask.
		var p *prepared
		if !external {
			req := &taskRequest{
				cluster:        c.Name,
				taskDefinition: deref(in.TaskDefinition),
				network:        in.NetworkConfiguration,
				constraints:    in.PlacementConstraints,
				strategy:       in.PlacementStrategy,
			}
			if p, err = prepare(tx, sc, req, launch); err != nil {
				return err
			}
			if err := checkLoadBalancerContainers(in.LoadBalancers, p.td); err != nil {
				return err
			}
		}
		now := s.clock()
		r := &serviceRecord{
			Name:                 name,
			Cluster:              c.Name,
			Status:               svcActive,
			DesiredCount:         desired,
			LaunchType:           launch,
			CapacityProviders:    in.CapacityProviderStrategy,
			PlatformVersion:      deref(in.PlatformVersion),
			Config:               cfg,
			Controller:           ctl,
			Network:              in.NetworkConfiguration,
			Constraints:          in.PlacementConstraints,
			Strategy:             in.PlacementStrategy,
			LoadBalancers:        in.LoadBalancers,
			Registries:           in.ServiceRegistries,
			Connect:              connectOf(c, in.ServiceConnectConfiguration),
			GracePeriod:          in.HealthCheckGracePeriodSeconds,
			Scheduling:           sched,
			Tags:                 in.Tags,
			ManagedTags:          deref(in.EnableECSManagedTags),
			PropagateTags:        string(deref(in.PropagateTags)),
			EnableExecuteCommand: deref(in.EnableExecuteCommand),
			AZRebalancing:        string(ecsapi.AvailabilityZoneRebalancingEnabled),
			Role:                 deref(in.Role),
			ClientToken:          token,
			CreatedAt:            now,
			CreatedBy:            sc.rootPrincipal(),
		}
		if launch == launchEC2 && r.PlatformVersion != "" {
			return errPlatformVersionEC2()
		}
		if launch == launchFargate && r.PlatformVersion == "" {
			r.PlatformVersion = "LATEST"
		}
		if in.AvailabilityZoneRebalancing != nil {
			r.AZRebalancing = string(*in.AvailabilityZoneRebalancing)
		}
		switch {
		case codeDeploy:
			// The service starts with one PRIMARY task set at 100%: what
			// CodeDeploy later replaces.
			ts := r.addTaskSet(taskSetRecord{
				TaskDefinition:    deref(p.td.TaskDefinitionArn),
				LaunchType:        launch,
				CapacityProviders: in.CapacityProviderStrategy,
				PlatformVersion:   r.PlatformVersion,
				Network:           in.NetworkConfiguration,
				LoadBalancers:     in.LoadBalancers,
				Registries:        in.ServiceRegistries,
				Scale:             100,
			}, now)
			r.promote(ts, now)
		case !external:
			r.newDeployment(deref(p.td.TaskDefinitionArn), now)
		}
		if old != nil {
			// The name is reused: the history of the deleted service goes.
			if err := purgeServiceDeployments(tx, sc, c.Name, name); err != nil {
				return err
			}
		}
		if err := syncServiceDeployments(tx, sc, r, now); err != nil {
			return err
		}
		countService(c, launch, "", svcActive)
		if err := putDoc(tx, kindCluster, sc, c.Name, c, now); err != nil {
			return err
		}
		out = serviceOutput(sc, r, true)
		return putDoc(tx, KindService, sc, serviceKey(c.Name, name), r, now)
	})
	if err != nil {
		return nil, err
	}
	s.kickServices()
	return &ecsapi.CreateServiceOutput{Service: &out}, nil
}

// checkLoadBalancers checks the loadBalancers of a service.
func checkLoadBalancers(lbs []ecsapi.LoadBalancer) error {
	for _, lb := range lbs {
		if deref(lb.TargetGroupArn) == "" && deref(lb.LoadBalancerName) == "" {
			return ecsapi.NewInvalidParameterException("A target group ARN or a load balancer name must be specified.")
		}
		if deref(lb.ContainerName) == "" || lb.ContainerPort == nil {
			return ecsapi.NewInvalidParameterException("containerName and containerPort must be specified for a load balancer.")
		}
	}
	return nil
}

// checkLoadBalancerContainers checks that each load balancer names a
// container and port of the task definition.
func checkLoadBalancerContainers(lbs []ecsapi.LoadBalancer, td *ecsapi.TaskDefinition) error {
	for _, lb := range lbs {
		i := slices.IndexFunc(td.ContainerDefinitions, func(c ecsapi.ContainerDefinition) bool { return deref(c.Name) == deref(lb.ContainerName) })
		if i < 0 {
			return ecsapi.NewInvalidParameterException("The container %s does not exist in the task definition.", deref(lb.ContainerName))
		}
		if !slices.ContainsFunc(td.ContainerDefinitions[i].PortMappings, func(pm ecsapi.PortMapping) bool {
			return deref(pm.ContainerPort) == deref(lb.ContainerPort)
		}) {
			return ecsapi.NewInvalidParameterException("The container %s did not have a container port %d defined.", deref(lb.ContainerName), deref(lb.ContainerPort))
		}
	}
	return nil
}

// UpdateService changes a service's spec; a new task definition, network
// or platform configuration, or forceNewDeployment, starts a deployment.
func (s *Service) UpdateService(ctx context.Context, in *ecsapi.UpdateServiceInput) (*ecsapi.UpdateServiceOutput, error) {
	sc := scopeOf(ctx)
	if in.DesiredCount != nil && *in.DesiredCount < 0 {
		return nil, ecsapi.NewInvalidParameterException("desiredCount must be 0 or more.")
	}
	if len(in.CapacityProviderStrategy) > 0 {
		return nil, ecsapi.NewInvalidParameterException("Updating the capacity provider strategy of a service is not supported by Berth yet.")
	}
	if len(in.PlacementStrategy) > 5 {
		return nil, ecsapi.NewInvalidParameterException("A service can have at most 5 placement strategies.")
	}
	if len(in.PlacementConstraints) > 10 {
		return nil, ecsapi.NewInvalidParameterException("A service can have at most 10 placement constraints.")
	}
	if err := checkLoadBalancers(in.LoadBalancers); err != nil {
		return nil, err
	}
	if err := s.checkNetwork(ctx, sc, in.NetworkConfiguration); err != nil {
		return nil, err
	}
	if err := s.checkRegistries(ctx, sc, in.ServiceRegistries); err != nil {
		return nil, err
	}
	if err := s.checkConnect(ctx, sc, in.ServiceConnectConfiguration); err != nil {
		return nil, err
	}
	var out ecsapi.ServiceShape
	err := s.st.Update(ctx, func(tx store.Tx) error {
		c, err := lookupCluster(tx, sc, deref(in.Cluster))
		if err != nil {
			return err
		}
		r, err := activeService(tx, sc, c, deref(in.Service))
		if err != nil {
			return err
		}
		if in.DeploymentController != nil && in.DeploymentController.Type != nil && string(*in.DeploymentController.Type) != r.Controller {
			return ecsapi.NewInvalidParameterException("Changing the deployment controller of a service from %s to %s is not supported by Berth yet.", r.Controller, *in.DeploymentController.Type)
		}
		if err := checkTaskSetServiceUpdate(r, in); err != nil {
			return err
		}
		daemon := r.Scheduling == string(ecsapi.SchedulingStrategyDaemon)
		now := s.clock()
		if in.DesiredCount != nil {
			if daemon {
				return ecsapi.NewInvalidParameterException("The daemon scheduling strategy does not support a desired count for services.")
			}
			r.DesiredCount = int(*in.DesiredCount)
		}
		if in.DeploymentConfiguration != nil {
			cfg := *in.DeploymentConfiguration
			if cfg.DeploymentCircuitBreaker == nil {
				cfg.DeploymentCircuitBreaker = r.Config.DeploymentCircuitBreaker
			}
			if err := checkDeploymentConfig(&cfg, daemon); err != nil {
				return err
			}
			r.Config = cfg
		}
		if in.HealthCheckGracePeriodSeconds != nil {
			if *in.HealthCheckGracePeriodSeconds < 0 {
				return ecsapi.NewInvalidParameterException("healthCheckGracePeriodSeconds must be 0 or more.")
			}
			r.GracePeriod = in.HealthCheckGracePeriodSeconds
		}
		if in.PlacementStrategy != nil {
			if daemon && len(in.PlacementStrategy) > 0 {
				return ecsapi.NewInvalidParameterException("Placement strategies are not supported with the daemon scheduling strategy.")
			}
			r.Strategy = in.PlacementStrategy
		}
		if in.PlacementConstraints != nil {
			r.Constraints = in.PlacementConstraints
		}
		if in.EnableExecuteCommand != nil {
			r.EnableExecuteCommand = *in.EnableExecuteCommand
		}
		if in.AvailabilityZoneRebalancing != nil {
			r.AZRebalancing = string(*in.AvailabilityZoneRebalancing)
		}
		if in.EnableECSManagedTags != nil {
			r.ManagedTags = *in.EnableECSManagedTags
		}
		if in.PropagateTags != nil {
			r.PropagateTags = string(*in.PropagateTags)
		}
		if in.ServiceRegistries != nil {
			r.Registries = in.ServiceRegistries
		}
		redeploy := deref(in.ForceNewDeployment)
		if in.ServiceConnectConfiguration != nil {
			// As in ECS, a Service Connect change rolls out with new tasks.
			r.Connect, redeploy = connectOf(c, in.ServiceConnectConfiguration), true
		}
		td := r.TaskDefinition
		if ref := deref(in.TaskDefinition); ref != "" {
			rec, err := lookupTaskDef(tx, sc, ref)
			if err != nil {
				return err
			}
			if rec == nil {
				return clientErr("TaskDefinition not found.")
			}
			td = sc.taskDefARN(rec.family(), rec.Revision)
			redeploy = redeploy || td != r.TaskDefinition
		}
		if in.NetworkConfiguration != nil && !reflect.DeepEqual(in.NetworkConfiguration, r.Network) {
			r.Network = in.NetworkConfiguration
			redeploy = true
		}
		if v := deref(in.PlatformVersion); v != "" && v != r.PlatformVersion {
			r.PlatformVersion = v
			redeploy = true
		}
		if in.LoadBalancers != nil {
			r.LoadBalancers = in.LoadBalancers
			redeploy = true
		}
		if r.Controller != string(ecsapi.DeploymentControllerTypeEcs) {
			// Task sets, not deployments, carry the tasks: new load
			// balancers of a CODE_DEPLOY service are for CodeDeploy's next
			// deployment, checked against the current task definition.
			if in.LoadBalancers != nil && r.TaskDefinition != "" {
				rec, err := lookupTaskDef(tx, sc, r.TaskDefinition)
				if err != nil {
					return err
				}
				if rec != nil {
					td := taskDefOutput(sc, rec)
					if err := checkLoadBalancerContainers(r.LoadBalancers, &td); err != nil {
						return err
					}
				}
			}
			redeploy = false
			r.rescaleTaskSets(now)
		}
		if redeploy {
			// The new deployment's task definition must fit.
			req := &taskRequest{cluster: c.Name, taskDefinition: td, network: r.Network, constraints: r.Constraints, strategy: r.Strategy}
			p, err := prepare(tx, sc, req, r.LaunchType)
			if err != nil {
				return err
			}
			if err := checkLoadBalancerContainers(r.LoadBalancers, p.td); err != nil {
				return err
			}
			r.newDeployment(td, now)
		}
		if d := r.primary(); d != nil {
			d.DesiredCount = r.DesiredCount
			d.UpdatedAt = now
		}
		r.Steady = false
		if err := syncServiceDeployments(tx, sc, r, now); err != nil {
			return err
		}
		out = serviceOutput(sc, r, true)
		return putDoc(tx, KindService, sc, serviceKey(r.Cluster, r.Name), r, now)
	})
	if err != nil {
		return nil, err
	}
	s.kickServices()
	return &ecsapi.UpdateServiceOutput{Service: &out}, nil
}

// DeleteService sets a service DRAINING (desiredCount 0); the controller
// stops its tasks and then makes it INACTIVE. Without force, a REPLICA
// service must first be scaled to 0.
func (s *Service) DeleteService(ctx context.Context, in *ecsapi.DeleteServiceInput) (*ecsapi.DeleteServiceOutput, error) {
	sc := scopeOf(ctx)
	var out ecsapi.ServiceShape
	err := s.st.Update(ctx, func(tx store.Tx) error {
		c, err := lookupCluster(tx, sc, deref(in.Cluster))
		if err != nil {
			return err
		}
		r, err := lookupService(tx, sc, c, deref(in.Service))
		if err != nil {
			return err
		}
		if r == nil {
			return errServiceNotFound()
		}
		if r.Status != svcActive {
			return ecsapi.NewServiceNotActiveException("Service was not ACTIVE.")
		}
		if !deref(in.Force) && r.Scheduling != string(ecsapi.SchedulingStrategyDaemon) && r.DesiredCount > 0 {
			return ecsapi.NewInvalidParameterException("The service cannot be stopped while it is scaled above 0.")
		}
		now := s.clock()
		r.Status, r.DesiredCount, r.DeletedAt = svcDraining, 0, now
		for i := range r.Deployments {
			r.Deployments[i].DesiredCount = 0
		}
		for i := range r.TaskSets {
			r.TaskSets[i].Status, r.TaskSets[i].UpdatedAt = taskSetDraining, now
		}
		r.rescaleTaskSets(now)
		r.Steady = false
		countService(c, r.LaunchType, svcActive, svcDraining)
		if err := putDoc(tx, kindCluster, sc, c.Name, c, now); err != nil {
			return err
		}
		out = serviceOutput(sc, r, true)
		return putDoc(tx, KindService, sc, serviceKey(r.Cluster, r.Name), r, now)
	})
	if err != nil {
		return nil, err
	}
	s.kickServices()
	return &ecsapi.DeleteServiceOutput{Service: &out}, nil
}

// DescribeServices describes up to 10 services; unknown ones are failures
// with reason MISSING. Tags come with include TAGS.
func (s *Service) DescribeServices(ctx context.Context, in *ecsapi.DescribeServicesInput) (*ecsapi.DescribeServicesOutput, error) {
	sc := scopeOf(ctx)
	if len(in.Services) == 0 || len(in.Services) > 10 {
		return nil, ecsapi.NewInvalidParameterException("services must have between 1 and 10 items.")
	}
	withTags := slices.Contains(in.Include, ecsapi.ServiceFieldTags)
	out := &ecsapi.DescribeServicesOutput{Services: []ecsapi.ServiceShape{}, Failures: []ecsapi.Failure{}}
	err := s.st.View(ctx, func(tx store.Tx) error {
		out.Services, out.Failures = out.Services[:0], out.Failures[:0]
		c, err := lookupCluster(tx, sc, deref(in.Cluster))
		if err != nil {
			return err
		}
		for _, ref := range in.Services {
			r, err := lookupService(tx, sc, c, ref)
			if err != nil {
				return err
			}
			if r == nil {
				arn := ref
				if !strings.HasPrefix(ref, "arn:") {
					arn = sc.serviceARN(c.Name, ref)
				}
				out.Failures = append(out.Failures, ecsapi.Failure{Arn: ptr(arn), Reason: ptr("MISSING")})
				continue
			}
			out.Services = append(out.Services, serviceOutput(sc, r, withTags))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListServices lists the ACTIVE and DRAINING services of a cluster.
func (s *Service) ListServices(ctx context.Context, in *ecsapi.ListServicesInput) (*ecsapi.ListServicesOutput, error) {
	sc := scopeOf(ctx)
	limit, err := pageSize(in.MaxResults, 10, 100)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &ecsapi.ListServicesOutput{ServiceArns: []string{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		out.ServiceArns, out.NextToken = out.ServiceArns[:0], nil
		c, err := lookupCluster(tx, sc, deref(in.Cluster))
		if err != nil {
			return err
		}
		var last string
		return listDocs(tx, KindService, sc, c.Name+"/", after, func(key string, r *serviceRecord) (bool, error) {
			switch {
			case r.Status == svcInactive,
				in.LaunchType != nil && r.LaunchType != string(*in.LaunchType),
				in.SchedulingStrategy != nil && r.Scheduling != string(*in.SchedulingStrategy):
				return true, nil
			}
			if len(out.ServiceArns) == limit {
				out.NextToken = encodeToken(last)
				return false, nil
			}
			out.ServiceArns = append(out.ServiceArns, sc.serviceARN(r.Cluster, r.Name))
			last = key
			return true, nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// serviceOutput builds the API shape of a service record.
func serviceOutput(sc scope, r *serviceRecord, withTags bool) ecsapi.ServiceShape {
	cfg := r.Config
	out := ecsapi.ServiceShape{
		ServiceArn:                    ptr(sc.serviceARN(r.Cluster, r.Name)),
		ServiceName:                   ptr(r.Name),
		ClusterArn:                    ptr(sc.clusterARN(r.Cluster)),
		LoadBalancers:                 nonNil(r.LoadBalancers),
		ServiceRegistries:             nonNil(r.Registries),
		Status:                        ptr(r.Status),
		DesiredCount:                  ptr(int32(r.DesiredCount)),
		RunningCount:                  ptr(int32(r.RunningCount)),
		PendingCount:                  ptr(int32(r.PendingCount)),
		TaskDefinition:                nonEmpty(r.TaskDefinition),
		DeploymentConfiguration:       &cfg,
		Deployments:                   []ecsapi.Deployment{},
		Events:                        []ecsapi.ServiceEvent{},
		CreatedAt:                     timestamp(r.CreatedAt),
		PlacementConstraints:          nonNil(r.Constraints),
		PlacementStrategy:             nonNil(r.Strategy),
		NetworkConfiguration:          r.Network,
		HealthCheckGracePeriodSeconds: r.GracePeriod,
		SchedulingStrategy:            ptr(ecsapi.SchedulingStrategy(r.Scheduling)),
		DeploymentController:          &ecsapi.DeploymentController{Type: ptr(ecsapi.DeploymentControllerType(r.Controller))},
		CreatedBy:                     nonEmpty(r.CreatedBy),
		EnableECSManagedTags:          ptr(r.ManagedTags),
		PropagateTags:                 ptr(ecsapi.PropagateTags(orDefault(r.PropagateTags, string(ecsapi.PropagateTagsNone)))),
		EnableExecuteCommand:          ptr(r.EnableExecuteCommand),
		RoleArn:                       nonEmpty(r.Role),
		AvailabilityZoneRebalancing:   ptr(ecsapi.AvailabilityZoneRebalancing(orDefault(r.AZRebalancing, string(ecsapi.AvailabilityZoneRebalancingDisabled)))),
	}
	if len(r.CapacityProviders) > 0 {
		out.CapacityProviderStrategy = r.CapacityProviders
	} else {
		out.LaunchType = ptr(ecsapi.LaunchType(r.LaunchType))
	}
	if r.LaunchType == launchFargate {
		out.PlatformVersion = nonEmpty(r.PlatformVersion)
		out.PlatformFamily = ptr("Linux")
	}
	for _, d := range r.Deployments {
		if d.Status == depInactive {
			continue
		}
		dep := ecsapi.Deployment{
			Id:                   ptr(d.ID),
			Status:               ptr(d.Status),
			TaskDefinition:       ptr(d.TaskDefinition),
			DesiredCount:         ptr(int32(d.DesiredCount)),
			PendingCount:         ptr(int32(d.PendingCount)),
			RunningCount:         ptr(int32(d.RunningCount)),
			FailedTasks:          ptr(int32(d.FailedTasks)),
			CreatedAt:            timestamp(d.CreatedAt),
			UpdatedAt:            timestamp(d.UpdatedAt),
			NetworkConfiguration: d.Network,
			RolloutState:         ptr(ecsapi.DeploymentRolloutState(d.RolloutState)),
			RolloutStateReason:   nonEmpty(d.RolloutStateReason),
		}
		dep.ServiceConnectConfiguration = r.Connect
		if len(r.CapacityProviders) > 0 {
			dep.CapacityProviderStrategy = r.CapacityProviders
		} else {
			dep.LaunchType = ptr(ecsapi.LaunchType(d.LaunchType))
		}
		if d.LaunchType == launchFargate {
			dep.PlatformVersion = nonEmpty(d.PlatformVersion)
			dep.PlatformFamily = ptr("Linux")
		}
		out.Deployments = append(out.Deployments, dep)
	}
	for _, e := range r.Events {
		out.Events = append(out.Events, ecsapi.ServiceEvent{Id: ptr(e.ID), CreatedAt: timestamp(e.CreatedAt), Message: ptr(e.Message)})
	}
	if r.Controller != string(ecsapi.DeploymentControllerTypeEcs) {
		out.TaskSets = []ecsapi.TaskSet{}
		for i := range r.TaskSets {
			out.TaskSets = append(out.TaskSets, taskSetOutput(sc, r, &r.TaskSets[i], false))
		}
	}
	if withTags {
		out.Tags = nonNil(r.Tags)
	}
	return out
}

// serviceTaggable resolves a service ARN for the tagging operations.
func (s *Service) serviceTaggable(tx store.Tx, sc scope, p parsedARN, now time.Time) (*taggable, error) {
	cluster, name, ok := strings.Cut(p.rest, "/")
	if !ok || !validName(name) {
		return nil, ecsapi.NewInvalidParameterException("The ARN arn:%s:ecs:%s:%s:service/%s is not a valid service ARN.", partition(sc.region), sc.region, sc.account, p.rest)
	}
	r, err := getDoc[serviceRecord](tx, KindService, sc, serviceKey(cluster, name))
	if err != nil {
		return nil, err
	}
	if r == nil || r.Status == svcInactive {
		return nil, errServiceNotFound()
	}
	return &taggable{&r.Tags, func() error { return putDoc(tx, KindService, sc, serviceKey(r.Cluster, r.Name), r, now) }}, nil
}
