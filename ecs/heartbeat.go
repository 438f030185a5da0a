package ecs

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/store"
)

// Remote agents (berth agent) have no channel to Berth but the ECS API, so
// their calls are their heartbeat, as the ECS agent's ACS connection is
// AWS's: an agent polls ListTasks for its container instance every second
// or two. An instance whose agent has not been heard from for
// Options.AgentTimeout shows agentConnected false, and the schedulers, which only
// place on connected instances, leave it alone until it is heard again.
// The local host's instances are Berth's own agent: always connected.
const defaultAgentTimeout = 30 * time.Second

// heartbeats holds when each remote instance's agent was last heard from,
// in memory: after a restart every agent gets the timeout from the start
// to be heard again, rather than all being marked gone at once.
type heartbeats struct {
	timeout time.Duration // Options.AgentTimeout
	mu      sync.Mutex
	started time.Time
	last    map[string]time.Time // scope/cluster/instance id
}

func heartbeatKey(sc scope, cluster, id string) string {
	return sc.account + "/" + sc.region + "/" + instanceKey(cluster, id)
}

// heard notes a call from the agent of a container instance.
func (s *Service) heard(sc scope, cluster, id string) {
	h := &s.heartbeats
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last == nil {
		h.last = map[string]time.Time{}
	}
	h.last[heartbeatKey(sc, cluster, id)] = s.clock()
}

// lastHeard is when the instance's agent was last heard from, at the
// earliest when this Berth started watching.
func (s *Service) lastHeard(sc scope, cluster, id string) time.Time {
	h := &s.heartbeats
	h.mu.Lock()
	defer h.mu.Unlock()
	if t, ok := h.last[heartbeatKey(sc, cluster, id)]; ok && t.After(h.started) {
		return t
	}
	return h.started
}

// agentTimeout is Options.AgentTimeout or its default.
func (s *Service) agentTimeout() time.Duration {
	if s.heartbeats.timeout > 0 {
		return s.heartbeats.timeout
	}
	return defaultAgentTimeout
}

// watchAgents marks remote instances connected or not, every third of the
// timeout, until ctx ends.
func (s *Service) watchAgents(ctx context.Context) {
	s.heartbeats.mu.Lock()
	s.heartbeats.started = s.clock()
	s.heartbeats.mu.Unlock()
	t := time.NewTicker(s.agentTimeout() / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.checkAgents(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("ecs: checking remote agents' heartbeats", "err", err)
		}
	}
}

// checkAgents makes every remote instance's agentConnected agree with its
// heartbeat; it writes only the instances that change.
func (s *Service) checkAgents(ctx context.Context) error {
	scopes, err := s.allScopes(ctx)
	if err != nil {
		return err
	}
	for _, sc := range scopes {
		err := s.st.Update(ctx, func(tx store.Tx) error {
			now := s.clock()
			return listDocs(tx, kindInstance, sc, "", "", func(key string, in *instanceRecord) (bool, error) {
				if in.Local || in.Status == statusInactive {
					return true, nil
				}
				connected := now.Sub(s.lastHeard(sc, in.Cluster, in.ID)) < s.agentTimeout()
				if connected == in.AgentConnected {
					return true, nil
				}
				s.log.Info("ecs: a remote agent's connection changed", "account", sc.account, "region", sc.region,
					"cluster", in.Cluster, "containerInstance", in.ID, "agentConnected", connected)
				in.AgentConnected = connected
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

// allScopes lists every account and region that has ECS records.
func (s *Service) allScopes(ctx context.Context) ([]scope, error) {
	var scopes []scope
	err := s.st.View(ctx, func(tx store.Tx) error {
		scopes = scopes[:0]
		return listDocs(tx, kindScope, global, "", "", func(id string, _ *struct{}) (bool, error) {
			if account, region, ok := strings.Cut(id, "/"); ok {
				scopes = append(scopes, scope{account: account, region: region})
			}
			return true, nil
		})
	})
	return scopes, err
}
