package docker

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/berth-dev/berth/runtime"
)

// Task cgroups. The engine's API can put a container under a parent cgroup
// (HostConfig.CgroupParent) but cannot set limits on that parent, so Berth
// writes them itself, as the Amazon ECS agent does with /ecs/<task id>:
// one cgroup per awsvpc sandbox, /berth/<sandbox name>, holds the task's
// memory and CPU for all its containers together. That only works where
// Berth shares the engine's cgroup file system and may write it; the probe
// proves both once, and anywhere else each container is capped at the
// task's limits instead (see effectiveResources).

// cgroupRoot is the parent of every task cgroup, relative to each
// hierarchy's root.
const cgroupRoot = "/berth"

// cfsPeriod is the CPU quota period, in microseconds: the kernel's and
// Docker's default.
const cfsPeriod = 100000

// mountinfoPath is read to find the cgroup hierarchies; a variable so the
// parser can be tested on other layouts.
var mountinfoPath = "/proc/self/mountinfo"

// cgroupFS is the cgroup file system Berth writes task limits into.
type cgroupFS struct {
	version int // 1 or 2
	// v1 maps the controllers Berth sets (memory, cpu) to their mount
	// points; v2 is the unified hierarchy's mount point.
	v1 map[string]string
	v2 string
	// all are every cgroup mount point: the engine makes the task's
	// directory in each hierarchy it joins, and removal must clear them all.
	all []string
}

// cgMount is one cgroup line of mountinfo.
type cgMount struct {
	point  string
	root   string
	fstype string
	opts   []string // super options: the controllers of a v1 hierarchy
}

// parseCgroupMounts returns the cgroup and cgroup2 mounts of a mountinfo
// file; lines it cannot read are skipped, never fatal.
func parseCgroupMounts(data []byte) []cgMount {
	var out []cgMount
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		// id parent major:minor root point opts [optional...] - fstype source superopts
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 5 || len(fields) < sep+4 {
			continue
		}
		fstype := fields[sep+1]
		if fstype != "cgroup" && fstype != "cgroup2" {
			continue
		}
		out = append(out, cgMount{
			point:  unescapeMount(fields[4]),
			root:   unescapeMount(fields[3]),
			fstype: fstype,
			opts:   strings.Split(fields[sep+3], ","),
		})
	}
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// findCgroupFS picks the hierarchies for the engine's cgroup version ("1",
// "2", or "" for engines that do not say, which are v1), or says why there
// are none Berth can use.
func findCgroupFS(mounts []cgMount, engineVersion string) (*cgroupFS, string) {
	cg := &cgroupFS{v1: map[string]string{}}
	switch engineVersion {
	case "2":
		cg.version = 2
		for _, m := range mounts {
			if m.fstype != "cgroup2" {
				continue
			}
			if m.root != "/" {
				return nil, fmt.Sprintf("the cgroup2 file system at %s is a subtree (%s), not the engine's whole hierarchy", m.point, m.root)
			}
			ctrl, err := os.ReadFile(filepath.Join(m.point, "cgroup.controllers"))
			if err != nil {
				continue
			}
			have := strings.Fields(string(ctrl))
			if contains(have, "memory") && contains(have, "cpu") {
				cg.v2 = m.point
				cg.all = []string{m.point}
				return cg, ""
			}
		}
		return nil, "no cgroup2 mount with the memory and cpu controllers in " + mountinfoPath
	case "1", "":
		cg.version = 1
		for _, m := range mounts {
			cg.all = append(cg.all, m.point)
			if m.fstype != "cgroup" {
				continue
			}
			for _, ctrl := range []string{"memory", "cpu"} {
				if contains(m.opts, ctrl) {
					if m.root != "/" {
						return nil, fmt.Sprintf("the %s cgroup hierarchy at %s is a subtree (%s), not the engine's whole hierarchy", ctrl, m.point, m.root)
					}
					cg.v1[ctrl] = m.point
				}
			}
		}
		if cg.v1["memory"] == "" || cg.v1["cpu"] == "" {
			return nil, "no cgroup v1 memory and cpu hierarchies in " + mountinfoPath
		}
		// Removal stops at the first busy hierarchy, and memory is the one
		// that holds the task's containers longest.
		for i, m := range cg.all {
			if m == cg.v1["memory"] {
				cg.all[0], cg.all[i] = cg.all[i], cg.all[0]
			}
		}
		return cg, ""
	}
	return nil, fmt.Sprintf("unknown cgroup version %q", engineVersion)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// cgroupPath is the task cgroup of a sandbox: its name, made safe as one
// path element.
func cgroupPath(sandbox string) string {
	b := []byte(sandbox)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	if len(b) > 200 {
		b = b[:200]
	}
	if len(b) == 0 || b[0] == '.' {
		b = append([]byte("t"), b...)
	}
	return cgroupRoot + "/" + string(b)
}

// validCgroup reports whether p is a task cgroup Berth would make: callers
// pass Sandbox.Cgroup back, and it must not name any other cgroup.
func validCgroup(p string) bool {
	return strings.HasPrefix(p, cgroupRoot+"/") && path.Clean(p) == p && path.Dir(p) == cgroupRoot
}

// ensure makes the task cgroup p with the limits, or sets them again on the
// one there: idempotent, so a restarted Berth and a half-made task converge.
func (cg *cgroupFS) ensure(p string, l runtime.Limits) error {
	if cg.version == 2 {
		return cg.ensureV2(p, l)
	}
	mem := filepath.Join(cg.v1["memory"], p)
	if err := os.MkdirAll(mem, 0o755); err != nil {
		return err
	}
	// Without hierarchical accounting a parent's limit does not bind its
	// children; kernels since 6.1 always have it, older ones may not.
	if b, err := os.ReadFile(filepath.Join(mem, "memory.use_hierarchy")); err == nil && strings.TrimSpace(string(b)) == "0" {
		if err := writeFile(mem, "memory.use_hierarchy", "1"); err != nil {
			return err
		}
	}
	limit := "-1"
	if l.MemoryBytes > 0 {
		limit = strconv.FormatInt(l.MemoryBytes, 10)
	}
	if err := writeFile(mem, "memory.limit_in_bytes", limit); err != nil {
		return err
	}
	// No swap beyond the task's memory, as for containers; absent when the
	// kernel does not account swap, which then cannot be exceeded anyway.
	if _, err := os.Stat(filepath.Join(mem, "memory.memsw.limit_in_bytes")); err == nil {
		if err := writeFile(mem, "memory.memsw.limit_in_bytes", limit); err != nil {
			return err
		}
	}
	cpu := filepath.Join(cg.v1["cpu"], p)
	if err := os.MkdirAll(cpu, 0o755); err != nil {
		return err
	}
	if err := writeFile(cpu, "cpu.cfs_period_us", strconv.Itoa(cfsPeriod)); err != nil {
		return err
	}
	return writeFile(cpu, "cpu.cfs_quota_us", cfsQuota(l.NanoCPUs))
}

func (cg *cgroupFS) ensureV2(p string, l runtime.Limits) error {
	// A controller's files exist in a cgroup only when its parent delegates
	// the controller (cgroup.subtree_control), from the root down.
	dir := cg.v2
	for _, elem := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		for _, ctrl := range []string{"+memory", "+cpu"} {
			if err := writeFile(dir, "cgroup.subtree_control", ctrl); err != nil {
				return err
			}
		}
		dir = filepath.Join(dir, elem)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	limit := "max"
	if l.MemoryBytes > 0 {
		limit = strconv.FormatInt(l.MemoryBytes, 10)
	}
	if err := writeFile(dir, "memory.max", limit); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "memory.swap.max")); err == nil {
		if err := writeFile(dir, "memory.swap.max", "0"); err != nil {
			return err
		}
	}
	quota := cfsQuota(l.NanoCPUs)
	if quota == "-1" {
		quota = "max"
	}
	return writeFile(dir, "cpu.max", quota+" "+strconv.Itoa(cfsPeriod))
}

// cfsQuota is the quota per period for a CPU limit; "-1" is none.
func cfsQuota(nano int64) string {
	if nano <= 0 {
		return "-1"
	}
	q := nano * cfsPeriod / 1e9
	// The kernel refuses quotas under 1 ms.
	if q < 1000 {
		q = 1000
	}
	return strconv.FormatInt(q, 10)
}

func writeFile(dir, name, value string) error {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s to %s: %w", value, filepath.Join(dir, name), err)
	}
	return nil
}

// remove deletes the task cgroup p from every hierarchy. The engine removes
// its containers' cgroups as it removes them, a moment later under load,
// so a busy cgroup is retried briefly; one still busy after that holds
// containers of the task and is left (errCgroupBusy) for whoever removes
// them. Removing what is gone is not an error.
func (cg *cgroupFS) remove(p string) error {
	if !validCgroup(p) {
		return nil
	}
	for _, mnt := range cg.all {
		dir := filepath.Join(mnt, p)
		for attempt := 0; ; attempt++ {
			err := syscall.Rmdir(dir)
			if err == nil || errors.Is(err, fs.ErrNotExist) {
				break
			}
			if !errors.Is(err, syscall.EBUSY) && !errors.Is(err, syscall.ENOTEMPTY) {
				return fmt.Errorf("remove cgroup %s: %w", dir, err)
			}
			if attempt == 10 {
				// What is left is removed by a later call: removing what
				// is gone is not an error.
				return errCgroupBusy
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

var errCgroupBusy = fmt.Errorf("%w: the task cgroup still holds containers", runtime.ErrConflict)

// hasChild reports whether the engine made the cgroup of container id
// under the task cgroup p, which proves it sees the same hierarchy.
func (cg *cgroupFS) hasChild(p, id string) bool {
	dir := cg.v2
	if cg.version == 1 {
		dir = cg.v1["memory"]
	}
	_, err := os.Stat(filepath.Join(dir, p, id))
	return err == nil
}

// taskCgroups returns the cgroup file system task limits are written to,
// or nil and why sandboxes fall back to per-container caps. It is decided
// once per runtime, on first need; an unreachable engine leaves it
// undecided.
func (r *Runtime) taskCgroups(ctx context.Context) (*cgroupFS, string, error) {
	r.cgMu.Lock()
	defer r.cgMu.Unlock()
	if r.cgDone {
		return r.cg, r.cgNote, nil
	}
	cg, note, err := r.probeCgroups(ctx)
	if err != nil {
		return nil, "", err
	}
	r.cg, r.cgNote, r.cgDone = cg, note, true
	r.decided.Store(&probeResult{cg, note})
	return cg, note, nil
}

// cgroupsEnabled is the decision taskCgroups made, without making it.
func (r *Runtime) cgroupsEnabled() *cgroupFS {
	r.cgMu.Lock()
	defer r.cgMu.Unlock()
	return r.cg
}

func (r *Runtime) probeCgroups(ctx context.Context) (*cgroupFS, string, error) {
	if r.noCgroups {
		note := "task cgroups are turned off (docker runtime parameter task-cgroups=off)"
		r.log.Warn("docker runtime: task cpu and memory cap each container, not the task as a whole", "why", note)
		return nil, note, nil
	}
	res, err := r.cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return nil, "", wrap(err, "engine info")
	}
	// The answer is the same for every runtime of this process on one
	// engine, and the probe runs a container: tests that open many
	// runtimes probe once.
	key := res.Info.ID + "|" + res.Info.CgroupDriver + "|" + res.Info.CgroupVersion
	if v, ok := probed.Load(key); ok {
		d := v.(probeResult)
		return d.cg, d.note, nil
	}
	cg, note, err := r.probeHost(ctx, res.Info.CgroupDriver, res.Info.CgroupVersion)
	if err != nil {
		return nil, "", err
	}
	if _, loaded := probed.LoadOrStore(key, probeResult{cg, note}); !loaded {
		if cg != nil {
			r.log.Info("docker runtime: task cpu and memory are one cgroup per task", "cgroup", cgroupRoot+"/<sandbox>", "cgroupVersion", cg.version)
		} else {
			r.log.Warn("docker runtime: task cpu and memory cap each container, not the task as a whole", "why", note)
		}
	}
	return cg, note, nil
}

// probed caches probe results by engine.
var probed sync.Map

type probeResult struct {
	cg   *cgroupFS
	note string
}

// probeHost decides for an engine with the given cgroup driver and
// version.
func (r *Runtime) probeHost(ctx context.Context, driver, version string) (*cgroupFS, string, error) {
	if d := driver; d != "cgroupfs" {
		// systemd would want a slice it manages for the parent, with the
		// limits set through systemd, which Berth does not speak.
		return nil, fmt.Sprintf("the engine uses the %q cgroup driver; task cgroups need cgroupfs", d), nil
	}
	data, err := os.ReadFile(mountinfoPath)
	if err != nil {
		return nil, "cannot read the cgroup mounts: " + err.Error(), nil
	}
	cg, note := findCgroupFS(parseCgroupMounts(data), version)
	if cg == nil {
		return nil, note, nil
	}
	r.sweepProbes(ctx, cg)
	probe := cgroupRoot + "/probe-" + randomHex(6)
	if err := cg.ensure(probe, runtime.Limits{MemoryBytes: 64 << 20, NanoCPUs: 1e8}); err != nil {
		_ = cg.remove(probe)
		return nil, "cannot create cgroups: " + err.Error(), nil
	}
	defer func() { _ = cg.remove(probe) }()
	ok, err := r.probeEngine(ctx, cg, probe)
	switch {
	case err != nil && (runtime.IsUnavailable(err) || ctx.Err() != nil):
		// Undecided: the engine or the caller went away, not the cgroups.
		return nil, "", err
	case err != nil:
		return nil, "the engine could not run a container in a task cgroup: " + err.Error(), nil
	case !ok:
		return nil, "the engine's cgroups are not the ones Berth sees (a remote engine, or Berth in a container)", nil
	}
	return cg, "", nil
}

// probeEngine runs the pause program under the probe cgroup and looks for
// the engine's cgroup of it inside.
func (r *Runtime) probeEngine(ctx context.Context, cg *cgroupFS, probe string) (bool, error) {
	pause, err := r.ensurePauseImage(ctx)
	if err != nil {
		return false, err
	}
	name := "berth-cgroup-probe-" + randomHex(6)
	created, err := r.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: name,
		Config: &container.Config{Image: pause, Labels: map[string]string{
			labelManaged: "true", labelKind: "probe",
		}},
		HostConfig: &container.HostConfig{
			NetworkMode: "none",
			Resources:   container.Resources{CgroupParent: probe},
			LogConfig:   logConfig(runtime.LogConfig{MaxSizeBytes: 1 << 20, MaxFiles: 1}),
		},
	})
	if err != nil {
		return false, wrap(err, "create cgroup probe")
	}
	defer func() {
		_, _ = r.cli.ContainerRemove(context.WithoutCancel(ctx), created.ID, client.ContainerRemoveOptions{Force: true})
	}()
	if _, err := r.cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		return false, wrap(err, "start cgroup probe")
	}
	return cg.hasChild(probe, created.ID), nil
}

// sweepProbes removes what probes of Berths killed mid-probe left: their
// containers after a minute (a younger one may be another Berth's probe
// at work), and every probe cgroup no container holds (rmdir refuses the
// others).
func (r *Runtime) sweepProbes(ctx context.Context, cg *cgroupFS) {
	f := client.Filters{}
	f.Add("label", labelManaged+"=true")
	f.Add("label", labelKind+"=probe")
	if res, err := r.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f}); err == nil {
		for _, c := range res.Items {
			if time.Since(time.Unix(c.Created, 0)) > time.Minute {
				_, _ = r.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true})
			}
		}
	}
	for _, mnt := range cg.all {
		old, _ := filepath.Glob(filepath.Join(mnt, cgroupRoot, "probe-*"))
		for _, dir := range old {
			_ = syscall.Rmdir(dir)
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// sandboxCgroup makes the task cgroup of a new sandbox, or returns "" when
// its limits are to be per-container caps. A host that could make cgroups
// but fails for this one task runs it capped rather than not at all.
func (r *Runtime) sandboxCgroup(ctx context.Context, spec runtime.SandboxSpec) (string, error) {
	if spec.Limits == (runtime.Limits{}) {
		return "", nil
	}
	cg, _, err := r.taskCgroups(ctx)
	if err != nil || cg == nil {
		return "", err
	}
	p := cgroupPath(spec.Name)
	if err := cg.ensure(p, spec.Limits); err != nil {
		r.log.Warn("docker runtime: cannot make the task's cgroup; capping each container instead", "sandbox", spec.Name, "err", err)
		_ = cg.remove(p)
		return "", nil
	}
	return p, nil
}
