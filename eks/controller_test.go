package eks

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/store/sqlite"
)

// recorder is a ControlPlane that records what the controller asks of it.
type recorder struct {
	mu       sync.Mutex
	calls    []string
	sizes    map[string]int32
	startErr error
}

func (r *recorder) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
}

func (r *recorder) Start(_ context.Context, spec ClusterSpec) (Endpoint, error) {
	r.note("start " + spec.Name + " " + spec.TokenReviewURL)
	if r.startErr != nil {
		return Endpoint{}, r.startErr
	}
	return Endpoint{URL: "https://127.0.0.1:6443", CertificateAuthority: []byte("PEM")}, nil
}
func (r *recorder) Stop(_ context.Context, c ClusterRef) error { r.note("stop " + c.Name); return nil }
func (r *recorder) Delete(_ context.Context, c ClusterRef) error {
	r.note("delete " + c.Name)
	return nil
}
func (r *recorder) SyncNodegroup(_ context.Context, ng NodegroupSpec) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sizes[ng.Name] = ng.DesiredSize
	r.calls = append(r.calls, "sync "+ng.Name)
	return nil
}
func (r *recorder) DeleteNodegroup(_ context.Context, c ClusterRef, ng string) error {
	r.note("delete-nodegroup " + ng)
	return nil
}

func (r *recorder) saw(call string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.calls {
		if c == call {
			return true
		}
	}
	return false
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
	}
}

func runService(t *testing.T, st store.Store, cp ControlPlane) (*Service, func()) {
	t.Helper()
	svc, err := New(Options{Store: st, ControlPlane: cp, TokenReviewURL: func(c ClusterRef) string { return "http://berth/" + c.Name }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.Run(ctx); close(done) }()
	return svc, func() { cancel(); <-done }
}

func clusterStatus(t *testing.T, svc *Service, name string) eksapi.ClusterStatus {
	out, err := svc.DescribeCluster(context.Background(), &eksapi.DescribeClusterInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	return *out.Cluster.Status
}

func newCluster(t *testing.T, svc *Service, name string) {
	t.Helper()
	_, err := svc.CreateCluster(context.Background(), &eksapi.CreateClusterInput{Name: &name, RoleArn: new("arn:aws:iam::000000000000:role/eks"), ResourcesVpcConfig: &eksapi.VpcConfigRequest{}})
	if err != nil {
		t.Fatal(err)
	}
}

// The controller drives the ControlPlane: Start makes a cluster ACTIVE
// with its endpoint, node groups are synced at their desired size and
// resized, a restarted Berth re-adopts ACTIVE clusters, and deletion
// reaches the control plane before the cluster is forgotten.
func TestControllerDrivesTheControlPlane(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cp := &recorder{sizes: map[string]int32{}}
	svc, stop := runService(t, st, cp)
	ctx := context.Background()
	newCluster(t, svc, "a")
	eventually(t, "cluster ACTIVE", func() bool { return clusterStatus(t, svc, "a") == eksapi.ClusterStatusActive })
	if !cp.saw("start a http://berth/a") {
		t.Errorf("calls %v", cp.calls)
	}
	d, _ := svc.DescribeCluster(ctx, &eksapi.DescribeClusterInput{Name: new("a")})
	if *d.Cluster.Endpoint != "https://127.0.0.1:6443" || *d.Cluster.CertificateAuthority.Data != base64.StdEncoding.EncodeToString([]byte("PEM")) || len(d.Cluster.Health.Issues) != 0 {
		t.Errorf("cluster %+v", d.Cluster)
	}
	_, err = svc.CreateNodegroup(ctx, &eksapi.CreateNodegroupInput{ClusterName: new("a"), NodegroupName: new("ng"), NodeRole: new("arn:aws:iam::000000000000:role/n"),
		Subnets: []string{"s"}, ScalingConfig: &eksapi.NodegroupScalingConfig{MinSize: new(int32(1)), MaxSize: new(int32(5)), DesiredSize: new(int32(2))}})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "node group synced", func() bool { cp.mu.Lock(); defer cp.mu.Unlock(); return cp.sizes["ng"] == 2 })
	ngStatus := func() eksapi.NodegroupStatus {
		out, err := svc.DescribeNodegroup(ctx, &eksapi.DescribeNodegroupInput{ClusterName: new("a"), NodegroupName: new("ng")})
		if err != nil {
			return ""
		}
		return *out.Nodegroup.Status
	}
	eventually(t, "node group ACTIVE", func() bool { return ngStatus() == eksapi.NodegroupStatusActive })
	if _, err := svc.UpdateNodegroupConfig(ctx, &eksapi.UpdateNodegroupConfigInput{ClusterName: new("a"), NodegroupName: new("ng"),
		ScalingConfig: &eksapi.NodegroupScalingConfig{DesiredSize: new(int32(5))}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "node group resized", func() bool { cp.mu.Lock(); defer cp.mu.Unlock(); return cp.sizes["ng"] == 5 })
	eventually(t, "node group ACTIVE again", func() bool { return ngStatus() == eksapi.NodegroupStatusActive })
	stop()
	if !cp.saw("stop a") {
		t.Errorf("the control plane was not stopped at shutdown: %v", cp.calls)
	}

	// A new process over the same store starts the ACTIVE cluster again.
	cp2 := &recorder{sizes: map[string]int32{}}
	svc, stop = runService(t, st, cp2)
	defer stop()
	eventually(t, "re-adopted", func() bool { return cp2.saw("start a http://berth/a") })
	if _, err := svc.DeleteNodegroup(ctx, &eksapi.DeleteNodegroupInput{ClusterName: new("a"), NodegroupName: new("ng")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "node group deleted", func() bool { return cp2.saw("delete-nodegroup ng") && ngStatus() == "" })
	if _, err := svc.DeleteCluster(ctx, &eksapi.DeleteClusterInput{Name: new("a")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "cluster deleted", func() bool {
		_, err := svc.DescribeCluster(ctx, &eksapi.DescribeClusterInput{Name: new("a")})
		return cp2.saw("delete a") && awsapi.AsError(err) != nil && awsapi.AsError(err).Code == eksapi.CodeResourceNotFoundException
	})
}

// A control plane that cannot start leaves the cluster FAILED, with why.
func TestClusterFailsWhenTheControlPlaneDoesNotStart(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, stop := runService(t, st, &recorder{sizes: map[string]int32{}, startErr: errors.New("kube-apiserver: port in use")})
	defer stop()
	newCluster(t, svc, "broken")
	eventually(t, "cluster FAILED", func() bool { return clusterStatus(t, svc, "broken") == eksapi.ClusterStatusFailed })
	d, _ := svc.DescribeCluster(context.Background(), &eksapi.DescribeClusterInput{Name: new("broken")})
	if len(d.Cluster.Health.Issues) != 1 || *d.Cluster.Health.Issues[0].Message != "The Kubernetes control plane did not start: kube-apiserver: port in use" {
		t.Errorf("health %+v", d.Cluster.Health)
	}
}

// presignedToken makes a token the way `aws eks get-token` does, with
// aws-sdk-go-v2's presigner.
func presignedToken(t *testing.T, cluster, secret string, at time.Time) string {
	t.Helper()
	req, _ := http.NewRequest("GET", "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	req.Header.Set(clusterIDHeader, cluster)
	q := req.URL.Query()
	q.Set("X-Amz-Expires", "60")
	req.URL.RawQuery = q.Encode()
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDTOKEN", SecretAccessKey: secret}, req,
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sts", "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(u))
}

// Tokens are good for 15 minutes after signing, whatever X-Amz-Expires
// says, and only with the right secret and cluster.
func TestReviewTokenExpiry(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	auth := &awsapi.Authenticator{Credentials: awsapi.Credentials{"AKIDTOKEN": "secret"}, Now: func() time.Time { return now }}
	svc, err := New(Options{Store: st, ControlPlane: &recorder{sizes: map[string]int32{}}, Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	newCluster(t, svc, "c")
	ref := ClusterRef{Account: "000000000000", Region: "us-east-1", Name: "c"}
	ctx := context.Background()
	signed := now.Add(-10 * time.Minute)
	user, err := svc.ReviewToken(ctx, ref, presignedToken(t, "c", "secret", signed))
	if err != nil || user.Username != "arn:aws:iam::000000000000:root" || user.Groups[0] != "system:masters" {
		t.Errorf("a 10 minute old token: %+v %v", user, err)
	}
	for name, token := range map[string]string{
		"16 minutes old":  presignedToken(t, "c", "secret", now.Add(-16*time.Minute)),
		"another secret":  presignedToken(t, "c", "other", signed),
		"another cluster": presignedToken(t, "d", "secret", signed),
		"from the future": presignedToken(t, "c", "secret", now.Add(time.Hour)),
	} {
		var bad errToken
		if _, err := svc.ReviewToken(ctx, ref, token); !errors.As(err, &bad) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// sessions is the STS session store as the Authenticator sees it.
type sessions map[string]*awsapi.Session

func (s sessions) LookupSession(_ context.Context, akid string) (*awsapi.Session, error) {
	return s[akid], nil
}

// A token signed with assumed-role credentials authenticates as the role's
// access entry, with the session name in the username and
// namespace-scoped policies in extra.
func TestReviewTokenOfAnAssumedRole(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sess := &awsapi.Session{AccessKeyID: "ASIAEKSTEST", SecretAccessKey: "sessionsecret", SessionToken: "tok", AccountID: "000000000000",
		Principal: "arn:aws:sts::000000000000:assumed-role/dev/alice", UserID: "AROAEXAMPLE:alice", Expiration: time.Now().Add(time.Hour)}
	// Signatures are checked once any credentials are configured.
	auth := &awsapi.Authenticator{Credentials: awsapi.Credentials{"AKIDOTHER": "x"}, Sessions: sessions{"ASIAEKSTEST": sess}}
	svc, err := New(Options{Store: st, ControlPlane: &recorder{sizes: map[string]int32{}}, Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	newCluster(t, svc, "c")
	ctx := context.Background()
	role := "arn:aws:iam::000000000000:role/dev"
	if _, err := svc.CreateAccessEntry(ctx, &eksapi.CreateAccessEntryInput{ClusterName: new("c"), PrincipalArn: &role, KubernetesGroups: []string{"devs"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AssociateAccessPolicy(ctx, &eksapi.AssociateAccessPolicyInput{ClusterName: new("c"), PrincipalArn: &role, PolicyArn: new(policyARN("AmazonEKSEditPolicy")),
		AccessScope: &eksapi.AccessScope{Type: new(eksapi.AccessScopeTypeNamespace), Namespaces: []string{"web"}}}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	req.Header.Set(clusterIDHeader, "c")
	u, _, err := v4.NewSigner().PresignHTTP(ctx, aws.Credentials{AccessKeyID: sess.AccessKeyID, SecretAccessKey: sess.SecretAccessKey, SessionToken: sess.SessionToken}, req,
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sts", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	user, err := svc.ReviewToken(ctx, ClusterRef{"000000000000", "us-east-1", "c"}, TokenPrefix+base64.RawURLEncoding.EncodeToString([]byte(u)))
	if err != nil {
		t.Fatal(err)
	}
	if user.Username != "arn:aws:sts::000000000000:assumed-role/dev/alice" || len(user.Groups) != 1 || user.Groups[0] != "devs" ||
		user.UID != "aws-iam-authenticator:000000000000:AROAEXAMPLE:alice" || user.Extra["eks.berth.dev/access-policy/AmazonEKSEditPolicy"][0] != "web" {
		t.Errorf("user %+v", user)
	}
	// The session's credentials with a wrong secret do not verify.
	u, _, _ = v4.NewSigner().PresignHTTP(ctx, aws.Credentials{AccessKeyID: sess.AccessKeyID, SecretAccessKey: "guess", SessionToken: sess.SessionToken}, req,
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sts", "us-east-1", time.Now())
	if _, err := svc.ReviewToken(ctx, ClusterRef{"000000000000", "us-east-1", "c"}, TokenPrefix+base64.RawURLEncoding.EncodeToString([]byte(u))); err == nil {
		t.Error("a forged session token authenticated")
	}
}
