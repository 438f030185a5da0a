// Command testprog is the program in runtimetest's test image: one static
// binary with a mode per behaviour the runtime suite (and the ECS tests)
// need from a container, since the image has no shell and no registry can
// supply real ones.
//
//	/app env [ARGS...]          print args, cwd, ids, pid, nofile and core limits,
//	                            whether / is writable, the environment; exit 0
//	/app print WORDS...         print each word on its own line; exit 0
//	/app exit N                 exit with status N
//	/app serve PORT             serve HTTP: / says hello, /health is 200
//	/app fetch URL [TIMEOUT]    GET URL until it answers 200 (or TIMEOUT,
//	                            default 10s): print the body and exit 0, else 1
//	/app sleep [DURATION]       sleep (default: forever); on SIGTERM, SIGINT
//	                            or SIGUSR1 print "signal: NAME" and exit 0
//	/app ignore-sigterm         print "ready", ignore SIGTERM, sleep forever
//	/app write PATH TEXT        write TEXT to PATH; exit 0
//	/app read PATH              print PATH's content; exit 1 if unreadable
//	/app rm PATH                remove PATH and everything under it; exit 0
//	/app logs N [INTERVAL]      print "out I" to stdout and "err I" to stderr
//	                            for I in 1..N, INTERVAL apart; exit 0
//	/app alloc MIB              allocate and touch MIB MiB, then sleep
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: app MODE [ARGS...]")
	}
	mode, args := os.Args[1], os.Args[2:]
	switch mode {
	case "env":
		printEnv(args)
	case "print":
		for _, a := range args {
			fmt.Println(a)
		}
	case "exit":
		os.Exit(atoi(arg(args, 0, "0")))
	case "serve":
		serve(arg(args, 0, "8080"))
	case "fetch":
		fetch(arg(args, 0, ""), duration(arg(args, 1, "10s")))
	case "sleep":
		sleep(arg(args, 0, ""))
	case "ignore-sigterm":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		forever()
	case "write":
		if err := os.WriteFile(arg(args, 0, ""), []byte(arg(args, 1, "")), 0o644); err != nil {
			fail(err.Error())
		}
	case "read":
		b, err := os.ReadFile(arg(args, 0, ""))
		if err != nil {
			fail(err.Error())
		}
		os.Stdout.Write(b)
	case "rm":
		if err := os.RemoveAll(arg(args, 0, "")); err != nil {
			fail(err.Error())
		}
	case "logs":
		n, every := atoi(arg(args, 0, "3")), duration(arg(args, 1, "0s"))
		for i := 1; i <= n; i++ {
			fmt.Fprintf(os.Stdout, "out %d\n", i)
			fmt.Fprintf(os.Stderr, "err %d\n", i)
			time.Sleep(every)
		}
	case "alloc":
		mib := atoi(arg(args, 0, "64"))
		var keep [][]byte
		for i := 0; i < mib; i++ {
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = byte(j)
			}
			keep = append(keep, b)
		}
		fmt.Println("allocated", len(keep), "MiB")
		forever()
	default:
		fail("unknown mode " + mode)
	}
}

func printEnv(args []string) {
	wd, _ := os.Getwd()
	fmt.Printf("args=%s\n", strings.Join(args, "|"))
	fmt.Printf("cwd=%s\n", wd)
	fmt.Printf("uid=%d\n", os.Getuid())
	fmt.Printf("gid=%d\n", os.Getgid())
	fmt.Printf("pid=%d\n", os.Getpid())
	var rl syscall.Rlimit
	// Go raises its own soft nofile limit at start, so only the hard one
	// shows what the container was given; core is left alone.
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil {
		fmt.Printf("nofile-hard=%d\n", rl.Max)
	}
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &rl); err == nil {
		fmt.Printf("core=%d/%d\n", rl.Cur, rl.Max)
	}
	h, _ := os.Hostname()
	fmt.Printf("hostname=%s\n", h)
	f, err := os.Create("/.probe")
	fmt.Printf("rootfs-writable=%t\n", err == nil)
	if err == nil {
		f.Close()
		os.Remove("/.probe")
	}
	env := os.Environ()
	sort.Strings(env)
	for _, e := range env {
		fmt.Printf("env:%s\n", e)
	}
}

func serve(port string) {
	host, _ := os.Hostname()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s\n", host)
	})
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	srv := &http.Server{Addr: ":" + port, Handler: mux}
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
		<-stop
		srv.Close()
	}()
	fmt.Println("serving on", port)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fail(err.Error())
	}
}

func fetch(url string, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	c := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := c.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				os.Stdout.Write(body)
				return
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if time.Now().After(deadline) {
			fail("fetch " + url + ": " + err.Error())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func sleep(d string) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1)
	var done <-chan time.Time
	if d != "" {
		done = time.After(duration(d))
	}
	fmt.Println("sleeping")
	select {
	case s := <-sigs:
		fmt.Println("signal:", s)
	case <-done:
	}
}

// forever blocks without tripping the runtime's deadlock detector, which an
// empty select would when no other goroutine exists.
func forever() {
	for {
		time.Sleep(time.Hour)
	}
}

func arg(args []string, i int, def string) string {
	if i < len(args) {
		return args[i]
	}
	return def
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fail("not a number: " + s)
	}
	return n
}

func duration(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		fail("not a duration: " + s)
	}
	return d
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(1)
}
