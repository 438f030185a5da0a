package k8sproc

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/eks"
)

// The test binary doubles as a fake berth-k8s (the real one is built from
// the k8s/ module, minutes of compiling; test/e2e runs it): with
// BERTH_FAKE_K8S set it keeps berth-k8s's protocol — flags, the files in
// --data-dir, TLS with the admin certificate, the ready line, SIGTERM.
func TestMain(m *testing.M) {
	if mode := os.Getenv("BERTH_FAKE_K8S"); mode != "" {
		os.Exit(fakeBerthK8s(mode))
	}
	os.Exit(m.Run())
}

func fakeBerthK8s(mode string) int {
	if len(os.Args) > 1 && os.Args[1] == "nodes" {
		return fakeNodes()
	}
	if len(os.Args) > 1 && os.Args[1] == "services-cleanup" {
		return 0
	}
	fs := flag.NewFlagSet("berth-k8s", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "", "")
	listen := fs.String("listen", "127.0.0.1:6443", "")
	fs.String("name", "", "")
	fs.String("authn-webhook", "", "")
	fs.String("service-cidr", "", "")
	fs.String("service-account-issuer", "", "")
	fs.String("pod-network", "", "")
	for _, f := range []string{"fargate-cluster", "fargate-region", "fargate-network", "fargate-aws-endpoint", "fargate-registry-auth"} {
		fs.String(f, "", "")
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	if mode == "fail" {
		fmt.Fprintln(os.Stderr, "E1125 kine: database is locked: boom")
		return 1
	}
	srvCert, err := fakePKI(*dataDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		return 1
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("PATCH /apis/rbac.authorization.k8s.io/v1/", func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 || r.Header.Get("Content-Type") != "application/apply-patch+yaml" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		io.Copy(w, r.Body)
	})
	// Nodes are always Ready; deletions are written down for the test.
	mux.HandleFunc("GET /api/v1/nodes/{name}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"status":{"conditions":[{"type":"Ready","status":"True"}]}}`)
	})
	mux.HandleFunc("GET /api/v1/pods", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"items":[]}`) })
	mux.HandleFunc("DELETE /api/v1/nodes/{name}", func(w http.ResponseWriter, r *http.Request) {
		f, err := os.OpenFile(filepath.Join(*dataDir, "deleted-nodes"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err == nil {
			fmt.Fprintln(f, r.PathValue("name"))
			f.Close()
		}
		io.WriteString(w, "{}")
	})
	srv := &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{srvCert}, ClientAuth: tls.RequestClientCert}}
	go srv.ServeTLS(ln, "", "")
	fmt.Printf("berth-k8s ready https://%s\n", ln.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
	return 0
}

// fakeNodes is `berth-k8s nodes`: it says it runs and waits for SIGTERM.
func fakeNodes() int {
	fs := flag.NewFlagSet("nodes", flag.ContinueOnError)
	fs.String("kubeconfig", "", "")
	names := fs.String("names", "", "")
	fs.String("cluster", "", "")
	fs.String("network", "", "")
	fs.String("region", "", "")
	fs.String("aws-endpoint", "", "")
	fs.Func("label", "", func(string) error { return nil })
	if err := fs.Parse(os.Args[2:]); err != nil {
		return 2
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	fmt.Printf("berth-k8s nodes running %s\n", *names)
	<-sig
	return 0
}

// fakePKI writes ca.crt, admin.crt and admin.key and returns a serving
// certificate for 127.0.0.1.
func fakePKI(dir string) (tls.Certificate, error) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fake-ca"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, tmpl *x509.Certificate) ([]byte, []byte) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = big.NewInt(serial), time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		der, _ := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		kd, _ := x509.MarshalECPrivateKey(k)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
	}
	adminCrt, adminKey := leaf(2, &x509.Certificate{Subject: pkix.Name{CommonName: "berth-admin", Organization: []string{"system:masters"}}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	srvCrt, srvKey := leaf(3, &x509.Certificate{Subject: pkix.Name{CommonName: "kube-apiserver"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	for name, data := range map[string][]byte{
		"ca.crt":    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		"admin.crt": adminCrt,
		"admin.key": adminKey,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return tls.Certificate{}, err
		}
	}
	return tls.X509KeyPair(srvCrt, srvKey)
}

// abandon makes cp forget its processes as a killed Berth would, so that
// it does not restart them when another ControlPlane stops them.
func (cp *ControlPlane) abandon() {
	cp.mu.Lock()
	cp.procs = map[eks.ClusterRef]*proc{}
	cp.nodeProcs = map[ngKey]*proc{}
	cp.mu.Unlock()
}

func newCP(t *testing.T, dir string) *ControlPlane {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	cp, err := New(Options{Binary: exe, Dir: dir, Log: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("control plane log:\n%s", log.String())
		}
	})
	return cp
}

var shop = eks.ClusterSpec{ClusterRef: eks.ClusterRef{Account: "000000000000", Region: "us-east-1", Name: "shop"},
	ServiceIPv4CIDR: "10.100.0.0/16", TokenReviewURL: "http://127.0.0.1:4566/_berth/eks/000000000000/us-east-1/shop/token-review"}

func readPid(t *testing.T, cp *ControlPlane, c eks.ClusterRef) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(cp.ClusterDir(c), pidFile))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); pidAlive(pid); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still runs", pid)
		}
	}
}

// A Berth that dies leaves the process running; the next one adopts it
// (same pid, same endpoint), a graceful Stop ends it, a new Start keeps the
// port, and Delete leaves neither process nor directory.
func TestAdoptAcrossBerthRestarts(t *testing.T) {
	t.Setenv("BERTH_FAKE_K8S", "serve")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	first := newCP(t, dir)
	ep, err := first.Start(ctx, shop)
	if err != nil {
		t.Fatal(err)
	}
	pid := readPid(t, first, shop.ClusterRef)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	ca, _ := os.ReadFile(filepath.Join(first.ClusterDir(shop.ClusterRef), dataSubdir, "ca.crt"))
	if !strings.HasPrefix(ep.URL, "https://127.0.0.1:") || !bytes.Equal(ep.CertificateAuthority, ca) || ep.Issue != "" {
		t.Fatalf("endpoint: %+v", ep)
	}
	argv := cmdline(pid)
	if !ourProcess(argv, "--data-dir="+filepath.Join(first.ClusterDir(shop.ClusterRef), dataSubdir)) ||
		!sameArgs(argv, first.args(first.ClusterDir(shop.ClusterRef), shop)) {
		t.Errorf("command line: %q", argv)
	}
	// Idempotent: a second Start of the same process returns the same.
	if again, err := first.Start(ctx, shop); err != nil || again.URL != ep.URL || readPid(t, first, shop.ClusterRef) != pid {
		t.Errorf("second Start: %+v %v", again, err)
	}

	// "kill -9 Berth": first forgets its process without stopping it.
	first.abandon()
	second := newCP(t, dir)
	adopted, err := second.Start(ctx, shop)
	if err != nil {
		t.Fatal(err)
	}
	if adopted.URL != ep.URL || readPid(t, second, shop.ClusterRef) != pid || !pidAlive(pid) {
		t.Errorf("not adopted: %+v, pid %d (was %d)", adopted, readPid(t, second, shop.ClusterRef), pid)
	}

	if err := second.Stop(ctx, shop.ClusterRef); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)

	third := newCP(t, dir)
	restarted, err := third.Start(ctx, shop)
	if err != nil {
		t.Fatal(err)
	}
	pid2 := readPid(t, third, shop.ClusterRef)
	t.Cleanup(func() { syscall.Kill(pid2, syscall.SIGKILL) })
	if pid2 == pid || restarted.URL != ep.URL {
		t.Errorf("restart: pid %d (was %d), endpoint %s (was %s)", pid2, pid, restarted.URL, ep.URL)
	}

	// Delete from yet another Berth, which never tracked the process.
	third.abandon()
	if err := newCP(t, dir).Delete(ctx, shop.ClusterRef); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid2)
	if _, err := os.Stat(third.ClusterDir(shop.ClusterRef)); !os.IsNotExist(err) {
		t.Errorf("cluster dir after Delete: %v", err)
	}
}

// A pid file naming a live process that is not this cluster's berth-k8s
// (the pid was recycled) must be neither adopted nor killed.
func TestRecycledPidIsLeftAlone(t *testing.T) {
	t.Setenv("BERTH_FAKE_K8S", "serve")
	dir := t.TempDir()
	cp := newCP(t, dir)
	cdir := cp.ClusterDir(shop.ClusterRef)
	os.MkdirAll(cdir, 0o700)
	os.WriteFile(filepath.Join(cdir, pidFile), []byte(strconv.Itoa(os.Getpid())), 0o600)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := cp.Start(ctx, shop); err != nil {
		t.Fatal(err)
	}
	pid := readPid(t, cp, shop.ClusterRef)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	if pid == os.Getpid() {
		t.Fatal("adopted the test process")
	}
	if err := cp.Delete(ctx, shop.ClusterRef); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
}

// A process running with other settings (Berth moved to another port, so
// the webhook URL changed) is replaced, on the same API port.
func TestChangedSettingsRestart(t *testing.T) {
	t.Setenv("BERTH_FAKE_K8S", "serve")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	first := newCP(t, dir)
	ep, err := first.Start(ctx, shop)
	if err != nil {
		t.Fatal(err)
	}
	pid := readPid(t, first, shop.ClusterRef)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })

	first.abandon()
	moved := shop
	moved.TokenReviewURL = strings.Replace(shop.TokenReviewURL, ":4566", ":4567", 1)
	second := newCP(t, dir)
	ep2, err := second.Start(ctx, moved)
	if err != nil {
		t.Fatal(err)
	}
	pid2 := readPid(t, second, shop.ClusterRef)
	t.Cleanup(func() { syscall.Kill(pid2, syscall.SIGKILL) })
	waitGone(t, pid)
	if pid2 == pid || ep2.URL != ep.URL || !strings.Contains(strings.Join(cmdline(pid2), " "), ":4567/") {
		t.Errorf("after a settings change: pid %d (was %d), %s (was %s), %q", pid2, pid, ep2.URL, ep.URL, cmdline(pid2))
	}
	if err := second.Delete(ctx, shop.ClusterRef); err != nil {
		t.Fatal(err)
	}
}

// A control plane that dies before its ready line fails Start with the end
// of its stderr, and leaves nothing running.
func TestStartFailureCarriesStderr(t *testing.T) {
	t.Setenv("BERTH_FAKE_K8S", "fail")
	cp := newCP(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := cp.Start(ctx, shop)
	if err == nil || !strings.Contains(err.Error(), "database is locked: boom") || !strings.Contains(err.Error(), "exited before it was ready") {
		t.Fatalf("Start: %v", err)
	}
}

// A control plane that dies is started again, on the same port.
func TestDeadControlPlaneIsRestarted(t *testing.T) {
	t.Setenv("BERTH_FAKE_K8S", "serve")
	cp := newCP(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ep, err := cp.Start(ctx, shop)
	if err != nil {
		t.Fatal(err)
	}
	pid := readPid(t, cp, shop.ClusterRef)
	syscall.Kill(pid, syscall.SIGKILL)
	var pid2 int
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if pid2 = readPid(t, cp, shop.ClusterRef); pid2 != pid && pidAlive(pid2) {
			if url, err := readURL(cp.ClusterDir(shop.ClusterRef)); err == nil && url == ep.URL {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not restarted: pid %d", pid2)
		}
	}
	if err := cp.Delete(ctx, shop.ClusterRef); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid2)
}

func TestNewRefusesMissingBinary(t *testing.T) {
	if _, err := New(Options{Binary: filepath.Join(t.TempDir(), "nope"), Dir: t.TempDir()}); err == nil {
		t.Error("New accepted a missing binary")
	}
	if _, err := New(Options{Binary: t.TempDir(), Dir: t.TempDir()}); err == nil {
		t.Error("New accepted a directory")
	}
}

// Names never steer the directory out of Dir.
func TestClusterDirStaysInside(t *testing.T) {
	cp := &ControlPlane{dir: "/data/eks"}
	for _, name := range []string{"..", "../../etc", "a/b", ""} {
		d := cp.ClusterDir(eks.ClusterRef{Account: "..", Region: name, Name: name})
		if !strings.HasPrefix(d, "/data/eks/") || strings.Count(d[len("/data/eks/"):], "/") != 2 {
			t.Errorf("%q → %s", name, d)
		}
	}
}

// A node group is a `berth-k8s nodes` process: started with its node
// names, adopted by the next Berth through the cluster's Start, restarted
// with fewer names on a scale-in (the removed Nodes deleted), and gone
// with DeleteNodegroup.
func TestNodegroupProcesses(t *testing.T) {
	t.Setenv("BERTH_FAKE_K8S", "serve")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	first := newCP(t, dir)
	if _, err := first.Start(ctx, shop); err != nil {
		t.Fatal(err)
	}
	// The Berth running the cluster at the end deletes it: another one
	// would see its processes die and start them again.
	owner := first
	t.Cleanup(func() { owner.Delete(context.Background(), shop.ClusterRef) })
	ng := eks.NodegroupSpec{Cluster: shop.ClusterRef, Name: "Web_Workers", DesiredSize: 2, InstanceTypes: []string{"t3.medium"}, Labels: map[string]string{"tier": "web"}}
	if err := first.SyncNodegroup(ctx, ng); err != nil {
		t.Fatal(err)
	}
	ngDir := first.nodegroupDir(shop.ClusterRef, ng.Name)
	pid := readPidFile(t, filepath.Join(ngDir, nodesPidFile))
	argv := cmdline(pid)
	for _, want := range []string{"nodes", "--names=web-workers-0,web-workers-1", "--label=eks.amazonaws.com/nodegroup=Web_Workers",
		"--label=node.kubernetes.io/instance-type=t3.medium", "--label=tier=web", "--cluster=" + first.containerCluster(shop.ClusterRef)} {
		if !slices.Contains(argv, want) {
			t.Errorf("nodes command line %q lacks %q", argv, want)
		}
	}

	// Another Berth adopts both processes when it starts the cluster.
	first.abandon()
	second := newCP(t, dir)
	owner = second
	if _, err := second.Start(ctx, shop); err != nil {
		t.Fatal(err)
	}
	if got := readPidFile(t, filepath.Join(ngDir, nodesPidFile)); got != pid || !pidAlive(pid) {
		t.Errorf("node group not adopted: pid %d, was %d", got, pid)
	}

	// Scale in: a new process with one name, web-workers-1 deleted.
	ng.DesiredSize = 1
	if err := second.SyncNodegroup(ctx, ng); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
	pid2 := readPidFile(t, filepath.Join(ngDir, nodesPidFile))
	if !slices.Contains(cmdline(pid2), "--names=web-workers-0") {
		t.Errorf("after scale-in: %q", cmdline(pid2))
	}
	deleted, _ := os.ReadFile(filepath.Join(second.ClusterDir(shop.ClusterRef), dataSubdir, "deleted-nodes"))
	if string(deleted) != "web-workers-1\n" {
		t.Errorf("deleted nodes: %q", deleted)
	}

	// A node group process that dies is started again.
	syscall.Kill(pid2, syscall.SIGKILL)
	var pid3 int
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if pid3 = readPidFile(t, filepath.Join(ngDir, nodesPidFile)); pid3 != pid2 && pidAlive(pid3) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the node group was not restarted")
		}
	}

	if err := second.DeleteNodegroup(ctx, shop.ClusterRef, ng.Name); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid3)
	if _, err := os.Stat(ngDir); !os.IsNotExist(err) {
		t.Errorf("node group dir after delete: %v", err)
	}
}

func readPidFile(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}
