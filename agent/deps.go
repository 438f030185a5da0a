package agent

import (
	"fmt"
	"strings"
	"time"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/runtime"
)

// depResult is where a container stands on its dependencies.
type depResult int

const (
	depWait   depResult = iota // not yet: some condition is still pending
	depMet                     // every condition holds: the container may start
	depFailed                  // a condition can never hold: the container will not start
)

// dependency is one startup condition of a container: its dependsOn, plus
// links, which ECS treats as START dependencies.
type dependency struct {
	container string
	condition ecsapi.ContainerCondition
}

func dependencies(def ecsapi.ContainerDefinition) []dependency {
	var out []dependency
	for _, d := range def.DependsOn {
		out = append(out, dependency{container: deref(d.ContainerName), condition: deref(d.Condition)})
	}
	for _, l := range def.Links {
		target, _, _ := strings.Cut(l, ":")
		out = append(out, dependency{container: target, condition: ecsapi.ContainerConditionStart})
	}
	return out
}

// started reports whether a container was ever started.
func started(info runtime.ContainerInfo) bool {
	return info.State == runtime.StateRunning || (info.State == runtime.StateExited && !info.StartedAt.IsZero())
}

// checkDeps judges a container's conditions against what the engine shows
// (obs, by container name) and the containers that will never start
// (abandoned). It returns, when waiting, the time at which a pending
// condition times out (zero when none can), and when failed, why.
func checkDeps(defs map[string]ecsapi.ContainerDefinition, def ecsapi.ContainerDefinition,
	obs map[string]runtime.ContainerInfo, abandoned map[string]string, now time.Time) (depResult, string, time.Time) {
	result := depMet
	var wake time.Time
	for _, d := range dependencies(def) {
		depDef, known := defs[d.container]
		if !known {
			return depFailed, fmt.Sprintf("it depends on container %s, which the task does not have", d.container), time.Time{}
		}
		info, ok := obs[d.container]
		if !ok || !started(info) {
			if why, gone := abandoned[d.container]; gone {
				return depFailed, fmt.Sprintf("dependency %s (condition %s) never started: %s", d.container, d.condition, why), time.Time{}
			}
			result = depWait
			continue
		}
		met, failed := false, ""
		switch d.condition {
		case ecsapi.ContainerConditionStart:
			met = true
		case ecsapi.ContainerConditionComplete:
			met = info.State == runtime.StateExited
		case ecsapi.ContainerConditionSuccess:
			if info.State == runtime.StateExited {
				if info.ExitCode == 0 {
					met = true
				} else {
					failed = fmt.Sprintf("dependency %s did not exit successfully (exit code %d), so the SUCCESS condition cannot be met", d.container, info.ExitCode)
				}
			}
		case ecsapi.ContainerConditionHealthy:
			switch {
			case info.Health.Status == runtime.HealthHealthy && info.State == runtime.StateRunning:
				met = true
			case info.State == runtime.StateExited:
				failed = fmt.Sprintf("dependency %s exited (exit code %d) before it became HEALTHY", d.container, info.ExitCode)
			case info.Health.Status == runtime.HealthNone || info.Health.Status == "":
				failed = fmt.Sprintf("dependency %s has no health check, so the HEALTHY condition cannot be met", d.container)
			}
		default:
			failed = fmt.Sprintf("dependency %s has the unknown condition %q", d.container, d.condition)
		}
		if failed != "" {
			return depFailed, failed, time.Time{}
		}
		if met {
			continue
		}
		deadline := info.StartedAt.Add(startTimeout(depDef))
		if !now.Before(deadline) {
			return depFailed, fmt.Sprintf("dependency %s did not reach the %s condition within its start timeout of %s",
				d.container, d.condition, startTimeout(depDef)), time.Time{}
		}
		if wake.IsZero() || deadline.Before(wake) {
			wake = deadline
		}
		result = depWait
	}
	return result, "", wake
}

// createOrder orders containers so that the ones a container takes volumes
// from or links to are created before it (the engine needs them to exist).
func createOrder(defs []ecsapi.ContainerDefinition) ([]ecsapi.ContainerDefinition, error) {
	byName := map[string]ecsapi.ContainerDefinition{}
	for _, d := range defs {
		byName[deref(d.Name)] = d
	}
	needs := func(d ecsapi.ContainerDefinition) []string {
		var out []string
		for _, vf := range d.VolumesFrom {
			out = append(out, deref(vf.SourceContainer))
		}
		for _, l := range d.Links {
			target, _, _ := strings.Cut(l, ":")
			out = append(out, target)
		}
		return out
	}
	var out []ecsapi.ContainerDefinition
	state := map[string]int{} // 0 new, 1 visiting, 2 done
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		d, ok := byName[name]
		if !ok {
			return fmt.Errorf("container %s needs container %s, which the task does not have", path[len(path)-1], name)
		}
		switch state[name] {
		case 1:
			return fmt.Errorf("containers %s take volumes from or link to each other in a cycle", strings.Join(append(path, name), " → "))
		case 2:
			return nil
		}
		state[name] = 1
		for _, n := range needs(d) {
			if err := visit(n, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = 2
		out = append(out, d)
		return nil
	}
	for _, d := range defs {
		if err := visit(deref(d.Name), nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// stopWaves groups containers for stopping: a container stops only after
// every container that depends on it (dependsOn or links) has, the reverse
// of the startup order. Wave 0 stops first.
func stopWaves(defs []ecsapi.ContainerDefinition) [][]string {
	dependents := map[string][]string{}
	for _, d := range defs {
		for _, dep := range dependencies(d) {
			dependents[dep.container] = append(dependents[dep.container], deref(d.Name))
		}
	}
	wave := map[string]int{}
	var depth func(name string, seen int) int
	depth = func(name string, seen int) int {
		if w, ok := wave[name]; ok {
			return w
		}
		w := 0
		if seen <= len(defs) { // a cycle (refused at registration) ends here
			for _, dn := range dependents[name] {
				w = max(w, depth(dn, seen+1)+1)
			}
		}
		wave[name] = w
		return w
	}
	var out [][]string
	for _, d := range defs {
		w := depth(deref(d.Name), 0)
		for len(out) <= w {
			out = append(out, nil)
		}
		out[w] = append(out[w], deref(d.Name))
	}
	return out
}
