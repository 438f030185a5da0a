package nodes

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	utilexec "k8s.io/utils/exec"

	"github.com/berth-dev/berth/runtime"
)

// listenKubelet opens the node's kubelet API port, where kube-apiserver
// proxies `kubectl logs`, `exec`, `attach` and `port-forward`. The port is
// chosen here, before the Node is registered, because the Node's status
// must carry it.
func listenKubelet(ip, nodeName string, clientCA *x509.CertPool) (net.Listener, int, error) {
	cert, err := selfSigned(nodeName, ip)
	if err != nil {
		return nil, 0, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	// Only the API server (its kubelet client certificate is signed by the
	// cluster CA) may use the node's API, as with a kubelet.
	if clientCA != nil {
		cfg.ClientCAs = clientCA
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	lis, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return nil, 0, err
	}
	return tls.NewListener(lis, cfg), lis.Addr().(*net.TCPAddr).Port, nil
}

// selfSigned is the kubelet's own serving certificate; kube-apiserver runs
// without --kubelet-certificate-authority, as kubeadm clusters do by default.
func selfSigned(name, ip string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if parsed := net.ParseIP(ip); parsed != nil {
		tmpl.IPAddresses = []net.IP{parsed}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func serveKubelet(ctx context.Context, lis net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	_ = srv.Serve(lis)
}

func (p *provider) containerID(namespace, podName, container string) (runtime.ContainerID, error) {
	rec, ok := p.record(namespace, podName)
	if !ok {
		return "", errdefs.NotFoundf("pod %s/%s is not on node %s", namespace, podName, p.node)
	}
	if container == "" && len(rec.pod.Spec.Containers) == 1 {
		container = rec.pod.Spec.Containers[0].Name
	}
	id, ok := rec.containers[container]
	if !ok {
		return "", errdefs.NotFoundf("container %q not found in pod %s/%s", container, namespace, podName)
	}
	return id, nil
}

// GetContainerLogs streams the runtime's log of the container in the
// kubelet's plain-text form (optionally with RFC 3339 timestamps).
func (p *provider) GetContainerLogs(ctx context.Context, namespace, podName, containerName string, opts api.ContainerLogOpts) (io.ReadCloser, error) {
	if opts.Previous {
		return nil, errdefs.InvalidInput("previous container logs are not kept by Berth's nodes yet")
	}
	id, err := p.containerID(namespace, podName, containerName)
	if err != nil {
		return nil, err
	}
	lo := runtime.LogOptions{Follow: opts.Follow, Tail: opts.Tail}
	if !opts.SinceTime.IsZero() {
		lo.Since = opts.SinceTime
	} else if opts.SinceSeconds > 0 {
		lo.Since = time.Now().Add(-time.Duration(opts.SinceSeconds) * time.Second)
	}
	ctx, cancel := context.WithCancel(ctx)
	lr, err := p.cfg.Runtime.Logs(ctx, id, lo)
	if err != nil {
		cancel()
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		defer cancel()
		defer lr.Close()
		w := bufio.NewWriter(pw)
		written := 0
		for {
			e, err := lr.Next()
			if err != nil {
				_ = w.Flush()
				if errors.Is(err, io.EOF) {
					err = nil
				}
				pw.CloseWithError(err)
				return
			}
			line := e.Line
			if !e.Partial {
				line += "\n"
			}
			if opts.Timestamps {
				line = e.Time.UTC().Format(time.RFC3339Nano) + " " + line
			}
			if opts.LimitBytes > 0 && written+len(line) > opts.LimitBytes {
				line = line[:opts.LimitBytes-written]
			}
			n, werr := w.WriteString(line)
			written += n
			if opts.Follow {
				werr = errors.Join(werr, w.Flush())
			}
			if werr != nil || (opts.LimitBytes > 0 && written >= opts.LimitBytes) {
				_ = w.Flush()
				pw.CloseWithError(werr)
				return
			}
		}
	}()
	return pr, nil
}

// RunInContainer runs a command in the container with its streams
// connected while it runs: kubectl exec, with -i (stdin) and -t (a TTY
// that follows the client's window size) as well.
func (p *provider) RunInContainer(ctx context.Context, namespace, podName, containerName string, cmd []string, attach api.AttachIO) error {
	id, err := p.containerID(namespace, podName, containerName)
	if err != nil {
		return err
	}
	// The streams kubectl did not ask for are nil, which the runtime
	// takes as no stdin and discarded output.
	streams := runtime.ExecIO{Stdin: attach.Stdin(), Stdout: attach.Stdout(), Stderr: attach.Stderr(), TTY: attach.TTY()}
	if attach.TTY() {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		streams.Resize = termSizes(ctx, attach.Resize())
	}
	code, err := p.cfg.Runtime.ExecStream(ctx, id, runtime.ExecSpec{Command: cmd}, streams)
	if err != nil {
		return err
	}
	if code != 0 {
		// remotecommand reports a utilexec.ExitError as the command's exit
		// code, which kubectl exec then exits with.
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: code}
	}
	return nil
}

// termSizes converts virtual-kubelet's resize events to the runtime's
// until ctx ends (the source channel is never closed).
func termSizes(ctx context.Context, in <-chan api.TermSize) <-chan runtime.TermSize {
	out := make(chan runtime.TermSize)
	if in == nil {
		return out
	}
	go func() {
		for {
			select {
			case s := <-in:
				select {
				case out <- runtime.TermSize{Width: s.Width, Height: s.Height}:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// AttachToContainer streams what the container writes from now on
// (kubectl attach without -i). Docker only takes stdin for containers
// created with it open, which pods' containers are not yet, so -i and -t
// are refused rather than silently ignored.
func (p *provider) AttachToContainer(ctx context.Context, namespace, podName, containerName string, attach api.AttachIO) error {
	if attach.TTY() || attach.Stdin() != nil {
		return errdefs.InvalidInput("kubectl attach -i/-t is not supported by Berth's nodes yet; use kubectl exec -it")
	}
	id, err := p.containerID(namespace, podName, containerName)
	if err != nil {
		return err
	}
	lr, err := p.cfg.Runtime.Logs(ctx, id, runtime.LogOptions{Follow: true, Since: time.Now()})
	if err != nil {
		return err
	}
	defer lr.Close()
	for {
		e, err := lr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		w := io.Writer(attach.Stdout())
		if e.Stream == runtime.Stderr && attach.Stderr() != nil {
			w = attach.Stderr()
		}
		if w == nil {
			continue
		}
		line := e.Line
		if !e.Partial {
			line += "\n"
		}
		if _, err := io.WriteString(w, line); err != nil {
			return nil // the client went away
		}
	}
}

// PortForward connects one kubectl port-forward connection to the port on
// the pod's own address (its sandbox's), as the kubelet does in the pod's
// network namespace, and copies both ways until either side is done.
func (p *provider) PortForward(ctx context.Context, namespace, pod string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	rec, ok := p.record(namespace, pod)
	if !ok {
		return errdefs.NotFoundf("pod %s/%s is not on node %s", namespace, pod, p.node)
	}
	ip := rec.sandbox.Network.IPv4Address
	if ip == "" {
		return fmt.Errorf("pod %s/%s has no IP address to forward port %d to", namespace, pod, port)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip, strconv.Itoa(int(port))))
	if err != nil {
		return fmt.Errorf("pod %s/%s: port %d: %w", namespace, pod, port, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	go func() {
		if _, err := io.Copy(conn, stream); err != nil {
			// The stream was reset: the client is gone.
			conn.Close()
			return
		}
		// The client is done sending; the pod may still answer.
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	_, err = io.Copy(stream, conn)
	if err != nil && ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("pod %s/%s: port %d: %w", namespace, pod, port, err)
	}
	return nil
}
