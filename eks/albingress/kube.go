package albingress

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// kube is a cluster's API server, reached as its admin.
type kube struct {
	url  string
	http *http.Client
}

// statusError is an API server's answer other than 2xx.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return fmt.Sprintf("%d %s", e.code, e.msg) }

func isStatus(err error, code int) bool {
	se, ok := err.(*statusError)
	return ok && se.code == code
}

func (k *kube) do(ctx context.Context, method, path, contentType string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(k.url, "/")+path, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var st struct{ Message string }
		if json.Unmarshal(data, &st) != nil || st.Message == "" {
			st.Message = strings.TrimSpace(string(data))
		}
		return &statusError{code: resp.StatusCode, msg: st.Message}
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func list[T any](ctx context.Context, k *kube, path string) ([]T, error) {
	var l struct {
		Items []T `json:"items"`
	}
	if err := k.do(ctx, http.MethodGet, path, "", nil, &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}

const (
	ingressesPath = "/apis/networking.k8s.io/v1/ingresses"
	classesPath   = "/apis/networking.k8s.io/v1/ingressclasses"
)

func ingressURL(ns, name string) string {
	return "/apis/networking.k8s.io/v1/namespaces/" + url.PathEscape(ns) + "/ingresses/" + url.PathEscape(name)
}

// ensureClass makes the IngressClass alb, as the AWS controller's Helm
// chart installs it; one that exists is left as the user made it.
func (k *kube) ensureClass(ctx context.Context) error {
	err := k.do(ctx, http.MethodGet, classesPath+"/"+ClassName, "", nil, nil)
	if !isStatus(err, http.StatusNotFound) {
		return err
	}
	obj := map[string]any{
		"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
		"metadata": map[string]any{"name": ClassName, "labels": map[string]string{"app.kubernetes.io/managed-by": "berth"}},
		"spec":     map[string]any{"controller": ControllerName},
	}
	err = k.do(ctx, http.MethodPost, classesPath, "application/json", obj, nil)
	if isStatus(err, http.StatusConflict) {
		return nil
	}
	return err
}

// classes are the names of the IngressClasses of our controller, and
// whether one of them is the cluster's default class.
func (k *kube) classes(ctx context.Context) (map[string]bool, bool, error) {
	items, err := list[ingressClass](ctx, k, classesPath)
	if err != nil {
		return nil, false, err
	}
	names, def := map[string]bool{}, false
	for _, c := range items {
		if c.Spec.Controller == ControllerName {
			names[c.Metadata.Name] = true
			def = def || c.Metadata.Annotations["ingressclass.kubernetes.io/is-default-class"] == "true"
		}
	}
	return names, def, nil
}

// setFinalizers replaces the Ingress's finalizers, failing with 409 when
// it changed since it was read.
func (k *kube) setFinalizers(ctx context.Context, ing *Ingress, finalizers []string) error {
	if finalizers == nil {
		finalizers = []string{}
	}
	patch := map[string]any{"metadata": map[string]any{"finalizers": finalizers, "resourceVersion": ing.Metadata.ResourceVersion}}
	var out Ingress
	if err := k.do(ctx, http.MethodPatch, ingressURL(ing.Metadata.Namespace, ing.Metadata.Name), "application/merge-patch+json", patch, &out); err != nil {
		return err
	}
	*ing = out
	return nil
}

// setHostname writes the load balancer's DNS name to the Ingress's
// status.
func (k *kube) setHostname(ctx context.Context, ing *Ingress, hostname string) error {
	patch := map[string]any{"status": map[string]any{"loadBalancer": map[string]any{"ingress": []any{map[string]string{"hostname": hostname}}}}}
	return k.do(ctx, http.MethodPatch, ingressURL(ing.Metadata.Namespace, ing.Metadata.Name)+"/status", "application/merge-patch+json", patch, nil)
}

// event records an Event on the Ingress, as the AWS controller does
// (reason FailedBuildModel, FailedDeployModel, SuccessfullyReconciled).
func (k *kube) event(ctx context.Context, ing *Ingress, typ, reason, msg string) error {
	now := time.Now().UTC().Format(time.RFC3339)
	var b [8]byte
	rand.Read(b[:])
	ev := map[string]any{
		"apiVersion": "v1", "kind": "Event",
		"metadata": map[string]any{"name": ing.Metadata.Name + "." + hex.EncodeToString(b[:]), "namespace": ing.Metadata.Namespace},
		"involvedObject": map[string]any{
			"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "namespace": ing.Metadata.Namespace,
			"name": ing.Metadata.Name, "uid": ing.Metadata.UID, "resourceVersion": ing.Metadata.ResourceVersion,
		},
		"type": typ, "reason": reason, "message": msg, "count": 1,
		"firstTimestamp": now, "lastTimestamp": now,
		"source":             map[string]string{"component": "ingress"},
		"reportingComponent": "ingress.k8s.aws/alb", "reportingInstance": "berth",
	}
	return k.do(ctx, http.MethodPost, "/api/v1/namespaces/"+url.PathEscape(ing.Metadata.Namespace)+"/events", "application/json", ev, nil)
}

func (k *kube) services(ctx context.Context, ns string) (map[string]*Service, error) {
	items, err := list[Service](ctx, k, "/api/v1/namespaces/"+url.PathEscape(ns)+"/services")
	if err != nil {
		return nil, err
	}
	out := map[string]*Service{}
	for i := range items {
		out[items[i].Metadata.Name] = &items[i]
	}
	return out, nil
}

func (k *kube) endpointSlices(ctx context.Context, ns, service string) ([]EndpointSlice, error) {
	q := url.Values{"labelSelector": {"kubernetes.io/service-name=" + service}}
	return list[EndpointSlice](ctx, k, "/apis/discovery.k8s.io/v1/namespaces/"+url.PathEscape(ns)+"/endpointslices?"+q.Encode())
}

func (k *kube) nodes(ctx context.Context) ([]Node, error) {
	return list[Node](ctx, k, "/api/v1/nodes")
}
