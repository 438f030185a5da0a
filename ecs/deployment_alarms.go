package ecs

import (
	"context"
	"slices"
	"strings"

	ecsapi "github.com/berth-dev/berth/api/ecs"
)

// Deployment alarms (deploymentConfiguration.alarms): while a rolling
// deployment is IN_PROGRESS, the controller reads the states of the
// alarms it names and, once any is in ALARM, fails the deployment as the
// circuit breaker does (FAILED, no more tasks started) and, with
// rollback, rolls back to the last COMPLETED deployment. The alarm states
// are read before the pass's transaction: CloudWatch keeps its own
// records, and a slow read must not hold the service's write.

// Alarms is what deployment alarms need of CloudWatch: the state (OK,
// ALARM or INSUFFICIENT_DATA) of named alarms of an account and region;
// a name without an alarm is left out. Server wiring sets it with
// SetAlarms (cloudwatch.Service's AlarmStates is one).
type Alarms interface {
	AlarmStates(ctx context.Context, account, region string, names []string) (map[string]string, error)
}

// SetAlarms connects deployment alarms to CloudWatch.
func (s *Service) SetAlarms(a Alarms) {
	s.services.mu.Lock()
	s.services.alarms = a
	s.services.mu.Unlock()
}

// watchedAlarms are the alarm names to check for the service's primary
// deployment: none unless alarms are enabled and a rolling deployment of
// an ACTIVE service is IN_PROGRESS.
func watchedAlarms(r *serviceRecord) []string {
	a := r.Config.Alarms
	if a == nil || !deref(a.Enable) || len(a.AlarmNames) == 0 || r.Status != svcActive || r.Controller != string(ecsapi.DeploymentControllerTypeEcs) {
		return nil
	}
	d := r.primary()
	if d == nil || d.RolloutState != string(ecsapi.DeploymentRolloutStateInProgress) || d.RollbackOf != "" {
		// A rollback is not itself watched: failing it would leave the
		// service with nothing to go back to.
		return nil
	}
	return a.AlarmNames
}

// deploymentAlarmStates reads, outside any transaction, the states of the
// alarms the service's last pass found watched (nil when none are): a
// hint kept in memory, so that services without deployment alarms cost
// no extra read. A new deployment is thus checked from its second pass,
// a second later.
func (s *Service) deploymentAlarmStates(ctx context.Context, sc scope, key string) map[string]string {
	s.services.mu.Lock()
	cw, names := s.services.alarms, s.services.watch[sc.account+"/"+sc.region+"/"+key]
	s.services.mu.Unlock()
	if cw == nil || len(names) == 0 {
		return nil
	}
	states, err := cw.AlarmStates(ctx, sc.account, sc.region, names)
	if err != nil {
		s.log.Warn("ecs: reading deployment alarms", "service", key, "err", err)
		return nil
	}
	return states
}

// noteWatched remembers which alarms the service's next pass checks.
func (s *Service) noteWatched(sc scope, key string, names []string) {
	k := sc.account + "/" + sc.region + "/" + key
	s.services.mu.Lock()
	defer s.services.mu.Unlock()
	if s.services.alarms == nil {
		return
	}
	if len(names) == 0 {
		delete(s.services.watch, k)
		return
	}
	if s.services.watch == nil {
		s.services.watch = map[string][]string{}
	}
	s.services.watch[k] = names
}

// alarming returns, in configuration order, the names in ALARM.
func alarming(names []string, states map[string]string) []string {
	var out []string
	for _, n := range names {
		if states[n] == "ALARM" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// deploymentAlarms fails the primary deployment when one of its alarms is
// in ALARM.
func (p *servicePass) deploymentAlarms() {
	r := p.r
	names := watchedAlarms(r)
	defer func() { p.s.noteWatched(p.sc, serviceKey(r.Cluster, r.Name), watchedAlarms(r)) }()
	if len(names) == 0 || p.alarmStates == nil {
		return
	}
	hit := alarming(names, p.alarmStates)
	if len(hit) == 0 {
		return
	}
	d := r.primary()
	d.TriggeredAlarms = hit
	list := strings.Join(hit, ", ")
	p.failDeployment(d, "ECS deployment alarms: alarm(s) "+list+" in ALARM state.",
		"alarm(s) "+list+" in ALARM state", deref(r.Config.Alarms.Rollback), "ECS deployment alarms")
	// The failed deployment may be dropped in this very pass (it has no
	// task left): its rollback carries the names to its service
	// deployment.
	if nd := r.primary(); nd != nil && nd.RollbackOf != "" && nd.RollbackOf == d.ServiceDeploymentID {
		nd.TriggeredAlarms = hit
	}
}
