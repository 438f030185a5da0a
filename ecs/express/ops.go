package express

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/awsapi"
)

// AWS's documented defaults (API reference of CreateExpressGatewayService).
const (
	defaultCPU         = "256"
	defaultMemory      = "512"
	defaultHealthPath  = "/ping"
	defaultPort        = 80
	defaultTargetValue = 60
	// Berth's choices where AWS documents none.
	defaultMinTasks = 1
	defaultMaxTasks = 20
	containerName   = "main"
)

var (
	namePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)
	rolePattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/.+$`)
)

func invalid(format string, args ...any) error {
	return ecsapi.NewInvalidParameterException(format, args...)
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// setIf and setSliceIf apply one field of an update request: a field the
// request leaves out (nil) keeps its current value.
func setIf[T any](dst **T, src *T) {
	if src != nil {
		*dst = src
	}
}

func setSliceIf[T any](dst *[]T, src []T) {
	if src != nil {
		*dst = src
	}
}

// clone deep-copies a generated wire value through its JSON form.
func clone[T any](v T) T {
	var out T
	b, _ := json.Marshal(v)
	_ = json.Unmarshal(b, &out)
	return out
}

func same(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

func randomDigits(n int) string {
	var sb strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		sb.WriteString(d.String())
	}
	return sb.String()
}

func shortHash(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])[:8]
}

// arnPrefix is "arn:<partition>:ecs:<region>:<account>:".
func arnPrefix(account, region string) string {
	p := "aws"
	switch {
	case strings.HasPrefix(region, "cn-"):
		p = "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		p = "aws-us-gov"
	}
	return "arn:" + p + ":ecs:" + region + ":" + account + ":"
}

// clusterName resolves a cluster parameter (short name or ARN, empty for
// default).
func clusterName(account, region, ref string) (string, error) {
	if ref == "" {
		return "default", nil
	}
	if !strings.HasPrefix(ref, "arn:") {
		if !namePattern.MatchString(ref) {
			return "", invalid("Cluster name %q is not valid: up to 255 letters, numbers, hyphens and underscores.", ref)
		}
		return ref, nil
	}
	rest, ok := strings.CutPrefix(ref, arnPrefix(account, region)+"cluster/")
	if !ok || !namePattern.MatchString(rest) {
		return "", invalid("Invalid cluster ARN %q.", ref)
	}
	return rest, nil
}

// serviceRef splits an Express service ARN into cluster and name.
func serviceRef(account, region, arn string) (string, string, error) {
	rest, ok := strings.CutPrefix(arn, arnPrefix(account, region)+"service/")
	cluster, name, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || !namePattern.MatchString(cluster) || !namePattern.MatchString(name) {
		return "", "", invalid("Invalid service ARN %q: expected arn:aws:ecs:%s:%s:service/<cluster>/<name>.", arn, region, account)
	}
	return cluster, name, nil
}

// hostLabel makes a DNS label of a service name.
func hostLabel(name string) string {
	l := strings.Trim(strings.ReplaceAll(strings.ToLower(name), "_", "-"), "-")
	if len(l) > 40 {
		l = strings.TrimRight(l[:40], "-")
	}
	if l == "" {
		l = "svc"
	}
	return l
}

func checkRole(field, arn string, required bool) error {
	if arn == "" {
		if required {
			return invalid("%s is required.", field)
		}
		return nil
	}
	if !rolePattern.MatchString(arn) {
		return invalid("%s %q is not a valid IAM role ARN.", field, arn)
	}
	return nil
}

// checkConfig validates a whole configuration, defaults filled in.
func checkConfig(c *ecsapi.ExpressGatewayServiceConfiguration) error {
	if err := checkRole("executionRoleArn", str(c.ExecutionRoleArn), true); err != nil {
		return err
	}
	if err := checkRole("taskRoleArn", str(c.TaskRoleArn), false); err != nil {
		return err
	}
	pc := c.PrimaryContainer
	if pc == nil || strings.TrimSpace(str(pc.Image)) == "" {
		return invalid("primaryContainer.image is required.")
	}
	if p := deref(pc.ContainerPort); p < 1 || p > 65535 {
		return invalid("primaryContainer.containerPort must be between 1 and 65535.")
	}
	if p := str(c.HealthCheckPath); !strings.HasPrefix(p, "/") || len(p) > 1024 {
		return invalid("healthCheckPath must start with a forward slash (/) and be at most 1024 characters.")
	}
	for _, kv := range pc.Environment {
		if str(kv.Name) == "" {
			return invalid("primaryContainer.environment: every variable needs a name.")
		}
	}
	for _, sec := range pc.Secrets {
		if str(sec.Name) == "" || str(sec.ValueFrom) == "" {
			return invalid("primaryContainer.secrets: every secret needs a name and a valueFrom.")
		}
	}
	st := c.ScalingTarget
	lo, hi := deref(st.MinTaskCount), deref(st.MaxTaskCount)
	if lo < 0 || hi < 1 || lo > hi {
		return invalid("scalingTarget: minTaskCount (%d) must be at least 0 and at most maxTaskCount (%d), and maxTaskCount at least 1.", lo, hi)
	}
	if m := deref(st.AutoScalingMetric); m != "" && !slices.Contains(m.Values(), m) {
		return invalid("scalingTarget.autoScalingMetric %q is not one of %v.", m, m.Values())
	}
	if v := deref(st.AutoScalingTargetValue); v < 1 {
		return invalid("scalingTarget.autoScalingTargetValue must be at least 1.")
	}
	if _, err := strconv.Atoi(str(c.Cpu)); err != nil {
		return invalid("cpu %q must be a number of CPU units, such as 256.", str(c.Cpu))
	}
	if _, err := strconv.Atoi(str(c.Memory)); err != nil {
		return invalid("memory %q must be a number of MiB, such as 512.", str(c.Memory))
	}
	return nil
}

// withDefaults fills in what AWS defaults.
func withDefaults(c *ecsapi.ExpressGatewayServiceConfiguration, cluster, name string) {
	if str(c.Cpu) == "" {
		c.Cpu = new(defaultCPU)
	}
	if str(c.Memory) == "" {
		c.Memory = new(defaultMemory)
	}
	if str(c.HealthCheckPath) == "" {
		c.HealthCheckPath = new(defaultHealthPath)
	}
	if c.PrimaryContainer == nil {
		c.PrimaryContainer = &ecsapi.ExpressGatewayContainer{}
	}
	pc := c.PrimaryContainer
	if pc.ContainerPort == nil {
		pc.ContainerPort = new(int32(defaultPort))
	}
	if pc.AwsLogsConfiguration == nil {
		pc.AwsLogsConfiguration = &ecsapi.ExpressGatewayServiceAwsLogsConfiguration{}
	}
	if str(pc.AwsLogsConfiguration.LogGroup) == "" {
		pc.AwsLogsConfiguration.LogGroup = new("/aws/ecs/" + cluster + "/" + name)
	}
	if str(pc.AwsLogsConfiguration.LogStreamPrefix) == "" {
		pc.AwsLogsConfiguration.LogStreamPrefix = new("ecs")
	}
	if c.ScalingTarget == nil {
		c.ScalingTarget = &ecsapi.ExpressGatewayScalingTarget{}
	}
	st := c.ScalingTarget
	if st.MinTaskCount == nil {
		st.MinTaskCount = new(int32(defaultMinTasks))
	}
	if st.MaxTaskCount == nil {
		st.MaxTaskCount = new(max(int32(defaultMaxTasks), *st.MinTaskCount))
	}
	if st.AutoScalingMetric == nil {
		st.AutoScalingMetric = new(ecsapi.ExpressGatewayServiceScalingMetricAverageCpu)
	}
	if st.AutoScalingTargetValue == nil {
		st.AutoScalingTargetValue = new(int32(defaultTargetValue))
	}
}

// taskDefinition is the task definition a configuration runs: one
// essential container, Fargate, awsvpc, logs to CloudWatch Logs.
func taskDefinition(family, region string, c *ecsapi.ExpressGatewayServiceConfiguration) *ecsapi.RegisterTaskDefinitionInput {
	pc := c.PrimaryContainer
	logs := &ecsapi.LogConfiguration{LogDriver: new(ecsapi.LogDriverAwslogs), Options: map[string]string{
		"awslogs-group": str(pc.AwsLogsConfiguration.LogGroup), "awslogs-region": region,
		"awslogs-stream-prefix": str(pc.AwsLogsConfiguration.LogStreamPrefix), "awslogs-create-group": "true",
	}}
	def := ecsapi.ContainerDefinition{
		Name: new(containerName), Image: pc.Image, Essential: new(true),
		PortMappings:     []ecsapi.PortMapping{{ContainerPort: pc.ContainerPort, Protocol: new(ecsapi.TransportProtocolTcp)}},
		Command:          pc.Command,
		Environment:      pc.Environment,
		Secrets:          pc.Secrets,
		LogConfiguration: logs,
	}
	if rc := pc.RepositoryCredentials; rc != nil && str(rc.CredentialsParameter) != "" {
		def.RepositoryCredentials = &ecsapi.RepositoryCredentials{CredentialsParameter: rc.CredentialsParameter}
	}
	return &ecsapi.RegisterTaskDefinitionInput{
		Family: &family, ExecutionRoleArn: c.ExecutionRoleArn, TaskRoleArn: c.TaskRoleArn,
		NetworkMode: new(ecsapi.NetworkModeAwsvpc), RequiresCompatibilities: []ecsapi.Compatibility{ecsapi.CompatibilityFargate},
		Cpu: c.Cpu, Memory: c.Memory, ContainerDefinitions: []ecsapi.ContainerDefinition{def},
	}
}

// taskShape is the part of a configuration its task definition is made
// of: a change to it is a new task definition revision.
func taskShape(c *ecsapi.ExpressGatewayServiceConfiguration) any {
	return []any{c.ExecutionRoleArn, c.TaskRoleArn, c.Cpu, c.Memory, c.PrimaryContainer}
}

func (s *Service) registerTaskDefinition(ctx context.Context, family, region string, c *ecsapi.ExpressGatewayServiceConfiguration) (string, error) {
	out, err := s.o.ECS.RegisterTaskDefinition(ctx, taskDefinition(family, region, c))
	if err != nil {
		return "", err
	}
	return str(out.TaskDefinition.TaskDefinitionArn), nil
}

// ensureCluster returns the cluster's ARN; the default cluster is created
// when missing, as Express Mode does.
func (s *Service) ensureCluster(ctx context.Context, name string, explicit bool) (string, error) {
	out, err := s.o.ECS.DescribeClusters(ctx, &ecsapi.DescribeClustersInput{Clusters: []string{name}})
	if err != nil {
		return "", err
	}
	for _, c := range out.Clusters {
		if str(c.Status) == "ACTIVE" {
			return str(c.ClusterArn), nil
		}
	}
	if explicit && name != "default" {
		return "", ecsapi.NewClusterNotFoundException("Cluster not found.")
	}
	created, err := s.o.ECS.CreateCluster(ctx, &ecsapi.CreateClusterInput{ClusterName: &name})
	if err != nil {
		return "", err
	}
	return str(created.Cluster.ClusterArn), nil
}

// ecsService describes the ECS service behind an Express service; nil
// when ECS no longer knows it.
func (s *Service) ecsService(ctx context.Context, cluster, name string, tags bool) (*ecsapi.ServiceShape, error) {
	in := &ecsapi.DescribeServicesInput{Cluster: &cluster, Services: []string{name}}
	if tags {
		in.Include = []ecsapi.ServiceField{ecsapi.ServiceFieldTags}
	}
	out, err := s.o.ECS.DescribeServices(ctx, in)
	if e := awsapi.AsError(err); e != nil && e.Code == ecsapi.CodeClusterNotFoundException {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(out.Services) == 0 {
		return nil, nil
	}
	return &out.Services[0], nil
}

func active(svc *ecsapi.ServiceShape) bool { return svc != nil && str(svc.Status) == "ACTIVE" }

// CreateExpressGatewayService provisions an Express service: the shared
// load balancer of the cluster's VPC (made on first use), a target group,
// a host-header rule, security groups, a task definition and the ECS
// service.
func (s *Service) CreateExpressGatewayService(ctx context.Context, in *ecsapi.CreateExpressGatewayServiceInput) (*ecsapi.CreateExpressGatewayServiceOutput, error) {
	id := awsapi.IdentityFrom(ctx)
	account, region := id.AccountID, id.Region
	if err := checkRole("infrastructureRoleArn", str(in.InfrastructureRoleArn), true); err != nil {
		return nil, err
	}
	cluster, err := clusterName(account, region, str(in.Cluster))
	if err != nil {
		return nil, err
	}
	name := str(in.ServiceName)
	if name == "" {
		// AWS generates a unique name; this one says where it came from.
		base := "express"
		if pc := in.PrimaryContainer; pc != nil {
			img := str(pc.Image)
			img = img[strings.LastIndex(img, "/")+1:]
			img, _, _ = strings.Cut(img, "@")
			img, _, _ = strings.Cut(img, ":")
			if namePattern.MatchString(img) && len(img) <= 40 {
				base = img
			}
		}
		name = base + "-" + randomHex(8)
	}
	if !namePattern.MatchString(name) {
		return nil, invalid("Service name %q is not valid: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens.", name)
	}
	if len(in.Tags) > 50 {
		return nil, invalid("Too many tags: at most 50 per service.")
	}
	cfg := ecsapi.ExpressGatewayServiceConfiguration{
		ExecutionRoleArn: in.ExecutionRoleArn, TaskRoleArn: in.TaskRoleArn, Cpu: in.Cpu, Memory: in.Memory,
		HealthCheckPath: in.HealthCheckPath, PrimaryContainer: clone(in.PrimaryContainer), ScalingTarget: clone(in.ScalingTarget),
		NetworkConfiguration: clone(in.NetworkConfiguration),
	}
	withDefaults(&cfg, cluster, name)
	if err := checkConfig(&cfg); err != nil {
		return nil, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	clusterARN, err := s.ensureCluster(ctx, cluster, str(in.Cluster) != "")
	if err != nil {
		return nil, err
	}
	if svc, err := s.ecsService(ctx, cluster, name, false); err != nil {
		return nil, err
	} else if svc != nil && str(svc.Status) != "INACTIVE" {
		return nil, invalid("Creation of service was not idempotent.")
	}

	now := s.now()
	r := &record{Cluster: cluster, Name: name, ClusterARN: clusterARN,
		ServiceARN:   arnPrefix(account, region) + "service/" + cluster + "/" + name,
		InfraRoleARN: str(in.InfrastructureRoleArn), CreatedAt: now, UpdatedAt: now}
	var undo []func()
	fail := func(err error) (*ecsapi.CreateExpressGatewayServiceOutput, error) {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return nil, err
	}
	undo, err = s.provision(ctx, account, region, r, &cfg)
	if err != nil {
		return fail(err)
	}
	td, err := s.registerTaskDefinition(ctx, name, region, &cfg)
	if err != nil {
		return fail(err)
	}
	nc := cfg.NetworkConfiguration
	_, err = s.o.ECS.CreateService(ctx, &ecsapi.CreateServiceInput{
		Cluster: &cluster, ServiceName: &name, TaskDefinition: &td, DesiredCount: cfg.ScalingTarget.MinTaskCount,
		LaunchType: new(ecsapi.LaunchTypeFargate),
		NetworkConfiguration: &ecsapi.NetworkConfiguration{AwsvpcConfiguration: &ecsapi.AwsVpcConfiguration{
			Subnets: nc.Subnets, SecurityGroups: nc.SecurityGroups, AssignPublicIp: new(ecsapi.AssignPublicIpDisabled)}},
		LoadBalancers: []ecsapi.LoadBalancer{{TargetGroupArn: &r.TargetGroup, ContainerName: new(containerName), ContainerPort: cfg.PrimaryContainer.ContainerPort}},
		DeploymentConfiguration: &ecsapi.DeploymentConfiguration{MaximumPercent: new(int32(200)), MinimumHealthyPercent: new(int32(100)),
			DeploymentCircuitBreaker: &ecsapi.DeploymentCircuitBreaker{Enable: new(true), Rollback: new(true)}},
		Tags: in.Tags,
	})
	if err != nil {
		return fail(err)
	}
	undo = append(undo, func() {
		_, _ = s.o.ECS.DeleteService(ctx, &ecsapi.DeleteServiceInput{Cluster: &cluster, Service: &name, Force: new(true)})
	})
	cfg.CreatedAt = ts(now)
	r.Configurations = append(r.Configurations, configuration{RevisionARN: s.revisionARN(account, region, r), TaskDefinition: td, Config: cfg})
	if err := s.save(ctx, account, region, r); err != nil {
		return fail(err)
	}
	s.o.Log.Info("express service created", "service", r.ServiceARN, "endpoint", r.endpoint())
	shape, err := s.shape(ctx, r, false)
	if err != nil {
		return nil, err
	}
	return &ecsapi.CreateExpressGatewayServiceOutput{Service: shape}, nil
}

func (s *Service) revisionARN(account, region string, r *record) string {
	return arnPrefix(account, region) + "service-revision/" + r.Cluster + "/" + r.Name + "/" + randomDigits(19)
}

func (r *record) endpoint() string { return "http://" + r.Host + ":" + strconv.Itoa(int(r.Port)) }

// DescribeExpressGatewayService describes an Express service, also after
// its deletion (INACTIVE).
func (s *Service) DescribeExpressGatewayService(ctx context.Context, in *ecsapi.DescribeExpressGatewayServiceInput) (*ecsapi.DescribeExpressGatewayServiceOutput, error) {
	r, err := s.lookup(ctx, str(in.ServiceArn), func() error {
		return ecsapi.NewResourceNotFoundException("Express service %s not found.", str(in.ServiceArn))
	})
	if err != nil {
		return nil, err
	}
	shape, err := s.shape(ctx, r, slices.Contains(in.Include, ecsapi.ExpressGatewayServiceIncludeTags))
	if err != nil {
		return nil, err
	}
	return &ecsapi.DescribeExpressGatewayServiceOutput{Service: shape}, nil
}

func (s *Service) lookup(ctx context.Context, arn string, notFound func() error) (*record, error) {
	id := awsapi.IdentityFrom(ctx)
	cluster, name, err := serviceRef(id.AccountID, id.Region, arn)
	if err != nil {
		return nil, err
	}
	r, err := s.load(ctx, id.AccountID, id.Region, cluster, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, notFound()
	}
	return r, nil
}

// lookupActive finds the Express service that an update or delete acts
// on: one whose ECS service is still ACTIVE.
func (s *Service) lookupActive(ctx context.Context, arn string) (*record, error) {
	r, err := s.lookup(ctx, arn, func() error { return ecsapi.NewServiceNotFoundException("Service not found.") })
	if err != nil {
		return nil, err
	}
	svc, err := s.ecsService(ctx, r.Cluster, r.Name, false)
	if err != nil {
		return nil, err
	}
	if r.Deleted || !active(svc) {
		return nil, ecsapi.NewServiceNotActiveException("Service was not ACTIVE.")
	}
	return r, nil
}

// shape is the API's view of an Express service: its status is its ECS
// service's, and its active configurations those whose task definitions
// ECS deployments still run.
func (s *Service) shape(ctx context.Context, r *record, withTags bool) (*ecsapi.ECSExpressGatewayService, error) {
	svc, err := s.ecsService(ctx, r.Cluster, r.Name, withTags)
	if err != nil {
		return nil, err
	}
	if svc != nil && r.Deleted && str(svc.Status) == "ACTIVE" {
		// A service of the same name made since is not this one.
		svc = nil
	}
	code := ecsapi.ExpressGatewayServiceStatusCodeInactive
	var reason string
	if svc != nil {
		switch str(svc.Status) {
		case "ACTIVE":
			code = ecsapi.ExpressGatewayServiceStatusCodeActive
		case "DRAINING":
			code = ecsapi.ExpressGatewayServiceStatusCodeDraining
		}
	}
	out := &ecsapi.ECSExpressGatewayService{
		Cluster: &r.ClusterARN, ServiceName: &r.Name, ServiceArn: &r.ServiceARN, InfrastructureRoleArn: &r.InfraRoleARN,
		CreatedAt: ts(r.CreatedAt), UpdatedAt: ts(r.UpdatedAt),
	}
	var running []string
	if svc != nil && code != ecsapi.ExpressGatewayServiceStatusCodeInactive {
		id := awsapi.IdentityFrom(ctx)
		for _, d := range svc.Deployments {
			running = append(running, str(d.TaskDefinition))
			if str(d.Status) == "PRIMARY" {
				if dep, ok := strings.CutPrefix(str(d.Id), "ecs-svc/"); ok {
					out.CurrentDeployment = new(arnPrefix(id.AccountID, id.Region) + "service-deployment/" + r.Cluster + "/" + r.Name + "/" + dep)
				}
				reason = str(d.RolloutStateReason)
			}
		}
		if withTags {
			out.Tags = svc.Tags
		}
	}
	if reason != "" {
		out.Status = &ecsapi.ExpressGatewayServiceStatus{StatusCode: &code, StatusReason: &reason}
	} else {
		out.Status = &ecsapi.ExpressGatewayServiceStatus{StatusCode: &code}
	}
	seen := map[string]bool{}
	for i := len(r.Configurations) - 1; i >= 0; i-- {
		c := r.Configurations[i]
		if seen[c.TaskDefinition] || !slices.Contains(running, c.TaskDefinition) {
			continue
		}
		seen[c.TaskDefinition] = true
		out.ActiveConfigurations = append(out.ActiveConfigurations, r.configShape(c))
	}
	if len(out.ActiveConfigurations) == 0 {
		out.ActiveConfigurations = append(out.ActiveConfigurations, r.configShape(*r.latest()))
	}
	return out, nil
}

func (r *record) configShape(c configuration) ecsapi.ExpressGatewayServiceConfiguration {
	out := clone(c.Config)
	out.ServiceRevisionArn = new(c.RevisionARN)
	out.IngressPaths = []ecsapi.IngressPathSummary{{AccessType: new(ecsapi.AccessTypePublic), Endpoint: new(r.endpoint())}}
	return out
}

// UpdateExpressGatewayService changes an Express service's configuration:
// a new task definition revision rolls the ECS service when the
// container, roles or size change; the scaling target's minimum is the
// desired count; the health check path is the target group's.
func (s *Service) UpdateExpressGatewayService(ctx context.Context, in *ecsapi.UpdateExpressGatewayServiceInput) (*ecsapi.UpdateExpressGatewayServiceOutput, error) {
	id := awsapi.IdentityFrom(ctx)
	account, region := id.AccountID, id.Region
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupActive(ctx, str(in.ServiceArn))
	if err != nil {
		return nil, err
	}
	old := r.latest()
	cfg := clone(old.Config)
	cfg.CreatedAt, cfg.ServiceRevisionArn, cfg.IngressPaths = nil, nil, nil
	setIf(&cfg.ExecutionRoleArn, in.ExecutionRoleArn)
	setIf(&cfg.TaskRoleArn, in.TaskRoleArn)
	setIf(&cfg.Cpu, in.Cpu)
	setIf(&cfg.Memory, in.Memory)
	setIf(&cfg.HealthCheckPath, in.HealthCheckPath)
	if pc := in.PrimaryContainer; pc != nil {
		cur := cfg.PrimaryContainer
		setIf(&cur.Image, pc.Image)
		setIf(&cur.ContainerPort, pc.ContainerPort)
		setIf(&cur.AwsLogsConfiguration, pc.AwsLogsConfiguration)
		setIf(&cur.RepositoryCredentials, pc.RepositoryCredentials)
		setSliceIf(&cur.Command, pc.Command)
		setSliceIf(&cur.Environment, pc.Environment)
		setSliceIf(&cur.Secrets, pc.Secrets)
	}
	if st := in.ScalingTarget; st != nil {
		cur := cfg.ScalingTarget
		setIf(&cur.MinTaskCount, st.MinTaskCount)
		setIf(&cur.MaxTaskCount, st.MaxTaskCount)
		setIf(&cur.AutoScalingMetric, st.AutoScalingMetric)
		setIf(&cur.AutoScalingTargetValue, st.AutoScalingTargetValue)
	}
	withDefaults(&cfg, r.Cluster, r.Name)
	if err := checkConfig(&cfg); err != nil {
		return nil, err
	}
	upd := &ecsapi.UpdateServiceInput{Cluster: &r.Cluster, Service: &r.Name}
	changed := false
	if nc := in.NetworkConfiguration; nc != nil {
		want := clone(nc)
		if len(want.Subnets) == 0 {
			want.Subnets = cfg.NetworkConfiguration.Subnets
		}
		subnets, err := s.o.Network.Subnets(ctx, account, region, want.Subnets)
		if err != nil {
			return nil, invalid("networkConfiguration.subnets: %v", err)
		}
		for _, sn := range subnets {
			if sn.VPCID != r.VPC {
				return nil, invalid("Subnet %s is in %s, not in %s, the VPC of the service's load balancer.", sn.ID, sn.VPCID, r.VPC)
			}
		}
		if len(want.SecurityGroups) == 0 {
			want.SecurityGroups = cfg.NetworkConfiguration.SecurityGroups
		}
		if !same(want, cfg.NetworkConfiguration) {
			cfg.NetworkConfiguration = want
			upd.NetworkConfiguration = &ecsapi.NetworkConfiguration{AwsvpcConfiguration: &ecsapi.AwsVpcConfiguration{
				Subnets: want.Subnets, SecurityGroups: want.SecurityGroups, AssignPublicIp: new(ecsapi.AssignPublicIpDisabled)}}
			changed = true
		}
	}
	oldPort, newPort := deref(old.Config.PrimaryContainer.ContainerPort), deref(cfg.PrimaryContainer.ContainerPort)
	if newPort != oldPort {
		for _, sg := range r.ManagedSGs {
			if err := s.o.Network.AllowIngress(ctx, account, region, sg, newPort, r.LBSecurityGrp); err != nil {
				return nil, err
			}
		}
		upd.LoadBalancers = []ecsapi.LoadBalancer{{TargetGroupArn: &r.TargetGroup, ContainerName: new(containerName), ContainerPort: &newPort}}
		changed = true
	}
	td := old.TaskDefinition
	if !same(taskShape(&cfg), taskShape(&old.Config)) {
		if td, err = s.registerTaskDefinition(ctx, r.Name, region, &cfg); err != nil {
			return nil, err
		}
		upd.TaskDefinition = &td
		changed = true
	}
	if deref(cfg.ScalingTarget.MinTaskCount) != deref(old.Config.ScalingTarget.MinTaskCount) {
		upd.DesiredCount = cfg.ScalingTarget.MinTaskCount
		changed = true
	}
	if changed {
		if _, err := s.o.ECS.UpdateService(ctx, upd); err != nil {
			return nil, err
		}
	}
	if str(cfg.HealthCheckPath) != str(old.Config.HealthCheckPath) {
		if _, err := s.o.LoadBalancing.ModifyTargetGroup(ctx, &elbv2.ModifyTargetGroupInput{TargetGroupArn: &r.TargetGroup, HealthCheckPath: cfg.HealthCheckPath}); err != nil {
			return nil, err
		}
	}
	now := s.now()
	cfg.CreatedAt = ts(now)
	next := configuration{RevisionARN: s.revisionARN(account, region, r), TaskDefinition: td, Config: cfg}
	r.Configurations = append(r.Configurations, next)
	r.UpdatedAt = now
	if err := s.save(ctx, account, region, r); err != nil {
		return nil, err
	}
	shape, err := s.shape(ctx, r, false)
	if err != nil {
		return nil, err
	}
	target := r.configShape(next)
	return &ecsapi.UpdateExpressGatewayServiceOutput{Service: &ecsapi.UpdatedExpressGatewayService{
		ServiceArn: &r.ServiceARN, Cluster: &r.ClusterARN, ServiceName: &r.Name, Status: shape.Status,
		TargetConfiguration: &target, CreatedAt: shape.CreatedAt, UpdatedAt: shape.UpdatedAt,
	}}, nil
}

// DeleteExpressGatewayService deletes the ECS service (its tasks stop),
// its rule, target group and security groups, and the shared load
// balancer with its security group once no Express service uses it.
func (s *Service) DeleteExpressGatewayService(ctx context.Context, in *ecsapi.DeleteExpressGatewayServiceInput) (*ecsapi.DeleteExpressGatewayServiceOutput, error) {
	id := awsapi.IdentityFrom(ctx)
	account, region := id.AccountID, id.Region
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupActive(ctx, str(in.ServiceArn))
	if err != nil {
		return nil, err
	}
	if _, err := s.o.ECS.DeleteService(ctx, &ecsapi.DeleteServiceInput{Cluster: &r.Cluster, Service: &r.Name, Force: new(true)}); err != nil {
		return nil, err
	}
	r.Deleted = true
	r.UpdatedAt = s.now()
	if err := s.save(ctx, account, region, r); err != nil {
		return nil, err
	}
	s.deprovision(ctx, account, region, r)
	shape, err := s.shape(ctx, r, false)
	if err != nil {
		return nil, err
	}
	return &ecsapi.DeleteExpressGatewayServiceOutput{Service: shape}, nil
}

func ts(t time.Time) *awsapi.Timestamp { return &awsapi.Timestamp{Time: t} }
