package albingress

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/berth-dev/berth/eks"
	"github.com/berth-dev/berth/elb"
)

// Interval is how often the controller looks at every cluster: a LIST of
// Ingresses, and of the Services and EndpointSlices they use, is cheap
// next to a watch's bookkeeping, and targets follow pods within it.
const Interval = 2 * time.Second

// passTimeout bounds one cluster's pass, so that an API server that
// stopped answering does not hold its cluster's goroutine for ever.
const passTimeout = time.Minute

// ClusterInfo is what the controller needs of an EKS cluster.
type ClusterInfo struct {
	// Status is the EKS status (ACTIVE, DELETING, ...), "" when the
	// cluster does not exist.
	Status string
	// Subnets are the cluster's subnets: its load balancers' subnets
	// unless an Ingress names others.
	Subnets []string
}

// Options configure a Controller.
type Options struct {
	LoadBalancing LoadBalancing
	// Clusters lists the clusters whose control plane may run here (also
	// ones being deleted).
	Clusters func() []eks.ClusterRef
	// Cluster describes a cluster.
	Cluster func(context.Context, eks.ClusterRef) (ClusterInfo, error)
	// API is a cluster's API server URL and a client that authenticates
	// to it as its admin.
	API func(eks.ClusterRef) (string, *http.Client, error)
	Log *slog.Logger
	// Interval overrides Interval (tests).
	Interval time.Duration
}

// Controller reconciles the Ingresses of class alb of every active
// cluster with ELB, and removes the load balancers of deleted clusters.
// It keeps no state of its own beyond what ELB and the clusters hold, so
// a restarted Berth takes over where the last one stopped.
type Controller struct {
	o Options

	mu      sync.Mutex
	busy    map[eks.ClusterRef]bool
	known   map[eks.ClusterRef]bool // clusters seen, so that one whose directory is gone is still cleaned up
	classed map[eks.ClusterRef]bool // the alb IngressClass was made sure of
	// idle holds clusters whose last pass found no Ingress of ours and no
	// load balancer of theirs: only this controller makes those, so the
	// next pass with no Ingress of ours skips reading ELB's inventory,
	// which would otherwise run every poll for every cluster.
	idle    map[eks.ClusterRef]bool
	last    map[string]string // Ingress uid → the last event's reason and message
	clients map[eks.ClusterRef]*kube
	failing map[eks.ClusterRef]string // the cluster's last pass's error
}

// New returns a Controller; Run runs it.
func New(o Options) *Controller {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Interval == 0 {
		o.Interval = Interval
	}
	return &Controller{o: o, busy: map[eks.ClusterRef]bool{}, known: map[eks.ClusterRef]bool{},
		classed: map[eks.ClusterRef]bool{}, idle: map[eks.ClusterRef]bool{}, last: map[string]string{}, clients: map[eks.ClusterRef]*kube{}, failing: map[eks.ClusterRef]string{}}
}

// Run reconciles every Interval until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	t := time.NewTicker(c.o.Interval)
	defer t.Stop()
	for {
		c.pass(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *Controller) pass(ctx context.Context) {
	refs := c.o.Clusters()
	c.mu.Lock()
	for ref := range c.known {
		if !slices.Contains(refs, ref) {
			refs = append(refs, ref)
		}
	}
	c.mu.Unlock()
	for _, ref := range refs {
		c.mu.Lock()
		busy := c.busy[ref]
		c.busy[ref] = true
		c.mu.Unlock()
		if busy {
			continue
		}
		// One goroutine per cluster: a slow API server must not hold up
		// the others.
		go func() {
			defer func() {
				c.mu.Lock()
				delete(c.busy, ref)
				c.mu.Unlock()
			}()
			pctx, cancel := context.WithTimeout(ctx, passTimeout)
			defer cancel()
			err := c.reconcileCluster(pctx, ref)
			if ctx.Err() != nil {
				return
			}
			// A cluster whose API server is down fails every pass: say
			// so when it starts failing, and when it recovers.
			c.mu.Lock()
			prev := c.failing[ref]
			if err != nil {
				c.failing[ref] = err.Error()
			} else {
				delete(c.failing, ref)
			}
			c.mu.Unlock()
			switch {
			case err != nil && err.Error() != prev:
				c.o.Log.Warn("alb ingress: reconciling the cluster", "cluster", ref.Name, "account", ref.Account, "region", ref.Region, "error", err)
			case err == nil && prev != "":
				c.o.Log.Info("alb ingress: reconciling the cluster works again", "cluster", ref.Name, "account", ref.Account, "region", ref.Region)
			}
		}()
	}
}

func (c *Controller) reconcileCluster(ctx context.Context, ref eks.ClusterRef) error {
	info, err := c.o.Cluster(ctx, ref)
	if err != nil {
		return err
	}
	switch info.Status {
	case "", "DELETING":
		// Deleting a cluster deletes its load balancers.
		if err := c.removeCluster(ctx, ref); err != nil {
			return err
		}
		c.dropClient(ref)
		if info.Status == "" {
			c.mu.Lock()
			delete(c.known, ref)
			delete(c.classed, ref)
			delete(c.idle, ref)
			c.mu.Unlock()
		}
		return nil
	case "ACTIVE", "UPDATING":
		c.mu.Lock()
		c.known[ref] = true
		c.mu.Unlock()
		return c.syncCluster(ctx, ref, info)
	}
	return nil
}

func (c *Controller) removeCluster(ctx context.Context, ref eks.ClusterRef) error {
	d := newDeployer(c.o.LoadBalancing, ref.Account, ref.Region, ref.Name)
	inv, err := d.inventory(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, stack := range stacks(inv) {
		if err := d.remove(ctx, inv, stack); err != nil {
			errs = append(errs, err)
			continue
		}
		c.o.Log.Info("alb ingress: deleted the load balancer of a deleted cluster's Ingress", "cluster", ref.Name, "ingress", stack)
	}
	return errors.Join(errs...)
}

func stacks(inv inventory) []string {
	set := map[string]bool{}
	for s := range inv.lbs {
		set[s] = true
	}
	for s := range inv.tgs {
		set[s] = true
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func (c *Controller) syncCluster(ctx context.Context, ref eks.ClusterRef, info ClusterInfo) error {
	k, err := c.client(ref)
	if err != nil {
		return err
	}
	if err := c.syncIngresses(ctx, ref, info, k); err != nil {
		var se *statusError
		if !errors.As(err, &se) {
			// The API server may have moved (a new port after its
			// process was replaced): connect afresh next time.
			c.dropClient(ref)
		}
		return err
	}
	return nil
}

// client is the cluster's API client, kept across passes so that its
// connections are reused rather than opened every two seconds.
func (c *Controller) client(ref eks.ClusterRef) (*kube, error) {
	c.mu.Lock()
	k := c.clients[ref]
	c.mu.Unlock()
	if k != nil {
		return k, nil
	}
	u, hc, err := c.o.API(ref)
	if err != nil {
		return nil, err
	}
	k = &kube{url: u, http: hc}
	c.mu.Lock()
	c.clients[ref] = k
	c.mu.Unlock()
	return k, nil
}

func (c *Controller) dropClient(ref eks.ClusterRef) {
	c.mu.Lock()
	k := c.clients[ref]
	delete(c.clients, ref)
	c.mu.Unlock()
	if k != nil {
		k.http.CloseIdleConnections()
	}
}

func (c *Controller) syncIngresses(ctx context.Context, ref eks.ClusterRef, info ClusterInfo, k *kube) error {
	c.mu.Lock()
	classed := c.classed[ref]
	c.mu.Unlock()
	if !classed {
		if err := k.ensureClass(ctx); err != nil {
			return err
		}
		c.mu.Lock()
		c.classed[ref] = true
		c.mu.Unlock()
	}
	classes, defaultClass, err := k.classes(ctx)
	if err != nil {
		return err
	}
	ings, err := list[Ingress](ctx, k, ingressesPath)
	if err != nil {
		return err
	}
	ours := slices.ContainsFunc(ings, func(ing Ingress) bool {
		return slices.Contains(ing.Metadata.Finalizers, Finalizer) || IsALB(&ing, classes, defaultClass)
	})
	c.mu.Lock()
	idle := c.idle[ref]
	c.mu.Unlock()
	if !ours && idle {
		return nil
	}
	d := newDeployer(c.o.LoadBalancing, ref.Account, ref.Region, ref.Name)
	inv, err := d.inventory(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.idle[ref] = !ours && len(stacks(inv)) == 0
	c.mu.Unlock()
	live := map[string]bool{}
	for i := range ings {
		ing := &ings[i]
		id := ing.Metadata.Namespace + "/" + ing.Metadata.Name
		has := slices.Contains(ing.Metadata.Finalizers, Finalizer)
		if ing.Metadata.DeletionTimestamp != nil || !IsALB(ing, classes, defaultClass) {
			if has {
				c.finalize(ctx, k, d, inv, ing)
				live[id] = true // dealt with; not garbage below
			}
			continue
		}
		live[id] = true
		if !has {
			// The finalizer first, so that deleting the Ingress waits
			// for its load balancer to go.
			if err := k.setFinalizers(ctx, ing, append(ing.Metadata.Finalizers, Finalizer)); err != nil {
				c.o.Log.Warn("alb ingress: adding the finalizer", "cluster", ref.Name, "ingress", id, "error", err)
				continue
			}
		}
		c.syncIngress(ctx, ref, k, d, inv, ing, info.Subnets)
	}
	// Load balancers of Ingresses that are gone (deleted while their
	// finalizer was removed by hand, or no longer of class alb).
	for _, stack := range stacks(inv) {
		if live[stack] {
			continue
		}
		if err := d.remove(ctx, inv, stack); err != nil {
			c.o.Log.Warn("alb ingress: removing the load balancer of a gone Ingress", "cluster", ref.Name, "ingress", stack, "error", err)
			continue
		}
		c.o.Log.Info("alb ingress: removed the load balancer of a gone Ingress", "cluster", ref.Name, "ingress", stack)
	}
	return nil
}

// finalize removes a deleted (or no longer alb) Ingress's resources, then
// its finalizer.
func (c *Controller) finalize(ctx context.Context, k *kube, d *deployer, inv inventory, ing *Ingress) {
	id := ing.Metadata.Namespace + "/" + ing.Metadata.Name
	if err := d.remove(ctx, inv, id); err != nil {
		c.report(ctx, k, ing, "Warning", "FailedCleanup", "failed to delete the load balancer: "+err.Error())
		return
	}
	var keep []string
	for _, f := range ing.Metadata.Finalizers {
		if f != Finalizer {
			keep = append(keep, f)
		}
	}
	if err := k.setFinalizers(ctx, ing, keep); err != nil && !isStatus(err, http.StatusNotFound) {
		c.o.Log.Warn("alb ingress: removing the finalizer", "cluster", d.cluster, "ingress", id, "error", err)
		return
	}
	c.mu.Lock()
	delete(c.last, ing.Metadata.UID)
	c.mu.Unlock()
	c.o.Log.Info("alb ingress: deleted the load balancer of an Ingress", "cluster", d.cluster, "ingress", id)
}

func (c *Controller) syncIngress(ctx context.Context, ref eks.ClusterRef, k *kube, d *deployer, inv inventory, ing *Ingress, subnets []string) {
	ns := ing.Metadata.Namespace
	svcs, err := k.services(ctx, ns)
	if err != nil {
		c.o.Log.Warn("alb ingress: listing services", "cluster", ref.Name, "namespace", ns, "error", err)
		return
	}
	st, err := Translate(ref.Name, ing, svcs)
	if err != nil {
		c.report(ctx, k, ing, "Warning", "FailedBuildModel", "Failed build model due to "+err.Error())
		return
	}
	targets := map[Backend][]elb.Target{}
	var nodes []Node
	for _, tg := range st.TargetGroups {
		switch tg.TargetType {
		case "ip":
			eps, err := k.endpointSlices(ctx, ns, tg.Backend.Service)
			if err != nil {
				c.o.Log.Warn("alb ingress: listing endpoint slices", "cluster", ref.Name, "service", ns+"/"+tg.Backend.Service, "error", err)
				return
			}
			targets[tg.Backend] = ipTargets(tg, eps)
		case "instance":
			if nodes == nil {
				if nodes, err = k.nodes(ctx); err != nil {
					c.o.Log.Warn("alb ingress: listing nodes", "cluster", ref.Name, "error", err)
					return
				}
			}
			targets[tg.Backend] = instanceTargets(ref, tg, nodes)
		}
	}
	host, err := d.deploy(ctx, inv, st, subnets, targets)
	if err != nil {
		c.report(ctx, k, ing, "Warning", "FailedDeployModel", "Failed deploy model due to "+err.Error())
		return
	}
	cur := ing.Status.LoadBalancer.Ingress
	if len(cur) != 1 || cur[0].Hostname != host || cur[0].IP != "" {
		if err := k.setHostname(ctx, ing, host); err != nil {
			c.o.Log.Warn("alb ingress: writing the Ingress's status", "cluster", ref.Name, "ingress", st.ID, "error", err)
			return
		}
	}
	c.report(ctx, k, ing, "Normal", "SuccessfullyReconciled", "Successfully reconciled")
}

// report logs and records an Event on the Ingress when its outcome
// changed since the last pass, so a steady failure is not repeated every
// two seconds.
func (c *Controller) report(ctx context.Context, k *kube, ing *Ingress, typ, reason, msg string) {
	c.mu.Lock()
	same := c.last[ing.Metadata.UID] == reason+" "+msg
	c.last[ing.Metadata.UID] = reason + " " + msg
	c.mu.Unlock()
	if same {
		return
	}
	id := ing.Metadata.Namespace + "/" + ing.Metadata.Name
	if typ == "Warning" {
		c.o.Log.Warn("alb ingress: "+reason, "ingress", id, "error", msg)
	} else {
		c.o.Log.Info("alb ingress: "+reason, "ingress", id)
	}
	if err := k.event(ctx, ing, typ, reason, msg); err != nil {
		c.o.Log.Warn("alb ingress: recording an event", "ingress", id, "error", err)
	}
}

// ipTargets are the ready endpoints of a backend, at the port of its
// Service port in each EndpointSlice.
func ipTargets(tg TargetGroup, eps []EndpointSlice) []elb.Target {
	seen := map[elb.Target]bool{}
	var out []elb.Target
	for _, s := range eps {
		var port int32
		for _, p := range s.Ports {
			if str(p.Name) == tg.PortName && p.Port != nil {
				port = *p.Port
			}
		}
		if port == 0 {
			continue
		}
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready || len(e.Addresses) == 0 {
				continue
			}
			t := elb.Target{ID: e.Addresses[0], Port: port}
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].ID < out[j].ID || out[i].ID == out[j].ID && out[i].Port < out[j].Port
	})
	return out
}

// instanceTargets are the Ready nodes at the Service's node port. Berth's
// nodes have no EC2 instance, so each gets a stable instance id made from
// its cluster and name; ELB reaches instance targets on this host, where
// Berth's nodes serve node ports.
func instanceTargets(ref eks.ClusterRef, tg TargetGroup, nodes []Node) []elb.Target {
	var out []elb.Target
	for _, n := range nodes {
		ready := false
		for _, cond := range n.Status.Conditions {
			ready = ready || cond.Type == "Ready" && cond.Status == "True"
		}
		if !ready {
			continue
		}
		out = append(out, elb.Target{ID: instanceID(ref, n.Metadata.Name), Port: tg.Port})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func instanceID(ref eks.ClusterRef, node string) string {
	h := sha256.Sum256([]byte(ref.Account + "/" + ref.Region + "/" + ref.Name + "/" + node))
	return "i-" + hex.EncodeToString(h[:])[:17]
}
