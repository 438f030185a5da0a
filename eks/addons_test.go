package eks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store/sqlite"
)

// dnsControlPlane is Unserved with an admin API whose kube-dns Service
// exists only when dns is set.
type dnsControlPlane struct {
	Unserved
	url string
}

func (d dnsControlPlane) AdminAPI(ClusterRef) (string, *http.Client, error) {
	return d.url, http.DefaultClient, nil
}

// TestCorednsFollowsKubeDNS checks that the coredns add-on stays CREATING
// while the cluster has no kube-dns Service, turns DEGRADED with a
// K8sResourceNotFound issue once the grace period is over, and ACTIVE when
// the Service appears.
func TestCorednsFollowsKubeDNS(t *testing.T) {
	var dns atomic.Bool
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/namespaces/kube-system/services/kube-dns" && dns.Load() {
			w.Write([]byte(`{"kind":"Service"}`))
			return
		}
		http.NotFound(w, r)
	}))
	defer api.Close()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	svc, err := New(Options{Store: st, ControlPlane: dnsControlPlane{url: api.URL}, Now: func() time.Time { return time.Unix(0, now.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := awsapi.WithIdentity(context.Background(), awsapi.Identity{AccountID: "000000000000", Region: "us-east-1"})
	ref := ClusterRef{"000000000000", "us-east-1", "c"}
	if _, err := svc.CreateCluster(ctx, &eksapi.CreateClusterInput{Name: new("c"), RoleArn: new("arn:aws:iam::000000000000:role/r"),
		ResourcesVpcConfig: &eksapi.VpcConfigRequest{}}); err != nil {
		t.Fatal(err)
	}
	if err := svc.reconcile(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateAddon(ctx, &eksapi.CreateAddonInput{ClusterName: new("c"), AddonName: new("coredns")}); err != nil {
		t.Fatal(err)
	}
	status := func() (eksapi.AddonStatus, []eksapi.AddonIssue) {
		t.Helper()
		if err := svc.reconcile(ctx, ref); err != nil {
			t.Fatal(err)
		}
		out, err := svc.DescribeAddon(ctx, &eksapi.DescribeAddonInput{ClusterName: new("c"), AddonName: new("coredns")})
		if err != nil {
			t.Fatal(err)
		}
		return *out.Addon.Status, out.Addon.Health.Issues
	}
	if st, _ := status(); st != eksapi.AddonStatusCreating {
		t.Fatalf("without kube-dns, within the grace period: %s", st)
	}
	now.Add(int64(addonGrace + time.Second))
	if st, issues := status(); st != eksapi.AddonStatusDegraded || len(issues) != 1 || *issues[0].Code != eksapi.AddonIssueCodeK8sResourceNotFound {
		t.Fatalf("without kube-dns, after the grace period: %s %+v", st, issues)
	}
	dns.Store(true)
	if st, issues := status(); st != eksapi.AddonStatusActive || len(issues) != 0 {
		t.Fatalf("with kube-dns: %s %+v", st, issues)
	}
	// Other add-ons have nothing to check.
	if _, err := svc.CreateAddon(ctx, &eksapi.CreateAddonInput{ClusterName: new("c"), AddonName: new("metrics-server")}); err != nil {
		t.Fatal(err)
	}
	dns.Store(false)
	if err := svc.reconcile(ctx, ref); err != nil {
		t.Fatal(err)
	}
	out, _ := svc.DescribeAddon(ctx, &eksapi.DescribeAddonInput{ClusterName: new("c"), AddonName: new("metrics-server")})
	if *out.Addon.Status != eksapi.AddonStatusActive {
		t.Fatalf("metrics-server: %s", *out.Addon.Status)
	}
	if st, _ := status(); st != eksapi.AddonStatusDegraded {
		t.Fatalf("coredns once kube-dns went: %s", st)
	}
}

func TestAddonConfigValidation(t *testing.T) {
	a, _ := catalogAddon("coredns")
	for values, ok := range map[string]bool{
		``: true, `{}`: true, `{"replicaCount": 3}`: true, "replicaCount: 3\ncorefile: |\n  .:53 {}\n": true,
		`{"replicaCount": "3"}`: false, `{"replicas": 3}`: false, `[1]`: false, `{`: false, `3`: false,
	} {
		if err := parseConfig(a, &values); (err == nil) != ok {
			t.Errorf("%q: %v", values, err)
		}
	}
}
