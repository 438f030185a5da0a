package albingress

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/berth-dev/berth/eks"
)

// fakeAPI is the part of a Kubernetes API server the controller uses, in
// memory.
type fakeAPI struct {
	mu        sync.Mutex
	classes   map[string]ingressClass
	ingresses map[string]*Ingress // ns/name
	services  []Service
	slices    []EndpointSlice
	events    []map[string]any
	rv        int
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reply := func(code int, v any) {
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(v)
	}
	items := func(v any) { reply(200, map[string]any{"items": v}) }
	p := r.URL.Path
	switch {
	case p == classesPath && r.Method == http.MethodGet:
		var out []ingressClass
		for _, c := range f.classes {
			out = append(out, c)
		}
		items(out)
	case p == classesPath && r.Method == http.MethodPost:
		var c ingressClass
		json.NewDecoder(r.Body).Decode(&c)
		f.classes[c.Metadata.Name] = c
		reply(201, c)
	case strings.HasPrefix(p, classesPath+"/"):
		c, ok := f.classes[strings.TrimPrefix(p, classesPath+"/")]
		if !ok {
			reply(404, map[string]string{"message": "not found"})
			return
		}
		reply(200, c)
	case p == ingressesPath:
		var keys []string
		for k := range f.ingresses {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out []Ingress
		for _, k := range keys {
			out = append(out, *f.ingresses[k])
		}
		items(out)
	case strings.Contains(p, "/ingresses/") && r.Method == http.MethodPatch:
		parts := strings.Split(strings.TrimPrefix(p, "/apis/networking.k8s.io/v1/namespaces/"), "/")
		ing, ok := f.ingresses[parts[0]+"/"+parts[2]]
		if !ok {
			reply(404, map[string]string{"message": "not found"})
			return
		}
		var patch struct {
			Metadata *struct {
				Finalizers      []string
				ResourceVersion string
			}
			Status *ingressStatus
		}
		json.NewDecoder(r.Body).Decode(&patch)
		if patch.Metadata != nil {
			if patch.Metadata.ResourceVersion != ing.Metadata.ResourceVersion {
				reply(409, map[string]string{"message": "conflict"})
				return
			}
			ing.Metadata.Finalizers = patch.Metadata.Finalizers
			if len(ing.Metadata.Finalizers) == 0 && ing.Metadata.DeletionTimestamp != nil {
				delete(f.ingresses, parts[0]+"/"+parts[2])
			}
		}
		if patch.Status != nil {
			ing.Status = *patch.Status
		}
		f.rv++
		ing.Metadata.ResourceVersion = strconv.Itoa(f.rv)
		reply(200, ing)
	case strings.HasSuffix(p, "/events"):
		var ev map[string]any
		json.NewDecoder(r.Body).Decode(&ev)
		f.events = append(f.events, ev)
		reply(201, ev)
	case strings.HasSuffix(p, "/services"):
		items(f.services)
	case strings.HasSuffix(p, "/endpointslices"):
		svc := strings.TrimPrefix(r.URL.Query().Get("labelSelector"), "kubernetes.io/service-name=")
		var out []EndpointSlice
		for _, s := range f.slices {
			if s.Metadata.Labels["kubernetes.io/service-name"] == svc {
				out = append(out, s)
			}
		}
		items(out)
	default:
		reply(404, map[string]string{"message": "no route " + r.Method + " " + p})
	}
}

// reasons are the events' "<ingress> <reason>" lines, and forgets them.
func (f *fakeAPI) reasons() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, ev := range f.events {
		obj := ev["involvedObject"].(map[string]any)
		out = append(out, obj["name"].(string)+" "+ev["reason"].(string))
	}
	f.events = nil
	sort.Strings(out)
	return out
}

func (f *fakeAPI) ingress(name string) *Ingress {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ing, ok := f.ingresses["default/"+name]; ok {
		cp := *ing
		return &cp
	}
	return nil
}

func TestController(t *testing.T) {
	ctx := context.Background()
	lb := newELB(t)
	port := strconv.Itoa(int(freePort(t)))
	ingress := func(name, class string) *Ingress {
		ing := decode[Ingress](t, `{"metadata": {"name": "`+name+`", "namespace": "default", "uid": "uid-`+name+`", "resourceVersion": "1",
			"annotations": {"alb.ingress.kubernetes.io/target-type": "ip", "alb.ingress.kubernetes.io/listen-ports": "[{\"HTTP\": `+port+`}]"}},
			"spec": {"ingressClassName": "`+class+`", "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}}`)
		return ing
	}
	api := &fakeAPI{
		classes: map[string]ingressClass{},
		ingresses: map[string]*Ingress{
			"default/a-shop":  ingress("a-shop", "alb"),
			"default/b-clash": ingress("b-clash", "alb"),
			"default/c-nginx": ingress("c-nginx", "nginx"),
		},
		services: []Service{*decode[Service](t, `{"metadata": {"name": "web", "namespace": "default"}, "spec": {"ports": [{"port": 80, "targetPort": 8080}]}}`)},
		slices: []EndpointSlice{*decode[EndpointSlice](t, `{"metadata": {"name": "web-1", "labels": {"kubernetes.io/service-name": "web"}},
			"ports": [{"name": "", "port": 8080}], "endpoints": [{"addresses": ["10.1.0.1"]}, {"addresses": ["10.1.0.2"], "conditions": {"ready": false}}]}`)},
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	ref := eks.ClusterRef{Account: "000000000000", Region: "us-east-1", Name: "prod"}
	status := "ACTIVE"
	c := New(Options{
		LoadBalancing: lb,
		Clusters:      func() []eks.ClusterRef { return []eks.ClusterRef{ref} },
		Cluster: func(context.Context, eks.ClusterRef) (ClusterInfo, error) {
			return ClusterInfo{Status: status, Subnets: []string{"subnet-1", "subnet-2"}}, nil
		},
		API: func(eks.ClusterRef) (string, *http.Client, error) { return srv.URL, srv.Client(), nil },
	})
	reconcile := func() {
		t.Helper()
		if err := c.reconcileCluster(ctx, ref); err != nil {
			t.Fatal(err)
		}
	}
	d := newDeployer(lb, ref.Account, ref.Region, ref.Name)
	stacksNow := func() []string {
		t.Helper()
		inv, err := d.inventory(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return stacks(inv)
	}

	reconcile()
	if cl, ok := api.classes["alb"]; !ok || cl.Spec.Controller != ControllerName {
		t.Errorf("IngressClass alb: %+v", api.classes)
	}
	// Both alb Ingresses want the same port: the first gets it, the
	// second says why it has none.
	if got := strings.Join(api.reasons(), ","); got != "a-shop SuccessfullyReconciled,b-clash FailedDeployModel" {
		t.Errorf("events %s", got)
	}
	shop := api.ingress("a-shop")
	if len(shop.Metadata.Finalizers) != 1 || len(shop.Status.LoadBalancer.Ingress) != 1 || !strings.HasSuffix(shop.Status.LoadBalancer.Ingress[0].Hostname, ".elb.localhost") {
		t.Errorf("a-shop: %+v", shop)
	}
	if clash := api.ingress("b-clash"); len(clash.Metadata.Finalizers) != 1 || len(clash.Status.LoadBalancer.Ingress) != 0 {
		t.Errorf("b-clash: %+v", clash)
	}
	if other := api.ingress("c-nginx"); len(other.Metadata.Finalizers) != 0 {
		t.Errorf("an nginx Ingress got our finalizer: %+v", other)
	}
	// Only the ready endpoint is a target.
	inv, _ := d.inventory(ctx)
	hs, err := lb.TargetHealth(ctx, ref.Account, ref.Region, str(inv.tgs["default/a-shop"][0].TargetGroupArn))
	if err != nil || len(hs) != 1 || hs[0].Target.ID != "10.1.0.1" || hs[0].Target.Port != 8080 {
		t.Errorf("targets %+v %v", hs, err)
	}

	// A steady state records no more events.
	reconcile()
	if got := api.reasons(); len(got) != 0 {
		t.Errorf("events of a steady state: %v", got)
	}

	// Deleting a-shop: its load balancer goes, then its finalizer, and the
	// port is b-clash's.
	api.mu.Lock()
	api.ingresses["default/a-shop"].Metadata.DeletionTimestamp = new("2026-01-01T00:00:00Z")
	api.mu.Unlock()
	reconcile()
	if api.ingress("a-shop") != nil {
		t.Errorf("a-shop is still there")
	}
	reconcile()
	if got := strings.Join(api.reasons(), ","); got != "b-clash SuccessfullyReconciled" {
		t.Errorf("events after a-shop was deleted: %s", got)
	}
	if got := strings.Join(stacksNow(), ","); got != "default/b-clash" {
		t.Errorf("stacks %s", got)
	}

	// An Ingress that stops being of class alb loses its load balancer
	// and our finalizer.
	api.mu.Lock()
	api.ingresses["default/b-clash"].Spec.IngressClassName = new("nginx")
	api.mu.Unlock()
	reconcile()
	if got := stacksNow(); len(got) != 0 {
		t.Errorf("stacks after b-clash left class alb: %v", got)
	}
	if clash := api.ingress("b-clash"); len(clash.Metadata.Finalizers) != 0 {
		t.Errorf("b-clash keeps the finalizer: %+v", clash.Metadata)
	}

	// A deleted cluster's load balancers go.
	api.mu.Lock()
	api.ingresses["default/b-clash"].Spec.IngressClassName = new("alb")
	api.mu.Unlock()
	reconcile()
	if len(stacksNow()) != 1 {
		t.Fatalf("b-clash has no load balancer again")
	}
	status = "DELETING"
	reconcile()
	if got := stacksNow(); len(got) != 0 {
		t.Errorf("stacks of a deleting cluster: %v", got)
	}
}

func TestInstanceTargets(t *testing.T) {
	nodes := []Node{
		*decode[Node](t, `{"metadata": {"name": "workers-0"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}`),
		*decode[Node](t, `{"metadata": {"name": "workers-1"}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}}`),
	}
	ref := eks.ClusterRef{Account: "1", Region: "r", Name: "c"}
	got := instanceTargets(ref, TargetGroup{Port: 30080}, nodes)
	if len(got) != 1 || got[0].Port != 30080 || got[0].ID != instanceID(ref, "workers-0") || len(got[0].ID) != 19 {
		t.Errorf("targets %+v", got)
	}
}
