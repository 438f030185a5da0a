package appautoscaling

import (
	"context"

	aasapi "github.com/berth-dev/berth/api/applicationautoscaling"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

func scheduledActionARN(c caller, id, resourceID, name string) string {
	return "arn:aws:autoscaling:" + c.Region + ":" + c.Account + ":scheduledAction:" + id +
		":resource/ecs/" + resourceID + ":scheduledActionName/" + name
}

func (s *Service) PutScheduledAction(ctx context.Context, in *aasapi.PutScheduledActionInput) (*aasapi.PutScheduledActionOutput, error) {
	c := callerOf(ctx)
	ns, resource, dim := deref(in.ServiceNamespace), deref(in.ResourceId), in.ScalableDimension
	if err := checkECSTarget(ns, dim, resource); err != nil {
		return nil, err
	}
	key := targetKey(string(ns), string(*dim), resource)
	name := deref(in.ScheduledActionName)
	now := s.clock()
	err := s.st.Update(ctx, func(tx store.Tx) error {
		t, err := loadTarget(tx, c, key)
		if err != nil {
			return err
		}
		if t == nil {
			return notRegistered(string(ns), resource, string(*dim))
		}
		old, err := store.GetDoc[scheduledRecord](tx, KindScheduled, c.Account, c.Region, key+"|"+name)
		if err != nil {
			return err
		}
		a := aasapi.ScheduledAction{ScheduledActionName: ptr(name), ServiceNamespace: ptr(ns), ResourceId: ptr(resource),
			ScalableDimension: dim, ScheduledActionARN: ptr(scheduledActionARN(c, newUUID(), resource, name)), CreationTime: awsapi.Time(now)}
		if old != nil {
			// An update changes only what it names, as on AWS.
			a = old.Action
		}
		if in.Schedule != nil {
			a.Schedule = in.Schedule
		}
		if in.Timezone != nil {
			a.Timezone = in.Timezone
		}
		if in.StartTime != nil {
			a.StartTime = in.StartTime
		}
		if in.EndTime != nil {
			a.EndTime = in.EndTime
		}
		if in.ScalableTargetAction != nil {
			a.ScalableTargetAction = in.ScalableTargetAction
		}
		if a.Schedule == nil {
			return aasapi.NewValidationException("Schedule is required to create a scheduled action.")
		}
		if _, err := parseSchedule(*a.Schedule, deref(a.Timezone)); err != nil {
			return aasapi.NewValidationException("Invalid schedule %s: %v", *a.Schedule, err)
		}
		if a.Timezone == nil {
			a.Timezone = ptr("UTC")
		}
		if ta := a.ScalableTargetAction; ta == nil || ta.MinCapacity == nil && ta.MaxCapacity == nil {
			return aasapi.NewValidationException("ScalableTargetAction must set MinCapacity, MaxCapacity or both.")
		} else if ta.MinCapacity != nil && ta.MaxCapacity != nil && *ta.MinCapacity > *ta.MaxCapacity {
			return aasapi.NewValidationException("Minimum capacity cannot be greater than maximum capacity")
		}
		if a.StartTime != nil && a.EndTime != nil && a.EndTime.Before(a.StartTime.Time) {
			return aasapi.NewValidationException("EndTime must be after StartTime.")
		}
		// A changed schedule counts from now: past occurrences do not fire.
		return store.PutDoc(tx, KindScheduled, c.Account, c.Region, key+"|"+name, &scheduledRecord{Action: a, Checked: now}, now)
	})
	if err != nil {
		return nil, s.internal(err)
	}
	return &aasapi.PutScheduledActionOutput{}, nil
}

func (s *Service) DescribeScheduledActions(ctx context.Context, in *aasapi.DescribeScheduledActionsInput) (*aasapi.DescribeScheduledActionsOutput, error) {
	recs, next, err := describeChildren(ctx, s, KindScheduled, deref(in.ServiceNamespace), in.ScalableDimension, in.ResourceId, in.ScheduledActionNames,
		in.NextToken, in.MaxResults, func(r *scheduledRecord) (string, string) {
			return deref(r.Action.ResourceId), deref(r.Action.ScheduledActionName)
		})
	if err != nil {
		return nil, err
	}
	res := make([]aasapi.ScheduledAction, 0, len(recs))
	for _, r := range recs {
		res = append(res, r.Action)
	}
	return &aasapi.DescribeScheduledActionsOutput{ScheduledActions: res, NextToken: next}, nil
}

func (s *Service) DeleteScheduledAction(ctx context.Context, in *aasapi.DeleteScheduledActionInput) (*aasapi.DeleteScheduledActionOutput, error) {
	ns, resource, dim := deref(in.ServiceNamespace), deref(in.ResourceId), in.ScalableDimension
	_, err := deleteChild[scheduledRecord](ctx, s, KindScheduled, ns, dim, resource, deref(in.ScheduledActionName), func() error {
		return aasapi.NewObjectNotFoundException("No scheduled action found for service namespace: %s, resource ID: %s, scalable dimension: %s, scheduled action name: %s",
			ns, resource, *dim, deref(in.ScheduledActionName))
	})
	if err != nil {
		return nil, err
	}
	return &aasapi.DeleteScheduledActionOutput{}, nil
}
