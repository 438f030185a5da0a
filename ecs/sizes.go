package ecs

import (
	"strconv"
	"strings"
)

// Task-level cpu and memory are strings: cpu in CPU units ("1024") or vCPUs
// ("1 vCPU", "0.25 vcpu"), memory in MiB ("2048") or GB ("2GB", "2 GB").
// Registration stores them as integer strings, as AWS does.

// parseCPU returns CPU units, ok false when s is neither form.
func parseCPU(s string) (int64, bool) {
	v := strings.TrimSpace(strings.ToLower(s))
	if num, found := strings.CutSuffix(v, "vcpu"); found {
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || f <= 0 {
			return 0, false
		}
		return int64(f * 1024), true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// parseMemory returns MiB, ok false when s is neither form.
func parseMemory(s string) (int64, bool) {
	v := strings.TrimSpace(strings.ToLower(s))
	for _, unit := range []string{"gib", "gb"} {
		if num, found := strings.CutSuffix(v, unit); found {
			f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err != nil || f <= 0 {
				return 0, false
			}
			return int64(f * 1024), true
		}
	}
	for _, unit := range []string{"mib", "mb"} {
		if num, found := strings.CutSuffix(v, unit); found {
			v = strings.TrimSpace(num)
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// fargateMemory lists, for each Fargate task CPU value, the memory range in
// MiB and its step, from AWS's table of supported combinations.
var fargateMemory = map[int64]struct{ min, max, step int64 }{
	256:   {512, 2048, 512}, // 512, 1024, 2048 (1536 is excluded below)
	512:   {1024, 4096, 1024},
	1024:  {2048, 8192, 1024},
	2048:  {4096, 16384, 1024},
	4096:  {8192, 30720, 1024},
	8192:  {16384, 61440, 4096},
	16384: {32768, 122880, 8192},
}

// fargateCPU reports whether cpu is a Fargate task size.
func fargateCPU(cpu int64) bool {
	_, ok := fargateMemory[cpu]
	return ok
}

// fargateCombination reports whether cpu and memory are one of AWS's
// supported Fargate combinations.
func fargateCombination(cpu, mem int64) bool {
	r, ok := fargateMemory[cpu]
	if !ok || mem < r.min || mem > r.max || (mem-r.min)%r.step != 0 {
		return false
	}
	return !(cpu == 256 && mem == 1536)
}
