package benchenv

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	d := []time.Duration{5, 1, 3, 2, 4}
	if got := Percentile(d, .5); got != 3 {
		t.Errorf("p50 = %d", got)
	}
	if got := Percentile(d, .95); got != 5 {
		t.Errorf("p95 = %d", got)
	}
	if d[0] != 5 {
		t.Errorf("Percentile sorted its argument: %v", d)
	}
}
