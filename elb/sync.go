package elb

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/elb/proxy"
	"github.com/berth-dev/berth/store"
)

// SyncInterval is how often Run reconciles the data plane with the store
// when nothing has changed through the API: it ends draining and rebinds
// listeners whose port was busy.
const SyncInterval = time.Second

// Run reconciles the data plane with the store until ctx ends. The first
// pass re-creates the listeners of a restarted Berth.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(SyncInterval)
	defer t.Stop()
	var last string
	for {
		if err := s.Sync(ctx); err != nil && ctx.Err() == nil {
			if msg := err.Error(); msg != last { // say it once, not every second
				s.log.Warn("load balancer data plane", "error", err)
				last = msg
			}
		} else {
			last = ""
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// kick reconciles the data plane after a change, so that a listener
// answers when CreateListener returns.
func (s *Service) kick(ctx context.Context) {
	if err := s.Sync(context.WithoutCancel(ctx)); err != nil {
		s.log.Warn("load balancer data plane", "error", err)
	}
}

// Sync hands the data plane the whole configuration of every account and
// region, after removing targets whose draining is over.
func (s *Service) Sync(ctx context.Context) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	now := s.clock()
	cfg, drained, err := s.build(ctx, now)
	if err != nil {
		return err
	}
	for _, ar := range drained {
		if err := s.expireDraining(ctx, ar[0], ar[1], now); err != nil {
			return err
		}
	}
	if len(drained) > 0 {
		if cfg, _, err = s.build(ctx, now); err != nil {
			return err
		}
	}
	s.fillTLS(ctx, &cfg)
	// A listener that cannot bind yet must not keep health from being
	// kept.
	applyErr := s.proxy.Apply(cfg)
	return errors.Join(applyErr, s.persistHealth(ctx, cfg))
}

// persistHealth writes the settled health (healthy or unhealthy) of every
// target whose state the proxy sees differently from the store. Health is
// observed in memory; keeping its last settled value means a restarted
// Berth routes to the targets that were healthy and tells the ECS service
// scheduler so, rather than showing every target initial again (which
// made the scheduler count no healthy task and drain the old deployment at
// once). Writes happen only on transitions, one transaction per group.
func (s *Service) persistHealth(ctx context.Context, cfg proxy.Config) error {
	for _, g := range cfg.TargetGroups {
		changed := map[string]proxy.Health{}
		for _, t := range g.Targets {
			h, ok := s.proxy.Health(g.ARN, t.Key)
			if ok && (h.State == proxy.StateHealthy || h.State == proxy.StateUnhealthy) && h != t.Last {
				changed[t.Key] = h
			}
		}
		p, ok := parseARN(g.ARN)
		if len(changed) == 0 || !ok {
			continue
		}
		if err := s.keepHealth(ctx, p.Account, p.Region, p.TGID, changed); err != nil {
			return err
		}
	}
	return nil
}

// keepHealth writes the health of targets (by key) of one group in one
// transaction; targets gone meanwhile are skipped.
func (s *Service) keepHealth(ctx context.Context, acct, region, tgID string, changed map[string]proxy.Health) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		var tg tgRecord
		found, err := store.LoadDoc(tx, kindTG, acct, region, tgID, &tg)
		if err != nil || !found {
			return err
		}
		for i := range tg.Targets {
			if h, ok := changed[tg.Targets[i].key()]; ok {
				tg.Targets[i].LastHealth = h
			}
		}
		return store.PutDoc(tx, kindTG, acct, region, tg.ID, tg, s.clock())
	})
}

// build reads the data plane's configuration; drained lists the account
// and region pairs with targets due to leave draining.
func (s *Service) build(ctx context.Context, now time.Time) (cfg proxy.Config, drained [][2]string, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error {
		regions, err := tx.ListResources(kindRegion, "", "", "", store.Page{})
		if err != nil {
			return err
		}
		for _, r := range regions {
			acct, region, ok := strings.Cut(r.ID, "/")
			if !ok {
				continue
			}
			due, err := s.buildRegion(tx, acct, region, now, &cfg)
			if err != nil {
				return err
			}
			if due {
				drained = append(drained, [2]string{acct, region})
			}
		}
		return nil
	})
	return cfg, drained, err
}

func (s *Service) buildRegion(tx store.Tx, acct, region string, now time.Time, cfg *proxy.Config) (due bool, err error) {
	lbs, err := list[lbRecord](tx, kindLB, acct, region, "")
	if err != nil {
		return false, err
	}
	used := map[string]bool{} // target group ARNs
	for _, lb := range lbs {
		listeners, err := list[listenerRecord](tx, kindListener, acct, region, lb.ID+"/")
		if err != nil {
			return false, err
		}
		for _, l := range listeners {
			refs, err := listenerRules(tx, acct, region, l, lb)
			if err != nil {
				return false, err
			}
			pl := proxy.Listener{ARN: listenerARN(acct, region, lb.Name, l), Port: int(l.Port), TLS: listenerTLS(l)}
			for _, ref := range refs {
				actions := ref.rule.Actions
				var conds []proxy.Condition
				if ref.isDefault {
					actions = l.DefaultActions
				}
				for _, c := range ref.rule.Conditions {
					if !ref.isDefault {
						conds = append(conds, proxyCondition(c))
					}
				}
				for _, g := range forwardGroups(actions) {
					used[g.ARN] = true
				}
				pl.Rules = append(pl.Rules, proxy.Rule{Conditions: conds, Action: proxyAction(actions)})
			}
			cfg.Listeners = append(cfg.Listeners, pl)
		}
	}
	tgs, err := list[tgRecord](tx, kindTG, acct, region, "")
	if err != nil {
		return false, err
	}
	for _, tg := range tgs {
		delay := time.Duration(tg.deregistrationDelay()) * time.Second
		for _, t := range tg.Targets {
			if t.draining() && !now.Before(t.Deregistered.Add(delay)) {
				due = true
			}
		}
		arn := tgARN(acct, region, tg)
		if !used[arn] {
			continue
		}
		cfg.TargetGroups = append(cfg.TargetGroups, proxyGroup(arn, tg))
	}
	return due, nil
}

func proxyGroup(arn string, tg tgRecord) proxy.TargetGroup {
	hc := tg.HealthCheck
	port, _ := strconv.Atoi(hc.Port) // traffic-port: 0
	g := proxy.TargetGroup{ARN: arn, HealthCheck: proxy.HealthCheck{
		Enabled: hc.Enabled, Path: hc.Path, Port: port,
		Interval: time.Duration(hc.Interval) * time.Second, Timeout: time.Duration(hc.Timeout) * time.Second,
		Healthy: int(hc.Healthy), Unhealthy: int(hc.Unhealthy), Matcher: hc.Matcher,
	}}
	for _, t := range tg.Targets {
		host := t.ID
		if tg.TargetType == string(elbv2.TargetTypeEnumInstance) {
			host = InstanceHost
		}
		g.Targets = append(g.Targets, proxy.Target{Key: t.key(), Host: host, Port: int(t.Port), Draining: t.draining(), Last: t.LastHealth})
	}
	return g
}

// InstanceHost is where instance targets are reached: every container
// instance is this host.
const InstanceHost = "127.0.0.1"

func proxyAction(actions []elbv2.Action) proxy.Action {
	a, ok := terminal(actions)
	if !ok {
		return proxy.Action{}
	}
	switch *a.Type {
	case elbv2.ActionTypeEnumForward:
		out := proxy.Action{Type: proxy.ActionForward}
		for _, g := range forwardGroups(actions) {
			out.Forward = append(out.Forward, proxy.WeightedGroup{ARN: g.ARN, Weight: int(g.Weight)})
		}
		return out
	case elbv2.ActionTypeEnumFixedResponse:
		c := a.FixedResponseConfig
		if c == nil {
			return proxy.Action{}
		}
		code, _ := strconv.Atoi(deref(c.StatusCode))
		return proxy.Action{Type: proxy.ActionFixedResponse, Fixed: proxy.FixedResponse{
			StatusCode: code, ContentType: deref(c.ContentType), Body: deref(c.MessageBody)}}
	case elbv2.ActionTypeEnumRedirect:
		c := a.RedirectConfig
		if c == nil {
			return proxy.Action{}
		}
		code := 301
		if c.StatusCode != nil && *c.StatusCode == elbv2.RedirectActionStatusCodeEnumHttp302 {
			code = 302
		}
		return proxy.Action{Type: proxy.ActionRedirect, Redirect: proxy.Redirect{
			Protocol: deref(c.Protocol), Host: deref(c.Host), Port: deref(c.Port), Path: deref(c.Path),
			Query: deref(c.Query), StatusCode: code}}
	}
	return proxy.Action{}
}

// expireDraining removes the targets of acct/region whose deregistration
// delay has passed, in one transaction.
func (s *Service) expireDraining(ctx context.Context, acct, region string, now time.Time) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		tgs, err := list[tgRecord](tx, kindTG, acct, region, "")
		if err != nil {
			return err
		}
		for _, tg := range tgs {
			delay := time.Duration(tg.deregistrationDelay()) * time.Second
			keep := tg.Targets[:0:0]
			for _, t := range tg.Targets {
				if !t.draining() || now.Before(t.Deregistered.Add(delay)) {
					keep = append(keep, t)
				}
			}
			if len(keep) == len(tg.Targets) {
				continue
			}
			tg.Targets = keep
			if err := store.PutDoc(tx, kindTG, acct, region, tg.ID, tg, now); err != nil {
				return err
			}
		}
		return nil
	})
}
