package appautoscaling

import (
	"context"
	"strings"
	"time"

	aasapi "github.com/berth-dev/berth/api/applicationautoscaling"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// activityRetention is how long activities are kept (AWS: six weeks).
const activityRetention = 6 * 7 * 24 * time.Hour

// activity is what the controller did (or did not do) to a target.
type activity struct {
	description, cause string
	status             aasapi.ScalingActivityStatusCode
	statusMessage      string
	details            string
	notScaled          *aasapi.NotScaledReason
	// base, for a scale-out, is the capacity it counts from (a step
	// scaling policy's next scale-out within the cooldown counts from it
	// too); nil: the current capacity.
	base *int32
}

// putActivity records an activity of target t.
func putActivity(tx store.ResourceTx, c caller, t *targetRecord, a activity, start, end time.Time) error {
	id := newUUID()
	rec := activityRecord{Scaled: a.notScaled == nil, Activity: aasapi.ScalingActivity{
		ActivityId: ptr(id), ServiceNamespace: ptr(aasapi.ServiceNamespace(t.Namespace)), ResourceId: ptr(t.ResourceID),
		ScalableDimension: ptr(aasapi.ScalableDimension(t.Dimension)), Description: ptr(a.description), Cause: ptr(a.cause),
		StartTime: awsapi.Time(start), EndTime: awsapi.Time(end), StatusCode: ptr(a.status), StatusMessage: ptr(a.statusMessage),
	}}
	if a.details != "" {
		rec.Activity.Details = ptr(a.details)
	}
	if a.notScaled != nil {
		rec.Activity.NotScaledReasons = []aasapi.NotScaledReason{*a.notScaled}
	}
	return store.PutDoc(tx, KindActivity, c.Account, c.Region, activityID(t.key(), start, id), &rec, end)
}

func (s *Service) DescribeScalingActivities(ctx context.Context, in *aasapi.DescribeScalingActivitiesInput) (*aasapi.DescribeScalingActivitiesOutput, error) {
	c := callerOf(ctx)
	ns := deref(in.ServiceNamespace)
	if err := checkECSTarget(ns, in.ScalableDimension, ""); err != nil {
		return nil, err
	}
	prefix := string(ns) + "|"
	if in.ScalableDimension != nil {
		prefix += string(*in.ScalableDimension) + "|"
		if in.ResourceId != nil {
			prefix += *in.ResourceId + "|"
		}
	}
	withNotScaled := deref(in.IncludeNotScaledActivities)
	cutoff := s.clock().Add(-activityRetention)
	var out []aasapi.ScalingActivity
	var keys []string
	err := s.st.View(ctx, func(tx store.Tx) error {
		return store.ListDocs(tx, KindActivity, c.Account, c.Region, prefix, "", func(id string, r *activityRecord) (bool, error) {
			a := r.Activity
			if in.ResourceId != nil && deref(a.ResourceId) != *in.ResourceId || !r.Scaled && !withNotScaled {
				return true, nil
			}
			if a.StartTime != nil && a.StartTime.Before(cutoff) {
				return true, nil
			}
			// The id's tail "<inverted time>|<uuid>" orders activities of
			// every target newest first.
			parts := strings.Split(id, "|")
			out, keys = append(out, a), append(keys, strings.Join(parts[len(parts)-2:], "|"))
			return true, nil
		})
	})
	if err != nil {
		return nil, s.internal(err)
	}
	sortedKeys(out, keys)
	res, next, err := page(out, keys, in.NextToken, maxResults(in.MaxResults))
	if err != nil {
		return nil, err
	}
	return &aasapi.DescribeScalingActivitiesOutput{ScalingActivities: nonNil(res), NextToken: next}, nil
}

// pruneActivities deletes a target's activities past retention.
func pruneActivities(tx store.ResourceTx, c caller, key string, now time.Time) error {
	cutoff := now.Add(-activityRetention)
	var old []string
	err := store.ListDocs(tx, KindActivity, c.Account, c.Region, key+"|", "", func(id string, r *activityRecord) (bool, error) {
		if r.Activity.StartTime != nil && r.Activity.StartTime.Before(cutoff) {
			old = append(old, id)
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, id := range old {
		if err := store.DeleteDoc(tx, KindActivity, c.Account, c.Region, id); err != nil {
			return err
		}
	}
	return nil
}
