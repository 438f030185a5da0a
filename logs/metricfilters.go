package logs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	logsapi "github.com/berth-dev/berth/api/logs"
	"github.com/berth-dev/berth/logs/filter"
	"github.com/berth-dev/berth/store"
)

// Metric filters are kept as store resources keyed "GROUP:FILTER": a log
// group name cannot contain ':', so the group's filters are exactly the ids
// with the prefix "GROUP:". No metric data is published (Berth has no
// CloudWatch metrics); the filters are stored, listed and testable.
const kindMetricFilter = "logs.metric-filter"

// maxMetricFilters is how many metric filters a log group can have.
const maxMetricFilters = 100

func filterID(group, name string) string { return group + ":" + name }

// PutMetricFilter creates or replaces a metric filter of a log group.
func (s *Service) PutMetricFilter(ctx context.Context, in *logsapi.PutMetricFilterInput) (*logsapi.PutMetricFilterOutput, error) {
	c := callerOf(ctx)
	if _, err := filter.Parse(*in.FilterPattern); err != nil {
		return nil, invalidParam("Invalid metric filter pattern: %s", *in.FilterPattern)
	}
	mt := in.MetricTransformations[0]
	if len(mt.Dimensions) > 3 {
		return nil, invalidParam("A metric filter can have at most 3 dimensions.")
	}
	if len(mt.Dimensions) > 0 && mt.DefaultValue != nil {
		return nil, invalidParam("Invalid metric transformation: a default value cannot be specified with dimensions.")
	}
	if v := *mt.MetricValue; strings.HasPrefix(v, "$") && !strings.HasPrefix(v, "$.") && !isFieldName(v[1:]) {
		return nil, invalidParam("Invalid metric value %s: it must be a number or a $field named in the filter pattern.", v)
	}
	mf := logsapi.MetricFilter{
		FilterName:                in.FilterName,
		FilterPattern:             in.FilterPattern,
		MetricTransformations:     in.MetricTransformations,
		CreationTime:              ptr(ms(s.now())),
		LogGroupName:              in.LogGroupName,
		ApplyOnTransformedLogs:    ptr(in.ApplyOnTransformedLogs != nil && *in.ApplyOnTransformedLogs),
		FieldSelectionCriteria:    in.FieldSelectionCriteria,
		EmitSystemFieldDimensions: in.EmitSystemFieldDimensions,
	}
	doc, err := json.Marshal(mf)
	if err != nil {
		return nil, internal("PutMetricFilter", err)
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		g, err := getGroup(tx, c, *in.LogGroupName)
		if err != nil {
			return err
		}
		id := filterID(g.Name, *in.FilterName)
		if _, err := tx.GetResource(kindMetricFilter, c.Account, c.Region, id); errors.Is(err, store.ErrNotFound) {
			existing, err := tx.ListResources(kindMetricFilter, c.Account, c.Region, g.Name+":", store.Page{Limit: maxMetricFilters})
			if err != nil {
				return err
			}
			if len(existing) >= maxMetricFilters {
				return logsapi.NewLimitExceededException("Resource limit exceeded: log group %s already has %d metric filters.", g.Name, maxMetricFilters)
			}
		} else if err != nil {
			return err
		}
		return tx.PutResource(store.Resource{Kind: kindMetricFilter, Account: c.Account, Region: c.Region, ID: id, Doc: doc, UpdatedAt: s.now()})
	})
	if err != nil {
		return nil, apiErr("PutMetricFilter", err)
	}
	return &logsapi.PutMetricFilterOutput{}, nil
}

func isFieldName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// DeleteMetricFilter deletes a metric filter.
func (s *Service) DeleteMetricFilter(ctx context.Context, in *logsapi.DeleteMetricFilterInput) (*logsapi.DeleteMetricFilterOutput, error) {
	c := callerOf(ctx)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		return deleteGroupChild(tx, c, *in.LogGroupName, *in.FilterName, kindMetricFilter, "The specified metric filter does not exist.")
	})
	if err != nil {
		return nil, apiErr("DeleteMetricFilter", err)
	}
	return &logsapi.DeleteMetricFilterOutput{}, nil
}

// DescribeMetricFilters lists metric filters of a log group, or of every
// log group, optionally narrowed to one metric, ASCII-sorted by filter name
// as AWS documents.
func (s *Service) DescribeMetricFilters(ctx context.Context, in *logsapi.DescribeMetricFiltersInput) (*logsapi.DescribeMetricFiltersOutput, error) {
	c := callerOf(ctx)
	if (in.MetricName == nil) != (in.MetricNamespace == nil) {
		return nil, invalidParam("metricName and metricNamespace must be specified together.")
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := limitOf(in.Limit, describeLimit)
	var all []logsapi.MetricFilter
	err = s.st.View(ctx, func(tx store.Tx) error {
		prefix := ""
		if in.LogGroupName != nil {
			g, err := getGroup(tx, c, *in.LogGroupName)
			if err != nil {
				return err
			}
			// AWS uses filterNamePrefix only together with logGroupName.
			prefix = filterID(g.Name, str(in.FilterNamePrefix))
		}
		page, err := tx.ListResources(kindMetricFilter, c.Account, c.Region, prefix, store.Page{})
		if err != nil {
			return err
		}
		for _, r := range page {
			var mf logsapi.MetricFilter
			if err := json.Unmarshal(r.Doc, &mf); err != nil {
				return fmt.Errorf("metric filter %s: %w", r.ID, err)
			}
			if in.MetricName != nil && !hasMetric(mf, *in.MetricName, *in.MetricNamespace) {
				continue
			}
			all = append(all, mf)
		}
		return nil
	})
	if err != nil {
		return nil, apiErr("DescribeMetricFilters", err)
	}
	// The position is filter name, then group name: a filter name has no
	// ':' and sorts before its group in the key.
	key := func(mf logsapi.MetricFilter) string { return *mf.FilterName + ":" + *mf.LogGroupName }
	slices.SortFunc(all, func(a, b logsapi.MetricFilter) int { return strings.Compare(key(a), key(b)) })
	out := &logsapi.DescribeMetricFiltersOutput{MetricFilters: []logsapi.MetricFilter{}}
	for _, mf := range all {
		if after != "" && key(mf) <= after {
			continue
		}
		if len(out.MetricFilters) == limit {
			out.NextToken = encodeToken(key(out.MetricFilters[limit-1]))
			break
		}
		out.MetricFilters = append(out.MetricFilters, mf)
	}
	return out, nil
}

func hasMetric(mf logsapi.MetricFilter, name, namespace string) bool {
	for _, t := range mf.MetricTransformations {
		if str(t.MetricName) == name && str(t.MetricNamespace) == namespace {
			return true
		}
	}
	return false
}

// TestMetricFilter runs a filter pattern over sample messages and returns
// those that match, with the values a space-delimited pattern extracts.
func (s *Service) TestMetricFilter(ctx context.Context, in *logsapi.TestMetricFilterInput) (*logsapi.TestMetricFilterOutput, error) {
	p, err := filter.Parse(str(in.FilterPattern))
	if err != nil {
		return nil, invalidParam("Invalid metric filter pattern: %s", str(in.FilterPattern))
	}
	out := &logsapi.TestMetricFilterOutput{Matches: []logsapi.MetricFilterMatchRecord{}}
	for i, msg := range in.LogEventMessages {
		vals, ok := p.Extract(msg)
		if !ok {
			continue
		}
		if vals == nil {
			vals = map[string]string{}
		}
		out.Matches = append(out.Matches, logsapi.MetricFilterMatchRecord{
			EventNumber: ptr(int64(i + 1)), EventMessage: ptr(msg), ExtractedValues: vals,
		})
	}
	return out, nil
}

// deleteGroupFilters removes the metric and subscription filters and the
// policies and transformer of a log group being deleted, in the same
// transaction.
func deleteGroupFilters(tx store.Tx, c caller, group string) error {
	for _, kind := range []string{kindMetricFilter, kindSubscriptionFilter, kindDataProtection, kindIndexPolicy, kindTransformer} {
		all, err := tx.ListResources(kind, c.Account, c.Region, group+":", store.Page{})
		if err != nil {
			return err
		}
		for _, r := range all {
			if err := tx.DeleteResource(kind, c.Account, c.Region, r.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// metricFilterCounts returns the number of metric filters of each log group
// of the caller, for DescribeLogGroups' metricFilterCount.
func metricFilterCounts(tx store.Tx, c caller) (map[string]int32, error) {
	all, err := tx.ListResources(kindMetricFilter, c.Account, c.Region, "", store.Page{})
	if err != nil {
		return nil, err
	}
	out := map[string]int32{}
	for _, r := range all {
		group, _, _ := strings.Cut(r.ID, ":")
		out[group]++
	}
	return out, nil
}
