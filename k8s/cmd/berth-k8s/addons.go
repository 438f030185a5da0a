package main

import (
	"context"
	"flag"
	"path/filepath"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

// An addon is a cluster add-on the control-plane process runs next to the
// API server once it is ready, as EKS runs kube-proxy, CoreDNS and its own
// controllers for each cluster. Each lives in its own file and registers
// itself from init, so adding one never touches main.
type addon struct {
	name string
	// flags registers the add-on's flags on berth-k8s's flag set; may be nil.
	flags func(fs *flag.FlagSet)
	// run works until ctx ends. An error is logged; it does not stop the
	// control plane (a cluster without, say, Service routing still serves
	// its API).
	run func(ctx context.Context, env addonEnv) error
}

// addonEnv is what every add-on gets: an admin client of the cluster.
type addonEnv struct {
	Name       string // cluster name
	DataDir    string
	RestConfig *rest.Config
	Client     kubernetes.Interface
}

var addons []addon

func registerAddon(a addon) { addons = append(addons, a) }

// addonQPS is the add-ons' client rate: they react to every pod and
// Service change, and client-go's default of 5 a second would make them
// the queue.
const (
	addonQPS   = 100
	addonBurst = 200
)

// startAddons runs every registered add-on in its own goroutine.
func startAddons(ctx context.Context, name, dataDir string) {
	if len(addons) == 0 {
		return
	}
	rc, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dataDir, "admin.kubeconfig"))
	if err != nil {
		klog.Errorf("add-ons: admin kubeconfig: %v", err)
		return
	}
	rc.QPS, rc.Burst = addonQPS, addonBurst
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		klog.Errorf("add-ons: client: %v", err)
		return
	}
	env := addonEnv{Name: name, DataDir: dataDir, RestConfig: rc, Client: client}
	for _, a := range addons {
		go func() {
			if err := a.run(ctx, env); err != nil && ctx.Err() == nil {
				klog.Errorf("add-on %s: %v", a.name, err)
			}
		}()
	}
}
