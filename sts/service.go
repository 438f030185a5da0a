// Package sts is Berth's AWS Security Token Service: who a caller is
// (GetCallerIdentity) and temporary credentials for IAM roles (AssumeRole,
// AssumeRoleWithWebIdentity for OIDC ID tokens, and IssueRoleCredentials
// for ECS task roles), and for the caller itself (GetSessionToken,
// GetFederationToken). Berth remembers the
// credentials it issues in the store, and the awsapi.Authenticator asks
// this service about them (LookupSession), so a request signed with them
// acts as the assumed role in the role's account until they expire.
package sts

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	stsapi "github.com/berth-dev/berth/api/sts"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/iam"
	"github.com/berth-dev/berth/iam/policy"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/sts/oidc"
)

// kindSession holds issued credentials by access key id. Sessions are
// global (the key alone finds them), so account and region are empty.
const kindSession = "sts.session"

// Session lengths, as AWS bounds them.
const (
	minSession       = 15 * time.Minute
	defaultSession   = time.Hour
	maxChainedLength = time.Hour
	maxSession       = 12 * time.Hour
)

// Options configure a Service.
type Options struct {
	// Store keeps the issued credentials.
	Store store.Store
	// IAM is where roles are looked up.
	IAM *iam.Service
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// HTTPClient fetches OIDC issuers' discovery documents and keys for
	// AssumeRoleWithWebIdentity; one with a 5-second timeout when nil.
	HTTPClient *http.Client
}

// Service implements the STS API and resolves the credentials it issued
// for the Authenticator.
type Service struct {
	stsapi.UnimplementedService
	st   store.Store
	iam  *iam.Service
	now  func() time.Time
	keys *oidc.Keys // OIDC issuers' signing keys, cached briefly
	// taskRoles, when set, lets remote ECS agents assume their tasks' roles.
	taskRoles TaskRoles
}

var (
	_ stsapi.Service            = (*Service)(nil)
	_ awsapi.SessionCredentials = (*Service)(nil)
)

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.IAM == nil {
		return nil, errors.New("sts: Store and IAM are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{st: o.Store, iam: o.IAM, now: o.Now, keys: &oidc.Keys{Client: o.HTTPClient, Now: o.Now}}, nil
}

// session is an issued set of credentials as the store keeps it.
type session struct {
	AccessKeyID     string    `json:"accessKeyId"`
	SecretAccessKey string    `json:"secretAccessKey"`
	SessionToken    string    `json:"sessionToken"`
	Account         string    `json:"account"`
	RoleARN         string    `json:"roleArn"`
	SessionName     string    `json:"sessionName"`
	AssumedRoleARN  string    `json:"assumedRoleArn"`
	AssumedRoleID   string    `json:"assumedRoleId"` // AROA...:session
	SourceIdentity  string    `json:"sourceIdentity,omitempty"`
	Issued          time.Time `json:"issued"`
	Expiration      time.Time `json:"expiration"`

	// TransitiveTags are the session tags that pass on to sessions these
	// credentials assume (role chaining), by key as the caller wrote it.
	TransitiveTags map[string]string `json:"transitiveTags,omitempty"`
}

// Credentials are temporary credentials Berth issued for a role.
type Credentials struct {
	AccessKeyID     string // ASIA...
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
	// RoleARN is the role's ARN; AssumedRoleARN and AssumedRoleID are who
	// the credentials act as (arn:aws:sts::<acct>:assumed-role/<role>/<session>,
	// AROA...:<session>).
	RoleARN        string
	AssumedRoleARN string
	AssumedRoleID  string
}

// LookupSession implements awsapi.SessionCredentials.
func (s *Service) LookupSession(ctx context.Context, accessKeyID string) (*awsapi.Session, error) {
	var rec session
	err := s.st.View(ctx, func(tx store.Tx) error {
		return store.ReadDoc(tx, kindSession, "", "", accessKeyID, &rec)
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &awsapi.Session{
		AccessKeyID: rec.AccessKeyID, SecretAccessKey: rec.SecretAccessKey, SessionToken: rec.SessionToken,
		AccountID: rec.Account, Principal: rec.AssumedRoleARN, UserID: rec.AssumedRoleID, Expiration: rec.Expiration,
	}, nil
}

// sessionName is RoleSessionName's pattern and lengths.
var sessionName = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

// IssueRoleCredentials vends credentials for a role of account, as the ECS
// agent does for a task role: role is the role's ARN or its name in
// account (task definitions accept both), and the role must belong to
// account. The trust policy is not evaluated here (see TrustsService). A
// duration of zero means an hour; it is kept between 15 minutes and 12
// hours. Errors: iam.ErrNoSuchRole, or a ValidationError for a bad session
// name.
func (s *Service) IssueRoleCredentials(ctx context.Context, account, role, sessName string, d time.Duration) (Credentials, error) {
	if !sessionName.MatchString(sessName) {
		return Credentials{}, validationError("Role session name %q must be 2 to 64 characters of [\\w+=,.@-].", sessName)
	}
	r, err := s.roleOf(ctx, account, role)
	if err != nil {
		return Credentials{}, err
	}
	if d == 0 {
		d = defaultSession
	}
	d = min(max(d, minSession), maxSession)
	return s.issue(ctx, r, sessName, "", d)
}

// TrustsService reports whether a role's trust policy lets an AWS service
// (such as ecs-tasks.amazonaws.com) assume it; role is an ARN or a name in
// account.
func (s *Service) TrustsService(ctx context.Context, account, role, service string) (bool, error) {
	r, err := s.roleOf(ctx, account, role)
	if err != nil {
		return false, err
	}
	return r.Trust.Allows("sts:AssumeRole", policy.Caller{Service: service}), nil
}

func (s *Service) roleOf(ctx context.Context, account, role string) (iam.Role, error) {
	var r iam.Role
	var err error
	if strings.HasPrefix(role, "arn:") {
		r, err = s.iam.RoleByARN(ctx, role)
	} else {
		r, err = s.iam.RoleByName(ctx, account, role)
	}
	if err != nil {
		return iam.Role{}, err
	}
	if r.Account != account {
		return iam.Role{}, fmt.Errorf("sts: role %s is not in account %s: %w", role, account, iam.ErrNoSuchRole)
	}
	return r, nil
}

// issue mints and stores credentials for a session of role.
func (s *Service) issue(ctx context.Context, role iam.Role, sessName, sourceIdentity string, d time.Duration) (Credentials, error) {
	return s.issueTagged(ctx, role, sessName, sourceIdentity, d, nil)
}

// issueTagged is issue for a session carrying transitive session tags.
func (s *Service) issueTagged(ctx context.Context, role iam.Role, sessName, sourceIdentity string, d time.Duration, transitive map[string]string) (Credentials, error) {
	now := s.now().UTC().Truncate(time.Second)
	rec := session{
		AccessKeyID:     "ASIA" + randomID(16),
		SecretAccessKey: randomText(30),
		SessionToken:    randomText(192),
		Account:         role.Account,
		RoleARN:         role.ARN,
		SessionName:     sessName,
		AssumedRoleARN:  "arn:aws:sts::" + role.Account + ":assumed-role/" + role.Name + "/" + sessName,
		AssumedRoleID:   role.ID + ":" + sessName,
		SourceIdentity:  sourceIdentity,
		TransitiveTags:  transitive,
		Issued:          now,
		Expiration:      now.Add(d),
	}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		return store.PutDoc(tx, kindSession, "", "", rec.AccessKeyID, rec, now)
	})
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{
		AccessKeyID: rec.AccessKeyID, SecretAccessKey: rec.SecretAccessKey, SessionToken: rec.SessionToken,
		Expiration: rec.Expiration, RoleARN: rec.RoleARN, AssumedRoleARN: rec.AssumedRoleARN, AssumedRoleID: rec.AssumedRoleID,
	}, nil
}

// Prune forgets credentials that expired before cutoff and returns how
// many. Until then a request signed with expired credentials gets
// ExpiredToken rather than an unknown-key error.
func (s *Service) Prune(ctx context.Context, cutoff time.Time) (int, error) {
	const batch = 500
	n := 0
	after := ""
	for {
		var expired []string
		var last string
		var got int
		err := s.st.View(ctx, func(tx store.Tx) error {
			rs, err := tx.ListResources(kindSession, "", "", "", store.Page{After: after, Limit: batch})
			if err != nil {
				return err
			}
			got = len(rs)
			for _, r := range rs {
				last = r.ID
				var rec session
				if json.Unmarshal(r.Doc, &rec) == nil && rec.Expiration.Before(cutoff) {
					expired = append(expired, r.ID)
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		if len(expired) > 0 {
			err = s.st.Update(ctx, func(tx store.Tx) error {
				for _, id := range expired {
					if err := store.DeleteDoc(tx, kindSession, "", "", id); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return n, err
			}
			n += len(expired)
		}
		if got < batch {
			return n, nil
		}
		after = last
	}
}

// idChars are the characters of AWS access key ids.
const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = idChars[int(b[i])%len(idChars)]
	}
	return string(b)
}

// randomText is n random bytes in base64 (secret keys and tokens).
func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func validationError(format string, args ...any) *awsapi.Error {
	return awsapi.Errorf("ValidationError", format, args...)
}
