package nodes

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestPodDNS(t *testing.T) {
	pod := func(policy corev1.DNSPolicy, cfg *corev1.PodDNSConfig) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop"}, Spec: corev1.PodSpec{DNSPolicy: policy, DNSConfig: cfg}}
	}
	two := "2"
	for _, tc := range []struct {
		name                     string
		pod                      *corev1.Pod
		cluster                  string
		servers, search, options []string
	}{
		{"default policy is ClusterFirst", pod("", nil), "10.100.0.10",
			[]string{"10.100.0.10"}, []string{"shop.svc.cluster.local", "svc.cluster.local", "cluster.local"}, []string{"ndots:5"}},
		{"ClusterFirst without cluster DNS is the host's", pod(corev1.DNSClusterFirst, nil), "", nil, nil, nil},
		{"Default is the host's", pod(corev1.DNSDefault, nil), "10.100.0.10", nil, nil, nil},
		{"dnsConfig adds and overrides", pod(corev1.DNSClusterFirst, &corev1.PodDNSConfig{
			Nameservers: []string{"1.1.1.1"}, Searches: []string{"example.com"},
			Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: &two}, {Name: "edns0"}},
		}), "10.100.0.10", []string{"10.100.0.10", "1.1.1.1"},
			[]string{"shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "example.com"}, []string{"ndots:2", "edns0"}},
		{"None is only dnsConfig", pod(corev1.DNSNone, &corev1.PodDNSConfig{Nameservers: []string{"9.9.9.9"}}), "10.100.0.10",
			[]string{"9.9.9.9"}, nil, nil},
	} {
		servers, search, options := podDNS(tc.pod, tc.cluster)
		if !slices.Equal(servers, tc.servers) || !slices.Equal(search, tc.search) || !slices.Equal(options, tc.options) {
			t.Errorf("%s: %v %v %v", tc.name, servers, search, options)
		}
	}

	var d clusterDNS
	client := fake.NewSimpleClientset()
	if ip := d.address(context.Background(), client); ip != "" {
		t.Errorf("cluster DNS without kube-dns: %q", ip)
	}
	client = fake.NewSimpleClientset(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-dns"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.100.0.10"}})
	var again clusterDNS
	if ip := again.address(context.Background(), client); ip != "10.100.0.10" {
		t.Errorf("cluster DNS: %q", ip)
	}
}
