// Package cloudwatch is Berth's Amazon CloudWatch metrics and alarms: the
// monitoring API (api/cloudwatch's generated Service) over the store's
// resource area, and the loop that evaluates every alarm as AWS does and
// runs its actions on a state change.
//
// A metric (namespace, name and dimensions) is one resource; its
// datapoints are kept one resource per metric and minute, each holding the
// raw points of that minute (to the second for high-resolution metrics) as
// count, sum, minimum and maximum, so that any period and statistic can be
// computed later and percentiles from single values. Points older than
// Retention are trimmed by the loop. Alarms are one resource each under
// their name, alarm history one resource per item; an index resource
// outside any account names every alarm so that the loop finds them.
//
// Every operation acts in the caller's account and region
// (awsapi.IdentityFrom); one store transaction backs each call.
package cloudwatch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	cwapi "github.com/berth-dev/berth/api/cloudwatch"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// Resource kinds in the store's resource area.
const (
	KindMetric  = "cloudwatch/metric"
	KindPoints  = "cloudwatch/points"
	KindAlarm   = "cloudwatch/alarm"
	KindHistory = "cloudwatch/history"
	// KindIndex, stored under no account or region, names every alarm as
	// "<account>|<region>|<alarm name>" for the evaluation loop.
	KindIndex = "cloudwatch/index"
)

// Retention is how long Berth keeps datapoints. AWS keeps them 15 months,
// aggregating older ones; Berth keeps raw points for 15 days, as long as
// AWS keeps one-minute data, which bounds the store.
const Retention = 15 * 24 * time.Hour

// historyRetention is how long alarm history is kept, as on AWS.
const historyRetention = 30 * 24 * time.Hour

// DefaultInterval is how often the loop evaluates alarms.
const DefaultInterval = 10 * time.Second

// ActionInvoker runs an alarm action (an Application Auto Scaling policy ARN, etc.).
type ActionInvoker interface {
	InvokeAlarmAction(ctx context.Context, account, region, actionARN string, change AlarmChange) error
}

// AlarmChange is an alarm's state transition, handed to its actions.
type AlarmChange struct {
	AlarmName, AlarmARN, OldState, NewState, Reason string
	Threshold                                       float64
	Values                                          []float64 /* the evaluated datapoints, newest first */
	Timestamp                                       time.Time
}

// Datum is one value for PutMetrics.
type Datum struct {
	MetricName string
	Dimensions map[string]string
	Value      float64
	Unit       string
	Timestamp  time.Time
}

// Options configure a Service.
type Options struct {
	Store store.Store
	Log   *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service implements the CloudWatch API.
type Service struct {
	cwapi.UnimplementedService

	st  store.Store
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	invoker ActionInvoker
	// evalMu serializes evaluations, so that two never race on an alarm;
	// it also guards lastTrim, when old data was last trimmed.
	evalMu   sync.Mutex
	lastTrim time.Time
	// autoScalingRun is when an alarm (by index id) last invoked its Auto
	// Scaling actions; guarded by evalMu. See repeatAutoScaling.
	autoScalingRun map[string]time.Time
}

var _ cwapi.Service = (*Service)(nil)

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("cloudwatch: Store is required")
	}
	s := &Service{st: o.Store, log: o.Log, now: o.Now, autoScalingRun: map[string]time.Time{}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// SetActionInvoker sets what runs alarm actions; without one every action
// is recorded in history as failed.
func (s *Service) SetActionInvoker(inv ActionInvoker) {
	s.mu.Lock()
	s.invoker = inv
	s.mu.Unlock()
}

func (s *Service) actionInvoker() ActionInvoker {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.invoker
}

// caller is the account and region a request acts in.
type caller struct {
	Account string
	Region  string
}

func callerOf(ctx context.Context) caller {
	id := awsapi.IdentityFrom(ctx)
	return caller{Account: id.AccountID, Region: id.Region}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// internal logs err's cause and returns the generic failure clients see.
func (s *Service) internal(err error) error {
	if e := awsapi.AsError(err); e != nil {
		return e
	}
	s.log.Error("cloudwatch", "err", err)
	return awsapi.InternalError(err)
}

func alarmARN(c caller, name string) string {
	return "arn:aws:cloudwatch:" + c.Region + ":" + c.Account + ":alarm:" + name
}
