// Command berthprof is `berth up` with a CPU profile, for bench/registry
// -berth-cpuprofile only: it serves exactly what cmd/berth serves and, when
// BERTH_BENCH_CPUPROFILE names a file, profiles the whole process lifetime
// into it (written on SIGTERM).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/berth-dev/berth/config"
	"github.com/berth-dev/berth/server"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "berthprof:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) < 2 || os.Args[1] != "up" {
		return fmt.Errorf("usage: berthprof up --listen ADDR --data-dir DIR [--log-level LEVEL]")
	}
	cfg := config.Default()
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	listen := fs.String("listen", cfg.Listen, "address to serve on")
	dataDir := fs.String("data-dir", cfg.DataDir, "data directory")
	logLevel := fs.String("log-level", cfg.LogLevel, "log level")
	if err := fs.Parse(os.Args[2:]); err != nil {
		return err
	}
	if err := cfg.LoadEnv(os.Getenv); err != nil {
		return err
	}
	cfg.Listen, cfg.DataDir, cfg.LogLevel = *listen, *dataDir, *logLevel
	if err := cfg.Validate(); err != nil {
		return err
	}
	if path := os.Getenv("BERTH_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return server.Run(ctx, cfg, "bench", os.Stderr)
}
