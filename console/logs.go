package console

import (
	"strconv"

	logsapi "github.com/berth-dev/berth/api/logs"
)

func (c *Console) needLogs() error {
	if c.o.Logs == nil {
		return errNotFound{"CloudWatch Logs"}
	}
	return nil
}

func (c *Console) logGroups(req *request) error {
	if err := c.needLogs(); err != nil {
		return err
	}
	var groups []logsapi.LogGroup
	var token *string
	for len(groups) < maxItems {
		res, err := c.o.Logs.DescribeLogGroups(req.ctx, &logsapi.DescribeLogGroupsInput{NextToken: token})
		if err != nil {
			return err
		}
		groups = append(groups, res.LogGroups...)
		if token = res.NextToken; token == nil {
			break
		}
	}
	req.page.Title = "Log groups"
	req.page.crumb("Log groups", "")
	return c.render(req, "logs_groups", groups)
}

type logGroupData struct {
	Group   string
	Streams []logsapi.LogStream
	Filter  string
	Matches []logsapi.FilteredLogEvent
	Limit   int
}

// maxStreams is how many of a group's streams (latest events first) its
// page lists.
const maxStreams = 50

// eventLimit is the limit parameter: how many events to show.
func eventLimit(req *request) (int, error) {
	v := req.r.URL.Query().Get("limit")
	if v == "" {
		return defLogEvents, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLogEvents {
		return 0, badRequest("limit %q is not a number between 1 and %d", v, maxLogEvents)
	}
	return n, nil
}

func (c *Console) logGroup(req *request) error {
	if err := c.needLogs(); err != nil {
		return err
	}
	q := req.r.URL.Query()
	group := q.Get("name")
	if group == "" {
		return badRequest("the name parameter is required")
	}
	limit, err := eventLimit(req)
	if err != nil {
		return err
	}
	d := logGroupData{Group: group, Filter: q.Get("filter"), Limit: limit}
	order := logsapi.OrderByLastEventTime
	desc := true
	n := int32(maxStreams)
	in := &logsapi.DescribeLogStreamsInput{LogGroupName: &group, OrderBy: &order, Descending: &desc, Limit: &n}
	if err := validated(in); err != nil {
		return err
	}
	res, err := c.o.Logs.DescribeLogStreams(req.ctx, in)
	if err != nil {
		return err
	}
	d.Streams = res.LogStreams
	if d.Filter != "" {
		l := int32(limit)
		fin := &logsapi.FilterLogEventsInput{LogGroupName: &group, FilterPattern: &d.Filter, Limit: &l}
		if err := validated(fin); err != nil {
			return err
		}
		fr, err := c.o.Logs.FilterLogEvents(req.ctx, fin)
		if err != nil {
			return err
		}
		d.Matches = fr.Events
	}
	req.page.Title = "Log group " + group
	req.page.crumb("Log groups", req.page.Link("logs/"))
	req.page.crumb(group, "")
	return c.render(req, "logs_group", d)
}

type logStreamData struct {
	Group, Stream string
	Events        []logsapi.OutputLogEvent
	Limit         int
}

func (c *Console) logStream(req *request) error {
	if err := c.needLogs(); err != nil {
		return err
	}
	q := req.r.URL.Query()
	group, stream := q.Get("group"), q.Get("stream")
	if group == "" || stream == "" {
		return badRequest("the group and stream parameters are required")
	}
	limit, err := eventLimit(req)
	if err != nil {
		return err
	}
	l := int32(limit)
	in := &logsapi.GetLogEventsInput{LogGroupName: &group, LogStreamName: &stream, Limit: &l}
	if err := validated(in); err != nil {
		return err
	}
	res, err := c.o.Logs.GetLogEvents(req.ctx, in)
	if err != nil {
		return err
	}
	req.page.Title = "Log stream " + stream
	req.page.crumb("Log groups", req.page.Link("logs/"))
	req.page.crumb(group, req.page.Link("logs/group", "name", group))
	req.page.crumb(stream, "")
	return c.render(req, "logs_stream", logStreamData{Group: group, Stream: stream, Events: res.Events, Limit: limit})
}
