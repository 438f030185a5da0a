// Package albingress is the ingress controller of EKS clusters: Ingresses
// of class alb become Application Load Balancers of Berth's ELBv2, as the
// AWS Load Balancer Controller makes them on EKS. It runs inside Berth
// rather than in the cluster because it drives ELB through its Go API and
// knows each cluster's account and region; it talks to the clusters' API
// servers over plain net/http, so the main module links no Kubernetes
// library.
package albingress

import (
	"encoding/json"
	"strconv"
)

// The Kubernetes objects the controller reads, reduced to the fields it
// uses.

type objectMeta struct {
	Name              string            `json:"name"`
	Namespace         string            `json:"namespace,omitempty"`
	UID               string            `json:"uid,omitempty"`
	ResourceVersion   string            `json:"resourceVersion,omitempty"`
	Generation        int64             `json:"generation,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	Finalizers        []string          `json:"finalizers,omitempty"`
	DeletionTimestamp *string           `json:"deletionTimestamp,omitempty"`
}

// Ingress is a networking.k8s.io/v1 Ingress.
type Ingress struct {
	Metadata objectMeta    `json:"metadata"`
	Spec     ingressSpec   `json:"spec"`
	Status   ingressStatus `json:"status"`
}

type ingressSpec struct {
	IngressClassName *string         `json:"ingressClassName,omitempty"`
	DefaultBackend   *ingressBackend `json:"defaultBackend,omitempty"`
	Rules            []ingressRule   `json:"rules,omitempty"`
}

type ingressRule struct {
	Host string `json:"host,omitempty"`
	HTTP *struct {
		Paths []ingressPath `json:"paths"`
	} `json:"http,omitempty"`
}

type ingressPath struct {
	Path     string         `json:"path,omitempty"`
	PathType string         `json:"pathType,omitempty"`
	Backend  ingressBackend `json:"backend"`
}

type ingressBackend struct {
	Service *struct {
		Name string      `json:"name"`
		Port servicePort `json:"port"`
	} `json:"service,omitempty"`
	Resource *json.RawMessage `json:"resource,omitempty"`
}

// servicePort is an Ingress backend's port: a Service port by name or by
// number.
type servicePort struct {
	Name   string `json:"name,omitempty"`
	Number int32  `json:"number,omitempty"`
}

func (p servicePort) String() string {
	if p.Name != "" {
		return p.Name
	}
	return strconv.Itoa(int(p.Number))
}

type ingressStatus struct {
	LoadBalancer struct {
		Ingress []struct {
			Hostname string `json:"hostname,omitempty"`
			IP       string `json:"ip,omitempty"`
		} `json:"ingress,omitempty"`
	} `json:"loadBalancer"`
}

// Service is a v1 Service.
type Service struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		Type  string `json:"type,omitempty"`
		Ports []struct {
			Name       string          `json:"name,omitempty"`
			Port       int32           `json:"port"`
			TargetPort json.RawMessage `json:"targetPort,omitempty"`
			NodePort   int32           `json:"nodePort,omitempty"`
		} `json:"ports"`
	} `json:"spec"`
}

// EndpointSlice is a discovery.k8s.io/v1 EndpointSlice.
type EndpointSlice struct {
	Metadata  objectMeta `json:"metadata"`
	Endpoints []struct {
		Addresses  []string `json:"addresses"`
		Conditions struct {
			Ready *bool `json:"ready,omitempty"`
		} `json:"conditions"`
	} `json:"endpoints"`
	Ports []struct {
		Name *string `json:"name,omitempty"`
		Port *int32  `json:"port,omitempty"`
	} `json:"ports"`
}

// Node is a v1 Node.
type Node struct {
	Metadata objectMeta `json:"metadata"`
	Status   struct {
		Addresses []struct {
			Type    string `json:"type"`
			Address string `json:"address"`
		} `json:"addresses"`
		Conditions []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"conditions"`
	} `json:"status"`
}

type ingressClass struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		Controller string `json:"controller"`
	} `json:"spec"`
}
