// Package deploy holds the arithmetic of ECS rolling deployments, apart
// from any store or API: how many tasks of the new deployment to start and
// how many of the old ones to stop in one reconcile pass, in the order ECS
// uses (start new tasks up to maximumPercent, stop old ones down to
// minimumHealthyPercent as new ones become healthy), and the deployment
// circuit breaker's failure threshold.
//
// The service controller in package ecs calls Plan on every pass with what
// it observes; Plan is a pure function, so a pass after a restart plans from
// the same observations the same way.
package deploy

import (
	"crypto/rand"
	"math/big"
)

// Defaults of deploymentConfiguration for the REPLICA and DAEMON
// scheduling strategies.
const (
	ReplicaMinHealthyPercent = 100
	ReplicaMaxPercent        = 200
	DaemonMinHealthyPercent  = 0
	DaemonMaxPercent         = 100
)

// FailureThreshold is the number of failed tasks after which the
// deployment circuit breaker marks a deployment FAILED:
// min(max(ceil(0.5 * desiredCount), 3), 200).
func FailureThreshold(desired int) int {
	return min(max((desired+1)/2, 3), 200)
}

// Observed is what the controller sees of a service in one pass.
type Observed struct {
	// Desired is the service's desiredCount.
	Desired int
	// MinHealthyPercent and MaxPercent are deploymentConfiguration's.
	MinHealthyPercent, MaxPercent int
	// New counts the primary deployment's tasks that are not stopping:
	// Healthy ones (RUNNING and passing health checks) and the others
	// (still starting, or RUNNING but not yet healthy).
	NewHealthy, NewOther int
	// Old counts the tasks of older deployments that are not stopping.
	OldHealthy, OldOther int
	// CanStart is false when the primary deployment must not launch tasks
	// (it FAILED with the circuit breaker on).
	CanStart bool
}

// Step is what one pass does.
type Step struct {
	// StartNew tasks of the primary deployment.
	StartNew int
	// StopOldOther and StopOldHealthy tasks of older deployments: the ones
	// not healthy first, as they serve no one.
	StopOldOther, StopOldHealthy int
	// StopNew tasks of the primary deployment (scale-in), the ones not
	// healthy first.
	StopNewOther, StopNewHealthy int
}

// Plan decides one pass of a rolling deployment.
//
//   - The primary deployment is scaled to Desired, never letting all tasks
//     exceed floor(Desired * MaxPercent / 100) (at least Desired when there
//     is nothing old to replace, so that maximumPercent 100 still converges).
//   - Old tasks that are not healthy are stopped at once; healthy old tasks
//     are stopped only while the healthy total stays at or above
//     ceil(Desired * MinHealthyPercent / 100).
//   - Extra primary tasks (desiredCount lowered) are stopped, not healthy
//     ones first, without going below the minimum while old tasks remain.
func Plan(o Observed) Step {
	var s Step
	maxTotal := o.Desired * o.MaxPercent / 100
	minHealthy := (o.Desired*o.MinHealthyPercent + 99) / 100
	newAll := o.NewHealthy + o.NewOther
	oldAll := o.OldHealthy + o.OldOther

	// Old tasks that are not healthy go first: they count for nothing.
	s.StopOldOther = o.OldOther
	oldAll -= s.StopOldOther

	if newAll > o.Desired {
		extra := newAll - o.Desired
		s.StopNewOther = min(extra, o.NewOther)
		s.StopNewHealthy = extra - s.StopNewOther
		newAll = o.Desired
	}

	if o.CanStart && newAll < o.Desired {
		room := maxTotal - newAll - oldAll
		if oldAll == 0 {
			room = o.Desired - newAll
		}
		s.StartNew = max(0, min(o.Desired-newAll, room))
	}

	// Healthy old tasks may go while the healthy total stays at the
	// minimum; once the primary is fully healthy they all go.
	healthy := o.NewHealthy - s.StopNewHealthy + o.OldHealthy
	switch {
	case o.NewHealthy-s.StopNewHealthy >= o.Desired:
		s.StopOldHealthy = o.OldHealthy
	default:
		s.StopOldHealthy = max(0, min(o.OldHealthy, healthy-minHealthy))
	}
	return s
}

// NewID is a deployment id as ECS makes them: "ecs-svc/" and 19 digits.
func NewID() string {
	n, err := rand.Int(rand.Reader, big.NewInt(9_000_000_000_000_000_000))
	if err != nil {
		// crypto/rand does not fail on supported platforms.
		n = big.NewInt(0)
	}
	return "ecs-svc/" + new(big.Int).Add(n, big.NewInt(1_000_000_000_000_000_000)).String()
}
