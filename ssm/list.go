package ssm

import (
	"context"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"

	ssmapi "github.com/berth-dev/berth/api/ssm"
	"github.com/berth-dev/berth/store"
)

func invalidToken() error { return ssmapi.NewInvalidNextToken("The specified token isn't valid.") }

// Offset tokens page lists computed whole (a parameter's history).
func encodeOffset(n int) *string {
	return ptr(base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(n))))
}

func decodeOffset(tok *string) (int, error) {
	if tok == nil {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*tok)
	if err == nil {
		if s, ok := strings.CutPrefix(string(raw), "o:"); ok {
			if n, err := strconv.Atoi(s); err == nil && n >= 0 {
				return n, nil
			}
		}
	}
	return 0, invalidToken()
}

func page[T any](all []T, start, limit int) ([]T, *string) {
	start = min(start, len(all))
	end := min(start+limit, len(all))
	var next *string
	if end < len(all) {
		next = encodeOffset(end)
	}
	return all[start:end], next
}

// Key tokens page listings read from the store in key order: the key of
// the last parameter returned.
func encodeKey(k string) *string {
	return ptr(base64.RawURLEncoding.EncodeToString([]byte("k:" + k)))
}

func decodeKey(tok *string) (string, error) {
	if tok == nil {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*tok)
	if err == nil {
		if k, ok := strings.CutPrefix(string(raw), "k:"); ok {
			return k, nil
		}
	}
	return "", invalidToken()
}

// scan walks the caller's parameters whose key starts with prefix, after
// the key in token, and returns up to limit of those keep accepts (with
// what keep made of them) and the token of the next page.
func scan[T any](tx store.Tx, c caller, prefix string, token *string, limit int, keep func(*paramDoc) (T, bool, error)) ([]T, *string, error) {
	after, err := decodeKey(token)
	if err != nil {
		return nil, nil, err
	}
	var out []T
	var keys []string
	var next *string
	err = store.ListDocs(tx, KindParameter, c.Account, c.Region, prefix, after, func(id string, d *paramDoc) (bool, error) {
		v, ok, err := keep(d)
		if err != nil || !ok {
			return err == nil, err
		}
		if len(out) == limit {
			next = encodeKey(keys[len(keys)-1])
			return false, nil
		}
		out, keys = append(out, v), append(keys, id)
		return true, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, next, nil
}

// filter is a ParameterStringFilter checked and ready to match.
type filter struct {
	Key    string
	Option string
	Values []string
}

var validTypes = []string{"String", "StringList", "SecureString"}
var validTiers = []string{"Standard", "Advanced", "Intelligent-Tiering"}

// checkFilters validates ParameterFilters as AWS does; byPath is for
// GetParametersByPath, which takes fewer keys.
func checkFilters(in []ssmapi.ParameterStringFilter, byPath bool) ([]filter, error) {
	var out []filter
	seen := map[string]bool{}
	for _, f := range in {
		k := deref(f.Key)
		opt := deref(f.Option)
		if opt == "" {
			opt = "Equals"
			if k == "Path" {
				opt = "OneLevel"
			}
		}
		switch {
		case byPath && (k == "Name" || k == "Path" || k == "Tier"):
			return nil, ssmapi.NewInvalidFilterKey("The following filter key is not valid: %s. Valid filter keys include: [Type, KeyId].", k)
		case !byPath && k == "Label":
			return nil, ssmapi.NewInvalidFilterKey("The following filter key is not valid: Label. Valid filter keys include: [Path, Name, Type, KeyId, Tier].")
		}
		if seen[k] {
			return nil, ssmapi.NewInvalidFilterKey("The following filter is duplicated in the request: %s. A request can contain only one occurrence of a specific filter.", k)
		}
		seen[k] = true
		if !strings.HasPrefix(k, "tag:") && len(f.Values) == 0 {
			return nil, ssmapi.NewInvalidFilterValue("The following filter values are missing : null for filter key %s.", k)
		}
		switch k {
		case "Path":
			if opt != "OneLevel" && opt != "Recursive" {
				return nil, ssmapi.NewInvalidFilterOption("The following filter option is not valid: %s. Valid options include: [Recursive, OneLevel].", opt)
			}
			for i, v := range f.Values {
				if l := strings.ToLower(strings.TrimSpace(v)); strings.HasPrefix(l, "/aws") || strings.HasPrefix(l, "/ssm") {
					return nil, ssmapi.NewValidationException("Filters for common parameters can't be prefixed with \"aws\" or \"ssm\" (case-insensitive).")
				}
				p, err := checkPath(v)
				if err != nil {
					return nil, err
				}
				f.Values[i] = p
			}
		case "Name":
			if opt != "Equals" && opt != "BeginsWith" && opt != "Contains" {
				return nil, ssmapi.NewInvalidFilterOption("The following filter option is not valid: %s. Valid options include: [BeginsWith, Equals, Contains].", opt)
			}
		case "Label":
			if opt != "Equals" {
				return nil, ssmapi.NewInvalidFilterOption("The following filter option is not valid: %s. Valid options include: [Equals].", opt)
			}
		default:
			if opt != "Equals" && opt != "BeginsWith" {
				return nil, ssmapi.NewInvalidFilterOption("The following filter option is not valid: %s. Valid options include: [BeginsWith, Equals].", opt)
			}
		}
		for _, v := range f.Values {
			if k == "Type" && !slices.Contains(validTypes, v) {
				return nil, ssmapi.NewInvalidFilterValue("The following filter value is not valid: %s. Valid values include: [String, StringList, SecureString].", v)
			}
			if k == "Tier" && !slices.Contains(validTiers, v) {
				return nil, ssmapi.NewInvalidFilterValue("The following filter value is not valid: %s. Valid values include: [Standard, Advanced, Intelligent-Tiering].", v)
			}
		}
		out = append(out, filter{Key: k, Option: opt, Values: f.Values})
	}
	return out, nil
}

// matchString is Equals or BeginsWith of any value.
func matchString(s, opt string, values []string) bool {
	return slices.ContainsFunc(values, func(v string) bool {
		if opt == "BeginsWith" {
			return strings.HasPrefix(s, v)
		}
		return s == v
	})
}

// match reports whether d passes every filter but Label (which selects
// versions, see labelled).
func match(d *paramDoc, fs []filter) bool {
	for _, f := range fs {
		ok := true
		switch {
		case f.Key == "Name":
			ok = slices.ContainsFunc(f.Values, func(v string) bool {
				switch f.Option {
				case "BeginsWith":
					return strings.HasPrefix(fullPath(key(d.Name)), "/"+strings.TrimPrefix(v, "/"))
				case "Contains":
					// x and /x name the same parameter, so a value with a
					// leading slash also finds names stored without one.
					return strings.Contains(d.Name, v) || strings.Contains(fullPath(key(d.Name)), v)
				}
				return key(v) == key(d.Name)
			})
		case f.Key == "Path":
			ok = slices.ContainsFunc(f.Values, func(p string) bool { return underPath(key(d.Name), p, f.Option == "Recursive") })
		case f.Key == "Type":
			ok = matchString(d.Type, f.Option, f.Values)
		case f.Key == "KeyId":
			ok = d.KeyID != "" && matchString(d.KeyID, f.Option, f.Values)
		case f.Key == "Tier":
			ok = matchString(d.Tier, f.Option, f.Values)
		case f.Key == "DataType":
			ok = matchString(d.DataType, f.Option, f.Values)
		case strings.HasPrefix(f.Key, "tag:"):
			tk := strings.TrimPrefix(f.Key, "tag:")
			i := slices.IndexFunc(d.Tags, func(t tag) bool { return t.Key == tk })
			ok = i >= 0 && (len(f.Values) == 0 || matchString(d.Tags[i].Value, f.Option, f.Values))
		}
		if !ok {
			return false
		}
	}
	return true
}

// labelled returns the version of the parameter carrying one of the
// labels of a Label filter, or the current version when there is no such
// filter.
func labelled(tx store.Tx, c caller, d *paramDoc, fs []filter) (*version, error) {
	i := slices.IndexFunc(fs, func(f filter) bool { return f.Key == "Label" })
	if i < 0 {
		return &d.version, nil
	}
	vs, err := versions(tx, c, key(d.Name))
	if err != nil {
		return nil, err
	}
	for j := len(vs) - 1; j >= 0; j-- {
		if slices.ContainsFunc(vs[j].Labels, func(l string) bool { return slices.Contains(fs[i].Values, l) }) {
			return vs[j], nil
		}
	}
	return nil, nil
}

func (s *Service) GetParametersByPath(ctx context.Context, in *ssmapi.GetParametersByPathInput) (*ssmapi.GetParametersByPathOutput, error) {
	c := callerOf(ctx)
	path, err := checkPath(deref(in.Path))
	if err != nil {
		return nil, err
	}
	fs, err := checkFilters(in.ParameterFilters, true)
	if err != nil {
		return nil, err
	}
	limit := int(deref(in.MaxResults))
	if limit == 0 {
		limit = 10
	}
	recursive := deref(in.Recursive)
	prefix := ""
	if path != "/" {
		prefix = path + "/"
	}
	var out *ssmapi.GetParametersByPathOutput
	err = s.st.View(ctx, func(tx store.Tx) error {
		ps, next, err := scan(tx, c, prefix, in.NextToken, limit, func(d *paramDoc) (ssmapi.Parameter, bool, error) {
			if !underPath(key(d.Name), path, recursive) || !match(d, fs) {
				return ssmapi.Parameter{}, false, nil
			}
			v, err := labelled(tx, c, d, fs)
			if err != nil || v == nil {
				return ssmapi.Parameter{}, false, err
			}
			return apiParameter(c, v, ref{}, deref(in.WithDecryption)), true, nil
		})
		if err != nil {
			return err
		}
		if ps == nil {
			ps = []ssmapi.Parameter{}
		}
		out = &ssmapi.GetParametersByPathOutput{Parameters: ps, NextToken: next}
		return nil
	})
	return out, err
}

func (s *Service) DescribeParameters(ctx context.Context, in *ssmapi.DescribeParametersInput) (*ssmapi.DescribeParametersOutput, error) {
	c := callerOf(ctx)
	if len(in.Filters) > 0 && len(in.ParameterFilters) > 0 {
		return nil, validation("You can use either Filters or ParameterFilters in a single request.")
	}
	if deref(in.Shared) {
		// Berth shares no parameters between accounts.
		return &ssmapi.DescribeParametersOutput{Parameters: []ssmapi.ParameterMetadata{}}, nil
	}
	fs, err := checkFilters(in.ParameterFilters, false)
	if err != nil {
		return nil, err
	}
	// The older Filters: Name begins with, Type and KeyId equal.
	for _, f := range in.Filters {
		k := string(deref(f.Key))
		opt := "Equals"
		if k == "Name" {
			opt = "BeginsWith"
		}
		fs = append(fs, filter{Key: k, Option: opt, Values: f.Values})
	}
	limit := int(deref(in.MaxResults))
	if limit == 0 {
		limit = 50
	}
	var out *ssmapi.DescribeParametersOutput
	err = s.st.View(ctx, func(tx store.Tx) error {
		ms, next, err := scan(tx, c, "", in.NextToken, limit, func(d *paramDoc) (ssmapi.ParameterMetadata, bool, error) {
			if !match(d, fs) {
				return ssmapi.ParameterMetadata{}, false, nil
			}
			return apiMetadata(c, d), true, nil
		})
		if err != nil {
			return err
		}
		if ms == nil {
			ms = []ssmapi.ParameterMetadata{}
		}
		out = &ssmapi.DescribeParametersOutput{Parameters: ms, NextToken: next}
		return nil
	})
	return out, err
}
