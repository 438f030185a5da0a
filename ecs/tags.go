package ecs

import (
	"context"
	"slices"
	"strings"

	ecsapi "github.com/berth-dev/berth/api/ecs"
	"github.com/berth-dev/berth/store"
)

const maxTags = 50

// checkTagKeys refuses keys in the aws: namespace, which AWS reserves for
// its own tags.
func checkTagKeys(tags []ecsapi.Tag) error {
	for _, t := range tags {
		if strings.HasPrefix(strings.ToLower(deref(t.Key)), "aws:") {
			return ecsapi.NewInvalidParameterException("Tag keys that begin with 'aws:' are reserved for AWS use: %s", deref(t.Key))
		}
	}
	return nil
}

// mergeTags sets each of upd in base, by key.
func mergeTags(base, upd []ecsapi.Tag) []ecsapi.Tag {
	out := slices.Clone(base)
	for _, u := range upd {
		i := slices.IndexFunc(out, func(b ecsapi.Tag) bool { return deref(b.Key) == deref(u.Key) })
		if i >= 0 {
			out[i] = u
		} else {
			out = append(out, u)
		}
	}
	return out
}

func removeTags(base []ecsapi.Tag, keys []string) []ecsapi.Tag {
	return slices.DeleteFunc(slices.Clone(base), func(t ecsapi.Tag) bool { return slices.Contains(keys, deref(t.Key)) })
}

// taggable is a resource found by its ARN: its tags, and a way to write it
// back.
type taggable struct {
	tags *[]ecsapi.Tag
	save func() error
}

// findTaggable resolves an ECS ARN of the caller's scope to a resource.
// Other kinds are answered InvalidParameterException.
func (s *Service) findTaggable(tx store.Tx, sc scope, arn string) (*taggable, error) {
	p, ok := parseARN(arn)
	if !ok || !p.inScope(sc) {
		return nil, ecsapi.NewInvalidParameterException("The ARN %s is not a valid ECS resource ARN of this account and region.", arn)
	}
	now := s.clock()
	switch p.kind {
	case "cluster":
		c, err := getDoc[clusterRecord](tx, kindCluster, sc, p.rest)
		if err != nil {
			return nil, err
		}
		if c == nil || c.Status != statusActive {
			return nil, errClusterNotFound()
		}
		return &taggable{&c.Tags, func() error { return putDoc(tx, kindCluster, sc, c.Name, c, now) }}, nil
	case "task-definition":
		r, err := lookupTaskDef(tx, sc, arn)
		if err != nil {
			return nil, err
		}
		if r == nil || !strings.Contains(p.rest, ":") {
			return nil, ecsapi.NewResourceNotFoundException("The specified task definition does not exist.")
		}
		return &taggable{&r.Tags, func() error { return putDoc(tx, kindTaskDef, sc, taskDefKey(r.family(), r.Revision), r, now) }}, nil
	case "task":
		cluster, id, ok := idRef(sc, "task", "", arn)
		if !ok || cluster == "" {
			return nil, ecsapi.NewInvalidParameterException("The ARN %s is not a valid task ARN.", arn)
		}
		t, err := getTask(tx, sc, cluster, id)
		if err != nil {
			return nil, err
		}
		if t == nil {
			return nil, ecsapi.NewResourceNotFoundException("The specified task does not exist.")
		}
		return &taggable{&t.Tags, func() error { return putTask(tx, sc, t, now) }}, nil
	case "service":
		return s.serviceTaggable(tx, sc, p, now)
	case "task-set":
		return taskSetTaggable(tx, sc, p, now)
	case "capacity-provider":
		return capacityProviderTaggable(tx, sc, p, now)
	case "daemon", "daemon-task-definition":
		return daemonTaggable(tx, sc, p, arn, now)
	case "container-instance":
		cluster, id, ok := idRef(sc, "container-instance", "", arn)
		if !ok || cluster == "" {
			return nil, ecsapi.NewInvalidParameterException("The ARN %s is not a valid container instance ARN.", arn)
		}
		in, err := getDoc[instanceRecord](tx, kindInstance, sc, instanceKey(cluster, id))
		if err != nil {
			return nil, err
		}
		if in == nil || in.Status == statusInactive {
			return nil, ecsapi.NewResourceNotFoundException("The specified container instance does not exist.")
		}
		return &taggable{&in.Tags, func() error { return putDoc(tx, kindInstance, sc, instanceKey(in.Cluster, in.ID), in, now) }}, nil
	}
	return nil, ecsapi.NewInvalidParameterException("Tagging resources of type %s is not supported by Berth yet.", p.kind)
}

// TagResource adds or replaces tags of a cluster, task definition, task or
// container instance.
func (s *Service) TagResource(ctx context.Context, in *ecsapi.TagResourceInput) (*ecsapi.TagResourceOutput, error) {
	sc := scopeOf(ctx)
	if err := checkTagKeys(in.Tags); err != nil {
		return nil, err
	}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		r, err := s.findTaggable(tx, sc, deref(in.ResourceArn))
		if err != nil {
			return err
		}
		tags := mergeTags(*r.tags, in.Tags)
		if len(tags) > maxTags {
			return ecsapi.NewInvalidParameterException("A resource can have at most %d tags; this request would give it %d.", maxTags, len(tags))
		}
		*r.tags = tags
		return r.save()
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.TagResourceOutput{}, nil
}

// UntagResource removes tags by key.
func (s *Service) UntagResource(ctx context.Context, in *ecsapi.UntagResourceInput) (*ecsapi.UntagResourceOutput, error) {
	sc := scopeOf(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		r, err := s.findTaggable(tx, sc, deref(in.ResourceArn))
		if err != nil {
			return err
		}
		*r.tags = removeTags(*r.tags, in.TagKeys)
		return r.save()
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.UntagResourceOutput{}, nil
}

// ListTagsForResource lists a resource's tags.
func (s *Service) ListTagsForResource(ctx context.Context, in *ecsapi.ListTagsForResourceInput) (*ecsapi.ListTagsForResourceOutput, error) {
	sc := scopeOf(ctx)
	var tags []ecsapi.Tag
	err := s.st.View(ctx, func(tx store.Tx) error {
		r, err := s.findTaggable(tx, sc, deref(in.ResourceArn))
		if err != nil {
			return err
		}
		tags = nonNil(*r.tags)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecsapi.ListTagsForResourceOutput{Tags: tags}, nil
}
