package logs

import (
	"context"
	"slices"
	"strconv"

	logsapi "github.com/berth-dev/berth/api/logs"
)

// ListLogGroupsForQuery lists the ARNs of the log groups a Logs Insights
// query read, in the order StartQuery named them.
func (s *Service) ListLogGroupsForQuery(ctx context.Context, in *logsapi.ListLogGroupsForQueryInput) (*logsapi.ListLogGroupsForQueryOutput, error) {
	c := callerOf(ctx)
	sq, err := s.getQuery(ctx, *in.QueryId)
	if err != nil {
		return nil, apiErr("ListLogGroupsForQuery", err)
	}
	start := 0
	if in.NextToken != nil {
		tok, err := decodeToken(in.NextToken)
		if err != nil {
			return nil, err
		}
		if start, err = strconv.Atoi(tok); err != nil || start < 0 || start > len(sq.Groups) {
			return nil, invalidToken()
		}
	}
	limit := limitOf(in.MaxResults, 500)
	groups := slices.Clone(sq.Groups[start:])
	out := &logsapi.ListLogGroupsForQueryOutput{LogGroupIdentifiers: []string{}}
	if len(groups) > limit {
		groups = groups[:limit]
		out.NextToken = encodeToken(strconv.Itoa(start + limit))
	}
	for _, g := range groups {
		out.LogGroupIdentifiers = append(out.LogGroupIdentifiers, c.groupARN(g))
	}
	return out, nil
}
