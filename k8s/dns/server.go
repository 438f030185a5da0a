package dns

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	"k8s.io/klog/v2"
)

// Server answers the cluster domain from Records and forwards the rest.
type Server struct {
	Domain  string
	Records Records
	// Upstreams are "ip:port" resolvers for other names, tried in order.
	Upstreams []string

	mu   sync.Mutex
	udp  net.PacketConn
	tcp  net.Listener
	port int
}

// upstreamTimeout bounds one forwarded query per upstream.
const upstreamTimeout = 3 * time.Second

// Listen binds UDP and TCP on the same port of ip: port first (the one a
// previous run used, so rules pointing at it stay right), else a free one.
func (s *Server) Listen(ip netip.Addr, port int) error {
	try := func(p int) error {
		u, err := net.ListenPacket("udp4", netip.AddrPortFrom(ip, uint16(p)).String())
		if err != nil {
			return err
		}
		got := u.LocalAddr().(*net.UDPAddr).Port
		t, err := net.Listen("tcp4", netip.AddrPortFrom(ip, uint16(got)).String())
		if err != nil {
			u.Close()
			return err
		}
		s.mu.Lock()
		s.udp, s.tcp, s.port = u, t, got
		s.mu.Unlock()
		return nil
	}
	if port > 0 && try(port) == nil {
		return nil
	}
	var err error
	for range 10 {
		if err = try(0); err == nil {
			return nil
		}
	}
	return fmt.Errorf("dns: listen on %s: %w", ip, err)
}

// Port is the port Listen bound.
func (s *Server) Port() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.port
}

// Serve answers until ctx ends, then closes the sockets.
func (s *Server) Serve(ctx context.Context) {
	s.mu.Lock()
	u, t := s.udp, s.tcp
	s.mu.Unlock()
	go func() {
		<-ctx.Done()
		u.Close()
		t.Close()
	}()
	go s.serveTCP(t)
	buf := make([]byte, 65535)
	for {
		n, addr, err := u.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		q := append([]byte(nil), buf[:n]...)
		go func() {
			if out := s.handle(q, true); out != nil {
				u.WriteTo(out, addr)
			}
		}()
	}
}

func (s *Server) serveTCP(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go func() {
			defer c.Close()
			r := bufio.NewReader(c)
			for {
				c.SetDeadline(time.Now().Add(30 * time.Second))
				q, err := readTCP(r)
				if err != nil {
					return
				}
				out := s.handle(q, false)
				if out == nil || writeTCP(c, out) != nil {
					return
				}
			}
		}()
	}
}

// maxUDP is the size of a UDP answer a client without EDNS takes.
const maxUDP = 512

// handle answers one packed query; nil means no answer (garbage in).
func (s *Server) handle(q []byte, udp bool) []byte {
	var req dnsmessage.Message
	if err := req.Unpack(q); err != nil || req.Response {
		return nil
	}
	resp, forward := Answer(&req, s.Domain, s.Records)
	if forward {
		out, err := s.forward(q, udp)
		if err == nil {
			return out
		}
		klog.V(2).Infof("dns: forwarding %v: %v", req.Questions, err)
		resp = &dnsmessage.Message{Header: dnsmessage.Header{ID: req.ID, Response: true, RCode: dnsmessage.RCodeServerFailure,
			RecursionDesired: req.RecursionDesired, RecursionAvailable: true}, Questions: req.Questions}
	}
	out, err := resp.Pack()
	if err != nil {
		return nil
	}
	if udp && len(out) > maxUDP {
		resp.Answers, resp.Truncated = nil, true
		out, _ = resp.Pack()
	}
	return out
}

// forward relays the query as it came, over the transport it came on.
func (s *Server) forward(q []byte, udp bool) ([]byte, error) {
	if len(s.Upstreams) == 0 {
		return nil, errors.New("no upstream resolvers")
	}
	var errs []error
	for _, up := range s.Upstreams {
		out, err := exchange(up, q, udp)
		if err == nil {
			return out, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func exchange(upstream string, q []byte, udp bool) ([]byte, error) {
	network := "tcp"
	if udp {
		network = "udp"
	}
	c, err := net.DialTimeout(network, upstream, upstreamTimeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(upstreamTimeout))
	if !udp {
		if err := writeTCP(c, q); err != nil {
			return nil, err
		}
		return readTCP(bufio.NewReader(c))
	}
	if _, err := c.Write(q); err != nil {
		return nil, err
	}
	buf := make([]byte, 65535)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return nil, err
		}
		// An answer to another query (a late one) is not ours.
		if n >= 2 && n >= 12 && buf[0] == q[0] && buf[1] == q[1] {
			return buf[:n], nil
		}
	}
}

func readTCP(r io.Reader) ([]byte, error) {
	var l [2]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint16(l[:]))
	_, err := io.ReadFull(r, b)
	return b, err
}

func writeTCP(w io.Writer, msg []byte) error {
	b := make([]byte, 2+len(msg))
	binary.BigEndian.PutUint16(b, uint16(len(msg)))
	copy(b[2:], msg)
	_, err := w.Write(b)
	return err
}

// HostResolvers are the nameservers of a resolv.conf file as "ip:53".
// A loopback resolver (systemd-resolved's 127.0.0.53) is kept: the server
// runs in the host's namespace, where it answers.
func HostResolvers(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			if a, err := netip.ParseAddr(f[1]); err == nil {
				out = append(out, net.JoinHostPort(a.WithZone("").String(), strconv.Itoa(53)))
			}
		}
	}
	return out
}
