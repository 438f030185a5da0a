// Package controlplane runs one Kubernetes control plane (kube-apiserver,
// kube-controller-manager and kube-scheduler from k8s.io/kubernetes) in the
// calling process, with its state in kine on SQLite under a data dir.
package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	apiserverapp "k8s.io/kubernetes/cmd/kube-apiserver/app"
	apiserveroptions "k8s.io/kubernetes/cmd/kube-apiserver/app/options"
	kcmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	kcmoptions "k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
	schedapp "k8s.io/kubernetes/cmd/kube-scheduler/app"
	schedoptions "k8s.io/kubernetes/cmd/kube-scheduler/app/options"
	netutils "k8s.io/utils/net"
)

// Config is everything a cluster needs; the zero values of the optional
// fields are the defaults EKS uses.
type Config struct {
	// DataDir holds the PKI, the kubeconfigs and the SQLite database. It is
	// the only state: starting again on the same dir resumes the cluster.
	DataDir string
	// Listen is HOST:PORT of the secure API; port 0 picks a free port.
	Listen string
	// Name is the cluster name used in kubeconfig contexts.
	Name string
	// AuthnWebhook is the URL of an authentication.k8s.io/v1 TokenReview
	// webhook. Empty means only client certificates (and service-account
	// tokens) authenticate.
	AuthnWebhook string
	// ServiceCIDR is the ClusterIP range (EKS default 10.100.0.0/16).
	ServiceCIDR string
	// ClusterCIDR is the pod range; when set, nodes are given pod CIDRs.
	ClusterCIDR string
	// ServiceAccountIssuer is the "iss" of service-account tokens; Berth sets
	// it to the cluster's OIDC issuer URL for IRSA.
	ServiceAccountIssuer string
	// Extra*Args are appended to each component's upstream flags, as k3s's
	// --kube-apiserver-arg does; a later flag overrides Berth's default.
	ExtraAPIServerArgs         []string
	ExtraControllerManagerArgs []string
	ExtraSchedulerArgs         []string
}

func (c *Config) setDefaults() error {
	if c.DataDir == "" {
		return errors.New("data dir is required")
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:6443"
	}
	if c.Name == "" {
		c.Name = "berth"
	}
	if c.ServiceCIDR == "" {
		c.ServiceCIDR = "10.100.0.0/16"
	}
	if c.ServiceAccountIssuer == "" {
		c.ServiceAccountIssuer = "https://kubernetes.default.svc"
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("listen %q: %w", c.Listen, err)
	}
	if _, _, err := netutils.ParseCIDRSloppy(c.ServiceCIDR); err != nil {
		return fmt.Errorf("service cidr %q: %w", c.ServiceCIDR, err)
	}
	if c.ClusterCIDR != "" {
		if _, _, err := netutils.ParseCIDRSloppy(c.ClusterCIDR); err != nil {
			return fmt.Errorf("cluster cidr %q: %w", c.ClusterCIDR, err)
		}
	}
	return nil
}

// Run starts the control plane, calls ready with the API URL once /readyz
// answers ok and the controllers are started, and blocks until ctx is
// cancelled; it then stops the components in reverse order and returns.
func Run(ctx context.Context, cfg Config, ready func(url string)) error {
	if err := cfg.setDefaults(); err != nil {
		return err
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}

	// The listener is opened here rather than by kube-apiserver so that port 0
	// works and the URL written to admin.kubeconfig is known before start.
	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer lis.Close()
	host, _, _ := net.SplitHostPort(cfg.Listen)
	port := lis.Addr().(*net.TCPAddr).Port
	urlHost := host
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		urlHost = "127.0.0.1"
	}
	url := "https://" + net.JoinHostPort(urlHost, strconv.Itoa(port))

	_, serviceNet, _ := netutils.ParseCIDRSloppy(cfg.ServiceCIDR)
	firstServiceIP, err := firstIP(serviceNet)
	if err != nil {
		return err
	}
	p, err := ensurePKI(dir, []string{host}, firstServiceIP)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	for _, kc := range []struct{ file, cert string }{
		{"admin.kubeconfig", "admin"},
		{"controller-manager.kubeconfig", "controller-manager"},
		{"scheduler.kubeconfig", "scheduler"},
	} {
		if err := p.writeKubeconfig(filepath.Join(dir, kc.file), cfg.Name, url, kc.cert); err != nil {
			return err
		}
	}

	store, err := startKine(dir)
	if err != nil {
		return err
	}
	defer store.stop()

	apiCtx, stopAPI := context.WithCancel(context.Background())
	defer stopAPI()
	apiDone := make(chan error, 1)
	apiArgs, err := apiServerArgs(cfg, dir, store.endpoint)
	if err != nil {
		return err
	}
	go func() { apiDone <- runAPIServer(apiCtx, apiArgs, lis) }()

	client, err := adminClient(dir)
	if err != nil {
		return err
	}
	if err := waitReady(ctx, client, apiDone); err != nil {
		stopAPI()
		<-apiDone
		return err
	}

	ctrlCtx, stopCtrl := context.WithCancel(context.Background())
	defer stopCtrl()
	kcmDone := make(chan error, 1)
	schedDone := make(chan error, 1)
	go func() { kcmDone <- runControllerManager(ctrlCtx, controllerManagerArgs(cfg, dir)) }()
	go func() { schedDone <- runScheduler(ctrlCtx, append(schedulerArgs(dir), cfg.ExtraSchedulerArgs...)) }()

	// Ready means usable: until the service-account controller has made
	// default/default, creating a pod there is refused, which would fail the
	// first `kubectl run` after `aws eks wait cluster-active`.
	if err := waitDefaultServiceAccount(ctx, client, kcmDone); err != nil {
		stopCtrl()
		waitFor(kcmDone, 10*time.Second)
		waitFor(schedDone, 10*time.Second)
		stopAPI()
		waitFor(apiDone, 30*time.Second)
		return err
	}
	if ready != nil {
		ready(url)
	}

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-apiDone:
		apiDone <- err
		runErr = fmt.Errorf("kube-apiserver exited: %w", err)
	case err := <-kcmDone:
		kcmDone <- err
		runErr = fmt.Errorf("kube-controller-manager exited: %w", err)
	case err := <-schedDone:
		schedDone <- err
		runErr = fmt.Errorf("kube-scheduler exited: %w", err)
	}

	// Controllers go first so nothing acts on a half-stopped API server, and
	// the API server before kine so its last writes reach SQLite.
	stopCtrl()
	waitFor(kcmDone, 10*time.Second)
	waitFor(schedDone, 10*time.Second)
	stopAPI()
	waitFor(apiDone, 30*time.Second)
	return runErr
}

func waitFor(ch <-chan error, d time.Duration) {
	select {
	case <-ch:
	case <-time.After(d):
	}
}

func firstIP(n *net.IPNet) (net.IP, error) {
	ip, err := netutils.GetIndexedIP(n, 1)
	if err != nil {
		return nil, fmt.Errorf("service cidr: %w", err)
	}
	return ip, nil
}

func adminClient(dir string) (kubernetes.Interface, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "admin.kubeconfig"))
	if err != nil {
		return nil, err
	}
	rc.Timeout = 5 * time.Second
	return kubernetes.NewForConfig(rc)
}

func waitReady(ctx context.Context, client kubernetes.Interface, apiDone chan error) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err == nil && string(body) == "ok" {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-apiDone:
			apiDone <- err
			return fmt.Errorf("kube-apiserver exited before ready: %w", err)
		case <-tick.C:
		}
	}
}

func waitDefaultServiceAccount(ctx context.Context, client kubernetes.Interface, kcmDone chan error) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-kcmDone:
			kcmDone <- err
			return fmt.Errorf("kube-controller-manager exited before ready: %w", err)
		case <-tick.C:
		}
	}
}

func apiServerArgs(cfg Config, dir, etcd string) ([]string, error) {
	f := func(name string) string { return filepath.Join(dir, name) }
	args := []string{
		"--etcd-servers=" + etcd,
		// kine keeps one keyspace per database; the prefix is the default
		// /registry, spelled out because Berth may later share a database.
		"--etcd-prefix=/registry",
		"--tls-cert-file=" + f("apiserver.crt"),
		"--tls-private-key-file=" + f("apiserver.key"),
		"--client-ca-file=" + f("ca.crt"),
		"--kubelet-client-certificate=" + f("apiserver-kubelet-client.crt"),
		"--kubelet-client-key=" + f("apiserver-kubelet-client.key"),
		"--service-account-key-file=" + f("sa.pub"),
		"--service-account-signing-key-file=" + f("sa.key"),
		"--service-account-issuer=" + cfg.ServiceAccountIssuer,
		"--api-audiences=" + cfg.ServiceAccountIssuer + ",https://kubernetes.default.svc,sts.amazonaws.com",
		"--service-cluster-ip-range=" + cfg.ServiceCIDR,
		"--authorization-mode=Node,RBAC",
		// Berth's nodes are named like EC2 hosts (ip-10-0-1-2.ec2.internal),
		// names nothing resolves here: reach kubelets by address first.
		"--kubelet-preferred-address-types=InternalIP,InternalDNS,Hostname,ExternalIP,ExternalDNS",
		"--allow-privileged=true",
		"--enable-bootstrap-token-auth=false",
		"--profiling=false",
		"--event-ttl=1h",
	}
	if cfg.AuthnWebhook != "" {
		path := f("authn-webhook.kubeconfig")
		if err := writeWebhookKubeconfig(path, cfg.AuthnWebhook); err != nil {
			return nil, err
		}
		args = append(args,
			"--authentication-token-webhook-config-file="+path,
			"--authentication-token-webhook-version=v1",
			// Short so a revoked access entry stops working quickly.
			"--authentication-token-webhook-cache-ttl=30s",
		)
	}
	return append(args, cfg.ExtraAPIServerArgs...), nil
}

func runAPIServer(ctx context.Context, args []string, lis net.Listener) error {
	s := apiserveroptions.NewServerRunOptions()
	fs := pflag.NewFlagSet("kube-apiserver", pflag.ContinueOnError)
	nfs := s.Flags()
	for _, name := range nfs.Order {
		fs.AddFlagSet(nfs.FlagSet(name))
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	s.SecureServing.Listener = lis
	if err := s.GenericServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		return err
	}
	completed, err := s.Complete(ctx)
	if err != nil {
		return err
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return utilerrors.NewAggregate(errs)
	}
	return apiserverapp.Run(ctx, completed)
}

func controllerManagerArgs(cfg Config, dir string) []string {
	f := func(name string) string { return filepath.Join(dir, name) }
	args := []string{
		"--kubeconfig=" + f("controller-manager.kubeconfig"),
		// One process per cluster: there is no other replica to elect against,
		// and a lease would delay restarts by its duration.
		"--leader-elect=false",
		"--secure-port=0",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + f("sa.key"),
		"--root-ca-file=" + f("ca.crt"),
		"--cluster-signing-cert-file=" + f("ca.crt"),
		"--cluster-signing-key-file=" + f("ca.key"),
		"--service-cluster-ip-range=" + cfg.ServiceCIDR,
		"--cluster-name=" + cfg.Name,
		// The default 20 requests a second made a 100-replica Deployment
		// wait on the ReplicaSet controller's own client for seconds.
		"--kube-api-qps=100",
		"--kube-api-burst=200",
	}
	if cfg.ClusterCIDR != "" {
		args = append(args, "--cluster-cidr="+cfg.ClusterCIDR, "--allocate-node-cidrs=true")
	}
	return append(args, cfg.ExtraControllerManagerArgs...)
}

func runControllerManager(ctx context.Context, args []string) error {
	s, err := kcmoptions.NewKubeControllerManagerOptions()
	if err != nil {
		return err
	}
	nfs := s.Flags(kcmapp.KnownControllers(), kcmapp.ControllersDisabledByDefault(), kcmapp.ControllerAliases())
	s.ParsedFlags = &nfs
	fs := pflag.NewFlagSet("kube-controller-manager", pflag.ContinueOnError)
	for _, name := range nfs.Order {
		fs.AddFlagSet(nfs.FlagSet(name))
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := s.ComponentGlobalsRegistry.Set(); err != nil {
		return err
	}
	c, err := s.Config(ctx, kcmapp.KnownControllers(), kcmapp.ControllersDisabledByDefault(), kcmapp.ControllerAliases())
	if err != nil {
		return err
	}
	return kcmapp.Run(ctx, c.Complete())
}

func schedulerArgs(dir string) []string {
	return []string{
		"--kubeconfig=" + filepath.Join(dir, "scheduler.kubeconfig"),
		"--leader-elect=false",
		"--secure-port=0",
	}
}

func runScheduler(ctx context.Context, args []string) error {
	o := schedoptions.NewOptions()
	fs := pflag.NewFlagSet("kube-scheduler", pflag.ContinueOnError)
	for _, name := range o.Flags.Order {
		fs.AddFlagSet(o.Flags.FlagSet(name))
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	name, err := cache.NewInformerName("kube-scheduler")
	if err != nil {
		return err
	}
	o.InformerName = name
	cc, sched, err := schedapp.Setup(ctx, o)
	if err != nil {
		return err
	}
	return schedapp.Run(ctx, cc, sched)
}
