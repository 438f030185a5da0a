package cloudwatch

import (
	"context"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"

	cwapi "github.com/berth-dev/berth/api/cloudwatch"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

const (
	maxQueries           = 500
	defaultMaxDatapoints = 100800
	codeValidationError  = "ValidationError"
)

// series is one query's datapoints, in the order they are returned.
type series struct {
	id, label string
	messages  []cwapi.MessageData
	times     []time.Time
	values    []float64
}

// statSeries computes the datapoints of a MetricStat over [start, end),
// oldest first.
func statSeries(tx store.Tx, c caller, ms *cwapi.MetricStat, start, end time.Time) ([]time.Time, []float64, error) {
	m := ms.Metric
	dims, err := dimsOf(m.Dimensions, "Metric.Dimensions")
	if err != nil {
		return nil, nil, err
	}
	pd := time.Duration(deref(ms.Period)) * time.Second
	start = alignStart(start, pd)
	points, err := readPoints(tx, c, metricKey(deref(m.Namespace), deref(m.MetricName), dims), start, end)
	if err != nil {
		return nil, nil, err
	}
	unit := ms.Unit
	if unit == nil {
		if units := distinctUnits(points); len(units) > 1 {
			unit = ptr(units[0])
		}
	}
	starts, aggs := periods(points, start, pd, unit, false)
	var ts []time.Time
	var vs []float64
	for i, a := range aggs {
		if v, ok := a.stat(deref(ms.Stat)); ok {
			ts, vs = append(ts, starts[i]), append(vs, v)
		}
	}
	return ts, vs, nil
}

// distinctUnits lists the units of points, sorted by name ("None" for
// data without one). A query without Unit over data of several units is
// answered, as AWS does, from the first unit only, never mixing them.
func distinctUnits(points []point) []cwapi.StandardUnit {
	var out []cwapi.StandardUnit
	for _, p := range points {
		if u := unitName(p.U); !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out
}

// unitsMessage is AWS's MultipleUnits message of a MetricStat query
// without Unit over data of several units, or nil.
func unitsMessage(tx store.Tx, c caller, ms *cwapi.MetricStat, start, end time.Time) ([]cwapi.MessageData, error) {
	if ms == nil || ms.Unit != nil || ms.Metric == nil {
		return nil, nil
	}
	dims, err := dimsOf(ms.Metric.Dimensions, "Metric.Dimensions")
	if err != nil {
		return nil, err
	}
	pd := time.Duration(deref(ms.Period)) * time.Second
	points, err := readPoints(tx, c, metricKey(deref(ms.Metric.Namespace), deref(ms.Metric.MetricName), dims), alignStart(start, pd), end)
	if err != nil {
		return nil, err
	}
	units := distinctUnits(points)
	if len(units) < 2 {
		return nil, nil
	}
	names := make([]string, len(units))
	for i, u := range units {
		names[i] = string(u)
	}
	return []cwapi.MessageData{{Code: ptr("MultipleUnits"), Value: ptr("Multiple units returned: '[" + strings.Join(names, ", ") + "]'")}}, nil
}

// checkMetricStat validates a MetricStat; what names it in messages.
func checkMetricStat(ms *cwapi.MetricStat, what string) error {
	if ms.Metric == nil || deref(ms.Metric.MetricName) == "" || deref(ms.Metric.Namespace) == "" {
		return awsapi.Errorf(codeValidationError, "The parameters %s.Metric.Namespace and MetricName are required.", what)
	}
	if err := checkPeriod(deref(ms.Period), what+".Period"); err != nil {
		return err
	}
	if !validStat(deref(ms.Stat)) {
		return awsapi.Errorf(codeValidationError, "The value %s for parameter %s.Stat is not a statistic Berth computes (Average, Sum, Minimum, Maximum, SampleCount, pNN.NN).", deref(ms.Stat), what)
	}
	return nil
}

func (s *Service) GetMetricData(ctx context.Context, in *cwapi.GetMetricDataInput) (*cwapi.GetMetricDataOutput, error) {
	c := callerOf(ctx)
	if len(in.MetricDataQueries) > maxQueries {
		return nil, awsapi.Errorf(codeValidationError, "The collection MetricDataQueries must not have a size greater than %d.", maxQueries)
	}
	if in.StartTime == nil || in.EndTime == nil {
		return nil, cwapi.NewMissingRequiredParameterException("The parameters StartTime and EndTime are required.")
	}
	start, end := in.StartTime.UTC(), in.EndTime.UTC()
	if !start.Before(end) {
		return nil, awsapi.Errorf(codeValidationError, "The parameter StartTime must be less than the parameter EndTime.")
	}
	if err := checkQueries(in.MetricDataQueries, "MetricDataQueries"); err != nil {
		return nil, err
	}
	descending := in.ScanBy == nil || *in.ScanBy == cwapi.ScanByTimestampDescending
	statSuffix, periodSuffix := labelSuffixes(in.MetricDataQueries)
	var all []series
	err := s.st.View(ctx, func(tx store.Tx) error {
		env, err := evalQueries(tx, c, in.MetricDataQueries, start, end)
		if err != nil {
			return err
		}
		for _, q := range in.MetricDataQueries {
			if q.ReturnData != nil && !*q.ReturnData {
				continue
			}
			m := env[deref(q.Id)]
			keys := make([]int64, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if descending {
				slices.Reverse(keys)
			}
			sr := series{id: deref(q.Id), label: deref(q.Label)}
			if sr.messages, err = unitsMessage(tx, c, q.MetricStat, start, end); err != nil {
				return err
			}
			for _, k := range keys {
				sr.times, sr.values = append(sr.times, time.UnixMilli(k).UTC()), append(sr.values, m[k])
			}
			if sr.label == "" {
				if q.MetricStat != nil {
					sr.label = deref(q.MetricStat.Metric.MetricName)
					if statSuffix {
						sr.label += " " + deref(q.MetricStat.Stat)
					}
					if periodSuffix {
						sr.label += " " + strconv.Itoa(int(deref(q.MetricStat.Period)))
					}
				} else {
					sr.label = sr.id
				}
			}
			all = append(all, sr)
		}
		return nil
	})
	if err != nil {
		return nil, s.internal(err)
	}
	// A page holds MaxDatapoints datapoints across the queries; the token
	// is how many were returned before.
	skip := 0
	if t := deref(in.NextToken); t != "" {
		raw, err := base64.RawURLEncoding.DecodeString(t)
		n, perr := strconv.Atoi(string(raw))
		if err != nil || perr != nil || n < 0 {
			return nil, cwapi.NewInvalidNextToken("The NextToken is not valid.")
		}
		skip = n
	}
	limit := int(deref(in.MaxDatapoints))
	if limit <= 0 {
		limit = defaultMaxDatapoints
	}
	out := &cwapi.GetMetricDataOutput{MetricDataResults: []cwapi.MetricDataResult{}, Messages: []cwapi.MessageData{}}
	pos, taken := 0, 0
	for _, sr := range all {
		n := len(sr.times)
		if pos+n <= skip && n > 0 {
			pos += n
			continue
		}
		from := max(skip-pos, 0)
		to := min(n, from+limit-taken)
		r := cwapi.MetricDataResult{Id: ptr(sr.id), Label: ptr(sr.label), Timestamps: []awsapi.Timestamp{}, Values: []float64{}, StatusCode: ptr(cwapi.StatusCodeComplete), Messages: sr.messages}
		for i := from; i < to; i++ {
			r.Timestamps = append(r.Timestamps, awsapi.Timestamp{Time: sr.times[i]})
			r.Values = append(r.Values, sr.values[i])
		}
		taken += to - from
		pos += n
		if to < n {
			r.StatusCode = ptr(cwapi.StatusCodePartialData)
			out.MetricDataResults = append(out.MetricDataResults, r)
			out.NextToken = ptr(base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(skip + taken))))
			return out, nil
		}
		if skip == 0 || from > 0 || n == 0 || pos > skip {
			out.MetricDataResults = append(out.MetricDataResults, r)
		}
	}
	return out, nil
}

// labelSuffixes reports whether default labels carry the statistic and
// the period: AWS appends each to the metric name when the request's
// MetricStat queries do not all use the same one ("CPU Average",
// "CPU Sum 300"), so that the series can be told apart.
func labelSuffixes(qs []cwapi.MetricDataQuery) (stat, period bool) {
	var firstStat string
	var firstPeriod int32
	seen := false
	for _, q := range qs {
		if q.MetricStat == nil {
			continue
		}
		st, pd := deref(q.MetricStat.Stat), deref(q.MetricStat.Period)
		if !seen {
			firstStat, firstPeriod, seen = st, pd, true
			continue
		}
		stat = stat || st != firstStat
		period = period || pd != firstPeriod
	}
	return stat, period
}
