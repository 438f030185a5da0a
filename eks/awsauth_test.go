package eks

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	eksapi "github.com/berth-dev/berth/api/eks"
	"github.com/berth-dev/berth/awsapi"
	"github.com/berth-dev/berth/store/sqlite"
)

// The recorder's clusters have no aws-auth ConfigMap.
func (r *recorder) AWSAuth(context.Context, ClusterRef) (map[string]string, error) { return nil, nil }

// withAWSAuth is a control plane whose clusters all have this aws-auth.
type withAWSAuth struct {
	*recorder
	data map[string]string
	err  error
}

func (w withAWSAuth) AWSAuth(context.Context, ClusterRef) (map[string]string, error) {
	return w.data, w.err
}

const testAWSAuthRoles = `
- rolearn: arn:aws:iam::000000000000:role/teams/dev
  username: dev:{{AccountID}}:{{SessionName}}
  groups: [system:masters, "team-{{SessionNameRaw}}"]
- roleARN: arn:aws:iam::000000000000:role/Ops
  username: ops
`

func TestParseAWSAuth(t *testing.T) {
	a, err := parseAWSAuth(map[string]string{
		"mapRoles": testAWSAuthRoles,
		"mapUsers": `
- userarn: arn:aws:iam::000000000000:user/ana
  username: ana
  groups:
  - viewers
- username: no-arn
`,
		"mapAccounts": "- 000000000000\n- \"111122223333\"\n",
	})
	// The entry without an ARN is reported; the others still count.
	if err == nil {
		t.Error("an entry without userarn was accepted")
	}
	if len(a.Roles) != 2 || a.Roles[0].ARN != "arn:aws:iam::000000000000:role/teams/dev" || !slices.Equal(a.Roles[0].Groups, []string{"system:masters", "team-{{SessionNameRaw}}"}) ||
		a.Roles[1].ARN != "arn:aws:iam::000000000000:role/Ops" || a.Roles[1].Username != "ops" {
		t.Errorf("roles %+v", a.Roles)
	}
	if len(a.Users) != 1 || a.Users[0].Username != "ana" || a.Users[0].Groups[0] != "viewers" {
		t.Errorf("users %+v", a.Users)
	}
	if !slices.Equal(a.Accounts, []string{"000000000000", "111122223333"}) {
		t.Errorf("accounts %q", a.Accounts)
	}
	if _, err := parseAWSAuth(map[string]string{"mapRoles": "rolearn: x"}); err == nil {
		t.Error("a mapRoles that is not a list was accepted")
	}
	if a, err := parseAWSAuth(nil); err != nil || len(a.Roles)+len(a.Users)+len(a.Accounts) != 0 {
		t.Errorf("no ConfigMap: %+v %v", a, err)
	}
}

func TestAWSAuthLookup(t *testing.T) {
	a, err := parseAWSAuth(map[string]string{"mapRoles": testAWSAuthRoles,
		"mapUsers": "- {userarn: 'arn:aws:iam::000000000000:user/eng/ana', username: ana}", "mapAccounts": "['222233334444']"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		principal, account, want string
	}{
		// A session names its role without the path: role/teams/dev
		// matches role/dev.
		{"arn:aws:iam::000000000000:role/dev", "000000000000", "dev:{{AccountID}}:{{SessionName}}"},
		{"arn:aws:iam::000000000000:role/ops", "000000000000", "ops"},
		{"arn:aws:iam::000000000000:user/eng/ana", "000000000000", "ana"},
		{"arn:aws:iam::222233334444:user/bob", "222233334444", "arn:aws:iam::222233334444:user/bob"},
		{"arn:aws:iam::000000000000:user/ana", "000000000000", ""},
		{"arn:aws:iam::000000000000:role/other", "000000000000", ""},
	} {
		m, ok := a.lookup(c.principal, c.account)
		if ok != (c.want != "") || m.Username != c.want {
			t.Errorf("%s: %+v %v, want %q", c.principal, m, ok, c.want)
		}
	}
}

func TestAWSAuthTemplates(t *testing.T) {
	v := templateVars{AccountID: "000000000000", SessionName: "ana@example.com", AccessKeyID: "ASIAX"}
	for tmpl, want := range map[string]string{
		"u:{{AccountID}}:{{SessionName}}": "u:000000000000:ana-example.com",
		"{{SessionNameRaw}}":              "ana@example.com",
		"key-{{AccessKeyID}}":             "key-ASIAX",
		"plain":                           "plain",
	} {
		if got, err := v.render(tmpl); err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", tmpl, got, err, want)
		}
	}
	for _, tmpl := range []string{"system:node:{{EC2PrivateDNSName}}", "{{Unknown}}"} {
		if _, err := v.render(tmpl); err == nil {
			t.Errorf("%s was filled", tmpl)
		}
	}
}

// A principal without an access entry gets in through aws-auth on
// API_AND_CONFIG_MAP and CONFIG_MAP clusters, not on API ones; an access
// entry for the same principal wins over its aws-auth mapping.
func TestReviewTokenThroughAWSAuth(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sess := &awsapi.Session{AccessKeyID: "ASIAEKSAUTH", SecretAccessKey: "sessionsecret", SessionToken: "tok", AccountID: "000000000000",
		Principal: "arn:aws:sts::000000000000:assumed-role/dev/ana@example.com", UserID: "AROAEXAMPLE:ana@example.com", Expiration: time.Now().Add(time.Hour)}
	auth := &awsapi.Authenticator{Credentials: awsapi.Credentials{"AKIDOTHER": "x"}, Sessions: sessions{"ASIAEKSAUTH": sess}}
	cp := withAWSAuth{recorder: &recorder{sizes: map[string]int32{}}, data: map[string]string{"mapRoles": testAWSAuthRoles}}
	svc, err := New(Options{Store: st, ControlPlane: cp, Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, mode := range map[string]eksapi.AuthenticationMode{"both": eksapi.AuthenticationModeApiAndConfigMap, "cm": eksapi.AuthenticationModeConfigMap, "api": eksapi.AuthenticationModeApi} {
		if _, err := svc.CreateCluster(ctx, &eksapi.CreateClusterInput{Name: new(name), RoleArn: new("arn:aws:iam::000000000000:role/eks"),
			ResourcesVpcConfig: &eksapi.VpcConfigRequest{}, AccessConfig: &eksapi.CreateAccessConfigRequest{AuthenticationMode: &mode}}); err != nil {
			t.Fatal(err)
		}
	}
	token := func(cluster string) string {
		req, _ := http.NewRequest("GET", "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15", nil)
		req.Header.Set(clusterIDHeader, cluster)
		u, _, err := v4.NewSigner().PresignHTTP(ctx, aws.Credentials{AccessKeyID: sess.AccessKeyID, SecretAccessKey: sess.SecretAccessKey, SessionToken: sess.SessionToken}, req,
			"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sts", "us-east-1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return TokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(u))
	}
	ref := func(name string) ClusterRef { return ClusterRef{"000000000000", "us-east-1", name} }

	for _, cluster := range []string{"both", "cm"} {
		user, err := svc.ReviewToken(ctx, ref(cluster), token(cluster))
		if err != nil {
			t.Fatalf("%s: %v", cluster, err)
		}
		if user.Username != "dev:000000000000:ana-example.com" || !slices.Equal(user.Groups, []string{"system:masters", "team-ana@example.com"}) ||
			user.UID != "aws-iam-authenticator:000000000000:AROAEXAMPLE:ana@example.com" || user.Extra["canonicalArn"][0] != "arn:aws:iam::000000000000:role/dev" {
			t.Errorf("%s: user %+v", cluster, user)
		}
	}
	var bad errToken
	if _, err := svc.ReviewToken(ctx, ref("api"), token("api")); !errors.As(err, &bad) {
		t.Errorf("an API-mode cluster read aws-auth: %v", err)
	}

	// The access entry wins.
	if _, err := svc.CreateAccessEntry(ctx, &eksapi.CreateAccessEntryInput{ClusterName: new("both"), PrincipalArn: new("arn:aws:iam::000000000000:role/dev"),
		KubernetesGroups: []string{"devs"}, Username: new("entry-{{SessionName}}")}); err != nil {
		t.Fatal(err)
	}
	if user, err := svc.ReviewToken(ctx, ref("both"), token("both")); err != nil || user.Username != "entry-ana@example.com" || !slices.Equal(user.Groups, []string{"devs"}) {
		t.Errorf("with an access entry: %+v %v", user, err)
	}

	// No mapping, or a ConfigMap that cannot be read, lets nobody in.
	svc.cp = withAWSAuth{recorder: cp.recorder, data: map[string]string{"mapRoles": "- {rolearn: 'arn:aws:iam::000000000000:role/other', username: x}"}}
	if _, err := svc.ReviewToken(ctx, ref("cm"), token("cm")); !errors.As(err, &bad) {
		t.Errorf("an unmapped role got in: %v", err)
	}
	svc.cp = withAWSAuth{recorder: cp.recorder, err: errors.New("connection refused")}
	if _, err := svc.ReviewToken(ctx, ref("cm"), token("cm")); !errors.As(err, &bad) {
		t.Errorf("an unreadable aws-auth: %v", err)
	}
}
