// Command pause is the first process of every awsvpc task and pod sandbox:
// it holds the network namespace the task's containers join, and does
// nothing else until it is told to stop.
//
// It is built by `go generate ./runtime/docker` into the gzip files that
// runtime/docker embeds and packs into the berth/pause image in-process, so
// Berth never has to pull a pause image from a registry.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// As PID 1 of its namespace the process gets no default signal
	// handling from the kernel: without a handler SIGTERM would be ignored
	// and every `docker stop` would wait for the SIGKILL.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
