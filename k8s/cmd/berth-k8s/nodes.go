package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/berth-dev/berth/k8s/nodes"
	"github.com/berth-dev/berth/runtime/docker"
)

// runNodes is `berth-k8s nodes`: one process per node group, started and
// stopped by Berth as the group is created, scaled or deleted, so the
// control plane never restarts for a node change. Its pods' containers
// outlive it and are adopted again by the next run.
func runNodes(args []string) error {
	var (
		cfg        nodes.Config
		kubeconfig string
		names      string
		dockerHost string
		network    string
		labels     = map[string]string{}
	)
	fs := flag.NewFlagSet("berth-k8s nodes", flag.ContinueOnError)
	fs.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (the control plane's DIR/admin.kubeconfig) (required)")
	fs.StringVar(&names, "names", "", "comma-separated Node names to register (required)")
	fs.StringVar(&cfg.Cluster, "cluster", "berth", "cluster name in container labels")
	fs.StringVar(&cfg.NodeIP, "node-ip", "127.0.0.1", "InternalIP of the nodes; their kubelet API listens there")
	fs.IntVar(&cfg.MaxPods, "max-pods", 110, "pod capacity of each node")
	fs.StringVar(&cfg.VolumeDir, "volume-dir", "", "directory for the files of ConfigMap and Secret volumes (default: under the temp dir)")
	fs.StringVar(&cfg.Region, "region", "", "AWS region of the cluster, given to IRSA pods as AWS_REGION")
	fs.StringVar(&cfg.AWSEndpoint, "aws-endpoint", "", "Berth's AWS API as pods reach it, given to pods as AWS_ENDPOINT_URL (IRSA)")
	fs.StringVar(&cfg.PodIdentityURI, "pod-identity-uri", "", "EKS Pod Identity Agent URI given to pods of associated service accounts (AWS_CONTAINER_CREDENTIALS_FULL_URI)")
	fs.StringVar(&cfg.PodIdentityURIFile, "pod-identity-uri-file", "", "file holding the EKS Pod Identity Agent URI, read at each pod start (overrides --pod-identity-uri)")
	fs.StringVar(&cfg.PodIdentityLookup, "pod-identity-lookup", "", "Berth URL answering whether <namespace>/<service account> has a Pod Identity association")
	fs.StringVar(&cfg.RegistryAuthFile, "registry-auth", "", "JSON file with credentials for Berth's ECR registry ({serverAddress, username, password}), read at each pull")
	fs.StringVar(&dockerHost, "docker-host", "", "Docker engine address (default: DOCKER_HOST or the local socket)")
	fs.StringVar(&network, "network", "", "Docker bridge network of the pods, one per cluster (default: Berth's network \"berth\")")
	fs.Func("label", "Node label KEY=VALUE (repeatable)", func(v string) error {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return fmt.Errorf("label %q is not KEY=VALUE", v)
		}
		labels[k] = val
		return nil
	})
	klog.InitFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if kubeconfig == "" || names == "" {
		return errors.New("--kubeconfig and --names are required")
	}
	for _, n := range strings.Split(names, ",") {
		if n = strings.TrimSpace(n); n != "" {
			cfg.Names = append(cfg.Names, n)
		}
	}
	cfg.Labels = labels

	raw, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		return err
	}
	rc, err := clientcmd.NewDefaultClientConfig(*raw, nil).ClientConfig()
	if err != nil {
		return err
	}
	// Every pod costs the node several API calls (status, events); at
	// client-go's default 5 a second, 100 pods queued for a minute.
	rc.QPS, rc.Burst = 100, 200
	if cfg.Client, err = kubernetes.NewForConfig(rc); err != nil {
		return err
	}
	// The cluster CA signed kube-apiserver's kubelet client certificate:
	// only the API server may call the nodes' kubelet API.
	if len(rc.CAData) > 0 {
		pool := x509.NewCertPool()
		if pool.AppendCertsFromPEM(rc.CAData) {
			cfg.ClientCA = pool
		}
	}
	rt, err := docker.New(docker.Options{Host: dockerHost, Network: network})
	if err != nil {
		return err
	}
	defer rt.Close()
	cfg.Runtime = rt

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	fmt.Printf("berth-k8s nodes running %s\n", strings.Join(cfg.Names, ","))
	return nodes.Run(ctx, cfg)
}

func nodesMain() {
	err := runNodes(os.Args[2:])
	klog.Flush()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "berth-k8s nodes: %v\n", err)
		os.Exit(1)
	}
}
