package appautoscaling

import (
	"testing"
	"time"
)

func TestParseScheduleErrors(t *testing.T) {
	for _, expr := range []string{
		"", "at(2026-13-01T00:00:00)", "at(2026-01-01 00:00)", "rate(0 minutes)", "rate(5 minute)", "rate(1 minutes)",
		"rate(5 weeks)", "cron(0 9 * * ?)", "cron(0 9 * * * *)", "cron(0 9 ? * ? *)", "cron(61 9 * * ? *)",
		"cron(0 9 L * ? *)", "cron(0 9 5-1 * ? *)", "every(5 minutes)",
	} {
		if _, err := parseSchedule(expr, ""); err == nil {
			t.Errorf("parseSchedule(%q) accepted", expr)
		}
	}
	if _, err := parseSchedule("rate(5 minutes)", "Mars/Olympus"); err == nil {
		t.Error("an unknown time zone was accepted")
	}
}

func TestScheduleAt(t *testing.T) {
	s, err := parseSchedule("at(2026-03-01T09:30:00)", "Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	// 09:30 in Paris in March (CET) is 08:30 UTC.
	fire := time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		after, now time.Time
		want       bool
	}{
		{fire.Add(-time.Minute), fire.Add(-time.Second), false},
		{fire.Add(-time.Minute), fire, true},
		{fire.Add(-time.Second), fire.Add(time.Hour), true},
		{fire, fire.Add(time.Hour), false}, // fired already
	} {
		if got := s.due(c.after, c.now, time.Time{}); got != c.want {
			t.Errorf("due(%s, %s) = %v", c.after, c.now, got)
		}
	}
}

func TestScheduleRate(t *testing.T) {
	s, err := parseSchedule("rate(10 minutes)", "")
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if s.due(base, base.Add(9*time.Minute), base) {
		t.Error("fired before the first period ended")
	}
	if !s.due(base.Add(9*time.Minute), base.Add(10*time.Minute), base) {
		t.Error("did not fire at the first period")
	}
	if s.due(base.Add(10*time.Minute), base.Add(19*time.Minute), base) {
		t.Error("fired twice in one period")
	}
	if !s.due(base.Add(19*time.Minute), base.Add(21*time.Minute), base) {
		t.Error("did not fire at the second period")
	}
}

func TestScheduleCron(t *testing.T) {
	// 18:00 on weekdays in New York.
	s, err := parseSchedule("cron(0 18 ? * MON-FRI *)", "America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	// Friday 2026-01-09 18:00 EST is 23:00 UTC.
	fri := time.Date(2026, 1, 9, 23, 0, 0, 0, time.UTC)
	if !s.due(fri.Add(-15*time.Second), fri.Add(5*time.Second), time.Time{}) {
		t.Error("did not fire on Friday 18:00 New York time")
	}
	if s.due(fri.Add(5*time.Second), fri.Add(20*time.Second), time.Time{}) {
		t.Error("fired twice in the same minute")
	}
	sat := fri.Add(24 * time.Hour)
	if s.due(sat.Add(-15*time.Second), sat.Add(5*time.Second), time.Time{}) {
		t.Error("fired on Saturday")
	}
	c, err := parseCron("*/15 8-10 1,15 JAN ? 2026")
	if err != nil {
		t.Fatal(err)
	}
	for at, want := range map[time.Time]bool{
		time.Date(2026, 1, 15, 9, 45, 0, 0, time.UTC): true,
		time.Date(2026, 1, 15, 9, 50, 0, 0, time.UTC): false,
		time.Date(2026, 1, 2, 9, 45, 0, 0, time.UTC):  false,
		time.Date(2027, 1, 1, 8, 0, 0, 0, time.UTC):   false,
		time.Date(2026, 1, 1, 11, 0, 0, 0, time.UTC):  false,
	} {
		if got := c.matches(at); got != want {
			t.Errorf("matches(%s) = %v", at, got)
		}
	}
}
