// Command berth-k8s runs one EKS cluster's Kubernetes control plane
// (kube-apiserver, kube-controller-manager, kube-scheduler) in one process.
// Berth starts one per cluster and waits for the line
//
//	berth-k8s ready https://HOST:PORT
//
// on stdout; logs go to stderr. SIGTERM or SIGINT stops it cleanly.
//
// `berth-k8s nodes --kubeconfig FILE --names a,b` runs a node group instead:
// Nodes that run their pods as Docker containers (see package nodes).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/klog/v2"

	"github.com/berth-dev/berth/k8s/controlplane"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "nodes" {
		nodesMain()
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "services-cleanup" {
		servicesCleanupMain()
		return
	}
	var cfg controlplane.Config
	fs := flag.NewFlagSet("berth-k8s", flag.ContinueOnError)
	fs.StringVar(&cfg.DataDir, "data-dir", "", "directory for PKI, kubeconfigs and the SQLite state (required)")
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:6443", "HOST:PORT of the secure API (port 0 picks a free one)")
	fs.StringVar(&cfg.Name, "name", "berth", "cluster name, used in kubeconfig contexts")
	fs.StringVar(&cfg.AuthnWebhook, "authn-webhook", "", "URL of an authentication.k8s.io/v1 TokenReview webhook; empty: client certificates only")
	fs.StringVar(&cfg.ServiceCIDR, "service-cidr", "10.100.0.0/16", "ClusterIP range of Services")
	fs.StringVar(&cfg.ClusterCIDR, "cluster-cidr", "", "pod IP range; when set, nodes get pod CIDRs")
	fs.StringVar(&cfg.ServiceAccountIssuer, "service-account-issuer", "https://kubernetes.default.svc", "issuer (iss) of service-account tokens, the cluster's OIDC issuer for IRSA")
	fs.Func("kube-apiserver-arg", "extra kube-apiserver flag, e.g. --kube-apiserver-arg=--enable-priority-and-fairness=false (repeatable)", appendTo(&cfg.ExtraAPIServerArgs))
	fs.Func("kube-controller-manager-arg", "extra kube-controller-manager flag (repeatable)", appendTo(&cfg.ExtraControllerManagerArgs))
	fs.Func("kube-scheduler-arg", "extra kube-scheduler flag (repeatable)", appendTo(&cfg.ExtraSchedulerArgs))
	for _, a := range addons {
		if a.flags != nil {
			a.flags(fs)
		}
	}
	klog.InitFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if cfg.DataDir == "" {
		fmt.Fprintln(os.Stderr, "berth-k8s: --data-dir is required")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	err := controlplane.Run(ctx, cfg, func(url string) {
		startAddons(ctx, cfg.Name, cfg.DataDir)
		fmt.Printf("berth-k8s ready %s\n", url)
	})
	klog.Flush()
	if err != nil {
		fmt.Fprintf(os.Stderr, "berth-k8s: %v\n", err)
		os.Exit(1)
	}
}

func appendTo(list *[]string) func(string) error {
	return func(v string) error {
		*list = append(*list, v)
		return nil
	}
}
