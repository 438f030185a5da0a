package k8sproc

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/eks"
)

// SyncFargateProfiles hands the profiles to the running berth-k8s and
// returns only once it has applied them (here: the test copies the file as
// berth-k8s's fargate add-on does); the process gets the flags it needs to
// run Fargate nodes.
func TestSyncFargateProfilesWaitsForTheControlPlane(t *testing.T) {
	t.Setenv("BERTH_FAKE_K8S", "serve")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cp := newCP(t, t.TempDir())
	ref := shop.ClusterRef
	profiles := []eks.FargateProfileSpec{{Name: "web", PodExecutionRoleARN: "arn:aws:iam::000000000000:role/pods",
		Selectors: []eks.FargateSelector{{Namespace: "shop", Labels: map[string]string{"run": "fargate"}}}}}
	if err := cp.SyncFargateProfiles(ctx, ref, profiles); err == nil {
		t.Fatal("synced profiles to a cluster that does not run")
	}
	if _, err := cp.Start(ctx, shop); err != nil {
		t.Fatal(err)
	}
	pid := readPid(t, cp, ref)
	// Stop, not only kill: a control plane whose process dies starts it
	// again, and the fake berth-k8s outlived the test.
	t.Cleanup(func() {
		cp.Stop(context.Background(), ref)
		syscall.Kill(pid, syscall.SIGKILL)
	})
	argv := cmdline(pid)
	for _, want := range []string{"--fargate-cluster=" + cp.containerCluster(ref), "--fargate-region=us-east-1", "--fargate-network=" + cp.podNetwork(ref)} {
		if !slices.Contains(argv, want) {
			t.Errorf("berth-k8s runs without %s: %q", want, argv)
		}
	}

	data := filepath.Join(cp.ClusterDir(ref), dataSubdir)
	done := make(chan error, 1)
	go func() { done <- cp.SyncFargateProfiles(ctx, ref, profiles) }()
	var written []byte
	for deadline := time.Now().Add(10 * time.Second); written == nil; time.Sleep(20 * time.Millisecond) {
		written, _ = os.ReadFile(filepath.Join(data, fargateProfilesFile))
		if time.Now().After(deadline) {
			t.Fatal("no profiles file")
		}
	}
	select {
	case err := <-done:
		t.Fatalf("returned before berth-k8s applied the profiles: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	var got []eks.FargateProfileSpec
	if err := json.Unmarshal(written, &got); err != nil || len(got) != 1 || got[0].Name != "web" ||
		got[0].Selectors[0].Namespace != "shop" || got[0].Selectors[0].Labels["run"] != "fargate" || got[0].PodExecutionRoleARN == "" {
		t.Fatalf("profiles file %s (%v)", written, err)
	}
	if err := os.WriteFile(filepath.Join(data, fargateLoadedFile), written, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Nothing changed: the next pass returns at once.
	start := time.Now()
	if err := cp.SyncFargateProfiles(ctx, ref, profiles); err != nil || time.Since(start) > time.Second {
		t.Errorf("an unchanged sync: %v after %s", err, time.Since(start))
	}
}
