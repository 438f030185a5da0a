package docker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/berth-dev/berth/runtime"
)

// CreateContainer creates a container from the spec. The image must be in
// the engine already (PullImage); the engine never pulls on create.
func (r *Runtime) CreateContainer(ctx context.Context, spec runtime.ContainerSpec) (runtime.ContainerID, error) {
	for k := range spec.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return "", invalid("container %s: environment variable name %q is not valid", spec.Name, k)
		}
	}
	cfg, hc, err := containerConfig(spec)
	if err != nil {
		return "", err
	}
	if p := hc.Resources.CgroupParent; p != "" {
		// The engine would make a missing parent without limits, so the
		// task cgroup is made again if it went (a host reboot, a sweep)
		// before a restarted Berth creates the rest of the task.
		if cg, _, _ := r.taskCgroups(ctx); cg != nil {
			if err := cg.ensure(p, spec.Sandbox.Limits); err != nil {
				r.log.Warn("docker runtime: cannot set the task's cgroup; its containers are capped one by one", "container", spec.Name, "cgroup", p, "err", err)
			}
		}
	}
	res, err := r.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: spec.Name, Config: cfg, HostConfig: hc})
	if err != nil {
		err = wrap(err, "create container "+spec.Name)
		switch {
		case runtime.IsConflict(err):
			return "", r.conflict(ctx, "container", spec.Name, err)
		case runtime.IsNotFound(err) && strings.Contains(err.Error(), "No such image"):
			return "", fmt.Errorf("%w: container %s: image %s: %w", runtime.ErrNotFound, spec.Name, spec.Image, errImageMissing)
		}
		return "", err
	}
	return runtime.ContainerID(res.ID), nil
}

// StartContainer starts a created container; starting a running one is not
// an error.
func (r *Runtime) StartContainer(ctx context.Context, id runtime.ContainerID) error {
	_, err := r.cli.ContainerStart(ctx, string(id), client.ContainerStartOptions{})
	return wrap(err, "start container "+string(id))
}

// StopContainer stops a container: the engine sends the stop signal, waits
// the timeout (whole seconds, rounded up), then sends SIGKILL.
func (r *Runtime) StopContainer(ctx context.Context, id runtime.ContainerID, timeout time.Duration) error {
	opts := client.ContainerStopOptions{}
	if timeout >= 0 {
		secs := seconds(timeout)
		opts.Timeout = &secs
	}
	_, err := r.cli.ContainerStop(ctx, string(id), opts)
	return wrap(err, "stop container "+string(id))
}

// RemoveContainer force-removes a container and its anonymous volumes.
// The last container of a task whose sandbox is gone takes the task
// cgroup with it (see RemoveSandbox).
func (r *Runtime) RemoveContainer(ctx context.Context, id runtime.ContainerID) error {
	var cgroup, sandbox string
	// A runtime that has not decided yet (a restarted Berth) decides now:
	// the container may be the last of a task whose cgroup is to go.
	cg, _, _ := r.taskCgroups(ctx)
	if cg != nil {
		if res, err := r.cli.ContainerInspect(ctx, string(id), client.ContainerInspectOptions{}); err == nil && res.Container.Config != nil {
			labels := res.Container.Config.Labels
			if labels[labelKind] == kindContainer {
				cgroup, sandbox = labels[labelCgroup], labels[labelSandbox]
			}
		}
	}
	_, err := r.cli.ContainerRemove(ctx, string(id), client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	err = wrap(err, "remove container "+string(id))
	switch {
	case runtime.IsNotFound(err):
		return nil
	case runtime.IsConflict(err) && strings.Contains(err.Error(), "already in progress"):
		// Someone else is removing it: the outcome is the one we want.
		return nil
	case err != nil:
		return err
	}
	if validCgroup(cgroup) && sandbox != "" {
		if _, ierr := r.cli.ContainerInspect(ctx, sandbox, client.ContainerInspectOptions{}); runtime.IsNotFound(wrap(ierr, "")) {
			if err := cg.remove(cgroup); err != nil && !errors.Is(err, errCgroupBusy) {
				return err
			}
		}
	}
	return nil
}

// InspectContainer describes one of Berth's containers; anything else on
// the engine is ErrNotFound, so an id from elsewhere cannot be adopted.
func (r *Runtime) InspectContainer(ctx context.Context, id runtime.ContainerID) (runtime.ContainerInfo, error) {
	res, err := r.cli.ContainerInspect(ctx, string(id), client.ContainerInspectOptions{})
	if err != nil {
		return runtime.ContainerInfo{}, wrap(err, "inspect container "+string(id))
	}
	c := res.Container
	if c.Config == nil || c.Config.Labels[labelManaged] != "true" || c.Config.Labels[labelKind] != kindContainer {
		return runtime.ContainerInfo{}, fmt.Errorf("%w: %s is not a Berth container", runtime.ErrNotFound, id)
	}
	return containerInfo(c), nil
}

func containerInfo(c container.InspectResponse) runtime.ContainerInfo {
	labels := c.Config.Labels
	info := runtime.ContainerInfo{
		ID:          runtime.ContainerID(c.ID),
		Name:        trimName(c.Name),
		SandboxID:   runtime.SandboxID(labels[labelSandbox]),
		NetworkMode: runtime.NetworkMode(labels[labelNetMode]),
		Image:       c.Config.Image,
		ImageID:     c.Image,
		Labels:      userLabels(labels),
		State:       runtime.StateUnknown,
		CreatedAt:   parseTime(c.Created),
		Health:      runtime.Health{Status: runtime.HealthNone},
	}
	if s := c.State; s != nil {
		info.State = stateOf(s.Status)
		info.ExitCode = s.ExitCode
		info.OOMKilled = s.OOMKilled
		// Under cgroup v1 the kernel's OOM notice of a task cgroup reaches
		// every cgroup below it, and the engine marks each container of the
		// task OOM-killed, even those the killer spared. The killer sends
		// SIGKILL, so a container of a task cgroup that died otherwise was
		// not its victim.
		if labels[labelCgroup] != "" && info.ExitCode != 137 {
			info.OOMKilled = false
		}
		info.Error = s.Error
		info.StartedAt = parseTime(s.StartedAt)
		info.FinishedAt = parseTime(s.FinishedAt)
		if h := s.Health; h != nil {
			info.Health = runtime.Health{Status: healthOf(string(h.Status)), FailingStreak: h.FailingStreak}
			if n := len(h.Log); n > 0 && h.Log[n-1] != nil {
				info.Health.LastOutput = strings.TrimSpace(h.Log[n-1].Output)
			}
		}
	}
	if hc := c.HostConfig; hc != nil {
		info.Resources = runtime.Resources{
			CPUShares:              hc.CPUShares,
			NanoCPUs:               hc.NanoCPUs,
			MemoryBytes:            hc.Memory,
			MemoryReservationBytes: hc.MemoryReservation,
		}
	}
	if ns := c.NetworkSettings; ns != nil {
		info.PortBindings = bindingsOf(ns.Ports)
		if ep := ns.Networks[string(runtime.NetworkBridge)]; ep != nil && ep.IPAddress.IsValid() {
			info.IPv4Address = ep.IPAddress.String()
		}
	}
	return info
}

// stateOf folds the engine's states into CRI's: paused and restarting
// containers still hold their processes; a container being removed or dead
// has ended.
func stateOf(s container.ContainerState) runtime.State {
	switch s {
	case container.StateCreated:
		return runtime.StateCreated
	case container.StateRunning, container.StatePaused, container.StateRestarting:
		return runtime.StateRunning
	case container.StateExited, container.StateDead, container.StateRemoving:
		return runtime.StateExited
	}
	return runtime.StateUnknown
}

func healthOf(s string) runtime.HealthStatus {
	switch container.HealthStatus(s) {
	case container.Starting:
		return runtime.HealthStarting
	case container.Healthy:
		return runtime.HealthHealthy
	case container.Unhealthy:
		return runtime.HealthUnhealthy
	}
	return runtime.HealthNone
}

// List returns Berth's containers with all the labels, inspected.
func (r *Runtime) List(ctx context.Context, labels map[string]string) ([]runtime.ContainerInfo, error) {
	res, err := r.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: labelFilters(kindContainer, labels)})
	if err != nil {
		return nil, wrap(err, "list containers")
	}
	out := make([]runtime.ContainerInfo, 0, len(res.Items))
	for _, s := range res.Items {
		info, err := r.InspectContainer(ctx, runtime.ContainerID(s.ID))
		if runtime.IsNotFound(err) {
			continue // removed since the list was made
		}
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

const (
	oomSettlePolls    = 5
	oomSettleInterval = 50 * time.Millisecond
)

// Wait blocks until the container is not running.
func (r *Runtime) Wait(ctx context.Context, id runtime.ContainerID) (runtime.ExitStatus, error) {
	w := r.cli.ContainerWait(ctx, string(id), client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case <-w.Result:
	case err := <-w.Error:
		return runtime.ExitStatus{}, wrap(err, "wait for container "+string(id))
	case <-ctx.Done():
		return runtime.ExitStatus{}, ctx.Err()
	}
	// The wait answer has only the code; inspect has the rest (OOM, the
	// engine's error, when).
	info, err := r.InspectContainer(ctx, id)
	if err != nil {
		return runtime.ExitStatus{}, err
	}
	// The engine learns of an OOM kill and of the exit on separate
	// channels, and under load records the OOM a moment after the exit: a
	// SIGKILLed container gets that moment before we say it was not OOM.
	for i := 0; i < oomSettlePolls && info.ExitCode == 137 && !info.OOMKilled; i++ {
		select {
		case <-ctx.Done():
			return runtime.ExitStatus{}, ctx.Err()
		case <-time.After(oomSettleInterval):
		}
		if info, err = r.InspectContainer(ctx, id); err != nil {
			return runtime.ExitStatus{}, err
		}
	}
	return runtime.ExitStatus{ExitCode: info.ExitCode, OOMKilled: info.OOMKilled, Error: info.Error, FinishedAt: info.FinishedAt}, nil
}
