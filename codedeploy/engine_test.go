package codedeploy

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	cdapi "github.com/berth-dev/berth/api/codedeploy"
	"github.com/berth-dev/berth/store"
)

// An all-at-once deployment goes through every lifecycle event: green is
// created in the target group that is not serving, the test listener
// moves first, production all at once, green becomes primary, and blue is
// deleted after the termination wait.
func TestAllAtOnceDeployment(t *testing.T) {
	h := newHarness(t)
	h.setup("CodeDeployDefault.ECSAllAtOnce", nil)
	h.ecs.steady = false
	id := h.deploy()
	if st := h.status(id); st != "Created" {
		t.Fatalf("status %s before the engine ran", st)
	}
	h.settle()
	if st := h.status(id); st != "InProgress" {
		t.Fatalf("status %s while green is not steady", st)
	}
	if h.ecs.creates != 1 {
		t.Fatalf("%d task sets created", h.ecs.creates)
	}
	green := h.ecs.sets[1]
	if str(green.ExternalId) != id || str(green.LoadBalancers[0].TargetGroupArn) != tgGreen || str(green.TaskDefinition) != "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2" ||
		*green.Scale.Value != 100 || str(green.LoadBalancers[0].ContainerName) != "web" || *green.LoadBalancers[0].ContainerPort != 8080 || str((*string)(green.LaunchType)) != "EC2" {
		t.Fatalf("green task set %+v", green)
	}
	if h.lb.greenShare(testL) != 0 || h.lb.greenShare(prodL) != 0 {
		t.Fatal("traffic moved before green was ready")
	}
	ev := h.events(id)
	if ev["BeforeInstall"] != "Skipped" || ev["Install"] != "InProgress" || ev["AllowTraffic"] != "Pending" {
		t.Fatalf("events %v", ev)
	}

	h.ecs.setSteady()
	h.settle()
	if h.lb.greenShare(testL) != 100 || h.lb.greenShare(prodL) != 100 {
		t.Fatalf("after ready: test %d%%, prod %d%% on green; history %v", h.lb.greenShare(testL), h.lb.greenShare(prodL), h.lb.history)
	}
	// Green joins production at weight 0, the test listener moves, then
	// production.
	if want := []string{"prod web-blue=100 web-green=0 ", "test web-blue=0 web-green=100 ", "prod web-blue=0 web-green=100 "}; !slices.Equal(h.lb.history, want) {
		t.Fatalf("listener history %q", h.lb.history)
	}
	if !slices.Contains(h.ecs.calls, "UpdateServicePrimaryTaskSet "+str(green.Id)) {
		t.Fatalf("green not made primary: %v", h.ecs.calls)
	}
	if st := h.status(id); st != "InProgress" || !*h.deployment(id).InstanceTerminationWaitTimeStarted {
		t.Fatalf("status %s during the termination wait", st)
	}
	if len(h.ecs.sets) != 2 {
		t.Fatalf("blue deleted before the termination wait: %v", h.ecs.setIDs())
	}
	tgt := h.target(id)
	if len(tgt.TaskSetsInfo) != 2 {
		t.Fatalf("task sets info %+v", tgt.TaskSetsInfo)
	}
	for _, ts := range tgt.TaskSetsInfo {
		switch *ts.TaskSetLabel {
		case cdapi.TargetLabelBlue:
			if *ts.TrafficWeight != 0 || *ts.TargetGroup.Name != "web-blue" {
				t.Errorf("blue %+v", ts)
			}
		case cdapi.TargetLabelGreen:
			if *ts.TrafficWeight != 100 || *ts.TargetGroup.Name != "web-green" || *ts.Status != "PRIMARY" || *ts.DesiredCount != 2 {
				t.Errorf("green %+v", ts)
			}
		}
	}

	h.advance(5 * time.Minute)
	h.settle()
	if st := h.status(id); st != "Succeeded" {
		t.Fatalf("status %s after the termination wait", st)
	}
	if ids := h.ecs.setIDs(); len(ids) != 1 || ids[0] != str(green.Id)+"=PRIMARY" {
		t.Fatalf("task sets after success: %v", ids)
	}
	want := map[string]string{"BeforeInstall": "Skipped", "Install": "Succeeded", "AfterInstall": "Skipped", "AllowTestTraffic": "Succeeded",
		"AfterAllowTestTraffic": "Skipped", "BeforeAllowTraffic": "Skipped", "AllowTraffic": "Succeeded", "AfterAllowTraffic": "Skipped"}
	if ev := h.events(id); !reflect.DeepEqual(ev, want) {
		t.Fatalf("events %v", ev)
	}
	for _, e := range h.target(id).LifecycleEvents {
		if e.StartTime == nil || e.EndTime == nil {
			t.Errorf("event %s without times", *e.LifecycleEventName)
		}
	}
	g, err := h.svc.GetDeploymentGroup(h.ctx, &cdapi.GetDeploymentGroupInput{ApplicationName: new("web"), DeploymentGroupName: new("web-dg")})
	if err != nil || str(g.DeploymentGroupInfo.LastSuccessfulDeployment.DeploymentId) != id {
		t.Fatalf("group %+v %v", g, err)
	}

	// The next deployment replaces green by a task set in the blue group.
	id2 := h.deploy()
	h.settle()
	h.advance(5 * time.Minute)
	h.settle()
	if st := h.status(id2); st != "Succeeded" {
		t.Fatalf("second deployment %s", st)
	}
	if len(h.ecs.sets) != 1 || str(h.ecs.sets[0].LoadBalancers[0].TargetGroupArn) != tgBlue || h.lb.greenShare(prodL) != 0 {
		t.Fatalf("after the second deployment: %v, prod green share %d", h.ecs.setIDs(), h.lb.greenShare(prodL))
	}
}

// A canary configuration gives green its percentage, then the rest after
// the interval.
func TestCanaryShift(t *testing.T) {
	h := newHarness(t)
	h.setup("CodeDeployDefault.ECSCanary10Percent5Minutes", nil)
	id := h.deploy()
	h.settle()
	if got := h.lb.greenShare(prodL); got != 10 {
		t.Fatalf("canary share %d%%", got)
	}
	h.advance(4*time.Minute + 59*time.Second)
	h.settle()
	if got := h.lb.greenShare(prodL); got != 10 {
		t.Fatalf("share before the interval %d%%", got)
	}
	if slices.ContainsFunc(h.ecs.calls, func(c string) bool { return strings.HasPrefix(c, "UpdateServicePrimaryTaskSet") }) {
		t.Fatal("green primary before all traffic moved")
	}
	h.advance(time.Second)
	h.settle()
	if got := h.lb.greenShare(prodL); got != 100 {
		t.Fatalf("share after the interval %d%%", got)
	}
	if ev := h.events(id); ev["AllowTraffic"] != "Succeeded" {
		t.Fatalf("events %v", ev)
	}
}

// A linear configuration adds its percentage every interval; a Berth
// restarted in the middle (a new Service on the same store, the pass
// before it cut short) continues the plan by the clock without creating a
// second green task set.
func TestLinearShiftSurvivesRestart(t *testing.T) {
	h := newHarness(t)
	h.setup("CodeDeployDefault.ECSLinear10PercentEvery1Minutes", nil)
	id := h.deploy()
	h.settle()
	var seen []int
	for range 3 {
		seen = append(seen, h.lb.greenShare(prodL))
		h.advance(time.Minute)
		h.settle()
	}
	if !reflect.DeepEqual(seen, []int{10, 20, 30}) {
		t.Fatalf("linear shares %v", seen)
	}
	// A pass whose calls were made but whose commit was lost.
	h.advance(time.Minute)
	d := h.record(id)
	if _, err := h.svc.advance(h.ctx, d); err != nil {
		t.Fatal(err)
	}
	if got := h.lb.greenShare(prodL); got != 50 {
		t.Fatalf("uncommitted pass set %d%%", got)
	}
	h.restart()
	h.advance(2 * time.Minute)
	h.settle()
	if got := h.lb.greenShare(prodL); got != 70 {
		t.Fatalf("after restart %d%%, want 70%%", got)
	}
	h.advance(10 * time.Minute)
	h.settle()
	h.advance(5 * time.Minute)
	h.settle()
	if st := h.status(id); st != "Succeeded" || h.ecs.creates != 1 || len(h.ecs.sets) != 1 {
		t.Fatalf("status %s, %d creates, task sets %v", st, h.ecs.creates, h.ecs.setIDs())
	}
}

// A crash between CreateTaskSet and the commit of green's id: after the
// restart green is found by its externalId, not created again.
func TestGreenAdoptedAfterCrash(t *testing.T) {
	h := newHarness(t)
	h.setup("CodeDeployDefault.ECSAllAtOnce", nil)
	h.ecs.steady = false
	id := h.deploy()
	if err := h.svc.Reconcile(h.ctx); err != nil { // start → install
		t.Fatal(err)
	}
	d := h.record(id)
	if d.Phase != phaseInstall {
		t.Fatalf("phase %s", d.Phase)
	}
	if _, err := h.svc.advance(h.ctx, d); err != nil { // creates green, never committed
		t.Fatal(err)
	}
	h.restart()
	h.settle()
	h.ecs.setSteady()
	h.settle()
	if h.ecs.creates != 1 {
		t.Fatalf("%d task sets created", h.ecs.creates)
	}
	if d := h.record(id); d.GreenTaskSet != str(h.ecs.sets[1].Id) {
		t.Fatalf("green %s", d.GreenTaskSet)
	}
}

func (h *harness) record(id string) *deploymentRecord {
	h.t.Helper()
	var d *deploymentRecord
	h.st.View(h.ctx, func(tx store.Tx) error {
		var err error
		d, err = getDeployment(tx, scope{account, region}, id)
		return err
	})
	if d == nil {
		h.t.Fatalf("no deployment %s", id)
	}
	return d
}

// StopDeployment with autoRollbackEnabled in the middle of a shift: the
// deployment is Stopped with rollbackInfo, and its rollback deployment
// puts all production traffic back on blue and deletes green.
func TestStopWithRollback(t *testing.T) {
	h := newHarness(t)
	h.setup("CodeDeployDefault.ECSLinear10PercentEvery1Minutes", nil)
	id := h.deploy()
	h.settle()
	h.advance(2 * time.Minute)
	h.settle()
	if got := h.lb.greenShare(prodL); got != 30 {
		t.Fatalf("share %d%%", got)
	}
	out, err := h.svc.StopDeployment(h.ctx, &cdapi.StopDeploymentInput{DeploymentId: new(id), AutoRollbackEnabled: new(true)})
	if err != nil || *out.Status != cdapi.StopStatusPending {
		t.Fatalf("stop: %+v %v", out, err)
	}
	info := h.deployment(id)
	if *info.Status != "Stopped" || info.RollbackInfo == nil || info.RollbackInfo.RollbackDeploymentId == nil || string(*info.ErrorInformation.Code) != "MANUAL_STOP" {
		t.Fatalf("stopped deployment %+v", info)
	}
	rb := *info.RollbackInfo.RollbackDeploymentId
	h.settle()
	rinfo := h.deployment(rb)
	if *rinfo.Status != "Succeeded" || *rinfo.Creator != cdapi.DeploymentCreatorCodeDeployRollback || str(rinfo.RollbackInfo.RollbackTriggeringDeploymentId) != id {
		t.Fatalf("rollback deployment %+v", rinfo)
	}
	if h.lb.greenShare(prodL) != 0 || h.lb.greenShare(testL) != 0 {
		t.Fatalf("after rollback prod %d%% test %d%% on green", h.lb.greenShare(prodL), h.lb.greenShare(testL))
	}
	if ids := h.ecs.setIDs(); len(ids) != 1 || ids[0] != "ecs-svc/0000000000000000001=PRIMARY" {
		t.Fatalf("task sets %v", ids)
	}
	// Later passes do not move traffic again.
	h.advance(time.Hour)
	h.settle()
	if h.lb.greenShare(prodL) != 0 {
		t.Fatal("traffic moved after the stop")
	}
	_, err = h.svc.StopDeployment(h.ctx, &cdapi.StopDeploymentInput{DeploymentId: new(id)})
	wantCode(t, "stop again", err, cdapi.CodeDeploymentAlreadyCompletedException)
}

// Tasks of green that keep stopping fail the deployment; with
// DEPLOYMENT_FAILURE auto rollback the rollback deployment cleans up.
func TestGreenFailureRollsBack(t *testing.T) {
	h := newHarness(t)
	h.setup("CodeDeployDefault.ECSCanary10Percent5Minutes", nil)
	id := h.deploy()
	h.settle()
	green := str(h.ecs.sets[1].Id)
	h.ecs.mu.Lock()
	h.ecs.stopped[green] = []string{"t1", "t2", "t3"}
	h.ecs.mu.Unlock()
	h.settle()
	info := h.deployment(id)
	if *info.Status != "Failed" || string(*info.ErrorInformation.Code) != "ECS_UPDATE_ERROR" || info.RollbackInfo == nil {
		t.Fatalf("failed deployment %+v", info)
	}
	if h.lb.greenShare(prodL) != 0 || len(h.ecs.sets) != 1 {
		t.Fatalf("after failure: prod %d%% green, task sets %v", h.lb.greenShare(prodL), h.ecs.setIDs())
	}
	if ev := h.events(id); ev["AllowTraffic"] != "Failed" {
		t.Fatalf("events %v", ev)
	}
}

// An ECS error creating green (a task definition that does not exist)
// fails the deployment with ECS's message.
func TestCreateTaskSetErrorFails(t *testing.T) {
	h := newHarness(t)
	h.setup("CodeDeployDefault.ECSAllAtOnce", func(in *cdapi.CreateDeploymentGroupInput) { in.AutoRollbackConfiguration = nil })
	h.ecs.createErr = cdapi.NewInvalidInputException("ClientException: TaskDefinition not found.")
	id := h.deploy()
	h.settle()
	info := h.deployment(id)
	if *info.Status != "Failed" || !strings.Contains(*info.ErrorInformation.Message, "TaskDefinition not found") || info.RollbackInfo != nil {
		t.Fatalf("deployment %+v", info)
	}
	// The group is free for the next deployment.
	h.ecs.createErr = nil
	h.deploy()
}

// With STOP_DEPLOYMENT the deployment waits Ready with test traffic on
// green until ContinueDeployment, and stops when the wait runs out.
func TestReadyWait(t *testing.T) {
	h := newHarness(t)
	h.setup("CodeDeployDefault.ECSAllAtOnce", func(in *cdapi.CreateDeploymentGroupInput) {
		in.BlueGreenDeploymentConfiguration.DeploymentReadyOption = &cdapi.DeploymentReadyOption{ActionOnTimeout: new(cdapi.DeploymentReadyActionStopDeployment), WaitTimeInMinutes: new(int32(30))}
	})
	id := h.deploy()
	_, err := h.svc.ContinueDeployment(h.ctx, &cdapi.ContinueDeploymentInput{DeploymentId: new(id)})
	wantCode(t, "continue before ready", err, cdapi.CodeDeploymentIsNotInReadyStateException)
	h.settle()
	if st := h.status(id); st != "Ready" || h.lb.greenShare(testL) != 100 || h.lb.greenShare(prodL) != 0 {
		t.Fatalf("status %s, test %d%%, prod %d%%", st, h.lb.greenShare(testL), h.lb.greenShare(prodL))
	}
	if o := h.deployment(id).DeploymentOverview; *o.Ready != 1 {
		t.Fatalf("overview %+v", o)
	}
	// Waiting passes write nothing.
	v := h.record(id).Version
	h.settle()
	if nv := h.record(id).Version; nv != v {
		t.Fatalf("idle passes moved the version from %d to %d", v, nv)
	}
	_, err = h.svc.ContinueDeployment(h.ctx, &cdapi.ContinueDeploymentInput{DeploymentId: new(id), DeploymentWaitType: new(cdapi.DeploymentWaitTypeTerminationWait)})
	wantCode(t, "termination wait while ready", err, cdapi.CodeInvalidDeploymentStatusException)
	if _, err := h.svc.ContinueDeployment(h.ctx, &cdapi.ContinueDeploymentInput{DeploymentId: new(id), DeploymentWaitType: new(cdapi.DeploymentWaitTypeReadyWait)}); err != nil {
		t.Fatal(err)
	}
	h.settle()
	if h.lb.greenShare(prodL) != 100 || h.status(id) != "InProgress" {
		t.Fatalf("after continue: %s, prod %d%%", h.status(id), h.lb.greenShare(prodL))
	}
	// TERMINATION_WAIT skips the rest of the five-minute wait.
	if _, err := h.svc.ContinueDeployment(h.ctx, &cdapi.ContinueDeploymentInput{DeploymentId: new(id), DeploymentWaitType: new(cdapi.DeploymentWaitTypeTerminationWait)}); err != nil {
		t.Fatal(err)
	}
	h.settle()
	if st := h.status(id); st != "Succeeded" || len(h.ecs.sets) != 1 {
		t.Fatalf("status %s, task sets %v", st, h.ecs.setIDs())
	}

	id2 := h.deploy()
	h.settle()
	h.advance(30 * time.Minute)
	h.settle()
	info := h.deployment(id2)
	if *info.Status != "Stopped" || string(*info.ErrorInformation.Code) != "TIMEOUT" || len(h.ecs.sets) != 1 || h.lb.greenShare(testL) != 100 {
		// After the first deployment green serves; the rollback puts the
		// test listener back on it.
		t.Fatalf("timed out deployment %+v, task sets %v, test share %d", info, h.ecs.setIDs(), h.lb.greenShare(testL))
	}
}

// A production listener deleted under a deployment fails it with
// ELASTIC_LOAD_BALANCING_INVALID instead of retrying forever.
func TestListenerDeletedFails(t *testing.T) {
	h := newHarness(t)
	h.setup("CodeDeployDefault.ECSAllAtOnce", func(in *cdapi.CreateDeploymentGroupInput) { in.AutoRollbackConfiguration = nil })
	h.lb.mu.Lock()
	delete(h.lb.listeners, prodL)
	h.lb.mu.Unlock()
	id := h.deploy()
	h.settle()
	info := h.deployment(id)
	if *info.Status != "Failed" || string(*info.ErrorInformation.Code) != "ELASTIC_LOAD_BALANCING_INVALID" || !strings.Contains(*info.ErrorInformation.Message, "ListenerNotFound") {
		t.Fatalf("deployment %+v %+v", info.Status, info.ErrorInformation)
	}
}
