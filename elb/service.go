// Package elb is Berth's Elastic Load Balancing v2 control plane:
// Application Load Balancers, target groups, listeners and rules kept in
// the store and returned as ELB returns them. The data plane is package
// elb/proxy: Sync hands it the whole configuration after every change and
// on a timer, so each listener answers on a real port of this host.
package elb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/api/elbv2"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/elb/proxy"
	"github.com/berth-dev/berth/store"
)

// Store kinds.
const (
	kindLB       = "elb.loadbalancer" // id: lb id
	kindTG       = "elb.targetgroup"  // id: tg id
	kindListener = "elb.listener"     // id: lb id/listener id
	kindRule     = "elb.rule"         // id: listener id/rule id
	// kindRegion marks the account and region pairs that have ELB
	// resources (id: account/region, in the global area), so the data
	// plane can find every listener.
	kindRegion = "elb.region"
)

// Quotas and defaults, as ELB's.
const (
	maxTagsPerResource       = 50
	maxRulesPerListener      = 100
	defaultDeregistration    = 300
	defaultPageSize          = 400
	defaultHealthInterval    = 30
	defaultHealthTimeout     = 5
	defaultHealthyThreshold  = 5
	defaultUnhealthyThreshld = 2
)

// Options configure a Service.
type Options struct {
	Store store.Store
	Log   *slog.Logger
	// ListenHost is the address listeners bind: 127.0.0.1 when empty.
	ListenHost string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service implements the ELBv2 API for Application Load Balancers and
// runs their data plane.
type Service struct {
	elbv2.UnimplementedService
	st    store.Store
	log   *slog.Logger
	now   func() time.Time
	proxy *proxy.Proxy

	syncMu  sync.Mutex
	network networkBox // EC2, for subnet and security group ids (network.go)
	certs   certBox    // IAM server certificates for HTTPS listeners (https.go)
}

var _ elbv2.Service = (*Service)(nil)

// New returns a Service. Close stops its listeners.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("elb: Store is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: o.Store, log: o.Log, now: o.Now, proxy: proxy.New(o.ListenHost, o.Log)}, nil
}

// Close stops every listener and health check.
func (s *Service) Close() error { return s.proxy.Close() }

func (s *Service) clock() time.Time { return s.now().UTC() }

// where is the caller's account and region.
func where(ctx context.Context) (string, string) {
	id := awsapi.IdentityFrom(ctx)
	return id.AccountID, id.Region
}

// Records as stored.

type lbRecord struct {
	ID             string
	Name           string
	Scheme         string
	IPAddressType  string
	VpcID          string
	Subnets        []string
	Zones          []string // of the subnets, in order, when EC2 was consulted
	SecurityGroups []string
	Created        time.Time
	Attributes     map[string]string
	Tags           map[string]string
}

type healthCheck struct {
	Enabled   bool
	Protocol  string
	Port      string // "traffic-port" or a number
	Path      string
	Interval  int32
	Timeout   int32
	Healthy   int32
	Unhealthy int32
	Matcher   string
}

type targetRecord struct {
	ID           string
	Port         int32
	AZ           string
	Registered   time.Time
	Deregistered time.Time // zero while registered; set while draining
	// LastHealth is the last settled state (healthy or unhealthy) the
	// health checks reached, written on each change, so that a restarted
	// Berth starts from it (see persistHealth).
	LastHealth proxy.Health `json:",omitzero"`
}

func (t targetRecord) key() string { return targetKey(t.ID, t.Port) }

func (t targetRecord) draining() bool { return !t.Deregistered.IsZero() }

func targetKey(id string, port int32) string { return id + ":" + itoa(port) }

type tgRecord struct {
	ID              string
	Name            string
	Protocol        string
	ProtocolVersion string
	Port            int32
	VpcID           string
	TargetType      string
	IPAddressType   string
	HealthCheck     healthCheck
	Created         time.Time
	Attributes      map[string]string
	Targets         []targetRecord
	Tags            map[string]string
}

type listenerRecord struct {
	ID             string
	LBID           string
	Port           int32
	Protocol       string
	DefaultActions []elbv2.Action
	DefaultRuleID  string
	Tags           map[string]string
	// Attributes are the listener attributes set by
	// ModifyListenerAttributes, over listenerDefaultAttributes.
	Attributes map[string]string `json:",omitempty"`
	// Certificates is the certificate list of AddListenerCertificates
	// (extras.go), ARNs in the order added.
	Certificates []string `json:",omitempty"`
	// DefaultCertificate and SslPolicy are an HTTPS listener's (https.go).
	DefaultCertificate string `json:",omitempty"`
	SslPolicy          string `json:",omitempty"`
}

type ruleRecord struct {
	ID         string
	ListenerID string
	Priority   int32
	Conditions []elbv2.RuleCondition
	Actions    []elbv2.Action
	Tags       map[string]string
}

// ARNs: arn:aws:elasticloadbalancing:<region>:<account>:<resource>.

func arnPrefix(acct, region string) string {
	return "arn:aws:elasticloadbalancing:" + region + ":" + acct + ":"
}

func lbARN(acct, region string, lb lbRecord) string {
	return arnPrefix(acct, region) + "loadbalancer/app/" + lb.Name + "/" + lb.ID
}

func tgARN(acct, region string, tg tgRecord) string {
	return arnPrefix(acct, region) + "targetgroup/" + tg.Name + "/" + tg.ID
}

func listenerARN(acct, region, lbName string, l listenerRecord) string {
	return arnPrefix(acct, region) + "listener/app/" + lbName + "/" + l.LBID + "/" + l.ID
}

func ruleARN(acct, region, lbName, lbID, listenerID, ruleID string) string {
	return arnPrefix(acct, region) + "listener-rule/app/" + lbName + "/" + lbID + "/" + listenerID + "/" + ruleID
}

// parsedARN is an ELB ARN taken apart.
type parsedARN struct {
	Account, Region string
	Kind            string // loadbalancer, targetgroup, listener, listener-rule
	Name            string // lb or tg name
	LBID            string
	TGID            string
	ListenerID      string
	RuleID          string
}

// parseARN splits an ELB ARN; ok is false when it is not one.
func parseARN(arn string) (parsedARN, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "elasticloadbalancing" {
		return parsedARN{}, false
	}
	p := parsedARN{Region: parts[3], Account: parts[4]}
	res := strings.Split(parts[5], "/")
	switch {
	case len(res) == 4 && res[0] == "loadbalancer" && res[1] == "app":
		p.Kind, p.Name, p.LBID = "loadbalancer", res[2], res[3]
	case len(res) == 3 && res[0] == "targetgroup":
		p.Kind, p.Name, p.TGID = "targetgroup", res[1], res[2]
	case len(res) == 5 && res[0] == "listener" && res[1] == "app":
		p.Kind, p.Name, p.LBID, p.ListenerID = "listener", res[2], res[3], res[4]
	case len(res) == 6 && res[0] == "listener-rule" && res[1] == "app":
		p.Kind, p.Name, p.LBID, p.ListenerID, p.RuleID = "listener-rule", res[2], res[3], res[4], res[5]
	default:
		return parsedARN{}, false
	}
	for _, id := range []string{p.LBID, p.TGID, p.ListenerID, p.RuleID} {
		if strings.ContainsAny(id, "/:") {
			return parsedARN{}, false
		}
	}
	return p, true
}

// newID is a 16-hex-digit resource id, as in ELB ARNs.
func newID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Store helpers.

// list is store.AllDocs without ids: every record of a kind whose id
// starts with prefix.
func list[T any](tx store.Tx, kind, acct, region, prefix string) ([]T, error) {
	out, _, err := store.AllDocs[T](tx, kind, acct, region, prefix, store.Page{})
	return out, err
}

// markRegion records that acct/region has ELB resources.
func markRegion(tx store.Tx, acct, region string, at time.Time) error {
	return store.PutDoc(tx, kindRegion, "", "", acct+"/"+region, struct{}{}, at)
}

// internal wraps a store failure.
func internal(err error) error {
	if err == nil || awsapi.AsError(err) != nil {
		return err
	}
	return awsapi.InternalError(err)
}

func validation(format string, args ...any) error {
	return awsapi.Errorf("ValidationError", format, args...)
}

// Lookups by ARN, inside a transaction.

func (s *Service) lbByARN(tx store.Tx, acct, region, arn string) (lbRecord, error) {
	p, ok := parseARN(arn)
	if !ok || p.Kind != "loadbalancer" {
		return lbRecord{}, validation("'%s' is not a valid load balancer ARN", arn)
	}
	var lb lbRecord
	found, err := false, error(nil)
	if p.Account == acct && p.Region == region {
		found, err = store.LoadDoc(tx, kindLB, acct, region, p.LBID, &lb)
	}
	if err != nil {
		return lbRecord{}, err
	}
	if !found || lb.Name != p.Name {
		return lbRecord{}, elbv2.NewLoadBalancerNotFoundException("One or more load balancers not found")
	}
	return lb, nil
}

// viewLB is lbByARN in a transaction of its own.
func (s *Service) viewLB(ctx context.Context, acct, region, arn string) (lb lbRecord, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error {
		lb, err = s.lbByARN(tx, acct, region, arn)
		return err
	})
	return lb, err
}

func (s *Service) tgByARN(tx store.Tx, acct, region, arn string) (tgRecord, error) {
	p, ok := parseARN(arn)
	if !ok || p.Kind != "targetgroup" {
		return tgRecord{}, validation("'%s' is not a valid target group ARN", arn)
	}
	var tg tgRecord
	found, err := false, error(nil)
	if p.Account == acct && p.Region == region {
		found, err = store.LoadDoc(tx, kindTG, acct, region, p.TGID, &tg)
	}
	if err != nil {
		return tgRecord{}, err
	}
	if !found || tg.Name != p.Name {
		return tgRecord{}, elbv2.NewTargetGroupNotFoundException("One or more target groups not found")
	}
	return tg, nil
}

func (s *Service) listenerByARN(tx store.Tx, acct, region, arn string) (listenerRecord, lbRecord, error) {
	p, ok := parseARN(arn)
	if !ok || p.Kind != "listener" {
		return listenerRecord{}, lbRecord{}, validation("'%s' is not a valid listener ARN", arn)
	}
	notFound := elbv2.NewListenerNotFoundException("One or more listeners not found")
	if p.Account != acct || p.Region != region {
		return listenerRecord{}, lbRecord{}, notFound
	}
	var l listenerRecord
	found, err := store.LoadDoc(tx, kindListener, acct, region, p.LBID+"/"+p.ListenerID, &l)
	if err != nil {
		return listenerRecord{}, lbRecord{}, err
	}
	var lb lbRecord
	if found {
		found, err = store.LoadDoc(tx, kindLB, acct, region, p.LBID, &lb)
		if err != nil {
			return listenerRecord{}, lbRecord{}, err
		}
	}
	if !found || lb.Name != p.Name {
		return listenerRecord{}, lbRecord{}, notFound
	}
	return l, lb, nil
}

// tagsOut renders a tag map in key order.
func tagsOut(m map[string]string) []elbv2.Tag {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]elbv2.Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, elbv2.Tag{Key: str(k), Value: str(m[k])})
	}
	return out
}

// addTags merges tags into m, enforcing the quota.
func addTags(m map[string]string, tags []elbv2.Tag) (map[string]string, error) {
	if m == nil {
		m = map[string]string{}
	}
	seen := map[string]bool{}
	for _, t := range tags {
		k := deref(t.Key)
		if seen[k] {
			return nil, elbv2.NewDuplicateTagKeysException("Tag key '%s' is duplicated", k)
		}
		seen[k] = true
		m[k] = deref(t.Value)
	}
	if len(m) > maxTagsPerResource {
		return nil, elbv2.NewTooManyTagsException("The quota for the number of tags that can be assigned to a load balancer has been reached")
	}
	return m, nil
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?$`)

func str(s string) *string { return &s }

func i32(v int32) *int32 { return &v }

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func itoa(v int32) string { return strconv.Itoa(int(v)) }

// page applies Marker/PageSize to a listing of n items: the marker is the
// index of the first item to return.
func page(marker *string, size *int32, n int) (from, to int, next *string, err error) {
	if marker != nil && *marker != "" {
		f, perr := strconv.Atoi(*marker)
		if perr != nil || f < 0 || f > n {
			return 0, 0, nil, validation("Invalid marker '%s'", *marker)
		}
		from = f
	}
	limit := defaultPageSize
	if size != nil && *size > 0 {
		limit = int(*size)
	}
	to = min(from+limit, n)
	if to < n {
		next = str(strconv.Itoa(to))
	}
	return from, to, next, nil
}
