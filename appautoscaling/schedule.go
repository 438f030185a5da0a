package appautoscaling

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // scheduled actions name IANA time zones; hosts may lack the database
)

// schedule is a parsed scheduled action schedule: at(), rate() or cron().
type schedule struct {
	at   time.Time     // at(): wall clock in loc
	rate time.Duration // rate()
	cron *cronSpec
	loc  *time.Location
}

// parseSchedule parses AWS's three forms:
//
//	at(yyyy-mm-ddThh:mm:ss)
//	rate(value unit)             unit: minute(s), hour(s), day(s)
//	cron(min hour dom month dow year)
//
// tz is an IANA zone name (default UTC), which at() and cron() are read in.
func parseSchedule(expr, tz string) (*schedule, error) {
	loc := time.UTC
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil || tz == "Local" {
			return nil, fmt.Errorf("time zone %q is not a valid IANA time zone", tz)
		}
		loc = l
	}
	inner := func(prefix string) (string, bool) {
		if strings.HasPrefix(expr, prefix+"(") && strings.HasSuffix(expr, ")") {
			return strings.TrimSpace(expr[len(prefix)+1 : len(expr)-1]), true
		}
		return "", false
	}
	if v, ok := inner("at"); ok {
		t, err := time.ParseInLocation("2006-01-02T15:04:05", v, loc)
		if err != nil {
			return nil, fmt.Errorf("at() takes yyyy-mm-ddThh:mm:ss, not %q", v)
		}
		return &schedule{at: t, loc: loc}, nil
	}
	if v, ok := inner("rate"); ok {
		f := strings.Fields(v)
		if len(f) != 2 {
			return nil, fmt.Errorf("rate() takes a value and a unit, not %q", v)
		}
		n, err := strconv.Atoi(f[0])
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("rate() value must be a positive integer, not %q", f[0])
		}
		var unit time.Duration
		switch f[1] {
		case "minute", "minutes":
			unit = time.Minute
		case "hour", "hours":
			unit = time.Hour
		case "day", "days":
			unit = 24 * time.Hour
		default:
			return nil, fmt.Errorf("rate() unit must be minute(s), hour(s) or day(s), not %q", f[1])
		}
		if (n == 1) != !strings.HasSuffix(f[1], "s") {
			return nil, fmt.Errorf("rate(%s): use the singular unit for 1 and the plural otherwise", v)
		}
		return &schedule{rate: time.Duration(n) * unit, loc: loc}, nil
	}
	if v, ok := inner("cron"); ok {
		c, err := parseCron(v)
		if err != nil {
			return nil, err
		}
		return &schedule{cron: c, loc: loc}, nil
	}
	return nil, fmt.Errorf("a schedule is at(...), rate(...) or cron(...), not %q", expr)
}

// due reports whether an occurrence of the schedule falls in (after, now]:
// base is where rate() counts from (the action's start time or creation).
func (s *schedule) due(after, now, base time.Time) bool {
	if !now.After(after) {
		return false
	}
	switch {
	case !s.at.IsZero():
		return s.at.After(after) && !s.at.After(now)
	case s.rate > 0:
		if now.Before(base) {
			return false
		}
		n := func(t time.Time) int64 {
			if t.Before(base) {
				return -1
			}
			return int64(t.Sub(base) / s.rate)
		}
		// Occurrence k is at base+k*rate, k >= 1: the first is one period
		// after the action starts, as on AWS.
		return n(now) > n(after) && n(now) >= 1
	default:
		// Look minute by minute, at most a day back: an outage longer than
		// that fires the action once, not once per missed occurrence.
		start := after.Truncate(time.Minute).Add(time.Minute)
		if day := now.Add(-24 * time.Hour); start.Before(day) {
			start = day.Truncate(time.Minute)
		}
		for t := start; !t.After(now); t = t.Add(time.Minute) {
			if s.cron.matches(t.In(s.loc)) {
				return true
			}
		}
		return false
	}
}

// cronSpec is a parsed six-field AWS cron expression; each field is the set
// of values it allows.
type cronSpec struct {
	minute, hour, dom, month, dow [64]bool
	domAny, dowAny                bool
	years                         map[int]bool // nil: every year
}

var monthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
var dayNames = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}

// parseCron parses "min hour day-of-month month day-of-week year", with
// *, ?, lists, ranges and /steps; day-of-week is 1-7 (SUN-SAT). One of
// the two day fields must be ?, as AWS requires. L, W and # are not
// supported.
func parseCron(expr string) (*cronSpec, error) {
	f := strings.Fields(expr)
	if len(f) != 6 {
		return nil, fmt.Errorf("cron() takes six fields (minutes hours day-of-month month day-of-week year), not %d", len(f))
	}
	c := &cronSpec{}
	if (f[2] == "?") == (f[4] == "?") {
		return nil, fmt.Errorf("cron(%s): exactly one of day-of-month and day-of-week must be ?", expr)
	}
	type field struct {
		s        string
		set      *[64]bool
		lo, hi   int
		names    map[string]int
		anyFlags *bool
	}
	for _, fd := range []field{
		{f[0], &c.minute, 0, 59, nil, nil},
		{f[1], &c.hour, 0, 23, nil, nil},
		{f[2], &c.dom, 1, 31, nil, &c.domAny},
		{f[3], &c.month, 1, 12, monthNames, nil},
		{f[4], &c.dow, 1, 7, dayNames, &c.dowAny},
	} {
		if fd.s == "?" || fd.s == "*" {
			if fd.anyFlags != nil {
				*fd.anyFlags = true
			}
			for v := fd.lo; v <= fd.hi; v++ {
				fd.set[v] = true
			}
			continue
		}
		vals, err := cronValues(fd.s, fd.lo, fd.hi, fd.names)
		if err != nil {
			return nil, fmt.Errorf("cron(%s): %w", expr, err)
		}
		for _, v := range vals {
			fd.set[v] = true
		}
	}
	if f[5] != "*" && f[5] != "?" {
		vals, err := cronValues(f[5], 1970, 2199, nil)
		if err != nil {
			return nil, fmt.Errorf("cron(%s): %w", expr, err)
		}
		c.years = map[int]bool{}
		for _, v := range vals {
			c.years[v] = true
		}
	}
	return c, nil
}

// cronValues expands one field: a list of values, ranges (a-b) and steps
// (a/n, a-b/n, */n).
func cronValues(s string, lo, hi int, names map[string]int) ([]int, error) {
	num := func(v string) (int, error) {
		if n, ok := names[strings.ToUpper(v)]; ok {
			return n, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("%q is not a value from %d to %d", v, lo, hi)
		}
		return n, nil
	}
	var out []int
	for _, part := range strings.Split(s, ",") {
		rng, stepStr, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("%q is not a valid step", stepStr)
			}
			step = n
		}
		a, b := lo, hi
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			x, y, _ := strings.Cut(rng, "-")
			var err error
			if a, err = num(x); err != nil {
				return nil, err
			}
			if b, err = num(y); err != nil {
				return nil, err
			}
			if a > b {
				return nil, fmt.Errorf("range %q runs backwards", rng)
			}
		default:
			if strings.ContainsAny(rng, "LW#") {
				return nil, fmt.Errorf("%q: Berth's cron does not support L, W or #", rng)
			}
			v, err := num(rng)
			if err != nil {
				return nil, err
			}
			a = v
			if !hasStep {
				b = v
			}
		}
		for v := a; v <= b; v += step {
			out = append(out, v)
		}
	}
	return out, nil
}

// matches reports whether the minute t (in the schedule's zone) is an
// occurrence.
func (c *cronSpec) matches(t time.Time) bool {
	if !c.minute[t.Minute()] || !c.hour[t.Hour()] || !c.month[int(t.Month())] {
		return false
	}
	if c.years != nil && !c.years[t.Year()] {
		return false
	}
	if !c.domAny && !c.dom[t.Day()] {
		return false
	}
	if !c.dowAny && !c.dow[int(t.Weekday())+1] {
		return false
	}
	return true
}
