package awsapi

import (
	"context"
	"testing"
)

type fakeKeys struct {
	keys map[string]*AccessKey
	used []string
}

func (f *fakeKeys) LookupAccessKey(_ context.Context, akid string) (*AccessKey, error) {
	return f.keys[akid], nil
}

func (f *fakeKeys) AccessKeyUsed(akid, service, region string) {
	f.used = append(f.used, akid+" "+service+" "+region)
}

// Keys IAM created act as their user in their account; their own secret
// is checked; an inactive one is refused; configured keys come first.
func TestIAMAccessKeys(t *testing.T) {
	keys := &fakeKeys{keys: map[string]*AccessKey{
		"AKIAUSERKEY000000001": {AccessKeyID: "AKIAUSERKEY000000001", SecretAccessKey: "user-secret", AccountID: "333333333333",
			Principal: "arn:aws:iam::333333333333:user/ci/bot", UserID: "AIDAX", Active: true},
		"AKIAINACTIVE00000001": {AccessKeyID: "AKIAINACTIVE00000001", SecretAccessKey: "s", AccountID: "333333333333", Active: false},
	}}
	body := "Action=Whoami&Version=2011-06-15"
	for _, verifying := range []bool{false, true} {
		var creds Credentials
		if verifying {
			creds = Credentials{"AKIDQUERYTEST0000001": "secret"}
		}
		m := NewMux(&Authenticator{Credentials: creds, Keys: keys}, nil)
		m.HandleQuery(echoService("sts", "2011-06-15", "Whoami"))
		rep := do(t, m, signQuery(t, form(body), body, "AKIAUSERKEY000000001", "user-secret", "", "sts"))
		if rep.status != 200 || rep.result["WhoamiResponse/WhoamiResult/Account"] != "333333333333" ||
			rep.result["WhoamiResponse/WhoamiResult/Principal"] != "arn:aws:iam::333333333333:user/ci/bot" {
			t.Errorf("verifying=%v: user key: %s", verifying, rep.body)
		}
		rep = do(t, m, signQuery(t, form(body), body, "AKIAINACTIVE00000001", "s", "", "sts"))
		if rep.status != 403 || rep.code != "InvalidClientTokenId" {
			t.Errorf("verifying=%v: inactive key: %d %s", verifying, rep.status, rep.body)
		}
		rep = do(t, m, signQuery(t, form(body), body, "AKIAUSERKEY000000001", "wrong", "", "sts"))
		if verifying && rep.code != "SignatureDoesNotMatch" || !verifying && rep.status != 200 {
			t.Errorf("verifying=%v: wrong secret: %s", verifying, rep.body)
		}
		rep = do(t, m, signQuery(t, form(body), body, "AKIANOBODY0000000001", "x", "", "sts"))
		if verifying && rep.code != "InvalidClientTokenId" || !verifying && rep.result["WhoamiResponse/WhoamiResult/Account"] != DefaultAccount {
			t.Errorf("verifying=%v: unknown key: %s", verifying, rep.body)
		}
	}
	if len(keys.used) == 0 || keys.used[0] != "AKIAUSERKEY000000001 sts us-east-1" {
		t.Errorf("AccessKeyUsed calls: %v", keys.used)
	}
}
