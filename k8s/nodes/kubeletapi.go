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
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	utilexec "k8s.io/utils/exec"

	"github.com/berth-dev/berth/runtime"
)

// listenKubelet opens the node's kubelet API port, where kube-apiserver
// proxies `kubectl logs` and `kubectl exec`. The port is chosen here, before
// the Node is registered, because the Node's status must carry it.
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

// RunInContainer runs a command to completion and copies its output; the
// runtime interface has no interactive exec yet, so stdin and TTYs are
// refused rather than silently ignored.
func (p *provider) RunInContainer(ctx context.Context, namespace, podName, containerName string, cmd []string, attach api.AttachIO) error {
	if attach.TTY() || attach.Stdin() != nil {
		return errdefs.InvalidInput("interactive exec (-i/-t) is not supported by Berth's nodes yet")
	}
	id, err := p.containerID(namespace, podName, containerName)
	if err != nil {
		return err
	}
	res, err := p.cfg.Runtime.Exec(ctx, id, runtime.ExecSpec{Command: cmd})
	if err != nil {
		return err
	}
	if w := attach.Stdout(); w != nil {
		_, _ = w.Write(res.Stdout)
	}
	if w := attach.Stderr(); w != nil {
		_, _ = w.Write(res.Stderr)
	}
	if res.ExitCode != 0 {
		// remotecommand reports a utilexec.ExitError as the command's exit
		// code, which kubectl exec then exits with.
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", res.ExitCode), Code: res.ExitCode}
	}
	return nil
}
