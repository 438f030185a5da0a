package ssm

import (
	"context"
	"slices"

	ssmapi "github.com/berth-dev/berth/api/ssm"
	"github.com/berth-dev/berth/store"
)

// maxTags is how many tags a parameter can have.
const maxTags = 50

// mergeTags sets each tag of add on ts, replacing the value of a key that
// is already there.
func mergeTags(ts []tag, add []ssmapi.Tag) []tag {
	for _, a := range add {
		k, v := deref(a.Key), deref(a.Value)
		if i := slices.IndexFunc(ts, func(t tag) bool { return t.Key == k }); i >= 0 {
			ts[i].Value = v
		} else {
			ts = append(ts, tag{Key: k, Value: v})
		}
	}
	return ts
}

// taggedParameter checks that a tagging call names a parameter and reads
// it. Berth keeps no other taggable SSM resource: other types name nothing.
func taggedParameter(tx store.Tx, c caller, typ *ssmapi.ResourceTypeForTagging, id string) (*paramDoc, error) {
	if deref(typ) != ssmapi.ResourceTypeForTaggingParameter {
		return nil, ssmapi.NewInvalidResourceId("")
	}
	r, ok := parseRef(c, id)
	if !ok || r.Selector != "" {
		return nil, ssmapi.NewInvalidResourceId("")
	}
	d, err := getParam(tx, c, key(r.Name))
	if isNotFound(err) {
		return nil, ssmapi.NewInvalidResourceId("")
	}
	return d, err
}

func (s *Service) AddTagsToResource(ctx context.Context, in *ssmapi.AddTagsToResourceInput) (*ssmapi.AddTagsToResourceOutput, error) {
	c := callerOf(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		d, err := taggedParameter(tx, c, in.ResourceType, deref(in.ResourceId))
		if err != nil {
			return err
		}
		d.Tags = mergeTags(d.Tags, in.Tags)
		if len(d.Tags) > maxTags {
			return ssmapi.NewTooManyTagsError("The Tags list can have at most %d tags.", maxTags)
		}
		return putParam(tx, c, d)
	})
	if err != nil {
		return nil, err
	}
	return &ssmapi.AddTagsToResourceOutput{}, nil
}

func (s *Service) RemoveTagsFromResource(ctx context.Context, in *ssmapi.RemoveTagsFromResourceInput) (*ssmapi.RemoveTagsFromResourceOutput, error) {
	c := callerOf(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		d, err := taggedParameter(tx, c, in.ResourceType, deref(in.ResourceId))
		if err != nil {
			return err
		}
		d.Tags = slices.DeleteFunc(d.Tags, func(t tag) bool { return slices.Contains(in.TagKeys, t.Key) })
		return putParam(tx, c, d)
	})
	if err != nil {
		return nil, err
	}
	return &ssmapi.RemoveTagsFromResourceOutput{}, nil
}

func (s *Service) ListTagsForResource(ctx context.Context, in *ssmapi.ListTagsForResourceInput) (*ssmapi.ListTagsForResourceOutput, error) {
	c := callerOf(ctx)
	var out *ssmapi.ListTagsForResourceOutput
	err := s.st.View(ctx, func(tx store.Tx) error {
		d, err := taggedParameter(tx, c, in.ResourceType, deref(in.ResourceId))
		if err != nil {
			return err
		}
		out = &ssmapi.ListTagsForResourceOutput{TagList: []ssmapi.Tag{}}
		for _, t := range d.Tags {
			out.TagList = append(out.TagList, ssmapi.Tag{Key: ptr(t.Key), Value: ptr(t.Value)})
		}
		return nil
	})
	return out, err
}
