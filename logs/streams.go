package logs

import (
	"context"
	"errors"
	"strconv"
	"strings"

	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/store"
)

// CreateLogStream creates a stream in a log group.
func (s *Service) CreateLogStream(ctx context.Context, in *logsapi.CreateLogStreamInput) (*logsapi.CreateLogStreamOutput, error) {
	c := callerOf(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		g, err := getGroup(tx, c, *in.LogGroupName)
		if err != nil {
			return err
		}
		err = tx.CreateLogStream(&store.LogStream{GroupID: g.ID, Name: *in.LogStreamName, CreatedAt: ms(s.now())})
		if errors.Is(err, store.ErrConflict) {
			return logsapi.NewResourceAlreadyExistsException("The specified log stream already exists")
		}
		return err
	})
	if err != nil {
		return nil, apiErr("CreateLogStream", err)
	}
	return &logsapi.CreateLogStreamOutput{}, nil
}

// DeleteLogStream deletes a stream and its events.
func (s *Service) DeleteLogStream(ctx context.Context, in *logsapi.DeleteLogStreamInput) (*logsapi.DeleteLogStreamOutput, error) {
	c := callerOf(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		g, err := getGroup(tx, c, *in.LogGroupName)
		if err != nil {
			return err
		}
		if g.DeletionProtection {
			return logsapi.NewValidationException("Log group %s has deletion protection enabled; its log streams cannot be deleted.", g.Name)
		}
		st, err := getStream(tx, g, *in.LogStreamName)
		if err != nil {
			return err
		}
		return tx.DeleteLogStream(st.ID)
	})
	if err != nil {
		return nil, apiErr("DeleteLogStream", err)
	}
	return &logsapi.DeleteLogStreamOutput{}, nil
}

// DescribeLogStreams lists the streams of a group by name or by last event
// time, either way round.
func (s *Service) DescribeLogStreams(ctx context.Context, in *logsapi.DescribeLogStreamsInput) (*logsapi.DescribeLogStreamsOutput, error) {
	c := callerOf(ctx)
	name, err := c.groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	q := store.LogStreamQuery{
		Prefix:     str(in.LogStreamNamePrefix),
		Descending: in.Descending != nil && *in.Descending,
	}
	if in.OrderBy != nil && *in.OrderBy == logsapi.OrderByLastEventTime {
		if in.LogStreamNamePrefix != nil {
			return nil, invalidParam("Cannot order by LastEventTime with a logStreamNamePrefix.")
		}
		q.Order = store.ByLastEventTime
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	if after != "" {
		cur, err := decodeStreamCursor(after, q.Order)
		if err != nil {
			return nil, err
		}
		q.After = &cur
	}
	limit := limitOf(in.Limit, describeLimit)
	q.Limit = limit + 1
	var streams []store.LogStream
	err = s.st.View(ctx, func(tx store.Tx) error {
		g, err := getGroup(tx, c, name)
		if err != nil {
			return err
		}
		streams, err = tx.ListLogStreams(g.ID, q)
		return err
	})
	if err != nil {
		return nil, apiErr("DescribeLogStreams", err)
	}
	out := &logsapi.DescribeLogStreamsOutput{LogStreams: []logsapi.LogStream{}}
	if len(streams) > limit {
		streams = streams[:limit]
		last := streams[limit-1]
		out.NextToken = encodeToken(strconv.FormatInt(last.LastEvent, 10) + ":" + last.Name)
	}
	for _, st := range streams {
		out.LogStreams = append(out.LogStreams, describeStream(c, name, st))
	}
	return out, nil
}

// decodeStreamCursor reads "<lastEvent>:<name>"; stream names cannot
// contain a colon.
func decodeStreamCursor(tok string, order store.LogStreamOrder) (store.LogStreamCursor, error) {
	ts, name, ok := strings.Cut(tok, ":")
	n, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || name == "" {
		return store.LogStreamCursor{}, invalidToken()
	}
	if order == store.ByStreamName {
		n = 0
	}
	return store.LogStreamCursor{LastEvent: n, Name: name}, nil
}

func describeStream(c caller, group string, st store.LogStream) logsapi.LogStream {
	d := logsapi.LogStream{
		LogStreamName: ptr(st.Name),
		CreationTime:  ptr(st.CreatedAt),
		Arn:           ptr(c.streamARN(group, st.Name)),
		// AWS has reported 0 for streams since June 2019.
		StoredBytes: ptr(int64(0)),
	}
	if st.FirstEvent != 0 {
		d.FirstEventTimestamp = ptr(st.FirstEvent)
	}
	if st.LastEvent != 0 {
		d.LastEventTimestamp = ptr(st.LastEvent)
	}
	if st.LastIngestion != 0 {
		d.LastIngestionTime = ptr(st.LastIngestion)
	}
	return d
}
