package sts

import (
	"context"
	"errors"
	"strings"

	stsapi "github.com/berth-dev/berth/api/sts"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

func invalidParameterValue(msg string) error {
	return awsapi.Errorf("InvalidParameterValue", "%s", msg)
}

// sessionTags checks the session tags of an AssumeRole request the way
// STS does and returns the transitive tags the new session carries: those
// inherited from the calling session (role chaining) plus the request's
// own. Tag keys are case-insensitive: two keys differing only in case are
// duplicates, and a request may not set a key that the calling session
// passed on as transitive.
func (s *Service) sessionTags(ctx context.Context, id awsapi.Identity, tags []stsapi.Tag, transitiveKeys []string) (map[string]string, error) {
	requested := make(map[string]stsapi.Tag, len(tags))
	for _, t := range tags {
		k := strings.ToLower(deref(t.Key))
		if _, dup := requested[k]; dup {
			return nil, invalidParameterValue("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		requested[k] = t
	}
	for _, k := range transitiveKeys {
		if _, ok := requested[strings.ToLower(k)]; !ok {
			return nil, invalidParameterValue("The specified transitive tag key must be included in the requested tags.")
		}
	}
	inherited, err := s.callerTransitiveTags(ctx, id)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range inherited {
		if _, clash := requested[strings.ToLower(k)]; clash {
			return nil, invalidParameterValue("One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session.")
		}
		out[k] = v
	}
	for _, k := range transitiveKeys {
		t := requested[strings.ToLower(k)]
		out[deref(t.Key)] = deref(t.Value)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// callerTransitiveTags are the transitive tags of the session whose
// credentials signed the request; none for long-term keys.
func (s *Service) callerTransitiveTags(ctx context.Context, id awsapi.Identity) (map[string]string, error) {
	if id.AccessKeyID == "" || !awsapi.IsSessionKey(id.AccessKeyID) {
		return nil, nil
	}
	var rec session
	err := s.st.View(ctx, func(tx store.Tx) error {
		return store.ReadDoc(tx, kindSession, "", "", id.AccessKeyID, &rec)
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return rec.TransitiveTags, nil
}
