package cloudwatch

import (
	"context"
	"encoding/base64"
	"slices"
	"strconv"
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
	starts, aggs := periods(points, start, pd, ms.Unit)
	var ts []time.Time
	var vs []float64
	for i, a := range aggs {
		if v, ok := a.stat(deref(ms.Stat)); ok {
			ts, vs = append(ts, starts[i]), append(vs, v)
		}
	}
	return ts, vs, nil
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
			for _, k := range keys {
				sr.times, sr.values = append(sr.times, time.UnixMilli(k).UTC()), append(sr.values, m[k])
			}
			if sr.label == "" {
				if q.MetricStat != nil {
					sr.label = deref(q.MetricStat.Metric.MetricName)
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
	out := &cwapi.GetMetricDataOutput{MetricDataResults: []cwapi.MetricDataResult{}}
	pos, taken := 0, 0
	for _, sr := range all {
		n := len(sr.times)
		if pos+n <= skip && n > 0 {
			pos += n
			continue
		}
		from := max(skip-pos, 0)
		to := min(n, from+limit-taken)
		r := cwapi.MetricDataResult{Id: ptr(sr.id), Label: ptr(sr.label), Timestamps: []awsapi.Timestamp{}, Values: []float64{}, StatusCode: ptr(cwapi.StatusCodeComplete)}
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
