package servicediscovery

import (
	"context"
	"maps"
	"math/rand/v2"
	"net/netip"
	"regexp"
	"strconv"
	"time"

	sdapi "github.com/berth-dev/berth/api/servicediscovery"
	"github.com/berth-dev/berth/store"
)

// Attributes Cloud Map itself interprets.
const (
	AttrIPv4       = "AWS_INSTANCE_IPV4"
	AttrIPv6       = "AWS_INSTANCE_IPV6"
	AttrPort       = "AWS_INSTANCE_PORT"
	AttrCNAME      = "AWS_INSTANCE_CNAME"
	AttrAlias      = "AWS_ALIAS_DNS_NAME"
	AttrInitHealth = "AWS_INIT_HEALTH_STATUS"
)

var instanceIDPattern = regexp.MustCompile(`^[0-9a-zA-Z_/:.@-]{1,64}$`)

// validateInstance checks an instance's attributes against the service's
// DNS records: what Cloud Map needs to build each record must be there.
func validateInstance(d *serviceDoc, id string, attrs map[string]string) error {
	if !instanceIDPattern.MatchString(id) {
		return sdapi.NewInvalidInput("InstanceId %q is not valid.", id)
	}
	if len(attrs) > 30 {
		return sdapi.NewInvalidInput("An instance can have at most 30 attributes.")
	}
	if v, ok := attrs[AttrIPv4]; ok {
		if a, err := netip.ParseAddr(v); err != nil || !a.Is4() {
			return sdapi.NewInvalidInput("%s %q is not an IPv4 address.", AttrIPv4, v)
		}
	}
	if v, ok := attrs[AttrIPv6]; ok {
		if a, err := netip.ParseAddr(v); err != nil || !a.Is6() {
			return sdapi.NewInvalidInput("%s %q is not an IPv6 address.", AttrIPv6, v)
		}
	}
	if v, ok := attrs[AttrPort]; ok {
		if p, err := strconv.Atoi(v); err != nil || p < 1 || p > 65535 {
			return sdapi.NewInvalidInput("%s %q is not a port between 1 and 65535.", AttrPort, v)
		}
	}
	if v, ok := attrs[AttrInitHealth]; ok && v != "HEALTHY" && v != "UNHEALTHY" {
		return sdapi.NewInvalidInput("%s must be HEALTHY or UNHEALTHY.", AttrInitHealth)
	}
	if d.DnsConfig == nil {
		return nil
	}
	for _, r := range d.DnsConfig.DnsRecords {
		switch deref(r.Type) {
		case sdapi.RecordTypeA:
			if attrs[AttrIPv4] == "" && attrs[AttrAlias] == "" {
				return sdapi.NewInvalidInput("Service %s has an A record: the instance needs %s.", d.ID, AttrIPv4)
			}
		case sdapi.RecordTypeAaaa:
			if attrs[AttrIPv6] == "" && attrs[AttrAlias] == "" {
				return sdapi.NewInvalidInput("Service %s has an AAAA record: the instance needs %s.", d.ID, AttrIPv6)
			}
		case sdapi.RecordTypeCname:
			if attrs[AttrCNAME] == "" {
				return sdapi.NewInvalidInput("Service %s has a CNAME record: the instance needs %s.", d.ID, AttrCNAME)
			}
		case sdapi.RecordTypeSrv:
			if attrs[AttrPort] == "" || (attrs[AttrIPv4] == "" && attrs[AttrIPv6] == "") {
				return sdapi.NewInvalidInput("Service %s has an SRV record: the instance needs %s and %s or %s.", d.ID, AttrPort, AttrIPv4, AttrIPv6)
			}
		}
	}
	return nil
}

// putInstance registers (or replaces) an instance in a transaction and
// keeps the service's instance count and revision.
func putInstance(tx store.Tx, c caller, d *serviceDoc, inst *instanceDoc, now time.Time) error {
	old, err := store.GetDoc[instanceDoc](tx, KindInstance, c.Account, c.Region, instanceKey(d.ID, inst.ID))
	if err != nil {
		return err
	}
	if old == nil {
		d.Instances++
	} else {
		inst.Created = old.Created
	}
	d.Revision++
	if err := store.PutDoc(tx, KindInstance, c.Account, c.Region, instanceKey(d.ID, inst.ID), inst, now); err != nil {
		return err
	}
	return putService(tx, c, d, now)
}

func deleteInstance(tx store.Tx, c caller, d *serviceDoc, id string, now time.Time) error {
	if err := store.DeleteDoc(tx, KindInstance, c.Account, c.Region, instanceKey(d.ID, id)); err != nil {
		return err
	}
	d.Instances = max(d.Instances-1, 0)
	d.Revision++
	return putService(tx, c, d, now)
}

// instanceOperation runs fn, which registers or deregisters an instance of
// the service, and records the operation AWS reports for it, in one
// transaction; it returns the operation's id.
func (s *Service) instanceOperation(ctx context.Context, serviceID string, typ sdapi.OperationType,
	fn func(tx store.Tx, c caller, d *serviceDoc, now time.Time) (instanceID string, err error)) (string, error) {
	c := callerOf(ctx)
	now := s.clock()
	var opID string
	err := s.st.Update(ctx, func(tx store.Tx) error {
		d, err := getService(tx, c, serviceID)
		if err != nil {
			return err
		}
		id, err := fn(tx, c, d, now)
		if err != nil {
			return err
		}
		opID, err = addOperation(tx, c, typ, map[string]string{"SERVICE": d.ID, "INSTANCE": id}, now)
		return err
	})
	return opID, err
}

func (s *Service) RegisterInstance(ctx context.Context, in *sdapi.RegisterInstanceInput) (*sdapi.RegisterInstanceOutput, error) {
	id := deref(in.InstanceId)
	opID, err := s.instanceOperation(ctx, deref(in.ServiceId), sdapi.OperationTypeRegisterInstance, func(tx store.Tx, c caller, d *serviceDoc, now time.Time) (string, error) {
		if err := validateInstance(d, id, in.Attributes); err != nil {
			return "", err
		}
		inst := &instanceDoc{ID: id, ServiceID: d.ID, CreatorRequestID: deref(in.CreatorRequestId),
			Attributes: maps.Clone(in.Attributes), Healthy: in.Attributes[AttrInitHealth] != "UNHEALTHY", Created: now}
		return id, putInstance(tx, c, d, inst, now)
	})
	if err != nil {
		return nil, err
	}
	return &sdapi.RegisterInstanceOutput{OperationId: ptr(opID)}, nil
}

func (s *Service) DeregisterInstance(ctx context.Context, in *sdapi.DeregisterInstanceInput) (*sdapi.DeregisterInstanceOutput, error) {
	opID, err := s.instanceOperation(ctx, deref(in.ServiceId), sdapi.OperationTypeDeregisterInstance, func(tx store.Tx, c caller, d *serviceDoc, now time.Time) (string, error) {
		inst, err := getInstance(tx, c, d.ID, deref(in.InstanceId))
		if err != nil {
			return "", err
		}
		return inst.ID, deleteInstance(tx, c, d, inst.ID, now)
	})
	if err != nil {
		return nil, err
	}
	return &sdapi.DeregisterInstanceOutput{OperationId: ptr(opID)}, nil
}

func (s *Service) GetInstance(ctx context.Context, in *sdapi.GetInstanceInput) (*sdapi.GetInstanceOutput, error) {
	c := callerOf(ctx)
	var out *sdapi.GetInstanceOutput
	err := s.st.View(ctx, func(tx store.Tx) error {
		d, err := getService(tx, c, deref(in.ServiceId))
		if err != nil {
			return err
		}
		inst, err := getInstance(tx, c, d.ID, deref(in.InstanceId))
		if err != nil {
			return err
		}
		out = &sdapi.GetInstanceOutput{ResourceOwner: ptr(c.Account), Instance: &sdapi.Instance{
			Id: ptr(inst.ID), Attributes: maps.Clone(inst.Attributes), CreatedByAccount: ptr(c.Account)}}
		if inst.CreatorRequestID != "" {
			out.Instance.CreatorRequestId = ptr(inst.CreatorRequestID)
		}
		return nil
	})
	return out, err
}

// instancesOf returns a service's instances in id order, from after on.
func instancesOf(tx store.Tx, c caller, serviceID, after string, fn func(*instanceDoc) bool) error {
	prefix := serviceID + "/"
	if after != "" {
		after = prefix + after
	}
	return store.ListDocs(tx, KindInstance, c.Account, c.Region, prefix, after, func(_ string, d *instanceDoc) (bool, error) {
		return fn(d), nil
	})
}

func (s *Service) ListInstances(ctx context.Context, in *sdapi.ListInstancesInput) (*sdapi.ListInstancesOutput, error) {
	c := callerOf(ctx)
	limit, err := pageLimit(in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &sdapi.ListInstancesOutput{}
	err = s.st.View(ctx, func(tx store.Tx) error {
		out.Instances, out.NextToken = []sdapi.InstanceSummary{}, nil
		d, err := getService(tx, c, deref(in.ServiceId))
		if err != nil {
			return err
		}
		out.ResourceOwner = ptr(c.Account)
		return instancesOf(tx, c, d.ID, deref(in.NextToken), func(inst *instanceDoc) bool {
			if len(out.Instances) == limit {
				out.NextToken = ptr(*out.Instances[limit-1].Id)
				return false
			}
			out.Instances = append(out.Instances, sdapi.InstanceSummary{Id: ptr(inst.ID),
				Attributes: maps.Clone(inst.Attributes), CreatedByAccount: ptr(c.Account)})
			return true
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// health is what an instance reports: UNKNOWN without a health check.
func health(d *serviceDoc, inst *instanceDoc) sdapi.HealthStatus {
	switch {
	case !d.checked():
		return sdapi.HealthStatusUnknown
	case inst.Healthy:
		return sdapi.HealthStatusHealthy
	}
	return sdapi.HealthStatusUnhealthy
}

func (s *Service) GetInstancesHealthStatus(ctx context.Context, in *sdapi.GetInstancesHealthStatusInput) (*sdapi.GetInstancesHealthStatusOutput, error) {
	c := callerOf(ctx)
	limit, err := pageLimit(in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &sdapi.GetInstancesHealthStatusOutput{}
	err = s.st.View(ctx, func(tx store.Tx) error {
		out.Status, out.NextToken = map[string]sdapi.HealthStatus{}, nil
		d, err := getService(tx, c, deref(in.ServiceId))
		if err != nil {
			return err
		}
		if len(in.Instances) > 0 {
			for _, id := range in.Instances {
				inst, err := getInstance(tx, c, d.ID, id)
				if err != nil {
					return err
				}
				out.Status[id] = health(d, inst)
			}
			return nil
		}
		var last string
		return instancesOf(tx, c, d.ID, deref(in.NextToken), func(inst *instanceDoc) bool {
			if len(out.Status) == limit {
				out.NextToken = ptr(last)
				return false
			}
			out.Status[inst.ID] = health(d, inst)
			last = inst.ID
			return true
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) UpdateInstanceCustomHealthStatus(ctx context.Context, in *sdapi.UpdateInstanceCustomHealthStatusInput) (*sdapi.UpdateInstanceCustomHealthStatusOutput, error) {
	c := callerOf(ctx)
	now := s.clock()
	err := s.st.Update(ctx, func(tx store.Tx) error {
		d, err := getService(tx, c, deref(in.ServiceId))
		if err != nil {
			return err
		}
		inst, err := getInstance(tx, c, d.ID, deref(in.InstanceId))
		if err != nil {
			return err
		}
		if d.HealthCheckCusto == nil {
			return sdapi.NewCustomHealthNotFound("Service %s does not have a custom health check (HealthCheckCustomConfig).", d.ID)
		}
		healthy := deref(in.Status) == sdapi.CustomHealthStatusHealthy
		if inst.Healthy == healthy {
			return nil
		}
		inst.Healthy = healthy
		return putInstance(tx, c, d, inst, now)
	})
	if err != nil {
		return nil, err
	}
	return &sdapi.UpdateInstanceCustomHealthStatusOutput{}, nil
}

// findService resolves a namespace and service by name, as the data plane
// does.
func findService(tx store.Tx, c caller, namespace, service string) (*serviceDoc, *namespaceDoc, error) {
	ns, err := findNamespaceByName(tx, c, namespace)
	if err != nil {
		return nil, nil, err
	}
	if ns == nil {
		return nil, nil, sdapi.NewNamespaceNotFound("No namespace exists with name: %s", namespace)
	}
	svcs, err := servicesOf(tx, c, ns.ID)
	if err != nil {
		return nil, nil, err
	}
	for _, d := range svcs {
		if equalFoldDNS(d.Name, service) {
			return d, ns, nil
		}
	}
	return nil, nil, sdapi.NewServiceNotFound("No service exists with name: %s in namespace %s", service, namespace)
}

// discover filters a service's instances as DiscoverInstances does:
// QueryParameters must all match; OptionalParameters narrow the result
// only when some instances match them all; the health filter applies to
// services with a health check.
func discover(d *serviceDoc, all []*instanceDoc, query, optional map[string]string, filter sdapi.HealthStatusFilter) []*instanceDoc {
	matches := func(inst *instanceDoc, params map[string]string) bool {
		for k, v := range params {
			if inst.Attributes[k] != v {
				return false
			}
		}
		return true
	}
	var out []*instanceDoc
	for _, inst := range all {
		if matches(inst, query) {
			out = append(out, inst)
		}
	}
	if len(optional) > 0 {
		var opt []*instanceDoc
		for _, inst := range out {
			if matches(inst, optional) {
				opt = append(opt, inst)
			}
		}
		if len(opt) > 0 {
			out = opt
		}
	}
	if !d.checked() || filter == sdapi.HealthStatusFilterAll {
		return out
	}
	var healthy, unhealthy []*instanceDoc
	for _, inst := range out {
		if inst.Healthy {
			healthy = append(healthy, inst)
		} else {
			unhealthy = append(unhealthy, inst)
		}
	}
	switch filter {
	case sdapi.HealthStatusFilterUnhealthy:
		return unhealthy
	case sdapi.HealthStatusFilterHealthyOrElseAll:
		if len(healthy) == 0 {
			return out
		}
	}
	return healthy
}

func (s *Service) DiscoverInstances(ctx context.Context, in *sdapi.DiscoverInstancesInput) (*sdapi.DiscoverInstancesOutput, error) {
	c := callerOf(ctx)
	limit := 100
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 1000 {
			return nil, sdapi.NewInvalidInput("MaxResults must be between 1 and 1000.")
		}
		limit = int(*in.MaxResults)
	}
	filter := deref(in.HealthStatus)
	if filter == "" {
		filter = sdapi.HealthStatusFilterHealthy
	}
	var out *sdapi.DiscoverInstancesOutput
	err := s.st.View(ctx, func(tx store.Tx) error {
		d, ns, err := findService(tx, c, deref(in.NamespaceName), deref(in.ServiceName))
		if err != nil {
			return err
		}
		all, err := s.discovery.instances(tx, c, d)
		if err != nil {
			return err
		}
		found := discover(d, all, in.QueryParameters, in.OptionalParameters, filter)
		// Cloud Map answers in random order, so that clients taking the
		// first spread their load.
		rand.Shuffle(len(found), func(i, j int) { found[i], found[j] = found[j], found[i] })
		if len(found) > limit {
			found = found[:limit]
		}
		out = &sdapi.DiscoverInstancesOutput{Instances: []sdapi.HttpInstanceSummary{}, InstancesRevision: ptr(d.Revision)}
		for _, inst := range found {
			out.Instances = append(out.Instances, sdapi.HttpInstanceSummary{InstanceId: ptr(inst.ID),
				NamespaceName: ptr(ns.Name), ServiceName: ptr(d.Name), HealthStatus: ptr(health(d, inst)),
				Attributes: maps.Clone(inst.Attributes)})
		}
		return nil
	})
	return out, err
}

func (s *Service) DiscoverInstancesRevision(ctx context.Context, in *sdapi.DiscoverInstancesRevisionInput) (*sdapi.DiscoverInstancesRevisionOutput, error) {
	c := callerOf(ctx)
	var out *sdapi.DiscoverInstancesRevisionOutput
	err := s.st.View(ctx, func(tx store.Tx) error {
		d, _, err := findService(tx, c, deref(in.NamespaceName), deref(in.ServiceName))
		if err != nil {
			return err
		}
		out = &sdapi.DiscoverInstancesRevisionOutput{InstancesRevision: ptr(d.Revision)}
		return nil
	})
	return out, err
}
