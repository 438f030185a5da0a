package nodes

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/runtime"
)

// pipeStream is one side of a port-forward data stream, as
// virtual-kubelet hands it to the provider.
type pipeStream struct {
	io.Reader
	io.WriteCloser
}

// PortForward copies a connection to the pod's IP both ways, and fails for
// a pod the node does not run and for a port nothing listens on.
func TestPortForward(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	go func() {
		c, err := lis.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c) // until the client's half-close
		c.Write([]byte("echo: " + string(b)))
	}()
	port := int32(lis.Addr().(*net.TCPAddr).Port)

	p := &provider{node: "n", recs: map[string]*podRecord{
		"default/web": {pod: &corev1.Pod{}, sandbox: runtime.Sandbox{Network: runtime.SandboxNetwork{IPv4Address: "127.0.0.1"}}},
	}}
	ctx := context.Background()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- p.PortForward(ctx, "default", "web", port, pipeStream{inR, outW}) }()
	go func() {
		inW.Write([]byte("hello"))
		inW.Close()
	}()
	got, _ := io.ReadAll(outR)
	if err := <-done; err != nil || string(got) != "echo: hello" {
		t.Errorf("forwarded %q, %v", got, err)
	}

	if err := p.PortForward(ctx, "default", "gone", port, pipeStream{strings.NewReader(""), nopCloser{io.Discard}}); !errdefs.IsNotFound(err) {
		t.Errorf("unknown pod: %v", err)
	}
	lis.Close()
	err = p.PortForward(ctx, "default", "web", port, pipeStream{strings.NewReader(""), nopCloser{io.Discard}})
	if err == nil || !strings.Contains(err.Error(), "port "+strconv.Itoa(int(port))) {
		t.Errorf("closed port: %v", err)
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
