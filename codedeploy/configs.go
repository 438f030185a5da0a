package codedeploy

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	cdapi "github.com/berth-dev/berth/api/codedeploy"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/codedeploy/traffic"
	"github.com/berth-dev/berth/store"
)

// builtinPrefix starts the names of CodeDeploy's predefined
// configurations, which users cannot create or delete.
const builtinPrefix = "CodeDeployDefault."

// builtins are CodeDeploy's predefined deployment configurations: the ECS
// ones Berth deploys with, and the Server and Lambda ones so that listing
// and describing them answers as AWS does.
var builtins = func() map[string]configRecord {
	created := time.Date(2014, 11, 12, 0, 0, 0, 0, time.UTC)
	m := map[string]configRecord{}
	add := func(name, platform string, tr *cdapi.TrafficRoutingConfig, mh *cdapi.MinimumHealthyHosts) {
		full := builtinPrefix + name
		m[full] = configRecord{ID: nameUUID(full), Name: full, Platform: platform, CreateTime: created, Traffic: tr, MinHealthy: mh}
	}
	all := func() *cdapi.TrafficRoutingConfig {
		return &cdapi.TrafficRoutingConfig{Type: new(cdapi.TrafficRoutingTypeAllAtOnce)}
	}
	canary := func(p, i int32) *cdapi.TrafficRoutingConfig {
		return &cdapi.TrafficRoutingConfig{Type: new(cdapi.TrafficRoutingTypeTimeBasedCanary),
			TimeBasedCanary: &cdapi.TimeBasedCanary{CanaryPercentage: new(p), CanaryInterval: new(i)}}
	}
	linear := func(p, i int32) *cdapi.TrafficRoutingConfig {
		return &cdapi.TrafficRoutingConfig{Type: new(cdapi.TrafficRoutingTypeTimeBasedLinear),
			TimeBasedLinear: &cdapi.TimeBasedLinear{LinearPercentage: new(p), LinearInterval: new(i)}}
	}
	ecs := string(cdapi.ComputePlatformEcs)
	add("ECSAllAtOnce", ecs, all(), nil)
	add("ECSLinear10PercentEvery1Minutes", ecs, linear(10, 1), nil)
	add("ECSLinear10PercentEvery3Minutes", ecs, linear(10, 3), nil)
	add("ECSCanary10Percent5Minutes", ecs, canary(10, 5), nil)
	add("ECSCanary10Percent15Minutes", ecs, canary(10, 15), nil)
	lambda := string(cdapi.ComputePlatformLambda)
	add("LambdaAllAtOnce", lambda, all(), nil)
	for _, m := range []int32{5, 10, 15, 30} {
		add("LambdaCanary10Percent"+itoa(m)+"Minutes", lambda, canary(10, m), nil)
	}
	add("LambdaLinear10PercentEvery1Minute", lambda, linear(10, 1), nil)
	for _, m := range []int32{2, 3, 10} {
		add("LambdaLinear10PercentEvery"+itoa(m)+"Minutes", lambda, linear(10, m), nil)
	}
	server := string(cdapi.ComputePlatformServer)
	hosts := func(typ cdapi.MinimumHealthyHostsType, v int32) *cdapi.MinimumHealthyHosts {
		return &cdapi.MinimumHealthyHosts{Type: &typ, Value: new(v)}
	}
	add("OneAtATime", server, nil, hosts(cdapi.MinimumHealthyHostsTypeFleetPercent, 99))
	add("HalfAtATime", server, nil, hosts(cdapi.MinimumHealthyHostsTypeFleetPercent, 50))
	add("AllAtOnce", server, nil, hosts(cdapi.MinimumHealthyHostsTypeHostCount, 0))
	return m
}()

func itoa(v int32) string {
	var b [12]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

func (c *configRecord) info() cdapi.DeploymentConfigInfo {
	cp := cdapi.ComputePlatform(c.Platform)
	return cdapi.DeploymentConfigInfo{DeploymentConfigId: new(c.ID), DeploymentConfigName: new(c.Name), CreateTime: awsapi.Time(c.CreateTime),
		ComputePlatform: &cp, TrafficRoutingConfig: c.Traffic, MinimumHealthyHosts: c.MinHealthy}
}

// plan is the configuration's traffic shifting plan.
func (c *configRecord) plan() (traffic.Plan, error) {
	if c.Traffic == nil || c.Traffic.Type == nil {
		return traffic.AllAtOnce(), nil
	}
	switch *c.Traffic.Type {
	case cdapi.TrafficRoutingTypeTimeBasedCanary:
		tc := c.Traffic.TimeBasedCanary
		if tc == nil {
			return nil, cdapi.NewInvalidTrafficRoutingConfigurationException("A TimeBasedCanary configuration needs timeBasedCanary with canaryPercentage and canaryInterval.")
		}
		return traffic.Canary(int(ptrInt(tc.CanaryPercentage)), int(ptrInt(tc.CanaryInterval)))
	case cdapi.TrafficRoutingTypeTimeBasedLinear:
		tl := c.Traffic.TimeBasedLinear
		if tl == nil {
			return nil, cdapi.NewInvalidTrafficRoutingConfigurationException("A TimeBasedLinear configuration needs timeBasedLinear with linearPercentage and linearInterval.")
		}
		return traffic.Linear(int(ptrInt(tl.LinearPercentage)), int(ptrInt(tl.LinearInterval)))
	}
	return traffic.AllAtOnce(), nil
}

func ptrInt(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

// getConfig finds a built-in or custom configuration, nil when neither.
func getConfig(tx store.Tx, sc scope, name string) (*configRecord, error) {
	if c, ok := builtins[name]; ok {
		return &c, nil
	}
	return getDoc[configRecord](tx, kindConfig, sc, name)
}

func configNotFound(name string) error {
	return cdapi.NewDeploymentConfigDoesNotExistException("No deployment configuration found for name: %s", name)
}

func requireConfigName(name *string) (string, error) {
	if name == nil || *name == "" {
		return "", cdapi.NewDeploymentConfigNameRequiredException("The deployment configuration name must be specified (deploymentConfigName).")
	}
	if len(*name) > 100 {
		return "", cdapi.NewInvalidDeploymentConfigNameException("The deployment configuration name %q is longer than 100 characters.", *name)
	}
	return *name, nil
}

// CreateDeploymentConfig creates a custom configuration. For ECS it takes
// a trafficRoutingConfig (TimeBasedCanary, TimeBasedLinear or AllAtOnce);
// Server configurations take minimumHealthyHosts and are only stored.
func (s *Service) CreateDeploymentConfig(ctx context.Context, in *cdapi.CreateDeploymentConfigInput) (*cdapi.CreateDeploymentConfigOutput, error) {
	name, err := requireConfigName(in.DeploymentConfigName)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(name, builtinPrefix) {
		return nil, cdapi.NewInvalidDeploymentConfigNameException("Names starting with %s are reserved for CodeDeploy's predefined configurations.", builtinPrefix)
	}
	platform := cdapi.ComputePlatformServer
	if in.ComputePlatform != nil {
		platform = *in.ComputePlatform
	}
	c := configRecord{ID: newUUID(), Name: name, Platform: string(platform), CreateTime: s.now().UTC(), Traffic: in.TrafficRoutingConfig, MinHealthy: in.MinimumHealthyHosts}
	switch platform {
	case cdapi.ComputePlatformEcs, cdapi.ComputePlatformLambda:
		if in.MinimumHealthyHosts != nil {
			return nil, cdapi.NewInvalidMinimumHealthyHostValueException("minimumHealthyHosts applies to the Server compute platform only; %s configurations use trafficRoutingConfig.", platform)
		}
		if in.TrafficRoutingConfig == nil || in.TrafficRoutingConfig.Type == nil {
			return nil, cdapi.NewInvalidTrafficRoutingConfigurationException("A deployment configuration for the %s compute platform needs trafficRoutingConfig with a type: TimeBasedCanary, TimeBasedLinear or AllAtOnce.", platform)
		}
		if _, err := c.plan(); err != nil {
			if awsapi.AsError(err) == nil {
				err = cdapi.NewInvalidTrafficRoutingConfigurationException("The traffic routing configuration is not valid: %s.", err.Error())
			}
			return nil, err
		}
	default:
		if in.TrafficRoutingConfig != nil && in.TrafficRoutingConfig.Type != nil && *in.TrafficRoutingConfig.Type != cdapi.TrafficRoutingTypeAllAtOnce {
			return nil, cdapi.NewInvalidTrafficRoutingConfigurationException("Time-based traffic routing applies to the ECS and Lambda compute platforms only.")
		}
		if in.MinimumHealthyHosts == nil {
			return nil, cdapi.NewInvalidMinimumHealthyHostValueException("A Server deployment configuration needs minimumHealthyHosts.")
		}
	}
	sc := callerOf(ctx)
	err = s.st.Update(ctx, func(tx store.Tx) error {
		err := createDoc(tx, kindConfig, sc, name, c, c.CreateTime)
		if errors.Is(err, store.ErrConflict) {
			return cdapi.NewDeploymentConfigAlreadyExistsException("A deployment configuration named %s already exists in this account and region.", name)
		}
		return err
	})
	if err != nil {
		return nil, internal(err)
	}
	return &cdapi.CreateDeploymentConfigOutput{DeploymentConfigId: new(c.ID)}, nil
}

func (s *Service) GetDeploymentConfig(ctx context.Context, in *cdapi.GetDeploymentConfigInput) (*cdapi.GetDeploymentConfigOutput, error) {
	name, err := requireConfigName(in.DeploymentConfigName)
	if err != nil {
		return nil, err
	}
	var out cdapi.GetDeploymentConfigOutput
	err = s.st.View(ctx, func(tx store.Tx) error {
		c, err := getConfig(tx, callerOf(ctx), name)
		if err != nil {
			return err
		}
		if c == nil {
			return configNotFound(name)
		}
		info := c.info()
		out.DeploymentConfigInfo = &info
		return nil
	})
	return &out, internal(err)
}

func (s *Service) ListDeploymentConfigs(ctx context.Context, in *cdapi.ListDeploymentConfigsInput) (*cdapi.ListDeploymentConfigsOutput, error) {
	var names []string
	for name := range builtins {
		names = append(names, name)
	}
	err := s.st.View(ctx, func(tx store.Tx) error {
		cs, _, err := listDocs[configRecord](tx, kindConfig, callerOf(ctx), "")
		for _, c := range cs {
			names = append(names, c.Name)
		}
		return err
	})
	if err != nil {
		return nil, internal(err)
	}
	sort.Strings(names)
	p, next := page(names, in.NextToken)
	return &cdapi.ListDeploymentConfigsOutput{DeploymentConfigsList: append([]string{}, p...), NextToken: next}, nil
}

// DeleteDeploymentConfig deletes a custom configuration no deployment
// group uses.
func (s *Service) DeleteDeploymentConfig(ctx context.Context, in *cdapi.DeleteDeploymentConfigInput) (*cdapi.DeleteDeploymentConfigOutput, error) {
	name, err := requireConfigName(in.DeploymentConfigName)
	if err != nil {
		return nil, err
	}
	if _, ok := builtins[name]; ok || strings.HasPrefix(name, builtinPrefix) {
		return nil, cdapi.NewInvalidOperationException("The predefined deployment configuration %s cannot be deleted.", name)
	}
	sc := callerOf(ctx)
	err = s.st.Update(ctx, func(tx store.Tx) error {
		c, err := getDoc[configRecord](tx, kindConfig, sc, name)
		if err != nil || c == nil {
			return err
		}
		groups, _, err := listDocs[groupRecord](tx, kindGroup, sc, "")
		if err != nil {
			return err
		}
		for _, g := range groups {
			if str(g.Info.DeploymentConfigName) == name {
				return cdapi.NewDeploymentConfigInUseException("The deployment configuration %s is used by deployment group %s; change the group's deploymentConfigName first.", name, str(g.Info.DeploymentGroupName))
			}
		}
		return deleteDoc(tx, kindConfig, sc, name)
	})
	return &cdapi.DeleteDeploymentConfigOutput{}, internal(err)
}
