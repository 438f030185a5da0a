package albingress

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Names the AWS Load Balancer Controller uses, kept so that manifests and
// tooling written for EKS work unchanged.
const (
	ClassName      = "alb"
	ControllerName = "ingress.k8s.aws/alb"
	Finalizer      = "ingress.k8s.aws/resources"

	TagCluster  = "elbv2.k8s.aws/cluster"
	TagStack    = "ingress.k8s.aws/stack"
	TagResource = "ingress.k8s.aws/resource"

	annotationPrefix = "alb.ingress.kubernetes.io/"
	legacyClassKey   = "kubernetes.io/ingress.class"
)

// Stack is the load balancer an Ingress stands for: what the controller
// makes ELB hold.
type Stack struct {
	// ID is the Ingress's namespace/name, the value of TagStack.
	ID           string
	LoadBalancer LoadBalancer
	Listeners    []Listener
	TargetGroups []TargetGroup
}

// LoadBalancer is the Application Load Balancer of a Stack.
type LoadBalancer struct {
	Name           string
	Scheme         string // internet-facing or internal
	Subnets        []string
	SecurityGroups []string
	Tags           map[string]string
}

// Listener is one entry of listen-ports; every listener carries the same
// rules, as the AWS controller does.
type Listener struct {
	Port    int32
	Default Action
	Rules   []Rule
}

// Rule is one path of one Ingress rule.
type Rule struct {
	Priority int32
	Hosts    []string // host-header values; none: any host
	Paths    []string // path-pattern values; none: any path
	Action   Action
}

// Action forwards to a backend's target group, or (Forward nil) answers
// 404 as the AWS controller's default action does.
type Action struct {
	Forward *Backend
}

// Backend is a Service port in the Ingress's namespace.
type Backend struct {
	Service string
	Port    string // the Ingress's port: a name or a number
}

func (b Backend) String() string { return b.Service + ":" + b.Port }

// TargetGroup is the target group of one backend.
type TargetGroup struct {
	Backend    Backend
	Name       string
	TargetType string // ip or instance
	// Port is the group's port: the pods' port (ip) or the Service's node
	// port (instance).
	Port int32
	// PortName is the Service port's name, which names the port of the
	// Service's EndpointSlices.
	PortName    string
	HealthCheck HealthCheck
	// Attributes are the target-group-attributes annotation's.
	Attributes map[string]string
	Tags       map[string]string
}

// HealthCheck is a target group's health check as the annotations set it.
type HealthCheck struct {
	Path      string
	Port      string // traffic-port or a number
	Matcher   string // success codes: "200", "200-299", "200,204"
	Interval  int32
	Timeout   int32
	Healthy   int32
	Unhealthy int32
}

// The AWS controller's health check defaults (not ELB's own).
var defaultHealthCheck = HealthCheck{Path: "/", Port: "traffic-port", Matcher: "200", Interval: 15, Timeout: 5, Healthy: 2, Unhealthy: 2}

// IsALB reports whether ing is for this controller: class alb (or
// another class whose controller is ours, in classes), the legacy
// annotation, or no class when an alb class is the cluster's default.
func IsALB(ing *Ingress, classes map[string]bool, defaultClass bool) bool {
	if c := ing.Spec.IngressClassName; c != nil {
		return *c == ClassName || classes[*c]
	}
	if c, ok := ing.Metadata.Annotations[legacyClassKey]; ok {
		return c == ClassName
	}
	return defaultClass
}

// Translate turns an Ingress into its Stack. services are the Services of
// the Ingress's namespace by name; a backend naming a missing Service or
// port is an error, as with the AWS controller, which builds nothing for
// an Ingress it cannot build entirely.
func Translate(cluster string, ing *Ingress, services map[string]*Service) (Stack, error) {
	ns, name := ing.Metadata.Namespace, ing.Metadata.Name
	ann := ing.Metadata.Annotations
	st := Stack{ID: ns + "/" + name}

	userTags, err := parseTags(ann[annotationPrefix+"tags"])
	if err != nil {
		return Stack{}, err
	}
	scheme := "internal"
	if v, ok := ann[annotationPrefix+"scheme"]; ok {
		if v != "internal" && v != "internet-facing" {
			return Stack{}, fmt.Errorf("annotation %sscheme: %q is neither internal nor internet-facing", annotationPrefix, v)
		}
		scheme = v
	}
	lbName := ann[annotationPrefix+"load-balancer-name"]
	if lbName == "" {
		lbName = resourceName(ns, name, cluster, st.ID, scheme)
	}
	st.LoadBalancer = LoadBalancer{
		Name:           lbName,
		Scheme:         scheme,
		Subnets:        splitList(ann[annotationPrefix+"subnets"]),
		SecurityGroups: splitList(ann[annotationPrefix+"security-groups"]),
		Tags:           withTags(userTags, cluster, st.ID, "LoadBalancer"),
	}

	ports, err := listenPorts(ann[annotationPrefix+"listen-ports"])
	if err != nil {
		return Stack{}, err
	}

	groups := map[Backend]int{}
	addGroup := func(b *ingressBackend) (*Backend, error) {
		if b.Service == nil {
			return nil, fmt.Errorf("backend %s: only Service backends are supported", b.describe())
		}
		key := Backend{Service: b.Service.Name, Port: b.Service.Port.String()}
		if key.Port == "use-annotation" {
			return nil, fmt.Errorf("backend %s: actions annotations (port use-annotation) are not supported by Berth", key)
		}
		if _, ok := groups[key]; ok {
			return &key, nil
		}
		tg, err := targetGroup(cluster, ing, key, services[key.Service], userTags)
		if err != nil {
			return nil, err
		}
		groups[key] = len(st.TargetGroups)
		st.TargetGroups = append(st.TargetGroups, tg)
		return &key, nil
	}

	var def Action
	if ing.Spec.DefaultBackend != nil {
		b, err := addGroup(ing.Spec.DefaultBackend)
		if err != nil {
			return Stack{}, err
		}
		def.Forward = b
	}
	var rules []Rule
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			b, err := addGroup(&p.Backend)
			if err != nil {
				return Stack{}, err
			}
			paths, err := pathPatterns(p.Path, p.PathType)
			if err != nil {
				return Stack{}, err
			}
			rule := Rule{Priority: int32(len(rules) + 1), Paths: paths, Action: Action{Forward: b}}
			if r.Host != "" {
				rule.Hosts = []string{r.Host}
			}
			rules = append(rules, rule)
		}
	}
	for _, port := range ports {
		st.Listeners = append(st.Listeners, Listener{Port: port, Default: def, Rules: rules})
	}
	return st, nil
}

func (b *ingressBackend) describe() string {
	if b.Service != nil {
		return b.Service.Name + ":" + b.Service.Port.String()
	}
	return "resource"
}

// targetGroup builds the target group of one backend. Target group
// annotations may be set on the Service too, where they win, as with the
// AWS controller.
func targetGroup(cluster string, ing *Ingress, b Backend, svc *Service, userTags map[string]string) (TargetGroup, error) {
	ns := ing.Metadata.Namespace
	if svc == nil {
		return TargetGroup{}, fmt.Errorf("service %s/%s (backend %s) not found", ns, b.Service, b)
	}
	ann := func(key string) (string, bool) {
		if v, ok := svc.Metadata.Annotations[annotationPrefix+key]; ok {
			return v, true
		}
		v, ok := ing.Metadata.Annotations[annotationPrefix+key]
		return v, ok
	}
	tt := "instance"
	if v, ok := ann("target-type"); ok {
		if v != "ip" && v != "instance" {
			return TargetGroup{}, fmt.Errorf("annotation %starget-type: %q is neither ip nor instance", annotationPrefix, v)
		}
		tt = v
	}
	if v, ok := ann("backend-protocol"); ok && v != "HTTP" {
		return TargetGroup{}, fmt.Errorf("annotation %sbackend-protocol: %q is not supported by Berth; use HTTP", annotationPrefix, v)
	}
	idx := -1
	for i, p := range svc.Spec.Ports {
		if p.Name == b.Port || strconv.Itoa(int(p.Port)) == b.Port {
			idx = i
			break
		}
	}
	if idx < 0 {
		return TargetGroup{}, fmt.Errorf("service %s/%s has no port %s", ns, b.Service, b.Port)
	}
	sp := svc.Spec.Ports[idx]
	tg := TargetGroup{Backend: b, TargetType: tt, PortName: sp.Name, HealthCheck: defaultHealthCheck}
	switch tt {
	case "ip":
		// The pods' port when the Service names it by number; a named
		// target port differs per pod and comes with each endpoint.
		tg.Port = sp.Port
		var n int32
		if json.Unmarshal(sp.TargetPort, &n) == nil && n > 0 {
			tg.Port = n
		}
	case "instance":
		if sp.NodePort == 0 {
			return TargetGroup{}, fmt.Errorf("service %s/%s is of type %s: target type instance needs a NodePort or LoadBalancer Service (or use %starget-type: ip)",
				ns, b.Service, orDefault(svc.Spec.Type, "ClusterIP"), annotationPrefix)
		}
		tg.Port = sp.NodePort
	}
	hc := &tg.HealthCheck
	if v, ok := ann("healthcheck-path"); ok && v != "" {
		hc.Path = v
	}
	if v, ok := ann("healthcheck-port"); ok && v != "" {
		hc.Port = v
		if v != "traffic-port" {
			if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 65535 {
				return TargetGroup{}, fmt.Errorf("annotation %shealthcheck-port: %q is neither traffic-port nor a port number (named ports are not supported by Berth)", annotationPrefix, v)
			}
		}
	}
	if v, ok := ann("success-codes"); ok && v != "" {
		hc.Matcher = v
	}
	for key, dst := range map[string]*int32{
		"healthcheck-interval-seconds": &hc.Interval, "healthcheck-timeout-seconds": &hc.Timeout,
		"healthy-threshold-count": &hc.Healthy, "unhealthy-threshold-count": &hc.Unhealthy,
	} {
		if v, ok := ann(key); ok && v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return TargetGroup{}, fmt.Errorf("annotation %s%s: %q is not a positive number", annotationPrefix, key, v)
			}
			*dst = int32(n)
		}
	}
	// ELB wants the timeout below the interval; a short interval without
	// a timeout of its own gets one that fits rather than an error.
	if _, ok := ann("healthcheck-timeout-seconds"); !ok && hc.Timeout >= hc.Interval {
		hc.Timeout = max(hc.Interval-1, 2)
	}
	if v, ok := ann("healthcheck-protocol"); ok && v != "HTTP" {
		return TargetGroup{}, fmt.Errorf("annotation %shealthcheck-protocol: %q is not supported by Berth; use HTTP", annotationPrefix, v)
	}
	if v, ok := ann("target-group-attributes"); ok {
		attrs, err := parseTags(v)
		if err != nil {
			return TargetGroup{}, fmt.Errorf("annotation %starget-group-attributes: %q is not key=value,...", annotationPrefix, v)
		}
		tg.Attributes = attrs
	}
	resource := ns + "/" + ing.Metadata.Name + "-" + b.String()
	tg.Name = resourceName(ns, b.Service, cluster, resource, tt, strconv.Itoa(int(tg.Port)))
	tg.Tags = withTags(userTags, cluster, ns+"/"+ing.Metadata.Name, resource)
	return tg, nil
}

// pathPatterns maps an Ingress path to ALB path-pattern values as the AWS
// controller does: Exact is the path; Prefix is the path and everything
// under it; ImplementationSpecific is the path as written, ALB wildcards
// (* and ?) included.
func pathPatterns(path, pathType string) ([]string, error) {
	if pathType == "" {
		pathType = "ImplementationSpecific"
	}
	switch pathType {
	case "Exact", "Prefix":
		if strings.ContainsAny(path, "*?") {
			return nil, fmt.Errorf("path %q of type %s: wildcards are only allowed with pathType ImplementationSpecific", path, pathType)
		}
		if !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("path %q of type %s must start with /", path, pathType)
		}
		if pathType == "Exact" {
			return []string{path}, nil
		}
		if path == "/" {
			return []string{"/*"}, nil
		}
		p := strings.TrimSuffix(path, "/")
		return []string{p, p + "/*"}, nil
	case "ImplementationSpecific":
		if path == "" {
			return nil, nil
		}
		return []string{path}, nil
	}
	return nil, fmt.Errorf("path %q: unknown pathType %q", path, pathType)
}

// listenPorts parses listen-ports, [{"HTTP": 80}, {"HTTP": 8080}];
// Berth's load balancers have no HTTPS listeners, so those are an error.
func listenPorts(v string) ([]int32, error) {
	if strings.TrimSpace(v) == "" {
		return []int32{80}, nil
	}
	var entries []map[string]int32
	if err := json.Unmarshal([]byte(v), &entries); err != nil {
		return nil, fmt.Errorf("annotation %slisten-ports: %v (want e.g. [{\"HTTP\": 80}])", annotationPrefix, err)
	}
	var ports []int32
	for _, e := range entries {
		for proto, port := range e {
			if proto != "HTTP" {
				return nil, fmt.Errorf("annotation %slisten-ports: %s listeners are not supported by Berth's load balancers; use HTTP", annotationPrefix, proto)
			}
			if port < 1 || port > 65535 {
				return nil, fmt.Errorf("annotation %slisten-ports: port %d out of range", annotationPrefix, port)
			}
			if !containsPort(ports, port) {
				ports = append(ports, port)
			}
		}
	}
	if len(ports) == 0 {
		return nil, fmt.Errorf("annotation %slisten-ports: no listener", annotationPrefix)
	}
	sort.Slice(ports, func(i, j int) bool { return ports[i] < ports[j] })
	return ports, nil
}

func containsPort(ps []int32, p int32) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// parseTags parses the tags annotation, k1=v1,k2=v2.
func parseTags(v string) (map[string]string, error) {
	tags := map[string]string{}
	for _, kv := range splitList(v) {
		k, val, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("annotation %stags: %q is not key=value", annotationPrefix, kv)
		}
		tags[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	return tags, nil
}

func withTags(user map[string]string, cluster, stack, resource string) map[string]string {
	tags := map[string]string{}
	for k, v := range user {
		tags[k] = v
	}
	tags[TagCluster] = cluster
	tags[TagStack] = stack
	tags[TagResource] = resource
	return tags
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// resourceName is an ELB name in the AWS controller's shape,
// k8s-<namespace>-<name>-<hash>: at most 32 characters, and the hash of
// everything that identifies the resource keeps names of different
// clusters and settings apart.
func resourceName(ns, name string, parts ...string) string {
	h := sha256.New()
	for _, p := range append([]string{ns, name}, parts...) {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "k8s-" + nameChars(ns, 8) + "-" + nameChars(name, 8) + "-" + hex.EncodeToString(h.Sum(nil))[:10]
}

// nameChars keeps the characters ELB names allow, lowercased, at most n.
func nameChars(s string, n int) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if b.Len() == n {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
