package main

import (
	"fmt"
	"time"
)

// burn keeps one CPU busy until SIGTERM, so the task's measured CPU
// utilization is as high as its limit lets it be.
func burn(name string) {
	fmt.Printf("testapp %s burning CPU\n", name)
	ctx, stop := terminated()
	defer stop()
	x := uint64(1)
	for ctx.Err() == nil {
		// Check for SIGTERM every few milliseconds of work.
		for end := time.Now().Add(5 * time.Millisecond); time.Now().Before(end); {
			for i := 0; i < 1000; i++ {
				x = x*6364136223846793005 + 1442695040888963407
			}
		}
	}
	fmt.Println("testapp: SIGTERM", x&1)
}
