// Package servicediscovery is Berth's AWS Cloud Map: the servicediscovery
// API (api/servicediscovery's generated Service) over the store's resource
// area, and the registration interface ECS uses to keep a Cloud Map
// service's instances equal to an ECS service's RUNNING tasks.
//
// A namespace, a service, an instance (id "<service id>/<instance id>")
// and an operation are one resource each. Cloud Map's asynchronous
// operations (namespace create/update/delete, instance register and
// deregister, service update) finish inside the call that starts them, so
// the operation a client polls with GetOperation is already SUCCESS.
//
// Every operation acts in the caller's account and region
// (awsapi.IdentityFrom); one store transaction backs each call.
package servicediscovery

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"time"

	sdapi "github.com/berth-dev/berth/api/servicediscovery"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// Resource kinds in the store's resource area.
const (
	KindNamespace = "servicediscovery/namespace"
	KindService   = "servicediscovery/service"
	KindInstance  = "servicediscovery/instance"
	KindOperation = "servicediscovery/operation"
	// KindOwner lists, per owner (an ECS service ARN), the Cloud Map
	// services holding instances the owner registered, so that a sync
	// finds what to remove without scanning every instance.
	KindOwner = "servicediscovery/owner"
)

// Options configure a Service.
type Options struct {
	Store store.Store
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service implements the Cloud Map API.
type Service struct {
	sdapi.UnimplementedService

	st  store.Store
	now func() time.Time

	discovery discoveryCache
}

var _ sdapi.Service = (*Service)(nil)

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("servicediscovery: Store is required")
	}
	s := &Service{st: o.Store, now: o.Now}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
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

func (c caller) arn(resource string) string {
	return "arn:aws:servicediscovery:" + c.Region + ":" + c.Account + ":" + resource
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

const lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i, v := range b {
		b[i] = alphabet[int(v)%len(alphabet)]
	}
	return string(b)
}

// AWS's ids: ns-<16>, srv-<16>, operations <32>-<8>, hosted zones Z<13>.
func newNamespaceID() string { return "ns-" + randomString(lowerAlnum, 16) }
func newServiceID() string   { return "srv-" + randomString(lowerAlnum, 16) }
func newOperationID() string {
	return randomString(lowerAlnum, 32) + "-" + randomString(lowerAlnum, 8)
}
func newHostedZoneID() string {
	return "Z" + randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 13)
}

// idOf accepts an id or an ARN whose resource is kind/<id>.
func idOf(s, kind string) string {
	if strings.HasPrefix(s, "arn:") {
		if _, after, ok := strings.Cut(s, ":"+kind+"/"); ok {
			return after
		}
	}
	return s
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func ts(t time.Time) *awsapi.Timestamp { return awsapi.Time(t) }
