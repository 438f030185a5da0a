package appautoscaling

import (
	"context"
	"slices"
	"sort"

	aasapi "github.com/berth-dev/berth/api/applicationautoscaling"
	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/store"
)

// maxTags is AWS's limit of tags on a scalable target.
const maxTags = 50

// ecsServiceExists asks ECS whether resource names an ACTIVE service.
func (s *Service) ecsService(ctx context.Context, c caller, resourceID string) (*ecsapi.ServiceShape, error) {
	cluster, name, _ := ecsResource(resourceID)
	out, err := s.ecs.DescribeServices(c.ctx(ctx), &ecsapi.DescribeServicesInput{Cluster: ptr(cluster), Services: []string{name}})
	if err != nil {
		// A missing cluster is, for scaling, a missing service.
		return nil, nil
	}
	for i := range out.Services {
		if deref(out.Services[i].Status) == "ACTIVE" {
			return &out.Services[i], nil
		}
	}
	return nil, nil
}

func (s *Service) RegisterScalableTarget(ctx context.Context, in *aasapi.RegisterScalableTargetInput) (*aasapi.RegisterScalableTargetOutput, error) {
	c := callerOf(ctx)
	ns, resource := deref(in.ServiceNamespace), deref(in.ResourceId)
	if err := checkECSTarget(ns, in.ScalableDimension, resource); err != nil {
		return nil, err
	}
	if in.MinCapacity != nil && *in.MinCapacity < 0 || in.MaxCapacity != nil && *in.MaxCapacity < 0 {
		return nil, aasapi.NewValidationException("Minimum and maximum capacity must be zero or more.")
	}
	if len(in.Tags) > maxTags {
		return nil, aasapi.NewTooManyTagsException("A scalable target can have at most %d tags.", maxTags)
	}
	// AWS answers a missing ECS service with a ValidationException
	// (clients such as Spinnaker retry on it while ECS catches up).
	if scaledByBerth(string(ns)) {
		svc, err := s.ecsService(ctx, c, resource)
		if err != nil {
			return nil, s.internal(err)
		}
		if svc == nil {
			return nil, aasapi.NewValidationException("ECS service doesn't exist: %s", resource)
		}
	}
	key := targetKey(string(ns), string(*in.ScalableDimension), resource)
	now := s.clock()
	var arn string
	err := s.st.Update(ctx, func(tx store.Tx) error {
		t, err := loadTarget(tx, c, key)
		if err != nil {
			return err
		}
		if t == nil {
			if in.MinCapacity == nil || in.MaxCapacity == nil {
				return aasapi.NewValidationException("MinCapacity and MaxCapacity are required to register a new scalable target.")
			}
			t = &targetRecord{Namespace: string(ns), Dimension: string(*in.ScalableDimension), ResourceID: resource,
				ARN:     "arn:aws:application-autoscaling:" + c.Region + ":" + c.Account + ":scalable-target/" + randomHex(36),
				RoleARN: serviceLinkedRole(c.Account, ns),
				Created: now, Tags: map[string]string{}}
		} else if len(in.Tags) > 0 {
			// Tags apply only when a target is created, as on AWS.
			in.Tags = nil
		}
		if in.MinCapacity != nil {
			t.Min = *in.MinCapacity
		}
		if in.MaxCapacity != nil {
			t.Max = *in.MaxCapacity
		}
		if t.Min > t.Max {
			return aasapi.NewValidationException("Minimum capacity cannot be greater than maximum capacity")
		}
		if in.RoleARN != nil {
			t.RoleARN = *in.RoleARN
		}
		if ss := in.SuspendedState; ss != nil {
			if ss.DynamicScalingInSuspended != nil {
				t.Suspended.In = *ss.DynamicScalingInSuspended
			}
			if ss.DynamicScalingOutSuspended != nil {
				t.Suspended.Out = *ss.DynamicScalingOutSuspended
			}
			if ss.ScheduledScalingSuspended != nil {
				t.Suspended.Scheduled = *ss.ScheduledScalingSuspended
			}
		}
		for k, v := range in.Tags {
			t.Tags[k] = v
		}
		arn = t.ARN
		return putTarget(tx, c, t, now)
	})
	if err != nil {
		return nil, s.internal(err)
	}
	// The new range applies to the service's desired count right away
	// (AWS: "it changes the resource's current capacity to a value that
	// is inside of this range"), not at the controller's next pass.
	if !scaledByBerth(string(ns)) {
		return &aasapi.RegisterScalableTargetOutput{ScalableTargetARN: ptr(arn)}, nil
	}
	if err := s.reconcileTarget(ctx, c, key); err != nil {
		s.log.Warn("application autoscaling: applying the new range", "target", key, "err", err)
	}
	return &aasapi.RegisterScalableTargetOutput{ScalableTargetARN: ptr(arn)}, nil
}

func (s *Service) DescribeScalableTargets(ctx context.Context, in *aasapi.DescribeScalableTargetsInput) (*aasapi.DescribeScalableTargetsOutput, error) {
	c := callerOf(ctx)
	if err := checkECSTarget(deref(in.ServiceNamespace), in.ScalableDimension, ""); err != nil {
		return nil, err
	}
	var recs []targetRecord
	var next *string
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		recs, next, err = listPage(tx, KindTarget, c, string(*in.ServiceNamespace)+"|", in.NextToken, maxResults(in.MaxResults), func(t *targetRecord) bool {
			return (in.ScalableDimension == nil || t.Dimension == string(*in.ScalableDimension)) &&
				(len(in.ResourceIds) == 0 || slices.Contains(in.ResourceIds, t.ResourceID))
		})
		return err
	})
	if err != nil {
		return nil, s.internal(err)
	}
	res := make([]aasapi.ScalableTarget, 0, len(recs))
	for _, t := range recs {
		res = append(res, t.wire())
	}
	return &aasapi.DescribeScalableTargetsOutput{ScalableTargets: res, NextToken: next}, nil
}

func (s *Service) DeregisterScalableTarget(ctx context.Context, in *aasapi.DeregisterScalableTargetInput) (*aasapi.DeregisterScalableTargetOutput, error) {
	c := callerOf(ctx)
	ns, resource := deref(in.ServiceNamespace), deref(in.ResourceId)
	if err := checkECSTarget(ns, in.ScalableDimension, resource); err != nil {
		return nil, err
	}
	key := targetKey(string(ns), string(*in.ScalableDimension), resource)
	var alarmsOf []string
	err := s.st.Update(ctx, func(tx store.Tx) error {
		t, err := loadTarget(tx, c, key)
		if err != nil {
			return err
		}
		if t == nil {
			return notRegistered(string(ns), resource, string(*in.ScalableDimension))
		}
		if alarmsOf, err = policyAlarmNames(tx, c, key, ""); err != nil {
			return err
		}
		return deleteTarget(tx, c, key)
	})
	if err != nil {
		return nil, s.internal(err)
	}
	s.dropAlarms(ctx, c, alarmsOf)
	return &aasapi.DeregisterScalableTargetOutput{}, nil
}

// targetByARN finds the caller's target with that ARN.
func targetByARN(tx store.ResourceTx, c caller, arn string) (*targetRecord, error) {
	var found *targetRecord
	err := store.ListDocs(tx, KindTarget, c.Account, c.Region, "", "", func(_ string, t *targetRecord) (bool, error) {
		if t.ARN == arn {
			found = t
			return false, nil
		}
		return true, nil
	})
	return found, err
}

func noResource(arn string) error {
	e := aasapi.NewResourceNotFoundException("No scalable target found for ARN %s", arn)
	return e
}

func (s *Service) ListTagsForResource(ctx context.Context, in *aasapi.ListTagsForResourceInput) (*aasapi.ListTagsForResourceOutput, error) {
	c := callerOf(ctx)
	arn := deref(in.ResourceARN)
	var tags map[string]string
	err := s.st.View(ctx, func(tx store.Tx) error {
		t, err := targetByARN(tx, c, arn)
		if err != nil {
			return err
		}
		if t == nil {
			return noResource(arn)
		}
		tags = t.Tags
		return nil
	})
	if err != nil {
		return nil, s.internal(err)
	}
	if tags == nil {
		tags = map[string]string{}
	}
	return &aasapi.ListTagsForResourceOutput{Tags: tags}, nil
}

func (s *Service) TagResource(ctx context.Context, in *aasapi.TagResourceInput) (*aasapi.TagResourceOutput, error) {
	return &aasapi.TagResourceOutput{}, s.editTags(ctx, deref(in.ResourceARN), func(tags map[string]string) {
		for k, v := range in.Tags {
			tags[k] = v
		}
	})
}

func (s *Service) UntagResource(ctx context.Context, in *aasapi.UntagResourceInput) (*aasapi.UntagResourceOutput, error) {
	return &aasapi.UntagResourceOutput{}, s.editTags(ctx, deref(in.ResourceARN), func(tags map[string]string) {
		for _, k := range in.TagKeys {
			delete(tags, k)
		}
	})
}

func (s *Service) editTags(ctx context.Context, arn string, edit func(map[string]string)) error {
	c := callerOf(ctx)
	now := s.clock()
	err := s.st.Update(ctx, func(tx store.Tx) error {
		t, err := targetByARN(tx, c, arn)
		if err != nil {
			return err
		}
		if t == nil {
			return noResource(arn)
		}
		if t.Tags == nil {
			t.Tags = map[string]string{}
		}
		edit(t.Tags)
		if len(t.Tags) > maxTags {
			return aasapi.NewTooManyTagsException("A scalable target can have at most %d tags.", maxTags)
		}
		return putTarget(tx, c, t, now)
	})
	if err != nil {
		return s.internal(err)
	}
	return nil
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// sortedKeys sorts items by their keys, together.
func sortedKeys[T any](items []T, keys []string) {
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return keys[idx[a]] < keys[idx[b]] })
	ni, nk := make([]T, len(items)), make([]string, len(keys))
	for i, j := range idx {
		ni[i], nk[i] = items[j], keys[j]
	}
	copy(items, ni)
	copy(keys, nk)
}
