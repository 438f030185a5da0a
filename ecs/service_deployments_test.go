package ecs

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
)

// A service of 2 with one task protected: scaled to 1, the other task
// goes; scaled to 0, the protected one stays until its protection expires
// (the clock moves past it). Then a broken v3 trips the circuit breaker:
// its service deployment goes ROLLBACK_IN_PROGRESS, then
// ROLLBACK_SUCCESSFUL, with the rollback's revision the v2 one.
func TestTaskProtectionAndServiceDeploymentHistory(t *testing.T) {
	svc, wake, ctx := newTestService(t)
	var mu sync.Mutex
	skew := time.Duration(0)
	svc.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(skew) }
	svc.services.interval = 50 * time.Millisecond
	svc.services.stable = 20 * time.Millisecond
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	agent := &svcAgent{src: svc, host: svc.LocalHostID(), fail: func(a AssignedTask) bool {
		return strings.HasSuffix(deref(a.Definition.TaskDefinitionArn), ":3")
	}}
	go agent.run(runCtx, wake)
	go svc.Run(runCtx)

	must[*ecsapi.CreateClusterOutput](t)(svc.CreateCluster(ctx, &ecsapi.CreateClusterInput{}))
	for range 3 {
		must[*ecsapi.RegisterTaskDefinitionOutput](t)(svc.RegisterTaskDefinition(ctx, ec2Def("web", 64, 64)))
	}
	must[*ecsapi.CreateServiceOutput](t)(svc.CreateService(ctx, &ecsapi.CreateServiceInput{
		ServiceName: ptr("web"), TaskDefinition: ptr("web:1"), DesiredCount: ptr(int32(2)),
		DeploymentConfiguration: &ecsapi.DeploymentConfiguration{
			DeploymentCircuitBreaker: &ecsapi.DeploymentCircuitBreaker{Enable: ptr(true), Rollback: ptr(true)},
		},
	}))
	eventually(t, "2 running", func() bool {
		s := describeSvc(t, svc, ctx, "web")
		return stable(s) && deref(s.Deployments[0].RolloutState) == "COMPLETED"
	})
	tasks := runningTasks(t, svc, ctx, "web")
	keep := deref(tasks[0].TaskArn)

	// A standalone-looking reference and bad periods.
	_, err := svc.UpdateTaskProtection(ctx, &ecsapi.UpdateTaskProtectionInput{Tasks: []string{keep}, ProtectionEnabled: ptr(true), ExpiresInMinutes: ptr(int32(0))})
	wantCode(t, "0 minutes", err, "InvalidParameterException")
	up := must[*ecsapi.UpdateTaskProtectionOutput](t)(svc.UpdateTaskProtection(ctx, &ecsapi.UpdateTaskProtectionInput{
		Tasks: []string{keep, "ffffffffffffffffffffffffffffffff"}, ProtectionEnabled: ptr(true), ExpiresInMinutes: ptr(int32(5)),
	}))
	if len(up.ProtectedTasks) != 1 || !deref(up.ProtectedTasks[0].ProtectionEnabled) || len(up.Failures) != 1 || deref(up.Failures[0].Reason) != "MISSING" {
		t.Fatalf("update protection: %+v", up)
	}

	must[*ecsapi.UpdateServiceOutput](t)(svc.UpdateService(ctx, &ecsapi.UpdateServiceInput{Service: ptr("web"), DesiredCount: ptr(int32(0))}))
	eventually(t, "only the protected task left", func() bool {
		ts := runningTasks(t, svc, ctx, "web")
		return len(ts) == 1 && deref(ts[0].TaskArn) == keep && hasEvent(describeSvc(t, svc, ctx, "web"), "1 tasks under protection")
	})
	time.Sleep(200 * time.Millisecond)
	if ts := runningTasks(t, svc, ctx, "web"); len(ts) != 1 {
		t.Fatalf("protected task stopped: %+v", ts)
	}
	mu.Lock()
	skew = 6 * time.Minute
	mu.Unlock()
	eventually(t, "the protection expired and the task stopped", func() bool { return len(runningTasks(t, svc, ctx, "web")) == 0 })
	got := must[*ecsapi.GetTaskProtectionOutput](t)(svc.GetTaskProtection(ctx, &ecsapi.GetTaskProtectionInput{Tasks: []string{keep}}))
	if len(got.ProtectedTasks) != 1 || deref(got.ProtectedTasks[0].ProtectionEnabled) {
		t.Fatalf("expired protection: %+v", got)
	}

	// v2, then a broken v3 that the circuit breaker rolls back.
	must[*ecsapi.UpdateServiceOutput](t)(svc.UpdateService(ctx, &ecsapi.UpdateServiceInput{Service: ptr("web"), DesiredCount: ptr(int32(2)), TaskDefinition: ptr("web:2")}))
	eventually(t, "v2", func() bool {
		s := describeSvc(t, svc, ctx, "web")
		return stable(s) && strings.HasSuffix(deref(s.TaskDefinition), ":2") && deref(s.Deployments[0].RolloutState) == "COMPLETED"
	})
	must[*ecsapi.UpdateServiceOutput](t)(svc.UpdateService(ctx, &ecsapi.UpdateServiceInput{Service: ptr("web"), TaskDefinition: ptr("web:3")}))
	list := func() []ecsapi.ServiceDeploymentBrief {
		return must[*ecsapi.ListServiceDeploymentsOutput](t)(svc.ListServiceDeployments(ctx, &ecsapi.ListServiceDeploymentsInput{Service: ptr("web")})).ServiceDeployments
	}
	eventually(t, "v3 rolled back", func() bool {
		l := list()
		return len(l) == 3 && deref(l[0].Status) == ecsapi.ServiceDeploymentStatusRollbackSuccessful
	})
	l := list()
	if deref(l[1].Status) != ecsapi.ServiceDeploymentStatusSuccessful || deref(l[2].Status) != ecsapi.ServiceDeploymentStatusSuccessful {
		t.Fatalf("history: %+v", l)
	}
	d := must[*ecsapi.DescribeServiceDeploymentsOutput](t)(svc.DescribeServiceDeployments(ctx, &ecsapi.DescribeServiceDeploymentsInput{
		ServiceDeploymentArns: []string{deref(l[0].ServiceDeploymentArn)},
	})).ServiceDeployments[0]
	if d.Rollback == nil || deref(d.Rollback.ServiceRevisionArn) != deref(l[1].TargetServiceRevisionArn) ||
		deref(d.DeploymentCircuitBreaker.Status) != ecsapi.ServiceDeploymentRollbackMonitorsStatusTriggered ||
		len(d.SourceServiceRevisions) != 1 || deref(d.SourceServiceRevisions[0].Arn) != deref(l[1].TargetServiceRevisionArn) {
		t.Fatalf("rolled-back deployment: %+v", d)
	}
	rev := must[*ecsapi.DescribeServiceRevisionsOutput](t)(svc.DescribeServiceRevisions(ctx, &ecsapi.DescribeServiceRevisionsInput{
		ServiceRevisionArns: []string{deref(l[0].TargetServiceRevisionArn)},
	})).ServiceRevisions
	if len(rev) != 1 || !strings.HasSuffix(deref(rev[0].TaskDefinition), "web:3") {
		t.Fatalf("revision: %+v", rev)
	}
	_, err = svc.StopServiceDeployment(ctx, &ecsapi.StopServiceDeploymentInput{ServiceDeploymentArn: l[0].ServiceDeploymentArn})
	wantCode(t, "stop a finished deployment", err, "ConflictException")
	_, err = svc.StopServiceDeployment(ctx, &ecsapi.StopServiceDeploymentInput{ServiceDeploymentArn: ptr(strings.Replace(deref(l[0].ServiceDeploymentArn), "/web/", "/nope/", 1))})
	wantCode(t, "stop an unknown deployment", err, "ServiceDeploymentNotFoundException")
}
