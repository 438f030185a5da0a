package secrets

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	smapi "github.com/berth-dev/berth/api/secretsmanager"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

func isAPICode(err error, code string) bool {
	e := awsapi.AsError(err)
	return e != nil && e.Code == code
}

// Page tokens are opaque to clients: an offset into the listing.
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
	return 0, smapi.NewInvalidNextTokenException("The NextToken value is invalid.")
}

// page returns all[start:start+limit] and the token of the next page.
func page[T any](all []T, start, limit int) ([]T, *string) {
	if start > len(all) {
		start = len(all)
	}
	end := min(start+limit, len(all))
	var next *string
	if end < len(all) {
		next = encodeOffset(end)
	}
	return all[start:end], next
}

// listSecrets returns the caller's secrets that pass filters, sorted as
// asked (by creation date, oldest first, by default).
func listSecrets(tx store.Tx, c caller, filters []smapi.Filter, includeDeleted bool, sortBy smapi.SortByType, order smapi.SortOrderType, now time.Time) ([]*secretDoc, error) {
	var out []*secretDoc
	err := store.ListDocs(tx, KindSecret, c.Account, c.Region, "", "", func(_ string, d *secretDoc) (bool, error) {
		if !d.expired(now) && (!d.scheduled() || includeDeleted) && matchesAll(d, filters) {
			out = append(out, d)
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	key := func(d *secretDoc) string { return d.Created.Format(time.RFC3339Nano) + "\x00" + d.Name }
	switch sortBy {
	case smapi.SortByTypeName:
		key = func(d *secretDoc) string { return d.Name }
	case smapi.SortByTypeLastChangedDate:
		key = func(d *secretDoc) string { return d.LastChanged.Format(time.RFC3339Nano) + "\x00" + d.Name }
	case smapi.SortByTypeLastAccessedDate:
		key = func(d *secretDoc) string {
			var t time.Time
			if d.LastAccessed != nil {
				t = *d.LastAccessed
			}
			return t.Format(time.RFC3339Nano) + "\x00" + d.Name
		}
	}
	slices.SortStableFunc(out, func(a, b *secretDoc) int {
		r := strings.Compare(key(a), key(b))
		if order == smapi.SortOrderTypeDesc {
			return -r
		}
		return r
	})
	return out, nil
}

func checkFilters(filters []smapi.Filter) error {
	for _, f := range filters {
		if f.Key == nil {
			return smapi.NewInvalidParameterException("Invalid filter key")
		}
		if len(f.Values) == 0 {
			return smapi.NewInvalidParameterException("Invalid filter values for key: %s", *f.Key)
		}
	}
	return nil
}

// matchesAll reports whether d passes every filter.
func matchesAll(d *secretDoc, filters []smapi.Filter) bool {
	for _, f := range filters {
		if !matches(d, f) {
			return false
		}
	}
	return true
}

// matches reports whether d passes one filter: any of its values matches
// (a value starting with ! matches when its rest does not).
func matches(d *secretDoc, f smapi.Filter) bool {
	var attrs []string
	var match func(attr, value string) bool
	prefix := func(attr, value string) bool { return strings.HasPrefix(attr, value) }
	switch deref(f.Key) {
	case smapi.FilterNameStringTypeName:
		attrs, match = []string{d.Name}, prefix
	case smapi.FilterNameStringTypeTagKey:
		for _, t := range d.Tags {
			attrs = append(attrs, t.Key)
		}
		match = prefix
	case smapi.FilterNameStringTypeTagValue:
		for _, t := range d.Tags {
			attrs = append(attrs, t.Value)
		}
		match = prefix
	case smapi.FilterNameStringTypeDescription:
		if d.Description != nil {
			attrs = []string{*d.Description}
		}
		match = func(attr, value string) bool {
			return strings.HasPrefix(strings.ToLower(attr), strings.ToLower(value)) || allWordsMatch(attr, value)
		}
	case smapi.FilterNameStringTypeAll:
		attrs = []string{d.Name}
		if d.Description != nil {
			attrs = append(attrs, *d.Description)
		}
		for _, t := range d.Tags {
			attrs = append(attrs, t.Key, t.Value)
		}
		match = wordsMatch
	default:
		// primary-region and owning-service: Berth's secrets have neither.
		match = prefix
	}
	for _, v := range f.Values {
		neg := strings.HasPrefix(v, "!")
		v = strings.TrimPrefix(v, "!")
		hit := slices.ContainsFunc(attrs, func(a string) bool { return match(a, v) })
		if hit != neg {
			return true
		}
	}
	return false
}

// wordsMatch is the "all" search: value is broken into words, and any of
// them starting a word of attr (ignoring case) is a match.
func wordsMatch(attr, value string) bool {
	aw := words(attr)
	for _, v := range words(value) {
		if slices.ContainsFunc(aw, func(a string) bool { return strings.HasPrefix(a, v) }) {
			return true
		}
	}
	return false
}

// allWordsMatch is the word search of a description: every word of value
// must start a word of attr, so "one two" does not find a description that
// only says "one".
func allWordsMatch(attr, value string) bool {
	aw, vw := words(attr), words(value)
	return len(vw) > 0 && !slices.ContainsFunc(vw, func(v string) bool {
		return !slices.ContainsFunc(aw, func(a string) bool { return strings.HasPrefix(a, v) })
	})
}

// words splits s as Secrets Manager's search does: at anything that is not
// a letter or digit, at a change from lower to upper case and between
// letters and digits. Words are lower-cased.
func words(s string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	var prev rune
	for _, r := range s {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
		case len(cur) > 0 && (unicode.IsLower(prev) && unicode.IsUpper(r) ||
			unicode.IsLetter(prev) != unicode.IsLetter(r)):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
		prev = r
	}
	flush()
	return out
}

func (s *Service) ListSecrets(ctx context.Context, in *smapi.ListSecretsInput) (*smapi.ListSecretsOutput, error) {
	c := callerOf(ctx)
	if err := checkFilters(in.Filters); err != nil {
		return nil, err
	}
	limit := int(deref(in.MaxResults))
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	start, err := decodeOffset(in.NextToken)
	if err != nil {
		return nil, err
	}
	var out *smapi.ListSecretsOutput
	err = s.st.View(ctx, func(tx store.Tx) error {
		all, err := listSecrets(tx, c, in.Filters, deref(in.IncludePlannedDeletion), deref(in.SortBy), deref(in.SortOrder), s.clock())
		if err != nil {
			return err
		}
		docs, next := page(all, start, limit)
		out = &smapi.ListSecretsOutput{SecretList: []smapi.SecretListEntry{}, NextToken: next}
		for _, d := range docs {
			e := smapi.SecretListEntry{
				ARN: ptr(d.ARN), Name: ptr(d.Name), Type: d.Type, Description: d.Description, KmsKeyId: d.KmsKeyID,
				LastChangedDate: ts(d.LastChanged), LastAccessedDate: tsp(d.LastAccessed), DeletedDate: tsp(d.Deleted),
				Tags: d.apiTags(), SecretVersionsToStages: d.stagesMap(), CreatedDate: ts(d.Created),
			}
			if r := d.Rotation; r != nil {
				e.RotationEnabled, e.RotationLambdaARN, e.RotationRules = ptr(r.Enabled), r.LambdaARN, r.rules()
				e.LastRotatedDate, e.NextRotationDate = tsp(r.LastRotated), tsp(r.NextRotation)
			}
			out.SecretList = append(out.SecretList, e)
		}
		return nil
	})
	return out, err
}

func (s *Service) BatchGetSecretValue(ctx context.Context, in *smapi.BatchGetSecretValueInput) (*smapi.BatchGetSecretValueOutput, error) {
	c := callerOf(ctx)
	if (len(in.SecretIdList) > 0) == (len(in.Filters) > 0) {
		return nil, smapi.NewInvalidParameterException("Either 'SecretIdList' or 'Filters' must be provided, but not both.")
	}
	if in.MaxResults != nil && len(in.Filters) == 0 {
		return nil, smapi.NewInvalidParameterException("'Filters' not specified. 'Filters' must also be specified when 'MaxResults' is provided.")
	}
	if err := checkFilters(in.Filters); err != nil {
		return nil, err
	}
	limit := int(deref(in.MaxResults))
	if limit <= 0 || limit > 20 {
		limit = 20
	}
	start, err := decodeOffset(in.NextToken)
	if err != nil {
		return nil, err
	}
	var out *smapi.BatchGetSecretValueOutput
	err = s.st.View(ctx, func(tx store.Tx) error {
		out = &smapi.BatchGetSecretValueOutput{SecretValues: []smapi.SecretValueEntry{}, Errors: []smapi.APIErrorType{}}
		now := s.clock()
		ids := in.SecretIdList
		if len(in.Filters) > 0 {
			all, err := listSecrets(tx, c, in.Filters, false, "", "", now)
			if err != nil {
				return err
			}
			var docs []*secretDoc
			docs, out.NextToken = page(all, start, limit)
			ids = nil
			for _, d := range docs {
				ids = append(ids, d.ARN)
			}
		}
		for _, id := range ids {
			v, err := getSecretValue(tx, c, id, "", "", now)
			if err != nil {
				e := awsapi.AsError(err)
				if e == nil {
					return err
				}
				out.Errors = append(out.Errors, smapi.APIErrorType{SecretId: ptr(id), ErrorCode: ptr(e.Code), Message: ptr(e.Message)})
				continue
			}
			out.SecretValues = append(out.SecretValues, smapi.SecretValueEntry{
				ARN: ptr(v.ARN), Name: ptr(v.Name), VersionId: ptr(v.VersionID),
				SecretString: v.String, SecretBinary: v.Binary, VersionStages: v.Stages, CreatedDate: ts(v.Created),
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
