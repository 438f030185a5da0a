package docker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/berth-dev/berth/runtime"
)

// CreateSandbox makes the task's sandbox. For awsvpc it starts a pause
// container on Berth's network, whose namespace the task's containers
// join; the other modes need nothing on the engine.
func (r *Runtime) CreateSandbox(ctx context.Context, spec runtime.SandboxSpec) (runtime.Sandbox, error) {
	if spec.Name == "" {
		return runtime.Sandbox{}, invalid("sandbox name is empty")
	}
	if spec.Limits.NanoCPUs < 0 || spec.Limits.MemoryBytes < 0 {
		return runtime.Sandbox{}, invalid("sandbox %s: negative limits", spec.Name)
	}
	switch spec.NetworkMode {
	case runtime.NetworkBridge, runtime.NetworkHost, runtime.NetworkNone:
		if len(spec.PortMappings) > 0 || spec.Hostname != "" || len(spec.DNSServers) > 0 ||
			len(spec.DNSSearch) > 0 || len(spec.ExtraHosts) > 0 {
			return runtime.Sandbox{}, invalid("sandbox %s: in %s mode, ports, hostname and DNS belong to each container", spec.Name, spec.NetworkMode)
		}
		return runtime.Sandbox{Name: spec.Name, NetworkMode: spec.NetworkMode, Limits: spec.Limits,
			Labels: copyLabels(spec.Labels), Ready: true}, nil
	case runtime.NetworkAWSVPC:
	default:
		return runtime.Sandbox{}, invalid("sandbox %s: unknown network mode %q", spec.Name, spec.NetworkMode)
	}

	cgroup, err := r.sandboxCgroup(ctx, spec)
	if err != nil {
		return runtime.Sandbox{}, err
	}
	// Someone may have pruned Berth's network or the pause image behind
	// its back, which the engine reports as not found at create (image) or
	// start (network): then forget both, make them again, and retry once.
	var created string
	for attempt := 0; ; attempt++ {
		id, err := r.createPause(ctx, spec, cgroup)
		if err == nil {
			_, err = r.cli.ContainerStart(ctx, id, client.ContainerStartOptions{})
			if err != nil {
				// A sandbox that cannot start is not left behind: a retry
				// with the same name must be able to create it again.
				_, _ = r.cli.ContainerRemove(context.WithoutCancel(ctx), id, client.ContainerRemoveOptions{Force: true})
				err = wrap(err, "start sandbox "+spec.Name)
			}
		}
		if err == nil {
			created = id
			break
		}
		if attempt > 0 || !runtime.IsNotFound(err) {
			// Nothing is left behind, unless the sandbox of that name
			// runs in the cgroup.
			if cg := r.cgroupsEnabled(); cg != nil && cgroup != "" {
				var ce *runtime.ConflictError
				if !errors.As(err, &ce) {
					_ = cg.remove(cgroup)
				} else if sb, ierr := r.InspectSandbox(ctx, runtime.SandboxID(ce.ID)); ierr == nil && sb.Cgroup != cgroup {
					_ = cg.remove(cgroup)
				}
			}
			return runtime.Sandbox{}, err
		}
		r.forgetCaches()
	}
	return r.InspectSandbox(ctx, runtime.SandboxID(created))
}

// createPause creates (not starts) the pause container of an awsvpc
// sandbox and returns its id.
func (r *Runtime) createPause(ctx context.Context, spec runtime.SandboxSpec, cgroup string) (string, error) {
	netID, err := r.ensureNetwork(ctx)
	if err != nil {
		return "", err
	}
	pause, err := r.ensurePauseImage(ctx)
	if err != nil {
		return "", err
	}
	exposed, bindings, err := portBindings(spec.PortMappings)
	if err != nil {
		return "", fmt.Errorf("sandbox %s: %w", spec.Name, err)
	}
	own := map[string]string{
		labelKind:    kindSandbox,
		labelNetMode: string(spec.NetworkMode),
	}
	if spec.Limits.NanoCPUs > 0 {
		own[labelNanoCPUs] = strconv.FormatInt(spec.Limits.NanoCPUs, 10)
	}
	if spec.Limits.MemoryBytes > 0 {
		own[labelMemory] = strconv.FormatInt(spec.Limits.MemoryBytes, 10)
	}
	if cgroup != "" {
		own[labelCgroup] = cgroup
	}
	cfg := &container.Config{
		Image:        pause,
		Hostname:     spec.Hostname,
		ExposedPorts: exposed,
		Labels:       managedLabels(spec.Labels, own),
	}
	hc := &container.HostConfig{
		NetworkMode:   container.NetworkMode(netID),
		PortBindings:  bindings,
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		LogConfig:     logConfig(runtime.LogConfig{MaxSizeBytes: 1 << 20, MaxFiles: 1}),
		// The holder only sleeps; a minimal weight keeps it out of the
		// task's way.
		// The pause container is the task cgroup's first member.
		Resources: container.Resources{CPUShares: 2, CgroupParent: cgroup},
	}
	if err := applyDNS(hc, spec.DNSServers, spec.DNSSearch, spec.ExtraHosts); err != nil {
		return "", fmt.Errorf("sandbox %s: %w", spec.Name, err)
	}
	hc.DNSOptions = spec.DNSOptions
	opts := client.ContainerCreateOptions{Name: spec.Name, Config: cfg, HostConfig: hc}
	if len(spec.NetworkAliases) > 0 {
		// The engine's embedded DNS answers an alias with the address of
		// every container on the network that has it, which is how tasks
		// find a service's tasks by name. Aliases can only be given when
		// the endpoint is made, hence here.
		opts.NetworkingConfig = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			netID: {Aliases: slices.Clone(spec.NetworkAliases)},
		}}
	}
	created, err := r.cli.ContainerCreate(ctx, opts)
	if err != nil {
		err = wrap(err, "create sandbox "+spec.Name)
		if runtime.IsConflict(err) {
			return "", r.conflict(ctx, "sandbox", spec.Name, err)
		}
		return "", err
	}
	return created.ID, nil
}

func (r *Runtime) forgetCaches() {
	r.netMu.Lock()
	r.netID = ""
	r.netMu.Unlock()
	r.pauseMu.Lock()
	r.pauseRef = ""
	r.pauseMu.Unlock()
}

// conflict builds the typed refusal for a taken name, with the id of the
// object that holds it.
func (r *Runtime) conflict(ctx context.Context, kind, name string, cause error) error {
	res, err := r.cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		// The holder vanished between the two calls; the caller's retry
		// will succeed.
		return cause
	}
	return &runtime.ConflictError{Kind: kind, Name: name, ID: res.Container.ID}
}

// InspectSandbox describes an awsvpc sandbox.
func (r *Runtime) InspectSandbox(ctx context.Context, id runtime.SandboxID) (runtime.Sandbox, error) {
	if id == "" {
		return runtime.Sandbox{}, fmt.Errorf("%w: sandbox without an id (bridge, host or none mode) has nothing to inspect", runtime.ErrNotFound)
	}
	res, err := r.cli.ContainerInspect(ctx, string(id), client.ContainerInspectOptions{})
	if err != nil {
		return runtime.Sandbox{}, wrap(err, "inspect sandbox "+string(id))
	}
	c := res.Container
	if c.Config == nil || c.Config.Labels[labelManaged] != "true" || c.Config.Labels[labelKind] != kindSandbox {
		return runtime.Sandbox{}, fmt.Errorf("%w: %s is not a Berth sandbox", runtime.ErrNotFound, id)
	}
	return sandboxOf(c), nil
}

func sandboxOf(c container.InspectResponse) runtime.Sandbox {
	labels := c.Config.Labels
	sb := runtime.Sandbox{
		ID:          runtime.SandboxID(c.ID),
		Name:        trimName(c.Name),
		NetworkMode: runtime.NetworkMode(labels[labelNetMode]),
		Labels:      userLabels(labels),
		Ready:       c.State != nil && c.State.Running,
		CreatedAt:   parseTime(c.Created),
	}
	sb.Limits.NanoCPUs, _ = strconv.ParseInt(labels[labelNanoCPUs], 10, 64)
	sb.Limits.MemoryBytes, _ = strconv.ParseInt(labels[labelMemory], 10, 64)
	if p := labels[labelCgroup]; validCgroup(p) {
		sb.Cgroup = p
	}
	if ns := c.NetworkSettings; ns != nil {
		sb.PortBindings = bindingsOf(ns.Ports)
		// The pause container is on exactly one network, Berth's.
		names := make([]string, 0, len(ns.Networks))
		for n := range ns.Networks {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			ep := ns.Networks[n]
			if ep == nil || !ep.IPAddress.IsValid() {
				continue
			}
			sb.Network.IPv4Address = ep.IPAddress.String()
			if ep.Gateway.IsValid() {
				sb.Network.Gateway = ep.Gateway.String()
			}
			if p, err := ep.IPAddress.Prefix(ep.IPPrefixLen); err == nil && ep.IPPrefixLen > 0 {
				sb.Network.Subnet = p.String()
			}
			sb.Network.MACAddress = ep.MacAddress.String()
			break
		}
	}
	if c.Config != nil {
		sb.Network.Hostname = c.Config.Hostname
	}
	return sb
}

// ListSandboxes returns Berth's awsvpc sandboxes with all the labels.
func (r *Runtime) ListSandboxes(ctx context.Context, labels map[string]string) ([]runtime.Sandbox, error) {
	res, err := r.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: labelFilters(kindSandbox, labels)})
	if err != nil {
		return nil, wrap(err, "list sandboxes")
	}
	out := make([]runtime.Sandbox, 0, len(res.Items))
	for _, s := range res.Items {
		sb, err := r.InspectSandbox(ctx, runtime.SandboxID(s.ID))
		if runtime.IsNotFound(err) {
			continue // removed since the list was made
		}
		if err != nil {
			return nil, err
		}
		out = append(out, sb)
	}
	return out, nil
}

// RemoveSandbox removes the pause container (and so the namespace), then
// the task cgroup. A cgroup that still holds containers of the task is left
// to them: a sandbox replaced while its containers run (its pause died)
// gets the same cgroup back, and the task's last container removed takes it
// with it (RemoveContainer).
func (r *Runtime) RemoveSandbox(ctx context.Context, id runtime.SandboxID) error {
	if id == "" {
		return nil
	}
	var cgroup string
	if res, err := r.cli.ContainerInspect(ctx, string(id), client.ContainerInspectOptions{}); err == nil && res.Container.Config != nil {
		cgroup = res.Container.Config.Labels[labelCgroup]
	}
	if err := r.RemoveContainer(ctx, runtime.ContainerID(id)); err != nil {
		return err
	}
	if !validCgroup(cgroup) {
		return nil
	}
	if cg, _, _ := r.taskCgroups(ctx); cg != nil {
		if err := cg.remove(cgroup); err != nil && !errors.Is(err, errCgroupBusy) {
			return err
		}
	}
	return nil
}

// ensureNetwork returns the id of Berth's bridge network, creating it once.
// Engines before API 1.44 create duplicate names unless told not to, and the
// client cannot tell them; so after creating, any duplicates (from another
// Berth racing us) are settled by keeping the smallest id, which every
// racer agrees on.
func (r *Runtime) ensureNetwork(ctx context.Context) (string, error) {
	r.netMu.Lock()
	defer r.netMu.Unlock()
	if r.netID != "" {
		return r.netID, nil
	}
	id, err := r.findNetwork(ctx)
	if err != nil {
		return "", err
	}
	if id == "" {
		created, err := r.cli.NetworkCreate(ctx, r.network, client.NetworkCreateOptions{
			Driver: "bridge",
			Labels: map[string]string{labelManaged: "true"},
		})
		if err != nil && !runtime.IsConflict(wrap(err, "")) {
			return "", wrap(err, "create network "+r.network)
		}
		if id, err = r.findNetwork(ctx); err != nil {
			return "", err
		}
		if id != created.ID && created.ID != "" {
			_, _ = r.cli.NetworkRemove(ctx, created.ID, client.NetworkRemoveOptions{})
		}
		if id == "" {
			return "", fmt.Errorf("docker: network %s vanished after it was created", r.network)
		}
	}
	r.netID = id
	return id, nil
}

// findNetwork returns the id of the network with exactly Berth's network
// name (the engine's name filter matches substrings), or "".
func (r *Runtime) findNetwork(ctx context.Context) (string, error) {
	f := client.Filters{}
	f.Add("name", r.network)
	res, err := r.cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return "", wrap(err, "list networks")
	}
	var ids []string
	for _, n := range res.Items {
		if n.Name == r.network {
			ids = append(ids, n.ID)
		}
	}
	if len(ids) == 0 {
		return "", nil
	}
	sort.Strings(ids)
	return ids[0], nil
}

func copyLabels(l map[string]string) map[string]string {
	out := make(map[string]string, len(l))
	for k, v := range l {
		out[k] = v
	}
	return out
}

func trimName(n string) string {
	if len(n) > 0 && n[0] == '/' {
		return n[1:]
	}
	return n
}
