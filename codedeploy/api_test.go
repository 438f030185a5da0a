package codedeploy

import (
	"slices"
	"testing"

	cdapi "github.com/berth-dev/berth/api/codedeploy"
)

func TestApplicationsAndErrors(t *testing.T) {
	h := newHarness(t)
	ctx := h.ctx
	s := h.svc
	if _, err := s.CreateApplication(ctx, &cdapi.CreateApplicationInput{ApplicationName: new("web"), ComputePlatform: new(cdapi.ComputePlatformEcs),
		Tags: []cdapi.Tag{{Key: new("team"), Value: new("a")}}}); err != nil {
		t.Fatal(err)
	}
	_, err := s.CreateApplication(ctx, &cdapi.CreateApplicationInput{ApplicationName: new("web")})
	wantCode(t, "create twice", err, cdapi.CodeApplicationAlreadyExistsException)
	_, err = s.GetApplication(ctx, &cdapi.GetApplicationInput{ApplicationName: new("nope")})
	wantCode(t, "get missing", err, cdapi.CodeApplicationDoesNotExistException)
	_, err = s.CreateApplication(ctx, &cdapi.CreateApplicationInput{})
	wantCode(t, "no name", err, cdapi.CodeApplicationNameRequiredException)
	got, err := s.GetApplication(ctx, &cdapi.GetApplicationInput{ApplicationName: new("web")})
	if err != nil || *got.Application.ComputePlatform != cdapi.ComputePlatformEcs {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := s.UpdateApplication(ctx, &cdapi.UpdateApplicationInput{ApplicationName: new("web"), NewApplicationName: new("web2")}); err != nil {
		t.Fatal(err)
	}
	list, _ := s.ListApplications(ctx, &cdapi.ListApplicationsInput{})
	if !slices.Equal(list.Applications, []string{"web2"}) {
		t.Fatalf("list %v", list.Applications)
	}
	arn := appARN(scope{account, region}, "web2")
	tags, err := s.ListTagsForResource(ctx, &cdapi.ListTagsForResourceInput{ResourceArn: new(arn)})
	if err != nil || len(tags.Tags) != 1 || *tags.Tags[0].Key != "team" {
		t.Fatalf("tags %+v %v", tags, err)
	}
	if _, err := s.UntagResource(ctx, &cdapi.UntagResourceInput{ResourceArn: new(arn), TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteApplication(ctx, &cdapi.DeleteApplicationInput{ApplicationName: new("web2")}); err != nil {
		t.Fatal(err)
	}
	_, err = s.BatchGetApplications(ctx, &cdapi.BatchGetApplicationsInput{ApplicationNames: []string{"web2"}})
	wantCode(t, "batch get deleted", err, cdapi.CodeApplicationDoesNotExistException)
}

func TestDeploymentGroupValidation(t *testing.T) {
	h := newHarness(t)
	h.setup("CodeDeployDefault.ECSAllAtOnce", nil)
	s, ctx := h.svc, h.ctx
	_, err := s.CreateDeploymentGroup(ctx, groupInput("CodeDeployDefault.ECSAllAtOnce"))
	wantCode(t, "twice", err, cdapi.CodeDeploymentGroupAlreadyExistsException)
	for _, c := range []struct {
		name   string
		mutate func(*cdapi.CreateDeploymentGroupInput)
		code   string
	}{
		{"server config", func(in *cdapi.CreateDeploymentGroupInput) {
			in.DeploymentConfigName = new("CodeDeployDefault.OneAtATime")
		}, cdapi.CodeInvalidDeploymentConfigNameException},
		{"unknown config", func(in *cdapi.CreateDeploymentGroupInput) { in.DeploymentConfigName = new("nope") }, cdapi.CodeDeploymentConfigDoesNotExistException},
		{"no role", func(in *cdapi.CreateDeploymentGroupInput) { in.ServiceRoleArn = nil }, cdapi.CodeRoleRequiredException},
		{"unknown service", func(in *cdapi.CreateDeploymentGroupInput) { in.EcsServices[0].ServiceName = new("api") }, cdapi.CodeInvalidECSServiceException},
		{"one target group", func(in *cdapi.CreateDeploymentGroupInput) {
			in.LoadBalancerInfo.TargetGroupPairInfoList[0].TargetGroups = in.LoadBalancerInfo.TargetGroupPairInfoList[0].TargetGroups[:1]
		}, cdapi.CodeInvalidTargetGroupPairException},
		{"unknown target group", func(in *cdapi.CreateDeploymentGroupInput) {
			in.LoadBalancerInfo.TargetGroupPairInfoList[0].TargetGroups[1].Name = new("nope")
		}, cdapi.CodeInvalidTargetGroupPairException},
		{"in place", func(in *cdapi.CreateDeploymentGroupInput) {
			in.DeploymentStyle.DeploymentType = new(cdapi.DeploymentTypeInPlace)
		}, cdapi.CodeInvalidDeploymentStyleException},
		{"rollback without events", func(in *cdapi.CreateDeploymentGroupInput) { in.AutoRollbackConfiguration.Events = nil }, cdapi.CodeInvalidAutoRollbackConfigException},
		{"no load balancer", func(in *cdapi.CreateDeploymentGroupInput) { in.LoadBalancerInfo = nil }, cdapi.CodeInvalidLoadBalancerInfoException},
		{"no application", func(in *cdapi.CreateDeploymentGroupInput) { in.ApplicationName = new("nope") }, cdapi.CodeApplicationDoesNotExistException},
		{"same service twice", func(in *cdapi.CreateDeploymentGroupInput) {}, cdapi.CodeECSServiceMappingLimitExceededException},
	} {
		in := groupInput("CodeDeployDefault.ECSAllAtOnce")
		in.DeploymentGroupName = new("other")
		c.mutate(in)
		_, err := s.CreateDeploymentGroup(ctx, in)
		wantCode(t, c.name, err, c.code)
	}
	h.ecs.controller = "ECS"
	in := groupInput("CodeDeployDefault.ECSAllAtOnce")
	in.DeploymentGroupName = new("other")
	_, err = s.CreateDeploymentGroup(ctx, in)
	wantCode(t, "ECS controller", err, cdapi.CodeInvalidECSServiceException)

	g, err := s.GetDeploymentGroup(ctx, &cdapi.GetDeploymentGroupInput{ApplicationName: new("web"), DeploymentGroupName: new("web-dg")})
	if err != nil {
		t.Fatal(err)
	}
	info := g.DeploymentGroupInfo
	if *info.ComputePlatform != cdapi.ComputePlatformEcs || *info.BlueGreenDeploymentConfiguration.DeploymentReadyOption.WaitTimeInMinutes != 0 ||
		*info.BlueGreenDeploymentConfiguration.TerminateBlueInstancesOnDeploymentSuccess.TerminationWaitTimeInMinutes != 5 || *info.ApplicationName != "web" {
		t.Fatalf("group %+v", info)
	}
	_, err = s.GetDeploymentGroup(ctx, &cdapi.GetDeploymentGroupInput{ApplicationName: new("web"), DeploymentGroupName: new("nope")})
	wantCode(t, "missing group", err, cdapi.CodeDeploymentGroupDoesNotExistException)
	if _, err := s.UpdateDeploymentGroup(ctx, &cdapi.UpdateDeploymentGroupInput{ApplicationName: new("web"), CurrentDeploymentGroupName: new("web-dg"),
		NewDeploymentGroupName: new("web-dg2"), DeploymentConfigName: new("CodeDeployDefault.ECSCanary10Percent5Minutes")}); err == nil {
		t.Fatal("update accepted while the service uses the ECS controller")
	}
	h.ecs.controller = "CODE_DEPLOY"
	if _, err := s.UpdateDeploymentGroup(ctx, &cdapi.UpdateDeploymentGroupInput{ApplicationName: new("web"), CurrentDeploymentGroupName: new("web-dg"),
		NewDeploymentGroupName: new("web-dg2"), DeploymentConfigName: new("CodeDeployDefault.ECSCanary10Percent5Minutes")}); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListDeploymentGroups(ctx, &cdapi.ListDeploymentGroupsInput{ApplicationName: new("web")})
	if err != nil || !slices.Equal(list.DeploymentGroups, []string{"web-dg2"}) {
		t.Fatalf("groups %+v %v", list, err)
	}
	batch, err := s.BatchGetDeploymentGroups(ctx, &cdapi.BatchGetDeploymentGroupsInput{ApplicationName: new("web"), DeploymentGroupNames: []string{"web-dg2", "nope"}})
	if err != nil || len(batch.DeploymentGroupsInfo) != 1 || batch.ErrorMessage == nil || *batch.DeploymentGroupsInfo[0].DeploymentConfigName != "CodeDeployDefault.ECSCanary10Percent5Minutes" {
		t.Fatalf("batch %+v %v", batch, err)
	}
	_, err = s.DeleteDeploymentConfig(ctx, &cdapi.DeleteDeploymentConfigInput{DeploymentConfigName: new("CodeDeployDefault.ECSAllAtOnce")})
	wantCode(t, "delete built-in", err, cdapi.CodeInvalidOperationException)
}

func TestDeploymentErrors(t *testing.T) {
	h := newHarness(t)
	h.setup("CodeDeployDefault.ECSAllAtOnce", nil)
	s, ctx := h.svc, h.ctx
	for _, c := range []struct {
		name string
		rev  *cdapi.RevisionLocation
		code string
	}{
		{"no revision", nil, cdapi.CodeRevisionRequiredException},
		{"s3", &cdapi.RevisionLocation{RevisionType: new(cdapi.RevisionLocationTypeS3)}, cdapi.CodeInvalidRevisionException},
		{"bad appspec", &cdapi.RevisionLocation{RevisionType: new(cdapi.RevisionLocationTypeAppSpecContent), AppSpecContent: &cdapi.AppSpecContent{Content: new("version: 0.0\nResources: []")}}, cdapi.CodeInvalidRevisionException},
		{"bad sha", &cdapi.RevisionLocation{RevisionType: new(cdapi.RevisionLocationTypeAppSpecContent), AppSpecContent: &cdapi.AppSpecContent{Content: new(webAppSpec), Sha256: new("00")}}, cdapi.CodeInvalidRevisionException},
	} {
		_, err := s.CreateDeployment(ctx, &cdapi.CreateDeploymentInput{ApplicationName: new("web"), DeploymentGroupName: new("web-dg"), Revision: c.rev})
		wantCode(t, c.name, err, c.code)
	}
	// String revisions are accepted too.
	out, err := s.CreateDeployment(ctx, &cdapi.CreateDeploymentInput{ApplicationName: new("web"), DeploymentGroupName: new("web-dg"),
		Revision: &cdapi.RevisionLocation{RevisionType: new(cdapi.RevisionLocationTypeString), String: &cdapi.RawString{Content: new(webAppSpec)}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateDeployment(ctx, &cdapi.CreateDeploymentInput{ApplicationName: new("web"), DeploymentGroupName: new("web-dg"),
		Revision: &cdapi.RevisionLocation{RevisionType: new(cdapi.RevisionLocationTypeAppSpecContent), AppSpecContent: &cdapi.AppSpecContent{Content: new(webAppSpec)}}})
	wantCode(t, "second active deployment", err, cdapi.CodeDeploymentLimitExceededException)
	_, err = s.GetDeployment(ctx, &cdapi.GetDeploymentInput{DeploymentId: new("d-NOTHERE00")})
	wantCode(t, "missing deployment", err, cdapi.CodeDeploymentDoesNotExistException)
	_, err = s.GetDeployment(ctx, &cdapi.GetDeploymentInput{})
	wantCode(t, "no id", err, cdapi.CodeDeploymentIdRequiredException)
	_, err = s.GetDeploymentTarget(ctx, &cdapi.GetDeploymentTargetInput{DeploymentId: out.DeploymentId, TargetId: new("prod:api")})
	wantCode(t, "missing target", err, cdapi.CodeDeploymentTargetDoesNotExistException)
	targets, err := s.ListDeploymentTargets(ctx, &cdapi.ListDeploymentTargetsInput{DeploymentId: out.DeploymentId})
	if err != nil || !slices.Equal(targets.TargetIds, []string{"prod:web"}) {
		t.Fatalf("targets %+v %v", targets, err)
	}
	list, err := s.ListDeployments(ctx, &cdapi.ListDeploymentsInput{ApplicationName: new("web"), DeploymentGroupName: new("web-dg"),
		IncludeOnlyStatuses: []cdapi.DeploymentStatus{cdapi.DeploymentStatusCreated}})
	if err != nil || !slices.Equal(list.Deployments, []string{*out.DeploymentId}) {
		t.Fatalf("list %+v %v", list, err)
	}
	h.settle()
	h.settle()
	list, _ = s.ListDeployments(ctx, &cdapi.ListDeploymentsInput{IncludeOnlyStatuses: []cdapi.DeploymentStatus{cdapi.DeploymentStatusCreated}})
	if len(list.Deployments) != 0 {
		t.Fatalf("created after the engine ran: %v", list.Deployments)
	}
}

func TestDeploymentConfigs(t *testing.T) {
	h := newHarness(t)
	s, ctx := h.svc, h.ctx
	list, err := s.ListDeploymentConfigs(ctx, &cdapi.ListDeploymentConfigsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"CodeDeployDefault.ECSAllAtOnce", "CodeDeployDefault.ECSLinear10PercentEvery1Minutes", "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
		"CodeDeployDefault.ECSCanary10Percent5Minutes", "CodeDeployDefault.ECSCanary10Percent15Minutes"} {
		if !slices.Contains(list.DeploymentConfigsList, name) {
			t.Errorf("%s not listed", name)
		}
	}
	got, err := s.GetDeploymentConfig(ctx, &cdapi.GetDeploymentConfigInput{DeploymentConfigName: new("CodeDeployDefault.ECSCanary10Percent15Minutes")})
	if err != nil || *got.DeploymentConfigInfo.TrafficRoutingConfig.TimeBasedCanary.CanaryInterval != 15 {
		t.Fatalf("%+v %v", got, err)
	}
	linear := &cdapi.TrafficRoutingConfig{Type: new(cdapi.TrafficRoutingTypeTimeBasedLinear), TimeBasedLinear: &cdapi.TimeBasedLinear{LinearPercentage: new(int32(25)), LinearInterval: new(int32(1))}}
	if _, err := s.CreateDeploymentConfig(ctx, &cdapi.CreateDeploymentConfigInput{DeploymentConfigName: new("Linear25"), ComputePlatform: new(cdapi.ComputePlatformEcs), TrafficRoutingConfig: linear}); err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateDeploymentConfig(ctx, &cdapi.CreateDeploymentConfigInput{DeploymentConfigName: new("Linear25"), ComputePlatform: new(cdapi.ComputePlatformEcs), TrafficRoutingConfig: linear})
	wantCode(t, "twice", err, cdapi.CodeDeploymentConfigAlreadyExistsException)
	bad := &cdapi.TrafficRoutingConfig{Type: new(cdapi.TrafficRoutingTypeTimeBasedCanary), TimeBasedCanary: &cdapi.TimeBasedCanary{CanaryPercentage: new(int32(0)), CanaryInterval: new(int32(1))}}
	_, err = s.CreateDeploymentConfig(ctx, &cdapi.CreateDeploymentConfigInput{DeploymentConfigName: new("Bad"), ComputePlatform: new(cdapi.ComputePlatformEcs), TrafficRoutingConfig: bad})
	wantCode(t, "canary 0%", err, cdapi.CodeInvalidTrafficRoutingConfigurationException)
	_, err = s.CreateDeploymentConfig(ctx, &cdapi.CreateDeploymentConfigInput{DeploymentConfigName: new("CodeDeployDefault.Mine"), ComputePlatform: new(cdapi.ComputePlatformEcs), TrafficRoutingConfig: linear})
	wantCode(t, "reserved name", err, cdapi.CodeInvalidDeploymentConfigNameException)
	h.setup("Linear25", nil)
	_, err = s.DeleteDeploymentConfig(ctx, &cdapi.DeleteDeploymentConfigInput{DeploymentConfigName: new("Linear25")})
	wantCode(t, "in use", err, cdapi.CodeDeploymentConfigInUseException)
	h.deploy()
	h.settle()
	if got := h.lb.greenShare(prodL); got != 25 {
		t.Fatalf("custom linear share %d%%", got)
	}
	_, err = s.GetDeploymentConfig(ctx, &cdapi.GetDeploymentConfigInput{DeploymentConfigName: new("nope")})
	wantCode(t, "missing", err, cdapi.CodeDeploymentConfigDoesNotExistException)
}
