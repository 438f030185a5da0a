package servicediscovery

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/berth-dev/berth/store"
)

// The registration side used by ECS (wired in server/): an ECS service
// that names Cloud Map services in serviceRegistries owns the instances it
// registers there, and Sync makes them equal to its RUNNING tasks on every
// pass of the ECS service controller.

// Instance is an instance an owner wants registered.
type Instance struct {
	ID         string
	Attributes map[string]string
	// Healthy is the custom health status to report; it only counts for
	// services with HealthCheckCustomConfig.
	Healthy bool
}

// ServiceInfo is what ECS needs to know of a Cloud Map service.
type ServiceInfo struct {
	ID, ARN, Name           string
	NamespaceID             string
	NamespaceName           string
	NamespaceARN            string
	NamespaceType           string
	HasSRV, HasA, HasCustom bool
}

// LookupService describes the Cloud Map service an ARN (or id) names;
// found is false when there is none in that account and region.
func (s *Service) LookupService(ctx context.Context, account, region, arn string) (ServiceInfo, bool, error) {
	c := caller{Account: account, Region: region}
	if strings.HasPrefix(arn, "arn:") && !strings.HasPrefix(arn, c.arn("service/")) {
		return ServiceInfo{}, false, nil
	}
	var info ServiceInfo
	found := false
	err := s.st.View(ctx, func(tx store.Tx) error {
		d, err := store.GetDoc[serviceDoc](tx, KindService, account, region, idOf(arn, "service"))
		if err != nil || d == nil {
			return err
		}
		ns, err := store.GetDoc[namespaceDoc](tx, KindNamespace, account, region, d.NamespaceID)
		if err != nil || ns == nil {
			return err
		}
		found = true
		info = ServiceInfo{ID: d.ID, ARN: d.ARN, Name: d.Name, NamespaceID: ns.ID, NamespaceName: ns.Name,
			NamespaceARN: ns.ARN, NamespaceType: ns.Type, HasCustom: d.HealthCheckCusto != nil}
		if d.DnsConfig != nil {
			for _, r := range d.DnsConfig.DnsRecords {
				switch string(deref(r.Type)) {
				case "SRV":
					info.HasSRV = true
				case "A":
					info.HasA = true
				}
			}
		}
		return nil
	})
	return info, found, err
}

// LookupNamespace resolves a namespace name, id or ARN; found is false
// when there is none.
func (s *Service) LookupNamespace(ctx context.Context, account, region, ref string) (id, arn, name string, found bool, err error) {
	c := caller{Account: account, Region: region}
	err = s.st.View(ctx, func(tx store.Tx) error {
		d, err := store.GetDoc[namespaceDoc](tx, KindNamespace, account, region, idOf(ref, "namespace"))
		if err != nil {
			return err
		}
		if d == nil {
			if d, err = findNamespaceByName(tx, c, ref); err != nil || d == nil {
				return err
			}
		}
		id, arn, name, found = d.ID, d.ARN, d.Name, true
		return nil
	})
	return id, arn, name, found, err
}

// Sync makes the instances owner registered equal to want (Cloud Map
// service ARN or id → instances), in one transaction, and only writes what
// changed. Instances registered by anyone else are left alone; a service
// that is gone is skipped.
func (s *Service) Sync(ctx context.Context, account, region, owner string, want map[string][]Instance) error {
	c := caller{Account: account, Region: region}
	byID := map[string][]Instance{}
	for ref, insts := range want {
		id := idOf(ref, "service")
		byID[id] = append(byID[id], insts...)
	}
	needs := func(tx store.Tx) (bool, error) {
		od, err := store.GetDoc[ownerDoc](tx, KindOwner, account, region, owner)
		if err != nil {
			return false, err
		}
		if od == nil && len(byID) == 0 {
			return false, nil
		}
		ids := map[string]bool{}
		if od != nil {
			for _, id := range od.Services {
				ids[id] = true
			}
		}
		for id := range byID {
			ids[id] = true
		}
		for id := range ids {
			changed, err := s.syncService(tx, c, owner, id, byID[id], false)
			if err != nil || changed {
				return changed, err
			}
		}
		return false, nil
	}
	var changed bool
	if err := s.st.View(ctx, func(tx store.Tx) (err error) { changed, err = needs(tx); return err }); err != nil || !changed {
		return err
	}
	return s.st.Update(ctx, func(tx store.Tx) error {
		od, err := store.GetDoc[ownerDoc](tx, KindOwner, account, region, owner)
		if err != nil {
			return err
		}
		ids := map[string]bool{}
		if od != nil {
			for _, id := range od.Services {
				ids[id] = true
			}
		}
		for id := range byID {
			ids[id] = true
		}
		var keep []string
		for id := range ids {
			if _, err := s.syncService(tx, c, owner, id, byID[id], true); err != nil {
				return err
			}
			if len(byID[id]) > 0 {
				keep = append(keep, id)
			}
		}
		if len(keep) == 0 {
			return store.DeleteDoc(tx, KindOwner, account, region, owner)
		}
		slices.Sort(keep)
		return store.PutDoc(tx, KindOwner, account, region, owner, &ownerDoc{Services: keep}, s.clock())
	})
}

// syncService compares (and with apply, makes equal) the owner's
// instances of one service with want.
func (s *Service) syncService(tx store.Tx, c caller, owner, serviceID string, want []Instance, apply bool) (bool, error) {
	d, err := store.GetDoc[serviceDoc](tx, KindService, c.Account, c.Region, serviceID)
	if err != nil || d == nil {
		return false, err
	}
	have := map[string]*instanceDoc{}
	err = instancesOf(tx, c, d.ID, "", func(inst *instanceDoc) bool {
		if inst.Owner == owner {
			have[inst.ID] = inst
		}
		return true
	})
	if err != nil {
		return false, err
	}
	now := s.clock()
	changed := false
	wanted := map[string]bool{}
	for _, w := range want {
		wanted[w.ID] = true
		old := have[w.ID]
		healthy := w.Healthy || d.HealthCheckCusto == nil
		if old != nil && maps.Equal(old.Attributes, w.Attributes) && old.Healthy == healthy {
			continue
		}
		changed = true
		if !apply {
			return true, nil
		}
		inst := &instanceDoc{ID: w.ID, ServiceID: d.ID, Attributes: maps.Clone(w.Attributes), Healthy: healthy,
			Owner: owner, Created: now}
		if err := putInstance(tx, c, d, inst, now); err != nil {
			return false, err
		}
	}
	for id := range have {
		if wanted[id] {
			continue
		}
		changed = true
		if !apply {
			return true, nil
		}
		if err := deleteInstance(tx, c, d, id, now); err != nil {
			return false, err
		}
	}
	return changed, nil
}
