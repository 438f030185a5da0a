package cloudwatch

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	cwapi "github.com/berth-dev/berth/api/cloudwatch"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
)

// AWS's limits on PutMetricData.
const (
	maxMetricsPerCall = 1000
	maxDimensions     = 30
	maxValues         = 150
	maxPastAge        = 14 * 24 * time.Hour
	maxFuture         = 2 * time.Hour
	// maxDatapoints is GetMetricStatistics' limit of datapoints per call.
	maxDatapoints = 1440
)

// valueLimit is 2^360: AWS rejects values outside ±2^360.
var valueLimit = math.Ldexp(1, 360)

// dim is a dimension in the store.
type dim struct {
	Name  string `json:"n"`
	Value string `json:"v"`
}

// metricRecord is a metric that has had data.
type metricRecord struct {
	Namespace string    `json:"ns"`
	Name      string    `json:"name"`
	Dims      []dim     `json:"dims,omitempty"`
	LastPut   time.Time `json:"lastPut"`
}

// point is one datum, or a statistic set, at T (Unix milliseconds). A
// single value (or a value with a count) has Lo == Hi; percentiles are
// computed from those only, as AWS does.
type point struct {
	T  int64   `json:"t"`
	N  float64 `json:"n"`
	S  float64 `json:"s"`
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
	U  string  `json:"u,omitempty"`
}

// bucket is the points of one metric in one minute.
type bucket struct {
	Points []point `json:"p"`
}

// The store ids are built from parts joined by separators that names
// cannot contain (they are control characters, which Berth rejects).
const (
	sepKey = "\x1f"
	sepDim = "\x1d"
	sepKV  = "\x1e"
)

func sortDims(dims []dim) []dim {
	out := slices.Clone(dims)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// metricKey is the store id of a metric; dims must be sorted.
func metricKey(namespace, name string, dims []dim) string {
	var b strings.Builder
	b.WriteString(namespace + sepKey + name + sepKey)
	for i, d := range dims {
		if i > 0 {
			b.WriteString(sepDim)
		}
		b.WriteString(d.Name + sepKV + d.Value)
	}
	return b.String()
}

// pointsID is the store id of a metric's bucket for a minute.
func pointsID(key string, minute int64) string {
	return key + sepKey + fmt.Sprintf("%012d", minute)
}

func wireDims(dims []dim) []cwapi.Dimension {
	if len(dims) == 0 {
		return nil
	}
	out := make([]cwapi.Dimension, len(dims))
	for i, d := range dims {
		out[i] = cwapi.Dimension{Name: ptr(d.Name), Value: ptr(d.Value)}
	}
	return out
}

// dimsOf checks and converts wire dimensions; what names the parameter
// in messages.
func dimsOf(in []cwapi.Dimension, what string) ([]dim, error) {
	if len(in) > maxDimensions {
		return nil, cwapi.NewInvalidParameterValueException("The collection %s must not have a size greater than %d.", what, maxDimensions)
	}
	out := make([]dim, 0, len(in))
	seen := map[string]bool{}
	for i, d := range in {
		name, value := deref(d.Name), deref(d.Value)
		if name == "" || d.Value == nil {
			return nil, cwapi.NewMissingRequiredParameterException("The parameters %s.member.%d.Name and Value are required.", what, i+1)
		}
		if hasControl(name) || hasControl(value) {
			return nil, cwapi.NewInvalidParameterValueException("The dimension %s.member.%d has a name or value with control characters.", what, i+1)
		}
		if seen[name] {
			return nil, cwapi.NewInvalidParameterValueException("No metric may have duplicate dimensions: %s is given twice in %s.", name, what)
		}
		seen[name] = true
		out = append(out, dim{Name: name, Value: value})
	}
	return sortDims(out), nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// checkNamespace applies AWS's rule on namespaces users publish to.
func checkNamespace(ns string, user bool) error {
	if ns == "" {
		return cwapi.NewMissingRequiredParameterException("The parameter Namespace is required.")
	}
	if user && strings.HasPrefix(ns, "AWS/") {
		return cwapi.NewInvalidParameterValueException("The value %s for parameter Namespace is invalid: namespaces starting with AWS/ are reserved for AWS services.", ns)
	}
	if hasControl(ns) || strings.HasPrefix(ns, ":") {
		return cwapi.NewInvalidParameterValueException("The value %s for parameter Namespace is invalid.", ns)
	}
	return nil
}

func checkValue(v float64, what string) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > valueLimit || (v != 0 && math.Abs(v) < 1/valueLimit) {
		return cwapi.NewInvalidParameterValueException("The value %v for parameter %s is invalid: values must be in the range -2^360 to 2^360 and not NaN or infinite.", v, what)
	}
	return nil
}

// pendingPoint is a point on its way into a bucket.
type pendingPoint struct {
	key string
	rec metricRecord
	p   point
}

func (s *Service) PutMetricData(ctx context.Context, in *cwapi.PutMetricDataInput) (*cwapi.PutMetricDataOutput, error) {
	ns := deref(in.Namespace)
	if err := checkNamespace(ns, true); err != nil {
		return nil, err
	}
	if len(in.EntityMetricData) > 0 {
		return nil, cwapi.NewInvalidParameterValueException("Berth does not support EntityMetricData; send the data in MetricData.")
	}
	if len(in.MetricData) == 0 {
		return nil, cwapi.NewMissingRequiredParameterException("The parameter MetricData is required.")
	}
	if len(in.MetricData) > maxMetricsPerCall {
		return nil, cwapi.NewInvalidParameterValueException("The collection MetricData must not have a size greater than %d.", maxMetricsPerCall)
	}
	now := s.clock()
	var pending []pendingPoint
	for i, d := range in.MetricData {
		pp, err := datumPoints(ns, d, i+1, now)
		if err != nil {
			return nil, err
		}
		pending = append(pending, pp...)
	}
	return &cwapi.PutMetricDataOutput{}, s.store(ctx, callerOf(ctx), pending, now)
}

// datumPoints checks one MetricDatum (n is its position) and returns its
// points.
func datumPoints(ns string, d cwapi.MetricDatum, n int, now time.Time) ([]pendingPoint, error) {
	where := "MetricData.member." + strconv.Itoa(n)
	name := deref(d.MetricName)
	if name == "" {
		return nil, cwapi.NewMissingRequiredParameterException("The parameter %s.MetricName is required.", where)
	}
	if hasControl(name) {
		return nil, cwapi.NewInvalidParameterValueException("The value for parameter %s.MetricName contains control characters.", where)
	}
	dims, err := dimsOf(d.Dimensions, where+".Dimensions")
	if err != nil {
		return nil, err
	}
	// AWS refuses Value with either other form, naming the pair, but
	// accepts Values together with StatisticValues (Berth then stores the
	// Values).
	if d.Value != nil && len(d.Values) > 0 {
		return nil, cwapi.NewInvalidParameterCombinationException("The parameters %[1]s.Value and %[1]s.Values are mutually exclusive and you have specified both.", where)
	}
	if d.Value != nil && d.StatisticValues != nil {
		return nil, cwapi.NewInvalidParameterCombinationException("The parameters %[1]s.Value and %[1]s.StatisticValues are mutually exclusive and you have specified both.", where)
	}
	if d.Value == nil && d.StatisticValues == nil && len(d.Values) == 0 {
		return nil, cwapi.NewMissingRequiredParameterException("One of the parameters %[1]s.Value, %[1]s.StatisticValues or %[1]s.Values is required.", where)
	}
	res := deref(d.StorageResolution)
	if d.StorageResolution != nil && res != 1 && res != 60 {
		return nil, cwapi.NewInvalidParameterValueException("The value %d for parameter %s.StorageResolution is invalid: it must be 1 or 60.", res, where)
	}
	at := now
	if d.Timestamp != nil {
		at = d.Timestamp.UTC()
	}
	if at.Before(now.Add(-maxPastAge)) {
		return nil, cwapi.NewInvalidParameterValueException("The parameter %s.Timestamp must specify a time no more than two weeks in the past.", where)
	}
	if at.After(now.Add(maxFuture)) {
		return nil, cwapi.NewInvalidParameterValueException("The parameter %s.Timestamp must specify a time no more than two hours in the future.", where)
	}
	// Standard-resolution data is stored at one-minute granularity and
	// high-resolution data at one second, as AWS stores them.
	if res == 1 {
		at = at.Truncate(time.Second)
	} else {
		at = at.Truncate(time.Minute)
	}
	unit := string(deref(d.Unit))
	if unit == "None" {
		unit = ""
	}
	rec := metricRecord{Namespace: ns, Name: name, Dims: dims}
	key := metricKey(ns, name, dims)
	base := point{T: at.UnixMilli(), U: unit}
	var out []pendingPoint
	switch {
	case d.Value != nil:
		if err := checkValue(*d.Value, where+".Value"); err != nil {
			return nil, err
		}
		p := base
		p.N, p.S, p.Lo, p.Hi = 1, *d.Value, *d.Value, *d.Value
		out = append(out, pendingPoint{key, rec, p})
	case d.StatisticValues != nil && len(d.Values) == 0:
		sv := d.StatisticValues
		if sv.SampleCount == nil || sv.Sum == nil || sv.Minimum == nil || sv.Maximum == nil {
			return nil, cwapi.NewMissingRequiredParameterException("The parameters %s.StatisticValues.SampleCount, Sum, Minimum and Maximum are required.", where)
		}
		for _, v := range []float64{*sv.SampleCount, *sv.Sum, *sv.Minimum, *sv.Maximum} {
			if err := checkValue(v, where+".StatisticValues"); err != nil {
				return nil, err
			}
		}
		if *sv.SampleCount <= 0 {
			return nil, cwapi.NewInvalidParameterValueException("The parameter %s.StatisticValues.SampleCount must be greater than 0.", where)
		}
		if *sv.Minimum > *sv.Maximum {
			return nil, cwapi.NewInvalidParameterValueException("The parameter %s.StatisticValues.Minimum must not be greater than Maximum.", where)
		}
		p := base
		p.N, p.S, p.Lo, p.Hi = *sv.SampleCount, *sv.Sum, *sv.Minimum, *sv.Maximum
		out = append(out, pendingPoint{key, rec, p})
	default:
		if len(d.Values) > maxValues {
			return nil, cwapi.NewInvalidParameterValueException("The collection %s.Values must not have a size greater than %d.", where, maxValues)
		}
		if len(d.Counts) > 0 && len(d.Counts) != len(d.Values) {
			return nil, cwapi.NewInvalidParameterValueException("The parameters %[1]s.Values and %[1]s.Counts must be of the same size.", where)
		}
		for j, v := range d.Values {
			if err := checkValue(v, where+".Values"); err != nil {
				return nil, err
			}
			c := 1.0
			if len(d.Counts) > 0 {
				c = d.Counts[j]
			}
			if c < 0 || math.IsNaN(c) || math.IsInf(c, 0) {
				return nil, cwapi.NewInvalidParameterValueException("The value %v for parameter %s.Counts is invalid.", c, where)
			}
			if c == 0 {
				continue
			}
			p := base
			p.N, p.S, p.Lo, p.Hi = c, v*c, v, v
			out = append(out, pendingPoint{key, rec, p})
		}
	}
	return out, nil
}

// store writes points into their buckets and the metrics' records in one
// transaction.
func (s *Service) store(ctx context.Context, c caller, pending []pendingPoint, now time.Time) error {
	if len(pending) == 0 {
		return nil
	}
	byBucket := map[string][]point{}
	metrics := map[string]metricRecord{}
	var ids []string
	for _, pp := range pending {
		id := pointsID(pp.key, pp.p.T/60000)
		if _, ok := byBucket[id]; !ok {
			ids = append(ids, id)
		}
		byBucket[id] = append(byBucket[id], pp.p)
		metrics[pp.key] = pp.rec
	}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		for _, id := range ids {
			b, err := store.GetDoc[bucket](tx, KindPoints, c.Account, c.Region, id)
			if err != nil {
				return err
			}
			if b == nil {
				b = &bucket{}
			}
			for _, p := range byBucket[id] {
				b.Points = mergePoint(b.Points, p)
			}
			if err := store.PutDoc(tx, KindPoints, c.Account, c.Region, id, b, now); err != nil {
				return err
			}
		}
		if err := store.PutDoc(tx, kindAccounts, "", "", c.Account+"|"+c.Region, struct{}{}, now); err != nil {
			return err
		}
		for key, rec := range metrics {
			rec.LastPut = now
			if err := store.PutDoc(tx, KindMetric, c.Account, c.Region, key, rec, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.internal(err)
	}
	return nil
}

// mergePoint adds p to points, folding it into an equal single value at
// the same instant so that repeated values cost nothing.
func mergePoint(points []point, p point) []point {
	if p.Lo == p.Hi {
		for i := range points {
			q := &points[i]
			if q.T == p.T && q.U == p.U && q.Lo == q.Hi && q.Lo == p.Lo {
				q.N += p.N
				q.S += p.S
				return points
			}
		}
	}
	return append(points, p)
}

// PutMetrics stores data for other Berth services; AWS/ namespaces are
// theirs to publish to.
func (s *Service) PutMetrics(ctx context.Context, account, region, namespace string, data []Datum) error {
	if err := checkNamespace(namespace, false); err != nil {
		return err
	}
	now := s.clock()
	var pending []pendingPoint
	for i, d := range data {
		wd := cwapi.MetricDatum{MetricName: ptr(d.MetricName), Value: ptr(d.Value)}
		if d.Unit != "" {
			wd.Unit = ptr(cwapi.StandardUnit(d.Unit))
		}
		if !d.Timestamp.IsZero() {
			wd.Timestamp = awsapi.Time(d.Timestamp)
		}
		names := make([]string, 0, len(d.Dimensions))
		for k := range d.Dimensions {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			wd.Dimensions = append(wd.Dimensions, cwapi.Dimension{Name: ptr(k), Value: ptr(d.Dimensions[k])})
		}
		pp, err := datumPoints(namespace, wd, i+1, now)
		if err != nil {
			return err
		}
		pending = append(pending, pp...)
	}
	return s.store(ctx, caller{Account: account, Region: region}, pending, now)
}

// readPoints returns a metric's points in [start, end), in time order.
func readPoints(tx store.Tx, c caller, key string, start, end time.Time) ([]point, error) {
	var out []point
	from, to := start.UnixMilli(), end.UnixMilli()
	after := pointsID(key, start.Unix()/60-1)
	last := pointsID(key, (end.UnixMilli()-1)/60000)
	err := store.ListDocs(tx, KindPoints, c.Account, c.Region, key+sepKey, after, func(id string, b *bucket) (bool, error) {
		if id > last {
			return false, nil
		}
		for _, p := range b.Points {
			if p.T >= from && p.T < to {
				out = append(out, p)
			}
		}
		return true, nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].T < out[j].T })
	return out, err
}

// agg is the aggregate of a period's points.
type agg struct {
	n, sum, lo, hi float64
	singles        []point // Lo == Hi points, for percentiles
	unit           string
}

func aggregate(points []point) agg {
	a := agg{lo: math.Inf(1), hi: math.Inf(-1)}
	for _, p := range points {
		a.n += p.N
		a.sum += p.S
		a.lo = math.Min(a.lo, p.Lo)
		a.hi = math.Max(a.hi, p.Hi)
		if p.Lo == p.Hi {
			a.singles = append(a.singles, p)
		}
		if a.unit == "" {
			a.unit = p.U
		}
	}
	return a
}

// stat computes one statistic (Average, Sum, Minimum, Maximum,
// SampleCount or pNN.NN); ok is false when it cannot be computed.
func (a agg) stat(name string) (float64, bool) {
	if a.n == 0 {
		return 0, false
	}
	switch name {
	case "Average":
		return a.sum / a.n, true
	case "Sum":
		return a.sum, true
	case "Minimum":
		return a.lo, true
	case "Maximum":
		return a.hi, true
	case "SampleCount":
		return a.n, true
	}
	pct, ok := percentile(name)
	if !ok || len(a.singles) == 0 {
		return 0, false
	}
	vals := slices.Clone(a.singles)
	sort.Slice(vals, func(i, j int) bool { return vals[i].Lo < vals[j].Lo })
	var total float64
	for _, v := range vals {
		total += v.N
	}
	// Nearest rank over the weighted values.
	rank := math.Ceil(pct / 100 * total)
	var seen float64
	for _, v := range vals {
		seen += v.N
		if seen >= rank {
			return v.Lo, true
		}
	}
	return vals[len(vals)-1].Lo, true
}

// percentile parses pNN or pNN.NN.
func percentile(name string) (float64, bool) {
	if !strings.HasPrefix(name, "p") {
		return 0, false
	}
	v, err := strconv.ParseFloat(name[1:], 64)
	if err != nil || v < 0 || v > 100 || strings.ContainsAny(name[1:], "eE+-") {
		return 0, false
	}
	return v, true
}

func validStat(name string) bool {
	switch name {
	case "Average", "Sum", "Minimum", "Maximum", "SampleCount":
		return true
	}
	_, ok := percentile(name)
	return ok
}

// checkPeriod applies AWS's rule: 1, 5, 10, 20, 30, 60 or a multiple of 60.
func checkPeriod(p int32, what string) error {
	switch {
	case p <= 0:
		return cwapi.NewInvalidParameterValueException("The parameter %s must be greater than 0.", what)
	case p < 60 && p != 1 && p != 5 && p != 10 && p != 20 && p != 30, p >= 60 && p%60 != 0:
		return cwapi.NewInvalidParameterValueException("The parameter %s must be 1, 5, 10, 20, 30, 60, or any multiple of 60.", what)
	}
	return nil
}

func unitMatches(want *cwapi.StandardUnit, p point) bool {
	if want == nil {
		return true
	}
	w := string(*want)
	if w == "None" {
		w = ""
	}
	return p.U == w
}

// periods groups points into aligned periods starting at start. With
// byUnit, a period's points of different units make separate aggregates
// (GetMetricStatistics without Unit answers one datapoint per unit, as
// AWS does: it never combines data of different units).
func periods(points []point, start time.Time, period time.Duration, unit *cwapi.StandardUnit, byUnit bool) (starts []time.Time, aggs []agg) {
	type groupKey struct {
		i int64
		u string
	}
	groups := map[groupKey][]point{}
	var keys []groupKey
	for _, p := range points {
		if !unitMatches(unit, p) {
			continue
		}
		k := groupKey{i: (p.T - start.UnixMilli()) / period.Milliseconds()}
		if byUnit {
			k.u = p.U
		}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], p)
	}
	slices.SortFunc(keys, func(a, b groupKey) int {
		if a.i != b.i {
			return cmp.Compare(a.i, b.i)
		}
		return strings.Compare(a.u, b.u)
	})
	for _, k := range keys {
		starts = append(starts, start.Add(time.Duration(k.i)*period))
		aggs = append(aggs, aggregate(groups[k]))
	}
	return starts, aggs
}

func (s *Service) GetMetricStatistics(ctx context.Context, in *cwapi.GetMetricStatisticsInput) (*cwapi.GetMetricStatisticsOutput, error) {
	c := callerOf(ctx)
	ns, name := deref(in.Namespace), deref(in.MetricName)
	if len(in.Statistics) == 0 && len(in.ExtendedStatistics) == 0 {
		return nil, cwapi.NewMissingRequiredParameterException("Must specify either Statistics or ExtendedStatistics.")
	}
	if len(in.Statistics) > 0 && len(in.ExtendedStatistics) > 0 {
		return nil, cwapi.NewInvalidParameterCombinationException("The parameters Statistics and ExtendedStatistics are mutually exclusive and you have specified both.")
	}
	for _, e := range in.ExtendedStatistics {
		if _, ok := percentile(e); !ok {
			return nil, cwapi.NewInvalidParameterValueException("The value %s for parameter ExtendedStatistics is not supported: Berth computes percentiles pNN.NN.", e)
		}
	}
	period := deref(in.Period)
	if err := checkPeriod(period, "Period"); err != nil {
		return nil, err
	}
	dims, err := dimsOf(in.Dimensions, "Dimensions")
	if err != nil {
		return nil, err
	}
	if in.StartTime == nil || in.EndTime == nil {
		return nil, cwapi.NewMissingRequiredParameterException("The parameters StartTime and EndTime are required.")
	}
	start, end := in.StartTime.UTC(), in.EndTime.UTC()
	if !start.Before(end) {
		return nil, cwapi.NewInvalidParameterValueException("The parameter StartTime must be less than the parameter EndTime.")
	}
	pd := time.Duration(period) * time.Second
	start = alignStart(start, pd)
	if n := int64(end.Sub(start) / pd); n > maxDatapoints {
		return nil, cwapi.NewInvalidParameterCombinationException("You have requested up to %d datapoints, which exceeds the limit of %d. You may reduce the datapoints requested by increasing Period, or decreasing the time range.", n, maxDatapoints)
	}
	var points []point
	err = s.st.View(ctx, func(tx store.Tx) error {
		points, err = readPoints(tx, c, metricKey(ns, name, dims), start, end)
		return err
	})
	if err != nil {
		return nil, s.internal(err)
	}
	out := &cwapi.GetMetricStatisticsOutput{Label: ptr(name), Datapoints: []cwapi.Datapoint{}}
	starts, aggs := periods(points, start, pd, in.Unit, in.Unit == nil)
	for i, a := range aggs {
		dp := cwapi.Datapoint{Timestamp: awsapi.Time(starts[i]), Unit: ptr(unitName(a.unit))}
		for _, st := range in.Statistics {
			v, _ := a.stat(string(st))
			switch st {
			case cwapi.StatisticAverage:
				dp.Average = ptr(v)
			case cwapi.StatisticSum:
				dp.Sum = ptr(v)
			case cwapi.StatisticMinimum:
				dp.Minimum = ptr(v)
			case cwapi.StatisticMaximum:
				dp.Maximum = ptr(v)
			case cwapi.StatisticSampleCount:
				dp.SampleCount = ptr(v)
			}
		}
		for _, e := range in.ExtendedStatistics {
			if v, ok := a.stat(e); ok {
				if dp.ExtendedStatistics == nil {
					dp.ExtendedStatistics = map[string]float64{}
				}
				dp.ExtendedStatistics[e] = v
			}
		}
		out.Datapoints = append(out.Datapoints, dp)
	}
	return out, nil
}

func unitName(u string) cwapi.StandardUnit {
	if u == "" {
		return "None"
	}
	return cwapi.StandardUnit(u)
}

// alignStart rounds start down to a multiple of the period, as AWS does
// for periods of a minute or less and Berth for all.
func alignStart(start time.Time, period time.Duration) time.Time {
	return time.UnixMilli(start.UnixMilli() - start.UnixMilli()%period.Milliseconds()).UTC()
}

func (s *Service) ListMetrics(ctx context.Context, in *cwapi.ListMetricsInput) (*cwapi.ListMetricsOutput, error) {
	c := callerOf(ctx)
	ns, name := deref(in.Namespace), deref(in.MetricName)
	prefix := ""
	if ns != "" {
		prefix = ns + sepKey
		if name != "" {
			prefix += name + sepKey
		}
	}
	for i, f := range in.Dimensions {
		if deref(f.Name) == "" {
			return nil, cwapi.NewMissingRequiredParameterException("The parameter Dimensions.member.%d.Name is required.", i+1)
		}
	}
	after := ""
	if t := deref(in.NextToken); t != "" {
		raw, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil || !strings.HasPrefix(string(raw), prefix) {
			return nil, cwapi.NewInvalidNextToken("The NextToken is not valid.")
		}
		after = string(raw)
	}
	// Without RecentlyActive, AWS lists metrics with data in the past
	// two weeks; PT3H narrows that to three hours.
	cutoff := s.clock().Add(-maxPastAge)
	if in.RecentlyActive != nil {
		cutoff = s.clock().Add(-3 * time.Hour)
	}
	const pageSize = 500
	out := &cwapi.ListMetricsOutput{Metrics: []cwapi.Metric{}}
	var last string
	err := s.st.View(ctx, func(tx store.Tx) error {
		return store.ListDocs(tx, KindMetric, c.Account, c.Region, prefix, after, func(id string, m *metricRecord) (bool, error) {
			if name != "" && m.Name != name || m.LastPut.Before(cutoff) || !dimsMatch(m.Dims, in.Dimensions) {
				return true, nil
			}
			if len(out.Metrics) == pageSize {
				out.NextToken = ptr(base64.RawURLEncoding.EncodeToString([]byte(last)))
				return false, nil
			}
			out.Metrics = append(out.Metrics, cwapi.Metric{Namespace: ptr(m.Namespace), MetricName: ptr(m.Name), Dimensions: wireDims(m.Dims)})
			last = id
			return true, nil
		})
	})
	if err != nil {
		return nil, s.internal(err)
	}
	return out, nil
}

// dimsMatch reports whether a metric has every filtered dimension (with
// the value, when the filter gives one).
func dimsMatch(dims []dim, filters []cwapi.DimensionFilter) bool {
	for _, f := range filters {
		found := false
		for _, d := range dims {
			if d.Name == deref(f.Name) && (f.Value == nil || d.Value == *f.Value) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
