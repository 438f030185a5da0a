package endpoints

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/ecs"
	"github.com/berth-dev/berth/runtime"
)

// The bodies of the task metadata endpoint v4, in the ECS agent's shapes
// (field names, omissions and value formats): see the examples of "Task
// metadata endpoint version 4" in the ECS developer guide.

type taskResponse struct {
	Cluster               string              `json:"Cluster"`
	TaskARN               string              `json:"TaskARN"`
	Family                string              `json:"Family"`
	Revision              string              `json:"Revision"`
	DesiredStatus         string              `json:"DesiredStatus,omitempty"`
	KnownStatus           string              `json:"KnownStatus"`
	Limits                *limits             `json:"Limits,omitempty"`
	PullStartedAt         *time.Time          `json:"PullStartedAt,omitempty"`
	PullStoppedAt         *time.Time          `json:"PullStoppedAt,omitempty"`
	ExecutionStoppedAt    *time.Time          `json:"ExecutionStoppedAt,omitempty"`
	AvailabilityZone      string              `json:"AvailabilityZone,omitempty"`
	TaskTags              map[string]string   `json:"TaskTags,omitempty"`
	LaunchType            string              `json:"LaunchType,omitempty"`
	Containers            []containerResponse `json:"Containers,omitempty"`
	ServiceName           string              `json:"ServiceName,omitempty"`
	FaultInjectionEnabled bool                `json:"FaultInjectionEnabled"`
}

type containerResponse struct {
	DockerID      string            `json:"DockerId"`
	Name          string            `json:"Name"`
	DockerName    string            `json:"DockerName"`
	Image         string            `json:"Image"`
	ImageID       string            `json:"ImageID"`
	Ports         []portResponse    `json:"Ports,omitempty"`
	Labels        map[string]string `json:"Labels,omitempty"`
	DesiredStatus string            `json:"DesiredStatus"`
	KnownStatus   string            `json:"KnownStatus"`
	ExitCode      *int              `json:"ExitCode,omitempty"`
	Limits        limits            `json:"Limits"`
	CreatedAt     *time.Time        `json:"CreatedAt,omitempty"`
	StartedAt     *time.Time        `json:"StartedAt,omitempty"`
	FinishedAt    *time.Time        `json:"FinishedAt,omitempty"`
	Type          string            `json:"Type"`
	Health        *healthResponse   `json:"Health,omitempty"`
	LogDriver     string            `json:"LogDriver,omitempty"`
	LogOptions    map[string]string `json:"LogOptions,omitempty"`
	ContainerARN  string            `json:"ContainerARN,omitempty"`
	Networks      []networkResponse `json:"Networks,omitempty"`
}

// limits: CPU is in units for a container and in vCPUs for a task.
type limits struct {
	CPU    *float64 `json:"CPU,omitempty"`
	Memory *int64   `json:"Memory,omitempty"`
}

type portResponse struct {
	ContainerPort uint16 `json:"ContainerPort,omitempty"`
	Protocol      string `json:"Protocol,omitempty"`
	HostPort      uint16 `json:"HostPort,omitempty"`
	HostIP        string `json:"HostIp,omitempty"`
}

type healthResponse struct {
	Status string `json:"status,omitempty"`
	Output string `json:"output,omitempty"`
}

type networkResponse struct {
	NetworkMode              string   `json:"NetworkMode"`
	IPv4Addresses            []string `json:"IPv4Addresses,omitempty"`
	AttachmentIndex          *int     `json:"AttachmentIndex,omitempty"`
	MACAddress               string   `json:"MACAddress,omitempty"`
	IPv4SubnetCIDRBlock      string   `json:"IPv4SubnetCIDRBlock,omitempty"`
	PrivateDNSName           string   `json:"PrivateDNSName,omitempty"`
	SubnetGatewayIPv4Address string   `json:"SubnetGatewayIpv4Address,omitempty"`
}

// errNotReady: the task was restored from the store after a restart and
// its agent has not registered it again, so its state is unknown.
var errNotReady = errors.New("the task's state is not known yet (Berth restarted and the task agent has not re-registered the task)")

// routes are the endpoints' HTTP routes; anything else goes to the API.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/credentials/{id}", s.serveCredentials)
	mux.HandleFunc("GET /v2/credentials/{$}", s.serveNoCredentialsID)
	mux.HandleFunc("GET /v2/credentials", s.serveNoCredentialsID)
	for _, v := range []string{"v3", "v4"} {
		prefix := "V" + v[1:]
		mux.HandleFunc("GET /"+v+"/{id}", s.metadata(prefix+" container metadata handler", s.containerMetadata))
		mux.HandleFunc("GET /"+v+"/{id}/task", s.metadata(prefix+" task metadata handler", s.taskMetadata))
		mux.HandleFunc("GET /"+v+"/{id}/taskWithTags", s.metadata(prefix+" task metadata handler", s.taskMetadata))
		mux.HandleFunc("GET /"+v+"/{id}/stats", s.metadata(prefix+" container stats handler", s.containerStats))
		mux.HandleFunc("GET /"+v+"/{id}/task/stats", s.metadata(prefix+" task stats handler", s.taskStats))
	}
	api := s.o.API
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if api != nil {
			api.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
	})
	return mux
}

// lookupError is a metadata id that names no registered container: 404.
type lookupError struct{ id string }

func (e *lookupError) Error() string {
	return fmt.Sprintf("unable to find the container of endpoint ID %s", e.id)
}

// metadata adapts a metadata reader to HTTP, with the ECS agent's error
// statuses: 404 for an unknown id, 500 (503 before the state is known)
// otherwise, the body a JSON string.
func (s *Server) metadata(prefix string, read func(ctx context.Context, ref metaRef) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		s.mu.RLock()
		ref, ok := s.byMeta[id]
		s.mu.RUnlock()
		var body any
		var err error
		if !ok {
			err = &lookupError{id: id}
		} else {
			body, err = read(r.Context(), ref)
		}
		if err != nil {
			var lookup *lookupError
			status := http.StatusInternalServerError
			switch {
			case errors.As(err, &lookup):
				status = http.StatusNotFound
			case errors.Is(err, errNotReady):
				status = http.StatusServiceUnavailable
			}
			writeJSON(w, status, prefix+": "+err.Error())
			return
		}
		writeJSON(w, http.StatusOK, body)
	}
}

// state is a task's status, with its containers as the runtime shows
// them: the control plane's view lags the runtime's by a report, and a
// container asking about itself has started even if no report says so yet.
type state struct {
	status Status
	info   map[string]runtime.ContainerInfo // by container name
}

func (s *Server) state(ctx context.Context, e *entry) (state, error) {
	st, err := s.statusOnly(ctx, e)
	if err != nil {
		return state{}, err
	}
	out := state{status: st, info: map[string]runtime.ContainerInfo{}}
	// Best effort: without the runtime's view the status alone describes
	// the containers.
	infos, err := s.o.Engine.List(ctx, map[string]string{LabelTaskARN: e.task.TaskARN})
	if err != nil {
		s.log.Debug("task metadata: listing the task's containers", "task", e.task.TaskARN, "error", err)
	}
	for _, info := range infos {
		name := info.Labels[LabelContainerName]
		if prev, seen := out.info[name]; name == "" || (seen && !info.CreatedAt.After(prev.CreatedAt)) {
			continue
		}
		out.info[name] = info
	}
	return out, nil
}

// dockerID is the runtime id of a task's container, "" before it exists.
func (st state) dockerID(name string) string {
	if info, ok := st.info[name]; ok {
		return string(info.ID)
	}
	if cs := st.status.Container(name); cs != nil {
		return cs.RuntimeID
	}
	return ""
}

func (s *Server) containerMetadata(ctx context.Context, ref metaRef) (any, error) {
	st, err := s.state(ctx, ref.e)
	if err != nil {
		return nil, err
	}
	for _, c := range ref.e.task.Containers {
		if c.Name == ref.container {
			return s.containerResponse(ref.e, c, st), nil
		}
	}
	return nil, &lookupError{id: ref.e.metaIDs[ref.container]}
}

func (s *Server) taskMetadata(ctx context.Context, ref metaRef) (any, error) {
	st, err := s.state(ctx, ref.e)
	if err != nil {
		return nil, err
	}
	t := &ref.e.task
	res := taskResponse{
		Cluster:            t.Cluster,
		TaskARN:            t.TaskARN,
		Family:             t.Family,
		Revision:           strconv.Itoa(t.Revision),
		DesiredStatus:      st.status.DesiredStatus,
		KnownStatus:        knownTaskStatus(st, t.Containers),
		PullStartedAt:      timePtr(st.status.PullStartedAt),
		PullStoppedAt:      timePtr(st.status.PullStoppedAt),
		ExecutionStoppedAt: timePtr(st.status.ExecutionStoppedAt),
		AvailabilityZone:   t.AvailabilityZone,
		LaunchType:         t.LaunchType,
		ServiceName:        t.ServiceName,
	}
	if cpu, ok := taskCPU(t.CPU); ok {
		res.Limits = &limits{CPU: &cpu}
	}
	if mem, ok := taskMemory(t.Memory); ok {
		if res.Limits == nil {
			res.Limits = &limits{}
		}
		res.Limits.Memory = &mem
	}
	for _, c := range t.Containers {
		res.Containers = append(res.Containers, s.containerResponse(ref.e, c, st))
	}
	return res, nil
}

func (s *Server) containerResponse(e *entry, c Container, st state) containerResponse {
	t := &e.task
	cpu, mem := float64(c.CPU), c.Memory
	res := containerResponse{
		Name:  c.Name,
		Image: c.Image,
		Labels: map[string]string{
			"com.amazonaws.ecs.cluster":                 t.Cluster,
			"com.amazonaws.ecs.container-name":          c.Name,
			"com.amazonaws.ecs.task-arn":                t.TaskARN,
			"com.amazonaws.ecs.task-definition-family":  t.Family,
			"com.amazonaws.ecs.task-definition-version": strconv.Itoa(t.Revision),
		},
		DesiredStatus: desiredContainerStatus(st.status.DesiredStatus),
		Limits:        limits{CPU: &cpu, Memory: &mem},
		Type:          "NORMAL",
		LogDriver:     c.LogDriver,
		LogOptions:    c.LogOptions,
		ContainerARN:  c.ContainerARN,
	}
	cs := st.status.Container(c.Name)
	info, inspected := st.info[c.Name]
	res.KnownStatus = knownContainerStatus(st, c.Name)
	res.DockerID = st.dockerID(c.Name)
	if cs != nil {
		res.ImageID = cs.ImageDigest
		if cs.ExitCode != nil {
			code := int(*cs.ExitCode)
			res.ExitCode = &code
		}
		for _, b := range cs.NetworkBindings {
			p := portResponse{}
			if b.ContainerPort != nil {
				p.ContainerPort = uint16(*b.ContainerPort)
			}
			if b.HostPort != nil {
				p.HostPort = uint16(*b.HostPort)
			}
			if b.Protocol != nil {
				p.Protocol = string(*b.Protocol)
			}
			if b.BindIP != nil {
				p.HostIP = *b.BindIP
			}
			res.Ports = append(res.Ports, p)
		}
		if cs.HealthStatus != "" {
			res.Health = &healthResponse{Status: cs.HealthStatus}
		}
	}
	if inspected {
		res.DockerName = info.Name
		if info.ImageID != "" {
			res.ImageID = info.ImageID
		}
		if info.State == runtime.StateExited && res.ExitCode == nil {
			code := info.ExitCode
			res.ExitCode = &code
		}
		res.CreatedAt = timePtr(info.CreatedAt)
		res.StartedAt = timePtr(info.StartedAt)
		if info.State == runtime.StateExited {
			res.FinishedAt = timePtr(info.FinishedAt)
		}
		if res.Health != nil && info.Health.LastOutput != "" {
			res.Health.Output = info.Health.LastOutput
		}
	}
	res.Networks = s.networks(t, st, info)
	return res
}

// networks describes a container's network as ECS does: for awsvpc the
// task's ENI (its address, MAC, subnet and gateway), for bridge the
// container's own address.
func (s *Server) networks(t *Task, st state, info runtime.ContainerInfo) []networkResponse {
	mode := t.NetworkMode
	if mode == "" {
		mode = string(runtime.NetworkBridge)
	}
	n := networkResponse{NetworkMode: mode}
	switch mode {
	case string(runtime.NetworkAWSVPC):
		ip := st.status.PrivateIPv4Address
		if ip == "" {
			return []networkResponse{n}
		}
		zero := 0
		n.IPv4Addresses = []string{ip}
		n.AttachmentIndex = &zero
		n.MACAddress = st.status.MACAddress
		n.PrivateDNSName = privateDNSName(ip, t.Region)
		s.lis.mu.Lock()
		vpc := s.lis.addrs.AWSVPC
		s.lis.mu.Unlock()
		if p, err := netip.ParsePrefix(vpc.Subnet); err == nil {
			if a, err := netip.ParseAddr(ip); err == nil && p.Contains(a) {
				n.IPv4SubnetCIDRBlock = p.String()
				if vpc.Gateway != "" {
					n.SubnetGatewayIPv4Address = vpc.Gateway + "/" + strconv.Itoa(p.Bits())
				}
			}
		}
	case string(runtime.NetworkBridge):
		if info.IPv4Address != "" {
			n.IPv4Addresses = []string{info.IPv4Address}
		}
	}
	return []networkResponse{n}
}

// privateDNSName is EC2's name for a private address.
func privateDNSName(ip, region string) string {
	host := "ip-" + strings.ReplaceAll(ip, ".", "-")
	if region == "us-east-1" {
		return host + ".ec2.internal"
	}
	return host + "." + region + ".compute.internal"
}

// knownTaskStatus is the ECS agent's own task status (NONE, CREATED,
// RUNNING, STOPPED), which the metadata shows, rather than the API's
// lifecycle: RUNNING once every container runs.
func knownTaskStatus(st state, containers []Container) string {
	switch rank := ecs.TaskStatusRank(st.status.LastStatus); {
	case st.status.LastStatus == ecs.TaskStopped:
		return "STOPPED"
	case rank >= ecs.TaskStatusRank(ecs.TaskRunning):
		return "RUNNING"
	}
	running, created := 0, 0
	for _, c := range containers {
		switch knownContainerStatus(st, c.Name) {
		case "RUNNING":
			running++
		case "CREATED", "STOPPED":
			created++
		}
	}
	switch {
	case running == len(containers):
		return "RUNNING"
	case running+created > 0:
		return "CREATED"
	}
	return "NONE"
}

func desiredContainerStatus(taskDesired string) string {
	if taskDesired == ecs.TaskStopped {
		return "STOPPED"
	}
	return "RUNNING"
}

// knownContainerStatus is the ECS agent's container status: NONE, PULLED,
// CREATED, RUNNING, STOPPED; the runtime's view first, as it is the newer.
func knownContainerStatus(st state, name string) string {
	if info, ok := st.info[name]; ok {
		switch info.State {
		case runtime.StateRunning:
			return "RUNNING"
		case runtime.StateExited:
			return "STOPPED"
		case runtime.StateCreated:
			return "CREATED"
		}
	}
	cs := st.status.Container(name)
	switch {
	case cs == nil:
		return "NONE"
	case cs.LastStatus == ecs.ContainerRunning:
		return "RUNNING"
	case cs.LastStatus == ecs.ContainerStopped:
		return "STOPPED"
	case cs.RuntimeID != "":
		return "CREATED"
	case cs.ImageDigest != "":
		return "PULLED"
	}
	return "NONE"
}

// taskCPU reads a task's cpu ("256", "1 vCPU", "0.5 vcpu") as vCPUs.
func taskCPU(s string) (float64, bool) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" {
		return 0, false
	}
	if v, ok := strings.CutSuffix(s, "vcpu"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return f, err == nil && f > 0
	}
	units, err := strconv.ParseFloat(s, 64)
	if err != nil || units <= 0 {
		return 0, false
	}
	return units / 1024, true
}

// taskMemory reads a task's memory ("512", "1 GB", "2gb") as MiB.
func taskMemory(s string) (int64, bool) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" {
		return 0, false
	}
	if v, ok := strings.CutSuffix(s, "gb"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return int64(f * 1024), err == nil && f > 0
	}
	if v, ok := strings.CutSuffix(s, "mb"); ok {
		s = strings.TrimSpace(v)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// containerStats is Docker's stats JSON of one container.
func (s *Server) containerStats(ctx context.Context, ref metaRef) (any, error) {
	sr, ok := s.o.Engine.(runtime.StatsReader)
	if !ok {
		return nil, errors.New("the runtime reports no statistics")
	}
	st, err := s.state(ctx, ref.e)
	if err != nil {
		return nil, err
	}
	id := st.dockerID(ref.container)
	if id == "" {
		return nil, &lookupError{id: ref.e.metaIDs[ref.container]}
	}
	return sr.ContainerStats(ctx, runtime.ContainerID(id))
}

// taskStats is Docker's stats JSON of every started container of the
// task, by Docker id.
func (s *Server) taskStats(ctx context.Context, ref metaRef) (any, error) {
	sr, ok := s.o.Engine.(runtime.StatsReader)
	if !ok {
		return nil, errors.New("the runtime reports no statistics")
	}
	st, err := s.state(ctx, ref.e)
	if err != nil {
		return nil, err
	}
	out := map[string]json.RawMessage{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range ref.e.task.Containers {
		id := st.dockerID(c.Name)
		if id == "" {
			continue
		}
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			data, err := sr.ContainerStats(ctx, runtime.ContainerID(id))
			if err != nil {
				// A stopped or removed container has no stats; ECS shows
				// null for it.
				data = json.RawMessage("null")
			}
			mu.Lock()
			out[id] = data
			mu.Unlock()
		}(id)
	}
	wg.Wait()
	return out, nil
}

func (s *Server) statusOnly(ctx context.Context, e *entry) (Status, error) {
	if e.task.Status == nil {
		return Status{}, errNotReady
	}
	return e.task.Status(ctx)
}
