package appautoscaling

import (
	"encoding/json"
	"math"
	"testing"
)

func TestDesiredCapacity(t *testing.T) {
	for _, c := range []struct {
		current       int32
		value, target float64
		want          int32
	}{
		{1, 100, 20, 5},  // 5x the target needs 5x the tasks
		{2, 30, 20, 3},   // rounds up: 3 tasks bring 30 down to 20
		{4, 20, 20, 4},   // at target
		{10, 5, 50, 1},   // far below target
		{0, 90, 50, 0},   // nothing to scale from
		{3, 100, 0, 3},   // no target
		{4, 10.5, 10, 5}, // just above target adds a task
	} {
		if got := desiredCapacity(c.current, c.value, c.target); got != c.want {
			t.Errorf("desiredCapacity(%d, %v, %v) = %d, want %d", c.current, c.value, c.target, got, c.want)
		}
	}
}

func TestDecide(t *testing.T) {
	out := func(capacity int32) proposal { return proposal{out: true, capacity: capacity} }
	in := func(capacity int32) proposal { return proposal{in: true, capacity: capacity} }
	hold := proposal{capacity: 4}
	for _, c := range []struct {
		name    string
		current int32
		props   []proposal
		want    int32
		acted   bool
	}{
		{"no policy", 4, nil, 4, false},
		{"largest scale-out wins", 4, []proposal{out(6), out(9), in(1)}, 9, true},
		{"scale-out adds at least one", 4, []proposal{out(4)}, 5, true},
		{"one holding policy blocks scale-in", 4, []proposal{in(2), hold}, 4, false},
		{"scale-in is gradual", 20, []proposal{in(2)}, 18, true},
		{"scale-in by the smallest reduction", 4, []proposal{in(1), in(3)}, 3, true},
		{"small scale-in removes one", 3, []proposal{in(1)}, 2, true},
	} {
		got, by := decide(c.current, c.props)
		if got != c.want || (by != nil) != c.acted {
			t.Errorf("%s: decide = %d (acted %v), want %d (acted %v)", c.name, got, by != nil, c.want, c.acted)
		}
	}
}

func TestDockerStatsUtilization(t *testing.T) {
	// A quarter of one CPU on a 4-CPU host, 96 MiB used of which 32 MiB
	// is reclaimable cache.
	raw := `{"cpu_stats": {"cpu_usage": {"total_usage": 1250000000}, "system_cpu_usage": 24000000000, "online_cpus": 4},
	"precpu_stats": {"cpu_usage": {"total_usage": 1000000000}, "system_cpu_usage": 20000000000, "online_cpus": 4},
	"memory_stats": {"usage": 100663296, "limit": 536870912, "stats": {"inactive_file": 33554432}}}`
	var d dockerStats
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		t.Fatal(err)
	}
	// 0.25 s of CPU over 4 s of host time on 4 CPUs: 0.25 CPU, 256 units.
	if got := d.cpuUnits(); math.Abs(got-256) > 0.01 {
		t.Errorf("cpuUnits = %v, want 256", got)
	}
	if got := d.memMiB(); got != 64 {
		t.Errorf("memMiB = %v, want 64", got)
	}
	u := usage{tasks: 2, cpuUsed: 256 + 128, cpuReserved: 512 + 512, memUsed: 64, memReserved: 256}
	if u.cpuPercent() != 37.5 || u.memPercent() != 25 {
		t.Errorf("service utilization: cpu %v mem %v", u.cpuPercent(), u.memPercent())
	}
}
