package deploy

import (
	"strings"
	"testing"
)

func TestFailureThreshold(t *testing.T) {
	for desired, want := range map[int]int{0: 3, 1: 3, 2: 3, 6: 3, 7: 4, 10: 5, 399: 200, 1000: 200} {
		if got := FailureThreshold(desired); got != want {
			t.Errorf("FailureThreshold(%d) = %d, want %d", desired, got, want)
		}
	}
}

func TestPlanRollsInECSOrder(t *testing.T) {
	// min 100 / max 200, 2 tasks: start 2 new, keep both old until the new
	// ones are healthy, then stop the old ones.
	s := Plan(Observed{Desired: 2, MinHealthyPercent: 100, MaxPercent: 200, OldHealthy: 2, CanStart: true})
	if s.StartNew != 2 || s.StopOldHealthy != 0 {
		t.Fatalf("first step %+v", s)
	}
	s = Plan(Observed{Desired: 2, MinHealthyPercent: 100, MaxPercent: 200, NewOther: 2, OldHealthy: 2, CanStart: true})
	if s.StartNew != 0 || s.StopOldHealthy != 0 {
		t.Fatalf("while new tasks start %+v", s)
	}
	s = Plan(Observed{Desired: 2, MinHealthyPercent: 100, MaxPercent: 200, NewHealthy: 1, NewOther: 1, OldHealthy: 2, CanStart: true})
	if s.StopOldHealthy != 1 {
		t.Fatalf("one new healthy %+v", s)
	}
	// min 50 / max 100: stop one old first, then start one new.
	s = Plan(Observed{Desired: 2, MinHealthyPercent: 50, MaxPercent: 100, OldHealthy: 2, CanStart: true})
	if s.StartNew != 0 || s.StopOldHealthy != 1 {
		t.Fatalf("min 50 max 100 %+v", s)
	}
	s = Plan(Observed{Desired: 2, MinHealthyPercent: 50, MaxPercent: 100, OldHealthy: 1, CanStart: true})
	if s.StartNew != 1 || s.StopOldHealthy != 0 {
		t.Fatalf("min 50 max 100, second step %+v", s)
	}
	// Scale in, failed deployments start nothing.
	s = Plan(Observed{Desired: 1, MinHealthyPercent: 100, MaxPercent: 200, NewHealthy: 2, NewOther: 1, CanStart: true})
	if s.StopNewOther != 1 || s.StopNewHealthy != 1 {
		t.Fatalf("scale in %+v", s)
	}
	if s := Plan(Observed{Desired: 2, MinHealthyPercent: 100, MaxPercent: 200, OldHealthy: 2}); s.StartNew != 0 {
		t.Fatalf("failed deployment started %+v", s)
	}
}

func TestNewID(t *testing.T) {
	id := NewID()
	if !strings.HasPrefix(id, "ecs-svc/") || len(id) != len("ecs-svc/")+19 {
		t.Fatalf("id %q", id)
	}
}
