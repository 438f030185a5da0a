package endpoints

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/iam"
	"github.com/berth-dev/berth/sts"
)

// ecsTasksService is the principal a task role must trust.
const ecsTasksService = "ecs-tasks.amazonaws.com"

// credentialsResponse is the body of the credentials endpoint, as the ECS
// agent writes it.
type credentialsResponse struct {
	RoleArn         string `json:"RoleArn"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
}

// errorResponse is the ECS agent's credentials error body.
type errorResponse struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// The ECS agent's credentials error codes.
const (
	codeNoID          = "NoIdInRequest"
	codeInvalidID     = "InvalidIdInRequest"
	codeNoCredentials = "NoCredentialsAssociated"
	codeUninitialized = "CredentialsUninitialized"
	codeInternal      = "InternalServerError"
	// Not the ECS agent's: a wrong AWS_CONTAINER_AUTHORIZATION_TOKEN, and a
	// role ECS may not assume.
	codeAccessDenied = "AccessDenied"
)

const credPrefix = "CredentialsV2Request: "

func (s *Server) serveNoCredentialsID(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusBadRequest, errorResponse{codeNoID, credPrefix + "No Credential ID in the request"})
}

// serveCredentials answers GET /v2/credentials/{id}: the role credentials
// of the task the id was derived for, and of no other.
func (s *Server) serveCredentials(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == "" {
		s.serveNoCredentialsID(w, r)
		return
	}
	s.mu.RLock()
	e := s.byCred[id]
	s.mu.RUnlock()
	if e == nil {
		writeJSON(w, http.StatusBadRequest, errorResponse{codeInvalidID, credPrefix + "Credentials not found"})
		return
	}
	// A FULL_URI client sends the task's token; a RELATIVE_URI client
	// (ECS's way) sends none, and the id alone is the secret, as in ECS.
	if auth := r.Header.Get("Authorization"); auth != "" && subtle.ConstantTimeCompare([]byte(auth), []byte(e.authToken)) != 1 {
		writeJSON(w, http.StatusUnauthorized, errorResponse{codeAccessDenied, credPrefix + "The authorization token does not match the credentials ID"})
		return
	}
	c, err := s.credentials(r.Context(), e)
	if err != nil {
		status, code := http.StatusInternalServerError, codeInternal
		var denied *accessDenied
		switch {
		case errors.As(err, &denied), awsapi.AsError(err) != nil && awsapi.AsError(err).Code == codeAccessDenied:
			// The second: Berth's STS refused a remote agent the role.
			status, code = http.StatusForbidden, codeAccessDenied
		case errors.Is(err, iam.ErrNoSuchRole):
			status, code = http.StatusNotFound, codeNoCredentials
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			status, code = http.StatusServiceUnavailable, codeUninitialized
		}
		s.log.Warn("task credentials", "task", e.task.TaskARN, "role", e.task.TaskRoleARN, "error", err)
		writeJSON(w, status, errorResponse{code, credPrefix + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, credentialsResponse{
		RoleArn:         c.RoleARN,
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		Token:           c.SessionToken,
		Expiration:      c.Expiration.UTC().Format(time.RFC3339),
	})
}

type accessDenied struct{ role string }

func (e *accessDenied) Error() string {
	return fmt.Sprintf("the trust policy of role %s does not let %s assume it", e.role, ecsTasksService)
}

// credentials returns the task role's credentials, issuing new ones when
// less than a third of their life remains (the SDKs refresh five to fifteen
// minutes before expiry, so they always get fresh ones).
func (s *Server) credentials(ctx context.Context, e *entry) (sts.Credentials, error) {
	e.credMu.Lock()
	defer e.credMu.Unlock()
	now := s.now()
	if e.creds != nil && e.creds.Expiration.Sub(now) > s.credTTL/3 {
		return *e.creds, nil
	}
	t := &e.task
	if tc, ok := s.o.Issuer.(trustChecker); ok {
		trusted, err := tc.TrustsService(ctx, t.Account, t.TaskRoleARN, ecsTasksService)
		if err != nil {
			return sts.Credentials{}, err
		}
		if !trusted {
			return sts.Credentials{}, &accessDenied{role: t.TaskRoleARN}
		}
	}
	c, err := s.o.Issuer.IssueRoleCredentials(ctx, t.Account, t.TaskRoleARN, sessionName(t.TaskARN), s.credTTL)
	if err != nil {
		return sts.Credentials{}, err
	}
	e.creds = &c
	return c, nil
}

var notSessionChar = regexp.MustCompile(`[^\w+=,.@-]`)

// sessionName is the role session name of a task's credentials: its id, as
// ECS names them (arn:aws:sts::<account>:assumed-role/<role>/<task id>).
func sessionName(taskARN string) string {
	id := taskARN
	if p, ok := parseTaskARN(taskARN); ok {
		id = p.id
	}
	id = notSessionChar.ReplaceAllString(id, "-")
	if len(id) > 64 {
		id = id[:64]
	}
	for len(id) < 2 {
		id += "-"
	}
	return id
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `"failed to encode the response"`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}
