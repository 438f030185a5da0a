package codedeploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	cdapi "github.com/berth-dev/berth/api/codedeploy"
	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/elb"
	"github.com/berth-dev/berth/store"
)

// The deployment engine. Each pass reads every unfinished deployment and
// moves it on by at most one phase, as CodeDeploy does for ECS blue/green:
//
//	start      the service's PRIMARY task set is blue; its target group is
//	           the pair's production one, the other target group is green's
//	install    CreateTaskSet (green, scale 100%, externalId = deployment id)
//	           until it is steady with every task healthy in its target group;
//	           then the test listener forwards to green (AllowTestTraffic)
//	ready      with STOP_DEPLOYMENT, wait for ContinueDeployment(READY_WAIT)
//	           up to waitTimeInMinutes
//	shift      production listener weights follow the configuration's plan
//	           (canary, linear, all at once); at 100%
//	           UpdateServicePrimaryTaskSet(green)
//	terminate  wait terminationWaitTimeInMinutes (or TERMINATION_WAIT), then
//	           DeleteTaskSet(blue)
//
// A rollback deployment (phase rollback) puts both listeners back on blue,
// makes blue primary again and deletes green.
//
// The external calls of a pass come first and are idempotent: green is
// looked up by its externalId before it is created, listener weights and
// the primary task set are set to absolute values, deleting a task set that
// is gone is success. The pass then commits the new phase only if nobody
// (StopDeployment, ContinueDeployment) changed the record meanwhile; a pass
// cut short by a crash is simply done again after the restart.

// installTimeout is how many CodeDeploy minutes green has to become steady
// and healthy before the deployment fails.
const installTimeout = 60

// Reconcile runs one pass over every unfinished deployment.
func (s *Service) Reconcile(ctx context.Context) error {
	var ids []string
	err := s.st.View(ctx, func(tx store.Tx) error {
		_, keys, err := listDocs[struct{}](tx, kindActive, global, "")
		ids = keys
		return err
	})
	if err != nil {
		return err
	}
	s.forgetApplied(ids)
	var errs []error
	for _, key := range ids {
		parts := strings.SplitN(key, "/", 3)
		if len(parts) != 3 {
			continue
		}
		if err := s.step(ctx, scope{parts[0], parts[1]}, parts[2]); err != nil {
			s.log.Warn("codedeploy: deployment step", "deployment", parts[2], "err", err)
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// outcome ends a deployment at the end of a pass.
type outcome struct {
	status, code, message string
	rollback              bool
}

func (s *Service) step(ctx context.Context, sc scope, id string) error {
	var before []byte
	var d *deploymentRecord
	var groupMissing bool
	err := s.st.View(ctx, func(tx store.Tx) error {
		r, err := tx.GetResource(kindDeployment, sc.account, sc.region, id)
		if err != nil {
			return err
		}
		before = r.Doc
		d = new(deploymentRecord)
		if err := json.Unmarshal(r.Doc, d); err != nil {
			return err
		}
		g, _, err := groupByID(tx, sc, d.AppID, d.GroupID)
		groupMissing = g == nil
		return err
	})
	if err != nil && !isNotFound(err) {
		return err
	}
	if d == nil || d.terminal() {
		return s.st.Update(ctx, func(tx store.Tx) error { return deleteDoc(tx, kindActive, global, activeID(sc, id)) })
	}
	if s.ecs == nil || s.lb == nil {
		return nil // a Berth without ECS or ELB cannot deploy; the deployment waits
	}
	var out *outcome
	if groupMissing {
		out = &outcome{status: statusFailed, code: string(cdapi.ErrorCodeDeploymentGroupMissing), message: "The deployment group was deleted while the deployment was under way."}
	} else {
		ectx := awsapi.WithIdentity(ctx, awsapi.Identity{AccountID: sc.account, Region: sc.region, Service: "ecs"})
		out, err = s.advance(ectx, d)
		if err != nil {
			e := awsapi.AsError(err)
			if e == nil || e.HTTPStatus >= 500 {
				// A failed call is retried on the next pass; the
				// deployment keeps its phase.
				return err
			}
			// A refusal (a listener or service deleted under the
			// deployment) does not go away by retrying.
			code := cdapi.ErrorCodeEcsUpdateError
			if errors.As(err, new(elbError)) {
				code = cdapi.ErrorCodeElasticLoadBalancingInvalid
			}
			out = &outcome{status: statusFailed, code: string(code), message: errMessage(err), rollback: d.RollbackOf == "" && d.rollbackOnFailure()}
		}
	}
	return s.st.Update(ctx, func(tx store.Tx) error {
		r, err := tx.GetResource(kindDeployment, sc.account, sc.region, id)
		if err != nil {
			return err
		}
		if !bytes.Equal(r.Doc, before) {
			return nil // changed by the API meanwhile: look again next pass
		}
		if out != nil {
			return s.finish(tx, d, out.status, out.code, out.message, out.rollback)
		}
		doc, err := json.Marshal(d)
		if err != nil || bytes.Equal(doc, before) {
			return err
		}
		d.Version++
		return putDoc(tx, kindDeployment, sc, id, d, s.now())
	})
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// advance takes the next steps of d, changing d in memory.
func (s *Service) advance(ctx context.Context, d *deploymentRecord) (*outcome, error) {
	now := s.now().UTC()
	if d.Status == statusCreated {
		d.Status, d.StartTime = statusInProgress, now
		d.TargetStatus, d.TargetUpdated = string(cdapi.TargetStatusInProgress), now
	}
	switch d.Phase {
	case phaseStart:
		return s.start(ctx, d, now)
	case phaseInstall:
		return s.install(ctx, d, now)
	case phaseReady:
		if out, err := s.checkGreen(ctx, d); out != nil || err != nil {
			return out, err
		}
		if d.ContinueReady {
			d.Status, d.TargetStatus, d.TargetUpdated = statusInProgress, string(cdapi.TargetStatusInProgress), now
			s.beginShift(d, now)
			return nil, nil
		}
		wait := int32(0)
		if ro := d.BlueGreen.DeploymentReadyOption; ro != nil {
			wait = ptrInt(ro.WaitTimeInMinutes)
		}
		if wait > 0 && now.Sub(d.PhaseStarted) >= time.Duration(wait)*s.minute {
			return &outcome{status: statusStopped, code: string(cdapi.ErrorCodeTimeout), rollback: true,
				message: fmt.Sprintf("The deployment was not continued within %d minutes (deploymentReadyOption STOP_DEPLOYMENT); the replacement task set is removed.", wait)}, nil
		}
		return nil, nil
	case phaseShift:
		return s.shift(ctx, d, now)
	case phaseTerminate:
		return s.terminate(ctx, d, now)
	case phaseRollback:
		return s.rollback(ctx, d, now)
	}
	return nil, nil
}

func (d *deploymentRecord) pair() cdapi.TargetGroupPairInfo {
	if len(d.LB.TargetGroupPairInfoList) == 0 {
		return cdapi.TargetGroupPairInfo{}
	}
	return d.LB.TargetGroupPairInfoList[0]
}

func (d *deploymentRecord) prodListener() string {
	if p := d.pair().ProdTrafficRoute; p != nil && len(p.ListenerArns) > 0 {
		return p.ListenerArns[0]
	}
	return ""
}

func (d *deploymentRecord) testListener() string {
	if p := d.pair().TestTrafficRoute; p != nil && len(p.ListenerArns) > 0 {
		return p.ListenerArns[0]
	}
	return ""
}

// tgName is the name in a target group ARN (…:targetgroup/<name>/<id>).
func tgName(arn string) string {
	_, rest, ok := strings.Cut(arn, ":targetgroup/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}

func failure(code cdapi.ErrorCode, format string, args ...any) *outcome {
	return &outcome{status: statusFailed, code: string(code), message: fmt.Sprintf(format, args...)}
}

// ecsFailure fails d on an ECS error, rolling back when the deployment's
// auto rollback covers failures.
func (d *deploymentRecord) ecsFailure(format string, args ...any) *outcome {
	o := failure(cdapi.ErrorCodeEcsUpdateError, format, args...)
	o.rollback = d.rollbackOnFailure()
	return o
}

func (d *deploymentRecord) rollbackOnFailure() bool {
	c := d.AutoRollback
	if c == nil || c.Enabled == nil || !*c.Enabled {
		return false
	}
	for _, e := range c.Events {
		if e == cdapi.AutoRollbackEventDeploymentFailure {
			return true
		}
	}
	return false
}

func (s *Service) taskSets(ctx context.Context, d *deploymentRecord) ([]ecsapi.TaskSet, error) {
	out, err := s.ecs.DescribeTaskSets(ctx, &ecsapi.DescribeTaskSetsInput{Cluster: new(d.Cluster), Service: new(d.ServiceName)})
	if err != nil {
		return nil, err
	}
	return out.TaskSets, nil
}

func (s *Service) start(ctx context.Context, d *deploymentRecord, now time.Time) (*outcome, error) {
	d.setEvent("BeforeInstall", eventSkipped, now)
	svcs, err := s.ecs.DescribeServices(ctx, &ecsapi.DescribeServicesInput{Cluster: new(d.Cluster), Services: []string{d.ServiceName}})
	if err != nil {
		if awsapi.AsError(err) != nil {
			return failure(cdapi.ErrorCodeInvalidEcsService, "The ECS service %s in cluster %s could not be described: %s", d.ServiceName, d.Cluster, errMessage(err)), nil
		}
		return nil, err
	}
	if len(svcs.Services) == 0 || str(svcs.Services[0].Status) != "ACTIVE" {
		return failure(cdapi.ErrorCodeInvalidEcsService, "The ECS service %s in cluster %s does not exist or is not ACTIVE.", d.ServiceName, d.Cluster), nil
	}
	d.ServiceARN = str(svcs.Services[0].ServiceArn)
	sets, err := s.taskSets(ctx, d)
	if err != nil {
		return failure(cdapi.ErrorCodeInvalidEcsService, "The task sets of ECS service %s could not be described: %s", d.ServiceName, errMessage(err)), nil
	}
	var blue *ecsapi.TaskSet
	for i, ts := range sets {
		if str(ts.ExternalId) == d.ID || str(ts.Status) == "DRAINING" {
			// Green from a pass cut short, or a task set an earlier
			// deployment deleted, still stopping its tasks.
			continue
		}
		if str(ts.Status) == "PRIMARY" {
			blue = &sets[i]
			continue
		}
		return failure(cdapi.ErrorCodeInvalidEcsService, "The ECS service %s has task set %s (%s) besides its primary one, left by an earlier deployment; delete it (aws ecs delete-task-set) and deploy again.",
			d.ServiceName, str(ts.Id), str(ts.Status)), nil
	}
	if blue == nil {
		return failure(cdapi.ErrorCodeInvalidEcsService, "The ECS service %s has no PRIMARY task set to replace.", d.ServiceName), nil
	}
	if len(blue.LoadBalancers) == 0 || str(blue.LoadBalancers[0].TargetGroupArn) == "" {
		return failure(cdapi.ErrorCodeElasticLoadBalancingInvalid, "The primary task set %s of ECS service %s has no target group; create the service with loadBalancers naming one target group of the pair.", str(blue.Id), d.ServiceName), nil
	}
	pair := d.pair()
	if len(pair.TargetGroups) != 2 {
		return failure(cdapi.ErrorCodeElasticLoadBalancingInvalid, "The deployment group has no target group pair."), nil
	}
	blueTG := str(blue.LoadBalancers[0].TargetGroupArn)
	greenName := ""
	switch tgName(blueTG) {
	case str(pair.TargetGroups[0].Name):
		greenName = str(pair.TargetGroups[1].Name)
	case str(pair.TargetGroups[1].Name):
		greenName = str(pair.TargetGroups[0].Name)
	default:
		return failure(cdapi.ErrorCodeElasticLoadBalancingInvalid, "The primary task set of ECS service %s serves target group %s, which is not in the deployment group's target group pair (%s, %s).",
			d.ServiceName, tgName(blueTG), str(pair.TargetGroups[0].Name), str(pair.TargetGroups[1].Name)), nil
	}
	greenTG, err := s.targetGroupARN(ctx, greenName)
	if err != nil {
		return failure(cdapi.ErrorCodeElasticLoadBalancingInvalid, "%s", errMessage(err)), nil
	}
	d.BlueTaskSet, d.BlueTG, d.GreenTG = str(blue.Id), blueTG, greenTG
	d.Phase, d.PhaseStarted = phaseInstall, now
	d.setEvent("Install", eventInProgress, now)
	d.observe(sets)
	return nil, nil
}

// createGreen finds green by its externalId or creates it.
func (s *Service) createGreen(ctx context.Context, d *deploymentRecord, blue *ecsapi.TaskSet) (*ecsapi.TaskSet, error) {
	in := &ecsapi.CreateTaskSetInput{
		Cluster: new(d.Cluster), Service: new(d.ServiceName), ExternalId: new(d.ID), ClientToken: new(d.ID),
		TaskDefinition: new(d.Spec.TaskDefinition),
		LoadBalancers:  []ecsapi.LoadBalancer{{TargetGroupArn: new(d.GreenTG), ContainerName: new(d.Spec.ContainerName), ContainerPort: new(d.Spec.ContainerPort)}},
		Scale:          &ecsapi.Scale{Value: new(100.0), Unit: new(ecsapi.ScaleUnitPercent)},
	}
	// The AppSpec's settings win; what it leaves out is the original task
	// set's, as CodeDeploy does.
	if blue != nil {
		in.LaunchType, in.CapacityProviderStrategy, in.PlatformVersion, in.NetworkConfiguration = blue.LaunchType, blue.CapacityProviderStrategy, blue.PlatformVersion, blue.NetworkConfiguration
	}
	if d.Spec.PlatformVersion != "" {
		in.PlatformVersion = new(d.Spec.PlatformVersion)
	}
	if nc := d.Spec.NetworkConfiguration; nc != nil {
		vpc := &ecsapi.AwsVpcConfiguration{Subnets: nc.Subnets, SecurityGroups: nc.SecurityGroups}
		if nc.AssignPublicIP != "" {
			vpc.AssignPublicIp = new(ecsapi.AssignPublicIp(nc.AssignPublicIP))
		}
		in.NetworkConfiguration = &ecsapi.NetworkConfiguration{AwsvpcConfiguration: vpc}
	}
	if len(d.Spec.CapacityProviderStrategy) > 0 {
		in.LaunchType, in.CapacityProviderStrategy = nil, nil
		for _, c := range d.Spec.CapacityProviderStrategy {
			in.CapacityProviderStrategy = append(in.CapacityProviderStrategy, ecsapi.CapacityProviderStrategyItem{CapacityProvider: new(c.CapacityProvider), Base: new(c.Base), Weight: new(c.Weight)})
		}
	}
	if len(in.CapacityProviderStrategy) > 0 {
		in.LaunchType = nil
	}
	out, err := s.ecs.CreateTaskSet(ctx, in)
	if err != nil {
		return nil, err
	}
	return out.TaskSet, nil
}

func findTaskSet(sets []ecsapi.TaskSet, match func(ecsapi.TaskSet) bool) *ecsapi.TaskSet {
	for i := range sets {
		if match(sets[i]) {
			return &sets[i]
		}
	}
	return nil
}

func (s *Service) install(ctx context.Context, d *deploymentRecord, now time.Time) (*outcome, error) {
	sets, err := s.taskSets(ctx, d)
	if err != nil {
		return nil, err
	}
	green := findTaskSet(sets, func(ts ecsapi.TaskSet) bool { return str(ts.ExternalId) == d.ID })
	if green != nil && str(green.Status) == "DRAINING" {
		return d.ecsFailure("The replacement task set %s was deleted during the deployment.", str(green.Id)), nil
	}
	if green == nil && d.GreenTaskSet != "" {
		return d.ecsFailure("The replacement task set %s was deleted during the deployment.", d.GreenTaskSet), nil
	}
	if green == nil {
		// Green's target group joins the production listener at weight 0
		// first: no traffic moves, but ELB health-checks the targets of a
		// group only while a listener uses it, and ECS counts green's tasks
		// healthy only once their targets are.
		if err := s.lb.ForwardListener(ctx, d.Account, d.Region, d.prodListener(),
			[]elb.WeightedTargetGroup{{ARN: d.BlueTG, Weight: 100}, {ARN: d.GreenTG, Weight: 0}}); err != nil {
			return nil, elbError{err}
		}
		blue := findTaskSet(sets, func(ts ecsapi.TaskSet) bool { return str(ts.Id) == d.BlueTaskSet })
		green, err = s.createGreen(ctx, d, blue)
		if err != nil {
			if e := awsapi.AsError(err); e != nil && e.HTTPStatus < 500 {
				return d.ecsFailure("The ECS service cannot be updated due to an error: %s", errMessage(err)), nil
			}
			return nil, err
		}
		sets = append(sets, *green)
	}
	d.GreenTaskSet = str(green.Id)
	d.observe(sets)
	if out, err := s.checkGreen(ctx, d); out != nil || err != nil {
		return out, err
	}
	ready, err := s.greenReady(ctx, d, green)
	if err != nil {
		return nil, err
	}
	if !ready {
		if now.Sub(d.PhaseStarted) > installTimeout*s.minute {
			return d.ecsFailure("The replacement task set %s did not reach a steady state with healthy targets in %s within %d minutes.", d.GreenTaskSet, tgName(d.GreenTG), installTimeout), nil
		}
		return nil, nil
	}
	d.setEvent("Install", eventSucceeded, now)
	d.setEvent("AfterInstall", eventSkipped, now)
	if test := d.testListener(); test != "" {
		d.setEvent("AllowTestTraffic", eventInProgress, now)
		if err := s.lb.ForwardListener(ctx, d.Account, d.Region, test, []elb.WeightedTargetGroup{{ARN: d.BlueTG, Weight: 0}, {ARN: d.GreenTG, Weight: 100}}); err != nil {
			return nil, elbError{err}
		}
		d.setEvent("AllowTestTraffic", eventSucceeded, now)
	} else {
		d.setEvent("AllowTestTraffic", eventSkipped, now)
	}
	d.setEvent("AfterAllowTestTraffic", eventSkipped, now)
	if ro := d.BlueGreen.DeploymentReadyOption; ro != nil && ro.ActionOnTimeout != nil && *ro.ActionOnTimeout == cdapi.DeploymentReadyActionStopDeployment {
		d.Phase, d.PhaseStarted = phaseReady, now
		d.Status, d.TargetStatus, d.TargetUpdated = statusReady, string(cdapi.TargetStatusReady), now
		return nil, nil
	}
	s.beginShift(d, now)
	return nil, nil
}

func (s *Service) beginShift(d *deploymentRecord, now time.Time) {
	d.setEvent("BeforeAllowTraffic", eventSkipped, now)
	d.setEvent("AllowTraffic", eventInProgress, now)
	d.Phase, d.PhaseStarted = phaseShift, now
}

// greenReady reports whether green runs all its tasks and each is a
// healthy target of green's target group.
func (s *Service) greenReady(ctx context.Context, d *deploymentRecord, green *ecsapi.TaskSet) (bool, error) {
	desired := int(derefInt32(green.ComputedDesiredCount))
	if green.StabilityStatus == nil || *green.StabilityStatus != ecsapi.StabilityStatusSteadyState || int(derefInt32(green.RunningCount)) < desired {
		return false, nil
	}
	if desired == 0 {
		return true, nil
	}
	health, err := s.lb.TargetHealth(ctx, d.Account, d.Region, d.GreenTG)
	if err != nil {
		return false, elbError{err}
	}
	healthy := 0
	for _, h := range health {
		if h.State == elb.StateHealthy {
			healthy++
		}
	}
	return healthy >= desired, nil
}

func derefInt32(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

// checkGreen fails the deployment when green's tasks keep stopping: as
// many as the ECS deployment circuit breaker allows,
// min(max(ceil(desired/2), 3), 200).
func (s *Service) checkGreen(ctx context.Context, d *deploymentRecord) (*outcome, error) {
	if d.GreenTaskSet == "" {
		return nil, nil
	}
	out, err := s.ecs.ListTasks(ctx, &ecsapi.ListTasksInput{Cluster: new(d.Cluster), StartedBy: new(d.GreenTaskSet), DesiredStatus: new(ecsapi.DesiredStatusStopped)})
	if err != nil {
		return nil, err
	}
	desired := 0
	for _, ts := range d.TaskSets {
		if ts.ID == d.GreenTaskSet {
			desired = int(ts.Desired)
		}
	}
	threshold := min(max((desired+1)/2, 3), 200)
	if n := len(out.TaskArns); n >= threshold {
		return d.ecsFailure("%d tasks of the replacement task set %s stopped (the threshold is %d): the ECS service could not reach a steady state; see aws ecs describe-tasks for their stoppedReason.", n, d.GreenTaskSet, threshold), nil
	}
	return nil, nil
}

// observe refreshes what the target reports of blue and green.
func (d *deploymentRecord) observe(sets []ecsapi.TaskSet) {
	var views []taskSetView
	for _, ts := range sets {
		id := str(ts.Id)
		var label string
		var weight float64
		var tg string
		switch id {
		case d.BlueTaskSet:
			label, weight, tg = string(cdapi.TargetLabelBlue), float64(100-d.GreenPercent), tgName(d.BlueTG)
		case d.GreenTaskSet:
			label, weight, tg = string(cdapi.TargetLabelGreen), float64(d.GreenPercent), tgName(d.GreenTG)
		default:
			continue
		}
		views = append(views, taskSetView{ID: id, Desired: int64(derefInt32(ts.ComputedDesiredCount)), Pending: int64(derefInt32(ts.PendingCount)),
			Running: int64(derefInt32(ts.RunningCount)), Status: str(ts.Status), Weight: weight, TargetGroup: tg, Label: label})
	}
	if views != nil || d.TaskSets != nil {
		d.TaskSets = views
	}
}

func (s *Service) shift(ctx context.Context, d *deploymentRecord, now time.Time) (*outcome, error) {
	if out, err := s.checkGreen(ctx, d); out != nil || err != nil {
		return out, err
	}
	pct, _ := d.Plan.At(now.Sub(d.PhaseStarted), s.minute)
	// The weights are set again after a restart (applied is in memory),
	// since a pass may have changed them without committing.
	if s.appliedPercent(d.ID) != pct {
		if err := s.lb.ForwardListener(ctx, d.Account, d.Region, d.prodListener(),
			[]elb.WeightedTargetGroup{{ARN: d.BlueTG, Weight: int32(100 - pct)}, {ARN: d.GreenTG, Weight: int32(pct)}}); err != nil {
			return nil, elbError{err}
		}
		s.setApplied(d.ID, pct)
	}
	d.GreenPercent = pct
	sets, err := s.taskSets(ctx, d)
	if err != nil {
		return nil, err
	}
	d.observe(sets)
	if pct < 100 {
		return nil, nil
	}
	if _, err := s.ecs.UpdateServicePrimaryTaskSet(ctx, &ecsapi.UpdateServicePrimaryTaskSetInput{Cluster: new(d.Cluster), Service: new(d.ServiceName), PrimaryTaskSet: new(d.GreenTaskSet)}); err != nil {
		if awsapi.AsError(err) != nil && awsapi.AsError(err).HTTPStatus < 500 {
			return d.ecsFailure("The replacement task set could not be made primary: %s", errMessage(err)), nil
		}
		return nil, err
	}
	if sets, err = s.taskSets(ctx, d); err != nil {
		return nil, err
	}
	d.observe(sets)
	d.setEvent("AllowTraffic", eventSucceeded, now)
	d.setEvent("AfterAllowTraffic", eventSkipped, now)
	d.Phase, d.PhaseStarted, d.TermWaitStart = phaseTerminate, now, true
	return nil, nil
}

func (s *Service) terminate(ctx context.Context, d *deploymentRecord, now time.Time) (*outcome, error) {
	if out, err := s.checkGreen(ctx, d); out != nil || err != nil {
		return out, err
	}
	term := d.BlueGreen.TerminateBlueInstancesOnDeploymentSuccess
	if term != nil && term.Action != nil && *term.Action == cdapi.InstanceActionKeepAlive {
		return &outcome{status: statusSucceeded}, nil
	}
	wait := time.Duration(0)
	if term != nil {
		wait = time.Duration(ptrInt(term.TerminationWaitTimeInMinutes)) * s.minute
	}
	if !d.ContinueTerm && now.Sub(d.PhaseStarted) < wait {
		return nil, nil
	}
	if err := s.deleteTaskSet(ctx, d, d.BlueTaskSet); err != nil {
		return nil, err
	}
	return &outcome{status: statusSucceeded}, nil
}

func (s *Service) deleteTaskSet(ctx context.Context, d *deploymentRecord, id string) error {
	if id == "" {
		return nil
	}
	_, err := s.ecs.DeleteTaskSet(ctx, &ecsapi.DeleteTaskSetInput{Cluster: new(d.Cluster), Service: new(d.ServiceName), TaskSet: new(id), Force: new(true)})
	if e := awsapi.AsError(err); e != nil && (e.Code == ecsapi.CodeTaskSetNotFoundException || e.Code == ecsapi.CodeServiceNotFoundException || e.Code == ecsapi.CodeServiceNotActiveException) {
		return nil
	}
	return err
}

// rollback undoes the deployment d.RollbackOf: production and test
// traffic back to blue, blue primary again, green deleted.
func (s *Service) rollback(ctx context.Context, d *deploymentRecord, now time.Time) (*outcome, error) {
	sets, err := s.taskSets(ctx, d)
	if err != nil {
		if e := awsapi.AsError(err); e != nil && e.HTTPStatus < 500 {
			return failure(cdapi.ErrorCodeInvalidEcsService, "The rollback could not describe the task sets of ECS service %s: %s", d.ServiceName, errMessage(err)), nil
		}
		return nil, err
	}
	if green := findTaskSet(sets, func(ts ecsapi.TaskSet) bool { return str(ts.ExternalId) == d.RollbackOf }); green != nil {
		d.GreenTaskSet = str(green.Id)
	}
	d.setEvent("BeforeInstall", eventSkipped, now)
	d.setEvent("Install", eventSucceeded, now)
	d.setEvent("AfterInstall", eventSkipped, now)
	if d.BlueTG != "" {
		back := []elb.WeightedTargetGroup{{ARN: d.BlueTG, Weight: 100}}
		if d.GreenTG != "" {
			back = append(back, elb.WeightedTargetGroup{ARN: d.GreenTG, Weight: 0})
		}
		if test := d.testListener(); test != "" {
			if err := s.lb.ForwardListener(ctx, d.Account, d.Region, test, back); err != nil {
				return nil, elbError{err}
			}
		}
		if err := s.lb.ForwardListener(ctx, d.Account, d.Region, d.prodListener(), back); err != nil {
			return nil, elbError{err}
		}
	}
	d.GreenPercent = 0
	d.setEvent("AllowTestTraffic", eventSucceeded, now)
	d.setEvent("AfterAllowTestTraffic", eventSkipped, now)
	d.setEvent("BeforeAllowTraffic", eventSkipped, now)
	if findTaskSet(sets, func(ts ecsapi.TaskSet) bool { return str(ts.Id) == d.BlueTaskSet && str(ts.Status) != "PRIMARY" }) != nil {
		if _, err := s.ecs.UpdateServicePrimaryTaskSet(ctx, &ecsapi.UpdateServicePrimaryTaskSetInput{Cluster: new(d.Cluster), Service: new(d.ServiceName), PrimaryTaskSet: new(d.BlueTaskSet)}); err != nil {
			return nil, err
		}
	}
	if err := s.deleteTaskSet(ctx, d, d.GreenTaskSet); err != nil {
		return nil, err
	}
	d.setEvent("AllowTraffic", eventSucceeded, now)
	d.setEvent("AfterAllowTraffic", eventSkipped, now)
	d.observe(findAll(sets, d.BlueTaskSet))
	return &outcome{status: statusSucceeded}, nil
}

func findAll(sets []ecsapi.TaskSet, id string) []ecsapi.TaskSet {
	var out []ecsapi.TaskSet
	for _, ts := range sets {
		if str(ts.Id) == id {
			out = append(out, ts)
		}
	}
	return out
}

// appliedPercent is the production share this process last gave green of
// deployment id, -1 when it has set none.
func (s *Service) appliedPercent(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.applied[id]; ok {
		return p
	}
	return -1
}

func (s *Service) setApplied(id string, pct int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pct >= 100 {
		delete(s.applied, id)
		return
	}
	s.applied[id] = pct
}

// elbError marks a failed call to Elastic Load Balancing, so that a
// refusal fails the deployment with ELASTIC_LOAD_BALANCING_INVALID.
type elbError struct{ err error }

func (e elbError) Error() string { return e.err.Error() }
func (e elbError) Unwrap() error { return e.err }

// forgetApplied drops what this process set for deployments no longer
// under way (active holds their account/region/id keys).
func (s *Service) forgetApplied(active []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.applied {
		if !slices.ContainsFunc(active, func(key string) bool { return strings.HasSuffix(key, "/"+id) }) {
			delete(s.applied, id)
		}
	}
}
