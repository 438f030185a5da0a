package ecs

import (
	"context"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/store"
)

// describeByARN answers a Describe* call that takes 1 to 20 ARNs (field
// names them in the error) of documents of kind. A ref that key cannot
// parse, or whose document is not stored, becomes a MISSING failure, as AWS
// reports unknown ARNs rather than failing the call. Both slices are non-nil
// so that empty results encode as [].
func describeByARN[T, O any](ctx context.Context, s *Service, kind, field string, refs []string, key func(sc scope, ref string) (string, bool), output func(tx store.Tx, sc scope, doc *T) (O, error)) ([]O, []ecsapi.Failure, error) {
	if len(refs) == 0 || len(refs) > 20 {
		return nil, nil, ecsapi.NewInvalidParameterException("%s must have between 1 and 20 items.", field)
	}
	sc := scopeOf(ctx)
	var outs []O
	var failures []ecsapi.Failure
	err := s.st.View(ctx, func(tx store.Tx) error {
		outs, failures = []O{}, []ecsapi.Failure{}
		for _, ref := range refs {
			var doc *T
			if id, ok := key(sc, ref); ok {
				var err error
				if doc, err = getDoc[T](tx, kind, sc, id); err != nil {
					return err
				}
			}
			if doc == nil {
				failures = append(failures, ecsapi.Failure{Arn: ptr(ref), Reason: ptr("MISSING")})
				continue
			}
			o, err := output(tx, sc, doc)
			if err != nil {
				return err
			}
			outs = append(outs, o)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return outs, failures, nil
}

// daemonChildKey is describeByARN's key for daemon revision and deployment
// ARNs of kind.
func daemonChildKey(kind string) func(sc scope, ref string) (string, bool) {
	return func(sc scope, ref string) (string, bool) { return daemonChildRef(sc, kind, ref) }
}

// historyDocKey is describeByARN's key for service deployment and revision
// ARNs of kind.
func historyDocKey(kind string) func(sc scope, ref string) (string, bool) {
	return func(sc scope, ref string) (string, bool) {
		cluster, service, id, ok := historyRef(sc, kind, ref)
		return historyKey(cluster, service, id), ok
	}
}
