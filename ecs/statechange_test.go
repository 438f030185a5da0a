package ecs

import "testing"

func TestStopCodeOf(t *testing.T) {
	cases := []struct {
		reason       string
		neverStarted bool
		want         string
	}{
		{"Essential container in task exited", false, "EssentialContainerExited"},
		{"Essential container in task exited", true, "EssentialContainerExited"},
		{"CannotPullContainerError: Error response from daemon: manifest unknown", true, "TaskFailedToStart"},
		{"something else", false, ""},
	}
	for _, c := range cases {
		if got := stopCodeOf(c.reason, c.neverStarted); got != c.want {
			t.Errorf("stopCodeOf(%q, %v) = %q, want %q", c.reason, c.neverStarted, got, c.want)
		}
	}
}
