package albingress

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func decode[T any](t *testing.T, s string) *T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

const shopIngress = `{
  "metadata": {"name": "shop", "namespace": "web", "annotations": {
    "alb.ingress.kubernetes.io/scheme": "internet-facing",
    "alb.ingress.kubernetes.io/target-type": "ip",
    "alb.ingress.kubernetes.io/listen-ports": "[{\"HTTP\": 8080}, {\"HTTP\": 80}]",
    "alb.ingress.kubernetes.io/healthcheck-path": "/health",
    "alb.ingress.kubernetes.io/success-codes": "200-299",
    "alb.ingress.kubernetes.io/healthcheck-interval-seconds": "5",
    "alb.ingress.kubernetes.io/target-group-attributes": "deregistration_delay.timeout_seconds=10",
    "alb.ingress.kubernetes.io/tags": "team=shop, env=dev"}},
  "spec": {
    "ingressClassName": "alb",
    "rules": [
      {"host": "shop.example.com", "http": {"paths": [
        {"path": "/api/", "pathType": "Prefix", "backend": {"service": {"name": "api", "port": {"name": "http"}}}},
        {"path": "/login", "pathType": "Exact", "backend": {"service": {"name": "web", "port": {"number": 80}}}}
      ]}},
      {"http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
        {"path": "/img/*.png", "pathType": "ImplementationSpecific", "backend": {"service": {"name": "web", "port": {"number": 80}}}}
      ]}}
    ]
  }
}`

func shopServices(t *testing.T) map[string]*Service {
	return map[string]*Service{
		"api": decode[Service](t, `{"metadata": {"name": "api", "namespace": "web", "annotations": {"alb.ingress.kubernetes.io/healthcheck-path": "/ready"}},
			"spec": {"type": "ClusterIP", "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}`),
		"web": decode[Service](t, `{"metadata": {"name": "web", "namespace": "web"},
			"spec": {"type": "NodePort", "ports": [{"port": 80, "targetPort": "web", "nodePort": 30080}]}}`),
	}
}

func TestTranslate(t *testing.T) {
	ing := decode[Ingress](t, shopIngress)
	st, err := Translate("prod", ing, shopServices(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.ID != "web/shop" {
		t.Errorf("stack id %q", st.ID)
	}
	lb := st.LoadBalancer
	if lb.Scheme != "internet-facing" || !strings.HasPrefix(lb.Name, "k8s-web-shop-") || len(lb.Name) > 32 {
		t.Errorf("load balancer %+v", lb)
	}
	wantTags := map[string]string{"team": "shop", "env": "dev", TagCluster: "prod", TagStack: "web/shop", TagResource: "LoadBalancer"}
	if !reflect.DeepEqual(lb.Tags, wantTags) {
		t.Errorf("load balancer tags %v", lb.Tags)
	}

	// Listeners sorted by port, each with every rule and the 404 default.
	if len(st.Listeners) != 2 || st.Listeners[0].Port != 80 || st.Listeners[1].Port != 8080 {
		t.Fatalf("listeners %+v", st.Listeners)
	}
	api, web := &Backend{"api", "http"}, &Backend{"web", "80"}
	wantRules := []Rule{
		{Priority: 1, Hosts: []string{"shop.example.com"}, Paths: []string{"/api", "/api/*"}, Action: Action{Forward: api}},
		{Priority: 2, Hosts: []string{"shop.example.com"}, Paths: []string{"/login"}, Action: Action{Forward: web}},
		{Priority: 3, Paths: []string{"/*"}, Action: Action{Forward: web}},
		{Priority: 4, Paths: []string{"/img/*.png"}, Action: Action{Forward: web}},
	}
	for _, l := range st.Listeners {
		if l.Default.Forward != nil {
			t.Errorf("default action of port %d forwards to %v; want the fixed 404", l.Port, l.Default.Forward)
		}
		if !reflect.DeepEqual(l.Rules, wantRules) {
			t.Errorf("rules of port %d:\n%+v\nwant\n%+v", l.Port, l.Rules, wantRules)
		}
	}

	// One target group per backend; the Service's annotations win over
	// the Ingress's.
	if len(st.TargetGroups) != 2 {
		t.Fatalf("target groups %+v", st.TargetGroups)
	}
	a, w := st.TargetGroups[0], st.TargetGroups[1]
	if a.Backend != *api || a.TargetType != "ip" || a.Port != 8080 || a.PortName != "http" {
		t.Errorf("api group %+v", a)
	}
	if a.HealthCheck != (HealthCheck{Path: "/ready", Port: "traffic-port", Matcher: "200-299", Interval: 5, Timeout: 4, Healthy: 2, Unhealthy: 2}) {
		t.Errorf("api health check %+v", a.HealthCheck)
	}
	if a.Attributes["deregistration_delay.timeout_seconds"] != "10" || len(a.Attributes) != 1 {
		t.Errorf("api attributes %v", a.Attributes)
	}
	if a.Tags[TagResource] != "web/shop-api:http" || a.Tags[TagStack] != "web/shop" || a.Tags["team"] != "shop" {
		t.Errorf("api group tags %v", a.Tags)
	}
	// A named target port differs per pod: the group takes the Service's
	// port, targets their own.
	if w.Backend != *web || w.Port != 80 || w.HealthCheck.Path != "/health" {
		t.Errorf("web group %+v", w)
	}
	if a.Name == w.Name || !strings.HasPrefix(a.Name, "k8s-web-api-") || len(a.Name) > 32 {
		t.Errorf("group names %q %q", a.Name, w.Name)
	}

	// The same Ingress in another cluster gets other names.
	other, err := Translate("staging", ing, shopServices(t))
	if err != nil {
		t.Fatal(err)
	}
	if other.LoadBalancer.Name == lb.Name || other.TargetGroups[0].Name == a.Name {
		t.Errorf("names do not depend on the cluster: %q %q", other.LoadBalancer.Name, other.TargetGroups[0].Name)
	}
}

func TestTranslateDefaults(t *testing.T) {
	ing := decode[Ingress](t, `{"metadata": {"name": "one", "namespace": "default"},
		"spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}}`)
	st, err := Translate("c", ing, shopServices(t))
	if err != nil {
		t.Fatal(err)
	}
	// The AWS controller's defaults: internal, HTTP 80, instance targets
	// at the node port, its health check.
	if st.LoadBalancer.Scheme != "internal" || len(st.Listeners) != 1 || st.Listeners[0].Port != 80 || len(st.Listeners[0].Rules) != 0 {
		t.Errorf("stack %+v", st)
	}
	if f := st.Listeners[0].Default.Forward; f == nil || *f != (Backend{"web", "80"}) {
		t.Errorf("default action %+v", st.Listeners[0].Default)
	}
	tg := st.TargetGroups[0]
	if tg.TargetType != "instance" || tg.Port != 30080 || tg.HealthCheck != defaultHealthCheck {
		t.Errorf("target group %+v", tg)
	}

	named := decode[Ingress](t, `{"metadata": {"name": "n", "namespace": "default", "annotations": {"alb.ingress.kubernetes.io/load-balancer-name": "my-alb"}}, "spec": {}}`)
	if st, err := Translate("c", named, nil); err != nil || st.LoadBalancer.Name != "my-alb" || len(st.TargetGroups) != 0 {
		t.Errorf("named: %+v %v", st, err)
	}
}

func TestTranslateErrors(t *testing.T) {
	for name, tc := range map[string]struct{ annotations, spec, want string }{
		"missing service":       {``, `{"defaultBackend": {"service": {"name": "nope", "port": {"number": 80}}}}`, `service default/nope (backend nope:80) not found`},
		"missing port":          {``, `{"defaultBackend": {"service": {"name": "web", "port": {"number": 81}}}}`, `has no port 81`},
		"instance on ClusterIP": {``, `{"defaultBackend": {"service": {"name": "api", "port": {"name": "http"}}}}`, `target type instance needs a NodePort`},
		"https":                 {`"alb.ingress.kubernetes.io/listen-ports": "[{\"HTTPS\": 443}]"`, `{}`, `HTTPS listeners are not supported`},
		"bad listen-ports":      {`"alb.ingress.kubernetes.io/listen-ports": "80"`, `{}`, `listen-ports`},
		"bad scheme":            {`"alb.ingress.kubernetes.io/scheme": "public"`, `{}`, `neither internal nor internet-facing`},
		"prefix wildcard":       {``, `{"rules": [{"http": {"paths": [{"path": "/a*", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}`, `wildcards`},
		"use-annotation":        {``, `{"defaultBackend": {"service": {"name": "web", "port": {"name": "use-annotation"}}}}`, `not supported`},
		"bad interval":          {`"alb.ingress.kubernetes.io/healthcheck-interval-seconds": "x"`, `{"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}`, `not a positive number`},
	} {
		ann := `{}`
		if tc.annotations != "" {
			ann = `{` + tc.annotations + `}`
		}
		ing := decode[Ingress](t, `{"metadata": {"name": "x", "namespace": "default", "annotations": `+ann+`}, "spec": `+tc.spec+`}`)
		_, err := Translate("c", ing, shopServices(t))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
}

func TestIsALB(t *testing.T) {
	classes := map[string]bool{"alb": true, "internal-alb": true}
	for _, tc := range []struct {
		ing  string
		def  bool
		want bool
	}{
		{`{"spec": {"ingressClassName": "alb"}}`, false, true},
		{`{"spec": {"ingressClassName": "internal-alb"}}`, false, true},
		{`{"spec": {"ingressClassName": "nginx"}}`, true, false},
		{`{"metadata": {"annotations": {"kubernetes.io/ingress.class": "alb"}}, "spec": {}}`, false, true},
		{`{"metadata": {"annotations": {"kubernetes.io/ingress.class": "nginx"}}, "spec": {}}`, true, false},
		{`{"spec": {}}`, false, false},
		{`{"spec": {}}`, true, true},
	} {
		if got := IsALB(decode[Ingress](t, tc.ing), classes, tc.def); got != tc.want {
			t.Errorf("IsALB(%s, default %v) = %v", tc.ing, tc.def, got)
		}
	}
}

func TestIPTargets(t *testing.T) {
	tg := TargetGroup{PortName: "http"}
	eps := []EndpointSlice{*decode[EndpointSlice](t, `{"ports": [{"name": "http", "port": 8080}, {"name": "admin", "port": 9090}],
		"endpoints": [
			{"addresses": ["172.17.0.5"], "conditions": {"ready": true}},
			{"addresses": ["172.17.0.4"]},
			{"addresses": ["172.17.0.6"], "conditions": {"ready": false}}
		]}`)}
	got := ipTargets(tg, eps)
	if len(got) != 2 || got[0].ID != "172.17.0.4" || got[1].ID != "172.17.0.5" || got[0].Port != 8080 {
		t.Errorf("targets %+v", got)
	}
}
