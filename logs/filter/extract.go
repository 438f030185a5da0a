package filter

// Extract is Match that also returns the values a space-delimited pattern
// bound to its named fields, keyed "$name" as TestMetricFilter reports
// them. Other kinds of pattern bind no fields: their values are nil.
func (p *Pattern) Extract(msg string) (map[string]string, bool) {
	if p == nil || p.m == nil {
		return nil, true
	}
	d, ok := p.m.(*delimitedMatcher)
	if !ok {
		return nil, p.m.match(msg)
	}
	fields := splitFields(msg)
	if fields == nil {
		return nil, false
	}
	bound := make(map[string]string, len(d.slots))
	budget := maxBindSteps
	if !d.bind(0, 0, fields, bound, &budget) {
		return nil, false
	}
	out := make(map[string]string, len(bound))
	for k, v := range bound {
		out["$"+k] = v
	}
	return out, true
}
