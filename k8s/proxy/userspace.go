package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/klog/v2"
)

// Route is one host address (a NodePort on the node IP, a LoadBalancer
// ingress IP and port) forwarded to a Service port's endpoints.
type Route struct {
	Port      ServicePort
	Endpoints []Endpoint
}

// Forwarder is the userspace proxy for NodePort and LoadBalancer Services:
// the nodes are all the host (InternalIP 127.0.0.1) and load balancers are
// loopback addresses, where iptables cannot DNAT to the bridge without
// route_localnet; a TCP relay in the control-plane process reaches pods'
// addresses on the bridge directly.
type Forwarder struct {
	mu        sync.Mutex
	listeners map[string]*listener // by host address
	failed    map[string]bool
}

type listener struct {
	ln    net.Listener
	route atomic.Pointer[Route]
	next  atomic.Uint32
	done  chan struct{}
}

// dialTimeout bounds connecting to one endpoint before the next is tried.
const dialTimeout = 3 * time.Second

// NewForwarder returns a Forwarder listening nowhere yet.
func NewForwarder() *Forwarder {
	return &Forwarder{listeners: map[string]*listener{}, failed: map[string]bool{}}
}

// Sync listens on every address of want (TCP "ip:port") and stops
// listening on the others. It returns the addresses it could not listen on
// that it could (or did not try to) the last time, so a caller reports a
// taken port once, not at every sync; they are tried again each time.
func (f *Forwarder) Sync(want map[string]Route) map[string]error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for addr, l := range f.listeners {
		if _, ok := want[addr]; !ok {
			l.close()
			delete(f.listeners, addr)
		}
	}
	for addr := range f.failed {
		if _, ok := want[addr]; !ok {
			delete(f.failed, addr)
		}
	}
	newlyFailed := map[string]error{}
	for addr, r := range want {
		l, ok := f.listeners[addr]
		if !ok {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				if !f.failed[addr] {
					newlyFailed[addr] = err
				}
				f.failed[addr] = true
				continue
			}
			delete(f.failed, addr)
			l = &listener{ln: ln, done: make(chan struct{})}
			f.listeners[addr] = l
			go l.serve()
		}
		r := r
		l.route.Store(&r)
	}
	return newlyFailed
}

// Close stops every listener.
func (f *Forwarder) Close() {
	f.Sync(nil)
}

// Listening lists the addresses listened on.
func (f *Forwarder) Listening() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.listeners))
	for a := range f.listeners {
		out = append(out, a)
	}
	return out
}

func (l *listener) close() {
	close(l.done)
	l.ln.Close()
}

func (l *listener) serve() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		go l.relay(c)
	}
}

// relay connects the client to the endpoints in turn (round robin), trying
// the next one when one refuses, and copies both ways until both ends
// close.
func (l *listener) relay(c net.Conn) {
	defer c.Close()
	r := l.route.Load()
	if r == nil || len(r.Endpoints) == 0 {
		return
	}
	start := int(l.next.Add(1))
	var up net.Conn
	for i := range r.Endpoints {
		e := r.Endpoints[(start+i)%len(r.Endpoints)]
		var err error
		ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
		up, err = (&net.Dialer{}).DialContext(ctx, "tcp", e.String())
		cancel()
		if err == nil {
			break
		}
		klog.V(2).Infof("proxy: %s: endpoint %s: %v", r.Port, e, err)
	}
	if up == nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
}
