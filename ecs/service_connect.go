package ecs

import (
	"context"
	"slices"
	"strings"

	ecsapi "github.com/berth-dev/berth/api/ecs"
)

// Service Connect, as far as Berth goes: the configuration is checked,
// stored and shown on the service's deployments, and each task started
// under it answers on the task network to its services' client alias DNS
// names (default "<discoveryName>.<namespace>") when the alias port is the
// container port of the named port mapping. Berth runs no Service Connect
// proxy: nothing translates an alias port to another container port, and
// no Cloud Map service is created for discoveryName.

// checkConnect validates serviceConnectConfiguration at CreateService and
// UpdateService.
func (s *Service) checkConnect(ctx context.Context, sc scope, cfg *ecsapi.ServiceConnectConfiguration) error {
	if cfg == nil || !deref(cfg.Enabled) {
		return nil
	}
	names := map[string]bool{}
	for _, svc := range cfg.Services {
		if deref(svc.PortName) == "" {
			return ecsapi.NewInvalidParameterException("Service Connect services must have a portName.")
		}
		d := deref(svc.DiscoveryName)
		if d == "" {
			d = deref(svc.PortName)
		}
		if names[d] {
			return ecsapi.NewInvalidParameterException("Service Connect discoveryName %s is used twice.", d)
		}
		names[d] = true
		for _, a := range svc.ClientAliases {
			if p := deref(a.Port); p < 1 || p > 65535 {
				return ecsapi.NewInvalidParameterException("Service Connect client alias port must be between 1 and 65535.")
			}
		}
	}
	ns := deref(cfg.Namespace)
	sr := s.serviceRegistry()
	if ns == "" || sr == nil {
		return nil // the cluster's default namespace, resolved when stored
	}
	_, _, found, err := sr.Namespace(ctx, sc.account, sc.region, ns)
	if err != nil {
		return err
	}
	if !found {
		return ecsapi.NewNamespaceNotFoundException("Namespace %s not found.", ns)
	}
	return nil
}

// connectOf is the configuration to store: the cluster's default
// namespace when it names none.
func connectOf(c *clusterRecord, cfg *ecsapi.ServiceConnectConfiguration) *ecsapi.ServiceConnectConfiguration {
	if cfg == nil {
		return nil
	}
	out := *cfg
	if deref(out.Namespace) == "" && c.ServiceConnectDefaults != nil {
		out.Namespace = c.ServiceConnectDefaults.Namespace
	}
	return &out
}

// connectNames adds the task's Service Connect DNS names.
func (p *servicePass) connectNames(rec *taskRecord) {
	cfg := p.r.Connect
	if cfg == nil || !deref(cfg.Enabled) || p.connectNS == "" {
		return
	}
	td := p.def(rec.TaskDefinitionArn)
	if td == nil {
		return
	}
	ports := map[string]int32{}
	for _, c := range td.Input.ContainerDefinitions {
		for _, pm := range c.PortMappings {
			if n := deref(pm.Name); n != "" && pm.ContainerPort != nil {
				ports[n] = *pm.ContainerPort
			}
		}
	}
	for _, svc := range cfg.Services {
		port, ok := ports[deref(svc.PortName)]
		if !ok {
			continue
		}
		discovery := deref(svc.DiscoveryName)
		if discovery == "" {
			discovery = deref(svc.PortName)
		}
		for _, a := range svc.ClientAliases {
			if deref(a.Port) != port {
				continue
			}
			name := strings.ToLower(strings.TrimSuffix(deref(a.DnsName), "."))
			if name == "" {
				name = strings.ToLower(discovery + "." + p.connectNS)
			}
			if !slices.Contains(rec.DiscoveryNames, name) {
				rec.DiscoveryNames = append(rec.DiscoveryNames, name)
			}
		}
	}
}
