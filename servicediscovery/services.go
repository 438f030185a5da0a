package servicediscovery

import (
	"context"
	"maps"
	"regexp"
	"slices"

	sdapi "github.com/berth-dev/berth/api/servicediscovery"
	"github.com/berth-dev/berth/store"
)

var serviceLabel = regexp.MustCompile(`^([a-zA-Z0-9_][a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_]|[a-zA-Z0-9_])(\.([a-zA-Z0-9_][a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_]|[a-zA-Z0-9_]))?$`)

// validateDNSRecords checks a service's DNS records against the routing
// policy, as Cloud Map does at CreateService and UpdateService.
func validateDNSRecords(policy sdapi.RoutingPolicy, records []sdapi.DnsRecord) error {
	if len(records) == 0 {
		return sdapi.NewInvalidInput("DnsConfig must have at least one DnsRecord.")
	}
	seen := map[sdapi.RecordType]bool{}
	for _, r := range records {
		t := deref(r.Type)
		if seen[t] {
			return sdapi.NewInvalidInput("DnsRecords can have only one record of type %s.", t)
		}
		seen[t] = true
		if ttl := deref(r.TTL); r.TTL == nil || ttl < 0 || ttl > 2147483647 {
			return sdapi.NewInvalidInput("DnsRecord TTL must be between 0 and 2147483647.")
		}
	}
	if seen[sdapi.RecordTypeCname] {
		if len(records) > 1 {
			return sdapi.NewInvalidInput("A CNAME record cannot be combined with other record types.")
		}
		if policy != sdapi.RoutingPolicyWeighted {
			return sdapi.NewInvalidInput("CNAME records require the WEIGHTED routing policy.")
		}
	}
	return nil
}

func (s *Service) CreateService(ctx context.Context, in *sdapi.CreateServiceInput) (*sdapi.CreateServiceOutput, error) {
	c := callerOf(ctx)
	name := deref(in.Name)
	if !serviceLabel.MatchString(name) || len(name) > 127 {
		return nil, sdapi.NewInvalidInput("Service name %q is not valid.", name)
	}
	nsID := deref(in.NamespaceId)
	if nsID == "" && in.DnsConfig != nil {
		nsID = deref(in.DnsConfig.NamespaceId)
	}
	if nsID == "" {
		return nil, sdapi.NewInvalidInput("NamespaceId is required.")
	}
	if in.HealthCheckConfig != nil && in.HealthCheckCustomConfig != nil {
		return nil, sdapi.NewInvalidInput("You can specify either HealthCheckConfig or HealthCheckCustomConfig, not both.")
	}
	tags, err := mergeTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	out := &sdapi.CreateServiceOutput{}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		ns, err := getNamespace(tx, c, nsID)
		if err != nil {
			return err
		}
		svcs, err := servicesOf(tx, c, ns.ID)
		if err != nil {
			return err
		}
		for _, old := range svcs {
			if equalFoldDNS(old.Name, name) {
				if cr := deref(in.CreatorRequestId); cr != "" && cr == old.CreatorRequestID {
					out.Service = serviceShape(c, old)
					return nil
				}
				return sdapi.NewServiceAlreadyExists("Service %s already exists in namespace %s (service %s).", name, ns.ID, old.ID)
			}
		}
		d := &serviceDoc{ID: newServiceID(), Name: name, NamespaceID: ns.ID, Description: in.Description,
			HealthCheck: in.HealthCheckConfig, HealthCheckCusto: in.HealthCheckCustomConfig,
			CreatorRequestID: deref(in.CreatorRequestId), Created: now, Tags: tags}
		d.ARN = c.arn("service/" + d.ID)
		// AWS: "Public DNS and HTTP namespaces only".
		if d.HealthCheck != nil && ns.Type == string(sdapi.NamespaceTypeDnsPrivate) {
			return sdapi.NewInvalidInput("HealthCheckConfig is not supported in private DNS namespaces; use HealthCheckCustomConfig.")
		}
		switch {
		case deref(in.Type) == sdapi.ServiceTypeOptionHttp:
			if in.DnsConfig != nil {
				return sdapi.NewInvalidInput("A service of type HTTP cannot have a DnsConfig.")
			}
			d.Type = string(sdapi.ServiceTypeHttp)
		case in.DnsConfig != nil:
			if !ns.dns() {
				return sdapi.NewInvalidInput("DnsConfig is not supported in an HTTP namespace.")
			}
			policy := deref(in.DnsConfig.RoutingPolicy)
			if policy == "" {
				policy = sdapi.RoutingPolicyMultivalue
			}
			if err := validateDNSRecords(policy, in.DnsConfig.DnsRecords); err != nil {
				return err
			}
			d.DnsConfig = &sdapi.DnsConfig{RoutingPolicy: ptr(policy), DnsRecords: in.DnsConfig.DnsRecords}
			d.Type = string(sdapi.ServiceTypeDnsHttp)
		default:
			d.Type = string(sdapi.ServiceTypeHttp)
		}
		out.Service = serviceShape(c, d)
		return putService(tx, c, d, now)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func serviceShape(c caller, d *serviceDoc) *sdapi.ServiceShape {
	out := &sdapi.ServiceShape{Id: ptr(d.ID), Arn: ptr(d.ARN), ResourceOwner: ptr(c.Account), Name: ptr(d.Name),
		NamespaceId: ptr(d.NamespaceID), Description: d.Description, InstanceCount: ptr(int32(d.Instances)),
		DnsConfig: d.DnsConfig, Type: ptr(sdapi.ServiceType(d.Type)), HealthCheckConfig: d.HealthCheck,
		HealthCheckCustomConfig: d.HealthCheckCusto, CreateDate: ts(d.Created), CreatedByAccount: ptr(c.Account)}
	if d.CreatorRequestID != "" {
		out.CreatorRequestId = ptr(d.CreatorRequestID)
	}
	return out
}

func (s *Service) GetService(ctx context.Context, in *sdapi.GetServiceInput) (*sdapi.GetServiceOutput, error) {
	c := callerOf(ctx)
	var out *sdapi.GetServiceOutput
	err := s.st.View(ctx, func(tx store.Tx) error {
		d, err := getService(tx, c, deref(in.Id))
		if err != nil {
			return err
		}
		out = &sdapi.GetServiceOutput{Service: serviceShape(c, d)}
		return nil
	})
	return out, err
}

func (s *Service) ListServices(ctx context.Context, in *sdapi.ListServicesInput) (*sdapi.ListServicesOutput, error) {
	c := callerOf(ctx)
	for _, f := range in.Filters {
		allowed := []sdapi.FilterCondition{sdapi.FilterConditionEq, sdapi.FilterConditionIn}
		if deref(f.Name) == sdapi.ServiceFilterNameResourceOwner {
			allowed = allowed[:1]
		}
		if err := checkFilter(string(deref(f.Name)), f.Condition, f.Values, allowed...); err != nil {
			return nil, err
		}
	}
	limit, err := pageLimit(in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &sdapi.ListServicesOutput{}
	err = s.st.View(ctx, func(tx store.Tx) error {
		out.Services, out.NextToken = []sdapi.ServiceSummary{}, nil
		return store.ListDocs(tx, KindService, c.Account, c.Region, "", deref(in.NextToken), func(_ string, d *serviceDoc) (bool, error) {
			for _, f := range in.Filters {
				v := d.NamespaceID
				if deref(f.Name) == sdapi.ServiceFilterNameResourceOwner {
					if len(f.Values) > 0 && f.Values[0] == "SELF" {
						continue
					}
					v = c.Account
				}
				if !matchFilter(f.Condition, f.Values, v, false) {
					return true, nil
				}
			}
			if len(out.Services) == limit {
				out.NextToken = ptr(*out.Services[limit-1].Id)
				return false, nil
			}
			sh := serviceShape(c, d)
			out.Services = append(out.Services, sdapi.ServiceSummary{Id: sh.Id, Arn: sh.Arn, ResourceOwner: sh.ResourceOwner,
				Name: sh.Name, Type: sh.Type, Description: sh.Description, InstanceCount: sh.InstanceCount,
				DnsConfig: sh.DnsConfig, HealthCheckConfig: sh.HealthCheckConfig,
				HealthCheckCustomConfig: sh.HealthCheckCustomConfig, CreateDate: sh.CreateDate, CreatedByAccount: sh.CreatedByAccount})
			return true, nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) UpdateService(ctx context.Context, in *sdapi.UpdateServiceInput) (*sdapi.UpdateServiceOutput, error) {
	c := callerOf(ctx)
	if in.Service == nil {
		return nil, sdapi.NewInvalidInput("Service is required.")
	}
	now := s.clock()
	var opID string
	err := s.st.Update(ctx, func(tx store.Tx) error {
		d, err := getService(tx, c, deref(in.Id))
		if err != nil {
			return err
		}
		ch := in.Service
		if ch.Description != nil {
			d.Description = ch.Description
		}
		if ch.DnsConfig != nil {
			if d.DnsConfig == nil {
				return sdapi.NewInvalidInput("Service %s has no DnsConfig to update.", d.ID)
			}
			if err := validateDNSRecords(deref(d.DnsConfig.RoutingPolicy), ch.DnsConfig.DnsRecords); err != nil {
				return err
			}
			// Only TTLs change: the record types are fixed at creation.
			for _, r := range ch.DnsConfig.DnsRecords {
				if !slices.ContainsFunc(d.DnsConfig.DnsRecords, func(o sdapi.DnsRecord) bool { return deref(o.Type) == deref(r.Type) }) {
					return sdapi.NewInvalidInput("You can't add a %s record to service %s: record types are set when the service is created.", deref(r.Type), d.ID)
				}
			}
			d.DnsConfig.DnsRecords = ch.DnsConfig.DnsRecords
		}
		if ch.HealthCheckConfig != nil {
			if d.HealthCheckCusto != nil {
				return sdapi.NewInvalidInput("Service %s has a custom health check; it cannot have HealthCheckConfig too.", d.ID)
			}
			d.HealthCheck = ch.HealthCheckConfig
		} else if d.HealthCheck != nil {
			// AWS: in DNS namespaces, "if you omit any existing ...
			// HealthCheckConfig configurations from an UpdateService request,
			// the configurations are deleted from the service".
			ns, err := getNamespace(tx, c, d.NamespaceID)
			if err != nil {
				return err
			}
			if ns.Type != string(sdapi.NamespaceTypeHttp) {
				d.HealthCheck = nil
			}
		}
		if opID, err = addOperation(tx, c, sdapi.OperationTypeUpdateService, map[string]string{"SERVICE": d.ID}, now); err != nil {
			return err
		}
		return putService(tx, c, d, now)
	})
	if err != nil {
		return nil, err
	}
	return &sdapi.UpdateServiceOutput{OperationId: ptr(opID)}, nil
}

func (s *Service) DeleteService(ctx context.Context, in *sdapi.DeleteServiceInput) (*sdapi.DeleteServiceOutput, error) {
	c := callerOf(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		d, err := getService(tx, c, deref(in.Id))
		if err != nil {
			return err
		}
		if d.Instances > 0 {
			return sdapi.NewResourceInUse("Service %s has %d registered instances. Deregister them first.", d.ID, d.Instances)
		}
		return store.DeleteDoc(tx, KindService, c.Account, c.Region, d.ID)
	})
	if err != nil {
		return nil, err
	}
	return &sdapi.DeleteServiceOutput{}, nil
}

const maxServiceAttributes = 30

func (s *Service) GetServiceAttributes(ctx context.Context, in *sdapi.GetServiceAttributesInput) (*sdapi.GetServiceAttributesOutput, error) {
	c := callerOf(ctx)
	var out *sdapi.GetServiceAttributesOutput
	err := s.st.View(ctx, func(tx store.Tx) error {
		d, err := getService(tx, c, deref(in.ServiceId))
		if err != nil {
			return err
		}
		attrs := maps.Clone(d.Attributes)
		if attrs == nil {
			attrs = map[string]string{}
		}
		out = &sdapi.GetServiceAttributesOutput{ServiceAttributes: &sdapi.ServiceAttributes{
			ServiceArn: ptr(d.ARN), ResourceOwner: ptr(c.Account), Attributes: attrs}}
		return nil
	})
	return out, err
}

func (s *Service) UpdateServiceAttributes(ctx context.Context, in *sdapi.UpdateServiceAttributesInput) (*sdapi.UpdateServiceAttributesOutput, error) {
	c := callerOf(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		d, err := getService(tx, c, deref(in.ServiceId))
		if err != nil {
			return err
		}
		if d.Attributes == nil {
			d.Attributes = map[string]string{}
		}
		maps.Copy(d.Attributes, in.Attributes)
		if len(d.Attributes) > maxServiceAttributes {
			return sdapi.NewServiceAttributesLimitExceededException("A service can have at most %d attributes.", maxServiceAttributes)
		}
		return putService(tx, c, d, s.clock())
	})
	if err != nil {
		return nil, err
	}
	return &sdapi.UpdateServiceAttributesOutput{}, nil
}

func (s *Service) DeleteServiceAttributes(ctx context.Context, in *sdapi.DeleteServiceAttributesInput) (*sdapi.DeleteServiceAttributesOutput, error) {
	c := callerOf(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		d, err := getService(tx, c, deref(in.ServiceId))
		if err != nil {
			return err
		}
		for _, k := range in.Attributes {
			delete(d.Attributes, k)
		}
		return putService(tx, c, d, s.clock())
	})
	if err != nil {
		return nil, err
	}
	return &sdapi.DeleteServiceAttributesOutput{}, nil
}
