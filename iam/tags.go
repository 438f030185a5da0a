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
	return mergeTagsFold(have, add, true)
}

// mergePolicyTags is mergeTags for managed policies, whose tag keys AWS
// keeps case sensitive ("a" and "A" are two tags).
func mergePolicyTags(have []tag, add []iamapi.Tag) ([]tag, error) {
	return mergeTagsFold(have, add, false)
}

func mergeTagsFold(have []tag, add []iamapi.Tag, fold bool) ([]tag, error) {
	same := func(a, b string) bool { return a == b }
	dup := "Duplicate tag keys found."
	if fold {
		same = strings.EqualFold
		dup = "Duplicate tag keys found. Please note that Tag keys are case insensitive."
	}
	seen := map[string]bool{}
	out := slices.Clone(have)
	for _, t := range add {
		k := deref(t.Key)
		if fold {
			k = strings.ToLower(k)
		}
		if seen[k] {
			return nil, iamapi.NewInvalidInputException("%s", dup)
		}
		seen[k] = true
		nt := tag{Key: deref(t.Key), Value: deref(t.Value)}
		if i := slices.IndexFunc(out, func(o tag) bool { return same(o.Key, nt.Key) }); i >= 0 {
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

// addTags merges add into *ts, as the Tag operations of every kind do.
func addTags(ts *[]tag, add []iamapi.Tag) error {
	tags, err := mergeTags(*ts, add)
	*ts = tags
	return err
}

// TagRole adds tags to a role, replacing the values of keys it has.
func (s *Service) TagRole(ctx context.Context, in *iamapi.TagRoleInput) (*iamapi.TagRoleOutput, error) {
	_, err := s.updateRole(ctx, *in.RoleName, func(r *roleRecord, _ store.Tx) error {
		return addTags(&r.Tags, in.Tags)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.TagRoleOutput{}, nil
}

// UntagRole removes tags from a role; keys it does not have are ignored.
func (s *Service) UntagRole(ctx context.Context, in *iamapi.UntagRoleInput) (*iamapi.UntagRoleOutput, error) {
	_, err := s.updateRole(ctx, *in.RoleName, func(r *roleRecord, _ store.Tx) error {
		r.Tags = removeTags(r.Tags, in.TagKeys)
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
	items, truncated, marker := pageTags(r.Tags, in.Marker, in.MaxItems)
	return &iamapi.ListRoleTagsOutput{Tags: items, IsTruncated: truncated, Marker: marker}, nil
}
