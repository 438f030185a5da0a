package ecs

import "slices"

// AgentCapabilities are the capability attributes Berth's task agent
// advertises for its container instance, the local one or a remote one
// (`berth agent`), since both run tasks with the same agent.
func AgentCapabilities() []string { return slices.Clone(localCapabilities) }
