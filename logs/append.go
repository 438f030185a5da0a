package logs

import (
	"context"
	"errors"
	"slices"
	"time"

	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/store"
)

// Event is one log line a container wrote, for Append.
type Event struct {
	Timestamp time.Time
	Message   string
}

// Append is how Berth's ECS task agent ships container output, as the
// awslogs log driver does with PutLogEvents: it appends events to a stream
// of a group in the given account and region, creating the stream when it
// does not exist and the group too when createGroup is set (the driver's
// awslogs-create-group option). Without createGroup a missing group is a
// ResourceNotFoundException.
//
// Unlike PutLogEvents it takes events in any order (they are sorted by
// timestamp, stably) and any number of them, skips empty messages, and
// drops, as CloudWatch Logs rejects them, events more than 14 days old,
// older than the group's retention or more than 2 hours ahead. The group's
// transformer, if any, rewrites the events as PutLogEvents does. Everything
// happens in one transaction: either all accepted events are stored or
// none is.
func (s *Service) Append(ctx context.Context, account, region, group, stream string, events []Event, createGroup bool) error {
	if err := checkGroupName(group); err != nil {
		return err
	}
	if err := checkStreamName(stream); err != nil {
		return err
	}
	evs := make([]Event, 0, len(events))
	for _, e := range events {
		if e.Message != "" {
			evs = append(evs, e)
		}
	}
	slices.SortStableFunc(evs, func(a, b Event) int { return a.Timestamp.Compare(b.Timestamp) })
	ts := make([]int64, len(evs))
	for i, e := range evs {
		ts[i] = ms(e.Timestamp)
	}
	now := s.now()
	err := s.st.Update(ctx, func(tx store.Tx) error {
		g, err := tx.GetLogGroup(account, region, group)
		if errors.Is(err, store.ErrNotFound) && createGroup {
			g = store.LogGroup{Account: account, Region: region, Name: group, CreatedAt: ms(now),
				Class: string(logsapi.LogGroupClassStandard)}
			err = tx.CreateLogGroup(&g)
		}
		if errors.Is(err, store.ErrNotFound) {
			return groupNotFound()
		}
		if err != nil {
			return err
		}
		st, err := tx.GetLogStream(g.ID, stream)
		if errors.Is(err, store.ErrNotFound) {
			st = store.LogStream{GroupID: g.ID, Name: stream, CreatedAt: ms(now)}
			err = tx.CreateLogStream(&st)
		}
		if err != nil {
			return err
		}
		from, to := admit(ts, now, g.RetentionDays).accepted()
		procs, err := transformerFor(tx, caller{Account: account, Region: region}, g)
		if err != nil {
			return err
		}
		batch := make([]store.LogEvent, 0, to-from)
		for i := from; i < to; i++ {
			msg := evs[i].Message
			if procs != nil {
				msg, _ = transform(procs, msg)
			}
			batch = append(batch, store.LogEvent{Timestamp: ts[i], Message: msg})
		}
		return tx.PutLogEvents(g.ID, st.ID, ms(now), batch)
	})
	return apiErr("Append", err)
}

// ECSStreamName is the log stream name the awslogs driver uses for an ECS
// task's container: prefix/container-name/ecs-task-id (the task id being
// the last part of the task ARN). ECS requires awslogs-stream-prefix for
// Fargate; without a prefix the Docker driver names the stream after the
// container id, which the agent passes instead.
func ECSStreamName(prefix, containerName, taskID string) string {
	return prefix + "/" + containerName + "/" + taskID
}
