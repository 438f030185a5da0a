package ecs

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/store"
)

// ECS Managed Daemons: daemon task definitions, daemons, their revisions
// (immutable snapshots taken at each deployment) and deployments.
//
// AWS runs one daemon task on each container instance of the daemon's
// Managed Instances capacity providers. Berth's Managed Instances providers
// launch no instances, so a daemon has nothing to run on: its deployments
// roll out to zero instances and finish at once (SUCCESSFUL), and running
// counts are 0. The API, its records and its state machine are AWS's.
const (
	kindDaemonTaskDef    = "ecs.daemontd"       // id: family#0000000001
	kindDaemonFamily     = "ecs.daemontdfamily" // id: family
	kindDaemon           = "ecs.daemon"         // id: cluster/name
	kindDaemonRevision   = "ecs.daemonrev"      // id: cluster/name/revision id
	kindDaemonDeployment = "ecs.daemondeploy"   // id: cluster/name/deployment id
	kindDaemonToken      = "ecs.daemontoken"    // id: CreateDaemon clientToken → daemon key
)

type daemonTaskDefRecord struct {
	Input             ecsapi.RegisterDaemonTaskDefinitionInput `json:"input"`
	Revision          int                                      `json:"revision"`
	Status            string                                   `json:"status"`
	Tags              []ecsapi.Tag                             `json:"tags,omitempty"`
	RegisteredAt      time.Time                                `json:"registeredAt"`
	RegisteredBy      string                                   `json:"registeredBy,omitempty"`
	DeleteRequestedAt time.Time                                `json:"deleteRequestedAt,omitzero"`
}

type daemonFamilyRecord struct {
	LastRevision int `json:"lastRevision"`
}

type daemonRecord struct {
	Name              string                                `json:"name"`
	Cluster           string                                `json:"cluster"`
	Status            string                                `json:"status"`
	CapacityProviders []string                              `json:"capacityProviders"` // ARNs
	Config            *ecsapi.DaemonDeploymentConfiguration `json:"config,omitempty"`
	Tags              []ecsapi.Tag                          `json:"tags,omitempty"`
	Revision          string                                `json:"revision"`   // current revision id
	Deployment        string                                `json:"deployment"` // latest deployment id
	CreatedAt         time.Time                             `json:"createdAt"`
	UpdatedAt         time.Time                             `json:"updatedAt"`
}

func (d *daemonRecord) key() string { return d.Cluster + "/" + d.Name }

type daemonRevisionRecord struct {
	ID                   string                        `json:"id"`
	Daemon               string                        `json:"daemon"`
	Cluster              string                        `json:"cluster"`
	TaskDefinitionArn    string                        `json:"taskDefinitionArn"`
	ContainerImages      []ecsapi.DaemonContainerImage `json:"containerImages,omitempty"`
	PropagateTags        string                        `json:"propagateTags,omitempty"`
	EnableECSManagedTags bool                          `json:"enableEcsManagedTags"`
	EnableExecuteCommand bool                          `json:"enableExecuteCommand"`
	CapacityProviders    []string                      `json:"capacityProviders"`
	CreatedAt            time.Time                     `json:"createdAt"`
}

type daemonDeploymentRecord struct {
	ID           string                                `json:"id"`
	Daemon       string                                `json:"daemon"`
	Cluster      string                                `json:"cluster"`
	Status       string                                `json:"status"`
	StatusReason string                                `json:"statusReason,omitempty"`
	Target       string                                `json:"target,omitempty"` // revision id; empty when the daemon is deleted
	Sources      []string                              `json:"sources,omitempty"`
	Config       *ecsapi.DaemonDeploymentConfiguration `json:"config,omitempty"`
	CreatedAt    time.Time                             `json:"createdAt"`
	StartedAt    time.Time                             `json:"startedAt,omitzero"`
	FinishedAt   time.Time                             `json:"finishedAt,omitzero"`
	StoppedAt    time.Time                             `json:"stoppedAt,omitzero"`
}

func (sc scope) daemonTaskDefARN(family string, rev int) string {
	return sc.arn("daemon-task-definition/" + family + ":" + strconv.Itoa(rev))
}
func (sc scope) daemonARN(cluster, name string) string {
	return sc.arn("daemon/" + cluster + "/" + name)
}
func (sc scope) daemonRevisionARN(cluster, name, id string) string {
	return sc.arn("daemon-revision/" + cluster + "/" + name + "/" + id)
}
func (sc scope) daemonDeploymentARN(cluster, name, id string) string {
	return sc.arn("daemon-deployment/" + cluster + "/" + name + "/" + id)
}

// daemonChildRef parses a revision or deployment ARN of kind to its key.
func daemonChildRef(sc scope, kind, ref string) (string, bool) {
	p, ok := parseARN(ref)
	if !ok || p.kind != kind || !p.inScope(sc) || strings.Count(p.rest, "/") != 2 {
		return "", false
	}
	return p.rest, true
}

// daemonRef parses a daemon ARN to its key (cluster/name).
func daemonRef(sc scope, ref string) (string, bool) {
	p, ok := parseARN(ref)
	if !ok || p.kind != "daemon" || !p.inScope(sc) || strings.Count(p.rest, "/") != 1 {
		return "", false
	}
	return p.rest, true
}

func errDaemonNotFound() error {
	return ecsapi.NewDaemonNotFoundException("The specified daemon does not exist.")
}

func lookupDaemon(tx store.Tx, sc scope, ref string) (*daemonRecord, error) {
	key, ok := daemonRef(sc, ref)
	if !ok {
		return nil, ecsapi.NewInvalidParameterException("daemonArn %s is not a daemon ARN of this account and region.", ref)
	}
	d, err := getDoc[daemonRecord](tx, kindDaemon, sc, key)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, errDaemonNotFound()
	}
	return d, nil
}

// ---- daemon task definitions ----

// lookupDaemonTaskDef resolves family, family:revision or an ARN; a bare
// family is its latest ACTIVE revision.
func lookupDaemonTaskDef(tx store.Tx, sc scope, ref string) (*daemonTaskDefRecord, error) {
	r, ok := parseFamilyRef(sc, "daemon-task-definition", ref)
	if !ok {
		return nil, nil
	}
	if r.revision != 0 {
		return getDoc[daemonTaskDefRecord](tx, kindDaemonTaskDef, sc, taskDefKey(r.family, r.revision))
	}
	var latest *daemonTaskDefRecord
	err := listDocs(tx, kindDaemonTaskDef, sc, r.family+"#", "", func(_ string, r *daemonTaskDefRecord) (bool, error) {
		if r.Status == string(ecsapi.DaemonTaskDefinitionStatusActive) {
			latest = r
		}
		return true, nil
	})
	return latest, err
}

func daemonTaskDefOutput(sc scope, r *daemonTaskDefRecord) *ecsapi.DaemonTaskDefinition {
	in := r.Input
	out := &ecsapi.DaemonTaskDefinition{
		DaemonTaskDefinitionArn: ptr(sc.daemonTaskDefARN(deref(in.Family), r.Revision)),
		Family:                  in.Family,
		Revision:                ptr(int32(r.Revision)),
		TaskRoleArn:             in.TaskRoleArn,
		ExecutionRoleArn:        in.ExecutionRoleArn,
		ContainerDefinitions:    nonNil(in.ContainerDefinitions),
		Volumes:                 nonNil(in.Volumes),
		Cpu:                     in.Cpu,
		Memory:                  in.Memory,
		Status:                  ptr(ecsapi.DaemonTaskDefinitionStatus(r.Status)),
		RegisteredAt:            timestamp(r.RegisteredAt),
		DeleteRequestedAt:       timestamp(r.DeleteRequestedAt),
	}
	if r.RegisteredBy != "" {
		out.RegisteredBy = ptr(r.RegisteredBy)
	}
	return out
}

func checkDaemonTaskDef(in *ecsapi.RegisterDaemonTaskDefinitionInput) error {
	if !validName(deref(in.Family)) {
		return ecsapi.NewClientException("Family can have up to 255 characters: letters (uppercase and lowercase), numbers, underscores and hyphens.")
	}
	if len(in.ContainerDefinitions) == 0 {
		return ecsapi.NewClientException("Container list cannot be empty.")
	}
	if len(in.ContainerDefinitions) > 10 {
		return ecsapi.NewClientException("Too many containers.")
	}
	seen := map[string]bool{}
	essential := false
	for i := range in.ContainerDefinitions {
		c := &in.ContainerDefinitions[i]
		name := deref(c.Name)
		if !validName(name) {
			return ecsapi.NewClientException("Container name '%s' is invalid: up to 255 letters, numbers, hyphens and underscores.", name)
		}
		if seen[name] {
			return ecsapi.NewClientException("Container names must be unique within a Task Definition.")
		}
		seen[name] = true
		if deref(c.Image) == "" {
			return ecsapi.NewClientException("Container.image should not be null or empty.")
		}
		if c.Essential == nil {
			c.Essential = ptr(true)
		}
		essential = essential || *c.Essential
	}
	if !essential {
		return ecsapi.NewClientException("Task definition doesn't have any essential container.")
	}
	for _, v := range []*string{in.Cpu, in.Memory} {
		if v == nil {
			continue
		}
		if n, err := strconv.Atoi(*v); err != nil || n <= 0 {
			return ecsapi.NewClientException("Invalid 'cpu' or 'memory' setting for daemon task: %s.", *v)
		}
	}
	return checkTagKeys(in.Tags)
}

// RegisterDaemonTaskDefinition registers the next revision of a family.
func (s *Service) RegisterDaemonTaskDefinition(ctx context.Context, in *ecsapi.RegisterDaemonTaskDefinitionInput) (*ecsapi.RegisterDaemonTaskDefinitionOutput, error) {
	sc := scopeOf(ctx)
	if err := checkDaemonTaskDef(in); err != nil {
		return nil, err
	}
	var arn string
	err := s.st.Update(ctx, func(tx store.Tx) error {
		family := deref(in.Family)
		f, err := getDoc[daemonFamilyRecord](tx, kindDaemonFamily, sc, family)
		if err != nil {
			return err
		}
		if f == nil {
			f = &daemonFamilyRecord{}
		}
		f.LastRevision++
		input := *in
		input.Tags = nil
		now := s.clock()
		r := &daemonTaskDefRecord{Input: input, Revision: f.LastRevision, Status: string(ecsapi.DaemonTaskDefinitionStatusActive),
			Tags: in.Tags, RegisteredAt: now, RegisteredBy: callerPrincipal(ctx, sc)}
		arn = sc.daemonTaskDefARN(family, r.Revision)
		if err := putDoc(tx, kindDaemonFamily, sc, family, f, now); err != nil {
			return err
		}
		return putDoc(tx, kindDaemonTaskDef, sc, taskDefKey(family, r.Revision), r, now)
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.RegisterDaemonTaskDefinitionOutput{DaemonTaskDefinitionArn: &arn}, nil
}

// DescribeDaemonTaskDefinition describes one revision.
func (s *Service) DescribeDaemonTaskDefinition(ctx context.Context, in *ecsapi.DescribeDaemonTaskDefinitionInput) (*ecsapi.DescribeDaemonTaskDefinitionOutput, error) {
	sc := scopeOf(ctx)
	var out *ecsapi.DaemonTaskDefinition
	err := s.st.View(ctx, func(tx store.Tx) error {
		r, err := lookupDaemonTaskDef(tx, sc, deref(in.DaemonTaskDefinition))
		if err != nil {
			return err
		}
		if r == nil {
			return ecsapi.NewClientException("Unable to describe daemon task definition.")
		}
		out = daemonTaskDefOutput(sc, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.DescribeDaemonTaskDefinitionOutput{DaemonTaskDefinition: out}, nil
}

// ListDaemonTaskDefinitions lists revisions by family and revision.
func (s *Service) ListDaemonTaskDefinitions(ctx context.Context, in *ecsapi.ListDaemonTaskDefinitionsInput) (*ecsapi.ListDaemonTaskDefinitionsOutput, error) {
	sc := scopeOf(ctx)
	limit, after, err := pageParams(in.MaxResults, in.NextToken, 100, 100)
	if err != nil {
		return nil, err
	}
	status := ecsapi.DaemonTaskDefinitionStatusFilterActive
	if in.Status != nil {
		status = *in.Status
	}
	var all []*daemonTaskDefRecord
	err = s.st.View(ctx, func(tx store.Tx) error {
		all = all[:0]
		prefix := deref(in.FamilyPrefix)
		if in.Family != nil {
			prefix = *in.Family + "#"
		}
		return listDocs(tx, kindDaemonTaskDef, sc, prefix, "", func(_ string, r *daemonTaskDefRecord) (bool, error) {
			if status != ecsapi.DaemonTaskDefinitionStatusFilterAll && r.Status != string(status) {
				return true, nil
			}
			if in.Revision != nil && len(all) > 0 && all[len(all)-1].Input.Family != nil && deref(all[len(all)-1].Input.Family) == deref(r.Input.Family) {
				all[len(all)-1] = r // LAST_REGISTERED: keep the family's highest
				return true, nil
			}
			all = append(all, r)
			return true, nil
		})
	})
	if err != nil {
		return nil, err
	}
	if deref(in.Sort) == ecsapi.SortOrderDesc {
		slices.Reverse(all)
	}
	out := &ecsapi.ListDaemonTaskDefinitionsOutput{DaemonTaskDefinitions: []ecsapi.DaemonTaskDefinitionSummary{}}
	started := after == ""
	last := ""
	for _, r := range all {
		key := taskDefKey(deref(r.Input.Family), r.Revision)
		if !started {
			started = key == after
			continue
		}
		if len(out.DaemonTaskDefinitions) == limit {
			out.NextToken = encodeToken(last)
			break
		}
		out.DaemonTaskDefinitions = append(out.DaemonTaskDefinitions, ecsapi.DaemonTaskDefinitionSummary{
			Arn:               ptr(sc.daemonTaskDefARN(deref(r.Input.Family), r.Revision)),
			RegisteredAt:      timestamp(r.RegisteredAt),
			RegisteredBy:      nonEmpty(r.RegisteredBy),
			DeleteRequestedAt: timestamp(r.DeleteRequestedAt),
			Status:            ptr(ecsapi.DaemonTaskDefinitionStatus(r.Status)),
		})
		last = key
	}
	return out, nil
}

// DeleteDaemonTaskDefinition deletes an ACTIVE revision: DELETED at once
// when no daemon uses it, else DELETE_IN_PROGRESS (the daemons using it keep
// it).
func (s *Service) DeleteDaemonTaskDefinition(ctx context.Context, in *ecsapi.DeleteDaemonTaskDefinitionInput) (*ecsapi.DeleteDaemonTaskDefinitionOutput, error) {
	sc := scopeOf(ctx)
	ref := deref(in.DaemonTaskDefinition)
	var arn string
	err := s.st.Update(ctx, func(tx store.Tx) error {
		r, err := lookupDaemonTaskDef(tx, sc, ref)
		if err != nil {
			return err
		}
		if r == nil || !strings.Contains(ref[strings.LastIndex(ref, "/")+1:], ":") {
			return ecsapi.NewClientException("The specified daemon task definition does not exist. Specify a family and revision or an ARN.")
		}
		if r.Status != string(ecsapi.DaemonTaskDefinitionStatusActive) {
			return ecsapi.NewClientException("The specified daemon task definition is not ACTIVE.")
		}
		arn = sc.daemonTaskDefARN(deref(r.Input.Family), r.Revision)
		inUse := false
		err = listDocs(tx, kindDaemon, sc, "", "", func(_ string, d *daemonRecord) (bool, error) {
			if d.Status != string(ecsapi.DaemonStatusActive) {
				return true, nil
			}
			rev, err := getDoc[daemonRevisionRecord](tx, kindDaemonRevision, sc, d.key()+"/"+d.Revision)
			inUse = err == nil && rev != nil && rev.TaskDefinitionArn == arn
			return !inUse, err
		})
		if err != nil {
			return err
		}
		now := s.clock()
		r.DeleteRequestedAt = now
		r.Status = string(ecsapi.DaemonTaskDefinitionStatusDeleted)
		if inUse {
			r.Status = string(ecsapi.DaemonTaskDefinitionStatusDeleteInProgress)
		}
		return putDoc(tx, kindDaemonTaskDef, sc, taskDefKey(deref(r.Input.Family), r.Revision), r, now)
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.DeleteDaemonTaskDefinitionOutput{DaemonTaskDefinitionArn: &arn}, nil
}

// ---- daemons ----

// checkDaemonProviders resolves capacity provider ARNs (or names) to ARNs:
// each must be a Managed Instances provider of the cluster.
func checkDaemonProviders(tx store.Tx, sc scope, cluster string, refs []string) ([]string, error) {
	if len(refs) == 0 {
		return nil, ecsapi.NewInvalidParameterException("capacityProviderArns must name at least one capacity provider.")
	}
	var out []string
	for _, ref := range refs {
		if name, _ := providerRef(sc, ref); isBuiltinProvider(name) {
			return nil, ecsapi.NewUnsupportedFeatureException("ECS Managed Daemons is only supported for Amazon ECS Managed Instances capacity providers; %s is not one.", ref)
		}
		r, err := lookupProvider(tx, sc, ref)
		if err != nil {
			return nil, err
		}
		if r == nil || (r.Cluster != "" && r.Cluster != cluster) {
			return nil, ecsapi.NewInvalidParameterException("The specified capacity provider %s does not exist in cluster %s.", ref, cluster)
		}
		if r.ManagedInstances == nil {
			return nil, ecsapi.NewUnsupportedFeatureException("ECS Managed Daemons is only supported for Amazon ECS Managed Instances capacity providers; %s is not one.", ref)
		}
		arn := sc.capacityProviderARN(r.Name)
		if !slices.Contains(out, arn) {
			out = append(out, arn)
		}
	}
	return out, nil
}

func checkDaemonConfig(c *ecsapi.DaemonDeploymentConfiguration) error {
	if c == nil {
		return nil
	}
	if p := c.DrainPercent; p != nil && (*p < 0 || *p > 100) {
		return ecsapi.NewInvalidParameterException("drainPercent must be between 0.0 and 100.0.")
	}
	if b := c.BakeTimeInMinutes; b != nil && *b < 0 {
		return ecsapi.NewInvalidParameterException("bakeTimeInMinutes cannot be negative.")
	}
	return nil
}

// newDaemonRevision snapshots the daemon's configuration.
func newDaemonRevision(d *daemonRecord, td *daemonTaskDefRecord, tdARN, propagate string, managed, exec bool, now time.Time) *daemonRevisionRecord {
	rev := &daemonRevisionRecord{
		ID: newID(), Daemon: d.Name, Cluster: d.Cluster, TaskDefinitionArn: tdARN,
		PropagateTags: propagate, EnableECSManagedTags: managed, EnableExecuteCommand: exec,
		CapacityProviders: slices.Clone(d.CapacityProviders), CreatedAt: now,
	}
	for _, c := range td.Input.ContainerDefinitions {
		rev.ContainerImages = append(rev.ContainerImages, ecsapi.DaemonContainerImage{ContainerName: c.Name, Image: c.Image})
	}
	return rev
}

// deployDaemon records a deployment from the daemon's current revision to
// target (empty: the daemon is being deleted). With no instances to roll
// out to, it succeeds at once; a deployment still in progress is STOPPED.
func deployDaemon(tx store.Tx, sc scope, d *daemonRecord, target string, now time.Time) (*daemonDeploymentRecord, error) {
	dep := &daemonDeploymentRecord{
		ID: newID(), Daemon: d.Name, Cluster: d.Cluster, Target: target, Config: d.Config,
		CreatedAt: now, StartedAt: now, FinishedAt: now,
		Status: string(ecsapi.DaemonDeploymentStatusSuccessful),
	}
	if d.Revision != "" && d.Revision != target {
		dep.Sources = []string{d.Revision}
	}
	if target == "" {
		dep.StatusReason = "The daemon was deleted."
	}
	if d.Deployment != "" {
		prev, err := getDoc[daemonDeploymentRecord](tx, kindDaemonDeployment, sc, d.key()+"/"+d.Deployment)
		if err != nil {
			return nil, err
		}
		if prev != nil && (prev.Status == string(ecsapi.DaemonDeploymentStatusInProgress) || prev.Status == string(ecsapi.DaemonDeploymentStatusPending)) {
			prev.Status, prev.StoppedAt = string(ecsapi.DaemonDeploymentStatusStopped), now
			prev.StatusReason = "A newer deployment of the daemon started."
			if err := putDoc(tx, kindDaemonDeployment, sc, d.key()+"/"+prev.ID, prev, now); err != nil {
				return nil, err
			}
		}
	}
	d.Deployment = dep.ID
	return dep, putDoc(tx, kindDaemonDeployment, sc, d.key()+"/"+dep.ID, dep, now)
}

type daemonToken struct {
	Key       string    `json:"key"`
	CreatedAt time.Time `json:"createdAt"`
}

// CreateDaemon creates a daemon in a cluster for Managed Instances capacity
// providers, with its first revision and deployment.
func (s *Service) CreateDaemon(ctx context.Context, in *ecsapi.CreateDaemonInput) (*ecsapi.CreateDaemonOutput, error) {
	sc := scopeOf(ctx)
	name := deref(in.DaemonName)
	if !validName(name) {
		return nil, ecsapi.NewInvalidParameterException("Daemon name can have up to 255 characters: letters (uppercase and lowercase), numbers, underscores and hyphens.")
	}
	if err := checkDaemonConfig(in.DeploymentConfiguration); err != nil {
		return nil, err
	}
	if err := checkTagKeys(in.Tags); err != nil {
		return nil, err
	}
	var out *ecsapi.CreateDaemonOutput
	err := s.st.Update(ctx, func(tx store.Tx) error {
		c, err := lookupCluster(tx, sc, deref(in.ClusterArn))
		if err != nil {
			return err
		}
		token := deref(in.ClientToken)
		if token != "" {
			tok, err := getDoc[daemonToken](tx, kindDaemonToken, sc, c.Name+"/"+token)
			if err != nil {
				return err
			}
			if tok != nil {
				d, err := getDoc[daemonRecord](tx, kindDaemon, sc, tok.Key)
				if err != nil || d == nil {
					return err
				}
				out = &ecsapi.CreateDaemonOutput{DaemonArn: ptr(sc.daemonARN(d.Cluster, d.Name)), Status: ptr(ecsapi.DaemonStatus(d.Status)),
					CreatedAt: timestamp(d.CreatedAt), DeploymentArn: ptr(sc.daemonDeploymentARN(d.Cluster, d.Name, d.Deployment))}
				return nil
			}
		}
		old, err := getDoc[daemonRecord](tx, kindDaemon, sc, c.Name+"/"+name)
		if err != nil {
			return err
		}
		if old != nil && old.Status == string(ecsapi.DaemonStatusActive) {
			return ecsapi.NewInvalidParameterException("A daemon named %s already exists in cluster %s.", name, c.Name)
		}
		td, err := lookupDaemonTaskDef(tx, sc, deref(in.DaemonTaskDefinitionArn))
		if err != nil {
			return err
		}
		if td == nil || td.Status != string(ecsapi.DaemonTaskDefinitionStatusActive) {
			return ecsapi.NewClientException("The specified daemon task definition %s does not exist or is not ACTIVE.", deref(in.DaemonTaskDefinitionArn))
		}
		providers, err := checkDaemonProviders(tx, sc, c.Name, in.CapacityProviderArns)
		if err != nil {
			return err
		}
		now := s.clock()
		d := &daemonRecord{Name: name, Cluster: c.Name, Status: string(ecsapi.DaemonStatusActive), CapacityProviders: providers,
			Config: in.DeploymentConfiguration, Tags: in.Tags, CreatedAt: now, UpdatedAt: now}
		rev := newDaemonRevision(d, td, sc.daemonTaskDefARN(deref(td.Input.Family), td.Revision), string(deref(in.PropagateTags)),
			deref(in.EnableECSManagedTags), deref(in.EnableExecuteCommand), now)
		if err := putDoc(tx, kindDaemonRevision, sc, d.key()+"/"+rev.ID, rev, now); err != nil {
			return err
		}
		if _, err := deployDaemon(tx, sc, d, rev.ID, now); err != nil {
			return err
		}
		d.Revision = rev.ID
		if token != "" {
			if err := putDoc(tx, kindDaemonToken, sc, c.Name+"/"+token, &daemonToken{Key: d.key(), CreatedAt: now}, now); err != nil {
				return err
			}
		}
		out = &ecsapi.CreateDaemonOutput{DaemonArn: ptr(sc.daemonARN(d.Cluster, d.Name)), Status: ptr(ecsapi.DaemonStatusActive),
			CreatedAt: timestamp(now), DeploymentArn: ptr(sc.daemonDeploymentARN(d.Cluster, d.Name, d.Deployment))}
		return putDoc(tx, kindDaemon, sc, d.key(), d, now)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func daemonDetail(tx store.Tx, sc scope, d *daemonRecord) (*ecsapi.DaemonDetail, error) {
	out := &ecsapi.DaemonDetail{
		DaemonArn:        ptr(sc.daemonARN(d.Cluster, d.Name)),
		ClusterArn:       ptr(sc.clusterARN(d.Cluster)),
		Status:           ptr(ecsapi.DaemonStatus(d.Status)),
		DeploymentArn:    ptr(sc.daemonDeploymentARN(d.Cluster, d.Name, d.Deployment)),
		CreatedAt:        timestamp(d.CreatedAt),
		UpdatedAt:        timestamp(d.UpdatedAt),
		CurrentRevisions: []ecsapi.DaemonRevisionDetail{},
	}
	if d.Status == string(ecsapi.DaemonStatusActive) {
		rd := ecsapi.DaemonRevisionDetail{Arn: ptr(sc.daemonRevisionARN(d.Cluster, d.Name, d.Revision)), TotalRunningCount: ptr(int32(0)),
			CapacityProviders: []ecsapi.DaemonCapacityProvider{}}
		for _, p := range d.CapacityProviders {
			rd.CapacityProviders = append(rd.CapacityProviders, ecsapi.DaemonCapacityProvider{Arn: ptr(p), RunningCount: ptr(int32(0))})
		}
		out.CurrentRevisions = append(out.CurrentRevisions, rd)
	}
	return out, nil
}

// DescribeDaemon describes a daemon.
func (s *Service) DescribeDaemon(ctx context.Context, in *ecsapi.DescribeDaemonInput) (*ecsapi.DescribeDaemonOutput, error) {
	sc := scopeOf(ctx)
	var out *ecsapi.DaemonDetail
	err := s.st.View(ctx, func(tx store.Tx) error {
		d, err := lookupDaemon(tx, sc, deref(in.DaemonArn))
		if err != nil {
			return err
		}
		out, err = daemonDetail(tx, sc, d)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.DescribeDaemonOutput{Daemon: out}, nil
}

// ListDaemons lists daemons, of one cluster or all, optionally only those of
// some capacity providers.
func (s *Service) ListDaemons(ctx context.Context, in *ecsapi.ListDaemonsInput) (*ecsapi.ListDaemonsOutput, error) {
	sc := scopeOf(ctx)
	limit, after, err := pageParams(in.MaxResults, in.NextToken, 100, 100)
	if err != nil {
		return nil, err
	}
	var want []string
	for _, ref := range in.CapacityProviderArns {
		name, ok := providerRef(sc, ref)
		if !ok {
			return nil, ecsapi.NewInvalidParameterException("%s is not a capacity provider ARN of this account and region.", ref)
		}
		want = append(want, sc.capacityProviderARN(name))
	}
	out := &ecsapi.ListDaemonsOutput{DaemonSummariesList: []ecsapi.DaemonSummary{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		out.DaemonSummariesList, out.NextToken = out.DaemonSummariesList[:0], nil
		prefix := ""
		if in.ClusterArn != nil {
			c, err := lookupCluster(tx, sc, *in.ClusterArn)
			if err != nil {
				return err
			}
			prefix = c.Name + "/"
		}
		last := ""
		return listDocs(tx, kindDaemon, sc, prefix, after, func(id string, d *daemonRecord) (bool, error) {
			if len(want) > 0 && !slices.ContainsFunc(d.CapacityProviders, func(p string) bool { return slices.Contains(want, p) }) {
				return true, nil
			}
			if len(out.DaemonSummariesList) == limit {
				out.NextToken = encodeToken(last)
				return false, nil
			}
			out.DaemonSummariesList = append(out.DaemonSummariesList, ecsapi.DaemonSummary{
				DaemonArn: ptr(sc.daemonARN(d.Cluster, d.Name)), Status: ptr(ecsapi.DaemonStatus(d.Status)),
				CreatedAt: timestamp(d.CreatedAt), UpdatedAt: timestamp(d.UpdatedAt),
			})
			last = id
			return true, nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func errDaemonNotActive() error {
	return ecsapi.NewDaemonNotActiveException("The specified daemon is not ACTIVE.")
}

// UpdateDaemon makes a new revision from the daemon's current one with the
// changes given, and deploys it.
func (s *Service) UpdateDaemon(ctx context.Context, in *ecsapi.UpdateDaemonInput) (*ecsapi.UpdateDaemonOutput, error) {
	sc := scopeOf(ctx)
	if err := checkDaemonConfig(in.DeploymentConfiguration); err != nil {
		return nil, err
	}
	var out *ecsapi.UpdateDaemonOutput
	err := s.st.Update(ctx, func(tx store.Tx) error {
		d, err := lookupDaemon(tx, sc, deref(in.DaemonArn))
		if err != nil {
			return err
		}
		if d.Status != string(ecsapi.DaemonStatusActive) {
			return errDaemonNotActive()
		}
		cur, err := getDoc[daemonRevisionRecord](tx, kindDaemonRevision, sc, d.key()+"/"+d.Revision)
		if err != nil {
			return err
		}
		if cur == nil {
			cur = &daemonRevisionRecord{}
		}
		tdRef := cur.TaskDefinitionArn
		if in.DaemonTaskDefinitionArn != nil {
			tdRef = *in.DaemonTaskDefinitionArn
		}
		td, err := lookupDaemonTaskDef(tx, sc, tdRef)
		if err != nil {
			return err
		}
		if td == nil || (in.DaemonTaskDefinitionArn != nil && td.Status != string(ecsapi.DaemonTaskDefinitionStatusActive)) {
			return ecsapi.NewClientException("The specified daemon task definition %s does not exist or is not ACTIVE.", tdRef)
		}
		if in.CapacityProviderArns != nil {
			if d.CapacityProviders, err = checkDaemonProviders(tx, sc, d.Cluster, in.CapacityProviderArns); err != nil {
				return err
			}
		}
		if in.DeploymentConfiguration != nil {
			d.Config = in.DeploymentConfiguration
		}
		propagate, managed, exec := cur.PropagateTags, cur.EnableECSManagedTags, cur.EnableExecuteCommand
		if in.PropagateTags != nil {
			propagate = string(*in.PropagateTags)
		}
		if in.EnableECSManagedTags != nil {
			managed = *in.EnableECSManagedTags
		}
		if in.EnableExecuteCommand != nil {
			exec = *in.EnableExecuteCommand
		}
		now := s.clock()
		rev := newDaemonRevision(d, td, sc.daemonTaskDefARN(deref(td.Input.Family), td.Revision), propagate, managed, exec, now)
		if err := putDoc(tx, kindDaemonRevision, sc, d.key()+"/"+rev.ID, rev, now); err != nil {
			return err
		}
		if _, err := deployDaemon(tx, sc, d, rev.ID, now); err != nil {
			return err
		}
		d.Revision, d.UpdatedAt = rev.ID, now
		out = &ecsapi.UpdateDaemonOutput{DaemonArn: ptr(sc.daemonARN(d.Cluster, d.Name)), Status: ptr(ecsapi.DaemonStatusActive),
			CreatedAt: timestamp(d.CreatedAt), UpdatedAt: timestamp(now), DeploymentArn: ptr(sc.daemonDeploymentARN(d.Cluster, d.Name, d.Deployment))}
		return putDoc(tx, kindDaemon, sc, d.key(), d, now)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteDaemon deletes an ACTIVE daemon: DELETE_IN_PROGRESS, with a
// deployment that takes its revision away.
func (s *Service) DeleteDaemon(ctx context.Context, in *ecsapi.DeleteDaemonInput) (*ecsapi.DeleteDaemonOutput, error) {
	sc := scopeOf(ctx)
	var out *ecsapi.DeleteDaemonOutput
	err := s.st.Update(ctx, func(tx store.Tx) error {
		d, err := lookupDaemon(tx, sc, deref(in.DaemonArn))
		if err != nil {
			return err
		}
		if d.Status != string(ecsapi.DaemonStatusActive) {
			return errDaemonNotActive()
		}
		now := s.clock()
		if _, err := deployDaemon(tx, sc, d, "", now); err != nil {
			return err
		}
		d.Status, d.UpdatedAt = string(ecsapi.DaemonStatusDeleteInProgress), now
		out = &ecsapi.DeleteDaemonOutput{DaemonArn: ptr(sc.daemonARN(d.Cluster, d.Name)), Status: ptr(ecsapi.DaemonStatusDeleteInProgress),
			CreatedAt: timestamp(d.CreatedAt), UpdatedAt: timestamp(now), DeploymentArn: ptr(sc.daemonDeploymentARN(d.Cluster, d.Name, d.Deployment))}
		return putDoc(tx, kindDaemon, sc, d.key(), d, now)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// activeDaemonUses reports whether an ACTIVE daemon deploys to the
// capacity provider, which keeps the provider from being deleted.
func activeDaemonUses(tx store.Tx, sc scope, providerARN string) (bool, error) {
	found := false
	err := listDocs(tx, kindDaemon, sc, "", "", func(_ string, d *daemonRecord) (bool, error) {
		found = d.Status == string(ecsapi.DaemonStatusActive) && slices.Contains(d.CapacityProviders, providerARN)
		return !found, nil
	})
	return found, err
}

// ---- revisions and deployments ----

func revisionDetail(sc scope, tx store.Tx, key string) (*ecsapi.DaemonDeploymentRevisionDetail, error) {
	rev, err := getDoc[daemonRevisionRecord](tx, kindDaemonRevision, sc, key)
	if err != nil || rev == nil {
		return nil, err
	}
	out := &ecsapi.DaemonDeploymentRevisionDetail{Arn: ptr(sc.daemonRevisionARN(rev.Cluster, rev.Daemon, rev.ID)),
		TotalRunningInstanceCount: ptr(int32(0)), TotalDrainingInstanceCount: ptr(int32(0)), CapacityProviders: []ecsapi.DaemonDeploymentCapacityProvider{}}
	for _, p := range rev.CapacityProviders {
		out.CapacityProviders = append(out.CapacityProviders, ecsapi.DaemonDeploymentCapacityProvider{Arn: ptr(p),
			RunningInstanceCount: ptr(int32(0)), DrainingInstanceCount: ptr(int32(0))})
	}
	return out, nil
}

func deploymentOutput(tx store.Tx, sc scope, dep *daemonDeploymentRecord) (ecsapi.DaemonDeployment, error) {
	prefix := dep.Cluster + "/" + dep.Daemon + "/"
	out := ecsapi.DaemonDeployment{
		DaemonDeploymentArn:     ptr(sc.daemonDeploymentARN(dep.Cluster, dep.Daemon, dep.ID)),
		ClusterArn:              ptr(sc.clusterARN(dep.Cluster)),
		Status:                  ptr(ecsapi.DaemonDeploymentStatus(dep.Status)),
		StatusReason:            nonEmpty(dep.StatusReason),
		DeploymentConfiguration: dep.Config,
		CircuitBreaker:          &ecsapi.DaemonCircuitBreaker{Status: ptr(ecsapi.DaemonDeploymentRollbackMonitorsStatusMonitoringComplete), FailureCount: ptr(int32(0)), Threshold: ptr(int32(0))},
		SourceDaemonRevisions:   []ecsapi.DaemonDeploymentRevisionDetail{},
		CreatedAt:               timestamp(dep.CreatedAt),
		StartedAt:               timestamp(dep.StartedAt),
		StoppedAt:               timestamp(dep.StoppedAt),
		FinishedAt:              timestamp(dep.FinishedAt),
	}
	if dep.Target != "" {
		t, err := revisionDetail(sc, tx, prefix+dep.Target)
		if err != nil {
			return out, err
		}
		out.TargetDaemonRevision = t
	}
	for _, src := range dep.Sources {
		r, err := revisionDetail(sc, tx, prefix+src)
		if err != nil {
			return out, err
		}
		if r != nil {
			r.TotalRunningInstanceCount = ptr(int32(0))
			out.SourceDaemonRevisions = append(out.SourceDaemonRevisions, *r)
		}
	}
	return out, nil
}

// DescribeDaemonDeployments describes deployments by ARN (up to 20).
func (s *Service) DescribeDaemonDeployments(ctx context.Context, in *ecsapi.DescribeDaemonDeploymentsInput) (*ecsapi.DescribeDaemonDeploymentsOutput, error) {
	deps, failures, err := describeByARN(ctx, s, kindDaemonDeployment, "daemonDeploymentArns", in.DaemonDeploymentArns,
		daemonChildKey("daemon-deployment"), deploymentOutput)
	if err != nil {
		return nil, err
	}
	return &ecsapi.DescribeDaemonDeploymentsOutput{DaemonDeployments: deps, Failures: failures}, nil
}

// ListDaemonDeployments lists a daemon's deployments, newest first.
func (s *Service) ListDaemonDeployments(ctx context.Context, in *ecsapi.ListDaemonDeploymentsInput) (*ecsapi.ListDaemonDeploymentsOutput, error) {
	sc := scopeOf(ctx)
	limit, after, err := pageParams(in.MaxResults, in.NextToken, 20, 100)
	if err != nil {
		return nil, err
	}
	var deps []*daemonDeploymentRecord
	var d *daemonRecord
	err = s.st.View(ctx, func(tx store.Tx) error {
		deps = deps[:0]
		var err error
		if d, err = lookupDaemon(tx, sc, deref(in.DaemonArn)); err != nil {
			return err
		}
		return listDocs(tx, kindDaemonDeployment, sc, d.key()+"/", "", func(_ string, dep *daemonDeploymentRecord) (bool, error) {
			if len(in.Status) > 0 && !slices.Contains(in.Status, ecsapi.DaemonDeploymentStatus(dep.Status)) {
				return true, nil
			}
			if ca := in.CreatedAt; ca != nil {
				if ca.Before != nil && !dep.CreatedAt.Before(ca.Before.Time) {
					return true, nil
				}
				if ca.After != nil && !dep.CreatedAt.After(ca.After.Time) {
					return true, nil
				}
			}
			deps = append(deps, dep)
			return true, nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(deps, func(a, b *daemonDeploymentRecord) int { return b.CreatedAt.Compare(a.CreatedAt) })
	out := &ecsapi.ListDaemonDeploymentsOutput{DaemonDeployments: []ecsapi.DaemonDeploymentSummary{}}
	started := after == ""
	last := ""
	for _, dep := range deps {
		if !started {
			started = dep.ID == after
			continue
		}
		if len(out.DaemonDeployments) == limit {
			out.NextToken = encodeToken(last)
			break
		}
		sum := ecsapi.DaemonDeploymentSummary{
			DaemonDeploymentArn: ptr(sc.daemonDeploymentARN(dep.Cluster, dep.Daemon, dep.ID)),
			DaemonArn:           ptr(sc.daemonARN(dep.Cluster, dep.Daemon)),
			ClusterArn:          ptr(sc.clusterARN(dep.Cluster)),
			Status:              ptr(ecsapi.DaemonDeploymentStatus(dep.Status)),
			StatusReason:        nonEmpty(dep.StatusReason),
			CreatedAt:           timestamp(dep.CreatedAt),
			StartedAt:           timestamp(dep.StartedAt),
			StoppedAt:           timestamp(dep.StoppedAt),
			FinishedAt:          timestamp(dep.FinishedAt),
		}
		if dep.Target != "" {
			sum.TargetDaemonRevisionArn = ptr(sc.daemonRevisionARN(dep.Cluster, dep.Daemon, dep.Target))
		}
		out.DaemonDeployments = append(out.DaemonDeployments, sum)
		last = dep.ID
	}
	return out, nil
}

// DescribeDaemonRevisions describes revisions by ARN (up to 20).
func (s *Service) DescribeDaemonRevisions(ctx context.Context, in *ecsapi.DescribeDaemonRevisionsInput) (*ecsapi.DescribeDaemonRevisionsOutput, error) {
	revs, failures, err := describeByARN(ctx, s, kindDaemonRevision, "daemonRevisionArns", in.DaemonRevisionArns,
		daemonChildKey("daemon-revision"),
		func(_ store.Tx, sc scope, rev *daemonRevisionRecord) (ecsapi.DaemonRevision, error) {
			r := ecsapi.DaemonRevision{
				DaemonRevisionArn:       ptr(sc.daemonRevisionARN(rev.Cluster, rev.Daemon, rev.ID)),
				ClusterArn:              ptr(sc.clusterARN(rev.Cluster)),
				DaemonArn:               ptr(sc.daemonARN(rev.Cluster, rev.Daemon)),
				DaemonTaskDefinitionArn: ptr(rev.TaskDefinitionArn),
				CreatedAt:               timestamp(rev.CreatedAt),
				ContainerImages:         nonNil(rev.ContainerImages),
				EnableECSManagedTags:    ptr(rev.EnableECSManagedTags),
				EnableExecuteCommand:    ptr(rev.EnableExecuteCommand),
			}
			if rev.PropagateTags != "" {
				r.PropagateTags = ptr(ecsapi.DaemonPropagateTags(rev.PropagateTags))
			}
			return r, nil
		})
	if err != nil {
		return nil, err
	}
	return &ecsapi.DescribeDaemonRevisionsOutput{DaemonRevisions: revs, Failures: failures}, nil
}

// daemonTaggable is findTaggable for daemon and daemon task definition ARNs.
func daemonTaggable(tx store.Tx, sc scope, p parsedARN, arn string, now time.Time) (*taggable, error) {
	if p.kind == "daemon" {
		d, err := lookupDaemon(tx, sc, arn)
		if err != nil {
			return nil, err
		}
		return &taggable{&d.Tags, func() error { return putDoc(tx, kindDaemon, sc, d.key(), d, now) }}, nil
	}
	r, err := lookupDaemonTaskDef(tx, sc, arn)
	if err != nil {
		return nil, err
	}
	if r == nil || !strings.Contains(p.rest, ":") {
		return nil, ecsapi.NewResourceNotFoundException("The specified daemon task definition does not exist.")
	}
	return &taggable{&r.Tags, func() error {
		return putDoc(tx, kindDaemonTaskDef, sc, taskDefKey(deref(r.Input.Family), r.Revision), r, now)
	}}, nil
}
