package ecs

import (
	"math/rand/v2"
	"slices"

	ecsapi "github.com/berth-dev/berth/api/ecs"
)

// Placement of EC2 tasks on container instances: an instance is a candidate
// when it is ACTIVE, its agent is connected, it has every attribute the task
// definition requires, it satisfies the placement constraints, and its
// remaining CPU, memory and ports cover the task. Among candidates the first
// placement strategy chooses; the default spreads tasks over instances.

// demand is what one task takes from its instance.
func demandOf(td *ecsapi.TaskDefinition, containers []containerRecord, cpu, mem string) resources {
	var d resources
	if n, ok := parseCPU(cpu); ok && cpu != "" {
		d.CPU = n
	} else {
		for _, c := range containers {
			d.CPU += int64(c.CPU)
		}
	}
	if n, ok := parseMemory(mem); ok && mem != "" {
		d.Memory = n
	} else {
		for _, c := range containers {
			// The soft limit is what ECS reserves when a container has one.
			switch {
			case c.MemoryReservation != nil:
				d.Memory += int64(*c.MemoryReservation)
			case c.Memory != nil:
				d.Memory += int64(*c.Memory)
			}
		}
	}
	mode := deref(td.NetworkMode)
	if mode == ecsapi.NetworkModeAwsvpc || mode == ecsapi.NetworkModeNone {
		return d // the task has its own network namespace: no host ports
	}
	for _, c := range td.ContainerDefinitions {
		for _, pm := range c.PortMappings {
			p := deref(pm.HostPort)
			if mode == ecsapi.NetworkModeHost {
				p = deref(pm.ContainerPort)
			}
			if p == 0 {
				continue // a dynamic port, chosen by the agent
			}
			if deref(pm.Protocol) == ecsapi.TransportProtocolUdp {
				d.PortsUDP = append(d.PortsUDP, p)
			} else {
				d.Ports = append(d.Ports, p)
			}
		}
	}
	d.Ports, d.PortsUDP = unionPorts(d.Ports, nil), unionPorts(d.PortsUDP, nil)
	return d
}

// placementProblem says why a task cannot go on an instance ("" when it
// can), in the words of RunTask's failure reasons.
func placementProblem(in *instanceRecord, td *ecsapi.TaskDefinition, d resources, constraints []constraint, placedHere bool) string {
	if in.Status != statusActive {
		return in.Status
	}
	if !in.AgentConnected {
		return "AGENT"
	}
	for _, req := range td.RequiresAttributes {
		if !slices.ContainsFunc(in.Attributes, func(a ecsapi.Attribute) bool {
			return deref(a.Name) == deref(req.Name) && (req.Value == nil || deref(a.Value) == deref(req.Value))
		}) {
			return "ATTRIBUTE"
		}
	}
	for _, c := range constraints {
		if c.distinct && placedHere {
			return "DistinctInstance placement constraint unsatisfied."
		}
		if c.memberOf != nil && !c.memberOf.match(in) {
			return "MemberOf placement constraint unsatisfied."
		}
	}
	rem := in.remaining()
	switch {
	case d.CPU > rem.CPU:
		return "RESOURCE:CPU"
	case d.Memory > rem.Memory:
		return "RESOURCE:MEMORY"
	case slices.ContainsFunc(d.Ports, func(p int32) bool { return slices.Contains(rem.Ports, p) }):
		return "RESOURCE:PORTS"
	case slices.ContainsFunc(d.PortsUDP, func(p int32) bool { return slices.Contains(rem.PortsUDP, p) }):
		return "RESOURCE:PORTS_UDP"
	}
	return ""
}

// constraint is a parsed placement constraint.
type constraint struct {
	distinct bool
	memberOf instanceFilter
}

func parseConstraints(task []ecsapi.PlacementConstraint, def []ecsapi.TaskDefinitionPlacementConstraint) ([]constraint, error) {
	var out []constraint
	add := func(typ, expr string) error {
		switch typ {
		case string(ecsapi.PlacementConstraintTypeDistinctInstance):
			out = append(out, constraint{distinct: true})
		case string(ecsapi.PlacementConstraintTypeMemberOf):
			f, err := parseFilter(expr)
			if err != nil {
				return err
			}
			out = append(out, constraint{memberOf: f})
		default:
			return ecsapi.NewInvalidParameterException("Unknown placement constraint type %s.", typ)
		}
		return nil
	}
	for _, c := range def {
		if err := add(string(deref(c.Type)), deref(c.Expression)); err != nil {
			return nil, err
		}
	}
	for _, c := range task {
		if err := add(string(deref(c.Type)), deref(c.Expression)); err != nil {
			return nil, err
		}
	}
	if len(task)+len(def) > 10 {
		return nil, ecsapi.NewInvalidParameterException("A task can have at most 10 placement constraints.")
	}
	return out, nil
}

// choose picks among fitting instances by the first placement strategy.
func choose(fit []*instanceRecord, strategies []ecsapi.PlacementStrategy) *instanceRecord {
	if len(fit) == 0 {
		return nil
	}
	var st ecsapi.PlacementStrategy
	if len(strategies) > 0 {
		st = strategies[0]
	}
	switch deref(st.Type) {
	case ecsapi.PlacementStrategyTypeRandom:
		return fit[rand.IntN(len(fit))]
	case ecsapi.PlacementStrategyTypeBinpack:
		// The instance with the least of the field left.
		return slices.MinFunc(fit, func(a, b *instanceRecord) int {
			if deref(st.Field) == "cpu" {
				return cmpInt(a.remaining().CPU, b.remaining().CPU)
			}
			return cmpInt(a.remaining().Memory, b.remaining().Memory)
		})
	}
	// spread (and the default): the instance with the fewest tasks.
	return slices.MinFunc(fit, func(a, b *instanceRecord) int {
		return cmpInt(int64(a.RunningTasks+a.PendingTasks), int64(b.RunningTasks+b.PendingTasks))
	})
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
