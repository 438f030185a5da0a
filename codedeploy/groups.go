package codedeploy

import (
	"context"
	"fmt"
	"sort"
	"strings"

	cdapi "github.com/berth-dev/berth/api/codedeploy"
	ecsapi "github.com/berth-dev/berth/api/ecs"
	elbv2 "github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// maxWaitMinutes bounds the blue/green wait times, as CodeDeploy does (two
// days).
const maxWaitMinutes = 2880

func requireGroupName(name *string) (string, error) {
	if name == nil || *name == "" {
		return "", cdapi.NewDeploymentGroupNameRequiredException("The deployment group name must be specified (deploymentGroupName).")
	}
	if len(*name) > 100 {
		return "", cdapi.NewInvalidDeploymentGroupNameException("The deployment group name %q is longer than 100 characters.", *name)
	}
	return *name, nil
}

// requireAppAndGroup checks the application and deployment group names of
// a request that names one group.
func requireAppAndGroup(app, group *string) (string, string, error) {
	appName, err := requireAppName(app)
	if err != nil {
		return "", "", err
	}
	groupName, err := requireGroupName(group)
	return appName, groupName, err
}

func groupNotFound(app, group string) error {
	return cdapi.NewDeploymentGroupDoesNotExistException("No Deployment Group found for name: %s in application %s", group, app)
}

// getGroup reads the application and one of its groups, both of which
// must exist.
func getGroup(tx store.Tx, sc scope, appName, groupName string) (*appRecord, *groupRecord, error) {
	app, err := getApp(tx, sc, appName)
	if err != nil {
		return nil, nil, err
	}
	g, err := getDoc[groupRecord](tx, kindGroup, sc, groupKey(app.ID, groupName))
	if err != nil {
		return nil, nil, err
	}
	if g == nil {
		return nil, nil, groupNotFound(appName, groupName)
	}
	return app, g, nil
}

// defaultConfig is the configuration a group of the platform gets when it
// names none.
func defaultConfig(platform string) string {
	switch platform {
	case string(cdapi.ComputePlatformEcs):
		return builtinPrefix + "ECSAllAtOnce"
	case string(cdapi.ComputePlatformLambda):
		return builtinPrefix + "LambdaAllAtOnce"
	}
	return builtinPrefix + "OneAtATime"
}

func checkRole(arn *string) error {
	if arn == nil || *arn == "" {
		return cdapi.NewRoleRequiredException("A service role ARN must be specified (serviceRoleArn).")
	}
	if !strings.HasPrefix(*arn, "arn:aws:iam::") || !strings.Contains(*arn, ":role/") {
		return cdapi.NewInvalidRoleException("The service role ARN %s is not an IAM role ARN (arn:aws:iam::<account>:role/<name>).", *arn)
	}
	return nil
}

func checkAutoRollback(c *cdapi.AutoRollbackConfiguration) error {
	if c == nil || c.Enabled == nil || !*c.Enabled {
		return nil
	}
	if len(c.Events) == 0 {
		return cdapi.NewInvalidAutoRollbackConfigException("An enabled autoRollbackConfiguration must list at least one event: DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM or DEPLOYMENT_STOP_ON_REQUEST.")
	}
	return nil
}

// normalizeBlueGreen fills CodeDeploy's defaults into an ECS group's
// blue/green configuration and checks its ranges.
func normalizeBlueGreen(bg *cdapi.BlueGreenDeploymentConfiguration) (*cdapi.BlueGreenDeploymentConfiguration, error) {
	out := cdapi.BlueGreenDeploymentConfiguration{}
	if bg != nil {
		out = *bg
	}
	if out.GreenFleetProvisioningOption != nil {
		return nil, cdapi.NewInvalidBlueGreenDeploymentConfigurationException("greenFleetProvisioningOption applies to EC2 deployments; ECS deployments create a replacement task set.")
	}
	ready := cdapi.DeploymentReadyOption{ActionOnTimeout: new(cdapi.DeploymentReadyActionContinueDeployment), WaitTimeInMinutes: new(int32(0))}
	if out.DeploymentReadyOption != nil {
		if out.DeploymentReadyOption.ActionOnTimeout != nil {
			ready.ActionOnTimeout = out.DeploymentReadyOption.ActionOnTimeout
		}
		if w := out.DeploymentReadyOption.WaitTimeInMinutes; w != nil {
			if *w < 0 || *w > maxWaitMinutes {
				return nil, cdapi.NewInvalidBlueGreenDeploymentConfigurationException("deploymentReadyOption waitTimeInMinutes must be between 0 and %d, got %d.", maxWaitMinutes, *w)
			}
			ready.WaitTimeInMinutes = w
		}
	}
	term := cdapi.BlueInstanceTerminationOption{Action: new(cdapi.InstanceActionTerminate), TerminationWaitTimeInMinutes: new(int32(0))}
	if t := out.TerminateBlueInstancesOnDeploymentSuccess; t != nil {
		if t.Action != nil {
			term.Action = t.Action
		}
		if w := t.TerminationWaitTimeInMinutes; w != nil {
			if *w < 0 || *w > maxWaitMinutes {
				return nil, cdapi.NewInvalidBlueGreenDeploymentConfigurationException("terminateBlueInstancesOnDeploymentSuccess terminationWaitTimeInMinutes must be between 0 and %d, got %d.", maxWaitMinutes, *w)
			}
			term.TerminationWaitTimeInMinutes = w
		}
	}
	out.DeploymentReadyOption = &ready
	out.TerminateBlueInstancesOnDeploymentSuccess = &term
	return &out, nil
}

// checkECSGroup validates the ECS parts of a deployment group against ECS
// and Elastic Load Balancing, with the caller's identity, and fills the
// defaults in.
func (s *Service) checkECSGroup(ctx context.Context, info *cdapi.DeploymentGroupInfo) error {
	style := info.DeploymentStyle
	if style == nil {
		style = &cdapi.DeploymentStyle{}
	}
	if style.DeploymentType == nil {
		style.DeploymentType = new(cdapi.DeploymentTypeBlueGreen)
	}
	if style.DeploymentOption == nil {
		style.DeploymentOption = new(cdapi.DeploymentOptionWithTrafficControl)
	}
	if *style.DeploymentType != cdapi.DeploymentTypeBlueGreen || *style.DeploymentOption != cdapi.DeploymentOptionWithTrafficControl {
		return cdapi.NewInvalidDeploymentStyleException("An ECS deployment group needs deploymentStyle deploymentType BLUE_GREEN and deploymentOption WITH_TRAFFIC_CONTROL.")
	}
	info.DeploymentStyle = style
	bg, err := normalizeBlueGreen(info.BlueGreenDeploymentConfiguration)
	if err != nil {
		return err
	}
	info.BlueGreenDeploymentConfiguration = bg
	if err := checkAutoRollback(info.AutoRollbackConfiguration); err != nil {
		return err
	}
	if len(info.EcsServices) != 1 {
		return cdapi.NewInvalidECSServiceException("An ECS deployment group needs exactly one entry in ecsServices (serviceName and clusterName), got %d.", len(info.EcsServices))
	}
	es := info.EcsServices[0]
	if str(es.ServiceName) == "" || str(es.ClusterName) == "" {
		return cdapi.NewInvalidECSServiceException("ecsServices needs both serviceName and clusterName.")
	}
	lbi := info.LoadBalancerInfo
	if lbi == nil || len(lbi.TargetGroupPairInfoList) == 0 {
		return cdapi.NewInvalidLoadBalancerInfoException("An ECS deployment group needs loadBalancerInfo with one targetGroupPairInfoList entry: two targetGroups and a prodTrafficRoute.")
	}
	if len(lbi.ElbInfoList) > 0 || len(lbi.TargetGroupInfoList) > 0 {
		return cdapi.NewInvalidLoadBalancerInfoException("An ECS deployment group uses targetGroupPairInfoList only, not elbInfoList or targetGroupInfoList.")
	}
	if len(lbi.TargetGroupPairInfoList) != 1 {
		return cdapi.NewInvalidTargetGroupPairException("An ECS deployment group needs exactly one target group pair, got %d.", len(lbi.TargetGroupPairInfoList))
	}
	pair := lbi.TargetGroupPairInfoList[0]
	if len(pair.TargetGroups) != 2 || str(pair.TargetGroups[0].Name) == "" || str(pair.TargetGroups[1].Name) == "" {
		return cdapi.NewInvalidTargetGroupPairException("A target group pair needs exactly two targetGroups, each with a name.")
	}
	if str(pair.TargetGroups[0].Name) == str(pair.TargetGroups[1].Name) {
		return cdapi.NewInvalidTargetGroupPairException("The two target groups of the pair must differ; both are %s.", str(pair.TargetGroups[0].Name))
	}
	if pair.ProdTrafficRoute == nil || len(pair.ProdTrafficRoute.ListenerArns) != 1 {
		return cdapi.NewInvalidTargetGroupPairException("A target group pair needs a prodTrafficRoute with exactly one listener ARN.")
	}
	if pair.TestTrafficRoute != nil && len(pair.TestTrafficRoute.ListenerArns) > 1 {
		return cdapi.NewInvalidTargetGroupPairException("A testTrafficRoute takes at most one listener ARN, got %d.", len(pair.TestTrafficRoute.ListenerArns))
	}
	prod := pair.ProdTrafficRoute.ListenerArns[0]
	test := ""
	if pair.TestTrafficRoute != nil && len(pair.TestTrafficRoute.ListenerArns) == 1 {
		test = pair.TestTrafficRoute.ListenerArns[0]
		if test == prod {
			return cdapi.NewInvalidTargetGroupPairException("The test listener must differ from the production listener %s.", prod)
		}
	}
	if s.lb != nil {
		sc := callerOf(ctx)
		listeners := map[string]bool{}
		for _, tg := range pair.TargetGroups {
			arn, err := s.targetGroupARN(ctx, str(tg.Name))
			if err != nil {
				return err
			}
			ti, err := s.lb.TargetGroup(ctx, sc.account, sc.region, arn)
			if err != nil {
				return cdapi.NewInvalidTargetGroupPairException("Target group %s could not be read: %s", str(tg.Name), errMessage(err))
			}
			for _, l := range ti.ListenerARNs {
				listeners[l] = true
			}
		}
		for _, l := range []string{prod, test} {
			if l != "" && !listeners[l] {
				return cdapi.NewInvalidTargetGroupPairException("The listener %s does not forward to either target group of the pair (%s, %s); point its default action at the target group of the service.",
					l, str(pair.TargetGroups[0].Name), str(pair.TargetGroups[1].Name))
			}
		}
	}
	if s.ecs != nil {
		out, err := s.ecs.DescribeServices(ctx, &ecsapi.DescribeServicesInput{Cluster: es.ClusterName, Services: []string{str(es.ServiceName)}})
		if err != nil {
			return cdapi.NewInvalidECSServiceException("The ECS service %s in cluster %s could not be described: %s", str(es.ServiceName), str(es.ClusterName), errMessage(err))
		}
		if len(out.Services) == 0 || str(out.Services[0].Status) != "ACTIVE" {
			return cdapi.NewInvalidECSServiceException("The ECS service %s does not exist in cluster %s, or is not ACTIVE.", str(es.ServiceName), str(es.ClusterName))
		}
		svc := out.Services[0]
		ctl := "ECS"
		if svc.DeploymentController != nil && svc.DeploymentController.Type != nil {
			ctl = string(*svc.DeploymentController.Type)
		}
		if ctl != string(ecsapi.DeploymentControllerTypeCodeDeploy) {
			return cdapi.NewInvalidECSServiceException("The ECS service %s uses the %s deployment controller; CodeDeploy deploys services created with deploymentController type CODE_DEPLOY.", str(es.ServiceName), ctl)
		}
	}
	return nil
}

// targetGroupARN resolves a target group name in the caller's account and
// region.
func (s *Service) targetGroupARN(ctx context.Context, name string) (string, error) {
	out, err := s.lb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{name}})
	if err != nil || len(out.TargetGroups) == 0 {
		return "", cdapi.NewInvalidTargetGroupPairException("The target group %s does not exist in this account and region.", name)
	}
	return str(out.TargetGroups[0].TargetGroupArn), nil
}

func errMessage(err error) string {
	if e := awsapi.AsError(err); e != nil {
		return e.Code + ": " + e.Message
	}
	return err.Error()
}

// checkGroupInTx checks what needs the store: the configuration exists and
// fits the platform, and no other group deploys the same ECS service.
func checkGroupInTx(tx store.Tx, sc scope, app *appRecord, info *cdapi.DeploymentGroupInfo, self string) error {
	name := str(info.DeploymentConfigName)
	c, err := getConfig(tx, sc, name)
	if err != nil {
		return err
	}
	if c == nil {
		return cdapi.NewDeploymentConfigDoesNotExistException("No deployment configuration found for name: %s", name)
	}
	if c.Platform != app.ComputePlatform {
		return cdapi.NewInvalidDeploymentConfigNameException("The deployment configuration %s is for the %s compute platform; application %s deploys to %s.", name, c.Platform, app.Name, app.ComputePlatform)
	}
	if len(info.EcsServices) == 0 {
		return nil
	}
	groups, _, err := listDocs[groupRecord](tx, kindGroup, sc, "")
	if err != nil {
		return err
	}
	want := info.EcsServices[0]
	for _, g := range groups {
		if str(g.Info.DeploymentGroupId) == self {
			continue
		}
		for _, es := range g.Info.EcsServices {
			if str(es.ServiceName) == str(want.ServiceName) && str(es.ClusterName) == str(want.ClusterName) {
				return cdapi.NewECSServiceMappingLimitExceededException("The ECS service %s in cluster %s is already in deployment group %s; a service belongs to one deployment group.",
					str(want.ServiceName), str(want.ClusterName), str(g.Info.DeploymentGroupName))
			}
		}
	}
	return nil
}

func (s *Service) CreateDeploymentGroup(ctx context.Context, in *cdapi.CreateDeploymentGroupInput) (*cdapi.CreateDeploymentGroupOutput, error) {
	appName, groupName, err := requireAppAndGroup(in.ApplicationName, in.DeploymentGroupName)
	if err != nil {
		return nil, err
	}
	if err := checkRole(in.ServiceRoleArn); err != nil {
		return nil, err
	}
	sc := callerOf(ctx)
	var app *appRecord
	if err := s.st.View(ctx, func(tx store.Tx) error {
		app, err = getApp(tx, sc, appName)
		return err
	}); err != nil {
		return nil, internal(err)
	}
	cp := cdapi.ComputePlatform(app.ComputePlatform)
	info := cdapi.DeploymentGroupInfo{
		DeploymentGroupId: new(newUUID()), DeploymentGroupName: new(groupName), DeploymentConfigName: in.DeploymentConfigName,
		Ec2TagFilters: in.Ec2TagFilters, OnPremisesInstanceTagFilters: in.OnPremisesInstanceTagFilters, ServiceRoleArn: in.ServiceRoleArn,
		TriggerConfigurations: in.TriggerConfigurations, AlarmConfiguration: in.AlarmConfiguration, AutoRollbackConfiguration: in.AutoRollbackConfiguration,
		DeploymentStyle: in.DeploymentStyle, BlueGreenDeploymentConfiguration: in.BlueGreenDeploymentConfiguration, LoadBalancerInfo: in.LoadBalancerInfo,
		Ec2TagSet: in.Ec2TagSet, OnPremisesTagSet: in.OnPremisesTagSet, ComputePlatform: &cp, EcsServices: in.EcsServices,
		OutdatedInstancesStrategy: in.OutdatedInstancesStrategy, TerminationHookEnabled: in.TerminationHookEnabled,
	}
	for _, asg := range in.AutoScalingGroups {
		info.AutoScalingGroups = append(info.AutoScalingGroups, cdapi.AutoScalingGroup{Name: new(asg)})
	}
	if info.DeploymentConfigName == nil {
		info.DeploymentConfigName = new(defaultConfig(app.ComputePlatform))
	}
	if app.ComputePlatform == string(cdapi.ComputePlatformEcs) {
		if err := s.checkECSGroup(ctx, &info); err != nil {
			return nil, err
		}
	} else if err := checkAutoRollback(info.AutoRollbackConfiguration); err != nil {
		return nil, err
	}
	g := groupRecord{AppID: app.ID, Info: info, Tags: toTags(in.Tags)}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		app, err := getApp(tx, sc, appName)
		if err != nil {
			return err
		}
		key := groupKey(app.ID, groupName)
		old, err := getDoc[groupRecord](tx, kindGroup, sc, key)
		if err != nil {
			return err
		}
		if old != nil {
			return cdapi.NewDeploymentGroupAlreadyExistsException("The deployment group %s already exists in application %s.", groupName, appName)
		}
		if err := checkGroupInTx(tx, sc, app, &info, ""); err != nil {
			return err
		}
		g.AppID = app.ID
		return putDoc(tx, kindGroup, sc, key, g, s.now())
	})
	if err != nil {
		return nil, internal(err)
	}
	return &cdapi.CreateDeploymentGroupOutput{DeploymentGroupId: info.DeploymentGroupId}, nil
}

// describe is the group as GetDeploymentGroup returns it.
func (g *groupRecord) describe(tx store.Tx, sc scope, appName string) (cdapi.DeploymentGroupInfo, error) {
	info := g.Info
	info.ApplicationName = new(appName)
	last := func(id string) (*cdapi.LastDeploymentInfo, error) {
		if id == "" {
			return nil, nil
		}
		d, err := getDoc[deploymentRecord](tx, kindDeployment, sc, id)
		if err != nil || d == nil {
			return nil, err
		}
		st := cdapi.DeploymentStatus(d.Status)
		li := &cdapi.LastDeploymentInfo{DeploymentId: new(d.ID), Status: &st, CreateTime: awsapi.Time(d.CreateTime)}
		if !d.CompleteTime.IsZero() {
			li.EndTime = awsapi.Time(d.CompleteTime)
		}
		return li, nil
	}
	var err error
	if info.LastAttemptedDeployment, err = last(g.LastAttempted); err != nil {
		return info, err
	}
	info.LastSuccessfulDeployment, err = last(g.LastSuccessful)
	return info, err
}

func (s *Service) GetDeploymentGroup(ctx context.Context, in *cdapi.GetDeploymentGroupInput) (*cdapi.GetDeploymentGroupOutput, error) {
	appName, groupName, err := requireAppAndGroup(in.ApplicationName, in.DeploymentGroupName)
	if err != nil {
		return nil, err
	}
	var out cdapi.GetDeploymentGroupOutput
	err = s.st.View(ctx, func(tx store.Tx) error {
		sc := callerOf(ctx)
		app, g, err := getGroup(tx, sc, appName, groupName)
		if err != nil {
			return err
		}
		info, err := g.describe(tx, sc, app.Name)
		out.DeploymentGroupInfo = &info
		return err
	})
	return &out, internal(err)
}

func (s *Service) BatchGetDeploymentGroups(ctx context.Context, in *cdapi.BatchGetDeploymentGroupsInput) (*cdapi.BatchGetDeploymentGroupsOutput, error) {
	appName, err := requireAppName(in.ApplicationName)
	if err != nil {
		return nil, err
	}
	if len(in.DeploymentGroupNames) == 0 {
		return nil, cdapi.NewDeploymentGroupNameRequiredException("At least one deployment group name must be specified (deploymentGroupNames).")
	}
	if len(in.DeploymentGroupNames) > 100 {
		return nil, cdapi.NewBatchLimitExceededException("The maximum number of names or IDs allowed for this request (100) was exceeded.")
	}
	out := &cdapi.BatchGetDeploymentGroupsOutput{DeploymentGroupsInfo: []cdapi.DeploymentGroupInfo{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		sc := callerOf(ctx)
		app, err := getApp(tx, sc, appName)
		if err != nil {
			return err
		}
		var missing []string
		for _, name := range in.DeploymentGroupNames {
			g, err := getDoc[groupRecord](tx, kindGroup, sc, groupKey(app.ID, name))
			if err != nil {
				return err
			}
			if g == nil {
				missing = append(missing, name)
				continue
			}
			info, err := g.describe(tx, sc, app.Name)
			if err != nil {
				return err
			}
			out.DeploymentGroupsInfo = append(out.DeploymentGroupsInfo, info)
		}
		if len(missing) > 0 {
			out.ErrorMessage = new(fmt.Sprintf("Deployment groups not found in application %s: %s", appName, strings.Join(missing, ", ")))
		}
		return nil
	})
	return out, internal(err)
}

func (s *Service) ListDeploymentGroups(ctx context.Context, in *cdapi.ListDeploymentGroupsInput) (*cdapi.ListDeploymentGroupsOutput, error) {
	appName, err := requireAppName(in.ApplicationName)
	if err != nil {
		return nil, err
	}
	var names []string
	err = s.st.View(ctx, func(tx store.Tx) error {
		sc := callerOf(ctx)
		app, err := getApp(tx, sc, appName)
		if err != nil {
			return err
		}
		groups, _, err := listDocs[groupRecord](tx, kindGroup, sc, app.ID+"/")
		for _, g := range groups {
			names = append(names, str(g.Info.DeploymentGroupName))
		}
		return err
	})
	if err != nil {
		return nil, internal(err)
	}
	sort.Strings(names)
	p, next := page(names, in.NextToken)
	return &cdapi.ListDeploymentGroupsOutput{ApplicationName: new(appName), DeploymentGroups: append([]string{}, p...), NextToken: next}, nil
}

// UpdateDeploymentGroup changes the fields given, renames the group with
// newDeploymentGroupName, and checks the result as CreateDeploymentGroup
// does. Deployments already under way keep the settings they started with.
func (s *Service) UpdateDeploymentGroup(ctx context.Context, in *cdapi.UpdateDeploymentGroupInput) (*cdapi.UpdateDeploymentGroupOutput, error) {
	appName, groupName, err := requireAppAndGroup(in.ApplicationName, in.CurrentDeploymentGroupName)
	if err != nil {
		return nil, err
	}
	newName := groupName
	if in.NewDeploymentGroupName != nil {
		if newName, err = requireGroupName(in.NewDeploymentGroupName); err != nil {
			return nil, err
		}
	}
	if in.ServiceRoleArn != nil {
		if err := checkRole(in.ServiceRoleArn); err != nil {
			return nil, err
		}
	}
	sc := callerOf(ctx)
	var app *appRecord
	var g *groupRecord
	if err := s.st.View(ctx, func(tx store.Tx) error {
		app, g, err = getGroup(tx, sc, appName, groupName)
		return err
	}); err != nil {
		return nil, internal(err)
	}
	info := g.Info
	info.DeploymentGroupName = new(newName)
	if in.DeploymentConfigName != nil {
		info.DeploymentConfigName = in.DeploymentConfigName
	}
	if in.ServiceRoleArn != nil {
		info.ServiceRoleArn = in.ServiceRoleArn
	}
	if in.AutoRollbackConfiguration != nil {
		info.AutoRollbackConfiguration = in.AutoRollbackConfiguration
	}
	if in.AlarmConfiguration != nil {
		info.AlarmConfiguration = in.AlarmConfiguration
	}
	if in.DeploymentStyle != nil {
		info.DeploymentStyle = in.DeploymentStyle
	}
	if in.BlueGreenDeploymentConfiguration != nil {
		info.BlueGreenDeploymentConfiguration = in.BlueGreenDeploymentConfiguration
	}
	if in.LoadBalancerInfo != nil {
		info.LoadBalancerInfo = in.LoadBalancerInfo
	}
	if in.EcsServices != nil {
		info.EcsServices = in.EcsServices
	}
	if in.TriggerConfigurations != nil {
		info.TriggerConfigurations = in.TriggerConfigurations
	}
	if in.Ec2TagFilters != nil {
		info.Ec2TagFilters = in.Ec2TagFilters
	}
	if in.OnPremisesInstanceTagFilters != nil {
		info.OnPremisesInstanceTagFilters = in.OnPremisesInstanceTagFilters
	}
	if in.Ec2TagSet != nil {
		info.Ec2TagSet = in.Ec2TagSet
	}
	if in.OnPremisesTagSet != nil {
		info.OnPremisesTagSet = in.OnPremisesTagSet
	}
	if in.OutdatedInstancesStrategy != nil {
		info.OutdatedInstancesStrategy = in.OutdatedInstancesStrategy
	}
	if in.TerminationHookEnabled != nil {
		info.TerminationHookEnabled = in.TerminationHookEnabled
	}
	if in.AutoScalingGroups != nil {
		info.AutoScalingGroups = nil
		for _, asg := range in.AutoScalingGroups {
			info.AutoScalingGroups = append(info.AutoScalingGroups, cdapi.AutoScalingGroup{Name: new(asg)})
		}
	}
	if app.ComputePlatform == string(cdapi.ComputePlatformEcs) {
		if err := s.checkECSGroup(ctx, &info); err != nil {
			return nil, err
		}
	} else if err := checkAutoRollback(info.AutoRollbackConfiguration); err != nil {
		return nil, err
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		app, cur, err := getGroup(tx, sc, appName, groupName)
		if err != nil {
			return err
		}
		if newName != groupName {
			taken, err := getDoc[groupRecord](tx, kindGroup, sc, groupKey(app.ID, newName))
			if err != nil {
				return err
			}
			if taken != nil {
				return cdapi.NewDeploymentGroupAlreadyExistsException("The deployment group %s already exists in application %s.", newName, appName)
			}
			if err := deleteDoc(tx, kindGroup, sc, groupKey(app.ID, groupName)); err != nil {
				return err
			}
		}
		if err := checkGroupInTx(tx, sc, app, &info, str(info.DeploymentGroupId)); err != nil {
			return err
		}
		cur.Info = info
		return putDoc(tx, kindGroup, sc, groupKey(app.ID, newName), cur, s.now())
	})
	if err != nil {
		return nil, internal(err)
	}
	return &cdapi.UpdateDeploymentGroupOutput{HooksNotCleanedUp: []cdapi.AutoScalingGroup{}}, nil
}

// DeleteDeploymentGroup deletes a group; one that does not exist is
// success, as in CodeDeploy. A deployment under way fails with
// DEPLOYMENT_GROUP_MISSING on the engine's next look.
func (s *Service) DeleteDeploymentGroup(ctx context.Context, in *cdapi.DeleteDeploymentGroupInput) (*cdapi.DeleteDeploymentGroupOutput, error) {
	appName, groupName, err := requireAppAndGroup(in.ApplicationName, in.DeploymentGroupName)
	if err != nil {
		return nil, err
	}
	sc := callerOf(ctx)
	err = s.st.Update(ctx, func(tx store.Tx) error {
		app, err := getApp(tx, sc, appName)
		if err != nil {
			return err
		}
		return deleteDoc(tx, kindGroup, sc, groupKey(app.ID, groupName))
	})
	s.wake()
	return &cdapi.DeleteDeploymentGroupOutput{HooksNotCleanedUp: []cdapi.AutoScalingGroup{}}, internal(err)
}
