package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rawWorkers matches the nodes' pod workers (k8s/nodes podWorkers): the peer
// gets the same parallelism Berth's nodes use.
const rawWorkers = 16

// rawLabel marks the peer's containers so they all go whatever fails.
const rawLabel = "dev.berth.bench=eks-raw"

// rawDocker is the peer of the 100-pod row: what the Docker engine alone
// takes to run the same containers, n pairs of a pause sandbox on Berth's
// network and an app container joined to its network namespace (what a pod
// is on Berth's nodes), started with `docker run -d`, rawWorkers at a time.
func rawDocker(ctx context.Context, n int) (time.Duration, error) {
	out, err := exec.CommandContext(ctx, "docker", "images", "berth/pause", "--format", "{{.Repository}}:{{.Tag}}").Output()
	if err != nil {
		return 0, fmt.Errorf("docker images: %w", err)
	}
	pause, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if pause == "" {
		return 0, errors.New("no berth/pause image: Berth's nodes did not run")
	}
	defer removeLabelled(rawLabel)

	jobs := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for range rawWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				sb := "bench-eks-raw-sb-" + strconv.Itoa(i)
				if err := dockerRun(ctx, "--name", sb, "--network", "berth", pause); err != nil {
					errs <- err
					continue
				}
				if err := dockerRun(ctx, "--name", "bench-eks-raw-app-"+strconv.Itoa(i), "--network", "container:"+sb, appImage); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	took := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return took, nil
}

func dockerRun(ctx context.Context, args ...string) error {
	argv := append([]string{"run", "-d", "--label", rawLabel}, args...)
	if out, err := exec.CommandContext(ctx, "docker", argv...).CombinedOutput(); err != nil {
		return fmt.Errorf("docker run: %v: %s", err, out)
	}
	return nil
}

func removeLabelled(label string) {
	out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label="+label).Output()
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
	}
}
