// Package endpoints serves what ECS serves inside every task: the
// credentials endpoint that vends the task role's temporary credentials,
// the task metadata endpoints (v4, and v3 with the same bodies), and, on the
// same listeners, the AWS API itself, so that SDKs inside a task work with
// nothing but the environment Berth gives them.
//
// The task agent calls Register before it creates a task's containers and
// puts the returned environment into each container; it calls Unregister
// once the task has stopped. See docs/ecs-task-identity.md for how the
// containers reach these listeners.
//
// Identifiers in the URLs (the credentials id, the metadata endpoint id of
// each container, the authorization token) are HMACs of the task ARN under
// a key kept in the data directory, and registrations are kept in the
// state store: after a restart Berth answers for the tasks it re-adopts at
// the very URLs their containers were started with.
package endpoints

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/ecs"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/sts"
)

// Errors of Register and Unregister, checked with errors.Is.
var (
	// ErrInvalidTask: the task given to Register is incomplete or
	// malformed; nothing was registered.
	ErrInvalidTask = errors.New("endpoints: invalid task")
	// ErrUnreachable: no address containers can reach could be listened on
	// yet (the engine is down, or every bind failed); retry later.
	ErrUnreachable = errors.New("endpoints: not listening on any address containers reach")
)

// The environment variables Register hands out.
const (
	EnvMetadataV4      = "ECS_CONTAINER_METADATA_URI_V4"
	EnvMetadataV3      = "ECS_CONTAINER_METADATA_URI"
	EnvRelativeURI     = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
	EnvFullURI         = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	EnvAuthToken       = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
	EnvEndpointURL     = "AWS_ENDPOINT_URL"
	EnvRegion          = "AWS_REGION"
	EnvDefaultRegion   = "AWS_DEFAULT_REGION"
	EnvExecutionEnv    = "AWS_EXECUTION_ENV"
	credentialsPathFmt = "/v2/credentials/%s"
)

// Issuer vends temporary credentials for a role; *sts.Service is one.
type Issuer interface {
	IssueRoleCredentials(ctx context.Context, account, role, sessionName string, d time.Duration) (sts.Credentials, error)
}

// trustChecker is the optional part of an Issuer that says whether a role
// lets ECS tasks assume it; *sts.Service has it.
type trustChecker interface {
	TrustsService(ctx context.Context, account, role, service string) (bool, error)
}

// Engine is what the endpoints read from the runtime: the containers the
// metadata describes, found by the labels the ECS agent puts on them
// (LabelTaskARN, LabelContainerName). When it is also a
// runtime.HostAddresser the endpoints listen where containers reach them,
// and when it is a runtime.StatsReader the stats endpoints answer.
type Engine interface {
	List(ctx context.Context, labels map[string]string) ([]runtime.ContainerInfo, error)
}

// The Amazon ECS container agent's labels, which Berth's agent puts on a
// task's containers too.
const (
	LabelTaskARN       = "com.amazonaws.ecs.task-arn"
	LabelContainerName = "com.amazonaws.ecs.container-name"
)

// Options configure a Server.
type Options struct {
	// Key derives the ids in the endpoint URLs; at least 32 bytes, kept
	// across restarts (the data directory's task-endpoints.key).
	Key []byte
	// Store keeps registrations and the chosen port across restarts.
	Store  store.Store
	Issuer Issuer
	Engine Engine
	// API serves the AWS API requests that arrive on the task listeners
	// (tasks' AWS_ENDPOINT_URL points there); nil answers them 404.
	API http.Handler
	// Port is the port to listen on at every container-facing address,
	// normally Berth's own port; 0 picks one. The port chosen is kept in
	// the store and preferred after a restart, as containers carry it.
	Port int
	// FullURIOnly never binds 169.254.170.2:80 and always hands out
	// AWS_CONTAINER_CREDENTIALS_FULL_URI. Otherwise, when Berth may bind
	// port 80 there (it runs as root, say), tasks get ECS's own
	// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and port-less metadata URLs.
	FullURIOnly bool
	// CredentialsDuration is how long vended credentials last; 0 means an
	// hour. They are re-issued once less than a third of it remains.
	CredentialsDuration time.Duration
	// ResyncInterval is how often the listen addresses are looked up again
	// (networks come and go with the engine); 0 means 30s.
	ResyncInterval time.Duration
	Log            *slog.Logger
	Now            func() time.Time
}

// Task is what the endpoints need to know about a task.
type Task struct {
	TaskARN string `json:"taskArn"`
	// Cluster is the cluster's ARN (ECS's metadata shows it as given).
	Cluster          string `json:"cluster"`
	Account          string `json:"account"`
	Region           string `json:"region"`
	TaskRoleARN      string `json:"taskRoleArn,omitempty"`
	ExecutionRoleARN string `json:"executionRoleArn,omitempty"`
	Family           string `json:"family"`
	Revision         int    `json:"revision"`
	AvailabilityZone string `json:"availabilityZone,omitempty"`
	// LaunchType is EC2, FARGATE or EXTERNAL.
	LaunchType string `json:"launchType"`
	// NetworkMode is awsvpc, bridge, host or none ("" is bridge).
	NetworkMode string `json:"networkMode,omitempty"`
	// CPU and Memory are the task-level sizes as the task definition gives
	// them ("256", "1 vCPU", "512", "1 GB"); empty when unset.
	CPU         string      `json:"cpu,omitempty"`
	Memory      string      `json:"memory,omitempty"`
	ServiceName string      `json:"serviceName,omitempty"`
	Containers  []Container `json:"containers"`
	// Status reads the task's current state for the metadata endpoints. It
	// is not kept across restarts: re-register a re-adopted task.
	Status StatusFunc `json:"-"`
}

// Container is one container of a task.
type Container struct {
	Name              string            `json:"name"`
	Image             string            `json:"image"`
	ContainerARN      string            `json:"containerArn,omitempty"`
	CPU               int64             `json:"cpu,omitempty"`    // units
	Memory            int64             `json:"memory,omitempty"` // MiB
	MemoryReservation int64             `json:"memoryReservation,omitempty"`
	LogDriver         string            `json:"logDriver,omitempty"`
	LogOptions        map[string]string `json:"logOptions,omitempty"`
}

// StatusFunc reads a task's desired status and what its agent last
// observed.
type StatusFunc func(ctx context.Context) (Status, error)

// Status is a task's state as the metadata endpoints report it.
type Status struct {
	DesiredStatus string
	ecs.TaskStatus
}

// Env is the environment of each container of a registered task, by
// container name: ECS gives every container a metadata URL of its own.
type Env = map[string]map[string]string

// Server serves the task endpoints. Its methods are safe for concurrent
// use.
type Server struct {
	o       Options
	log     *slog.Logger
	now     func() time.Time
	credTTL time.Duration
	handler http.Handler

	mu     sync.RWMutex
	tasks  map[string]*entry // by task ARN
	byCred map[string]*entry
	byMeta map[string]metaRef

	lis listeners
}

// entry is one registered task.
type entry struct {
	task      Task
	credID    string // "" without a task role
	authToken string
	metaIDs   map[string]string // container name → endpoint id

	credMu sync.Mutex
	creds  *sts.Credentials
}

type metaRef struct {
	e         *entry
	container string
}

// New returns a Server with the registrations kept in the store. It does
// not listen: Run does, and Register starts listening if Run has not yet.
func New(ctx context.Context, o Options) (*Server, error) {
	if len(o.Key) < 32 {
		return nil, errors.New("endpoints: the key must have at least 32 bytes")
	}
	if o.Store == nil || o.Issuer == nil || o.Engine == nil {
		return nil, errors.New("endpoints: Store, Issuer and Engine are required")
	}
	if o.Port < 0 || o.Port > 65535 {
		return nil, fmt.Errorf("endpoints: port %d out of range", o.Port)
	}
	s := &Server{
		o:       o,
		log:     o.Log,
		now:     o.Now,
		credTTL: o.CredentialsDuration,
		tasks:   map[string]*entry{},
		byCred:  map[string]*entry{},
		byMeta:  map[string]metaRef{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.credTTL <= 0 {
		s.credTTL = time.Hour
	}
	s.handler = s.routes()
	s.lis.init(s)
	tasks, err := loadTasks(ctx, o.Store)
	if err != nil {
		return nil, fmt.Errorf("endpoints: loading registrations: %w", err)
	}
	for _, t := range tasks {
		s.index(t)
	}
	return s, nil
}

// Handler serves the endpoints (and the API fallback) for tests and for
// callers with listeners of their own.
func (s *Server) Handler() http.Handler { return s.handler }

// Register makes the endpoints answer for t and returns the environment of
// each of its containers. Registering a task again (a re-adopted task after
// a restart, or with a new Status) replaces the registration and returns
// the same environment.
func (s *Server) Register(ctx context.Context, t Task) (Env, error) {
	if err := normalize(&t); err != nil {
		return nil, err
	}
	at, err := s.lis.ensure(ctx)
	if err != nil {
		return nil, err
	}
	if err := saveTask(ctx, s.o.Store, t, s.now()); err != nil {
		return nil, fmt.Errorf("endpoints: saving registration of %s: %w", t.TaskARN, err)
	}
	e := s.index(t)
	env := Env{}
	for _, c := range t.Containers {
		env[c.Name] = s.env(e, c.Name, at)
	}
	return env, nil
}

// Unregister forgets a task; its URLs answer as unknown from then on.
// Unregistering an unknown task is not an error.
func (s *Server) Unregister(ctx context.Context, taskARN string) error {
	s.mu.Lock()
	if e := s.tasks[taskARN]; e != nil {
		s.unindexLocked(e)
	}
	s.mu.Unlock()
	if err := deleteTask(ctx, s.o.Store, taskARN); err != nil {
		return fmt.Errorf("endpoints: forgetting %s: %w", taskARN, err)
	}
	return nil
}

// Tasks lists the ARNs of the registered tasks, so an agent can unregister
// those that ended while Berth was down.
func (s *Server) Tasks() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.tasks))
	for arn := range s.tasks {
		out = append(out, arn)
	}
	return out
}

// index makes t answerable, replacing an earlier registration of it.
func (s *Server) index(t Task) *entry {
	e := &entry{task: t, metaIDs: map[string]string{}}
	if t.TaskRoleARN != "" {
		e.credID = s.derive("credentials", t.TaskARN, t.TaskRoleARN)
		e.authToken = s.token(t.TaskARN, t.TaskRoleARN)
	}
	for _, c := range t.Containers {
		e.metaIDs[c.Name] = s.derive("metadata", t.TaskARN, c.Name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.tasks[t.TaskARN]; old != nil {
		if old.task.TaskRoleARN == t.TaskRoleARN {
			old.credMu.Lock()
			e.creds = old.creds
			old.credMu.Unlock()
		}
		s.unindexLocked(old)
	}
	s.tasks[t.TaskARN] = e
	if e.credID != "" {
		s.byCred[e.credID] = e
	}
	for name, id := range e.metaIDs {
		s.byMeta[id] = metaRef{e: e, container: name}
	}
	return e
}

func (s *Server) unindexLocked(e *entry) {
	delete(s.tasks, e.task.TaskARN)
	if e.credID != "" && s.byCred[e.credID] == e {
		delete(s.byCred, e.credID)
	}
	for _, id := range e.metaIDs {
		if s.byMeta[id].e == e {
			delete(s.byMeta, id)
		}
	}
}

// derive is an id for a URL path: the HMAC of the parts, as a UUID, which
// is what ECS's ids look like.
func (s *Server) derive(kind string, parts ...string) string {
	m := hmac.New(sha256.New, s.o.Key)
	m.Write([]byte(kind))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	h := hex.EncodeToString(m.Sum(nil)[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// token is the AWS_CONTAINER_AUTHORIZATION_TOKEN of a task.
func (s *Server) token(taskARN, role string) string {
	m := hmac.New(sha256.New, s.o.Key)
	m.Write([]byte("authorization\x00" + taskARN + "\x00" + role))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// env is the environment of one container, for the addresses listened on.
func (s *Server) env(e *entry, container string, at reach) map[string]string {
	t := &e.task
	host := at.hostFor(t.NetworkMode)
	base := "http://" + hostPort(host, at.port)
	metaBase := base
	if at.relative && host == runtime.TaskEndpointAddress {
		metaBase = "http://" + host
	}
	id := e.metaIDs[container]
	env := map[string]string{
		EnvMetadataV4:    metaBase + "/v4/" + id,
		EnvMetadataV3:    metaBase + "/v3/" + id,
		EnvEndpointURL:   base,
		EnvRegion:        t.Region,
		EnvDefaultRegion: t.Region,
		EnvExecutionEnv:  executionEnv(t.LaunchType),
	}
	if e.credID != "" {
		path := fmt.Sprintf(credentialsPathFmt, e.credID)
		if at.relative && host == runtime.TaskEndpointAddress {
			env[EnvRelativeURI] = path
		} else {
			env[EnvFullURI] = base + path
			env[EnvAuthToken] = e.authToken
		}
	}
	return env
}

func hostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(port)
}

func executionEnv(launchType string) string {
	switch launchType {
	case "FARGATE":
		return "AWS_ECS_FARGATE"
	case "EXTERNAL":
		return "AWS_ECS_EXTERNAL"
	}
	return "AWS_ECS_EC2"
}

// Merge returns the environment a container runs with: the task
// definition's env with Berth's over it, except that a task definition's
// own AWS_REGION, AWS_DEFAULT_REGION and AWS_ENDPOINT_URL are kept (a task
// may well mean another region or endpoint).
func Merge(taskDef, berth map[string]string) map[string]string {
	out := make(map[string]string, len(taskDef)+len(berth))
	for k, v := range taskDef {
		out[k] = v
	}
	for k, v := range berth {
		switch k {
		case EnvRegion, EnvDefaultRegion, EnvEndpointURL:
			if _, ok := taskDef[k]; ok {
				continue
			}
		}
		out[k] = v
	}
	return out
}

// normalize checks t and fills what its ARN implies.
func normalize(t *Task) error {
	p, ok := parseTaskARN(t.TaskARN)
	if !ok {
		return fmt.Errorf("%w: %q is not a task ARN", ErrInvalidTask, t.TaskARN)
	}
	if t.Account == "" {
		t.Account = p.account
	}
	if t.Region == "" {
		t.Region = p.region
	}
	if t.Account != p.account || t.Region != p.region {
		return fmt.Errorf("%w: task %s is not in account %s, region %s", ErrInvalidTask, t.TaskARN, t.Account, t.Region)
	}
	if t.Cluster == "" {
		t.Cluster = p.cluster
	}
	if t.LaunchType == "" {
		t.LaunchType = "EC2"
	}
	if len(t.Containers) == 0 {
		return fmt.Errorf("%w: task %s has no containers", ErrInvalidTask, t.TaskARN)
	}
	seen := map[string]bool{}
	for _, c := range t.Containers {
		if c.Name == "" || seen[c.Name] {
			return fmt.Errorf("%w: task %s: container names must be unique and not empty (%q)", ErrInvalidTask, t.TaskARN, c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

type taskARNParts struct {
	partition, region, account, cluster, id string
}

// parseTaskARN reads arn:<partition>:ecs:<region>:<account>:task/<cluster>/<id>.
func parseTaskARN(arn string) (taskARNParts, bool) {
	f := strings.SplitN(arn, ":", 6)
	if len(f) != 6 || f[0] != "arn" || f[1] == "" || f[2] != "ecs" || f[3] == "" || f[4] == "" {
		return taskARNParts{}, false
	}
	res := strings.Split(f[5], "/")
	if len(res) != 3 || res[0] != "task" || res[1] == "" || res[2] == "" {
		return taskARNParts{}, false
	}
	return taskARNParts{partition: f[1], region: f[3], account: f[4], cluster: res[1], id: res[2]}, true
}

// FromAssignedTask describes an assigned task for Register, with RunTask's
// overrides applied; status reads its current state.
func FromAssignedTask(a *ecs.AssignedTask, status StatusFunc) Task {
	t := Task{
		TaskARN:          a.TaskARN,
		Cluster:          a.ClusterARN,
		Account:          a.Account,
		Region:           a.Region,
		TaskRoleARN:      a.TaskRoleArn,
		ExecutionRoleARN: a.ExecutionRoleArn,
		AvailabilityZone: a.AvailabilityZone,
		LaunchType:       a.LaunchType,
		NetworkMode:      a.NetworkMode,
		CPU:              a.CPU,
		Memory:           a.Memory,
		Status:           status,
	}
	if a.Definition.Family != nil {
		t.Family = *a.Definition.Family
	}
	if a.Definition.Revision != nil {
		t.Revision = int(*a.Definition.Revision)
	}
	if t.NetworkMode == "" && a.Definition.NetworkMode != nil {
		t.NetworkMode = string(*a.Definition.NetworkMode)
	}
	if name, ok := strings.CutPrefix(a.Group, "service:"); ok {
		t.ServiceName = name
	}
	for _, cd := range a.Containers() {
		c := Container{}
		if cd.Name != nil {
			c.Name = *cd.Name
		}
		if cd.Image != nil {
			c.Image = *cd.Image
		}
		if cd.Cpu != nil {
			c.CPU = int64(*cd.Cpu)
		}
		if cd.Memory != nil {
			c.Memory = int64(*cd.Memory)
		}
		if cd.MemoryReservation != nil {
			c.MemoryReservation = int64(*cd.MemoryReservation)
		}
		if lc := cd.LogConfiguration; lc != nil {
			if lc.LogDriver != nil {
				c.LogDriver = string(*lc.LogDriver)
			}
			c.LogOptions = lc.Options
		}
		t.Containers = append(t.Containers, c)
	}
	return t
}
