package traffic

import (
	"reflect"
	"testing"
	"time"
)

func TestPlans(t *testing.T) {
	canary, err := Canary(10, 5)
	if err != nil {
		t.Fatal(err)
	}
	linear, err := Linear(10, 3)
	if err != nil {
		t.Fatal(err)
	}
	linear33, _ := Linear(33, 1)
	for name, c := range map[string]struct {
		plan Plan
		want Plan
	}{
		"CodeDeployDefault.ECSAllAtOnce":                    {AllAtOnce(), Plan{{0, 100}}},
		"CodeDeployDefault.ECSCanary10Percent5Minutes":      {canary, Plan{{0, 10}, {5, 100}}},
		"CodeDeployDefault.ECSLinear10PercentEvery3Minutes": {linear, Plan{{0, 10}, {3, 20}, {6, 30}, {9, 40}, {12, 50}, {15, 60}, {18, 70}, {21, 80}, {24, 90}, {27, 100}}},
		"linear 33% every minute":                           {linear33, Plan{{0, 33}, {1, 66}, {2, 99}, {3, 100}}},
	} {
		if !reflect.DeepEqual(c.plan, c.want) {
			t.Errorf("%s: %v, want %v", name, c.plan, c.want)
		}
	}
}

func TestAtFollowsTheClock(t *testing.T) {
	minute := 2 * time.Second
	canary, _ := Canary(10, 5)
	for _, c := range []struct {
		elapsed     time.Duration
		percent, st int
	}{{0, 10, 0}, {9 * time.Second, 10, 0}, {10 * time.Second, 100, 1}, {time.Hour, 100, 1}} {
		if p, st := canary.At(c.elapsed, minute); p != c.percent || st != c.st {
			t.Errorf("canary at %v: %d%% step %d, want %d%% step %d", c.elapsed, p, st, c.percent, c.st)
		}
	}
	linear, _ := Linear(10, 1)
	if p, _ := linear.At(4500*time.Millisecond, minute); p != 30 {
		t.Errorf("linear at 4.5s = %d%%, want 30%%", p)
	}
	if d := linear.Duration(minute); d != 18*time.Second {
		t.Errorf("linear duration %v", d)
	}
}

func TestInvalidPlans(t *testing.T) {
	if _, err := Canary(0, 5); err == nil {
		t.Error("canary 0% accepted")
	}
	if _, err := Linear(100, 1); err == nil {
		t.Error("linear 100% accepted")
	}
	if _, err := Linear(10, 0); err == nil {
		t.Error("linear every 0 minutes accepted")
	}
}
