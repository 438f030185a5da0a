// Command testapp is the program inside harness.TestImage: one static
// binary that can stand in for the containers ECS and EKS tests run, since
// the tests have no image registry to pull real ones from.
//
//	/app [serve]        serve HTTP on $PORT (default 8080) until SIGTERM
//	/app print WORDS    print WORDS (and $IMAGE_NAME) and exit 0
//	/app exit N         print a line and exit with status N
//	/app sleep DURATION sleep, then exit 0 (SIGTERM ends it early)
//	/app check URL      exit 0 when GET URL answers 2xx: a container health
//	                    check command, as the image has no shell or curl
//	/app get URL        print the body of GET URL; exit 1 on any error or non-2xx
//	/app whoami [LINGER] print the caller identity STS gives aws-sdk-go-v2's
//	                    default credential chain (in an ECS task: the task
//	                    role, from the credentials endpoint) and the task ARN
//	                    from $ECS_CONTAINER_METADATA_URI_V4/task, stay LINGER
//	                    (SIGTERM ends it early), then exit, 1 when either
//	                    failed
//	/app alloc MIB      allocate and touch MIB MiB, print a line, then
//	                    sleep until SIGTERM (memory limit tests)
//	/app burn           keep one CPU busy until SIGTERM (auto scaling tests)
//
// HTTP routes: / (JSON about the app), /health (200, or 503 after /sick
// until /well), /sick, /well, /ready (200, or 503 after /unready until
// /ready-again), /unready, /ready-again, /env (the environment as JSON),
// /exit?code=N. Liveness and readiness break separately, so probe tests
// can tell a restart from a pod leaving its Service's endpoints.
// Every mode exits 0 on SIGTERM, unless IGNORE_SIGTERM is set (to test stop
// timeouts); as PID 1 in a container it must handle the signal itself.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	args := os.Args[1:]
	mode := "serve"
	if len(args) > 0 {
		mode, args = args[0], args[1:]
	}
	name := os.Getenv("IMAGE_NAME")
	switch mode {
	case "serve":
		serve(name)
	case "print":
		fmt.Println(strings.Join(args, " "))
		fmt.Printf("testapp %s printed\n", name)
	case "exit":
		code := 0
		if len(args) > 0 {
			code, _ = strconv.Atoi(args[0])
		}
		fmt.Printf("testapp %s exiting with %d\n", name, code)
		os.Exit(code)
	case "sleep":
		d := time.Hour
		if len(args) > 0 {
			if v, err := time.ParseDuration(args[0]); err == nil {
				d = v
			}
		}
		fmt.Printf("testapp %s sleeping %s\n", name, d)
		ctx, stop := terminated()
		defer stop()
		select {
		case <-time.After(d):
		case <-ctx.Done():
			fmt.Println("testapp: SIGTERM")
		}
	case "check":
		os.Exit(check(args))
	case "get":
		os.Exit(get(args))
	case "whoami":
		code := whoami()
		if len(args) > 0 {
			if d, err := time.ParseDuration(args[0]); err == nil {
				ctx, stop := terminated()
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
				stop()
			}
		}
		os.Exit(code)
	case "alloc":
		os.Exit(alloc(name, args))
	case "burn":
		burn(name)
	case "echo":
		os.Exit(echo())
	default:
		fmt.Fprintf(os.Stderr, "testapp: unknown mode %q (serve, print, exit, sleep, check, whoami, alloc)\n", mode)
		os.Exit(2)
	}
}

// alloc holds MiB of memory the kernel must back (every page written),
// until SIGTERM.
func alloc(name string, args []string) int {
	mib := 0
	if len(args) > 0 {
		mib, _ = strconv.Atoi(args[0])
	}
	if mib <= 0 {
		fmt.Fprintln(os.Stderr, "testapp: alloc needs a positive number of MiB")
		return 2
	}
	ctx, stop := terminated()
	defer stop()
	keep := make([][]byte, 0, mib)
	for i := 0; i < mib; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		keep = append(keep, b)
	}
	fmt.Printf("testapp %s allocated %d MiB\n", name, len(keep))
	<-ctx.Done()
	fmt.Println("testapp: SIGTERM", len(keep))
	return 0
}

// terminated is a context that ends on SIGTERM or SIGINT, or never when
// IGNORE_SIGTERM is set.
func terminated() (context.Context, context.CancelFunc) {
	if os.Getenv("IGNORE_SIGTERM") != "" {
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
		return context.WithCancel(context.Background())
	}
	return signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
}

func serve(name string) {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	host, _ := os.Hostname()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"name": name, "hostname": host, "path": r.URL.Path, "message": os.Getenv("MESSAGE"),
		})
	})
	// /health breaks after /sick and heals after /well (liveness probes);
	// /ready does the same with /unready and /ready-again (readiness).
	var sick, unready atomic.Bool
	probeRoutes(mux, &sick, "/health", "/sick", "/well", "ok", "sick")
	probeRoutes(mux, &unready, "/ready", "/unready", "/ready-again", "ready", "unready")
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		writeJSON(w, http.StatusOK, env)
	})
	mux.HandleFunc("/exit", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		writeJSON(w, http.StatusOK, map[string]int{"exiting": code})
		fmt.Printf("testapp %s exiting with %d on request\n", name, code)
		go func() {
			time.Sleep(100 * time.Millisecond) // let the response go out
			os.Exit(code)
		}()
	})
	srv := &http.Server{Addr: ":" + port, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := terminated()
	defer stop()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		<-ctx.Done()
		fmt.Println("testapp: SIGTERM, shutting down")
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	fmt.Printf("testapp %s listening on :%s\n", name, port)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "testapp:", err)
		os.Exit(1)
	}
	// ListenAndServe returns as Shutdown begins; in-flight requests finish first.
	<-drained
}

// probeRoutes serves a probe endpoint at path answering 200 {"status": up},
// or 503 {"status": down} once bad is set; GET breakPath sets it and
// GET healPath clears it.
func probeRoutes(mux *http.ServeMux, bad *atomic.Bool, path, breakPath, healPath, up, down string) {
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		if bad.Load() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": down})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": up})
	})
	for p, v := range map[string]bool{breakPath: true, healPath: false} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			bad.Store(v)
			status := up
			if v {
				status = down
			}
			writeJSON(w, http.StatusOK, map[string]string{"status": status})
		})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func check(args []string) int {
	url := "http://127.0.0.1:8080/health"
	if len(args) > 0 {
		url = args[0]
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testapp check:", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		fmt.Fprintln(os.Stderr, "testapp check:", resp.Status)
		return 1
	}
	return 0
}
