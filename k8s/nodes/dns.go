package nodes

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// clusterDomain is the DNS domain of Services and pods, as on EKS.
const clusterDomain = "cluster.local"

// clusterDNS finds the cluster DNS address, the kube-system/kube-dns
// Service's cluster IP (the control plane's services add-on makes it), as
// the kubelet's --cluster-dns names it. A cluster without it gives its
// ClusterFirst pods the host's resolvers, as a kubelet without
// --cluster-dns does.
type clusterDNS struct {
	mu      sync.Mutex
	ip      string
	checked time.Time
}

// clusterDNSRecheck is how long a missing kube-dns is believed missing.
const clusterDNSRecheck = 5 * time.Second

func (d *clusterDNS) address(ctx context.Context, client kubernetes.Interface) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ip != "" || time.Since(d.checked) < clusterDNSRecheck {
		return d.ip
	}
	d.checked = time.Now()
	svc, err := client.CoreV1().Services("kube-system").Get(ctx, "kube-dns", metav1.GetOptions{})
	if err != nil {
		return ""
	}
	if a, err := netip.ParseAddr(svc.Spec.ClusterIP); err == nil && a.Is4() {
		d.ip = a.String()
	}
	return d.ip
}

// podDNS is the pod's resolv.conf as the kubelet writes it for its
// dnsPolicy and dnsConfig: nameservers, search domains, options.
func podDNS(pod *corev1.Pod, clusterIP string) (servers, search, options []string) {
	policy := pod.Spec.DNSPolicy
	if policy == "" {
		policy = corev1.DNSClusterFirst
	}
	if policy == corev1.DNSClusterFirstWithHostNet || (policy == corev1.DNSClusterFirst && !pod.Spec.HostNetwork) {
		if clusterIP != "" {
			servers = []string{clusterIP}
			search = []string{pod.Namespace + ".svc." + clusterDomain, "svc." + clusterDomain, clusterDomain}
			options = []string{"ndots:5"}
		}
	}
	if c := pod.Spec.DNSConfig; c != nil {
		for _, s := range c.Nameservers {
			if !slices.Contains(servers, s) {
				servers = append(servers, s)
			}
		}
		for _, s := range c.Searches {
			if !slices.Contains(search, s) {
				search = append(search, s)
			}
		}
		for _, o := range c.Options {
			opt := o.Name
			if o.Value != nil {
				opt += ":" + *o.Value
			}
			// A pod's option replaces the kubelet's of the same name.
			options = slices.DeleteFunc(options, func(x string) bool {
				name, _, _ := strings.Cut(x, ":")
				return name == o.Name
			})
			options = append(options, opt)
		}
	}
	return servers, search, options
}
