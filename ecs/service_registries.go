package ecs

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/store"
)

// Service discovery: a service's serviceRegistries name AWS Cloud Map
// services. The service controller keeps, on every pass, the instances
// the ECS service owns in each of them equal to its RUNNING tasks
// (instance id = task id), and removes them all once the service is
// deleted; being level-triggered, it catches up after a restart. Tasks
// started for a service whose registry lives in a DNS namespace carry
// the name "<service>.<namespace>" in their record, which the agent gives
// the task's network sandbox as a DNS alias.

// ServiceRegistry is what ECS needs from Cloud Map; server wiring sets it
// with SetServiceRegistry. Without one, serviceRegistries are stored and
// returned but inert.
type ServiceRegistry interface {
	// Registry describes the Cloud Map service an ARN names; found is
	// false when there is none in that account and region.
	Registry(ctx context.Context, account, region, arn string) (info RegistryInfo, found bool, err error)
	// SyncRegistrations makes the instances owner (an ECS service ARN)
	// registered equal to want (Cloud Map service ARN → instances).
	SyncRegistrations(ctx context.Context, account, region, owner string, want map[string][]RegistryInstance) error
	// Namespace resolves a namespace name, id or ARN.
	Namespace(ctx context.Context, account, region, ref string) (id, name string, found bool, err error)
}

// RegistryInfo describes a Cloud Map service.
type RegistryInfo struct {
	ARN           string
	Name          string
	NamespaceID   string
	NamespaceARN  string
	NamespaceName string
	// DNS is true for services with DNS records in a DNS namespace.
	DNS bool
	// SRV is true when the service has an SRV record, which needs a port.
	SRV bool
}

// RegistryInstance is a task as a Cloud Map instance.
type RegistryInstance struct {
	ID         string
	Attributes map[string]string
	Healthy    bool
}

type registryBox struct {
	mu sync.Mutex
	r  ServiceRegistry
}

// SetServiceRegistry connects services' serviceRegistries to Cloud Map.
func (s *Service) SetServiceRegistry(r ServiceRegistry) {
	s.registry.mu.Lock()
	s.registry.r = r
	s.registry.mu.Unlock()
}

func (s *Service) serviceRegistry() ServiceRegistry {
	s.registry.mu.Lock()
	defer s.registry.mu.Unlock()
	return s.registry.r
}

// checkRegistries validates serviceRegistries at CreateService and
// UpdateService: at most one, naming a Cloud Map service that exists, with
// a port when the service has an SRV record.
func (s *Service) checkRegistries(ctx context.Context, sc scope, regs []ecsapi.ServiceRegistry) error {
	if len(regs) > 1 {
		return ecsapi.NewInvalidParameterException("A service can have at most one service registry.")
	}
	for _, reg := range regs {
		arn := deref(reg.RegistryArn)
		if arn == "" {
			return ecsapi.NewInvalidParameterException("registryArn must be specified.")
		}
		if reg.Port != nil && (reg.ContainerName != nil || reg.ContainerPort != nil) {
			return ecsapi.NewInvalidParameterException("Specify either port or containerName and containerPort in a service registry, not both.")
		}
		if (reg.ContainerName == nil) != (reg.ContainerPort == nil) {
			return ecsapi.NewInvalidParameterException("containerName and containerPort must be specified together in a service registry.")
		}
		sr := s.serviceRegistry()
		if sr == nil {
			continue
		}
		info, found, err := sr.Registry(ctx, sc.account, sc.region, arn)
		if err != nil {
			return err
		}
		if !found {
			return ecsapi.NewInvalidParameterException("Service registry %s does not exist: create it with servicediscovery create-service first.", arn)
		}
		if info.SRV && reg.Port == nil && reg.ContainerPort == nil {
			return ecsapi.NewInvalidParameterException("The service registry %s has an SRV record: specify containerName and containerPort (or port).", arn)
		}
	}
	return nil
}

// registriesOf is the service registries a task of the service runs
// under: its task set's, or the service's.
func registriesOf(r *serviceRecord, rec *taskRecord) []ecsapi.ServiceRegistry {
	if ts := r.taskSet(rec.StartedBy); ts != nil {
		return ts.Registries
	}
	return r.Registries
}

// discoveryNames reads, outside any transaction, the descriptions of the
// service's registries by ARN, and the name of its Service Connect
// namespace ("" when none).
func (s *Service) discoveryNames(ctx context.Context, sc scope, key string) (map[string]RegistryInfo, string) {
	sr := s.serviceRegistry()
	if sr == nil {
		return nil, ""
	}
	var arns []string
	var connectNS, nsName string
	err := s.st.View(ctx, func(tx store.Tx) error {
		r, err := getDoc[serviceRecord](tx, KindService, sc, key)
		if err != nil || r == nil {
			return err
		}
		if r.Connect != nil && deref(r.Connect.Enabled) {
			connectNS = deref(r.Connect.Namespace)
		}
		regs := slices.Clone(r.Registries)
		for _, ts := range r.TaskSets {
			regs = append(regs, ts.Registries...)
		}
		for _, reg := range regs {
			if a := deref(reg.RegistryArn); a != "" && !slices.Contains(arns, a) {
				arns = append(arns, a)
			}
		}
		return nil
	})
	if err != nil {
		return nil, ""
	}
	if connectNS != "" {
		_, name, found, err := sr.Namespace(ctx, sc.account, sc.region, connectNS)
		if err != nil {
			s.log.Warn("ecs: reading Service Connect namespace", "namespace", connectNS, "err", err)
		} else if found {
			nsName = name
		}
	}
	if len(arns) == 0 {
		return nil, nsName
	}
	out := map[string]RegistryInfo{}
	for _, a := range arns {
		info, found, err := sr.Registry(ctx, sc.account, sc.region, a)
		if err != nil {
			s.log.Warn("ecs: reading service registry", "registry", a, "err", err)
			continue
		}
		if found {
			out[a] = info
		}
	}
	return out, nsName
}

// nameTask records on a new task the DNS names its sandbox answers to:
// its registries' and its Service Connect client aliases'.
func (p *servicePass) nameTask(rec *taskRecord) {
	p.connectNames(rec)
	for _, reg := range registriesOf(p.r, rec) {
		if info, ok := p.registries[deref(reg.RegistryArn)]; ok && info.DNS {
			name := strings.ToLower(info.Name + "." + info.NamespaceName)
			if !slices.Contains(rec.DiscoveryNames, name) {
				rec.DiscoveryNames = append(rec.DiscoveryNames, name)
			}
		}
	}
}

// registrations is what the service's registries should hold: one
// instance per RUNNING task that is not on its way out.
func (p *servicePass) registrations() map[string][]RegistryInstance {
	want := map[string][]RegistryInstance{}
	if p.r.Status == svcInactive {
		return want
	}
	for _, t := range p.tasks {
		rec := t.rec
		if rec.DesiredStatus != TaskRunning || rec.Status.LastStatus != TaskRunning {
			continue
		}
		for _, reg := range registriesOf(p.r, rec) {
			arn := deref(reg.RegistryArn)
			info, ok := p.registries[arn]
			if !ok {
				continue
			}
			attrs := map[string]string{
				"ECS_CLUSTER_NAME":           p.r.Cluster,
				"ECS_SERVICE_NAME":           p.r.Name,
				"ECS_TASK_DEFINITION_FAMILY": rec.Family,
				"REGION":                     p.sc.region,
			}
			if rec.AvailabilityZone != "" {
				attrs["AVAILABILITY_ZONE"] = rec.AvailabilityZone
			}
			port := deref(reg.Port)
			if reg.ContainerPort != nil {
				port = *reg.ContainerPort
			}
			var ip string
			if rec.Status.PrivateIPv4Address != "" {
				ip = rec.Status.PrivateIPv4Address
			} else if reg.ContainerPort != nil {
				// bridge and host tasks are reached at the host port
				// bound to the container port, as an SRV record says.
				if tgt, ok := taskTarget(rec, deref(reg.ContainerName), *reg.ContainerPort); ok {
					ip, port = tgt.ID, tgt.Port
				}
			}
			if ip == "" {
				continue
			}
			attrs["AWS_INSTANCE_IPV4"] = ip
			if port != 0 && (info.SRV || reg.Port != nil || reg.ContainerPort != nil) {
				attrs["AWS_INSTANCE_PORT"] = strconv.Itoa(int(port))
			}
			want[arn] = append(want[arn], RegistryInstance{ID: rec.ID, Attributes: attrs,
				Healthy: rec.Status.HealthStatus != string(ecsapi.HealthStatusUnhealthy)})
		}
	}
	return want
}

// syncRegistrations applies a pass's registrations to Cloud Map.
func (s *Service) syncRegistrations(ctx context.Context, sc scope, r *serviceRecord, want map[string][]RegistryInstance) {
	sr := s.serviceRegistry()
	if sr == nil || r == nil {
		return
	}
	owner := sc.serviceARN(r.Cluster, r.Name)
	if err := sr.SyncRegistrations(ctx, sc.account, sc.region, owner, want); err != nil {
		s.log.Warn("ecs: service registry", "service", owner, "err", err)
	}
}

// ListServicesByNamespace lists the services whose service registries are
// Cloud Map services of the namespace (a name or ARN).
func (s *Service) ListServicesByNamespace(ctx context.Context, in *ecsapi.ListServicesByNamespaceInput) (*ecsapi.ListServicesByNamespaceOutput, error) {
	sc := scopeOf(ctx)
	ref := deref(in.Namespace)
	if ref == "" {
		return nil, ecsapi.NewInvalidParameterException("namespace must be specified.")
	}
	limit, err := pageSize(in.MaxResults, 10, 100)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	sr := s.serviceRegistry()
	if sr == nil {
		return nil, ecsapi.NewNamespaceNotFoundException("Namespace not found.")
	}
	nsID, _, found, err := sr.Namespace(ctx, sc.account, sc.region, ref)
	connectIn := map[string]bool{} // Service Connect namespace refs in nsID
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ecsapi.NewNamespaceNotFoundException("Namespace not found.")
	}
	type cand struct {
		key, arn string
		regs     []string
		connect  string
	}
	var cands []cand
	err = s.st.View(ctx, func(tx store.Tx) error {
		cands = cands[:0]
		return listDocs(tx, KindService, sc, "", after, func(key string, r *serviceRecord) (bool, error) {
			if r.Status == svcInactive {
				return true, nil
			}
			c := cand{key: key, arn: sc.serviceARN(r.Cluster, r.Name)}
			for _, reg := range r.Registries {
				c.regs = append(c.regs, deref(reg.RegistryArn))
			}
			for _, ts := range r.TaskSets {
				for _, reg := range ts.Registries {
					c.regs = append(c.regs, deref(reg.RegistryArn))
				}
			}
			if r.Connect != nil && deref(r.Connect.Enabled) {
				c.connect = deref(r.Connect.Namespace)
			}
			if len(c.regs) > 0 || c.connect != "" {
				cands = append(cands, c)
			}
			return true, nil
		})
	})
	if err != nil {
		return nil, err
	}
	out := &ecsapi.ListServicesByNamespaceOutput{ServiceArns: []string{}}
	seen := map[string]RegistryInfo{}
	var last string
	for _, c := range cands {
		in := false
		for _, a := range c.regs {
			info, ok := seen[a]
			if !ok {
				info, _, err = sr.Registry(ctx, sc.account, sc.region, a)
				if err != nil {
					return nil, err
				}
				seen[a] = info
			}
			if info.NamespaceID == nsID {
				in = true
			}
		}
		if ref := c.connect; ref != "" && !in {
			if _, known := connectIn[ref]; !known {
				id, _, _, err := sr.Namespace(ctx, sc.account, sc.region, ref)
				if err != nil {
					return nil, err
				}
				connectIn[ref] = id == nsID
			}
			in = connectIn[ref]
		}
		if !in {
			continue
		}
		if len(out.ServiceArns) == limit {
			out.NextToken = encodeToken(last)
			break
		}
		out.ServiceArns = append(out.ServiceArns, c.arn)
		last = c.key
	}
	return out, nil
}
