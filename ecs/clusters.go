package ecs

import (
	"context"
	"slices"
	"strconv"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// The capacity providers every cluster can use; Fargate ones run on the
// local host. Custom providers are records (capacityproviders.go).
var builtinProviders = []string{"FARGATE", "FARGATE_SPOT"}

func errClusterNotFound() error { return ecsapi.NewClusterNotFoundException("Cluster not found.") }

// lookupCluster returns the ACTIVE cluster ref names. A missing cluster, or
// one that was deleted, is ClusterNotFoundException, as on AWS.
func lookupCluster(tx store.Tx, sc scope, ref string) (*clusterRecord, error) {
	name, ok := clusterRef(sc, ref)
	if !ok {
		return nil, errClusterNotFound()
	}
	c, err := getDoc[clusterRecord](tx, kindCluster, sc, name)
	if err != nil {
		return nil, err
	}
	if c == nil || c.Status != statusActive {
		return nil, errClusterNotFound()
	}
	return c, nil
}

// clusterForWrite is lookupCluster for operations that may bring the
// default cluster into being: a call that names no cluster uses "default",
// which is created on first use.
func (s *Service) clusterForWrite(tx store.Tx, sc scope, ref string) (*clusterRecord, error) {
	if ref != "" && ref != defaultCluster {
		return lookupCluster(tx, sc, ref)
	}
	c, err := getDoc[clusterRecord](tx, kindCluster, sc, defaultCluster)
	if err != nil {
		return nil, err
	}
	if c != nil && c.Status == statusActive {
		return c, nil
	}
	return s.createClusterTx(tx, sc, sc.rootPrincipal(), &ecsapi.CreateClusterInput{ClusterName: ptr(defaultCluster)})
}

// createClusterTx creates (or re-creates, when it was deleted) a cluster,
// registering the local host as its first container instance. principal is
// the creator, whose containerInsights account setting applies when in sets
// none.
func (s *Service) createClusterTx(tx store.Tx, sc scope, principal string, in *ecsapi.CreateClusterInput) (*clusterRecord, error) {
	now := s.clock()
	name := deref(in.ClusterName)
	insights, err := insightsDefault(tx, sc, principal)
	if err != nil {
		return nil, err
	}
	c := &clusterRecord{
		Name:                   name,
		Status:                 statusActive,
		CreatedAt:              now,
		Tags:                   in.Tags,
		Settings:               mergeSettings([]ecsapi.ClusterSetting{{Name: ptr(ecsapi.ClusterSettingNameContainerInsights), Value: ptr(insights)}}, in.Settings),
		Configuration:          in.Configuration,
		CapacityProviders:      in.CapacityProviders,
		DefaultStrategy:        in.DefaultCapacityProviderStrategy,
		ServiceConnectDefaults: connectDefaults(in.ServiceConnectDefaults),
	}
	if s.localInst {
		if err := s.registerLocalInstance(tx, sc, c, now); err != nil {
			return nil, err
		}
	}
	if err := putDoc(tx, kindScope, global, sc.account+"/"+sc.region, struct{}{}, now); err != nil {
		return nil, err
	}
	if err := putDoc(tx, kindCluster, sc, name, c, now); err != nil {
		return nil, err
	}
	return c, nil
}

func connectDefaults(r *ecsapi.ClusterServiceConnectDefaultsRequest) *ecsapi.ClusterServiceConnectDefaults {
	if r == nil || deref(r.Namespace) == "" {
		return nil
	}
	return &ecsapi.ClusterServiceConnectDefaults{Namespace: r.Namespace}
}

// mergeSettings sets each of upd in base, by name.
func mergeSettings(base, upd []ecsapi.ClusterSetting) []ecsapi.ClusterSetting {
	out := slices.Clone(base)
	for _, u := range upd {
		i := slices.IndexFunc(out, func(b ecsapi.ClusterSetting) bool { return deref(b.Name) == deref(u.Name) })
		if i >= 0 {
			out[i] = u
		} else {
			out = append(out, u)
		}
	}
	return out
}

func checkSettings(settings []ecsapi.ClusterSetting) error {
	for _, st := range settings {
		switch deref(st.Value) {
		case "enabled", "disabled", "enhanced":
		default:
			return ecsapi.NewInvalidParameterException("Invalid value '%s' for setting containerInsights. Valid values are enabled, enhanced and disabled.", deref(st.Value))
		}
	}
	return nil
}

// checkCapacityProviders validates a provider list and default strategy as
// PutClusterCapacityProviders and CreateCluster do; whether custom
// providers exist is checkClusterProviders', in the transaction.
func checkCapacityProviders(providers []string, strategy []ecsapi.CapacityProviderStrategyItem) error {
	seen := map[string]bool{}
	for _, p := range providers {
		if !slices.Contains(builtinProviders, p) && !validName(p) {
			return ecsapi.NewInvalidParameterException("The specified capacity provider '%s' does not exist. Specify a valid capacity provider and try again.", p)
		}
		if seen[p] {
			return ecsapi.NewInvalidParameterException("The specified capacity providers contain a duplicate: %s.", p)
		}
		seen[p] = true
	}
	return checkStrategy(strategy, providers)
}

func checkStrategy(strategy []ecsapi.CapacityProviderStrategyItem, providers []string) error {
	bases, weight := 0, int32(0)
	seen := map[string]bool{}
	for _, it := range strategy {
		p := deref(it.CapacityProvider)
		if !slices.Contains(providers, p) {
			return ecsapi.NewInvalidParameterException("The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.")
		}
		if seen[p] {
			return ecsapi.NewInvalidParameterException("The specified capacity provider strategy cannot contain duplicate capacity providers.")
		}
		seen[p] = true
		if deref(it.Base) > 0 {
			bases++
		}
		weight += deref(it.Weight)
	}
	if bases > 1 {
		return ecsapi.NewInvalidParameterException("The specified capacity provider strategy cannot contain more than one capacity provider with a base value defined.")
	}
	fargate := slices.ContainsFunc(strategy, func(it ecsapi.CapacityProviderStrategyItem) bool {
		return isBuiltinProvider(deref(it.CapacityProvider))
	})
	custom := slices.ContainsFunc(strategy, func(it ecsapi.CapacityProviderStrategyItem) bool {
		return !isBuiltinProvider(deref(it.CapacityProvider))
	})
	if fargate && custom {
		return ecsapi.NewInvalidParameterException("The specified capacity provider strategy cannot contain a mix of capacity providers using Auto Scaling groups and Fargate providers. Specify one or the other and try again.")
	}
	if len(strategy) > 0 && weight == 0 {
		return ecsapi.NewInvalidParameterException("The specified capacity provider strategy must contain at least one capacity provider with a weight value greater than 0.")
	}
	return nil
}

// mutationFields are the optional parts the outputs of CreateCluster,
// UpdateCluster, DeleteCluster ... show: what the call may have changed.
var mutationFields = []ecsapi.ClusterField{ecsapi.ClusterFieldSettings, ecsapi.ClusterFieldTags,
	ecsapi.ClusterFieldConfigurations, ecsapi.ClusterFieldAttachments}

// clusterOutput builds the API shape; include selects the optional parts
// as DescribeClusters' include does.
func clusterOutput(sc scope, c *clusterRecord, include []ecsapi.ClusterField) ecsapi.Cluster {
	has := func(f ecsapi.ClusterField) bool { return slices.Contains(include, f) }
	out := ecsapi.Cluster{
		ClusterArn:                        ptr(sc.clusterARN(c.Name)),
		ClusterName:                       ptr(c.Name),
		Status:                            ptr(c.Status),
		RegisteredContainerInstancesCount: ptr(int32(c.Stats.Instances)),
		RunningTasksCount:                 ptr(int32(sum(c.Stats.Running))),
		PendingTasksCount:                 ptr(int32(sum(c.Stats.Pending))),
		ActiveServicesCount:               ptr(int32(sum(c.Stats.ActiveServices))),
		Statistics:                        []ecsapi.KeyValuePair{},
		Tags:                              []ecsapi.Tag{},
		Settings:                          []ecsapi.ClusterSetting{},
		CapacityProviders:                 nonNil(c.CapacityProviders),
		DefaultCapacityProviderStrategy:   nonNil(c.DefaultStrategy),
		ServiceConnectDefaults:            c.ServiceConnectDefaults,
	}
	if has(ecsapi.ClusterFieldSettings) {
		out.Settings = nonNil(c.Settings)
	}
	if has(ecsapi.ClusterFieldTags) {
		out.Tags = nonNil(c.Tags)
	}
	if has(ecsapi.ClusterFieldStatistics) {
		out.Statistics = clusterStatistics(&c.Stats)
	}
	if has(ecsapi.ClusterFieldConfigurations) {
		out.Configuration = c.Configuration
	}
	if has(ecsapi.ClusterFieldAttachments) {
		out.Attachments = []ecsapi.Attachment{}
		if len(c.CapacityProviders) > 0 {
			out.AttachmentsStatus = ptr("UPDATE_COMPLETE")
		}
	}
	return out
}

// clusterStatistics are the per-launch-type counters, named as AWS names
// them.
func clusterStatistics(st *clusterStats) []ecsapi.KeyValuePair {
	kv := func(name string, n int) ecsapi.KeyValuePair {
		return ecsapi.KeyValuePair{Name: ptr(name), Value: ptr(strconv.Itoa(n))}
	}
	return []ecsapi.KeyValuePair{
		kv("runningEC2TasksCount", st.Running[launchEC2]),
		kv("runningFargateTasksCount", st.Running[launchFargate]),
		kv("pendingEC2TasksCount", st.Pending[launchEC2]),
		kv("pendingFargateTasksCount", st.Pending[launchFargate]),
		kv("runningExternalTasksCount", st.Running[launchExternal]),
		kv("pendingExternalTasksCount", st.Pending[launchExternal]),
		kv("activeEC2ServiceCount", st.ActiveServices[launchEC2]),
		kv("activeFargateServiceCount", st.ActiveServices[launchFargate]),
		kv("drainingEC2ServiceCount", st.DrainingServices[launchEC2]),
		kv("drainingFargateServiceCount", st.DrainingServices[launchFargate]),
		kv("activeExternalServiceCount", st.ActiveServices[launchExternal]),
		kv("drainingExternalServiceCount", st.DrainingServices[launchExternal]),
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// CreateCluster creates a cluster, or returns the ACTIVE cluster of that
// name unchanged, as AWS does.
func (s *Service) CreateCluster(ctx context.Context, in *ecsapi.CreateClusterInput) (*ecsapi.CreateClusterOutput, error) {
	sc := scopeOf(ctx)
	if in.ClusterName == nil {
		in.ClusterName = ptr(defaultCluster)
	}
	if !validName(*in.ClusterName) {
		return nil, ecsapi.NewInvalidParameterException("Cluster name can have up to 255 characters: letters (uppercase and lowercase), numbers, underscores and hyphens.")
	}
	if err := checkSettings(in.Settings); err != nil {
		return nil, err
	}
	if err := checkCapacityProviders(in.CapacityProviders, in.DefaultCapacityProviderStrategy); err != nil {
		return nil, err
	}
	if err := checkTagKeys(in.Tags); err != nil {
		return nil, err
	}
	var out ecsapi.Cluster
	err := s.st.Update(ctx, func(tx store.Tx) error {
		c, err := getDoc[clusterRecord](tx, kindCluster, sc, *in.ClusterName)
		if err != nil {
			return err
		}
		if c == nil || c.Status != statusActive {
			if err := checkClusterProviders(tx, sc, *in.ClusterName, in.CapacityProviders); err != nil {
				return err
			}
			if c, err = s.createClusterTx(tx, sc, callerPrincipal(ctx, sc), in); err != nil {
				return err
			}
		}
		out = clusterOutput(sc, c, mutationFields)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.CreateClusterOutput{Cluster: &out}, nil
}

// DescribeClusters describes clusters, deleted ones as INACTIVE; unknown
// names are failures with reason MISSING.
func (s *Service) DescribeClusters(ctx context.Context, in *ecsapi.DescribeClustersInput) (*ecsapi.DescribeClustersOutput, error) {
	sc := scopeOf(ctx)
	refs := in.Clusters
	if len(refs) == 0 {
		refs = []string{defaultCluster}
	}
	if len(refs) > 100 {
		return nil, ecsapi.NewInvalidParameterException("clusters can have at most 100 items.")
	}
	include := in.Include
	if include == nil {
		include = []ecsapi.ClusterField{}
	}
	out := &ecsapi.DescribeClustersOutput{Clusters: []ecsapi.Cluster{}, Failures: []ecsapi.Failure{}}
	err := s.st.View(ctx, func(tx store.Tx) error {
		out.Clusters, out.Failures = out.Clusters[:0], out.Failures[:0]
		for _, ref := range refs {
			name, ok := clusterRef(sc, ref)
			var c *clusterRecord
			if ok {
				var err error
				if c, err = getDoc[clusterRecord](tx, kindCluster, sc, name); err != nil {
					return err
				}
			}
			if c == nil {
				arn := ref
				if ok {
					arn = sc.clusterARN(name)
				}
				out.Failures = append(out.Failures, ecsapi.Failure{Arn: ptr(arn), Reason: ptr("MISSING")})
				continue
			}
			out.Clusters = append(out.Clusters, clusterOutput(sc, c, include))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListClusters lists the ACTIVE clusters in name order.
func (s *Service) ListClusters(ctx context.Context, in *ecsapi.ListClustersInput) (*ecsapi.ListClustersOutput, error) {
	sc := scopeOf(ctx)
	limit, err := pageSize(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &ecsapi.ListClustersOutput{ClusterArns: []string{}}
	err = s.st.View(ctx, func(tx store.Tx) error {
		out.ClusterArns, out.NextToken = out.ClusterArns[:0], nil
		return listDocs(tx, kindCluster, sc, "", after, func(id string, c *clusterRecord) (bool, error) {
			if c.Status != statusActive {
				return true, nil
			}
			if len(out.ClusterArns) == limit {
				out.NextToken = encodeToken(lastName(out.ClusterArns))
				return false, nil
			}
			out.ClusterArns = append(out.ClusterArns, sc.clusterARN(id))
			return true, nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// lastName is the name at the end of the last ARN of a page.
func lastName(arns []string) string {
	last := arns[len(arns)-1]
	for i := len(last) - 1; i >= 0; i-- {
		if last[i] == '/' {
			return last[i+1:]
		}
	}
	return last
}

// DeleteCluster marks a cluster INACTIVE. It refuses while services, tasks
// or container instances other than the local host's are active, with AWS's
// exceptions; the local host's instance is deregistered with the cluster.
func (s *Service) DeleteCluster(ctx context.Context, in *ecsapi.DeleteClusterInput) (*ecsapi.DeleteClusterOutput, error) {
	sc := scopeOf(ctx)
	var out ecsapi.Cluster
	err := s.st.Update(ctx, func(tx store.Tx) error {
		c, err := lookupCluster(tx, sc, deref(in.Cluster))
		if err != nil {
			return err
		}
		if sum(c.Stats.ActiveServices)+sum(c.Stats.DrainingServices) > 0 {
			return ecsapi.NewClusterContainsServicesException("The Cluster cannot be deleted while Services are active.")
		}
		if c.Stats.Active > 0 {
			return ecsapi.NewClusterContainsTasksException("The Cluster cannot be deleted while Tasks are active.")
		}
		if c.Stats.Remote > 0 {
			return ecsapi.NewClusterContainsContainerInstancesException("The Cluster cannot be deleted while Container Instances are active or draining.")
		}
		if scoped, err := clusterScopedProviders(tx, sc, c.Name); err != nil || scoped {
			if err != nil {
				return err
			}
			return ecsapi.NewClusterContainsCapacityProviderException("The Cluster cannot be deleted while Cluster Scoped Capacity Providers are attached to the cluster.")
		}
		now := s.clock()
		err = listDocs(tx, kindInstance, sc, c.Name+"/", "", func(_ string, in *instanceRecord) (bool, error) {
			if in.Status == statusInactive {
				return true, nil
			}
			in.Status, in.AgentConnected = statusInactive, false
			in.Version++
			c.Stats.Instances--
			return true, putDoc(tx, kindInstance, sc, instanceKey(in.Cluster, in.ID), in, now)
		})
		if err != nil {
			return err
		}
		c.Stats.Instances = max(0, c.Stats.Instances)
		c.Status, c.DeletedAt = statusInactive, now
		out = clusterOutput(sc, c, mutationFields)
		return putDoc(tx, kindCluster, sc, c.Name, c, now)
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.DeleteClusterOutput{Cluster: &out}, nil
}

// updateCluster runs change on an ACTIVE cluster in one transaction and
// returns the result.
func (s *Service) updateCluster(ctx context.Context, ref string, change func(tx store.Tx, c *clusterRecord) error) (*ecsapi.Cluster, error) {
	sc := scopeOf(ctx)
	var out ecsapi.Cluster
	err := s.st.Update(ctx, func(tx store.Tx) error {
		c, err := lookupCluster(tx, sc, ref)
		if err != nil {
			return err
		}
		if err := change(tx, c); err != nil {
			return err
		}
		out = clusterOutput(sc, c, mutationFields)
		return putDoc(tx, kindCluster, sc, c.Name, c, s.clock())
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateCluster changes settings, the execute command configuration and the
// Service Connect defaults.
func (s *Service) UpdateCluster(ctx context.Context, in *ecsapi.UpdateClusterInput) (*ecsapi.UpdateClusterOutput, error) {
	if err := checkSettings(in.Settings); err != nil {
		return nil, err
	}
	c, err := s.updateCluster(ctx, deref(in.Cluster), func(_ store.Tx, c *clusterRecord) error {
		c.Settings = mergeSettings(c.Settings, in.Settings)
		if in.Configuration != nil {
			c.Configuration = in.Configuration
		}
		if in.ServiceConnectDefaults != nil {
			c.ServiceConnectDefaults = connectDefaults(in.ServiceConnectDefaults)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.UpdateClusterOutput{Cluster: c}, nil
}

// UpdateClusterSettings changes cluster settings (containerInsights).
func (s *Service) UpdateClusterSettings(ctx context.Context, in *ecsapi.UpdateClusterSettingsInput) (*ecsapi.UpdateClusterSettingsOutput, error) {
	if err := checkSettings(in.Settings); err != nil {
		return nil, err
	}
	c, err := s.updateCluster(ctx, deref(in.Cluster), func(_ store.Tx, c *clusterRecord) error {
		c.Settings = mergeSettings(c.Settings, in.Settings)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.UpdateClusterSettingsOutput{Cluster: c}, nil
}

// PutClusterCapacityProviders replaces the cluster's capacity providers and
// default strategy. A provider that active tasks use cannot be removed.
func (s *Service) PutClusterCapacityProviders(ctx context.Context, in *ecsapi.PutClusterCapacityProvidersInput) (*ecsapi.PutClusterCapacityProvidersOutput, error) {
	if err := checkCapacityProviders(in.CapacityProviders, in.DefaultCapacityProviderStrategy); err != nil {
		return nil, err
	}
	sc := scopeOf(ctx)
	c, err := s.updateCluster(ctx, deref(in.Cluster), func(tx store.Tx, c *clusterRecord) error {
		if err := checkClusterProviders(tx, sc, c.Name, in.CapacityProviders); err != nil {
			return err
		}
		var removed []string
		for _, p := range c.CapacityProviders {
			if !slices.Contains(in.CapacityProviders, p) {
				removed = append(removed, p)
			}
		}
		if len(removed) > 0 && c.Stats.Active > 0 {
			inUse := ""
			err := listTasks(tx, sc, c.Name, store.ECSTaskFilter{}, "", func(t *taskRecord) (bool, error) {
				if active(phaseOf(t)) && slices.Contains(removed, t.CapacityProviderName) {
					inUse = t.CapacityProviderName
					return false, nil
				}
				return true, nil
			})
			if err != nil {
				return err
			}
			if inUse != "" {
				return ecsapi.NewResourceInUseException("The specified capacity provider %s is in use and cannot be removed.", inUse)
			}
		}
		c.CapacityProviders = in.CapacityProviders
		c.DefaultStrategy = in.DefaultCapacityProviderStrategy
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.PutClusterCapacityProvidersOutput{Cluster: c}, nil
}

// timestamp converts a stored time to the wire, nil when unset.
func timestamp(t time.Time) *awsapi.Timestamp {
	if t.IsZero() {
		return nil
	}
	return awsapi.Time(t)
}
