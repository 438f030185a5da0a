package eks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/store"
)

// ReconcileInterval is how often the controller looks at every cluster
// even when no request woke it, so that work interrupted by a crash or a
// failed control plane call is retried.
const ReconcileInterval = 5 * time.Second

// startTimeout bounds one ControlPlane call.
const startTimeout = 10 * time.Minute

// Run is the controller: it moves clusters, node groups, Fargate profiles
// and updates from their transitional statuses to the next, calling the
// control plane, until ctx ends; then it stops the control planes it
// started. It is level-triggered: each pass reads what the store wants
// and what this process has done, and closes the difference.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(ReconcileInterval)
	defer t.Stop()
	for {
		s.reconcileAll(ctx)
		select {
		case <-ctx.Done():
			s.stopAll()
			return
		case <-s.kick:
		case <-t.C:
		}
	}
}

func (s *Service) reconcileAll(ctx context.Context) {
	var refs []ClusterRef
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		refs, _, err = store.AllDocs[ClusterRef](tx, kindIndex, "", "", "", store.Page{})
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("eks controller: listing clusters", "error", err)
		}
		return
	}
	for _, ref := range refs {
		s.mu.Lock()
		busy := s.busy[ref]
		if busy {
			// Looked at again as soon as the running pass ends, so that
			// the change that woke us is not left for the ticker.
			s.dirty[ref] = true
		} else {
			s.busy[ref] = true
		}
		s.mu.Unlock()
		if busy {
			continue
		}
		// Each cluster in its own goroutine: one slow control plane start
		// must not hold up the others.
		go func() {
			defer func() {
				s.mu.Lock()
				delete(s.busy, ref)
				again := s.dirty[ref]
				delete(s.dirty, ref)
				s.mu.Unlock()
				if again {
					s.kickController()
				}
			}()
			if err := s.reconcile(ctx, ref); err != nil && ctx.Err() == nil {
				s.log.Warn("eks controller", "cluster", ref.Name, "account", ref.Account, "region", ref.Region, "error", err)
			}
		}()
	}
}

// reconcile does the pending work of one cluster.
func (s *Service) reconcile(ctx context.Context, ref ClusterRef) error {
	var c clusterRec
	var ok bool
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		c, ok, err = getDoc[clusterRec](tx, kindCluster, ref.Account, ref.Region, ref.Name)
		return err
	})
	if err != nil {
		return err
	}
	if !ok {
		return s.st.Update(ctx, func(tx store.Tx) error { return store.DeleteDoc(tx, kindIndex, "", "", indexKey(ref)) })
	}
	switch *c.Cluster.Status {
	case eksapi.ClusterStatusCreating:
		return s.startCluster(ctx, ref, c, true)
	case eksapi.ClusterStatusDeleting:
		return s.deleteCluster(ctx, ref)
	case eksapi.ClusterStatusActive, eksapi.ClusterStatusUpdating:
		s.mu.Lock()
		started := s.started[ref]
		s.mu.Unlock()
		if !started {
			// A cluster that was ACTIVE before a restart: re-adopt it.
			if err := s.startCluster(ctx, ref, c, false); err != nil {
				return err
			}
		}
		if *c.Cluster.Status == eksapi.ClusterStatusUpdating {
			if err := s.finishClusterUpdates(ctx, ref); err != nil {
				return err
			}
		}
		if err := s.reconcileNodegroups(ctx, ref); err != nil {
			return err
		}
		if err := s.reconcileExtras(ctx, ref); err != nil {
			return err
		}
		return s.reconcileProfiles(ctx, ref)
	}
	return nil
}

func (s *Service) spec(ref ClusterRef, c clusterRec) ClusterSpec {
	spec := ClusterSpec{ClusterRef: ref, ARN: deref(c.Cluster.Arn), ID: deref(c.Cluster.Id), Version: deref(c.Cluster.Version),
		TokenReviewURL: s.reviewURL(ref)}
	if knc := c.Cluster.KubernetesNetworkConfig; knc != nil {
		spec.ServiceIPv4CIDR = deref(knc.ServiceIpv4Cidr)
	}
	if id := c.Cluster.Identity; id != nil && id.Oidc != nil {
		spec.OIDCIssuer = deref(id.Oidc.Issuer)
	}
	return spec
}

// startCluster starts (or re-adopts) a cluster's control plane; a new
// cluster turns ACTIVE, or FAILED when the control plane cannot start.
func (s *Service) startCluster(ctx context.Context, ref ClusterRef, c clusterRec, creating bool) error {
	sctx, cancel := context.WithTimeout(ctx, startTimeout)
	ep, err := s.cp.Start(sctx, s.spec(ref, c))
	cancel()
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if err == nil {
		s.mu.Lock()
		s.started[ref] = true
		s.mu.Unlock()
	}
	return s.st.Update(ctx, func(tx store.Tx) error {
		cur, ok, terr := getDoc[clusterRec](tx, kindCluster, ref.Account, ref.Region, ref.Name)
		if terr != nil || !ok || deref(cur.Cluster.Id) != deref(c.Cluster.Id) {
			return terr // deleted or replaced meanwhile
		}
		cl := &cur.Cluster
		issues := []eksapi.ClusterIssue{}
		switch {
		case err != nil:
			s.log.Error("eks: the control plane did not start", "cluster", ref.Name, "error", err)
			issues = append(issues, eksapi.ClusterIssue{Code: new(eksapi.ClusterIssueCodeInternalFailure), Message: new("The Kubernetes control plane did not start: " + err.Error()), ResourceIds: []string{ref.Name}})
			if creating && *cl.Status == eksapi.ClusterStatusCreating {
				cl.Status = new(eksapi.ClusterStatusFailed)
			}
		default:
			if ep.Issue != "" {
				issues = append(issues, eksapi.ClusterIssue{Code: new(eksapi.ClusterIssueCodeClusterUnreachable), Message: &ep.Issue, ResourceIds: []string{ref.Name}})
			}
			cl.Endpoint = &ep.URL
			cl.CertificateAuthority = &eksapi.Certificate{Data: new(base64Std(ep.CertificateAuthority))}
			if *cl.Status == eksapi.ClusterStatusCreating {
				cl.Status = new(eksapi.ClusterStatusActive)
			}
		}
		cl.Health = &eksapi.ClusterHealth{Issues: issues}
		return store.PutDoc(tx, kindCluster, ref.Account, ref.Region, ref.Name, cur, s.now())
	})
}

// deleteCluster deletes the control plane, then the cluster and all that
// hangs off it, in one transaction.
func (s *Service) deleteCluster(ctx context.Context, ref ClusterRef) error {
	if err := s.cp.Delete(ctx, ref); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.started, ref)
	s.mu.Unlock()
	return s.st.Update(ctx, func(tx store.Tx) error {
		for _, kind := range []string{kindNodegroup, kindFargate, kindAccess, kindUpdate, kindAddon, kindIdentityProvider, kindCapability, kindPodIdentity} {
			rs, err := tx.ListResources(kind, ref.Account, ref.Region, ref.Name+"/", store.Page{})
			if err != nil {
				return err
			}
			for _, r := range rs {
				if err := store.DeleteDoc(tx, kind, ref.Account, ref.Region, r.ID); err != nil {
					return err
				}
			}
		}
		if err := store.DeleteDoc(tx, kindInsightsRefresh, ref.Account, ref.Region, ref.Name); err != nil {
			return err
		}
		if err := store.DeleteDoc(tx, kindCluster, ref.Account, ref.Region, ref.Name); err != nil {
			return err
		}
		return store.DeleteDoc(tx, kindIndex, "", "", indexKey(ref))
	})
}

// finishClusterUpdates marks a cluster's in-progress updates Successful
// and the cluster ACTIVE again: their changes were applied when they were
// recorded.
func (s *Service) finishClusterUpdates(ctx context.Context, ref ClusterRef) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		c, ok, err := getDoc[clusterRec](tx, kindCluster, ref.Account, ref.Region, ref.Name)
		if err != nil || !ok {
			return err
		}
		us, ids, err := store.AllDocs[updateRec](tx, kindUpdate, ref.Account, ref.Region, ref.Name+"/", store.Page{})
		if err != nil {
			return err
		}
		for i, u := range us {
			if u.Nodegroup != "" || u.Addon != "" || u.Capability != "" || *u.Update.Status != eksapi.UpdateStatusInProgress {
				continue
			}
			u.Update.Status = new(eksapi.UpdateStatusSuccessful)
			if err := store.PutDoc(tx, kindUpdate, ref.Account, ref.Region, ids[i], u, s.now()); err != nil {
				return err
			}
		}
		if *c.Cluster.Status == eksapi.ClusterStatusUpdating {
			c.Cluster.Status = new(eksapi.ClusterStatusActive)
			return store.PutDoc(tx, kindCluster, ref.Account, ref.Region, ref.Name, c, s.now())
		}
		return nil
	})
}

// reconcileNodegroups syncs CREATING and UPDATING node groups and deletes
// DELETING ones through the control plane.
func (s *Service) reconcileNodegroups(ctx context.Context, ref ClusterRef) error {
	var ngs []nodegroupRec
	var ids []string
	err := s.st.View(ctx, func(tx store.Tx) (err error) {
		ngs, ids, err = store.AllDocs[nodegroupRec](tx, kindNodegroup, ref.Account, ref.Region, ref.Name+"/", store.Page{})
		return err
	})
	if err != nil {
		return err
	}
	var errs []error
	for i, ng := range ngs {
		st := *ng.Nodegroup.Status
		switch st {
		case eksapi.NodegroupStatusCreating, eksapi.NodegroupStatusUpdating:
			n := ng.Nodegroup
			spec := NodegroupSpec{Cluster: ref, Name: *n.NodegroupName, ARN: *n.NodegroupArn, DesiredSize: deref(n.ScalingConfig.DesiredSize),
				InstanceTypes: n.InstanceTypes, Labels: n.Labels}
			for _, t := range n.Taints {
				spec.Taints = append(spec.Taints, deref(t.Key)+"="+deref(t.Value)+":"+taintEffect(deref(t.Effect)))
			}
			serr := s.cp.SyncNodegroup(ctx, spec)
			if serr != nil {
				errs = append(errs, serr)
			}
			errs = append(errs, s.finishNodegroup(ctx, ref, ids[i], ng, serr))
		case eksapi.NodegroupStatusDeleting:
			if err := s.cp.DeleteNodegroup(ctx, ref, *ng.Nodegroup.NodegroupName); err != nil {
				errs = append(errs, err)
				continue
			}
			errs = append(errs, s.st.Update(ctx, func(tx store.Tx) error {
				cur, ok, err := getDoc[nodegroupRec](tx, kindNodegroup, ref.Account, ref.Region, ids[i])
				if err != nil || !ok || *cur.Nodegroup.Status != eksapi.NodegroupStatusDeleting {
					return err
				}
				// Its updates go with it, as in EKS.
				us, uids, err := store.AllDocs[updateRec](tx, kindUpdate, ref.Account, ref.Region, ref.Name+"/", store.Page{})
				if err != nil {
					return err
				}
				for j, u := range us {
					if u.Nodegroup == *ng.Nodegroup.NodegroupName {
						if err := store.DeleteDoc(tx, kindUpdate, ref.Account, ref.Region, uids[j]); err != nil {
							return err
						}
					}
				}
				return store.DeleteDoc(tx, kindNodegroup, ref.Account, ref.Region, ids[i])
			}))
		}
	}
	return errors.Join(errs...)
}

func taintEffect(e eksapi.TaintEffect) string {
	switch e {
	case eksapi.TaintEffectNoExecute:
		return "NoExecute"
	case eksapi.TaintEffectPreferNoSchedule:
		return "PreferNoSchedule"
	}
	return "NoSchedule"
}

// finishNodegroup records the outcome of a sync: ACTIVE and the update
// Successful, or CREATE_FAILED / DEGRADED and the update Failed.
func (s *Service) finishNodegroup(ctx context.Context, ref ClusterRef, id string, seen nodegroupRec, syncErr error) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		cur, ok, err := getDoc[nodegroupRec](tx, kindNodegroup, ref.Account, ref.Region, id)
		if err != nil || !ok || *cur.Nodegroup.Status != *seen.Nodegroup.Status || cur.Pending != seen.Pending {
			return err // changed meanwhile: the next pass syncs again
		}
		n := &cur.Nodegroup
		switch {
		case syncErr == nil:
			n.Status = new(eksapi.NodegroupStatusActive)
			n.Health = &eksapi.NodegroupHealth{Issues: []eksapi.Issue{}}
		case *n.Status == eksapi.NodegroupStatusCreating:
			n.Status = new(eksapi.NodegroupStatusCreateFailed)
		default:
			n.Status = new(eksapi.NodegroupStatusDegraded)
		}
		if syncErr != nil {
			n.Health = &eksapi.NodegroupHealth{Issues: []eksapi.Issue{{Code: new(eksapi.NodegroupIssueCodeInternalFailure), Message: new(syncErr.Error()), ResourceIds: []string{*n.NodegroupName}}}}
		}
		n.ModifiedAt = s.ts()
		if cur.Pending != "" {
			if err := s.settleUpdate(tx, ref, cur.Pending, syncErr, deref(n.NodegroupName)); err != nil {
				return err
			}
			cur.Pending = ""
		}
		return store.PutDoc(tx, kindNodegroup, ref.Account, ref.Region, id, cur, s.now())
	})
}

// reconcileProfiles hands the control plane the profiles in effect (the
// ACTIVE and CREATING ones), then makes CREATING profiles ACTIVE and
// forgets DELETING ones: a profile is ACTIVE once the control plane places
// its pods, and pods already placed stay where they run when it goes, as
// in EKS.
func (s *Service) reconcileProfiles(ctx context.Context, ref ClusterRef) error {
	var specs []FargateProfileSpec
	seen := map[string]eksapi.FargateProfileStatus{} // store id → status synced
	err := s.st.View(ctx, func(tx store.Tx) error {
		fps, ids, err := store.AllDocs[eksapi.FargateProfile](tx, kindFargate, ref.Account, ref.Region, ref.Name+"/", store.Page{})
		for i, fp := range fps {
			seen[ids[i]] = *fp.Status
			if *fp.Status == eksapi.FargateProfileStatusDeleting {
				continue
			}
			spec := FargateProfileSpec{Name: deref(fp.FargateProfileName), PodExecutionRoleARN: deref(fp.PodExecutionRoleArn)}
			for _, sel := range fp.Selectors {
				spec.Selectors = append(spec.Selectors, FargateSelector{Namespace: deref(sel.Namespace), Labels: sel.Labels})
			}
			specs = append(specs, spec)
		}
		return err
	})
	if err != nil {
		return err
	}
	slices.SortFunc(specs, func(a, b FargateProfileSpec) int { return strings.Compare(a.Name, b.Name) })
	if err := s.cp.SyncFargateProfiles(ctx, ref, specs); err != nil {
		return fmt.Errorf("fargate profiles: %w", err)
	}
	// Look before writing: most passes find nothing to do, and a write
	// transaction per cluster every few seconds would contend for nothing.
	pending := false
	for _, st := range seen {
		pending = pending || st == eksapi.FargateProfileStatusCreating || st == eksapi.FargateProfileStatusDeleting
	}
	if !pending {
		return nil
	}
	return s.st.Update(ctx, func(tx store.Tx) error {
		fps, ids, err := store.AllDocs[eksapi.FargateProfile](tx, kindFargate, ref.Account, ref.Region, ref.Name+"/", store.Page{})
		if err != nil {
			return err
		}
		for i, fp := range fps {
			if seen[ids[i]] != *fp.Status {
				continue // changed since the sync: the next pass sees it
			}
			switch *fp.Status {
			case eksapi.FargateProfileStatusCreating:
				fp.Status = new(eksapi.FargateProfileStatusActive)
				if err := store.PutDoc(tx, kindFargate, ref.Account, ref.Region, ids[i], fp, s.now()); err != nil {
					return err
				}
			case eksapi.FargateProfileStatusDeleting:
				if err := store.DeleteDoc(tx, kindFargate, ref.Account, ref.Region, ids[i]); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// stopAll stops the control planes this process started.
func (s *Service) stopAll() {
	s.mu.Lock()
	refs := make([]ClusterRef, 0, len(s.started))
	for ref := range s.started {
		refs = append(refs, ref)
	}
	s.started = map[ClusterRef]bool{}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, ref := range refs {
		if err := s.cp.Stop(ctx, ref); err != nil {
			s.log.Warn("eks: stopping a control plane", "cluster", ref.Name, "error", err)
		}
	}
}
