package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/agent/endpoints"
	"github.com/berth-dev/berth/ecr/token"
	"github.com/berth-dev/berth/ecs"
	"github.com/berth-dev/berth/iam"
	"github.com/berth-dev/berth/iam/policy"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/store/sqlite"
	"github.com/berth-dev/berth/sts"
)

// The files of the task endpoints in the state directory: registrations
// and the chosen port (a SQLite store of the agent's own), and the key the
// URLs' ids derive from. Tasks re-adopted after a restart keep the URLs
// their containers were started with.
const (
	endpointsDBFile  = "task-endpoints.db"
	endpointsKeyFile = "task-endpoints.key"
)

// startEndpoints serves the task credentials, metadata and AWS API
// endpoints to the containers of this host, as Berth does for its own:
// credentials come from Berth's STS (RoleIssuer), metadata from the
// agent's view of its tasks, and AWS API requests are passed on to Berth.
// It returns the agent's side of them and a function that stops them.
func startEndpoints(ctx context.Context, cfg Config, c *Client, src *TaskSource, rt runtime.Runtime, log *slog.Logger) (*Endpoints, func(), error) {
	target, err := url.Parse(cfg.Endpoint)
	if err != nil || target.Host == "" {
		return nil, nil, fmt.Errorf("endpoint %q is not a URL", cfg.Endpoint)
	}
	key, err := token.LoadOrCreateKey(filepath.Join(cfg.StateDir, endpointsKeyFile))
	if err != nil {
		return nil, nil, fmt.Errorf("endpoints key: %w", err)
	}
	st, err := sqlite.Open(filepath.Join(cfg.StateDir, endpointsDBFile))
	if err != nil {
		return nil, nil, fmt.Errorf("endpoints state: %w", err)
	}
	srv, err := endpoints.New(ctx, endpoints.Options{
		Key:    key,
		Store:  st,
		Issuer: RoleIssuer{C: c},
		Engine: rt,
		API:    apiProxy(target, log),
		Port:   endpointsPort(cfg.EndpointsPort),
		Log:    log,
	})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); srv.Run(rctx) }()
	stop := func() {
		cancel()
		<-done
		st.Close()
	}
	return &Endpoints{S: srv, Tasks: src}, stop, nil
}

// defaultEndpointsPort is the ECS agent's credentials port, which
// container instances reserve.
const defaultEndpointsPort = 51679

func endpointsPort(p int) int {
	if p == 0 {
		return defaultEndpointsPort
	}
	return p
}

// apiProxy passes the AWS API requests of tasks (their AWS_ENDPOINT_URL is
// the endpoints' address) on to Berth. The Host header is kept: it is part
// of what SigV4 signs, and Berth checks the signature against it.
func apiProxy(target *url.URL, log *slog.Logger) http.Handler {
	p := httputil.NewSingleHostReverseProxy(target)
	p.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	return p
}

// Endpoints is agent.Endpoints for a remote agent: a task's status in its
// metadata is what DescribeTasks shows of it.
type Endpoints struct {
	S     *endpoints.Server
	Tasks *TaskSource
}

// Register implements agent.Endpoints.
func (e *Endpoints) Register(ctx context.Context, t *ecs.AssignedTask) (map[string]map[string]string, error) {
	arn := t.TaskARN
	return e.S.Register(ctx, endpoints.FromAssignedTask(t, func(ctx context.Context) (endpoints.Status, error) {
		return e.Tasks.TaskStatus(ctx, arn)
	}))
}

// Unregister implements agent.Endpoints.
func (e *Endpoints) Unregister(taskARN string) {
	if err := e.S.Unregister(context.Background(), taskARN); err != nil {
		slog.Warn("task endpoints: unregistering", "task", taskARN, "error", err)
	}
}

// TaskStatus is a task's desired and observed state, as DescribeTasks
// shows it; a task no longer on the instance has stopped.
func (s *TaskSource) TaskStatus(ctx context.Context, taskARN string) (endpoints.Status, error) {
	tasks, err := s.describe(ctx, []string{taskARN})
	if err != nil {
		return endpoints.Status{}, err
	}
	if len(tasks) != 1 || deref(tasks[0].ContainerInstanceArn) != s.Instance {
		return endpoints.Status{}, fmt.Errorf("task %s is no longer running on this host", taskARN)
	}
	return endpoints.Status{DesiredStatus: deref(tasks[0].DesiredStatus), TaskStatus: statusOf(&tasks[0])}, nil
}

// RoleIssuer is endpoints.Issuer over Berth's API: a task role's
// credentials come from STS AssumeRole, signed with the agent's
// credentials, with the task id as the session name. Berth's STS vends a
// role that trusts ecs-tasks.amazonaws.com to the agent of a task placed
// on a container instance that runs with that role, and to no other
// caller, as ECS assumes task roles for its agents.
type RoleIssuer struct{ C *Client }

var _ endpoints.Issuer = RoleIssuer{}

// region is the Region the roles are assumed in: the instance's tasks are
// all in the cluster's, the client's.
func (r RoleIssuer) region() string { return r.C.Region }

// getRole reads a role (an ARN, or a name in account) with IAM GetRole:
// its ARN and trust policy. A role ARN that names another path than the
// role's is another role, which does not exist.
func (r RoleIssuer) getRole(ctx context.Context, account, role string) (arn, trust string, err error) {
	name := role
	if strings.HasPrefix(role, "arn:") {
		acct, _, n, ok := iam.ParseRoleARN(role)
		if !ok || acct != account {
			return "", "", fmt.Errorf("%q is not a role of account %s: %w", role, account, iam.ErrNoSuchRole)
		}
		name = n
	}
	var out struct {
		Result struct {
			Role struct {
				Arn                      string `xml:"Arn"`
				AssumeRolePolicyDocument string `xml:"AssumeRolePolicyDocument"`
			} `xml:"Role"`
		} `xml:"GetRoleResult"`
	}
	err = r.C.callQuery(ctx, svcIAM, r.region(), "GetRole", url.Values{"RoleName": {name}}, &out)
	if ErrorCode(err) == "NoSuchEntity" {
		return "", "", fmt.Errorf("role %s: %w", role, iam.ErrNoSuchRole)
	}
	if err != nil {
		return "", "", fmt.Errorf("iam GetRole %s: %w", name, err)
	}
	arn = out.Result.Role.Arn
	if strings.HasPrefix(role, "arn:") && arn != role {
		return "", "", fmt.Errorf("role %s: %w", role, iam.ErrNoSuchRole)
	}
	trust = out.Result.Role.AssumeRolePolicyDocument
	if u, err := url.QueryUnescape(trust); err == nil {
		trust = u
	}
	return arn, trust, nil
}

// IssueRoleCredentials implements endpoints.Issuer.
func (r RoleIssuer) IssueRoleCredentials(ctx context.Context, account, role, sessionName string, d time.Duration) (sts.Credentials, error) {
	arn := role
	if !strings.HasPrefix(role, "arn:") {
		var err error
		if arn, _, err = r.getRole(ctx, account, role); err != nil {
			return sts.Credentials{}, err
		}
	}
	params := url.Values{
		"RoleArn":         {arn},
		"RoleSessionName": {sessionName},
	}
	if d > 0 {
		params.Set("DurationSeconds", strconv.Itoa(int(d/time.Second)))
	}
	var out struct {
		Result struct {
			Credentials struct {
				AccessKeyID     string    `xml:"AccessKeyId"`
				SecretAccessKey string    `xml:"SecretAccessKey"`
				SessionToken    string    `xml:"SessionToken"`
				Expiration      time.Time `xml:"Expiration"`
			} `xml:"Credentials"`
			AssumedRoleUser struct {
				Arn           string `xml:"Arn"`
				AssumedRoleID string `xml:"AssumedRoleId"`
			} `xml:"AssumedRoleUser"`
		} `xml:"AssumeRoleResult"`
	}
	err := r.C.callQuery(ctx, svcSTS, r.region(), "AssumeRole", params, &out)
	if err != nil {
		return sts.Credentials{}, fmt.Errorf("sts AssumeRole of %s: %w", arn, err)
	}
	c := out.Result.Credentials
	if c.AccessKeyID == "" {
		return sts.Credentials{}, errors.New("sts AssumeRole: no credentials in the answer")
	}
	return sts.Credentials{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		SessionToken:    c.SessionToken,
		Expiration:      c.Expiration,
		RoleARN:         arn,
		AssumedRoleARN:  out.Result.AssumedRoleUser.Arn,
		AssumedRoleID:   out.Result.AssumedRoleUser.AssumedRoleID,
	}, nil
}

// TrustsService implements the endpoints' trust check with IAM GetRole, so
// that a role the agent's own principal may assume, but which does not
// trust ECS tasks, is refused to tasks as Berth refuses it to its own.
func (r RoleIssuer) TrustsService(ctx context.Context, account, role, service string) (bool, error) {
	arn, doc, err := r.getRole(ctx, account, role)
	if err != nil {
		return false, err
	}
	trust, err := policy.Parse(doc, policy.Trust)
	if err != nil {
		return false, fmt.Errorf("the trust policy of %s: %w", arn, err)
	}
	return trust.Allows("sts:AssumeRole", policy.Caller{Service: service}), nil
}
