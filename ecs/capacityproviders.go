package ecs

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/store"
)

// Capacity providers: the built-in FARGATE and FARGATE_SPOT, which exist in
// every scope and are not stored, and the ones users create (Auto Scaling
// group providers, and Managed Instances providers that belong to one
// cluster). Berth has no Auto Scaling: a provider is a named record that
// clusters and strategies refer to; its tasks run on the cluster's
// container instances like EC2 tasks.
const kindCapacityProvider = "ecs.capacityprovider" // id: provider name

type capacityProviderRecord struct {
	Name               string                           `json:"name"`
	Type               string                           `json:"type"`
	Cluster            string                           `json:"cluster,omitempty"` // Managed Instances providers only
	Status             string                           `json:"status"`
	UpdateStatus       string                           `json:"updateStatus,omitempty"`
	UpdateStatusReason string                           `json:"updateStatusReason,omitempty"`
	ASG                *ecsapi.AutoScalingGroupProvider `json:"asg,omitempty"`
	ManagedInstances   *ecsapi.ManagedInstancesProvider `json:"managedInstances,omitempty"`
	Tags               []ecsapi.Tag                     `json:"tags,omitempty"`
	CreatedAt          time.Time                        `json:"createdAt"`
}

var (
	asgARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:autoscaling:[a-z0-9-]+:\d{12}:autoScalingGroup:[0-9a-fA-F-]+:autoScalingGroupName/[^:]{1,255}$`)
	asgNameRule   = regexp.MustCompile(`^[^:]{1,255}$`)
)

func isBuiltinProvider(name string) bool { return slices.Contains(builtinProviders, name) }

func (sc scope) capacityProviderARN(name string) string { return sc.arn("capacity-provider/" + name) }

// providerRef resolves a capacity provider name or ARN to its name.
func providerRef(sc scope, ref string) (string, bool) {
	if !strings.HasPrefix(ref, "arn:") {
		return ref, ref != ""
	}
	p, ok := parseARN(ref)
	if !ok || p.kind != "capacity-provider" || !p.inScope(sc) || strings.Contains(p.rest, "/") {
		return "", false
	}
	return p.rest, true
}

func errProviderNotFound() error {
	return ecsapi.NewClientException("The specified capacity provider does not exist. Specify a valid name or ARN and try again.")
}

// lookupProvider finds a stored provider that is not INACTIVE.
func lookupProvider(tx store.Tx, sc scope, ref string) (*capacityProviderRecord, error) {
	name, ok := providerRef(sc, ref)
	if !ok {
		return nil, nil
	}
	r, err := getDoc[capacityProviderRecord](tx, kindCapacityProvider, sc, name)
	if err != nil || r == nil || r.Status == string(ecsapi.CapacityProviderStatusInactive) {
		return nil, err
	}
	return r, nil
}

func builtinProviderOutput(sc scope, name string, withTags bool) ecsapi.CapacityProvider {
	out := ecsapi.CapacityProvider{
		CapacityProviderArn: ptr(sc.capacityProviderARN(name)),
		Name:                ptr(name),
		Status:              ptr(ecsapi.CapacityProviderStatusActive),
		Type:                ptr(ecsapi.CapacityProviderType(name)),
	}
	if withTags {
		out.Tags = []ecsapi.Tag{}
	}
	return out
}

func providerOutput(sc scope, r *capacityProviderRecord, withTags bool) ecsapi.CapacityProvider {
	out := ecsapi.CapacityProvider{
		CapacityProviderArn:      ptr(sc.capacityProviderARN(r.Name)),
		Name:                     ptr(r.Name),
		Status:                   ptr(ecsapi.CapacityProviderStatus(r.Status)),
		Type:                     ptr(ecsapi.CapacityProviderType(r.Type)),
		AutoScalingGroupProvider: r.ASG,
		ManagedInstancesProvider: r.ManagedInstances,
	}
	if r.Cluster != "" {
		out.Cluster = ptr(r.Cluster)
	}
	if r.UpdateStatus != "" {
		out.UpdateStatus = ptr(ecsapi.CapacityProviderUpdateStatus(r.UpdateStatus))
	}
	if r.UpdateStatusReason != "" {
		out.UpdateStatusReason = ptr(r.UpdateStatusReason)
	}
	if withTags {
		out.Tags = nonNil(r.Tags)
	}
	return out
}

// checkManagedScaling fills AWS's defaults and checks the ranges.
func checkManagedScaling(m *ecsapi.ManagedScaling) error {
	if m.Status == nil {
		m.Status = ptr(ecsapi.ManagedScalingStatusDisabled)
	}
	for _, f := range []struct {
		name     string
		v        **int32
		def      int32
		min, max int32
	}{
		{"targetCapacity", &m.TargetCapacity, 100, 1, 100},
		{"minimumScalingStepSize", &m.MinimumScalingStepSize, 1, 1, 10000},
		{"maximumScalingStepSize", &m.MaximumScalingStepSize, 10000, 1, 10000},
		{"instanceWarmupPeriod", &m.InstanceWarmupPeriod, 300, 0, 10000},
	} {
		if *f.v == nil {
			*f.v = ptr(f.def)
			continue
		}
		if n := **f.v; n < f.min || n > f.max {
			return ecsapi.NewInvalidParameterException("managedScaling.%s must be between %d and %d.", f.name, f.min, f.max)
		}
	}
	if *m.MinimumScalingStepSize > *m.MaximumScalingStepSize {
		return ecsapi.NewInvalidParameterException("managedScaling.minimumScalingStepSize cannot be greater than maximumScalingStepSize.")
	}
	return nil
}

func checkProviderName(name string) error {
	if !validName(name) {
		return ecsapi.NewInvalidParameterException("The capacity provider name can have up to 255 characters: letters (uppercase and lowercase), numbers, underscores and hyphens.")
	}
	low := strings.ToLower(name)
	for _, p := range []string{"aws", "ecs", "fargate"} {
		if strings.HasPrefix(low, p) {
			return ecsapi.NewInvalidParameterException("The capacity provider name cannot be prefixed with \"aws\", \"ecs\", or \"fargate\".")
		}
	}
	return nil
}

// CreateCapacityProvider creates an Auto Scaling group or Managed Instances
// capacity provider.
func (s *Service) CreateCapacityProvider(ctx context.Context, in *ecsapi.CreateCapacityProviderInput) (*ecsapi.CreateCapacityProviderOutput, error) {
	sc := scopeOf(ctx)
	name := deref(in.Name)
	if err := checkProviderName(name); err != nil {
		return nil, err
	}
	if (in.AutoScalingGroupProvider == nil) == (in.ManagedInstancesProvider == nil) {
		return nil, ecsapi.NewInvalidParameterException("Specify exactly one of autoScalingGroupProvider and managedInstancesProvider.")
	}
	if err := checkTagKeys(in.Tags); err != nil {
		return nil, err
	}
	if len(in.Tags) > maxTags {
		return nil, ecsapi.NewInvalidParameterException("A resource can have at most %d tags.", maxTags)
	}
	rec := &capacityProviderRecord{
		Name:      name,
		Status:    string(ecsapi.CapacityProviderStatusActive),
		Tags:      in.Tags,
		CreatedAt: s.clock(),
	}
	if asg := in.AutoScalingGroupProvider; asg != nil {
		if in.Cluster != nil {
			return nil, ecsapi.NewInvalidParameterException("The cluster parameter applies to Managed Instances capacity providers only.")
		}
		arn := deref(asg.AutoScalingGroupArn)
		if !asgARNPattern.MatchString(arn) && (strings.HasPrefix(arn, "arn:") || !asgNameRule.MatchString(arn)) {
			return nil, ecsapi.NewClientException("The specified Auto Scaling group ARN %s is not valid. Specify a valid Auto Scaling group ARN or name and try again.", arn)
		}
		cp := *asg
		cp.ManagedScaling = &ecsapi.ManagedScaling{}
		if asg.ManagedScaling != nil {
			*cp.ManagedScaling = *asg.ManagedScaling
		}
		if err := checkManagedScaling(cp.ManagedScaling); err != nil {
			return nil, err
		}
		if cp.ManagedTerminationProtection == nil {
			cp.ManagedTerminationProtection = ptr(ecsapi.ManagedTerminationProtectionDisabled)
		}
		if *cp.ManagedTerminationProtection == ecsapi.ManagedTerminationProtectionEnabled && *cp.ManagedScaling.Status != ecsapi.ManagedScalingStatusEnabled {
			return nil, ecsapi.NewInvalidParameterException("Managed termination protection requires managed scaling to be enabled.")
		}
		if cp.ManagedDraining == nil {
			cp.ManagedDraining = ptr(ecsapi.ManagedDrainingEnabled)
		}
		rec.Type, rec.ASG = string(ecsapi.CapacityProviderTypeEc2Autoscaling), &cp
	} else {
		if deref(in.Cluster) == "" {
			return nil, ecsapi.NewInvalidParameterException("A Managed Instances capacity provider must be created in a cluster: specify cluster.")
		}
		mi := in.ManagedInstancesProvider
		if !strings.HasPrefix(deref(mi.InfrastructureRoleArn), "arn:") || !strings.Contains(deref(mi.InfrastructureRoleArn), ":role/") {
			return nil, ecsapi.NewInvalidParameterException("infrastructureRoleArn %s is not a valid IAM role ARN.", deref(mi.InfrastructureRoleArn))
		}
		rec.Type = string(ecsapi.CapacityProviderTypeManagedInstances)
		rec.ManagedInstances = &ecsapi.ManagedInstancesProvider{
			InfrastructureRoleArn:      mi.InfrastructureRoleArn,
			InstanceLaunchTemplate:     mi.InstanceLaunchTemplate,
			PropagateTags:              mi.PropagateTags,
			InfrastructureOptimization: mi.InfrastructureOptimization,
			AutoRepairConfiguration:    mi.AutoRepairConfiguration,
		}
	}
	var out ecsapi.CapacityProvider
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if rec.Type == string(ecsapi.CapacityProviderTypeManagedInstances) {
			c, err := lookupCluster(tx, sc, deref(in.Cluster))
			if err != nil {
				return err
			}
			rec.Cluster = c.Name
		}
		old, err := lookupProvider(tx, sc, name)
		if err != nil {
			return err
		}
		if old != nil {
			return ecsapi.NewClientException("The specified capacity provider already exists. To change the configuration of an existing capacity provider, update the capacity provider.")
		}
		if rec.ASG != nil {
			clash := false
			err := listDocs(tx, kindCapacityProvider, sc, "", "", func(_ string, r *capacityProviderRecord) (bool, error) {
				if r.Status != string(ecsapi.CapacityProviderStatusInactive) && r.ASG != nil && deref(r.ASG.AutoScalingGroupArn) == deref(rec.ASG.AutoScalingGroupArn) {
					clash = true
					return false, nil
				}
				return true, nil
			})
			if err != nil {
				return err
			}
			if clash {
				return ecsapi.NewClientException("The specified Auto Scaling group ARN is already being used by another capacity provider. Specify a unique Auto Scaling group ARN and try again.")
			}
		}
		out = providerOutput(sc, rec, true)
		return putDoc(tx, kindCapacityProvider, sc, name, rec, s.clock())
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.CreateCapacityProviderOutput{CapacityProvider: &out}, nil
}

// DescribeCapacityProviders describes providers by name or ARN, or all of
// them (FARGATE and FARGATE_SPOT first, as AWS lists them), or those of one
// cluster.
func (s *Service) DescribeCapacityProviders(ctx context.Context, in *ecsapi.DescribeCapacityProvidersInput) (*ecsapi.DescribeCapacityProvidersOutput, error) {
	sc := scopeOf(ctx)
	if len(in.CapacityProviders) > 100 {
		return nil, ecsapi.NewInvalidParameterException("capacityProviders can have at most 100 items.")
	}
	limit, after, err := pageParams(in.MaxResults, in.NextToken, 10, 10)
	if err != nil {
		return nil, err
	}
	tags := slices.Contains(in.Include, ecsapi.CapacityProviderFieldTags)
	type entry struct {
		key string
		cp  ecsapi.CapacityProvider
	}
	var all []entry
	var failures []ecsapi.Failure
	err = s.st.View(ctx, func(tx store.Tx) error {
		all, failures = all[:0], failures[:0]
		var inCluster []string
		if in.Cluster != nil {
			c, err := lookupCluster(tx, sc, *in.Cluster)
			if err != nil {
				return err
			}
			inCluster = c.CapacityProviders
			err = listDocs(tx, kindCapacityProvider, sc, "", "", func(_ string, r *capacityProviderRecord) (bool, error) {
				if r.Cluster == c.Name && r.Status != string(ecsapi.CapacityProviderStatusInactive) && !slices.Contains(inCluster, r.Name) {
					inCluster = append(inCluster, r.Name)
				}
				return true, nil
			})
			if err != nil {
				return err
			}
		}
		add := func(i int, name string, missing string) error {
			key := fmt.Sprintf("%06d", i)
			if isBuiltinProvider(name) {
				all = append(all, entry{key, builtinProviderOutput(sc, name, tags)})
				return nil
			}
			r, err := getDoc[capacityProviderRecord](tx, kindCapacityProvider, sc, name)
			if err != nil {
				return err
			}
			if r == nil {
				if missing != "" {
					failures = append(failures, ecsapi.Failure{Arn: ptr(missing), Reason: ptr("MISSING")})
				}
				return nil
			}
			all = append(all, entry{key, providerOutput(sc, r, tags)})
			return nil
		}
		switch {
		case len(in.CapacityProviders) > 0:
			for i, ref := range in.CapacityProviders {
				name, ok := providerRef(sc, ref)
				arn := ref
				if ok && !strings.HasPrefix(ref, "arn:") {
					arn = sc.capacityProviderARN(name)
				}
				if !ok {
					failures = append(failures, ecsapi.Failure{Arn: ptr(arn), Reason: ptr("MISSING")})
					continue
				}
				if inCluster != nil && !slices.Contains(inCluster, name) {
					failures = append(failures, ecsapi.Failure{Arn: ptr(arn), Reason: ptr("MISSING")})
					continue
				}
				if err := add(i, name, arn); err != nil {
					return err
				}
			}
		case in.Cluster != nil:
			for i, name := range inCluster {
				if err := add(i, name, ""); err != nil {
					return err
				}
			}
		default:
			i := 0
			for _, name := range builtinProviders {
				if err := add(i, name, ""); err != nil {
					return err
				}
				i++
			}
			return listDocs(tx, kindCapacityProvider, sc, "", "", func(_ string, r *capacityProviderRecord) (bool, error) {
				if r.Status != string(ecsapi.CapacityProviderStatusInactive) {
					key := fmt.Sprintf("%06d", i)
					all = append(all, entry{key, providerOutput(sc, r, tags)})
					i++
				}
				return true, nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &ecsapi.DescribeCapacityProvidersOutput{CapacityProviders: []ecsapi.CapacityProvider{}, Failures: nonNil(failures)}
	last := ""
	for _, e := range all {
		if e.key <= after {
			continue
		}
		if len(out.CapacityProviders) == limit {
			out.NextToken = encodeToken(last)
			break
		}
		out.CapacityProviders = append(out.CapacityProviders, e.cp)
		last = e.key
	}
	return out, nil
}

// UpdateCapacityProvider changes the managed scaling, termination
// protection and draining of an Auto Scaling group provider, or the
// configuration of a Managed Instances provider.
func (s *Service) UpdateCapacityProvider(ctx context.Context, in *ecsapi.UpdateCapacityProviderInput) (*ecsapi.UpdateCapacityProviderOutput, error) {
	sc := scopeOf(ctx)
	name := deref(in.Name)
	if isBuiltinProvider(name) {
		return nil, ecsapi.NewInvalidParameterException("The %s capacity provider is reserved and cannot be updated.", name)
	}
	var out ecsapi.CapacityProvider
	err := s.st.Update(ctx, func(tx store.Tx) error {
		r, err := lookupProvider(tx, sc, name)
		if err != nil {
			return err
		}
		if r == nil {
			return errProviderNotFound()
		}
		if r.Cluster != "" {
			c, err := lookupCluster(tx, sc, deref(in.Cluster))
			if err != nil {
				return err
			}
			if c.Name != r.Cluster {
				return errProviderNotFound()
			}
		}
		switch {
		case r.ASG != nil && in.AutoScalingGroupProvider != nil:
			u := in.AutoScalingGroupProvider
			if u.ManagedScaling != nil {
				m := *u.ManagedScaling
				if err := checkManagedScaling(&m); err != nil {
					return err
				}
				r.ASG.ManagedScaling = &m
			}
			if u.ManagedTerminationProtection != nil {
				r.ASG.ManagedTerminationProtection = u.ManagedTerminationProtection
			}
			if u.ManagedDraining != nil {
				r.ASG.ManagedDraining = u.ManagedDraining
			}
			if deref(r.ASG.ManagedTerminationProtection) == ecsapi.ManagedTerminationProtectionEnabled && deref(r.ASG.ManagedScaling.Status) != ecsapi.ManagedScalingStatusEnabled {
				return ecsapi.NewInvalidParameterException("Managed termination protection requires managed scaling to be enabled.")
			}
		case r.ManagedInstances != nil && in.ManagedInstancesProvider != nil:
			u := in.ManagedInstancesProvider
			mi := r.ManagedInstances
			if u.InfrastructureRoleArn != nil {
				mi.InfrastructureRoleArn = u.InfrastructureRoleArn
			}
			if u.PropagateTags != nil {
				mi.PropagateTags = u.PropagateTags
			}
			if u.InfrastructureOptimization != nil {
				mi.InfrastructureOptimization = u.InfrastructureOptimization
			}
			if u.AutoRepairConfiguration != nil {
				mi.AutoRepairConfiguration = u.AutoRepairConfiguration
			}
			if lt := u.InstanceLaunchTemplate; lt != nil {
				if mi.InstanceLaunchTemplate == nil {
					mi.InstanceLaunchTemplate = &ecsapi.InstanceLaunchTemplate{}
				}
				t := mi.InstanceLaunchTemplate
				if lt.Ec2InstanceProfileArn != nil {
					t.Ec2InstanceProfileArn = lt.Ec2InstanceProfileArn
				}
				if lt.NetworkConfiguration != nil {
					t.NetworkConfiguration = lt.NetworkConfiguration
				}
				if lt.StorageConfiguration != nil {
					t.StorageConfiguration = lt.StorageConfiguration
				}
				if lt.Monitoring != nil {
					t.Monitoring = lt.Monitoring
				}
				if lt.InstanceRequirements != nil {
					t.InstanceRequirements = lt.InstanceRequirements
				}
			}
		default:
			return ecsapi.NewInvalidParameterException("Specify the configuration of the capacity provider's type (%s) to update.", r.Type)
		}
		r.UpdateStatus, r.UpdateStatusReason = string(ecsapi.CapacityProviderUpdateStatusUpdateComplete), ""
		out = providerOutput(sc, r, false)
		return putDoc(tx, kindCapacityProvider, sc, r.Name, r, s.clock())
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.UpdateCapacityProviderOutput{CapacityProvider: &out}, nil
}

// providerClusters lists the ACTIVE clusters that have provider name.
func providerClusters(tx store.Tx, sc scope, name string) ([]string, error) {
	var out []string
	err := listDocs(tx, kindCluster, sc, "", "", func(_ string, c *clusterRecord) (bool, error) {
		if c.Status == statusActive && slices.Contains(c.CapacityProviders, name) {
			out = append(out, c.Name)
		}
		return true, nil
	})
	return out, err
}

// DeleteCapacityProvider deletes a provider. As on AWS, a provider still
// associated with a cluster is not refused with an error: the call answers
// it ACTIVE with updateStatus DELETE_FAILED and the reason.
func (s *Service) DeleteCapacityProvider(ctx context.Context, in *ecsapi.DeleteCapacityProviderInput) (*ecsapi.DeleteCapacityProviderOutput, error) {
	sc := scopeOf(ctx)
	name, ok := providerRef(sc, deref(in.CapacityProvider))
	if ok && isBuiltinProvider(name) {
		return nil, ecsapi.NewInvalidParameterException("The FARGATE and FARGATE_SPOT capacity providers are reserved and cannot be deleted.")
	}
	var out ecsapi.CapacityProvider
	err := s.st.Update(ctx, func(tx store.Tx) error {
		r, err := lookupProvider(tx, sc, deref(in.CapacityProvider))
		if err != nil {
			return err
		}
		if r == nil {
			return errProviderNotFound()
		}
		if r.Cluster != "" && in.Cluster != nil {
			if n, _ := clusterRef(sc, *in.Cluster); n != r.Cluster {
				return errProviderNotFound()
			}
		}
		used, err := activeDaemonUses(tx, sc, sc.capacityProviderARN(r.Name))
		if err != nil {
			return err
		}
		if used {
			return ecsapi.NewClientException("Cannot delete capacity provider. Daemon services are still associated with this capacity provider.")
		}
		clusters, err := providerClusters(tx, sc, r.Name)
		if err != nil {
			return err
		}
		now := s.clock()
		if len(clusters) > 0 {
			r.UpdateStatus = string(ecsapi.CapacityProviderUpdateStatusDeleteFailed)
			r.UpdateStatusReason = "The capacity provider cannot be deleted because it is associated with cluster: " + strings.Join(clusters, ", ") + ". Remove the capacity provider from the cluster and try again."
			out = providerOutput(sc, r, false)
			return putDoc(tx, kindCapacityProvider, sc, r.Name, r, now)
		}
		// Nothing is left to tear down: the deletion completes at once. The
		// answer shows it in progress, DescribeCapacityProviders INACTIVE.
		r.UpdateStatus, r.UpdateStatusReason = string(ecsapi.CapacityProviderUpdateStatusDeleteInProgress), ""
		out = providerOutput(sc, r, false)
		r.Status, r.UpdateStatus = string(ecsapi.CapacityProviderStatusInactive), string(ecsapi.CapacityProviderUpdateStatusDeleteComplete)
		return putDoc(tx, kindCapacityProvider, sc, r.Name, r, now)
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.DeleteCapacityProviderOutput{CapacityProvider: &out}, nil
}

// checkClusterProviders checks, in the transaction, that each provider a
// cluster is to have exists, and that an Auto Scaling group provider is not
// already another cluster's (AWS allows one cluster per such provider).
func checkClusterProviders(tx store.Tx, sc scope, cluster string, providers []string) error {
	for _, p := range providers {
		if isBuiltinProvider(p) {
			continue
		}
		r, err := lookupProvider(tx, sc, p)
		if err != nil {
			return err
		}
		if r == nil || (r.Cluster != "" && r.Cluster != cluster) {
			return ecsapi.NewInvalidParameterException("The specified capacity provider '%s' does not exist. Specify a valid capacity provider and try again.", p)
		}
		if r.ASG == nil {
			continue
		}
		others, err := providerClusters(tx, sc, r.Name)
		if err != nil {
			return err
		}
		others = slices.DeleteFunc(others, func(c string) bool { return c == cluster })
		if len(others) > 0 {
			return ecsapi.NewInvalidParameterException("The specified capacity provider '%s' is already associated with cluster %s. An Auto Scaling group capacity provider can be associated with one cluster only.", p, others[0])
		}
	}
	return nil
}

// capacityProviderTaggable is findTaggable for capacity-provider ARNs.
func capacityProviderTaggable(tx store.Tx, sc scope, p parsedARN, now time.Time) (*taggable, error) {
	if isBuiltinProvider(p.rest) {
		return nil, ecsapi.NewInvalidParameterException("The %s capacity provider is reserved and cannot be tagged.", p.rest)
	}
	r, err := getDoc[capacityProviderRecord](tx, kindCapacityProvider, sc, p.rest)
	if err != nil {
		return nil, err
	}
	if r == nil || r.Status == string(ecsapi.CapacityProviderStatusInactive) {
		return nil, ecsapi.NewResourceNotFoundException("The specified capacity provider does not exist.")
	}
	return &taggable{&r.Tags, func() error { return putDoc(tx, kindCapacityProvider, sc, r.Name, r, now) }}, nil
}

// clusterScopedProviders reports whether a Managed Instances provider of
// the cluster still exists, which keeps the cluster from being deleted.
func clusterScopedProviders(tx store.Tx, sc scope, cluster string) (bool, error) {
	found := false
	err := listDocs(tx, kindCapacityProvider, sc, "", "", func(_ string, r *capacityProviderRecord) (bool, error) {
		found = r.Cluster == cluster && r.Status != string(ecsapi.CapacityProviderStatusInactive)
		return !found, nil
	})
	return found, err
}
