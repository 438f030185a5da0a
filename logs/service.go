// Package logs is Berth's Amazon CloudWatch Logs: log groups, log streams and
// log events kept in the store (store.LogsTx), the CloudWatch Logs API over
// them (api/logs's generated Service), filter patterns evaluated for real
// (logs/filter), retention enforced by a background loop, and a Go API,
// Append, through which Berth's own ECS task agent ships container output as
// the awslogs log driver does.
//
// Every operation acts in the caller's account and region
// (awsapi.IdentityFrom); a log group ARN naming another account or region is
// a log group that does not exist.
package logs

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// Options configure a Service.
type Options struct {
	// Store keeps the groups, streams and events.
	Store store.Store
	// Log receives what the background work has to say.
	Log *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service implements the CloudWatch Logs API. Operations Berth does not
// implement answer NotImplementedException (UnimplementedService).
type Service struct {
	logsapi.UnimplementedService

	st  store.Store
	log *slog.Logger
	now func() time.Time
}

var _ logsapi.Service = (*Service)(nil)

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("logs: Store is required")
	}
	s := &Service{st: o.Store, log: o.Log, now: o.Now}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Limits and windows of CloudWatch Logs, as AWS documents them.
const (
	// maxBatchBytes bounds a PutLogEvents batch: the UTF-8 bytes of the
	// messages plus eventOverhead for each event.
	maxBatchBytes = 1_048_576
	eventOverhead = 26
	// maxBatchSpan is the widest range of timestamps a batch may cover.
	maxBatchSpan = 24 * time.Hour
	// tooOld and tooNew bound accepted timestamps around the present.
	tooOld = 14 * 24 * time.Hour
	tooNew = 2 * time.Hour
	// maxPageBytes and maxPageEvents bound a GetLogEvents or FilterLogEvents
	// page.
	maxPageBytes  = 1_048_576
	maxPageEvents = 10_000
	// describeLimit is the default and largest page of the Describe
	// operations.
	describeLimit = 50
	// maxTags is how many tags a log group can carry.
	maxTags = 50
)

// retentionDays are the retention periods PutRetentionPolicy accepts.
var retentionDays = []int32{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// caller is the account and region a request acts in.
type caller struct {
	Account string
	Region  string
}

func callerOf(ctx context.Context) caller {
	id := awsapi.IdentityFrom(ctx)
	return caller{Account: id.AccountID, Region: id.Region}
}

func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// groupARN is the log group ARN without the trailing ":*" (logGroupArn,
// and what the tagging operations take).
func (c caller) groupARN(name string) string {
	return "arn:" + partition(c.Region) + ":logs:" + c.Region + ":" + c.Account + ":log-group:" + name
}

func (c caller) streamARN(group, stream string) string {
	return c.groupARN(group) + ":log-stream:" + stream
}

// parseGroupARN returns the log group an ARN of the caller's account and
// region names: arn:aws:logs:REGION:ACCOUNT:log-group:NAME, optionally
// followed by ":*". ok is false for anything else, found false for an ARN
// of another account or region.
func (c caller) parseGroupARN(arn string) (name string, found, ok bool) {
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) != 7 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != "logs" || parts[5] != "log-group" {
		return "", false, false
	}
	name = strings.TrimSuffix(parts[6], ":*")
	if name == "" || strings.Contains(name, ":") {
		return "", false, false
	}
	return name, parts[3] == c.Region && parts[4] == c.Account, true
}

// groupName resolves the logGroupName / logGroupIdentifier pair of the read
// operations: exactly one of them, the identifier a name or an ARN.
func (c caller) groupName(name, identifier *string) (string, error) {
	switch {
	case name != nil && identifier != nil:
		return "", logsapi.NewValidationException("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	case name != nil:
		return *name, nil
	case identifier == nil:
		return "", invalidParam("Either logGroupName or logGroupIdentifier must be specified.")
	}
	return c.identifierName(*identifier)
}

// identifierName resolves a log group name or ARN.
func (c caller) identifierName(id string) (string, error) {
	if !strings.HasPrefix(id, "arn:") {
		return id, nil
	}
	name, found, ok := c.parseGroupARN(id)
	if !ok {
		return "", invalidParam("The specified log group identifier %s is not a valid log group name or ARN.", id)
	}
	if !found {
		return "", groupNotFound()
	}
	return name, nil
}

// Names as CloudWatch Logs allows them (the model's patterns, anchored).
// The length limits are checked apart: a regexp bound of {1,512} compiles
// into 512 copies of the class and cost every `berth up` 1.7 ms of init.
var (
	groupNameRE  = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]+$`)
	streamNameRE = regexp.MustCompile(`^[^:*]+$`)
)

func checkGroupName(name string) error {
	if len(name) > 512 || !groupNameRE.MatchString(name) {
		return invalidParam("1 validation error detected: Value '%s' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+", name)
	}
	return nil
}

func checkStreamName(name string) error {
	if !streamNameRE.MatchString(name) || len([]rune(name)) > 512 {
		return invalidParam("1 validation error detected: Value '%s' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*", name)
	}
	return nil
}

// Errors worded as AWS words them.

func invalidParam(format string, args ...any) error {
	return logsapi.NewInvalidParameterException(format, args...)
}

func groupNotFound() error {
	return logsapi.NewResourceNotFoundException("The specified log group does not exist.")
}

func streamNotFound() error {
	return logsapi.NewResourceNotFoundException("The specified log stream does not exist.")
}

func invalidToken() error {
	return invalidParam("The specified nextToken is invalid.")
}

// internal wraps an unexpected failure; the wire layer logs it and answers
// a 500 without the details.
func internal(op string, err error) error {
	return fmt.Errorf("logs %s: %w", op, err)
}

// Store lookups that turn store.ErrNotFound into the API's errors.

func getGroup(tx store.Tx, c caller, name string) (store.LogGroup, error) {
	g, err := tx.GetLogGroup(c.Account, c.Region, name)
	if errors.Is(err, store.ErrNotFound) {
		return g, groupNotFound()
	}
	return g, err
}

func getStream(tx store.Tx, g store.LogGroup, name string) (store.LogStream, error) {
	st, err := tx.GetLogStream(g.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return st, streamNotFound()
	}
	return st, err
}

// apiErr passes API errors through and wraps anything else as internal.
func apiErr(op string, err error) error {
	if err == nil || awsapi.AsError(err) != nil {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return internal(op, err)
}

// Page tokens of the Describe operations are opaque to clients: the
// position after which a listing continues, base64url-encoded.

func encodeToken(s string) *string {
	t := base64.RawURLEncoding.EncodeToString([]byte(s))
	return &t
}

func decodeToken(tok *string) (string, error) {
	if tok == nil {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*tok)
	if err != nil || len(b) == 0 {
		return "", invalidToken()
	}
	return string(b), nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func ptr[T any](v T) *T { return &v }

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func limitOf(l *int32, def int) int {
	if l == nil || *l <= 0 {
		return def
	}
	return int(*l)
}
