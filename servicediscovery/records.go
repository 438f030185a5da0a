package servicediscovery

import (
	"errors"
	"time"

	sdapi "github.com/berth-dev/berth/api/servicediscovery"
	"github.com/berth-dev/berth/store"
)

type namespaceDoc struct {
	ID               string    `json:"id"`
	ARN              string    `json:"arn"`
	Name             string    `json:"name"`
	Type             string    `json:"type"`
	Description      *string   `json:"description,omitempty"`
	Vpc              string    `json:"vpc,omitempty"`
	HostedZoneID     string    `json:"hostedZoneId,omitempty"`
	SOATTL           *int64    `json:"soaTtl,omitempty"`
	CreatorRequestID string    `json:"creatorRequestId,omitempty"`
	OperationID      string    `json:"operationId"`
	Created          time.Time `json:"created"`
	Tags             []tag     `json:"tags,omitempty"`
}

func (d *namespaceDoc) dns() bool {
	return d.Type == string(sdapi.NamespaceTypeDnsPrivate) || d.Type == string(sdapi.NamespaceTypeDnsPublic)
}

type serviceDoc struct {
	ID               string                         `json:"id"`
	ARN              string                         `json:"arn"`
	Name             string                         `json:"name"`
	NamespaceID      string                         `json:"namespaceId"`
	Description      *string                        `json:"description,omitempty"`
	Type             string                         `json:"type"`
	DnsConfig        *sdapi.DnsConfig               `json:"dnsConfig,omitempty"`
	HealthCheck      *sdapi.HealthCheckConfig       `json:"healthCheck,omitempty"`
	HealthCheckCusto *sdapi.HealthCheckCustomConfig `json:"healthCheckCustom,omitempty"`
	CreatorRequestID string                         `json:"creatorRequestId,omitempty"`
	Created          time.Time                      `json:"created"`
	// Revision increases with every change of the service's instances
	// (DiscoverInstancesRevision).
	Revision   int64             `json:"revision"`
	Instances  int               `json:"instances"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Tags       []tag             `json:"tags,omitempty"`
}

// checked reports whether the service has a health check, so that its
// instances report HEALTHY or UNHEALTHY rather than UNKNOWN.
func (d *serviceDoc) checked() bool { return d.HealthCheck != nil || d.HealthCheckCusto != nil }

type instanceDoc struct {
	ID               string            `json:"id"`
	ServiceID        string            `json:"serviceId"`
	CreatorRequestID string            `json:"creatorRequestId,omitempty"`
	Attributes       map[string]string `json:"attributes"`
	// Healthy is the custom health status; it only shows for services with
	// a health check.
	Healthy bool `json:"healthy"`
	// Owner is the ECS service that registered the instance, empty for
	// RegisterInstance's.
	Owner   string    `json:"owner,omitempty"`
	Created time.Time `json:"created"`
}

type operationDoc struct {
	ID      string            `json:"id"`
	Type    string            `json:"type"`
	Status  string            `json:"status"`
	Created time.Time         `json:"created"`
	Updated time.Time         `json:"updated"`
	Targets map[string]string `json:"targets"`
}

type ownerDoc struct {
	Services []string `json:"services"` // Cloud Map service ids
}

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func instanceKey(serviceID, id string) string { return serviceID + "/" + id }

func getNamespace(tx store.Tx, c caller, id string) (*namespaceDoc, error) {
	id = idOf(id, "namespace")
	d, err := store.GetDoc[namespaceDoc](tx, KindNamespace, c.Account, c.Region, id)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, sdapi.NewNamespaceNotFound("No namespace exists with ID: %s", id)
	}
	return d, nil
}

func getService(tx store.Tx, c caller, id string) (*serviceDoc, error) {
	id = idOf(id, "service")
	d, err := store.GetDoc[serviceDoc](tx, KindService, c.Account, c.Region, id)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, sdapi.NewServiceNotFound("No service exists with ID: %s", id)
	}
	return d, nil
}

func getInstance(tx store.Tx, c caller, serviceID, id string) (*instanceDoc, error) {
	d, err := store.GetDoc[instanceDoc](tx, KindInstance, c.Account, c.Region, instanceKey(serviceID, id))
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, sdapi.NewInstanceNotFound("No instance exists with ID: %s", id)
	}
	return d, nil
}

func putService(tx store.Tx, c caller, d *serviceDoc, now time.Time) error {
	return store.PutDoc(tx, KindService, c.Account, c.Region, d.ID, d, now)
}

// addOperation records a finished operation and returns its id.
func addOperation(tx store.Tx, c caller, typ sdapi.OperationType, targets map[string]string, now time.Time) (string, error) {
	op := operationDoc{ID: newOperationID(), Type: string(typ), Status: string(sdapi.OperationStatusSuccess),
		Created: now, Updated: now, Targets: targets}
	return op.ID, store.PutDoc(tx, KindOperation, c.Account, c.Region, op.ID, &op, now)
}

// findNamespaceByName returns the namespace of that name, nil when none.
func findNamespaceByName(tx store.Tx, c caller, name string) (*namespaceDoc, error) {
	var found *namespaceDoc
	err := store.ListDocs(tx, KindNamespace, c.Account, c.Region, "", "", func(_ string, d *namespaceDoc) (bool, error) {
		if equalFoldDNS(d.Name, name) {
			found = d
			return false, nil
		}
		return true, nil
	})
	return found, err
}

// servicesOf returns the services of a namespace.
func servicesOf(tx store.Tx, c caller, nsID string) ([]*serviceDoc, error) {
	var out []*serviceDoc
	err := store.ListDocs(tx, KindService, c.Account, c.Region, "", "", func(_ string, d *serviceDoc) (bool, error) {
		if d.NamespaceID == nsID {
			out = append(out, d)
		}
		return true, nil
	})
	return out, err
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
