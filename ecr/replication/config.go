// Package replication is ECR's private image replication: each push (and
// tag change) to a repository that a registry's replication rules match is
// copied to every destination of those rules, another Region or account of
// this Berth (a copy by reference: blobs are linked, no byte moves) or a
// registry of another Berth server mapped in the configuration (pushed
// over the OCI API with a token from the remote's GetAuthorizationToken).
//
// The worker is level-triggered. A push only marks the image in memory;
// the worker records a status per destination (IN_PROGRESS, COMPLETE,
// FAILED with a failure code) and a queue entry in the state store in one
// transaction, and works from the queue, so a restart resumes the work and
// a sweep catches images whose event was lost. A destination that fails
// is retried with backoff; deletions are not replicated (as on AWS), and
// images written by replication are not replicated again.
package replication

import (
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/store"
)

// AppliedFor is the repository creation template scenario of replication.
const AppliedFor = "REPLICATION"

// Resource kinds replication keeps in the state store.
const (
	// kindConfig is a registry's replication configuration. It lives in
	// the server-wide namespace (account and region "-"), id
	// account/region, so the sweep finds every configuration.
	kindConfig = "ecr.replication-configuration"
	// kindStatus is an image's replication status, in the source
	// registry's namespace, id repository@digest.
	kindStatus = "ecr.replication-status"
	// kindQueue is work left for an image (server-wide namespace, id
	// account/region/repository@digest).
	kindQueue = "ecr.replication-queue"
	// kindReplica marks an image written by replication in its
	// destination registry (id repository@digest): it is not replicated
	// again.
	kindReplica = "ecr.replication-replica"
)

const globalNS = "-"

// Destination is where a rule replicates to.
type Destination struct {
	Region     string `json:"region"`
	RegistryID string `json:"registryId"`
}

func (d Destination) key() string { return d.RegistryID + "/" + d.Region }

// Rule is one replication rule: its destinations and the repository name
// prefixes it applies to (every repository when there are none).
type Rule struct {
	Destinations []Destination `json:"destinations"`
	Prefixes     []string      `json:"prefixes,omitempty"`
}

// Configuration is a registry's replication configuration.
type Configuration struct {
	Rules []Rule `json:"rules"`
	// Since is when the registry first had rules: only images pushed
	// after it are replicated (the sweep's bound; events are always
	// after it).
	Since     time.Time `json:"since,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// Matches reports whether a rule applies to a repository name: a prefix
// match on any filter, or no filter at all.
func (r Rule) Matches(name string) bool {
	if len(r.Prefixes) == 0 {
		return true
	}
	for _, p := range r.Prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// DestinationsFor is the union of the destinations of the rules that
// apply to a repository, in rule order.
func (c Configuration) DestinationsFor(name string) []Destination {
	var out []Destination
	for _, r := range c.Rules {
		if !r.Matches(name) {
			continue
		}
		for _, d := range r.Destinations {
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	return out
}

func configID(account, region string) string { return account + "/" + region }

// GetConfig reads a registry's configuration; a registry without one has
// no rules.
func GetConfig(tx store.Tx, account, region string) (Configuration, error) {
	var c Configuration
	if _, err := store.LoadDoc(tx, kindConfig, globalNS, globalNS, configID(account, region), &c); err != nil {
		return c, err
	}
	if c.Rules == nil {
		c.Rules = []Rule{}
	}
	return c, nil
}

// PutConfig replaces a registry's configuration; Since is kept while the
// registry has rules and set when it gets its first.
func PutConfig(tx store.Tx, account, region string, c Configuration, now time.Time) (Configuration, error) {
	old, err := GetConfig(tx, account, region)
	if err != nil {
		return c, err
	}
	c.UpdatedAt = now
	switch {
	case len(c.Rules) == 0:
		c.Since = time.Time{}
	case len(old.Rules) > 0 && !old.Since.IsZero():
		c.Since = old.Since
	default:
		c.Since = now
	}
	return c, store.PutDoc(tx, kindConfig, globalNS, globalNS, configID(account, region), c, now)
}
