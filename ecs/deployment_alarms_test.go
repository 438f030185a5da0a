package ecs

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
)

// fakeAlarms is CloudWatch's alarm states, set by the test.
type fakeAlarms struct {
	mu     sync.Mutex
	states map[string]string
	asked  []string
}

func (f *fakeAlarms) AlarmStates(_ context.Context, _, _ string, names []string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for _, n := range names {
		f.asked = append(f.asked, n)
		if s, ok := f.states[n]; ok {
			out[n] = s
		}
	}
	return out, nil
}

func (f *fakeAlarms) set(name, state string) {
	f.mu.Lock()
	f.states[name] = state
	f.mu.Unlock()
}

// A deployment whose alarm goes to ALARM while IN_PROGRESS fails and,
// with rollback, goes back to the last COMPLETED deployment; its service
// deployment shows the alarms TRIGGERED (not the circuit breaker). A
// completed deployment is not watched any more, and without rollback a
// failed deployment stays failed.
func TestDeploymentAlarmsRollBack(t *testing.T) {
	svc, wake, ctx := newTestService(t)
	svc.services.interval = 50 * time.Millisecond
	svc.services.stable = 20 * time.Millisecond
	cw := &fakeAlarms{states: map[string]string{"errors": "OK", "latency": "INSUFFICIENT_DATA"}}
	svc.SetAlarms(cw)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go (&svcAgent{src: svc, host: svc.LocalHostID()}).run(runCtx, wake)
	go svc.Run(runCtx)

	must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{}))
	for range 3 {
		must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, ec2Def("web", 64, 64)))
	}
	must[*ecsapi.CreateServiceOutput](t)(svc.CreateService(ctx, &ecsapi.CreateServiceInput{
		ServiceName: ptr("web"), TaskDefinition: ptr("web:1"), DesiredCount: ptr(int32(2)),
		DeploymentConfiguration: &ecsapi.DeploymentConfiguration{
			DeploymentCircuitBreaker: &ecsapi.DeploymentCircuitBreaker{Enable: ptr(true), Rollback: ptr(true)},
			Alarms:                   &ecsapi.DeploymentAlarms{AlarmNames: []string{"latency", "errors"}, Enable: ptr(true), Rollback: ptr(true)},
		},
	}))
	completed := func(suffix string) func() bool {
		return func() bool {
			s := describeSvc(t, svc, ctx, "web")
			return stable(s) && strings.HasSuffix(deref(s.TaskDefinition), suffix) && deref(s.Deployments[0].RolloutState) == "COMPLETED"
		}
	}
	eventually(t, "v1 completed", completed(":1"))
	// A completed deployment is not watched: an alarm now changes nothing.
	cw.set("errors", "ALARM")
	time.Sleep(200 * time.Millisecond)
	if s := describeSvc(t, svc, ctx, "web"); len(s.Deployments) != 1 || deref(s.Deployments[0].RolloutState) != "COMPLETED" {
		t.Fatalf("a completed deployment failed: %+v", s.Deployments)
	}

	must[*ecsapi.UpdateServiceOutput](t)(svc.UpdateService(ctx, &ecsapi.UpdateServiceInput{Service: ptr("web"), TaskDefinition: ptr("web:2")}))
	eventually(t, "v2 rolled back to v1", func() bool {
		s := describeSvc(t, svc, ctx, "web")
		return completed(":1")() && hasEvent(s, "alarm(s) errors in ALARM state") && hasEvent(s, "rolling back to deployment")
	})
	list := must[*ecsapi.ListServiceDeploymentsOutput](t)(svc.ListServiceDeployments(ctx, &ecsapi.ListServiceDeploymentsInput{Service: ptr("web")})).ServiceDeployments
	if len(list) != 2 || deref(list[0].Status) != ecsapi.ServiceDeploymentStatusRollbackSuccessful {
		t.Fatalf("history: %+v", list)
	}
	d := must[*ecsapi.DescribeServiceDeploymentsOutput](t)(svc.DescribeServiceDeployments(ctx, &ecsapi.DescribeServiceDeploymentsInput{
		ServiceDeploymentArns: []string{deref(list[0].ServiceDeploymentArn)},
	})).ServiceDeployments[0]
	if deref(d.Alarms.Status) != ecsapi.ServiceDeploymentRollbackMonitorsStatusTriggered || !slices.Equal(d.Alarms.TriggeredAlarmNames, []string{"errors"}) ||
		deref(d.DeploymentCircuitBreaker.Status) == ecsapi.ServiceDeploymentRollbackMonitorsStatusTriggered ||
		d.Rollback == nil || !strings.Contains(deref(d.Rollback.Reason), "ECS deployment alarms") {
		t.Fatalf("rolled-back deployment: alarms %+v breaker %+v rollback %+v", d.Alarms, d.DeploymentCircuitBreaker, d.Rollback)
	}

	// Without rollback the failed deployment stays primary, FAILED, and
	// starts nothing more.
	cw.set("errors", "OK")
	must[*ecsapi.UpdateServiceOutput](t)(svc.UpdateService(ctx, &ecsapi.UpdateServiceInput{Service: ptr("web"),
		DeploymentConfiguration: &ecsapi.DeploymentConfiguration{Alarms: &ecsapi.DeploymentAlarms{AlarmNames: []string{"errors"}, Enable: ptr(true), Rollback: ptr(false)}}}))
	eventually(t, "config applied", completed(":1"))
	cw.set("errors", "ALARM")
	must[*ecsapi.UpdateServiceOutput](t)(svc.UpdateService(ctx, &ecsapi.UpdateServiceInput{Service: ptr("web"), TaskDefinition: ptr("web:3")}))
	eventually(t, "v3 failed", func() bool {
		s := describeSvc(t, svc, ctx, "web")
		return len(s.Deployments) > 0 && strings.HasSuffix(deref(s.Deployments[0].TaskDefinition), ":3") &&
			deref(s.Deployments[0].RolloutState) == "FAILED" && strings.Contains(deref(s.Deployments[0].RolloutStateReason), "errors")
	})
}

func TestWatchedAlarms(t *testing.T) {
	r := &serviceRecord{Controller: "ECS", Status: svcActive, Config: ecsapi.DeploymentConfiguration{Alarms: &ecsapi.DeploymentAlarms{AlarmNames: []string{"a", "b"}, Enable: ptr(true)}}}
	r.Deployments = []deploymentRecord{{ID: "d1", Status: depPrimary, RolloutState: "IN_PROGRESS"}}
	if got := watchedAlarms(r); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("in progress: %v", got)
	}
	r.Deployments[0].RollbackOf = "sd"
	if got := watchedAlarms(r); got != nil {
		t.Fatalf("a rollback is watched: %v", got)
	}
	r.Deployments[0].RollbackOf, r.Deployments[0].RolloutState = "", "COMPLETED"
	if got := watchedAlarms(r); got != nil {
		t.Fatalf("completed is watched: %v", got)
	}
	r.Deployments[0].RolloutState = "IN_PROGRESS"
	r.Config.Alarms.Enable = ptr(false)
	if got := watchedAlarms(r); got != nil {
		t.Fatalf("disabled is watched: %v", got)
	}
	if got := alarming([]string{"a", "b", "c"}, map[string]string{"a": "OK", "b": "ALARM", "c": "INSUFFICIENT_DATA"}); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("alarming: %v", got)
	}
}
