package appautoscaling

import (
	"context"
	"slices"

	aasapi "github.com/berth-dev/berth/api/applicationautoscaling"
	"github.com/berth-dev/berth/store"
)

// describeChildren answers DescribeScalingPolicies and
// DescribeScheduledActions, which filter a target's children the same way:
// by namespace, then optionally dimension and resource, then by name.
// ident gives a record's resource id and name.
func describeChildren[T any](ctx context.Context, s *Service, kind string, ns aasapi.ServiceNamespace, dim *aasapi.ScalableDimension,
	resourceID *string, names []string, token *string, limit *int32, ident func(*T) (resource, name string)) ([]T, *string, error) {
	c := callerOf(ctx)
	if err := checkECSTarget(ns, dim, ""); err != nil {
		return nil, nil, err
	}
	// The store id is namespace|dimension|resource|name, so the filters
	// given narrow the scan as far as they reach.
	prefix := string(ns) + "|"
	if dim != nil {
		prefix += string(*dim) + "|"
		if resourceID != nil {
			prefix += *resourceID + "|"
		}
	}
	var recs []T
	var next *string
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		recs, next, err = listPage(tx, kind, c, prefix, token, maxResults(limit), func(r *T) bool {
			res, name := ident(r)
			return (resourceID == nil || res == *resourceID) && (len(names) == 0 || slices.Contains(names, name))
		})
		return err
	})
	if err != nil {
		return nil, nil, s.internal(err)
	}
	return recs, next, nil
}

// deleteChild deletes a target's policy or scheduled action, answering
// notFound's error when there is none. It returns the record's store id.
func deleteChild[T any](ctx context.Context, s *Service, kind string, ns aasapi.ServiceNamespace, dim *aasapi.ScalableDimension,
	resource, name string, notFound func() error) (string, error) {
	c := callerOf(ctx)
	if err := checkECSTarget(ns, dim, resource); err != nil {
		return "", err
	}
	id := targetKey(string(ns), string(*dim), resource) + "|" + name
	err := s.st.Update(ctx, func(tx store.Tx) error {
		r, err := store.GetDoc[T](tx, kind, c.Account, c.Region, id)
		if err != nil {
			return err
		}
		if r == nil {
			return notFound()
		}
		return store.DeleteDoc(tx, kind, c.Account, c.Region, id)
	})
	if err != nil {
		return "", s.internal(err)
	}
	return id, nil
}
