// Command registry benchmarks Berth's OCI registry side by side with the
// CNCF distribution registry on the same disk and reports ratios:
//
//	go run ./bench/registry [-quick] [-out bench/results/registry.md]
//
// It installs distribution's registry binary if it is not in the Go bin
// dir, builds ./cmd/berth, and for every row starts a fresh instance of each
// registry over a fresh data dir in one work dir (same filesystem), pushes
// and pulls with go-containerregistry over one HTTP transport configuration,
// and takes the median of -reps runs. Berth is reached the ECR way:
// CreateRepository and GetAuthorizationToken with aws-sdk-go-v2, then the
// OCI API at the returned repositoryUri with Basic AWS:<password>. All
// traffic goes to 127.0.0.1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

type options struct {
	quick        bool
	out          string
	workDir      string
	reps         int
	readyReps    int
	largeMiB     int64
	diskMiB      int64
	smallImages  int
	berthBin     string
	registryBin  string
	profileDir   string
	skipLarge    bool
	skipSmall    bool
	skipStartup  bool
	keep         bool
	only         string
	concurrences []int
}

func main() {
	maybeRunSink()
	var o options
	flag.BoolVar(&o.quick, "quick", false, "small sizes, one run per row (a smoke test, not a measurement)")
	flag.StringVar(&o.out, "out", filepath.Join("bench", "results", "registry.md"), "Markdown file to write the results to")
	flag.StringVar(&o.workDir, "workdir", "", "directory for data dirs and test files (default: a new dir under $TMPDIR); both registries use it, so both are on the same disk")
	flag.IntVar(&o.reps, "reps", 0, "runs per row, median reported (default 3, 1 with -quick)")
	flag.Int64Var(&o.largeMiB, "large-mib", 0, "size of the single-layer image in MiB (default 1024, 64 with -quick)")
	flag.IntVar(&o.smallImages, "small-images", 0, "number of 10-layer images (default 100, 20 with -quick)")
	flag.StringVar(&o.berthBin, "berth", "", "use this berth binary instead of building ./cmd/berth")
	flag.StringVar(&o.registryBin, "registry", "", "use this distribution registry binary instead of the Go bin dir's")
	flag.StringVar(&o.profileDir, "berth-cpuprofile", "", "build Berth from bench/registry/berthprof (cmd/berth plus a CPU profile per run) and write profiles to this dir")
	flag.BoolVar(&o.skipLarge, "skip-large", false, "skip the large-image rows")
	flag.BoolVar(&o.skipSmall, "skip-small", false, "skip the small-image rows")
	flag.BoolVar(&o.skipStartup, "skip-startup", false, "skip the time-to-ready and idle memory measurement")
	conc := flag.String("conc", "1,8", "comma-separated concurrency levels")
	flag.BoolVar(&o.keep, "keep", false, "keep the work dir (logs, data dirs of the last run)")
	flag.StringVar(&o.only, "only", "", "run only this target (distribution or berth), for debugging the bench")
	flag.Parse()
	for _, f := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 64 {
			fmt.Fprintf(os.Stderr, "bench/registry: -conc: %q is not a concurrency in 1..64\n", f)
			os.Exit(2)
		}
		o.concurrences = append(o.concurrences, n)
	}
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench/registry:", err)
		os.Exit(1)
	}
}

func (o *options) defaults() {
	def := func(v *int, full, quick int) {
		if *v == 0 {
			*v = full
			if o.quick {
				*v = quick
			}
		}
	}
	def(&o.reps, 3, 1)
	def(&o.readyReps, 5, 2)
	def(&o.smallImages, 100, 20)
	if o.largeMiB == 0 {
		o.largeMiB = 1024
		if o.quick {
			o.largeMiB = 64
		}
	}
	o.diskMiB = o.largeMiB
	if o.concurrences == nil {
		o.concurrences = []int{1, 8}
	}
}

func run(o options, stdout io.Writer) error {
	o.defaults()
	if o.reps < 1 || o.reps > 50 || o.largeMiB < 1 || o.largeMiB > 64<<10 || o.smallImages < 1 || o.smallImages > 10000 {
		return errors.New("flags out of range")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
	}

	root, err := moduleRoot()
	if err != nil {
		return err
	}
	work := o.workDir
	if work == "" {
		if work, err = os.MkdirTemp("", "berth-bench-registry-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(work)
	}
	logf("work dir %s", work)

	regBin, err := distributionBinary(ctx, o.registryBin, logf)
	if err != nil {
		return err
	}
	berthBin := o.berthBin
	pkg := "./cmd/berth"
	if o.profileDir != "" {
		pkg = "./bench/registry/berthprof"
		if o.profileDir, err = filepath.Abs(o.profileDir); err != nil {
			return err
		}
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return err
		}
	}
	if berthBin == "" {
		berthBin = filepath.Join(work, "berth")
		logf("building %s", pkg)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", berthBin, pkg)
		cmd.Dir = root
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build %s: %w", pkg, err)
		}
	}
	b := berth{bin: berthBin}
	var profSeq int
	var profLabel string
	if o.profileDir != "" {
		b.env = func(string) []string {
			profSeq++
			return []string{"BERTH_BENCH_CPUPROFILE=" + filepath.Join(o.profileDir, fmt.Sprintf("%02d-%s.pprof", profSeq, profLabel))}
		}
	}
	targets := []target{distribution{bin: regBin}, b}
	switch strings.ToLower(o.only) {
	case "":
	case "distribution":
		targets = targets[:1]
	case "berth":
		targets = targets[1:]
	default:
		return fmt.Errorf("-only %q: want distribution or berth", o.only)
	}

	rep := &report{opts: o, work: work}
	rep.machine = describeMachine(work)
	rep.versions = versions(ctx, root, regBin)
	logf("machine: %s", rep.machine)

	// Disk: fsynced write speed on the work dir's filesystem.
	for i := range o.reps {
		mbps, err := diskWriteMBps(filepath.Join(work, "fsync-test"), o.diskMiB<<20)
		if err != nil {
			return fmt.Errorf("disk test: %w", err)
		}
		logf("disk fsynced write %d/%d: %.0f MB/s", i+1, o.reps, mbps)
		rep.diskMBps = append(rep.diskMBps, mbps)
	}

	// Startup and idle memory.
	if !o.skipStartup {
		if err := measureStartup(ctx, o, work, targets, rep, logf); err != nil {
			return err
		}
	}

	// Workloads.
	var workloads []*workload
	if !o.skipLarge {
		path := filepath.Join(work, "large-layer.tar")
		logf("writing %d MiB random layer to %s", o.largeMiB, path)
		img, err := makeLargeImage(path, o.largeMiB<<20)
		if err != nil {
			return err
		}
		for i := range o.reps {
			for _, hash := range []bool{false, true} {
				dir, err := os.MkdirTemp(work, "sink-")
				if err != nil {
					return err
				}
				v, err := sinkPutMBps(ctx, dir, path, hash, filepath.Join(work, "sink.log"))
				os.RemoveAll(dir)
				if err != nil {
					return fmt.Errorf("sink: %w", err)
				}
				logf("bare HTTP PUT to file+fsync (sha256 %v) %d/%d: %.0f MB/s", hash, i+1, o.reps, v)
				if hash {
					rep.sinkHashMBps = append(rep.sinkHashMBps, v)
				} else {
					rep.sinkMBps = append(rep.sinkMBps, v)
				}
			}
		}
		workloads = append(workloads, &workload{
			key:   "large",
			label: fmt.Sprintf("1 image, 1 layer of %s", sizeLabel(o.largeMiB<<20)),
			// c clients push the same image, each to its own repository (so
			// each uploads every byte), and then pull it concurrently.
			jobs: func(c int) ([]string, func(repos []name.Repository) []job) {
				names := make([]string, c)
				for i := range names {
					names[i] = fmt.Sprintf("bench/large-%d", i)
				}
				return names, func(repos []name.Repository) []job {
					out := make([]job, c)
					for i := range out {
						out[i] = job{ref: repos[i].Tag("v1"), img: img}
					}
					return out
				}
			},
		})
	}
	if !o.skipSmall {
		logf("generating %d images of 10 layers of 10-100 KiB", o.smallImages)
		imgs, err := makeSmallImages(o.smallImages, 10, 10, 100)
		if err != nil {
			return err
		}
		var total int64
		for _, im := range imgs {
			total += im.bytes
		}
		workloads = append(workloads, &workload{
			key:   "small",
			label: fmt.Sprintf("%d images × 10 layers of 10–100 KiB (%s)", len(imgs), sizeLabel(total)),
			// c workers share one repository and a queue of all images.
			jobs: func(c int) ([]string, func(repos []name.Repository) []job) {
				return []string{"bench/small"}, func(repos []name.Repository) []job {
					out := make([]job, len(imgs))
					for i := range out {
						out[i] = job{ref: repos[0].Tag(fmt.Sprintf("img-%03d", i)), img: imgs[i]}
					}
					return out
				}
			},
		})
	}

	for _, w := range workloads {
		for _, c := range o.concurrences {
			row := rep.row(w, c)
			for r := range o.reps {
				order := targets
				if r%2 == 1 && len(targets) == 2 {
					order = []target{targets[1], targets[0]}
				}
				for _, t := range order {
					profLabel = fmt.Sprintf("%s-c%d-rep%d", w.key, c, r+1)
					m, err := runOnce(ctx, work, t, w, c)
					if err != nil {
						return fmt.Errorf("%s %s c=%d: %w", t.Name(), w.key, c, err)
					}
					logf("%-12s %-5s c=%d run %d/%d: push %6.2fs (%7.1f MB/s, server CPU %5.2fs)  pull %6.2fs (%7.1f MB/s, server CPU %5.2fs)",
						t.Name(), w.key, c, r+1, o.reps, m.push.Seconds(), mbps(m.bytes, m.push), m.pushCPU.Seconds(),
						m.pull.Seconds(), mbps(m.bytes, m.pull), m.pullCPU.Seconds())
					row.add(t.Name(), m)
				}
			}
		}
	}

	md := rep.markdown()
	fmt.Fprint(stdout, md)
	if o.out != "" {
		out := o.out
		if !filepath.IsAbs(out) {
			out = filepath.Join(root, out)
		}
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
			return err
		}
		logf("wrote %s", out)
	}
	return nil
}

// measurement is one run of one row on one target.
type measurement struct {
	push, pull time.Duration
	// server process CPU time (user+system) during push and pull
	pushCPU, pullCPU time.Duration
	bytes            int64 // bytes of manifests and blobs moved in each direction
}

// runOnce starts a fresh instance of t over a fresh data dir, creates the
// repositories, pushes (timed), pulls (timed), stops it and removes the
// data dir.
func runOnce(ctx context.Context, work string, t target, w *workload, c int) (measurement, error) {
	dataDir, err := os.MkdirTemp(work, strings.ToLower(t.Name())+"-")
	if err != nil {
		return measurement{}, err
	}
	defer os.RemoveAll(dataDir)
	inst, err := t.Start(ctx, dataDir, filepath.Join(work, strings.ToLower(t.Name())+".log"))
	if err != nil {
		return measurement{}, err
	}
	defer inst.proc.stop()
	names, mk := w.jobs(c)
	repos, auth, err := inst.repos(ctx, names)
	if err != nil {
		return measurement{}, err
	}
	jobs := mk(repos)
	var m measurement
	for _, j := range jobs {
		m.bytes += j.img.bytes
	}
	// Flush the previous run's writeback so it is not billed to this one.
	syscall.Sync()
	cpu0, err := inst.proc.cpuTime()
	if err != nil {
		return m, err
	}
	if m.push, err = pushAll(ctx, jobs, c, auth, newTransport()); err != nil {
		return m, err
	}
	cpu1, err := inst.proc.cpuTime()
	if err != nil {
		return m, err
	}
	syscall.Sync()
	cpu2, err := inst.proc.cpuTime()
	if err != nil {
		return m, err
	}
	if m.pull, err = pullAll(ctx, jobs, c, auth, newTransport()); err != nil {
		return m, err
	}
	cpu3, err := inst.proc.cpuTime()
	if err != nil {
		return m, err
	}
	m.pushCPU, m.pullCPU = cpu1-cpu0, cpu3-cpu2
	return m, nil
}

// measureStartup starts each target o.readyReps times (after one untimed
// warm-up start) over a fresh data dir, recording time-to-ready and idle RSS
// 2s after ready, then restarts it over the same (now initialised) data dir
// and records time-to-ready again.
func measureStartup(ctx context.Context, o options, work string, targets []target, rep *report, logf func(string, ...any)) error {
	rep.startup = map[string]*startupStats{}
	for _, t := range targets {
		rep.startup[t.Name()] = &startupStats{}
	}
	for i := -1; i < o.readyReps; i++ {
		for _, t := range targets {
			if err := ctx.Err(); err != nil {
				return err
			}
			dataDir, err := os.MkdirTemp(work, "startup-")
			if err != nil {
				return err
			}
			logPath := filepath.Join(work, strings.ToLower(t.Name())+"-startup.log")
			inst, err := t.Start(ctx, dataDir, logPath)
			if err != nil {
				os.RemoveAll(dataDir)
				return fmt.Errorf("%s start: %w", t.Name(), err)
			}
			time.Sleep(2 * time.Second)
			rss, err := inst.proc.rssKiB()
			inst.proc.stop()
			if err != nil {
				os.RemoveAll(dataDir)
				return err
			}
			again, err := t.Start(ctx, dataDir, logPath)
			if err != nil {
				os.RemoveAll(dataDir)
				return fmt.Errorf("%s restart: %w", t.Name(), err)
			}
			again.proc.stop()
			os.RemoveAll(dataDir)
			if i < 0 {
				continue // warm-up: binary pages into the cache
			}
			s := rep.startup[t.Name()]
			s.ready = append(s.ready, inst.ready)
			s.restart = append(s.restart, again.ready)
			s.rssKiB = append(s.rssKiB, rss)
			logf("%-12s start %d/%d: ready in %v (restart %v), idle RSS %.1f MiB", t.Name(), i+1, o.readyReps,
				inst.ready.Round(time.Microsecond*100), again.ready.Round(time.Microsecond*100), float64(rss)/1024)
		}
	}
	return nil
}

// diskWriteMBps writes n bytes of random data to path in 1 MiB writes,
// fsyncs, and returns MB/s (10^6 bytes) including the fsync.
func diskWriteMBps(path string, n int64) (float64, error) {
	buf := make([]byte, 1<<20)
	rngFill(buf)
	syscall.Sync()
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer os.Remove(path)
	start := time.Now()
	for written := int64(0); written < n; written += int64(len(buf)) {
		if _, err := f.Write(buf); err != nil {
			f.Close()
			return 0, err
		}
		buf[0]++ // every MiB different
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return 0, err
	}
	el := time.Since(start)
	if err := f.Close(); err != nil {
		return 0, err
	}
	return mbps(n, el), nil
}

func mbps(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / 1e6 / d.Seconds()
}

func median[T int64 | time.Duration | float64](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run from inside the berth module")
	}
	return filepath.Dir(mod), nil
}

// distributionBinary returns the registry binary, installing it with
// `go install github.com/distribution/distribution/v3/cmd/registry@latest`
// into the Go bin dir when it is not there yet.
func distributionBinary(ctx context.Context, explicit string, logf func(string, ...any)) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		return "", fmt.Errorf("go env: %w", err)
	}
	lines := strings.Split(string(out), "\n")
	binDir := strings.TrimSpace(lines[0])
	if binDir == "" && len(lines) > 1 {
		gopath := filepath.SplitList(strings.TrimSpace(lines[1]))
		if len(gopath) == 0 {
			return "", errors.New("no GOPATH")
		}
		binDir = filepath.Join(gopath[0], "bin")
	}
	bin := filepath.Join(binDir, "registry")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	logf("installing the distribution registry into %s", binDir)
	cmd := exec.CommandContext(ctx, "go", "install", "github.com/distribution/distribution/v3/cmd/registry@latest")
	cmd.Dir = os.TempDir() // outside any module
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go install distribution registry: %w", err)
	}
	return bin, nil
}
