package benchenv

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Result is one row of one server: throughput, latency percentiles and
// the failed calls (with the first failure, for the report).
type Result struct {
	PerSec   float64
	P50, P99 time.Duration
	Errors   int64
	FirstErr error
}

// Measure runs op requests times (i from 0) with conc calls in flight.
func Measure(requests, conc int, op func(i int) error) Result {
	var lat []time.Duration
	var mu sync.Mutex
	var next, errs atomic.Int64
	var firstErr error
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for {
				i := int(next.Add(1)) - 1
				if i >= requests {
					break
				}
				s := time.Now()
				if err := op(i); err != nil && errs.Add(1) == 1 {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
				mine = append(mine, time.Since(s))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	wall := time.Since(t0)
	return Result{PerSec: float64(requests) / wall.Seconds(), P50: Percentile(lat, .5), P99: Percentile(lat, .99), Errors: errs.Load(), FirstErr: firstErr}
}

// MS formats d in milliseconds with two decimals, as the reports do.
func MS(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }
