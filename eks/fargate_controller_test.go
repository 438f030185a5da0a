package eks

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/store/sqlite"
)

func (r *recorder) SyncFargateProfiles(_ context.Context, c ClusterRef, ps []FargateProfileSpec) error {
	var names []string
	for _, p := range ps {
		names = append(names, p.Name+"="+p.Selectors[0].Namespace)
	}
	r.note("fargate " + c.Name + " " + strings.Join(names, ","))
	return nil
}

// unsyncable is a control plane that cannot apply Fargate profiles.
type unsyncable struct{ *recorder }

func (unsyncable) SyncFargateProfiles(context.Context, ClusterRef, []FargateProfileSpec) error {
	return errors.New("berth-k8s is restarting")
}

// A profile is ACTIVE only once the control plane has it, profiles reach
// it sorted by name, and a deleted one is taken out before it goes.
func TestFargateProfilesReachTheControlPlane(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	create := func(svc *Service, name, ns string) {
		t.Helper()
		_, err := svc.CreateFargateProfile(ctx, &eksapi.CreateFargateProfileInput{ClusterName: new("a"), FargateProfileName: &name,
			PodExecutionRoleArn: new("arn:aws:iam::000000000000:role/pods"), Selectors: []eksapi.FargateProfileSelector{{Namespace: &ns, Labels: map[string]string{"run": "fargate"}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	status := func(svc *Service, name string) eksapi.FargateProfileStatus {
		out, err := svc.DescribeFargateProfile(ctx, &eksapi.DescribeFargateProfileInput{ClusterName: new("a"), FargateProfileName: &name})
		if err != nil {
			return ""
		}
		return *out.FargateProfile.Status
	}

	broken := unsyncable{&recorder{sizes: map[string]int32{}}}
	svc, stop := runService(t, st, broken)
	newCluster(t, svc, "a")
	eventually(t, "cluster ACTIVE", func() bool { return clusterStatus(t, svc, "a") == eksapi.ClusterStatusActive })
	create(svc, "web", "shop")
	time.Sleep(200 * time.Millisecond)
	if s := status(svc, "web"); s != eksapi.FargateProfileStatusCreating {
		t.Errorf("a profile the control plane does not have is %s", s)
	}
	stop()

	cp := &recorder{sizes: map[string]int32{}}
	svc, stop = runService(t, st, cp)
	defer stop()
	eventually(t, "profile ACTIVE", func() bool { return status(svc, "web") == eksapi.FargateProfileStatusActive })
	if !cp.saw("fargate a web=shop") {
		t.Errorf("calls %v", cp.calls)
	}
	create(svc, "batch", "jobs")
	eventually(t, "second profile ACTIVE", func() bool { return status(svc, "batch") == eksapi.FargateProfileStatusActive })
	if !cp.saw("fargate a batch=jobs,web=shop") {
		t.Errorf("calls %v", cp.calls)
	}
	if _, err := svc.DeleteFargateProfile(ctx, &eksapi.DeleteFargateProfileInput{ClusterName: new("a"), FargateProfileName: new("web")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "profile deleted", func() bool { return status(svc, "web") == "" })
	if !cp.saw("fargate a batch=jobs") {
		t.Errorf("calls %v", cp.calls)
	}
}
