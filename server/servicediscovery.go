package server

import (
	"context"

	sdapi "github.com/berth-dev/berth/api/servicediscovery"
	"github.com/berth-dev/berth/ecs"
	"github.com/berth-dev/berth/servicediscovery"
)

// wireServiceDiscovery serves AWS Cloud Map over the shared state store
// and connects ECS services' serviceRegistries to it.
func (s *Server) wireServiceDiscovery() error {
	st, err := s.store()
	if err != nil {
		return err
	}
	sd, err := servicediscovery.New(servicediscovery.Options{Store: st})
	if err != nil {
		return err
	}
	s.api.HandleJSON(sdapi.NewJSONService(sd))
	if s.ecs != nil {
		s.ecs.SetServiceRegistry(ecsRegistry{sd})
	}
	return nil
}

// ecsRegistry adapts Cloud Map to what the ECS service controller needs,
// so that ecs does not depend on servicediscovery.
type ecsRegistry struct{ sd *servicediscovery.Service }

func (r ecsRegistry) Registry(ctx context.Context, account, region, arn string) (ecs.RegistryInfo, bool, error) {
	info, found, err := r.sd.LookupService(ctx, account, region, arn)
	if err != nil || !found {
		return ecs.RegistryInfo{}, found, err
	}
	dns := info.NamespaceType != string(sdapi.NamespaceTypeHttp) && (info.HasA || info.HasSRV)
	return ecs.RegistryInfo{ARN: info.ARN, Name: info.Name, NamespaceID: info.NamespaceID,
		NamespaceARN: info.NamespaceARN, NamespaceName: info.NamespaceName, DNS: dns, SRV: info.HasSRV}, true, nil
}

func (r ecsRegistry) SyncRegistrations(ctx context.Context, account, region, owner string, want map[string][]ecs.RegistryInstance) error {
	out := make(map[string][]servicediscovery.Instance, len(want))
	for arn, insts := range want {
		for _, in := range insts {
			out[arn] = append(out[arn], servicediscovery.Instance{ID: in.ID, Attributes: in.Attributes, Healthy: in.Healthy})
		}
	}
	return r.sd.Sync(ctx, account, region, owner, out)
}

func (r ecsRegistry) Namespace(ctx context.Context, account, region, ref string) (string, string, bool, error) {
	id, _, name, found, err := r.sd.LookupNamespace(ctx, account, region, ref)
	return id, name, found, err
}
