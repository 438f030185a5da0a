// Package console is Berth's web console: read-only HTML pages of what an
// account holds in a region (ECS clusters, services and tasks with their
// logs, ECR repositories, images and scan findings, EKS clusters, load
// balancers, log groups).
//
// Every page is built from the services' own Go APIs (the generated
// interfaces the wire layer calls) with a context carrying the account and
// region as awsapi does for a signed request, so a page shows exactly what
// the API answers for that account and region.
package console

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	cdapi "github.com/berth-dev/berth/api/codedeploy"
	ecrapi "github.com/berth-dev/berth/api/ecr"
	ecsapi "github.com/berth-dev/berth/api/ecs"
	eksapi "github.com/berth-dev/berth/api/eks"
	elbv2api "github.com/berth-dev/berth/api/elbv2"
	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/awsapi"
)

// Path is where the console is served; every page lies under it.
const Path = "/console/"

// Services are the APIs the console reads. A nil service's pages say it
// is not served.
type Services struct {
	ECS        ecsapi.Service
	ECR        ecrapi.Service
	EKS        eksapi.Service
	ELB        elbv2api.Service
	Logs       logsapi.Service
	CodeDeploy cdapi.Service
}

// Options configure a Console.
type Options struct {
	Services
	// Auth is the API's authenticator. When it verifies signatures, the
	// console asks for an access key id and its secret (HTTP Basic) and
	// shows that key's account only.
	Auth *awsapi.Authenticator
	// DefaultRegion is the region shown without ?region=
	// (awsapi.DefaultRegion when empty).
	DefaultRegion string
	Log           *slog.Logger
}

// Console serves the pages.
type Console struct {
	o      Options
	pages  map[string]*pageTemplate
	routes map[string]func(*request) error
}

// New parses the templates and returns the console.
func New(o Options) (*Console, error) {
	if o.DefaultRegion == "" {
		o.DefaultRegion = awsapi.DefaultRegion
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	pages, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	c := &Console{o: o, pages: pages}
	c.routes = map[string]func(*request) error{
		"":                c.overview,
		"ecs/":            c.ecsClusters,
		"ecs/cluster":     c.ecsCluster,
		"ecs/service":     c.ecsService,
		"ecs/task":        c.ecsTask,
		"ecr/":            c.ecrRepositories,
		"ecr/repository":  c.ecrRepository,
		"ecr/image":       c.ecrImage,
		"eks/":            c.eksClusters,
		"eks/cluster":     c.eksCluster,
		"elb/":            c.elbLoadBalancers,
		"elb/lb":          c.elbLoadBalancer,
		"logs/":           c.logGroups,
		"logs/group":      c.logGroup,
		"logs/stream":     c.logStream,
		"codedeploy/":     c.codeDeployApplications,
		"codedeploy/app":  c.codeDeployApplication,
		"static/main.css": nil,
	}
	return c, nil
}

// Limits of what a page reads and shows.
const (
	maxRefresh   = 3600
	maxLogEvents = 1000
	defLogEvents = 100
	// maxItems bounds how many items of one list a page collects across
	// pages of an API's pagination.
	maxItems = 1000
)

var accountPattern = regexp.MustCompile(`^[0-9]{12}$`)

// request is one page request: who and where it reads as, and the page
// data being built.
type request struct {
	ctx     context.Context
	w       http.ResponseWriter
	r       *http.Request
	page    *page
	account string
	region  string
}

// errNotFound is a resource the page names that does not exist.
type errNotFound struct{ what string }

func (e errNotFound) Error() string { return e.what + " not found" }

// errBadRequest is an invalid parameter.
type errBadRequest struct{ msg string }

func (e errBadRequest) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return errBadRequest{fmt.Sprintf(format, args...)}
}

func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	// The pages run no script and load nothing but the stylesheet.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed: the console is read-only", http.StatusMethodNotAllowed)
		return
	}
	id, ok := c.authenticate(w, r)
	if !ok {
		return
	}
	rel, under := strings.CutPrefix(r.URL.Path, Path)
	if !under {
		rel = "\x00" // no page
	}
	if rel == "static/main.css" {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "max-age=300")
		w.Write(mainCSS)
		return
	}
	handler, found := c.routes[rel]
	req := &request{w: w, r: r, page: &page{Query: r.URL.Query(), Path: r.URL.Path}}
	if err := c.setScope(req, id); err != nil {
		c.fail(req, err)
		return
	}
	if !found || handler == nil {
		c.fail(req, errNotFound{"page " + r.URL.Path})
		return
	}
	if err := handler(req); err != nil {
		c.fail(req, err)
	}
}

// authenticate enforces HTTP Basic auth when signatures are checked. The
// user is an access key id (configured, or created by IAM), the password
// its secret.
func (c *Console) authenticate(w http.ResponseWriter, r *http.Request) (*awsapi.Identity, bool) {
	a := c.o.Auth
	if a == nil || !a.Verifying() {
		return nil, true
	}
	deny := func() (*awsapi.Identity, bool) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Berth", charset="UTF-8"`)
		http.Error(w, "401 unauthorized: sign in with an access key id as the user and its secret access key as the password", http.StatusUnauthorized)
		return nil, false
	}
	akid, secret, ok := r.BasicAuth()
	if !ok || akid == "" {
		return deny()
	}
	if want, configured := a.Credentials[akid]; configured {
		if subtle.ConstantTimeCompare([]byte(want), []byte(secret)) != 1 {
			return deny()
		}
		return &awsapi.Identity{AccountID: awsapi.AccountForAccessKey(akid), AccessKeyID: akid}, true
	}
	if a.Keys != nil && awsapi.IsLongTermKey(akid) {
		k, err := a.Keys.LookupAccessKey(r.Context(), akid)
		if err != nil {
			c.o.Log.Error("console: access key lookup", "error", err)
			http.Error(w, "500 internal error", http.StatusInternalServerError)
			return nil, false
		}
		if k != nil && k.Active && subtle.ConstantTimeCompare([]byte(k.SecretAccessKey), []byte(secret)) == 1 {
			return &awsapi.Identity{AccountID: k.AccountID, AccessKeyID: akid, Principal: k.Principal, UserID: k.UserID}, true
		}
	}
	return deny()
}

// setScope validates the account, region and refresh parameters and
// makes the context the services are called with.
func (c *Console) setScope(req *request, signedIn *awsapi.Identity) error {
	q := req.r.URL.Query()
	p := req.page
	p.Region = c.o.DefaultRegion
	if v := q.Get("region"); v != "" {
		if !awsapi.ValidRegion(v) {
			p.Region = c.o.DefaultRegion
			return badRequest("region %q is not a region name such as us-east-1", v)
		}
		p.Region = v
	}
	id := awsapi.Identity{AccountID: awsapi.DefaultAccount}
	if signedIn != nil {
		id = *signedIn
		p.SignedIn = true
		p.AccessKeyID = id.AccessKeyID
		if v := q.Get("account"); v != "" && v != id.AccountID {
			p.Account = id.AccountID
			return errForbidden{fmt.Sprintf("access key %s acts in account %s; it cannot see account %s", id.AccessKeyID, id.AccountID, v)}
		}
	} else if v := q.Get("account"); v != "" {
		if !accountPattern.MatchString(v) {
			p.Account = id.AccountID
			return badRequest("account %q is not a 12-digit account id", v)
		}
		id.AccountID = v
	}
	p.Account = id.AccountID
	if v := q.Get("refresh"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxRefresh {
			return badRequest("refresh %q is not a number of seconds between 0 and %d", v, maxRefresh)
		}
		p.Refresh = n
	}
	id.Region = p.Region
	req.account, req.region = id.AccountID, id.Region
	req.ctx = awsapi.WithIdentity(req.r.Context(), id)
	return nil
}

type errForbidden struct{ msg string }

func (e errForbidden) Error() string { return e.msg }

// notFoundCodes are the AWS error codes of a resource that does not
// exist.
var notFoundCodes = map[string]bool{
	"ClusterNotFoundException":         true,
	"ServiceNotFoundException":         true,
	"RepositoryNotFoundException":      true,
	"ImageNotFoundException":           true,
	"ResourceNotFoundException":        true,
	"LoadBalancerNotFound":             true,
	"LoadBalancerNotFoundException":    true,
	"TargetGroupNotFound":              true,
	"TargetGroupNotFoundException":     true,
	"ApplicationDoesNotExistException": true,
	"DeploymentDoesNotExistException":  true,
	"NotFoundException":                true,
}

// fail renders an error page with the status the error calls for.
func (c *Console) fail(req *request, err error) {
	status, msg := http.StatusInternalServerError, "The page could not be built; Berth's log has the cause."
	var (
		nf errNotFound
		br errBadRequest
		fb errForbidden
	)
	switch ae := awsapi.AsError(err); {
	case errors.As(err, &nf):
		status, msg = http.StatusNotFound, nf.Error()
	case errors.As(err, &br):
		status, msg = http.StatusBadRequest, br.msg
	case errors.As(err, &fb):
		status, msg = http.StatusForbidden, fb.msg
	case errors.Is(err, context.Canceled):
		return
	case ae != nil && (notFoundCodes[ae.Code] || ae.HTTPStatus == http.StatusNotFound):
		status, msg = http.StatusNotFound, ae.Code+": "+ae.Message
	case ae != nil && ae.HTTPStatus >= 400 && ae.HTTPStatus < 500:
		status, msg = http.StatusBadRequest, ae.Code+": "+ae.Message
	default:
		c.o.Log.Error("console page", "path", req.r.URL.Path, "error", err)
	}
	req.page.Title = http.StatusText(status)
	req.page.Status = status
	c.render(req, "error", errorData{Status: status, Message: msg})
}

type errorData struct {
	Status  int
	Message string
}

// validated checks an input built from page parameters against the
// model's constraints, as the wire layer does before calling a service.
func validated(in interface{ Validate() error }) error {
	if err := in.Validate(); err != nil {
		if ae := awsapi.AsError(err); ae != nil {
			return badRequest("%s", ae.Message)
		}
		return badRequest("%v", err)
	}
	return nil
}
