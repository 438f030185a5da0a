package iam

import (
	"context"
	"slices"
	"strings"

	iamapi "github.com/berth-dev/berth/api/iam"
	"github.com/berth-dev/berth/store"
)

// tag is a stored tag. IAM tag keys are unique without regard to case.
type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func wireTags(ts []tag) []iamapi.Tag {
	out := make([]iamapi.Tag, len(ts))
	for i, t := range ts {
		out[i] = iamapi.Tag{Key: str(t.Key), Value: str(t.Value)}
	}
	return out
}

// mergeTags adds (or replaces) tags in have, refusing duplicate keys in
// one request and more than IAM's 50 tags in all.
func mergeTags(have []tag, add []iamapi.Tag) ([]tag, error) {
	seen := map[string]bool{}
	out := slices.Clone(have)
	for _, t := range add {
		k := strings.ToLower(deref(t.Key))
		if seen[k] {
			return nil, iamapi.NewInvalidInputException("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[k] = true
		nt := tag{Key: deref(t.Key), Value: deref(t.Value)}
		if i := slices.IndexFunc(out, func(o tag) bool { return strings.EqualFold(o.Key, nt.Key) }); i >= 0 {
			out[i] = nt
		} else {
			out = append(out, nt)
		}
	}
	if len(out) > maxTagsPerEntity {
		return nil, iamapi.NewLimitExceededException("The number of tags has reached the maximum limit.")
	}
	return out, nil
}

// TagRole adds tags to a role, replacing the values of keys it has.
func (s *Service) TagRole(ctx context.Context, in *iamapi.TagRoleInput) (*iamapi.TagRoleOutput, error) {
	_, err := s.updateRole(ctx, *in.RoleName, func(r *roleRecord, _ store.Tx) error {
		tags, err := mergeTags(r.Tags, in.Tags)
		r.Tags = tags
		return err
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.TagRoleOutput{}, nil
}

// UntagRole removes tags from a role; keys it does not have are ignored.
func (s *Service) UntagRole(ctx context.Context, in *iamapi.UntagRoleInput) (*iamapi.UntagRoleOutput, error) {
	_, err := s.updateRole(ctx, *in.RoleName, func(r *roleRecord, _ store.Tx) error {
		r.Tags = slices.DeleteFunc(r.Tags, func(t tag) bool {
			return slices.ContainsFunc(in.TagKeys, func(k string) bool { return strings.EqualFold(k, t.Key) })
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UntagRoleOutput{}, nil
}

// ListRoleTags lists a role's tags by key.
func (s *Service) ListRoleTags(ctx context.Context, in *iamapi.ListRoleTagsInput) (*iamapi.ListRoleTagsOutput, error) {
	r, err := s.viewRole(ctx, *in.RoleName)
	if err != nil {
		return nil, err
	}
	tags := slices.Clone(r.Tags)
	slices.SortFunc(tags, func(a, b tag) int { return strings.Compare(a.Key, b.Key) })
	items, truncated, marker := page(tags, func(t tag) string { return t.Key }, in.Marker, in.MaxItems)
	return &iamapi.ListRoleTagsOutput{Tags: wireTags(items), IsTruncated: truncated, Marker: marker}, nil
}
