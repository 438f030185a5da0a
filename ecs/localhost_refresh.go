package ecs

import (
	"context"

	"github.com/berth-dev/berth/store"
)

// RefreshLocalHost replaces what the local host is known to have with what
// its container runtime reports (the task agent asks the engine, which may
// be another machine than Berth's): CPU units, memory in MiB and the Docker
// version, for the container instances the local host registers from now on
// and for the ones it has registered already, in every account and region.
// Zero values keep what is known. Call it before the API serves: it
// changes the local host's description without a lock.
func (s *Service) RefreshLocalHost(ctx context.Context, cpu, memoryMiB int64, dockerVersion string) error {
	if cpu > 0 {
		s.local.CPU = cpu
	}
	if memoryMiB > 0 {
		s.local.MemoryMiB = memoryMiB
	}
	if dockerVersion != "" {
		s.local.DockerVersion = dockerVersion
	}
	h := s.local
	scopes, err := s.allScopes(ctx)
	if err != nil {
		return err
	}
	for _, sc := range scopes {
		err := s.st.Update(ctx, func(tx store.Tx) error {
			now := s.clock()
			return listDocs(tx, kindInstance, sc, "", "", func(key string, in *instanceRecord) (bool, error) {
				if !in.Local || in.HostID != h.ID || in.Status == statusInactive {
					return true, nil
				}
				if in.Registered.CPU == h.CPU && in.Registered.Memory == h.MemoryMiB && deref(in.VersionInfo.DockerVersion) == h.DockerVersion {
					return true, nil
				}
				in.Registered.CPU, in.Registered.Memory = h.CPU, h.MemoryMiB
				in.VersionInfo.DockerVersion = nonEmpty(h.DockerVersion)
				in.Version++
				return true, putDoc(tx, kindInstance, sc, key, in, now)
			})
		})
		if err != nil {
			return err
		}
	}
	return nil
}
