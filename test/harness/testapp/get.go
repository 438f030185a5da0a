package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// get is curl for pods: the image has none, and Service tests need a
// client inside the cluster (`kubectl exec client -- /app get URL`).
func get(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "testapp get: usage: get URL")
		return 2
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "testapp get:", err)
		return 1
	}
	defer resp.Body.Close()
	if _, err := io.Copy(os.Stdout, resp.Body); err != nil {
		fmt.Fprintln(os.Stderr, "testapp get:", err)
		return 1
	}
	if resp.StatusCode/100 != 2 {
		fmt.Fprintln(os.Stderr, "testapp get:", resp.Status)
		return 1
	}
	return 0
}
