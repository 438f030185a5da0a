// Package traffic computes how CodeDeploy moves production traffic from
// the original (blue) task set to the replacement (green) one: the share
// green gets at each moment of the AllowTraffic event, for the three
// traffic routing types of a deployment configuration.
package traffic

import (
	"fmt"
	"time"
)

// Step gives green Percent of production traffic from After minutes
// after traffic shifting starts.
type Step struct {
	After   int
	Percent int
}

// Plan is the steps of a shift in time order; the last one is 100%.
type Plan []Step

// AllAtOnce moves all traffic at once.
func AllAtOnce() Plan { return Plan{{After: 0, Percent: 100}} }

// Canary moves percent first and the rest interval minutes later.
func Canary(percent, interval int) (Plan, error) {
	if percent < 1 || percent > 99 {
		return nil, fmt.Errorf("canaryPercentage must be between 1 and 99, got %d", percent)
	}
	if interval < 1 {
		return nil, fmt.Errorf("canaryInterval must be at least 1 minute, got %d", interval)
	}
	return Plan{{After: 0, Percent: percent}, {After: interval, Percent: 100}}, nil
}

// Linear adds percent every interval minutes, starting at once, until
// all traffic is moved.
func Linear(percent, interval int) (Plan, error) {
	if percent < 1 || percent > 99 {
		return nil, fmt.Errorf("linearPercentage must be between 1 and 99, got %d", percent)
	}
	if interval < 1 {
		return nil, fmt.Errorf("linearInterval must be at least 1 minute, got %d", interval)
	}
	var p Plan
	for i := 0; ; i++ {
		share := min((i+1)*percent, 100)
		p = append(p, Step{After: i * interval, Percent: share})
		if share == 100 {
			return p, nil
		}
	}
}

// At returns green's share elapsed after the shift started, when a
// CodeDeploy minute lasts minute, and the index of the step in force.
func (p Plan) At(elapsed, minute time.Duration) (percent, step int) {
	for i, s := range p {
		if elapsed >= time.Duration(s.After)*minute {
			percent, step = s.Percent, i
		}
	}
	return percent, step
}

// Duration is how long the whole shift takes.
func (p Plan) Duration(minute time.Duration) time.Duration {
	if len(p) == 0 {
		return 0
	}
	return time.Duration(p[len(p)-1].After) * minute
}
