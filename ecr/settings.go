package ecr

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	ecrapi "github.com/berth-dev/berth/api/ecr"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/registry"
)

// repoSettings is what ECR keeps on a repository beyond what the registry
// itself uses (name, mutability): it lives in registry.Repository.Settings,
// so it is created and deleted with the repository, atomically.
type repoSettings struct {
	ScanOnPush     bool            `json:"scanOnPush,omitempty"`
	EncryptionType string          `json:"encryptionType,omitempty"`
	KMSKey         string          `json:"kmsKey,omitempty"`
	Tags           []tagKV         `json:"tags,omitempty"`
	Policy         string          `json:"policy,omitempty"`
	Lifecycle      *lifecycleState `json:"lifecycle,omitempty"`
}

type tagKV struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

// lifecycleState is a repository's lifecycle policy and its evaluation status
// (which the runner writes).
type lifecycleState struct {
	Text            string    `json:"text"`
	LastEvaluatedAt time.Time `json:"lastEvaluatedAt,omitzero"`
}

func settingsOf(rep registry.Repository) (repoSettings, error) {
	var s repoSettings
	if len(rep.Settings) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(rep.Settings, &s); err != nil {
		return s, fmt.Errorf("repository %s: settings: %w", rep.Name, err)
	}
	return s, nil
}

func (s repoSettings) encode() json.RawMessage {
	data, _ := json.Marshal(s) // plain structs: cannot fail
	return data
}

// describe renders a repository as the API returns it.
func (svc *Service) describe(rep registry.Repository) (ecrapi.Repository, error) {
	s, err := settingsOf(rep)
	if err != nil {
		return ecrapi.Repository{}, err
	}
	out := ecrapi.Repository{
		RepositoryArn:              ptr(repositoryARN(rep.Region, rep.Account, rep.Name)),
		RegistryId:                 ptr(rep.Account),
		RepositoryName:             ptr(rep.Name),
		RepositoryUri:              ptr(svc.repositoryURI(rep.Name)),
		CreatedAt:                  awsapi.Time(rep.CreatedAt),
		ImageTagMutability:         ptr(ecrapi.ImageTagMutability(rep.TagMutability)),
		ImageScanningConfiguration: &ecrapi.ImageScanningConfiguration{ScanOnPush: ptr(s.ScanOnPush)},
		EncryptionConfiguration:    &ecrapi.EncryptionConfiguration{EncryptionType: ptr(ecrapi.EncryptionType(orDefault(s.EncryptionType, "AES256")))},
	}
	if s.KMSKey != "" {
		out.EncryptionConfiguration.KmsKey = ptr(s.KMSKey)
	}
	for _, f := range rep.MutabilityExclusions {
		out.ImageTagMutabilityExclusionFilters = append(out.ImageTagMutabilityExclusionFilters, ecrapi.ImageTagMutabilityExclusionFilter{
			FilterType: ptr(ecrapi.ImageTagMutabilityExclusionFilterTypeWildcard),
			Filter:     ptr(f),
		})
	}
	return out, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// mutability checks a requested tag mutability setting and returns it with
// its exclusion filters as the registry keeps them.
func mutability(mode *ecrapi.ImageTagMutability, filters []ecrapi.ImageTagMutabilityExclusionFilter) (string, []string, error) {
	m := registry.Mutable
	if mode != nil {
		m = string(*mode)
	}
	var out []string
	for _, f := range filters {
		out = append(out, str(f.Filter))
	}
	switch m {
	case registry.Mutable, registry.Immutable:
		if len(out) > 0 {
			return "", nil, invalidParam("Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy constraint: 'Exclusion filters can only be used with imageTagMutability MUTABLE_WITH_EXCLUSION or IMMUTABLE_WITH_EXCLUSION'")
		}
	case registry.MutableWithExclusion, registry.ImmutableWithExclusion:
		if len(out) == 0 {
			return "", nil, invalidParam("Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy constraint: 'At least one exclusion filter is required when imageTagMutability is %s'", m)
		}
	}
	seen := map[string]bool{}
	for _, f := range out {
		if seen[f] {
			return "", nil, invalidParam("Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy constraint: 'Duplicate exclusion filter %s'", f)
		}
		seen[f] = true
	}
	return m, out, nil
}

// Tag limits of ECR (and AWS resource tagging in general).
const (
	maxResourceTags = 50
	maxTagKeyLen    = 128
	maxTagValueLen  = 256
)

func validTagText(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune(" _.:/=+-@", r):
		case r > 127: // letters and digits of other scripts
		default:
			return false
		}
	}
	return true
}

// checkTags validates tags as a request gives them.
func checkTags(tags []ecrapi.Tag) error {
	for _, t := range tags {
		k, v := str(t.Key), str(t.Value)
		n := utf8.RuneCountInString(k)
		if n < 1 || n > maxTagKeyLen || !validTagText(k) {
			return ecrapi.NewInvalidTagParameterException("The tag key '%s' is not valid: a key has 1 to %d letters, digits, spaces or _.:/=+-@", k, maxTagKeyLen)
		}
		if utf8.RuneCountInString(v) > maxTagValueLen || !validTagText(v) {
			return ecrapi.NewInvalidTagParameterException("The tag value '%s' is not valid: a value has up to %d letters, digits, spaces or _.:/=+-@", v, maxTagValueLen)
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return ecrapi.NewInvalidTagParameterException("The tag key '%s' uses the reserved prefix 'aws:'", k)
		}
	}
	return nil
}

// mergeTags adds or replaces tags, refusing more than the limit.
func mergeTags(have []tagKV, add []ecrapi.Tag) ([]tagKV, error) {
	out := append([]tagKV(nil), have...)
	for _, t := range add {
		k, v := str(t.Key), str(t.Value)
		replaced := false
		for i := range out {
			if out[i].Key == k {
				out[i].Value = v
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, tagKV{Key: k, Value: v})
		}
	}
	if len(out) > maxResourceTags {
		return nil, ecrapi.NewTooManyTagsException("A resource can have at most %d tags; this request would leave %d", maxResourceTags, len(out))
	}
	return out, nil
}

func apiTags(tags []tagKV) []ecrapi.Tag {
	out := make([]ecrapi.Tag, 0, len(tags))
	for _, t := range tags {
		out = append(out, ecrapi.Tag{Key: ptr(t.Key), Value: ptr(t.Value)})
	}
	return out
}
