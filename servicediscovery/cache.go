package servicediscovery

import (
	"sync"

	"github.com/berth-dev/berth/store"
)

// discoveryCache keeps each service's decoded instances for
// DiscoverInstances, the data-plane call clients make on every lookup.
// An entry is valid for one revision of the service: every instance change
// bumps the revision in the same transaction, so a reader that sees the
// service's current revision knows whether the entry is current, whoever
// wrote the store.
type discoveryCache struct {
	mu      sync.Mutex
	entries map[string]cachedInstances
}

type cachedInstances struct {
	revision  int64
	instances []*instanceDoc // shared: never modified
}

const maxCachedServices = 1024

func (dc *discoveryCache) instances(tx store.Tx, c caller, d *serviceDoc) ([]*instanceDoc, error) {
	key := c.Account + "/" + c.Region + "/" + d.ID
	dc.mu.Lock()
	e, ok := dc.entries[key]
	dc.mu.Unlock()
	if ok && e.revision == d.Revision {
		return e.instances, nil
	}
	var all []*instanceDoc
	if err := instancesOf(tx, c, d.ID, "", func(inst *instanceDoc) bool { all = append(all, inst); return true }); err != nil {
		return nil, err
	}
	dc.mu.Lock()
	if dc.entries == nil || len(dc.entries) >= maxCachedServices {
		dc.entries = map[string]cachedInstances{}
	}
	dc.entries[key] = cachedInstances{revision: d.Revision, instances: all}
	dc.mu.Unlock()
	return all, nil
}
