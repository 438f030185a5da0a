package awsapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// echoService answers Whoami with the identity and the parameter Name.
func echoService(signing, version string, ops ...string) *QueryService {
	s := &QueryService{SigningName: signing, Version: version, XMLNamespace: "https://" + signing + ".example/doc/" + version + "/",
		Operations: map[string]QueryOperation{}}
	for _, op := range ops {
		s.Operations[op] = func(ctx context.Context, params url.Values) ([]byte, error) {
			if params.Get("Fail") != "" {
				return nil, NewError(404, params.Get("Fail"), "it <failed> & said so")
			}
			id := IdentityFrom(ctx)
			return []byte("<" + op + "Result><Service>" + signing + "</Service><Account>" + id.AccountID +
				"</Account><Principal>" + id.Principal + "</Principal><Name>" + params.Get("Name") + "</Name></" + op + "Result>"), nil
		}
	}
	return s
}

type fakeSessions map[string]*Session

func (f fakeSessions) LookupSession(_ context.Context, akid string) (*Session, error) {
	return f[akid], nil
}

func testMux(creds Credentials, sessions SessionCredentials) *Mux {
	m := NewMux(&Authenticator{Credentials: creds, Sessions: sessions}, nil)
	m.HandleQuery(echoService("iam", "2010-05-08", "GetRole", "Whoami"))
	m.HandleQuery(echoService("sts", "2011-06-15", "GetCallerIdentity", "Whoami"))
	return m
}

type queryReply struct {
	status int
	body   string
	code   string // error code, if any
	result map[string]string
}

func do(t *testing.T, m *Mux, r *http.Request) queryReply {
	t.Helper()
	if !m.Match(r) {
		t.Fatalf("%s %s is not matched as an AWS call", r.Method, r.URL)
	}
	w := httptest.NewRecorder()
	m.ServeHTTP(w, r)
	body, _ := io.ReadAll(w.Result().Body)
	rep := queryReply{status: w.Code, body: string(body), result: map[string]string{}}
	if ct := w.Header().Get("Content-Type"); ct != "text/xml" {
		t.Errorf("Content-Type %q", ct)
	}
	if w.Header().Get("X-Amzn-RequestId") == "" {
		t.Error("no request id header")
	}
	dec := xml.NewDecoder(strings.NewReader(rep.body))
	var path []string
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			path = append(path, tok.Name.Local)
		case xml.EndElement:
			path = path[:len(path)-1]
		case xml.CharData:
			if len(path) > 0 {
				rep.result[strings.Join(path, "/")] = string(tok)
			}
		}
	}
	rep.code = rep.result["ErrorResponse/Error/Code"]
	return rep
}

func form(values string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://localhost:4566/", strings.NewReader(values))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return r
}

func signQuery(t *testing.T, r *http.Request, body, akid, secret, token, service string) *http.Request {
	t.Helper()
	sum := sha256.Sum256([]byte(body))
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: token},
		r, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestQueryRoutesUnsignedByVersionAndAction(t *testing.T) {
	m := testMux(nil, nil)
	rep := do(t, m, form("Action=Whoami&Version=2011-06-15&Name=a%20b"))
	if rep.status != 200 || rep.result["WhoamiResponse/WhoamiResult/Service"] != "sts" || rep.result["WhoamiResponse/WhoamiResult/Name"] != "a b" {
		t.Fatalf("got %d %s", rep.status, rep.body)
	}
	if rep.result["WhoamiResponse/ResponseMetadata/RequestId"] == "" || !strings.Contains(rep.body, `xmlns="https://sts.example/doc/2011-06-15/"`) {
		t.Errorf("envelope: %s", rep.body)
	}
	if rep.result["WhoamiResponse/WhoamiResult/Account"] != DefaultAccount {
		t.Errorf("account: %s", rep.body)
	}
	// Without Version an action only one service has still finds it.
	if rep := do(t, m, form("Action=GetRole")); rep.result["GetRoleResponse/GetRoleResult/Service"] != "iam" {
		t.Errorf("GetRole without Version: %s", rep.body)
	}
	// GET with a query string, as presigned STS URLs are sent.
	r := httptest.NewRequest(http.MethodGet, "http://localhost:4566/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	if rep := do(t, m, r); rep.result["GetCallerIdentityResponse/GetCallerIdentityResult/Service"] != "sts" {
		t.Errorf("GET: %s", rep.body)
	}
}

func TestQueryRoutesSignedByScope(t *testing.T) {
	m := testMux(nil, nil)
	body := "Action=Whoami&Version=2010-05-08"
	// Signed for sts, the scope wins over the version.
	rep := do(t, m, signQuery(t, form(body), body, "111111111111", "x", "", "sts"))
	if rep.result["WhoamiResponse/WhoamiResult/Service"] != "sts" || rep.result["WhoamiResponse/WhoamiResult/Account"] != "111111111111" {
		t.Fatalf("got %s", rep.body)
	}
}

func TestQueryErrors(t *testing.T) {
	m := testMux(nil, nil)
	for _, tc := range []struct {
		body, code string
		status     int
	}{
		{"Version=2010-05-08", "MissingAction", 400},
		{"Action=Nope&Version=2010-05-08", "InvalidAction", 400},
		{"Action=Whoami", "InvalidAction", 400}, // ambiguous without Version or a signature
		{"Action=Whoami&Version=2010-05-08&Fail=NoSuchEntity", "NoSuchEntity", 404},
		{"Action=Whoami&Version=2010-05-08&Name=%zz", "MalformedQueryString", 404},
	} {
		rep := do(t, m, form(tc.body))
		if rep.status != tc.status || rep.code != tc.code || rep.result["ErrorResponse/Error/Type"] != "Sender" ||
			rep.result["ErrorResponse/Error/Message"] == "" || rep.result["ErrorResponse/RequestId"] == "" {
			t.Errorf("%s: %d %s, want %d %s", tc.body, rep.status, rep.body, tc.status, tc.code)
		}
	}
	rep := do(t, m, form("Action=Whoami&Version=2010-05-08&Fail=NoSuchEntity"))
	if rep.result["ErrorResponse/Error/Message"] != "it <failed> & said so" {
		t.Errorf("message not escaped and read back: %s", rep.body)
	}
	// awsJson requests are still routed as before.
	r := httptest.NewRequest(http.MethodPost, "http://localhost:4566/", strings.NewReader("{}"))
	r.Header.Set("X-Amz-Target", "Nope_20200101.Op")
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if isQuery(r) || !m.Match(r) {
		t.Error("an awsJson request is taken for a query request")
	}
	if r := httptest.NewRequest(http.MethodGet, "http://localhost:4566/v2/", nil); m.Match(r) {
		t.Error("a registry request is matched")
	}
}

func TestQueryAuthErrorsUseQueryCodes(t *testing.T) {
	m := testMux(Credentials{"AKIDQUERYTEST0000001": "secret"}, nil)
	body := "Action=GetCallerIdentity&Version=2011-06-15"
	for _, tc := range []struct {
		r    *http.Request
		code string
	}{
		{form(body), "MissingAuthenticationToken"},
		{signQuery(t, form(body), body, "AKIDQUERYTEST0000001", "wrong", "", "sts"), "SignatureDoesNotMatch"},
		{signQuery(t, form(body), body, "AKIDNOBODY0000000000", "secret", "", "sts"), "InvalidClientTokenId"},
	} {
		if rep := do(t, m, tc.r); rep.status != 403 || rep.code != tc.code {
			t.Errorf("got %d %s, want 403 %s", rep.status, rep.body, tc.code)
		}
	}
	if rep := do(t, m, signQuery(t, form(body), body, "AKIDQUERYTEST0000001", "secret", "", "sts")); rep.status != 200 {
		t.Errorf("correctly signed: %s", rep.body)
	}
}

func TestSessionCredentials(t *testing.T) {
	now := time.Now()
	sessions := fakeSessions{
		"ASIAVALID00000000001": {AccessKeyID: "ASIAVALID00000000001", SecretAccessKey: "sess-secret", SessionToken: "tok1",
			AccountID: "222222222222", Principal: "arn:aws:sts::222222222222:assumed-role/app/s1", UserID: "AROAX:s1", Expiration: now.Add(time.Hour)},
		"ASIAEXPIRED000000001": {AccessKeyID: "ASIAEXPIRED000000001", SecretAccessKey: "old", SessionToken: "tok2",
			AccountID: "222222222222", Principal: "arn:aws:sts::222222222222:assumed-role/app/s2", Expiration: now.Add(-time.Second)},
	}
	body := "Action=Whoami&Version=2011-06-15"
	for _, verifying := range []bool{false, true} {
		var creds Credentials
		if verifying {
			creds = Credentials{"AKIDQUERYTEST0000001": "secret"}
		}
		m := testMux(creds, sessions)
		rep := do(t, m, signQuery(t, form(body), body, "ASIAVALID00000000001", "sess-secret", "tok1", "sts"))
		if rep.status != 200 || rep.result["WhoamiResponse/WhoamiResult/Account"] != "222222222222" ||
			rep.result["WhoamiResponse/WhoamiResult/Principal"] != "arn:aws:sts::222222222222:assumed-role/app/s1" {
			t.Errorf("verifying=%v: issued credentials: %s", verifying, rep.body)
		}
		rep = do(t, m, signQuery(t, form(body), body, "ASIAEXPIRED000000001", "old", "tok2", "sts"))
		if rep.status != 403 || rep.code != "ExpiredToken" {
			t.Errorf("verifying=%v: expired credentials: %d %s", verifying, rep.status, rep.body)
		}
		if !verifying {
			continue
		}
		for name, r := range map[string]*http.Request{
			"wrong token":  signQuery(t, form(body), body, "ASIAVALID00000000001", "sess-secret", "tok2", "sts"),
			"no token":     signQuery(t, form(body), body, "ASIAVALID00000000001", "sess-secret", "", "sts"),
			"unknown ASIA": signQuery(t, form(body), body, "ASIAUNKNOWN000000001", "sess-secret", "tok1", "sts"),
		} {
			if rep := do(t, m, r); rep.status != 403 || rep.code != "InvalidClientTokenId" {
				t.Errorf("%s: %d %s", name, rep.status, rep.body)
			}
		}
		if rep := do(t, m, signQuery(t, form(body), body, "ASIAVALID00000000001", "wrong", "tok1", "sts")); rep.code != "SignatureDoesNotMatch" {
			t.Errorf("wrong session secret: %s", rep.body)
		}
	}
	// An ASIA key Berth did not issue, with checks off, is an ordinary key.
	m := testMux(nil, sessions)
	rep := do(t, m, signQuery(t, form(body), body, "ASIAUNKNOWN000000001", "x", "t", "sts"))
	if rep.status != 200 || rep.result["WhoamiResponse/WhoamiResult/Account"] != DefaultAccount || rep.result["WhoamiResponse/WhoamiResult/Principal"] != "" {
		t.Errorf("foreign ASIA key: %s", rep.body)
	}
}

// A presigned STS GetCallerIdentity URL, as EKS tokens are made, signs the
// empty body's hash rather than UNSIGNED-PAYLOAD; both pass.
func TestQueryPresignedGetCallerIdentity(t *testing.T) {
	m := testMux(Credentials{"AKIDQUERYTEST0000001": "secret"}, nil)
	r := httptest.NewRequest(http.MethodGet, "http://localhost:4566/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	sum := sha256.Sum256(nil)
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDQUERYTEST0000001", SecretAccessKey: "secret"},
		r, hex.EncodeToString(sum[:]), "sts", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rep := do(t, m, httptest.NewRequest(http.MethodGet, u, nil)); rep.status != 200 || rep.result["GetCallerIdentityResponse/GetCallerIdentityResult/Service"] != "sts" {
		t.Errorf("presigned: %d %s", rep.status, rep.body)
	}
	if rep := do(t, m, httptest.NewRequest(http.MethodGet, strings.Replace(u, "X-Amz-Signature=", "X-Amz-Signature=0", 1), nil)); rep.code != "SignatureDoesNotMatch" {
		t.Errorf("tampered presigned URL: %s", rep.body)
	}
}
