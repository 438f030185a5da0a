// Package proxy is the data plane of Berth's Elastic Load Balancing: every
// listener is a real HTTP reverse proxy on a host port that evaluates its
// rules by priority, and every target group in use is health-checked by
// its own loop, whose results decide which targets get traffic.
//
// The package knows nothing of the store or the API: the control plane
// (package elb) hands it the whole desired configuration with Apply, and
// the proxy closes the difference (binds, rebinds or closes listeners,
// starts and stops health-check loops). Apply is level-triggered and may
// be called as often as the caller likes.
package proxy

import "time"

// Config is the desired state of the data plane.
type Config struct {
	Listeners []Listener
	// TargetGroups are the groups some listener routes to; only those are
	// health-checked.
	TargetGroups []TargetGroup
}

// Listener is one listener of a load balancer.
type Listener struct {
	ARN  string
	Port int
	// Rules in evaluation order (ascending priority); the listener's
	// default actions are the last rule, without conditions.
	Rules []Rule
	// TLS makes the listener HTTPS; nil is plain HTTP.
	TLS *TLS
}

// Rule routes requests matching every condition to its action.
type Rule struct {
	Conditions []Condition
	Action     Action
}

// Condition fields.
const (
	FieldPathPattern   = "path-pattern"
	FieldHostHeader    = "host-header"
	FieldHTTPHeader    = "http-header"
	FieldRequestMethod = "http-request-method"
	FieldQueryString   = "query-string"
	FieldSourceIP      = "source-ip"
)

// Condition matches when any of its values matches Field: wildcard Values
// or regular expressions (Regex) for path-pattern, host-header and
// http-header (the header HeaderName), method names for
// http-request-method, CIDR blocks for source-ip, and Pairs for
// query-string.
type Condition struct {
	Field      string
	Values     []string
	Regex      []string
	HeaderName string
	Pairs      []QueryPair
}

// Action types.
const (
	ActionForward       = "forward"
	ActionFixedResponse = "fixed-response"
	ActionRedirect      = "redirect"
)

// Action is what a rule does with a request.
type Action struct {
	Type     string
	Forward  []WeightedGroup
	Fixed    FixedResponse
	Redirect Redirect
}

// WeightedGroup is a target group of a forward action with its weight.
type WeightedGroup struct {
	ARN    string
	Weight int
}

// FixedResponse is the answer of a fixed-response action.
type FixedResponse struct {
	StatusCode  int
	ContentType string
	Body        string
}

// Redirect is a redirect action: each field may use #{protocol},
// #{host}, #{port}, #{path} and #{query}.
type Redirect struct {
	Protocol, Host, Port, Path, Query string
	StatusCode                        int
}

// TargetGroup is a target group with its registered targets.
type TargetGroup struct {
	ARN         string
	HealthCheck HealthCheck
	Targets     []Target
}

// HealthCheck is a target group's active health check.
type HealthCheck struct {
	Enabled bool
	Path    string
	// Port is the port to check, 0 for each target's traffic port.
	Port               int
	Interval, Timeout  time.Duration
	Healthy, Unhealthy int
	// Matcher is the success codes: "200", "200,202", "200-299".
	Matcher string
}

// Target is a registered target.
type Target struct {
	// Key identifies the target in its group (id:port).
	Key string
	// Host and Port are where traffic goes.
	Host string
	Port int
	// Draining targets get no new requests and no health checks.
	Draining bool
	// Last is the health last observed before this proxy existed (kept by
	// the control plane across restarts): a target the proxy has not seen
	// yet starts from it, healthy or unhealthy, instead of initial, and is
	// checked at once.
	Last Health
}

// Health states and reason codes, as DescribeTargetHealth reports them.
const (
	StateInitial     = "initial"
	StateHealthy     = "healthy"
	StateUnhealthy   = "unhealthy"
	StateUnavailable = "unavailable"

	ReasonRegistrationInProgress = "Elb.RegistrationInProgress"
	ReasonInitialHealthChecking  = "Elb.InitialHealthChecking"
	ReasonResponseCodeMismatch   = "Target.ResponseCodeMismatch"
	ReasonTimeout                = "Target.Timeout"
	ReasonFailedHealthChecks     = "Target.FailedHealthChecks"
	ReasonHealthCheckDisabled    = "Target.HealthCheckDisabled"
)

// Health is the observed health of a target.
type Health struct {
	State, Reason, Description string
}
