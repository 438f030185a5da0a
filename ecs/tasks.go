package ecs

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/store"
)

// Fargate's current platform version, what LATEST resolves to.
const fargatePlatform = "1.4.0"

// taskRequest is what RunTask and StartTask have in common.
type taskRequest struct {
	cluster              string
	taskDefinition       string
	overrides            *ecsapi.TaskOverride
	startedBy, group     string
	tags                 []ecsapi.Tag
	propagateTags        ecsapi.PropagateTags
	managedTags          bool
	enableExecuteCommand bool
	network              *ecsapi.NetworkConfiguration
	platformVersion      string
	constraints          []ecsapi.PlacementConstraint
	strategy             []ecsapi.PlacementStrategy
}

func (r *taskRequest) check() error {
	if len(r.startedBy) > 36 {
		return ecsapi.NewInvalidParameterException("startedBy can have at most 36 characters.")
	}
	if len(r.group) > 255 {
		return ecsapi.NewInvalidParameterException("group can have at most 255 characters.")
	}
	if len(r.strategy) > 5 {
		return ecsapi.NewInvalidParameterException("A task can have at most 5 placement strategies.")
	}
	return checkTagKeys(r.tags)
}

// prepared is a request resolved against its task definition: everything
// but the placement of each task.
type prepared struct {
	req        *taskRequest
	td         *ecsapi.TaskDefinition
	tdTags     []ecsapi.Tag
	cpu, mem   string
	containers []containerRecord
	overrides  ecsapi.TaskOverride
	demand     resources
	rules      []constraint
}

// prepare resolves the task definition and checks the request against it:
// launch type compatibility, network configuration and overrides.
func prepare(tx store.Tx, sc scope, req *taskRequest, launch string) (*prepared, error) {
	rec, err := lookupTaskDef(tx, sc, req.taskDefinition)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, clientErr("TaskDefinition not found.")
	}
	if rec.Status != statusActive {
		return nil, clientErr("TaskDefinition is inactive")
	}
	td := taskDefOutput(sc, rec)
	if !slices.Contains(td.Compatibilities, ecsapi.Compatibility(launch)) {
		return nil, ecsapi.NewInvalidParameterException("Task definition does not support launch_type %s.", launch)
	}
	awsvpc := deref(td.NetworkMode) == ecsapi.NetworkModeAwsvpc
	switch {
	case awsvpc && (req.network == nil || req.network.AwsvpcConfiguration == nil):
		return nil, ecsapi.NewInvalidParameterException("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	case !awsvpc && req.network != nil && req.network.AwsvpcConfiguration != nil:
		return nil, ecsapi.NewInvalidParameterException("Network Configuration is not valid for the given networkMode of this task definition.")
	case awsvpc && len(req.network.AwsvpcConfiguration.Subnets) == 0:
		return nil, ecsapi.NewInvalidParameterException("subnets can not be empty.")
	case awsvpc && len(req.network.AwsvpcConfiguration.Subnets) > 16:
		return nil, ecsapi.NewInvalidParameterException("subnets can have at most 16 items.")
	case awsvpc && len(req.network.AwsvpcConfiguration.SecurityGroups) > 5:
		return nil, ecsapi.NewInvalidParameterException("securityGroups can have at most 5 items.")
	}
	p := &prepared{req: req, td: &td, tdTags: rec.Tags, cpu: deref(td.Cpu), mem: deref(td.Memory)}
	if req.overrides != nil {
		p.overrides = *req.overrides
	}
	if doc, _ := json.Marshal(p.overrides); len(doc) > 8192 {
		return nil, ecsapi.NewInvalidParameterException("Container Overrides length must be at most 8192")
	}
	if o := p.overrides.Cpu; o != nil {
		n, ok := parseCPU(*o)
		if !ok || n < minTaskCPU || n > maxTaskCPU {
			return nil, ecsapi.NewInvalidParameterException("Invalid 'cpu' setting for task.")
		}
		p.cpu = strconv.FormatInt(n, 10)
	}
	if o := p.overrides.Memory; o != nil {
		n, ok := parseMemory(*o)
		if !ok || n < minContainerMiB {
			return nil, ecsapi.NewInvalidParameterException("Invalid 'memory' setting for task.")
		}
		p.mem = strconv.FormatInt(n, 10)
	}
	if launch == launchFargate {
		cpu, _ := parseCPU(p.cpu)
		mem, _ := parseMemory(p.mem)
		if !fargateCombination(cpu, mem) {
			return nil, ecsapi.NewInvalidParameterException("No Fargate configuration exists for given values.")
		}
	}
	for _, o := range p.overrides.ContainerOverrides {
		if !slices.ContainsFunc(td.ContainerDefinitions, func(c ecsapi.ContainerDefinition) bool { return deref(c.Name) == deref(o.Name) }) {
			return nil, ecsapi.NewInvalidParameterException("Override for container named %s is not a container in the TaskDefinition.", deref(o.Name))
		}
	}
	// The containers as they will run: cpu and memory after overrides.
	a := AssignedTask{Definition: td, Overrides: p.overrides}
	taskMem, _ := parseMemory(p.mem)
	var cpuSum int64
	for _, c := range a.Containers() {
		if taskMem > 0 && c.Memory != nil && int64(*c.Memory) > taskMem {
			return nil, ecsapi.NewInvalidParameterException("The 'memory' setting for container '%s' is greater than for the task.", deref(c.Name))
		}
		cpuSum += int64(deref(c.Cpu))
		p.containers = append(p.containers, containerRecord{
			Name:              deref(c.Name),
			Image:             deref(c.Image),
			CPU:               deref(c.Cpu),
			Memory:            c.Memory,
			MemoryReservation: c.MemoryReservation,
		})
	}
	if taskCPU, _ := parseCPU(p.cpu); taskCPU > 0 && cpuSum > taskCPU {
		return nil, ecsapi.NewInvalidParameterException("The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'.")
	}
	// AWS lists every container in the overrides it returns.
	var cos []ecsapi.ContainerOverride
	for _, c := range td.ContainerDefinitions {
		i := slices.IndexFunc(p.overrides.ContainerOverrides, func(o ecsapi.ContainerOverride) bool { return deref(o.Name) == deref(c.Name) })
		if i >= 0 {
			cos = append(cos, p.overrides.ContainerOverrides[i])
		} else {
			cos = append(cos, ecsapi.ContainerOverride{Name: c.Name})
		}
	}
	p.overrides.ContainerOverrides = cos
	if p.overrides.InferenceAcceleratorOverrides == nil {
		p.overrides.InferenceAcceleratorOverrides = []ecsapi.InferenceAcceleratorOverride{}
	}
	p.demand = demandOf(&td, p.containers, p.cpu, p.mem)
	if launch != launchFargate {
		if p.rules, err = parseConstraints(req.constraints, td.PlacementConstraints); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// newTask builds the record of one task placed on in (nil for Fargate).
func (s *Service) newTask(sc scope, c *clusterRecord, p *prepared, launch, provider string, in *instanceRecord, now time.Time) *taskRecord {
	req := p.req
	rec := &taskRecord{
		ID:                   newID(),
		Cluster:              c.Name,
		TaskDefinitionArn:    deref(p.td.TaskDefinitionArn),
		Family:               deref(p.td.Family),
		LaunchType:           launch,
		CapacityProviderName: provider,
		CPU:                  p.cpu,
		Memory:               p.mem,
		Overrides:            p.overrides,
		StartedBy:            req.startedBy,
		Group:                req.group,
		EnableExecuteCommand: req.enableExecuteCommand,
		NetworkMode:          string(deref(p.td.NetworkMode)),
		CreatedAt:            now,
		DesiredStatus:        TaskRunning,
		Version:              1,
		CPUArchitecture:      s.local.Arch,
		AvailabilityZone:     sc.region + "a",
	}
	if rec.Group == "" {
		rec.Group = "family:" + rec.Family
	}
	switch req.propagateTags {
	case ecsapi.PropagateTagsTaskDefinition:
		rec.Tags = mergeTags(p.tdTags, req.tags)
	default:
		rec.Tags = slices.Clone(req.tags)
	}
	if req.managedTags {
		rec.Tags = mergeTags(rec.Tags, []ecsapi.Tag{{Key: ptr("aws:ecs:clusterName"), Value: ptr(c.Name)}})
	}
	if in != nil {
		rec.InstanceID, rec.HostID, rec.Reserved = in.ID, in.HostID, p.demand
		for _, a := range in.Attributes {
			switch deref(a.Name) {
			case "ecs.availability-zone":
				rec.AvailabilityZone = deref(a.Value)
			case "ecs.cpu-architecture":
				rec.CPUArchitecture = deref(a.Value)
			}
		}
	} else {
		// Fargate tasks run on the local host, which AWS does not show.
		rec.HostID = s.local.ID
		rec.PlatformVersion = req.platformVersion
		if rec.PlatformVersion == "" || rec.PlatformVersion == "LATEST" {
			rec.PlatformVersion = fargatePlatform
		}
		rec.PlatformFamily = "Linux"
		rec.EphemeralStorage = p.td.EphemeralStorage
		if rec.EphemeralStorage == nil {
			rec.EphemeralStorage = &ecsapi.EphemeralStorage{SizeInGiB: ptr(int32(20))}
		}
		if az := s.local.AvailabilityZone; az != "" {
			rec.AvailabilityZone = az
		}
	}
	if req.network != nil && req.network.AwsvpcConfiguration != nil {
		rec.Awsvpc = req.network.AwsvpcConfiguration
		rec.AttachmentID = newUUID()
		rec.ENIID = "eni-" + hexN(17)
	}
	rec.Status = TaskStatus{LastStatus: TaskProvisioning, HealthStatus: string(ecsapi.HealthStatusUnknown)}
	for _, pc := range p.containers {
		pc.UUID = newUUID()
		rec.Containers = append(rec.Containers, pc)
		rec.Status.Containers = append(rec.Status.Containers, ContainerStatus{
			Name: pc.Name, LastStatus: ContainerPending, HealthStatus: string(ecsapi.HealthStatusUnknown),
		})
	}
	return rec
}

// launchOf resolves RunTask's launch type and capacity provider strategy:
// the launch type given, else the strategy given, else the cluster's
// default strategy, else EC2. It returns the launch type and provider of
// the i-th task.
func launchOf(c *clusterRecord, lt *ecsapi.LaunchType, strategy []ecsapi.CapacityProviderStrategyItem) (func(i int) (string, string), error) {
	if lt != nil {
		switch *lt {
		case ecsapi.LaunchTypeEc2, ecsapi.LaunchTypeFargate, ecsapi.LaunchTypeExternal:
			l := string(*lt)
			return func(int) (string, string) { return l, "" }, nil
		}
		return nil, ecsapi.NewInvalidParameterException("Launch type %s is not supported by Berth.", *lt)
	}
	if strategy == nil {
		strategy = c.DefaultStrategy
	} else if err := checkStrategy(strategy, c.CapacityProviders); err != nil {
		return nil, err
	}
	if len(strategy) == 0 {
		return func(int) (string, string) { return launchEC2, "" }, nil
	}
	// Base tasks first, then by weight, in smooth weighted round robin so
	// that a 1:3 strategy gives F S S F S S ... (not F S S S in a block).
	var order []string
	for _, it := range strategy {
		for range min(deref(it.Base), 10) {
			order = append(order, deref(it.CapacityProvider))
		}
	}
	current := make([]int32, len(strategy))
	var total int32
	for _, it := range strategy {
		total += deref(it.Weight)
	}
	for len(order) < 10 && total > 0 {
		best := 0
		for i, it := range strategy {
			current[i] += deref(it.Weight)
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		order = append(order, deref(strategy[best].CapacityProvider))
	}
	return func(i int) (string, string) {
		// Custom providers have no Auto Scaling group behind them in Berth:
		// their tasks are EC2 tasks placed on the cluster's instances.
		p := order[min(i, len(order)-1)]
		if !isBuiltinProvider(p) {
			return launchEC2, p
		}
		return launchFargate, p
	}, nil
}

// RunTask starts count tasks (1 to 10) of a task definition: on Fargate, or
// placed on the cluster's container instances (EC2). Tasks that fit nowhere
// are failures with AWS's reasons (RESOURCE:MEMORY, ...).
func (s *Service) RunTask(ctx context.Context, in *ecsapi.RunTaskInput) (*ecsapi.RunTaskOutput, error) {
	sc := scopeOf(ctx)
	count := int(deref(in.Count))
	if in.Count == nil {
		count = 1
	}
	if count < 1 || count > 10 {
		return nil, ecsapi.NewInvalidParameterException("count must be between 1 and 10.")
	}
	if in.LaunchType != nil && len(in.CapacityProviderStrategy) > 0 {
		return nil, ecsapi.NewInvalidParameterException("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.")
	}
	req := &taskRequest{
		cluster:              deref(in.Cluster),
		taskDefinition:       deref(in.TaskDefinition),
		overrides:            in.Overrides,
		startedBy:            deref(in.StartedBy),
		group:                deref(in.Group),
		tags:                 in.Tags,
		propagateTags:        deref(in.PropagateTags),
		managedTags:          deref(in.EnableECSManagedTags),
		enableExecuteCommand: deref(in.EnableExecuteCommand),
		network:              in.NetworkConfiguration,
		platformVersion:      deref(in.PlatformVersion),
		constraints:          in.PlacementConstraints,
		strategy:             in.PlacementStrategy,
	}
	if err := req.check(); err != nil {
		return nil, err
	}
	if err := s.checkNetwork(ctx, sc, req.network); err != nil {
		return nil, err
	}
	token := deref(in.ClientToken)
	out := &ecsapi.RunTaskOutput{Tasks: []ecsapi.Task{}, Failures: []ecsapi.Failure{}}
	var hosts []string
	err := s.st.Update(ctx, func(tx store.Tx) error {
		out.Tasks, out.Failures, hosts = out.Tasks[:0], out.Failures[:0], nil
		c, err := s.clusterForWrite(tx, sc, req.cluster)
		if err != nil {
			return err
		}
		if token != "" {
			done, err := s.tasksOfToken(tx, sc, c.Name, token)
			if err != nil || done != nil {
				out.Tasks = done
				return err
			}
		}
		launchFor, err := launchOf(c, in.LaunchType, in.CapacityProviderStrategy)
		if err != nil {
			return err
		}
		// The launch type of the first task decides what is checked: a
		// strategy mixes providers of one launch type only (Fargate).
		launch, _ := launchFor(0)
		if launch == launchEC2 && req.platformVersion != "" {
			return errPlatformVersionEC2()
		}
		if launch == launchFargate && req.platformVersion != "" && req.platformVersion != "LATEST" && !strings.HasPrefix(req.platformVersion, "1.") {
			return ecsapi.NewInvalidParameterException("The specified platform version %s does not exist.", req.platformVersion)
		}
		p, err := prepare(tx, sc, req, launch)
		if err != nil {
			return err
		}
		var made []*taskRecord
		if launch == launchFargate {
			now := s.clock()
			for i := range count {
				_, provider := launchFor(i)
				rec := s.newTask(sc, c, p, launchFargate, provider, nil, now)
				if err := s.saveTask(tx, sc, nil, rec); err != nil {
					return err
				}
				made = append(made, rec)
			}
		} else {
			var fails []ecsapi.Failure
			made, fails, err = s.placeTasks(tx, sc, c, p, launch, count, nil)
			if err != nil {
				return err
			}
			out.Failures = fails
			// Tasks of a custom capacity provider name it, so that the
			// provider cannot be taken from the cluster under them.
			for i, rec := range made {
				if _, provider := launchFor(i); provider != "" {
					rec.CapacityProviderName = provider
					if err := putTask(tx, sc, rec, s.clock()); err != nil {
						return err
					}
				}
			}
		}
		for _, rec := range made {
			out.Tasks = append(out.Tasks, taskOutput(sc, rec, true))
			hosts = append(hosts, rec.HostID)
		}
		if token != "" && len(made) > 0 {
			keys := make([]string, len(made))
			for i, r := range made {
				keys[i] = r.ID
			}
			return putDoc(tx, kindRunToken, sc, c.Name+"/"+token, runToken{TaskIDs: keys, CreatedAt: s.clock()}, s.clock())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// AWS always sends both lists; clients index them without checking.
	out.Tasks, out.Failures = nonNil(out.Tasks), nonNil(out.Failures)
	s.notifier.notify(hosts...)
	return out, nil
}

// runToken remembers the tasks a RunTask with a clientToken made, so that a
// retry returns them instead of starting more.
type runToken struct {
	TaskIDs   []string  `json:"taskIds"`
	CreatedAt time.Time `json:"createdAt"`
}

// tasksOfToken returns the tasks an earlier RunTask with the same client
// token made, or nil when there was none.
func (s *Service) tasksOfToken(tx store.Tx, sc scope, cluster, token string) ([]ecsapi.Task, error) {
	tok, err := getDoc[runToken](tx, kindRunToken, sc, cluster+"/"+token)
	if err != nil || tok == nil {
		return nil, err
	}
	out := []ecsapi.Task{}
	for _, id := range tok.TaskIDs {
		rec, err := getTask(tx, sc, cluster, id)
		if err != nil {
			return nil, err
		}
		if rec != nil {
			out = append(out, taskOutput(sc, rec, true))
		}
	}
	return out, nil
}

// placeTasks places count tasks on the cluster's instances, or on the
// instances named (StartTask: one task each). It returns the tasks made and
// the failures, one per instance and reason.
func (s *Service) placeTasks(tx store.Tx, sc scope, c *clusterRecord, p *prepared, launch string, count int, named []string) ([]*taskRecord, []ecsapi.Failure, error) {
	now := s.clock()
	var insts []*instanceRecord
	var fails []ecsapi.Failure
	failed := map[[2]string]bool{}
	fail := func(arn, reason string) {
		if !failed[[2]string{arn, reason}] {
			failed[[2]string{arn, reason}] = true
			fails = append(fails, ecsapi.Failure{Arn: ptr(arn), Reason: ptr(reason)})
		}
	}
	if named == nil {
		err := listDocs(tx, kindInstance, sc, c.Name+"/", "", func(_ string, in *instanceRecord) (bool, error) {
			if in.Status != statusInactive {
				insts = append(insts, in)
			}
			return true, nil
		})
		if err != nil {
			return nil, nil, err
		}
		if !slices.ContainsFunc(insts, func(in *instanceRecord) bool { return in.Status == statusActive }) {
			return nil, nil, ecsapi.NewInvalidParameterException("No Container Instances were found in your cluster.")
		}
	} else {
		for _, ref := range named {
			in, err := lookupInstance(tx, sc, c, ref)
			if err != nil {
				return nil, nil, err
			}
			if in == nil || in.Status == statusInactive {
				fail(missingInstanceARN(sc, c.Name, ref), "MISSING")
				continue
			}
			insts = append(insts, in)
		}
	}
	var made []*taskRecord
	placedOn := map[string]bool{}
	place := func(candidates []*instanceRecord) error {
		var fit []*instanceRecord
		for _, in := range candidates {
			if why := placementProblem(in, p.td, p.demand, p.rules, placedOn[in.ID]); why != "" {
				fail(sc.instanceARN(in.Cluster, in.ID), why)
				continue
			}
			fit = append(fit, in)
		}
		in := choose(fit, p.req.strategy)
		if in == nil {
			return nil
		}
		in.Used = in.Used.plus(p.demand)
		if err := putDoc(tx, kindInstance, sc, instanceKey(in.Cluster, in.ID), in, now); err != nil {
			return err
		}
		rec := s.newTask(sc, c, p, launch, "", in, now)
		if err := s.saveTask(tx, sc, nil, rec); err != nil {
			return err
		}
		// saveTask moved the instance's counters: read it back so that the
		// next placement sees them.
		fresh, err := getDoc[instanceRecord](tx, kindInstance, sc, instanceKey(in.Cluster, in.ID))
		if err != nil {
			return err
		}
		if fresh != nil {
			*in = *fresh
		}
		placedOn[in.ID] = true
		made = append(made, rec)
		return nil
	}
	if named != nil {
		for _, in := range insts {
			if err := place([]*instanceRecord{in}); err != nil {
				return nil, nil, err
			}
		}
		return made, fails, nil
	}
	for range count {
		if err := place(insts); err != nil {
			return nil, nil, err
		}
	}
	if len(made) == count {
		// Failures explain tasks that were not placed; there are none.
		fails = nil
	}
	return made, fails, nil
}

// StartTask starts a task on each of the named container instances.
func (s *Service) StartTask(ctx context.Context, in *ecsapi.StartTaskInput) (*ecsapi.StartTaskOutput, error) {
	sc := scopeOf(ctx)
	if len(in.ContainerInstances) == 0 || len(in.ContainerInstances) > 10 {
		return nil, ecsapi.NewInvalidParameterException("containerInstances must have between 1 and 10 items.")
	}
	req := &taskRequest{
		cluster:              deref(in.Cluster),
		taskDefinition:       deref(in.TaskDefinition),
		overrides:            in.Overrides,
		startedBy:            deref(in.StartedBy),
		group:                deref(in.Group),
		tags:                 in.Tags,
		propagateTags:        deref(in.PropagateTags),
		managedTags:          deref(in.EnableECSManagedTags),
		enableExecuteCommand: deref(in.EnableExecuteCommand),
		network:              in.NetworkConfiguration,
	}
	if err := req.check(); err != nil {
		return nil, err
	}
	if err := s.checkNetwork(ctx, sc, req.network); err != nil {
		return nil, err
	}
	out := &ecsapi.StartTaskOutput{Tasks: []ecsapi.Task{}, Failures: []ecsapi.Failure{}}
	var hosts []string
	err := s.st.Update(ctx, func(tx store.Tx) error {
		out.Tasks, out.Failures, hosts = out.Tasks[:0], out.Failures[:0], nil
		c, err := s.clusterForWrite(tx, sc, req.cluster)
		if err != nil {
			return err
		}
		p, err := prepare(tx, sc, req, launchEC2)
		if err != nil {
			return err
		}
		made, fails, err := s.placeTasks(tx, sc, c, p, launchEC2, 0, in.ContainerInstances)
		if err != nil {
			return err
		}
		out.Failures = fails
		for _, rec := range made {
			out.Tasks = append(out.Tasks, taskOutput(sc, rec, true))
			hosts = append(hosts, rec.HostID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// AWS always sends both lists; clients index them without checking.
	out.Tasks, out.Failures = nonNil(out.Tasks), nonNil(out.Failures)
	s.notifier.notify(hosts...)
	return out, nil
}

// StopTask asks for a task to stop: desiredStatus STOPPED, stopCode
// UserInitiated, the reason given. Its agent does the stopping.
func (s *Service) StopTask(ctx context.Context, in *ecsapi.StopTaskInput) (*ecsapi.StopTaskOutput, error) {
	sc := scopeOf(ctx)
	reason := deref(in.Reason)
	if reason == "" {
		reason = "Task stopped by user"
	}
	if len(reason) > 1024 {
		return nil, ecsapi.NewInvalidParameterException("reason can have at most 1024 characters.")
	}
	var out ecsapi.Task
	var host string
	err := s.st.Update(ctx, func(tx store.Tx) error {
		rec, err := lookupTask(tx, sc, deref(in.Cluster), deref(in.Task))
		if err != nil {
			return err
		}
		if rec.DesiredStatus != TaskStopped {
			old := *rec
			now := s.clock()
			rec.DesiredStatus = TaskStopped
			rec.StoppingAt = now
			rec.StopCode = string(ecsapi.TaskStopCodeUserInitiated)
			rec.StoppedReason = reason
			rec.Version++
			if err := s.saveTask(tx, sc, &old, rec); err != nil {
				return err
			}
			host = rec.HostID
		}
		out = taskOutput(sc, rec, true)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.notifier.notify(host)
	return &ecsapi.StopTaskOutput{Task: &out}, nil
}

// lookupTask finds a task by id (in the cluster of the request) or ARN.
func lookupTask(tx store.Tx, sc scope, clusterParam, ref string) (*taskRecord, error) {
	c, err := lookupCluster(tx, sc, clusterParam)
	if err != nil && !strings.HasPrefix(ref, "arn:") {
		return nil, err
	}
	cluster := ""
	if c != nil {
		cluster = c.Name
	}
	name, id, ok := idRef(sc, "task", cluster, ref)
	if !ok || name == "" {
		return nil, ecsapi.NewInvalidParameterException("The referenced task was not found.")
	}
	rec, err := getTask(tx, sc, name, id)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, ecsapi.NewInvalidParameterException("The referenced task was not found.")
	}
	return rec, nil
}

// DescribeTasks describes up to 100 tasks; unknown ones are failures with
// reason MISSING. Tags come with include TAGS.
func (s *Service) DescribeTasks(ctx context.Context, in *ecsapi.DescribeTasksInput) (*ecsapi.DescribeTasksOutput, error) {
	sc := scopeOf(ctx)
	if len(in.Tasks) > 100 {
		return nil, ecsapi.NewInvalidParameterException("tasks can have at most 100 items.")
	}
	if len(in.Tasks) == 0 {
		return nil, ecsapi.NewInvalidParameterException("Tasks cannot be empty.")
	}
	withTags := slices.Contains(in.Include, ecsapi.TaskFieldTags)
	out := &ecsapi.DescribeTasksOutput{Tasks: []ecsapi.Task{}, Failures: []ecsapi.Failure{}}
	err := s.st.View(ctx, func(tx store.Tx) error {
		out.Tasks, out.Failures = out.Tasks[:0], out.Failures[:0]
		c, err := lookupCluster(tx, sc, deref(in.Cluster))
		if err != nil {
			return err
		}
		ids := make([]string, len(in.Tasks))
		for i, ref := range in.Tasks {
			if cluster, id, ok := idRef(sc, "task", c.Name, ref); ok && cluster == c.Name {
				ids[i] = id // a task of another cluster is MISSING here
			}
		}
		recs, err := s.describeTasks(tx, sc, c.Name, ids)
		if err != nil {
			return err
		}
		for i, ref := range in.Tasks {
			id := ids[i]
			rec := recs[id]
			if rec == nil {
				arn := ref
				if id != "" && ref == id {
					arn = sc.taskARN(c.Name, id)
				}
				out.Failures = append(out.Failures, ecsapi.Failure{Arn: ptr(arn), Reason: ptr("MISSING")})
				continue
			}
			out.Tasks = append(out.Tasks, taskOutput(sc, rec, withTags))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListTasks lists a cluster's tasks by desired status (default RUNNING),
// family, startedBy, service name, container instance and launch type.
func (s *Service) ListTasks(ctx context.Context, in *ecsapi.ListTasksInput) (*ecsapi.ListTasksOutput, error) {
	sc := scopeOf(ctx)
	limit, err := pageSize(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	desired := string(ecsapi.DesiredStatusRunning)
	if in.DesiredStatus != nil {
		desired = string(*in.DesiredStatus)
	}
	group := ""
	if n := deref(in.ServiceName); n != "" {
		group = "service:" + n
	}
	out := &ecsapi.ListTasksOutput{TaskArns: []string{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		out.TaskArns, out.NextToken = out.TaskArns[:0], nil
		c, err := lookupCluster(tx, sc, deref(in.Cluster))
		if err != nil {
			return err
		}
		instance := ""
		if ref := deref(in.ContainerInstance); ref != "" {
			_, id, ok := idRef(sc, "container-instance", c.Name, ref)
			if !ok {
				return ecsapi.NewInvalidParameterException("The container instance %s is not valid.", ref)
			}
			instance = id
			s.heard(sc, c.Name, id)
		}
		f := store.ECSTaskFilter{
			Family: deref(in.Family), StartedBy: deref(in.StartedBy), Group: group,
			DesiredStatus: desired, Instance: instance,
		}
		if in.LaunchType != nil {
			f.LaunchType = string(*in.LaunchType)
		}
		if (in.Family != nil && f.Family == "") || (in.StartedBy != nil && f.StartedBy == "") {
			return nil // an empty filter value matches no task
		}
		rs, err := tx.ListECSTasks(sc.account, sc.region, c.Name, f, store.Page{After: after, Limit: limit + 1}, false)
		if err != nil {
			return err
		}
		for i, r := range rs {
			if i == limit {
				out.NextToken = encodeToken(rs[i-1].ID)
				break
			}
			out.TaskArns = append(out.TaskArns, sc.taskARN(r.Cluster, r.ID))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// taskOutput builds the API shape of a task record.
func taskOutput(sc scope, r *taskRecord, withTags bool) ecsapi.Task {
	st := &r.Status
	taskARN := sc.taskARN(r.Cluster, r.ID)
	t := ecsapi.Task{
		Attachments:          []ecsapi.Attachment{},
		AvailabilityZone:     nonEmpty(r.AvailabilityZone),
		ClusterArn:           ptr(sc.clusterARN(r.Cluster)),
		ConnectivityAt:       timestamp(st.ConnectivityAt),
		Cpu:                  nonEmpty(r.CPU),
		Memory:               nonEmpty(r.Memory),
		CreatedAt:            timestamp(r.CreatedAt),
		DesiredStatus:        ptr(r.DesiredStatus),
		EnableExecuteCommand: ptr(r.EnableExecuteCommand),
		ExecutionStoppedAt:   timestamp(st.ExecutionStoppedAt),
		Group:                nonEmpty(r.Group),
		HealthStatus:         ptr(ecsapi.HealthStatus(orDefault(st.HealthStatus, string(ecsapi.HealthStatusUnknown)))),
		LastStatus:           ptr(st.LastStatus),
		LaunchType:           ptr(ecsapi.LaunchType(r.LaunchType)),
		Overrides:            &r.Overrides,
		PlatformVersion:      nonEmpty(r.PlatformVersion),
		PlatformFamily:       nonEmpty(r.PlatformFamily),
		PullStartedAt:        timestamp(st.PullStartedAt),
		PullStoppedAt:        timestamp(st.PullStoppedAt),
		StartedAt:            timestamp(st.StartedAt),
		StartedBy:            nonEmpty(r.StartedBy),
		StoppedAt:            timestamp(st.StoppedAt),
		TaskArn:              ptr(taskARN),
		TaskDefinitionArn:    ptr(r.TaskDefinitionArn),
		Version:              ptr(r.Version),
		EphemeralStorage:     r.EphemeralStorage,
	}
	if r.CPUArchitecture != "" {
		t.Attributes = []ecsapi.Attribute{{Name: ptr("ecs.cpu-architecture"), Value: ptr(r.CPUArchitecture)}}
	}
	if st.Connectivity != "" {
		t.Connectivity = ptr(ecsapi.Connectivity(st.Connectivity))
	}
	if r.CapacityProviderName != "" {
		t.CapacityProviderName = ptr(r.CapacityProviderName)
	}
	if r.InstanceID != "" && r.LaunchType != launchFargate {
		t.ContainerInstanceArn = ptr(sc.instanceARN(r.Cluster, r.InstanceID))
	}
	if r.LaunchType == launchFargate && r.EphemeralStorage != nil {
		t.FargateEphemeralStorage = &ecsapi.TaskEphemeralStorage{SizeInGiB: r.EphemeralStorage.SizeInGiB}
	}
	// The user's stop code and reason win over the agent's.
	code, reason := r.StopCode, r.StoppedReason
	if code == "" {
		code, reason = st.StopCode, st.StoppedReason
	}
	if code != "" {
		t.StopCode = ptr(ecsapi.TaskStopCode(code))
	}
	t.StoppedReason = nonEmpty(reason)
	stopping := r.StoppingAt
	if stopping.IsZero() {
		stopping = st.StoppingAt
	}
	t.StoppingAt = timestamp(stopping)
	if withTags {
		t.Tags = nonNil(r.Tags)
	}
	var eni *ecsapi.NetworkInterface
	if r.AttachmentID != "" {
		t.Attachments = append(t.Attachments, eniAttachment(sc, r))
		if st.PrivateIPv4Address != "" {
			eni = &ecsapi.NetworkInterface{AttachmentId: ptr(r.AttachmentID), PrivateIpv4Address: ptr(st.PrivateIPv4Address)}
		}
	}
	t.Containers = make([]ecsapi.Container, len(r.Containers))
	for i, c := range r.Containers {
		var cs ContainerStatus
		if i < len(st.Containers) {
			cs = st.Containers[i]
		}
		out := ecsapi.Container{
			ContainerArn:      ptr(sc.containerARN(r.Cluster, r.ID, c.UUID)),
			TaskArn:           ptr(taskARN),
			Name:              ptr(c.Name),
			Image:             ptr(c.Image),
			ImageDigest:       nonEmpty(cs.ImageDigest),
			RuntimeId:         nonEmpty(cs.RuntimeID),
			LastStatus:        ptr(orDefault(cs.LastStatus, ContainerPending)),
			ExitCode:          cs.ExitCode,
			Reason:            nonEmpty(cs.Reason),
			NetworkBindings:   nonNil(cs.NetworkBindings),
			NetworkInterfaces: []ecsapi.NetworkInterface{},
			HealthStatus:      ptr(ecsapi.HealthStatus(orDefault(cs.HealthStatus, string(ecsapi.HealthStatusUnknown)))),
			Cpu:               ptr(strconv.Itoa(int(c.CPU))),
			GpuIds:            c.GPUIDs,
		}
		if c.Memory != nil {
			out.Memory = ptr(strconv.Itoa(int(*c.Memory)))
		}
		if c.MemoryReservation != nil {
			out.MemoryReservation = ptr(strconv.Itoa(int(*c.MemoryReservation)))
		}
		if eni != nil {
			out.NetworkInterfaces = []ecsapi.NetworkInterface{*eni}
		}
		t.Containers[i] = out
	}
	return t
}

// eniAttachment is the ElasticNetworkInterface attachment of an awsvpc task,
// its status following the task's: PRECREATED while provisioning, ATTACHED
// while it runs, DETACHED once it stopped.
func eniAttachment(sc scope, r *taskRecord) ecsapi.Attachment {
	st := &r.Status
	status := "ATTACHED"
	switch {
	case st.LastStatus == TaskProvisioning:
		status = "PRECREATED"
	case st.LastStatus == TaskStopped || st.LastStatus == TaskDeprovisioning:
		status = "DETACHED"
	}
	kv := func(n, v string) ecsapi.KeyValuePair { return ecsapi.KeyValuePair{Name: ptr(n), Value: ptr(v)} }
	var details []ecsapi.KeyValuePair
	if r.Awsvpc != nil && len(r.Awsvpc.Subnets) > 0 {
		details = append(details, kv("subnetId", r.Awsvpc.Subnets[0]))
	}
	if status != "PRECREATED" {
		details = append(details, kv("networkInterfaceId", r.ENIID))
		if st.MACAddress != "" {
			details = append(details, kv("macAddress", st.MACAddress))
		}
		if ip := st.PrivateIPv4Address; ip != "" {
			details = append(details, kv("privateDnsName", privateDNSName(sc.region, ip)), kv("privateIPv4Address", ip))
		}
	}
	return ecsapi.Attachment{Id: ptr(r.AttachmentID), Type: ptr("ElasticNetworkInterface"), Status: ptr(status), Details: nonNil(details)}
}

// privateDNSName is the EC2 private DNS name of an address in a region.
func privateDNSName(region, ip string) string {
	host := "ip-" + strings.ReplaceAll(ip, ".", "-")
	if region == "us-east-1" {
		return host + ".ec2.internal"
	}
	return host + "." + region + ".compute.internal"
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// errPlatformVersionEC2 is AWS's answer to a platform version on EC2, where
// only Fargate has platform versions.
func errPlatformVersionEC2() error {
	return ecsapi.NewInvalidParameterException("The platform version must be null when specifying an EC2 launch type.")
}
