package ecs

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"slices"
	"strings"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/ecs/deploy"
	"github.com/berth-dev/berth/store"
)

// Service deployments and service revisions: the history view of the
// deployments the service controller runs (DescribeServices' deployments
// list shows only the ones that still have tasks).
//
// Each deployment record of a service (ECS controller) is one service
// deployment, rolling out one service revision: the configuration it
// deploys (task definition, launch type, platform version, network
// configuration, load balancers, service registries, container images).
// A rollback — by the circuit breaker or by StopServiceDeployment — is a
// new deployment record in DescribeServices, as on AWS, but it belongs to
// the service deployment it rolls back (ROLLBACK_IN_PROGRESS, then
// ROLLBACK_SUCCESSFUL or ROLLBACK_FAILED) and re-deploys the previous
// revision rather than making a new one.
//
// syncServiceDeployments brings the history records in line with the
// service record; it runs in the transaction of every write of a service
// that may change them (CreateService, UpdateService, a controller pass
// that changed the service), so the history is never behind the service.
//
// ARNs:
//
//	arn:aws:ecs:<region>:<account>:service-deployment/<cluster>/<service>/<id>
//	arn:aws:ecs:<region>:<account>:service-revision/<cluster>/<service>/<id>

const (
	kindSvcDeployment = "ecs.svcdeployment" // id: cluster/service/service deployment id
	kindSvcRevision   = "ecs.svcrevision"   // id: cluster/service/revision id
)

// Service deployment statuses.
const (
	sdPending            = string(ecsapi.ServiceDeploymentStatusPending)
	sdInProgress         = string(ecsapi.ServiceDeploymentStatusInProgress)
	sdSuccessful         = string(ecsapi.ServiceDeploymentStatusSuccessful)
	sdStopped            = string(ecsapi.ServiceDeploymentStatusStopped)
	sdStopRequested      = string(ecsapi.ServiceDeploymentStatusStopRequested)
	sdRollbackRequested  = string(ecsapi.ServiceDeploymentStatusRollbackRequested)
	sdRollbackInProgress = string(ecsapi.ServiceDeploymentStatusRollbackInProgress)
	sdRollbackSuccessful = string(ecsapi.ServiceDeploymentStatusRollbackSuccessful)
	sdRollbackFailed     = string(ecsapi.ServiceDeploymentStatusRollbackFailed)
)

// serviceRevisionRecord is a service revision: what one deployment rolls
// out. It never changes once written.
type serviceRevisionRecord struct {
	ID                string                                `json:"id"`
	Cluster           string                                `json:"cluster"`
	Service           string                                `json:"service"`
	TaskDefinition    string                                `json:"taskDefinition"`
	LaunchType        string                                `json:"launchType"`
	CapacityProviders []ecsapi.CapacityProviderStrategyItem `json:"capacityProviders,omitempty"`
	PlatformVersion   string                                `json:"platformVersion,omitempty"`
	LoadBalancers     []ecsapi.LoadBalancer                 `json:"loadBalancers,omitempty"`
	Registries        []ecsapi.ServiceRegistry              `json:"registries,omitempty"`
	Network           *ecsapi.NetworkConfiguration          `json:"network,omitempty"`
	Images            []ecsapi.ContainerImage               `json:"images,omitempty"`
	CreatedAt         time.Time                             `json:"createdAt"`
}

// revisionCount is what DescribeServiceDeployments shows of a revision's
// tasks.
type revisionCount struct {
	Requested int `json:"requested"`
	Running   int `json:"running"`
	Pending   int `json:"pending"`
}

type sdRollback struct {
	Reason    string    `json:"reason"`
	StartedAt time.Time `json:"startedAt"`
	Revision  string    `json:"revision"`
}

// serviceDeploymentRecord is a service deployment as stored.
type serviceDeploymentRecord struct {
	ID           string                         `json:"id"`
	Cluster      string                         `json:"cluster"`
	Service      string                         `json:"service"`
	DeploymentID string                         `json:"deploymentId"` // the ecs-svc/ id DescribeServices shows
	Status       string                         `json:"status"`
	StatusReason string                         `json:"statusReason,omitempty"`
	CreatedAt    time.Time                      `json:"createdAt"`
	StartedAt    time.Time                      `json:"startedAt,omitzero"`
	FinishedAt   time.Time                      `json:"finishedAt,omitzero"`
	StoppedAt    time.Time                      `json:"stoppedAt,omitzero"`
	UpdatedAt    time.Time                      `json:"updatedAt"`
	Sources      []string                       `json:"sources,omitempty"` // revision ids
	Target       string                         `json:"target"`
	Counts       map[string]revisionCount       `json:"counts,omitempty"` // by revision id
	Config       ecsapi.DeploymentConfiguration `json:"config"`
	Rollback     *sdRollback                    `json:"rollback,omitempty"`
	// The circuit breaker's view: failures counted, the threshold, and
	// whether it tripped.
	FailureCount int  `json:"failureCount"`
	Threshold    int  `json:"threshold"`
	Tripped      bool `json:"tripped,omitempty"`
	// TriggeredAlarms are the deployment alarms that failed it (then the
	// circuit breaker did not trip).
	TriggeredAlarms []string `json:"triggeredAlarms,omitempty"`
}

func (d *serviceDeploymentRecord) finished() bool {
	switch d.Status {
	case sdSuccessful, sdStopped, sdRollbackSuccessful, sdRollbackFailed:
		return true
	}
	return false
}

func (d *serviceDeploymentRecord) rollingBack() bool {
	switch d.Status {
	case sdRollbackRequested, sdRollbackInProgress, sdRollbackSuccessful, sdRollbackFailed:
		return true
	}
	return false
}

func historyKey(cluster, service, id string) string { return cluster + "/" + service + "/" + id }

func (sc scope) serviceDeploymentARN(cluster, service, id string) string {
	return sc.arn("service-deployment/" + cluster + "/" + service + "/" + id)
}

func (sc scope) serviceRevisionARN(cluster, service, id string) string {
	return sc.arn("service-revision/" + cluster + "/" + service + "/" + id)
}

// newServiceDeploymentID is an id in the shape AWS uses: 22 letters,
// digits, '-' and '_'.
func newServiceDeploymentID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var b [22]byte
	rand.Read(b[:]) // never fails: it crashes the program instead (Go 1.24)
	for i := range b {
		b[i] = alphabet[b[i]&63]
	}
	return string(b[:])
}

// newRevisionID is a service revision id: 19 digits, as AWS's.
func newRevisionID() string { return strings.TrimPrefix(deploy.NewID(), "ecs-svc/") }

// syncServiceDeployments writes the service deployment and service
// revision records of r's deployments, and assigns the ids of deployments
// that have none yet (r is written by the caller).
func syncServiceDeployments(tx store.Tx, sc scope, r *serviceRecord, now time.Time) error {
	if r.Controller != string(ecsapi.DeploymentControllerTypeEcs) {
		return nil
	}
	counts := map[string]revisionCount{}
	for i := range r.Deployments {
		d := &r.Deployments[i]
		if d.RevisionID == "" {
			d.RevisionID = newRevisionID()
		}
		if err := ensureRevision(tx, sc, r, d); err != nil {
			return err
		}
		c := counts[d.RevisionID]
		c.Running += d.RunningCount
		c.Pending += d.PendingCount
		if d.Status == depPrimary {
			c.Requested = d.DesiredCount
		}
		counts[d.RevisionID] = c
	}

	docs := map[string]*serviceDeploymentRecord{}
	before := map[string]string{}
	load := func(id string) (*serviceDeploymentRecord, error) {
		if x, ok := docs[id]; ok {
			return x, nil
		}
		x, err := getDoc[serviceDeploymentRecord](tx, kindSvcDeployment, sc, historyKey(r.Cluster, r.Name, id))
		if err != nil || x == nil {
			return nil, err
		}
		raw, _ := json.Marshal(x)
		docs[id], before[id] = x, string(raw)
		return x, nil
	}
	cb := r.Config.DeploymentCircuitBreaker
	cbOn := cb != nil && deref(cb.Enable)
	finish := func(x *serviceDeploymentRecord, status, reason string) {
		x.Status, x.StatusReason, x.FinishedAt = status, reason, now
		if status == sdStopped || status == sdRollbackFailed {
			x.StoppedAt = now
		}
	}

	for i := range r.Deployments {
		d := &r.Deployments[i]
		if d.RollbackOf != "" {
			continue
		}
		if d.ServiceDeploymentID == "" {
			d.ServiceDeploymentID = newServiceDeploymentID()
			var sources []string
			for _, o := range r.Deployments {
				if o.ID != d.ID && o.RevisionID != "" && o.RevisionID != d.RevisionID && !slices.Contains(sources, o.RevisionID) {
					sources = append(sources, o.RevisionID)
				}
			}
			if len(sources) == 0 && r.LastCompleted != nil && r.LastCompleted.RevisionID != "" && r.LastCompleted.RevisionID != d.RevisionID {
				sources = []string{r.LastCompleted.RevisionID}
			}
			x := &serviceDeploymentRecord{
				ID: d.ServiceDeploymentID, Cluster: r.Cluster, Service: r.Name, DeploymentID: d.ID,
				Status: sdPending, CreatedAt: d.CreatedAt, UpdatedAt: now,
				Sources: sources, Target: d.RevisionID, Config: r.Config,
			}
			docs[x.ID], before[x.ID] = x, ""
		}
		x, err := load(d.ServiceDeploymentID)
		if err != nil {
			return err
		}
		if x == nil || x.finished() {
			continue
		}
		x.Counts = pickCounts(counts, x)
		x.FailureCount, x.Threshold = d.FailedTasks, deploy.FailureThreshold(r.DesiredCount)
		if x.StartedAt.IsZero() {
			x.StartedAt = d.CreatedAt
		}
		if x.rollingBack() {
			continue // the rollback deployment says how it goes
		}
		rolledBack := slices.ContainsFunc(r.Deployments, func(o deploymentRecord) bool { return o.RollbackOf == x.ID })
		if len(d.TriggeredAlarms) > 0 {
			x.TriggeredAlarms = d.TriggeredAlarms
		}
		byBreaker := len(x.TriggeredAlarms) == 0
		switch {
		case rolledBack:
			x.Tripped = byBreaker && d.RolloutState == string(ecsapi.DeploymentRolloutStateFailed)
			x.Status = sdRollbackRequested
		case d.RolloutState == string(ecsapi.DeploymentRolloutStateFailed):
			x.Tripped = byBreaker
			finish(x, sdStopped, d.RolloutStateReason)
		case d.Status == depPrimary && d.RolloutState == string(ecsapi.DeploymentRolloutStateCompleted):
			finish(x, sdSuccessful, "")
		case d.Status != depPrimary:
			finish(x, sdStopped, "Service deployment stopped: a newer service deployment replaced it.")
		default:
			x.Status = sdInProgress
		}
	}

	for i := range r.Deployments {
		d := &r.Deployments[i]
		if d.RollbackOf == "" {
			continue
		}
		x, err := load(d.RollbackOf)
		if err != nil {
			return err
		}
		if x == nil || x.finished() {
			continue
		}
		if len(d.TriggeredAlarms) > 0 {
			x.TriggeredAlarms = d.TriggeredAlarms
		}
		if x.Rollback == nil {
			// StopServiceDeployment writes its own rollback info: without
			// one, the rollback is the circuit breaker's (the failed
			// deployment may already be gone from r.Deployments), or the
			// deployment alarms'.
			x.Tripped = len(x.TriggeredAlarms) == 0
			reason := d.RolloutStateReason
			if reason == "" {
				reason = "Service deployment rolled back."
			}
			x.Rollback = &sdRollback{Reason: reason, StartedAt: d.CreatedAt, Revision: d.RevisionID}
		}
		x.Counts = pickCounts(counts, x)
		switch {
		case d.Status == depPrimary && d.RolloutState == string(ecsapi.DeploymentRolloutStateCompleted):
			finish(x, sdRollbackSuccessful, "")
		case d.RolloutState == string(ecsapi.DeploymentRolloutStateFailed):
			finish(x, sdRollbackFailed, d.RolloutStateReason)
		case d.Status != depPrimary:
			finish(x, sdRollbackFailed, "Rollback stopped: a newer service deployment replaced it.")
		default:
			x.Status = sdRollbackInProgress
		}
	}

	for id, x := range docs {
		if !cbOn {
			x.FailureCount, x.Threshold = 0, 0
		}
		raw, _ := json.Marshal(x)
		if string(raw) == before[id] {
			continue
		}
		x.UpdatedAt = now
		if err := putDoc(tx, kindSvcDeployment, sc, historyKey(r.Cluster, r.Name, id), x, now); err != nil {
			return err
		}
	}
	return nil
}

// pickCounts keeps the task counts of a service deployment's revisions.
func pickCounts(counts map[string]revisionCount, x *serviceDeploymentRecord) map[string]revisionCount {
	out := map[string]revisionCount{}
	for _, id := range append([]string{x.Target}, x.Sources...) {
		out[id] = counts[id]
	}
	if x.Rollback != nil {
		out[x.Rollback.Revision] = counts[x.Rollback.Revision]
	}
	return out
}

// ensureRevision writes the revision of deployment d if it is not yet
// stored: d's own settings and the service's load balancers and
// registries, which a change of starts a deployment.
func ensureRevision(tx store.Tx, sc scope, r *serviceRecord, d *deploymentRecord) error {
	key := historyKey(r.Cluster, r.Name, d.RevisionID)
	old, err := getDoc[serviceRevisionRecord](tx, kindSvcRevision, sc, key)
	if err != nil || old != nil {
		return err
	}
	rev := serviceRevisionRecord{
		ID: d.RevisionID, Cluster: r.Cluster, Service: r.Name,
		TaskDefinition: d.TaskDefinition, LaunchType: d.LaunchType, CapacityProviders: r.CapacityProviders,
		PlatformVersion: d.PlatformVersion, LoadBalancers: r.LoadBalancers, Registries: r.Registries,
		Network: d.Network, CreatedAt: d.CreatedAt,
	}
	if td, err := lookupTaskDef(tx, sc, d.TaskDefinition); err == nil && td != nil {
		for _, c := range td.Input.ContainerDefinitions {
			rev.Images = append(rev.Images, ecsapi.ContainerImage{ContainerName: c.Name, Image: c.Image})
		}
	}
	return putDoc(tx, kindSvcRevision, sc, key, rev, d.CreatedAt)
}

// purgeServiceDeployments forgets the history of a service (deleted, or
// its name reused).
func purgeServiceDeployments(tx store.Tx, sc scope, cluster, service string) error {
	for _, kind := range []string{kindSvcDeployment, kindSvcRevision} {
		var keys []string
		err := listDocs(tx, kind, sc, cluster+"/"+service+"/", "", func(key string, _ *json.RawMessage) (bool, error) {
			keys = append(keys, key)
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := deleteDoc(tx, kind, sc, k); err != nil {
				return err
			}
		}
	}
	return nil
}

// historyRef splits a service deployment or revision ARN into cluster,
// service and id.
func historyRef(sc scope, kind, ref string) (cluster, service, id string, ok bool) {
	p, ok := parseARN(ref)
	if !ok || p.kind != kind || !p.inScope(sc) {
		return "", "", "", false
	}
	parts := strings.Split(p.rest, "/")
	if len(parts) != 3 || !validName(parts[0]) || !validName(parts[1]) || parts[2] == "" {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

func (sc scope) revisionSummary(x *serviceDeploymentRecord, rev string) ecsapi.ServiceRevisionSummary {
	c := x.Counts[rev]
	return ecsapi.ServiceRevisionSummary{
		Arn:                ptr(sc.serviceRevisionARN(x.Cluster, x.Service, rev)),
		RequestedTaskCount: ptr(int32(c.Requested)),
		RunningTaskCount:   ptr(int32(c.Running)),
		PendingTaskCount:   ptr(int32(c.Pending)),
	}
}

func serviceDeploymentOutput(sc scope, x *serviceDeploymentRecord) ecsapi.ServiceDeployment {
	cfg := x.Config
	out := ecsapi.ServiceDeployment{
		ServiceDeploymentArn:    ptr(sc.serviceDeploymentARN(x.Cluster, x.Service, x.ID)),
		ServiceArn:              ptr(sc.serviceARN(x.Cluster, x.Service)),
		ClusterArn:              ptr(sc.clusterARN(x.Cluster)),
		CreatedAt:               timestamp(x.CreatedAt),
		UpdatedAt:               timestamp(x.UpdatedAt),
		SourceServiceRevisions:  []ecsapi.ServiceRevisionSummary{},
		TargetServiceRevision:   ptr(sc.revisionSummary(x, x.Target)),
		Status:                  ptr(ecsapi.ServiceDeploymentStatus(x.Status)),
		StatusReason:            nonEmpty(x.StatusReason),
		DeploymentConfiguration: &cfg,
	}
	if !x.StartedAt.IsZero() {
		out.StartedAt = timestamp(x.StartedAt)
	}
	if !x.FinishedAt.IsZero() {
		out.FinishedAt = timestamp(x.FinishedAt)
	}
	if !x.StoppedAt.IsZero() {
		out.StoppedAt = timestamp(x.StoppedAt)
	}
	for _, rev := range x.Sources {
		out.SourceServiceRevisions = append(out.SourceServiceRevisions, sc.revisionSummary(x, rev))
	}
	if x.Rollback != nil {
		out.Rollback = &ecsapi.Rollback{
			Reason:             ptr(x.Rollback.Reason),
			StartedAt:          timestamp(x.Rollback.StartedAt),
			ServiceRevisionArn: ptr(sc.serviceRevisionARN(x.Cluster, x.Service, x.Rollback.Revision)),
		}
	}
	monitor := func(on bool) ecsapi.ServiceDeploymentRollbackMonitorsStatus {
		switch {
		case !on:
			return ecsapi.ServiceDeploymentRollbackMonitorsStatusDisabled
		case x.Tripped:
			return ecsapi.ServiceDeploymentRollbackMonitorsStatusTriggered
		case x.finished():
			return ecsapi.ServiceDeploymentRollbackMonitorsStatusMonitoringComplete
		}
		return ecsapi.ServiceDeploymentRollbackMonitorsStatusMonitoring
	}
	cb := cfg.DeploymentCircuitBreaker
	out.DeploymentCircuitBreaker = &ecsapi.ServiceDeploymentCircuitBreaker{
		Status:       ptr(monitor(cb != nil && deref(cb.Enable))),
		FailureCount: ptr(int32(x.FailureCount)),
		Threshold:    ptr(int32(x.Threshold)),
	}
	// Alarms are evaluated while the deployment is IN_PROGRESS
	// (deployment_alarms.go).
	alarms := &ecsapi.ServiceDeploymentAlarms{Status: ptr(ecsapi.ServiceDeploymentRollbackMonitorsStatusDisabled), AlarmNames: []string{}, TriggeredAlarmNames: []string{}}
	if a := cfg.Alarms; a != nil && deref(a.Enable) {
		alarms.AlarmNames = nonNil(a.AlarmNames)
		alarms.Status = ptr(ecsapi.ServiceDeploymentRollbackMonitorsStatusMonitoring)
		switch {
		case len(x.TriggeredAlarms) > 0:
			alarms.Status = ptr(ecsapi.ServiceDeploymentRollbackMonitorsStatusTriggered)
			alarms.TriggeredAlarmNames = x.TriggeredAlarms
		case x.finished():
			alarms.Status = ptr(ecsapi.ServiceDeploymentRollbackMonitorsStatusMonitoringComplete)
		}
	}
	out.Alarms = alarms
	return out
}

// ListServiceDeployments lists a service's deployments, newest first, by
// status and creation time.
func (s *Service) ListServiceDeployments(ctx context.Context, in *ecsapi.ListServiceDeploymentsInput) (*ecsapi.ListServiceDeploymentsOutput, error) {
	sc := scopeOf(ctx)
	if deref(in.Service) == "" {
		return nil, ecsapi.NewInvalidParameterException("service must be specified.")
	}
	limit, after, err := pageParams(in.MaxResults, in.NextToken, 20, 100)
	if err != nil {
		return nil, err
	}
	var before, since time.Time
	if ca := in.CreatedAt; ca != nil {
		if ca.Before != nil {
			before = ca.Before.Time
		}
		if ca.After != nil {
			since = ca.After.Time
		}
	}
	out := &ecsapi.ListServiceDeploymentsOutput{ServiceDeployments: []ecsapi.ServiceDeploymentBrief{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		out.ServiceDeployments, out.NextToken = out.ServiceDeployments[:0], nil
		c, err := lookupCluster(tx, sc, deref(in.Cluster))
		if err != nil {
			return err
		}
		r, err := lookupService(tx, sc, c, deref(in.Service))
		if err != nil {
			return err
		}
		if r == nil || r.Status == svcInactive {
			return errServiceNotFound()
		}
		var all []*serviceDeploymentRecord
		err = listDocs(tx, kindSvcDeployment, sc, r.Cluster+"/"+r.Name+"/", "", func(_ string, x *serviceDeploymentRecord) (bool, error) {
			switch {
			case len(in.Status) > 0 && !slices.Contains(in.Status, ecsapi.ServiceDeploymentStatus(x.Status)),
				!before.IsZero() && !x.CreatedAt.Before(before),
				!since.IsZero() && !x.CreatedAt.After(since):
				return true, nil
			}
			all = append(all, x)
			return true, nil
		})
		if err != nil {
			return err
		}
		// Newest first; the id breaks ties so that pages are stable.
		slices.SortFunc(all, func(a, b *serviceDeploymentRecord) int {
			if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		start := 0
		if after != "" {
			start = slices.IndexFunc(all, func(x *serviceDeploymentRecord) bool { return x.ID == after }) + 1
			if start == 0 {
				return ecsapi.NewInvalidParameterException("Invalid token %s", deref(in.NextToken))
			}
		}
		for i, x := range all[start:] {
			if i == limit {
				out.NextToken = encodeToken(all[start+i-1].ID)
				break
			}
			b := ecsapi.ServiceDeploymentBrief{
				ServiceDeploymentArn:     ptr(sc.serviceDeploymentARN(x.Cluster, x.Service, x.ID)),
				ServiceArn:               ptr(sc.serviceARN(x.Cluster, x.Service)),
				ClusterArn:               ptr(sc.clusterARN(x.Cluster)),
				CreatedAt:                timestamp(x.CreatedAt),
				TargetServiceRevisionArn: ptr(sc.serviceRevisionARN(x.Cluster, x.Service, x.Target)),
				Status:                   ptr(ecsapi.ServiceDeploymentStatus(x.Status)),
				StatusReason:             nonEmpty(x.StatusReason),
			}
			if !x.StartedAt.IsZero() {
				b.StartedAt = timestamp(x.StartedAt)
			}
			if !x.FinishedAt.IsZero() {
				b.FinishedAt = timestamp(x.FinishedAt)
			}
			out.ServiceDeployments = append(out.ServiceDeployments, b)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DescribeServiceDeployments describes up to 20 service deployments;
// unknown ones are failures with reason MISSING.
func (s *Service) DescribeServiceDeployments(ctx context.Context, in *ecsapi.DescribeServiceDeploymentsInput) (*ecsapi.DescribeServiceDeploymentsOutput, error) {
	deps, failures, err := describeByARN(ctx, s, kindSvcDeployment, "serviceDeploymentArns", in.ServiceDeploymentArns,
		historyDocKey("service-deployment"),
		func(_ store.Tx, sc scope, x *serviceDeploymentRecord) (ecsapi.ServiceDeployment, error) {
			return serviceDeploymentOutput(sc, x), nil
		})
	if err != nil {
		return nil, err
	}
	return &ecsapi.DescribeServiceDeploymentsOutput{ServiceDeployments: deps, Failures: failures}, nil
}

// DescribeServiceRevisions describes up to 20 service revisions; unknown
// ones are failures with reason MISSING.
func (s *Service) DescribeServiceRevisions(ctx context.Context, in *ecsapi.DescribeServiceRevisionsInput) (*ecsapi.DescribeServiceRevisionsOutput, error) {
	revs, failures, err := describeByARN(ctx, s, kindSvcRevision, "serviceRevisionArns", in.ServiceRevisionArns,
		historyDocKey("service-revision"),
		func(_ store.Tx, sc scope, rev *serviceRevisionRecord) (ecsapi.ServiceRevision, error) {
			return serviceRevisionOutput(sc, rev), nil
		})
	if err != nil {
		return nil, err
	}
	return &ecsapi.DescribeServiceRevisionsOutput{ServiceRevisions: revs, Failures: failures}, nil
}

func serviceRevisionOutput(sc scope, rev *serviceRevisionRecord) ecsapi.ServiceRevision {
	out := ecsapi.ServiceRevision{
		ServiceRevisionArn:   ptr(sc.serviceRevisionARN(rev.Cluster, rev.Service, rev.ID)),
		ServiceArn:           ptr(sc.serviceARN(rev.Cluster, rev.Service)),
		ClusterArn:           ptr(sc.clusterARN(rev.Cluster)),
		TaskDefinition:       ptr(rev.TaskDefinition),
		LoadBalancers:        nonNil(rev.LoadBalancers),
		ServiceRegistries:    nonNil(rev.Registries),
		NetworkConfiguration: rev.Network,
		ContainerImages:      nonNil(rev.Images),
		GuardDutyEnabled:     ptr(false),
		CreatedAt:            timestamp(rev.CreatedAt),
	}
	if len(rev.CapacityProviders) > 0 {
		out.CapacityProviderStrategy = rev.CapacityProviders
	} else {
		out.LaunchType = ptr(ecsapi.LaunchType(rev.LaunchType))
	}
	if rev.LaunchType == launchFargate {
		out.PlatformVersion = nonEmpty(rev.PlatformVersion)
		out.PlatformFamily = ptr("Linux")
	}
	return out
}

// lookupServiceDeployment resolves a service deployment ARN to its record
// and its service (ACTIVE).
func lookupServiceDeployment(tx store.Tx, sc scope, ref string) (*serviceDeploymentRecord, *serviceRecord, error) {
	cluster, service, id, ok := historyRef(sc, "service-deployment", ref)
	if !ok {
		return nil, nil, ecsapi.NewServiceDeploymentNotFoundException("The service deployment %s does not exist.", ref)
	}
	x, err := getDoc[serviceDeploymentRecord](tx, kindSvcDeployment, sc, historyKey(cluster, service, id))
	if err != nil {
		return nil, nil, err
	}
	if x == nil {
		return nil, nil, ecsapi.NewServiceDeploymentNotFoundException("The service deployment %s does not exist.", ref)
	}
	r, err := getDoc[serviceRecord](tx, KindService, sc, serviceKey(cluster, service))
	if err != nil {
		return nil, nil, err
	}
	if r == nil || r.Status == svcInactive {
		return nil, nil, errServiceNotFound()
	}
	return x, r, nil
}

// StopServiceDeployment rolls an ongoing service deployment back to the
// previous service revision (stopType ROLLBACK, the default): a new
// deployment of that revision becomes primary and the controller replaces
// the tasks, as the circuit breaker's rollback does.
func (s *Service) StopServiceDeployment(ctx context.Context, in *ecsapi.StopServiceDeploymentInput) (*ecsapi.StopServiceDeploymentOutput, error) {
	sc := scopeOf(ctx)
	ref := deref(in.ServiceDeploymentArn)
	if ref == "" {
		return nil, ecsapi.NewInvalidParameterException("serviceDeploymentArn must be specified.")
	}
	if in.StopType != nil && *in.StopType != ecsapi.StopServiceDeploymentStopTypeRollback {
		return nil, ecsapi.NewInvalidParameterException("The stop type %s is not supported. The valid value is ROLLBACK.", *in.StopType)
	}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		x, r, err := lookupServiceDeployment(tx, sc, ref)
		if err != nil {
			return err
		}
		switch x.Status {
		case sdStopRequested, sdRollbackRequested, sdRollbackInProgress:
			return nil // already stopping: it goes on
		case sdPending, sdInProgress:
		default:
			return ecsapi.NewConflictException("The service deployment %s is %s and cannot be stopped. Only a service deployment that is PENDING or IN_PROGRESS can be stopped.", ref, x.Status)
		}
		d := r.primary()
		if d == nil || d.ServiceDeploymentID != x.ID {
			return ecsapi.NewConflictException("The service deployment %s is no longer the service's current deployment.", ref)
		}
		prev := ""
		if r.LastCompleted != nil && r.LastCompleted.RevisionID != x.Target {
			prev = r.LastCompleted.RevisionID
		}
		if prev == "" && len(x.Sources) > 0 {
			prev = x.Sources[0]
		}
		if prev == "" {
			return ecsapi.NewInvalidParameterException("The service deployment %s has no previous service revision to roll back to.", ref)
		}
		rev, err := getDoc[serviceRevisionRecord](tx, kindSvcRevision, sc, historyKey(r.Cluster, r.Name, prev))
		if err != nil {
			return err
		}
		if rev == nil {
			return ecsapi.NewInvalidParameterException("The previous service revision of %s is no longer available.", ref)
		}
		now := s.clock()
		failedID := d.ID
		d.RolloutStateReason = "Service deployment stopped by StopServiceDeployment: rolling back."
		r.Network, r.LoadBalancers, r.Registries = rev.Network, rev.LoadBalancers, rev.Registries
		if rev.PlatformVersion != "" {
			r.PlatformVersion = rev.PlatformVersion
		}
		nd := r.newDeployment(rev.TaskDefinition, now)
		nd.LaunchType, nd.PlatformVersion, nd.Network = rev.LaunchType, rev.PlatformVersion, rev.Network
		nd.RevisionID, nd.RollbackOf = rev.ID, x.ID
		nd.RolloutStateReason = "Service deployment " + x.ID + " stopped: rolling back to service revision " + rev.ID + "."
		r.event(now, "(deployment %s) rolling back to service revision %s (StopServiceDeployment).", failedID, rev.ID)
		r.Steady = false
		x.Status, x.UpdatedAt = sdRollbackRequested, now
		x.Rollback = &sdRollback{Reason: "Service deployment stopped by StopServiceDeployment with stopType ROLLBACK.", StartedAt: now, Revision: rev.ID}
		// The controller's next pass moves it to ROLLBACK_IN_PROGRESS as it
		// starts the rollback's tasks.
		if err := putDoc(tx, kindSvcDeployment, sc, historyKey(r.Cluster, r.Name, x.ID), x, now); err != nil {
			return err
		}
		return putDoc(tx, KindService, sc, serviceKey(r.Cluster, r.Name), r, now)
	})
	if err != nil {
		return nil, err
	}
	s.kickServices()
	return &ecsapi.StopServiceDeploymentOutput{ServiceDeploymentArn: ptr(ref)}, nil
}

// ContinueServiceDeployment acts on a deployment paused at a lifecycle
// hook. Berth's deployments have no lifecycle hooks (they belong to the
// BLUE_GREEN strategy, which Berth does not run), so no deployment is ever
// paused and a known deployment gets the not-paused error.
func (s *Service) ContinueServiceDeployment(ctx context.Context, in *ecsapi.ContinueServiceDeploymentInput) (*ecsapi.ContinueServiceDeploymentOutput, error) {
	sc := scopeOf(ctx)
	ref := deref(in.ServiceDeploymentArn)
	if ref == "" {
		return nil, ecsapi.NewInvalidParameterException("serviceDeploymentArn must be specified.")
	}
	if deref(in.HookId) == "" {
		return nil, ecsapi.NewInvalidParameterException("hookId must be specified.")
	}
	err := s.st.View(ctx, func(tx store.Tx) error {
		x, _, err := lookupServiceDeployment(tx, sc, ref)
		if err != nil {
			return err
		}
		return ecsapi.NewInvalidParameterException("The service deployment %s is %s and is not paused at lifecycle hook %s: no lifecycle hook is awaiting action.", ref, x.Status, deref(in.HookId))
	})
	return nil, err
}
