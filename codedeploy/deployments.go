package codedeploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	cdapi "github.com/berth-dev/berth/api/codedeploy"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/codedeploy/appspec"
	"github.com/berth-dev/berth/store"
)

func requireDeploymentID(id *string) (string, error) {
	if id == nil || *id == "" {
		return "", cdapi.NewDeploymentIdRequiredException("A deployment ID must be specified (deploymentId).")
	}
	return *id, nil
}

func deploymentNotFound(id string) error {
	return cdapi.NewDeploymentDoesNotExistException("The deployment %s could not be found.", id)
}

func getDeployment(tx store.Tx, sc scope, id string) (*deploymentRecord, error) {
	d, err := getDoc[deploymentRecord](tx, kindDeployment, sc, id)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, deploymentNotFound(id)
	}
	return d, nil
}

// groupByID finds a deployment's group by id, so that a renamed group is
// still found; nil when it was deleted.
func groupByID(tx store.Tx, sc scope, appID, groupID string) (*groupRecord, string, error) {
	groups, keys, err := listDocs[groupRecord](tx, kindGroup, sc, appID+"/")
	if err != nil {
		return nil, "", err
	}
	for i, g := range groups {
		if str(g.Info.DeploymentGroupId) == groupID {
			return g, keys[i], nil
		}
	}
	return nil, "", nil
}

// revisionContent returns the AppSpec of a revision: AppSpecContent, or
// String for compatibility with older clients, checked against its sha256
// when one is given.
func revisionContent(rev *cdapi.RevisionLocation) (string, error) {
	if rev == nil {
		return "", cdapi.NewRevisionRequiredException("A revision must be specified: revisionType AppSpecContent with appSpecContent.content.")
	}
	var content, sum *string
	var t cdapi.RevisionLocationType
	if rev.RevisionType != nil {
		t = *rev.RevisionType
	}
	switch t {
	case cdapi.RevisionLocationTypeAppSpecContent:
		if rev.AppSpecContent != nil {
			content, sum = rev.AppSpecContent.Content, rev.AppSpecContent.Sha256
		}
	case cdapi.RevisionLocationTypeString:
		if rev.String != nil {
			content, sum = rev.String.Content, rev.String.Sha256
		}
	case "":
		return "", cdapi.NewInvalidRevisionException("The revision needs a revisionType; ECS deployments use AppSpecContent.")
	default:
		return "", cdapi.NewInvalidRevisionException("Revision type %s is not supported for the ECS compute platform; use AppSpecContent with the AppSpec file's content.", t)
	}
	if content == nil || *content == "" {
		return "", cdapi.NewInvalidRevisionException("The revision has no AppSpec content; set appSpecContent.content to the AppSpec file (YAML or JSON).")
	}
	if sum != nil && *sum != "" {
		got := sha256.Sum256([]byte(*content))
		if !strings.EqualFold(hex.EncodeToString(got[:]), *sum) {
			return "", cdapi.NewInvalidRevisionException("The sha256 of the AppSpec content is %s, not the %s given; leave sha256 out or send the digest of the content.", hex.EncodeToString(got[:]), *sum)
		}
	}
	return *content, nil
}

// CreateDeployment starts a blue/green deployment of the group's ECS
// service from an AppSpec; the engine carries it out.
func (s *Service) CreateDeployment(ctx context.Context, in *cdapi.CreateDeploymentInput) (*cdapi.CreateDeploymentOutput, error) {
	appName, groupName, err := requireAppAndGroup(in.ApplicationName, in.DeploymentGroupName)
	if err != nil {
		return nil, err
	}
	content, err := revisionContent(in.Revision)
	if err != nil {
		return nil, err
	}
	spec, err := appspec.Parse([]byte(content))
	if err != nil {
		return nil, cdapi.NewInvalidRevisionException("The AppSpec file is not valid: %s.", err.Error())
	}
	if err := checkAutoRollback(in.AutoRollbackConfiguration); err != nil {
		return nil, err
	}
	if in.Description != nil && len(*in.Description) > 1024 {
		return nil, cdapi.NewDescriptionTooLongException("The description is longer than 1024 characters.")
	}
	sc := callerOf(ctx)
	now := s.now().UTC()
	d := deploymentRecord{
		ID: newDeploymentID(), Account: sc.account, Region: sc.region, Creator: string(cdapi.DeploymentCreatorUser),
		Description: str(in.Description), CreateTime: now, Revision: *in.Revision, Spec: spec.Target, Hooks: spec.Hooks,
		Status: statusCreated, TargetStatus: string(cdapi.TargetStatusPending), TargetUpdated: now, Phase: phaseStart,
	}
	for _, name := range ecsEvents {
		d.Events = append(d.Events, lifecycleEvent{Name: name, Status: eventPending})
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		app, g, err := getGroup(tx, sc, appName, groupName)
		if err != nil {
			return err
		}
		if app.ComputePlatform != string(cdapi.ComputePlatformEcs) {
			return cdapi.NewInvalidComputePlatformException("Application %s is for the %s compute platform; Berth deploys to the ECS compute platform only.", appName, app.ComputePlatform)
		}
		if g.Active != "" {
			if active, err := getDoc[deploymentRecord](tx, kindDeployment, sc, g.Active); err != nil {
				return err
			} else if active != nil && !active.terminal() {
				return cdapi.NewDeploymentLimitExceededException("The Deployment Group '%s' already has an active Deployment '%s'; wait for it to end or stop it (aws deploy stop-deployment).", groupName, g.Active)
			}
		}
		configName := str(g.Info.DeploymentConfigName)
		if in.DeploymentConfigName != nil {
			configName = *in.DeploymentConfigName
		}
		c, err := getConfig(tx, sc, configName)
		if err != nil {
			return err
		}
		if c == nil {
			return configNotFound(configName)
		}
		if c.Platform != string(cdapi.ComputePlatformEcs) {
			return cdapi.NewInvalidDeploymentConfigNameException("The deployment configuration %s is for the %s compute platform; ECS deployments need an ECS configuration such as CodeDeployDefault.ECSAllAtOnce.", configName, c.Platform)
		}
		if d.Plan, err = c.plan(); err != nil {
			return err
		}
		d.AppID, d.AppName, d.GroupName, d.GroupID, d.ConfigName = app.ID, app.Name, groupName, str(g.Info.DeploymentGroupId), configName
		d.AutoRollback = g.Info.AutoRollbackConfiguration
		if in.AutoRollbackConfiguration != nil {
			d.AutoRollback = in.AutoRollbackConfiguration
		}
		if g.Info.BlueGreenDeploymentConfiguration != nil {
			d.BlueGreen = *g.Info.BlueGreenDeploymentConfiguration
		}
		if g.Info.LoadBalancerInfo != nil {
			d.LB = *g.Info.LoadBalancerInfo
		}
		if len(g.Info.EcsServices) == 1 {
			d.Cluster, d.ServiceName = str(g.Info.EcsServices[0].ClusterName), str(g.Info.EcsServices[0].ServiceName)
		}
		d.ServiceRole = str(g.Info.ServiceRoleArn)
		g.Active, g.LastAttempted = d.ID, d.ID
		if err := putDoc(tx, kindGroup, sc, groupKey(app.ID, groupName), g, now); err != nil {
			return err
		}
		if err := putDoc(tx, kindDeployment, sc, d.ID, d, now); err != nil {
			return err
		}
		return putDoc(tx, kindActive, global, activeID(sc, d.ID), struct{}{}, now)
	})
	if err != nil {
		return nil, internal(err)
	}
	s.wake()
	return &cdapi.CreateDeploymentOutput{DeploymentId: new(d.ID)}, nil
}

// info is the deployment as GetDeployment returns it.
func (d *deploymentRecord) info() cdapi.DeploymentInfo {
	st := cdapi.DeploymentStatus(d.Status)
	creator := cdapi.DeploymentCreator(d.Creator)
	cp := cdapi.ComputePlatformEcs
	rev := d.Revision
	bg := d.BlueGreen
	lb := d.LB
	out := cdapi.DeploymentInfo{
		ApplicationName: new(d.AppName), DeploymentGroupName: new(d.GroupName), DeploymentConfigName: new(d.ConfigName),
		DeploymentId: new(d.ID), Revision: &rev, Status: &st, CreateTime: awsapi.Time(d.CreateTime), Creator: &creator,
		IgnoreApplicationStopFailures: new(false), UpdateOutdatedInstancesOnly: new(false),
		AutoRollbackConfiguration: d.AutoRollback, ComputePlatform: &cp,
		DeploymentStyle:                    &cdapi.DeploymentStyle{DeploymentType: new(cdapi.DeploymentTypeBlueGreen), DeploymentOption: new(cdapi.DeploymentOptionWithTrafficControl)},
		InstanceTerminationWaitTimeStarted: new(d.TermWaitStart),
		BlueGreenDeploymentConfiguration:   &bg, LoadBalancerInfo: &lb,
		DeploymentStatusMessages: append([]string{}, d.StatusMessages...),
	}
	if d.Description != "" {
		out.Description = new(d.Description)
	}
	if !d.StartTime.IsZero() {
		out.StartTime = awsapi.Time(d.StartTime)
	}
	if !d.CompleteTime.IsZero() {
		out.CompleteTime = awsapi.Time(d.CompleteTime)
	}
	if d.ErrorCode != "" {
		code := cdapi.ErrorCode(d.ErrorCode)
		out.ErrorInformation = &cdapi.ErrorInformation{Code: &code, Message: new(d.ErrorMessage)}
	}
	if r := d.Rollback; r != nil {
		ri := &cdapi.RollbackInfo{}
		if r.DeploymentID != "" {
			ri.RollbackDeploymentId = new(r.DeploymentID)
		}
		if r.TriggeringDeploymentID != "" {
			ri.RollbackTriggeringDeploymentId = new(r.TriggeringDeploymentID)
		}
		if r.Message != "" {
			ri.RollbackMessage = new(r.Message)
		}
		out.RollbackInfo = ri
	}
	var o [6]int64 // Pending, InProgress, Succeeded, Failed, Skipped, Ready
	switch cdapi.TargetStatus(d.TargetStatus) {
	case cdapi.TargetStatusPending:
		o[0]++
	case cdapi.TargetStatusInProgress:
		o[1]++
	case cdapi.TargetStatusSucceeded:
		o[2]++
	case cdapi.TargetStatusFailed:
		o[3]++
	case cdapi.TargetStatusSkipped:
		o[4]++
	case cdapi.TargetStatusReady:
		o[5]++
	}
	out.DeploymentOverview = &cdapi.DeploymentOverview{Pending: &o[0], InProgress: &o[1], Succeeded: &o[2], Failed: &o[3], Skipped: &o[4], Ready: &o[5]}
	return out
}

func (s *Service) GetDeployment(ctx context.Context, in *cdapi.GetDeploymentInput) (*cdapi.GetDeploymentOutput, error) {
	id, err := requireDeploymentID(in.DeploymentId)
	if err != nil {
		return nil, err
	}
	var out cdapi.GetDeploymentOutput
	err = s.st.View(ctx, func(tx store.Tx) error {
		d, err := getDeployment(tx, callerOf(ctx), id)
		if err != nil {
			return err
		}
		info := d.info()
		out.DeploymentInfo = &info
		return nil
	})
	return &out, internal(err)
}

// BatchGetDeployments describes up to 25 deployments; unknown ids are
// left out, as CodeDeploy does.
func (s *Service) BatchGetDeployments(ctx context.Context, in *cdapi.BatchGetDeploymentsInput) (*cdapi.BatchGetDeploymentsOutput, error) {
	if len(in.DeploymentIds) == 0 {
		return nil, cdapi.NewDeploymentIdRequiredException("At least one deployment ID must be specified (deploymentIds).")
	}
	if len(in.DeploymentIds) > 25 {
		return nil, cdapi.NewBatchLimitExceededException("The maximum number of deployment IDs allowed for this request (25) was exceeded.")
	}
	out := &cdapi.BatchGetDeploymentsOutput{DeploymentsInfo: []cdapi.DeploymentInfo{}}
	err := s.st.View(ctx, func(tx store.Tx) error {
		for _, id := range in.DeploymentIds {
			d, err := getDoc[deploymentRecord](tx, kindDeployment, callerOf(ctx), id)
			if err != nil {
				return err
			}
			if d != nil {
				out.DeploymentsInfo = append(out.DeploymentsInfo, d.info())
			}
		}
		return nil
	})
	return out, internal(err)
}

// ListDeployments lists deployment ids, newest first, filtered by
// application and group, status, creation time and external id.
func (s *Service) ListDeployments(ctx context.Context, in *cdapi.ListDeploymentsInput) (*cdapi.ListDeploymentsOutput, error) {
	if in.DeploymentGroupName != nil && in.ApplicationName == nil {
		return nil, cdapi.NewApplicationNameRequiredException("An application name must be specified with a deployment group name.")
	}
	if in.ApplicationName != nil && in.DeploymentGroupName == nil {
		return nil, cdapi.NewDeploymentGroupNameRequiredException("A deployment group name must be specified with an application name.")
	}
	var start, end time.Time
	if r := in.CreateTimeRange; r != nil {
		if r.Start != nil {
			start = r.Start.Time
		}
		if r.End != nil {
			end = r.End.Time
		}
		if !start.IsZero() && !end.IsZero() && end.Before(start) {
			return nil, cdapi.NewInvalidTimeRangeException("The createTimeRange end is before its start.")
		}
	}
	sc := callerOf(ctx)
	var list []*deploymentRecord
	err := s.st.View(ctx, func(tx store.Tx) error {
		groupID := ""
		if in.ApplicationName != nil {
			_, g, err := getGroup(tx, sc, *in.ApplicationName, *in.DeploymentGroupName)
			if err != nil {
				return err
			}
			groupID = str(g.Info.DeploymentGroupId)
		}
		all, _, err := listDocs[deploymentRecord](tx, kindDeployment, sc, "")
		if err != nil {
			return err
		}
		for _, d := range all {
			if groupID != "" && d.GroupID != groupID {
				continue
			}
			if len(in.IncludeOnlyStatuses) > 0 && !slices.Contains(in.IncludeOnlyStatuses, cdapi.DeploymentStatus(d.Status)) {
				continue
			}
			if (!start.IsZero() && d.CreateTime.Before(start)) || (!end.IsZero() && d.CreateTime.After(end)) {
				continue
			}
			if in.ExternalId != nil {
				// Berth's deployments come from users, never from
				// CloudFormation, so none has an external id.
				continue
			}
			list = append(list, d)
		}
		return nil
	})
	if err != nil {
		return nil, internal(err)
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].CreateTime.Equal(list[j].CreateTime) {
			return list[i].CreateTime.After(list[j].CreateTime)
		}
		return list[i].ID < list[j].ID
	})
	from := 0
	if in.NextToken != nil && *in.NextToken != "" {
		from = -1
		for i, d := range list {
			if d.ID == *in.NextToken {
				from = i + 1
			}
		}
		if from < 0 {
			return nil, cdapi.NewInvalidNextTokenException("The next token was specified in an invalid format.")
		}
	}
	out := &cdapi.ListDeploymentsOutput{Deployments: []string{}}
	for i := from; i < len(list) && len(out.Deployments) < listPageSize; i++ {
		out.Deployments = append(out.Deployments, list[i].ID)
		if len(out.Deployments) == listPageSize && i+1 < len(list) {
			out.NextToken = new(list[i].ID)
		}
	}
	return out, nil
}

// StopDeployment stops a deployment under way. With autoRollbackEnabled a
// rollback deployment moves production traffic back to the original task
// set and deletes the replacement; without it, traffic and task sets stay
// as they are.
func (s *Service) StopDeployment(ctx context.Context, in *cdapi.StopDeploymentInput) (*cdapi.StopDeploymentOutput, error) {
	id, err := requireDeploymentID(in.DeploymentId)
	if err != nil {
		return nil, err
	}
	rollback := in.AutoRollbackEnabled != nil && *in.AutoRollbackEnabled
	sc := callerOf(ctx)
	err = s.st.Update(ctx, func(tx store.Tx) error {
		d, err := getDeployment(tx, sc, id)
		if err != nil {
			return err
		}
		if d.terminal() {
			return cdapi.NewDeploymentAlreadyCompletedException("The deployment %s has already completed (status %s).", id, d.Status)
		}
		return s.finish(tx, d, statusStopped, string(cdapi.ErrorCodeManualStop), "The deployment was stopped by the user.", rollback && d.RollbackOf == "")
	})
	if err != nil {
		return nil, internal(err)
	}
	s.wake()
	return &cdapi.StopDeploymentOutput{Status: new(cdapi.StopStatusPending), StatusMessage: new("Stopping Active Deployment")}, nil
}

// ContinueDeployment ends a wait: READY_WAIT (the default) starts
// rerouting production traffic of a deployment that is Ready;
// TERMINATION_WAIT deletes the original task set without waiting out
// terminationWaitTimeInMinutes.
func (s *Service) ContinueDeployment(ctx context.Context, in *cdapi.ContinueDeploymentInput) (*cdapi.ContinueDeploymentOutput, error) {
	id, err := requireDeploymentID(in.DeploymentId)
	if err != nil {
		return nil, err
	}
	wait := cdapi.DeploymentWaitTypeReadyWait
	if in.DeploymentWaitType != nil {
		wait = *in.DeploymentWaitType
	}
	return &cdapi.ContinueDeploymentOutput{}, s.continueDeployment(ctx, id, wait)
}

// SkipWaitTimeForInstanceTermination is the deprecated form of
// ContinueDeployment with TERMINATION_WAIT.
func (s *Service) SkipWaitTimeForInstanceTermination(ctx context.Context, in *cdapi.SkipWaitTimeForInstanceTerminationInput) (*cdapi.SkipWaitTimeForInstanceTerminationOutput, error) {
	id, err := requireDeploymentID(in.DeploymentId)
	if err != nil {
		return nil, err
	}
	return &cdapi.SkipWaitTimeForInstanceTerminationOutput{}, s.continueDeployment(ctx, id, cdapi.DeploymentWaitTypeTerminationWait)
}

func (s *Service) continueDeployment(ctx context.Context, id string, wait cdapi.DeploymentWaitType) error {
	sc := callerOf(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		d, err := getDeployment(tx, sc, id)
		if err != nil {
			return err
		}
		if d.terminal() {
			return cdapi.NewDeploymentAlreadyCompletedException("The deployment %s has already completed (status %s).", id, d.Status)
		}
		switch wait {
		case cdapi.DeploymentWaitTypeReadyWait:
			if d.Phase != phaseReady {
				return cdapi.NewDeploymentIsNotInReadyStateException("The deployment %s is not in the Ready state (it is %s); READY_WAIT applies to deployment groups with deploymentReadyOption actionOnTimeout STOP_DEPLOYMENT once the replacement task set is ready.", id, d.Status)
			}
			d.ContinueReady = true
		case cdapi.DeploymentWaitTypeTerminationWait:
			if d.Phase != phaseTerminate {
				return cdapi.NewInvalidDeploymentStatusException("The deployment %s is not waiting to terminate the original task set; TERMINATION_WAIT applies once all production traffic is on the replacement task set.", id)
			}
			d.ContinueTerm = true
		default:
			return cdapi.NewInvalidDeploymentWaitTypeException("The wait type %s is not valid; use READY_WAIT or TERMINATION_WAIT.", wait)
		}
		d.Version++
		return putDoc(tx, kindDeployment, sc, d.ID, d, s.now())
	})
	if err != nil {
		return internal(err)
	}
	s.wake()
	return nil
}

// finish ends d with status in tx: it leaves its group free for the next
// deployment and, with rollback, creates the rollback deployment that
// puts production traffic back on the original task set.
func (s *Service) finish(tx store.Tx, d *deploymentRecord, status, code, message string, rollback bool) error {
	now := s.now().UTC()
	sc := d.scope()
	d.Status, d.CompleteTime, d.Phase = status, now, phaseDone
	if d.StartTime.IsZero() {
		d.StartTime = now
	}
	d.ErrorCode, d.ErrorMessage = code, message
	d.TargetStatus, d.TargetUpdated = string(cdapi.TargetStatusSucceeded), now
	if status != statusSucceeded {
		d.TargetStatus = string(cdapi.TargetStatusFailed)
		for i := range d.Events {
			if d.Events[i].Status == eventInProgress {
				d.Events[i].Status, d.Events[i].End = eventFailed, now
			}
		}
	}
	g, key, err := groupByID(tx, sc, d.AppID, d.GroupID)
	if err != nil {
		return err
	}
	if rollback {
		r := deploymentRecord{
			ID: newDeploymentID(), Account: d.Account, Region: d.Region, AppID: d.AppID, AppName: d.AppName, GroupName: d.GroupName, GroupID: d.GroupID,
			ConfigName: d.ConfigName, Creator: string(cdapi.DeploymentCreatorCodeDeployRollback), CreateTime: now, Revision: d.Revision,
			Spec: d.Spec, Plan: d.Plan, AutoRollback: d.AutoRollback, BlueGreen: d.BlueGreen, LB: d.LB, Cluster: d.Cluster, ServiceName: d.ServiceName,
			ServiceRole: d.ServiceRole, Status: statusCreated, TargetStatus: string(cdapi.TargetStatusPending), TargetUpdated: now, Phase: phaseRollback,
			ServiceARN: d.ServiceARN, BlueTaskSet: d.BlueTaskSet, GreenTaskSet: d.GreenTaskSet, BlueTG: d.BlueTG, GreenTG: d.GreenTG,
			GreenPercent: d.GreenPercent, RollbackOf: d.ID,
			Rollback: &rollbackInfo{TriggeringDeploymentID: d.ID, Message: fmt.Sprintf("Rollback of deployment %s: production traffic back to the original task set.", d.ID)},
		}
		if g != nil && g.LastSuccessful != "" {
			if last, err := getDoc[deploymentRecord](tx, kindDeployment, sc, g.LastSuccessful); err != nil {
				return err
			} else if last != nil {
				r.Revision = last.Revision
			}
		}
		for _, name := range ecsEvents {
			r.Events = append(r.Events, lifecycleEvent{Name: name, Status: eventPending})
		}
		d.Rollback = &rollbackInfo{DeploymentID: r.ID, Message: fmt.Sprintf("Deployment %s rolled back by deployment %s.", d.ID, r.ID)}
		if err := putDoc(tx, kindDeployment, sc, r.ID, r, now); err != nil {
			return err
		}
		if err := putDoc(tx, kindActive, global, activeID(sc, r.ID), struct{}{}, now); err != nil {
			return err
		}
		if g != nil {
			g.Active, g.LastAttempted = r.ID, r.ID
		}
	} else if g != nil && g.Active == d.ID {
		g.Active = ""
	}
	if g != nil {
		if status == statusSucceeded && d.RollbackOf == "" {
			g.LastSuccessful = d.ID
		}
		if err := putDoc(tx, kindGroup, sc, key, g, now); err != nil {
			return err
		}
	}
	if err := deleteDoc(tx, kindActive, global, activeID(sc, d.ID)); err != nil {
		return err
	}
	d.Version++
	return putDoc(tx, kindDeployment, sc, d.ID, d, now)
}

// targetID is the id of an ECS deployment's one target, as CodeDeploy
// names it: cluster:service.
func (d *deploymentRecord) targetID() string { return d.Cluster + ":" + d.ServiceName }

func (d *deploymentRecord) target() cdapi.DeploymentTarget {
	st := cdapi.TargetStatus(d.TargetStatus)
	arn := d.ServiceARN
	if arn == "" {
		arn = "arn:aws:ecs:" + d.Region + ":" + d.Account + ":service/" + d.Cluster + "/" + d.ServiceName
	}
	t := &cdapi.ECSTarget{DeploymentId: new(d.ID), TargetId: new(d.targetID()), TargetArn: new(arn), LastUpdatedAt: awsapi.Time(d.TargetUpdated),
		Status: &st, LifecycleEvents: []cdapi.LifecycleEvent{}, TaskSetsInfo: []cdapi.ECSTaskSet{}}
	for _, e := range d.Events {
		es := cdapi.LifecycleEventStatus(e.Status)
		le := cdapi.LifecycleEvent{LifecycleEventName: new(e.Name), Status: &es}
		if !e.Start.IsZero() {
			le.StartTime = awsapi.Time(e.Start)
		}
		if !e.End.IsZero() {
			le.EndTime = awsapi.Time(e.End)
		}
		t.LifecycleEvents = append(t.LifecycleEvents, le)
	}
	for _, ts := range d.TaskSets {
		label := cdapi.TargetLabel(ts.Label)
		t.TaskSetsInfo = append(t.TaskSetsInfo, cdapi.ECSTaskSet{Identifer: new(ts.ID), DesiredCount: new(ts.Desired), PendingCount: new(ts.Pending),
			RunningCount: new(ts.Running), Status: new(ts.Status), TrafficWeight: new(ts.Weight),
			TargetGroup: &cdapi.TargetGroupInfo{Name: new(ts.TargetGroup)}, TaskSetLabel: &label})
	}
	return cdapi.DeploymentTarget{DeploymentTargetType: new(cdapi.DeploymentTargetTypeECSTarget), EcsTarget: t}
}

func (s *Service) ListDeploymentTargets(ctx context.Context, in *cdapi.ListDeploymentTargetsInput) (*cdapi.ListDeploymentTargetsOutput, error) {
	id, err := requireDeploymentID(in.DeploymentId)
	if err != nil {
		return nil, err
	}
	for name := range in.TargetFilters {
		if name != string(cdapi.TargetFilterNameTargetStatus) && name != string(cdapi.TargetFilterNameServerInstanceLabel) {
			return nil, cdapi.NewInvalidTargetFilterNameException("The target filter %s is not valid; use TargetStatus or ServerInstanceLabel.", name)
		}
	}
	out := &cdapi.ListDeploymentTargetsOutput{TargetIds: []string{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		d, err := getDeployment(tx, callerOf(ctx), id)
		if err != nil {
			return err
		}
		if want := in.TargetFilters[string(cdapi.TargetFilterNameTargetStatus)]; len(want) > 0 && !slices.Contains(want, d.TargetStatus) {
			return nil
		}
		out.TargetIds = append(out.TargetIds, d.targetID())
		return nil
	})
	return out, internal(err)
}

func (s *Service) BatchGetDeploymentTargets(ctx context.Context, in *cdapi.BatchGetDeploymentTargetsInput) (*cdapi.BatchGetDeploymentTargetsOutput, error) {
	id, err := requireDeploymentID(in.DeploymentId)
	if err != nil {
		return nil, err
	}
	if len(in.TargetIds) == 0 {
		return nil, cdapi.NewDeploymentTargetIdRequiredException("At least one target ID must be specified (targetIds).")
	}
	if len(in.TargetIds) > 25 {
		return nil, cdapi.NewDeploymentTargetListSizeExceededException("At most 25 target IDs can be given in one request.")
	}
	out := &cdapi.BatchGetDeploymentTargetsOutput{DeploymentTargets: []cdapi.DeploymentTarget{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		d, err := getDeployment(tx, callerOf(ctx), id)
		if err != nil {
			return err
		}
		for _, t := range in.TargetIds {
			if t != d.targetID() {
				return cdapi.NewDeploymentTargetDoesNotExistException("The target %s is not part of deployment %s; its target is %s.", t, id, d.targetID())
			}
			out.DeploymentTargets = append(out.DeploymentTargets, d.target())
		}
		return nil
	})
	return out, internal(err)
}

func (s *Service) GetDeploymentTarget(ctx context.Context, in *cdapi.GetDeploymentTargetInput) (*cdapi.GetDeploymentTargetOutput, error) {
	id, err := requireDeploymentID(in.DeploymentId)
	if err != nil {
		return nil, err
	}
	if in.TargetId == nil || *in.TargetId == "" {
		return nil, cdapi.NewDeploymentTargetIdRequiredException("A target ID must be specified (targetId).")
	}
	out := &cdapi.GetDeploymentTargetOutput{}
	err = s.st.View(ctx, func(tx store.Tx) error {
		d, err := getDeployment(tx, callerOf(ctx), id)
		if err != nil {
			return err
		}
		if *in.TargetId != d.targetID() {
			return cdapi.NewDeploymentTargetDoesNotExistException("The target %s is not part of deployment %s; its target is %s.", *in.TargetId, id, d.targetID())
		}
		t := d.target()
		out.DeploymentTarget = &t
		return nil
	})
	return out, internal(err)
}
