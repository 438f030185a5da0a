package servicediscovery

import (
	"context"
	"slices"
	"strings"

	sdapi "github.com/berth-dev/berth/api/servicediscovery"
	"github.com/berth-dev/berth/store"
)

const maxTags = 200

// mergeTags applies add to tags, a key's new value replacing its old one.
func mergeTags(tags []tag, add []sdapi.Tag) ([]tag, error) {
	out := slices.Clone(tags)
	for _, t := range add {
		k, v := deref(t.Key), deref(t.Value)
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, sdapi.NewInvalidInput("Tag keys starting with aws: are reserved.")
		}
		if i := slices.IndexFunc(out, func(x tag) bool { return x.Key == k }); i >= 0 {
			out[i].Value = v
		} else {
			out = append(out, tag{Key: k, Value: v})
		}
	}
	if len(out) > maxTags {
		return nil, sdapi.NewTooManyTagsException("A resource can have at most %d tags.", maxTags)
	}
	return out, nil
}

func apiTags(tags []tag) []sdapi.Tag {
	out := make([]sdapi.Tag, 0, len(tags))
	for _, t := range tags {
		out = append(out, sdapi.Tag{Key: ptr(t.Key), Value: ptr(t.Value)})
	}
	return out
}

// tagged reads or updates the tags of the namespace or service an ARN
// names.
func (s *Service) tagged(ctx context.Context, arn string, write bool, fn func(tags *[]tag) error) error {
	c := callerOf(ctx)
	bad := sdapi.NewResourceNotFoundException("The resource %s was not found.", arn)
	var kind, id string
	switch {
	case strings.HasPrefix(arn, c.arn("namespace/")):
		kind, id = KindNamespace, strings.TrimPrefix(arn, c.arn("namespace/"))
	case strings.HasPrefix(arn, c.arn("service/")):
		kind, id = KindService, strings.TrimPrefix(arn, c.arn("service/"))
	default:
		if !strings.HasPrefix(arn, "arn:") {
			return sdapi.NewInvalidInput("ResourceARN %s is not an ARN.", arn)
		}
		return bad
	}
	do := func(tx store.Tx) error {
		switch kind {
		case KindNamespace:
			ns, err := store.GetDoc[namespaceDoc](tx, kind, c.Account, c.Region, id)
			if err != nil || ns == nil {
				if err == nil {
					err = bad
				}
				return err
			}
			if err := fn(&ns.Tags); err != nil || !write {
				return err
			}
			return store.PutDoc(tx, kind, c.Account, c.Region, id, ns, s.clock())
		default:
			sv, err := store.GetDoc[serviceDoc](tx, kind, c.Account, c.Region, id)
			if err != nil || sv == nil {
				if err == nil {
					err = bad
				}
				return err
			}
			if err := fn(&sv.Tags); err != nil || !write {
				return err
			}
			return store.PutDoc(tx, kind, c.Account, c.Region, id, sv, s.clock())
		}
	}
	if write {
		return s.st.Update(ctx, do)
	}
	return s.st.View(ctx, do)
}

func (s *Service) TagResource(ctx context.Context, in *sdapi.TagResourceInput) (*sdapi.TagResourceOutput, error) {
	err := s.tagged(ctx, deref(in.ResourceARN), true, func(tags *[]tag) error {
		out, err := mergeTags(*tags, in.Tags)
		*tags = out
		return err
	})
	if err != nil {
		return nil, err
	}
	return &sdapi.TagResourceOutput{}, nil
}

func (s *Service) UntagResource(ctx context.Context, in *sdapi.UntagResourceInput) (*sdapi.UntagResourceOutput, error) {
	err := s.tagged(ctx, deref(in.ResourceARN), true, func(tags *[]tag) error {
		*tags = slices.DeleteFunc(*tags, func(t tag) bool { return slices.Contains(in.TagKeys, t.Key) })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &sdapi.UntagResourceOutput{}, nil
}

func (s *Service) ListTagsForResource(ctx context.Context, in *sdapi.ListTagsForResourceInput) (*sdapi.ListTagsForResourceOutput, error) {
	out := &sdapi.ListTagsForResourceOutput{}
	err := s.tagged(ctx, deref(in.ResourceARN), false, func(tags *[]tag) error {
		out.Tags = apiTags(*tags)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
